//! The staff roster: the file that says which certificates belong to whom, and with which roles.
//!
//! ```toml
//! [[staff]]
//! login = "dmca-agent"
//! name = "Dana Mercer"
//! email = "dmercer@example.org"
//! roles = ["dmca"]
//! certificates = ["3f1c…64 hex digits…"]   # SHA-256 of each certificate's DER
//! ```
//!
//! A certificate signed by the staff CA opens nothing until its fingerprint is listed here; the
//! roster is reloaded on SIGHUP, so adding or removing a person needs no restart.

use std::collections::BTreeMap;

use crate::config::Problem;
use crate::config::table::{self, Section};
use crate::identity::{Fingerprint, Role, Staff, StaffId};

/// The parsed roster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    staff: Vec<Staff>,
    by_fingerprint: BTreeMap<Fingerprint, usize>,
}

impl Roster {
    /// Parses roster text. `label` (the file path) prefixes every problem.
    pub fn parse(label: &str, text: &str) -> Result<Roster, Vec<Problem>> {
        let document = table::parse_document(label, text).map_err(|p| vec![p])?;
        let mut problems = Vec::new();
        let mut root = Section::root("", &document);
        let mut roster = Roster::default();
        let mut logins = BTreeMap::new();
        for mut entry in root.tables("staff", &mut problems) {
            let Some(person) = parse_person(&mut entry, &mut problems) else {
                entry.finish(&mut problems);
                continue;
            };
            if let Some(first) = logins.insert(person.id.clone(), entry.field("login")) {
                problems.push(Problem::new(
                    entry.field("login"),
                    format!("{} is already used by {first}; logins must be unique", person.id),
                ));
            }
            for fingerprint in &person.certificates {
                if let Some(&other) = roster.by_fingerprint.get(fingerprint) {
                    problems.push(Problem::new(
                        entry.field("certificates"),
                        format!(
                            "{fingerprint} is also listed for {}; a certificate identifies one person",
                            roster.staff[other].id
                        ),
                    ));
                }
                roster.by_fingerprint.insert(*fingerprint, roster.staff.len());
            }
            entry.finish(&mut problems);
            roster.staff.push(person);
        }
        root.finish(&mut problems);
        if problems.is_empty() {
            return Ok(roster);
        }
        for problem in &mut problems {
            problem.field = format!("{label}: {}", problem.field);
        }
        Err(problems)
    }

    /// The person a certificate fingerprint belongs to.
    pub fn find_by_fingerprint(&self, fingerprint: &Fingerprint) -> Option<&Staff> {
        self.by_fingerprint.get(fingerprint).map(|&i| &self.staff[i])
    }

    /// Everyone on the roster, in file order.
    pub fn staff(&self) -> &[Staff] {
        &self.staff
    }
}

/// Longest display name or email accepted; both are shown in page headers.
const MAX_TEXT_LEN: usize = 200;

fn parse_person(entry: &mut Section<'_>, problems: &mut Vec<Problem>) -> Option<Staff> {
    let before = problems.len();
    let id = entry.string("login", problems).and_then(|login| {
        StaffId::parse(login).map_err(|m| problems.push(Problem::new(entry.field("login"), m))).ok()
    });
    let display_name = bounded_text(entry, "name", problems);
    let email = bounded_text(entry, "email", problems);
    if let Some(email) = email.as_ref().filter(|email| !email.contains('@')) {
        problems.push(Problem::new(entry.field("email"), format!("{email:?} is not an email address")));
    }
    let mut roles = Vec::new();
    for (i, name) in entry.strings("roles", problems).unwrap_or_default().into_iter().enumerate() {
        match name.parse::<Role>() {
            Ok(role) if !roles.contains(&role) => roles.push(role),
            Ok(_) => {}
            Err(message) => problems.push(Problem::new(format!("{}[{i}]", entry.field("roles")), message)),
        }
    }
    roles.sort();
    let mut certificates = Vec::new();
    let listed = entry.strings("certificates", problems);
    if listed.as_ref().is_some_and(Vec::is_empty) {
        problems.push(Problem::new(
            entry.field("certificates"),
            "is empty; list the SHA-256 fingerprint of the person's certificate",
        ));
    }
    for (i, text) in listed.unwrap_or_default().into_iter().enumerate() {
        match Fingerprint::parse(text) {
            Ok(fingerprint) => certificates.push(fingerprint),
            Err(message) => {
                problems.push(Problem::new(format!("{}[{i}]", entry.field("certificates")), message))
            }
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(Staff { id: id?, display_name: display_name?, email: email?, roles, certificates })
}

fn bounded_text(entry: &mut Section<'_>, key: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let text = entry.string(key, problems)?;
    if text.chars().count() > MAX_TEXT_LEN || text.chars().any(char::is_control) {
        problems.push(Problem::new(
            entry.field(key),
            format!("must be one line of at most {MAX_TEXT_LEN} characters"),
        ));
        return None;
    }
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(byte: &str) -> String {
        byte.repeat(32)
    }

    #[test]
    fn a_roster_maps_each_fingerprint_to_its_person() {
        let text = format!(
            "[[staff]]\nlogin = \"ann\"\nname = \"Ann\"\nemail = \"ann@example.org\"\n\
             roles = [\"dmca\", \"auditor\"]\ncertificates = [\"{}\", \"{}\"]\n",
            fp("aa"),
            fp("bb")
        );
        let roster = Roster::parse("roster.toml", &text).unwrap();
        let ann = roster.find_by_fingerprint(&Fingerprint::parse(&fp("bb")).unwrap()).unwrap();
        assert_eq!(ann.id.as_str(), "ann");
        assert_eq!(ann.roles, [Role::Dmca, Role::Auditor]);
        assert!(roster.find_by_fingerprint(&Fingerprint::parse(&fp("cc")).unwrap()).is_none());
    }

    #[test]
    fn every_roster_mistake_is_named_by_entry_and_field() {
        let text = format!(
            "[[staff]]\nlogin = \"ann\"\nname = \"Ann\"\nemail = \"ann@example.org\"\nroles = [\"dmca\"]\n\
             certificates = [\"{a}\"]\n\
             [[staff]]\nlogin = \"ann\"\nname = \"Bob\"\nemail = \"bob\"\nroles = [\"admin\"]\n\
             certificates = [\"{a}\", \"xyz\"]\nshoe_size = 9\n",
            a = fp("aa")
        );
        let problems = Roster::parse("r.toml", &text).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "r.toml: staff[1].email",
                "r.toml: staff[1].roles[0]",
                "r.toml: staff[1].certificates[1]",
                "r.toml: staff[1].shoe_size"
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn duplicate_logins_and_shared_certificates_are_refused() {
        let entry = |login: &str| {
            format!(
                "[[staff]]\nlogin = \"{login}\"\nname = \"N\"\nemail = \"n@example.org\"\nroles = []\n\
                 certificates = [\"{}\"]\n",
                fp("aa")
            )
        };
        let problems = Roster::parse("r", &format!("{}{}", entry("ann"), entry("ann"))).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].message.contains("unique"));
        assert!(problems[1].message.contains("one person"));
    }
}
