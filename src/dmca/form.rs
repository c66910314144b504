//! The DMCA form as typed: every value kept exactly as the staffer entered it, so that a page
//! with errors shows it all again, and the server-side check that turns it into a
//! [`Takedown`] or a list of errors, each tied to its field.
//!
//! What is required depends on what the staffer chose, as the users asked: a denied request
//! needs nothing but the decision; a notice for Lumen needs exactly what Lumen needs; wiki
//! notices need their titles and something to announce. Length limits are the rewrite's.

use time::Date;
use time::macros::format_description;
use url::Url;

use super::model::{Decision, Project, Sender, Statement, StrikeReason, Takedown};
use crate::config::DmcaSettings;

/// The Lumen title the original form started with.
pub const DEFAULT_LUMEN_TITLE: &str = "DMCA (Copyright) Complaint to Wikimedia Foundation";

/// The project the form starts with (where most takedowns happen).
pub const DEFAULT_PROJECT: &str = "commonswiki";

/// The `project` value that means "the host in `project_other`".
pub const OTHER_PROJECT: &str = "other";

/// Most entries in one list (files, pages, users, URLs).
const MAX_LIST_ENTRIES: usize = 500;

/// Longest entry in a list: a page title's limit.
const MAX_ENTRY_CHARS: usize = 255;

/// Longest notice text kept (the upload form's text-field limit is 64 KiB).
const MAX_BODY_CHARS: usize = 60_000;

/// The earliest date a DMCA notice can have (the day after the DMCA was signed; Lumen refuses
/// earlier ones).
const EARLIEST_NOTICE: (i32, u8, u8) = (1998, 10, 29);

/// Characters MediaWiki forbids in titles (and so in file, page and user names).
pub(crate) const TITLE_FORBIDDEN: &[char] = &['[', ']', '{', '}', '|', '<', '>', '#'];

/// A wiki the form offers: from the site matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectChoice {
    /// `commonswiki`.
    pub dbname: String,
    /// `commons.wikimedia.org` (with `:port` if the URL has one).
    pub host: String,
    /// `Wikimedia Commons (commonswiki)`.
    pub label: String,
}

/// The form exactly as typed. Its `Debug` shows the choices only: the typed text is case data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawForm {
    /// "Send the notice to Lumen".
    pub send_to_lumen: bool,
    /// "Prepare the wiki notices".
    pub post_wiki_notices: bool,
    /// "Open a Salesforce case".
    pub open_salesforce_case: bool,
    /// "This is a test".
    pub test: bool,
    /// A site matrix dbname, or `other`.
    pub project: String,
    /// The host typed for `other`.
    pub project_other: String,
    /// Sender fields, by their form names without `sender_`.
    pub sender: Sender,
    /// `YYYY-MM-DD`.
    pub date_sent: String,
    /// How it arrived.
    pub method: String,
    /// Addressed to.
    pub to: String,
    /// Sent from.
    pub from: String,
    /// Subject line.
    pub subject: String,
    /// The notice's text.
    pub body: String,
    /// One per line.
    pub involved_users: String,
    /// One per line.
    pub affected_files: String,
    /// One per line.
    pub affected_pages: String,
    /// One per line.
    pub original_urls: String,
    /// `granted`, `partially-granted`, `denied`, or empty.
    pub decision: String,
    /// Statement values ticked.
    pub statements: Vec<String>,
    /// Strike reasons ticked.
    pub strike_reasons: Vec<String>,
    /// The "other" reason.
    pub strike_other: String,
    /// Lumen's title.
    pub lumen_title: String,
    /// The Commons / announcement heading.
    pub commons_title: String,
    /// The foundation wiki page title.
    pub wmf_title: String,
}

/// A problem with one field, shown next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The form field's name.
    pub field: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

impl std::fmt::Debug for RawForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawForm")
            .field("decision", &self.decision)
            .field("send_to_lumen", &self.send_to_lumen)
            .field("post_wiki_notices", &self.post_wiki_notices)
            .field("test", &self.test)
            .field("body_chars", &self.body.chars().count())
            .finish_non_exhaustive()
    }
}

