//! What the four API clients share: one exchange is a request built by a pure wire module, sent
//! through the egress client, its answer read by the wire module's pure parser, and the outcome
//! reported to the [`StatusBoard`]. The clients add only what a service needs on top (tokens,
//! sessions, which steps to take).

use std::sync::Arc;

use super::status::{Observation, StatusBoard};
use crate::egress::client::{CallContext, EgressClient, EgressError};
use crate::egress::policy::Service;
use crate::egress::wire::{WireRequest, WireResponse};

/// What a client needs to know about a wire module's error.
pub trait ServiceFailure: std::error::Error + Send + Sync + 'static {
    /// Whether the service refused our credentials (the status board shows it as "not
    /// authenticated").
    fn is_auth_failure(&self) -> bool;

    /// Whether the service may have acted on the request despite the error (then sending it
    /// again could duplicate something).
    fn may_have_acted(&self) -> bool {
        false
    }

    /// The error without anything the service quoted back from the request (field values,
    /// file names, body excerpts): what the status board shows and the log records, which
    /// outlive the request and must not hold case data. Default: the whole message.
    fn summary(&self) -> String {
        self.to_string()
    }
}

/// Why a client call failed: the request never made it or got no usable answer ([`Egress`]),
/// the service answered with an error or something unreadable ([`Service`]), or the request
/// could not be built from what we were given ([`Build`]).
///
/// [`Egress`]: CallError::Egress
/// [`Service`]: CallError::Service
/// [`Build`]: CallError::Build
#[derive(Debug, thiserror::Error)]
pub enum CallError<E: ServiceFailure> {
    /// The egress client refused or could not complete the exchange.
    #[error(transparent)]
    Egress(#[from] EgressError),
    /// The service's answer was an error, or could not be read.
    #[error(transparent)]
    Service(E),
    /// The request could not be built; nothing was sent.
    #[error("{service}: cannot build the request: {detail}; nothing was sent")]
    Build {
        /// The service.
        service: Service,
        /// Why.
        detail: String,
    },
    /// A step the request depends on (an access token, a sign-in, a CSRF token) failed, so
    /// the request itself was never sent, whatever became of that step.
    #[error("{step} failed, so the request itself was not sent: {detail}")]
    NotSent {
        /// The step, e.g. "getting a Salesforce access token".
        step: &'static str,
        /// How it failed, as text (the message of `cause`).
        detail: String,
        /// How it failed.
        cause: Box<CallError<E>>,
    },
}

impl<E: ServiceFailure> CallError<E> {
    /// Whether the service may have acted on the request: if so, do not send it again before
    /// checking what the service holds.
    pub fn may_have_arrived(&self) -> bool {
        match self {
            CallError::Egress(err) => err.may_have_arrived(),
            CallError::Service(err) => err.may_have_acted(),
            CallError::Build { .. } | CallError::NotSent { .. } => false,
        }
    }

    /// Wraps the failure of a step that `step` names, for a request that was then not sent.
    pub fn not_sent(step: &'static str) -> impl FnOnce(CallError<E>) -> CallError<E> {
        move |err| CallError::NotSent { step, detail: err.to_string(), cause: Box::new(err) }
    }

    /// The service's own error, if it answered with one (here or at a step before).
    pub fn service_error(&self) -> Option<&E> {
        match self {
            CallError::Service(err) => Some(err),
            CallError::NotSent { cause, .. } => cause.service_error(),
            _ => None,
        }
    }

    /// The failure without anything quoted from the request, for logs (see
    /// [`ServiceFailure::summary`]).
    pub fn summary(&self) -> String {
        match self {
            CallError::Service(err) => err.summary(),
            CallError::NotSent { step, cause, .. } => {
                format!("{step} failed, so the request itself was not sent: {}", cause.summary())
            }
            other => other.to_string(),
        }
    }

    /// Whether the failure is the service refusing our credentials.
    pub fn is_auth_failure(&self) -> bool {
        self.service_error().is_some_and(ServiceFailure::is_auth_failure)
    }
}

/// The egress client and the status board, as every service client holds them.
#[derive(Clone)]
pub struct Channel {
    egress: Arc<EgressClient>,
    board: Arc<StatusBoard>,
}

impl Channel {
    /// A channel over `egress` reporting to `board`.
    pub fn new(egress: Arc<EgressClient>, board: Arc<StatusBoard>) -> Self {
        Self { egress, board }
    }

    /// Sends `request` to `service` and reads the answer with `parse`. `authenticated` says
    /// whether the request carries our credentials, so that a success proves they work.
    pub async fn exchange<T, E: ServiceFailure>(
        &self,
        service: Service,
        context: &CallContext,
        request: WireRequest,
        authenticated: bool,
        parse: impl FnOnce(&WireResponse) -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        let response = match self.egress.send(service, request, context).await {
            Ok(response) => response,
            Err(err) => {
                self.board.record(service, egress_observation(&err));
                return Err(CallError::Egress(err));
            }
        };
        match parse(&response) {
            Ok(value) => {
                self.board.record(service, Observation::Ok { authenticated });
                Ok(value)
            }
            Err(err) => {
                self.board.record(service, service_observation(&err));
                Err(CallError::Service(err))
            }
        }
    }
}

fn egress_observation(err: &EgressError) -> Observation {
    match err {
        EgressError::Redirect { .. } | EgressError::TooLarge { .. } | EgressError::Encoding { .. } => {
            Observation::Failed(err.to_string())
        }
        _ => Observation::Unreachable(err.to_string()),
    }
}

/// How a service-level error counts on the board.
fn service_observation<E: ServiceFailure>(err: &E) -> Observation {
    if err.is_auth_failure() {
        Observation::AuthFailed(err.summary())
    } else {
        Observation::Failed(err.summary())
    }
}
