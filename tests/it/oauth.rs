//! Staff wiki accounts connected through OAuth 2, end to end: the real daemon over mTLS, the
//! simulated meta wiki in this process (which approves every consent at once, and whose tokens
//! a test can expire or revoke), what it received read back.

use std::time::Duration;

use takedown::audit::{Action, Actor, Outcome};
use takedown::demo::services::SimulatedServices;
use takedown_peers::PeerService;

use crate::harness::{self, Daemon};

const BOUNDARY: &str = "oauth-test-boundary";

struct World {
    peers: SimulatedServices,
    daemon: Daemon,
}

impl World {
    fn start() -> Self {
        let (peers, daemon) = harness::start_with_simulated_services("oauth", "", &[]);
        World { peers, daemon }
    }

    async fn page(&self, login: &str, path: &str) -> String {
        let response = self.daemon.client(login).get(self.daemon.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    /// Starts connecting `login`'s wiki account (`POST /wiki/connect`) and plays their browser
    /// at the meta wiki's consent page: returns the callback's query string (code and state).
    async fn consent(&self, login: &str) -> String {
        let token = harness::csrf_token(&self.page(login, "/").await);
        let no_redirects = self
            .daemon
            .pki
            .client_builder(login)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = no_redirects
            .post(self.daemon.url("/wiki/connect"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(format!("csrf_token={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{login}");
        let authorize = response.headers()["location"].to_str().unwrap().to_owned();
        let back = harness::consent_at_meta(&self.peers, &authorize).await;
        assert_eq!(back.path(), "/wiki/callback", "{back}");
        back.query().unwrap().to_owned()
    }

    /// `login` presents the callback with `query`: the final status and page.
    async fn callback(&self, login: &str, query: &str) -> (u16, String) {
        let url = self.daemon.url(&format!("/wiki/callback?{query}"));
        let response = self.daemon.client(login).get(url).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Whether `login`'s home page says their wiki account is connected.
    async fn connected(&self, login: &str) -> bool {
        let home = self.page(login, "/").await;
        let connected = home.contains("Connected as ");
        assert_ne!(connected, home.contains("Not connected."), "one or the other: {home}");
        connected
    }

    /// What the meta wiki's token endpoint received, one entry per request.
    fn token_requests(&self) -> Vec<serde_json::Value> {
        self.journal("oauth2/access_token")
    }

    fn journal(&self, endpoint: &str) -> Vec<serde_json::Value> {
        self.peers
            .peers
            .journal(PeerService::Wiki)
            .into_iter()
            .filter(|e| e["endpoint"] == endpoint)
            .collect()
    }

    /// Records a DMCA takedown that only posts wiki notices, as dmca-agent; returns the case
    /// page's path.
    async fn dmca_case(&self) -> String {
        let fields = [
            ("post_wiki_notices", "yes"),
            ("decision", "granted"),
            ("project", "commonswiki"),
            ("sender_name", "Acme Photo LLC"),
            ("sender_country", "US"),
            ("date_sent", "2026-11-20"),
            ("method", "email"),
            ("to", "legal@wikimedia.org"),
            ("from", "counsel@acme.example"),
            ("subject", "Copyright infringement"),
            ("body", "Please remove our photographs."),
            ("involved_users", "UploaderName"),
            ("affected_files", "File:Lighthouse.jpg"),
            ("original_urls", "https://acme.example/lighthouse"),
            ("statement", "taken-down-dmca"),
            ("commons_title", "Acme lighthouse photographs"),
        ];
        let token = harness::csrf_token(&self.page("dmca-agent", "/dmca/new").await);
        let mut body = String::new();
        for (name, value) in [("csrf_token", token.as_str())].into_iter().chain(fields) {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        let response = self
            .daemon
            .client("dmca-agent")
            .post(self.daemon.url("/dmca/new"))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
            .await
            .unwrap();
        let path = response.url().path().to_owned();
        let page = response.text().await.unwrap();
        assert!(path.starts_with("/cases/"), "not sent to the case: {path} {page}");
        path
    }

    /// Posts the case's first wiki notice, as prepared, with dmca-agent's account: the notice's
    /// block on the page that comes back.
    async fn post_first_notice(&self, case: &str) -> String {
        let page = self.page("dmca-agent", case).await;
        let key = page
            .split("data-notice=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no wiki notice on the case page: {page}"))
            .to_owned();
        let text = page
            .split(&format!("data-notice=\"{key}\""))
            .nth(1)
            .and_then(|block| block.split("<textarea name=\"text\"").nth(1))
            .and_then(|rest| rest.split_once('>'))
            .and_then(|(_, rest)| rest.split("</textarea>").next())
            .unwrap_or_else(|| panic!("no text for notice {key}: {page}"))
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf_token", &harness::csrf_token(&page));
        form.append_pair("text", &text);
        let response = self
            .daemon
            .client("dmca-agent")
            .post(self.daemon.url(&format!("{case}/notices/{key}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(form.finish())
            .send()
            .await
            .unwrap();
        let page = response.text().await.unwrap();
        page.split(&format!("data-notice=\"{key}\""))
            .nth(1)
            .and_then(|rest| rest.split("</section>").next())
            .unwrap_or_else(|| panic!("the notice is not on the page that came back: {page}"))
            .to_owned()
    }
}

#[tokio::test]
async fn a_wiki_callback_presented_by_another_staff_member_is_refused_and_keeps_no_grant() {
    let world = World::start();
    // dmca-agent starts connecting; cp-agent, who has started a connection of their own,
    // presents dmca-agent's callback (a copied URL): the state was issued to someone else.
    let theirs = world.consent("dmca-agent").await;
    let _own = world.consent("cp-agent").await;
    let (status, page) = world.callback("cp-agent", &theirs).await;
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("carries a state that this sign-in did not send"), "it says why: {page}");
    assert!(
        page.contains("Start again with &quot;Connect your wiki account&quot;"),
        "and what to do: {page}"
    );
    // Refused before the code was exchanged: the meta wiki's token endpoint heard nothing, so
    // no grant exists to keep, for either person.
    assert!(world.token_requests().is_empty(), "{:?}", world.token_requests());
    assert!(!world.connected("cp-agent").await, "the presenter got no grant");
    assert!(!world.connected("dmca-agent").await, "nor did the person who started");
    let refusal = harness::wait_for_audit(&world.daemon, |e| {
        e.action == Action::ConnectWiki && e.outcome == Outcome::Failed
    });
    assert_eq!(refusal.actor, Actor::Staff("cp-agent".into()), "{refusal:?}");
    assert!(refusal.details.contains("wiki account not connected"), "{refusal:?}");
    // The state stays bound to the person it was issued to: dmca-agent's own authorization is
    // untouched by the refusal, and completes when they present the callback themselves.
    let (status, page) = world.callback("dmca-agent", &theirs).await;
    assert_eq!(status, 200, "{page}");
    assert!(world.connected("dmca-agent").await);
    assert!(!world.connected("cp-agent").await);
    let exchanges = world.token_requests();
    assert_eq!(exchanges.len(), 1, "one code exchanged, by its owner: {exchanges:?}");
    assert_eq!(exchanges[0]["received"]["grant_type"], "authorization_code", "{exchanges:?}");
}

#[tokio::test]
async fn an_expired_wiki_token_is_refreshed_and_the_notice_is_posted_as_the_staff_member() {
    let world = World::start();
    let case = world.dmca_case().await;
    let query = world.consent("dmca-agent").await;
    assert_eq!(world.callback("dmca-agent", &query).await.0, 200);
    // The hour passes at the meta wiki: the access token is refused, its refresh token is not.
    assert!(world.peers.peers.expire_access_tokens(PeerService::Wiki));
    let block = world.post_first_notice(&case).await;
    assert!(block.contains("(revision "), "posted: {block}");
    // One refresh, issued, and the edit saved with the new token as the staff member.
    let refreshes: Vec<serde_json::Value> = world
        .token_requests()
        .into_iter()
        .filter(|e| e["received"]["grant_type"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 1, "{refreshes:?}");
    assert_eq!(refreshes[0]["received"]["outcome"], "issued", "{refreshes:?}");
    assert_eq!(world.peers.peers.snapshot(PeerService::Wiki)["oauth"]["refreshes"], 1);
    let saved: Vec<serde_json::Value> =
        world.journal("action=edit").into_iter().filter(|e| e["received"]["newrevid"].is_u64()).collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0]["received"]["auth"], "oauth", "with the staff member's new token: {saved:?}");
    let account = saved[0]["received"]["user"].as_str().unwrap();
    let home = world.page("dmca-agent", "/").await;
    assert!(
        home.contains(&format!("Connected as <strong>{account}</strong>")),
        "the refreshed grant is kept: {home}"
    );
}

#[tokio::test]
async fn a_wiki_token_at_its_expiry_is_refreshed_before_use_without_the_wiki_refusing_it() {
    let world = World::start();
    let case = world.dmca_case().await;
    // The grant's first token lives a minute: the appliance counts a token expired a minute
    // early, so it must refresh before using it, although the wiki would still take it. The
    // refreshed token lives the usual hour, so the notice's calls all use that one.
    assert!(world.peers.peers.set_token_lifetime(PeerService::Wiki, Duration::from_secs(60)));
    let query = world.consent("dmca-agent").await;
    assert_eq!(world.callback("dmca-agent", &query).await.0, 200);
    assert!(world.peers.peers.set_token_lifetime(PeerService::Wiki, Duration::from_secs(3600)));
    let block = world.post_first_notice(&case).await;
    assert!(block.contains("(revision "), "posted: {block}");
    let refreshes: Vec<serde_json::Value> = world
        .token_requests()
        .into_iter()
        .filter(|e| e["received"]["grant_type"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 1, "refreshed once, before use: {refreshes:?}");
    assert_eq!(refreshes[0]["received"]["outcome"], "issued", "{refreshes:?}");
    // Ahead of time: the wiki never had to refuse a token.
    let refused: Vec<serde_json::Value> = world
        .peers
        .peers
        .journal(PeerService::Wiki)
        .into_iter()
        .filter(|e| e["received"]["error"] == "mwoauth-invalid-authorization")
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let saved: Vec<serde_json::Value> =
        world.journal("action=edit").into_iter().filter(|e| e["received"]["newrevid"].is_u64()).collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0]["received"]["auth"], "oauth", "{saved:?}");
}

#[tokio::test]
async fn a_wiki_grant_whose_refresh_is_refused_is_dropped_and_nothing_is_posted() {
    let world = World::start();
    let case = world.dmca_case().await;
    let query = world.consent("dmca-agent").await;
    assert_eq!(world.callback("dmca-agent", &query).await.0, 200);
    assert!(world.connected("dmca-agent").await);
    // The staff member withdraws the grant at the meta wiki: the token and its refresh are
    // refused from now on.
    assert!(world.peers.peers.revoke_oauth_grants(PeerService::Wiki));
    let block = world.post_first_notice(&case).await;
    assert!(!block.contains("(revision "), "nothing posted: {block}");
    assert!(block.starts_with(" class=\"failed\""), "the notice is failed: {block}");
    assert!(block.contains("sign in again"), "it says what to do: {block}");
    let refreshes: Vec<serde_json::Value> = world
        .token_requests()
        .into_iter()
        .filter(|e| e["received"]["grant_type"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 1, "one refresh tried, not repeated: {refreshes:?}");
    assert_eq!(refreshes[0]["received"]["outcome"], "invalid_grant", "{refreshes:?}");
    assert!(world.journal("action=edit").is_empty(), "no edit was sent");
    // The refused grant is dropped: the home page asks the staff member to connect again.
    assert!(!world.connected("dmca-agent").await, "the refused grant is dropped");
}