impl RawForm {
    /// The form as a recorded request fills it, for a correction.
    pub fn from_takedown(takedown: &Takedown) -> Self {
        Self {
            send_to_lumen: takedown.send_to_lumen,
            post_wiki_notices: takedown.post_wiki_notices,
            open_salesforce_case: true,
            test: takedown.test,
            project: takedown.project.dbname.clone(),
            project_other: if takedown.project.dbname == OTHER_PROJECT {
                takedown.project.host.clone()
            } else {
                String::new()
            },
            sender: takedown.sender.clone(),
            date_sent: takedown.date_sent.clone(),
            method: takedown.method.clone(),
            to: takedown.to.clone(),
            from: takedown.from.clone(),
            subject: takedown.subject.clone(),
            body: takedown.body.clone(),
            involved_users: takedown.involved_users.join("\n"),
            affected_files: takedown.affected_files.join("\n"),
            affected_pages: takedown.affected_pages.join("\n"),
            original_urls: takedown.original_urls.join("\n"),
            decision: takedown.decision.as_str().to_owned(),
            statements: takedown.statements.iter().map(|s| s.as_str().to_owned()).collect(),
            strike_reasons: takedown.strike_reasons.iter().map(|r| r.as_str().to_owned()).collect(),
            strike_other: takedown.strike_other.clone(),
            lumen_title: takedown.lumen_title.clone(),
            commons_title: takedown.commons_title.clone(),
            wmf_title: takedown.wmf_title.clone(),
        }
    }

    /// A blank form, pre-filled the way the original was.
    pub fn blank() -> Self {
        Self {
            send_to_lumen: true,
            post_wiki_notices: true,
            open_salesforce_case: true,
            project: DEFAULT_PROJECT.into(),
            sender: Sender { country: "US".into(), ..Sender::default() },
            method: "email".into(),
            lumen_title: DEFAULT_LUMEN_TITLE.into(),
            ..Self::default()
        }
    }

    /// Reads the form from its fields: `values(name)` gives every value of a field, in order.
    pub fn read(values: impl Fn(&str) -> Vec<String>) -> Self {
        let one = |name: &str| values(name).into_iter().next().unwrap_or_default();
        let ticked = |name: &str| values(name).iter().any(|v| v == "yes");
        Self {
            send_to_lumen: ticked("send_to_lumen"),
            post_wiki_notices: ticked("post_wiki_notices"),
            open_salesforce_case: ticked("open_salesforce_case"),
            test: ticked("test"),
            project: one("project"),
            project_other: one("project_other"),
            sender: Sender {
                name: one("sender_name"),
                person: one("sender_person"),
                firm: one("sender_firm"),
                address_line_1: one("sender_address_1"),
                address_line_2: one("sender_address_2"),
                city: one("sender_city"),
                state: one("sender_state"),
                zip: one("sender_zip"),
                country: one("sender_country"),
            },
            date_sent: one("date_sent"),
            method: one("method"),
            to: one("to"),
            from: one("from"),
            subject: one("subject"),
            body: one("body"),
            involved_users: with_offers(one("involved_users"), values("offer_user")),
            affected_files: one("affected_files"),
            affected_pages: one("affected_pages"),
            original_urls: one("original_urls"),
            decision: one("decision"),
            statements: values("statement"),
            strike_reasons: values("strike"),
            strike_other: one("strike_other"),
            lumen_title: one("lumen_title"),
            commons_title: one("commons_title"),
            wmf_title: one("wmf_title"),
        }
    }

