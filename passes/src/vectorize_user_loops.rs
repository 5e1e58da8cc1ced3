//! The user-loop half of `strata-vectorize`: innermost `scf.for` loops a
//! user wrote (the column loop of a stencil inside `strata.parallel_for`)
//! become loops over `W` iterations at a time in the `vector` dialect.
//!
//! Why not leave them to LLVM's loop vectorizer, which does vectorize
//! them: its stores stay ordinary. A stencil over 4096 x 4096 f32 writes
//! 64 MiB, twice the last-level cache, and each ordinary store first reads
//! its line for ownership; streaming stores need vector stores on a line's
//! boundary, which only code that knows the loop can arrange (a scalar peel
//! up to the boundary). Measured in C on the Zen 4 EPYC, 2 threads, that
//! stencil with huge pages: 4.0-4.3 ms with ordinary stores, 3.3 ms with
//! streaming ones.
//!
//! Matches an `scf.for %j = %lb to %ub step 1` (the step a constant 1, no
//! iter_args) whose body holds only: `memref.load`/`memref.store` of
//! buffers defined outside the loop whose last index is `%j + c` (`%j`,
//! or `arith.addi`/`arith.subi` of `%j` and an index constant) and whose
//! other indices are defined outside the loop; loads whose indices are all
//! defined outside (one element, broadcast); `arith` and `math` ops on
//! scalars, without regions. Legal when no iteration can see another's
//! stores: each stored buffer has one store; a stored buffer is loaded
//! only at the element the store writes, before the store; a load from a
//! view of a stored buffer, or of an element fixed for the whole loop from
//! a stored buffer, refuses the loop. Buffers that may be the same memory
//! (two function arguments: [`vectorize_loops::may_alias`]) are checked at
//! run time: both must have static shapes and the identity layout, and
//! the vector loop runs only where their byte ranges do not overlap.
//!
//! Produces, before the loop: `scf.for %jv = %lb to %lb + n - n % W step
//! W` (`n = max(%ub - %lb, 0)`) computing the body on `vector<W x T>`
//! values (loads and stores at `[.., %jv + c]`, `%j` as a value becomes
//! `%jv + [0..W)`, values from outside are broadcast), in an `scf.if` on
//! the overlap checks; the original loop then runs only the leftover
//! iterations. `W` is the target's vector width over the widest element
//! type the body computes on (addresses aside). Where every stored buffer
//! is larger than the target's last-level cache, is not loaded in the loop,
//! and the loop runs inside a parallel loop (whose outlined body ends in a
//! fence, `outline_parallel`), a second branch peels scalar iterations up
//! to the first store's line boundary (a vector's bytes, at most 64) and
//! runs the vector loop with streaming (`nontemporal`, aligned) stores;
//! it is taken when every stored buffer is as far from that boundary as
//! the first.
//!
//! Guarantees the same results bit for bit: each element's operations are
//! the scalar body's, in its order.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    ir::{self, Builder},
    vectorize_loops::{self, Vectorizer},
};

/// One load or store of the loop at `[.., %j + offset]`, or (a uniform
/// load) at indices fixed for the whole loop.
struct Access {
    op: MlirOperation,
    memref: MlirValue,
    /// The indices before the last (defined outside the loop).
    fixed: Vec<MlirValue>,
    /// `c` in the last index `%j + c`; `None` for a uniform load.
    offset: Option<i64>,
    store: bool,
}

struct Plan {
    w: usize,
    accesses: Vec<Access>,
    /// Ops computing `%j + c` only for addresses: not vectorized.
    address_ops: Vec<MlirOperation>,
    /// Pairs of buffers whose byte ranges are compared at run time.
    disjoint: Vec<(MlirValue, MlirValue)>,
    /// The streaming stores' alignment in bytes, where they may stream.
    stream: Option<i64>,
}

/// Vectorizes every matching user loop under `root` at `bits` per vector;
/// `llc_bytes` is the target's last-level cache.
pub fn run(root: MlirOperation, bits: usize, llc_bytes: i64) {
    let loops: Vec<MlirOperation> = ir::find(root, &["scf.for"]);
    for lp in loops {
        if let Some(plan) = check(lp, bits, llc_bytes) {
            vectorize(lp, &plan);
        }
    }
}

