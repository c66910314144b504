//! A TLS front for a real server that speaks only plain HTTP on loopback (PHP's built-in server
//! running Debian's MediaWiki), so that the appliance reaches it over https as it reaches every
//! service. Bytes are copied both ways unchanged; HTTP/1.1 only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::{TcpListener, TcpStream};

/// A running TLS front. Dropping it stops accepting.
pub struct TlsFront {
    address: SocketAddr,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Listens on a free loopback port, presenting `certificate_pem`/`key_pem`, and forwards
    /// each connection to `upstream`.
    pub fn start(upstream: SocketAddr, certificate_pem: &str, key_pem: &str) -> std::io::Result<TlsFront> {
        let acceptor = crate::server::acceptor_for(certificate_pem, key_pem, &[b"http/1.1"])?;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("tls-front".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match TcpListener::bind("127.0.0.1:0").await {
                    Ok(listener) => listener,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let _ = ready_tx.send(listener.local_addr());
                let acceptor = Arc::new(acceptor);
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((tcp, _)) = accepted else { continue };
                            tokio::spawn(forward(acceptor.clone(), tcp, upstream));
                        }
                        _ = stopped.changed() => break,
                    }
                }
            });
        })?;
        let address = ready_rx.recv().map_err(|_| std::io::Error::other("the TLS front did not start"))??;
        Ok(TlsFront { address, stop: Some(stop), thread: Some(thread) })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

// The peers are test code connecting to a local test server, not the appliance's egress.
#[allow(clippy::disallowed_methods)]
async fn forward(acceptor: Arc<tokio_rustls::TlsAcceptor>, tcp: TcpStream, upstream: SocketAddr) {
    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
    let Ok(mut plain) = TcpStream::connect(upstream).await else { return };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
