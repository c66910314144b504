//! Wikimedia's wikis (MediaWiki Action API and Extension:OAuth): [`wire`] builds and reads every
//! message the appliance exchanges with a wiki — staff OAuth 2 with PKCE, bot-password login,
//! edits and notices, file information, deletions, revision deletion and cross-wiki lookups; [`client`] holds the sessions (staff OAuth grants
//! in memory, the bot's cookie sessions) and sends each call through the egress client.

pub mod client;
pub mod wire;
