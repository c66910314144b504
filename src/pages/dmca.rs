//! The DMCA pages: the form (grouped like the original, usable without scripts, errors next to
//! their fields, every typed value shown again) and a DMCA case's steps and wiki notices.

use maud::{Markup, html};

use super::cases::{Workflow, timestamp};
use super::layout::{Viewer, page};
use crate::cases::{CaseId, Change, Revision};
use crate::dmca::edits::{self, Line};
use crate::dmca::form::{FieldError, OTHER_PROJECT, ProjectChoice, RawForm};
use crate::dmca::lookup::{GlobalAccount, VersionFacts, WikiLookup};
use crate::dmca::model::{Decision, DocumentRecord, Statement, StrikeReason, Takedown};
use crate::dmca::notices::{self, NoticeKind, WikiNotice};
use crate::dmca::steps::{DmcaCase, LUMEN, NOTICE_PREFIX, SALESFORCE, StepRecord, StepStatus};
use crate::services::wiki::client::WikiConnection;

/// What the form page shows.
pub struct FormPage<'a> {
    /// The values to show.
    pub raw: &'a RawForm,
    /// The problems found, by field.
    pub errors: &'a [FieldError],
    /// The wikis offered.
    pub sites: &'a [ProjectChoice],
    /// Documents already held from an earlier attempt.
    pub held: &'a [DocumentRecord],
    /// The key they are held under.
    pub held_key: &'a str,
    /// The form's CSRF token.
    pub csrf_token: &'a str,
    /// Where the form posts (`/dmca/new`, or a case's correction).
    pub action: &'a str,
    /// A message from a service shown above the form (Lumen's refusal on a correction).
    pub notice: Option<&'a str>,
    /// The form's last wiki lookup of its files.
    pub lookup: Option<&'a WikiLookup>,
}

