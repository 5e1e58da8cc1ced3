//! The `strata-*` passes: their names, summaries, options, and how each is
//! instantiated (a Rust pass, or a pipeline of other passes).

use crate::{
    check_races, convert_to_linalg, expand_float_atomics,
    external::{self, StrataPass},
    fuse, instrument_races, lower_linalg, lower_parallel_reductions, lower_to_affine, lower_to_llvm, outline_parallel,
    options::{OptionSpec, PassOptions},
    parallelize,
    pipeline::Pipeline,
    free_temporaries,
    tile, vectorize, PipelineError,
};
use mlir_sys::MlirPass;

/// Whether a pass does what its summary says yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Implemented,
    /// Registered so pipelines can name it; until its issue lands it leaves
    /// the IR unchanged, or fails on ops it would have to rewrite.
    Planned,
    /// A step of another pass's expansion; listed, but not meant to be
    /// scheduled by hand.
    Internal,
}

/// How a pass is built from its parsed options.
#[derive(Clone, Copy)]
pub enum Build {
    Rust(fn(&PassOptions) -> Box<dyn StrataPass>),
    /// Expands into other passes (like an MLIR pass pipeline), so that IR
    /// printing and timing show each step.
    Pipeline(fn(&PassOptions) -> Pipeline),
}

pub struct PassInfo {
    pub argument: &'static str,
    pub summary: &'static str,
    pub options: &'static [OptionSpec],
    pub status: Status,
    pub build: Build,
}

pub enum Instance {
    Pass(MlirPass),
    Pipeline(Pipeline),
}

impl PassInfo {
    pub fn instantiate(&'static self, options: &str) -> Result<Instance, PipelineError> {
        let options = PassOptions::parse(self.argument, self.options, options)?;
        Ok(match self.build {
            Build::Rust(make) => Instance::Pass(external::create(self, make(&options))),
            Build::Pipeline(expand) => Instance::Pipeline(expand(&options)),
        })
    }
}

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
pub static INTERNAL: [&PassInfo; 9] = [
    &lower_linalg::INFO,
    &instrument_races::INFO,
    &lower_parallel_reductions::INFO,
    &convert_to_linalg::INFO,
    &expand_float_atomics::INFO,
    &free_temporaries::INFO,
    &parallelize::TO_SCF,
    &parallelize::INLINE_ALLOCA_SCOPES,
    &outline_parallel::INFO,
];

pub fn lookup(argument: &str) -> Option<&'static PassInfo> {
    PASSES.iter().chain(INTERNAL.iter()).copied().find(|p| p.argument == argument)
}
