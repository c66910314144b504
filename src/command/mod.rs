//! One file per subcommand; each turns the parsed command line into work and an exit code.

mod check_config;
#[cfg(feature = "demo")]
mod demo;
pub mod serve;

use std::process::ExitCode;

use crate::cli::{Cli, Command, exit};
use crate::config::Problems;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    // One crypto provider for the whole process, installed before any TLS object exists. An
    // error only means one is already installed (tests calling in twice).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let code = match cli.command {
        Command::Serve { config } => serve::run(&config),
        Command::CheckConfig { config } => check_config::run(&config),
        #[cfg(feature = "demo")]
        Command::Demo { dir, listen } => demo::run(&dir, listen),
    };
    ExitCode::from(code)
}

/// Prints configuration problems, one per line, and returns the config exit code.
fn report_problems(source: &std::path::Path, problems: &Problems) -> u8 {
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
