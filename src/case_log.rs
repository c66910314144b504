//! The case log: every case summed up in one line, and the filters, order and pages the list
//! offers (kind, decision, test, staff member, date range; newest or oldest first). Pure: the
//! caller reads the cases and decides who may see which. The store's case-log index
//! (`store::case_index`) keeps each case's [`CaseSummary`] and chooses a page without reading
//! every case; [`Filter::select`] over all summaries is what its pages are tested against.

use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::cases::{CaseId, CaseKind, Change, Revision};

/// How many lines one page shows.
pub const PER_PAGE: usize = 50;

/// The highest page number the list accepts (fifty million cases); a larger one is reported as
/// not applied rather than multiplied into an overflow.
pub const MAX_PAGE: usize = 1_000_000;

/// One case in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseSummary {
    /// The case.
    pub id: CaseId,
    /// Its workflow.
    pub kind: CaseKind,
    /// When it was created.
    pub created: OffsetDateTime,
    /// Who created it.
    pub author: String,
    /// How many revisions it has.
    pub revisions: usize,
    /// Its latest revision: when, and why.
    pub latest: (OffsetDateTime, Change),
    /// The decision, for DMCA cases (`granted`, `partially-granted`, `denied`).
    pub decision: Option<String>,
    /// Whether it was a test submission.
    pub test: bool,
    /// A title to recognise it by (the foundation-wiki or Lumen title, or the subject).
    pub title: String,
}

impl CaseSummary {
    /// Sums up a case from its revisions (oldest first); `None` if there are none. The latest
    /// workflow data wins (a correction replaces the request).
    pub fn of(id: CaseId, revisions: &[Revision]) -> Option<CaseSummary> {
        let (first, last) = (revisions.first()?, revisions.last()?);
        let request = revisions.iter().rev().find_map(|r| r.payload.get("dmca"));
        let text =
            |name: &str| request.and_then(|r| r.get(name)).and_then(|v| v.as_str()).unwrap_or_default();
        let child_report = first.payload.get(crate::child_protection::journal::REPORT);
        let title = match child_report {
            // Names and files of a child-protection report stay on its own page.
            Some(report) => format!(
                "Child-protection report, {} file(s)",
                report.get("files").and_then(|f| f.as_array()).map_or(0, Vec::len)
            ),
            None => [text("wmf_title"), text("lumen_title"), text("subject")]
                .into_iter()
                .find(|t| !t.is_empty())
                .unwrap_or_default()
                .to_owned(),
        };
        let child_test =
            child_report.and_then(|r| r.get("environment")).and_then(|v| v.as_str()) == Some("test");
        Some(CaseSummary {
            id,
            kind: first.kind,
            created: first.at,
            author: first.author.clone(),
            revisions: revisions.len(),
            latest: (last.at, last.change),
            decision: request.and_then(|r| r.get("decision")).and_then(|v| v.as_str()).map(str::to_owned),
            test: child_test
                || request.and_then(|r| r.get("test")).and_then(|v| v.as_bool()).unwrap_or(false),
            title,
        })
    }
}

/// Which cases the list shows, in which order, which page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this workflow.
    pub kind: Option<CaseKind>,
    /// Only this decision.
    pub decision: Option<String>,
    /// Only tests (`Some(true)`) or only real submissions (`Some(false)`).
    pub test: Option<bool>,
    /// Only cases this staff member created.
    pub staff: Option<String>,
    /// Created on or after this day (UTC).
    pub from: Option<Date>,
    /// Created on or before this day (UTC).
    pub to: Option<Date>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// The page, from 1.
    pub page: usize,
}

