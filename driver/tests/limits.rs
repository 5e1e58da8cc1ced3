//! Inputs at the edges of size: nesting as deep as `parse_module` allows
//! (and deeper, which must be a located error, never a stack overflow), and
//! elementwise chains long enough that a quadratic `strata-fuse` would show.
//!
//! Runs the tools as processes: a stack overflow kills the process, which
//! must show as a failed assertion here, not as a dead test harness.

use std::{
    path::PathBuf,
    process::{Command, Output},
};

use strata_dialect::{nesting_too_deep, MAX_NESTING};

/// Writes `text` to a file of its own under the target's scratch directory.
fn write_input(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("limits-{}-{name}.mlir", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn tool(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).env("RUST_BACKTRACE", "0").output().unwrap()
}

fn opt(args: &[&str]) -> Output {
    tool(env!("CARGO_BIN_EXE_strata-opt"), args)
}

fn run(args: &[&str]) -> Output {
    tool(env!("CARGO_BIN_EXE_strata-run"), args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 0; a signal (`code()` is `None`) or an error fails with the output.
fn assert_ok(what: &str, o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{what}: {:?}\n--- stderr ---\n{}", o.status, stderr(o));
}

/// A nested input: its text, and where its first bracket deeper than
/// `MAX_NESTING` is (1-based line and column), if it has one.
struct Nested {
    text: String,
    too_deep_at: Option<(usize, usize)>,
}

const SIGNATURE: &str = "func.func @main(%m: memref<1xi32>)";

/// `levels` regions nested in the function's body, one per line: `head(i)`
/// opens level i (ending in `{`), `tail(i)` follows its `}`. The function's
/// body is level 0, so the innermost ops are `levels + 1` deep, and a
/// bracket in one of them (one at most per line) `levels + 2`.
fn nested_regions(
    levels: usize,
    preamble: &[&str],
    innermost: &[&str],
    head: impl Fn(usize) -> String,
    tail: impl Fn(usize) -> String,
    epilogue: &[&str],
) -> Nested {
    let mut lines = vec![format!("{SIGNATURE} {{")];
    lines.extend(preamble.iter().map(|s| s.to_string()));
    let mut too_deep_at = None;
    for i in 1..=levels {
        let line = head(i);
        if i + 1 == MAX_NESTING + 1 {
            too_deep_at = Some((lines.len() + 1, line.rfind('{').unwrap() + 1));
        }
        lines.push(line);
    }
    for line in innermost {
        if let Some(col) = line.find(['(', '[', '{', '<']) {
            if levels + 2 > MAX_NESTING && too_deep_at.is_none() {
                too_deep_at = Some((lines.len() + 1, col + 1));
            }
        }
        lines.push(line.to_string());
    }
    for i in (1..=levels).rev() {
        lines.push("}".into());
        lines.push(tail(i));
    }
    lines.extend(epilogue.iter().map(|s| s.to_string()));
    lines.push("return".into());
    lines.push("}".into());
    Nested { text: lines.join("\n") + "\n", too_deep_at }
}

/// `scf.execute_region`s nested `levels` deep; the innermost yields 1,
/// which the function stores to `%m[0]`.
fn execute_regions(levels: usize) -> Nested {
    nested_regions(
        levels,
        &[],
        &["%c = arith.constant 1 : i32", "scf.yield %c : i32"],
        |i| format!("%r{i} = scf.execute_region -> i32 {{"),
        |i| if i > 1 { format!("scf.yield %r{i} : i32") } else { String::new() },
        &["%z = arith.constant 0 : index", "memref.store %r1, %m[%z] : memref<1xi32>"],
    )
}

/// `strata.parallel_for`s of one iteration nested `levels` deep; the
/// innermost stores 1 to `%m[0]`.
fn parallel_fors(levels: usize) -> Nested {
    nested_regions(
        levels,
        &["%c0 = arith.constant 0 : index", "%c1 = arith.constant 1 : index"],
        &["%c = arith.constant 1 : i32", "memref.store %c, %m[%c0] : memref<1xi32>"],
        |i| format!("strata.parallel_for %i{i} = %c0 to %c1 step %c1 {{"),
        |_| String::new(),
        &[],
    )
}

/// An attribute of the function `depth` brackets deep: `open` nested
/// around `inner`, inside `outer` (`outer.0`, the nest, `outer.1`).
/// `open`'s bracket is at byte `at` of it; the first `open` is `base` deep
/// (the attribute dictionary is 1).
fn nested_attribute(depth: usize, outer: (&str, &str), base: usize, open: &str, at: usize, inner: &str, close: &str) -> Nested {
    let levels = depth + 1 - base;
    let prefix = format!("{SIGNATURE} attributes {{deep = {}", outer.0);
    let nest = format!("{}{inner}{}", open.repeat(levels), close.repeat(levels));
    let text = format!("{prefix}{nest}{}}} {{\nreturn\n}}\n", outer.1);
    // The k-th `open` (from 0) is base + k deep.
    let too_deep_at = (depth > MAX_NESTING).then(|| (1, prefix.len() + (MAX_NESTING + 1 - base) * open.len() + at + 1));
    Nested { text, too_deep_at }
}

/// Every kind of nesting, `depth` brackets deep in all.
fn every_kind(depth: usize) -> Vec<(&'static str, Nested)> {
    vec![
        ("scf.execute_region", execute_regions(depth - 1)),
        // The innermost op's `%m[...]` is one deeper.
        ("strata.parallel_for", parallel_fors(depth - 2)),
        ("array attribute", nested_attribute(depth, ("", ""), 2, "[", 0, "1", "]")),
        ("dictionary attribute", nested_attribute(depth, ("", ""), 2, "{a = ", 0, "1", "}")),
        ("tuple type", nested_attribute(depth, ("", ""), 2, "tuple<", 5, "i32", ">")),
        // `{`, `<`, then `(` around the result list.
        ("affine expression", nested_attribute(depth, ("affine_map<(d0) -> (", ")>"), 4, "(", 0, "d0", ")")),
    ]
}

#[test]
fn nesting_too_deep_is_a_located_error_in_both_tools() {
    for depth in [MAX_NESTING + 1, 10_000] {
        for (kind, input) in every_kind(depth) {
            let (line, col) = input.too_deep_at.expect("deeper than the limit");
            assert_eq!(nesting_too_deep(&input.text, MAX_NESTING), Some((line, col)), "{kind} at depth {depth}");
            let path = write_input(&format!("deep-{depth}"), &input.text);
            let file = path.to_str().unwrap();
            let want = format!("{file}:{line}:{col}: error: nesting deeper than {MAX_NESTING} levels");
            let outputs = [
                ("strata-opt", opt(&[file])),
                ("strata-opt O3", opt(&[file, "--strata-pipeline=O3"])),
                ("strata-run", run(&[file, "--input=1xi32=0"])),
                ("strata-run O3", run(&[file, "--input=1xi32=0", "--strata-pipeline=O3"])),
            ];
            for (what, o) in outputs {
                let err = stderr(&o);
                assert_eq!(o.status.code(), Some(1), "{what}, {kind} {depth} deep: {:?}\n{err}", o.status);
                assert!(err.contains(&want), "{what}, {kind} {depth} deep: want '{want}' in\n{err}");
            }
            let _ = std::fs::remove_file(path);
        }
    }
}

#[test]
fn nesting_at_the_limit_runs_at_every_level() {
    for (kind, input) in every_kind(MAX_NESTING) {
        // The input is exactly at the limit: one level less would refuse it.
        assert_eq!(nesting_too_deep(&input.text, MAX_NESTING), None, "{kind}");
        assert!(nesting_too_deep(&input.text, MAX_NESTING - 1).is_some(), "{kind}");
        let path = write_input("limit", &input.text);
        let file = path.to_str().unwrap();
        let stores = kind.starts_with("scf") || kind.starts_with("strata");
        let want = if stores { "1xi32=[1]" } else { "1xi32=[0]" };
        assert_ok(&format!("strata-opt, {kind}"), &opt(&[file]));
        for level in ["O0", "O1", "O2", "O3"] {
            let pipeline = format!("--strata-pipeline={level}");
            assert_ok(&format!("strata-opt {level}, {kind}"), &opt(&[file, &pipeline]));
            // LLVM's loop passes take time quadratic in the depth of a loop
            // nest (about 30 s for 1000 loops); nothing folds the one-trip
            // loops at O0, so the JIT does not optimize there.
            let jit = if level == "O0" && kind == "strata.parallel_for" { "-O0" } else { "-O3" };
            let o = run(&[file, "--input=1xi32=0", &pipeline, jit]);
            assert_ok(&format!("strata-run {level}, {kind}"), &o);
            assert_eq!(stdout(&o).trim(), want, "strata-run {level}, {kind}");
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn brackets_in_strings_and_comments_do_not_count() {
    let deep = "[".repeat(3 * MAX_NESTING);
    let text = format!(
        "// {deep}\n{SIGNATURE} attributes {{note = \"{deep} \\\" {deep}\"}} {{\n  // {deep}\n  return\n}}\n\
         #set = affine_set<(d0) : (d0 - 1 >= 0)>\n"
    );
    assert_eq!(nesting_too_deep(&text, MAX_NESTING), None);
    // The first bracket outside the comment is the signature's `(`.
    assert_eq!(nesting_too_deep(&text, 0), Some((2, SIGNATURE.find('(').unwrap() + 1)));
    let path = write_input("strings", &text);
    assert_ok("strata-opt", &opt(&[path.to_str().unwrap()]));
    let _ = std::fs::remove_file(path);
}

/// One step of the integer chain: its op, and the same on one element.
type Step = (&'static str, fn(i32, i32, i32) -> i32);

/// `x` through the steps, applied in turn: every op's result feeds the
/// next, `%b` and `%c` are the other operands.
const STEPS: [Step; 7] = [
    ("strata.add %x, %b", |x, b, _| x.wrapping_add(b)),
    ("strata.mul %x, %c", |x, _, c| x.wrapping_mul(c)),
    ("strata.sub %b, %x", |x, b, _| b.wrapping_sub(x)),
    ("strata.max %x, %c", |x, _, c| x.max(c)),
    ("strata.sub %x, %c", |x, _, c| x.wrapping_sub(c)),
    ("strata.neg %x", |x, _, _| x.wrapping_neg()),
    ("strata.min %x, %b", |x, b, _| x.min(b)),
];

/// A chain of `n` elementwise ops on `tensor<16xi32>`, as MLIR text.
fn integer_chain(n: usize) -> String {
    let mut s = String::from("func.func @main(%a: tensor<16xi32>, %b: tensor<16xi32>, %c: tensor<16xi32>) -> tensor<16xi32> {\n");
    let mut x = "%a".to_string();
    for i in 0..n {
        let op = STEPS[i % STEPS.len()].0.replace("%x", &x);
        s.push_str(&format!("  %v{i} = {op} : tensor<16xi32>\n"));
        x = format!("%v{i}");
    }
    s.push_str(&format!("  return {x} : tensor<16xi32>\n}}\n"));
    s
}

#[test]
fn a_long_chain_fuses_into_one_map_and_computes_the_chain() {
    const N: usize = 2000;
    let path = write_input("chain", &integer_chain(N));
    let file = path.to_str().unwrap();

    let fused = opt(&[file, "--strata-fuse"]);
    assert_ok("strata-opt --strata-fuse", &fused);
    let text = stdout(&fused);
    assert_eq!(text.matches("strata.map").count(), 1, "one map:\n{text}");
    for op in ["strata.add", "strata.sub", "strata.mul", "strata.max", "strata.min", "strata.neg"] {
        assert!(!text.contains(op), "{op} left unfused");
    }
    // At least one scalar op per step (an integer neg is 0 - x: two).
    let scalar_ops = text.matches(" = arith.").count();
    assert!(scalar_ops >= N, "{scalar_ops} scalar ops for {N} steps");

    let a: Vec<i32> = (0..16).map(|i| i * 7 - 50).collect();
    let b: Vec<i32> = (0..16).map(|i| 3 - i * i).collect();
    let c: Vec<i32> = (0..16).map(|i| i * 1_000_003 + 5).collect();
    let want: Vec<i32> = (0..16)
        .map(|e| (0..N).fold(a[e], |x, i| STEPS[i % STEPS.len()].1(x, b[e], c[e])))
        .collect();
    assert!(want.iter().any(|w| *w != want[0]), "the chain should not be constant: {want:?}");
    let spec = |v: &[i32]| format!("--input=16xi32={}", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
    let want_text = format!("16xi32=[{}]", want.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
    // Not O0: it does not fuse, and the JIT then takes most of a minute
    // over 2,000 loops.
    for level in ["O2", "O3"] {
        let o = run(&[file, &spec(&a), &spec(&b), &spec(&c), &format!("--strata-pipeline={level}")]);
        assert_ok(&format!("strata-run {level}"), &o);
        assert_eq!(stdout(&o).trim(), want_text, "strata-run {level}");
    }
    let _ = std::fs::remove_file(path);
}

/// `strata-fuse` is linear in the chain's length: 20,000 ops take about
/// 0.5 s in a debug build. Rescanning the function after every fusion (as
/// it once did) made it quadratic: 1.7 s for 2,000 ops in a release build,
/// so minutes for these.
#[test]
fn fusing_a_very_long_chain_takes_linear_time() {
    const N: usize = 20_000;
    let path = write_input("long-chain", &integer_chain(N));
    let start = std::time::Instant::now();
    let fused = opt(&[path.to_str().unwrap(), "--strata-fuse"]);
    let took = start.elapsed();
    assert_ok("strata-opt --strata-fuse", &fused);
    assert_eq!(stdout(&fused).matches("strata.map").count(), 1);
    assert!(took.as_secs() < 30, "fusing {N} ops took {took:?}");
    let _ = std::fs::remove_file(path);
}

/// A tree rather than a chain: `levels` levels of pairwise `add`/`sub`
/// over `2^levels` leaves `a * b + k` (`k` the leaf's number, a constant
/// tensor), every value used once. Returns the MLIR text and the result
/// for one element.
fn integer_tree(levels: u32) -> (String, fn(i32, i32, u32) -> i32) {
    let mut s = String::from("func.func @main(%a: tensor<16xi32>, %b: tensor<16xi32>) -> tensor<16xi32> {\n");
    let mut layer: Vec<String> = Vec::new();
    for k in 0..1usize << levels {
        s.push_str(&format!("  %k{k} = arith.constant dense<{k}> : tensor<16xi32>\n"));
        s.push_str(&format!("  %p{k} = strata.mul %a, %b : tensor<16xi32>\n"));
        s.push_str(&format!("  %l{k} = strata.add %p{k}, %k{k} : tensor<16xi32>\n"));
        layer.push(format!("%l{k}"));
    }
    let mut n = 0;
    while layer.len() > 1 {
        let mut next = Vec::new();
        for (i, pair) in layer.chunks(2).enumerate() {
            let op = if i % 2 == 0 { "add" } else { "sub" };
            s.push_str(&format!("  %t{n} = strata.{op} {}, {} : tensor<16xi32>\n", pair[0], pair[1]));
            next.push(format!("%t{n}"));
            n += 1;
        }
        layer = next;
    }
    s.push_str(&format!("  return {} : tensor<16xi32>\n}}\n", layer[0]));
    fn eval(a: i32, b: i32, levels: u32) -> i32 {
        let mut layer: Vec<i32> = (0..1i32 << levels).map(|k| a.wrapping_mul(b).wrapping_add(k)).collect();
        while layer.len() > 1 {
            layer = layer
                .chunks(2)
                .enumerate()
                .map(|(i, p)| if i % 2 == 0 { p[0].wrapping_add(p[1]) } else { p[0].wrapping_sub(p[1]) })
                .collect();
        }
        layer[0]
    }
    (s, eval)
}

#[test]
fn a_tree_of_single_use_ops_fuses_into_one_map() {
    const LEVELS: u32 = 8;
    let (text, eval) = integer_tree(LEVELS);
    let path = write_input("tree", &text);
    let file = path.to_str().unwrap();
    let fused = opt(&[file, "--strata-fuse"]);
    assert_ok("strata-opt --strata-fuse", &fused);
    let out = stdout(&fused);
    assert_eq!(out.matches("strata.map").count(), 1, "one map:\n{out}");
    // Every leaf's multiply is computed once: no work is duplicated.
    assert_eq!(out.matches("arith.muli").count(), 1 << LEVELS);

    let a: Vec<i32> = (0..16).map(|i| i * 3 - 20).collect();
    let b: Vec<i32> = (0..16).map(|i| 7 - i * i).collect();
    let spec = |v: &[i32]| format!("--input=16xi32={}", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
    let want: Vec<String> = (0..16).map(|e| eval(a[e], b[e], LEVELS).to_string()).collect();
    let o = run(&[file, &spec(&a), &spec(&b)]);
    assert_ok("strata-run", &o);
    assert_eq!(stdout(&o).trim(), format!("16xi32=[{}]", want.join(",")));
    let _ = std::fs::remove_file(path);
}
