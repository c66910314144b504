//! The browser suite (`tests/browser/suite.mjs`): Debian's Chromium, driven by Playwright,
//! presents each demo staff certificate through its own TLS stack and clicks through every
//! workflow of `takedown demo`, checking each page with axe-core. Run here so the README's one
//! test command runs it too; its screenshots stay in `target/browser/` for a person to look at.

use std::path::Path;
use std::process::Command;

#[test]
fn every_workflow_clicked_through_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/browser");
    let output = Command::new("node")
        .arg(root.join("tests/browser/suite.mjs"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_takedown"))
        .arg("--out")
        .arg(&out)
        .current_dir(root)
        .output()
        .expect("node runs the browser suite (tests/install.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with --nocapture, and on failure.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser suite failed ({}); screenshots in {}\n{stdout}\n{stderr}",
        output.status,
        out.display()
    );
    let summary = stdout.lines().rev().find(|line| line.ends_with(" failed")).unwrap_or_default();
    assert!(summary.ends_with(" 0 failed") && !summary.starts_with("0 passed"), "{summary}");
}
