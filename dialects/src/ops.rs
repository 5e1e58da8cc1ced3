//! Safe builders for every `strata` op.
//!
//! Builders compute result types wherever the spec determines them (matmul,
//! elementwise, transpose, reduce) and take them where it does not
//! (broadcast, fill, map). They check only what they need to compute a type;
//! every other rule is the verifier's, so build, then verify.

use melior::ir::{
    operation::OperationBuilder, r#type::RankedTensorType, Attribute, Block, Location, Operation, Region,
    Type, TypeLike, Value, ValueLike,
};

/// A builder could not compute a result type from its operands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("'{op}' {operand} must be a statically shaped ranked tensor, found {found}")]
    NotATensor { op: &'static str, operand: &'static str, found: String },
    #[error("'{op}' operands must have rank 2 or 3, found ranks {lhs} and {rhs}")]
    MatmulRank { op: &'static str, lhs: usize, rhs: usize },
    #[error("'{op}' {attribute} entry {entry} is out of range for rank {rank}")]
    DimOutOfRange { op: &'static str, attribute: &'static str, entry: i64, rank: usize },
    #[error("MLIR rejected the op: {0}")]
    Mlir(String),
}

/// Elementwise ops of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

impl BinaryKind {
    pub const ALL: [BinaryKind; 6] =
        [BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Div, BinaryKind::Max, BinaryKind::Min];

    pub fn op_name(self) -> &'static str {
        match self {
            BinaryKind::Add => "strata.add",
            BinaryKind::Sub => "strata.sub",
            BinaryKind::Mul => "strata.mul",
            BinaryKind::Div => "strata.div",
            BinaryKind::Max => "strata.max",
            BinaryKind::Min => "strata.min",
        }
    }
}

/// Elementwise ops of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryKind {
    Neg,
    Exp,
    Log,
    Sqrt,
    Tanh,
}

impl UnaryKind {
    pub const ALL: [UnaryKind; 5] = [UnaryKind::Neg, UnaryKind::Exp, UnaryKind::Log, UnaryKind::Sqrt, UnaryKind::Tanh];

    pub fn op_name(self) -> &'static str {
        match self {
            UnaryKind::Neg => "strata.neg",
            UnaryKind::Exp => "strata.exp",
            UnaryKind::Log => "strata.log",
            UnaryKind::Sqrt => "strata.sqrt",
            UnaryKind::Tanh => "strata.tanh",
        }
    }

    /// `exp`, `log`, `sqrt` and `tanh` take floats only.
    pub fn floats_only(self) -> bool {
        self != UnaryKind::Neg
    }
}

/// The folding operation of `strata.reduce`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    Add,
    Mul,
    Max,
    Min,
}

impl ReduceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReduceKind::Add => "add",
            ReduceKind::Mul => "mul",
            ReduceKind::Max => "max",
            ReduceKind::Min => "min",
        }
    }
}

// melior's attribute and type constructors want `&'c Context`, which a
// `Location` cannot lend (its `ContextRef` is a temporary); these build the
// few we need from the raw context the location carries.
mod raw {
    use melior::{
        ir::{Attribute, Identifier, Location, Type},
        StringRef,
    };
    use melior::ir::{AttributeLike, TypeLike};
    use mlir_sys as sys;

    fn ctx(loc: Location) -> sys::MlirContext {
        // SAFETY: a live location's context.
        unsafe { sys::mlirLocationGetContext(loc.to_raw()) }
    }

