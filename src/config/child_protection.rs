//! `[child_protection]`: what a deployment allows in the child-protection workflow, and how
//! often the watchdog retries retractions. Optional; left out, both choices are off and the
//! watchdog looks every five minutes.
//!
//! ```toml
//! [child_protection]
//! out_of_band_approval = false   # may the preparer record an approval given outside the appliance?
//! suppress_on_wiki = false       # offer to delete and suppress the reported files on the wiki
//! # watchdog_interval_seconds = 300   # how often reports left open at NCMEC are retracted again
//! ```

use std::time::Duration;

use super::Problem;
use super::table::Section;

/// `[child_protection]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildProtectionSettings {
    /// Whether the preparer may record, by name, an approval given outside the appliance
    /// (otherwise a second person with the `approver` role decides in the appliance).
    pub out_of_band_approval: bool,
    /// Whether the case page offers to delete the reported files and suppress their old
    /// versions through the staffer's wiki account.
    pub suppress_on_wiki: bool,
    /// How often the watchdog looks for reports left open at NCMEC (a retraction that failed)
    /// and retracts them again, while the daemon runs.
    pub watchdog_interval: Duration,
}

/// How often the watchdog looks by default: well inside NCMEC's one-hour idle expiry, so a
/// failed retraction is retried many times before NCMEC would file the report on its own.
pub const DEFAULT_WATCHDOG_INTERVAL_SECONDS: u64 = 300;

/// The longest interval accepted: half of NCMEC's one-hour idle expiry, so that a report left
/// open is retried at least once before it expires.
pub const MAX_WATCHDOG_INTERVAL_SECONDS: u64 = 1800;

impl Default for ChildProtectionSettings {
    fn default() -> Self {
        Self {
            out_of_band_approval: false,
            suppress_on_wiki: false,
            watchdog_interval: Duration::from_secs(DEFAULT_WATCHDOG_INTERVAL_SECONDS),
        }
    }
}

pub(crate) fn parse(root: &mut Section<'_>, problems: &mut Vec<Problem>) -> ChildProtectionSettings {
    let Some(mut s) = root.optional_table("child_protection", problems) else {
        return ChildProtectionSettings::default();
    };
    let settings = ChildProtectionSettings {
        out_of_band_approval: s.optional_bool("out_of_band_approval", problems).unwrap_or(false),
        suppress_on_wiki: s.optional_bool("suppress_on_wiki", problems).unwrap_or(false),
        watchdog_interval: Duration::from_secs(
            s.optional_count("watchdog_interval_seconds", MAX_WATCHDOG_INTERVAL_SECONDS, problems)
                .unwrap_or(DEFAULT_WATCHDOG_INTERVAL_SECONDS),
        ),
    };
    s.finish(problems);
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::parse_text;

    #[test]
    fn both_choices_are_off_unless_turned_on_and_a_wrong_type_names_the_field() {
        let (settings, problems) = parse_text("", parse);
        assert!(problems.is_empty());
        assert_eq!(settings, ChildProtectionSettings::default());
        let (settings, problems) = parse_text("[child_protection]\nout_of_band_approval = true\n", parse);
        assert!(problems.is_empty() && settings.out_of_band_approval && !settings.suppress_on_wiki);
        let (_, problems) = parse_text("[child_protection]\nsuppress_on_wiki = \"yes\"\ncolour = 1\n", parse);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["child_protection.suppress_on_wiki", "child_protection.colour"], "{problems:#?}");
    }

    #[test]
    fn the_watchdog_looks_every_five_minutes_unless_set_within_half_an_hour() {
        let (settings, problems) = parse_text("[child_protection]\n", parse);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(settings.watchdog_interval, Duration::from_secs(300));
        let (settings, problems) = parse_text("[child_protection]\nwatchdog_interval_seconds = 1\n", parse);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(settings.watchdog_interval, Duration::from_secs(1));
        // Never (0) and past NCMEC's expiry are refused, naming the field and the range.
        for bad in ["0", "1801", "-5", "\"300\""] {
            let (_, problems) =
                parse_text(&format!("[child_protection]\nwatchdog_interval_seconds = {bad}\n"), parse);
            let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert_eq!(messages.len(), 1, "{bad}: {messages:?}");
            assert!(
                messages[0].starts_with("child_protection.watchdog_interval_seconds: "),
                "{bad}: {messages:?}"
            );
        }
        let (_, problems) = parse_text("[child_protection]\nwatchdog_interval_seconds = 1801\n", parse);
        assert_eq!(
            problems[0].to_string(),
            "child_protection.watchdog_interval_seconds: 1801 is out of range; use 1 to 1800"
        );
    }
}
