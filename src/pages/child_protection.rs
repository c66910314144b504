//! The child-protection pages: the report form (no script needed; errors next to their fields;
//! every typed value shown again), a case's approval, images and NCMEC journal, and the
//! retraction page.

use maud::{Markup, html};

use super::cases::{Workflow, timestamp};
use super::dmca::{field, label_of};
use super::layout::{Viewer, page};
use crate::cases::{CaseId, Revision};
use crate::child_protection::approval::{Approval, Sha1Waiver, WaiverDecision};
use crate::child_protection::form::RawReport;
use crate::child_protection::held::HeldView;
use crate::child_protection::journal::{
    APPROVAL, CRM, CallStatus, ChildCase, NCMEC, NcmecRecord, NcmecStep, REPORT, SHA1_WAIVER, Submission,
    SubmissionState, WIKI, WIKI_DELETE, WIKI_SUPPRESS, WikiHash,
};
use crate::child_protection::model::{ChildReport, Environment, Statement};
use crate::dmca::form::{FieldError, OTHER_PROJECT, ProjectChoice};
use crate::dmca::steps::{StepRecord, StepStatus};

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
    /// The viewer prepared this report (only they record an approval given outside).
    pub is_preparer: bool,
    /// The deployment takes approvals given outside the appliance.
    pub out_of_band: bool,
    /// The report's environment has an account here.
    pub environment_configured: bool,
    /// Deletion and suppression on the wiki, where the deployment offers it.
    pub wiki: Option<WikiView>,
    /// Images the viewer's last upload held back after a SHA-1 mismatch (theirs only).
    pub held: Option<HeldView>,
    /// Images other staff sent that wait for this viewer's confirmation (an approver who did not
    /// prepare the report; never their own).
    pub to_confirm: Vec<HeldView>,
    /// The CSRF token for the forms.
    pub csrf_token: &'a str,
}

/// The wiki part of a case, where the deployment offers it.
pub struct WikiView {
    /// The viewer's wiki account is connected.
    pub connected: bool,
}

/// A child-protection case: first where it stands, the next step and its buttons (approval,
/// held images, sending, the wiki); then the report, each submission with its hashes, and the
/// Salesforce case.
pub fn render_case(view: &CaseView<'_>) -> Workflow {
    let case = view.case;
    let report = &case.report;
    let (class, state, next) = standing(view);
    let lead = html! {
        (environment_banner(report.environment))
        section.standing aria-labelledby="standing-heading" {
            h2 #standing-heading { "Where it stands" }
            p class=(class) { (state) }
            @if let Some(next) = next { p.next { strong { "Next: " } (next) } }
            (approval_forms(view))
            @if releasable(view) && !view.to_confirm.is_empty() { (waiver_section(view)) }
            @if sendable(view) {
                @if let Some(held) = &view.held { (held_section(view, held)) }
                (send_form(view))
            }
            @if let Some(wiki) = &view.wiki { (wiki_actions(view, wiki)) }
        }
    };
    let details = html! {
        section.report aria-labelledby="report-heading" {
            h2 #report-heading { "Report" }
            dl {
                dt { "Prepared by" } dd { (case.preparer) }
                dt { "Approval" } dd {
                    @match &case.approval {
                        Approval::Pending => "Waiting for approval by a second person with the approver role.",
                        Approval::Approved { by } => { "Approved by " (by) "." }
                        Approval::ApprovedOutOfBand { approver_name, recorded_by } => { "Approved outside the appliance by " (approver_name) " (recorded by " (recorded_by) ")." }
                        Approval::Declined { by, reason } => { "Declined by " (by) ": " (reason) ". The case is kept; nothing is sent." }
                    }
                }
                dt { "Project" } dd { (report.project.label) " (" (report.project.host) ")" }
                dt { "Uploader" } dd { (report.uploader) }
                dt { "Files" } dd { ol.files { @for file in &report.files { li { span.text { (file.wiki_name) } ", uploaded " (file.uploaded_at) @if let Some(ip) = file.upload_ip { ", from " (ip) } } } } }
            }
            p.hint { "Everything else the report says (statements, notes, the reporter, CheckUser text) is in the history's first entry." }
        }
        @if !case.submissions.is_empty() {
            section.submissions aria-labelledby="submissions-heading" {
                h2 #submissions-heading { "Submissions to NCMEC" }
                @for submission in &case.submissions { (render_submission(submission)) }
            }
        }
        @if let Some(crm) = &case.crm {
            section.crm aria-labelledby="crm-heading" {
                h2 #crm-heading { "Salesforce" }
                p { (crm.detail) @if let Some(link) = &crm.link { " — " a href=(link) { "open the case" } } }
            }
        }
    };
    Workflow { lead, details }
}

