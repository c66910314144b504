//! The TLS side of staff access: the server certificate, and client-certificate verification
//! against the staff CA and its revocation lists.
//!
//! Only TLS 1.3 is offered and a client certificate is required: a browser without a valid,
//! unrevoked staff certificate never gets as far as HTTP. A stale CRL is refused rather than
//! trusted (`enforce_revocation_expiration`), so a CA that stops publishing fails closed.
//! A certificate refused as revoked is handed back with the handshake's failure
//! ([`noting_revoked`]), so that the server audits the refusal under its holder.

use std::cell::RefCell;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use tokio_rustls::TlsAcceptor;

use crate::config::{Problem, TlsSettings};

/// The crypto provider every TLS object in the process uses (aws-lc-rs: FIPS-capable and the
/// only one of rustls's providers with a post-quantum key exchange).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The files named in `[tls]`, parsed.
pub struct TlsMaterial {
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
    staff_roots: RootCertStore,
    crls: Vec<CertificateRevocationListDer<'static>>,
}

impl TlsMaterial {
    /// Reads every file in `[tls]`, recording each problem under its field.
    pub fn load(
        settings: &TlsSettings,
        credentials_dir: Option<&Path>,
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
        let server_chain = certificates("tls.certificate", &settings.certificate, problems);
        let server_key = settings
            .private_key
            .read(credentials_dir)
            .and_then(|pem| {
                PrivateKeyDer::from_pem_slice(&pem)
                    .map_err(|err| format!("not a PEM private key (PKCS#8, PKCS#1 or SEC1): {err}"))
            })
            .map_err(|message| problems.push(Problem::new("tls.private_key", message)))
            .ok();
        let staff_ca = certificates("tls.staff_ca", &settings.staff_ca, problems);
        let staff_roots = staff_ca.clone().and_then(|certs| {
            let mut roots = RootCertStore::empty();
            for cert in certs {
                if let Err(err) = roots.add(cert) {
                    problems
                        .push(Problem::new("tls.staff_ca", format!("not a usable CA certificate: {err}")));
                    return None;
                }
            }
            Some(roots)
        });
        let mut crls = Vec::new();
        for (i, path) in settings.crls.iter().enumerate() {
            let signed = |crl: CertificateRevocationListDer<'static>| match &staff_ca {
                Some(staff_ca) => signed_by_staff_ca(path, &crl, staff_ca).map(|()| crl),
                None => Ok(crl), // the staff CA's own problem is reported
            };
            match read_crl(path).and_then(signed) {
                Ok(crl) => crls.push(crl),
                Err(message) => problems.push(Problem::new(format!("tls.crls[{i}]"), message)),
            }
        }
        Some(Self { server_chain: server_chain?, server_key: server_key?, staff_roots: staff_roots?, crls })
    }
}

/// A TLS acceptor and the verifier it uses, built together so that each request can re-check
/// its certificate against the same (possibly reloaded) CA and CRLs.
#[derive(Clone)]
pub struct ServerTls {
    /// Performs handshakes with the staff certificate requirement.
    pub acceptor: TlsAcceptor,
    /// Verifies a staff certificate chain against the staff CA and CRLs.
    pub verifier: Arc<dyn ClientCertVerifier>,
    /// The earliest `nextUpdate` of the CRLs: the verifier refuses every chain from then on.
    crls_until: Option<SystemTime>,
}

/// A connection's last successful check of its client chain ([`ServerTls::reverify_cached`]):
/// by which verifier, when, and until when its answer holds.
#[derive(Default)]
pub struct VerifiedChain(Mutex<Option<Verification>>);

struct Verification {
    by: Weak<dyn ClientCertVerifier>,
    at: SystemTime,
    until: SystemTime,
}

