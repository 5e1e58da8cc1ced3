//! End to end: every `strata` op, every element type it allows, ranks 0 to
//! 4, sizes that are not multiples of 8 or 16, through the default
//! pipeline and the JIT, against plain Rust loops written here from the
//! spec (never from the compiler's output). Compositions (an MLP layer,
//! softmax, layernorm, a generator with `strata.index` and an `scf.for`)
//! too; and the same kernels through `strata-run` at 1 and 2 threads on the
//! OpenMP path.

use std::{process::Command, sync::Mutex};

use strata_driver::jit::{Buffer, CompileOptions, ElemType, Kernel};
use strata_passes::levels::Level;

/// Kernels allocate through one process-wide counting allocator; tests
/// that call kernels take turns so the memory test sees only its own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const ELEMS: [ElemType; 4] = [ElemType::F32, ElemType::F64, ElemType::I32, ElemType::I64];
const SHAPES: [&[usize]; 5] = [&[], &[7], &[3, 5], &[2, 3, 5], &[2, 1, 3, 5]];

fn ty(shape: &[usize], e: ElemType) -> String {
    let dims: String = shape.iter().map(|d| format!("{d}x")).collect();
    format!("tensor<{dims}{}>", e.name())
}

/// Deterministic inputs: small integers, or floats in roughly [-2, 2]
/// (`positive`: in [0.1, 2.1], for log and sqrt; `nonzero`: for divisors).
fn data(e: ElemType, shape: &[usize], seed: u64, positive: bool, nonzero: bool) -> Buffer {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 33) % 2001) as i64 - 1000
    };
    let ints: Vec<i64> = (0..n)
        .map(|_| {
            let v = next() % 20;
            let v = if positive { v.abs() + 1 } else { v };
            if nonzero && v == 0 { 3 } else { v }
        })
        .collect();
    let floats: Vec<f64> = (0..n)
        .map(|_| {
            let v = next() as f64 / 500.0;
            let v = if positive { v.abs() + 0.1 } else { v };
            if nonzero && v.abs() < 0.05 { 0.5 } else { v }
        })
        .collect();
    match e {
        ElemType::F32 => Buffer::from_f32(shape, &floats.iter().map(|v| *v as f32).collect::<Vec<_>>()),
        ElemType::F64 => Buffer::from_f64(shape, &floats),
        ElemType::I32 => Buffer::from_i32(shape, &ints.iter().map(|v| *v as i32).collect::<Vec<_>>()),
        _ => Buffer::from_i64(shape, &ints),
    }
    .unwrap()
}

fn compile(src: &str) -> Kernel {
    Kernel::compile(src, "e2e.mlir", &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

/// Compares `got` with `want` (f64 values), exactly for integers, to a
/// relative tolerance for floats (`tol` scaled by the magnitude).
fn check(what: &str, got: &Buffer, want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want).enumerate() {
        let ok = if got.elem.is_float() {
            (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan())
        } else {
            g == w
        };
        assert!(ok, "{what}: element {i}: got {g}, want {w}");
    }
}

fn tol(e: ElemType) -> f64 {
    if e == ElemType::F32 { 2e-6 } else { 1e-12 }
}

/// Rounds a reference computed in f64 to the element type.
fn round(e: ElemType, v: f64) -> f64 {
    match e {
        ElemType::F32 => v as f32 as f64,
        ElemType::I32 => (v as i64 as i32) as f64,
        _ => v,
    }
}

#[test]
fn elementwise_every_type_and_rank() {
    let _turn = serial();
    type Binary = fn(f64, f64, bool) -> f64;
    type Unary = fn(f64) -> f64;
    let binary: [(&str, Binary); 6] = [
        ("add", |a, b, _| a + b),
        ("sub", |a, b, _| a - b),
        ("mul", |a, b, _| a * b),
        ("div", |a, b, float| if float { a / b } else { (a as i64 / b as i64) as f64 }),
        ("max", |a, b, _| a.max(b)),
        ("min", |a, b, _| a.min(b)),
    ];
    let unary: [(&str, Unary, bool); 5] = [
        ("neg", |a| -a, false),
        ("exp", f64::exp, true),
        ("log", f64::ln, true),
        ("sqrt", f64::sqrt, true),
        ("tanh", f64::tanh, true),
    ];
    for e in ELEMS {
        for shape in SHAPES {
            let t = ty(shape, e);
            let mut src = String::new();
            // `k_` keeps kernel names off C library symbols (`exp`, `log`):
            // the JIT would bind libm's callers to a kernel of that name.
            for (op, _) in &binary {
                src += &format!(
                    "func.func @k_{op}(%a: {t}, %b: {t}) -> {t} {{\n  %r = strata.{op} %a, %b : {t}\n  return %r : {t}\n}}\n"
                );
            }
            for (op, _, floats_only) in &unary {
                if *floats_only && !e.is_float() {
                    continue;
                }
                src += &format!("func.func @k_{op}(%a: {t}) -> {t} {{\n  %r = strata.{op} %a : {t}\n  return %r : {t}\n}}\n");
            }
            let k = compile(&src);
            let a = data(e, shape, 1, false, false);
            let b = data(e, shape, 2, false, true);
            let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
            for (op, f) in &binary {
                let r = k.call(&format!("k_{op}"), &mut [a.clone(), b.clone()]).unwrap();
                let want: Vec<f64> = av.iter().zip(&bv).map(|(x, y)| round(e, f(*x, *y, e.is_float()))).collect();
                check(&format!("{op} {t}"), &r[0], &want, tol(e) * 2.0);
            }
            let p = data(e, shape, 3, true, false);
            for (op, f, floats_only) in &unary {
                if *floats_only && !e.is_float() {
                    continue;
                }
                let input = if *op == "neg" { a.clone() } else { p.clone() };
                let r = k.call(&format!("k_{op}"), &mut [input.clone()]).unwrap();
                let want: Vec<f64> = input.to_f64_vec().iter().map(|x| round(e, f(*x))).collect();
                check(&format!("{op} {t}"), &r[0], &want, tol(e) * 4.0);
            }
        }
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Every multi-index of `shape`, row-major.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let st = strides(shape);
    (0..n).map(|flat| shape.iter().enumerate().map(|(d, _)| (flat / st[d]) % shape[d]).collect()).collect()
}

fn at(v: &[f64], shape: &[usize], idx: &[usize]) -> f64 {
    v[idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum::<usize>()]
}

#[test]
fn shape_ops_fill_and_reduce() {
    let _turn = serial();
    for e in ELEMS {
        let en = e.name();
        // broadcast: 3x5 -> 4x3x2x5 (dims 0 and 2 new)
        let src = format!(
            "func.func @bc(%a: {a}) -> {r} {{\n  %r = strata.broadcast %a dims = [0, 2] : {a} -> {r}\n  return %r : {r}\n}}\n\
             func.func @tr(%a: {r}) -> {t} {{\n  %r = strata.transpose %a permutation = [3, 1, 0, 2] : {r} -> {t}\n  return %r : {t}\n}}\n\
             func.func @fill(%v: {en}) -> {f} {{\n  %r = strata.fill %v : {en} -> {f}\n  return %r : {f}\n}}\n\
             func.func @tr2(%a: {a}) -> {a2} {{\n  %r = strata.transpose %a permutation = [1, 0] : {a} -> {a2}\n  return %r : {a2}\n}}\n",
            a = ty(&[3, 5], e),
            r = ty(&[4, 3, 2, 5], e),
            t = ty(&[5, 3, 4, 2], e),
            f = ty(&[3, 7], e),
            a2 = ty(&[5, 3], e),
        );
        let k = compile(&src);
        let a = data(e, &[3, 5], 7, false, false);
        let av = a.to_f64_vec();
        let bc = k.call("bc", &mut [a.clone()]).unwrap().remove(0);
        let want: Vec<f64> = indices(&[4, 3, 2, 5]).iter().map(|i| at(&av, &[3, 5], &[i[1], i[3]])).collect();
        check(&format!("broadcast {en}"), &bc, &want, 0.0);
        let bcv = bc.to_f64_vec();
        let tr = k.call("tr", &mut [bc]).unwrap().remove(0);
        let perm = [3, 1, 0, 2];
        let want: Vec<f64> = indices(&[5, 3, 4, 2])
            .iter()
            .map(|i| {
                let mut src = [0; 4];
                for (k, p) in perm.iter().enumerate() {
                    src[*p] = i[k];
                }
                at(&bcv, &[4, 3, 2, 5], &src)
            })
            .collect();
        check(&format!("transpose {en}"), &tr, &want, 0.0);
        let tr2 = k.call("tr2", &mut [a.clone()]).unwrap().remove(0);
        let want: Vec<f64> = indices(&[5, 3]).iter().map(|i| at(&av, &[3, 5], &[i[1], i[0]])).collect();
        check(&format!("transpose 2d {en}"), &tr2, &want, 0.0);
        let v = data(e, &[], 9, false, false);
        let fill = k.call("fill", &mut [v.clone()]).unwrap().remove(0);
        check(&format!("fill {en}"), &fill, &[v.get_f64(0).unwrap(); 21], 0.0);

        // reduce: every kind over several dim sets of a 3x4x5 input.
        let shape = [3usize, 4, 5];
        let x = data(e, &shape, 11, false, false);
        let xv = x.to_f64_vec();
        for kind in ["add", "mul", "max", "min"] {
            for dims in [vec![0usize], vec![1], vec![2], vec![0, 2], vec![0, 1, 2]] {
                let out_shape: Vec<usize> = (0..3).filter(|d| !dims.contains(d)).map(|d| shape[d]).collect();
                let dims_text: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                let (it, ot) = (ty(&shape, e), ty(&out_shape, e));
                let src = format!(
                    "func.func @r(%a: {it}) -> {ot} {{\n  %r = strata.reduce \"{kind}\" %a dims = [{}] : {it} -> {ot}\n  return %r : {ot}\n}}\n",
                    dims_text.join(", ")
                );
                let got = compile(&src).call("r", &mut [x.clone()]).unwrap().remove(0);
                let mut want = vec![
                    match kind {
                        "add" => 0.0,
                        "mul" => 1.0,
                        "max" => f64::NEG_INFINITY,
                        _ => f64::INFINITY,
                    };
                    out_shape.iter().product()
                ];
                for idx in indices(&shape) {
                    let o: Vec<usize> = (0..3).filter(|d| !dims.contains(d)).map(|d| idx[d]).collect();
                    let flat: usize = o.iter().zip(strides(&out_shape)).map(|(i, s)| i * s).sum();
                    let v = at(&xv, &shape, &idx);
                    want[flat] = match kind {
                        "add" => want[flat] + v,
                        "mul" => round(e, want[flat] * v),
                        "max" => want[flat].max(v),
                        _ => want[flat].min(v),
                    };
                }
                let want: Vec<f64> = want.into_iter().map(|w| round(e, w)).collect();
                let t = if kind == "mul" { 1e-4 } else { tol(e) * 64.0 };
                check(&format!("reduce {kind} {dims:?} {en}"), &got, &want, t);
            }
        }
    }
}

#[test]
fn matmul_plain_and_batched() {
    let _turn = serial();
    for e in ELEMS {
        // Sizes around the vector micro-kernel's blocks (6 rows x 2 vectors
        // of 16 f32 or 8 f64): full blocks, leftover rows and columns.
        for (b, m, k, n) in [(0, 17, 19, 23), (0, 1, 1, 1), (3, 5, 7, 9), (0, 13, 11, 37), (0, 67, 45, 101), (0, 6, 3, 32)] {
            let (ls, rs, os): (Vec<usize>, Vec<usize>, Vec<usize>) =
                if b == 0 { (vec![m, k], vec![k, n], vec![m, n]) } else { (vec![b, m, k], vec![b, k, n], vec![b, m, n]) };
            let (lt, rt, ot) = (ty(&ls, e), ty(&rs, e), ty(&os, e));
            let src = format!(
                "func.func @mm(%a: {lt}, %b: {rt}) -> {ot} {{\n  %r = strata.matmul %a, %b : {lt}, {rt} -> {ot}\n  return %r : {ot}\n}}\n"
            );
            let x = data(e, &ls, 21, false, false);
            let y = data(e, &rs, 22, false, false);
            let got = compile(&src).call("mm", &mut [x.clone(), y.clone()]).unwrap().remove(0);
            let (xv, yv) = (x.to_f64_vec(), y.to_f64_vec());
            let bs = b.max(1);
            let mut want = vec![0.0; bs * m * n];
            for bb in 0..bs {
                for i in 0..m {
                    for j in 0..n {
                        want[(bb * m + i) * n + j] =
                            (0..k).map(|p| xv[(bb * m + i) * k + p] * yv[(bb * k + p) * n + j]).sum();
                    }
                }
            }
            let want: Vec<f64> = want.into_iter().map(|w| round(e, w)).collect();
            check(&format!("matmul {ot}"), &got, &want, if e == ElemType::F32 { 1e-5 } else { 1e-12 });
        }
    }
}

const MLP: &str = r#"
func.func @mlp(%x: tensor<37x29xf32>, %w: tensor<29x19xf32>, %bias: tensor<19xf32>) -> tensor<37x19xf32> {
  %mm = strata.matmul %x, %w : tensor<37x29xf32>, tensor<29x19xf32> -> tensor<37x19xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<19xf32> -> tensor<37x19xf32>
  %s = strata.add %mm, %bb : tensor<37x19xf32>
  %r = strata.map(%s) : (tensor<37x19xf32>) -> tensor<37x19xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<37x19xf32>
}

func.func @softmax(%x: tensor<13x37xf64>) -> tensor<13x37xf64> {
  %m = strata.reduce "max" %x dims = [1] : tensor<13x37xf64> -> tensor<13xf64>
  %mb = strata.broadcast %m dims = [1] : tensor<13xf64> -> tensor<13x37xf64>
  %d = strata.sub %x, %mb : tensor<13x37xf64>
  %e = strata.exp %d : tensor<13x37xf64>
  %s = strata.reduce "add" %e dims = [1] : tensor<13x37xf64> -> tensor<13xf64>
  %sb = strata.broadcast %s dims = [1] : tensor<13xf64> -> tensor<13x37xf64>
  %r = strata.div %e, %sb : tensor<13x37xf64>
  return %r : tensor<13x37xf64>
}

func.func @layernorm(%x: tensor<11x21xf32>) -> tensor<11x21xf32> {
  %n = arith.constant 21.0 : f32
  %nt = strata.fill %n : f32 -> tensor<11xf32>
  %s = strata.reduce "add" %x dims = [1] : tensor<11x21xf32> -> tensor<11xf32>
  %mean = strata.div %s, %nt : tensor<11xf32>
  %mb = strata.broadcast %mean dims = [1] : tensor<11xf32> -> tensor<11x21xf32>
  %c = strata.sub %x, %mb : tensor<11x21xf32>
  %sq = strata.mul %c, %c : tensor<11x21xf32>
  %ss = strata.reduce "add" %sq dims = [1] : tensor<11x21xf32> -> tensor<11xf32>
  %var = strata.div %ss, %nt : tensor<11xf32>
  %eps = arith.constant 1.0e-5 : f32
  %et = strata.fill %eps : f32 -> tensor<11xf32>
  %ve = strata.add %var, %et : tensor<11xf32>
  %sd = strata.sqrt %ve : tensor<11xf32>
  %sdb = strata.broadcast %sd dims = [1] : tensor<11xf32> -> tensor<11x21xf32>
  %r = strata.div %c, %sdb : tensor<11x21xf32>
  return %r : tensor<11x21xf32>
}

// Mandelbrot-style: iteration counts over a 9x13 grid, from indices.
func.func @mandel() -> tensor<9x13xi32> {
  %r = strata.map() : () -> tensor<9x13xi32> {
    %i = strata.index 0
    %j = strata.index 1
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %fi = arith.sitofp %ii : i64 to f64
    %fj = arith.sitofp %jj : i64 to f64
    %s = arith.constant 0.25 : f64
    %x0 = arith.constant -2.0 : f64
    %y0 = arith.constant -1.0 : f64
    %cr0 = arith.mulf %fj, %s : f64
    %cr = arith.addf %cr0, %x0 : f64
    %ci0 = arith.mulf %fi, %s : f64
    %ci = arith.addf %ci0, %y0 : f64
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c50 = arith.constant 50 : index
    %zero = arith.constant 0.0 : f64
    %four = arith.constant 4.0 : f64
    %two = arith.constant 2.0 : f64
    %n0 = arith.constant 0 : i32
    %one = arith.constant 1 : i32
    %res:3 = scf.for %k = %c0 to %c50 step %c1 iter_args(%x = %zero, %y = %zero, %n = %n0) -> (f64, f64, i32) {
      %xx = arith.mulf %x, %x : f64
      %yy = arith.mulf %y, %y : f64
      %r2 = arith.addf %xx, %yy : f64
      %inside = arith.cmpf olt, %r2, %four : f64
      %xn0 = arith.subf %xx, %yy : f64
      %xn = arith.addf %xn0, %cr : f64
      %xy = arith.mulf %x, %y : f64
      %yn0 = arith.mulf %xy, %two : f64
      %yn = arith.addf %yn0, %ci : f64
      %n1 = arith.addi %n, %one : i32
      %xs = arith.select %inside, %xn, %x : f64
      %ys = arith.select %inside, %yn, %y : f64
      %ns = arith.select %inside, %n1, %n : i32
      scf.yield %xs, %ys, %ns : f64, f64, i32
    }
    strata.yield %res#2 : i32
  }
  return %r : tensor<9x13xi32>
}

func.func @scale(%buf: memref<37x11xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c37 = arith.constant 37 : index
  %c11 = arith.constant 11 : index
  strata.parallel_for %i = %c0 to %c37 step %c3 grain 100 {
    strata.parallel_for %j = %c0 to %c11 step %c1 {
      %v = memref.load %buf[%i, %j] : memref<37x11xf64>
      %two = arith.constant 2.0 : f64
      %w = arith.mulf %v, %two : f64
      memref.store %w, %buf[%i, %j] : memref<37x11xf64>
    }
  }
  return
}
"#;

fn mlp_ref(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..37 {
        for j in 0..19 {
            let s: f64 = (0..29).map(|k| x[i * 29 + k] * w[k * 19 + j]).sum::<f64>() + b[j];
            out.push(s.max(0.0));
        }
    }
    out
}

fn softmax_ref(x: &[f64]) -> Vec<f64> {
    x.chunks(37)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s)
        })
        .collect()
}

