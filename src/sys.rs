//! The only module allowed `unsafe`: the system calls no safe crate wraps.
//!
//! Three things: secret memory (`memfd_secret(2)`): pages the kernel removes from
//! its own direct map, so neither other processes, nor root reading `/proc/PID/mem`, nor a core
//! dump, nor hibernation can see them; locking the memory a process already has by address
//! (`mlock2`, whose safe wrappers take raw pointers); and bounding glibc's malloc arenas
//! (`mallopt`). `rustix` and `libc` offer the raw call only; mapping a
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

/// Keeps glibc's malloc to `arenas` arenas. Each extra arena reserves a 64 MiB heap, and
/// under `mlockall(MCL_FUTURE)` a reservation counts in full against `RLIMIT_MEMLOCK` whether
/// touched or not (one per thread, up to eight per core, by default). Call it before starting
/// threads. Returns whether malloc took the setting (always true on glibc; other C libraries
/// have no arenas to bound, so there is nothing to do).
pub fn limit_malloc_arenas(arenas: u16) -> bool {
    /// Blocks this large are mapped on their own and unmapped when freed; the heap's free
    /// top is given back beyond this much (glibc's initial values, kept fixed).
    const MALLOC_MMAP_THRESHOLD: i32 = 128 * 1024;
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt takes two integers and changes one of malloc's tunables under
        // malloc's own lock; it touches no memory of ours. M_ARENA_MAX only bounds arenas
        // created later.
        let arenas_set = unsafe { libc::mallopt(libc::M_ARENA_MAX, i32::from(arenas)) == 1 };
        // SAFETY: as above. Fixed thresholds turn off glibc's dynamic ones, which rise after a
        // large block is freed (up to 32 MiB for mmap, twice that for trimming) and would then
        // keep that much freed memory locked in the heap, outside the model.
        let mmap_set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD) == 1 };
        // SAFETY: as above.
        let trim_set = unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, MALLOC_MMAP_THRESHOLD) == 1 };
        arenas_set && mmap_set && trim_set
    }
    #[cfg(not(target_env = "gnu"))]
    {
        let _ = arenas;
        true
    }
}

/// Locks, as their pages are first touched (`mlock2(MLOCK_ONFAULT)`), the private writable
/// mappings listed in `maps` (the text of `/proc/self/maps`): the heap, the stacks, the
/// binary's and libraries' data. Returns the bytes locked (what now counts against
/// `RLIMIT_MEMLOCK`). Read-only and shared mappings are left alone: program text is the file
/// itself and is never written to swap.
pub fn lock_writable_mappings(maps: &str) -> io::Result<u64> {
    let mut locked = 0u64;
    for (start, len) in writable_private_mappings(maps) {
        // SAFETY: mlock2 changes only how the kernel treats the pages of [start, start+len)
        // (kept in memory once touched); it neither reads nor writes them and frees nothing,
        // so no Rust object is affected. The range is one this process had mapped when `maps`
        // was read; if it was unmapped since, the kernel answers ENOMEM and nothing is locked.
        unsafe {
            rustix::mm::mlock_with(start as *mut std::ffi::c_void, len, rustix::mm::MlockFlags::ONFAULT)
        }
        .map_err(io::Error::from)?;
        locked += len as u64;
    }
    Ok(locked)
}

/// The private writable mappings (`rw-p`) of a `/proc/PID/maps` text, as (start, length).
pub fn writable_private_mappings(maps: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    maps.lines().filter_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (range, perms) = (fields.next()?, fields.next()?);
        if perms != "rw-p" {
            return None;
        }
        let (start, end) = range.split_once('-')?;
        let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
        Some((start, end.checked_sub(start)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_private_writable_mappings_are_listed() {
        let maps = "55d0a000-55d0b000 r--p 00000000 08:01 12 /usr/bin/x\n\
                    55d0b000-55d0d000 rw-p 00001000 08:01 12 /usr/bin/x\n\
                    7f00000000-7f00021000 rw-p 00000000 00:00 0 [heap]\n\
                    7f10000000-7f10001000 rw-s 00000000 00:01 3 /memfd:x\n\
                    7f20000000-7f20004000 ---p 00000000 00:00 0\n";
        let found: Vec<_> = writable_private_mappings(maps).collect();
        assert_eq!(found, vec![(0x55d0b000, 0x2000), (0x7f00000000, 0x21000)]);
    }

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
