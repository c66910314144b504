//! The case log's index: what lets a page of the log, with any filter, be chosen without
//! decrypting a single case, and then opens only the cases on it.
//!
//! Three tables, written in the transaction of every revision ([`super::Batch`]):
//!
//! - `case-summaries`: case → its [`CaseSummary`] (and creation number), age-encrypted under
//!   the store key like a revision. A page opens fifty of these, never the revisions.
//! - `case-facets`: (facet key, creation number) → nothing. A facet key is the keyed HMAC (the
//!   store's [`IndexKey`]) of one combination of equality filters, always with the kind: for a
//!   case, every subset of {decision, test, staff member} together with its kind (at most 8
//!   keys). So any conjunction of the list's equality filters is one ordered range, and a viewer
//!   who may read several kinds gets the merge of one range per kind, in creation order; kinds
//!   the viewer may not read are never touched, so nothing about them (not even their number)
//!   can show in a page or in whether there is a next one.
//! - `case-days`: keyed HMAC of a creation day (UTC) → the first and last creation number of
//!   that day, which turns a day range into a range of creation numbers. This relies on
//!   creation order being time order (creation numbers are given in the write transaction, so
//!   they follow the clock unless the clock is set back).
//!
//! What is in clear: truncated HMACs (16 bytes) that mean nothing without the index key, the
//! creation numbers already in clear in the `cases` table, and how they group (into days, and
//! into facet combinations whose values stay hidden). The index is derived data: it is not
//! committed by the audit chain (the revisions are), and it is rebuilt from the revisions when
//! a store without it is opened ([`rebuild`]).

use std::path::Path;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::crypt::StoreKey;
use super::index::IndexKey;
use super::{At, CASES, REVISIONS, StoreError, decode_json, open_many};
use crate::case_log::{CaseSummary, Filter, PER_PAGE};
use crate::cases::{CaseId, CaseKind, Change, Revision};

/// Case → sealed [`Indexed`].
pub(super) const SUMMARIES: TableDefinition<'_, [u8; 16], &[u8]> = TableDefinition::new("case-summaries");
/// (facet key, creation number) → nothing.
pub(super) const FACETS: TableDefinition<'_, ([u8; 16], u64), ()> = TableDefinition::new("case-facets");
/// Day key → (first, last) creation number of the cases created that day.
pub(super) const DAYS: TableDefinition<'_, [u8; 16], (u64, u64)> = TableDefinition::new("case-days");

/// HMAC purposes (see [`IndexKey::lookup_key`]): a facet key never equals a day key.
const FACET_PURPOSE: &str = "case-log-facets";
const DAY_PURPOSE: &str = "case-log-day";

/// Cases summed up per transaction when the index is rebuilt (bounds the memory it takes).
const REBUILD_CHUNK: usize = 4096;

/// A summary as sealed into `case-summaries`, with the creation number that places the case in
/// `case-facets` (needed to remove its entries when a revision changes a facet).
#[derive(Serialize, Deserialize)]
struct Indexed {
    seq: u64,
    id: CaseId,
    kind: CaseKind,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    author: String,
    revisions: usize,
    #[serde(with = "time::serde::rfc3339")]
    latest_at: OffsetDateTime,
    latest_change: Change,
    decision: Option<String>,
    test: bool,
    title: String,
}

impl Indexed {
    fn of(seq: u64, s: &CaseSummary) -> Self {
        Indexed {
            seq,
            id: s.id,
            kind: s.kind,
            created: s.created,
            author: s.author.clone(),
            revisions: s.revisions,
            latest_at: s.latest.0,
            latest_change: s.latest.1,
            decision: s.decision.clone(),
            test: s.test,
            title: s.title.clone(),
        }
    }

    fn summary(self) -> CaseSummary {
        CaseSummary {
            id: self.id,
            kind: self.kind,
            created: self.created,
            author: self.author,
            revisions: self.revisions,
            latest: (self.latest_at, self.latest_change),
            decision: self.decision,
            test: self.test,
            title: self.title,
        }
    }
}

