//! Replays every committed fuzz corpus file through the function its fuzz target runs, so
//! inputs the fuzzer once found stay fixed.

use std::path::Path;

#[test]
fn every_fuzz_corpus_file_replays_without_a_failure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("fuzz/corpus");
    let targets: Vec<_> = takedown::fuzzing::all_targets().collect();
    for (target, run) in &targets {
        let dir = corpus.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut replayed = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
        // A missing directory or an empty corpus is a mistake; a service's parser starts from
        // several answers (success, refusals, odd shapes).
        let least = if ["lumen_", "ncmec_", "salesforce_", "wiki_"].iter().any(|p| target.starts_with(p)) {
            4
        } else {
            1
        };
        assert!(replayed >= least, "{target}: {replayed} corpus file(s), expected at least {least}");
    }
    // The replayed targets are exactly the fuzz targets and their corpus directories.
    let names = |dir: &str, suffix: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(suffix).to_owned())
            .collect();
        names.sort();
        names
    };
    let mut replayed: Vec<String> = targets.iter().map(|(name, _)| (*name).to_owned()).collect();
    replayed.sort();
    assert_eq!(names("fuzz/fuzz_targets", ".rs"), replayed);
    assert_eq!(names("fuzz/corpus", ""), replayed);
}
