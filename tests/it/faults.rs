//! The fault matrix: each service client (Lumen, NCMEC, Salesforce, wiki) against its simulated
//! peer, under a server error, a timeout, a malformed answer, refused credentials, a slow answer
//! and a multi-step flow broken half-way. Each failure must come back as a typed error naming
//! the service, say truthfully whether the request may have arrived, reach the peer exactly as
//! often as intended (never a silent second send), and show on the status board.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use takedown::config::EgressSettings;
use takedown::config::SecretSource;
use takedown::config::services::{
    LumenSettings, NcmecAccount, NcmecSettings, SalesforceSettings, ServiceSettings, WikiSettings,
};
use takedown::demo::services::{HOSTS, SimulatedServices};
use takedown::egress::client::{CallContext, EgressClient, EgressError};
use takedown::egress::policy::Service;
use takedown::services::call::CallError;
use takedown::services::clients::Services;
use takedown::services::lumen::wire::{
    Attachment, AttachmentKind, Entity, EntityKind, EntityRole, LumenError, Notice, Role, Work,
};
use takedown::services::ncmec::code::ResponseCode;
use takedown::services::ncmec::wire::{
    Email, Environment, IncidentSummary, IncidentType, NcmecError, Person, Report, ReportAnnotations,
    Reporter, WebPageIncident,
};
use takedown::services::salesforce::wire::SalesforceError;
use takedown::services::wiki::client::{Acting, MAX_WAIT, WikiConnection};
use takedown::services::wiki::wire::{ApiCode, CreatePolicy, Edit, EditMode, EditOutcome, WikiError};
use takedown::store::crypt::AgeIdentity;
use takedown::store::index::IndexKey;
use takedown::store::{Store, StoreKeys};
use takedown_peers::{Fault, PeerService};
use url::Url;

use crate::harness::ScratchDir;

/// The policy's time limit for every peer. A "timeout" is an answer that never comes (the peer
/// holds it for an hour, far past any limit), so no test depends on how fast the machine is.
const TIME_LIMIT_SECONDS: u64 = 4;
/// A "slow" answer: the peer waits this long after acting, in a world whose limit is
/// [`SLOW_WORLD_LIMIT_SECONDS`], so the answer is slow yet nowhere near the limit.
const SLOW: Duration = Duration::from_millis(1000);
const SLOW_WORLD_LIMIT_SECONDS: u64 = 60;
/// An answer held past any time limit: the peer acted, and the client hears nothing.
const NEVER: Duration = Duration::from_secs(3600);

struct World {
    peers: SimulatedServices,
    clients: Services,
    runtime: tokio::runtime::Runtime,
    dir: ScratchDir,
}

/// What a test may change in the configuration before the clients are built.
#[derive(Default)]
struct Tweaks {
    lumen_token: Option<&'static str>,
    ncmec_password: Option<&'static str>,
    salesforce_client_id: Option<&'static str>,
    wiki_bot_password: Option<&'static str>,
    /// The policy's time limit, when not [`TIME_LIMIT_SECONDS`].
    time_limit_seconds: Option<u64>,
}

impl World {
    fn start(tag: &str) -> Self {
        Self::start_with(tag, Tweaks::default())
    }

    /// A world whose time limit is far above [`SLOW`], for the slow-answer tests.
    fn slow(tag: &str) -> Self {
        Self::start_with(
            tag,
            Tweaks { time_limit_seconds: Some(SLOW_WORLD_LIMIT_SECONDS), ..Tweaks::default() },
        )
    }

    fn start_with(tag: &str, tweaks: Tweaks) -> Self {
        let dir = ScratchDir::new(tag);
        let peers = SimulatedServices::start(&dir.0).unwrap();
        let policy = dir.0.join("policy.toml");
        std::fs::write(
            &policy,
            peers.policy_text(tweaks.time_limit_seconds.unwrap_or(TIME_LIMIT_SECONDS), 1 << 20),
        )
        .unwrap();
        let egress = EgressSettings {
            contact: "takedown-tests@example.org".into(),
            policy: Some(policy),
            trust_roots: Some(peers.ca_path.clone()),
            resolve: HOSTS
                .iter()
                .flat_map(|(_, hosts)| hosts.iter())
                .map(|host| ((*host).to_owned(), "127.0.0.1".parse().unwrap()))
                .collect(),
        };
        let index = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        let store = Arc::new(
            Store::open(&dir.0.join("data"), StoreKeys::new(AgeIdentity::generate(), &[], index), 1000)
                .unwrap(),
        );
        let egress = Arc::new(EgressClient::from_settings(&egress, store).unwrap());
        let secrets = dir.0.join("peers/secrets");
        let secret = |name: &str, replacement: Option<&str>| {
            if let Some(text) = replacement {
                let path = secrets.join(format!("{name}.changed"));
                std::fs::write(&path, text).unwrap();
                std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
                SecretSource::File(path)
            } else {
                SecretSource::File(secrets.join(name))
            }
        };
        let url = |service: PeerService, path: &str| {
            Url::parse(&format!("{}{path}", peers.base_url(service))).unwrap()
        };
        let settings = ServiceSettings {
            lumen: Some(LumenSettings {
                base_url: url(PeerService::Lumen, "/"),
                token: secret("lumen-token", tweaks.lumen_token),
            }),
            ncmec: Some(NcmecSettings {
                environment: Environment::Test,
                account: NcmecAccount {
                    base_url: url(PeerService::Ncmec, "/ispws"),
                    username: "demo-esp".into(),
                    password: secret("ncmec-password", tweaks.ncmec_password),
                },
                other: None,
            }),
            salesforce: Some(SalesforceSettings {
                login_url: url(PeerService::Salesforce, "/"),
                audience: "https://login.salesforce.com".into(),
                client_id: tweaks.salesforce_client_id.unwrap_or("demo-consumer-key").into(),
                username: "takedown@example.org.demo".into(),
                private_key: secret("salesforce-jwt.key", None),
                api_version: "67.0".into(),
                case_external_id_field: "Takedown_Case__c".into(),
            }),
            wiki: Some(WikiSettings {
                meta_api: url(PeerService::Wiki, "/w/api.php"),
                meta_rest: url(PeerService::Wiki, "/w/rest.php"),
                oauth_client_id: takedown::demo::services::WIKI_OAUTH_CLIENT_ID.into(),
                oauth_client_secret: secret("wiki-oauth-secret", None),
                oauth_redirect: Url::parse("https://takedown.test/wiki/callback").unwrap(),
                bot: Some((
                    "TakedownBot@takedown".into(),
                    secret("wiki-bot-password", tweaks.wiki_bot_password),
                )),
            }),
        };
        let clients = Services::build(&settings, None, egress).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Self { peers, clients, runtime, dir }
    }

