use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use md5::{Digest, Md5};
use serde_json::Value;

use super::schema::{self, Element};
use super::{FIRST_REPORT_ID, Ncmec};
use crate::request::{Peer, PeerRequest, PeerResponse};
use crate::{Credentials, FormPart, Options};

const USER: &str = "test-esp";
const PASSWORD: &str = "test-password";
const HOUR: Duration = Duration::from_secs(3600);

fn options(open_for: Duration, idle_for: Duration) -> Options {
    Options {
        dir: PathBuf::from("/nonexistent"),
        certificate_pem: String::new(),
        key_pem: String::new(),
        credentials: Credentials {
            lumen_submitter_tokens: Vec::new(),
            lumen_other_tokens: Vec::new(),
            ncmec_user: (USER.into(), PASSWORD.into()),
            salesforce_client_id: String::new(),
            salesforce_username: String::new(),
            salesforce_public_key_der: Vec::new(),
            wiki_oauth_client: (String::new(), String::new()),
            wiki_bot_passwords: Vec::new(),
            wiki_users: Vec::new(),
        },
        salesforce_instance_host: String::new(),
        ncmec_open_for: open_for,
        ncmec_idle_for: idle_for,
        control: false,
    }
}

fn peer() -> Ncmec {
    Ncmec::new(&options(24 * HOUR, HOUR))
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn request(method: Method, path: &str, content_type: Option<&str>, body: &[u8]) -> PeerRequest {
    let mut headers = HeaderMap::new();
    if let Some(content_type) = content_type {
        headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
    }
    headers.insert("authorization", HeaderValue::from_str(&basic(USER, PASSWORD)).unwrap());
    PeerRequest {
        method,
        path: path.into(),
        query: String::new(),
        headers,
        authority: "exttest.cybertip.org".into(),
        body: Bytes::copy_from_slice(body),
        form: None,
    }
}

fn xml_post(path: &str, body: &str) -> PeerRequest {
    request(Method::POST, path, Some("text/xml; charset=utf-8"), body.as_bytes())
}

fn multipart(path: &str, parts: Vec<FormPart>) -> PeerRequest {
    let mut request = request(Method::POST, path, Some("multipart/form-data; boundary=x"), b"");
    request.form = Some(parts);
    request
}

fn text_part(name: &str, value: &str) -> FormPart {
    FormPart {
        name: name.into(),
        file_name: None,
        content_type: None,
        data: Bytes::copy_from_slice(value.as_bytes()),
    }
}

fn file_part(file_name: &str, data: &[u8]) -> FormPart {
    FormPart {
        name: "file".into(),
        file_name: Some(file_name.into()),
        content_type: Some("image/jpeg".into()),
        data: Bytes::copy_from_slice(data),
    }
}

fn form(path: &str, id: &str) -> PeerRequest {
    let body = format!("id={id}");
    request(Method::POST, path, Some("application/x-www-form-urlencoded"), body.as_bytes())
}

/// Answers a request; returns the response's root element and the journal value.
fn call(peer: &Ncmec, request: &PeerRequest) -> (PeerResponse, Element, Value) {
    let exchange = peer.handle(request);
    assert_eq!(exchange.response.status, 200, "{:?}", String::from_utf8_lossy(&exchange.response.body));
    assert_eq!(exchange.response.content_type(), "text/xml");
    let text = std::str::from_utf8(&exchange.response.body).unwrap();
    assert!(text.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><"#), "{text}");
    let root = schema::parse(&exchange.response.body).unwrap();
    (exchange.response, root, exchange.received)
}

fn code(root: &Element) -> i32 {
    root.child("responseCode").unwrap().value().parse().unwrap()
}

fn text<'a>(root: &'a Element, name: &str) -> Option<&'a str> {
    root.child(name).map(Element::value)
}

fn names(root: &Element) -> Vec<&str> {
    root.children.iter().map(|c| c.name.as_str()).collect()
}

const INCIDENT: &str = "Child Pornography (possession, manufacture, and distribution)";

