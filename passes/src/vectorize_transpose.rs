//! Transposed copies in register tiles, a step of `strata-vectorize`
//! (before the elementwise loops of [`crate::vectorize_loops`], which leave
//! such a nest scalar).
//!
//! Matches a perfect nest of one-dimensional `affine.parallel` loops (each
//! from 0 to a constant, step 1; each body only the next loop) whose
//! innermost body is one `affine.load` from a buffer and one `affine.store`
//! of that value to another (`out[i0, .., ib] = in[.., ib, .., ia]`, a
//! materialised `strata.transpose` of any rank): the store's indices are
//! the loops' own, in order, the load's a permutation of them whose last is
//! not the store's last (`ia`, the loop of the input's contiguous
//! dimension, against `ib`, the innermost), the buffers cannot alias, and
//! both of those dimensions have at least a vector's worth of elements.
//!
//! Element by element, one of the two sides is walked a row apart: each
//! element costs a cache line. Produces an `scf.parallel` over blocks of
//! [`BLOCK`] x `W` values of `ia` (times the other loops), each walking
//! `ib` in blocks of [`BLOCK`] x `W` too (so the lines of both sides a
//! block touches stay in cache), and in each block `W x W` tiles: `W`
//! vector loads along `ia` (one full run of the input's contiguous
//! dimension each), a transpose in registers (`log2 W` rounds of
//! `vector.shuffle`, each swapping the off-diagonal halves of 2x2 blocks of
//! sub-blocks: `W log2 W` two-source shuffles per tile), `W` vector stores
//! along `ib`. `W` is the target's vector width over the element width,
//! at most 16. Both directions are vectors and every line read or written
//! is used whole. The elements outside the whole tiles (`ia` or `ib` past
//! the last multiple of `W`) keep the original nest, cloned with its two
//! loops narrowed to them.
//!
//! Guarantees the same values in the same places: it only moves data.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::ir::{self, Builder};

/// Tiles of `W x W` per block side: 4 (64 x 64 f32 at 16 lanes: 16 KiB
/// read and 16 KiB written per block, within L1 together with the
/// lines in flight).
const BLOCK: i64 = 4;

/// The fewest elements for the tiled copy: a smaller one is not worth
/// the code.
const MIN_ELEMENTS: i64 = 1024;

struct Transpose {
    /// Outermost first.
    loops: Vec<MlirOperation>,
    trips: Vec<i64>,
    load: MlirOperation,
    store: MlirOperation,
    /// The loop (depth) of the input's contiguous dimension.
    a: usize,
    w: i64,
}

pub fn run(root: MlirOperation, bits: usize) {
    let matched: Vec<Transpose> = ir::find(root, &["affine.parallel"])
        .into_iter()
        .filter(|op| crate::vectorize_loops::is_innermost(*op))
        .filter_map(|op| match_transpose(op, bits))
        .collect();
    for t in matched {
        rewrite(&t);
    }
}

fn plain_parallel(op: MlirOperation) -> Option<i64> {
    let block = ir::first_block(ir::region(op, 0));
    // SAFETY: a live block and op.
    let ok = ir::name(op) == "affine.parallel"
        && unsafe { sys::mlirBlockGetNumArguments(block) } == 1
        && unsafe { sys::mlirOperationGetNumResults(op) } == 0
        && ir::constant_map(op, "lowerBoundsMap") == Some(0)
        && ir::int_attr(op, "steps") == Some(1);
    if ok { ir::constant_map(op, "upperBoundsMap") } else { None }
}

fn identity_map(op: MlirOperation) -> bool {
    // SAFETY: affine.load/store carry an AffineMapAttr `map`.
    ir::attribute(op, "map").is_some_and(|a| unsafe { sys::mlirAffineMapIsIdentity(sys::mlirAffineMapAttrGetValue(a)) })
}