/// Whether the report may be sent now: approved, nothing open, filed or unknown at NCMEC.
fn releasable(view: &CaseView<'_>) -> bool {
    view.case.approval.releases() && view.case.blocking_submission().is_none()
}

/// Whether the viewer may send the report now: it may be sent, and they prepare reports.
fn sendable(view: &CaseView<'_>) -> bool {
    releasable(view) && view.may_prepare
}

/// Where the case stands in a sentence (with its style), and what comes next.
fn standing(view: &CaseView<'_>) -> (&'static str, String, Option<Markup>) {
    let case = view.case;
    let environment = case.report.environment.key();
    match &case.approval {
        Approval::Declined { by, reason } => {
            ("warning", format!("Declined by {by}: {reason}. The case is kept; nothing is sent."), None)
        }
        Approval::Pending => {
            let next = if view.may_approve {
                html! { "approve the release to NCMEC, or decline it with a reason, below." }
            } else if view.may_prepare && view.is_preparer && view.out_of_band {
                html! { "another person with the approver role decides here, or you record below an approval given outside the appliance." }
            } else {
                html! { "another person with the approver role (not the one who prepared it) approves or declines it." }
            };
            (
                "warning",
                "Waiting for approval by a second person with the approver role. Nothing is sent to NCMEC before."
                    .to_owned(),
                Some(next),
            )
        }
        Approval::Approved { .. } | Approval::ApprovedOutOfBand { .. } => match case.blocking_submission() {
            Some(submission) => match submission.state {
                SubmissionState::Filed(id) => {
                    let next = view
                        .wiki
                        .as_ref()
                        .filter(|_| view.may_prepare && (0..case.report.files.len()).any(|i| !case.deleted_on_wiki(i)))
                        .map(|_| html! { "delete the files and suppress their old versions on the wiki, below." })
                        .unwrap_or_else(|| html! { "nothing more to do: the report is filed." });
                    ("ok", format!("Report {id} filed with NCMEC ({environment})."), Some(next))
                }
                SubmissionState::Open(id) => (
                    "error",
                    format!("Report {id} is OPEN at NCMEC ({environment}) and must be retracted; the watchdog keeps trying."),
                    Some(html! { "if it stays open, retract it on " a href="/ncmec/retract" { "the retraction page" } "." }),
                ),
                _ => (
                    "warning",
                    "An earlier submit's answer never arrived: NCMEC may hold a report whose ID we do not know."
                        .to_owned(),
                    Some(html! { "ask NCMEC whether it holds a report for this case before anything else is sent." }),
                ),
            },
            None if !view.to_confirm.is_empty() => (
                "warning",
                "Approved. Nothing was sent: an image's SHA-1 differs from the wiki's record, and the images are held for your confirmation."
                    .to_owned(),
                Some(html! { "check each differing image, then confirm sending the held images or refuse, below." }),
            ),
            None if view.held.is_some() && view.may_prepare => (
                "warning",
                "Approved. Nothing was sent: an image's SHA-1 differs from the wiki's record, and your images are held until an approver confirms."
                    .to_owned(),
                Some(html! { "a person with the approver role who neither prepared the report nor sent the images confirms or refuses on this page; or discard the images, below." }),
            ),
            None => {
                let next = view.may_prepare.then(|| {
                    if case.submissions.is_empty() {
                        html! { "choose each image and send the report to NCMEC, below." }
                    } else {
                        html! { "choose the images again and send the report again, below." }
                    }
                });
                let state = match case.submissions.last().map(|s| &s.state) {
                    Some(SubmissionState::Retracted(id)) => {
                        format!("Approved. Report {id} was retracted; nothing of this case is at NCMEC now.")
                    }
                    Some(_) => "Approved. The last submission opened no report at NCMEC.".to_owned(),
                    None => format!("Approved; not sent to NCMEC ({environment}) yet."),
                };
                ("", state, next)
            }
        },
    }
}

