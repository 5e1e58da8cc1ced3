//! Reductions along an outer dimension (column sums, a softmax along dim
//! 0), a step of `strata-vectorize`.
//!
//! Matches the nest `strata-lower-to-affine` gives a reduction over rows:
//!
//! ```text
//! affine.parallel %j = 0 to N {            // the output's columns
//!   [affine.store %init, out[.., %j]]      // the identity, from outside
//!   affine.for %i = lo to hi {             // the reduced rows
//!     out[.., %j] = combine(out[.., %j], f(x[.., %i, %j], ...)) } }
//! ```
//!
//! (or the same with the rows loop outside and the columns inside, the
//! reduction's own loop order) where `%j` is only ever the last index of
//! a load or store, and every other load reads along `%j` and the row
//! too. Each lane (column) walks the rows a row apart, so the loop
//! neither vectorizes nor reads a cache line whole; with the rows outside,
//! the column loop would go to the pool once per row. Produces, for the
//! columns up to the last whole vector, an `scf.parallel` over chunks of
//! columns ([`MIN_TASKS`] of them: today one); each chunk walks the rows
//! in order and combines the row's chunk into the output `W` lanes at a
//! time (the output's chunk stays in cache), so every row is read as it
//! lies in memory. The
//! columns left keep the original nest, narrowed to them.
//!
//! Guarantees the same sums in the same order per column (the rows are
//! still combined one after another): bit-identical results.
//!
//! Tall nests (at least [`crate::split_reductions::MIN_SPLIT`] elements,
//! rows for [`MIN_BLOCK_ROWS`] per block, in no parallel loop) are split
//! along the rows instead ([`rewrite_split`]): 4 x the target's cores
//! blocks of rows in an `scf.parallel`, each combining its rows in order
//! into its own row of partial results (a `blocks x N` buffer, started at
//! the identity; [`ROWS_AT_ONCE`] rows per load and store of a vector of
//! it), then each column combined from the identity store's
//! value (or the output's) with the blocks' partials in block order. The
//! block count comes from the target, never the threads a call runs on, so
//! the results are the same at every thread count; floats are reassociated
//! (by blocks), which the spec allows for reductions.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::ir::{self, Builder};

/// The fewest vectors of columns a chunk has.
const U: i64 = 4;

/// Chunks of columns the work is split into for the workers. One: a row
/// read whole streams at the memory's speed, while splitting the columns
/// makes every row a set of runs a row apart, which the prefetcher follows
/// badly. Measured on Zen 4, column sums of 4096 x 4096 f32, 1 thread:
/// 4.7 ms in one chunk, 8.6-9.0 ms in 2, 4 or 16 (NumPy 3.8-4.0). Two
/// workers get the rows split instead ([`rewrite_split`]).
const MIN_TASKS: i64 = 1;

/// Rows a split reduction combines into each vector of its partial
/// results between a load and a store of it. Measured on the Zen 5 EPYC
/// (column sums of 4096 x 4096 f32 in 8 blocks, written in C, 1 thread):
/// 3.0-3.4 ms a row at a time (the partial row's load and store per row
/// besides the row's own load), 1.6-2.1 ms four at a time; in Strata,
/// medians of 7 rounds at 1 / 2 threads, 2.05 / 1.41 -> 1.63 / 1.08 ms.
/// Not in [`rewrite`] (one chunk of columns, a block of a column-tiled
/// softmax): there the same grouping made the softmax along dim 0 slower
/// (2.40 / 1.05 -> 2.75 / 1.31 ms).
const ROWS_AT_ONCE: i64 = 4;

/// The fewest rows a block of rows has when the rows are split.
const MIN_BLOCK_ROWS: i64 = 16;

/// The matched nest.
struct Columns {
    /// The outer of the two loops (what the new code replaces).
    outer: MlirOperation,
    /// The loop over the columns (narrowed to the columns left).
    lanes: MlirOperation,
    /// The loop over the reduced rows.
    rows: MlirOperation,
    /// The inner of the two, whose body is the element code.
    body: MlirOperation,
    /// The identity stored before it, if any.
    init: Option<(MlirOperation, MlirValue)>,
    load: MlirOperation,
    store: MlirOperation,
    combine: MlirOperation,
    n: i64,
    /// The reduced rows: `[lo, hi)`.
    row_range: (i64, i64),
}

