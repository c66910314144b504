//! The field checks the org applies to Case and ContentVersion bodies, and the helpers the
//! resources share (JSON bodies, error answers, `?fields=`).

use serde_json::{Map, Value};

use super::{API_VERSION, Salesforce, error_entry, errors, well_formed_id};
use crate::request::{PeerRequest, PeerResponse};

/// What a field holds, for the checks made on values.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Text of at most this many characters.
    Text(usize),
    /// An unrestricted picklist (any text).
    Picklist,
    /// A restricted picklist: one of these values.
    Restricted(&'static [&'static str]),
    Email,
    /// A lookup: a record id.
    Id,
    Bool,
    /// Base64 file content (`VersionData`).
    Blob,
}

/// One sObject's writable fields and its read-only ones.
pub(super) struct Sobject {
    pub(super) name: &'static str,
    pub(super) fields: &'static [(&'static str, Kind)],
    pub(super) read_only: &'static [&'static str],
}

pub(super) const CASE: Sobject = Sobject {
    name: "Case",
    fields: &[
        ("AccountId", Kind::Id),
        ("AssetId", Kind::Id),
        ("BusinessHoursId", Kind::Id),
        ("Comments", Kind::Text(4000)),
        ("ContactId", Kind::Id),
        ("Description", Kind::Text(32000)),
        ("EntitlementId", Kind::Id),
        ("IsEscalated", Kind::Bool),
        ("Language", Kind::Picklist),
        ("Origin", Kind::Picklist),
        ("OwnerId", Kind::Id),
        ("ParentId", Kind::Id),
        ("Priority", Kind::Restricted(&["High", "Medium", "Low"])),
        ("ProductId", Kind::Id),
        ("Reason", Kind::Picklist),
        ("RecordTypeId", Kind::Id),
        ("ServiceContractId", Kind::Id),
        ("SlaStartDate", Kind::Text(40)),
        ("SourceId", Kind::Id),
        ("Status", Kind::Picklist),
        ("StopStartDate", Kind::Text(40)),
        ("Subject", Kind::Text(255)),
        ("SuppliedCompany", Kind::Text(80)),
        ("SuppliedEmail", Kind::Email),
        ("SuppliedName", Kind::Text(80)),
        ("SuppliedPhone", Kind::Text(40)),
        ("Type", Kind::Picklist),
    ],
    read_only: &[
        "CaseNumber",
        "ClosedDate",
        "ContactEmail",
        "ContactFax",
        "ContactMobile",
        "ContactPhone",
        "CreatedById",
        "CreatedDate",
        "IsClosed",
        "IsDeleted",
        "LastModifiedById",
        "LastModifiedDate",
        "LastReferencedDate",
        "LastViewedDate",
        "MasterRecordId",
        "SystemModstamp",
    ],
};

pub(super) const CONTENT_VERSION: Sobject = Sobject {
    name: "ContentVersion",
    fields: &[
        ("ContentDocumentId", Kind::Id),
        ("ContentLocation", Kind::Restricted(&["S", "E", "L"])),
        ("ContentUrl", Kind::Text(1333)),
        ("Description", Kind::Text(1000)),
        ("FirstPublishLocationId", Kind::Id),
        ("Origin", Kind::Restricted(&["C", "H"])),
        ("OwnerId", Kind::Id),
        ("PathOnClient", Kind::Text(500)),
        ("ReasonForChange", Kind::Text(1000)),
        ("SharingOption", Kind::Restricted(&["A", "R"])),
        ("SharingPrivacy", Kind::Restricted(&["N", "P"])),
        ("TagCsv", Kind::Text(2000)),
        ("Title", Kind::Text(255)),
        ("VersionData", Kind::Blob),
    ],
    read_only: &[
        "Checksum",
        "ContentSize",
        "CreatedById",
        "CreatedDate",
        "FileExtension",
        "FileType",
        "IsDeleted",
        "IsLatest",
        "LastModifiedById",
        "LastModifiedDate",
        "SystemModstamp",
        "VersionNumber",
    ],
};

/// Fields under their API names, and an error entry for each bad value.
pub(super) type Checked = (Map<String, Value>, Vec<Value>);

