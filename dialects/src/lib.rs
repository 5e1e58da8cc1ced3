//! The `strata` dialect (contract: `shared/spec/dialect.md`).
//!
//! The ops are defined in ODS (`include/strata/StrataOps.td`) and compiled
//! by CMake into a static library; this crate links it, exposes its C-API
//! registration handle, and gives safe builders for every op ([`ops`]).

pub mod cpu;
pub mod diag;
pub mod ops;
pub mod strings;

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
        pub fn strataRegisterUpstreamTestPasses();
        pub fn strataInstallFatalErrorHandler();
        pub fn strataTopLevelIsSymbolTable(context: mlir_sys::MlirContext, source: mlir_sys::MlirStringRef) -> bool;
        pub fn strataParseLLVMOptions(
            argc: i32,
            argv: *const *const std::ffi::c_char,
            callback: mlir_sys::MlirStringCallback,
            user_data: *mut std::ffi::c_void,
        ) -> bool;
        pub fn strataPassManagerEnableImplicitNesting(pm: mlir_sys::MlirPassManager);
        pub fn strataUpstreamPassAnchor(
            name: mlir_sys::MlirStringRef,
            callback: mlir_sys::MlirStringCallback,
            user_data: *mut std::ffi::c_void,
        ) -> bool;
        pub fn strataParseModule(
            context: mlir_sys::MlirContext,
            source: mlir_sys::MlirStringRef,
            source_name: mlir_sys::MlirStringRef,
        ) -> mlir_sys::MlirModule;
        pub fn strataContextPrintOpOnDiagnostic(context: mlir_sys::MlirContext, enable: bool);
        pub fn strataEmitRemark(location: mlir_sys::MlirLocation, message: *const std::ffi::c_char);
        pub fn strataLinalgOpToAffineLoops(op: mlir_sys::MlirOperation) -> bool;
    }
}

