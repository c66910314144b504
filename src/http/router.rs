//! The route table: every page, its method, and who may use it — declared in one place.
//!
//! Access is part of a route's declaration, so a handler cannot be added without saying who may
//! reach it, and [`authorize`] is the only code that decides.

use hyper::Method;

use crate::cases::CaseKind;
use crate::identity::{Caller, Role, Staff};

use super::error::HttpError;

/// The pages the appliance serves; [`super::dispatch`] maps each to its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/`: who you are and what you can do.
    Home,
    /// `/staff`: the roster, for auditors.
    Roster,
    /// `/audit`: the audit log and the chain's state, for auditors (each view audited).
    AuditLog,
    /// `/cases`: the cases the viewer's roles may read, newest first.
    Cases,
    /// `/cases/{case}`: one case, every revision (viewing it is audited).
    Case,
    /// `POST /cases/{case}/export`: an export of one case, encrypted to legal counsel.
    CaseExport,
    /// `POST /wiki/connect`: sends the browser to the meta wiki to grant the appliance access.
    WikiConnect,
    /// `/wiki/callback`: where the meta wiki sends the browser back with the grant.
    WikiCallback,
    /// `/static/style.css`: the stylesheet, compiled into the binary.
    Stylesheet,
    /// `GET /dmca/new`: the DMCA request form.
    DmcaForm,
    /// `POST /dmca/new`: records a DMCA request and runs its chosen steps.
    DmcaSubmit,
    /// `GET /cases/{case}/edit`: the form filled from a DMCA case, for a correction.
    DmcaEditForm,
    /// `POST /cases/{case}/edit`: records a correction and runs the steps not yet done.
    DmcaEdit,
    /// `POST /cases/{case}/steps/{step}`: runs Lumen or Salesforce again.
    DmcaStep,
    /// `POST /cases/{case}/notices/{notice}`: posts one wiki notice as the staff member.
    DmcaNotice,
    /// `GET /cp/new`: the child-protection report form.
    CpForm,
    /// `POST /cp/new`: records a child-protection report for approval.
    CpSubmit,
    /// `POST /cases/{case}/approval`: an approver approves or declines a report.
    CpApprove,
    /// `POST /cases/{case}/approval/out-of-band`: the preparer records an outside approval.
    CpApproveOutOfBand,
    /// `POST /cases/{case}/ncmec`: sends an approved report with its images to NCMEC.
    CpSend,
    /// `POST /cases/{case}/ncmec/held`: the sender discards the images held back after a SHA-1
    /// mismatch.
    CpDiscardHeld,
    /// `POST /cases/{case}/ncmec/held/waiver`: an approver who neither prepared the report nor
    /// sent the images confirms sending the held images (sent then, without a second upload) or
    /// refuses it.
    CpDecideHeld,
    /// `POST /cases/{case}/wiki/{file}`: deletes a reported file on the wiki and suppresses its
    /// old versions (where the deployment allows it).
    CpSuppress,
    /// `GET /ncmec/retract`: the retraction page.
    NcmecRetractForm,
    /// `POST /ncmec/retract`: retracts a report by its ID.
    NcmecRetract,
    /// `POST /test/media`: receives an upload into locked memory, shows its digests and drops
    /// it. Exists only in the demo build, for the memory-hygiene tests until the workflows have
    /// uploads of their own.
    #[cfg(feature = "demo")]
    MediaProbe,
    /// `GET /test/media` (demo build only): the form for [`Page::MediaProbe`].
    #[cfg(feature = "demo")]
    MediaProbeForm,
}

impl Page {
    /// Whether the page takes `multipart/form-data` uploads (received by [`crate::media`]); all
    /// other pages take URL-encoded forms only.
    pub fn takes_uploads(self) -> bool {
        match self {
            #[cfg(feature = "demo")]
            Page::MediaProbe => true,
            Page::DmcaSubmit | Page::DmcaEdit | Page::DmcaStep | Page::CpSend => true,
            _ => false,
        }
    }

    /// Whether the page's uploads are DMCA supporting documents, which may hold only their
    /// share of the media budget ([`crate::media::MediaBudget::reserve_documents`]); every
    /// other upload (child-protection images, the demo's test page) may use all of it.
    pub fn takes_documents(self) -> bool {
        matches!(self, Page::DmcaSubmit | Page::DmcaEdit | Page::DmcaStep)
    }
}

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone whose certificate the staff CA issued, even if not on the roster (only for what
    /// the "ask for access" page itself needs).
    AnyCertificate,
    /// Anyone on the roster.
    AnyStaff,
    /// Staff holding this role.
    Role(Role),
}

