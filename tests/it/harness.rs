//! Starts the real `takedown` binary on port 0 with a freshly generated PKI, and gives tests
//! mTLS clients for each test identity.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use takedown::pki::{self, Authority, Issued, StaffSubject, Validity};
use time::OffsetDateTime;

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_takedown");

/// Roster entries: login, name, roles.
const ROSTERED: &[(&str, &str, &[&str])] = &[
    ("dmca-agent", "Dana Mercer", &["dmca"]),
    ("cp-agent", "Chris Okafor", &["child-protection"]),
    ("approver", "Alex Rivera", &["approver"]),
    ("cp-lead", "Casey Lindgren", &["child-protection", "approver"]),
    ("auditor", "Ada Lindqvist", &["auditor"]),
    ("exporter", "Eli Novak", &["exporter"]),
    ("revoked", "Robin Vale", &["dmca"]),
    ("expired", "Evan Old", &["dmca"]),
];

/// A scratch directory removed when dropped.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("takedown-it-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        Self(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PKI for one test: the staff CA, everyone's certificates, and a foreign CA's certificate.
pub struct TestPki {
    pub authority: Authority,
    pub people: BTreeMap<&'static str, Issued>,
    revoked: Vec<Vec<u8>>,
    crl_number: u64,
}

impl TestPki {
    pub fn new() -> Self {
        let authority = Authority::create("Takedown test staff CA", Validity::days_from_now(30)).unwrap();
        let mut people = BTreeMap::new();
        for (login, name, _) in ROSTERED.iter().chain(&[("outsider", "Olive Stranger", &[][..])]) {
            let email = format!("{login}@test.invalid");
            let subject = StaffSubject { login, display_name: name, email: &email };
            let validity = if *login == "expired" {
                let now = OffsetDateTime::now_utc();
                Validity {
                    not_before: now - time::Duration::days(10),
                    not_after: now - time::Duration::days(1),
                }
            } else {
                Validity::days_from_now(30)
            };
            people.insert(*login, authority.issue_staff(subject, validity).unwrap());
        }
        let foreign_ca = Authority::create("Someone else's CA", Validity::days_from_now(30)).unwrap();
        let foreign = foreign_ca
            .issue_staff(
                StaffSubject { login: "foreign", display_name: "F", email: "f@x.invalid" },
                Validity::days_from_now(30),
            )
            .unwrap();
        people.insert("foreign", foreign);
        let revoked = vec![people["revoked"].serial.clone()];
        Self { authority, people, revoked, crl_number: 1 }
    }

    /// Writes CA, server certificate, CRL and roster into `dir`.
    pub fn write(&mut self, dir: &Path) {
        self.write_server_certificate(dir);
        pki::write_public(&dir.join("ca.crt"), self.authority.certificate_pem().as_bytes()).unwrap();
        self.write_crl(dir);
        std::fs::write(dir.join("roster.toml"), self.roster(&[])).unwrap();
        write_store_keys(dir);
    }

    /// Issues a new server certificate and key into `dir`; returns the certificate (DER).
    pub fn write_server_certificate(&self, dir: &Path) -> Vec<u8> {
        let server =
            self.authority.issue_server(&["localhost", "127.0.0.1"], Validity::days_from_now(30)).unwrap();
        pki::write_public(&dir.join("server.crt"), server.certificate_pem.as_bytes()).unwrap();
        pki::write_private(&dir.join("server.key"), server.key_pem.as_bytes()).unwrap();
        server.certificate_der
    }

    /// Re-signs the CRL (with any newly revoked serials), current for a day.
    pub fn write_crl(&mut self, dir: &Path) {
        self.write_crl_until(dir, OffsetDateTime::now_utc() + time::Duration::days(1));
    }