    /// Checks the form. `sites` are the wikis the site matrix offers; `today` bounds the date.
    /// On success the takedown has no documents yet (the caller adds them).
    pub fn check(
        &self,
        sites: &[ProjectChoice],
        settings: &DmcaSettings,
        today: Date,
    ) -> Result<Takedown, Vec<FieldError>> {
        let mut errors = Vec::new();
        let decision = Decision::parse(&self.decision);
        if decision.is_none() {
            errors.push(FieldError::new(
                "decision",
                "Choose what was decided: granted, partially granted or denied.",
            ));
        }
        // What is required follows from the decision; until one is chosen, only the
        // decision itself and malformed values are reported.
        let took_down = decision.is_some_and(Decision::took_down);
        // A denied request is logged and may open a CRM case; it is announced nowhere.
        let send_to_lumen = self.send_to_lumen && took_down;
        let post_wiki_notices = self.post_wiki_notices && took_down;

        // A denied request may leave the project out; anything announced needs one.
        let project = if !took_down && self.project.is_empty() {
            Some(Project { dbname: String::new(), host: String::new(), label: "not given".into() })
        } else {
            self.project(sites, settings, &mut errors)
        };
        let sender = Sender {
            name: limited(&self.sender.name, "sender_name", 63, &mut errors),
            person: limited(&self.sender.person, "sender_person", 63, &mut errors),
            firm: limited(&self.sender.firm, "sender_firm", 63, &mut errors),
            address_line_1: limited(&self.sender.address_line_1, "sender_address_1", 127, &mut errors),
            address_line_2: limited(&self.sender.address_line_2, "sender_address_2", 127, &mut errors),
            city: limited(&self.sender.city, "sender_city", 63, &mut errors),
            state: limited(&self.sender.state, "sender_state", 63, &mut errors),
            zip: limited(&self.sender.zip, "sender_zip", 15, &mut errors),
            country: self.sender.country.trim().to_ascii_uppercase(),
        };
        let two_letters = sender.country.len() == 2 && sender.country.bytes().all(|b| b.is_ascii_uppercase());
        if !sender.country.is_empty() && !two_letters {
            errors.push(FieldError::new(
                "sender_country",
                "Give the country as a two-letter ISO code (US, DE, GB).",
            ));
        }
        let date_sent = self.date_sent(today, &mut errors);
        let method = limited(&self.method, "method", 127, &mut errors);
        let to = limited(&self.to, "to", 255, &mut errors);
        let from = limited(&self.from, "from", 255, &mut errors);
        let subject = limited(&self.subject, "subject", 255, &mut errors);
        let body = self.body.trim_end().to_owned();
        if body.chars().count() > MAX_BODY_CHARS {
            errors.push(FieldError::new(
                "body",
                format!(
                    "Shorten the notice to {MAX_BODY_CHARS} characters; attach the full text as a document."
                ),
            ));
        }
        if body.contains('\0') {
            errors.push(FieldError::new(
                "body",
                "The notice holds a NUL character; paste it again as plain text.",
            ));
        }
        let involved_users = list(&self.involved_users, "involved_users", &mut errors, |name| {
            (name.contains(TITLE_FORBIDDEN) || name.contains(['/', '@', ':']))
                .then(|| format!("{name:?} is not a user name (it holds one of # < > [ ] | {{ }} / @ :)"))
        });
        let affected_files = self.affected_file_list(&mut errors);
        let affected_pages = list(&self.affected_pages, "affected_pages", &mut errors, |name| {
            name.contains(TITLE_FORBIDDEN)
                .then(|| format!("{name:?} is not a page title (it holds one of # < > [ ] | {{ }})"))
        });
        let original_urls =
            list(&self.original_urls, "original_urls", &mut errors, |text| match Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => None,
                _ => Some(format!("{text:?} is not a web address; write it as https://…")),
            });
        let statements = ticked(&self.statements, Statement::parse, "statement", "statements", &mut errors);
        let strike_reasons =
            ticked(&self.strike_reasons, StrikeReason::parse, "strike", "reasons", &mut errors);
        let strike_other = limited(&self.strike_other, "strike_other", 255, &mut errors);
        if strike_reasons.contains(&StrikeReason::Other) && strike_other.is_empty() {
            errors
                .push(FieldError::new("strike_other", "Say what the other reason is, or untick \"Other\"."));
        }
        let lumen_title = limited(&self.lumen_title, "lumen_title", 255, &mut errors);
        let commons_title = limited(&self.commons_title, "commons_title", 255, &mut errors);
        let mut wmf_title = limited(&self.wmf_title, "wmf_title", 255, &mut errors);
        if wmf_title.is_empty() && !commons_title.is_empty() {
            // The original filled it from the Commons title as the staffer typed.
            wmf_title = format!("DMCA {}", commons_title.replace(TITLE_FORBIDDEN, ""));
        }
        if wmf_title.contains(TITLE_FORBIDDEN) {
            errors
                .push(FieldError::new("wmf_title", "A page title cannot hold # < > [ ] | { }; remove them."));
        }

