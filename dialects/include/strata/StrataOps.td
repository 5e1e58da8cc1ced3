//===- StrataOps.td - the `strata` dialect, version 1 -----*- tablegen -*-===//
//
// The contract is ../shared/spec/dialect.md. Op names, operand order and
// attribute names/kinds here are fixed by it; the custom assembly formats
// are ours. Every rule of the spec that ODS constraints cannot state is
// checked in StrataOps.cpp, with a message naming what is wrong.
//
//===----------------------------------------------------------------------===//

#ifndef STRATA_OPS_TD
#define STRATA_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def Strata_Dialect : Dialect {
  let name = "strata";
  let cppNamespace = "::mlir::strata";
  let summary = "Tensor and parallel ops for numeric kernels";
  let description = [{
    Value-semantics tensor ops (matmul, elementwise, map, broadcast,
    transpose, reduce) and a side-effecting `parallel_for` over memrefs.
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Strata_Element : AnyTypeOf<[F32, F64, I32, I64], "f32, f64, i32 or i64">;

def Strata_Tensor : StaticShapeTensorOf<[F32, F64, I32, I64]> {
  let summary = "statically shaped tensor of f32, f64, i32 or i64";
}

def Strata_FloatTensor : StaticShapeTensorOf<[F32, F64]> {
  let summary = "statically shaped tensor of f32 or f64";
}

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

class Strata_Op<string mnemonic, list<Trait> traits = []>
    : Op<Strata_Dialect, mnemonic, traits>;

// Binary elementwise: lhs, rhs and result share one tensor type. The custom
// type directive prints that type once; the exact rule is in the verifier
// so that a mismatch names both types.
class Strata_BinaryOp<string mnemonic, string meaning>
    : Strata_Op<mnemonic, [Pure]> {
  let summary = "elementwise " # meaning;
  let arguments = (ins Strata_Tensor:$lhs, Strata_Tensor:$rhs);
  let results = (outs Strata_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:`
    custom<ElementwiseTypes>(type($lhs), type($rhs), type($result))
  }];
  let hasVerifier = 1;
}

class Strata_UnaryOp<string mnemonic, string meaning, Type operandType>
    : Strata_Op<mnemonic, [Pure]> {
  let summary = "elementwise " # meaning;
  let arguments = (ins operandType:$x);
  let results = (outs operandType:$result);
  let assemblyFormat = [{
    $x attr-dict `:` custom<UnaryTypes>(type($x), type($result))
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Tensor ops
//===----------------------------------------------------------------------===//

def Strata_MatmulOp : Strata_Op<"matmul", [Pure]> {
  let summary = "matrix product, optionally batched";
  let description = [{
    `r[m,n] = sum_k lhs[m,k] * rhs[k,n]` for `tensor<MxKxT>` and
    `tensor<KxNxT>`; with a leading batch dimension `B` on both operands and
    the result, the same for each batch.

    ```mlir
    %r = strata.matmul %a, %b : tensor<64x32xf32>, tensor<32x48xf32> -> tensor<64x48xf32>
    ```
  }];
  let arguments = (ins Strata_Tensor:$lhs, Strata_Tensor:$rhs);
  let results = (outs Strata_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Strata_AddOp : Strata_BinaryOp<"add", "sum">;
def Strata_SubOp : Strata_BinaryOp<"sub", "difference">;
def Strata_MulOp : Strata_BinaryOp<"mul", "product">;
def Strata_DivOp : Strata_BinaryOp<"div",
    "quotient (integer division truncates toward zero)">;
def Strata_MaxOp : Strata_BinaryOp<"max", "maximum">;
def Strata_MinOp : Strata_BinaryOp<"min", "minimum">;

def Strata_NegOp : Strata_UnaryOp<"neg", "negation", Strata_Tensor>;
def Strata_ExpOp : Strata_UnaryOp<"exp", "exponential", Strata_FloatTensor>;
def Strata_LogOp : Strata_UnaryOp<"log", "natural logarithm",
                                  Strata_FloatTensor>;
def Strata_SqrtOp : Strata_UnaryOp<"sqrt", "square root", Strata_FloatTensor>;
def Strata_TanhOp : Strata_UnaryOp<"tanh", "hyperbolic tangent",
                                   Strata_FloatTensor>;

def Strata_FillOp : Strata_Op<"fill", [Pure]> {
  let summary = "a tensor whose every element is one scalar";
  let description = [{
    ```mlir
    %t = strata.fill %v : f32 -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Strata_Element:$value);
  let results = (outs Strata_Tensor:$result);
  let assemblyFormat = "$value attr-dict `:` type($value) `->` type($result)";
  let hasVerifier = 1;
}

def Strata_MapOp : Strata_Op<"map", [RecursiveMemoryEffects,
                                     RecursivelySpeculatable]> {
  let summary = "applies a scalar region to every element";
  let description = [{
    The region has one block with one scalar argument per operand (of that
    operand's element type) and ends in `strata.yield` of one scalar of the
    result's element type. Inside, ops of `arith`, `math` and `scf` may be
    used, and `strata.index` gives the current element's position. With no
    operands, the op generates a tensor from indices.

    ```mlir
    %r = strata.map(%x) : (tensor<8xf32>) -> tensor<8xf32> {
    ^bb0(%e: f32):
      %z = arith.constant 0.0 : f32
      %m = arith.maximumf %e, %z : f32
      strata.yield %m : f32
    }
    ```
  }];
  let arguments = (ins Variadic<Strata_Tensor>:$inputs);
  let results = (outs Strata_Tensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $result) $body
  }];
  let hasRegionVerifier = 1;
}

def Strata_IndexOp : Strata_Op<"index", [Pure]> {
  let summary = "the current element's position along one dimension";
  let description = [{
    Only valid inside a `strata.map` region (possibly nested in `scf` ops
    there); `dim` must be a dimension of the enclosing map's result.

    ```mlir
    %i = strata.index 0
    ```
  }];
  let arguments = (ins I64Attr:$dim);
  let results = (outs Index:$result);
  let assemblyFormat = "$dim attr-dict";
  let hasVerifier = 1;
}

def Strata_BroadcastOp : Strata_Op<"broadcast", [Pure]> {
  let summary = "inserts new dimensions";
  let description = [{
    `dims` (sorted, unique) are the result dimensions the input lacks; the
    other result dimensions equal the input's, in order.

    ```mlir
    %b = strata.broadcast %bias dims = [0] : tensor<48xf32> -> tensor<64x48xf32>
    ```
  }];
  let arguments = (ins Strata_Tensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs Strata_Tensor:$result);
  let assemblyFormat = [{
    $input `dims` `=` $dims attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Strata_TransposeOp : Strata_Op<"transpose", [Pure]> {
  let summary = "permutes dimensions";
  let description = [{
    `result.shape[i] = input.shape[permutation[i]]`.

    ```mlir
    %t = strata.transpose %x permutation = [1, 0] : tensor<3x5xf32> -> tensor<5x3xf32>
    ```
  }];
  let arguments = (ins Strata_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Strata_Tensor:$result);
  let assemblyFormat = [{
    $input `permutation` `=` $permutation attr-dict `:` type($input) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Strata_ReduceOp : Strata_Op<"reduce", [Pure]> {
  let summary = "folds elements along dimensions";
  let description = [{
    Folds along `dims` with `kind` ("add", "mul", "max" or "min"), starting
    from the kind's identity; the result is the input with `dims` removed.
    Float reductions may be evaluated in any order.

    ```mlir
    %r = strata.reduce "add" %x dims = [1] : tensor<37x129xf32> -> tensor<37xf32>
    ```
  }];
  let arguments = (ins Strata_Tensor:$input, DenseI64ArrayAttr:$dims,
                       StrAttr:$kind);
  let results = (outs Strata_Tensor:$result);
  let assemblyFormat = [{
    $kind $input `dims` `=` $dims attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Parallel ops
//===----------------------------------------------------------------------===//

def Strata_ParallelForOp : Strata_Op<"parallel_for", [
    RecursiveMemoryEffects, SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "runs a body for every iteration, possibly concurrently";
  let description = [{
    Runs the body for `lb, lb+step, ... < ub` on the runtime's workers, in
    any order; returns when all have finished. `grain` is how many
    iterations a worker takes at once. A nested `parallel_for` runs inside
    the outer one's workers.

    With `reduce`, each iteration yields one value per reduction; the op
    returns each reduction's `init` combined (`add`, `mul`, `max`, `min`)
    with every iteration's value, in an unspecified order (floats: within
    reassociation). A race-free way to reduce across iterations.

    ```mlir
    strata.parallel_for %i = %c0 to %n step %c1 grain 64 {
      ...
    }
    %sum = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %zero : f32) {
      %v = memref.load %x[%i] : memref<?xf32>
      strata.yield %v : f32
    }
    ```
  }];
  let arguments = (ins Index:$lb, Index:$ub, Index:$step,
                       Variadic<AnyType>:$inits,
                       OptionalAttr<I64Attr>:$grain,
                       OptionalAttr<StrArrayAttr>:$kinds);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Strata_YieldOp : Strata_Op<"yield", [
    Pure, Terminator, ReturnLike,
    ParentOneOf<["MapOp", "ParallelForOp"]>]> {
  let summary = "terminator of `strata.map` and `strata.parallel_for`";
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* no values */ }]>];
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // STRATA_OPS_TD
