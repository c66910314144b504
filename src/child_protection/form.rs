//! The child-protection form as typed, kept exactly so a page with errors shows it all again,
//! and the server-side check that turns it into a [`ChildReport`] or errors tied to fields.
//!
//! Files are rows of three parallel fields (`file_name`, `file_uploaded`, `file_ip`): the page
//! shows a few blank rows and a button for more, so no script is needed. A row left wholly
//! blank is ignored. The images themselves are not part of this form: they are uploaded on the
//! approved case, in the request that sends them.

use std::net::IpAddr;

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::model::{ChildReport, Environment, ReportedFile, Statement};
use crate::config::DmcaSettings;
use crate::dmca::form::{
    FieldError, ProjectChoice, RawForm, TITLE_FORBIDDEN, canonical_title, limited, strip_file_prefix, ticked,
};

/// Most files in one report.
pub const MAX_FILES: usize = 50;

/// Longest free text kept (notes, additional information).
const MAX_TEXT_CHARS: usize = 60_000;

/// One file row as typed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawFile {
    /// The wiki's file name.
    pub name: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    pub uploaded: String,
    /// IPv4 or IPv6, or empty.
    pub ip: String,
}

/// The form exactly as typed. Its `Debug` shows the choices only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawReport {
    /// `test` or `production`.
    pub environment: String,
    /// Statement values ticked.
    pub statements: Vec<String>,
    /// Notes for the permanent log.
    pub permanent_notes: String,
    /// Reporter's first name.
    pub reporter_first_name: String,
    /// Reporter's last name.
    pub reporter_last_name: String,
    /// Reporter's e-mail.
    pub reporter_email: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    pub accessed_at: String,
    /// A site matrix dbname, or `other`.
    pub project: String,
    /// The host typed for `other`.
    pub project_other: String,
    /// The uploader's user name.
    pub uploader: String,
    /// The uploader's e-mail.
    pub uploader_email: String,
    /// CheckUser data and other information for NCMEC.
    pub additional_info: String,
    /// The file rows, blank ones included (so the page shows them again).
    pub files: Vec<RawFile>,
}

