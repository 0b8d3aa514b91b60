//! Where the writer runs: one CPU for the writer task and the SQLite thread behind its connection.
//!
//! sqlx runs each SQLite connection on a thread of its own and talks to it over channels, so every
//! statement is a hand-off between two threads. Measured on the 2-core target machine, a hand-off
//! between threads on different cores costs far more than the statement (the sleeping core has to
//! be woken); with both threads on one core the writer's time per command fell by ~45 %
//! (BENCHMARKS.md). So the writer task gets a thread of its own with a single-threaded runtime,
//! and both it and the connection's SQLite thread (which inherits the affinity of the thread that
//! opens the connection) are bound to one CPU. Everything else stays free to use every core.
//!
//! Off by default (`database.pin_writer`): under a CPU quota (a container) the affinity mask still
//! lists every host CPU, and binding to one of them helps only where this server owns its CPUs.

use std::future::Future;

use tokio::sync::oneshot;

/// The CPU the writer is bound to: the last one this process may run on, or `None` when binding
/// is off, impossible, or pointless (a single allowed CPU).
pub fn writer_cpu(enabled: bool) -> Option<usize> {
    if !enabled {
        return None;
    }
    allowed_cpus().filter(|cpus| cpus.len() > 1).and_then(|cpus| cpus.last().copied())
}

#[cfg(target_os = "linux")]
fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it for this thread.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        set
    };
    // SAFETY: CPU_ISSET only reads the set.
    Some((0..libc::CPU_SETSIZE as usize).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) }).collect())
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Option<Vec<usize>> {
    None
}

/// Bind the calling thread to `cpu` (a failure only costs speed, so it is logged, not returned).
fn bind_current_thread(cpu: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the set is built locally and sched_setaffinity only reads it.
        let rc = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if rc != 0 {
            tracing::warn!(cpu, "cannot bind the writer thread to its CPU");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// Run `make()`'s future to completion on a new thread named `name` with a single-threaded
/// runtime, bound to `cpu` when given, and hand back its output. Threads the future spawns (such
/// as a SQLite connection's) inherit the binding.
pub async fn run_on_own_thread<T, F, Fut>(name: &str, cpu: Option<usize>, make: F) -> std::io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        if let Some(cpu) = cpu {
            bind_current_thread(cpu);
        }
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => {
                let _ = tx.send(Ok(runtime.block_on(make())));
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    })?;
    rx.await.map_err(|_| std::io::Error::other(format!("thread {name} ended without a result")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_is_off_when_disabled() {
        assert_eq!(writer_cpu(false), None);
    }

    #[tokio::test]
    async fn a_future_runs_on_its_own_named_thread() {
        let name = run_on_own_thread("kanban-test", writer_cpu(true), || async {
            std::thread::current().name().map(str::to_owned)
        })
        .await
        .expect("thread");
        assert_eq!(name.as_deref(), Some("kanban-test"));
    }
}
