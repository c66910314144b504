//! Who released a report to NCMEC. A report is sent only once approved, and never on its
//! preparer's word alone: a different person with the `approver` role approves or declines it
//! in the appliance, or, where the deployment allows it, the preparer records an approval given
//! outside the appliance, by the approver's name. A declined report is kept like any other case.
//!
//! The images get the same four eyes where the wiki disagrees: images whose SHA-1 differs from
//! the wiki's record are sent only once a person with the approver role who neither prepared the
//! report nor sent the images confirms it ([`may_decide_sha1_waiver`], [`Sha1Waiver`]).

use serde::{Deserialize, Serialize};

/// Where a report's approval stands.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Approval {
    /// Waiting for an approver.
    Pending,
    /// Approved in the appliance by `by` (a staff id).
    Approved {
        /// The approver's staff id.
        by: String,
    },
    /// Approved outside the appliance; `recorded_by` wrote down who approved.
    ApprovedOutOfBand {
        /// The approver's name as given.
        approver_name: String,
        /// The staff id of whoever recorded it.
        recorded_by: String,
    },
    /// Declined by `by`, with a reason.
    Declined {
        /// The approver's staff id.
        by: String,
        /// Why.
        reason: String,
    },
}

// Shape only: a decline's reason and an outside approver's name are case data.
impl std::fmt::Debug for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Approval::Pending => "Pending",
            Approval::Approved { .. } => "Approved",
            Approval::ApprovedOutOfBand { .. } => "ApprovedOutOfBand",
            Approval::Declined { .. } => "Declined",
        })
    }
}

/// Why an approval decision was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// The preparer tried to approve their own report.
    #[error("you prepared this report, so another person with the approver role must decide on it")]
    OwnReport,
    /// Someone other than the preparer tried to record an approval given outside the appliance.
    #[error(
        "only the person who prepared this report records an approval given outside the appliance; nothing was recorded"
    )]
    NotPreparer,
    /// It was already decided.
    #[error("this report was already decided; a new decision needs a new report")]
    AlreadyDecided,
    /// A decline without a reason.
    #[error("say why the report is declined; the reason is kept with the case")]
    NoReason,
    /// An out-of-band approval this deployment does not accept, or without a name.
    #[error("{0}")]
    OutOfBand(&'static str),
}

impl Approval {
    /// Whether the report may be sent to NCMEC.
    pub fn releases(&self) -> bool {
        matches!(self, Approval::Approved { .. } | Approval::ApprovedOutOfBand { .. })
    }

    /// `approver` approves (`reason` = `None`) or declines a report `preparer` prepared.
    pub fn decide(
        &self,
        preparer: &str,
        approver: &str,
        decline_reason: Option<&str>,
    ) -> Result<Approval, ApprovalError> {
        if *self != Approval::Pending {
            return Err(ApprovalError::AlreadyDecided);
        }
        if approver == preparer {
            return Err(ApprovalError::OwnReport);
        }
        match decline_reason.map(str::trim) {
            None => Ok(Approval::Approved { by: approver.to_owned() }),
            Some("") => Err(ApprovalError::NoReason),
            Some(reason) => Ok(Approval::Declined { by: approver.to_owned(), reason: reason.to_owned() }),
        }
    }

    /// The preparer records an approval given outside the appliance, if `allowed`: `recorded_by`
    /// must be `preparer`, since another staffer's word would make them the report's second
    /// person without the appliance's approver ever deciding.
    pub fn record_out_of_band(
        &self,
        allowed: bool,
        preparer: &str,
        recorded_by: &str,
        approver_name: &str,
    ) -> Result<Approval, ApprovalError> {
        if *self != Approval::Pending {
            return Err(ApprovalError::AlreadyDecided);
        }
        if !allowed {
            return Err(ApprovalError::OutOfBand(
                "this appliance takes approvals only from an approver in the appliance",
            ));
        }
        if recorded_by != preparer {
            return Err(ApprovalError::NotPreparer);
        }
        let name = approver_name.trim();
        if name.is_empty() {
            return Err(ApprovalError::OutOfBand("give the name of the person who approved"));
        }
        Ok(Approval::ApprovedOutOfBand {
            approver_name: name.to_owned(),
            recorded_by: recorded_by.to_owned(),
        })
    }
}

/// Why an approver may not decide on images whose SHA-1 differs from the wiki's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WaiverError {
    /// The approver prepared the report.
    #[error(
        "you prepared this report, so another person with the approver role must confirm sending these images; nothing was sent"
    )]
    OwnReport,
    /// The approver sent the images.
    #[error(
        "you sent these images, so another person with the approver role must confirm sending them; nothing was sent"
    )]
    OwnImages,
}

