//! Every Strata transformation, and the pass-pipeline parser that mixes
//! them with upstream MLIR passes.
//!
//! One pass per module; each module's doc comment says what it matches,
//! what it produces, and what it assumes. [`pipeline`] turns pipeline text
//! into a populated MLIR `PassManager`; [`levels`] holds the default
//! pipelines (`O0`..`O3`) in one readable place.

pub mod external;
pub mod knobs;
pub mod levels;
pub mod options;
pub mod pass_info;
pub mod pipeline;
pub mod registry;
pub mod target;

mod check_races;
pub mod contraction;
mod convert_to_linalg;
mod distinct_results;
mod expand_float_atomics;
mod expand_math;
mod fuse;
mod fuse_columns;
mod fuse_rows;
pub mod ir;
mod instrument_races;
pub mod instrument_timers;
mod lower_linalg;
mod lower_parallel_reductions;
mod lower_to_affine;
mod lower_to_llvm;
pub mod outline_parallel;
mod parallelize;
mod privatize_atomics;
mod split_prologues;
mod free_temporaries;
mod hoist_broadcasts;
mod hoist_temporaries;
mod split_reductions;
mod tile;
pub(crate) mod vectorize;
pub(crate) mod vectorize_columns;
pub(crate) mod vectorize_contraction;
pub(crate) mod vectorize_loops;
pub(crate) mod vectorize_user_loops;
mod vectorize_transpose;
mod prefetch_rows;

use std::sync::Once;

/// A pipeline that cannot be built: bad syntax, an unknown pass, a bad option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PipelineError {
    message: String,
}

impl PipelineError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

static REMARKS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns optimization remarks of the `strata-*` passes on or off
/// (`--strata-remarks`): what was vectorized and how, which loops went to
/// the thread pool, which passes are still the identity.
pub fn set_remarks(enabled: bool) {
    REMARKS.store(enabled, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `--strata-remarks` is on (for remarks the driver emits).
pub fn remarks_enabled() -> bool {
    REMARKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Emits `message` as a remark at `op` if remarks are on.
pub(crate) fn remark(op: mlir_sys::MlirOperation, message: &str) {
    if REMARKS.load(std::sync::atomic::Ordering::Relaxed) {
        strata_dialect::emit_remark(ir::location(op), message);
    }
}

/// Registers every upstream MLIR pass the C API knows, and the test passes
/// `mlir-opt` has (once per process), so that pipeline text can name them.
pub fn register_upstream_passes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        melior::utility::register_all_passes();
        strata_dialect::register_upstream_test_passes();
    });
}
