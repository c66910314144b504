//! Receiving a `multipart/form-data` body into one [`MediaBuffer`], hashing each file as its
//! bytes go by.
//!
//! The request's reservation (its announced length) sizes the buffer, so every file of the
//! request fits and nothing is ever reallocated. Text fields are small and kept in
//! [`Zeroizing`] strings. Nothing here logs or prints a byte of content.

use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use md5::Md5;
use sha1::Sha1;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::budget::Reservation;
use super::buffer::{BufferError, MediaBuffer};

/// Bounds on what one upload form may contain besides its files.
#[derive(Clone, Copy, Debug)]
pub struct UploadLimits {
    /// Longest text field (a description, user names, IP addresses): 64 KiB by default.
    pub max_text_field_bytes: usize,
    /// Most fields (files and text) in one form.
    pub max_fields: usize,
    /// Longest wait for the next piece of the body.
    pub stall_timeout: Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        // A form's text is a few kilobytes; hundreds of images at once is already a lot to
        // review; a browser on a poor link still sends something every few seconds.
        Self { max_text_field_bytes: 64 * 1024, max_fields: 1000, stall_timeout: Duration::from_secs(60) }
    }
}

/// Why an upload could not be received. Messages name no content.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The body is not the multipart form it claims to be, or it stopped half way.
    #[error("the upload is not a well-formed form: {0}")]
    Malformed(String),
    /// The form did not start with the field the appliance checks first.
    #[error("the form must start with its {0} field; submit it from the appliance's own page")]
    MissingLeadingField(&'static str),
    /// A text field is longer than allowed.
    #[error("the field {field} is longer than {limit} bytes")]
    FieldTooLong {
        /// The field's name.
        field: String,
        /// The limit.
        limit: usize,
    },
    /// More fields than allowed.
    #[error("the form has more than {0} fields")]
    TooManyFields(usize),
    /// The body went on beyond its announced length.
    #[error("the body is longer than its announced {0} bytes")]
    LongerThanAnnounced(usize),
    /// Nothing arrived for too long.
    #[error("the upload stalled: nothing arrived for {0:?}")]
    Stalled(Duration),
    /// No memory to hold it.
    #[error(transparent)]
    Memory(#[from] BufferError),
}

/// A file's digests, computed while it streamed in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digests {
    /// SHA-1 (what NCMEC and MediaWiki key files by).
    pub sha1: [u8; 20],
    /// MD5 (NCMEC's `fileDetails` and upload check).
    pub md5: [u8; 16],
    /// SHA-256.
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("sha1", &hex::encode(self.sha1))
            .field("md5", &hex::encode(self.md5))
            .field("sha256", &hex::encode(self.sha256))
            .finish()
    }
}

/// One file of an upload. Its name is case data: there is no `Debug`.
pub struct UploadedFile {
    field: String,
    file_name: Zeroizing<String>,
    content_type: Option<String>,
    range: Range<usize>,
    digests: Digests,
}

impl UploadedFile {
    /// The form field it came in.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The name the browser gave it.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The type the browser claimed (not checked).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Its digests.
    pub fn digests(&self) -> &Digests {
        &self.digests
    }
}

/// A received upload: its files' bytes in one [`MediaBuffer`], its text fields, and the share
/// of the media budget it holds until dropped.
pub struct MediaUpload {
    buffer: MediaBuffer,
    files: Vec<UploadedFile>,
    fields: Vec<(String, Zeroizing<String>)>,
    _reservation: Reservation,
}

impl MediaUpload {
    /// The files, in the order they came.
    pub fn files(&self) -> &[UploadedFile] {
        &self.files
    }

    /// A file's bytes.
    pub fn bytes(&self, file: &UploadedFile) -> &[u8] {
        &self.buffer.as_slice()[file.range.clone()]
    }

    /// The first text field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every text field called `name`, in order (repeated checkboxes).
    pub fn fields_named(&self, name: &str) -> Vec<String> {
        self.fields.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str().to_owned()).collect()
    }

    /// How the bytes are protected.
    pub fn protection(&self) -> super::Protection {
        self.buffer.protection()
    }
}

/// Reads a multipart body field by field.
pub struct Receiver<'r> {
    multipart: multer::Multipart<'r>,
    buffer: MediaBuffer,
    reservation: Reservation,
    limits: UploadLimits,
    files: Vec<UploadedFile>,
    fields: Vec<(String, Zeroizing<String>)>,
    seen: usize,
}

