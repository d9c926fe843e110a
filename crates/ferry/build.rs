//! Link settings of the `ferry` binary that keep `ferry agent` small in memory (x86_64 Linux,
//! where Rust links with LLD):
//! - `--symbol-ordering-file=agent-symbols.order`: the functions the agent runs (recorded by
//!   `tools/agent_symbols.py`) are laid out together at the start of `.text`, so the agent
//!   faults in a few hundred KB of machine code instead of pages spread over all 25 MB. Names
//!   that no longer exist are skipped silently: a stale list costs memory, never correctness.
//! - `-z pack-relative-relocs`: relative relocations in the compact RELR form (glibc 2.36+),
//!   so that the loader does not read 1.4 MB of RELA entries at every start.

fn main() {
    println!("cargo:rerun-if-changed=agent-symbols.order");
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_ARCH") != "x86_64"
        || var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
    {
        return;
    }
    let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("agent-symbols.order");
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
