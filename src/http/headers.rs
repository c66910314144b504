//! The security headers every response carries, set in one place.
//!
//! Two of them are chosen for what a real browser does with a form (measured in Chromium, and
//! what the Fetch standard prescribes; see SECURITY.md §1):
//! - `Referrer-Policy: same-origin`. Under `no-referrer` a browser serialises the `Origin` of
//!   every form POST as `null`, so the same-origin guard could not tell our own forms from a
//!   sandboxed or opaque page. `same-origin` keeps the true `Origin` (and a referrer) on
//!   requests to this origin and sends no referrer, so no case URL, to any other site.
//! - `form-action` allows this origin and, when a wiki is configured, exactly the meta wiki's
//!   origin: browsers enforce `form-action` on the redirect that follows a submission, and
//!   `POST /wiki/connect` answers with a redirect to the meta wiki's OAuth consent page.

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::config::Config;

/// Two years, the value browsers' preload lists expect.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// The headers, built once from the config at start.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    content_security_policy: HeaderValue,
}

impl SecurityHeaders {
    /// The headers for a daemon running `config`.
    pub fn new(config: &Config) -> Self {
        let oauth_origin =
            config.services.wiki.as_ref().map(|wiki| wiki.meta_rest.origin().ascii_serialization());
        Self::with_form_target(oauth_origin.as_deref())
    }

    /// Scripts are not used at all; styles and images only from this origin; forms post back
    /// here (or, through the OAuth start's redirect, to `form_target`); no page may be framed
    /// (clickjacking); `base-uri` stops injected `<base>` tags.
    fn with_form_target(form_target: Option<&str>) -> Self {
        let form_action = match form_target {
            Some(origin) => format!("'self' {origin}"),
            None => "'self'".to_owned(),
        };
        let policy = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        // A URL's serialised origin holds no byte a header value refuses; fall back to the
        // strict policy rather than start without one if that ever changes.
        let content_security_policy = HeaderValue::from_str(&policy).unwrap_or_else(|_| {
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            )
        });
        Self { content_security_policy }
    }

    /// Sets the security headers on a response, replacing any a handler set.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONTENT_SECURITY_POLICY, self.content_security_policy.clone());
        let fixed: [(HeaderName, &'static str); 6] = [
            (header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
            // Case data must not linger in browser or proxy caches.
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        ];
        for (name, value) in fixed {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(headers: &SecurityHeaders) -> String {
        let mut map = HeaderMap::new();
        headers.apply(&mut map);
        map[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned()
    }

    #[test]
    fn forms_post_only_here_without_a_wiki() {
        let csp = policy(&SecurityHeaders::with_form_target(None));
        assert!(csp.contains("form-action 'self';"), "{csp}");
    }

    #[test]
    fn forms_may_lead_to_exactly_the_meta_wikis_origin() {
        let csp = policy(&SecurityHeaders::with_form_target(Some("https://meta.wikimedia.org")));
        assert!(csp.contains("form-action 'self' https://meta.wikimedia.org;"), "{csp}");
        assert!(csp.contains("default-src 'none'") && csp.contains("base-uri 'none'"), "{csp}");
    }

    #[test]
    fn the_referrer_policy_keeps_the_origin_on_our_own_forms() {
        let mut map = HeaderMap::new();
        SecurityHeaders::with_form_target(None).apply(&mut map);
        // `no-referrer` would make browsers send `Origin: null` on every form POST.
        assert_eq!(map[header::REFERRER_POLICY], "same-origin");
    }
}
