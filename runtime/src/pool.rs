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
//!
//! The protocol between a dispatcher and the workers (the `epoch` that
//! announces a job, `active` that counts workers who may hold a pointer
//! to it, `busy` that admits one dispatcher, `sleepers` and the condition
//! variable for workers that stopped spinning) lives in [`Pool`]'s methods,
//! written against the `sync` shim below. Built with `--cfg loom`
//! (`RUSTFLAGS="--cfg loom" cargo test -p strata-runtime --release --lib loom`)
//! those are loom's types, and the `loom_*` tests explore every
//! interleaving of a dispatcher and its workers: each iteration runs once,
//! its writes are visible when the dispatch returns, and no worker touches
//! a job after its dispatcher has returned (the job lives on the
//! dispatcher's stack).

use std::{cell::Cell, ffi::c_void};

use sync::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Condvar, Mutex, SeqCst};

/// std's primitives, or loom's for the model-checking build.
mod sync {
    #[cfg(loom)]
    pub use loom::sync::{
        atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize},
        Condvar, Mutex,
    };
    #[cfg(not(loom))]
    pub use std::sync::{
        atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize},
        Condvar, Mutex,
    };
    pub use std::sync::atomic::Ordering::SeqCst;

    /// One step of a busy wait. Under loom, a yield, so that the model
    /// checker runs the thread being waited for.
    #[inline]
    pub fn relax() {
        #[cfg(loom)]
        loom::thread::yield_now();
        #[cfg(not(loom))]
        std::hint::spin_loop();
    }
}

/// An outlined loop body: runs iterations `[begin, end)`.
pub type Body = unsafe extern "C" fn(ctx: *mut c_void, begin: i64, end: i64);

struct Job {
    body: Body,
    ctx: *mut c_void,
    n: i64,
    grain: i64,
    next: AtomicI64,
    done: AtomicI64,
    /// Stands for the job's memory in the loom model: every worker access
    /// reads it, the dispatcher "frees" it (writes) before returning, so a
    /// late access is a data race loom reports.
    #[cfg(loom)]
    memory: loom::cell::UnsafeCell<()>,
}

impl Job {
    fn new(body: Body, ctx: *mut c_void, n: i64, grain: i64) -> Job {
        Job {
            body,
            ctx,
            n,
            grain,
            next: AtomicI64::new(0),
            done: AtomicI64::new(0),
            #[cfg(loom)]
            memory: loom::cell::UnsafeCell::new(()),
        }
    }

    #[inline]
    fn touch(&self) {
        #[cfg(loom)]
        self.memory.with(|_| ());
    }
}

struct Pool {
    #[cfg_attr(loom, allow(dead_code))]
    threads: usize,
    /// Bumped once per job (and by `stop`): workers wait for it to change.
    epoch: AtomicU64,
    job: AtomicPtr<Job>,
    /// Workers between reading `job` and leaving it.
    active: AtomicUsize,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    /// One dispatch at a time; others run inline.
    busy: AtomicBool,
    /// Set by `stop` (tests only: the process-wide pool never stops).
    stopping: AtomicBool,
}

#[cfg(not(loom))]
static POOL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
#[cfg(not(loom))]
static REQUESTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
    /// [`set_thread_limit`]'s cap for this thread's dispatches (0: none).
    static LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// Caps the threads that this thread's dispatches use at `n` (0: no cap,
/// the whole pool) and returns the previous cap, for a per-call thread
/// count (the Python binding's `threads=`). The pool cannot grow past its
/// size; a cap of 1 runs loops inline, a cap of `k` cuts each loop into at
/// most `k` chunks, so at most `k` threads work on it.
pub fn set_thread_limit(n: usize) -> usize {
    LIMIT.with(|c| c.replace(n))
}

/// How long an idle worker spins before it sleeps: long enough to catch
/// back-to-back dispatches, short enough not to burn a core for nothing.
#[cfg(not(loom))]
const SPIN: std::time::Duration = std::time::Duration::from_micros(200);

/// Asks for `n` threads (the caller included). Takes effect if the pool
/// has not started yet; returns the count the pool has or will have.
#[cfg(not(loom))]
pub fn set_threads(n: usize) -> usize {
    REQUESTED.store(n.max(1), SeqCst);
    threads()
}

/// The pool's thread count (the caller included).
#[cfg(not(loom))]
pub fn threads() -> usize {
    match POOL.get() {
        Some(p) => p.threads,
        None => default_threads(),
    }
}

#[cfg(not(loom))]
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

