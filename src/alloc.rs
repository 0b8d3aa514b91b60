//! Process-wide settings of the C allocator, applied once at start by `main` before any thread
//! exists. Nothing else here: no allocation policy leaks into the rest of the crate.
//!
//! glibc gives each thread that contends for the heap an arena of its own (up to eight per core),
//! and memory freed into one arena is not reused by the others or returned to the system. With
//! tokio's workers, its blocking threads and one SQLite thread per connection, a loaded server
//! kept ~20 MB of such free memory; two arenas keep the contention low on the few cores this
//! server targets and let freed memory be reused. Measured in BENCHMARKS.md (the `memory`
//! scenario); mimalloc was measured too and lost on resident memory.

/// Limit glibc to two malloc arenas (no-op elsewhere).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; called before other threads start.
        let ok = unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        if ok != 1 {
            eprintln!("warning: mallopt(M_ARENA_MAX) was refused");
        }
    }
}
