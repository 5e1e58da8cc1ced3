//! `strata-fuse-columns` (a step of `strata-lower-to-affine{fuse-loops}`,
//! right after the parallel marking): tiles the columns of a chain of loop
//! nests that reduce along the rows (a softmax or a normalization along
//! dim 0) and fuses the chain into one parallel loop over blocks of
//! columns, each block's temporaries shrunk to the block. After the
//! marking, because the views hide from affine's dependence analysis that
//! two blocks touch different columns, so a loop around the chain would
//! no longer be marked parallel.
//!
//! Why: a softmax along dim 0 is six nests (fill and reduce the column
//! maxima, the exponentials, fill and reduce the sums, the division),
//! and each column's reduction must see every row before any output of
//! that column exists, so the rows cannot be fused (`strata-fuse-rows`
//! leaves them apart). Each nest then streams the whole `rows x cols`
//! input or temporary through memory again. Tiled by columns, a block of
//! `rows x CB` is read from memory once, stays in the L2 for the nests
//! after the first, and its temporaries never leave the cache.
//!
//! Matches runs of consecutive nests with only `memref.alloc`s and
//! constants between them, in a function's body or in the body of a loop
//! there (the loop over the leading dimension that `strata-fuse-rows`
//! makes of a reduction along dim 1 of a rank-3 tensor), each either a
//! loop over the columns `%j = 0 to C` or a loop over rows around one
//! (`affine.for` or one-variable `affine.parallel`, constant bounds, step
//! 1, no results, bodies of affine loads and stores, `arith` and `math`),
//! with the same `C`. Legal when every buffer the run writes is accessed,
//! in every nest, only at column `%j` (maps of dimensions and constants
//! whose last index is `%j`, which no other index uses, on a last
//! dimension of `C`), the written buffers cannot alias any other buffer of
//! the run, and every index is a loop variable or defined outside: then
//! iterations in different blocks of columns touch disjoint elements of
//! everything written, and within a block every access keeps its
//! original order.
//!
//! Produces an `scf.parallel` over blocks of `CB` columns; each iteration
//! takes a `memref.subview` of `rows x CB` of each buffer it reads or
//! writes at column `%j`, allocates each temporary (an alloc used only in
//! the run) at `rows x CB`, and runs the nests in their order over the
//! block (`%j` from 0 to `CB`, on the views). The columns past the last
//! whole block run once more the same way after the loop.
//!
//! The cost rule: nothing is recomputed; what is traded is row length.
//! A block's row is a run of `CB` elements a whole row apart, which the
//! prefetchers follow worse than a whole row, so the chain is tiled only
//! when it has a column reduction (without one nothing is re-read) and a
//! block of the buffers more than one nest reads (those that must stay
//! in cache between nests) fits half the target's L2 (the other half is
//! for the lines streaming in and out) with runs of at least
//! [`MIN_RUN_BYTES`], and the whole of them does not fit the L2 (then the
//! nests keep their own parallel loops and the data stays in cache
//! anyway); `CB` is the widest whole number of cache lines that fits, at
//! most the columns split evenly over the target's cores. Measured on the
//! Zen 5 EPYC (1 MiB L2), 1024 x 4096 f32 softmax along dim 0, medians of
//! five rounds at 1 / 2 threads: 3.13 / 1.66 ms in blocks of 32 columns,
//! 2.24 / 1.09 at 64 (half the L2), 2.63 / 1.29 at 128 (all of it). The
//! decision and its figures are reported under `--strata-remarks`.
//!
//! While a whole block computes, its first elementwise nest over the rows
//! (an `affine.parallel`) after the one that first reads an input (a
//! two-dimensional buffer from outside the run, read at `[row, %j]`)
//! prefetches the next block's part of each of that input's rows ([`NextBlock`]), so the next block's strided
//! first read finds its lines on the way; the remark says how many inputs.
//! Each output the run only writes, larger than the L2, asks for streaming
//! stores on the column loops that write it ([`streamed_outputs`],
//! `strata.stream_stores`): a block's output rows are as strided as its
//! input rows, and an ordinary store reads each line first.
//!
//! Guarantees the same results bit for bit: every element's operations
//! run in their original order (prefetches are hints).

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-fuse-columns",
    summary: "Tile the columns of a chain of loop nests that reduce along the rows and fuse it into one parallel loop over blocks of columns, temporaries shrunk to a block",
    options: &[OptionSpec {
        name: "block",
        kind: OptionKind::Int,
        default: "0",
        description: "columns per block: 0 lets the cost rule decide, 1 never tiles, more tiles every legal chain with reductions along the rows in blocks of that many columns (the tuner's column-block knob)",
    }],
    status: Status::Internal,
    build: Build::Rust(|o: &PassOptions| Box::new(FuseColumns { block: o.int("block") })),
};

