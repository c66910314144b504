//! `takedown demo`, as the README tells a newcomer to run it: first run creates, second reuses.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::harness::{BINARY, ScratchDir, parse_ready, spawn};

struct Demo {
    child: std::process::Child,
    lines: Vec<String>,
    address: std::net::SocketAddr,
}

fn start(dir: &std::path::Path) -> Demo {
    let mut command = Command::new(BINARY);
    command.args(["demo", "--listen", "127.0.0.1:0", "--dir"]).arg(dir);
    let (child, stdout, logs) = spawn(command);
    let first =
        stdout.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("{}", logs.lock().unwrap()));
    let address = parse_ready(&first);
    let mut lines = vec![first];
    while let Ok(line) = stdout.recv_timeout(Duration::from_secs(2)) {
        let done = line.starts_with("Stop with");
        lines.push(line);
        if done {
            break;
        }
    }
    Demo { child, lines, address }
}

fn client(dir: &std::path::Path, login: &str) -> reqwest::Client {
    browser(dir, login).build().unwrap()
}

fn browser(dir: &std::path::Path, login: &str) -> reqwest::ClientBuilder {
    let pki = dir.join("pki");
    let mut identity = std::fs::read(pki.join(format!("staff/{login}.crt"))).unwrap();
    identity.extend(std::fs::read(pki.join(format!("staff/{login}.key"))).unwrap());
    reqwest::Client::builder()
        .tls_certs_only(
            [reqwest::Certificate::from_pem(&std::fs::read(pki.join("ca.crt")).unwrap()).unwrap()],
        )
        .identity(reqwest::Identity::from_pem(&identity).unwrap())
}

#[tokio::test]
async fn the_demo_creates_a_pki_serves_each_role_and_reuses_it_on_a_second_run() {
    let scratch = ScratchDir::new("demo");
    let dir = scratch.0.join("demo-data");
    let mut demo = start(&dir);
    let text = demo.lines.join("\n");
    assert!(text.contains("Created a demo PKI"), "{text}");
    let password = text.split("password: ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(password.len() >= 16);

    for login in ["dmca-agent", "cp-agent", "approver", "auditor", "exporter", "outsider", "revoked"] {
        for ext in ["crt", "key", "p12"] {
            assert!(dir.join(format!("pki/staff/{login}.{ext}")).exists(), "{login}.{ext}");
        }
        let key_mode =
            std::fs::metadata(dir.join(format!("pki/staff/{login}.key"))).unwrap().permissions().mode();
        assert_eq!(key_mode & 0o077, 0, "{login}.key is readable by others");
        // The .p12 opens with the printed password and holds the key and both certificates.
        let p12 = std::fs::read(dir.join(format!("pki/staff/{login}.p12"))).unwrap();
        let store =
            p12_keystore::KeyStore::from_pkcs12(&p12, &password, p12_keystore::Pkcs12ImportPolicy::Strict)
                .unwrap();
        let (_, chain) = store.private_key_chain().expect("no key in the .p12");
        assert_eq!(chain.certs().len(), 2, "{login}.p12 should carry its certificate and the CA");
    }

    let url = format!("https://{}/", demo.address);
    for (login, status, needle) in [
        ("dmca-agent", 200, "Dana Mercer"),
        ("cp-agent", 200, "child-protection"),
        ("approver", 200, "approver"),
        ("auditor", 200, "Staff roster"),
        ("exporter", 200, "exporter"),
        ("outsider", 403, "not on the staff roster"),
    ] {
        let response = client(&dir, login).get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{login}");
        assert!(response.text().await.unwrap().contains(needle), "{login}");
    }
    assert!(client(&dir, "revoked").get(&url).send().await.is_err(), "revoked must fail the handshake");
    services_are_checked_and_the_wiki_connect_button_goes_to_meta(&dir, &url).await;
    let ca_before = std::fs::read(dir.join("pki/ca.crt")).unwrap();
    let _ = demo.child.kill();
    let _ = demo.child.wait();

    let mut second = start(&dir);
    assert!(second.lines.join("\n").contains("Reusing the demo PKI"));
    assert_eq!(std::fs::read(dir.join("pki/ca.crt")).unwrap(), ca_before, "the CA must be kept");
    let url = format!("https://{}/", second.address);
    assert_eq!(client(&dir, "dmca-agent").get(&url).send().await.unwrap().status(), 200);
    let _ = second.child.kill();
    let _ = second.child.wait();
}

/// The background check reaches the simulated NCMEC, Salesforce and wiki with the demo's
/// credentials, the home page shows it, and "Connect your wiki account" sends the browser to
/// the meta wiki's consent page with PKCE.
async fn services_are_checked_and_the_wiki_connect_button_goes_to_meta(dir: &std::path::Path, url: &str) {
    let staff = client(dir, "dmca-agent");
    let mut page = String::new();
    for _ in 0..50 {
        page = staff.get(url).send().await.unwrap().text().await.unwrap();
        if page.matches("<td>yes</td><td>yes</td><td>none</td>").count() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for service in ["ncmec", "salesforce", "wiki"] {
        let row =
            page.split(&format!("data-service=\"{service}\"")).nth(1).unwrap().split("</tr>").next().unwrap();
        assert!(row.contains("<td>yes</td><td>yes</td><td>none</td>"), "{service}: {row}");
    }
    let lumen = page.split("data-service=\"lumen\"").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(lumen.contains("not checked yet"), "{lumen}");
    let token = crate::harness::csrf_token(&page);
    let token = token.as_str();
    let origin = url.trim_end_matches('/');
    let no_redirects =
        browser(dir, "dmca-agent").redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects
        .post(format!("{origin}/wiki/connect"))
        .header("origin", origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_urlencoded::Serializer::new(String::new()).append_pair("csrf_token", token).finish())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://meta.wiki.test:") && location.contains("/w/rest.php/oauth2/authorize?"),
        "{location}"
    );
    assert!(location.contains("code_challenge_method=S256") && location.contains("state="), "{location}");
}
