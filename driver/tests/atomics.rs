//! Atomic updates in `strata.parallel_for` bodies, end to end: every
//! reduction kind of `memref.atomic_rmw` on f32, f64, i32 and i64, into
//! buffers of rank 0 to 4, with trip counts that give one chunk, a few
//! and the most (`strata-privatize-atomics` turns these into private
//! copies per chunk), at 1, 2, 3 and 8 pool workers and on OpenMP, against
//! a plain Rust loop. The data make every result exact in any order of
//! combination (small integers, halves, products of ±1 and 2), so the
//! comparison is exact.

use std::process::Command;

use strata_driver::jit::{Buffer, CompileOptions, Kernel};

/// The kinds, with the element types each applies to.
const FLOAT_KINDS: [&str; 6] = ["addf", "mulf", "maximumf", "minimumf", "maxnumf", "minnumf"];
const INT_KINDS: [&str; 9] = ["addi", "muli", "maxs", "mins", "maxu", "minu", "andi", "ori", "xori"];
const SHAPES: [&[usize]; 5] = [&[], &[61], &[3, 5], &[2, 3, 4], &[2, 3, 2, 2]];
/// One chunk (1000 iterations into 61 bins), and many (up to the most the
/// target's cores allow).
const TRIPS: [usize; 3] = [1000, 4001, 20011];

fn memref(shape: &[usize], ty: &str) -> String {
    let dims: String = shape.iter().map(|d| format!("{d}x")).collect();
    format!("memref<{dims}{ty}>")
}

/// `@name`: `h[unflatten(x[i])] = h[...] KIND w[i]` for every `i` < `n`.
fn kernel(name: &str, kind: &str, ty: &str, shape: &[usize], n: usize) -> String {
    let h = memref(shape, ty);
    let mut index_code = String::new();
    let mut indices = vec![String::new(); shape.len()];
    let mut rest = "%b".to_string();
    for (k, d) in shape.iter().enumerate().rev() {
        index_code += &format!("    %d{k} = arith.constant {d} : index\n");
        index_code += &format!("    %i{k} = arith.remui {rest}, %d{k} : index\n");
        index_code += &format!("    %q{k} = arith.divui {rest}, %d{k} : index\n");
        indices[k] = format!("%i{k}");
        rest = format!("%q{k}");
    }
    let indices = indices.join(", ");
    format!(
        r#"
func.func @{name}(%x: memref<{n}xi32>, %w: memref<{n}x{ty}>, %h: {h}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {n} : index
  strata.parallel_for %i = %c0 to %n step %c1 {{
    %xv = memref.load %x[%i] : memref<{n}xi32>
    %b = arith.index_cast %xv : i32 to index
    %v = memref.load %w[%i] : memref<{n}x{ty}>
{index_code}    %old = memref.atomic_rmw {kind} %v, %h[{indices}] : ({ty}, {h}) -> {ty}
  }}
  return
}}
"#
    )
}

/// A deterministic generator of small values.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

/// The updates for `kind`: values whose combination is exact in any order.
fn values(kind: &str, n: usize, rng: &mut Lcg) -> Vec<f64> {
    (0..n)
        .map(|_| match kind {
            // Products of ±1, 2 and 1/2: a random walk of the exponent,
            // far from overflow in any order.
            "mulf" => [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 2.0, 0.5][rng.next(8) as usize],
            // Odd factors, so no product wraps to 0.
            "muli" => [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 3.0, -3.0][rng.next(8) as usize],
            // One sign for max and min, the sign a wrong identity (0)
            // would win against; quarters, never zero, for floats.
            "maximumf" | "maxnumf" => -(rng.next(40) as f64) * 0.5 - 0.25,
            "minimumf" | "minnumf" => rng.next(40) as f64 * 0.5 + 0.25,
            "maxs" => -(rng.next(40) as f64) - 1.0,
            "mins" => rng.next(40) as f64 + 1.0,
            k if k.ends_with('f') => (rng.next(40) as f64 - 20.0) * 0.5 + 0.25,
            _ => rng.next(41) as f64 - 20.0,
        })
        .collect()
}

/// `a KIND b` on a float type, as `arith.atomic_rmw` defines it.
fn combine_float(kind: &str, a: f64, b: f64) -> f64 {
    match kind {
        "addf" => a + b,
        "mulf" => a * b,
        "maximumf" | "maxnumf" => a.max(b),
        "minimumf" | "minnumf" => a.min(b),
        _ => unreachable!("{kind}"),
    }
}

/// `x KIND y` on `i32` or `i64` (values sign-extended to i64).
fn combine_int(kind: &str, ty: &str, x: i64, y: i64) -> i64 {
    let wide = ty == "i64";
    let wrap = |v: i64| if wide { v } else { v as i32 as i64 };
    let unsigned = |v: i64| if wide { v as u64 } else { v as i32 as u32 as u64 };
    match kind {
        "addi" => wrap(x.wrapping_add(y)),
        "muli" => wrap(x.wrapping_mul(y)),
        "maxs" => x.max(y),
        "mins" => x.min(y),
        "maxu" => if unsigned(x) >= unsigned(y) { x } else { y },
        "minu" => if unsigned(x) <= unsigned(y) { x } else { y },
        "andi" => x & y,
        "ori" => x | y,
        "xori" => x ^ y,
        _ => unreachable!("{kind}"),
    }
}

