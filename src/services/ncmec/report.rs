//! The CyberTipline report as the appliance files it: typed [`Report`] and [`FileDetails`],
//! and [`BuildError`], why a request could not be built. [`super::writer`] turns them into
//! XML in the strict element order of NCMEC's schema.
//!
//! The types cover what a wiki platform reports (a web-page incident, the reporting staff
//! member, the uploader with the IP addresses CheckUser recorded, the files); the schema's
//! other incident kinds, victims and law-enforcement blocks are left out until needed.
//!
//! Neither type has a field-printing `Debug`: a report holds personal data (names, e-mail and
//! IP addresses), so `Debug` shows only its shape.

use std::fmt;
use std::net::IpAddr;

use time::OffsetDateTime;

use crate::egress::wire::InvalidHeaderText;

/// One CyberTipline report (`<report>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Report {
    /// What happened and when.
    pub incident_summary: IncidentSummary,
    /// Where it happened: one `internetDetails` block per web page incident.
    pub internet_details: Vec<WebPageIncident>,
    /// Who reports (the platform's staff member) and the platform's terms.
    pub reporter: Reporter,
    /// The accounts or people reported (`personOrUserReported`).
    pub persons_or_users_reported: Vec<PersonOrUserReported>,
    /// Free text for the whole report.
    pub additional_info: Option<String>,
}

/// `incidentSummary`.
#[derive(Clone, PartialEq, Eq)]
pub struct IncidentSummary {
    /// The kind of incident.
    pub incident_type: IncidentType,
    /// The platform or product where it happened (e.g. "Wikimedia Commons").
    pub platform: Option<String>,
    /// Why NCMEC should treat it as urgent; giving a reason escalates the report.
    pub escalate_to_high_priority: Option<String>,
    /// Report-level flags; written only when at least one is set.
    pub report_annotations: ReportAnnotations,
    /// When the incident happened, written in RFC 3339 with its offset (or `Z`).
    pub incident_date_time: OffsetDateTime,
    /// Free text about that date and time (e.g. "time of upload").
    pub incident_date_time_description: Option<String>,
}

/// The schema's eight incident types, each written as NCMEC's exact string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IncidentType {
    /// "Child Pornography (possession, manufacture, and distribution)".
    ChildPornography,
    /// "Child Sex Tourism".
    ChildSexTourism,
    /// "Child Sex Trafficking".
    ChildSexTrafficking,
    /// "Child Sexual Molestation".
    ChildSexualMolestation,
    /// "Misleading Domain Name".
    MisleadingDomainName,
    /// "Misleading Words or Digital Images on the Internet".
    MisleadingWordsOrDigitalImages,
    /// "Online Enticement of Children for Sexual Acts".
    OnlineEnticement,
    /// "Unsolicited Obscene Material Sent to a Child".
    UnsolicitedObsceneMaterial,
}

impl IncidentType {
    /// Every incident type.
    pub const ALL: [IncidentType; 8] = [
        IncidentType::ChildPornography,
        IncidentType::ChildSexTourism,
        IncidentType::ChildSexTrafficking,
        IncidentType::ChildSexualMolestation,
        IncidentType::MisleadingDomainName,
        IncidentType::MisleadingWordsOrDigitalImages,
        IncidentType::OnlineEnticement,
        IncidentType::UnsolicitedObsceneMaterial,
    ];

    /// The exact text the schema's enumeration requires.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentType::ChildPornography => "Child Pornography (possession, manufacture, and distribution)",
            IncidentType::ChildSexTourism => "Child Sex Tourism",
            IncidentType::ChildSexTrafficking => "Child Sex Trafficking",
            IncidentType::ChildSexualMolestation => "Child Sexual Molestation",
            IncidentType::MisleadingDomainName => "Misleading Domain Name",
            IncidentType::MisleadingWordsOrDigitalImages => {
                "Misleading Words or Digital Images on the Internet"
            }
            IncidentType::OnlineEnticement => "Online Enticement of Children for Sexual Acts",
            IncidentType::UnsolicitedObsceneMaterial => "Unsolicited Obscene Material Sent to a Child",
        }
    }
}

