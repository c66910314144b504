//! Sends a DMCA notice to Lumen: the one call Lumen offers. It is not idempotent (Lumen has no
//! request key), so a failure that [`CallError::may_have_arrived`] must be checked on Lumen
//! before the notice is sent again.

use url::Url;
use zeroize::Zeroizing;

use super::wire::{CreatedNotice, FieldError, LumenError, Notice, build_create_notice, parse_create_notice};
use crate::config::services::LumenSettings;
use crate::config::{Problem, Problems};
use crate::egress::client::CallContext;
use crate::egress::policy::Service;
use crate::services::call::{CallError, Channel, ServiceFailure};

impl ServiceFailure for LumenError {
    fn is_auth_failure(&self) -> bool {
        matches!(self, LumenError::TokenRefused | LumenError::NotSubmitter | LumenError::TokenUnusable)
    }

    fn may_have_acted(&self) -> bool {
        self.may_have_stored()
    }

    /// Lumen's field errors and server texts can quote the notice; the fields named say what
    /// went wrong without it.
    fn summary(&self) -> String {
        let fields =
            |errors: &[FieldError]| errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", ");
        match self {
            LumenError::Invalid(errors) => {
                format!("Lumen would refuse the notice (fields: {}); nothing was sent", fields(errors))
            }
            LumenError::Validation(errors) => {
                format!("Lumen refused the notice (HTTP 422; fields: {})", fields(errors))
            }
            LumenError::BadJson(_) => "Lumen could not read the notice it was sent (HTTP 400)".to_owned(),
            LumenError::ServerError(status, _) => {
                format!(
                    "Lumen had a server error (HTTP {status}); the notice may or may not have been stored"
                )
            }
            other => other.to_string(),
        }
    }
}

/// The Lumen client: the instance, its token (read once at start, wiped on drop) and the
/// channel out.
pub struct LumenClient {
    channel: Channel,
    base: Url,
    token: Zeroizing<String>,
}

impl LumenClient {
    /// Reads the token named by `[lumen]`.
    pub fn new(
        settings: &LumenSettings,
        credentials_dir: Option<&std::path::Path>,
        channel: Channel,
    ) -> Result<Self, Problems> {
        let token = Self::read_token(settings, credentials_dir)?;
        Ok(Self { channel, base: settings.base_url.clone(), token })
    }

    /// Reads the token (also what `check-config` does).
    pub(crate) fn read_token(
        settings: &LumenSettings,
        credentials_dir: Option<&std::path::Path>,
    ) -> Result<Zeroizing<String>, Problems> {
        settings.token.read_text(credentials_dir).map_err(|m| Problems(vec![Problem::new("lumen.token", m)]))
    }

    /// Files `notice`. On success Lumen has stored it under the returned id.
    pub async fn create_notice(
        &self,
        context: &CallContext,
        notice: &Notice,
    ) -> Result<CreatedNotice, CallError<LumenError>> {
        let request = build_create_notice(&self.base, &self.token, notice).map_err(CallError::Service)?;
        let base = &self.base;
        self.channel
            .exchange(Service::Lumen, context, request, true, |response| parse_create_notice(response, base))
            .await
    }
}