    /// Re-signs the CRL with `next_update` as its `nextUpdate` (in the past: a stale CRL, as a
    /// CA that stopped publishing leaves behind).
    pub fn write_crl_until(&mut self, dir: &Path, next_update: OffsetDateTime) {
        let now = OffsetDateTime::now_utc();
        let this_update = (now - time::Duration::minutes(1)).min(next_update - time::Duration::days(1));
        self.crl_number += 1;
        let crl = self
            .authority
            .revocation_list(
                &self
                    .revoked
                    .iter()
                    .map(|serial| pki::RevokedCertificate {
                        serial: serial.clone(),
                        revoked_at: now - time::Duration::minutes(1),
                        reason: Some(pki::RevokeReason::Superseded),
                    })
                    .collect::<Vec<_>>(),
                this_update,
                next_update,
                self.crl_number,
            )
            .unwrap();
        pki::write_public(&dir.join("staff.crl"), crl.as_bytes()).unwrap();
    }

    pub fn revoke(&mut self, login: &str) {
        self.revoked.push(self.people[login].serial.clone());
    }

    /// The roster text: everyone in `ROSTERED` plus `extra` (login, roles).
    pub fn roster(&self, extra: &[(&str, &[&str])]) -> String {
        let mut text = String::new();
        let extra_entries = extra.iter().map(|(login, roles)| (*login, "Extra Person", *roles));
        for (login, name, roles) in ROSTERED.iter().copied().chain(extra_entries) {
            let roles: Vec<String> = roles.iter().map(|r| format!("{r:?}")).collect();
            text.push_str(&format!(
                "[[staff]]\nlogin = {login:?}\nname = {name:?}\nemail = \"{login}@test.invalid\"\nroles = [{}]\n\
                 certificates = [\"{}\"]\n\n",
                roles.join(", "),
                self.people[login].fingerprint()
            ));
        }
        text
    }

    /// A client builder that trusts only the test CA and presents `login`'s certificate.
    pub fn client_builder(&self, login: &str) -> reqwest::ClientBuilder {
        let person = &self.people[login];
        let identity = format!("{}{}", person.certificate_pem, person.key_pem.as_str());
        reqwest::Client::builder()
            .tls_certs_only([
                reqwest::Certificate::from_pem(self.authority.certificate_pem().as_bytes()).unwrap()
            ])
            .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
            .timeout(Duration::from_secs(20))
    }

    pub fn client(&self, login: &str) -> reqwest::Client {
        self.client_builder(login).build().unwrap()
    }

    pub fn anonymous_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([
                reqwest::Certificate::from_pem(self.authority.certificate_pem().as_bytes()).unwrap()
            ])
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }
}

/// A raw TLS client's settings: trusts only the test CA, presents `login`'s certificate (none for
/// `None`), offers only `versions` and asks for the ALPN protocol `alpn`.
pub fn tls_client_config(
    pki: &TestPki,
    login: Option<&str>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[u8],
) -> rustls::ClientConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(pki.authority.certificate_pem().as_bytes()).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(takedown::tls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match login {
        Some(login) => {
            let person = &pki.people[login];
            builder
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(person.certificate_pem.as_bytes()).unwrap()],
                    PrivateKeyDer::from_pem_slice(person.key_pem.as_bytes()).unwrap(),
                )
                .unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    config
}

/// A TLS connection to `address` with `config`; the error is the handshake's, as the client saw
/// it. (With TLS 1.3 the server judges the client's certificate after the client has finished:
/// a refusal then arrives as an alert on the first read.)
pub async fn tls_connect(
    address: SocketAddr,
    config: rustls::ClientConfig,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await?;
    connector.connect(rustls_pki_types::ServerName::try_from("localhost").unwrap(), tcp).await
}

/// The TLS error of an `io::Error` from a TLS stream, if that is what it is.
pub fn tls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// Sends a request on a raw connection with `config` and returns the TLS error that refuses it,
/// from the handshake or from the first read after it; fails the test if the request is
/// answered or the connection is closed without one.
pub async fn tls_refusal(address: SocketAddr, config: rustls::ClientConfig) -> rustls::Error {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut tls = match tls_connect(address, config).await {
        Ok(tls) => tls,
        Err(err) => return tls_error(&err).unwrap_or_else(|| panic!("not a TLS error: {err}")).clone(),
    };
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
        let mut buffer = Vec::new();
        tls.read_to_end(&mut buffer).await.map(|_| buffer)
    })
    .await
    .expect("the server neither answered nor refused within 20 s");
    match outcome {
        Ok(answer) => panic!("not refused; the server answered {:?}", String::from_utf8_lossy(&answer)),
        Err(err) => tls_error(&err).unwrap_or_else(|| panic!("not a TLS error: {err}")).clone(),
    }
}

