//! Refused requests in the audit log without letting them flood it: per certificate, reason and
//! route, the first refusal of each minute is written as it happens and the rest are counted;
//! the count (with the first and last time) is written once the minute closes: with the next
//! refusal, whoever makes it, or by the server's timer ([`Refusals::flush`], every
//! [`FLUSH_EVERY`]), and every count still open when the server stops. Any CA-valid certificate
//! can be refused in a loop, and each entry is a durable commit on the one writer that staff's
//! recordings also need.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::audit::Actor;

/// How long one window lasts: at most one entry per certificate, reason and route in it.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How much of a refused request's path an entry quotes, in characters.
pub const MAX_QUOTED_PATH: usize = 200;

/// How often the server writes the counts of windows whose minute has closed, so that a count
/// waits at most this long after its minute even when no refusal follows.
pub const FLUSH_EVERY: Duration = Duration::from_secs(15);

/// Most windows open at once (distinct certificate, reason and route); refusals beyond them are
/// only counted, and the count is said in the next entry written.
const MAX_WINDOWS: usize = 4096;

/// Whose refusal, why, and on which route (its pattern).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefusalKey {
    /// The certificate's holder, or its fingerprint when it is not on the roster.
    pub actor: Actor,
    /// The reason's code ([`HttpError::denial_code`](super::error::HttpError::denial_code)).
    pub reason: &'static str,
    /// The route's pattern.
    pub route: &'static str,
}

/// Refusals counted in a window after its first entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// When the first of them was refused.
    pub first: OffsetDateTime,
    /// When the last of them was refused.
    pub last: OffsetDateTime,
}

/// What to write for one refusal.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Write this refusal's own entry (the first of its window).
    pub write: bool,
    /// Closed windows whose counted refusals are to be written now, each under its key.
    pub closed: Vec<(RefusalKey, Tally)>,
    /// Refusals counted while every window was taken, to be said in the next entry written.
    pub unitemised: u64,
}

struct Window {
    opened: Instant,
    tally: Option<Tally>,
}

#[derive(Default)]
struct Windows {
    open: HashMap<RefusalKey, Window>,
    unitemised: u64,
}

/// The windows of recent refusals.
#[derive(Default)]
pub struct Refusals {
    windows: Mutex<Windows>,
}

impl Refusals {
    /// Notes a refusal under `key` at `now` (`at` in wall-clock time) and says what to write.
    pub fn note(&self, key: RefusalKey, now: Instant, at: OffsetDateTime) -> Decision {
        let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let windows = &mut *guard;
        // Close every window that has run its minute, this key's included.
        let mut decision = Decision { closed: windows.close(now, false), ..Decision::default() };
        let full = windows.open.len() >= MAX_WINDOWS;
        match windows.open.get_mut(&key) {
            Some(window) => {
                let tally = window.tally.get_or_insert(Tally { count: 0, first: at, last: at });
                tally.count = tally.count.saturating_add(1);
                tally.last = at;
            }
            None if full => windows.unitemised = windows.unitemised.saturating_add(1),
            None => {
                windows.open.insert(key, Window { opened: now, tally: None });
                decision.write = true;
            }
        }
        if decision.write || !decision.closed.is_empty() {
            decision.unitemised = std::mem::take(&mut windows.unitemised);
        }
        decision
    }
}

impl Refusals {
    /// Closes the windows whose minute has run by `now` (every window when `all`, as the server
    /// stops) and says what to write: their counts, and the refusals counted while every window
    /// was taken. Nothing is written for a window that counted nothing after its first entry.
    pub fn flush(&self, now: Instant, all: bool) -> Decision {
        let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let closed = guard.close(now, all);
        Decision { write: false, closed, unitemised: std::mem::take(&mut guard.unitemised) }
    }
}

