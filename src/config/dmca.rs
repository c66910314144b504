//! `[dmca]`: what the DMCA workflow needs to know about the deployment.
//!
//! ```toml
//! [dmca]
//! # wiki_domains = ["wikipedia.org", "wikimedia.org", ...]  # where an "Other" project may be
//! # commons_api = "https://commons.wikimedia.org/w/api.php" # noticeboard and village pump
//! # foundation_api = "https://foundation.wikimedia.org/w/api.php" # the Legal:DMCA pages
//! # legal_email = "legal@wikimedia.org"                     # named in the wiki notices
//! # recipient_name = "Wikimedia Foundation, Inc."           # the notice's recipient in Lumen
//! # recipient_country = "US"
//! ```
//!
//! The section may be left out: the defaults are Wikimedia's production wikis.

use url::Url;

use super::Problem;
use super::table::Section;

/// `[dmca]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmcaSettings {
    /// Domains a project's host must be (or be under): checked for "Other" projects and for
    /// every site the site matrix offers.
    pub wiki_domains: Vec<String>,
    /// Wikimedia Commons' api.php (the DMCA noticeboard and the village pump live there).
    pub commons_api: Url,
    /// The foundation wiki's api.php (the `Legal:DMCA` pages).
    pub foundation_api: Url,
    /// The address counter-notices go to, named in the wiki notices.
    pub legal_email: String,
    /// The recipient (and submitter) Lumen shows.
    pub recipient_name: String,
    /// The recipient's country, ISO 3166-1 alpha-2.
    pub recipient_country: String,
}

/// Wikimedia's project domains.
const WIKIMEDIA_DOMAINS: [&str; 12] = [
    "wikipedia.org",
    "wikimedia.org",
    "wiktionary.org",
    "wikibooks.org",
    "wikinews.org",
    "wikiquote.org",
    "wikisource.org",
    "wikiversity.org",
    "wikivoyage.org",
    "wikidata.org",
    "mediawiki.org",
    "wikifunctions.org",
];

impl Default for DmcaSettings {
    fn default() -> Self {
        Self {
            wiki_domains: WIKIMEDIA_DOMAINS.map(str::to_owned).to_vec(),
            commons_api: Url::parse("https://commons.wikimedia.org/w/api.php").expect("a valid URL"),
            foundation_api: Url::parse("https://foundation.wikimedia.org/w/api.php").expect("a valid URL"),
            legal_email: "legal@wikimedia.org".into(),
            recipient_name: "Wikimedia Foundation, Inc.".into(),
            recipient_country: "US".into(),
        }
    }
}

impl DmcaSettings {
    /// Whether `host` (without a port) is one of the wiki domains or under one.
    pub fn is_wiki_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.wiki_domains.iter().any(|domain| {
            host == *domain || host.strip_suffix(domain.as_str()).is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

pub(crate) fn parse(root: &mut Section<'_>, problems: &mut Vec<Problem>) -> DmcaSettings {
    let Some(mut s) = root.optional_table("dmca", problems) else {
        return DmcaSettings::default();
    };
    let mut settings = DmcaSettings::default();
    if s.has("wiki_domains")
        && let Some(domains) = s.strings("wiki_domains", problems)
    {
        let mut kept = Vec::new();
        for domain in domains {
            let domain = domain.trim().trim_start_matches("*.").to_ascii_lowercase();
            if domain.contains('.')
                && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                kept.push(domain);
            } else {
                problems.push(Problem::new(
                    s.field("wiki_domains"),
                    format!("{domain:?} is not a domain name; write e.g. \"wikipedia.org\""),
                ));
            }
        }
        if kept.is_empty() {
            problems.push(Problem::new(s.field("wiki_domains"), "is empty; name at least one wiki domain"));
        }
        settings.wiki_domains = kept;
    }
    for (key, slot) in
        [("commons_api", &mut settings.commons_api), ("foundation_api", &mut settings.foundation_api)]
    {
        let Some(text) = s.optional_string(key, problems) else { continue };
        match Url::parse(text) {
            Ok(url)
                if url.scheme() == "https"
                    && url.host_str().is_some()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.path().ends_with("/api.php") =>
            {
                *slot = url;
            }
            _ => problems.push(Problem::new(
                s.field(key),
                "must be a wiki's https api.php URL (https://commons.wikimedia.org/w/api.php)",
            )),
        }
    }
    if let Some(email) = s.optional_string("legal_email", problems) {
        if email.contains('@') && !email.contains(char::is_whitespace) {
            settings.legal_email = email.to_owned();
        } else {
            problems
                .push(Problem::new(s.field("legal_email"), format!("{email:?} is not an e-mail address")));
        }
    }
    if let Some(name) = s.optional_string("recipient_name", problems) {
        settings.recipient_name = name.trim().to_owned();
    }
    if let Some(country) = s.optional_string("recipient_country", problems) {
        if country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()) {
            settings.recipient_country = country.to_owned();
        } else {
            problems.push(Problem::new(
                s.field("recipient_country"),
                format!("{country:?} is not an ISO 3166-1 alpha-2 code; write e.g. \"US\""),
            ));
        }
    }
    s.finish(problems);
    for (key, url) in [("commons_api", &settings.commons_api), ("foundation_api", &settings.foundation_api)] {
        if !settings.is_wiki_host(url.host_str().unwrap_or_default()) {
            problems.push(Problem::new(
                format!("dmca.{key}"),
                "is not under any of dmca.wiki_domains; add its domain there or correct the URL",
            ));
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> (DmcaSettings, Vec<Problem>) {
        crate::config::table::parse_text(text, parse)
    }

    #[test]
    fn left_out_it_means_wikimedias_wikis() {
        let (settings, problems) = parse_text("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(settings, DmcaSettings::default());
        assert!(settings.is_wiki_host("commons.wikimedia.org") && settings.is_wiki_host("de.wikipedia.org"));
        assert!(
            !settings.is_wiki_host("wikipedia.org.evil.example")
                && !settings.is_wiki_host("evilwikipedia.org")
        );
    }

    #[test]
    fn each_setting_is_read_and_mistakes_name_their_field() {
        let (settings, problems) = parse_text(
            "[dmca]\nwiki_domains = [\"wiki.test\"]\ncommons_api = \"https://commons.wiki.test:8443/w/api.php\"\n\
             foundation_api = \"https://foundation.wiki.test/w/api.php\"\nlegal_email = \"legal@example.org\"\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(settings.wiki_domains, ["wiki.test"]);
        assert_eq!(settings.commons_api.port(), Some(8443));
        let (_, problems) = parse_text(
            "[dmca]\nwiki_domains = [\"x y\"]\ncommons_api = \"http://c.example/w/api.php\"\nlegal_email = \"nobody\"\n\
             recipient_country = \"usa\"\ncolour = 1\n",
        );
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "dmca.wiki_domains",
                "dmca.wiki_domains",
                "dmca.commons_api",
                "dmca.legal_email",
                "dmca.recipient_country",
                "dmca.colour",
                "dmca.commons_api",
                "dmca.foundation_api"
            ],
            "{problems:?}"
        );
    }
}
