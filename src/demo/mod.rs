//! The demo's workspace: a development PKI, a roster and a config in one directory.
//!
//! Built only with the `demo` feature. The first run creates everything; later runs reuse the CA
//! and certificates (so a browser that imported a `.p12` keeps working) and only re-sign the CRL
//! and rewrite the config for the chosen listen address.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::CaseKind;
use crate::pki::{self, Authority, PkiError, RevokeReason, RevokedCertificate, StaffSubject, Validity};
use crate::store::crypt::{AgeIdentity, AgeRecipient};
use crate::store::index::IndexKey;
use crate::store::{Store, StoreError};

pub mod services;

/// A demo person: login, name, roles, and whether the roster lists them.
struct Person {
    login: &'static str,
    name: &'static str,
    roles: &'static [&'static str],
    on_roster: bool,
    revoked: bool,
}

/// One certificate per role, one with two roles, one the roster does not know, one the CRL
/// revokes.
const PEOPLE: &[Person] = &[
    Person { login: "dmca-agent", name: "Dana Mercer", roles: &["dmca"], on_roster: true, revoked: false },
    Person {
        login: "cp-agent",
        name: "Chris Okafor",
        roles: &["child-protection"],
        on_roster: true,
        revoked: false,
    },
    Person { login: "approver", name: "Alex Rivera", roles: &["approver"], on_roster: true, revoked: false },
    // Prepares reports and approves other people's: shows that nobody approves their own.
    Person {
        login: "cp-lead",
        name: "Casey Lindgren",
        roles: &["child-protection", "approver"],
        on_roster: true,
        revoked: false,
    },
    Person { login: "auditor", name: "Ada Lindqvist", roles: &["auditor"], on_roster: true, revoked: false },
    Person { login: "exporter", name: "Eli Novak", roles: &["exporter"], on_roster: true, revoked: false },
    Person { login: "outsider", name: "Olive Stranger", roles: &[], on_roster: false, revoked: false },
    Person { login: "revoked", name: "Robin Vale", roles: &["dmca"], on_roster: true, revoked: true },
];

/// How long demo certificates last.
const CERTIFICATE_DAYS: i64 = 365;

/// How long a demo CRL lasts; each run signs a fresh one.
const CRL_DAYS: i64 = 30;

/// The prepared demo directory.
pub struct Workspace {
    /// The config to serve.
    pub config: PathBuf,
    /// Where the staff certificates are.
    pub staff_dir: PathBuf,
    /// The password of every `.p12` in `staff_dir`.
    pub p12_password: Zeroizing<String>,
    /// Whether this run created the PKI (rather than reusing it).
    pub created: bool,
}

