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
//! element costs a cache line. Produces an `scf.parallel` whose tasks are
//! strips of [`STRIP_BYTES`] of `ia` (the input's contiguous dimension)
//! times chunks of `ib` (times the other loops), at least [`MIN_TASKS`]
//! where the shape allows. A task walks `ib` outside and `ia` inside, so
//! each step reads a page-long run of each of its input rows (which the
//! prefetchers follow) and writes one line-long run of as many output
//! rows. Each step moves `W x W` tiles: `W` vector loads along `ia`, a
//! transpose in registers (`log2 W` rounds of `vector.shuffle`, each
//! swapping the off-diagonal halves of 2x2 blocks of sub-blocks, the
//! first an in-lane interleave for 32-bit elements: `W log2 W`
//! two-source shuffles per tile, see [`transpose_rounds`]), `W` vector
//! stores along `ib`. `W` is
//! the target's vector width over the element width, at most 16. Both
//! directions are vectors and every line read or written is used whole.
//!
//! Stores: an output larger than half the target's L2 (the copy never
//! reads it back, and ordinary stores to lines a row apart each cost a
//! read for ownership) is written with streaming (`nontemporal`, aligned)
//! stores where every output row starts on a vector boundary: statically
//! (the row's bytes a multiple of the vector's) and at run time (the
//! base's low bits; the other branch keeps ordinary stores). Each step
//! then moves `64 / vector bytes` tiles side by side along `ib`, storing
//! whole lines one after another so the write-combining buffers flush
//! full lines, and each task ends with a sequentially consistent fence,
//! since streaming stores are weakly ordered. Measured in C on the Ice
//! Lake Xeon (4096^2 f32, 1 thread): 64 x 64 blocks (this pass's earlier
//! order) 40 ms, with streaming stores 28 ms, strips with ordinary stores
//! 38 ms, strips with streaming stores 14 ms (this pass's code: 9 ms).
//! The elements outside the whole tiles (`ia` past the last multiple of
//! `W`, `ib` past the last whole step) keep the original nest, cloned
//! with its two loops narrowed to them.
//!
//! Guarantees the same values in the same places: it only moves data.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::ir::{self, Builder};

/// Input columns per task (bytes of each input row): one 4 KiB page, a
/// run long enough for the prefetchers. Measured on the Ice Lake Xeon
/// (4096^2 f32, streaming stores, 1 thread): 256 B 17.9 ms, 1 KiB 16.3,
/// 2 KiB 14.9, 4 KiB 13.9, 8 KiB 16.2.
const STRIP_BYTES: i64 = 4096;

/// The tasks to split the copy into, where the shape allows: enough for
/// the pool to balance.
const MIN_TASKS: i64 = 16;

const LINE_BYTES: i64 = 64;

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

impl Transpose {
    fn vector_bytes(&self) -> i64 {
        let elem = ir::value_type(ir::result(self.load, 0));
        self.w * crate::vectorize_loops::scalar_bits(elem).expect("matched").max(8) as i64 / 8
    }
}

