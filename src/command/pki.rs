//! `takedown pki init | issue | revoke | crl | list`: the staff CA, kept in one directory on the
//! administrator's offline machine (see [`crate::pki::ca_dir`] and `keys/README.md`).
//!
//! This file only turns results into the text an administrator acts on: what to copy where,
//! the `.p12` password (printed once, stored nowhere) and a roster entry to paste.

use std::path::Path;

use time::OffsetDateTime;

use crate::cli::{PkiCommand, RevokeReasonArg, exit};
use crate::config::Enforcement;
use crate::identity::Role;
use crate::pki::RevokeReason;
use crate::pki::ca_dir::{self, CaDir, CaDirError, Passphrase, Published, StaffRequest};
use crate::pki::ledger::{self, Entry, Ledger, Status, Target};
use crate::sandbox::Profile;

/// A CRL this close to its nextUpdate gets a warning in `list`.
const CRL_WARNING_DAYS: i64 = 7;

/// Runs a pki subcommand.
pub(super) fn run(command: PkiCommand) -> u8 {
    if let Err(code) = super::confine(&profile(&command), Enforcement::BestEffort) {
        return code;
    }
    let result = match command {
        PkiCommand::Init { dir, organization, days, crl_days, passphrase } => {
            init(&dir.dir, &organization, days, crl_days, &passphrase.passphrase_file)
        }
        PkiCommand::Issue { dir, login, name, email, days, renew, passphrase } => {
            issue(&dir.dir, (&login, &name, &email), days, renew, &passphrase.passphrase_file)
        }
        PkiCommand::Revoke { dir, login, serial, reason, crl_days, passphrase } => {
            revoke(&dir.dir, login, serial, reason, crl_days, &passphrase.passphrase_file)
        }
        PkiCommand::Crl { dir, days, passphrase } => crl(&dir.dir, days, &passphrase.passphrase_file),
        PkiCommand::List { dir } => list(&dir.dir),
    };
    match result {
        Ok(()) => exit::OK,
        Err(err) => {
            eprintln!("error: {err}");
            if err.is_usage() { exit::USAGE } else { exit::RUNTIME }
        }
    }
}

/// What `pki` may touch: its CA directory (which `init` may create) and the passphrase file;
/// no network. With no config to say how strict to be, a kernel without
/// Landlock gets a warning, not a refusal.
fn profile(command: &PkiCommand) -> Profile {
    let (dir, passphrase) = match command {
        PkiCommand::Init { dir, passphrase, .. }
        | PkiCommand::Issue { dir, passphrase, .. }
        | PkiCommand::Revoke { dir, passphrase, .. }
        | PkiCommand::Crl { dir, passphrase, .. } => (&dir.dir, Some(&passphrase.passphrase_file)),
        PkiCommand::List { dir } => (&dir.dir, None),
    };
    let passphrase = passphrase.filter(|file| file.as_os_str() != "-");
    let mut profile =
        Profile::reading("pki", &passphrase.map(|p| p.as_path()).into_iter().collect::<Vec<_>>());
    // Only `init` makes the directory; the others report a missing CA themselves.
    if matches!(command, PkiCommand::Init { .. }) || dir.is_dir() {
        profile.write_dirs.insert(dir.clone());
    }
    profile
}

fn init(
    dir: &Path,
    organization: &str,
    days: u32,
    crl_days: u32,
    passphrase: &Path,
) -> Result<(), CaDirError> {
    let passphrase = Passphrase::read(passphrase)?;
    let created = ca_dir::init(dir, organization, days, crl_days, &passphrase)?;
    let crl_until = created.crl_next_update.date();
    println!(
        "Created the staff CA of {organization} in {}, valid until {}.",
        dir.display(),
        created.ca_not_after.date()
    );
    println!("  ca.crt       the CA certificate: copy it to the appliance, as tls.staff_ca names it");
    println!(
        "  crl.pem      its revocation list, valid until {crl_until}: copy it too, as tls.crls names it"
    );
    println!("  ca.key.age   the CA key, encrypted to the passphrase: it never leaves this machine");
    println!("  issued.json  what this CA has issued and revoked");
    println!("On the appliance, for example:");
    println!("  [tls]");
    println!("  staff_ca = \"/etc/takedown/tls/staff-ca.crt\"");
    println!("  crls = [\"/etc/takedown/tls/staff-ca.crl\"]");
    println!(
        "Back up {} now, and publish a new CRL with `takedown pki crl` before {crl_until}: the \
         appliance refuses every staff certificate once its CRL has expired.",
        dir.display()
    );
    Ok(())
}