/// The shortest run of one row a block of columns may have: rows split
/// into shorter runs are followed badly by the prefetchers. Measured on
/// the Zen 5 EPYC, a 1024 x 4096 f32 softmax along dim 0 written in C took
/// 4.0-4.2 ms unblocked at 1 thread, 4.5 ms in blocks of 32 columns (128
/// bytes), 3.5-3.8 ms at 64 and 2.9-3.5 ms at 128 or 256.
pub const MIN_RUN_BYTES: i64 = 256;

#[derive(Clone, Copy)]
struct FuseColumns {
    /// `block`: 0 the cost rule, 1 never tile, more: blocks of that many
    /// columns wherever tiling is legal.
    block: i64,
}

/// What [`visit`] does with each legal chain.
enum Mode<'a> {
    Rewrite { block: i64 },
    /// Only lists them (the tuner's sites): columns and element bytes.
    Survey(&'a mut Vec<(i64, i64)>),
}

fn visit(root: MlirOperation, mode: &mut Mode) {
    let target = crate::target::Target::of_module(root);
    for func in ir::find(root, &["func.func"]) {
        let region = ir::region(func, 0);
        // SAFETY: walking a live region's block list.
        let mut block = unsafe { sys::mlirRegionGetFirstBlock(region) };
        while !block.ptr.is_null() {
            // Chains inside a loop over the leading dimensions (what
            // strata-fuse-rows makes of a reduction along dim 1 of a
            // rank-3 tensor) first, then the function's own.
            for op in ir::ops_in(block) {
                if bound_names(op).is_some() {
                    fuse_block(ir::first_block(ir::region(op, 0)), &target, mode);
                }
            }
            fuse_block(block, &target, mode);
            // SAFETY: as above.
            block = unsafe { sys::mlirBlockGetNextInRegion(block) };
        }
    }
}

/// The chains of `module` this pass could tile, whatever its cost rule
/// decides (the tuner's `column-block` sites): each one's columns and
/// widest element in bytes.
pub fn candidates(module: MlirOperation) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    visit(module, &mut Mode::Survey(&mut out));
    out
}

