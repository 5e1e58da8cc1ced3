//! `strata-instrument-timers`: times each top-level op of a kernel, so that
//! `strata-tune` can say how long each of the user's ops took, not only the
//! whole call.
//!
//! Matches the ops directly in the body (any of its blocks) of every
//! public function that do work: ops with regions (loops) and calls (the thread pool's
//! `strata_parallel_for`, a contraction's kernel). Produces, around each,
//! `func.call @strata_timer_begin(%id)` before and
//! `func.call @strata_timer_end(%id)` after, where `%id` is the source
//! position the op carries, `line << 20 | column` (the first file position
//! of a fused or named location; 0 for none), so that the timer names the
//! user's op whatever the pipeline made of it. Runs last, right before
//! `strata-lower-to-llvm`, on the code that will run: the loops are final,
//! and the calls cannot move code across them any more.
//!
//! The runtime (`strata_runtime::timers`) adds the time to its id in a
//! table of the calling thread (outlined loop bodies run on the pool's
//! threads, but the calls that start them return on this one); only the
//! outermost timer counts, so a timed call of a public function whose ops
//! are timed counts once. Assumes no function of the module is named
//! `strata_timer_begin` or `strata_timer_end` (where one is, nothing is
//! timed). Guarantees the kernel computes what it did, a few tens of
//! nanoseconds slower per timed op.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-instrument-timers",
    summary: "Time each top-level op of every public function by its source position (strata-tune's per-op times)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(InstrumentTimers)),
};

/// The runtime's entry points.
pub const BEGIN: &str = "strata_timer_begin";
pub const END: &str = "strata_timer_end";

/// The timer id of a source position.
pub fn timer_id(line: u32, col: u32) -> i64 {
    (i64::from(line) << 20) | i64::from(col.min((1 << 20) - 1))
}

/// The line and column of a timer id.
pub fn position(id: i64) -> (u32, u32) {
    ((id >> 20) as u32, (id & ((1 << 20) - 1)) as u32)
}

#[derive(Clone, Copy)]
struct InstrumentTimers;

impl StrataPass for InstrumentTimers {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let module = root.to_raw();
        if ir::name(module) != "builtin.module" {
            ir::emit_error(module, "'strata-instrument-timers' runs on a builtin.module");
            return Err(PassFailed);
        }
        let mut timed = Vec::new();
        for f in ir::children(module) {
            if !is_public_definition(f) {
                continue;
            }
            // Every block of the body.
            timed.extend(ir::children(f).into_iter().filter(|op| does_work(*op)));
        }
        // A function of the module's own with a runtime entry's name: the
        // calls would not be ours, so nothing is timed.
        if timed.is_empty() || [BEGIN, END].iter().any(|n| ir::defines_symbol(module, n)) {
            return Ok(());
        }
        declare(module);
        for op in timed {
            wrap(op);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// A `func.func` or `llvm.func` with a body and public visibility.
fn is_public_definition(f: MlirOperation) -> bool {
    let name = ir::name(f);
    if name != "func.func" && name != "llvm.func" {
        return false;
    }
    let private = ir::attribute(f, "sym_visibility").is_some_and(|a| ir::print_attr(a).contains("private"));
    // SAFETY: a live op with one region.
    let empty = unsafe { sys::mlirRegionGetFirstBlock(sys::mlirOperationGetRegion(f, 0)).ptr.is_null() };
    let internal = ir::symbol_name(f).is_some_and(|s| s.starts_with("__strata"));
    !private && !empty && !internal
}

/// A loop or a call. (No call is to the timers yet: a module that defines
/// them is left alone.)
fn does_work(op: MlirOperation) -> bool {
    // SAFETY: a live op.
    let regions = unsafe { sys::mlirOperationGetNumRegions(op) };
    regions > 0 || matches!(ir::name(op).as_str(), "func.call" | "llvm.call")
}

/// The first file position in `loc`.
fn file_position(loc: sys::MlirLocation) -> Option<(u32, u32)> {
    // SAFETY: queries on a live location and its parts.
    unsafe {
        if sys::mlirLocationIsAFileLineColRange(loc) {
            return Some((
                sys::mlirLocationFileLineColRangeGetStartLine(loc) as u32,
                sys::mlirLocationFileLineColRangeGetStartColumn(loc) as u32,
            ));
        }
        if sys::mlirLocationIsAName(loc) {
            return file_position(sys::mlirLocationNameGetChildLoc(loc));
        }
        if sys::mlirLocationIsACallSite(loc) {
            return file_position(sys::mlirLocationCallSiteGetCallee(loc));
        }
        if sys::mlirLocationIsAFused(loc) {
            let n = sys::mlirLocationFusedGetNumLocations(loc) as usize;
            let mut parts = vec![sys::mlirLocationUnknownGet(sys::mlirLocationGetContext(loc)); n];
            sys::mlirLocationFusedGetLocations(loc, parts.as_mut_ptr());
            return parts.into_iter().find_map(file_position);
        }
    }
    None
}

fn declare(module: MlirOperation) {
    let b = Builder::of_op(module);
    let body = ir::first_block(ir::region(module, 0));
    // SAFETY: a live context.
    let i64t = unsafe { sys::mlirIntegerTypeGet(b.ctx, 64) };
    for name in [BEGIN, END] {
        // SAFETY: a live context and argument type.
        let ty = unsafe { sys::mlirTypeAttrGet(sys::mlirFunctionTypeGet(b.ctx, 1, &i64t, 0, std::ptr::null())) };
        // SAFETY: live handles; the strings outlive the calls.
        let (sym, private) =
            unsafe { (sys::mlirStringAttrGet(b.ctx, ir::sref(name)), sys::mlirStringAttrGet(b.ctx, ir::sref("private"))) };
        let f = b.op("func.func", ir::location(module), &[], &[], &[("sym_name", sym), ("function_type", ty), ("sym_visibility", private)], 1);
        ir::append(body, f);
    }
}

fn wrap(op: MlirOperation) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    // SAFETY: a live context.
    let i64t = unsafe { sys::mlirIntegerTypeGet(b.ctx, 64) };
    let id = file_position(loc).map_or(0, |(line, col)| timer_id(line, col));
    let constant = ir::insert_before(op, b.op("arith.constant", loc, &[], &[i64t], &[("value", ir::integer_attr(i64t, id))], 0));
    let id: MlirValue = ir::result(constant, 0);
    // SAFETY: a live context; the name outlives the call.
    let callee = |name: &str| unsafe { sys::mlirFlatSymbolRefAttrGet(b.ctx, ir::sref(name)) };
    ir::insert_before(op, b.op("func.call", loc, &[id], &[], &[("callee", callee(BEGIN))], 0));
    let end = b.op("func.call", loc, &[id], &[], &[("callee", callee(END))], 0);
    // SAFETY: `op` is in a block; the end call goes right after it.
    unsafe { sys::mlirBlockInsertOwnedOperationAfter(sys::mlirOperationGetBlock(op), op, end) };
}
