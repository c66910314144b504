//! The egress client: the only way a request leaves the process.
//!
//! [`EgressClient::send`] takes a [`WireRequest`] built by a pure API module and, in order:
//! checks it against the policy (scheme, host, port, path, method); resolves the host through
//! [`CheckedResolver`] (non-global answers refused); sends it with no redirect following, no
//! proxy, no retry and the service's time limit; reads at most the service's
//! `max_response_bytes`; and appends one audit entry (service, method, host and path — never a
//! query string, header or body — status, bytes, duration) whatever happened. Other ways of
//! making HTTP requests are banned by `clippy.toml`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use url::{Host, Url};

use super::address::is_global;
use super::policy::{Denied, Policy, Service, ServiceRule};
use super::resolve::{CheckedResolver, NonGlobalAnswer};
use super::wire::{Body, WireRequest, WireResponse};
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::CaseId;
use crate::config::{EgressSettings, Problem, Problems};
use crate::store::Store;

/// How long a TCP + TLS connection may take to open, within the service's overall time limit.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request did not produce a response. Every variant names the service, and
/// [`EgressError::may_have_arrived`] says whether the service may nonetheless have acted on it.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The policy does not allow the request; nothing was sent.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// DNS (or an IP address in the URL) pointed somewhere the policy refuses; nothing was sent.
    #[error("{service}: {answer}")]
    NonGlobalAddress {
        /// The service.
        service: Service,
        /// What was refused.
        answer: NonGlobalAnswer,
    },
    /// The connection could not be opened (DNS failure, refused, TLS); nothing was sent.
    #[error("{service}: could not connect ({detail}); nothing was sent, so it is safe to try again later")]
    Connect {
        /// The service.
        service: Service,
        /// What failed, without the URL.
        detail: String,
    },
    /// The service answered with a redirect, which is never followed.
    #[error(
        "{service}: answered {status} redirecting to {location}; redirects are never followed, and the request may have been acted on"
    )]
    Redirect {
        /// The service.
        service: Service,
        /// The 3xx status.
        status: u16,
        /// The redirect's host and path (no query).
        location: String,
    },
    /// The answer was longer than the policy allows.
    #[error(
        "{service}: the answer exceeded {limit} bytes and was cut off; the request may have been acted on"
    )]
    TooLarge {
        /// The service.
        service: Service,
        /// The policy's `max_response_bytes`.
        limit: u64,
    },
    /// No complete answer within the policy's time limit.
    #[error("{service}: no complete answer within {} s; the request may have been acted on, check before sending it again", .after.as_secs())]
    Timeout {
        /// The service.
        service: Service,
        /// The limit.
        after: Duration,
    },
    /// The connection broke after the request was (perhaps partly) sent.
    #[error(
        "{service}: the connection broke after the request was sent ({detail}); it may have been acted on, check before sending it again"
    )]
    Interrupted {
        /// The service.
        service: Service,
        /// What failed, without the URL.
        detail: String,
    },
    /// The request could not be built into an HTTP request (a bug in a wire module).
    #[error("{service}: the request could not be encoded ({detail}); nothing was sent")]
    Encoding {
        /// The service.
        service: Service,
        /// What failed.
        detail: String,
    },
}

impl EgressError {
    /// Whether the service may have received and acted on the request. When true, sending it
    /// again could duplicate a notice or report; the caller must check first.
    pub fn may_have_arrived(&self) -> bool {
        match self {
            EgressError::Denied(_)
            | EgressError::NonGlobalAddress { .. }
            | EgressError::Connect { .. }
            | EgressError::Encoding { .. } => false,
            EgressError::Redirect { .. }
            | EgressError::TooLarge { .. }
            | EgressError::Timeout { .. }
            | EgressError::Interrupted { .. } => true,
        }
    }

    /// The service concerned.
    pub fn service(&self) -> Service {
        match self {
            EgressError::Denied(denied) => denied.service(),
            EgressError::NonGlobalAddress { service, .. }
            | EgressError::Connect { service, .. }
            | EgressError::Redirect { service, .. }
            | EgressError::TooLarge { service, .. }
            | EgressError::Timeout { service, .. }
            | EgressError::Interrupted { service, .. }
            | EgressError::Encoding { service, .. } => *service,
        }
    }
}