/// The form.
pub fn render_form(viewer: &Viewer<'_>, form: &FormPage<'_>) -> Markup {
    let raw = form.raw;
    let text = |name: &'static str, label: &str, value: &str, hint: &str| {
        field(
            form.errors,
            name,
            label,
            hint,
            html! {
                input type="text" id=(name) name=(name) value=(value);
            },
        )
    };
    let lines = |name: &'static str, label: &str, value: &str, hint: &str| {
        field(
            form.errors,
            name,
            label,
            hint,
            html! {
                textarea id=(name) name=(name) rows="3" { (value) }
            },
        )
    };
    let content = html! {
        @if !form.errors.is_empty() {
            div.errors role="alert" {
                h2 { "Please correct " (form.errors.len()) " problem(s)" }
                p { "Nothing on this page has been recorded or sent yet. Everything typed is below" @if !form.held.is_empty() { ", and your documents are still attached" } "." }
                ul { @for error in form.errors { li { a href={ "#" (error.field) } { (label_of(error.field)) } ": " (error.message) } } }
            }
        }
        @if let Some(notice) = form.notice { p.warning { (notice) } }
        form method="post" action=(form.action) enctype="multipart/form-data" {
            input type="hidden" name="csrf_token" value=(form.csrf_token);
            input type="hidden" name="held_documents" value=(form.held_key);
            fieldset {
                legend { "Processing" }
                (checkbox("send_to_lumen", "Send the notice to Lumen", raw.send_to_lumen))
                (checkbox("post_wiki_notices", "Prepare the wiki notices (reviewed and posted from the case page)", raw.post_wiki_notices))
                (checkbox("open_salesforce_case", "Open a Salesforce case", raw.open_salesforce_case))
                (checkbox("test", "This is a test (never sent to Lumen; marked as a test everywhere)", raw.test))
            }
            fieldset {
                legend { "Decision" }
                (field(form.errors, "decision", "What was decided", "A denied request is logged too; nothing else is required for it, and it is announced nowhere.", html! {
                    @for decision in Decision::ALL {
                        label.choice {
                            input type="radio" name="decision" value=(decision.as_str()) checked[raw.decision == decision.as_str()];
                            " " (decision.label())
                        }
                    }
                }))
            }
            fieldset {
                legend { "Who sent it" }
                (text("sender_name", "Sender (person or organisation)", &raw.sender.name, "Required for Lumen."))
                (text("sender_person", "Attorney or individual who signed", &raw.sender.person, ""))
                (text("sender_firm", "Law firm or agent", &raw.sender.firm, ""))
                (text("sender_address_1", "Address", &raw.sender.address_line_1, ""))
                (text("sender_address_2", "Address, second line", &raw.sender.address_line_2, ""))
                (text("sender_city", "City", &raw.sender.city, ""))
                (text("sender_state", "State or region", &raw.sender.state, ""))
                (text("sender_zip", "Postal code", &raw.sender.zip, ""))
                (text("sender_country", "Country (ISO code)", &raw.sender.country, "Two letters: US, DE, GB."))
            }
            fieldset {
                legend { "The notice" }
                (field(form.errors, "date_sent", "Date sent", "YYYY-MM-DD. Required for Lumen.", html! {
                    input type="date" id="date_sent" name="date_sent" value=(raw.date_sent);
                }))
                (text("method", "How it arrived", &raw.method, "email, fax, post, web form. Required for Lumen."))
                (text("to", "To", &raw.to, ""))
                (text("from", "From", &raw.from, ""))
                (text("subject", "Subject", &raw.subject, "Required for Lumen."))
                (field(form.errors, "body", "Text of the notice", "Paste the notice. Required for Lumen.", html! {
                    textarea id="body" name="body" rows="10" { (raw.body) }
                }))
                (field(form.errors, "documents", "Supporting documents", "The notice as received (PDF, scans); several at once. Held only in locked memory and sent to Lumen; the case keeps their names and SHA-256.", html! {
                    @if !form.held.is_empty() {
                        ul.attached {
                            @for document in form.held {
                                li { "Attached: " (document.name) " (" (document.size) " bytes)" }
                            }
                        }
                    }
                    input type="file" id="documents" name="documents" multiple;
                }))
            }
            fieldset {
                legend { "What it targets" }
                (field(form.errors, "project", "Project", "Any open wiki from the site matrix, or Other.", html! {
                    select id="project" name="project" {
                        @for site in form.sites {
                            option value=(site.dbname) selected[raw.project == site.dbname] { (site.label) }
                        }
                        option value=(OTHER_PROJECT) selected[raw.project == OTHER_PROJECT || (!raw.project.is_empty() && !form.sites.iter().any(|s| s.dbname == raw.project))] { "Other (type the host below)" }
                    }
                }))
                (text("project_other", "Other project's host", &raw.project_other, "Only with Other: such as cy.wikipedia.org."))
                (lines("involved_users", "Users who added the content", &raw.involved_users, "One user name per line."))
                (lines("affected_files", "Affected files", &raw.affected_files, "One file name per line, with or without File:."))
                div.lookup {
                    button type="submit" name="action" value="lookup" { "Look up these files on the wiki" }
                    p.hint { "The appliance asks the project's wiki (or Commons, or the deletion archive) for each file's uploaders, upload times and SHA-1, and the meta wiki for the uploaders' global accounts. Nothing is recorded until you record the request; then what was found is recorded with it." }
                    @if let Some(lookup) = form.lookup {
                        (wiki_facts(lookup))
                        @let offers = lookup.offers(&raw.involved_users);
                        @if !offers.is_empty() {
                            (field(form.errors, "offer_user", "Uploaders to add as involved users", "Ticked names join the involved users when you record the request or look up again.", html! {
                                @for uploader in offers {
                                    label.choice {
                                        input type="checkbox" name="offer_user" value=(uploader.name);
                                        " " (uploader.name) " — " (global_label(&uploader.global))
                                    }
                                }
                            }))
                        }
                    }
                }
                (lines("affected_pages", "Affected pages", &raw.affected_pages, "One page title per line, with its namespace."))
                (lines("original_urls", "Original works", &raw.original_urls, "One URL per line. At least one for Lumen."))
            }
            fieldset {
                legend { "Due diligence" }
                (field(form.errors, "statement", "Check all that are true", "", html! {
                    @for statement in Statement::ALL {
                        label.choice {
                            input type="checkbox" name="statement" value=(statement.as_str()) checked[raw.statements.iter().any(|s| s == statement.as_str())];
                            " " (statement.sentence())
                        }
                    }
                }))
                (field(form.errors, "strike", "Why this is not a strike", "", html! {
                    @for reason in StrikeReason::ALL {
                        label.choice {
                            input type="checkbox" name="strike" value=(reason.as_str()) checked[raw.strike_reasons.iter().any(|s| s == reason.as_str())];
                            " " (reason.sentence())
                        }
                    }
                }))
                (text("strike_other", "Other reason", &raw.strike_other, ""))
            }
            fieldset {
                legend { "Titles" }
                (text("lumen_title", "Lumen title", &raw.lumen_title, "Required for Lumen."))
                (text("commons_title", "Commons / announcement heading", &raw.commons_title, "The heading on the Commons noticeboard and village pump."))
                (text("wmf_title", "Foundation wiki title", &raw.wmf_title, "Left empty, it becomes \"DMCA \" and the Commons heading. The page is Legal:<title>."))
            }
            p { button type="submit" { "Record the request" } }
            p.hint { "The request is recorded first, whatever the decision; then each chosen step runs and the case page shows how each went." }
        }
    };
    page("DMCA takedown request", Some(viewer), content)
}

