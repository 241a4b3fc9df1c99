//! Helpers shared by the CLI test files: run the binary, expect success or a clean error.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "zkinfer-cli-test-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The fixture directory outlives its test process: remove those of finished runs.
pub fn remove_stale_dirs() {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("zkinfer-cli-test-")
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid).exists();
        if !alive && Path::new("/proc/self").exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

pub fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs and expects success; parses stdout as one JSON object when `json`.
pub fn ok(args: &[&str]) -> Output {
    let o = zkinfer(args);
    assert!(
        o.status.success(),
        "zkinfer {args:?} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    o
}

pub fn json_of(o: &Output) -> Value {
    let text = stdout(o);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one JSON line, got:\n{text}"
    );
    serde_json::from_str(lines[0]).unwrap()
}

/// Expects failure with a message on stderr.
pub fn fails(args: &[&str]) -> String {
    let o = zkinfer(args);
    assert!(
        !o.status.success(),
        "zkinfer {args:?} unexpectedly succeeded:\n{}",
        stdout(&o)
    );
    assert_eq!(o.status.code(), Some(1), "not a clean error exit (panic?)");
    let e = stderr(&o);
    assert!(e.contains("error:"), "no error message:\n{e}");
    assert!(!e.contains("panicked"), "panicked:\n{e}");
    e
}