    pub fn i64_type<'c>(loc: Location<'c>) -> Type<'c> {
        // SAFETY: the context outlives the location and the type it uniques.
        unsafe { Type::from_raw(sys::mlirIntegerTypeGet(ctx(loc), 64)) }
    }

    pub fn index_type<'c>(loc: Location<'c>) -> Type<'c> {
        // SAFETY: as above.
        unsafe { Type::from_raw(sys::mlirIndexTypeGet(ctx(loc))) }
    }

    pub fn i64_attr<'c>(loc: Location<'c>, value: i64) -> Attribute<'c> {
        // SAFETY: as above.
        unsafe { Attribute::from_raw(sys::mlirIntegerAttrGet(i64_type(loc).to_raw(), value)) }
    }

    pub fn i64_array<'c>(loc: Location<'c>, values: &[i64]) -> Attribute<'c> {
        // SAFETY: `values` is read during the call only.
        unsafe {
            Attribute::from_raw(sys::mlirDenseI64ArrayGet(ctx(loc), values.len() as isize, values.as_ptr()))
        }
    }

    pub fn string<'c>(loc: Location<'c>, value: &str) -> Attribute<'c> {
        let value = StringRef::new(value);
        // SAFETY: MLIR copies the string into the context.
        unsafe { Attribute::from_raw(sys::mlirStringAttrGet(ctx(loc), value.to_raw())) }
    }

    pub fn array<'c>(loc: Location<'c>, elements: &[Attribute<'c>]) -> Attribute<'c> {
        let raw: Vec<sys::MlirAttribute> = elements.iter().map(|a| a.to_raw()).collect();
        // SAFETY: `raw` is read during the call only.
        unsafe { Attribute::from_raw(sys::mlirArrayAttrGet(ctx(loc), raw.len() as isize, raw.as_ptr())) }
    }

    pub fn named<'c>(loc: Location<'c>, name: &str, attribute: Attribute<'c>) -> (Identifier<'c>, Attribute<'c>) {
        let name = StringRef::new(name);
        // SAFETY: MLIR copies the name into the context.
        (unsafe { Identifier::from_raw(sys::mlirIdentifierGet(ctx(loc), name.to_raw())) }, attribute)
    }
}

fn shape_of<'c>(
    op: &'static str,
    operand: &'static str,
    value: Value<'c, '_>,
) -> Result<(Vec<u64>, Type<'c>), BuildError> {
    let not_tensor = || BuildError::NotATensor { op, operand, found: value.r#type().to_string() };
    let tensor = RankedTensorType::try_from(value.r#type()).map_err(|_| not_tensor())?;
    use melior::ir::r#type::ShapedTypeLike;
    if !tensor.has_static_shape() {
        return Err(not_tensor());
    }
    // melior does not export its DimSize; the shape is static, so read it raw.
    let shape = (0..tensor.rank())
        // SAFETY: `tensor` is a live ranked tensor type and `i` < its rank.
        .map(|i| unsafe { mlir_sys::mlirShapedTypeGetDimSize(tensor.to_raw(), i as isize) } as u64)
        .collect();
    Ok((shape, tensor.element()))
}

fn tensor<'c>(shape: &[u64], element: Type<'c>) -> Type<'c> {
    RankedTensorType::new(shape, element, None).into()
}

fn build(builder: OperationBuilder) -> Result<Operation, BuildError> {
    builder.build().map_err(|e| BuildError::Mlir(e.to_string()))
}

/// `strata.matmul`: `MxK * KxN -> MxN`, or batched `BxMxK * BxKxN -> BxMxN`.
pub fn matmul<'c>(lhs: Value<'c, '_>, rhs: Value<'c, '_>, location: Location<'c>) -> Result<Operation<'c>, BuildError> {
    let (a, element) = shape_of("strata.matmul", "lhs", lhs)?;
    let (b, _) = shape_of("strata.matmul", "rhs", rhs)?;
    if a.len() != b.len() || !(2..=3).contains(&a.len()) {
        return Err(BuildError::MatmulRank { op: "strata.matmul", lhs: a.len(), rhs: b.len() });
    }
    let r = a.len();
    let mut shape = a[..r - 1].to_vec();
    shape.push(b[r - 1]);
    build(
        OperationBuilder::new("strata.matmul", location)
            .add_operands(&[lhs, rhs])
            .add_results(&[tensor(&shape, element)]),
    )
}

