//! The Strata library API and the machinery behind `strata-opt` (and, with
//! the end-to-end issue, `strata-run`): reading MLIR text, reporting
//! diagnostics with locations, running pipelines.

pub mod cli;
pub mod diagnostics;
#[doc(hidden)]
pub mod fuzzing;
pub mod jit;
pub mod opt;
pub mod run;
pub mod target;
pub mod tune;
pub mod tune_inputs;
pub mod verify;
