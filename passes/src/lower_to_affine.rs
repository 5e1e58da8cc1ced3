//! `strata-lower-to-affine`: bufferizes `strata` tensor ops and lowers them
//! to `affine` loop nests over `memref`s.
//!
//! Matches (planned, issue 3): every tensor op of the spec. Produces
//! allocated results and temporaries (each freed after its last use),
//! `affine` loop nests with the parallel loops marked, and `strata.map`
//! bodies inlined into the innermost loop.
//!
//! Today it fails, at the op, on the first `strata` tensor op it meets, and
//! leaves IR without them unchanged (which is then already lowered).

use crate::{
    options::PassOptions,
    planned::Planned,
    registry::{Build, PassInfo, Status},
};

/// The ops this pass consumes: every `strata` op except the parallel ones,
/// which `strata-parallelize` owns.
pub fn is_tensor_op(name: &str) -> bool {
    name.starts_with("strata.") && !matches!(name, "strata.parallel_for" | "strata.yield")
}

pub static INFO: PassInfo = PassInfo {
    argument: "strata-lower-to-affine",
    summary: "Bufferize strata tensor ops and lower them to affine loop nests over memrefs, marking parallel loops",
    options: &[],
    status: Status::Planned,
    build: Build::Rust(|_: &PassOptions| {
        Box::new(Planned { argument: "strata-lower-to-affine", rewrites: is_tensor_op })
    }),
};
