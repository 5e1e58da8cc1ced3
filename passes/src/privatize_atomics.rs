//! `strata-privatize-atomics`: a `strata.parallel_for` whose iterations
//! combine into a small buffer with `memref.atomic_rmw` (a histogram, a
//! scatter-add into a few bins) updates a private copy per chunk instead,
//! and merges each copy into the buffer once.
//!
//! Matches a `strata.parallel_for` without `reduce(...)` results in whose
//! body every use of one buffer `%h`, defined outside the loop, and of
//! every view of `%h`'s memory, is a `memref.atomic_rmw` of one reduction
//! kind (add, mul, min, max, and, or, xor; not `assign`) whose result is
//! unused, under sequential control flow only (`scf.for`, `scf.if`, ...:
//! not in a nested parallel loop, whose iterations would share the copy),
//! and no other buffer is the target of an atomic nor a call's operand.
//! `%h` has a static shape of at most [`MAX_PRIVATE_BYTES`] of integers of
//! 8 to 64 bits or floats: a private copy must stay in the L1 cache, or
//! the copies cost more in misses than the atomics they replace.
//!
//! Produces, in place of the loop, an `scf.if` on the trip count:
//! - when the loop runs at least `4 x elements of %h` updates per chunk
//!   (the cost rule: a chunk fills and merges every element of its copy
//!   once, so it pays for itself only when it runs a few times as many
//!   updates as the copy has elements), a `strata.parallel_for` over
//!   `4 x the target's cores` chunks, grain 1; in each chunk, a
//!   64-byte-aligned `memref.alloc` of `%h`'s shape filled with the kind's
//!   identity, the chunk's share of the iterations as an `scf.for` in
//!   which each atomic becomes a plain load, combine and store of the
//!   private copy, then one `memref.atomic_rmw` per element into `%h`,
//!   and the `memref.dealloc`;
//! - otherwise the loop as it was, so a short loop with a heavy body keeps
//!   all its parallelism.
//!
//! So the hot loop has no atomic instruction and no two threads write one
//! cache line; contention on `%h` drops from one atomic per iteration to
//! one per element per chunk.
//!
//! Assumes what `strata-check-races` assumes: distinct function arguments
//! do not share memory (views of one buffer are traced to it, and any
//! access through one keeps the loop as it is). Two atomic targets are
//! left alone, since they might be one buffer. Guarantees: integer results
//! are exact; float results are the same combination in another
//! association, as the atomics already allowed (their order is the
//! threads'); the identities (`-0.0` for an add, NaN for `maxnumf`) leave
//! every element, signed zeros and NaNs included, as the atomics would.

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
    target::Target,
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-privatize-atomics",
    summary: "Atomic updates of a small buffer in a strata.parallel_for as a private copy per chunk, merged once (step of strata-parallelize)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(PrivatizeAtomics)),
};

/// The largest buffer copied per chunk: half of the smallest L1d of the
/// x86 targets we generate for, so the copy and the streamed input share it.
pub const MAX_PRIVATE_BYTES: i64 = 16 * 1024;

#[derive(Clone, Copy)]
struct PrivatizeAtomics;

