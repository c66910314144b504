//! What a child-protection case becomes for NCMEC and for the CRM (pure: typed values in,
//! typed values out; the XML is written by [`crate::services::ncmec::writer`]).
//!
//! NCMEC gets the report as the original tools sent it, plus what the schema allows and the
//! appliance knows: every file page, the uploader with one upload IP event per file, earlier
//! reports of the same images (`priorCTReports`), and per file its original name, the upload
//! time and IP, and our SHA-1 and MD5. The CRM gets hashes, the report ID and metadata only:
//! never an image, the CheckUser text, the notes or an IP address.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::journal::SentFile;
use super::model::{ChildReport, Environment, ReportedFile};
use crate::cases::CaseId;
use crate::services::ncmec::wire::{
    Email, FileDetails, FileHash, FileRelevance, IncidentSummary, IncidentType, IpCaptureEvent, IpEventName,
    Person, PersonOrUserReported, Report, ReportAnnotations, Reporter, WebPageIncident,
};

/// The file page of `name` on the report's project.
pub fn file_page_url(report: &ChildReport, name: &str) -> String {
    let title: String = format!("File:{name}").replace(' ', "_");
    let mut url = url::Url::parse(&format!("https://{}/wiki/", report.project.host))
        .unwrap_or_else(|_| url::Url::parse("https://invalid.invalid/wiki/").expect("a constant URL"));
    url.path_segments_mut()
        .map(|mut segments| {
            segments.pop_if_empty().push(&title);
        })
        .ok();
    url.to_string()
}

/// The user page of the uploader.
fn user_page_url(report: &ChildReport) -> String {
    file_page_url(report, "").replace("/File:", &format!("/User:{}", report.uploader.replace(' ', "_")))
}

/// A recorded `YYYY-MM-DDTHH:MM:00Z`.
fn upload_time(file: &ReportedFile) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(&file.uploaded_at, &Rfc3339).ok()
}

/// The `<report>` for `report`, naming `prior` earlier reports of the same images.
pub fn ncmec_report(report: &ChildReport, prior: &[u64]) -> Report {
    let latest_upload =
        report.files.iter().filter_map(upload_time).max().unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let optional = |text: &str| (!text.trim().is_empty()).then(|| text.to_owned());
    let mut prior_reports: Vec<u64> = prior.to_vec();
    prior_reports.sort_unstable();
    prior_reports.dedup();
    Report {
        incident_summary: IncidentSummary {
            incident_type: IncidentType::ChildPornography,
            platform: Some(report.project.label.clone()),
            escalate_to_high_priority: None,
            report_annotations: ReportAnnotations::default(),
            incident_date_time: latest_upload,
            incident_date_time_description: Some("the time of the latest upload of a reported file".into()),
        },
        internet_details: vec![WebPageIncident {
            urls: report.files.iter().map(|f| file_page_url(report, &f.wiki_name)).collect(),
            additional_info: None,
            third_party_hosted_content: Some(false),
        }],
        reporter: Reporter {
            reporting_person: Person {
                first_name: Some(report.reporter_first_name.clone()),
                last_name: optional(&report.reporter_last_name),
                phones: Vec::new(),
                emails: vec![Email { address: report.reporter_email.clone(), kind: None, verified: None }],
            },
            contact_person: None,
            terms_of_service: None,
            legal_url: None,
        },
        persons_or_users_reported: vec![PersonOrUserReported {
            person: optional(&report.uploader_email).map(|address| Person {
                emails: vec![Email { address, kind: None, verified: None }],
                ..Person::default()
            }),
            esp_identifier: None,
            esp_service: Some(report.project.label.clone()),
            screen_name: Some(report.uploader.clone()),
            display_names: Vec::new(),
            profile_urls: vec![user_page_url(report)],
            ip_capture_events: report.files.iter().filter_map(upload_event).collect(),
            prior_ct_reports: prior_reports,
            account_temporarily_disabled: None,
            account_permanently_disabled: None,
            additional_info: optional(&report.additional_info),
        }],
        additional_info: None,
    }
}

fn upload_event(file: &ReportedFile) -> Option<IpCaptureEvent> {
    Some(IpCaptureEvent {
        ip_address: file.upload_ip?,
        event_name: Some(IpEventName::Upload),
        date_time: upload_time(file),
        possible_proxy: None,
        port: None,
    })
}

/// The `<fileDetails>` of the report's file `index`, uploaded as `file_id`.
pub fn file_details(
    report: &ChildReport,
    index: usize,
    sent: &SentFile,
    report_id: u64,
    file_id: &str,
) -> FileDetails {
    let row = report.files.get(index);
    let mut details = FileDetails::new(report_id, file_id);
    details.file_name = Some(sent.wiki_name.clone());
    details.original_file_name = (!sent.original_name.is_empty()).then(|| sent.original_name.clone());
    details.uploaded_to_esp = row.and_then(upload_time);
    details.location_of_file = Some(file_page_url(report, &sent.wiki_name));
    details.file_viewed_by_esp = Some(true);
    details.publicly_available = Some(true);
    details.file_relevance = Some(FileRelevance::Reported);
    details.original_file_hashes = vec![
        FileHash { hash_type: "SHA1".into(), value: sent.sha1.clone() },
        FileHash { hash_type: "MD5".into(), value: sent.md5.clone() },
    ];
    details.ip_capture_event = row.and_then(upload_event);
    details
}

