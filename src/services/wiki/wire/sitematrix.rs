//! `action=sitematrix` on the meta wiki: every Wikimedia wiki, for cross-wiki scans. The shape
//! is irregular: numeric-string keys for languages beside `count` and `specials`, flags present
//! only when true, and the old `query-continue` style of continuation.

use serde_json::{Map, Value};
use url::Url;

use super::common::{
    Continue, WikiAuth, api_get, as_object, continuation, flag, object, opt_array, opt_number, opt_string,
    string,
};
use super::envelope::{Warning, check_envelope};
use super::error::WikiError;
use crate::egress::wire::{WireRequest, WireResponse};

const CONTEXT: &str = "action=sitematrix";

/// The wikis of the farm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteMatrix {
    /// The total number of wikis, as the server counts them.
    pub count: Option<u64>,
    /// Language editions, in the server's order.
    pub languages: Vec<Language>,
    /// Wikis outside the language grid (Commons, meta, private and fishbowl wikis…).
    pub specials: Vec<Site>,
    /// Where to continue (`smcontinue`), if the matrix is cut.
    pub continuation: Option<Continue>,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

impl SiteMatrix {
    /// Every wiki a scan should visit: public, open and global ones (see [`Site::is_scannable`]).
    pub fn scannable_sites(&self) -> impl Iterator<Item = &Site> {
        self.languages
            .iter()
            .flat_map(|l| l.sites.iter())
            .chain(self.specials.iter())
            .filter(|s| s.is_scannable())
    }
}

/// One language and its wikis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Language {
    /// The language code (`de`).
    pub code: String,
    /// Its own name (`Deutsch`).
    pub name: String,
    /// Its English name (`German`).
    pub local_name: Option<String>,
    /// Writing direction (`ltr`, `rtl`).
    pub dir: Option<String>,
    /// Its wikis.
    pub sites: Vec<Site>,
}

/// One wiki.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The base URL (`https://de.wikipedia.org`).
    pub url: String,
    /// The database name (`dewiki`), the wiki's stable id.
    pub dbname: String,
    /// The project code (`wiki`, `wiktionary`, `commons`).
    pub code: String,
    /// The site's name.
    pub sitename: Option<String>,
    /// The language, for specials that have one.
    pub lang: Option<String>,
    /// Closed to editing.
    pub closed: bool,
    /// Private (readers need an account).
    pub private: bool,
    /// Fishbowl (only some accounts may edit).
    pub fishbowl: bool,
    /// Not attached to global accounts.
    pub nonglobal: bool,
}

impl Site {
    /// Whether a cross-wiki scan should visit this wiki: not closed, private, fishbowl or
    /// non-global (the original tools skipped the same ones).
    pub fn is_scannable(&self) -> bool {
        !(self.closed || self.private || self.fishbowl || self.nonglobal)
    }

    /// The wiki's api.php (`<url>/w/api.php`, Wikimedia's layout); `None` unless the URL is
    /// https with a host and no path, query or credentials.
    pub fn api_url(&self) -> Option<Url> {
        let url = Url::parse(&self.url).ok()?;
        let plain = url.scheme() == "https"
            && url.host_str().is_some()
            && matches!(url.path(), "" | "/")
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !plain {
            return None;
        }
        url.join("/w/api.php").ok()
    }
}

/// The sitematrix request: languages and specials, every state, as many as one page allows.
/// `api` is the meta wiki's api.php.
pub fn build_sitematrix(
    api: &Url,
    auth: WikiAuth<'_>,
    continuation: Option<&Continue>,
) -> Result<WireRequest, WikiError> {
    api_get(
        api,
        auth,
        &[("action", "sitematrix"), ("smtype", "language|special"), ("smstate", "all"), ("smlimit", "5000")],
        continuation,
    )
}

