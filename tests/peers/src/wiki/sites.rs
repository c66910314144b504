//! The wiki farm: `action=sitematrix` (Extension:SiteMatrix's irregular shape) and what
//! `meta=siteinfo` says about the host a request named.

use serde_json::{Map, Value, json};

use super::api::{ApiError, Ctx};

struct Site {
    url: &'static str,
    dbname: &'static str,
    code: &'static str,
    sitename: &'static str,
    closed: bool,
    private: bool,
    fishbowl: bool,
    nonglobal: bool,
}

const fn site(url: &'static str, dbname: &'static str, code: &'static str, sitename: &'static str) -> Site {
    Site { url, dbname, code, sitename, closed: false, private: false, fishbowl: false, nonglobal: false }
}

struct Language {
    code: &'static str,
    name: &'static str,
    localname: &'static str,
    sites: &'static [Site],
}

const LANGUAGES: [Language; 4] = [
    Language {
        code: "aa",
        name: "Qafár af",
        localname: "Afar",
        sites: &[Site { closed: true, ..site("https://aa.wikipedia.org", "aawiki", "wiki", "Wikipedia") }],
    },
    Language {
        code: "de",
        name: "Deutsch",
        localname: "German",
        sites: &[
            site("https://de.wikipedia.org", "dewiki", "wiki", "Wikipedia"),
            site("https://de.wiktionary.org", "dewiktionary", "wiktionary", "Wiktionary"),
        ],
    },
    Language {
        code: "en",
        name: "English",
        localname: "English",
        sites: &[
            site("https://en.wikipedia.org", "enwiki", "wiki", "Wikipedia"),
            site("https://en.wiktionary.org", "enwiktionary", "wiktionary", "Wiktionary"),
            site("https://en.wikisource.org", "enwikisource", "wikisource", "Wikisource"),
        ],
    },
    Language {
        code: "fr",
        name: "français",
        localname: "French",
        sites: &[site("https://fr.wikipedia.org", "frwiki", "wiki", "Wikipédia")],
    },
];

const SPECIALS: [Site; 7] = [
    site("https://commons.wikimedia.org", "commonswiki", "commons", "Wikimedia Commons"),
    site("https://meta.wikimedia.org", "metawiki", "meta", "Meta"),
    site("https://www.wikidata.org", "wikidatawiki", "wikidata", "Wikidata"),
    Site { private: true, ..site("https://board.wikimedia.org", "boardwiki", "board", "Wikimedia") },
    Site { fishbowl: true, ..site("https://ve.wikimedia.org", "vewikimedia", "vewikimedia", "Wikimedia") },
    Site {
        nonglobal: true,
        ..site(
            "https://foundation.wikimedia.org",
            "foundationwiki",
            "foundation",
            "Wikimedia Foundation Governance Wiki",
        )
    },
    Site {
        closed: true,
        ..site("https://strategy.wikimedia.org", "strategywiki", "strategy", "Strategic Planning")
    },
];

/// The made-up domain the demo and the tests reach the simulated wikis under.
const SIMULATED_DOMAIN: &str = ".wiki.test";

/// A site's URL as this farm answers it: the real Wikimedia URL, or, when the request came to
/// a simulated `*.wiki.test` host, the simulated host of that wiki on the same port (so that
/// an appliance following the matrix reaches this peer, never the real wiki).
fn public_url(site: &Site, request_host: &str) -> String {
    let (hostname, port) = match request_host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (name, Some(port)),
        _ => (request_host, None),
    };
    if !hostname.ends_with(SIMULATED_DOMAIN) {
        return site.url.to_owned();
    }
    let short = match site.dbname {
        "commonswiki" => "commons",
        "metawiki" => "meta",
        "foundationwiki" => "foundation",
        "enwiki" => "en",
        other => other,
    };
    match port {
        Some(port) => format!("https://{short}{SIMULATED_DOMAIN}:{port}"),
        None => format!("https://{short}{SIMULATED_DOMAIN}"),
    }
}

fn site_json(site: &Site, props: &[String], lang: Option<&str>, request_host: &str) -> Value {
    let mut value = Map::new();
    let want = |p: &str| props.iter().any(|x| x == p);
    if want("url") {
        value.insert("url".into(), json!(public_url(site, request_host)));
    }
    if want("dbname") {
        value.insert("dbname".into(), json!(site.dbname));
    }
    if want("code") {
        value.insert("code".into(), json!(site.code));
    }
    if want("lang")
        && let Some(lang) = lang
    {
        value.insert("lang".into(), json!(lang));
    }
    if want("sitename") {
        value.insert("sitename".into(), json!(site.sitename));
    }
    for (on, flag) in [
        (site.closed, "closed"),
        (site.private, "private"),
        (site.fishbowl, "fishbowl"),
        (site.nonglobal, "nonglobal"),
    ] {
        if on {
            value.insert(flag.into(), json!(true));
        }
    }
    Value::Object(value)
}

