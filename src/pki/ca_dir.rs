//! A staff CA kept in one directory by `takedown pki`:
//!
//! | file | holds | mode |
//! |---|---|---|
//! | `ca.crt` | the CA certificate: the appliance's `tls.staff_ca` | `0644` |
//! | `ca.key.age` | the CA key, age-encrypted to a passphrase (scrypt); never written in clear | `0600` |
//! | `issued.json` | the [`Ledger`]: every certificate issued and revoked, the CRL number | `0600` |
//! | `crl.pem` | the latest CRL: the appliance's `tls.crls` | `0644` |
//! | `staff/<login>.p12`, `staff/<login>.crt` | the newest bundle and certificate of a person | `0600`, `0644` |
//! | `.lock` | locked while a command changes the directory | `0600` |
//!
//! Nothing is written outside the directory (the sandbox of `takedown pki` allows no more), the
//! ledger and the CRL are replaced atomically (a temporary file in the same directory, then a
//! rename), and a staff member's private key exists on disk only inside their `.p12`.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::ledger::{Entry, Ledger, LedgerError, Target};
use super::{Authority, PkiError, RevokeReason, StaffSubject, Validity};
use crate::identity::{Fingerprint, StaffId};

const CERTIFICATE: &str = "ca.crt";
const KEY: &str = "ca.key.age";
const LEDGER: &str = "issued.json";
const CRL: &str = "crl.pem";
const STAFF: &str = "staff";
const LOCK: &str = ".lock";

/// The CA certificate's common name; the organisation is the administrator's.
const CA_COMMON_NAME: &str = "Takedown staff CA";

/// Shortest passphrase `init` accepts: the encrypted key may be copied with a backup, and then
/// only the passphrase (and scrypt's cost) stands between it and a guesser.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Largest passphrase input read; anything bigger is the wrong file.
const MAX_PASSPHRASE_BYTES: u64 = 4096;

/// Longest name or email accepted; the roster allows the same.
const MAX_TEXT_CHARS: usize = 200;

/// Why a `takedown pki` operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CaDirError {
    /// `init` found a CA (or part of one) in the directory.
    #[error("{dir} already holds a CA ({file} exists); use another --dir, an existing CA is never replaced")]
    AlreadyACa {
        /// The directory.
        dir: String,
        /// The file found.
        file: &'static str,
    },
    /// The directory is not a complete CA directory.
    #[error(
        "{dir} holds no staff CA ({file} is missing); name the right --dir, or create a CA with \
         `takedown pki init --dir {dir}`"
    )]
    NotACa {
        /// The directory.
        dir: String,
        /// The file missing.
        file: &'static str,
    },
    /// Others could read or enter the directory.
    #[error(
        "{dir} is open to group or others (mode {mode:04o}); run `chmod 700 {dir}` or use a new directory"
    )]
    OpenDirectory {
        /// The directory.
        dir: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Another command holds the lock.
    #[error("another `takedown pki` command is changing {0}; wait for it to finish and try again")]
    Busy(String),
    /// `ca.crt` is not the certificate the directory was created with.
    #[error(
        "{0} is not the certificate this CA was created with (issued.json records another); restore it from the backup"
    )]
    CertificateReplaced(String),
    /// The passphrase does not open `ca.key.age`.
    #[error("wrong passphrase for {0}")]
    WrongPassphrase(String),
    /// `ca.key.age` is not what `init` wrote.
    #[error("{path} is not a passphrase-encrypted age file ({detail}); restore it from the backup")]
    NotPassphraseEncrypted {
        /// The file.
        path: String,
        /// What age said.
        detail: String,
    },
    /// The passphrase input is unusable.
    #[error("--passphrase-file: {0}")]
    Passphrase(String),
    /// A command-line value clap cannot check.
    #[error("{0}")]
    Invalid(String),
    /// A file that is never overwritten exists.
    #[error(
        "{0} already exists and is never overwritten; once its owner has imported it, delete it \
         (the CA need not keep their key) and issue again"
    )]
    Exists(String),
    /// The certificate asked for would outlive the CA.
    #[error(
        "the certificate would outlive the CA, which expires on {0}; ask for fewer --days or create a new CA"
    )]
    OutlivesCa(time::Date),
    /// The ledger refused the change.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Making a certificate, CRL or bundle failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// age could not encrypt the key.
    #[error("cannot encrypt the CA key: {0}")]
    Encrypt(String),
}

