//! The wiki notices a takedown produces: the Foundation wiki's record of the notice, the Commons
//! noticeboard entry, the Commons village pump announcement and one message on each involved
//! user's talk page. This module owns their wording and the wikitext escaping that keeps every
//! value taken from the request inert in them; it only prepares text (staff review and may edit
//! it), posting is the wiki client's job.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::model::Takedown;

/// Which notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "user")]
pub enum NoticeKind {
    /// The record of the notice on the Foundation wiki (`Legal:DMCA …`).
    FoundationPage,
    /// The entry on the Commons DMCA noticeboard (COM:DMCA).
    CommonsNoticeboard,
    /// The announcement on the Commons village pump.
    VillagePump,
    /// The message on this user's talk page on the project.
    UserTalk(String),
}

impl NoticeKind {
    /// Stable key used in URLs and step names: `foundation-page`, `commons-noticeboard`,
    /// `village-pump`, or `user-talk:` followed by the lower-case hex of the user name's UTF-8
    /// (user names can hold spaces, slashes and anything else a URL or step name cannot).
    pub fn key(&self) -> String {
        match self {
            NoticeKind::FoundationPage => FOUNDATION_KEY.to_owned(),
            NoticeKind::CommonsNoticeboard => NOTICEBOARD_KEY.to_owned(),
            NoticeKind::VillagePump => VILLAGE_PUMP_KEY.to_owned(),
            NoticeKind::UserTalk(user) => format!("{USER_TALK_KEY_PREFIX}{}", hex::encode(user.as_bytes())),
        }
    }

    /// Reads a [`key`](Self::key); `None` for anything `key` never produces.
    pub fn from_key(key: &str) -> Option<NoticeKind> {
        match key {
            FOUNDATION_KEY => Some(NoticeKind::FoundationPage),
            NOTICEBOARD_KEY => Some(NoticeKind::CommonsNoticeboard),
            VILLAGE_PUMP_KEY => Some(NoticeKind::VillagePump),
            _ => {
                let encoded = key.strip_prefix(USER_TALK_KEY_PREFIX)?;
                let user = String::from_utf8(hex::decode(encoded).ok()?).ok()?;
                // Only the spelling `key` writes is accepted, so one notice never has two keys
                // (upper-case hex would otherwise name the same user a second way).
                (!user.is_empty() && hex::encode(user.as_bytes()) == encoded)
                    .then_some(NoticeKind::UserTalk(user))
            }
        }
    }

    /// What it is, naming nobody (`Foundation wiki DMCA page`, `User talk page message`): for
    /// messages that may reach the system log.
    pub fn kind_label(&self) -> &'static str {
        match self {
            NoticeKind::FoundationPage => "Foundation wiki DMCA page",
            NoticeKind::CommonsNoticeboard => "Commons DMCA noticeboard",
            NoticeKind::VillagePump => "Commons village pump",
            NoticeKind::UserTalk(_) => "User talk page message",
        }
    }

    /// What staff read (`Foundation wiki DMCA page`, `Talk page of Example`).
    pub fn label(&self) -> String {
        match self {
            NoticeKind::FoundationPage => "Foundation wiki DMCA page".to_owned(),
            NoticeKind::CommonsNoticeboard => "Commons DMCA noticeboard".to_owned(),
            NoticeKind::VillagePump => "Commons village pump".to_owned(),
            NoticeKind::UserTalk(user) => format!("Talk page of {user}"),
        }
    }
}

/// Which wiki a notice goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetWiki {
    /// The Wikimedia Foundation wiki.
    Foundation,
    /// Wikimedia Commons.
    Commons,
    /// The takedown's own project (where the users' talk pages are).
    Project,
}

impl TargetWiki {
    /// The api.php a notice for this wiki goes to: the configured Commons or foundation wiki,
    /// or the takedown's own project.
    pub fn api(
        self,
        takedown: &Takedown,
        settings: &crate::config::DmcaSettings,
    ) -> Result<url::Url, url::ParseError> {
        match self {
            TargetWiki::Foundation => Ok(settings.foundation_api.clone()),
            TargetWiki::Commons => Ok(settings.commons_api.clone()),
            TargetWiki::Project => takedown.project.api(),
        }
    }
}

/// One prepared notice, shown for review (editable) before it is posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WikiNotice {
    /// Which notice it is.
    pub kind: NoticeKind,
    /// Where it goes.
    pub wiki: TargetWiki,
    /// Page to edit, e.g. "Legal:DMCA Example", "Commons:Office actions/DMCA notices",
    /// "Commons:Village pump", "User talk:Example". Used raw as the edit's title, never in text.
    pub page: String,
    /// `Some(heading)`: posted as a new section with this heading (`section=new`); `None`:
    /// appended (`appendtext`), and the text then carries its own heading line if it has one.
    pub section_title: Option<String>,
    /// The wikitext.
    pub text: String,
    /// The edit summary.
    pub summary: String,
}

/// Deployment facts the texts mention.
#[derive(Clone, Copy, Debug)]
pub struct NoticeSettings<'a> {
    /// The current year (for the category `DMCA <year>`).
    pub year: i32,
    /// Where counter-notices go, e.g. `legal@wikimedia.org`.
    pub legal_email: &'a str,
    /// The Lumen notice's URL once filed, linked from the Foundation page if present.
    pub lumen_url: Option<&'a str>,
    /// When the notice was sent, as shown (e.g. `2026-11-20`); may be empty.
    pub sent_display: &'a str,
}

