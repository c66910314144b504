//! Tests of the NCMEC wire module: requests (and their XML against NCMEC's schema with
//! `xmllint`), and every answer shape and error case of protocols.md §2 a parser can see.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use url::Url;

use super::wire::*;
use crate::egress::wire::{Body, WireRequest, WireResponse};
use crate::fuzzing::ncmec::ncmec_report_request;

// === helpers ===

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("an RFC 3339 date")
}

fn credentials() -> Credentials {
    Credentials::new("esp-user", "s3cret pass").expect("valid credentials")
}

fn test_base() -> Url {
    Environment::Test.base_url()
}

fn body_text(request: &WireRequest) -> String {
    match &request.body {
        Body::Bytes { data, .. } => String::from_utf8(data.to_vec()).expect("UTF-8 body"),
        other => panic!("expected a byte body, got {other:?}"),
    }
}

fn xml(status: u16, body: &str) -> WireResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    WireResponse::new(StatusCode::from_u16(status).expect("a status"), headers, body.to_owned())
}

fn typed(status: u16, content_type: &'static str, body: &str) -> WireResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    WireResponse::new(StatusCode::from_u16(status).expect("a status"), headers, body.to_owned())
}

fn response(code: &str, description: &str, extra: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<reportResponse><responseCode>{code}\
         </responseCode><responseDescription>{description}</responseDescription>{extra}</reportResponse>"
    )
}

fn rejected(result: Result<impl std::fmt::Debug, NcmecError>) -> ResponseCode {
    match result {
        Err(NcmecError::Rejected { code, .. }) => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Every error message names NCMEC and stays short whatever the body.
fn assert_good_message(error: &NcmecError) {
    let text = error.to_string();
    assert!(text.contains("NCMEC"), "{text}");
    assert!(text.chars().count() < 1_200, "{} chars: {text}", text.chars().count());
}

fn sample_report() -> Report {
    let when = at("2026-05-01T12:00:00Z");
    Report {
        incident_summary: IncidentSummary {
            incident_type: IncidentType::ChildPornography,
            platform: Some("Wikimedia Commons".into()),
            escalate_to_high_priority: Some("Ongoing uploads by the same account".into()),
            report_annotations: ReportAnnotations { csam_solicitation: true, ..ReportAnnotations::default() },
            incident_date_time: when,
            incident_date_time_description: Some("Time of upload".into()),
        },
        internet_details: vec![
            WebPageIncident {
                urls: vec!["https://commons.example/wiki/File:Example.jpg".into()],
                additional_info: Some("Deleted and suppressed.".into()),
                third_party_hosted_content: Some(false),
            },
            WebPageIncident {
                urls: vec![
                    "https://commons.example/wiki/File:Other.jpg".into(),
                    "https://upload.example/x.jpg".into(),
                ],
                additional_info: None,
                third_party_hosted_content: None,
            },
        ],
        reporter: Reporter {
            reporting_person: Person {
                first_name: Some("Alex".into()),
                last_name: Some("Reviewer".into()),
                phones: vec![Phone {
                    number: "555 0100".into(),
                    kind: Some(PhoneKind::Work),
                    verified: Some(true),
                    country_calling_code: Some(1),
                    extension: Some("42".into()),
                }],
                emails: vec![Email {
                    address: "tns@example.org".into(),
                    kind: Some(EmailKind::Work),
                    verified: Some(true),
                }],
            },
            contact_person: Some(Person {
                first_name: Some("Legal".into()),
                last_name: Some("Team".into()),
                phones: Vec::new(),
                emails: vec![Email { address: "legal@example.org".into(), kind: None, verified: None }],
            }),
            terms_of_service: Some("https://foundation.example/terms".into()),
            legal_url: Some("https://foundation.example/legal".into()),
        },
        persons_or_users_reported: vec![PersonOrUserReported {
            person: Some(Person {
                first_name: None,
                last_name: None,
                phones: Vec::new(),
                emails: vec![Email {
                    address: "uploader@example.net".into(),
                    kind: Some(EmailKind::Home),
                    verified: Some(false),
                }],
            }),
            esp_identifier: Some("98765".into()),
            esp_service: Some("Wikimedia Commons".into()),
            screen_name: Some("UploaderName".into()),
            display_names: vec!["Uploader".into()],
            profile_urls: vec!["https://commons.example/wiki/User:UploaderName".into()],
            ip_capture_events: vec![
                IpCaptureEvent {
                    ip_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
                    event_name: Some(IpEventName::Upload),
                    date_time: Some(at("2026-05-01T11:58:00+02:00")),
                    possible_proxy: Some(false),
                    port: Some(443),
                },
                IpCaptureEvent {
                    ip_address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                    event_name: Some(IpEventName::Login),
                    date_time: None,
                    possible_proxy: None,
                    port: None,
                },
            ],
            prior_ct_reports: vec![4564600],
            account_temporarily_disabled: Some(AccountTemporarilyDisabled {
                disabled: true,
                disabled_date: Some(when),
                user_notified: Some(false),
                user_notified_date: None,
                reenabled_date: Some(at("2026-05-02T00:00:00Z")),
            }),
            account_permanently_disabled: Some(AccountPermanentlyDisabled {
                disabled: true,
                disabled_date: Some(when),
                user_notified: Some(true),
                user_notified_date: Some(when),
            }),
            additional_info: Some("CheckUser data attached.".into()),
        }],
        additional_info: Some("Made-up test report; no media.".into()),
    }
}

fn sample_file_details() -> FileDetails {
    FileDetails {
        report_id: 4_564_654,
        file_id: "b0754af766b426f2928a02c651ed4b99".into(),
        file_name: Some("Example.jpg".into()),
        original_file_name: Some("IMG_0001.jpg".into()),
        uploaded_to_esp: Some(at("2026-05-01T11:58:00-05:30")),
        location_of_file: Some("https://commons.example/wiki/File:Example.jpg".into()),
        file_viewed_by_esp: Some(true),
        exif_viewed_by_esp: Some(false),
        publicly_available: Some(true),
        file_relevance: Some(FileRelevance::Reported),
        file_annotations: FileAnnotations {
            potential_meme: true,
            generative_ai: true,
            ..FileAnnotations::default()
        },
        original_file_hashes: vec![FileHash {
            hash_type: "SHA1".into(),
            value: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
        }],
        ip_capture_event: Some(IpCaptureEvent {
            ip_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            event_name: Some(IpEventName::Upload),
            date_time: Some(at("2026-05-01T11:58:00Z")),
            possible_proxy: None,
            port: None,
        }),
        additional_info: Some("Deleted from the wiki.".into()),
    }
}

/// Every text field of the sample report set to `text`.
fn report_with_text(text: &str) -> Report {
    let mut report = sample_report();
    let t = || Some(text.to_owned());
    let summary = &mut report.incident_summary;
    summary.platform = t();
    summary.escalate_to_high_priority = t();
    summary.incident_date_time_description = t();
    for incident in &mut report.internet_details {
        incident.urls = vec![text.to_owned(), text.to_owned()];
        incident.additional_info = t();
    }
    for person in
        [&mut report.reporter.reporting_person].into_iter().chain(report.reporter.contact_person.as_mut())
    {
        person.first_name = t();
        person.last_name = t();
        for phone in &mut person.phones {
            phone.number = text.to_owned();
        }
        for email in &mut person.emails {
            email.address = text.to_owned();
        }
    }
    report.reporter.terms_of_service = t();
    report.reporter.legal_url = t();
    for reported in &mut report.persons_or_users_reported {
        if let Some(person) = &mut reported.person {
            person.first_name = t();
            person.last_name = t();
            for email in &mut person.emails {
                email.address = text.to_owned();
            }
        }
        reported.esp_identifier = t();
        reported.esp_service = t();
        reported.screen_name = t();
        reported.display_names = vec![text.to_owned()];
        reported.profile_urls = vec![text.to_owned()];
        reported.additional_info = t();
    }
    report.additional_info = t();
    report
}

fn file_details_with_text(text: &str) -> FileDetails {
    let mut details = sample_file_details();
    details.file_name = Some(text.to_owned());
    details.original_file_name = Some(text.to_owned());
    details.location_of_file = Some(text.to_owned());
    details.original_file_hashes = vec![FileHash { hash_type: text.to_owned(), value: text.to_owned() }];
    details.additional_info = Some(text.to_owned());
    details
}

/// Validates `xml` against NCMEC's schema with `xmllint`, fed on its standard input (nothing
/// is written to disk).
fn schema_check(xml: &str) -> Result<(), String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ncmec/cyber_tipline.xsd");
    let mut child = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint must be installed to run these tests");
    child.stdin.take().expect("stdin").write_all(xml.as_bytes()).expect("feed xmllint");
    let output = child.wait_with_output().expect("xmllint ran");
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) }
}

