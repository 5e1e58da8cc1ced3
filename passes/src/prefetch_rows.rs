//! Part of `strata-vectorize`: while a row loop computes on one row, the
//! next row's input is prefetched, so that its memory traffic overlaps this
//! row's arithmetic instead of stalling the next row's first pass.
//!
//! Matches a vectorized elementwise loop (an `scf.for` that
//! [`crate::vectorize_loops`] made, stepping `%jv` by `W`) nested in a loop
//! over rows `%i` (an `affine.for` or `affine.parallel` with one induction
//! variable and step 1), and in it each `vector.load %x[..., %i, ..., %jv]`
//! where `%x` is a function argument (memory the kernel reads from outside:
//! a temporary it allocated is in cache already), `%i` appears exactly once
//! as a plain index over a dimension of the row loop's trip count, and the
//! row is at least [`MIN_ROW_BYTES`] long.
//!
//! Produces, before the load, `memref.prefetch %x[..., min(%i + 1, R - 1),
//! ..., %jv], read, locality<2>, data`: the same column of the next row
//! (into L2: the current row and its temporaries fill L1), clamped to the
//! last row so the address stays in the buffer. Each lane group of `W`
//! elements is at most one cache line, so one prefetch per step covers the
//! row. The parallel row loop gives each worker a contiguous block of rows
//! (strata-parallelize's outlined body runs `[lo, hi)` in order), so the
//! next row is the one this worker reads next.
//!
//! Guarantees: prefetches are hints without side effects; results are
//! unchanged.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::ir::{self, Builder};

/// Rows shorter than this are left alone: a few cache lines are fetched
/// by the hardware prefetcher as soon as the row starts.
pub const MIN_ROW_BYTES: i64 = 1024;

/// The row loop's induction variable and trip count, when `op` is a
/// one-dimensional `affine.for`/`affine.parallel` from 0, step 1, to a
/// constant.
fn row_loop(op: MlirOperation) -> Option<(MlirValue, i64)> {
    let name = ir::name(op);
    let (lb, ub) = match name.as_str() {
        "affine.for" => ("lowerBoundMap", "upperBoundMap"),
        "affine.parallel" => ("lowerBoundsMap", "upperBoundsMap"),
        _ => return None,
    };
    if ir::constant_map(op, lb)? != 0 {
        return None;
    }
    let n = ir::constant_map(op, ub)?;
    if name == "affine.for" && ir::int_attr(op, "step")? != 1 {
        return None;
    }
    if name == "affine.parallel" {
        // SAFETY: a live op's attribute.
        let steps = ir::attribute(op, "steps")?;
        if unsafe { sys::mlirArrayAttrGetNumElements(steps) } != 1 || ir::print_attr(steps) != "[1]" {
            return None;
        }
    }
    let block = ir::first_block(ir::region(op, 0));
    // SAFETY: a block query.
    if unsafe { sys::mlirBlockGetNumArguments(block) } != 1 {
        return None;
    }
    Some((ir::block_argument(block, 0), n))
}

fn is_function_argument(v: MlirValue) -> bool {
    // SAFETY: value queries on live IR.
    unsafe {
        !sys::mlirValueIsAOpResult(v) && ir::name(sys::mlirBlockGetParentOperation(sys::mlirBlockArgumentGetOwner(v))) == "func.func"
    }
}

/// Adds the next row's prefetches to the vectorized loop `vfor` (see the
/// module doc).
pub fn run(vfor: MlirOperation) {
    // The innermost enclosing loop over rows.
    let mut p = ir::parent(vfor);
    let (i, rows) = loop {
        match ir::name(p).as_str() {
            "affine.for" | "affine.parallel" => break match row_loop(p) {
                Some(r) => r,
                None => return,
            },
            "func.func" | "builtin.module" => return,
            _ => p = ir::parent(p),
        }
    };
    if rows < 2 {
        return;
    }
    let body = ir::first_block(ir::region(vfor, 0));
    let jv = ir::block_argument(body, 0);
    let b = Builder::of_op(vfor);
    let loc = ir::location(vfor);
    let mut next: Option<MlirValue> = None;
    let mut done: Vec<usize> = vec![];
    for load in ir::ops_in(body) {
        if ir::name(load) != "vector.load" {
            continue;
        }
        let ops = ir::operands(load);
        let (x, idx) = (ops[0], &ops[1..]);
        if !is_function_argument(x) || idx.last().map(|v| v.ptr) != Some(jv.ptr) || done.contains(&(x.ptr as usize)) {
            continue;
        }
        let (shape, elem) = ir::shape(ir::value_type(x));
        let Some(bits) = crate::vectorize_loops::scalar_bits(elem) else { continue };
        let row_bytes = shape.last().copied().unwrap_or(0) * bits as i64 / 8;
        let at: Vec<usize> = idx.iter().enumerate().filter(|(_, v)| v.ptr == i.ptr).map(|(k, _)| k).collect();
        let [k] = at.as_slice() else { continue };
        if row_bytes < MIN_ROW_BYTES || shape[*k] != rows {
            continue;
        }
        done.push(x.ptr as usize);
        // min(%i + 1, rows - 1), once per row, before the loop.
        let n = *next.get_or_insert_with(|| {
            let put = |op| ir::result(ir::insert_before(vfor, op), 0);
            let one = put(b.index_constant(loc, 1));
            let last = put(b.index_constant(loc, rows - 1));
            let i1 = put(b.op("arith.addi", loc, &[i, one], &[b.index_type()], &[], 0));
            put(b.op("arith.minui", loc, &[i1, last], &[b.index_type()], &[], 0))
        });
        let mut operands = vec![x];
        operands.extend(idx.iter().enumerate().map(|(m, v)| if m == *k { n } else { *v }));
        ir::insert_before(load, ir::prefetch(&b, loc, &operands, 2));
    }
    if next.is_some() {
        crate::remark(vfor, "strata-vectorize: the next row's input is prefetched while this row is computed");
    }
}