fn layernorm_ref(x: &[f64]) -> Vec<f64> {
    x.chunks(21)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / 21.0;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 21.0;
            let sd = (var + 1e-5).sqrt();
            row.iter().map(move |v| (v - mean) / sd)
        })
        .collect()
}

fn mandel_ref() -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..9 {
        for j in 0..13 {
            let (cr, ci) = (j as f64 * 0.25 - 2.0, i as f64 * 0.25 - 1.0);
            let (mut x, mut y, mut n) = (0.0f64, 0.0f64, 0);
            for _ in 0..50 {
                if x * x + y * y < 4.0 {
                    let xn = x * x - y * y + cr;
                    y = 2.0 * x * y + ci;
                    x = xn;
                    n += 1;
                }
            }
            out.push(n as f64);
        }
    }
    out
}

#[test]
fn compositions_at_every_level() {
    let _turn = serial();
    for level in [Level::O0, Level::O1, Level::O2, Level::O3] {
        let k = Kernel::compile(MLP, "mlp.mlir", &CompileOptions { level, ..Default::default() }).unwrap();
        let x = data(ElemType::F32, &[37, 29], 31, false, false);
        let w = data(ElemType::F32, &[29, 19], 32, false, false);
        let b = data(ElemType::F32, &[19], 33, false, false);
        let got = k.call("mlp", &mut [x.clone(), w.clone(), b.clone()]).unwrap().remove(0);
        check("mlp", &got, &mlp_ref(&x.to_f64_vec(), &w.to_f64_vec(), &b.to_f64_vec()), 1e-5);

        let s = data(ElemType::F64, &[13, 37], 34, false, false);
        let got = k.call("softmax", &mut [s.clone()]).unwrap().remove(0);
        check("softmax", &got, &softmax_ref(&s.to_f64_vec()), 1e-12);

        let l = data(ElemType::F32, &[11, 21], 35, false, false);
        let got = k.call("layernorm", &mut [l.clone()]).unwrap().remove(0);
        check("layernorm", &got, &layernorm_ref(&l.to_f64_vec()), 1e-5);

        let got = k.call("mandel", &mut []).unwrap().remove(0);
        check("mandelbrot", &got, &mandel_ref(), 0.0);

        assert_eq!(strata_runtime::alloc::live_bytes(), 0, "a kernel leaked at {level:?}");

        let mut m = [data(ElemType::F64, &[37, 11], 36, false, false)];
        let before = m[0].to_f64_vec();
        let results = k.call("scale", &mut m).unwrap();
        assert!(results.is_empty());
        let want: Vec<f64> =
            before.iter().enumerate().map(|(i, v)| if (i / 11) % 3 == 0 { v * 2.0 } else { *v }).collect();
        check("parallel_for", &m[0], &want, 0.0);
    }
}

/// The elements of `strata-run`'s printed result `HEADER[[...],...]`.
fn parse_values(text: &str, header: &str) -> Vec<f64> {
    text.trim()
        .strip_prefix(header)
        .unwrap_or_else(|| panic!("expected {header}, got {text}"))
        .replace(['[', ']'], "")
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect()
}

