//! Takedown: a hardened appliance for a Trust & Safety team.
//!
//! One daemon, `takedown serve`, reached by staff over mutual TLS. This crate is the whole
//! appliance as a library; `main.rs` only parses the command line and calls [`command::run`].
//!
//! # Layout
//!
//! | concept | module |
//! |---|---|
//! | command line (clap types, exit codes) | [`cli`] |
//! | one file per subcommand, orchestration only | [`command`] |
//! | the TOML config: raw table → typed [`config::Config`], every mistake at once | [`config`] |
//! | staff, roles, certificate fingerprints, the roster file | [`identity`], [`roster`] |
//! | rustls server config, client-certificate verification, CRLs | [`tls`] |
//! | what the running daemon holds and what SIGHUP reloads | [`state`] |
//! | accept loop, limits, routing, CSRF, security headers, error pages | [`http`] |
//! | HTML (maud), no I/O | [`pages`] |
//! | certificate authority, staff certificates, CRLs, `.p12` bundles | [`pki`] |
//! | cases: IDs, kinds, append-only revisions | [`cases`] |
//! | the case log's summaries, filters, order and pages | [`case_log`] |
//! | the DMCA workflow: form, checks, Lumen/Salesforce/wiki steps as a saga | [`dmca`] |
//! | the child-protection workflow: form, approval, NCMEC as a saga with retraction | [`child_protection`] |
//! | recording a saga's step durably with its audit entry (both workflows) | [`workflow`] |
//! | the encrypted redb store, its keys and lookup indexes | [`store`] |
//! | audit entries and the hash chain that an auditor verifies without keys | [`audit`] |
//! | legal exports (age-encrypted tar with a SHA-256 manifest) | [`export`] |
//! | the egress allowlist (`policy/egress.toml`) and the post-DNS address rule | [`egress`] |
//! | Lumen, NCMEC, Salesforce, the wikis: pure wire modules and their clients | [`services`] |
//! | uploaded media: locked, wiped buffers, the memory budget, multipart streaming | [`media`] |
//! | no dumps, locked memory, a Landlock profile per subcommand | [`sandbox`] |
//! | the one module allowed `unsafe` (secret memory) | [`sys`] |
//! | log output | [`telemetry`] |
//! | entry points shared by `fuzz/` and the corpus replay test | [`fuzzing`] |

pub mod audit;
pub mod audit_log;
pub mod case_log;
pub mod cases;
pub mod child_protection;
pub mod cli;
pub mod command;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod dmca;
pub mod egress;
pub mod export;
pub mod fuzzing;
pub mod http;
pub mod identity;
pub mod media;
pub mod pages;
pub mod pki;
pub mod roster;
pub mod sandbox;
pub mod services;
pub mod state;
pub mod store;
pub mod sys;
pub mod telemetry;
pub mod tls;
pub mod workflow;
