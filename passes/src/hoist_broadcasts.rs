//! `strata-hoist-broadcast-computations`: computes once per element of a
//! broadcast operand what a `linalg.generic` computed once per element of
//! its iteration space, and divides by a broadcast value by multiplying by
//! its reciprocal.
//!
//! Why: elementwise fusion folds a producer on a small tensor (a row's
//! mean `s / n`, a layernorm's `sqrt(var / n + eps)`) into its broadcast
//! consumer, so the consumer recomputes it for every element of the row:
//! two divisions and a square root per element, each an order of
//! magnitude slower than a multiply. And a softmax divides every element
//! by its row's sum.
//!
//! Matches a `linalg.generic` on tensors of static shape with an input
//! whose indexing map is a projected permutation with fewer results than
//! the generic has loops and no reduction dimension among them (a
//! broadcast; a contraction's operands vary along the reduction, and
//! `strata-vectorize` folds their producers into the packing instead). Each arith or math op of the body
//! whose operands are elements of inputs with that same map, results of
//! such ops, or values defined outside the body depends on the broadcast's
//! indices only; and each `arith.divf %a, %b` whose divisor `%b` is such
//! a value (and `%a` not) gets `1 / %b` as such a value. Produces, before
//! the generic, one `linalg.generic` per map over the broadcast's shape
//! (all loops parallel, identity maps) that computes those ops and yields
//! the values the rest of the body uses, and the generic rebuilt with
//! their results as extra inputs with the broadcast's map; the hoisted
//! ops leave the body and each such division becomes `arith.mulf %a,
//! %recip`.
//!
//! Assumes verified IR. Guarantees the same results up to the rounding of
//! a division by a reciprocal (`a * (1 / b)` is within about one ulp of
//! `a / b`), which is the float freedom the other passes take too; the
//! small generics read each broadcast element once, so they cost a
//! fraction of the broadcast's size.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirAttribute, MlirBlock, MlirOperation, MlirType, MlirValue};

use crate::{
    contraction,
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-hoist-broadcast-computations",
    summary: "Compute once per broadcast element what a linalg.generic computes per element, and divide by a broadcast value through its reciprocal",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(HoistBroadcasts)),
};

#[derive(Clone, Copy)]
struct HoistBroadcasts;

