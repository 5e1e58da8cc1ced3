//! The stand-in for an optimization pass whose rewrite has not landed yet
//! (`strata-fuse`, `strata-tile`, `strata-vectorize`): the identity, which
//! is correct for an optimization (the IR is only slower than it could be).
//! `--list-passes` marks these passes `[planned]`.

use melior::ir::OperationRef;

use crate::external::{PassFailed, StrataPass};

#[derive(Clone, Copy)]
pub struct Planned {
    pub argument: &'static str,
}

impl StrataPass for Planned {
    fn run(&mut self, op: OperationRef<'_, '_>) -> Result<(), PassFailed> {
        crate::remark(op.to_raw(), &format!("{}: not implemented yet; the IR is left unchanged", self.argument));
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}
