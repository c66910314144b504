//! What a takedown becomes for the services it goes to, as pure functions: the Lumen notice
//! (with its documents) and the Salesforce Case's fields. No I/O; the saga sends them.

use serde_json::{Map, Value};
use time::Date;
use time::macros::format_description;

use super::form::FieldError;
use super::model::{Decision, DocumentRecord, Sender, Takedown};
use super::steps::RefusedField;
use crate::cases::CaseId;
use crate::config::DmcaSettings;
use crate::media::{BufferError, MediaBuffer};
use crate::services::lumen::wire::{
    ActionTaken, Attachment, AttachmentKind, Entity, EntityKind, EntityRole, Notice, NoticeType, Role, Work,
};

/// A supporting document's bytes, borrowed from locked memory for one call.
#[derive(Clone, Copy)]
pub struct DocumentBytes<'a> {
    /// The name recorded in the case.
    pub name: &'a str,
    /// The type recorded in the case.
    pub content_type: &'static str,
    /// The bytes.
    pub data: &'a [u8],
    /// Their SHA-256, computed as they arrived.
    pub sha256: [u8; 32],
}

/// Why the documents held for a Lumen notice cannot go with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentMismatch {
    /// None is held (they expired, or were held for someone else).
    NoneHeld,
    /// Some are, but they are not those the case recorded (by name and SHA-256).
    Other,
}

/// The held documents in the order the case recorded them, if they are exactly those it
/// recorded: the same number, and each recorded name and SHA-256 matched by one held document.
pub fn in_recorded_order<'a>(
    recorded: &[DocumentRecord],
    held: &[DocumentBytes<'a>],
) -> Result<Vec<DocumentBytes<'a>>, DocumentMismatch> {
    if held.is_empty() && !recorded.is_empty() {
        return Err(DocumentMismatch::NoneHeld);
    }
    if held.len() != recorded.len() {
        return Err(DocumentMismatch::Other);
    }
    let mut unused: Vec<Option<&DocumentBytes<'a>>> = held.iter().map(Some).collect();
    recorded
        .iter()
        .map(|record| {
            let found = unused.iter_mut().find(|slot| {
                slot.is_some_and(|document| {
                    document.name == record.name && hex::encode(document.sha256) == record.sha256
                })
            });
            found.and_then(Option::take).copied().ok_or(DocumentMismatch::Other)
        })
        .collect()
}

/// Where the Lumen and wiki steps left their marks, for the CRM case.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    /// The Lumen notice's URL.
    pub lumen_url: Option<String>,
    /// `(label, page, revision)` of each wiki notice posted.
    pub wiki_revisions: Vec<(String, String, u64)>,
}

/// The notice Lumen gets for `takedown`, with its documents (the first is the notice as
/// received; the others support it). Each document goes as a locked copy of its own
/// ([`MediaBuffer::locked_bytes`]), never a copy on the ordinary heap; without lockable memory
/// for them there is no notice.
pub fn lumen_notice(
    takedown: &Takedown,
    settings: &DmcaSettings,
    documents: &[DocumentBytes<'_>],
) -> Result<Notice, BufferError> {
    let attachments = documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            Ok(Attachment {
                kind: if i == 0 { AttachmentKind::Original } else { AttachmentKind::Supporting },
                file_name: document.name.to_owned(),
                content_type: document.content_type,
                data: MediaBuffer::locked_bytes(document.data)?,
            })
        })
        .collect::<Result<Vec<_>, BufferError>>()?;
    let organisation = |role| EntityRole {
        role,
        entity: Entity {
            name: settings.recipient_name.clone(),
            kind: EntityKind::Organization,
            country_code: settings.recipient_country.clone(),
            ..Entity::default()
        },
    };
    let mut entity_roles = vec![
        EntityRole { role: Role::Sender, entity: sender_entity(&takedown.sender) },
        organisation(Role::Recipient),
        organisation(Role::Submitter),
    ];
    // The original collected these and dropped them; Lumen has roles for both.
    if !takedown.sender.firm.is_empty() {
        entity_roles.push(named(Role::Agent, &takedown.sender.firm, EntityKind::Organization));
    }
    if !takedown.sender.person.is_empty() {
        entity_roles.push(named(Role::Attorney, &takedown.sender.person, EntityKind::Individual));
    }
    Ok(Notice {
        notice_type: NoticeType::Dmca,
        title: takedown.lumen_title.clone(),
        subject: takedown.subject.clone(),
        body: takedown.body.clone(),
        source: takedown.method.clone(),
        language: "en".into(),
        date_sent: Date::parse(&takedown.date_sent, format_description!("[year]-[month]-[day]")).ok(),
        date_received: None,
        action_taken: Some(match takedown.decision {
            Decision::Granted => ActionTaken::Yes,
            Decision::PartiallyGranted => ActionTaken::Partial,
            Decision::Denied => ActionTaken::No,
        }),
        tag_list: vec!["wikipedia".into(), "wikimedia".into()],
        jurisdiction_list: vec!["US".into()],
        works: vec![Work {
            description: String::new(),
            copyrighted_urls: takedown.original_urls.clone(),
            infringing_urls: takedown.infringing_urls(),
        }],
        entity_roles,
        attachments,
    })
}

