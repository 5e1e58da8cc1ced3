//! `strata-instrument-races`: the compile-time half of
//! `--strata-races=runtime`, which finds the races the static check could
//! only warn about (indirect indices, say) while the kernel runs.
//!
//! Matches every outermost `strata.parallel_for`. Produces, around it,
//! `func.call @strata_race_begin(line, col)` and `@strata_race_end()`, and
//! before each `memref.load` and `memref.store` in its body (nested loops
//! included) `func.call @strata_race_access(buffer, element, iteration,
//! write)`: the buffer's aligned address, the element's linear index
//! (`offset + sum(index * stride)`), the loop's induction variable and
//! whether it stores. The runtime (`strata_runtime::race`) keeps the shadow
//! table and reports the first conflicting pair of iterations.
//!
//! Only the accesses `strata-check-races` cannot prove independent of every
//! other access are watched ([`crate::check_races::watched_accesses`]):
//! a race is a pair, and a pair proven independent cannot race, so
//! watching the rest finds nothing and only costs. Why it matters: each
//! watched access is a call, which keeps LLVM from vectorizing the loop;
//! a body the check proves race-free (`y[i] = exp(x[i]) * a[i] + b[i]`)
//! runs at full speed, and a histogram watches its bins but not the
//! values it reads.
//!
//! Assumes buffers allocated inside the body are private (they are not
//! instrumented). Nested loops' accesses count for the outer loop's
//! iteration: races between two iterations of an inner `parallel_for` of
//! one outer iteration are not looked for. Guarantees: the kernel computes
//! what it did; it only gets slower.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-instrument-races",
    summary: "Instrument loads and stores of parallel_for bodies for the run-time race checker (--strata-races=runtime)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(InstrumentRaces)),
};

/// The runtime's entry points, and their types.
const HOOKS: [(&str, &str); 3] = [
    ("strata_race_begin", "(i64, i64) -> ()"),
    ("strata_race_access", "(i64, i64, i64, i32) -> ()"),
    ("strata_race_end", "() -> i32"),
];

#[derive(Clone, Copy)]
struct InstrumentRaces;

impl StrataPass for InstrumentRaces {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let module = root.to_raw();
        if ir::name(module) != "builtin.module" {
            ir::emit_error(module, "'strata-instrument-races' runs on a builtin.module");
            return Err(PassFailed);
        }
        let loops: Vec<MlirOperation> =
            ir::find(module, &["strata.parallel_for"]).into_iter().filter(|op| !nested(*op)).collect();
        if loops.is_empty() {
            return Ok(());
        }
        declare_hooks(module);
        for lp in loops {
            instrument(lp);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

fn nested(op: MlirOperation) -> bool {
    let mut p = ir::parent(op);
    while !p.ptr.is_null() {
        if ir::name(p) == "strata.parallel_for" {
            return true;
        }
        p = ir::parent(p);
    }
    false
}

fn declare_hooks(module: MlirOperation) {
    let b = Builder::of_op(module);
    let body = ir::first_block(ir::region(module, 0));
    let existing: Vec<String> = ir::ops_in(body)
        .into_iter()
        .filter_map(|op| ir::attribute(op, "sym_name"))
        // SAFETY: sym_name is a string attribute.
        .map(|a| ir::string_of(unsafe { sys::mlirStringAttrGetValue(a) }))
        .collect();
    for (name, ty) in HOOKS {
        if existing.iter().any(|e| e == name) {
            continue;
        }
        let f = b.op(
            "func.func",
            ir::location(module),
            &[],
            &[],
            &[
                ("sym_name", b.attr(&format!("\"{name}\""))),
                ("function_type", b.attr(ty)),
                ("sym_visibility", b.attr("\"private\"")),
            ],
            1,
        );
        ir::append(body, f);
    }
}

fn call(b: &Builder, loc: sys::MlirLocation, name: &str, args: &[MlirValue], results: &[sys::MlirType]) -> MlirOperation {
    b.op("func.call", loc, args, results, &[("callee", b.attr(&format!("@{name}")))], 0)
}

fn instrument(lp: MlirOperation) {
    let b = Builder::of_op(lp);
    let loc = ir::location(lp);
    let i64t = b.ty("i64");
    let i32t = b.ty("i32");
    // SAFETY: location queries on a live location.
    let (line, col) = unsafe {
        if sys::mlirLocationIsAFileLineColRange(loc) {
            (sys::mlirLocationFileLineColRangeGetStartLine(loc) as i64, sys::mlirLocationFileLineColRangeGetStartColumn(loc) as i64)
        } else {
            (0, 0)
        }
    };
    let before = |op: MlirOperation| ir::insert_before(lp, op);
    let line_v = ir::result(before(b.constant(loc, &format!("{line} : i64"), i64t)), 0);
    let col_v = ir::result(before(b.constant(loc, &format!("{col} : i64"), i64t)), 0);
    before(call(&b, loc, "strata_race_begin", &[line_v, col_v], &[]));
    // SAFETY: `lp` is in a block; the end hook goes right after it.
    unsafe {
        let end = call(&b, loc, "strata_race_end", &[], &[i32t]);
        sys::mlirBlockInsertOwnedOperationAfter(sys::mlirOperationGetBlock(lp), lp, end);
    }

    let iv = ir::block_argument(ir::first_block(ir::region(lp, 0)), 0);
    let watched = crate::check_races::watched_accesses(lp);
    for op in ir::walk(lp) {
        if watched.as_ref().is_some_and(|w| !w.contains(&(op.ptr as usize))) {
            continue;
        }
        let name = ir::name(op);
        let (mem_at, write) = match name.as_str() {
            "memref.load" => (0, false),
            "memref.store" => (1, true),
            _ => continue,
        };
        let operands = ir::operands(op);
        let memref = operands[mem_at];
        if ir::defined_inside(memref, lp) {
            continue; // private to an iteration
        }
        let indices = &operands[mem_at + 1..];
        let at = |new: MlirOperation| ir::insert_before(op, new);
        let oloc = ir::location(op);
        let (aligned, linear) = ir::element_position(op, memref, indices);
        let cast = |v: MlirValue| ir::result(at(b.op("arith.index_cast", oloc, &[v], &[i64t], &[], 0)), 0);
        let (buffer, element, iteration) = (cast(aligned), cast(linear), cast(iv));
        let flag = ir::result(at(b.constant(oloc, &format!("{} : i32", i32::from(write)), i32t)), 0);
        at(call(&b, oloc, "strata_race_access", &[buffer, element, iteration, flag], &[]));
    }
}
