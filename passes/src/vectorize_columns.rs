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

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::ir::{self, Builder};

/// The fewest vectors of columns a chunk has.
const U: i64 = 4;

/// Chunks of columns the work is split into for the workers. One: a row
/// read whole streams at the memory's speed, while splitting the columns
/// makes every row a set of runs a row apart, which the prefetcher follows
/// badly. Measured on Zen 4, column sums of 4096 x 4096 f32, 1 thread:
/// 4.7 ms in one chunk, 8.6-9.0 ms in 2, 4 or 16 (NumPy 3.8-4.0). Two
/// workers need the rows split instead, each with its own partial sums
/// combined once, which is not written yet.
const MIN_TASKS: i64 = 1;

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
}

/// Vectorizes every matching nest under `root` at `bits` per vector.
pub fn run(root: MlirOperation, bits: usize) {
    // Matched first, rewritten after: a rewrite erases loops that later
    // candidates would be.
    let matched: Vec<Columns> = ir::find(root, &["affine.parallel", "affine.for"]).into_iter().filter_map(match_columns).collect();
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
                rewrite(&c, w, u);
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
    ir::constant_map(rows, "lowerBoundMap")?;
    ir::constant_map(rows, "upperBoundMap")?;
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
    Some(Columns { outer, lanes, rows, body, init, load, store, combine, n })
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