/// The value of `v` where it is an `arith.constant` integer or index.
fn constant_int(v: MlirValue) -> Option<i64> {
    // SAFETY: value, op and attribute queries on live IR.
    unsafe {
        if !sys::mlirValueIsAOpResult(v) {
            return None;
        }
        let def = sys::mlirOpResultGetOwner(v);
        if ir::name(def) != "arith.constant" {
            return None;
        }
        let a = ir::attribute(def, "value")?;
        sys::mlirAttributeIsAInteger(a).then(|| sys::mlirIntegerAttrGetValueInt(a))
    }
}

/// `c` where `v` is `%j + c`: `%j` itself, or an `arith.addi`/`arith.subi`
/// of `%j` and an index constant.
fn lane_offset(v: MlirValue, j: MlirValue) -> Option<i64> {
    if v.ptr == j.ptr {
        return Some(0);
    }
    // SAFETY: value queries on live IR.
    let def = unsafe {
        if !sys::mlirValueIsAOpResult(v) {
            return None;
        }
        sys::mlirOpResultGetOwner(v)
    };
    let name = ir::name(def);
    let ops = ir::operands(def);
    if !(name == "arith.addi" || name == "arith.subi") || ops.len() != 2 {
        return None;
    }
    let (x, y) = (ops[0], ops[1]);
    match name.as_str() {
        "arith.addi" if x.ptr == j.ptr => constant_int(y),
        "arith.addi" if y.ptr == j.ptr => constant_int(x),
        "arith.subi" if x.ptr == j.ptr => constant_int(y).and_then(i64::checked_neg),
        _ => None,
    }
}

fn is_parallel(op: MlirOperation) -> bool {
    matches!(ir::name(op).as_str(), "strata.parallel_for" | "scf.parallel" | "affine.parallel")
}

fn inside_parallel(mut op: MlirOperation) -> bool {
    loop {
        op = ir::parent(op);
        if op.ptr.is_null() || ir::name(op) == "func.func" {
            return false;
        }
        if is_parallel(op) {
            return true;
        }
    }
}

/// Whether consecutive elements of the last dimension of memref type `t`
/// are adjacent in memory (what `vector.load` reads).
fn unit_last_stride(t: sys::MlirType) -> bool {
    ir::strides(t).is_some_and(|s| s.last() == Some(&1))
}

/// The element size in bytes and the total bytes of a memref with a
/// static shape and the identity layout.
fn plain_bytes(m: MlirValue) -> Option<(i64, i64)> {
    let t = ir::value_type(m);
    if !ir::is_plain_memref(t) {
        return None;
    }
    let (shape, elem) = ir::shape(t);
    let e = (vectorize_loops::scalar_bits(elem)? / 8) as i64;
    Some((e, shape.iter().product::<i64>() * e))
}

