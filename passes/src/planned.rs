//! The stand-in for an optimization pass whose rewrite has not landed yet
//! (`strata-fuse`, `strata-tile`, `strata-vectorize`): the identity, which
//! is correct for an optimization (the IR is only slower than it could be).
//! `--list-passes` marks these passes `[planned]`.

use melior::ir::OperationRef;

use crate::external::{PassFailed, StrataPass};

#[derive(Clone, Copy)]
pub struct Planned;

impl StrataPass for Planned {
    fn run(&mut self, _op: OperationRef<'_, '_>) -> Result<(), PassFailed> {
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}