/// What a wiki lookup found: each file's versions, each uploader's global account, and what
/// could not be looked up.
pub fn wiki_facts(lookup: &WikiLookup) -> Markup {
    html! {
        section.wiki-facts {
            h3 { "What the wiki says (looked up " (lookup.at) ")" }
            @if !lookup.problems.is_empty() {
                ul.problems { @for problem in &lookup.problems { li.warning { (problem) } } }
            }
            div.scroll { table {
                thead { tr { th { "File" } th { "Where" } th { "Uploaded" } th { "By" } th { "SHA-1" } } }
                tbody {
                    @for file in &lookup.files {
                        @let rows = file.versions.len().max(1);
                        tr data-file=(file.name) data-state=(file.state.label()) {
                            td rowspan=(rows) { span.text { (file.name) } br; em { (file.state.label()) } @if !file.note.is_empty() { br; span.hint { (file.note) } } }
                            td rowspan=(rows) { (file.wiki) }
                            @if let Some(first) = file.versions.first() { (version_cells(first)) } @else { td colspan="3" { em { "no versions" } } }
                        }
                        @for version in file.versions.iter().skip(1) {
                            tr { (version_cells(version)) }
                        }
                    }
                }
            } }
            @if !lookup.uploaders.is_empty() {
                h4 { "Uploaders' global accounts" }
                ul.uploaders {
                    @for uploader in &lookup.uploaders {
                        li data-uploader=(uploader.name) { span.text { (uploader.name) } ": " (global_label(&uploader.global)) }
                    }
                }
            }
        }
    }
}

fn version_cells(version: &VersionFacts) -> Markup {
    let hidden = || html! { em { "hidden" } };
    html! {
        td { (version.uploaded.as_deref().unwrap_or("—")) }
        td { @if let Some(user) = &version.uploader { span.text { (user) } } @else { (hidden()) } }
        td { @if let Some(sha1) = &version.sha1 { code.hash { (sha1) } } @else { (hidden()) } @if version.hidden { " " span.hint { "(partly hidden on the wiki)" } } }
    }
}

fn global_label(global: &GlobalAccount) -> String {
    match global {
        GlobalAccount::Account { id, home, locked, edits, wikis } => format!(
            "global account #{id}{}{}, on {wikis} wiki(s){}",
            home.as_deref().map(|h| format!(", home {h}")).unwrap_or_default(),
            edits.map(|e| format!(", {e} edits")).unwrap_or_default(),
            if *locked { ", LOCKED" } else { "" }
        ),
        GlobalAccount::None => "no global account".to_owned(),
        GlobalAccount::Address => "an IP address (no account)".to_owned(),
        GlobalAccount::NotLookedUp => "not looked up".to_owned(),
    }
}

