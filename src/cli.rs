//! Command-line types (clap) and the exit codes every subcommand shares.
//!
//! This module only describes the interface; [`crate::command`] carries it out.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit codes, after BSD `sysexits.h` so that systemd and shell scripts can tell them apart.
pub mod exit {
    /// The command did what was asked.
    pub const OK: u8 = 0;
    /// Something failed while running (a port could not be bound, a file could not be written).
    pub const RUNTIME: u8 = 1;
    /// The command line was wrong (clap prints the usage).
    pub const USAGE: u8 = 2;
    /// `audit verify` found the chain broken, or not ending at the expected head.
    pub const AUDIT_BROKEN: u8 = 3;
    /// The configuration is invalid; every problem has been printed, nothing was started.
    pub const CONFIG: u8 = 78;
}

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   runtime failure (for example the listen address is in use)
  2   invalid command line
  3   the audit log is broken or does not match --expect-head (audit verify)
  78  invalid configuration: every problem is printed, one per line, and nothing is started";

/// Takedown: DMCA takedowns and child-protection reports for a Trust & Safety team.
#[derive(Debug, Parser)]
#[command(name = "takedown", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance: serve staff over mutual TLS until SIGTERM; SIGHUP reloads the roster,
    /// the staff CA, the CRLs and the server certificate.
    Serve {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
    },
    /// Validate a configuration file and the files it names; print every problem.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
    },
    /// Check or read the audit log.
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write an age-encrypted export of cases for lawyers (the stock `age` CLI opens it).
    #[command(group = clap::ArgGroup::new("selection").required(true).args(["all", "case"]))]
    Export {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// Who can open the export: an age recipient (`age1…`); repeat for several.
        #[arg(long, value_name = "AGE_RECIPIENT", required = true)]
        recipient: Vec<String>,
        /// The file to write (refused if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Export every case and the whole audit log.
        #[arg(long)]
        all: bool,
        /// Export this case (repeat for several).
        #[arg(long, value_name = "ID")]
        case: Vec<String>,
    },
    /// Manage the store's age identity.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the whole appliance locally with a development PKI and simulated external services.
    #[cfg(feature = "demo")]
    Demo {
        /// Where the demo keeps its certificates, roster and configuration (reused on later runs).
        #[arg(long, value_name = "DIR", default_value = "demo-data")]
        dir: PathBuf,
        /// The address to listen on; port 0 picks a free port.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
    },
}

/// `takedown audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole audit chain without any private key; print the entry count and head.
    Verify {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// A head recorded earlier: detects a rollback, truncation or rewrite since.
        #[arg(long, value_name = "HEX")]
        expect_head: Option<String>,
    },
    /// Print the current head (to print, sign or send away) and the entry count.
    Head {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
    },
    /// Decrypt and print the audit entries (needs an identity the log is encrypted to).
    Show {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// An age identity file: the appliance's, or an escrow key.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// Only the entries about this case.
        #[arg(long, value_name = "ID")]
        case: Option<String>,
    },
}

/// `takedown keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new age identity to FILE (mode 0600) and print its public key.
    Generate {
        /// The file to create (refused if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Re-encrypt every stored value to a new identity in one transaction (stop the daemon first).
    Rotate {
        /// The TOML configuration file (its `store.identity` is the current identity).
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// The new identity file (from `takedown keys generate`).
        #[arg(long, value_name = "FILE")]
        new_identity: PathBuf,
    },
}