pub fn run(root: MlirOperation, bits: usize) {
    let l2_bytes = crate::target::Target::of_module(root).l2_bytes;
    let matched: Vec<Transpose> = ir::find(root, &["affine.parallel"])
        .into_iter()
        .filter(|op| crate::vectorize_loops::is_innermost(*op))
        .filter_map(|op| match_transpose(op, bits))
        .collect();
    for t in matched {
        rewrite(&t, l2_bytes);
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

/// One round of a register transpose: each pair `(x, y)` of rows becomes
/// the two-source shuffles `lo` and `hi` of them, in their places.
#[derive(Debug)]
struct Round {
    pairs: Vec<(usize, usize)>,
    lo: Vec<i64>,
    hi: Vec<i64>,
}

/// The rounds that transpose `w` rows of `w` elements of `ebits` bits, and
/// which of the last round's rows holds each column (`order[c]`).
///
/// Round `h` (a power of two) swaps row bit `h` with column bit `h`: rows
/// `r` and `r | h` exchange their column blocks of `h` elements. Blocks of
/// 64 bits within a 128-bit lane (`unpcklpd`) and halves of the vector
/// (`inserti128`, `shufi64x2`) take one instruction with an immediate
/// operand; at 512 bits the round on 128-bit blocks does not (it lowers to
/// `vpermt2ps`/`vpermt2pd` with an index vector), which is left as it is.
/// With 32-bit elements the round `h = 1` has no such instruction either:
/// x86 has no `[x0 y0 x2 y2]`, so LLVM lowered it to `vpermt2ps`, and the
/// contraction kernel's packing of a transposed B kept those index vectors
/// in registers across its micro-kernel, which then spilled accumulators
/// (A.B^T at 2.2x the time of A.B on the Zen 4 EPYC). There the first
/// round is instead the in-lane interleave `[x0 y0 x1 y1]` of each 128-bit
/// lane (`unpcklps`, `unpckhps`), which rotates row bit 0 into column bit
/// 0, column bit 0 into column bit 1 and column bit 1 into row bit 0; the
/// swapping rounds of every `h` from 2 then leave column `c` in the row
/// whose bits 0 and 1 are those of `c` exchanged. Only for 32-bit elements
/// and `w >= 4` (a whole 128-bit lane).
fn transpose_rounds(w: usize, ebits: usize) -> (Vec<Round>, Vec<usize>) {
    let mut rounds = Vec::new();
    let interleave = ebits == 32 && w >= 4;
    if interleave {
        let lane = |c: usize, second: usize| -> i64 {
            let (base, q) = (c / 4 * 4, c % 4);
            (base + second + q / 2 + if q % 2 == 1 { w } else { 0 }) as i64
        };
        rounds.push(Round {
            pairs: (0..w).step_by(2).map(|r| (r, r + 1)).collect(),
            lo: (0..w).map(|c| lane(c, 0)).collect(),
            hi: (0..w).map(|c| lane(c, 2)).collect(),
        });
    }
    let mut half = w / 2;
    while half >= if interleave { 2 } else { 1 } {
        rounds.push(Round {
            pairs: (0..w).filter(|r| r & half == 0).map(|r| (r, r | half)).collect(),
            lo: (0..w).map(|c| if c & half == 0 { c } else { w + c - half } as i64).collect(),
            hi: (0..w).map(|c| if c & half == 0 { c + half } else { w + c } as i64).collect(),
        });
        half /= 2;
    }
    let order = (0..w).map(|c| if interleave { (c & !3) | ((c & 1) << 1) | ((c >> 1) & 1) } else { c }).collect();
    (rounds, order)
}

/// The shuffles that transpose the `w` rows `rows` (each a vector of `w`):
/// the returned vector `c` is column `c` ([`transpose_rounds`]).
pub(crate) fn transpose_in_registers(b: &Builder, loc: sys::MlirLocation, blk: sys::MlirBlock, mut rows: Vec<MlirValue>, w: usize) -> Vec<MlirValue> {
    let vt = ir::value_type(rows[0]);
    // SAFETY: a vector type's element type.
    let ebits = crate::vectorize_loops::scalar_bits(unsafe { sys::mlirShapedTypeGetElementType(vt) }).unwrap_or(0);
    let (rounds, order) = transpose_rounds(w, ebits);
    for round in rounds {
        let (mlo, mhi) = (ir::i64_array_attr(b, &round.lo), ir::i64_array_attr(b, &round.hi));
        let mut next = rows.clone();
        for (r, s) in round.pairs {
            let (x, y) = (rows[r], rows[s]);
            next[r] = ir::result(ir::append(blk, b.op("vector.shuffle", loc, &[x, y], &[vt], &[("mask", mlo)], 0)), 0);
            next[s] = ir::result(ir::append(blk, b.op("vector.shuffle", loc, &[x, y], &[vt], &[("mask", mhi)], 0)), 0);
        }
        rows = next;
    }
    order.into_iter().map(|r| rows[r]).collect()
}

/// Emits `W x W` tiles: `W` vector loads along `ia`, the shuffles, `W`
/// vector stores along `ib` (streaming ones, aligned, where `stream`).
struct Tile<'a> {
    t: &'a Transpose,
    b: Builder,
    loc: sys::MlirLocation,
    ivs: Vec<MlirValue>,
    /// The other loops' indices in this task.
    other: Vec<Option<MlirValue>>,
    vt: sys::MlirType,
}

impl Tile<'_> {
    fn plus(&self, blk: sys::MlirBlock, x: MlirValue, k: i64) -> MlirValue {
        if k == 0 {
            return x;
        }
        let (b, loc) = (&self.b, self.loc);
        let c = ir::result(ir::append(blk, b.index_constant(loc, k)), 0);
        ir::result(ir::append(blk, b.op("arith.addi", loc, &[x, c], &[b.index_type()], &[], 0)), 0)
    }

    /// The tile's `W` columns: row k is in[.., ib + k, .., ia .. ia + w].
    fn load(&self, blk: sys::MlirBlock, ia: MlirValue, ib: MlirValue) -> Vec<MlirValue> {
        let (b, loc) = (&self.b, self.loc);
        let (a, bb) = (self.t.a, self.t.loops.len() - 1);
        let lops = ir::operands(self.t.load);
        let mut rows = Vec::new();
        for k in 0..self.t.w {
            let ibk = self.plus(blk, ib, k);
            let mut operands = vec![lops[0]];
            for v in &lops[1..] {
                let d = self.ivs.iter().position(|iv| iv.ptr == v.ptr).expect("matched");
                operands.push(if d == a { ia } else if d == bb { ibk } else { self.other[d].expect("an other loop") });
            }
            rows.push(ir::result(ir::append(blk, b.op("vector.load", loc, &operands, &[self.vt], &[], 0)), 0));
        }
        transpose_in_registers(b, loc, blk, rows, self.t.w as usize)
    }

    /// Stores column m of each tile at out[.., ia + m, .., ib + k W ..]:
    /// the `k` tiles side by side fill whole lines one after another.
    fn store(&self, blk: sys::MlirBlock, ia: MlirValue, ibs: &[MlirValue], tiles: &[Vec<MlirValue>], stream: bool) {
        let (b, loc) = (&self.b, self.loc);
        let (a, bb) = (self.t.a, self.t.loops.len() - 1);
        let out = ir::operands(self.t.store)[1];
        // SAFETY: a live context.
        let stream_attrs = unsafe {
            [
                ("nontemporal", sys::mlirBoolAttrGet(b.ctx, 1)),
                ("alignment", ir::integer_attr(sys::mlirIntegerTypeGet(b.ctx, 64), self.t.vector_bytes())),
            ]
        };
        let attrs: &[(&str, sys::MlirAttribute)] = if stream { &stream_attrs } else { &[] };
        for m in 0..self.t.w as usize {
            let iam = self.plus(blk, ia, m as i64);
            for (ib, cols) in ibs.iter().zip(tiles) {
                let mut operands = vec![cols[m], out];
                for d in 0..=bb {
                    operands.push(if d == a { iam } else if d == bb { *ib } else { self.other[d].expect("an other loop") });
                }
                ir::append(blk, b.op("vector.store", loc, &operands, &[], attrs, 0));
            }
        }
    }
}

