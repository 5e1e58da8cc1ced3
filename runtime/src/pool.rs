//! The thread pool that runs parallel loops of JIT-compiled kernels.
//!
//! One pool per process, started on the first dispatch with
//! [`set_threads`]'s count (else `STRATA_NUM_THREADS`, else the cores the
//! process may use) and reused. The dispatching thread works too, so `n`
//! threads means `n - 1` workers. A loop of `n` iterations is cut into
//! chunks of `grain` iterations, which participants claim from one atomic
//! counter (so uneven chunks balance themselves). A dispatch made while
//! running inside a dispatch (a nested `parallel_for`), or while another
//! thread's dispatch holds the pool, runs inline on the calling thread: no
//! thread is ever created for it, and nothing waits on a worker that could
//! be waiting on it, so nesting cannot deadlock.
//!
//! Why our own pool rather than rayon-core or crossbeam: the entry point is
//! a C function called from JIT'd code with a body pointer and a context
//! pointer, once per loop, possibly 100,000 times in a row; what matters is
//! the cost of one dispatch (workers spin briefly before sleeping, one
//! atomic per chunk, no allocation, no boxing of closures). The benchmark
//! in `driver/benches/dispatch.rs` compares it with rayon and OpenMP.

use std::{
    cell::Cell,
    ffi::c_void,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering::SeqCst},
        Condvar, Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

/// An outlined loop body: runs iterations `[begin, end)`.
pub type Body = unsafe extern "C" fn(ctx: *mut c_void, begin: i64, end: i64);

struct Job {
    body: Body,
    ctx: *mut c_void,
    n: i64,
    grain: i64,
    next: AtomicI64,
    done: AtomicI64,
}

struct Pool {
    threads: usize,
    epoch: AtomicU64,
    job: AtomicPtr<Job>,
    /// Workers between reading `job` and leaving it.
    active: AtomicUsize,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    /// One dispatch at a time; others run inline.
    busy: AtomicBool,
}

static POOL: OnceLock<Pool> = OnceLock::new();
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// How long an idle worker spins before it sleeps: long enough to catch
/// back-to-back dispatches, short enough not to burn a core for nothing.
const SPIN: Duration = Duration::from_micros(200);

/// Asks for `n` threads (the caller included). Takes effect if the pool
/// has not started yet; returns the count the pool has or will have.
pub fn set_threads(n: usize) -> usize {
    REQUESTED.store(n.max(1), SeqCst);
    threads()
}

/// The pool's thread count (the caller included).
pub fn threads() -> usize {
    match POOL.get() {
        Some(p) => p.threads,
        None => default_threads(),
    }
}

fn default_threads() -> usize {
    let requested = REQUESTED.load(SeqCst);
    if requested > 0 {
        return requested;
    }
    if let Some(n) = std::env::var("STRATA_NUM_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
        return n.max(1);
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let threads = default_threads();
        let pool = Pool {
            threads,
            epoch: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            active: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            busy: AtomicBool::new(false),
        };
        for i in 1..threads {
            let spawned = std::thread::Builder::new().name(format!("strata-worker-{i}")).spawn(worker);
            // Without the thread the pool still works: the caller runs the
            // chunks a missing worker would have claimed.
            drop(spawned);
        }
        pool
    })
}