/// Lowers one linalg op on buffers to affine loops in place (upstream's
/// `convert-linalg-to-affine-loops`, for this op alone) and erases it; false,
/// with nothing changed, when it is not such an op.
///
/// # Safety
/// `op` must be a live operation, not used afterwards when this returns true.
pub unsafe fn linalg_op_to_affine_loops(op: mlir_sys::MlirOperation) -> bool {
    // SAFETY: the caller's promise.
    unsafe { ffi::strataLinalgOpToAffineLoops(op) }
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

/// Lets `pm` nest passes under the op they are anchored on implicitly, as
/// mlir-opt's pass managers do (a `func.func` pass given as a flag runs on
/// every function of the module).
pub fn enable_implicit_nesting(pm: mlir_sys::MlirPassManager) {
    // SAFETY: a live pass manager.
    unsafe { ffi::strataPassManagerEnableImplicitNesting(pm) }
}

/// The op the registered upstream pass `name` is anchored on (`func.func`
/// for `convert-vector-to-scf`); `None` for an unknown name, a registered
/// pipeline, or a pass that runs on any op.
pub fn upstream_pass_anchor(name: &str) -> Option<String> {
    // SAFETY: `name` outlives the call.
    let (found, anchor) = strings::collect(|cb, ud| unsafe { ffi::strataUpstreamPassAnchor(strings::string_ref(name), cb, ud) });
    found.then_some(anchor)
}

/// Whether `source`'s only top-level op is a symbol table (a module): what
/// mlir-runner's `--no-implicit-module` requires. Text that does not parse
/// counts as yes (the real parse reports it).
pub fn top_level_is_symbol_table(context: &Context, source: &str) -> bool {
    // SAFETY: a live context; the text outlives the call, which copies it.
    unsafe { ffi::strataTopLevelIsSymbolTable(context.to_raw(), strings::string_ref(source)) }
}

/// Makes LLVM's fatal errors (code generation that cannot go on) print
/// their reason and exit with status 1, not abort. Once, first, in a tool.
pub fn exit_on_llvm_fatal_errors() {
    // SAFETY: installs a process-wide handler; idempotent.
    unsafe { ffi::strataInstallFatalErrorHandler() }
}

/// Hands `options` (e.g. `-enable-matrix`) to LLVM's command-line parser,
/// as mlir-runner, an LLVM tool, accepts them; `Err` is LLVM's message.
/// Once per process: LLVM's options are global.
pub fn parse_llvm_options(options: &[String]) -> Result<(), String> {
    let owned: Vec<std::ffi::CString> = std::iter::once("strata-run".to_string())
        .chain(options.iter().cloned())
        .map(|o| std::ffi::CString::new(o).map_err(|_| "an option has a NUL byte".to_string()))
        .collect::<Result<_, _>>()?;
    let argv: Vec<*const std::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    // SAFETY: argv points at live NUL-terminated strings.
    let (ok, message) = strings::collect(|cb, ud| unsafe { ffi::strataParseLLVMOptions(argv.len() as i32, argv.as_ptr(), cb, ud) });
    if ok {
        Ok(())
    } else {
        Err(message.lines().map(|l| l.trim_start_matches("strata-run: ").trim()).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; "))
    }
}

/// Registers upstream's test passes that `mlir-opt` has and upstream's CPU
/// integration tests use (`test-lower-to-llvm`, ...), in MLIR's global pass
/// registry. Call once, with the other upstream passes.
pub fn register_upstream_test_passes() {
    // SAFETY: adds entries to the global registry; no arguments.
    unsafe { ffi::strataRegisterUpstreamTestPasses() }
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

/// The deepest nesting of brackets (`(` `[` `{` `<`: regions, attributes,
/// types, affine expressions) that [`parse_module`] accepts.
///
/// MLIR's parser, verifier, printer and many passes recurse once per
/// level, so input nested deep enough overflows the thread's stack (a
/// signal, no diagnostic). Measured on the 8 MiB main thread of both tools
/// (LLVM 22): the parser dies at about 3,600 nested regions and 6,100
/// nested attributes; at this limit every pipeline O0..O3 of both tools
/// runs in well under half of that stack (3 MiB is enough). Real kernels
/// nest a few dozen levels at most. Threads that Rust spawns get 2 MiB
/// unless told otherwise: a library caller compiling input this deep off
/// the main thread should give that thread a larger stack.
pub const MAX_NESTING: usize = 1000;

/// Where `source` first nests brackets deeper than `limit`: the 1-based
/// line and column (in bytes, as MLIR counts) of the bracket that goes one
/// level too deep. Brackets in string literals and `//` comments do not
/// count; `->`, `>=` and `<=` are not brackets. One pass, no recursion.
pub fn nesting_too_deep(source: &str, limit: usize) -> Option<(usize, usize)> {
    let bytes = source.as_bytes();
    let (mut line, mut line_start) = (1usize, 0usize);
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match c {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'"' => {
                // A string literal: up to the closing quote; `\` escapes the
                // next byte. MLIR strings do not span lines.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' && bytes.get(i + 1) != Some(&b'\n') { 2 } else { 1 };
                }
                if i < bytes.len() && bytes[i] == b'\n' {
                    continue;
                }
            }
            b'/' if next == Some(b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'<' if next == Some(b'=') => i += 1,
            b'(' | b'[' | b'{' | b'<' => {
                depth += 1;
                if depth > limit {
                    return Some((line, i - line_start + 1));
                }
            }
            b'>' if next == Some(b'=') || (i > 0 && bytes[i - 1] == b'-') => {}
            b')' | b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses MLIR text as `mlir-opt` does: top-level ops other than one
/// `builtin.module` are wrapped in an implicit module, and locations name
/// `source_name`. On failure the diagnostics have gone to `context`'s
/// handlers and `None` is returned.
///
/// Text nested deeper than [`MAX_NESTING`] is refused with an error at the
/// bracket that goes too deep, before MLIR's recursive parser sees it.
pub fn parse_module<'c>(context: &'c Context, source: &str, source_name: &str) -> Option<Module<'c>> {
    if let Some((line, col)) = nesting_too_deep(source, MAX_NESTING) {
        let message = format!("nesting deeper than {MAX_NESTING} levels (of regions, attributes or types) is not supported");
        let message = std::ffi::CString::new(message).unwrap_or_default();
        // SAFETY: a live context; the strings outlive the calls.
        unsafe {
            let loc = mlir_sys::mlirLocationFileLineColGet(
                context.to_raw(),
                StringRef::new(source_name).to_raw(),
                line.try_into().unwrap_or(u32::MAX),
                col.try_into().unwrap_or(u32::MAX),
            );
            mlir_sys::mlirEmitError(loc, message.as_ptr());
        }
        return None;
    }
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
