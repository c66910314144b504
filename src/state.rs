//! What the running daemon holds, and what SIGHUP reloads.
//!
//! The roster and the TLS material (server certificate, staff CA, CRLs) form the [`Live`] set.
//! A reload builds a complete new set from the files and swaps it in only if every file is
//! valid; otherwise the old set stays and the problems are logged. Open connections keep
//! working, and every request is checked against the newest set, so a revocation or a removal
//! from the roster takes effect on the next request, not only on the next handshake.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::{Config, Problem, Problems};
use crate::dmca::shelf::DocumentShelf;
use crate::dmca::sites::SiteDirectory;
use crate::http::csrf::CsrfKey;
use crate::media::MediaBudget;
use crate::roster::Roster;
use crate::sandbox::SandboxReport;
use crate::services::clients::Services;
use crate::store::Store;
use crate::tls::{ServerTls, TlsMaterial, describe_read_error};

/// The reloadable part of the daemon's state.
pub struct Live {
    /// Who the staff are.
    pub roster: Roster,
    /// The TLS acceptor and the verifier behind it.
    pub tls: ServerTls,
}

impl Live {
    /// Loads every file the config names; all problems are reported together.
    pub fn load(config: &Config, credentials_dir: Option<&std::path::Path>) -> Result<Live, Problems> {
        let mut problems = Vec::new();
        let material = TlsMaterial::load(&config.tls, credentials_dir, &mut problems);
        let roster = match std::fs::read_to_string(&config.staff.roster) {
            Ok(text) => Roster::parse(&config.staff.roster.display().to_string(), &text)
                .map_err(|found| problems.extend(found))
                .ok(),
            Err(err) => {
                problems.push(Problem::new("staff.roster", describe_read_error(&config.staff.roster, &err)));
                None
            }
        };
        let tls = material.and_then(|m| ServerTls::build(m).map_err(|p| problems.push(p)).ok());
        match (roster, tls) {
            (Some(roster), Some(tls)) if problems.is_empty() => Ok(Live { roster, tls }),
            _ => Err(Problems(problems)),
        }
    }
}

/// Everything a request handler can reach.
pub struct AppState {
    /// The validated configuration (not reloaded: changing it needs a restart).
    pub config: Config,
    /// Signs and checks the forms' CSRF tokens.
    pub csrf: CsrfKey,
    /// Cases and the audit log.
    pub store: Arc<Store>,
    /// The clients of the configured services, and what is known of their health.
    pub services: Services,
    /// How much uploaded media may be held at once, and how much is.
    pub media: Arc<MediaBudget>,
    /// How many bytes of form bodies may be held at once (`server.form_budget_kib`), and how
    /// many are: a budget like the media one, so concurrent forms stay within the memory model.
    pub forms: Arc<MediaBudget>,
    /// What the sandbox achieved at start (shown as a warning when incomplete).
    pub sandbox: SandboxReport,
    /// Supporting documents held in locked memory between requests.
    pub documents: DocumentShelf,
    /// The wikis the DMCA form offers.
    pub sites: SiteDirectory,
    /// Images held after a SHA-1 mismatch, until their staffer confirms or discards them.
    pub held_images: crate::child_protection::held::HeldImages,
    /// The child-protection cases being sent to NCMEC right now.
    pub in_flight: crate::child_protection::saga::InFlight,
    /// The DMCA steps (Lumen, Salesforce, each wiki notice) running right now, by case.
    pub dmca_steps: crate::dmca::saga::StepsInFlight,
    credentials_dir: Option<PathBuf>,
    live: RwLock<Arc<Live>>,
}

impl AppState {
    /// The state for a daemon that has loaded `live` from `config`.
    pub fn new(
        config: Config,
        credentials_dir: Option<PathBuf>,
        live: Live,
        store: Arc<Store>,
        services: Services,
        sandbox: SandboxReport,
    ) -> Self {
        Self {
            media: MediaBudget::new(config.hardening.media_budget_bytes),
            forms: MediaBudget::new(config.server.form_budget_bytes),
            config,
            csrf: CsrfKey::generate(),
            store,
            services,
            sandbox,
            documents: DocumentShelf::default(),
            sites: SiteDirectory::default(),
            held_images: Default::default(),
            in_flight: Default::default(),
            dmca_steps: Default::default(),
            credentials_dir,
            live: RwLock::new(Arc::new(live)),
        }
    }

    /// The current roster and TLS set.
    pub fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Reloads the roster and TLS files; on any problem the current set stays in force.
    pub fn reload(&self) -> Result<Arc<Live>, Problems> {
        let live = Arc::new(Live::load(&self.config, self.credentials_dir.as_deref())?);
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = live.clone();
        Ok(live)
    }
}