/// The facet key of one combination of equality filters (`None`: not filtered on).
fn facet_key(
    index: &IndexKey,
    kind: CaseKind,
    decision: Option<&str>,
    test: Option<bool>,
    staff: Option<&str>,
) -> [u8; 16] {
    // Each slot is absent (0) or present (1, length, bytes): no two combinations share an input.
    let mut input = Vec::with_capacity(64);
    let test = test.map(|t| if t { "yes" } else { "no" });
    for slot in [Some(crate::audit::code(&kind).as_str()), decision, test, staff] {
        match slot {
            None => input.push(0),
            Some(text) => {
                input.push(1);
                input.extend_from_slice(&(text.len() as u64).to_be_bytes());
                input.extend_from_slice(text.as_bytes());
            }
        }
    }
    truncate(index.lookup_key(FACET_PURPOSE, &input))
}

fn day_key(index: &IndexKey, day: Date) -> [u8; 16] {
    truncate(index.lookup_key(DAY_PURPOSE, &day.to_julian_day().to_be_bytes()))
}

/// 128 bits of HMAC: collisions are out of reach, and the tables are half the size.
fn truncate(mac: [u8; 32]) -> [u8; 16] {
    let mut key = [0; 16];
    key.copy_from_slice(&mac[..16]);
    key
}

fn creation_day(created: OffsetDateTime) -> Date {
    created.to_offset(time::UtcOffset::UTC).date()
}

/// Every facet key `summary` is found under (its kind with each subset of the other facets).
fn facet_keys(index: &IndexKey, summary: &CaseSummary) -> Vec<[u8; 16]> {
    let decisions: &[Option<&str>] = match &summary.decision {
        Some(decision) => &[None, Some(decision.as_str())],
        None => &[None],
    };
    let mut keys = Vec::with_capacity(8);
    for decision in decisions {
        for test in [None, Some(summary.test)] {
            for staff in [None, Some(summary.author.as_str())] {
                keys.push(facet_key(index, summary.kind, *decision, test, staff));
            }
        }
    }
    keys
}

/// Indexes a new case, number `seq` in creation order, in the transaction that creates it.
pub(super) fn add_case(
    tx: &WriteTransaction,
    p: &Path,
    index: &IndexKey,
    key: &StoreKey,
    seq: u64,
    summary: &CaseSummary,
) -> Result<(), StoreError> {
    let mut facets = tx.open_table(FACETS).at(p)?;
    for facet in facet_keys(index, summary) {
        facets.insert((facet, seq), ()).at(p)?;
    }
    let mut days = tx.open_table(DAYS).at(p)?;
    let day = day_key(index, creation_day(summary.created));
    let bounds = days.get(day).at(p)?.map(|v| v.value());
    let (first, last) = bounds.map_or((seq, seq), |(first, last)| (first.min(seq), last.max(seq)));
    days.insert(day, (first, last)).at(p)?;
    seal_summary(tx, p, key, seq, summary)
}

/// Re-indexes a case after a revision: its summary is replaced, and when a facet changed (a
/// correction of the decision, say) its old facet entries are removed before the new ones are
/// added, so no filter finds it under a value it no longer has.
pub(super) fn update_case(
    tx: &WriteTransaction,
    p: &Path,
    index: &IndexKey,
    key: &StoreKey,
    summary: &CaseSummary,
) -> Result<(), StoreError> {
    let old = read_summary(&tx.open_table(SUMMARIES).at(p)?, p, key, summary.id)?.ok_or_else(|| {
        StoreError::Format(format!(
            "case {} has no entry in the case-log index; restart the daemon to rebuild the index",
            summary.id
        ))
    })?;
    let seq = old.seq;
    let (before, after) = (facet_keys(index, &old.summary()), facet_keys(index, summary));
    if before != after {
        let mut facets = tx.open_table(FACETS).at(p)?;
        for facet in before.iter().filter(|f| !after.contains(f)) {
            facets.remove((*facet, seq)).at(p)?;
        }
        for facet in after.iter().filter(|f| !before.contains(f)) {
            facets.insert((*facet, seq), ()).at(p)?;
        }
    }
    seal_summary(tx, p, key, seq, summary)
}

