//! `takedown serve`: load and check everything, bind, serve until SIGTERM; reload on SIGHUP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info};

use crate::audit::checkpoint::CheckpointKey;
use crate::cli::exit;
use crate::config::{Config, Problem, Problems};
use crate::egress::client::{EgressClient, EgressFiles};
use crate::http;
use crate::sandbox::memory::{self, MemoryModel};
use crate::sandbox::{self, Profile, SandboxReport};
use crate::services::clients::{CHECK_INTERVAL, Services};
use crate::state::{AppState, Live};
use crate::store::{StartCheck, Store, StoreError};

/// Runs the daemon with the config at `path`.
pub(super) fn run(path: &Path) -> u8 {
    let config = match super::load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    run_with(config, |address| println!("ready https://{address}/"))
}

/// Loads the files `config` names, then serves; `on_ready` is called once the port is bound.
pub fn run_with(config: Config, on_ready: impl FnOnce(SocketAddr)) -> u8 {
    run_on(config, None, on_ready)
}

/// Like [`run_with`], serving on `bound` when given (a socket the caller bound already, so the
/// address it wrote into the config is the one served) instead of binding `server.listen`.
pub fn run_on(config: Config, bound: Option<std::net::TcpListener>, on_ready: impl FnOnce(SocketAddr)) -> u8 {
    let credentials_dir = super::credentials_dir();
    let (sandbox, egress_files) = match contain(&config, credentials_dir.as_deref()) {
        Ok(contained) => contained,
        Err(code) => return code,
    };
    let live = match Live::load(&config, credentials_dir.as_deref()) {
        Ok(live) => live,
        Err(problems) => return super::report_problems(&config.source, &problems),
    };
    let store = match super::open_store(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let checkpoints = match checkpoint_key(&config, credentials_dir.as_deref()) {
        Ok(key) => key,
        Err(problems) => return super::report_problems(&config.source, &problems),
    };
    // Never append to a log that no longer verifies: that would hide where it was altered.
    let whole_chain_pending = match verify_at_start(&store, checkpoints.as_ref()) {
        Ok(pending) => pending,
        Err(err) => {
            error!("{err}; not starting. Investigate with `takedown audit verify`.");
            return exit::AUDIT_BROKEN;
        }
    };
    if let Some(key) = &checkpoints {
        // At start: what this run begins from, anchored before anything is added.
        match store.record_checkpoint(key) {
            Ok(checkpoint) => {
                info!(entries = checkpoint.entries, head = %checkpoint.head, "audit checkpoint signed")
            }
            Err(err) => {
                error!("{err}; not starting: the audit checkpoint cannot be written");
                return exit::RUNTIME;
            }
        }
    }
    let store = Arc::new(store);
    let egress = match EgressClient::from_files(&config.egress, egress_files, store.clone()) {
        Ok(egress) => Arc::new(egress),
        Err(problems) => return super::report_problems(&config.source, &problems),
    };
    let mut services = match Services::build(&config.services, credentials_dir.as_deref(), egress) {
        Ok(services) => services,
        Err(problems) => return super::report_problems(&config.source, &problems),
    };
    // Besides the meta wiki and the site matrix's wikis, credentials may go to the wikis the
    // DMCA notices name in the config, and nowhere else.
    if let Some(wiki) = services.wiki.as_mut() {
        wiki.trust_configured(&config.dmca.commons_api);
        wiki.trust_configured(&config.dmca.foundation_api);
    }
    // Every thread's stack is locked memory: the runtime's threads are counted and sized by the
    // config, as the memory model (sandbox::memory) assumes.
    let server = &config.server;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server.worker_threads)
        .max_blocking_threads(server.blocking_threads)
        .thread_stack_size(server.thread_stack_bytes)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            error!("cannot start the async runtime: {err}");
            return exit::RUNTIME;
        }
    };
    if whole_chain_pending {
        let store = store.clone();
        runtime.spawn_blocking(move || verify_whole_chain(&store));
    }
    match runtime.block_on(serve(
        config,
        credentials_dir,
        live,
        store,
        (services, sandbox, checkpoints),
        bound,
        on_ready,
    )) {
        Ok(()) => exit::OK,
        Err(err) => {
            error!("{err}");
            exit::RUNTIME
        }
    }
}

