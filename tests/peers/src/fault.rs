//! Fault switches: how a test makes a peer misbehave at one endpoint.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::{PeerService, lock};

/// How one endpoint misbehaves. The default is no fault. Fields combine: e.g. `delay` with
/// `from_call: 2` slows the second and later calls.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    /// Answer this status instead, with `body` (default: a short text) — the request is NOT
    /// processed (as when a gateway or the application fails before acting).
    pub status: Option<u16>,
    /// The body for `status`.
    pub body: Option<String>,
    /// The content type for `status` (default `text/plain`).
    pub content_type: Option<String>,
    /// More headers for `status` (`Retry-After`, `MediaWiki-API-Error`).
    pub headers: Vec<(String, String)>,
    /// With `status`: process the request first, then answer `status` all the same (an
    /// application that acted and then failed, or a gateway that lost the answer). The only way
    /// a test can see that a client which got a 5xx did not send the request a second time.
    pub after_processing: bool,
    /// Process the request, then wait this long before answering (a slow or timed-out call
    /// whose effect happened).
    pub delay: Option<Duration>,
    /// Process the request, then answer garbage in the same content type.
    pub malformed: bool,
    /// Process the request, then send the headers and half the body, and close.
    pub truncated: bool,
    /// Process the request, then close the connection without answering (the ambiguous case:
    /// the effect happened but the client never hears of it).
    pub drop_connection: bool,
    /// First call (1-based) the fault applies to; 0 or 1 means from the first.
    pub from_call: u32,
    /// How many calls it applies to; `None` for every one from `from_call` on.
    pub times: Option<u32>,
}

impl Fault {
    /// A status answered without processing.
    pub fn status(status: u16) -> Self {
        Self { status: Some(status), ..Self::default() }
    }

    /// A status answered after processing the request (see [`Fault::after_processing`]).
    pub fn status_after_processing(status: u16) -> Self {
        Self { status: Some(status), after_processing: true, ..Self::default() }
    }

    /// A delay after processing.
    pub fn delay(delay: Duration) -> Self {
        Self { delay: Some(delay), ..Self::default() }
    }
}

/// The faults in force and how often each endpoint has been called.
#[derive(Default)]
pub(crate) struct Faults {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    faults: HashMap<(PeerService, String), Fault>,
    calls: HashMap<(PeerService, String), u32>,
}

impl Faults {
    pub(crate) fn set(&self, service: PeerService, endpoint: &str, fault: Fault) {
        let mut state = lock(&self.state);
        state.calls.remove(&(service, endpoint.to_owned()));
        state.faults.insert((service, endpoint.to_owned()), fault);
    }

    /// Counts a call and returns the fault that applies to it, if any.
    pub(crate) fn on_call(&self, service: PeerService, endpoint: &str) -> Option<Fault> {
        let mut state = lock(&self.state);
        let key = (service, endpoint.to_owned());
        let call = {
            let count = state.calls.entry(key.clone()).or_insert(0);
            *count += 1;
            *count
        };
        let fault = state.faults.get(&key)?;
        let first = fault.from_call.max(1);
        let applies = call >= first && fault.times.is_none_or(|times| call < first + times);
        applies.then(|| fault.clone())
    }
}
