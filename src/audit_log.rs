//! The auditor's view of the audit log: which entries a page shows (newest first, filtered by
//! staff member, action, case and date), and how far back one page reads. Pure: the store hands
//! over decrypted entries; this decides which of them are shown.
//!
//! A page never reads the whole log: it decrypts at most [`SCAN_LIMIT`] entries going back from
//! where the previous page stopped, so a view costs the same at a million entries as at a
//! thousand. When a narrow filter finds fewer than [`PER_PAGE`] entries in that stretch, the
//! page says which stretch it searched and offers the next one.

use time::Date;

use crate::audit::{Action, AuditEntry, code};
use crate::cases::CaseId;

/// How many entries one page lists.
pub const PER_PAGE: usize = 50;

/// How many entries one page decrypts at most (about a millisecond each in a debug build).
pub const SCAN_LIMIT: u64 = 2_000;

/// Which entries the page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor's login (or `system`, or `unrostered`), exactly.
    pub staff: Option<String>,
    /// The action's code (`view-case`, `access-denied`, …).
    pub action: Option<String>,
    /// The case the entry is about.
    pub case: Option<CaseId>,
    /// First day shown (UTC), inclusive.
    pub from: Option<Date>,
    /// Last day shown (UTC), inclusive.
    pub to: Option<Date>,
    /// Read entries before this sequence number (the next page's start); `None`: the newest.
    pub before: Option<u64>,
}

/// Every action code, for the filter's choices.
pub const ACTIONS: [Action; 14] = [
    Action::AccessDenied,
    Action::ViewCase,
    Action::CreateCase,
    Action::ReviseCase,
    Action::Submit,
    Action::Post,
    Action::Retract,
    Action::Export,
    Action::RotateKeys,
    Action::EgressCall,
    Action::ConnectWiki,
    Action::UploadMedia,
    Action::UpgradeStore,
    Action::ViewAudit,
];

