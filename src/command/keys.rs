//! `takedown keys generate | rotate`: the store's age identity.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::audit::checkpoint::CheckpointKey;
use crate::cli::{KeysCommand, exit};
use crate::config::{Enforcement, SecretSource};
use crate::sandbox::Profile;
use crate::store::crypt::AgeIdentity;

/// Runs a keys subcommand.
pub(super) fn run(command: KeysCommand) -> u8 {
    match command {
        KeysCommand::Generate { out } => generate(&out, KeyKind::StoreIdentity),
        KeysCommand::GenerateCheckpointKey { out } => generate(&out, KeyKind::CheckpointKey),
        KeysCommand::Rotate { config, new_identity } => rotate(&config, &new_identity),
    }
}

/// Which key `keys generate…` writes.
#[derive(Clone, Copy)]
enum KeyKind {
    /// An age identity for the store.
    StoreIdentity,
    /// An Ed25519 key for audit checkpoints.
    CheckpointKey,
}

fn generate(out: &Path, kind: KeyKind) -> u8 {
    let created = OpenOptions::new().write(true).create_new(true).mode(0o600).open(out);
    // The file is open: from here on the command needs no file system and no network. There is
    // no config to say how strict to be, so a kernel without Landlock only gets a warning.
    if let Err(code) = super::confine(&Profile::reading("keys generate", &[]), Enforcement::BestEffort) {
        return code;
    }
    let (text, public) = match kind {
        KeyKind::StoreIdentity => {
            let identity = AgeIdentity::generate();
            (identity.to_file_text(), identity.recipient().to_string())
        }
        KeyKind::CheckpointKey => {
            match CheckpointKey::generate()
                .and_then(|text| Ok((CheckpointKey::parse(text.as_bytes())?, text)))
            {
                Ok((key, text)) => (text, hex::encode(key.public())),
                Err(err) => {
                    eprintln!("error: {err}");
                    return exit::RUNTIME;
                }
            }
        }
    };
    let written = created.and_then(|mut file| file.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            println!("wrote {} (mode 0600)", out.display());
            println!("public key: {public}");
            exit::OK
        }
        Err(err) => {
            eprintln!(
                "error: cannot create {}: {err} (an existing file is never overwritten)",
                out.display()
            );
            exit::RUNTIME
        }
    }
}

fn rotate(config_path: &Path, new_identity: &Path) -> u8 {
    let identity =
        match SecretSource::File(new_identity.to_owned()).read(None).and_then(|b| AgeIdentity::parse(&b)) {
            Ok(identity) => identity,
            Err(message) => {
                eprintln!("error: --new-identity: {message}");
                return exit::USAGE;
            }
        };
    let config = match super::load_config_confined(config_path, "keys rotate", &[new_identity]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match super::open_store(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let recipient = identity.recipient();
    match store.rotate(identity, &config.store.escrow_recipients, super::operator()) {
        Ok((store, count)) => {
            let (entries, head) = store.head().unwrap_or((0, crate::audit::chain::GENESIS));
            println!("re-encrypted {count} values to {recipient} (and the escrow recipients)");
            println!("audit head {head} at entry {entries}");
            println!(
                "Now install {} as the store.identity credential and destroy the old identity.",
                new_identity.display()
            );
            exit::OK
        }
        Err(err) => {
            eprintln!("error: rotation failed, nothing was changed: {err}");
            exit::RUNTIME
        }
    }
}
