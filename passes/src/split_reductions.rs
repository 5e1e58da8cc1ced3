//! Long reductions split into chunks for the thread pool, a step of
//! `strata-vectorize` (before the in-place reduction vectorizer of
//! [`crate::vectorize_loops`]).
//!
//! Matches a perfect nest of `affine.for` loops (constant bounds from 0,
//! step 1, no results; each body only the next loop) whose innermost loop
//! is a reduction [`crate::vectorize_loops::match_reduction`] accepts
//! (`out[u] = combine(out[u], f(x[.., j]))`, `u` the same in every
//! iteration of the nest), with at least [`MIN_SPLIT`] elements to reduce
//! into each output element. The nest is either in no parallel loop at all
//! (a sum of everything, of any rank), or the whole body, after stores of
//! the identity into `out[u]`, of a one-dimensional `affine.parallel` of
//! fewer iterations than there are chunks (a reduction of a few long rows),
//! itself in no parallel loop. Anything else (rows that are many enough to
//! keep the workers busy, a fused row loop) is left to the in-place
//! vectorizer.
//!
//! Produces, before the nest (or its `affine.parallel`):
//! - a buffer of one partial result per task;
//! - an `scf.parallel` over `P x tasks` (grain 1; `P` the rows of the
//!   `affine.parallel`, else 1). Each task reduces a contiguous share of
//!   the nest's iterations: whole inner rows when there are at least as
//!   many rows as chunks, else one row's segment (a multiple of the vector
//!   width long). In each inner row it runs the body `U x W` lanes at a
//!   time (`U` independent vector accumulators, so the adds do not wait on
//!   each other), then `W` lanes, then one lane, each accumulator started
//!   at the combine's identity; the three are reduced once and stored in
//!   the task's own slot, so no two tasks write one element and no atomic
//!   is needed;
//! - in place of the nest, a fold of `out[u]` (the identity, or what was
//!   there) with the task's partial results in task order, then a
//!   `memref.dealloc` of the buffer.
//!
//! The number of chunks is `4 x` the target's cores ([`chunks`]), never the
//! host's and never the threads the kernel runs on: the same target gives
//! the same IR, and the same results at 1, 2, 3 or 8 threads. Assumes the
//! loads of the body do not alias `out` (checked by the matcher, as for
//! the in-place vectorizer). Guarantees: integer results are exact; float
//! results are the same combination in another association, which the
//! spec allows for reductions.

use mlir_sys::{self as sys, MlirBlock, MlirOperation, MlirType, MlirValue};

use crate::{
    ir::{self, Builder},
    target::Target,
    vectorize_loops::{self, Reduction, Vectorizer},
};

/// The fewest elements reduced into one output element for the nest to be
/// split: below this the reduction takes a few microseconds, the cost of
/// sending it to the pool.
pub(crate) const MIN_SPLIT: i64 = 1 << 16;

/// Independent vector accumulators in a task's main loop: four chains of
/// adds keep the two vector units busy at the add latency (3-4 cycles).
const U: i64 = 4;

/// Chunks a split reduction is cut into: enough to balance the target's
/// workers, few enough that the fold after is negligible.
pub(crate) fn chunks(target: &Target) -> i64 {
    (4 * target.cores).max(4)
}

/// The matched nest.
struct Nest {
    /// Outermost first; the last is the reduction loop.
    loops: Vec<MlirOperation>,
    trips: Vec<i64>,
    red: Reduction,
    /// The enclosing `affine.parallel` of a few rows, and its trip count.
    rows: Option<(MlirOperation, i64)>,
}

pub fn run(root: MlirOperation, bits: usize) {
    let c = chunks(&Target::of_module(root));
    let matched: Vec<Nest> = ir::find(root, &["affine.for"])
        .into_iter()
        .filter(|op| vectorize_loops::is_innermost(*op))
        .filter_map(|op| match_nest(op, bits, c))
        .collect();
    for n in matched {
        rewrite(&n, c);
    }
}

