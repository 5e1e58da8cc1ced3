//! Diagnostics the C API cannot emit: warnings, and errors with a note.

use std::ffi::CString;

mod ffi {
    unsafe extern "C" {
        pub fn strataEmitDiagnosticWithNote(
            location: mlir_sys::MlirLocation,
            severity: i32,
            message: *const std::ffi::c_char,
            note_at: mlir_sys::MlirLocation,
            note: *const std::ffi::c_char,
        );
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Emits `message` at `at`, with `note` (if any) at its own location.
pub fn emit(at: mlir_sys::MlirLocation, severity: Severity, message: &str, note: Option<(mlir_sys::MlirLocation, &str)>) {
    let c = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
    let message = c(message);
    let (note_at, note) = match note {
        Some((l, n)) => (l, c(n)),
        None => (at, c("")),
    };
    let severity = if severity == Severity::Error { 0 } else { 1 };
    // SAFETY: live locations; both strings outlive the call.
    unsafe { ffi::strataEmitDiagnosticWithNote(at, severity, message.as_ptr(), note_at, note.as_ptr()) }
}