/// Writes a store identity (`keys/store-identity`) and index key (`keys/index-key`) into `dir`.
pub fn write_store_keys(dir: &Path) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let identity = takedown::store::crypt::AgeIdentity::generate();
    pki::write_private(&dir.join("keys/store-identity"), identity.to_file_text().as_bytes()).unwrap();
    let index = takedown::store::index::IndexKey::generate_file_text();
    pki::write_private(&dir.join("keys/index-key"), index.as_bytes()).unwrap();
}

/// The legal recipient in [`config_text`]: a public key whose identity no test holds; a test that
/// opens a download replaces it with its own.
pub const LEGAL_RECIPIENT: &str = "age1pc4nlnayu84g9gfstk9cw6ghjxj9dqqy9gt4xhvaxxzs2tmf5gnq9fwtwv";

/// The config the harness writes; tests may replace parts of it.
pub fn config_text() -> String {
    "[server]\nlisten = \"127.0.0.1:0\"\nheader_read_timeout_seconds = 1\n\n\
     [tls]\ncertificate = \"server.crt\"\nprivate_key = { file = \"server.key\" }\nstaff_ca = \"ca.crt\"\n\
     crls = [\"staff.crl\"]\n\n\
     [staff]\nroster = \"roster.toml\"\naccess_contact = \"the test administrators\"\n\n\
     [store]\ndata_dir = \"data\"\nidentity = { file = \"keys/store-identity\" }\n\
     index_key = { file = \"keys/index-key\" }\nescrow_recipients = []\n\n\
     [export]\nlegal_recipients = [\"LEGAL\"]\n\n\
     [egress]\ncontact = \"takedown-tests@example.org\"\n"
        .replace("LEGAL", LEGAL_RECIPIENT)
}

/// A running daemon.
pub struct Daemon {
    pub pki: TestPki,
    pub address: SocketAddr,
    child: Child,
    logs: Arc<Mutex<String>>,
    pub dir: ScratchDir,
}

impl Daemon {
    /// Generates a PKI, writes the config and starts `takedown serve`.
    pub fn start() -> Self {
        Self::start_with(|config| config)
    }

    /// Like [`Daemon::start`], with the config text passed through `edit` first.
    pub fn start_with(edit: impl FnOnce(String) -> String) -> Self {
        let (dir, pki) = Self::prepare(edit);
        let (child, address, logs) = spawn_until_ready(&["serve", "--config"], &dir.0.join("takedown.toml"));
        Self { pki, address, child, logs, dir }
    }

    /// Starts `takedown serve` in `dir`, whose `takedown.toml` and PKI files are written.
    pub fn start_in(dir: ScratchDir, pki: TestPki) -> Self {
        let (child, address, logs) = spawn_until_ready(&["serve", "--config"], &dir.0.join("takedown.toml"));
        Self { pki, address, child, logs, dir }
    }

    /// Like [`Daemon::start_with`], as the unprivileged user `uid` (the files are given to it).
    pub fn start_as(uid: u32, edit: impl FnOnce(String) -> String) -> Self {
        let (dir, pki) = Self::prepare(edit);
        give_to(&dir.0, uid);
        let mut command = Command::new(BINARY);
        command.args(["serve", "--config"]).arg(dir.0.join("takedown.toml"));
        std::os::unix::process::CommandExt::uid(&mut command, uid);
        std::os::unix::process::CommandExt::gid(&mut command, uid);
        Self::start_command(dir, pki, command)
    }

