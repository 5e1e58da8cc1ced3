//! What LLVM knows about x86-64 CPUs: the host's name and features, and
//! the full feature set a CPU name implies (`lib/Target.cpp`). The driver
//! builds its explicit `Target` from these; passes never call them.

use mlir_sys::{MlirStringRef, MlirStringCallback};

mod ffi {
    use super::*;
    unsafe extern "C" {
        pub fn strataHostCpu(callback: MlirStringCallback, user_data: *mut std::ffi::c_void);
        pub fn strataHostFeatures(callback: MlirStringCallback, user_data: *mut std::ffi::c_void);
        pub fn strataInitializeNativeTarget();
        pub fn strataCpuFeatures(
            cpu: MlirStringRef,
            overrides: MlirStringRef,
            callback: MlirStringCallback,
            user_data: *mut std::ffi::c_void,
        ) -> i32;
    }
}

use crate::strings::{collect as with_string, string_ref as sref};

/// Registers LLVM's x86-64 target once per process (see
/// `strataInitializeNativeTarget`): call before anything else that may
/// register it, such as creating an ExecutionEngine.
pub fn initialize_native_target() {
    // SAFETY: no arguments; thread-safe by a C++ function-local static.
    unsafe { ffi::strataInitializeNativeTarget() }
}

/// LLVM's name for the host CPU (`znver3`, `skylake-avx512`, ...).
pub fn host_cpu() -> String {
    // SAFETY: the callback writes into the String for the call's duration.
    with_string(|cb, ud| unsafe {
        ffi::strataHostCpu(cb, ud);
        0
    })
    .1
}

/// The host's features, each `+name` or `-name`, as LLVM names them.
pub fn host_features() -> Vec<String> {
    // SAFETY: as above.
    let (_, s) = with_string(|cb, ud| unsafe {
        ffi::strataHostFeatures(cb, ud);
        0
    });
    split(&s)
}

/// Why a CPU name and overrides were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuError {
    UnknownCpu,
    BadFeature,
    NoX86Target,
}

/// Every feature LLVM knows for `cpu` with `overrides` (`+f`/`-f`, comma
/// separated) applied, each `+name` or `-name`.
pub fn cpu_features(cpu: &str, overrides: &str) -> Result<Vec<String>, CpuError> {
    // SAFETY: both strings outlive the call; the callback as above.
    let (rc, s) = with_string(|cb, ud| unsafe { ffi::strataCpuFeatures(sref(cpu), sref(overrides), cb, ud) });
    match rc {
        0 => Ok(split(&s)),
        1 => Err(CpuError::UnknownCpu),
        2 => Err(CpuError::BadFeature),
        _ => Err(CpuError::NoX86Target),
    }
}

fn split(s: &str) -> Vec<String> {
    s.split(',').filter(|f| f.len() > 1).map(str::to_string).collect()
}
