//! `strata-fuse`: fuses chains of elementwise `strata` ops into one
//! `strata.map`, at the tensor level.
//!
//! Matches an elementwise op (`add` `sub` `mul` `div` `max` `min` `neg`
//! `exp` `log` `sqrt` `tanh`, or a `strata.map`) one of whose operands is
//! produced by another elementwise op of the same shape, in the same block,
//! that has no other use. Every such producer/consumer link is fused: each
//! group of ops joined by links (a tree whose root is the one op whose
//! result is not fused further) becomes one `strata.map` whose body computes
//! each member's element in block order, placed where the root was. A chain
//! thus becomes a single map (one loop, no temporaries). A producer with
//! several uses is never merged, so no work is ever duplicated.
//!
//! Linear in the size of the function: one walk finds every link, then each
//! group is built once (a member `strata.map`'s body is copied once), with
//! no rescan after a fusion. The map's inputs are the group's outside
//! operands, each distinct value once, in the order that fusing one pair at
//! a time would give (the consumer's operands, each link replaced by its
//! producer's inputs).
//!
//! What the `strata` ops cannot express at this level is fused later, on
//! the linalg form inside `strata-lower-to-affine`: broadcasts into their
//! users, elementwise epilogues, and so on (upstream elementwise fusion).
//! A matmul is never fused as a producer there either.

use std::collections::{HashMap, HashSet};

use mlir_sys::{self as sys, MlirBlock, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
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
        // Every group is found before any is rewritten: a rewrite only
        // touches its own group's ops, so the others' handles stay live.
        for group in groups(root.to_raw()) {
            fuse_group(&group);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

fn is_elementwise(op: MlirOperation) -> bool {
    ELEMENTWISE.contains(&ir::name(op).as_str())
}

/// The consumer that elementwise `producer` fuses into, if any: its one
/// user, elementwise, in the same block, of the same shape.
fn fuses_into(producer: MlirOperation) -> Option<MlirOperation> {
    let out = ir::result(producer, 0);
    let consumer = ir::single_user(out)?;
    if consumer.ptr == producer.ptr || !is_elementwise(consumer) {
        return None;
    }
    // SAFETY: both ops are live.
    let same_block = unsafe { sys::mlirOperationGetBlock(consumer).ptr == sys::mlirOperationGetBlock(producer).ptr };
    let same_shape = ir::shape(ir::value_type(ir::result(consumer, 0))).0 == ir::shape(ir::value_type(out)).0;
    (same_block && same_shape).then_some(consumer)
}

/// One group of linked ops, to become one `strata.map`.
struct Group {
    /// In block order; the last one is the root.
    members: Vec<MlirOperation>,
    /// For each member (by handle), the members fused into it.
    producers: HashMap<usize, Vec<MlirOperation>>,
}

/// Every group of two or more ops under `root`, from one walk.
fn groups(root: MlirOperation) -> Vec<Group> {
    let ops = ir::walk(root);
    // Walk order is block order among the ops of one block.
    let order: HashMap<usize, usize> = ops.iter().enumerate().map(|(i, op)| (op.ptr as usize, i)).collect();
    let mut consumer_of: HashMap<usize, MlirOperation> = HashMap::new();
    let mut producers: HashMap<usize, Vec<MlirOperation>> = HashMap::new();
    for &op in &ops {
        if !is_elementwise(op) {
            continue;
        }
        if let Some(consumer) = fuses_into(op) {
            consumer_of.insert(op.ptr as usize, consumer);
            producers.entry(consumer.ptr as usize).or_default().push(op);
        }
    }
    let mut out = Vec::new();
    for &op in &ops {
        if consumer_of.contains_key(&(op.ptr as usize)) || !producers.contains_key(&(op.ptr as usize)) {
            continue;
        }
        // `op` is a root: collect its tree (iteratively: chains are long).
        let mut members = Vec::new();
        let mut group_producers = HashMap::new();
        let mut stack = vec![op];
        while let Some(m) = stack.pop() {
            members.push(m);
            if let Some(ps) = producers.remove(&(m.ptr as usize)) {
                stack.extend(ps.iter().copied());
                group_producers.insert(m.ptr as usize, ps);
            }
        }
        members.sort_by_key(|m| order[&(m.ptr as usize)]);
        out.push(Group { members, producers: group_producers });
    }
    out
}

/// The group's inputs: the root's operands, each one produced by a member
/// replaced by that member's inputs (recursively), each value once.
fn group_inputs(group: &Group, root: MlirOperation) -> Vec<MlirValue> {
    // Every member but the root has its one use in another member.
    let linked: HashSet<usize> = group.members.iter().filter(|m| m.ptr != root.ptr).map(|m| m.ptr as usize).collect();
    let is_link = |v: MlirValue| -> Option<MlirOperation> {
        // SAFETY: a live value.
        if !unsafe { sys::mlirValueIsAOpResult(v) } {
            return None;
        }
        let def = ir::defining_scope(v);
        linked.contains(&(def.ptr as usize)).then_some(def)
    };
    let mut inputs = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    // Operands still to expand, the next one on top.
    let mut stack: Vec<MlirValue> = ir::operands(root);
    stack.reverse();
    while let Some(v) = stack.pop() {
        match is_link(v) {
            Some(p) => {
                let start = stack.len();
                stack.extend(ir::operands(p));
                stack[start..].reverse();
            }
            None => {
                if seen.insert(v.ptr as usize) {
                    inputs.push(v);
                }
            }
        }
    }
    inputs
}

fn fuse_group(group: &Group) {
    let root = *group.members.last().expect("a group has members");
    let b = Builder::of_op(root);
    let loc = ir::location(root);
    let inputs = group_inputs(group, root);
    let result_ty = ir::value_type(ir::result(root, 0));
    let map = ir::insert_before(root, b.op("strata.map", loc, &inputs, &[result_ty], &[], 1));
    let elem_types: Vec<MlirType> = inputs.iter().map(|v| ir::shape(ir::value_type(*v)).1).collect();
    let block = ir::new_block(&elem_types, loc);
    ir::append_block(ir::region(map, 0), block);
    // Tensor value (an input, or a member's result) -> its scalar in the body.
    let mut scalar: HashMap<usize, MlirValue> = HashMap::new();
    for (i, v) in inputs.iter().enumerate() {
        scalar.insert(v.ptr as usize, ir::block_argument(block, i as isize));
    }
    let mut value = None;
    for &m in &group.members {
        let args: Vec<MlirValue> = ir::operands(m).iter().map(|v| scalar[&(v.ptr as usize)]).collect();
        let v = emit_scalar(&b, block, m, &args);
        scalar.insert(ir::result(m, 0).ptr as usize, v);
        value = Some(v);
        // The remarks that fusing one pair at a time gives: a producer
        // that has absorbed others is a map by then, and so is a consumer
        // after its first fusion.
        for (j, p) in group.producers.get(&(m.ptr as usize)).into_iter().flatten().enumerate() {
            let p_name = if group.producers.contains_key(&(p.ptr as usize)) { "strata.map".to_string() } else { ir::name(*p) };
            let c_name = if j == 0 { ir::name(m) } else { "strata.map".to_string() };
            crate::remark(m, &format!("strata-fuse: fused {p_name} into {c_name} as one strata.map"));
        }
    }
    ir::append(block, b.op("strata.yield", loc, &[value.expect("a group has members")], &[], &[], 0));
    ir::replace_op(root, &[ir::result(map, 0)]);
    // Consumers before their producers, so no erased op has a use left.
    for &m in group.members.iter().rev().skip(1) {
        ir::replace_op(m, &[]);
    }
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
