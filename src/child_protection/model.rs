//! A child-protection report as the case keeps it once the form has been checked: who reports,
//! where and by whom the content was uploaded, each file's upload details, the statements and
//! the permanent-log notes, and the approval that releases it to NCMEC. The images are never
//! part of it (they live only in locked memory for one request); the CheckUser text and the IP
//! addresses are, and so exist only inside the encrypted case.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::dmca::model::Project;

/// The statements of the original form (stored by key, shown as the sentence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statement {
    /// The content was taken down and suppressed.
    TakenDownSuppressed,
    /// The legal queue was asked by e-mail to delete the file.
    EmailRequest,
    /// The uploader has been locked.
    UserLocked,
    /// CheckUser data was available and is included.
    Checkuser,
}

impl Statement {
    /// Every statement, in the form's order.
    pub const ALL: [Statement; 4] = [
        Statement::TakenDownSuppressed,
        Statement::EmailRequest,
        Statement::UserLocked,
        Statement::Checkuser,
    ];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Statement::TakenDownSuppressed => "taken-down-suppressed",
            Statement::EmailRequest => "email-request",
            Statement::UserLocked => "user-locked",
            Statement::Checkuser => "checkuser",
        }
    }

    /// The sentence staff confirm.
    pub fn sentence(self) -> &'static str {
        match self {
            Statement::TakenDownSuppressed => "The content was taken down and suppressed.",
            Statement::EmailRequest => {
                "An e-mail was sent to the legal queue with the file name, asking for its deletion."
            }
            Statement::UserLocked => "The uploader has been locked.",
            Statement::Checkuser => "CheckUser data was available and is included.",
        }
    }

    /// Reads the form's value.
    pub fn parse(text: &str) -> Option<Statement> {
        Statement::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Which NCMEC a report goes to: test unless the staffer chooses production; a retry or a
/// retraction always uses the report's own.
pub use crate::services::ncmec::wire::Environment;

/// One reported file's details (never its bytes).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedFile {
    /// The wiki's name for it, without `File:`.
    pub wiki_name: String,
    /// When it was uploaded, UTC, `YYYY-MM-DDTHH:MM:00Z`.
    pub uploaded_at: String,
    /// The address it was uploaded from, when CheckUser showed it.
    pub upload_ip: Option<IpAddr>,
}

/// A checked child-protection report. Its `Debug` shows the shape only: names, addresses,
/// the CheckUser text and the notes are case data and must not reach a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildReport {
    /// Test or production NCMEC.
    pub environment: Environment,
    /// The statements confirmed.
    pub statements: Vec<Statement>,
    /// Notes for the permanent log.
    pub permanent_notes: String,
    /// The reporter's first name.
    pub reporter_first_name: String,
    /// The reporter's last name.
    pub reporter_last_name: String,
    /// The reporter's e-mail address.
    pub reporter_email: String,
    /// When the reporter saw the content, UTC (`YYYY-MM-DDTHH:MM:00Z`). Kept, never sent.
    pub accessed_at: String,
    /// Where the content was uploaded.
    pub project: Project,
    /// Who uploaded it.
    pub uploader: String,
    /// The uploader's e-mail address, if known.
    pub uploader_email: String,
    /// Additional information: CheckUser output and anything else NCMEC should know.
    pub additional_info: String,
    /// The files, in the form's order.
    pub files: Vec<ReportedFile>,
}

impl std::fmt::Debug for ChildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildReport")
            .field("environment", &self.environment)
            .field("project", &self.project.dbname)
            .field("files", &self.files.len())
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ReportedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportedFile").field("has_ip", &self.upload_ip.is_some()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_shape_and_none_of_the_case_data() {
        let report = ChildReport {
            environment: Environment::Test,
            statements: vec![Statement::Checkuser],
            permanent_notes: "note-sentinel".into(),
            reporter_first_name: "Ann".into(),
            reporter_last_name: "Reporter".into(),
            reporter_email: "ann@example.org".into(),
            accessed_at: "2026-11-21T10:00:00Z".into(),
            project: Project {
                dbname: "commonswiki".into(),
                host: "commons.wikimedia.org".into(),
                label: "Commons".into(),
            },
            uploader: "uploader-sentinel".into(),
            uploader_email: "up@example.org".into(),
            additional_info: "checkuser-sentinel 192.0.2.9".into(),
            files: vec![ReportedFile {
                wiki_name: "file-sentinel.jpg".into(),
                uploaded_at: "2026-11-20T09:30:00Z".into(),
                upload_ip: Some("2001:db8::7".parse().unwrap()),
            }],
        };
        let shown = format!("{report:?} {:?}", report.files);
        for secret in ["sentinel", "192.0.2.9", "2001:db8", "ann@", "Reporter"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("files: 1") && shown.contains("Test"), "{shown}");
    }
}
