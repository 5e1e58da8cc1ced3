//! End to end: row kernels (softmax, layernorm, layernorm with gamma and
//! beta, the max and the sum of squares of each row) along the last
//! dimension, ranks 1 to 4, odd row lengths (not multiples of any vector
//! width, long enough for strata-vectorize to keep several vectors of
//! partial results), f32 and f64, at 1 and 2 threads, against plain Rust
//! loops written here from the spec.
//!
//! Float reductions may be reassociated (the spec allows any order), so
//! results are compared within a tolerance scaled by the magnitudes; the
//! max, exact in any order, is compared bit for bit.

use std::sync::Mutex;

use strata_driver::jit::{Buffer, CompileOptions, ElemType, Kernel};

/// Kernels allocate through one process-wide counting allocator, and the
/// thread cap is per calling thread: tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

const SHAPES: [&[usize]; 5] = [&[203], &[5, 203], &[3, 4, 131], &[2, 3, 2, 517], &[7, 1001]];

fn ty(shape: &[usize], e: &str) -> String {
    let dims: String = shape.iter().map(|d| format!("{d}x")).collect();
    format!("tensor<{dims}{e}>")
}

/// Values in [-4, 4), from a fixed seed.
fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % 8000) as f64 / 1000.0 - 4.0
        })
        .collect()
}

/// The module: every row kernel over `shape` (rows along the last
/// dimension) in element type `e`.
fn module(shape: &[usize], e: &str) -> String {
    let r = shape.len();
    let d = r - 1;
    let c = shape[d];
    let t = ty(shape, e);
    let rt = ty(&shape[..d], e);
    let ct = ty(&[c], e);
    let lead: Vec<String> = (0..d).map(|i| i.to_string()).collect();
    let lead = lead.join(", ");
    let ln = |extra: &str, args: &str| {
        format!(
            "func.func @layernorm{extra}(%x: {t}{args}) -> {t} {{\n\
               %n = arith.constant {c}.0 : {e}\n  %nt = strata.fill %n : {e} -> {rt}\n\
               %s = strata.reduce \"add\" %x dims = [{d}] : {t} -> {rt}\n\
               %mean = strata.div %s, %nt : {rt}\n\
               %mb = strata.broadcast %mean dims = [{d}] : {rt} -> {t}\n\
               %cx = strata.sub %x, %mb : {t}\n  %sq = strata.mul %cx, %cx : {t}\n\
               %ss = strata.reduce \"add\" %sq dims = [{d}] : {t} -> {rt}\n\
               %var = strata.div %ss, %nt : {rt}\n\
               %eps = arith.constant 1.0e-5 : {e}\n  %et = strata.fill %eps : {e} -> {rt}\n\
               %ve = strata.add %var, %et : {rt}\n  %sd = strata.sqrt %ve : {rt}\n\
               %sdb = strata.broadcast %sd dims = [{d}] : {rt} -> {t}\n\
               %y = strata.div %cx, %sdb : {t}\n{}}}\n",
            if extra.is_empty() {
                "  return %y : {t}\n".replace("{t}", &t)
            } else {
                // Rank 1: gamma and beta are rows themselves, no broadcast.
                let (gb, bb, bcast) = if r == 1 {
                    ("%g", "%b", String::new())
                } else {
                    (
                        "%gb",
                        "%bb",
                        format!(
                            "  %gb = strata.broadcast %g dims = [{lead}] : {ct} -> {t}\n  %bb = strata.broadcast %b dims = [{lead}] : {ct} -> {t}\n"
                        ),
                    )
                };
                format!("{bcast}  %yg = strata.mul %y, {gb} : {t}\n  %o = strata.add %yg, {bb} : {t}\n  return %o : {t}\n")
            }
        )
    };
    let affine = ln("_affine", &format!(", %g: {ct}, %b: {ct}"));
    format!(
        "func.func @softmax(%x: {t}) -> {t} {{\n\
           %m = strata.reduce \"max\" %x dims = [{d}] : {t} -> {rt}\n\
           %mb = strata.broadcast %m dims = [{d}] : {rt} -> {t}\n\
           %dx = strata.sub %x, %mb : {t}\n  %ex = strata.exp %dx : {t}\n\
           %s = strata.reduce \"add\" %ex dims = [{d}] : {t} -> {rt}\n\
           %sb = strata.broadcast %s dims = [{d}] : {rt} -> {t}\n\
           %q = strata.div %ex, %sb : {t}\n  return %q : {t}\n}}\n\
         func.func @rowmax(%x: {t}) -> {rt} {{\n\
           %m = strata.reduce \"max\" %x dims = [{d}] : {t} -> {rt}\n  return %m : {rt}\n}}\n\
         func.func @sumsq(%x: {t}) -> {rt} {{\n  %sq = strata.mul %x, %x : {t}\n\
           %s = strata.reduce \"add\" %sq dims = [{d}] : {t} -> {rt}\n  return %s : {rt}\n}}\n{}{affine}",
        ln("", "")
    )
}