/// The same kernels through `strata-run`, on the OpenMP path at 1 and 2
/// threads and on the default path: the printed results agree with the
/// reference (parsed back from `DIMSxTYPE=[...]`).
#[test]
fn strata_run_at_one_and_two_threads() {
    let dir = std::env::temp_dir().join(format!("strata-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("k.mlir");
    std::fs::write(&file, MLP).unwrap();
    let softmax_in: Vec<String> = (0..13 * 37).map(|i| format!("{}", ((i * 7919) % 41) as f64 / 10.0 - 2.0)).collect();
    let softmax_ref = softmax_ref(&softmax_in.iter().map(|v| v.parse().unwrap()).collect::<Vec<f64>>());
    for (threads, pipeline) in [
        ("1", None),
        ("2", None),
        ("1", Some("omp")),
        ("2", Some("omp")),
    ] {
        let mut base = Command::new(env!("CARGO_BIN_EXE_strata-run"));
        base.arg(&file).arg(format!("--threads={threads}"));
        if pipeline.is_some() {
            base.arg("--pass-pipeline=builtin.module(strata-lower-to-affine,strata-parallelize{runtime=omp},strata-lower-to-llvm)");
        }
        let out = Command::new(base.get_program())
            .args(base.get_args())
            .args(["-e", "softmax", &format!("--input=13x37xf64={}", softmax_in.join(","))])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let got = parse_values(&text, "13x37xf64=");
        assert_eq!(got.len(), softmax_ref.len());
        for (g, w) in got.iter().zip(&softmax_ref) {
            assert!((g - w).abs() < 1e-12, "softmax at {threads} threads ({pipeline:?}): {g} vs {w}");
        }
        let out = Command::new(base.get_program()).args(base.get_args()).args(["-e", "mandel"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let got = parse_values(&text, "9x13xi32=");
        assert_eq!(got, mandel_ref(), "mandelbrot at {threads} threads ({pipeline:?})");
    }
}

/// An MLP layer (matmul + bias + relu) at 2048x2048 f32 allocates one
/// temporary (the matmul's accumulator): its peak is below 1.5x the bytes
/// of its inputs and output (the caller's buffers), and it frees it.
#[test]
fn mlp_2048_peak_memory_and_no_leaks() {
    let _turn = serial();
    const N: usize = 2048;
    let src = MLP.replace("37x29", "2048x2048").replace("29x19", "2048x2048").replace("37x19", "2048x2048").replace("19xf32", "2048xf32");
    let k = compile(&src);
    let mut args = [Buffer::zeros(ElemType::F32, &[N, N]), Buffer::zeros(ElemType::F32, &[N, N]), Buffer::zeros(ElemType::F32, &[N])];
    strata_runtime::alloc::reset_peak();
    let before = strata_runtime::alloc::live_bytes();
    let out = k.call("mlp", &mut args).unwrap();
    let temporaries = strata_runtime::alloc::peak_bytes() - before;
    assert_eq!(strata_runtime::alloc::live_bytes(), before, "the MLP layer leaked");
    let io = (args.iter().map(|a| a.len()).sum::<usize>() + out[0].len()) * 4;
    let peak = io as f64 + temporaries as f64;
    let ratio = peak / io as f64;
    eprintln!("mlp 2048: inputs+output {io} bytes, temporaries {temporaries} bytes, peak {ratio:.3}x");
    assert!(temporaries > 0, "the allocator saw no allocation: is it bound?");
    assert!(ratio < 1.5, "peak {ratio:.3}x the bytes of inputs and output");
}

const PARALLEL: &str = r#"
func.func @nested(%buf: memref<13x17xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c13 = arith.constant 13 : index
  %c17 = arith.constant 17 : index
  %c100 = arith.constant 100 : i64
  strata.parallel_for %i = %c0 to %c13 step %c2 grain 100 {
    strata.parallel_for %j = %c1 to %c17 step %c3 {
      %ii = arith.index_cast %i : index to i64
      %jj = arith.index_cast %j : index to i64
      %s = arith.muli %ii, %c100 : i64
      %v = arith.addi %s, %jj : i64
      memref.store %v, %buf[%i, %j] : memref<13x17xi64>
    }
  }
  return
}

func.func @ranges(%buf: memref<5xi64>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %seven = arith.constant 7 : i64
  %nine = arith.constant 9 : i64
  // Empty (lb == ub), backwards (ub < lb): no iteration.
  strata.parallel_for %i = %c3 to %c3 step %c1 {
    memref.store %nine, %buf[%i] : memref<5xi64>
  }
  strata.parallel_for %i = %c4 to %c2 step %c1 {
    memref.store %nine, %buf[%i] : memref<5xi64>
  }
  // One iteration.
  strata.parallel_for %i = %c2 to %c3 step %c1 grain 8 {
    memref.store %seven, %buf[%i] : memref<5xi64>
  }
  return
}

// 100,000 dispatches of a two-iteration loop, one after another.
func.func @stress(%buf: memref<2xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant 100000 : index
  %one = arith.constant 1 : i64
  scf.for %k = %c0 to %n step %c1 {
    strata.parallel_for %i = %c0 to %c2 step %c1 grain 1 {
      %v = memref.load %buf[%i] : memref<2xi64>
      %w = arith.addi %v, %one : i64
      memref.store %w, %buf[%i] : memref<2xi64>
    }
  }
  return
}
"#;

fn parse_ints(text: &str, header: &str) -> Vec<i64> {
    parse_values(text, header).into_iter().map(|v| v as i64).collect()
}

/// `strata.parallel_for` on the thread pool at 1, 2, 3 and 8 workers (8 is
/// more than this machine's cores): nesting, steps above 1, a grain above
/// the trip count, empty and one-iteration ranges, and 100,000 tiny
/// dispatches in a row; each result equal to the sequential reference.
#[test]
fn parallel_for_at_every_worker_count() {
    let dir = std::env::temp_dir().join(format!("strata-par-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("par.mlir");
    std::fs::write(&file, PARALLEL).unwrap();
    let mut nested = vec![0i64; 13 * 17];
    for i in (0..13).step_by(2) {
        for j in (1..17).step_by(3) {
            nested[i * 17 + j] = i as i64 * 100 + j as i64;
        }
    }
    for threads in ["1", "2", "3", "8"] {
        let run = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_strata-run"))
                .arg(&file)
                .arg(format!("--threads={threads}"))
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?} at {threads}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(parse_ints(&run(&["-e", "nested", "--input=13x17xi64=0"]), "13x17xi64="), nested, "{threads}");
        assert_eq!(parse_ints(&run(&["-e", "ranges", "--input=5xi64=1"]), "5xi64="), vec![1, 1, 7, 1, 1], "{threads}");
        assert_eq!(parse_ints(&run(&["-e", "stress", "--input=2xi64=0"]), "2xi64="), vec![100_000, 100_000], "{threads}");
    }
}

/// At O3, f32 `exp` and `tanh` are arithmetic approximations (they
/// vectorize, libm calls do not): within a few ulp of the true values over
/// their whole useful range.
#[test]
fn f32_exp_and_tanh_approximations_are_accurate() {
    let _turn = serial();
    let n = 4001;
    let src = format!(
        "func.func @f(%x: tensor<{n}xf32>) -> (tensor<{n}xf32>, tensor<{n}xf32>) {{\n\
           %e = strata.exp %x : tensor<{n}xf32>\n  %t = strata.tanh %x : tensor<{n}xf32>\n\
           return %e, %t : tensor<{n}xf32>, tensor<{n}xf32>\n}}\n"
    );
    let xs: Vec<f32> = (0..n).map(|i| -86.0 + 172.0 * i as f32 / (n - 1) as f32).collect();
    let out = compile(&src).call("f", &mut [Buffer::from_f32(&[n], &xs).unwrap()]).unwrap();
    for (i, x) in xs.iter().enumerate() {
        let (e, t) = (out[0].get_f64(i).unwrap(), out[1].get_f64(i).unwrap());
        let (we, wt) = ((*x as f64).exp(), (*x as f64).tanh());
        assert!((e - we).abs() <= 4e-7 * we, "exp({x}) = {e}, want {we}");
        assert!((t - wt).abs() <= 4e-7 * wt.abs().max(1e-30) + 1e-7, "tanh({x}) = {t}, want {wt}");
    }
}

/// Compiles a 2-D `m x k x n` matmul with `options` and checks it against
/// the plain triple loop.
fn check_matmul(e: ElemType, (m, kk, n): (usize, usize, usize), options: &CompileOptions, what: &str) {
    let (lt, rt, ot) = (ty(&[m, kk], e), ty(&[kk, n], e), ty(&[m, n], e));
    let src = format!(
        "func.func @mm(%a: {lt}, %b: {rt}) -> {ot} {{\n  %r = strata.matmul %a, %b : {lt}, {rt} -> {ot}\n  return %r : {ot}\n}}\n"
    );
    let a = data(e, &[m, kk], 41, false, false);
    let b = data(e, &[kk, n], 42, false, false);
    let got = Kernel::compile(&src, "mm.mlir", options).unwrap().call("mm", &mut [a.clone(), b.clone()]).unwrap().remove(0);
    let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
    let want: Vec<f64> =
        (0..m * n).map(|ij| round(e, (0..kk).map(|p| av[(ij / n) * kk + p] * bv[p * n + ij % n]).sum())).collect();
    check(&format!("matmul {ot} {what}"), &got, &want, if e == ElemType::F32 { 1e-5 } else { 1e-12 });
}

/// The MLP layer and Mandelbrot kernels of [`MLP`] under `options`,
/// against their references.
fn check_mlp_and_mandelbrot(options: &CompileOptions, what: &str) {
    let k = Kernel::compile(MLP, "mlp.mlir", options).unwrap();
    let x = data(ElemType::F32, &[37, 29], 31, false, false);
    let w = data(ElemType::F32, &[29, 19], 32, false, false);
    let b = data(ElemType::F32, &[19], 33, false, false);
    let got = k.call("mlp", &mut [x.clone(), w.clone(), b.clone()]).unwrap().remove(0);
    check(&format!("mlp {what}"), &got, &mlp_ref(&x.to_f64_vec(), &w.to_f64_vec(), &b.to_f64_vec()), 1e-5);
    let got = k.call("mandel", &mut []).unwrap().remove(0);
    check(&format!("mandelbrot {what}"), &got, &mandel_ref(), 0.0);
}

/// The vectorizer at AVX2's and SSE's widths (as on a CPU without
/// AVX-512): same results.
#[test]
fn narrower_vector_widths_give_the_same_results() {
    let _turn = serial();
    for bits in [128, 256] {
        let pipeline = strata_passes::levels::pipeline(Level::O3)
            .to_text()
            .replace("strata-vectorize", &format!("strata-vectorize{{vector-width={bits}}}"));
        let options = CompileOptions { pipeline: Some(pipeline), ..Default::default() };
        check_mlp_and_mandelbrot(&options, &format!("at {bits} bits"));
        for e in [ElemType::F32, ElemType::F64] {
            check_matmul(e, (67, 45, 101), &options, &format!("at {bits} bits"));
        }
    }
}

/// The micro-kernel under other tilings (`strata-tile{tile-sizes=MR,NV,KC}`),
/// reduction blocks that do not divide K included: same sums.
#[test]
fn matmul_under_other_tile_sizes() {
    let _turn = serial();
    // M,N,K: rows, columns in elements (whole vectors), reduction steps.
    for tiles in ["6,32,7", "4,16,16", "3,48,5", "1,32,100", "8"] {
        let pipeline = strata_passes::levels::pipeline(Level::O3)
            .to_text()
            .replace("strata-tile", &format!("strata-tile{{tile-sizes={tiles}}}"));
        let options = CompileOptions { pipeline: Some(pipeline), ..Default::default() };
        for e in [ElemType::F32, ElemType::F64] {
            check_matmul(e, (29, 45, 83), &options, &format!("tiles {tiles}"));
        }
    }
}

/// Reductions along the innermost dimension long enough to vectorize
/// (vector partial results, one horizontal reduction, a scalar tail):
/// every kind and element type.
#[test]
fn vectorized_reductions_every_kind_and_type() {
    let _turn = serial();
    for e in ELEMS {
        for (rows, n) in [(3usize, 37usize), (2, 16), (4, 203)] {
            let x = data(e, &[rows, n], 61, false, false);
            let xv = x.to_f64_vec();
            for kind in ["add", "mul", "max", "min"] {
                let (it, ot) = (ty(&[rows, n], e), ty(&[rows], e));
                let src = format!(
                    "func.func @r(%a: {it}) -> {ot} {{\n  %r = strata.reduce \"{kind}\" %a dims = [1] : {it} -> {ot}\n  return %r : {ot}\n}}\n"
                );
                let got = compile(&src).call("r", &mut [x.clone()]).unwrap().remove(0);
                let want: Vec<f64> = xv
                    .chunks(n)
                    .map(|row| {
                        let v = match kind {
                            "add" => row.iter().sum(),
                            "mul" => row.iter().fold(1.0, |a, b| round(e, a * b)),
                            "max" => row.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                            _ => row.iter().cloned().fold(f64::INFINITY, f64::min),
                        };
                        round(e, v)
                    })
                    .collect();
                // Products of 200 values overflow integers: compare only
                // what both sides define (wrapping is the same for ints).
                if kind == "mul" && !e.is_float() && n > 16 {
                    continue;
                }
                let t = if kind == "mul" { 1e-3 } else { tol(e) * 256.0 };
                check(&format!("reduce {kind} {it}"), &got, &want, t);
            }
        }
    }
}

/// MLP layers whose bias + relu epilogue `strata-vectorize` fuses into the
/// matmul kernel (applied to the accumulators), with leftover rows and
/// columns, in f32 and f64; and the same with reduction blocks smaller
/// than K, where it applies after the last block.
#[test]
fn mlp_with_fused_epilogue() {
    let _turn = serial();
    let blocked = strata_passes::levels::pipeline(Level::O3).to_text().replace("strata-tile", "strata-tile{tile-sizes=6,32,7}");
    for options in [CompileOptions::default(), CompileOptions { pipeline: Some(blocked), ..Default::default() }] {
        for e in [ElemType::F32, ElemType::F64] {
            for (m, kk, n) in [(13, 20, 37), (67, 45, 101), (6, 3, 32), (12, 7, 64)] {
                let en = e.name();
                let src = format!(
                    "func.func @mlp(%x: tensor<{m}x{kk}x{en}>, %w: tensor<{kk}x{n}x{en}>, %bias: tensor<{n}x{en}>) -> tensor<{m}x{n}x{en}> {{\n\
                       %mm = strata.matmul %x, %w : tensor<{m}x{kk}x{en}>, tensor<{kk}x{n}x{en}> -> tensor<{m}x{n}x{en}>\n\
                       %bb = strata.broadcast %bias dims = [0] : tensor<{n}x{en}> -> tensor<{m}x{n}x{en}>\n\
                       %s = strata.add %mm, %bb : tensor<{m}x{n}x{en}>\n\
                       %r = strata.map(%s) : (tensor<{m}x{n}x{en}>) -> tensor<{m}x{n}x{en}> {{\n\
                       ^bb0(%v: {en}):\n    %z = arith.constant 0.0 : {en}\n    %q = arith.maximumf %v, %z : {en}\n    strata.yield %q : {en}\n  }}\n\
                       return %r : tensor<{m}x{n}x{en}>\n}}\n"
                );
                let x = data(e, &[m, kk], 71, false, false);
                let w = data(e, &[kk, n], 72, false, false);
                let bias = data(e, &[n], 73, false, false);
                let got = Kernel::compile(&src, "mlp.mlir", &options).unwrap().call("mlp", &mut [x.clone(), w.clone(), bias.clone()]).unwrap().remove(0);
                let (xv, wv, bv) = (x.to_f64_vec(), w.to_f64_vec(), bias.to_f64_vec());
                let want: Vec<f64> = (0..m * n)
                    .map(|ij| round(e, ((0..kk).map(|p| xv[(ij / n) * kk + p] * wv[p * n + ij % n]).sum::<f64>() + bv[ij % n]).max(0.0)))
                    .collect();
                check(&format!("mlp {m}x{kk}x{n} {en}"), &got, &want, if e == ElemType::F32 { 1e-5 } else { 1e-12 });
                assert_eq!(strata_runtime::alloc::live_bytes(), 0, "the MLP leaked");
            }
        }
    }
}

/// The same kernels under every x86-64 vector width, chosen by target
/// name rather than by the host: SSE (`x86-64`), AVX2 (`x86-64-v3`,
/// `znver3`) and AVX-512 (`skylake-avx512`, `x86-64-v4`). A host runs
/// those whose features it has: an AVX2 host must refuse the AVX-512 ones,
/// and an Intel host `znver3`, for its AMD-only SSE4A (which LLVM emits for
/// non-temporal scalar stores), with a target error; `strata-opt` still
/// emits their code (lit's `strata-opt/target.mlir`). `znver3,-sse4a`
/// runs Zen 3's tuning on every AVX2 host.
#[test]
fn every_target_width_gives_the_same_results() {
    let _turn = serial();
    let host = strata_driver::target::resolve("host").unwrap();
    for name in ["x86-64", "x86-64-v3", "znver3", "znver3,-sse4a", "skylake-avx512", "x86-64-v4"] {
        let target = strata_driver::target::resolve(name).unwrap();
        let options = CompileOptions { target: Some(name.into()), ..Default::default() };
        if let Err(e) = strata_driver::target::check_executable(&target) {
            let strata_driver::target::TargetError::NotExecutable { feature, .. } = &e else { panic!("{name}: {e}") };
            assert!(
                host.vector_bits < target.vector_bits || (name == "znver3" && feature == "sse4a"),
                "{name} refused on a host with {} bits: {e}",
                host.vector_bits
            );
            let refused = Kernel::compile(MLP, "mlp.mlir", &options).err().expect("a target the host lacks is refused");
            assert!(refused.to_string().contains("does not have"), "{refused}");
            continue;
        }
        check_mlp_and_mandelbrot(&options, &format!("on {name}"));
        for e in ELEMS {
            check_matmul(e, (23, 45, 71), &options, &format!("on {name}"));
        }
    }
}

/// A histogram of `%x` into bins of `ty` with `memref.atomic_rmw`.
fn histogram(name: &str, ty: &str) -> String {
    format!(
        r#"
func.func @{name}(%x: memref<1000xi32>, %h: memref<256x{ty}>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  %one = arith.constant 1 : {ty}
  strata.parallel_for %i = %c0 to %n step %c1 {{
    %v = memref.load %x[%i] : memref<1000xi32>
    %b = arith.index_cast %v : i32 to index
    %old = memref.atomic_rmw addi %one, %h[%b] : ({ty}, memref<256x{ty}>) -> {ty}
  }}
  return
}}
"#
    )
}

const ATOMICS: &str = r#"
func.func @scatter32(%x: memref<1000xi32>, %w: memref<1000xf32>, %out: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xi32>
    %b = arith.index_cast %v : i32 to index
    %a = memref.load %w[%i] : memref<1000xf32>
    %old = memref.atomic_rmw addf %a, %out[%b] : (f32, memref<256xf32>) -> f32
  }
  return
}
func.func @scatter64(%x: memref<1000xi32>, %w: memref<1000xf64>, %out: memref<256xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xi32>
    %b = arith.index_cast %v : i32 to index
    %a = memref.load %w[%i] : memref<1000xf64>
    %new = memref.generic_atomic_rmw %out[%b] : memref<256xf64> {
    ^bb0(%cur: f64):
      %s = arith.addf %cur, %a : f64
      memref.atomic_yield %s : f64
    }
  }
  return
}
func.func @max32(%w: memref<1000xf32>, %out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %a = memref.load %w[%i] : memref<1000xf32>
    %new = memref.generic_atomic_rmw %out[%c0] : memref<1xf32> {
    ^bb0(%cur: f32):
      %m = arith.maximumf %cur, %a : f32
      memref.atomic_yield %m : f32
    }
  }
  return
}
func.func @max_i32(%x: memref<1000xi32>, %out: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xi32>
    %new = memref.generic_atomic_rmw %out[%c0] : memref<1xi32> {
    ^bb0(%cur: i32):
      %m = arith.maxsi %cur, %v : i32
      memref.atomic_yield %m : i32
    }
  }
  return
}
func.func @min64(%x: memref<1000xi32>, %out: memref<1xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xi32>
    %e = arith.extsi %v : i32 to i64
    %new = memref.generic_atomic_rmw %out[%c0] : memref<1xi64> {
    ^bb0(%cur: i64):
      %m = arith.minsi %cur, %e : i64
      memref.atomic_yield %m : i64
    }
  }
  return
}
"#;

