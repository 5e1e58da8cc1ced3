//! `strata-lower-to-llvm`: everything left down to the LLVM dialect.
//!
//! Matches `affine`, `scf`, `vector`, `memref`, `math`, `arith`, `index`,
//! `func` and `cf` ops, and linalg ops on buffers (a contraction that
//! `strata-lower-to-affine{keep-contractions}` kept for a
//! `strata-vectorize` that did not run becomes plain loops). Produces the LLVM dialect only (`math` functions
//! without an LLVM intrinsic become libm calls). It is a pipeline of
//! upstream conversions, in the order they require (after ours for float
//! atomics, which upstream cannot lower): vector transfers and
//! affine first (they produce scf, memref and arith), then structured
//! control flow, then strided-memref metadata, then the dialect-by-dialect
//! conversion, and last the cleanup of the casts left between them.
//!
//! Assumes no `strata` ops are left (`strata-lower-to-affine` and
//! `strata-parallelize` ran); any left make `reconcile-unrealized-casts` or
//! the final verification fail at that op.

use crate::{
    options::PassOptions,
    pipeline::Pipeline,
    pass_info::{Build, PassInfo, Status},
};

const STEPS: &str = "strata-expand-float-atomics,\
func.func(convert-linalg-to-loops,convert-vector-to-scf),\
lower-affine,\
convert-scf-to-cf,\
expand-strided-metadata,\
convert-math-to-llvm,\
convert-math-to-libm,\
convert-vector-to-llvm,\
convert-to-llvm,\
reconcile-unrealized-casts";

fn expand(_: &PassOptions) -> Pipeline {
    Pipeline::parse_elements("builtin.module", STEPS).expect("the fixed lowering pipeline parses")
}

pub static INFO: PassInfo = PassInfo {
    argument: "strata-lower-to-llvm",
    summary: "Lower everything left (affine, scf, vector, memref, math, arith, func, cf) to the LLVM dialect",
    options: &[],
    status: Status::Implemented,
    build: Build::Pipeline(expand),
};