fn issue(
    dir: &Path,
    (login, name, email): (&str, &str, &str),
    days: u32,
    renew: bool,
    passphrase: &Path,
) -> Result<(), CaDirError> {
    let request = StaffRequest::new(login, name, email)?;
    let mut ca = CaDir::open(dir)?;
    let passphrase = Passphrase::read(passphrase)?;
    let issued = ca.issue(&request, days, renew, &passphrase)?;
    let entry = &issued.entry;
    println!("Issued a certificate to {login} ({name} <{email}>), valid until {}.", entry.not_after.date());
    println!("  serial       {}", entry.serial_hex());
    println!("  fingerprint  {}", entry.fingerprint);
    println!(
        "  bundle       {} (mode 0600: the key, this certificate and the CA certificate)",
        issued.p12.display()
    );
    println!("  certificate  {}", issued.certificate.display());
    println!();
    println!(".p12 password (shown only now, stored nowhere): {}", issued.password.as_str());
    println!();
    println!(
        "Hand the .p12 and its password to {login} by two different channels (for example the \
         file on a USB stick, the password read out in person or by phone). Once it is imported, \
         delete {}.",
        issued.p12.display()
    );
    println!();
    println!("Roster entry (choose the roles, then check-config and reload the appliance):");
    println!();
    print!("{}", roster_entry(ca.ledger(), entry));
    Ok(())
}

fn revoke(
    dir: &Path,
    login: Option<String>,
    serial: Option<String>,
    reason: Option<RevokeReasonArg>,
    crl_days: u32,
    passphrase: &Path,
) -> Result<(), CaDirError> {
    let target = match (login, serial) {
        (_, Some(serial)) => Target::Serial(
            ledger::parse_serial(&serial).map_err(|m| CaDirError::Invalid(format!("--serial: {m}")))?,
        ),
        (Some(login), None) => Target::Login(login),
        // clap's "target" group requires one of them.
        (None, None) => {
            return Err(CaDirError::Invalid("name a certificate with --login or --serial".to_owned()));
        }
    };
    let reason = reason.map(|reason| match reason {
        RevokeReasonArg::KeyCompromise => RevokeReason::KeyCompromise,
        RevokeReasonArg::Left => RevokeReason::Left,
        RevokeReasonArg::Superseded => RevokeReason::Superseded,
    });
    let mut ca = CaDir::open(dir)?;
    let passphrase = Passphrase::read(passphrase)?;
    let (revoked, published) = ca.revoke(&target, reason, crl_days, &passphrase)?;
    for entry in &revoked {
        println!(
            "Revoked certificate {} of {} (fingerprint {}){}.",
            entry.serial_hex(),
            entry.login,
            entry.fingerprint,
            reason.map(|r| format!(", reason {}", r.name())).unwrap_or_default()
        );
    }
    print_published(dir, &published);
    println!(
        "On the appliance: replace the CRL with {}, remove the fingerprint from the roster, then \
         `takedown check-config --config /etc/takedown/takedown.toml && systemctl reload takedown`.",
        dir.join("crl.pem").display()
    );
    Ok(())
}

fn crl(dir: &Path, days: u32, passphrase: &Path) -> Result<(), CaDirError> {
    let mut ca = CaDir::open(dir)?;
    let passphrase = Passphrase::read(passphrase)?;
    let published = ca.publish_crl(days, &passphrase)?;
    print_published(dir, &published);
    println!("Copy it to the appliance, as tls.crls names it, and reload (`systemctl reload takedown`).");
    Ok(())
}

