//! `strata-fuse`: fuses chains of elementwise `strata` ops into one
//! `strata.map`, at the tensor level.
//!
//! Matches an elementwise op (`add` `sub` `mul` `div` `max` `min` `neg`
//! `exp` `log` `sqrt` `tanh`, or a `strata.map`) one of whose operands is
//! produced by another elementwise op of the same shape that has no other
//! use. Produces one `strata.map` whose body computes the producer's
//! element, then the consumer's; repeated until no such pair is left, so a
//! chain becomes a single map (one loop, no temporaries). A producer with
//! several uses is never merged, so no work is ever duplicated.
//!
//! What the `strata` ops cannot express at this level is fused later, on
//! the linalg form inside `strata-lower-to-affine`: broadcasts into their
//! users, elementwise epilogues, and so on (upstream elementwise fusion).
//! A matmul is never fused as a producer there either.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirBlock, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-fuse",
    summary: "Fuse chains of elementwise strata ops into one strata.map (broadcasts and epilogues fuse after conversion to linalg)",
    options: &[],
    status: Status::Implemented,
    build: Build::Rust(|_: &PassOptions| Box::new(Fuse)),
};

#[derive(Clone, Copy)]
struct Fuse;

const ELEMENTWISE: [&str; 12] = [
    "strata.add",
    "strata.sub",
    "strata.mul",
    "strata.div",
    "strata.max",
    "strata.min",
    "strata.neg",
    "strata.exp",
    "strata.log",
    "strata.sqrt",
    "strata.tanh",
    "strata.map",
];