    fn fault(&self, service: PeerService, endpoint: &str, fault: Fault) {
        self.peers.peers.set_fault(service, endpoint, fault);
    }

    /// How many requests the peer journalled for `endpoint`.
    fn calls(&self, service: PeerService, endpoint: &str) -> usize {
        self.peers.peers.journal(service).iter().filter(|e| e["endpoint"] == endpoint).count()
    }

    /// Waits until the peer has journalled `count` requests for `endpoint`. A timed-out call's
    /// request is journalled when the peer acts on it, which the client's time limit need not
    /// wait for; panics if it never comes.
    fn await_calls(&self, service: PeerService, endpoint: &str, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.calls(service, endpoint) < count {
            assert!(
                std::time::Instant::now() < deadline,
                "the {service:?} peer journalled {} of {count} {endpoint} requests in 30 s",
                self.calls(service, endpoint)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the status board shows for `service`: reachable, signed in, and the last error's
    /// text, which must contain `error` in any case (or be absent when `error` is `None`: the
    /// board keeps the last error after a later success).
    fn assert_board(
        &self,
        service: Service,
        reachable: bool,
        authenticated: Option<bool>,
        error: Option<&str>,
    ) {
        let state = self.clients.board.state(service);
        assert_eq!((state.reachable, state.authenticated), (Some(reachable), authenticated), "{state:?}");
        match (error, &state.last_error) {
            (None, None) => {}
            (Some(part), Some((_, text))) if text.to_lowercase().contains(&part.to_lowercase()) => {}
            _ => panic!("the board's last error for {service:?} should contain {error:?}: {state:?}"),
        }
    }

    fn lumen(&self, notice: &Notice) -> Result<(), CallError<LumenError>> {
        let client = self.clients.lumen.as_ref().unwrap();
        self.runtime.block_on(client.create_notice(&CallContext::system(), notice)).map(drop)
    }

    fn notices_stored(&self) -> usize {
        self.peers.peers.snapshot(PeerService::Lumen)["notices"].as_array().map_or(0, Vec::len)
    }

    fn ncmec_reports(&self) -> Vec<serde_json::Value> {
        self.peers.peers.snapshot(PeerService::Ncmec)["reports"].as_array().cloned().unwrap_or_default()
    }

    fn upsert(&self, external_id: &str, subject: &str) -> Result<(String, bool), CallError<SalesforceError>> {
        let client = self.clients.salesforce.as_ref().unwrap();
        let mut fields = serde_json::Map::new();
        fields.insert("Subject".into(), subject.into());
        let record =
            self.runtime.block_on(client.upsert_case(&CallContext::system(), external_id, &fields))?;
        Ok((record.id().unwrap().as_str().to_owned(), record.created()))
    }

    /// How many edits the simulated wiki acted on (whatever it answered).
    fn saved_edits(&self) -> usize {
        let journal = self.peers.peers.journal(PeerService::Wiki);
        journal.iter().filter(|e| e["endpoint"] == "action=edit" && e["processed"] == true).count()
    }

    fn bot_edit(&self, title: &str) -> Result<EditOutcome, CallError<WikiError>> {
        let wiki = self.clients.wiki.as_ref().unwrap();
        self.runtime.block_on(wiki.edit(&CallContext::system(), wiki.meta_api(), Acting::Bot, &edit(title)))
    }
}

fn edit(title: &str) -> Edit<'_> {
    Edit {
        title,
        mode: EditMode::Append { text: "\nA takedown notice." },
        summary: "Takedown fault-matrix test",
        captcha: None,
        base_revision: None,
        create: CreatePolicy::default(),
    }
}

fn notice() -> Notice {
    let entity =
        |name: &str| Entity { name: name.into(), kind: EntityKind::Organization, ..Entity::default() };
    Notice {
        title: "DMCA notice to Example Org".into(),
        subject: "Copyright complaint".into(),
        language: "en".into(),
        works: vec![Work {
            description: "A photograph".into(),
            copyrighted_urls: vec!["https://photographer.example/lighthouse".into()],
            infringing_urls: vec!["https://commons.wiki.test/wiki/File:Lighthouse.jpg".into()],
        }],
        entity_roles: vec![
            EntityRole { role: Role::Recipient, entity: entity("Example Org") },
            EntityRole { role: Role::Sender, entity: entity("Photo Rights Ltd") },
        ],
        ..Notice::default()
    }
}

fn report() -> Report {
    Report {
        incident_summary: IncidentSummary {
            incident_type: IncidentType::ChildPornography,
            platform: Some("Wikimedia Commons".into()),
            escalate_to_high_priority: None,
            report_annotations: ReportAnnotations::default(),
            incident_date_time: time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
            incident_date_time_description: None,
        },
        internet_details: vec![WebPageIncident {
            urls: vec!["https://commons.wiki.test/wiki/File:Example.jpg".into()],
            additional_info: None,
            third_party_hosted_content: None,
        }],
        reporter: Reporter {
            reporting_person: Person {
                first_name: Some("Chris".into()),
                last_name: Some("Okafor".into()),
                phones: Vec::new(),
                emails: vec![Email { address: "tns@example.org".into(), kind: None, verified: None }],
            },
            contact_person: None,
            terms_of_service: None,
            legal_url: None,
        },
        persons_or_users_reported: Vec::new(),
        additional_info: Some("Made-up fault-matrix report; no real media.".into()),
    }
}

fn assert_names(error: &impl std::fmt::Display, name: &str) {
    let text = error.to_string();
    assert!(text.to_lowercase().contains(&name.to_lowercase()), "the error does not name {name}: {text}");
}

fn timed_out<E: takedown::services::call::ServiceFailure>(err: &CallError<E>) -> bool {
    matches!(err, CallError::Egress(EgressError::Timeout { .. }))
}

// === Lumen ===

#[test]
fn lumen_server_error_is_reported_once_as_maybe_stored() {
    let world = World::start("faults-lumen-500");
    world.fault(PeerService::Lumen, "notices", Fault::status(500));
    let err = world.lumen(&notice()).unwrap_err();
    assert!(matches!(err, CallError::Service(LumenError::ServerError(500, _))), "{err:?}");
    assert!(err.may_have_arrived(), "a 5xx from Lumen leaves the notice's fate unknown");
    assert_names(&err, "Lumen");
    assert_eq!(world.calls(PeerService::Lumen, "notices"), 1);
    world.assert_board(Service::Lumen, true, None, Some("HTTP 500"));
}

#[test]
fn lumen_timeout_may_have_stored_the_notice_and_is_not_resent() {
    let world = World::start("faults-lumen-timeout");
    world.fault(PeerService::Lumen, "notices", Fault::delay(NEVER));
    let err = world.lumen(&notice()).unwrap_err();
    assert!(timed_out(&err) && err.may_have_arrived(), "{err:?}");
    assert_names(&err, "lumen");
    world.await_calls(PeerService::Lumen, "notices", 1);
    assert_eq!(world.calls(PeerService::Lumen, "notices"), 1);
    assert_eq!(world.notices_stored(), 1, "the peer stored it: this is why the error says to check first");
    world.assert_board(Service::Lumen, false, None, Some("no complete answer within 4 s"));
}

#[test]
fn lumen_malformed_answer_is_a_typed_error() {
    let world = World::start("faults-lumen-malformed");
    // Lumen's answer to a stored notice is its status and Location; a garbled body beside them
    // changes nothing.
    world.fault(PeerService::Lumen, "notices", Fault { malformed: true, times: Some(1), ..Fault::default() });
    world.lumen(&notice()).unwrap();
    // A refusal whose body is not Lumen's JSON cannot be read as field errors.
    let garbled = Fault {
        status: Some(422),
        body: Some("{\"notice\": [garbled".into()),
        content_type: Some("application/json".into()),
        ..Fault::default()
    };
    world.fault(PeerService::Lumen, "notices", garbled);
    let err = world.lumen(&notice()).unwrap_err();
    assert!(matches!(err, CallError::Service(LumenError::Validation(_))), "{err:?}");
    assert!(err.to_string().contains("could be read"), "{err}");
    assert!(!err.may_have_arrived(), "a 422 is Lumen refusing the notice, whatever its body says");
    assert_names(&err, "Lumen");
    assert_eq!(world.calls(PeerService::Lumen, "notices"), 2);
    assert_eq!(world.notices_stored(), 1);
    world.assert_board(Service::Lumen, true, Some(true), Some("Lumen"));
}

#[test]
fn lumen_refused_token_shows_as_not_signed_in() {
    let world = World::start_with(
        "faults-lumen-auth",
        Tweaks { lumen_token: Some("wrong-token"), ..Tweaks::default() },
    );
    let err = world.lumen(&notice()).unwrap_err();
    assert!(matches!(err, CallError::Service(LumenError::TokenRefused)), "{err:?}");
    assert!(err.is_auth_failure() && !err.may_have_arrived());
    world.assert_board(Service::Lumen, true, Some(false), Some("token"));
    assert_eq!(world.calls(PeerService::Lumen, "notices"), 1, "a refused token is not tried again");
    assert_eq!(world.notices_stored(), 0);
}

#[test]
fn lumen_slow_answer_within_the_limit_succeeds() {
    let world = World::slow("faults-lumen-slow");
    world.fault(PeerService::Lumen, "notices", Fault::delay(SLOW));
    world.lumen(&notice()).unwrap();
    world.assert_board(Service::Lumen, true, Some(true), None);
    assert_eq!((world.calls(PeerService::Lumen, "notices"), world.notices_stored()), (1, 1));
}

#[test]
fn lumen_upload_cut_off_half_way_may_have_arrived() {
    let world = World::start("faults-lumen-partial");
    world.fault(PeerService::Lumen, "notices", Fault { drop_connection: true, ..Fault::default() });
    let mut notice = notice();
    notice.attachments.push(Attachment {
        kind: AttachmentKind::Original,
        file_name: "notice.pdf".into(),
        content_type: "application/pdf",
        data: Bytes::from_static(b"%PDF-1.4 made-up notice"),
    });
    let err = world.lumen(&notice).unwrap_err();
    assert!(matches!(err, CallError::Egress(EgressError::Interrupted { .. })), "{err:?}");
    assert!(err.may_have_arrived());
    assert_eq!(world.calls(PeerService::Lumen, "notices"), 1);
    assert_eq!(world.notices_stored(), 1);
    world.assert_board(Service::Lumen, false, None, Some("lumen: the connection broke"));
}

// === NCMEC ===

#[test]
fn ncmec_server_error_on_submit_may_have_opened_a_report_and_is_not_repeated() {
    let world = World::start("faults-ncmec-500");
    // NCMEC opened the report, then its gateway answered 500: only a client that never sends
    // the submit twice leaves exactly one report, and only one that says the request may have
    // arrived sends the saga to look for it.
    world.fault(PeerService::Ncmec, "submit", Fault::status_after_processing(500));
    let client = world.clients.ncmec(Environment::Test).unwrap();
    let err = world.runtime.block_on(client.submit(&CallContext::system(), &report())).unwrap_err();
    assert!(matches!(err, CallError::Service(NcmecError::HttpStatus { status: 500, .. })), "{err:?}");
    assert!(err.may_have_arrived(), "a 500 after the submit leaves the report's fate unknown");
    assert_names(&err, "NCMEC");
    assert_eq!(world.calls(PeerService::Ncmec, "submit"), 1);
    let reports = world.ncmec_reports();
    assert_eq!(reports.len(), 1, "one report, not a second from a repeated submit: {reports:?}");
    assert_eq!(reports[0]["state"], "open", "{reports:?}");
    world.assert_board(Service::Ncmec, true, None, Some("500"));
}

#[test]
fn ncmec_timeout_on_submit_leaves_an_open_report_to_retract() {
    let world = World::start("faults-ncmec-timeout");
    world.fault(PeerService::Ncmec, "submit", Fault::delay(NEVER));
    let client = world.clients.ncmec(Environment::Test).unwrap();
    let err = world.runtime.block_on(client.submit(&CallContext::system(), &report())).unwrap_err();
    assert!(timed_out(&err) && err.may_have_arrived(), "{err:?}");
    world.await_calls(PeerService::Ncmec, "submit", 1);
    assert_eq!(world.calls(PeerService::Ncmec, "submit"), 1);
    world.assert_board(Service::Ncmec, false, None, Some("no complete answer within 4 s"));
    let reports = world.ncmec_reports();
    assert_eq!(reports.len(), 1, "the report exists at NCMEC though we never heard its id");
    assert_eq!(reports[0]["state"], "open", "{reports:?}");
    let id = reports[0]["id"].as_u64().unwrap();
    let retracted = world.runtime.block_on(client.retract(&CallContext::system(), id)).unwrap();
    assert_eq!(retracted.code, ResponseCode::Success);
}

#[test]
fn ncmec_malformed_status_answer_is_a_typed_error() {
    let world = World::start("faults-ncmec-malformed");
    world.fault(PeerService::Ncmec, "status", Fault { malformed: true, ..Fault::default() });
    let client = world.clients.ncmec(Environment::Test).unwrap();
    let err = world.runtime.block_on(client.status(&CallContext::system())).unwrap_err();
    assert!(matches!(err, CallError::Service(NcmecError::Malformed { .. })), "{err:?}");
    assert!(err.may_have_arrived(), "an answer we cannot read may hide an action");
    assert_names(&err, "NCMEC");
    assert_eq!(world.calls(PeerService::Ncmec, "status"), 1);
    world.assert_board(Service::Ncmec, true, None, Some("NCMEC"));
}

#[test]
fn ncmec_wrong_password_shows_as_not_signed_in() {
    let world =
        World::start_with("faults-ncmec-auth", Tweaks { ncmec_password: Some("wrong"), ..Tweaks::default() });
    world.runtime.block_on(world.clients.check_all());
    world.assert_board(Service::Ncmec, true, Some(false), Some("NCMEC"));
    let client = world.clients.ncmec(Environment::Test).unwrap();
    let err = world.runtime.block_on(client.submit(&CallContext::system(), &report())).unwrap_err();
    assert!(
        matches!(
            err,
            CallError::Service(NcmecError::Rejected { code: ResponseCode::AuthenticationRequired, .. })
        ),
        "{err:?}"
    );
    assert!(!err.may_have_arrived(), "NCMEC refused the credentials before acting");
    assert_eq!(world.calls(PeerService::Ncmec, "submit"), 1, "a refused password is not tried again");
    assert!(world.ncmec_reports().is_empty());
}

#[test]
fn ncmec_slow_status_within_the_limit_succeeds() {
    let world = World::slow("faults-ncmec-slow");
    world.fault(PeerService::Ncmec, "status", Fault::delay(SLOW));
    world.runtime.block_on(world.clients.check_all());
    world.assert_board(Service::Ncmec, true, Some(true), None);
    assert_eq!(world.calls(PeerService::Ncmec, "status"), 1);
}

#[test]
fn ncmec_upload_broken_half_way_is_retracted_and_cannot_be_finished() {
    let world = World::start("faults-ncmec-partial");
    let client = world.clients.ncmec(Environment::Test).unwrap();
    let context = CallContext::system();
    let submitted = world.runtime.block_on(client.submit(&context, &report())).unwrap();
    // The first file goes through; the connection drops at the second.
    world.fault(
        PeerService::Ncmec,
        "upload",
        Fault { drop_connection: true, from_call: 2, times: Some(1), ..Fault::default() },
    );
    let image = Bytes::from_static(b"made-up image bytes, not media");
    let first = world
        .runtime
        .block_on(client.upload(&context, submitted.report_id, "first.jpg", "image/jpeg", image.clone()))
        .unwrap();
    assert!(!first.file_id.is_empty());
    let err = world
        .runtime
        .block_on(client.upload(&context, submitted.report_id, "example.jpg", "image/jpeg", image.clone()))
        .unwrap_err();
    assert!(matches!(err, CallError::Egress(EgressError::Interrupted { .. })), "{err:?}");
    assert!(err.may_have_arrived(), "{err:?}");
    assert_eq!(world.calls(PeerService::Ncmec, "upload"), 2);
    world.assert_board(Service::Ncmec, false, Some(true), Some("ncmec: the connection broke"));
    let retracted = world.runtime.block_on(client.retract(&context, submitted.report_id)).unwrap();
    assert_eq!(retracted.code, ResponseCode::Success);
    let reports = world.ncmec_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["state"], "retracted", "{reports:?}");
    let retracted_code = |err: &CallError<NcmecError>| {
        matches!(
            err.service_error(),
            Some(NcmecError::Rejected { code: ResponseCode::ReportAlreadyRetracted, .. })
        )
    };
    let err = world.runtime.block_on(client.finish(&context, submitted.report_id)).unwrap_err();
    assert!(retracted_code(&err), "{err:?}");
    assert!(!err.may_have_arrived(), "NCMEC stated its refusal");
    let upload = world
        .runtime
        .block_on(client.upload(&context, submitted.report_id, "example.jpg", "image/jpeg", image))
        .unwrap_err();
    assert!(retracted_code(&upload), "{upload:?}");
}

// === Salesforce ===

#[test]
fn salesforce_server_error_is_reported_once() {
    let world = World::start("faults-salesforce-500");
    // Salesforce saved the Case, then answered 500: the error must say so may have happened,
    // and the client must not have sent the upsert again.
    world.fault(PeerService::Salesforce, "case-upsert", Fault::status_after_processing(500));
    let err = world.upsert("TD-1", "A notice").unwrap_err();
    assert!(matches!(err, CallError::Service(SalesforceError::Unavailable { status: 500, .. })), "{err:?}");
    assert!(err.may_have_arrived(), "a 500 after an upsert leaves the Case's fate unknown");
    assert_names(&err, "Salesforce");
    assert_eq!(world.calls(PeerService::Salesforce, "case-upsert"), 1);
    world.assert_board(Service::Salesforce, true, Some(true), Some("500"));
}

#[test]
fn salesforce_timeout_then_retry_updates_the_same_case() {
    let world = World::start("faults-salesforce-timeout");
    world.fault(
        PeerService::Salesforce,
        "case-upsert",
        Fault { delay: Some(NEVER), times: Some(1), ..Fault::default() },
    );
    let err = world.upsert("TD-2", "A notice").unwrap_err();
    assert!(timed_out(&err) && err.may_have_arrived(), "{err:?}");
    world.await_calls(PeerService::Salesforce, "case-upsert", 1);
    assert_eq!(
        world.calls(PeerService::Salesforce, "case-upsert"),
        1,
        "the timed-out upsert is not repeated"
    );
    world.assert_board(Service::Salesforce, false, Some(true), Some("no complete answer within 4 s"));
    let (id, created) = world.upsert("TD-2", "A notice").unwrap();
    assert!(!created, "the first upsert did create the Case; the retry must update it, not duplicate it");
    let (again, _) = world.upsert("TD-2", "A notice, corrected").unwrap();
    assert_eq!(id, again);
    let cases = world.peers.peers.snapshot(PeerService::Salesforce)["cases"].as_array().unwrap().len();
    assert_eq!(cases, 1);
}

#[test]
fn salesforce_several_cases_with_one_external_id_is_a_typed_error_not_a_redirect() {
    let world = World::start("faults-salesforce-300");
    let several = Fault {
        status: Some(300),
        body: Some(r#"["/services/data/v67.0/sobjects/Case/500000000000001AAA","/services/data/v67.0/sobjects/Case/500000000000002AAA"]"#.into()),
        content_type: Some("application/json".into()),
        ..Fault::default()
    };
    world.fault(PeerService::Salesforce, "case-upsert", several);
    let err = world.upsert("TD-7", "A notice").unwrap_err();
    assert!(matches!(err, CallError::Service(SalesforceError::AmbiguousExternalId { count: 2 })), "{err:?}");
    assert!(!err.may_have_arrived(), "Salesforce refuses an ambiguous upsert before saving");
    assert_eq!(world.calls(PeerService::Salesforce, "case-upsert"), 1);
    world.assert_board(Service::Salesforce, true, Some(true), Some("Salesforce"));
}

#[test]
fn salesforce_malformed_token_answer_stops_before_any_case_call() {
    let world = World::start("faults-salesforce-malformed");
    world.fault(PeerService::Salesforce, "token", Fault { malformed: true, ..Fault::default() });
    let err = world.upsert("TD-3", "A notice").unwrap_err();
    assert!(
        matches!(&err, CallError::NotSent { cause, .. }
            if matches!(&**cause, CallError::Service(SalesforceError::NotJson { status: 200, excerpt, .. })
                if excerpt.contains("withheld"))),
        "{err:?}"
    );
    assert!(!err.may_have_arrived(), "the Case request was never sent");
    assert_names(&err, "Salesforce");
    assert_eq!(world.calls(PeerService::Salesforce, "token"), 1);
    assert_eq!(world.calls(PeerService::Salesforce, "case-upsert"), 0);
    world.assert_board(Service::Salesforce, true, None, Some("Salesforce"));
}

#[test]
fn salesforce_token_timeout_means_the_file_was_not_sent() {
    let world = World::start("faults-salesforce-token-timeout");
    world.fault(PeerService::Salesforce, "token", Fault::delay(NEVER));
    let client = world.clients.salesforce.as_ref().unwrap();
    let case = takedown::services::salesforce::wire::SalesforceId::parse("500000000000001AAA").unwrap();
    let pdf = Bytes::from_static(b"%PDF-1.4 made-up notice");
    let err = world
        .runtime
        .block_on(client.attach_file(&CallContext::system(), &case, "Notice", "notice.pdf", pdf))
        .unwrap_err();
    assert!(matches!(&err, CallError::NotSent { cause, .. } if timed_out(cause)), "{err:?}");
    assert!(!err.may_have_arrived(), "only the token request timed out; the file was never sent");
    world.await_calls(PeerService::Salesforce, "token", 1);
    assert_eq!(world.calls(PeerService::Salesforce, "token"), 1);
    assert_eq!(world.calls(PeerService::Salesforce, "content-version"), 0);
    world.assert_board(Service::Salesforce, false, None, Some("no complete answer within 4 s"));
}

#[test]
fn salesforce_expired_session_is_renewed_once_and_the_upsert_repeated() {
    let world = World::start("faults-salesforce-session");
    world.upsert("TD-4", "First").unwrap();
    let body = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
    world.fault(
        PeerService::Salesforce,
        "case-upsert",
        Fault {
            status: Some(401),
            body: Some(body.into()),
            content_type: Some("application/json".into()),
            times: Some(1),
            ..Fault::default()
        },
    );
    let (_, created) = world.upsert("TD-4", "Second").unwrap();
    assert!(!created);
    assert_eq!(world.calls(PeerService::Salesforce, "token"), 2, "one renewal");
    assert_eq!(world.calls(PeerService::Salesforce, "case-upsert"), 3, "first, refused, repeated");
    world.assert_board(Service::Salesforce, true, Some(true), Some("INVALID_SESSION_ID"));
}

#[test]
fn salesforce_refused_grant_shows_as_not_signed_in() {
    let world = World::start_with(
        "faults-salesforce-auth",
        Tweaks { salesforce_client_id: Some("not-our-consumer-key"), ..Tweaks::default() },
    );
    let err = world.upsert("TD-5", "A notice").unwrap_err();
    assert!(matches!(err.service_error(), Some(SalesforceError::OAuth { .. })), "{err:?}");
    assert!(matches!(err, CallError::NotSent { .. }), "the grant is a step before the upsert: {err:?}");
    assert!(err.is_auth_failure() && !err.may_have_arrived());
    world.assert_board(Service::Salesforce, true, Some(false), Some("Salesforce"));
    assert_eq!(world.calls(PeerService::Salesforce, "token"), 1, "a refused grant is not tried again");
    assert_eq!(world.calls(PeerService::Salesforce, "case-upsert"), 0);
}

#[test]
fn salesforce_slow_token_within_the_limit_succeeds() {
    let world = World::slow("faults-salesforce-slow");
    world.fault(PeerService::Salesforce, "token", Fault::delay(SLOW));
    world.runtime.block_on(world.clients.check_all());
    world.assert_board(Service::Salesforce, true, Some(true), None);
    assert_eq!(world.calls(PeerService::Salesforce, "token"), 1);
}

#[test]
fn salesforce_attachment_failing_after_the_case_leaves_one_case_and_one_file() {
    let world = World::start("faults-salesforce-partial");
    let (id, created) = world.upsert("TD-6", "A notice").unwrap();
    assert!(created);
    world.fault(
        PeerService::Salesforce,
        "content-version",
        Fault { status: Some(503), times: Some(1), ..Fault::default() },
    );
    let client = world.clients.salesforce.as_ref().unwrap();
    let case = takedown::services::salesforce::wire::SalesforceId::parse(&id).unwrap();
    let pdf = Bytes::from_static(b"%PDF-1.4 made-up notice");
    let err = world
        .runtime
        .block_on(client.attach_file(&CallContext::system(), &case, "Notice", "notice.pdf", pdf.clone()))
        .unwrap_err();
    assert!(matches!(err, CallError::Service(SalesforceError::Unavailable { status: 503, .. })), "{err:?}");
    assert!(err.may_have_arrived(), "a 503 to a file upload leaves its fate unknown");
    assert_names(&err, "Salesforce");
    assert_eq!(world.calls(PeerService::Salesforce, "content-version"), 1, "a file is never repeated");
    world.assert_board(Service::Salesforce, true, Some(true), Some("503"));
    // Resuming: the Case step is repeated (idempotent), the file step once more.
    let (again, created) = world.upsert("TD-6", "A notice").unwrap();
    assert_eq!((again.as_str(), created), (id.as_str(), false));
    world
        .runtime
        .block_on(client.attach_file(&CallContext::system(), &case, "Notice", "notice.pdf", pdf))
        .unwrap();
    let snapshot = world.peers.peers.snapshot(PeerService::Salesforce);
    assert_eq!(snapshot["cases"].as_array().unwrap().len(), 1);
    assert_eq!(snapshot["content_versions"].as_array().unwrap().len(), 1, "{snapshot}");
}

// === Wiki ===

#[test]
fn wiki_server_error_on_an_edit_is_not_repeated() {
    let world = World::start("faults-wiki-500");
    // The wiki saved the edit, then answered 500: a repeat would save it twice.
    world.fault(PeerService::Wiki, "action=edit", Fault::status_after_processing(500));
    let err = world.bot_edit("Takedown fault 500").unwrap_err();
    assert!(matches!(err, CallError::Service(WikiError::HttpStatus { status: 500, .. })), "{err:?}");
    assert!(err.may_have_arrived(), "a 5xx after a write leaves its fate unknown");
    assert_names(&err, "wiki");
    assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 1, "a write is never repeated after a 5xx");
    assert_eq!(world.saved_edits(), 1);
    world.assert_board(Service::Wiki, true, Some(true), Some("500"));
}

#[test]
fn wiki_timeout_on_an_edit_may_have_saved_it() {
    let world = World::start("faults-wiki-timeout");
    world.fault(PeerService::Wiki, "action=edit", Fault::delay(NEVER));
    let err = world.bot_edit("Takedown fault timeout").unwrap_err();
    assert!(timed_out(&err) && err.may_have_arrived(), "{err:?}");
    world.await_calls(PeerService::Wiki, "action=edit", 1);
    assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 1);
    assert_eq!(world.saved_edits(), 1, "the wiki saved it: this is why the error says to check first");
    world.assert_board(Service::Wiki, false, Some(true), Some("wiki"));
}

