//! The egress allowlist: for each external service, the scheme (always https), hosts, ports,
//! path prefixes and methods a request may use, and the limits on its response. Read from the
//! reviewed file `policy/egress.toml` (compiled into the binary as [`PRODUCTION`]); demo and test
//! policies are the same format.
//!
//! Pure: text in, a typed [`Policy`] or every problem out; (service, method, URL) in, the rule
//! that allows it or a typed [`Denied`] out.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use url::{Host, Url};

use crate::config::table::{Section, parse_document};
use crate::config::{Problem, Problems};

/// The reviewed production policy, as committed in `policy/egress.toml`.
pub const PRODUCTION: &str = include_str!("../../policy/egress.toml");

/// The services the appliance talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// The Lumen Database (DMCA notices).
    Lumen,
    /// NCMEC's CyberTipline reporting API.
    Ncmec,
    /// Salesforce (the CRM case).
    Salesforce,
    /// Wikimedia's wikis (MediaWiki Action API, OAuth).
    Wiki,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 4] = [Service::Lumen, Service::Ncmec, Service::Salesforce, Service::Wiki];

    /// The name used in the policy file, the audit log and messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Lumen => "lumen",
            Service::Ncmec => "ncmec",
            Service::Salesforce => "salesforce",
            Service::Wiki => "wiki",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Service {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Service::ALL.into_iter().find(|s| s.name() == text).ok_or_else(|| {
            format!("{text:?} is not a service; the services are lumen, ncmec, salesforce and wiki")
        })
    }
}

/// How a host is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostRule {
    /// This name or IP address exactly.
    Exact(String),
    /// Any name under this domain (stored with its leading dot), not the domain itself.
    Under(String),
}

impl HostRule {
    fn parse(text: &str) -> Result<HostRule, String> {
        let lower = text.to_ascii_lowercase();
        if let Ok(ip) = lower.parse::<IpAddr>() {
            return Ok(HostRule::Exact(ip.to_string()));
        }
        // Compare with what the URL parser will make of a request's host: a name it would read
        // as an IP address (127.0.0.01, 0x7f.1, 2130706433) could never match as written.
        match Host::parse(&lower) {
            Ok(Host::Domain(_)) => {}
            Ok(ip) => return Err(format!("{text:?} is an IP address written unusually; write it as {ip}")),
            Err(_) => {}
        }
        let (name, under) = match lower.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (lower.as_str(), false),
        };
        let labels: Vec<&str> = name.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !labels.iter().all(label_ok) {
            return Err(format!(
                "{text:?} is not a host name; write it like en.wikipedia.org, or *.wikipedia.org for every \
                 name under a domain (internationalised names in their xn-- form)"
            ));
        }
        if under && labels.len() < 2 {
            return Err(format!("{text:?} covers a whole top-level domain; name the organisation's domain"));
        }
        Ok(if under { HostRule::Under(format!(".{name}")) } else { HostRule::Exact(name.to_owned()) })
    }

    fn allows(&self, host: &str) -> bool {
        match self {
            HostRule::Exact(exact) => host == exact,
            HostRule::Under(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostRule::Exact(host) => f.write_str(host),
            HostRule::Under(suffix) => write!(f, "*{suffix}"),
        }
    }
}

/// What one service may do.
#[derive(Clone, Debug)]
pub struct ServiceRule {
    /// The service.
    pub service: Service,
    hosts: Vec<HostRule>,
    ports: Vec<u16>,
    paths: Vec<String>,
    methods: Vec<String>,
    /// The largest response body read; more is an error.
    pub max_response_bytes: u64,
    /// The longest a whole exchange may take.
    pub timeout: Duration,
    /// Whether DNS may resolve to a non-global address (demo and tests only).
    pub allow_non_global_addresses: bool,
}

impl ServiceRule {
    /// The allowed path prefixes, as written.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The allowed methods.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// A request this rule allows, built from its first exact host, port, path and method (for
    /// the fuzz invariant that a parsed policy allows what it names); `None` if it names only
    /// `*.` hosts.
    pub(crate) fn example_request(&self) -> Option<(String, Url)> {
        let host = self.hosts.iter().find_map(|h| match h {
            HostRule::Exact(host) if host.contains(':') => Some(format!("[{host}]")),
            HostRule::Exact(host) => Some(host.clone()),
            HostRule::Under(_) => None,
        })?;
        let path = self.paths.first()?;
        let url = format!("https://{host}:{}{path}", self.ports.first()?);
        Some((self.methods.first()?.clone(), Url::parse(&url).ok()?))
    }
}

