//! Two link settings of the server binary that keep its resident memory small (BENCHMARKS.md, "Code
//! layout"), for Linux targets:
//!
//! - `link/hot-text.ld` places the functions that run at start-up and under load first in the
//!   executable, so they occupy fewer pages (regenerate it with
//!   `cargo bench --bench kanban-bench -- hot-text`). The script only orders sections: a name it
//!   lists that the build does not have is ignored, so every profile links with it and a stale
//!   script costs memory, never correctness. With lld (Rust's default linker on x86_64 Linux) the
//!   rest of `.text` follows in one section; GNU ld links the rest as a second `.text`.
//! - `-z pack-relative-relocs` stores the executable's ~18 600 relative relocations as a RELR
//!   bitmap (5 KiB) instead of RELA entries (440 KiB) that the loader reads, and keeps resident, at
//!   every start. It needs glibc 2.36 or newer at run time (Debian 12), and lld or GNU ld 2.38.

use std::path::Path;

fn main() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("link").join("hot-text.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !linux {
        return;
    }
    if script.is_file() {
        println!("cargo:rustc-link-arg-bin=agent-kanban=-Wl,-T,{}", script.display());
    }
    if std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu") {
        println!("cargo:rustc-link-arg-bin=agent-kanban=-Wl,-z,pack-relative-relocs");
    }
}
