//! The Case resource: create, upsert by external ID, read.

use http::Method;
use serde_json::{Map, Value, json};

use super::fields::{
    CASE, bad_request, custom_field_name, json_object, names, one_error, select, sobject_url, text_of,
};
use super::{
    Case, Salesforce, State, case_number, error_entry, method_not_allowed, not_found, record_id, same_id,
};
use crate::request::{PeerRequest, PeerResponse};

/// The checks that need the org's records: `Subject` present once the fields are merged into
/// `existing` (if any), and no value of a field used as an external ID held by another Case.
fn case_rules(state: &State, fields: &Map<String, Value>, existing: Option<usize>) -> Vec<Value> {
    let mut entries = Vec::new();
    let subject = match fields.get("Subject") {
        Some(value) => Some(value),
        None => existing.and_then(|i| state.cases[i].fields.get("Subject")),
    };
    if subject.and_then(Value::as_str).is_none_or(str::is_empty) {
        let field = ["Subject".to_owned()];
        entries.push(error_entry(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Subject]",
            Some(&field),
        ));
    }
    for (name, value) in fields {
        if !state.external_fields.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            continue;
        }
        let Some(text) = text_of(value) else { continue };
        let holder = state.cases.iter().enumerate().find(|(i, case)| {
            Some(*i) != existing
                && case
                    .fields
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(name) && text_of(v).as_ref() == Some(&text))
        });
        if let Some((_, case)) = holder {
            let message =
                format!("duplicate value found: {name} duplicates value on record with id: {}", case.id);
            entries.push(error_entry("DUPLICATE_VALUE", &message, Some(std::slice::from_ref(name))));
        }
    }
    entries
}

/// Sets the fields on a record: a `null` clears a field.
fn merge(record: &mut Map<String, Value>, fields: Map<String, Value>) {
    for (name, value) in fields {
        record.retain(|k, _| !k.eq_ignore_ascii_case(&name));
        if !value.is_null() {
            record.insert(name, value);
        }
    }
}

fn new_case(state: &mut State, external_id: Option<(String, String)>, fields: Map<String, Value>) -> String {
    let number = state.cases.len() as u64 + 1001;
    let id = record_id("500", state.cases.len() as u64 + 1);
    let mut record = Map::new();
    merge(&mut record, fields);
    state.cases.push(Case { id: id.clone(), number, external_id, fields: record });
    id
}

impl Salesforce {
    /// `POST sobjects/Case/`.
    pub(super) fn case_create(&self, state: &mut State, request: &PeerRequest) -> (PeerResponse, Value) {
        if request.method != Method::POST {
            return (method_not_allowed(&request.method, "POST"), json!({"refused": "method"}));
        }
        let body = match json_object(request) {
            Ok(body) => body,
            Err(response) => return (response, json!({"refused": "body"})),
        };
        let mut received = json!({
            "fields": names(&body),
            "auto_assign": request.header("sforce-auto-assign"),
        });
        let (fields, mut entries) = match self.check_fields(&CASE, &body, None) {
            Ok(checked) => checked,
            Err(entries) => {
                received["outcome"] = json!("refused");
                return (bad_request(entries), received);
            }
        };
        entries.extend(case_rules(state, &fields, None));
        if !entries.is_empty() {
            received["outcome"] = json!("refused");
            return (bad_request(entries), received);
        }
        let id = new_case(state, None, fields);
        received["outcome"] = json!("created");
        received["id"] = json!(id);
        (PeerResponse::json(201, &json!({"id": id, "success": true, "errors": []})), received)
    }

