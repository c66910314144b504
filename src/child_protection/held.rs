//! Images held back after a SHA-1 mismatch: when an image sent from a case page differs from
//! the wiki's record of its file, the upload is not sent and not dropped either. It stays in
//! the locked media buffer it arrived in, with the wiki comparison, under the staff member who
//! sent it and that case, until a second person confirms sending it (or refuses): a person with
//! the approver role who neither prepared the report nor sent the images names it by its hold
//! (a random token shown on their case page, so a confirmation is for exactly the upload they
//! saw), and no second upload is needed. The sender can only discard it. Held for
//! [`HOLD_FOR`], at most [`MAX_HELD`] uploads at once (each also holds its share of the media
//! budget), then dropped and so wiped. Never written anywhere, never copied.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use super::journal::WikiHash;
use crate::cases::CaseId;
use crate::media::MediaUpload;

/// How long held images wait for an approver's confirmation.
pub const HOLD_FOR: Duration = Duration::from_secs(15 * 60);

/// How many uploads may be held at once, across all staff and cases.
pub const MAX_HELD: usize = 16;

/// An upload held back, with what the case page needs to say why.
pub struct HeldUpload {
    /// The images, in their locked buffer.
    pub upload: MediaUpload,
    /// For each of the report's files in order, the index of its image in `upload`.
    pub chosen: Vec<usize>,
    /// For each of the report's files in order, the comparison with the wiki's record.
    pub wiki: Vec<WikiHash>,
}

/// What the case page shows of held images: never their bytes or names.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldView {
    /// Who sent them.
    pub sender: String,
    /// The hold's token, by which an approver's confirmation names exactly this upload.
    pub hold: String,
    /// When they are dropped unless sent.
    pub until: OffsetDateTime,
    /// For each of the report's files in order: our SHA-1 (hex) and the wiki's comparison.
    pub files: Vec<(String, WikiHash)>,
}

// Shape only: the hold token and the images' hashes are case data.
impl std::fmt::Debug for HeldView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldView").field("files", &self.files.len()).finish_non_exhaustive()
    }
}

/// The holder is full: the upload was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MAX_HELD} uploads are already held for confirmation; nothing more can be held until one is sent, discarded or expires"
)]
pub struct HolderFull;

struct Held {
    upload: HeldUpload,
    hold: String,
    expires: Instant,
    until: OffsetDateTime,
}

impl Held {
    fn view(&self, sender: &str) -> HeldView {
        let upload = &self.upload;
        let files = upload
            .chosen
            .iter()
            .zip(&upload.wiki)
            .map(|(&index, wiki)| (hex::encode(upload.upload.files()[index].digests().sha1), wiki.clone()))
            .collect();
        HeldView { sender: sender.to_owned(), hold: self.hold.clone(), until: self.until, files }
    }
}

/// A new hold token: 128 random bits in hex.
fn new_hold() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("the system random number generator failed");
    hex::encode(bytes)
}

/// The held uploads, by staff member and case.
pub struct HeldImages {
    held: Mutex<HashMap<(String, CaseId), Held>>,
    hold_for: Duration,
    max: usize,
}

impl Default for HeldImages {
    fn default() -> Self {
        Self::new(HOLD_FOR, MAX_HELD)
    }
}

impl HeldImages {
    /// A holder that keeps each upload for `hold_for`, at most `max` at once.
    pub fn new(hold_for: Duration, max: usize) -> Self {
        Self { held: Mutex::new(HashMap::new()), hold_for, max }
    }

    /// Holds `upload` sent by `staff` on `case`, replacing (and wiping) what they held there
    /// before (and so voiding its token); returns when it will be dropped. Refused when
    /// [`MAX_HELD`] others are held.
    pub fn put(&self, staff: &str, case: CaseId, upload: HeldUpload) -> Result<OffsetDateTime, HolderFull> {
        self.put_at(Instant::now(), staff, case, upload)
    }

    fn put_at(
        &self,
        now: Instant,
        staff: &str,
        case: CaseId,
        upload: HeldUpload,
    ) -> Result<OffsetDateTime, HolderFull> {
        let mut held = self.lock();
        held.retain(|_, h| h.expires > now);
        let key = (staff.to_owned(), case);
        if !held.contains_key(&key) && held.len() >= self.max {
            return Err(HolderFull);
        }
        let until = OffsetDateTime::now_utc() + self.hold_for;
        held.insert(key, Held { upload, hold: new_hold(), expires: now + self.hold_for, until });
        Ok(until)
    }

