//! `strata-hoist-broadcast-computations` end to end: a rank-3 kernel whose
//! fused body computes from two broadcasts (one along dims [1], one along
//! [0, 2]) and divides by one of them. At O3 those parts run once per
//! broadcast element and the float division becomes a multiply by the
//! reciprocal; at O0 (no fusion, so nothing to hoist) they do not. Both
//! against a plain Rust loop, in f32, f64, i32 and i64, at sizes that are
//! not multiples of a vector, at 128, 256 and 512-bit vectors where the
//! host has them, at 1 and 2 workers.

mod common;

use common::buffer;
use strata_driver::jit::{CompileOptions, Kernel};
use strata_passes::levels::Level;

fn kernel(t: &str, a: usize, b: usize, c: usize) -> String {
    let float = t.starts_with('f');
    let one = if float { "1.0" } else { "1" };
    // q = sqrt(r + 1) for floats, (r + 1) * (r + 1) for integers: never 0.
    let q = if float {
        format!("%q = strata.sqrt %rp : tensor<{a}x{c}x{t}>")
    } else {
        format!("%q = strata.mul %rp, %rp : tensor<{a}x{c}x{t}>")
    };
    format!(
        r#"
func.func @k(%x: tensor<{a}x{b}x{c}x{t}>, %r: tensor<{a}x{c}x{t}>, %cv: tensor<{b}x{t}>) -> tensor<{a}x{b}x{c}x{t}> {{
  %one = arith.constant {one} : {t}
  %ones = strata.fill %one : {t} -> tensor<{a}x{c}x{t}>
  %rp = strata.add %r, %ones : tensor<{a}x{c}x{t}>
  {q}
  %qb = strata.broadcast %q dims = [1] : tensor<{a}x{c}x{t}> -> tensor<{a}x{b}x{c}x{t}>
  %d = strata.div %x, %qb : tensor<{a}x{b}x{c}x{t}>
  %cb = strata.broadcast %cv dims = [0, 2] : tensor<{b}x{t}> -> tensor<{a}x{b}x{c}x{t}>
  %cc = strata.mul %cb, %cb : tensor<{a}x{b}x{c}x{t}>
  %y = strata.sub %d, %cc : tensor<{a}x{b}x{c}x{t}>
  return %y : tensor<{a}x{b}x{c}x{t}>
}}
"#
    )
}

fn values(n: usize, seed: u64, lo: f64, step: f64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + ((s >> 33) % 41) as f64 * step
        })
        .collect()
}

/// The kernel in plain Rust: f64 for floats, i64 with truncating division
/// for integers.
fn reference(t: &str, (a, b, c): (usize, usize, usize), x: &[f64], r: &[f64], cv: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a * b * c];
    for i in 0..a {
        for j in 0..b {
            for k in 0..c {
                let e = x[(i * b + j) * c + k];
                let rp = r[i * c + k] + 1.0;
                let cc = cv[j] * cv[j];
                out[(i * b + j) * c + k] = if t.starts_with('f') {
                    e / rp.sqrt() - cc
                } else {
                    ((e as i64) / ((rp * rp) as i64) - cc as i64) as f64
                };
            }
        }
    }
    out
}

fn widths() -> Vec<i64> {
    let host = strata_driver::target::resolve("host").unwrap();
    [128, 256, 512].into_iter().filter(|w| *w <= host.vector_bits).collect()
}

#[test]
fn broadcast_computations_hoisted_match_plain_loops() {
    strata_runtime::pool::set_threads(2);
    for (a, b, c) in [(5, 7, 9), (3, 17, 33)] {
        for t in ["f32", "f64", "i32", "i64"] {
            let int = !t.starts_with('f');
            let x = values(a * b * c, 1, if int { -200.0 } else { -2.0 }, if int { 10.0 } else { 0.1 });
            let r = values(a * c, 2, 0.0, if int { 1.0 } else { 0.075 });
            let cv = values(b, 3, if int { -20.0 } else { -1.0 }, if int { 1.0 } else { 0.05 });
            let want = reference(t, (a, b, c), &x, &r, &cv);
            let src = kernel(t, a, b, c);
            let mut configs: Vec<(String, CompileOptions)> =
                vec![("O0".into(), CompileOptions { level: Level::O0, tuning: false, ..Default::default() })];
            for w in widths() {
                let p = strata_passes::levels::pipeline(Level::O3)
                    .to_text()
                    .replace("strata-vectorize", &format!("strata-vectorize{{vector-width={w}}}"));
                configs.push((format!("O3 at {w} bits"), CompileOptions { pipeline: Some(p), tuning: false, ..Default::default() }));
            }
            for (what, options) in configs {
                let kernel = Kernel::compile(&src, "b.mlir", &options).unwrap_or_else(|e| panic!("{e}\n{src}"));
                for workers in [1, 2] {
                    strata_runtime::pool::set_thread_limit(workers);
                    let args = &mut [buffer(t, &[a, b, c], &x), buffer(t, &[a, c], &r), buffer(t, &[b], &cv)];
                    let got = kernel.call("k", args).unwrap().remove(0).to_f64_vec();
                    let tol = match t {
                        "f32" => 1e-5,
                        "f64" => 1e-12,
                        _ => 0.0,
                    };
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{t} {a}x{b}x{c} {what} at {workers}: element {i}: {g} vs {w}");
                    }
                }
            }
        }
    }
}

/// After `strata-lower-to-affine`: no division is left in the nest over
/// all of `x` (a multiply by the reciprocal), and the square root and the
/// reciprocal run in a nest over the broadcast's 5 x 9 elements.
#[test]
fn the_float_division_becomes_a_multiply() {
    let dir = std::env::temp_dir().join(format!("strata-broadcasts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("b.mlir");
    std::fs::write(&file, kernel("f32", 5, 7, 9)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata-opt"))
        .arg(&file)
        .arg("--pass-pipeline=builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{fuse-loops=true keep-contractions=true})")
        .output()
        .unwrap();
    let ir = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The nests, split at each outermost affine.parallel.
    let nests: Vec<&str> = ir.split("\n    affine.parallel").skip(1).collect();
    let big = nests.iter().find(|n| n.contains("affine.load %arg0[")).unwrap_or_else(|| panic!("no nest over x in\n{ir}"));
    assert!(!big.contains("divf") && !big.contains("sqrt") && big.contains("mulf"), "{big}");
    let small = nests.iter().find(|n| n.contains("math.sqrt")).unwrap_or_else(|| panic!("no nest with the square root in\n{ir}"));
    assert!(small.contains("arith.divf") && small.contains("memref<5x9xf32>") && !small.contains("5x7x9"), "{small}");
    let _ = std::fs::remove_dir_all(&dir);
}
