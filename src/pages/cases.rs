//! The case pages: the list of cases a person's roles let them read, and one case with every
//! revision. The workflows' own pages come later; these show any case, of any kind, faithfully.

use maud::{Markup, html};
use time::OffsetDateTime;

use super::layout::{Viewer, page};
use crate::cases::{CaseId, CaseKind, Change, Revision};
use crate::store::crypt::AgeRecipient;

/// One line of the case list.
pub struct CaseRow {
    /// The case.
    pub id: CaseId,
    /// Its workflow.
    pub kind: CaseKind,
    /// When and by whom it was created.
    pub created: (OffsetDateTime, String),
    /// How many revisions it has.
    pub revisions: usize,
    /// When its latest revision was recorded, and why.
    pub latest: (OffsetDateTime, Change),
}

impl CaseRow {
    /// Summarises a case from its revisions (oldest first); `None` if there are none.
    pub fn summarise(id: CaseId, revisions: &[Revision]) -> Option<CaseRow> {
        let (first, last) = (revisions.first()?, revisions.last()?);
        Some(CaseRow {
            id,
            kind: first.kind,
            created: (first.at, first.author.clone()),
            revisions: revisions.len(),
            latest: (last.at, last.change),
        })
    }
}

/// Renders the case list. `hidden` counts the cases on this page of the list that the viewer's
/// roles do not open; `older` is the cursor of the next page, if there is one.
pub fn render_list(viewer: &Viewer<'_>, rows: &[CaseRow], hidden: usize, older: Option<u64>) -> Markup {
    let content = html! {
        @if rows.is_empty() {
            p { "No cases here that your roles open." }
        } @else {
            table {
                thead { tr { th { "Case" } th { "Kind" } th { "Created" } th { "By" } th { "Revisions" } th { "Latest" } } }
                tbody {
                    @for row in rows {
                        tr {
                            td.mono { a href={ "/cases/" (row.id) } { (row.id) } }
                            td { (kind_label(row.kind)) }
                            td { (timestamp(row.created.0)) }
                            td { (row.created.1) }
                            td { (row.revisions) }
                            td { (change_label(row.latest.1)) ", " (timestamp(row.latest.0)) }
                        }
                    }
                }
            }
        }
        @if hidden > 0 {
            p.hint { (hidden) " more case(s) in this part of the list belong to workflows your roles do not open." }
        }
        @if let Some(older) = older {
            p { a href={ "/cases?before=" (older) } { "Older cases" } }
        }
    };
    page("Cases", Some(viewer), content)
}

/// What the exporter's download form needs.
pub struct ExportOffer<'a> {
    /// The CSRF token for the form.
    pub csrf_token: String,
    /// Whom the download is encrypted to.
    pub recipients: &'a [AgeRecipient],
}

/// Renders one case with every revision, oldest first, and for exporters the download form.
pub fn render_case(
    viewer: &Viewer<'_>,
    id: CaseId,
    revisions: &[Revision],
    export: Option<ExportOffer<'_>>,
    workflow: Option<Markup>,
) -> Markup {
    let kind = revisions.first().map_or(CaseKind::Log, |r| r.kind);
    let content = html! {
        dl {
            dt { "Case ID" } dd.mono { (id) }
            dt { "Kind" } dd { (kind_label(kind)) }
            @if let Some(first) = revisions.first() {
                dt { "Created" } dd { (timestamp(first.at)) " by " (first.author) }
            }
            dt { "Revisions" } dd { (revisions.len()) " (a correction or an outcome is a new revision; nothing is ever overwritten)" }
        }
        p.hint { "Your viewing of this page is recorded in the audit log." }
        @if let Some(workflow) = workflow { (workflow) }
        @if let Some(offer) = export {
            section.export {
                h2 { "Export for legal" }
                p {
                    "Downloads one age file with every revision of this case, its audit entries and a "
                    "checksum manifest. It is encrypted to legal counsel's key(s) only — you cannot open it; "
                    "send it to them as it is. The download is recorded in the audit log."
                }
                ul.mono { @for recipient in offer.recipients { li { (recipient) } } }
                form method="post" action={ "/cases/" (id) "/export" } {
                    input type="hidden" name="csrf_token" value=(offer.csrf_token);
                    button type="submit" { "Download encrypted export" }
                }
            }
        }
        @for revision in revisions.iter().rev() {
            section.revision {
                h2 { "Revision " (revision.number) ": " (change_label(revision.change)) }
                p.hint { "Recorded " (timestamp(revision.at)) " by " (revision.author) }
                (payload(&revision.payload))
            }
        }
    };
    page(&format!("{} case", kind_label(kind)), Some(viewer), content)
}