    /// What `staff` sent and holds on `case`, for their case page.
    pub fn view(&self, staff: &str, case: CaseId) -> Option<HeldView> {
        self.view_at(Instant::now(), staff, case)
    }

    fn view_at(&self, now: Instant, staff: &str, case: CaseId) -> Option<HeldView> {
        let held = self.lock();
        held.get(&(staff.to_owned(), case)).filter(|h| h.expires > now).map(|h| h.view(staff))
    }

    /// Everything held on `case`, whoever sent it, for an approver's case page (by sender).
    pub fn on_case(&self, case: CaseId) -> Vec<HeldView> {
        self.on_case_at(Instant::now(), case)
    }

    fn on_case_at(&self, now: Instant, case: CaseId) -> Vec<HeldView> {
        let held = self.lock();
        let mut views: Vec<HeldView> = held
            .iter()
            .filter(|((_, on), h)| *on == case && h.expires > now)
            .map(|((sender, _), h)| h.view(sender))
            .collect();
        views.sort_by(|a, b| a.sender.cmp(&b.sender));
        views
    }

    /// Who sent the upload held on `case` under `hold`, if it is still held.
    pub fn sender_of(&self, case: CaseId, hold: &str) -> Option<String> {
        let now = Instant::now();
        self.lock()
            .iter()
            .find(|((_, on), h)| *on == case && h.hold == hold && h.expires > now)
            .map(|((sender, _), _)| sender.clone())
    }

    /// Takes the upload `sender` holds on `case`, to send it once an approver confirmed it, only
    /// if it is still the one held under `hold` (not replaced since) and not expired.
    pub fn take(&self, sender: &str, case: CaseId, hold: &str) -> Option<HeldUpload> {
        self.take_at(Instant::now(), sender, case, hold)
    }

    fn take_at(&self, now: Instant, sender: &str, case: CaseId, hold: &str) -> Option<HeldUpload> {
        let mut held = self.lock();
        let key = (sender.to_owned(), case);
        if held.get(&key).is_none_or(|h| h.hold != hold) {
            return None;
        }
        let taken = held.remove(&key)?;
        (taken.expires > now).then_some(taken.upload)
    }

    /// Drops (and so wipes) what `staff` holds on `case`; `false` if nothing was held.
    pub fn discard(&self, staff: &str, case: CaseId) -> bool {
        self.lock().remove(&(staff.to_owned(), case)).is_some()
    }

    /// Drops everything held past its time.
    pub fn sweep(&self) {
        self.sweep_at(Instant::now());
    }

    fn sweep_at(&self, now: Instant) {
        self.lock().retain(|_, h| h.expires > now);
    }

    /// How many uploads are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(String, CaseId), Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::media::MediaBudget;

    /// An upload of one file in `image_0`, received as the pipeline receives one.
    async fn upload(budget: &Arc<MediaBudget>, image: &[u8]) -> MediaUpload {
        crate::media::upload::received_for_tests(budget, "image_0", "x.jpg", image).await
    }

    async fn held(budget: &Arc<MediaBudget>, image: &[u8]) -> HeldUpload {
        HeldUpload {
            upload: upload(budget, image).await,
            chosen: vec![0],
            wiki: vec![WikiHash::Differs { wiki: vec!["00".repeat(20)] }],
        }
    }

