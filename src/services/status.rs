//! What the appliance knows of each service's health: reachable, authenticated, the last
//! error. Every call through a service client reports here, and a background check
//! ([`crate::services::Services::check_all`]) keeps the picture fresh between real calls; the
//! home page shows it.

use std::sync::{Mutex, PoisonError};

use time::OffsetDateTime;

use crate::egress::policy::Service;

/// How one call or check went, as far as health is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The service answered as expected; `authenticated` when the call carried our credentials.
    Ok {
        /// Whether the call proved the credentials work.
        authenticated: bool,
    },
    /// The service could not be reached or did not answer in time.
    Unreachable(String),
    /// The service answered but refused our credentials.
    AuthFailed(String),
    /// The service answered, but with an error or an answer we could not read.
    Failed(String),
}

/// One service's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceState {
    /// What the config says about it (`None`: the config leaves it out, so it is never called).
    pub configured: Option<String>,
    /// Whether the last call or check reached it (`None`: not tried yet).
    pub reachable: Option<bool>,
    /// Whether our credentials last worked (`None`: not tried yet).
    pub authenticated: Option<bool>,
    /// When it last answered as expected.
    pub last_ok: Option<OffsetDateTime>,
    /// The last error, and when.
    pub last_error: Option<(OffsetDateTime, String)>,
}

/// The four services' states.
pub struct StatusBoard {
    states: Mutex<[ServiceState; 4]>,
}

fn slot(service: Service) -> usize {
    match service {
        Service::Lumen => 0,
        Service::Ncmec => 1,
        Service::Salesforce => 2,
        Service::Wiki => 3,
    }
}

impl StatusBoard {
    /// A board where each service is configured (with a one-line description) or not.
    pub fn new(configured: impl Fn(Service) -> Option<String>) -> Self {
        let states = Service::ALL
            .map(|service| ServiceState { configured: configured(service), ..ServiceState::default() });
        Self { states: Mutex::new(states) }
    }

    /// Records how a call or check went.
    pub fn record(&self, service: Service, observation: Observation) {
        let now = OffsetDateTime::now_utc();
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut states[slot(service)];
        match observation {
            Observation::Ok { authenticated } => {
                state.reachable = Some(true);
                if authenticated {
                    state.authenticated = Some(true);
                }
                state.last_ok = Some(now);
            }
            Observation::Unreachable(message) => {
                state.reachable = Some(false);
                state.last_error = Some((now, message));
            }
            Observation::AuthFailed(message) => {
                state.reachable = Some(true);
                state.authenticated = Some(false);
                state.last_error = Some((now, message));
            }
            Observation::Failed(message) => {
                state.reachable = Some(true);
                state.last_error = Some((now, message));
            }
        }
    }

    /// A copy of every service's state, in [`Service::ALL`] order.
    pub fn snapshot(&self) -> Vec<(Service, ServiceState)> {
        let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        Service::ALL.into_iter().map(|service| (service, states[slot(service)].clone())).collect()
    }

    /// One service's state.
    pub fn state(&self, service: Service) -> ServiceState {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)[slot(service)].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auth_failure_keeps_reachable_and_a_later_success_keeps_the_error_for_the_record() {
        let board = StatusBoard::new(|s| (s == Service::Ncmec).then(|| "test environment".to_owned()));
        assert_eq!(board.state(Service::Lumen).configured, None);
        board.record(Service::Ncmec, Observation::AuthFailed("code 2000".into()));
        let state = board.state(Service::Ncmec);
        assert_eq!((state.reachable, state.authenticated), (Some(true), Some(false)));
        board.record(Service::Ncmec, Observation::Ok { authenticated: true });
        let state = board.state(Service::Ncmec);
        assert_eq!((state.reachable, state.authenticated), (Some(true), Some(true)));
        assert_eq!(state.last_error.map(|(_, m)| m).as_deref(), Some("code 2000"));
        board.record(Service::Ncmec, Observation::Unreachable("timeout".into()));
        assert_eq!(board.state(Service::Ncmec).reachable, Some(false));
        assert_eq!(
            board.state(Service::Ncmec).authenticated,
            Some(true),
            "unreachable says nothing of credentials"
        );
    }
}
