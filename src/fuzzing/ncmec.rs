//! Fuzz targets for the NCMEC wire module: the two answers (`reportResponse`,
//! `reportDoneResponse`) and the report XML the appliance writes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::{FuzzTarget, fuzz_response};
use crate::egress::wire::WireResponse;
use crate::services::ncmec::wire::{
    AccountPermanentlyDisabled, AccountTemporarilyDisabled, BuildError, DoneResponse, Email, EmailKind,
    FileAnnotations, FileDetails, FileHash, FileRelevance, IncidentSummary, IncidentType, IpCaptureEvent,
    IpEventName, NcmecError, Person, PersonOrUserReported, Phone, PhoneKind, Report, ReportAnnotations,
    ReportResponse, Reporter, ResponseCode, WebPageIncident, file_details_xml, parse_done_response,
    parse_report_response, parse_retract_response, parse_submit_response, parse_success_response,
    parse_upload_response, report_xml,
};
use crate::services::ncmec::xml::{self, Element, is_xml_char};

/// This service's fuzz targets by name (`ncmec_<message>`).
pub const TARGETS: &[(&str, FuzzTarget)] = &[
    ("ncmec_report_response", ncmec_report_response),
    ("ncmec_done_response", ncmec_done_response),
    ("ncmec_report_request", ncmec_report_request),
];

/// An MD5 no fuzz input is likely to carry, for the mismatch path.
const OTHER_MD5: &str = "0123456789abcdef0123456789abcdef";

/// A `reportResponse` answer (first byte: the HTTP status). The submit parser's success
/// always has a report ID; a non-zero code is the same rejection from every parser; a parsed
/// value written back as XML reads back equal; every error names NCMEC, briefly.
pub fn ncmec_report_response(data: &[u8]) {
    let response = fuzz_response(data, &[("content-type", "text/xml")]);
    let generic = parse_report_response(&response);
    let submit = parse_submit_response(&response);
    let upload = parse_upload_response(&response, OTHER_MD5);
    for error in [generic.as_ref().err(), submit.as_ref().err(), upload.as_ref().err()].into_iter().flatten()
    {
        check_error(error);
    }
    if let Ok(submitted) = &submit {
        let parsed = generic
            .as_ref()
            .unwrap_or_else(|e| panic!("submit succeeded where the generic parse failed: {e}"));
        assert_eq!(parsed.code, ResponseCode::Success);
        assert_eq!(parsed.report_id, Some(submitted.report_id), "a submit success must carry its report id");
    }
    // The status/fileinfo and retract readers agree with the generic one: success only for code
    // 0 (and, for retract, the two "already" states), the same rejection otherwise.
    for (reader, accepted) in [
        (parse_success_response(&response), &[ResponseCode::Success][..]),
        (
            parse_retract_response(&response),
            &[
                ResponseCode::Success,
                ResponseCode::ReportAlreadyRetracted,
                ResponseCode::ReportAlreadyFinished,
            ][..],
        ),
    ] {
        match (&generic, reader) {
            (Ok(parsed), Ok(read)) => assert!(read == *parsed && accepted.contains(&parsed.code)),
            (Ok(parsed), Err(error)) => assert!(
                !accepted.contains(&parsed.code)
                    && matches!(&error, NcmecError::Rejected { code, .. } if *code == parsed.code),
                "code {}: {error:?}",
                parsed.code
            ),
            (Err(_), Ok(_)) => panic!("a reader accepted what the generic parse refused"),
            (Err(_), Err(error)) => check_error(&error),
        }
    }
    let Ok(parsed) = generic else { return };

    if parsed.code != ResponseCode::Success {
        for error in [submit.err(), upload.err()] {
            assert!(
                matches!(&error, Some(NcmecError::Rejected { code, .. }) if *code == parsed.code),
                "code {} must be a rejection: {error:?}",
                parsed.code
            );
        }
    } else {
        match (&submit, parsed.report_id) {
            (Ok(_), Some(_)) => {}
            (Err(NcmecError::SuccessWithoutReportId { .. }), None) => {}
            other => panic!("code 0 with report id {:?} gave {other:?}", parsed.report_id),
        }
        if let (Some(file_id), Some(hash)) = (&parsed.file_id, &parsed.hash) {
            let good =
                parse_upload_response(&response, hash).unwrap_or_else(|e| panic!("own hash refused: {e}"));
            assert_eq!(&good.file_id, file_id);
            if !hash.eq_ignore_ascii_case(OTHER_MD5) {
                assert!(matches!(upload, Err(NcmecError::HashMismatch { .. })), "{upload:?}");
            }
        }
    }

    let again = parse_report_response(&xml_response(report_response_xml(&parsed)));
    assert_eq!(again.as_ref(), Ok(&parsed), "a parsed answer written back must read back the same");
}