impl StrataPass for Fuse {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        while let Some((producer, consumer)) = find_pair(root.to_raw()) {
            fuse(producer, consumer);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

fn find_pair(root: MlirOperation) -> Option<(MlirOperation, MlirOperation)> {
    for producer in ir::walk(root) {
        if !ELEMENTWISE.contains(&ir::name(producer).as_str()) {
            continue;
        }
        let out = ir::result(producer, 0);
        let Some(consumer) = ir::single_user(out) else { continue };
        if !ELEMENTWISE.contains(&ir::name(consumer).as_str()) {
            continue;
        }
        // SAFETY: both ops are live.
        let same_block = unsafe { sys::mlirOperationGetBlock(consumer).ptr == sys::mlirOperationGetBlock(producer).ptr };
        let same_shape = ir::shape(ir::value_type(ir::result(consumer, 0))).0 == ir::shape(ir::value_type(out)).0;
        if same_block && same_shape {
            return Some((producer, consumer));
        }
    }
    None
}

/// Emits the scalar computation of elementwise `op` at the end of `block`
/// on `args` (one scalar per operand of `op`), returning its value.
fn emit_scalar(b: &Builder, block: MlirBlock, op: MlirOperation, args: &[MlirValue]) -> MlirValue {
    let loc = ir::location(op);
    let name = ir::name(op);
    let elem = ir::shape(ir::value_type(ir::result(op, 0))).1;
    let float = ir::is_float(elem);
    let pick = |f: &str, i: &str| if float { f.to_string() } else { i.to_string() };
    let scalar_op = match name.as_str() {
        "strata.map" => return inline_map_body(block, op, args),
        "strata.add" => pick("arith.addf", "arith.addi"),
        "strata.sub" => pick("arith.subf", "arith.subi"),
        "strata.mul" => pick("arith.mulf", "arith.muli"),
        "strata.div" => pick("arith.divf", "arith.divsi"),
        "strata.max" => pick("arith.maximumf", "arith.maxsi"),
        "strata.min" => pick("arith.minimumf", "arith.minsi"),
        "strata.neg" if !float => {
            let zero = ir::append(block, b.constant(loc, &format!("0 : {}", ir::print_type(elem)), elem));
            return ir::result(ir::append(block, b.op("arith.subi", loc, &[ir::result(zero, 0), args[0]], &[elem], &[], 0)), 0);
        }
        "strata.neg" => "arith.negf".into(),
        other => format!("math.{}", other.trim_start_matches("strata.")),
    };
    ir::result(ir::append(block, b.op(&scalar_op, loc, args, &[elem], &[], 0)), 0)
}

/// Clones the body of `map` into `block`, its arguments bound to `args`;
/// returns the value it yields.
fn inline_map_body(block: MlirBlock, map: MlirOperation, args: &[MlirValue]) -> MlirValue {
    let body = ir::first_block(ir::region(map, 0));
    let mut mapping: HashMap<usize, MlirValue> = HashMap::new();
    for (i, a) in args.iter().enumerate() {
        mapping.insert(ir::block_argument(body, i as isize).ptr as usize, *a);
    }
    for op in ir::ops_in(body) {
        if ir::name(op) == "strata.yield" {
            let v = ir::operand(op, 0);
            return *mapping.get(&(v.ptr as usize)).unwrap_or(&v);
        }
        // SAFETY: cloning a live op; the clone is inserted right away.
        let clone = unsafe { sys::mlirOperationClone(op) };
        ir::append(block, clone);
        // Values from before the clone (the old block's arguments and
        // results) are rebound; values inside it were remapped by MLIR.
        for inner in std::iter::once(clone).chain(ir::walk(clone)) {
            for (i, v) in ir::operands(inner).iter().enumerate() {
                if let Some(new) = mapping.get(&(v.ptr as usize)) {
                    // SAFETY: same type, live op.
                    unsafe { sys::mlirOperationSetOperand(inner, i as isize, *new) };
                }
            }
        }
        // SAFETY: a live op.
        for i in 0..unsafe { sys::mlirOperationGetNumResults(op) } {
            mapping.insert(ir::result(op, i).ptr as usize, ir::result(clone, i));
        }
    }
    unreachable!("a verified strata.map body ends in strata.yield")
}

fn fuse(producer: MlirOperation, consumer: MlirOperation) {
    let b = Builder::of_op(consumer);
    let loc = ir::location(consumer);
    let link = ir::result(producer, 0);
    // The fused map's inputs: the consumer's, with the link replaced by the
    // producer's inputs; each distinct value once.
    let mut inputs: Vec<MlirValue> = Vec::new();
    let add = |v: MlirValue, inputs: &mut Vec<MlirValue>| {
        if !inputs.iter().any(|x| x.ptr == v.ptr) {
            inputs.push(v);
        }
    };
    for v in ir::operands(consumer) {
        if v.ptr == link.ptr {
            for p in ir::operands(producer) {
                add(p, &mut inputs);
            }
        } else {
            add(v, &mut inputs);
        }
    }
    let result_ty = ir::value_type(ir::result(consumer, 0));
    let map = ir::insert_before(consumer, b.op("strata.map", loc, &inputs, &[result_ty], &[], 1));
    let elem_types: Vec<MlirType> = inputs.iter().map(|v| ir::shape(ir::value_type(*v)).1).collect();
    let block = ir::new_block(&elem_types, loc);
    ir::append_block(ir::region(map, 0), block);
    let arg_of = |v: MlirValue| ir::block_argument(block, inputs.iter().position(|x| x.ptr == v.ptr).expect("an input") as isize);
    let p_args: Vec<MlirValue> = ir::operands(producer).into_iter().map(arg_of).collect();
    let p_val = emit_scalar(&b, block, producer, &p_args);
    let c_args: Vec<MlirValue> =
        ir::operands(consumer).into_iter().map(|v| if v.ptr == link.ptr { p_val } else { arg_of(v) }).collect();
    let c_val = emit_scalar(&b, block, consumer, &c_args);
    ir::append(block, b.op("strata.yield", loc, &[c_val], &[], &[], 0));
    crate::remark(consumer, &format!("strata-fuse: fused {} into {} as one strata.map", ir::name(producer), ir::name(consumer)));
    ir::replace_op(consumer, &[ir::result(map, 0)]);
    ir::replace_op(producer, &[]);
}