/// Vectorizes every matching nest under `root` at `bits` per vector.
pub fn run(root: MlirOperation, bits: usize) {
    // Matched first, rewritten after: a rewrite erases loops that later
    // candidates would be.
    let matched: Vec<Columns> = ir::find(root, &["affine.parallel", "affine.for"]).into_iter().filter_map(match_columns).collect();
    let chunks = crate::split_reductions::chunks(&crate::target::Target::of_module(root));
    for c in matched {
        {
            let elem = ir::value_type(ir::result(c.combine, 0));
            let Some(ebits) = crate::vectorize_loops::scalar_bits(elem) else { continue };
            let w = (bits / ebits.max(8)) as i64;
            let mut u = U;
            while u > 1 && c.n < u * w {
                u /= 2;
            }
            if w >= 2 && c.n >= u * w {
                let blocks = row_blocks(&c, chunks);
                if blocks > 1 {
                    rewrite_split(&c, w, blocks);
                } else {
                    rewrite(&c, w, u);
                }
            }
        }
    }
}

/// Either nesting: the columns outside (`parallel j { [init]; for i {..} }`,
/// as the nest comes when fused) or inside (`for i { parallel j {..} }`,
/// the reduction's own loop order, its output filled before).
fn match_columns(outer: MlirOperation) -> Option<Columns> {
    let only = |op: MlirOperation| -> Vec<MlirOperation> { ir::ops_in(ir::first_block(ir::region(op, 0))) };
    let (lanes, rows, init, body) = match ir::name(outer).as_str() {
        "affine.parallel" => match only(outer).as_slice() {
            [rows, _yield] => (outer, *rows, None, *rows),
            [init, rows, _yield] => (outer, *rows, Some(*init), *rows),
            _ => return None,
        },
        "affine.for" => match only(outer).as_slice() {
            [lanes, _yield] if ir::name(*lanes) == "affine.parallel" => (*lanes, outer, None, *lanes),
            _ => return None,
        },
        _ => return None,
    };
    let par = lanes;
    let block = ir::first_block(ir::region(par, 0));
    // SAFETY: a live block.
    if unsafe { sys::mlirBlockGetNumArguments(block) } != 1
        || ir::constant_map(par, "lowerBoundsMap")? != 0
        || ir::int_attr(par, "steps")? != 1
    {
        return None;
    }
    let n = ir::constant_map(par, "upperBoundsMap")?;
    let j = ir::block_argument(block, 0);
    if ir::name(rows) != "affine.for" || ir::int_attr(rows, "step")? != 1 || !only(body).iter().all(plain) {
        return None;
    }
    let row_range = (ir::constant_map(rows, "lowerBoundMap")?, ir::constant_map(rows, "upperBoundMap")?);
    // SAFETY: a live op.
    if unsafe { sys::mlirOperationGetNumResults(rows) } != 0 {
        return None;
    }
    let inner = only(body);
    let stores: Vec<MlirOperation> = inner.iter().copied().filter(|o| ir::name(*o) == "affine.store").collect();
    let [store] = stores.as_slice() else { return None };
    let store = *store;
    let out = ir::operand(store, 1);
    let out_idx = ir::operands(store)[2..].to_vec();
    if !identity(store) || out_idx.last()?.ptr != j.ptr || out_idx[..out_idx.len() - 1].iter().any(|v| ir::defined_inside(*v, outer)) {
        return None;
    }
    if !crate::vectorize_loops::private_buffer(out) || ir::shape(ir::value_type(out)).0.last() != Some(&n) {
        return None;
    }
    // SAFETY: value queries on live IR.
    let combine = unsafe {
        let v = ir::operand(store, 0);
        if !sys::mlirValueIsAOpResult(v) {
            return None;
        }
        sys::mlirOpResultGetOwner(v)
    };
    let same_element = |o: MlirOperation| {
        ir::name(o) == "affine.load" && identity(o) && ir::operand(o, 0).ptr == out.ptr && {
            let idx = ir::operands(o)[1..].to_vec();
            idx.len() == out_idx.len() && idx.iter().zip(&out_idx).all(|(a, b)| a.ptr == b.ptr)
        }
    };
    let out_loads: Vec<MlirOperation> =
        inner.iter().copied().filter(|o| ir::operands(*o).iter().any(|v| v.ptr == out.ptr) && o.ptr != store.ptr).collect();
    let [load] = out_loads.as_slice() else { return None };
    let load = *load;
    let ty = ir::print_type(ir::value_type(ir::result(combine, 0)));
    crate::vectorize_loops::reduction_kind(&ir::name(combine), &ty)?;
    let (a, b) = (ir::operand(combine, 0), ir::operand(combine, 1));
    if !same_element(load) || !(a.ptr == ir::result(load, 0).ptr || b.ptr == ir::result(load, 0).ptr) || ir::single_user(ir::result(load, 0)).is_none() {
        return None;
    }
    // `%j` is the last index of every other load too, and nothing else.
    for o in ir::walk(body) {
        let ops = ir::operands(o);
        let uses_j = ops.iter().any(|v| v.ptr == j.ptr);
        match ir::name(o).as_str() {
            "affine.load" if o.ptr != load.ptr => {
                let idx = &ops[1..];
                if !identity(o) || idx.last().map(|v| v.ptr) != Some(j.ptr) || idx[..idx.len() - 1].iter().any(|v| v.ptr == j.ptr) {
                    return None;
                }
                // Lane-varying, and varying with the row too: a load that
                // does not depend on the row would read the same vector in
                // every step (the vectorizer takes it for a uniform one).
                if !idx[..idx.len() - 1].iter().any(|v| ir::defined_inside(*v, rows)) {
                    return None;
                }
                let (shape, _) = ir::shape(ir::value_type(ops[0]));
                if shape.last() != Some(&n) || crate::vectorize_loops::may_alias(ops[0], out) {
                    return None;
                }
            }
            _ if uses_j && o.ptr != load.ptr && o.ptr != store.ptr => return None,
            _ => {}
        }
    }
    let init = match init {
        Some(s) => {
            let ops = ir::operands(s);
            let idx = &ops[2..];
            let ok = ir::name(s) == "affine.store"
                && identity(s)
                && ops[1].ptr == out.ptr
                && idx.len() == out_idx.len()
                && idx.iter().zip(&out_idx).all(|(a, b)| a.ptr == b.ptr)
                && !ir::defined_inside(ops[0], par);
            if !ok {
                return None;
            }
            Some((s, ops[0]))
        }
        None => None,
    };
    Some(Columns { outer, lanes, rows, body, init, load, store, combine, n, row_range })
}

