//! The Salesforce client: gets an access token with the JWT bearer grant, keeps it, and renews
//! it once when Salesforce says the session expired (`INVALID_SESSION_ID`) before repeating the
//! call. Cases are upserted by the configured external-ID field, so repeating an upsert never
//! makes a second Case; a file attachment (`ContentVersion`) is not idempotent and is not
//! repeated after an answer that may have arrived.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use url::Url;

use super::wire::{
    AccessToken, ApiError, Audience, CaseRecord, JwtGrant, JwtKey, SalesforceError, SalesforceId,
    build_case_lookup, build_content_version, build_token_request, build_upsert_case, parse_case_lookup,
    parse_create_record, parse_token_response, parse_upsert_case, token_url,
};
use crate::config::services::SalesforceSettings;
use crate::config::{Problem, Problems};
use crate::egress::client::CallContext;
use crate::egress::policy::Service;
use crate::egress::wire::{WireRequest, WireResponse};
use crate::services::call::{CallError, Channel, ServiceFailure};

/// The external ID the status check looks up: no Case has it, so a plain "not found" proves the
/// token works and the external-ID field exists, without touching a real Case. (An API version
/// the org does not serve answers the same "not found", so the check cannot prove the version.)
const STATUS_PROBE_ID: &str = "takedown-status-check";