/// The approver's decision form, and the preparer's record of an outside approval.
fn approval_forms(view: &CaseView<'_>) -> Markup {
    let id = view.id;
    html! {
        @if view.case.approval == Approval::Pending {
            @if view.may_approve {
                form.approval method="post" action={ "/cases/" (id) "/approval" } {
                    input type="hidden" name="csrf_token" value=(view.csrf_token);
                    p { button type="submit" name="decision" value="approve" { "Approve the release to NCMEC" } }
                    div.field {
                        label for="reason" { "Or decline, with the reason" }
                        textarea id="reason" name="reason" rows="2" {}
                    }
                    p { button type="submit" name="decision" value="decline" { "Decline" } }
                }
            }
            @if view.may_prepare && view.is_preparer && view.out_of_band {
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
    }
}

/// The files of `held` whose SHA-1 differs from the wiki's: index, ours, the wiki's.
fn differing(held: &HeldView) -> Vec<(usize, &str, &[String])> {
    held.files
        .iter()
        .enumerate()
        .filter_map(|(i, (ours, wiki))| match wiki {
            WikiHash::Differs { wiki } => Some((i, ours.as_str(), wiki.as_slice())),
            _ => None,
        })
        .collect()
}

/// Each differing file by number and wiki name, with our SHA-1 and the wiki's.
fn differing_files(view: &CaseView<'_>, held: &HeldView) -> Markup {
    let report = &view.case.report;
    html! {
        @for (i, ours, wiki) in differing(held) {
            div.scroll data-held-file=(i + 1) {
                h4 { "File " (i + 1) ": " span.text { (report.files.get(i).map_or("", |f| f.wiki_name.as_str())) } }
                dl.hashes {
                    dt { "Our SHA-1" } dd { code.hash { (ours) } }
                    dt { "The wiki's SHA-1" } dd { @for (n, sha1) in wiki.iter().enumerate() { @if n > 0 { br; } code.hash { (sha1) } } }
                }
            }
        }
    }
}

/// The images the viewer's last upload held back: which differ, until when, who decides, and
/// the discard button.
fn held_section(view: &CaseView<'_>, held: &HeldView) -> Markup {
    let id = view.id;
    html! {
        section #sha1-mismatch .held aria-labelledby="sha1-mismatch-heading" {
            h3 #sha1-mismatch-heading { "Held back: an image's SHA-1 differs from the wiki's record" }
            p {
                "The " (held.files.len()) " image(s) you chose were not sent. They are held in locked memory until "
                strong.when { (timestamp(held.until)) } "; then they are wiped and must be chosen again."
            }
            (differing_files(view, held))
            p {
                "Sending them needs a second person: a person with the approver role who neither prepared this report nor sent the images "
                "checks them on this case page and confirms or refuses. Once confirmed, they are sent to NCMEC from here, without a second upload."
            }
            form method="post" action={ "/cases/" (id) "/ncmec/held" } {
                input type="hidden" name="csrf_token" value=(view.csrf_token);
                p { button type="submit" name="action" value="discard" { "Discard the held images" } }
            }
        }
    }
}

/// The images other staff hold for this approver's confirmation: who sent them, which differ,
/// until when, and the choice.
fn waiver_section(view: &CaseView<'_>) -> Markup {
    let id = view.id;
    let environment = view.case.report.environment.key();
    html! {
        section #sha1-waiver .held aria-labelledby="sha1-waiver-heading" {
            h3 #sha1-waiver-heading { "For your confirmation: an image's SHA-1 differs from the wiki's record" }
            p.hint { "Confirm only if each is the right image: another version of the file, or a re-encoded copy, has another SHA-1. Your decision is recorded in the case and the audit log, under your name." }
            @for held in &view.to_confirm {
                div.waiver data-sender=(held.sender) {
                    p {
                        (held.sender) " chose " (held.files.len()) " image(s) for this report. They are held in locked memory until "
                        strong.when { (timestamp(held.until)) } "."
                    }
                    (differing_files(view, held))
                    form method="post" action={ "/cases/" (id) "/ncmec/held/waiver" } {
                        input type="hidden" name="csrf_token" value=(view.csrf_token);
                        input type="hidden" name="hold" value=(held.hold);
                        @if view.environment_configured {
                            p { button type="submit" name="decision" value="confirm" { "Confirm: send the report and " (held.sender) "'s held images to NCMEC (" (environment) ")" } }
                        }
                        p { button type="submit" name="decision" value="refuse" { "Refuse: discard " (held.sender) "'s held images" } }
                    }
                }
            }
        }
    }
}

