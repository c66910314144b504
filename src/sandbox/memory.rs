//! The daemon's memory model: every large consumer of memory with its bound from the config,
//! added up with a fixed margin. `serve` refuses to start when the locked-memory limit
//! (`RLIMIT_MEMLOCK`, the unit's `LimitMEMLOCK=`) cannot hold the total, naming the fields to
//! lower and the limit it needs; `check-config` prints the breakdown.
//!
//! Why a model and not a guess: `serve` locks its memory (see [`super::process`]). Without
//! `CAP_IPC_LOCK`, every mapping made after that counts in full against the limit, and once the
//! limit is reached the next allocation fails and the process aborts. So each consumer must be
//! bounded, and the bounds must add up to less than the limit.

use std::fmt::Write as _;

use crate::config::Config;
use crate::http::limits;

/// A stack of a thread that decrypts values for the store (see `store::open_many`): opening a
/// value is a few calls deep.
pub const DECRYPT_STACK_BYTES: usize = 256 << 10;

/// What one export (a case download, `takedown export`) or one audit page holds at a time while
/// it streams: a chunk of ciphertexts, their plaintexts and the archive's buffers.
pub const STREAM_BUFFER_BYTES: usize = 256 << 10;

/// Room for what no field bounds: the allocator's fragmentation and bookkeeping, the main
/// thread's stack, the roster, certificates and CRLs, logging. Fixed, so that a small test
/// config and the production config are checked by the same rule.
pub const MARGIN_BYTES: u64 = 1 << 20;

/// One consumer and its bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// What it is.
    pub what: &'static str,
    /// The config field(s) that bound it, to lower when the limit is too small (empty: none).
    pub fields: &'static str,
    /// Its bound in bytes.
    pub bytes: u64,
}

/// The parts and their total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryModel {
    /// Every consumer, in the order printed.
    pub parts: Vec<Part>,
}

impl MemoryModel {
    /// The model for `config`, with `at_start` the bytes of private writable memory the process
    /// has when it locks (measured: see [`writable_at_start`]), and `cores` the threads a
    /// decryption may spread over.
    pub fn of(config: &Config, at_start: u64, cores: usize) -> Self {
        let server = &config.server;
        let u = |n: usize| n as u64;
        let parts = vec![
            Part { what: "the process at start (heap, stacks, data)", fields: "", bytes: at_start },
            Part {
                what: "thread stacks: (workers + blocking pool) × stack",
                fields: "server.worker_threads, server.blocking_threads, server.thread_stack_kib",
                bytes: u(server.worker_threads + server.blocking_threads)
                    .saturating_mul(u(server.thread_stack_bytes)),
            },
            Part {
                what: "decrypting threads: cores × stack",
                fields: "",
                bytes: u(cores).saturating_mul(u(DECRYPT_STACK_BYTES)),
            },
            Part {
                what: "the audit committer thread's stack",
                fields: "",
                bytes: u(crate::store::group::COMMITTER_STACK_BYTES),
            },
            Part {
                what: "the store's page cache",
                fields: "store.cache_kib",
                bytes: u(config.store.cache_bytes),
            },
            Part {
                what: "uploads held at once (media budget)",
                fields: "hardening.media_budget_mib",
                bytes: u(config.hardening.media_budget_bytes),
            },
            Part {
                // Twice: while a form is parsed, its body and its decoded fields are both held.
                what: "form bodies held at once, and their decoded fields (2 × form budget)",
                fields: "server.form_budget_kib",
                bytes: u(server.form_budget_bytes).saturating_mul(2),
            },
            Part {
                what: "connections × their buffers",
                fields: "server.max_connections",
                bytes: u(server.max_connections).saturating_mul(u(limits::CONNECTION_BYTES)),
            },
            Part {
                what: "exports and audit pages streaming: blocking pool × chunk",
                fields: "server.blocking_threads",
                bytes: u(server.blocking_threads).saturating_mul(u(STREAM_BUFFER_BYTES)),
            },
            Part {
                what: "margin (allocator, main stack, roster, certificates)",
                fields: "",
                bytes: MARGIN_BYTES,
            },
        ];
        Self { parts }
    }

    /// The bytes the locked-memory limit must hold.
    pub fn total(&self) -> u64 {
        self.parts.iter().fold(0u64, |sum, part| sum.saturating_add(part.bytes))
    }

    /// Why `limit` (the soft `RLIMIT_MEMLOCK`, `None` = unlimited) cannot hold the model, or
    /// `None` if it can (or the process may lock without limit: `privileged`).
    pub fn shortfall(&self, limit: Option<u64>, privileged: bool) -> Option<String> {
        let needed = self.total();
        match limit {
            _ if privileged => None,
            None => None,
            Some(limit) if limit >= needed => None,
            Some(limit) => {
                // The largest parts first: lowering those helps most.
                let mut adjustable: Vec<&Part> = self.parts.iter().filter(|p| !p.fields.is_empty()).collect();
                adjustable.sort_by_key(|part| std::cmp::Reverse(part.bytes));
                let lower: Vec<String> = adjustable
                    .iter()
                    .take(3)
                    .map(|p| format!("{} ({})", p.fields, kib_text(p.bytes)))
                    .collect();
                Some(format!(
                    "the locked-memory limit is {}, and the memory model of this config needs {}; \
                     set LimitMEMLOCK={} in the unit, or lower {} (see `takedown check-config` for the breakdown)",
                    kib_text(limit),
                    kib_text(needed),
                    limit_text(needed),
                    lower.join(", ")
                ))
            }
        }
    }