fn in_parallel(op: MlirOperation) -> bool {
    ["affine.parallel", "scf.parallel", "strata.parallel_for", "omp.parallel", "omp.wsloop"].iter().any(|n| ir::enclosing(op, n).is_some())
}

fn match_nest(lp: MlirOperation, bits: usize, c: i64) -> Option<Nest> {
    let red = vectorize_loops::match_reduction(lp, bits)?;
    if red.start != 0 {
        return None;
    }
    let store_ops = ir::operands(red.store);
    let u = &store_ops[2..];
    let mut loops = vec![lp];
    let mut trips = vec![red.n];
    loop {
        let p = ir::parent(*loops.last().expect("one loop"));
        if ir::name(p) != "affine.for" {
            break;
        }
        let body = ir::ops_in(ir::first_block(ir::region(p, 0)));
        // SAFETY: a live op.
        let no_results = unsafe { sys::mlirOperationGetNumResults(p) } == 0;
        let plain = body.len() == 2
            && no_results
            && ir::constant_map(p, "lowerBoundMap") == Some(0)
            && ir::int_attr(p, "step") == Some(1)
            && u.iter().all(|v| !ir::defined_inside(*v, p));
        let Some(trip) = ir::constant_map(p, "upperBoundMap").filter(|_| plain) else { break };
        loops.push(p);
        trips.push(trip);
    }
    loops.reverse();
    trips.reverse();
    let top = loops[0];
    let total: i64 = trips.iter().product();
    if total < MIN_SPLIT {
        return None;
    }
    let parent = ir::parent(top);
    let rows = if ir::name(parent) == "affine.parallel" {
        if in_parallel(parent) {
            return None;
        }
        let block = ir::first_block(ir::region(parent, 0));
        // SAFETY: a live block.
        if unsafe { sys::mlirBlockGetNumArguments(block) } != 1
            || ir::constant_map(parent, "lowerBoundsMap") != Some(0)
            || ir::int_attr(parent, "steps") != Some(1)
        {
            return None;
        }
        let p = ir::constant_map(parent, "upperBoundsMap")?;
        if p >= c {
            return None; // rows enough for the workers already
        }
        // The body: identity stores into out[u], the nest, the yield.
        let ops = ir::ops_in(block);
        let (last, init) = ops.split_last()?;
        let (nest, init) = init.split_last()?;
        let out = store_ops[1];
        let init_ok = init.iter().all(|s| {
            let o = ir::operands(*s);
            ir::name(*s) == "affine.store"
                && o[1].ptr == out.ptr
                && !ir::defined_inside(o[0], parent)
                && o.len() == store_ops.len()
                && o[2..].iter().zip(u).all(|(a, b)| a.ptr == b.ptr)
                && same_map(*s, red.store)
        });
        if nest.ptr != top.ptr || ir::name(*last) != "affine.yield" || !init_ok {
            return None;
        }
        Some((parent, p))
    } else {
        if in_parallel(top) || u.iter().any(|v| ir::defined_inside(*v, top)) {
            return None;
        }
        None
    };
    Some(Nest { loops, trips, red, rows })
}

fn same_map(a: MlirOperation, b: MlirOperation) -> bool {
    match (ir::attribute(a, "map"), ir::attribute(b, "map")) {
        // SAFETY: two live attributes.
        (Some(x), Some(y)) => unsafe { sys::mlirAttributeEqual(x, y) },
        _ => false,
    }
}

/// Index arithmetic appended to a block.
struct Ix<'a> {
    b: &'a Builder,
    loc: sys::MlirLocation,
    block: MlirBlock,
}