fn match_transpose(inner: MlirOperation, bits: usize) -> Option<Transpose> {
    let body = ir::ops_in(ir::first_block(ir::region(inner, 0)));
    let [load, store, _yield] = body.as_slice() else { return None };
    let (load, store) = (*load, *store);
    if ir::name(load) != "affine.load" || ir::name(store) != "affine.store" || !identity_map(load) || !identity_map(store) {
        return None;
    }
    let (lops, sops) = (ir::operands(load), ir::operands(store));
    if sops[0].ptr != ir::result(load, 0).ptr
        || crate::vectorize_loops::may_alias(lops[0], sops[1])
        || !ir::is_plain_memref(ir::value_type(lops[0]))
        || !ir::is_plain_memref(ir::value_type(sops[1]))
    {
        return None;
    }
    let mut loops = vec![inner];
    let mut trips = vec![plain_parallel(inner)?];
    loop {
        let p = ir::parent(*loops.last().expect("one loop"));
        let Some(trip) = plain_parallel(p) else { break };
        if ir::ops_in(ir::first_block(ir::region(p, 0))).len() != 2 {
            break;
        }
        loops.push(p);
        trips.push(trip);
    }
    loops.reverse();
    trips.reverse();
    let ivs: Vec<MlirValue> = loops.iter().map(|l| ir::block_argument(ir::first_block(ir::region(*l, 0)), 0)).collect();
    let r = ivs.len();
    let (sidx, lidx) = (&sops[2..], &lops[1..]);
    // The store at the loops' indices in order, over all of `out`; the
    // load at a permutation of them, over all of `in`.
    if r < 2 || sidx.len() != r || lidx.len() != r || sidx.iter().zip(&ivs).any(|(a, b)| a.ptr != b.ptr) {
        return None;
    }
    let (oshape, elem) = ir::shape(ir::value_type(sops[1]));
    let (ishape, _) = ir::shape(ir::value_type(lops[0]));
    if oshape != trips {
        return None;
    }
    let mut seen = vec![false; r];
    for (d, v) in lidx.iter().enumerate() {
        let k = ivs.iter().position(|iv| iv.ptr == v.ptr)?;
        if seen[k] || ishape[d] != trips[k] {
            return None;
        }
        seen[k] = true;
    }
    let a = ivs.iter().position(|iv| iv.ptr == lidx[r - 1].ptr)?;
    if a == r - 1 {
        return None; // contiguous on both sides: the elementwise vectorizer's
    }
    let ebits = crate::vectorize_loops::scalar_bits(elem)?;
    let w = ((bits / ebits.max(8)) as i64).min(16);
    if w < 2 || trips[a] < w || trips[r - 1] < w || trips.iter().product::<i64>() < MIN_ELEMENTS {
        return None;
    }
    Some(Transpose { loops, trips, load, store, a, w })
}

/// Sets the constant bounds of the one-dimensional `affine.parallel` `lp`.
fn set_bounds(lp: MlirOperation, lo: i64, hi: i64) {
    // SAFETY: a live op's context; MLIR uniques maps and attributes.
    unsafe {
        let ctx = sys::mlirOperationGetContext(lp);
        ir::set_attribute(lp, "lowerBoundsMap", sys::mlirAffineMapAttrGet(sys::mlirAffineMapConstantGet(ctx, lo)));
        ir::set_attribute(lp, "upperBoundsMap", sys::mlirAffineMapAttrGet(sys::mlirAffineMapConstantGet(ctx, hi)));
    }
}

/// The loops of a perfect nest, outermost first.
fn nest_of(top: MlirOperation, depth: usize) -> Vec<MlirOperation> {
    let mut out = vec![top];
    for _ in 1..depth {
        let first = ir::ops_in(ir::first_block(ir::region(*out.last().expect("one loop"), 0)))[0];
        out.push(first);
    }
    out
}

