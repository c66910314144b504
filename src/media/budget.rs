//! The memory budget for media, shared by all requests.
//!
//! A request reserves the size it announces (`Content-Length`) before a byte of its body is
//! read; the reservation is returned when the upload is dropped. The budget is sized by the
//! operator (`hardening.media_budget_mib`) to fit the locked-memory limit (`LimitMEMLOCK`).
//!
//! DMCA supporting documents may be held for an hour while a form is corrected or a step
//! retried, so they may take at most half of the budget ([`MediaBudget::reserve_documents`]):
//! the other half stays for the images of child-protection reports, which no number of held
//! documents can block.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How much media may be held at once, and how much is.
#[derive(Debug)]
pub struct MediaBudget {
    limit: usize,
    in_use: AtomicUsize,
    documents_limit: usize,
    documents_in_use: AtomicUsize,
}

/// Why a reservation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BudgetRefusal {
    /// The request is larger than the whole budget: it can never be accepted.
    #[error("{requested} bytes is more than the whole media budget of {limit} bytes")]
    TooLarge {
        /// What was asked for.
        requested: usize,
        /// The whole budget.
        limit: usize,
    },
    /// Other uploads hold too much of the budget right now.
    #[error("{requested} bytes do not fit: {free} of {limit} bytes of the media budget are free")]
    Busy {
        /// What was asked for.
        requested: usize,
        /// What is free now.
        free: usize,
        /// The whole budget.
        limit: usize,
    },
}

impl MediaBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            in_use: AtomicUsize::new(0),
            // Half, rounded down: the rest is kept for images.
            documents_limit: limit / 2,
            documents_in_use: AtomicUsize::new(0),
        })
    }

    /// The whole budget, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    /// Reserves `bytes` of the whole budget (images, and anything but DMCA documents), or
    /// says why not; never waits.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, BudgetRefusal> {
        take(&self.in_use, self.limit, bytes)?;
        Ok(Reservation { budget: self.clone(), bytes, documents: false })
    }

    /// Reserves `bytes` for DMCA documents: within their half of the budget, and within what
    /// is free of the whole. Never waits.
    pub fn reserve_documents(self: &Arc<Self>, bytes: usize) -> Result<Reservation, BudgetRefusal> {
        take(&self.documents_in_use, self.documents_limit, bytes)?;
        if let Err(refusal) = take(&self.in_use, self.limit, bytes) {
            self.documents_in_use.fetch_sub(bytes, Ordering::AcqRel);
            return Err(refusal);
        }
        Ok(Reservation { budget: self.clone(), bytes, documents: true })
    }
}

/// Adds `bytes` to `in_use` if the sum stays within `limit`.
fn take(in_use: &AtomicUsize, limit: usize, bytes: usize) -> Result<(), BudgetRefusal> {
    if bytes > limit {
        return Err(BudgetRefusal::TooLarge { requested: bytes, limit });
    }
    let mut current = in_use.load(Ordering::Acquire);
    loop {
        let free = limit.saturating_sub(current);
        if bytes > free {
            return Err(BudgetRefusal::Busy { requested: bytes, free, limit });
        }
        match in_use.compare_exchange_weak(current, current + bytes, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(()),
            Err(actual) => current = actual,
        }
    }
}

/// Bytes of the budget held until this is dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MediaBudget>,
    bytes: usize,
    documents: bool,
}

impl Reservation {
    /// How many bytes are held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
        if self.documents {
            self.budget.documents_in_use.fetch_sub(self.bytes, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_return_it_when_dropped() {
        let budget = MediaBudget::new(100);
        let first = budget.reserve(60).unwrap();
        assert_eq!(
            budget.reserve(41).unwrap_err(),
            BudgetRefusal::Busy { requested: 41, free: 40, limit: 100 }
        );
        let second = budget.reserve(40).unwrap();
        assert_eq!(budget.in_use(), 100);
        drop(first);
        assert_eq!(budget.in_use(), 40);
        drop(second);
        assert_eq!(budget.in_use(), 0);
        assert!(budget.reserve(100).is_ok());
    }

    #[test]
    fn documents_take_at_most_half_and_images_always_have_the_other_half() {
        let budget = MediaBudget::new(100);
        assert_eq!(
            budget.reserve_documents(51).unwrap_err(),
            BudgetRefusal::TooLarge { requested: 51, limit: 50 }
        );
        let documents = budget.reserve_documents(30).unwrap();
        let more = budget.reserve_documents(20).unwrap();
        assert_eq!(
            budget.reserve_documents(1).unwrap_err(),
            BudgetRefusal::Busy { requested: 1, free: 0, limit: 50 },
            "the documents' half is exhausted"
        );
        let images = budget.reserve(50).expect("the images' half is free");
        drop(images);
        // Images may use the documents' half too, when it is free; documents then wait.
        drop((documents, more));
        let images = budget.reserve(80).unwrap();
        assert_eq!(
            budget.reserve_documents(30).unwrap_err(),
            BudgetRefusal::Busy { requested: 30, free: 20, limit: 100 }
        );
        assert_eq!(budget.in_use(), 80, "a refused document reservation holds nothing");
        drop(images);
        assert_eq!(budget.in_use(), 0);
        let documents = budget.reserve_documents(50).unwrap();
        drop(documents);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_request_larger_than_the_whole_budget_is_never_accepted() {
        let budget = MediaBudget::new(100);
        assert_eq!(budget.reserve(101).unwrap_err(), BudgetRefusal::TooLarge { requested: 101, limit: 100 });
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_limit() {
        let budget = MediaBudget::new(1000);
        let peak = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..2000 {
                        if let Ok(held) = budget.reserve(300) {
                            peak.fetch_max(budget.in_use(), Ordering::AcqRel);
                            drop(held);
                        }
                    }
                });
            }
        });
        assert!(peak.load(Ordering::Acquire) <= 1000);
        assert_eq!(budget.in_use(), 0);
    }
}