pub(crate) fn assert_schema_valid(xml: &str) {
    if let Err(problems) = schema_check(xml) {
        panic!("not valid against cyber_tipline.xsd:\n{problems}\n{xml}");
    }
}

// === requests ===

#[test]
fn environments_have_the_documented_base_urls() {
    assert_eq!(Environment::Production.base_url().as_str(), "https://report.cybertip.org/ispws");
    assert_eq!(Environment::Test.base_url().as_str(), "https://exttest.cybertip.org/ispws");
}

#[test]
fn endpoints_are_appended_to_the_base_path_with_or_without_a_trailing_slash() {
    let creds = credentials();
    for base in [
        "https://exttest.cybertip.org/ispws",
        "https://exttest.cybertip.org/ispws/",
        "http://127.0.0.1:8443/ispws?x=1",
    ] {
        let base = Url::parse(base).expect("a URL");
        let status = build_status(&base, &creds).expect("status");
        assert_eq!(status.method, Method::GET);
        assert!(status.url.path() == "/ispws/status" && status.url.query().is_none(), "{}", status.url);
        assert_eq!(build_finish(&base, &creds, 1).expect("finish").url.path(), "/ispws/finish");
        assert_eq!(build_retract(&base, &creds, 1).expect("retract").url.path(), "/ispws/retract");
        assert_eq!(
            build_submit(&base, &creds, &sample_report()).expect("submit").url.path(),
            "/ispws/submit"
        );
        assert_eq!(
            build_fileinfo(&base, &creds, &sample_file_details()).expect("fileinfo").url.path(),
            "/ispws/fileinfo"
        );
        let upload =
            build_upload(&base, &creds, 1, "a.jpg", "image/jpeg", Bytes::from_static(b"x")).expect("upload");
        assert_eq!(upload.url.path(), "/ispws/upload");
    }
    let odd = Url::parse("data:text/plain,x").expect("a URL");
    assert!(matches!(build_status(&odd, &creds), Err(BuildError::BaseUrl(_))));
}

