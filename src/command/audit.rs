//! `takedown audit verify | head | show`: the auditor's view of the log.

use std::path::Path;

use crate::audit;
use crate::audit::chain::{ChainError, Link};
use crate::cases::CaseId;
use crate::cli::{AuditCommand, exit};
use crate::store::crypt::AgeIdentity;
use crate::store::{self, StoreError};

/// Runs an audit subcommand.
pub(super) fn run(command: AuditCommand) -> u8 {
    match command {
        AuditCommand::Verify { config, expect_head } => verify(&config, expect_head.as_deref(), true),
        AuditCommand::Head { config } => verify(&config, None, false),
        AuditCommand::Show { config, identity, case } => show(&config, &identity, case.as_deref()),
    }
}

fn verify(path: &Path, expect_head: Option<&str>, verbose: bool) -> u8 {
    let config = match super::load_config_confined(path, "audit", &[]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let expected = match expect_head.map(Link::parse).transpose() {
        Ok(expected) => expected,
        Err(message) => {
            eprintln!("error: --expect-head: {message}");
            return exit::USAGE;
        }
    };
    match store::verify(&config.store.data_dir, expected) {
        Ok(verified) => {
            println!("entries {}", verified.entries);
            println!("head {}", verified.head);
            if verbose {
                let matched =
                    expected.map_or(String::new(), |e| format!("; it contains the expected head {e}"));
                println!("the audit chain is intact{matched}");
            }
            exit::OK
        }
        Err(StoreError::Chain(err @ ChainError::HeadMismatch { .. })) => {
            eprintln!("error: {err}");
            exit::AUDIT_BROKEN
        }
        Err(StoreError::Chain(err)) => {
            eprintln!("error: the audit chain is broken: {err}");
            eprintln!("Everything before that entry verified; keep the file as it is for investigation.");
            exit::AUDIT_BROKEN
        }
        Err(err) => {
            eprintln!("error: {err}");
            exit::RUNTIME
        }
    }
}

fn show(path: &Path, identity_file: &Path, case: Option<&str>) -> u8 {
    let config = match super::load_config_confined(path, "audit show", &[identity_file]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let case = match case.map(str::parse::<CaseId>).transpose() {
        Ok(case) => case,
        Err(message) => {
            eprintln!("error: --case: {message}");
            return exit::USAGE;
        }
    };
    let identity = match crate::config::SecretSource::File(identity_file.to_owned())
        .read(None)
        .and_then(|bytes| AgeIdentity::parse(&bytes))
    {
        Ok(identity) => identity,
        Err(message) => {
            eprintln!("error: --identity: {message}");
            return exit::USAGE;
        }
    };
    match store::read_audit(&config.store.data_dir, &identity, case) {
        Ok(entries) => {
            for (seq, _, entry) in &entries {
                let at = entry.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                let case = entry.case.map_or("-".to_owned(), |c| c.to_string());
                let (action, outcome) = (audit::code(&entry.action), audit::code(&entry.outcome));
                println!("{seq}\t{at}\t{}\t{action}\t{case}\t{outcome}\t{}", entry.actor, entry.details);
            }
            eprintln!("{} entries shown", entries.len());
            exit::OK
        }
        Err(err) => {
            eprintln!("error: {err}");
            exit::RUNTIME
        }
    }
}
