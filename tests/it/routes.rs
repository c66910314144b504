//! Every route of the router's own table (`takedown::http::router::ROUTES`) against every
//! rostered person its access rule must refuse, with a real CSRF token of that person: the role
//! rule is the only guard on most of these routes (`Approval::decide`, for one, refuses only the
//! preparer), so each refusal is proved on the live daemon, not read off the table.
//!
//! What each route requires is written here again, from SECURITY.md, in an exhaustive `match` on
//! `Page`: a page added to the router does not compile here until this module says who may use
//! it and how to fill its path, and a route whose access changes fails the comparison with the
//! table. Each refusal must be a 403 naming the role needed, change nothing (no new audit entry
//! but the refusal's, no case revision, nothing at any external service), and be in the audit
//! log under the person, with the method, path and role.
//!
//! The demo build's simulated services configure the wiki, so that every person's home page
//! offers a form (connecting the wiki account) and so their CSRF token is had as a browser has
//! it; without them the auditor has no form at all.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use hyper::Method;
use takedown::audit::{Action, Actor, Outcome};
use takedown::cases::{CaseId, CaseKind};
use takedown::demo::services::SimulatedServices;
use takedown::http::router::{self, Access, Page, Route};
use takedown::identity::Role;
use takedown_peers::PeerService;

use crate::harness::{self, Daemon};

const BOUNDARY: &str = "routes-test-boundary";

/// Who may use each page, as SECURITY.md and the workflows describe it (not read from the
/// table: this is what the table is checked against).
fn required(page: Page) -> Access {
    match page {
        Page::Stylesheet => Access::AnyCertificate,
        Page::Home | Page::Cases | Page::Case | Page::WikiConnect | Page::WikiCallback => Access::AnyStaff,
        #[cfg(feature = "demo")]
        Page::MediaProbe | Page::MediaProbeForm => Access::AnyStaff,
        Page::CaseExport => Access::Role(Role::Exporter),
        Page::DmcaForm
        | Page::DmcaSubmit
        | Page::DmcaEditForm
        | Page::DmcaEdit
        | Page::DmcaStep
        | Page::DmcaNotice => Access::Role(Role::Dmca),
        Page::CpForm
        | Page::CpSubmit
        | Page::CpApproveOutOfBand
        | Page::CpSend
        | Page::CpDiscardHeld
        | Page::CpSuppress
        | Page::NcmecRetractForm
        | Page::NcmecRetract => Access::Role(Role::ChildProtection),
        // Releasing a report to NCMEC, and sending images whose SHA-1 differs from the wiki's,
        // need a second person: the approver role is all that keeps anyone else out.
        Page::CpApprove | Page::CpDecideHeld => Access::Role(Role::Approver),
        Page::Roster | Page::AuditLog => Access::Role(Role::Auditor),
    }
}

/// The kind of case whose ID fills a page's `{case}`, and its other placeholders' values: real
/// ones (a step that exists, the first talk-page notice, the report's first file), so that
/// nothing but the access rule can refuse the request.
fn placeholders(page: Page) -> (Option<CaseKind>, &'static [(&'static str, &'static str)]) {
    match page {
        Page::Home
        | Page::Roster
        | Page::AuditLog
        | Page::Cases
        | Page::WikiConnect
        | Page::WikiCallback
        | Page::Stylesheet
        | Page::DmcaForm
        | Page::DmcaSubmit
        | Page::CpForm
        | Page::CpSubmit
        | Page::NcmecRetractForm
        | Page::NcmecRetract => (None, &[]),
        #[cfg(feature = "demo")]
        Page::MediaProbe | Page::MediaProbeForm => (None, &[]),
        Page::Case | Page::CaseExport => (Some(CaseKind::ChildProtection), &[]),
        Page::DmcaEditForm | Page::DmcaEdit => (Some(CaseKind::Dmca), &[]),
        Page::DmcaStep => (Some(CaseKind::Dmca), &[("step", "lumen")]),
        Page::DmcaNotice => (Some(CaseKind::Dmca), &[("notice", "user-talk-1")]),
        Page::CpApprove
        | Page::CpApproveOutOfBand
        | Page::CpSend
        | Page::CpDiscardHeld
        | Page::CpDecideHeld => (Some(CaseKind::ChildProtection), &[]),
        Page::CpSuppress => (Some(CaseKind::ChildProtection), &[("file", "0")]),
    }
}

