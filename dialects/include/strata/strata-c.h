/*===- strata-c.h - C API of the strata C++ library --------------*- C -*-===*\
|*                                                                            *|
|* What the Rust crates call: the dialect's registration handle and the one  *|
|* tool hook MLIR's C API lacks (printing the upstream pass registry).       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef STRATA_C_H
#define STRATA_C_H

#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Strata, strata);

/// Prints MLIR's global pass registry (every upstream pass and pipeline
/// registered so far, with options) to standard output, as `mlir-opt
/// --list-passes` does. The registry has no C API to enumerate it.
MLIR_CAPI_EXPORTED void strataPrintRegisteredPasses(void);

/// Lets passes anchored on another op than the pass manager's be added to
/// it, nested under that op implicitly (`cse` and a `func.func` pass both
/// on a module), as mlir-opt's pass managers do. The C API has no setter.
MLIR_CAPI_EXPORTED void
strataPassManagerEnableImplicitNesting(MlirPassManager passManager);

/// The op the registered upstream pass `name` is anchored on (`func.func`
/// for `convert-vector-to-scf`), sent to `callback`; false (nothing sent)
/// for an unknown name, a pipeline, or an op-agnostic pass. What mlir-opt's
/// implicit nesting of pass flags needs, which the C API cannot tell.
MLIR_CAPI_EXPORTED bool strataUpstreamPassAnchor(MlirStringRef name,
                                                 MlirStringCallback callback,
                                                 void *userData);

/// Whether `source` holds exactly one top-level op and it is a symbol table
/// (a module), as mlir-runner's `--no-implicit-module` requires. Text that
/// does not parse counts as yes: the real parse reports it.
MLIR_CAPI_EXPORTED bool strataTopLevelIsSymbolTable(MlirContext context,
                                                    MlirStringRef source);

/// Makes LLVM's fatal errors print their reason and exit with status 1
/// instead of aborting (the tools call it once, first).
MLIR_CAPI_EXPORTED void strataInstallFatalErrorHandler(void);

/// Hands options to LLVM's own command-line parser (`-enable-matrix`,
/// `-matrix-default-layout=...`: what mlir-runner accepts as an LLVM tool);
/// on failure sends LLVM's message to `callback` and returns false, where
/// LLVM alone would exit the process. argv[0] is the program name.
MLIR_CAPI_EXPORTED bool strataParseLLVMOptions(int argc,
                                               const char *const *argv,
                                               MlirStringCallback callback,
                                               void *userData);

/// Registers the passes of upstream's test libraries that mlir-opt has and
/// upstream's CPU integration tests use (`-test-lower-to-llvm`, ...).
MLIR_CAPI_EXPORTED void strataRegisterUpstreamTestPasses(void);

/// Parses `source` as `mlir-opt` does: several top-level ops are wrapped in
/// an implicit `builtin.module`, and locations name `sourceName`. Returns a
/// null module (after emitting diagnostics on `context`) on failure. MLIR's
/// C API offers either the implicit module or the source name, not both.
MLIR_CAPI_EXPORTED MlirModule strataParseModule(MlirContext context,
                                                MlirStringRef source,
                                                MlirStringRef sourceName);

/// Whether diagnostics on an op carry a "see current operation" note with
/// the op printed (MLIR's default: on). `--verify-diagnostics` turns it off,
/// as `mlir-opt` does, so tests need not expect that note.
MLIR_CAPI_EXPORTED void strataContextPrintOpOnDiagnostic(MlirContext context,
                                                         bool enable);

/// Emits a remark at `location` (MLIR's C API only emits errors).
MLIR_CAPI_EXPORTED void strataEmitRemark(MlirLocation location,
                                         const char *message);

/// Emits an error (`severity` 0) or a warning (1) at `location`, with a
/// note at `noteAt` unless `note` is empty: the C API only emits bare
/// errors.
MLIR_CAPI_EXPORTED void strataEmitDiagnosticWithNote(MlirLocation location,
                                                     int severity,
                                                     const char *message,
                                                     MlirLocation noteAt,
                                                     const char *note);

/// Calls `callback` once with LLVM's name for the host CPU.
MLIR_CAPI_EXPORTED void strataHostCpu(MlirStringCallback callback,
                                      void *userData);

/// Calls `callback` once with the host's features as LLVM names them,
/// comma-separated, each `+name` or `-name`.
MLIR_CAPI_EXPORTED void strataHostFeatures(MlirStringCallback callback,
                                           void *userData);

/// Registers LLVM's native (x86-64) target, its assembly printer and
/// parser, once per process. Registration writes LLVM's global registry
/// without a lock, so every caller that may be first (the CPU queries here,
/// the driver before it creates an ExecutionEngine, whose own once does it
/// again and finds it done) comes through this one.
MLIR_CAPI_EXPORTED void strataInitializeNativeTarget(void);

/// For the x86-64 CPU `cpu` with the comma-separated `+f`/`-f` overrides,
/// calls `callback` once with every feature LLVM knows, each `+name` or
/// `-name`. Returns 0 on success, 1 for an unknown CPU, 2 for a malformed
/// or unknown feature, -1 if LLVM has no x86-64 target.
MLIR_CAPI_EXPORTED int strataCpuFeatures(MlirStringRef cpu,
                                         MlirStringRef overrides,
                                         MlirStringCallback callback,
                                         void *userData);

/// Lowers the linalg op `op` (on buffers) to affine loops in place, as
/// upstream's `convert-linalg-to-affine-loops` does for every op, and erases
/// it. Returns false, changing nothing, when `op` is not a linalg op with
/// buffer semantics or upstream cannot lower it. Lets a pass keep some
/// linalg ops structured (contractions) while lowering the rest.
MLIR_CAPI_EXPORTED bool strataLinalgOpToAffineLoops(MlirOperation op);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_C_H */