/// Who a call is made for, recorded in its audit entry.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The person (or the appliance itself) on whose behalf the call is made.
    pub actor: Actor,
    /// The case it belongs to, if any.
    pub case: Option<CaseId>,
}

impl CallContext {
    /// A call the appliance makes on its own (status checks).
    pub fn system() -> Self {
        Self { actor: Actor::System, case: None }
    }
}

/// The files `[egress]` names, read and checked: the policy (the compiled-in one unless the
/// config names a file) and the trust roots (the system's unless it names a file).
/// `check-config` loads them the same way the daemon does.
pub struct EgressFiles {
    /// The policy in force.
    pub policy: Policy,
    roots: Option<Vec<reqwest::Certificate>>,
}

impl EgressFiles {
    /// Reads both; every problem names its config field.
    pub fn load(settings: &EgressSettings) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        let policy = match &settings.policy {
            None => Some(Policy::production()),
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Policy::parse(&path.display().to_string(), &text)
                    .map_err(|found| problems.extend(found.0))
                    .ok(),
                Err(err) => {
                    problems.push(Problem::new(
                        "egress.policy",
                        format!("cannot read {}: {err}", path.display()),
                    ));
                    None
                }
            },
        };
        let roots = match &settings.trust_roots {
            None => Some(None),
            Some(path) => read_roots(path)
                .map(Some)
                .map_err(|m| problems.push(Problem::new("egress.trust_roots", m)))
                .ok(),
        };
        match (policy, roots) {
            (Some(policy), Some(roots)) if problems.is_empty() => Ok(Self { policy, roots }),
            _ => Err(Problems(problems)),
        }
    }

    /// One line for `check-config`: which policy and roots are in force.
    pub fn describe(&self, settings: &EgressSettings) -> String {
        let policy = match &settings.policy {
            None => "the reviewed policy compiled in (policy/egress.toml)".to_owned(),
            Some(path) => format!("the policy in {} (NOT the reviewed production policy)", path.display()),
        };
        let roots = match &self.roots {
            None => "the system's trust roots".to_owned(),
            Some(roots) => format!("{} trust root(s) from the config", roots.len()),
        };
        format!("egress to {policy}, {roots}")
    }
}

/// The one outbound HTTP client.
pub struct EgressClient {
    policy: Policy,
    clients: HashMap<Service, reqwest::Client>,
    store: Arc<Store>,
}

