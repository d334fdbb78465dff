//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same harness functions the libFuzzer
//! targets call, on stable Rust and without libFuzzer: an input that once crashed a target, or that a fix made
//! refusable, stays checked by `cargo test`. FUZZING.md says how the corpus is grown and minimized.

use std::fs;
use std::path::PathBuf;

use test_vectors::fuzz::TARGETS;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

/// Every target has a corpus, every input in it runs through its harness without a property failing, and some
/// input of each is accepted: the seeds hold valid encodings from the vectors, so a harness whose keys or roots
/// were wired wrong (refusing everything, checking nothing) is caught here.
#[test]
fn every_corpus_input_passes_its_harness() {
    for target in &TARGETS {
        let dir = corpus_dir().join(target.name);
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let (mut replayed, mut accepted) = (0, 0);
        for entry in entries {
            let path = entry.expect("corpus entry").path();
            let input = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            replayed += 1;
            accepted += usize::from((target.run)(&input));
        }
        assert!(replayed > 0, "{}: empty corpus", target.name);
        assert!(accepted > 0, "{}: no corpus input is accepted", target.name);
    }
}

/// No corpus directory is left without a target (a renamed target would silently stop being replayed).
#[test]
fn every_corpus_directory_names_a_target() {
    for entry in fs::read_dir(corpus_dir()).expect("fuzz/corpus") {
        let name = entry.expect("corpus directory").file_name();
        let name = name.to_str().expect("UTF-8 name");
        assert!(
            TARGETS.iter().any(|t| t.name == name),
            "fuzz/corpus/{name} has no harness in test_vectors::fuzz"
        );
    }
}
