//! `takedown export`: an age-encrypted bundle of cases for lawyers; the export itself is audited
//! first, so a failed audit append means no export.

use std::fs::OpenOptions;
use std::io::BufWriter;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::audit::{Action, AuditEntry, Outcome};
use crate::cases::CaseId;
use crate::cli::exit;
use crate::export::{self, Selection};
use crate::sandbox::Profile;
use crate::store::crypt::AgeRecipient;

/// Writes an export of `cases` (or all) to `out`, encrypted to `recipients`.
pub(super) fn run(config: &Path, recipients: &[String], out: &Path, all: bool, cases: &[String]) -> u8 {
    let recipients: Result<Vec<AgeRecipient>, String> = recipients.iter().map(|r| r.parse()).collect();
    let recipients = match recipients {
        Ok(recipients) => recipients,
        Err(message) => {
            eprintln!("error: --recipient: {message}");
            return exit::USAGE;
        }
    };
    let selection = if all {
        Selection::All
    } else {
        match cases.iter().map(|c| c.parse::<CaseId>()).collect::<Result<Vec<_>, _>>() {
            Ok(ids) => Selection::Cases(ids),
            Err(message) => {
                eprintln!("error: --case: {message}");
                return exit::USAGE;
            }
        }
    };
    let config = match super::load_config(config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match super::open_store(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    if let Selection::Cases(ids) = &selection {
        for id in ids {
            match store.contains_case(*id) {
                Ok(true) => {}
                Ok(false) => {
                    eprintln!("error: no case {id} in the store");
                    return exit::USAGE;
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    return exit::RUNTIME;
                }
            }
        }
    }
    let what = match &selection {
        Selection::All => "all cases and the whole audit log".to_owned(),
        Selection::Cases(ids) => format!("{} case(s)", ids.len()),
    };
    let recipients_text: Vec<String> = recipients.iter().map(ToString::to_string).collect();
    let details = format!("export of {what} to {} as {}", recipients_text.join(", "), out.display());
    // One entry per exported case, so each case's own history shows that it left the appliance.
    let cases_in_entries = match &selection {
        Selection::All => vec![None],
        Selection::Cases(ids) => ids.iter().copied().map(Some).collect(),
    };
    // The output file first, so that a name already taken costs nothing and records nothing.
    let file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(out) {
        Ok(file) => file,
        Err(err) => {
            eprintln!(
                "error: cannot create {}: {err} (an existing file is never overwritten)",
                out.display()
            );
            return exit::RUNTIME;
        }
    };
    // Kept to empty the file if the export fails: the sandbox below allows writing it, not
    // removing it.
    let spare = file.try_clone();
    let profile = Profile::export(&config, super::credentials_dir().as_deref(), out);
    if let Err(code) = super::confine(&profile, config.hardening.landlock) {
        discard(out, spare.as_ref().ok());
        return code;
    }
    let record = |outcome: Outcome, details: &str| {
        store.commit(|batch| {
            for case in &cases_in_entries {
                let entry = AuditEntry::now(super::operator(), Action::Export, *case, outcome, details);
                batch.audit(&entry)?;
            }
            Ok(())
        })
    };
    if let Err(err) = record(Outcome::Done, &details) {
        discard(out, spare.as_ref().ok());
        eprintln!("error: the export could not be audited, so it was not made: {err}");
        return exit::RUNTIME;
    }
    match export::write(&store, &selection, &recipients, BufWriter::new(file)) {
        Ok(summary) => {
            println!(
                "wrote {}: {} case(s), {} audit entries, audit head {} at entry {}",
                out.display(),
                summary.cases,
                summary.audit_entries,
                summary.head,
                summary.entries_total
            );
            println!(
                "open it with: age -d -i KEY {} | tar x   then   cd {} && sha256sum -c MANIFEST.sha256",
                out.display(),
                summary.directory
            );
            exit::OK
        }
        Err(err) => {
            eprintln!("error: {err}");
            discard(out, spare.as_ref().ok());
            if let Err(audit_err) = record(Outcome::Failed, &format!("{details}: failed, file emptied")) {
                eprintln!("error: the failure could not be audited either: {audit_err}");
            }
            exit::RUNTIME
        }
    }
}

/// Leaves no partial export behind: removes the file where the sandbox allows it, otherwise
/// empties it and says so.
fn discard(out: &Path, file: Option<&std::fs::File>) {
    if std::fs::remove_file(out).is_ok() {
        return;
    }
    match file.map(|f| f.set_len(0)) {
        Some(Ok(())) => eprintln!("{} was left empty; delete it", out.display()),
        _ => eprintln!("{} may hold a partial export; delete it", out.display()),
    }
}
