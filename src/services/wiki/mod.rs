//! Wikimedia's wikis (MediaWiki Action API and Extension:OAuth): [`wire`] builds and reads every
//! message the appliance exchanges with a wiki — staff OAuth 2 with PKCE, bot-password login,
//! edits and notices, file information, deletions, revision deletion and cross-wiki lookups.

pub mod wire;
