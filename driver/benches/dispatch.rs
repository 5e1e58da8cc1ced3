//! What one `strata.parallel_for` dispatch costs on 2 threads: Strata's
//! pool against LLVM's OpenMP runtime (the same kernel through
//! `strata-parallelize{runtime=omp}`) and against rayon, in one run.
//!
//! Each kernel call runs one two-iteration loop; `sequential` is the same
//! call with the loop not parallelized, so `pool - sequential` is the
//! dispatch itself. `cargo bench -p strata-driver --bench dispatch`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use strata_driver::jit::{Buffer, CompileOptions, Kernel};

const KERNEL: &str = r#"
func.func @main(%buf: memref<2xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  strata.parallel_for %i = %c0 to %c2 step %c1 grain 1 {
    %v = arith.index_cast %i : index to i64
    memref.store %v, %buf[%i] : memref<2xi64>
  }
  return
}
"#;

fn kernel(pipeline: &str) -> Kernel {
    let options = CompileOptions { pipeline: Some(pipeline.into()), ..Default::default() };
    Kernel::compile(KERNEL, "dispatch.mlir", &options).expect("the benchmark kernel compiles")
}

fn dispatch(c: &mut Criterion) {
    strata_runtime::pool::set_threads(2);
    std::env::set_var("OMP_NUM_THREADS", "2");
    let pool = kernel("builtin.module(strata-lower-to-affine,strata-parallelize,strata-lower-to-llvm)");
    let omp = kernel("builtin.module(strata-lower-to-affine,strata-parallelize{runtime=omp},strata-lower-to-llvm)");
    let sequential = kernel("builtin.module(strata-parallel-for-to-scf,strata-lower-to-llvm)");
    let mut args = [Buffer::zeros(strata_driver::jit::ElemType::I64, &[2])];
    let mut group = c.benchmark_group("parallel_for of 2 iterations, 2 threads");
    group.bench_function("strata pool", |b| b.iter(|| pool.call("main", &mut args).unwrap()));
    group.bench_function("openmp", |b| b.iter(|| omp.call("main", &mut args).unwrap()));
    group.bench_function("sequential (call overhead only)", |b| {
        b.iter(|| sequential.call("main", &mut args).unwrap())
    });
    let rayon = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a rayon pool");
    let cells = [std::sync::atomic::AtomicI64::new(0), std::sync::atomic::AtomicI64::new(0)];
    group.bench_function("rayon join", |b| {
        b.iter(|| {
            rayon.install(|| {
                rayon::join(
                    || cells[0].store(black_box(0), std::sync::atomic::Ordering::Relaxed),
                    || cells[1].store(black_box(1), std::sync::atomic::Ordering::Relaxed),
                )
            })
        })
    });
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
