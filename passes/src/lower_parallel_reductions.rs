//! `strata-lower-parallel-reductions`: a `strata.parallel_for` that reduces
//! becomes per-chunk partial results, combined once at the end.
//!
//! Matches `strata.parallel_for ... reduce("KIND" %init : T, ...)`.
//! Produces:
//! - a buffer of `C` partial results per reduction, `C` = 4 x the target's
//!   cores (enough chunks to balance the workers, few enough to combine
//!   cheaply);
//! - a `strata.parallel_for` over `min(C, trip count)` chunks, grain 1: each
//!   runs its share of the iterations as an `scf.for` that carries the
//!   running value in registers (starting from the kind's identity:
//!   `0`, `1`, `-inf`/the smallest integer, `+inf`/the largest), and stores
//!   it into its own slot, so no atomic is in the hot loop and no two chunks
//!   write one element;
//! - after it, an `scf.for` that folds `init` with every chunk's partial
//!   result, and frees the buffer.
//!
//! Assumes the verifier's rules (one yielded value per reduction, of its
//! init's type; kinds add/mul/max/min on f32, f64, i32, i64 or index).
//! Guarantees: integer results are exact; float results are the same sums
//! in another association. Runs first in `strata-parallelize`, so the race
//! check and everything before see the op as written.

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
    target::Target,
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-lower-parallel-reductions",
    summary: "strata.parallel_for with reduce(...) as per-chunk partial results combined once (step of strata-parallelize)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(LowerParallelReductions)),
};

#[derive(Clone, Copy)]
struct LowerParallelReductions;

