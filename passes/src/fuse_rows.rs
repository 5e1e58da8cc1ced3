//! `strata-fuse-rows` (a step of `strata-lower-to-affine{fuse-loops}`,
//! between the lowering to affine loops and the parallel marking): fuses
//! loop nests over the same rows whose data flow stays within a row, and
//! shrinks the temporaries between them to one row.
//!
//! Why: a softmax is six nests over its rows (fill and reduce the max,
//! the exponentials, fill and reduce the sum, the division), each reading
//! or writing whole `rows x cols` temporaries; fused, each row is read
//! from memory once and its temporaries stay in cache.
//!
//! Matches runs of consecutive `affine.for` loops of one block with the
//! same constant bounds (step 1, no results), with only `memref.alloc`s
//! and constants between them. A loop joins the run when every buffer that
//! the run and the loop both touch, one of them writing it, is accessed
//! only by `affine.load`/`affine.store` whose first index is the loop's
//! own variable (row `i` of one loop meets only row `i` of the other).
//! Produces one loop holding the bodies in their order; then each
//! `memref.alloc` used only inside it, only as `%t[i, ...]`, becomes a
//! `1 x ...` buffer allocated in the body (`strata-free-temporaries`
//! frees it at the end of each iteration), so the rows stay independent
//! and `affine-parallelize` marks the fused loop parallel.
//!
//! The cost rule: fusing never recomputes anything here (each row's work
//! is done once, in the same order within the row); where the data flow
//! leaves the row (a reduction broadcast along another dimension, a
//! transpose), the nests stay apart and the temporary is written once and
//! re-read. Upstream's `affine-loop-fusion` was tried first and rejected:
//! it recomputed a reduction into the same accumulator once per consumer
//! iteration (wrong results) even at zero compute tolerance.
//! `--strata-remarks` reports each fusion and each shrunk temporary.
//!
//! Guarantees the same results: within an iteration the ops run in their
//! original order, and iterations touch disjoint rows of every shared
//! buffer.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-fuse-rows",
    summary: "Fuse consecutive affine loops over the same rows whose data flow stays within a row, and shrink their temporaries to one row",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(FuseRows)),
};

#[derive(Clone, Copy)]
struct FuseRows;