fn sender_entity(sender: &Sender) -> Entity {
    Entity {
        name: sender.name.clone(),
        kind: EntityKind::Organization,
        address_line_1: sender.address_line_1.clone(),
        address_line_2: sender.address_line_2.clone(),
        city: sender.city.clone(),
        state: sender.state.clone(),
        zip: sender.zip.clone(),
        country_code: sender.country.clone(),
        ..Entity::default()
    }
}

fn named(role: Role, name: &str, kind: EntityKind) -> EntityRole {
    EntityRole { role, entity: Entity { name: name.to_owned(), kind, ..Entity::default() } }
}

/// The fields Lumen refused, each as an error on the form field it came from (for the
/// correction form).
pub fn lumen_refusals(refused: &[RefusedField], takedown: &Takedown) -> Vec<FieldError> {
    refused
        .iter()
        .map(|refused| FieldError {
            field: form_field_for_lumen(&refused.field, takedown),
            message: format!("Lumen says \"{}\" {}", refused.field, refused.message),
        })
        .collect()
}

/// The form field a field Lumen refused came from: `attribute` is Lumen's name from a 422
/// (`entity_notice_roles.entity.name`) or our own path from the check before sending
/// (`entity_roles[3].entity.name`). `"notice"` when it names no field the staffer typed (the
/// recipient from the settings, the tags, the language).
fn form_field_for_lumen(attribute: &str, takedown: &Takedown) -> &'static str {
    // Our paths say which entity; Lumen's do not (then it is most likely the sender's).
    let role_index = attribute
        .strip_prefix("entity_roles[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|digits| digits.parse::<usize>().ok());
    let path: String =
        attribute.split('[').map(|part| part.split_once(']').map_or(part, |(_, r)| r)).collect();
    let last = path.rsplit('.').next().unwrap_or_default();
    if path.starts_with("entity") {
        let named_field = match role_index {
            None | Some(0) => "sender_name",
            // The recipient and the submitter come from the [dmca] settings.
            Some(1 | 2) => return "notice",
            Some(3) if !takedown.sender.firm.is_empty() => "sender_firm",
            Some(_) => "sender_person",
        };
        return match last {
            "address_line_1" => "sender_address_1",
            "address_line_2" => "sender_address_2",
            "city" => "sender_city",
            "state" => "sender_state",
            "zip" => "sender_zip",
            "country_code" => "sender_country",
            _ => named_field,
        };
    }
    if path.starts_with("works") {
        return if path.contains("infringing") {
            if takedown.affected_files.is_empty() { "affected_pages" } else { "affected_files" }
        } else {
            "original_urls"
        };
    }
    match path.as_str() {
        "title" => "lumen_title",
        "subject" => "subject",
        "body" => "body",
        "source" => "method",
        "date_sent" | "date_received" => "date_sent",
        _ if path.starts_with("file_uploads") || path.starts_with("attachments") => "documents",
        _ => "notice",
    }
}