fn check(lp: MlirOperation, bits: usize, llc_bytes: i64) -> Option<Plan> {
    // SAFETY: a live op.
    if unsafe { sys::mlirOperationGetNumResults(lp) } != 0 || ir::operands(lp).len() != 3 {
        return None;
    }
    if constant_int(ir::operand(lp, 2)) != Some(1) {
        return None;
    }
    let body = ir::first_block(ir::region(lp, 0));
    let j = ir::block_argument(body, 0);
    // SAFETY: a type query.
    if !unsafe { sys::mlirTypeIsAIndex(ir::value_type(j)) } {
        return None;
    }
    let outside = |v: MlirValue| v.ptr != j.ptr && !ir::defined_inside(v, lp);
    let mut accesses = Vec::new();
    let mut widest = 0;
    for op in ir::ops_in(body) {
        let name = ir::name(op);
        // SAFETY: a live op.
        if unsafe { sys::mlirOperationGetNumRegions(op) } != 0 {
            return None;
        }
        match name.as_str() {
            "memref.load" | "memref.store" => {
                let store = name == "memref.store";
                let ops = ir::operands(op);
                let first = if store { 2 } else { 1 };
                let memref = ops[first - 1];
                let idx = &ops[first..];
                if !outside(memref) {
                    return None;
                }
                let value = if store { ops[0] } else { ir::result(op, 0) };
                let bits = vectorize_loops::scalar_bits(ir::value_type(value))?;
                // Whole bytes a power of two apart, as vector memory
                // lays them out (an i1 vector is packed bits).
                if !matches!(bits, 8 | 16 | 32 | 64) {
                    return None;
                }
                widest = widest.max(bits);
                if !store && idx.iter().all(|v| outside(*v)) {
                    accesses.push(Access { op, memref, fixed: idx.to_vec(), offset: None, store });
                    continue;
                }
                let (last, fixed) = idx.split_last()?;
                if !fixed.iter().all(|v| outside(*v)) {
                    return None;
                }
                let offset = lane_offset(*last, j)?;
                if !unit_last_stride(ir::value_type(memref)) {
                    return None;
                }
                accesses.push(Access { op, memref, fixed: fixed.to_vec(), offset: Some(offset), store });
            }
            "scf.yield" if ir::operands(op).is_empty() => {}
            n if n.starts_with("arith.") || n.starts_with("math.") => {}
            _ => return None,
        }
    }
    // What computes `%j + c` for addresses only stays scalar (the vector
    // loop computes its own `%jv + c`); the rest sets the lane width.
    let mut address_ops: Vec<MlirOperation> = Vec::new();
    let feeds_only = |v: MlirValue, ok: &dyn Fn(MlirOperation, usize) -> bool| {
        let uses = ir::uses(v);
        !uses.is_empty() && uses.iter().all(|(user, pos)| ok(*user, *pos))
    };
    let last_index = |user: MlirOperation, pos: usize| {
        let un = ir::name(user);
        (un == "memref.load" || un == "memref.store") && pos + 1 == ir::operands(user).len()
    };
    for op in ir::ops_in(body) {
        let name = ir::name(op);
        if (name == "arith.addi" || name == "arith.subi")
            && lane_offset(ir::result(op, 0), j).is_some()
            && feeds_only(ir::result(op, 0), &last_index)
        {
            address_ops.push(op);
        }
    }
    // And the constants that only those use.
    for op in ir::ops_in(body) {
        if ir::name(op) == "arith.constant"
            && feeds_only(ir::result(op, 0), &|user, _| address_ops.iter().any(|a| a.ptr == user.ptr))
        {
            address_ops.push(op);
        }
    }
    for op in ir::ops_in(body) {
        let name = ir::name(op);
        if !(name.starts_with("arith.") || name.starts_with("math.")) || address_ops.iter().any(|a| a.ptr == op.ptr) {
            continue;
        }
        // SAFETY: a live op.
        let results = unsafe { sys::mlirOperationGetNumResults(op) };
        for v in ir::operands(op).into_iter().chain((0..results).map(|i| ir::result(op, i))) {
            widest = widest.max(vectorize_loops::scalar_bits(ir::value_type(v))?);
        }
    }
    let w = bits / widest.max(8);
    if w < 2 {
        return None;
    }
    if let (Some(lb), Some(ub)) = (constant_int(ir::operand(lp, 0)), constant_int(ir::operand(lp, 1))) {
        if ub - lb < w as i64 {
            return None;
        }
    }
    // No iteration may see another's stores.
    let stores: Vec<&Access> = accesses.iter().filter(|a| a.store).collect();
    let mut disjoint: Vec<(MlirValue, MlirValue)> = Vec::new();
    let mut pair = |x: MlirValue, y: MlirValue| -> Option<()> {
        if x.ptr == y.ptr || !vectorize_loops::may_alias(x, y) {
            return Some(());
        }
        if crate::check_races::buffer_of(x).0.ptr == crate::check_races::buffer_of(y).0.ptr {
            return None; // views of one buffer: not compared here
        }
        plain_bytes(x)?;
        plain_bytes(y)?;
        if !disjoint.iter().any(|(a, b)| (a.ptr == x.ptr && b.ptr == y.ptr) || (a.ptr == y.ptr && b.ptr == x.ptr)) {
            disjoint.push((x, y));
        }
        Some(())
    };
    for (k, s) in stores.iter().enumerate() {
        if stores[..k].iter().any(|t| t.memref.ptr == s.memref.ptr) {
            return None;
        }
        for t in &stores[..k] {
            pair(s.memref, t.memref)?;
        }
        let at = |op: MlirOperation| ir::ops_in(body).iter().position(|o| o.ptr == op.ptr);
        for l in accesses.iter().filter(|a| !a.store) {
            if l.memref.ptr == s.memref.ptr {
                let same = l.offset.is_some()
                    && l.offset == s.offset
                    && l.fixed.len() == s.fixed.len()
                    && l.fixed.iter().zip(&s.fixed).all(|(a, b)| a.ptr == b.ptr);
                if !same || at(l.op) > at(s.op) {
                    return None;
                }
            } else {
                pair(s.memref, l.memref)?;
            }
        }
    }
    let stream = streams(lp, &accesses, w, llc_bytes);
    Some(Plan { w, accesses, address_ops, disjoint, stream })
}