#[cfg(not(loom))]
fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let threads = default_threads();
        let pool = Pool::new(threads);
        for i in 1..threads {
            let spawned = std::thread::Builder::new().name(format!("strata-worker-{i}")).spawn(worker);
            // Without the thread the pool still works: the caller runs the
            // chunks a missing worker would have claimed.
            drop(spawned);
        }
        pool
    })
}

#[cfg(not(loom))]
fn worker() {
    let pool = loop {
        if let Some(p) = POOL.get() {
            break p;
        }
        std::thread::yield_now();
    };
    INSIDE.with(|c| c.set(true));
    pool.work();
}

impl Pool {
    fn new(threads: usize) -> Pool {
        Pool {
            threads,
            epoch: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            active: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            busy: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }

    /// Spins a while for `epoch` to move past `seen`; whether it did.
    #[cfg(not(loom))]
    fn spin_for_epoch(&self, seen: u64) -> bool {
        let start = std::time::Instant::now();
        while self.epoch.load(SeqCst) == seen && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        self.epoch.load(SeqCst) != seen
    }

    /// Under loom, no spinning: every wait takes the sleeping path, the one
    /// with a lost-wakeup hazard to check.
    #[cfg(loom)]
    fn spin_for_epoch(&self, seen: u64) -> bool {
        self.epoch.load(SeqCst) != seen
    }

    /// A worker's loop: wait for a new epoch, run the job it announced (if
    /// still there), repeat; returns once `stop` was called.
    fn work(&self) {
        let mut seen = self.epoch.load(SeqCst);
        loop {
            // Before waiting: `stop` may have bumped the epoch before we
            // first read it (a worker that starts late), and `stopping` is
            // set before that bump.
            if self.stopping.load(SeqCst) {
                return;
            }
            if !self.spin_for_epoch(seen) {
                let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
                // `sleepers` goes up before `epoch` is read again, and the
                // dispatcher bumps `epoch` before reading `sleepers` (by a
                // read-modify-write, see `wait_for_zero`): either we see the
                // new epoch here, or it sees us and notifies, under the lock
                // we hold until `wait`.
                self.sleepers.fetch_add(1, SeqCst);
                while self.epoch.load(SeqCst) == seen {
                    guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                self.sleepers.fetch_sub(1, SeqCst);
            }
            // Read the epoch before anything it announces: `job` (stored
            // before the bump) and `stopping` (set before its bump, checked
            // at the top). Reading it later could take in an epoch whose
            // announcement we missed, and then wait for the next one forever.
            seen = self.epoch.load(SeqCst);
            // `active` goes up before `job` is read, and the dispatcher
            // clears `job` before reading `active` (by a read-modify-write):
            // either we read null, or the dispatcher waits for us to leave.
            self.active.fetch_add(1, SeqCst);
            let job = self.job.load(SeqCst);
            if !job.is_null() {
                // SAFETY: the dispatcher keeps the job alive until `active`
                // drops to zero after it cleared `job` (see `run`).
                run_chunks(unsafe { &*job });
            }
            self.active.fetch_sub(1, SeqCst);
        }
    }

    /// Claims the pool for one dispatch; false if another holds it.
    fn claim(&self) -> bool {
        !self.busy.swap(true, SeqCst)
    }

    /// Runs `job` on this thread and the workers, returns when every
    /// iteration has finished and no worker can touch `job` any more, and
    /// releases the pool. The caller holds the pool (`claim`).
    fn run(&self, job: &Job) {
        self.job.store(job as *const Job as *mut Job, SeqCst);
        self.epoch.fetch_add(1, SeqCst);
        // A read-modify-write, not a load: see `wait_for_zero`.
        if self.sleepers.fetch_add(0, SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.notify_all();
        }
        INSIDE.with(|c| c.set(true));
        run_chunks(job);
        INSIDE.with(|c| c.set(false));
        while job.done.load(SeqCst) < job.n {
            sync::relax();
        }
        // No worker may touch `job` once we return: clear it, then wait for
        // those that read it before the clear.
        self.job.store(std::ptr::null_mut(), SeqCst);
        Self::wait_for_zero(&self.active);
        #[cfg(loom)]
        job.memory.with_mut(|_| ());
        self.busy.store(false, SeqCst);
    }

    /// Waits until `count` is zero, deciding by a read-modify-write.
    ///
    /// Two handshakes here are store-then-read on both sides (the
    /// dispatcher clears `job` then reads `active`, a worker bumps `active`
    /// then reads `job`; likewise `epoch` and `sleepers`). With plain loads
    /// on the dispatcher's side they are correct only through SeqCst's
    /// single total order. With a read-modify-write there (`fetch_add(0)`),
    /// they hold under acquire/release alone: if the dispatcher's RMW reads
    /// the count from before the worker's increment, the worker's RMW comes
    /// after it and synchronizes with it, so the worker's later read sees
    /// the dispatcher's store. Loom models acquire/release (it treats
    /// SeqCst as AcqRel), so this is the form it can check.
    fn wait_for_zero(count: &AtomicUsize) {
        while count.fetch_add(0, SeqCst) > 0 {
            // Spin on loads; the RMW above decides.
            while count.load(SeqCst) > 0 {
                sync::relax();
            }
        }
    }

    /// Ends every worker's `work` loop (at its next wake-up).
    #[cfg(any(test, loom))]
    fn stop(&self) {
        self.stopping.store(true, SeqCst);
        self.epoch.fetch_add(1, SeqCst);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }
}

fn run_chunks(job: &Job) {
    loop {
        job.touch();
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
#[cfg(not(loom))]
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
    let limit = LIMIT.with(|c| c.get());
    if limit == 1 {
        return inline();
    }
    let pool = pool();
    let threads = pool.threads as i64;
    let mut grain = if grain >= 1 { grain } else { (n / (threads * 4)).max(1) };
    if limit > 1 && (limit as i64) < threads {
        grain = grain.max((n + limit as i64 - 1) / limit as i64);
    }
    if threads == 1 || n <= grain || !pool.claim() {
        return inline();
    }
    pool.run(&Job::new(body, ctx, n, grain));
}

/// The C entry point that generated code calls for a parallel loop.
///
/// # Safety
/// As [`dispatch`].
#[cfg(not(loom))]
#[no_mangle]
pub unsafe extern "C" fn strata_parallel_for(body: Body, ctx: *mut c_void, n: i64, grain: i64) {
    // SAFETY: forwarded contract.
    unsafe { dispatch(body, ctx, n, grain) }
}

#[cfg(all(test, not(loom)))]
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

    unsafe extern "C" fn record_thread(ctx: *mut c_void, begin: i64, end: i64) {
        let seen = unsafe { &*(ctx as *const std::sync::Mutex<Vec<(i64, std::thread::ThreadId)>>) };
        for i in begin..end {
            seen.lock().unwrap().push((i, std::thread::current().id()));
        }
    }

    #[test]
    fn a_thread_limit_of_one_runs_on_the_caller_and_is_per_thread() {
        set_threads(2);
        let seen = std::sync::Mutex::new(Vec::<(i64, std::thread::ThreadId)>::new());
        let ctx = &seen as *const _ as *mut c_void;
        assert_eq!(set_thread_limit(1), 0);
        unsafe { dispatch(record_thread, ctx, 1000, 1) };
        let me = std::thread::current().id();
        let mut got = std::mem::take(&mut *seen.lock().unwrap());
        assert!(got.iter().all(|(_, t)| *t == me));
        got.sort_by_key(|(i, _)| *i);
        assert!(got.iter().map(|(i, _)| *i).eq(0..1000));
        // Another thread's dispatches are not capped by this one's limit.
        std::thread::spawn(|| assert_eq!(set_thread_limit(0), 0)).join().unwrap();
        assert_eq!(set_thread_limit(2), 1);
        unsafe { dispatch(record_thread, ctx, 1000, 1) };
        assert_eq!(seen.lock().unwrap().len(), 1000);
        assert_eq!(set_thread_limit(0), 2);
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

    unsafe extern "C" fn write_index(ctx: *mut c_void, begin: i64, end: i64) {
        for i in begin..end {
            // SAFETY: `ctx` is a live `[u64]` of at least `end` elements;
            // each index is written by one chunk only.
            unsafe { *(ctx as *mut u64).add(i as usize) = i as u64 * 3 };
        }
    }

    /// Plain (not atomic) writes by the workers are visible to the
    /// dispatcher once `dispatch` returns: what generated code relies on.
    /// ThreadSanitizer checks the ordering (see the loom module's notes).
    #[test]
    fn plain_writes_are_visible_after_dispatch() {
        set_threads(2);
        for round in 0..200u64 {
            let n = 64 + round as usize;
            let mut out = vec![u64::MAX; n];
            unsafe { dispatch(write_index, out.as_mut_ptr() as *mut c_void, n as i64, 1) };
            assert!(out.iter().enumerate().all(|(i, v)| *v == i as u64 * 3), "round {round}");
        }
    }

    /// The protocol without the process-wide pool: a private pool's
    /// workers run a job, then `stop` ends them (what the loom model does,
    /// on real threads).
    #[test]
    fn private_pool_runs_jobs_and_stops() {
        let pool = std::sync::Arc::new(Pool::new(3));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let p = pool.clone();
                std::thread::spawn(move || p.work())
            })
            .collect();
        let hits: Vec<AtomicU32> = (0..1000).map(|_| AtomicU32::new(0)).collect();
        for _ in 0..50 {
            assert!(pool.claim());
            pool.run(&Job::new(mark, &hits as *const _ as *mut c_void, 1000, 7));
        }
        assert!(hits.iter().all(|h| h.load(SeqCst) == 50));
        pool.stop();
        for w in workers {
            w.join().unwrap();
        }
    }
}

/// Model checks of the dispatch protocol: `RUSTFLAGS="--cfg loom"
/// LOOM_MAX_PREEMPTIONS=3 cargo test -p strata-runtime --release --lib
/// --target-dir target/loom loom` (the bound keeps it to minutes; plain
/// `cargo test` does not build these). The std tests above also run under
/// ThreadSanitizer: `RUSTFLAGS=-Zsanitizer=thread cargo +nightly test
/// -Zbuild-std --target x86_64-unknown-linux-gnu -p strata-runtime --lib
/// --target-dir target/tsan` (needs the nightly `rust-src` component).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::{cell::UnsafeCell, sync::Arc, thread};

