//! End to end: reductions long enough for `strata-vectorize` to split them
//! across the thread pool (a sum of everything at ranks 1 to 4, a few long
//! rows, column sums of tall and of wide matrices), and shorter ones that
//! stay whole, in every element type and kind, at odd sizes, against plain
//! Rust loops written here from the spec, at 1, 2, 3 and 8 threads.
//!
//! Float results may differ from the reference only by reassociation (the
//! spec allows a reduction any association): the tolerance scales with the
//! sum of the magnitudes. Integer results are exact. The split is made at
//! compile time from the target (its chunk count never depends on the
//! threads a call runs on), so the same kernel gives the same bits at
//! every thread count, which the test checks too.

mod common;
use std::sync::Mutex;

use common::buffer;
use strata_driver::jit::{Buffer, CompileOptions, ElemType, Kernel};

/// Kernels allocate through one process-wide counting allocator, and the
/// thread cap is per calling thread: tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

const ELEMS: [ElemType; 4] = [ElemType::F32, ElemType::F64, ElemType::I32, ElemType::I64];
const THREADS: [usize; 4] = [1, 2, 3, 8];

fn ty(shape: &[usize], e: ElemType) -> String {
    let dims: String = shape.iter().map(|d| format!("{d}x")).collect();
    format!("tensor<{dims}{}>", e.name())
}

/// Small integers (never zero, so products are not trivially zero), or
/// floats in [-2, 2].
fn data(e: ElemType, n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((s >> 33) % 2001) as i64 - 1000;
            if e.is_float() {
                v as f64 / 500.0
            } else {
                let v = v % 20;
                if v == 0 { 7.0 } else { v as f64 }
            }
        })
        .collect()
}


/// The reference: `kind` over `dims` of `x` (row-major `shape`), one plain
/// loop over the elements in order. Floats in f64 (the tolerance covers
/// f32); integers wrap at their width, as the spec's do. Also returns, per
/// output element, the sum of the magnitudes (the float tolerance's scale).
fn reference(e: ElemType, kind: &str, x: &[f64], shape: &[usize], dims: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !dims.contains(d)).collect();
    let out_len: usize = kept.iter().map(|d| shape[*d]).product();
    let init = match kind {
        "add" => 0.0,
        "mul" => 1.0,
        "max" => f64::NEG_INFINITY,
        _ => f64::INFINITY,
    };
    let mut out = vec![init; out_len];
    let mut ints = vec![if kind == "mul" { 1i64 } else { 0 }; out_len];
    let mut mags = vec![0.0; out_len];
    let mut idx = vec![0usize; shape.len()];
    for v in x {
        let o = kept.iter().fold(0, |acc, d| acc * shape[*d] + idx[*d]);
        mags[o] += v.abs();
        match kind {
            "add" if !e.is_float() => ints[o] = ints[o].wrapping_add(*v as i64),
            "mul" if !e.is_float() => ints[o] = ints[o].wrapping_mul(*v as i64),
            "add" => out[o] += v,
            "mul" => out[o] *= v,
            "max" => out[o] = out[o].max(*v),
            _ => out[o] = out[o].min(*v),
        }
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    if !e.is_float() && (kind == "add" || kind == "mul") {
        out = ints.iter().map(|v| if e == ElemType::I32 { *v as i32 as f64 } else { *v as f64 }).collect();
    }
    (out, mags)
}

struct Case {
    shape: &'static [usize],
    dims: &'static [usize],
    /// Whether `strata-vectorize` splits it across the pool (its remark
    /// says so).
    split: bool,
}