/// The start-up check of the audit chain. With a checkpoint key, the chain must pass through
/// the last checkpoint the daemon signed into the store, and only what follows it is verified,
/// so start-up does not slow down as the log grows; returns `true` when the whole chain still
/// has to be verified (in the background). Without one, the whole chain is verified now.
fn verify_at_start(store: &Store, checkpoints: Option<&CheckpointKey>) -> Result<bool, StoreError> {
    let Some(key) = checkpoints else {
        let verified = store.verify()?;
        info!(entries = verified.entries, head = %verified.head, "audit log verified");
        return Ok(false);
    };
    match store.verify_since_checkpoint(&key.public())? {
        StartCheck::Full { verified, why } => {
            info!(entries = verified.entries, head = %verified.head, "audit log verified in full: {why}");
            Ok(false)
        }
        StartCheck::SinceCheckpoint { verified, checkpoint } => {
            info!(
                entries = verified.entries,
                head = %verified.head,
                checkpoint,
                "audit log verified from the signed checkpoint; the whole chain is verified in the background"
            );
            Ok(true)
        }
    }
}

/// The whole-chain check after a start from a checkpoint. If it fails, every later write is
/// refused (the pages say why) rather than appended to a log that no longer verifies.
fn verify_whole_chain(store: &Store) {
    let started = std::time::Instant::now();
    match store.verify() {
        Ok(verified) => info!(
            entries = verified.entries,
            head = %verified.head,
            seconds = started.elapsed().as_secs_f64(),
            "audit log verified in full"
        ),
        Err(err) => {
            error!("the full audit verification failed: {err}; every write is refused from now on");
            store.refuse_writes(err.to_string());
        }
    }
}

/// The checkpoint signing key, when `store.checkpoint_key` names one: read once at start, and a
/// key that cannot be read stops the daemon naming the field.
fn checkpoint_key(
    config: &Config,
    credentials_dir: Option<&Path>,
) -> Result<Option<CheckpointKey>, Problems> {
    let Some(source) = &config.store.checkpoint_key else { return Ok(None) };
    source
        .read(credentials_dir)
        .and_then(|bytes| CheckpointKey::parse(&bytes).map_err(|err| err.to_string()))
        .map(Some)
        .map_err(|message| Problems(vec![Problem::new("store.checkpoint_key", message)]))
}

/// How often a checkpoint is signed even when few entries were added.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Signs a checkpoint every `interval` entries and every [`CHECKPOINT_EVERY`], checked each
/// minute. A checkpoint that cannot be written is logged as an error and tried again.
async fn sign_checkpoints(store: Arc<Store>, key: CheckpointKey, interval: u64) {
    let key = Arc::new(key);
    let mut last = (store.head().map_or(0, |(entries, _)| entries), std::time::Instant::now());
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let entries = store.head().map_or(last.0, |(entries, _)| entries);
        let due = entries >= last.0.saturating_add(interval)
            || (last.1.elapsed() >= CHECKPOINT_EVERY && entries != last.0);
        if !due {
            continue;
        }
        let (store, key) = (store.clone(), key.clone());
        match tokio::task::spawn_blocking(move || store.record_checkpoint(&key)).await {
            Ok(Ok(checkpoint)) => {
                info!(entries = checkpoint.entries, head = %checkpoint.head, "audit checkpoint signed");
                last = (checkpoint.entries, std::time::Instant::now());
            }
            Ok(Err(err)) => error!("cannot write the audit checkpoint: {err}"),
            Err(err) => error!("the audit checkpoint task failed: {err}"),
        }
    }
}