impl CaDirError {
    /// Whether the command line was at fault (rather than the files or the machine).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CaDirError::Invalid(_)
                | CaDirError::Passphrase(_)
                | CaDirError::Ledger(LedgerError::SupersededNeedsSerial)
        )
    }
}

/// The passphrase that encrypts `ca.key.age`. No `Debug`; zeroed when dropped.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Reads the passphrase from `source`, or from standard input if it is `-`. A file must be
    /// private to its owner, like every other secret file of the appliance.
    pub fn read(source: &Path) -> Result<Self, CaDirError> {
        let bytes = if source == Path::new("-") {
            let mut bytes = Zeroizing::new(Vec::new());
            std::io::stdin()
                .take(MAX_PASSPHRASE_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|err| CaDirError::Passphrase(format!("cannot read standard input: {err}")))?;
            bytes
        } else {
            crate::config::SecretSource::File(source.to_owned()).read(None).map_err(CaDirError::Passphrase)?
        };
        Self::from_bytes(&bytes)
    }

    /// The passphrase in `bytes`, less one trailing newline (the one `echo` or an editor adds;
    /// the `age` CLI, asked at a terminal, never sees it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CaDirError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| CaDirError::Passphrase("the passphrase is not UTF-8 text".to_owned()))?;
        let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(text);
        if text.is_empty() {
            return Err(CaDirError::Passphrase("the passphrase is empty".to_owned()));
        }
        Ok(Self(Zeroizing::new(text.to_owned())))
    }

    /// Refuses a passphrase too short to protect a new CA key.
    fn check_strength(&self) -> Result<(), CaDirError> {
        if self.0.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(CaDirError::Passphrase(format!(
                "a new CA's passphrase needs at least {MIN_PASSPHRASE_CHARS} characters; several \
                 random words are easy to share between two people and hard to guess"
            )));
        }
        Ok(())
    }

    fn secret(&self) -> SecretString {
        SecretString::from(self.0.as_str().to_owned())
    }
}

/// What `init` made.
#[derive(Clone, Copy, Debug)]
pub struct Created {
    /// When the CA certificate expires.
    pub ca_not_after: OffsetDateTime,
    /// When the first CRL stops being valid.
    pub crl_next_update: OffsetDateTime,
}

/// A person to issue a certificate to, checked against the roster's rules.
#[derive(Clone, Debug)]
pub struct StaffRequest {
    login: StaffId,
    name: String,
    email: String,
}

impl StaffRequest {
    /// Checks the login, name and email the way the roster will.
    pub fn new(login: &str, name: &str, email: &str) -> Result<Self, CaDirError> {
        let login =
            StaffId::parse(login).map_err(|message| CaDirError::Invalid(format!("--login: {message}")))?;
        for (flag, text) in [("--name", name), ("--email", email)] {
            if text.trim().is_empty()
                || text.chars().count() > MAX_TEXT_CHARS
                || text.chars().any(char::is_control)
            {
                return Err(CaDirError::Invalid(format!(
                    "{flag} must be one line of 1-{MAX_TEXT_CHARS} characters"
                )));
            }
        }
        // The email goes into the certificate as an rfc822Name, which is ASCII.
        if !email.is_ascii() || !email.contains('@') || email.contains(char::is_whitespace) {
            return Err(CaDirError::Invalid(format!("--email {email:?} is not an ASCII email address")));
        }
        Ok(Self { login, name: name.to_owned(), email: email.to_owned() })
    }
}