fn rewrite(t: &Transpose, l2_bytes: i64) {
    let top = t.loops[0];
    let b = Builder::of_op(top);
    let loc = ir::location(top);
    let index = b.index_type();
    let r = t.loops.len();
    let (a, bb) = (t.a, r - 1);
    let w = t.w;
    let (ta, tb) = (t.trips[a], t.trips[bb]);
    let vbytes = t.vector_bytes();
    let ebytes = vbytes / w;
    // Streaming stores need every row of the output to start on a vector
    // boundary (the base is checked at run time).
    let stream = t.trips.iter().product::<i64>() * ebytes * 2 > l2_bytes && (tb * ebytes) % vbytes == 0;
    // With streaming stores a step of `ib` fills whole cache lines, so
    // the write-combining buffers flush full lines.
    let u = if stream { (LINE_BYTES / vbytes).clamp(1, tb / w) } else { 1 };
    let step_b = u * w;
    let (a_full, b_full) = (ta - ta % w, tb - tb % step_b);
    let strip = (STRIP_BYTES / ebytes / w * w).clamp(w, a_full);
    let n_strips = (a_full + strip - 1) / strip;
    let others: Vec<usize> = (0..r).filter(|d| *d != a && *d != bb).collect();
    let n_other: i64 = others.iter().map(|d| t.trips[*d]).product();
    let b_steps = b_full / step_b;
    let wanted = (MIN_TASKS + n_other * n_strips - 1) / (n_other * n_strips);
    let chunk_steps = (b_steps + wanted.clamp(1, b_steps) - 1) / wanted.clamp(1, b_steps);
    let n_chunks = (b_steps + chunk_steps - 1) / chunk_steps;
    let chunk = chunk_steps * step_b;
    let tasks = n_other * n_strips * n_chunks;
    let elem = ir::value_type(ir::result(t.load, 0));
    let tile = Tile {
        t,
        b,
        loc,
        ivs: t.loops.iter().map(|l| ir::block_argument(ir::first_block(ir::region(*l, 0)), 0)).collect(),
        other: vec![None; r],
        vt: ir::vector_type(&[w], elem),
    };
    let out = ir::operands(t.store)[1];

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
    let konst = |v: i64| ir::result(at(b.index_constant(loc, v)), 0);
    let op2 = |blk: sys::MlirBlock, name: &str, x: MlirValue, y: MlirValue| ir::result(ir::append(blk, b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    // Whether the output's base sits on a vector boundary.
    let aligned = stream.then(|| {
        let p = ir::result(at(b.op("memref.extract_aligned_pointer_as_index", loc, &[out], &[index], &[], 0)), 0);
        let low = ir::result(at(b.op("arith.andi", loc, &[p, konst(vbytes - 1)], &[index], &[], 0)), 0);
        let eq = ir::integer_attr(b.ty("i64"), crate::ir::cmpi::EQ);
        ir::result(at(b.op("arith.cmpi", loc, &[low, konst(0)], &[b.ty("i1")], &[("predicate", eq)], 0)), 0)
    });
    let (lo, hi, one) = (konst(0), konst(tasks), konst(1));
    let segments = b.attr("array<i32: 1, 1, 1, 0>");
    let par = at(b.op("scf.parallel", loc, &[lo, hi, one], &[], &[("operandSegmentSizes", segments)], 1));
    let pb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(par, 0), pb);
    let g = ir::block_argument(pb, 0);
    let c = |blk: sys::MlirBlock, v: i64| ir::result(ir::append(blk, b.index_constant(loc, v)), 0);
    // The task number: the other loops' indices (innermost fastest), the
    // strip of `ia`, the chunk of `ib`.
    let mut other = vec![None; r];
    let per_other = n_strips * n_chunks;
    let mut rest = op2(pb, "arith.divui", g, c(pb, per_other));
    for (k, d) in others.iter().enumerate().rev() {
        if k == 0 {
            other[*d] = Some(rest);
        } else {
            other[*d] = Some(op2(pb, "arith.remui", rest, c(pb, t.trips[*d])));
            rest = op2(pb, "arith.divui", rest, c(pb, t.trips[*d]));
        }
    }
    let tile = Tile { other, ..tile };
    let within = op2(pb, "arith.remui", g, c(pb, per_other));
    let a0 = op2(pb, "arith.muli", op2(pb, "arith.divui", within, c(pb, n_chunks)), c(pb, strip));
    let a1 = op2(pb, "arith.minsi", op2(pb, "arith.addi", a0, c(pb, strip)), c(pb, a_full));
    let b0 = op2(pb, "arith.muli", op2(pb, "arith.remui", within, c(pb, n_chunks)), c(pb, chunk));
    let b1 = op2(pb, "arith.minsi", op2(pb, "arith.addi", b0, c(pb, chunk)), c(pb, b_full));
    let sfor = |blk: sys::MlirBlock, lo: MlirValue, hi: MlirValue, step: i64| -> (sys::MlirBlock, MlirValue) {
        let f = ir::append(blk, b.op("scf.for", loc, &[lo, hi, c(blk, step)], &[], &[], 1));
        let body = ir::new_block(&[index], loc);
        ir::append_block(ir::region(f, 0), body);
        (body, ir::block_argument(body, 0))
    };
    let yield_in = |blk: sys::MlirBlock| ir::append(blk, b.op("scf.yield", loc, &[], &[], &[], 0));
    // for ib in the chunk { for ia in the strip { u tiles side by side along ib } }:
    // each step of ib reads a page-long run of `STRIP_BYTES` from each of
    // its input rows, which the prefetchers follow.
    let (ibblk, ib) = sfor(pb, b0, b1, step_b);
    let strip_loop = |blk: sys::MlirBlock, stream: bool| {
        let (iablk, ia) = sfor(blk, a0, a1, w);
        let ibs: Vec<MlirValue> = (0..u).map(|k| tile.plus(iablk, ib, k * w)).collect();
        let tiles: Vec<Vec<MlirValue>> = ibs.iter().map(|ibk| tile.load(iablk, ia, *ibk)).collect();
        tile.store(iablk, ia, &ibs, &tiles, stream);
        yield_in(iablk);
    };
    match aligned {
        Some(aligned) => {
            let branch = ir::append(ibblk, b.op("scf.if", loc, &[aligned], &[], &[], 2));
            for (region, stream) in [(0, true), (1, false)] {
                let blk = ir::new_block(&[], loc);
                ir::append_block(ir::region(branch, region), blk);
                strip_loop(blk, stream);
                yield_in(blk);
            }
        }
        None => strip_loop(ibblk, false),
    }
    yield_in(ibblk);
    if stream {
        // Streaming stores are weakly ordered: a full fence makes them
        // visible before the task reports itself done.
        ir::append(pb, ir::full_fence(&b, loc));
    }
    ir::append(pb, b.op("scf.reduce", loc, &[], &[], &[], 0));
    crate::remark(
        top,
        &format!(
            "strata-vectorize: transposed copy of {:?} in {w}x{w} register tiles ({} shuffles each), strips of {strip} x {chunk}, {tasks} parallel task(s), {}; {} leftover element(s) stay scalar",
            t.trips,
            w * w.trailing_zeros() as i64,
            if stream { "streaming stores where the output is aligned" } else { "cached stores" },
            n_other * (ta * tb - a_full * b_full)
        ),
    );
    ir::replace_op(top, &[]);
}

#[cfg(test)]
mod tests {
    use super::transpose_rounds;

    /// The rounds, run on labels `(row, column)`, leave column `c` of the
    /// input in returned vector `c`, for every width and element size; with
    /// 32-bit elements the first round is the in-lane interleave (x86's
    /// `unpcklps`) and the others move whole 64-bit blocks.
    #[test]
    fn rounds_transpose_every_width() {
        for ebits in [8, 16, 32, 64] {
            for w in [2usize, 4, 8, 16] {
                let mut rows: Vec<Vec<(usize, usize)>> = (0..w).map(|r| (0..w).map(|c| (r, c)).collect()).collect();
                let (rounds, order) = transpose_rounds(w, ebits);
                for round in &rounds {
                    let pick = |x: &[(usize, usize)], y: &[(usize, usize)], m: &[i64]| -> Vec<(usize, usize)> {
                        m.iter().map(|&i| if (i as usize) < w { x[i as usize] } else { y[i as usize - w] }).collect()
                    };
                    let mut next = rows.clone();
                    for &(r, s) in &round.pairs {
                        next[r] = pick(&rows[r], &rows[s], &round.lo);
                        next[s] = pick(&rows[r], &rows[s], &round.hi);
                    }
                    rows = next;
                }
                for (c, &r) in order.iter().enumerate() {
                    let column: Vec<(usize, usize)> = (0..w).map(|i| (i, c)).collect();
                    assert_eq!(rows[r], column, "w {w}, {ebits}-bit: column {c}");
                }
                if ebits == 32 && w >= 4 {
                    let interleave: Vec<i64> = (0..w as i64).map(|c| c / 4 * 4 + (c % 4) / 2 + if c % 2 == 1 { w as i64 } else { 0 }).collect();
                    assert_eq!(rounds[0].lo, interleave, "w {w}: the first round is not unpcklps");
                    for round in &rounds[1..] {
                        // Pairs of elements move together: 64-bit blocks.
                        assert!(round.lo.chunks(2).chain(round.hi.chunks(2)).all(|p| p[0] % 2 == 0 && p[1] == p[0] + 1), "w {w}: {round:?}");
                    }
                }
            }
        }
    }
}
