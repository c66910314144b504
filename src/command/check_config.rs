//! `takedown check-config`: validate a config and every file it names, without binding anything.

use std::path::Path;

use crate::cli::exit;
use crate::config::ServiceSettings;
use crate::egress::client::EgressFiles;
use crate::sandbox::memory::MemoryModel;
use crate::services::clients::preflight;
use crate::state::Live;

fn configured_services(settings: &ServiceSettings) -> String {
    let names: Vec<&str> = [
        settings.lumen.is_some().then_some("lumen"),
        settings.ncmec.is_some().then_some("ncmec"),
        settings.salesforce.is_some().then_some("salesforce"),
        settings.wiki.is_some().then_some("wiki"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// Validates the config at `path`; prints a summary or every problem.
pub(super) fn run(path: &Path) -> u8 {
    // Measured before the Landlock profile shuts /proc away: what the process has at start, and
    // the locked-memory limit it runs under.
    let at_start = crate::sandbox::memory::writable_at_start();
    let (limit, privileged) = crate::sandbox::process::memlock_limit();
    let config = match super::load_config_confined(path, "check-config", &[]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let credentials_dir = super::credentials_dir();
    let live = Live::load(&config, credentials_dir.as_deref());
    let keys = crate::store::keys_from_config(&config.store, credentials_dir.as_deref());
    let egress = EgressFiles::load(&config.egress);
    let services = match &egress {
        Ok(files) => preflight(&config.services, credentials_dir.as_deref(), &files.policy),
        Err(_) => Vec::new(),
    };
    let loaded = match (live, keys, egress) {
        (Ok(live), Ok(_), Ok(egress)) if services.is_empty() => Ok((live, egress)),
        (live, keys, egress) => {
            let mut all = live.err().map(|p| p.0).unwrap_or_default();
            all.extend(keys.err().map(|p| p.0).unwrap_or_default());
            all.extend(egress.err().map(|p| p.0).unwrap_or_default());
            all.extend(services);
            Err(crate::config::Problems(all))
        }
    };
    match loaded {
        Ok((live, egress)) => {
            println!(
                "{}: valid; {} staff on the roster, {} CRL file(s), listening on {} when served; {}; \
                 services configured: {}",
                path.display(),
                live.roster.staff().len(),
                config.tls.crls.len(),
                config.server.listen,
                egress.describe(&config.egress),
                configured_services(&config.services)
            );
            // What the daemon will lock: measured "at start" in this process, which runs the
            // same binary up to the same point.
            let model = MemoryModel::of(&config, at_start, crate::sandbox::memory::decrypt_cores());
            print!("{}", model.breakdown(limit, privileged));
            if let Some(shortfall) = model.shortfall(limit, privileged) {
                println!("warning: `serve` under this limit would not start: {shortfall}");
            }
            exit::OK
        }
        Err(problems) => super::report_problems(path, &problems),
    }
}
