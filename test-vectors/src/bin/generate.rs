//! Writes `vectors/*.json` and `schemas/*.schema.json`, or with `--check` verifies that the committed files are
//! byte-identical to what this generator produces.
//!
//! `cargo run -p test-vectors --bin generate [-- --check]`

use std::path::Path;
use std::process::ExitCode;

use test_vectors::{FAMILIES, render};

fn main() -> ExitCode {
    let check = std::env::args().any(|argument| argument == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = 0;
    for family in &FAMILIES {
        for (path, text) in [
            (
                root.join("vectors").join(format!("{}.json", family.name)),
                render(&(family.generate)()),
            ),
            (
                root.join("schemas").join(format!("{}.schema.json", family.name)),
                render(&(family.schema)()),
            ),
        ] {
            if check {
                if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    eprintln!("{} is not what the generator produces", path.display());
                    stale += 1;
                }
            } else if let Err(error) = std::fs::write(&path, text) {
                eprintln!("cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            } else {
                println!("wrote {}", path.display());
            }
        }
    }
    if stale > 0 {
        eprintln!("{stale} file(s) differ: run `cargo run -p test-vectors --bin generate`");
        return ExitCode::FAILURE;
    }
    if check {
        println!("all vector and schema files match the generator");
    }
    ExitCode::SUCCESS
}
