//! The XML the appliance sends NCMEC: [`report_xml`] for `/submit` and [`file_details_xml`]
//! for `/fileinfo`, elements in the strict `xs:sequence` order of NCMEC's schema
//! (`tests/fixtures/ncmec/cyber_tipline.xsd`, which the tests validate against with xmllint).
//!
//! Text is escaped by quick-xml's writer (`<`, `>`, `&`, quotes, and `\r` as `&#13;` so it
//! survives line-end normalisation; in attributes also tab and line feed). Characters that
//! XML 1.0 cannot carry at all, even escaped (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F,
//! U+FFFE, U+FFFF), are **refused** with [`BuildError::ForbiddenCharacter`] naming the field,
//! rather than stripped: a report to NCMEC must say exactly what staff wrote, or nothing.
//! Values the schema restricts (phone country codes and extensions, `xs:long` report IDs,
//! `xs:token` file IDs, RFC 3339 years and offsets) are checked too, so NCMEC never has to
//! answer 4100 for something the appliance could have known.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::report::{
    BuildError, FileDetails, IncidentSummary, IpCaptureEvent, Person, PersonOrUserReported, Report, Reporter,
};
use super::xml::is_xml_char;

/// The XML body for `/submit`.
pub fn report_xml(report: &Report) -> Result<String, BuildError> {
    let mut out = Out::new()?;
    out.open("report", &[])?;
    write_summary(&mut out, &report.incident_summary)?;
    for incident in &report.internet_details {
        out.open("internetDetails", &[])?;
        let attributes = match incident.third_party_hosted_content {
            Some(hosted) => vec![("thirdPartyHostedContent", bool_text(hosted))],
            None => Vec::new(),
        };
        out.open("webPageIncident", &attributes)?;
        for url in &incident.urls {
            out.text("internetDetails/webPageIncident/url", "url", url)?;
        }
        out.opt_text(
            "internetDetails/webPageIncident/additionalInfo",
            "additionalInfo",
            &incident.additional_info,
        )?;
        out.close("webPageIncident")?;
        out.close("internetDetails")?;
    }
    write_reporter(&mut out, &report.reporter)?;
    for reported in &report.persons_or_users_reported {
        write_reported(&mut out, reported)?;
    }
    out.opt_text("report/additionalInfo", "additionalInfo", &report.additional_info)?;
    out.close("report")?;
    Ok(out.finish())
}

/// The XML body for `/fileinfo`.
pub fn file_details_xml(details: &FileDetails) -> Result<String, BuildError> {
    if details.file_id.is_empty() || details.file_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // xs:token would silently change whitespace, and NCMEC's file IDs have none.
        return Err(BuildError::InvalidValue {
            field: "fileDetails/fileId",
            reason: "the file ID from NCMEC's upload answer must be non-empty and without spaces",
        });
    }
    let mut out = Out::new()?;
    out.open("fileDetails", &[])?;
    out.text("fileDetails/reportId", "reportId", &report_id_text(details.report_id)?)?;
    out.text("fileDetails/fileId", "fileId", &details.file_id)?;
    out.opt_text("fileDetails/fileName", "fileName", &details.file_name)?;
    out.opt_text("fileDetails/originalFileName", "originalFileName", &details.original_file_name)?;
    if let Some(at) = details.uploaded_to_esp {
        out.text(
            "fileDetails/uploadedToEspTimestamp",
            "uploadedToEspTimestamp",
            &date_time("fileDetails/uploadedToEspTimestamp", at)?,
        )?;
    }
    out.opt_text("fileDetails/locationOfFile", "locationOfFile", &details.location_of_file)?;
    out.opt_bool("fileViewedByEsp", details.file_viewed_by_esp)?;
    out.opt_bool("exifViewedByEsp", details.exif_viewed_by_esp)?;
    out.opt_bool("publiclyAvailable", details.publicly_available)?;
    if let Some(relevance) = details.file_relevance {
        out.text("fileDetails/fileRelevance", "fileRelevance", relevance.as_str())?;
    }
    let a = details.file_annotations;
    let flags = [
        ("animeDrawingVirtualHentai", a.anime_drawing_virtual_hentai),
        ("potentialMeme", a.potential_meme),
        ("viral", a.viral),
        ("possibleSelfProduction", a.possible_self_production),
        ("physicalHarm", a.physical_harm),
        ("violenceGore", a.violence_gore),
        ("bestiality", a.bestiality),
        ("liveStreaming", a.live_streaming),
        ("infant", a.infant),
        ("generativeAi", a.generative_ai),
    ];
    // Of the schema's choice (`potentialMeme` alone, or `fileAnnotations`), only the second
    // is written: it carries the same flag, and sending both is refused with 4100.
    out.flags("fileAnnotations", &flags)?;
    for hash in &details.original_file_hashes {
        check_text("fileDetails/originalFileHash@hashType", &hash.hash_type)?;
        out.open("originalFileHash", &[("hashType", hash.hash_type.clone())])?;
        out.raw_text("fileDetails/originalFileHash", &hash.value)?;
        out.close("originalFileHash")?;
    }
    if let Some(event) = &details.ip_capture_event {
        write_ip_event(&mut out, "fileDetails/ipCaptureEvent", event)?;
    }
    out.opt_text("fileDetails/additionalInfo", "additionalInfo", &details.additional_info)?;
    out.close("fileDetails")?;
    Ok(out.finish())
}