impl StrataPass for PrivatizeAtomics {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let max_chunks = 4 * Target::of_module(root.to_raw()).cores.max(1);
        for op in ir::find(root.to_raw(), &["strata.parallel_for"]) {
            if let Some(plan) = plan(op) {
                crate::remark(
                    op,
                    &format!(
                        "strata-privatize-atomics: {} atomic update(s) of a {}-element buffer run on a private copy per chunk ({max_chunks} chunks), merged once, when the loop has at least {} iterations",
                        plan.atomics.len(),
                        plan.elements,
                        4 * plan.elements * max_chunks
                    ),
                );
                privatize(op, &plan, max_chunks);
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// A reduction kind of `memref.atomic_rmw`, as its `kind` property numbers
/// it (`arith::AtomicRMWKind`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    AddF,
    AddI,
    AndI,
    MaximumF,
    MaxNumF,
    MaxS,
    MaxU,
    MinimumF,
    MinNumF,
    MinS,
    MinU,
    MulF,
    MulI,
    OrI,
    XorI,
}

impl Kind {
    /// `None` for `assign` (not a reduction) and unknown values.
    fn from_property(v: i64) -> Option<Kind> {
        use Kind::*;
        Some(match v {
            0 => AddF,
            1 => AddI,
            2 => AndI,
            4 => MaximumF,
            5 => MaxNumF,
            6 => MaxS,
            7 => MaxU,
            8 => MinimumF,
            9 => MinNumF,
            10 => MinS,
            11 => MinU,
            12 => MulF,
            13 => MulI,
            14 => OrI,
            15 => XorI,
            _ => return None,
        })
    }

    /// The `arith` op that combines a stored value with an update.
    fn combine(self) -> &'static str {
        use Kind::*;
        match self {
            AddF => "arith.addf",
            AddI => "arith.addi",
            AndI => "arith.andi",
            MaximumF => "arith.maximumf",
            MaxNumF => "arith.maxnumf",
            MaxS => "arith.maxsi",
            MaxU => "arith.maxui",
            MinimumF => "arith.minimumf",
            MinNumF => "arith.minnumf",
            MinS => "arith.minsi",
            MinU => "arith.minui",
            MulF => "arith.mulf",
            MulI => "arith.muli",
            OrI => "arith.ori",
            XorI => "arith.xori",
        }
    }

    /// The identity of the combine, as the value `splat_constant` takes
    /// (an integer's all-ones is -1).
    fn identity(self, ty: MlirType) -> f64 {
        use Kind::*;
        // SAFETY: a live integer or float type.
        let bits = unsafe { sys::mlirTypeIsAInteger(ty).then(|| sys::mlirIntegerTypeGetWidth(ty)) };
        let (smin, smax) = match bits {
            Some(w) if w < 64 => (-(1i64 << (w - 1)) as f64, ((1i64 << (w - 1)) - 1) as f64),
            _ => (i64::MIN as f64, i64::MAX as f64),
        };
        match self {
            // -0.0 + x is x for every x; 0.0 + -0.0 would be 0.0.
            AddF => -0.0,
            AddI | OrI | XorI | MaxU => 0.0,
            MulF | MulI => 1.0,
            AndI | MinU => -1.0,
            MaximumF => f64::NEG_INFINITY,
            MinimumF => f64::INFINITY,
            // maxnum and minnum return the other operand of a NaN, so NaN
            // is their identity (an infinity would replace a NaN element).
            MaxNumF | MinNumF => f64::NAN,
            MaxS => smin,
            MinS => smax,
        }
    }
}

/// What one loop privatizes.
struct Plan {
    buffer: MlirValue,
    kind: Kind,
    shape: Vec<i64>,
    elements: i64,
    atomics: Vec<MlirOperation>,
}

fn plan(op: MlirOperation) -> Option<Plan> {
    if ir::operands(op).len() != 3 {
        return None; // a reducing loop: strata-lower-parallel-reductions owns it
    }
    let atomics: Vec<MlirOperation> = ir::find(op, &["memref.atomic_rmw"]);
    let first = *atomics.first()?;
    let buffer = ir::operand(first, 1);
    if ir::defined_inside(buffer, op) {
        return None;
    }
    let kind = Kind::from_property(ir::int_attr(first, "kind")?)?;
    for a in &atomics {
        let direct = sequentially_inside(*a, op);
        let same = ir::operand(*a, 1).ptr == buffer.ptr && ir::int_attr(*a, "kind").and_then(Kind::from_property) == Some(kind);
        // SAFETY: a live result.
        let unused = unsafe { sys::mlirValueGetFirstUse(ir::result(*a, 0)) }.ptr.is_null();
        if !(direct && same && unused) {
            return None;
        }
    }
    // Every use of the buffer's memory inside the loop, through any view,
    // is one of those atomics; no call receives a buffer.
    let memory = crate::check_races::buffer_of(buffer).0;
    for inner in ir::walk(op) {
        let is_atomic = atomics.iter().any(|a| a.ptr == inner.ptr);
        for v in ir::operands(inner) {
            // SAFETY: a live type.
            if !unsafe { sys::mlirTypeIsAMemRef(ir::value_type(v)) } {
                continue;
            }
            if ir::name(inner).contains("call") || (crate::check_races::buffer_of(v).0.ptr == memory.ptr && !(is_atomic && v.ptr == buffer.ptr)) {
                return None;
            }
        }
    }
    let ty = ir::value_type(buffer);
    // SAFETY: a live type.
    if !unsafe { sys::mlirTypeIsAMemRef(ty) } {
        return None;
    }
    let (shape, elem) = ir::shape(ty);
    if shape.iter().any(|d| *d <= 0) {
        return None; // dynamic (or empty) shapes: the copy's size is unknown
    }
    let elements: i64 = shape.iter().product();
    // SAFETY: a live type.
    let bytes = unsafe {
        if sys::mlirTypeIsAInteger(elem) && matches!(sys::mlirIntegerTypeGetWidth(elem), 8 | 16 | 32 | 64) {
            sys::mlirIntegerTypeGetWidth(elem) as i64 / 8
        } else if sys::mlirTypeIsAFloat(elem) && matches!(sys::mlirFloatTypeGetWidth(elem), 16 | 32 | 64) {
            sys::mlirFloatTypeGetWidth(elem) as i64 / 8
        } else {
            return None;
        }
    };
    if elements * bytes > MAX_PRIVATE_BYTES {
        return None;
    }
    Some(Plan { buffer, kind, shape, elements, atomics })
}

/// Whether `op` is inside `lp` under sequential control flow only: a
/// nested parallel loop (or an op unknown here) would run iterations that
/// share the chunk's copy at once.
fn sequentially_inside(op: MlirOperation, lp: MlirOperation) -> bool {
    const SEQUENTIAL: [&str; 8] =
        ["scf.for", "scf.if", "scf.while", "scf.execute_region", "scf.index_switch", "affine.for", "affine.if", "memref.alloca_scope"];
    let mut p = ir::parent(op);
    while !p.ptr.is_null() && p.ptr != lp.ptr {
        if !SEQUENTIAL.contains(&ir::name(p).as_str()) {
            return false;
        }
        p = ir::parent(p);
    }
    !p.ptr.is_null()
}

/// Appends nested `scf.for` loops over every element of `shape` to
/// `block`, with `body` filling the innermost one from its indices.
fn for_each_element(
    b: &Builder,
    loc: sys::MlirLocation,
    block: sys::MlirBlock,
    shape: &[i64],
    indices: &mut Vec<MlirValue>,
    body: &mut dyn FnMut(sys::MlirBlock, &[MlirValue]),
) {
    let Some((d, rest)) = shape.split_first() else {
        body(block, indices);
        return;
    };
    let lo = ir::result(ir::append(block, b.index_constant(loc, 0)), 0);
    let hi = ir::result(ir::append(block, b.index_constant(loc, *d)), 0);
    let one = ir::result(ir::append(block, b.index_constant(loc, 1)), 0);
    let l = ir::append(block, b.op("scf.for", loc, &[lo, hi, one], &[], &[], 1));
    let inner = ir::new_block(&[b.index_type()], loc);
    ir::append_block(ir::region(l, 0), inner);
    indices.push(ir::block_argument(inner, 0));
    for_each_element(b, loc, inner, rest, indices, body);
    indices.pop();
    ir::append(inner, b.op("scf.yield", loc, &[], &[], &[], 0));
}

fn privatize(op: MlirOperation, plan: &Plan, max_chunks: i64) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    let at = |new: MlirOperation| ir::insert_before(op, new);
    let operands = ir::operands(op);
    let (lb, ub, step) = (operands[0], operands[1], operands[2]);
    let index = b.index_type();
    let cst = |v: i64| ir::result(at(b.index_constant(loc, v)), 0);
    let arith = |name: &str, x: MlirValue, y: MlirValue| ir::result(at(b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    let (c0, c1) = (cst(0), cst(1));

    // trip = max(ceil((ub - lb) / step), 0): privatized when trip >=
    // 4 x elements x C, the loop as it was otherwise.
    let trip = arith("arith.maxsi", arith("arith.ceildivsi", arith("arith.subi", ub, lb), step), c0);
    let i1 = b.ty("i1");
    let sge = ir::integer_attr(b.ty("i64"), ir::cmpi::SGE);
    let enough = ir::result(at(b.op("arith.cmpi", loc, &[trip, cst(4 * plan.elements * max_chunks)], &[i1], &[("predicate", sge)], 0)), 0);
    // SAFETY: a live op; the clone is inserted below.
    let as_written = unsafe { sys::mlirOperationClone(op) };
    let guard = at(b.op("scf.if", loc, &[enough], &[], &[], 2));
    for (r, moved) in [(0, op), (1, as_written)] {
        let block = ir::new_block(&[], loc);
        ir::append_block(ir::region(guard, r), block);
        let end = ir::append(block, b.op("scf.yield", loc, &[], &[], &[], 0));
        if r == 0 {
            // SAFETY: both ops are live; the loop moves into the branch.
            unsafe { sys::mlirOperationMoveBefore(moved, end) };
        } else {
            ir::insert_before(end, moved);
        }
    }
    let at = |new: MlirOperation| ir::insert_before(op, new);
    let chunks = ir::result(at(b.index_constant(loc, max_chunks)), 0);
    let per = ir::result(at(b.op("arith.ceildivsi", loc, &[trip, chunks], &[index], &[], 0)), 0);

    let outer = at(b.op("strata.parallel_for", loc, &[c0, chunks, c1], &[], &[("grain", ir::integer_attr(b.ty("i64"), 1))], 1));
    let ob = ir::new_block(&[index], loc);
    ir::append_block(ir::region(outer, 0), ob);
    let c = ir::block_argument(ob, 0);
    let iarith = |block: sys::MlirBlock, name: &str, x: MlirValue, y: MlirValue| {
        ir::result(ir::append(block, b.op(name, loc, &[x, y], &[index], &[], 0)), 0)
    };
    let lo = iarith(ob, "arith.muli", c, per);
    let hi = iarith(ob, "arith.minsi", iarith(ob, "arith.addi", lo, per), trip);

    // The private copy, filled with the identity.
    let (_, elem) = ir::shape(ir::value_type(plan.buffer));
    let private_type = ir::memref_type(&plan.shape, elem);
    let alloc_attrs = [
        ("operandSegmentSizes", b.attr("array<i32: 0, 0>")),
        ("alignment", ir::integer_attr(b.ty("i64"), 64)),
    ];
    let private = ir::result(ir::append(ob, b.op("memref.alloc", loc, &[], &[private_type], &alloc_attrs, 0)), 0);
    let identity = ir::result(ir::append(ob, b.splat_constant(loc, elem, plan.kind.identity(elem))), 0);
    for_each_element(&b, loc, ob, &plan.shape, &mut Vec::new(), &mut |block, idx| {
        let mut operands = vec![identity, private];
        operands.extend(idx);
        ir::append(block, b.op("memref.store", loc, &operands, &[], &[], 0));
    });

    // The chunk's iterations, each atomic a plain update of the copy.
    let inner = ir::append(ob, b.op("scf.for", loc, &[lo, hi, c1], &[], &[], 1));
    let fb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(inner, 0), fb);
    let t = ir::block_argument(fb, 0);
    let i = iarith(fb, "arith.addi", lb, iarith(fb, "arith.muli", t, step));
    let body = ir::first_block(ir::region(op, 0));
    // SAFETY: both values are live; the body's uses of its argument move.
    unsafe { sys::mlirValueReplaceAllUsesOfWith(ir::block_argument(body, 0), i) };
    for o in ir::ops_in(body) {
        if ir::name(o) == "strata.yield" {
            continue;
        }
        // SAFETY: moves a live op from the old body into the new one.
        unsafe { sys::mlirOperationRemoveFromParent(o) };
        ir::append(fb, o);
    }
    ir::append(fb, b.op("scf.yield", loc, &[], &[], &[], 0));
    let kind = ir::attribute(plan.atomics[0], "kind").expect("plan read the kind");
    for a in &plan.atomics {
        let aloc = ir::location(*a);
        let before = |new: MlirOperation| ir::insert_before(*a, new);
        let value = ir::operand(*a, 0);
        let mut address = vec![private];
        address.extend(&ir::operands(*a)[2..]);
        let old = ir::result(before(b.op("memref.load", aloc, &address, &[elem], &[], 0)), 0);
        let new = ir::result(before(b.op(plan.kind.combine(), aloc, &[old, value], &[elem], &[], 0)), 0);
        let mut store = vec![new];
        store.extend(&address);
        before(b.op("memref.store", aloc, &store, &[], &[], 0));
        // SAFETY: its result has no uses (checked by `plan`).
        unsafe { sys::mlirOperationDestroy(*a) };
    }

    // Merge the copy: one atomic per element.
    for_each_element(&b, loc, ob, &plan.shape, &mut Vec::new(), &mut |block, idx| {
        let mut address = vec![private];
        address.extend(idx);
        let v = ir::result(ir::append(block, b.op("memref.load", loc, &address, &[elem], &[], 0)), 0);
        let mut operands = vec![v, plan.buffer];
        operands.extend(idx);
        ir::append(block, b.op("memref.atomic_rmw", loc, &operands, &[elem], &[("kind", kind)], 0));
    });
    ir::append(ob, b.op("memref.dealloc", loc, &[private], &[], &[], 0));
    ir::append(ob, b.op("strata.yield", loc, &[], &[], &[], 0));
    ir::replace_op(op, &[]);
}
