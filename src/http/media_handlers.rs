//! `POST /test/media` (demo build only): receives an upload into locked memory, shows each
//! file's size and digests, and drops it, wiping the memory.
//!
//! It stands in for the workflows' uploads in the memory-hygiene tests (a sentinel sent through
//! it must be found nowhere afterwards) and lets a demo user see what the appliance computes.

use hyper::{Response, StatusCode};
use maud::html;

use super::error::HttpError;
use super::handlers::{RequestContext, html};
use crate::audit::{Action, Outcome};
use crate::pages::layout;

/// The upload form: a CSRF token first (the pipeline checks it before reading any file), then
/// any number of files.
pub(super) fn media_probe_form(
    context: &RequestContext<'_>,
) -> Result<Response<http_body_util::Full<bytes::Bytes>>, HttpError> {
    let viewer = context.viewer()?;
    let budget = &context.state.media;
    let content = html! {
        section {
            h2 { "Test upload (demo build only)" }
            p { "Files sent here are held in locked memory only, hashed, shown below, and wiped when the page is sent. "
                "Up to " (budget.limit()) " bytes of uploads are held at once; " span #media-in-use { (budget.in_use()) } " bytes are in use now." }
            form method="post" action="/test/media" enctype="multipart/form-data" {
                @if let Some(token) = context.csrf_token() {
                    input type="hidden" name="csrf_token" value=(token);
                }
                label { "Files " input type="file" name="files" multiple; }
                button type="submit" { "Upload and hash" }
            }
        }
    };
    Ok(html(StatusCode::OK, layout::page("Test upload", Some(viewer), content)))
}

/// Shows the upload's digests; the upload is dropped (and wiped) when the request ends.
pub(super) async fn media_probe(
    context: &RequestContext<'_>,
) -> Result<Response<http_body_util::Full<bytes::Bytes>>, HttpError> {
    let upload = context.take_upload().ok_or(HttpError::UnsupportedMediaType)?;
    let files = upload.files();
    let total: usize = files.iter().map(|f| f.len()).sum();
    // Sizes and digests only: file names are case data and stay out of the log.
    context
        .audit(
            Action::UploadMedia,
            None,
            Outcome::Done,
            format!("test upload of {} file(s), {total} bytes, held in memory and wiped", files.len()),
        )
        .await?;
    let viewer = context.viewer()?;
    let content = html! {
        section {
            h2 { "Upload received into " (upload.protection().describe()) }
            p { (files.len()) " file(s), " (total) " bytes. Nothing was written to disk; the memory is wiped now that this page is sent." }
            table {
                thead { tr { th { "File" } th { "Bytes" } th { "SHA-1" } th { "MD5" } th { "SHA-256" } } }
                tbody {
                    @for file in files {
                        tr {
                            td { (file.file_name()) }
                            td { (file.len()) }
                            td.mono { (hex::encode(file.digests().sha1)) }
                            td.mono { (hex::encode(file.digests().md5)) }
                            td.mono { (hex::encode(file.digests().sha256)) }
                        }
                    }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, layout::page("Test upload", Some(viewer), content)))
}
