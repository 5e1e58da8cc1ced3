//! `strata-split-prologues` (a step of `strata-lower-to-affine{keep-
//! contractions}`): a contraction into which elementwise fusion folded a
//! producer with inputs of its own (a softmax's `e / broadcast(sum)` in
//! front of `P . V`) becomes that producer, materialized, and a plain
//! contraction of its result.
//!
//! Matches a `linalg.generic` on buffers with three or more inputs, one
//! output and one reduction dimension, whose payload is `out + f(...) *
//! g(...)`, where `f` (or `g`) reads two or more inputs: a *main* input,
//! indexed by the reduction dimension, and *side* inputs indexed by a
//! subset of the main input's dimensions (the sum, along the rows only).
//! Produces, right before the contraction (and its zero fill, a
//! `linalg.fill` or a generic that only yields, which must stay next to
//! it):
//! - a buffer of the main input's shape and a parallel `linalg.generic`
//!   over its dimensions computing `f` into it, from the main and side
//!   inputs through their maps re-expressed on those dimensions;
//! - the contraction again, reading that buffer through the main input's
//!   map in place of `f`'s inputs, its payload `out + x * g(...)`.
//!
//! The cost rule: the split writes and reads back the operand once (M x K
//! elements), where the fused form ran `f` inside the reduction for every
//! output column (M x K x N times, a division per multiply-add in
//! attention) and could not use the register-blocked kernel at all. It is
//! applied only when the result is a contraction `strata-vectorize` has a
//! kernel for ([`crate::contraction::planned`]); otherwise the generic is
//! left as it was. The producer is row-local, so `strata-fuse-rows` can
//! still fuse it with the nests that compute its inputs.
//!
//! Assumes bufferized IR with static shapes. Guarantees the same values:
//! `f` is evaluated once per element of its domain instead of once per use.

use mlir_sys::{self as sys, MlirAttribute, MlirOperation, MlirValue};

use crate::{
    contraction,
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-split-prologues",
    summary: "A contraction with a fused multi-input producer of an operand as the producer, materialized, and a plain contraction (step of strata-lower-to-affine)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(SplitPrologues)),
};

#[derive(Clone, Copy)]
struct SplitPrologues;