    /// One cell per iteration, written (not atomically) by the body: loom
    /// reports two unordered writes of one cell, and a read after the
    /// dispatch that does not see every write.
    struct Hits(Vec<UnsafeCell<u32>>);
    // SAFETY: the cells are loom's; loom checks every access to them.
    unsafe impl Sync for Hits {}
    unsafe impl Send for Hits {}

    impl Hits {
        fn new(n: usize) -> Hits {
            Hits((0..n).map(|_| UnsafeCell::new(0)).collect())
        }

        fn ctx(&self) -> *mut c_void {
            self as *const Hits as *mut c_void
        }

        fn assert_each(&self, times: u32) {
            for (i, h) in self.0.iter().enumerate() {
                // SAFETY: read through loom, which checks it is ordered after the writes.
                assert_eq!(h.with(|p| unsafe { *p }), times, "iteration {i}");
            }
        }
    }

    unsafe extern "C" fn mark(ctx: *mut c_void, begin: i64, end: i64) {
        // SAFETY: `ctx` is a live `Hits` (see `Hits::ctx`).
        let hits = unsafe { &*(ctx as *const Hits) };
        for i in begin..end {
            // SAFETY: loom checks this write is exclusive.
            hits.0[i as usize].with_mut(|p| unsafe { *p += 1 });
        }
    }

