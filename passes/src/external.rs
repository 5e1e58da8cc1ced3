//! Runs a Rust pass inside MLIR's pass manager through the C API's
//! external-pass hook, so that `strata-*` passes and upstream passes share
//! one `PassManager` (and its IR printing, timing and verifier).

use std::{
    ffi::c_void,
    panic::{catch_unwind, AssertUnwindSafe},
};

use melior::{
    ir::OperationRef,
    StringRef,
};
use mlir_sys::{
    mlirCreateExternalPass, mlirExternalPassSignalFailure, mlirTypeIDCreate,
    MlirExternalPass, MlirExternalPassCallbacks, MlirOperation, MlirPass,
};

use crate::pass_info::PassInfo;

/// A failure whose diagnostics have already been emitted on the IR.
#[derive(Debug)]
pub struct PassFailed;

/// A pass written in Rust.
pub trait StrataPass: Send {
    /// Runs on `op` (a module, or whatever op the pass was nested under).
    /// On failure, diagnostics with locations have been emitted.
    fn run(&mut self, op: OperationRef<'_, '_>) -> Result<(), PassFailed>;
    fn clone_pass(&self) -> Box<dyn StrataPass>;
}

struct State {
    info: &'static PassInfo,
    pass: Box<dyn StrataPass>,
}

pub(crate) fn create(info: &'static PassInfo, pass: Box<dyn StrataPass>) -> MlirPass {
    let state = Box::into_raw(Box::new(State { info, pass })) as *mut c_void;
    let callbacks = MlirExternalPassCallbacks {
        construct: Some(construct),
        destruct: Some(destruct),
        initialize: None,
        clone: Some(clone),
        run: Some(run),
    };
    let (name, argument, summary, anchor) = (
        StringRef::new(info.argument),
        StringRef::new(info.argument),
        StringRef::new(info.summary),
        StringRef::new(""),
    );
    // The passes build ops of these dialects; a pass must declare them so
    // the pass manager loads them before any pass runs (ops of an unloaded
    // dialect would be created unregistered).
    // SAFETY: plain getters of static dialect handles.
    let mut dialects = unsafe {
        [
            mlir_sys::mlirGetDialectHandle__arith__(),
            mlir_sys::mlirGetDialectHandle__math__(),
            mlir_sys::mlirGetDialectHandle__scf__(),
            mlir_sys::mlirGetDialectHandle__linalg__(),
            mlir_sys::mlirGetDialectHandle__tensor__(),
            mlir_sys::mlirGetDialectHandle__memref__(),
            mlir_sys::mlirGetDialectHandle__affine__(),
            mlir_sys::mlirGetDialectHandle__func__(),
            mlir_sys::mlirGetDialectHandle__vector__(),
            mlir_sys::mlirGetDialectHandle__llvm__(),
            mlir_sys::mlirGetDialectHandle__bufferization__(),
        ]
    };
    // SAFETY: `info` is a static, so its address is a unique, aligned,
    // immortal TypeID; the strings are static; `state` is owned by the pass
    // from here on and freed in `destruct`; MLIR copies the dialect list.
    unsafe {
        mlirCreateExternalPass(
            mlirTypeIDCreate(info as *const PassInfo as *const c_void),
            name.to_raw(),
            argument.to_raw(),
            summary.to_raw(),
            anchor.to_raw(),
            dialects.len() as isize,
            dialects.as_mut_ptr(),
            callbacks,
            state,
        )
    }
}

unsafe extern "C" fn construct(_: *mut c_void) {}

unsafe extern "C" fn destruct(state: *mut c_void) {
    // SAFETY: `state` came from `Box::into_raw` in `create` or `clone`.
    drop(unsafe { Box::from_raw(state as *mut State) });
}

unsafe extern "C" fn clone(state: *mut c_void) -> *mut c_void {
    // SAFETY: `state` is live for as long as the pass that owns it.
    let state = unsafe { &*(state as *const State) };
    Box::into_raw(Box::new(State { info: state.info, pass: state.pass.clone_pass() })) as *mut c_void
}

unsafe extern "C" fn run(op: MlirOperation, pass: MlirExternalPass, state: *mut c_void) {
    // SAFETY: MLIR hands us the live op and our own state.
    let state = unsafe { &mut *(state as *mut State) };
    let op = unsafe { OperationRef::from_raw(op) };
    // A panic must not unwind into C++; it becomes an error on the op.
    let outcome = catch_unwind(AssertUnwindSafe(|| state.pass.run(op)));
    let failed = match outcome {
        Ok(Ok(())) => false,
        Ok(Err(PassFailed)) => true,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            crate::ir::emit_error(op.to_raw(), &format!("internal error in pass '{}': {what}", state.info.argument));
            true
        }
    };
    if failed {
        // SAFETY: called during `run`, as the C API requires.
        unsafe { mlirExternalPassSignalFailure(pass) }
    }
}