/// `reportAnnotations`: flags about the whole report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportAnnotations {
    /// `sextortion`.
    pub sextortion: bool,
    /// `csamSolicitation`.
    pub csam_solicitation: bool,
    /// `minorToMinorInteraction`.
    pub minor_to_minor_interaction: bool,
    /// `spam`.
    pub spam: bool,
    /// `sadisticOnlineExploitation`.
    pub sadistic_online_exploitation: bool,
}

/// `webPageIncident` (inside its own `internetDetails`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebPageIncident {
    /// The page or file URLs.
    pub urls: Vec<String>,
    /// Free text about them.
    pub additional_info: Option<String>,
    /// Whether the content is hosted by a third party (attribute `thirdPartyHostedContent`).
    pub third_party_hosted_content: Option<bool>,
}

/// `reporter`.
#[derive(Clone, PartialEq, Eq)]
pub struct Reporter {
    /// The staff member filing the report (NCMEC's documentation wants an e-mail address).
    pub reporting_person: Person,
    /// Someone else NCMEC may contact about it.
    pub contact_person: Option<Person>,
    /// The platform's terms of service (text or a link).
    pub terms_of_service: Option<String>,
    /// Where law enforcement sends legal process (`legalURL`).
    pub legal_url: Option<String>,
}

/// A person (the schema's `person` and `contactPerson`, without addresses, age and birth date).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// `firstName`.
    pub first_name: Option<String>,
    /// `lastName`.
    pub last_name: Option<String>,
    /// `phone` elements.
    pub phones: Vec<Phone>,
    /// `email` elements.
    pub emails: Vec<Email>,
}

/// An e-mail address with its attributes.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The address.
    pub address: String,
    /// Attribute `type`.
    pub kind: Option<EmailKind>,
    /// Attribute `verified`: whether the platform verified the address.
    pub verified: Option<bool>,
}

/// The schema's e-mail types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailKind {
    /// "Business".
    Business,
    /// "Home".
    Home,
    /// "Recovery".
    Recovery,
    /// "Work".
    Work,
}

impl EmailKind {
    /// The schema's text.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Business => "Business",
            EmailKind::Home => "Home",
            EmailKind::Recovery => "Recovery",
            EmailKind::Work => "Work",
        }
    }
}

/// A telephone number with its attributes.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    /// The number as text.
    pub number: String,
    /// Attribute `type`.
    pub kind: Option<PhoneKind>,
    /// Attribute `verified`.
    pub verified: Option<bool>,
    /// Attribute `countryCallingCode`, 1 to 999 (written `+44`).
    pub country_calling_code: Option<u16>,
    /// Attribute `extension`: digits only.
    pub extension: Option<String>,
}

/// The schema's phone types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneKind {
    /// "Business".
    Business,
    /// "Fax".
    Fax,
    /// "Home".
    Home,
    /// "Internet".
    Internet,
    /// "Mobile".
    Mobile,
    /// "Recovery".
    Recovery,
    /// "Work".
    Work,
}

impl PhoneKind {
    /// The schema's text.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneKind::Business => "Business",
            PhoneKind::Fax => "Fax",
            PhoneKind::Home => "Home",
            PhoneKind::Internet => "Internet",
            PhoneKind::Mobile => "Mobile",
            PhoneKind::Recovery => "Recovery",
            PhoneKind::Work => "Work",
        }
    }
}

/// `personOrUserReported`: an account (and, if known, the person behind it).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PersonOrUserReported {
    /// `personOrUserReportedPerson`: name, e-mail addresses, phones.
    pub person: Option<Person>,
    /// `espIdentifier`: the platform's own ID for the account (e.g. the global user ID).
    pub esp_identifier: Option<String>,
    /// `espService`: which service of the platform (e.g. "Wikimedia Commons").
    pub esp_service: Option<String>,
    /// `screenName`: the user name.
    pub screen_name: Option<String>,
    /// `displayName` elements.
    pub display_names: Vec<String>,
    /// `profileUrl` elements (e.g. the user page).
    pub profile_urls: Vec<String>,
    /// `ipCaptureEvent` elements (from CheckUser).
    pub ip_capture_events: Vec<IpCaptureEvent>,
    /// `priorCTReports`: earlier CyberTipline reports about this account (e.g. of the same image).
    pub prior_ct_reports: Vec<u64>,
    /// `accountTemporarilyDisabled`.
    pub account_temporarily_disabled: Option<AccountTemporarilyDisabled>,
    /// `accountPermanentlyDisabled`.
    pub account_permanently_disabled: Option<AccountPermanentlyDisabled>,
    /// Free text about the account.
    pub additional_info: Option<String>,
}

