//! Contractions whose operand is an elementwise function of several
//! inputs, which `strata-split-prologues` materializes before the kernel:
//! one attention head (`softmax(q . k^T * scale) . v`, where the softmax's
//! division by the row sums feeds the second product) in f32 and f64, and
//! a centred integer product (`(a - broadcast(m)) . b`) in i32 and i64, at
//! sizes that are not multiples of a vector or a tile, at 1 and 2 workers,
//! at O0 (no split) and O3, against plain Rust loops.

mod common;

use common::buffer;
use strata_driver::jit::{CompileOptions, Kernel};
use strata_passes::levels::Level;

const S: usize = 37;
const D: usize = 13;
const M: usize = 29;
const K: usize = 21;
const N: usize = 19;

fn attention(t: &str) -> String {
    format!(
        r#"
func.func @att(%q: tensor<{S}x{D}x{t}>, %k: tensor<{S}x{D}x{t}>, %v: tensor<{S}x{D}x{t}>) -> tensor<{S}x{D}x{t}> {{
  %kt = strata.transpose %k permutation = [1, 0] : tensor<{S}x{D}x{t}> -> tensor<{D}x{S}x{t}>
  %qk = strata.matmul %q, %kt : tensor<{S}x{D}x{t}>, tensor<{D}x{S}x{t}> -> tensor<{S}x{S}x{t}>
  %scale = arith.constant 0.25 : {t}
  %st = strata.fill %scale : {t} -> tensor<{S}x{S}x{t}>
  %s = strata.mul %qk, %st : tensor<{S}x{S}x{t}>
  %m = strata.reduce "max" %s dims = [1] : tensor<{S}x{S}x{t}> -> tensor<{S}x{t}>
  %mb = strata.broadcast %m dims = [1] : tensor<{S}x{t}> -> tensor<{S}x{S}x{t}>
  %d = strata.sub %s, %mb : tensor<{S}x{S}x{t}>
  %e = strata.exp %d : tensor<{S}x{S}x{t}>
  %sum = strata.reduce "add" %e dims = [1] : tensor<{S}x{S}x{t}> -> tensor<{S}x{t}>
  %sb = strata.broadcast %sum dims = [1] : tensor<{S}x{t}> -> tensor<{S}x{S}x{t}>
  %p = strata.div %e, %sb : tensor<{S}x{S}x{t}>
  %r = strata.matmul %p, %v : tensor<{S}x{S}x{t}>, tensor<{S}x{D}x{t}> -> tensor<{S}x{D}x{t}>
  return %r : tensor<{S}x{D}x{t}>
}}
"#
    )
}

fn centred(t: &str) -> String {
    format!(
        r#"
func.func @centred(%a: tensor<{M}x{K}x{t}>, %m: tensor<{M}x{t}>, %b: tensor<{K}x{N}x{t}>) -> tensor<{M}x{N}x{t}> {{
  %mb = strata.broadcast %m dims = [1] : tensor<{M}x{t}> -> tensor<{M}x{K}x{t}>
  %d = strata.sub %a, %mb : tensor<{M}x{K}x{t}>
  %r = strata.matmul %d, %b : tensor<{M}x{K}x{t}>, tensor<{K}x{N}x{t}> -> tensor<{M}x{N}x{t}>
  return %r : tensor<{M}x{N}x{t}>
}}
"#
    )
}

fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % 41) as f64 * scale - 20.0 * scale
        })
        .collect()
}

fn attention_ref(q: &[f64], k: &[f64], v: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; S * D];
    for i in 0..S {
        let s: Vec<f64> = (0..S).map(|j| (0..D).map(|d| q[i * D + d] * k[j * D + d]).sum::<f64>() * 0.25).collect();
        let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
        let sum: f64 = e.iter().sum();
        for d in 0..D {
            out[i * D + d] = (0..S).map(|j| e[j] / sum * v[j * D + d]).sum();
        }
    }
    out
}

fn centred_ref(a: &[f64], m: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; M * N];
    for i in 0..M {
        for j in 0..N {
            out[i * N + j] = (0..K).map(|k| (a[i * K + k] - m[i]) * b[k * N + j]).sum();
        }
    }
    out
}

fn compile(src: &str, level: Level) -> Kernel {
    let options = CompileOptions { level, tuning: false, ..CompileOptions::default() };
    Kernel::compile(src, "prologues.mlir", &options).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

#[test]
fn attention_and_centred_products_at_every_level_and_worker_count() {
    let (q, k, v) = (values(S * D, 1, 0.05), values(S * D, 2, 0.05), values(S * D, 3, 0.05));
    let want_att = attention_ref(&q, &k, &v);
    let (a, m, b) = (values(M * K, 4, 1.0), values(M, 5, 1.0), values(K * N, 6, 1.0));
    let want_centred = centred_ref(&a, &m, &b);
    strata_runtime::pool::set_threads(2);
    for level in [Level::O0, Level::O3] {
        for t in ["f32", "f64"] {
            let kernel = compile(&attention(t), level);
            for workers in [1, 2] {
                strata_runtime::pool::set_thread_limit(workers);
                let args = &mut [buffer(t, &[S, D], &q), buffer(t, &[S, D], &k), buffer(t, &[S, D], &v)];
                let got = kernel.call("att", args).unwrap().remove(0).to_f64_vec();
                let tol = if t == "f32" { 1e-5 } else { 1e-12 };
                for (i, (g, w)) in got.iter().zip(&want_att).enumerate() {
                    assert!((g - w).abs() <= tol * (1.0 + w.abs()), "attention {t} {level:?} at {workers}: element {i}: {g} vs {w}");
                }
            }
        }
        for t in ["i32", "i64"] {
            let kernel = compile(&centred(t), level);
            for workers in [1, 2] {
                strata_runtime::pool::set_thread_limit(workers);
                let args = &mut [buffer(t, &[M, K], &a), buffer(t, &[M], &m), buffer(t, &[K, N], &b)];
                let got = kernel.call("centred", args).unwrap().remove(0).to_f64_vec();
                assert_eq!(got, want_centred, "centred {t} {level:?} at {workers}");
            }
        }
    }
}

/// At O3 the operand is materialized and both products get the
/// register-blocked kernel (the remarks say so); the division is not in
/// the second product's loop.
#[test]
fn the_split_gives_both_products_a_kernel() {
    strata_passes::set_remarks(true);
    let kernel = compile(&attention("f32"), Level::O3);
    let kernels = kernel.remarks().iter().filter(|r| r.contains("register-blocked micro-kernel")).count();
    assert_eq!(kernels, 2, "{:#?}", kernel.remarks());
    let kernel = compile(&centred("i32"), Level::O3);
    assert!(kernel.remarks().iter().any(|r| r.contains("register-blocked micro-kernel")), "{:#?}", kernel.remarks());
}
