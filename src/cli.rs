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
    /// Keep the staff CA: create it, issue staff certificates as .p12 bundles, revoke them and
    /// publish CRLs (run it on the offline CA machine; see keys/README.md).
    Pki {
        /// What to do.
        #[command(subcommand)]
        command: PkiCommand,
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
        /// A signed checkpoint kept outside the appliance (`takedown audit checkpoint`): the
        /// log must still extend it.
        #[arg(long, value_name = "FILE", conflicts_with = "expect_head")]
        checkpoint: Option<PathBuf>,
    },
    /// Print the latest checkpoint the daemon signed, to keep outside the appliance.
    Checkpoint {
        /// The TOML configuration file.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
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
    /// Write a new Ed25519 key that signs audit checkpoints to FILE (mode 0600); print its
    /// public key.
    GenerateCheckpointKey {
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

/// The CA directory every `takedown pki` command works in.
#[derive(Debug, clap::Args)]
pub struct CaDirArg {
    /// The staff CA's directory (mode 0700); the command writes nowhere else.
    #[arg(long, value_name = "CA_DIR")]
    pub dir: PathBuf,
}

/// Where the CA key's passphrase comes from.
#[derive(Debug, clap::Args)]
pub struct PassphraseArg {
    /// A file (mode 0600) holding the CA key's passphrase, or `-` to read it from standard
    /// input; one trailing newline is dropped.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: PathBuf,
}

/// `takedown pki …`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a staff CA in CA_DIR: ca.crt, ca.key.age (encrypted to the passphrase), issued.json
    /// and a first, empty crl.pem.
    Init {
        /// The CA directory.
        #[command(flatten)]
        dir: CaDirArg,
        /// The organisation the CA and its certificates name.
        #[arg(long, value_name = "NAME")]
        organization: String,
        /// How long the CA certificate is valid; every staff certificate must end before it.
        #[arg(long, value_name = "DAYS", default_value_t = 1825, value_parser = clap::value_parser!(u32).range(30..=7300))]
        days: u32,
        /// How long the first CRL is valid.
        #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
        crl_days: u32,
        /// The CA key's passphrase.
        #[command(flatten)]
        passphrase: PassphraseArg,
    },
    /// Issue a staff certificate: write CA_DIR/staff/LOGIN.p12 and .crt, print the .p12 password
    /// once, the fingerprint and a roster entry to paste.
    Issue {
        /// The CA directory.
        #[command(flatten)]
        dir: CaDirArg,
        /// The person's roster login.
        #[arg(long, value_name = "LOGIN")]
        login: String,
        /// The person's name (browsers show it when picking a certificate).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The person's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// How long the certificate is valid.
        #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=1825))]
        days: u32,
        /// Issue even though the login holds a valid certificate (renewal: list both in the
        /// roster until the new one is in use, then revoke the old with --reason superseded).
        #[arg(long)]
        renew: bool,
        /// The CA key's passphrase.
        #[command(flatten)]
        passphrase: PassphraseArg,
    },
    /// Revoke a login's certificates (or one by serial) and publish the new crl.pem.
    #[command(group = clap::ArgGroup::new("target").required(true).args(["login", "serial"]))]
    Revoke {
        /// The CA directory.
        #[command(flatten)]
        dir: CaDirArg,
        /// Revoke every unrevoked certificate of this login.
        #[arg(long, value_name = "LOGIN")]
        login: Option<String>,
        /// Revoke the certificate with this serial (as `takedown pki list` prints it).
        #[arg(long, value_name = "HEX")]
        serial: Option<String>,
        /// Why, as the CRL will say (left out if not given).
        #[arg(long, value_enum, value_name = "REASON")]
        reason: Option<RevokeReasonArg>,
        /// How long the new CRL is valid.
        #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
        crl_days: u32,
        /// The CA key's passphrase.
        #[command(flatten)]
        passphrase: PassphraseArg,
    },
    /// Publish a fresh crl.pem with no other change (monthly: the appliance refuses every staff
    /// certificate once the CRL it holds has expired).
    Crl {
        /// The CA directory.
        #[command(flatten)]
        dir: CaDirArg,
        /// How long the new CRL is valid.
        #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        /// The CA key's passphrase.
        #[command(flatten)]
        passphrase: PassphraseArg,
    },
    /// List the certificates issued, with expiry and revocation; needs no passphrase.
    List {
        /// The CA directory.
        #[command(flatten)]
        dir: CaDirArg,
    },
}

/// `--reason` of `takedown pki revoke`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RevokeReasonArg {
    /// The key may be in someone else's hands (lost or stolen device).
    KeyCompromise,
    /// The person left the team (CRL reason cessationOfOperation).
    Left,
    /// A newer certificate replaces this one (needs --serial).
    Superseded,
}
