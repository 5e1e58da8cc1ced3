//===- StrataDialect.h - the `strata` dialect -------------------*- C++ -*-===//
//
// C++ declarations generated from StrataOps.td. Only the C++ half of the
// dialect includes this; Rust sees the dialect through strata-c.h.
//
//===----------------------------------------------------------------------===//

#ifndef STRATA_STRATADIALECT_H
#define STRATA_STRATADIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "strata/StrataOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "strata/StrataOps.h.inc"

#endif // STRATA_STRATADIALECT_H
