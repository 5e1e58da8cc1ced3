//! Strings across MLIR's C API, both ways: a `&str` as an `MlirStringRef`,
//! and the chunks a C API function hands to an `MlirStringCallback`
//! collected into a `String` (messages, printed names, CPU names).

use mlir_sys::{MlirStringCallback, MlirStringRef};

/// `s` as an `MlirStringRef`, valid while `s` is.
pub fn string_ref(s: &str) -> MlirStringRef {
    MlirStringRef { data: s.as_ptr() as *const _, length: s.len() }
}

/// The callback [`collect`] hands out: appends each chunk to the `String`
/// that `user_data` points at.
unsafe extern "C" fn append(s: MlirStringRef, user_data: *mut std::ffi::c_void) {
    // SAFETY: `user_data` is the `String` of `collect`; `s` is valid for the
    // duration of the callback.
    unsafe {
        let out = &mut *(user_data as *mut String);
        let bytes = std::slice::from_raw_parts(s.data as *const u8, s.length);
        out.push_str(&String::from_utf8_lossy(bytes));
    }
}

/// Calls `f` with a string callback and its user data, and returns what `f`
/// returned with everything the callback received.
pub fn collect<R>(f: impl FnOnce(MlirStringCallback, *mut std::ffi::c_void) -> R) -> (R, String) {
    let mut out = String::new();
    let r = f(Some(append), &mut out as *mut String as *mut std::ffi::c_void);
    (r, out)
}
