//! The simulated services for the demo and the tests: starts the peers of `takedown-peers`
//! behind a throw-away CA, and writes what points the appliance at them — that CA as the only
//! trust root, an egress policy naming their loopback ports, and static DNS answers for their
//! made-up `.test` host names.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use takedown_peers::{Credentials, Options, PeerService, Peers};

use super::DemoError;
use crate::egress::policy::{Policy, Service};
use crate::pki::{self, Authority, Validity};

/// The host names each simulated service answers to (all resolve to 127.0.0.1).
/// [`UNLISTED_WIKI_HOST`] is under the wiki domain but not in the simulated site matrix: the
/// tests type it as an "Other" project to show that no credential is sent to it.
pub const HOSTS: [(PeerService, &[&str]); 4] = [
    (PeerService::Lumen, &["lumen.test"]),
    (PeerService::Ncmec, &["ncmec.test"]),
    (PeerService::Salesforce, &["login.salesforce.test", "example.my.salesforce.test"]),
    (
        PeerService::Wiki,
        &["meta.wiki.test", "commons.wiki.test", "en.wiki.test", "foundation.wiki.test", UNLISTED_WIKI_HOST],
    ),
];

/// A simulated wiki host that the site matrix does not list (see [`HOSTS`]).
pub const UNLISTED_WIKI_HOST: &str = "unlisted.wiki.test";

/// The Salesforce instance host the simulated token endpoint hands out.
pub const SALESFORCE_INSTANCE: &str = "example.my.salesforce.test";

/// The simulated wiki's OAuth 2 consumer: a client id looks like meta's (32 hex digits).
pub const WIKI_OAUTH_CLIENT_ID: &str = "0d3b1ab2c4e5f60718293a4b5c6d7e8f";

/// The made-up credentials both sides use.
pub fn credentials(salesforce_public_key_der: Vec<u8>) -> Credentials {
    Credentials {
        lumen_submitter_tokens: vec!["demo-lumen-submitter-token".into()],
        lumen_other_tokens: vec!["demo-lumen-reader-token".into()],
        ncmec_user: ("demo-esp".into(), "demo-ncmec-password".into()),
        salesforce_client_id: "demo-consumer-key".into(),
        salesforce_username: "takedown@example.org.demo".into(),
        salesforce_public_key_der,
        wiki_oauth_client: (WIKI_OAUTH_CLIENT_ID.into(), "demo-oauth-secret".into()),
        wiki_bot_passwords: vec![("TakedownBot@takedown".into(), "0123456789abcdefghijklmnopqrstuv".into())],
        wiki_users: vec!["Dana Mercer (WMF)".into(), "UploaderName".into(), "Another Uploader".into()],
    }
}

/// The running simulated services and the files that point the appliance at them.
pub struct SimulatedServices {
    /// The peers (stopped when this is dropped).
    pub peers: Peers,
    /// The CA that signed the peers' certificate (the appliance's only trust root in the demo).
    pub ca_path: PathBuf,
    /// The policy file allowing the peers' ports.
    pub policy_path: PathBuf,
}

/// The made-up secrets the appliance's config names, written into `peers/secrets/` (mode 0600).
pub const SECRET_FILES: [(&str, &str); 4] = [
    ("lumen-token", "demo-lumen-submitter-token"),
    ("ncmec-password", "demo-ncmec-password"),
    ("wiki-oauth-secret", "demo-oauth-secret"),
    ("wiki-bot-password", "0123456789abcdefghijklmnopqrstuv"),
];

