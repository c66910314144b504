//! The four external services' sections: `[lumen]`, `[ncmec]`, `[salesforce]` and `[wiki]`.
//!
//! Each section may be left out — the home page then shows that service as not configured and
//! nothing is ever sent to it — but a section that is present must be complete. Secrets
//! (tokens, passwords, keys) are named, never written inline (see [`SecretSource`]). URLs must be
//! https; whether the egress policy lets them out is checked when the clients are built, so
//! `check-config` and `serve` name the field either way.
//!
//! ```toml
//! [lumen]
//! base_url = "https://lumendatabase.org"
//! token = { credential = "lumen-token" }
//!
//! [ncmec]
//! environment = "test"                          # or "production": the one whose account is required
//! [ncmec.test]                                  # each report goes to the environment chosen on its
//! username = "esp-user"                         # form (test by default); an environment without an
//! password = { credential = "ncmec-test-password" }   # account here cannot be chosen
//! # base_url = "https://exttest.cybertip.org/ispws"   # optional; the environment's default
//! # [ncmec.production]                          # optional unless environment = "production"
//!
//! [salesforce]
//! login_url = "https://login.salesforce.com"    # the token endpoint's host
//! # audience = "https://login.salesforce.com"   # optional; default: login_url
//! client_id = "3MVG9…"                          # the connected app's consumer key
//! username = "takedown@example.org"
//! private_key = { credential = "salesforce-jwt.key" }   # PEM, RSA
//! api_version = "67.0"
//! case_external_id_field = "Takedown_Case__c"
//!
//! [wiki]
//! meta_api = "https://meta.wikimedia.org/w/api.php"
//! meta_rest = "https://meta.wikimedia.org/w/rest.php"   # OAuth 2 lives here
//! oauth_client_id = "…"
//! oauth_client_secret = { credential = "wiki-oauth-secret" }
//! oauth_redirect = "https://takedown.example.org/wiki/callback"
//! # bot_user = "TakedownBot@takedown"           # optional bot-password account (both or neither)
//! # bot_password = { credential = "wiki-bot-password" }
//! ```

use std::path::Path;

use url::Url;

use super::table::Section;
use super::{Problem, SecretSource};
use crate::services::ncmec::wire::Environment;

/// The services' sections; `None` where the config leaves a service out.
#[derive(Clone, Debug, Default)]
pub struct ServiceSettings {
    /// `[lumen]`
    pub lumen: Option<LumenSettings>,
    /// `[ncmec]`
    pub ncmec: Option<NcmecSettings>,
    /// `[salesforce]`
    pub salesforce: Option<SalesforceSettings>,
    /// `[wiki]`
    pub wiki: Option<WikiSettings>,
}

/// `[lumen]`
#[derive(Clone, Debug)]
pub struct LumenSettings {
    /// The Lumen instance, e.g. `https://lumendatabase.org`.
    pub base_url: Url,
    /// The submitter token Lumen issued (sent as `X-Authentication-Token`).
    pub token: SecretSource,
}

/// `[ncmec]`
#[derive(Clone, Debug)]
pub struct NcmecSettings {
    /// The environment whose account the config must have (the status check's first).
    pub environment: Environment,
    /// The account for that environment.
    pub account: NcmecAccount,
    /// The other environment's account, when configured: reports may then go there too.
    pub other: Option<(Environment, NcmecAccount)>,
}

impl NcmecSettings {
    /// Every configured environment with its account, the required one first.
    pub fn accounts(&self) -> impl Iterator<Item = (Environment, &NcmecAccount)> {
        std::iter::once((self.environment, &self.account))
            .chain(self.other.as_ref().map(|(environment, account)| (*environment, account)))
    }
}

/// `[ncmec.production]` or `[ncmec.test]`: one environment's account.
#[derive(Clone, Debug)]
pub struct NcmecAccount {
    /// The environment's base URL (default: NCMEC's published one).
    pub base_url: Url,
    /// The ESP user name.
    pub username: String,
    /// Its password.
    pub password: SecretSource,
}