/// Longest text a custom field takes (a long text area's maximum).
const CUSTOM_TEXT_LIMIT: usize = 131_072;

pub(super) fn bad_request(entries: Vec<Value>) -> PeerResponse {
    PeerResponse::json(400, &errors(entries))
}

pub(super) fn one_error(status: u16, code: &str, message: &str, fields: Option<&[String]>) -> PeerResponse {
    PeerResponse::json(status, &errors(vec![error_entry(code, message, fields)]))
}

/// Whether a name is a custom field's API name: letters, digits and single underscores,
/// starting with a letter, ending in `__c`.
pub(super) fn custom_field_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix("__c") else { return false };
    stem.starts_with(|c: char| c.is_ascii_alphabetic())
        && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !stem.contains("__")
        && !stem.ends_with('_')
}

/// The value as text, for comparing external IDs.
pub(super) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The JSON object a body holds: 415 for another type, 400 `JSON_PARSER_ERROR` if broken.
pub(super) fn json_object(request: &PeerRequest) -> Result<Map<String, Value>, PeerResponse> {
    let media = request.media_type();
    if media != "application/json" {
        let message = format!("Content-Type header specified in HTTP request is not supported: {media}");
        return Err(one_error(415, "UNSUPPORTED_MEDIA_TYPE", &message, None));
    }
    parse_object(&request.body)
}

pub(super) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, PeerResponse> {
    if body.iter().all(u8::is_ascii_whitespace) {
        let message = "The HTTP entity body is required, but this request has no entity body.";
        return Err(one_error(400, "JSON_PARSER_ERROR", message, None));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(one_error(400, "JSON_PARSER_ERROR", "Expected a JSON object of field values", None)),
        Err(err) => Err(one_error(400, "JSON_PARSER_ERROR", &format!("Malformed JSON: {err}"), None)),
    }
}

/// The field names a body sets (not their values), for the journal.
pub(super) fn names(body: &Map<String, Value>) -> Vec<&str> {
    let mut names: Vec<&str> = body.keys().map(String::as_str).filter(|k| *k != "attributes").collect();
    names.sort_unstable();
    names
}

