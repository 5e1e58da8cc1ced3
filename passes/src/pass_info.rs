//! What every `strata-*` pass declares: its name, summary, options,
//! status and how it is built. A leaf for the passes: each pass module
//! imports these declarations from here, and only [`crate::registry`]
//! imports the passes, so no pass reaches another through the registry.

use crate::{
    external::{self, StrataPass},
    options::{OptionSpec, PassOptions},
    pipeline::Pipeline,
    PipelineError,
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