/// A report ID as `xs:long` text.
pub(crate) fn report_id_text(report_id: u64) -> Result<String, BuildError> {
    if i64::try_from(report_id).is_err() {
        return Err(BuildError::InvalidValue {
            field: "reportId",
            reason: "NCMEC report IDs are at most 2^63 - 1",
        });
    }
    Ok(report_id.to_string())
}

/// Checks one text value against XML 1.0's character set.
pub(crate) fn check_text(field: &'static str, value: &str) -> Result<(), BuildError> {
    match value.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(BuildError::ForbiddenCharacter { field, code_point: u32::from(c) }),
        None => Ok(()),
    }
}

/// An `xs:dateTime` in RFC 3339 with an explicit offset (`Z` for UTC).
pub(crate) fn date_time(field: &'static str, at: OffsetDateTime) -> Result<String, BuildError> {
    at.format(&Rfc3339).map_err(|_| BuildError::DateTime { field })
}

fn bool_text(value: bool) -> String {
    if value { "true" } else { "false" }.to_owned()
}

fn write_summary(out: &mut Out, summary: &IncidentSummary) -> Result<(), BuildError> {
    out.open("incidentSummary", &[])?;
    out.text("incidentSummary/incidentType", "incidentType", summary.incident_type.as_str())?;
    out.opt_text("incidentSummary/platform", "platform", &summary.platform)?;
    out.opt_text(
        "incidentSummary/escalateToHighPriority",
        "escalateToHighPriority",
        &summary.escalate_to_high_priority,
    )?;
    let a = summary.report_annotations;
    out.flags(
        "reportAnnotations",
        &[
            ("sextortion", a.sextortion),
            ("csamSolicitation", a.csam_solicitation),
            ("minorToMinorInteraction", a.minor_to_minor_interaction),
            ("spam", a.spam),
            ("sadisticOnlineExploitation", a.sadistic_online_exploitation),
        ],
    )?;
    let when = date_time("incidentSummary/incidentDateTime", summary.incident_date_time)?;
    out.text("incidentSummary/incidentDateTime", "incidentDateTime", &when)?;
    out.opt_text(
        "incidentSummary/incidentDateTimeDescription",
        "incidentDateTimeDescription",
        &summary.incident_date_time_description,
    )?;
    out.close("incidentSummary")
}

fn write_reporter(out: &mut Out, reporter: &Reporter) -> Result<(), BuildError> {
    out.open("reporter", &[])?;
    write_person(out, "reportingPerson", &reporter.reporting_person)?;
    if let Some(contact) = &reporter.contact_person {
        write_person(out, "contactPerson", contact)?;
    }
    out.opt_text("reporter/termsOfService", "termsOfService", &reporter.terms_of_service)?;
    out.opt_text("reporter/legalURL", "legalURL", &reporter.legal_url)?;
    out.close("reporter")
}

