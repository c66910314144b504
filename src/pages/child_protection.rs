//! The child-protection pages: the report form (no script needed; errors next to their fields;
//! every typed value shown again), a case's approval, images and NCMEC journal, and the
//! retraction page.

use maud::{Markup, html};

use super::cases::timestamp;
use super::dmca::{checkbox, field, label_of};
use super::layout::{Viewer, page};
use crate::cases::CaseId;
use crate::child_protection::approval::Approval;
use crate::child_protection::form::RawReport;
use crate::child_protection::journal::{
    CallStatus, ChildCase, Submission, SubmissionState, WIKI_DELETE, WIKI_SUPPRESS, WikiHash,
};
use crate::child_protection::model::{Environment, Statement};
use crate::dmca::form::{FieldError, OTHER_PROJECT, ProjectChoice};

/// What the form page shows.
pub struct FormPage<'a> {
    /// The values to show.
    pub raw: &'a RawReport,
    /// The problems found, by field.
    pub errors: &'a [FieldError],
    /// The wikis offered.
    pub sites: &'a [ProjectChoice],
    /// The NCMEC environments with an account on this appliance.
    pub environments: &'a [Environment],
    /// The form's CSRF token.
    pub csrf_token: &'a str,
}

/// The banner that says where a report goes.
fn environment_banner(environment: Environment) -> Markup {
    html! {
        @match environment {
            Environment::Test => p.banner.test { "NCMEC TEST environment: NCMEC discards this report; nothing reaches law enforcement." },
            Environment::Production => p.banner.production { "NCMEC PRODUCTION: this report goes to the real CyberTipline." },
        }
    }
}

/// The report form.
pub fn render_form(viewer: &Viewer<'_>, form: &FormPage<'_>) -> Markup {
    let raw = form.raw;
    let errors = form.errors;
    let text = |name: &'static str, label: &str, value: &str, hint: &str| {
        field(errors, name, label, hint, html! { input type="text" id=(name) name=(name) value=(value); })
    };
    let chosen = Environment::from_key(&raw.environment).unwrap_or_default();
    let content = html! {
        (environment_banner(chosen))
        @if !errors.is_empty() {
            div.errors role="alert" {
                h2 { "Please correct " (errors.len()) " problem(s)" }
                p { "Nothing has been recorded or sent yet. Everything typed is below." }
                ul { @for error in errors { li { a href={ "#" (error.field) } { (label_of(error.field)) } ": " (error.message) } } }
            }
        }
        form method="post" action="/cp/new" {
            input type="hidden" name="csrf_token" value=(form.csrf_token);
            fieldset {
                legend { "Where the report goes" }
                (field(errors, "environment", "NCMEC environment", "Test unless this is a real report. A retry or a retraction always uses the report's own environment.", html! {
                    @for environment in [Environment::Test, Environment::Production] {
                        @let available = form.environments.contains(&environment);
                        label.choice {
                            input type="radio" name="environment" value=(environment.key()) checked[raw.environment == environment.key()] disabled[!available];
                            " " (environment.key())
                            @if !available { " (no account configured on this appliance)" }
                        }
                    }
                }))
            }
            fieldset {
                legend { "Logging data" }
                (field(errors, "statement", "Check all that are true", "", html! {
                    @for statement in Statement::ALL {
                        label.choice {
                            input type="checkbox" name="statement" value=(statement.as_str()) checked[raw.statements.iter().any(|s| s == statement.as_str())];
                            " " (statement.sentence())
                        }
                    }
                }))
                (field(errors, "permanent_notes", "Notes for the permanent log", "Kept with the case for good. Do not put CheckUser data here unless it must be kept permanently.", html! {
                    textarea id="permanent_notes" name="permanent_notes" rows="3" { (raw.permanent_notes) }
                }))
            }
            fieldset {
                legend { "The reporter" }
                (text("reporter_first_name", "First name", &raw.reporter_first_name, "Required by NCMEC."))
                (text("reporter_last_name", "Last name", &raw.reporter_last_name, ""))
                (text("reporter_email", "E-mail", &raw.reporter_email, "Required by NCMEC."))
                (field(errors, "accessed_at", "When you saw the content (UTC)", "Kept with the case; not sent to NCMEC.", html! {
                    input type="datetime-local" id="accessed_at" name="accessed_at" value=(raw.accessed_at);
                }))
            }
            fieldset {
                legend { "The incident" }
                (field(errors, "project", "Project", "Where the files were uploaded.", html! {
                    select id="project" name="project" {
                        @for site in form.sites {
                            option value=(site.dbname) selected[raw.project == site.dbname] { (site.label) }
                        }
                        option value=(OTHER_PROJECT) selected[raw.project == OTHER_PROJECT] { "Other (type the host below)" }
                    }
                }))
                (text("project_other", "Other project's host", &raw.project_other, "Only with Other: such as cy.wikipedia.org."))
                (text("uploader", "Uploader's user name", &raw.uploader, "Required."))
                (text("uploader_email", "Uploader's e-mail", &raw.uploader_email, "If known (someone with database access can look it up)."))
                (field(errors, "additional_info", "Additional information (CheckUser data, anything else)", "Sent to NCMEC and kept only inside the encrypted case.", html! {
                    textarea id="additional_info" name="additional_info" rows="6" { (raw.additional_info) }
                }))
            }
            fieldset {
                legend { "Files" }
                (field(errors, "files", "Each file", "Its name on the wiki (without File:), when it was uploaded (UTC), and the upload IP if CheckUser showed it (IPv4 or IPv6). Leave unused rows empty. The images themselves are uploaded on the approved case, in the request that sends them.", html! {
                    table.files {
                        thead { tr { th { "#" } th { "Name on the wiki" } th { "Uploaded (UTC)" } th { "Upload IP" } } }
                        tbody {
                            @for (i, row) in raw.files.iter().enumerate() {
                                tr {
                                    td { (i + 1) }
                                    td { input type="text" name="file_name" value=(row.name) aria-label={ "File " (i + 1) " name"}; }
                                    td { input type="datetime-local" name="file_uploaded" value=(row.uploaded) aria-label={ "File " (i + 1) " upload time"}; }
                                    td { input type="text" name="file_ip" value=(row.ip) aria-label={ "File " (i + 1) " upload IP"}; }
                                }
                            }
                        }
                    }
                    button type="submit" name="action" value="more" { "More file rows" }
                }))
            }
            p { button type="submit" name="action" value="record" { "Record the report for approval" } }
            p.hint { "The report is recorded (encrypted) and waits for a second person with the approver role. Nothing goes to NCMEC before that." }
        }
    };
    page("Child-protection report", Some(viewer), content)
}

