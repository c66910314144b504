//! A DMCA request as the case keeps it once the form has been checked: who sent it, what it
//! targets, what was decided, and which steps the staffer chose. Stored (encrypted) as the
//! case's first revision; later revisions record each step's outcome.

use serde::{Deserialize, Serialize};

/// What was decided about the request. Every request is logged, whatever the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Everything named was taken down.
    Granted,
    /// Some of it was taken down.
    PartiallyGranted,
    /// Nothing was taken down (the content stays).
    Denied,
}

impl Decision {
    /// Every decision, in the form's order.
    pub const ALL: [Decision; 3] = [Decision::Granted, Decision::PartiallyGranted, Decision::Denied];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Granted => "granted",
            Decision::PartiallyGranted => "partially-granted",
            Decision::Denied => "denied",
        }
    }

    /// What staff read.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Granted => "Granted (taken down)",
            Decision::PartiallyGranted => "Partially granted",
            Decision::Denied => "Denied (content kept)",
        }
    }

    /// Reads the form's value.
    pub fn parse(text: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// Whether anything was taken down (wiki notices announce only takedowns).
    pub fn took_down(self) -> bool {
        !matches!(self, Decision::Denied)
    }
}

/// The due-diligence statements of the original form (stored by key, shown as the sentence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statement {
    /// Taken down, and the user will be clearly warned and discouraged.
    TakenDownUserWarned,
    /// Taken down with actual knowledge of infringement.
    TakenDownInfringing,
    /// Taken down with awareness of facts that make infringement apparent.
    TakenDownApparent,
    /// Taken down under a DMCA notice.
    TakenDownDmca,
}

impl Statement {
    /// Every statement, in the form's order.
    pub const ALL: [Statement; 4] = [
        Statement::TakenDownUserWarned,
        Statement::TakenDownInfringing,
        Statement::TakenDownApparent,
        Statement::TakenDownDmca,
    ];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Statement::TakenDownUserWarned => "taken-down-user-warned",
            Statement::TakenDownInfringing => "taken-down-infringing",
            Statement::TakenDownApparent => "taken-down-apparent",
            Statement::TakenDownDmca => "taken-down-dmca",
        }
    }

    /// The sentence staff confirm.
    pub fn sentence(self) -> &'static str {
        match self {
            Statement::TakenDownUserWarned => {
                "The content was taken down and the user will be clearly warned and discouraged from repeating it."
            }
            Statement::TakenDownInfringing => {
                "The content was taken down with actual knowledge of infringement."
            }
            Statement::TakenDownApparent => {
                "The content was taken down with awareness of facts that make infringement apparent."
            }
            Statement::TakenDownDmca => "The content was taken down under a DMCA notice.",
        }
    }

    /// Reads the form's value.
    pub fn parse(text: &str) -> Option<Statement> {
        Statement::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Why the takedown does not count as a repeat-infringer strike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrikeReason {
    /// The user filed a successful counter-notification.
    CounterNotice,
    /// Counsel decided a strike is not appropriate because of mitigating circumstances.
    Mitigating,
    /// Another reason, given in [`Takedown::strike_other`].
    Other,
}

impl StrikeReason {
    /// Every reason, in the form's order.
    pub const ALL: [StrikeReason; 3] =
        [StrikeReason::CounterNotice, StrikeReason::Mitigating, StrikeReason::Other];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            StrikeReason::CounterNotice => "counter-notice",
            StrikeReason::Mitigating => "mitigating",
            StrikeReason::Other => "other",
        }
    }

    /// The sentence staff confirm.
    pub fn sentence(self) -> &'static str {
        match self {
            StrikeReason::CounterNotice => "The user filed a successful counter-notification.",
            StrikeReason::Mitigating => {
                "Counsel decided that a strike is not appropriate because of mitigating circumstances."
            }
            StrikeReason::Other => "Other (explained below).",
        }
    }

    /// Reads the form's value.
    pub fn parse(text: &str) -> Option<StrikeReason> {
        StrikeReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// The wiki the takedown is carried out on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The site matrix's database name (`commonswiki`, `enwiki`), or `other`.
    pub dbname: String,
    /// Its host (`commons.wikimedia.org`), checked against the configured wiki domains.
    pub host: String,
    /// What staff read (`Wikimedia Commons`).
    pub label: String,
}