fn report_xml(incident_type: &str, between_summary_and_reporter: &str, reporting_person: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>{incident_type}</incidentType>
    <incidentDateTime>2026-05-01T12:00:00Z</incidentDateTime>
  </incidentSummary>
  {between_summary_and_reporter}
  <reporter>
    <reportingPerson>{reporting_person}</reportingPerson>
  </reporter>
  <personOrUserReported>
    <espIdentifier>98765</espIdentifier><screenName>UploaderName</screenName>
    <ipCaptureEvent><ipAddress>192.0.2.10</ipAddress><eventName>Upload</eventName>
      <dateTime>2026-05-01T11:58:00Z</dateTime></ipCaptureEvent>
  </personOrUserReported>
</report>"#
    )
}

const WEB_PAGE: &str = "<internetDetails><webPageIncident><url>https://wiki.example/File:X.jpg</url></webPageIncident></internetDetails>";
const PERSON: &str = r#"<firstName>Alex</firstName><lastName>Reviewer</lastName><email verified="true">tns@example.org</email>"#;

fn good_report() -> String {
    report_xml(INCIDENT, WEB_PAGE, PERSON)
}

/// Submits a good report and returns its id.
fn open(peer: &Ncmec) -> i64 {
    let (_, root, _) = call(peer, &xml_post("/ispws/submit", &good_report()));
    assert_eq!(code(&root), 0);
    text(&root, "reportId").unwrap().parse().unwrap()
}

/// Uploads bytes to a report and returns (fileId, hash).
fn upload(peer: &Ncmec, id: i64, data: &[u8]) -> (String, String) {
    let request =
        multipart("/ispws/upload", vec![text_part("id", &id.to_string()), file_part("evidence.jpg", data)]);
    let (_, root, _) = call(peer, &request);
    assert_eq!(code(&root), 0, "{root:?}");
    (text(&root, "fileId").unwrap().to_owned(), text(&root, "hash").unwrap().to_owned())
}

fn file_details(id: i64, file_id: &str, extra: &str) -> String {
    format!("<fileDetails><reportId>{id}</reportId><fileId>{file_id}</fileId>{extra}</fileDetails>")
}

