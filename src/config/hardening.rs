//! `[hardening]`: how strictly the process contains itself, and how much media it may hold.
//!
//! ```toml
//! [hardening]
//! # lock_memory = "required"    # mlockall at start; "best-effort" only for the demo
//! # landlock = "required"       # refuse to start without a fully enforced Landlock profile
//! # media_budget_mib = 256      # uploads held in memory at once, across all requests
//! ```
//!
//! The section may be left out: the defaults are the production settings. "best-effort" means
//! the daemon starts anyway and says what it could not do (a warning in the log, and for
//! Landlock a banner on every page).

use super::Problem;
use super::table::Section;

/// Whether a protection must hold for the daemon to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcement {
    /// Refuse to start without it.
    Required,
    /// Start without it, and say so.
    BestEffort,
}

/// `[hardening]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HardeningSettings {
    /// Lock all of the process's memory (`mlockall`), so nothing is ever swapped out.
    pub lock_memory: Enforcement,
    /// The Landlock profile of each subcommand.
    pub landlock: Enforcement,
    /// The most bytes of uploaded media held in memory at once, over all requests.
    pub media_budget_bytes: usize,
}

/// The default media budget: a few hundred images of a few hundred kilobytes each, or one
/// long video, at once — and small enough to lock on a modest appliance.
pub const DEFAULT_MEDIA_BUDGET_MIB: u64 = 256;

/// The largest budget accepted: beyond this the appliance is no longer the right tool.
const MAX_MEDIA_BUDGET_MIB: u64 = 64 * 1024;

impl Default for HardeningSettings {
    fn default() -> Self {
        Self {
            lock_memory: Enforcement::Required,
            landlock: Enforcement::Required,
            media_budget_bytes: mib(DEFAULT_MEDIA_BUDGET_MIB),
        }
    }
}

fn mib(n: u64) -> usize {
    usize::try_from(n * 1024 * 1024).unwrap_or(usize::MAX)
}

pub(crate) fn parse(root: &mut Section<'_>, problems: &mut Vec<Problem>) -> HardeningSettings {
    let Some(mut s) = root.optional_table("hardening", problems) else {
        return HardeningSettings::default();
    };
    let defaults = HardeningSettings::default();
    let mut enforcement = |key: &str, s: &mut Section<'_>| match s.optional_string(key, problems) {
        None | Some("required") => Enforcement::Required,
        Some("best-effort") => Enforcement::BestEffort,
        Some(other) => {
            problems.push(Problem::new(
                s.field(key),
                format!("{other:?} is not a setting; write \"required\" (production) or \"best-effort\" (demo only)"),
            ));
            Enforcement::Required
        }
    };
    let lock_memory = enforcement("lock_memory", &mut s);
    let landlock = enforcement("landlock", &mut s);
    let media_budget_bytes = match s.optional_count("media_budget_mib", MAX_MEDIA_BUDGET_MIB, problems) {
        Some(0) => {
            problems.push(Problem::new(
                s.field("media_budget_mib"),
                "must be at least 1 (MiB); uploads need memory to be received",
            ));
            defaults.media_budget_bytes
        }
        Some(n) => mib(n),
        None => defaults.media_budget_bytes,
    };
    s.finish(problems);
    HardeningSettings { lock_memory, landlock, media_budget_bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> (HardeningSettings, Vec<Problem>) {
        crate::config::table::parse_text(text, parse)
    }

    #[test]
    fn left_out_it_means_the_production_settings() {
        let (settings, problems) = parse_text("");
        assert!(problems.is_empty());
        assert_eq!(settings, HardeningSettings::default());
        assert_eq!(settings.lock_memory, Enforcement::Required);
        assert_eq!(settings.landlock, Enforcement::Required);
        assert_eq!(settings.media_budget_bytes, 256 << 20);
    }

    #[test]
    fn each_setting_is_read_and_mistakes_name_their_field() {
        let (settings, problems) = parse_text(
            "[hardening]\nlock_memory = \"best-effort\"\nlandlock = \"best-effort\"\nmedia_budget_mib = 3\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            settings,
            HardeningSettings {
                lock_memory: Enforcement::BestEffort,
                landlock: Enforcement::BestEffort,
                media_budget_bytes: 3 << 20
            }
        );
        let (_, problems) =
            parse_text("[hardening]\nlandlock = \"off\"\nmedia_budget_mib = 0\nswap = true\n");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["hardening.landlock", "hardening.media_budget_mib", "hardening.swap"],
            "{problems:?}"
        );
    }
}