impl fmt::Debug for EgressClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressClient").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl EgressClient {
    /// Builds the client from the config: the policy (the compiled-in one unless the config
    /// names a file), the trust roots, static DNS answers and the contact for the User-Agent.
    /// Problems name the config field.
    pub fn from_settings(settings: &EgressSettings, store: Arc<Store>) -> Result<Self, Problems> {
        Self::from_files(settings, EgressFiles::load(settings)?, store)
    }

    /// Like [`EgressClient::from_settings`], with the policy and roots already read (`serve`
    /// reads them before its sandbox applies, since the sandbox's ports come from the policy).
    pub fn from_files(
        settings: &EgressSettings,
        files: EgressFiles,
        store: Arc<Store>,
    ) -> Result<Self, Problems> {
        let EgressFiles { policy, roots } = files;
        let mut fixed: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (host, ip) in &settings.resolve {
            fixed.entry(host.clone()).or_default().push(*ip);
        }
        let fixed = Arc::new(fixed);
        let user_agent = format!("Takedown/{} ({})", env!("CARGO_PKG_VERSION"), settings.contact);
        let mut clients = HashMap::new();
        for service in Service::ALL {
            let Some(rule) = policy.rule(service) else { continue };
            let resolver =
                CheckedResolver { allow_non_global: rule.allow_non_global_addresses, fixed: fixed.clone() };
            // reqwest's own message is only "builder error" (seen on a host without the system's
            // trust roots); its causes say what is missing.
            let client = build_client(rule, resolver, roots.clone(), &user_agent).map_err(|err| {
                let why = error_chain(&err);
                Problems(vec![Problem::new("egress", format!("cannot build the {service} client: {why}"))])
            })?;
            clients.insert(service, client);
        }
        Ok(Self { policy, clients, store })
    }

    /// The policy in force (the service clients check their configured URLs against it at
    /// start, so a URL the policy would refuse stops the daemon instead of failing every call).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Sends one request to `service` and returns its answer (any status except a redirect;
    /// the wire module's parser judges it). One audit entry is appended whatever happens; if
    /// that append fails the error is logged and the answer still returned, because the call
    /// has already happened and dropping its answer would invite a duplicate.
    pub async fn send(
        &self,
        service: Service,
        request: WireRequest,
        context: &CallContext,
    ) -> Result<WireResponse, EgressError> {
        let started = Instant::now();
        let target = audit_target(&request);
        let result = self.exchange(service, request).await;
        let elapsed = started.elapsed();
        let (outcome, result_text) = match &result {
            Ok(response) => {
                let outcome = if response.status.is_success() { Outcome::Done } else { Outcome::Failed };
                (outcome, format!("{} {} B", response.status.as_u16(), response.body.len()))
            }
            Err(EgressError::Denied(denied)) => (Outcome::Refused, denied.to_string()),
            Err(EgressError::NonGlobalAddress { answer, .. }) => (Outcome::Refused, answer.to_string()),
            Err(err) => (Outcome::Failed, err.to_string()),
        };
        let details = format!("{service} {target} -> {result_text} in {} ms", elapsed.as_millis());
        let entry =
            AuditEntry::now(context.actor.clone(), Action::EgressCall, context.case, outcome, details);
        if let Err(err) = self.store.audit_async(entry).await {
            tracing::error!(%service, "the audit entry of an outbound call was not written: {err}");
        }
        result
    }

    async fn exchange(&self, service: Service, request: WireRequest) -> Result<WireResponse, EgressError> {
        let rule = self.policy.check(service, request.method.as_str(), &request.url)?;
        // A literal address in the URL never meets the resolver; judge it here.
        let literal = match request.url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal.filter(|ip| !rule.allow_non_global_addresses && !is_global(*ip)) {
            let answer = NonGlobalAnswer { host: ip.to_string(), addresses: ip.to_string() };
            return Err(EgressError::NonGlobalAddress { service, answer });
        }
        let client = self.clients.get(&service).ok_or(Denied::NoRule(service))?;
        let mut builder = client.request(request.method.clone(), request.url.clone());
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        builder = match request.body {
            Body::Empty => builder,
            Body::Bytes { content_type, data } => {
                builder.header(http::header::CONTENT_TYPE, content_type).body(data)
            }
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for part in parts {
                    let mut piece = reqwest::multipart::Part::stream(part.data);
                    if let Some(file_name) = part.file_name {
                        piece = piece.file_name(file_name);
                    }
                    if let Some(content_type) = part.content_type {
                        piece = piece
                            .mime_str(content_type)
                            .map_err(|err| EgressError::Encoding { service, detail: err.to_string() })?;
                    }
                    form = form.part(part.name, piece);
                }
                builder.multipart(form)
            }
        };
        let limit = rule.max_response_bytes;
        let timeout = rule.timeout;
        match tokio::time::timeout(timeout, receive(service, builder, limit)).await {
            Ok(result) => result,
            Err(_) => Err(EgressError::Timeout { service, after: timeout }),
        }
    }
}

