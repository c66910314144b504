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
    setup.services.peers.set_fault(PeerService::Lumen, "notices", Fault::delay(Duration::from_secs(3)));
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
