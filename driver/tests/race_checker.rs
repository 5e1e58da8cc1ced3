//! The run-time race checker (`--strata-races=runtime`) end to end, on
//! loops long enough that each thread's log fills and is flushed several
//! times (the kernel appends to it inline): a scatter through a
//! permutation runs clean and computes what it does unchecked; one
//! collision, between the first and the last iteration, or a read of an
//! element another iteration writes, is reported with the exact pair, at 1,
//! 2 and 3 pool workers and on OpenMP.

use std::process::Command;

const N: usize = 20011;

const KERNELS: &str = r#"
func.func @scatter(%p: memref<20011xindex>, %x: memref<20011xf32>, %out: memref<20011xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 20011 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %j = memref.load %p[%i] : memref<20011xindex>
    %v = memref.load %x[%i] : memref<20011xf32>
    memref.store %v, %out[%j] : memref<20011xf32>
  }
  return
}

func.func @gather_in_place(%p: memref<20011xindex>, %a: memref<20011xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 20011 : index
  %two = arith.constant 2.0 : f32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %j = memref.load %p[%i] : memref<20011xindex>
    %v = memref.load %a[%j] : memref<20011xf32>
    %w = arith.mulf %v, %two : f32
    memref.store %w, %a[%i] : memref<20011xf32>
  }
  return
}
"#;

const OMP: &str = "--pass-pipeline=builtin.module(strata-lower-to-affine,strata-check-races{mode=warn},strata-instrument-races,strata-parallelize{runtime=omp},strata-lower-to-llvm)";

fn list<T: ToString>(v: &[T]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// A permutation of 0..N from a fixed seed.
fn permutation() -> Vec<usize> {
    let mut p: Vec<usize> = (0..N).collect();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for k in (1..N).rev() {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        p.swap(k, (s >> 33) as usize % (k + 1));
    }
    p
}

/// The kernels' file, written once: the tests run as threads of one
/// process, and one rewriting the file while another's `strata-run` reads it
/// gave "no function named 'gather_in_place'".
fn kernels_file() -> &'static std::path::Path {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("strata-race-checker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kernels.mlir");
        std::fs::write(&file, KERNELS).unwrap();
        file
    })
}

/// Runs `entry` under the checker: (exit status ok, stdout, stderr).
fn run(entry: &str, how: &[&str], inputs: &[String]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata-run"))
        .arg(kernels_file())
        .args(["-e", entry, "--strata-races=runtime"])
        .args(how)
        .args(inputs.iter().map(|i| format!("--input={i}")))
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The ways to run: pool workers, and OpenMP (its thread count is fixed per
/// process).
fn configurations() -> Vec<Vec<&'static str>> {
    vec![vec!["--threads=1"], vec!["--threads=2"], vec!["--threads=3"], vec![OMP, "--threads=2"]]
}

#[test]
fn a_scatter_through_a_permutation_runs_clean_and_computes_the_same() {
    let p = permutation();
    let x: Vec<f32> = (0..N).map(|i| (i % 977) as f32 - 300.0).collect();
    let mut want = vec![0f32; N];
    for i in 0..N {
        want[p[i]] = x[i];
    }
    for how in configurations() {
        let inputs = [format!("{N}xindex={}", list(&p)), format!("{N}xf32={}", list(&x)), format!("{N}xf32=0")];
        let (ok, out, err) = run("scatter", &how, &inputs);
        assert!(ok, "{how:?}: {err}");
        assert!(!err.contains("error"), "{how:?}: {err}");
        let last = out.lines().last().unwrap_or_default();
        let got: Vec<f32> = last
            .strip_prefix(&format!("{N}xf32=["))
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{how:?}: {last}"))
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(got, want, "{how:?}");
    }
}

#[test]
fn a_collision_between_the_first_and_the_last_iteration_is_found() {
    let mut p = permutation();
    p[N - 1] = p[0];
    let element = p[0];
    for how in configurations() {
        let inputs = [format!("{N}xindex={}", list(&p)), format!("{N}xf32=1"), format!("{N}xf32=0")];
        let (ok, _, err) = run("scatter", &how, &inputs);
        assert!(!ok, "{how:?}: the race went unreported");
        let want = format!("iterations 0 and {} of the strata.parallel_for at line 6, column 3 both write element {element} (linear index)", N - 1);
        assert!(err.contains(&want), "{how:?}: {err}");
    }
}

#[test]
fn a_read_of_an_element_another_iteration_writes_is_found() {
    // Every iteration reads and writes its own element, but iteration 5
    // reads element 19000, which iteration 19000 writes.
    let mut p: Vec<usize> = (0..N).collect();
    p[5] = 19000;
    for how in configurations() {
        let inputs = [format!("{N}xindex={}", list(&p)), format!("{N}xf32=1")];
        let (ok, _, err) = run("gather_in_place", &how, &inputs);
        assert!(!ok, "{how:?}: the race went unreported");
        let want = "iterations 5 and 19000 of the strata.parallel_for at line 19, column 3 write and read element 19000 (linear index)";
        assert!(err.contains(want), "{how:?}: {err}");
    }
    // Without the stray read: clean.
    let p: Vec<usize> = (0..N).collect();
    for how in configurations() {
        let (ok, _, err) = run("gather_in_place", &how, &[format!("{N}xindex={}", list(&p)), format!("{N}xf32=1")]);
        assert!(ok && !err.contains("error"), "{how:?}: {err}");
    }
}