fn write_person(out: &mut Out, element: &'static str, person: &Person) -> Result<(), BuildError> {
    out.open(element, &[])?;
    out.opt_text("person/firstName", "firstName", &person.first_name)?;
    out.opt_text("person/lastName", "lastName", &person.last_name)?;
    for phone in &person.phones {
        let mut attributes = Vec::new();
        if let Some(kind) = phone.kind {
            attributes.push(("type", kind.as_str().to_owned()));
        }
        if let Some(verified) = phone.verified {
            attributes.push(("verified", bool_text(verified)));
        }
        if let Some(code) = phone.country_calling_code {
            if !(1..=999).contains(&code) {
                return Err(BuildError::InvalidValue {
                    field: "person/phone@countryCallingCode",
                    reason: "a country calling code is 1 to 3 digits, 1 to 999",
                });
            }
            attributes.push(("countryCallingCode", format!("+{code}")));
        }
        if let Some(extension) = &phone.extension {
            if extension.is_empty() || !extension.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BuildError::InvalidValue {
                    field: "person/phone@extension",
                    reason: "an extension is one or more digits 0-9",
                });
            }
            attributes.push(("extension", extension.clone()));
        }
        out.open("phone", &attributes)?;
        out.raw_text("person/phone", &phone.number)?;
        out.close("phone")?;
    }
    for email in &person.emails {
        let mut attributes = Vec::new();
        if let Some(kind) = email.kind {
            attributes.push(("type", kind.as_str().to_owned()));
        }
        if let Some(verified) = email.verified {
            attributes.push(("verified", bool_text(verified)));
        }
        out.open("email", &attributes)?;
        out.raw_text("person/email", &email.address)?;
        out.close("email")?;
    }
    out.close(element)
}

fn write_reported(out: &mut Out, reported: &PersonOrUserReported) -> Result<(), BuildError> {
    out.open("personOrUserReported", &[])?;
    if let Some(person) = &reported.person {
        write_person(out, "personOrUserReportedPerson", person)?;
    }
    out.opt_text("personOrUserReported/espIdentifier", "espIdentifier", &reported.esp_identifier)?;
    out.opt_text("personOrUserReported/espService", "espService", &reported.esp_service)?;
    out.opt_text("personOrUserReported/screenName", "screenName", &reported.screen_name)?;
    for name in &reported.display_names {
        out.text("personOrUserReported/displayName", "displayName", name)?;
    }
    for url in &reported.profile_urls {
        out.text("personOrUserReported/profileUrl", "profileUrl", url)?;
    }
    for event in &reported.ip_capture_events {
        write_ip_event(out, "personOrUserReported/ipCaptureEvent", event)?;
    }
    for report_id in &reported.prior_ct_reports {
        out.text("personOrUserReported/priorCTReports", "priorCTReports", &report_id.to_string())?;
    }
    if let Some(t) = &reported.account_temporarily_disabled {
        let mut attributes = disabled_attributes(t.disabled_date, t.user_notified, t.user_notified_date)?;
        if let Some(at) = t.reenabled_date {
            attributes.push(("reenabledDate", date_time("accountTemporarilyDisabled@reenabledDate", at)?));
        }
        out.open("accountTemporarilyDisabled", &attributes)?;
        out.raw_text("accountTemporarilyDisabled", &bool_text(t.disabled))?;
        out.close("accountTemporarilyDisabled")?;
    }
    if let Some(p) = &reported.account_permanently_disabled {
        let attributes = disabled_attributes(p.disabled_date, p.user_notified, p.user_notified_date)?;
        out.open("accountPermanentlyDisabled", &attributes)?;
        out.raw_text("accountPermanentlyDisabled", &bool_text(p.disabled))?;
        out.close("accountPermanentlyDisabled")?;
    }
    out.opt_text("personOrUserReported/additionalInfo", "additionalInfo", &reported.additional_info)?;
    out.close("personOrUserReported")
}

