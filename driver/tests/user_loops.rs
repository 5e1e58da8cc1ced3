//! End to end: loops a user wrote with `strata.parallel_for` over an
//! `scf.for`, vectorized by `strata-vectorize` (`vectorize_user_loops`):
//! a 5-point stencil (loads at `%j - 1` and `%j + 1`), a ramp that reads
//! the column index as a value and one element of a rank-0 buffer, an
//! in-place update, and a copy along a rank-3 tensor's last dimension, in
//! every element type; at every vector width the host runs (SSE2, AVX2,
//! AVX-512) and at 1 and 2 threads. The loops start and stop off any
//! vector boundary, and the module's target has a 64 KiB last-level
//! cache, so that the larger outputs take the streaming stores after a
//! scalar peel. Results are checked against plain Rust loops in f64 and
//! must be the same bits at both thread counts.
//!
//! The run-time overlap check is tested on its own: a loop that reads
//! `%a[%j - 1]` and writes `%b[%j]`, called with `%a` and `%b` the same
//! memory, must give the scalar loop's result (the first element copied
//! all along), which a vector loop would not.

mod common;
use std::sync::Mutex;

use common::buffer;
use strata_driver::jit::{Buffer, CompileOptions, ElemType, Kernel};

static SERIAL: Mutex<()> = Mutex::new(());

/// (l, r, c): the rank-3 copy's leading extent, rows and columns; the 2-D
/// kernels use r x c.
const SHAPES: [(usize, usize, usize); 3] = [(3, 5, 45), (2, 37, 601), (3, 70, 1001)];

fn data(e: ElemType, n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((s >> 33) % 2001) as i64 - 1000;
            if e.is_float() {
                v as f64 / 250.0
            } else {
                (v % 50) as f64
            }
        })
        .collect()
}


/// The kernels for element type `t` on `r x c` (and `l x r x c`).
fn kernels(t: &str, l: usize, r: usize, c: usize, float: bool) -> String {
    let m = format!("memref<{r}x{c}x{t}>");
    let m3 = format!("memref<{l}x{r}x{c}x{t}>");
    let (add, mul, w) = if float { ("arith.addf", "arith.mulf", "0.2") } else { ("arith.addi", "arith.muli", "3") };
    let to_elem = if float {
        format!("%ji = arith.index_cast %j : index to i64\n      %jf = arith.sitofp %ji : i64 to {t}")
    } else {
        format!("%jf = arith.index_cast %j : index to {t}")
    };
    format!(
        "func.func @stencil(%in: {m}, %out: {m}) {{
  %c1 = arith.constant 1 : index
  %rows = arith.constant {rl} : index
  %cols = arith.constant {cl} : index
  %w = arith.constant {w} : {t}
  strata.parallel_for %i = %c1 to %rows step %c1 {{
    %up = arith.subi %i, %c1 : index
    %down = arith.addi %i, %c1 : index
    scf.for %j = %c1 to %cols step %c1 {{
      %left = arith.subi %j, %c1 : index
      %right = arith.addi %j, %c1 : index
      %a = memref.load %in[%i, %j] : {m}
      %b = memref.load %in[%up, %j] : {m}
      %c = memref.load %in[%down, %j] : {m}
      %d = memref.load %in[%i, %left] : {m}
      %e = memref.load %in[%i, %right] : {m}
      %s1 = {add} %a, %b : {t}
      %s2 = {add} %s1, %c : {t}
      %s3 = {add} %s2, %d : {t}
      %s4 = {add} %s3, %e : {t}
      %v = {mul} %s4, %w : {t}
      memref.store %v, %out[%i, %j] : {m}
    }}
  }}
  return
}}
func.func @ramp(%x: {m}, %k: memref<{t}>, %y: {m}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %rows = arith.constant {r} : index
  %cols = arith.constant {cl2} : index
  strata.parallel_for %i = %c0 to %rows step %c1 {{
    scf.for %j = %c3 to %cols step %c1 {{
      %a = memref.load %x[%i, %j] : {m}
      %s = memref.load %k[] : memref<{t}>
      {to_elem}
      %p = {mul} %a, %jf : {t}
      %v = {add} %p, %s : {t}
      memref.store %v, %y[%i, %j] : {m}
    }}
  }}
  return
}}
func.func @in_place(%x: {m}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = arith.constant {r} : index
  %cols = arith.constant {c} : index
  %w = arith.constant {w} : {t}
  strata.parallel_for %i = %c0 to %rows step %c1 {{
    scf.for %j = %c0 to %cols step %c1 {{
      %a = memref.load %x[%i, %j] : {m}
      %v = {mul} %a, %w : {t}
      %u = {add} %v, %a : {t}
      memref.store %u, %x[%i, %j] : {m}
    }}
  }}
  return
}}
func.func @copy3(%x: {m3}, %y: {m3}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %lead = arith.constant {l} : index
  %rows = arith.constant {r} : index
  %cols = arith.constant {c} : index
  strata.parallel_for %q = %c0 to %lead step %c1 {{
    scf.for %i = %c0 to %rows step %c1 {{
      scf.for %j = %c2 to %cols step %c1 {{
        %jm = arith.subi %j, %c2 : index
        %a = memref.load %x[%q, %i, %jm] : {m3}
        memref.store %a, %y[%q, %i, %j] : {m3}
      }}
    }}
  }}
  return
}}
",
        rl = r - 1,
        cl = c - 1,
        cl2 = c - 2,
    )
}