fn identity(op: MlirOperation) -> bool {
    // SAFETY: affine.load/store carry an AffineMapAttr `map`.
    ir::attribute(op, "map").is_some_and(|a| unsafe { sys::mlirAffineMapIsIdentity(sys::mlirAffineMapAttrGetValue(a)) })
}

/// Ops the vector code can be made of.
fn plain(op: &MlirOperation) -> bool {
    let name = ir::name(*op);
    matches!(name.as_str(), "affine.load" | "affine.store" | "affine.yield") || name.starts_with("arith.") || name.starts_with("math.")
}

fn rewrite(c: &Columns, w: i64, u: i64) {
    let par = c.outer;
    let b = Builder::of_op(par);
    let loc = ir::location(par);
    let index = b.index_type();
    let n_full = c.n - c.n % w;
    // Chunks of columns for the workers, each at least U vectors wide:
    // a row step reads `chunk` contiguous elements, and the chunk of the
    // output it updates stays in L1.
    let chunk = ((n_full + MIN_TASKS - 1) / MIN_TASKS + w - 1) / w * w;
    let chunk = chunk.max(u * w).min(n_full);
    let elem = ir::value_type(ir::result(c.combine, 0));
    let vty = ir::vector_type(&[w], elem);
    let at = |op| ir::insert_before(par, op);
    let cst = |blk: sys::MlirBlock, v: i64| ir::result(ir::append(blk, b.index_constant(loc, v)), 0);
    let segments = {
        // SAFETY: a live context; the sizes outlive the call.
        unsafe { sys::mlirDenseI32ArrayGet(b.ctx, 4, [1, 1, 1, 0].as_ptr()) }
    };
    let (lo, hi, step) = (ir::result(at(b.index_constant(loc, 0)), 0), ir::result(at(b.index_constant(loc, n_full)), 0), ir::result(at(b.index_constant(loc, chunk)), 0));
    let newpar = at(b.op("scf.parallel", loc, &[lo, hi, step], &[], &[("operandSegmentSizes", segments)], 1));
    let pb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(newpar, 0), pb);
    let jc = ir::block_argument(pb, 0);
    let end = ir::result(ir::append(pb, b.op("arith.addi", loc, &[jc, cst(pb, chunk)], &[index], &[], 0)), 0);
    let jend = ir::result(ir::append(pb, b.op("arith.minsi", loc, &[end, cst(pb, n_full)], &[index], &[], 0)), 0);
    let out_ops = ir::operands(c.store);
    let (out, out_idx) = (out_ops[1], out_ops[2..out_ops.len() - 1].to_vec());
    let at_col = |col: MlirValue| {
        let mut v = vec![out];
        v.extend(&out_idx);
        v.push(col);
        v
    };
    // A loop over this chunk's vectors of columns, appended to `blk`.
    let columns = |blk: sys::MlirBlock| -> (sys::MlirBlock, MlirValue) {
        let f = ir::append(blk, b.op("scf.for", loc, &[jc, jend, cst(blk, w)], &[], &[], 1));
        let body = ir::new_block(&[index], loc);
        ir::append_block(ir::region(f, 0), body);
        (body, ir::block_argument(body, 0))
    };
    if let Some((_, value)) = c.init {
        let (fb, jv) = columns(pb);
        let v = ir::result(ir::append(fb, b.op("vector.broadcast", loc, &[value], &[vty], &[], 0)), 0);
        let mut st = vec![v];
        st.extend(at_col(jv));
        ir::append(fb, b.op("vector.store", loc, &st, &[], &[], 0));
        ir::append(fb, b.op("scf.yield", loc, &[], &[], &[], 0));
    }
    // The rows, in order; each row's chunk combined into the output.
    let rows_block = ir::first_block(ir::region(c.rows, 0));
    let body_block = ir::first_block(ir::region(c.body, 0));
    let bound = |name| ir::result(ir::append(pb, b.index_constant(loc, ir::constant_map(c.rows, name).expect("matched"))), 0);
    let (rlo, rhi) = (bound("lowerBoundMap"), bound("upperBoundMap"));
    let ifor = ir::append(pb, b.op("scf.for", loc, &[rlo, rhi, cst(pb, 1)], &[], &[], 1));
    let ib = ir::new_block(&[index], loc);
    ir::append_block(ir::region(ifor, 0), ib);
    let i_new = ir::block_argument(ib, 0);
    let (jb, jv) = columns(ib);
    let acc = ir::result(ir::append(jb, b.op("vector.load", loc, &at_col(jv), &[vty], &[], 0)), 0);
    let mut vz = crate::vectorize_loops::Vectorizer::new(b, c.body, loc, w as usize, newpar);
    vz.bind_index(ir::block_argument(rows_block, 0), i_new, jb);
    vz.skip(c.load);
    vz.skip(c.store);
    vz.bind(ir::result(c.load, 0), acc);
    vz.body(body_block, jb, jv);
    let mut st = vec![vz.vec(ir::result(c.combine, 0))];
    st.extend(at_col(jv));
    ir::append(jb, b.op("vector.store", loc, &st, &[], &[], 0));
    ir::append(jb, b.op("scf.yield", loc, &[], &[], &[], 0));
    ir::append(ib, b.op("scf.yield", loc, &[], &[], &[], 0));
    ir::append(pb, b.op("scf.reduce", loc, &[], &[], &[], 0));
    crate::remark(
        par,
        &format!(
            "strata-vectorize: reduction over rows of {} columns in {} parallel chunk(s) of {chunk}, each row's chunk combined {w} lanes at a time; {} leftover column(s) stay scalar",
            c.n,
            (n_full + chunk - 1) / chunk,
            c.n - n_full
        ),
    );
    if n_full == c.n {
        ir::replace_op(par, &[]);
    } else {
        ir::narrow_lower_bound(c.lanes, n_full);
    }
}