#[test]
fn every_request_carries_basic_auth_marked_sensitive() {
    let creds = credentials();
    let base = test_base();
    let requests = [
        build_status(&base, &creds).expect("status"),
        build_submit(&base, &creds, &sample_report()).expect("submit"),
        build_upload(&base, &creds, 7, "a.jpg", "image/jpeg", Bytes::from_static(b"x")).expect("upload"),
        build_fileinfo(&base, &creds, &sample_file_details()).expect("fileinfo"),
        build_finish(&base, &creds, 7).expect("finish"),
        build_retract(&base, &creds, 7).expect("retract"),
    ];
    for request in &requests {
        let value = request.header_value(&AUTHORIZATION).expect("an Authorization header");
        assert!(value.is_sensitive());
        let encoded = value.to_str().expect("ASCII").strip_prefix("Basic ").expect("Basic auth");
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
        assert_eq!(decoded, b"esp-user:s3cret pass");
        assert!(!format!("{request:?}").contains("czNjcmV0"), "Debug must not show the header");
    }
}

#[test]
fn credentials_hide_the_password_and_refuse_what_basic_auth_cannot_carry() {
    let creds = credentials();
    let shown = format!("{creds:?}");
    assert!(shown.contains("esp-user") && !shown.contains("s3cret"), "{shown}");
    assert_eq!(creds.username(), "esp-user");
    assert!(Credentials::new("a:b", "p").is_err());
    assert!(Credentials::new("", "p").is_err());
    assert!(Credentials::new("a", "p\r\nX-Injected: 1").is_err());
    assert!(Credentials::new("ä-user", "pässword").is_ok());
}

#[test]
fn submit_and_fileinfo_send_utf8_xml() {
    let creds = credentials();
    let submit = build_submit(&test_base(), &creds, &sample_report()).expect("submit");
    assert_eq!(submit.method, Method::POST);
    assert!(matches!(submit.body, Body::Bytes { content_type: "text/xml; charset=utf-8", .. }));
    let text = body_text(&submit);
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><report>"), "{text}");
    assert_eq!(text, report_xml(&sample_report()).expect("xml"));
    let fileinfo = build_fileinfo(&test_base(), &creds, &sample_file_details()).expect("fileinfo");
    assert!(matches!(fileinfo.body, Body::Bytes { content_type: "text/xml; charset=utf-8", .. }));
    assert!(body_text(&fileinfo).contains(
        "<fileDetails><reportId>4564654</reportId><fileId>b0754af766b426f2928a02c651ed4b99</fileId>"
    ));
}

#[test]
fn upload_is_multipart_with_the_report_id_and_the_named_file() {
    let upload = build_upload(
        &test_base(),
        &credentials(),
        4_564_654,
        "evidence.jpg",
        "image/jpeg",
        Bytes::from_static(b"\xff\xd8"),
    )
    .expect("upload");
    assert_eq!(upload.method, Method::POST);
    let Body::Multipart(parts) = &upload.body else { panic!("expected multipart") };
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].name.as_str(), parts[0].data.as_ref()), ("id", b"4564654".as_ref()));
    assert_eq!(parts[0].file_name, None);
    assert_eq!(parts[1].name, "file");
    assert_eq!(parts[1].file_name.as_deref(), Some("evidence.jpg"));
    assert_eq!(parts[1].content_type, Some("image/jpeg"));
    assert_eq!(parts[1].data.as_ref(), b"\xff\xd8");
    for bad in ["", "a\"b.jpg", "a\r\nb.jpg", "a\\b.jpg"] {
        let result = build_upload(&test_base(), &credentials(), 1, bad, "image/jpeg", Bytes::new());
        assert!(matches!(result, Err(BuildError::InvalidValue { .. })), "{bad:?}");
    }
}

#[test]
fn finish_and_retract_send_the_id_as_a_form() {
    for request in [
        build_finish(&test_base(), &credentials(), 4_564_654).expect("finish"),
        build_retract(&test_base(), &credentials(), 4_564_654).expect("retract"),
    ] {
        assert_eq!(request.method, Method::POST);
        assert!(matches!(
            request.body,
            Body::Bytes { content_type: "application/x-www-form-urlencoded", .. }
        ));
        assert_eq!(body_text(&request), "id=4564654");
    }
    assert!(matches!(
        build_finish(&test_base(), &credentials(), u64::MAX),
        Err(BuildError::InvalidValue { .. })
    ));
}

// === report XML against the schema ===

#[test]
fn a_full_report_is_valid_against_the_schema() {
    let text = report_xml(&sample_report()).expect("xml");
    assert_schema_valid(&text);
    // Offsets are written, UTC as Z.
    assert!(text.contains("<incidentDateTime>2026-05-01T12:00:00Z</incidentDateTime>"), "{text}");
    assert!(text.contains("<dateTime>2026-05-01T11:58:00+02:00</dateTime>"), "{text}");
    assert!(text.contains("<ipAddress>2001:db8::1</ipAddress>"), "{text}");
    assert!(
        text.contains("<phone type=\"Work\" verified=\"true\" countryCallingCode=\"+1\" extension=\"42\">")
    );
}

#[test]
fn a_minimal_report_and_every_incident_type_are_valid() {
    for incident_type in IncidentType::ALL {
        let report = Report {
            incident_summary: IncidentSummary {
                incident_type,
                platform: None,
                escalate_to_high_priority: None,
                report_annotations: ReportAnnotations::default(),
                incident_date_time: at("2026-05-01T12:00:00.5-07:00"),
                incident_date_time_description: None,
            },
            internet_details: Vec::new(),
            reporter: Reporter {
                reporting_person: Person {
                    emails: vec![Email {
                        address: "tns@example.org".into(),
                        kind: None,
                        verified: Some(true),
                    }],
                    ..Person::default()
                },
                contact_person: None,
                terms_of_service: None,
                legal_url: None,
            },
            persons_or_users_reported: vec![PersonOrUserReported::default()],
            additional_info: None,
        };
        let text = report_xml(&report).expect("xml");
        assert!(!text.contains("reportAnnotations"), "no flags, no element");
        assert_schema_valid(&text);
    }
}

