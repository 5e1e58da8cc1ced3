//! `strata-outline-parallel-loops`: outlines each outermost `scf.parallel`
//! into a function and replaces the loop by a call to the runtime's thread
//! pool (the `runtime=pool` step of `strata-parallelize`).
//!
//! Matches an `scf.parallel` without reductions that is not nested in
//! another one (nested ones stay loops inside the outlined body: a nested
//! `parallel_for` runs inside the outer one's workers). Several dimensions
//! run as one loop over their product (each dimension's trip count is
//! captured; the body takes the indices back as the digits of the
//! iteration number, the last dimension fastest).
//!
//! Produces:
//! - `llvm.func internal @__strata_parallel_body_N(%ctx: !llvm.ptr,
//!   %begin: i64, %end: i64)`: loads every value the body uses from outside
//!   from the context struct (constants are cloned in instead), and runs
//!   `scf.for %k = begin to end { %i = lb + k * step; <body> }`;
//! - at the loop: the context struct on the stack (`llvm.alloca`, in the
//!   function's entry block, so a loop inside a sequential one does not
//!   grow the stack per trip), filled with those values, and `llvm.call @strata_parallel_for(@body, %ctx,
//!   trip_count, grain)`, `grain` from the loop's `strata.grain` attribute
//!   (else the pass's `grain` option; 0: the runtime chooses).
//!
//! A one-dimensional loop of a single trip (constant bounds) is not sent
//! to the pool: its body takes its place.
//!
//! Memrefs cross as their LLVM descriptor struct through
//! `builtin.unrealized_conversion_cast`, which the final
//! `reconcile-unrealized-casts` cancels against the memref-to-LLVM
//! conversion. Loops capturing a value of another type are left alone
//! (they run sequentially), never miscompiled.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-outline-parallel-loops",
    summary: "Outline outermost scf.parallel loops into bodies run by the thread pool (step of strata-parallelize{runtime=pool})",
    options: &[OptionSpec {
        name: "grain",
        kind: OptionKind::Int,
        default: "0",
        description: "the grain of loops without a strata.grain of their own (0: the runtime chooses)",
    }],
    status: Status::Internal,
    build: Build::Rust(|o: &PassOptions| Box::new(OutlineParallel { grain: o.int("grain") })),
};

pub const ENTRY: &str = "strata_parallel_for";

/// The outlined bodies' names: this and their number.
pub const BODY_PREFIX: &str = "__strata_parallel_body_";

#[derive(Clone, Copy)]
struct OutlineParallel {
    /// The `grain` option: what loops without a `strata.grain` get.
    grain: i64,
}

