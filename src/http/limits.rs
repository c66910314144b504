//! Every number that bounds what one client can make the server do, each with its reason.

use std::time::Duration;

/// Most connections served at once. A T&S team is tens of people and a browser opens about six
/// connections per site; 256 leaves room for that while bounding memory (each TLS connection
/// holds roughly 50 KiB of buffers). Further clients wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 256;

/// Time allowed for the TLS handshake. A browser on a slow link needs well under a second; ten
/// seconds stops a client from holding a connection slot without ever authenticating.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed to send a request's headers (HTTP/1.1), against slow-loris clients that trickle
/// bytes to hold connections open. Configurable as `server.header_read_timeout_seconds`.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may sit with no request in flight before it is closed. Browsers reuse
/// a connection within seconds while someone works and open a new one in milliseconds when they
/// come back; a minute frees the slot of a client that connected and then sent nothing.
/// Configurable as `server.idle_timeout_seconds`.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often each connection checks whether it has idled out: the idle timeout is enforced to
/// within this much.
pub const IDLE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Time allowed to send a form body once the headers have arrived. A megabyte of form text
/// needs seconds even on a poor connection; a minute is generous and still bounded.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Time allowed to receive a whole upload. A hundred megabytes of images take a few minutes on
/// a slow office link; ten minutes bounds how long an upload can hold its share of the media
/// budget. (Each piece must also arrive within a minute: see `media::upload::UploadLimits`.)
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(600);

/// Time allowed for an upload's leading field (its CSRF token, a few hundred bytes) to arrive
/// whole. A browser sends it with the headers; without this, a client trickling it one byte at
/// a time under the per-piece stall limit would hold its share of the media budget for hours
/// before the token is even checked.
pub const UPLOAD_LEADING_FIELD_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest form body (URL-encoded text fields). A DMCA notice pasted in full is tens of
/// kilobytes; 1 MiB leaves a wide margin. File uploads have their own, larger limits.
pub const MAX_FORM_BODY_BYTES: usize = 1024 * 1024;

/// Form bodies held at once over all requests, by default (`server.form_budget_kib`): eight
/// full-size bodies. A body's announced length is reserved before it is read; past the budget
/// the request is answered 503 with `Retry-After`, so concurrent forms cannot exhaust memory.
pub const FORM_BUDGET_BYTES: usize = 8 * MAX_FORM_BODY_BYTES;

/// What one connection may hold besides its form body: TLS records in and out (16 KiB each),
/// hyper's read and write buffers, HTTP/2 stream windows, and the page being sent. An estimate
/// with room to spare; the memory test measures the daemon against it.
pub const CONNECTION_BYTES: usize = 128 * 1024;

/// HTTP/2 flow-control window, per connection and per stream, and the most a stream buffers to
/// send: what a client can make one connection hold before the appliance reads it. 64 KiB (the
/// protocol's default) keeps a LAN upload fast.
pub const H2_WINDOW_BYTES: u32 = 64 * 1024;

/// Largest request head (request line plus headers) on HTTP/1.1. Browsers send about 1–2 KiB;
/// 16 KiB is far above that and below anything that could exhaust memory across connections.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most header lines in one request; browsers send about 15.
pub const MAX_HEADERS: usize = 64;

/// Most concurrent HTTP/2 streams per connection; a page and its stylesheet need two.
pub const MAX_H2_STREAMS: u32 = 32;

/// How long shutdown waits for requests in flight before closing their connections.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