#[test]
fn wiki_malformed_answer_to_a_read_is_a_typed_error() {
    let world = World::start("faults-wiki-malformed");
    world.fault(PeerService::Wiki, "action=query", Fault { malformed: true, ..Fault::default() });
    let wiki = world.clients.wiki.as_ref().unwrap();
    let err = world
        .runtime
        .block_on(wiki.file_info(&CallContext::system(), wiki.meta_api(), Acting::Anonymous, &["File:X.jpg"]))
        .unwrap_err();
    assert!(matches!(err, CallError::Service(WikiError::NotJson { status: 200, .. })), "{err:?}");
    assert!(err.may_have_arrived(), "an unreadable answer says nothing about what the wiki did");
    assert_names(&err, "wiki");
    assert_eq!(world.calls(PeerService::Wiki, "action=query"), 1, "a garbled answer is not asked for again");
    world.assert_board(Service::Wiki, true, None, Some("wiki"));
}

#[test]
fn wiki_wrong_bot_password_and_unconnected_staff_are_refused() {
    let world = World::start_with(
        "faults-wiki-auth",
        Tweaks { wiki_bot_password: Some("00000000000000000000000000000000"), ..Tweaks::default() },
    );
    let err = world.bot_edit("Takedown fault auth").unwrap_err();
    assert!(matches!(err.service_error(), Some(WikiError::Login(_))), "{err:?}");
    assert!(err.is_auth_failure() && !err.may_have_arrived());
    assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 0);
    assert_eq!(world.calls(PeerService::Wiki, "action=login"), 1, "a refused password is not tried again");
    world.assert_board(Service::Wiki, true, Some(false), Some("wiki"));
    let wiki = world.clients.wiki.as_ref().unwrap();
    let before = world.peers.peers.journal(PeerService::Wiki).len();
    let err = world
        .runtime
        .block_on(wiki.edit(&CallContext::system(), wiki.meta_api(), Acting::Staff("dmca-agent"), &edit("X")))
        .unwrap_err();
    assert!(matches!(err, CallError::NotSent { .. }) && !err.may_have_arrived(), "{err:?}");
    assert!(err.to_string().contains("has not connected a wiki account") && !err.is_auth_failure(), "{err}");
    assert_eq!(world.peers.peers.journal(PeerService::Wiki).len(), before, "nothing sent without a grant");
}

