//! Simulated peers for Takedown's demo and tests: a Lumen, an NCMEC CyberTipline reporting
//! API, a Salesforce org and a MediaWiki (with Wikimedia's OAuth 2 endpoints), each on its own
//! loopback port with TLS, following the published protocols.
//!
//! Each peer keeps its state in memory, appends one JSON line per request it received to
//! `DIR/peers/<service>.jsonl` (for uploads only the size and SHA-256, never the bytes), and
//! obeys fault switches per endpoint ([`Fault`]): a status, a delay, a malformed or truncated
//! body, a dropped connection, from the Nth call on.
//!
//! This crate is linked only into the demo build and the tests; `.ci/run` checks that the
//! production binary contains none of it.

mod control;
mod fault;
mod journal;
mod lumen;
mod ncmec;
mod proxy;
mod request;
mod salesforce;
mod server;
mod wiki;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

pub use fault::Fault;
pub use proxy::TlsFront;
pub use request::{FormPart, PeerRequest, PeerResponse};

/// The four simulated services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerService {
    /// The Lumen Database.
    Lumen,
    /// NCMEC's CyberTipline reporting API.
    Ncmec,
    /// Salesforce (token endpoint and REST API on one host).
    Salesforce,
    /// MediaWiki Action API plus the OAuth 2 endpoints of Extension:OAuth.
    Wiki,
}

impl PeerService {
    /// Every service.
    pub const ALL: [PeerService; 4] =
        [PeerService::Lumen, PeerService::Ncmec, PeerService::Salesforce, PeerService::Wiki];

    /// Its name, as in the journal's file name.
    pub fn name(self) -> &'static str {
        match self {
            PeerService::Lumen => "lumen",
            PeerService::Ncmec => "ncmec",
            PeerService::Salesforce => "salesforce",
            PeerService::Wiki => "wiki",
        }
    }
}

/// The made-up credentials the peers accept. The demo and the tests configure Takedown with
/// the same values. No `Debug`: it holds passwords (made-up ones, but printed nonetheless).
#[derive(Clone)]
pub struct Credentials {
    /// Lumen tokens whose user holds the submitter role.
    pub lumen_submitter_tokens: Vec<String>,
    /// Lumen tokens of users without the submitter role (answered 401).
    pub lumen_other_tokens: Vec<String>,
    /// NCMEC Basic-auth user name and password.
    pub ncmec_user: (String, String),
    /// Salesforce connected app's consumer key, the integration user's name, and the DER
    /// SubjectPublicKeyInfo of the RSA key the JWT assertions are signed with.
    pub salesforce_client_id: String,
    /// The Salesforce user the JWT names in `sub`.
    pub salesforce_username: String,
    /// DER SubjectPublicKeyInfo (or PKCS#1 RSAPublicKey) of the JWT signing key.
    pub salesforce_public_key_der: Vec<u8>,
    /// The wiki's OAuth 2 client (id, secret) registered for Takedown.
    pub wiki_oauth_client: (String, String),
    /// Bot passwords: (`User@Bot`, password).
    pub wiki_bot_passwords: Vec<(String, String)>,
    /// Wiki accounts that exist (the first is the staff member the OAuth page approves).
    pub wiki_users: Vec<String>,
}

/// What the peers need to start. No `Debug`: it holds a private key.
#[derive(Clone)]
pub struct Options {
    /// The journal directory's parent: journals go to `dir/peers/<service>.jsonl`.
    pub dir: PathBuf,
    /// The server certificate chain (PEM, leaf first) every peer presents.
    pub certificate_pem: String,
    /// Its private key (PEM).
    pub key_pem: String,
    /// The credentials accepted.
    pub credentials: Credentials,
    /// The host name (with no port) the Salesforce token endpoint gives as `instance_url`.
    pub salesforce_instance_host: String,
    /// NCMEC deletes an unfinished report this long after it was opened ...
    pub ncmec_open_for: Duration,
    /// ... or this long after its last change, whichever is later.
    pub ncmec_idle_for: Duration,
    /// Whether the peers take fault switches and user groups over HTTP ([`control`]): for
    /// the demo, driven from outside its process. In-process tests call [`Peers`] instead.
    pub control: bool,
}