/// Why the demo directory could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A key file in the demo directory is not what the demo wrote.
    #[error("{path}: {message}; delete the demo directory to start afresh")]
    Key {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Making or reading the PKI failed.
    #[error("{0}")]
    Pki(#[from] PkiError),
    /// The simulated services could not start.
    #[error("cannot start the simulated services: {0}")]
    Peers(String),
}

/// Creates or reuses the demo directory `dir` for a server on `listen`.
/// `service_sections` is the config's `[egress]` section and the services' sections (see
/// [`services::SimulatedServices`]).
pub fn prepare(dir: &Path, listen: SocketAddr, service_sections: &str) -> Result<Workspace, DemoError> {
    let pki_dir = dir.join("pki");
    let staff_dir = pki_dir.join("staff");
    let ca_cert = pki_dir.join("ca.crt");
    let created = !ca_cert.exists();
    if created {
        create_pki(dir, &pki_dir, &staff_dir)?;
    }
    let authority = Authority::load(&read(&ca_cert)?, &read(&pki_dir.join("ca.key"))?)?;
    let now = OffsetDateTime::now_utc();
    let revoked: Vec<RevokedCertificate> = read(&pki_dir.join("revoked-serials"))?
        .lines()
        .filter_map(|line| hex::decode(line.trim()).ok())
        .map(|serial| RevokedCertificate {
            serial,
            revoked_at: now - Duration::minutes(5),
            reason: Some(RevokeReason::Superseded),
        })
        .collect();
    let number = u64::try_from(now.unix_timestamp()).unwrap_or(1);
    let crl = authority.revocation_list(
        &revoked,
        now - Duration::minutes(5),
        now + Duration::days(CRL_DAYS),
        number,
    )?;
    pki::write_public(&pki_dir.join("staff.crl"), crl.as_bytes())?;
    let (escrow, counsel) = prepare_store_keys(dir)?;
    pki::write_public(
        &dir.join("takedown.toml"),
        config_text(listen, &escrow, &counsel, service_sections).as_bytes(),
    )?;
    let p12_password = Zeroizing::new(read(&pki_dir.join("p12-password"))?.trim().to_owned());
    Ok(Workspace { config: dir.join("takedown.toml"), staff_dir, p12_password, created })
}

fn create_pki(dir: &Path, pki_dir: &Path, staff_dir: &Path) -> Result<(), PkiError> {
    // Owner-only: the directory holds private keys.
    pki::create_private_dir(staff_dir)?;
    let authority =
        Authority::create("Takedown demo staff CA", Validity::days_from_now(CERTIFICATE_DAYS * 2))?;
    let server = authority
        .issue_server(&["localhost", "127.0.0.1", "::1"], Validity::days_from_now(CERTIFICATE_DAYS))?;
    pki::write_public(&pki_dir.join("server.crt"), server.certificate_pem.as_bytes())?;
    pki::write_private(&pki_dir.join("server.key"), server.key_pem.as_bytes())?;

    let password = pki::random_password();
    pki::write_private(&pki_dir.join("p12-password"), password.as_bytes())?;
    let mut roster = String::from("# Demo roster, written by `takedown demo`. Reloaded on SIGHUP.\n");
    let mut revoked = String::new();
    for person in PEOPLE {
        let email = format!("{}@demo.invalid", person.login);
        let subject = StaffSubject { login: person.login, display_name: person.name, email: &email };
        let issued = authority.issue_staff(subject, Validity::days_from_now(CERTIFICATE_DAYS))?;
        let base = staff_dir.join(person.login);
        pki::write_public(&base.with_extension("crt"), issued.certificate_pem.as_bytes())?;
        pki::write_private(&base.with_extension("key"), issued.key_pem.as_bytes())?;
        let p12 = issued.pkcs12(&authority, &format!("Takedown demo: {}", person.login), &password)?;
        pki::write_private(&base.with_extension("p12"), &p12)?;
        if person.on_roster {
            let roles: Vec<String> = person.roles.iter().map(|r| format!("{r:?}")).collect();
            let _ = write!(
                roster,
                "\n[[staff]]\nlogin = {:?}\nname = {:?}\nemail = {email:?}\nroles = [{}]\ncertificates = [\"{}\"]\n",
                person.login,
                person.name,
                roles.join(", "),
                issued.fingerprint()
            );
        }
        if person.revoked {
            revoked.push_str(&hex::encode(&issued.serial));
            revoked.push('\n');
        }
    }
    pki::write_public(&pki_dir.join("revoked-serials"), revoked.as_bytes())?;
    pki::write_public(&dir.join("roster.toml"), roster.as_bytes())?;
    pki::write_private(&pki_dir.join("ca.key"), authority.key_pem().as_bytes())?;
    // Written last: its presence marks a complete PKI that later runs reuse.
    pki::write_public(&pki_dir.join("ca.crt"), authority.certificate_pem().as_bytes())
}

/// Creates (once) the store's identity and index key, a demo "legal escrow" identity that opens
/// the store, and a demo "legal counsel" identity that case downloads are encrypted to; returns
/// their public keys.
fn prepare_store_keys(dir: &Path) -> Result<(AgeRecipient, AgeRecipient), DemoError> {
    let keys = dir.join("keys");
    pki::create_private_dir(&keys)?;
    for name in ["store-identity", "legal-escrow-identity", "legal-counsel-identity"] {
        if !keys.join(name).exists() {
            pki::write_private(&keys.join(name), AgeIdentity::generate().to_file_text().as_bytes())?;
        }
    }
    if !keys.join("index-key").exists() {
        pki::write_private(&keys.join("index-key"), IndexKey::generate_file_text().as_bytes())?;
    }
    if !keys.join("checkpoint-key").exists() {
        let text = crate::audit::checkpoint::CheckpointKey::generate()
            .map_err(|err| DemoError::Key { path: "keys/checkpoint-key".into(), message: err.to_string() })?;
        pki::write_private(&keys.join("checkpoint-key"), text.as_bytes())?;
    }
    let recipient = |name: &str| {
        let file = keys.join(name);
        AgeIdentity::parse(read(&file)?.as_bytes())
            .map(|identity| identity.recipient())
            .map_err(|message| DemoError::Key { path: file.display().to_string(), message })
    };
    Ok((recipient("legal-escrow-identity")?, recipient("legal-counsel-identity")?))
}

fn config_text(listen: SocketAddr, escrow: &AgeRecipient, counsel: &AgeRecipient, egress: &str) -> String {
    format!(
        "# Written by `takedown demo` on every start; edits are overwritten.\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [tls]\ncertificate = \"pki/server.crt\"\nprivate_key = {{ file = \"pki/server.key\" }}\n\
         staff_ca = \"pki/ca.crt\"\ncrls = [\"pki/staff.crl\"]\n\n\
         [staff]\nroster = \"roster.toml\"\n\
         access_contact = \"the demo administrator (add the fingerprint to roster.toml, then send SIGHUP)\"\n\n\
         [store]\ndata_dir = \"data\"\nidentity = {{ file = \"keys/store-identity\" }}\n\
         index_key = {{ file = \"keys/index-key\" }}\n\
         checkpoint_key = {{ file = \"keys/checkpoint-key\" }}\n\
         # The demo's stand-in for legal's offline key: keys/legal-escrow-identity opens everything.\n\
         escrow_recipients = [\"{escrow}\"]\n\n\
         [export]\n\
         # The demo's stand-in for legal counsel: keys/legal-counsel-identity opens case downloads.\n\
         legal_recipients = [\"{counsel}\"]\n\n\
         # A developer's machine may lack the locked-memory limit or the kernel production has;\n\
         # the home page says what is missing. Uploads are still held only in locked memory.\n\
         [hardening]\nlock_memory = \"best-effort\"\nlandlock = \"best-effort\"\nmedia_budget_mib = 64\n\n\
         # The simulated Lumen, NCMEC, Salesforce and wiki (takedown-peers) on loopback.\n\
         {egress}"
    )
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io { path: path.display().to_string(), source })
}

