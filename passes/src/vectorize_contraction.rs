//! The contraction kernels of `strata-vectorize`, in the manner of BLIS.
//!
//! Matches the `linalg.generic` contractions that
//! `strata-lower-to-affine{keep-contractions}` leaves structured
//! ([`crate::contraction`]: any batch dimensions, any permutation of the
//! operands' indexing maps, matvec and vecmat, f32/f64/i32/i64). Produces,
//! per [`Plan`]:
//!
//! - **Outer** (every matmul shape): the output's columns in blocks of
//!   `NR = NV x W` (`W` lanes per vector), up to `NB` neighbouring blocks per
//!   task ([`Tiles::nb`]; the masked last block a task of its own), the row
//!   panels split into chunks where that gives `min-tasks` tasks for less
//!   memory traffic than narrower groups would ([`partition`]), batch x
//!   tasks x chunks one `scf.parallel` (flattened, so a batch of small
//!   matmuls or a skinny one still gives every worker tasks). Per task and
//!   per cache block of `KC` reduction steps, each block's `KC x NR` panel
//!   of B is packed, side by side in one buffer, through B's indexing map,
//!   which absorbs a transpose or any stride (vector loads when B is
//!   contiguous along the columns; when it is contiguous along K, `W x W`
//!   tiles read along K and transposed in registers, the part past whole
//!   tiles and any other layout copied element by element); then each
//!   row panel runs against every packed panel in turn (A's panel, fetched
//!   once, stays in cache across them); `MR x NV` vector accumulators stay
//!   in registers over the block's reduction, each step loading `NV` panel
//!   vectors, broadcasting `MR` elements of A (read through A's map) and
//!   issuing `MR x NV` FMAs (multiply and add for integers). Leftover rows
//!   are one block of the rows left; leftover columns are one more block
//!   whose last vector is masked, so no column is scalar. With one row
//!   (vecmat) B is read in place, unpacked: nothing would reuse a panel.
//! - **Dot** (matvec and its kin): one dot product per output, eight
//!   outputs at a time sharing each vector of the other operand, the
//!   reduction's last partial vector masked. The matrix streams once.
//!
//! An elementwise epilogue that alone reads a 2-D contraction's temporary
//! result (bias, activation) is applied to the accumulators after the last
//! reduction block, whatever K is; the kernel then runs at the epilogue's
//! place, provided the ops in between leave the operands alone
//! ([`can_delay`]). The masked last column block stores its columns and
//! leaves them to the epilogue's nest, narrowed to them.
//!
//! Assumes the plan's operands (static, identity layouts). Guarantees
//! every product is summed once; float sums in `k` order per output within
//! a cache block for Outer, reassociated across `W` lanes for Dot (which
//! the spec allows).

use mlir_sys::{self as sys, MlirBlock, MlirLocation, MlirOperation, MlirType, MlirValue};

use crate::{
    contraction::{Access, Contraction, Plan, Prologue},
    ir::{self, Builder},
};

/// The blocking of the outer-product kernel: `mr` rows by `nv` vectors of
/// columns held in registers, over cache blocks of `kc` reduction steps
/// (the packed panel of B is `kc x nv*W`), and `nb` column blocks per
/// task sharing each row panel of A (BLIS's NC = `nb x nv*W`: the task
/// packs `nb` panels of B, then runs every row panel against all of them,
/// so A's panel is fetched from memory once per `nb` blocks instead of
/// once per block). `strata-tile` chooses them per CPU and records them on
/// the contraction as `strata.tile_sizes = array<i64: mr, nv, kc, nb>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiles {
    pub mr: i64,
    pub nv: i64,
    pub kc: i64,
    pub nb: i64,
}

pub const TILE_ATTR: &str = "strata.tile_sizes";

/// The fewest parallel tasks an outer-product kernel is split into when
/// its shape allows: four per worker for up to four workers, so that one
/// slow worker does not hold the others up.
pub const MIN_TASKS: i64 = 16;

/// The kernels' decisions a `strata-vectorize` option can override (the
/// tuner's knobs, `crate::knobs`); `Default` is the heuristics' choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOptions {
    /// Outer: the fewest tasks the kernel is split into where its shape
    /// allows ([`MIN_TASKS`], [`partition`]); 1 never splits the rows.
    pub min_tasks: i64,
    /// Outer: whether A is packed into row panels.
    pub pack_a: PackA,
    /// Dot: outputs per group ([`DOT_GROUP`]), 1 to 8.
    pub dot_group: i64,
    /// Outer: reduction steps per iteration of the micro-kernel's loop
    /// ([`UNROLL`]), 1 to 8; the steps past a multiple run in a loop of
    /// their own.
    pub unroll: i64,
    /// Outer: rows of A per task (BLIS's MC), rounded up to whole register
    /// tiles: the rows are cut into chunks of that many whatever
    /// [`partition`] would choose; 0 leaves the rows to it.
    pub mc: i64,
}

/// The micro-kernel's default unroll: none. LLVM keeps a loop of
/// `MR x NV` FMAs as it is, so this is the loop the tuner can unroll.
pub const UNROLL: i64 = 1;

/// Whether the outer-product kernel packs A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackA {
    /// With more than two column blocks, or when A runs along M.
    Auto,
    Never,
    /// Whenever A has more than one row.
    Always,
}

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions { min_tasks: MIN_TASKS, pack_a: PackA::Auto, dot_group: DOT_GROUP, unroll: UNROLL, mc: 0 }
    }
}

/// Rows per register block when `strata-tile` did not run: `2 x MR`
/// accumulators plus two `B` vectors and one broadcast fit 16 registers.
const MR: i64 = 6;

fn tiles_of(op: MlirOperation, k: i64) -> Tiles {
    let given = ir::attribute(op, TILE_ATTR).map(ir::i64_array).unwrap_or_default();
    match given.as_slice() {
        [mr, nv, kc] if *mr >= 1 && *nv >= 1 && *kc >= 1 => Tiles { mr: *mr, nv: *nv, kc: (*kc).min(k), nb: 1 },
        [mr, nv, kc, nb] if *mr >= 1 && *nv >= 1 && *kc >= 1 && *nb >= 1 => {
            Tiles { mr: *mr, nv: *nv, kc: (*kc).min(k), nb: *nb }
        }
        _ => Tiles { mr: MR, nv: 2, kc: k, nb: 1 },
    }
}

/// Where new ops go: the end of a block, or before an op.
#[derive(Clone, Copy)]
enum At {
    End(MlirBlock),
    Before(MlirOperation),
}

/// Typed IR construction for the kernels.
#[derive(Clone, Copy)]
struct Emit {
    b: Builder,
    loc: MlirLocation,
    index: MlirType,
}

impl Emit {
    fn put(&self, at: At, op: MlirOperation) -> MlirOperation {
        match at {
            At::End(block) => ir::append(block, op),
            At::Before(anchor) => ir::insert_before(anchor, op),
        }
    }

    fn op(&self, at: At, name: &str, operands: &[MlirValue], results: &[MlirType]) -> MlirOperation {
        self.put(at, self.b.op(name, self.loc, operands, results, &[], 0))
    }

    fn val(&self, at: At, name: &str, operands: &[MlirValue], result: MlirType) -> MlirValue {
        ir::result(self.op(at, name, operands, &[result]), 0)
    }

    fn cst(&self, at: At, v: i64) -> MlirValue {
        let attr = ir::integer_attr(self.index, v);
        ir::result(self.put(at, self.b.op("arith.constant", self.loc, &[], &[self.index], &[("value", attr)], 0)), 0)
    }

    fn splat(&self, at: At, ty: MlirType, v: f64) -> MlirValue {
        ir::result(self.put(at, self.b.op("arith.constant", self.loc, &[], &[ty], &[("value", ir::splat_attr(ty, v))], 0)), 0)
    }

    fn add(&self, at: At, x: MlirValue, y: MlirValue) -> MlirValue {
        self.val(at, "arith.addi", &[x, y], self.index)
    }