/// The running peers. Dropping it stops them.
pub struct Peers {
    addresses: HashMap<PeerService, SocketAddr>,
    shared: Arc<server::Shared>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Peers {
    /// Starts the four peers on `127.0.0.1`, each on a free port, on a runtime of their own.
    pub fn start(options: Options) -> std::io::Result<Peers> {
        let journal = journal::Journal::open(&options.dir.join("peers"))?;
        let shared = Arc::new(server::Shared::new(&options, journal)?);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let runtime_shared = shared.clone();
        let thread = std::thread::Builder::new().name("peers".into()).spawn(move || {
            let runtime =
                match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
            runtime.block_on(server::run(runtime_shared, stopped, ready_tx));
        })?;
        let addresses = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the peers' thread ended before binding"))??;
        Ok(Peers { addresses, shared, stop: Some(stop), thread: Some(thread) })
    }

    /// Where a service listens.
    pub fn address(&self, service: PeerService) -> SocketAddr {
        self.addresses[&service]
    }

    /// Sets the fault of one endpoint (see each peer's module for its endpoint names, e.g.
    /// `notices`, `submit`, `upload`, `token`, `action=edit`), replacing any earlier one.
    pub fn set_fault(&self, service: PeerService, endpoint: &str, fault: Fault) {
        self.shared.faults.set(service, endpoint, fault);
    }

    /// What a service has journalled so far, one JSON value per request.
    pub fn journal(&self, service: PeerService) -> Vec<serde_json::Value> {
        self.shared.journal.read(service)
    }

    /// Replaces a wiki user's groups (`*` and `user` stay implied): a test makes the staff
    /// member an account without `skipcaptcha`, for instance. Returns whether the service has
    /// users.
    pub fn set_user_groups(&self, service: PeerService, user: &str, groups: &[&str]) -> bool {
        self.shared.peer(service).set_user_groups(user, groups)
    }

    /// Adds a file to a service that holds files (the wiki): uploaded now by `uploader`, with
    /// the size and SHA-1 of `content`. Returns whether the service holds files.
    pub fn add_file(&self, service: PeerService, name: &str, uploader: &str, content: &[u8]) -> bool {
        self.shared.peer(service).add_file(name, uploader, content)
    }

    /// Ends the life of every OAuth 2 access token a service has issued, as an hour passing
    /// would: a call with one is refused as unauthorized, and its refresh token still gets a new
    /// one. Returns whether the service issues tokens (the wiki).
    pub fn expire_access_tokens(&self, service: PeerService) -> bool {
        self.shared.peer(service).expire_access_tokens()
    }

    /// Sets how long the OAuth 2 access tokens a service issues from now on live (`expires_in`,
    /// in whole seconds; an hour by default). Returns whether the service issues tokens (the
    /// wiki).
    pub fn set_token_lifetime(&self, service: PeerService, lifetime: std::time::Duration) -> bool {
        self.shared.peer(service).set_token_lifetime(lifetime.as_secs())
    }

    /// Revokes every OAuth 2 grant a service has issued, as a user withdrawing the consumer's
    /// access on the wiki would: access and refresh tokens alike are refused from now on.
    /// Returns whether the service issues tokens (the wiki).
    pub fn revoke_oauth_grants(&self, service: PeerService) -> bool {
        self.shared.peer(service).revoke_oauth_grants()
    }

    /// A snapshot of a service's state (notices, reports, cases, pages ...) as JSON.
    pub fn snapshot(&self, service: PeerService) -> serde_json::Value {
        self.shared.peer(service).snapshot()
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Locks a mutex, carrying on after a panic elsewhere (a peer's state stays usable in tests).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