        if send_to_lumen {
            let mut require = |value: &str, field: &'static str, what: &str| {
                if value.trim().is_empty() {
                    errors.push(FieldError::new(
                        field,
                        format!("Lumen needs {what}; fill it in or untick \"Send to Lumen\"."),
                    ));
                }
            };
            require(&lumen_title, "lumen_title", "a title");
            require(&sender.name, "sender_name", "the sender's name");
            require(&method, "method", "how the notice arrived");
            require(&subject, "subject", "the subject");
            require(&body, "body", "the notice's text");
            require(&self.date_sent, "date_sent", "the date the notice was sent");
            if original_urls.is_empty() {
                errors.push(FieldError::new(
                    "original_urls",
                    "Lumen needs at least one original-work URL; add one or untick \"Send to Lumen\".",
                ));
            }
            if affected_files.is_empty() && affected_pages.is_empty() {
                errors.push(FieldError::new(
                    "affected_files",
                    "Lumen needs at least one affected file or page.",
                ));
            }
        }
        if post_wiki_notices {
            if wmf_title.is_empty() {
                errors.push(FieldError::new(
                    "wmf_title",
                    "The foundation wiki page needs a title; fill it in or untick \"Prepare wiki notices\".",
                ));
            }
            if project.as_ref().is_some_and(Project::is_commons) && commons_title.is_empty() {
                errors.push(FieldError::new(
                    "commons_title",
                    "The Commons notices need a heading; fill it in or untick \"Prepare wiki notices\".",
                ));
            }
            if affected_files.is_empty() && affected_pages.is_empty() {
                errors.push(FieldError::new(
                    "affected_files",
                    "The wiki notices need at least one affected file or page.",
                ));
            }
        }

        match (decision, project) {
            (Some(decision), Some(project)) if errors.is_empty() => Ok(Takedown {
                test: self.test,
                send_to_lumen,
                post_wiki_notices,
                project,
                sender,
                date_sent,
                method,
                to,
                from,
                subject,
                body,
                involved_users,
                affected_files,
                affected_pages,
                original_urls,
                decision,
                statements,
                strike_reasons,
                strike_other,
                lumen_title,
                commons_title,
                wmf_title,
                documents: Vec::new(),
                wiki_lookup: None,
            }),
            _ => Err(errors),
        }
    }

    /// The project chosen, checked as [`RawForm::check`] checks it (for a lookup before the
    /// whole form is checked).
    pub fn chosen_project(
        &self,
        sites: &[ProjectChoice],
        settings: &DmcaSettings,
    ) -> Result<Project, Vec<FieldError>> {
        let mut errors = Vec::new();
        self.project(sites, settings, &mut errors).ok_or(errors)
    }

    /// The affected files' names as the check reads them (without `File:`), or the problems
    /// with them.
    pub fn file_names(&self) -> Result<Vec<String>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let names = self.affected_file_list(&mut errors);
        if errors.is_empty() { Ok(names) } else { Err(errors) }
    }

    /// The affected files without `File:`, each once.
    fn affected_file_list(&self, errors: &mut Vec<FieldError>) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for name in list(&self.affected_files, "affected_files", errors, |name| {
            name.contains(TITLE_FORBIDDEN)
                .then(|| format!("{name:?} is not a file name (it holds one of # < > [ ] | {{ }})"))
        }) {
            let name = strip_file_prefix(&name);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    fn project(
        &self,
        sites: &[ProjectChoice],
        settings: &DmcaSettings,
        errors: &mut Vec<FieldError>,
    ) -> Option<Project> {
        if self.project == OTHER_PROJECT {
            let typed = self.project_other.trim().trim_start_matches("https://").trim_end_matches('/');
            let host = typed.split(':').next().unwrap_or_default();
            let valid = !typed.is_empty()
                && Url::parse(&format!("https://{typed}/"))
                    .is_ok_and(|url| url.path() == "/" && url.host_str() == Some(&host.to_ascii_lowercase()));
            if !valid || !settings.is_wiki_host(host) {
                errors.push(FieldError::new(
                    "project_other",
                    format!(
                        "Give the wiki's host name (such as en.wikipedia.org); it must be under one of: {}.",
                        settings.wiki_domains.join(", ")
                    ),
                ));
                return None;
            }
            let host = typed.to_ascii_lowercase();
            return Some(Project { dbname: OTHER_PROJECT.into(), label: host.clone(), host });
        }
        match sites.iter().find(|site| site.dbname == self.project) {
            Some(site) => Some(Project {
                dbname: site.dbname.clone(),
                host: site.host.clone(),
                label: site.label.clone(),
            }),
            None => {
                errors.push(FieldError::new(
                    "project",
                    if sites.is_empty() {
                        "The list of wikis could not be loaded from the meta wiki; choose Other and type the wiki's host name.".to_owned()
                    } else {
                        "Choose a wiki from the list, or Other and type its host name.".to_owned()
                    },
                ));
                None
            }
        }
    }

    fn date_sent(&self, today: Date, errors: &mut Vec<FieldError>) -> String {
        let text = self.date_sent.trim();
        if text.is_empty() {
            return String::new();
        }
        let earliest = Date::from_calendar_date(
            EARLIEST_NOTICE.0,
            EARLIEST_NOTICE.1.try_into().unwrap_or(time::Month::October),
            EARLIEST_NOTICE.2,
        )
        .unwrap_or(Date::MIN);
        match Date::parse(text, format_description!("[year]-[month]-[day]")) {
            Ok(date) if date < earliest => errors.push(FieldError::new(
                "date_sent",
                "A DMCA notice cannot be older than 1998-10-29; check the year.",
            )),
            Ok(date) if date > today => errors.push(FieldError::new(
                "date_sent",
                "The date is in the future; give the date the notice was sent.",
            )),
            Ok(_) => {}
            Err(_) => errors.push(FieldError::new("date_sent", "Write the date as YYYY-MM-DD (2026-11-20).")),
        }
        text.to_owned()
    }
}

