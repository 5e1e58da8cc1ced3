//! Whatever the input, `strata-opt` answers with output or diagnostics and
//! exit status 0 or 1: never a panic, a signal, or an LLVM fatal error.
//!
//! The inputs are every `.mlir` file of the lit suite and `examples/`, cut
//! after every line and at a spread of byte offsets, and with bytes swapped
//! for characters that break MLIR's grammar.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

fn mlir_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            mlir_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "mlir") {
            out.push(path);
        }
    }
}

fn run(input: &[u8], extra: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata-opt"))
        .args(["-", "--split-input-file"])
        .args(extra)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().unwrap_or(-1); // -1: killed by a signal
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn clean(input: &[u8], extra: &[&str]) -> Result<(), (i32, String)> {
    let (code, stderr) = run(input, extra);
    let bad = ["panicked", "LLVM ERROR", "Stack dump", "RUST_BACKTRACE"];
    if (code == 0 || code == 1) && !bad.iter().any(|b| stderr.contains(b)) {
        Ok(())
    } else {
        Err((code, stderr))
    }
}

fn check(input: &[u8], extra: &[&str], what: &str) {
    if let Err((code, stderr)) = clean(input, extra) {
        panic!("{what}: exit {code}\n--- stderr ---\n{stderr}\n--- input ---\n{}", String::from_utf8_lossy(input));
    }
}

/// Inputs checked many to a process, as the chunks of one
/// `--split-input-file` run (a process per input cost minutes); a batch
/// that fails is checked again input by input, so the failure names one.
struct Batch {
    inputs: Vec<(Vec<u8>, String)>,
}

impl Batch {
    const SIZE: usize = 48;

    fn add(&mut self, input: &[u8], what: String) {
        self.inputs.push((input.to_vec(), what));
        if self.inputs.len() == Self::SIZE {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.inputs.is_empty() {
            return;
        }
        let mut joined = Vec::new();
        for (input, _) in &self.inputs {
            joined.extend_from_slice(input);
            joined.extend_from_slice(b"\n// -----\n");
        }
        if clean(&joined, &[]).is_err() {
            for (input, what) in &self.inputs {
                check(input, &[], what);
            }
            check(&joined, &[], "a batch of inputs that each pass alone");
        }
        self.inputs.clear();
    }
}

#[test]
fn truncated_and_mangled_inputs_never_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    mlir_files(&root.join("tests"), &mut files);
    mlir_files(&root.join("examples"), &mut files);
    files.sort();
    assert!(files.len() >= 8, "found only {files:?}");
    let mut runs = 0;
    let mut batch = Batch { inputs: Vec::new() };
    for file in &files {
        let text = std::fs::read(file).unwrap();
        let name = file.display();
        // Every line boundary.
        for (i, _) in text.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            batch.add(&text[..i], format!("{name} cut at byte {i}"));
            runs += 1;
        }
        // A spread of byte offsets inside lines, and grammar-breaking swaps.
        for i in (0..text.len()).step_by(97) {
            batch.add(&text[..i], format!("{name} cut at byte {i}"));
            for swap in [b'}', b'(', b'%', b'"', b'<'] {
                let mut mangled = text.clone();
                mangled[i] = swap;
                batch.add(&mangled, format!("{name} byte {i} -> {}", swap as char));
            }
            runs += 6;
        }
    }
    batch.flush();
    // The same inputs through a whole pipeline, once per file.
    for file in &files {
        let text = std::fs::read(file).unwrap();
        check(&text, &["--strata-pipeline=O3"], &format!("{} at O3", file.display()));
        check(&text, &["--strata-lower-to-llvm"], &format!("{} lowered", file.display()));
    }
    assert!(runs > 500, "only {runs} runs");
}

#[test]
fn bad_command_lines_are_errors_not_crashes() {
    for args in [
        vec!["--pass-pipeline=builtin.module(strata-tile{tile-sizes=x})"],
        vec!["--pass-pipeline=builtin.module(strata-tile{tile-sizes=1,2"],
        vec!["--pass-pipeline=))"],
        vec!["--pass-pipeline="],
        vec!["--strata-parallelize=runtime=tbb"],
        vec!["--strata-pipeline="],
        vec!["--canonicalize=no-such-option=1"],
        vec!["--="],
    ] {
        let (code, stderr) = run(b"func.func @f() { return }", &args);
        // 1: a bad pipeline; 2: a command line clap cannot parse.
        assert!(code == 1 || code == 2, "{args:?}: exit {code}: {stderr}");
        assert!(stderr.contains("error:") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
