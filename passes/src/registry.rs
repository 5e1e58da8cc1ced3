//! The list of `strata-*` passes, for lookup by name. Each pass declares
//! itself ([`crate::pass_info::PassInfo`]) in its own module.

pub use crate::pass_info::{Build, Instance, PassInfo, Status};
use crate::{
    check_races, convert_to_linalg, distinct_results, expand_float_atomics, free_temporaries, fuse, fuse_columns, fuse_rows, hoist_broadcasts, hoist_temporaries, instrument_races, instrument_timers, lower_linalg,
    lower_parallel_reductions, lower_to_affine, lower_to_llvm, outline_parallel, parallelize, privatize_atomics, split_prologues, tile, vectorize,
};

/// Every `strata-*` pass, in the order the default pipeline runs them.
pub static PASSES: [&PassInfo; 7] = [
    &fuse::INFO,
    &lower_to_affine::INFO,
    &check_races::INFO,
    &tile::INFO,
    &vectorize::INFO,
    &parallelize::INFO,
    &lower_to_llvm::INFO,
];

/// Steps that the passes above expand into.
pub static INTERNAL: [&PassInfo; 18] = [
    &distinct_results::INFO,
    &fuse_rows::INFO,
    &fuse_columns::INFO,
    &split_prologues::INFO,
    &lower_linalg::INFO,
    &instrument_races::INFO,
    &instrument_timers::INFO,
    &privatize_atomics::INFO,
    &lower_parallel_reductions::INFO,
    &convert_to_linalg::INFO,
    &hoist_broadcasts::INFO,
    &expand_float_atomics::INFO,
    &free_temporaries::INFO,
    &parallelize::TO_SCF,
    &parallelize::INLINE_ALLOCA_SCOPES,
    &parallelize::FENCE_STREAMING_STORES,
    &outline_parallel::INFO,
    &hoist_temporaries::INFO,
];

pub fn lookup(argument: &str) -> Option<&'static PassInfo> {
    PASSES.iter().chain(INTERNAL.iter()).copied().find(|p| p.argument == argument)
}
