//! `strata-lower-to-affine`: bufferizes `strata` tensor ops and lowers them
//! to `affine` loop nests over `memref`s.
//!
//! Matches every tensor op of the spec, in any function. Produces, in order:
//! 1. `strata-convert-to-linalg`: one `linalg.generic` per op, broadcast and
//!    transpose as indexing maps (no data movement of their own);
//! 2. with `fuse-elementwise` (default), upstream elementwise fusion of those
//!    generics, so a chain such as bias-add + relu makes one pass and one
//!    buffer (a matmul is never fused as a producer, so never recomputed),
//!    then `strata-hoist-broadcast-computations`: what a fused generic
//!    computes from broadcast operands alone (a row's mean, `1 / sqrt(var
//!    + eps)`, the reciprocal of a softmax's sum) computed once per
//!    broadcast element;
//! 3. one-shot bufferization across function boundaries (identity layouts),
//!    then tensor results turned into trailing out-parameters that the
//!    caller allocates, with the final allocation hoisted to the caller (so
//!    the last op writes the caller's buffer directly, no copy);
//! 4. `affine` loop nests (`strata-lower-linalg-to-affine`, upstream's
//!    lowering op by op), with the loops free of dependences rewritten to
//!    `affine.parallel` (that is the parallel marking later passes read);
//!    with `keep-contractions`, the contractions `strata-vectorize` has a
//!    kernel for stay `linalg.generic`s on buffers, for `strata-tile` and
//!    `strata-vectorize` to lower from their structure;
//! 5. with `fuse-loops`, `strata-fuse-rows` before the parallel marking:
//!    consecutive nests over the same rows whose data flow stays within a
//!    row become one loop, their temporaries shrunk to one row allocated
//!    per iteration (a softmax's max, exponentials, sum and division read
//!    each row from memory once). Nothing is recomputed; where the data
//!    flow leaves the row, the nests stay apart;
//! 6. `strata-free-temporaries`: each temporary is freed right after its
//!    last use.
//!
//! Assumes verified IR. Guarantees no tensor values are left in function
//! signatures or bodies; a function's memref/tensor results become
//! trailing out-parameters marked `bufferize.result`, in result order.

use crate::{
    options::{OptionKind, OptionSpec, PassOptions},
    pipeline::Pipeline,
    pass_info::{Build, PassInfo, Status},
};

/// The ops this pass consumes: every `strata` op except the parallel ones,
/// which `strata-parallelize` owns.
pub fn is_tensor_op(name: &str) -> bool {
    name.starts_with("strata.") && !matches!(name, "strata.parallel_for" | "strata.yield")
}

fn expand(options: &PassOptions) -> Pipeline {
    let mut steps = vec!["strata-convert-to-linalg"];
    if options.boolean("fuse-elementwise") {
        // Fusion folds small producers into their broadcast consumers;
        // what they compute goes back to the small shape.
        steps.extend(["linalg-fuse-elementwise-ops", "strata-hoist-broadcast-computations"]);
    }
    steps.extend([
        "strata-distinct-results",
        "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
        "buffer-results-to-out-params{hoist-static-allocs modify-public-functions add-result-attr}",
    ]);
    if options.boolean("keep-contractions") {
        steps.extend(["strata-split-prologues", "strata-lower-linalg-to-affine{keep-contractions=true}"]);
    } else {
        steps.push("strata-lower-linalg-to-affine");
    }
    if options.boolean("fuse-loops") {
        // Canonicalized first: the lowering indexes through affine.apply
        // ops, which fold into the access maps fuse-rows reads.
        steps.extend(["canonicalize", "strata-fuse-rows"]);
    }
    steps.extend([
        "func.func(affine-parallelize)",
        "canonicalize",
        "strata-free-temporaries",
    ]);
    Pipeline::parse_elements("builtin.module", &steps.join(",")).expect("the fixed lowering pipeline parses")
}

pub static INFO: PassInfo = PassInfo {
    argument: "strata-lower-to-affine",
    summary: "Bufferize strata tensor ops and lower them to affine loop nests over memrefs, marking parallel loops",
    options: &[OptionSpec {
        name: "fuse-elementwise",
        kind: OptionKind::Bool,
        default: "true",
        description: "fuse chains of elementwise ops (after conversion to linalg) before bufferizing",
    }, OptionSpec {
        name: "fuse-loops",
        kind: OptionKind::Bool,
        default: "false",
        description: "fuse consecutive loop nests over the same rows whose data flow stays within a row, temporaries shrunk to one row (strata-fuse-rows: a row-wise softmax becomes one loop over rows; the O2 and O3 pipelines do)",
    }, OptionSpec {
        name: "keep-contractions",
        kind: OptionKind::Bool,
        default: "false",
        description: "leave contractions as linalg.generic on buffers for strata-tile and strata-vectorize (the O2 and O3 pipelines do)",
    }],
    status: Status::Implemented,
    build: Build::Pipeline(expand),
};