/// `ipCaptureEvent`: an IP address the account used, and when.
#[derive(Clone, PartialEq, Eq)]
pub struct IpCaptureEvent {
    /// The address (IPv4 or IPv6).
    pub ip_address: IpAddr,
    /// What the account was doing.
    pub event_name: Option<IpEventName>,
    /// When.
    pub date_time: Option<OffsetDateTime>,
    /// Whether the address may be a proxy.
    pub possible_proxy: Option<bool>,
    /// The source port, if recorded.
    pub port: Option<u16>,
}

/// The schema's IP capture event names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpEventName {
    /// "Login".
    Login,
    /// "Other".
    Other,
    /// "Purchase".
    Purchase,
    /// "Registration".
    Registration,
    /// "Unknown".
    Unknown,
    /// "Upload".
    Upload,
}

impl IpEventName {
    /// The schema's text.
    pub fn as_str(self) -> &'static str {
        match self {
            IpEventName::Login => "Login",
            IpEventName::Other => "Other",
            IpEventName::Purchase => "Purchase",
            IpEventName::Registration => "Registration",
            IpEventName::Unknown => "Unknown",
            IpEventName::Upload => "Upload",
        }
    }
}

/// `accountTemporarilyDisabled`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountTemporarilyDisabled {
    /// The element's value: whether the account is (was) temporarily disabled.
    pub disabled: bool,
    /// Attribute `disabledDate`.
    pub disabled_date: Option<OffsetDateTime>,
    /// Attribute `userNotified`.
    pub user_notified: Option<bool>,
    /// Attribute `userNotifiedDate`.
    pub user_notified_date: Option<OffsetDateTime>,
    /// Attribute `reenabledDate`.
    pub reenabled_date: Option<OffsetDateTime>,
}

/// `accountPermanentlyDisabled`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountPermanentlyDisabled {
    /// The element's value: whether the account is permanently disabled (locked).
    pub disabled: bool,
    /// Attribute `disabledDate`.
    pub disabled_date: Option<OffsetDateTime>,
    /// Attribute `userNotified`.
    pub user_notified: Option<bool>,
    /// Attribute `userNotifiedDate`.
    pub user_notified_date: Option<OffsetDateTime>,
}

/// `fileDetails`: metadata for one uploaded file, sent to `/fileinfo`.
#[derive(Clone, PartialEq, Eq)]
pub struct FileDetails {
    /// The report the file belongs to.
    pub report_id: u64,
    /// The ID NCMEC gave the file in its `/upload` answer (no whitespace).
    pub file_id: String,
    /// `fileName`: the name on the platform (e.g. the wiki file name).
    pub file_name: Option<String>,
    /// `originalFileName`: the name it was uploaded under.
    pub original_file_name: Option<String>,
    /// `uploadedToEspTimestamp`: when it was uploaded to the platform.
    pub uploaded_to_esp: Option<OffsetDateTime>,
    /// `locationOfFile`: where it was found (a URL).
    pub location_of_file: Option<String>,
    /// `fileViewedByEsp`: whether staff looked at it.
    pub file_viewed_by_esp: Option<bool>,
    /// `exifViewedByEsp`: whether staff looked at its EXIF data.
    pub exif_viewed_by_esp: Option<bool>,
    /// `publiclyAvailable`: whether anyone could see it.
    pub publicly_available: Option<bool>,
    /// `fileRelevance`.
    pub file_relevance: Option<FileRelevance>,
    /// `fileAnnotations`; written only when at least one flag is set.
    pub file_annotations: FileAnnotations,
    /// `originalFileHash` elements (e.g. the wiki's SHA-1).
    pub original_file_hashes: Vec<FileHash>,
    /// The one `ipCaptureEvent` the schema allows here (the upload).
    pub ip_capture_event: Option<IpCaptureEvent>,
    /// Free text about the file.
    pub additional_info: Option<String>,
}

