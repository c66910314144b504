//! Connecting a staff member's wiki account: `POST /wiki/connect` sends the browser to the
//! meta wiki's consent page (OAuth 2 with PKCE), and `GET /wiki/callback` takes the grant back.
//! Both are audited; the tokens stay in the wiki client's memory.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;

use super::error::HttpError;
use super::handlers::{RequestContext, see_other};
use crate::audit::{Action, Actor, Outcome};
use crate::egress::client::CallContext;
use crate::services::wiki::client::WikiClient;

/// `POST /wiki/connect`.
pub async fn connect(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let wiki = wiki(context)?;
    let staff = context.viewer()?.staff.id.to_string();
    let url = wiki.begin_authorization(&staff).map_err(|e| HttpError::Upstream(e.to_string()))?;
    context
        .audit(Action::ConnectWiki, None, Outcome::Done, "sent to the meta wiki to grant access".to_owned())
        .await?;
    see_other(url.as_str())
}

/// `GET /wiki/callback?code=…&state=…` (or `?error=…` when the person declined).
pub async fn callback(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let wiki = wiki(context)?;
    let staff = context.viewer()?.staff.id.to_string();
    let call = CallContext { actor: Actor::Staff(staff.clone()), case: None };
    match wiki.complete_authorization(&call, &staff, &context.query.encoded()).await {
        Ok(grant) => {
            let name = grant.profile.username.clone().unwrap_or_else(|| "a hidden user".to_owned());
            // Audited first: if the entry cannot be written, the grant is dropped unused.
            context
                .audit(Action::ConnectWiki, None, Outcome::Done, format!("connected wiki account {name}"))
                .await?;
            wiki.keep_grant(&staff, grant);
            see_other("/")
        }
        Err(err) => {
            context
                .audit(
                    Action::ConnectWiki,
                    None,
                    Outcome::Failed,
                    format!("wiki account not connected: {err}"),
                )
                .await?;
            Err(HttpError::Upstream(format!(
                "{err}. Start again with \"Connect your wiki account\" on the home page."
            )))
        }
    }
}

fn wiki<'a>(context: &'a RequestContext<'_>) -> Result<&'a WikiClient, HttpError> {
    context.state.services.wiki.as_ref().ok_or(HttpError::NotConfigured("wiki"))
}
