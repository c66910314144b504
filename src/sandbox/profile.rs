//! Landlock profiles: for each subcommand, the files it may read and write and the TCP ports it
//! may bind and connect to. Everything else is refused by the kernel, even to a compromised
//! process.
//!
//! Files are granted by their directory, not one by one: a rule follows an inode, and an
//! administrator who replaces `roster.toml` by renaming a new file over it must still be able
//! to reload it with SIGHUP. The directories are the ones the config names files in (usually
//! `/etc/takedown`), so the grant is no wider than the configuration already is.

use std::collections::BTreeSet;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use crate::config::{Config, Enforcement};

/// The Landlock ABI the profiles are written for: V4 (Linux 6.7) brought the TCP port rules,
/// V6 (Linux 6.12) the scopes that stop signals and abstract sockets leaving the sandbox. The
/// reference kernel (6.18, ABI 7) has both; ABI 7 adds only audit-log controls.
const ABI_TARGET: ABI = ABI::V6;

/// System files every profile reads: name resolution (glibc reads these on each lookup and may
/// load NSS modules from the library directories) and the system's TLS trust roots.
const SYSTEM_READ: &[&str] = &[
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/ld.so.cache",
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
];

/// The port every external service listens on.
const HTTPS_PORT: u16 = 443;

/// What one subcommand may do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// The subcommand, for messages.
    pub name: &'static str,
    /// Directories (read whole) and files it may read.
    pub read: BTreeSet<PathBuf>,
    /// Directories it may read and change whole.
    pub write_dirs: BTreeSet<PathBuf>,
    /// Existing files it may write (but not replace or remove).
    pub write_files: BTreeSet<PathBuf>,
    /// TCP ports it may listen on.
    pub bind: BTreeSet<u16>,
    /// TCP ports it may connect to.
    pub connect: BTreeSet<u16>,
}

/// How much of a profile the kernel enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LandlockOutcome {
    /// All of it.
    Full,
    /// Part or none of it, and why (allowed only by `hardening.landlock = "best-effort"`).
    Partial(String),
}

/// A profile could not be applied as the config requires.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The kernel lacks something the profile needs.
    #[error(
        "hardening.landlock: this kernel cannot enforce the {profile} sandbox fully ({detail}); run on Linux 6.12 or \
         newer with Landlock enabled (check: the lsm= boot parameter or CONFIG_LSM includes landlock). Only a demo \
         may set hardening.landlock = \"best-effort\""
    )]
    NotEnforced {
        /// The subcommand.
        profile: &'static str,
        /// What the kernel or the crate said.
        detail: String,
    },
}

impl Profile {
    /// `takedown serve`: read the files the config names (and the systemd credentials), write
    /// only the data directory, listen only on `server.listen`'s port, connect only to 443 and
    /// the ports the egress policy names (only demo and test policies name others).
    pub fn serve(config: &Config, credentials_dir: Option<&Path>, policy_ports: &BTreeSet<u16>) -> Self {
        let mut profile = Self::operator("serve", config, credentials_dir);
        profile.bind.insert(config.server.listen.port());
        profile.connect.insert(HTTPS_PORT);
        profile.connect.extend(policy_ports);
        profile
    }

    /// Commands that read the config and work on the store (check-config, audit, keys rotate):
    /// the serve profile's files, and no network at all.
    pub fn operator(name: &'static str, config: &Config, credentials_dir: Option<&Path>) -> Self {
        let mut read: BTreeSet<PathBuf> = config.files_read().iter().map(|file| directory_of(file)).collect();
        read.extend(credentials_dir.map(Path::to_path_buf));
        Self { name, read, write_dirs: BTreeSet::from([config.store.data_dir.clone()]), ..Self::default() }
    }

    /// `takedown export`: like [`Profile::operator`], plus writing its output file, which is
    /// created (never overwritten) before the profile applies.
    pub fn export(config: &Config, credentials_dir: Option<&Path>, out: &Path) -> Self {
        let mut profile = Self::operator("export", config, credentials_dir);
        profile.write_files.insert(out.to_owned());
        profile
    }

    /// A command that may read these files and write nothing (`keys generate` after creating
    /// its output file; `pki` adds its CA directory).
    pub fn reading(name: &'static str, files: &[&Path]) -> Self {
        Self { name, read: files.iter().map(|file| file.to_path_buf()).collect(), ..Self::default() }
    }

    /// Restricts this thread and every thread it starts afterwards. Must run before any other
    /// thread exists. With `Required`, anything less than full enforcement is an error.
    pub fn apply(&self, enforcement: Enforcement) -> Result<LandlockOutcome, SandboxError> {
        let refused = |detail: String| SandboxError::NotEnforced { profile: self.name, detail };
        match self.restrict(enforcement) {
            Ok(RulesetStatus::FullyEnforced) => Ok(LandlockOutcome::Full),
            Ok(status) if enforcement == Enforcement::BestEffort => {
                let why = format!("the kernel reports {status:?}");
                tracing::warn!("Landlock {} profile not fully enforced: {why}", self.name);
                Ok(LandlockOutcome::Partial(why))
            }
            Ok(status) => Err(refused(format!("the kernel reports {status:?}"))),
            Err(err) if enforcement == Enforcement::BestEffort => {
                tracing::warn!("Landlock {} profile not applied: {err}", self.name);
                Ok(LandlockOutcome::Partial(err.to_string()))
            }
            Err(err) => Err(refused(err.to_string())),
        }
    }

    fn restrict(&self, enforcement: Enforcement) -> Result<RulesetStatus, landlock::RulesetError> {
        let level = match enforcement {
            Enforcement::Required => CompatLevel::HardRequirement,
            Enforcement::BestEffort => CompatLevel::BestEffort,
        };
        let read = AccessFs::from_read(ABI_TARGET);
        let all = AccessFs::from_all(ABI_TARGET);
        let mut ruleset = Ruleset::default()
            .set_compatibility(level)
            .handle_access(all)?
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
            .scope(Scope::AbstractUnixSocket | Scope::Signal)?
            .create()?;
        let system = SYSTEM_READ.iter().map(PathBuf::from);
        for path in system.chain(self.read.iter().cloned()) {
            ruleset = add_path(ruleset, &path, read)?;
        }
        for dir in &self.write_dirs {
            // A rule needs an existing directory; the store would create it the same way.
            let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
            ruleset = add_path(ruleset, dir, all)?;
        }
        for file in &self.write_files {
            ruleset = add_path(ruleset, file, AccessFs::ReadFile | AccessFs::WriteFile)?;
        }
        for port in &self.bind {
            ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::BindTcp))?;
        }
        for port in &self.connect {
            ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
        }
        Ok(ruleset.restrict_self()?.ruleset)
    }
}

/// Adds a rule for `path` if it exists (system paths differ between distributions; a missing
/// configured file is reported by the config loader, with its field). A file gets only the
/// rights that apply to files.
fn add_path(
    ruleset: landlock::RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<landlock::RulesetCreated, landlock::RulesetError> {
    let Ok(fd) = PathFd::new(path) else {
        return Ok(ruleset);
    };
    let access = if path.is_dir() { access } else { access & AccessFs::from_file(ABI_TARGET) };
    ruleset.add_rule(PathBeneath::new(fd, access))
}

/// The directory a configured file is in (the file itself if it has no parent).
fn directory_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