/// `[salesforce]`
#[derive(Clone, Debug)]
pub struct SalesforceSettings {
    /// The login host; the token endpoint is `<login_url>/services/oauth2/token`.
    pub login_url: Url,
    /// The JWT's `aud` claim (default: `login_url` without a trailing slash).
    pub audience: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The Salesforce user the appliance acts as.
    pub username: String,
    /// The RSA private key (PEM) whose certificate is uploaded to the connected app.
    pub private_key: SecretSource,
    /// The REST API version, e.g. `67.0`.
    pub api_version: String,
    /// The Case field holding the appliance's case ID, so that a retry updates, never duplicates.
    pub case_external_id_field: String,
}

/// `[wiki]`
#[derive(Clone, Debug)]
pub struct WikiSettings {
    /// The meta wiki's api.php (status checks, site matrix, global user info).
    pub meta_api: Url,
    /// The meta wiki's rest.php (OAuth 2 endpoints).
    pub meta_rest: Url,
    /// The OAuth 2 consumer's client id.
    pub oauth_client_id: String,
    /// The consumer's secret (a confidential client).
    pub oauth_client_secret: SecretSource,
    /// Where the wiki sends the browser back: this appliance's `/wiki/callback`.
    pub oauth_redirect: Url,
    /// A bot-password account (`User@BotName` and its password) for work no staff member does.
    pub bot: Option<(String, SecretSource)>,
}

/// Reads the four optional sections from the config's top level.
pub(crate) fn parse(root: &mut Section<'_>, base: &Path, problems: &mut Vec<Problem>) -> ServiceSettings {
    ServiceSettings {
        lumen: root.optional_table("lumen", problems).and_then(|mut s| {
            let base_url = https_url(&mut s, "base_url", problems);
            let token = s.secret("token", base, problems);
            s.finish(problems);
            Some(LumenSettings { base_url: base_url?, token: token? })
        }),
        ncmec: root.optional_table("ncmec", problems).and_then(|s| parse_ncmec(s, base, problems)),
        salesforce: root.optional_table("salesforce", problems).and_then(|mut s| {
            let login_url = https_url(&mut s, "login_url", problems);
            let audience = s.optional_string("audience", problems).map(|a| a.trim_end_matches('/').to_owned());
            let client_id = s.string("client_id", problems).map(str::to_owned);
            let username = s.string("username", problems).map(str::to_owned);
            let private_key = s.secret("private_key", base, problems);
            let api_version = s.string("api_version", problems).and_then(|v| {
                let digits = v.split_once('.').is_some_and(|(major, minor)| {
                    !major.is_empty() && !minor.is_empty() && (major.bytes().chain(minor.bytes())).all(|b| b.is_ascii_digit())
                });
                if !digits {
                    problems.push(Problem::new(
                        s.field("api_version"),
                        format!("{v:?} is not a REST API version; write it as \"67.0\" (no leading v)"),
                    ));
                }
                digits.then(|| v.to_owned())
            });
            let field = s.string("case_external_id_field", problems).and_then(|name| {
                let ok = name.ends_with("__c") && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !ok {
                    problems.push(Problem::new(
                        s.field("case_external_id_field"),
                        format!("{name:?} is not a custom field's API name; it ends in __c, e.g. \"Takedown_Case__c\""),
                    ));
                }
                ok.then(|| name.to_owned())
            });
            s.finish(problems);
            let login_url = login_url?;
            Some(SalesforceSettings {
                audience: audience.unwrap_or_else(|| login_url.as_str().trim_end_matches('/').to_owned()),
                login_url,
                client_id: client_id?,
                username: username?,
                private_key: private_key?,
                api_version: api_version?,
                case_external_id_field: field?,
            })
        }),
        wiki: root.optional_table("wiki", problems).and_then(|mut s| {
            let meta_api = https_url(&mut s, "meta_api", problems);
            let meta_rest = https_url(&mut s, "meta_rest", problems);
            let oauth_client_id = s.string("oauth_client_id", problems).and_then(|id| {
                let ok = id.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok {
                    problems.push(Problem::new(
                        s.field("oauth_client_id"),
                        format!("{id:?} is not an OAuth 2 client id; copy the consumer key meta shows (letters and digits)"),
                    ));
                }
                ok.then(|| id.to_owned())
            });
            let oauth_client_secret = s.secret("oauth_client_secret", base, problems);
            let oauth_redirect = https_url(&mut s, "oauth_redirect", problems);
            let bot_user = s.optional_string("bot_user", problems);
            let bot = match (bot_user, s.has("bot_password")) {
                (None, false) => Some(None),
                (Some(user), true) => {
                    if !user.contains('@') {
                        problems.push(Problem::new(
                            s.field("bot_user"),
                            format!("{user:?} is not a bot-password login; write User@BotName as Special:BotPasswords shows it"),
                        ));
                    }
                    s.secret("bot_password", base, problems).map(|p| Some((user.to_owned(), p)))
                }
                (Some(_), false) => {
                    problems.push(Problem::new(s.field("bot_password"), "missing; bot_user needs its password"));
                    None
                }
                (None, true) => {
                    problems.push(Problem::new(s.field("bot_user"), "missing; bot_password needs its User@BotName"));
                    // Read anyway, so that it is not reported a second time as an unknown field.
                    let _ = s.secret("bot_password", base, problems);
                    None
                }
            };
            s.finish(problems);
            Some(WikiSettings {
                meta_api: meta_api?,
                meta_rest: meta_rest?,
                oauth_client_id: oauth_client_id?,
                oauth_client_secret: oauth_client_secret?,
                oauth_redirect: oauth_redirect?,
                bot: bot?,
            })
        }),
    }
}

