//! `strata-vectorize`: turns loops into `vector` dialect code.
//!
//! Today it rewrites one shape, the one that matters most: the matmul nest
//! that `strata-lower-to-affine` produces for f32 and f64,
//!
//! ```text
//! affine.parallel %i { affine.for %k { affine.parallel %j {
//!   C[i, j] = C[i, j] + A[i, k] * B[k, j] } } }
//! ```
//!
//! into a register-blocked micro-kernel: for each block of `MR` rows and
//! `2 x W` columns (`W` = the vector width in elements), `2 x MR` vector
//! accumulators stay in registers across the whole `k` loop, each step
//! loading two vectors of `B`'s row, broadcasting `MR` elements of `A` and
//! issuing `2 x MR` `vector.fma`s. Each block of `B`'s columns is first
//! packed into a contiguous buffer. The blocks of columns are an
//! `scf.parallel` (the thread pool runs them), rows inside, so one block of
//! `B` stays in cache for all rows; leftover rows use one-row blocks;
//! leftover columns (fewer than `2 x W`) keep the original nest, narrowed
//! to them. An elementwise epilogue that alone reads the matmul's temporary
//! result (bias, activation) is applied to the accumulators in the kernel,
//! which then runs where the epilogue was (the epilogue may read buffers
//! defined and filled after the matmul), provided the ops in between leave
//! the matmul's inputs alone and the epilogue's output is none of them.
//! Other loops are left to LLVM's auto-vectorizer, made able to vectorize
//! them by rewriting f32 `exp` and `tanh` from libm calls into arithmetic
//! ([`crate::expand_math`], after the loops are vectorized). Remarks are
//! not emitted yet.
//!
//! Assumes the nest is exactly the one `strata-convert-to-linalg` lowers a
//! 2-D matmul to (operand order and identity index maps are checked).
//! Guarantees the same sums in the same `k` order, fused multiply-adds.

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::{OptionKind, OptionSpec, PassOptions},
    registry::{Build, PassInfo, Status},
    target::Target,
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-vectorize",
    summary: "Turn loops into vector dialect code at the target's vector width: the matmul micro-kernel, elementwise loops and strata.map bodies",
    options: &[OptionSpec {
        name: "vector-width",
        kind: OptionKind::Int,
        default: "0",
        description: "vector width in bits: 128, 256 or 512; 0 uses the module's strata.target (512 with AVX-512, 256 with AVX2, else 128)",
    }],
    status: Status::Implemented,
    build: Build::Rust(|o: &PassOptions| Box::new(Vectorize { given: o.int("vector-width") })),
};

/// Rows per register block: `2 x MR` accumulators plus two `B` vectors and
/// one broadcast fit AVX-512's 32 vector registers with room to spare.
const MR: usize = 6;

#[derive(Clone, Copy)]
struct Vectorize {
    /// The `vector-width` option: 0 for the target's.
    given: i64,
}