impl StrataPass for FuseColumns {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        if self.block < 0 {
            ir::emit_error(
                root.to_raw(),
                &format!("'strata-fuse-columns' option block must be 0 (the cost rule), 1 (never tile) or a column count, not {}", self.block),
            );
            return Err(PassFailed);
        }
        visit(root.to_raw(), &mut Mode::Rewrite { block: self.block });
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// One nest of a run: `cols` is the loop over the columns, `rows` the loop
/// around it, if any; `op` is the outermost.
#[derive(Clone, Copy)]
struct Nest {
    op: MlirOperation,
    rows: Option<MlirOperation>,
    cols: MlirOperation,
}

/// One `affine.load`/`affine.store` of a run.
struct Access {
    op: MlirOperation,
    nest: usize,
    memref: MlirValue,
    write: bool,
    /// Identity map, last index the column variable (and no other index
    /// is), on a last dimension of the run's columns.
    at_column: bool,
    /// Whether an index is the column variable.
    uses_column: bool,
    /// Whether an index is the nest's row variable.
    uses_row: bool,
    /// How many elements of one column the nest's rows reach through
    /// this access (1 when it does not walk the rows).
    rows: i64,
}

/// `affine.for`, or `affine.parallel` of one variable, from 0 to a
/// constant, step 1, without results: the loop's trip count.
fn counted_loop(op: MlirOperation) -> Option<i64> {
    // SAFETY: a live op.
    let results = unsafe { sys::mlirOperationGetNumResults(op) };
    if results != 0 {
        return None;
    }
    let (lower, upper, step) = bound_names(op)?;
    (ir::constant_map(op, lower) == Some(0) && ir::int_attr(op, step) == Some(1))
        .then(|| ir::constant_map(op, upper))
        .flatten()
}

/// The lower bound, upper bound and step attributes of an affine loop.
fn bound_names(op: MlirOperation) -> Option<(&'static str, &'static str, &'static str)> {
    match ir::name(op).as_str() {
        "affine.for" => Some(("lowerBoundMap", "upperBoundMap", "step")),
        "affine.parallel" => {
            // SAFETY: a live op.
            (unsafe { sys::mlirBlockGetNumArguments(ir::first_block(ir::region(op, 0))) } == 1)
                .then_some(("lowerBoundsMap", "upperBoundsMap", "steps"))
        }
        _ => None,
    }
}

fn body(op: MlirOperation) -> Vec<MlirOperation> {
    let ops = ir::ops_in(ir::first_block(ir::region(op, 0)));
    ops[..ops.len().saturating_sub(1)].to_vec()
}

fn iv(lp: MlirOperation) -> MlirValue {
    ir::block_argument(ir::first_block(ir::region(lp, 0)), 0)
}

/// Ops a fused body may hold: nothing with regions or effects but the
/// affine loads and stores.
fn plain(op: MlirOperation) -> bool {
    let name = ir::name(op);
    // SAFETY: a live op.
    let regions = unsafe { sys::mlirOperationGetNumRegions(op) };
    regions == 0
        && (matches!(name.as_str(), "affine.load" | "affine.store")
            || name.starts_with("arith.")
            || name.starts_with("math."))
}

/// The nest `op` is, and its column count.
fn nest(op: MlirOperation) -> Option<(Nest, i64)> {
    let outer = counted_loop(op)?;
    match body(op).as_slice() {
        [inner] if counted_loop(*inner).is_some() => {
            let cols = counted_loop(*inner)?;
            body(*inner).into_iter().all(plain).then_some((
                Nest {
                    op,
                    rows: Some(op),
                    cols: *inner,
                },
                cols,
            ))
        }
        ops => ops.iter().all(|o| plain(*o)).then_some((
            Nest {
                op,
                rows: None,
                cols: op,
            },
            outer,
        )),
    }
}

fn fuse_block(block: sys::MlirBlock, target: &crate::target::Target, mode: &mut Mode) {
    let mut run: Vec<Nest> = Vec::new();
    let mut cols = 0;
    let mut between: Vec<MlirOperation> = Vec::new();
    for op in ir::ops_in(block) {
        match nest(op) {
            Some((n, c)) if run.is_empty() || c == cols => {
                run.push(n);
                cols = c;
            }
            Some((n, c)) => {
                try_fuse(block, &run, &between, cols, target, mode);
                run = vec![n];
                between.clear();
                cols = c;
            }
            None => {
                let name = ir::name(op);
                if !run.is_empty()
                    && (name == "memref.alloc" && ir::operands(op).is_empty()
                        || name == "arith.constant"
                        || name == "memref.dealloc")
                {
                    between.push(op);
                } else {
                    try_fuse(block, &run, &between, cols, target, mode);
                    run.clear();
                    between.clear();
                }
            }
        }
    }
    try_fuse(block, &run, &between, cols, target, mode);
}

/// The accesses of `run`, or `None` when an index is neither a loop
/// variable of its nest nor defined outside the run.
fn accesses(run: &[Nest], cols: i64) -> Option<Vec<Access>> {
    let mut out = Vec::new();
    for (k, n) in run.iter().enumerate() {
        let j = iv(n.cols);
        let i = n.rows.map(iv);
        for op in ir::walk(n.cols) {
            let name = ir::name(op);
            let first = match name.as_str() {
                "affine.load" => 1,
                "affine.store" => 2,
                _ => continue,
            };
            let ops = ir::operands(op);
            let memref = ops[first - 1];
            let operands = &ops[first..];
            if operands.iter().any(|v| {
                v.ptr != j.ptr && i.is_none_or(|i| v.ptr != i.ptr) && ir::defined_inside(*v, n.op)
            }) {
                return None;
            }
            let (shape, _) = ir::shape(ir::value_type(memref));
            let uses_column = operands.iter().any(|v| v.ptr == j.ptr);
            let uses_row = i.is_some_and(|i| operands.iter().any(|v| v.ptr == i.ptr));
            // The index of each dimension: an operand, or a constant.
            let idx = ir::attribute(op, "map").and_then(|a| {
                // SAFETY: affine.load/store carry an AffineMapAttr `map`.
                let map = unsafe { sys::mlirAffineMapAttrGetValue(a) };
                ir::map_dims_or_constants(map).map(|dims| {
                    dims.into_iter()
                        .map(|d| d.map(|p| operands[p]))
                        .collect::<Vec<_>>()
                })
            });
            let at_column = idx.as_ref().is_some_and(|idx| {
                idx.last()
                    .is_some_and(|v| v.is_some_and(|v| v.ptr == j.ptr))
                    && !idx[..idx.len() - 1]
                        .iter()
                        .any(|v| v.is_some_and(|v| v.ptr == j.ptr))
            }) && shape.last() == Some(&cols);
            // Rows of the buffer this access walks: the dimensions indexed
            // by the nest's row variable.
            let rows = match (&idx, i) {
                (Some(idx), Some(i)) if at_column => idx[..idx.len() - 1]
                    .iter()
                    .zip(&shape)
                    .map(|(v, d)| {
                        if v.is_some_and(|v| v.ptr == i.ptr) {
                            *d
                        } else {
                            1
                        }
                    })
                    .product(),
                _ => 1,
            };
            out.push(Access {
                op,
                nest: k,
                memref,
                write: name == "affine.store",
                at_column,
                uses_column,
                uses_row,
                rows,
            });
        }
    }
    Some(out)
}

/// A static shape, the identity layout, the default memory space.
fn plain_buffer(t: sys::MlirType) -> bool {
    // SAFETY: a type query on a memref type (checked first).
    ir::is_plain_memref(t) && unsafe { sys::mlirMemRefTypeGetMemorySpace(t).ptr.is_null() }
}

/// A buffer that is itself a root: an allocation or a function argument.
fn root(v: MlirValue) -> bool {
    // SAFETY: value queries on live IR.
    unsafe {
        if sys::mlirValueIsAOpResult(v) {
            ir::name(sys::mlirOpResultGetOwner(v)) == "memref.alloc"
        } else {
            ir::name(sys::mlirBlockGetParentOperation(
                sys::mlirBlockArgumentGetOwner(v),
            )) == "func.func"
        }
    }
}


fn element_bytes(t: sys::MlirType) -> Option<i64> {
    crate::vectorize_loops::scalar_bits(ir::shape(t).1).map(|b| (b as i64 / 8).max(1))
}

fn try_fuse(
    block: sys::MlirBlock,
    run: &[Nest],
    between: &[MlirOperation],
    cols: i64,
    target: &crate::target::Target,
    mode: &mut Mode,
) {
    if run.len() < 2 {
        return;
    }
    let Some(acc) = accesses(run, cols) else {
        return;
    };
    // Legality.
    if acc.iter().any(|a| a.uses_column && !a.at_column) {
        return;
    }
    let written: Vec<MlirValue> = dedup(acc.iter().filter(|a| a.write).map(|a| a.memref));
    let all: Vec<MlirValue> = dedup(acc.iter().map(|a| a.memref));
    // Views and block temporaries are built for static shapes with the
    // identity layout in the default memory space.
    if acc.iter().any(|a| a.at_column && !plain_buffer(ir::value_type(a.memref))) {
        return;
    }
    for w in &written {
        if !ir::is_plain_memref(ir::value_type(*w))
            || !root(*w)
            || acc.iter().any(|a| a.memref.ptr == w.ptr && !a.at_column)
        {
            return;
        }
        if all
            .iter()
            .any(|v| v.ptr != w.ptr && crate::vectorize_loops::may_alias(*w, *v))
        {
            return;
        }
    }
    // Profitability: a column reduction, and blocks more than one nest
    // reads (they must stay in cache between nests).
    let reduces = run.iter().enumerate().any(|(k, n)| {
        n.rows.is_some() && acc.iter().any(|a| a.nest == k && a.write && !a.uses_row)
    });
    let mut reused = Vec::new();
    for m in &all {
        let mut nests: Vec<usize> = acc
            .iter()
            .filter(|a| a.memref.ptr == m.ptr && a.at_column && a.uses_row)
            .map(|a| a.nest)
            .collect();
        nests.dedup();
        if nests.len() > 1 {
            reused.push(*m);
        }
    }
    let first = run[0].op;
    if !reduces || reused.is_empty() {
        return;
    }
    let per_block = match mode {
        Mode::Rewrite { block } => *block,
        Mode::Survey(out) => {
            let widest = reused.iter().filter_map(|m| element_bytes(ir::value_type(*m))).max().unwrap_or(4);
            out.push((cols, widest));
            return;
        }
    };
    if per_block == 1 {
        return;
    }
    let mut bytes_per_column = 0;
    let mut widest = 1;
    for m in &reused {
        let Some(eb) = element_bytes(ir::value_type(*m)) else {
            return;
        };
        let rows = acc
            .iter()
            .filter(|a| a.memref.ptr == m.ptr)
            .map(|a| a.rows)
            .max()
            .unwrap_or(1);
        bytes_per_column += rows * eb;
        widest = widest.max(eb);
    }
    let line = (64 / widest).max(1);
    let fits = target.l2_bytes / 2 / bytes_per_column.max(1) / line * line;
    let even = ((cols + target.cores.max(1) - 1) / target.cores.max(1) + line - 1) / line * line;
    let cb = if per_block > 1 { per_block } else { fits.min(even) };
    if per_block > 1 && cb >= cols {
        return;
    }
    if per_block == 0 && bytes_per_column * cols <= target.l2_bytes {
        // It stays in the L2 untiled, and the nests keep their own
        // parallel loops.
        crate::remark(first, &format!("strata-fuse-columns: {} loop nests over {cols} columns not fused: they fit the L2 untiled", run.len()));
        return;
    }
    if per_block == 0 && cb * widest < MIN_RUN_BYTES {
        crate::remark(
            first,
            &format!(
                "strata-fuse-columns: {} loop nests over {cols} columns not fused: a block of the {} buffer(s) more than one nest reads, with rows of {MIN_RUN_BYTES} bytes, would take {} bytes of the {}-byte L2",
                run.len(),
                reused.len(),
                bytes_per_column * MIN_RUN_BYTES / widest,
                target.l2_bytes
            ),
        );
        return;
    }
    // Temporaries: allocations of this block used only by the run, all at
    // column `%j`.
    let mut temps = Vec::new();
    for op in ir::ops_in(block) {
        if ir::name(op) != "memref.alloc" || !ir::operands(op).is_empty() {
            continue;
        }
        let t = ir::result(op, 0);
        if !ir::is_plain_memref(ir::value_type(t)) {
            continue;
        }
        let us = ir::users(t);
        let ours = |u: &MlirOperation| {
            ir::name(*u) == "memref.dealloc" && between.iter().any(|b| b.ptr == u.ptr)
                || acc.iter().any(|a| a.op.ptr == u.ptr && a.at_column && a.memref.ptr == t.ptr)
        };
        if !us.is_empty() && us.iter().all(ours) {
            temps.push(op);
        }
    }
    let is_temp = |m: MlirValue| temps.iter().any(|t| ir::result(*t, 0).ptr == m.ptr);
    let viewed: Vec<MlirValue> = dedup(
        acc.iter()
            .filter(|a| a.at_column && !is_temp(a.memref))
            .map(|a| a.memref),
    );

    // What was defined between the nests moves above them; the frees of
    // other buffers stay where they are, after the new loop. The frees of
    // temporaries go: each block frees its own.
    let mut freed = Vec::new();
    for b in between {
        if ir::name(*b) == "memref.dealloc" {
            if is_temp(ir::operand(*b, 0)) {
                freed.push(*b);
            }
        } else if !temps.iter().any(|t| t.ptr == b.ptr) {
            // SAFETY: live ops of one block; none has operands.
            unsafe { sys::mlirOperationMoveBefore(*b, first) };
        }
    }
    for t in &temps {
        // SAFETY: as above: the new allocs are made from them.
        unsafe { sys::mlirOperationMoveBefore(*t, first) };
    }
    let b = Builder::of_op(first);
    let loc = ir::location(first);
    let index = b.index_type();
    let blocks = cols / cb;
    let tail = cols % cb;
    let at = |op| ir::insert_before(first, op);
    let end = (blocks + (tail > 0) as i64) * cb;
    let (lo, hi, step) = (
        ir::result(at(b.index_constant(loc, 0)), 0),
        ir::result(at(b.index_constant(loc, end)), 0),
        ir::result(at(b.index_constant(loc, cb)), 0),
    );
    let segments = ir::i32_array_attr(&b, &[1, 1, 1, 0]);
    let par = at(b.op(
        "scf.parallel",
        loc,
        &[lo, hi, step],
        &[],
        &[("operandSegmentSizes", segments)],
        1,
    ));
    let pb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(par, 0), pb);
    let jb = ir::block_argument(pb, 0);
    let terminator = ir::append(pb, b.op("scf.reduce", loc, &[], &[], &[], 0));
    let streamed = streamed_outputs(&acc, &viewed, target);
    let mut ctx = Instance {
        run,
        cols,
        acc: &acc,
        temps: &temps,
        viewed: &viewed,
        prefetched: Vec::new(),
        streamed: &streamed,
    };
    if blocks + (tail > 0) as i64 > 1 {
        ctx.prefetched = prefetched_inputs(&ctx);
    }
    if tail > 0 {
        // The last block is narrower: one more iteration of the parallel
        // loop, which takes the other branch, so it runs beside the others.
        let last = ir::result(
            ir::insert_before(terminator, b.index_constant(loc, blocks * cb)),
            0,
        );
        // SAFETY: a live context.
        let (i1, i64t) = unsafe {
            (
                sys::mlirIntegerTypeGet(b.ctx, 1),
                sys::mlirIntegerTypeGet(b.ctx, 64),
            )
        };
        let pred = ir::integer_attr(i64t, ir::cmpi::SLT);
        let whole = ir::result(
            ir::insert_before(
                terminator,
                b.op(
                    "arith.cmpi",
                    loc,
                    &[jb, last],
                    &[i1],
                    &[("predicate", pred)],
                    0,
                ),
            ),
            0,
        );
        let branch = ir::insert_before(terminator, b.op("scf.if", loc, &[whole], &[], &[], 2));
        for (r, width) in [(0, cb), (1, tail)] {
            let blk = ir::new_block(&[], loc);
            ir::append_block(ir::region(branch, r), blk);
            let y = ir::append(blk, b.op("scf.yield", loc, &[], &[], &[], 0));
            ctx.emit(&b, y, jb, width, width == cb);
        }
    } else {
        ctx.emit(&b, terminator, jb, cb, blocks > 1);
    }
    let prefetched = ctx.prefetched.len();
    crate::remark(
        par,
        &format!(
            "strata-fuse-columns: {} loop nests over {cols} columns fused into {} parallel block(s) of {cb} columns{}; {} temporar(ies) shrunk to a block;{}{} cost rule: a block of the {} buffer(s) more than one nest reads takes {} of the {}-byte L2, nothing recomputed",
            run.len(),
            blocks + (tail > 0) as i64,
            if tail > 0 { format!(", the last of {tail}") } else { String::new() },
            temps.len(),
            if prefetched > 0 { format!(" the next block of {prefetched} input(s) prefetched while a block computes;") } else { String::new() },
            if streamed.is_empty() { String::new() } else { format!(" {} output(s) written with streaming stores;", streamed.len()) },
            reused.len(),
            bytes_per_column * cb,
            target.l2_bytes
        ),
    );
    for n in run {
        // SAFETY: the copies hold everything the nests did; no uses remain.
        unsafe { sys::mlirOperationDestroy(n.op) };
    }
    for f in freed {
        // SAFETY: the free of a temporary whose accesses were erased.
        unsafe { sys::mlirOperationDestroy(f) };
    }
    for t in &temps {
        // SAFETY: its accesses and its free were erased.
        unsafe { sys::mlirOperationDestroy(*t) };
    }
}