/// What a child-protection case page shows beyond its revisions.
pub struct CaseView<'a> {
    /// The case.
    pub id: CaseId,
    /// Its state.
    pub case: &'a ChildCase,
    /// The viewer prepares reports (`child-protection`).
    pub may_prepare: bool,
    /// The viewer approves reports (`approver`) and did not prepare this one.
    pub may_approve: bool,
    /// The deployment takes approvals given outside the appliance.
    pub out_of_band: bool,
    /// The report's environment has an account here.
    pub environment_configured: bool,
    /// Deletion and suppression on the wiki, where the deployment offers it.
    pub wiki: Option<WikiView>,
    /// The CSRF token for the forms.
    pub csrf_token: &'a str,
}

/// The wiki part of a case, where the deployment offers it.
pub struct WikiView {
    /// The viewer's wiki account is connected.
    pub connected: bool,
}

/// A child-protection case: approval, images, the NCMEC journal.
pub fn render_case(view: &CaseView<'_>) -> Markup {
    let case = view.case;
    let report = &case.report;
    let id = view.id;
    html! {
        section.child-protection {
            (environment_banner(report.environment))
            h2 { "Report" }
            dl {
                dt { "Prepared by" } dd { (case.preparer) }
                dt { "Project" } dd { (report.project.label) " (" (report.project.host) ")" }
                dt { "Uploader" } dd { (report.uploader) }
                dt { "Files" } dd { ul { @for file in &report.files { li { (file.wiki_name) ", uploaded " (file.uploaded_at) @if let Some(ip) = file.upload_ip { ", from " (ip) } } } } }
            }
            h2 { "Approval" }
            @match &case.approval {
                Approval::Pending => {
                    p.warning { "Waiting for approval by a second person with the approver role. Nothing is sent to NCMEC before." }
                    @if view.may_approve {
                        form method="post" action={ "/cases/" (id) "/approval" } {
                            input type="hidden" name="csrf_token" value=(view.csrf_token);
                            p { button type="submit" name="decision" value="approve" { "Approve the release to NCMEC" } }
                            div.field {
                                label for="reason" { "Or decline, with the reason" }
                                textarea id="reason" name="reason" rows="2" {}
                            }
                            p { button type="submit" name="decision" value="decline" { "Decline" } }
                        }
                    }
                    @if view.may_prepare && view.out_of_band {
                        form method="post" action={ "/cases/" (id) "/approval/out-of-band" } {
                            input type="hidden" name="csrf_token" value=(view.csrf_token);
                            div.field {
                                label for="approver_name" { "Approved outside the appliance by" }
                                input type="text" id="approver_name" name="approver_name";
                            }
                            p { button type="submit" { "Record that approval" } }
                        }
                    }
                }
                Approval::Approved { by } => p { "Approved by " (by) "." }
                Approval::ApprovedOutOfBand { approver_name, recorded_by } => p { "Approved outside the appliance by " (approver_name) " (recorded by " (recorded_by) ")." }
                Approval::Declined { by, reason } => p.warning { "Declined by " (by) ": " (reason) ". The case is kept; nothing is sent." }
            }
            @for submission in &case.submissions { (render_submission(submission)) }
            @if let Some(crm) = &case.crm {
                h3 { "Salesforce" }
                p { (crm.detail) @if let Some(link) = &crm.link { " — " a href=(link) { "open the case" } } }
            }
            @if let Some(wiki) = &view.wiki {
                h2 { "On the wiki" }
                @if !wiki.connected { p.hint { "Connect your wiki account on the home page to delete and suppress with your own rights." } }
                table.wiki-actions {
                    thead { tr { th { "File" } th { "Old versions" } th { "File" } th {} } }
                    tbody {
                        @for (i, file) in report.files.iter().enumerate() {
                            @let suppressed = case.wiki.get(&format!("{WIKI_SUPPRESS}:{i}"));
                            @let deleted = case.wiki.get(&format!("{WIKI_DELETE}:{i}"));
                            tr data-file=(i) {
                                td { (file.wiki_name) }
                                td { @if let Some(r) = suppressed { (crate::audit::code(&r.status)) ": " (r.detail) } }
                                td { @if let Some(r) = deleted { (crate::audit::code(&r.status)) ": " (r.detail) } }
                                td {
                                    @if view.may_prepare && wiki.connected && !case.deleted_on_wiki(i) {
                                        form method="post" action={ "/cases/" (id) "/wiki/" (i) } {
                                            input type="hidden" name="csrf_token" value=(view.csrf_token);
                                            button type="submit" { "Delete and suppress on the wiki" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if case.approval.releases() && case.blocking_submission().is_none() && view.may_prepare {
                h2 { @if case.submissions.is_empty() { "Send to NCMEC" } @else { "Send to NCMEC again" } }
                @if !view.environment_configured {
                    p.error { "This appliance has no NCMEC " (report.environment.key()) " account; the operator must configure one before this report can be sent." }
                } @else {
                    p { "Choose each image and send them in this one request. They stay in locked memory only while it runs, and are never written anywhere. Their SHA-1, MD5 and SHA-256 are recorded; each SHA-1 is compared with the wiki's record of the file." }
                    form method="post" action={ "/cases/" (id) "/ncmec" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf_token" value=(view.csrf_token);
                        @for (i, file) in report.files.iter().enumerate() {
                            div.field {
                                label for={ "image_" (i) } { "Image for " (file.wiki_name) }
                                input type="file" id={ "image_" (i) } name={ "image_" (i) };
                            }
                        }
                        (checkbox("accept_sha1_mismatch", "Send even if an image's SHA-1 differs from the wiki's record (after checking it is the right image)", false))
                        p { button type="submit" { "Send the report and its images to NCMEC (" (report.environment.key()) ")" } }
                    }
                }
            }
        }
    }
}

fn render_submission(submission: &Submission) -> Markup {
    let (state, class) = match &submission.state {
        SubmissionState::SubmitUnknown => ("Unknown: the submit's answer never arrived; NCMEC may hold a report with an ID we do not know — ask NCMEC before sending again".to_owned(), "warning"),
        SubmissionState::NotOpened => ("Not opened: NCMEC refused the report; nothing to retract".to_owned(), "warning"),
        SubmissionState::Open(id) => (format!("Report {id} is OPEN at NCMEC: it must be retracted (the watchdog keeps trying)"), "error"),
        SubmissionState::Filed(id) => (format!("Report {id} filed with NCMEC"), "ok"),
        SubmissionState::Retracted(id) => (format!("Report {id} retracted; upload the images again to resubmit"), "warning"),
    };
    let file_ids = submission.file_ids();
    html! {
        section.submission {
            h3 { "Submission " (submission.attempt) " to NCMEC " (submission.environment.key()) }
            p class=(class) data-state=(state_key(&submission.state)) { (state) }
            @if let (SubmissionState::Open(_), Some(expires)) = (&submission.state, submission.expires_at()) {
                p.error { "NCMEC deletes it on its own at " (timestamp(expires)) " if it stays open." }
            }
            @if !submission.files.is_empty() {
                table.hashes {
                    thead { tr { th { "File" } th { "Uploaded as" } th { "Size" } th { "SHA-1" } th { "MD5" } th { "SHA-256" } th { "Wiki's SHA-1" } th { "NCMEC file ID" } th { "Earlier reports" } } }
                    tbody {
                        @for (i, file) in submission.files.iter().enumerate() {
                            tr {
                                td { (file.wiki_name) }
                                td { (file.original_name) }
                                td { (file.size) }
                                td.hash { (file.sha1) }
                                td.hash { (file.md5) }
                                td.hash { (file.sha256) }
                                td data-wiki-hash=(match file.wiki_hash { WikiHash::Matches => "matches", WikiHash::Differs { .. } => "differs", WikiHash::Unchecked { .. } => "unchecked" }) {
                                    @match &file.wiki_hash {
                                        WikiHash::Matches => "matches",
                                        WikiHash::Differs { wiki } => span.error { "DIFFERS: the wiki has " (wiki.join(", ")) },
                                        WikiHash::Unchecked { why } => { "not compared: " (why) },
                                    }
                                }
                                td { (file_ids.get(i).cloned().flatten().unwrap_or_default()) }
                                td {
                                    @for prior in &file.prior {
                                        p.warning.repeat {
                                            "Reported before: "
                                            a href={ "/cases/" (prior.case) } { "case " (prior.case) }
                                            @if let Some(report_id) = prior.report_id { ", report " (report_id) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            table.journal {
                thead { tr { th { "When" } th { "Step" } th { "File" } th { "Outcome" } th { "Code" } th { "Detail" } } }
                tbody {
                    @for (at, entry) in &submission.entries {
                        tr data-step=(crate::audit::code(&entry.step)) data-status=(crate::audit::code(&entry.status)) {
                            td { (timestamp(*at)) }
                            td { (entry.step.label()) }
                            td { @if let Some(i) = entry.file { (i + 1) } }
                            td { (status_label(entry.status)) }
                            td { @if let Some(code) = entry.response_code { (code) } }
                            td { (entry.detail) }
                        }
                    }
                }
            }
        }
    }
}

fn status_label(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Started => "started",
        CallStatus::Done => "done",
        CallStatus::Failed => "failed",
        CallStatus::Unknown => "unknown",
    }
}

fn state_key(state: &SubmissionState) -> &'static str {
    match state {
        SubmissionState::SubmitUnknown => "submit-unknown",
        SubmissionState::NotOpened => "not-opened",
        SubmissionState::Open(_) => "open",
        SubmissionState::Filed(_) => "filed",
        SubmissionState::Retracted(_) => "retracted",
    }
}

/// What the retraction page shows after a retraction.
pub struct RetractResult {
    /// The report.
    pub report_id: u64,
    /// Its environment.
    pub environment: Environment,
    /// NCMEC's code, when it answered with one.
    pub code: Option<i64>,
    /// What it means.
    pub meaning: String,
}

/// The retraction page.
pub fn render_retract(
    viewer: &Viewer<'_>,
    csrf_token: &str,
    environments: &[Environment],
    errors: &[FieldError],
    result: Option<&RetractResult>,
) -> Markup {
    let content = html! {
        p.warning { "Retraction works only for a report that was never finished. A filed report is withdrawn by writing to NCMEC." }
        @if let Some(result) = result {
            div.result role="status" data-code=(result.code.map(|c| c.to_string()).unwrap_or_default()) {
                p { "Report " (result.report_id) " (" (result.environment.key()) "): " strong { (result.meaning) } @if let Some(code) = result.code { " (code " (code) ")" } }
            }
        }
        form method="post" action="/ncmec/retract" {
            input type="hidden" name="csrf_token" value=(csrf_token);
            (field(errors, "environment", "Was it sent to", "", html! {
                @for environment in environments {
                    label.choice { input type="radio" name="environment" value=(environment.key()) checked[*environment == Environment::Test]; " " (environment.key()) }
                }
            }))
            (field(errors, "report_id", "Report ID", "The CyberTipline report ID NCMEC gave on submit.", html! {
                input type="text" id="report_id" name="report_id" inputmode="numeric";
            }))
            p { button type="submit" { "Retract" } }
        }
    };
    page("Retract an NCMEC report", Some(viewer), content)
}
