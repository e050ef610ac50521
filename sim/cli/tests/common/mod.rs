//! Helpers shared by the CLI tests: run the built `pifs`, scratch files, and the bad-input
//! contract (exit 2, exactly one error line, no panic).
#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn pifs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pifs"))
        .args(args)
        .output()
        .expect("run pifs")
}

/// A path in a scratch folder of this test process.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pifs-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 2, exactly one error line mentioning every needle, no panic.
pub fn assert_bad_input(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "want one error line, got: {err}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "error line {:?} lacks {n:?}",
            lines[0]
        );
    }
}
