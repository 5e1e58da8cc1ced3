//===- StrataOps.cpp - verifiers and custom syntax ----------------------===//
//
// Every rule of dialect.md that ODS constraints cannot express. Each message
// names the operand, dimension or attribute that is wrong and gives the
// expected and the found value, so that a user can fix the kernel from the
// diagnostic alone.
//
//===----------------------------------------------------------------------===//

#include "strata/StrataDialect.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::strata;

namespace {

RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

/// Elementwise ops: every operand and the result have one tensor type.
LogicalResult verifySameTypes(Operation *op, ArrayRef<StringRef> names,
                              ArrayRef<Type> types) {
  for (size_t i = 1; i < types.size(); ++i)
    if (types[i] != types[0])
      return op->emitOpError() << names[i] << " type " << types[i]
                               << " differs from " << names[0] << " type "
                               << types[0];
  return success();
}

/// `dims` lists distinct dimensions of a rank-`rank` tensor.
LogicalResult verifyDimList(Operation *op, StringRef attr,
                            ArrayRef<int64_t> dims, int64_t rank) {
  llvm::SmallSet<int64_t, 4> seen;
  for (int64_t d : dims) {
    if (d < 0 || d >= rank)
      return op->emitOpError() << attr << " entry " << d
                               << " is out of range for rank " << rank;
    if (!seen.insert(d).second)
      return op->emitOpError() << attr << " lists dimension " << d
                               << " twice";
  }
  return success();
}

LogicalResult verifySameElementType(Operation *op, Type input, Type result) {
  Type a = cast<ShapedType>(input).getElementType();
  Type b = cast<ShapedType>(result).getElementType();
  if (a != b)
    return op->emitOpError() << "result element type " << b
                             << " differs from input element type " << a;
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Custom type directives for elementwise ops
//===----------------------------------------------------------------------===//

// `: T` when all types agree; otherwise the full list, so that even invalid
// IR prints in a form that parses back to the same op.
static ParseResult parseElementwiseTypes(OpAsmParser &parser, Type &lhs,
                                         Type &rhs, Type &result) {
  if (parser.parseType(lhs))
    return failure();
  if (failed(parser.parseOptionalComma())) {
    rhs = result = lhs;
    return success();
  }
  return failure(parser.parseType(rhs) || parser.parseArrow() ||
                 parser.parseType(result));
}

static void printElementwiseTypes(OpAsmPrinter &p, Operation *, Type lhs,
                                  Type rhs, Type result) {
  if (lhs == rhs && rhs == result) {
    p << lhs;
    return;
  }
  p << lhs << ", " << rhs << " -> " << result;
}

static ParseResult parseUnaryTypes(OpAsmParser &parser, Type &x,
                                   Type &result) {
  if (parser.parseType(x))
    return failure();
  if (failed(parser.parseOptionalArrow())) {
    result = x;
    return success();
  }
  return parser.parseType(result);
}

static void printUnaryTypes(OpAsmPrinter &p, Operation *, Type x,
                            Type result) {
  p << x;
  if (x != result)
    p << " -> " << result;
}

#define GET_OP_CLASSES
#include "strata/StrataOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define STRATA_BINARY_VERIFIER(OP)                                            \
  LogicalResult OP::verify() {                                                \
    return verifySameTypes(*this, {"lhs", "rhs", "result"},                   \
                           {getLhs().getType(), getRhs().getType(),           \
                            getResult().getType()});                          \
  }
STRATA_BINARY_VERIFIER(AddOp)
STRATA_BINARY_VERIFIER(SubOp)
STRATA_BINARY_VERIFIER(MulOp)
STRATA_BINARY_VERIFIER(DivOp)
STRATA_BINARY_VERIFIER(MaxOp)
STRATA_BINARY_VERIFIER(MinOp)
#undef STRATA_BINARY_VERIFIER

#define STRATA_UNARY_VERIFIER(OP)                                             \
  LogicalResult OP::verify() {                                                \
    return verifySameTypes(*this, {"x", "result"},                            \
                           {getX().getType(), getResult().getType()});        \
  }
STRATA_UNARY_VERIFIER(NegOp)
STRATA_UNARY_VERIFIER(ExpOp)
STRATA_UNARY_VERIFIER(LogOp)
STRATA_UNARY_VERIFIER(SqrtOp)
STRATA_UNARY_VERIFIER(TanhOp)
#undef STRATA_UNARY_VERIFIER

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  RankedTensorType lhs = tensorOf(getLhs()), rhs = tensorOf(getRhs()),
                   res = tensorOf(getResult());
  int64_t rank = lhs.getRank();
  if (rank != 2 && rank != 3)
    return emitOpError() << "lhs must have rank 2 (MxK) or 3 (BxMxK), found "
                         << "rank " << rank;
  if (rhs.getRank() != rank)
    return emitOpError() << "rhs rank " << rhs.getRank()
                         << " differs from lhs rank " << rank;
  if (res.getRank() != rank)
    return emitOpError() << "result rank " << res.getRank()
                         << " differs from operand rank " << rank;
  if (lhs.getElementType() != rhs.getElementType() ||
      lhs.getElementType() != res.getElementType())
    return emitOpError() << "element types differ: lhs has "
                         << lhs.getElementType() << ", rhs has "
                         << rhs.getElementType() << ", result has "
                         << res.getElementType();
  ArrayRef<int64_t> a = lhs.getShape(), b = rhs.getShape(),
                    r = res.getShape();
  if (rank == 3) {
    if (a[0] != b[0])
      return emitOpError() << "batch dimensions differ: lhs has B=" << a[0]
                           << ", rhs has B=" << b[0];
    if (r[0] != a[0])
      return emitOpError() << "result batch dimension is " << r[0]
                           << ", expected B=" << a[0];
  }
  int64_t o = rank - 2;
  if (a[o + 1] != b[o])
    return emitOpError() << "contracting dimensions differ: lhs has K="
                         << a[o + 1] << ", rhs has K=" << b[o];
  if (r[o] != a[o])
    return emitOpError() << "result dimension " << o << " is " << r[o]
                         << ", expected M=" << a[o] << " from lhs";
  if (r[o + 1] != b[o + 1])
    return emitOpError() << "result dimension " << o + 1 << " is " << r[o + 1]
                         << ", expected N=" << b[o + 1] << " from rhs";
  return success();
}

//===----------------------------------------------------------------------===//
// FillOp
//===----------------------------------------------------------------------===//

LogicalResult FillOp::verify() {
  Type elem = tensorOf(getResult()).getElementType();
  if (getValue().getType() != elem)
    return emitOpError() << "value type " << getValue().getType()
                         << " differs from result element type " << elem;
  return success();
}

//===----------------------------------------------------------------------===//
// MapOp
//===----------------------------------------------------------------------===//

static bool isAllowedInMapBody(Operation *op) {
  StringRef ns = op->getName().getDialectNamespace();
  if (ns == "arith" || ns == "math" || ns == "scf")
    return true;
  return isa<IndexOp, YieldOp>(op);
}

static bool isScalar(Type t) {
  return t.isIndex() || t.isIntOrFloat();
}

LogicalResult MapOp::verifyRegions() {
  RankedTensorType res = tensorOf(getResult());
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    RankedTensorType t = tensorOf(input);
    if (t.getShape() != res.getShape())
      return emitOpError() << "operand #" << i << " has shape "
                           << shapeString(t.getShape())
                           << ", expected the result's shape "
                           << shapeString(res.getShape());
  }

  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << body.getNumArguments()
                         << " arguments, expected one per operand ("
                         << getInputs().size() << ")";
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    Type expected = tensorOf(getInputs()[i]).getElementType();
    if (arg.getType() != expected)
      return emitOpError() << "body argument #" << i << " has type "
                           << arg.getType() << ", expected " << expected
                           << " (the element type of operand #" << i << ")";
  }

  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "body must end in 'strata.yield'";
  if (yield.getValues().size() != 1)
    return yield.emitOpError()
           << "in 'strata.map' must yield exactly one value, found "
           << yield.getValues().size();
  if (yield.getValues()[0].getType() != res.getElementType())
    return yield.emitOpError()
           << "yields " << yield.getValues()[0].getType()
           << ", expected the result element type " << res.getElementType();

  WalkResult walk = getBody().walk([&](Operation *op) -> WalkResult {
    if (!isAllowedInMapBody(op)) {
      op->emitOpError() << "is not allowed in a 'strata.map' body (only "
                           "arith, math and scf ops and strata.index)";
      return WalkResult::interrupt();
    }
    for (Value operand : op->getOperands()) {
      if (getBody().isAncestor(operand.getParentRegion()))
        continue;
      if (!isScalar(operand.getType())) {
        op->emitOpError() << "uses a value of type " << operand.getType()
                          << " defined outside the 'strata.map' body; only "
                             "scalars may be captured";
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

//===----------------------------------------------------------------------===//
// IndexOp
//===----------------------------------------------------------------------===//

LogicalResult IndexOp::verify() {
  auto map = (*this)->getParentOfType<MapOp>();
  if (!map)
    return emitOpError() << "is only valid inside a 'strata.map' region";
  int64_t rank = tensorOf(map.getResult()).getRank();
  int64_t dim = static_cast<int64_t>(getDim());
  if (dim < 0 || dim >= rank)
    return emitOpError() << "dim " << dim
                         << " is out of range for the enclosing map's rank "
                         << rank;
  return success();
}

//===----------------------------------------------------------------------===//
// BroadcastOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::verify() {
  RankedTensorType in = tensorOf(getInput()), res = tensorOf(getResult());
  if (failed(verifySameElementType(*this, in, res)))
    return failure();
  ArrayRef<int64_t> dims = getDims();
  if (!llvm::is_sorted(dims))
    return emitOpError() << "dims " << shapeString(dims) << " must be sorted";
  if (failed(verifyDimList(*this, "dims", dims, res.getRank())))
    return failure();
  if (in.getRank() + static_cast<int64_t>(dims.size()) != res.getRank())
    return emitOpError() << "result rank " << res.getRank()
                         << " must equal input rank " << in.getRank()
                         << " plus the number of dims (" << dims.size()
                         << ")";
  int64_t j = 0;
  for (int64_t i = 0; i < res.getRank(); ++i) {
    if (llvm::is_contained(dims, i))
      continue;
    if (res.getDimSize(i) != in.getDimSize(j))
      return emitOpError() << "result dimension " << i << " is "
                           << res.getDimSize(i) << ", expected "
                           << in.getDimSize(j) << " (input dimension " << j
                           << ")";
    ++j;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::verify() {
  RankedTensorType in = tensorOf(getInput()), res = tensorOf(getResult());
  if (failed(verifySameElementType(*this, in, res)))
    return failure();
  ArrayRef<int64_t> perm = getPermutation();
  if (static_cast<int64_t>(perm.size()) != in.getRank())
    return emitOpError() << "permutation has " << perm.size()
                         << " entries, expected the input rank "
                         << in.getRank();
  if (failed(verifyDimList(*this, "permutation", perm, in.getRank())))
    return failure();
  if (res.getRank() != in.getRank())
    return emitOpError() << "result rank " << res.getRank()
                         << " differs from input rank " << in.getRank();
  for (int64_t i = 0; i < res.getRank(); ++i)
    if (res.getDimSize(i) != in.getDimSize(perm[i]))
      return emitOpError() << "result dimension " << i << " is "
                           << res.getDimSize(i) << ", expected "
                           << in.getDimSize(perm[i])
                           << " (input dimension " << perm[i] << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// ReduceOp
//===----------------------------------------------------------------------===//

LogicalResult ReduceOp::verify() {
  RankedTensorType in = tensorOf(getInput()), res = tensorOf(getResult());
  if (failed(verifySameElementType(*this, in, res)))
    return failure();
  StringRef kind = getKind();
  if (kind != "add" && kind != "mul" && kind != "max" && kind != "min")
    return emitOpError() << "kind \"" << kind
                         << "\" is not one of \"add\", \"mul\", \"max\", "
                            "\"min\"";
  ArrayRef<int64_t> dims = getDims();
  if (failed(verifyDimList(*this, "dims", dims, in.getRank())))
    return failure();
  SmallVector<int64_t> expected;
  for (int64_t i = 0; i < in.getRank(); ++i)
    if (!llvm::is_contained(dims, i))
      expected.push_back(in.getDimSize(i));
  if (res.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError() << "result shape " << shapeString(res.getShape())
                         << " differs from the input shape without dims, "
                         << shapeString(expected);
  return success();
}

//===----------------------------------------------------------------------===//
// ParallelForOp
//===----------------------------------------------------------------------===//

// strata.parallel_for %i = %lb to %ub step %s (grain N)?
//     (reduce(("KIND" %init : TYPE),+))? attr-dict region
ParseResult ParallelForOp::parse(OpAsmParser &parser, OperationState &state) {
  OpAsmParser::Argument iv;
  OpAsmParser::UnresolvedOperand lb, ub, step;
  Type indexTy = parser.getBuilder().getIndexType();
  iv.type = indexTy;
  if (parser.parseArgument(iv) || parser.parseEqual() ||
      parser.parseOperand(lb) || parser.parseKeyword("to") ||
      parser.parseOperand(ub) || parser.parseKeyword("step") ||
      parser.parseOperand(step))
    return failure();
  if (succeeded(parser.parseOptionalKeyword("grain"))) {
    int64_t grain;
    if (parser.parseInteger(grain))
      return failure();
    state.addAttribute(getGrainAttrName(state.name),
                       parser.getBuilder().getI64IntegerAttr(grain));
  }
  SmallVector<OpAsmParser::UnresolvedOperand> inits;
  SmallVector<Type> types;
  SmallVector<Attribute> kinds;
  if (succeeded(parser.parseOptionalKeyword("reduce"))) {
    auto one = [&]() -> ParseResult {
      std::string kind;
      OpAsmParser::UnresolvedOperand init;
      Type type;
      if (parser.parseString(&kind) || parser.parseOperand(init) ||
          parser.parseColonType(type))
        return failure();
      kinds.push_back(parser.getBuilder().getStringAttr(kind));
      inits.push_back(init);
      types.push_back(type);
      return success();
    };
    if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, one))
      return failure();
    state.addAttribute(getKindsAttrName(state.name),
                       parser.getBuilder().getArrayAttr(kinds));
  }
  if (parser.parseOptionalAttrDictWithKeyword(state.attributes) ||
      parser.resolveOperand(lb, indexTy, state.operands) ||
      parser.resolveOperand(ub, indexTy, state.operands) ||
      parser.resolveOperand(step, indexTy, state.operands) ||
      parser.resolveOperands(inits, types, parser.getNameLoc(),
                             state.operands))
    return failure();
  state.addTypes(types);
  Region *body = state.addRegion();
  if (parser.parseRegion(*body, {iv}))
    return failure();
  ParallelForOp::ensureTerminator(*body, parser.getBuilder(), state.location);
  return success();
}

void ParallelForOp::print(OpAsmPrinter &p) {
  p << " ";
  if (getBody().empty() || getBody().front().getNumArguments() != 1) {
    // Only reachable for IR that failed verification; keep it printable.
    p << "<<invalid>>";
    return;
  }
  p << getBody().front().getArgument(0) << " = " << getLb() << " to "
    << getUb() << " step " << getStep();
  if (auto grain = getGrainAttr())
    p << " grain " << grain.getInt();
  auto kinds = getKindsAttr();
  bool printKinds = kinds && kinds.size() == getInits().size() &&
                    llvm::all_of(kinds, [](Attribute a) {
                      return isa<StringAttr>(a);
                    });
  if (printKinds && !getInits().empty()) {
    p << " reduce(";
    for (auto [i, init] : llvm::enumerate(getInits())) {
      if (i)
        p << ", ";
      p << "\"" << cast<StringAttr>(kinds[i]).getValue() << "\" " << init
        << " : " << init.getType();
    }
    p << ")";
  }
  SmallVector<StringRef> elided = {getGrainAttrName()};
  if (printKinds)
    elided.push_back(getKindsAttrName());
  p.printOptionalAttrDictWithKeyword((*this)->getAttrs(), elided);
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false,
                /*printBlockTerminators=*/!getInits().empty());
}

LogicalResult ParallelForOp::verify() {
  if (auto grain = getGrainAttr(); grain && grain.getInt() < 1)
    return emitOpError() << "grain must be at least 1, found "
                         << grain.getInt();
  APInt step;
  if (matchPattern(getStep(), m_ConstantInt(&step)) && !step.isStrictlyPositive())
    return emitOpError() << "step must be positive, found "
                         << step.getSExtValue();
  size_t n = getInits().size();
  auto kinds = getKindsAttr();
  size_t nk = kinds ? kinds.size() : 0;
  if (nk != n)
    return emitOpError() << "has " << n << " reduction init value(s) but "
                         << nk << " reduction kind(s)";
  if (getResults().size() != n)
    return emitOpError() << "has " << n << " reduction(s) but "
                         << getResults().size() << " result(s)";
  for (size_t i = 0; i < n; ++i) {
    auto kind = dyn_cast<StringAttr>(kinds[i]);
    StringRef k = kind ? kind.getValue() : "";
    if (k != "add" && k != "mul" && k != "max" && k != "min")
      return emitOpError() << "reduction #" << i << " has kind '" << k
                           << "': expected add, mul, max or min";
    Type t = getInits()[i].getType();
    if (!t.isF32() && !t.isF64() && !t.isInteger(32) && !t.isInteger(64) &&
        !t.isIndex())
      return emitOpError() << "reduction #" << i << " is of type " << t
                           << ": expected f32, f64, i32, i64 or index";
    if (getResults()[i].getType() != t)
      return emitOpError() << "result #" << i << " is of type "
                           << getResults()[i].getType()
                           << ", but its init value is of type " << t;
  }
  return success();
}

LogicalResult ParallelForOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 || !body.getArgument(0).getType().isIndex())
    return emitOpError()
           << "body must have exactly one 'index' argument, found "
           << body.getNumArguments() << " argument(s)";
  auto yield = cast<YieldOp>(body.getTerminator());
  if (getInits().empty()) {
    if (!yield.getValues().empty())
      return yield.emitOpError() << "in 'strata.parallel_for' must yield no "
                                    "values, found "
                                 << yield.getValues().size();
    return success();
  }
  if (yield.getValues().size() != getInits().size())
    return yield.emitOpError()
           << "in 'strata.parallel_for' must yield one value per reduction ("
           << getInits().size() << "), found " << yield.getValues().size();
  for (auto [i, v] : llvm::enumerate(yield.getValues()))
    if (v.getType() != getInits()[i].getType())
      return yield.emitOpError()
             << "value #" << i << " is of type " << v.getType()
             << ", but reduction #" << i << " is of type "
             << getInits()[i].getType();
  return success();
}