#[test]
fn the_schema_check_can_fail() {
    // The same report with two sibling elements swapped: a strict sequence refuses it.
    let text = report_xml(&sample_report()).expect("xml");
    let swapped =
        text.replacen("<incidentSummary>", "<reporter><reportingPerson/></reporter><incidentSummary>", 1);
    assert!(schema_check(&swapped).is_err());
}

#[test]
fn file_details_are_valid_against_the_schema() {
    let text = file_details_xml(&sample_file_details()).expect("xml");
    assert_schema_valid(&text);
    assert!(text.contains("<uploadedToEspTimestamp>2026-05-01T11:58:00-05:30</uploadedToEspTimestamp>"));
    assert!(text.contains("<fileAnnotations><potentialMeme>true</potentialMeme><generativeAi>true</generativeAi></fileAnnotations>"));
    let minimal = FileDetails::new(1, "abc");
    assert_schema_valid(&file_details_xml(&minimal).expect("xml"));
    for bad in ["", "a b", " abc", "abc\n"] {
        let details = FileDetails { file_id: bad.into(), ..minimal.clone() };
        assert!(matches!(file_details_xml(&details), Err(BuildError::InvalidValue { .. })), "{bad:?}");
    }
}

const HOSTILE: &str = "<a href=\"x\">&amp; ]]> 'q' \"dq\" &#1; \t tab\r\ncrlf\rcr <![CDATA[x]]> <!-- c --> &ent; é 😀 \u{7f}\u{85}";

#[test]
fn hostile_text_in_every_field_is_escaped_valid_and_reads_back() {
    let report = report_with_text(HOSTILE);
    let text = report_xml(&report).expect("hostile but legal text is escaped, not refused");
    assert_schema_valid(&text);
    let details = file_details_with_text(HOSTILE);
    assert_schema_valid(&file_details_xml(&details).expect("xml"));

    // The fuzz target's read-back check, with the hostile string in every one of its fields.
    let mut input = vec![0x10, 0x20, 0x30, 0x40, 0x3c, 0x00, 0xff, 0x03];
    for _ in 0..27 {
        input.extend_from_slice(HOSTILE.as_bytes());
        input.push(0xff);
    }
    ncmec_report_request(&input);

    // And directly: the parsed document holds the exact string.
    let root = super::xml::parse(text.as_bytes()).expect("reads back");
    let summary = root.child("incidentSummary").expect("one").expect("present");
    assert_eq!(summary.child("platform").expect("one").expect("present").text, HOSTILE);
    let hash = super::xml::parse(file_details_xml(&details).expect("xml").as_bytes()).expect("reads back");
    let hash = hash.child("originalFileHash").expect("one").expect("present");
    assert_eq!(hash.attribute("hashType"), Some(HOSTILE));
    assert_eq!(hash.text, HOSTILE);
}

#[test]
fn characters_xml_cannot_carry_are_refused_naming_the_field() {
    for c in ['\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
        let text = format!("before{c}after");
        match report_xml(&report_with_text(&text)) {
            Err(BuildError::ForbiddenCharacter { field, code_point }) => {
                assert_eq!(code_point, u32::from(c));
                assert_eq!(field, "incidentSummary/platform");
            }
            other => panic!("{c:?}: expected a refusal, got {other:?}"),
        }
        let mut only_last = sample_report();
        only_last.additional_info = Some(text.clone());
        let error = report_xml(&only_last).expect_err("refused");
        assert!(error.to_string().contains("report/additionalInfo") && error.to_string().contains("NCMEC"));
        assert!(matches!(
            file_details_xml(&file_details_with_text(&text)),
            Err(BuildError::ForbiddenCharacter { .. })
        ));
        let mut attribute_only = sample_file_details();
        attribute_only.original_file_hashes[0].hash_type = text;
        assert!(matches!(
            file_details_xml(&attribute_only),
            Err(BuildError::ForbiddenCharacter { field: "fileDetails/originalFileHash@hashType", .. })
        ));
    }
}

#[test]
fn schema_restricted_values_are_checked_before_sending() {
    let mut report = sample_report();
    report.reporter.reporting_person.phones[0].country_calling_code = Some(1000);
    assert!(matches!(report_xml(&report), Err(BuildError::InvalidValue { .. })));
    let mut report = sample_report();
    report.reporter.reporting_person.phones[0].extension = Some("12a".into());
    assert!(matches!(report_xml(&report), Err(BuildError::InvalidValue { .. })));
    let mut report = sample_report();
    let odd_offset = UtcOffset::from_hms(1, 0, 30).expect("an offset");
    report.incident_summary.incident_date_time = at("2026-05-01T12:00:00Z").to_offset(odd_offset);
    assert!(matches!(report_xml(&report), Err(BuildError::DateTime { .. })));
    let mut details = sample_file_details();
    details.uploaded_to_esp = Some(at("2026-05-01T12:00:00Z").replace_year(-5).expect("a year"));
    assert!(matches!(file_details_xml(&details), Err(BuildError::DateTime { .. })));
}

#[test]
fn debug_of_a_report_shows_only_its_shape() {
    let shown = format!("{:?} {:?}", sample_report(), sample_file_details());
    assert!(
        !shown.contains("tns@example.org") && !shown.contains("192.0.2.10") && !shown.contains("Uploader")
    );
}

// === answers: the happy path of protocols.md ===