impl Filter {
    /// Reads the list's query string (`?kind=dmca&decision=denied&test=no&staff=ann&from=…&to=…
    /// &sort=oldest&page=2`). Unknown or malformed values are ignored and listed in the second
    /// value, so the page can say what it did not apply.
    pub fn from_query(value: impl Fn(&str) -> Option<String>) -> (Filter, Vec<String>) {
        let mut ignored = Vec::new();
        let given = |name: &str| value(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let day = |name: &str, ignored: &mut Vec<String>| {
            let text = given(name)?;
            Date::parse(&text, format_description!("[year]-[month]-[day]"))
                .map_err(|_| ignored.push(format!("{name}: {text:?} is not a date (YYYY-MM-DD)")))
                .ok()
        };
        let kind = given("kind").and_then(|k| match k.as_str() {
            "dmca" => Some(CaseKind::Dmca),
            "child-protection" => Some(CaseKind::ChildProtection),
            "log" => Some(CaseKind::Log),
            other => {
                ignored.push(format!("kind: {other:?} is not a workflow"));
                None
            }
        });
        let decision = given("decision").filter(|d| {
            let known = matches!(d.as_str(), "granted" | "partially-granted" | "denied");
            if !known {
                ignored.push(format!("decision: {d:?} is not a decision"));
            }
            known
        });
        let test = given("test").and_then(|t| match t.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        });
        let from = day("from", &mut ignored);
        let to = day("to", &mut ignored);
        let page = given("page")
            .and_then(|text| match text.parse::<usize>() {
                Ok(page) if (1..=MAX_PAGE).contains(&page) => Some(page),
                _ => {
                    ignored.push(format!("page: {text:?} is not a page number from 1 to {MAX_PAGE}"));
                    None
                }
            })
            .unwrap_or(1);
        let filter = Filter {
            kind,
            decision,
            test,
            staff: given("staff"),
            from,
            to,
            oldest_first: given("sort").as_deref() == Some("oldest"),
            page,
        };
        (filter, ignored)
    }

    /// Whether the filter narrows the list at all (or asks for another order or page).
    pub fn is_default(&self) -> bool {
        *self == Filter { page: 1, ..Filter::default() }
    }

    /// Whether `summary` passes.
    pub fn matches(&self, summary: &CaseSummary) -> bool {
        let day = summary.created.to_offset(time::UtcOffset::UTC).date();
        self.kind.is_none_or(|kind| kind == summary.kind)
            && self.decision.as_ref().is_none_or(|d| summary.decision.as_ref() == Some(d))
            && self.test.is_none_or(|test| test == summary.test)
            && self.staff.as_ref().is_none_or(|staff| *staff == summary.author)
            && self.from.is_none_or(|from| day >= from)
            && self.to.is_none_or(|to| day <= to)
    }

    /// The page of `summaries` (in creation order, oldest first) this filter shows, and
    /// whether there is a next page.
    pub fn select(&self, summaries: Vec<CaseSummary>) -> (Vec<CaseSummary>, bool) {
        let mut matching: Vec<CaseSummary> = summaries.into_iter().filter(|s| self.matches(s)).collect();
        if !self.oldest_first {
            matching.reverse();
        }
        // Checked: a page past the end (however far) is simply empty, never an overflow.
        let Some(skip) = self.page.saturating_sub(1).checked_mul(PER_PAGE) else {
            return (Vec::new(), false);
        };
        let more = matching.len().saturating_sub(skip) > PER_PAGE;
        (matching.into_iter().skip(skip).take(PER_PAGE).collect(), more)
    }

    /// The query string for `page` of this filter (for the "next" and "previous" links).
    pub fn query_for_page(&self, page: usize) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(kind) = self.kind {
            query.append_pair("kind", &crate::audit::code(&kind));
        }
        if let Some(decision) = &self.decision {
            query.append_pair("decision", decision);
        }
        if let Some(test) = self.test {
            query.append_pair("test", if test { "yes" } else { "no" });
        }
        if let Some(staff) = &self.staff {
            query.append_pair("staff", staff);
        }
        // The format the filter reads, so a printed date reads back as the same day.
        let date = |d: Date| d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default();
        if let Some(from) = self.from {
            query.append_pair("from", &date(from));
        }
        if let Some(to) = self.to {
            query.append_pair("to", &date(to));
        }
        if self.oldest_first {
            query.append_pair("sort", "oldest");
        }
        query.append_pair("page", &page.to_string());
        query.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(id: CaseId, kind: CaseKind, author: &str, at: i64, payload: serde_json::Value) -> Revision {
        Revision {
            case: id,
            number: 1,
            kind,
            change: Change::Created,
            at: OffsetDateTime::from_unix_timestamp(at).unwrap(),
            author: author.into(),
            payload,
        }
    }