/// The roles that open a case of `kind` (SECURITY.md section 1), the one a refusal names first.
fn readers(kind: CaseKind) -> &'static [Role] {
    match kind {
        CaseKind::Dmca => &[Role::Dmca, Role::Auditor, Role::Exporter],
        CaseKind::ChildProtection => &[Role::ChildProtection, Role::Approver, Role::Auditor, Role::Exporter],
        CaseKind::Log => &[Role::Auditor, Role::Exporter],
    }
}

/// `route`'s path with `{case}` set to `case` and its other placeholders filled; a placeholder
/// this module does not know fails the test.
fn path_of(route: &Route, case: Option<CaseId>) -> String {
    let (_, values) = placeholders(route.page);
    let mut path = route.path.to_owned();
    if let Some(case) = case {
        path = path.replace("{case}", &case.to_string());
    }
    for (name, value) in values {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(!path.contains('{'), "{} has a placeholder this test does not fill: {path}", route.path);
    path
}

/// Every route, the demo build's test routes included.
fn all_routes() -> Vec<&'static Route> {
    router::ROUTES.iter().chain(router::TEST_ROUTES).collect()
}

struct World {
    peers: SimulatedServices,
    daemon: Daemon,
    /// A case of each kind, made in the store as the daemon runs.
    cases: BTreeMap<&'static str, CaseId>,
    /// Each rostered person who can connect: their roles and a CSRF token from their home page.
    staff: Vec<Person>,
}

struct Person {
    login: &'static str,
    roles: Vec<Role>,
    token: String,
}

impl Person {
    fn may(&self, access: Access) -> bool {
        match access {
            Access::AnyCertificate | Access::AnyStaff => true,
            Access::Role(role) => self.roles.contains(&role),
        }
    }
}

fn kind_name(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Dmca => "dmca",
        CaseKind::ChildProtection => "child-protection",
        CaseKind::Log => "log",
    }
}

impl World {
    /// The daemon with the simulated services, `extra` appended to its config.
    async fn start(extra: &str) -> Self {
        let (peers, daemon) = harness::start_with_simulated_services("routes", extra, &[]);
        let store = harness::store_of(&daemon);
        let cases = BTreeMap::from([
            ("dmca", harness::create_case(&store, CaseKind::Dmca, "routes test notice")),
            (
                "child-protection",
                harness::create_case(&store, CaseKind::ChildProtection, "routes test report"),
            ),
        ]);
        let mut staff = Vec::new();
        for (login, roles) in harness::connecting_staff() {
            let home = daemon.client(login).get(daemon.url("/")).send().await.unwrap();
            assert_eq!(home.status(), 200, "{login}'s home page");
            let token = harness::csrf_token(&home.text().await.unwrap());
            let roles = roles.iter().map(|name| Role::from_str(name).unwrap()).collect();
            staff.push(Person { login, roles, token });
        }
        World { peers, daemon, cases, staff }
    }

    fn case(&self, kind: CaseKind) -> CaseId {
        self.cases[kind_name(kind)]
    }

