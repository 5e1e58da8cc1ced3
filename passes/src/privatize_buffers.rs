//! `strata-privatize-buffers` (a step of `strata-lower-to-affine`, after
//! upstream's `affine-loop-fusion`): gives each iteration of a loop its own
//! copy of a temporary that the iteration fills before it reads it.
//!
//! Why: fusion (softmax, layernorm: the max, the exponentials, the sum and
//! the division fused into one loop over rows) shrinks each temporary to
//! one row, but allocates it once, before the row loop. Every iteration
//! then writes the same buffer, a dependence between iterations that keeps
//! `affine-parallelize` from running the rows in parallel. An allocation
//! inside the loop body is private to the iteration (and `strata-check-
//! races` knows thread-private allocations are race-free).
//!
//! Matches a `memref.alloc` with a static shape whose every use is a plain
//! affine or memref load or store inside one `affine.for` that follows it
//! in the same block, and whose first use in an iteration (the first op of
//! the body touching it) writes every element before anything reads one:
//! a store (for a one-element buffer) or a nest of constant-bound loops
//! over each dimension's whole extent around one store indexed by the
//! loops' variables (0 for dimensions of extent 1), with no loads of it
//! whose value is used.
//! Produces the same `memref.alloc` moved to the start of the loop body
//! (`strata-free-temporaries` then frees it at the end of each iteration).
//! Guarantees the same results: no iteration reads a value another wrote.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir,
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-privatize-buffers",
    summary: "Move a temporary that each loop iteration fully writes before reading into the loop body, so the loop's iterations are independent",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(PrivatizeBuffers)),
};

#[derive(Clone, Copy)]
struct PrivatizeBuffers;