    /// `x + c` for a constant `c` (just `x` for 0).
    fn offset(&self, at: At, x: MlirValue, c: i64) -> MlirValue {
        if c == 0 {
            x
        } else {
            let c = self.cst(at, c);
            self.add(at, x, c)
        }
    }

    /// `scf.for %iv = lo to hi step step iter_args(inits)`: the loop, its
    /// body (to be ended with `scf.yield`), the induction variable and the
    /// iteration arguments.
    fn for_loop(&self, at: At, lo: MlirValue, hi: MlirValue, step: MlirValue, inits: &[MlirValue]) -> (MlirOperation, MlirBlock, MlirValue, Vec<MlirValue>) {
        let mut operands = vec![lo, hi, step];
        operands.extend(inits);
        let types: Vec<MlirType> = inits.iter().map(|v| ir::value_type(*v)).collect();
        let op = self.put(at, self.b.op("scf.for", self.loc, &operands, &types, &[], 1));
        let mut args = vec![self.index];
        args.extend(&types);
        let block = ir::new_block(&args, self.loc);
        ir::append_block(ir::region(op, 0), block);
        let iv = ir::block_argument(block, 0);
        let iters = (0..inits.len()).map(|i| ir::block_argument(block, 1 + i as isize)).collect();
        (op, block, iv, iters)
    }

    /// A loop over the constants `lo..hi` by `step`, without results.
    fn for_range(&self, at: At, lo: i64, hi: i64, step: i64) -> (MlirBlock, MlirValue) {
        let (lo, hi, step) = (self.cst(at, lo), self.cst(at, hi), self.cst(at, step));
        let (_, block, iv, _) = self.for_loop(at, lo, hi, step, &[]);
        (block, iv)
    }

    fn yield_(&self, block: MlirBlock, values: &[MlirValue]) {
        self.op(At::End(block), "scf.yield", values, &[]);
    }

    /// `scf.parallel (%p) = (0) to (count) step (1)`: the loop and its body
    /// (ended with `scf.reduce` here).
    fn parallel(&self, at: At, count: i64) -> (MlirOperation, MlirBlock, MlirValue) {
        let (lo, hi, one) = (self.cst(at, 0), self.cst(at, count), self.cst(at, 1));
        // SAFETY: a live context; the sizes outlive the call.
        let segments = unsafe { sys::mlirDenseI32ArrayGet(self.b.ctx, 4, [1, 1, 1, 0].as_ptr()) };
        let op = self.put(at, self.b.op("scf.parallel", self.loc, &[lo, hi, one], &[], &[("operandSegmentSizes", segments)], 1));
        let block = ir::new_block(&[self.index], self.loc);
        ir::append_block(ir::region(op, 0), block);
        (op, block, ir::block_argument(block, 0))
    }

    /// `scf.if %cond` with an else region: both bodies, each ended with
    /// `scf.yield`.
    fn if_else(&self, at: At, cond: MlirValue) -> (MlirBlock, MlirBlock) {
        let op = self.put(at, self.b.op("scf.if", self.loc, &[cond], &[], &[], 2));
        let blocks = [0, 1].map(|r| {
            let block = ir::new_block(&[], self.loc);
            ir::append_block(ir::region(op, r), block);
            block
        });
        (blocks[0], blocks[1])
    }

    fn int_type(&self, bits: u32) -> MlirType {
        // SAFETY: a live context.
        unsafe { sys::mlirIntegerTypeGet(self.b.ctx, bits) }
    }

    /// `arith.cmpi` with `predicate` as arith numbers it (`eq` 0, `ult` 6).
    fn cmpi(&self, at: At, predicate: i64, x: MlirValue, y: MlirValue) -> MlirValue {
        let attr = ir::integer_attr(self.int_type(64), predicate);
        let op = self.b.op("arith.cmpi", self.loc, &[x, y], &[self.int_type(1)], &[("predicate", attr)], 0);
        ir::result(self.put(at, op), 0)
    }

    /// A `memref.alloc` of `ty`, 64-byte aligned (a cache line, and a
    /// whole AVX-512 vector).
    fn alloc(&self, at: At, ty: MlirType) -> MlirValue {
        let op = self.b.op("memref.alloc", self.loc, &[], &[ty], &[("alignment", ir::integer_attr(self.int_type(64), 64))], 0);
        ir::result(self.put(at, op), 0)
    }

    fn mask(&self, at: At, lanes: i64, w: i64) -> MlirValue {
        let n = self.cst(at, lanes);
        self.val(at, "vector.create_mask", &[n], ir::vector_type(&[w], self.int_type(1)))
    }

    /// A vector load of `vty` from `memref[idx]`, masked (zeros elsewhere)
    /// when `mask` is given.
    fn vload(&self, at: At, memref: MlirValue, idx: &[MlirValue], vty: MlirType, mask: Option<MlirValue>) -> MlirValue {
        let mut operands = vec![memref];
        operands.extend(idx);
        match mask {
            None => self.val(at, "vector.load", &operands, vty),
            Some(m) => {
                let zero = self.splat(at, vty, 0.0);
                operands.extend([m, zero]);
                self.val(at, "vector.maskedload", &operands, vty)
            }
        }
    }

    fn vstore(&self, at: At, v: MlirValue, memref: MlirValue, idx: &[MlirValue], mask: Option<MlirValue>) {
        match mask {
            None => {
                let mut operands = vec![v, memref];
                operands.extend(idx);
                self.op(at, "vector.store", &operands, &[]);
            }
            Some(m) => {
                let mut operands = vec![memref];
                operands.extend(idx);
                operands.extend([m, v]);
                self.op(at, "vector.maskedstore", &operands, &[]);
            }
        }
    }

    /// `acc + x * y` on vectors: one FMA for floats.
    fn mul_add(&self, at: At, float: bool, x: MlirValue, y: MlirValue, acc: MlirValue) -> MlirValue {
        let ty = ir::value_type(acc);
        if float {
            self.val(at, "vector.fma", &[x, y, acc], ty)
        } else {
            let p = self.val(at, "arith.muli", &[x, y], ty);
            self.val(at, "arith.addi", &[acc, p], ty)
        }
    }
}

/// `access`'s prologue (its folded elementwise producer) applied to the
/// element(s) `x` just loaded: the payload's ops cloned at `at`, on
/// vectors of `w` lanes when `w` is given (values from outside the generic
/// broadcast), on scalars otherwise.
fn apply_prologue(e: &Emit, at: At, pro: &Prologue, x: MlirValue, w: Option<i64>) -> MlirValue {
    if pro.is_empty() {
        return x;
    }
    let mut map: std::collections::HashMap<usize, MlirValue> = std::collections::HashMap::new();
    map.insert(pro.arg.expect("a prologue has its argument").ptr as usize, x);
    let widen = |t: MlirType| match w {
        Some(w) => ir::vector_type(&[w], t),
        None => t,
    };
    for op in &pro.ops {
        let operands: Vec<MlirValue> = ir::operands(*op)
            .into_iter()
            .map(|v| match map.get(&(v.ptr as usize)) {
                Some(n) => *n,
                // Defined outside the generic: uniform.
                None if w.is_some() => e.val(at, "vector.broadcast", &[v], widen(ir::value_type(v))),
                None => v,
            })
            .collect();
        let result_ty = widen(ir::value_type(ir::result(*op, 0)));
        let attrs: Vec<(String, sys::MlirAttribute)> = ir::attributes(*op);
        let named: Vec<(&str, sys::MlirAttribute)> = attrs.iter().map(|(n, a)| (n.as_str(), *a)).collect();
        let new = if ir::name(*op) == "arith.constant" {
            // A constant made inside the body: the scalar, then broadcast.
            let c = ir::result(e.put(at, e.b.op("arith.constant", e.loc, &[], &[ir::value_type(ir::result(*op, 0))], &named, 0)), 0);
            if w.is_some() { e.val(at, "vector.broadcast", &[c], result_ty) } else { c }
        } else {
            ir::result(e.put(at, e.b.op(&ir::name(*op), e.loc, &operands, &[result_ty], &named, 0)), 0)
        };
        map.insert(ir::result(*op, 0).ptr as usize, new);
    }
    map[&(pro.result.expect("a prologue has its result").ptr as usize)]
}

