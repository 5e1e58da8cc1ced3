//! The stand-in for a registered pass whose rewrite has not landed yet.
//!
//! It must never pretend: on IR it would leave unchanged anyway it succeeds;
//! on the first op it would have to rewrite it fails with an error at that
//! op naming the pass and the missing piece. Optimization passes
//! (`rewrites` matching nothing) are correct as the identity.

use melior::ir::{
    operation::{OperationLike, WalkOrder, WalkResult},
    OperationRef,
};

use crate::external::{emit_error, PassFailed, StrataPass};

#[derive(Clone, Copy)]
pub struct Planned {
    pub argument: &'static str,
    /// Whether the finished pass must rewrite an op of this name.
    pub rewrites: fn(&str) -> bool,
}

impl StrataPass for Planned {
    fn run(&mut self, op: OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let mut failed = false;
        let (argument, rewrites) = (self.argument, self.rewrites);
        op.walk(WalkOrder::PreOrder, |inner| {
            let name = inner.name();
            let name = name.as_string_ref().as_str().unwrap_or("");
            if rewrites(name) {
                emit_error(
                    inner,
                    &format!("'{argument}' cannot rewrite '{name}' yet: this lowering is not implemented"),
                );
                failed = true;
                return WalkResult::Interrupt;
            }
            WalkResult::Advance
        });
        if failed {
            Err(PassFailed)
        } else {
            Ok(())
        }
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

pub fn nothing(_: &str) -> bool {
    false
}
