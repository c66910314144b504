//! The home page: who the appliance thinks you are, what your roles let you do, your wiki
//! connection, and the state of the four external services.

use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::layout::{Viewer, page};
use crate::egress::policy::Service;
use crate::identity::{Fingerprint, Role};
use crate::services::status::ServiceState;
use crate::services::wiki::client::WikiConnection;

/// What the home page shows besides the viewer.
pub struct Home<'a> {
    /// The certificate this request came with.
    pub fingerprint: &'a Fingerprint,
    /// Each service's state, in [`Service::ALL`] order.
    pub services: Vec<(Service, ServiceState)>,
    /// The viewer's wiki connection; `None` when no wiki is configured.
    pub wiki: Option<WikiConnection>,
    /// The CSRF token for the connect form.
    pub csrf_token: Option<String>,
    /// What the sandbox could not do at start (a best-effort config let the daemon start).
    pub sandbox_warnings: Vec<String>,
}

/// Renders the home page.
pub fn render(viewer: &Viewer<'_>, home: &Home<'_>) -> Markup {
    let staff = viewer.staff;
    let fingerprint = home.fingerprint;
    let content = html! {
        @for warning in &home.sandbox_warnings {
            p.warning role="alert" { strong { "Not fully protected. " } (warning) }
        }
        section {
            h2 { "You are signed in by certificate" }
            dl {
                dt { "Name" } dd { (staff.display_name) }
                dt { "Login" } dd { (staff.id) }
                dt { "Email" } dd { (staff.email) }
                dt { "Certificate (SHA-256)" } dd.mono { (fingerprint) }
            }
            p.hint { "If any of this is wrong, or this is not your computer, close the browser and tell the tools team." }
        }
        section {
            h2 { "Your roles" }
            @if staff.roles.is_empty() {
                p { "You hold no roles yet, so there is nothing here you can change. Ask the tools team for the role your work needs." }
            } @else {
                ul.roles {
                    @for role in &staff.roles {
                        li { strong { (role) } " — you can " (role.description()) "." }
                    }
                }
            }
            @let missing: Vec<Role> = Role::ALL.into_iter().filter(|r| !staff.has_role(*r)).collect();
            @if !missing.is_empty() {
                details {
                    summary { "Roles you do not hold" }
                    ul {
                        @for role in missing {
                            li { strong { (role) } " — " (role.description()) "." }
                        }
                    }
                }
            }
        }
        @if let Some(connection) = &home.wiki {
            section {
                h2 { "Your wiki account" }
                @match connection {
                    WikiConnection::Connected { username } => {
                        p { "Connected as " strong { (username.as_deref().unwrap_or("a hidden user")) } ". Notices you post go out under this account. The grant is held in memory only: after a restart of the appliance you connect again." }
                    }
                    WikiConnection::NotConnected => {
                        p { "Not connected. Notices are posted under your own wiki account: connect it once per appliance restart (you will be asked to approve on the meta wiki)." }
                    }
                }
                form method="post" action="/wiki/connect" {
                    @if let Some(token) = &home.csrf_token {
                        input type="hidden" name="csrf_token" value=(token);
                    }
                    button type="submit" { "Connect your wiki account" }
                }
            }
        }
        section {
            h2 { "External services" }
            table.services {
                thead { tr { th { "Service" } th { "Set up" } th { "Reachable" } th { "Signed in" } th { "Last error" } } }
                tbody {
                    @for (service, state) in &home.services {
                        tr data-service=(service.name()) {
                            th { (service_label(*service)) }
                            @match &state.configured {
                                None => { td colspan="4" { "Not configured: nothing is ever sent to it." } }
                                Some(description) => {
                                    td { (description) }
                                    td { (yes_no(state.reachable, "not checked yet")) }
                                    td { (yes_no(state.authenticated, "not checked yet")) }
                                    td {
                                        @match &state.last_error {
                                            None => { "none" }
                                            Some((at, message)) => { time datetime=(stamp(*at)) { (stamp(*at)) } ": " (message) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Checked every five minutes and after every call; Lumen is checked only by the notices sent to it." }
        }
    };
    page("Home", Some(viewer), content)
}

fn service_label(service: Service) -> &'static str {
    match service {
        Service::Lumen => "Lumen",
        Service::Ncmec => "NCMEC CyberTipline",
        Service::Salesforce => "Salesforce",
        Service::Wiki => "Wikis",
    }
}

fn yes_no(value: Option<bool>, unknown: &'static str) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "NO",
        None => unknown,
    }
}

fn stamp(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).unwrap_or_default()
}