    /// Sends `route` at `path` as `person` the way their browser would: from this origin, with
    /// their token (as the first field of a multipart body where the page takes uploads).
    async fn send(&self, person: &Person, route: &Route, path: &str) -> (u16, String) {
        let client = self.daemon.client(person.login);
        let url = self.daemon.url(path);
        let request = if route.method == Method::GET {
            client.get(url)
        } else if route.page.takes_uploads() {
            let body = format!(
                "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n--{BOUNDARY}--\r\n",
                person.token
            );
            client
                .request(route.method.clone(), url)
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .header("sec-fetch-site", "same-origin")
                .body(body)
        } else {
            client
                .request(route.method.clone(), url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "same-origin")
                .body(format!("csrf_token={}", person.token))
        };
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Sends the request and proves it refused for lacking `needed`: 403, the page names the
    /// role, and the one audit entry it made is the refusal, under the person, quoting method,
    /// path and role.
    async fn assert_refused(&self, person: &Person, route: &Route, path: &str, needed: Role) {
        let what = format!("{} {path} as {}", route.method, person.login);
        let before = harness::audit_log(&self.daemon).len();
        let (status, page) = self.send(person, route, path).await;
        assert_eq!(status, 403, "{what} must be refused for lacking the {needed} role: {page}");
        assert!(page.contains(&format!("This page needs the {needed} role")), "{what}: {page}");
        let log = harness::audit_log(&self.daemon);
        // The system's own entries (the background status checks' calls) interleave freely;
        // everything a person's request wrote must be the one refusal.
        let new: Vec<_> = log[before..].iter().filter(|e| e.actor != Actor::System).collect();
        assert_eq!(new.len(), 1, "{what}: the refusal and nothing else is recorded: {new:#?}");
        let entry = new[0];
        assert_eq!(
            (&entry.actor, entry.action, entry.outcome),
            (&Actor::Staff(person.login.to_owned()), Action::AccessDenied, Outcome::Refused),
            "{what}: {entry:#?}"
        );
        assert_eq!(entry.details, format!("{} {path}: missing role {needed}", route.method), "{what}");
    }

    /// What can change when a refused request is wrongly let through: a case's revisions, and
    /// anything at the external services.
    fn state(&self) -> (Vec<usize>, Vec<usize>) {
        let store = harness::store_of(&self.daemon);
        let revisions = self.cases.values().map(|id| store.case(*id).unwrap().len()).collect();
        let received =
            PeerService::ALL.iter().map(|service| self.peers.peers.journal(*service).len()).collect();
        (revisions, received)
    }
}

/// Every route that changes something, and every GET route with a role when `safe`, against
/// every person its rule refuses.
async fn each_role_refusal(safe: bool) {
    let world = World::start("").await;
    let before = world.state();
    let mut refusals = 0;
    for route in all_routes() {
        let is_safe = route.method == Method::GET || route.method == Method::HEAD;
        let Access::Role(needed) = required(route.page) else { continue };
        if is_safe != safe {
            continue;
        }
        let case = placeholders(route.page).0.map(|kind| world.case(kind));
        let path = path_of(route, case);
        for person in world.staff.iter().filter(|p| !p.roles.contains(&needed)) {
            world.assert_refused(person, route, &path, needed).await;
            refusals += 1;
        }
    }
    assert_eq!(world.state(), before, "a refused request changed a case or reached a service");
    assert!(refusals >= 20, "only {refusals} refusals tried: is the table or the roster empty?");
    // The table itself says what this module says, for the routes no one is refused by too.
    for route in all_routes() {
        assert_eq!(route.access, required(route.page), "{} {}", route.method, route.path);
    }
}

#[tokio::test]
async fn every_route_that_changes_something_refuses_each_person_without_its_role_and_audits_it() {
    each_role_refusal(false).await;
}

#[tokio::test]
async fn every_page_with_a_role_refuses_each_person_without_it_and_audits_it() {
    each_role_refusal(true).await;
}

#[tokio::test]
async fn a_case_route_refuses_a_person_with_the_routes_role_but_not_the_cases_kind() {
    // Suppression is offered, so its route reaches the case (otherwise it is a 404 before).
    let world = World::start("\n[child_protection]\nsuppress_on_wiki = true\n").await;
    let before = world.state();
    let mut refusals = 0;
    for route in all_routes() {
        if route.method == Method::GET || !route.path.contains("{case}") {
            continue;
        }
        for kind in [CaseKind::Dmca, CaseKind::ChildProtection] {
            let path = path_of(route, Some(world.case(kind)));
            let readers = readers(kind);
            for person in world.staff.iter().filter(|p| p.may(required(route.page))) {
                if !person.roles.iter().any(|role| readers.contains(role)) {
                    world.assert_refused(person, route, &path, readers[0]).await;
                    refusals += 1;
                }
            }
        }
    }
    assert_eq!(world.state(), before, "a refused request changed a case or reached a service");
    // The DMCA agent on each child-protection case route's DMCA counterparts and back: at least
    // the three DMCA case routes and the six child-protection ones.
    assert!(refusals >= 9, "only {refusals} refusals tried");
}