#[test]
fn wiki_slow_answers_within_the_limit_succeed() {
    let world = World::slow("faults-wiki-slow");
    world.fault(PeerService::Wiki, "action=edit", Fault::delay(SLOW));
    assert!(matches!(world.bot_edit("Takedown fault slow").unwrap(), EditOutcome::Saved(_)));
    assert_eq!((world.calls(PeerService::Wiki, "action=edit"), world.saved_edits()), (1, 1));
    world.assert_board(Service::Wiki, true, Some(true), None);
}

#[test]
fn wiki_replication_lag_is_waited_out_as_the_wiki_asks_and_the_edit_made_once() {
    let world = World::start("faults-wiki-maxlag");
    let lagged = Fault {
        status: Some(200),
        body: Some(
            r#"{"errors":[{"code":"maxlag","text":"Waiting for 10.64.48.35: 2 seconds lagged.","data":{"host":"10.64.48.35","lag":2,"type":"db"},"module":"main"}]}"#
                .into(),
        ),
        content_type: Some("application/json; charset=utf-8".into()),
        headers: vec![("mediawiki-api-error".into(), "maxlag".into()), ("retry-after".into(), "1".into())],
        times: Some(1),
        ..Fault::default()
    };
    world.fault(PeerService::Wiki, "action=edit", lagged);
    let started = std::time::Instant::now();
    assert!(matches!(world.bot_edit("Takedown fault maxlag").unwrap(), EditOutcome::Saved(_)));
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 2, "the lagged try was refused before acting");
    assert_eq!(world.saved_edits(), 1);
    world.assert_board(Service::Wiki, true, Some(true), Some("maxlag"));
}

