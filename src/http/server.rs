//! The accept loop: TLS handshakes under a timeout, at most `max_connections` at once, HTTP/1.1
//! and HTTP/2 by ALPN, idle connections closed, and a graceful drain on shutdown.
//!
//! The connection slots are a semaphore; shutdown waits until every slot is back, so the same
//! count that bounds connections also tells when the last one has drained.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::limits;
use super::pipeline::Pipeline;
use crate::identity::Fingerprint;
use crate::state::AppState;

/// What is known about a connection once its handshake succeeded.
pub struct PeerConnection {
    /// The client's address, for logs.
    pub remote: SocketAddr,
    /// The client's certificate chain, leaf first, as verified during the handshake.
    pub chain: Vec<CertificateDer<'static>>,
    /// The SHA-256 of the leaf certificate.
    pub fingerprint: Fingerprint,
    /// The chain's last check, which spares the next requests checking it again while it holds.
    pub verified: crate::tls::VerifiedChain,
}

/// Serves `listener` until `shutdown` completes, then stops accepting, waits up to
/// [`limits::DRAIN_TIMEOUT`] for requests in flight, and writes the refusal counts still open.
/// Meanwhile a timer writes each refusal window's count once its minute has closed.
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: impl Future<Output = ()>) {
    let max_connections = state.config.server.max_connections;
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = Arc::new(ConnectionSettings {
        pipeline: Pipeline::new(state.clone()),
        builder: http_builder(&state),
        idle_timeout: state.config.server.idle_timeout,
        stop: stop_rx,
    });
    tokio::pin!(shutdown);
    // Refusal counts are written once their minute closes even if no refusal follows.
    let flusher = connections.clone();
    let flush_timer = tokio::spawn(async move {
        let mut every = tokio::time::interval(super::refusals::FLUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            flusher.pipeline.flush_refusals(false).await;
        }
    });

    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // the semaphore is never closed
            },
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually EMFILE; the connection cap keeps it rare. Pause rather than spin.
                    warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = state.live().tls.acceptor.clone();
        tokio::spawn(connections.clone().serve(acceptor, tcp, remote, permit));
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let in_flight = max_connections - slots.available_permits();
    info!("shutting down: draining {in_flight} connection(s), at most {:?}", limits::DRAIN_TIMEOUT);
    let all_slots = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits::DRAIN_TIMEOUT, slots.acquire_many(all_slots)).await.is_err() {
        warn!("connections still open after the drain timeout were cut off");
    }
    // Every refusal counted so far is written before the process ends.
    flush_timer.abort();
    connections.pipeline.flush_refusals(true).await;
}

/// What every connection task shares.
struct ConnectionSettings {
    pipeline: Pipeline,
    builder: auto::Builder<TokioExecutor>,
    idle_timeout: Duration,
    /// Becomes `true` when the server stops.
    stop: watch::Receiver<bool>,
}

impl ConnectionSettings {
    /// Handshakes, then serves requests until the client leaves, the connection idles out, or
    /// the server stops. Holds its connection slot until the very end.
    async fn serve(
        self: Arc<Self>,
        acceptor: TlsAcceptor,
        tcp: TcpStream,
        remote: SocketAddr,
        _slot: OwnedSemaphorePermit,
    ) {
        let handshake = tokio::time::timeout(limits::TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
        let (accepted, revoked) = crate::tls::noting_revoked(handshake).await;
        let tls = match accepted {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => {
                if let Some(leaf) = revoked {
                    self.pipeline.audit_handshake_refusal(&leaf, &err.to_string()).await;
                }
                warn!(%remote, "TLS handshake refused: {err}");
                return;
            }
            Err(_) => {
                warn!(%remote, "TLS handshake timed out");
                return;
            }
        };
        let chain: Vec<CertificateDer<'static>> = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default();
        let Some(leaf) = chain.first() else {
            // Unreachable with a verifier that requires a certificate; refuse regardless.
            warn!(%remote, "connection without a client certificate");
            return;
        };
        let fingerprint = Fingerprint::of_certificate(leaf);
        let peer = Arc::new(PeerConnection { remote, chain, fingerprint, verified: Default::default() });
        let activity = Arc::new(Activity::new());

        let service = {
            let settings = self.clone();
            let activity = activity.clone();
            service_fn(move |request| {
                let settings = settings.clone();
                let peer = peer.clone();
                let activity = activity.clone();
                async move {
                    let _busy = activity.begin();
                    Ok::<_, Infallible>(settings.pipeline.handle(&peer, request).await)
                }
            })
        };
        let connection = self.builder.serve_connection(TokioIo::new(tls), service);
        tokio::pin!(connection);
        let mut stop = self.stop.clone();
        let mut closing = false;
        let mut idle_check = tokio::time::interval(limits::IDLE_CHECK_INTERVAL);
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        debug!(%remote, "connection ended: {err}");
                    }
                    break;
                }
                _ = stop.wait_for(|stopped| *stopped), if !closing => {
                    // HTTP/1.1 finishes the request in flight; HTTP/2 sends GOAWAY.
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = idle_check.tick(), if !closing => {
                    if activity.idle_for() >= self.idle_timeout {
                        debug!(%remote, "closing idle connection");
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    last_finished: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self { in_flight: AtomicUsize::new(0), last_finished: Mutex::new(Instant::now()) }
    }

    /// Marks a request as started; dropping the guard marks it finished.
    fn begin(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        RequestGuard(self.clone())
    }

    /// How long the connection has had no request in flight (zero while one is).
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last_finished.lock().unwrap_or_else(PoisonError::into_inner).elapsed()
    }
}

struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        *self.0.last_finished.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn http_builder(state: &AppState) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper silently ignores header_read_timeout unless a timer is set.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.server.header_read_timeout)
        .max_buf_size(limits::MAX_HEADER_BYTES)
        .max_headers(limits::MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits::MAX_H2_STREAMS)
        // hyper's defaults let one connection buffer 1 MiB received and 400 KiB per stream to
        // send; the memory model counts limits::CONNECTION_BYTES per connection.
        .initial_connection_window_size(limits::H2_WINDOW_BYTES)
        .initial_stream_window_size(limits::H2_WINDOW_BYTES)
        .max_send_buf_size(limits::H2_WINDOW_BYTES as usize)
        .max_header_list_size(u32::try_from(limits::MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    builder
}
