//! `malloc` and `free` for JIT-compiled kernels, counting bytes.
//!
//! The JIT binds the kernels' `malloc`/`free` calls to these (see the
//! driver's `Kernel`), so every temporary a kernel allocates is counted:
//! [`live_bytes`] after a call is what the kernel leaked, [`peak_bytes`]
//! since [`reset_peak`] is its high-water mark. Counting is process-wide
//! (atomics), so measure one call at a time.
//!
//! Blocks are libc's own, with no header: the size counted is
//! `malloc_usable_size`, read again on free. So a pointer from either side
//! can be freed by the other: shared libraries the JIT loads (MLIR's async
//! runtime, the runner utils) allocate with libc's `malloc` and free
//! buffers that JIT'd code allocated, and the other way round; with a size
//! header in front of each block, that crossing was a double free. A block
//! that crosses is counted on one side only, so the counters are exact for
//! kernels whose buffers stay with the JIT'd code (every kernel Strata
//! compiles) and approximate otherwise.
//!
//! A kernel cannot handle a null buffer: the code JIT'd from
//! `memref.alloc` does not check. So a failed allocation ends the process
//! with `TOOL: error: out of memory: ...` naming the size, and exit code 1,
//! rather than a segmentation fault at the first store.
//!
//! Freed blocks of [`CACHED_MIN`] bytes or more are kept (up to
//! [`CACHE_BYTES`] in all) and handed to the next allocation they fit:
//! libc serves such sizes with `mmap` and returns them to the kernel on
//! `free`, so a kernel whose temporaries are a few MiB (attention's score
//! matrix, a matmul's packed panels) page-faulted and zeroed every page of
//! them again on every call; on Zen 4 that was 43% of an attention call's
//! time. A kept block counts as freed for [`live_bytes`]. Ours, because it
//! must stay libc's block (see above) and a general allocator crate would
//! replace libc's for the whole process.
//!
//! Blocks of [`HUGE_MIN`] bytes or more are advised to the kernel as
//! transparent huge pages ([`advise_huge_pages`]) before anything touches
//! them, as NumPy does for its arrays: where THP is in `madvise` mode (the
//! default of Debian's kernels) a 4 MiB or larger buffer otherwise lives on
//! 4 KiB pages, and a kernel that walks it with a stride of a row (a
//! reduction along dim 0, a matmul's packing of A) takes a TLB miss on
//! nearly every row.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Mutex,
};

/// The smallest block kept for reuse: below it libc's bins serve
/// allocations without `mmap`.
pub const CACHED_MIN: usize = 256 << 10;
/// The most bytes kept.
pub const CACHE_BYTES: usize = 256 << 20;
/// The most blocks kept.
const CACHE_SLOTS: usize = 32;

/// Freed blocks kept for reuse: (usable size, address).
struct Cache {
    blocks: Vec<(usize, usize)>,
    bytes: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache { blocks: Vec::new(), bytes: 0 });

/// A kept block of at least `size` bytes aligned to `align`, not much
/// larger (a quarter more at most, so a small request does not take a
/// large block), if there is one.
fn reuse(size: usize, align: usize) -> Option<*mut u8> {
    if size < CACHED_MIN {
        return None;
    }
    let mut cache = CACHE.lock().ok()?;
    let fits = |(usable, at): &(usize, usize)| *usable >= size && *usable - size <= *usable / 4 && at % align == 0;
    let i = cache.blocks.iter().position(fits)?;
    let (usable, at) = cache.blocks.swap_remove(i);
    cache.bytes -= usable;
    Some(at as *mut u8)
}

/// What [`strata_free`] does with a block.
enum Freed {
    Kept,
    /// Kept already: a second free, which must not hand the block out
    /// twice.
    Again,
    Free,
}

/// Keeps the freed block `p` of `usable` bytes if there is room.
fn keep(p: *mut u8, usable: usize) -> Freed {
    if usable < CACHED_MIN {
        return Freed::Free;
    }
    let Ok(mut cache) = CACHE.lock() else { return Freed::Free };
    if cache.blocks.iter().any(|(_, at)| *at == p as usize) {
        return Freed::Again;
    }
    if cache.blocks.len() >= CACHE_SLOTS || cache.bytes + usable > CACHE_BYTES {
        return Freed::Free;
    }
    cache.blocks.push((usable, p as usize));
    cache.bytes += usable;
    Freed::Kept
}

/// The smallest block advised as huge pages (NumPy's threshold): smaller
/// ones hold at most one whole 2 MiB page.
pub const HUGE_MIN: usize = 4 << 20;

