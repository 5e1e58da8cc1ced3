//! What every fuzz target shares: its `main`.
//!
//! The targets define `main` themselves instead of using libFuzzer's
//! (`#![no_main]`): LLVM's packaged static libraries include mlir-opt's
//! `main` (`libMLIRMlirOptMain.a`), and the linker takes whichever archive
//! it meets first, which is MLIR's, so the binary would parse libFuzzer's
//! flags as mlir-opt's. A `main` in the target's own object always wins.
//! It hands the command line to libFuzzer's driver (`LLVMFuzzerRunDriver`),
//! which calls `LLVMFuzzerInitialize` (libfuzzer-sys's panic-to-abort hook)
//! and then the target for each input, as libFuzzer's `main` would.

use std::{
    ffi::{c_char, c_int, CString},
    os::unix::ffi::OsStringExt,
};

unsafe extern "C" {
    fn LLVMFuzzerRunDriver(
        argc: *mut c_int,
        argv: *mut *mut *mut c_char,
        callback: extern "C" fn(data: *const u8, size: usize) -> c_int,
    ) -> c_int;
}

extern "C" fn one_input(data: *const u8, size: usize) -> c_int {
    // SAFETY: libFuzzer passes a live buffer of `size` bytes.
    unsafe { libfuzzer_sys::test_input_wrap(data, size) }
}

/// Runs libFuzzer with this process's arguments; never returns.
pub fn libfuzzer_main() -> ! {
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_vec()).unwrap_or_default())
        .collect();
    let mut pointers: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    pointers.push(std::ptr::null_mut());
    let mut argc = args.len() as c_int;
    let mut argv = pointers.as_mut_ptr();
    // SAFETY: argc/argv describe `pointers`, which outlive the call (the
    // process exits right after).
    let rc = unsafe { LLVMFuzzerRunDriver(&mut argc, &mut argv, one_input) };
    std::process::exit(rc)
}