/// How many blocks of rows the nest is split into: 4 x the target's cores
/// ([`crate::split_reductions::chunks`]), fewer when there are not
/// [`MIN_BLOCK_ROWS`] rows for each; one (the rows in order, [`rewrite`])
/// when it reduces fewer than [`crate::split_reductions::MIN_SPLIT`]
/// elements in all, or is inside a parallel loop (whose workers it would
/// otherwise run inside).
fn row_blocks(c: &Columns, chunks: i64) -> i64 {
    let rows = c.row_range.1 - c.row_range.0;
    let nested = ["affine.parallel", "scf.parallel", "strata.parallel_for"].iter().any(|n| ir::enclosing(c.outer, n).is_some());
    if nested || rows * c.n < crate::split_reductions::MIN_SPLIT {
        return 1;
    }
    chunks.min(rows / MIN_BLOCK_ROWS).max(1)
}

/// The rows split into `blocks` blocks, one task each: every task combines
/// its rows, in order, into its own row of partial results (started at the
/// combine's identity), `W` lanes at a time; then each column is the
/// identity store's value (or what `out` held) combined with the blocks'
/// partial results in block order.
fn rewrite_split(c: &Columns, w: i64, blocks: i64) {
    let par = c.outer;
    let b = Builder::of_op(par);
    let loc = ir::location(par);
    let index = b.index_type();
    let n_full = c.n - c.n % w;
    let elem = ir::value_type(ir::result(c.combine, 0));
    let ty = ir::print_type(elem);
    let name = ir::name(c.combine);
    let (kind, id) = crate::vectorize_loops::reduction_kind(&name, &ty).expect("matched");
    let vty = ir::vector_type(&[w], elem);
    let at = |op| ir::insert_before(par, op);
    let cst = |blk: sys::MlirBlock, v: i64| ir::result(ir::append(blk, b.index_constant(loc, v)), 0);
    let parts_ty = ir::memref_type(&[blocks, n_full], elem);
    // On a cache line, so that no vector of a partial row straddles two
    // (malloc's 16 bytes put every 64-byte vector across a line boundary).
    // SAFETY: a live context.
    let line = ir::integer_attr(unsafe { sys::mlirIntegerTypeGet(b.ctx, 64) }, 64);
    let parts = ir::result(
        at(b.op("memref.alloc", loc, &[], &[parts_ty], &[("operandSegmentSizes", b.attr("array<i32: 0, 0>")), ("alignment", line)], 0)),
        0,
    );
    let identity = ir::result(at(b.op("arith.constant", loc, &[], &[vty], &[("value", b.attr(&format!("dense<{id}> : vector<{w}x{ty}>")))], 0)), 0);
    let (rlo, rhi) = c.row_range;
    let per = (rhi - rlo + blocks - 1) / blocks;
    let segments = b.attr("array<i32: 1, 1, 1, 0>");
    let (lo, hi, one) = (ir::result(at(b.index_constant(loc, 0)), 0), ir::result(at(b.index_constant(loc, blocks)), 0), ir::result(at(b.index_constant(loc, 1)), 0));
    let newpar = at(b.op("scf.parallel", loc, &[lo, hi, one], &[], &[("operandSegmentSizes", segments), ("strata.grain", b.attr("1 : i64"))], 1));
    let pb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(newpar, 0), pb);
    let tb = ir::block_argument(pb, 0);
    let ib = |blk: sys::MlirBlock, name: &str, x: MlirValue, y: MlirValue| ir::result(ir::append(blk, b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    // A loop over the vectors of columns, appended to `blk`.
    let columns = |blk: sys::MlirBlock| -> (sys::MlirBlock, MlirValue) {
        let f = ir::append(blk, b.op("scf.for", loc, &[cst(blk, 0), cst(blk, n_full), cst(blk, w)], &[], &[], 1));
        let body = ir::new_block(&[index], loc);
        ir::append_block(ir::region(f, 0), body);
        (body, ir::block_argument(body, 0))
    };
    {
        let (fb, jv) = columns(pb);
        ir::append(fb, b.op("vector.store", loc, &[identity, parts, tb, jv], &[], &[], 0));
        ir::append(fb, b.op("scf.yield", loc, &[], &[], &[], 0));
    }
    let first = ib(pb, "arith.addi", cst(pb, rlo), ib(pb, "arith.muli", tb, cst(pb, per)));
    let last = ib(pb, "arith.minsi", ib(pb, "arith.addi", first, cst(pb, per)), cst(pb, rhi));
    // Rows ROWS_AT_ONCE at a time (each vector of partial results loaded
    // and stored once per group, the rows combined into it in order, so
    // the sums are the same), then the rows left one at a time.
    let grouped = ib(pb, "arith.muli", ib(pb, "arith.divsi", ib(pb, "arith.subi", last, first), cst(pb, ROWS_AT_ONCE)), cst(pb, ROWS_AT_ONCE));
    let split = ib(pb, "arith.addi", first, grouped);
    let rows_block = ir::first_block(ir::region(c.rows, 0));
    let body_block = ir::first_block(ir::region(c.body, 0));
    for (from, to, rows) in [(first, split, ROWS_AT_ONCE), (split, last, 1)] {
        let ifor = ir::append(pb, b.op("scf.for", loc, &[from, to, cst(pb, rows)], &[], &[], 1));
        let rb = ir::new_block(&[index], loc);
        ir::append_block(ir::region(ifor, 0), rb);
        let i_new = ir::block_argument(rb, 0);
        let (jb, jv) = columns(rb);
        let mut acc = ir::result(ir::append(jb, b.op("vector.load", loc, &[parts, tb, jv], &[vty], &[], 0)), 0);
        for r in 0..rows {
            let row = if r == 0 { i_new } else { ib(jb, "arith.addi", i_new, cst(jb, r)) };
            let mut vz = crate::vectorize_loops::Vectorizer::new(b, c.body, loc, w as usize, newpar);
            vz.bind_index(ir::block_argument(rows_block, 0), row, jb);
            vz.skip(c.load);
            vz.skip(c.store);
            vz.bind(ir::result(c.load, 0), acc);
            vz.body(body_block, jb, jv);
            acc = vz.vec(ir::result(c.combine, 0));
        }
        ir::append(jb, b.op("vector.store", loc, &[acc, parts, tb, jv], &[], &[], 0));
        ir::append(jb, b.op("scf.yield", loc, &[], &[], &[], 0));
        ir::append(rb, b.op("scf.yield", loc, &[], &[], &[], 0));
    }
    ir::append(pb, b.op("scf.reduce", loc, &[], &[], &[], 0));

    // Each vector of columns: the start value, then every block's partials.
    let out_ops = ir::operands(c.store);
    let (out, out_idx) = (out_ops[1], out_ops[2..out_ops.len() - 1].to_vec());
    let fold_block = ir::new_block(&[], loc);
    let (fb, jv) = columns(fold_block);
    let mut at_col = vec![out];
    at_col.extend(&out_idx);
    at_col.push(jv);
    let start = match c.init {
        Some((_, value)) => ir::result(ir::append(fb, b.op("vector.broadcast", loc, &[value], &[vty], &[], 0)), 0),
        None => ir::result(ir::append(fb, b.op("vector.load", loc, &at_col, &[vty], &[], 0)), 0),
    };
    let kf = ir::append(fb, b.op("scf.for", loc, &[cst(fb, 0), cst(fb, blocks), cst(fb, 1), start], &[vty], &[], 1));
    let kb = ir::new_block(&[index, vty], loc);
    ir::append_block(ir::region(kf, 0), kb);
    let part = ir::result(ir::append(kb, b.op("vector.load", loc, &[parts, ir::block_argument(kb, 0), jv], &[vty], &[], 0)), 0);
    let next = ir::result(ir::append(kb, b.op(&name, loc, &[ir::block_argument(kb, 1), part], &[vty], &[], 0)), 0);
    ir::append(kb, b.op("scf.yield", loc, &[next], &[], &[], 0));
    let mut st = vec![ir::result(kf, 0)];
    st.extend(&at_col);
    ir::append(fb, b.op("vector.store", loc, &st, &[], &[], 0));
    ir::append(fb, b.op("scf.yield", loc, &[], &[], &[], 0));
    for op in ir::ops_in(fold_block) {
        // SAFETY: moving the fold's ops from their detached block before `par`.
        unsafe { sys::mlirOperationRemoveFromParent(op) };
        at(op);
    }
    // SAFETY: the block is empty and detached.
    unsafe { sys::mlirBlockDestroy(fold_block) };
    crate::remark(
        par,
        &format!(
            "strata-vectorize: {kind} reduction over {} rows of {} columns split into {blocks} parallel blocks of {per} rows, each into its own partial results {w} lanes at a time, then folded in block order; {} leftover column(s) stay scalar",
            rhi - rlo,
            c.n,
            c.n - n_full
        ),
    );
    at(b.op("memref.dealloc", loc, &[parts], &[], &[], 0));
    if n_full == c.n {
        ir::replace_op(par, &[]);
    } else {
        ir::narrow_lower_bound(c.lanes, n_full);
    }
}