impl SimulatedServices {
    /// Starts the peers, journalling to `dir/peers/`, and writes `dir/peers/{ca.crt,egress.toml}`
    /// and the appliance's side of the made-up credentials in `dir/peers/secrets/`: the
    /// Salesforce peer trusts a fresh RSA key whose private half goes to
    /// `secrets/salesforce-jwt.key`.
    pub fn start(dir: &Path) -> Result<SimulatedServices, DemoError> {
        let peers_dir = dir.join("peers");
        pki::create_private_dir(&peers_dir)?;
        let authority = Authority::create("Takedown simulated services CA", Validity::days_from_now(2))?;
        let names: Vec<&str> = HOSTS.iter().flat_map(|(_, hosts)| hosts.iter().copied()).collect();
        let server = authority.issue_server(&names, Validity::days_from_now(1))?;
        let signing = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| DemoError::Peers("cannot generate an RSA key".into()))?;
        let public = signing
            .public_key()
            .as_der()
            .map_err(|_| DemoError::Peers("cannot encode the RSA key".into()))?;
        let options = Options {
            dir: dir.to_owned(),
            certificate_pem: server.certificate_pem.clone(),
            key_pem: server.key_pem.to_string(),
            credentials: credentials(public.as_ref().to_vec()),
            salesforce_instance_host: SALESFORCE_INSTANCE.into(),
            ncmec_open_for: Duration::from_secs(24 * 3600),
            ncmec_idle_for: Duration::from_secs(3600),
            control: true,
        };
        let peers = Peers::start(options).map_err(|err| DemoError::Peers(err.to_string()))?;
        let secrets = peers_dir.join("secrets");
        pki::create_private_dir(&secrets)?;
        for (name, value) in SECRET_FILES {
            pki::write_private(&secrets.join(name), value.as_bytes())?;
        }
        let private = AsDer::<Pkcs8V1Der<'_>>::as_der(&signing)
            .map_err(|_| DemoError::Peers("cannot encode the RSA key".into()))?;
        let pem = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_types::PrivatePkcs8KeyDer::from(private.as_ref()),
            &rcgen::PKCS_RSA_SHA256,
        )
        .map_err(|err| DemoError::Peers(format!("cannot write the RSA key as PEM: {err}")))?
        .serialize_pem();
        pki::write_private(&secrets.join("salesforce-jwt.key"), pem.as_bytes())?;
        let services = SimulatedServices {
            peers,
            ca_path: peers_dir.join("ca.crt"),
            policy_path: peers_dir.join("egress.toml"),
        };
        pki::write_public(&services.ca_path, authority.certificate_pem().as_bytes())?;
        pki::write_public(&services.policy_path, services.policy_text(60, 8 << 20).as_bytes())?;
        Ok(services)
    }

    /// An egress policy for the peers: the production policy's paths and methods, their
    /// `.test` hosts and loopback ports, non-global addresses allowed, and the given limits.
    pub fn policy_text(&self, timeout_seconds: u64, max_response_bytes: u64) -> String {
        let production = Policy::production();
        let mut text = String::from(
            "# Written by the demo for its simulated services: loopback ports, made-up hosts.\n\
             # Never use it in production: it allows non-global addresses.\n",
        );
        for (service, hosts) in HOSTS {
            let name = service.name();
            let (paths, methods) = production
                .rule(egress_service(service))
                .map(|rule| (rule.paths().to_vec(), rule.methods().to_vec()))
                .unwrap_or_default();
            let quoted =
                |items: &[String]| items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", ");
            let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
            text.push_str(&format!(
                "\n[[service]]\nname = \"{name}\"\nhosts = [{}]\nports = [{}]\npaths = [{}]\nmethods = [{}]\n\
                 max_response_bytes = {max_response_bytes}\ntimeout_seconds = {timeout_seconds}\n\
                 allow_non_global_addresses = true\n",
                quoted(&hosts),
                self.peers.address(service).port(),
                quoted(&paths),
                quoted(&methods),
            ));
        }
        text
    }

    /// The `[egress]` section pointing the appliance at the peers, for a config file in the
    /// directory the services were started in (its paths are relative to that directory).
    pub fn egress_section(&self, contact: &str) -> String {
        let resolve: Vec<String> = HOSTS
            .iter()
            .flat_map(|(_, hosts)| hosts.iter())
            .map(|host| format!("\"{host}\" = \"{}\"", IpAddr::V4(Ipv4Addr::LOCALHOST)))
            .collect();
        format!(
            "[egress]\ncontact = \"{contact}\"\npolicy = \"peers/egress.toml\"\n\
             trust_roots = \"peers/ca.crt\"\nresolve = {{ {} }}\n",
            resolve.join(", ")
        )
    }

    /// The `[lumen]`, `[ncmec]`, `[salesforce]` and `[wiki]` sections pointing the appliance at
    /// the peers with the made-up credentials, for a config in the directory the services were
    /// started in. `origin` is the appliance's own address (`https://127.0.0.1:8443`): the wiki
    /// sends staff back to its `/wiki/callback`.
    pub fn service_sections(&self, origin: &str) -> String {
        let credentials = credentials(Vec::new());
        let (ncmec_user, _) = &credentials.ncmec_user;
        let (bot_user, _) = &credentials.wiki_bot_passwords[0];
        let wiki = self.base_url(PeerService::Wiki);
        format!(
            "[lumen]\nbase_url = \"{lumen}\"\ntoken = {{ file = \"peers/secrets/lumen-token\" }}\n\n\
             [ncmec]\nenvironment = \"test\"\n[ncmec.test]\nbase_url = \"{ncmec}/ispws\"\nusername = \"{ncmec_user}\"\n\
             password = {{ file = \"peers/secrets/ncmec-password\" }}\n\n\
             [salesforce]\nlogin_url = \"{salesforce}\"\naudience = \"https://login.salesforce.com\"\n\
             client_id = \"{client_id}\"\nusername = \"{sf_user}\"\n\
             private_key = {{ file = \"peers/secrets/salesforce-jwt.key\" }}\napi_version = \"67.0\"\n\
             case_external_id_field = \"Takedown_Case__c\"\n\n\
             [wiki]\nmeta_api = \"{wiki}/w/api.php\"\nmeta_rest = \"{wiki}/w/rest.php\"\n\
             oauth_client_id = \"{oauth_client}\"\noauth_client_secret = {{ file = \"peers/secrets/wiki-oauth-secret\" }}\n\
             oauth_redirect = \"{origin}/wiki/callback\"\nbot_user = \"{bot_user}\"\n\
             bot_password = {{ file = \"peers/secrets/wiki-bot-password\" }}\n\n\
             [dmca]\nwiki_domains = [\"wiki.test\"]\n\
             commons_api = \"https://commons.wiki.test:{wiki_port}/w/api.php\"\n\
             foundation_api = \"https://foundation.wiki.test:{wiki_port}/w/api.php\"\n",
            lumen = self.base_url(PeerService::Lumen),
            ncmec = self.base_url(PeerService::Ncmec),
            salesforce = self.base_url(PeerService::Salesforce),
            client_id = credentials.salesforce_client_id,
            sf_user = credentials.salesforce_username,
            oauth_client = credentials.wiki_oauth_client.0,
            wiki_port = self.peers.address(PeerService::Wiki).port(),
        )
    }

    /// The base URL of a service as the appliance addresses it (`https://lumen.test:PORT`).
    pub fn base_url(&self, service: PeerService) -> String {
        let host = HOSTS.iter().find(|(s, _)| *s == service).map_or("localhost", |(_, hosts)| hosts[0]);
        format!("https://{host}:{}", self.peers.address(service).port())
    }
}

/// The appliance's name for a simulated service (the peers crate has its own enum: it shares no
/// code with the appliance).
pub fn egress_service(peer: PeerService) -> Service {
    match peer {
        PeerService::Lumen => Service::Lumen,
        PeerService::Ncmec => Service::Ncmec,
        PeerService::Salesforce => Service::Salesforce,
        PeerService::Wiki => Service::Wiki,
    }
}