fn seal_summary(
    tx: &WriteTransaction,
    p: &Path,
    key: &StoreKey,
    seq: u64,
    summary: &CaseSummary,
) -> Result<(), StoreError> {
    let plaintext = zeroize::Zeroizing::new(
        serde_json::to_vec(&Indexed::of(seq, summary)).map_err(|e| StoreError::Format(e.to_string()))?,
    );
    tx.open_table(SUMMARIES).at(p)?.insert(summary.id.0, key.seal(&plaintext)?.as_slice()).at(p)?;
    Ok(())
}

fn read_summary(
    summaries: &impl ReadableTable<[u8; 16], &'static [u8]>,
    p: &Path,
    key: &StoreKey,
    id: CaseId,
) -> Result<Option<Indexed>, StoreError> {
    let Some(sealed) = summaries.get(id.0).at(p)? else { return Ok(None) };
    let indexed: Indexed = decode_json(&key.open(sealed.value())?)?;
    // A summary copied under another case's ID is refused, as a moved revision is.
    if indexed.id != id {
        return Err(StoreError::Misplaced { case: id, number: 0 });
    }
    Ok(Some(indexed))
}

/// The summary of case `id`, if the case exists (one small value decrypted).
pub(super) fn summary(
    tx: &redb::ReadTransaction,
    p: &Path,
    key: &StoreKey,
    id: CaseId,
) -> Result<Option<CaseSummary>, StoreError> {
    Ok(read_summary(&tx.open_table(SUMMARIES).at(p)?, p, key, id)?.map(Indexed::summary))
}

/// When case `id` was created, read from its summary.
pub(super) fn created(
    tx: &WriteTransaction,
    p: &Path,
    key: &StoreKey,
    id: CaseId,
) -> Result<OffsetDateTime, StoreError> {
    let indexed = read_summary(&tx.open_table(SUMMARIES).at(p)?, p, key, id)?;
    Ok(indexed.ok_or(StoreError::UnknownCase(id))?.created)
}

/// Rebuilds the whole index from the revisions, in the caller's transaction; returns how many
/// cases it holds. Used once, when a store without the index is opened.
pub(super) fn rebuild(
    tx: &WriteTransaction,
    p: &Path,
    index: &IndexKey,
    key: &StoreKey,
) -> Result<u64, StoreError> {
    tx.delete_table(SUMMARIES).at(p)?;
    tx.delete_table(FACETS).at(p)?;
    tx.delete_table(DAYS).at(p)?;
    let cases: Vec<(u64, CaseId)> = {
        let table = tx.open_table(CASES).at(p)?;
        let rows = table.iter().at(p)?.map(|row| row.map(|(seq, id)| (seq.value(), CaseId(id.value()))));
        rows.collect::<Result<_, _>>().at(p)?
    };
    for chunk in cases.chunks(REBUILD_CHUNK) {
        let mut sealed = Vec::new();
        let mut counts = Vec::with_capacity(chunk.len());
        {
            let revisions = tx.open_table(REVISIONS).at(p)?;
            for (_, id) in chunk {
                let before = sealed.len();
                for row in revisions.range((id.0, 0)..=(id.0, u32::MAX)).at(p)? {
                    sealed.push(row.at(p)?.1.value().to_vec());
                }
                counts.push(sealed.len() - before);
            }
        }
        let mut opened = open_many::<Revision>(key, &sealed)?.into_iter();
        for ((seq, id), count) in chunk.iter().zip(counts) {
            let case: Vec<Revision> = opened.by_ref().take(count).collect();
            if case.iter().any(|r| r.case != *id) {
                return Err(StoreError::Misplaced { case: *id, number: 0 });
            }
            let summary = CaseSummary::of(*id, &case).ok_or(StoreError::UnknownCase(*id))?;
            add_case(tx, p, index, key, *seq, &summary)?;
        }
    }
    // Created even when there are no cases, so that readers find them.
    tx.open_table(SUMMARIES).at(p)?;
    tx.open_table(FACETS).at(p)?;
    tx.open_table(DAYS).at(p)?;
    Ok(cases.len() as u64)
}