impl ServerTls {
    /// Builds the server configuration. Problems are reported under the field most likely at
    /// fault.
    pub fn build(material: TlsMaterial) -> Result<Self, Problem> {
        let provider = provider();
        let crls_until = material.crls.iter().filter_map(|crl| next_update(crl)).min();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(material.staff_roots), provider.clone())
                .with_crls(material.crls)
                .enforce_revocation_expiration()
                .build()
                .map_err(|err| {
                    Problem::new("tls.crls", format!("cannot use the CRLs with the staff CA: {err}"))
                })?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|err| Problem::new("tls", format!("TLS 1.3 unavailable: {err}")))?
            .with_client_cert_verifier(Arc::new(NotingRevoked(verifier.clone())))
            .with_single_cert(material.server_chain, material.server_key)
            .map_err(|err| {
                Problem::new(
                    "tls.private_key",
                    format!("does not fit tls.certificate or is unsupported: {err}"),
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), verifier, crls_until })
    }

    /// Checks a client chain again (for example after a CRL reload revoked it mid-connection).
    pub fn reverify(&self, chain: &[CertificateDer<'static>]) -> Result<(), rustls::Error> {
        let (end_entity, intermediates) =
            chain.split_first().ok_or(rustls::Error::NoCertificatesPresented)?;
        self.verifier.verify_client_cert(end_entity, intermediates, UnixTime::now()).map(|_| ())
    }

    /// [`ServerTls::reverify`] for a request on a connection whose chain `verified` remembers:
    /// the signatures are checked again only when the answer could have changed — another
    /// verifier (a reload of the CA or CRLs), a clock gone back, or the time reached at which a
    /// certificate of the chain expires or a CRL goes stale. Checking them on every request
    /// (an ECDSA verification each) was the largest CPU cost of a page view.
    pub fn reverify_cached(
        &self,
        chain: &[CertificateDer<'static>],
        verified: &VerifiedChain,
    ) -> Result<(), rustls::Error> {
        let now = SystemTime::now();
        let mut last = verified.0.lock().unwrap_or_else(PoisonError::into_inner);
        let holds = last.as_ref().is_some_and(|last| {
            last.by.ptr_eq(&Arc::downgrade(&self.verifier)) && last.at <= now && now < last.until
        });
        if holds {
            return Ok(());
        }
        *last = None;
        self.reverify(chain)?;
        // A chain with a certificate whose end cannot be read is checked on every request.
        let ends: Option<Vec<SystemTime>> = chain.iter().map(not_after).collect();
        let until = ends.and_then(|ends| ends.into_iter().chain(self.crls_until).min());
        *last = until.map(|until| Verification { by: Arc::downgrade(&self.verifier), at: now, until });
        Ok(())
    }
}

/// When `certificate` stops being valid (`None` if it cannot be read).
fn not_after(certificate: &CertificateDer<'_>) -> Option<SystemTime> {
    use x509_parser::prelude::FromDer;
    let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(certificate).ok()?;
    unix_time(parsed.validity().not_after.timestamp())
}

/// When `crl` goes stale (`None` if it names no next update or cannot be read).
fn next_update(crl: &CertificateRevocationListDer<'_>) -> Option<SystemTime> {
    use x509_parser::prelude::FromDer;
    let (_, parsed) = x509_parser::revocation_list::CertificateRevocationList::from_der(crl).ok()?;
    unix_time(parsed.next_update()?.timestamp())
}

fn unix_time(seconds: i64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(seconds).ok()?))
}

tokio::task_local! {
    /// The leaf certificate the handshake running in this task refused as revoked.
    static REVOKED: RefCell<Option<CertificateDer<'static>>>;
}

/// Runs `handshake` (a TLS accept) and returns its outcome with the client's leaf certificate
/// if the verifier refused it as revoked: a holder the staff CA knows, whose refusal is audited
/// like any other (a certificate the CA never issued is only logged, as anyone could send one).
pub async fn noting_revoked<F: Future>(handshake: F) -> (F::Output, Option<CertificateDer<'static>>) {
    REVOKED
        .scope(RefCell::new(None), async {
            let outcome = handshake.await;
            (outcome, REVOKED.with(|revoked| revoked.borrow_mut().take()))
        })
        .await
}

/// The staff verifier, noting for [`noting_revoked`] a leaf it refuses as revoked.
#[derive(Debug)]
struct NotingRevoked(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for NotingRevoked {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.0.verify_client_cert(end_entity, intermediates, now);
        if let Err(rustls::Error::InvalidCertificate(CertificateError::Revoked)) = &verified {
            // Outside a handshake (none calls this one elsewhere) there is nowhere to note it.
            let _ = REVOKED.try_with(|revoked| *revoked.borrow_mut() = Some(end_entity.clone().into_owned()));
        }
        verified
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.0.requires_raw_public_keys()
    }
}

fn certificates(
    field: &str,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Option<Vec<CertificateDer<'static>>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            problems.push(Problem::new(field, describe_read_error(path, &err)));
            return None;
        }
    };
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Some(certs),
        Ok(_) => {
            problems.push(Problem::new(field, format!("{} holds no PEM certificate", path.display())));
            None
        }
        Err(err) => {
            problems.push(Problem::new(field, format!("{} is not valid PEM: {err}", path.display())));
            None
        }
    }
}

