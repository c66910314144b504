//! The configuration: one TOML file, read as a raw table and turned into a typed [`Config`].
//!
//! Every mistake is reported at once, each naming its field and the fix. The files the config
//! names (certificates, keys, CRLs, the roster) are loaded by [`crate::state::Live::load`],
//! which reports its problems in the same form, so `takedown check-config` shows them all.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:443"
//! # header_read_timeout_seconds = 10     # optional, see crate::http::limits
//! # idle_timeout_seconds = 60            # optional
//! # max_connections = 256                # optional
//! # form_budget_kib = 8192               # optional: form bodies held at once, over all requests
//! # worker_threads = 2                   # optional: threads that serve connections
//! # blocking_threads = 8                 # optional: threads for the store and other blocking work
//! # thread_stack_kib = 2048              # optional: each thread's stack
//!
//! [tls]
//! certificate = "tls/server.crt"          # PEM chain, leaf first
//! private_key = { credential = "server.key" }   # or { file = "/etc/takedown/tls/server.key" }
//! staff_ca = "tls/staff-ca.crt"           # the CA that issues staff certificates
//! crls = ["tls/staff.crl"]                # that CA's revocation lists
//!
//! [staff]
//! roster = "roster.toml"
//! access_contact = "the T&S tools team, ts-tools@example.org"
//!
//! [store]
//! data_dir = "/var/lib/takedown"
//! identity = { credential = "store-identity" }   # age identity (AGE-SECRET-KEY-1…)
//! index_key = { credential = "index-key" }       # 64 hex digits
//! escrow_recipients = ["age1…"]                  # legal's offline keys; may be []
//! # audit_head_interval = 1000                   # optional
//! # cache_kib = 8192                             # optional: the store's page cache
//! # checkpoint_key = { credential = "checkpoint-key" }  # optional: signs audit checkpoints
//!
//! [export]
//! legal_recipients = ["age1…"]                   # whom case downloads are encrypted to
//!
//! [egress]
//! contact = "trust-and-safety@example.org"       # in every User-Agent: how the services reach us
//! # policy = "/etc/takedown/egress.toml"         # optional; default: policy/egress.toml, compiled in
//! # trust_roots = "peers-ca.crt"                 # optional; default: the system's roots
//! # resolve = { "lumen.test" = "127.0.0.1" }     # optional static DNS; the address rule still applies
//!
//! # [lumen], [ncmec], [salesforce], [wiki]: see crate::config::services
//! # [hardening]: see crate::config::hardening (optional; the defaults are production's)
//! # [dmca]: see crate::config::dmca (optional; the defaults are Wikimedia's wikis)
//! # [child_protection]: see crate::config::child_protection (optional; both choices off,
//! #                     the watchdog every five minutes)
//! ```

pub mod child_protection;
pub mod dmca;
pub mod hardening;
mod problem;
mod secret;
pub mod services;
pub(crate) mod table;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use child_protection::ChildProtectionSettings;
pub use dmca::DmcaSettings;
pub use hardening::{Enforcement, HardeningSettings};
pub use problem::{Problem, Problems};
pub use secret::SecretSource;
pub use services::ServiceSettings;
use table::Section;

use crate::http::limits;
use crate::store::crypt::AgeRecipient;

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file this was read from; named in messages.
    pub source: PathBuf,
    /// Listening and connection limits.
    pub server: ServerSettings,
    /// The server certificate and how staff certificates are checked.
    pub tls: TlsSettings,
    /// Who the staff are.
    pub staff: StaffSettings,
    /// Where cases and the audit log are kept, and their keys.
    pub store: StoreSettings,
    /// Exports made from the web pages.
    pub export: ExportSettings,
    /// Outbound requests.
    pub egress: EgressSettings,
    /// The external services' endpoints and credentials (each may be left out).
    pub services: ServiceSettings,
    /// Memory locking, Landlock and the media budget.
    pub hardening: HardeningSettings,
    /// The DMCA workflow's wikis and addresses.
    pub dmca: DmcaSettings,
    /// `[child_protection]` (optional; both choices off and the watchdog every five minutes
    /// when left out).
    pub child_protection: ChildProtectionSettings,
}