    /// `PATCH sobjects/Case/<Field__c>/<value>`: upsert by external ID.
    pub(super) fn case_upsert(
        &self,
        state: &mut State,
        request: &PeerRequest,
        field: &str,
        value: &str,
    ) -> (PeerResponse, Value) {
        let mut received = json!({"external_id_field": field, "external_id": value});
        if !custom_field_name(field) || value.is_empty() {
            let message = format!("Provided external ID field does not exist or is not accessible: {field}");
            received["outcome"] = json!("refused");
            return (one_error(404, "NOT_FOUND", &message, None), received);
        }
        if request.method == Method::GET {
            return self.case_by_external_id(state, request, field, value);
        }
        if request.method != Method::PATCH {
            received["outcome"] = json!("refused");
            return (method_not_allowed(&request.method, "GET, PATCH"), received);
        }
        let body = match json_object(request) {
            Ok(body) => body,
            Err(response) => {
                received["outcome"] = json!("refused");
                return (response, received);
            }
        };
        received["fields"] = json!(names(&body));
        received["auto_assign"] = json!(request.header("sforce-auto-assign"));
        let (fields, mut entries) = match self.check_fields(&CASE, &body, Some(field)) {
            Ok(checked) => checked,
            Err(entries) => {
                received["outcome"] = json!("refused");
                return (bad_request(entries), received);
            }
        };
        state.external_fields.insert(field.to_owned());
        let matching: Vec<usize> = state
            .cases
            .iter()
            .enumerate()
            .filter(|(_, case)| {
                case.fields
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(field) && text_of(v).as_deref() == Some(value))
            })
            .map(|(i, _)| i)
            .collect();
        let existing = match matching.as_slice() {
            [] => None,
            [one] => Some(*one),
            several => {
                let urls: Vec<String> =
                    several.iter().map(|i| sobject_url("Case", &state.cases[*i].id)).collect();
                received["outcome"] = json!("several records match");
                return (PeerResponse::json(300, &json!(urls)), received);
            }
        };
        entries.extend(case_rules(state, &fields, existing));
        if !entries.is_empty() {
            received["outcome"] = json!("refused");
            return (bad_request(entries), received);
        }
        let (id, status, created) = match existing {
            Some(index) => {
                let case = &mut state.cases[index];
                merge(&mut case.fields, fields);
                (case.id.clone(), 200, false)
            }
            None => {
                let mut fields = fields;
                fields.insert(field.to_owned(), json!(value));
                (new_case(state, Some((field.to_owned(), value.to_owned())), fields), 201, true)
            }
        };
        received["outcome"] = json!(if created { "created" } else { "updated" });
        received["id"] = json!(id);
        let body = json!({"id": id, "success": true, "errors": [], "created": created});
        (PeerResponse::json(status, &body), received)
    }

    /// `GET sobjects/Case/<Field__c>/<value>`: the record with that external ID, as
    /// `GET sobjects/Case/<id>` gives it; 404 `NOT_FOUND` when none has it, 300 when several do.
    fn case_by_external_id(
        &self,
        state: &mut State,
        request: &PeerRequest,
        field: &str,
        value: &str,
    ) -> (PeerResponse, Value) {
        let matching: Vec<String> = state
            .cases
            .iter()
            .filter(|case| {
                case.fields
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(field) && text_of(v).as_deref() == Some(value))
            })
            .map(|case| case.id.clone())
            .collect();
        match matching.as_slice() {
            [] => (
                not_found(),
                json!({"external_id_field": field, "external_id": value, "outcome": "not found"}),
            ),
            [id] => {
                let id = id.clone();
                self.case_get(state, request, &id)
            }
            several => {
                let urls: Vec<String> = several.iter().map(|id| sobject_url("Case", id)).collect();
                (PeerResponse::json(300, &json!(urls)), json!({"outcome": "several records match"}))
            }
        }
    }

    /// `GET sobjects/Case/<id>`.
    pub(super) fn case_get(
        &self,
        state: &mut State,
        request: &PeerRequest,
        id: &str,
    ) -> (PeerResponse, Value) {
        let received = json!({"id": id, "query": request.query});
        if request.method != Method::GET {
            return (method_not_allowed(&request.method, "GET"), received);
        }
        let Some(case) = state.cases.iter().find(|case| same_id(id, &case.id)) else {
            return (not_found(), received);
        };
        let mut record = Map::new();
        record.insert("attributes".into(), json!({"type": "Case", "url": sobject_url("Case", &case.id)}));
        record.insert("Id".into(), json!(case.id));
        record.insert("CaseNumber".into(), json!(case_number(case.number)));
        record.insert("IsDeleted".into(), json!(false));
        for (name, _) in CASE.fields {
            let value = case.fields.get(*name).cloned().unwrap_or(Value::Null);
            let value = match (*name, value) {
                ("Status", Value::Null) => json!("New"),
                ("Priority", Value::Null) => json!("Medium"),
                ("IsEscalated", Value::Null) => json!(false),
                (_, value) => value,
            };
            record.insert((*name).to_owned(), value);
        }
        let closed = record.get("Status").and_then(Value::as_str) == Some("Closed");
        record.insert("IsClosed".into(), json!(closed));
        for (name, value) in &case.fields {
            if custom_field_name(name) {
                record.insert(name.clone(), value.clone());
            }
        }
        match select(&CASE, record, request) {
            Ok(record) => (PeerResponse::json(200, &Value::Object(record)), received),
            Err(response) => (response, received),
        }
    }
}