    /// The breakdown `check-config` prints: each part, its field, the total, and `limit`.
    pub fn breakdown(&self, limit: Option<u64>, privileged: bool) -> String {
        let mut text = String::from("memory model (locked memory the daemon may use):\n");
        for part in &self.parts {
            let fields = if part.fields.is_empty() { String::new() } else { format!("  [{}]", part.fields) };
            let _ = writeln!(text, "  {:>12}  {}{fields}", kib_text(part.bytes), part.what);
        }
        let _ = writeln!(
            text,
            "  {:>12}  total: LimitMEMLOCK={} or more",
            kib_text(self.total()),
            limit_text(self.total())
        );
        let limit_text = match limit {
            _ if privileged => "not enforced (CAP_IPC_LOCK)".to_owned(),
            None => "unlimited".to_owned(),
            Some(limit) => kib_text(limit),
        };
        let _ = writeln!(text, "  locked-memory limit in force here: {limit_text}");
        text
    }
}

/// Bytes as KiB below a MiB, else as MiB (to a tenth), for people.
fn kib_text(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

/// A `LimitMEMLOCK=` value that holds `bytes`: whole MiB, rounded up.
fn limit_text(bytes: u64) -> String {
    format!("{}M", bytes.div_ceil(1 << 20))
}

/// The bytes of private writable memory this process has now (what locking it would count):
/// the sum of its `rw-p` mappings.
pub fn writable_at_start() -> u64 {
    std::fs::read_to_string("/proc/self/maps")
        .map(|maps| crate::sys::writable_private_mappings(&maps).map(|(_, len)| len as u64).sum())
        .unwrap_or(0)
}

/// The threads a decryption may spread over (see `store::open_many`).
pub fn decrypt_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra_server: &str, store: &str, hardening: &str) -> Config {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n{extra_server}\n\
             [tls]\ncertificate = \"c\"\nprivate_key = {{ file = \"k\" }}\nstaff_ca = \"ca\"\ncrls = [\"crl\"]\n\
             [staff]\nroster = \"r\"\naccess_contact = \"x\"\n\
             [store]\ndata_dir = \"d\"\nidentity = {{ file = \"i\" }}\nindex_key = {{ file = \"x\" }}\nescrow_recipients = []\n{store}\n\
             [export]\nlegal_recipients = [\"age1pc4nlnayu84g9gfstk9cw6ghjxj9dqqy9gt4xhvaxxzs2tmf5gnq9fwtwv\"]\n\
             [egress]\ncontact = \"a@example.org\"\n[hardening]\n{hardening}\n"
        );
        Config::parse(std::path::Path::new("/etc/t.toml"), &text).unwrap()
    }

    #[test]
    fn the_model_adds_every_bound_from_the_config() {
        let small = config(
            "max_connections = 4\nform_budget_kib = 1024\nworker_threads = 1\nblocking_threads = 2\nthread_stack_kib = 256",
            "cache_kib = 256",
            "media_budget_mib = 1",
        );
        let model = MemoryModel::of(&small, 1000 << 10, 2);
        let kib = |k: u64| k << 10;
        let expected = kib(1000) // at start
            + kib(3 * 256) // three threads
            + 2 * DECRYPT_STACK_BYTES as u64
            + crate::store::group::COMMITTER_STACK_BYTES as u64
            + kib(256) // cache
            + kib(1024) // media
            + 2 * kib(1024) // forms: bodies and their decoded fields
            + 4 * limits::CONNECTION_BYTES as u64
            + 2 * STREAM_BUFFER_BYTES as u64
            + MARGIN_BYTES;
        assert_eq!(model.total(), expected);
        // One field more, the total grows by exactly its bytes.
        let more = config(
            "max_connections = 5\nform_budget_kib = 1024\nworker_threads = 1\nblocking_threads = 2\nthread_stack_kib = 256",
            "cache_kib = 256",
            "media_budget_mib = 1",
        );
        assert_eq!(MemoryModel::of(&more, 1000 << 10, 2).total(), expected + limits::CONNECTION_BYTES as u64);
    }

    #[test]
    fn the_default_config_fits_the_units_limit() {
        let model = MemoryModel::of(&config("", "", ""), 4 << 20, 8);
        // systemd/takedown.service sets LimitMEMLOCK=512M.
        assert!(model.total() <= 512 << 20, "{}", model.breakdown(None, false));
        assert!(model.total() > 256 << 20, "the media budget alone is 256 MiB");
    }

    #[test]
    fn a_limit_too_small_is_refused_naming_the_fields_and_the_limit_needed() {
        let model = MemoryModel::of(&config("", "cache_kib = 1048576", ""), 4 << 20, 2);
        let needed = model.total();
        assert_eq!(model.shortfall(Some(needed), false), None);
        assert_eq!(model.shortfall(None, false), None, "unlimited");
        assert_eq!(model.shortfall(Some(8 << 20), true), None, "CAP_IPC_LOCK lifts the limit");
        let refusal = model.shortfall(Some(needed - 1), false).unwrap();
        assert!(refusal.contains(&format!("LimitMEMLOCK={}M", needed.div_ceil(1 << 20))), "{refusal}");
        // The largest adjustable part is named first: here the 1 GiB cache.
        assert!(refusal.contains("lower store.cache_kib (1024 MiB)"), "{refusal}");
        assert!(refusal.contains("hardening.media_budget_mib"), "{refusal}");
        let breakdown = model.breakdown(Some(8 << 20), false);
        assert!(breakdown.contains("store.cache_kib") && breakdown.contains("8 MiB"), "{breakdown}");
    }
}