/// `strata.add` .. `strata.min`: the result has the operands' type.
pub fn binary<'c>(
    kind: BinaryKind,
    lhs: Value<'c, '_>,
    rhs: Value<'c, '_>,
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    shape_of(kind.op_name(), "lhs", lhs)?;
    build(OperationBuilder::new(kind.op_name(), location).add_operands(&[lhs, rhs]).add_results(&[lhs.r#type()]))
}

/// `strata.neg` .. `strata.tanh`: the result has the operand's type.
pub fn unary<'c>(kind: UnaryKind, x: Value<'c, '_>, location: Location<'c>) -> Result<Operation<'c>, BuildError> {
    shape_of(kind.op_name(), "x", x)?;
    build(OperationBuilder::new(kind.op_name(), location).add_operands(&[x]).add_results(&[x.r#type()]))
}

/// `strata.fill`: a tensor of type `result` whose every element is `value`.
pub fn fill<'c>(value: Value<'c, '_>, result: Type<'c>, location: Location<'c>) -> Result<Operation<'c>, BuildError> {
    build(OperationBuilder::new("strata.fill", location).add_operands(&[value]).add_results(&[result]))
}

/// The body block of a `strata.map` over `inputs`: one argument per input,
/// of its element type. Fill it, end it with [`yield_`], put it in a
/// [`Region`] and pass that to [`map`].
pub fn map_block<'c>(inputs: &[Value<'c, '_>], location: Location<'c>) -> Result<Block<'c>, BuildError> {
    let mut arguments = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (_, element) = shape_of("strata.map", "operand", *input)?;
        arguments.push((element, location));
    }
    Ok(Block::new(&arguments))
}

/// `strata.map`: applies `body` (see [`map_block`]) to every element.
pub fn map<'c>(
    inputs: &[Value<'c, '_>],
    result: Type<'c>,
    body: Region<'c>,
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    build(OperationBuilder::new("strata.map", location).add_operands(inputs).add_results(&[result]).add_regions([body]))
}

/// `strata.index`: the current element's position along `dim` (inside a
/// `strata.map` body only).
pub fn index<'c>(dim: i64, location: Location<'c>) -> Result<Operation<'c>, BuildError> {
    build(
        OperationBuilder::new("strata.index", location)
            .add_attributes(&[raw::named(location, "dim", raw::i64_attr(location, dim))])
            .add_results(&[raw::index_type(location)]),
    )
}

/// `strata.broadcast`: `dims` are the dimensions of `result` that `input`
/// lacks.
pub fn broadcast<'c>(
    input: Value<'c, '_>,
    dims: &[i64],
    result: Type<'c>,
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    build(
        OperationBuilder::new("strata.broadcast", location)
            .add_operands(&[input])
            .add_attributes(&[raw::named(location, "dims", raw::i64_array(location, dims))])
            .add_results(&[result]),
    )
}

/// `strata.transpose`: `result.shape[i] = input.shape[permutation[i]]`.
pub fn transpose<'c>(
    input: Value<'c, '_>,
    permutation: &[i64],
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    let (shape, element) = shape_of("strata.transpose", "input", input)?;
    let mut result = Vec::with_capacity(permutation.len());
    for &p in permutation {
        let size = usize::try_from(p).ok().and_then(|p| shape.get(p)).ok_or(BuildError::DimOutOfRange {
            op: "strata.transpose",
            attribute: "permutation",
            entry: p,
            rank: shape.len(),
        })?;
        result.push(*size);
    }
    build(
        OperationBuilder::new("strata.transpose", location)
            .add_operands(&[input])
            .add_attributes(&[raw::named(location, "permutation", raw::i64_array(location, permutation))])
            .add_results(&[tensor(&result, element)]),
    )
}

