//! Compile time from text to a callable kernel, and the cost of one JIT
//! call, for the MLP example; compile time of an 8,000-op elementwise chain
//! at O3, which shows any pass whose time grows faster than the IR (the
//! chain once took 23.5 s, `strata-fuse` rescanning after every fusion).
//! `cargo bench -p strata-driver --bench compile`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use strata_driver::jit::{Buffer, CompileOptions, Kernel};
use strata_passes::levels::Level;

fn compile(c: &mut Criterion) {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/mlp.mlir"))
        .expect("examples/mlp.mlir is readable");
    let mut group = c.benchmark_group("compile examples/mlp.mlir");
    group.sample_size(10);
    for level in [Level::O0, Level::O3] {
        let options = CompileOptions { level, ..Default::default() };
        group.bench_function(format!("{level:?}"), |b| {
            b.iter(|| Kernel::compile(&source, "mlp.mlir", &options).unwrap())
        });
    }
    group.finish();

    let kernel = Kernel::compile(&source, "mlp.mlir", &CompileOptions::default()).unwrap();
    let mut args = [Buffer::zeros(strata_driver::jit::ElemType::F32, &[37, 129])];
    c.bench_function("call rowsum 37x129 (JIT call overhead + kernel)", |b| {
        b.iter(|| kernel.call("rowsum", &mut args).unwrap())
    });
}

/// `n` elementwise ops in a row on `tensor<16xf32>`: add, mul, exp, ...
fn chain(n: usize) -> String {
    let ty = "tensor<16xf32>";
    let mut s = format!("func.func @main(%a: {ty}, %b: {ty}) -> {ty} {{\n");
    let mut x = "%a".to_string();
    for i in 0..n {
        let op = match i % 3 {
            0 => format!("strata.add {x}, %b"),
            1 => format!("strata.mul {x}, %b"),
            _ => format!("strata.exp {x}"),
        };
        s.push_str(&format!("  %v{i} = {op} : {ty}\n"));
        x = format!("%v{i}");
    }
    s.push_str(&format!("  return {x} : {ty}\n}}\n"));
    s
}

fn compile_chain(c: &mut Criterion) {
    let source = chain(8000);
    let options = CompileOptions { level: Level::O3, ..Default::default() };
    let mut group = c.benchmark_group("compile 8000-op elementwise chain");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.bench_function("O3", |b| b.iter(|| Kernel::compile(&source, "chain.mlir", &options).unwrap()));
    group.finish();
}

criterion_group!(benches, compile, compile_chain);
criterion_main!(benches);