/// Atomic read-modify-writes in `parallel_for` bodies (`memref.atomic_rmw`
/// and `memref.generic_atomic_rmw`, f32, f64, i32 and i64: histograms,
/// scatter-adds, two maxima and a min) give exact results at 1, 2, 3 and 8
/// workers, on the pool and on OpenMP, against a plain Rust loop.
#[test]
fn atomics_at_every_worker_count_and_runtime() {
    let dir = std::env::temp_dir().join(format!("strata-atomics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("atomics.mlir");
    std::fs::write(&file, histogram("hist32", "i32") + &histogram("hist64", "i64") + ATOMICS).unwrap();
    let bins: Vec<i64> = (0..1000i64).map(|i| (i * 7919 + i * i) % 256).collect();
    // Small integers and halves: every sum is exact in any order.
    let weights: Vec<f64> = (0..1000).map(|i| ((i % 13) as f64 - 6.0) * 0.5).collect();
    let list = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let xs = format!("--input=1000xi32={}", list(&bins.iter().map(|b| *b as f64).collect::<Vec<_>>()));
    let mut counts = vec![0i64; 256];
    let mut sums = vec![0f64; 256];
    for (b, w) in bins.iter().zip(&weights) {
        counts[*b as usize] += 1;
        sums[*b as usize] += w;
    }
    let max = weights.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let omp = "--pass-pipeline=builtin.module(strata-lower-to-affine,strata-check-races,strata-parallelize{runtime=omp},strata-lower-to-llvm)";
    for runtime in ["pool", "omp"] {
        for threads in ["1", "2", "3", "8"] {
            let run = |args: &[&str], header: &str| -> Vec<f64> {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata-run"));
                cmd.arg(&file).arg(format!("--threads={threads}")).args(args);
                if runtime == "omp" {
                    cmd.arg(omp);
                }
                let out = cmd.output().unwrap();
                let what = format!("{args:?} on {runtime} at {threads} threads");
                assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
                let text = String::from_utf8(out.stdout).unwrap();
                let last = text.lines().last().unwrap_or_default().to_string();
                parse_values(&last, header)
            };
            let ints = |v: &[i64]| v.iter().map(|c| *c as f64).collect::<Vec<_>>();
            let w32 = format!("--input=1000xf32={}", list(&weights));
            let w64 = format!("--input=1000xf64={}", list(&weights));
            assert_eq!(run(&["-e", "hist32", &xs, "--input=256xi32=0"], "256xi32="), ints(&counts), "hist32 {runtime} {threads}");
            assert_eq!(run(&["-e", "hist64", &xs, "--input=256xi64=0"], "256xi64="), ints(&counts), "hist64 {runtime} {threads}");
            assert_eq!(run(&["-e", "scatter32", &xs, &w32, "--input=256xf32=0"], "256xf32="), sums, "scatter32 {runtime} {threads}");
            assert_eq!(run(&["-e", "scatter64", &xs, &w64, "--input=256xf64=0"], "256xf64="), sums, "scatter64 {runtime} {threads}");
            assert_eq!(run(&["-e", "max32", &w32, "--input=1xf32=-100"], "1xf32="), vec![max], "max32 {runtime} {threads}");
            assert_eq!(run(&["-e", "min64", &xs, "--input=1xi64=1000"], "1xi64="), vec![0.0], "min64 {runtime} {threads}");
            let top = *bins.iter().max().unwrap() as f64;
            assert_eq!(run(&["-e", "max_i32", &xs, "--input=1xi32=-5"], "1xi32="), vec![top], "max_i32 {runtime} {threads}");
        }
    }
}

/// A reducing `parallel_for` of every kind (add, mul, max, min) on `ty`:
/// the four results go to `%out`.
fn reductions_kernel(ty: &str) -> String {
    let float = ty.starts_with('f');
    let c = |v: i64| if float { format!("{v}.0 : {ty}") } else { format!("{v} : {ty}") };
    let neg = if float { "arith.negf %v".to_string() } else { format!("arith.subi %z, %v") };
    format!(
        r#"
func.func @red(%x: memref<1000x{ty}>, %n64: i64, %out: memref<4x{ty}>) {{
  %n = arith.index_cast %n64 : i64 to index
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %z = arith.constant {zero}
  %one = arith.constant {one}
  %lo = arith.constant {lo}
  %hi = arith.constant {hi}
  %r:4 = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %one : {ty}, "mul" %one : {ty}, "max" %lo : {ty}, "min" %hi : {ty}) {{
    %v = memref.load %x[%i] : memref<1000x{ty}>
    %m = arith.remsi %i, %c7 : index
    %flip = arith.cmpi eq, %m, %c0 : index
    %minus = {neg} : {ty}
    %w = arith.select %flip, %minus, %one : {ty}
    strata.yield %v, %w, %v, %v : {ty}, {ty}, {ty}, {ty}
  }}
  memref.store %r#0, %out[%c0] : memref<4x{ty}>
  memref.store %r#1, %out[%c1] : memref<4x{ty}>
  memref.store %r#2, %out[%c2] : memref<4x{ty}>
  memref.store %r#3, %out[%c3] : memref<4x{ty}>
  return
}}
"#,
        zero = c(0),
        one = c(1),
        lo = c(-100),
        hi = c(100),
        neg = neg.replace("%v", "%one"),
    )
}

/// Runs [`reductions_kernel`]'s `@red` in `file` over the first `n` of the
/// 1000 values `list` at `threads`: its four results.
fn run_reductions(file: &std::path::Path, ty: &str, list: &str, n: usize, threads: &str) -> Vec<f64> {
    let out = Command::new(env!("CARGO_BIN_EXE_strata-run"))
        .arg(file)
        .args(["-e", "red", &format!("--input=1000x{ty}={list}"), &format!("--input=i64={n}")])
        .arg(format!("--input=4x{ty}=0"))
        .arg(format!("--threads={threads}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{ty} n={n} at {threads} threads: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    parse_values(text.lines().last().unwrap_or_default(), &format!("4x{ty}="))
}

/// `strata.parallel_for ... reduce(...)`: every kind and element type, trip
/// counts 0, 1, 7 and 1000, at 1, 2, 3 and 8 workers, against a plain Rust
/// fold (values are small integers, so even float sums are exact).
#[test]
fn parallel_reductions_every_kind_type_and_worker_count() {
    let dir = std::env::temp_dir().join(format!("strata-reduce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xs: Vec<i64> = (0..1000i64).map(|i| (i * 37 + 11) % 41 - 20).collect();
    let list = xs.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    for ty in ["f32", "f64", "i32", "i64"] {
        let file = dir.join(format!("red_{ty}.mlir"));
        std::fs::write(&file, reductions_kernel(ty)).unwrap();
        for n in [0usize, 1, 7, 1000] {
            let x = &xs[..n];
            let sum = 1 + x.iter().sum::<i64>();
            let prod: i64 = (0..n).map(|i| if i % 7 == 0 { -1 } else { 1 }).product();
            let max = x.iter().copied().fold(-100, i64::max);
            let min = x.iter().copied().fold(100, i64::min);
            let want = vec![sum as f64, prod as f64, max as f64, min as f64];
            for threads in ["1", "2", "3", "8"] {
                let got = run_reductions(&file, ty, &list, n, threads);
                assert_eq!(got, want, "{ty} n={n} at {threads} threads");
            }
        }
    }
}

/// Float `add` reductions of values with every bit of the mantissa set
/// (where a change of order does change the rounding): at 1, 2, 3 and 8
/// workers each sum lies within the reassociation bound of the exact sum,
/// `n * u * sum |x|` (`u` the unit roundoff, Higham's bound for any order
/// of `n` additions); `max` and `min` are exact.
#[test]
fn float_reductions_differ_only_by_reassociation() {
    let dir = std::env::temp_dir().join(format!("strata-reassoc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = 997usize;
    for (ty, u) in [("f32", f64::from(f32::EPSILON) / 2.0), ("f64", f64::EPSILON / 2.0)] {
        let xs: Vec<f64> = (0..1000)
            .map(|i| {
                let v = ((i as f64) * 0.618_033_988_749_894_9).sin() * 1e3 + 1.0 / (i as f64 + 3.0);
                if ty == "f32" { f64::from(v as f32) } else { v }
            })
            .collect();
        // Printed in full, so that the kernel reads exactly these values.
        let list = xs.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(",");
        let x = &xs[..n];
        // Neumaier's compensated sum: within about one rounding of the
        // exact sum, far below the bound.
        let (mut exact, mut carry) = (1.0f64, 0.0f64);
        for v in x {
            let t = exact + v;
            carry += if exact.abs() >= v.abs() { (exact - t) + v } else { (v - t) + exact };
            exact = t;
        }
        let exact = exact + carry;
        let bound = (n as f64 + 1.0) * u * (1.0 + x.iter().map(|v| v.abs()).sum::<f64>());
        let (max, min) = (x.iter().copied().fold(-100.0, f64::max), x.iter().copied().fold(100.0, f64::min));
        let file = dir.join(format!("red_{ty}.mlir"));
        std::fs::write(&file, reductions_kernel(ty)).unwrap();
        for threads in ["1", "2", "3", "8"] {
            let what = format!("{ty} at {threads} threads");
            let got = run_reductions(&file, ty, &list, n, threads);
            assert!((got[0] - exact).abs() <= bound, "{what}: sum {} against {exact}, bound {bound}", got[0]);
            // strata-run prints an f32 as the shortest text that reads back
            // as it: compared as f32.
            let same = |a: f64, b: f64| if ty == "f32" { a as f32 == b as f32 } else { a == b };
            assert!(same(got[2], max) && same(got[3], min), "{what}: max and min {:?} against {max}, {min}", &got[2..]);
        }
        // The data are ones whose sum the order changes (in the type's
        // precision), or the bound would test nothing.
        let (forward, backward) = if ty == "f32" {
            (f64::from(x.iter().map(|v| *v as f32).sum::<f32>()), f64::from(x.iter().rev().map(|v| *v as f32).sum::<f32>()))
        } else {
            (x.iter().sum::<f64>(), x.iter().rev().sum::<f64>())
        };
        assert_ne!(forward, backward, "{ty}: the order does not change these sums");
    }
}

/// Inputs whose every sum of products below is exact in f32 (multiples of
/// 1/2 in [-2, 2]): results must equal the reference whatever the order of
/// the sums, so they are compared exactly.
fn halves(e: ElemType, shape: &[usize], seed: u64) -> Buffer {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 9) as f64 / 2.0 - 2.0
        })
        .collect();
    if e == ElemType::F32 {
        Buffer::from_f32(shape, &v.iter().map(|x| *x as f32).collect::<Vec<_>>()).unwrap()
    } else {
        Buffer::from_f64(shape, &v).unwrap()
    }
}

/// `x (m x k) * y (k x n)` by the plain triple loop.
fn triple_loop(x: &[f64], y: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                out[i * n + j] += x[i * k + p] * y[p * n + j];
            }
        }
    }
    out
}

fn transposed(x: &[f64], n: usize) -> Vec<f64> {
    (0..n * n).map(|ij| x[(ij % n) * n + ij / n]).collect()
}

/// The O3 pipeline with `strata-vectorize` at `bits` (so the test does not
/// depend on the host) and elementwise fusion on or off.
fn o3_at(bits: usize, fuse: bool) -> CompileOptions {
    let mut p = strata_passes::levels::pipeline(Level::O3)
        .to_text()
        .replace("strata-vectorize", &format!("strata-vectorize{{vector-width={bits}}}"));
    if !fuse {
        p = p.replace("strata-lower-to-affine{", "strata-lower-to-affine{fuse-elementwise=false ");
    }
    CompileOptions { pipeline: Some(p), ..Default::default() }
}

/// Kernels where an elementwise nest after a matmul reads buffers that are
/// defined (or filled) between the two, which `strata-vectorize` once fused
/// into the matmul kernel at the matmul's place ("operand #1 does not
/// dominate this use"): a matmul, a subtraction, a matmul of its result
/// with itself; a matmul, a subtraction, a transpose, a matmul; a transpose
/// then a matmul; an MLP layer without linalg's elementwise fusion (the
/// bias broadcast is a nest of its own between the matmul and the add).
/// At 128, 256 and 512 bits, with and without elementwise fusion, f32 and
/// f64, sizes that are and are not multiples of the vector width: equal to
/// the triple loop.
#[test]
fn vectorized_matmul_chains_with_later_defined_operands() {
    let _turn = serial();
    for bits in [128, 256, 512] {
        for fuse in [true, false] {
            let options = o3_at(bits, fuse);
            for (e, sizes) in [(ElemType::F32, [16, 19, 37]), (ElemType::F64, [8, 13, 21])] {
                for n in sizes {
                    let t = ty(&[n, n], e);
                    let src = format!(
                        "func.func @chain(%a: {t}, %b: {t}) -> {t} {{\n\
                           %c = strata.matmul %a, %b : {t}, {t} -> {t}\n  %d = strata.sub %c, %a : {t}\n\
                           %r = strata.matmul %d, %d : {t}, {t} -> {t}\n  return %r : {t}\n}}\n\
                         func.func @trans(%a: {t}, %b: {t}) -> {t} {{\n\
                           %c = strata.matmul %b, %a : {t}, {t} -> {t}\n  %d = strata.sub %c, %a : {t}\n\
                           %s = strata.transpose %d permutation = [1, 0] : {t} -> {t}\n\
                           %r = strata.matmul %a, %s : {t}, {t} -> {t}\n  return %r : {t}\n}}\n\
                         func.func @tmm(%a: {t}, %d: {t}) -> {t} {{\n\
                           %s = strata.transpose %d permutation = [1, 0] : {t} -> {t}\n\
                           %r = strata.matmul %s, %a : {t}, {t} -> {t}\n  return %r : {t}\n}}\n"
                    );
                    let what = format!("{t} at {bits} bits, fusion {fuse}");
                    let k = Kernel::compile(&src, "chain.mlir", &options).unwrap_or_else(|err| panic!("{what}: {err}"));
                    let (a, b) = (halves(e, &[n, n], 1), halves(e, &[n, n], 2));
                    let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
                    let minus_a = |c: Vec<f64>| -> Vec<f64> { c.iter().zip(&av).map(|(x, y)| x - y).collect() };
                    let d = minus_a(triple_loop(&av, &bv, n, n, n));
                    let got = k.call("chain", &mut [a.clone(), b.clone()]).unwrap().remove(0);
                    check(&format!("chain {what}"), &got, &triple_loop(&d, &d, n, n, n), 0.0);
                    let d = minus_a(triple_loop(&bv, &av, n, n, n));
                    let got = k.call("trans", &mut [a.clone(), b.clone()]).unwrap().remove(0);
                    check(&format!("trans {what}"), &got, &triple_loop(&av, &transposed(&d, n), n, n, n), 0.0);
                    let got = k.call("tmm", &mut [a.clone(), b.clone()]).unwrap().remove(0);
                    check(&format!("tmm {what}"), &got, &triple_loop(&transposed(&bv, n), &av, n, n, n), 0.0);
                }
            }
            for e in [ElemType::F32, ElemType::F64] {
                for (m, kk, n) in [(13, 20, 37), (67, 45, 101), (6, 3, 32)] {
                    let en = e.name();
                    let (xt, wt, ot) = (ty(&[m, kk], e), ty(&[kk, n], e), ty(&[m, n], e));
                    let src = format!(
                        "func.func @mlp(%x: {xt}, %w: {wt}, %bias: tensor<{n}x{en}>) -> {ot} {{\n\
                           %mm = strata.matmul %x, %w : {xt}, {wt} -> {ot}\n\
                           %bb = strata.broadcast %bias dims = [0] : tensor<{n}x{en}> -> {ot}\n\
                           %s = strata.add %mm, %bb : {ot}\n\
                           %r = strata.map(%s) : ({ot}) -> {ot} {{\n\
                           ^bb0(%v: {en}):\n    %z = arith.constant 0.0 : {en}\n    %q = arith.maximumf %v, %z : {en}\n    strata.yield %q : {en}\n  }}\n\
                           return %r : {ot}\n}}\n"
                    );
                    let what = format!("mlp {m}x{kk}x{n} {en} at {bits} bits, fusion {fuse}");
                    let k = Kernel::compile(&src, "mlp.mlir", &options).unwrap_or_else(|err| panic!("{what}: {err}"));
                    let (x, w, bias) = (halves(e, &[m, kk], 3), halves(e, &[kk, n], 4), halves(e, &[n], 5));
                    let bv = bias.to_f64_vec();
                    let want: Vec<f64> = triple_loop(&x.to_f64_vec(), &w.to_f64_vec(), m, kk, n)
                        .iter()
                        .enumerate()
                        .map(|(ij, v)| (v + bv[ij % n]).max(0.0))
                        .collect();
                    let got = k.call("mlp", &mut [x, w, bias]).unwrap().remove(0);
                    check(&what, &got, &want, 0.0);
                    assert_eq!(strata_runtime::alloc::live_bytes(), 0, "{what} leaked");
                }
            }
        }
    }
}

/// A matmul's elementwise epilogue is fused into its kernel (which then
/// runs where the epilogue was) only where that changes nothing: not when
/// a nest in between overwrites the matmul's input, nor when the epilogue
/// writes over an input the kernel still reads. Memref kernels, straight
/// through `strata-vectorize` at 128 and 256 bits.
#[test]
fn matmul_epilogue_not_fused_across_writes_of_its_inputs() {
    let _turn = serial();
    let nest = |body: &str| {
        format!(
            "  affine.parallel (%i) = (0) to (16) {{\n    affine.parallel (%j) = (0) to (16) {{\n{body}    }}\n  }}\n"
        )
    };
    let t = "memref<16x16xf32>";
    let matmul = format!(
        "  %c = memref.alloc() {{alignment = 64 : i64}} : {t}\n{}  affine.parallel (%i) = (0) to (16) {{\n    affine.for %k = 0 to 16 {{\n\
         \x20     affine.parallel (%j) = (0) to (16) {{\n        %0 = affine.load %a[%i, %k] : {t}\n        %1 = affine.load %b[%k, %j] : {t}\n\
         \x20       %2 = affine.load %c[%i, %j] : {t}\n        %3 = arith.mulf %0, %1 : f32\n        %4 = arith.addf %2, %3 : f32\n\
         \x20       affine.store %4, %c[%i, %j] : {t}\n      }}\n    }}\n  }}\n",
        nest(&format!("      affine.store %z, %c[%i, %j] : {t}\n"))
    );
    // out = A*B + A after A is zeroed: A*B.
    let zero_a = format!(
        "func.func @zero_a(%a: {t}, %b: {t}, %out: {t}) {{\n  %z = arith.constant 0.0 : f32\n{matmul}{}{}  memref.dealloc %c : {t}\n  return\n}}\n",
        nest(&format!("      affine.store %z, %a[%i, %j] : {t}\n")),
        nest(&format!(
            "      %0 = affine.load %c[%i, %j] : {t}\n      %1 = affine.load %a[%i, %j] : {t}\n      %2 = arith.addf %0, %1 : f32\n      affine.store %2, %out[%i, %j] : {t}\n"
        ))
    );
    // A = A*B + 1, in place.
    let in_place = format!(
        "func.func @in_place(%a: {t}, %b: {t}) {{\n  %z = arith.constant 0.0 : f32\n  %one = arith.constant 1.0 : f32\n{matmul}{}  memref.dealloc %c : {t}\n  return\n}}\n",
        nest(&format!(
            "      %0 = affine.load %c[%i, %j] : {t}\n      %1 = arith.addf %0, %one : f32\n      affine.store %1, %a[%i, %j] : {t}\n"
        ))
    );
    let src = format!("{zero_a}{in_place}");
    for bits in [128, 256] {
        let pipeline = format!("builtin.module(strata-vectorize{{vector-width={bits}}},strata-parallelize,strata-lower-to-llvm)");
        let options = CompileOptions { pipeline: Some(pipeline), ..Default::default() };
        let k = Kernel::compile(&src, "alias.mlir", &options).unwrap_or_else(|err| panic!("{err}\n{src}"));
        let (a, b) = (halves(ElemType::F32, &[16, 16], 6), halves(ElemType::F32, &[16, 16], 7));
        let ab = triple_loop(&a.to_f64_vec(), &b.to_f64_vec(), 16, 16, 16);
        let mut args = [a.clone(), b.clone(), Buffer::from_f32(&[16, 16], &[0.0; 256]).unwrap()];
        k.call("zero_a", &mut args).unwrap();
        check(&format!("zero_a at {bits} bits"), &args[2], &ab, 0.0);
        check(&format!("zero_a at {bits} bits: A"), &args[0], &[0.0; 256], 0.0);
        let mut args = [a.clone(), b.clone()];
        k.call("in_place", &mut args).unwrap();
        check(&format!("in_place at {bits} bits"), &args[0], &ab.iter().map(|v| v + 1.0).collect::<Vec<_>>(), 0.0);
    }
}

/// The distance between two f32 values in ulps: how many floats lie from
/// one to the other (denormals counted as any other step; +0 and -0 one
/// apart).
fn ulp_distance(a: f32, b: f32) -> u64 {
    let key = |x: f32| -> i64 {
        let bits = x.to_bits() as i32 as i64;
        if bits < 0 { -(bits & 0x7fff_ffff) - 1 } else { bits }
    };
    key(a).abs_diff(key(b))
}

/// Inputs for the math sweeps: the edges (infinities, NaN, zeros, the
/// overflow and underflow thresholds of `exp`, denormals, tiny and huge
/// values), a dense sweep of [-110, 95], and floats of every magnitude (a
/// stride through all bit patterns), both signs.
fn math_inputs() -> Vec<f32> {
    let mut xs = vec![
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        0.0,
        -0.0,
        88.8,
        200.0,
        -104.0,
        -87.5,
        88.72283,
        88.72284,
        -103.97,
        -103.972,
        -103.98,
        -87.33654,
        -87.33655,
        -100.0,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        1e-40,
        1e-30,
        -1e-20,
        1e-4,
        0.55,
        -0.55,
        9.01,
        -9.02,
        44.5,
        -44.5,
    ];
    // The floats next to exp's overflow, underflow-to-0 and denormal
    // thresholds.
    for t in [88.72283_f32, -103.97208, -87.33655] {
        xs.extend((0..8).map(|d| f32::from_bits(t.to_bits() - 4 + d)));
    }
    let n = 60_000;
    xs.extend((0..=n).map(|i| -110.0 + 205.0 * i as f32 / n as f32));
    for bits in (0u32..0x7f80_0000).step_by(40_009) {
        xs.push(f32::from_bits(bits));
        xs.push(-f32::from_bits(bits));
    }
    xs
}

/// Checks `got` against the f64 function `want` rounded to f32: NaN where
/// the reference is NaN, else at most `bound` ulps away.
fn check_ulps(what: &str, xs: &[f32], got: &Buffer, want: fn(f64) -> f64, bound: u64) -> u64 {
    let mut worst = 0;
    for (i, x) in xs.iter().enumerate() {
        let (g, w) = (got.get_f64(i).unwrap() as f32, want(*x as f64) as f32);
        if w.is_nan() {
            assert!(g.is_nan(), "{what}({x:e}) = {g:e}, want NaN");
            continue;
        }
        let d = ulp_distance(g, w);
        assert!(d <= bound, "{what}({x:e}) = {g:e}, want {w:e}: {d} ulp, more than {bound}");
        worst = worst.max(d);
    }
    worst
}

/// f32 `exp` and `tanh` at O2 and O3 (the arithmetic expansions of
/// `strata-vectorize`, in vector loops and their scalar tails) and at
/// 128, 256 and 512 bits: within the doc comment's bounds (1 ulp for
/// `exp`, 2 for `tanh`) of the correctly rounded value over the edges and
/// floats of every magnitude, denormal results included; inf, 0, +-1 and
/// NaN exactly where IEEE says. Once `exp(88.8)`, `exp(+inf)` were 1.65e38
/// and `exp(-104)`, `exp(-inf)` 1.65e-38.
#[test]
fn f32_exp_and_tanh_within_their_ulp_bounds_at_the_edges() {
    let _turn = serial();
    let xs = math_inputs();
    let n = xs.len();
    let src = format!(
        "func.func @f(%x: tensor<{n}xf32>) -> (tensor<{n}xf32>, tensor<{n}xf32>) {{\n\
           %e = strata.exp %x : tensor<{n}xf32>\n  %t = strata.tanh %x : tensor<{n}xf32>\n\
           return %e, %t : tensor<{n}xf32>, tensor<{n}xf32>\n}}\n"
    );
    let mut options = vec![("O2".to_string(), CompileOptions { level: Level::O2, ..Default::default() })];
    options.push(("O3".to_string(), CompileOptions::default()));
    for bits in [128, 256, 512] {
        options.push((format!("O3 at {bits} bits"), o3_at(bits, true)));
    }
    for (what, o) in &options {
        let k = Kernel::compile(&src, "math.mlir", o).unwrap();
        let out = k.call("f", &mut [Buffer::from_f32(&[n], &xs).unwrap()]).unwrap();
        let worst_exp = check_ulps(&format!("{what}: exp"), &xs, &out[0], f64::exp, 1);
        let worst_tanh = check_ulps(&format!("{what}: tanh"), &xs, &out[1], f64::tanh, 2);
        eprintln!("{what}: {n} inputs, worst exp {worst_exp} ulp, worst tanh {worst_tanh} ulp");
        for (i, x) in xs.iter().enumerate() {
            let (e, t) = (out[0].get_f64(i).unwrap(), out[1].get_f64(i).unwrap());
            if *x > 88.7229 {
                assert_eq!(e, f64::INFINITY, "{what}: exp({x:e})");
            }
            if *x < -103.973 {
                assert_eq!(e.to_bits(), 0, "{what}: exp({x:e}) is +0");
            }
            if x.abs() > 9.1 {
                assert_eq!(t, x.signum() as f64, "{what}: tanh({x:e})");
            }
            if x.abs() < 1e-4 {
                assert_eq!((t as f32).to_bits(), x.to_bits(), "{what}: tanh({x:e}) is x");
            }
        }
    }
}

/// A softmax over rows with masked (-inf, and -1e30) entries, at O2 and O3
/// and each vector width: exactly 0 where masked, the f64 reference
/// elsewhere (once 1.65e-38 where masked).
#[test]
fn masked_softmax_gives_exact_zeros() {
    let _turn = serial();
    let (rows, cols) = (7, 45);
    let t = format!("tensor<{rows}x{cols}xf32>");
    let r = format!("tensor<{rows}xf32>");
    let src = format!(
        "func.func @softmax(%x: {t}) -> {t} {{\n\
           %m = strata.reduce \"max\" %x dims = [1] : {t} -> {r}\n\
           %mb = strata.broadcast %m dims = [1] : {r} -> {t}\n\
           %d = strata.sub %x, %mb : {t}\n  %e = strata.exp %d : {t}\n\
           %s = strata.reduce \"add\" %e dims = [1] : {t} -> {r}\n\
           %sb = strata.broadcast %s dims = [1] : {r} -> {t}\n\
           %q = strata.div %e, %sb : {t}\n  return %q : {t}\n}}\n"
    );
    let base = data(ElemType::F32, &[rows, cols], 91, false, false).to_f64_vec();
    // Row 0 keeps one entry; the others lose every third, or every fifth
    // to a large finite mask.
    let x: Vec<f32> = base
        .iter()
        .enumerate()
        .map(|(ij, v)| {
            let (i, j) = (ij / cols, ij % cols);
            let masked = if i == 0 { j != 17 } else { (i + j) % 3 == 0 };
            if masked { f32::NEG_INFINITY } else if i >= 4 && j % 5 == 0 { -1e30 } else { *v as f32 }
        })
        .collect();
    let want: Vec<f64> = x
        .chunks(cols)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let e: Vec<f64> = row.iter().map(|v| (*v as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s).collect::<Vec<_>>()
        })
        .collect();
    let mut options = vec![CompileOptions { level: Level::O2, ..Default::default() }, CompileOptions::default()];
    options.extend([128, 256, 512].map(|bits| o3_at(bits, true)));
    for (n, o) in options.iter().enumerate() {
        let k = Kernel::compile(&src, "softmax.mlir", o).unwrap();
        let got = k.call("softmax", &mut [Buffer::from_f32(&[rows, cols], &x).unwrap()]).unwrap().remove(0);
        for (ij, w) in want.iter().enumerate() {
            let g = got.get_f64(ij).unwrap();
            if x[ij] < -1e29 {
                assert_eq!(g.to_bits(), 0, "options #{n}: element {ij} (masked) is {g:e}, want 0");
            } else {
                assert!((g - w).abs() <= 4e-7 * w, "options #{n}: element {ij}: got {g:e}, want {w:e}");
            }
        }
    }
}