#[test]
fn wiki_oauth_broken_at_the_token_step_can_be_started_again_and_then_edits_as_the_staff_member() {
    let world = World::start("faults-wiki-partial");
    let wiki = world.clients.wiki.as_ref().unwrap();
    let staff = "dmca-agent";
    let context = CallContext::system();
    world.fault(
        PeerService::Wiki,
        "oauth2/access_token",
        Fault { status: Some(500), times: Some(1), ..Fault::default() },
    );
    let query = approve(&world, &wiki.begin_authorization(staff).unwrap());
    let Err(err) = world.runtime.block_on(wiki.complete_authorization(&context, staff, &query)) else {
        panic!("the token step failed, so no grant")
    };
    assert!(matches!(err, CallError::Service(WikiError::HttpStatus { status: 500, .. })), "{err:?}");
    assert_names(&err, "wiki");
    assert_eq!(world.calls(PeerService::Wiki, "oauth2/access_token"), 1, "a code is exchanged once");
    assert_eq!(wiki.connection(staff), WikiConnection::NotConnected);
    // The same callback cannot be replayed: its authorization is spent.
    let replay = world.runtime.block_on(wiki.complete_authorization(&context, staff, &query));
    assert!(matches!(replay, Err(CallError::Service(WikiError::OAuthStateMismatch))), "{:?}", replay.err());
    assert_eq!(world.calls(PeerService::Wiki, "oauth2/access_token"), 1, "the replay was refused here");
    let query = approve(&world, &wiki.begin_authorization(staff).unwrap());
    let grant = world.runtime.block_on(wiki.complete_authorization(&context, staff, &query)).unwrap();
    // Not in use until kept (the handler keeps it once the connection is audited).
    assert_eq!(wiki.connection(staff), WikiConnection::NotConnected);
    let profile = grant.profile.clone();
    wiki.keep_grant(staff, grant);
    assert!(matches!(wiki.connection(staff), WikiConnection::Connected { .. }));
    let outcome = world
        .runtime
        .block_on(wiki.edit(&context, wiki.meta_api(), Acting::Staff(staff), &edit("Takedown OAuth edit")))
        .unwrap();
    assert!(matches!(outcome, EditOutcome::Saved(_)), "{outcome:?}");
    let edits: Vec<serde_json::Value> = world
        .peers
        .peers
        .journal(PeerService::Wiki)
        .into_iter()
        .filter(|e| e["endpoint"] == "action=edit")
        .collect();
    assert_eq!(edits.len(), 1);
    let text = edits[0].to_string();
    assert!(
        text.contains(profile.username.as_deref().unwrap()),
        "the edit was made as the staff member: {text}"
    );
}

