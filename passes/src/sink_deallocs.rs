//! `strata-sink-deallocs`: moves each `memref.dealloc` up to just after the
//! last use of its buffer (the last step of `strata-lower-to-affine`).
//!
//! Upstream's deallocation pipeline frees buffers at the end of their
//! block, so every temporary of a kernel stays alive until the kernel
//! returns; freeing each right after its last use bounds peak memory by the
//! temporaries that are live at once.
//!
//! Matches `memref.dealloc %m`. A use is any op in the dealloc's block that
//! uses `%m`, or a view of it, directly or inside its regions. Produces the
//! same dealloc, right after the last such op. Assumes the dealloc follows
//! every use in its block (true for the upstream pipeline's output).

use mlir_sys::{self as sys, MlirBlock, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir,
    options::PassOptions,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-sink-deallocs",
    summary: "Free each buffer right after its last use (last step of strata-lower-to-affine)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(SinkDeallocs)),
};

#[derive(Clone, Copy)]
struct SinkDeallocs;

impl StrataPass for SinkDeallocs {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let deallocs: Vec<MlirOperation> =
            ir::walk(root.to_raw()).into_iter().filter(|op| ir::name(*op) == "memref.dealloc").collect();
        for dealloc in deallocs {
            // SAFETY: live ops throughout; only `dealloc` moves.
            unsafe {
                let block = sys::mlirOperationGetBlock(dealloc);
                let mut last: Option<MlirOperation> = None;
                for user in users_in_block(ir::operand(dealloc, 0), block) {
                    if user.ptr == dealloc.ptr {
                        continue;
                    }
                    if last.is_none_or(|l| sys::mlirOperationIsBeforeInBlock(l, user)) {
                        last = Some(user);
                    }
                }
                if let Some(last) = last {
                    if sys::mlirOperationIsBeforeInBlock(last, dealloc) {
                        sys::mlirOperationMoveAfter(dealloc, last);
                    }
                }
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// The ops of `block` that use `value` or a view of it (an op whose result
/// is a memref built from it), through nested regions.
unsafe fn users_in_block(value: MlirValue, block: MlirBlock) -> Vec<MlirOperation> {
    let mut out = Vec::new();
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        // SAFETY: walking the use list of a live value.
        unsafe {
            let mut u = sys::mlirValueGetFirstUse(v);
            while !u.ptr.is_null() {
                let owner = sys::mlirOpOperandGetOwner(u);
                for i in 0..sys::mlirOperationGetNumResults(owner) {
                    let r = sys::mlirOperationGetResult(owner, i);
                    if sys::mlirTypeIsAMemRef(sys::mlirValueGetType(r)) {
                        pending.push(r);
                    }
                }
                let mut anc = owner;
                while !anc.ptr.is_null() && sys::mlirOperationGetBlock(anc).ptr != block.ptr {
                    anc = sys::mlirOperationGetParentOperation(anc);
                }
                if !anc.ptr.is_null() {
                    out.push(anc);
                }
                u = sys::mlirOpOperandGetNextUse(u);
            }
        }
    }
    out
}