/// Sends and reads the answer, refusing redirects and stopping at `limit` bytes.
async fn receive(
    service: Service,
    builder: reqwest::RequestBuilder,
    limit: u64,
) -> Result<WireResponse, EgressError> {
    let mut response = builder.send().await.map_err(|err| classify(service, err))?;
    let status = response.status();
    // Only the statuses that send a client elsewhere; a 300 (Salesforce's answer when several
    // records share an external ID) is an answer for the parser.
    if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| match Url::parse(l) {
                Ok(url) => format!("{}{}", url.host_str().unwrap_or(""), url.path()),
                Err(_) => l.split('?').next().unwrap_or("").chars().take(200).collect(),
            })
            .unwrap_or_else(|| "(no Location)".to_owned());
        return Err(EgressError::Redirect { service, status: status.as_u16(), location });
    }
    if response.content_length().is_some_and(|length| length > limit) {
        return Err(EgressError::TooLarge { service, limit });
    }
    let headers: HeaderMap = response.headers().clone();
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| classify(service, err))? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(EgressError::TooLarge { service, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(WireResponse::new(status, headers, Bytes::from(body)))
}

/// Turns a reqwest error into the typed error, deciding whether the request may have arrived.
fn classify(service: Service, err: reqwest::Error) -> EgressError {
    let err = err.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(current) = source {
        if let Some(answer) = current.downcast_ref::<NonGlobalAnswer>() {
            let answer = NonGlobalAnswer { host: answer.host.clone(), addresses: answer.addresses.clone() };
            return EgressError::NonGlobalAddress { service, answer };
        }
        source = current.source();
    }
    let detail = error_chain(&err);
    if err.is_connect() {
        EgressError::Connect { service, detail }
    } else if err.is_builder() {
        EgressError::Encoding { service, detail }
    } else {
        EgressError::Interrupted { service, detail }
    }
}

/// An error and its causes, joined, for a message (reqwest's own Display stops at the top).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What the audit entry names: method, host, port when not 443, path, and only the `action`,
/// `list`, `prop` and `meta` query parameters (which say what a wiki call did and hold no secret).
fn audit_target(request: &WireRequest) -> String {
    let url = &request.url;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let shown: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| ["action", "list", "prop", "meta"].contains(&k.as_ref()))
        .map(|(k, v)| format!("{k}={}", v.chars().take(40).collect::<String>()))
        .collect();
    let query = if shown.is_empty() { String::new() } else { format!("?{}", shown.join("&")) };
    format!("{} {}{port}{}{query}", request.method, url.host_str().unwrap_or(""), url.path())
}

fn read_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|err| format!("{} is not a PEM certificate bundle: {err}", path.display()))?;
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(roots)
}

#[allow(clippy::disallowed_methods)] // the one place an HTTP client is built
fn build_client(
    rule: &ServiceRule,
    resolver: CheckedResolver,
    roots: Option<Vec<reqwest::Certificate>>,
    user_agent: &str,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .no_proxy()
        .referer(false)
        .connect_timeout(CONNECT_TIMEOUT.min(rule.timeout))
        // No idle connections: a kept-alive connection keeps its buffers, and with them the
        // last request's bytes (supporting documents, images) in memory until it is reused.
        // Closing after each call frees them, and the allocator wipes them. The services are
        // called a few times per case, so the extra handshakes cost nothing that matters.
        .pool_max_idle_per_host(0)
        .dns_resolver(Arc::new(resolver));
    if let Some(roots) = roots {
        builder = builder.tls_certs_only(roots);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn the_audit_target_keeps_no_query_value_but_the_wiki_action() {
        let url = Url::parse(
            "https://commons.wikimedia.org/w/api.php?action=query&meta=tokens&lgpassword=hunter2&token=abc%2B%5C",
        )
        .unwrap();
        let target = audit_target(&WireRequest::new(Method::GET, url));
        assert_eq!(target, "GET commons.wikimedia.org/w/api.php?action=query&meta=tokens");
        let url = Url::parse("https://127.0.0.1:8443/notices?authentication_token=secret").unwrap();
        assert_eq!(audit_target(&WireRequest::new(Method::POST, url)), "POST 127.0.0.1:8443/notices");
    }

    #[test]
    fn only_errors_before_sending_are_safe_to_repeat() {
        let s = Service::Lumen;
        assert!(!EgressError::Connect { service: s, detail: String::new() }.may_have_arrived());
        assert!(!EgressError::Denied(Denied::NoRule(s)).may_have_arrived());
        assert!(EgressError::Timeout { service: s, after: Duration::from_secs(1) }.may_have_arrived());
        assert!(EgressError::Interrupted { service: s, detail: String::new() }.may_have_arrived());
    }
}