/// Plays the browser at the meta wiki's consent page (the peer approves at once) and returns
/// the query string it redirects back with.
fn approve(world: &World, authorize: &Url) -> String {
    let location = world.runtime.block_on(crate::harness::consent_at_meta(&world.peers, authorize.as_str()));
    assert!(location.as_str().starts_with("https://takedown.test/wiki/callback?"), "{location}");
    let _ = &world.dir;
    location.query().unwrap().to_owned()
}

// === The wiki client's retry rules ===
//
// SECURITY.md (section 2): the wiki client repeats a request only where that cannot duplicate
// anything — a write refused with `badtoken` once, after one new CSRF token; a request the wiki
// refused before acting (maxlag, throttling, read-only), waiting as `Retry-After` asks up to
// 10 s, three tries in all; a read answered 502, 503 or 504. Each rule is shown below by the
// requests the simulated wiki received.

/// An api.php error answered before acting, as MediaWiki sends it (`errorformat=plaintext`).
fn api_refusal(code: &str, text: &str, data: &str, retry_after: Option<&str>) -> Fault {
    let mut headers = vec![("mediawiki-api-error".to_owned(), code.to_owned())];
    if let Some(seconds) = retry_after {
        headers.push(("retry-after".to_owned(), seconds.to_owned()));
    }
    Fault {
        status: Some(200),
        body: Some(format!(
            r#"{{"errors":[{{"code":"{code}","text":"{text}","data":{data},"module":"main"}}]}}"#
        )),
        content_type: Some("application/json; charset=utf-8".into()),
        headers,
        ..Fault::default()
    }
}

