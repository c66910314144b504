//! The accept loop: TLS handshakes under a timeout, at most `max_connections` at once, HTTP/1.1
//! and HTTP/2 by ALPN, and a graceful drain on shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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
}

/// Serves `listener` until `shutdown` completes, then stops accepting and waits up to
/// [`limits::DRAIN_TIMEOUT`] for requests in flight.
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: impl Future<Output = ()>) {
    let pipeline = Arc::new(Pipeline::new(state.clone()));
    let slots = Arc::new(Semaphore::new(state.config.server.max_connections));
    let graceful = GracefulShutdown::new();
    let builder = http_builder(&state);
    tokio::pin!(shutdown);

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
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = state.live().tls.acceptor.clone();
        let pipeline = pipeline.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(limits::TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
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
            let peer = Arc::new(PeerConnection { remote, chain, fingerprint });
            let service = service_fn(move |request| {
                let pipeline = pipeline.clone();
                let peer = peer.clone();
                async move { Ok::<_, Infallible>(pipeline.handle(&peer, request).await) }
            });
            let connection = builder.serve_connection(TokioIo::new(tls), service).into_owned();
            if let Err(err) = watcher.watch(connection).await {
                debug!(%remote, "connection ended: {err}");
            }
        });
    }

    drop(listener);
    info!("shutting down: waiting up to {:?} for requests in flight", limits::DRAIN_TIMEOUT);
    if tokio::time::timeout(limits::DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        warn!("requests still running after the drain timeout were cut off");
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
        .max_header_list_size(u32::try_from(limits::MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    builder
}
