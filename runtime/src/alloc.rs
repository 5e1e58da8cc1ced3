//! `malloc` and `free` for JIT-compiled kernels, counting bytes.
//!
//! The JIT binds the kernels' `malloc`/`free` calls to these (see the
//! driver's `Kernel`), so every temporary a kernel allocates is counted:
//! [`live_bytes`] after a call is what the kernel leaked, [`peak_bytes`]
//! since [`reset_peak`] is its high-water mark. Counting is process-wide
//! (atomics), so measure one call at a time. Each block carries a 16-byte
//! header with its size, which keeps malloc's 16-byte alignment.

use std::sync::atomic::{AtomicI64, Ordering};

const HEADER: usize = 16;

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

/// Allocates `size` bytes for a kernel; null on failure, like `malloc`.
///
/// # Safety
/// Callable from any thread; the block must be released with
/// [`strata_free`].
pub unsafe extern "C" fn strata_malloc(size: usize) -> *mut u8 {
    let Some(total) = size.checked_add(HEADER) else { return std::ptr::null_mut() };
    // SAFETY: plain libc allocation; the header fits in the first 16 bytes.
    unsafe {
        let base = malloc(total);
        if base.is_null() {
            return base;
        }
        (base as *mut usize).write(size);
        let live = LIVE.fetch_add(size as i64, Ordering::Relaxed) + size as i64;
        PEAK.fetch_max(live, Ordering::Relaxed);
        base.add(HEADER)
    }
}

/// Frees a block from [`strata_malloc`] (null is ignored, like `free`).
///
/// # Safety
/// `ptr` must be null or come from [`strata_malloc`], freed once.
pub unsafe extern "C" fn strata_free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` is HEADER bytes past a malloc'd base holding the size.
    unsafe {
        let base = ptr.sub(HEADER);
        let size = (base as *const usize).read();
        LIVE.fetch_sub(size as i64, Ordering::Relaxed);
        free(base);
    }
}

/// Bytes allocated by kernels and not freed yet.
pub fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// The most bytes live at once since the last [`reset_peak`].
pub fn peak_bytes() -> i64 {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new high-water mark at the current live bytes.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_live_and_peak() {
        reset_peak();
        let base = live_bytes();
        unsafe {
            let a = strata_malloc(1000);
            let b = strata_malloc(24);
            assert_eq!(a as usize % 16, 0);
            assert_eq!(live_bytes() - base, 1024);
            a.write_bytes(7, 1000);
            strata_free(a);
            assert_eq!(live_bytes() - base, 24);
            strata_free(b);
            strata_free(std::ptr::null_mut());
        }
        assert_eq!(live_bytes(), base);
        assert!(peak_bytes() - base >= 1024);
    }
}