#[test]
fn reads_the_happy_path_answers() {
    let status =
        parse_report_response(&xml(200, &response("0", "Remote User : esp-user, Remote Ip : 192.0.2.1", "")))
            .expect("status");
    assert_eq!(status.code, ResponseCode::Success);
    assert!(status.description.contains("Remote User"));

    let submit = parse_submit_response(&xml(200, &response("0", "Success", "<reportId>4564654</reportId>")))
        .expect("ok");
    assert_eq!(submit, SubmitResponse { report_id: 4_564_654, description: "Success".into() });

    let upload_body = response(
        "0",
        "Success",
        "<reportId>4564654</reportId><fileId>b0754af766b426f2928a02c651ed4b99</fileId>\
         <hash>fafa5efeaf3cbe3b23b2748d13e629a1</hash>",
    );
    let upload =
        parse_upload_response(&xml(200, &upload_body), "FAFA5EFEAF3CBE3B23B2748D13E629A1").expect("ok");
    assert_eq!(upload.file_id, "b0754af766b426f2928a02c651ed4b99");
    assert_eq!(upload.report_id, Some(4_564_654));

    let fileinfo =
        parse_report_response(&xml(200, &response("0", "Success", "<reportId>4564654</reportId>")))
            .and_then(ReportResponse::into_success)
            .expect("ok");
    assert_eq!(fileinfo.report_id, Some(4_564_654));

    let done = parse_done_response(&xml(
        200,
        "<reportDoneResponse><responseCode>0</responseCode><reportId>4564654</reportId>\n  <files><fileId>\
         b0754af766b426f2928a02c651ed4b99</fileId></files></reportDoneResponse>",
    ))
    .expect("ok");
    assert_eq!(
        done,
        DoneResponse { report_id: 4_564_654, file_ids: vec!["b0754af766b426f2928a02c651ed4b99".into()] }
    );
}

// === answers: protocols.md §2 "Error and edge cases", in its order ===

#[test]
fn case_1_a_401_without_a_body_is_the_same_as_code_2000() {
    for body in ["", "<html><head><title>401 Unauthorized</title></head><body>Unauthorized</body></html>"] {
        for answer in [WireResponse::from_body(401, body.to_owned()), typed(401, "text/html", body)] {
            let generic = parse_report_response(&answer).expect("read as code 2000");
            assert_eq!(generic.code, ResponseCode::AuthenticationRequired);
            assert_eq!(rejected(parse_submit_response(&answer)), ResponseCode::AuthenticationRequired);
            assert_eq!(rejected(parse_done_response(&answer)), ResponseCode::AuthenticationRequired);
            assert_eq!(rejected(parse_upload_response(&answer, "x")), ResponseCode::AuthenticationRequired);
        }
    }
    let in_body = xml(200, &response("2000", "Authentication Required", ""));
    assert_eq!(rejected(parse_submit_response(&in_body)), ResponseCode::AuthenticationRequired);
    assert!(ResponseCode::AuthenticationRequired.needs_alert());
    assert!(!ResponseCode::AuthenticationRequired.is_retryable());
    let error = parse_submit_response(&in_body).expect_err("refused");
    assert!(error.to_string().contains("credentials"), "{error}");
}

#[test]
fn case_2_not_authorised_alerts_and_is_not_retried() {
    for (code, expected) in
        [("3000", ResponseCode::NotAuthorized), ("3100", ResponseCode::NoSubmitAuthorization)]
    {
        let answer = xml(200, &response(code, "Not authorized", ""));
        assert_eq!(rejected(parse_submit_response(&answer)), expected);
        assert!(expected.needs_alert() && !expected.is_retryable());
    }
}

#[test]
fn case_3_validation_and_malformed_xml_have_no_report_id() {
    for (code, expected) in [("4100", ResponseCode::ValidationFailed), ("4110", ResponseCode::MalformedXml)] {
        let answer = xml(200, &response(code, "cvc-complex-type.2.4.a: Invalid content was found", ""));
        let error = parse_submit_response(&answer).expect_err("refused");
        assert!(
            matches!(&error, NcmecError::Rejected { code, description } if *code == expected && description.contains("cvc"))
        );
        assert_good_message(&error);
    }
}

#[test]
fn case_4_upload_failures_and_a_wrong_hash_are_distinct() {
    let expected_md5 = "fafa5efeaf3cbe3b23b2748d13e629a1";
    for (code, expected) in [
        ("5001", ResponseCode::ReportDoesNotExist),
        ("4200", ResponseCode::MalformedFile),
        ("1111", ResponseCode::FileUploadFailed),
    ] {
        assert_eq!(
            rejected(parse_upload_response(&xml(200, &response(code, "x", "")), expected_md5)),
            expected
        );
    }
    assert!(ResponseCode::FileUploadFailed.is_retryable());
    assert!(ResponseCode::ReportDoesNotExist.needs_alert());

    let wrong = response(
        "0",
        "Success",
        "<reportId>1</reportId><fileId>f1</fileId><hash>00000000000000000000000000000000</hash>",
    );
    let error = parse_upload_response(&xml(200, &wrong), expected_md5).expect_err("mismatch");
    assert!(matches!(&error, NcmecError::HashMismatch { file_id, expected, received }
        if file_id == "f1" && expected == expected_md5 && received == "00000000000000000000000000000000"));
    assert_good_message(&error);

    let no_hash = response("0", "Success", "<reportId>1</reportId><fileId>f1</fileId>");
    assert!(matches!(
        parse_upload_response(&xml(200, &no_hash), expected_md5),
        Err(NcmecError::HashMissing { .. })
    ));
    let no_file =
        response("0", "Success", "<reportId>1</reportId><hash>fafa5efeaf3cbe3b23b2748d13e629a1</hash>");
    assert!(matches!(
        parse_upload_response(&xml(200, &no_file), expected_md5),
        Err(NcmecError::SuccessWithoutFileId { .. })
    ));
    let blank_file =
        response("0", "Success", "<fileId>  </fileId><hash>fafa5efeaf3cbe3b23b2748d13e629a1</hash>");
    assert!(matches!(
        parse_upload_response(&xml(200, &blank_file), expected_md5),
        Err(NcmecError::SuccessWithoutFileId { .. })
    ));
    let spaced =
        response("0", "Success", "<fileId> f1 </fileId><hash>\n fafa5efeaf3cbe3b23b2748d13e629a1 </hash>");
    assert_eq!(parse_upload_response(&xml(200, &spaced), expected_md5).expect("ok").file_id, "f1");
}