fn dedup(values: impl Iterator<Item = MlirValue>) -> Vec<MlirValue> {
    let mut out: Vec<MlirValue> = Vec::new();
    for v in values {
        if !out.iter().any(|o| o.ptr == v.ptr) {
            out.push(v);
        }
    }
    out
}

/// What one block's copy of the run needs.
struct Instance<'a> {
    run: &'a [Nest],
    /// The run's columns, all blocks together.
    cols: i64,
    acc: &'a [Access],
    temps: &'a [MlirOperation],
    viewed: &'a [MlirValue],
    /// What [`NextBlock`] prefetches ([`prefetched_inputs`]); none with
    /// one block.
    prefetched: Vec<Prefetched>,
    /// The outputs whose column loops ask for streaming stores
    /// ([`streamed_outputs`]).
    streamed: &'a [MlirValue],
}

impl Instance<'_> {
    /// Emits, before `anchor`, the run over the `width` columns from
    /// `start`: views, temporaries of the block, then each nest's copy.
    fn emit(&self, b: &Builder, anchor: MlirOperation, start: MlirValue, width: i64, prefetch: bool) {
        let loc = ir::location(anchor);
        let mut repl: HashMap<usize, MlirValue> = HashMap::new();
        for m in self.viewed {
            let view = ir::insert_before(anchor, subview(b, loc, *m, start, width));
            repl.insert(m.ptr as usize, ir::result(view, 0));
        }
        for t in self.temps {
            let (mut shape, elem) = ir::shape(ir::value_type(ir::result(*t, 0)));
            *shape
                .last_mut()
                .expect("a temporary at column %j has a last dimension") = width;
            let attrs: Vec<(String, sys::MlirAttribute)> = ir::attributes(*t);
            let attrs: Vec<(&str, sys::MlirAttribute)> =
                attrs.iter().map(|(n, a)| (n.as_str(), *a)).collect();
            let new = ir::insert_before(
                anchor,
                b.op(
                    "memref.alloc",
                    ir::location(*t),
                    &[],
                    &[ir::memref_type(&shape, elem)],
                    &attrs,
                    0,
                ),
            );
            repl.insert(ir::result(*t, 0).ptr as usize, ir::result(new, 0));
        }
        let next_block = prefetch.then(|| NextBlock::new(self, b, anchor, start, width)).flatten();
        for (k, n) in self.run.iter().enumerate() {
            // SAFETY: a live op; the copy refers to the same outside values.
            let copy = ir::insert_before(anchor, unsafe { sys::mlirOperationClone(n.op) });
            let cols = if n.rows.is_some() {
                body(copy)[0]
            } else {
                copy
            };
            // SAFETY: a live op's context; MLIR uniques the map.
            let bound = unsafe {
                sys::mlirAffineMapAttrGet(sys::mlirAffineMapConstantGet(
                    sys::mlirOperationGetContext(cols),
                    width,
                ))
            };
            let (_, upper, _) = bound_names(cols).expect("a matched column loop");
            ir::set_attribute(cols, upper, bound);
            for (orig, new) in ir::walk(n.op).into_iter().zip(ir::walk(copy)) {
                let Some(a) = self.acc.iter().find(|a| a.op.ptr == orig.ptr) else {
                    continue;
                };
                if !a.at_column {
                    continue;
                }
                let pos = if a.write { 1 } else { 0 };
                // SAFETY: `new` is the copy of an access of `a.memref`.
                unsafe { sys::mlirOperationSetOperand(new, pos, repl[&(a.memref.ptr as usize)]) };
            }
            if self.acc.iter().any(|a| a.nest == k && a.write && self.streamed.iter().any(|m| m.ptr == a.memref.ptr)) {
                // SAFETY: a live context.
                ir::set_attribute(cols, crate::vectorize_loops::STREAM_STORES, unsafe { sys::mlirUnitAttrGet(b.ctx) });
            }
            // After the remapping, which pairs the copy's ops with the
            // original's one to one.
            absolute_column(b, cols, start);
            // Last: the walks above pair the copy's ops with the original's.
            if let Some(next) = &next_block {
                next.emit_into(b, k, n, copy);
            }
        }
        // The block's temporaries die with it (strata-free-temporaries ran
        // before; strata-parallelize hoists the pair to once per chunk).
        for t in self.temps {
            let new = repl[&(ir::result(*t, 0).ptr as usize)];
            ir::insert_before(anchor, b.op("memref.dealloc", loc, &[new], &[], &[], 0));
        }
    }
}

