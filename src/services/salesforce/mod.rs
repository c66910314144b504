//! Salesforce, where each takedown also becomes a CRM Case: [`wire`] builds the OAuth 2 JWT
//! bearer token request, the Case upsert by external ID (so a retry never duplicates) and the
//! file attachment, and reads the answers and Salesforce's error arrays; [`client`] keeps the
//! token and sends each call through the egress client.

pub mod client;
pub mod wire;