/// The index values of `access` given each loop dimension's value.
fn indices(access: &Access, value: &dyn Fn(usize) -> MlirValue) -> Vec<MlirValue> {
    access.dims.iter().map(|d| value(*d)).collect()
}

/// Loop values while one piece of a kernel is emitted: the batch
/// dimensions' indices, the row and the column (absent dimensions, and
/// those of extent 1, index 0).
struct Point<'a> {
    con: &'a Contraction,
    batch: &'a [MlirValue],
    zero: MlirValue,
}

impl Point<'_> {
    fn value(&self, d: usize, row: MlirValue, col: MlirValue, k: MlirValue) -> MlirValue {
        let con = self.con;
        if let Some(p) = con.batch.iter().position(|x| *x == d) {
            self.batch[p]
        } else if Some(d) == con.m {
            row
        } else if Some(d) == con.n {
            col
        } else if d == con.k {
            k
        } else {
            self.zero
        }
    }

    fn at(&self, access: &Access, row: MlirValue, col: MlirValue, k: MlirValue) -> Vec<MlirValue> {
        indices(access, &|d| self.value(d, row, col, k))
    }
}

/// Splits the flat parallel index `p` into (batch indices, block index,
/// flat batch index): `p = batch_flat * blocks + block`.
fn split_batch(e: &Emit, at: At, con: &Contraction, p: MlirValue, blocks: i64) -> (Vec<MlirValue>, MlirValue, MlirValue) {
    let nb = e.cst(at, blocks);
    let block = e.val(at, "arith.remui", &[p, nb], e.index);
    let flat = e.val(at, "arith.divui", &[p, nb], e.index);
    let mut rest = flat;
    let mut batch = vec![rest; con.batch.len()];
    for (slot, d) in con.batch.iter().enumerate().rev() {
        let ext = e.cst(at, con.extents[*d]);
        batch[slot] = e.val(at, "arith.remui", &[rest, ext], e.index);
        rest = e.val(at, "arith.divui", &[rest, ext], e.index);
    }
    (batch, block, flat)
}

/// Lowers the planned contraction `con` in place of its generic. `bits` is
/// the vector width; a remark at the contraction says which kernel it got.
pub fn lower(con: &Contraction, plan: &Plan, bits: usize, opts: &KernelOptions) {
    let e = Emit { b: Builder::of_op(con.op), loc: ir::location(con.op), index: Builder::of_op(con.op).index_type() };
    let w = bits as i64 / 8 / con.elem.bytes();
    let fill = crate::contraction::zero_fill(con);
    let zero_init = fill.is_some();
    let mut what = match plan {
        Plan::Outer { pack_b } => lower_outer(&e, con, *pack_b, w, zero_init, opts),
        Plan::Dot => lower_dot(&e, con, w, zero_init, opts.dot_group.clamp(1, DOT_GROUP)),
    };
    if con.has_prologue() {
        what.push_str("; elementwise producers of the operands applied where they are loaded or packed");
    }
    if let Some(f) = fill {
        what.push_str("; the zero fill of C folded into the accumulators");
        ir::replace_op(f, &[]);
    }
    crate::remark(con.op, &what);
    ir::replace_op(con.op, &[]);
}

fn lower_outer(e: &Emit, con: &Contraction, pack_b: bool, w: i64, zero_init: bool, opts: &KernelOptions) -> String {
    let n = con.n.expect("an outer-product plan has columns");
    let k_len = con.extents[con.k];
    let t = tiles_of(con.op, k_len);
    let nr = t.nv * w;
    let n_len = con.extents[n];
    let n_full = n_len - n_len % nr;
    let tail = n_len % nr;
    let blocks = n_full / nr + (tail > 0) as i64;
    let batch_count: i64 = con.batch.iter().map(|d| con.extents[*d]).product();
    let vty = ir::vector_type(&[w], con.elem_type);
    let epilogue = find_epilogue(con, w);
    // With an epilogue the kernel takes its place: what it reads from
    // outside is defined (and filled) by then, and the operands are
    // unchanged since the contraction (`can_delay`).
    let site = epilogue.as_ref().map_or(con.op, |ep| ep.outer);
    let top = At::Before(site);
    let m_len = con.extent(con.m);
    let mr = t.mr.min(m_len);
    // Every column block reads all of A: packed once into panels of `mr`
    // rows, read in the kernel as `mr` neighbours per reduction step
    // whatever A's layout (a transposed A, or rows a page apart).
    // With two column blocks the copy costs what it saves, unless A runs
    // along M (a transpose), where the kernel's loads would walk pages.
    let pack = match opts.pack_a {
        PackA::Auto => blocks > 2 || con.a.stride(con.k) != 1,
        PackA::Never => false,
        PackA::Always => true,
    };
    let packed_a = (m_len > 1 && pack).then(|| pack_a(e, con, top, mr, batch_count));
    let min_tasks = opts.min_tasks.max(1);
    let full_blocks = n_full / nr;
    let panels = m_len / mr;
    // Without a packed B (one row) nothing is reused across column blocks.
    let nb_cap = if pack_b && m_len > 1 { t.nb } else { 1 };
    let Partition { nb, groups, mut row_chunks, mut per_chunk } = partition(Shape {
        full_blocks,
        tail: tail > 0,
        batch: batch_count,
        panels,
        m: m_len,
        n: n_len,
        nb_cap,
        min_tasks,
    });
    // A given MC cuts the rows in its own chunks; the last takes the rows
    // that fill no whole panel, as in any split.
    if opts.mc > 0 && panels > 0 {
        per_chunk = ((opts.mc + mr - 1) / mr).clamp(1, panels);
        row_chunks = (panels + per_chunk - 1) / per_chunk;
    }
    let tasks = groups + (tail > 0) as i64;
    let base = batch_count * tasks;
    let (par, body, p) = e.parallel(top, base * row_chunks);
    let at = At::End(body);
    let (p, rows) = if row_chunks > 1 {
        let chunks = e.cst(at, row_chunks);
        let chunk = e.val(at, "arith.remui", &[p, chunks], e.index);
        let rest = e.val(at, "arith.divui", &[p, chunks], e.index);
        let per = e.cst(at, per_chunk);
        let lo = e.val(at, "arith.muli", &[chunk, per], e.index);
        let end = e.add(at, lo, per);
        let all = e.cst(at, panels);
        let hi = e.val(at, "arith.minsi", &[end, all], e.index);
        let last = e.cst(at, row_chunks - 1);
        let is_last = e.cmpi(at, 0, chunk, last);
        (rest, Some(RowChunk { lo, hi, is_last }))
    } else {
        (p, None)
    };
    let (batch, task, batch_flat) = split_batch(e, at, con, p, tasks);
    let t = Tiles { mr, nb, ..t };
    let k = Kernel {
        e: *e,
        con,
        t,
        w,
        vty,
        pack_b,
        packed_a: packed_a.map(|a| (a, batch_flat)),
        zero_init,
        epilogue: epilogue.as_ref(),
        par,
        rows,
        unroll: opts.unroll,
    };
    let tail_vectors = (tail + w - 1) / w;
    let tail_lanes = tail - (tail_vectors - 1) * w;
    // Task `g` of the full blocks: blocks `g*nb .. min(g*nb + nb, all)`.
    let group = |block: MlirBlock| {
        let at = At::End(block);
        let span = e.cst(at, nb * nr);
        let jb = e.val(at, "arith.muli", &[task, span], e.index);
        let count = if full_blocks % nb == 0 {
            e.cst(at, nb)
        } else {
            let first = e.val(at, "arith.muli", &[task, e.cst(at, nb)], e.index);
            let left = e.val(at, "arith.subi", &[e.cst(at, full_blocks), first], e.index);
            e.val(at, "arith.minsi", &[left, e.cst(at, nb)], e.index)
        };
        k.column_block(block, &batch, jb, count, nb, t.nv, None);
    };
    let masked = |block: MlirBlock| {
        let at = At::End(block);
        let (jb, one) = (e.cst(at, n_full), e.cst(at, 1));
        k.column_block(block, &batch, jb, one, 1, tail_vectors, Some(tail_lanes));
    };
    if tail == 0 {
        group(body);
    } else if n_full == 0 {
        masked(body);
    } else {
        let full = e.cst(at, groups);
        let cond = e.cmpi(at, 6, task, full);
        let (then, other) = e.if_else(at, cond);
        group(then);
        masked(other);
        e.yield_(then, &[]);
        e.yield_(other, &[]);
    }
    e.op(at, "scf.reduce", &[], &[]);
    if let Some(a) = packed_a {
        e.op(At::Before(site), "memref.dealloc", &[a], &[]);
    }
    if let Some(ep) = &epilogue {
        crate::remark(ep.outer, "strata-vectorize: elementwise epilogue fused into the contraction kernel (applied to its accumulators)");
        if tail == 0 {
            ir::replace_op(ep.outer, &[]);
        } else {
            ir::narrow_lower_bound(ep.inner, n_full);
        }
    }
    format!(
        "strata-vectorize: contraction {} as a {}x{nr} register-blocked micro-kernel on vector<{w}x{}>, {}; {} column block(s) of {nr}{}{}{}{}",
        con.describe(),
        t.mr,
        con.elem.name(),
        match (packed_a.is_some(), pack_b) {
            (true, true) => format!("A packed in {mr}-row panels, B in {}x{nr} panels", t.kc),
            (false, true) => format!("B packed in {}x{nr} panels", t.kc),
            (true, false) => format!("A packed in {mr}-row panels, B read in place"),
            (false, false) => "A and B read in place".to_string(),
        },
        blocks,
        if tail > 0 { format!(", the last {tail} column(s) masked") } else { String::new() },
        if nb > 1 { format!(", {nb} per task sharing each row panel of A") } else { String::new() },
        if row_chunks > 1 { format!(", each split into {row_chunks} row chunks for the workers") } else { String::new() },
        if opts.unroll > 1 { format!(", the reduction loop unrolled {} times", opts.unroll) } else { String::new() }
    )
}