/// An escape-time Mandelbrot over an `h x w` grid, the escape loop an
/// `scf.while` that stops when |z|^2 >= 4 or after `max` trips, in `f`
/// (f32 or f64): Strata runs it on vectors with a lane mask.
fn mandel_while(f: &str, h: usize, w: usize, max: i32) -> String {
    format!(
        r#"
func.func @escape() -> tensor<{h}x{w}xi32> {{
  %r = strata.map() : () -> tensor<{h}x{w}xi32> {{
    %i = strata.index 0
    %j = strata.index 1
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %fi = arith.sitofp %ii : i64 to {f}
    %fj = arith.sitofp %jj : i64 to {f}
    %sx = arith.constant {sx:e} : {f}
    %sy = arith.constant {sy:e} : {f}
    %x0 = arith.constant -2.0 : {f}
    %y0 = arith.constant -1.25 : {f}
    %cr0 = arith.mulf %fj, %sx : {f}
    %cr = arith.addf %cr0, %x0 : {f}
    %ci0 = arith.mulf %fi, %sy : {f}
    %ci = arith.addf %ci0, %y0 : {f}
    %zero = arith.constant 0.0 : {f}
    %four = arith.constant 4.0 : {f}
    %two = arith.constant 2.0 : {f}
    %n0 = arith.constant 0 : i32
    %one = arith.constant 1 : i32
    %max = arith.constant {max} : i32
    %res:3 = scf.while (%x = %zero, %y = %zero, %n = %n0) : ({f}, {f}, i32) -> ({f}, {f}, i32) {{
      %xx = arith.mulf %x, %x : {f}
      %yy = arith.mulf %y, %y : {f}
      %r2 = arith.addf %xx, %yy : {f}
      %inside = arith.cmpf olt, %r2, %four : {f}
      %more = arith.cmpi slt, %n, %max : i32
      %go = arith.andi %inside, %more : i1
      scf.condition(%go) %x, %y, %n : {f}, {f}, i32
    }} do {{
    ^bb0(%x: {f}, %y: {f}, %n: i32):
      %xx = arith.mulf %x, %x : {f}
      %yy = arith.mulf %y, %y : {f}
      %xn0 = arith.subf %xx, %yy : {f}
      %xn = arith.addf %xn0, %cr : {f}
      %xy = arith.mulf %x, %y : {f}
      %yn0 = arith.mulf %xy, %two : {f}
      %yn = arith.addf %yn0, %ci : {f}
      %n1 = arith.addi %n, %one : i32
      scf.yield %xn, %yn, %n1 : {f}, {f}, i32
    }}
    strata.yield %res#2 : i32
  }}
  return %r : tensor<{h}x{w}xi32>
}}

// Collatz: trips until 1 (halving by a shift), capped at 500.
func.func @collatz(%a: tensor<{w}xi64>) -> tensor<{w}xi32> {{
  %r = strata.map(%a) : (tensor<{w}xi64>) -> tensor<{w}xi32> {{
  ^bb0(%v: i64):
    %one = arith.constant 1 : i64
    %three = arith.constant 3 : i64
    %n0 = arith.constant 0 : i32
    %inc = arith.constant 1 : i32
    %cap = arith.constant 500 : i32
    %res:2 = scf.while (%x = %v, %n = %n0) : (i64, i32) -> (i64, i32) {{
      %big = arith.cmpi sgt, %x, %one : i64
      %more = arith.cmpi slt, %n, %cap : i32
      %go = arith.andi %big, %more : i1
      scf.condition(%go) %x, %n : i64, i32
    }} do {{
    ^bb0(%x: i64, %n: i32):
      %low = arith.andi %x, %one : i64
      %odd = arith.cmpi eq, %low, %one : i64
      %t = arith.muli %x, %three : i64
      %t1 = arith.addi %t, %one : i64
      %h = arith.shrsi %x, %one : i64
      %nx = arith.select %odd, %t1, %h : i64
      %n1 = arith.addi %n, %inc : i32
      scf.yield %nx, %n1 : i64, i32
    }}
    strata.yield %res#1 : i32
  }}
  return %r : tensor<{w}xi32>
}}

{newton_trips}
{newton_root}
{bisect_trips}
{bisect_lo}
"#,
        sx = 3.0 / w as f64,
        sy = 2.5 / h as f64,
        newton_trips = newton(f, w, "newton", "i32", 1),
        newton_root = newton(f, w, "newton_root", f, 0),
        bisect_trips = bisect(f, w, "bisect", "i32", 2),
        bisect_lo = bisect(f, w, "bisect_lo", f, 0),
    )
}

