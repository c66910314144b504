//! The peers' network side: one TLS listener per service on loopback, HTTP/1.1 and HTTP/2,
//! each request read whole, handed to its peer, then shaped by the endpoint's fault switch and
//! journalled.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::fault::{Fault, Faults};
use crate::journal::Journal;
use crate::request::{Exchange, FormPart, Peer, PeerRequest, PeerResponse};
use crate::{Options, PeerService, control, lumen, ncmec, salesforce, wiki};

/// Largest request body a peer reads (uploads of test images are far smaller).
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

pub(crate) struct Shared {
    /// Whether control requests ([`control`]) are taken.
    control: bool,
    pub(crate) faults: Faults,
    pub(crate) journal: Journal,
    peers: HashMap<PeerService, Box<dyn Peer>>,
    acceptor: TlsAcceptor,
}

impl Shared {
    pub(crate) fn new(options: &Options, journal: Journal) -> std::io::Result<Shared> {
        let mut peers: HashMap<PeerService, Box<dyn Peer>> = HashMap::new();
        peers.insert(PeerService::Lumen, Box::new(lumen::Lumen::new(&options.credentials)));
        peers.insert(PeerService::Ncmec, Box::new(ncmec::Ncmec::new(options)));
        peers.insert(PeerService::Salesforce, Box::new(salesforce::Salesforce::new(options)));
        peers.insert(PeerService::Wiki, Box::new(wiki::Wiki::new(&options.credentials)));
        Ok(Shared {
            control: options.control,
            faults: Faults::default(),
            journal,
            peers,
            acceptor: acceptor(options)?,
        })
    }

    pub(crate) fn peer(&self, service: PeerService) -> &dyn Peer {
        self.peers[&service].as_ref()
    }
}

fn acceptor(options: &Options) -> std::io::Result<TlsAcceptor> {
    acceptor_for(&options.certificate_pem, &options.key_pem, &[b"h2", b"http/1.1"])
}

/// A TLS acceptor presenting this chain and key, offering these ALPN protocols.
pub(crate) fn acceptor_for(
    certificate_pem: &str,
    key_pem: &str,
    alpn: &[&[u8]],
) -> std::io::Result<TlsAcceptor> {
    let invalid = |what: &str, err: String| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {err}"))
    };
    let chain = CertificateDer::pem_slice_iter(certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("peer certificate", e.to_string()))?;
    let key =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| invalid("peer key", e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("peer TLS", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid("peer TLS", e.to_string()))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<std::io::Result<HashMap<PeerService, SocketAddr>>>,
) {
    let mut listeners = Vec::new();
    let mut addresses = HashMap::new();
    for service in PeerService::ALL {
        match TcpListener::bind("127.0.0.1:0").await.and_then(|l| Ok((l.local_addr()?, l))) {
            Ok((address, listener)) => {
                addresses.insert(service, address);
                listeners.push((service, listener));
            }
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        }
    }
    let _ = ready.send(Ok(addresses));
    for (service, listener) in listeners {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Ok(tls) = shared.acceptor.accept(tcp).await else { return };
                    let service_shared = shared.clone();
                    let handler = service_fn(move |request| {
                        let shared = service_shared.clone();
                        async move { answer(&shared, service, request).await }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), handler)
                        .await;
                });
            }
        });
    }
    let _ = stopped.wait_for(|stop| *stop).await;
}

type ResponseBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