/// The outputs of the run written with streaming stores: buffers from
/// outside the run that it writes and never reads, larger than the
/// target's L2.
///
/// Why: a block's part of each output row is a run of `CB` elements a
/// whole row apart, and an ordinary store first reads its line for
/// ownership, as strided as the first read of an input and as slow, while
/// the lines are not read again before later blocks have pushed them out
/// of the L2. Streaming stores skip that read; `strata-vectorize` uses them
/// where the view's rows start on a vector's boundary (checked at run
/// time). Measured in C on the Zen 4 EPYC (1 MiB L2, 32 MiB L3), softmax
/// along dim 0 in blocks of 64 columns at 2 threads, medians of 21 runs
/// in three rounds: 1024 x 4096 f32 (16 MiB out) 1.65-1.79 -> 1.31-1.41 ms;
/// 4096 x 4096 (64 MiB) 9.2-9.7 -> 7.1-7.2 ms.
fn streamed_outputs(acc: &[Access], viewed: &[MlirValue], target: &crate::target::Target) -> Vec<MlirValue> {
    viewed
        .iter()
        .copied()
        .filter(|m| {
            let mine = || acc.iter().filter(|a| a.memref.ptr == m.ptr);
            let t = ir::value_type(*m);
            let (shape, _) = ir::shape(t);
            let bytes = element_bytes(t).map(|e| e * shape.iter().product::<i64>());
            mine().any(|a| a.write) && !mine().any(|a| !a.write) && bytes.is_some_and(|b| b > target.l2_bytes)
        })
        .collect()
}