/// The cube root of each element by bisection on `[0, v + 1]` until the
/// bracket is narrower than 1e-3 (at most 80 halvings), as an `scf.while`
/// carrying the bracket; the map yields the trips (`pick` 2) or the lower
/// end (0).
fn bisect(f: &str, w: usize, name: &str, out: &str, pick: usize) -> String {
    format!(
        r#"
func.func @{name}(%a: tensor<{w}x{f}>) -> tensor<{w}x{out}> {{
  %r = strata.map(%a) : (tensor<{w}x{f}>) -> tensor<{w}x{out}> {{
  ^bb0(%v: {f}):
    %zero = arith.constant 0.0 : {f}
    %one = arith.constant 1.0 : {f}
    %half = arith.constant 0.5 : {f}
    %tol = arith.constant 1.0e-3 : {f}
    %n0 = arith.constant 0 : i32
    %inc = arith.constant 1 : i32
    %cap = arith.constant 80 : i32
    %hi0 = arith.addf %v, %one : {f}
    %res:3 = scf.while (%lo = %zero, %hi = %hi0, %n = %n0) : ({f}, {f}, i32) -> ({f}, {f}, i32) {{
      %width = arith.subf %hi, %lo : {f}
      %wide = arith.cmpf ogt, %width, %tol : {f}
      %more = arith.cmpi slt, %n, %cap : i32
      %go = arith.andi %wide, %more : i1
      scf.condition(%go) %lo, %hi, %n : {f}, {f}, i32
    }} do {{
    ^bb0(%lo: {f}, %hi: {f}, %n: i32):
      %s = arith.addf %lo, %hi : {f}
      %mid = arith.mulf %s, %half : {f}
      %m2 = arith.mulf %mid, %mid : {f}
      %m3 = arith.mulf %m2, %mid : {f}
      %above = arith.cmpf ogt, %m3, %v : {f}
      %nlo = arith.select %above, %lo, %mid : {f}
      %nhi = arith.select %above, %mid, %hi : {f}
      %n1 = arith.addi %n, %inc : i32
      scf.yield %nlo, %nhi, %n1 : {f}, {f}, i32
    }}
    strata.yield %res#{pick} : {out}
  }}
  return %r : tensor<{w}x{out}>
}}
"#
    )
}