/// A `reportDoneResponse` answer (first byte: the HTTP status). A success has a report ID and
/// non-empty file IDs, and written back reads back equal; every error names NCMEC, briefly.
pub fn ncmec_done_response(data: &[u8]) {
    let response = fuzz_response(data, &[("content-type", "text/xml")]);
    match parse_done_response(&response) {
        Ok(done) => {
            assert!(done.file_ids.iter().all(|id| !id.is_empty() && id.trim() == id));
            let again = parse_done_response(&xml_response(done_response_xml(&done)));
            assert_eq!(again.as_ref(), Ok(&done), "a parsed answer written back must read back the same");
        }
        Err(error) => check_error(&error),
    }
}

/// Strings from the fuzz bytes in every text field of a report and of a file's details: the
/// XML is either refused because a string holds a character XML cannot carry (and only then),
/// or reads back with every field exactly as given (so the escaping is complete).
pub fn ncmec_report_request(data: &[u8]) {
    let mut head = [0u8; 8];
    let split = data.len().min(head.len());
    head[..split].copy_from_slice(&data[..split]);
    let strings: Vec<String> =
        data[split..].split(|b| *b == 0xff).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    let s = |i: usize| strings.get(i).cloned().unwrap_or_default();
    let when = date_time(&head);
    let report = fuzz_report(&s, when, head[6]);
    let details = fuzz_file_details(&s, when, head[7]);
    let used: Vec<String> = (0..FIELDS).map(s).collect();
    let cannot_carry = |strings: &[String]| strings.iter().any(|s| s.chars().any(|c| !is_xml_char(c)));
    let (report_strings, file_strings) = used.split_at(REPORT_FIELDS);

    match report_xml(&report) {
        Ok(text) => {
            assert!(!cannot_carry(report_strings), "a character XML cannot carry was written");
            check_report(&text, &report);
        }
        Err(BuildError::ForbiddenCharacter { .. }) if cannot_carry(report_strings) => {}
        Err(error) => panic!("unexpected refusal: {error}"),
    }
    match file_details_xml(&details) {
        Ok(text) => {
            assert!(!cannot_carry(file_strings), "a character XML cannot carry was written");
            check_file_details(&text, &details);
        }
        Err(BuildError::ForbiddenCharacter { .. }) if cannot_carry(file_strings) => {}
        Err(error) => panic!("unexpected refusal: {error}"),
    }
    for error in [report_xml(&report).err(), file_details_xml(&details).err()].into_iter().flatten() {
        let text = error.to_string();
        assert!(text.contains("NCMEC"), "{text}");
    }
}

/// How many strings the report and file details use.
const FIELDS: usize = 27;

/// How many of the strings (the first ones) the report uses.
const REPORT_FIELDS: usize = 21;

fn date_time(head: &[u8; 8]) -> OffsetDateTime {
    let seconds = i64::from(u32::from_le_bytes([head[0], head[1], head[2], head[3]]));
    let minutes = i32::from(i16::from_le_bytes([head[4], head[5]])) % (24 * 60);
    let offset = UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH).to_offset(offset)
}

fn fuzz_report(s: &dyn Fn(usize) -> String, when: OffsetDateTime, flags: u8) -> Report {
    let bit = |n: u8| flags & (1 << n) != 0;
    let person = |first: usize| Person {
        first_name: Some(s(first)),
        last_name: Some(s(first + 1)),
        phones: vec![Phone {
            number: s(first + 2),
            kind: Some(PhoneKind::Mobile),
            verified: Some(bit(0)),
            country_calling_code: Some(44),
            extension: Some("12".to_owned()),
        }],
        emails: vec![Email { address: s(first + 3), kind: Some(EmailKind::Work), verified: Some(bit(1)) }],
    };
    Report {
        incident_summary: IncidentSummary {
            incident_type: IncidentType::ALL[usize::from(flags) % IncidentType::ALL.len()],
            platform: Some(s(0)),
            escalate_to_high_priority: Some(s(1)),
            report_annotations: ReportAnnotations {
                spam: bit(2),
                sextortion: bit(3),
                ..ReportAnnotations::default()
            },
            incident_date_time: when,
            incident_date_time_description: Some(s(2)),
        },
        internet_details: vec![WebPageIncident {
            urls: vec![s(3), s(4)],
            additional_info: Some(s(5)),
            third_party_hosted_content: Some(bit(4)),
        }],
        reporter: Reporter {
            reporting_person: person(6),
            contact_person: None,
            terms_of_service: Some(s(10)),
            legal_url: Some(s(11)),
        },
        persons_or_users_reported: vec![PersonOrUserReported {
            person: None,
            esp_identifier: Some(s(12)),
            esp_service: Some(s(13)),
            screen_name: Some(s(14)),
            display_names: vec![s(15), s(16)],
            profile_urls: vec![s(17)],
            ip_capture_events: vec![IpCaptureEvent {
                ip_address: if bit(6) {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(flags)))
                } else {
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, flags))
                },
                event_name: Some(IpEventName::Upload),
                date_time: Some(when),
                possible_proxy: Some(bit(7)),
                port: Some(u16::from(flags)),
            }],
            prior_ct_reports: vec![u64::from(flags)],
            account_temporarily_disabled: Some(AccountTemporarilyDisabled {
                disabled: bit(0),
                disabled_date: Some(when),
                user_notified: None,
                user_notified_date: None,
                reenabled_date: None,
            }),
            account_permanently_disabled: Some(AccountPermanentlyDisabled {
                disabled: bit(1),
                disabled_date: None,
                user_notified: Some(false),
                user_notified_date: None,
            }),
            additional_info: Some(s(18)),
        }],
        additional_info: Some(s(19) + &s(20)),
    }
}

