//! `issued.json`: what a staff CA has issued and revoked, and the number of its latest CRL.
//!
//! The ledger is the CA's memory. `takedown pki revoke --login` finds certificates in it, and
//! every CRL lists every revocation recorded in it, so a CRL can never forget an earlier one.
//! It holds no secret (serials, names, fingerprints, dates), but losing it loses the revocations,
//! so it is backed up with the rest of the CA directory. This module is pure: reading and writing
//! the file is [`super::ca_dir`]'s job.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{RevokeReason, RevokedCertificate};
use crate::identity::Fingerprint;

/// The ledger format this version reads and writes; bumped on any incompatible change.
const FORMAT: u32 = 1;

/// Why the ledger refused a read or a change.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file is not a ledger this version can read.
    #[error("issued.json is damaged ({0}); restore the CA directory from its backup")]
    Damaged(String),
    /// The file was written by an incompatible version.
    #[error(
        "issued.json has format {0} but this takedown reads format {FORMAT}; use the version that wrote it"
    )]
    Format(u32),
    /// The login already has a certificate that is neither revoked nor expired.
    #[error(
        "{login} already holds certificate {serial}, valid until {until}; add --renew to issue a \
         second one while it stays valid, or revoke it first (lost device, person leaving)"
    )]
    AlreadyHolds {
        /// The login.
        login: String,
        /// The current certificate's serial (hex).
        serial: String,
        /// Its expiry date.
        until: time::Date,
    },
    /// No certificate was ever issued to the login.
    #[error("no certificate was issued to login {0:?}; see `takedown pki list`")]
    NoSuchLogin(String),
    /// Every certificate of the login is revoked already.
    #[error("every certificate issued to {0} is already revoked; see `takedown pki list`")]
    NothingToRevoke(String),
    /// No certificate has the serial.
    #[error("this CA issued no certificate with serial {0}; see `takedown pki list`")]
    NoSuchSerial(String),
    /// The certificate is revoked already; revoking twice would change its recorded date.
    #[error("certificate {serial} was already revoked on {on}")]
    AlreadyRevoked {
        /// The serial (hex).
        serial: String,
        /// When it was revoked.
        on: time::Date,
    },
    /// `superseded` names one certificate, never all of a person's.
    #[error(
        "--reason superseded revokes the one certificate a newer one replaces; name it with \
         --serial (see `takedown pki list`)"
    )]
    SupersededNeedsSerial,
    /// The ledger could not be turned into JSON.
    #[error("cannot write issued.json: {0}")]
    Encode(String),
}

/// The whole state of a staff CA directory, as stored in `issued.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    format: u32,
    /// The organisation the CA and its certificates name.
    pub organization: String,
    /// The SHA-256 fingerprint of `ca.crt`: a replaced certificate is noticed before signing.
    #[serde(with = "fingerprint_text")]
    pub ca_fingerprint: Fingerprint,
    /// When the CA certificate expires; no staff certificate may outlive it.
    #[serde(with = "time::serde::rfc3339")]
    pub ca_not_after: OffsetDateTime,
    /// The latest CRL published.
    pub crl: CrlRecord,
    /// Every certificate issued, oldest first.
    pub certificates: Vec<Entry>,
}

/// The latest CRL published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlRecord {
    /// Its CRL number; every new CRL takes the next one.
    pub number: u64,
    /// When it stops being valid (the daemon then refuses every staff certificate).
    #[serde(with = "time::serde::rfc3339")]
    pub next_update: OffsetDateTime,
}

/// One issued certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The serial number.
    #[serde(with = "serial_hex")]
    pub serial: Vec<u8>,
    /// The roster login it was issued to.
    pub login: String,
    /// The person's name.
    pub name: String,
    /// The person's email.
    pub email: String,
    /// The SHA-256 fingerprint the roster lists.
    #[serde(with = "fingerprint_text")]
    pub fingerprint: Fingerprint,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// When it expires.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Set once it is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

/// When and why a certificate was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why, if the administrator said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevokeReason>,
}

/// Where a certificate stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Past its expiry date (and not revoked).
    Expired,
    /// Revoked.
    Revoked(Revocation),
    /// Neither expired nor revoked.
    Valid,
}

