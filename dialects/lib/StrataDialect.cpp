//===- StrataDialect.cpp - dialect registration -------------------------===//

#include "strata/StrataDialect.h"

using namespace mlir;
using namespace mlir::strata;

#include "strata/StrataOpsDialect.cpp.inc"

void StrataDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "strata/StrataOps.cpp.inc"
      >();
}
