//! The outer-product contraction kernel with several column blocks per
//! task (`strata-tile`'s fourth tile size, BLIS's NC: the task packs that
//! many panels of B and runs each row panel of A against all of them),
//! through `strata-run` at 1 and 2 threads, against plain Rust loops.
//!
//! The shapes leave a partial last group (7 full blocks in groups of 3),
//! a masked column block, rows that fill no whole register tile, and
//! reduction blocks that do not divide K; the kernels cover every element
//! type, a batch, a transposed B (packed column by column), a fused
//! bias + relu epilogue, A packed or read in place, and rows split into
//! chunks for the workers (where tasks are too few for groups). The
//! target is named (`x86-64-v3`: 256-bit vectors on every host that runs
//! the tests), so the blocking is the same on every machine.

use std::process::Command;

use strata_passes::levels::{self, Level};

/// Small integers, or floats in about [-2, 2] with few significant bits.
fn values(n: usize, seed: u64, int: bool) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((s >> 33) % 41) as f64 - 20.0;
            if int { v } else { v / 10.0 }
        })
        .collect()
}

fn text(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(",")
}

/// Runs `entry` of `src` under `pipeline` (the default one if `None`) at
/// `threads`; the printed result's values.
fn run(src: &str, entry: &str, inputs: &[String], threads: u32, pipeline: Option<&str>) -> Vec<f64> {
    let dir = std::env::temp_dir().join(format!("strata-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{entry}.mlir"));
    std::fs::write(&file, src).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata-run"));
    cmd.arg(&file).args(["-e", entry, "--strata-target=x86-64-v3", "--strata-tuning=off"]).arg(format!("--threads={threads}"));
    cmd.args(inputs.iter().map(|i| format!("--input={i}")));
    if let Some(p) = pipeline {
        cmd.arg(format!("--pass-pipeline={p}"));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{entry} ({pipeline:?}): {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (_, body) = stdout.trim().split_once('=').unwrap_or_else(|| panic!("{entry}: unexpected output {stdout}"));
    body.replace(['[', ']'], "").split(',').map(|v| v.trim().parse().unwrap()).collect()
}

fn check(what: &str, got: &[f64], want: &[f64], float: bool) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = if float { (g - w).abs() <= 1e-4 * (1.0 + w.abs()) } else { g == w };
        assert!(ok, "{what}: element {i}: got {g}, want {w}");
    }
}

/// `C[b, i, j] = sum_p A[b, i, p] * B[b, p, j]` (B read as `B[b, j, p]`
/// when `bt`), then `max(C + bias[j], 0)` when a bias is given.
#[allow(clippy::too_many_arguments)]
fn reference(a: &[f64], b: &[f64], bias: Option<&[f64]>, batch: usize, m: usize, k: usize, n: usize, bt: bool) -> Vec<f64> {
    let mut c = vec![0.0; batch * m * n];
    for q in 0..batch {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let bv = if bt { b[q * n * k + j * k + p] } else { b[q * k * n + p * n + j] };
                    s += a[q * m * k + i * k + p] * bv;
                }
                c[q * m * n + i * n + j] = match bias {
                    Some(bias) => (s + bias[j]).max(0.0),
                    None => s,
                };
            }
        }
    }
    c
}

/// The default pipeline with `tiles` for `strata-tile` and `vectorize`'s
/// options.
fn pipeline(tiles: &str, vectorize: &str) -> String {
    levels::pipeline(Level::O3)
        .to_text()
        .replace("strata-tile", &format!("strata-tile{{tile-sizes={tiles}}}"))
        .replace("strata-vectorize", &format!("strata-vectorize{{{vectorize}}}"))
}

/// The pipelines under test: groups of 3 blocks of 16 columns (rows of 4,
/// reduction blocks of 8), with A packed or read in place; rows split for
/// the workers instead, or as well; the micro-kernel unrolled; and the
/// target's own choice.
fn pipelines() -> Vec<(String, Option<String>)> {
    vec![
        ("nb 3".into(), Some(pipeline("4,16,8,48", "min-tasks=1"))),
        ("nb 3, A read in place".into(), Some(pipeline("4,16,8,48", "min-tasks=1 pack-a=never"))),
        // Too few tasks for groups: one block per task, rows split.
        ("row chunks".into(), Some(pipeline("4,16,8,48", "min-tasks=64"))),
        // Where A is the longer operand, groups of 3 with their rows split
        // (narrower groups would read A more often).
        ("nb 3 and row chunks".into(), Some(pipeline("4,16,8,48", "min-tasks=16"))),
        ("nb 2, one reduction block".into(), Some(pipeline("6,16,64,32", "min-tasks=1"))),
        // The micro-kernel's loop unrolled: 3 steps an iteration in blocks
        // of 8 (2 steps left each block, and the last block's 5 or 4 or
        // 1), and 4 in one block of all of K (1 or 0 left).
        ("nb 3, unrolled 3".into(), Some(pipeline("4,16,8,48", "min-tasks=1 unroll=3"))),
        ("row chunks, unrolled 4".into(), Some(pipeline("6,16,64,32", "min-tasks=64 unroll=4"))),
        // Rows per task given (MC): 3 panels of 4, whatever the partition.
        ("nb 3, mc 12".into(), Some(pipeline("4,16,8,48", "mc=12"))),
        ("default".into(), None),
    ]
}

