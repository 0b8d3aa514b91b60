//! Code layout from a profile: which functions of the server ran (callgrind dumps, exact to the
//! instruction) and the linker script that places them at the front of the executable's code.
//!
//! Why: the kernel maps a file-backed page fault together with up to 15 neighbouring pages that
//! are already cached (fault-around), so code that runs is resident with whatever happens to sit
//! beside it. Start-up alone runs ~2 200 functions spread over the whole 15 MB of code, which made
//! ~10 MB of it resident. Placed together, the same functions take ~4 MB.
//!
//! The script names input sections (`.text.<symbol>`, one per function). A legacy-mangled Rust
//! name ends in a hash that changes with the build (dependencies, toolchain, profile), so a name is
//! written as a glob over that hash when the glob selects little besides the functions that ran;
//! the functions of a generic whose instantiations share one name (`tokio::…::raw::poll`) are
//! named exactly, as are C and v0-mangled names (std, whose names only change with the toolchain).
//! A name the linker does not find only loses its place; nothing else depends on it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// A glob may select at most this factor of the bytes that ran, plus [`GLOB_SLACK_BYTES`].
const GLOB_SLACK_FACTOR: u64 = 2;
const GLOB_SLACK_BYTES: u64 = 1024;

/// A function symbol of the executable.
pub struct Symbol {
    pub addr: u64,
    pub size: u64,
    pub name: String,
}

/// One group of the layout: its input-section patterns and what they cover.
#[derive(Default)]
pub struct Group {
    pub patterns: Vec<String>,
    pub functions: usize,
    pub bytes: u64,
    pub globs: usize,
}

/// The function symbols of `binary` with a size, sorted by address (`nm -S --defined-only`).
pub fn symbols(binary: &Path) -> Result<Vec<Symbol>, String> {
    let out = Command::new("nm")
        .args(["-S", "--defined-only"])
        .arg(binary)
        .output()
        .map_err(|e| format!("cannot run nm (binutils): {e}"))?;
    if !out.status.success() {
        return Err(format!("nm {} failed: {}", binary.display(), String::from_utf8_lossy(&out.stderr)));
    }
    let mut symbols: Vec<Symbol> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            // `ADDR SIZE TYPE NAME`; symbols without a size have no SIZE column and are skipped.
            let mut f = line.split_whitespace();
            let (addr, size, kind, name) = (f.next()?, f.next()?, f.next()?, f.next()?);
            let function = matches!(kind, "t" | "T" | "w" | "W");
            let size = u64::from_str_radix(size, 16).ok().filter(|s| *s > 0 && function)?;
            Some(Symbol { addr: u64::from_str_radix(addr, 16).ok()?, size, name: name.to_owned() })
        })
        .collect();
    symbols.sort_by_key(|s| s.addr);
    Ok(symbols)
}

/// Addresses of the instructions executed in `binary` according to a callgrind dump written with
/// `--dump-instr=yes --dump-line=no --compress-pos=no --compress-strings=no` (so every position
/// is an absolute address and every object line names its file).
///
/// Fails when more instructions ran in code valgrind could not place (`ob=???`) than in the
/// binary: valgrind places code by the `.text` section, so code linked into a section of another
/// name would be missing from the profile.
pub fn executed(dump: &str, binary: &Path) -> Result<HashSet<u64>, String> {
    let ours = |object: &str| Path::new(object.trim()).file_name() == binary.file_name();
    let (mut in_binary, mut unplaced_object) = (false, false);
    let mut addrs = HashSet::new();
    let mut unplaced = HashSet::new();
    for line in dump.lines() {
        if let Some(object) = line.strip_prefix("ob=") {
            in_binary = ours(object);
            unplaced_object = object.trim() == "???";
        } else if let Some(hex) = line.strip_prefix("0x")
            && (in_binary || unplaced_object)
        {
            let addr = u64::from_str_radix(hex.split_whitespace().next().unwrap_or(""), 16).ok();
            if in_binary { &mut addrs } else { &mut unplaced }.extend(addr);
        }
    }
    if unplaced.len() > addrs.len() {
        return Err(format!(
            "valgrind placed {} instructions in {} and {} in no object: is code linked outside .text?",
            addrs.len(),
            binary.display(),
            unplaced.len()
        ));
    }
    Ok(addrs)
}