impl World {
    /// How many CSRF tokens the wiki handed out.
    fn csrf_requests(&self) -> usize {
        let journal = self.peers.peers.journal(PeerService::Wiki);
        let csrf = |e: &&serde_json::Value| {
            e["received"]["tokens"].as_array().is_some_and(|types| types.iter().any(|t| t == "csrf"))
        };
        journal.iter().filter(csrf).count()
    }

    fn read_file_info(&self) -> Result<(), CallError<WikiError>> {
        let wiki = self.clients.wiki.as_ref().unwrap();
        let context = CallContext::system();
        let call = wiki.file_info(&context, wiki.meta_api(), Acting::Anonymous, &["File:X.jpg"]);
        self.runtime.block_on(call).map(drop)
    }
}

#[test]
fn wiki_badtoken_gets_one_new_csrf_token_and_one_more_try_and_no_third() {
    let world = World::start("faults-wiki-badtoken");
    let badtoken = |times| Fault { times, ..api_refusal("badtoken", "Invalid CSRF token.", "{}", None) };
    world.fault(PeerService::Wiki, "action=edit", badtoken(Some(1)));
    assert!(matches!(world.bot_edit("Takedown badtoken once").unwrap(), EditOutcome::Saved(_)));
    assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 2, "refused, then repeated with a new token");
    assert_eq!(world.csrf_requests(), 2, "one token per try");
    assert_eq!(world.saved_edits(), 1);
    // A wiki that keeps refusing the token gets one more try, not a loop.
    world.fault(PeerService::Wiki, "action=edit", badtoken(None));
    let edits_before = world.calls(PeerService::Wiki, "action=edit");
    let err = world.bot_edit("Takedown badtoken always").unwrap_err();
    assert!(matches!(err.service_error().and_then(WikiError::api_code), Some(ApiCode::BadToken)), "{err:?}");
    assert!(!err.may_have_arrived(), "the wiki refused the token before acting");
    assert_eq!(world.calls(PeerService::Wiki, "action=edit") - edits_before, 2, "two tries, not a loop");
    assert_eq!(world.csrf_requests(), 4);
    assert_eq!(world.saved_edits(), 1);
    world.assert_board(Service::Wiki, true, Some(true), Some("badtoken"));
}

