//! The staff roster as auditors see it: who may use the appliance, with which roles and
//! certificates.

use maud::{Markup, html};

use super::layout::{Viewer, page};
use crate::roster::Roster;

/// Renders the roster page.
pub fn render(viewer: &Viewer<'_>, roster: &Roster) -> Markup {
    let content = html! {
        p { (roster.staff().len()) " people are on the roster. It is reloaded from its file on SIGHUP." }
        table {
            thead { tr { th { "Login" } th { "Name" } th { "Email" } th { "Roles" } th { "Certificates (SHA-256)" } } }
            tbody {
                @for person in roster.staff() {
                    tr {
                        td { (person.id) }
                        td { (person.display_name) }
                        td { (person.email) }
                        td {
                            @if person.roles.is_empty() { em { "none" } }
                            @for (i, role) in person.roles.iter().enumerate() {
                                @if i > 0 { ", " }
                                (role)
                            }
                        }
                        td.mono {
                            @for fingerprint in &person.certificates { div { (fingerprint) } }
                        }
                    }
                }
            }
        }
    };
    page("Staff roster", Some(viewer), content)
}
