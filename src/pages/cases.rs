//! The case pages: the list of cases a person's roles let them read, and one case with every
//! revision. The workflows' own pages come later; these show any case, of any kind, faithfully.

use maud::{Markup, html};
use time::OffsetDateTime;

use super::layout::{Viewer, page};
use crate::case_log::{CaseSummary, Filter};
use crate::cases::{CaseId, CaseKind, Change, Revision};
use crate::store::crypt::AgeRecipient;

/// What the case list shows besides its lines.
pub struct ListView<'a> {
    /// The filter in force (its values fill the filter form).
    pub filter: &'a Filter,
    /// Query values the filter could not use, said on the page.
    pub ignored: &'a [String],
    /// Whether there is a next page.
    pub more: bool,
    /// A case ID that was looked up and not found (or not readable).
    pub not_found: Option<&'a str>,
}

/// Renders the case log: a lookup by case ID, the filters, one page of cases.
pub fn render_list(viewer: &Viewer<'_>, rows: &[CaseSummary], view: &ListView<'_>) -> Markup {
    let filter = view.filter;
    let date = |d: Option<time::Date>| {
        d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())).unwrap_or_default()
    };
    let kind_value = filter.kind.map(|k| crate::audit::code(&k)).unwrap_or_default();
    let decision_value = filter.decision.clone().unwrap_or_default();
    let test_value = match filter.test {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let content = html! {
        form.lookup method="get" action="/cases" {
            label { "Case ID " input type="text" name="id" size="34" autocomplete="off"; }
            " " button type="submit" { "Open" }
        }
        @if let Some(id) = view.not_found { p.error { "No case you may open has the ID " span.mono { (id) } "." } }
        form.filters method="get" action="/cases" {
            label { "Kind " select name="kind" {
                option value="" selected[kind_value.is_empty()] { "any" }
                @for (value, label) in [("dmca", "DMCA"), ("child-protection", "Child protection"), ("log", "Log")] {
                    option value=(value) selected[kind_value == value] { (label) }
                }
            } }
            " "
            label { "Decision " select name="decision" {
                option value="" selected[decision_value.is_empty()] { "any" }
                @for (value, label) in [("granted", "granted"), ("partially-granted", "partially granted"), ("denied", "denied")] {
                    option value=(value) selected[decision_value == value] { (label) }
                }
            } }
            " "
            label { "Test " select name="test" {
                option value="" selected[test_value.is_empty()] { "any" }
                option value="no" selected[test_value == "no"] { "real only" }
                option value="yes" selected[test_value == "yes"] { "tests only" }
            } }
            " "
            label { "Staff " input type="text" name="staff" size="12" value=(filter.staff.clone().unwrap_or_default()); }
            " "
            label { "From " input type="date" name="from" value=(date(filter.from)); }
            " "
            label { "To " input type="date" name="to" value=(date(filter.to)); }
            " "
            label { "Order " select name="sort" {
                option value="newest" selected[!filter.oldest_first] { "newest first" }
                option value="oldest" selected[filter.oldest_first] { "oldest first" }
            } }
            " " button type="submit" { "Filter" }
        }
        @for problem in view.ignored { p.warning { "Not applied: " (problem) } }
        @if rows.is_empty() {
            p { "No cases here that your roles open." }
        } @else {
            div.scroll { table.case-log {
                thead { tr { th { "Case" } th { "Kind" } th { "Title" } th { "Decision" } th { "Test" } th { "Created" } th { "By" } th { "Revisions" } th { "Latest" } } }
                tbody {
                    @for row in rows {
                        tr {
                            // The first 8 hex digits tell cases apart on a page; the whole ID is
                            // in the link, on the case page, and in the link's title.
                            td { a.mono.case-id href={ "/cases/" (row.id) } title=(row.id) { (row.id.to_string().get(..8).unwrap_or_default()) "…" } }
                            td { (kind_label(row.kind)) }
                            td.text { (row.title) }
                            td { (row.decision.as_deref().unwrap_or("")) }
                            td { @if row.test { "test" } }
                            td.when { (timestamp(row.created)) }
                            td { (row.author) }
                            td { (row.revisions) }
                            td { (change_label(row.latest.1)) br; (timestamp(row.latest.0)) }
                        }
                    }
                }
            } }
        }
        p.pages {
            @if filter.page > 1 { a href={ "/cases?" (filter.query_for_page(filter.page - 1)) } { "Previous page" } " " }
            @if view.more { a href={ "/cases?" (filter.query_for_page(filter.page.saturating_add(1))) } { "Next page" } }
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

/// A workflow's part of a case page.
pub struct Workflow {
    /// What a staffer acts on, shown first: where the case stands, the next step, the buttons.
    pub lead: Markup,
    /// The case's facts, below (the request or report, hashes, each step's outcome).
    pub details: Markup,
}

/// Renders one case: what its workflow says to do first, then its facts, the export form for
/// exporters, and the whole history (every revision, oldest first, in plain sentences with
/// the data as recorded) behind a disclosure. `names` gives a login's name from the roster.
pub fn render_case(
    viewer: &Viewer<'_>,
    id: CaseId,
    revisions: &[Revision],
    export: Option<ExportOffer<'_>>,
    workflow: Option<Workflow>,
    names: &dyn Fn(&str) -> Option<String>,
) -> Markup {
    let kind = revisions.first().map_or(CaseKind::Log, |r| r.kind);
    let who = |login: &str| author(login, names);
    let open_history = workflow.is_none();
    let content = html! {
        dl.case-facts {
            dt { "Case ID" } dd.mono { (id) }
            @if let Some(first) = revisions.first() {
                dt { "Created" } dd { (timestamp(first.at)) " by " (who(&first.author)) }
            }
            dt { "Revisions" } dd { (revisions.len()) " (a correction or an outcome is a new revision; nothing is ever overwritten)" }
        }
        p.hint { "Your viewing of this page is recorded in the audit log." }
        @if let Some(workflow) = &workflow {
            (workflow.lead)
            (workflow.details)
        }
        @if let Some(offer) = export {
            section.export aria-labelledby="export-heading" {
                h2 #export-heading { "Export for legal" }
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
        details #history .history open[open_history] {
            summary { h2 { "History (" (revisions.len()) " " (if revisions.len() == 1 { "entry" } else { "entries" }) ")" } }
            p.hint { "Oldest first. Each entry is one revision of the case; its data as recorded is one click further." }
            ol.entries {
                @for (revision, earlier) in revisions.iter().zip(corrected_from(revisions)) {
                    li data-revision=(revision.number) data-change=(change_label(revision.change)) {
                        p.entry {
                            span.when { (timestamp(revision.at)) } " — " (who(&revision.author)) ": "
                            (describe(kind, revision))
                        }
                        @if let Some(earlier) = earlier {
                            (correction_changes(earlier, revision))
                        }
                        details.recorded {
                            summary { "Revision " (revision.number) ": " (change_label(revision.change)) " — the data as recorded" }
                            (payload(&revision.payload))
                        }
                    }
                }
            }
        }
    };
    page(&format!("{} case", kind_label(kind)), Some(viewer), content)
}

/// Who recorded a revision, as staff read it: the roster's name and the login, or the
/// appliance itself.
fn author(login: &str, names: &dyn Fn(&str) -> Option<String>) -> String {
    match names(login) {
        Some(name) => format!("{name} ({login})"),
        None if login == "takedown" => "the appliance".to_owned(),
        None => login.to_owned(),
    }
}

/// One revision in a sentence, in its workflow's words where it knows the record.
fn describe(kind: CaseKind, revision: &Revision) -> Markup {
    let described = match kind {
        CaseKind::Dmca => super::dmca::describe(revision),
        CaseKind::ChildProtection => super::child_protection::describe(revision),
        CaseKind::Log => None,
    };
    described.unwrap_or_else(|| {
        html! {
            @match revision.change {
                Change::Created => "created the case",
                Change::Correction => "recorded a correction",
                Change::Outcome => "recorded an outcome",
                Change::Retraction => "recorded a retraction",
                Change::Note => "added a note",
            }
        }
    })
}

/// For each revision, the one a correction corrects (the latest earlier creation or
/// correction); `None` for every other revision.
fn corrected_from(revisions: &[Revision]) -> Vec<Option<&Revision>> {
    let mut latest: Option<&Revision> = None;
    revisions
        .iter()
        .map(|revision| {
            let earlier = latest.filter(|_| revision.change == Change::Correction);
            if matches!(revision.change, Change::Created | Change::Correction) {
                latest = Some(revision);
            }
            earlier
        })
        .collect()
}

/// What a correction changed, field by field: before and after.
fn correction_changes(earlier: &Revision, correction: &Revision) -> Markup {
    let mut changes = Vec::new();
    changed_fields(&earlier.payload, &correction.payload, &mut Vec::new(), &mut changes);
    html! {
        @if changes.is_empty() {
            p.hint { "This correction changed nothing recorded in revision " (earlier.number) "." }
        } @else {
            table.changes {
                caption { "What this correction changed, compared with revision " (earlier.number) }
                thead { tr { th { "Field" } th { "Before" } th { "After" } } }
                tbody {
                    @for (path, before, after) in &changes {
                        tr data-changed=(path) {
                            td { (path.replace('_', " ")) }
                            td { (before.map_or_else(|| html! { em { "not given" } }, payload)) }
                            td { (after.map_or_else(|| html! { em { "not given" } }, payload)) }
                        }
                    }
                }
            }
        }
    }
}

/// Collects the fields that differ between `before` and `after`, descending into objects (a
/// single wrapping key, such as `dmca`, is not named); lists and values are compared whole.
fn changed_fields<'v>(
    before: &'v serde_json::Value,
    after: &'v serde_json::Value,
    path: &mut Vec<&'v str>,
    changes: &mut Vec<(String, Option<&'v serde_json::Value>, Option<&'v serde_json::Value>)>,
) {
    use serde_json::Value;
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let wrapper = path.is_empty() && old.len() == 1 && new.len() == 1;
            let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                match (old.get(name.as_str()), new.get(name.as_str())) {
                    (Some(o), Some(n)) => {
                        if !wrapper {
                            path.push(name);
                        }
                        changed_fields(o, n, path, changes);
                        if !wrapper {
                            path.pop();
                        }
                    }
                    (o, n) => {
                        let mut named = path.clone();
                        named.push(name);
                        changes.push((named.join(" › "), o, n));
                    }
                }
            }
        }
        (old, new) if old != new => changes.push((path.join(" › "), Some(old), Some(new))),
        _ => {}
    }
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
pub(super) fn timestamp(at: OffsetDateTime) -> String {
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

    fn dmca_revision(case: CaseId, number: u32, change: Change, payload: serde_json::Value) -> Revision {
        Revision {
            case,
            number,
            kind: CaseKind::Dmca,
            change,
            at: OffsetDateTime::UNIX_EPOCH,
            author: "dmca-agent".into(),
            payload,
        }
    }

    #[test]
    fn a_case_page_shows_every_revision_escaped_and_the_export_form_only_when_offered() {
        let staff = viewer_staff();
        let viewer = Viewer { staff: &staff, nav: vec![], current_path: "/cases/x" };
        let id = CaseId::generate();
        let revision = |number, change, payload| dmca_revision(id, number, change, payload);
        let revisions = [
            revision(
                1,
                Change::Created,
                serde_json::json!({ "sender_name": "<b>Acme</b>", "files": ["File:A.jpg"] }),
            ),
            revision(2, Change::Outcome, serde_json::json!({ "lumen_notice": 42, "posted": true })),
        ];
        let html = render_case(&viewer, id, &revisions, None, None, &|_| None).into_string();
        assert!(!html.contains("What this correction changed"), "only corrections show changes");
        assert!(html.contains("&lt;b&gt;Acme&lt;/b&gt;") && !html.contains("<b>Acme"), "{html}");
        assert!(html.contains("File:A.jpg") && html.contains("sender name") && html.contains("42"));
        assert!(html.contains("Revision 2: outcome") && html.contains("Revision 1: created"));
        assert!(html.contains("History (2 entries)"), "{html}");
        assert!(!html.contains("/export"));
        let recipient = crate::store::crypt::AgeIdentity::generate().recipient();
        let offer = ExportOffer { csrf_token: "token".into(), recipients: std::slice::from_ref(&recipient) };
        let html = render_case(&viewer, id, &revisions, Some(offer), None, &|_| None).into_string();
        assert!(html.contains(&format!("/cases/{id}/export")) && html.contains(&recipient.to_string()));
    }

    #[test]
    fn a_correction_shows_what_it_changed_against_the_revision_it_corrects() {
        let staff = viewer_staff();
        let viewer = Viewer { staff: &staff, nav: vec![], current_path: "/cases/x" };
        let id = CaseId::generate();
        let revision = |number, change, payload| dmca_revision(id, number, change, payload);
        let revisions = [
            revision(
                1,
                Change::Created,
                serde_json::json!({ "dmca": { "title": "Old <title>", "sender": { "city": "Paris", "zip": "75001" }, "files": ["A.jpg"], "kept": 1 } }),
            ),
            revision(2, Change::Outcome, serde_json::json!({ "dmca_step": { "step": "lumen" } })),
            revision(
                3,
                Change::Correction,
                serde_json::json!({ "dmca": { "title": "New title", "sender": { "city": "Paris", "zip": "75002" }, "files": ["A.jpg", "B.jpg"], "kept": 1, "added": "x" } }),
            ),
            revision(
                4,
                Change::Correction,
                serde_json::json!({ "dmca": { "title": "New title", "sender": { "city": "Paris", "zip": "75002" }, "files": ["A.jpg", "B.jpg"], "kept": 1, "added": "x" } }),
            ),
        ];
        let html = render_case(&viewer, id, &revisions, None, None, &|_| None).into_string();
        let third =
            html.split(r#"data-revision="3""#).nth(1).unwrap().split(r#"data-revision="4""#).next().unwrap();
        assert!(third.contains("compared with revision 1"), "an outcome is not what a correction corrects");
        for changed in ["title", "sender › zip", "files", "added"] {
            assert!(third.contains(&format!(r#"data-changed="{changed}""#)), "{changed}: {third}");
        }
        for unchanged in ["sender › city", "kept", "dmca"] {
            assert!(!third.contains(&format!(r#"data-changed="{unchanged}""#)), "{unchanged}: {third}");
        }
        assert!(third.contains("Old &lt;title&gt;") && third.contains("75001") && third.contains("75002"));
        let fourth = html.split(r#"data-revision="4""#).nth(1).unwrap();
        assert!(fourth.contains("changed nothing recorded in revision 3"), "{fourth}");
    }
}