#[test]
fn wiki_reads_answered_502_503_or_504_are_repeated_up_to_three_tries_and_writes_never() {
    let world = World::start("faults-wiki-gateway");
    let reads = || world.calls(PeerService::Wiki, "action=query");
    for status in [502, 503, 504] {
        world.fault(PeerService::Wiki, "action=query", Fault { times: Some(1), ..Fault::status(status) });
        let before = reads();
        world
            .read_file_info()
            .unwrap_or_else(|err| panic!("a read after one {status} should succeed: {err:?}"));
        assert_eq!(reads() - before, 2, "HTTP {status}: refused, then repeated");
    }
    // Three tries, then the error.
    world.fault(PeerService::Wiki, "action=query", Fault::status(503));
    let before = reads();
    let err = world.read_file_info().unwrap_err();
    assert!(matches!(err, CallError::Service(WikiError::Unavailable { status: 503, .. })), "{err:?}");
    assert_eq!(reads() - before, 3);
    world.assert_board(Service::Wiki, true, None, Some("503"));
    // A write answered 503 may have been saved behind the gateway: never repeated.
    let world = World::start("faults-wiki-gateway-write");
    world.fault(PeerService::Wiki, "action=edit", Fault::status_after_processing(503));
    let err = world.bot_edit("Takedown gateway write").unwrap_err();
    assert!(matches!(err, CallError::Service(WikiError::Unavailable { status: 503, .. })), "{err:?}");
    assert!(err.may_have_arrived());
    assert_eq!((world.calls(PeerService::Wiki, "action=edit"), world.saved_edits()), (1, 1));
}

#[test]
fn wiki_read_only_and_throttled_writes_are_repeated_once_the_wiki_lets_them() {
    let readonly = api_refusal(
        "readonly",
        "The wiki is currently in read-only mode.",
        r#"{"readonlyreason":"Database maintenance"}"#,
        None,
    );
    let ratelimited = api_refusal(
        "ratelimited",
        "As an anti-abuse measure, you are limited from performing this action too many times.",
        "{}",
        None,
    );
    let gateway_429 = Fault { headers: vec![("retry-after".into(), "1".into())], ..Fault::status(429) };
    for (name, fault) in [("read-only", readonly), ("ratelimited", ratelimited), ("HTTP 429", gateway_429)] {
        let world = World::start("faults-wiki-refused-before-acting");
        world.fault(PeerService::Wiki, "action=edit", Fault { times: Some(1), ..fault });
        let outcome = world.bot_edit("Takedown refused before acting");
        assert!(matches!(outcome, Ok(EditOutcome::Saved(_))), "{name}: {outcome:?}");
        assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 2, "{name}: refused, then repeated");
        assert_eq!(world.saved_edits(), 1, "{name}");
    }
}

#[test]
fn wiki_waits_for_lag_at_most_three_tries_and_not_at_all_when_asked_to_wait_over_ten_seconds() {
    let world = World::start("faults-wiki-lag-cap");
    let lagged = |seconds: &str| {
        api_refusal(
            "maxlag",
            "Waiting for 10.64.48.35: 2 seconds lagged.",
            r#"{"lag":2,"type":"db"}"#,
            Some(seconds),
        )
    };
    world.fault(PeerService::Wiki, "action=edit", lagged("1"));
    let err = world.bot_edit("Takedown lag forever").unwrap_err();
    assert!(matches!(err, CallError::Service(WikiError::Lagged { .. })), "{err:?}");
    assert!(!err.may_have_arrived());
    assert_eq!(world.calls(PeerService::Wiki, "action=edit"), 3, "three tries in all");
    // Asked to wait 30 s (over the 10 s cap): the error at once, the request not repeated.
    for fault in
        [lagged("30"), Fault { headers: vec![("retry-after".into(), "30".into())], ..Fault::status(429) }]
    {
        world.fault(PeerService::Wiki, "action=edit", fault);
        let before = world.calls(PeerService::Wiki, "action=edit");
        let started = std::time::Instant::now();
        let err = world.bot_edit("Takedown asked to wait too long").unwrap_err();
        assert_eq!(
            err.service_error().and_then(WikiError::retry_after),
            Some(Duration::from_secs(30)),
            "{err:?}"
        );
        assert_eq!(world.calls(PeerService::Wiki, "action=edit") - before, 1, "not repeated: {err:?}");
        // Any wait at all would be at least the 10 s cap.
        assert!(started.elapsed() < MAX_WAIT, "the client waited {:?}", started.elapsed());
    }
    assert_eq!(world.saved_edits(), 0);
}