pub(super) fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    html! { label.choice { input type="checkbox" name=(name) value="yes" checked[checked]; " " (label) } }
}

pub(super) fn field(
    errors: &[FieldError],
    name: &'static str,
    label: &str,
    hint: &str,
    control: Markup,
) -> Markup {
    let mine: Vec<&FieldError> = errors.iter().filter(|e| e.field == name).collect();
    html! {
        div.field.invalid[!mine.is_empty()] data-field=(name) {
            label for=(name) { (label) }
            (control)
            @for error in &mine { p.error id={ (name) "-error" } { (error.message) } }
            @if !hint.is_empty() { p.hint { (hint) } }
        }
    }
}

pub(super) fn label_of(field: &str) -> String {
    field.replace('_', " ")
}

/// What the case page's DMCA part shows.
pub struct CaseView<'a> {
    /// The case.
    pub id: CaseId,
    /// Its state.
    pub case: &'a DmcaCase,
    /// The notices, each with the API it goes to.
    pub notices: &'a [WikiNotice],
    /// Whether the viewer may act (holds the `dmca` role).
    pub may_act: bool,
    /// The viewer's wiki connection.
    pub wiki: Option<WikiConnection>,
    /// The CSRF token for the buttons.
    pub csrf_token: &'a str,
    /// A CAPTCHA the wiki asked for, for one notice: (notice key, id, question or image URL).
    pub captcha: Option<(&'a str, &'a str, String)>,
    /// Text the staffer edited for the notice the CAPTCHA is for.
    pub edited: Option<(&'a str, &'a str)>,
}

/// A DMCA case: first where it stands, the next step, the steps with their buttons and the
/// wiki notices to review and post; then the request as recorded.
pub fn render_case_steps(view: &CaseView<'_>) -> Workflow {
    let takedown = &view.case.takedown;
    let id = view.id;
    let next = next_step(view);
    let lead = html! {
        section.standing aria-labelledby="standing-heading" {
            h2 #standing-heading { "Where it stands" }
            p.decision { "Decision: " strong { (takedown.decision.label()) } "." @if takedown.test { " A test submission: never sent to Lumen." } }
            p.next { strong { "Next: " } (next) }
            div.scroll {
                table.steps {
                    caption { "Each external step, its outcome and what can be done now" }
                    thead { tr { th scope="col" { "Step" } th scope="col" { "Status" } th scope="col" { "Details" } th scope="col" { span.visually-hidden { "Action" } } } }
                    tbody {
                        (step_row(view, LUMEN, "Lumen notice", true))
                        (step_row(view, SALESFORCE, "Salesforce case", false))
                    }
                }
            }
            @if view.may_act { p { a href={ "/cases/" (id) "/edit" } { "Correct the request" } " (a correction is a new revision; the old one stays in the history)" } }
        }
        @if !view.notices.is_empty() {
            section.notices aria-labelledby="notices-heading" {
                h2 #notices-heading { "Wiki notices" }
                @match &view.wiki {
                    Some(WikiConnection::Connected { username }) => p { "Posting as your wiki account" @if let Some(name) = username { " " strong { (name) } } "." },
                    Some(WikiConnection::NotConnected) => {
                        form method="post" action="/wiki/connect" {
                            input type="hidden" name="csrf_token" value=(view.csrf_token);
                            p { "To post with one click, connect your wiki account first (your grant is kept only in memory). Or copy each text and post it by hand. " button type="submit" { "Connect your wiki account" } }
                        }
                    }
                    None => p.hint { "No wiki is configured: copy each text and post it by hand." },
                }
                @for (notice, handle) in view.notices.iter().zip(notices::handles(view.notices)) { (notice_block(view, notice, &handle)) }
            }
        }
    };
    let details = html! {
        section.dmca aria-labelledby="request-heading" {
            h2 #request-heading { "Request" }
            dl {
                dt { "Decision" } dd.decision { (takedown.decision.label()) }
                @if takedown.test { dt { "Test" } dd { strong { "Yes — a test submission" } } }
                dt { "Project" } dd { (takedown.project.label) " (" (takedown.project.host) ")" }
                dt { "Sender" } dd { (takedown.sender.name) }
                dt { "Subject" } dd { (takedown.subject) }
                dt { "Affected files" } dd { @for file in &takedown.affected_files { span.text { (file) } br; } }
                @if let Some(lookup) = &takedown.wiki_lookup {
                    dt { "Files on the wiki" } dd { (wiki_facts(lookup)) }
                }
                dt { "Supporting documents" } dd {
                    @if takedown.documents.is_empty() { em { "none" } }
                    @for document in &takedown.documents { span.text { (document.name) } " (" (document.size) " bytes, SHA-256 " code.hash { (document.sha256) } ")" br; }
                }
            }
            p.hint { "Everything else the request says is in the history: its first entry, and each correction." }
        }
    };
    Workflow { lead, details }
}

