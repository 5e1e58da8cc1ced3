//! `strata-expand-float-atomics`: the atomics upstream's LLVM lowering
//! cannot handle, as compare-and-swap loops: `memref.generic_atomic_rmw` on
//! `f32` and `f64`, and `memref.atomic_rmw` of kind `mulf` or `muli`.
//!
//! Upstream turns every `generic_atomic_rmw` into `llvm.cmpxchg` on the
//! element type, which LLVM only allows for integers and pointers, so
//! float updates (an atomic max, a float histogram with a custom combine)
//! failed to compile; and LLVM's `atomicrmw` has no multiply, so an
//! `atomic_rmw mulf`/`muli` was left half-converted. Produces, in place of
//! each: the element's address (aligned pointer plus the strided offset, as
//! `!llvm.ptr`), a plain load of the current value, and an `scf.while` that
//! computes the new value from the one it last saw (the generic op's body,
//! or the multiply) and `llvm.cmpxchg`es the bits (`i32`/`i64`,
//! `acq_rel`/`monotonic`) until no other thread got in between. The result
//! is what each op defines: the value stored for `generic_atomic_rmw`, the
//! value replaced for `atomic_rmw`.
//!
//! Assumes the body has no side effects (the op's verifier says so), so
//! running it again after a failed exchange is safe. Runs inside
//! `strata-lower-to-llvm`, before `scf` is lowered. Integer
//! `generic_atomic_rmw` and the other `atomic_rmw` kinds are left to
//! upstream, which handles them.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-expand-float-atomics",
    summary: "memref.generic_atomic_rmw on f32/f64 as a compare-and-swap loop on the value's bits (LLVM's cmpxchg takes integers only)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(ExpandFloatAtomics)),
};

#[derive(Clone, Copy)]
struct ExpandFloatAtomics;

impl StrataPass for ExpandFloatAtomics {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for op in ir::find(root.to_raw(), &["memref.generic_atomic_rmw", "memref.atomic_rmw"]) {
            let ty = ir::value_type(ir::result(op, 0));
            if ir::name(op) == "memref.atomic_rmw" {
                // `mulf` and `muli`: LLVM's atomicrmw has no multiply.
                let combine = match ir::int_attr(op, "kind") {
                    Some(MULF) => "arith.mulf",
                    Some(MULI) => "arith.muli",
                    _ => continue,
                };
                expand_atomic_rmw(op, combine, width(ty));
            } else if ir::is_float(ty) {
                expand_generic(op, width(ty));
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// `memref.atomic_rmw`'s `kind` numbers (`arith::AtomicRMWKind`) of the
/// kinds LLVM cannot lower.
const MULF: i64 = 12;
const MULI: i64 = 13;

fn width(ty: sys::MlirType) -> usize {
    // SAFETY: a live integer or float type.
    unsafe {
        if sys::mlirTypeIsAInteger(ty) {
            sys::mlirIntegerTypeGetWidth(ty) as usize
        } else if sys::mlirTypeIsAF32(ty) {
            32
        } else {
            64
        }
    }
}

/// A `memref.generic_atomic_rmw` on floats: its body in the loop; the op's
/// result is the value stored.
fn expand_generic(op: MlirOperation, bits: usize) {
    let operands = ir::operands(op);
    let body = ir::first_block(ir::region(op, 0));
    let (_, stored) = cas_loop(op, operands[0], &operands[1..], bits, &mut |before, old| {
        let current = ir::block_argument(body, 0);
        let mut stored = old;
        for inner in ir::ops_in(body) {
            if ir::name(inner) == "memref.atomic_yield" {
                stored = ir::operand(inner, 0);
                continue;
            }
            // SAFETY: moves a live op out of the body it is in into `before`.
            unsafe { sys::mlirOperationRemoveFromParent(inner) };
            ir::append(before, inner);
        }
        // SAFETY: both values are live; uses of the body's argument move to %old.
        unsafe { sys::mlirValueReplaceAllUsesOfWith(current, old) };
        if stored.ptr == current.ptr {
            old
        } else {
            stored
        }
    });
    ir::replace_op(op, &[stored]);
}

/// A `memref.atomic_rmw` of a kind LLVM has no instruction for: `combine`
/// in the loop; the op's result is the value it replaced.
fn expand_atomic_rmw(op: MlirOperation, combine: &str, bits: usize) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    let operands = ir::operands(op);
    let (value, memref, indices) = (operands[0], operands[1], &operands[2..]);
    let ty = ir::value_type(value);
    let (seen, _) = cas_loop(op, memref, indices, bits, &mut |before, old| {
        ir::result(ir::append(before, b.op(combine, loc, &[old, value], &[ty], &[], 0)), 0)
    });
    ir::replace_op(op, &[seen]);
}

/// Emits, before `op`, a compare-and-swap loop on the bits of
/// `memref[indices]`: `apply` appends the new value's computation from the
/// old one to the loop's block and returns it. Returns the value the
/// successful exchange replaced and the value it stored.
fn cas_loop(
    op: MlirOperation,
    memref: MlirValue,
    indices: &[MlirValue],
    bits: usize,
    apply: &mut dyn FnMut(sys::MlirBlock, MlirValue) -> MlirValue,
) -> (MlirValue, MlirValue) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    let at = |new: MlirOperation| ir::insert_before(op, new);
    let index = b.index_type();
    let fty = ir::value_type(ir::result(op, 0));
    let ity = b.ty(&format!("i{bits}"));
    let i64t = b.ty("i64");
    let i1 = b.ty("i1");
    let ptr = b.ty("!llvm.ptr");