    /// What `dispatch` does on the process-wide pool.
    fn dispatch_on(pool: &Pool, hits: &Hits, n: i64, grain: i64) {
        if pool.claim() {
            pool.run(&Job::new(mark, hits.ctx(), n, grain));
        } else {
            // SAFETY: a live `Hits` of at least `n` cells, on one thread.
            unsafe { mark(hits.ctx(), 0, n) }
        }
    }

    /// `workers` worker threads on a fresh pool around `f`, stopped and
    /// joined at the end.
    fn model(workers: usize, f: impl Fn(&Arc<Pool>) + Send + Sync + 'static) {
        loom::model(move || {
            let pool = Arc::new(Pool::new(workers + 1));
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let p = pool.clone();
                    thread::spawn(move || p.work())
                })
                .collect();
            f(&pool);
            pool.stop();
            for h in handles {
                h.join().unwrap();
            }
        });
    }

    /// The second job reuses `job` and `epoch` while the worker may still
    /// be leaving the first, or asleep, or not yet awake for it.
    #[test]
    fn loom_two_jobs_in_a_row() {
        model(1, |pool| {
            let hits = Hits::new(2);
            dispatch_on(pool, &hits, 2, 1);
            dispatch_on(pool, &hits, 2, 1);
            hits.assert_each(2);
        });
    }

    #[test]
    fn loom_two_workers_share_a_job() {
        model(2, |pool| {
            let hits = Hits::new(3);
            dispatch_on(pool, &hits, 3, 1);
            hits.assert_each(1);
        });
    }

    /// Two dispatchers at once: one holds the pool, the other runs inline.
    #[test]
    fn loom_two_dispatchers() {
        model(1, |pool| {
            let other = {
                let pool = pool.clone();
                thread::spawn(move || {
                    let hits = Hits::new(2);
                    dispatch_on(&pool, &hits, 2, 1);
                    hits.assert_each(1);
                })
            };
            let hits = Hits::new(2);
            dispatch_on(pool, &hits, 2, 1);
            hits.assert_each(1);
            other.join().unwrap();
        });
    }
}