impl StrataPass for SplitPrologues {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for op in ir::find(root.to_raw(), &["linalg.generic"]) {
            if let Some(plan) = plan(op) {
                split(op, &plan);
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// One operand's producer to split out.
struct Producer {
    /// The value `f(...)` in the payload.
    root: MlirValue,
    /// The payload's ops computing it, in body order.
    ops: Vec<MlirOperation>,
    /// The inputs it reads (block argument positions), the main one first.
    inputs: Vec<usize>,
}

struct Plan {
    ins: usize,
    maps: Vec<sys::MlirAffineMap>,
    dims: Vec<Vec<usize>>,
    producer: Producer,
}

fn plan(op: MlirOperation) -> Option<Plan> {
    let segments = ir::attribute(op, "operandSegmentSizes")?;
    // SAFETY: linalg.generic's operandSegmentSizes is a DenseI32ArrayAttr.
    let (ins, outs, results) = unsafe {
        (
            sys::mlirDenseI32ArrayGetElement(segments, 0) as usize,
            sys::mlirDenseI32ArrayGetElement(segments, 1),
            sys::mlirOperationGetNumResults(op),
        )
    };
    if ins < 3 || outs != 1 || results != 0 {
        return None;
    }
    let maps_attr = ir::attribute(op, "indexing_maps")?;
    // SAFETY: the verifier guarantees an ArrayAttr of AffineMapAttrs, one
    // per operand.
    let maps: Vec<sys::MlirAffineMap> = unsafe {
        (0..sys::mlirArrayAttrGetNumElements(maps_attr)).map(|i| sys::mlirAffineMapAttrGetValue(sys::mlirArrayAttrGetElement(maps_attr, i))).collect()
    };
    let mut dims = Vec::new();
    for (i, map) in maps.iter().enumerate() {
        let ty = ir::value_type(ir::operand(op, i as isize));
        let (shape, _) = ir::shape(ty);
        if !ir::is_plain_memref(ty) || shape.iter().any(|s| *s < 1) {
            return None;
        }
        dims.push(ir::map_dims(*map)?);
    }
    let k = match contraction::reduction_dims(op)?.as_slice() {
        [k] => *k,
        _ => return None,
    };
    let block = ir::first_block(ir::region(op, 0));
    let body = ir::ops_in(block);
    let yield_ = *body.last()?;
    let def = |v: MlirValue| -> Option<MlirOperation> {
        // SAFETY: value queries on live IR.
        unsafe { sys::mlirValueIsAOpResult(v).then(|| sys::mlirOpResultGetOwner(v)) }.filter(|o| body.iter().any(|b| b.ptr == o.ptr))
    };
    let add = def(ir::operand(yield_, 0)).filter(|o| matches!(ir::name(*o).as_str(), "arith.addf" | "arith.addi"))?;
    let out_arg = ir::block_argument(block, ins as isize);
    let (p, q) = (ir::operand(add, 0), ir::operand(add, 1));
    let product = if p.ptr == out_arg.ptr { q } else if q.ptr == out_arg.ptr { p } else { return None };
    let mul = def(product).filter(|o| matches!(ir::name(*o).as_str(), "arith.mulf" | "arith.muli"))?;
    // The ops and inputs each factor reads.
    let slice = |v: MlirValue| -> Option<(Vec<MlirOperation>, Vec<usize>)> {
        let (mut ops, mut args): (Vec<MlirOperation>, Vec<usize>) = (Vec::new(), Vec::new());
        let mut todo = vec![v];
        while let Some(v) = todo.pop() {
            // SAFETY: as above.
            if unsafe { sys::mlirValueIsABlockArgument(v) } {
                if !ir::defined_inside(v, op) {
                    continue;
                }
                // SAFETY: a block argument.
                let pos = unsafe { sys::mlirBlockArgumentGetArgNumber(v) } as usize;
                if pos >= ins {
                    return None; // the output
                }
                if !args.contains(&pos) {
                    args.push(pos);
                }
                continue;
            }
            let Some(d) = def(v) else { continue };
            if ops.iter().any(|o: &MlirOperation| o.ptr == d.ptr) {
                continue;
            }
            let name = ir::name(d);
            // SAFETY: a live op.
            if !(name.starts_with("arith.") || name.starts_with("math.")) || unsafe { sys::mlirOperationGetNumResults(d) } != 1 {
                return None;
            }
            ops.push(d);
            todo.extend(ir::operands(d));
        }
        Some((body.iter().copied().filter(|o| ops.iter().any(|n| n.ptr == o.ptr)).collect(), args))
    };
    let (x, y) = (ir::operand(mul, 0), ir::operand(mul, 1));
    let (sx, sy) = (slice(x)?, slice(y)?);
    if sx.1.iter().any(|a| sy.1.contains(a)) || sx.0.iter().any(|o| sy.0.iter().any(|p| p.ptr == o.ptr)) {
        return None;
    }
    // Nothing else in the body.
    let used = |o: &MlirOperation| sx.0.iter().chain(&sy.0).chain([&mul, &add, &yield_]).any(|u| u.ptr == o.ptr);
    if body.iter().any(|o| !used(o)) {
        return None;
    }
    let out_memref = ir::operand(op, ins as isize);
    let (root, (ops, args)) = if sx.1.len() >= 2 { (x, sx) } else if sy.1.len() >= 2 { (y, sy) } else { return None };
    // The main input: indexed by the reduction, its dimensions covering
    // every other input's.
    let main = *args.iter().find(|a| dims[**a].contains(&k) && args.iter().all(|b| dims[*b].iter().all(|d| dims[**a].contains(d))))?;
    if args.iter().any(|a| ir::operand(op, *a as isize).ptr == out_memref.ptr) {
        return None;
    }
    let mut inputs = vec![main];
    inputs.extend(args.iter().copied().filter(|a| *a != main));
    Some(Plan { ins, maps, dims, producer: Producer { root, ops, inputs } })
}

/// A parallel iterator type, taken from `op`'s own list (the C API has no
/// constructor for linalg's enum attributes).
fn split(op: MlirOperation, plan: &Plan) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    let Some(parallel) = contraction::parallel_iterator(op) else { return };
    let iterators = ir::attribute(op, "iterator_types").expect("plan read them");
    let pro = &plan.producer;
    let main = pro.inputs[0];
    let main_dims = &plan.dims[main];
    let main_memref = ir::operand(op, main as isize);
    let (shape, _) = ir::shape(ir::value_type(main_memref));
    let elem = ir::value_type(pro.root);
    let old_block = ir::first_block(ir::region(op, 0));

    // Where the producer goes: before the contraction, and before a zero
    // fill of its output right in front of it.
    // SAFETY: `op` is in a block.
    let siblings = ir::ops_in(unsafe { sys::mlirOperationGetBlock(op) });
    let prev = siblings.iter().position(|o| o.ptr == op.ptr).and_then(|i| i.checked_sub(1)).map(|i| siblings[i]);
    let out_memref = ir::operand(op, plan.ins as isize);
    // A fill: `linalg.fill`, or a generic on the output alone whose body
    // only yields (what `contraction::zero_fill` folds).
    let fills_out = |p: MlirOperation| match ir::name(p).as_str() {
        "linalg.fill" => ir::operands(p).last().is_some_and(|v| v.ptr == out_memref.ptr),
        "linalg.generic" => {
            let operands = ir::operands(p);
            operands.len() == 1 && operands[0].ptr == out_memref.ptr && ir::ops_in(ir::first_block(ir::region(p, 0))).len() == 1
        }
        _ => false,
    };
    let anchor = prev.filter(|p| fills_out(*p)).unwrap_or(op);
    let at = |new: MlirOperation| ir::insert_before(anchor, new);
    let buffer_ty = ir::memref_type(&shape, elem);
    let alloc_attrs = [("operandSegmentSizes", b.attr("array<i32: 0, 0>")), ("alignment", ir::integer_attr(b.ty("i64"), 64))];
    let alloc = at(b.op("memref.alloc", loc, &[], &[buffer_ty], &alloc_attrs, 0));
    let buffer = ir::result(alloc, 0);

    // The producer: f over the main input's dimensions.
    let rank = main_dims.len();
    let map_on_main = |input: usize| -> MlirAttribute {
        let exprs: Vec<sys::MlirAffineExpr> = plan.dims[input]
            .iter()
            .map(|d| {
                let p = main_dims.iter().position(|m| m == d).expect("a side input's dimensions are the main one's");
                // SAFETY: a live context.
                unsafe { sys::mlirAffineDimExprGet(b.ctx, p as isize) }
            })
            .collect();
        // SAFETY: as above; the exprs outlive the call.
        unsafe { sys::mlirAffineMapAttrGet(sys::mlirAffineMapGet(b.ctx, rank as isize, 0, exprs.len() as isize, exprs.as_ptr() as *mut _)) }
    };
    let mut producer_operands: Vec<MlirValue> = pro.inputs.iter().map(|i| ir::operand(op, *i as isize)).collect();
    producer_operands.push(buffer);
    let mut producer_maps: Vec<MlirAttribute> = pro.inputs.iter().map(|i| map_on_main(*i)).collect();
    // SAFETY: a live context.
    producer_maps.push(unsafe { sys::mlirAffineMapAttrGet(sys::mlirAffineMapMultiDimIdentityGet(b.ctx, rank as isize)) });
    let producer = at(b.op(
        "linalg.generic",
        loc,
        &producer_operands,
        &[],
        &[
            ("indexing_maps", ir::array_attr(&b, &producer_maps)),
            ("iterator_types", ir::array_attr(&b, &vec![parallel; rank])),
            ("operandSegmentSizes", ir::i32_array_attr(&b, &[pro.inputs.len() as i32, 1])),
        ],
        1,
    ));
    let mut arg_types: Vec<sys::MlirType> = pro.inputs.iter().map(|i| ir::value_type(ir::block_argument(old_block, *i as isize))).collect();
    arg_types.push(elem);
    let pb = ir::new_block(&arg_types, loc);
    ir::append_block(ir::region(producer, 0), pb);
    let mut map = std::collections::HashMap::new();
    for (k, i) in pro.inputs.iter().enumerate() {
        map.insert(ir::block_argument(old_block, *i as isize).ptr as usize, ir::block_argument(pb, k as isize));
    }
    ir::clone_into(pb, &pro.ops, &mut map);
    let produced = map.get(&(pro.root.ptr as usize)).copied().unwrap_or_else(|| map[&(ir::block_argument(old_block, main as isize).ptr as usize)]);
    ir::append(pb, b.op("linalg.yield", loc, &[produced], &[], &[], 0));

    // The contraction on the buffer: its inputs without f's, the buffer in
    // the main input's place.
    let kept: Vec<usize> = (0..plan.ins).filter(|i| *i == main || !pro.inputs.contains(i)).collect();
    let mut operands: Vec<MlirValue> = kept.iter().map(|i| if *i == main { buffer } else { ir::operand(op, *i as isize) }).collect();
    operands.push(out_memref);
    let mut maps: Vec<MlirAttribute> = kept.iter().map(|i| {
        // SAFETY: a live map.
        unsafe { sys::mlirAffineMapAttrGet(plan.maps[*i]) }
    }).collect();
    // SAFETY: as above.
    maps.push(unsafe { sys::mlirAffineMapAttrGet(plan.maps[plan.ins]) });
    let contraction_op = ir::insert_before(op, b.op(
        "linalg.generic",
        loc,
        &operands,
        &[],
        &[
            ("indexing_maps", ir::array_attr(&b, &maps)),
            ("iterator_types", iterators),
            ("operandSegmentSizes", ir::i32_array_attr(&b, &[kept.len() as i32, 1])),
        ],
        1,
    ));
    let mut types: Vec<sys::MlirType> =
        kept.iter().map(|i| if *i == main { elem } else { ir::value_type(ir::block_argument(old_block, *i as isize)) }).collect();
    types.push(ir::value_type(ir::block_argument(old_block, plan.ins as isize)));
    let cb = ir::new_block(&types, loc);
    ir::append_block(ir::region(contraction_op, 0), cb);
    let mut map = std::collections::HashMap::new();
    for (k, i) in kept.iter().enumerate() {
        let from = if *i == main { pro.root } else { ir::block_argument(old_block, *i as isize) };
        map.insert(from.ptr as usize, ir::block_argument(cb, k as isize));
    }
    map.insert(ir::block_argument(old_block, plan.ins as isize).ptr as usize, ir::block_argument(cb, kept.len() as isize));
    let rest: Vec<MlirOperation> = ir::ops_in(old_block).into_iter().filter(|o| !pro.ops.iter().any(|p| p.ptr == o.ptr)).collect();
    let (body, yield_) = rest.split_at(rest.len() - 1);
    ir::clone_into(cb, body, &mut map);
    let yielded = ir::operand(yield_[0], 0);
    ir::append(cb, b.op("linalg.yield", loc, &[map.get(&(yielded.ptr as usize)).copied().unwrap_or(yielded)], &[], &[], 0));

    if contraction::planned(contraction_op).is_some() {
        ir::replace_op(op, &[]);
    } else {
        // Not a contraction with a kernel: materializing f buys nothing.
        for o in [contraction_op, producer, alloc] {
            ir::replace_op(o, &[]);
        }
    }
}
