//===- CAPI.cpp - C API of the strata C++ library -----------------------===//
//
// The definition of the dialect handle must see the declaration inside
// `extern "C"` first; otherwise the handle's symbol is C++-mangled and the
// Rust side cannot find it.
//
//===----------------------------------------------------------------------===//

#include "strata/strata-c.h"

#include <cstdio>
#include <cstdlib>

#include "mlir/CAPI/Registration.h"
#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Pass.h"
#include "mlir/CAPI/Support.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassRegistry.h"
#include "strata/StrataDialect.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Strata, strata,
                                      mlir::strata::StrataDialect)

void strataPrintRegisteredPasses(void) {
  mlir::printRegisteredPasses();
  llvm::outs().flush();
  // A closed pipe (`strata-opt --list-passes | head`) is not an error of
  // ours; without this, LLVM reports it as fatal at exit.
  llvm::outs().clear_error();
}

void strataPassManagerEnableImplicitNesting(MlirPassManager passManager) {
  unwrap(passManager)->setNesting(mlir::OpPassManager::Nesting::Implicit);
}

bool strataUpstreamPassAnchor(MlirStringRef name, MlirStringCallback callback,
                              void *userData) {
  const mlir::PassInfo *info = mlir::PassInfo::lookup(unwrap(name));
  if (!info)
    return false;
  // An op-agnostic manager that takes any pass as it is (a textual
  // pipeline would refuse a func.func pass here); the pass then says what
  // it is anchored on.
  mlir::OpPassManager pm(mlir::OpPassManager::Nesting::Implicit);
  if (mlir::failed(info->addToPipeline(
          pm, "", [](const llvm::Twine &) { return mlir::failure(); })))
    return false;
  for (mlir::Pass &pass : pm.getPasses()) {
    if (std::optional<llvm::StringRef> op = pass.getOpName()) {
      callback(wrap(*op), userData);
      return true;
    }
  }
  return false;
}

MlirModule strataParseModule(MlirContext context, MlirStringRef source,
                             MlirStringRef sourceName) {
  mlir::ParserConfig config(unwrap(context));
  // MLIR's lexer finds the end of its buffer by the NUL that MemoryBuffer
  // promises after it; `parseSourceString` does not copy, so text that ends
  // inside a token (an unterminated string, say) would be lexed on into
  // whatever memory follows. A copy is NUL-terminated.
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(unwrap(source), unwrap(sourceName)),
      llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, config);
  return wrap(module.release());
}

bool strataTopLevelIsSymbolTable(MlirContext context, MlirStringRef source) {
  // Parse errors are the real parse's to report: silenced here.
  mlir::ScopedDiagnosticHandler quiet(
      unwrap(context), [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::ParserConfig config(unwrap(context));
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(unwrap(source), "<input>"),
      llvm::SMLoc());
  mlir::Block block;
  if (mlir::failed(mlir::parseSourceFile(sourceMgr, &block, config)))
    return true;
  return block.getOperations().size() == 1 &&
         block.front().hasTrait<mlir::OpTrait::SymbolTable>();
}

/// LLVM's fatal errors (`report_fatal_error`: code generation meeting an
/// intrinsic it cannot lower, say) abort the process by default; a user's
/// input must never do that. This prints LLVM's reason and exits 1.
static void exitOnFatalError(void *, const char *reason, bool) {
  std::fprintf(stderr, "error: LLVM cannot compile this: %s\n", reason);
  std::fflush(stderr);
  std::_Exit(1);
}

void strataInstallFatalErrorHandler(void) {
  static bool installed = false;
  if (!installed) {
    llvm::install_fatal_error_handler(exitOnFatalError, nullptr);
    installed = true;
  }
}

bool strataParseLLVMOptions(int argc, const char *const *argv,
                            MlirStringCallback callback, void *userData) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  bool ok = llvm::cl::ParseCommandLineOptions(argc, argv, "", &os);
  os.flush();
  if (!ok)
    callback(wrap(llvm::StringRef(errors)), userData);
  return ok;
}

void strataContextPrintOpOnDiagnostic(MlirContext context, bool enable) {
  unwrap(context)->printOpOnDiagnostic(enable);
}

void strataEmitRemark(MlirLocation location, const char *message) {
  mlir::emitRemark(unwrap(location)) << message;
}

void strataEmitDiagnosticWithNote(MlirLocation location, int severity,
                                  const char *message, MlirLocation noteAt,
                                  const char *note) {
  mlir::InFlightDiagnostic d = severity == 0
                                   ? mlir::emitError(unwrap(location))
                                   : mlir::emitWarning(unwrap(location));
  d << message;
  if (note && *note)
    d.attachNote(unwrap(noteAt)) << note;
}

bool strataLinalgOpToAffineLoops(MlirOperation op) {
  auto linalgOp = llvm::dyn_cast<mlir::linalg::LinalgOp>(unwrap(op));
  if (!linalgOp || !linalgOp.hasPureBufferSemantics())
    return false;
  mlir::IRRewriter rewriter(linalgOp->getContext());
  rewriter.setInsertionPoint(linalgOp);
  if (mlir::failed(mlir::linalg::linalgOpToAffineLoops(rewriter, linalgOp)))
    return false;
  rewriter.eraseOp(linalgOp);
  return true;
}
