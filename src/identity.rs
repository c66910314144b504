//! Who is asking: staff members, their roles, and the certificate fingerprints that name them.
//!
//! Identity comes only from a client certificate that the TLS layer has verified against the
//! staff CA; it is never taken from a header or a form. [`identify`] is the pure function that
//! turns such a certificate into a [`Caller`].

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;

use crate::roster::Roster;

/// A staff member's login, as written in the roster (for example `dmca-agent`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaffId(String);

impl StaffId {
    /// Longest login accepted; logins appear in audit entries and page headers.
    const MAX_LEN: usize = 64;

    /// Parses a login: 1–64 characters of `a-z`, `0-9`, `-`, `_` and `.`, starting with a letter.
    pub fn parse(login: &str) -> Result<Self, String> {
        let valid_chars = login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
        let starts_with_letter = login.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if login.is_empty() || login.len() > Self::MAX_LEN || !valid_chars || !starts_with_letter {
            return Err(format!(
                "login {login:?} is not valid; use 1-{} characters of a-z, 0-9, '-', '_', '.', \
                 starting with a letter",
                Self::MAX_LEN
            ));
        }
        Ok(Self(login.to_owned()))
    }

    /// The login as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a staff member may do. Routes declare the role they need in [`crate::http::router`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Files DMCA takedowns: the notice form, Lumen, wiki notices, Salesforce.
    Dmca,
    /// Prepares child-protection reports to NCMEC.
    ChildProtection,
    /// Approves (or declines) the release of a child-protection report; never one's own.
    Approver,
    /// Reads the audit log and the roster; verifies the audit chain.
    Auditor,
    /// Produces encrypted exports of cases for lawyers.
    Exporter,
}

impl Role {
    /// Every role, in the order pages list them.
    pub const ALL: [Role; 5] =
        [Role::Dmca, Role::ChildProtection, Role::Approver, Role::Auditor, Role::Exporter];

    /// The name used in the roster file and on pages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Dmca => "dmca",
            Role::ChildProtection => "child-protection",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Exporter => "exporter",
        }
    }

    /// One sentence saying what the role lets its holder do.
    pub fn description(self) -> &'static str {
        match self {
            Role::Dmca => "file DMCA takedowns: the notice form, Lumen, wiki notices and Salesforce",
            Role::ChildProtection => "prepare child-protection reports to NCMEC",
            Role::Approver => "approve or decline the release of another person's NCMEC report",
            Role::Auditor => "read the audit log and the staff roster",
            Role::Exporter => "produce encrypted case exports for lawyers",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
            format!("unknown role {name:?}; use one of {}", known.join(", "))
        })
    }
}

/// The SHA-256 of a certificate's DER encoding: what the roster pins a person to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        let digest = digest::digest(&digest::SHA256, der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }

    /// Parses 64 hex digits, with or without `:` separators (as `openssl x509 -fingerprint`
    /// prints them), in either case.
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits: String = text.chars().filter(|c| *c != ':').collect();
        let mut bytes = [0; 32];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| {
            format!(
                "{text:?} is not a SHA-256 fingerprint; write 64 hex digits, as printed by \
                 `openssl x509 -noout -fingerprint -sha256 -in CERT`"
            )
        })?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A person on the roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    /// The login, unique on the roster; audit entries name people by it.
    pub id: StaffId,
    /// The name shown in the page header.
    pub display_name: String,
    /// Where the person can be reached about their cases.
    pub email: String,
    /// What the person may do; may be empty (the person can then only see the home page).
    pub roles: Vec<Role>,
    /// The certificates that identify the person; several while one replaces another.
    pub certificates: Vec<Fingerprint>,
}

impl Staff {
    /// Whether the person holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The party behind a request, once its certificate has been verified against the staff CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A person on the roster.
    Staff(Staff),
    /// A certificate the CA issued but which no roster entry lists: they may see the page that
    /// says whom to ask, nothing else.
    Unrostered(Fingerprint),
}

/// Maps a verified client certificate (DER) to the person it belongs to.
pub fn identify(roster: &Roster, certificate_der: &[u8]) -> Caller {
    let fingerprint = Fingerprint::of_certificate(certificate_der);
    match roster.find_by_fingerprint(&fingerprint) {
        Some(staff) => Caller::Staff(staff.clone()),
        None => Caller::Unrostered(fingerprint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_parses_openssl_style_and_round_trips() {
        let plain = "ab".repeat(32);
        let openssl = vec!["AB"; 32].join(":");
        let a = Fingerprint::parse(&plain).unwrap();
        let b = Fingerprint::parse(&openssl).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), plain);
    }

    #[test]
    fn fingerprint_rejects_wrong_length_and_non_hex() {
        assert!(Fingerprint::parse(&"ab".repeat(31)).is_err());
        assert!(Fingerprint::parse(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn role_names_round_trip_and_unknown_roles_list_the_choices() {
        for role in Role::ALL {
            assert_eq!(role.name().parse::<Role>().unwrap(), role);
        }
        let err = "admin".parse::<Role>().unwrap_err();
        assert!(err.contains("child-protection"), "{err}");
    }

    #[test]
    fn logins_must_be_plain_lowercase_words() {
        assert!(StaffId::parse("dmca-agent").is_ok());
        for bad in ["", "Dmca", "1abc", "a b", "a/b", &"a".repeat(65)] {
            assert!(StaffId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