/// The Salesforce Case for `takedown`: the original CRM case (name, a link to the log entry,
/// closed, DMCA) and its note (the foundation wiki page, the Lumen link, the users), in one
/// record, upserted by our case ID.
pub fn salesforce_fields(
    takedown: &Takedown,
    case: CaseId,
    case_url: &str,
    staff: &str,
    marks: &Marks,
) -> Map<String, Value> {
    let subject = if takedown.wmf_title.is_empty() {
        format!(
            "DMCA notice from {}",
            if takedown.sender.name.is_empty() { "an unnamed sender" } else { &takedown.sender.name }
        )
    } else {
        takedown.wmf_title.clone()
    };
    let subject = if takedown.test { format!("[TEST] {subject}") } else { subject };
    let mut lines = vec![format!("Takedown case {case}: {case_url}")];
    if takedown.test {
        lines.push("This submission was marked as a test.".into());
    }
    lines.push(format!("Recorded by: {staff}"));
    lines.push(format!("Decision: {}", takedown.decision.label()));
    lines.push(format!("Project: {} ({})", takedown.project.label, takedown.project.host));
    let sender = &takedown.sender;
    let sender_parts: Vec<&str> = [
        &sender.name,
        &sender.person,
        &sender.firm,
        &sender.city,
        &sender.state,
        &sender.zip,
        &sender.country,
    ]
    .into_iter()
    .map(String::as_str)
    .filter(|part| !part.is_empty())
    .collect();
    lines.push(format!(
        "Sender: {}",
        if sender_parts.is_empty() { "not given".into() } else { sender_parts.join(", ") }
    ));
    for (label, value) in [
        ("Date sent", &takedown.date_sent),
        ("Received by", &takedown.method),
        ("Subject", &takedown.subject),
        ("Lumen title", &takedown.lumen_title),
    ] {
        if !value.is_empty() {
            lines.push(format!("{label}: {value}"));
        }
    }
    for (label, values) in [
        ("Users who added the content", &takedown.involved_users),
        ("Affected files", &takedown.affected_files),
        ("Affected pages", &takedown.affected_pages),
        ("Original works", &takedown.original_urls),
    ] {
        if !values.is_empty() {
            lines.push(format!("{label}: {}", values.join("; ")));
        }
    }
    for statement in &takedown.statements {
        lines.push(format!("Statement: {}", statement.sentence()));
    }
    for reason in &takedown.strike_reasons {
        lines.push(format!("Not a strike: {}", reason.sentence()));
    }
    if !takedown.strike_other.is_empty() {
        lines.push(format!("Other reason: {}", takedown.strike_other));
    }
    for document in &takedown.documents {
        lines.push(format!(
            "Supporting document: {} ({} bytes, SHA-256 {})",
            document.name, document.size, document.sha256
        ));
    }
    if !takedown.wmf_title.is_empty() && takedown.post_wiki_notices {
        lines.push(format!("Foundation wiki page: Legal:{}", takedown.wmf_title.replace(' ', "_")));
    }
    lines.push(match &marks.lumen_url {
        Some(url) => format!("Lumen: {url}"),
        None if takedown.send_to_lumen => "Lumen: not sent yet".into(),
        None => "Lumen: not sent".into(),
    });
    for (label, page, revision) in &marks.wiki_revisions {
        lines.push(format!("{label}: {page}, revision {revision}"));
    }
    let mut description = lines.join("\n");
    if description.chars().count() > 31_000 {
        description =
            description.chars().take(31_000).collect::<String>() + "\n[cut: see the case in Takedown]";
    }
    let mut fields = Map::new();
    fields.insert("Subject".into(), Value::String(subject.chars().take(255).collect()));
    fields.insert("Description".into(), Value::String(description));
    fields.insert("Status".into(), Value::String("Closed".into()));
    fields.insert("Type".into(), Value::String("DMCA".into()));
    fields.insert("Origin".into(), Value::String("Takedown".into()));
    fields
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dmca::model::{DocumentRecord, Project};

    pub(crate) fn takedown() -> Takedown {
        Takedown {
            test: false,
            send_to_lumen: true,
            post_wiki_notices: true,
            project: Project {
                dbname: "commonswiki".into(),
                host: "commons.wikimedia.org".into(),
                label: "Commons".into(),
            },
            sender: Sender {
                name: "Acme".into(),
                firm: "Law & Co".into(),
                country: "US".into(),
                ..Sender::default()
            },
            date_sent: "2026-11-20".into(),
            method: "email".into(),
            to: "legal@wikimedia.org".into(),
            from: "a@acme.example".into(),
            subject: "Infringement".into(),
            body: "Remove it".into(),
            involved_users: vec!["Uploader".into()],
            affected_files: vec!["A.jpg".into(), "B.jpg".into()],
            affected_pages: vec![],
            original_urls: vec!["https://acme.example/a".into()],
            decision: Decision::Granted,
            statements: vec![],
            strike_reasons: vec![],
            strike_other: String::new(),
            lumen_title: "DMCA".into(),
            commons_title: "Acme".into(),
            wmf_title: "DMCA Acme".into(),
            documents: vec![DocumentRecord {
                name: "n.pdf".into(),
                size: 3,
                sha256: "00".into(),
                content_type: "application/pdf".into(),
            }],
            wiki_lookup: None,
        }
    }

    #[test]
    fn the_documents_lumen_gets_stay_in_locked_memory_not_the_heap() {
        let held = MediaBuffer::locked_bytes(b"%PDF a held document").unwrap();
        assert!(crate::media::buffer::is_protected(held.as_ptr() as usize), "control: a held document");
        let on_heap = b"%PDF a heap copy".to_vec();
        assert!(!crate::media::buffer::is_protected(on_heap.as_ptr() as usize), "control: the heap");
        let documents = [DocumentBytes {
            name: "notice.pdf",
            content_type: "application/pdf",
            data: &held,
            sha256: [0; 32],
        }];
        let notice = lumen_notice(&takedown(), &DmcaSettings::default(), &documents).unwrap();
        for attachment in &notice.attachments {
            assert!(
                crate::media::buffer::is_protected(attachment.data.as_ptr() as usize),
                "a document Lumen gets was copied to the ordinary heap"
            );
        }
    }

    #[test]
    fn only_the_recorded_documents_go_and_in_the_recorded_order() {
        let document = |name: &'static str, data: &'static [u8]| {
            use sha2::Digest as _;
            DocumentBytes {
                name,
                content_type: "application/pdf",
                data,
                sha256: sha2::Sha256::digest(data).into(),
            }
        };
        let record = |d: &DocumentBytes<'_>| DocumentRecord {
            name: d.name.to_owned(),
            size: d.data.len() as u64,
            sha256: hex::encode(d.sha256),
            content_type: d.content_type.to_owned(),
        };
        let (notice, scan) = (document("notice.pdf", b"%PDF notice"), document("scan.pdf", b"%PDF scan"));
        let recorded = [record(&notice), record(&scan)];
        let sent = in_recorded_order(&recorded, &[scan, notice]).unwrap();
        assert_eq!(sent.iter().map(|d| d.name).collect::<Vec<_>>(), ["notice.pdf", "scan.pdf"]);
        let other_bytes = document("scan.pdf", b"%PDF other");
        let other_name = document("other.pdf", b"%PDF scan");
        for held in [
            &[notice, other_bytes][..],
            &[notice, other_name],
            &[notice],
            &[notice, scan, scan],
            &[notice, notice],
        ] {
            assert_eq!(in_recorded_order(&recorded, held).err(), Some(DocumentMismatch::Other));
        }
        assert_eq!(in_recorded_order(&recorded, &[]).err(), Some(DocumentMismatch::NoneHeld));
        assert!(in_recorded_order(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn the_lumen_notice_carries_every_document_url_and_role() {
        let documents = [
            DocumentBytes {
                name: "notice.pdf",
                content_type: "application/pdf",
                data: b"%PDF",
                sha256: [0; 32],
            },
            DocumentBytes { name: "scan.png", content_type: "image/png", data: b"PNG", sha256: [0; 32] },
        ];
        let notice = lumen_notice(&takedown(), &DmcaSettings::default(), &documents).unwrap();
        assert_eq!(notice.attachments.len(), 2);
        assert_eq!(notice.attachments[0].kind, AttachmentKind::Original);
        assert_eq!(notice.works[0].infringing_urls.len(), 2);
        assert_eq!(notice.action_taken, Some(ActionTaken::Yes));
        let roles: Vec<Role> = notice.entity_roles.iter().map(|r| r.role).collect();
        assert_eq!(roles, [Role::Sender, Role::Recipient, Role::Submitter, Role::Agent]);
        let url = url::Url::parse("https://lumen.example").unwrap();
        crate::services::lumen::wire::build_create_notice(&url, "token", &notice)
            .expect("Lumen would take it");
    }

    #[test]
    fn a_takedowns_debug_output_shows_its_shape_not_its_text() {
        let shown = format!("{:?}", takedown());
        assert!(shown.contains("Granted") && shown.contains("documents: 1"), "{shown}");
        for text in ["Acme", "Remove it", "A.jpg", "n.pdf", "Law & Co"] {
            assert!(!shown.contains(text), "{text} in {shown}");
        }
    }

    #[test]
    fn the_crm_case_names_the_case_the_links_and_marks_tests() {
        let case = CaseId::generate();
        let marks = Marks {
            lumen_url: Some("https://lumen.example/notices/7".into()),
            wiki_revisions: vec![("Commons DMCA noticeboard".into(), "Commons:X".into(), 42)],
        };
        let fields = salesforce_fields(
            &Takedown { test: true, ..takedown() },
            case,
            "https://t/cases/x",
            "dmca-agent",
            &marks,
        );
        assert_eq!(fields["Subject"], "[TEST] DMCA Acme");
        let description = fields["Description"].as_str().unwrap();
        for needle in [
            case.to_string().as_str(),
            "marked as a test",
            "notices/7",
            "revision 42",
            "A.jpg; B.jpg",
            "n.pdf",
        ] {
            assert!(description.contains(needle), "{needle}: {description}");
        }
    }

    #[test]
    fn lumen_field_names_lead_back_to_the_form_fields_they_came_from() {
        let mut takedown = takedown();
        for (attribute, field) in [
            ("title", "lumen_title"),
            ("date_sent", "date_sent"),
            ("source", "method"),
            ("works.copyrighted_urls.url", "original_urls"),
            ("works[0].copyrighted_urls[1]", "original_urls"),
            ("works.infringing_urls.url", "affected_files"),
            ("entity_notice_roles.entity.name", "sender_name"),
            ("entity_notice_roles.entity.country_code", "sender_country"),
            ("entity_roles[0].entity.zip", "sender_zip"),
            ("entity_roles[1].entity.name", "notice"),
            ("entity_roles[3].entity.name", "sender_firm"),
            ("entity_roles[4].entity.name", "sender_person"),
            ("file_uploads.file", "documents"),
            ("tag_list[0]", "notice"),
            ("", "notice"),
        ] {
            assert_eq!(form_field_for_lumen(attribute, &takedown), field, "{attribute}");
        }
        takedown.sender.firm.clear();
        assert_eq!(form_field_for_lumen("entity_roles[3].entity.name", &takedown), "sender_person");
        takedown.affected_files.clear();
        assert_eq!(form_field_for_lumen("works[0].infringing_urls[0]", &takedown), "affected_pages");
        let refused = [RefusedField { field: "title".into(), message: "can't be blank".into() }];
        let errors = lumen_refusals(&refused, &takedown);
        assert_eq!(
            (errors[0].field, errors[0].message.as_str()),
            ("lumen_title", "Lumen says \"title\" can't be blank")
        );
    }
}
