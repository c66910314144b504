//! The frame around every page: header with the staff member's name and roles, navigation, main.

use maud::{DOCTYPE, Markup, html};

use crate::identity::Staff;

/// The person looking at a page, and the navigation entries they may use.
pub struct Viewer<'a> {
    /// Who is signed in (by certificate).
    pub staff: &'a Staff,
    /// `(path, label)` pairs, from [`crate::http::router::navigation`].
    pub nav: Vec<(&'static str, &'static str)>,
    /// The path being shown, marked in the navigation.
    pub current_path: &'a str,
}

/// A whole HTML document. `viewer` is `None` for people not on the roster, whose pages show no
/// navigation.
pub fn page(title: &str, viewer: Option<&Viewer<'_>>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Takedown" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.site {
                    span.brand { "Takedown" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Main" {
                            @for (path, label) in &viewer.nav {
                                @if *path == viewer.current_path {
                                    a href=(path) aria-current="page" { (label) }
                                } @else {
                                    a href=(path) { (label) }
                                }
                            }
                        }
                        span.who {
                            (viewer.staff.display_name)
                            " (" (viewer.staff.id) ")"
                            @if viewer.staff.roles.is_empty() {
                                " · no roles"
                            } @else {
                                " · "
                                @for (i, role) in viewer.staff.roles.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    span.role { (role) }
                                }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}