fn snapshot_report(peer: &Ncmec, id: i64) -> Value {
    let snapshot = peer.snapshot();
    snapshot["reports"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn status_names_the_remote_user() {
    let peer = peer();
    let (_, root, _) = call(&peer, &request(Method::GET, "/ispws/status", None, b""));
    assert_eq!(names(&root), ["responseCode", "responseDescription"]);
    assert_eq!(code(&root), 0);
    assert_eq!(text(&root, "responseDescription"), Some("Remote User : test-esp, Remote Ip : 127.0.0.1"));
    assert_eq!(root.name, "reportResponse");
}

#[test]
fn every_endpoint_demands_basic_auth() {
    let peer = peer();
    for path in [
        "/ispws/status",
        "/ispws/submit",
        "/ispws/upload",
        "/ispws/fileinfo",
        "/ispws/finish",
        "/ispws/retract",
    ] {
        for authorization in
            [None, Some(basic(USER, "guessed-pass")), Some(basic("other", PASSWORD)), Some("Bearer x".into())]
        {
            let mut request = xml_post(path, &good_report());
            request.headers.remove("authorization");
            if let Some(value) = &authorization {
                request.headers.insert("authorization", HeaderValue::from_str(value).unwrap());
            }
            let exchange = peer.handle(&request);
            assert_eq!(exchange.response.status, 401, "{path} {authorization:?}");
            assert!(exchange.response.body.is_empty());
            let challenge = exchange.response.headers.iter().find(|(n, _)| n == "www-authenticate").unwrap();
            assert_eq!(challenge.1, "Basic realm=\"ispws\"");
            let journal = exchange.received.to_string();
            assert!(
                !journal.contains("guessed-pass") && !journal.contains(PASSWORD),
                "no password in the journal"
            );
        }
    }
    assert!(peer.snapshot()["reports"].as_array().unwrap().is_empty(), "nothing was filed");
}

#[test]
fn unknown_paths_wrong_methods_and_body_types_are_refused() {
    let peer = peer();
    let exchange = peer.handle(&request(Method::GET, "/ispws/nothing", None, b""));
    assert_eq!(exchange.response.status, 404);
    assert!(exchange.response.content_type().starts_with("text/html"));
    assert_eq!(peer.endpoint(&request(Method::GET, "/ispws/nothing", None, b"")), "unknown");
    assert_eq!(peer.handle(&request(Method::GET, "/status", None, b"")).response.status, 404);
    assert_eq!(peer.handle(&request(Method::GET, "/ispws/submit", None, b"")).response.status, 405);
    assert_eq!(peer.handle(&request(Method::POST, "/ispws/status", None, b"")).response.status, 405);
    let json = request(Method::POST, "/ispws/submit", Some("application/json"), good_report().as_bytes());
    assert_eq!(peer.handle(&json).response.status, 415);
    assert_eq!(peer.handle(&form("/ispws/upload", "1")).response.status, 415);
    assert!(peer.snapshot()["reports"].as_array().unwrap().is_empty());
}

#[test]
fn endpoint_names_follow_the_paths() {
    let peer = peer();
    for (path, name) in [
        ("/ispws/status", "status"),
        ("/ispws/xsd", "xsd"),
        ("/ispws/submit", "submit"),
        ("/ispws/upload", "upload"),
        ("/ispws/fileinfo", "fileinfo"),
        ("/ispws/finish", "finish"),
        ("/ispws/retract", "retract"),
    ] {
        assert_eq!(peer.endpoint(&request(Method::POST, path, None, b"")), name);
    }
}

#[test]
fn xsd_is_served() {
    let peer = peer();
    let exchange = peer.handle(&request(Method::GET, "/ispws/xsd", None, b""));
    assert_eq!(exchange.response.status, 200);
    assert!(
        std::str::from_utf8(&exchange.response.body)
            .unwrap()
            .contains("<xs:element name=\"reportResponse\">")
    );
}

#[test]
fn submit_opens_reports_with_counter_ids_and_journals_no_personal_data() {
    let peer = peer();
    let (response, root, received) = call(&peer, &xml_post("/ispws/submit", &good_report()));
    assert_eq!(names(&root), ["responseCode", "responseDescription", "reportId"]);
    assert_eq!(code(&root), 0);
    assert_eq!(text(&root, "reportId"), Some("4564654"));
    let body = std::str::from_utf8(&response.body).unwrap();
    assert!(!body.contains("xmlns"), "no namespace: {body}");
    assert_eq!(received["report_id"], FIRST_REPORT_ID);
    assert_eq!(received["incident_type"], INCIDENT);
    assert_eq!(received["internet_details"], 1);
    assert_eq!(received["persons_or_users_reported"], 1);
    let journal = received.to_string();
    for secret in ["tns@example.org", "192.0.2.10", "Alex", "UploaderName"] {
        assert!(!journal.contains(secret), "{secret} in {journal}");
    }
    assert_eq!(open(&peer), FIRST_REPORT_ID + 1);
    let report = snapshot_report(&peer, FIRST_REPORT_ID);
    assert_eq!(report["state"], "open");
    assert_eq!(report["incident_type"], INCIDENT);
    assert_eq!(report["files"], serde_json::json!([]));
}

#[test]
fn submit_accepts_bom_entities_comments_and_a_full_summary() {
    let peer = peer();
    let summary = r#"<incidentSummary><incidentType>Child Sex Trafficking</incidentType><platform>Wiki &amp; Commons</platform>
        <escalateToHighPriority>live abuse</escalateToHighPriority><reportAnnotations><spam/><sextortion>true</sextortion></reportAnnotations>
        <incidentDateTime>2026-05-01T12:00:00.250-05:00</incidentDateTime></incidentSummary>"#;
    let body = format!(
        "\u{feff}<?xml version=\"1.0\"?><!-- c --><report><batchedReport reason=\"VIRAL_POTENTIAL_MEME\"/>{summary}{WEB_PAGE}{WEB_PAGE}\
         <reporter><reportingPerson><email>a&#64;example.org</email><address><country>DE</country></address></reportingPerson>\
         <legalURL>https://example.org/legal</legalURL></reporter><victim><victimPerson/></victim></report>"
    );
    let (_, root, received) = call(&peer, &xml_post("/ispws/submit", &body));
    assert_eq!(code(&root), 0, "{root:?}");
    assert_eq!(received["internet_details"], 2);
    assert_eq!(received["persons_or_users_reported"], 0);
}

#[test]
fn submit_refuses_doctype_entities_and_broken_xml_with_4110() {
    let peer = peer();
    let doctype = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE report [<!ENTITY x \"y\">]>{}",
        good_report().trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    let cases = [
        doctype,
        report_xml(INCIDENT, WEB_PAGE, "<email>&x;</email>"),
        report_xml(INCIDENT, WEB_PAGE, "<email>a@b</mail>"),
        good_report().replace("</report>", ""),
        format!("{}<report/>", good_report()),
        format!("{} trailing", good_report()),
        "not xml at all".to_owned(),
        String::new(),
        format!("{}{}", "<a>".repeat(100), "</a>".repeat(100)),
    ];
    for body in &cases {
        let (_, root, received) = call(&peer, &xml_post("/ispws/submit", body));
        assert_eq!(code(&root), 4110, "{body}");
        assert!(text(&root, "reportId").is_none());
        assert_eq!(received["response_code"], 4110);
    }
    let invalid_utf8 = request(Method::POST, "/ispws/submit", Some("text/xml"), b"<report>\xff</report>");
    assert_eq!(code(&call(&peer, &invalid_utf8).1), 4110);
    let (_, root, _) = call(&peer, &xml_post("/ispws/submit", &cases[0]));
    assert!(text(&root, "responseDescription").unwrap().contains("DOCTYPE"));
    assert!(peer.snapshot()["reports"].as_array().unwrap().is_empty());
}

#[test]
fn submit_refuses_schema_violations_with_4100_naming_the_problem() {
    let peer = peer();
    let good = good_report();
    let reporter = "<reporter><reportingPerson><email>a@example.org</email></reportingPerson></reporter>";
    let cases: Vec<(String, &str)> = vec![
        (good.replace("<report>", "<notice>").replace("</report>", "</notice>"), "<notice>"),
        (good.replace("<report>", "<report xmlns=\"urn:x\">"), "namespace"),
        (report_xml("Child Pornography", WEB_PAGE, PERSON), "incidentType"),
        (report_xml(&format!(" {INCIDENT}"), WEB_PAGE, PERSON), "incidentType"),
        (
            good.replace("2026-05-01T12:00:00Z</incidentDateTime>", "yesterday</incidentDateTime>"),
            "incidentDateTime",
        ),
        (good.replace("<incidentDateTime>2026-05-01T12:00:00Z</incidentDateTime>", ""), "incidentDateTime"),
        (report_xml(INCIDENT, WEB_PAGE, "<firstName>Alex</firstName>"), "email"),
        (
            report_xml(INCIDENT, WEB_PAGE, "<email>a@example.org</email><firstName>Alex</firstName>"),
            "firstName",
        ),
        (
            format!(
                "<report><incidentSummary><incidentType>{INCIDENT}</incidentType>\
                 <incidentDateTime>2026-05-01T12:00:00Z</incidentDateTime></incidentSummary>{WEB_PAGE}</report>"
            ),
            "reporter",
        ),
        (
            format!(
                "<report>{reporter}<incidentSummary><incidentType>{INCIDENT}</incidentType>\
                 <incidentDateTime>2026-05-01T12:00:00Z</incidentDateTime></incidentSummary></report>"
            ),
            "incidentSummary",
        ),
        (report_xml(INCIDENT, &format!("{WEB_PAGE}<reportedPerson/>"), PERSON), "reportedPerson"),
        (
            good.replace(
                "</reporter>",
                "</reporter><lawEnforcement><agencyName>X</agencyName></lawEnforcement>",
            ),
            "lawEnforcement",
        ),
        (
            report_xml(
                INCIDENT,
                "<internetDetails><webPageIncident/><emailIncident/></internetDetails>",
                PERSON,
            ),
            "internetDetails",
        ),
        (report_xml(INCIDENT, "<internetDetails/>", PERSON), "internetDetails"),
        (report_xml(INCIDENT, WEB_PAGE, &format!("{PERSON}<address><country>XX</country></address>")), "XX"),
        (good.replace("<eventName>Upload</eventName>", "<eventName>Download</eventName>"), "eventName"),
        (good.replace("<report>", "<report><batchedReport reason=\"OTHER\"/>"), "batchedReport"),
        (
            good.replace(
                "<incidentDateTime>",
                "<reportAnnotations><spam>false</spam></reportAnnotations><incidentDateTime>",
            ),
            "spam",
        ),
    ];
    for (body, needle) in &cases {
        let (_, root, received) = call(&peer, &xml_post("/ispws/submit", body));
        assert_eq!(code(&root), 4100, "{body}");
        assert!(text(&root, "reportId").is_none());
        let description = text(&root, "responseDescription").unwrap();
        assert!(description.contains(needle), "{description:?} should name {needle}");
        assert_eq!(received["response_code"], 4100);
    }
    assert!(peer.snapshot()["reports"].as_array().unwrap().is_empty());
    assert_eq!(open(&peer), FIRST_REPORT_ID, "refused submissions use no id");
}

#[test]
fn upload_answers_file_id_and_md5_and_journals_only_a_summary() {
    let peer = peer();
    let id = open(&peer);
    let data = b"\xff\xd8\xff\xe0 fake jpeg bytes";
    let request =
        multipart("/ispws/upload", vec![text_part("id", &id.to_string()), file_part("evidence.jpg", data)]);
    let (_, root, received) = call(&peer, &request);
    assert_eq!(names(&root), ["responseCode", "responseDescription", "reportId", "fileId", "hash"]);
    assert_eq!(code(&root), 0);
    assert_eq!(text(&root, "reportId"), Some(id.to_string().as_str()));
    let file_id = text(&root, "fileId").unwrap();
    assert_eq!(file_id.len(), 32);
    assert!(file_id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let md5: String = Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(text(&root, "hash"), Some(md5.as_str()));
    assert_eq!(received["report_id"], id);
    assert_eq!(received["file_name"], "evidence.jpg");
    assert_eq!(received["file"]["bytes"], data.len());
    assert_eq!(received["file"]["sha256"].as_str().unwrap().len(), 64);
    assert!(!received.to_string().contains("fake jpeg"), "no bytes in the journal");
    let (second, _) = upload(&peer, id, b"other");
    assert_ne!(second, file_id);
    let report = snapshot_report(&peer, id);
    assert_eq!(report["files"][0]["file_id"], file_id);
    assert_eq!(report["files"][0]["bytes"], data.len());
    assert_eq!(report["files"][0]["md5"], md5.as_str());
    assert_eq!(report["files"][0]["has_fileinfo"], false);
    assert_eq!(report["files"].as_array().unwrap().len(), 2);
    // Deterministic: a fresh peer issues the same first file id.
    let fresh = self::peer();
    let fresh_id = open(&fresh);
    assert_eq!(upload(&fresh, fresh_id, b"x").0, file_id);
}

#[test]
fn upload_refusals() {
    let peer = peer();
    let id = open(&peer);
    let with = |parts: Vec<FormPart>| {
        let (_, root, _) = call(&peer, &multipart("/ispws/upload", parts));
        (code(&root), text(&root, "fileId").map(str::to_owned))
    };
    let id_text = id.to_string();
    assert_eq!(with(vec![text_part("id", "999"), file_part("a.jpg", b"x")]), (5001, None));
    assert_eq!(with(vec![text_part("id", &id_text)]), (4200, None));
    assert_eq!(with(vec![text_part("id", &id_text), text_part("file", "not a file")]), (4200, None));
    assert_eq!(with(vec![text_part("id", &id_text), file_part("a.jpg", b"")]), (4200, None));
    assert_eq!(with(vec![file_part("a.jpg", b"x")]), (4000, None));
    assert_eq!(with(vec![text_part("id", "abc"), file_part("a.jpg", b"x")]), (4000, None));
    let mut broken = multipart("/ispws/upload", Vec::new());
    broken.form = None;
    assert_eq!(code(&call(&peer, &broken).1), 4200);
    assert!(snapshot_report(&peer, id)["files"].as_array().unwrap().is_empty());

    let finished = open(&peer);
    call(&peer, &form("/ispws/finish", &finished.to_string()));
    assert_eq!(with(vec![text_part("id", &finished.to_string()), file_part("a.jpg", b"x")]), (5102, None));
    let retracted = open(&peer);
    call(&peer, &form("/ispws/retract", &retracted.to_string()));
    assert_eq!(with(vec![text_part("id", &retracted.to_string()), file_part("a.jpg", b"x")]), (5101, None));
}

#[test]
fn fileinfo_marks_the_file_and_checks_ids() {
    let peer = peer();
    let id = open(&peer);
    let (file_id, _) = upload(&peer, id, b"evidence");
    let extra = "<originalFileName>IMG_0001.jpg</originalFileName><fileViewedByEsp>true</fileViewedByEsp>\
                 <publiclyAvailable>true</publiclyAvailable><fileAnnotations><viral/></fileAnnotations>\
                 <originalFileHash hashType=\"MD5\">abc</originalFileHash>\
                 <ipCaptureEvent><ipAddress>192.0.2.10</ipAddress><eventName>Upload</eventName></ipCaptureEvent>";
    let (_, root, received) = call(&peer, &xml_post("/ispws/fileinfo", &file_details(id, &file_id, extra)));
    assert_eq!(names(&root), ["responseCode", "responseDescription", "reportId"]);
    assert_eq!(code(&root), 0);
    assert_eq!(received["report_id"], id);
    assert_eq!(received["file_id"], file_id.as_str());
    assert_eq!(
        received["elements"],
        serde_json::json!([
            "originalFileName",
            "fileViewedByEsp",
            "publiclyAvailable",
            "fileAnnotations",
            "originalFileHash",
            "ipCaptureEvent"
        ])
    );
    assert!(!received.to_string().contains("192.0.2.10") && !received.to_string().contains("IMG_0001"));
    assert_eq!(snapshot_report(&peer, id)["files"][0]["has_fileinfo"], true);

    let other = open(&peer);
    let (other_file, _) = upload(&peer, other, b"other");
    let answer = |body: String| code(&call(&peer, &xml_post("/ispws/fileinfo", &body)).1);
    assert_eq!(answer(file_details(999, &file_id, "")), 5001);
    assert_eq!(answer(file_details(id, &other_file, "")), 5002);
    assert_eq!(answer(file_details(id, "0123456789abcdef0123456789abcdef", "")), 5002);
    assert_eq!(
        answer(file_details(id, &file_id, "<potentialMeme>true</potentialMeme><fileAnnotations/>")),
        4100
    );
    assert_eq!(
        answer(file_details(
            id,
            &file_id,
            "<publiclyAvailable>true</publiclyAvailable><fileName>x</fileName>"
        )),
        4100
    );
    assert_eq!(answer(file_details(id, &file_id, "<fileRelevance>Main</fileRelevance>")), 4100);
    assert_eq!(answer(file_details(id, &file_id, "<originalFileHash>abc</originalFileHash>")), 4100);
    assert_eq!(answer(format!("<fileDetails><fileId>{file_id}</fileId></fileDetails>")), 4100);
    assert_eq!(
        answer(format!("<fileDetails><reportId>x</reportId><fileId>{file_id}</fileId></fileDetails>")),
        4100
    );
    assert_eq!(answer(format!("<report><reportId>{id}</reportId></report>")), 4100);
    assert_eq!(answer(format!("<fileDetails><reportId>{id}</reportId>")), 4110);
    assert_eq!(answer(format!("<!DOCTYPE fileDetails>{}", file_details(id, &file_id, ""))), 4110);
    let (_, root, _) = call(&peer, &xml_post("/ispws/fileinfo", &file_details(id, &other_file, "")));
    assert_eq!(text(&root, "reportId"), Some(id.to_string().as_str()), "5002 names the report");
    let (_, root, _) = call(
        &peer,
        &xml_post(
            "/ispws/fileinfo",
            &file_details(id, &file_id, "<potentialMeme>1</potentialMeme><fileAnnotations/>"),
        ),
    );
    assert!(text(&root, "responseDescription").unwrap().contains("potentialMeme"));
    assert_eq!(snapshot_report(&peer, other)["files"][0]["has_fileinfo"], false);
}

#[test]
fn finish_lists_every_file_and_only_once() {
    let peer = peer();
    let id = open(&peer);
    let (first, _) = upload(&peer, id, b"one");
    let (second, _) = upload(&peer, id, b"two");
    let exchange = peer.handle(&form("/ispws/finish", &id.to_string()));
    let body = std::str::from_utf8(&exchange.response.body).unwrap().to_owned();
    let (_, root, received) = call(&peer, &form("/ispws/finish", &id.to_string()));
    assert_eq!(code(&root), 5102, "finishing twice");
    assert_eq!(text(&root, "reportId"), Some(id.to_string().as_str()));
    assert_eq!(received["outcome"], Value::Null);
    assert_eq!(received["response_code"], 5102);

    assert!(!body.contains("responseDescription"), "{body}");
    let done = schema::parse(body.as_bytes()).unwrap();
    assert_eq!(done.name, "reportDoneResponse");
    assert_eq!(names(&done), ["responseCode", "reportId", "files"]);
    assert_eq!(code(&done), 0);
    assert_eq!(text(&done, "reportId"), Some(id.to_string().as_str()));
    let files: Vec<&str> = done.child("files").unwrap().all("fileId").map(Element::value).collect();
    assert_eq!(files, [first.as_str(), second.as_str()]);
    assert_eq!(snapshot_report(&peer, id)["state"], "finished");

    // No files: an empty <files/>; multipart forms work as well.
    let empty = open(&peer);
    let (_, done, received) =
        call(&peer, &multipart("/ispws/finish", vec![text_part("id", &empty.to_string())]));
    assert_eq!(code(&done), 0);
    assert!(done.child("files").unwrap().children.is_empty());
    assert_eq!(received["outcome"], "finished");
    assert_eq!(received["files"], 0);

    let retracted = open(&peer);
    call(&peer, &form("/ispws/retract", &retracted.to_string()));
    assert_eq!(code(&call(&peer, &form("/ispws/finish", &retracted.to_string())).1), 5101);
    assert_eq!(code(&call(&peer, &form("/ispws/finish", "123")).1), 5001);
    assert_eq!(code(&call(&peer, &request(Method::POST, "/ispws/finish", None, b"")).1), 4000);
}

#[test]
fn retract_cancels_only_open_reports() {
    let peer = peer();
    let id = open(&peer);
    let (_, root, received) = call(&peer, &form("/ispws/retract", &id.to_string()));
    assert_eq!(names(&root), ["responseCode", "responseDescription", "reportId"]);
    assert_eq!(code(&root), 0);
    assert_eq!(received["outcome"], "retracted");
    assert_eq!(snapshot_report(&peer, id)["state"], "retracted");
    assert_eq!(code(&call(&peer, &form("/ispws/retract", &id.to_string())).1), 5101);

    let finished = open(&peer);
    call(&peer, &form("/ispws/finish", &finished.to_string()));
    let (_, root, _) = call(&peer, &form("/ispws/retract", &finished.to_string()));
    assert_eq!(code(&root), 5102);
    assert_eq!(snapshot_report(&peer, finished)["state"], "finished");
    assert_eq!(code(&call(&peer, &form("/ispws/retract", "4")).1), 5001);
    assert_eq!(code(&call(&peer, &form("/ispws/retract", "")).1), 4000);
}

#[test]
fn unfinished_reports_expire_after_both_spans() {
    let peer = peer();
    let id = open(&peer);
    let (file_id, _) = upload(&peer, id, b"evidence");
    let finished = open(&peer);
    call(&peer, &form("/ispws/finish", &finished.to_string()));

    // Idle for over an hour but not yet 24 h old: still open.
    peer.advance(2 * HOUR);
    assert_eq!(snapshot_report(&peer, id)["state"], "open");
    // A change at 23.5 h keeps it for an hour after that, past the 24 h mark.
    peer.advance(21 * HOUR + HOUR / 2);
    let details = file_details(id, &file_id, "");
    assert_eq!(code(&call(&peer, &xml_post("/ispws/fileinfo", &details)).1), 0);
    peer.advance(HOUR - Duration::from_secs(60));
    assert_eq!(snapshot_report(&peer, id)["state"], "open");
    peer.advance(Duration::from_secs(120));
    assert_eq!(snapshot_report(&peer, id)["state"], "expired");
    assert_eq!(snapshot_report(&peer, finished)["state"], "finished", "finished reports stay");

    let (_, root, _) = call(&peer, &form("/ispws/retract", &id.to_string()));
    assert_eq!(code(&root), 5001);
    assert!(text(&root, "reportId").is_none());
    assert_eq!(code(&call(&peer, &form("/ispws/finish", &id.to_string())).1), 5001);
    assert_eq!(code(&call(&peer, &xml_post("/ispws/fileinfo", &details)).1), 5001);
    let upload = multipart("/ispws/upload", vec![text_part("id", &id.to_string()), file_part("a.jpg", b"x")]);
    assert_eq!(code(&call(&peer, &upload).1), 5001);
    assert_eq!(code(&call(&peer, &form("/ispws/retract", &finished.to_string())).1), 5102);
}

#[test]
fn zero_spans_expire_at_once_and_a_long_open_span_wins() {
    let peer = Ncmec::new(&options(Duration::ZERO, Duration::ZERO));
    let id = open(&peer);
    assert_eq!(code(&call(&peer, &form("/ispws/finish", &id.to_string())).1), 5001);
    assert_eq!(snapshot_report(&peer, id)["state"], "expired");

    let peer = Ncmec::new(&options(HOUR, Duration::ZERO));
    let id = open(&peer);
    peer.advance(HOUR / 2);
    assert_eq!(code(&call(&peer, &form("/ispws/finish", &id.to_string())).1), 0);
}

#[test]
fn date_times_and_countries_follow_the_schema() {
    for good in [
        "2026-05-01T12:00:00Z",
        "2026-05-01T12:00:00",
        "2026-05-01T12:00:00.5+14:00",
        "2026-12-31T24:00:00-05:30",
    ] {
        assert!(schema::is_date_time(good), "{good}");
    }
    for bad in [
        "2026-05-01",
        "2026-05-01 12:00:00Z",
        "2026-13-01T12:00:00Z",
        "2026-05-01T12:00Z",
        "2026-05-01T12:00:00+5:00",
    ] {
        assert!(!schema::is_date_time(bad), "{bad}");
    }
    let countries = schema::enumeration(schema::XSD, "country");
    assert!(countries.len() > 250);
    for code in ["", "US", "DE", "A1", "XK"] {
        assert!(countries.contains(&code), "{code}");
    }
}