/// The page of the case log `filter` asks for, among the cases of `kinds` (those the viewer
/// may read), and whether there is a next page. Decrypts only the summaries on the page (and,
/// with a day range, the first and last case's, to bound the days probed).
pub(super) fn page(
    tx: &redb::ReadTransaction,
    p: &Path,
    index: &IndexKey,
    key: &StoreKey,
    filter: &Filter,
    kinds: &[CaseKind],
) -> Result<(Vec<CaseSummary>, bool), StoreError> {
    let kinds: Vec<CaseKind> =
        kinds.iter().copied().filter(|k| filter.kind.is_none_or(|f| f == *k)).collect();
    // Checked: a page past the end (however far) is simply empty, never an overflow.
    let Some(skip) = filter.page.saturating_sub(1).checked_mul(PER_PAGE) else {
        return Ok((Vec::new(), false));
    };
    let cases = tx.open_table(CASES).at(p)?;
    let summaries = tx.open_table(SUMMARIES).at(p)?;
    let Some((low, high)) = creation_range(tx, p, index, key, &cases, &summaries, filter)? else {
        return Ok((Vec::new(), false));
    };
    let facets = tx.open_table(FACETS).at(p)?;
    let mut ranges = Vec::with_capacity(kinds.len());
    for kind in &kinds {
        let facet = facet_key(index, *kind, filter.decision.as_deref(), filter.test, filter.staff.as_deref());
        let range = facets.range((facet, low)..=(facet, high)).at(p)?;
        let range: Box<dyn Iterator<Item = _>> =
            if filter.oldest_first { Box::new(range) } else { Box::new(range.rev()) };
        ranges.push(range.map(|row| row.map(|(k, _)| k.value().1)));
    }
    let mut merged = Merge::new(ranges, filter.oldest_first);
    for _ in 0..skip {
        if merged.next(p)?.is_none() {
            return Ok((Vec::new(), false));
        }
    }
    let mut seqs = Vec::with_capacity(PER_PAGE);
    while seqs.len() < PER_PAGE {
        match merged.next(p)? {
            Some(seq) => seqs.push(seq),
            None => break,
        }
    }
    let more = merged.next(p)?.is_some();
    let mut ids = Vec::with_capacity(seqs.len());
    let mut sealed = Vec::with_capacity(seqs.len());
    for seq in &seqs {
        let id = cases.get(seq).at(p)?.map(|v| CaseId(v.value())).ok_or_else(|| stale(*seq))?;
        let value = summaries.get(id.0).at(p)?.ok_or_else(|| stale(*seq))?;
        ids.push(id);
        sealed.push(value.value().to_vec());
    }
    let opened = open_many::<Indexed>(key, &sealed)?;
    let mut page = Vec::with_capacity(opened.len());
    for ((indexed, id), seq) in opened.into_iter().zip(ids).zip(seqs) {
        if indexed.id != id || indexed.seq != seq {
            return Err(StoreError::Misplaced { case: id, number: 0 });
        }
        page.push(indexed.summary());
    }
    Ok((page, more))
}

fn stale(seq: u64) -> StoreError {
    StoreError::Format(format!(
        "the case-log index names case number {seq}, which the store does not hold; restart the daemon \
         to rebuild the index"
    ))
}