/// The prefetch of the next block's rows of each input the run reads
/// from outside (read, never written, not a temporary; two-dimensional,
/// read at `[row, %j]`): in the first nest over rows after the first one
/// that reads it, one `memref.prefetch` per cache line of the next
/// block's part of that row, before the loop over the block's columns.
///
/// Why: the block's first read of an input is a run of `CB` elements a
/// whole row apart per row, a new page each time, which the hardware
/// prefetchers do not follow, so that nest waits on memory; the nests
/// after it compute on data already in the L2 and leave the memory system
/// idle. Fetching the next block's rows there overlaps the two. The pool
/// runs a worker's blocks in order, so the next block is usually this
/// worker's. Columns are clamped to the last one: a block whose next one
/// reaches the end of the buffer fetches the last column's line (several
/// times) instead of lines past the end. Where rows do not start on a
/// cache line, one more prefetch takes the line of the next block's last
/// column. Measured on the Zen 4
/// EPYC, 1024x4096 f32 softmax along dim 0 in blocks of 64 columns
/// (medians of seven alternating rounds): 4.01 -> 3.44 ms at 1 thread,
/// 2.03 -> 1.86 ms at 2. Prefetching rows ahead inside the first nest
/// changed nothing beyond noise on an AVX-512 Xeon, by hand. Only
/// elementwise nests (an `affine.parallel` over the rows) take the
/// prefetches: a row loop that carries a column reduction must hold only
/// its column loop for `strata-vectorize`'s column reductions.
struct NextBlock {
    /// Per input: the buffer, the nest to prefetch in, the columns of
    /// the next block's lines.
    inputs: Vec<(MlirValue, usize, Vec<MlirValue>)>,
}

