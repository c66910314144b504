//! NCMEC's CyberTipline calls, one method per endpoint, for the environment the config selects
//! (production or test, each with its own account). The multi-step report (submit, upload and
//! fileinfo per file, finish — or retract) is driven by the child-protection workflow, which
//! records each step's outcome before taking the next; this client only takes single steps.

use bytes::Bytes;
use md5::{Digest, Md5};
use url::Url;

use super::code::ResponseCode;
use super::wire::{
    BuildError, Credentials, DoneResponse, Environment, FileDetails, NcmecError, Report, ReportResponse,
    SubmitResponse, UploadResponse, build_fileinfo, build_finish, build_retract, build_status, build_submit,
    build_upload, parse_done_response, parse_retract_response, parse_submit_response, parse_success_response,
    parse_upload_response,
};
use crate::config::services::{NcmecAccount, NcmecSettings};
use crate::config::{Problem, Problems};
use crate::egress::client::CallContext;
use crate::egress::policy::Service;
use crate::egress::wire::WireRequest;
use crate::services::call::{CallError, Channel, ServiceFailure};

impl ServiceFailure for NcmecError {
    fn is_auth_failure(&self) -> bool {
        matches!(self, NcmecError::Rejected { code: ResponseCode::AuthenticationRequired, .. })
    }

    /// Only a refusal NCMEC could state (a non-zero code) proves nothing happened; an answer
    /// we cannot read, a gateway's 5xx, or an upload whose hash is missing or wrong may follow a
    /// submit, upload or finish that NCMEC carried out.
    fn may_have_acted(&self) -> bool {
        match self {
            NcmecError::Rejected { .. } => false,
            NcmecError::HttpStatus { status, .. } => *status >= 500,
            _ => true,
        }
    }

    /// NCMEC's description of a refusal can repeat what the report said; the code and its
    /// advice say what went wrong without it.
    fn summary(&self) -> String {
        match self {
            NcmecError::Rejected { code, .. } => {
                format!("NCMEC refused the request with code {code}; {}", code.advice())
            }
            NcmecError::SuccessWithoutReportId { .. } => {
                "NCMEC accepted the report but its answer carried no usable report ID; do not submit it \
                 again: ask NCMEC which report it opened"
                    .to_owned()
            }
            NcmecError::SuccessWithoutFileId { .. } => {
                "NCMEC accepted the upload but its answer carried no file ID".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// The NCMEC client for one environment, with that environment's account.
pub struct NcmecClient {
    channel: Channel,
    environment: Environment,
    base: Url,
    credentials: Credentials,
}

impl NcmecClient {
    /// A client for each configured environment (reading each password), the required one
    /// first.
    pub fn for_each_account(
        settings: &NcmecSettings,
        credentials_dir: Option<&std::path::Path>,
        channel: Channel,
    ) -> Result<Vec<Self>, Problems> {
        let mut problems = Vec::new();
        let mut clients = Vec::new();
        for (environment, account) in settings.accounts() {
            match Self::read_credentials(environment, account, credentials_dir) {
                Ok(credentials) => clients.push(Self {
                    channel: channel.clone(),
                    environment,
                    base: account.base_url.clone(),
                    credentials,
                }),
                Err(found) => problems.extend(found.0),
            }
        }
        if problems.is_empty() { Ok(clients) } else { Err(Problems(problems)) }
    }

    /// The environment this client reports to.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// Reads one environment's password (also what `check-config` does).
    pub(crate) fn read_credentials(
        environment: Environment,
        account: &NcmecAccount,
        credentials_dir: Option<&std::path::Path>,
    ) -> Result<Credentials, Problems> {
        let section = format!("ncmec.{}", environment.key());
        let password = account
            .password
            .read_text(credentials_dir)
            .map_err(|m| Problems(vec![Problem::new(format!("{section}.password"), m)]))?;
        Credentials::new(&account.username, &password).map_err(|err| {
            // The error names the field it is about: the user name or the password.
            let field = match &err {
                BuildError::InvalidValue { field, .. } if field.contains("password") => "password",
                _ => "username",
            };
            Problems(vec![Problem::new(format!("{section}.{field}"), err.to_string())])
        })
    }

    /// `/status`: proves the service is up and the credentials work.
    pub async fn status(&self, context: &CallContext) -> Result<ReportResponse, CallError<NcmecError>> {
        let request = self.built(build_status(&self.base, &self.credentials))?;
        self.send(context, request, parse_success_response).await
    }

    /// `/submit`: opens a report. Not idempotent: a failure that may have arrived must not be
    /// followed by another submit of the same report (check NCMEC first, or retract).
    pub async fn submit(
        &self,
        context: &CallContext,
        report: &Report,
    ) -> Result<SubmitResponse, CallError<NcmecError>> {
        let request = self.built(build_submit(&self.base, &self.credentials, report))?;
        self.send(context, request, parse_submit_response).await
    }

    /// `/upload`: one file for an open report. The answer's MD5 is checked against the bytes
    /// sent.
    pub async fn upload(
        &self,
        context: &CallContext,
        report_id: u64,
        file_name: &str,
        content_type: &'static str,
        data: Bytes,
    ) -> Result<UploadResponse, CallError<NcmecError>> {
        let md5 = hex::encode(Md5::digest(&data));
        let request = self.built(build_upload(
            &self.base,
            &self.credentials,
            report_id,
            file_name,
            content_type,
            data,
        ))?;
        self.send(context, request, |r| parse_upload_response(r, &md5)).await
    }

    /// `/fileinfo`: the details of an uploaded file.
    pub async fn fileinfo(
        &self,
        context: &CallContext,
        details: &FileDetails,
    ) -> Result<ReportResponse, CallError<NcmecError>> {
        let request = self.built(build_fileinfo(&self.base, &self.credentials, details))?;
        self.send(context, request, parse_success_response).await
    }

    /// `/finish`: files the report; it can no longer be retracted.
    pub async fn finish(
        &self,
        context: &CallContext,
        report_id: u64,
    ) -> Result<DoneResponse, CallError<NcmecError>> {
        let request = self.built(build_finish(&self.base, &self.credentials, report_id))?;
        self.send(context, request, parse_done_response).await
    }

    /// `/retract`: cancels an unfinished report. The answer is returned so the caller can tell
    /// "retracted" (0) from "already retracted" (5101) and "already filed" (5102); any other
    /// code is an error.
    pub async fn retract(
        &self,
        context: &CallContext,
        report_id: u64,
    ) -> Result<ReportResponse, CallError<NcmecError>> {
        let request = self.built(build_retract(&self.base, &self.credentials, report_id))?;
        self.send(context, request, parse_retract_response).await
    }

    /// A request that cannot be built is the form's problem, not NCMEC's: it is not recorded
    /// on the status board (as for the other services).
    fn built(&self, request: Result<WireRequest, BuildError>) -> Result<WireRequest, CallError<NcmecError>> {
        request.map_err(|err| CallError::Build { service: Service::Ncmec, detail: err.to_string() })
    }

    async fn send<T>(
        &self,
        context: &CallContext,
        request: WireRequest,
        parse: impl FnOnce(&crate::egress::wire::WireResponse) -> Result<T, NcmecError>,
    ) -> Result<T, CallError<NcmecError>> {
        self.channel.exchange(Service::Ncmec, context, request, true, parse).await
    }
}
