//! Sends a DMCA notice to Lumen: the one call Lumen offers. It is not idempotent (Lumen has no
//! request key), so a failure that [`CallError::may_have_arrived`] must be checked on Lumen
//! before the notice is sent again.

use url::Url;
use zeroize::Zeroizing;

use super::wire::{CreatedNotice, LumenError, Notice, build_create_notice, parse_create_notice};
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

    /// The instance, for the home page.
    pub fn base_url(&self) -> &Url {
        &self.base
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