    /// Runs `command` (`takedown serve` on `dir`'s config, perhaps under `setpriv` or
    /// `prlimit`) and waits for its `ready` line.
    pub fn start_command(dir: ScratchDir, pki: TestPki, command: Command) -> Self {
        let (child, lines, logs) = spawn(command);
        let ready = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("daemon did not print ready; its log:\n{}", logs.lock().unwrap()));
        Self { pki, address: parse_ready(&ready), child, logs, dir }
    }

    /// A scratch directory with a fresh PKI and the config passed through `edit`.
    pub fn prepare(edit: impl FnOnce(String) -> String) -> (ScratchDir, TestPki) {
        let dir = ScratchDir::new("daemon");
        let mut pki = TestPki::new();
        pki.write(&dir.0);
        std::fs::write(dir.0.join("takedown.toml"), edit(config_text())).unwrap();
        (dir, pki)
    }

    /// Stops the daemon at once (SIGKILL, as a crash would; unless it has stopped already) and
    /// starts it again on the same directory and config.
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    pub fn kill_and_restart(&mut self) {
        if self.child.try_wait().unwrap().is_none() {
            self.signal("KILL");
            assert!(self.wait_exit(Duration::from_secs(10)).is_some(), "the daemon survived SIGKILL");
        }
        let (child, address, logs) =
            spawn_until_ready(&["serve", "--config"], &self.dir.0.join("takedown.toml"));
        (self.child, self.address, self.logs) = (child, address, logs);
    }

    /// The daemon's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.address)
    }

    pub fn client(&self, login: &str) -> reqwest::Client {
        self.pki.client(login)
    }

    /// Everything the daemon has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (logging is asynchronous to the client's view) and
    /// returns the whole log. Fails the test, showing the log's tail, if `needle` does not appear
    /// within 10 s: a caller never goes on as if the awaited event had happened.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            if Instant::now() > deadline {
                let tail: Vec<&str> = logs.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!("no {needle:?} in the daemon's log within 10 s; its last lines:\n{}", tail.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, name: &str) {
        let status =
            Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Revokes `login`'s certificate, publishes the new CRL and has the daemon reload it
    /// (SIGHUP), waiting until it says so.
    pub fn revoke_and_reload(&mut self, login: &str) {
        self.pki.revoke(login);
        let dir = self.dir.0.clone();
        self.pki.write_crl(&dir);
        self.signal("HUP");
        self.wait_for_log("SIGHUP: reloaded");
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many sockets process `pid` holds once the count has stopped changing: the same over ten
/// samples 50 ms apart. A baseline taken this way does not count connections that are still
/// closing (the start-up status checks' own, say), as one taken after a fixed sleep might on a
/// loaded machine. Fails the test if the count does not settle within 15 s.
#[cfg(feature = "demo")]
pub async fn settled_socket_count(pid: u32) -> usize {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut count = crate::sentinel::socket_count(pid);
    let mut unchanged = 0;
    while unchanged < 10 {
        assert!(Instant::now() < deadline, "the daemon's socket count did not settle (last {count})");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = crate::sentinel::socket_count(pid);
        unchanged = if now == count { unchanged + 1 } else { 0 };
        count = now;
    }
    count
}

/// Every audit entry of `daemon`'s store, read with its store identity (while it runs).
pub fn audit_log(daemon: &Daemon) -> Vec<takedown::audit::AuditEntry> {
    let identity = takedown::store::crypt::AgeIdentity::parse(
        &std::fs::read(daemon.dir.0.join("keys/store-identity")).unwrap(),
    )
    .unwrap();
    takedown::store::read_audit(&daemon.dir.0.join("data"), &identity, None)
        .unwrap()
        .into_iter()
        .map(|(_, _, entry)| entry)
        .collect()
}

/// The CSRF token of the first form on `page` (the hidden `csrf_token` field).
pub fn csrf_token(page: &str) -> String {
    let at = page.find("name=\"csrf_token\" value=\"").expect("a CSRF field") + 25;
    page[at..].split('"').next().unwrap().to_owned()
}

/// The user `nobody` (and its group number): an unprivileged account for the tests that need
/// a daemon without root's capabilities.
pub const NOBODY: u32 = 65534;

/// Gives `path` and everything under it to `uid`.
pub fn give_to(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_to(&entry.unwrap().path(), uid);
        }
    }
}