impl Ix<'_> {
    fn c(&self, v: i64) -> MlirValue {
        ir::result(ir::append(self.block, self.b.index_constant(self.loc, v)), 0)
    }
    fn op(&self, name: &str, x: MlirValue, y: MlirValue) -> MlirValue {
        let index = self.b.index_type();
        ir::result(ir::append(self.block, self.b.op(name, self.loc, &[x, y], &[index], &[], 0)), 0)
    }
    fn opc(&self, name: &str, x: MlirValue, y: i64) -> MlirValue {
        let y = self.c(y);
        self.op(name, x, y)
    }
}

fn insert_after(op: MlirOperation, new: MlirOperation) -> MlirOperation {
    // SAFETY: a live op in a block.
    let block = unsafe { sys::mlirOperationGetBlock(op) };
    let ops = ir::ops_in(block);
    let at = ops.iter().position(|o| o.ptr == op.ptr).expect("op in its block");
    match ops.get(at + 1) {
        Some(next) => ir::insert_before(*next, new),
        None => ir::append(block, new),
    }
}

fn rewrite(n: &Nest, c: i64) {
    let top = n.loops[0];
    let lp = *n.loops.last().expect("one loop");
    let anchor = n.rows.map(|(par, _)| par).unwrap_or(top);
    let b = Builder::of_op(lp);
    let loc = ir::location(lp);
    let index = b.index_type();
    let r = &n.red;
    let elem = ir::value_type(ir::result(r.combine, 0));
    let ty = ir::print_type(elem);
    let name = ir::name(r.combine);
    let (kind, id) = vectorize_loops::reduction_kind(&name, &ty).expect("matched");
    let w = r.w as i64;
    let (rows_in, len) = (n.trips[..n.trips.len() - 1].iter().product::<i64>(), *n.trips.last().expect("one loop"));
    // Whole rows per task, or segments of one row.
    let (per, segs, seg) = if rows_in >= c {
        let per = (rows_in + c - 1) / c;
        (per, 1, len)
    } else {
        let s = (c + rows_in - 1) / rows_in;
        let seg = ((len + s - 1) / s + w - 1) / w * w;
        (1, (len + seg - 1) / seg, seg)
    };
    let tasks = if segs == 1 { (rows_in + per - 1) / per } else { rows_in * segs };
    let p_rows = n.rows.map(|(_, p)| p).unwrap_or(1);
    let g_total = p_rows * tasks;
    let mut u = U;
    while u > 1 && len.min(seg) < u * w {
        u /= 2;
    }

    let at = |op| ir::insert_before(anchor, op);
    let parts_ty = ir::memref_type(&[g_total], elem);
    let parts = ir::result(at(b.op("memref.alloc", loc, &[], &[parts_ty], &[("operandSegmentSizes", b.attr("array<i32: 0, 0>"))], 0)), 0);
    let (lo, hi, one) = (ir::result(at(b.index_constant(loc, 0)), 0), ir::result(at(b.index_constant(loc, g_total)), 0), ir::result(at(b.index_constant(loc, 1)), 0));
    let segments = b.attr("array<i32: 1, 1, 1, 0>");
    let par = at(b.op("scf.parallel", loc, &[lo, hi, one], &[], &[("operandSegmentSizes", segments), ("strata.grain", b.attr("1 : i64"))], 1));
    let pb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(par, 0), pb);
    let g = ir::block_argument(pb, 0);
    let ix = Ix { b: &b, loc, block: pb };
    let (p_new, t) = if n.rows.is_some() { (Some(ix.opc("arith.divui", g, tasks)), ix.opc("arith.remui", g, tasks)) } else { (None, g) };
    let (rlo, rhi, jlo, jhi) = if segs == 1 {
        let rlo = ix.opc("arith.muli", t, per);
        let rhi = ix.opc("arith.minui", ix.opc("arith.addi", rlo, per), rows_in);
        (rlo, rhi, ix.c(0), ix.c(len))
    } else {
        let rlo = ix.opc("arith.divui", t, segs);
        let rhi = ix.opc("arith.addi", rlo, 1);
        let jlo = ix.opc("arith.muli", ix.opc("arith.remui", t, segs), seg);
        let jhi = ix.opc("arith.minui", ix.opc("arith.addi", jlo, seg), len);
        (rlo, rhi, jlo, jhi)
    };
    // Where each width's loop ends: U*W lanes, then W, then one.
    let widths: Vec<i64> = if u > 1 { vec![u * w, w, 1] } else { vec![w, 1] };
    let mut ends = Vec::new();
    let mut from = jlo;
    for (k, width) in widths.iter().enumerate() {
        let end = if k + 1 == widths.len() {
            jhi
        } else {
            let n = ix.op("arith.subi", jhi, from);
            ix.op("arith.addi", from, ix.opc("arith.muli", ix.opc("arith.divui", n, *width), *width))
        };
        ends.push((from, end));
        from = end;
    }
    let vtys: Vec<MlirType> = widths.iter().map(|wd| ir::vector_type(&[*wd], elem)).collect();
    let ids: Vec<MlirValue> = widths
        .iter()
        .zip(&vtys)
        .map(|(wd, vt)| ir::result(ir::append(pb, b.op("arith.constant", loc, &[], &[*vt], &[("value", b.attr(&format!("dense<{id}> : vector<{wd}x{ty}>")))], 0)), 0))
        .collect();
    // The inner rows of this task.
    let mut ops = vec![rlo, rhi, ix.c(1)];
    ops.extend(&ids);
    let rfor = ir::append(pb, b.op("scf.for", loc, &ops, &vtys, &[], 1));
    let mut args = vec![index];
    args.extend(&vtys);
    let rb = ir::new_block(&args, loc);
    ir::append_block(ir::region(rfor, 0), rb);
    let row = ir::block_argument(rb, 0);
    let rx = Ix { b: &b, loc, block: rb };
    // The outer loops' indices from the row number, innermost fastest.
    let mut outer_ivs = Vec::new();
    let mut rest = row;
    for (m, trip) in n.trips[..n.trips.len() - 1].iter().enumerate().rev() {
        let iv = if m == 0 { rest } else { rx.opc("arith.remui", rest, *trip) };
        if m > 0 {
            rest = rx.opc("arith.divui", rest, *trip);
        }
        outer_ivs.push((ir::block_argument(ir::first_block(ir::region(n.loops[m], 0)), 0), iv));
    }
    let old = ir::first_block(ir::region(lp, 0));
    let j_old = ir::block_argument(old, 0);
    let mut next = Vec::new();
    for (k, (width, vt)) in widths.iter().zip(&vtys).enumerate() {
        let (from, to) = ends[k];
        let step = rx.c(*width);
        // Bound before the loop: the broadcasts of the indices go in `rb`.
        let mut v = Vectorizer::new(b, lp, loc, *width as usize, par);
        v.skip(r.load);
        v.skip(r.combine);
        v.skip(r.store);
        for (o, nw) in &outer_ivs {
            v.bind_index(*o, *nw, rb);
        }
        if let (Some((parallel, _)), Some(pn)) = (n.rows, p_new) {
            v.bind_index(ir::block_argument(ir::first_block(ir::region(parallel, 0)), 0), pn, rb);
        }
        let vfor = ir::append(rb, b.op("scf.for", loc, &[from, to, step, ir::block_argument(rb, 1 + k as isize)], &[*vt], &[], 1));
        let body = ir::new_block(&[index, *vt], loc);
        ir::append_block(ir::region(vfor, 0), body);
        let jv = ir::block_argument(body, 0);
        let ivt = v.vty(index);
        let iota = ir::result(ir::insert_before(par, vectorize_loops::iota(&b, loc, *width as usize)), 0);
        let jb = ir::result(ir::append(body, b.op("vector.broadcast", loc, &[jv], &[ivt], &[], 0)), 0);
        let jvec = ir::result(ir::append(body, b.op("arith.addi", loc, &[jb, iota], &[ivt], &[], 0)), 0);
        v.bind(j_old, jvec);
        v.body(old, body, jv);
        let vv = v.vec(r.value);
        let acc = ir::result(ir::append(body, b.op(&name, loc, &[ir::block_argument(body, 1), vv], &[*vt], &[], 0)), 0);
        ir::append(body, b.op("scf.yield", loc, &[acc], &[], &[], 0));
        next.push(ir::result(vfor, 0));
    }
    ir::append(rb, b.op("scf.yield", loc, &next, &[], &[], 0));
    let kind_attr = b.attr(&format!("#vector.kind<{kind}>"));
    let mut partial: Option<MlirValue> = None;
    for k in 0..widths.len() {
        let red = ir::result(ir::append(pb, b.op("vector.reduction", loc, &[ir::result(rfor, k as isize)], &[elem], &[("kind", kind_attr)], 0)), 0);
        partial = Some(match partial {
            None => red,
            Some(x) => ir::result(ir::append(pb, b.op(&name, loc, &[x, red], &[elem], &[], 0)), 0),
        });
    }
    ir::append(pb, b.op("memref.store", loc, &[partial.expect("a width"), parts, g], &[], &[], 0));
    ir::append(pb, b.op("scf.reduce", loc, &[], &[], &[], 0));

    // In place of the nest: out[u] folded with this row's partial results.
    let fat = |op| ir::insert_before(top, op);
    let store_ops = ir::operands(r.store);
    let (out, idx) = (store_ops[1], store_ops[2..].to_vec());
    let map = ir::attribute(r.store, "map").expect("affine.store has a map");
    let mut load_ops = vec![out];
    load_ops.extend(&idx);
    let cur = ir::result(fat(b.op("affine.load", loc, &load_ops, &[elem], &[("map", map)], 0)), 0);
    let base = match n.rows {
        Some((parallel, _)) => {
            let p_old = ir::block_argument(ir::first_block(ir::region(parallel, 0)), 0);
            let tc = ir::result(fat(b.index_constant(loc, tasks)), 0);
            ir::result(fat(b.op("arith.muli", loc, &[p_old, tc], &[index], &[], 0)), 0)
        }
        None => ir::result(fat(b.index_constant(loc, 0)), 0),
    };
    let (f0, fn_, f1) = (ir::result(fat(b.index_constant(loc, 0)), 0), ir::result(fat(b.index_constant(loc, tasks)), 0), ir::result(fat(b.index_constant(loc, 1)), 0));
    let fold = fat(b.op("scf.for", loc, &[f0, fn_, f1, cur], &[elem], &[], 1));
    let fb = ir::new_block(&[index, elem], loc);
    ir::append_block(ir::region(fold, 0), fb);
    let slot = ir::result(ir::append(fb, b.op("arith.addi", loc, &[base, ir::block_argument(fb, 0)], &[index], &[], 0)), 0);
    let part = ir::result(ir::append(fb, b.op("memref.load", loc, &[parts, slot], &[elem], &[], 0)), 0);
    let acc = ir::result(ir::append(fb, b.op(&name, loc, &[ir::block_argument(fb, 1), part], &[elem], &[], 0)), 0);
    ir::append(fb, b.op("scf.yield", loc, &[acc], &[], &[], 0));
    let mut st = vec![ir::result(fold, 0), out];
    st.extend(&idx);
    fat(b.op("affine.store", loc, &st, &[], &[("map", map)], 0));
    insert_after(anchor, b.op("memref.dealloc", loc, &[parts], &[], &[], 0));
    crate::remark(
        top,
        &format!(
            "strata-vectorize: {kind} reduction of {} element(s) per result split into {tasks} parallel task(s) ({}), {} x {w} lanes, partial results folded once",
            n.trips.iter().product::<i64>(),
            if segs == 1 { format!("{per} row(s) of {len} each") } else { format!("segments of {seg} of a row of {len}") },
            u
        ),
    );
    ir::replace_op(top, &[]);
}