impl StrataPass for PrivatizeBuffers {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for alloc in ir::find(root.to_raw(), &["memref.alloc"]) {
            if let Some(body_start) = private_to(alloc) {
                // SAFETY: both ops are live; the alloc has no operands, so
                // it may move anywhere it still dominates its uses.
                unsafe { sys::mlirOperationMoveBefore(alloc, body_start) };
                crate::remark(alloc, "strata-privatize-buffers: temporary made private to each iteration of its loop");
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// The first op of the loop body `alloc` may move to, if it may.
fn private_to(alloc: MlirOperation) -> Option<MlirOperation> {
    let buf = ir::result(alloc, 0);
    let ty = ir::value_type(buf);
    if !ir::is_plain_memref(ty) || !ir::operands(alloc).is_empty() {
        return None;
    }
    let (shape, _) = ir::shape(ty);
    // SAFETY: queries on live IR.
    let block = unsafe { sys::mlirOperationGetBlock(alloc) };
    let mut lp: Option<MlirOperation> = None;
    for user in users(buf) {
        let name = ir::name(user);
        let plain = matches!(name.as_str(), "affine.load" | "affine.store" | "memref.load" | "memref.store");
        // The buffer must be what is accessed, not a stored value.
        let stored = matches!(name.as_str(), "affine.store" | "memref.store") && ir::operand(user, 0).ptr == buf.ptr;
        if !plain || stored {
            return None;
        }
        let anc = ir::ancestor_in(user, block)?;
        if lp.is_some_and(|l| l.ptr != anc.ptr) {
            return None;
        }
        lp = Some(anc);
    }
    let lp = lp?;
    // SAFETY: as above.
    if ir::name(lp) != "affine.for" || !unsafe { sys::mlirOperationIsBeforeInBlock(alloc, lp) } {
        return None;
    }
    let body = ir::ops_in(ir::first_block(ir::region(lp, 0)));
    let first = *body.iter().find(|op| this_and_nested(**op).iter().any(|o| ir::operands(*o).iter().any(|v| v.ptr == buf.ptr)))?;
    writes_all(first, buf, &shape).then(|| body[0])
}

/// `op` and every op nested in it.
fn this_and_nested(op: MlirOperation) -> Vec<MlirOperation> {
    let mut all = vec![op];
    all.extend(ir::walk(op));
    all
}

/// Every op using `v`.
fn users(v: MlirValue) -> Vec<MlirOperation> {
    let mut out = Vec::new();
    // SAFETY: walking a live value's use list.
    unsafe {
        let mut u = sys::mlirValueGetFirstUse(v);
        while !u.ptr.is_null() {
            out.push(sys::mlirOpOperandGetOwner(u));
            u = sys::mlirOpOperandGetNextUse(u);
        }
    }
    out
}

/// Whether `op` (run once) stores to every element of `buf` (of `shape`)
/// and loads none: one store, unconditional, under constant-bound loops
/// that each cover one dimension's extent.
fn writes_all(op: MlirOperation, buf: MlirValue, shape: &[i64]) -> bool {
    // A load whose value nobody uses reads nothing that matters (linalg's
    // loops load an output's old value even where the payload ignores it).
    let dead_load = |o: &MlirOperation| {
        // SAFETY: a live op's result use list.
        ir::name(*o) == "affine.load" && unsafe { sys::mlirValueGetFirstUse(ir::result(*o, 0)).ptr.is_null() }
    };
    let touching: Vec<MlirOperation> = this_and_nested(op)
        .into_iter()
        .filter(|o| ir::operands(*o).iter().any(|v| v.ptr == buf.ptr) && !dead_load(o))
        .collect();
    let [store] = touching.as_slice() else { return false };
    if ir::name(*store) != "affine.store" {
        return false;
    }
    // The loops between `op` and the store, each from 0 to a constant.
    let mut loops: Vec<(MlirValue, i64)> = Vec::new();
    let mut at = *store;
    while at.ptr != op.ptr {
        at = ir::parent(at);
        match ir::name(at).as_str() {
            "affine.for" => {
                if ir::constant_map(at, "lowerBoundMap") != Some(0) || ir::int_attr(at, "step") != Some(1) {
                    return false;
                }
                let Some(hi) = ir::constant_map(at, "upperBoundMap") else { return false };
                loops.push((ir::block_argument(ir::first_block(ir::region(at, 0)), 0), hi));
            }
            "affine.parallel" => {
                // SAFETY: a live block.
                let ivs = unsafe { sys::mlirBlockGetNumArguments(ir::first_block(ir::region(at, 0))) };
                if ivs != 1 || ir::constant_map(at, "lowerBoundsMap") != Some(0) || ir::int_attr(at, "steps") != Some(1) {
                    return false;
                }
                let Some(hi) = ir::constant_map(at, "upperBoundsMap") else { return false };
                loops.push((ir::block_argument(ir::first_block(ir::region(at, 0)), 0), hi));
            }
            _ => return false,
        }
    }
    let Some(map) = ir::attribute(*store, "map") else { return false };
    let operands = ir::operands(*store);
    // SAFETY: affine.store's `map` is an AffineMapAttr; the expressions
    // are read through the C API.
    unsafe {
        let map = sys::mlirAffineMapAttrGetValue(map);
        if sys::mlirAffineMapGetNumResults(map) as usize != shape.len() {
            return false;
        }
        let mut covered = Vec::new();
        for (d, extent) in shape.iter().enumerate() {
            let e = sys::mlirAffineMapGetResult(map, d as isize);
            if sys::mlirAffineExprIsAConstant(e) {
                if *extent != 1 || sys::mlirAffineConstantExprGetValue(e) != 0 {
                    return false;
                }
            } else if sys::mlirAffineExprIsADim(e) {
                let v = operands[2 + sys::mlirAffineDimExprGetPosition(e) as usize];
                match loops.iter().position(|(iv, _)| iv.ptr == v.ptr) {
                    Some(l) if loops[l].1 == *extent && !covered.contains(&l) => covered.push(l),
                    _ => return false,
                }
            } else {
                return false;
            }
        }
        // Every loop indexes a dimension: none repeats the store.
        covered.len() == loops.len()
    }
}