#[test]
fn matmul_every_type_with_column_groups() {
    for ty in ["f32", "f64", "i32", "i64"] {
        let float = ty.starts_with('f');
        // 7 full blocks of 16 and 5 masked columns; 6 full blocks exactly;
        // more rows than columns (groups and row chunks together).
        for (m, k, n) in [(29usize, 37usize, 117usize), (13, 20, 96), (150, 21, 117)] {
            let src = format!(
                "func.func @mm(%a: tensor<{m}x{k}x{ty}>, %b: tensor<{k}x{n}x{ty}>) -> tensor<{m}x{n}x{ty}> {{\n  \
                 %r = strata.matmul %a, %b : tensor<{m}x{k}x{ty}>, tensor<{k}x{n}x{ty}> -> tensor<{m}x{n}x{ty}>\n  \
                 return %r : tensor<{m}x{n}x{ty}>\n}}\n"
            );
            let (a, b) = (values(m * k, 1, !float), values(k * n, 2, !float));
            let inputs = [format!("{m}x{k}x{ty}={}", text(&a)), format!("{k}x{n}x{ty}={}", text(&b))];
            let want = reference(&a, &b, None, 1, m, k, n, false);
            for (what, p) in pipelines() {
                for threads in [1, 2] {
                    let got = run(&src, "mm", &inputs, threads, p.as_deref());
                    check(&format!("{m}x{k}x{n} {ty}, {what}, {threads} thread(s)"), &got, &want, float);
                }
            }
        }
    }
}

#[test]
fn batched_and_transposed_with_column_groups() {
    let (q, m, k, n) = (3usize, 11usize, 9usize, 117usize);
    for ty in ["f32", "i64"] {
        let float = ty == "f32";
        let (a, b) = (values(q * m * k, 3, !float), values(q * k * n, 4, !float));
        let (at, bt, ot) = (format!("tensor<{q}x{m}x{k}x{ty}>"), format!("tensor<{q}x{k}x{n}x{ty}>"), format!("tensor<{q}x{m}x{n}x{ty}>"));
        let batched = format!("func.func @bmm(%a: {at}, %b: {bt}) -> {ot} {{\n  %r = strata.matmul %a, %b : {at}, {bt} -> {ot}\n  return %r : {ot}\n}}\n");
        let inputs = [format!("{q}x{m}x{k}x{ty}={}", text(&a)), format!("{q}x{k}x{n}x{ty}={}", text(&b))];
        let want = reference(&a, &b, None, q, m, k, n, false);
        // B given as N x K and transposed: packed column by column.
        let b2 = values(n * k, 5, !float);
        let (a2t, b2t, bb, o2) = (format!("tensor<{m}x{k}x{ty}>"), format!("tensor<{n}x{k}x{ty}>"), format!("tensor<{k}x{n}x{ty}>"), format!("tensor<{m}x{n}x{ty}>"));
        let abt = format!(
            "func.func @abt(%a: {a2t}, %b: {b2t}) -> {o2} {{\n  %t = strata.transpose %b permutation = [1, 0] : {b2t} -> {bb}\n  \
             %r = strata.matmul %a, %t : {a2t}, {bb} -> {o2}\n  return %r : {o2}\n}}\n"
        );
        let a2 = &a[..m * k];
        let inputs2 = [format!("{m}x{k}x{ty}={}", text(a2)), format!("{n}x{k}x{ty}={}", text(&b2))];
        let want2 = reference(a2, &b2, None, 1, m, k, n, true);
        for (what, p) in pipelines() {
            for threads in [1, 2] {
                let got = run(&batched, "bmm", &inputs, threads, p.as_deref());
                check(&format!("batched {ty}, {what}, {threads} thread(s)"), &got, &want, float);
                let got = run(&abt, "abt", &inputs2, threads, p.as_deref());
                check(&format!("A.B^T {ty}, {what}, {threads} thread(s)"), &got, &want2, float);
            }
        }
    }
}

#[test]
fn fused_epilogue_with_column_groups() {
    let (m, k, n) = (29usize, 37usize, 117usize);
    for ty in ["f32", "f64"] {
        let (xt, wt, bt, ot) = (format!("tensor<{m}x{k}x{ty}>"), format!("tensor<{k}x{n}x{ty}>"), format!("tensor<{n}x{ty}>"), format!("tensor<{m}x{n}x{ty}>"));
        let src = format!(
            "func.func @mlp(%x: {xt}, %w: {wt}, %bias: {bt}) -> {ot} {{\n  \
             %mm = strata.matmul %x, %w : {xt}, {wt} -> {ot}\n  \
             %bb = strata.broadcast %bias dims = [0] : {bt} -> {ot}\n  \
             %s = strata.add %mm, %bb : {ot}\n  \
             %r = strata.map(%s) : ({ot}) -> {ot} {{\n  ^bb0(%v: {ty}):\n    %z = arith.constant 0.0 : {ty}\n    \
             %q = arith.maximumf %v, %z : {ty}\n    strata.yield %q : {ty}\n  }}\n  return %r : {ot}\n}}\n"
        );
        let (x, w, bias) = (values(m * k, 6, false), values(k * n, 7, false), values(n, 8, false));
        let inputs = [format!("{m}x{k}x{ty}={}", text(&x)), format!("{k}x{n}x{ty}={}", text(&w)), format!("{n}x{ty}={}", text(&bias))];
        let want = reference(&x, &w, Some(&bias), 1, m, k, n, false);
        for (what, p) in pipelines() {
            for threads in [1, 2] {
                let got = run(&src, "mlp", &inputs, threads, p.as_deref());
                check(&format!("mlp {ty}, {what}, {threads} thread(s)"), &got, &want, true);
            }
        }
    }
}