/// What [`partition`] divides: an outer-product kernel's full column
/// blocks (and whether a masked one follows), its batch, its row panels,
/// and the extents that weigh the memory each choice reads.
#[derive(Clone, Copy, Debug)]
struct Shape {
    full_blocks: i64,
    tail: bool,
    batch: i64,
    panels: i64,
    m: i64,
    n: i64,
    /// The most column blocks one task may share a row panel of A across
    /// (the target's cache block, `Tiles::nb`; 1 where B is not packed).
    nb_cap: i64,
    min_tasks: i64,
}

/// The kernel's tasks: `batch x (groups + masked) x row_chunks`, the full
/// column blocks in `groups` of at most `nb`, the row panels in
/// `row_chunks` of `per_chunk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Partition {
    nb: i64,
    groups: i64,
    row_chunks: i64,
    per_chunk: i64,
}

/// Splits an outer-product kernel into tasks. Each group of column blocks
/// reads all of A (its row panels, once per group) and each row chunk
/// packs its own copy of B's panels (reading B and writing the copy), so a
/// split moves about `groups x |A| + 2 x row_chunks x |B|`. Takes, among
/// the splits into at least `min_tasks` tasks (as many as the shape has,
/// if fewer) whose groups fit the cache block (`nb_cap`), the one that
/// moves the least, then the one with fewer tasks, then fewer row chunks.
/// Reaching the task count by narrowing the groups alone reads A once per
/// block: a 2048^3 f32 matmul in 64-column blocks (32 of them, 8 per cache
/// block) then reads A 16 times, where eight groups of four, each split
/// into two row chunks, read A 8 times and B twice, in the same 16 tasks.
/// `min_tasks` is a constant, not the host's core count, so the code
/// depends on the target alone.
fn partition(s: Shape) -> Partition {
    let masked = s.tail as i64;
    let ceil = |a: i64, b: i64| (a + b - 1) / b;
    let rows_for = |base: i64, target: i64| {
        let wanted = if base >= target || s.panels < 2 { 1 } else { ceil(target, base).min(s.panels) };
        let per_chunk = ceil(s.panels.max(1), wanted);
        (ceil(s.panels.max(1), per_chunk), per_chunk, wanted)
    };
    let batch = s.batch.max(1);
    if s.full_blocks == 0 {
        let (row_chunks, per_chunk, _) = rows_for(batch * masked, s.min_tasks);
        return Partition { nb: 1, groups: 0, row_chunks, per_chunk };
    }
    let mut best: Option<((i64, i64, i64, i64), Partition)> = None;
    for widest in 1..=s.nb_cap.clamp(1, s.full_blocks) {
        // Evened out: as many groups as `widest` needs, then the narrowest
        // width that still gives that many (no group left empty).
        let groups = ceil(s.full_blocks, widest);
        let nb = ceil(s.full_blocks, groups);
        let base = batch * (groups + masked);
        let (row_chunks, per_chunk, wanted) = rows_for(base, s.min_tasks);
        let tasks = base * row_chunks;
        // Judged by the chunks asked for: equal chunks can round the count
        // down a little, which is no reason to read more.
        let short = (s.min_tasks - base * wanted).max(0);
        let read = (groups + masked) * s.m + 2 * row_chunks * s.n;
        let key = (short, read, tasks, row_chunks);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, Partition { nb, groups, row_chunks, per_chunk }));
        }
    }
    best.expect("at least one group count").1
}

/// The outer-product kernel's pieces, for one contraction.
struct Kernel<'a> {
    e: Emit,
    con: &'a Contraction,
    t: Tiles,
    w: i64,
    vty: MlirType,
    pack_b: bool,
    /// A packed by [`pack_a`], and this column block's flat batch index.
    packed_a: Option<(MlirValue, MlirValue)>,
    /// C's zero fill is folded: the first reduction block starts at zero.
    zero_init: bool,
    epilogue: Option<&'a Epilogue>,
    /// The kernel's outermost op, before which the epilogue's invariant
    /// broadcasts go.
    par: MlirOperation,
    /// This task's share of the row panels, when the rows are split.
    rows: Option<RowChunk>,
    /// Reduction steps per iteration of the micro-kernel's loop.
    unroll: i64,
}

/// Row panels `lo .. hi` of a task; the last task also takes the rows
/// that fill no whole panel.
#[derive(Clone, Copy)]
struct RowChunk {
    lo: MlirValue,
    hi: MlirValue,
    is_last: MlirValue,
}