fn parse_ncmec(mut s: Section<'_>, base: &Path, problems: &mut Vec<Problem>) -> Option<NcmecSettings> {
    let environment = s.string("environment", problems).and_then(|text| match text {
        "production" => Some(Environment::Production),
        "test" => Some(Environment::Test),
        other => {
            problems.push(Problem::new(
                s.field("environment"),
                format!("{other:?} is not an environment; write \"production\" or \"test\""),
            ));
            None
        }
    });
    let mut accounts = Vec::new();
    for (key, env) in [("production", Environment::Production), ("test", Environment::Test)] {
        let present = s.has(key);
        if let Some(mut t) = s.optional_table(key, problems) {
            let base_url = match t.optional_string("base_url", problems) {
                None => Some(env.base_url()),
                Some(_) => https_url(&mut t, "base_url", problems),
            };
            let username = t.string("username", problems).map(str::to_owned);
            let password = t.secret("password", base, problems);
            t.finish(problems);
            if let (Some(base_url), Some(username), Some(password)) = (base_url, username, password) {
                accounts.push((env, NcmecAccount { base_url, username, password }));
            }
        } else if !present && Some(env) == environment {
            problems.push(Problem::new(
                s.field(key),
                format!("missing; add [ncmec.{key}] with the username and password of NCMEC's {key} service"),
            ));
        }
    }
    s.finish(problems);
    let environment = environment?;
    let index = accounts.iter().position(|(env, _)| *env == environment)?;
    let account = accounts.remove(index).1;
    Some(NcmecSettings { environment, account, other: accounts.pop() })
}