/// What each kernel leaves in its output, from `x` (`r x c`, or `l x r x
/// c` for `copy3`) in f64; integers wrap at `bits`.
fn reference(name: &str, x: &[f64], k: f64, l: usize, r: usize, c: usize, float: bool, bits: u32) -> Vec<f64> {
    let w = if float { 0.2 } else { 3.0 };
    let mut out = match name {
        "in_place" => x.to_vec(),
        "copy3" => vec![0.0; l * r * c],
        _ => vec![0.0; r * c],
    };
    match name {
        "stencil" => {
            for i in 1..r - 1 {
                for j in 1..c - 1 {
                    let s = x[i * c + j] + x[(i - 1) * c + j] + x[(i + 1) * c + j] + x[i * c + j - 1] + x[i * c + j + 1];
                    out[i * c + j] = s * w;
                }
            }
        }
        "ramp" => {
            for i in 0..r {
                for j in 3..c - 2 {
                    out[i * c + j] = x[i * c + j] * j as f64 + k;
                }
            }
        }
        "in_place" => out.iter_mut().for_each(|v| *v += *v * w),
        _ => {
            for q in 0..l * r {
                for j in 2..c {
                    out[q * c + j] = x[q * c + j - 2];
                }
            }
        }
    }
    if bits == 32 {
        out.iter_mut().for_each(|v| *v = *v as i64 as i32 as f64);
    }
    out
}

fn targets() -> Vec<(&'static str, usize, usize)> {
    [("x86-64", 128, 16), ("x86-64-v3", 256, 16), ("x86-64-v4", 512, 32)]
        .into_iter()
        .filter(|(t, _, _)| strata_driver::target::check_executable(&strata_driver::target::resolve(t).unwrap()).is_ok())
        .collect()
}

fn module(target: &str, bits: usize, registers: usize, body: &str) -> String {
    format!(
        "module attributes {{strata.target = {{cpu = \"{target}\", features = \"\", vector_bits = {bits} : i64, vector_registers = {registers} : i64, l1d_bytes = 32768 : i64, l2_bytes = 32768 : i64, l3_bytes = 65536 : i64, cores = 2 : i64}}}} {{\n{body}}}\n"
    )
}