fn fuzz_file_details(s: &dyn Fn(usize) -> String, when: OffsetDateTime, flags: u8) -> FileDetails {
    FileDetails {
        report_id: u64::from(flags) * 1_000_003,
        file_id: format!("{:032x}", u128::from(flags) * 0x1234_5678_9abc),
        file_name: Some(s(21)),
        original_file_name: Some(s(22)),
        uploaded_to_esp: Some(when),
        location_of_file: Some(s(23)),
        file_viewed_by_esp: Some(flags & 1 != 0),
        exif_viewed_by_esp: None,
        publicly_available: Some(true),
        file_relevance: Some(FileRelevance::Reported),
        file_annotations: FileAnnotations { generative_ai: flags & 2 != 0, ..FileAnnotations::default() },
        original_file_hashes: vec![FileHash { hash_type: s(24), value: s(25) }],
        ip_capture_event: None,
        additional_info: Some(s(26)),
    }
}

/// The one child with this name (anything else is a failed invariant).
fn one<'a>(parent: &'a Element, name: &'a str) -> &'a Element {
    match parent.child(name) {
        Ok(Some(child)) => child,
        other => panic!("<{}> should have one <{name}>: {other:?}", parent.name),
    }
}

fn text_of<'a>(parent: &'a Element, name: &'a str) -> &'a str {
    &one(parent, name).text
}