/// What `issue` made.
pub struct IssuedStaff {
    /// The ledger entry (serial, fingerprint, expiry).
    pub entry: Entry,
    /// The `.p12` bundle written.
    pub p12: PathBuf,
    /// The certificate written.
    pub certificate: PathBuf,
    /// The `.p12` password; stored nowhere.
    pub password: Zeroizing<String>,
}

/// What a new CRL says.
#[derive(Clone, Copy, Debug)]
pub struct Published {
    /// Its CRL number.
    pub number: u64,
    /// How many certificates it lists.
    pub revoked: usize,
    /// When it stops being valid.
    pub next_update: OffsetDateTime,
}

/// Creates a staff CA in `dir` (made `0700` if missing): the CA certificate, its key encrypted
/// to `passphrase`, the ledger and a first CRL valid for `crl_days`.
pub fn init(
    dir: &Path,
    organization: &str,
    ca_days: u32,
    crl_days: u32,
    passphrase: &Passphrase,
) -> Result<Created, CaDirError> {
    if organization.trim().is_empty()
        || organization.chars().count() > MAX_TEXT_CHARS
        || organization.chars().any(char::is_control)
    {
        return Err(CaDirError::Invalid(format!(
            "--organization must be one line of 1-{MAX_TEXT_CHARS} characters"
        )));
    }
    passphrase.check_strength()?;
    super::create_private_dir(dir)?;
    check_private(dir)?;
    let _lock = lock(dir)?;
    for file in [CERTIFICATE, KEY, LEDGER, CRL] {
        if dir.join(file).exists() {
            return Err(CaDirError::AlreadyACa { dir: dir.display().to_string(), file });
        }
    }
    let validity = Validity::days_from_now(i64::from(ca_days));
    let authority = Authority::create_in(organization, CA_COMMON_NAME, validity)?;
    let ca_not_after = whole_seconds(validity.not_after);
    let mut ledger =
        Ledger::new(organization, Fingerprint::of_certificate(authority.certificate_der()), ca_not_after);
    let sealed = seal(&authority.key_pem(), passphrase)?;
    write_new(&dir.join(KEY), &sealed, 0o600)?;
    replace(dir, CERTIFICATE, authority.certificate_pem().as_bytes(), 0o644)?;
    super::create_private_dir(&dir.join(STAFF))?;
    let published = publish(dir, &mut ledger, &authority, crl_days)?;
    Ok(Created { ca_not_after, crl_next_update: published.next_update })
}

/// Reads the ledger of the CA in `dir`, without the passphrase or the lock (for `list`).
pub fn read_ledger(dir: &Path) -> Result<Ledger, CaDirError> {
    let path = dir.join(LEDGER);
    let text = match fs::read_to_string(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(CaDirError::NotACa { dir: dir.display().to_string(), file: LEDGER });
        }
        read => read.map_err(|source| io(&path, source))?,
    };
    Ok(Ledger::from_json(&text)?)
}

/// A CA directory opened for a change: locked until dropped.
pub struct CaDir {
    dir: PathBuf,
    ledger: Ledger,
    _lock: File,
}

impl CaDir {
    /// Opens and locks the CA in `dir`.
    pub fn open(dir: &Path) -> Result<Self, CaDirError> {
        for file in [CERTIFICATE, KEY, LEDGER] {
            if !dir.join(file).exists() {
                return Err(CaDirError::NotACa { dir: dir.display().to_string(), file });
            }
        }
        check_private(dir)?;
        let lock = lock(dir)?;
        let ledger = read_ledger(dir)?;
        Ok(Self { dir: dir.to_owned(), ledger, _lock: lock })
    }