/// Every kind on every case, in one module per element type; each result
/// against the reference at every thread count, and the same bits at
/// every thread count.
fn run_cases(cases: &[Case], kinds: &[&str], what: &str) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(8);
    strata_passes::set_remarks(true);
    for e in ELEMS {
        let mut src = String::new();
        for (c, case) in cases.iter().enumerate() {
            let kept: Vec<usize> = (0..case.shape.len()).filter(|d| !case.dims.contains(d)).map(|d| case.shape[d]).collect();
            let (it, ot) = (ty(case.shape, e), ty(&kept, e));
            let dims: Vec<String> = case.dims.iter().map(|d| d.to_string()).collect();
            for kind in kinds {
                src += &format!(
                    "func.func @{kind}{c}(%a: {it}) -> {ot} {{\n  %r = strata.reduce \"{kind}\" %a dims = [{}] : {it} -> {ot}\n  return %r : {ot}\n}}\n",
                    dims.join(", ")
                );
            }
        }
        let kernel = Kernel::compile(&src, "reductions.mlir", &CompileOptions::default()).unwrap_or_else(|err| panic!("{err}\n{src}"));
        for (c, case) in cases.iter().enumerate() {
            let loc = src.lines().position(|l| l.starts_with(&format!("func.func @{}{c}(", kinds[0]))).expect("emitted") + 2;
            let split = kernel.remarks().iter().any(|r| r.contains(&format!("reductions.mlir:{loc}:")) && r.contains("split into"));
            assert_eq!(split, case.split, "{what}: {:?} dims {:?} {}: split remark; remarks: {:#?}", case.shape, case.dims, e.name(), kernel.remarks());
            let n: usize = case.shape.iter().product();
            // What the kernel sees: f32 data rounded once, here.
            let x: Vec<f64> = data(e, n, 7 + c as u64).into_iter().map(|v| if e == ElemType::F32 { v as f32 as f64 } else { v }).collect();
            for kind in kinds {
                // Float products of thousands of values under- or overflow.
                if *kind == "mul" && e.is_float() {
                    continue;
                }
                let (want, mags) = reference(e, kind, &x, case.shape, case.dims);
                let mut first: Option<Vec<f64>> = None;
                for t in THREADS {
                    strata_runtime::pool::set_thread_limit(t);
                    let got = kernel.call(&format!("{kind}{c}"), &mut [buffer(e.name(), case.shape, &x)]).unwrap().remove(0).to_f64_vec();
                    strata_runtime::pool::set_thread_limit(0);
                    let label = format!("{what}: {kind} of {:?} dims {:?} {} at {t} threads", case.shape, case.dims, e.name());
                    assert_eq!(got.len(), want.len(), "{label}: length");
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        let tol = match e {
                            ElemType::F32 => 1e-6 * (1.0 + mags[i]),
                            ElemType::F64 => 1e-13 * (1.0 + mags[i]),
                            _ => 0.0,
                        };
                        let ok = if kind == &"add" { (g - w).abs() <= tol } else { g == w };
                        assert!(ok, "{label}: element {i}: got {g}, want {w} (tolerance {tol})");
                    }
                    match &first {
                        None => first = Some(got),
                        Some(f) => assert!(
                            f.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                            "{label}: not the same bits as at 1 thread"
                        ),
                    }
                }
            }
        }
    }
    assert_eq!(strata_runtime::alloc::live_bytes(), 0, "{what}: a kernel leaked");
}

/// Sums (and maxima, minima, integer products) of everything, ranks 1 to
/// 4, odd sizes; some rows many, some few and long.
#[test]
fn reductions_of_everything_split_across_threads() {
    run_cases(
        &[
            Case { shape: &[100_003], dims: &[0], split: true },
            Case { shape: &[37, 2011], dims: &[0, 1], split: true },
            Case { shape: &[3, 5, 4447], dims: &[0, 1, 2], split: true },
            Case { shape: &[2, 3, 5, 2203], dims: &[0, 1, 2, 3], split: true },
            // The innermost dimension is 1: not vectorized, not split.
            Case { shape: &[70_001, 1], dims: &[0, 1], split: false },
            // Below the split threshold: vectorized in place.
            Case { shape: &[3, 5, 7, 9], dims: &[0, 1, 2, 3], split: false },
            Case { shape: &[4097], dims: &[0], split: false },
        ],
        &["add", "max", "min", "mul"],
        "everything",
    );
}

/// A few long rows: each row's reduction split in segments; many rows
/// stay one task per row.
#[test]
fn reductions_of_a_few_long_rows_split_across_threads() {
    run_cases(
        &[
            Case { shape: &[3, 65_537], dims: &[1], split: true },
            Case { shape: &[1, 100_001], dims: &[1], split: true },
            Case { shape: &[5, 3, 21_847], dims: &[1, 2], split: true },
            // Rows in two nested parallel loops: not split (the outer one is
            // what goes to the pool).
            Case { shape: &[2, 2, 65_537], dims: &[2], split: false },
            Case { shape: &[64, 4099], dims: &[1], split: false },
        ],
        &["add", "max", "min"],
        "rows",
    );
}

/// Column sums (reductions along the outer dimension): tall ones split
/// into blocks of rows with partial results, folded once; short or nested
/// ones in one pass over the rows.
#[test]
fn column_reductions_split_across_threads() {
    run_cases(
        &[
            Case { shape: &[4099, 129], dims: &[0], split: true },
            Case { shape: &[1001, 67], dims: &[0], split: true },
            Case { shape: &[2001, 37], dims: &[0], split: true },
            Case { shape: &[37, 70], dims: &[0], split: false },
            Case { shape: &[3, 2001, 37], dims: &[1], split: false },
            Case { shape: &[2001, 3, 37], dims: &[0], split: false },
            Case { shape: &[2, 1001, 3, 37], dims: &[1], split: false },
        ],
        &["add", "max", "min", "mul"],
        "columns",
    );
}