/// One entry of the table.
#[derive(Clone, Debug)]
pub struct Route {
    /// The method it answers.
    pub method: Method,
    /// The path it answers.
    pub path: &'static str,
    /// What it shows.
    pub page: Page,
    /// Who may use it.
    pub access: Access,
    /// Its label in the navigation bar, if it has a place there.
    pub nav_label: Option<&'static str>,
}

/// The table. Order is the order of the navigation bar.
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/",
        page: Page::Home,
        access: Access::AnyStaff,
        nav_label: Some("Home"),
    },
    Route {
        method: Method::GET,
        path: "/cases",
        page: Page::Cases,
        access: Access::AnyStaff,
        nav_label: Some("Cases"),
    },
    // Who may read a case depends on its kind: see `authorize_case`.
    Route {
        method: Method::GET,
        path: "/cases/{case}",
        page: Page::Case,
        access: Access::AnyStaff,
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/export",
        page: Page::CaseExport,
        access: Access::Role(Role::Exporter),
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/dmca/new",
        page: Page::DmcaForm,
        access: Access::Role(Role::Dmca),
        nav_label: Some("New DMCA request"),
    },
    Route {
        method: Method::POST,
        path: "/dmca/new",
        page: Page::DmcaSubmit,
        access: Access::Role(Role::Dmca),
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/cases/{case}/edit",
        page: Page::DmcaEditForm,
        access: Access::Role(Role::Dmca),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/edit",
        page: Page::DmcaEdit,
        access: Access::Role(Role::Dmca),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/steps/{step}",
        page: Page::DmcaStep,
        access: Access::Role(Role::Dmca),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/notices/{notice}",
        page: Page::DmcaNotice,
        access: Access::Role(Role::Dmca),
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/cp/new",
        page: Page::CpForm,
        access: Access::Role(Role::ChildProtection),
        nav_label: Some("New child-protection report"),
    },
    Route {
        method: Method::POST,
        path: "/cp/new",
        page: Page::CpSubmit,
        access: Access::Role(Role::ChildProtection),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/approval",
        page: Page::CpApprove,
        access: Access::Role(Role::Approver),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/approval/out-of-band",
        page: Page::CpApproveOutOfBand,
        access: Access::Role(Role::ChildProtection),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/ncmec",
        page: Page::CpSend,
        access: Access::Role(Role::ChildProtection),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/ncmec/held",
        page: Page::CpDiscardHeld,
        access: Access::Role(Role::ChildProtection),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/ncmec/held/waiver",
        page: Page::CpDecideHeld,
        access: Access::Role(Role::Approver),
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/cases/{case}/wiki/{file}",
        page: Page::CpSuppress,
        access: Access::Role(Role::ChildProtection),
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/ncmec/retract",
        page: Page::NcmecRetractForm,
        access: Access::Role(Role::ChildProtection),
        nav_label: Some("Retract an NCMEC report"),
    },
    Route {
        method: Method::POST,
        path: "/ncmec/retract",
        page: Page::NcmecRetract,
        access: Access::Role(Role::ChildProtection),
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/staff",
        page: Page::Roster,
        access: Access::Role(Role::Auditor),
        nav_label: Some("Staff roster"),
    },
    Route {
        method: Method::GET,
        path: "/audit",
        page: Page::AuditLog,
        access: Access::Role(Role::Auditor),
        nav_label: Some("Audit log"),
    },
    Route {
        method: Method::POST,
        path: "/wiki/connect",
        page: Page::WikiConnect,
        access: Access::AnyStaff,
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/wiki/callback",
        page: Page::WikiCallback,
        access: Access::AnyStaff,
        nav_label: None,
    },
    Route {
        method: Method::GET,
        path: "/static/style.css",
        page: Page::Stylesheet,
        access: Access::AnyCertificate,
        nav_label: None,
    },
];