fn softmax_ref(x: &[f64], c: usize) -> Vec<f64> {
    x.chunks(c)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s).collect::<Vec<_>>()
        })
        .collect()
}

fn layernorm_ref(x: &[f64], c: usize, gb: Option<(&[f64], &[f64])>) -> Vec<f64> {
    x.chunks(c)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / c as f64;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / c as f64;
            let sd = (var + 1e-5).sqrt();
            row.iter()
                .enumerate()
                .map(|(j, v)| {
                    let y = (v - mean) / sd;
                    match gb {
                        Some((g, b)) => y * g[j] + b[j],
                        None => y,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn buffer(e: ElemType, shape: &[usize], v: &[f64]) -> Buffer {
    match e {
        ElemType::F32 => Buffer::from_f32(shape, &v.iter().map(|x| *x as f32).collect::<Vec<_>>()),
        _ => Buffer::from_f64(shape, v),
    }
    .unwrap()
}

fn check(label: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{label}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{label}: element {i}: got {g}, want {w} (tolerance {tol})");
    }
}

#[test]
fn row_kernels_match_plain_loops() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    strata_runtime::pool::set_threads(2);
    for e in [ElemType::F32, ElemType::F64] {
        // f32: exp within a few ulp, the sums reassociated over rows of up
        // to 1001 elements.
        let tol = if e == ElemType::F32 { 2e-5 } else { 1e-12 };
        for (n, shape) in SHAPES.iter().enumerate() {
            let src = module(shape, e.name());
            let k = Kernel::compile(&src, "rows.mlir", &CompileOptions::default()).unwrap_or_else(|err| panic!("{err}\n{src}"));
            let c = *shape.last().expect("rank >= 1");
            let len: usize = shape.iter().product();
            // What the kernel sees: f32 data rounded once, here.
            let round = |v: Vec<f64>| -> Vec<f64> { if e == ElemType::F32 { v.into_iter().map(|x| x as f32 as f64).collect() } else { v } };
            let x = round(data(len, 3 + n as u64));
            let (g, b) = (round(data(c, 100 + n as u64)), round(data(c, 200 + n as u64)));
            let rowmax: Vec<f64> = x.chunks(c).map(|r| r.iter().cloned().fold(f64::NEG_INFINITY, f64::max)).collect();
            let sumsq: Vec<f64> = x.chunks(c).map(|r| r.iter().map(|v| v * v).sum()).collect();
            for t in [1, 2] {
                strata_runtime::pool::set_thread_limit(t);
                let label = |f: &str| format!("{f} of {shape:?} {} at {t} thread(s)", e.name());
                let call = |f: &str, args: &mut [Buffer]| k.call(f, args).unwrap().remove(0).to_f64_vec();
                check(&label("softmax"), &call("softmax", &mut [buffer(e, shape, &x)]), &softmax_ref(&x, c), tol);
                check(&label("layernorm"), &call("layernorm", &mut [buffer(e, shape, &x)]), &layernorm_ref(&x, c, None), tol * 10.0);
                check(
                    &label("layernorm with gamma, beta"),
                    &call("layernorm_affine", &mut [buffer(e, shape, &x), buffer(e, &[c], &g), buffer(e, &[c], &b)]),
                    &layernorm_ref(&x, c, Some((&g, &b))),
                    tol * 40.0,
                );
                let got = call("rowmax", &mut [buffer(e, shape, &x)]);
                assert!(got.iter().zip(&rowmax).all(|(a, w)| a.to_bits() == w.to_bits()), "{}: {got:?} vs {rowmax:?}", label("row max"));
                // The sum of squares: the tolerance scales with the sum itself
                // (all terms are positive).
                check(&label("sum of squares"), &call("sumsq", &mut [buffer(e, shape, &x)]), &sumsq, tol / 10.0);
                strata_runtime::pool::set_thread_limit(0);
            }
        }
    }
    assert_eq!(strata_runtime::alloc::live_bytes(), 0, "a row kernel leaked");
}

/// The f32 `exp` of a row kernel gives the same bits at every vector width:
/// 16 lanes on an AVX-512 host apply `2^n` with `vscalefps` (one rounding),
/// 8 and 4 lanes with two products by powers of two. Over the whole range,
/// the overflow and denormal edges and the special values.
#[test]
fn exp_same_bits_at_every_vector_width() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (rows, cols) = (64, 1003);
    let mut x: Vec<f32> = (0..rows * cols).map(|i| -110.0 + 205.0 * i as f32 / (rows * cols) as f32).collect();
    let edges = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0, 88.72283, 88.72284, -87.33655, -103.97207, -103.9721, 1e-30, -1e-30];
    x[..edges.len()].copy_from_slice(&edges);
    let t = format!("tensor<{rows}x{cols}xf32>");
    let src = format!("func.func @e(%x: {t}) -> {t} {{\n  %e = strata.exp %x : {t}\n  return %e : {t}\n}}\n");
    let run = |bits: usize| -> Vec<u32> {
        let p = strata_passes::levels::pipeline(strata_passes::levels::Level::O3)
            .to_text()
            .replace("strata-vectorize", &format!("strata-vectorize{{vector-width={bits}}}"));
        let k = Kernel::compile(&src, "exp.mlir", &CompileOptions { pipeline: Some(p), ..Default::default() }).unwrap();
        let got = k.call("e", &mut [Buffer::from_f32(&[rows, cols], &x).unwrap()]).unwrap().remove(0).to_f64_vec();
        got.iter().map(|v| (*v as f32).to_bits()).collect()
    };
    let wide = run(512);
    for bits in [256, 128] {
        let narrow = run(bits);
        for (i, (a, b)) in wide.iter().zip(&narrow).enumerate() {
            let nan = f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan();
            assert!(a == b || nan, "exp({}) at 512 bits {:e}, at {bits} bits {:e}", x[i], f32::from_bits(*a), f32::from_bits(*b));
        }
    }
    // exp(-inf) = 0, exp(inf) = inf, exp(0) = 1.
    assert_eq!((f32::from_bits(wide[0]), f32::from_bits(wide[1]), f32::from_bits(wide[3])), (f32::INFINITY, 0.0, 1.0));
}