/// `out[i] = in[i permuted]`, the reference transpose (row-major).
fn transpose_ref(x: &[f64], shape: &[usize], perm: &[usize]) -> Vec<f64> {
    let out_shape: Vec<usize> = perm.iter().map(|p| shape[*p]).collect();
    let mut in_strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        in_strides[d] = in_strides[d + 1] * shape[d + 1];
    }
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        out.push(x[idx.iter().zip(perm).map(|(i, p)| i * in_strides[*p]).sum::<usize>()]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// One function `@t{c}` per case: `strata.transpose` of `shape` by `perm`.
fn transposes_source(cases: &[(&[usize], &[usize])], e: ElemType) -> String {
    let mut src = String::new();
    for (c, (shape, perm)) in cases.iter().enumerate() {
        let out: Vec<usize> = perm.iter().map(|p| shape[*p]).collect();
        let (it, ot) = (ty(shape, e), ty(&out, e));
        let p: Vec<String> = perm.iter().map(|d| d.to_string()).collect();
        src += &format!(
            "func.func @t{c}(%a: {it}) -> {ot} {{\n  %r = strata.transpose %a permutation = [{}] : {it} -> {ot}\n  return %r : {ot}\n}}\n",
            p.join(", ")
        );
    }
    src
}

/// Materialised transposes, ranks 2 to 4, every permutation of rank 3 and
/// several of rank 4, odd sizes (whole register tiles and the leftover
/// strips), every element type, at 1, 2 and 3 threads: exactly the
/// reference. The ones that move the contiguous dimension go through the
/// tiled copy (its remark says so); the others stay elementwise.
#[test]
fn transposes_every_type_rank_and_permutation() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(8);
    strata_passes::set_remarks(true);
    let cases: Vec<(&[usize], &[usize])> = vec![
        (&[37, 45], &[1, 0]),
        (&[64, 48], &[1, 0]),
        (&[3, 37, 45], &[0, 2, 1]),
        (&[3, 37, 45], &[1, 0, 2]),
        (&[3, 37, 45], &[1, 2, 0]),
        (&[3, 37, 45], &[2, 0, 1]),
        (&[3, 37, 45], &[2, 1, 0]),
        (&[2, 3, 19, 21], &[0, 1, 3, 2]),
        (&[2, 3, 19, 21], &[3, 2, 1, 0]),
        (&[2, 3, 19, 21], &[1, 3, 0, 2]),
        (&[2, 3, 19, 21], &[2, 0, 3, 1]),
        (&[2, 3, 19, 21], &[0, 2, 1, 3]),
    ];
    for e in ELEMS {
        let src = transposes_source(&cases, e);
        let kernel = Kernel::compile(&src, "transposes.mlir", &CompileOptions::default()).unwrap_or_else(|err| panic!("{err}\n{src}"));
        for (c, (shape, perm)) in cases.iter().enumerate() {
            // Tiled when the input's last dimension moves and both it and
            // the output's last have a vector's worth (16 covers every
            // width; between, it depends on the host's, so unchecked).
            let tiled = kernel.remarks().iter().any(|r| r.contains(&format!("transposes.mlir:{}:", 4 * c + 2)) && r.contains("transposed copy"));
            let (r, moves) = (shape.len(), perm.last() != Some(&(shape.len() - 1)));
            if !moves || (shape[r - 1] >= 16 && shape[perm[r - 1]] >= 16) {
                assert_eq!(tiled, moves, "{shape:?} {perm:?} {}: tiled remark", e.name());
            }
            let n: usize = shape.iter().product();
            let x: Vec<f64> = data(e, n, 3 + c as u64).into_iter().map(|v| if e == ElemType::F32 { v as f32 as f64 } else { v }).collect();
            let want = transpose_ref(&x, shape, perm);
            for t in [1, 2, 3] {
                strata_runtime::pool::set_thread_limit(t);
                let got = kernel.call(&format!("t{c}"), &mut [buffer(e.name(), shape, &x)]).unwrap().remove(0).to_f64_vec();
                strata_runtime::pool::set_thread_limit(0);
                assert_eq!(got, want, "transpose {shape:?} by {perm:?} {} at {t} threads", e.name());
            }
        }
    }
    assert_eq!(strata_runtime::alloc::live_bytes(), 0, "transposes: a kernel leaked");
}