impl Project {
    /// `https://<host>/wiki/` — where its pages are read.
    pub fn article_base(&self) -> String {
        format!("https://{}/wiki/", self.host)
    }

    /// `https://<host>/w/api.php` — where its API is.
    pub fn api(&self) -> Result<url::Url, url::ParseError> {
        url::Url::parse(&format!("https://{}/w/api.php", self.host))
    }

    /// Whether it is Wikimedia Commons (the noticeboard and village pump notices are for
    /// Commons takedowns).
    pub fn is_commons(&self) -> bool {
        self.dbname == "commonswiki"
    }
}

/// Who sent the notice (every field optional unless the notice goes to Lumen).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// Person or organisation.
    pub name: String,
    /// The attorney or individual who signed.
    pub person: String,
    /// Law firm or agent.
    pub firm: String,
    /// Street address.
    pub address_line_1: String,
    /// Street address, second line.
    pub address_line_2: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Postal code.
    pub zip: String,
    /// ISO 3166-1 alpha-2 (`US`), or empty.
    pub country: String,
}

/// A supporting document as the case records it: its bytes go only to Lumen (and live only in
/// locked memory meanwhile); the case keeps its name, size and digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// The name the staffer's browser gave it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The type we send it as (chosen from its name, never the browser's claim).
    pub content_type: String,
}

/// A checked DMCA request. Its `Debug` shows the shape only (decision, flags, counts): the
/// sender, the notice and the names in it are case data and must not reach a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takedown {
    /// A test submission (shown as such everywhere; the notice says so).
    pub test: bool,
    /// Whether the notice goes to Lumen.
    pub send_to_lumen: bool,
    /// Whether wiki notices are prepared.
    pub post_wiki_notices: bool,
    /// Where the takedown is carried out.
    pub project: Project,
    /// Who sent the notice.
    pub sender: Sender,
    /// When the notice was sent (`YYYY-MM-DD`), or empty.
    pub date_sent: String,
    /// How it arrived (e-mail, fax, post, web form).
    pub method: String,
    /// To whom it was addressed.
    pub to: String,
    /// From which address or number.
    pub from: String,
    /// Its subject line.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// The users who added the content.
    pub involved_users: Vec<String>,
    /// File names, without `File:`.
    pub affected_files: Vec<String>,
    /// Page names with their namespace.
    pub affected_pages: Vec<String>,
    /// Where the original works are.
    pub original_urls: Vec<String>,
    /// What was decided.
    pub decision: Decision,
    /// The due-diligence statements confirmed.
    pub statements: Vec<Statement>,
    /// Why this is not a strike.
    pub strike_reasons: Vec<StrikeReason>,
    /// The "other" strike reason's text.
    pub strike_other: String,
    /// The Lumen notice's title.
    pub lumen_title: String,
    /// The heading on the Commons noticeboard and village pump (or the generic announcement).
    pub commons_title: String,
    /// The foundation wiki page's title (without the `Legal:` namespace).
    pub wmf_title: String,
    /// The supporting documents.
    pub documents: Vec<DocumentRecord>,
    /// What the wiki said about the affected files and their uploaders, when the staffer
    /// looked them up before recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wiki_lookup: Option<super::lookup::WikiLookup>,
}

impl std::fmt::Debug for Takedown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Takedown")
            .field("decision", &self.decision)
            .field("test", &self.test)
            .field("send_to_lumen", &self.send_to_lumen)
            .field("post_wiki_notices", &self.post_wiki_notices)
            .field("project", &self.project.dbname)
            .field("affected_files", &self.affected_files.len())
            .field("affected_pages", &self.affected_pages.len())
            .field("documents", &self.documents.len())
            .field("wiki_lookup", &self.wiki_lookup.is_some())
            .finish_non_exhaustive()
    }
}

impl Takedown {
    /// The affected files' and pages' URLs on the project (the infringing URLs Lumen lists).
    pub fn infringing_urls(&self) -> Vec<String> {
        let base = self.project.article_base();
        let title = |t: &str| t.replace(' ', "_");
        self.affected_files
            .iter()
            .map(|file| format!("{base}File:{}", title(file)))
            .chain(self.affected_pages.iter().map(|page| format!("{base}{}", title(page))))
            .collect()
    }
}