impl Kernel<'_> {
    /// `count` (at most `slots`) neighbouring blocks of `nv` vectors of
    /// columns from `jb`, the last vector masked to `lanes` when given
    /// (then one block), over all rows and the whole reduction.
    #[allow(clippy::too_many_arguments)]
    fn column_block(&self, block: MlirBlock, batch: &[MlirValue], jb: MlirValue, count: MlirValue, slots: i64, nv: i64, lanes: Option<i64>) {
        let (e, w) = (&self.e, self.w);
        let at = At::End(block);
        let masks: Vec<Option<MlirValue>> =
            (0..nv).map(|v| if v == nv - 1 { lanes.map(|l| e.mask(at, l, w)) } else { None }).collect();
        let k_len = self.con.extents[self.con.k];
        let kc = self.t.kc;
        let packed = self.pack_b.then(|| e.alloc(at, ir::memref_type(&[slots, kc, nv * w], self.con.elem_type)));
        let blocks = (k_len + kc - 1) / kc;
        let set = Blocks { batch, jb, count, nv, masks: &masks, packed };
        // The first block on its own when it starts from zero, the last
        // on its own for the epilogue, the ones between in a loop.
        let peel_first = self.zero_init && blocks > 1;
        if peel_first {
            let kb = e.cst(at, 0);
            self.reduction_block(block, &set, kb, kc, true, false);
        }
        let from = peel_first as i64;
        if blocks - 1 > from {
            let (kblock, kb) = e.for_range(at, from * kc, (blocks - 1) * kc, kc);
            self.reduction_block(kblock, &set, kb, kc, false, false);
            e.yield_(kblock, &[]);
        }
        let last = e.cst(at, (blocks - 1) * kc);
        self.reduction_block(block, &set, last, k_len - (blocks - 1) * kc, blocks == 1, true);
        if let Some(p) = packed {
            e.op(at, "memref.dealloc", &[p], &[]);
        }
    }

    /// A loop over the blocks of `set` at the end of `block`, `f` emitting
    /// each one's code into the loop body (a single block's loop folds
    /// away).
    fn each_block(&self, block: MlirBlock, set: &Blocks, f: &dyn Fn(MlirBlock, &Piece)) {
        let (e, w) = (&self.e, self.w);
        let at = At::End(block);
        let (zero, one) = (e.cst(at, 0), e.cst(at, 1));
        let (_, body, slot, _) = e.for_loop(at, zero, set.count, one, &[]);
        let bat = At::End(body);
        let nr = e.cst(bat, self.t.nv * w);
        let off = e.val(bat, "arith.muli", &[slot, nr], e.index);
        let jb = e.add(bat, set.jb, off);
        let cols: Vec<MlirValue> = (0..set.nv).map(|v| e.offset(bat, jb, v * w)).collect();
        let piece = Piece { batch: set.batch, jb, cols: &cols, masks: set.masks, packed: set.packed.map(|p| (p, slot)) };
        f(body, &piece);
        e.yield_(body, &[]);
    }

    /// B's `len x NR` panel of one column block from step `kb`, into its
    /// slot of the packed buffer.
    fn pack_panel(&self, block: MlirBlock, piece: &Piece, kb: MlirValue, len: i64) {
        let (e, w, con) = (&self.e, self.w, self.con);
        let Some((packed, slot)) = piece.packed else { return };
        let at = At::End(block);
        let zero = e.cst(at, 0);
        let point = Point { con, batch: piece.batch, zero };
        let n = con.n.expect("columns");
        let kend = e.offset(at, kb, len);
        let one = e.cst(at, 1);
        if con.b.stride(n) == 1 {
            let (_, pb, kv, _) = e.for_loop(at, kb, kend, one, &[]);
            let pat = At::End(pb);
            let kk = e.val(pat, "arith.subi", &[kv, kb], e.index);
            for (v, (col, mask)) in piece.cols.iter().zip(piece.masks).enumerate() {
                let x = e.vload(pat, con.b.memref, &point.at(&con.b, zero, *col, kv), self.vty, *mask);
                let x = apply_prologue(e, pat, &con.b.prologue, x, Some(w));
                let pcol = e.cst(pat, v as i64 * w);
                e.vstore(pat, x, packed, &[slot, kk, pcol], None);
            }
            e.yield_(pb, &[]);
        } else {
            // B runs along K in memory (a transpose).
            let columns = match piece.masks.last().copied().flatten() {
                Some(_) => self.tail_columns(piece),
                None => piece.cols.len() as i64 * w,
            };
            // Whole `W x W` tiles: `W` columns read along K, transposed in
            // registers, stored as `W` rows of the panel. Element by
            // element, each store went to another row of the panel (a
            // line apart): A.B^T took 1.24x the time of A.B.
            let (whole_cols, whole_ks) = if con.b.stride(con.k) == 1 { (columns / w * w, len / w * w) } else { (0, 0) };
            if whole_cols > 0 && whole_ks > 0 {
                let (cb, c0) = e.for_range(at, 0, whole_cols, w);
                let cat = At::End(cb);
                let (kto, step) = (e.offset(cat, kb, whole_ks), e.cst(cat, w));
                let (_, kbody, k0, _) = e.for_loop(cat, kb, kto, step, &[]);
                let kat = At::End(kbody);
                let rows = (0..w)
                    .map(|r| {
                        let col = e.add(kat, piece.jb, e.offset(kat, c0, r));
                        let x = e.vload(kat, con.b.memref, &point.at(&con.b, zero, col, k0), self.vty, None);
                        apply_prologue(e, kat, &con.b.prologue, x, Some(w))
                    })
                    .collect();
                let kk = e.val(kat, "arith.subi", &[k0, kb], e.index);
                for (j, v) in crate::vectorize_transpose::transpose_in_registers(&e.b, e.loc, kbody, rows, w as usize).into_iter().enumerate() {
                    let row = e.offset(kat, kk, j as i64);
                    e.vstore(kat, v, packed, &[slot, row, c0], None);
                }
                e.yield_(kbody, &[]);
                e.yield_(cb, &[]);
            }
            // The rest element by element, reading each column along K:
            // the columns past the whole tiles, then the steps past them.
            let copy = |cols: (i64, i64), ks: (MlirValue, MlirValue)| {
                if cols.0 >= cols.1 {
                    return;
                }
                let (cb, c) = e.for_range(at, cols.0, cols.1, 1);
                let cat = At::End(cb);
                let col = e.add(cat, piece.jb, c);
                let (_, kbody, kv, _) = e.for_loop(cat, ks.0, ks.1, one, &[]);
                let kat = At::End(kbody);
                let x = e.val(kat, "memref.load", &[&[con.b.memref][..], &point.at(&con.b, zero, col, kv)].concat(), con.elem_type);
                let x = apply_prologue(e, kat, &con.b.prologue, x, None);
                let kk = e.val(kat, "arith.subi", &[kv, kb], e.index);
                e.op(kat, "memref.store", &[x, packed, slot, kk, c], &[]);
                e.yield_(kbody, &[]);
                e.yield_(cb, &[]);
            };
            copy((whole_cols, columns), (kb, kend));
            if whole_ks < len {
                copy((0, whole_cols), (e.offset(at, kb, whole_ks), kend));
            }
        }
    }

    /// Reduction steps `kb .. kb + len` of a set of column blocks: pack
    /// B's panels, then every block of rows against each panel in turn
    /// (the rows' A, just loaded, stays in cache across the panels).
    fn reduction_block(&self, block: MlirBlock, set: &Blocks, kb: MlirValue, len: i64, first: bool, last: bool) {
        let (e, con) = (&self.e, self.con);
        let at = At::End(block);
        let zero = e.cst(at, 0);
        if set.packed.is_some() {
            self.each_block(block, set, &|pb, piece| self.pack_panel(pb, piece, kb, len));
        }
        let m_len = con.extent(con.m);
        let mr = self.t.mr;
        let panels = m_len / mr;
        let ks = Steps { kb, len, first, last };
        if panels > 0 {
            let (rb, panel) = match self.rows {
                None => e.for_range(at, 0, panels, 1),
                Some(rows) => {
                    let one = e.cst(at, 1);
                    let (_, rb, panel, _) = e.for_loop(at, rows.lo, rows.hi, one, &[]);
                    (rb, panel)
                }
            };
            let mr_c = e.cst(At::End(rb), mr);
            let ib = e.val(At::End(rb), "arith.muli", &[panel, mr_c], e.index);
            self.each_block(rb, set, &|gb, piece| {
                let point = Point { con, batch: piece.batch, zero };
                self.row_block(gb, piece, &point, ib, panel, mr, &ks)
            });
            e.yield_(rb, &[]);
        }
        if m_len % mr > 0 {
            let (rest, guard) = match self.rows {
                None => (block, None),
                Some(rows) => {
                    // The else region stays empty.
                    let op = e.put(at, e.b.op("scf.if", e.loc, &[rows.is_last], &[], &[], 2));
                    let then = ir::new_block(&[], e.loc);
                    ir::append_block(ir::region(op, 0), then);
                    (then, Some(then))
                }
            };
            let rat = At::End(rest);
            let ib = e.cst(rat, panels * mr);
            let panel = e.cst(rat, panels);
            self.each_block(rest, set, &|gb, piece| {
                let point = Point { con, batch: piece.batch, zero };
                self.row_block(gb, piece, &point, ib, panel, m_len % mr, &ks)
            });
            if let Some(then) = guard {
                e.yield_(then, &[]);
            }
        }
    }

    /// The number of real columns in a masked (last) column block.
    fn tail_columns(&self, piece: &Piece) -> i64 {
        let n_len = self.con.extents[self.con.n.expect("columns")];
        let nr = self.t.nv * self.w;
        let tail = n_len % nr;
        debug_assert!(tail > 0 && (tail + self.w - 1) / self.w == piece.cols.len() as i64);
        tail
    }

    /// `rows` rows from `ib` (panel `panel` of packed A) of one column
    /// block over reduction steps `ks`, with the accumulators in registers.
    #[allow(clippy::too_many_arguments)]
    fn row_block(&self, block: MlirBlock, piece: &Piece, point: &Point, ib: MlirValue, panel: MlirValue, rows: i64, ks: &Steps) {
        let (e, con) = (&self.e, self.con);
        let Steps { kb, len, first, last } = *ks;
        let at = At::End(block);
        let float = con.elem.is_float();
        let row: Vec<MlirValue> = (0..rows).map(|r| e.offset(at, ib, r)).collect();
        let zero = point.zero;
        // The accumulators start from C's current values, or from zero.
        let mut inits = Vec::new();
        let start = (first && self.zero_init).then(|| e.splat(at, self.vty, 0.0));
        for r in &row {
            for (col, mask) in piece.cols.iter().zip(piece.masks) {
                inits.push(match start {
                    Some(z) => z,
                    None => e.vload(at, con.c.memref, &point.at(&con.c, *r, *col, zero), self.vty, *mask),
                });
            }
        }
        // One reduction step `kv` from the accumulators `accs`, at `kat`.
        let step = |kat: At, kv: MlirValue, accs: &[MlirValue]| -> Vec<MlirValue> {
            let bvec: Vec<MlirValue> = match piece.packed {
                Some((packed, slot)) => {
                    let kk = e.val(kat, "arith.subi", &[kv, kb], e.index);
                    (0..piece.cols.len())
                        .map(|v| {
                            let pcol = e.cst(kat, v as i64 * self.w);
                            e.vload(kat, packed, &[slot, kk, pcol], self.vty, None)
                        })
                        .collect()
                }
                None => piece
                    .cols
                    .iter()
                    .zip(piece.masks)
                    .map(|(col, mask)| {
                        let x = e.vload(kat, con.b.memref, &point.at(&con.b, zero, *col, kv), self.vty, *mask);
                        apply_prologue(e, kat, &con.b.prologue, x, Some(self.w))
                    })
                    .collect(),
            };
            let nv = piece.cols.len();
            let mut next = Vec::new();
            for (ri, r) in row.iter().enumerate() {
                let a = match self.packed_a {
                    Some((pa, batch_flat)) => {
                        let lane = e.cst(kat, ri as i64);
                        e.val(kat, "memref.load", &[pa, batch_flat, panel, kv, lane], con.elem_type)
                    }
                    None => {
                        let x = e.val(kat, "memref.load", &[&[con.a.memref][..], &point.at(&con.a, *r, zero, kv)].concat(), con.elem_type);
                        apply_prologue(e, kat, &con.a.prologue, x, None)
                    }
                };
                let av = e.val(kat, "vector.broadcast", &[a], self.vty);
                for (ci, bv) in bvec.iter().enumerate() {
                    next.push(e.mul_add(kat, float, av, *bv, accs[ri * nv + ci]));
                }
            }
            next
        };
        // The steps in loops of `unroll` steps an iteration, then the rest
        // one at a time; each loop carries the accumulators on.
        let unroll = self.unroll.clamp(1, len.max(1));
        let whole = len / unroll * unroll;
        let mut accs = inits;
        for (from, to, by) in [(0, whole, unroll), (whole, len, 1)] {
            if from >= to {
                continue;
            }
            let (lo, hi, stride) = (e.offset(at, kb, from), e.offset(at, kb, to), e.cst(at, by));
            let (op, kblock, kv, iters) = e.for_loop(at, lo, hi, stride, &accs);
            let kat = At::End(kblock);
            let mut carried = iters;
            for u in 0..by {
                let k = e.offset(kat, kv, u);
                carried = step(kat, k, &carried);
            }
            e.yield_(kblock, &carried);
            accs = (0..carried.len()).map(|i| ir::result(op, i as isize)).collect();
        }
        for (ri, r) in row.iter().enumerate() {
            for (ci, (col, mask)) in piece.cols.iter().zip(piece.masks).enumerate() {
                let v = accs[ri * piece.cols.len() + ci];
                match self.epilogue {
                    Some(ep) if last && piece.masks.iter().all(Option::is_none) => self.apply_epilogue(ep, block, *r, *col, v),
                    _ => e.vstore(at, v, con.c.memref, &point.at(&con.c, *r, *col, zero), *mask),
                }
            }
        }
    }

    /// The epilogue's element code on `W` columns from `col` of row `r`,
    /// reading the accumulator `v` instead of C.
    fn apply_epilogue(&self, ep: &Epilogue, block: MlirBlock, r: MlirValue, col: MlirValue, v: MlirValue) {
        let e = &self.e;
        let at = At::End(block);
        let mut vz = crate::vectorize_loops::Vectorizer::new(e.b, ep.inner, e.loc, self.w as usize, self.par);
        vz.bind_index(ir::block_argument(ir::first_block(ir::region(ep.outer, 0)), 0), r, block);
        let ivt = ir::vector_type(&[self.w], e.index);
        let cb = e.val(at, "vector.broadcast", &[col], ivt);
        let iota = ir::result(e.put(At::Before(self.par), crate::vectorize_loops::iota(&e.b, e.loc, self.w as usize)), 0);
        let jvec = e.val(at, "arith.addi", &[cb, iota], ivt);
        vz.bind(ir::block_argument(ir::first_block(ir::region(ep.inner, 0)), 0), jvec);
        vz.skip(ep.c_load);
        vz.bind(ir::result(ep.c_load, 0), v);
        vz.body(ir::first_block(ir::region(ep.inner, 0)), block, col);
    }
}

