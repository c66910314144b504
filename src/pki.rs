//! A small certificate authority for staff access: create a CA, issue server and staff
//! certificates, bundle a staff certificate as a `.p12` for a browser, and sign revocation lists.
//!
//! The demo and the tests make their PKI with this module; `takedown pki` keeps a real
//! deployment's staff CA with it in a directory ([`ca_dir`]), whose walk-through is
//! `keys/README.md`. Private keys are held in [`Zeroizing`] strings while in memory; the demo
//! writes its keys `0600`, and `takedown pki` writes none in clear.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::identity::Fingerprint;

pub mod ca_dir;
pub mod ledger;

/// The organisation the demo's and the tests' certificates name.
const DEFAULT_ORGANIZATION: &str = "Takedown";

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the parameters or could not sign.
    #[error("cannot create the certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file that should hold a PEM certificate does not.
    #[error("not a PEM certificate: {0}")]
    NotPem(String),
    /// The `.p12` bundle could not be built.
    #[error("cannot build the .p12 bundle: {0}")]
    Pkcs12(String),
}

/// When a certificate is valid.
#[derive(Clone, Copy, Debug)]
pub struct Validity {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From one hour ago (tolerating clock skew between machines) for `days` days.
    pub fn days_from_now(days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self { not_before: now - Duration::hours(1), not_after: now + Duration::days(days) }
    }
}

/// A staff member as their certificate names them.
#[derive(Clone, Copy, Debug)]
pub struct StaffSubject<'a> {
    /// The login, used as the certificate's common name.
    pub login: &'a str,
    /// The person's name, as the organisational unit (browsers show it when picking a
    /// certificate).
    pub display_name: &'a str,
    /// The person's email, as an rfc822Name SAN.
    pub email: &'a str,
}

/// Why a certificate was revoked, as its CRL entry says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeReason {
    /// The private key may be in someone else's hands (a lost or stolen device).
    KeyCompromise,
    /// The person left the team; the certificate is no longer needed.
    Left,
    /// A newer certificate replaces this one.
    Superseded,
}

impl RevokeReason {
    /// The name `takedown pki` and its state file use.
    pub fn name(self) -> &'static str {
        match self {
            RevokeReason::KeyCompromise => "key-compromise",
            RevokeReason::Left => "left",
            RevokeReason::Superseded => "superseded",
        }
    }

    fn crl_code(self) -> RevocationReason {
        match self {
            RevokeReason::KeyCompromise => RevocationReason::KeyCompromise,
            RevokeReason::Left => RevocationReason::CessationOfOperation,
            RevokeReason::Superseded => RevocationReason::Superseded,
        }
    }
}

/// One entry of a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedCertificate {
    /// The certificate's serial number.
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why; `None` leaves the reason code out (RFC 5280 prefers that to "unspecified").
    pub reason: Option<RevokeReason>,
}

/// A certificate authority: its key and the parameters its certificates name it by.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    certificate_pem: String,
    certificate_der: Vec<u8>,
    organization: String,
}

impl Authority {
    /// Creates a self-signed CA that may sign certificates and CRLs, for the demo's and tests'
    /// organisation ("Takedown").
    pub fn create(common_name: &str, validity: Validity) -> Result<Self, PkiError> {
        Self::create_in(DEFAULT_ORGANIZATION, common_name, validity)
    }

    /// Creates a self-signed CA of `organization`; the certificates it issues name the same
    /// organisation.
    pub fn create_in(organization: &str, common_name: &str, validity: Validity) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(organization, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.serial_number = Some(random_serial());
        params.key_identifier_method = KeyIdMethod::Sha256;
        let certificate = params.self_signed(&key)?;
        Ok(Self {
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().to_vec(),
            issuer: Issuer::new(params, key),
            organization: organization.to_owned(),
        })
    }

    /// Loads a CA of the demo's and tests' organisation from its certificate and private key
    /// (both PEM).
    pub fn load(certificate_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        Self::load_in(DEFAULT_ORGANIZATION, certificate_pem, key_pem)
    }

    /// Loads a CA from its certificate and private key (both PEM); the certificates it issues
    /// name `organization` (rcgen cannot read it back from the certificate).
    pub fn load_in(organization: &str, certificate_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(certificate_pem, key)?;
        let certificate_der = rustls_pki_types::pem::PemObject::from_pem_slice(certificate_pem.as_bytes())
            .map(|der: rustls_pki_types::CertificateDer<'_>| der.to_vec())
            .map_err(|err| PkiError::NotPem(format!("the CA certificate: {err}")))?;
        Ok(Self {
            issuer,
            certificate_pem: certificate_pem.to_owned(),
            certificate_der,
            organization: organization.to_owned(),
        })
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The CA private key, PEM.
    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.issuer.key().serialize_pem())
    }