/// The demo's made-up DMCA request: denied, so it went nowhere.
fn sample_takedown() -> crate::dmca::model::Takedown {
    use crate::dmca::model::{Decision, Project, Sender, Takedown};
    Takedown {
        test: true,
        send_to_lumen: false,
        post_wiki_notices: false,
        project: Project {
            dbname: "commonswiki".into(),
            host: "commons.wiki.test".into(),
            label: "Wikimedia Commons — commonswiki".into(),
        },
        sender: Sender {
            name: "Example Rights Holder LLC".into(),
            country: "US".into(),
            ..Sender::default()
        },
        date_sent: "2026-11-02".into(),
        method: "email".into(),
        to: String::new(),
        from: String::new(),
        subject: "Copyright infringement notice (a sample made up by `takedown demo`)".into(),
        body: "The photograph is the uploader's own work, with EXIF data and earlier publication.".into(),
        involved_users: vec!["UploaderName".into()],
        affected_files: vec!["Example sunset.jpg".into()],
        affected_pages: Vec::new(),
        original_urls: Vec::new(),
        decision: Decision::Denied,
        statements: Vec::new(),
        strike_reasons: Vec::new(),
        strike_other: String::new(),
        lumen_title: String::new(),
        commons_title: String::new(),
        wmf_title: String::new(),
        documents: Vec::new(),
        wiki_lookup: None,
    }
}

/// A made-up child-protection report waiting for approval (no image, no real account; the
/// address is from the documentation range).
fn sample_report() -> crate::child_protection::model::ChildReport {
    use crate::child_protection::model::{ChildReport, Environment, ReportedFile, Statement};
    ChildReport {
        environment: Environment::Test,
        statements: vec![Statement::TakenDownSuppressed, Statement::UserLocked],
        permanent_notes: "A sample made up by `takedown demo`.".into(),
        reporter_first_name: "Chris".into(),
        reporter_last_name: "Okafor".into(),
        reporter_email: "cp-agent@demo.invalid".into(),
        accessed_at: "2026-11-20T10:00:00Z".into(),
        project: sample_takedown().project,
        uploader: "ExampleUploader".into(),
        uploader_email: String::new(),
        additional_info: "Made up by `takedown demo`: no real account, no CheckUser data.".into(),
        files: vec![ReportedFile {
            wiki_name: "Example removed.png".into(),
            uploaded_at: "2026-11-20T09:14:00Z".into(),
            upload_ip: Some(std::net::IpAddr::from([192, 0, 2, 1])),
        }],
    }
}

/// Adds two made-up sample cases (one DMCA, one child protection, neither with any real data or
/// image) to an empty store, so that the case pages have something to show. Each is audited as
/// created by the appliance itself.
pub fn seed_sample_cases(store: &Store) -> Result<(), StoreError> {
    if !store.case_ids()?.is_empty() {
        return Ok(());
    }
    let samples = [
        (CaseKind::Dmca, serde_json::json!({ "dmca": sample_takedown() })),
        (
            CaseKind::ChildProtection,
            serde_json::json!({ crate::child_protection::journal::REPORT: sample_report() }),
        ),
    ];
    store.commit(|batch| {
        for (kind, payload) in samples {
            let case = batch.create_case(kind, "system", payload)?;
            if kind == CaseKind::Dmca {
                // A denied request: logged, and announced nowhere.
                for step in [crate::dmca::steps::LUMEN, crate::dmca::steps::SALESFORCE] {
                    let record = crate::dmca::steps::StepRecord::new(
                        step,
                        crate::dmca::steps::StepStatus::Skipped,
                        "the request was denied (a sample made up by `takedown demo`)",
                    );
                    batch.revise_case(case, crate::cases::Change::Outcome, "system", record.payload())?;
                }
            }
            batch.audit(&AuditEntry::now(
                Actor::System,
                Action::CreateCase,
                Some(case),
                Outcome::Done,
                "sample case created by `takedown demo`",
            ))?;
        }
        Ok(())
    })
}