/// A run of reduction steps `kb .. kb + len`: whether it is the first
/// (which may start from zero) and the last (which applies the epilogue).
#[derive(Clone, Copy)]
struct Steps {
    kb: MlirValue,
    len: i64,
    first: bool,
    last: bool,
}

/// Copies A into `batch x ceil(M/mr) x K x mr` panels (`packed[b, p, k, r]
/// = A[b, p*mr + r, k]`, the last panel's missing rows unset and never
/// read), in parallel over batch x panels, before the kernel.
fn pack_a(e: &Emit, con: &Contraction, at: At, mr: i64, batch_count: i64) -> MlirValue {
    let m_len = con.extent(con.m);
    let k_len = con.extents[con.k];
    let full = m_len / mr;
    let panels = full + (m_len % mr > 0) as i64;
    let packed = e.alloc(at, ir::memref_type(&[batch_count, panels, k_len, mr], con.elem_type));
    // A transposed (rows contiguous): a panel's rows of one reduction step
    // are neighbours, moved as one vector instead of one element at a time
    // (1024^3 f32 A^T.B on the Zen 4 EPYC, 1 thread: 7% slower than A.B
    // with scalar copies, 3% with vectors).
    let along_m = con.m.is_some_and(|m| con.a.stride(m) == 1);
    for (count, rows, first) in [(full, mr, 0), ((m_len % mr > 0) as i64, m_len % mr, full)] {
        if count == 0 {
            continue;
        }
        let (_, body, p) = e.parallel(at, batch_count * count);
        let bat = At::End(body);
        let (batch, panel, flat) = split_batch(e, bat, con, p, count);
        let panel = e.offset(bat, panel, first);
        let mr_c = e.cst(bat, mr);
        let ib = e.val(bat, "arith.muli", &[panel, mr_c], e.index);
        let zero = e.cst(bat, 0);
        let point = Point { con, batch: &batch, zero };
        let (kbody, kv) = e.for_range(bat, 0, k_len, 1);
        let kat = At::End(kbody);
        if along_m && rows > 1 {
            let vty = ir::vector_type(&[rows], con.elem_type);
            let x = e.vload(kat, con.a.memref, &point.at(&con.a, ib, zero, kv), vty, None);
            let x = apply_prologue(e, kat, &con.a.prologue, x, Some(rows));
            e.vstore(kat, x, packed, &[flat, panel, kv, zero], None);
        } else {
            for r in 0..rows {
                let row = e.offset(kat, ib, r);
                let x = e.val(kat, "memref.load", &[&[con.a.memref][..], &point.at(&con.a, row, zero, kv)].concat(), con.elem_type);
                let x = apply_prologue(e, kat, &con.a.prologue, x, None);
                let lane = e.cst(kat, r);
                e.op(kat, "memref.store", &[x, packed, flat, panel, kv, lane], &[]);
            }
        }
        e.yield_(kbody, &[]);
        e.op(bat, "scf.reduce", &[], &[]);
    }
    packed
}