/// Calls `name`, whose one result has `out_shape`, through `call_raw` with
/// the result one element past a cache line (no vector boundary), and
/// returns it.
fn call_into_misaligned(kernel: &Kernel, name: &str, inputs: &mut [Buffer], e: ElemType, out_shape: &[usize]) -> Vec<f64> {
    let bytes = out_shape.iter().product::<usize>() * e.size();
    let mut room = vec![0u8; bytes + 128];
    let skip = (64 - room.as_ptr() as usize % 64) % 64 + e.size();
    let pointers: Vec<*mut u8> = inputs.iter_mut().map(|b| b.bytes_mut().as_mut_ptr()).collect();
    // SAFETY: the inputs hold their parameters' bytes; `room` from `skip`
    // holds the result's and overlaps nothing.
    unsafe { kernel.call_raw(name, &pointers, &[room.as_mut_ptr().add(skip)]) }.unwrap();
    let mut got = Buffer::zeros(e, out_shape);
    got.bytes_mut().copy_from_slice(&room[skip..skip + bytes]);
    got.to_f64_vec()
}

/// Transposes whose output is larger than half the L2 stream their stores
/// where the output's rows are whole vectors (the remark says so): ranks 2
/// and 3, leftover strips, every element type on the host and f32 and f64
/// at each narrower or wider target width the host runs (tiles of 4 to 16
/// lanes, one to four of them per 64-byte step), at 1 and 2 threads, into
/// the runtime's aligned buffers and, through `call_raw`, into an output
/// one element past a cache line (the cached-store branch): exactly the
/// reference every time.
#[test]
fn large_transposes_stream_aligned_or_not() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(8);
    strata_passes::set_remarks(true);
    let cases: Vec<(&[usize], &[usize])> = vec![(&[1040, 613], &[1, 0]), (&[2, 1040, 307], &[0, 2, 1]), (&[1040, 3, 211], &[2, 1, 0])];
    let mut runs: Vec<(&str, ElemType)> = ELEMS.iter().map(|e| ("host", *e)).collect();
    for name in ["x86-64", "x86-64-v3", "x86-64-v4"] {
        if strata_driver::target::check_executable(&strata_driver::target::resolve(name).unwrap()).is_ok() {
            runs.extend([(name, ElemType::F32), (name, ElemType::F64)]);
        }
    }
    for (target, e) in runs {
        let options = CompileOptions { target: Some(target.into()), ..Default::default() };
        let l2 = strata_driver::target::resolve(target).unwrap().l2_bytes as usize;
        let src = transposes_source(&cases, e);
        let kernel = Kernel::compile(&src, "large.mlir", &options).unwrap_or_else(|err| panic!("{err}\n{src}"));
        for (c, (shape, perm)) in cases.iter().enumerate() {
            let out_shape: Vec<usize> = perm.iter().map(|p| shape[*p]).collect();
            let n: usize = shape.iter().product();
            let streams = kernel
                .remarks()
                .iter()
                .any(|r| r.contains(&format!("large.mlir:{}:", 4 * c + 2)) && r.contains("streaming stores"));
            assert_eq!(streams, 2 * n * e.size() > l2, "{shape:?} {} on {target}: streaming remark (L2 {l2} bytes)", e.name());
            let x: Vec<f64> = data(e, n, 5 + c as u64).into_iter().map(|v| if e == ElemType::F32 { v as f32 as f64 } else { v }).collect();
            let want = transpose_ref(&x, shape, perm);
            for t in [1, 2] {
                strata_runtime::pool::set_thread_limit(t);
                let got = kernel.call(&format!("t{c}"), &mut [buffer(e.name(), shape, &x)]).unwrap().remove(0).to_f64_vec();
                assert_eq!(got, want, "transpose {shape:?} by {perm:?} {} on {target} at {t} threads", e.name());
                // One element past a line: no vector boundary.
                let got = call_into_misaligned(&kernel, &format!("t{c}"), &mut [buffer(e.name(), shape, &x)], e, &out_shape);
                assert_eq!(got, want, "transpose {shape:?} by {perm:?} {} on {target} at {t} threads, unaligned output", e.name());
                strata_runtime::pool::set_thread_limit(0);
            }
        }
    }
    assert_eq!(strata_runtime::alloc::live_bytes(), 0, "large transposes: a kernel leaked");
}