/// Every notice for this takedown, in this order: the Foundation page; then, only for a
/// Commons takedown, the Commons noticeboard and the village pump; then one talk-page message
/// per involved user (blank names and names no talk page can have are skipped, and a user named
/// twice gets one message). A denied takedown gets no notices at all.
pub fn prepare(t: &Takedown, settings: &NoticeSettings<'_>) -> Vec<WikiNotice> {
    if !t.decision.took_down() {
        return Vec::new();
    }
    let mut notices = vec![foundation_page(t, settings)];
    if t.project.is_commons() {
        notices.push(commons_noticeboard(t, settings));
        notices.push(village_pump(t, settings));
    }
    notices.extend(talk_page_users(&t.involved_users).into_iter().map(|user| user_talk(t, settings, user)));
    notices
}

/// Each notice's handle in URLs and pages (and so in anything that quotes a path): the fixed
/// key of a wiki page notice, or `user-talk-N` for the N-th talk-page message of `notices`. It
/// names nobody; the stored step name ([`NoticeKind::key`]) does, and stays in the encrypted
/// store.
pub fn handles(notices: &[WikiNotice]) -> Vec<String> {
    let mut talk = 0;
    notices
        .iter()
        .map(|notice| match &notice.kind {
            NoticeKind::UserTalk(_) => {
                talk += 1;
                format!("{USER_TALK_HANDLE_PREFIX}{talk}")
            }
            other => other.key(),
        })
        .collect()
}