/// What one column block's code shares.
struct Piece<'a> {
    batch: &'a [MlirValue],
    jb: MlirValue,
    cols: &'a [MlirValue],
    masks: &'a [Option<MlirValue>],
    /// The packed panels of B and this block's slot among them.
    packed: Option<(MlirValue, MlirValue)>,
}

/// Neighbouring column blocks one task computes together: `count` blocks
/// of `nv` vectors from column `jb`, B's panels packed side by side.
struct Blocks<'a> {
    batch: &'a [MlirValue],
    jb: MlirValue,
    count: MlirValue,
    nv: i64,
    masks: &'a [Option<MlirValue>],
    packed: Option<MlirValue>,
}

/// Outputs per group of the dot kernel: each vector of the shared operand
/// feeds this many independent accumulators. Measured on Zen 4, matvec
/// 4096 x 4096 f32: 8 took 1.8-2.0 ms at 2 threads where 4 took 2.2 ms
/// (2.9-3.0 ms at 1 thread either way). Also the most the `dot-group`
/// option allows (each output holds one accumulator register).
pub const DOT_GROUP: i64 = 8;

fn lower_dot(e: &Emit, con: &Contraction, w: i64, zero_init: bool, group: i64) -> String {
    let n_len = con.extent(con.n);
    let groups = n_len / group;
    let rest = n_len % group;
    let batch_count: i64 = con.batch.iter().map(|d| con.extents[*d]).product();
    let top = At::Before(con.op);
    for (count, size, first) in [(groups, group, 0), ((rest > 0) as i64, rest, groups * group)] {
        if count == 0 {
            continue;
        }
        let (_, body, p) = e.parallel(top, batch_count * count);
        let at = At::End(body);
        let (batch, group, _) = split_batch(e, at, con, p, count);
        let j0 = {
            let sz = e.cst(at, size);
            let base = e.val(at, "arith.muli", &[group, sz], e.index);
            e.offset(at, base, first)
        };
        dot_group(e, con, body, &batch, j0, size, w, zero_init);
        e.op(at, "scf.reduce", &[], &[]);
    }
    format!(
        "strata-vectorize: contraction {} as dot products on vector<{w}x{}>, {group} outputs at a time, the matrix streamed once",
        con.describe(),
        con.elem.name()
    )
}

/// `size` outputs from `j0`: their dot products over all of K (added to
/// C, or stored when C's zero fill was folded).
#[allow(clippy::too_many_arguments)]
fn dot_group(e: &Emit, con: &Contraction, block: MlirBlock, batch: &[MlirValue], j0: MlirValue, size: i64, w: i64, zero_init: bool) {
    let at = At::End(block);
    let float = con.elem.is_float();
    let vty = ir::vector_type(&[w], con.elem_type);
    let zero = e.cst(at, 0);
    let point = Point { con, batch, zero };
    let k_len = con.extents[con.k];
    let k_full = k_len - k_len % w;
    let outs: Vec<MlirValue> = (0..size).map(|r| e.offset(at, j0, r)).collect();
    let inits: Vec<MlirValue> = (0..size).map(|_| e.splat(at, vty, 0.0)).collect();
    // A folded producer may not map the masked lanes' zeros to zero
    // (`exp(0) = 1`): those lanes are zeroed again before the multiply.
    let keep = |at: At, v: MlirValue, mask: Option<MlirValue>, pro: &Prologue| match mask {
        Some(m) if !pro.is_empty() => {
            let z = e.splat(at, vty, 0.0);
            e.val(at, "arith.select", &[m, v, z], vty)
        }
        _ => v,
    };
    let step = |at: At, kv: MlirValue, accs: &[MlirValue], mask: Option<MlirValue>| -> Vec<MlirValue> {
        let x = e.vload(at, con.a.memref, &point.at(&con.a, zero, zero, kv), vty, mask);
        let x = keep(at, apply_prologue(e, at, &con.a.prologue, x, Some(w)), mask, &con.a.prologue);
        outs.iter()
            .zip(accs)
            .map(|(j, acc)| {
                let y = e.vload(at, con.b.memref, &point.at(&con.b, zero, *j, kv), vty, mask);
                let y = keep(at, apply_prologue(e, at, &con.b.prologue, y, Some(w)), mask, &con.b.prologue);
                e.mul_add(at, float, y, x, *acc)
            })
            .collect()
    };
    let mut accs = inits;
    if k_full > 0 {
        let (lo, hi, st) = (e.cst(at, 0), e.cst(at, k_full), e.cst(at, w));
        let (kfor, kblock, kv, iters) = e.for_loop(at, lo, hi, st, &accs);
        let next = step(At::End(kblock), kv, &iters, None);
        e.yield_(kblock, &next);
        accs = (0..size).map(|i| ir::result(kfor, i as isize)).collect();
    }
    if k_len % w > 0 {
        let mask = e.mask(at, k_len % w, w);
        let kv = e.cst(at, k_full);
        accs = step(at, kv, &accs, Some(mask));
    }
    let kind = e.b.attr("#vector.kind<add>");
    for (j, acc) in outs.iter().zip(accs) {
        let s = ir::result(e.put(at, e.b.op("vector.reduction", e.loc, &[acc], &[con.elem_type], &[("kind", kind)], 0)), 0);
        let idx = point.at(&con.c, zero, *j, zero);
        let sum = if zero_init {
            s
        } else {
            let mut operands = vec![con.c.memref];
            operands.extend(&idx);
            let old = e.val(at, "memref.load", &operands, con.elem_type);
            e.val(at, if float { "arith.addf" } else { "arith.addi" }, &[old, s], con.elem_type)
        };
        let mut operands = vec![sum, con.c.memref];
        operands.extend(&idx);
        e.op(at, "memref.store", &operands, &[]);
    }
}

/// An elementwise nest after the contraction that reads its result
/// `C[i, j]` once per element, the only other reader of `C`.
pub(crate) struct Epilogue {
    outer: MlirOperation,
    inner: MlirOperation,
    c_load: MlirOperation,
}

fn const_bounds(op: MlirOperation, lower: &str, upper: &str) -> Option<(i64, i64)> {
    Some((ir::constant_map(op, lower)?, ir::constant_map(op, upper)?))
}