impl Salesforce {
    /// The checks every create or update makes on the body's names and values. Problems with
    /// names come alone (`Err`: the body cannot be read further); otherwise the fields under
    /// their API names, with an entry for every problem with a value.
    pub(super) fn check_fields(
        &self,
        sobject: &Sobject,
        body: &Map<String, Value>,
        url_field: Option<&str>,
    ) -> Result<Checked, Vec<Value>> {
        let mut id_given = Vec::new();
        let mut url_field_given = Vec::new();
        let mut unknown = Vec::new();
        let mut read_only = Vec::new();
        let mut fields = Vec::new();
        for (name, value) in body {
            if name == "attributes" {
                continue;
            }
            if name.eq_ignore_ascii_case("Id") {
                id_given.push(name.clone());
            } else if url_field.is_some_and(|f| f.eq_ignore_ascii_case(name)) {
                url_field_given.push(name.clone());
            } else if custom_field_name(name) {
                fields.push((name.clone(), Kind::Text(CUSTOM_TEXT_LIMIT), value));
            } else if let Some((api_name, kind)) =
                sobject.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                fields.push(((*api_name).to_owned(), *kind, value));
            } else if let Some(api_name) = sobject.read_only.iter().find(|n| n.eq_ignore_ascii_case(name)) {
                read_only.push((*api_name).to_owned());
            } else {
                unknown.push(name.clone());
            }
        }
        let mut entries = Vec::new();
        if !id_given.is_empty() {
            let message =
                "Id is assigned by the server and cannot be given in the body of a create or upsert";
            entries.push(error_entry("INVALID_FIELD", message, Some(&id_given)));
        }
        if !url_field_given.is_empty() {
            let message = format!(
                "The external ID field {} is given in the URL and must not also be in the body",
                url_field_given.join(", ")
            );
            entries.push(error_entry("INVALID_FIELD", &message, Some(&url_field_given)));
        }
        if !unknown.is_empty() {
            let message =
                format!("No such column '{}' on sobject of type {}", unknown.join("', '"), sobject.name);
            entries.push(error_entry("INVALID_FIELD", &message, Some(&unknown)));
        }
        if !read_only.is_empty() {
            let message = format!(
                "Unable to create/update fields: {}. The fields are read-only.",
                read_only.join(", ")
            );
            entries.push(error_entry("INVALID_FIELD_FOR_INSERT_UPDATE", &message, Some(&read_only)));
        }
        if !entries.is_empty() {
            return Err(entries);
        }
        let mut checked = Map::new();
        for (name, kind, value) in fields {
            if let Some(entry) = self.check_value(&name, kind, value) {
                entries.push(entry);
            }
            checked.insert(name, value.clone());
        }
        Ok((checked, entries))
    }

    fn check_value(&self, name: &str, kind: Kind, value: &Value) -> Option<Value> {
        let field = [name.to_owned()];
        if value.is_object() || value.is_array() {
            let message = format!("Cannot deserialize an object or array into the field {name}");
            return Some(error_entry("JSON_PARSER_ERROR", &message, Some(&field)));
        }
        if value.is_null() {
            return None;
        }
        let text = text_of(value).or_else(|| value.as_bool().map(|b| b.to_string())).unwrap_or_default();
        let too_long = |max: usize| {
            let message = format!("{name}: data value too large (max length={max})");
            error_entry("STRING_TOO_LONG", &message, Some(&field))
        };
        match kind {
            Kind::Text(max) if text.chars().count() > max => Some(too_long(max)),
            Kind::Picklist if text.chars().count() > 255 => Some(too_long(255)),
            Kind::Restricted(allowed) if !allowed.contains(&text.as_str()) => {
                let message = format!("{name}: bad value for restricted picklist field: {text}");
                Some(error_entry("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", &message, Some(&field)))
            }
            Kind::Email if !plausible_email(&text) => {
                let message = format!("{name}: invalid email address: {text}");
                Some(error_entry("INVALID_EMAIL_ADDRESS", &message, Some(&field)))
            }
            Kind::Id if !well_formed_id(&text) => {
                let message = format!("{name}: id value of incorrect type: {text}");
                Some(error_entry("MALFORMED_ID", &message, Some(&field)))
            }
            Kind::Bool if !value.is_boolean() => {
                let message = format!("Cannot deserialize a boolean from {value} for the field {name}");
                Some(error_entry("JSON_PARSER_ERROR", &message, Some(&field)))
            }
            Kind::Blob if !value.is_string() => {
                let message = format!("{name} must be base64 text");
                Some(error_entry("JSON_PARSER_ERROR", &message, Some(&field)))
            }
            Kind::Blob if text.len() > self.json_blob_limit => Some(too_long(self.json_blob_limit)),
            _ => None,
        }
    }
}

fn plausible_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
    }) && !text.contains(char::is_whitespace)
}

pub(super) fn sobject_url(sobject: &str, id: &str) -> String {
    format!("/services/data/v{API_VERSION}/sobjects/{sobject}/{id}")
}

/// The record cut down to the `fields` query parameter (always with `attributes` and `Id`).
pub(super) fn select(
    sobject: &Sobject,
    record: Map<String, Value>,
    request: &PeerRequest,
) -> Result<Map<String, Value>, PeerResponse> {
    let Some((_, wanted)) = request.query_pairs().into_iter().find(|(k, _)| k == "fields") else {
        return Ok(record);
    };
    let mut selected = Map::new();
    for key in ["attributes", "Id"] {
        if let Some(value) = record.get(key) {
            selected.insert(key.to_owned(), value.clone());
        }
    }
    for name in wanted.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match record.iter().find(|(k, _)| k.eq_ignore_ascii_case(name) && *k != "attributes") {
            Some((key, value)) => {
                selected.insert(key.clone(), value.clone());
            }
            None if custom_field_name(name) => {
                selected.insert(name.to_owned(), Value::Null);
            }
            None => {
                let message = format!("No such column '{name}' on entity '{}'", sobject.name);
                return Err(one_error(400, "INVALID_FIELD", &message, Some(&[name.to_owned()])));
            }
        }
    }
    Ok(selected)
}
