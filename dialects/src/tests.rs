//! Builds every op through the Rust builders, verifies the module, and
//! checks the printed custom form; then checks that builders refuse
//! operands they cannot type and that the verifier catches the rest.

use melior::ir::{
    attribute::{StringAttribute, TypeAttribute},
    block::BlockLike,
    operation::{OperationBuilder, OperationLike},
    r#type::{FunctionType, IntegerType, RankedTensorType},
    Block, Identifier, Location, Module, Region, RegionLike, Type, Value,
};

use crate::ops::{self, BinaryKind, BuildError, ReduceKind, UnaryKind};

fn t<'c>(shape: &[u64], e: Type<'c>) -> Type<'c> {
    RankedTensorType::new(shape, e, None).into()
}

#[test]
fn every_builder_builds_verified_ops() {
    let context = crate::new_context();
    let loc = Location::new(&context, "builders", 1, 1);
    let f32t = Type::float32(&context);
    let i64t: Type = IntegerType::new(&context, 64).into();
    let index = Type::index(&context);
    let inputs = [t(&[5, 3], f32t), t(&[3, 7], f32t), t(&[2, 5, 3], i64t), t(&[2, 3, 4], i64t), f32t, index];
    let block = Block::new(&inputs.iter().map(|ty| (*ty, loc)).collect::<Vec<_>>());
    let arg = |i: usize| -> Value { block.argument(i).unwrap().into() };

    let mm = block.append_operation(ops::matmul(arg(0), arg(1), loc).unwrap());
    let bmm = block.append_operation(ops::matmul(arg(2), arg(3), loc).unwrap());
    let mut last = mm.result(0).unwrap().into();
    for kind in BinaryKind::ALL {
        last = block.append_operation(ops::binary(kind, last, mm.result(0).unwrap().into(), loc).unwrap()).result(0).unwrap().into();
    }
    for kind in UnaryKind::ALL {
        last = block.append_operation(ops::unary(kind, last, loc).unwrap()).result(0).unwrap().into();
    }
    let filled = block.append_operation(ops::fill(arg(4), t(&[5, 7], f32t), loc).unwrap());

    // map(last, filled) { x + y * index(1) }
    let map_inputs = [last, filled.result(0).unwrap().into()];
    let body = ops::map_block(&map_inputs, loc).unwrap();
    let j = body.append_operation(ops::index(1, loc).unwrap());
    let jf = body.append_operation(
        OperationBuilder::new("arith.index_cast", loc).add_operands(&[j.result(0).unwrap().into()]).add_results(&[i64t]).build().unwrap(),
    );
    let jf = body.append_operation(
        OperationBuilder::new("arith.sitofp", loc).add_operands(&[jf.result(0).unwrap().into()]).add_results(&[f32t]).build().unwrap(),
    );
    let prod = body.append_operation(
        OperationBuilder::new("arith.mulf", loc)
            .add_operands(&[body.argument(1).unwrap().into(), jf.result(0).unwrap().into()])
            .add_results(&[f32t])
            .build()
            .unwrap(),
    );
    let sum = body.append_operation(
        OperationBuilder::new("arith.addf", loc)
            .add_operands(&[body.argument(0).unwrap().into(), prod.result(0).unwrap().into()])
            .add_results(&[f32t])
            .build()
            .unwrap(),
    );
    body.append_operation(ops::yield_(&[sum.result(0).unwrap().into()], loc).unwrap());
    let region = Region::new();
    region.append_block(body);
    let mapped = block.append_operation(ops::map(&map_inputs, t(&[5, 7], f32t), region, loc).unwrap());

    let bc = block.append_operation(ops::broadcast(mapped.result(0).unwrap().into(), &[0, 3], t(&[4, 5, 7, 2], f32t), loc).unwrap());
    let tr = block.append_operation(ops::transpose(bc.result(0).unwrap().into(), &[3, 1, 0, 2], loc).unwrap());
    let rd = block.append_operation(ops::reduce(tr.result(0).unwrap().into(), &[0, 1, 2, 3], ReduceKind::Max, loc).unwrap());
    let rb = block.append_operation(ops::reduce(bmm.result(0).unwrap().into(), &[1], ReduceKind::Add, loc).unwrap());

    let pf_body = Block::new(&[(index, loc)]);
    pf_body.append_operation(ops::yield_(&[], loc).unwrap());
    let pf_region = Region::new();
    pf_region.append_block(pf_body);
    block.append_operation(ops::parallel_for(arg(5), arg(5), arg(5), Some(16), pf_region, loc).unwrap());
    let pr_body = Block::new(&[(index, loc)]);
    pr_body.append_operation(ops::yield_(&[arg(4)], loc).unwrap());
    let pr_region = Region::new();
    pr_region.append_block(pr_body);
    block.append_operation(
        ops::parallel_for_reduce(arg(5), arg(5), arg(5), None, &[(ReduceKind::Max, arg(4))], pr_region, loc).unwrap(),
    );

    let results = [rd.result(0).unwrap().into(), rb.result(0).unwrap().into()];
    let result_types: Vec<Type> = results.iter().map(|v: &Value| melior::ir::ValueLike::r#type(v)).collect();
    block.append_operation(OperationBuilder::new("func.return", loc).add_operands(&results).build().unwrap());

    let func_region = Region::new();
    func_region.append_block(block);
    let func = OperationBuilder::new("func.func", loc)
        .add_attributes(&[
            (Identifier::new(&context, "sym_name"), StringAttribute::new(&context, "all").into()),
            (
                Identifier::new(&context, "function_type"),
                TypeAttribute::new(FunctionType::new(&context, &inputs, &result_types).into()).into(),
            ),
        ])
        .add_regions([func_region])
        .build()
        .unwrap();
    let module = Module::new(loc);
    module.body().append_operation(func);
    assert!(module.as_operation().verify(), "{}", module.as_operation());

    let text = module.as_operation().to_string();
    for needle in [
        "strata.matmul %arg0, %arg1 : tensor<5x3xf32>, tensor<3x7xf32> -> tensor<5x7xf32>",
        "strata.matmul %arg2, %arg3 : tensor<2x5x3xi64>, tensor<2x3x4xi64> -> tensor<2x5x4xi64>",
        "strata.add", "strata.sub", "strata.mul", "strata.div", "strata.max", "strata.min",
        "strata.neg", "strata.exp", "strata.log", "strata.sqrt", "strata.tanh %11 : tensor<5x7xf32>",
        "strata.fill %arg4 : f32 -> tensor<5x7xf32>",
        "strata.index 1",
        "strata.broadcast %", "dims = [0, 3] : tensor<5x7xf32> -> tensor<4x5x7x2xf32>",
        "permutation = [3, 1, 0, 2] : tensor<4x5x7x2xf32> -> tensor<2x5x4x7xf32>",
        "strata.reduce \"max\"", "dims = [0, 1, 2, 3] : tensor<2x5x4x7xf32> -> tensor<f32>",
        "strata.reduce \"add\"", "dims = [1] : tensor<2x5x4xi64> -> tensor<2x4xi64>",
        "strata.parallel_for %arg6 = %arg5 to %arg5 step %arg5 grain 16",
        "strata.parallel_for %arg6 = %arg5 to %arg5 step %arg5 reduce(\"max\" %arg4 : f32) {",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
}

#[test]
fn builders_refuse_untypeable_operands_and_verifier_catches_the_rest() {
    let context = crate::new_context();
    let loc = Location::new(&context, "builders", 1, 1);
    let f32t = Type::float32(&context);
    let block = Block::new(&[(t(&[4, 3], f32t), loc), (t(&[2, 7], f32t), loc), (f32t, loc)]);
    let a: Value = block.argument(0).unwrap().into();
    let b: Value = block.argument(1).unwrap().into();
    let s: Value = block.argument(2).unwrap().into();

    assert!(matches!(ops::matmul(s, b, loc), Err(BuildError::NotATensor { operand: "lhs", .. })));
    assert!(matches!(ops::transpose(a, &[0, 5], loc), Err(BuildError::DimOutOfRange { entry: 5, .. })));
    assert!(matches!(ops::reduce(a, &[-1], ReduceKind::Add, loc), Err(BuildError::DimOutOfRange { .. })));
    let e = ops::unary(UnaryKind::Exp, s, loc).unwrap_err();
    assert_eq!(e.to_string(), "'strata.exp' x must be a statically shaped ranked tensor, found f32");

    // K differs (3 vs 2): the builder types it, the verifier rejects it.
    let mm = block.append_operation(ops::matmul(a, b, loc).unwrap());
    assert!(!mm.verify());
    let add = block.append_operation(ops::binary(BinaryKind::Add, a, b, loc).unwrap());
    assert!(!add.verify());
    assert!(ops::is_element_type(f32t));
    assert!(!ops::is_element_type(Type::index(&context)));
}

/// The parser must stop at the end of the text it is given, even when the
/// text ends inside a token and more MLIR follows it in memory (as it does
/// for each chunk of `--split-input-file`): it once lexed on past the end,
/// which was a flaky SIGSEGV when the bytes after it were not mapped, and
/// otherwise an error about text that is not in the input.
#[test]
fn parsing_stops_at_the_end_of_the_text() {
    let context = crate::new_context();
    let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = messages.clone();
    context.attach_diagnostic_handler(move |d| {
        sink.lock().unwrap().push(d.to_string());
        true
    });
    let full = "func.func @f() attributes {note = \"unterminated\"} {\n  return\n}\n";
    let cut = &full[..full.find("unterminated").unwrap() + 4];
    assert!(crate::parse_module(&context, cut, "cut.mlir").is_none(), "parsed past the end of: {cut}");
    let got = messages.lock().unwrap().join("\n");
    assert!(got.contains("expected '\"' in string literal"), "{got}");
    assert!(crate::parse_module(&context, full, "full.mlir").is_some());
}