fn list(dir: &Path) -> Result<(), CaDirError> {
    let ledger = ca_dir::read_ledger(dir)?;
    let now = OffsetDateTime::now_utc();
    println!(
        "Staff CA of {}, valid until {}; CRL number {} valid until {}.",
        ledger.organization,
        ledger.ca_not_after.date(),
        ledger.crl.number,
        ledger.crl.next_update.date()
    );
    if ledger.crl.next_update <= now + time::Duration::days(CRL_WARNING_DAYS) {
        println!(
            "warning: the CRL expires on {}; publish a new one with `takedown pki crl` and copy it \
             to the appliance, which refuses every staff certificate once it has expired.",
            ledger.crl.next_update.date()
        );
    }
    let width = ledger.certificates.iter().map(|e| e.login.len()).chain([5]).max().unwrap_or(5);
    let serial_width = ledger.certificates.iter().map(|e| e.serial.len() * 2).chain([6]).max().unwrap_or(6);
    println!(
        "{:width$}  {:serial_width$}  {:10}  {:64}  STATUS",
        "LOGIN", "SERIAL", "EXPIRES", "FINGERPRINT"
    );
    for entry in &ledger.certificates {
        println!(
            "{:width$}  {:serial_width$}  {:10}  {:64}  {}",
            entry.login,
            entry.serial_hex(),
            entry.not_after.date().to_string(),
            entry.fingerprint.to_string(),
            status(entry, now)
        );
    }
    if ledger.certificates.is_empty() {
        println!("(no certificate issued yet)");
    }
    Ok(())
}

fn status(entry: &Entry, now: OffsetDateTime) -> String {
    match entry.status(now) {
        Status::Valid => "valid".to_owned(),
        Status::Expired => "expired".to_owned(),
        Status::Revoked(revocation) => match revocation.reason {
            Some(reason) => format!("revoked {} ({})", revocation.at.date(), reason.name()),
            None => format!("revoked {}", revocation.at.date()),
        },
    }
}

fn print_published(dir: &Path, published: &Published) {
    println!(
        "Published {}: CRL number {}, {} revoked certificate(s), valid until {}.",
        dir.join("crl.pem").display(),
        published.number,
        published.revoked,
        published.next_update.date()
    );
}

/// A `[[staff]]` entry for `entry`'s person. While a renewal overlaps, it lists every valid
/// certificate of theirs, so that pasting it never locks them out of the one still in use.
fn roster_entry(ledger: &Ledger, entry: &Entry) -> String {
    let now = OffsetDateTime::now_utc();
    let certificates: Vec<String> = ledger
        .certificates
        .iter()
        .filter(|e| e.login == entry.login && (e.serial == entry.serial || e.status(now) == Status::Valid))
        .map(|e| toml_string(&e.fingerprint.to_string()))
        .collect();
    let roles: Vec<&str> = Role::ALL.iter().map(|role| role.name()).collect();
    format!(
        "[[staff]]\nlogin = {}\nname = {}\nemail = {}\nroles = []   # any of: {}\ncertificates = [{}]\n",
        toml_string(&entry.login),
        toml_string(&entry.name),
        toml_string(&entry.email),
        roles.join(", "),
        certificates.join(", ")
    )
}

/// A TOML basic string. Names and emails are one line without control characters (checked at
/// issue), so only the quote and the backslash need escaping.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Fingerprint;
    use crate::roster::Roster;

    #[test]
    fn the_printed_roster_entry_is_a_valid_roster() {
        let now = OffsetDateTime::now_utc();
        let mut ledger = Ledger::new("Example", Fingerprint::parse(&"ca".repeat(32)).unwrap(), now);
        let entry = |serial: u8, name: &str| Entry {
            serial: vec![0x40, serial],
            login: "jdoe".to_owned(),
            name: name.to_owned(),
            email: "jdoe@example.org".to_owned(),
            fingerprint: Fingerprint::parse(&format!("{serial:02x}").repeat(32)).unwrap(),
            issued_at: now,
            not_after: now + time::Duration::days(30),
            revoked: None,
        };
        ledger.record(entry(1, "Jane"));
        ledger.record(entry(2, r#"Jane "JD" Doe \ Ünïcode"#));
        let text = roster_entry(&ledger, &ledger.certificates[1]);
        let roster = Roster::parse("printed", &text).unwrap();
        let person = &roster.staff()[0];
        assert_eq!(person.display_name, r#"Jane "JD" Doe \ Ünïcode"#);
        assert!(person.roles.is_empty());
        assert_eq!(person.certificates.len(), 2, "a renewal lists the old and the new certificate: {text}");
        assert!(text.contains("child-protection"), "{text}");
    }
}