/// The creation numbers the filter's day range spans (everything without one); `None` when no
/// case was created in it. Days are probed one by one from each end, within the days between
/// the first and the last case, so a wide range costs at most one lookup per day of the store.
fn creation_range(
    tx: &redb::ReadTransaction,
    p: &Path,
    index: &IndexKey,
    key: &StoreKey,
    cases: &impl ReadableTable<u64, [u8; 16]>,
    summaries: &impl ReadableTable<[u8; 16], &'static [u8]>,
    filter: &Filter,
) -> Result<Option<(u64, u64)>, StoreError> {
    if filter.from.is_none() && filter.to.is_none() {
        return Ok(Some((0, u64::MAX)));
    }
    let created = |row: Option<(redb::AccessGuard<'_, u64>, redb::AccessGuard<'_, [u8; 16]>)>| {
        let Some((_, id)) = row else { return Ok(None) };
        let id = CaseId(id.value());
        read_summary(summaries, p, key, id)?
            .map(|s| creation_day(s.created))
            .ok_or_else(|| stale(0))
            .map(Some)
    };
    let (Some(first), Some(last)) = (created(cases.first().at(p)?)?, created(cases.last().at(p)?)?) else {
        return Ok(None);
    };
    let from = filter.from.map_or(first, |from| from.max(first));
    let to = filter.to.map_or(last, |to| to.min(last));
    let days = tx.open_table(DAYS).at(p)?;
    let bounds = |day: Date| -> Result<Option<(u64, u64)>, StoreError> {
        Ok(days.get(day_key(index, day)).at(p)?.map(|v| v.value()))
    };
    let mut day = from;
    let low = loop {
        if day > to {
            return Ok(None);
        }
        if let Some((first, _)) = bounds(day)? {
            break first;
        }
        let Some(next) = day.next_day() else { return Ok(None) };
        day = next;
    };
    let low_day = day;
    let mut day = to;
    let high = loop {
        if let Some((_, last)) = bounds(day)? {
            break last;
        }
        // The low day has an entry, so this stops there at the latest.
        match day.previous_day() {
            Some(previous) if previous >= low_day => day = previous,
            _ => return Ok(None),
        }
    };
    Ok(Some((low, high)))
}

/// Merges per-kind ranges of creation numbers, each already in the page's order.
struct Merge<I> {
    ranges: Vec<I>,
    heads: Vec<Option<u64>>,
    started: bool,
    oldest_first: bool,
}

impl<I: Iterator<Item = Result<u64, redb::StorageError>>> Merge<I> {
    fn new(ranges: Vec<I>, oldest_first: bool) -> Self {
        let heads = vec![None; ranges.len()];
        Merge { ranges, heads, started: false, oldest_first }
    }

    fn next(&mut self, p: &Path) -> Result<Option<u64>, StoreError> {
        if !self.started {
            self.started = true;
            for (head, range) in self.heads.iter_mut().zip(&mut self.ranges) {
                *head = range.next().transpose().at(p)?;
            }
        }
        let pick = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| head.map(|seq| (i, seq)))
            .reduce(|a, b| if (b.1 < a.1) == self.oldest_first { b } else { a });
        let Some((i, seq)) = pick else { return Ok(None) };
        self.heads[i] = self.ranges[i].next().transpose().at(p)?;
        Ok(Some(seq))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use redb::ReadableDatabase;
    use time::macros::datetime;

    use super::*;
    use crate::audit::{Action, Actor, AuditEntry, Outcome};
    use crate::store::crypt::AgeIdentity;
    use crate::store::{META, Store, StoreKeys};

    const INDEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("takedown-case-index-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn keys(identity: &AgeIdentity) -> StoreKeys {
        StoreKeys::new(identity.clone(), &[], IndexKey::parse(INDEX_KEY.as_bytes()).unwrap())
    }