/// `[egress]`
#[derive(Clone, Debug)]
pub struct EgressSettings {
    /// How the services can reach the operator (an e-mail address or URL), sent in every
    /// User-Agent: Wikimedia refuses clients that give none.
    pub contact: String,
    /// A policy file replacing the compiled-in `policy/egress.toml` (demo and test setups).
    pub policy: Option<PathBuf>,
    /// A PEM file of the only CAs trusted for outbound TLS; default: the system's roots.
    pub trust_roots: Option<PathBuf>,
    /// Static DNS answers (host, address); the post-DNS address rule applies to them too.
    pub resolve: Vec<(String, std::net::IpAddr)>,
}

/// `[export]`
#[derive(Clone, Debug)]
pub struct ExportSettings {
    /// Legal's age recipients: a case export downloaded from its page is encrypted to them
    /// (and only them), so the person downloading it cannot open it.
    pub legal_recipients: Vec<AgeRecipient>,
}

/// `[server]`
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// The address to bind.
    pub listen: SocketAddr,
    /// How long a client may take to send a request's headers before the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a connection may go without a request before it is closed.
    pub idle_timeout: Duration,
    /// Most connections served at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// The most bytes of form bodies held at once, over all requests (`form_budget_kib`).
    pub form_budget_bytes: usize,
    /// The async runtime's worker threads.
    pub worker_threads: usize,
    /// The most threads of the runtime's blocking pool (store transactions, exports).
    pub blocking_threads: usize,
    /// The stack size of every thread the runtime starts, in bytes.
    pub thread_stack_bytes: usize,
}

/// `[tls]`
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// PEM file with the server certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The server's private key.
    pub private_key: SecretSource,
    /// PEM file with the CA certificate(s) that issue staff certificates.
    pub staff_ca: PathBuf,
    /// PEM or DER files with that CA's certificate revocation lists.
    pub crls: Vec<PathBuf>,
}

/// `[staff]`
#[derive(Clone, Debug)]
pub struct StaffSettings {
    /// The roster file (see [`crate::roster`]).
    pub roster: PathBuf,
    /// Whom a person with a valid but unlisted certificate should ask, shown on their 403 page.
    pub access_contact: String,
}

/// Longest timeout accepted: beyond an hour a timeout no longer protects anything.
const MAX_TIMEOUT_SECONDS: u64 = 3600;

/// Most connections accepted as a setting: far above any team's need, and within what one
/// process's file-descriptor limit can hold.
const MAX_CONNECTIONS_LIMIT: u64 = 65_536;

/// The store's page cache by default. The daemon's working set is small (an audit page, a case,
/// the index), and every cached page is locked memory.
pub const STORE_CACHE_BYTES: usize = 8 << 20;

/// Worker threads by default: the appliance serves tens of people; two keep a slow page from
/// stalling the others.
pub const WORKER_THREADS: usize = 2;

/// Blocking-pool threads by default: store transactions and exports at once.
pub const BLOCKING_THREADS: usize = 8;

/// Thread stacks by default (Rust's and tokio's own default).
pub const THREAD_STACK_BYTES: usize = 2 << 20;

/// The smallest thread stack accepted.
const MIN_THREAD_STACK_BYTES: usize = 128 << 10;

/// The most threads of one kind.
const MAX_THREADS: u64 = 256;

/// The largest size in KiB accepted for a buffer or cache (64 GiB).
const MAX_KIB: u64 = 64 << 20;