/// The Salesforce Case fields of a filed (or attempted) report: hashes, report ID and metadata
/// only.
pub fn salesforce_fields(
    report: &ChildReport,
    case: CaseId,
    case_url: &str,
    report_id: u64,
    files: &[SentFile],
) -> Map<String, Value> {
    let test = report.environment == Environment::Test;
    let mut lines = vec![format!("Takedown case {case}: {case_url}")];
    if test {
        lines.push("Sent to NCMEC's test environment (discarded by NCMEC).".into());
    }
    lines.push(format!("CyberTipline report ID: {report_id}"));
    lines.push(format!("Project: {} ({})", report.project.label, report.project.host));
    lines.push(format!("Uploader: {}", report.uploader));
    for statement in &report.statements {
        lines.push(format!("Statement: {}", statement.sentence()));
    }
    for file in files {
        lines.push(format!(
            "File: {} ({} bytes) SHA-1 {} MD5 {} SHA-256 {}",
            file.wiki_name, file.size, file.sha1, file.md5, file.sha256
        ));
    }
    let subject = format!("{}Child protection report {report_id}", if test { "[TEST] " } else { "" });
    let mut fields = Map::new();
    fields.insert("Subject".into(), Value::String(subject));
    fields.insert("Description".into(), Value::String(lines.join("\n")));
    fields.insert("Status".into(), Value::String("Closed".into()));
    fields.insert("Type".into(), Value::String("Child Protection".into()));
    fields.insert("Origin".into(), Value::String("Takedown".into()));
    fields
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::child_protection::form::tests::filled_report;
    use crate::child_protection::journal::WikiHash;
    use crate::services::ncmec::wire::{file_details_xml, report_xml};

    pub(crate) fn sent(name: &str) -> SentFile {
        SentFile {
            wiki_name: name.into(),
            original_name: "IMG 1.jpg".into(),
            size: 3,
            sha1: "a9993e364706816aba3e25717850c26c9cd0d89d".into(),
            md5: "900150983cd24fb0d6963f7d28e17f72".into(),
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            wiki_hash: WikiHash::Matches,
            prior: Vec::new(),
        }
    }

    #[test]
    fn the_report_names_every_file_page_the_upload_ips_and_prior_reports() {
        let report = filled_report();
        let built = ncmec_report(&report, &[7, 5, 7]);
        let xml = report_xml(&built).unwrap();
        assert!(xml.contains("<url>https://commons.wikimedia.org/wiki/File:A.jpg</url>"), "{xml}");
        assert!(xml.contains("<url>https://commons.wikimedia.org/wiki/File:B.jpg</url>"), "{xml}");
        assert!(
            xml.contains("<ipAddress>192.0.2.7</ipAddress>")
                && xml.contains("<ipAddress>2001:db8::1</ipAddress>")
        );
        assert!(
            xml.contains("<priorCTReports>5</priorCTReports><priorCTReports>7</priorCTReports>"),
            "{xml}"
        );
        assert!(xml.contains("<screenName>Uploader</screenName>"), "{xml}");
        assert!(xml.contains("<incidentDateTime>2026-11-20T09:31:00Z</incidentDateTime>"), "{xml}");
        crate::services::ncmec::tests::assert_schema_valid(&xml);
    }

    #[test]
    fn file_details_carry_the_hashes_the_names_and_the_upload_event() {
        let report = filled_report();
        let details = file_details(&report, 1, &sent("B.jpg"), 42, "0123abcd");
        let xml = file_details_xml(&details).unwrap();
        for part in [
            "<fileName>B.jpg</fileName>",
            "<originalFileName>IMG 1.jpg</originalFileName>",
            "<originalFileHash hashType=\"SHA1\">a9993e364706816aba3e25717850c26c9cd0d89d</originalFileHash>",
            "<ipAddress>2001:db8::1</ipAddress>",
            "<uploadedToEspTimestamp>2026-11-20T09:31:00Z</uploadedToEspTimestamp>",
        ] {
            assert!(xml.contains(part), "{part} missing from {xml}");
        }
        crate::services::ncmec::tests::assert_schema_valid(&xml);
    }

    #[test]
    fn the_crm_gets_hashes_and_the_report_id_but_no_checkuser_text_notes_or_ips() {
        let mut report = filled_report();
        report.additional_info = "checkuser-sentinel".into();
        report.permanent_notes = "notes-sentinel".into();
        let fields = salesforce_fields(&report, CaseId([1; 16]), "https://t/cases/x", 42, &[sent("A.jpg")]);
        let text = serde_json::to_string(&fields).unwrap();
        assert!(text.contains("42") && text.contains("a9993e364706816aba3e25717850c26c9cd0d89d"), "{text}");
        for secret in ["sentinel", "192.0.2.7", "2001:db8"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("[TEST]"), "{text}");
    }
}