impl StrataPass for Vectorize {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let bits = match self.given {
            0 => Target::of_module(root.to_raw()).vector_bits as usize,
            128 | 256 | 512 => self.given as usize,
            other => {
                ir::emit_error(
                    root.to_raw(),
                    &format!("'strata-vectorize' option vector-width must be 128, 256 or 512 (or 0 for the target's), not {other}"),
                );
                return Err(PassFailed);
            }
        };
        let nests: Vec<(MlirOperation, Matmul)> =
            ir::find(root.to_raw(), &["affine.parallel"]).into_iter().filter_map(|op| match_matmul(op).map(|m| (op, m))).collect();
        for (outer, m) in nests {
            rewrite(outer, &m, bits);
        }
        let registers = Target::of_module(root.to_raw()).vector_registers;
        crate::vectorize_loops::run(root.to_raw(), bits, crate::vectorize_loops::interleave_factor(registers));
        crate::expand_math::run(root.to_raw());
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

pub(crate) struct Matmul {
    a: MlirValue,
    b: MlirValue,
    c: MlirValue,
    /// The innermost (column) loop, kept for the leftover columns.
    inner: MlirOperation,
    pub(crate) elem: MlirType,
    pub(crate) m: i64,
    pub(crate) k: i64,
    pub(crate) n: i64,
}

/// The single op of `op`'s body other than its terminator.
fn only_child(op: MlirOperation) -> Option<MlirOperation> {
    let ops = ir::ops_in(ir::first_block(ir::region(op, 0)));
    (ops.len() == 2).then(|| ops[0])
}

fn identity_map(op: MlirOperation) -> bool {
    ir::attribute(op, "map")
        // SAFETY: affine.load/store carry an AffineMapAttr named `map`.
        .map(|a| unsafe { sys::mlirAffineMapIsIdentity(sys::mlirAffineMapAttrGetValue(a)) })
        .unwrap_or(false)
}

fn same(a: MlirValue, b: MlirValue) -> bool {
    a.ptr == b.ptr
}

pub(crate) fn match_matmul(outer: MlirOperation) -> Option<Matmul> {
    if ir::name(outer) != "affine.parallel" {
        return None;
    }
    let kloop = only_child(outer).filter(|op| ir::name(*op) == "affine.for")?;
    let inner = only_child(kloop).filter(|op| ir::name(*op) == "affine.parallel")?;
    // One induction variable each.
    for op in [outer, kloop, inner] {
        // SAFETY: a live block.
        if unsafe { sys::mlirBlockGetNumArguments(ir::first_block(ir::region(op, 0))) } != 1 {
            return None;
        }
    }
    let iv = |op| ir::block_argument(ir::first_block(ir::region(op, 0)), 0);
    let (i, k, j) = (iv(outer), iv(kloop), iv(inner));
    let body = ir::ops_in(ir::first_block(ir::region(inner, 0)));
    let names: Vec<String> = body.iter().map(|op| ir::name(*op)).collect();
    let float_ops = ["affine.load", "affine.load", "affine.load", "arith.mulf", "arith.addf", "affine.store", "affine.yield"];
    if names != float_ops || !body[..3].iter().chain([&body[5]]).all(|op| identity_map(*op)) {
        return None;
    }
    let [la, lb, lc, mul, add, st] = [body[0], body[1], body[2], body[3], body[4], body[5]];
    let (a, b, c) = (ir::operand(la, 0), ir::operand(lb, 0), ir::operand(lc, 0));
    let idx = |op: MlirOperation, from: isize| ir::operands(op)[from as usize..].to_vec();
    let ok = idx(la, 1).iter().zip([i, k]).all(|(x, y)| same(*x, y))
        && idx(lb, 1).iter().zip([k, j]).all(|(x, y)| same(*x, y))
        && idx(lc, 1).iter().zip([i, j]).all(|(x, y)| same(*x, y))
        && idx(st, 2).iter().zip([i, j]).all(|(x, y)| same(*x, y))
        && same(ir::operand(st, 1), c)
        && same(ir::operand(mul, 0), ir::result(la, 0))
        && same(ir::operand(mul, 1), ir::result(lb, 0))
        && same(ir::operand(add, 0), ir::result(lc, 0))
        && same(ir::operand(add, 1), ir::result(mul, 0))
        && same(ir::operand(st, 0), ir::result(add, 0))
        && [la, lb, lc].iter().all(|l| ir::operands(*l).len() == 3);
    if !ok {
        return None;
    }
    let (ashape, elem) = ir::shape(ir::value_type(a));
    let (bshape, _) = ir::shape(ir::value_type(b));
    let (cshape, _) = ir::shape(ir::value_type(c));
    let ty = ir::print_type(elem);
    if (ty != "f32" && ty != "f64") || ashape.len() != 2 || bshape.len() != 2 || cshape.len() != 2 {
        return None;
    }
    // The loops cover the whole memrefs (static shapes from bufferization).
    Some(Matmul { a, b, c, inner, elem, m: ashape[0], k: ashape[1], n: bshape[1] })
}

/// An elementwise nest right after the matmul that reads its result
/// `C[i, j]` once per element, the only other reader of `C`: the kernel
/// applies it to its accumulators and stores the final values, so `C` is
/// never written back and read again.
struct Epilogue {
    outer: MlirOperation,
    inner: MlirOperation,
    c_load: MlirOperation,
}

fn const_bounds(op: MlirOperation, lower: &str, upper: &str) -> Option<(i64, i64)> {
    let parse = |name| -> Option<i64> {
        ir::print_attr(ir::attribute(op, name)?).strip_prefix("affine_map<() -> (")?.strip_suffix(")>")?.parse().ok()
    };
    Some((parse(lower)?, parse(upper)?))
}

fn find_epilogue(outer: MlirOperation, mm: &Matmul, elem_bits: usize) -> Option<Epilogue> {
    // SAFETY: value and op queries on live IR throughout.
    unsafe {
        if !sys::mlirValueIsAOpResult(mm.c) || ir::name(sys::mlirOpResultGetOwner(mm.c)) != "memref.alloc" {
            return None;
        }
        let block = sys::mlirOperationGetBlock(outer);
        let mut epilogue: Option<MlirOperation> = None;
        let mut u = sys::mlirValueGetFirstUse(mm.c);
        while !u.ptr.is_null() {
            let owner = sys::mlirOpOperandGetOwner(u);
            let anc = ir::ancestor_in(owner, block)?;
            let after = sys::mlirOperationIsBeforeInBlock(outer, anc);
            if after && ir::name(anc) != "memref.dealloc" {
                if epilogue.is_some_and(|e| e.ptr != anc.ptr) {
                    return None;
                }
                epilogue = Some(anc);
            }
            u = sys::mlirOpOperandGetNextUse(u);
        }
        let e = epilogue?;
        if ir::name(e) != "affine.parallel" || const_bounds(e, "lowerBoundsMap", "upperBoundsMap")? != (0, mm.m) {
            return None;
        }
        let e_body = ir::ops_in(ir::first_block(ir::region(e, 0)));
        let [inner, _yield] = e_body.as_slice() else { return None };
        let inner = *inner;
        if ir::name(inner) != "affine.parallel" || const_bounds(inner, "lowerBoundsMap", "upperBoundsMap")? != (0, mm.n) {
            return None;
        }
        let i = ir::block_argument(ir::first_block(ir::region(e, 0)), 0);
        let j = ir::block_argument(ir::first_block(ir::region(inner, 0)), 0);
        let users: Vec<MlirOperation> =
            ir::walk(inner).into_iter().filter(|op| ir::operands(*op).iter().any(|v| v.ptr == mm.c.ptr)).collect();
        let [c_load] = users.as_slice() else { return None };
        let lops = ir::operands(*c_load);
        if ir::name(*c_load) != "affine.load" || lops.len() != 3 || lops[1].ptr != i.ptr || lops[2].ptr != j.ptr {
            return None;
        }
        let stores: Vec<MlirOperation> = ir::walk(inner).into_iter().filter(|op| ir::name(*op) == "affine.store").collect();
        let [store] = stores.as_slice() else { return None };
        let sops = ir::operands(*store);
        if sops.len() != 4 || sops[2].ptr != i.ptr || sops[3].ptr != j.ptr || sops[1].ptr == mm.c.ptr {
            return None;
        }
        // The fused kernel reads A and B while it writes the epilogue's
        // output row by row: they must be different memory.
        let out = sops[1];
        if [mm.a, mm.b, mm.c].iter().any(|m| crate::vectorize_loops::may_alias(out, *m)) {
            return None;
        }
        if !can_delay(outer, e, mm) {
            return None;
        }
        let widest = crate::vectorize_loops::check_body(inner, j, mm.n, &[*c_load])?;
        (widest <= elem_bits).then_some(Epilogue { outer: e, inner, c_load: *c_load })
    }
}

/// Whether the matmul nest `outer` may run later, just before `until` (the
/// epilogue, later in the same block): the fused kernel goes there, since
/// the epilogue may read values and buffers that the ops in between define
/// or fill (a bias broadcast into a temporary). That moves the matmul's
/// effects (reads of A, B and C, writes of C) past those ops, so none of
/// them may write A, B or C or free them (they cannot read C: the epilogue
/// is its only reader). Ops are known by name; any other op refuses.
fn can_delay(outer: MlirOperation, until: MlirOperation, mm: &Matmul) -> bool {
    let touches = |m: MlirValue| [mm.a, mm.b, mm.c].iter().any(|x| crate::vectorize_loops::may_alias(m, *x));
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
    // SAFETY: walking live ops of one block; `until` follows `outer` in it.
    let mut op = unsafe { sys::mlirOperationGetNextInBlock(outer) };
    while !op.ptr.is_null() && op.ptr != until.ptr {
        if !harmless(op) || !ir::walk(op).into_iter().all(harmless) {
            return false;
        }
        // SAFETY: as above.
        op = unsafe { sys::mlirOperationGetNextInBlock(op) };
    }
    !op.ptr.is_null()
}

/// The blocking of the micro-kernel: `mr` rows by `nv` vectors of columns
/// held in registers, over blocks of `kc` steps of the reduction (the packed
/// panel of B is `kc x nv*W`). `strata-tile` chooses them per CPU and
/// records them on the nest as `strata.tile_sizes = array<i64: mr, nv, kc>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiles {
    pub mr: i64,
    pub nv: i64,
    pub kc: i64,
}

