//! The egress client against the simulated services: what the policy does not allow never
//! leaves, redirects are not followed, DNS answers pointing at private addresses are refused,
//! oversized and slow answers are cut off with an error that says whether the request may have
//! arrived, and every call is audited without its query string, headers or body.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use http::header::{ACCEPT, HeaderName};
use takedown::audit::{Action, Outcome};
use takedown::config::EgressSettings;
use takedown::demo::services::SimulatedServices;
use takedown::egress::client::{CallContext, EgressClient, EgressError};
use takedown::egress::policy::{Denied, Service};
use takedown::egress::wire::{Body, WireRequest};
use takedown::store::crypt::AgeIdentity;
use takedown::store::index::IndexKey;
use takedown::store::{Store, StoreKeys};
use takedown_peers::{Fault, PeerService};
use url::Url;

use crate::harness::ScratchDir;

const TOKEN: &str = "demo-lumen-submitter-token";

struct Setup {
    services: SimulatedServices,
    store: Arc<Store>,
    dir: ScratchDir,
}

impl Setup {
    fn new(tag: &str) -> Self {
        let dir = ScratchDir::new(tag);
        let services = SimulatedServices::start(&dir.0).unwrap();
        let index = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        let keys = StoreKeys::new(AgeIdentity::generate(), &[], index);
        let store = Arc::new(Store::open(&dir.0.join("data"), keys, 1000).unwrap());
        Self { services, store, dir }
    }

    /// A client whose policy for the peers has these limits, and whose rule may or may not
    /// accept loopback addresses.
    fn client(&self, timeout_seconds: u64, max_response_bytes: u64, allow_loopback: bool) -> EgressClient {
        let mut policy = self.services.policy_text(timeout_seconds, max_response_bytes);
        if !allow_loopback {
            policy =
                policy.replace("allow_non_global_addresses = true", "allow_non_global_addresses = false");
        }
        let path =
            self.dir.0.join(format!("policy-{timeout_seconds}-{max_response_bytes}-{allow_loopback}.toml"));
        std::fs::write(&path, policy).unwrap();
        let settings = EgressSettings {
            contact: "takedown-tests@example.org".into(),
            policy: Some(path),
            trust_roots: Some(self.services.ca_path.clone()),
            resolve: takedown::demo::services::HOSTS
                .iter()
                .flat_map(|(_, hosts)| hosts.iter())
                .map(|host| ((*host).to_owned(), "127.0.0.1".parse().unwrap()))
                .collect(),
        };
        EgressClient::from_settings(&settings, self.store.clone()).unwrap()
    }

    fn lumen(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.services.base_url(PeerService::Lumen))).unwrap()
    }

    fn egress_entries(&self) -> Vec<(Outcome, String)> {
        self.store
            .audit_entries(None)
            .unwrap()
            .into_iter()
            .filter(|(_, _, e)| e.action == Action::EgressCall)
            .map(|(_, _, e)| (e.outcome, e.details))
            .collect()
    }
}