fn kib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024)).unwrap_or(usize::MAX)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `[store]`
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// The directory of the store file (created `0700` if missing).
    pub data_dir: PathBuf,
    /// The appliance's age identity, which decrypts the store.
    pub identity: SecretSource,
    /// The key of the lookup indexes (64 hex digits).
    pub index_key: SecretSource,
    /// Legal's offline keys: the store's keyring is also encrypted to them, so they open every
    /// value.
    pub escrow_recipients: Vec<AgeRecipient>,
    /// Log the audit head, and sign a checkpoint when a key is configured, every this many
    /// entries.
    pub audit_head_interval: u64,
    /// The Ed25519 key that signs audit checkpoints ([`crate::audit::checkpoint`]); without it
    /// no checkpoint is written.
    pub checkpoint_key: Option<SecretSource>,
    /// The store's page cache in bytes (`cache_kib`): locked memory, so kept small.
    pub cache_bytes: usize,
}

/// How often the audit head is logged by default: often enough that a copy of the log exists
/// outside the store every working day, rarely enough not to drown the log.
pub const AUDIT_HEAD_INTERVAL: u64 = 1000;

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, Problems> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Problems(vec![Problem::new(
                path.display().to_string(),
                match err.kind() {
                    std::io::ErrorKind::NotFound => {
                        "file not found; pass the path of the TOML config".to_owned()
                    }
                    _ => format!("cannot read: {err}"),
                },
            )])
        })?;
        Self::parse(path, &text)
    }

    /// Validates config text; `path` names it and anchors its relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Problems> {
        let label = path.display().to_string();
        let document = table::parse_document(&label, text).map_err(|p| Problems(vec![p]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = Vec::new();
        let mut root = Section::root("", &document);

        let server = root.table("server", &mut problems).and_then(|mut s| {
            let listen = s.string("listen", &mut problems).and_then(|text| {
                text.parse::<SocketAddr>()
                    .map_err(|_| {
                        problems.push(Problem::new(
                            s.field("listen"),
                            format!("{text:?} is not an address; write IP:PORT, e.g. \"0.0.0.0:443\""),
                        ));
                    })
                    .ok()
            });
            let header_read_timeout = s
                .optional_count("header_read_timeout_seconds", MAX_TIMEOUT_SECONDS, &mut problems)
                .map_or(limits::HEADER_READ_TIMEOUT, Duration::from_secs);
            let idle_timeout = s
                .optional_count("idle_timeout_seconds", MAX_TIMEOUT_SECONDS, &mut problems)
                .map_or(limits::IDLE_TIMEOUT, Duration::from_secs);
            let max_connections = s
                .optional_count("max_connections", MAX_CONNECTIONS_LIMIT, &mut problems)
                .map_or(limits::MAX_CONNECTIONS, to_usize);
            let form_budget_bytes = s
                .optional_count("form_budget_kib", MAX_KIB, &mut problems)
                .map_or(limits::FORM_BUDGET_BYTES, kib);
            let worker_threads = s
                .optional_count("worker_threads", MAX_THREADS, &mut problems)
                .map_or(WORKER_THREADS, to_usize);
            let blocking_threads = s
                .optional_count("blocking_threads", MAX_THREADS, &mut problems)
                .map_or(BLOCKING_THREADS, to_usize);
            let thread_stack_bytes =
                s.optional_count("thread_stack_kib", MAX_KIB, &mut problems).map_or(THREAD_STACK_BYTES, kib);
            if thread_stack_bytes < MIN_THREAD_STACK_BYTES {
                problems.push(Problem::new(
                    s.field("thread_stack_kib"),
                    format!(
                        "is below {} KiB, too little for the daemon's threads",
                        MIN_THREAD_STACK_BYTES >> 10
                    ),
                ));
            }
            if form_budget_bytes < limits::MAX_FORM_BODY_BYTES {
                problems.push(Problem::new(
                    s.field("form_budget_kib"),
                    format!(
                        "is below one form body's limit ({} KiB): a full form could never be received",
                        limits::MAX_FORM_BODY_BYTES >> 10
                    ),
                ));
            }
            s.finish(&mut problems);
            Some(ServerSettings {
                listen: listen?,
                header_read_timeout,
                idle_timeout,
                max_connections,
                form_budget_bytes,
                worker_threads,
                blocking_threads,
                thread_stack_bytes,
            })
        });

        let tls = root.table("tls", &mut problems).and_then(|mut s| {
            let certificate = s.path("certificate", base, &mut problems);
            let private_key = s.secret("private_key", base, &mut problems);
            let staff_ca = s.path("staff_ca", base, &mut problems);
            let crls = s.strings("crls", &mut problems).and_then(|paths| {
                // An empty list would switch revocation off without a word: a lost or revoked
                // certificate would keep working.
                if paths.is_empty() {
                    problems.push(Problem::new(
                        s.field("crls"),
                        "is empty, which would turn revocation off; list the staff CA's CRL file(s)",
                    ));
                    return None;
                }
                Some(paths.into_iter().map(|p| base.join(p)).collect::<Vec<_>>())
            });
            s.finish(&mut problems);
            Some(TlsSettings {
                certificate: certificate?,
                private_key: private_key?,
                staff_ca: staff_ca?,
                crls: crls?,
            })
        });

        let staff = root.table("staff", &mut problems).and_then(|mut s| {
            let roster = s.path("roster", base, &mut problems);
            let access_contact = s.string("access_contact", &mut problems).map(str::to_owned);
            s.finish(&mut problems);
            Some(StaffSettings { roster: roster?, access_contact: access_contact? })
        });

        let store = root.table("store", &mut problems).and_then(|mut s| {
            let data_dir = s.path("data_dir", base, &mut problems);
            let identity = s.secret("identity", base, &mut problems);
            let index_key = s.secret("index_key", base, &mut problems);
            let escrow_recipients = recipients(&mut s, "escrow_recipients", &mut problems);
            let audit_head_interval = s
                .optional_count("audit_head_interval", 1_000_000_000, &mut problems)
                .unwrap_or(AUDIT_HEAD_INTERVAL);
            let checkpoint_key = s.optional_secret("checkpoint_key", base, &mut problems);
            let cache_bytes =
                s.optional_count("cache_kib", MAX_KIB, &mut problems).map_or(STORE_CACHE_BYTES, kib);
            s.finish(&mut problems);
            Some(StoreSettings {
                data_dir: data_dir?,
                identity: identity?,
                index_key: index_key?,
                escrow_recipients: escrow_recipients?,
                audit_head_interval,
                checkpoint_key,
                cache_bytes,
            })
        });

        let export = root.table("export", &mut problems).and_then(|mut s| {
            let known_problems = problems.len();
            let legal_recipients = recipients(&mut s, "legal_recipients", &mut problems);
            // An empty list, not a list whose every entry was already refused.
            if legal_recipients.as_ref().is_some_and(Vec::is_empty) && problems.len() == known_problems {
                problems.push(Problem::new(
                    s.field("legal_recipients"),
                    "name at least one age recipient (age1…) of legal counsel; case downloads are encrypted to them",
                ));
            }
            s.finish(&mut problems);
            Some(ExportSettings { legal_recipients: legal_recipients? })
        });

        let egress = root.table("egress", &mut problems).and_then(|mut s| {
            let contact = s.string("contact", &mut problems).and_then(|text| {
                // It goes into a header: a line break would let the config inject headers.
                if text.chars().any(char::is_control) || !text.is_ascii() {
                    problems.push(Problem::new(
                        s.field("contact"),
                        "use printable ASCII only (an e-mail address or URL); it is sent as a header",
                    ));
                    return None;
                }
                Some(text.to_owned())
            });
            let policy = s.optional_string("policy", &mut problems).map(|p| base.join(p));
            let trust_roots = s.optional_string("trust_roots", &mut problems).map(|p| base.join(p));
            let field = s.field("resolve");
            let resolve = s
                .optional_string_map("resolve", &mut problems)
                .into_iter()
                .filter_map(|(host, address)| match address.parse() {
                    Ok(ip) => Some((host.to_ascii_lowercase(), ip)),
                    Err(_) => {
                        problems.push(Problem::new(
                            format!("{field}.{host}"),
                            format!("{address:?} is not an IP address; write e.g. \"127.0.0.1\""),
                        ));
                        None
                    }
                })
                .collect();
            s.finish(&mut problems);
            Some(EgressSettings { contact: contact?, policy, trust_roots, resolve })
        });

        let services = services::parse(&mut root, base, &mut problems);
        let hardening = hardening::parse(&mut root, &mut problems);
        let dmca = dmca::parse(&mut root, &mut problems);
        let child_protection = child_protection::parse(&mut root, &mut problems);

        root.finish(&mut problems);
        match (server, tls, staff, store, export, egress) {
            (Some(server), Some(tls), Some(staff), Some(store), Some(export), Some(egress))
                if problems.is_empty() =>
            {
                Ok(Config {
                    source: path.to_owned(),
                    server,
                    tls,
                    staff,
                    store,
                    export,
                    egress,
                    services,
                    hardening,
                    dmca,
                    child_protection,
                })
            }
            _ => Err(Problems(problems)),
        }
    }
}