/// The shuffles that transpose the `w` rows `rows` (each a vector of `w`).
fn transpose_in_registers(b: &Builder, loc: sys::MlirLocation, blk: sys::MlirBlock, mut rows: Vec<MlirValue>, w: usize) -> Vec<MlirValue> {
    let vt = ir::value_type(rows[0]);
    let mut half = w / 2;
    while half >= 1 {
        // Row r (bit `half` clear) and r | half swap the column blocks
        // with that bit: after every bit, element (r, c) sits at (c, r).
        let lo: Vec<String> = (0..w).map(|c| if c & half == 0 { c } else { w + c - half }.to_string()).collect();
        let hi: Vec<String> = (0..w).map(|c| if c & half == 0 { c + half } else { w + c }.to_string()).collect();
        let (mlo, mhi) = (b.attr(&format!("array<i64: {}>", lo.join(", "))), b.attr(&format!("array<i64: {}>", hi.join(", "))));
        let mut next = rows.clone();
        for r in (0..w).filter(|r| r & half == 0) {
            let (x, y) = (rows[r], rows[r | half]);
            next[r] = ir::result(ir::append(blk, b.op("vector.shuffle", loc, &[x, y], &[vt], &[("mask", mlo)], 0)), 0);
            next[r | half] = ir::result(ir::append(blk, b.op("vector.shuffle", loc, &[x, y], &[vt], &[("mask", mhi)], 0)), 0);
        }
        rows = next;
        half /= 2;
    }
    rows
}