/// Routes of the demo build only (tests and demonstrations); the production build has none.
#[cfg(feature = "demo")]
pub const TEST_ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/test/media",
        page: Page::MediaProbeForm,
        access: Access::AnyStaff,
        nav_label: None,
    },
    Route {
        method: Method::POST,
        path: "/test/media",
        page: Page::MediaProbe,
        access: Access::AnyStaff,
        nav_label: None,
    },
];

/// The outcome of looking a request up.
#[derive(Debug)]
pub enum Lookup {
    /// A route answers this method and path; the path's parameters (such as `case`) by name.
    Found(&'static Route, Vec<(String, String)>),
    /// The path exists, but not for this method; these methods would work.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// What [`Router::pattern`] gives for a path no route has.
pub const NO_ROUTE: &str = "(no route)";

/// Finds routes by path and method.
pub struct Router {
    paths: matchit::Router<Vec<&'static Route>>,
}

impl Router {
    /// Builds the router from [`ROUTES`].
    pub fn new() -> Result<Self, matchit::InsertError> {
        let mut by_path: Vec<(&str, Vec<&'static Route>)> = Vec::new();
        #[cfg(feature = "demo")]
        let routes = ROUTES.iter().chain(TEST_ROUTES);
        #[cfg(not(feature = "demo"))]
        let routes = ROUTES.iter();
        for route in routes {
            match by_path.iter_mut().find(|(path, _)| *path == route.path) {
                Some((_, routes)) => routes.push(route),
                None => by_path.push((route.path, vec![route])),
            }
        }
        let mut paths = matchit::Router::new();
        for (path, routes) in by_path {
            paths.insert(path, routes)?;
        }
        Ok(Self { paths })
    }

    /// The pattern of the route table entry `path` falls under (`/cases/{case}/notices/{notice}`),
    /// or `(no route)`: what the system log records instead of the path, whose segments may
    /// carry case data.
    pub fn pattern(&self, path: &str) -> &'static str {
        self.paths
            .at(path)
            .ok()
            .and_then(|matched| matched.value.first())
            .map_or(NO_ROUTE, |route| route.path)
    }

    /// Looks up a request.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup {
        let Ok(matched) = self.paths.at(path) else {
            return Lookup::NotFound;
        };
        match matched.value.iter().find(|route| route.method == *method) {
            Some(route) => Lookup::Found(
                route,
                matched.params.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect(),
            ),
            None => Lookup::MethodNotAllowed(matched.value.iter().map(|r| r.method.clone()).collect()),
        }
    }
}

/// Decides whether `caller` may use `route`, returning the staff member when the route needs
/// one.
pub fn authorize<'c>(
    route: &Route,
    caller: &'c Caller,
    contact: &str,
) -> Result<Option<&'c Staff>, HttpError> {
    match (route.access, caller) {
        (Access::AnyCertificate, Caller::Staff(staff)) => Ok(Some(staff)),
        (Access::AnyCertificate, Caller::Unrostered(_)) => Ok(None),
        (_, Caller::Unrostered(fingerprint)) => {
            Err(HttpError::Unrostered { fingerprint: *fingerprint, contact: contact.to_owned() })
        }
        (Access::AnyStaff, Caller::Staff(staff)) => Ok(Some(staff)),
        (Access::Role(role), Caller::Staff(staff)) if staff.has_role(role) => Ok(Some(staff)),
        (Access::Role(role), Caller::Staff(_)) => {
            Err(HttpError::MissingRole { needed: role, contact: contact.to_owned() })
        }
    }
}

/// The roles that may read a case of `kind`, the workflow's own role first. Exporters and
/// auditors read every kind: legal exports and audits span both workflows.
pub fn case_readers(kind: CaseKind) -> &'static [Role] {
    match kind {
        CaseKind::Dmca => &[Role::Dmca, Role::Auditor, Role::Exporter],
        CaseKind::ChildProtection => &[Role::ChildProtection, Role::Approver, Role::Auditor, Role::Exporter],
        CaseKind::Log => &[Role::Auditor, Role::Exporter],
    }
}

/// Whether `staff` may read cases of `kind`.
pub fn may_read(staff: &Staff, kind: CaseKind) -> bool {
    case_readers(kind).iter().any(|role| staff.has_role(*role))
}

