//! The home page: who the appliance thinks you are, and what your roles let you do.

use maud::{Markup, html};

use super::layout::{Viewer, page};
use crate::identity::{Fingerprint, Role};

/// Renders the home page. `fingerprint` is the certificate this request came with.
pub fn render(viewer: &Viewer<'_>, fingerprint: &Fingerprint) -> Markup {
    let staff = viewer.staff;
    let content = html! {
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
    };
    page("Home", Some(viewer), content)
}