/// Locks memory and applies the `serve` Landlock profile, as `[hardening]` requires. Runs before
/// the runtime starts threads (Landlock restricts only this thread and those it starts later)
/// and before the other files the config names are read, so the profile is proven to allow them.
/// The egress policy is read first, since the profile's ports come from it; it is returned for
/// the egress client.
fn contain(config: &Config, credentials_dir: Option<&Path>) -> Result<(SandboxReport, EgressFiles), u8> {
    let model = MemoryModel::of(config, memory::writable_at_start(), memory::decrypt_cores());
    let memory = sandbox::lock_memory(config.hardening.lock_memory, &model).map_err(|message| {
        eprintln!("error: {message}");
        exit::CONFIG
    })?;
    let policy = EgressFiles::load(&config.egress)
        .map_err(|problems| super::report_problems(&config.source, &problems))?;
    let landlock = Profile::serve(config, credentials_dir, &policy.policy.ports())
        .apply(config.hardening.landlock)
        .map_err(|err| {
            eprintln!("error: {err}");
            exit::CONFIG
        })?;
    info!(?memory, ?landlock, model_kib = model.total() >> 10, "sandbox in place");
    Ok((SandboxReport { memory, landlock }, policy))
}

async fn serve(
    config: Config,
    credentials_dir: Option<PathBuf>,
    live: Live,
    store: Arc<Store>,
    (services, sandbox, checkpoints): (Services, SandboxReport, Option<CheckpointKey>),
    bound: Option<std::net::TcpListener>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    // Signal handlers first, so that a signal sent right after "ready" is never missed.
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| format!("cannot watch SIGHUP: {e}"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch SIGINT: {e}"))?;

    let listen = config.server.listen;
    let listener = match bound {
        Some(bound) => bound
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(bound))
            .map_err(|e| format!("cannot serve on the socket bound for {listen}: {e}"))?,
        None => TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen} (server.listen): {e}"))?,
    };
    let address = listener.local_addr().map_err(|e| format!("cannot read the bound address: {e}"))?;
    let state = Arc::new(AppState::new(config, credentials_dir, live, store, services, sandbox));
    info!(%address, staff = state.live().roster.staff().len(), "serving");
    on_ready(address);

    if let Some(key) = checkpoints {
        tokio::spawn(sign_checkpoints(state.store.clone(), key, state.config.store.audit_head_interval));
    }

    let checker = state.clone();
    tokio::spawn(async move {
        loop {
            checker.services.check_all().await;
            tokio::time::sleep(CHECK_INTERVAL).await;
        }
    });

    // Images held after a SHA-1 mismatch, and DMCA documents held for a form or a retry, are
    // dropped (and wiped, their share of the media budget returned) once their time is up,
    // even if nobody opens their case or form again.
    let holder = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            holder.held_images.sweep();
            holder.documents.sweep();
        }
    });

    // Reports the previous process left open at NCMEC are retracted first (their images went
    // with it); then the watchdog retries any retraction that failed, while NCMEC keeps them.
    // How often: `child_protection.watchdog_interval_seconds` (five minutes by default).
    let sweeper = state.clone();
    let watchdog_interval = state.config.child_protection.watchdog_interval;
    tokio::spawn(async move {
        let settled = crate::child_protection::saga::sweep(&sweeper, true).await;
        if settled > 0 {
            info!(
                settled,
                "settled the NCMEC reports the previous process left open (retracted, or found filed)"
            );
        }
        loop {
            tokio::time::sleep(watchdog_interval).await;
            crate::child_protection::saga::sweep(&sweeper, false).await;
        }
    });

    let reloader = state.clone();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match reloader.reload() {
                Ok(live) => {
                    info!(
                        staff = live.roster.staff().len(),
                        "SIGHUP: reloaded the roster, staff CA, CRLs and server certificate"
                    )
                }
                Err(problems) => {
                    error!("SIGHUP: reload refused, the previous roster and CRLs stay in force; {problems}")
                }
            }
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => info!("SIGINT: shutting down"),
        }
    };
    http::server::serve(listener, state, shutdown).await;
    info!("stopped");
    Ok(())
}