/// The next thing to do on the case, in plain words.
fn next_step(view: &CaseView<'_>) -> Markup {
    let case = view.case;
    let notice_steps: Vec<String> =
        view.notices.iter().map(|n| format!("{NOTICE_PREFIX}{}", n.kind.key())).collect();
    let steps = [(LUMEN, "the Lumen notice".to_owned()), (SALESFORCE, "the Salesforce case".to_owned())]
        .into_iter()
        .chain(view.notices.iter().zip(&notice_steps).map(|(n, step)| (step.as_str(), n.kind.label())));
    let mut unknown = Vec::new();
    let mut failed = Vec::new();
    for (step, label) in steps {
        match case.status(step) {
            Some(StepStatus::Unknown) => unknown.push(label),
            Some(StepStatus::Failed) => failed.push(label),
            _ => {}
        }
    }
    let unposted = notice_steps
        .iter()
        .filter(|step| !matches!(case.status(step), Some(StepStatus::Done | StepStatus::Skipped)))
        .count();
    if !view.may_act {
        html! { "a staffer with the dmca role acts on this case." }
    } else if !unknown.is_empty() {
        html! { "check at the service whether " (unknown.join(", ")) " went through (there was no answer), then confirm and retry below only if it did not." }
    } else if case.status(LUMEN) == Some(StepStatus::Failed) {
        html! { "the Lumen notice failed: " a href={ "/cases/" (view.id) "/edit" } { "correct the request" } " if Lumen refused a field, or retry it below." }
    } else if !failed.is_empty() {
        html! { "retry " (failed.join(", ")) " below." }
    } else if case.status(LUMEN).is_none() || case.status(SALESFORCE).is_none() {
        html! { "run the steps not yet run, below." }
    } else if unposted > 0 && matches!(view.wiki, Some(WikiConnection::Connected { .. })) {
        html! { "review and post the " (unposted) " wiki notice(s) not yet posted, below." }
    } else if unposted > 0 {
        html! { "post the " (unposted) " wiki notice(s) not yet posted: connect your wiki account below, or copy each text and post it by hand." }
    } else {
        html! { "nothing more to do: every chosen step is done." }
    }
}

fn status_label(status: Option<StepStatus>) -> (&'static str, &'static str) {
    match status {
        None => ("pending", "Pending"),
        Some(StepStatus::Started) | Some(StepStatus::Unknown) => ("unknown", "Unknown — check the service"),
        Some(StepStatus::Done) => ("done", "Done"),
        Some(StepStatus::Failed) => ("failed", "Failed"),
        Some(StepStatus::Skipped) => ("skipped", "Skipped"),
    }
}