    /// The ledger as it stands.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Issues a certificate to `request` valid for `days`, bundled as `staff/<login>.p12` under
    /// a new random password. Unless `renew`, refused while the login holds a valid certificate.
    pub fn issue(
        &mut self,
        request: &StaffRequest,
        days: u32,
        renew: bool,
        passphrase: &Passphrase,
    ) -> Result<IssuedStaff, CaDirError> {
        let login = request.login.as_str();
        let now = OffsetDateTime::now_utc();
        // Every refusal comes before the passphrase is tried: no scrypt second spent on them.
        self.ledger.check_can_issue(login, now, renew)?;
        let validity = Validity::days_from_now(i64::from(days));
        if whole_seconds(validity.not_after) > self.ledger.ca_not_after {
            return Err(CaDirError::OutlivesCa(self.ledger.ca_not_after.date()));
        }
        let staff = self.dir.join(STAFF);
        super::create_private_dir(&staff)?;
        let p12_path = staff.join(format!("{login}.p12"));
        if p12_path.exists() {
            return Err(CaDirError::Exists(p12_path.display().to_string()));
        }
        let authority = self.unlock(passphrase)?;
        let subject = StaffSubject { login, display_name: &request.name, email: &request.email };
        let issued = authority.issue_staff(subject, validity)?;
        let password = super::random_password();
        let p12 = issued.pkcs12(&authority, &format!("Takedown: {login}"), &password)?;
        let entry = Entry {
            serial: issued.serial.clone(),
            login: login.to_owned(),
            name: request.name.clone(),
            email: request.email.clone(),
            fingerprint: issued.fingerprint(),
            issued_at: whole_seconds(now),
            not_after: whole_seconds(validity.not_after),
            revoked: None,
        };
        // Stage both files, record the certificate, then move the files into place: a crash
        // leaves at worst a recorded certificate without its bundle, never an unrecorded one.
        let p12_staged = stage(&staff, &format!("{login}.p12"), &p12, 0o600)?;
        let crt_staged = stage(&staff, &format!("{login}.crt"), issued.certificate_pem.as_bytes(), 0o644)?;
        let mut ledger = self.ledger.clone();
        ledger.record(entry.clone());
        replace(&self.dir, LEDGER, ledger.to_json()?.as_bytes(), 0o600)?;
        self.ledger = ledger;
        let certificate = crt_staged.commit()?;
        let p12 = p12_staged.commit()?;
        Ok(IssuedStaff { entry, p12, certificate, password })
    }

    /// Revokes `target` and publishes a CRL valid for `crl_days` that lists it.
    pub fn revoke(
        &mut self,
        target: &Target,
        reason: Option<RevokeReason>,
        crl_days: u32,
        passphrase: &Passphrase,
    ) -> Result<(Vec<Entry>, Published), CaDirError> {
        let mut ledger = self.ledger.clone();
        let revoked = ledger.revoke(target, reason, whole_seconds(OffsetDateTime::now_utc()))?;
        let authority = self.unlock(passphrase)?;
        let published = publish(&self.dir, &mut ledger, &authority, crl_days)?;
        self.ledger = ledger;
        Ok((revoked, published))
    }

    /// Publishes a fresh CRL valid for `crl_days`, with no other change (the monthly job).
    pub fn publish_crl(&mut self, crl_days: u32, passphrase: &Passphrase) -> Result<Published, CaDirError> {
        let authority = self.unlock(passphrase)?;
        let mut ledger = self.ledger.clone();
        let published = publish(&self.dir, &mut ledger, &authority, crl_days)?;
        self.ledger = ledger;
        Ok(published)
    }