/// Which certificates `revoke` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every unrevoked certificate of this login (a person leaving, a lost device).
    Login(String),
    /// The one certificate with this serial.
    Serial(Vec<u8>),
}

/// What the next CRL says, decided by [`Ledger::next_crl`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlPlan {
    /// Its CRL number.
    pub number: u64,
    /// Its thisUpdate.
    pub this_update: OffsetDateTime,
    /// Its nextUpdate.
    pub next_update: OffsetDateTime,
    /// Every revoked certificate.
    pub revoked: Vec<RevokedCertificate>,
}

impl Entry {
    /// The serial as lowercase hex, the way `takedown pki list` prints it.
    pub fn serial_hex(&self) -> String {
        hex::encode(&self.serial)
    }

    /// Where the certificate stands at `now`.
    pub fn status(&self, now: OffsetDateTime) -> Status {
        match self.revoked {
            Some(revocation) => Status::Revoked(revocation),
            None if self.not_after <= now => Status::Expired,
            None => Status::Valid,
        }
    }
}

impl Ledger {
    /// The ledger of a new CA, before its first CRL (number 0, already expired).
    pub fn new(organization: &str, ca_fingerprint: Fingerprint, ca_not_after: OffsetDateTime) -> Self {
        Self {
            format: FORMAT,
            organization: organization.to_owned(),
            ca_fingerprint,
            ca_not_after,
            crl: CrlRecord { number: 0, next_update: OffsetDateTime::UNIX_EPOCH },
            certificates: Vec::new(),
        }
    }

    /// Parses `issued.json`.
    pub fn from_json(text: &str) -> Result<Self, LedgerError> {
        // Read the format first, so that a newer file is reported as such rather than as damage.
        #[derive(Deserialize)]
        struct Versioned {
            format: u32,
        }
        let versioned: Versioned =
            serde_json::from_str(text).map_err(|err| LedgerError::Damaged(err.to_string()))?;
        if versioned.format != FORMAT {
            return Err(LedgerError::Format(versioned.format));
        }
        serde_json::from_str(text).map_err(|err| LedgerError::Damaged(err.to_string()))
    }

    /// The text of `issued.json`.
    pub fn to_json(&self) -> Result<String, LedgerError> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|err| LedgerError::Encode(err.to_string()))?;
        text.push('\n');
        Ok(text)
    }

    /// Refuses a new certificate for `login` while one of theirs is valid, unless `renew`: a
    /// second live certificate should be a decision, not a repeated command.
    pub fn check_can_issue(&self, login: &str, now: OffsetDateTime, renew: bool) -> Result<(), LedgerError> {
        let current =
            self.certificates.iter().find(|entry| entry.login == login && entry.status(now) == Status::Valid);
        match current {
            Some(entry) if !renew => Err(LedgerError::AlreadyHolds {
                login: login.to_owned(),
                serial: entry.serial_hex(),
                until: entry.not_after.date(),
            }),
            _ => Ok(()),
        }
    }

    /// Records a newly issued certificate.
    pub fn record(&mut self, entry: Entry) {
        self.certificates.push(entry);
    }

    /// Marks `target` revoked at `at`; returns the entries revoked.
    pub fn revoke(
        &mut self,
        target: &Target,
        reason: Option<RevokeReason>,
        at: OffsetDateTime,
    ) -> Result<Vec<Entry>, LedgerError> {
        let revocation = Revocation { at, reason };
        match target {
            Target::Login(_) if reason == Some(RevokeReason::Superseded) => {
                Err(LedgerError::SupersededNeedsSerial)
            }
            Target::Login(login) => {
                let mut theirs =
                    self.certificates.iter_mut().filter(|entry| entry.login == *login).peekable();
                if theirs.peek().is_none() {
                    return Err(LedgerError::NoSuchLogin(login.clone()));
                }
                let revoked: Vec<Entry> = theirs
                    .filter(|entry| entry.revoked.is_none())
                    .map(|entry| {
                        entry.revoked = Some(revocation);
                        entry.clone()
                    })
                    .collect();
                if revoked.is_empty() {
                    return Err(LedgerError::NothingToRevoke(login.clone()));
                }
                Ok(revoked)
            }
            Target::Serial(serial) => {
                let entry = self
                    .certificates
                    .iter_mut()
                    .find(|entry| entry.serial == *serial)
                    .ok_or_else(|| LedgerError::NoSuchSerial(hex::encode(serial)))?;
                if let Some(earlier) = entry.revoked {
                    return Err(LedgerError::AlreadyRevoked {
                        serial: entry.serial_hex(),
                        on: earlier.at.date(),
                    });
                }
                entry.revoked = Some(revocation);
                Ok(vec![entry.clone()])
            }
        }
    }

    /// Takes the next CRL number and records that a CRL valid from `now` for `days` days is
    /// published; returns what that CRL must say.
    pub fn next_crl(&mut self, now: OffsetDateTime, days: u32) -> CrlPlan {
        let number = self.crl.number + 1;
        let next_update = now + Duration::days(i64::from(days));
        self.crl = CrlRecord { number, next_update };
        let revoked = self
            .certificates
            .iter()
            .filter_map(|entry| {
                entry.revoked.map(|revocation| RevokedCertificate {
                    serial: entry.serial.clone(),
                    revoked_at: revocation.at,
                    reason: revocation.reason,
                })
            })
            .collect();
        CrlPlan { number, this_update: now, next_update, revoked }
    }
}