#[test]
fn case_5_fileinfo_failures() {
    for (code, expected) in
        [("5002", ResponseCode::FileDoesNotExist), ("4100", ResponseCode::ValidationFailed)]
    {
        let parsed =
            parse_report_response(&xml(200, &response(code, "x", "<reportId>1</reportId>"))).expect("read");
        assert_eq!(parsed.code, expected);
        assert_eq!(rejected(parsed.into_success()), expected);
    }
}

#[test]
fn case_6_finish_and_retract_state_answers() {
    let finished = xml(200, &response("5102", "Report already finished", "<reportId>1</reportId>"));
    assert_eq!(rejected(parse_done_response(&finished)), ResponseCode::ReportAlreadyFinished);
    assert_eq!(parse_report_response(&finished).expect("read").code, ResponseCode::ReportAlreadyFinished);
    let retracted = xml(200, &response("5101", "Report already retracted", ""));
    assert_eq!(parse_report_response(&retracted).expect("read").code, ResponseCode::ReportAlreadyRetracted);
    let gone = xml(200, &response("5001", "Report does not exist", ""));
    assert_eq!(rejected(parse_done_response(&gone)), ResponseCode::ReportDoesNotExist);
    assert_eq!(parse_report_response(&gone).expect("read").code, ResponseCode::ReportDoesNotExist);
    for state in [ResponseCode::ReportAlreadyFinished, ResponseCode::ReportAlreadyRetracted] {
        assert!(!state.is_retryable() && !state.needs_alert());
    }
    let retract_ok =
        parse_report_response(&xml(200, &response("0", "", "<reportId>1</reportId>"))).expect("read");
    assert_eq!(retract_ok.code, ResponseCode::Success);
    // The retract reader accepts exactly the answers a caller acts on.
    assert_eq!(parse_retract_response(&finished).expect("filed").code, ResponseCode::ReportAlreadyFinished);
    assert_eq!(parse_retract_response(&retracted).expect("gone").code, ResponseCode::ReportAlreadyRetracted);
    assert_eq!(rejected(parse_retract_response(&gone)), ResponseCode::ReportDoesNotExist);
}

#[test]
fn a_401_is_never_read_as_working_credentials() {
    let unauthorized = xml(401, "");
    assert_eq!(rejected(parse_success_response(&unauthorized)), ResponseCode::AuthenticationRequired);
    assert_eq!(rejected(parse_retract_response(&unauthorized)), ResponseCode::AuthenticationRequired);
}

#[test]
fn case_7_expiry_is_report_does_not_exist() {
    let error =
        parse_submit_response(&xml(200, &response("5001", "Report does not exist", ""))).expect_err("gone");
    assert!(error.to_string().contains("expired"), "{error}");
}

#[test]
fn case_8_done_response_files_empty_several_or_missing() {
    let empty = "<reportDoneResponse><responseCode>0</responseCode><reportId>9</reportId><files/></reportDoneResponse>";
    assert_eq!(parse_done_response(&xml(200, empty)).expect("ok").file_ids, Vec::<String>::new());
    let several = "<reportDoneResponse><responseCode>0</responseCode><reportId>9</reportId><files>\
                   <fileId>a</fileId><fileId> b </fileId><fileId>c</fileId></files></reportDoneResponse>";
    assert_eq!(parse_done_response(&xml(200, several)).expect("ok").file_ids, ["a", "b", "c"]);
    let missing =
        "<reportDoneResponse><responseCode>0</responseCode><reportId>9</reportId></reportDoneResponse>";
    let error = parse_done_response(&xml(200, missing)).expect_err("schema");
    assert!(matches!(&error, NcmecError::SchemaViolation { reason } if reason.contains("files")), "{error}");
    assert_good_message(&error);
    let no_id = "<reportDoneResponse><responseCode>0</responseCode><files/></reportDoneResponse>";
    assert!(matches!(parse_done_response(&xml(200, no_id)), Err(NcmecError::SchemaViolation { .. })));
    let empty_id = "<reportDoneResponse><responseCode>0</responseCode><reportId>9</reportId><files><fileId/></files></reportDoneResponse>";
    assert!(matches!(parse_done_response(&xml(200, empty_id)), Err(NcmecError::SchemaViolation { .. })));
    let two = "<reportDoneResponse><responseCode>0</responseCode><reportId>9</reportId><files/><files/></reportDoneResponse>";
    assert!(matches!(parse_done_response(&xml(200, two)), Err(NcmecError::SchemaViolation { .. })));
    let failed = "<reportDoneResponse><responseCode>1300</responseCode><reportId>9</reportId><files/></reportDoneResponse>";
    assert_eq!(rejected(parse_done_response(&xml(200, failed))), ResponseCode::UpdateFailed);
    // A success answered as a reportResponse does not say the report is finished.
    let plain = xml(200, &response("0", "Success", "<reportId>9</reportId>"));
    assert!(matches!(
        parse_done_response(&plain),
        Err(NcmecError::UnexpectedRoot { expected: "reportDoneResponse", .. })
    ));
    // And the generic parser does not take a done response.
    assert!(matches!(parse_report_response(&xml(200, empty)), Err(NcmecError::UnexpectedRoot { .. })));
}

