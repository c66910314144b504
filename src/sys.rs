//! The only module allowed `unsafe`: the system calls no safe crate wraps.
//!
//! Today that is one thing, secret memory (`memfd_secret(2)`): pages the kernel removes from
//! its own direct map, so neither other processes, nor root reading `/proc/PID/mem`, nor a core
//! dump, nor hibernation can see them. `rustix` and `libc` offer the raw call only; mapping a
//! file is `unsafe` in `memmap2` because another process could change a shared file under us.
//! Everything else (prctl, rlimits, mlockall, Landlock, anonymous mappings) goes through safe
//! crates. Each `unsafe` block says why it is sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use memmap2::{MmapMut, MmapOptions};

/// Maps `len` bytes of fresh secret memory, readable and writable by this process only.
///
/// Fails with the kernel's error where `memfd_secret` is missing (before Linux 5.14, or with
/// `secretmem.enable=0`), filtered out (seccomp), or over `RLIMIT_MEMLOCK` (secret pages count
/// as locked memory); callers fall back to locked anonymous memory.
pub fn secret_memory(len: usize) -> io::Result<MmapMut> {
    // SAFETY: memfd_secret takes one integer flag argument and returns a new file descriptor or
    // -1; it reads and writes no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_secret, libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd =
        i32::try_from(fd).map_err(|_| io::Error::other("memfd_secret returned an invalid descriptor"))?;
    // SAFETY: the kernel just returned this descriptor to us and nothing else holds it, so the
    // OwnedFd is its sole owner and closes it exactly once.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(u64::try_from(len).map_err(io::Error::other)?)?;
    // SAFETY: memmap2 marks file mappings unsafe because another process could truncate or
    // write the file while it is mapped. This file has no name and no other descriptor: it
    // cannot be opened by anyone else, and we never resize it after this point. The mapping
    // keeps the memory alive after `file` is closed.
    unsafe { MmapOptions::new().len(len).map_mut(&file) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_memory_holds_what_is_written_or_says_why_not() {
        match secret_memory(8192) {
            Ok(mut map) => {
                map[..5].copy_from_slice(b"hello");
                map[8191] = 7;
                assert_eq!(&map[..5], b"hello");
                assert_eq!(map.len(), 8192);
            }
            // Kernels without it (or a seccomp filter) answer ENOSYS or EPERM; both are handled
            // by the caller's fallback. Anything else would be a bug in how we call it.
            Err(err) => assert!(
                matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM | libc::ENOMEM)),
                "{err}"
            ),
        }
    }
}
