//! SECURITY.md promises only what a named test proves. Every test it names must exist (a renamed
//! or deleted test cannot leave a promise standing on nothing), every integration test it names
//! sits in a row of a section's proof map, and every test in a row goes through what that row
//! says the promise is kept by (a route, a command, a call): a test moved under the wrong promise,
//! or one that stopped exercising the route it is cited for, fails here. A count of tests the
//! file states must be the number there is.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn security_md() -> String {
    std::fs::read_to_string(root().join("SECURITY.md")).unwrap()
}

#[test]
fn every_test_security_md_names_exists() {
    let text = security_md();
    let mut checked = 0;
    let mut missing = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        let Some((module, name)) = quoted.split_once("::") else { continue };
        if !is_name(module) || !is_name(name) {
            continue;
        }
        let test_code = integration_module(module);
        let test_exists = test_code.as_deref().is_some_and(|code| is_test(code, name));
        // Unit tests are named by module (`media::buffer`); the module must exist.
        let module_exists = root().join("src").join(module).join(format!("{name}.rs")).exists()
            || root().join("src").join(module).join(name).join("mod.rs").exists();
        // Functions of the appliance named as what does the work (`identity::identify`,
        // `router::authorize`): in a source file of that module's name, anywhere under src/.
        let function_exists = source_files(&root().join("src"))
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

#[test]
fn every_test_in_a_proof_map_row_goes_through_what_the_row_names() {
    let rows = proof_map(&security_md());
    assert!(rows.len() >= 30, "only {} proof-map rows found: did the table format change?", rows.len());
    let mut failures = Vec::new();
    let mut tests_checked = 0;
    for row in &rows {
        assert!(!row.through.is_empty(), "the row {:?} names nothing its tests must go through", row.promise);
        assert!(!row.tests.is_empty(), "the row {:?} names no test", row.promise);
        for token in &row.through {
            if let Err(why) = token_is_real(token) {
                failures.push(format!("row {:?}: {why}", row.promise));
            }
        }
        for reference in &row.tests {
            let texts = match resolve(reference) {
                Ok(texts) => texts,
                Err(why) => {
                    failures.push(format!("row {:?}: {why}", row.promise));
                    continue;
                }
            };
            for (name, text) in texts {
                tests_checked += 1;
                if !row.through.iter().any(|token| goes_through(&text, token)) {
                    failures.push(format!(
                        "{name}, cited for {:?}, goes through none of {:?}",
                        row.promise, row.through
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "SECURITY.md's proof map is not true:\n{}", failures.join("\n"));
    assert!(tests_checked >= 100, "only {tests_checked} tests checked");
}

#[test]
fn every_integration_test_security_md_names_sits_in_a_proof_map_row() {
    let text = security_md();
    let in_rows: BTreeSet<String> = proof_map(&text)
        .iter()
        .flat_map(|row| row.tests.iter())
        .filter_map(|reference| resolve(reference).ok())
        .flatten()
        .map(|(name, _)| name)
        .collect();
    let outside: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| {
            quoted.split_once("::").is_some_and(|(module, name)| {
                is_name(module)
                    && is_name(name)
                    && integration_module(module).is_some_and(|c| is_test(&c, name))
            })
        })
        .filter(|quoted| !in_rows.contains(*quoted))
        .collect();
    assert!(outside.is_empty(), "named in SECURITY.md but under no promise of a proof map: {outside:?}");
}

#[test]
fn every_count_of_tests_security_md_states_is_the_number_there_is() {
    let text = security_md();
    let mut stated = 0;
    let mut wrong = Vec::new();
    for (at, _) in text.match_indices("::*`") {
        let module_start = text[..at].rfind('`').unwrap() + 1;
        let module = &text[module_start..at];
        // "`faults::*` (28 tests" or "`child_protection::*` (11 end-to-end tests".
        let after = &text[at + 4..text.len().min(at + 40)];
        let Some(count) = after
            .trim_start_matches([' ', '(', ','])
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .find(|pair| pair[1].starts_with("tests") || pair[1] == "end-to-end")
            .and_then(|pair| pair[0].parse::<usize>().ok())
        else {
            continue;
        };
        stated += 1;
        let code = integration_module(module).unwrap_or_else(|| panic!("`{module}::*` is no test module"));
        let actual = test_names(&code).len();
        if actual != count {
            wrong.push(format!("`{module}::*` is said to hold {count} tests; it holds {actual}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(stated >= 2, "only {stated} counts found: did the format change?");
}

/// One row of a section's proof map: the promise, what its tests must go through, the tests.
#[derive(Debug)]
struct Row {
    promise: String,
    through: Vec<String>,
    tests: Vec<String>,
}

/// The rows of every table whose header is `| Promise | Through | Tests |`.
fn proof_map(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_map = false;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_map = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.first() == Some(&"Promise") && cells.get(1) == Some(&"Through") {
            in_map = true;
            continue;
        }
        if !in_map || cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
            continue;
        }
        assert_eq!(cells.len(), 3, "a proof-map row needs three cells: {line}");
        rows.push(Row { promise: cells[0].to_owned(), through: quoted(cells[1]), tests: quoted(cells[2]) });
    }
    rows
}

fn quoted(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// A route token must name a route of the table, so a renamed route cannot leave rows checking
/// a path nothing serves.
fn token_is_real(token: &str) -> Result<(), String> {
    let Some((method, path)) = route_token(token) else { return Ok(()) };
    let method = if method == "HEAD" { "GET" } else { method };
    let routes = takedown::http::router::ROUTES.iter();
    #[cfg(feature = "demo")]
    let routes = routes.chain(takedown::http::router::TEST_ROUTES);
    let known = routes.into_iter().any(|r| r.method.as_str() == method && r.path == path);
    if known { Ok(()) } else { Err(format!("`{token}` is not a route of http::router")) }
}

fn route_token(token: &str) -> Option<(&str, &str)> {
    let (method, path) = token.split_once(' ')?;
    (["GET", "POST", "HEAD"].contains(&method) && path.starts_with('/')).then_some((method, path))
}

/// Whether a test's text (its body and every helper it reaches) goes through `token`: a route
/// (`POST /cases/{case}/approval`) is a string holding that path, a command (`takedown audit
/// verify`) is each of its words in a string, anything else is code the test must contain.
fn goes_through(text: &str, token: &str) -> bool {
    if let Some((_, path)) = route_token(token) {
        return mentions_path(text, path);
    }
    if let Some(words) = token.strip_prefix("takedown ") {
        return words
            .split_whitespace()
            .all(|word| string_literals(text).any(|s| s.split_whitespace().any(|w| w == word)));
    }
    text.contains(token)
}

/// Whether a quoted string in `text` (Rust or JavaScript) is `path`, placeholders standing for
/// any one segment (`{case}`, `{}`, `${id}`, a literal ID).
fn mentions_path(text: &str, path: &str) -> bool {
    let pattern: Vec<&str> = path.split('/').collect();
    text.char_indices().filter(|(_, c)| ['"', '\'', '`'].contains(c)).any(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find(['"', '\'', '`', '?', '#', ' ', '\n']).unwrap_or(rest.len());
        let candidate: Vec<&str> = rest[..end].split('/').collect();
        candidate.len() == pattern.len()
            && pattern
                .iter()
                .zip(&candidate)
                .all(|(want, got)| if want.starts_with('{') { !got.is_empty() } else { want == got })
    })
}

fn string_literals(text: &str) -> impl Iterator<Item = &str> {
    text.split('"').skip(1).step_by(2)
}

/// The texts a reference in a Tests cell stands for, each with the name it is reported under:
/// `module::test` (an integration test with the helpers it calls), `module::*` (all of that
/// module's tests), `src/….rs` (that file's unit tests), `src/….rs::test` (one of them),
/// `fuzz/fuzz_targets/….rs` (a fuzz target), or `tests/….sh` (a test script CI runs).
fn resolve(reference: &str) -> Result<Vec<(String, String)>, String> {
    if let Some((file, name)) = reference.split_once(".rs::") {
        let code = read(&format!("{file}.rs"))?;
        let text = function_text(&code, name, &[&code]).ok_or(format!("no test `{name}` in {file}.rs"))?;
        return Ok(vec![(reference.to_owned(), text)]);
    }
    if reference.starts_with("tests/") && reference.ends_with(".sh") {
        // A script that needs what cargo test cannot give (a booted systemd): its whole text.
        return Ok(vec![(reference.to_owned(), read(reference)?)]);
    }
    if reference.ends_with(".rs") {
        let code = read(reference)?;
        let text = if reference.starts_with("fuzz/") {
            // A target hands its input to `takedown::fuzzing::NAME`, where the property lives.
            fuzzing_function(&code).map_or(code.clone(), |body| format!("{code}\n{body}"))
        } else {
            let tests = code.find("#[cfg(test)]").ok_or(format!("{reference} has no unit tests"))?;
            let mut text = code[tests..].to_owned();
            // A module whose tests live beside it (`wire.rs` and `wire/tests.rs`).
            if let Ok(more) = read(&reference.replace(".rs", "/tests.rs")) {
                text.push_str(&more);
            }
            text
        };
        return Ok(vec![(reference.to_owned(), text)]);
    }
    let (module, name) = reference.split_once("::").ok_or(format!("`{reference}` names no test"))?;
    let code = integration_module(module).ok_or(format!("no test module tests/it/{module}.rs"))?;
    let harness = integration_module("harness").unwrap_or_default();
    let mut extra: Vec<&str> = vec![&code, &harness];
    // The browser test runs the suite: what it goes through is in the suite's files.
    let browser = if module == "browser" { browser_suite_text() } else { String::new() };
    extra.push(&browser);
    let names = if name == "*" { test_names(&code) } else { vec![name.to_owned()] };
    names
        .into_iter()
        .map(|name| {
            if !is_test(&code, &name) {
                return Err(format!("`{module}::{name}` is not a test"));
            }
            let mut text = function_text(&code, &name, &extra).unwrap_or_default();
            text.push_str(&browser);
            Ok((format!("{module}::{name}"), text))
        })
        .collect()
}

fn fuzzing_function(target: &str) -> Option<String> {
    let (_, rest) = target.split_once("takedown::fuzzing::")?;
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let mut sources = Vec::new();
    collect(&root().join("src/fuzzing"), "rs", &mut sources);
    let codes: Vec<String> = sources.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect();
    codes.iter().find_map(|code| function_body(code, &name).map(str::to_owned))
}

fn read(relative: &str) -> Result<String, String> {
    std::fs::read_to_string(root().join(relative)).map_err(|e| format!("{relative}: {e}"))
}

fn integration_module(module: &str) -> Option<String> {
    std::fs::read_to_string(root().join("tests/it").join(format!("{module}.rs"))).ok()
}

fn browser_suite_text() -> String {
    let mut files = Vec::new();
    collect(&root().join("tests/browser"), "mjs", &mut files);
    files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect::<Vec<_>>().join("\n")
}

/// The text of function `name` in `code`, followed by the functions of `sources` it calls,
/// transitively (a test that posts through a helper goes through the helper's route).
fn function_text(code: &str, name: &str, sources: &[&str]) -> Option<String> {
    let mut text = function_body(code, name)?.to_owned();
    let mut reached = BTreeSet::from([name.to_owned()]);
    loop {
        let mut grew = false;
        for source in sources {
            for helper in function_names(source) {
                if !reached.contains(&helper) && text.contains(&format!("{helper}(")) {
                    if let Some(body) = function_body(source, &helper) {
                        text.push('\n');
                        text.push_str(body);
                    }
                    reached.insert(helper);
                    grew = true;
                }
            }
        }
        if !grew {
            return Some(text);
        }
    }
}

/// From `fn name(` to the closing brace at the indentation the definition started at.
fn function_body<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let signature = trimmed.strip_prefix("pub ").unwrap_or(trimmed);
        let signature = signature.strip_prefix("async ").unwrap_or(signature);
        let defines =
            signature.starts_with(&format!("fn {name}(")) || signature.starts_with(&format!("fn {name}<"));
        if defines {
            let closing = format!("\n{}}}", " ".repeat(indent));
            let end = code[offset..].find(&closing).map_or(code.len(), |e| offset + e + closing.len());
            return Some(&code[offset..end]);
        }
        offset += line.len();
    }
    None
}

fn function_names(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let line = line.strip_prefix("async ").unwrap_or(line);
            let rest = line.strip_prefix("fn ")?;
            let end = rest.find(['(', '<'])?;
            Some(rest[..end].to_owned())
        })
        .collect()
}

fn test_names(code: &str) -> Vec<String> {
    function_names(code).into_iter().filter(|name| is_test(code, name)).collect()
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect(dir, "rs", &mut files);
    files
}

fn collect(dir: &Path, extension: &str, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "node_modules") {
                collect(&path, extension, files);
            }
        } else if path.extension().is_some_and(|e| e == extension) {
            files.push(path);
        }
    }
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
