//! The configured service clients, built once at start, and the background status check.
//!
//! Building fails closed: an unreadable secret, an unusable key, or a configured URL that the
//! egress policy would refuse stops the daemon with the config field named (`check-config`
//! runs the same checks through [`preflight`]). A service the config leaves out has no client
//! and is shown as not configured.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use url::Url;

use super::call::Channel;
use super::lumen::client::LumenClient;
use super::ncmec::client::NcmecClient;
use super::ncmec::wire::Environment;
use super::salesforce::client::SalesforceClient;
use super::status::StatusBoard;
use super::wiki::client::WikiClient;
use super::{lumen, ncmec, salesforce, wiki};
use crate::config::services::ServiceSettings;
use crate::config::{Problem, Problems};
use crate::egress::client::{CallContext, EgressClient};
use crate::egress::policy::{Policy, Service};

/// How often the background check runs.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(300);

/// The clients of the configured services and their status board.
pub struct Services {
    /// What is known of each service's health.
    pub board: Arc<StatusBoard>,
    /// Lumen, if configured.
    pub lumen: Option<LumenClient>,
    /// NCMEC: one client per configured environment, the config's required one first.
    pub ncmec: Vec<NcmecClient>,
    /// Salesforce, if configured.
    pub salesforce: Option<SalesforceClient>,
    /// The wikis, if configured.
    pub wiki: Option<WikiClient>,
}

impl Services {
    /// Builds a client for every configured service; all problems are reported together.
    pub fn build(
        settings: &ServiceSettings,
        credentials_dir: Option<&Path>,
        egress: Arc<EgressClient>,
    ) -> Result<Self, Problems> {
        let mut problems = check_urls(settings, egress.policy());
        let board = Arc::new(StatusBoard::new(|service| describe(settings, service)));
        let channel = Channel::new(egress, board.clone());
        let lumen = settings
            .lumen
            .as_ref()
            .and_then(|s| keep(&mut problems, LumenClient::new(s, credentials_dir, channel.clone())));
        let ncmec = settings
            .ncmec
            .as_ref()
            .and_then(|s| {
                keep(&mut problems, NcmecClient::for_each_account(s, credentials_dir, channel.clone()))
            })
            .unwrap_or_default();
        let salesforce = settings
            .salesforce
            .as_ref()
            .and_then(|s| keep(&mut problems, SalesforceClient::new(s, credentials_dir, channel.clone())));
        let wiki = settings
            .wiki
            .as_ref()
            .and_then(|s| keep(&mut problems, WikiClient::new(s, credentials_dir, channel.clone())));
        if problems.is_empty() {
            Ok(Self { board, lumen, ncmec, salesforce, wiki })
        } else {
            Err(Problems(problems))
        }
    }

    /// The NCMEC client of `environment`, if that environment has an account here.
    pub fn ncmec(&self, environment: Environment) -> Option<&NcmecClient> {
        self.ncmec.iter().find(|client| client.environment() == environment)
    }

    /// Checks every configured service once, at the same time, with its cheapest honest call:
    /// NCMEC `status`; a Salesforce token and the lookup of a Case no one has; the meta wiki's
    /// site matrix and, with a bot account, a token in its session. Lumen has no such call: its
    /// state is that of the last real one. Results go to the board; errors are also logged.
    pub async fn check_all(&self) {
        let context = CallContext::system();
        let ncmec = async {
            for client in &self.ncmec {
                if let Err(err) = client.status(&context).await {
                    tracing::warn!("status check ({}): {}", client.environment().key(), err.summary());
                }
            }
        };
        let salesforce = async {
            if let Some(client) = &self.salesforce
                && let Err(err) = client.check(&context).await
            {
                tracing::warn!("status check: {}", err.summary());
            }
        };
        let wiki = async {
            if let Some(client) = &self.wiki
                && let Err(err) = client.check(&context).await
            {
                tracing::warn!("status check: {}", err.summary());
            }
        };
        tokio::join!(ncmec, salesforce, wiki);
    }
}

fn keep<T>(problems: &mut Vec<Problem>, result: Result<T, Problems>) -> Option<T> {
    result.map_err(|found| problems.extend(found.0)).ok()
}

/// What `check-config` checks beyond the config's own shape: the secrets can be read and used,
/// and the configured URLs are ones the policy lets out.
pub fn preflight(
    settings: &ServiceSettings,
    credentials_dir: Option<&Path>,
    policy: &Policy,
) -> Vec<Problem> {
    let mut problems = check_urls(settings, policy);
    if let Some(s) = &settings.lumen {
        keep(&mut problems, LumenClient::read_token(s, credentials_dir));
    }
    if let Some(s) = &settings.ncmec {
        for (environment, account) in s.accounts() {
            keep(&mut problems, NcmecClient::read_credentials(environment, account, credentials_dir));
        }
    }
    if let Some(s) = &settings.salesforce {
        keep(&mut problems, SalesforceClient::read_key(s, credentials_dir));
    }
    if let Some(s) = &settings.wiki {
        keep(&mut problems, WikiClient::read_secrets(s, credentials_dir));
    }
    problems
}