#[test]
fn case_9_success_without_a_report_id_is_terminal() {
    for extra in ["", "<reportId></reportId>", "<reportId>abc</reportId>", "<reportId>-4</reportId>"] {
        let answer = xml(200, &response("0", "Success", extra));
        let error = parse_submit_response(&answer).expect_err("no id");
        assert!(matches!(error, NcmecError::SuccessWithoutReportId { .. }), "{extra}: {error:?}");
        assert!(error.to_string().contains("do not submit it again"), "{error}");
        assert_good_message(&error);
    }
    // The generic reader calls a bad reportId what it is.
    let answer = xml(200, &response("0", "Success", "<reportId>abc</reportId>"));
    assert!(matches!(parse_report_response(&answer), Err(NcmecError::SchemaViolation { .. })));
    // On a failure, a garbled reportId does not hide the code.
    let failed = xml(200, &response("4100", "Validation failed", "<reportId></reportId>"));
    assert_eq!(parse_report_response(&failed).expect("read").report_id, None);
    assert_eq!(rejected(parse_submit_response(&failed)), ResponseCode::ValidationFailed);
    // An upload is proved by its file ID and hash; a garbled reportId is dropped.
    let upload = response("0", "Success", "<reportId>x</reportId><fileId>f</fileId><hash>AB</hash>");
    assert_eq!(parse_upload_response(&xml(200, &upload), "ab").expect("ok").report_id, None);
    let spaced = xml(200, &response("0", "Success", "<reportId>\n 77 \n</reportId>"));
    assert_eq!(parse_submit_response(&spaced).expect("ok").report_id, 77);
}

#[test]
fn case_10_bodies_that_are_not_an_answer() {
    let maintenance = "<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>";
    for answer in [
        typed(200, "text/html", maintenance),
        WireResponse::from_body(200, maintenance),
        xml(200, "Service Unavailable"),
        xml(200, ""),
    ] {
        let error = parse_submit_response(&answer).expect_err("not XML");
        assert!(matches!(error, NcmecError::NotXml { status: 200, .. }), "{error:?}");
        assert_good_message(&error);
    }
    // A declared non-XML type is not parsed even if the body looks like XML.
    let json = typed(200, "application/json", &response("0", "Success", "<reportId>1</reportId>"));
    assert!(matches!(parse_submit_response(&json), Err(NcmecError::NotXml { .. })));
    // Gateways.
    for status in [502, 503, 504, 500] {
        let error = parse_submit_response(&typed(status, "text/html", "<html>Bad Gateway</html>"))
            .expect_err("gateway");
        assert!(matches!(error, NcmecError::HttpStatus { status: s, .. } if s == status), "{error:?}");
        assert_good_message(&error);
    }
}

#[test]
fn case_10_a_non_2xx_with_a_readable_answer_uses_its_code() {
    let answer = xml(500, &response("1000", "Internal Server Error", ""));
    assert_eq!(rejected(parse_submit_response(&answer)), ResponseCode::ServerError);
    assert!(ResponseCode::ServerError.is_retryable());
    let unprocessable = xml(422, &response("4100", "Validation failed", ""));
    assert_eq!(rejected(parse_submit_response(&unprocessable)), ResponseCode::ValidationFailed);
}