impl<'r> Receiver<'r> {
    /// Prepares to read `body` (with the form's `boundary`) into a buffer of the reserved size.
    /// The buffer is made before anything is read, so a lack of lockable memory refuses the
    /// request without reading it.
    pub fn new<S, E>(
        body: S,
        boundary: &str,
        reservation: Reservation,
        limits: UploadLimits,
    ) -> Result<Self, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'r,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'r,
    {
        let buffer = MediaBuffer::with_capacity(reservation.bytes())?;
        let announced = reservation.bytes() as u64;
        let constraints =
            multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(announced));
        let multipart = multer::Multipart::with_constraints(body, boundary.to_owned(), constraints);
        Ok(Self { multipart, buffer, reservation, limits, files: Vec::new(), fields: Vec::new(), seen: 0 })
    }

    /// Reads the first field, which must be the text field `name` (the CSRF token: checked
    /// before a byte of any file is read).
    pub async fn leading_field(&mut self, name: &'static str) -> Result<Zeroizing<String>, UploadError> {
        let field = self.next_field().await?.ok_or(UploadError::MissingLeadingField(name))?;
        if field.name() != Some(name) || field.file_name().is_some() {
            return Err(UploadError::MissingLeadingField(name));
        }
        read_text(field, name, self.limits).await
    }

    /// Reads the rest of the form.
    pub async fn finish(mut self) -> Result<MediaUpload, UploadError> {
        while let Some(field) = self.next_field().await? {
            let name =
                field.name().ok_or_else(|| UploadError::Malformed("a field has no name".to_owned()))?;
            let name = name.to_owned();
            match field.file_name().map(|n| Zeroizing::new(n.to_owned())) {
                Some(file_name) => self.receive_file(field, name, file_name).await?,
                None => {
                    let value = read_text(field, &name, self.limits).await?;
                    self.fields.push((name, value));
                }
            }
        }
        Ok(MediaUpload {
            buffer: self.buffer,
            files: self.files,
            fields: self.fields,
            _reservation: self.reservation,
        })
    }

    async fn next_field(&mut self) -> Result<Option<multer::Field<'r>>, UploadError> {
        let stall = self.limits.stall_timeout;
        let field = tokio::time::timeout(stall, self.multipart.next_field())
            .await
            .map_err(|_| UploadError::Stalled(stall))?
            .map_err(|err| multipart_error(err, self.reservation.bytes()))?;
        if field.is_some() {
            self.seen += 1;
            if self.seen > self.limits.max_fields {
                return Err(UploadError::TooManyFields(self.limits.max_fields));
            }
        }
        Ok(field)
    }

    async fn receive_file(
        &mut self,
        mut field: multer::Field<'r>,
        name: String,
        file_name: Zeroizing<String>,
    ) -> Result<(), UploadError> {
        use sha2::Digest as _;
        let content_type = field.content_type().map(ToString::to_string);
        let start = self.buffer.len();
        let (mut sha1, mut md5, mut sha256) = (Sha1::new(), <Md5 as md5::Digest>::new(), Sha256::new());
        while let Some(chunk) =
            next_chunk(&mut field, self.limits.stall_timeout, self.reservation.bytes()).await?
        {
            self.buffer
                .push(&chunk)
                .map_err(|_| UploadError::LongerThanAnnounced(self.reservation.bytes()))?;
            sha1.update(&chunk);
            md5::Digest::update(&mut md5, &chunk);
            sha256.update(&chunk);
        }
        let range = start..self.buffer.len();
        // A file input left empty still sends a part with an empty name and no bytes.
        if file_name.is_empty() && range.is_empty() {
            return Ok(());
        }
        let mut digests = Digests { sha1: [0; 20], md5: [0; 16], sha256: [0; 32] };
        digests.sha1.copy_from_slice(&sha1.finalize());
        digests.md5.copy_from_slice(&md5::Digest::finalize(md5));
        digests.sha256.copy_from_slice(&sha256.finalize());
        self.files.push(UploadedFile { field: name, file_name, content_type, range, digests });
        Ok(())
    }
}

async fn next_chunk(
    field: &mut multer::Field<'_>,
    stall: Duration,
    announced: usize,
) -> Result<Option<Bytes>, UploadError> {
    tokio::time::timeout(stall, field.chunk())
        .await
        .map_err(|_| UploadError::Stalled(stall))?
        .map_err(|err| multipart_error(err, announced))
}

async fn read_text(
    mut field: multer::Field<'_>,
    name: &str,
    limits: UploadLimits,
) -> Result<Zeroizing<String>, UploadError> {
    let mut bytes = Zeroizing::new(Vec::new());
    while let Some(chunk) = next_chunk(&mut field, limits.stall_timeout, usize::MAX).await? {
        if bytes.len() + chunk.len() > limits.max_text_field_bytes {
            return Err(UploadError::FieldTooLong {
                field: name.to_owned(),
                limit: limits.max_text_field_bytes,
            });
        }
        // Reserved up front to the limit would waste memory; growing copies are freed through
        // the zeroing allocator.
        bytes.extend_from_slice(&chunk);
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(UploadError::Malformed(format!("the field {name} is not UTF-8 text"))),
    }
}

