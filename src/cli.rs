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
    /// The configuration is invalid; every problem has been printed, nothing was started.
    pub const CONFIG: u8 = 78;
}

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   runtime failure (for example the listen address is in use)
  2   invalid command line
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