fn read_crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, String> {
    let bytes = std::fs::read(path).map_err(|err| describe_read_error(path, &err))?;
    if bytes.starts_with(b"-----BEGIN") {
        CertificateRevocationListDer::from_pem_slice(&bytes)
            .map_err(|err| format!("{} is not a PEM X509 CRL: {err}", path.display()))
    } else {
        Ok(CertificateRevocationListDer::from(bytes))
    }
}

/// Checks that `crl` was issued and signed by one of the staff CA certificates. rustls would
/// accept a CRL from anyone and then, finding no CRL it can trust for a staff certificate,
/// refuse every handshake; refused here instead, a wrong file on SIGHUP leaves the previous CRLs
/// in force and names the file.
fn signed_by_staff_ca(
    path: &Path,
    crl: &CertificateRevocationListDer<'_>,
    staff_ca: &[CertificateDer<'static>],
) -> Result<(), String> {
    use x509_parser::prelude::FromDer;

    let (_, parsed) = x509_parser::revocation_list::CertificateRevocationList::from_der(crl)
        .map_err(|err| format!("{} is not an X.509 CRL: {err}", path.display()))?;
    let signed = staff_ca.iter().any(|ca| {
        x509_parser::certificate::X509Certificate::from_der(ca).is_ok_and(|(_, ca)| {
            ca.subject().as_raw() == parsed.issuer().as_raw()
                && parsed.verify_signature(ca.public_key()).is_ok()
        })
    });
    if signed {
        Ok(())
    } else {
        Err(format!(
            "{} is not signed by the staff CA (tls.staff_ca); it names {} as its issuer",
            path.display(),
            parsed.issuer()
        ))
    }
}

/// Describes a failed read the way an operator fixes it.
pub(crate) fn describe_read_error(path: &Path, err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => format!("file not found: {}", path.display()),
        std::io::ErrorKind::PermissionDenied => {
            format!("permission denied reading {}; the service user must be able to read it", path.display())
        }
        _ => format!("cannot read {}: {err}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Authority, RevokedCertificate, StaffSubject, Validity};
    use time::OffsetDateTime;

    fn server_tls(ca: &Authority, revoked: &[RevokedCertificate]) -> ServerTls {
        let now = OffsetDateTime::now_utc();
        let server = ca.issue_server(&["localhost"], Validity::days_from_now(1)).unwrap();
        let crl = ca.revocation_list(revoked, now, now + time::Duration::hours(1), 1).unwrap();
        let mut staff_roots = RootCertStore::empty();
        staff_roots.add(CertificateDer::from_pem_slice(ca.certificate_pem().as_bytes()).unwrap()).unwrap();
        ServerTls::build(TlsMaterial {
            server_chain: vec![CertificateDer::from(server.certificate_der)],
            server_key: PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap(),
            staff_roots,
            crls: vec![CertificateRevocationListDer::from_pem_slice(crl.as_bytes()).unwrap()],
        })
        .unwrap()
    }

    #[test]
    fn a_remembered_check_holds_only_for_its_verifier_and_until_the_chain_expires() {
        let ca = Authority::create("cache test CA", Validity::days_from_now(1)).unwrap();
        let now = OffsetDateTime::now_utc();
        let subject = StaffSubject { login: "dana", display_name: "Dana", email: "dana@example.org" };
        // Valid for two more seconds: the check remembered now must not outlive it.
        let validity = Validity {
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::seconds(2),
        };
        let staff = ca.issue_staff(subject, validity).unwrap();
        let chain = vec![CertificateDer::from(staff.certificate_der.clone())];
        let tls = server_tls(&ca, &[]);
        let verified = VerifiedChain::default();
        tls.reverify_cached(&chain, &verified).expect("a valid chain passes");
        tls.reverify_cached(&chain, &verified).expect("and passes again from the remembered check");

        // A reload that revokes it: the new verifier is asked, not the remembered answer.
        let revoked = RevokedCertificate { serial: staff.serial.clone(), revoked_at: now, reason: None };
        let reloaded = server_tls(&ca, &[revoked]);
        assert!(
            reloaded.reverify_cached(&chain, &verified).is_err(),
            "a revoked chain passed after a reload"
        );

        tls.reverify_cached(&chain, &verified).expect("the old verifier still accepts it");
        std::thread::sleep(Duration::from_millis(3100));
        assert!(
            tls.reverify_cached(&chain, &verified).is_err(),
            "an expired chain passed on a remembered check"
        );
    }
}