/// One line per service for the home page: what the config points it at.
fn describe(settings: &ServiceSettings, service: Service) -> Option<String> {
    let host = |url: &Url| url.host_str().unwrap_or_default().to_owned();
    match service {
        Service::Lumen => {
            settings.lumen.as_ref().map(|s| format!("{}, checked by each notice sent", host(&s.base_url)))
        }
        Service::Ncmec => settings.ncmec.as_ref().map(|s| {
            let lines: Vec<String> = s
                .accounts()
                .map(|(environment, account)| {
                    let environment = match environment {
                        Environment::Production => "production",
                        Environment::Test => "test (reports are discarded)",
                    };
                    format!(
                        "{environment} environment at {}, account {}",
                        host(&account.base_url),
                        account.username
                    )
                })
                .collect();
            lines.join("; ")
        }),
        Service::Salesforce => settings
            .salesforce
            .as_ref()
            .map(|s| format!("{} via {}, API {}", s.username, host(&s.login_url), s.api_version)),
        Service::Wiki => settings.wiki.as_ref().map(|s| {
            let bot = s.bot.as_ref().map_or("no bot account".to_owned(), |(user, _)| format!("bot {user}"));
            format!("meta wiki {}, staff sign in with OAuth, {bot}", host(&s.meta_api))
        }),
    }
}

/// Each configured URL, as its wire module makes the first request from it, against the policy
/// (a base the wire module cannot use at all is refused here too, not at the first call).
fn check_urls(settings: &ServiceSettings, policy: &Policy) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |service: Service, field: &str, method: Method, url: Result<Url, String>| {
        let verdict = url.and_then(|url| {
            policy
                .check(service, method.as_str(), &url)
                .map(drop)
                .map_err(|denied| format!("the egress policy refuses it: {denied}"))
        });
        if let Err(message) = verdict {
            problems.push(Problem::new(field, message));
        }
    };
    if let Some(s) = &settings.lumen {
        let url = lumen::wire::notices_url(&s.base_url).map_err(|e| e.to_string());
        check(Service::Lumen, "lumen.base_url", Method::POST, url);
    }
    if let Some(s) = &settings.ncmec {
        for (environment, account) in s.accounts() {
            let field = format!("ncmec.{}.base_url", environment.key());
            let url = ncmec::wire::endpoint(&account.base_url, "submit").map_err(|e| e.to_string());
            check(Service::Ncmec, &field, Method::POST, url);
        }
    }
    if let Some(s) = &settings.salesforce {
        let url = salesforce::wire::token_url(&s.login_url);
        check(Service::Salesforce, "salesforce.login_url", Method::POST, Ok(url));
    }
    if let Some(s) = &settings.wiki {
        check(Service::Wiki, "wiki.meta_api", Method::POST, Ok(s.meta_api.clone()));
        let url = wiki::wire::oauth_endpoint(&s.meta_rest, "access_token").map_err(|e| e.to_string());
        check(Service::Wiki, "wiki.meta_rest", Method::POST, url);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretSource;
    use crate::config::services::{LumenSettings, WikiSettings};

    #[test]
    fn a_configured_url_the_policy_or_its_wire_module_refuses_names_its_field() {
        let lumen = |url: &str| ServiceSettings {
            lumen: Some(LumenSettings {
                base_url: Url::parse(url).unwrap(),
                token: SecretSource::File("/nonexistent".into()),
            }),
            ..ServiceSettings::default()
        };
        let policy = Policy::production();
        assert!(check_urls(&lumen("https://lumendatabase.org"), &policy).is_empty());
        let problems = check_urls(&lumen("https://lumen.example.net"), &policy);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].field, "lumen.base_url");
        assert!(problems[0].message.contains("egress policy"), "{}", problems[0]);
        let wiki = ServiceSettings {
            wiki: Some(WikiSettings {
                meta_api: Url::parse("https://meta.wikimedia.org/w/api.php").unwrap(),
                meta_rest: Url::parse("https://meta.wikimedia.org/w/api.php").unwrap(),
                oauth_client_id: "0".into(),
                oauth_client_secret: SecretSource::File("/nonexistent".into()),
                oauth_redirect: Url::parse("https://takedown.example.org/wiki/callback").unwrap(),
                bot: None,
            }),
            ..ServiceSettings::default()
        };
        let problems = check_urls(&wiki, &policy);
        assert_eq!(fields(&problems), ["wiki.meta_rest"], "{problems:#?}");
        assert!(problems[0].message.contains("rest.php"), "{}", problems[0]);
        let problems = preflight(&lumen("https://lumendatabase.org"), None, &policy);
        assert_eq!(fields(&problems), ["lumen.token"], "an unreadable secret is found before serving");
    }

    fn fields(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }
}