/// Indices of the symbols (with their aliases at the same address) that contain any of `addrs`.
pub fn hit(symbols: &[Symbol], addrs: &HashSet<u64>) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for &a in addrs {
        let after = symbols.partition_point(|s| s.addr <= a);
        let Some(i) = after.checked_sub(1) else { continue };
        if a >= symbols[i].addr + symbols[i].size {
            continue;
        }
        let first = symbols[..=i].iter().rposition(|s| s.addr != symbols[i].addr).map_or(0, |j| j + 1);
        out.extend(first..=i);
    }
    out
}

/// The part of a legacy-mangled name before its hash: `_ZN…17h` of `_ZN…17h<16 hex digits>E`.
fn unhashed(name: &str) -> Option<&str> {
    if !name.starts_with("_ZN") {
        return None;
    }
    let body = name.strip_suffix('E')?;
    let split = body.len().checked_sub(16)?;
    let (head, hash) = (body.get(..split)?, body.get(split..)?);
    (head.ends_with("17h") && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(head)
}

/// Builds the groups in order; a function or glob placed by an earlier group is not repeated.
pub struct Layout<'a> {
    symbols: &'a [Symbol],
    /// Bytes of every function per unhashed name: what a glob over that name would select.
    glob_bytes: HashMap<&'a str, u64>,
    /// Functions already in a group.
    placed: HashSet<&'a str>,
    /// Patterns already written.
    written: HashSet<String>,
}

impl<'a> Layout<'a> {
    pub fn new(symbols: &'a [Symbol]) -> Layout<'a> {
        let mut glob_bytes = HashMap::new();
        for s in symbols {
            if let Some(head) = unhashed(&s.name) {
                *glob_bytes.entry(head).or_default() += s.size;
            }
        }
        Layout { symbols, glob_bytes, placed: HashSet::new(), written: HashSet::new() }
    }

    /// The group of the functions in `hit` not placed yet, in address order.
    pub fn group(&mut self, hit: &BTreeSet<usize>) -> Group {
        let mut ran: HashMap<&str, u64> = HashMap::new();
        for s in hit.iter().map(|&i| &self.symbols[i]) {
            if let Some(head) = unhashed(&s.name) {
                *ran.entry(head).or_default() += s.size;
            }
        }
        let mut group = Group::default();
        let symbols = self.symbols;
        for s in hit.iter().map(|&i| &symbols[i]) {
            if !self.placed.insert(&s.name) {
                continue;
            }
            group.functions += 1;
            group.bytes += s.size;
            let glob = unhashed(&s.name).filter(|head| {
                self.glob_bytes.get(head).copied().unwrap_or(0)
                    <= GLOB_SLACK_FACTOR * ran.get(head).copied().unwrap_or(0) + GLOB_SLACK_BYTES
            });
            let pattern = match glob {
                Some(head) => format!("{head}*E"),
                None => s.name.clone(),
            };
            // A glob written by an earlier function (of this group or an earlier one) covers it.
            if self.written.insert(pattern.clone()) {
                group.globs += usize::from(glob.is_some());
                group.patterns.push(pattern);
            }
        }
        group
    }
}

/// The linker script: each group's functions in turn at the start of `.text` (inserted before
/// `.init`, the section lld places after `.text`). The rest of `.text` follows them in the
/// linker's own order. The section keeps its name, so tools that look for
/// code in `.text` (valgrind attributes nothing outside it) still find all of it.
pub fn script(groups: &[(&str, &Group)]) -> String {
    let mut s = String::from(
        "/* The functions the server runs at start-up and under load, placed first in the executable so\n   \
         that they share as few pages as possible with code that never runs (BENCHMARKS.md, \"Code\n   \
         layout\"). Generated by `cargo bench --bench kanban-bench -- hot-text`: regenerate, do not\n   \
         edit. Linked by build.rs. */\nSECTIONS\n{\n  .text : {\n",
    );
    for (name, g) in groups {
        let _ = writeln!(
            s,
            "    /* {name}: {} functions, {} KiB, in {} names ({} of them globs over the hash) */\n    *(",
            g.functions,
            g.bytes / 1024,
            g.patterns.len(),
            g.globs
        );
        for p in &g.patterns {
            let _ = writeln!(s, "      .text.{p} .text.unlikely.{p}");
        }
        s.push_str("    )\n");
    }
    s.push_str("  }\n}\nINSERT BEFORE .init;\n");
    s
}
