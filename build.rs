//! Embeds the conformance resources of `profiles/` in the library (see
//! `src/profiles.rs`): writes `$OUT_DIR/profile_files.rs`, a table of
//! (file name, `include_str!` of the file) for every JSON file there.
//!
//! A build script rather than the `include_dir` crate: it is twenty lines,
//! adds no dependency, and `rerun-if-changed` on the folder rebuilds when a
//! file is added, removed or edited.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("profiles/ is readable")
        .map(|e| e.expect("profiles/ entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut table = String::from("/// Every JSON file of `profiles/`: (file name, contents), by name.\npub static FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        println!("cargo:rerun-if-changed={}", dir.join(name).display());
        writeln!(table, "    ({name:?}, include_str!({:?})),", dir.join(name).display().to_string()).unwrap();
    }
    table.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("profile_files.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}
