//! Images held back after a SHA-1 mismatch: when an image sent from a case page differs from
//! the wiki's record of its file, the upload is not sent and not dropped either. It stays in
//! the locked media buffer it arrived in, with the wiki comparison, for the staff member who
//! sent it and that case only, so that confirming needs no second upload. Held for
//! [`HOLD_FOR`], at most [`MAX_HELD`] uploads at once (each also holds its share of the media
//! budget), then dropped and so wiped. Never written anywhere, never copied.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::journal::WikiHash;
use crate::cases::CaseId;
use crate::media::MediaUpload;

/// How long held images wait for the staffer's confirmation.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldView {
    /// When they are dropped unless sent.
    pub until: OffsetDateTime,
    /// For each of the report's files in order: our SHA-1 (hex) and the wiki's comparison.
    pub files: Vec<(String, WikiHash)>,
    /// The last confirmation came without the box ticked.
    pub must_tick: bool,
}

/// The holder is full: the upload was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MAX_HELD} uploads are already held for confirmation; nothing more can be held until one is sent, discarded or expires"
)]
pub struct HolderFull;

struct Held {
    upload: HeldUpload,
    expires: Instant,
    until: OffsetDateTime,
    must_tick: bool,
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

    /// Holds `upload` for `staff` on `case`, replacing (and wiping) what they held there
    /// before; returns when it will be dropped. Refused when [`MAX_HELD`] others are held.
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
        held.insert(key, Held { upload, expires: now + self.hold_for, until, must_tick: false });
        Ok(until)
    }

    /// What `staff` holds on `case`, for the case page; the reminder to tick the box is shown
    /// once.
    pub fn view(&self, staff: &str, case: CaseId) -> Option<HeldView> {
        self.view_at(Instant::now(), staff, case)
    }

    fn view_at(&self, now: Instant, staff: &str, case: CaseId) -> Option<HeldView> {
        let mut held = self.lock();
        let entry = held.get_mut(&(staff.to_owned(), case)).filter(|h| h.expires > now)?;
        let must_tick = std::mem::take(&mut entry.must_tick);
        let upload = &entry.upload;
        let files = upload
            .chosen
            .iter()
            .zip(&upload.wiki)
            .map(|(&index, wiki)| (hex::encode(upload.upload.files()[index].digests().sha1), wiki.clone()))
            .collect();
        Some(HeldView { until: entry.until, files, must_tick })
    }

    /// Marks what `staff` holds on `case` as confirmed without the box ticked (the case page
    /// says so once); `false` if nothing is held.
    pub fn remind(&self, staff: &str, case: CaseId) -> bool {
        let now = Instant::now();
        let mut held = self.lock();
        match held.get_mut(&(staff.to_owned(), case)).filter(|h| h.expires > now) {
            Some(entry) => {
                entry.must_tick = true;
                true
            }
            None => false,
        }
    }

    /// Takes what `staff` holds on `case`, to send it; nothing if it expired.
    pub fn take(&self, staff: &str, case: CaseId) -> Option<HeldUpload> {
        self.take_at(Instant::now(), staff, case)
    }

    fn take_at(&self, now: Instant, staff: &str, case: CaseId) -> Option<HeldUpload> {
        let held = self.lock().remove(&(staff.to_owned(), case))?;
        (held.expires > now).then_some(held.upload)
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
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(String, CaseId), Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::media::MediaBudget;
    use crate::media::upload::{Receiver, UploadLimits};

    /// An upload of one image (`image_0`) received as the pipeline receives one.
    async fn upload(budget: &Arc<MediaBudget>, image: &[u8]) -> MediaUpload {
        let mut body = b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n".to_vec();
        body.extend_from_slice(
            b"--B\r\nContent-Disposition: form-data; name=\"image_0\"; filename=\"x.jpg\"\r\n\r\n",
        );
        body.extend_from_slice(image);
        body.extend_from_slice(b"\r\n--B--\r\n");
        let reservation = budget.reserve(body.len()).unwrap();
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))]);
        let mut receiver = Receiver::new(stream, "B", reservation, UploadLimits::default()).unwrap();
        receiver.leading_field("csrf_token").await.unwrap();
        receiver.finish().await.unwrap()
    }

    async fn held(budget: &Arc<MediaBudget>, image: &[u8]) -> HeldUpload {
        HeldUpload {
            upload: upload(budget, image).await,
            chosen: vec![0],
            wiki: vec![WikiHash::Differs { wiki: vec!["00".repeat(20)] }],
        }
    }

    #[tokio::test]
    async fn held_images_are_only_for_the_staffer_and_case_they_were_sent_from() {
        let budget = MediaBudget::new(1 << 20);
        let holder = HeldImages::default();
        let (case, other_case) = (CaseId([1; 16]), CaseId([2; 16]));
        holder.put("cp-agent", case, held(&budget, b"image bytes").await).unwrap();
        assert!(holder.view("cp-lead", case).is_none(), "another staffer sees nothing");
        assert!(holder.view("cp-agent", other_case).is_none(), "another case shows nothing");
        assert!(holder.take("cp-lead", case).is_none() && holder.take("cp-agent", other_case).is_none());
        assert!(!holder.remind("cp-lead", case) && !holder.discard("cp-lead", case));
        let view = holder.view("cp-agent", case).expect("held for its staffer and case");
        // printf 'image bytes' | sha1sum
        assert_eq!(view.files[0].0, "fc85466519f6d1f94ac51c96b3a7e41b8f8a0207", "our SHA-1, hex");
        assert!(!view.must_tick);
        assert!(holder.remind("cp-agent", case));
        assert!(holder.view("cp-agent", case).unwrap().must_tick, "the reminder is shown");
        assert!(!holder.view("cp-agent", case).unwrap().must_tick, "once");
        let taken = holder.take("cp-agent", case).expect("taken by its staffer");
        assert_eq!(taken.upload.bytes(&taken.upload.files()[0]), b"image bytes");
        assert!(holder.take("cp-agent", case).is_none(), "taken once");
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
        assert!(holder.take_at(late, "cp-agent", case).is_none(), "not sent once expired");
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
        let again = holder.take_at(start, "cp-agent", case(1)).unwrap();
        assert_eq!(again.upload.bytes(&again.upload.files()[0]), b"again");
        // Expired entries make room.
        let late = start + HOLD_FOR + Duration::from_secs(1);
        holder.put_at(start, "cp-agent", case(1), held(&budget, b"one").await).unwrap();
        assert!(holder.put_at(late, "cp-lead", case(3), held(&budget, b"three").await).is_ok());
        assert_eq!(holder.len(), 1);
    }
}
