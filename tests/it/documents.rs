//! SECURITY.md promises only what a named test proves: every test it names must exist, so a
//! renamed or deleted test cannot leave a promise standing on nothing.

use std::path::Path;

#[test]
fn every_test_security_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut checked = 0;
    let mut missing = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        let Some((module, name)) = quoted.split_once("::") else { continue };
        let is_name = |s: &str| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !is_name(module) || !is_name(name) {
            continue;
        }
        let test_file = root.join("tests/it").join(format!("{module}.rs"));
        let test_code = std::fs::read_to_string(&test_file).ok();
        let test_exists = test_code.as_deref().is_some_and(|code| is_test(code, name));
        // Unit tests are named by module (`media::buffer`); the module must exist.
        let module_exists = root.join("src").join(module).join(format!("{name}.rs")).exists()
            || root.join("src").join(module).join(name).join("mod.rs").exists();
        // Functions of the appliance named as what does the work (`identity::identify`,
        // `router::authorize`): in a source file of that module's name, anywhere under src/.
        let function_exists = source_files(&root.join("src"))
            .into_iter()
            .filter(|file| file.file_stem().is_some_and(|stem| stem == module))
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .any(|code| code.contains(&format!("fn {name}(")) || code.contains(&format!("fn {name}<")));
        // A name in an integration-test module must be one of its tests, not some helper.
        let names_a_test_module = test_code.is_some() && !module_exists;
        if test_exists || (!names_a_test_module && (module_exists || function_exists)) {
            checked += 1;
        } else {
            missing.push(quoted.to_owned());
        }
    }
    assert!(missing.is_empty(), "SECURITY.md names what does not exist: {missing:?}");
    assert!(checked >= 40, "only {checked} names found: did the format of SECURITY.md change?");
}

fn source_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(source_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Whether `code` defines a test called `name`: the function carries `#[test]` or
/// `#[tokio::test]` on one of the lines just above it, and no `#[ignore]` (a skipped test proves
/// nothing).
fn is_test(code: &str, name: &str) -> bool {
    let lines: Vec<&str> = code.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        let line = line.trim_start();
        let is_definition =
            line.starts_with(&format!("fn {name}(")) || line.starts_with(&format!("async fn {name}("));
        let above = &lines[i.saturating_sub(3)..i];
        is_definition
            && above.iter().any(|l| l.trim() == "#[test]" || l.trim().starts_with("#[tokio::test"))
            && !above.iter().any(|l| l.trim_start().starts_with("#[ignore"))
    })
}