/// Reads the site matrix.
///
/// Refuses what [`check_envelope`] refuses; a missing `sitematrix`; a language or site without
/// its code, URL or database name; flags as `""` (formatversion=1); `specials` or `site` as
/// objects; a continuation with keys that are not continuation names. Unknown non-numeric keys
/// are ignored.
pub fn parse_sitematrix(response: &WireResponse) -> Result<SiteMatrix, WikiError> {
    let envelope = check_envelope(response, CONTEXT)?;
    let matrix = object(&envelope.root, "sitematrix", CONTEXT)?;
    let mut count = None;
    let mut numbered: Vec<(u64, Language)> = Vec::new();
    let mut specials = Vec::new();
    for (key, value) in matrix {
        if key == "count" {
            count = opt_number(matrix, "count", CONTEXT)?;
        } else if key == "specials" {
            specials = opt_array(matrix, "specials", CONTEXT)?
                .iter()
                .map(|s| site(as_object(s, CONTEXT, "specials")?))
                .collect::<Result<_, _>>()?;
        } else if !key.is_empty() && key.len() <= 9 && key.bytes().all(|b| b.is_ascii_digit()) {
            let index = key.parse::<u64>().unwrap_or(u64::MAX);
            numbered.push((index, language(as_object(value, CONTEXT, "language")?)?));
        }
    }
    numbered.sort_by_key(|(index, _)| *index);
    let continuation = match envelope.root.get("query-continue") {
        Some(value) => {
            let by_module = as_object(value, CONTEXT, "query-continue")?;
            match by_module.get("sitematrix") {
                Some(inner) => Some(Continue::from_json(inner, CONTEXT)?),
                None => None,
            }
        }
        None => continuation(&envelope.root, CONTEXT)?,
    };
    Ok(SiteMatrix {
        count,
        languages: numbered.into_iter().map(|(_, l)| l).collect(),
        specials,
        continuation,
        warnings: envelope.warnings,
    })
}

fn language(map: &Map<String, Value>) -> Result<Language, WikiError> {
    Ok(Language {
        code: string(map, "code", CONTEXT)?,
        name: opt_string(map, "name", CONTEXT)?.unwrap_or_default(),
        local_name: opt_string(map, "localname", CONTEXT)?,
        dir: opt_string(map, "dir", CONTEXT)?,
        sites: opt_array(map, "site", CONTEXT)?
            .iter()
            .map(|s| site(as_object(s, CONTEXT, "site")?))
            .collect::<Result<_, _>>()?,
    })
}

