//! One file per subcommand; each turns the parsed command line into work and an exit code.

mod audit;
mod check_config;
#[cfg(feature = "demo")]
mod demo;
mod export;
mod keys;
mod pki;
pub mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Cli, Command, exit};
use crate::config::{Config, Problems};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    // One crypto provider for the whole process, installed before any TLS object exists. An
    // error only means one is already installed (tests calling in twice).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Before anything is read: no command may leave a core dump or be attached to by a debugger.
    if let Err(err) = crate::sandbox::forbid_dumps() {
        eprintln!("error: cannot forbid core dumps and debugger attachment: {err}");
        return ExitCode::from(exit::RUNTIME);
    }
    let code = match cli.command {
        Command::Serve { config } => serve::run(&config),
        Command::CheckConfig { config } => check_config::run(&config),
        Command::Audit { command } => audit::run(command),
        Command::Export { config, recipient, out, all, case } => {
            export::run(&config, &recipient, &out, all, &case)
        }
        Command::Keys { command } => keys::run(command),
        Command::Pki { command } => pki::run(command),
        #[cfg(feature = "demo")]
        Command::Demo { dir, listen } => demo::run(&dir, listen),
    };
    ExitCode::from(code)
}

/// Loads and validates the config at `path`; on failure prints every problem and returns the
/// config exit code.
fn load_config(path: &Path) -> Result<Config, u8> {
    Config::load(path).map_err(|problems| report_problems(path, &problems))
}

/// Loads the config at `path`, then confines this process to the operator profile (the files the
/// config names and `extra_read`, the data directory, no network) as `hardening.landlock` says.
fn load_config_confined(path: &Path, command: &'static str, extra_read: &[&Path]) -> Result<Config, u8> {
    let config = load_config(path)?;
    let mut profile = crate::sandbox::Profile::operator(command, &config, credentials_dir().as_deref());
    profile.read.extend(extra_read.iter().map(|p| p.to_path_buf()));
    confine(&profile, config.hardening.landlock)?;
    Ok(config)
}

/// Applies `profile`; on failure prints why and returns the config exit code.
fn confine(profile: &crate::sandbox::Profile, enforcement: crate::config::Enforcement) -> Result<(), u8> {
    match profile.apply(enforcement) {
        Ok(_) => Ok(()),
        Err(err) => {
            eprintln!("error: {err}");
            Err(exit::CONFIG)
        }
    }
}

/// `$CREDENTIALS_DIRECTORY`, where systemd puts the service's decrypted credentials.
fn credentials_dir() -> Option<PathBuf> {
    std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from)
}

/// Opens the store `config` names; on failure prints why and returns the exit code.
fn open_store(config: &Config) -> Result<crate::store::Store, u8> {
    let keys = crate::store::keys_from_config(&config.store, credentials_dir().as_deref())
        .map_err(|problems| report_problems(&config.source, &problems))?;
    let store = &config.store;
    crate::store::Store::open_with_cache(&store.data_dir, keys, store.audit_head_interval, store.cache_bytes)
        .map_err(|err| {
            eprintln!("error: {err}");
            exit::RUNTIME
        })
}

/// The operator running a command, for audit entries: the Unix user (or the one behind sudo).
fn operator() -> crate::audit::Actor {
    let name = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    crate::audit::Actor::Operator(name)
}

/// Prints configuration problems, one per line, and returns the config exit code.
fn report_problems(source: &Path, problems: &Problems) -> u8 {
    for problem in &problems.0 {
        eprintln!("error: {problem}");
    }
    eprintln!(
        "{} problem(s) in {} or the files it names; nothing was started",
        problems.0.len(),
        source.display()
    );
    exit::CONFIG
}