/// `strata.reduce`: folds `input` along `dims` with `kind`.
pub fn reduce<'c>(
    input: Value<'c, '_>,
    dims: &[i64],
    kind: ReduceKind,
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    let (shape, element) = shape_of("strata.reduce", "input", input)?;
    for &d in dims {
        if usize::try_from(d).map_or(true, |d| d >= shape.len()) {
            return Err(BuildError::DimOutOfRange { op: "strata.reduce", attribute: "dims", entry: d, rank: shape.len() });
        }
    }
    let kept: Vec<u64> =
        shape.iter().enumerate().filter(|(i, _)| !dims.contains(&(*i as i64))).map(|(_, s)| *s).collect();
    build(
        OperationBuilder::new("strata.reduce", location)
            .add_operands(&[input])
            .add_attributes(&[
                raw::named(location, "dims", raw::i64_array(location, dims)),
                raw::named(location, "kind", raw::string(location, kind.as_str())),
            ])
            .add_results(&[tensor(&kept, element)]),
    )
}

/// `strata.parallel_for`: runs `body` (one block, one `index` argument,
/// ending in an empty [`yield_`]) for `lb, lb+step, ... < ub`.
pub fn parallel_for<'c>(
    lb: Value<'c, '_>,
    ub: Value<'c, '_>,
    step: Value<'c, '_>,
    grain: Option<i64>,
    body: Region<'c>,
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    let mut builder = OperationBuilder::new("strata.parallel_for", location).add_operands(&[lb, ub, step]);
    if let Some(grain) = grain {
        builder = builder.add_attributes(&[raw::named(location, "grain", raw::i64_attr(location, grain))]);
    }
    build(builder.add_regions([body]))
}

/// `strata.parallel_for ... reduce(...)` (docs/dialect.md): as
/// [`parallel_for`], and each iteration's `body` yields one value per
/// `(kind, init)`; the op's results are the inits combined with them.
pub fn parallel_for_reduce<'c>(
    lb: Value<'c, '_>,
    ub: Value<'c, '_>,
    step: Value<'c, '_>,
    grain: Option<i64>,
    reductions: &[(ReduceKind, Value<'c, '_>)],
    body: Region<'c>,
    location: Location<'c>,
) -> Result<Operation<'c>, BuildError> {
    let inits: Vec<Value> = reductions.iter().map(|(_, v)| *v).collect();
    let kinds: Vec<Attribute> = reductions.iter().map(|(k, _)| raw::string(location, k.as_str())).collect();
    let mut builder = OperationBuilder::new("strata.parallel_for", location)
        .add_operands(&[lb, ub, step])
        .add_operands(&inits)
        .add_results(&inits.iter().map(|v| v.r#type()).collect::<Vec<_>>())
        .add_attributes(&[raw::named(location, "kinds", raw::array(location, &kinds))]);
    if let Some(grain) = grain {
        builder = builder.add_attributes(&[raw::named(location, "grain", raw::i64_attr(location, grain))]);
    }
    build(builder.add_regions([body]))
}

/// `strata.yield`: ends a `strata.map` (one scalar) or a
/// `strata.parallel_for` body (no values).
pub fn yield_<'c>(values: &[Value<'c, '_>], location: Location<'c>) -> Result<Operation<'c>, BuildError> {
    build(OperationBuilder::new("strata.yield", location).add_operands(values))
}

/// Whether `t` is an element type the spec allows (f32, f64, i32, i64).
pub fn is_element_type(t: Type) -> bool {
    use mlir_sys as sys;
    let raw = t.to_raw();
    // SAFETY: queries on a live type.
    unsafe {
        sys::mlirTypeIsAF32(raw)
            || sys::mlirTypeIsAF64(raw)
            || (sys::mlirTypeIsAInteger(raw)
                && sys::mlirIntegerTypeIsSignless(raw)
                && matches!(sys::mlirIntegerTypeGetWidth(raw), 32 | 64))
    }
}
