//! The `strata` dialect (contract: `shared/spec/dialect.md`).
//!
//! The ops are defined in ODS (`include/strata/StrataOps.td`) and compiled
//! by CMake into a static library; this crate links it, exposes its C-API
//! registration handle, and gives safe builders for every op ([`ops`]).

pub mod cpu;
pub mod diag;
pub mod ops;

use melior::{
    dialect::{DialectHandle, DialectRegistry},
    ir::Module,
    Context, StringRef,
};

mod ffi {
    use mlir_sys::MlirDialectHandle;

    unsafe extern "C" {
        pub fn mlirGetDialectHandle__strata__() -> MlirDialectHandle;
        pub fn strataPrintRegisteredPasses();
        pub fn strataParseModule(
            context: mlir_sys::MlirContext,
            source: mlir_sys::MlirStringRef,
            source_name: mlir_sys::MlirStringRef,
        ) -> mlir_sys::MlirModule;
        pub fn strataContextPrintOpOnDiagnostic(context: mlir_sys::MlirContext, enable: bool);
        pub fn strataEmitRemark(location: mlir_sys::MlirLocation, message: *const std::ffi::c_char);
    }
}

/// The C-API handle of the `strata` dialect.
pub fn handle() -> DialectHandle {
    // SAFETY: the handle is a static table built by the C++ library.
    unsafe { DialectHandle::from_raw(ffi::mlirGetDialectHandle__strata__()) }
}

/// Adds the `strata` dialect to `registry`.
pub fn register(registry: &DialectRegistry) {
    handle().insert_dialect(registry);
}

/// Prints MLIR's global pass registry to standard output (the upstream half
/// of `--list-passes`). Flushes Rust's stdout first so the two interleave in
/// call order.
pub fn print_upstream_pass_registry() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: reads the global registry, writes to stdout; no arguments.
    unsafe { ffi::strataPrintRegisteredPasses() }
}

/// A context that knows every upstream dialect, `strata`, and the LLVM IR
/// translations (needed to JIT). Dialects load lazily as the parser meets
/// them.
pub fn new_context() -> Context {
    let registry = DialectRegistry::new();
    melior::utility::register_all_dialects(&registry);
    register(&registry);
    let context = Context::new_with_registry(&registry, true);
    melior::utility::register_all_llvm_translations(&context);
    // Ops built through the C API (not parsed) need their dialect loaded.
    for dialect in ["strata", "builtin", "func", "arith", "math", "scf", "memref"] {
        context.get_or_load_dialect(dialect);
    }
    context
}

/// Emits an MLIR remark (severity "remark") at `location`.
pub fn emit_remark(location: mlir_sys::MlirLocation, message: &str) {
    let message = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a live location; the message outlives the call.
    unsafe { ffi::strataEmitRemark(location, message.as_ptr()) }
}

/// Whether diagnostics on an op carry a "see current operation" note
/// (MLIR's default). Off for `--verify-diagnostics`, as in `mlir-opt`.
pub fn set_print_op_on_diagnostic(context: &Context, enable: bool) {
    // SAFETY: the context is live.
    unsafe { ffi::strataContextPrintOpOnDiagnostic(context.to_raw(), enable) }
}

/// Parses MLIR text as `mlir-opt` does: top-level ops other than one
/// `builtin.module` are wrapped in an implicit module, and locations name
/// `source_name`. On failure the diagnostics have gone to `context`'s
/// handlers and `None` is returned.
pub fn parse_module<'c>(context: &'c Context, source: &str, source_name: &str) -> Option<Module<'c>> {
    let source = StringRef::new(source);
    let name = StringRef::new(source_name);
    // SAFETY: both strings outlive the call; the module returned is owned.
    unsafe {
        Module::from_option_raw(ffi::strataParseModule(
            context.to_raw(),
            source.to_raw(),
            name.to_raw(),
        ))
    }
}

#[cfg(test)]
mod tests;
