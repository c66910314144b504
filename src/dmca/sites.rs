//! The wikis the form offers: the meta wiki's site matrix, fetched through the egress client
//! when first needed and again when a day old. If it cannot be fetched, the form still works
//! with "Other" (a host under the configured wiki domains).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::form::{ProjectChoice, project_choices};
use crate::config::DmcaSettings;
use crate::egress::client::CallContext;
use crate::services::wiki::client::WikiClient;

/// How long a fetched site matrix is used.
pub const REFRESH_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// After a failed fetch, how long before the next try (the form does not wait on every load).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The cached list.
#[derive(Default)]
pub struct SiteDirectory {
    cached: Mutex<Option<(Instant, Vec<ProjectChoice>)>>,
    failed: Mutex<Option<Instant>>,
}

impl SiteDirectory {
    /// The wikis to offer: cached, or fetched now if there is none or it is a day old.
    pub async fn choices(&self, wiki: Option<&WikiClient>, settings: &DmcaSettings) -> Vec<ProjectChoice> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((at, choices)) = &cached
            && at.elapsed() < REFRESH_AFTER
        {
            return choices.clone();
        }
        let recently_failed = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < RETRY_AFTER);
        let Some(wiki) = wiki.filter(|_| !recently_failed) else {
            return cached.map(|(_, choices)| choices).unwrap_or_default();
        };
        let fetched = wiki.site_matrix(&CallContext::system()).await;
        match fetched {
            Ok(matrix) => {
                let choices = project_choices(&matrix, settings);
                *self.cached.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), choices.clone()));
                choices
            }
            Err(err) => {
                tracing::warn!("cannot fetch the site matrix for the DMCA form: {}", err.summary());
                *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                cached.map(|(_, choices)| choices).unwrap_or_default()
            }
        }
    }
}
