//! End to end: chains that reduce along the rows, tiled by columns and
//! fused into one parallel loop over blocks of columns
//! (`strata-fuse-columns`): a softmax along dim 0 and a normalization
//! along dim 0 (the mean, then the variance of the centered values: two
//! reductions) and a softmax under a causal mask (which reads the column
//! index: each block must see its columns' places in the matrix) in f32
//! and f64, and a chain of a column maximum and a
//! column sum under an elementwise consumer in every element type; on
//! matrices, and on rank-3 tensors along dim 1 (the chain fused inside the
//! loop over the leading dimension). Ranks 1 and 4 are not covered: a
//! rank-1 reduction along the rows is a sum of everything, and nests of
//! three loops are not matched (ARCHITECTURE.md).
//!
//! The module's target has a 128 KiB L2, so that matrices of 150 KB are
//! tiled (and their outputs, larger than the L2, written with streaming
//! stores where a view's rows start on a vector's boundary): the sizes leave a narrower last block (a branch of the block
//! loop) and rows that fill no whole vector, at every vector width the
//! host runs (SSE2, AVX2, AVX-512), at 1 and 2 threads. Every function
//! must be reported fused; results are checked against plain Rust loops
//! in f64, and the fused code, which keeps each element's operations in
//! their order, must give the same bits at both thread counts.

mod common;
use std::sync::Mutex;

use common::buffer;
use strata_driver::jit::{CompileOptions, ElemType, Kernel};

/// Kernels allocate through one process-wide counting allocator, and the
/// thread cap is per calling thread: tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// `(batch, rows, columns)`: batch 0 is a matrix, otherwise a rank-3
/// tensor reduced along dim 1 (each batch's chain fused inside the loop
/// over the batch that `strata-fuse-rows` makes).
///
/// Rows of 640 elements are whole cache lines in every element type, so
/// each block's view of the output starts on a line and its last nest
/// takes the streaming stores (the others keep ordinary ones).
const SHAPES: [(usize, usize, usize); 4] = [(0, 61, 601), (0, 70, 1001), (3, 61, 601), (0, 61, 640)];

fn data(e: ElemType, n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((s >> 33) % 2001) as i64 - 1000;
            if e.is_float() {
                v as f64 / 250.0
            } else {
                (v % 20) as f64
            }
        })
        .collect()
}


/// The kernels for element type `t` (`f32`...) at `r x c`, one function
/// per line group; returns the source and each function's name.
fn kernels(t: &str, b: usize, r: usize, c: usize, float: bool) -> (String, Vec<&'static str>) {
    let lead = if b > 0 {
        format!("{b}x")
    } else {
        String::new()
    };
    let (m, v) = (
        format!("tensor<{lead}{r}x{c}x{t}>"),
        format!("tensor<{lead}{c}x{t}>"),
    );
    let d = if b > 0 { 1 } else { 0 };
    let mut src = format!(
        "func.func @shift(%x: {m}) -> {m} {{
  %mx = strata.reduce \"max\" %x dims = [{d}] : {m} -> {v}
  %mb = strata.broadcast %mx dims = [{d}] : {v} -> {m}
  %s = strata.reduce \"add\" %x dims = [{d}] : {m} -> {v}
  %sb = strata.broadcast %s dims = [{d}] : {v} -> {m}
  %d = strata.sub %x, %mb : {m}
  %r = strata.add %d, %sb : {m}
  return %r : {m}
}}
"
    );
    let mut names = vec!["shift"];
    if float {
        src += &format!(
            "func.func @softmax(%x: {m}) -> {m} {{
  %mx = strata.reduce \"max\" %x dims = [{d}] : {m} -> {v}
  %mb = strata.broadcast %mx dims = [{d}] : {v} -> {m}
  %d = strata.sub %x, %mb : {m}
  %e = strata.exp %d : {m}
  %s = strata.reduce \"add\" %e dims = [{d}] : {m} -> {v}
  %sb = strata.broadcast %s dims = [{d}] : {v} -> {m}
  %r = strata.div %e, %sb : {m}
  return %r : {m}
}}
func.func @norm(%x: {m}) -> {m} {{
  %n = arith.constant {r}.0 : {t}
  %nt = strata.fill %n : {t} -> {v}
  %s = strata.reduce \"add\" %x dims = [{d}] : {m} -> {v}
  %mean = strata.div %s, %nt : {v}
  %mb = strata.broadcast %mean dims = [{d}] : {v} -> {m}
  %c = strata.sub %x, %mb : {m}
  %sq = strata.mul %c, %c : {m}
  %ss = strata.reduce \"add\" %sq dims = [{d}] : {m} -> {v}
  %var = strata.div %ss, %nt : {v}
  %sd = strata.sqrt %var : {v}
  %sdb = strata.broadcast %sd dims = [{d}] : {v} -> {m}
  %r = strata.div %c, %sdb : {m}
  return %r : {m}
}}
"
        );
        // A causal mask (row <= column) reads the column index as a
        // value: each block must see its columns' places in the matrix.
        let (row, col) = (d, d + 1);
        src += &format!(
            "func.func @masked(%x: {m}) -> {m} {{
  %y = \"strata.map\"(%x) ({{
  ^bb0(%e: {t}):
    %i = \"strata.index\"() {{dim = {row} : i64}} : () -> index
    %j = \"strata.index\"() {{dim = {col} : i64}} : () -> index
    %keep = arith.cmpi ule, %i, %j : index
    %low = arith.constant -1.0e+30 : {t}
    %r = arith.select %keep, %e, %low : {t}
    \"strata.yield\"(%r) : ({t}) -> ()
  }}) : ({m}) -> {m}
  %mx = strata.reduce \"max\" %y dims = [{d}] : {m} -> {v}
  %mb = strata.broadcast %mx dims = [{d}] : {v} -> {m}
  %df = strata.sub %y, %mb : {m}
  %e = strata.exp %df : {m}
  %s = strata.reduce \"add\" %e dims = [{d}] : {m} -> {v}
  %sb = strata.broadcast %s dims = [{d}] : {v} -> {m}
  %r = strata.div %e, %sb : {m}
  return %r : {m}
}}
"
        );
        names.extend(["softmax", "norm", "masked"]);
    }
    (src, names)
}