impl Windows {
    /// Removes the windows whose minute has run by `now` (every one when `all`), returning
    /// those that counted refusals, with their counts.
    fn close(&mut self, now: Instant, all: bool) -> Vec<(RefusalKey, Tally)> {
        let expired: Vec<RefusalKey> = self
            .open
            .iter()
            .filter(|(_, w)| all || now.saturating_duration_since(w.opened) >= WINDOW)
            .map(|(k, _)| k.clone())
            .collect();
        let mut closed = Vec::new();
        for key in expired {
            if let Some(Window { tally: Some(tally), .. }) = self.open.remove(&key) {
                closed.push((key, tally));
            }
        }
        closed
    }
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn quote(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(who: &str) -> RefusalKey {
        RefusalKey { actor: Actor::Unrostered(who.to_owned()), reason: "unrostered", route: "(no route)" }
    }

    #[test]
    fn one_entry_per_window_and_the_count_comes_with_the_next_refusal_after_it() {
        let refusals = Refusals::default();
        let start = Instant::now();
        let at = OffsetDateTime::UNIX_EPOCH;
        assert!(refusals.note(key("a"), start, at).write);
        for i in 1..=99 {
            let decision = refusals.note(key("a"), start + Duration::from_millis(i), at);
            assert_eq!(decision, Decision::default(), "refusal {i}");
        }
        // Another certificate has its own window.
        assert!(refusals.note(key("b"), start, at).write);
        // After the minute: a new entry, and the closed windows' counts (only `a` counted any).
        let later = refusals.note(key("b"), start + WINDOW, at);
        assert!(later.write);
        assert_eq!(later.closed.len(), 1);
        assert_eq!(later.closed[0].0, key("a"));
        assert_eq!(later.closed[0].1.count, 99);
    }

    #[test]
    fn beyond_the_open_windows_refusals_are_counted_and_said_later() {
        let refusals = Refusals::default();
        let start = Instant::now();
        let at = OffsetDateTime::UNIX_EPOCH;
        for i in 0..MAX_WINDOWS {
            assert!(refusals.note(key(&i.to_string()), start, at).write);
        }
        assert_eq!(refusals.note(key("late"), start, at), Decision::default());
        let next = refusals.note(key("later"), start + WINDOW, at);
        assert!(next.write && next.unitemised == 1, "{next:?}");
    }

    #[test]
    fn a_flush_writes_closed_windows_without_a_later_refusal_and_every_count_at_shutdown() {
        let refusals = Refusals::default();
        let start = Instant::now();
        let at = OffsetDateTime::UNIX_EPOCH;
        let counted = |count| Tally { count, first: at, last: at };
        for who in ["a", "b"] {
            assert!(refusals.note(key(who), start, at).write);
            assert_eq!(refusals.note(key(who), start + Duration::from_millis(1), at), Decision::default());
        }
        // Within the minute the timer finds nothing to write.
        assert_eq!(refusals.flush(start + WINDOW / 2, false), Decision::default());
        // After it, no later refusal needed: both counts are written, once.
        let mut flushed = refusals.flush(start + WINDOW, false);
        flushed.closed.sort_by(|x, y| format!("{:?}", x.0).cmp(&format!("{:?}", y.0)));
        assert_eq!(flushed.closed, [(key("a"), counted(1)), (key("b"), counted(1))]);
        assert!(!flushed.write);
        assert_eq!(refusals.flush(start + WINDOW * 2, false), Decision::default());
        // At shutdown, a window still in its minute gives its count too.
        let later = start + WINDOW * 3;
        assert!(refusals.note(key("c"), later, at).write);
        for i in 1..=5 {
            refusals.note(key("c"), later + Duration::from_millis(i), at);
        }
        let last = refusals.flush(later + Duration::from_secs(1), true);
        assert_eq!(last.closed, [(key("c"), counted(5))]);
        assert_eq!(refusals.flush(later + Duration::from_secs(2), true), Decision::default());
    }

    #[test]
    fn refusals_counted_while_every_window_was_taken_are_said_by_a_flush() {
        let refusals = Refusals::default();
        let start = Instant::now();
        let at = OffsetDateTime::UNIX_EPOCH;
        for i in 0..MAX_WINDOWS {
            assert!(refusals.note(key(&i.to_string()), start, at).write);
        }
        assert_eq!(refusals.note(key("late"), start, at), Decision::default());
        assert_eq!(refusals.flush(start + WINDOW, false).unitemised, 1);
    }

    #[test]
    fn quotes_are_cut_at_a_character_boundary() {
        assert_eq!(quote("abc", 5), "abc");
        assert_eq!(quote("ééééé", 2), "éé…");
    }
}