fn worker() {
    let pool = loop {
        if let Some(p) = POOL.get() {
            break p;
        }
        std::thread::yield_now();
    };
    INSIDE.with(|c| c.set(true));
    let mut seen = pool.epoch.load(SeqCst);
    loop {
        let start = Instant::now();
        while pool.epoch.load(SeqCst) == seen && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        if pool.epoch.load(SeqCst) == seen {
            let mut guard = pool.lock.lock().unwrap_or_else(|e| e.into_inner());
            pool.sleepers.fetch_add(1, SeqCst);
            while pool.epoch.load(SeqCst) == seen {
                guard = pool.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            pool.sleepers.fetch_sub(1, SeqCst);
        }
        seen = pool.epoch.load(SeqCst);
        pool.active.fetch_add(1, SeqCst);
        let job = pool.job.load(SeqCst);
        if !job.is_null() {
            // SAFETY: the dispatcher keeps the job alive until `active`
            // drops to zero after it cleared `job` (see `dispatch`).
            run_chunks(unsafe { &*job });
        }
        pool.active.fetch_sub(1, SeqCst);
    }
}

fn run_chunks(job: &Job) {
    loop {
        let begin = job.next.fetch_add(job.grain, SeqCst);
        if begin >= job.n {
            return;
        }
        let end = (begin + job.grain).min(job.n);
        // SAFETY: the body and context come from the generated code, which
        // guarantees they are valid for every iteration in [0, n).
        unsafe { (job.body)(job.ctx, begin, end) };
        job.done.fetch_add(end - begin, SeqCst);
    }
}

/// Runs `body(ctx, begin, end)` over chunks covering `[0, n)`, on the
/// pool's threads, and returns when every iteration has finished.
/// `grain < 1` picks a grain that gives each thread about four chunks.
///
/// # Safety
/// `body` must be safe to call concurrently from several threads with the
/// same `ctx` on disjoint ranges of `[0, n)`.
pub unsafe fn dispatch(body: Body, ctx: *mut c_void, n: i64, grain: i64) {
    if n <= 0 {
        return;
    }
    let inline = || {
        // SAFETY: the caller's contract, on one thread.
        unsafe { body(ctx, 0, n) }
    };
    if INSIDE.with(|c| c.get()) {
        return inline();
    }
    let pool = pool();
    let threads = pool.threads as i64;
    let grain = if grain >= 1 { grain } else { (n / (threads * 4)).max(1) };
    if threads == 1 || n <= grain || pool.busy.swap(true, SeqCst) {
        return inline();
    }
    let job = Job { body, ctx, n, grain, next: AtomicI64::new(0), done: AtomicI64::new(0) };
    pool.job.store(&job as *const Job as *mut Job, SeqCst);
    pool.epoch.fetch_add(1, SeqCst);
    if pool.sleepers.load(SeqCst) > 0 {
        let _guard = pool.lock.lock().unwrap_or_else(|e| e.into_inner());
        pool.wake.notify_all();
    }
    INSIDE.with(|c| c.set(true));
    run_chunks(&job);
    INSIDE.with(|c| c.set(false));
    while job.done.load(SeqCst) < n {
        std::hint::spin_loop();
    }
    // No worker may touch `job` once we return: clear it, then wait for
    // those that read it before the clear.
    pool.job.store(std::ptr::null_mut(), SeqCst);
    while pool.active.load(SeqCst) > 0 {
        std::hint::spin_loop();
    }
    pool.busy.store(false, SeqCst);
}

/// The C entry point that generated code calls for a parallel loop.
///
/// # Safety
/// As [`dispatch`].
#[no_mangle]
pub unsafe extern "C" fn strata_parallel_for(body: Body, ctx: *mut c_void, n: i64, grain: i64) {
    // SAFETY: forwarded contract.
    unsafe { dispatch(body, ctx, n, grain) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    unsafe extern "C" fn mark(ctx: *mut c_void, begin: i64, end: i64) {
        let hits = unsafe { &*(ctx as *const Vec<AtomicU32>) };
        for i in begin..end {
            hits[i as usize].fetch_add(1, SeqCst);
        }
    }

    unsafe extern "C" fn nested(ctx: *mut c_void, begin: i64, end: i64) {
        for _ in begin..end {
            unsafe { dispatch(mark, ctx, 64, 1) };
        }
    }

    #[test]
    fn every_iteration_once_for_any_grain_and_size() {
        set_threads(2);
        for n in [0i64, 1, 2, 7, 1000, 4097] {
            for grain in [0i64, 1, 3, 64, 100_000] {
                let hits: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
                unsafe { dispatch(mark, &hits as *const _ as *mut c_void, n, grain) };
                assert!(hits.iter().all(|h| h.load(SeqCst) == 1), "n={n} grain={grain}");
            }
        }
    }

    #[test]
    fn nested_dispatch_runs_inline_and_completes() {
        set_threads(2);
        let hits: Vec<AtomicU32> = (0..64).map(|_| AtomicU32::new(0)).collect();
        unsafe { dispatch(nested, &hits as *const _ as *mut c_void, 10, 1) };
        assert!(hits.iter().all(|h| h.load(SeqCst) == 10));
    }

    #[test]
    fn many_tiny_dispatches() {
        set_threads(2);
        let hits: Vec<AtomicU32> = (0..2).map(|_| AtomicU32::new(0)).collect();
        for _ in 0..100_000 {
            unsafe { dispatch(mark, &hits as *const _ as *mut c_void, 2, 1) };
        }
        assert!(hits.iter().all(|h| h.load(SeqCst) == 100_000));
    }
}