impl Config {
    /// The appliance's own origin as staff reach it (`https://takedown.example.org`): from the
    /// wiki OAuth redirect if one is configured (it must be the public address), otherwise
    /// the listening address.
    pub fn public_origin(&self) -> String {
        match &self.services.wiki {
            Some(wiki) => wiki.oauth_redirect.origin().ascii_serialization(),
            None => format!("https://{}", self.server.listen),
        }
    }
}

impl Config {
    /// Every file the config names that the daemon reads (itself included), for the Landlock
    /// profile. Files in `$CREDENTIALS_DIRECTORY` are not listed: that directory is read whole.
    pub fn files_read(&self) -> Vec<PathBuf> {
        let mut files = vec![self.source.clone(), self.tls.certificate.clone(), self.tls.staff_ca.clone()];
        files.extend(self.tls.crls.iter().cloned());
        files.push(self.staff.roster.clone());
        files.extend(self.egress.policy.iter().cloned());
        files.extend(self.egress.trust_roots.iter().cloned());
        let services = &self.services;
        let secrets = [
            Some(&self.tls.private_key),
            Some(&self.store.identity),
            Some(&self.store.index_key),
            self.store.checkpoint_key.as_ref(),
        ]
        .into_iter()
        .chain([
            services.lumen.as_ref().map(|s| &s.token),
            services.ncmec.as_ref().map(|s| &s.account.password),
            services.ncmec.as_ref().and_then(|s| s.other.as_ref().map(|(_, account)| &account.password)),
            services.salesforce.as_ref().map(|s| &s.private_key),
            services.wiki.as_ref().map(|s| &s.oauth_client_secret),
            services.wiki.as_ref().and_then(|s| s.bot.as_ref().map(|(_, password)| password)),
        ])
        .flatten();
        files.extend(secrets.filter_map(|secret| match secret {
            SecretSource::File(path) => Some(path.clone()),
            SecretSource::Credential(_) => None,
        }));
        files
    }
}

