//! `strata-convert-to-linalg`: every `strata` tensor op into one
//! `linalg.generic` on tensors (the first step of `strata-lower-to-affine`).
//!
//! Matches: `strata.matmul`, the elementwise ops, `fill`, `map` (its region
//! moves into the generic; `strata.index` becomes `linalg.index`,
//! `strata.yield` becomes `linalg.yield`), `broadcast`, `transpose` and
//! `reduce`.
//!
//! Produces: `tensor.empty` + `linalg.generic` per op, with indexing maps
//! that express broadcast and transpose (so they need no data movement of
//! their own) and, for matmul and reduce, an init tensor filled with the
//! kind's identity (0, 1, -inf, +inf; INT_MIN / INT_MAX for integers).
//! Integer ops are signed: `divsi` truncates toward zero, `maxsi`, `minsi`.
//! Matmul iterates (batch, m, k, n), the order in which the innermost loop
//! runs along contiguous rows.
//!
//! Also: a `func.return` that returns one statically shaped tensor or
//! memref more than once gets a copy for each repeat (`bufferization.
//! alloc_tensor copy(...)`; `memref.alloc` + `memref.copy`), so every
//! result is a distinct value. Upstream's `buffer-results-to-out-params
//! {hoist-static-allocs}` replaces a returned allocation by its
//! out-parameter and erases it; a second result naming the same allocation
//! then points at the erased op and the pass crashes. Each result being
//! its own buffer is also what the caller sees: one out-parameter each.
//!
//! Also: each `func.func` gets `strata.signature`, its function type as
//! written (unless it has one already, so running the pipeline again keeps
//! the first). The attribute survives lowering to the LLVM dialect, where
//! the JIT reads it: an `llvm.func`'s pointers do not say the shapes of its
//! buffers, so without it the LLVM-dialect output of `strata-opt` could not
//! be called with buffers.
//!
//! Assumes verified IR. Guarantees that no `strata` tensor op is left;
//! `strata.parallel_for` is untouched (it is `strata-parallelize`'s).

use mlir_sys::{MlirAttribute, MlirBlock, MlirLocation, MlirOperation, MlirType, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    lower_to_affine::is_tensor_op,
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-convert-to-linalg",
    summary: "Convert every strata tensor op into a linalg.generic on tensors (first step of strata-lower-to-affine)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(ConvertToLinalg)),
};

#[derive(Clone, Copy)]
struct ConvertToLinalg;