/// Spawns the binary with `args` followed by `config`, and waits for its `ready` line.
pub fn spawn_until_ready(args: &[&str], config: &Path) -> (Child, SocketAddr, Arc<Mutex<String>>) {
    let mut command = Command::new(BINARY);
    command.args(args).arg(config);
    let (child, stdout_lines, logs) = spawn(command);
    let ready = stdout_lines
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("daemon did not print ready; its log:\n{}", logs.lock().unwrap()));
    (child, parse_ready(&ready), logs)
}

/// Spawns `command`, collecting stderr and handing stdout lines to a channel.
pub fn spawn(mut command: Command) -> (Child, mpsc::Receiver<String>, Arc<Mutex<String>>) {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).env("RUST_LOG", "info");
    let mut child = command.spawn().unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    (child, lines, logs)
}

pub fn parse_ready(line: &str) -> SocketAddr {
    let url = line.strip_prefix("ready https://").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    url.trim_end_matches('/').parse().unwrap()
}

/// Plays the staff member's browser at the simulated meta wiki's consent page, which approves
/// at once: returns where it sends the browser back to (the appliance's callback, with the
/// code and state).
#[cfg(feature = "demo")]
pub async fn consent_at_meta(
    peers: &takedown::demo::services::SimulatedServices,
    authorize: &str,
) -> url::Url {
    let port = peers.peers.address(takedown_peers::PeerService::Wiki).port();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&peers.ca_path).unwrap()).unwrap();
    let browser = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve("meta.wiki.test", SocketAddr::from(([127, 0, 0, 1], port)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(authorize).send().await.unwrap();
    assert_eq!(response.status(), 302, "{response:?}");
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

/// Connects `login`'s wiki account: the appliance sends the browser to the simulated meta wiki,
/// which approves at once and sends it back to the appliance's callback.
#[cfg(feature = "demo")]
pub async fn connect_wiki(daemon: &Daemon, peers: &takedown::demo::services::SimulatedServices, login: &str) {
    let home = daemon.client(login).get(daemon.url("/")).send().await.unwrap().text().await.unwrap();
    let no_redirects =
        daemon.pki.client_builder(login).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects
        .post(daemon.url("/wiki/connect"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("csrf_token={}", csrf_token(&home)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let authorize = response.headers()["location"].to_str().unwrap().to_owned();
    let back = consent_at_meta(peers, &authorize).await;
    let callback = daemon.url(&format!("/wiki/callback?{}", back.query().unwrap()));
    let response = daemon.client(login).get(callback).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Posts a `multipart/form-data` `body` (boundary [`crate::media::BOUNDARY`]) as a same-site
/// form of `login`'s browser would.
#[cfg(feature = "demo")]
pub async fn post_multipart(daemon: &Daemon, login: &str, path: &str, body: Vec<u8>) -> reqwest::Response {
    daemon
        .client(login)
        .post(daemon.url(path))
        .header("content-type", format!("multipart/form-data; boundary={}", crate::media::BOUNDARY))
        .header("sec-fetch-site", "same-origin")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Opens the running daemon's store beside it (the store is multi-process).
pub fn store_of(daemon: &Daemon) -> takedown::store::Store {
    store_in(&daemon.dir.0)
}

/// Opens the store of the daemon directory `dir` (its `data` and `keys`).
pub fn store_in(dir: &Path) -> takedown::store::Store {
    let keys = dir.join("keys");
    let identity =
        takedown::store::crypt::AgeIdentity::parse(&std::fs::read(keys.join("store-identity")).unwrap())
            .unwrap();
    let index =
        takedown::store::index::IndexKey::parse(&std::fs::read(keys.join("index-key")).unwrap()).unwrap();
    takedown::store::Store::open(
        &dir.join("data"),
        takedown::store::StoreKeys::new(identity, &[], index),
        1000,
    )
    .unwrap()
}

/// A case of `kind` holding `secret` as its notice, created with its audit entry.
pub fn create_case(
    store: &takedown::store::Store,
    kind: takedown::cases::CaseKind,
    secret: &str,
) -> takedown::cases::CaseId {
    store
        .commit(|batch| {
            let case = batch.create_case(kind, "test", serde_json::json!({ "notice": secret }))?;
            batch.audit(&takedown::audit::AuditEntry::now(
                takedown::audit::Actor::System,
                takedown::audit::Action::CreateCase,
                Some(case),
                takedown::audit::Outcome::Done,
                "test",
            ))?;
            Ok(case)
        })
        .unwrap()
}

/// The rostered people whose certificates connect (all but `revoked` and `expired`), each with
/// the names of their roles.
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub fn connecting_staff() -> Vec<(&'static str, &'static [&'static str])> {
    ROSTERED
        .iter()
        .filter(|(login, _, _)| !matches!(*login, "revoked" | "expired"))
        .map(|(login, _, roles)| (*login, *roles))
        .collect()
}

/// Waits for the first audit entry of `daemon` that `matches` (an entry written after the
/// client has already seen its answer, such as a refused handshake's), and fails the test if
/// none comes within 10 s.
pub fn wait_for_audit(
    daemon: &Daemon,
    matches: impl Fn(&takedown::audit::AuditEntry) -> bool,
) -> takedown::audit::AuditEntry {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = audit_log(daemon);
        if let Some(entry) = log.iter().find(|entry| matches(entry)) {
            return entry.clone();
        }
        assert!(Instant::now() < deadline, "no such audit entry within 10 s; the log: {log:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Salesforce never receives an image or a document (SECURITY.md section 2: the Case gets
/// hashes, IDs and metadata only). Proved on what the simulated Salesforce recorded: no file
/// record (`ContentVersion`), no request to any endpoint but the token and the Case's upsert
/// and lookup, and none of `files` in anything it kept — raw, or base64 as an upload carries it.
#[cfg(feature = "demo")]
pub fn assert_salesforce_got_no_file(peers: &takedown::demo::services::SimulatedServices, files: &[&[u8]]) {
    use base64::Engine as _;
    use takedown_peers::PeerService;
    let snapshot = peers.peers.snapshot(PeerService::Salesforce);
    assert_eq!(snapshot["content_versions"], serde_json::json!([]), "a file reached Salesforce: {snapshot}");
    let journal = peers.peers.journal(PeerService::Salesforce);
    for entry in &journal {
        let endpoint = entry["endpoint"].as_str().unwrap_or_default();
        assert!(
            matches!(endpoint, "token" | "case-upsert" | "case-lookup"),
            "Salesforce got a request the workflows never make: {entry}"
        );
    }
    let recorded = format!("{snapshot}{}", serde_json::Value::Array(journal));
    for file in files {
        let start = &file[..file.len().min(48)];
        let encoded = base64::engine::general_purpose::STANDARD.encode(start);
        let raw = String::from_utf8_lossy(start);
        assert!(
            !recorded.contains(&encoded) && !recorded.contains(raw.as_ref()),
            "a file's bytes reached Salesforce: {recorded}"
        );
    }
}

/// The daemon configured to reach the simulated services (started in `dir`), its config ending
/// with `extra` and its roster holding `roster_extra` besides the test staff.
#[cfg(feature = "demo")]
pub fn start_with_simulated_services(
    tag: &str,
    extra: &str,
    roster_extra: &[(&str, &[&str])],
) -> (takedown::demo::services::SimulatedServices, Daemon) {
    let dir = ScratchDir::new(tag);
    let peers = takedown::demo::services::SimulatedServices::start(&dir.0).unwrap();
    let mut pki = TestPki::new();
    pki.write(&dir.0);
    std::fs::write(dir.0.join("roster.toml"), pki.roster(roster_extra)).unwrap();
    let config = config_text().replace(
        "[egress]\ncontact = \"takedown-tests@example.org\"\n",
        &format!(
            "{}\n{}",
            peers.egress_section("takedown-tests@example.org"),
            peers.service_sections("https://takedown.test")
        ),
    );
    std::fs::write(dir.0.join("takedown.toml"), config + extra).unwrap();
    let daemon = Daemon::start_in(dir, pki);
    (peers, daemon)
}