/// A revision's data as nested lists: objects as definition lists, arrays as numbered lists.
fn payload(value: &serde_json::Value) -> Markup {
    use serde_json::Value;
    html! {
        @match value {
            Value::Object(fields) if fields.is_empty() => em { "nothing" },
            Value::Object(fields) => dl {
                @for (name, value) in fields {
                    dt { (name.replace('_', " ")) }
                    dd { (payload(value)) }
                }
            },
            Value::Array(items) if items.is_empty() => em { "none" },
            Value::Array(items) => ol { @for item in items { li { (payload(item)) } } },
            Value::String(text) => span.text { (text) },
            Value::Null => em { "not given" },
            Value::Bool(true) => "yes",
            Value::Bool(false) => "no",
            Value::Number(number) => (number),
        }
    }
}

fn kind_label(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Dmca => "DMCA",
        CaseKind::ChildProtection => "Child protection",
        CaseKind::Log => "Log",
    }
}

fn change_label(change: Change) -> &'static str {
    match change {
        Change::Created => "created",
        Change::Correction => "correction",
        Change::Outcome => "outcome",
        Change::Retraction => "retraction",
        Change::Note => "note",
    }
}

/// A time as staff read it: to the second, in UTC, said so.
fn timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Staff, StaffId};

    fn viewer_staff() -> Staff {
        Staff {
            id: StaffId::parse("ann").unwrap(),
            display_name: "Ann".into(),
            email: "ann@example.org".into(),
            roles: vec![],
            certificates: vec![],
        }
    }

    #[test]
    fn a_case_page_shows_every_revision_escaped_and_the_export_form_only_when_offered() {
        let staff = viewer_staff();
        let viewer = Viewer { staff: &staff, nav: vec![], current_path: "/cases/x" };
        let id = CaseId::generate();
        let revision = |number, change, payload| Revision {
            case: id,
            number,
            kind: CaseKind::Dmca,
            change,
            at: OffsetDateTime::UNIX_EPOCH,
            author: "dmca-agent".into(),
            payload,
        };
        let revisions = [
            revision(
                1,
                Change::Created,
                serde_json::json!({ "sender_name": "<b>Acme</b>", "files": ["File:A.jpg"] }),
            ),
            revision(2, Change::Outcome, serde_json::json!({ "lumen_notice": 42, "posted": true })),
        ];
        let html = render_case(&viewer, id, &revisions, None, None).into_string();
        assert!(html.contains("&lt;b&gt;Acme&lt;/b&gt;") && !html.contains("<b>Acme"), "{html}");
        assert!(html.contains("File:A.jpg") && html.contains("sender name") && html.contains("42"));
        assert!(html.contains("Revision 2: outcome") && html.contains("Revision 1: created"));
        assert!(!html.contains("/export"));
        let recipient = crate::store::crypt::AgeIdentity::generate().recipient();
        let offer = ExportOffer { csrf_token: "token".into(), recipients: std::slice::from_ref(&recipient) };
        let html = render_case(&viewer, id, &revisions, Some(offer), None).into_string();
        assert!(html.contains(&format!("/cases/{id}/export")) && html.contains(&recipient.to_string()));
    }
}