/// The form's site list from a site matrix: open, public wikis under the configured domains.
pub fn project_choices(
    matrix: &crate::services::wiki::wire::SiteMatrix,
    settings: &DmcaSettings,
) -> Vec<ProjectChoice> {
    let sites = matrix.languages.iter().flat_map(|l| l.sites.iter()).chain(matrix.specials.iter());
    let mut choices: Vec<ProjectChoice> = sites
        .filter(|site| !site.closed && !site.private && !site.fishbowl)
        .filter_map(|site| {
            let url = Url::parse(&site.url).ok()?;
            let host = url.host_str()?;
            if url.scheme() != "https" || !settings.is_wiki_host(host) {
                return None;
            }
            let authority = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            let name = site.sitename.clone().unwrap_or_else(|| site.code.clone());
            let label = match &site.lang {
                Some(lang) if !lang.is_empty() => format!("{name} ({lang}) — {}", site.dbname),
                _ => format!("{name} — {}", site.dbname),
            };
            Some(ProjectChoice { dbname: site.dbname.clone(), host: authority, label })
        })
        .collect();
    choices.sort_by(|a, b| {
        (a.dbname != DEFAULT_PROJECT, &a.dbname).cmp(&(b.dbname != DEFAULT_PROJECT, &b.dbname))
    });
    choices.dedup_by(|a, b| a.dbname == b.dbname);
    choices
}