impl StrataPass for LowerParallelReductions {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let chunks = 4 * Target::of_module(root.to_raw()).cores.max(1);
        let loops: Vec<MlirOperation> = ir::find(root.to_raw(), &["strata.parallel_for"])
            .into_iter()
            .filter(|op| ir::operands(*op).len() > 3)
            .collect();
        for op in loops {
            lower(op, chunks);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// One reduction: its kind and type.
struct Reduction {
    kind: String,
    ty: MlirType,
    float: bool,
}

impl Reduction {
    /// `x` combined with `y`; floats with `reassoc`, which the op's
    /// semantics allow, so that LLVM can vectorize each chunk's loop.
    fn combine(&self, b: &Builder, loc: sys::MlirLocation, x: MlirValue, y: MlirValue) -> MlirOperation {
        let name = match (self.kind.as_str(), self.float) {
            ("add", true) => "arith.addf",
            ("add", false) => "arith.addi",
            ("mul", true) => "arith.mulf",
            ("mul", false) => "arith.muli",
            ("max", true) => "arith.maximumf",
            ("max", false) => "arith.maxsi",
            ("min", true) => "arith.minimumf",
            _ => "arith.minsi",
        };
        if self.float {
            b.op(name, loc, &[x, y], &[self.ty], &[("fastmath", b.attr("#arith.fastmath<reassoc>"))], 0)
        } else {
            b.op(name, loc, &[x, y], &[self.ty], &[], 0)
        }
    }

    fn identity(&self, b: &Builder, loc: sys::MlirLocation) -> MlirOperation {
        let t = ir::print_type(self.ty);
        let text = match (self.kind.as_str(), self.float) {
            ("add", true) => format!("0.0 : {t}"),
            ("mul", true) => format!("1.0 : {t}"),
            ("max", true) => format!("0x{} : {t}", if t == "f32" { "FF800000" } else { "FFF0000000000000" }),
            ("min", true) => format!("0x{} : {t}", if t == "f32" { "7F800000" } else { "7FF0000000000000" }),
            ("add", false) => format!("0 : {t}"),
            ("mul", false) => format!("1 : {t}"),
            ("max", false) => format!("{} : {t}", if t == "i32" { i32::MIN as i64 } else { i64::MIN }),
            _ => format!("{} : {t}", if t == "i32" { i32::MAX as i64 } else { i64::MAX }),
        };
        b.constant(loc, &text, self.ty)
    }
}

fn lower(op: MlirOperation, max_chunks: i64) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    let at = |new: MlirOperation| ir::insert_before(op, new);
    let operands = ir::operands(op);
    let (lb, ub, step, inits) = (operands[0], operands[1], operands[2], &operands[3..]);
    let kinds: Vec<String> = ir::attribute(op, "kinds")
        .map(|a| {
            // SAFETY: the verifier guarantees an array of strings.
            (0..unsafe { sys::mlirArrayAttrGetNumElements(a) })
                .map(|i| ir::string_of(unsafe { sys::mlirStringAttrGetValue(sys::mlirArrayAttrGetElement(a, i)) }))
                .collect()
        })
        .unwrap_or_default();
    let reductions: Vec<Reduction> = inits
        .iter()
        .zip(&kinds)
        .map(|(v, k)| {
            let ty = ir::value_type(*v);
            Reduction { kind: k.clone(), ty, float: ir::is_float(ty) }
        })
        .collect();
    let types: Vec<MlirType> = reductions.iter().map(|r| r.ty).collect();
    let index = b.index_type();
    let cst = |v: i64| ir::result(at(b.index_constant(loc, v)), 0);
    let arith = |name: &str, x: MlirValue, y: MlirValue| ir::result(at(b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    let (c0, c1) = (cst(0), cst(1));

    // trip = max(ceil((ub - lb) / step), 0); chunks = min(trip, C); per = ceil(trip / max(chunks, 1)).
    let trip = arith("arith.maxsi", arith("arith.ceildivsi", arith("arith.subi", ub, lb), step), c0);
    let chunks = arith("arith.minsi", trip, cst(max_chunks));
    let per = arith("arith.ceildivsi", trip, arith("arith.maxsi", chunks, c1));
    let parts: Vec<MlirValue> = types
        .iter()
        .map(|t| {
            let ty = ir::memref_type(&[max_chunks], *t);
            ir::result(at(b.op("memref.alloc", loc, &[], &[ty], &[("operandSegmentSizes", b.attr("array<i32: 0, 0>"))], 0)), 0)
        })
        .collect();

    // strata.parallel_for %c = 0 to chunks step 1 grain 1 { partials }
    let outer = at(b.op("strata.parallel_for", loc, &[c0, chunks, c1], &[], &[("grain", b.attr("1 : i64"))], 1));
    let ob = ir::new_block(&[index], loc);
    ir::append_block(ir::region(outer, 0), ob);
    let c = ir::block_argument(ob, 0);
    let put = |block: sys::MlirBlock, new: MlirOperation| ir::append(block, new);
    let iarith = |block: sys::MlirBlock, name: &str, x: MlirValue, y: MlirValue| {
        ir::result(put(block, b.op(name, loc, &[x, y], &[index], &[], 0)), 0)
    };
    let lo = iarith(ob, "arith.muli", c, per);
    let hi = iarith(ob, "arith.minsi", iarith(ob, "arith.addi", lo, per), trip);
    let identities: Vec<MlirValue> = reductions.iter().map(|r| ir::result(put(ob, r.identity(&b, loc)), 0)).collect();
    let mut for_operands = vec![lo, hi, c1];
    for_operands.extend(&identities);
    let inner = put(ob, b.op("scf.for", loc, &for_operands, &types, &[], 1));
    let mut args = vec![index];
    args.extend(&types);
    let fb = ir::new_block(&args, loc);
    ir::append_block(ir::region(inner, 0), fb);
    let t = ir::block_argument(fb, 0);
    let i = iarith(fb, "arith.addi", lb, iarith(fb, "arith.muli", t, step));

    // The original body, iteration `i`, ending in the combine.
    let body = ir::first_block(ir::region(op, 0));
    let old_i = ir::block_argument(body, 0);
    // SAFETY: both values are live; the body's uses of its argument move.
    unsafe { sys::mlirValueReplaceAllUsesOfWith(old_i, i) };
    let mut yielded = Vec::new();
    for o in ir::ops_in(body) {
        if ir::name(o) == "strata.yield" {
            yielded = ir::operands(o);
            continue;
        }
        // SAFETY: moves a live op from the old body into the new one.
        unsafe { sys::mlirOperationRemoveFromParent(o) };
        put(fb, o);
    }
    let next: Vec<MlirValue> = reductions
        .iter()
        .enumerate()
        .map(|(k, r)| ir::result(put(fb, r.combine(&b, loc, ir::block_argument(fb, 1 + k as isize), yielded[k])), 0))
        .collect();
    put(fb, b.op("scf.yield", loc, &next, &[], &[], 0));
    for (k, p) in parts.iter().enumerate() {
        put(ob, b.op("memref.store", loc, &[ir::result(inner, k as isize), *p, c], &[], &[], 0));
    }
    put(ob, b.op("strata.yield", loc, &[], &[], &[], 0));

    // Fold init with every chunk's partial result.
    let mut fold_operands = vec![c0, chunks, c1];
    fold_operands.extend(inits);
    let fold = at(b.op("scf.for", loc, &fold_operands, &types, &[], 1));
    let kb = ir::new_block(&args, loc);
    ir::append_block(ir::region(fold, 0), kb);
    let kc = ir::block_argument(kb, 0);
    let folded: Vec<MlirValue> = reductions
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let part = ir::result(put(kb, b.op("memref.load", loc, &[parts[k], kc], &[r.ty], &[], 0)), 0);
            ir::result(put(kb, r.combine(&b, loc, ir::block_argument(kb, 1 + k as isize), part)), 0)
        })
        .collect();
    put(kb, b.op("scf.yield", loc, &folded, &[], &[], 0));
    for p in &parts {
        at(b.op("memref.dealloc", loc, &[*p], &[], &[], 0));
    }
    let results: Vec<MlirValue> = (0..types.len()).map(|k| ir::result(fold, k as isize)).collect();
    ir::replace_op(op, &results);
}