    /// Decrypts the CA key and checks `ca.crt` is the certificate the ledger recorded.
    fn unlock(&self, passphrase: &Passphrase) -> Result<Authority, CaDirError> {
        let certificate_path = self.dir.join(CERTIFICATE);
        let certificate =
            fs::read_to_string(&certificate_path).map_err(|source| io(&certificate_path, source))?;
        let key_path = self.dir.join(KEY);
        let sealed = fs::read(&key_path).map_err(|source| io(&key_path, source))?;
        let key_pem = unseal(&key_path, &sealed, passphrase)?;
        let authority = Authority::load_in(&self.ledger.organization, &certificate, &key_pem)?;
        if Fingerprint::of_certificate(authority.certificate_der()) != self.ledger.ca_fingerprint {
            return Err(CaDirError::CertificateReplaced(certificate_path.display().to_string()));
        }
        Ok(authority)
    }
}

/// Signs the ledger's next CRL, then writes the ledger and the CRL, in that order: a crash in
/// between skips a CRL number, which is harmless, rather than reusing one.
fn publish(
    dir: &Path,
    ledger: &mut Ledger,
    authority: &Authority,
    days: u32,
) -> Result<Published, CaDirError> {
    let plan = ledger.next_crl(whole_seconds(OffsetDateTime::now_utc()), days);
    let pem = authority.revocation_list(&plan.revoked, plan.this_update, plan.next_update, plan.number)?;
    replace(dir, LEDGER, ledger.to_json()?.as_bytes(), 0o600)?;
    replace(dir, CRL, pem.as_bytes(), 0o644)?;
    Ok(Published { number: plan.number, revoked: plan.revoked.len(), next_update: plan.next_update })
}

/// Encrypts the CA key to the passphrase, with age's own work factor (about a second here).
fn seal(key_pem: &str, passphrase: &Passphrase) -> Result<Vec<u8>, CaDirError> {
    let recipient = age::scrypt::Recipient::new(passphrase.secret());
    age::encrypt(&recipient, key_pem.as_bytes()).map_err(|err| CaDirError::Encrypt(err.to_string()))
}

/// Decrypts `ca.key.age`.
fn unseal(path: &Path, sealed: &[u8], passphrase: &Passphrase) -> Result<Zeroizing<String>, CaDirError> {
    let shown = path.display().to_string();
    let damaged = |detail: String| CaDirError::NotPassphraseEncrypted { path: shown.clone(), detail };
    let decryptor = age::Decryptor::new_buffered(sealed).map_err(|err| damaged(err.to_string()))?;
    if !decryptor.is_scrypt() {
        return Err(damaged("it is encrypted to a key, not a passphrase".to_owned()));
    }
    let identity = age::scrypt::Identity::new(passphrase.secret());
    let mut reader =
        decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).map_err(|err| match err {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                CaDirError::WrongPassphrase(shown.clone())
            }
            other => damaged(other.to_string()),
        })?;
    // Sized up front so that the key is never left behind in a reallocated buffer.
    let mut plain = Zeroizing::new(Vec::with_capacity(sealed.len()));
    reader.read_to_end(&mut plain).map_err(|err| damaged(err.to_string()))?;
    let text = std::str::from_utf8(&plain).map_err(|_| damaged("the key inside is not PEM".to_owned()))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Refuses a directory that group or others may enter: it holds the staff's `.p12` bundles.
fn check_private(dir: &Path) -> Result<(), CaDirError> {
    let mode = fs::metadata(dir).map_err(|source| io(dir, source))?.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CaDirError::OpenDirectory { dir: dir.display().to_string(), mode });
    }
    Ok(())
}

/// Takes the directory's lock, without waiting: two commands interleaving their ledger writes
/// would lose one's change.
fn lock(dir: &Path) -> Result<File, CaDirError> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| io(&path, source))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(CaDirError::Busy(dir.display().to_string())),
        Err(TryLockError::Error(source)) => Err(io(&path, source)),
    }
}