fn step_row(view: &CaseView<'_>, step: &str, label: &str, takes_documents: bool) -> Markup {
    let status = view.case.status(step);
    let record = view.case.steps.get(step);
    let (class, text) = status_label(status);
    let documents_missing = takes_documents && !view.case.takedown.documents.is_empty();
    html! {
        tr data-step=(step) class=(class) {
            td { (label) }
            td.status { (text) }
            td {
                @if let Some(record) = record { span.text { (record.detail) } }
                @if let Some(link) = record.and_then(|r| r.link.as_deref()) { " " a href=(link) rel="noreferrer" { (link) } }
                @if let Some(at) = view.case.recorded_at.get(step) { br; span.hint { "Recorded " (timestamp(*at)) } }
            }
            td {
                @if view.may_act && view.case.may_run(step, true).is_ok() {
                    form method="post" action={ "/cases/" (view.id) "/steps/" (step) } enctype="multipart/form-data" {
                        input type="hidden" name="csrf_token" value=(view.csrf_token);
                        @if view.case.may_run(step, false).is_err() {
                            label.choice { input type="checkbox" name="confirm" value="yes"; " I checked: it was not done, send it again" }
                        }
                        @if documents_missing {
                            label { "Documents (only if no longer held): " input type="file" name="documents" multiple; }
                        }
                        button type="submit" { @if status == Some(StepStatus::Done) { "Update" } @else if status.is_none() { "Run" } @else { "Retry" } }
                    }
                }
            }
        }
        @for earlier in view.case.earlier_attempts(step).iter().rev() {
            tr.earlier data-step-earlier=(step) {
                td { span.visually-hidden { (label) } }
                td { "Earlier attempt" }
                td colspan="2" {
                    (timestamp(earlier.at)) ": "
                    @if earlier.interrupted {
                        "interrupted before its answer (the appliance stopped), so it may or may not have been done — "
                    } @else if earlier.record.status == StepStatus::Failed {
                        "failed — "
                    } @else {
                        "no answer, so it may or may not have been done — "
                    }
                    span.text { (earlier.record.detail) }
                    "; tried again since."
                }
            }
        }
    }
}

/// One notice: `key` is its handle (names nobody), used in its URL, element IDs and
/// `data-notice`.
fn notice_block(view: &CaseView<'_>, notice: &WikiNotice, key: &str) -> Markup {
    let step = format!("{NOTICE_PREFIX}{}", notice.kind.key());
    let status = view.case.status(&step);
    let record = view.case.steps.get(&step);
    let (class, label) = status_label(status);
    let text = match view.edited {
        Some((edited_key, text)) if edited_key == key => text.to_owned(),
        _ => record.and_then(|r| r.text.clone()).unwrap_or_else(|| notice.text.clone()),
    };
    let text_id = format!("notice-text-{key}");
    html! {
        section.notice data-notice=(key) class=(class) {
            h3 { (notice.kind.label()) " — " span.text { (notice.page) } }
            p.status { (label) @if let Some(record) = record { ": " span.text { (record.detail) } } @if let Some(rev) = record.and_then(|r| r.revision) { " (revision " (rev) ")" } }
            @for earlier in view.case.earlier_attempts(&step).iter().rev() {
                p.hint.earlier {
                    "Earlier attempt, " (timestamp(earlier.at)) ": "
                    @if earlier.interrupted { "interrupted before its answer — " } @else if earlier.record.status == StepStatus::Failed { "failed — " } @else { "no answer — " }
                    span.text { (earlier.record.detail) }
                }
            }
            @if status == Some(StepStatus::Done) {
                @if let Some(prepared) = record.and_then(|r| r.prepared.as_deref()) {
                    (edit_shown(prepared, &text))
                } @else {
                    p.hint { "Posted as prepared: every value typed into the request is escaped in it." }
                }
                details { summary { "Text as posted" } pre.text { (text) } }
            } @else {
                form method="post" action={ "/cases/" (view.id) "/notices/" (key) } {
                    input type="hidden" name="csrf_token" value=(view.csrf_token);
                    input type="hidden" name="notice" value=(notice.kind.key());
                    @if let Some(title) = &notice.section_title { p { "New section: " span.text { (title) } } }
                    label.notice-text for=(text_id) { "Wikitext to post on " span.text { (notice.page) } }
                    textarea name="text" rows="20" id=(text_id) { (text) }
                    @if let Some((captcha_key, id, prompt)) = &view.captcha && *captcha_key == key {
                        div.captcha {
                            p { "The wiki asks for a CAPTCHA: " (prompt) }
                            input type="hidden" name="captcha_id" value=(id);
                            label { "Answer " input type="text" name="captcha_word" autocomplete="off"; }
                        }
                    }
                    @if view.case.may_run(&step, false).is_err() {
                        label.choice { input type="checkbox" name="confirm" value="yes"; " I checked the page history: it was not posted" }
                    }
                    @if view.may_act && matches!(view.wiki, Some(WikiConnection::Connected { .. })) {
                        button type="submit" { "Post with my wiki account" }
                    }
                }
            }
        }
    }
}