fn site(map: &Map<String, Value>) -> Result<Site, WikiError> {
    Ok(Site {
        url: string(map, "url", CONTEXT)?,
        dbname: string(map, "dbname", CONTEXT)?,
        code: string(map, "code", CONTEXT)?,
        sitename: opt_string(map, "sitename", CONTEXT)?,
        lang: opt_string(map, "lang", CONTEXT)?,
        closed: flag(map, "closed", CONTEXT)?,
        private: flag(map, "private", CONTEXT)?,
        fishbowl: flag(map, "fishbowl", CONTEXT)?,
        nonglobal: flag(map, "nonglobal", CONTEXT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::envelope::tests::json;
    use super::*;

    const MATRIX: &str = r#"{"sitematrix":{"count":6,
        "0":{"code":"aa","name":"Qafár af","site":[{"url":"https://aa.wikipedia.org","dbname":"aawiki","code":"wiki","sitename":"Wikipedia","closed":true}],"dir":"ltr","localname":"Afar"},
        "10":{"code":"de","name":"Deutsch","site":[{"url":"https://de.wikipedia.org","dbname":"dewiki","code":"wiki","sitename":"Wikipedia"},{"url":"https://de.wiktionary.org","dbname":"dewiktionary","code":"wiktionary","sitename":"Wiktionary"}],"dir":"ltr","localname":"German"},
        "2":{"code":"ab","name":"аԥсшәа","site":[],"dir":"ltr","localname":"Abkhazian"},
        "specials":[
            {"url":"https://commons.wikimedia.org","dbname":"commonswiki","code":"commons","lang":"commons","sitename":"Wikimedia Commons"},
            {"url":"https://office.wikimedia.org","dbname":"officewiki","code":"office","lang":"office","sitename":"Wikimedia Office","private":true},
            {"url":"https://test.wikipedia.org","dbname":"testwiki","code":"test","sitename":"Wikipedia","nonglobal":true},
            {"url":"https://board.wikimedia.org","dbname":"boardwiki","code":"board","sitename":"Wikimedia","fishbowl":true}
        ]},
        "query-continue":{"sitematrix":{"smcontinue":"3"}}}"#;

    #[test]
    fn the_request_asks_for_everything_on_meta() {
        let api = Url::parse("https://meta.wikimedia.org/w/api.php").unwrap();
        let request = build_sitematrix(&api, WikiAuth::Anonymous, None).unwrap();
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        for (k, v) in [
            ("action", "sitematrix"),
            ("smtype", "language|special"),
            ("smstate", "all"),
            ("smlimit", "5000"),
            ("formatversion", "2"),
        ] {
            assert!(pairs.contains(&(k.to_owned(), v.to_owned())), "{k}");
        }
    }

    #[test]
    fn the_irregular_matrix_is_read_in_order_and_filtered() {
        let matrix = parse_sitematrix(&json(200, &[], MATRIX)).unwrap();
        assert_eq!(matrix.count, Some(6));
        let codes: Vec<&str> = matrix.languages.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes, ["aa", "ab", "de"]);
        assert!(matrix.languages[0].sites[0].closed);
        assert_eq!(matrix.specials.len(), 4);
        let scannable: Vec<&str> = matrix.scannable_sites().map(|s| s.dbname.as_str()).collect();
        assert_eq!(scannable, ["dewiki", "dewiktionary", "commonswiki"]);
        assert_eq!(
            matrix.specials[0].api_url().map(|u| u.to_string()).as_deref(),
            Some("https://commons.wikimedia.org/w/api.php")
        );
        let cont = matrix.continuation.clone().unwrap();
        assert_eq!(cont.0.get("smcontinue").map(String::as_str), Some("3"));
        let api = Url::parse("https://meta.wikimedia.org/w/api.php").unwrap();
        let next = build_sitematrix(&api, WikiAuth::Anonymous, Some(&cont)).unwrap();
        assert!(next.url.query_pairs().any(|(k, v)| k == "smcontinue" && v == "3"));
    }

    #[test]
    fn site_urls_that_are_not_plain_https_hosts_give_no_api() {
        let mut site = Site {
            url: "http://x.wikipedia.org".into(),
            dbname: "x".into(),
            code: "wiki".into(),
            sitename: None,
            lang: None,
            closed: false,
            private: false,
            fishbowl: false,
            nonglobal: false,
        };
        assert!(site.api_url().is_none());
        site.url = "https://user@x.wikipedia.org".into();
        assert!(site.api_url().is_none());
        site.url = "https://x.wikipedia.org/other".into();
        assert!(site.api_url().is_none());
        site.url = "https://x.wikipedia.org/".into();
        assert!(site.api_url().is_some());
    }

    #[test]
    fn v1_flags_bad_continuations_and_missing_fields_are_refused() {
        let v1 = r#"{"sitematrix":{"count":1,"specials":[{"url":"https://a.org","dbname":"a","code":"a","private":""}]}}"#;
        assert!(matches!(parse_sitematrix(&json(200, &[], v1)), Err(WikiError::FormatVersion1 { .. })));
        let smuggled = r#"{"sitematrix":{"count":0},"query-continue":{"sitematrix":{"action":"delete"}}}"#;
        assert!(matches!(parse_sitematrix(&json(200, &[], smuggled)), Err(WikiError::Malformed { .. })));
        let no_db =
            r#"{"sitematrix":{"0":{"code":"de","site":[{"url":"https://de.wikipedia.org","code":"wiki"}]}}}"#;
        assert!(matches!(parse_sitematrix(&json(200, &[], no_db)), Err(WikiError::Malformed { .. })));
        assert!(parse_sitematrix(&json(200, &[], r#"{"batchcomplete":true}"#)).is_err());
        let new_style =
            r#"{"sitematrix":{"count":0,"specials":[]},"continue":{"smcontinue":"5","continue":"-||"}}"#;
        assert!(parse_sitematrix(&json(200, &[], new_style)).unwrap().continuation.is_some());
    }
}