    #[tokio::test]
    async fn held_images_are_taken_only_by_their_hold_for_the_sender_and_case_they_were_sent_from() {
        let budget = MediaBudget::new(1 << 20);
        let holder = HeldImages::default();
        let (case, other_case) = (CaseId([1; 16]), CaseId([2; 16]));
        holder.put("cp-agent", case, held(&budget, b"image bytes").await).unwrap();
        assert!(holder.view("cp-lead", case).is_none(), "another staffer holds nothing");
        assert!(holder.view("cp-agent", other_case).is_none(), "another case shows nothing");
        let view = holder.view("cp-agent", case).expect("held for its sender and case");
        // printf 'image bytes' | sha1sum
        assert_eq!(view.files[0].0, "fc85466519f6d1f94ac51c96b3a7e41b8f8a0207", "our SHA-1, hex");
        assert_eq!(view.sender, "cp-agent");
        assert_eq!(view.hold.len(), 32, "128 random bits");
        assert_eq!(holder.on_case(case), vec![view.clone()], "an approver sees it by its sender");
        assert!(holder.on_case(other_case).is_empty());
        assert_eq!(holder.sender_of(case, &view.hold).as_deref(), Some("cp-agent"));
        assert!(holder.sender_of(other_case, &view.hold).is_none() && holder.sender_of(case, "00").is_none());
        assert!(holder.take("cp-lead", case, &view.hold).is_none(), "not under another sender");
        assert!(holder.take("cp-agent", other_case, &view.hold).is_none(), "not on another case");
        assert!(holder.take("cp-agent", case, "wrong").is_none(), "not without its hold");
        assert!(!holder.discard("cp-lead", case));
        // A new upload replaces the held one and voids the hold an approver saw.
        holder.put("cp-agent", case, held(&budget, b"other bytes").await).unwrap();
        assert!(holder.take("cp-agent", case, &view.hold).is_none(), "a replaced upload is not confirmed");
        let hold = holder.view("cp-agent", case).unwrap().hold;
        assert_ne!(hold, view.hold);
        let taken = holder.take("cp-agent", case, &hold).expect("taken by its hold");
        assert_eq!(taken.upload.bytes(&taken.upload.files()[0]), b"other bytes");
        assert!(holder.take("cp-agent", case, &hold).is_none(), "taken once");
        assert!(holder.is_empty());
    }

    #[tokio::test]
    async fn held_images_expire_and_the_sweep_wipes_them_and_returns_their_budget() {
        let budget = MediaBudget::new(1 << 20);
        let holder = HeldImages::default();
        let case = CaseId([1; 16]);
        let start = Instant::now();
        holder.put_at(start, "cp-agent", case, held(&budget, b"image").await).unwrap();
        holder.put_at(start, "cp-lead", case, held(&budget, b"image").await).unwrap();
        assert!(budget.in_use() > 0, "held images keep their share of the media budget");
        let late = start + HOLD_FOR + Duration::from_secs(1);
        assert!(holder.view_at(start + HOLD_FOR - Duration::from_secs(1), "cp-agent", case).is_some());
        assert!(holder.view_at(late, "cp-agent", case).is_none(), "not shown once expired");
        assert!(holder.on_case_at(late, case).is_empty(), "not shown to an approver once expired");
        let hold = holder.view_at(start, "cp-agent", case).unwrap().hold;
        assert!(holder.take_at(late, "cp-agent", case, &hold).is_none(), "not sent once expired");
        holder.sweep_at(late);
        assert!(holder.is_empty(), "swept");
        assert_eq!(budget.in_use(), 0, "dropped, so their memory is returned (and wiped)");
    }

    #[tokio::test]
    async fn the_holder_is_bounded_in_count_and_a_staffer_replaces_their_own() {
        let budget = MediaBudget::new(1 << 20);
        let holder = HeldImages::new(HOLD_FOR, 2);
        let start = Instant::now();
        let case = |n| CaseId([n; 16]);
        holder.put_at(start, "cp-agent", case(1), held(&budget, b"one").await).unwrap();
        holder.put_at(start, "cp-agent", case(2), held(&budget, b"two").await).unwrap();
        let refused = holder.put_at(start, "cp-lead", case(1), held(&budget, b"three").await);
        assert_eq!(refused, Err(HolderFull));
        assert_eq!(holder.len(), 2);
        holder.put_at(start, "cp-agent", case(1), held(&budget, b"again").await).unwrap();
        assert_eq!(holder.len(), 2, "a new upload replaces the staffer's own on that case");
        let hold = holder.view_at(start, "cp-agent", case(1)).unwrap().hold;
        let again = holder.take_at(start, "cp-agent", case(1), &hold).unwrap();
        assert_eq!(again.upload.bytes(&again.upload.files()[0]), b"again");
        // Expired entries make room.
        let late = start + HOLD_FOR + Duration::from_secs(1);
        holder.put_at(start, "cp-agent", case(1), held(&budget, b"one").await).unwrap();
        assert!(holder.put_at(late, "cp-lead", case(3), held(&budget, b"three").await).is_ok());
        assert_eq!(holder.len(), 1);
    }
}
