//! `strata-distinct-results` (a step of `strata-lower-to-affine`, right
//! before bufferization): a function that returns one tensor twice returns
//! two.
//!
//! Why: upstream's `buffer-results-to-out-params` crashes (a segfault)
//! when one buffer is returned twice. `strata-convert-to-linalg` gives
//! each repeated result its own copy, but elementwise fusion can repeat
//! one again (`%a` and `%a + 0` fold to the same value), so this runs once
//! more after it.
//!
//! Matches `func.return` with a static tensor or memref operand that an
//! earlier operand repeats. Produces a copy of it
//! (`bufferization.alloc_tensor` copying the tensor, or `memref.alloc` +
//! `memref.copy`) returned in its place. Guarantees every result of a
//! static shape is a distinct value.

use mlir_sys::MlirOperation;

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-distinct-results",
    summary: "Give each repeated result of a function its own copy (buffer-results-to-out-params needs distinct results)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(DistinctResults)),
};

#[derive(Clone, Copy)]
struct DistinctResults;

impl StrataPass for DistinctResults {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for ret in ir::find(root.to_raw(), &["func.return"]) {
            distinct_results(ret);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// Gives each repeated operand of `ret` (a `func.return`) its own copy.
/// Dynamic shapes are left alone: upstream hoists only static allocations,
/// and copies into each out-parameter otherwise.
pub(crate) fn distinct_results(ret: MlirOperation) {
    let b = Builder::of_op(ret);
    let loc = ir::location(ret);
    let operands = ir::operands(ret);
    for (i, v) in operands.iter().enumerate() {
        // SAFETY: value and type queries on live handles.
        let repeated = operands[..i].iter().any(|w| unsafe { mlir_sys::mlirValueEqual(*v, *w) });
        let ty = ir::value_type(*v);
        let (is_tensor, is_memref, is_static) = unsafe {
            (
                mlir_sys::mlirTypeIsARankedTensor(ty),
                mlir_sys::mlirTypeIsAMemRef(ty),
                mlir_sys::mlirTypeIsAShaped(ty) && mlir_sys::mlirShapedTypeHasStaticShape(ty),
            )
        };
        if !repeated || !is_static || !(is_tensor || is_memref) {
            continue;
        }
        let copy = if is_tensor {
            // Not a linalg copy: elementwise fusion folds identity generics.
            let segments = [("operandSegmentSizes", b.attr("array<i32: 0, 1, 0>"))];
            ir::result(ir::insert_before(ret, b.op("bufferization.alloc_tensor", loc, &[*v], &[ty], &segments, 0)), 0)
        } else {
            let segments = [("operandSegmentSizes", b.attr("array<i32: 0, 0>"))];
            let alloc = ir::result(ir::insert_before(ret, b.op("memref.alloc", loc, &[], &[ty], &segments, 0)), 0);
            ir::insert_before(ret, b.op("memref.copy", loc, &[*v, alloc], &[], &[], 0));
            alloc
        };
        // SAFETY: `ret` has operand `i`; `copy` dominates it.
        unsafe { mlir_sys::mlirOperationSetOperand(ret, i as isize, copy) };
    }
}