/// Why a request may not leave. Every variant names the service.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The policy has no rule for the service.
    #[error("{0}: the egress policy has no rule for this service, so nothing may be sent to it")]
    NoRule(Service),
    /// Not https.
    #[error("{0}: scheme {1} refused; only https leaves the appliance")]
    Scheme(Service, String),
    /// The URL carries a user name, password or fragment (credentials go in headers).
    #[error("{0}: a URL with a user name, password or fragment is refused")]
    UrlParts(Service),
    /// The host is not allowed.
    #[error("{0}: host {1} is not in the egress policy")]
    Host(Service, String),
    /// The port is not allowed.
    #[error("{0}: port {1} is not in the egress policy")]
    Port(Service, u16),
    /// The path is not allowed, or is written in a way that could mean another path.
    #[error("{0}: path {1} is not in the egress policy")]
    Path(Service, String),
    /// The method is not allowed.
    #[error("{0}: method {1} is not in the egress policy")]
    Method(Service, String),
}

impl Denied {
    /// The service the request was for.
    pub fn service(&self) -> Service {
        match self {
            Denied::NoRule(s)
            | Denied::Scheme(s, _)
            | Denied::UrlParts(s)
            | Denied::Host(s, _)
            | Denied::Port(s, _)
            | Denied::Path(s, _)
            | Denied::Method(s, _) => *s,
        }
    }
}

/// The whole allowlist.
#[derive(Clone, Debug)]
pub struct Policy {
    rules: Vec<ServiceRule>,
}

/// Methods a rule may name.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

impl Policy {
    /// Reads a policy file; `label` names it in problems. Every mistake is reported at once.
    pub fn parse(label: &str, text: &str) -> Result<Policy, Problems> {
        let mut problems = Vec::new();
        let document = parse_document(label, text).map_err(|p| Problems(vec![p]))?;
        let mut root = Section::root("", &document);
        let mut rules: Vec<ServiceRule> = Vec::new();
        for mut section in root.tables("service", &mut problems) {
            if let Some(rule) = read_rule(&mut section, &mut problems) {
                if rules.iter().any(|r| r.service == rule.service) {
                    problems.push(Problem::new(
                        section.field("name"),
                        format!("{} has a rule already; keep one rule per service", rule.service),
                    ));
                } else {
                    rules.push(rule);
                }
            }
            section.finish(&mut problems);
        }
        root.finish(&mut problems);
        if rules.is_empty() && problems.is_empty() {
            problems.push(Problem::new("service", "no [[service]] rules; the policy would allow nothing"));
        }
        if problems.is_empty() { Ok(Policy { rules }) } else { Err(Problems(problems)) }
    }

    /// The committed production policy.
    pub fn production() -> Policy {
        Policy::parse("policy/egress.toml", PRODUCTION).expect("policy/egress.toml is checked by a unit test")
    }

    /// Every TCP port some rule allows, for the Landlock profile's connect rules.
    pub fn ports(&self) -> std::collections::BTreeSet<u16> {
        self.rules.iter().flat_map(|rule| rule.ports.iter().copied()).collect()
    }

    /// The rule for `service`, if the policy has one.
    pub fn rule(&self, service: Service) -> Option<&ServiceRule> {
        self.rules.iter().find(|r| r.service == service)
    }