/// Asks the kernel to back the whole 2 MiB pages inside `[p, p + size)`
/// with transparent huge pages, if `size` is at least [`HUGE_MIN`]. Only
/// advice: pages already touched stay as they are until the kernel
/// collapses them, and a kernel without THP refuses, which changes
/// nothing, so the result is ignored.
pub fn advise_huge_pages(p: *mut u8, size: usize) {
    const PAGE: usize = 4096;
    const MADV_HUGEPAGE: i32 = 14;
    unsafe extern "C" {
        fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
    }
    if p.is_null() || size < HUGE_MIN {
        return;
    }
    let start = (p as usize).next_multiple_of(PAGE);
    let end = (p as usize + size) / PAGE * PAGE;
    if end > start {
        // SAFETY: advice on whole pages of a block the caller owns; it
        // does not change the block's contents or mapping.
        unsafe { madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE) };
    }
}

/// Whether the mapping holding `p` was advised as huge pages (its
/// `VmFlags` in /proc/self/smaps carry `hg`); `None` where the kernel has
/// no THP (no /sys/kernel/mm/transparent_hugepage: nothing to advise),
/// that file cannot be read, or no mapping holds `p`. For tests and
/// diagnostics.
pub fn advised_huge(p: *const u8) -> Option<bool> {
    if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
        return None;
    }
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let range = |line: &str| -> Option<(usize, usize)> {
        let (lo, hi) = line.split_once(' ')?.0.split_once('-')?;
        Some((usize::from_str_radix(lo, 16).ok()?, usize::from_str_radix(hi, 16).ok()?))
    };
    let mut inside = false;
    for line in smaps.lines() {
        if let Some((lo, hi)) = range(line) {
            inside = lo <= p as usize && (p as usize) < hi;
        } else if let Some(flags) = line.strip_prefix("VmFlags:").filter(|_| inside) {
            return Some(flags.split_whitespace().any(|f| f == "hg"));
        }
    }
    None
}

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn malloc_usable_size(ptr: *mut u8) -> usize;
    fn fflush(stream: *mut std::ffi::c_void) -> i32;
    fn _exit(code: i32) -> !;
}

/// Allocates `size` bytes for a kernel, like `malloc` (16-byte aligned).
/// If libc cannot allocate, prints an error naming `size` and ends the
/// process with exit code 1 (see the module's documentation).
///
/// # Safety
/// Callable from any thread; the block is released with [`strata_free`]
/// or libc's `free`.
pub unsafe extern "C" fn strata_malloc(size: usize) -> *mut u8 {
    let p = reuse(size, 16).unwrap_or_else(|| {
        // SAFETY: plain libc allocation.
        let p = unsafe { malloc(size) };
        advise_huge_pages(p, size);
        p
    });
    // SAFETY: `p` is null or a live libc block.
    unsafe { counted(p, size) }
}

/// Counts the block `p` that an allocation of `size` bytes returned, or
/// reports that it failed.
///
/// # Safety
/// `p` is null or a live block from libc's allocator.
unsafe fn counted(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        if size == 0 {
            return p;
        }
        out_of_memory(size);
    }
    // SAFETY: a live libc block.
    let bytes = unsafe { malloc_usable_size(p) } as i64;
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
    p
}

/// `aligned_alloc` for kernels (MLIR's coroutine frames, `memref.alloc`
/// lowered with `use-aligned-alloc`), counted like [`strata_malloc`]:
/// such blocks are freed through the kernel's `free`, which is
/// [`strata_free`]. Fails like it, too.
///
/// # Safety
/// As for [`strata_malloc`]; `align` a power of two, as C requires.
pub unsafe extern "C" fn strata_aligned_alloc(align: usize, size: usize) -> *mut u8 {
    unsafe extern "C" {
        fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    }
    let p = reuse(size, align.max(1)).unwrap_or_else(|| {
        // SAFETY: plain libc allocation.
        let p = unsafe { aligned_alloc(align, size) };
        advise_huge_pages(p, size);
        p
    });
    // SAFETY: `p` is null or a live libc block.
    unsafe { counted(p, size) }
}

/// The message and exit for a failed allocation. Not `exit`: other threads
/// of the pool may still run kernel code, and the C++ static destructors
/// `exit` runs would pull MLIR out from under them.
fn out_of_memory(size: usize) -> ! {
    // Named like the tools' other errors: `strata-run: error: ...`.
    let tool = std::env::args_os()
        .next()
        .and_then(|a| std::path::Path::new(&a).file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "strata".into());
    eprintln!("{tool}: error: out of memory: a kernel could not allocate {size} bytes");
    // SAFETY: flushes C's output streams (what the kernel printed), then
    // ends the process without running destructors.
    unsafe {
        fflush(std::ptr::null_mut());
        _exit(1)
    }
}