impl AuditFilter {
    /// Reads the filter from a query; returns what could not be used, said on the page.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> (AuditFilter, Vec<String>) {
        let mut ignored = Vec::new();
        let text = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut filter = AuditFilter { staff: text("staff"), ..AuditFilter::default() };
        if let Some(action) = text("action") {
            if ACTIONS.iter().any(|a| code(a) == action) {
                filter.action = Some(action);
            } else {
                ignored.push("action: not one of the listed actions".to_owned());
            }
        }
        if let Some(case) = text("case") {
            match case.parse::<CaseId>() {
                Ok(case) => filter.case = Some(case),
                Err(_) => ignored.push("case: not a case ID (32 hex digits)".to_owned()),
            }
        }
        let day = format_description();
        for (name, slot) in [("from", &mut filter.from), ("to", &mut filter.to)] {
            if let Some(value) = text(name) {
                match Date::parse(&value, &day) {
                    Ok(date) => *slot = Some(date),
                    Err(_) => ignored.push(format!("{name}: not a date (YYYY-MM-DD)")),
                }
            }
        }
        if let Some(before) = text("before") {
            match before.parse::<u64>() {
                Ok(before) if before > 0 => filter.before = Some(before),
                _ => ignored.push("before: not an entry number".to_owned()),
            }
        }
        (filter, ignored)
    }

    /// Whether `entry` is shown.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let day = entry.at.date();
        self.staff.as_deref().is_none_or(|staff| actor_name(entry) == staff)
            && self.action.as_deref().is_none_or(|action| code(&entry.action) == action)
            && self.case.is_none_or(|case| entry.case == Some(case))
            && self.from.is_none_or(|from| day >= from)
            && self.to.is_none_or(|to| day <= to)
    }

    /// The query of this filter starting before entry `before`, for the next page's link.
    pub fn query_before(&self, before: u64) -> String {
        let day = format_description();
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(staff) = &self.staff {
            pairs.push(("staff", staff.clone()));
        }
        if let Some(action) = &self.action {
            pairs.push(("action", action.clone()));
        }
        if let Some(case) = self.case {
            pairs.push(("case", case.to_string()));
        }
        for (name, date) in [("from", self.from), ("to", self.to)] {
            if let Some(date) = date.and_then(|d| d.format(&day).ok()) {
                pairs.push((name, date));
            }
        }
        pairs.push(("before", before.to_string()));
        pairs
            .iter()
            .map(|(k, v)| {
                format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The actor as the filter names it: the login, `system`, `unrostered` or `operator`.
pub fn actor_name(entry: &AuditEntry) -> &str {
    match &entry.actor {
        crate::audit::Actor::Staff(login) => login,
        crate::audit::Actor::Unrostered(_) => "unrostered",
        crate::audit::Actor::Operator(_) => "operator",
        crate::audit::Actor::System => "system",
    }
}

fn format_description() -> &'static [time::format_description::FormatItem<'static>] {
    time::macros::format_description!("[year]-[month]-[day]")
}

/// One page of the log.
#[derive(Clone, Debug, Default)]
pub struct AuditPage {
    /// The entries shown, newest first, with their sequence numbers.
    pub entries: Vec<(u64, AuditEntry)>,
    /// The stretch searched: from this entry number back to `searched.1` (inclusive).
    pub searched: Option<(u64, u64)>,
    /// Where the next page starts (`before=`), if older entries remain.
    pub next_before: Option<u64>,
}

/// Chooses the page from `scanned`: entries read newest first (sequence number descending),
/// at most [`SCAN_LIMIT`] of them, the last read being the oldest. `more_before` says whether
/// older entries exist than the last one read.
pub fn select(filter: &AuditFilter, scanned: Vec<(u64, AuditEntry)>, more_before: bool) -> AuditPage {
    let searched = scanned.first().map(|(newest, _)| *newest).zip(scanned.last().map(|(oldest, _)| *oldest));
    let mut entries = Vec::new();
    let mut next_before = None;
    for (seq, entry) in scanned {
        if !filter.matches(&entry) {
            continue;
        }
        if entries.len() == PER_PAGE {
            // A 51st match: the next page starts at it (its number + 1 is "before").
            next_before = Some(seq + 1);
            break;
        }
        entries.push((seq, entry));
    }
    if next_before.is_none() && more_before {
        next_before = searched.map(|(_, oldest)| oldest);
    }
    let searched = if next_before.is_some_and(|n| Some(n) != searched.map(|(_, oldest)| oldest)) {
        // The page filled before the stretch ended: say nothing about a stretch.
        None
    } else {
        searched
    };
    AuditPage { entries, searched, next_before }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, Outcome};

    fn entry(login: &str, action: Action) -> AuditEntry {
        AuditEntry::now(Actor::Staff(login.into()), action, None, Outcome::Done, "x")
    }

    #[test]
    fn a_page_lists_fifty_matches_newest_first_and_says_where_the_next_starts() {
        let scanned: Vec<(u64, AuditEntry)> =
            (1..=120).rev().map(|seq| (seq, entry("ann", Action::ViewCase))).collect();
        let page = select(&AuditFilter::default(), scanned, true);
        assert_eq!(page.entries.len(), PER_PAGE);
        assert_eq!(page.entries[0].0, 120);
        assert_eq!(page.next_before, Some(71), "entry 70 opens the next page");
    }

    #[test]
    fn a_narrow_filter_says_which_stretch_it_searched() {
        let scanned: Vec<(u64, AuditEntry)> = (1001..=3000)
            .rev()
            .map(|seq| (seq, entry(if seq % 500 == 0 { "bob" } else { "ann" }, Action::ViewCase)))
            .collect();
        let filter = AuditFilter { staff: Some("bob".into()), ..AuditFilter::default() };
        let page = select(&filter, scanned, true);
        assert_eq!(page.entries.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [3000, 2500, 2000, 1500]);
        assert_eq!(page.searched, Some((3000, 1001)));
        assert_eq!(page.next_before, Some(1001));
    }

    #[test]
    fn the_query_reads_back_as_the_same_filter() {
        let (filter, ignored) = AuditFilter::from_query(|name| {
            match name {
                "staff" => Some("dmca-agent"),
                "action" => Some("view-case"),
                "from" => Some("2026-12-01"),
                "before" => Some("900"),
                _ => None,
            }
            .map(str::to_owned)
        });
        assert!(ignored.is_empty(), "{ignored:?}");
        let query = filter.query_before(900);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let (again, _) =
            AuditFilter::from_query(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
        assert_eq!(again, filter);
        let (_, ignored) =
            AuditFilter::from_query(|name| (name == "before").then(|| "18446744073709551616".into()));
        assert_eq!(ignored.len(), 1, "a number past u64 is not applied, not a panic");
    }
}