    /// Checks one request before it is sent: the rule that allows it, or why not.
    pub fn check(&self, service: Service, method: &str, url: &Url) -> Result<&ServiceRule, Denied> {
        let rule = self.rule(service).ok_or(Denied::NoRule(service))?;
        if url.scheme() != "https" {
            return Err(Denied::Scheme(service, url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(Denied::UrlParts(service));
        }
        let host = match url.host() {
            Some(Host::Domain(name)) => name.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => String::new(),
        };
        if !rule.hosts.iter().any(|h| h.allows(&host)) {
            return Err(Denied::Host(service, host));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        if !rule.ports.contains(&port) {
            return Err(Denied::Port(service, port));
        }
        let path = url.path();
        // A server may decode %2F to "/" or "\" to "/": a path that could mean another path is
        // not ours to guess about.
        let ambiguous = path.contains("//")
            || path.contains('\\')
            || ["%2f", "%5c", "%2e"].iter().any(|e| path.to_ascii_lowercase().contains(e));
        let allowed = rule
            .paths
            .iter()
            .any(|p| if p.ends_with('/') { path.starts_with(p.as_str()) } else { path == p });
        if ambiguous || !allowed {
            return Err(Denied::Path(service, path.to_owned()));
        }
        if !rule.methods.iter().any(|m| m == method) {
            return Err(Denied::Method(service, method.to_owned()));
        }
        Ok(rule)
    }
}

fn read_rule(section: &mut Section<'_>, problems: &mut Vec<Problem>) -> Option<ServiceRule> {
    let service = section.string("name", problems).and_then(|name| {
        name.parse::<Service>().map_err(|m| problems.push(Problem::new(section.field("name"), m))).ok()
    });
    let hosts = each(section, "hosts", problems, HostRule::parse);
    let ports = section
        .counts("ports", u64::from(u16::MAX), problems)
        .map(|ports| ports.into_iter().filter_map(|p| u16::try_from(p).ok()).collect::<Vec<u16>>());
    let paths = each(section, "paths", problems, |path| {
        if path.starts_with('/') && !path.contains("..") && !path.contains("//") && !path.contains('%') {
            Ok(path.to_owned())
        } else {
            Err(format!("{path:?} is not a path prefix; start it with / and use no .., // or %"))
        }
    });
    let methods = each(section, "methods", problems, |method| {
        if METHODS.contains(&method) {
            Ok(method.to_owned())
        } else {
            Err(format!("{method:?} is not a method here; use {}", METHODS.join(", ")))
        }
    });
    let max_response_bytes =
        section.optional_count("max_response_bytes", 1 << 30, problems).unwrap_or(1 << 20);
    let timeout =
        Duration::from_secs(section.optional_count("timeout_seconds", 3600, problems).unwrap_or(60));
    let allow_non_global_addresses =
        section.optional_bool("allow_non_global_addresses", problems).unwrap_or(false);
    Some(ServiceRule {
        service: service?,
        hosts: hosts?,
        ports: ports?,
        paths: paths?,
        methods: methods?,
        max_response_bytes,
        timeout,
        allow_non_global_addresses,
    })
}

/// A required, non-empty list of strings, each turned into a `T` by `parse`; each bad entry is a
/// problem under its own index.
fn each<T>(
    section: &mut Section<'_>,
    key: &str,
    problems: &mut Vec<Problem>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<Vec<T>> {
    let field = section.field(key);
    let texts = section.strings(key, problems)?;
    if texts.is_empty() {
        problems.push(Problem::new(field, "is empty; list at least one"));
        return None;
    }
    let before = problems.len();
    let parsed: Vec<T> = texts
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            parse(text).map_err(|m| problems.push(Problem::new(format!("{field}[{i}]"), m))).ok()
        })
        .collect();
    (problems.len() == before).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_committed_policy_parses_and_names_every_service() {
        let policy = Policy::production();
        for service in Service::ALL {
            let rule = policy.rule(service).unwrap_or_else(|| panic!("no rule for {service}"));
            assert!(!rule.allow_non_global_addresses, "production never allows non-global addresses");
        }
    }

    #[test]
    fn requests_inside_the_policy_pass_and_each_part_outside_is_named() {
        let policy = Policy::production();
        let (wiki, ncmec) = (Service::Wiki, Service::Ncmec);
        assert!(policy.check(wiki, "POST", &url("https://en.wikipedia.org/w/api.php")).is_ok());
        assert!(
            policy
                .check(wiki, "GET", &url("https://meta.wikimedia.org/w/rest.php/oauth2/authorize?x=1"))
                .is_ok()
        );
        assert!(policy.check(ncmec, "POST", &url("https://exttest.cybertip.org/ispws/submit")).is_ok());
        let denied = |service, method, text: &str| policy.check(service, method, &url(text)).unwrap_err();
        let cases = [
            (wiki, "GET", "http://en.wikipedia.org/w/api.php", Denied::Scheme(wiki, "http".into())),
            (wiki, "GET", "https://wikipedia.org/w/api.php", Denied::Host(wiki, "wikipedia.org".into())),
            (
                wiki,
                "GET",
                "https://en.wikipedia.org.evil.example/w/api.php",
                Denied::Host(wiki, "en.wikipedia.org.evil.example".into()),
            ),
            (
                wiki,
                "GET",
                "https://evilwikipedia.org/w/api.php",
                Denied::Host(wiki, "evilwikipedia.org".into()),
            ),
            (wiki, "GET", "https://en.wikipedia.org:8443/w/api.php", Denied::Port(wiki, 8443)),
            (wiki, "GET", "https://en.wikipedia.org/w/index.php", Denied::Path(wiki, "/w/index.php".into())),
            (wiki, "GET", "https://en.wikipedia.org/w/api.php/x", Denied::Path(wiki, "/w/api.php/x".into())),
            (wiki, "DELETE", "https://en.wikipedia.org/w/api.php", Denied::Method(wiki, "DELETE".into())),
            (ncmec, "POST", "https://report.cybertip.org/ispws/submit#x", Denied::UrlParts(ncmec)),
            (ncmec, "POST", "https://u:p@report.cybertip.org/ispws/submit", Denied::UrlParts(ncmec)),
            (
                ncmec,
                "GET",
                "https://en.wikipedia.org/w/api.php",
                Denied::Host(ncmec, "en.wikipedia.org".into()),
            ),
        ];
        for (service, method, text, expected) in cases {
            assert_eq!(denied(service, method, text), expected, "{method} {text}");
        }
        // Dot segments are resolved by the URL parser before the check; encoded ones are refused.
        assert!(matches!(
            denied(wiki, "GET", "https://en.wikipedia.org/w/rest.php/oauth2/../../index.php"),
            Denied::Path(..)
        ));
        assert!(matches!(
            denied(wiki, "GET", "https://en.wikipedia.org/w/rest.php/oauth2/%2e%2e%2fx"),
            Denied::Path(..)
        ));
        assert!(matches!(
            denied(wiki, "GET", "https://en.wikipedia.org/w/rest.php/oauth2/a%2Fb"),
            Denied::Path(..)
        ));
        let empty = Policy::parse("t", "[[service]]\nname = \"lumen\"\nhosts = [\"lumendatabase.org\"]\nports = [443]\npaths = [\"/notices\"]\nmethods = [\"POST\"]\n").unwrap();
        assert_eq!(denied_in(&empty, Service::Wiki), Denied::NoRule(Service::Wiki));
        // Scheme and host are compared as the URL parser normalises them (lower case).
        assert!(policy.check(wiki, "GET", &url("HTTPS://EN.Wikipedia.ORG/w/api.php")).is_ok());
    }

    fn denied_in(policy: &Policy, service: Service) -> Denied {
        policy.check(service, "GET", &url("https://en.wikipedia.org/w/api.php")).unwrap_err()
    }

    #[test]
    fn every_mistake_in_a_policy_is_named_by_its_field() {
        let text = "[[service]]\nname = \"lumn\"\nhosts = [\"*.org\", \"ok.example.org\", \"bad host\"]\n\
                    ports = [0]\npaths = [\"notices\", \"/a/../b\"]\nmethods = [\"TRACE\"]\nextra = 1\n";
        let problems = Policy::parse("t", text).unwrap_err().0;
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "service[0].name",
                "service[0].hosts[0]",
                "service[0].hosts[2]",
                "service[0].ports[0]",
                "service[0].paths[0]",
                "service[0].paths[1]",
                "service[0].methods[0]",
                "service[0].extra"
            ],
            "{problems:#?}"
        );
        assert!(Policy::parse("t", "").is_err(), "an empty policy allows nothing and says so");
        let twice = format!(
            "{0}{0}",
            "[[service]]\nname = \"lumen\"\nhosts = [\"a.example\"]\nports = [443]\npaths = [\"/\"]\nmethods = [\"GET\"]\n"
        );
        assert!(Policy::parse("t", &twice).unwrap_err().0[0].message.contains("one rule per service"));
    }

    #[test]
    fn ip_literals_match_only_when_named() {
        let odd = "[[service]]\nname = \"ncmec\"\nhosts = [\"127.0.0.01\"]\nports = [1]\npaths = [\"/\"]\nmethods = [\"GET\"]\n";
        let problems = Policy::parse("t", odd).unwrap_err().0;
        assert!(problems[0].message.contains("write it as 127.0.0.1"), "{problems:#?}");
        let text = "[[service]]\nname = \"ncmec\"\nhosts = [\"127.0.0.1\", \"::1\"]\nports = [9443]\npaths = [\"/ispws/\"]\n\
                    methods = [\"POST\"]\nallow_non_global_addresses = true\n";
        let policy = Policy::parse("demo", text).unwrap();
        assert!(policy.check(Service::Ncmec, "POST", &url("https://127.0.0.1:9443/ispws/submit")).is_ok());
        assert!(policy.check(Service::Ncmec, "POST", &url("https://[::1]:9443/ispws/submit")).is_ok());
        assert!(policy.check(Service::Ncmec, "POST", &url("https://127.0.0.2:9443/ispws/submit")).is_err());
        assert!(policy.rule(Service::Ncmec).unwrap().allow_non_global_addresses);
    }
}
