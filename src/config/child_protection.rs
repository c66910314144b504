//! `[child_protection]`: what a deployment allows in the child-protection workflow. Optional;
//! left out, both choices are off.
//!
//! ```toml
//! [child_protection]
//! out_of_band_approval = false   # may the preparer record an approval given outside the appliance?
//! suppress_on_wiki = false       # offer to delete and suppress the reported files on the wiki
//! ```

use super::Problem;
use super::table::Section;

/// `[child_protection]`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChildProtectionSettings {
    /// Whether the preparer may record, by name, an approval given outside the appliance
    /// (otherwise a second person with the `approver` role decides in the appliance).
    pub out_of_band_approval: bool,
    /// Whether the case page offers to delete the reported files and suppress their old
    /// versions through the staffer's wiki account.
    pub suppress_on_wiki: bool,
}

pub(crate) fn parse(root: &mut Section<'_>, problems: &mut Vec<Problem>) -> ChildProtectionSettings {
    let Some(mut s) = root.optional_table("child_protection", problems) else {
        return ChildProtectionSettings::default();
    };
    let settings = ChildProtectionSettings {
        out_of_band_approval: s.optional_bool("out_of_band_approval", problems).unwrap_or(false),
        suppress_on_wiki: s.optional_bool("suppress_on_wiki", problems).unwrap_or(false),
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
}