/// Escapes text for running wikitext so that it shows literally: no template, link, external
/// link, signature, HTML tag, entity, table, list or heading syntax, behaviour switch or magic
/// link can come from it. Every character MediaWiki gives a meaning to, and whitespace at either
/// end, becomes a numeric character reference (`&#NN;`); line breaks and other control
/// characters become spaces, as this is for single-line places (headings, list items, labels).
pub fn escape_inline(text: &str) -> String {
    let chars = single_line(text);
    // Leading whitespace would start a preformatted block, and whitespace at the end of a
    // heading line changes whether the wiki sees a heading at all.
    let start = chars.iter().position(|c| !c.is_whitespace()).unwrap_or(chars.len());
    let end = chars.iter().rposition(|c| !c.is_whitespace()).map_or(start, |last| last + 1);
    let mut out = String::with_capacity(text.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        if i < start || i >= end || INLINE_SPECIAL.contains(c) || starts_magic_link(&chars[i..]) {
            push_entity(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes multi-line text (the notice's body) for a `<pre>` block, which the caller wraps
/// around it: `&`, `<` and `>` become character references, so no entity, tag or `</pre` (in
/// any case mix) comes from it, and MediaWiki's `<pre>` already shows the rest literally.
/// `[ ] { } ~ _`, the second `/` of `//`, the first letter of `ISBN`, `RFC` and `PMID`, and a
/// line's first character when it is one of `= * # : ; - ! |` are escaped too (they render
/// the same). Line breaks and tabs are kept; other control characters become spaces.
pub fn escape_block(text: &str) -> String {
    let mut chars = Vec::with_capacity(text.len());
    let mut rest = text.chars().peekable();
    while let Some(c) = rest.next() {
        match c {
            '\r' if rest.peek() == Some(&'\n') => {}
            '\r' => chars.push('\n'),
            '\n' | '\t' => chars.push(c),
            c if c.is_control() => chars.push(' '),
            c => chars.push(c),
        }
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        let line_start = i == 0 || chars[i - 1] == '\n';
        // Only `&` and `<` matter inside <pre>; the rest is escaped as well so that a staffer
        // who breaks the <pre> while editing still cannot bring a template, link, signature,
        // behaviour switch, heading, list, `//` address or magic link to life.
        let escape = match c {
            '&' | '<' | '>' | '[' | ']' | '{' | '}' | '~' | '_' => true,
            '/' => i > 0 && chars[i - 1] == '/',
            c if line_start && LINE_START_SPECIAL.contains(c) => true,
            _ => starts_magic_link(&chars[i..]),
        };
        if escape {
            push_entity(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

const FOUNDATION_KEY: &str = "foundation-page";
const NOTICEBOARD_KEY: &str = "commons-noticeboard";
const VILLAGE_PUMP_KEY: &str = "village-pump";
const USER_TALK_KEY_PREFIX: &str = "user-talk:";
const USER_TALK_HANDLE_PREFIX: &str = "user-talk-";

const NOTICEBOARD_PAGE: &str = "Commons:Office actions/DMCA notices";
const VILLAGE_PUMP_PAGE: &str = "Commons:Village pump";
const TALK_SECTION_TITLE: &str = "Notice of upload removal";

/// The only signature a notice carries; nothing taken from the request may produce another.
const SIGNATURE: &str = "~~~~";

/// Characters running wikitext reads as markup, and `/` (so no `//` address survives).
const INLINE_SPECIAL: &str = "[]{}|<>&'~=*#:;!_\"-/";

/// Characters that start a heading, list, indent, rule or table row at the start of a line.
const LINE_START_SPECIAL: &str = "=*#:;-!|";

/// Words MediaWiki turns into links when a number follows (ISBN, RFC and PubMed links).
const MAGIC_LINK_WORDS: [&str; 3] = ["ISBN", "RFC", "PMID"];

/// Characters MediaWiki titles cannot hold: a value with one of them can never be a link target
/// (nor a user's talk page).
const TITLE_FORBIDDEN: &str = "[]{}|<>#";

/// What a list shows for a field the request left empty.
const NOT_GIVEN: &str = "''not given''";

/// Used when the staffer left the Commons heading empty, so the heading is never blank.
const FALLBACK_COMMONS_TITLE: &str = "DMCA takedown";

const TERMS_OF_USE_URL: &str = "https://foundation.wikimedia.org/wiki/Policy:Terms_of_Use";
const LUMEN_DMCA_URL: &str = "https://lumendatabase.org/topics/29";
const EFF_DMCA_URL: &str = "https://www.eff.org/issues/dmca";
const COPYRIGHT_OFFICE_URL: &str = "https://www.copyright.gov/dmca-directory/";

fn foundation_page(t: &Takedown, settings: &NoticeSettings<'_>) -> WikiNotice {
    let mut lines = test_banner(t);
    lines.push(format!(
        "The Wikimedia Foundation received the DMCA takedown notice reproduced below, about content on {}.",
        escape_inline(&t.project.label)
    ));
    lines.push(String::new());
    lines.push(format!("; From: {}", sender_display(t)));
    lines.push(format!("; Date sent: {}", or_not_given(settings.sent_display)));
    lines.push(format!("; Subject: {}", or_not_given(&t.subject)));
    lines.push(format!("; To: {}", or_not_given(&t.to)));
    lines.push(String::new());

    lines.push("'''Affected content'''".to_owned());
    let affected = affected_links(t);
    if affected.is_empty() {
        lines.push(format!("* {NOT_GIVEN}"));
    }
    lines.extend(affected.into_iter().map(|link| format!("* {link}")));
    lines.push(String::new());

    lines.push("'''Supporting documents'''".to_owned());
    let documents: Vec<&str> =
        t.documents.iter().map(|d| d.name.as_str()).filter(|name| !name.trim().is_empty()).collect();
    if documents.is_empty() {
        lines.push("* ''none''".to_owned());
    }
    lines.extend(documents.into_iter().map(|name| format!("* {}", escape_inline(name))));
    lines.push(String::new());

    lines.push("'''Text of the notice'''".to_owned());
    lines.push(format!("<pre>\n{}\n</pre>", escape_block(&t.body)));
    if let Some(url) = settings.lumen_url.filter(|url| !url.trim().is_empty()) {
        lines.push(String::new());
        lines.push(format!("Lumen: {}", safe_url(url)));
    }
    lines.push(String::new());
    lines.push(format!("[[Category:DMCA {}]]", settings.year));

    WikiNotice {
        kind: NoticeKind::FoundationPage,
        wiki: TargetWiki::Foundation,
        page: format!("Legal:{}", t.wmf_title),
        section_title: None,
        text: lines.join("\n"),
        summary: "DMCA takedown notice".to_owned(),
    }
}

fn commons_noticeboard(t: &Takedown, settings: &NoticeSettings<'_>) -> WikiNotice {
    let mut lines = vec![String::new(), format!("=== {} ===", escape_inline(commons_title(t)))];
    lines.extend(commons_announcement(t, settings));
    lines.push(String::new());
    lines.push(format!("Thank you! {SIGNATURE}"));
    WikiNotice {
        kind: NoticeKind::CommonsNoticeboard,
        wiki: TargetWiki::Commons,
        page: NOTICEBOARD_PAGE.to_owned(),
        section_title: None,
        text: lines.join("\n"),
        summary: "New DMCA takedown".to_owned(),
    }
}

fn village_pump(t: &Takedown, settings: &NoticeSettings<'_>) -> WikiNotice {
    let title = commons_title(t);
    let mut lines =
        vec![String::new(), format!("== Notification of DMCA takedown demand - {} ==", escape_inline(title))];
    lines.extend(commons_announcement(t, settings));
    lines.push(String::new());
    let anchor = link_target(title);
    let board = if anchor.is_empty() { "[[COM:DMCA]]".to_owned() } else { format!("[[COM:DMCA#{anchor}]]") };
    lines.push(format!("Please discuss this takedown on the DMCA noticeboard, at {board}."));
    lines.push(String::new());
    lines.push(format!("Thank you! {SIGNATURE}"));
    WikiNotice {
        kind: NoticeKind::VillagePump,
        wiki: TargetWiki::Commons,
        page: VILLAGE_PUMP_PAGE.to_owned(),
        section_title: None,
        text: lines.join("\n"),
        summary: "New DMCA takedown notification".to_owned(),
    }
}

/// What the noticeboard entry and the village pump announcement share: the office-action
/// paragraph, the link to the Foundation page and the affected files.
fn commons_announcement(t: &Takedown, settings: &NoticeSettings<'_>) -> Vec<String> {
    let mut lines = test_banner(t);
    let mut paragraph = format!(
        "As directed by the Wikimedia Foundation's legal counsel, and in line with the United States \
         Digital Millennium Copyright Act (DMCA), the file(s) listed below have been removed from \
         Wikimedia Commons. This removal is an official office action of the Wikimedia Foundation \
         and must not be reverted. Anyone who believes there are valid grounds for a counter-claim \
         under the DMCA is welcome to write to {}.",
        escape_inline(settings.legal_email)
    );
    let wmf_target = link_target(&t.wmf_title);
    if !wmf_target.is_empty() {
        paragraph.push_str(&format!(
            " The takedown notice itself can be read '''[[:wmf:Legal:{wmf_target}|here]]'''."
        ));
    }
    lines.push(paragraph);
    lines.push(String::new());
    lines.push("Affected file(s):".to_owned());
    lines.extend(names(&t.affected_files).map(|file| {
        if is_title_safe(file) {
            format!("* {{{{lf|{}}}}}", escape_inline(file))
        } else {
            format!("* File:{}", escape_inline(file))
        }
    }));
    if names(&t.affected_pages).next().is_some() {
        lines.push(String::new());
        lines.push("Affected page(s):".to_owned());
        lines.extend(names(&t.affected_pages).map(|page| format!("* {}", page_link(page))));
    }
    lines
}

fn user_talk(t: &Takedown, settings: &NoticeSettings<'_>, user: &str) -> WikiNotice {
    let email = escape_inline(settings.legal_email);
    let mut lines = test_banner(t);
    lines.push(format!("Dear {},", escape_inline(user)));
    lines.push(String::new());
    lines.push(
        "The Wikimedia Foundation has taken down the following content after receiving a copyright \
         notice that met the legal requirements for such notices:"
            .to_owned(),
    );
    lines.extend(names(&t.affected_files).map(|file| format!("* {}", file_link(file))));
    lines.extend(names(&t.affected_pages).map(|page| format!("* {}", page_link(page))));
    lines.push(String::new());
    lines.push(
        "The Digital Millennium Copyright Act (DMCA) obliges us to remove such content and to let the \
         person who posted it know. This message is only that notification: it does not mean that \
         anyone is suing you."
            .to_owned(),
    );
    lines.push(String::new());
    lines.push("'''What can you do?'''".to_owned());
    lines.push(String::new());
    lines.push(
        "Nothing is required of you. If you believe the content was removed in error, you may send a \
         counter notice. Before you do, please make sure you understand where you stand legally; you \
         may wish to talk to a lawyer. Once a counter notice is sent, the person who made the claim \
         may decide to take you to court. The Wikimedia Foundation would not be a party to that case, \
         and it cannot give you legal advice."
            .to_owned(),
    );
    lines.push(String::new());
    lines.push("'''Filing a counter notice'''".to_owned());
    lines.push(String::new());
    lines.push(format!(
        "Counter notices go by e-mail to {email}. To meet the DMCA's requirements (17 U.S.C. \
         § 512(g)(3)), yours must contain:"
    ));
    lines.push("* a link to the removed material and a description of it;".to_owned());
    lines.push(
        "* a statement, made in good faith and under penalty of perjury, that you believe the material \
         was removed by mistake or because it was misidentified;"
            .to_owned(),
    );
    lines.push("* your full name, postal address and telephone number;".to_owned());
    lines.push(
        "* a statement that you accept the jurisdiction of the Federal District Court for the judicial \
         district where your address is (if you live in the United States) or of any judicial \
         district in which the Wikimedia Foundation may be found (if you live elsewhere), and that \
         you will accept service of process from the person who sent the original notice or from \
         their agent;"
            .to_owned(),
    );
    lines.push("* your physical or electronic signature.".to_owned());
    lines.push(String::new());
    lines.push(
        "We pass a complete counter notice on to the claimant, who then has 14 business days to file a \
         lawsuit. If they do not, the Foundation may put the material back, normally within 10 to 14 \
         business days of receiving your counter notice."
            .to_owned(),
    );
    lines.push(String::new());
    lines.push("'''Miscellaneous'''".to_owned());
    lines.push(String::new());
    lines.push(
        "As section 512(i)(1)(A) of the DMCA requires, users who infringe copyright repeatedly are \
         blocked."
            .to_owned(),
    );
    lines.push(format!(
        "For more information, see the [{TERMS_OF_USE_URL} Wikimedia Terms of Use], the \
         [{LUMEN_DMCA_URL} Lumen database's DMCA topic], the [{EFF_DMCA_URL} Electronic Frontier \
         Foundation's DMCA page] and the [{COPYRIGHT_OFFICE_URL} U.S. Copyright Office's DMCA \
         directory]."
    ));
    lines.push(String::new());
    lines.push("Thank you for reading this message.".to_owned());
    lines.push(String::new());
    lines.push("Sincerely,".to_owned());
    lines.push(SIGNATURE.to_owned());
    WikiNotice {
        kind: NoticeKind::UserTalk(user.to_owned()),
        wiki: TargetWiki::Project,
        page: format!("User talk:{user}"),
        section_title: Some(TALK_SECTION_TITLE.to_owned()),
        text: lines.join("\n"),
        summary: TALK_SECTION_TITLE.to_owned(),
    }
}

/// The opening lines of a test submission's notice, which must never pass for a real one.
fn test_banner(t: &Takedown) -> Vec<String> {
    if t.test {
        vec![
            "''This is a test of the takedown tool; it does not announce a real takedown.''".to_owned(),
            String::new(),
        ]
    } else {
        Vec::new()
    }
}

fn commons_title(t: &Takedown) -> &str {
    let title = t.commons_title.trim();
    if title.is_empty() { FALLBACK_COMMONS_TITLE } else { title }
}

fn sender_display(t: &Takedown) -> String {
    let name = t.sender.name.trim();
    let firm = t.sender.firm.trim();
    match (name.is_empty(), firm.is_empty()) {
        (false, false) => format!("{} ({})", escape_inline(name), escape_inline(firm)),
        (false, true) => escape_inline(name),
        (true, false) => escape_inline(firm),
        (true, true) => NOT_GIVEN.to_owned(),
    }
}

fn or_not_given(value: &str) -> String {
    let value = value.trim();
    if value.is_empty() { NOT_GIVEN.to_owned() } else { escape_inline(value) }
}

/// The affected files and pages as external links to the project, labelled with their titles.
fn affected_links(t: &Takedown) -> Vec<String> {
    let titles = t
        .affected_files
        .iter()
        .map(|file| (file, format!("File:{file}")))
        .chain(t.affected_pages.iter().map(|page| (page, page.clone())));
    // `infringing_urls` lists files then pages, one URL each, in the same order as `titles`.
    titles
        .zip(t.infringing_urls())
        .filter(|((name, _), _)| !name.trim().is_empty())
        .map(|((_, title), url)| format!("[{} {}]", safe_url(&url), escape_inline(&title)))
        .collect()
}

/// The non-blank names of a list.
fn names(list: &[String]) -> impl Iterator<Item = &str> {
    list.iter().map(|name| name.trim()).filter(|name| !name.is_empty())
}

/// `[[:File:<name>]]`, or the name as plain text when no title can hold it (a link to an
/// impossible title would only show its brackets).
fn file_link(name: &str) -> String {
    if is_title_safe(name) {
        format!("[[:File:{}]]", escape_inline(name))
    } else {
        format!("File:{}", escape_inline(name))
    }
}

/// `[[:<page>]]` (the colon keeps a `Category:` or `File:` page a plain link), or the name as
/// plain text when no title can hold it.
fn page_link(name: &str) -> String {
    if is_title_safe(name) { format!("[[:{}]]", escape_inline(name)) } else { escape_inline(name) }
}

/// Whether a name can be a page title (and so a link target or a user's talk page).
fn is_title_safe(name: &str) -> bool {
    !name.trim().is_empty() && !name.chars().any(|c| c.is_control() || TITLE_FORBIDDEN.contains(c))
}

/// A title or heading made fit for a link target: characters no title can hold are dropped,
/// and the rest is escaped (MediaWiki decodes character references in link targets, so the
/// link still reaches the page or section, while nothing in it acts as markup).
fn link_target(text: &str) -> String {
    let kept: String = text.chars().filter(|&c| !c.is_control() && !TITLE_FORBIDDEN.contains(c)).collect();
    escape_inline(kept.trim())
}

/// The talk-page users: trimmed, usable as titles, each once. MediaWiki reads `_` as a space,
/// runs of spaces as one and upper-cases the first letter, so `example_user` and
/// `Example  user` share a talk page and get one message.
fn talk_page_users(users: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    names(users).filter(|user| is_title_safe(user)).filter(|user| seen.insert(user_identity(user))).collect()
}

fn user_identity(user: &str) -> String {
    let spaced = user.replace('_', " ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let joined = words.join(" ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => joined,
    }
}

/// A URL written so it stays one external link that nothing else reads as markup: every byte
/// outside letters, digits and `-.:%/_` is percent-encoded (so no space, bracket, pipe, brace,
/// quote or `~` can end the link or form a signature), as are `__` (a behaviour switch such as
/// `__NOTOC__` is recognised even inside a URL) and a `//` after the scheme's (so a path cannot
/// spell a second address).
fn safe_url(url: &str) -> String {
    let url = url.trim();
    let (prefix, rest) = match url.split_once("://") {
        Some((scheme, rest)) if is_scheme(scheme) => (format!("{scheme}://"), rest),
        _ => (String::new(), url),
    };
    let bytes = rest.as_bytes();
    let mut out = prefix;
    for (i, &byte) in bytes.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| bytes[p]);
        let next = bytes.get(i + 1).copied();
        let keep = match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b':' | b'%' => true,
            b'_' => previous != Some(b'_') && next != Some(b'_'),
            b'/' => previous != Some(b'/'),
            _ => false,
        };
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_scheme(scheme: &str) -> bool {
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// The text's characters with every line break (a CR LF pair counting as one) and other
/// control character turned into a space.
fn single_line(text: &str) -> Vec<char> {
    let mut chars = Vec::with_capacity(text.len());
    let mut rest = text.chars().peekable();
    while let Some(c) = rest.next() {
        if c == '\r' && rest.peek() == Some(&'\n') {
            continue;
        }
        chars.push(if c.is_control() { ' ' } else { c });
    }
    chars
}

/// Whether a magic-link word starts here; escaping its first letter is enough to stop the link,
/// whatever space (or `&nbsp;`) follows.
fn starts_magic_link(rest: &[char]) -> bool {
    MAGIC_LINK_WORDS.iter().any(|word| word.chars().eq(rest.iter().copied().take(word.len())))
}

fn push_entity(out: &mut String, c: char) {
    out.push_str("&#");
    out.push_str(&u32::from(c).to_string());
    out.push(';');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dmca::model::{Decision, DocumentRecord, Project, Sender, Statement};

    const SETTINGS: NoticeSettings<'static> = NoticeSettings {
        year: 2026,
        legal_email: "legal@wikimedia.org",
        lumen_url: Some("https://lumendatabase.org/notices/12345"),
        sent_display: "2026-11-20",
    };

    fn commons() -> Project {
        Project {
            dbname: "commonswiki".to_owned(),
            host: "commons.wikimedia.org".to_owned(),
            label: "Wikimedia Commons".to_owned(),
        }
    }

    fn takedown(decision: Decision) -> Takedown {
        Takedown {
            test: false,
            send_to_lumen: true,
            post_wiki_notices: true,
            project: commons(),
            sender: Sender {
                name: "Example Pictures".to_owned(),
                firm: "Example Law".to_owned(),
                ..Sender::default()
            },
            date_sent: "2026-11-20".to_owned(),
            method: "e-mail".to_owned(),
            to: "legal@wikimedia.org".to_owned(),
            from: "claims@example.com".to_owned(),
            subject: "Copyright infringement".to_owned(),
            body: "Please remove our photographs.".to_owned(),
            involved_users: vec!["Alice".to_owned(), "Bob Example".to_owned()],
            affected_files: vec!["Sunset.jpg".to_owned(), "Harbour at night.png".to_owned()],
            affected_pages: Vec::new(),
            original_urls: vec!["https://example.com/sunset".to_owned()],
            decision,
            statements: vec![Statement::TakenDownDmca],
            strike_reasons: Vec::new(),
            strike_other: String::new(),
            lumen_title: "DMCA notice to Wikimedia".to_owned(),
            commons_title: "Photos by Example Pictures".to_owned(),
            wmf_title: "DMCA Photos by Example Pictures".to_owned(),
            documents: Vec::new(),
            wiki_lookup: None,
        }
    }

    fn kinds(notices: &[WikiNotice]) -> Vec<NoticeKind> {
        notices.iter().map(|n| n.kind.clone()).collect()
    }

    fn talk(user: &str) -> NoticeKind {
        NoticeKind::UserTalk(user.to_owned())
    }

    /// Decodes `&#NN;`, `&amp;`, `&lt;` and `&gt;`, as the wiki's output would.
    fn decode(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            let named = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')];
            if let Some((entity, c)) = named.iter().find(|(entity, _)| rest.starts_with(entity)) {
                out.push(*c);
                rest = &rest[entity.len()..];
                continue;
            }
            let numeric = rest
                .strip_prefix("&#")
                .and_then(|r| r.split_once(';'))
                .and_then(|(digits, after)| Some((char::from_u32(digits.parse().ok()?)?, after)));
            match numeric {
                Some((c, after)) => {
                    out.push(c);
                    rest = after;
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The text with every `&#NN;` removed, to see what is left raw.
    fn without_entities(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("&#") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            rest = match after[digits..].strip_prefix(';') {
                Some(tail) if digits > 0 => tail,
                _ => {
                    out.push_str("&#");
                    after
                }
            };
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn commons_takedown_gets_foundation_page_noticeboard_pump_and_one_talk_message_per_user() {
        for decision in [Decision::Granted, Decision::PartiallyGranted] {
            let notices = prepare(&takedown(decision), &SETTINGS);
            assert_eq!(
                kinds(&notices),
                [
                    NoticeKind::FoundationPage,
                    NoticeKind::CommonsNoticeboard,
                    NoticeKind::VillagePump,
                    talk("Alice"),
                    talk("Bob Example"),
                ]
            );
            let places: Vec<(TargetWiki, &str, Option<&str>)> =
                notices.iter().map(|n| (n.wiki, n.page.as_str(), n.section_title.as_deref())).collect();
            assert_eq!(
                places,
                [
                    (TargetWiki::Foundation, "Legal:DMCA Photos by Example Pictures", None),
                    (TargetWiki::Commons, "Commons:Office actions/DMCA notices", None),
                    (TargetWiki::Commons, "Commons:Village pump", None),
                    (TargetWiki::Project, "User talk:Alice", Some("Notice of upload removal")),
                    (TargetWiki::Project, "User talk:Bob Example", Some("Notice of upload removal")),
                ]
            );
        }
    }

    #[test]
    fn other_projects_get_no_commons_notices() {
        let mut t = takedown(Decision::Granted);
        t.project = Project {
            dbname: "enwiki".to_owned(),
            host: "en.wikipedia.org".to_owned(),
            label: "English Wikipedia".to_owned(),
        };
        let notices = prepare(&t, &SETTINGS);
        assert_eq!(kinds(&notices), [NoticeKind::FoundationPage, talk("Alice"), talk("Bob Example")]);
        assert!(
            notices[0].text.contains("[https://en.wikipedia.org/wiki/File:Sunset.jpg File&#58;Sunset.jpg]")
        );
    }

    #[test]
    fn denied_takedown_gets_no_notices() {
        let mut t = takedown(Decision::Denied);
        assert!(prepare(&t, &SETTINGS).is_empty());
        t.decision = Decision::Granted;
        assert!(!prepare(&t, &SETTINGS).is_empty());
    }

    #[test]
    fn users_are_deduplicated_and_unusable_names_skipped() {
        let mut t = takedown(Decision::Granted);
        t.involved_users = [
            "Alice",
            " alice ",
            "Alice_",
            "",
            "   ",
            "Bad[name",
            "Pipe|name",
            "Two\nlines",
            "Bob  Example",
            "bob_Example",
            "Zoë",
        ]
        .map(str::to_owned)
        .to_vec();
        let users: Vec<NoticeKind> = kinds(&prepare(&t, &SETTINGS))
            .into_iter()
            .filter(|k| matches!(k, NoticeKind::UserTalk(_)))
            .collect();
        assert_eq!(users, [talk("Alice"), talk("Bob  Example"), talk("Zoë")]);
    }

    #[test]
    fn every_affected_file_is_in_the_noticeboard_pump_and_each_talk_message() {
        let mut t = takedown(Decision::Granted);
        t.affected_files = ["First.jpg", "Second picture.png", "Third_one.svg"].map(str::to_owned).to_vec();
        let notices = prepare(&t, &SETTINGS);
        let mut talks = 0;
        for notice in &notices {
            for file in &t.affected_files {
                let expected = match notice.kind {
                    NoticeKind::FoundationPage => {
                        format!("wiki/File:{}", file.replace(' ', "_"))
                    }
                    NoticeKind::CommonsNoticeboard | NoticeKind::VillagePump => {
                        format!("* {{{{lf|{}}}}}", escape_inline(file))
                    }
                    NoticeKind::UserTalk(_) => format!("* [[:File:{}]]", escape_inline(file)),
                };
                assert!(
                    notice.text.contains(&expected),
                    "{:?} lacks {expected}:\n{}",
                    notice.kind,
                    notice.text
                );
            }
            talks += usize::from(matches!(notice.kind, NoticeKind::UserTalk(_)));
        }
        assert_eq!(talks, 2);
    }

    #[test]
    fn notices_link_the_foundation_page_the_noticeboard_section_and_lumen() {
        let mut t = takedown(Decision::Granted);
        t.affected_pages = vec!["Category:Sunsets".to_owned()];
        let notices = prepare(&t, &SETTINGS);
        let [foundation, board, pump, ..] = notices.as_slice() else { panic!("too few notices") };
        assert!(foundation.text.contains("<pre>\nPlease remove our photographs.\n</pre>"));
        assert!(foundation.text.contains("; From: Example Pictures (Example Law)"));
        assert!(foundation.text.contains("Lumen: https://lumendatabase.org/notices/12345"));
        assert!(foundation.text.ends_with("[[Category:DMCA 2026]]"));
        assert!(
            foundation
                .text
                .contains("* [https://commons.wikimedia.org/wiki/Category:Sunsets Category&#58;Sunsets]")
        );
        for notice in [board, pump] {
            assert!(notice.text.contains("[[:wmf:Legal:DMCA Photos by Example Pictures|here]]"));
            assert!(notice.text.contains("* [[:Category&#58;Sunsets]]"));
        }
        assert!(board.text.starts_with("\n=== Photos by Example Pictures ===\n"));
        assert!(
            pump.text
                .starts_with("\n== Notification of DMCA takedown demand - Photos by Example Pictures ==\n")
        );
        assert!(pump.text.contains("[[COM:DMCA#Photos by Example Pictures]]"));
        assert!(!prepare(&t, &NoticeSettings { lumen_url: None, ..SETTINGS })[0].text.contains("Lumen:"));
    }

    #[test]
    fn test_submissions_say_so_in_every_notice() {
        let mut t = takedown(Decision::Granted);
        for notice in prepare(&t, &SETTINGS) {
            assert!(!notice.text.contains("test of the takedown tool"), "{:?}", notice.kind);
        }
        t.test = true;
        for notice in prepare(&t, &SETTINGS) {
            assert!(notice.text.contains("test of the takedown tool"), "{:?}", notice.kind);
        }
    }

    #[test]
    fn names_no_title_can_hold_are_shown_as_text_not_links() {
        let mut t = takedown(Decision::Granted);
        t.affected_files = vec!["Bad[1].jpg".to_owned()];
        t.wmf_title = "DMCA [x]".to_owned();
        t.commons_title = "Odd {title}".to_owned();
        let notices = prepare(&t, &SETTINGS);
        let talk = &notices[3];
        assert!(talk.text.contains("* File:Bad&#91;1&#93;.jpg"), "{}", talk.text);
        assert!(!talk.text.contains("[[:File:Bad"));
        assert!(notices[1].text.contains("* File:Bad&#91;1&#93;.jpg"));
        assert!(!notices[1].text.contains("{{lf|Bad"));
        assert!(notices[1].text.contains("[[:wmf:Legal:DMCA x|here]]"));
        assert!(notices[2].text.contains("[[COM:DMCA#Odd title]]"));
        assert!(notices[0].text.contains("wiki/File:Bad%5B1%5D.jpg File&#58;Bad&#91;1&#93;.jpg]"));
    }

    const PAYLOADS: [&str; 12] = [
        "{{Delete}}",
        "[[Category:X]]",
        "[https://evil.example x]",
        "~~~~",
        "<script>alert(1)</script>",
        "'''bold'''",
        "__NOTOC__",
        "\n== H ==\n",
        "</pre><script>",
        "ISBN 1234567890",
        "https://evil.example/",
        "//evil.example/x",
    ];

    fn poisoned(payload: &str) -> Takedown {
        let p = || payload.to_owned();
        let mut t = takedown(Decision::Granted);
        t.sender = Sender {
            name: p(),
            person: p(),
            firm: p(),
            address_line_1: p(),
            address_line_2: p(),
            city: p(),
            state: p(),
            zip: p(),
            country: p(),
        };
        t.date_sent = p();
        t.method = p();
        t.to = p();
        t.from = p();
        t.subject = p();
        t.body = format!("{payload}\n{payload}");
        t.involved_users = vec![p(), "Alice".to_owned(), format!("Carol {payload}")];
        t.affected_files = vec![p(), format!("Photo {payload}.jpg")];
        t.affected_pages = vec![p(), format!("Page {payload}")];
        t.original_urls = vec![p()];
        t.strike_other = p();
        t.lumen_title = p();
        t.commons_title = p();
        t.wmf_title = p();
        t.documents = vec![DocumentRecord {
            name: p(),
            size: 1,
            sha256: p(),
            content_type: "application/pdf".to_owned(),
        }];
        t
    }

    fn assert_inert(notice: &WikiNotice) {
        let text = &notice.text;
        let signatures = if notice.kind == NoticeKind::FoundationPage { 0 } else { 1 };
        assert_eq!(text.matches('~').count(), 4 * signatures, "{:?}:\n{text}", notice.kind);
        assert_eq!(text.matches(SIGNATURE).count(), signatures);
        for forbidden in [
            "{{Delete",
            "[[Category:X",
            "<script",
            "</pre><",
            "[https://evil",
            "__NOTOC__",
            "https://evil.example",
            "//evil.example",
            "ISBN 1",
        ] {
            assert!(!text.contains(forbidden), "{:?} contains {forbidden:?}:\n{text}", notice.kind);
        }
        // Quotes are left alone inside <pre>, where they are inert; everywhere else they are not.
        let outside_pre = match (text.find("<pre>"), text.find("</pre>")) {
            (Some(open), Some(close)) => format!("{}{}", &text[..open], &text[close..]),
            _ => text.clone(),
        };
        assert!(!outside_pre.contains("'''bold"), "{:?}:\n{text}", notice.kind);
        let headings: Vec<&str> = text.lines().filter(|line| line.starts_with("==")).collect();
        match notice.kind {
            NoticeKind::CommonsNoticeboard => {
                assert_eq!(headings.len(), 1, "{text}");
                assert!(headings[0].starts_with("=== ") && headings[0].ends_with(" ==="));
            }
            NoticeKind::VillagePump => {
                assert_eq!(headings.len(), 1, "{text}");
                assert!(headings[0].starts_with("== Notification of DMCA takedown demand - "));
            }
            _ => assert!(headings.is_empty(), "{:?}:\n{text}", notice.kind),
        }
        if notice.kind == NoticeKind::FoundationPage {
            assert_eq!(text.matches("<pre>").count(), 1);
            assert_eq!(text.to_lowercase().matches("</pre").count(), 1);
        }
    }

    #[test]
    fn injected_wikitext_stays_inert_in_every_notice() {
        let all = PAYLOADS.concat();
        for payload in PAYLOADS.iter().copied().chain([all.as_str()]) {
            let settings = NoticeSettings { sent_display: payload, ..SETTINGS };
            let notices = prepare(&poisoned(payload), &settings);
            // Alice always gets one, and so do the payload users a talk page can exist for.
            assert!(notices.len() >= 4, "{payload:?}");
            for notice in &notices {
                assert_inert(notice);
            }
        }
    }

    #[test]
    fn escape_inline_round_trips_and_leaves_nothing_raw() {
        let samples = PAYLOADS.iter().map(|p| p.trim().to_owned()).chain([
            "  leading and trailing  ".to_owned(),
            "RFC 2616, PMID 123 & ISBN 0-306".to_owned(),
            "Zoë 日本 -{zh}- ; : ! * # = |".to_owned(),
            "&amp; &#60; literally".to_owned(),
            "\u{a0}".to_owned(),
        ]);
        for sample in samples {
            let escaped = escape_inline(&sample);
            assert_eq!(decode(&escaped), sample);
            let raw = without_entities(&escaped);
            assert!(!raw.contains(|c| "[]{}|<>&'~=*#:;!_\"-/".contains(c)), "{sample:?} -> {escaped}");
            for word in MAGIC_LINK_WORDS {
                assert!(!raw.contains(word), "{sample:?} -> {escaped}");
            }
            assert!(!escaped.starts_with(char::is_whitespace) && !escaped.ends_with(char::is_whitespace));
        }
    }

    #[test]
    fn escape_inline_puts_everything_on_one_line() {
        assert_eq!(escape_inline("a\r\nb\nc\rd\u{7f}e"), "a b c d e");
        assert_eq!(escape_inline("\n== H ==\n"), "&#32;&#61;&#61; H &#61;&#61;&#32;");
    }

    #[test]
    fn escape_block_keeps_lines_and_cannot_close_the_pre() {
        let body = "Dear Sir,\n\n== H ==\n* item\n  indented\tkept\n\
                    see https://example.com/x </PrE><pre> ~~~~ __NOTOC__ {{x}} [[y]] ISBN 1";
        let escaped = escape_block(body);
        assert_eq!(decode(&escaped), body);
        assert_eq!(escaped.lines().count(), body.lines().count());
        assert!(!escaped.contains(['<', '>', '~', '[', '{']));
        assert!(!escaped.contains("__") && !escaped.contains("//") && !escaped.contains("ISBN"));
        assert!(!escaped.lines().any(|line| line.starts_with(['=', '*'])));
        assert!(escaped.contains("  indented\tkept"));
        assert_eq!(escape_block("a\r\nb\rc\u{0}d"), "a\nb\nc d");
    }

    #[test]
    fn safe_urls_cannot_end_the_link_or_carry_markup() {
        assert_eq!(
            safe_url("https://commons.wikimedia.org/wiki/File:A_b ~~~~ [x]|{y}'__z__.jpg"),
            "https://commons.wikimedia.org/wiki/File:A_b%20%7E%7E%7E%7E%20%5Bx%5D%7C%7By%7D%27\
             %5F%5Fz%5F%5F.jpg"
        );
        assert_eq!(
            safe_url("https://w.example/wiki/https://evil.example/"),
            "https://w.example/wiki/https:/%2Fevil.example/"
        );
        assert_eq!(safe_url("https://w.example/wiki/Zoë"), "https://w.example/wiki/Zo%C3%AB");
    }

    #[test]
    fn keys_round_trip_for_every_kind() {
        let kinds = [
            NoticeKind::FoundationPage,
            NoticeKind::CommonsNoticeboard,
            NoticeKind::VillagePump,
            talk("Jane Doe"),
            talk("Ex:ample/sub"),
            talk("Zoë 日本"),
            talk("user-talk:41"),
        ];
        for kind in kinds {
            let key = kind.key();
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'), "{key}");
            assert_eq!(NoticeKind::from_key(&key), Some(kind));
        }
        assert_eq!(NoticeKind::CommonsNoticeboard.key(), "commons-noticeboard");
        assert_eq!(talk("A b").key(), "user-talk:412062");
        for junk in ["", "bogus", "user-talk:", "user-talk:4", "user-talk:zz", "user-talk:ff", "user-talk:4A"]
        {
            assert_eq!(NoticeKind::from_key(junk), None, "{junk}");
        }
    }

    #[test]
    fn kinds_serialize_with_a_kind_tag_and_the_user_beside_it() {
        let user = serde_json::to_value(talk("Zoë")).expect("serializes");
        assert_eq!(user, serde_json::json!({ "kind": "user-talk", "user": "Zoë" }));
        let board = serde_json::to_value(NoticeKind::CommonsNoticeboard).expect("serializes");
        assert_eq!(board, serde_json::json!({ "kind": "commons-noticeboard" }));
        assert_eq!(serde_json::from_value::<NoticeKind>(user).expect("deserializes"), talk("Zoë"));
    }

    #[test]
    fn labels_name_the_user() {
        assert_eq!(talk("Zoë").label(), "Talk page of Zoë");
        assert_eq!(NoticeKind::VillagePump.label(), "Commons village pump");
    }
}
