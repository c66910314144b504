//! The ContentVersion resource (Salesforce Files): upload as JSON or multipart, read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::Method;
use md5::Md5;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::fields::{
    CONTENT_VERSION, bad_request, json_object, names, one_error, parse_object, select, sobject_url,
};
use super::{
    ContentVersion, Salesforce, State, error_entry, method_not_allowed, not_found, record_id, same_id,
};
use crate::request::{PeerRequest, PeerResponse, hex, upload_summary};

impl Salesforce {
    /// `POST sobjects/ContentVersion/`, JSON with base64 `VersionData` or multipart.
    pub(super) fn content_version_create(
        &self,
        state: &mut State,
        request: &PeerRequest,
    ) -> (PeerResponse, Value) {
        if request.method != Method::POST {
            return (method_not_allowed(&request.method, "POST"), json!({"refused": "method"}));
        }
        let (body, file, encoding) = match request.media_type().as_str() {
            "multipart/form-data" => match multipart_parts(request) {
                Ok((body, file)) => (body, Some(file), "multipart"),
                Err(response) => return (response, json!({"encoding": "multipart", "refused": "parts"})),
            },
            _ => match json_object(request) {
                Ok(body) => (body, None, "json"),
                Err(response) => return (response, json!({"encoding": "json", "refused": "body"})),
            },
        };
        let mut received = json!({
            "encoding": encoding,
            "fields": names(&body),
            "title": body.get("Title"),
            "path_on_client": body.get("PathOnClient"),
            "case_id": body.get("FirstPublishLocationId"),
        });
        let refuse = |mut received: Value, response: PeerResponse| {
            received["outcome"] = json!("refused");
            (response, received)
        };
        let mut fields = match self.check_fields(&CONTENT_VERSION, &body, None) {
            Ok((fields, entries)) if entries.is_empty() => fields,
            Ok((_, entries)) | Err(entries) => return refuse(received, bad_request(entries)),
        };
        let data = match (file, fields.remove("VersionData")) {
            (Some(file), None) => file,
            (None, Some(Value::String(b64))) => match STANDARD.decode(b64.as_bytes()) {
                Ok(data) => data,
                Err(err) => {
                    let message = format!("VersionData is not valid base64: {err}");
                    return refuse(
                        received,
                        one_error(400, "JSON_PARSER_ERROR", &message, Some(&["VersionData".into()])),
                    );
                }
            },
            (Some(_), Some(_)) => {
                let message = "VersionData given both in entity_content and as a binary part";
                return refuse(received, one_error(400, "INVALID_MULTIPART_REQUEST", message, None));
            }
            (None, _) => {
                let message = "Required fields are missing: [VersionData]";
                let field = ["VersionData".to_owned()];
                return refuse(received, one_error(400, "REQUIRED_FIELD_MISSING", message, Some(&field)));
            }
        };
        received["file"] = upload_summary(&data);
        let mut entries = Vec::new();
        let path_on_client = fields.get("PathOnClient").and_then(Value::as_str).unwrap_or("").to_owned();
        if path_on_client.is_empty() {
            let field = ["PathOnClient".to_owned()];
            entries.push(error_entry(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [PathOnClient]",
                Some(&field),
            ));
        }
        let mut case_id = None;
        if let Some(given) = fields.get("FirstPublishLocationId").and_then(Value::as_str) {
            match state.cases.iter().find(|case| same_id(given, &case.id)) {
                Some(case) => case_id = Some(case.id.clone()),
                None => {
                    let message = format!(
                        "FirstPublishLocationId: no record of this org can hold files with id {given}"
                    );
                    let field = ["FirstPublishLocationId".to_owned()];
                    entries.push(error_entry("FIELD_INTEGRITY_EXCEPTION", &message, Some(&field)));
                }
            }
        }
        let mut document = None;
        if let Some(given) = fields.get("ContentDocumentId").and_then(Value::as_str) {
            match state.versions.iter().rev().find(|v| same_id(given, &v.document_id)) {
                Some(latest) => {
                    document =
                        Some((latest.document_id.clone(), latest.version_number, latest.case_id.clone()))
                }
                None => {
                    let message = format!("ContentDocumentId: no document with id {given}");
                    let field = ["ContentDocumentId".to_owned()];
                    entries.push(error_entry("FIELD_INTEGRITY_EXCEPTION", &message, Some(&field)));
                }
            }
        }
        if !entries.is_empty() {
            return refuse(received, bad_request(entries));
        }
        let (document_id, version_number, case_id) = match document {
            Some((document_id, previous, linked)) => (document_id, previous + 1, case_id.or(linked)),
            None => {
                state.documents += 1;
                (record_id("069", state.documents), 1, case_id)
            }
        };
        let title = match fields.get("Title").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            Some(title) => title.to_owned(),
            None => default_title(&path_on_client),
        };
        let id = record_id("068", state.versions.len() as u64 + 1);
        let extra: Map<String, Value> = fields
            .into_iter()
            .filter(|(k, v)| {
                !v.is_null()
                    && !matches!(
                        k.as_str(),
                        "Title" | "PathOnClient" | "FirstPublishLocationId" | "ContentDocumentId"
                    )
            })
            .collect();
        received["outcome"] = json!("created");
        received["id"] = json!(id);
        received["case_id"] = json!(case_id);
        received["title"] = json!(title);
        state.versions.push(ContentVersion {
            id: id.clone(),
            document_id,
            case_id,
            version_number,
            title,
            path_on_client,
            encoding,
            bytes: data.len(),
            sha256: hex(&Sha256::digest(&data)),
            md5: hex(&Md5::digest(&data)),
            extra,
        });
        (PeerResponse::json(201, &json!({"id": id, "success": true, "errors": []})), received)
    }

    /// `GET sobjects/ContentVersion/<id>` (`?fields=ContentDocumentId`).
    pub(super) fn content_version_get(
        &self,
        state: &mut State,
        request: &PeerRequest,
        id: &str,
    ) -> (PeerResponse, Value) {
        let received = json!({"id": id, "query": request.query});
        if request.method != Method::GET {
            return (method_not_allowed(&request.method, "GET"), received);
        }
        let Some(version) = state.versions.iter().find(|v| same_id(id, &v.id)) else {
            return (not_found(), received);
        };
        let latest = state
            .versions
            .iter()
            .filter(|v| v.document_id == version.document_id)
            .map(|v| v.version_number)
            .max();
        let extension = version.path_on_client.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
        let mut record = Map::new();
        record.insert(
            "attributes".into(),
            json!({"type": "ContentVersion", "url": sobject_url("ContentVersion", &version.id)}),
        );
        record.insert("Id".into(), json!(version.id));
        record.insert("ContentDocumentId".into(), json!(version.document_id));
        record.insert("Title".into(), json!(version.title));
        record.insert("PathOnClient".into(), json!(version.path_on_client));
        record.insert("FileExtension".into(), json!(extension));
        record.insert(
            "FileType".into(),
            json!(extension.as_deref().map_or("UNKNOWN".into(), str::to_ascii_uppercase)),
        );
        record.insert("ContentSize".into(), json!(version.bytes));
        record.insert("Checksum".into(), json!(version.md5));
        record.insert("VersionNumber".into(), json!(version.version_number.to_string()));
        record.insert("IsLatest".into(), json!(latest == Some(version.version_number)));
        record.insert("FirstPublishLocationId".into(), json!(version.case_id));
        record.insert("ContentLocation".into(), json!("S"));
        record.insert(
            "VersionData".into(),
            json!(format!("{}/VersionData", sobject_url("ContentVersion", &version.id))),
        );
        for (name, value) in &version.extra {
            record.insert(name.clone(), value.clone());
        }
        match select(&CONTENT_VERSION, record, request) {
            Ok(record) => (PeerResponse::json(200, &Value::Object(record)), received),
            Err(response) => (response, received),
        }
    }
}

