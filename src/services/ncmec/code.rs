//! NCMEC's `responseCode`s: each known code as a [`ResponseCode`] with its meaning in plain
//! words and two hints for the flow that sent the request, [`ResponseCode::is_retryable`] and
//! [`ResponseCode::needs_alert`]. NCMEC says its list is not exhaustive, so unknown codes are
//! kept as [`ResponseCode::Unknown`].

use std::fmt;

/// NCMEC's `responseCode`. NCMEC says its list is not exhaustive, so unknown codes are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseCode {
    /// 0.
    Success,
    /// 1000.
    ServerError,
    /// 1100.
    SaveFailed,
    /// 1110.
    UploadFailed,
    /// 1111.
    FileUploadFailed,
    /// 1210.
    ResourceNotFound,
    /// 1300.
    UpdateFailed,
    /// 2000 (also how an HTTP 401 without a body is read).
    AuthenticationRequired,
    /// 3000.
    NotAuthorized,
    /// 3100.
    NoSubmitAuthorization,
    /// 3300.
    NoUpdateAuthorization,
    /// 4000.
    InvalidRequest,
    /// 4100.
    ValidationFailed,
    /// 4110.
    MalformedXml,
    /// 4200.
    MalformedFile,
    /// 5001.
    ReportDoesNotExist,
    /// 5002.
    FileDoesNotExist,
    /// 5101.
    ReportAlreadyRetracted,
    /// 5102.
    ReportAlreadyFinished,
    /// A code not in NCMEC's published list.
    Unknown(i64),
}

impl ResponseCode {
    /// Every known code (not `Unknown`).
    pub const KNOWN: [ResponseCode; 19] = [
        ResponseCode::Success,
        ResponseCode::ServerError,
        ResponseCode::SaveFailed,
        ResponseCode::UploadFailed,
        ResponseCode::FileUploadFailed,
        ResponseCode::ResourceNotFound,
        ResponseCode::UpdateFailed,
        ResponseCode::AuthenticationRequired,
        ResponseCode::NotAuthorized,
        ResponseCode::NoSubmitAuthorization,
        ResponseCode::NoUpdateAuthorization,
        ResponseCode::InvalidRequest,
        ResponseCode::ValidationFailed,
        ResponseCode::MalformedXml,
        ResponseCode::MalformedFile,
        ResponseCode::ReportDoesNotExist,
        ResponseCode::FileDoesNotExist,
        ResponseCode::ReportAlreadyRetracted,
        ResponseCode::ReportAlreadyFinished,
    ];

    /// The code for a number.
    pub fn from_code(code: i64) -> ResponseCode {
        ResponseCode::KNOWN
            .into_iter()
            .find(|known| known.code() == code)
            .unwrap_or(ResponseCode::Unknown(code))
    }

    /// The number.
    pub fn code(self) -> i64 {
        match self {
            ResponseCode::Success => 0,
            ResponseCode::ServerError => 1000,
            ResponseCode::SaveFailed => 1100,
            ResponseCode::UploadFailed => 1110,
            ResponseCode::FileUploadFailed => 1111,
            ResponseCode::ResourceNotFound => 1210,
            ResponseCode::UpdateFailed => 1300,
            ResponseCode::AuthenticationRequired => 2000,
            ResponseCode::NotAuthorized => 3000,
            ResponseCode::NoSubmitAuthorization => 3100,
            ResponseCode::NoUpdateAuthorization => 3300,
            ResponseCode::InvalidRequest => 4000,
            ResponseCode::ValidationFailed => 4100,
            ResponseCode::MalformedXml => 4110,
            ResponseCode::MalformedFile => 4200,
            ResponseCode::ReportDoesNotExist => 5001,
            ResponseCode::FileDoesNotExist => 5002,
            ResponseCode::ReportAlreadyRetracted => 5101,
            ResponseCode::ReportAlreadyFinished => 5102,
            ResponseCode::Unknown(code) => code,
        }
    }

    /// What the code means, in plain words.
    pub fn meaning(self) -> &'static str {
        match self {
            ResponseCode::Success => "success",
            ResponseCode::ServerError => "NCMEC had an internal server error",
            ResponseCode::SaveFailed => "NCMEC could not save the data",
            ResponseCode::UploadFailed => "NCMEC could not complete the upload",
            ResponseCode::FileUploadFailed => "NCMEC could not store the uploaded file",
            ResponseCode::ResourceNotFound => "NCMEC could not find what the request refers to",
            ResponseCode::UpdateFailed => "NCMEC could not update the report",
            ResponseCode::AuthenticationRequired => "the NCMEC username or password is missing or wrong",
            ResponseCode::NotAuthorized => "the NCMEC account is not authorised for this",
            ResponseCode::NoSubmitAuthorization => "the NCMEC account may not submit reports",
            ResponseCode::NoUpdateAuthorization => "the NCMEC account may not change reports",
            ResponseCode::InvalidRequest => "NCMEC found the request invalid",
            ResponseCode::ValidationFailed => "the report or file details failed NCMEC's validation",
            ResponseCode::MalformedXml => "NCMEC could not read the XML",
            ResponseCode::MalformedFile => "NCMEC could not read the file upload (e.g. no file part)",
            ResponseCode::ReportDoesNotExist => {
                "the report does not exist at NCMEC (a wrong ID, or it expired unfinished)"
            }
            ResponseCode::FileDoesNotExist => "the file does not exist in this NCMEC report",
            ResponseCode::ReportAlreadyRetracted => "the report was already retracted",
            ResponseCode::ReportAlreadyFinished => {
                "the report was already finished (filed); the API can no longer change or retract it"
            }
            ResponseCode::Unknown(_) => "a code this appliance does not know",
        }
    }

    /// Whether the same request may succeed if sent again later (NCMEC's own failures).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ResponseCode::ServerError
                | ResponseCode::SaveFailed
                | ResponseCode::UploadFailed
                | ResponseCode::FileUploadFailed
                | ResponseCode::UpdateFailed
        )
    }

    /// Whether an operator must look: no retry can fix it (credentials, authorisation, a
    /// request NCMEC refuses, a lost report or file, an unknown code). 5101 and 5102 are
    /// answers about state rather than faults; the flow that sent the request reads them.
    pub fn needs_alert(self) -> bool {
        matches!(
            self,
            ResponseCode::ResourceNotFound
                | ResponseCode::AuthenticationRequired
                | ResponseCode::NotAuthorized
                | ResponseCode::NoSubmitAuthorization
                | ResponseCode::NoUpdateAuthorization
                | ResponseCode::InvalidRequest
                | ResponseCode::ValidationFailed
                | ResponseCode::MalformedXml
                | ResponseCode::MalformedFile
                | ResponseCode::ReportDoesNotExist
                | ResponseCode::FileDoesNotExist
                | ResponseCode::Unknown(_)
        )
    }

    /// What to do about it, for messages.
    pub(crate) fn advice(self) -> &'static str {
        if self.is_retryable() {
            "try again later"
        } else if self == ResponseCode::AuthenticationRequired {
            "check the NCMEC credentials in the configuration"
        } else if self.needs_alert() {
            "an administrator must look; sending it again will not help"
        } else {
            "do not send it again"
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}