/// Parses a serial as `takedown pki list` or `openssl x509 -serial` prints it: hex digits, with
/// or without `:` separators, in either case.
pub fn parse_serial(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.trim().trim_start_matches("serial=").chars().filter(|c| *c != ':').collect();
    match hex::decode(&digits) {
        Ok(bytes) if !bytes.is_empty() && bytes.len() <= 20 => Ok(bytes),
        _ => Err(format!("{text:?} is not a certificate serial; copy it from `takedown pki list`")),
    }
}

mod serial_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(serial: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(serial))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(&text).map_err(|_| serde::de::Error::custom(format!("serial {text:?} is not hex")))
    }
}

mod fingerprint_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::identity::Fingerprint;

    pub(super) fn serialize<S: Serializer>(
        fingerprint: &Fingerprint,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(fingerprint)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Fingerprint, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fingerprint::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap() + Duration::days(days)
    }

    fn entry(login: &str, serial: u8, not_after: OffsetDateTime) -> Entry {
        Entry {
            serial: vec![0x40, serial],
            login: login.to_owned(),
            name: format!("{login} \"quoted\" Ünïcode"),
            email: format!("{login}@example.org"),
            fingerprint: Fingerprint::parse(&format!("{serial:02x}").repeat(32)).unwrap(),
            issued_at: at(0),
            not_after,
            revoked: None,
        }
    }

    fn ledger() -> Ledger {
        let mut ledger =
            Ledger::new("Example Foundation", Fingerprint::parse(&"ca".repeat(32)).unwrap(), at(1000));
        ledger.record(entry("ann", 1, at(365)));
        ledger.record(entry("bob", 2, at(365)));
        ledger
    }

    #[test]
    fn the_ledger_round_trips_through_its_json() {
        let mut ledger = ledger();
        ledger.revoke(&Target::Login("bob".into()), Some(RevokeReason::Left), at(3)).unwrap();
        ledger.next_crl(at(3), 30);
        let text = ledger.to_json().unwrap();
        assert!(text.contains("\"reason\": \"left\""), "{text}");
        assert!(text.contains("\"serial\": \"4001\""), "{text}");
        assert_eq!(Ledger::from_json(&text).unwrap(), ledger);
    }

    #[test]
    fn damaged_or_newer_ledgers_are_refused_with_what_to_do() {
        let text = ledger().to_json().unwrap();
        let err = Ledger::from_json(&text.replace("\"format\": 1", "\"format\": 2")).unwrap_err();
        assert!(matches!(err, LedgerError::Format(2)), "{err}");
        let err = Ledger::from_json(&text[..text.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("restore the CA directory from its backup"), "{err}");
        let err =
            Ledger::from_json(&text.replace("\"serial\": \"4001\"", "\"serial\": \"xyz\"")).unwrap_err();
        assert!(err.to_string().contains("not hex"), "{err}");
    }

    #[test]
    fn each_crl_takes_the_next_number_and_lists_every_revocation_so_far() {
        let mut ledger = ledger();
        assert_eq!(ledger.next_crl(at(0), 30).number, 1);
        ledger.revoke(&Target::Serial(vec![0x40, 1]), Some(RevokeReason::KeyCompromise), at(2)).unwrap();
        let plan = ledger.next_crl(at(2), 30);
        assert_eq!(plan.number, 2);
        assert_eq!(plan.next_update, at(32));
        assert_eq!(ledger.crl, CrlRecord { number: 2, next_update: at(32) });
        ledger.revoke(&Target::Login("bob".into()), None, at(5)).unwrap();
        let plan = ledger.next_crl(at(6), 7);
        assert_eq!(plan.number, 3);
        let listed: Vec<(Vec<u8>, OffsetDateTime, Option<RevokeReason>)> =
            plan.revoked.into_iter().map(|r| (r.serial, r.revoked_at, r.reason)).collect();
        assert_eq!(
            listed,
            [(vec![0x40, 1], at(2), Some(RevokeReason::KeyCompromise)), (vec![0x40, 2], at(5), None)]
        );
    }

    #[test]
    fn a_valid_certificate_blocks_a_second_one_unless_renewing() {
        let mut ledger = ledger();
        let err = ledger.check_can_issue("ann", at(1), false).unwrap_err();
        assert!(err.to_string().contains("--renew"), "{err}");
        ledger.check_can_issue("ann", at(1), true).unwrap();
        ledger.check_can_issue("carol", at(1), false).unwrap();
        // Expired or revoked certificates no longer count.
        ledger.check_can_issue("ann", at(400), false).unwrap();
        ledger.revoke(&Target::Login("ann".into()), Some(RevokeReason::KeyCompromise), at(2)).unwrap();
        ledger.check_can_issue("ann", at(3), false).unwrap();
    }

    #[test]
    fn revoking_names_what_is_wrong() {
        let mut ledger = ledger();
        ledger.record(entry("ann", 3, at(400)));
        let revoked = ledger.revoke(&Target::Login("ann".into()), None, at(1)).unwrap();
        assert_eq!(revoked.len(), 2, "a login revokes all of the person's certificates");
        let err = ledger.revoke(&Target::Login("ann".into()), None, at(2)).unwrap_err();
        assert!(matches!(err, LedgerError::NothingToRevoke(_)), "{err}");
        let err = ledger.revoke(&Target::Login("zed".into()), None, at(2)).unwrap_err();
        assert!(matches!(err, LedgerError::NoSuchLogin(_)), "{err}");
        let err = ledger.revoke(&Target::Serial(vec![0x40, 1]), None, at(2)).unwrap_err();
        assert!(matches!(err, LedgerError::AlreadyRevoked { .. }), "{err}");
        assert_eq!(ledger.certificates[0].revoked.unwrap().at, at(1), "the first date stays");
        let err = ledger.revoke(&Target::Serial(vec![9]), None, at(2)).unwrap_err();
        assert!(matches!(err, LedgerError::NoSuchSerial(_)), "{err}");
        let err =
            ledger.revoke(&Target::Login("bob".into()), Some(RevokeReason::Superseded), at(2)).unwrap_err();
        assert!(matches!(err, LedgerError::SupersededNeedsSerial), "{err}");
        assert!(ledger.certificates[1].revoked.is_none());
    }

    #[test]
    fn serials_parse_as_list_and_openssl_print_them() {
        assert_eq!(parse_serial("40ab").unwrap(), [0x40, 0xab]);
        assert_eq!(parse_serial("serial=40AB").unwrap(), [0x40, 0xab]);
        assert_eq!(parse_serial("40:AB").unwrap(), [0x40, 0xab]);
        for bad in ["", "xyz", "4", &"00".repeat(21)] {
            assert!(parse_serial(bad).is_err(), "{bad:?}");
        }
    }
}
