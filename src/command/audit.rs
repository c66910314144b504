//! `takedown audit verify | head | show`: the auditor's view of the log.

use std::path::Path;

use crate::audit;
use crate::audit::chain::{ChainError, Link};
use crate::audit::checkpoint::Checkpoint;
use crate::cases::CaseId;
use crate::cli::{AuditCommand, exit};
use crate::store::crypt::AgeIdentity;
use crate::store::{self, StoreError};

/// Runs an audit subcommand.
pub(super) fn run(command: AuditCommand) -> u8 {
    match command {
        AuditCommand::Verify { config, expect_head, checkpoint: None } => {
            verify(&config, expect_head.as_deref(), true)
        }
        AuditCommand::Verify { config, checkpoint: Some(file), .. } => verify_checkpoint(&config, &file),
        AuditCommand::Checkpoint { config } => print_checkpoint(&config),
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

/// `audit checkpoint`: the latest signed checkpoint, as the daemon kept it.
fn print_checkpoint(path: &Path) -> u8 {
    let config = match super::load_config_confined(path, "audit", &[]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match store::latest_checkpoint(&config.store.data_dir) {
        Ok(Some(text)) => {
            print!("{text}");
            exit::OK
        }
        Ok(None) => {
            eprintln!(
                "error: no checkpoint yet: set store.checkpoint_key (see `takedown keys generate-checkpoint-key`) \
                 and start the daemon"
            );
            exit::RUNTIME
        }
        Err(err) => {
            eprintln!("error: {err}");
            exit::RUNTIME
        }
    }
}

/// `audit verify --checkpoint FILE`: the checkpoint's signature, then the chain, which must pass
/// through the checkpoint's head at its entry count.
fn verify_checkpoint(path: &Path, file: &Path) -> u8 {
    let config = match super::load_config_confined(path, "audit", &[file]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let checkpoint = match std::fs::read_to_string(file)
        .map_err(|err| err.to_string())
        .and_then(|text| Checkpoint::parse(&text).map_err(|err| err.to_string()))
    {
        Ok(checkpoint) => checkpoint,
        Err(message) => {
            eprintln!("error: --checkpoint {}: {message}", file.display());
            return exit::AUDIT_BROKEN;
        }
    };
    println!("checkpoint signed by key {} at entry {}", hex::encode(checkpoint.key), checkpoint.entries);
    match store::verify(&config.store.data_dir, Some(checkpoint.head)) {
        Ok(verified) if verified.entries >= checkpoint.entries => {
            println!("entries {}", verified.entries);
            println!("head {}", verified.head);
            println!("the audit chain is intact and extends the checkpoint of entry {}", checkpoint.entries);
            exit::OK
        }
        Ok(verified) => {
            eprintln!(
                "error: the log has {} entries, fewer than the checkpoint's {}: entries were removed",
                verified.entries, checkpoint.entries
            );
            exit::AUDIT_BROKEN
        }
        Err(StoreError::Chain(err)) => {
            eprintln!("error: the audit log does not extend the checkpoint: {err}");
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
