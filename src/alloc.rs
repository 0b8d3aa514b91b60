//! Process-wide settings of the C allocator, applied once at start by `main` before any thread
//! exists. Nothing else here: no allocation policy leaks into the rest of the crate.
//!
//! glibc gives each thread that contends for the heap an arena of its own (up to eight per core),
//! and memory freed into one arena is not reused by the others or returned to the system. With
//! tokio's workers, its blocking threads and one SQLite thread per connection, a loaded server
//! kept ~20 MB of such free memory; two arenas keep the contention low on the few cores this
//! server targets and let freed memory be reused.
//!
//! Large buffers (a board's ticket list is megabytes) are served by `mmap` and returned to the
//! system when freed — but only below glibc's mmap threshold, which grows after each such free
//! (up to 32 MiB), after which they stay in the heap. A fixed threshold keeps them mapped.
//! Measured in BENCHMARKS.md (the `memory` scenario); mimalloc was measured too and lost on
//! resident memory.

/// Buffers at least this large are mapped on their own and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;

/// Limit glibc to two malloc arenas and fix its mmap threshold (no-op elsewhere).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; called before other threads start.
        let ok = unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2) == 1 && libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        };
        if !ok {
            eprintln!("warning: mallopt was refused; the allocator keeps its defaults");
        }
    }
}

/// Give the memory freed after start-up (migrations, building the router) back to the system.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Free memory the allocator holds in its arenas (all of them), or `None` where it cannot tell.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn free_bytes() -> Option<usize> {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    Some(info.fordblks)
}

/// Free memory the allocator holds, where it cannot tell: `None`.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn free_bytes() -> Option<usize> {
    None
}

/// Free memory above which [`release_if_worthwhile`] returns it to the system.
pub const RELEASE_THRESHOLD: usize = 4 * 1024 * 1024;

/// Return free memory to the system when the allocator holds more than [`RELEASE_THRESHOLD`] of
/// it: freed buffers of a burst of requests or WebSocket handshakes otherwise stay resident, with
/// holes between live allocations that glibc trims only at the top of its heap by itself. Returns
/// whether it released.
pub fn release_if_worthwhile() -> bool {
    match free_bytes() {
        Some(free) if free > RELEASE_THRESHOLD => {
            release_free_memory();
            true
        }
        _ => false,
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn freed_heap_memory_is_counted_as_free() {
        // 16 MiB in 32 KiB blocks (below the mmap threshold, so from the heap), each followed by a
        // small block that stays allocated so the heap cannot simply shrink from the top.
        let mut big = Vec::new();
        let mut pins = Vec::new();
        for _ in 0..512 {
            big.push(vec![1u8; 32 * 1024]);
            pins.push(vec![2u8; 64]);
        }
        let before = free_bytes().expect("glibc reports its statistics");
        drop(big);
        let after = free_bytes().expect("glibc reports its statistics");
        assert!(after >= before + 8 * 1024 * 1024, "free {before} -> {after}");
        release_free_memory();
        assert_eq!(pins.len(), 512);
    }
}