/// A notice the simulated Lumen accepts.
fn notice(url: Url, accept_json: bool) -> WireRequest {
    let body = serde_json::json!({"notice": {
        "type": "DMCA",
        "title": "DMCA notice to Example Org",
        "works_attributes": [{"description": "A photograph",
            "infringing_urls_attributes": [{"url": "https://commons.wikimedia.org/wiki/File:X.jpg"}]}],
        "entity_notice_roles_attributes": [{"name": "recipient", "entity_attributes": {"name": "Example Org"}}],
    }});
    let mut request = WireRequest::new(Method::POST, url).body(Body::json(&body));
    if accept_json {
        request = request.header(ACCEPT, "application/json");
    }
    request.secret_header(HeaderName::from_static("x-authentication-token"), TOKEN).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_call_inside_the_policy_goes_out_once_and_is_audited_without_secrets() {
    let setup = Setup::new("egress-ok");
    let client = setup.client(10, 1 << 20, true);
    let response = runtime()
        .block_on(client.send(Service::Lumen, notice(setup.lumen("/notices"), true), &CallContext::system()))
        .unwrap();
    assert_eq!(response.status, 201);
    let location = response.header_text("location").unwrap();
    assert!(
        location.starts_with("https://lumen.test:") && location.contains("/notices/4000000"),
        "{location}"
    );
    let journal = setup.services.peers.journal(PeerService::Lumen);
    assert_eq!(journal.len(), 1, "{journal:?}");
    let entries = setup.egress_entries();
    assert_eq!(entries.len(), 1);
    let (outcome, details) = &entries[0];
    assert_eq!(*outcome, Outcome::Done);
    assert!(details.starts_with("lumen POST lumen.test:"), "{details}");
    assert!(details.contains("/notices -> 201"), "{details}");
    assert!(!details.contains(TOKEN) && !details.contains("photograph"), "{details}");
}

#[test]
fn requests_outside_the_policy_never_leave_and_each_refusal_names_the_service() {
    let setup = Setup::new("egress-denied");
    let client = setup.client(10, 1 << 20, true);
    let rt = runtime();
    let port = setup.services.peers.address(PeerService::Lumen).port();
    let cases: Vec<(Url, Method, &str)> = vec![
        (Url::parse(&format!("https://evil.test:{port}/notices")).unwrap(), Method::POST, "host"),
        (setup.lumen("/admin"), Method::POST, "path"),
        (Url::parse(&format!("https://lumen.test:{}/notices", port + 1)).unwrap(), Method::POST, "port"),
        (setup.lumen("/notices"), Method::DELETE, "method"),
        (Url::parse(&format!("http://lumen.test:{port}/notices")).unwrap(), Method::POST, "scheme"),
        (setup.lumen("/notices/..%2fadmin"), Method::POST, "path"),
    ];
    for (url, method, what) in cases {
        let mut request = notice(url.clone(), true);
        request.method = method;
        let err = rt.block_on(client.send(Service::Lumen, request, &CallContext::system())).unwrap_err();
        let EgressError::Denied(denied) = &err else { panic!("{url}: {err}") };
        let matches = matches!(
            (what, denied),
            ("host", Denied::Host(..))
                | ("path", Denied::Path(..))
                | ("port", Denied::Port(..))
                | ("method", Denied::Method(..))
                | ("scheme", Denied::Scheme(..))
        );
        assert!(matches, "{what}: {denied}");
        assert!(err.to_string().starts_with("lumen: ") && err.service() == Service::Lumen, "{err}");
        assert!(!err.may_have_arrived());
    }
    // A Lumen request sent as another service is judged by that service's rule.
    let err = rt
        .block_on(client.send(Service::Ncmec, notice(setup.lumen("/notices"), true), &CallContext::system()))
        .unwrap_err();
    assert!(matches!(err, EgressError::Denied(Denied::Host(Service::Ncmec, _))), "{err}");
    assert!(
        setup.services.peers.journal(PeerService::Lumen).is_empty(),
        "a refused request reached the peer"
    );
    let entries = setup.egress_entries();
    assert_eq!(entries.len(), 7);
    assert!(entries.iter().all(|(outcome, _)| *outcome == Outcome::Refused), "{entries:?}");
}

#[test]
fn a_dns_answer_pointing_at_a_private_address_is_refused_before_connecting() {
    let setup = Setup::new("egress-dns");
    // The same peers, but a policy that, like production, refuses non-global addresses.
    let client = setup.client(10, 1 << 20, false);
    let err = runtime()
        .block_on(client.send(Service::Lumen, notice(setup.lumen("/notices"), true), &CallContext::system()))
        .unwrap_err();
    assert!(matches!(err, EgressError::NonGlobalAddress { service: Service::Lumen, .. }), "{err}");
    assert!(
        err.to_string().contains("lumen.test resolved only to non-global addresses (127.0.0.1)"),
        "{err}"
    );
    assert!(!err.may_have_arrived());
    // A literal private address in the URL is refused the same way.
    let port = setup.services.peers.address(PeerService::Lumen).port();
    let literal = Url::parse(&format!("https://127.0.0.1:{port}/notices")).unwrap();
    let policy =
        std::fs::read_to_string(setup.dir.0.join(format!("policy-10-{}-false.toml", 1 << 20))).unwrap();
    std::fs::write(
        setup.dir.0.join("literal.toml"),
        policy.replace("hosts = [\"lumen.test\"]", "hosts = [\"lumen.test\", \"127.0.0.1\"]"),
    )
    .unwrap();
    let settings = EgressSettings {
        contact: "t@example.org".into(),
        policy: Some(setup.dir.0.join("literal.toml")),
        trust_roots: Some(setup.services.ca_path.clone()),
        resolve: Vec::new(),
    };
    let literal_client = EgressClient::from_settings(&settings, setup.store.clone()).unwrap();
    let err = runtime()
        .block_on(literal_client.send(Service::Lumen, notice(literal, true), &CallContext::system()))
        .unwrap_err();
    assert!(matches!(err, EgressError::NonGlobalAddress { .. }), "{err}");
    assert!(setup.services.peers.journal(PeerService::Lumen).is_empty());
}

#[test]
fn a_redirect_is_not_followed() {
    let setup = Setup::new("egress-redirect");
    let client = setup.client(10, 1 << 20, true);
    // Without Accept: application/json Lumen redirects to its HTML form.
    let err = runtime()
        .block_on(client.send(Service::Lumen, notice(setup.lumen("/notices"), false), &CallContext::system()))
        .unwrap_err();
    let EgressError::Redirect { service, status, location } = &err else { panic!("{err}") };
    assert_eq!((*service, *status, location.as_str()), (Service::Lumen, 302, "lumen.invalid/notices/new"));
    assert!(err.may_have_arrived());
    assert_eq!(setup.services.peers.journal(PeerService::Lumen).len(), 1, "followed or repeated");
}

#[test]
fn oversized_slow_dropped_and_truncated_answers_are_errors_that_may_have_arrived() {
    let setup = Setup::new("egress-faults");
    let rt = runtime();
    let send = |client: &EgressClient| {
        rt.block_on(client.send(
            Service::Lumen,
            notice(setup.lumen("/notices"), true),
            &CallContext::system(),
        ))
    };

    let small = setup.client(10, 64, true);
    let big_body = "x".repeat(1000);
    setup.services.peers.set_fault(
        PeerService::Lumen,
        "notices",
        Fault { status: Some(503), body: Some(big_body), ..Fault::default() },
    );
    let err = send(&small).unwrap_err();
    assert!(matches!(err, EgressError::TooLarge { service: Service::Lumen, limit: 64 }), "{err}");

    let quick = setup.client(1, 1 << 20, true);
    // An answer held for an hour: past the 1 s limit whatever the machine's speed.
    setup.services.peers.set_fault(PeerService::Lumen, "notices", Fault::delay(Duration::from_secs(3600)));
    let err = send(&quick).unwrap_err();
    assert!(matches!(err, EgressError::Timeout { service: Service::Lumen, .. }), "{err}");
    assert!(err.may_have_arrived() && err.to_string().contains("check before sending it again"), "{err}");

    let normal = setup.client(10, 1 << 20, true);
    setup.services.peers.set_fault(
        PeerService::Lumen,
        "notices",
        Fault { drop_connection: true, ..Fault::default() },
    );
    let err = send(&normal).unwrap_err();
    assert!(matches!(err, EgressError::Interrupted { service: Service::Lumen, .. }), "{err}");
    assert!(err.may_have_arrived());

    setup.services.peers.set_fault(
        PeerService::Lumen,
        "notices",
        Fault { truncated: true, ..Fault::default() },
    );
    let err = send(&normal).unwrap_err();
    assert!(matches!(err, EgressError::Interrupted { .. }), "{err}");

    // Each call reached the peer exactly once: nothing was retried behind the caller's back.
    let journal = setup.services.peers.journal(PeerService::Lumen);
    assert_eq!(journal.len(), 4, "{journal:#?}");
    let notices = setup.services.peers.snapshot(PeerService::Lumen)["notices"].as_array().unwrap().len();
    assert_eq!(notices, 3, "the delayed, dropped and truncated calls were processed once each");
    assert_eq!(setup.egress_entries().len(), 4);
}

/// Captures what the code under test logs, for the assertions that a failure was logged.
#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn a_call_whose_audit_entry_cannot_be_written_still_returns_its_answer_and_the_failure_is_logged() {
    // SECURITY.md section 2: "If the store cannot take the entry, the failure is logged as an
    // error and the answer is still returned: the call has happened, and dropping its answer
    // would invite a duplicate."
    let setup = Setup::new("egress-audit-fails");
    let client = setup.client(10, 1 << 20, true);
    let rt = runtime();
    let send = |url: Url| rt.block_on(client.send(Service::Lumen, notice(url, true), &CallContext::system()));
    assert_eq!(send(setup.lumen("/notices")).unwrap().status, 201);
    assert_eq!(setup.egress_entries().len(), 1);
    // Damage the newest audit record, as a failing disk would: the next append cannot find
    // the link to extend, so it fails.
    {
        const AUDIT: redb::TableDefinition<'_, u64, &[u8]> = redb::TableDefinition::new("audit");
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .open(setup.dir.0.join("data").join(takedown::store::FILE_NAME))
            .unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(AUDIT).unwrap();
            let last = redb::ReadableTable::last(&table).unwrap().map(|(k, _)| k.value()).unwrap();
            table.insert(last, [0u8; 3].as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let (answer, refused) = tracing::subscriber::with_default(subscriber, || {
        (send(setup.lumen("/notices")), send(setup.lumen("/admin")))
    });
    let answer = answer.expect("the call happened: its answer must come back");
    assert_eq!(answer.status, 201);
    assert!(answer.header_text("location").is_some_and(|l| l.contains("/notices/4000000")));
    assert_eq!(setup.services.peers.journal(PeerService::Lumen).len(), 2, "sent once, not repeated");
    // A call the policy refuses stays refused, audit or not, and sends nothing.
    assert!(matches!(refused, Err(EgressError::Denied(Denied::Path(..)))), "{refused:?}");
    assert_eq!(setup.services.peers.journal(PeerService::Lumen).len(), 2);
    let log = log.text();
    assert_eq!(
        log.matches("the audit entry of an outbound call was not written").count(),
        2,
        "each unaudited call is logged as an error: {log}"
    );
    assert!(log.contains("ERROR") && log.contains("lumen"), "{log}");
}

/// The global unicast address the production-rules test gives Lumen. It is put on the
/// loopback interface of a network namespace of the test's own, so nothing outside is reached.
const GLOBAL_ADDRESS: &str = "93.184.216.34";
/// Set when the test runs inside its network namespace.
const INSIDE_NETNS: &str = "TAKEDOWN_IT_INSIDE_NETNS";

#[test]
fn under_the_production_rules_a_call_to_a_global_address_on_port_443_succeeds_and_a_private_address_or_other_port_is_refused()
 {
    const NAME: &str = "egress::under_the_production_rules_a_call_to_a_global_address_on_port_443_succeeds_and_a_private_address_or_other_port_is_refused";
    if std::env::var_os(INSIDE_NETNS).is_none() {
        // Every other test policy allows non-global addresses and the peers' own ports; this
        // one is policy/egress.toml as reviewed, with only Lumen's host names replaced. To meet
        // it the peer must answer on a global address and port 443, which only a network
        // namespace of our own can give without touching the machine's real network: the
        // test runs itself again inside one (root, as these tests run).
        let output = std::process::Command::new("unshare")
            .arg("--net")
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env(INSIDE_NETNS, "1")
            .output()
            .expect("unshare (util-linux) is needed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "inside the namespace:\n{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "the test did not run inside the namespace:\n{stdout}");
        return;
    }
    for args in
        [&["link", "set", "lo", "up"][..], &["addr", "add", &format!("{GLOBAL_ADDRESS}/32"), "dev", "lo"]]
    {
        let status = std::process::Command::new("ip").args(args).status().expect("iproute2 is needed");
        assert!(status.success(), "ip {args:?}");
    }
    let setup = Setup::new("egress-production-rules");
    let rt = runtime();
    // Port 443 on the global address and on loopback, both passed on to the simulated Lumen:
    // whatever is refused below is refused by a rule, not for want of a listener.
    let peer = setup.services.peers.address(PeerService::Lumen);
    for address in [GLOBAL_ADDRESS, "127.0.0.1"] {
        let listener = rt.block_on(tokio::net::TcpListener::bind((address, 443))).unwrap();
        rt.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(peer).await?;
                    tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await
                });
            }
        });
    }
    let production =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy/egress.toml")).unwrap();
    let reviewed_hosts = r#"hosts = ["lumendatabase.org", "api-beta.lumendatabase.org"]"#;
    assert_eq!(production.matches(reviewed_hosts).count(), 1, "policy/egress.toml's Lumen hosts changed");
    let policy = production.replace(reviewed_hosts, r#"hosts = ["lumen.test"]"#);
    assert!(
        !policy.lines().any(|line| line.trim_start().starts_with("allow_non_global_addresses")),
        "the production rules allow no private address"
    );
    let path = setup.dir.0.join("production-rules.toml");
    std::fs::write(&path, policy).unwrap();
    let client = |address: &str| {
        let settings = EgressSettings {
            contact: "takedown-tests@example.org".into(),
            policy: Some(path.clone()),
            trust_roots: Some(setup.services.ca_path.clone()),
            resolve: vec![("lumen.test".to_owned(), address.parse().unwrap())],
        };
        EgressClient::from_settings(&settings, setup.store.clone()).unwrap()
    };
    let send = |client: &EgressClient, url: &str| {
        let request = notice(Url::parse(url).unwrap(), true);
        rt.block_on(client.send(Service::Lumen, request, &CallContext::system()))
    };
    let global = client(GLOBAL_ADDRESS);
    let answer =
        send(&global, "https://lumen.test/notices").expect("a call that meets every production rule");
    assert_eq!(answer.status, 201);
    assert_eq!(setup.services.peers.journal(PeerService::Lumen).len(), 1);
    // Another port on the same global address: refused by the policy, nothing sent.
    let err = send(&global, "https://lumen.test:8443/notices").unwrap_err();
    assert!(matches!(err, EgressError::Denied(Denied::Port(..))), "{err}");
    // Port 443, but the name resolves to loopback: refused after DNS, nothing sent.
    let err = send(&client("127.0.0.1"), "https://lumen.test/notices").unwrap_err();
    assert!(matches!(err, EgressError::NonGlobalAddress { service: Service::Lumen, .. }), "{err}");
    assert_eq!(setup.services.peers.journal(PeerService::Lumen).len(), 1, "a refused call reached Lumen");
    let outcomes: Vec<Outcome> = setup.egress_entries().into_iter().map(|(outcome, _)| outcome).collect();
    assert_eq!(outcomes, [Outcome::Done, Outcome::Refused, Outcome::Refused]);
}