#[test]
fn user_loops_vectorized_at_every_width_and_type() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(2);
    strata_passes::set_remarks(true);
    let widths = targets();
    assert!(widths.len() >= 2, "SSE2 and AVX2 run on every x86-64 host the project supports");
    for (target, bits, registers) in widths {
        for e in [ElemType::F32, ElemType::F64, ElemType::I32, ElemType::I64] {
            for (l, r, c) in SHAPES {
                let src = module(target, bits, registers, &kernels(e.name(), l, r, c, e.is_float()));
                let kernel = Kernel::compile(&src, "user_loops.mlir", &CompileOptions::default())
                    .unwrap_or_else(|err| panic!("{err}\n{src}"));
                let remarks: Vec<&String> =
                    kernel.remarks().iter().filter(|m| m.contains("strata-vectorize: loop over %j vectorized")).collect();
                assert_eq!(remarks.len(), 4, "{} {r}x{c} on {target}: every loop vectorized\n{:#?}", e.name(), kernel.remarks());
                // Outputs past 64 KiB stream, after a scalar peel.
                let streamed = remarks.iter().filter(|m| m.contains("streaming stores")).count();
                let big = r * c * e.size() > 65536;
                assert_eq!(streamed, if big { 3 } else { 0 }, "{} {r}x{c} on {target}\n{remarks:#?}", e.name());
                let x = data(e, l * r * c, (r * c) as u64);
                let x: Vec<f64> = if e == ElemType::F32 { x.iter().map(|v| *v as f32 as f64).collect() } else { x };
                let k = if e.is_float() { 1.25 } else { 7.0 };
                let bits32 = if e == ElemType::I32 { 32 } else { 64 };
                let tol = match e {
                    ElemType::F32 => 1e-5,
                    ElemType::F64 => 1e-12,
                    _ => 0.0,
                };
                for name in ["stencil", "ramp", "in_place", "copy3"] {
                    let want = reference(name, &x, k, l, r, c, e.is_float(), bits32);
                    let mut first: Option<Vec<f64>> = None;
                    for t in [1, 2] {
                        strata_runtime::pool::set_thread_limit(t);
                        let shape = if name == "copy3" { vec![l, r, c] } else { vec![r, c] };
                        let input = if name == "copy3" { x.clone() } else { x[..r * c].to_vec() };
                        let zeros = vec![0.0; input.len()];
                        let mut args = match name {
                            "in_place" => vec![buffer(e.name(), &shape, &input)],
                            "ramp" => vec![buffer(e.name(), &shape, &input), buffer(e.name(), &[], &[k]), buffer(e.name(), &shape, &zeros)],
                            _ => vec![buffer(e.name(), &shape, &input), buffer(e.name(), &shape, &zeros)],
                        };
                        kernel.call(name, &mut args).unwrap();
                        let got = args.pop().unwrap().to_f64_vec();
                        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                            assert!(
                                (g - w).abs() <= tol * (1.0 + w.abs()),
                                "{name} {} {shape:?} on {target} at {t} thread(s): element {i} is {g}, want {w}",
                                e.name()
                            );
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
}

#[test]
fn overlapping_buffers_take_the_scalar_loop() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_passes::set_remarks(true);
    let n = 203;
    let body = format!(
        "func.func @shift(%a: memref<{n}xf32>, %b: memref<{n}xf32>) {{
  %c1 = arith.constant 1 : index
  %n = arith.constant {n} : index
  scf.for %j = %c1 to %n step %c1 {{
    %p = arith.subi %j, %c1 : index
    %v = memref.load %a[%p] : memref<{n}xf32>
    memref.store %v, %b[%j] : memref<{n}xf32>
  }}
  return
}}
"
    );
    for (target, bits, registers) in targets() {
        let kernel = Kernel::compile(&module(target, bits, registers, &body), "shift.mlir", &CompileOptions::default()).unwrap();
        assert!(
            kernel.remarks().iter().any(|m| m.contains("loop over %j vectorized") && m.contains("1 pair(s) of buffers checked apart")),
            "{target}: {:#?}",
            kernel.remarks()
        );
        let x: Vec<f32> = (0..n).map(|i| i as f32 + 0.5).collect();
        // Apart: a shift by one.
        let mut args = vec![Buffer::from_f32(&[n], &x).unwrap(), Buffer::from_f32(&[n], &vec![0.0; n]).unwrap()];
        kernel.call("shift", &mut args).unwrap();
        let got = args[1].to_f64_vec();
        for j in 1..n {
            assert_eq!(got[j], x[j - 1] as f64, "{target}: apart, element {j}");
        }
        // The same memory: each element copies the one before, already
        // copied, so the first runs all along.
        let mut one = Buffer::from_f32(&[n], &x).unwrap();
        let p = one.bytes_mut().as_mut_ptr();
        // SAFETY: both parameters are `n` f32s at `p`, which lives for the call.
        unsafe { kernel.call_raw("shift", &[p, p], &[]).unwrap() };
        let got = one.to_f64_vec();
        for (j, g) in got.iter().enumerate() {
            assert_eq!(*g, x[0] as f64, "{target}: overlapping, element {j}");
        }
    }
}

/// Under `strata-parallelize{runtime=omp}` the streamed stencil is
/// computed right by a team of two: each thread's streaming stores are
/// fenced before the team joins (`strata-fence-streaming-stores`), so the
/// caller reads every one of them. (libomp reads `OMP_NUM_THREADS` once,
/// when this process first loads it: no other test here uses OpenMP.)
#[test]
fn streaming_stores_under_openmp() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_passes::set_remarks(true);
    let (l, r, c) = SHAPES[2];
    let e = ElemType::F32;
    let options = CompileOptions {
        pipeline: Some("builtin.module(strata-vectorize,strata-parallelize{runtime=omp},strata-lower-to-llvm)".into()),
        ..CompileOptions::default()
    };
    std::env::set_var("OMP_NUM_THREADS", "2");
    let (target, bits, registers) = targets()[1];
    let src = module(target, bits, registers, &kernels(e.name(), l, r, c, true));
    let kernel = Kernel::compile(&src, "user_loops.mlir", &options).unwrap_or_else(|err| panic!("{err}\n{src}"));
    assert!(
        kernel.remarks().iter().any(|m| m.contains("loop over %j vectorized") && m.contains("streaming stores")),
        "{:#?}",
        kernel.remarks()
    );
    let x: Vec<f64> = data(e, r * c, 7).iter().map(|v| *v as f32 as f64).collect();
    let want = reference("stencil", &x, 1.25, l, r, c, true, 64);
    for round in 0..3 {
        let mut args = vec![buffer(e.name(), &[r, c], &x), buffer(e.name(), &[r, c], &vec![0.0; r * c])];
        kernel.call("stencil", &mut args).unwrap();
        let got = args.pop().unwrap().to_f64_vec();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "stencil, call {round}: element {i} is {g}, want {w}");
        }
    }
}
