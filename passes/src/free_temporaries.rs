//! `strata-free-temporaries`: frees every buffer that a kernel allocates
//! and does not hand out, right after its last use (the last step of
//! `strata-lower-to-affine`).
//!
//! Upstream's deallocation pipeline frees at the end of the block, keeping
//! every temporary alive until the kernel returns, and rejects input that
//! already frees its own buffers; freeing right after the last use bounds
//! peak memory by the temporaries live at once.
//!
//! Matches `memref.alloc` whose buffer (or a view of it) is neither freed
//! already, nor returned, nor passed to a call, nor stored. Produces a
//! `memref.dealloc` right after the last op of the alloc's block that uses
//! it (directly or in a nested region). Buffers that escape are left alone:
//! a leak is possible for such user code, a double free never.

use mlir_sys::{self as sys, MlirBlock, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-free-temporaries",
    summary: "Free each non-escaping buffer right after its last use (last step of strata-lower-to-affine)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(FreeTemporaries)),
};

#[derive(Clone, Copy)]
struct FreeTemporaries;

impl StrataPass for FreeTemporaries {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let allocs: Vec<MlirOperation> =
            ir::find(root.to_raw(), &["memref.alloc"]);
        for alloc in allocs {
            let buffer = ir::result(alloc, 0);
            // SAFETY: live ops and values throughout; only a new op is added.
            unsafe {
                let block = sys::mlirOperationGetBlock(alloc);
                let Some(users) = users_in_block(buffer, block) else { continue };
                let mut last = alloc;
                for user in users {
                    if sys::mlirOperationIsBeforeInBlock(last, user) {
                        last = user;
                    }
                }
                let b = Builder::of_op(alloc);
                let dealloc = b.op("memref.dealloc", ir::location(alloc), &[buffer], &[], &[], 0);
                sys::mlirBlockInsertOwnedOperationAfter(block, last, dealloc);
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// The ops of `block` that use `value` or a view of it (an op whose result
/// is a memref built from it), through nested regions; `None` if the
/// buffer escapes or is freed already.
unsafe fn users_in_block(value: MlirValue, block: MlirBlock) -> Option<Vec<MlirOperation>> {
    let mut out = Vec::new();
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        // SAFETY: walking the use list of a live value.
        unsafe {
            let mut u = sys::mlirValueGetFirstUse(v);
            while !u.ptr.is_null() {
                let owner = sys::mlirOpOperandGetOwner(u);
                let name = ir::name(owner);
                let escapes = matches!(
                    name.as_str(),
                    "memref.dealloc" | "func.return" | "func.call" | "func.call_indirect" | "memref.store" | "scf.yield"
                ) && (name != "memref.store" || sys::mlirOpOperandGetOperandNumber(u) == 0);
                if escapes || name.starts_with("llvm.") || name.starts_with("bufferization.") {
                    return None;
                }
                for i in 0..sys::mlirOperationGetNumResults(owner) {
                    let r = sys::mlirOperationGetResult(owner, i);
                    if sys::mlirTypeIsAMemRef(sys::mlirValueGetType(r)) {
                        pending.push(r);
                    }
                }
                if let Some(anc) = ir::ancestor_in(owner, block) {
                    out.push(anc);
                }
                u = sys::mlirOpOperandGetNextUse(u);
            }
        }
    }
    Some(out)
}