impl StrataPass for HoistBroadcasts {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for g in ir::find(root.to_raw(), &["linalg.generic"]) {
            if let Some(plan) = plan(g) {
                rewrite(g, &plan);
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// A broadcast: the loop dimensions an input's map reads, in order.
type Key = Vec<usize>;

/// What moves out of one generic, per broadcast.
struct Group {
    key: Key,
    /// The generic's inputs read through this broadcast (operand positions).
    inputs: Vec<usize>,
    /// The body's ops that move, in body order.
    ops: Vec<MlirOperation>,
    /// Divisions whose divisor moves: each gets a reciprocal.
    divisions: Vec<MlirOperation>,
    /// Moved values the remaining body uses (the reciprocals come after).
    frontier: Vec<MlirValue>,
    /// The broadcast's static shape.
    shape: Vec<i64>,
}

struct Plan {
    inputs: usize,
    groups: Vec<Group>,
}

fn segment_sizes(g: MlirOperation) -> Option<(usize, usize)> {
    let a = ir::attribute(g, "operandSegmentSizes")?;
    // SAFETY: the verifier guarantees a two-element DenseI32ArrayAttr.
    unsafe { Some((sys::mlirDenseI32ArrayGetElement(a, 0) as usize, sys::mlirDenseI32ArrayGetElement(a, 1) as usize)) }
}

fn maps(g: MlirOperation) -> Vec<sys::MlirAffineMap> {
    let Some(a) = ir::attribute(g, "indexing_maps") else { return Vec::new() };
    // SAFETY: an ArrayAttr of AffineMapAttrs (verified).
    unsafe { (0..sys::mlirArrayAttrGetNumElements(a)).map(|i| sys::mlirAffineMapAttrGetValue(sys::mlirArrayAttrGetElement(a, i))).collect() }
}

/// The dims a projected permutation reads, if it is a strict broadcast.
fn broadcast_key(map: sys::MlirAffineMap) -> Option<Key> {
    // SAFETY: queries on a live map.
    let strict = unsafe {
        sys::mlirAffineMapIsProjectedPermutation(map) && sys::mlirAffineMapGetNumResults(map) < sys::mlirAffineMapGetNumDims(map)
    };
    if strict {
        ir::map_dims(map)
    } else {
        None
    }
}

fn is_static_tensor(t: MlirType) -> bool {
    // SAFETY: type queries.
    unsafe { sys::mlirTypeIsARankedTensor(t) && sys::mlirShapedTypeHasStaticShape(t) }
}

fn body(g: MlirOperation) -> MlirBlock {
    ir::first_block(ir::region(g, 0))
}

fn plan(g: MlirOperation) -> Option<Plan> {
    let (n_in, n_out) = segment_sizes(g)?;
    let maps = maps(g);
    // SAFETY: a live op.
    if maps.len() != n_in + n_out || unsafe { sys::mlirOperationGetNumResults(g) } as usize != n_out {
        return None;
    }
    if ir::operands(g).iter().any(|v| !is_static_tensor(ir::value_type(*v))) {
        return None;
    }
    let block = body(g);
    let reductions = contraction::reduction_dims(g)?;
    let mut member: HashMap<usize, usize> = HashMap::new(); // value -> group index
    let mut groups: Vec<Group> = Vec::new();
    for (i, map) in maps.iter().take(n_in).enumerate() {
        // A broadcast along a reduction dimension is a contraction's
        // operand: its producers fold into the packing instead.
        let Some(key) = broadcast_key(*map).filter(|k| !k.iter().any(|d| reductions.contains(d))) else { continue };
        let at = match groups.iter().position(|gr| gr.key == key) {
            Some(at) => at,
            None => {
                let shape = ir::shape(ir::value_type(ir::operand(g, i as isize))).0;
                groups.push(Group { key, inputs: Vec::new(), ops: Vec::new(), divisions: Vec::new(), frontier: Vec::new(), shape });
                groups.len() - 1
            }
        };
        groups[at].inputs.push(i);
        member.insert(ir::block_argument(block, i as isize).ptr as usize, at);
    }
    if groups.is_empty() {
        return None;
    }
    let ops = ir::ops_in(block);
    for op in &ops {
        let name = ir::name(*op);
        // SAFETY: live op queries.
        let (results, regions) = unsafe { (sys::mlirOperationGetNumResults(*op), sys::mlirOperationGetNumRegions(*op)) };
        if !(name.starts_with("arith.") || name.starts_with("math.")) || results != 1 || regions != 0 {
            continue;
        }
        let operands = ir::operands(*op);
        let mut key: Option<usize> = None;
        let mut movable = true;
        for v in &operands {
            match member.get(&(v.ptr as usize)) {
                Some(&k) if key.is_none_or(|x| x == k) => key = Some(k),
                Some(_) => movable = false,
                None if ir::defined_inside(*v, g) => movable = false,
                None => {}
            }
        }
        if let (true, Some(k)) = (movable, key) {
            groups[k].ops.push(*op);
            member.insert(ir::result(*op, 0).ptr as usize, k);
        } else if name == "arith.divf" && operands.len() == 2 {
            let divisor = member.get(&(operands[1].ptr as usize)).copied();
            let dividend = member.get(&(operands[0].ptr as usize)).copied();
            if let Some(k) = divisor.filter(|k| dividend != Some(*k)) {
                groups[k].divisions.push(*op);
            }
        }
    }
    for gr in &mut groups {
        let moved: Vec<usize> = gr.ops.iter().map(|o| o.ptr as usize).collect();
        gr.frontier = gr
            .ops
            .iter()
            .map(|o| ir::result(*o, 0))
            .filter(|v| ir::users(*v).iter().any(|u| !moved.contains(&(u.ptr as usize)) && !gr.divisions.iter().any(|d| d.ptr == u.ptr)))
            .collect();
    }
    groups.retain(|gr| !gr.ops.is_empty() || !gr.divisions.is_empty());
    (!groups.is_empty()).then_some(Plan { inputs: n_in, groups })
}

fn rewrite(g: MlirOperation, plan: &Plan) {
    let b = Builder::of_op(g);
    let loc = ir::location(g);
    let block = body(g);
    let maps_attr = ir::attribute(g, "indexing_maps").expect("planned");
    // Every key dim is a parallel one, so there is one unless the
    // broadcast is a scalar (rank 0, no iterators).
    let parallel = contraction::parallel_iterator(g);
    // New inputs of the rebuilt generic: (value, map attr, the value of
    // the old body it replaces, or the division it turns into a multiply).
    let mut added: Vec<(MlirValue, MlirAttribute, Option<MlirValue>, Option<MlirOperation>)> = Vec::new();
    for gr in &plan.groups {
        let rank = gr.key.len();
        let outs_elems: Vec<MlirType> =
            gr.frontier.iter().map(|v| ir::value_type(*v)).chain(gr.divisions.iter().map(|d| ir::value_type(ir::result(*d, 0)))).collect();
        let tensor = |elem: MlirType| {
            // SAFETY: a live element type; static dims.
            unsafe { sys::mlirRankedTensorTypeGet(rank as isize, gr.shape.as_ptr(), elem, sys::mlirAttributeGetNull()) }
        };
        let empties: Vec<MlirValue> =
            outs_elems.iter().map(|e| ir::result(ir::insert_before(g, b.op("tensor.empty", loc, &[], &[tensor(*e)], &[], 0)), 0)).collect();
        let ins: Vec<MlirValue> = gr.inputs.iter().map(|i| ir::operand(g, *i as isize)).collect();
        // SAFETY: a live context.
        let identity = unsafe { sys::mlirAffineMapAttrGet(sys::mlirAffineMapMultiDimIdentityGet(b.ctx, rank as isize)) };
        let h_maps = vec![identity; ins.len() + empties.len()];
        let iterators: Vec<MlirAttribute> = parallel.map(|p| vec![p; rank]).unwrap_or_default();
        let operands: Vec<MlirValue> = ins.iter().chain(&empties).copied().collect();
        let result_types: Vec<MlirType> = empties.iter().map(|v| ir::value_type(*v)).collect();
        let attrs = [
            ("indexing_maps", ir::array_attr(&b, &h_maps)),
            ("iterator_types", ir::array_attr(&b, &iterators)),
            ("operandSegmentSizes", ir::i32_array_attr(&b, &[ins.len() as i32, empties.len() as i32])),
        ];
        let h = ir::insert_before(g, b.op("linalg.generic", loc, &operands, &result_types, &attrs, 1));
        let arg_types: Vec<MlirType> = ins.iter().map(|v| ir::shape(ir::value_type(*v)).1).chain(outs_elems.iter().copied()).collect();
        let hb = ir::new_block(&arg_types, loc);
        ir::append_block(ir::region(h, 0), hb);
        let mut map: HashMap<usize, MlirValue> = HashMap::new();
        for (j, i) in gr.inputs.iter().enumerate() {
            map.insert(ir::block_argument(block, *i as isize).ptr as usize, ir::block_argument(hb, j as isize));
        }
        ir::clone_into(hb, &gr.ops, &mut map);
        let mut yields: Vec<MlirValue> = gr.frontier.iter().map(|v| map[&(v.ptr as usize)]).collect();
        for d in &gr.divisions {
            let divisor = map[&(ir::operand(*d, 1).ptr as usize)];
            let ty = ir::value_type(divisor);
            let one = ir::append(hb, b.splat_constant(loc, ty, 1.0));
            let r = ir::append(hb, b.op("arith.divf", ir::location(*d), &[ir::result(one, 0), divisor], &[ty], &[], 0));
            yields.push(ir::result(r, 0));
        }
        ir::append(hb, b.op("linalg.yield", loc, &yields, &[], &[], 0));
        // SAFETY: in range of the verified array.
        let map_attr = unsafe { sys::mlirArrayAttrGetElement(maps_attr, gr.inputs[0] as isize) };
        for (j, v) in gr.frontier.iter().enumerate() {
            added.push((ir::result(h, j as isize), map_attr, Some(*v), None));
        }
        for (j, d) in gr.divisions.iter().enumerate() {
            added.push((ir::result(h, (gr.frontier.len() + j) as isize), map_attr, None, Some(*d)));
        }
    }

    // The body first, in place: the new inputs' arguments after the old
    // inputs', the moved values and divisions rewired to them, the moved
    // ops gone, and then the old inputs nothing reads any more (those only
    // the moved ops read), so that later matchers see the real operands.
    for (j, (v, _, replaces, division)) in added.iter().enumerate() {
        let elem = ir::shape(ir::value_type(*v)).1;
        // SAFETY: a live block; the position is within its arguments.
        let arg = unsafe { sys::mlirBlockInsertArgument(block, (plan.inputs + j) as isize, elem, loc) };
        if let Some(old) = replaces {
            // SAFETY: live values.
            unsafe { sys::mlirValueReplaceAllUsesOfWith(*old, arg) };
        }
        if let Some(d) = division {
            let mul = ir::insert_before(*d, b.op("arith.mulf", ir::location(*d), &[ir::operand(*d, 0), arg], &[ir::value_type(ir::result(*d, 0))], &fastmath(*d), 0));
            ir::replace_op(*d, &[ir::result(mul, 0)]);
        }
    }
    // Last first: only uses among themselves are left.
    for gr in plan.groups.iter().rev() {
        for op in gr.ops.iter().rev() {
            if ir::users(ir::result(*op, 0)).is_empty() {
                // SAFETY: an op without uses.
                unsafe { sys::mlirOperationDestroy(*op) };
            }
        }
    }
    let unused: Vec<usize> = (0..plan.inputs).filter(|i| ir::users(ir::block_argument(block, *i as isize)).is_empty()).collect();
    for i in unused.iter().rev() {
        // SAFETY: an argument without uses.
        unsafe { sys::mlirBlockEraseArgument(block, *i as u32) };
    }

    // Then the generic again around that body: the old inputs kept, the
    // new ones, the outputs.
    let operands = ir::operands(g);
    // SAFETY: in range of the verified array.
    let old_maps: Vec<MlirAttribute> = (0..operands.len()).map(|i| unsafe { sys::mlirArrayAttrGetElement(maps_attr, i as isize) }).collect();
    let kept = (0..plan.inputs).filter(|i| !unused.contains(i));
    let new_operands: Vec<MlirValue> =
        kept.clone().map(|i| operands[i]).chain(added.iter().map(|a| a.0)).chain(operands[plan.inputs..].iter().copied()).collect();
    let new_maps: Vec<MlirAttribute> =
        kept.map(|i| old_maps[i]).chain(added.iter().map(|a| a.1)).chain(old_maps[plan.inputs..].iter().copied()).collect();
    let n_ins = plan.inputs - unused.len() + added.len();
    // SAFETY: a live op.
    let n_results = unsafe { sys::mlirOperationGetNumResults(g) };
    let result_types: Vec<MlirType> = (0..n_results).map(|i| ir::value_type(ir::result(g, i))).collect();
    let mut attrs: Vec<(String, MlirAttribute)> =
        ir::attributes(g).into_iter().filter(|(n, _)| !matches!(n.as_str(), "indexing_maps" | "operandSegmentSizes")).collect();
    attrs.push(("indexing_maps".into(), ir::array_attr(&b, &new_maps)));
    attrs.push(("operandSegmentSizes".into(), ir::i32_array_attr(&b, &[n_ins as i32, (operands.len() - plan.inputs) as i32])));
    let attr_refs: Vec<(&str, MlirAttribute)> = attrs.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    let new = ir::insert_before(g, b.op("linalg.generic", loc, &new_operands, &result_types, &attr_refs, 1));
    ir::take_body(ir::region(new, 0), ir::region(g, 0));
    let results: Vec<MlirValue> = (0..n_results).map(|i| ir::result(new, i)).collect();
    ir::replace_op(g, &results);
}

/// The division's fastmath flags, kept on the multiply that replaces it.
fn fastmath(d: MlirOperation) -> Vec<(&'static str, MlirAttribute)> {
    ir::attribute(d, "fastmath").map(|a| vec![("fastmath", a)]).unwrap_or_default()
}
