//! Replays every committed fuzz corpus file through the function its fuzz target runs, so
//! inputs the fuzzer once found stay fixed.

use std::path::Path;

#[test]
fn every_fuzz_corpus_file_replays_without_a_failure() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    let targets: Vec<_> = takedown::fuzzing::all_targets().collect();
    for (target, run) in &targets {
        let dir = corpus.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    // Each target has at least one seed; a missing directory or an empty corpus is a mistake.
    assert!(replayed >= targets.len(), "only {replayed} corpus files found");
}