impl StrataPass for ConvertToLinalg {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let root = root.to_raw();
        // Pick every target before rewriting any: converting a map destroys
        // the ops in its body. Map bodies hold no other tensor ops (verified),
        // so no target is nested in another.
        let targets: Vec<MlirOperation> = ir::walk(root)
            .into_iter()
            .filter(|op| {
                let name = ir::name(*op);
                is_tensor_op(&name) && name != "strata.index"
            })
            .collect();
        for op in targets {
            convert(op);
        }
        for op in ir::walk(root) {
            match ir::name(op).as_str() {
                "func.return" => crate::distinct_results::distinct_results(op),
                "func.func" if ir::attribute(op, "strata.signature").is_none() => {
                    if let Some(fty) = ir::attribute(op, "function_type") {
                        ir::set_attribute(op, "strata.signature", fty);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

/// How one strata op becomes a `linalg.generic`: its inputs and their
/// indexing maps over `loops` loops, which of those loops reduce, the
/// identity the output starts from (reductions), and the body.
struct Plan {
    inputs: Vec<MlirValue>,
    input_maps: Vec<Vec<usize>>,
    loops: usize,
    reductions: Vec<usize>,
    init: Option<String>,
    body: Body,
}

/// What the generic's body computes from its block arguments.
enum Body {
    /// `arith`/`math` op on the inputs (and for `Accumulate`, the output).
    Elementwise(&'static str),
    /// `0 - x` for integers (there is no `arith.negi`).
    NegInt,
    /// Yields the input unchanged (broadcast, transpose).
    Copy,
    /// Yields a scalar defined outside (fill).
    Yield(MlirValue),
    /// `out = combine(out, x)` (reduce).
    Accumulate(&'static str),
    /// `out = out + x * y` (matmul).
    MulAdd { mul: &'static str, add: &'static str },
}

fn maps_text(n: usize, results: &[usize]) -> String {
    let dims: Vec<String> = (0..n).map(|d| format!("d{d}")).collect();
    let res: Vec<String> = results.iter().map(|d| format!("d{d}")).collect();
    format!("affine_map<({}) -> ({})>", dims.join(", "), res.join(", "))
}

fn convert(op: MlirOperation) {
    let b = Builder::of_op(op);
    let loc = ir::location(op);
    let name = ir::name(op);
    let result_ty = ir::value_type(ir::result(op, 0));
    let (out_shape, elem) = ir::shape(result_ty);
    let rank = out_shape.len();
    let float = ir::is_float(elem);
    let identity: Vec<usize> = (0..rank).collect();
    let pick = |f: &'static str, i: &'static str| if float { f } else { i };
    let operands = ir::operands(op);

    let plan = |inputs, input_maps, loops, reductions, init, body| Plan { inputs, input_maps, loops, reductions, init, body };
    let Plan { inputs, input_maps, loops, reductions, init, body } =
        match name.as_str() {
            "strata.add" | "strata.sub" | "strata.mul" | "strata.div" | "strata.max" | "strata.min" => {
                let f = match name.as_str() {
                    "strata.add" => pick("arith.addf", "arith.addi"),
                    "strata.sub" => pick("arith.subf", "arith.subi"),
                    "strata.mul" => pick("arith.mulf", "arith.muli"),
                    "strata.div" => pick("arith.divf", "arith.divsi"),
                    "strata.max" => pick("arith.maximumf", "arith.maxsi"),
                    _ => pick("arith.minimumf", "arith.minsi"),
                };
                plan(operands, vec![identity.clone(); 2], rank, vec![], None, Body::Elementwise(f))
            }
            "strata.neg" if !float => plan(operands, vec![identity.clone()], rank, vec![], None, Body::NegInt),
            "strata.neg" | "strata.exp" | "strata.log" | "strata.sqrt" | "strata.tanh" => {
                let f = match name.as_str() {
                    "strata.neg" => "arith.negf",
                    "strata.exp" => "math.exp",
                    "strata.log" => "math.log",
                    "strata.sqrt" => "math.sqrt",
                    _ => "math.tanh",
                };
                plan(operands, vec![identity.clone()], rank, vec![], None, Body::Elementwise(f))
            }
            "strata.fill" => plan(vec![], vec![], rank, vec![], None, Body::Yield(operands[0])),
            "strata.broadcast" => {
                let dims = ir::i64_array(ir::attribute(op, "dims").expect("verified"));
                let kept = (0..rank).filter(|d| !dims.contains(&(*d as i64))).collect();
                plan(operands, vec![kept], rank, vec![], None, Body::Copy)
            }
            "strata.transpose" => {
                let perm = ir::i64_array(ir::attribute(op, "permutation").expect("verified"));
                // input dim j is output dim i where perm[i] == j
                let map = (0..rank).map(|j| perm.iter().position(|p| *p == j as i64).expect("verified")).collect();
                plan(operands, vec![map], rank, vec![], None, Body::Copy)
            }
            "strata.reduce" => {
                let (in_shape, _) = ir::shape(ir::value_type(operands[0]));
                let dims: Vec<usize> =
                    ir::i64_array(ir::attribute(op, "dims").expect("verified")).iter().map(|d| *d as usize).collect();
                let kind = reduce_kind(op);
                let (combine, init) = match (kind.as_str(), float) {
                    ("add", true) => ("arith.addf", "0.0"),
                    ("mul", true) => ("arith.mulf", "1.0"),
                    ("max", true) => ("arith.maximumf", "0xFF800000"),
                    ("min", true) => ("arith.minimumf", "0x7F800000"),
                    ("add", false) => ("arith.addi", "0"),
                    ("mul", false) => ("arith.muli", "1"),
                    ("max", false) => ("arith.maxsi", "MIN"),
                    _ => ("arith.minsi", "MAX"),
                };
                let n = in_shape.len();
                plan(operands, vec![(0..n).collect()], n, dims, Some(init.to_string()), Body::Accumulate(combine))
            }
            "strata.matmul" => {
                // Loops (batch?, m, k, n): the innermost loop walks a row of
                // rhs and of the result contiguously, so it vectorizes, and
                // the reduction over k sits outside it.
                let (maps, loops) = if rank == 3 {
                    (vec![vec![0, 1, 2], vec![0, 2, 3]], 4)
                } else {
                    (vec![vec![0, 1], vec![1, 2]], 3)
                };
                let body = Body::MulAdd { mul: pick("arith.mulf", "arith.muli"), add: pick("arith.addf", "arith.addi") };
                plan(operands, maps, loops, vec![loops - 2], Some(if float { "0.0" } else { "0" }.into()), body)
            }
            "strata.map" => {
                convert_map(op, &b, loc, result_ty, rank);
                return;
            }
            other => unreachable!("is_tensor_op admitted '{other}'"),
        };

    let output_map: Vec<usize> = (0..loops).filter(|d| !reductions.contains(d)).collect();
    let mut init_value = ir::result(ir::insert_before(op, b.op("tensor.empty", loc, &[], &[result_ty], &[], 0)), 0);
    if let Some(text) = init {
        let scalar = ir::insert_before(op, b.constant(loc, &constant_text(&text, elem), elem));
        init_value = generic(&b, op, loc, &[], &[], &identity, rank, &[], init_value, result_ty, elem, &Body::Yield(ir::result(scalar, 0)));
    }
    let out = generic(&b, op, loc, &inputs, &input_maps, &output_map, loops, &reductions, init_value, result_ty, elem, &body);
    ir::replace_op(op, &[out]);
}


fn reduce_kind(op: MlirOperation) -> String {
    let attr = ir::attribute(op, "kind").expect("verified");
    // SAFETY: the verifier checked that `kind` is a string attribute.
    ir::string_of(unsafe { mlir_sys::mlirStringAttrGetValue(attr) })
}

/// The literal of an identity element in `elem`'s syntax.
fn constant_text(text: &str, elem: MlirType) -> String {
    let ty = ir::print_type(elem);
    match (text, ty.as_str()) {
        ("0xFF800000", "f64") => format!("0xFFF0000000000000 : {ty}"),
        ("0x7F800000", "f64") => format!("0x7FF0000000000000 : {ty}"),
        ("MIN", "i32") => format!("{} : {ty}", i32::MIN),
        ("MAX", "i32") => format!("{} : {ty}", i32::MAX),
        ("MIN", _) => format!("{} : {ty}", i64::MIN),
        ("MAX", _) => format!("{} : {ty}", i64::MAX),
        _ => format!("{text} : {ty}"),
    }
}

/// Inserts `linalg.generic` before `anchor` and returns its result.
#[allow(clippy::too_many_arguments)]
fn generic(
    b: &Builder,
    anchor: MlirOperation,
    loc: MlirLocation,
    inputs: &[MlirValue],
    input_maps: &[Vec<usize>],
    output_map: &[usize],
    loops: usize,
    reductions: &[usize],
    init: MlirValue,
    result_ty: MlirType,
    elem: MlirType,
    body: &Body,
) -> MlirValue {
    let mut maps: Vec<String> = input_maps.iter().map(|m| maps_text(loops, m)).collect();
    maps.push(maps_text(loops, output_map));
    let iterators: Vec<&str> = (0..loops)
        .map(|d| if reductions.contains(&d) { "#linalg.iterator_type<reduction>" } else { "#linalg.iterator_type<parallel>" })
        .collect();
    let mut operands = inputs.to_vec();
    operands.push(init);
    let attrs: [(&str, MlirAttribute); 3] = [
        ("indexing_maps", b.attr(&format!("[{}]", maps.join(", ")))),
        ("iterator_types", b.attr(&format!("[{}]", iterators.join(", ")))),
        ("operandSegmentSizes", b.attr(&format!("array<i32: {}, 1>", inputs.len()))),
    ];
    let op = ir::insert_before(anchor, b.op("linalg.generic", loc, &operands, &[result_ty], &attrs, 1));
    let arg_types: Vec<MlirType> = inputs.iter().map(|v| ir::shape(ir::value_type(*v)).1).chain([elem]).collect();
    let block = ir::new_block(&arg_types, loc);
    ir::append_block(ir::region(op, 0), block);
    let arg = |i: usize| ir::block_argument(block, i as isize);
    let yielded = match body {
        Body::Elementwise(f) => {
            let args: Vec<MlirValue> = (0..inputs.len()).map(arg).collect();
            ir::result(ir::append(block, b.op(f, loc, &args, &[elem], &[], 0)), 0)
        }
        Body::NegInt => {
            let zero = ir::append(block, b.constant(loc, &constant_text("0", elem), elem));
            ir::result(ir::append(block, b.op("arith.subi", loc, &[ir::result(zero, 0), arg(0)], &[elem], &[], 0)), 0)
        }
        Body::Copy => arg(0),
        Body::Yield(v) => *v,
        Body::Accumulate(f) => ir::result(ir::append(block, b.op(f, loc, &[arg(1), arg(0)], &[elem], &[], 0)), 0),
        Body::MulAdd { mul, add } => {
            let p = ir::append(block, b.op(mul, loc, &[arg(0), arg(1)], &[elem], &[], 0));
            ir::result(ir::append(block, b.op(add, loc, &[arg(2), ir::result(p, 0)], &[elem], &[], 0)), 0)
        }
    };
    ir::append(block, b.op("linalg.yield", loc, &[yielded], &[], &[], 0));
    ir::result(op, 0)
}

/// `strata.map`: the region moves into the generic, which adds the output
/// element argument its body does not use.
fn convert_map(op: MlirOperation, b: &Builder, loc: MlirLocation, result_ty: MlirType, rank: usize) {
    let inputs = ir::operands(op);
    let (_, elem) = ir::shape(result_ty);
    let identity: Vec<usize> = (0..rank).collect();
    let mut maps: Vec<String> = inputs.iter().map(|_| maps_text(rank, &identity)).collect();
    maps.push(maps_text(rank, &identity));
    let iterators = vec!["#linalg.iterator_type<parallel>"; rank];
    let empty = ir::insert_before(op, b.op("tensor.empty", loc, &[], &[result_ty], &[], 0));
    let mut operands = inputs.clone();
    operands.push(ir::result(empty, 0));
    let attrs: [(&str, MlirAttribute); 3] = [
        ("indexing_maps", b.attr(&format!("[{}]", maps.join(", ")))),
        ("iterator_types", b.attr(&format!("[{}]", iterators.join(", ")))),
        ("operandSegmentSizes", b.attr(&format!("array<i32: {}, 1>", inputs.len()))),
    ];
    let generic = ir::insert_before(op, b.op("linalg.generic", loc, &operands, &[result_ty], &attrs, 1));
    ir::take_body(ir::region(generic, 0), ir::region(op, 0));
    let block: MlirBlock = ir::first_block(ir::region(generic, 0));
    ir::add_block_argument(block, elem, loc);
    for inner in ir::walk(generic) {
        match ir::name(inner).as_str() {
            "strata.index" => {
                let dim = ir::attribute(inner, "dim").expect("verified");
                let new = ir::insert_before(inner, b.op("linalg.index", ir::location(inner), &[], &[b.index_type()], &[("dim", dim)], 0));
                ir::replace_op(inner, &[ir::result(new, 0)]);
            }
            "strata.yield" => {
                let values = ir::operands(inner);
                ir::insert_before(inner, b.op("linalg.yield", ir::location(inner), &values, &[], &[], 0));
                ir::replace_op(inner, &[]);
            }
            _ => {}
        }
    }
    ir::replace_op(op, &[ir::result(generic, 0)]);
}
