//! Uploaded media (images, supporting documents): where their bytes may live and for how long.
//!
//! Bytes of an upload go from the TLS connection straight into a [`buffer::MediaBuffer`]:
//! secret memory (`memfd_secret`) where the kernel has it, otherwise anonymous memory that is
//! locked (never swapped) and left out of core dumps; wiped when dropped. Never a file, never a
//! temporary file. [`upload::receive`] streams a `multipart/form-data` body into one buffer and
//! hashes each file (SHA-1, MD5, SHA-256) on the way. [`budget::MediaBudget`] bounds how much
//! media all requests together may hold, so a burst of uploads is refused, not an OOM.

pub mod budget;
pub mod buffer;
pub mod upload;

pub use budget::{BudgetRefusal, MediaBudget, Reservation};
pub use buffer::{BufferError, MediaBuffer, Protection};
pub use upload::{Digests, MediaUpload, UploadError, UploadedFile};