/// Frees a block from [`strata_malloc`] or from libc's `malloc` (null is
/// ignored, like `free`).
///
/// # Safety
/// `ptr` must be null or a live block from libc's allocator, freed once.
pub unsafe extern "C" fn strata_free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: a live libc block: its usable size is readable until freed.
    unsafe {
        let usable = malloc_usable_size(ptr);
        match keep(ptr, usable) {
            Freed::Again => return,
            Freed::Kept => {}
            Freed::Free => free(ptr),
        }
        LIVE.fetch_sub(usable as i64, Ordering::Relaxed);
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

    /// The counters are process-wide: one test at a time touches them.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn counts_live_and_peak() {
        let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        reset_peak();
        let base = live_bytes();
        unsafe {
            let a = strata_malloc(1000);
            let b = strata_malloc(24);
            assert_eq!(a as usize % 16, 0);
            let (na, nb) = (malloc_usable_size(a) as i64, malloc_usable_size(b) as i64);
            assert!(na >= 1000 && nb >= 24);
            assert_eq!(live_bytes() - base, na + nb);
            a.write_bytes(7, 1000);
            strata_free(a);
            assert_eq!(live_bytes() - base, nb);
            let c = strata_aligned_alloc(64, 640);
            assert_eq!(c as usize % 64, 0);
            assert_eq!(live_bytes() - base, nb + malloc_usable_size(c) as i64);
            strata_free(c);
            strata_free(b);
            strata_free(std::ptr::null_mut());
        }
        assert_eq!(live_bytes(), base);
        assert!(peak_bytes() - base >= 1024);
    }

    /// A freed large block is the next allocation of its size (no fresh
    /// pages to fault in), still counted; a much smaller request or a
    /// stricter alignment does not take it.
    #[test]
    fn large_blocks_are_reused() {
        let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let base = live_bytes();
        unsafe {
            let size = 4 << 20;
            let a = strata_malloc(size);
            a.write_bytes(3, size);
            let usable = malloc_usable_size(a) as i64;
            strata_free(a);
            assert_eq!(live_bytes(), base, "a kept block counts as freed");
            let small = strata_malloc(CACHED_MIN);
            assert_ne!(small, a, "a 256 KiB request took a 4 MiB block");
            let b = strata_malloc(size - 100);
            assert_eq!(b, a, "the kept block was not reused");
            assert_eq!(live_bytes() - base, usable + malloc_usable_size(small) as i64);
            strata_free(b);
            strata_free(small);
            let c = strata_aligned_alloc(1 << 21, size);
            assert_eq!(c as usize % (1 << 21), 0);
            strata_free(c);
            // A second free of a kept block changes nothing: the block is
            // handed out once.
            strata_free(c);
            assert_eq!(live_bytes(), base);
            let (d, e) = (strata_malloc(size), strata_malloc(size));
            assert_ne!(d, e);
            strata_free(d);
            strata_free(e);
        }
        assert_eq!(live_bytes(), base);
    }

    /// A fresh large block is advised as huge pages: the mapping holding it
    /// carries the `hg` flag in /proc/self/smaps. Where the kernel has no
    /// THP there is nothing to ask ([`advised_huge`] is `None`).
    #[test]
    fn large_blocks_are_advised_as_huge_pages() {
        let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        unsafe {
            // A size no earlier test freed, so the blocks are fresh.
            let size = HUGE_MIN + (3 << 20);
            let (a, b) = (strata_malloc(size), strata_aligned_alloc(64, size + 4096));
            for p in [a, b] {
                // None: no THP or no smaps to read, nothing to check.
                if let Some(advised) = advised_huge(p.add(size / 2)) {
                    assert!(advised, "a {} MiB block was not advised", size >> 20);
                }
            }
            strata_free(a);
            strata_free(b);
        }
    }

    /// Blocks cross between libc and the counting allocator both ways (as
    /// between JIT'd code and MLIR's async runtime): no double free, no
    /// corruption. With a size header this aborted in `free`.
    #[test]
    fn blocks_cross_allocators() {
        let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        unsafe {
            for size in [1usize, 16, 100, 4096, 1 << 20] {
                let ours = strata_malloc(size);
                ours.write_bytes(1, size);
                free(ours);
                let theirs = malloc(size);
                theirs.write_bytes(2, size);
                strata_free(theirs);
            }
        }
    }
}