/// Decides whether `staff` may open a case of `kind` (the route itself is open to all staff,
/// because the kind is only known once the case is read).
pub fn authorize_case(kind: CaseKind, staff: &Staff, contact: &str) -> Result<(), HttpError> {
    if may_read(staff, kind) {
        Ok(())
    } else {
        Err(HttpError::MissingRole { needed: case_readers(kind)[0], contact: contact.to_owned() })
    }
}

/// The navigation entries `staff` may use.
pub fn navigation(staff: &Staff) -> Vec<(&'static str, &'static str)> {
    ROUTES
        .iter()
        .filter(|route| match route.access {
            Access::AnyCertificate | Access::AnyStaff => true,
            Access::Role(role) => staff.has_role(role),
        })
        .filter_map(|route| route.nav_label.map(|label| (route.path, label)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Fingerprint, StaffId};

    fn staff(roles: &[Role]) -> Staff {
        Staff {
            id: StaffId::parse("ann").unwrap(),
            display_name: "Ann".into(),
            email: "ann@example.org".into(),
            roles: roles.to_vec(),
            certificates: vec![],
        }
    }

    #[test]
    fn lookup_tells_unknown_paths_from_wrong_methods() {
        let router = Router::new().unwrap();
        assert!(matches!(router.lookup(&Method::GET, "/"), Lookup::Found(r, _) if r.page == Page::Home));
        assert!(matches!(router.lookup(&Method::GET, "/nope"), Lookup::NotFound));
        match router.lookup(&Method::POST, "/staff") {
            Lookup::MethodNotAllowed(allowed) => assert_eq!(allowed, [Method::GET]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn roles_gate_routes_and_unrostered_certificates_reach_only_the_stylesheet() {
        let router = Router::new().unwrap();
        let Lookup::Found(roster_page, _) = router.lookup(&Method::GET, "/staff") else { panic!() };
        let Lookup::Found(css, _) = router.lookup(&Method::GET, "/static/style.css") else { panic!() };
        let auditor = Caller::Staff(staff(&[Role::Auditor]));
        let agent = Caller::Staff(staff(&[Role::Dmca]));
        let stranger = Caller::Unrostered(Fingerprint::of_certificate(b"x"));
        assert!(authorize(roster_page, &auditor, "c").is_ok());
        assert!(matches!(
            authorize(roster_page, &agent, "c"),
            Err(HttpError::MissingRole { needed: Role::Auditor, .. })
        ));
        assert!(matches!(authorize(roster_page, &stranger, "c"), Err(HttpError::Unrostered { .. })));
        assert!(matches!(authorize(css, &stranger, "c"), Ok(None)));
    }

    #[test]
    fn navigation_lists_only_what_the_person_may_open() {
        let labels =
            |roles: &[Role]| -> Vec<&str> { navigation(&staff(roles)).into_iter().map(|(_, l)| l).collect() };
        assert_eq!(labels(&[Role::Dmca]), ["Home", "Cases", "New DMCA request"]);
        assert_eq!(labels(&[Role::Auditor]), ["Home", "Cases", "Staff roster", "Audit log"]);
    }

    #[test]
    fn case_pages_carry_the_case_id_and_each_kind_opens_only_to_its_readers() {
        let router = Router::new().unwrap();
        let Lookup::Found(route, params) = router.lookup(&Method::POST, "/cases/00ff/export") else {
            panic!()
        };
        assert_eq!((route.page, params), (Page::CaseExport, vec![("case".to_owned(), "00ff".to_owned())]));
        let dmca = staff(&[Role::Dmca]);
        let cp = staff(&[Role::ChildProtection]);
        let approver = staff(&[Role::Approver]);
        let exporter = staff(&[Role::Exporter]);
        assert!(authorize_case(CaseKind::Dmca, &dmca, "c").is_ok());
        assert!(matches!(
            authorize_case(CaseKind::ChildProtection, &dmca, "c"),
            Err(HttpError::MissingRole { needed: Role::ChildProtection, .. })
        ));
        assert!(authorize_case(CaseKind::Dmca, &cp, "c").is_err());
        assert!(authorize_case(CaseKind::ChildProtection, &approver, "c").is_ok());
        assert!(authorize_case(CaseKind::Log, &dmca, "c").is_err());
        for kind in [CaseKind::Dmca, CaseKind::ChildProtection, CaseKind::Log] {
            assert!(authorize_case(kind, &exporter, "c").is_ok());
            assert!(!may_read(&staff(&[]), kind));
        }
    }
}
