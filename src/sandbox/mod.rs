//! The process as a safe container for what it handles: no core dumps and no debugger
//! (`PR_SET_DUMPABLE 0`, `RLIMIT_CORE 0`), memory that is never swapped (`mlockall`, within the
//! [`memory`] model's bounds), and one
//! Landlock profile per subcommand that limits the files it may touch and the ports it may
//! bind and connect to.
//!
//! Everything here runs in `main`'s thread before any other thread exists: Landlock on this
//! kernel (ABI 7, no `all_threads`) restricts only the calling thread and the threads it starts
//! afterwards. The uploads themselves are protected by [`crate::media`], and freed heap memory
//! is wiped by the global allocator that `main.rs` installs.

pub mod memory;
pub mod process;
pub mod profile;

pub use process::{MemoryLock, forbid_dumps, lock_memory};
pub use profile::{LandlockOutcome, Profile, SandboxError};

/// What the sandbox achieved at start, for the log and the home page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxReport {
    /// Whether all memory is locked.
    pub memory: MemoryLock,
    /// How much of the Landlock profile the kernel enforces.
    pub landlock: LandlockOutcome,
}

impl SandboxReport {
    /// Warnings for the staff: what a best-effort setting let the daemon start without.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let LandlockOutcome::Partial(why) = &self.landlock {
            warnings.push(format!(
                "The file and network sandbox (Landlock) is not fully enforced on this machine: {why}. \
                 The configuration allows this (hardening.landlock = \"best-effort\"); do not handle \
                 real cases here until an operator has fixed it."
            ));
        }
        if let MemoryLock::NotLocked(why) = &self.memory {
            warnings.push(format!(
                "The daemon's memory is not locked, so parts of it could be written to swap: {why}. \
                 The configuration allows this (hardening.lock_memory = \"best-effort\")."
            ));
        }
        warnings
    }
}