fn rewrite(t: &Transpose) {
    let top = t.loops[0];
    let b = Builder::of_op(top);
    let loc = ir::location(top);
    let index = b.index_type();
    let r = t.loops.len();
    let (a, bb) = (t.a, r - 1);
    let w = t.w;
    let (ta, tb) = (t.trips[a], t.trips[bb]);
    let (a_full, b_full) = (ta - ta % w, tb - tb % w);
    let side = BLOCK * w;
    let n_ablocks = (a_full + side - 1) / side;
    let others: Vec<usize> = (0..r).filter(|d| *d != a && *d != bb).collect();
    let n_other: i64 = others.iter().map(|d| t.trips[*d]).product();
    let lops = ir::operands(t.load);
    let sops = ir::operands(t.store);
    let (input, out) = (lops[0], sops[1]);
    let elem = ir::value_type(ir::result(t.load, 0));
    let vt = ir::vector_type(&[w], elem);
    let ivs: Vec<MlirValue> = t.loops.iter().map(|l| ir::block_argument(ir::first_block(ir::region(*l, 0)), 0)).collect();

    // The leftover elements first, from clones of the nest, before the
    // original is replaced.
    if a_full < ta {
        // SAFETY: cloning a live op; the clone is inserted right away.
        let c = unsafe { sys::mlirOperationClone(top) };
        ir::insert_before(top, c);
        set_bounds(nest_of(c, r)[a], a_full, ta);
    }
    if b_full < tb {
        // SAFETY: as above.
        let c = unsafe { sys::mlirOperationClone(top) };
        ir::insert_before(top, c);
        let nest = nest_of(c, r);
        set_bounds(nest[a], 0, a_full);
        set_bounds(nest[bb], b_full, tb);
    }

    let at = |op| ir::insert_before(top, op);
    let (lo, hi, one) = (ir::result(at(b.index_constant(loc, 0)), 0), ir::result(at(b.index_constant(loc, n_other * n_ablocks)), 0), ir::result(at(b.index_constant(loc, 1)), 0));
    let segments = b.attr("array<i32: 1, 1, 1, 0>");
    let par = at(b.op("scf.parallel", loc, &[lo, hi, one], &[], &[("operandSegmentSizes", segments)], 1));
    let pb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(par, 0), pb);
    let g = ir::block_argument(pb, 0);
    let c = |blk: sys::MlirBlock, v: i64| ir::result(ir::append(blk, b.index_constant(loc, v)), 0);
    let op2 = |blk: sys::MlirBlock, name: &str, x: MlirValue, y: MlirValue| ir::result(ir::append(blk, b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    // The other loops' indices from the task number, innermost fastest.
    let mut new_iv: Vec<Option<MlirValue>> = vec![None; r];
    let mut rest = op2(pb, "arith.divui", g, c(pb, n_ablocks));
    for (k, d) in others.iter().enumerate().rev() {
        if k == 0 {
            new_iv[*d] = Some(rest);
        } else {
            new_iv[*d] = Some(op2(pb, "arith.remui", rest, c(pb, t.trips[*d])));
            rest = op2(pb, "arith.divui", rest, c(pb, t.trips[*d]));
        }
    }
    let a0 = op2(pb, "arith.muli", op2(pb, "arith.remui", g, c(pb, n_ablocks)), c(pb, side));
    let a1 = op2(pb, "arith.minsi", op2(pb, "arith.addi", a0, c(pb, side)), c(pb, a_full));
    // for b0 in blocks of ib { for ia in the a-block by w { for ib in the b-block by w { tile } } }
    let sfor = |blk: sys::MlirBlock, lo: MlirValue, hi: MlirValue, step: i64| -> (sys::MlirBlock, MlirValue) {
        let f = ir::append(blk, b.op("scf.for", loc, &[lo, hi, c(blk, step)], &[], &[], 1));
        let body = ir::new_block(&[index], loc);
        ir::append_block(ir::region(f, 0), body);
        (body, ir::block_argument(body, 0))
    };
    let (b0blk, b0) = sfor(pb, c(pb, 0), c(pb, b_full), side);
    let b1 = op2(b0blk, "arith.minsi", op2(b0blk, "arith.addi", b0, c(b0blk, side)), c(b0blk, b_full));
    let (iablk, ia) = sfor(b0blk, a0, a1, w);
    let (tile, ib) = sfor(iablk, b0, b1, w);
    // Row k of the tile: in[.., ib + k, .., ia .. ia + w].
    let mut rows = Vec::new();
    for k in 0..w {
        let ibk = if k == 0 { ib } else { op2(tile, "arith.addi", ib, c(tile, k)) };
        let mut operands = vec![input];
        for v in &lops[1..] {
            let d = ivs.iter().position(|iv| iv.ptr == v.ptr).expect("matched");
            operands.push(if d == a { ia } else if d == bb { ibk } else { new_iv[d].expect("an other loop") });
        }
        rows.push(ir::result(ir::append(tile, b.op("vector.load", loc, &operands, &[vt], &[], 0)), 0));
    }
    let cols = transpose_in_registers(&b, loc, tile, rows, w as usize);
    // Column m of the tile: out[.., ia + m, .., ib .. ib + w].
    for (m, col) in cols.into_iter().enumerate() {
        let iam = if m == 0 { ia } else { op2(tile, "arith.addi", ia, c(tile, m as i64)) };
        let mut operands = vec![col, out];
        for d in 0..r {
            operands.push(if d == a { iam } else if d == bb { ib } else { new_iv[d].expect("an other loop") });
        }
        ir::append(tile, b.op("vector.store", loc, &operands, &[], &[], 0));
    }
    for blk in [tile, iablk, b0blk] {
        ir::append(blk, b.op("scf.yield", loc, &[], &[], &[], 0));
    }
    ir::append(pb, b.op("scf.reduce", loc, &[], &[], &[], 0));
    crate::remark(
        top,
        &format!(
            "strata-vectorize: transposed copy of {:?} in {w}x{w} register tiles ({} shuffles each), blocks of {side}x{side}, {} parallel task(s); {} leftover element(s) stay scalar",
            t.trips,
            w * w.trailing_zeros() as i64,
            n_other * n_ablocks,
            n_other * (ta * tb - a_full * b_full)
        ),
    );
    ir::replace_op(top, &[]);
}