/// The final buffer, as text in `strata-run`'s number format (so integers
/// stay exact beyond 2^53).
fn reference(kind: &str, ty: &str, init: &[f64], bins: &[f64], updates: &[f64]) -> Vec<String> {
    if ty.starts_with('f') {
        let mut h = init.to_vec();
        for (b, u) in bins.iter().zip(updates) {
            h[*b as usize] = combine_float(kind, h[*b as usize], *u);
        }
        h.iter().map(|v| v.to_string()).collect()
    } else {
        let mut h: Vec<i64> = init.iter().map(|v| *v as i64).collect();
        for (b, u) in bins.iter().zip(updates) {
            h[*b as usize] = combine_int(kind, ty, h[*b as usize], *u as i64);
        }
        h.iter().map(|v| v.to_string()).collect()
    }
}

/// A buffer's elements as text: exact for every type.
fn elements(b: &Buffer) -> Vec<String> {
    if b.elem.is_float() {
        b.to_f64_vec().iter().map(|v| v.to_string()).collect()
    } else {
        b.to_i64_vec().iter().map(|v| v.to_string()).collect()
    }
}

fn buffer(ty: &str, shape: &[usize], v: &[f64]) -> Buffer {
    match ty {
        "f32" => Buffer::from_f32(shape, &v.iter().map(|x| *x as f32).collect::<Vec<_>>()),
        "f64" => Buffer::from_f64(shape, v),
        "i32" => Buffer::from_i32(shape, &v.iter().map(|x| *x as i32).collect::<Vec<_>>()),
        _ => Buffer::from_i64(shape, &v.iter().map(|x| *x as i64).collect::<Vec<_>>()),
    }
    .unwrap()
}

/// One case: a kernel and its inputs, with the expected final buffer.
struct Case {
    name: String,
    ty: &'static str,
    shape: &'static [usize],
    bins: Vec<f64>,
    updates: Vec<f64>,
    init: Vec<f64>,
    want: Vec<String>,
}

fn cases() -> (String, Vec<Case>) {
    let mut rng = Lcg(7);
    let mut source = String::new();
    let mut out = Vec::new();
    let kinds = FLOAT_KINDS.iter().flat_map(|k| [(*k, "f32"), (*k, "f64")]).chain(INT_KINDS.iter().flat_map(|k| [(*k, "i32"), (*k, "i64")]));
    for (c, (kind, ty)) in kinds.enumerate() {
        let shape = SHAPES[c % SHAPES.len()];
        let n = TRIPS[c % TRIPS.len()];
        let elements: usize = shape.iter().product();
        let name = format!("k{c}_{kind}_{ty}");
        source += &kernel(&name, kind, ty, shape, n);
        let bins: Vec<f64> = (0..n).map(|_| rng.next(elements as u64) as f64).collect();
        let updates = values(kind, n, &mut rng);
        let init = values(kind, elements, &mut rng);
        let want = reference(kind, ty, &init, &bins, &updates);
        out.push(Case { name, ty, shape, bins, updates, init, want });
    }
    (source, out)
}

fn run_case(k: &Kernel, case: &Case, what: &str) {
    let n = case.bins.len();
    let mut args = [
        buffer("i32", &[n], &case.bins),
        buffer(case.ty, &[n], &case.updates),
        buffer(case.ty, case.shape, &case.init),
    ];
    k.call(&case.name, &mut args).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(elements(&args[2]), case.want, "{} {what}", case.name);
}

/// Every kind, type and rank on the pool at 1, 2, 3 and 8 workers.
#[test]
fn atomic_updates_of_every_kind_type_and_rank_on_the_pool() {
    let (source, cases) = cases();
    let k = Kernel::compile(&source, "atomics.mlir", &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // An 8-thread pool (the only pool-using test in this process), capped
    // per count: a cap of k runs each loop on at most k threads.
    strata_runtime::pool::set_threads(8);
    for threads in [1, 2, 3, 8] {
        strata_runtime::pool::set_thread_limit(threads);
        for case in &cases {
            run_case(&k, case, &format!("at {threads} workers"));
        }
    }
}

/// A subset through `strata-run` on OpenMP (whose thread count is fixed
/// when its runtime starts, so each count is its own process).
#[test]
fn atomic_updates_on_openmp() {
    let (source, cases) = cases();
    let dir = std::env::temp_dir().join(format!("strata-atomics-omp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("atomics.mlir");
    std::fs::write(&file, &source).unwrap();
    let omp = "--pass-pipeline=builtin.module(strata-lower-to-affine,strata-check-races,strata-parallelize{runtime=omp},strata-lower-to-llvm)";
    let list = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    for threads in ["2", "3"] {
        for case in cases.iter().filter(|c| c.bins.len() > 1000).step_by(3) {
            let n = case.bins.len();
            let dims: String = case.shape.iter().map(|d| format!("{d}x")).collect();
            let out = Command::new(env!("CARGO_BIN_EXE_strata-run"))
                .arg(&file)
                .args(["-e", &case.name, omp, &format!("--threads={threads}")])
                .arg(format!("--input={n}xi32={}", list(&case.bins)))
                .arg(format!("--input={n}x{}={}", case.ty, list(&case.updates)))
                .arg(format!("--input={dims}{}={}", case.ty, list(&case.init)))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: {}", case.name, String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).unwrap();
            let last = text.lines().last().unwrap_or_default();
            let got: Vec<String> = last
                .strip_prefix(&format!("{dims}{}=", case.ty))
                .unwrap_or_else(|| panic!("{}: {last}", case.name))
                .replace(['[', ']'], "")
                .split(',')
                .map(|v| if case.ty.starts_with('f') { v.parse::<f64>().unwrap().to_string() } else { v.to_string() })
                .collect();
            assert_eq!(got, case.want, "{} on OpenMP at {threads} threads", case.name);
        }
    }
}