/// Elementwise kernels whose output is larger than the target's last-level
/// cache stream their stores (the remark says so): `x + y` of ranks 1 to
/// 3, and `x + broadcast(v)` along dims [0, 2], every element type, at
/// each vector width the host runs (a module target with 256 KiB of L3,
/// so that outputs of a few hundred KB stream), at 1 and 2 threads, into
/// the runtime's aligned buffers and, through `call_raw`, into an output
/// one element past a cache line: exactly the reference every time.
#[test]
fn large_elementwise_outputs_stream_aligned_or_not() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(8);
    strata_passes::set_remarks(true);
    let shapes: [&[usize]; 3] = [&[70_000], &[300, 256], &[3, 101, 256]];
    for (target, bits, registers) in [("x86-64", 128, 16), ("x86-64-v3", 256, 16), ("x86-64-v4", 512, 32)] {
        let resolved = strata_driver::target::resolve(target).unwrap();
        if strata_driver::target::check_executable(&resolved).is_err() {
            continue;
        }
        let options = CompileOptions::default();
        for e in ELEMS {
            let mut src = format!(
                "module attributes {{strata.target = {{cpu = \"{target}\", features = \"\", vector_bits = {bits} : i64, vector_registers = {registers} : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 262144 : i64, cores = 2 : i64}}}} {{\n"
            );
            for (c, shape) in shapes.iter().enumerate() {
                let t = ty(shape, e);
                src += &format!("func.func @add{c}(%x: {t}, %y: {t}) -> {t} {{\n  %r = strata.add %x, %y : {t}\n  return %r : {t}\n}}\n");
            }
            let (t3, v) = (ty(shapes[2], e), ty(&[shapes[2][1]], e));
            src += &format!(
                "func.func @bcast(%x: {t3}, %v: {v}) -> {t3} {{\n  %b = strata.broadcast %v dims = [0, 2] : {v} -> {t3}\n  %r = strata.add %x, %b : {t3}\n  return %r : {t3}\n}}\n}}\n"
            );
            let kernel = Kernel::compile(&src, "stream.mlir", &options).unwrap_or_else(|err| panic!("{err}\n{src}"));
            // The stores' lines: each function's last op.
            for line in [3, 7, 11, 16] {
                let at = format!("stream.mlir:{line}:");
                assert!(
                    kernel.remarks().iter().any(|r| r.contains(&at) && r.contains("streaming stores")),
                    "{} on {target}: line {line} does not stream\n{:#?}",
                    e.name(),
                    kernel.remarks()
                );
            }
            let mut runs: Vec<(String, Vec<Vec<f64>>, &[usize])> = Vec::new();
            for (c, shape) in shapes.iter().enumerate() {
                let n: usize = shape.iter().product();
                runs.push((format!("add{c}"), vec![data(e, n, 11 + c as u64), data(e, n, 21 + c as u64)], shape));
            }
            let (n3, m) = (shapes[2].iter().product::<usize>(), shapes[2][1]);
            runs.push(("bcast".into(), vec![data(e, n3, 31), data(e, m, 32)], shapes[2]));
            for (name, inputs, shape) in &runs {
                let inputs: Vec<Vec<f64>> = inputs.iter().map(|v| if e == ElemType::F32 { v.iter().map(|x| *x as f32 as f64).collect() } else { v.clone() }).collect();
                let inner = shape[shape.len() - 1];
                let want: Vec<f64> = (0..inputs[0].len())
                    .map(|i| {
                        let other = if name == "bcast" { inputs[1][(i / inner) % m] } else { inputs[1][i] };
                        let s = inputs[0][i] + other;
                        match e {
                            ElemType::F32 => s as f32 as f64,
                            ElemType::I32 => s as i64 as i32 as f64,
                            _ => s,
                        }
                    })
                    .collect();
                let shapes_of = |k: usize| if k == 1 && name == "bcast" { vec![m] } else { shape.to_vec() };
                for t in [1, 2] {
                    strata_runtime::pool::set_thread_limit(t);
                    let mut args: Vec<Buffer> = inputs.iter().enumerate().map(|(k, v)| buffer(e.name(), &shapes_of(k), v)).collect();
                    let mut call_args = args.clone();
                    let got = kernel.call(name, &mut call_args).unwrap().remove(0).to_f64_vec();
                    assert_eq!(got, want, "{name} {shape:?} {} on {target} at {t} threads", e.name());
                    let got = call_into_misaligned(&kernel, name, &mut args, e, shape);
                    assert_eq!(got, want, "{name} {shape:?} {} on {target} at {t} threads, unaligned output", e.name());
                    strata_runtime::pool::set_thread_limit(0);
                }
            }
        }
    }
    assert_eq!(strata_runtime::alloc::live_bytes(), 0, "large elementwise: a kernel leaked");
}