/// The ticked checkbox values of one group, each once, in the order ticked.
pub(crate) fn ticked<T: PartialEq>(
    values: &[String],
    parse: impl Fn(&str) -> Option<T>,
    field: &'static str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<T> {
    let mut kept = Vec::new();
    for value in values {
        match parse(value) {
            Some(item) if !kept.contains(&item) => kept.push(item),
            Some(_) => {}
            None => errors.push(FieldError::new(field, format!("Tick only the {what} offered."))),
        }
    }
    kept
}

pub(crate) fn limited(value: &str, field: &'static str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("Shorten this to {max} characters at most.")));
    }
    if value.chars().any(char::is_control) {
        errors
            .push(FieldError::new(field, "This field takes one line of text; remove line breaks and tabs."));
    }
    value.to_owned()
}

/// A list typed one entry per line: blank lines and repeats dropped, each entry checked.
fn list(
    text: &str,
    field: &'static str,
    errors: &mut Vec<FieldError>,
    check: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if line.chars().count() > MAX_ENTRY_CHARS || line.chars().any(char::is_control) {
            errors.push(FieldError::new(
                field,
                format!("Each line must be one entry of at most {MAX_ENTRY_CHARS} characters."),
            ));
            continue;
        }
        if let Some(problem) = check(line) {
            errors.push(FieldError::new(field, problem));
            continue;
        }
        if !entries.iter().any(|e| e == line) {
            entries.push(line.to_owned());
        }
    }
    if entries.len() > MAX_LIST_ENTRIES {
        errors
            .push(FieldError::new(field, format!("At most {MAX_LIST_ENTRIES} entries; split the request.")));
    }
    entries
}

/// The involved users as typed, with the uploaders the staffer ticked among those a wiki
/// lookup offered added on lines of their own (once each).
fn with_offers(typed: String, ticked: Vec<String>) -> String {
    let mut users = typed;
    for name in ticked.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if users.lines().any(|line| same_user(line.trim(), name)) {
            continue;
        }
        if !users.is_empty() && !users.ends_with('\n') {
            users.push('\n');
        }
        users.push_str(name);
    }
    users
}

/// Whether two user names name the same account (MediaWiki capitalises the first letter and
/// reads `_` as a space).
pub fn same_user(a: &str, b: &str) -> bool {
    canonical_title(a) == canonical_title(b)
}