/// A file written under a temporary name beside its final one.
struct Staged {
    temporary: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Moves the file to its final name.
    fn commit(self) -> Result<PathBuf, CaDirError> {
        fs::rename(&self.temporary, &self.path).map_err(|source| io(&self.path, source))?;
        if let Some(parent) = self.path.parent() {
            File::open(parent).and_then(|d| d.sync_all()).map_err(|source| io(parent, source))?;
        }
        Ok(self.path.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // After a commit the temporary name no longer exists; before one, nothing half-done
        // should stay behind (it may be a bundle with a key inside).
        let _ = fs::remove_file(&self.temporary);
    }
}

fn stage(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<Staged, CaDirError> {
    let temporary = dir.join(format!(".{name}.tmp"));
    // A leftover from an interrupted run: we hold the lock, so nobody else is writing it.
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(io(&temporary, source)),
    }
    let staged = Staged { temporary, path: dir.join(name) };
    write_new(&staged.temporary, contents, mode)?;
    Ok(staged)
}

/// Replaces `dir/name` atomically.
fn replace(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<(), CaDirError> {
    stage(dir, name, contents, mode)?.commit().map(|_| ())
}

/// Creates `path` (refused if it exists) with `mode`, and flushes it to disk.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), CaDirError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| io(path, source))?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(|source| io(path, source))
}

/// `time` as a certificate states it: X.509 times have no fractions of a second.
fn whole_seconds(time: OffsetDateTime) -> OffsetDateTime {
    time - time::Duration::nanoseconds(i64::from(time.nanosecond()))
}

fn io(path: &Path, source: std::io::Error) -> CaDirError {
    CaDirError::Io { path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped_and_nothing_else() {
        assert_eq!(Passphrase::from_bytes(b"correct horse\n").unwrap().0.as_str(), "correct horse");
        assert_eq!(Passphrase::from_bytes(b"correct horse\r\n").unwrap().0.as_str(), "correct horse");
        assert_eq!(Passphrase::from_bytes(b" spaced \n\n").unwrap().0.as_str(), " spaced \n");
        for empty in [&b""[..], b"\n"] {
            let err = Passphrase::from_bytes(empty).err().unwrap();
            assert!(err.to_string().contains("empty") && err.is_usage(), "{err}");
        }
        assert!(Passphrase::from_bytes(b"\xff\xfe").is_err());
    }

    #[test]
    fn a_new_ca_needs_a_long_passphrase() {
        assert!(Passphrase::from_bytes(b"short words").unwrap().check_strength().is_err());
        assert!(Passphrase::from_bytes(b"twelve chars").unwrap().check_strength().is_ok());
    }

    #[test]
    fn requests_follow_the_roster_rules() {
        assert!(StaffRequest::new("jdoe", "Jane Doe", "jdoe@example.org").is_ok());
        for (login, name, email) in [
            ("JDoe", "Jane Doe", "jdoe@example.org"),
            ("jdoe", "", "jdoe@example.org"),
            ("jdoe", "Jane\nDoe", "jdoe@example.org"),
            ("jdoe", "Jane Doe", "jdoe"),
            ("jdoe", "Jane Doe", "jdöe@example.org"),
        ] {
            let err = StaffRequest::new(login, name, email).unwrap_err();
            assert!(err.is_usage(), "{err}");
        }
    }

    #[test]
    fn the_key_seals_and_opens_only_with_its_passphrase() {
        let passphrase = Passphrase::from_bytes(b"correct horse battery").unwrap();
        let sealed = seal("-----BEGIN PRIVATE KEY-----\n", &passphrase).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n-> scrypt "));
        let path = Path::new("ca.key.age");
        assert_eq!(unseal(path, &sealed, &passphrase).unwrap().as_str(), "-----BEGIN PRIVATE KEY-----\n");
        let wrong = Passphrase::from_bytes(b"correct horse battery!").unwrap();
        let err = unseal(path, &sealed, &wrong).err().unwrap();
        assert_eq!(err.to_string(), "wrong passphrase for ca.key.age");
        let err = unseal(path, b"-----BEGIN PRIVATE KEY-----", &passphrase).err().unwrap();
        assert!(err.to_string().contains("restore it from the backup"), "{err}");
    }
}