    fn summaries() -> Vec<CaseSummary> {
        let day = 86_400;
        let rows = [
            (
                CaseKind::Dmca,
                "ann",
                0,
                serde_json::json!({"dmca": {"decision": "granted", "test": false, "wmf_title": "DMCA A"}}),
            ),
            (
                CaseKind::Dmca,
                "bob",
                day,
                serde_json::json!({"dmca": {"decision": "denied", "test": true, "subject": "S"}}),
            ),
            (CaseKind::ChildProtection, "cat", 2 * day, serde_json::json!({})),
        ];
        rows.into_iter()
            .map(|(kind, author, at, payload)| {
                let id = CaseId::generate();
                CaseSummary::of(id, &[revision(id, kind, author, at, payload)]).unwrap()
            })
            .collect()
    }

    fn filter(query: &[(&str, &str)]) -> (Filter, Vec<String>) {
        Filter::from_query(|name| query.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn each_filter_narrows_the_log_and_the_order_can_be_reversed() {
        let all = summaries();
        assert_eq!(all[0].title, "DMCA A");
        assert_eq!(all[1].decision.as_deref(), Some("denied"));
        let authors = |query: &[(&str, &str)]| -> Vec<String> {
            filter(query).0.select(all.clone()).0.into_iter().map(|s| s.author).collect()
        };
        assert_eq!(authors(&[]), ["cat", "bob", "ann"], "newest first by default");
        assert_eq!(authors(&[("sort", "oldest")]), ["ann", "bob", "cat"]);
        assert_eq!(authors(&[("kind", "dmca")]), ["bob", "ann"]);
        assert_eq!(authors(&[("decision", "denied")]), ["bob"]);
        assert_eq!(authors(&[("test", "no"), ("kind", "dmca")]), ["ann"]);
        assert_eq!(authors(&[("staff", "cat")]), ["cat"]);
        assert_eq!(authors(&[("from", "1970-01-02"), ("to", "1970-01-02")]), ["bob"]);
        let (_, ignored) = filter(&[("kind", "nope"), ("from", "yesterday")]);
        assert_eq!(ignored.len(), 2, "{ignored:?}");
    }

    #[test]
    fn pages_hold_fifty_and_the_next_page_keeps_the_filter() {
        let one = summaries().remove(0);
        let many: Vec<CaseSummary> =
            (0..120).map(|_| CaseSummary { id: CaseId::generate(), ..one.clone() }).collect();
        let (first, more) = filter(&[]).0.select(many.clone());
        assert_eq!((first.len(), more), (50, true));
        let (third, more) = filter(&[("page", "3")]).0.select(many);
        assert_eq!((third.len(), more), (20, false));
        let (with_kind, _) = filter(&[("kind", "dmca"), ("decision", "granted")]);
        assert_eq!(with_kind.query_for_page(2), "kind=dmca&decision=granted&page=2");
        assert!(filter(&[]).0.is_default() && !with_kind.is_default());
    }

    #[test]
    fn a_page_number_that_would_overflow_is_not_applied_and_a_far_page_is_empty() {
        for text in ["18446744073709551615", "18446744073709551616", "1000001", "0", "-1", "two"] {
            let (parsed, ignored) = filter(&[("page", text)]);
            assert_eq!(parsed.page, 1, "{text}");
            assert_eq!(ignored.len(), 1, "{text}: {ignored:?}");
        }
        let far = Filter { page: usize::MAX, ..Filter::default() };
        assert_eq!(far.select(summaries()), (Vec::new(), false));
        let (last, _) = filter(&[("page", "1000000")]);
        assert_eq!(last.select(summaries()), (Vec::new(), false));
    }
}