/// `maximumf` / `minimumf` of two values: NaN if either is, and -0 < +0.
fn extremum(max: bool, a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        let negative = if max { a.is_sign_negative() && b.is_sign_negative() } else { a.is_sign_negative() || b.is_sign_negative() };
        return if negative { -0.0 } else { 0.0 };
    }
    if (a > b) == max { a } else { b }
}

/// Row max and min at every vector width, 1 and 2 threads, f32 and f64,
/// on rows whose answer the fast loop of `strata-vectorize` cannot give
/// alone: a NaN (first, middle, in the scalar tail), zeros of both signs
/// as the extremum, infinities, all -inf, finite values whose sum
/// overflows; and a plain row. Bit for bit (NaN as NaN).
#[test]
fn row_max_and_min_keep_nan_and_the_sign_of_zero() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let c = 203;
    let base = data(c, 17);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    rows.push(base.clone());
    for at in [0, 150, c - 1] {
        let mut r = base.clone();
        r[at] = f64::NAN;
        rows.push(r);
    }
    // Extremum +0 for max (one +0 among -0s and negatives), -0 for min
    // (one -0 among +0s and positives).
    let neg: Vec<f64> = base.iter().enumerate().map(|(j, v)| if j % 7 == 3 { -0.0 } else if j == 100 { 0.0 } else { -v.abs() - 1.0 }).collect();
    let pos: Vec<f64> = base.iter().enumerate().map(|(j, v)| if j % 7 == 3 { 0.0 } else if j == 120 { -0.0 } else { v.abs() + 1.0 }).collect();
    rows.extend([neg, pos, vec![-0.0; c], vec![0.0; c], vec![f64::NEG_INFINITY; c]]);
    let mut inf = base.clone();
    inf[77] = f64::INFINITY;
    inf[78] = f64::NEG_INFINITY;
    rows.push(inf);
    rows.push(base.iter().map(|v| v * 8e37).collect());
    let n = rows.len();
    let x: Vec<f64> = rows.concat();
    for e in [ElemType::F32, ElemType::F64] {
        let t = ty(&[n, c], e.name());
        let rt = ty(&[n], e.name());
        let src = format!(
            "func.func @mx(%x: {t}) -> {rt} {{\n  %m = strata.reduce \"max\" %x dims = [1] : {t} -> {rt}\n  return %m : {rt}\n}}\n\
             func.func @mn(%x: {t}) -> {rt} {{\n  %m = strata.reduce \"min\" %x dims = [1] : {t} -> {rt}\n  return %m : {rt}\n}}\n"
        );
        let x = if e == ElemType::F32 { x.iter().map(|v| *v as f32 as f64).collect() } else { x.clone() };
        for bits in [128, 256, 512] {
            let p = strata_passes::levels::pipeline(strata_passes::levels::Level::O3)
                .to_text()
                .replace("strata-vectorize", &format!("strata-vectorize{{vector-width={bits}}}"));
            let k = Kernel::compile(&src, "extrema.mlir", &CompileOptions { pipeline: Some(p), ..Default::default() }).unwrap();
            for threads in [1, 2] {
                strata_runtime::pool::set_thread_limit(threads);
                for (f, max) in [("mx", true), ("mn", false)] {
                    let got = k.call(f, &mut [buffer(e, &[n, c], &x)]).unwrap().remove(0).to_f64_vec();
                    for (i, row) in x.chunks(c).enumerate() {
                        let want = row.iter().fold(if max { f64::NEG_INFINITY } else { f64::INFINITY }, |a, v| extremum(max, a, *v));
                        let same = (got[i].is_nan() && want.is_nan()) || got[i].to_bits() == want.to_bits();
                        assert!(same, "{f} of row {i}, {} at {bits} bits, {threads} thread(s): got {:e}, want {want:e}", e.name(), got[i]);
                    }
                }
                strata_runtime::pool::set_thread_limit(0);
            }
        }
    }
}
