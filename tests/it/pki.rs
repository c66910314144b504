//! `takedown pki` end to end: a CA made by the real binary, bundles opened with the password it
//! printed, a daemon that lets those people in, and a revocation that shuts one of them out.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;

use crate::harness::{BINARY, Daemon, ScratchDir};

const PASSPHRASE: &str = "correct horse battery staple";

/// A scratch directory with a passphrase file and a CA directory (not yet created) inside.
struct Workspace {
    scratch: ScratchDir,
    ca: PathBuf,
    passphrase: PathBuf,
}

impl Workspace {
    fn new() -> Self {
        let scratch = ScratchDir::new("pki");
        let passphrase = scratch.0.join("passphrase");
        std::fs::write(&passphrase, format!("{PASSPHRASE}\n")).unwrap();
        std::fs::set_permissions(&passphrase, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ca = scratch.0.join("ca");
        Self { scratch, ca, passphrase }
    }

    /// Runs `takedown pki <subcommand> --dir CA <args>`.
    fn pki(&self, subcommand: &str, args: &[&str]) -> Output {
        Command::new(BINARY).args(["pki", subcommand, "--dir"]).arg(&self.ca).args(args).output().unwrap()
    }

    /// Like [`Self::pki`] with `--passphrase-file` added.
    fn pki_with_passphrase(&self, subcommand: &str, args: &[&str]) -> Output {
        let passphrase = self.passphrase.to_str().unwrap();
        self.pki(subcommand, &[args, &["--passphrase-file", passphrase]].concat())
    }

    fn init(&self) {
        let output = self.pki_with_passphrase("init", &["--organization", "Example Foundation"]);
        succeeded(&output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("tls.staff_ca") && stdout.contains("tls.crls"), "{stdout}");
    }

    fn issue(&self, login: &str, name: &str) -> Bundle {
        let email = format!("{login}@example.org");
        let output =
            self.pki_with_passphrase("issue", &["--login", login, "--name", name, "--email", &email]);
        succeeded(&output);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let password = stdout
            .lines()
            .find_map(|line| line.strip_prefix(".p12 password (shown only now, stored nowhere): "))
            .unwrap_or_else(|| panic!("no password in {stdout}"))
            .to_owned();
        let roster_entry =
            stdout[stdout.find("[[staff]]").unwrap_or_else(|| panic!("{stdout}"))..].to_owned();
        Bundle { p12: self.ca.join(format!("staff/{login}.p12")), password, roster_entry }
    }

    fn list(&self) -> String {
        let output = self.pki("list", &[]);
        succeeded(&output);
        String::from_utf8(output.stdout).unwrap()
    }
}

/// What `issue` gave the administrator.
struct Bundle {
    p12: PathBuf,
    password: String,
    roster_entry: String,
}

impl Bundle {
    /// A client presenting the bundle's key and certificate, trusting `daemon`'s server CA.
    fn client(&self, daemon: &Daemon, ca_certificate: &Path) -> reqwest::Client {
        let bytes = std::fs::read(&self.p12).unwrap();
        let store = p12_keystore::KeyStore::from_pkcs12(
            &bytes,
            &self.password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        let certificates = chain.certs();
        assert_eq!(certificates.len(), 2, "the bundle carries the CA certificate for NSS/Chromium");
        let ca_der: rustls_pki_types::CertificateDer<'_> =
            rustls_pki_types::pem::PemObject::from_pem_file(ca_certificate).unwrap();
        assert_eq!(certificates[1].as_der(), ca_der.as_ref());
        let identity = format!(
            "{}{}",
            pem("CERTIFICATE", certificates[0].as_der()),
            pem("PRIVATE KEY", chain.key().as_der())
        );
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(
                daemon.pki.authority.certificate_pem().as_bytes(),
            )
            .unwrap()])
            .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\r\n{}\r\n-----END {label}-----\r\n", lines.join("\r\n"))
}

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts the command failed with `code` and said `message`.
fn failed(output: &Output, code: i32, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
}

async fn home_page(client: &reqwest::Client, daemon: &Daemon) -> Result<String, reqwest::Error> {
    let response = client.get(daemon.url("/")).send().await?;
    assert_eq!(response.status(), 200);
    response.text().await
}

#[tokio::test]
async fn pki_issued_bundles_open_the_appliance_until_revoked() {
    let work = Workspace::new();
    work.init();
    let alice = work.issue("alice", "Alice Example");
    let bob = work.issue("bob", "Bob \"Bobby\" Example");
    // The printed entries, pasted as they are, make the roster.
    let roster = work.scratch.0.join("roster.toml");
    std::fs::write(&roster, format!("{}\n{}", alice.roster_entry, bob.roster_entry)).unwrap();
    let daemon = Daemon::start_with(|config| {
        config
            .replace("staff_ca = \"ca.crt\"", &format!("staff_ca = {:?}", work.ca.join("ca.crt")))
            .replace("crls = [\"staff.crl\"]", &format!("crls = [{:?}]", work.ca.join("crl.pem")))
            .replace("roster = \"roster.toml\"", &format!("roster = {roster:?}"))
    });
    let ca_certificate = work.ca.join("ca.crt");
    assert!(
        home_page(&alice.client(&daemon, &ca_certificate), &daemon)
            .await
            .unwrap()
            .contains("Alice Example (alice)")
    );
    let bob_page = home_page(&bob.client(&daemon, &ca_certificate), &daemon).await.unwrap();
    assert!(bob_page.contains("Bob &quot;Bobby&quot; Example (bob)"), "{bob_page}");

    // Revoke Bob, the passphrase coming from standard input this time.
    let mut revoke = Command::new(BINARY)
        .args(["pki", "revoke", "--dir"])
        .arg(&work.ca)
        .args(["--login", "bob", "--reason", "key-compromise", "--passphrase-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    revoke.stdin.take().unwrap().write_all(format!("{PASSPHRASE}\n").as_bytes()).unwrap();
    let output = revoke.wait_with_output().unwrap();
    succeeded(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("CRL number 2, 1 revoked"), "{output:?}");
    let listed = work.list();
    let status = |login: &str| {
        let line = listed.lines().find(|l| l.starts_with(&format!("{login} "))).unwrap();
        line.rsplit("  ").next().unwrap().to_owned()
    };
    assert_eq!(status("alice"), "valid", "{listed}");
    assert!(status("bob").starts_with("revoked ") && status("bob").ends_with("(key-compromise)"), "{listed}");

    daemon.signal("HUP");
    daemon.wait_for_log("SIGHUP: reloaded");
    let refused = bob.client(&daemon, &ca_certificate).get(daemon.url("/")).send().await;
    assert!(refused.is_err(), "the revoked bundle still works: {:?}", refused.map(|r| r.status()));
    let logs = daemon.wait_for_log("invalid peer certificate: Revoked");
    assert!(logs.contains("TLS handshake refused: invalid peer certificate: Revoked"), "{logs}");
    assert!(home_page(&alice.client(&daemon, &ca_certificate), &daemon).await.is_ok());
}

#[test]
fn pki_keeps_keys_encrypted_and_refuses_a_wrong_passphrase() {
    let work = Workspace::new();
    work.init();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&work.ca), 0o700);
    let key = std::fs::read(work.ca.join("ca.key.age")).unwrap();
    assert_eq!(mode(&work.ca.join("ca.key.age")), 0o600);
    assert!(key.starts_with(b"age-encryption.org/v1\n-> scrypt "), "{}", String::from_utf8_lossy(&key));
    work.issue("carol", "Carol Example");
    assert_eq!(mode(&work.ca.join("staff/carol.p12")), 0o600);
    // Neither the CA key nor a staff key is anywhere in clear.
    let mut pending = vec![work.ca.clone()];
    while let Some(dir) = pending.pop() {
        for file in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            if file.is_dir() {
                pending.push(file);
            } else {
                let bytes = std::fs::read(&file).unwrap();
                assert!(!String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"), "{}", file.display());
            }
        }
    }

    std::fs::write(&work.passphrase, "correct horse battery stapler\n").unwrap();
    let output = work
        .pki_with_passphrase("issue", &["--login", "dave", "--name", "Dave", "--email", "dave@example.org"]);
    failed(&output, 1, &format!("wrong passphrase for {}", work.ca.join("ca.key.age").display()));
    assert!(!work.ca.join("staff/dave.p12").exists());
    assert!(!work.list().contains("dave"));
    let output = work.pki_with_passphrase("crl", &[]);
    failed(&output, 1, "wrong passphrase");

    std::fs::set_permissions(&work.passphrase, std::fs::Permissions::from_mode(0o644)).unwrap();
    failed(&work.pki_with_passphrase("crl", &[]), 2, "chmod 600");
    std::fs::write(&work.passphrase, format!("{PASSPHRASE}\n")).unwrap();
    std::fs::set_permissions(&work.passphrase, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(work.list().contains("CRL number 1 "));
    succeeded(&work.pki_with_passphrase("crl", &["--days", "7"]));
    let listed = work.list();
    assert!(listed.contains("CRL number 2 "), "{listed}");
    assert!(listed.contains("warning: the CRL expires on"), "a 7-day CRL is close to expiry: {listed}");
}

#[test]
fn pki_refuses_a_second_certificate_a_second_ca_and_bad_input() {
    let work = Workspace::new();
    work.init();
    work.issue("erin", "Erin Example");
    let again = ["--login", "erin", "--name", "Erin Example", "--email", "erin@example.org"];
    let output = work.pki_with_passphrase("issue", &again);
    failed(&output, 1, "erin already holds certificate");
    failed(&output, 1, "--renew");
    // Renewing is allowed, but never over a bundle still in the directory.
    failed(&work.pki_with_passphrase("issue", &[&again[..], &["--renew"]].concat()), 1, "never overwritten");
    assert_eq!(work.list().matches("erin ").count(), 1);

    let output = work.pki_with_passphrase("init", &["--organization", "Other"]);
    failed(&output, 1, "already holds a CA");
    let output =
        work.pki_with_passphrase("issue", &["--login", "Erin Two", "--name", "E", "--email", "e@x.org"]);
    failed(&output, 2, "--login: login \"Erin Two\" is not valid");
    failed(
        &work.pki_with_passphrase("revoke", &["--login", "nobody"]),
        1,
        "no certificate was issued to login",
    );
    failed(
        &work.pki_with_passphrase("revoke", &["--login", "erin", "--reason", "superseded"]),
        2,
        "name it with --serial",
    );

    let other = Workspace::new();
    failed(&other.pki("list", &[]), 1, "holds no staff CA");
    std::fs::write(&other.passphrase, "short\n").unwrap();
    failed(&other.pki_with_passphrase("init", &["--organization", "X"]), 2, "at least 12 characters");
}
