//! Error pages: what happened and what to do, never internal details.

use maud::{Markup, html};

use super::layout::{Viewer, page};
use crate::http::error::ErrorPage;

/// Renders an error page; `case` is the case the refused request was about, if any, so the
/// page leads back to it.
pub fn render(error: &ErrorPage, viewer: Option<&Viewer<'_>>, case: Option<&str>) -> Markup {
    let content = html! {
        div.error role="alert" {
            p.status { (error.status.as_u16()) " " (error.status.canonical_reason().unwrap_or("")) }
            @for paragraph in &error.paragraphs { p { (paragraph) } }
        }
        @if viewer.is_some() {
            p {
                @if let Some(case) = case { a href={ "/cases/" (case) } { "Back to the case" } " · " }
                a href="/" { "Back to the home page" }
            }
        }
    };
    page(&error.title, viewer, content)
}