/// Whether `approver` (who has the approver role: the route checks it) may confirm or refuse
/// sending the images `sender` chose for a report `preparer` prepared, whose SHA-1 differs from
/// the wiki's: only a person who is neither.
pub fn may_decide_sha1_waiver(preparer: &str, sender: &str, approver: &str) -> Result<(), WaiverError> {
    if approver == preparer {
        return Err(WaiverError::OwnReport);
    }
    if approver == sender {
        return Err(WaiverError::OwnImages);
    }
    Ok(())
}

/// An approver's decision on images whose SHA-1 differs from the wiki's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaiverDecision {
    /// Send them.
    Confirm,
    /// Do not: they are dropped.
    Refuse,
}

/// A file whose SHA-1 differs from the wiki's, as the approver saw it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DifferingFile {
    /// Its index among the report's files.
    pub file: usize,
    /// Our SHA-1 (hex).
    pub sha1: String,
    /// The SHA-1s the wiki lists (hex).
    pub wiki: Vec<String>,
}

/// The record of an approver's decision on held images, as a revision of the case.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sha1Waiver {
    /// Confirmed or refused.
    pub decision: WaiverDecision,
    /// The approver's staff id.
    pub by: String,
    /// Who sent the images.
    pub sender: String,
    /// The files whose SHA-1 differs.
    pub files: Vec<DifferingFile>,
}

impl Sha1Waiver {
    /// The differing files by number (`1, 3`), as the case page and the audit log name them.
    pub fn numbers(&self) -> String {
        self.files.iter().map(|f| (f.file + 1).to_string()).collect::<Vec<_>>().join(", ")
    }
}

// Shape only: the hashes are case data.
impl std::fmt::Debug for Sha1Waiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sha1Waiver")
            .field("decision", &self.decision)
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_person_decides_and_only_once() {
        let pending = Approval::Pending;
        assert!(!pending.releases());
        assert_eq!(pending.decide("cp-agent", "cp-agent", None), Err(ApprovalError::OwnReport));
        let approved = pending.decide("cp-agent", "approver", None).unwrap();
        assert!(approved.releases());
        assert_eq!(approved.decide("cp-agent", "other", Some("no")), Err(ApprovalError::AlreadyDecided));
        assert_eq!(pending.decide("cp-agent", "approver", Some("  ")), Err(ApprovalError::NoReason));
        let declined = pending.decide("cp-agent", "approver", Some("not CSAM")).unwrap();
        assert!(!declined.releases());
        assert_eq!(declined, Approval::Declined { by: "approver".into(), reason: "not CSAM".into() });
    }

    #[test]
    fn an_out_of_band_approval_needs_the_deployment_to_allow_it_the_preparer_and_a_name() {
        let pending = Approval::Pending;
        assert!(matches!(
            pending.record_out_of_band(false, "cp-agent", "cp-agent", "Jo Counsel"),
            Err(ApprovalError::OutOfBand(_))
        ));
        assert!(matches!(
            pending.record_out_of_band(true, "cp-agent", "cp-agent", " "),
            Err(ApprovalError::OutOfBand(_))
        ));
        assert_eq!(
            pending.record_out_of_band(true, "cp-agent", "cp-lead", "Jo Counsel"),
            Err(ApprovalError::NotPreparer),
            "only the preparer records it"
        );
        let recorded = pending.record_out_of_band(true, "cp-agent", "cp-agent", " Jo Counsel ").unwrap();
        assert!(recorded.releases());
        assert_eq!(
            recorded,
            Approval::ApprovedOutOfBand {
                approver_name: "Jo Counsel".into(),
                recorded_by: "cp-agent".into()
            }
        );
        let round_trip: Approval = serde_json::from_value(serde_json::to_value(&recorded).unwrap()).unwrap();
        assert_eq!(round_trip, recorded);
    }

    #[test]
    fn only_an_approver_who_neither_prepared_nor_sent_decides_on_a_sha1_mismatch() {
        assert_eq!(may_decide_sha1_waiver("cp-lead", "cp-agent", "cp-lead"), Err(WaiverError::OwnReport));
        assert_eq!(may_decide_sha1_waiver("cp-agent", "cp-lead", "cp-lead"), Err(WaiverError::OwnImages));
        assert_eq!(may_decide_sha1_waiver("cp-agent", "cp-agent", "cp-agent"), Err(WaiverError::OwnReport));
        assert_eq!(may_decide_sha1_waiver("cp-lead", "cp-agent", "approver"), Ok(()));
    }

    #[test]
    fn debug_shows_the_decision_but_no_reason_or_name() {
        let declined = Approval::Declined { by: "approver".into(), reason: "reason-sentinel".into() };
        let outside =
            Approval::ApprovedOutOfBand { approver_name: "name-sentinel".into(), recorded_by: "x".into() };
        let shown = format!("{declined:?} {outside:?}");
        assert_eq!(shown, "Declined ApprovedOutOfBand");
    }
}