/// Newton's square root of each element to a relative tolerance, as an
/// `scf.while`; the map yields the trips taken (`pick` 1) or the root (0).
fn newton(f: &str, w: usize, name: &str, out: &str, pick: usize) -> String {
    format!(
        r#"
func.func @{name}(%a: tensor<{w}x{f}>) -> tensor<{w}x{out}> {{
  %r = strata.map(%a) : (tensor<{w}x{f}>) -> tensor<{w}x{out}> {{
  ^bb0(%v: {f}):
    %half = arith.constant 0.5 : {f}
    %tol = arith.constant 1.0e-5 : {f}
    %n0 = arith.constant 0 : i32
    %inc = arith.constant 1 : i32
    %cap = arith.constant 60 : i32
    %res:2 = scf.while (%x = %v, %n = %n0) : ({f}, i32) -> ({f}, i32) {{
      %sq = arith.mulf %x, %x : {f}
      %e = arith.subf %sq, %v : {f}
      %ae = math.absf %e : {f}
      %lim = arith.mulf %tol, %v : {f}
      %far = arith.cmpf ogt, %ae, %lim : {f}
      %more = arith.cmpi slt, %n, %cap : i32
      %go = arith.andi %far, %more : i1
      scf.condition(%go) %x, %n : {f}, i32
    }} do {{
    ^bb0(%x: {f}, %n: i32):
      %q = arith.divf %v, %x : {f}
      %s = arith.addf %x, %q : {f}
      %nx = arith.mulf %s, %half : {f}
      %n1 = arith.addi %n, %inc : i32
      scf.yield %nx, %n1 : {f}, i32
    }}
    strata.yield %res#{pick} : {out}
  }}
  return %r : tensor<{w}x{out}>
}}
"#
    )
}

/// The references, step for step as the scalar loops (in `f32` when
/// `single`, rounding each operation as the kernel does).
fn mandel_while_ref(single: bool, h: usize, w: usize, max: i32) -> Vec<i64> {
    let r = |v: f64| if single { v as f32 as f64 } else { v };
    let (sx, sy) = (r(3.0 / w as f64), r(2.5 / h as f64));
    let mut out = Vec::new();
    for i in 0..h {
        for j in 0..w {
            let cr = r(r(j as f64 * sx) - 2.0);
            let ci = r(r(i as f64 * sy) - 1.25);
            let (mut x, mut y, mut n) = (0.0f64, 0.0f64, 0);
            while r(r(x * x) + r(y * y)) < 4.0 && n < max {
                let xn = r(r(r(x * x) - r(y * y)) + cr);
                y = r(r(r(x * y) * 2.0) + ci);
                x = xn;
                n += 1;
            }
            out.push(n as i64);
        }
    }
    out
}

fn collatz_ref(v: i64) -> i64 {
    let (mut x, mut n) = (v, 0);
    while x > 1 && n < 500 {
        x = if x & 1 == 1 { 3 * x + 1 } else { x >> 1 };
        n += 1;
    }
    n
}