    fn audited<T>(
        store: &Store,
        work: impl FnOnce(&mut super::super::Batch<'_>) -> Result<T, StoreError>,
    ) -> T {
        store
            .commit(|batch| {
                let value = work(batch)?;
                batch.audit(&AuditEntry::now(
                    Actor::System,
                    Action::CreateCase,
                    None,
                    Outcome::Done,
                    "test",
                ))?;
                Ok(value)
            })
            .unwrap()
    }

    fn dmca(decision: &str, test: bool, title: &str) -> serde_json::Value {
        serde_json::json!({"dmca": {"decision": decision, "test": test, "wmf_title": title}})
    }

    /// 3 kinds x 3 staff x decisions x test flags, over 9 days (several cases a day, some days
    /// without any), some corrected after creation.
    fn varied_store(store: &Store) {
        let decisions = ["granted", "denied", "partially-granted"];
        let staff = ["ann", "bob", "cat"];
        let start = datetime!(2026-03-01 10:00 UTC);
        audited(store, |batch| {
            for i in 0..131u32 {
                // Days 0, 1, 3, 4, 6, 7: every third day has no case.
                let day = i64::from(i / 22 + i / 44);
                let at = start + time::Duration::days(day) + time::Duration::seconds(i64::from(i));
                let kind = CaseKind::ALL[(i % 3) as usize];
                let payload = match kind {
                    CaseKind::Dmca => dmca(decisions[(i % 7 % 3) as usize], i % 4 == 0, &format!("case {i}")),
                    CaseKind::ChildProtection => serde_json::json!({}),
                    CaseKind::Log => serde_json::json!({"note": i}),
                };
                let id = batch.create_case_at(kind, staff[(i % 5 % 3) as usize], payload, at)?;
                if kind == CaseKind::Dmca && i % 5 == 0 {
                    batch.revise_case(id, Change::Correction, "ann", dmca("denied", i % 2 == 0, "fixed"))?;
                }
            }
            Ok(())
        });
    }

    /// What the list showed before the index: every case summed up from its revisions (`all`),
    /// the viewer's kinds kept, then [`Filter::select`].
    fn expected(all: &[CaseSummary], filter: &Filter, kinds: &[CaseKind]) -> (Vec<CaseSummary>, bool) {
        filter.select(all.iter().filter(|s| kinds.contains(&s.kind)).cloned().collect())
    }

    fn open(dir: &Path, identity: &AgeIdentity) -> Store {
        Store::open(dir, keys(identity), 1000).unwrap()
    }

    /// A new store (in its scratch directory, with its identity) holding [`varied_store`].
    fn with_varied_cases(name: &str) -> (Scratch, AgeIdentity, Store) {
        let dir = Scratch::new(name);
        let identity = AgeIdentity::generate();
        let store = open(&dir.0, &identity);
        varied_store(&store);
        (dir, identity, store)
    }

    #[test]
    fn every_filter_for_every_viewer_pages_as_the_filter_over_all_cases_does() {
        let (_dir, _, store) = with_varied_cases("filters");
        let cases = store.cases(&store.case_ids().unwrap()).unwrap();
        let all: Vec<CaseSummary> =
            cases.iter().filter_map(|(id, revisions)| CaseSummary::of(*id, revisions)).collect();
        let day = |d: u8| Date::from_calendar_date(2026, time::Month::March, d).unwrap();
        let mut filters = Vec::new();
        for kind in [None, Some(CaseKind::Dmca), Some(CaseKind::Log)] {
            for decision in [None, Some("denied"), Some("granted")] {
                for test in [None, Some(true), Some(false)] {
                    for staff in [None, Some("bob")] {
                        let base = Filter {
                            kind,
                            decision: decision.map(str::to_owned),
                            test,
                            staff: staff.map(str::to_owned),
                            page: 1,
                            ..Filter::default()
                        };
                        filters.push(base.clone());
                        filters.push(Filter { from: Some(day(2)), to: Some(day(5)), ..base });
                    }
                }
            }
        }
        // Days: bounded on one side, with empty days at either end, none at all, outside the store.
        for (from, to) in [(Some(3), None), (None, Some(2)), (Some(3), Some(3)), (Some(9), Some(20))] {
            filters.push(Filter { from: from.map(day), to: to.map(day), page: 1, ..Filter::default() });
        }
        filters.push(Filter { from: Some(day(5)), to: Some(day(3)), page: 1, ..Filter::default() });
        let viewers: [&[CaseKind]; 4] =
            [&CaseKind::ALL, &[CaseKind::Dmca, CaseKind::Log], &[CaseKind::ChildProtection], &[]];
        let mut checked = 0;
        for filter in filters {
            for oldest_first in [false, true] {
                for page in [1, 3, 4] {
                    let filter = Filter { oldest_first, page, ..filter.clone() };
                    for kinds in viewers {
                        let (want, want_more) = expected(&all, &filter, kinds);
                        let (got, more) = store.case_page(&filter, kinds).unwrap();
                        assert_eq!(got, want, "{filter:?} for {kinds:?}");
                        assert_eq!(more, want_more, "{filter:?} for {kinds:?}");
                        checked += usize::from(!got.is_empty());
                    }
                }
            }
        }
        assert!(checked > 300, "most pages hold cases ({checked})");
        let far = Filter { page: crate::case_log::MAX_PAGE, ..Filter::default() };
        assert_eq!(store.case_page(&far, &CaseKind::ALL).unwrap(), (Vec::new(), false));
    }

    #[test]
    fn a_correction_moves_the_case_to_its_new_facets_and_leaves_no_stale_hit() {
        let dir = Scratch::new("correction");
        let identity = AgeIdentity::generate();
        let store = open(&dir.0, &identity);
        let id =
            audited(&store, |batch| batch.create_case(CaseKind::Dmca, "ann", dmca("granted", false, "A")));
        let find = |decision: &str, test: bool| {
            let filter =
                Filter { decision: Some(decision.into()), test: Some(test), page: 1, ..Filter::default() };
            store.case_page(&filter, &CaseKind::ALL).unwrap().0.iter().map(|s| s.id).collect::<Vec<_>>()
        };
        assert_eq!(find("granted", false), [id]);
        audited(&store, |batch| batch.revise_case(id, Change::Correction, "bob", dmca("denied", true, "B")));
        assert_eq!(find("granted", false), [], "the old decision and flag no longer find it");
        assert_eq!(find("denied", true), [id]);
        // A note (no workflow data) keeps the corrected values; the author stays the creator.
        audited(&store, |batch| batch.revise_case(id, Change::Note, "cat", serde_json::json!({"note": "x"})));
        let summary = store.case_summary(id).unwrap().unwrap();
        assert_eq!((summary.revisions, summary.title.as_str(), summary.author.as_str()), (3, "B", "ann"));
        assert_eq!(find("denied", true), [id]);
        let by = |staff: &str| Filter { staff: Some(staff.into()), page: 1, ..Filter::default() };
        assert_eq!(store.case_page(&by("ann"), &CaseKind::ALL).unwrap().0.len(), 1);
        assert_eq!(store.case_page(&by("bob"), &CaseKind::ALL).unwrap().0.len(), 0);
        assert_eq!(store.case_summary(CaseId::generate()).unwrap(), None);
    }

    /// Every row of the index tables (summaries, decrypted; facets; days).
    type Rows = (BTreeMap<[u8; 16], String>, Vec<([u8; 16], u64)>, Vec<([u8; 16], (u64, u64))>);

    fn snapshot(store: &Store) -> Rows {
        let tx = store.db.begin_read().unwrap();
        let mut summaries = BTreeMap::new();
        for row in tx.open_table(SUMMARIES).unwrap().iter().unwrap() {
            let (id, sealed) = row.unwrap();
            let plain = store.key.open(sealed.value()).unwrap();
            summaries.insert(id.value(), String::from_utf8(plain.to_vec()).unwrap());
        }
        let facets = tx.open_table(FACETS).unwrap().iter().unwrap().map(|r| r.unwrap().0.value()).collect();
        let days = tx.open_table(DAYS).unwrap();
        let days = days.iter().unwrap().map(|r| r.map(|(k, v)| (k.value(), v.value())).unwrap()).collect();
        (summaries, facets, days)
    }

    #[test]
    fn a_rebuilt_index_equals_the_maintained_one_and_a_layout_3_store_gets_it_on_open() {
        let (dir, identity, store) = with_varied_cases("rebuild");
        let maintained = snapshot(&store);
        assert_eq!(maintained.0.len(), 131);
        let p = store.path.clone();
        let tx = store.db.begin_write().unwrap();
        assert_eq!(rebuild(&tx, &p, &store.keys.index, &store.key).unwrap(), 131);
        tx.commit().unwrap();
        assert!(snapshot(&store) == maintained, "the rebuilt index differs from the maintained one");

        // Layout 3: the same store without the index tables.
        let entries = store.audit_entries(None).unwrap().len();
        let tx = store.db.begin_write().unwrap();
        assert!(tx.delete_table(SUMMARIES).unwrap() && tx.delete_table(FACETS).unwrap());
        assert!(tx.delete_table(DAYS).unwrap());
        tx.open_table(META).unwrap().insert("schema", 3u32.to_be_bytes().as_slice()).unwrap();
        tx.commit().unwrap();
        drop(store);
        crate::store::verify(&dir.0, None).expect("keyless tools read layout 3 as it is");
        let store = open(&dir.0, &identity);
        assert!(snapshot(&store) == maintained, "the index built on open differs from the maintained one");
        let log = store.audit_entries(None).unwrap();
        assert_eq!(log.len(), entries + 1);
        let upgrade = &log.last().unwrap().2;
        assert_eq!(upgrade.action, Action::UpgradeStore);
        assert!(upgrade.details.contains("index was built from the 131 case(s)"), "{}", upgrade.details);
        drop(store);
        assert_eq!(crate::store::verify(&dir.0, None).unwrap().entries as usize, entries + 1);
        let store = open(&dir.0, &identity);
        assert_eq!(store.audit_entries(None).unwrap().len(), entries + 1, "built once");
    }

    #[test]
    fn nothing_in_the_index_tables_is_found_or_read_without_the_index_key() {
        let dir = Scratch::new("opaque");
        let identity = AgeIdentity::generate();
        let store = open(&dir.0, &identity);
        let login = "sentinel-login-7f3a";
        audited(&store, |batch| {
            batch.create_case(CaseKind::Dmca, login, dmca("granted", true, "sentinel-title"))
        });
        let right = IndexKey::parse(INDEX_KEY.as_bytes()).unwrap();
        let other = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        let facet = |key: &IndexKey| facet_key(key, CaseKind::Dmca, None, None, Some(login));
        let (_, facets, days) = snapshot(&store);
        let keys: Vec<[u8; 16]> =
            facets.iter().map(|(k, _)| *k).chain(days.iter().map(|(k, _)| *k)).collect();
        assert!(keys.contains(&facet(&right)), "the index key finds the login");
        assert!(!keys.contains(&facet(&other)), "another key does not");
        // Hashing the login (alone or as the facet input) without the key finds nothing either.
        for guess in [
            login.as_bytes().to_vec(),
            [&[1u8][..], &(login.len() as u64).to_be_bytes(), login.as_bytes()].concat(),
        ] {
            let digest = crate::audit::chain::sha256(&guess);
            assert!(!keys.iter().any(|k| digest.starts_with(k)), "an unkeyed hash found the login");
        }
        let file = std::fs::read(dir.0.join(crate::store::FILE_NAME)).unwrap();
        for clear in [login.as_bytes(), b"sentinel-title", b"granted"] {
            assert!(memchr_find(&file, clear).is_none(), "{} is in clear", String::from_utf8_lossy(clear));
        }
    }

    fn memchr_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }
}