/// The alignment streaming stores take, where they may (see the module
/// doc): every stored buffer plain, larger than the last-level cache, of
/// one element size and not loaded, and the loop inside a parallel one.
fn streams(lp: MlirOperation, accesses: &[Access], w: usize, llc_bytes: i64) -> Option<i64> {
    if !inside_parallel(lp) {
        return None;
    }
    let mut ebytes = None;
    for s in accesses.iter().filter(|a| a.store) {
        let (e, bytes) = plain_bytes(s.memref)?;
        if bytes <= llc_bytes || ebytes.is_some_and(|x| x != e) || accesses.iter().any(|a| !a.store && a.memref.ptr == s.memref.ptr) {
            return None;
        }
        ebytes = Some(e);
    }
    Some((w as i64 * ebytes?).min(64))
}

/// Index arithmetic before a fixed op or at the end of a block.
struct At<'a> {
    b: &'a Builder,
    loc: sys::MlirLocation,
    place: &'a dyn Fn(MlirOperation) -> MlirOperation,
}

impl At<'_> {
    fn put(&self, op: MlirOperation) -> MlirValue {
        ir::result((self.place)(op), 0)
    }
    fn cst(&self, v: i64) -> MlirValue {
        self.put(self.b.index_constant(self.loc, v))
    }
    fn bin(&self, name: &str, x: MlirValue, y: MlirValue) -> MlirValue {
        let t = ir::value_type(x);
        self.put(self.b.op(name, self.loc, &[x, y], &[t], &[], 0))
    }
    fn cmp(&self, pred: i64, x: MlirValue, y: MlirValue) -> MlirValue {
        let i1 = self.b.ty("i1");
        let p = ir::integer_attr(self.b.ty("i64"), pred);
        self.put(self.b.op("arith.cmpi", self.loc, &[x, y], &[i1], &[("predicate", p)], 0))
    }
    /// The byte address of `memref[fixed.., last]` (a plain memref).
    fn address(&self, memref: MlirValue, fixed: &[MlirValue], last: MlirValue) -> MlirValue {
        let index = self.b.index_type();
        let base = self.put(self.b.op("memref.extract_aligned_pointer_as_index", self.loc, &[memref], &[index], &[], 0));
        let (shape, _) = ir::shape(ir::value_type(memref));
        let (e, _) = plain_bytes(memref).expect("checked plain");
        let mut linear = last;
        let mut stride = 1;
        for (k, v) in fixed.iter().enumerate().rev() {
            stride *= shape[k + 1];
            linear = self.bin("arith.addi", linear, self.bin("arith.muli", *v, self.cst(stride)));
        }
        self.bin("arith.addi", base, self.bin("arith.muli", linear, self.cst(e)))
    }
}

/// Builds an `scf.if` on `cond` yielding one index, each branch's value
/// from `then` / `otherwise` (called with the branch's block, before its
/// yield is added).
fn branch(
    b: &Builder,
    loc: sys::MlirLocation,
    place: &dyn Fn(MlirOperation) -> MlirOperation,
    cond: MlirValue,
    then: &dyn Fn(sys::MlirBlock) -> MlirValue,
    otherwise: &dyn Fn(sys::MlirBlock) -> MlirValue,
) -> MlirValue {
    let index = b.index_type();
    let op = place(b.op("scf.if", loc, &[cond], &[index], &[], 2));
    for (region, f) in [(0, then), (1, otherwise)] {
        let blk = ir::new_block(&[], loc);
        ir::append_block(ir::region(op, region), blk);
        let v = f(blk);
        ir::append(blk, b.op("scf.yield", loc, &[v], &[], &[], 0));
    }
    ir::result(op, 0)
}