fn multipart_error(err: multer::Error, announced: usize) -> UploadError {
    match err {
        multer::Error::StreamSizeExceeded { .. } => UploadError::LongerThanAnnounced(announced),
        // Its Display names only field names and parse positions, never content.
        other => UploadError::Malformed(other.to_string()),
    }
}

/// An upload of one file in form field `field`, received as the pipeline receives one (for the
/// unit tests of whatever holds uploads).
#[cfg(test)]
pub(crate) async fn received_for_tests(
    budget: &std::sync::Arc<super::MediaBudget>,
    field: &str,
    file_name: &str,
    content: &[u8],
) -> MediaUpload {
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n".to_vec();
    body.extend_from_slice(
        format!("--B\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--B--\r\n");
    let reservation = budget.reserve(body.len()).unwrap();
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))]);
    let mut receiver = Receiver::new(stream, "B", reservation, UploadLimits::default()).unwrap();
    receiver.leading_field("csrf_token").await.unwrap();
    receiver.finish().await.unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaBudget;

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, bytes) in parts {
            out.extend_from_slice(b"--XyZ\r\n");
            match file {
                Some(file) => out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: image/png\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => out.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    /// Feeds `bytes` in small chunks, as a network would.
    fn stream(bytes: Vec<u8>) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            bytes.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        futures_util::stream::iter(chunks)
    }

    async fn receive(
        bytes: Vec<u8>,
        announced: usize,
    ) -> Result<(Zeroizing<String>, MediaUpload), UploadError> {
        let budget = MediaBudget::new(1 << 20);
        let reservation = budget.reserve(announced).unwrap();
        let mut receiver = Receiver::new(stream(bytes), "XyZ", reservation, UploadLimits::default())?;
        let token = receiver.leading_field("csrf_token").await?;
        Ok((token, receiver.finish().await?))
    }

    #[tokio::test]
    async fn files_land_in_the_buffer_with_their_digests_and_text_fields_beside_them() {
        let bytes = body(&[
            ("csrf_token", None, b"tok"),
            ("images", Some("a.png"), b"first image bytes"),
            ("note", None, b"seen on 2026-11-20"),
            ("images", Some("b.png"), b"second"),
            ("images", Some(""), b""),
        ]);
        let len = bytes.len();
        let (token, upload) = receive(bytes, len).await.unwrap();
        assert_eq!(token.as_str(), "tok");
        assert_eq!(upload.field("note"), Some("seen on 2026-11-20"));
        let files = upload.files();
        assert_eq!(files.len(), 2, "the empty file input is skipped");
        assert_eq!((files[0].file_name(), files[0].content_type()), ("a.png", Some("image/png")));
        assert_eq!(upload.bytes(&files[0]), b"first image bytes");
        assert_eq!(upload.bytes(&files[1]), b"second");
        // Reference values from coreutils: printf 'first image bytes' | sha1sum / md5sum / sha256sum
        let d = files[0].digests();
        assert_eq!(hex::encode(d.sha1), "7a97a0031aeaf5f23b3e23b0552f7db336433edc");
        assert_eq!(hex::encode(d.md5), "e55516da732edf3c72a1d983e6a0ed90");
        assert_eq!(hex::encode(d.sha256), "13f6f3a85aebee71c6d4917d4dabe816808098d1bf0fb24aa1bef22a5799f380");
    }

    #[tokio::test]
    async fn the_token_must_come_first() {
        let bytes = body(&[("images", Some("a.png"), b"x"), ("csrf_token", None, b"tok")]);
        let len = bytes.len();
        assert!(matches!(receive(bytes, len).await, Err(UploadError::MissingLeadingField("csrf_token"))));
    }

    #[tokio::test]
    async fn a_body_longer_than_announced_is_refused() {
        let bytes = body(&[("csrf_token", None, b"tok"), ("images", Some("a.png"), &[7u8; 500])]);
        let err = receive(bytes, 300).await.err().expect("refused");
        assert!(matches!(err, UploadError::LongerThanAnnounced(300)), "{err}");
    }

    #[tokio::test]
    async fn a_truncated_body_is_malformed() {
        let mut bytes = body(&[("csrf_token", None, b"tok"), ("images", Some("a.png"), b"abcdef")]);
        let len = bytes.len();
        bytes.truncate(len - 12);
        assert!(matches!(receive(bytes, len).await, Err(UploadError::Malformed(_))));
    }

    #[tokio::test]
    async fn long_text_fields_are_refused() {
        let long = vec![b'a'; 70 * 1024];
        let bytes = body(&[("csrf_token", None, b"tok"), ("note", None, &long)]);
        let len = bytes.len();
        assert!(matches!(receive(bytes, len).await, Err(UploadError::FieldTooLong { .. })));
    }
}
