//! `strata-parallelize`: turns parallel loops and `strata.parallel_for`
//! into calls to the runtime's thread pool (`runtime=pool`) or into the
//! `omp` dialect (`runtime=omp`).
//!
//! Matches (planned, issue 4): `strata.parallel_for` and the loops
//! `strata-lower-to-affine` marks parallel. Produces outlined bodies taking
//! a context struct, and runtime calls.
//!
//! Today it fails, at the op, on the first `strata.parallel_for`, and leaves
//! IR without one unchanged (marked loops then run sequentially).

use crate::{
    options::{OptionKind, OptionSpec, PassOptions},
    planned::Planned,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-parallelize",
    summary: "Turn parallel loops and strata.parallel_for into thread-pool runtime calls (runtime=pool) or omp (runtime=omp)",
    options: &[OptionSpec {
        name: "runtime",
        kind: OptionKind::Choice(&["pool", "omp"]),
        default: "pool",
        description: "pool: Strata's thread pool; omp: LLVM's OpenMP runtime through the omp dialect",
    }],
    status: Status::Planned,
    build: Build::Rust(|_: &PassOptions| {
        Box::new(Planned { argument: "strata-parallelize", rewrites: |name| name == "strata.parallel_for" })
    }),
};
