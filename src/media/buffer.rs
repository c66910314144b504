//! [`MediaBuffer`]: a fixed-size region for one upload's bytes, out of reach of swap, core
//! dumps and other processes, wiped when dropped.
//!
//! Its capacity is fixed when it is made, so it never reallocates (a growing `Vec` leaves the
//! old copies in freed memory). It has no `Debug`, `Clone` or `Display`: its bytes can only be
//! read through [`MediaBuffer::as_slice`].

use memmap2::{Advice, MmapMut, MmapOptions};
use zeroize::Zeroize;

/// How a buffer's memory is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// `memfd_secret`: removed from the kernel's direct map; unreadable even through
    /// `/proc/PID/mem`; implicitly locked; never dumped.
    SecretMemory,
    /// Anonymous memory, `mlock`ed and marked `MADV_DONTDUMP` (kernels without secret memory).
    LockedMemory,
}

impl Protection {
    /// A short description for pages and logs.
    pub fn describe(self) -> &'static str {
        match self {
            Protection::SecretMemory => "secret memory (memfd_secret)",
            Protection::LockedMemory => "locked memory (mlock, excluded from core dumps)",
        }
    }
}

/// Why a buffer could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// The memory could not be locked; holding media in swappable memory is refused.
    #[error(
        "cannot lock {bytes} bytes of memory for media ({source}); the locked-memory limit is too low: \
         raise LimitMEMLOCK in the unit above hardening.media_budget_mib"
    )]
    CannotLock {
        /// The size asked for.
        bytes: usize,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// The kernel refused the mapping (out of address space or memory).
    #[error("cannot map {bytes} bytes of memory for media: {source}")]
    Map {
        /// The size asked for.
        bytes: usize,
        /// What the kernel said.
        source: std::io::Error,
    },
}

/// One upload's bytes.
pub struct MediaBuffer {
    map: MmapMut,
    len: usize,
    protection: Protection,
}

/// [`MediaBuffer::push`] would go past the capacity.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the media buffer is full ({capacity} bytes)")]
pub struct BufferFull {
    /// The fixed capacity.
    pub capacity: usize,
}

impl MediaBuffer {
    /// A buffer of exactly `capacity` bytes (at least one page is mapped).
    pub fn with_capacity(capacity: usize) -> Result<Self, BufferError> {
        let size = capacity.max(1);
        if let Ok(map) = crate::sys::secret_memory(size) {
            return Ok(Self { map, len: 0, protection: Protection::SecretMemory });
        }
        let map = MmapOptions::new()
            .len(size)
            .map_anon()
            .map_err(|source| BufferError::Map { bytes: size, source })?;
        // Excluded from dumps before anything is written to it.
        map.advise(Advice::DontDump).map_err(|source| BufferError::Map { bytes: size, source })?;
        // A forked child (none is ever made, but a library could) gets no copy.
        map.advise(Advice::DontFork).map_err(|source| BufferError::Map { bytes: size, source })?;
        map.lock().map_err(|source| BufferError::CannotLock { bytes: size, source })?;
        Ok(Self { map, len: 0, protection: Protection::LockedMemory })
    }

    /// Appends `bytes`, or refuses if they do not fit (nothing is written then).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        let end = self.len.checked_add(bytes.len()).filter(|end| *end <= self.capacity());
        let Some(end) = end else {
            return Err(BufferFull { capacity: self.capacity() });
        };
        self.map[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.map[..self.len]
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fixed capacity.
    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// How the memory is protected.
    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// A copy of `bytes` in a buffer of its own, as [`bytes::Bytes`] for a request body: the
    /// HTTP client streams it without copying it again, and the buffer is wiped and unmapped
    /// when the last reference goes (so an image sent to a service never sits in the heap).
    pub fn locked_bytes(bytes: &[u8]) -> Result<bytes::Bytes, BufferError> {
        let mut buffer = MediaBuffer::with_capacity(bytes.len())?;
        buffer.push(bytes).map_err(|full| BufferError::Map {
            bytes: full.capacity,
            source: std::io::Error::other("a buffer of the file's own size was too small"),
        })?;
        Ok(bytes::Bytes::from_owner(buffer))
    }
}

impl AsRef<[u8]> for MediaBuffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for MediaBuffer {
    fn drop(&mut self) {
        // Wiped before the mapping goes: unmapped anonymous pages are not cleared until the
        // kernel reuses them, and a locked page stays in RAM until then.
        self.map[..self.len].zeroize();
    }
}

/// Whether the byte at `address` lies in a mapping that is secret memory, or locked and left
/// out of core dumps (as a [`MediaBuffer`]'s is), according to `/proc/self/smaps`.
#[cfg(test)]
pub(crate) fn is_protected(address: usize) -> bool {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut lines = smaps.lines();
    while let Some(line) = lines.next() {
        let range = line.split_whitespace().next().and_then(|r| r.split_once('-'));
        let Some((start, end)) = range else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
            continue;
        };
        if !(start..end).contains(&address) {
            continue;
        }
        if line.contains("secretmem") {
            return true;
        }
        let flags = lines.find(|l| l.starts_with("VmFlags")).unwrap_or_default();
        return flags.contains(" lo") && flags.contains(" dd");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_holds_exactly_its_capacity() {
        let mut buffer = MediaBuffer::with_capacity(10).unwrap();
        buffer.push(b"hello").unwrap();
        buffer.push(b"world").unwrap();
        assert_eq!(buffer.as_slice(), b"helloworld");
        assert_eq!(buffer.push(b"!"), Err(BufferFull { capacity: 10 }));
        assert_eq!(buffer.as_slice(), b"helloworld", "a refused push writes nothing");
    }

    #[test]
    fn the_memory_is_secret_or_locked() {
        let buffer = MediaBuffer::with_capacity(4096).unwrap();
        let region = buffer.map.as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        // The mapping's paragraph in smaps starts with its address; VmFlags ends it.
        let header = format!("{region:x}-");
        let mut lines = smaps.lines().skip_while(|line| !line.starts_with(&header));
        let head = lines.next().expect("the mapping is in smaps");
        let flags = lines.find(|line| line.starts_with("VmFlags")).expect("VmFlags");
        match buffer.protection() {
            // secretmem mappings are locked by the kernel itself.
            Protection::SecretMemory => assert!(head.contains("secretmem"), "{head}"),
            Protection::LockedMemory => {
                assert!(flags.contains(" lo"), "not locked: {flags}");
                assert!(flags.contains(" dd"), "not excluded from dumps: {flags}");
            }
        }
    }
}