    // The element's address: aligned pointer + linear index * size.
    let (aligned, linear) = ir::element_position(op, memref, indices);
    let arith = |name: &str, x: MlirValue, y: MlirValue| ir::result(at(b.op(name, loc, &[x, y], &[index], &[], 0)), 0);
    let size = ir::result(at(b.index_constant(loc, (bits / 8) as i64)), 0);
    let address = arith("arith.addi", aligned, arith("arith.muli", linear, size));
    let address = ir::result(at(b.op("arith.index_cast", loc, &[address], &[i64t], &[], 0)), 0);
    let pointer = ir::result(at(b.op("llvm.inttoptr", loc, &[address], &[ptr], &[], 0)), 0);
    let mut load_operands = vec![memref];
    load_operands.extend_from_slice(indices);
    let first = ir::result(at(b.op("memref.load", loc, &load_operands, &[fty], &[], 0)), 0);

    // scf.while (%old = first) { apply(%old); cmpxchg; condition(!ok) seen, new }
    //           do { ^(%seen, %new): yield %seen }
    let lp = at(b.op("scf.while", loc, &[first], &[fty, fty], &[], 2));
    let before = ir::new_block(&[fty], loc);
    ir::append_block(ir::region(lp, 0), before);
    let old = ir::block_argument(before, 0);
    let stored = apply(before, old);
    let put = |new: MlirOperation| ir::append(before, new);
    let (old_bits, new_bits) = if ir::is_float(fty) {
        (
            ir::result(put(b.op("arith.bitcast", loc, &[old], &[ity], &[], 0)), 0),
            ir::result(put(b.op("arith.bitcast", loc, &[stored], &[ity], &[], 0)), 0),
        )
    } else {
        (old, stored)
    };
    let pair_ty = b.ty(&format!("!llvm.struct<(i{bits}, i1)>"));
    let orderings = [("success_ordering", b.attr("6 : i64")), ("failure_ordering", b.attr("2 : i64"))];
    let pair = ir::result(put(b.op("llvm.cmpxchg", loc, &[pointer, old_bits, new_bits], &[pair_ty], &orderings, 0)), 0);
    let field = |k: i64, t| {
        ir::result(put(b.op("llvm.extractvalue", loc, &[pair], &[t], &[("position", b.attr(&format!("array<i64: {k}>")))], 0)), 0)
    };
    let seen_bits = field(0, ity);
    let ok = field(1, i1);
    let seen = if ir::is_float(fty) { ir::result(put(b.op("arith.bitcast", loc, &[seen_bits], &[fty], &[], 0)), 0) } else { seen_bits };
    let yes = ir::result(put(b.constant(loc, "true", i1)), 0);
    let again = ir::result(put(b.op("arith.xori", loc, &[ok, yes], &[i1], &[], 0)), 0);
    put(b.op("scf.condition", loc, &[again, seen, stored], &[], &[], 0));

    let after = ir::new_block(&[fty, fty], loc);
    ir::append_block(ir::region(lp, 1), after);
    ir::append(after, b.op("scf.yield", loc, &[ir::block_argument(after, 0)], &[], &[], 0));
    (ir::result(lp, 0), ir::result(lp, 1))
}