/// An absolute https URL.
fn https_url(s: &mut Section<'_>, key: &str, problems: &mut Vec<Problem>) -> Option<Url> {
    let text = s.string(key, problems)?;
    match Url::parse(text) {
        Ok(url)
            if url.scheme() == "https"
                && url.host_str().is_some()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Some(url)
        }
        // A URL carrying a password is not quoted: the message goes to the journal.
        Ok(url) if url.password().is_some() => {
            problems.push(Problem::new(
                s.field(key),
                "must not carry a user name or password; credentials are configured as secrets",
            ));
            None
        }
        Ok(_) => {
            problems.push(Problem::new(
                s.field(key),
                format!("{text:?} must be an https URL with a host and no user name or password"),
            ));
            None
        }
        Err(_) => {
            problems.push(Problem::new(
                s.field(key),
                format!("{text:?} is not a URL; write e.g. \"https://example.org/\""),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{Section, parse_document};

    fn parse_text(text: &str) -> (ServiceSettings, Vec<Problem>) {
        let document = parse_document("t.toml", text).unwrap();
        let mut root = Section::root("", &document);
        let mut problems = Vec::new();
        let settings = parse(&mut root, Path::new("/etc/takedown"), &mut problems);
        root.finish(&mut problems);
        (settings, problems)
    }

    fn fields(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn left_out_services_are_none_and_complete_ones_parse() {
        let (settings, problems) = parse_text("");
        assert!(problems.is_empty() && settings.lumen.is_none() && settings.wiki.is_none());
        let (settings, problems) = parse_text(
            r#"
[ncmec]
environment = "test"
[ncmec.test]
username = "esp"
password = { file = "ncmec.pw" }
[salesforce]
login_url = "https://login.salesforce.com/"
client_id = "3MVG9"
username = "takedown@example.org"
private_key = { credential = "sf.key" }
api_version = "67.0"
case_external_id_field = "Takedown_Case__c"
"#,
        );
        assert!(problems.is_empty(), "{problems:#?}");
        let ncmec = settings.ncmec.unwrap();
        assert_eq!(ncmec.account.base_url.as_str(), "https://exttest.cybertip.org/ispws");
        assert_eq!(ncmec.account.password, SecretSource::File("/etc/takedown/ncmec.pw".into()));
        assert!(ncmec.other.is_none());
        assert_eq!(settings.salesforce.unwrap().audience, "https://login.salesforce.com");
    }

    #[test]
    fn each_mistake_names_its_field() {
        let (_, problems) = parse_text(
            r#"
[lumen]
base_url = "http://lumendatabase.org"
token = "inline-token"
[ncmec]
environment = "production"
[ncmec.test]
username = "esp"
password = { file = "ncmec.pw" }
[salesforce]
login_url = "https://login.salesforce.com"
client_id = "3MVG9"
username = "u"
private_key = { file = "k" }
api_version = "v67"
case_external_id_field = "Subject"
[wiki]
meta_api = "https://meta.wikimedia.org/w/api.php"
meta_rest = "https://meta.wikimedia.org/w/rest.php"
oauth_client_id = "not a key"
oauth_client_secret = { file = "s" }
oauth_redirect = "https://takedown.example.org/wiki/callback"
bot_user = "TakedownBot"
"#,
        );
        assert_eq!(
            fields(&problems),
            [
                "lumen.base_url",
                "lumen.token",
                "ncmec.production",
                "salesforce.api_version",
                "salesforce.case_external_id_field",
                "wiki.oauth_client_id",
                "wiki.bot_password",
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn a_lone_bot_password_is_one_problem_and_a_url_with_a_password_is_not_quoted() {
        let (_, problems) = parse_text(
            r#"
[lumen]
base_url = "https://user:hunter2@lumendatabase.org"
token = { file = "t" }
[wiki]
meta_api = "https://meta.wikimedia.org/w/api.php"
meta_rest = "https://meta.wikimedia.org/w/rest.php"
oauth_client_id = "0123456789abcdef0123456789abcdef"
oauth_client_secret = { file = "s" }
oauth_redirect = "https://takedown.example.org/wiki/callback"
bot_password = { file = "b" }
"#,
        );
        assert_eq!(fields(&problems), ["lumen.base_url", "wiki.bot_user"], "{problems:#?}");
        assert!(!problems[0].to_string().contains("hunter2"), "{}", problems[0]);
    }
}
