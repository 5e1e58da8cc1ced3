//! Every Strata transformation, and the pass-pipeline parser that mixes
//! them with upstream MLIR passes.
//!
//! One pass per module; each module's doc comment says what it matches,
//! what it produces, and what it assumes. [`pipeline`] turns pipeline text
//! into a populated MLIR `PassManager`; [`levels`] holds the default
//! pipelines (`O0`..`O3`) in one readable place.

pub mod external;
pub mod levels;
pub mod options;
pub mod pipeline;
pub mod registry;

mod convert_to_linalg;
mod fuse;
pub mod ir;
mod lower_to_affine;
mod lower_to_llvm;
pub mod outline_parallel;
mod parallelize;
mod planned;
mod free_temporaries;
mod tile;
mod vectorize;
mod vectorize_loops;

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

/// Registers every upstream MLIR pass the C API knows (once per process),
/// so that pipeline text can name them.
pub fn register_upstream_passes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(melior::utility::register_all_passes);
}