fn disabled_attributes(
    disabled_date: Option<OffsetDateTime>,
    user_notified: Option<bool>,
    user_notified_date: Option<OffsetDateTime>,
) -> Result<Vec<(&'static str, String)>, BuildError> {
    let mut attributes = Vec::new();
    if let Some(at) = disabled_date {
        attributes.push(("disabledDate", date_time("accountDisabled@disabledDate", at)?));
    }
    if let Some(notified) = user_notified {
        attributes.push(("userNotified", bool_text(notified)));
    }
    if let Some(at) = user_notified_date {
        attributes.push(("userNotifiedDate", date_time("accountDisabled@userNotifiedDate", at)?));
    }
    Ok(attributes)
}

fn write_ip_event(out: &mut Out, field: &'static str, event: &IpCaptureEvent) -> Result<(), BuildError> {
    out.open("ipCaptureEvent", &[])?;
    out.text(field, "ipAddress", &event.ip_address.to_string())?;
    if let Some(name) = event.event_name {
        out.text(field, "eventName", name.as_str())?;
    }
    if let Some(at) = event.date_time {
        out.text(field, "dateTime", &date_time("ipCaptureEvent/dateTime", at)?)?;
    }
    out.opt_bool("possibleProxy", event.possible_proxy)?;
    if let Some(port) = event.port {
        out.text(field, "port", &port.to_string())?;
    }
    out.close("ipCaptureEvent")
}

/// quick-xml's writer over memory, with the character check on every text and attribute.
struct Out {
    writer: Writer<Vec<u8>>,
}

impl Out {
    fn new() -> Result<Out, BuildError> {
        let mut writer = Writer::new(Vec::new());
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(write_error)?;
        Ok(Out { writer })
    }

    /// A start tag; attribute values are checked and then escaped by quick-xml.
    fn open(&mut self, name: &'static str, attributes: &[(&'static str, String)]) -> Result<(), BuildError> {
        let mut start = BytesStart::new(name);
        for (key, value) in attributes {
            check_text(key, value)?;
            start.push_attribute((*key, value.as_str()));
        }
        self.writer.write_event(Event::Start(start)).map_err(write_error)
    }

    fn close(&mut self, name: &'static str) -> Result<(), BuildError> {
        self.writer.write_event(Event::End(BytesEnd::new(name))).map_err(write_error)
    }

    /// Checked, escaped text inside the open element.
    fn raw_text(&mut self, field: &'static str, value: &str) -> Result<(), BuildError> {
        check_text(field, value)?;
        self.writer.write_event(Event::Text(BytesText::new(value))).map_err(write_error)
    }

    /// `<name>value</name>`.
    fn text(&mut self, field: &'static str, name: &'static str, value: &str) -> Result<(), BuildError> {
        self.open(name, &[])?;
        self.raw_text(field, value)?;
        self.close(name)
    }

    fn opt_text(
        &mut self,
        field: &'static str,
        name: &'static str,
        value: &Option<String>,
    ) -> Result<(), BuildError> {
        match value {
            Some(value) => self.text(field, name, value),
            None => Ok(()),
        }
    }

    fn opt_bool(&mut self, name: &'static str, value: Option<bool>) -> Result<(), BuildError> {
        match value {
            Some(value) => self.text(name, name, &bool_text(value)),
            None => Ok(()),
        }
    }

    /// A block of `fixed="true"` flags, written only when one is set.
    fn flags(&mut self, name: &'static str, flags: &[(&'static str, bool)]) -> Result<(), BuildError> {
        if !flags.iter().any(|(_, set)| *set) {
            return Ok(());
        }
        self.open(name, &[])?;
        for (flag, _) in flags.iter().filter(|(_, set)| *set) {
            self.text(flag, flag, "true")?;
        }
        self.close(name)
    }

    fn finish(self) -> String {
        // Everything written came from `&str` values and ASCII markup, so it is UTF-8.
        String::from_utf8_lossy(&self.writer.into_inner()).into_owned()
    }
}

fn write_error(error: std::io::Error) -> BuildError {
    BuildError::Write(error.to_string())
}