/// The form that chooses the images and sends the report.
fn send_form(view: &CaseView<'_>) -> Markup {
    let report = &view.case.report;
    html! {
        section.send aria-labelledby="send-heading" {
            h3 #send-heading { @if view.case.submissions.is_empty() { "Send to NCMEC" } @else { "Send to NCMEC again" } }
            @if !view.environment_configured {
                p.error { "This appliance has no NCMEC " (report.environment.key()) " account; the operator must configure one before this report can be sent." }
            } @else {
                @if view.held.is_some() { p.hint { "Or choose the images again (this replaces the held ones):" } }
                p { "Choose each image and send them in this one request. They stay in locked memory only while it runs, and are never written anywhere. Their SHA-1, MD5 and SHA-256 are recorded; each SHA-1 is compared with the wiki's record of the file." }
                form method="post" action={ "/cases/" (view.id) "/ncmec" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf_token" value=(view.csrf_token);
                    @for (i, file) in report.files.iter().enumerate() {
                        div.field {
                            label for={ "image_" (i) } { "Image for file " (i + 1) ", " (file.wiki_name) }
                            input type="file" id={ "image_" (i) } name={ "image_" (i) };
                        }
                    }
                    p.hint { "An image whose SHA-1 differs from the wiki's record is not sent: the images are held until a person with the approver role who neither prepared the report nor sent them confirms." }
                    p { button type="submit" { "Send the report and its images to NCMEC (" (report.environment.key()) ")" } }
                }
            }
        }
    }
}