/// A posted notice the staffer edited: that it was edited, the lines that changed (removed
/// lines marked `-`, added ones `+`, so the marks do not depend on colour), and the prepared
/// text as the case keeps it.
fn edit_shown(prepared: &str, posted: &str) -> Markup {
    html! {
        div.notice-edit data-edited {
            p.warning { "Edited before posting: the staffer's own wikitext was posted as typed (not escaped). The lines that changed:" }
            pre.text.diff {
                @for line in edits::line_changes(prepared, posted) {
                    @match line {
                        Line::Kept(text) => { "  " (text) "\n" }
                        Line::Removed(text) => { del { "- " (text) } "\n" }
                        Line::Added(text) => { ins { "+ " (text) } "\n" }
                    }
                }
            }
            details { summary { "Text as prepared" } pre.text { (prepared) } }
        }
    }
}

/// One revision of a DMCA case in a sentence, or `None` if it is not one of the workflow's
/// records.
pub(super) fn describe(revision: &Revision) -> Option<Markup> {
    let payload = &revision.payload;
    if let Some(value) = payload.get("dmca") {
        let takedown: Takedown = serde_json::from_value(value.clone()).ok()?;
        return Some(match revision.change {
            Change::Correction => html! { "corrected the request (what changed is below)" },
            _ => html! {
                "recorded the request: " (takedown.decision.label()) ", " (takedown.affected_files.len())
                " affected file(s), " (takedown.documents.len()) " supporting document(s)"
                @if takedown.test { ", as a test" }
            },
        });
    }
    let record: StepRecord = serde_json::from_value(payload.get("dmca_step")?.clone()).ok()?;
    let label = match record.step.as_str() {
        LUMEN => "the Lumen notice".to_owned(),
        SALESFORCE => "the Salesforce case".to_owned(),
        step => {
            let kind = NoticeKind::from_key(step.strip_prefix(NOTICE_PREFIX)?)?;
            format!("the wiki notice on the {}", kind.label())
        }
    };
    Some(html! {
        @match record.status {
            StepStatus::Started => { span.text { (record.detail) } }
            StepStatus::Done if record.step == LUMEN => { "Lumen notice sent: " span.text { (record.detail) } }
            StepStatus::Done => { span.text { (record.detail) } }
            StepStatus::Failed => { (label) " failed: " span.text { (record.detail) } }
            StepStatus::Unknown => { (label) ": no answer, so it may or may not have been done: " span.text { (record.detail) } }
            StepStatus::Skipped => { (label) " skipped: " span.text { (record.detail) } }
        }
        @if let Some(revision) = record.revision { " (wiki revision " (revision) ")" }
        @if let Some(link) = &record.link { " — " a href=(link) rel="noreferrer" { (link) } }
        @if !record.refused_fields.is_empty() {
            " — refused: "
            @for (i, refused) in record.refused_fields.iter().enumerate() {
                @if i > 0 { "; " }
                span.text { (refused.field) " " (refused.message) }
            }
        }
    })
}