/// An input [`NextBlock`] prefetches: the buffer, the nest it does so in,
/// its element bytes.
struct Prefetched {
    memref: MlirValue,
    nest: usize,
    ebytes: i64,
}

/// The inputs [`NextBlock`] prefetches.
fn prefetched_inputs(inst: &Instance) -> Vec<Prefetched> {
    let mut out = Vec::new();
    for m in inst.viewed {
        let t = ir::value_type(*m);
        let mine: Vec<&Access> = inst.acc.iter().filter(|a| a.memref.ptr == m.ptr).collect();
        let (shape, _) = ir::shape(t);
        if !plain_buffer(t) || shape.len() != 2 || mine.iter().any(|a| a.write || !a.at_column) {
            continue;
        }
        let Some(first) = mine.iter().map(|a| a.nest).min() else { continue };
        // Its first read walks all its rows, so index 0 is a row variable.
        if !mine.iter().any(|a| a.nest == first && a.uses_row && a.rows == shape[0]) {
            continue;
        }
        let Some(ebytes) = element_bytes(t) else { continue };
        let elementwise = |k: usize| {
            inst.run[k].rows.filter(|r| ir::name(*r) == "affine.parallel").and_then(counted_loop) == Some(shape[0])
        };
        if let Some(later) = (first + 1..inst.run.len()).find(|k| elementwise(*k)) {
            out.push(Prefetched { memref: *m, nest: later, ebytes });
        }
    }
    out
}