async fn answer(
    shared: &Shared,
    service: PeerService,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<ResponseBody>, std::io::Error> {
    let request = match read(request).await {
        Ok(request) => request,
        Err(response) => return Ok(to_hyper(response)),
    };
    if shared.control && request.path.starts_with(control::PREFIX) {
        let response = control::answer(shared, service, &request);
        let entry = serde_json::json!({
            "method": request.method.as_str(),
            "path": request.path,
            "endpoint": "control",
            "status": response.status,
            "received": String::from_utf8_lossy(&request.body),
        });
        shared.journal.append(service, &entry);
        return Ok(to_hyper(response));
    }
    let peer = shared.peer(service);
    let endpoint = peer.endpoint(&request);
    let fault = shared.faults.on_call(service, &endpoint);
    let (exchange, processed) = match fault.as_ref().and_then(|f| f.status.map(|s| (s, f))) {
        Some((status, f)) => {
            let body = f
                .body
                .clone()
                .unwrap_or_else(|| format!("simulated {status} from the {} peer", service.name()));
            let content_type = f.content_type.clone().unwrap_or_else(|| "text/plain; charset=utf-8".into());
            let response = f
                .headers
                .iter()
                .fold(PeerResponse::typed(status, &content_type, body), |r, (name, value)| {
                    r.with_header(name, value)
                });
            if f.after_processing {
                (Exchange { response, received: peer.handle(&request).received }, true)
            } else {
                (Exchange { response, received: serde_json::Value::Null }, false)
            }
        }
        None => (peer.handle(&request), true),
    };
    let mut entry = serde_json::json!({
        "at": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "method": request.method.as_str(),
        "path": request.path,
        "endpoint": endpoint,
        "status": exchange.response.status,
        "processed": processed,
        "received": exchange.received,
    });
    if let Some(fault) = &fault {
        entry["fault"] = serde_json::Value::String(describe(fault));
    }
    shared.journal.append(service, &entry);
    let Some(fault) = fault else { return Ok(to_hyper(exchange.response)) };
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
    if fault.drop_connection {
        return Err(std::io::Error::other("simulated dropped connection"));
    }
    let mut response = exchange.response;
    if fault.malformed {
        response.body = malformed(response.content_type());
    }
    if fault.truncated {
        return Ok(truncated(response));
    }
    Ok(to_hyper(response))
}

fn describe(fault: &Fault) -> String {
    let mut parts = Vec::new();
    if let Some(status) = fault.status {
        parts.push(format!("status {status}"));
    }
    if let Some(delay) = fault.delay {
        parts.push(format!("delay {} ms", delay.as_millis()));
    }
    for (on, name) in [
        (fault.after_processing, "after processing"),
        (fault.malformed, "malformed"),
        (fault.truncated, "truncated"),
        (fault.drop_connection, "dropped"),
    ] {
        if on {
            parts.push(name.to_owned());
        }
    }
    parts.join(", ")
}

/// Garbage that still claims the answer's content type.
fn malformed(content_type: &str) -> Bytes {
    if content_type.contains("json") {
        Bytes::from_static(b"{\"id\": [1, 2, \"unterminated")
    } else if content_type.contains("xml") {
        Bytes::from_static(b"<reportResponse><responseCode>0</responseCod><reportId>")
    } else {
        Bytes::from_static(b"\xff\xfe garbage \x00\x01")
    }
}

async fn read(request: hyper::Request<Incoming>) -> Result<PeerRequest, PeerResponse> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|_| PeerResponse::text(413, "request body too large or broken"))?
        .to_bytes();
    let authority = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| parts.headers.get("host").and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    let mut request = PeerRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers,
        authority,
        body,
        form: None,
    };
    if request.media_type() == "multipart/form-data" {
        request.form = parse_multipart(&request).await;
    }
    Ok(request)
}

async fn parse_multipart(request: &PeerRequest) -> Option<Vec<FormPart>> {
    let boundary = multer::parse_boundary(request.header("content-type")?).ok()?;
    let body = request.body.clone();
    let source = stream::once(async move { Ok::<Bytes, Infallible>(body) });
    let mut multipart = multer::Multipart::new(source, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.ok()?;
        parts.push(FormPart { name, file_name, content_type, data });
    }
    Some(parts)
}

fn to_hyper(response: PeerResponse) -> hyper::Response<ResponseBody> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = Full::new(response.body).map_err(|never: Infallible| match never {}).boxed();
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback =
            hyper::Response::new(Full::new(Bytes::new()).map_err(|never: Infallible| match never {}).boxed());
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// Headers promising the whole body, half of it, then a broken stream (the connection closes).
fn truncated(response: PeerResponse) -> hyper::Response<ResponseBody> {
    let full_length = response.body.len();
    let half = response.body.slice(..full_length / 2);
    let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> =
        vec![Ok(Frame::data(half)), Err(std::io::Error::other("simulated truncation"))];
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder = builder.header("content-length", full_length.to_string());
    let body = StreamBody::new(stream::iter(chunks)).boxed();
    builder.body(body).unwrap_or_else(|_| to_hyper(PeerResponse::text(500, "bad simulated response")))
}
