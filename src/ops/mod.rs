//! Operations support: the background resource sampler, memory leak detection and the health
//! reports built from them. Nothing here runs sysinfo or touches the disk on a request's behalf:
//! handlers read the sampler's retained samples.

pub mod memory;
pub mod report;
pub mod sampler;

pub use sampler::{Sampler, SamplerSettings, SamplerTask, Snapshot};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once shutdown begins, before anything else stops, so `/health/ready` answers 503 at once.
#[derive(Debug, Clone, Default)]
pub struct ShutdownFlag(Arc<AtomicBool>);

impl ShutdownFlag {
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
