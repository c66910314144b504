//! Bad configuration stops everything before a port is bound, listing every problem at once.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::harness::{BINARY, Daemon, ScratchDir, config_text};

fn run(args: &[&str], config: &std::path::Path) -> (i32, String, String) {
    let output = Command::new(BINARY).args(args).arg(config).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_malformed_config_lists_every_error_and_binds_nothing() {
    let dir = ScratchDir::new("badconfig");
    let config = dir.0.join("takedown.toml");
    let text = config_text()
        .replace("listen = \"127.0.0.1:0\"", "listen = \"everywhere\"")
        .replace("private_key = { file = \"server.key\" }", "private_key = \"-----BEGIN PRIVATE KEY-----\"")
        .replace("[staff]\n", "[staff]\nrole_file = \"x\"\n");
    std::fs::write(&config, text).unwrap();
    for command in ["check-config", "serve"] {
        let (code, stdout, stderr) = run(&[command, "--config"], &config);
        assert_eq!(code, 78, "{command}: {stderr}");
        for field in ["server.listen", "tls.private_key", "staff.role_file"] {
            assert!(
                stderr.contains(&format!("error: {field}: ")),
                "{command}: {field} missing in:\n{stderr}"
            );
        }
        assert!(stderr.contains("never written inline"), "{stderr}");
        assert!(stderr.contains("3 problem(s)"), "{stderr}");
        assert!(!stdout.contains("ready"), "{command} started anyway: {stdout}");
    }
}

#[test]
fn missing_files_a_leaky_key_and_a_bad_roster_are_all_reported_together() {
    let daemon = Daemon::start();
    let dir = &daemon.dir.0;
    std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(dir.join("ca.crt")).unwrap();
    std::fs::write(dir.join("roster.toml"), "[[staff]]\nlogin = \"ann\"\nname = \"Ann\"\nemail = \"ann@x\"\nroles = [\"boss\"]\ncertificates = [\"00\"]\n").unwrap();
    let (code, _, stderr) = run(&["check-config", "--config"], &dir.join("takedown.toml"));
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("error: tls.private_key: ") && stderr.contains("mode 0644"), "{stderr}");
    assert!(stderr.contains("error: tls.staff_ca: file not found: "), "{stderr}");
    assert!(stderr.contains("staff[0].roles[0]: unknown role \"boss\""), "{stderr}");
    assert!(stderr.contains("staff[0].certificates[0]"), "{stderr}");
}

#[test]
fn a_valid_config_checks_clean() {
    let daemon = Daemon::start();
    let (code, stdout, stderr) = run(&["check-config", "--config"], &daemon.dir.0.join("takedown.toml"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("valid; 8 staff on the roster"), "{stdout}");
    assert!(stdout.contains("egress to the reviewed policy compiled in"), "{stdout}");
}

#[test]
fn a_broken_egress_policy_or_trust_root_file_stops_the_daemon_naming_the_field() {
    let daemon = Daemon::start();
    let dir = &daemon.dir.0;
    std::fs::write(dir.join("policy.toml"), "[[service]]\nname = \"lumen\"\nhosts = [\"*.org\"]\n").unwrap();
    let config = dir.join("broken-egress.toml");
    let text = config_text()
        .replace("[egress]\n", "[egress]\npolicy = \"policy.toml\"\ntrust_roots = \"no-such-ca.crt\"\n");
    std::fs::write(&config, text).unwrap();
    for command in ["check-config", "serve"] {
        let (code, stdout, stderr) = run(&[command, "--config"], &config);
        assert_eq!(code, 78, "{command}: {stderr}");
        assert!(stderr.contains("error: egress.trust_roots: cannot read "), "{command}: {stderr}");
        assert!(stderr.contains("covers a whole top-level domain"), "{command}: {stderr}");
        assert!(!stdout.contains("ready"), "{command} started anyway: {stdout}");
    }
    // A policy that parses is shown as what it is: not the reviewed one.
    let policy = takedown::egress::policy::PRODUCTION;
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    std::fs::write(&config, config_text().replace("[egress]\n", "[egress]\npolicy = \"policy.toml\"\n"))
        .unwrap();
    let (code, stdout, stderr) = run(&["check-config", "--config"], &config);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("policy.toml (NOT the reviewed production policy)"), "{stdout}");
}

#[test]
fn a_missing_config_file_is_a_config_error() {
    let (code, _, stderr) = run(&["serve", "--config"], std::path::Path::new("/nonexistent/takedown.toml"));
    assert_eq!(code, 78);
    assert!(stderr.contains("file not found"), "{stderr}");
}

#[test]
fn an_empty_crl_list_is_refused_naming_the_field() {
    // `crls = []` would switch revocation off without a word: a lost certificate would keep
    // working. Both the check and the daemon refuse it, naming the field.
    let daemon = Daemon::start();
    let config = daemon.dir.0.join("no-crls.toml");
    std::fs::write(&config, config_text().replace("crls = [\"staff.crl\"]", "crls = []")).unwrap();
    for command in ["check-config", "serve"] {
        let (code, stdout, stderr) = run(&[command, "--config"], &config);
        assert_eq!(code, 78, "{command}: {stderr}");
        assert!(stderr.contains("error: tls.crls: "), "{command}: {stderr}");
        assert!(stderr.contains("revocation"), "{command}: {stderr}");
        assert!(!stdout.contains("ready"), "{command} started anyway: {stdout}");
    }
}

#[test]
fn a_crl_not_signed_by_the_staff_ca_stops_check_config_and_serve() {
    // rustls would load any CRL and then refuse every staff certificate, finding none it can
    // trust for them; the daemon refuses the file instead and says which one and why.
    let (dir, _pki) = Daemon::prepare(|config| config);
    let now = time::OffsetDateTime::now_utc();
    let foreign =
        takedown::pki::Authority::create("Someone else's CA", takedown::pki::Validity::days_from_now(30))
            .unwrap();
    let crl = foreign
        .revocation_list(&[], now - time::Duration::minutes(1), now + time::Duration::days(1), 2)
        .unwrap();
    std::fs::write(dir.0.join("staff.crl"), crl).unwrap();
    for command in ["check-config", "serve"] {
        // `serve` would run until stopped if it accepted the file: given 20 s to exit.
        let mut child = Command::new(BINARY)
            .args([command, "--config"])
            .arg(dir.0.join("takedown.toml"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!("{command} accepted the CRL and ran: {}", String::from_utf8_lossy(&output.stderr));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.code(), Some(78), "{command}: {stderr}");
        assert!(
            stderr.contains("error: tls.crls[0]: ") && stderr.contains("is not signed by the staff CA"),
            "{command}: {stderr}"
        );
        assert!(!stdout.contains("ready"), "{command} started anyway: {stdout}");
    }
}