/// Divergent `scf.while` loops (escape-time Mandelbrot in f32 and f64,
/// Collatz counts, Newton iterations to a tolerance, a root-finding
/// bisection per element) at an odd size (so the interleaved vectors, one
/// more vector and scalar lanes all run), at every target width this host
/// runs and at 1, 2 and 3 threads: the counts are exactly the scalar
/// loop's, Newton's roots and the bisection's brackets too.
#[test]
fn divergent_while_loops_every_width_and_thread_count() {
    let dir = std::env::temp_dir().join(format!("strata-while-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (h, w, max) = (23, 101, 200);
    let host = strata_driver::target::resolve("host").unwrap();
    let collatz_in: Vec<i64> = (0..w as i64).map(|k| k * 37 + 1).collect();
    let newton_in: Vec<f64> = (0..w).map(|k| 0.25 + k as f64 * 3.7).collect();
    for (f, single) in [("f64", false), ("f32", true)] {
        let file = dir.join(format!("while-{f}.mlir"));
        std::fs::write(&file, mandel_while(f, h, w, max)).unwrap();
        let want = mandel_while_ref(single, h, w, max);
        for target in ["x86-64", "x86-64-v3", "x86-64-v4"] {
            let t = strata_driver::target::resolve(target).unwrap();
            if strata_driver::target::check_executable(&t).is_err() {
                assert!(host.vector_bits < t.vector_bits, "{target} refused on a host with {} bits", host.vector_bits);
                continue;
            }
            for threads in ["1", "2", "3"] {
                let run = |args: &[String]| {
                    let out = Command::new(env!("CARGO_BIN_EXE_strata-run"))
                        .arg(&file)
                        .arg(format!("--threads={threads}"))
                        .arg(format!("--strata-target={target}"))
                        .args(args)
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{args:?} {target} {threads}: {}", String::from_utf8_lossy(&out.stderr));
                    String::from_utf8(out.stdout).unwrap()
                };
                let what = format!("{f} on {target} at {threads} thread(s)");
                let got = parse_ints(&run(&["-e".into(), "escape".into()]), &format!("{h}x{w}xi32="));
                assert_eq!(got, want, "mandelbrot {what}");
                if f == "f64" {
                    let input = format!("--input={w}xi64={}", collatz_in.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
                    let got = parse_ints(&run(&["-e".into(), "collatz".into(), input]), &format!("{w}xi32="));
                    let want: Vec<i64> = collatz_in.iter().map(|v| collatz_ref(*v)).collect();
                    assert_eq!(got, want, "collatz {what}");
                }
                let input = format!("--input={w}x{f}={}", newton_in.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
                let trips = parse_ints(&run(&["-e".into(), "newton".into(), input.clone()]), &format!("{w}xi32="));
                let roots = parse_values(&run(&["-e".into(), "newton_root".into(), input.clone()]), &format!("{w}x{f}="));
                for (k, v) in newton_in.iter().enumerate() {
                    // The same steps as the kernel's, in its precision.
                    let r = |x: f64| if single { x as f32 as f64 } else { x };
                    let (v, mut x, mut n) = (r(*v), r(*v), 0);
                    while (r(r(x * x) - v)).abs() > r(r(1.0e-5) * v) && n < 60 {
                        x = r(r(x + r(v / x)) * 0.5);
                        n += 1;
                    }
                    assert_eq!(trips[k], n, "newton trips {what}, element {k}");
                    // Printed with enough digits to round-trip: the same value.
                    assert_eq!(r(roots[k]), x, "newton root {what}, element {k}");
                }
                let trips = parse_ints(&run(&["-e".into(), "bisect".into(), input.clone()]), &format!("{w}xi32="));
                let lows = parse_values(&run(&["-e".into(), "bisect_lo".into(), input]), &format!("{w}x{f}="));
                for (k, v) in newton_in.iter().enumerate() {
                    let r = |x: f64| if single { x as f32 as f64 } else { x };
                    let (v, tol) = (r(*v), r(1.0e-3));
                    let (mut lo, mut hi, mut n) = (0.0, r(v + 1.0), 0);
                    while r(hi - lo) > tol && n < 80 {
                        let mid = r(r(lo + hi) * 0.5);
                        if r(r(mid * mid) * mid) > v {
                            hi = mid;
                        } else {
                            lo = mid;
                        }
                        n += 1;
                    }
                    assert_eq!(trips[k], n, "bisection trips {what}, element {k}");
                    assert_eq!(r(lows[k]), lo, "bisection bracket {what}, element {k}");
                }
            }
        }
    }
}

/// Every spelling of a contraction gets a kernel and the same sums as a
/// plain loop: A·B, A·Bᵀ, Aᵀ·B, Aᵀ·Bᵀ (the transposes folded into the
/// indexing maps), batched, matvec (N = 1), vecmat (M = 1), a dot product,
/// and a hand-written `linalg.generic` that accumulates into a given C and
/// writes it transposed; every element type, at every vector width, with
/// sizes that are no multiple of any vector or tile.
#[test]
fn contractions_in_every_spelling_type_and_width() {
    let _turn = serial();
    let sizes = [(13usize, 17usize, 37usize), (29, 45, 1), (1, 9, 33), (1, 70, 1), (6, 3, 32)];
    for bits in [128, 256, 512] {
        let options = o3_at(bits, true);
        for e in ELEMS {
            let en = e.name();
            let mut src = String::new();
            for (s, (m, k, n)) in sizes.iter().enumerate() {
                let (at, atr, bt, btr, ot) = (ty(&[*m, *k], e), ty(&[*k, *m], e), ty(&[*k, *n], e), ty(&[*n, *k], e), ty(&[*m, *n], e));
                src += &format!(
                    "func.func @ab{s}(%a: {at}, %b: {bt}) -> {ot} {{\n  %r = strata.matmul %a, %b : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n\
                     func.func @abt{s}(%a: {at}, %b: {btr}) -> {ot} {{\n  %t = strata.transpose %b permutation = [1, 0] : {btr} -> {bt}\n  %r = strata.matmul %a, %t : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n\
                     func.func @atb{s}(%a: {atr}, %b: {bt}) -> {ot} {{\n  %t = strata.transpose %a permutation = [1, 0] : {atr} -> {at}\n  %r = strata.matmul %t, %b : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n\
                     func.func @atbt{s}(%a: {atr}, %b: {btr}) -> {ot} {{\n  %ta = strata.transpose %a permutation = [1, 0] : {atr} -> {at}\n  %tb = strata.transpose %b permutation = [1, 0] : {btr} -> {bt}\n  %r = strata.matmul %ta, %tb : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n"
                );
            }
            // Batched, B transposed in its last two dimensions.
            let (ba, bb, bo) = (ty(&[3, 5, 7], e), ty(&[3, 9, 7], e), ty(&[3, 5, 9], e));
            let bbt = ty(&[3, 7, 9], e);
            src += &format!(
                "func.func @batched(%a: {ba}, %b: {bb}) -> {bo} {{\n  %t = strata.transpose %b permutation = [0, 2, 1] : {bb} -> {bbt}\n  %r = strata.matmul %a, %t : {ba}, {bbt} -> {bo}\n  return %r : {bo}\n}}\n"
            );
            // C[j, i] += A[i, k] * B[k, j], into a given C.
            let (mul, add) = if e.is_float() { ("arith.mulf", "arith.addf") } else { ("arith.muli", "arith.addi") };
            let (ga, gb, gc) = (ty(&[11, 19], e), ty(&[19, 41], e), ty(&[41, 11], e));
            src += &format!(
                "func.func @generic(%a: {ga}, %b: {gb}, %c: {gc}) -> {gc} {{\n  %r = linalg.generic {{indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (j, i)>], iterator_types = [\"parallel\", \"parallel\", \"reduction\"]}} ins(%a, %b : {ga}, {gb}) outs(%c : {gc}) {{\n  ^bb0(%x: {en}, %y: {en}, %acc: {en}):\n    %p = {mul} %x, %y : {en}\n    %s = {add} %acc, %p : {en}\n    linalg.yield %s : {en}\n  }} -> {gc}\n  return %r : {gc}\n}}\n"
            );
            let what = format!("{en} at {bits} bits");
            let kernel = Kernel::compile(&src, "contractions.mlir", &options).unwrap_or_else(|err| panic!("{what}: {err}\n{src}"));
            let t = if e.is_float() { tol(e) * 16.0 } else { 0.0 };
            // want[i, j] = sum_p a(i, p) * b(p, j)
            let reference = |m: usize, k: usize, n: usize, a: &dyn Fn(usize, usize) -> f64, b: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
                (0..m * n).map(|ij| round(e, (0..k).map(|p| a(ij / n, p) * b(p, ij % n)).sum())).collect()
            };
            for (s, (m, k, n)) in sizes.iter().copied().enumerate() {
                let (a, b) = (data(e, &[m, k], 70 + s as u64, false, false), data(e, &[k, n], 80 + s as u64, false, false));
                let (ar, br) = (data(e, &[k, m], 90 + s as u64, false, false), data(e, &[n, k], 100 + s as u64, false, false));
                let (av, bv, arv, brv) = (a.to_f64_vec(), b.to_f64_vec(), ar.to_f64_vec(), br.to_f64_vec());
                let call = |name: &str, x: &Buffer, y: &Buffer| kernel.call(&format!("{name}{s}"), &mut [x.clone(), y.clone()]).unwrap().remove(0);
                let shape = format!("{m}x{k}x{n} {what}");
                check(&format!("A.B {shape}"), &call("ab", &a, &b), &reference(m, k, n, &|i, p| av[i * k + p], &|p, j| bv[p * n + j]), t);
                check(&format!("A.Bt {shape}"), &call("abt", &a, &br), &reference(m, k, n, &|i, p| av[i * k + p], &|p, j| brv[j * k + p]), t);
                check(&format!("At.B {shape}"), &call("atb", &ar, &b), &reference(m, k, n, &|i, p| arv[p * m + i], &|p, j| bv[p * n + j]), t);
                check(&format!("At.Bt {shape}"), &call("atbt", &ar, &br), &reference(m, k, n, &|i, p| arv[p * m + i], &|p, j| brv[j * k + p]), t);
            }
            let (a, b) = (data(e, &[3, 5, 7], 110, false, false), data(e, &[3, 9, 7], 111, false, false));
            let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
            let got = kernel.call("batched", &mut [a, b]).unwrap().remove(0);
            let want: Vec<f64> = (0..3)
                .flat_map(|q| reference(5, 7, 9, &|i, p| av[(q * 5 + i) * 7 + p], &|p, j| bv[(q * 9 + j) * 7 + p]))
                .collect();
            check(&format!("batched {what}"), &got, &want, t);
            let (a, b, c) = (data(e, &[11, 19], 120, false, false), data(e, &[19, 41], 121, false, false), data(e, &[41, 11], 122, false, false));
            let (av, bv, cv) = (a.to_f64_vec(), b.to_f64_vec(), c.to_f64_vec());
            let got = kernel.call("generic", &mut [a, b, c]).unwrap().remove(0);
            let product = reference(11, 19, 41, &|i, p| av[i * 19 + p], &|p, j| bv[p * 41 + j]);
            let want: Vec<f64> = (0..41 * 11).map(|ji| round(e, cv[ji] + product[(ji % 11) * 41 + ji / 11])).collect();
            check(&format!("generic C[j, i] += A[i, k] B[k, j] {what}"), &got, &want, t);
            assert_eq!(strata_runtime::alloc::live_bytes(), 0, "{what} leaked");
        }
    }
}

/// Elementwise producers of a contraction's operands (`A * A`, `B + B`,
/// `(A * A)^T`, `exp(A) . exp(x)`) that linalg's fusion folds into its payload are applied where
/// the kernels load or pack each element: outer-product kernels (B packed
/// by vectors, B transposed and packed by elements, A packed or not) and
/// the dot kernel, whose masked last vector must not add `exp(0) = 1`
/// for the lanes past K.
#[test]
fn contractions_with_folded_elementwise_producers() {
    let _turn = serial();
    for bits in [128, 512] {
        let options = o3_at(bits, true);
        for e in ELEMS {
            let en = e.name();
            let (m, k, n) = (13usize, 21usize, 70usize);
            let (at, atr, bt, btr, ot) = (ty(&[m, k], e), ty(&[k, m], e), ty(&[k, n], e), ty(&[n, k], e), ty(&[m, n], e));
            let mut src = format!(
                "func.func @sq(%a: {at}, %b: {bt}) -> {ot} {{\n  %s = strata.mul %a, %a : {at}\n  %d = strata.add %b, %b : {bt}\n  %r = strata.matmul %s, %d : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n\
                 func.func @sqt(%a: {at}, %b: {btr}) -> {ot} {{\n  %d = strata.add %b, %b : {btr}\n  %t = strata.transpose %d permutation = [1, 0] : {btr} -> {bt}\n  %r = strata.matmul %a, %t : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n\
                 func.func @sqat(%a: {atr}, %b: {bt}) -> {ot} {{\n  %s = strata.mul %a, %a : {atr}\n  %t = strata.transpose %s permutation = [1, 0] : {atr} -> {at}\n  %r = strata.matmul %t, %b : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n"
            );
            let (mv, xv, yv) = (ty(&[9, 37], e), ty(&[37, 1], e), ty(&[9, 1], e));
            if e.is_float() {
                src += &format!(
                    "func.func @expmv(%a: {mv}, %x: {xv}) -> {yv} {{\n  %ea = strata.exp %a : {mv}\n  %ex = strata.exp %x : {xv}\n  %r = strata.matmul %ea, %ex : {mv}, {xv} -> {yv}\n  return %r : {yv}\n}}\n"
                );
            }
            let what = format!("{en} at {bits} bits");
            let kernel = Kernel::compile(&src, "producers.mlir", &options).unwrap_or_else(|err| panic!("{what}: {err}\n{src}"));
            let t = if e.is_float() { tol(e) * 16.0 } else { 0.0 };
            let (a, b, br) = (data(e, &[m, k], 130, false, false), data(e, &[k, n], 131, false, false), data(e, &[n, k], 132, false, false));
            let (av, bv, brv) = (a.to_f64_vec(), b.to_f64_vec(), br.to_f64_vec());
            let r = |x: f64| round(e, x);
            let want: Vec<f64> =
                (0..m * n).map(|ij| r((0..k).map(|p| r(av[(ij / n) * k + p] * av[(ij / n) * k + p]) * (2.0 * bv[p * n + ij % n])).sum())).collect();
            check(&format!("(A*A).(B+B) {what}"), &kernel.call("sq", &mut [a.clone(), b]).unwrap().remove(0), &want, t);
            let want: Vec<f64> = (0..m * n).map(|ij| r((0..k).map(|p| av[(ij / n) * k + p] * (2.0 * brv[(ij % n) * k + p])).sum())).collect();
            check(&format!("A.(B+B)t {what}"), &kernel.call("sqt", &mut [a, br]).unwrap().remove(0), &want, t);
            // A transposed, its square folded into the packing of its
            // panels, which moves each panel's rows of a reduction step as
            // one vector.
            let (ar, b) = (data(e, &[k, m], 135, false, false), data(e, &[k, n], 136, false, false));
            let (arv, bv) = (ar.to_f64_vec(), b.to_f64_vec());
            let want: Vec<f64> =
                (0..m * n).map(|ij| r((0..k).map(|p| r(arv[p * m + ij / n] * arv[p * m + ij / n]) * bv[p * n + ij % n]).sum())).collect();
            check(&format!("(A*A)t.B {what}"), &kernel.call("sqat", &mut [ar, b]).unwrap().remove(0), &want, t);
            if e.is_float() {
                let (a, x) = (data(e, &[9, 37], 133, false, false), data(e, &[37, 1], 134, false, false));
                let (av, xv) = (a.to_f64_vec(), x.to_f64_vec());
                let want: Vec<f64> = (0..9).map(|i| r((0..37).map(|p| r(av[i * 37 + p].exp()) * r(xv[p].exp())).sum())).collect();
                check(&format!("A.exp(x) {what}"), &kernel.call("expmv", &mut [a, x]).unwrap().remove(0), &want, 1e-5);
            }
        }
    }
}

/// Reductions over an outer dimension (column sums, and over the middle
/// dimension of a rank-3 tensor) become blocks of vector accumulators
/// walking the rows: every kind and element type at every vector width,
/// with column counts that leave scalar columns, bit-identical to the
/// sequential loop (the rows are still combined in order).
#[test]
fn column_reductions_every_kind_type_and_width() {
    let _turn = serial();
    for bits in [128, 256, 512] {
        let options = o3_at(bits, true);
        for e in ELEMS {
            for (shape, dim) in [(vec![37usize, 101usize], 0usize), (vec![3, 29, 70], 1)] {
                let x = data(e, &shape, 150, false, false);
                let xv = x.to_f64_vec();
                let out_shape: Vec<usize> = shape.iter().enumerate().filter(|(d, _)| *d != dim).map(|(_, s)| *s).collect();
                for kind in ["add", "mul", "max", "min"] {
                    let (it, ot) = (ty(&shape, e), ty(&out_shape, e));
                    let src = format!(
                        "func.func @r(%a: {it}) -> {ot} {{\n  %r = strata.reduce \"{kind}\" %a dims = [{dim}] : {it} -> {ot}\n  return %r : {ot}\n}}\n"
                    );
                    let got = Kernel::compile(&src, "columns.mlir", &options).unwrap().call("r", &mut [x.clone()]).unwrap().remove(0);
                    // Sequential over the reduced dimension, rounded (or
                    // wrapped) after every step as the kernel does.
                    let step = |acc: f64, v: f64| -> f64 {
                        match (kind, e) {
                            ("add", ElemType::I32) => (acc as i32).wrapping_add(v as i32) as f64,
                            ("mul", ElemType::I32) => (acc as i32).wrapping_mul(v as i32) as f64,
                            ("add", ElemType::I64) => (acc as i64).wrapping_add(v as i64) as f64,
                            ("mul", ElemType::I64) => (acc as i64).wrapping_mul(v as i64) as f64,
                            ("add", _) => round(e, acc + v),
                            ("mul", _) => round(e, acc * v),
                            ("max", _) => acc.max(v),
                            _ => acc.min(v),
                        }
                    };
                    let init = match kind {
                        "add" => 0.0,
                        "mul" => 1.0,
                        "max" => f64::NEG_INFINITY,
                        _ => f64::INFINITY,
                    };
                    let (outer, rows, inner) = if dim == 0 { (1, shape[0], shape[1]) } else { (shape[0], shape[1], shape[2]) };
                    let want: Vec<f64> = (0..outer * inner)
                        .map(|oi| {
                            let (o, c) = (oi / inner, oi % inner);
                            let mut acc = init;
                            for r in 0..rows {
                                acc = step(acc, xv[(o * rows + r) * inner + c]);
                            }
                            // Integer max/min start from the type's extremes.
                            if !e.is_float() && acc.is_infinite() { xv[o * rows * inner + c] } else { acc }
                        })
                        .collect();
                    let what = format!("reduce {kind} dims [{dim}] of {it} at {bits} bits");
                    if e.is_float() {
                        check(&what, &got, &want, 0.0);
                        continue;
                    }
                    // Integers in their own domain: i64 products do not fit
                    // an f64.
                    let xi = x.to_i64_vec();
                    let wrap = |v: i64| if e == ElemType::I32 { v as i32 as i64 } else { v };
                    let want: Vec<i64> = (0..outer * inner)
                        .map(|oi| {
                            let (o, c) = (oi / inner, oi % inner);
                            let column = (0..rows).map(|r| xi[(o * rows + r) * inner + c]);
                            match kind {
                                "add" => column.fold(0i64, |a, v| wrap(a.wrapping_add(v))),
                                "mul" => column.fold(1i64, |a, v| wrap(a.wrapping_mul(v))),
                                "max" => column.max().unwrap(),
                                _ => column.min().unwrap(),
                            }
                        })
                        .collect();
                    assert_eq!(got.to_i64_vec(), want, "{what}");
                }
            }
        }
    }
}

/// A reduction over a size-1 dimension, broadcast along another and used
/// by two results (what the Python tracer makes of NumPy's size-1
/// broadcasting): loop fusion must not recompute it into the same
/// accumulator once per row of its consumer (upstream's fusion did, at
/// its default compute tolerance).
#[test]
fn fused_reductions_are_not_recomputed() {
    let _turn = serial();
    let src = r#"func.func @main(%x: tensor<3x1xf64>, %y: tensor<1x4xf64>) -> (tensor<3x4xf64>, tensor<3x4xf64>) {
  %v1 = "strata.reduce"(%x) {dims = array<i64: 1>, kind = "mul"} : (tensor<3x1xf64>) -> tensor<3xf64>
  %v2 = "strata.broadcast"(%v1) {dims = array<i64: 1>} : (tensor<3xf64>) -> tensor<3x4xf64>
  %v3 = "strata.reduce"(%y) {dims = array<i64: 0>, kind = "mul"} : (tensor<1x4xf64>) -> tensor<4xf64>
  %v4 = "strata.broadcast"(%v3) {dims = array<i64: 0>} : (tensor<4xf64>) -> tensor<3x4xf64>
  %v5 = "strata.add"(%v2, %v4) : (tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xf64>
  %v10 = "strata.mul"(%v4, %v2) : (tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xf64>
  return %v5, %v10 : tensor<3x4xf64>, tensor<3x4xf64>
}"#;
    let (x, y) = (Buffer::from_f64(&[3, 1], &[1.0, 2.0, 3.0]).unwrap(), Buffer::from_f64(&[1, 4], &[0.0, 10.0, 20.0, 30.0]).unwrap());
    for level in [Level::O0, Level::O1, Level::O2, Level::O3] {
        let options = CompileOptions { pipeline: Some(strata_passes::levels::pipeline(level).to_text()), ..Default::default() };
        let got = Kernel::compile(src, "fused.mlir", &options).unwrap().call("main", &mut [x.clone(), y.clone()]).unwrap();
        let sums: Vec<f64> = (0..12).map(|ij| (ij / 4 + 1) as f64 + (ij % 4) as f64 * 10.0).collect();
        let products: Vec<f64> = (0..12).map(|ij| (ij / 4 + 1) as f64 * (ij % 4) as f64 * 10.0).collect();
        check(&format!("sums at {level:?}"), &got[0], &sums, 0.0);
        check(&format!("products at {level:?}"), &got[1], &products, 0.0);
    }
}
