//! The request XML the simulated NCMEC reads: a small element tree built over quick-xml that
//! refuses DTDs and any entity beyond the five predefined ones, and the checks the peer makes of
//! `<report>` and `<fileDetails>` against NCMEC's schema (element order, required elements, the
//! enumerations that matter). This is not a full XSD validator: the demo's tests validate the
//! client's documents with `xmllint --schema`; the peer catches what a client most likely gets
//! wrong and answers it the way the service does (4110 malformed, 4100 validation failed).

use std::sync::LazyLock;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// NCMEC's schema as the service serves it at `GET /ispws/xsd` (the repository's fixture copy).
pub(super) const XSD: &str = include_str!("../../../fixtures/ncmec/cyber_tipline.xsd");

/// Deeper documents are refused as malformed (a real report nests about six levels).
const MAX_DEPTH: usize = 64;

/// The eight incident types, exactly as the schema spells them.
pub(super) const INCIDENT_TYPES: [&str; 8] = [
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
];

/// The `country` enumeration, read from the schema once.
static COUNTRIES: LazyLock<Vec<&'static str>> = LazyLock::new(|| enumeration(XSD, "country"));

/// One element: its (qualified) name, attributes, child elements and text.
#[derive(Debug, Default)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attributes: Vec<(String, String)>,
    pub(super) children: Vec<Element>,
    pub(super) text: String,
}

impl Element {
    /// The first child with this name.
    pub(super) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this name.
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// An attribute's (unescaped) value.
    pub(super) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The text with surrounding whitespace removed (as `xs:token`, `xs:long`, `xs:dateTime` and
    /// `xs:boolean` read it).
    pub(super) fn value(&self) -> &str {
        self.text.trim()
    }
}

/// Why a body is not acceptable XML (answered 4110).
#[derive(Debug)]
pub(super) struct Malformed(pub(super) String);

fn malformed(message: impl Into<String>) -> Malformed {
    Malformed(message.into())
}

/// Parses a whole document into its root element. Refuses a DOCTYPE, undeclared entities, text
/// or a second element outside the root, unclosed elements and very deep nesting.
pub(super) fn parse(body: &[u8]) -> Result<Element, Malformed> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut first = true;
    loop {
        let event = reader.read_event().map_err(|e| malformed(format!("not well-formed XML: {e}")))?;
        let at_start = std::mem::replace(&mut first, false);
        match event {
            Event::Decl(_) if at_start => {}
            Event::Decl(_) => return Err(malformed("the XML declaration is not at the start")),
            Event::DocType(_) => return Err(malformed("DOCTYPE declarations are not accepted")),
            Event::Start(start) => {
                let element = open(&start, root.is_some())?;
                stack.push(element);
                if stack.len() > MAX_DEPTH {
                    return Err(malformed(format!("elements nest deeper than {MAX_DEPTH} levels")));
                }
            }
            Event::Empty(start) => {
                let element = open(&start, root.is_some())?;
                close(element, &mut stack, &mut root);
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| malformed("an end tag closes nothing"))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(text) => add_text(&mut stack, &text.xml10_content())?,
            Event::CData(data) => add_text(&mut stack, &data.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) if c == '\t' || c == '\n' || c == '\r' || c >= ' ' => c.to_string(),
                        _ => return Err(malformed(format!("invalid character reference &{};", &*reference))),
                    }
                } else {
                    match quick_xml::escape::resolve_predefined_entity(&reference) {
                        Some(value) => value.to_owned(),
                        None => return Err(malformed(format!("undeclared entity &{};", &*reference))),
                    }
                };
                if stack.is_empty() {
                    return Err(malformed("a reference outside the root element"));
                }
                add_text(&mut stack, &resolved)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(format!("<{}> is not closed", open.name)));
    }
    root.ok_or_else(|| malformed("there is no root element"))
}

fn open(start: &BytesStart<'_>, after_root: bool) -> Result<Element, Malformed> {
    let name = start.name().0.to_owned();
    if after_root {
        return Err(malformed(format!("<{name}> follows the root element")));
    }
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| malformed(format!("a broken attribute in <{name}>: {e}")))?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| malformed(format!("a broken attribute value in <{name}>: {e}")))?;
        attributes.push((attribute.key.0.to_owned(), value.into_owned()));
    }
    Ok(Element { name, attributes, children: Vec::new(), text: String::new() })
}

fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn add_text(stack: &mut [Element], text: &str) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(malformed("text outside the root element")),
    }
}

/// The values of a named `xs:simpleType`'s enumeration in a schema.
pub(super) fn enumeration(xsd: &'static str, type_name: &str) -> Vec<&'static str> {
    let marker = format!("<xs:simpleType name=\"{type_name}\">");
    let Some(start) = xsd.find(&marker) else { return Vec::new() };
    let rest = &xsd[start..];
    let end = rest.find("</xs:simpleType>").unwrap_or(rest.len());
    let mut values = Vec::new();
    let mut body = &rest[..end];
    while let Some(at) = body.find("<xs:enumeration value=\"") {
        body = &body[at + "<xs:enumeration value=\"".len()..];
        let Some(close) = body.find('"') else { break };
        values.push(&body[..close]);
        body = &body[close..];
    }
    values
}

// ---------------------------------------------------------------------------------------------
// Schema checks

/// One step of an `xs:sequence`: the element name (several, split by `|`, for an `xs:choice`),
/// the least and the most times it occurs.
type Step = (&'static str, usize, usize);
const MANY: usize = usize::MAX;

const REPORT: &[Step] = &[
    ("batchedReport", 0, 1),
    ("incidentSummary", 1, 1),
    ("internetDetails", 0, MANY),
    ("lawEnforcement", 0, 1),
    ("reporter", 1, 1),
    ("personOrUserReported", 0, MANY),
    ("intendedRecipient", 0, MANY),
    ("victim", 0, MANY),
    ("additionalInfo", 0, 1),
];

const INCIDENT_SUMMARY: &[Step] = &[
    ("incidentType", 1, 1),
    ("platform", 0, 1),
    ("escalateToHighPriority", 0, 1),
    ("reportAnnotations", 0, 1),
    ("incidentDateTime", 1, 1),
    ("incidentDateTimeDescription", 0, 1),
];

const REPORT_ANNOTATIONS: [&str; 5] =
    ["sextortion", "csamSolicitation", "minorToMinorInteraction", "spam", "sadisticOnlineExploitation"];

const INCIDENT_KINDS: [&str; 8] = [
    "webPageIncident",
    "emailIncident",
    "newsgroupIncident",
    "chatImIncident",
    "onlineGamingIncident",
    "cellPhoneIncident",
    "nonInternetIncident",
    "peer2peerIncident",
];

const REPORTER: &[Step] = &[
    ("reportingPerson", 1, 1),
    ("contactPerson", 0, 1),
    ("companyTemplate", 0, 1),
    ("termsOfService", 0, 1),
    ("legalURL", 0, 1),
];

const PERSON: &[Step] = &[
    ("firstName", 0, 1),
    ("lastName", 0, 1),
    ("phone", 0, MANY),
    ("email", 0, MANY),
    ("address", 0, MANY),
    ("age", 0, 1),
    ("dateOfBirth", 0, 1),
];

const CONTACT_PERSON: &[Step] =
    &[("firstName", 0, 1), ("lastName", 0, 1), ("phone", 0, MANY), ("email", 0, MANY), ("address", 0, MANY)];

const ADDRESS: &[Step] = &[
    ("address", 0, 1),
    ("city", 0, 1),
    ("zipCode", 0, 1),
    ("state", 0, 1),
    ("nonUsaState", 0, 1),
    ("country", 0, 1),
];

const PERSON_OR_USER_REPORTED: &[Step] = &[
    ("personOrUserReportedPerson", 0, 1),
    ("vehicleDescription", 0, 1),
    ("espIdentifier", 0, 1),
    ("espService", 0, 1),
    ("compromisedAccount", 0, 1),
    ("screenName", 0, 1),
    ("displayName", 0, MANY),
    ("profileUrl", 0, MANY),
    ("profileBio", 0, 1),
    ("ipCaptureEvent", 0, MANY),
    ("deviceId", 0, MANY),
    ("thirdPartyUserReported", 0, 1),
    ("priorCTReports", 0, MANY),
    ("groupIdentifier", 0, 1),
    ("accountTemporarilyDisabled", 0, 1),
    ("accountPermanentlyDisabled", 0, 1),
    ("estimatedLocation", 0, 1),
    ("allEmailsReported", 0, 1),
    ("associatedAccount", 0, MANY),
    ("additionalInfo", 0, 1),
];

const IP_CAPTURE_EVENT: &[Step] =
    &[("ipAddress", 1, 1), ("eventName", 0, 1), ("dateTime", 0, 1), ("possibleProxy", 0, 1), ("port", 0, 1)];

const DEVICE_ID: &[Step] = &[("idType", 1, 1), ("idValue", 1, 1), ("eventName", 0, 1), ("dateTime", 0, 1)];

const CAPTURE_EVENTS: [&str; 6] = ["Login", "Registration", "Purchase", "Upload", "Other", "Unknown"];

const FILE_DETAILS: &[Step] = &[
    ("reportId", 1, 1),
    ("fileId", 1, 1),
    ("fileName", 0, 1),
    ("originalFileName", 0, 1),
    ("uploadedToEspTimestamp", 0, 1),
    ("locationOfFile", 0, 1),
    ("fileViewedByEsp", 0, 1),
    ("exifViewedByEsp", 0, 1),
    ("publiclyAvailable", 0, 1),
    ("fileRelevance", 0, 1),
    ("potentialMeme|fileAnnotations", 0, 1),
    ("industryClassification", 0, 1),
    ("originalFileHash", 0, MANY),
    ("ipCaptureEvent", 0, 1),
    ("deviceId", 0, MANY),
    ("details", 0, MANY),
    ("additionalInfo", 0, MANY),
];

const FILE_ANNOTATIONS: [&str; 10] = [
    "animeDrawingVirtualHentai",
    "potentialMeme",
    "viral",
    "possibleSelfProduction",
    "physicalHarm",
    "violenceGore",
    "bestiality",
    "liveStreaming",
    "infant",
    "generativeAi",
];

/// What the peer keeps of an accepted `<report>`.
#[derive(Debug)]
pub(super) struct ReportSummary {
    pub(super) incident_type: String,
    pub(super) internet_details: usize,
    pub(super) persons_or_users_reported: usize,
}

/// What the peer keeps of an accepted `<fileDetails>`.
#[derive(Debug)]
pub(super) struct FileDetailsSummary {
    pub(super) report_id: i64,
    pub(super) file_id: String,
    /// The optional elements present, in document order, each once.
    pub(super) present: Vec<String>,
}

/// Checks a `<report>`; the error is the problem, as the 4100 description gives it.
pub(super) fn check_report(root: &Element) -> Result<ReportSummary, String> {
    if root.name != "report" {
        return Err(format!("the root element is <{}>, expected <report>", root.name));
    }
    no_namespace(root)?;
    sequence(root, REPORT)?;
    if let Some(batched) = root.child("batchedReport")
        && batched.attribute("reason") != Some("VIRAL_POTENTIAL_MEME")
    {
        return Err("<batchedReport> needs reason=\"VIRAL_POTENTIAL_MEME\"".into());
    }
    let summary = root.child("incidentSummary").ok_or("<report> needs <incidentSummary>")?;
    sequence(summary, INCIDENT_SUMMARY)?;
    let incident_type = summary.child("incidentType").map_or("", |e| e.text.as_str());
    if !INCIDENT_TYPES.contains(&incident_type) {
        return Err(format!("<incidentType> \"{incident_type}\" is not one of the schema's incident types"));
    }
    date_time(summary, "incidentDateTime")?;
    if let Some(annotations) = summary.child("reportAnnotations") {
        flags(annotations, &REPORT_ANNOTATIONS)?;
    }
    for details in root.all("internetDetails") {
        match details.children.as_slice() {
            [only] if INCIDENT_KINDS.contains(&only.name.as_str()) => {}
            [only] => return Err(format!("<internetDetails> does not allow <{}>", only.name)),
            [] => return Err("<internetDetails> needs one incident element (e.g. <webPageIncident>)".into()),
            _ => {
                return Err("<internetDetails> holds exactly one incident element; repeat it for more".into());
            }
        }
    }
    if let Some(law) = root.child("lawEnforcement")
        && law.child("agencyName").is_none()
    {
        return Err("<lawEnforcement> needs <agencyName>".into());
    }
    let reporter = root.child("reporter").ok_or("<report> needs <reporter>")?;
    sequence(reporter, REPORTER)?;
    let person = reporter.child("reportingPerson").ok_or("<reporter> needs <reportingPerson>")?;
    check_person(person, PERSON)?;
    if !person.all("email").any(|e| !e.value().is_empty()) {
        return Err("<reportingPerson> needs an <email>".into());
    }
    if let Some(contact) = reporter.child("contactPerson") {
        check_person(contact, CONTACT_PERSON)?;
    }
    for reported in root.all("personOrUserReported") {
        sequence(reported, PERSON_OR_USER_REPORTED)?;
        if let Some(person) = reported.child("personOrUserReportedPerson") {
            check_person(person, PERSON)?;
        }
        for event in reported.all("ipCaptureEvent") {
            check_ip_capture(event)?;
        }
        for device in reported.all("deviceId") {
            check_device(device)?;
        }
        for name in ["compromisedAccount", "thirdPartyUserReported", "allEmailsReported"] {
            boolean(reported, name)?;
        }
    }
    for victim in root.all("victim") {
        let person = victim.child("victimPerson").ok_or("<victim> needs <victimPerson>")?;
        check_person(person, PERSON)?;
    }
    countries(root)?;
    Ok(ReportSummary {
        incident_type: incident_type.to_owned(),
        internet_details: root.all("internetDetails").count(),
        persons_or_users_reported: root.all("personOrUserReported").count(),
    })
}

/// Checks a `<fileDetails>`; the error is the problem, as the 4100 description gives it.
pub(super) fn check_file_details(root: &Element) -> Result<FileDetailsSummary, String> {
    if root.name != "fileDetails" {
        return Err(format!("the root element is <{}>, expected <fileDetails>", root.name));
    }
    no_namespace(root)?;
    if root.child("potentialMeme").is_some() && root.child("fileAnnotations").is_some() {
        return Err("<fileDetails> takes either <potentialMeme> or <fileAnnotations>, not both".into());
    }
    sequence(root, FILE_DETAILS)?;
    let report_id = root.child("reportId").map_or("", Element::value);
    let report_id: i64 =
        report_id.parse().map_err(|_| format!("<reportId> \"{report_id}\" is not a number"))?;
    let file_id = root.child("fileId").map_or("", Element::value);
    if file_id.is_empty() {
        return Err("<fileId> is empty".into());
    }
    date_time(root, "uploadedToEspTimestamp")?;
    for name in ["fileViewedByEsp", "exifViewedByEsp", "publiclyAvailable", "potentialMeme"] {
        boolean(root, name)?;
    }
    one_of(root, "fileRelevance", &["Reported", "Supplemental Reported"])?;
    one_of(root, "industryClassification", &["A1", "A2", "B1", "B2"])?;
    if let Some(annotations) = root.child("fileAnnotations") {
        flags(annotations, &FILE_ANNOTATIONS)?;
    }
    if root.all("originalFileHash").any(|h| h.attribute("hashType").is_none()) {
        return Err("<originalFileHash> needs a hashType attribute".into());
    }
    if let Some(event) = root.child("ipCaptureEvent") {
        check_ip_capture(event)?;
    }
    for device in root.all("deviceId") {
        check_device(device)?;
    }
    for details in root.all("details") {
        if details.attribute("type").is_some_and(|t| t != "EXIF" && t != "HASH") {
            return Err("<details type> must be EXIF or HASH".into());
        }
        sequence(details, &[("nameValuePair", 1, MANY)])?;
        for pair in details.all("nameValuePair") {
            sequence(pair, &[("name", 1, 1), ("value", 1, 1)])?;
        }
    }
    let mut present: Vec<String> = Vec::new();
    for child in &root.children {
        if child.name != "reportId" && child.name != "fileId" && !present.contains(&child.name) {
            present.push(child.name.clone());
        }
    }
    Ok(FileDetailsSummary { report_id, file_id: file_id.to_owned(), present })
}

/// The schema has no target namespace: a default namespace puts every element outside it.
fn no_namespace(element: &Element) -> Result<(), String> {
    if let Some(uri) = element.attribute("xmlns").filter(|uri| !uri.is_empty()) {
        return Err(format!("<{}> is in namespace {uri}; the schema's elements are in none", element.name));
    }
    element.children.iter().try_for_each(no_namespace)
}

/// Checks the children of `parent` against an `xs:sequence`.
fn sequence(parent: &Element, steps: &[Step]) -> Result<(), String> {
    let matches = |step: &Step, name: &str| step.0.split('|').any(|n| n == name);
    let missing = |step: &Step| format!("<{}> needs <{}>", parent.name, step.0.replace('|', "> or <"));
    let mut at = 0;
    let mut count = 0;
    for child in &parent.children {
        let name = child.name.as_str();
        loop {
            let Some(step) = steps.get(at) else {
                return Err(if steps.iter().any(|s| matches(s, name)) {
                    format!("<{name}> is out of order in <{}>", parent.name)
                } else {
                    format!("<{}> does not allow <{name}>", parent.name)
                });
            };
            if matches(step, name) {
                count += 1;
                if count > step.2 {
                    return Err(format!("<{}> allows <{name}> at most {} time(s)", parent.name, step.2));
                }
                break;
            }
            if count < step.1 {
                return Err(if steps[at + 1..].iter().any(|s| matches(s, name)) {
                    format!("{} before <{name}>", missing(step))
                } else if steps[..at].iter().any(|s| matches(s, name)) {
                    format!("<{name}> is out of order in <{}>", parent.name)
                } else {
                    format!("<{}> does not allow <{name}>", parent.name)
                });
            }
            at += 1;
            count = 0;
        }
    }
    for step in steps.get(at..).unwrap_or_default() {
        if count < step.1 {
            return Err(missing(step));
        }
        count = 0;
    }
    Ok(())
}

fn check_person(person: &Element, steps: &[Step]) -> Result<(), String> {
    sequence(person, steps)?;
    for email in person.all("email") {
        attribute_one_of(email, "type", &["Home", "Work", "Business", "Recovery"])?;
        attribute_boolean(email, "verified")?;
    }
    for phone in person.all("phone") {
        attribute_one_of(
            phone,
            "type",
            &["Mobile", "Home", "Business", "Work", "Fax", "Internet", "Recovery"],
        )?;
        attribute_boolean(phone, "verified")?;
    }
    for address in person.all("address") {
        sequence(address, ADDRESS)?;
        attribute_one_of(address, "type", &["Home", "Business", "Billing", "Shipping", "Technical"])?;
    }
    if let Some(age) = person.child("age")
        && age.value().parse::<i32>().is_err()
    {
        return Err(format!("<age> in <{}> is not an integer", person.name));
    }
    Ok(())
}

fn check_ip_capture(event: &Element) -> Result<(), String> {
    sequence(event, IP_CAPTURE_EVENT)?;
    if event.child("ipAddress").is_some_and(|a| a.value().is_empty()) {
        return Err("<ipAddress> is empty".into());
    }
    one_of(event, "eventName", &CAPTURE_EVENTS)?;
    date_time(event, "dateTime")?;
    boolean(event, "possibleProxy")?;
    if let Some(port) = event.child("port")
        && port.value().parse::<i32>().is_err()
    {
        return Err("<port> is not an integer".into());
    }
    Ok(())
}

fn check_device(device: &Element) -> Result<(), String> {
    sequence(device, DEVICE_ID)?;
    one_of(device, "eventName", &CAPTURE_EVENTS)?;
    date_time(device, "dateTime")
}

/// Every `country` / `countryCode` in the document must be one of the schema's codes.
fn countries(element: &Element) -> Result<(), String> {
    if (element.name == "country" || element.name == "countryCode")
        && !COUNTRIES.contains(&element.text.as_str())
    {
        return Err(format!("<{}> \"{}\" is not a country code of the schema", element.name, element.text));
    }
    if let Some(code) = element.attribute("fleaCountry")
        && !COUNTRIES.contains(&code)
    {
        return Err(format!("fleaCountry \"{code}\" is not a country code of the schema"));
    }
    element.children.iter().try_for_each(countries)
}

/// Empty flags (`fixed="true"`): only the listed names, each at most once, empty or `true`.
fn flags(parent: &Element, allowed: &[&str]) -> Result<(), String> {
    for (index, flag) in parent.children.iter().enumerate() {
        if !allowed.contains(&flag.name.as_str()) {
            return Err(format!("<{}> does not allow <{}>", parent.name, flag.name));
        }
        if parent.children[..index].iter().any(|earlier| earlier.name == flag.name) {
            return Err(format!("<{}> repeats <{}>", parent.name, flag.name));
        }
        if !matches!(flag.value(), "" | "true" | "1") {
            return Err(format!("<{}> is fixed to true", flag.name));
        }
    }
    Ok(())
}

fn one_of(parent: &Element, name: &str, allowed: &[&str]) -> Result<(), String> {
    match parent.child(name) {
        Some(element) if !allowed.contains(&element.value()) => {
            Err(format!("<{name}> \"{}\" is not one of {}", element.value(), allowed.join(", ")))
        }
        _ => Ok(()),
    }
}

fn attribute_one_of(element: &Element, name: &str, allowed: &[&str]) -> Result<(), String> {
    match element.attribute(name) {
        Some(value) if !allowed.contains(&value.trim()) => {
            Err(format!("<{} {name}> \"{value}\" is not one of {}", element.name, allowed.join(", ")))
        }
        _ => Ok(()),
    }
}

fn boolean(parent: &Element, name: &str) -> Result<(), String> {
    match parent.child(name) {
        Some(element) if !is_boolean(element.value()) => Err(format!("<{name}> is not a boolean")),
        _ => Ok(()),
    }
}

fn attribute_boolean(element: &Element, name: &str) -> Result<(), String> {
    match element.attribute(name) {
        Some(value) if !is_boolean(value.trim()) => {
            Err(format!("<{} {name}> is not a boolean", element.name))
        }
        _ => Ok(()),
    }
}

fn is_boolean(value: &str) -> bool {
    matches!(value, "true" | "false" | "1" | "0")
}

fn date_time(parent: &Element, name: &str) -> Result<(), String> {
    match parent.child(name) {
        Some(element) if !is_date_time(element.value()) => {
            Err(format!("<{name}> \"{}\" is not an xs:dateTime", element.value()))
        }
        _ => Ok(()),
    }
}

/// The `xs:dateTime` lexical form: `[-]YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`.
pub(super) fn is_date_time(value: &str) -> bool {
    let value = value.strip_prefix('-').unwrap_or(value);
    let Some((date, time)) = value.split_once('T') else { return false };
    let mut parts = date.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let number = |s: &str| s.parse::<u32>().unwrap_or(u32::MAX);
    if year.len() < 4 || !year.bytes().all(|b| b.is_ascii_digit()) || !digits(month, 2) || !digits(day, 2) {
        return false;
    }
    if !(1..=12).contains(&number(month)) || !(1..=31).contains(&number(day)) {
        return false;
    }
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, ""),
    };
    let zone_ok = match zone {
        "" | "Z" => true,
        _ => {
            let offset = &zone[1..];
            offset.len() == 5
                && &offset[2..3] == ":"
                && digits(&offset[..2], 2)
                && digits(&offset[3..], 2)
                && number(&offset[..2]) <= 14
                && number(&offset[3..]) <= 59
        }
    };
    let (whole, fraction) = match clock.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (clock, None),
    };
    let fields: Vec<&str> = whole.split(':').collect();
    let [hour, minute, second] = fields.as_slice() else { return false };
    if !digits(hour, 2) || !digits(minute, 2) || !digits(second, 2) {
        return false;
    }
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let midnight = number(hour) == 24 && number(minute) == 0 && number(second) == 0;
    zone_ok && (number(hour) < 24 || midnight) && number(minute) < 60 && number(second) < 60
}