impl NextBlock {
    fn new(inst: &Instance, b: &Builder, anchor: MlirOperation, start: MlirValue, width: i64) -> Option<Self> {
        if inst.prefetched.is_empty() {
            return None;
        }
        let loc = ir::location(anchor);
        let index = b.index_type();
        let at = |op| ir::result(ir::insert_before(anchor, op), 0);
        let next = at(b.op("arith.addi", loc, &[start, at(b.index_constant(loc, width))], &[index], &[], 0));
        let last = at(b.index_constant(loc, inst.cols - 1));
        let mut inputs = Vec::new();
        for &Prefetched { memref, nest, ebytes } in &inst.prefetched {
            let line = (64 / ebytes).max(1);
            // A row that starts inside a line spans one line more.
            let mut offsets: Vec<i64> = (0..(width + line - 1) / line).map(|l| l * line).collect();
            if (inst.cols * ebytes) % 64 != 0 {
                offsets.push(width - 1);
            }
            let columns = offsets
                .into_iter()
                .map(|o| {
                    let c = at(b.op("arith.addi", loc, &[next, at(b.index_constant(loc, o))], &[index], &[], 0));
                    at(b.op("arith.minsi", loc, &[c, last], &[index], &[], 0))
                })
                .collect();
            inputs.push((memref, nest, columns));
        }
        Some(NextBlock { inputs })
    }

    /// Adds the prefetches that go in nest `k` to its copy `copy`.
    fn emit_into(&self, b: &Builder, k: usize, n: &Nest, copy: MlirOperation) {
        if n.rows.is_none() {
            return;
        }
        let loc = ir::location(copy);
        let cols_loop = body(copy)[0];
        let row = iv(copy);
        for (m, nest, columns) in &self.inputs {
            if *nest != k {
                continue;
            }
            for c in columns {
                ir::insert_before(cols_loop, ir::prefetch(b, loc, &[*m, row, *c], 3));
            }
        }
    }
}

/// Gives every use of the block's column variable other than an access
/// index (all of which go to the block's views) the column it stands for
/// in the whole buffer, `start + %j`: a mask on the column index, say.
fn absolute_column(b: &Builder, cols: MlirOperation, start: MlirValue) {
    let j = iv(cols);
    let uses: Vec<(MlirOperation, usize)> = ir::uses(j)
        .into_iter()
        .filter(|(owner, k)| match ir::name(*owner).as_str() {
            "affine.load" => *k < 1,
            "affine.store" => *k < 2,
            _ => true,
        })
        .collect();
    if uses.is_empty() {
        return;
    }
    let first = body(cols)[0];
    let index = b.index_type();
    let abs = ir::insert_before(first, b.op("arith.addi", ir::location(cols), &[start, j], &[index], &[], 0));
    for (owner, k) in uses {
        // SAFETY: `owner` uses `j` at operand `k`; `abs` dominates it.
        unsafe { sys::mlirOperationSetOperand(owner, k as isize, ir::result(abs, 0)) };
    }
}

/// `memref.subview %m[0, .., %start][d0, .., width][1, .., 1]` of the
/// identity-layout buffer `m`.
fn subview(
    b: &Builder,
    loc: sys::MlirLocation,
    m: MlirValue,
    start: MlirValue,
    width: i64,
) -> MlirOperation {
    let (shape, elem) = ir::shape(ir::value_type(m));
    let rank = shape.len();
    let mut strides = vec![1i64; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut sizes = shape.clone();
    sizes[rank - 1] = width;
    // SAFETY: a live context; the arrays outlive the calls; a null memory
    // space is the default one.
    let ty = unsafe {
        let dynamic = sys::mlirShapedTypeGetDynamicStrideOrOffset();
        let layout = sys::mlirStridedLayoutAttrGet(b.ctx, dynamic, rank as isize, strides.as_ptr());
        sys::mlirMemRefTypeGet(
            elem,
            rank as isize,
            sizes.as_ptr(),
            layout,
            sys::MlirAttribute {
                ptr: std::ptr::null(),
            },
        )
    };
    // SAFETY: a constant query.
    let dynamic = unsafe { sys::mlirShapedTypeGetDynamicSize() };
    let mut offsets = vec![0i64; rank];
    offsets[rank - 1] = dynamic;
    b.op(
        "memref.subview",
        loc,
        &[m, start],
        &[ty],
        &[
            ("static_offsets", ir::i64_array_attr(b, &offsets)),
            ("static_sizes", ir::i64_array_attr(b, &sizes)),
            ("static_strides", ir::i64_array_attr(b, &vec![1; rank])),
            ("operandSegmentSizes", ir::i32_array_attr(b, &[1, 1, 0, 0])),
        ],
        0,
    )
}