/// The reference for `name` on the row-major `b x r x c` tensor `x` (one
/// matrix when `b` is 0), column by column in f64; integers wrap at `bits`.
fn reference(name: &str, x: &[f64], b: usize, r: usize, c: usize, bits: u32) -> Vec<f64> {
    let mut out = vec![0.0; b.max(1) * r * c];
    for j in (0..b.max(1)).flat_map(|q| (0..c).map(move |j| q * r * c + j)) {
        let mut col: Vec<f64> = (0..r).map(|i| x[i * c + j]).collect();
        if name == "masked" {
            // Rows past the column masked out.
            col.iter_mut().enumerate().filter(|(i, _)| *i > j % c).for_each(|(_, v)| *v = -1.0e30);
        }
        let max = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = col.iter().sum();
        for i in 0..r {
            out[i * c + j] = match name {
                "shift" => col[i] - max + sum,
                "softmax" | "masked" => {
                    (col[i] - max).exp() / col.iter().map(|v| (v - max).exp()).sum::<f64>()
                }
                _ => {
                    let mean = sum / r as f64;
                    let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / r as f64;
                    (col[i] - mean) / var.sqrt()
                }
            };
        }
    }
    if bits == 32 {
        out.iter_mut().for_each(|v| *v = *v as i64 as i32 as f64);
    }
    out
}

#[test]
fn column_reduction_chains_fused_by_blocks_of_columns() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(2);
    strata_passes::set_remarks(true);
    let mut widths = 0;
    for (target, bits, registers) in [
        ("x86-64", 128, 16),
        ("x86-64-v3", 256, 16),
        ("x86-64-v4", 512, 32),
    ] {
        let resolved = strata_driver::target::resolve(target).unwrap();
        if strata_driver::target::check_executable(&resolved).is_err() {
            continue;
        }
        widths += 1;
        for e in [ElemType::F32, ElemType::F64, ElemType::I32, ElemType::I64] {
            for (b, r, c) in SHAPES {
                let (body, names) = kernels(e.name(), b, r, c, e.is_float());
                let shape: Vec<usize> = if b > 0 { vec![b, r, c] } else { vec![r, c] };
                let src = format!(
                    "module attributes {{strata.target = {{cpu = \"{target}\", features = \"\", vector_bits = {bits} : i64, vector_registers = {registers} : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}}}} {{\n{body}}}\n"
                );
                let kernel = Kernel::compile(&src, "columns.mlir", &CompileOptions::default())
                    .unwrap_or_else(|err| panic!("{err}\n{src}"));
                let fused = kernel
                    .remarks()
                    .iter()
                    .filter(|m| m.contains("strata-fuse-columns:") && m.contains("fused into"))
                    .count();
                assert_eq!(
                    fused,
                    names.len(),
                    "{} {shape:?} on {target}: every chain is fused\n{:#?}",
                    e.name(),
                    kernel.remarks()
                );
                let streams = kernel
                    .remarks()
                    .iter()
                    .filter(|m| m.contains("strata-vectorize:") && m.contains("streaming stores where the output is aligned"))
                    .count();
                assert_eq!(
                    streams > 0,
                    c == 640,
                    "{} {shape:?} on {target}: streaming stores only where rows are whole lines\n{:#?}",
                    e.name(),
                    kernel.remarks()
                );
                let x = data(e, b.max(1) * r * c, (b * 7 + r * c) as u64);
                let x: Vec<f64> = if e == ElemType::F32 {
                    x.iter().map(|v| *v as f32 as f64).collect()
                } else {
                    x
                };
                for name in names {
                    let want =
                        reference(name, &x, b, r, c, if e == ElemType::I32 { 32 } else { 64 });
                    let mut first: Option<Vec<f64>> = None;
                    for t in [1, 2] {
                        strata_runtime::pool::set_thread_limit(t);
                        let got = kernel
                            .call(name, &mut [buffer(e.name(), &shape, &x)])
                            .unwrap()
                            .remove(0)
                            .to_f64_vec();
                        let tol = match e {
                            ElemType::F32 => 1e-5,
                            ElemType::F64 => 1e-12,
                            _ => 0.0,
                        };
                        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{name} {} {shape:?} on {target} at {t} thread(s): element {k} is {g}, want {w}", e.name());
                        }
                        match &first {
                            None => first = Some(got),
                            Some(f) => assert!(
                                f.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                                "{name} {} {shape:?} on {target}: 1 and 2 threads differ",
                                e.name()
                            ),
                        }
                    }
                }
            }
        }
    }
    assert!(
        widths >= 2,
        "SSE2 and AVX2 run on every x86-64 host the project supports"
    );
}
