//! Cross-site request forgery tokens, bound to the staff member they were issued to.
//!
//! A token is `ISSUED.MAC`: the issue time (seconds since the epoch, hex) and an HMAC-SHA-256 over
//! the login and that time, under a key generated at start-up and held only in memory. A token
//! therefore works only for the person it was issued to, only in this process, and only for
//! [`TOKEN_LIFETIME`]. This module is pure: the caller passes the time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::identity::StaffId;

/// How long a form stays submittable after it was rendered: a working day, so a notice typed
/// slowly over the afternoon is not lost.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// Tolerated clock difference for tokens that claim to come from the future.
const FUTURE_SKEW: Duration = Duration::from_secs(60);

/// Separates this MAC's purpose from any other use of a key (domain separation).
const CONTEXT: &[u8] = b"takedown csrf v1\0";

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// The token is older than [`TOKEN_LIFETIME`] (or from the future).
    #[error("the form has expired; reload the page and submit again")]
    Expired,
    /// The token is not of the form this module writes.
    #[error("the form's security token is malformed; reload the page and submit again")]
    Malformed,
    /// No token was sent.
    #[error("the form carried no security token; submit it from the appliance's own page")]
    Missing,
    /// The MAC does not match this person and time: forged, or issued to someone else or by an
    /// earlier run of the daemon.
    #[error("the form's security token is not valid for you; reload the page and submit again")]
    NotYours,
}

/// The key that signs tokens. It has no `Debug` and is never written anywhere.
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        // The system RNG failing means the kernel cannot give entropy; nothing secure can run.
        SystemRandom::new().fill(bytes.as_mut()).expect("the system random number generator failed");
        Self::from_bytes(&bytes)
    }

    /// A key from given bytes (tests use this to get reproducible tokens).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A token for `staff`, issued at `now`.
    pub fn issue(&self, staff: &StaffId, now: SystemTime) -> String {
        let issued = seconds(now);
        let tag = hmac::sign(&self.0, &message(staff, issued));
        format!("{issued:x}.{}", hex::encode(tag.as_ref()))
    }

    /// Checks that `token` was issued to `staff` by this key within the lifetime.
    pub fn verify(&self, staff: &StaffId, token: Option<&str>, now: SystemTime) -> Result<(), CsrfError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(CsrfError::Missing)?;
        let (issued, tag) = token.split_once('.').ok_or(CsrfError::Malformed)?;
        let issued = u64::from_str_radix(issued, 16).map_err(|_| CsrfError::Malformed)?;
        let tag = hex::decode(tag).map_err(|_| CsrfError::Malformed)?;
        // Exactly one spelling per token (no sign, leading zeros or upper case), so a token
        // is a value that can be compared and logged, not a family of equivalent strings.
        if format!("{issued:x}.{}", hex::encode(&tag)) != token {
            return Err(CsrfError::Malformed);
        }
        hmac::verify(&self.0, &message(staff, issued), &tag).map_err(|_| CsrfError::NotYours)?;
        let now = seconds(now);
        if issued > now.saturating_add(FUTURE_SKEW.as_secs())
            || now - issued.min(now) > TOKEN_LIFETIME.as_secs()
        {
            return Err(CsrfError::Expired);
        }
        Ok(())
    }
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn message(staff: &StaffId, issued: u64) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(staff.as_str().as_bytes());
    message.push(0);
    message.extend_from_slice(&issued.to_be_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> StaffId {
        StaffId::parse("ann").unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_token_verifies_for_its_owner_within_its_lifetime() {
        let key = CsrfKey::from_bytes(&[7; 32]);
        let token = key.issue(&ann(), at(1_000_000));
        assert_eq!(key.verify(&ann(), Some(&token), at(1_000_000 + 3600)), Ok(()));
    }

    #[test]
    fn a_token_is_refused_for_anyone_else_with_another_key_or_once_expired() {
        let key = CsrfKey::from_bytes(&[7; 32]);
        let token = key.issue(&ann(), at(1_000_000));
        let bob = StaffId::parse("bob").unwrap();
        assert_eq!(key.verify(&bob, Some(&token), at(1_000_001)), Err(CsrfError::NotYours));
        let other = CsrfKey::from_bytes(&[8; 32]);
        assert_eq!(other.verify(&ann(), Some(&token), at(1_000_001)), Err(CsrfError::NotYours));
        let late = at(1_000_000 + TOKEN_LIFETIME.as_secs() + 1);
        assert_eq!(key.verify(&ann(), Some(&token), late), Err(CsrfError::Expired));
        assert_eq!(key.verify(&ann(), Some(&token), at(1_000_000 - 3600)), Err(CsrfError::Expired));
    }

    #[test]
    fn missing_and_malformed_tokens_are_told_apart() {
        let key = CsrfKey::from_bytes(&[7; 32]);
        assert_eq!(key.verify(&ann(), None, at(5)), Err(CsrfError::Missing));
        assert_eq!(key.verify(&ann(), Some(""), at(5)), Err(CsrfError::Missing));
        let genuine = key.issue(&ann(), at(5));
        let upper = genuine.to_uppercase();
        for bad in ["abc", "zz.00", "10.zz", ".", &format!("0{genuine}"), &format!("+{genuine}"), &upper] {
            assert_eq!(key.verify(&ann(), Some(bad), at(5)), Err(CsrfError::Malformed), "{bad}");
        }
    }
}