impl FileDetails {
    /// The details NCMEC requires (which report, which uploaded file) and nothing else.
    pub fn new(report_id: u64, file_id: impl Into<String>) -> Self {
        Self {
            report_id,
            file_id: file_id.into(),
            file_name: None,
            original_file_name: None,
            uploaded_to_esp: None,
            location_of_file: None,
            file_viewed_by_esp: None,
            exif_viewed_by_esp: None,
            publicly_available: None,
            file_relevance: None,
            file_annotations: FileAnnotations::default(),
            original_file_hashes: Vec::new(),
            ip_capture_event: None,
            additional_info: None,
        }
    }
}

/// The schema's file relevance values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRelevance {
    /// "Reported": the file is what the report is about.
    Reported,
    /// "Supplemental Reported": context for the reported files.
    SupplementalReported,
}

impl FileRelevance {
    /// The schema's text.
    pub fn as_str(self) -> &'static str {
        match self {
            FileRelevance::Reported => "Reported",
            FileRelevance::SupplementalReported => "Supplemental Reported",
        }
    }
}

/// `fileAnnotations`: flags about one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileAnnotations {
    /// `animeDrawingVirtualHentai`.
    pub anime_drawing_virtual_hentai: bool,
    /// `potentialMeme`.
    pub potential_meme: bool,
    /// `viral`.
    pub viral: bool,
    /// `possibleSelfProduction`.
    pub possible_self_production: bool,
    /// `physicalHarm`.
    pub physical_harm: bool,
    /// `violenceGore`.
    pub violence_gore: bool,
    /// `bestiality`.
    pub bestiality: bool,
    /// `liveStreaming`.
    pub live_streaming: bool,
    /// `infant`.
    pub infant: bool,
    /// `generativeAi`.
    pub generative_ai: bool,
}

/// `originalFileHash`: a hash of the file as the platform holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct FileHash {
    /// Attribute `hashType` (e.g. "SHA1", "MD5").
    pub hash_type: String,
    /// The hash as text (e.g. hex).
    pub value: String,
}

/// Why a request to NCMEC could not be built. Nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A text field holds a character XML 1.0 cannot carry, even escaped.
    #[error(
        "the NCMEC field {field} contains the control character U+{code_point:04X}, which XML cannot carry; \
         remove it (it is often a paste artefact) and submit again"
    )]
    ForbiddenCharacter {
        /// Where (the element path, e.g. `incidentSummary/platform`).
        field: &'static str,
        /// The character.
        code_point: u32,
    },
    /// A value does not fit what NCMEC's schema allows.
    #[error("the NCMEC field {field} is not valid: {reason}")]
    InvalidValue {
        /// Where.
        field: &'static str,
        /// What the schema wants.
        reason: &'static str,
    },
    /// A date and time cannot be written as RFC 3339 (`xs:dateTime`).
    #[error(
        "the NCMEC date-time field {field} cannot be written: the year must be 0000 to 9999 and the offset \
         whole minutes; correct the date"
    )]
    DateTime {
        /// Where.
        field: &'static str,
    },
    /// The base URL cannot take an endpoint path (e.g. a `data:` URL).
    #[error("the NCMEC base URL cannot have a path appended; configure an https URL such as {0}")]
    BaseUrl(&'static str),
    /// The credentials do not fit in an Authorization header.
    #[error("the NCMEC credentials cannot be sent: {0}")]
    Credentials(#[from] InvalidHeaderText),
    /// The XML writer failed (it writes to memory, so this means a bug).
    #[error("the NCMEC XML could not be written: {0}; this is a bug in the appliance")]
    Write(String),
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Shape only: the fields hold personal data.
        write!(
            f,
            "Report({:?}, {} internet details, {} reported)",
            self.incident_summary.incident_type,
            self.internet_details.len(),
            self.persons_or_users_reported.len()
        )
    }
}

impl fmt::Debug for FileDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileDetails(report {}, file {})", self.report_id, self.file_id)
    }
}