impl std::fmt::Debug for RawReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawReport")
            .field("environment", &self.environment)
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl RawReport {
    /// A blank form: test NCMEC, Commons, the reporter's address and the current time filled in.
    pub fn blank(reporter_name: &str, reporter_email: &str, now: OffsetDateTime) -> Self {
        let (first, last) = split_name(reporter_name);
        Self {
            environment: "test".into(),
            reporter_first_name: first,
            reporter_last_name: last,
            reporter_email: reporter_email.into(),
            accessed_at: minute_text(now).trim_end_matches(":00Z").to_owned(),
            project: crate::dmca::form::DEFAULT_PROJECT.into(),
            files: vec![RawFile::default(); 3],
            ..Self::default()
        }
    }

    /// Reads the form: `values(name)` gives every value of a field, in order.
    pub fn read(values: impl Fn(&str) -> Vec<String>) -> Self {
        let one = |name: &str| values(name).into_iter().next().unwrap_or_default();
        let names = values("file_name");
        let uploaded = values("file_uploaded");
        let ips = values("file_ip");
        let rows = names.len().max(uploaded.len()).max(ips.len()).min(MAX_FILES + 1);
        let at = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        Self {
            environment: one("environment"),
            statements: values("statement"),
            permanent_notes: one("permanent_notes"),
            reporter_first_name: one("reporter_first_name"),
            reporter_last_name: one("reporter_last_name"),
            reporter_email: one("reporter_email"),
            accessed_at: one("accessed_at"),
            project: one("project"),
            project_other: one("project_other"),
            uploader: one("uploader"),
            uploader_email: one("uploader_email"),
            additional_info: one("additional_info"),
            files: (0..rows)
                .map(|i| RawFile { name: at(&names, i), uploaded: at(&uploaded, i), ip: at(&ips, i) })
                .collect(),
        }
    }

    /// Checks the form against the wikis offered and the current time.
    pub fn check(
        &self,
        sites: &[ProjectChoice],
        settings: &DmcaSettings,
        now: OffsetDateTime,
    ) -> Result<ChildReport, Vec<FieldError>> {
        let mut errors = Vec::new();
        let environment = match self.environment.as_str() {
            "test" => Some(Environment::Test),
            "production" => Some(Environment::Production),
            _ => None,
        };
        if environment.is_none() {
            errors.push(FieldError::new("environment", "Choose NCMEC's test server or production."));
        }
        let statements = ticked(&self.statements, Statement::parse, "statement", "statements", &mut errors);
        let permanent_notes = long_text(&self.permanent_notes, "permanent_notes", &mut errors);
        let reporter_first_name = limited(&self.reporter_first_name, "reporter_first_name", 63, &mut errors);
        if reporter_first_name.is_empty() {
            errors.push(FieldError::new("reporter_first_name", "NCMEC needs the reporter's first name."));
        }
        let reporter_last_name = limited(&self.reporter_last_name, "reporter_last_name", 63, &mut errors);
        let reporter_email = limited(&self.reporter_email, "reporter_email", 255, &mut errors);
        if !is_email(&reporter_email) {
            errors
                .push(FieldError::new("reporter_email", "Give the reporter's e-mail address (name@domain)."));
        }
        let accessed_at = match minute(&self.accessed_at, now) {
            Ok(text) => text,
            Err(problem) => {
                errors.push(FieldError::new("accessed_at", format!("When you saw the content: {problem}")));
                String::new()
            }
        };
        let project = RawForm {
            project: self.project.clone(),
            project_other: self.project_other.clone(),
            ..RawForm::default()
        }
        .chosen_project(sites, settings)
        .map_err(|problems| errors.extend(problems))
        .ok();
        let uploader = limited(&self.uploader, "uploader", 255, &mut errors);
        let uploader = uploader.strip_prefix("User:").map(str::trim).unwrap_or(&uploader).to_owned();
        if uploader.is_empty() {
            errors.push(FieldError::new("uploader", "Give the uploader's user name (or IP address)."));
        } else if uploader.contains(TITLE_FORBIDDEN) || uploader.contains(['/', ':']) {
            errors.push(FieldError::new("uploader", "A user name cannot hold # < > [ ] | { } / or :."));
        }
        let uploader_email = limited(&self.uploader_email, "uploader_email", 255, &mut errors);
        if !uploader_email.is_empty() && !is_email(&uploader_email) {
            errors.push(FieldError::new(
                "uploader_email",
                "This is not an e-mail address; leave it empty if unknown.",
            ));
        }
        let additional_info = long_text(&self.additional_info, "additional_info", &mut errors);
        let files = self.files(now, &mut errors);
        match (environment, project) {
            (Some(environment), Some(project)) if errors.is_empty() => Ok(ChildReport {
                environment,
                statements,
                permanent_notes,
                reporter_first_name,
                reporter_last_name,
                reporter_email,
                accessed_at,
                project,
                uploader,
                uploader_email,
                additional_info,
                files,
            }),
            _ => Err(errors),
        }
    }

    fn files(&self, now: OffsetDateTime, errors: &mut Vec<FieldError>) -> Vec<ReportedFile> {
        let mut files: Vec<ReportedFile> = Vec::new();
        let rows = self.files.iter().enumerate().filter(|(_, row)| {
            !(row.name.trim().is_empty() && row.uploaded.trim().is_empty() && row.ip.trim().is_empty())
        });
        for (i, row) in rows {
            let number = i + 1;
            // As MediaWiki reads it, so that `a.jpg` and `File:A.jpg` are one file.
            let name = canonical_title(&strip_file_prefix(row.name.trim()));
            let name = name.as_str();
            if name.is_empty() {
                errors.push(FieldError::new("files", format!("File {number}: give its name on the wiki.")));
            } else if name.contains(TITLE_FORBIDDEN)
                || name.chars().count() > 255
                || name.chars().any(char::is_control)
            {
                errors.push(FieldError::new(
                    "files",
                    format!(
                        "File {number}: not a file name (at most 255 characters, none of # < > [ ] | {{ }})."
                    ),
                ));
            } else if files.iter().any(|f| f.wiki_name == name) {
                errors.push(FieldError::new("files", format!("File {number}: named twice.")));
            }
            let uploaded_at = minute(&row.uploaded, now).unwrap_or_else(|problem| {
                errors.push(FieldError::new("files", format!("File {number}, upload time: {problem}")));
                String::new()
            });
            let upload_ip = match row.ip.trim() {
                "" => None,
                text => match text.parse::<IpAddr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        errors.push(FieldError::new(
                            "files",
                            format!("File {number}: {text:?} is not an IPv4 or IPv6 address."),
                        ));
                        None
                    }
                },
            };
            files.push(ReportedFile { wiki_name: name.to_owned(), uploaded_at, upload_ip });
        }
        if files.is_empty() {
            errors.push(FieldError::new(
                "files",
                "Give at least one file: its name on the wiki and when it was uploaded.",
            ));
        }
        if files.len() > MAX_FILES {
            errors.push(FieldError::new("files", format!("At most {MAX_FILES} files in one report.")));
        }
        files
    }
}

