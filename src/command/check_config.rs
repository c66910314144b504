//! `takedown check-config`: validate a config and every file it names, without binding anything.

use std::path::Path;

use crate::cli::exit;
use crate::state::Live;

/// Validates the config at `path`; prints a summary or every problem.
pub(super) fn run(path: &Path) -> u8 {
    let config = match super::load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let credentials_dir = super::credentials_dir();
    let live = Live::load(&config, credentials_dir.as_deref());
    let keys = crate::store::keys_from_config(&config.store, credentials_dir.as_deref());
    let live = match (live, keys) {
        (Ok(live), Ok(_)) => Ok(live),
        (live, keys) => {
            let mut all = live.err().map(|p| p.0).unwrap_or_default();
            all.extend(keys.err().map(|p| p.0).unwrap_or_default());
            Err(crate::config::Problems(all))
        }
    };
    match live {
        Ok(live) => {
            println!(
                "{}: valid; {} staff on the roster, {} CRL file(s), listening on {} when served",
                path.display(),
                live.roster.staff().len(),
                config.tls.crls.len(),
                config.server.listen
            );
            exit::OK
        }
        Err(problems) => super::report_problems(path, &problems),
    }
}
