//! Regression tests for crashes of `strata-run` and `strata-opt` (issue 9):
//! each reproducer runs the tool binary as a user would and asserts on how
//! it ended: never a signal, the right exit code, the message. The lit
//! tests in `tests/strata-run/` check the same programs' output in detail.
//!
//! This binary does not link the library (only the tools run), so it is
//! cheap to build next to the others, which each link all of MLIR.

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Names for [`run`], which resolves them to [`RUN_PATH`] and [`OPT_PATH`].
const RUN: &str = "strata-run";
const OPT: &str = "strata-opt";

/// The tools cargo built for this test, or those in `STRATA_TOOLS_DIR` (as
/// for lit: e.g. to check release builds, or older builds for a test that
/// must fail without its fix).
fn tool(name: &str, built: &'static str) -> String {
    match std::env::var("STRATA_TOOLS_DIR") {
        Ok(dir) => format!("{dir}/{name}"),
        Err(_) => built.to_string(),
    }
}

static RUN_PATH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tool("strata-run", env!("CARGO_BIN_EXE_strata-run")));
static OPT_PATH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tool("strata-opt", env!("CARGO_BIN_EXE_strata-opt")));

/// MLIR's runtime libraries, from the prefix the project builds against.
fn mlir_lib(name: &str) -> String {
    format!("{}/lib/{name}", env!("STRATA_LLVM_PREFIX"))
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-regressions-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn run(tool: &str, args: &[&str]) -> Output {
    let tool = match tool {
        "strata-run" => RUN_PATH.as_str(),
        "strata-opt" => OPT_PATH.as_str(),
        other => other,
    };
    Command::new(tool).args(args).env("RUST_BACKTRACE", "0").output().expect("the tool starts")
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Exited on its own (no signal), without a Rust panic.
fn no_crash(out: &Output) {
    assert!(out.status.signal().is_none(), "killed by a signal: {}", describe(out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "panicked: {}", describe(out));
}

fn succeeds(out: &Output) -> String {
    no_crash(out);
    assert_eq!(out.status.code(), Some(0), "failed: {}", describe(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit code 1 with `message` on standard error, on one line.
fn fails_with(out: &Output, message: &str) {
    no_crash(out);
    assert_eq!(out.status.code(), Some(1), "expected exit code 1: {}", describe(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().any(|l| l.contains(message)), "expected '{message}': {}", describe(out));
}

#[test]
fn one_value_returned_twice() {
    let dir = scratch("twice");
    let f = write(
        &dir,
        "twice.mlir",
        r#"func.func @main(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) { %a = "strata.exp"(%x) : (tensor<3xf32>) -> tensor<3xf32>  return %a, %a : tensor<3xf32>, tensor<3xf32> }"#,
    );
    for level in ["O0", "O1", "O2", "O3"] {
        let out = succeeds(&run(RUN, &[&f, "--input=3xf32=0,1,2", &format!("--strata-pipeline={level}")]));
        assert_eq!(out, "3xf32=[1,2.7182817,7.389056]\n3xf32=[1,2.7182817,7.389056]\n", "at {level}");
    }
    let affine = succeeds(&run(OPT, &[&f, "--strata-lower-to-affine"]));
    assert!(affine.contains("memref.copy %arg1, %arg2"), "{affine}");
}

/// Elementwise fusion can make two results one value again (`%a` and
/// `%a + 0`), after `strata-convert-to-linalg` gave each its own copy:
/// upstream's buffer-results-to-out-params then segfaulted (found by the
/// Python package's tests).
#[test]
fn one_value_returned_twice_after_fusion() {
    let dir = scratch("twice-fused");
    let f = write(
        &dir,
        "twice.mlir",
        r#"func.func @main(%v: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi32>) {
  %n = "strata.neg"(%v) : (tensor<4xi32>) -> tensor<4xi32>
  %z = arith.constant 0 : i32
  %f = "strata.fill"(%z) : (i32) -> tensor<4xi32>
  %s = "strata.add"(%n, %f) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %n, %s : tensor<4xi32>, tensor<4xi32>
}"#,
    );
    for level in ["O0", "O1", "O2", "O3"] {
        let out = succeeds(&run(RUN, &[&f, "--input=4xi32=1,2,3,4", &format!("--strata-pipeline={level}")]));
        assert_eq!(out, "4xi32=[-1,-2,-3,-4]\n4xi32=[-1,-2,-3,-4]\n", "at {level}");
    }
    succeeds(&run(OPT, &[&f, "--strata-lower-to-affine"]));
}

#[test]
fn unsupported_parameter_types_are_named() {
    let dir = scratch("types");
    for ty in ["tensor<2xf16>", "tensor<4xi8>", "i1", "vector<4xf32>", "complex<f32>", "tensor<?xf32>"] {
        // The body uses the argument, so a call with none would crash.
        let f = write(&dir, "t.mlir", &format!("func.func @main(%a: {ty}) -> {ty} {{ return %a : {ty} }}"));
        let message = format!("parameter #0 of 'main' has unsupported type {ty}");
        fails_with(&run(RUN, &[&f]), &message);
        fails_with(&run(RUN, &[&f, "--input=2xf16=1"]), &message);
    }
}

const KERNELS: &str = r#"
func.func @fill() -> tensor<4xf32> {
  %c = arith.constant 2.5 : f32
  %r = strata.fill %c : f32 -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @inplace(%m: memref<5xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  strata.parallel_for %i = %c0 to %c5 step %c1 {
    %v = arith.index_cast %i : index to i64
    memref.store %v, %m[%i] : memref<5xi64>
  }
  return
}
"#;

#[test]
fn llvm_dialect_output_of_strata_opt_runs() {
    let dir = scratch("llvm");
    let src = write(&dir, "k.mlir", KERNELS);
    let ll = dir.join("k.ll.mlir").to_string_lossy().into_owned();
    succeeds(&run(OPT, &[&src, "--strata-pipeline=O3", "-o", &ll]));
    assert_eq!(succeeds(&run(RUN, &[&ll, "-e", "fill"])), "4xf32=[2.5,2.5,2.5,2.5]\n");
    fails_with(&run(RUN, &[&ll, "-e", "inplace"]), "'inplace' takes 1 argument(s) but 0 --input given");
    assert_eq!(succeeds(&run(RUN, &[&ll, "-e", "inplace", "--input=5xi64=7"])), "5xi64=[0,1,2,3,4]\n");
    // Without the recorded signature the shapes are unknown: an error.
    let text = std::fs::read_to_string(&ll).unwrap();
    let stripped: String = text
        .lines()
        .map(|l| match l.find(" attributes {strata.signature") {
            Some(at) => format!("{} {{", &l[..at]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bare = write(&dir, "bare.mlir", &stripped);
    fails_with(&run(RUN, &[&bare, "-e", "fill"]), "'fill' is an LLVM-dialect function without a recorded signature");
    fails_with(&run(RUN, &[&bare, "-e", "inplace"]), "do not say its buffers' shapes");
}

#[test]
fn entry_point_result_checks_the_type() {
    let dir = scratch("entry");
    let f = write(
        &dir,
        "e.mlir",
        r#"
func.func @takes(%a: tensor<4xf32>) -> i32 {
  %c = arith.constant 1 : i32
  return %c : i32
}
func.func @wide() -> i64 {
  %c = arith.constant 5000000000 : i64
  return %c : i64
}"#,
    );
    fails_with(
        &run(RUN, &[&f, "-e", "takes", "--entry-point-result=i32"]),
        "Error: JIT can't invoke a main function expecting arguments ('takes' takes 1)",
    );
    fails_with(&run(RUN, &[&f, "-e", "wide", "--entry-point-result=i32"]), "only single i32 function result supported");
    fails_with(&run(RUN, &[&f, "-e", "wide", "--entry-point-result=void"]), "expected void function");
    assert_eq!(succeeds(&run(RUN, &[&f, "-e", "wide", "--entry-point-result=i64"])), "5000000000\n");
}

#[test]
fn async_runtime_shares_the_heap() {
    let dir = scratch("async");
    let src = write(
        &dir,
        "a.mlir",
        r#"
func.func @entry() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 100000 : index
  %m = memref.alloc() : memref<100000xi64>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %ii = arith.index_cast %i : index to i64
    memref.store %ii, %m[%i] : memref<100000xi64>
  }
  %zero = arith.constant 0 : i64
  %sum = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (i64) {
    %v = memref.load %m[%i] : memref<100000xi64>
    %next = arith.addi %acc, %v : i64
    scf.yield %next : i64
  }
  vector.print %sum : i64
  memref.dealloc %m : memref<100000xi64>
  return
}"#,
    );
    let ll = dir.join("a.ll.mlir").to_string_lossy().into_owned();
    let prefix = env!("STRATA_LLVM_PREFIX");
    let pipeline = "--pass-pipeline=builtin.module(async-parallel-for{num-workers=4},async-to-async-runtime,\
        async-runtime-ref-counting,async-runtime-ref-counting-opt,arith-expand,convert-async-to-llvm,convert-scf-to-cf,\
        expand-strided-metadata,finalize-memref-to-llvm,convert-to-llvm,reconcile-unrealized-casts)";
    succeeds(&run(&format!("{prefix}/bin/mlir-opt"), &[&src, pipeline, "-o", &ll]));
    let libs = format!(
        "--shared-libs={},{},{}",
        mlir_lib("libmlir_runner_utils.so"),
        mlir_lib("libmlir_c_runner_utils.so"),
        mlir_lib("libmlir_async_runtime.so")
    );
    for _ in 0..5 {
        let out = succeeds(&run(RUN, &[&ll, "-e", "entry", "--entry-point-result=void", "-O0", &libs]));
        assert_eq!(out, "4999950000\n");
    }
}

#[test]
fn shared_lib_that_is_not_elf_is_an_error_and_a_missing_one_is_left_out() {
    let dir = scratch("libs");
    let f = write(&dir, "m.mlir", "func.func @main() -> i32 {\n %c = arith.constant 3 : i32\n return %c : i32\n}");
    let lib = write(&dir, "libfake.so", "INPUT(-lc)\n");
    fails_with(
        &run(RUN, &[&f, "--entry-point-result=i32", &format!("--shared-libs={lib}")]),
        "libfake.so' is not an ELF shared library",
    );
    // A library that does not exist is left out, as mlir-runner does.
    let out = run(RUN, &[&f, "--entry-point-result=i32", "--shared-libs=/no/such/lib.so"]);
    assert_eq!(succeeds(&out), "3\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("'/no/such/lib.so' does not exist; going on without it"), "{}", describe(&out));
}

#[test]
fn index_scalar_inputs() {
    let dir = scratch("index");
    let f = write(
        &dir,
        "i.mlir",
        "func.func @main(%i: index) -> index {\n %c = arith.constant 1 : index\n %r = arith.addi %i, %c : index\n return %r : index\n}",
    );
    assert_eq!(succeeds(&run(RUN, &[&f, "--input=index=3"])), "index=4\n");
    fails_with(&run(RUN, &[&f, "--input=f32=3"]), "the value is f32, but the parameter is index");
}

#[test]
fn thread_counts_are_bounded() {
    let dir = scratch("threads");
    let f = write(
        &dir,
        "t.mlir",
        "func.func @main(%a: tensor<1000xf32>) -> tensor<1000xf32> {\n %r = strata.exp %a : tensor<1000xf32>\n return %r : tensor<1000xf32>\n}",
    );
    let t = std::time::Instant::now();
    fails_with(&run(RUN, &[&f, "--input=1000xf32=0", "--threads=10000"]), "--threads=10000 is more than 256");
    assert!(t.elapsed().as_secs() < 10, "refusing took {:?}", t.elapsed());
    let out = succeeds(&run(RUN, &[&f, "--input=1000xf32=0", "--threads=256"]));
    assert!(out.starts_with("1000xf32=[1,1,"), "{out}");
}

/// Under a 4 GB address-space limit, a 40 GB result buffer, a 40 GB input
/// and a 40 GB temporary inside the kernel are each a clear error.
#[test]
fn failed_allocations_are_errors() {
    let dir = scratch("oom");
    let f = write(
        &dir,
        "big.mlir",
        r#"
func.func @result() -> tensor<10000000000xf32> {
  %c = arith.constant 1.0 : f32
  %r = strata.fill %c : f32 -> tensor<10000000000xf32>
  return %r : tensor<10000000000xf32>
}
func.func @temporary() -> tensor<f32> {
  %c = arith.constant 1.0 : f32
  %f = strata.fill %c : f32 -> tensor<10000000000xf32>
  %r = strata.reduce "add" %f dims = [0] : tensor<10000000000xf32> -> tensor<f32>
  return %r : tensor<f32>
}
func.func @input(%a: tensor<10000000000xf32>) -> tensor<f32> {
  %r = strata.reduce "add" %a dims = [0] : tensor<10000000000xf32> -> tensor<f32>
  return %r : tensor<f32>
}"#,
    );
    let limited = |args: &[&str]| -> Output {
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 4000000 && exec \"$0\" \"$@\"")
            .arg(RUN_PATH.as_str())
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("sh starts")
    };
    fails_with(&limited(&[&f, "-e", "result"]), "out of memory: cannot allocate 40000000000 bytes");
    fails_with(&limited(&[&f, "-e", "input", "--input=10000000000xf32=1"]), "out of memory: cannot allocate 40000000000 bytes");
    // O0 does not fuse the fill into the reduction: the kernel allocates.
    fails_with(&limited(&[&f, "-e", "temporary", "--strata-pipeline=O0"]), "out of memory: a kernel could not allocate");
}

/// The fuzzers' finds (`fuzz/corpus/*/regression-*`; the first byte of an
/// `npy` input picks the parameter's type and is not part of the file).
fn fuzz_input(target: &str, name: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::read(root.join("fuzz/corpus").join(target).join(name)).unwrap()
}

#[test]
fn npy_headers_that_lie_are_errors() {
    let dir = scratch("npy");
    let kernel = write(&dir, "k.mlir", "func.func @f(%x: tensor<3xi32>) -> tensor<3xi32> { return %x : tensor<3xi32> }");
    for (name, message) in [
        // The length field says 2.5 GB: npyz allocated it before reading.
        ("regression-header-oom", "the header says it is 2533359732 bytes long, but the file has 146 bytes after it"),
        // 15 nested braces: npyz's header parser took minutes.
        ("regression-header-nesting", "its header is nested 15 deep; only plain numeric arrays are supported"),
    ] {
        let npy = dir.join(format!("{name}.npy"));
        std::fs::write(&npy, &fuzz_input("npy", name)[1..]).unwrap();
        let start = std::time::Instant::now();
        let out = run(RUN, &[&kernel, "-e", "f", &format!("--input=@{}", npy.display())]);
        fails_with(&out, message);
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "{name} took {:?}", start.elapsed());
    }
}

#[test]
fn unicode_whitespace_in_a_pipeline_is_whitespace() {
    let text = String::from_utf8(fuzz_input("pipeline", "regression-nbsp")).unwrap();
    assert!(text.contains('\u{a0}'), "{text:?}");
    let dir = scratch("nbsp");
    let kernel = write(&dir, "k.mlir", "func.func @f() { return }");
    let out = run(OPT, &[&kernel, &format!("--pass-pipeline={}", "builtin.module(\u{a0}cse)")]);
    succeeds(&out);
    let out = run(OPT, &[&kernel, &format!("--pass-pipeline={text}")]);
    no_crash(&out);
}