fn state_matches(site: &Site, states: &[String]) -> bool {
    states.iter().any(|s| match s.as_str() {
        "all" => true,
        "closed" => site.closed,
        "private" => site.private,
        "fishbowl" => site.fishbowl,
        "nonglobal" => site.nonglobal,
        _ => false,
    })
}

/// `action=sitematrix`.
pub(super) fn sitematrix(ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    const MODULE: &str = "sitematrix";
    let mut types = ctx.known_values(MODULE, "smtype", &["special", "language"]);
    if ctx.params.raw("smtype").is_none() {
        types = vec!["special".into(), "language".into()];
    }
    let mut states =
        ctx.known_values(MODULE, "smstate", &["all", "closed", "private", "fishbowl", "nonglobal"]);
    if ctx.params.raw("smstate").is_none() {
        states = vec!["all".into()];
    }
    let mut langprops = ctx.known_values(MODULE, "smlangprop", &["code", "name", "site", "dir", "localname"]);
    if ctx.params.raw("smlangprop").is_none() {
        langprops = ["code", "name", "site", "dir", "localname"].map(str::to_owned).to_vec();
    }
    let mut siteprops =
        ctx.known_values(MODULE, "smsiteprop", &["url", "dbname", "code", "lang", "sitename"]);
    if ctx.params.raw("smsiteprop").is_none() {
        siteprops = ["url", "dbname", "code", "sitename"].map(str::to_owned).to_vec();
    }
    let limit = ctx.params.limit("smlimit", 5000, 5000, MODULE)?;
    let start: usize = match ctx.params.get("smcontinue") {
        None => 0,
        Some(raw) => raw.parse().map_err(|_| {
            ApiError::new(
                "badcontinue",
                "Invalid continue param. You should pass the original value returned by the previous query.",
            )
            .module(MODULE)
        })?,
    };
    let count = LANGUAGES.iter().map(|l| l.sites.len()).sum::<usize>() + SPECIALS.len();
    let mut matrix = Map::new();
    matrix.insert("count".into(), json!(count));
    let mut shown = 0;
    let mut position = 0;
    let mut next = None;
    let want_lang = |p: &str| langprops.iter().any(|x| x == p);
    if types.iter().any(|t| t == "language") {
        for (index, language) in LANGUAGES.iter().enumerate() {
            let sites: Vec<Value> = language
                .sites
                .iter()
                .filter(|s| state_matches(s, &states))
                .map(|s| site_json(s, &siteprops, None, &ctx.host))
                .collect();
            if sites.is_empty() {
                continue;
            }
            position += 1;
            if position <= start {
                continue;
            }
            if shown == limit {
                next.get_or_insert(position - 1);
                continue;
            }
            shown += 1;
            let mut entry = Map::new();
            if want_lang("code") {
                entry.insert("code".into(), json!(language.code));
            }
            if want_lang("name") {
                entry.insert("name".into(), json!(language.name));
            }
            if want_lang("site") {
                entry.insert("site".into(), Value::Array(sites));
            }
            if want_lang("dir") {
                entry.insert("dir".into(), json!("ltr"));
            }
            if want_lang("localname") {
                entry.insert("localname".into(), json!(language.localname));
            }
            matrix.insert(index.to_string(), Value::Object(entry));
        }
    }
    if types.iter().any(|t| t == "special") {
        let mut specials = Vec::new();
        for site in SPECIALS.iter().filter(|s| state_matches(s, &states)) {
            position += 1;
            if position <= start {
                continue;
            }
            if shown == limit {
                next.get_or_insert(position - 1);
                continue;
            }
            shown += 1;
            specials.push(site_json(site, &siteprops, Some(site.code), &ctx.host));
        }
        matrix.insert("specials".into(), Value::Array(specials));
    }
    let mut body = Map::new();
    body.insert("sitematrix".into(), Value::Object(matrix));
    if let Some(next) = next {
        body.insert("query-continue".into(), json!({"sitematrix": {"smcontinue": next.to_string()}}));
    }
    Ok(body)
}

/// (dbname, sitename, language) of a host, for `meta=siteinfo`.
pub(super) fn describe_host(host: &str) -> (&'static str, &'static str, &'static str) {
    let url = format!("https://{host}");
    for language in &LANGUAGES {
        if let Some(site) = language.sites.iter().find(|s| s.url == url) {
            return (site.dbname, site.sitename, language.code);
        }
    }
    if let Some(site) = SPECIALS.iter().find(|s| s.url == url) {
        return (site.dbname, site.sitename, "en");
    }
    ("simwiki", "Simulated Wiki", "en")
}
