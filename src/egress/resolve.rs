//! DNS for the egress client, with the address rule applied to every answer.
//!
//! The policy allows names; DNS decides where a name leads. An answer pointing at loopback, a
//! private network or any other non-global address (see [`super::address`]) is dropped unless
//! the service's rule allows such addresses (demo and test policies only); if nothing is left,
//! the request fails with [`NonGlobalAnswer`] before any connection is opened. Static answers
//! from `[egress] resolve` go through the same rule.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::is_global;

/// The resolver of one service's client.
#[derive(Clone)]
pub(crate) struct CheckedResolver {
    /// Whether non-global addresses may be used (from the service's rule).
    pub(crate) allow_non_global: bool,
    /// Static answers by lower-case host name.
    pub(crate) fixed: Arc<HashMap<String, Vec<IpAddr>>>,
}

/// A DNS answer that held only addresses the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolved only to non-global addresses ({addresses}); the egress policy refuses them")]
pub struct NonGlobalAnswer {
    /// The name that was looked up.
    pub host: String,
    /// What DNS answered, comma-separated.
    pub addresses: String,
}

impl CheckedResolver {
    /// Keeps the addresses the rule allows; an error if none is left.
    pub(crate) fn admit(&self, host: &str, answer: Vec<IpAddr>) -> Result<Vec<IpAddr>, NonGlobalAnswer> {
        let admitted: Vec<IpAddr> =
            answer.iter().copied().filter(|ip| self.allow_non_global || is_global(*ip)).collect();
        if admitted.is_empty() {
            let addresses = answer.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            return Err(NonGlobalAnswer { host: host.to_owned(), addresses });
        }
        Ok(admitted)
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let answer = match this.fixed.get(&host) {
                Some(fixed) => fixed.clone(),
                // Port 0: the connector puts the URL's port on each address.
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect(),
            };
            let admitted = this.admit(&host, answer)?;
            let addrs: Addrs = Box::new(admitted.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(allow_non_global: bool) -> CheckedResolver {
        CheckedResolver { allow_non_global, fixed: Arc::new(HashMap::new()) }
    }

    #[test]
    fn private_answers_are_dropped_and_an_all_private_answer_is_refused() {
        let private: IpAddr = "10.1.2.3".parse().unwrap();
        let public: IpAddr = "198.35.26.96".parse().unwrap();
        assert_eq!(resolver(false).admit("a.example", vec![private, public]).unwrap(), [public]);
        let refused = resolver(false).admit("a.example", vec![private]).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "a.example resolved only to non-global addresses (10.1.2.3); the egress policy refuses them"
        );
        assert_eq!(resolver(true).admit("a.example", vec![private]).unwrap(), [private]);
    }
}