/// `YYYY-MM-DDTHH:MM` (the browser's `datetime-local`, seconds allowed) read as UTC, not in the
/// future, as `YYYY-MM-DDTHH:MM:00Z`.
fn minute(text: &str, now: OffsetDateTime) -> Result<String, &'static str> {
    // A recorded value (`…:00Z`) reads back as it was written.
    let text = text.trim().trim_end_matches('Z');
    if text.is_empty() {
        return Err("required (UTC, such as 2026-11-21T14:05)");
    }
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let without = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let at = PrimitiveDateTime::parse(text, without)
        .or_else(|_| PrimitiveDateTime::parse(text, with_seconds))
        .map_err(|_| "write it as YYYY-MM-DDTHH:MM (UTC)")?
        .assume_utc();
    if at > now {
        return Err("it is in the future; give the time in UTC");
    }
    Ok(minute_text(at))
}

fn minute_text(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:00Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn long_text(value: &str, field: &'static str, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim_end().replace("\r\n", "\n");
    if value.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new(field, format!("Shorten this to {MAX_TEXT_CHARS} characters.")));
    }
    if value.contains('\0') {
        errors.push(FieldError::new(field, "This holds a NUL character; paste it again as plain text."));
    }
    value
}

/// A plausible address: one `@`, something before it, a dot in the domain, no spaces.
fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// A roster name as the form's first and last name: the first word, then the rest ("Alex de
/// la Cruz" → "Alex", "de la Cruz"). The staffer corrects it on the form where that is wrong.
fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, rest)) => (first.to_owned(), rest.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

    fn sites() -> Vec<ProjectChoice> {
        vec![ProjectChoice {
            dbname: "commonswiki".into(),
            host: "commons.wikimedia.org".into(),
            label: "Wikimedia Commons".into(),
        }]
    }

    fn filled() -> RawReport {
        RawReport {
            reporter_first_name: "Ann".into(),
            uploader: "User:Uploader".into(),
            statements: vec!["checkuser".into()],
            files: vec![
                RawFile {
                    name: "File:A.jpg".into(),
                    uploaded: "2026-11-20T09:30".into(),
                    ip: "192.0.2.7".into(),
                },
                RawFile::default(),
                RawFile {
                    name: "B.jpg".into(),
                    uploaded: "2026-11-20T09:31:15".into(),
                    ip: "2001:db8::1".into(),
                },
            ],
            ..RawReport::blank("", "ann@example.org", NOW)
        }
    }

    /// A checked report with two files (for the other modules' tests).
    pub(crate) fn filled_report() -> ChildReport {
        filled().check(&sites(), &DmcaSettings::default(), NOW).unwrap()
    }

    #[test]
    fn the_blank_form_names_the_reporter_from_the_roster() {
        let blank = RawReport::blank("Alex de la Cruz", "alex@example.org", NOW);
        assert_eq!(
            (blank.reporter_first_name.as_str(), blank.reporter_last_name.as_str()),
            ("Alex", "de la Cruz")
        );
        let single = RawReport::blank("  Cher ", "cher@example.org", NOW);
        assert_eq!((single.reporter_first_name.as_str(), single.reporter_last_name.as_str()), ("Cher", ""));
    }

    #[test]
    fn a_filled_form_becomes_a_report_with_blank_rows_skipped() {
        let report = filled().check(&sites(), &DmcaSettings::default(), NOW).unwrap();
        assert_eq!(report.environment, Environment::Test, "test unless production is chosen");
        assert_eq!(report.uploader, "Uploader");
        assert_eq!(report.accessed_at, "2026-11-21T12:00:00Z");
        assert_eq!(report.files.len(), 2);
        assert_eq!(report.files[0].wiki_name, "A.jpg");
        assert_eq!(report.files[1].uploaded_at, "2026-11-20T09:31:00Z");
        assert_eq!(report.files[1].upload_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(report.statements, [Statement::Checkuser]);
    }

    #[test]
    fn each_problem_names_its_field_and_file() {
        let form = RawReport {
            environment: "live".into(),
            reporter_first_name: String::new(),
            reporter_email: "not an address".into(),
            uploader: "Bad|name".into(),
            uploader_email: "x@".into(),
            accessed_at: "2027-01-01T00:00".into(),
            files: vec![
                RawFile { name: "A.jpg".into(), uploaded: "yesterday".into(), ip: "999.1.1.1".into() },
                RawFile { name: "A.jpg".into(), uploaded: "2026-11-20T09:30".into(), ip: String::new() },
                RawFile { name: String::new(), uploaded: "2026-11-20T09:30".into(), ip: String::new() },
            ],
            ..filled()
        };
        let errors = form.check(&sites(), &DmcaSettings::default(), NOW).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        for field in [
            "environment",
            "reporter_first_name",
            "reporter_email",
            "uploader",
            "uploader_email",
            "accessed_at",
        ] {
            assert!(fields.contains(&field), "{field} missing from {errors:?}");
        }
        let files: Vec<&str> =
            errors.iter().filter(|e| e.field == "files").map(|e| e.message.as_str()).collect();
        assert!(files.iter().any(|m| m.starts_with("File 1, upload time")), "{files:?}");
        assert!(files.iter().any(|m| m.starts_with("File 1:") && m.contains("999.1.1.1")), "{files:?}");
        assert!(files.iter().any(|m| m == &"File 2: named twice."), "{files:?}");
        assert!(files.iter().any(|m| m.starts_with("File 3: give its name")), "{files:?}");
        let none = RawReport { files: vec![RawFile::default()], ..filled() };
        let errors = none.check(&sites(), &DmcaSettings::default(), NOW).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.field).collect::<Vec<_>>(), ["files"]);
    }

    #[test]
    fn one_file_in_two_spellings_is_named_twice() {
        let twice = RawReport {
            files: vec![
                RawFile {
                    name: "File:My_photo.jpg".into(),
                    uploaded: "2026-11-20T09:30".into(),
                    ip: String::new(),
                },
                RawFile {
                    name: "my photo.jpg".into(),
                    uploaded: "2026-11-20T09:30".into(),
                    ip: String::new(),
                },
            ],
            ..filled()
        };
        let errors = twice.check(&sites(), &DmcaSettings::default(), NOW).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["File 2: named twice."]);
    }

    #[test]
    fn the_form_reads_its_rows_back_in_order_and_keeps_blank_ones() {
        let values = |name: &str| -> Vec<String> {
            match name {
                "file_name" => vec!["A.jpg".into(), String::new(), "C.jpg".into()],
                "file_uploaded" => vec!["2026-11-20T09:30".into()],
                "file_ip" => vec![String::new(), String::new(), "192.0.2.1".into()],
                "environment" => vec!["production".into()],
                _ => Vec::new(),
            }
        };
        let raw = RawReport::read(values);
        assert_eq!(raw.files.len(), 3);
        assert_eq!(
            (raw.files[0].uploaded.as_str(), raw.files[2].ip.as_str()),
            ("2026-11-20T09:30", "192.0.2.1")
        );
        assert_eq!(raw.environment, "production");
        assert!(!format!("{raw:?}").contains("A.jpg"));
    }

    #[test]
    fn addresses_are_checked_loosely_but_usefully() {
        for good in ["a@b.org", "first.last+tag@sub.example.co.uk"] {
            assert!(is_email(good), "{good}");
        }
        for bad in ["", "a", "a@b", "@b.org", "a@.org", "a@b.org.", "a b@c.org", "a@b@c.org"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