/// A title or user name as MediaWiki reads it: underscores as spaces, trimmed, the first
/// letter capitalised.
pub fn canonical_title(name: &str) -> String {
    let name = name.replace('_', " ");
    let mut chars = name.trim().chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub(crate) fn strip_file_prefix(name: &str) -> String {
    for prefix in ["File:", "file:", "Image:", "image:"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites() -> Vec<ProjectChoice> {
        vec![ProjectChoice {
            dbname: "commonswiki".into(),
            host: "commons.wikimedia.org".into(),
            label: "Commons".into(),
        }]
    }

    fn today() -> Date {
        Date::from_calendar_date(2026, time::Month::November, 21).unwrap()
    }

    fn lumen_ready() -> RawForm {
        RawForm {
            decision: "granted".into(),
            sender: Sender { name: "Acme Photo LLC".into(), country: "us".into(), ..Sender::default() },
            date_sent: "2026-11-20".into(),
            subject: "Infringement".into(),
            body: "Please remove.".into(),
            affected_files: "File:Lighthouse.jpg\nBeach.jpg\n\nBeach.jpg".into(),
            original_urls: "https://acme.example/lighthouse".into(),
            commons_title: "Lighthouse".into(),
            ..RawForm::blank()
        }
    }

    #[test]
    fn ticked_uploaders_join_the_involved_users_once_each() {
        let values = |name: &str| -> Vec<String> {
            match name {
                "involved_users" => vec!["Someone\nexample_uploader".into()],
                "offer_user" => vec!["Example uploader".into(), "Old uploader".into(), " ".into()],
                _ => Vec::new(),
            }
        };
        assert_eq!(RawForm::read(values).involved_users, "Someone\nexample_uploader\nOld uploader");
        assert!(same_user("ümlaut_name", "Ümlaut name") && !same_user("Ann", "Anne"));
        let files = RawForm { affected_files: "File:A.jpg\n\nB.jpg\nA.jpg".into(), ..RawForm::blank() };
        assert_eq!(files.file_names().unwrap(), ["A.jpg", "B.jpg"]);
        let bad = RawForm { affected_files: "A|B.jpg".into(), ..RawForm::blank() };
        assert_eq!(bad.file_names().unwrap_err()[0].field, "affected_files");
    }

    #[test]
    fn a_denied_request_needs_nothing_but_the_decision_and_is_announced_nowhere() {
        let form = RawForm { decision: "denied".into(), ..RawForm::blank() };
        let takedown = form.check(&sites(), &DmcaSettings::default(), today()).unwrap();
        assert_eq!(takedown.decision, Decision::Denied);
        assert!(!takedown.send_to_lumen && !takedown.post_wiki_notices);
        let errors = RawForm::blank().check(&sites(), &DmcaSettings::default(), today()).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.field).collect::<Vec<_>>(), ["decision"]);
    }

    #[test]
    fn a_notice_for_lumen_needs_what_lumen_needs_and_each_error_names_its_field() {
        let takedown = lumen_ready().check(&sites(), &DmcaSettings::default(), today()).unwrap();
        assert_eq!(takedown.affected_files, ["Lighthouse.jpg", "Beach.jpg"]);
        assert_eq!(takedown.sender.country, "US");
        assert_eq!(takedown.wmf_title, "DMCA Lighthouse");
        assert_eq!(takedown.infringing_urls()[0], "https://commons.wikimedia.org/wiki/File:Lighthouse.jpg");
        let form = RawForm {
            sender: Sender::default(),
            subject: String::new(),
            original_urls: "not a url".into(),
            date_sent: "2031-01-01".into(),
            ..lumen_ready()
        };
        let errors = form.check(&sites(), &DmcaSettings::default(), today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        for field in ["sender_name", "subject", "original_urls", "date_sent"] {
            assert!(fields.contains(&field), "{field} missing from {errors:?}");
        }
        let form = RawForm { send_to_lumen: false, post_wiki_notices: false, ..form };
        let fields: Vec<&str> = form
            .check(&sites(), &DmcaSettings::default(), today())
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["date_sent", "original_urls"], "only the malformed values remain");
    }

    #[test]
    fn a_recorded_request_fills_the_form_again_to_the_same_request() {
        let takedown = lumen_ready().check(&sites(), &DmcaSettings::default(), today()).unwrap();
        let again =
            RawForm::from_takedown(&takedown).check(&sites(), &DmcaSettings::default(), today()).unwrap();
        assert_eq!(again, takedown);
        let shown = format!("{:?}", RawForm::from_takedown(&takedown));
        assert!(!shown.contains("Please remove") && !shown.contains("Acme"), "{shown}");
    }

    #[test]
    fn lengths_names_and_other_projects_are_checked() {
        let form = RawForm {
            sender: Sender { zip: "1".repeat(16), ..lumen_ready().sender },
            affected_files: "Bad[name].jpg".into(),
            involved_users: "Evil/User".into(),
            project: OTHER_PROJECT.into(),
            project_other: "wikipedia.org.evil.example".into(),
            ..lumen_ready()
        };
        let fields: Vec<&str> = form
            .check(&sites(), &DmcaSettings::default(), today())
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        for field in ["sender_zip", "affected_files", "involved_users", "project_other"] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
        let form = RawForm {
            project: OTHER_PROJECT.into(),
            project_other: "https://cy.wikipedia.org/".into(),
            ..lumen_ready()
        };
        let takedown = form.check(&sites(), &DmcaSettings::default(), today()).unwrap();
        assert_eq!(takedown.project.host, "cy.wikipedia.org");
        assert!(!takedown.project.is_commons());
    }
}
