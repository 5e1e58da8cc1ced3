//! Compile time from text to a callable kernel, and the cost of one JIT
//! call, for the MLP example. `cargo bench -p strata-driver --bench compile`.

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

criterion_group!(benches, compile);
criterion_main!(benches);