fn vectorize(lp: MlirOperation, plan: &Plan) {
    let b = Builder::of_op(lp);
    let loc = ir::location(lp);
    let index = b.index_type();
    let (lb, ub) = (ir::operand(lp, 0), ir::operand(lp, 1));
    let before = |op: MlirOperation| ir::insert_before(lp, op);
    let here = At { b: &b, loc, place: &before };
    let w = plan.w as i64;
    // Whether no two buffers that might be one overlap.
    let i1 = b.ty("i1");
    let mut disjoint = here.put(b.op("arith.constant", loc, &[], &[i1], &[("value", ir::integer_attr(i1, 1))], 0));
    for (x, y) in &plan.disjoint {
        let range = |m: MlirValue| {
            let p = here.put(b.op("memref.extract_aligned_pointer_as_index", loc, &[m], &[index], &[], 0));
            let (_, bytes) = plain_bytes(m).expect("checked plain");
            (p, here.bin("arith.addi", p, here.cst(bytes)))
        };
        let ((x0, x1), (y0, y1)) = (range(*x), range(*y));
        let apart = here.bin("arith.ori", here.cmp(ir::cmpi::ULE, x1, y0), here.cmp(ir::cmpi::ULE, y1, x0));
        disjoint = here.bin("arith.andi", disjoint, apart);
    }
    // The vector loop from `start`, at the end of `blk`; returns where it
    // stops.
    let vector_loop = |blk: sys::MlirBlock, start: MlirValue, stream: Option<i64>| -> MlirValue {
        let end_of = |op: MlirOperation| ir::append(blk, op);
        let at = At { b: &b, loc, place: &end_of };
        let n = at.bin("arith.maxsi", at.bin("arith.subi", ub, start), at.cst(0));
        let full = at.bin("arith.subi", n, at.bin("arith.remsi", n, at.cst(w)));
        let end = at.bin("arith.addi", start, full);
        let vfor = ir::append(blk, b.op("scf.for", loc, &[start, end, at.cst(w)], &[], &[], 1));
        let vbody = ir::new_block(&[index], loc);
        ir::append_block(ir::region(vfor, 0), vbody);
        let jv = ir::block_argument(vbody, 0);
        let mut v = Vectorizer::new(b, lp, loc, plan.w, vfor);
        let old = ir::first_block(ir::region(lp, 0));
        let iota = ir::insert_before(vfor, vectorize_loops::iota(&b, loc, plan.w));
        let jb = ir::result(ir::append(vbody, b.op("vector.broadcast", loc, &[jv], &[v.vty(index)], &[], 0)), 0);
        let jvec = ir::result(ir::append(vbody, b.op("arith.addi", loc, &[jb, ir::result(iota, 0)], &[v.vty(index)], &[], 0)), 0);
        v.bind(ir::block_argument(old, 0), jvec);
        let in_body = |op: MlirOperation| ir::append(vbody, op);
        let inner = At { b: &b, loc, place: &in_body };
        let lane0 = |off: i64| if off == 0 { jv } else { inner.bin("arith.addi", jv, inner.cst(off)) };
        // Loads first (no load reads what this iteration stores but its
        // own element before the store, checked), then the computation.
        for a in plan.accesses.iter().filter(|a| !a.store) {
            let elem = ir::value_type(ir::result(a.op, 0));
            let mut operands = vec![a.memref];
            operands.extend(&a.fixed);
            let value = match a.offset {
                None => {
                    let l = inner.put(b.op("memref.load", loc, &operands, &[elem], &[], 0));
                    inner.put(b.op("vector.broadcast", loc, &[l], &[v.vty(elem)], &[], 0))
                }
                Some(off) => {
                    operands.push(lane0(off));
                    inner.put(b.op("vector.load", loc, &operands, &[v.vty(elem)], &[], 0))
                }
            };
            v.bind(ir::result(a.op, 0), value);
        }
        for a in &plan.accesses {
            v.skip(a.op);
        }
        for op in &plan.address_ops {
            v.skip(*op);
        }
        v.body(old, vbody, jv);
        // The body's yield is last: the stores go before it.
        let terminator = *ir::ops_in(vbody).last().expect("the vector body ends in its yield");
        let before_yield = |op: MlirOperation| ir::insert_before(terminator, op);
        let tail = At { b: &b, loc, place: &before_yield };
        for a in plan.accesses.iter().filter(|a| a.store) {
            let off = a.offset.expect("stores are at %j + c");
            let value = v.vec(ir::operand(a.op, 0));
            let mut operands = vec![value, a.memref];
            operands.extend(&a.fixed);
            operands.push(if off == 0 { jv } else { tail.bin("arith.addi", jv, tail.cst(off)) });
            let attrs = stream.map(|align| {
                // SAFETY: a live context.
                unsafe {
                    [
                        ("nontemporal", sys::mlirBoolAttrGet(b.ctx, 1)),
                        ("alignment", ir::integer_attr(sys::mlirIntegerTypeGet(b.ctx, 64), align)),
                    ]
                }
            });
            ir::insert_before(terminator, b.op("vector.store", loc, &operands, &[], attrs.as_ref().map_or(&[][..], |a| &a[..]), 0));
        }
        end
    };
    let vector_part = |blk: sys::MlirBlock| -> MlirValue {
        let Some(align) = plan.stream else { return vector_loop(blk, lb, None) };
        let end_of = |op: MlirOperation| ir::append(blk, op);
        let at = At { b: &b, loc, place: &end_of };
        // How far each stored buffer's first element is past a boundary.
        let stores: Vec<&Access> = plan.accesses.iter().filter(|a| a.store).collect();
        let past = |a: &Access| {
            let last = at.bin("arith.addi", lb, at.cst(a.offset.expect("a store")));
            at.bin("arith.andi", at.address(a.memref, &a.fixed, last), at.cst(align - 1))
        };
        let first = past(stores[0]);
        let mut same = at.put(b.op("arith.constant", loc, &[], &[i1], &[("value", ir::integer_attr(i1, 1))], 0));
        for s in &stores[1..] {
            same = at.bin("arith.andi", same, at.cmp(ir::cmpi::EQ, past(s), first));
        }
        let (e, _) = plain_bytes(stores[0].memref).expect("checked plain");
        branch(
            &b,
            loc,
            &end_of,
            same,
            &|t| {
                let end_of = |op: MlirOperation| ir::append(t, op);
                let at = At { b: &b, loc, place: &end_of };
                let to_boundary = at.bin("arith.andi", at.bin("arith.subi", at.cst(align), first), at.cst(align - 1));
                let peel_end = at.bin("arith.minsi", at.bin("arith.addi", lb, at.bin("arith.divui", to_boundary, at.cst(e))), ub);
                // SAFETY: a live op, cloned detached, its bound set before use.
                let peel = unsafe { sys::mlirOperationClone(lp) };
                unsafe { sys::mlirOperationSetOperand(peel, 1, peel_end) };
                ir::append(t, peel);
                vector_loop(t, peel_end, Some(align))
            },
            &|o| vector_loop(o, lb, None),
        )
    };
    let rest = branch(&b, loc, &before, disjoint, &vector_part, &|_| lb);
    // SAFETY: operand 0 of the live loop is its lower bound.
    unsafe { sys::mlirOperationSetOperand(lp, 0, rest) };
    crate::remark(
        lp,
        &format!(
            "strata-vectorize: loop over %j vectorized, {} lanes; leftover iterations stay scalar{}{}",
            plan.w,
            if plan.disjoint.is_empty() {
                String::new()
            } else {
                format!("; {} pair(s) of buffers checked apart at run time", plan.disjoint.len())
            },
            if plan.stream.is_some() { "; streaming stores after a scalar peel to the line boundary" } else { "" }
        ),
    );
}