    /// Issues a TLS server certificate for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[&str], validity: Validity) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
        params.distinguished_name = name(&self.organization, names.first().copied().unwrap_or("takedown"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        self.issue(params, validity)
    }

    /// Issues a staff client certificate.
    pub fn issue_staff(&self, subject: StaffSubject<'_>, validity: Validity) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = name(&self.organization, subject.login);
        dn.push(DnType::OrganizationalUnitName, subject.display_name);
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::Rfc822Name(subject.email.try_into()?)];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        self.issue(params, validity)
    }

    fn issue(&self, mut params: CertificateParams, validity: Validity) -> Result<Issued, PkiError> {
        let key = KeyPair::generate()?;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.use_authority_key_identifier_extension = true;
        let certificate = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().to_vec(),
            key_pem: Zeroizing::new(key.serialize_pem()),
            key_der: Zeroizing::new(key.serialize_der()),
            serial: serial.to_bytes(),
        })
    }

    /// Signs a CRL listing `revoked`, valid until `next_update`. `number` must grow with each CRL
    /// the CA publishes.
    pub fn revocation_list(
        &self,
        revoked: &[RevokedCertificate],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        number: u64,
    ) -> Result<String, PkiError> {
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|entry| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&entry.serial),
                    revocation_time: entry.revoked_at,
                    reason_code: entry.reason.map(RevokeReason::crl_code),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }
}

/// A certificate the CA issued, with its new private key.
pub struct Issued {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The private key, PEM (PKCS#8).
    pub key_pem: Zeroizing<String>,
    key_der: Zeroizing<Vec<u8>>,
    /// The serial number, for revocation.
    pub serial: Vec<u8>,
}

impl Issued {
    /// The SHA-256 fingerprint that the roster lists.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_certificate(&self.certificate_der)
    }

    /// A PKCS#12 bundle (AES-256, HMAC-SHA-256) of the key, this certificate and the CA
    /// certificate, protected by `password`, for importing into a browser.
    pub fn pkcs12(
        &self,
        authority: &Authority,
        friendly_name: &str,
        password: &str,
    ) -> Result<Vec<u8>, PkiError> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let err = |e: p12_keystore::error::Error| PkiError::Pkcs12(e.to_string());
        let key = PrivateKey::from_der(&self.key_der).map_err(err)?;
        let chain = [
            Certificate::from_der(&self.certificate_der).map_err(err)?,
            Certificate::from_der(authority.certificate_der()).map_err(err)?,
        ];
        let mut store = KeyStore::new();
        store.add_entry(
            friendly_name,
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(self.serial.clone(), key, chain)),
        );
        store.writer(password).write().map_err(err)
    }
}

/// A random password for `.p12` bundles: 20 characters from an alphabet without look-alikes.
pub fn random_password() -> Zeroizing<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = Zeroizing::new([0u8; 20]);
    // The system RNG failing means the kernel cannot give entropy; nothing secure can run.
    SystemRandom::new().fill(bytes.as_mut()).expect("the system random number generator failed");
    Zeroizing::new(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

/// Writes a file only its owner can read (`0600`), replacing any earlier one.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let io = |source| PkiError::Io { path: path.display().to_string(), source };
    // Remove first: an existing file would keep its old, possibly wider, mode.
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    file.write_all(contents).map_err(io)
}

/// Creates a directory (and its parents) that only its owner can enter (`0700`).
pub fn create_private_dir(path: &Path) -> Result<(), PkiError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| PkiError::Io { path: path.display().to_string(), source })
}

/// Writes a public file (certificates, CRLs).
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    fs::write(path, contents).map_err(|source| PkiError::Io { path: path.display().to_string(), source })
}

fn name(organization: &str, common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A random positive 128-bit serial (RFC 5280 asks for unpredictable serials of at most 20 bytes).
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    // The system RNG failing means the kernel cannot give entropy; nothing secure can run.
    SystemRandom::new().fill(&mut bytes).expect("the system random number generator failed");
    // Clear the sign bit and set the next one, so the DER integer is positive and 16 bytes long.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}