impl StrataPass for OutlineParallel {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let module = root.to_raw();
        if ir::name(module) != "builtin.module" {
            ir::emit_error(module, "'strata-outline-parallel-loops' runs on a builtin.module");
            return Err(PassFailed);
        }
        for par in ir::find(module, &["scf.parallel"]) {
            inline_single_trip(par);
        }
        let loops: Vec<MlirOperation> =
            ir::find(module, &["scf.parallel"]).into_iter().filter(|op| ir::enclosing(*op, "scf.parallel").is_none()).collect();
        let mut count = 0;
        for par in loops {
            if outline(module, par, count, self.grain) {
                count += 1;
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}


/// The value of an `arith.constant` of index type.
fn constant_index(v: MlirValue) -> Option<i64> {
    // SAFETY: value and attribute queries on live IR.
    unsafe {
        if !sys::mlirValueIsAOpResult(v) {
            return None;
        }
        let op = sys::mlirOpResultGetOwner(v);
        if ir::name(op) != "arith.constant" || !sys::mlirTypeIsAIndex(ir::value_type(v)) {
            return None;
        }
        let a = ir::attribute(op, "value")?;
        sys::mlirAttributeIsAInteger(a).then(|| sys::mlirIntegerAttrGetValueInt(a))
    }
}

/// A one-dimensional `scf.parallel` of one trip (a unit dimension of a
/// tensor op, inside a sequential loop over the others) becomes its body:
/// sending one iteration to the pool costs a dispatch per outer trip and
/// gains nothing.
fn inline_single_trip(par: MlirOperation) {
    let bounds = ir::operands(par);
    // SAFETY: a live op.
    if bounds.len() != 3 || unsafe { sys::mlirOperationGetNumResults(par) } != 0 {
        return;
    }
    let (Some(lb), Some(ub), Some(step)) = (constant_index(bounds[0]), constant_index(bounds[1]), constant_index(bounds[2])) else { return };
    if step <= 0 || ub <= lb || ub - lb > step {
        return;
    }
    let body = ir::first_block(ir::region(par, 0));
    let ops = ir::ops_in(body);
    let Some((_reduce, body_ops)) = ops.split_last() else { return };
    // SAFETY: the induction variable is the loop's only value; every op
    // moves before the loop, which is then erased.
    unsafe {
        sys::mlirValueReplaceAllUsesOfWith(ir::block_argument(body, 0), bounds[0]);
        for op in body_ops {
            sys::mlirOperationMoveBefore(*op, par);
        }
    }
    ir::replace_op(par, &[]);
}

/// The LLVM type a captured value travels as, or `None` if unsupported.
fn llvm_type(t: MlirType) -> Option<String> {
    // SAFETY: type queries on a live type.
    unsafe {
        if sys::mlirTypeIsAIndex(t) {
            return Some("i64".into());
        }
        if sys::mlirTypeIsAInteger(t) || sys::mlirTypeIsAF32(t) || sys::mlirTypeIsAF64(t) || sys::mlirTypeIsAVector(t) {
            return Some(ir::print_type(t));
        }
        if sys::mlirTypeIsAMemRef(t) {
            let rank = sys::mlirShapedTypeGetRank(t);
            return Some(if rank == 0 {
                "!llvm.struct<(ptr, ptr, i64)>".into()
            } else {
                format!("!llvm.struct<(ptr, ptr, i64, array<{rank} x i64>, array<{rank} x i64>)>")
            });
        }
    }
    None
}

/// Strips the `!llvm.` prefix of a type for use inside `!llvm.struct<(...)>`.
fn member(t: &str) -> &str {
    t.strip_prefix("!llvm.").unwrap_or(t)
}

fn outline(module: MlirOperation, par: MlirOperation, n: usize, default_grain: i64) -> bool {
    let bounds = ir::operands(par);
    // SAFETY: a live op.
    if bounds.len() % 3 != 0 || bounds.is_empty() || unsafe { sys::mlirOperationGetNumResults(par) } != 0 {
        return false; // with reductions: stays a loop
    }
    let d = bounds.len() / 3;
    let (lbs, ubs, steps) = (&bounds[..d], &bounds[d..2 * d], &bounds[2 * d..]);
    let (lb, ub, step) = (lbs[0], ubs[0], steps[0]);
    let b = Builder::of_op(par);
    let loc = ir::location(par);
    let index = b.index_type();

    // Several dimensions run as one of their product's size: each
    // dimension's trip count (none below zero), computed before the loop
    // and passed in, gives the indices back in the body.
    let dim_trips: Vec<MlirValue> = if d == 1 {
        Vec::new()
    } else {
        let zero = ir::result(ir::insert_before(par, b.index_constant(loc, 0)), 0);
        (0..d)
            .map(|i| {
                let arith = |name: &str, x: MlirValue, y: MlirValue| ir::result(ir::insert_before(par, b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
                arith("arith.maxsi", arith("arith.ceildivsi", arith("arith.subi", ubs[i], lbs[i]), steps[i]), zero)
            })
            .collect()
    };

    // Values the body uses from outside; constants are cloned, not passed.
    let mut captures: Vec<MlirValue> = lbs.iter().chain(steps).chain(&dim_trips).copied().collect();
    let mut constants: Vec<MlirValue> = Vec::new();
    for op in ir::walk(par) {
        for v in ir::operands(op) {
            if ir::defined_inside(v, par) {
                continue;
            }
            // SAFETY: a live value.
            let is_constant = unsafe { sys::mlirValueIsAOpResult(v) }
                && ir::name(ir::defining_scope(v)) == "arith.constant";
            let list = if is_constant { &mut constants } else { &mut captures };
            if !list.iter().any(|c| c.ptr == v.ptr) {
                list.push(v);
            }
        }
    }
    let mut types = Vec::new();
    for v in &captures {
        match llvm_type(ir::value_type(*v)) {
            Some(t) => types.push(t),
            None => return false,
        }
    }
    let ctx_type =
        format!("!llvm.struct<({})>", types.iter().map(|t| member(t)).collect::<Vec<_>>().join(", "));
    let ptr = b.ty("!llvm.ptr");
    let i64t = b.ty("i64");

    // The outlined body, before the function holding the loop.
    let mut holder = par;
    while !ir::parent(holder).ptr.is_null() && ir::parent(holder).ptr != module.ptr {
        holder = ir::parent(holder);
    }
    let name = format!("{BODY_PREFIX}{n}");
    let func = ir::insert_before(
        holder,
        b.op(
            "llvm.func",
            loc,
            &[],
            &[],
            &[
                ("sym_name", b.attr(&format!("\"{name}\""))),
                ("function_type", b.attr("!llvm.func<void (ptr, i64, i64)>")),
                ("linkage", b.attr("#llvm.linkage<internal>")),
            ],
            1,
        ),
    );
    let entry = ir::new_block(&[ptr, i64t, i64t], loc);
    ir::append_block(ir::region(func, 0), entry);
    let ctx_arg = ir::block_argument(entry, 0);
    let mut mapped: HashMap<usize, MlirValue> = HashMap::new();
    for (k, (v, t)) in captures.iter().zip(&types).enumerate() {
        let gep = ir::append(entry, gep_op(&b, loc, ctx_arg, &ctx_type, k, ptr));
        let loaded = ir::result(ir::append(entry, b.op("llvm.load", loc, &[ir::result(gep, 0)], &[b.ty(t)], &[], 0)), 0);
        let ty = ir::value_type(*v);
        // SAFETY: type queries.
        let value = unsafe {
            if sys::mlirTypeIsAIndex(ty) {
                ir::result(ir::append(entry, b.op("arith.index_cast", loc, &[loaded], &[index], &[], 0)), 0)
            } else if sys::mlirTypeIsAMemRef(ty) {
                ir::result(ir::append(entry, b.op("builtin.unrealized_conversion_cast", loc, &[loaded], &[ty], &[], 0)), 0)
            } else {
                loaded
            }
        };
        mapped.insert(v.ptr as usize, value);
    }
    for c in &constants {
        // SAFETY: cloning a live constant op; the clone is inserted below.
        let clone = unsafe { sys::mlirOperationClone(ir::defining_scope(*c)) };
        ir::append(entry, clone);
        mapped.insert(c.ptr as usize, ir::result(clone, 0));
    }
    let begin = ir::append(entry, b.op("arith.index_cast", loc, &[ir::block_argument(entry, 1)], &[index], &[], 0));
    let end = ir::append(entry, b.op("arith.index_cast", loc, &[ir::block_argument(entry, 2)], &[index], &[], 0));
    let one = ir::append(entry, b.constant(loc, "1 : index", index));
    let for_op = ir::append(
        entry,
        b.op("scf.for", loc, &[ir::result(begin, 0), ir::result(end, 0), ir::result(one, 0)], &[], &[], 1),
    );
    let ret = ir::append(entry, b.op("llvm.return", loc, &[], &[], &[], 0));
    let for_body = ir::new_block(&[index], loc);
    ir::append_block(ir::region(for_op, 0), for_body);
    let k = ir::block_argument(for_body, 0);
    let ib = |name: &str, x: MlirValue, y: MlirValue| ir::result(ir::append(for_body, b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    // Dimension i's position: k's digit i in the trip counts' mixed radix
    // (the last dimension fastest), then lb + position * step.
    let mut ivs = vec![k; d];
    let mut rest = k;
    for i in (0..d).rev() {
        let pos = if i == 0 {
            rest
        } else {
            let t = mapped[&(dim_trips[i].ptr as usize)];
            let p = ib("arith.remsi", rest, t);
            rest = ib("arith.divsi", rest, t);
            p
        };
        let scaled = ib("arith.muli", pos, mapped[&(steps[i].ptr as usize)]);
        ivs[i] = ib("arith.addi", mapped[&(lbs[i].ptr as usize)], scaled);
    }
    let yield_op = ir::append(for_body, b.op("scf.yield", loc, &[], &[], &[], 0));

    // Move the loop body in; it ends in `scf.reduce`, which goes away.
    let old_body = ir::first_block(ir::region(par, 0));
    let ops = ir::ops_in(old_body);
    let Some((_reduce, body_ops)) = ops.split_last() else { return false };
    for op in body_ops {
        // SAFETY: moving live ops into the new loop, before its yield.
        unsafe { sys::mlirOperationMoveBefore(*op, yield_op) };
    }
    if ir::walk(for_op).into_iter().any(ir::is_streaming_store) {
        // Streaming stores are weakly ordered: the worker's later report
        // that its share is done must not overtake them.
        ir::insert_before(ret, ir::full_fence(&b, loc));
    }
    for (i, iv) in ivs.iter().enumerate() {
        // SAFETY: every use of the old induction variables is now in `for_body`.
        unsafe { sys::mlirValueReplaceAllUsesOfWith(ir::block_argument(old_body, i as isize), *iv) };
    }
    // Uses of captured values inside the outlined function read the loaded
    // copies; uses elsewhere are untouched.
    for v in captures.iter().chain(&constants) {
        let new = mapped[&(v.ptr as usize)];
        // The uses first, then the edits: setting an operand unlinks it.
        for (owner, i) in ir::uses(*v) {
            if ir::is_within(owner, func) {
                // SAFETY: `owner` uses `v` at operand `i`; `new` is live.
                unsafe { sys::mlirOperationSetOperand(owner, i as isize, new) };
            }
        }
    }

    // The call site: context on the stack, trip count, dispatch.
    let at = |op: MlirOperation| ir::insert_before(par, op);
    // The context's slot in the function's entry block, allocated once per
    // call of the function: at the loop, inside a sequential loop, the stack
    // grew by one context per trip (70,001 trips overflowed a thread's).
    let one64 = b.op("llvm.mlir.constant", loc, &[], &[i64t], &[("value", b.attr("1 : i64"))], 0);
    let ctx = b.op("llvm.alloca", loc, &[ir::result(one64, 0)], &[ptr], &[("elem_type", b.attr(&ctx_type))], 0);
    match ir::enclosing(par, "func.func") {
        Some(f) => {
            let entry = ir::first_block(ir::region(f, 0));
            // SAFETY: inserting two detached ops at the start of a live block.
            unsafe {
                sys::mlirBlockInsertOwnedOperation(entry, 0, ctx);
                sys::mlirBlockInsertOwnedOperation(entry, 0, one64);
            }
        }
        None => {
            at(one64);
            at(ctx);
        }
    }
    let ctx = ir::result(ctx, 0);
    for (k, (v, t)) in captures.iter().zip(&types).enumerate() {
        let ty = ir::value_type(*v);
        // SAFETY: type queries.
        let value = unsafe {
            if sys::mlirTypeIsAIndex(ty) {
                ir::result(at(b.op("arith.index_cast", loc, &[*v], &[i64t], &[], 0)), 0)
            } else if sys::mlirTypeIsAMemRef(ty) {
                ir::result(at(b.op("builtin.unrealized_conversion_cast", loc, &[*v], &[b.ty(t)], &[], 0)), 0)
            } else {
                *v
            }
        };
        let gep = at(gep_op(&b, loc, ctx, &ctx_type, k, ptr));
        at(b.op("llvm.store", loc, &[value, ir::result(gep, 0)], &[], &[], 0));
    }
    let trips = if d == 1 {
        let diff = at(b.op("arith.subi", loc, &[ub, lb], &[index], &[], 0));
        ir::result(at(b.op("arith.ceildivsi", loc, &[ir::result(diff, 0), step], &[index], &[], 0)), 0)
    } else {
        dim_trips[1..].iter().fold(dim_trips[0], |acc, t| ir::result(at(b.op("arith.muli", loc, &[acc, *t], &[index], &[], 0)), 0))
    };
    let trips64 = at(b.op("arith.index_cast", loc, &[trips], &[i64t], &[], 0));
    let grain = ir::attribute(par, "strata.grain").unwrap_or_else(|| b.attr(&format!("{} : i64", default_grain.max(0))));
    let grain = at(b.op("llvm.mlir.constant", loc, &[], &[i64t], &[("value", grain)], 0));
    let fn_ptr = at(b.op("llvm.mlir.addressof", loc, &[], &[ptr], &[("global_name", b.attr(&format!("@{name}")))], 0));
    declare_entry(module, &b);
    at(b.op(
        "llvm.call",
        loc,
        &[ir::result(fn_ptr, 0), ctx, ir::result(trips64, 0), ir::result(grain, 0)],
        &[],
        &[
            ("callee", b.attr(&format!("@{ENTRY}"))),
            ("operandSegmentSizes", b.attr("array<i32: 4, 0>")),
            ("op_bundle_sizes", b.attr("array<i32>")),
        ],
        0,
    ));
    crate::remark(
        par,
        &format!(
            "strata-parallelize: parallel loop outlined into @{name} ({} value(s) captured) and run on the thread pool",
            captures.len()
        ),
    );
    ir::replace_op(par, &[]);
    true
}

fn gep_op(b: &Builder, loc: sys::MlirLocation, base: MlirValue, ctx_type: &str, k: usize, ptr: MlirType) -> MlirOperation {
    b.op(
        "llvm.getelementptr",
        loc,
        &[base],
        &[ptr],
        &[("elem_type", b.attr(ctx_type)), ("rawConstantIndices", b.attr(&format!("array<i32: 0, {k}>")))],
        0,
    )
}

/// Declares `llvm.func @strata_parallel_for(ptr, ptr, i64, i64)` once.
fn declare_entry(module: MlirOperation, b: &Builder) {
    if ir::defines_symbol(module, ENTRY) {
        return;
    }
    let body = ir::first_block(ir::region(module, 0));
    let decl = b.op(
        "llvm.func",
        ir::location(module),
        &[],
        &[],
        &[
            ("sym_name", b.attr(&format!("\"{ENTRY}\""))),
            ("function_type", b.attr("!llvm.func<void (ptr, ptr, i64, i64)>")),
        ],
        1,
    );
    match ir::ops_in(body).first() {
        Some(first) => {
            ir::insert_before(*first, decl);
        }
        None => {
            ir::append(body, decl);
        }
    }
}