/// A list of age recipients; each bad one is a problem under its own index.
fn recipients(
    section: &mut Section<'_>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<Vec<AgeRecipient>> {
    let field = section.field(key);
    section.strings(key, problems).map(|texts| {
        texts
            .into_iter()
            .enumerate()
            .filter_map(|(i, text)| {
                text.parse::<AgeRecipient>()
                    .map_err(|m| problems.push(Problem::new(format!("{field}[{i}]"), m)))
                    .ok()
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[server]
listen = "127.0.0.1:8443"
[tls]
certificate = "server.crt"
private_key = { file = "server.key" }
staff_ca = "/etc/takedown/ca.crt"
crls = ["staff.crl"]
[staff]
roster = "roster.toml"
access_contact = "ts-tools@example.org"
[store]
data_dir = "/var/lib/takedown"
identity = { credential = "store-identity" }
index_key = { file = "index.key" }
escrow_recipients = []
[export]
legal_recipients = ["age1pc4nlnayu84g9gfstk9cw6ghjxj9dqqy9gt4xhvaxxzs2tmf5gnq9fwtwv"]
[egress]
contact = "ts-tools@example.org"
"#;

    #[test]
    fn a_valid_config_resolves_relative_paths_beside_the_file() {
        let config = Config::parse(Path::new("/srv/td/takedown.toml"), VALID).unwrap();
        assert_eq!(config.tls.certificate, Path::new("/srv/td/server.crt"));
        assert_eq!(config.tls.staff_ca, Path::new("/etc/takedown/ca.crt"));
        assert_eq!(config.tls.crls, [PathBuf::from("/srv/td/staff.crl")]);
        assert_eq!(config.server.header_read_timeout, limits::HEADER_READ_TIMEOUT);
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let text = VALID
            .replace("\"127.0.0.1:8443\"", "\"localhost\"")
            .replace("private_key = { file = \"server.key\" }", "private_key = \"inline\"")
            .replace("access_contact = \"ts-tools@example.org\"", "acces_contact = \"x\"");
        let problems = Config::parse(Path::new("t.toml"), &text).unwrap_err().0;
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["server.listen", "tls.private_key", "staff.access_contact", "staff.acces_contact"],
            "{problems:#?}"
        );
    }

    #[test]
    fn the_sample_config_shipped_for_etc_takedown_parses() {
        let text = include_str!("../../systemd/takedown.toml");
        // The sample names no real lawyer, so as shipped it is refused until one is filled in.
        let problems = Config::parse(Path::new("/etc/takedown/takedown.toml"), text).unwrap_err().0;
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].field, "export.legal_recipients[0]");
        let text = text.replace(
            SAMPLE_LAWYER_PLACEHOLDER,
            "age1pc4nlnayu84g9gfstk9cw6ghjxj9dqqy9gt4xhvaxxzs2tmf5gnq9fwtwv",
        );
        let config = Config::parse(Path::new("/etc/takedown/takedown.toml"), &text).unwrap();
        assert_eq!(config.tls.private_key, SecretSource::Credential("server.key".into()));
        assert_eq!(config.staff.roster, Path::new("/etc/takedown/roster.toml"));
    }

    const SAMPLE_LAWYER_PLACEHOLDER: &str = "REPLACE with legal counsel's age1… recipient";

    #[test]
    fn legal_recipients_must_name_at_least_one_valid_key() {
        let empty = VALID.replace(r#"legal_recipients = ["age1"#, r#"legal_recipients = [] # ["age1"#);
        let problems = Config::parse(Path::new("t.toml"), &empty).unwrap_err().0;
        assert_eq!(problems[0].field, "export.legal_recipients", "{problems:#?}");
        let bad = VALID.replace(r#"legal_recipients = ["#, r#"legal_recipients = ["age1nope", "#);
        let problems = Config::parse(Path::new("t.toml"), &bad).unwrap_err().0;
        assert_eq!(problems[0].field, "export.legal_recipients[0]", "{problems:#?}");
        assert!(problems[0].to_string().contains("age-keygen -y"), "{problems:#?}");
    }

    #[test]
    fn limits_out_of_range_are_refused_with_the_range() {
        let text =
            VALID.replace("[server]\n", "[server]\nmax_connections = 0\nidle_timeout_seconds = 99999\n");
        let problems = Config::parse(Path::new("t.toml"), &text).unwrap_err().0;
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "server.idle_timeout_seconds: 99999 is out of range; use 1 to 3600",
                "server.max_connections: 0 is out of range; use 1 to 65536"
            ]
        );
    }

    #[test]
    fn missing_sections_are_each_named() {
        let problems =
            Config::parse(Path::new("t.toml"), "[server]\nlisten = \"0.0.0.0:1\"\n").unwrap_err().0;
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["tls", "staff", "store", "export", "egress"]);
    }
}