impl ServiceFailure for SalesforceError {
    fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            SalesforceError::OAuth { .. }
                | SalesforceError::SessionExpired { .. }
                | SalesforceError::Key { .. }
        )
    }

    /// A success we could not read, or a server error, may follow a record Salesforce saved.
    /// (Repeating an upsert is harmless; repeating a file attachment is not.)
    fn may_have_acted(&self) -> bool {
        match self {
            SalesforceError::Malformed { status, .. }
            | SalesforceError::NotJson { status, .. }
            | SalesforceError::RecordFailed { status, .. } => (200..300).contains(status),
            SalesforceError::Unavailable { status, .. } | SalesforceError::Unrecognised { status, .. } => {
                *status >= 500
            }
            _ => false,
        }
    }

    /// Salesforce's messages can quote the values it refused (a too-long text, an e-mail
    /// address); the codes and field names say what went wrong without them.
    fn summary(&self) -> String {
        let codes = |errors: &[ApiError]| {
            errors
                .iter()
                .map(|e| {
                    if e.fields.is_empty() {
                        e.code.clone()
                    } else {
                        format!("{} ({})", e.code, e.fields.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        match self {
            SalesforceError::Api { status, errors } => {
                format!("Salesforce refused the request (HTTP {status}): {}", codes(errors))
            }
            SalesforceError::RecordFailed { status, errors } => {
                format!("Salesforce answered HTTP {status} but did not save the record: {}", codes(errors))
            }
            SalesforceError::InvalidInput { what, .. } => {
                format!("cannot build the Salesforce request: {what} is not valid")
            }
            other => other.to_string(),
        }
    }
}

/// The Salesforce client.
pub struct SalesforceClient {
    channel: Channel,
    token_url: Url,
    grant: JwtGrant,
    api_version: String,
    external_id_field: String,
    token: Mutex<Option<Arc<AccessToken>>>,
}

impl SalesforceClient {
    /// Reads and checks the signing key named by `[salesforce]`.
    pub fn new(
        settings: &SalesforceSettings,
        credentials_dir: Option<&std::path::Path>,
        channel: Channel,
    ) -> Result<Self, Problems> {
        let (key, audience) = Self::read_key(settings, credentials_dir)?;
        Ok(Self {
            channel,
            token_url: token_url(&settings.login_url),
            grant: JwtGrant {
                client_id: settings.client_id.clone(),
                username: settings.username.clone(),
                audience,
                key,
            },
            api_version: settings.api_version.clone(),
            external_id_field: settings.case_external_id_field.clone(),
            token: Mutex::new(None),
        })
    }

    /// Reads and checks the signing key and the audience (also what `check-config` does).
    pub(crate) fn read_key(
        settings: &SalesforceSettings,
        credentials_dir: Option<&std::path::Path>,
    ) -> Result<(JwtKey, Audience), Problems> {
        let problem = |field: &str, message: String| {
            Problems(vec![Problem::new(format!("salesforce.{field}"), message)])
        };
        let pem = settings.private_key.read_text(credentials_dir).map_err(|m| problem("private_key", m))?;
        let key = JwtKey::from_pem(&pem).map_err(|e| problem("private_key", e.to_string()))?;
        let audience = Audience::parse(&settings.audience).map_err(|e| problem("audience", e.to_string()))?;
        Ok((key, audience))
    }

    /// Creates the Case with this external ID, or updates it if it exists.
    pub async fn upsert_case(
        &self,
        context: &CallContext,
        external_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<CaseRecord, CallError<SalesforceError>> {
        self.with_token(
            context,
            true,
            |token, instance| {
                build_upsert_case(
                    instance,
                    &self.api_version,
                    token,
                    &self.external_id_field,
                    external_id,
                    fields,
                )
            },
            parse_upsert_case,
        )
        .await
    }

    /// The Salesforce id of the Case with this external ID.
    pub async fn find_case(
        &self,
        context: &CallContext,
        external_id: &str,
    ) -> Result<SalesforceId, CallError<SalesforceError>> {
        self.with_token(
            context,
            true,
            |token, instance| {
                build_case_lookup(instance, &self.api_version, token, &self.external_id_field, external_id)
            },
            parse_case_lookup,
        )
        .await
    }

    /// Attaches a file to a Case. Not idempotent: after an error that may have arrived, look at
    /// the Case's files before attaching again.
    pub async fn attach_file(
        &self,
        context: &CallContext,
        case: &SalesforceId,
        title: &str,
        file_name: &str,
        data: Bytes,
    ) -> Result<SalesforceId, CallError<SalesforceError>> {
        self.with_token(
            context,
            false,
            |token, instance| {
                build_content_version(
                    instance,
                    &self.api_version,
                    token,
                    case,
                    title,
                    file_name,
                    data.clone(),
                )
            },
            parse_create_record,
        )
        .await
    }

    /// The Case's page in the org (Lightning), for the case page's link; only the record ID
    /// if no token has told the instance yet.
    pub fn record_url(&self, id: &str) -> String {
        // A token being renewed right now is not waited for: the link falls back to the ID.
        let token = self.token.try_lock().ok().and_then(|guard| guard.clone());
        match token {
            Some(token) => {
                format!("{}/lightning/r/Case/{id}/view", token.instance_url().as_str().trim_end_matches('/'))
            }
            None => id.to_owned(),
        }
    }

    /// The status check: a token (from the cache, or a new one) and a lookup of an external ID
    /// that no Case has. Salesforce's "not found" is the healthy answer.
    pub async fn check(&self, context: &CallContext) -> Result<(), CallError<SalesforceError>> {
        self.with_token(
            context,
            true,
            |token, instance| {
                build_case_lookup(
                    instance,
                    &self.api_version,
                    token,
                    &self.external_id_field,
                    STATUS_PROBE_ID,
                )
            },
            |response| match parse_case_lookup(response) {
                // Salesforce names the field when it is the field that does not exist.
                Err(SalesforceError::NotFound { detail }) if detail.contains("external ID field") => {
                    Err(SalesforceError::NotFound { detail })
                }
                Ok(_) | Err(SalesforceError::NotFound { .. }) => Ok(()),
                Err(err) => Err(err),
            },
        )
        .await
    }

    /// Sends a request that needs a token. When Salesforce answers that the session expired,
    /// the token is renewed and — only if `repeat_after_renewal` — the call is made once more
    /// (Salesforce refused the first one before acting, but only idempotent calls are repeated
    /// all the same).
    async fn with_token<T>(
        &self,
        context: &CallContext,
        repeat_after_renewal: bool,
        build: impl Fn(&AccessToken, &Url) -> Result<WireRequest, SalesforceError>,
        parse: impl Fn(&WireResponse) -> Result<T, SalesforceError>,
    ) -> Result<T, CallError<SalesforceError>> {
        let token = self
            .token(context, None)
            .await
            .map_err(CallError::not_sent("getting a Salesforce access token"))?;
        let request = build(&token, token.instance_url()).map_err(CallError::Service)?;
        match self.channel.exchange(Service::Salesforce, context, request, true, &parse).await {
            Err(CallError::Service(SalesforceError::SessionExpired { .. })) => {
                let token = self
                    .token(context, Some(&token))
                    .await
                    .map_err(CallError::not_sent("renewing the Salesforce access token"))?;
                if !repeat_after_renewal {
                    return Err(CallError::Service(SalesforceError::SessionExpired {
                        detail: "the token was renewed; send the file again".into(),
                    }));
                }
                let request = build(&token, token.instance_url()).map_err(CallError::Service)?;
                self.channel.exchange(Service::Salesforce, context, request, true, &parse).await
            }
            other => other,
        }
    }

    /// The cached token, or a new one. `expired` is a token Salesforce refused: it is replaced
    /// unless another call already replaced it.
    async fn token(
        &self,
        context: &CallContext,
        expired: Option<&Arc<AccessToken>>,
    ) -> Result<Arc<AccessToken>, CallError<SalesforceError>> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && expired.is_none_or(|old| !Arc::ptr_eq(old, token))
        {
            return Ok(token.clone());
        }
        *cached = None;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let request = build_token_request(&self.token_url, &self.grant, now).map_err(CallError::Service)?;
        let token = Arc::new(
            self.channel.exchange(Service::Salesforce, context, request, true, parse_token_response).await?,
        );
        *cached = Some(token.clone());
        Ok(token)
    }
}
