//! The demo's control surface: what a test that drives `takedown demo` from outside (the browser
//! suite) uses instead of [`crate::Peers::set_fault`] and [`crate::Peers::set_user_groups`],
//! which only code in the same process can call. Only when [`crate::Options::control`] is set
//! (the demo sets it; the integration tests, which hold the `Peers`, do not), and only under
//! the path prefix [`PREFIX`], which no real service uses. Journalled like any request.
//!
//! - `POST /_peers/fault` `{"endpoint": "notices", "status": 422, "body": "…", "content_type":
//!   "application/json", "times": 1}`: the next calls to that endpoint of this service are
//!   answered so, without being processed (as [`Fault::status`] does).
//! - `POST /_peers/groups` `{"user": "Dana Mercer (WMF)", "groups": []}`: a wiki user's groups.

use serde_json::{Value, json};

use crate::PeerService;
use crate::fault::Fault;
use crate::request::{PeerRequest, PeerResponse};
use crate::server::Shared;

/// Where control requests live on every peer.
pub(crate) const PREFIX: &str = "/_peers/";

/// Answers a control request to `service`'s listener.
pub(crate) fn answer(shared: &Shared, service: PeerService, request: &PeerRequest) -> PeerResponse {
    if request.method != http::Method::POST {
        return PeerResponse::text(405, "control requests are POSTs");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return PeerResponse::text(400, "control requests carry a JSON object");
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    match request.path.strip_prefix(PREFIX) {
        Some("fault") => {
            let Some(endpoint) = text("endpoint") else {
                return PeerResponse::text(400, "name the endpoint");
            };
            let Some(status) = body.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok())
            else {
                return PeerResponse::text(400, "give the status to answer");
            };
            let fault = Fault {
                status: Some(status),
                body: text("body"),
                content_type: text("content_type"),
                times: body.get("times").and_then(Value::as_u64).and_then(|t| u32::try_from(t).ok()),
                ..Fault::default()
            };
            shared.faults.set(service, &endpoint, fault);
            PeerResponse::json(200, &json!({"fault": endpoint, "status": status}))
        }
        Some("groups") => {
            let Some(user) = text("user") else { return PeerResponse::text(400, "name the user") };
            let groups: Vec<String> = body
                .get("groups")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            if shared.peer(service).set_user_groups(&user, &groups) {
                PeerResponse::json(200, &json!({"user": user, "groups": groups}))
            } else {
                PeerResponse::text(404, "this service has no users")
            }
        }
        _ => PeerResponse::text(404, "no such control"),
    }
}