/// Deletion and suppression of each file on the wiki, where the deployment offers it.
fn wiki_actions(view: &CaseView<'_>, wiki: &WikiView) -> Markup {
    let case = view.case;
    let label = |record: Option<&StepRecord>| {
        record.map(|r| format!("{}: {}", crate::audit::code(&r.status), r.detail)).unwrap_or_default()
    };
    html! {
        section.wiki aria-labelledby="wiki-heading" {
            h3 #wiki-heading { "On the wiki" }
            @if !wiki.connected { p.hint { "Connect your wiki account on the home page to delete and suppress with your own rights." } }
            div.scroll {
                table.wiki-actions {
                    thead { tr { th scope="col" { "File" } th scope="col" { "Old versions" } th scope="col" { "The file" } th scope="col" { span.visually-hidden { "Action" } } } }
                    tbody {
                        @for (i, file) in case.report.files.iter().enumerate() {
                            tr data-file=(i) {
                                td { (i + 1) ". " span.text { (file.wiki_name) } }
                                td { (label(case.wiki.get(&format!("{WIKI_SUPPRESS}:{i}")))) }
                                td { (label(case.wiki.get(&format!("{WIKI_DELETE}:{i}")))) }
                                td {
                                    @if view.may_prepare && wiki.connected && !case.deleted_on_wiki(i) {
                                        form method="post" action={ "/cases/" (view.id) "/wiki/" (i) } {
                                            input type="hidden" name="csrf_token" value=(view.csrf_token);
                                            button type="submit" { "Delete and suppress file " (i + 1) " on the wiki" }
                                        }
                                    }
                                }
                            }
                        }
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
    // What went wrong, in the journal's words: its first failed or unanswered call.
    let trouble = submission
        .entries
        .iter()
        .map(|(_, entry)| entry)
        .find(|entry| matches!(entry.status, CallStatus::Failed | CallStatus::Unknown));
    html! {
        section.submission {
            h3 { "Submission " (submission.attempt) " to NCMEC " (submission.environment.key()) }
            p class=(class) data-state=(state_key(&submission.state)) { (state) }
            @if let (SubmissionState::Open(_), Some(expires)) = (&submission.state, submission.expires_at()) {
                p.error { "NCMEC deletes it on its own at " (timestamp(expires)) " if it stays open." }
            }
            @if let Some(entry) = trouble {
                p { "What went wrong: " (entry.step.label()) @if let Some(i) = entry.file { ", file " (i + 1) } " — " (entry.detail) @if let Some(code) = entry.response_code { " (NCMEC code " (code) ")" } "." }
            }
            @for (i, file) in submission.files.iter().enumerate() {
                section.sent-file aria-label={ "Submission " (submission.attempt) ", file " (i + 1) } {
                    h4 { "File " (i + 1) ": " span.text { (file.wiki_name) } }
                    div.scroll {
                        dl.hashes {
                            dt { "Uploaded as" } dd { span.text { (file.original_name) } ", " (file.size) " bytes" }
                            dt { "SHA-1" } dd { code.hash { (file.sha1) } }
                            dt { "MD5" } dd { code.hash { (file.md5) } }
                            dt { "SHA-256" } dd { code.hash { (file.sha256) } }
                            dt { "Wiki's SHA-1" }
                            dd data-wiki-hash=(match file.wiki_hash { WikiHash::Matches => "matches", WikiHash::Differs { .. } => "differs", WikiHash::Unchecked { .. } => "unchecked" }) {
                                @match &file.wiki_hash {
                                    WikiHash::Matches => "matches ours",
                                    WikiHash::Differs { wiki } => {
                                        strong.differs { "DIFFERS" } " — the wiki has:"
                                        @for sha1 in wiki { br; code.hash { (sha1) } }
                                    }
                                    WikiHash::Unchecked { why } => { "not compared: " (why) },
                                }
                            }
                            dt { "NCMEC file ID" } dd {
                                @match file_ids.get(i).cloned().flatten() {
                                    Some(id) => code.hash { (id) },
                                    None => em { "none (not uploaded)" },
                                }
                            }
                            @if !file.prior.is_empty() {
                                dt { "Earlier reports" } dd {
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
        }
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

/// One revision of a child-protection case in a sentence, or `None` if it is not one of the
/// workflow's records.
pub(super) fn describe(revision: &Revision) -> Option<Markup> {
    let payload = &revision.payload;
    let parse = |key: &str| payload.get(key).cloned();
    if let Some(value) = parse(REPORT) {
        let report: ChildReport = serde_json::from_value(value).ok()?;
        return Some(html! {
            "recorded the report for approval: " (report.files.len()) " file(s), to NCMEC " (report.environment.key())
        });
    }
    if let Some(value) = parse(APPROVAL) {
        return Some(match serde_json::from_value::<Approval>(value).ok()? {
            Approval::Approved { .. } => html! { "approved the report's release to NCMEC" },
            Approval::ApprovedOutOfBand { approver_name, .. } => {
                html! { "recorded an approval given outside the appliance by " span.text { (approver_name) } }
            }
            Approval::Declined { reason, .. } => {
                html! { "declined the report's release: " span.text { (reason) } }
            }
            Approval::Pending => html! { "reset the approval" },
        });
    }
    if let Some(value) = parse(SHA1_WAIVER) {
        let waiver: Sha1Waiver = serde_json::from_value(value).ok()?;
        let verb = match waiver.decision {
            WaiverDecision::Confirm => "confirmed sending",
            WaiverDecision::Refuse => "refused sending",
        };
        let (files, differs) = if waiver.files.len() == 1 {
            ("file", "its SHA-1 differs")
        } else {
            ("files", "their SHA-1s differ")
        };
        return Some(html! {
            (verb) " " (files) " " (waiver.numbers()) " although " (differs) " from the wiki's record (images chosen by "
            (waiver.sender) ")"
        });
    }
    if let Some(value) = parse(NCMEC) {
        return Some(ncmec_sentence(&serde_json::from_value::<NcmecRecord>(value).ok()?));
    }
    if let Some(value) = parse(CRM) {
        let record: StepRecord = serde_json::from_value(value).ok()?;
        return Some(html! {
            @if record.status != StepStatus::Done { "Salesforce case " (step_status(record.status)) ": " }
            (record.detail)
            @if let Some(link) = &record.link { " — " a href=(link) { (link) } }
        });
    }
    if let Some(value) = parse(WIKI) {
        let record: StepRecord = serde_json::from_value(value).ok()?;
        let (action, file) = record.step.split_once(':')?;
        let file = file.parse::<usize>().ok()? + 1;
        let what = match action {
            WIKI_SUPPRESS => "suppressing the old versions of",
            WIKI_DELETE => "deleting",
            _ => return None,
        };
        return Some(
            html! { (what) " file " (file) " on the wiki " (step_status(record.status)) ": " (record.detail) },
        );
    }
    None
}

/// One NCMEC journal entry in a sentence.
fn ncmec_sentence(record: &NcmecRecord) -> Markup {
    let file = record.file.map(|i| i + 1).unwrap_or_default();
    let report = record.report_id.map(|id| id.to_string()).unwrap_or_else(|| "?".to_owned());
    let what = match record.step {
        NcmecStep::Submit => "opening the report".to_owned(),
        NcmecStep::Upload => format!("file {file} upload"),
        NcmecStep::FileInfo => format!("file {file} details"),
        NcmecStep::Finish => format!("filing report {report}"),
        NcmecStep::Retract => format!("report {report}"),
    };
    let sentence = match (record.step, record.status) {
        (NcmecStep::Submit, CallStatus::Started) => {
            format!("opening a report with {} image(s), their hashes journaled first", record.files.len())
        }
        (NcmecStep::Submit, CallStatus::Done) => format!("report {report} opened"),
        (NcmecStep::Upload, CallStatus::Started) => format!("uploading file {file}"),
        (NcmecStep::Upload, CallStatus::Done) => format!(
            "file {file} uploaded, NCMEC file ID {}; NCMEC's MD5 matches ours",
            record.file_id.as_deref().unwrap_or("?")
        ),
        (NcmecStep::FileInfo, CallStatus::Started) => format!("sending file {file}'s details"),
        (NcmecStep::FileInfo, CallStatus::Done) => format!("file {file}'s details recorded by NCMEC"),
        (NcmecStep::Finish, CallStatus::Started) => format!("filing report {report}"),
        (NcmecStep::Finish, CallStatus::Done) => record.detail.clone(),
        (NcmecStep::Retract, _) => format!("{what}: {}", record.detail),
        (_, CallStatus::Failed) => format!("{what} failed: {}", record.detail),
        (_, CallStatus::Unknown) => {
            format!("{what}: no answer, so it may or may not have happened: {}", record.detail)
        }
    };
    let code = record.response_code.filter(|&c| c != 0 || record.step == NcmecStep::Retract);
    html! {
        "NCMEC " (record.environment.key()) ", submission " (record.attempt) ": " (sentence)
        @if let Some(code) = code { " (NCMEC code " (code) ")" }
    }
}

fn step_status(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Started => "started",
        StepStatus::Done => "done",
        StepStatus::Failed => "failed",
        StepStatus::Unknown => "outcome unknown",
        StepStatus::Skipped => "skipped",
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
    /// The case whose report it is, where the retraction was recorded.
    pub case: Option<CaseId>,
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
                @if let Some(case) = result.case {
                    p { "Recorded in " a href={ "/cases/" (case) } { "case " (case) } ", whose report it is." }
                }
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