/// The file name without its extension.
fn default_title(path_on_client: &str) -> String {
    let name = path_on_client.rsplit(['/', '\\']).next().unwrap_or(path_on_client);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => name.to_owned(),
    }
}

/// The `entity_content` JSON part (which must come first) and the `VersionData` file part.
fn multipart_parts(request: &PeerRequest) -> Result<(Map<String, Value>, Vec<u8>), PeerResponse> {
    let invalid = |message: &str| one_error(400, "INVALID_MULTIPART_REQUEST", message, None);
    let Some(parts) = &request.form else {
        return Err(invalid("The multipart body could not be parsed"));
    };
    let entity = parts.iter().position(|p| p.name == "entity_content");
    let file = parts.iter().position(|p| p.name == "VersionData");
    match (entity, file) {
        (None, _) => Err(invalid("The entity_content part with the record's fields is missing")),
        (Some(_), None) => Err(invalid("The binary part VersionData is missing")),
        (Some(e), Some(f)) if e > f => {
            Err(invalid("The entity_content part must come before the binary part"))
        }
        (Some(e), Some(f)) => {
            let entity = &parts[e];
            if entity.file_name.is_some() {
                return Err(invalid("The entity_content part must not be a file"));
            }
            if entity
                .content_type
                .as_deref()
                .is_some_and(|t| !t.to_ascii_lowercase().starts_with("application/json"))
            {
                return Err(invalid("The entity_content part must be application/json"));
            }
            let body = parse_object(&entity.data)?;
            Ok((body, parts[f].data.to_vec()))
        }
    }
}