/// The epilogue of a 2-D contraction `C[i, j]` (rows, then columns), if
/// one may be fused.
pub(crate) fn find_epilogue(con: &Contraction, w: i64) -> Option<Epilogue> {
    let (m, n) = (con.m?, con.n?);
    if !con.batch.is_empty() || con.c.dims != [m, n] {
        return None;
    }
    let (m_len, n_len) = (con.extents[m], con.extents[n]);
    let c = con.c.memref;
    let inputs = [con.a.memref, con.b.memref, c];
    // SAFETY: value and op queries on live IR throughout.
    unsafe {
        if !sys::mlirValueIsAOpResult(c) || ir::name(sys::mlirOpResultGetOwner(c)) != "memref.alloc" {
            return None;
        }
        let block = sys::mlirOperationGetBlock(con.op);
        let mut epilogue: Option<MlirOperation> = None;
        let mut u = sys::mlirValueGetFirstUse(c);
        while !u.ptr.is_null() {
            let owner = sys::mlirOpOperandGetOwner(u);
            let anc = ir::ancestor_in(owner, block)?;
            let after = sys::mlirOperationIsBeforeInBlock(con.op, anc);
            if after && ir::name(anc) != "memref.dealloc" {
                if epilogue.is_some_and(|e| e.ptr != anc.ptr) {
                    return None;
                }
                epilogue = Some(anc);
            }
            u = sys::mlirOpOperandGetNextUse(u);
        }
        let ep = epilogue?;
        if ir::name(ep) != "affine.parallel" || const_bounds(ep, "lowerBoundsMap", "upperBoundsMap")? != (0, m_len) {
            return None;
        }
        let ep_body = ir::ops_in(ir::first_block(ir::region(ep, 0)));
        let [inner, _yield] = ep_body.as_slice() else { return None };
        let inner = *inner;
        if ir::name(inner) != "affine.parallel" || const_bounds(inner, "lowerBoundsMap", "upperBoundsMap")? != (0, n_len) {
            return None;
        }
        let i = ir::block_argument(ir::first_block(ir::region(ep, 0)), 0);
        let j = ir::block_argument(ir::first_block(ir::region(inner, 0)), 0);
        let users: Vec<MlirOperation> = ir::walk(inner).into_iter().filter(|op| ir::operands(*op).iter().any(|v| v.ptr == c.ptr)).collect();
        let [c_load] = users.as_slice() else { return None };
        let lops = ir::operands(*c_load);
        if ir::name(*c_load) != "affine.load" || lops.len() != 3 || lops[1].ptr != i.ptr || lops[2].ptr != j.ptr {
            return None;
        }
        let stores: Vec<MlirOperation> = ir::walk(inner).into_iter().filter(|op| ir::name(*op) == "affine.store").collect();
        let [store] = stores.as_slice() else { return None };
        let sops = ir::operands(*store);
        if sops.len() != 4 || sops[2].ptr != i.ptr || sops[3].ptr != j.ptr || sops[1].ptr == c.ptr {
            return None;
        }
        // The fused kernel reads A and B while it writes the epilogue's
        // output row by row: they must be different memory.
        let out = sops[1];
        if inputs.iter().any(|x| crate::vectorize_loops::may_alias(out, *x)) {
            return None;
        }
        if !can_delay(con.op, ep, &inputs) {
            return None;
        }
        let widest = crate::vectorize_loops::check_body(inner, j, n_len, &[*c_load])?;
        (widest as i64 <= con.elem.bytes() * 8 && w > 0).then_some(Epilogue { outer: ep, inner, c_load: *c_load })
    }
}

/// Whether the contraction `op` may run later, just before `until` (the
/// epilogue, later in the same block): the fused kernel goes there, since
/// the epilogue may read values and buffers that the ops in between define
/// or fill (a bias broadcast into a temporary). That moves the
/// contraction's effects (reads of A, B and C, writes of C) past those ops,
/// so none of them may write A, B or C or free them (they cannot read C:
/// the epilogue is its only reader). Ops are known by name; any other op
/// refuses.
fn can_delay(op: MlirOperation, until: MlirOperation, buffers: &[MlirValue]) -> bool {
    let touches = |m: MlirValue| buffers.iter().any(|x| crate::vectorize_loops::may_alias(m, *x));
    let harmless = |op: MlirOperation| -> bool {
        let name = ir::name(op);
        match name.as_str() {
            "affine.store" | "memref.store" | "vector.store" => !touches(ir::operand(op, 1)),
            "memref.dealloc" => !touches(ir::operand(op, 0)),
            "affine.load" | "memref.load" | "vector.load" | "memref.alloc" | "memref.alloca" => true,
            "affine.parallel" | "affine.for" | "affine.if" | "scf.for" | "scf.parallel" | "scf.if" => true,
            "affine.yield" | "affine.apply" | "scf.yield" | "scf.reduce" | "scf.reduce.return" => true,
            "vector.broadcast" | "vector.fma" | "vector.reduction" => true,
            n => n.starts_with("arith.") || n.starts_with("math."),
        }
    };
    // SAFETY: walking live ops of one block; `until` follows `op` in it.
    let mut next = unsafe { sys::mlirOperationGetNextInBlock(op) };
    while !next.ptr.is_null() && next.ptr != until.ptr {
        if !harmless(next) || !ir::walk(next).into_iter().all(harmless) {
            return false;
        }
        // SAFETY: as above.
        next = unsafe { sys::mlirOperationGetNextInBlock(next) };
    }
    !next.ptr.is_null()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(m: i64, n: i64, nr: i64, mr: i64, nb_cap: i64, batch: i64, min_tasks: i64) -> Partition {
        let shape = Shape { full_blocks: n / nr, tail: n % nr > 0, batch, panels: m / mr, m, n, nb_cap, min_tasks };
        partition(shape)
    }

    /// Checks a split against its shape: every block in one group (none
    /// empty), every panel in one chunk, and the task count reached where
    /// the shape has tasks enough.
    fn covers(p: Partition, m: i64, n: i64, nr: i64, mr: i64, nb_cap: i64, batch: i64, min_tasks: i64) {
        let full = n / nr;
        if full > 0 {
            assert!(p.nb <= nb_cap.max(1) && p.groups * p.nb >= full && (p.groups - 1) * p.nb < full, "{p:?} for {m}x{n}, {nr}, {mr}, {nb_cap}");
        }
        let panels = (m / mr).max(1);
        assert!(p.row_chunks * p.per_chunk >= panels && (p.row_chunks - 1) * p.per_chunk < panels, "{p:?}");
        let most = batch * (full + (n % nr > 0) as i64) * (m / mr).max(1);
        let tasks = batch * (p.groups + (n % nr > 0) as i64) * p.row_chunks;
        // Chunks of equal size can round the count down (682 panels in 64
        // chunks of 11 make 62), never to under half.
        if (m / mr) >= 2 && most >= 4 * min_tasks {
            assert!(2 * tasks >= min_tasks, "{p:?}: {tasks} tasks");
        }
    }

    #[test]
    fn square_matmuls_keep_groups_wide() {
        // znver5 f32: 64-column blocks, 6 rows, 8 blocks per cache block.
        assert_eq!(split(2048, 2048, 64, 6, 8, 1, 16), Partition { nb: 4, groups: 8, row_chunks: 2, per_chunk: 171 });
        // Four groups in four chunks move as much: fewer chunks win.
        assert_eq!(split(1024, 1024, 64, 6, 8, 1, 16), Partition { nb: 2, groups: 8, row_chunks: 2, per_chunk: 85 });
        // One task per worker is allowed to keep whole groups.
        assert_eq!(split(2048, 2048, 64, 6, 8, 1, 2), Partition { nb: 8, groups: 4, row_chunks: 1, per_chunk: 341 });
    }

    #[test]
    fn a_batch_gives_tasks_without_splitting() {
        assert_eq!(split(256, 256, 64, 6, 8, 16, 16), Partition { nb: 4, groups: 1, row_chunks: 1, per_chunk: 42 });
    }

    #[test]
    fn no_cache_block_keeps_one_block_per_group() {
        // Without a packed B (or no fourth tile size) groups are single blocks.
        let p = split(4096, 4096, 64, 6, 1, 1, 16);
        assert_eq!((p.nb, p.groups, p.row_chunks), (1, 64, 1));
        // One row: nothing to split.
        let p = split(1, 1000, 32, 6, 1, 1, 16);
        assert_eq!((p.nb, p.groups, p.row_chunks), (1, 31, 1));
    }

    #[test]
    fn only_a_masked_block() {
        assert_eq!(split(40, 20, 64, 6, 8, 1, 16), Partition { nb: 1, groups: 0, row_chunks: 6, per_chunk: 1 });
    }

    #[test]
    fn every_split_covers_its_shape() {
        for &(m, n) in &[(13, 229), (40, 70), (1000, 1000), (4096, 64), (64, 4096), (7, 2048), (2048, 8), (300, 4099)] {
            for &(nr, mr, nb_cap) in &[(64, 6, 8), (32, 6, 8), (16, 6, 8), (32, 8, 4), (16, 4, 1)] {
                for &batch in &[1, 3] {
                    for &min_tasks in &[1, 2, 16, 64] {
                        covers(split(m, n, nr, mr, nb_cap, batch, min_tasks), m, n, nr, mr, nb_cap, batch, min_tasks);
                    }
                }
            }
        }
    }
}