fn texts<'a>(parent: &'a Element, name: &'a str) -> Vec<&'a str> {
    parent.children_named(name).map(|c| c.text.as_str()).collect()
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

fn check_time(written: &str, expected: OffsetDateTime) {
    let read = OffsetDateTime::parse(written, &Rfc3339).unwrap_or_else(|e| panic!("{written}: {e}"));
    assert_eq!(read, expected);
    assert_eq!(read.offset(), expected.offset());
}

fn check_report(text: &str, report: &Report) {
    let root = xml::parse(text.as_bytes()).unwrap_or_else(|e| panic!("own report XML: {e}\n{text}"));
    assert_eq!(root.name, "report");
    let summary = one(&root, "incidentSummary");
    let expected = &report.incident_summary;
    assert_eq!(text_of(summary, "incidentType"), expected.incident_type.as_str());
    assert_eq!(text_of(summary, "platform"), opt(&expected.platform));
    assert_eq!(text_of(summary, "escalateToHighPriority"), opt(&expected.escalate_to_high_priority));
    check_time(text_of(summary, "incidentDateTime"), expected.incident_date_time);
    assert_eq!(
        text_of(summary, "incidentDateTimeDescription"),
        opt(&expected.incident_date_time_description)
    );

    let incident = one(one(&root, "internetDetails"), "webPageIncident");
    let web = &report.internet_details[0];
    assert_eq!(texts(incident, "url"), web.urls.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(text_of(incident, "additionalInfo"), opt(&web.additional_info));

    let reporter = one(&root, "reporter");
    let person = one(reporter, "reportingPerson");
    let expected_person = &report.reporter.reporting_person;
    assert_eq!(text_of(person, "firstName"), opt(&expected_person.first_name));
    assert_eq!(text_of(person, "lastName"), opt(&expected_person.last_name));
    assert_eq!(text_of(person, "phone"), expected_person.phones[0].number);
    assert_eq!(one(person, "phone").attribute("countryCallingCode"), Some("+44"));
    assert_eq!(text_of(person, "email"), expected_person.emails[0].address);
    assert_eq!(text_of(reporter, "termsOfService"), opt(&report.reporter.terms_of_service));
    assert_eq!(text_of(reporter, "legalURL"), opt(&report.reporter.legal_url));

    let reported = one(&root, "personOrUserReported");
    let expected_reported = &report.persons_or_users_reported[0];
    assert_eq!(text_of(reported, "espIdentifier"), opt(&expected_reported.esp_identifier));
    assert_eq!(text_of(reported, "espService"), opt(&expected_reported.esp_service));
    assert_eq!(text_of(reported, "screenName"), opt(&expected_reported.screen_name));
    assert_eq!(
        texts(reported, "displayName"),
        expected_reported.display_names.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(reported, "profileUrl"),
        expected_reported.profile_urls.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let event = one(reported, "ipCaptureEvent");
    let expected_event = &expected_reported.ip_capture_events[0];
    assert_eq!(text_of(event, "ipAddress").parse::<IpAddr>().ok(), Some(expected_event.ip_address));
    assert_eq!(text_of(reported, "additionalInfo"), opt(&expected_reported.additional_info));
    assert_eq!(text_of(&root, "additionalInfo"), opt(&report.additional_info));
}

fn check_file_details(text: &str, details: &FileDetails) {
    let root = xml::parse(text.as_bytes()).unwrap_or_else(|e| panic!("own fileDetails XML: {e}\n{text}"));
    assert_eq!(root.name, "fileDetails");
    assert_eq!(text_of(&root, "reportId"), details.report_id.to_string());
    assert_eq!(text_of(&root, "fileId"), details.file_id);
    assert_eq!(text_of(&root, "fileName"), opt(&details.file_name));
    assert_eq!(text_of(&root, "originalFileName"), opt(&details.original_file_name));
    assert_eq!(text_of(&root, "locationOfFile"), opt(&details.location_of_file));
    if let Some(at) = details.uploaded_to_esp {
        check_time(text_of(&root, "uploadedToEspTimestamp"), at);
    }
    let hash = one(&root, "originalFileHash");
    assert_eq!(hash.attribute("hashType"), Some(details.original_file_hashes[0].hash_type.as_str()));
    assert_eq!(hash.text, details.original_file_hashes[0].value);
    assert_eq!(text_of(&root, "additionalInfo"), opt(&details.additional_info));
}

fn check_error(error: &NcmecError) {
    let text = error.to_string();
    assert!(text.contains("NCMEC"), "an error must name NCMEC: {text}");
    // The server's words are quoted at most ~300 characters at a time, a few times at most.
    assert!(
        text.chars().count() < 2_000,
        "an error message must stay short: {} chars: {text}",
        text.chars().count()
    );
}

fn xml_response(body: String) -> WireResponse {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/xml"));
    WireResponse::new(http::StatusCode::OK, headers, body)
}

/// A `reportResponse` from a parsed value, written independently of the appliance's builders.
fn report_response_xml(response: &ReportResponse) -> String {
    let mut writer = Writer::new(Vec::new());
    put(&mut writer, Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), Some("yes"))));
    put(&mut writer, Event::Start(BytesStart::new("reportResponse")));
    leaf(&mut writer, "responseCode", &response.code.code().to_string());
    leaf(&mut writer, "responseDescription", &response.description);
    if let Some(id) = response.report_id {
        leaf(&mut writer, "reportId", &id.to_string());
    }
    if let Some(id) = &response.file_id {
        leaf(&mut writer, "fileId", id);
    }
    if let Some(hash) = &response.hash {
        leaf(&mut writer, "hash", hash);
    }
    put(&mut writer, Event::End(BytesEnd::new("reportResponse")));
    String::from_utf8_lossy(&writer.into_inner()).into_owned()
}

fn put(writer: &mut Writer<Vec<u8>>, event: Event<'_>) {
    writer.write_event(event).unwrap_or_else(|e| panic!("writing to memory: {e}"));
}

fn leaf(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) {
    put(writer, Event::Start(BytesStart::new(name)));
    put(writer, Event::Text(BytesText::new(value)));
    put(writer, Event::End(BytesEnd::new(name)));
}

/// A `reportDoneResponse` from a parsed value.
fn done_response_xml(done: &DoneResponse) -> String {
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><reportDoneResponse><responseCode>0\
         </responseCode><reportId>{}</reportId><files>",
        done.report_id
    );
    for id in &done.file_ids {
        body.push_str("<fileId>");
        body.push_str(&quick_xml::escape::escape(id.as_str()));
        body.push_str("</fileId>");
    }
    body.push_str("</files></reportDoneResponse>");
    body
}