#[test]
fn case_10_doctype_entities_and_deep_nesting_are_refused() {
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE reportResponse [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>\
                  <reportResponse><responseCode>0</responseCode><responseDescription>&b;</responseDescription></reportResponse>";
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/shadow\">]>\
               <reportResponse><responseCode>0</responseCode><responseDescription>&x;</responseDescription></reportResponse>";
    let undeclared = response("0", "&x;", "<reportId>1</reportId>");
    let instruction = response("0", "<?evil?>", "");
    let deep = response("0", "d", &format!("{}{}", "<x>".repeat(8), "</x>".repeat(8)));
    for body in [laughs, xxe, &undeclared, &instruction, &deep] {
        for status in [200, 500] {
            let error = parse_submit_response(&xml(status, body)).expect_err("refused");
            assert!(matches!(error, NcmecError::UnsafeXml { .. }), "{status} {body}: {error:?}");
            assert_good_message(&error);
        }
        assert!(matches!(parse_done_response(&xml(200, body)), Err(NcmecError::UnsafeXml { .. })));
    }
}

#[test]
fn case_10_a_multi_megabyte_body_is_read_or_refused_without_trouble() {
    let big_description = "x".repeat(3 * 1024 * 1024);
    let answer = xml(200, &response("4100", &big_description, ""));
    let error = parse_submit_response(&answer).expect_err("refused");
    assert_good_message(&error);
    let garbage = xml(200, &"<".repeat(3 * 1024 * 1024));
    assert_good_message(&parse_submit_response(&garbage).expect_err("garbage"));
    let html = typed(503, "text/html", &"<p>down</p>".repeat(300_000));
    assert_good_message(&parse_submit_response(&html).expect_err("down"));
}

#[test]
fn case_10_bom_whitespace_and_odd_codes() {
    let bom = format!("\u{feff}{}", response("0", "Success", "<reportId>5</reportId>"));
    assert_eq!(parse_submit_response(&xml(200, &bom)).expect("BOM accepted").report_id, 5);
    let spaced = response("\n  0\t ", "Success", "<reportId>5</reportId>");
    assert_eq!(parse_submit_response(&xml(200, &spaced)).expect("trimmed").report_id, 5);
    for bad in ["-1", "abc", "1.5", "", "0x10", "99999999999999999999"] {
        let error = parse_report_response(&xml(200, &response(bad, "x", ""))).expect_err("bad code");
        assert!(matches!(error, NcmecError::InvalidResponseCode { .. }), "{bad:?}: {error:?}");
        assert_good_message(&error);
    }
    let unknown = parse_report_response(&xml(200, &response("9999", "Something new", ""))).expect("read");
    assert_eq!(unknown.code, ResponseCode::Unknown(9999));
    assert!(unknown.code.needs_alert() && !unknown.code.is_retryable());
    assert_eq!(
        rejected(parse_submit_response(&xml(200, &response("9999", "new", "")))),
        ResponseCode::Unknown(9999)
    );
    let missing = "<reportResponse><responseDescription>x</responseDescription></reportResponse>";
    assert!(matches!(parse_report_response(&xml(200, missing)), Err(NcmecError::SchemaViolation { .. })));
    let no_description =
        "<reportResponse><responseCode>0</responseCode><reportId>3</reportId></reportResponse>";
    assert_eq!(parse_submit_response(&xml(200, no_description)).expect("ok").description, "");
}

#[test]
fn case_11_namespaced_and_unknown_elements_are_ignored_consistently() {
    // Unknown children and elements in a namespace are skipped.
    let extra = "<?xml version=\"1.0\"?><reportResponse xmlns:n=\"urn:new\"><responseCode>0</responseCode>\
                 <n:responseCode>4100</n:responseCode><responseDescription>ok</responseDescription>\
                 <reportId>12</reportId><newField><deeper>1</deeper></newField>\
                 <reportId xmlns=\"urn:other\">13</reportId></reportResponse>";
    assert_eq!(parse_submit_response(&xml(200, extra)).expect("ok").report_id, 12);
    // So a namespaced code alone is no code.
    let only_namespaced =
        "<reportResponse xmlns:n=\"urn:x\"><n:responseCode>0</n:responseCode></reportResponse>";
    assert!(matches!(
        parse_report_response(&xml(200, only_namespaced)),
        Err(NcmecError::SchemaViolation { .. })
    ));
    // A root in a namespace is the wrong root.
    for body in [
        "<reportResponse xmlns=\"urn:x\"><responseCode>0</responseCode></reportResponse>",
        "<n:reportResponse xmlns:n=\"urn:x\"><responseCode>0</responseCode></n:reportResponse>",
    ] {
        assert!(
            matches!(parse_report_response(&xml(200, body)), Err(NcmecError::UnexpectedRoot { .. })),
            "{body}"
        );
    }
    // Elements read as text hold text only; each appears once; containers hold no loose text.
    let nested = response("0", "<b>bold</b>", "");
    assert!(matches!(parse_report_response(&xml(200, &nested)), Err(NcmecError::SchemaViolation { .. })));
    let twice = response("0", "x", "<reportId>1</reportId><reportId>2</reportId>");
    assert!(matches!(parse_report_response(&xml(200, &twice)), Err(NcmecError::SchemaViolation { .. })));
    let loose = "<reportResponse>text<responseCode>0</responseCode></reportResponse>";
    assert!(matches!(parse_report_response(&xml(200, loose)), Err(NcmecError::SchemaViolation { .. })));
    // Order is not checked.
    let reordered = "<reportResponse><reportId>8</reportId><responseCode>0</responseCode></reportResponse>";
    assert_eq!(parse_submit_response(&xml(200, reordered)).expect("ok").report_id, 8);
}

#[test]
fn malformed_xml_on_a_2xx_is_malformed_and_on_an_error_status_is_the_status() {
    let broken = "<reportResponse><responseCode>0</responseCode>";
    assert!(matches!(parse_submit_response(&xml(200, broken)), Err(NcmecError::Malformed { .. })));
    assert!(matches!(
        parse_submit_response(&xml(502, broken)),
        Err(NcmecError::HttpStatus { status: 502, .. })
    ));
    let other_root = "<error><message>nope</message></error>";
    assert!(matches!(parse_submit_response(&xml(200, other_root)), Err(NcmecError::UnexpectedRoot { .. })));
    assert!(matches!(
        parse_submit_response(&xml(404, other_root)),
        Err(NcmecError::HttpStatus { status: 404, .. })
    ));
    let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><reportResponse><responseCode>0</responseCode></reportResponse>";
    let answer = WireResponse::from_body(200, latin1.to_vec());
    assert!(matches!(parse_submit_response(&answer), Err(NcmecError::Malformed { .. })));
}

#[test]
fn response_codes_round_trip_and_have_distinct_meanings() {
    let mut meanings = std::collections::HashSet::new();
    for code in ResponseCode::KNOWN {
        assert_eq!(ResponseCode::from_code(code.code()), code);
        assert!(meanings.insert(code.meaning()), "{code}");
        assert!(!(code.is_retryable() && code.needs_alert()), "{code}");
    }
    assert_eq!(ResponseCode::KNOWN.len(), 19);
    assert_eq!(ResponseCode::from_code(42), ResponseCode::Unknown(42));
    assert_eq!(
        ResponseCode::ValidationFailed.to_string(),
        "4100 (the report or file details failed NCMEC's validation)"
    );
}