impl StrataPass for FuseRows {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for func in ir::find(root.to_raw(), &["func.func"]) {
            for block in blocks_of(func) {
                fuse_block(block);
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// The blocks of `func`'s body (its top level: loops nested deeper are
/// fused by their own parent loop's run, which this pass does not look
/// into).
fn blocks_of(func: MlirOperation) -> Vec<sys::MlirBlock> {
    let region = ir::region(func, 0);
    let mut out = Vec::new();
    // SAFETY: walking a live region's block list.
    unsafe {
        let mut b = sys::mlirRegionGetFirstBlock(region);
        while !b.ptr.is_null() {
            out.push(b);
            b = sys::mlirBlockGetNextInRegion(b);
        }
    }
    out
}

/// A loop this pass may fuse: `affine.for` from a constant 0 to a
/// constant, step 1, without results.
fn rows_loop(op: MlirOperation) -> Option<i64> {
    // SAFETY: a live op.
    let results = unsafe { sys::mlirOperationGetNumResults(op) };
    (ir::name(op) == "affine.for" && results == 0 && ir::constant_map(op, "lowerBoundMap") == Some(0) && ir::int_attr(op, "step") == Some(1))
        .then(|| ir::constant_map(op, "upperBoundMap"))
        .flatten()
}

fn iv(lp: MlirOperation) -> MlirValue {
    ir::block_argument(ir::first_block(ir::region(lp, 0)), 0)
}

fn fuse_block(block: sys::MlirBlock) {
    let ops = ir::ops_in(block);
    let mut run: Option<(MlirOperation, i64, usize)> = None; // (fused loop, rows, nests)
    let mut between: Vec<MlirOperation> = Vec::new();
    for op in ops {
        let Some(rows) = rows_loop(op) else {
            let name = ir::name(op);
            if name == "memref.alloc" && ir::operands(op).is_empty() || name == "arith.constant" {
                between.push(op);
            } else {
                finish(&mut run);
                between.clear();
            }
            continue;
        };
        match run {
            Some((fused, r, n)) if r == rows && row_local(fused, op, rows) => {
                // What was defined between the loops moves above the run,
                // so it dominates the merged body.
                for b in between.drain(..) {
                    // SAFETY: live ops of one block; none has operands.
                    unsafe { sys::mlirOperationMoveBefore(b, fused) };
                }
                merge(fused, op);
                run = Some((fused, r, n + 1));
            }
            _ => {
                finish(&mut run);
                between.clear();
                run = Some((op, rows, 1));
            }
        }
    }
    finish(&mut run);
}

fn finish(run: &mut Option<(MlirOperation, i64, usize)>) {
    if let Some((fused, rows, n)) = run.take() {
        if n > 1 {
            let shrunk = shrink_temporaries(fused, rows);
            crate::remark(
                fused,
                &format!("strata-fuse-rows: {n} loop nests over {rows} rows fused into one; {shrunk} temporar(ies) shrunk to one row, allocated per row"),
            );
        }
    }
}

/// Every memref operand of the ops in `lp` (nested included), with
/// whether that op may write it.
fn accesses(lp: MlirOperation) -> Vec<(MlirOperation, MlirValue, bool)> {
    let mut out = Vec::new();
    for op in ir::walk(lp) {
        let name = ir::name(op);
        for (k, v) in ir::operands(op).into_iter().enumerate() {
            // SAFETY: type queries on a live value.
            if !unsafe { sys::mlirTypeIsAMemRef(ir::value_type(v)) } {
                continue;
            }
            let writes = match name.as_str() {
                "affine.load" | "memref.load" | "vector.load" => false,
                "affine.store" | "memref.store" | "vector.store" => k == 1,
                _ => true,
            };
            out.push((op, v, writes));
        }
    }
    out
}

/// Whether the access `op` to `m` is `affine.load`/`affine.store` whose
/// first index is exactly `row` and `m` has `rows` rows.
fn at_row(op: MlirOperation, m: MlirValue, row: MlirValue, rows: i64) -> bool {
    let name = ir::name(op);
    let first = match name.as_str() {
        "affine.load" => 1,
        "affine.store" => 2,
        _ => return false,
    };
    let ops = ir::operands(op);
    if ops[first - 1].ptr != m.ptr {
        return false; // a stored memref value, or another operand
    }
    let (shape, _) = ir::shape(ir::value_type(m));
    if shape.first() != Some(&rows) {
        return false;
    }
    let Some(map) = ir::attribute(op, "map") else { return false };
    // SAFETY: affine.load/store's map is an AffineMapAttr.
    unsafe {
        let map = sys::mlirAffineMapAttrGetValue(map);
        if sys::mlirAffineMapGetNumResults(map) < 1 || sys::mlirAffineMapGetNumSymbols(map) != 0 {
            return false;
        }
        let e = sys::mlirAffineMapGetResult(map, 0);
        sys::mlirAffineExprIsADim(e) && ops[first + sys::mlirAffineDimExprGetPosition(e) as usize].ptr == row.ptr
    }
}

/// Whether `next` may join the fused loop `fused`: every buffer both
/// touch, one of them writing it, is accessed row by row in both.
fn row_local(fused: MlirOperation, next: MlirOperation, rows: i64) -> bool {
    let (a, b) = (accesses(fused), accesses(next));
    let (ia, ib) = (iv(fused), iv(next));
    // Two different buffers that may be one memory (a caller's arguments)
    // cannot be followed row by row: one of them written, no fusion.
    for (_, x, wx) in &a {
        for (_, y, wy) in &b {
            if x.ptr != y.ptr && (*wx || *wy) && crate::vectorize_loops::may_alias(*x, *y) {
                return false;
            }
        }
    }
    for (_, m, _) in a.iter().chain(&b) {
        let in_a: Vec<_> = a.iter().filter(|(_, v, _)| v.ptr == m.ptr).collect();
        let in_b: Vec<_> = b.iter().filter(|(_, v, _)| v.ptr == m.ptr).collect();
        if in_a.is_empty() || in_b.is_empty() || !in_a.iter().chain(&in_b).any(|(_, _, w)| *w) {
            continue;
        }
        if !in_a.iter().all(|(op, _, _)| at_row(*op, *m, ia, rows)) || !in_b.iter().all(|(op, _, _)| at_row(*op, *m, ib, rows)) {
            return false;
        }
    }
    true
}

/// Appends `next`'s body to `fused`'s (before its terminator) and erases
/// `next`.
fn merge(fused: MlirOperation, next: MlirOperation) {
    let into = ir::first_block(ir::region(fused, 0));
    let terminator = *ir::ops_in(into).last().expect("a loop body ends in affine.yield");
    // SAFETY: live values and ops; the moved ops keep their operands,
    // `next`'s variable replaced by `fused`'s.
    unsafe {
        sys::mlirValueReplaceAllUsesOfWith(iv(next), iv(fused));
        let body = ir::ops_in(ir::first_block(ir::region(next, 0)));
        for op in &body[..body.len() - 1] {
            sys::mlirOperationMoveBefore(*op, terminator);
        }
        sys::mlirOperationDestroy(next);
    }
}

/// Shrinks every `memref.alloc` used only inside `fused` and only as
/// `%t[i, ...]` to a `1 x ...` buffer allocated at the start of each
/// iteration. Returns how many it shrank.
fn shrink_temporaries(fused: MlirOperation, rows: i64) -> usize {
    // SAFETY: queries on live IR.
    let block = unsafe { sys::mlirOperationGetBlock(fused) };
    let i = iv(fused);
    let body_start = ir::ops_in(ir::first_block(ir::region(fused, 0)))[0];
    let mut shrunk = 0;
    for alloc in ir::ops_in(block) {
        if ir::name(alloc) != "memref.alloc" || !ir::operands(alloc).is_empty() {
            continue;
        }
        let t = ir::result(alloc, 0);
        let ty = ir::value_type(t);
        if !ir::is_plain_memref(ty) {
            continue;
        }
        let users = ir::users(t);
        if users.is_empty() || !users.iter().all(|u| ir::is_within(*u, fused) && at_row(*u, t, i, rows)) {
            continue;
        }
        let (mut shape, elem) = ir::shape(ty);
        shape[0] = 1;
        let b = Builder::of_op(alloc);
        let row = ir::insert_before(body_start, b.op("memref.alloc", ir::location(alloc), &[], &[ir::memref_type(&shape, elem)], &ir::attributes(alloc).iter().map(|(n, a)| (n.as_str(), *a)).collect::<Vec<_>>(), 0));
        let row = ir::result(row, 0);
        for u in users {
            let first = if ir::name(u) == "affine.load" { 1 } else { 2 };
            // SAFETY: `u` is an affine access of `t` (checked by at_row):
            // its map's first result becomes the constant 0.
            unsafe {
                sys::mlirOperationSetOperand(u, (first - 1) as isize, row);
                let map = sys::mlirAffineMapAttrGetValue(ir::attribute(u, "map").expect("checked"));
                let n = sys::mlirAffineMapGetNumResults(map);
                let ctx = sys::mlirOperationGetContext(u);
                let mut exprs: Vec<sys::MlirAffineExpr> = (0..n).map(|r| sys::mlirAffineMapGetResult(map, r)).collect();
                exprs[0] = sys::mlirAffineConstantExprGet(ctx, 0);
                let new = sys::mlirAffineMapGet(ctx, sys::mlirAffineMapGetNumDims(map), 0, n, exprs.as_mut_ptr());
                ir::set_attribute(u, "map", sys::mlirAffineMapAttrGet(new));
            }
        }
        // SAFETY: no uses are left.
        unsafe { sys::mlirOperationDestroy(alloc) };
        shrunk += 1;
    }
    shrunk
}