pub const TILE_ATTR: &str = "strata.tile_sizes";

fn tiles_of(outer: MlirOperation, k: i64) -> Tiles {
    let given = ir::attribute(outer, TILE_ATTR).map(ir::i64_array).unwrap_or_default();
    match given.as_slice() {
        [mr, nv, kc] if *mr >= 1 && *nv >= 1 && *kc >= 1 => Tiles { mr: *mr, nv: *nv, kc: (*kc).min(k) },
        _ => Tiles { mr: MR as i64, nv: 2, kc: k },
    }
}

fn rewrite(outer: MlirOperation, mm: &Matmul, bits: usize) {
    let b = Builder::of_op(outer);
    let loc = ir::location(outer);
    let ty = ir::print_type(mm.elem);
    let w = (bits / if ty == "f32" { 32 } else { 64 }) as i64;
    let t = tiles_of(outer, mm.k);
    let nr = t.nv * w;
    let n_full = mm.n - mm.n % nr;
    if n_full == 0 {
        return; // fewer columns than one block: the scalar nest is as good
    }
    let index = b.index_type();
    let vty = b.ty(&format!("vector<{w}x{ty}>"));
    let elem_bits = if ty == "f32" { 32 } else { 64 };
    let epilogue = if t.kc == mm.k { find_epilogue(outer, mm, elem_bits) } else { None };
    // With an epilogue the kernel takes its place: what it reads from
    // outside is defined (and filled) by then, and A, B and C are unchanged
    // since the matmul (`can_delay`).
    let site = epilogue.as_ref().map_or(outer, |e| e.outer);
    let at = |op: MlirOperation| ir::insert_before(site, op);
    let cst = |v: i64| ir::result(at(b.constant(loc, &format!("{v} : index"), index)), 0);
    let m_full = mm.m - mm.m % t.mr;
    let ivt = b.ty(&format!("vector<{w}xindex>"));
    let iota = ir::result(at(crate::vectorize_loops::iota(&b, loc, w as usize)), 0);
    // Column blocks in parallel, rows inside: a packed block of B's columns
    // stays in cache while every row block passes over it.
    let par = at(b.op(
        "scf.parallel",
        loc,
        &[cst(0), cst(n_full), cst(nr)],
        &[],
        &[("operandSegmentSizes", b.attr("array<i32: 1, 1, 1, 0>"))],
        1,
    ));
    let pblock = ir::new_block(&[index], loc);
    ir::append_block(ir::region(par, 0), pblock);
    let jb = ir::block_argument(pblock, 0);
    let c_in = |block, v| pc_in(&b, block, loc, v);
    let add = |block, x, y| ir::result(ir::append(block, b.op("arith.addi", loc, &[x, y], &[index], &[], 0)), 0);
    let cols: Vec<MlirValue> = (0..t.nv).map(|v| if v == 0 { jb } else { add(pblock, jb, c_in(pblock, v * w)) }).collect();
    let packed_ty = b.ty(&format!("memref<{}x{}x{ty}>", t.kc, nr));
    let packed = ir::result(
        ir::append(pblock, b.op("memref.alloc", loc, &[], &[packed_ty], &[("alignment", b.attr("64 : i64"))], 0)),
        0,
    );
    // scf.for %kb = 0 to K step KC: one cache block of the reduction.
    let kb_for = ir::append(pblock, b.op("scf.for", loc, &[c_in(pblock, 0), c_in(pblock, mm.k), c_in(pblock, t.kc)], &[], &[], 1));
    ir::append(pblock, b.op("memref.dealloc", loc, &[packed], &[], &[], 0));
    ir::append(pblock, b.op("scf.reduce", loc, &[], &[], &[], 0));
    let kbb = ir::new_block(&[index], loc);
    ir::append_block(ir::region(kb_for, 0), kbb);
    let kb = ir::block_argument(kbb, 0);
    let kend = ir::result(
        ir::append(kbb, b.op("arith.minsi", loc, &[add(kbb, kb, c_in(kbb, t.kc)), c_in(kbb, mm.k)], &[index], &[], 0)),
        0,
    );
    let packed_cols: Vec<MlirValue> = (0..t.nv).map(|v| c_in(kbb, v * w)).collect();
    // Pack B[kb..kend, jb..jb+nr] into a contiguous buffer: the kernel then
    // reads B sequentially instead of one row (one page) apart per step.
    {
        let pack = ir::append(kbb, b.op("scf.for", loc, &[kb, kend, c_in(kbb, 1)], &[], &[], 1));
        let block = ir::new_block(&[index], loc);
        ir::append_block(ir::region(pack, 0), block);
        let k = ir::block_argument(block, 0);
        let kk = ir::result(ir::append(block, b.op("arith.subi", loc, &[k, kb], &[index], &[], 0)), 0);
        for (col, pcol) in cols.iter().zip(&packed_cols) {
            let v = ir::result(ir::append(block, b.op("vector.load", loc, &[mm.b, k, *col], &[vty], &[], 0)), 0);
            ir::append(block, b.op("vector.store", loc, &[v, packed, kk, *pcol], &[], &[], 0));
        }
        ir::append(block, b.op("scf.yield", loc, &[], &[], &[], 0));
    }
    for (rows, lo, hi) in [(t.mr, 0, m_full), (1, m_full, mm.m)] {
        if lo == hi {
            continue;
        }
        let ifor = ir::append(kbb, b.op("scf.for", loc, &[c_in(kbb, lo), c_in(kbb, hi), c_in(kbb, rows)], &[], &[], 1));
        let iblock = ir::new_block(&[index], loc);
        ir::append_block(ir::region(ifor, 0), iblock);
        let ib = ir::block_argument(iblock, 0);
        let row: Vec<MlirValue> = (0..rows).map(|r| if r == 0 { ib } else { add(iblock, ib, c_in(iblock, r)) }).collect();
        // Accumulators start from C's current values.
        let mut inits = Vec::new();
        for r in &row {
            for col in &cols {
                inits.push(ir::result(ir::append(iblock, b.op("vector.load", loc, &[mm.c, *r, *col], &[vty], &[], 0)), 0));
            }
        }
        let mut operands = vec![kb, kend, c_in(iblock, 1)];
        operands.extend(&inits);
        let kfor = ir::append(iblock, b.op("scf.for", loc, &operands, &vec![vty; inits.len()], &[], 1));
        let mut arg_types = vec![index];
        arg_types.extend(vec![vty; inits.len()]);
        let kblock = ir::new_block(&arg_types, loc);
        ir::append_block(ir::region(kfor, 0), kblock);
        let kv = ir::block_argument(kblock, 0);
        let kb_op = |op: MlirOperation| ir::append(kblock, op);
        let kk = ir::result(kb_op(b.op("arith.subi", loc, &[kv, kb], &[index], &[], 0)), 0);
        let bvec: Vec<MlirValue> =
            packed_cols.iter().map(|c| ir::result(kb_op(b.op("vector.load", loc, &[packed, kk, *c], &[vty], &[], 0)), 0)).collect();
        let mut next = Vec::new();
        for (ri, r) in row.iter().enumerate() {
            let a = ir::result(kb_op(b.op("memref.load", loc, &[mm.a, *r, kv], &[mm.elem], &[], 0)), 0);
            let av = ir::result(kb_op(b.op("vector.broadcast", loc, &[a], &[vty], &[], 0)), 0);
            for (ci, bv) in bvec.iter().enumerate() {
                let acc = ir::block_argument(kblock, (1 + ri * t.nv as usize + ci) as isize);
                next.push(ir::result(kb_op(b.op("vector.fma", loc, &[av, *bv, acc], &[vty], &[], 0)), 0));
            }
        }
        kb_op(b.op("scf.yield", loc, &next, &[], &[], 0));
        for (ri, r) in row.iter().enumerate() {
            for (ci, col) in cols.iter().enumerate() {
                let v = ir::result(kfor, (ri * t.nv as usize + ci) as isize);
                match &epilogue {
                    None => {
                        ir::append(iblock, b.op("vector.store", loc, &[v, mm.c, *r, *col], &[], &[], 0));
                    }
                    Some(e) => {
                        // The epilogue's element code on these W columns of
                        // row r, reading the accumulator instead of C.
                        let mut vz = crate::vectorize_loops::Vectorizer::new(b, e.inner, loc, w as usize, par);
                        vz.bind_index(ir::block_argument(ir::first_block(ir::region(e.outer, 0)), 0), *r, iblock);
                        let cb = ir::append(iblock, b.op("vector.broadcast", loc, &[*col], &[ivt], &[], 0));
                        let jvec = ir::append(iblock, b.op("arith.addi", loc, &[ir::result(cb, 0), iota], &[ivt], &[], 0));
                        vz.bind(ir::block_argument(ir::first_block(ir::region(e.inner, 0)), 0), ir::result(jvec, 0));
                        vz.skip(e.c_load);
                        vz.bind(ir::result(e.c_load, 0), v);
                        vz.body(ir::first_block(ir::region(e.inner, 0)), iblock, *col);
                    }
                }
            }
        }
        ir::append(iblock, b.op("scf.yield", loc, &[], &[], &[], 0));
    }
    ir::append(kbb, b.op("scf.yield", loc, &[], &[], &[], 0));
    crate::remark(
        outer,
        &format!(
            "strata-vectorize: matmul {}x{}x{} {ty} as a {}x{nr} register-blocked micro-kernel on vector<{w}x{ty}>, B packed in {}x{nr} panels; {} leftover column(s) stay scalar",
            mm.m, mm.k, mm.n, t.mr, t.kc, mm.n - n_full
        ),
    );
    // The original nests keep the leftover columns [n_full, n).
    let narrow = |inner: MlirOperation| ir::narrow_lower_bound(inner, n_full);
    if let Some(e) = &epilogue {
        crate::remark(e.outer, "strata-vectorize: elementwise epilogue fused into the matmul kernel (applied to its accumulators)");
        if n_full == mm.n {
            ir::replace_op(e.outer, &[]);
        } else {
            narrow(e.inner);
        }
    }
    if n_full == mm.n {
        ir::replace_op(outer, &[]);
    } else {
        narrow(mm.inner);
        if epilogue.is_some() {
            // Next to the kernel, as without an epilogue: the leftover
            // columns may move as the kernel did (`can_delay`).
            // SAFETY: both ops are live, in one block.
            unsafe { sys::mlirOperationMoveBefore(outer, site) };
        }
    }
}

/// An index constant appended to `block`.
fn pc_in(b: &Builder, block: sys::MlirBlock, loc: sys::MlirLocation, v: i64) -> MlirValue {
    ir::result(ir::append(block, b.constant(loc, &format!("{v} : index"), b.index_type())), 0)
}
