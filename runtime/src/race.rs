//! The run-time race checker behind `--strata-races=runtime`: shadow
//! tables of the first writer and a reader of each element touched inside
//! a checked parallel loop.
//!
//! `strata-instrument-races` calls [`strata_race_begin`] before each
//! outermost `strata.parallel_for` and [`strata_race_end`] after it; before
//! each load, store and atomic update in its body that `strata-check-races`
//! could not prove independent, the kernel appends an [`Access`] (the
//! buffer's address, the element's linear index, the iteration, read,
//! write or update) to the thread's [`Log`] itself, calling
//! [`strata_race_flush`] when it is full. Two accesses to one element from
//! different iterations, at least one a write, are a race whatever order
//! the workers ran them in, since every access of the loop is recorded
//! until its end; an atomic update races with a plain load or store, not
//! with another update (it takes the writer's place in an entry, flagged).
//! The first race is printed
//! at `strata_race_end`, and [`races_found`] counts the loops that raced.
//!
//! Each thread records into a table of its own, with plain loads and
//! stores: an atomic read-modify-write per access (a lock) is a full
//! fence on x86, which kept the kernel's own memory accesses from
//! overlapping and cost 50-90 ns per access on a random scatter.
//!
//! An access is not looked up when it happens: it goes to the thread's
//! log, and a full log (or the loop's end) is checked against the
//! table in one go, prefetching the entries a few accesses ahead. Looked
//! up one at a time, each access of a random scatter waited for its own
//! cache miss into the table, one after the other (65 ns each, 22x the
//! kernel); a batch keeps many misses in flight. Races between iterations
//! that ran on one thread are found when its log is checked; at
//! `strata_race_end` (after the loop, whose end orders every worker's
//! writes before it) every thread's log is checked and the entries each
//! thread touched are merged, both on the pool, which finds the races
//! between threads.
//!
//! Nested `parallel_for`s: an access inside one also names its *strand*,
//! the inner loop's instance and iteration (0 outside every inner loop),
//! and the inner loop's number (for the report). Two accesses of one outer
//! iteration race when both are in one instance of an inner loop, in
//! different iterations of it; an access before or after the inner loop,
//! or in another instance of it, is ordered with them. An entry keeps the
//! first writer and a reader, except that an access outside inner loops
//! gives way to a later one of the same outer iteration (anything that
//! races with it races with the later one too), so inner iterations after
//! such an access are still compared with each other.
//! [`strata_race_inner`] numbers the instances per thread and loop (an
//! outer iteration runs on one thread) in 31 bits; past 2^31 - 1 it
//! returns 0, whose strands race with nothing, so a loop that runs more
//! instances than that can miss races between inner iterations but never
//! reports a false one. In a nest of three or more, the kernel logs an
//! access once per level of the nest, each with that level's strand, under
//! a key tagged with the level (see `strata-instrument-races`).
//!
//! A table is direct-mapped (`2^17` entries per thread, 8 MiB, allocated
//! on the thread's first checked access): an element whose entry another
//! element took is forgotten, so a race can be missed on very large loops,
//! but never reported falsely (each entry keeps its full key). Why our
//! own: each access must cost a few nanoseconds with no allocation; a
//! concurrent map crate allocates per entry and locks.

use std::{
    cell::UnsafeCell,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};

const ENTRIES: usize = 1 << 17;
/// An absent writer or reader.
const NONE: i64 = i64::MIN;

/// Who accessed an element: the outer loop's iteration and the strand
/// (see the module's doc; 0 outside every inner loop).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C)]
struct Who {
    iteration: i64,
    strand: i64,
}

const NOBODY: Who = Who { iteration: NONE, strand: 0 };

impl Who {
    fn is_some(self) -> bool {
        self.iteration != NONE
    }

    /// Whether `self` and `other` may run at the same time.
    fn concurrent(self, other: Who) -> bool {
        self.iteration != other.iteration
            || (self.instance() != 0 && self.strand != other.strand && self.instance() == other.instance())
    }

    /// The inner loop's instance (0: outside inner loops, or not told
    /// apart).
    fn instance(self) -> i64 {
        self.strand >> 32
    }

    /// Whether a later access `other` may stand for `self` in an entry:
    /// `self` is outside inner loops, in the same outer iteration.
    fn gives_way_to(self, other: Who) -> bool {
        self.strand == 0 && self.iteration == other.iteration && self != other
    }

    /// The inner loop's iteration (its low 32 bits).
    fn inner_iteration(self) -> i64 {
        self.strand & 0xFFFF_FFFF
    }
}

/// One cache line each, so that a lookup is one miss, prefetched once.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Entry {
    buffer: u64,
    element: i64,
    /// The loop the entry belongs to; older entries are stale.
    epoch: u64,
    writer: Who,
    reader: Who,
    /// The inner loops the writer and reader ran in (0: none).
    writer_loop: u8,
    reader_loop: u8,
    /// Whether `writer` is an atomic update, not a plain store: a write
    /// that races with plain loads and stores of other iterations, not
    /// with their atomic updates. In the writer's place, an update and a
    /// plain load of one iteration are both kept (in the reader's place,
    /// one would push the other out, and a load of another iteration would
    /// miss the race with the update).
    writer_atomic: bool,
}

const EMPTY: Entry =
    Entry { buffer: 0, element: 0, epoch: 0, writer: NOBODY, reader: NOBODY, writer_loop: 0, reader_loop: 0, writer_atomic: false };

/// What an access does to its element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Read,
    Write,
    /// A `memref.atomic_rmw` or `memref.generic_atomic_rmw`.
    Atomic,
}

/// One access waiting in a thread's log: 32 bytes, which the kernel
/// writes with one vector store (see [`Log`]).
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub struct Access {
    buffer: u64,
    /// The element's linear index << 16 | the flags (bit 0: a store; bit
    /// 1: an atomic update; bits 8-15: the inner loop's number; no buffer
    /// has 2^47 elements).
    element_flags: i64,
    who: Who,
}

impl Access {
    fn element(&self) -> i64 {
        self.element_flags >> 16
    }

    fn op(&self) -> Op {
        match self.element_flags & 3 {
            0 => Op::Read,
            1 => Op::Write,
            _ => Op::Atomic,
        }
    }

    fn inner_loop(&self) -> u8 {
        (self.element_flags >> 8) as u8
    }
}

/// Accesses a log holds before it is checked: enough to keep the table's
/// misses overlapping, few enough to stay in the L2 cache (128 KiB).
const LOG: usize = 4096;
/// How many accesses ahead of the one it checks a batch prefetches.
const AHEAD: usize = 64;

/// One thread's table.
struct Local {
    /// A fixed-size array, so that a slot (taken modulo `ENTRIES`) indexes
    /// it without a bounds check.
    entries: Box<[Entry; ENTRIES]>,
    touched: Touched,
    epoch: u64,
    /// Accesses not yet checked against `entries`: `log[..]` up to
    /// `cursor.next`. All are of the running loop: every log is checked
    /// at a loop's end and emptied at the next one's begin.
    log: Box<[Access]>,
    cursor: Log,
}

/// Where a thread's next access goes: what [`strata_race_log`] hands the
/// kernel, which appends `Access`es inline (one 32-byte store, one store
/// of `next`) and calls [`strata_race_flush`] when `next == end`.
#[repr(C)]
pub struct Log {
    next: *mut Access,
    end: *mut Access,
}

impl Local {
    fn new() -> Box<Local> {
        let log = vec![Access { buffer: 0, element_flags: 0, who: NOBODY }; LOG].into_boxed_slice();
        let mut local = Box::new(Local {
            entries: vec![EMPTY; ENTRIES].into_boxed_slice().try_into().unwrap_or_else(|_| unreachable!()),
            touched: Touched::new(),
            epoch: 0,
            log,
            cursor: Log { next: std::ptr::null_mut(), end: std::ptr::null_mut() },
        });
        local.rewind();
        local
    }

    /// Empties the log.
    fn rewind(&mut self) {
        let range = self.log.as_mut_ptr_range();
        self.cursor = Log { next: range.start, end: range.end };
    }

    /// The accesses logged since the last [`Local::rewind`].
    fn logged(&self) -> usize {
        // SAFETY: `next` points into `log` (only `rewind` and the appends,
        // which stop at `end`, move it).
        unsafe { self.cursor.next.offset_from(self.log.as_ptr()) as usize }
    }

    /// Makes the table the running loop's (`epoch`): entries of earlier
    /// loops are stale without being cleared.
    fn enter(&mut self, epoch: u64) {
        if self.epoch != epoch {
            self.epoch = epoch;
            self.touched.clear();
        }
    }
}

/// The slots a table first took in its loop (each once, so at most
/// `ENTRIES`, and the array has room for all from the start): a push is a
/// store. For the merge, [`Touched::sort`] orders them by the range of
/// slots ([`MERGE_PARTS`]) each falls in, so that a merge task reads only
/// its own (each task filtering the whole list was half of a 2-thread
/// merge). Pushing them in that order from the start put an index and a
/// counter per part on every access of a single thread's check too.
struct Touched {
    slots: Box<[u32]>,
    len: usize,
    /// After `sort`: the slots of range `p` are `sorted[start[p]..start[p + 1]]`.
    sorted: Box<[u32]>,
    start: [usize; MERGE_PARTS + 1],
}

impl Touched {
    fn new() -> Touched {
        Touched {
            slots: vec![0; ENTRIES].into_boxed_slice(),
            len: 0,
            sorted: vec![0; ENTRIES].into_boxed_slice(),
            start: [0; MERGE_PARTS + 1],
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.start = [0; MERGE_PARTS + 1];
    }

    /// Orders the slots by range (a counting sort: two passes).
    fn sort(&mut self) {
        let slots = &self.slots[..self.len];
        let mut at = [0usize; MERGE_PARTS + 1];
        for &i in slots {
            at[i as usize / PART_SLOTS + 1] += 1;
        }
        for p in 0..MERGE_PARTS {
            at[p + 1] += at[p];
        }
        self.start = at;
        for &i in slots {
            let p = i as usize / PART_SLOTS;
            self.sorted[at[p]] = i;
            at[p] += 1;
        }
    }

    /// The slots in range `part`, after [`Touched::sort`].
    fn part(&self, part: usize) -> &[u32] {
        &self.sorted[self.start[part]..self.start[part + 1]]
    }
}

/// A thread's table, shared with the merge in [`strata_race_end`].
struct Shared(UnsafeCell<Box<Local>>);

// SAFETY: a table is written only by its thread, while a checked loop
// runs, and read only by `strata_race_end`, after the loop: the loop's end
// (the pool's join) orders the thread's writes before that read, and no
// thread accesses between a loop's end and the next loop's begin.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// Every thread's table, for the merge.
static TABLES: Mutex<Vec<Arc<Shared>>> = Mutex::new(Vec::new());

thread_local! {
    static TABLE: Arc<Shared> = {
        let t = Arc::new(Shared(UnsafeCell::new(Local::new())));
        if let Ok(mut all) = TABLES.lock() {
            all.push(t.clone());
        }
        t
    };
}

/// Incremented by each `strata_race_begin`: entries of earlier loops are
/// stale without being cleared.
static EPOCH: AtomicU64 = AtomicU64::new(1);
static FOUND: AtomicU64 = AtomicU64::new(0);
static LOOP: Mutex<(i64, i64)> = Mutex::new((0, 0));
static FIRST: Mutex<Option<Race>> = Mutex::new(None);

/// The first race seen in the current loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Race {
    /// The outer loop's iterations (equal for a race inside an inner loop).
    pub first: i64,
    pub second: i64,
    pub element: i64,
    pub both_write: bool,
    /// A race between iterations of an inner loop: its number and the two
    /// iterations.
    pub inner: Option<(usize, i64, i64)>,
}

/// The entry of an element. Neighbouring elements of one buffer get
/// neighbouring entries, so a loop that walks a buffer walks the table in
/// order too (a hash of the element made every access a cache miss: 140
/// ns). The buffer's start comes from the product's top bits, which every
/// bit of the key moves (the level tag in its top byte included: with bits
/// 32-48 a tag moved only bits above the table's, and the levels of one
/// element took one slot, evicting each other).
fn slot(buffer: u64, element: i64) -> usize {
    let base = (buffer.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> (64 - ENTRIES.trailing_zeros())) as usize;
    base.wrapping_add(element as usize) % ENTRIES
}

/// Whether the current loop has its first race already: a racing loop
/// races on most accesses, which then skip the lock.
static HAVE_FIRST: AtomicBool = AtomicBool::new(false);

fn record(race: Race) {
    if HAVE_FIRST.load(Ordering::Relaxed) {
        return;
    }
    if let Ok(mut first) = FIRST.lock() {
        if first.is_none() {
            *first = Some(race);
            FOUND.fetch_add(1, Ordering::Relaxed);
        }
        HAVE_FIRST.store(true, Ordering::Relaxed);
    }
}

/// The race between what `e` recorded and one more access, `op` by `who`
/// in inner loop `inner_loop`, if any.
fn conflict(e: &Entry, who: Who, op: Op, inner_loop: u8) -> Option<Race> {
    let race = |first: Who, both_write: bool| Race {
        first: first.iteration,
        second: who.iteration,
        element: e.element,
        both_write,
        inner: (first.iteration == who.iteration).then(|| (inner_loop as usize, first.inner_iteration(), who.inner_iteration())),
    };
    let against = |other: Who| other.is_some() && other.concurrent(who);
    // Two atomic updates never race.
    if against(e.writer) && !(op == Op::Atomic && e.writer_atomic) {
        return Some(race(e.writer, op != Op::Read));
    }
    if op != Op::Read && against(e.reader) {
        return Some(race(e.reader, false));
    }
    None
}

/// Records one access in `e` (after [`conflict`]): the first writer (a
/// plain store, or an atomic update until a plain store of its iteration
/// stands for it: that races with all the update races with), and one
/// reader, other than the writer where there is one; an access outside
/// inner loops gives way to a later one of its iteration, of its kind or a
/// plain store.
fn note(e: &mut Entry, who: Who, op: Op, inner_loop: u8) {
    match op {
        Op::Write => {
            if !e.writer.is_some() || e.writer.gives_way_to(who) || (e.writer_atomic && e.writer == who) {
                e.writer = who;
                e.writer_loop = inner_loop;
                e.writer_atomic = false;
            }
        }
        Op::Atomic => {
            if !e.writer.is_some() || (e.writer_atomic && e.writer.gives_way_to(who)) {
                e.writer = who;
                e.writer_loop = inner_loop;
                e.writer_atomic = true;
            }
        }
        Op::Read => {
            if !e.reader.is_some() || e.reader == e.writer || e.reader.gives_way_to(who) {
                e.reader = who;
                e.reader_loop = inner_loop;
            }
        }
    }
}

/// Called before a checked loop at `line:col` starts.
#[no_mangle]
pub extern "C" fn strata_race_begin(line: i64, col: i64) {
    EPOCH.fetch_add(1, Ordering::AcqRel);
    if let Ok(mut l) = LOOP.lock() {
        *l = (line, col);
    }
    if let Ok(mut inner) = INNER.lock() {
        inner.clear();
    }
    if let Ok(mut first) = FIRST.lock() {
        *first = None;
        HAVE_FIRST.store(false, Ordering::Relaxed);
    }
    // Accesses of a loop whose end was never reached are not this loop's.
    // SAFETY: no checked loop runs between loops, so no thread appends.
    if let Ok(tables) = TABLES.lock() {
        for t in tables.iter() {
            unsafe { &mut *t.0.get() }.rewind();
        }
    }
}

/// The locations of the checked loop's inner `parallel_for`s, by number.
static INNER: Mutex<Vec<(i64, i64)>> = Mutex::new(Vec::new());

/// Called after [`strata_race_begin`] once per inner `parallel_for` of the
/// checked loop: its number (1 to 255) and location.
#[no_mangle]
pub extern "C" fn strata_race_inner_loop(number: i64, line: i64, col: i64) {
    if let Ok(mut inner) = INNER.lock() {
        let k = number.clamp(0, 255) as usize;
        if inner.len() <= k {
            inner.resize(k + 1, (0, 0));
        }
        inner[k] = (line, col);
    }
}

thread_local! {
    /// The loop (epoch) this thread numbers inner-loop instances in, and
    /// the last number.
    static INSTANCES: std::cell::Cell<(u64, i64)> = const { std::cell::Cell::new((0, 0)) };
}

/// The last instance number [`strata_race_inner`] hands out: past it, 0.
const LAST_INSTANCE: i64 = 0x7FFF_FFFF;

/// Called before each run of an inner loop: the strand of its iteration
/// `j` is the result with `j`'s low 32 bits or'ed in.
#[no_mangle]
pub extern "C" fn strata_race_inner() -> i64 {
    let epoch = EPOCH.load(Ordering::Relaxed);
    let n = INSTANCES.with(|c| {
        let (at, last) = c.get();
        let last = if at == epoch { last } else { 0 };
        let n = if !(0..LAST_INSTANCE).contains(&last) { -1 } else { last + 1 };
        c.set((epoch, n));
        n
    });
    if n < 0 {
        0
    } else {
        n << 32
    }
}

thread_local! {
    /// This thread's table, once [`TABLE`] made it: [`strata_race_log`]
    /// reads it without `TABLE`'s lazy initialization check.
    static MINE: std::cell::Cell<*mut Local> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// This thread's log, for the kernel's inline appends (see [`Log`]). The
/// same pointer on every call of a thread, whatever loop runs, which is
/// what lets the compiler declare it `memory(none)` and hoist it out of a
/// chunk's iterations.
///
/// Why inline appends and not a call per access: a random scatter's
/// stores wait in the store queue for their cache lines, and every store
/// the checker adds takes a slot ahead of the kernel's next one. A call
/// took 13 (the return address, six saved registers, the entry's four
/// words, the length): 15x the kernel. Inline, an access costs two.
#[no_mangle]
pub extern "C" fn strata_race_log() -> *mut Log {
    let mut local = MINE.with(|m| m.get());
    if local.is_null() {
        local = TABLE.with(|t| {
            // SAFETY: this thread's own table (see `Shared`).
            let p: *mut Local = unsafe { &mut **t.0.get() };
            MINE.with(|m| m.set(p));
            p
        });
    }
    // SAFETY: this thread's table, live as long as `TABLES` holds it (the
    // whole process).
    unsafe { &mut (*local).cursor }
}

/// Called by the kernel when this thread's log is full (`next == end`):
/// checks it against the table and returns the emptied log's `next`.
#[no_mangle]
pub extern "C" fn strata_race_flush(log: *mut Log) -> *mut Access {
    let local = MINE.with(|m| m.get());
    // SAFETY: the kernel passes the pointer `strata_race_log` gave this
    // thread, so `MINE` is set and is the table `log` is in.
    let Some(local) = (unsafe { local.as_mut() }) else { return std::ptr::null_mut() };
    debug_assert!(std::ptr::eq(log, &local.cursor));
    local.enter(EPOCH.load(Ordering::Relaxed));
    check_log(local);
    local.cursor.next
}

/// What the kernel's inline append does, for the tests: logs one access
/// (`flags` bit 0: a store; bit 1: an atomic update; bits 8-15: the inner
/// loop's number, 0 outside inner loops, where `strand` is 0 too).
#[cfg(test)]
fn strata_race_access(buffer: i64, element: i64, iteration: i64, strand: i64, flags: i32) {
    let log = strata_race_log();
    // SAFETY: this thread's log; `next` stays within it.
    unsafe {
        if (*log).next == (*log).end {
            strata_race_flush(log);
        }
        let element_flags = (element << 16) | i64::from(flags & 0xFFFF);
        (*log).next.write(Access { buffer: buffer as u64, element_flags, who: Who { iteration, strand } });
        (*log).next = (*log).next.add(1);
    }
}

/// Checks the accesses in `local`'s log against its table, in the order
/// they happened, and empties the log.
fn check_log(local: &mut Local) {
    let len = local.logged();
    // The fields apart, so that the loop keeps them in registers: through
    // `local` it reloaded them after every store. With the fixed-size
    // table (no bounds checks), the touched list's plain stores and the
    // first-access path below, a scatter's access went from 84 to 57
    // instructions (callgrind) and a 64K scatter's check from 0.41 to 0.34
    // ms on a Xeon (family 6 model 167).
    let Local { entries, touched, epoch, log, .. } = local;
    let (epoch, log) = (*epoch, &log[..len]);
    let (listed, mut n) = (&mut touched.slots, touched.len);
    for (k, a) in log.iter().enumerate() {
        if let Some(next) = log.get(k + AHEAD) {
            prefetch(&entries[slot(next.buffer, next.element())]);
        }
        let (element, inner_loop) = (a.element(), a.inner_loop());
        let i = slot(a.buffer, element);
        let e = &mut entries[i];
        if e.epoch != epoch || e.buffer != a.buffer || e.element != element {
            // A slot goes on the list once per loop, when first taken: a
            // slot another element takes over is listed already.
            if e.epoch != epoch {
                if let Some(at) = listed.get_mut(n) {
                    *at = i as u32;
                    n += 1;
                }
            }
            // The first access to an element in this loop cannot race:
            // it is recorded without the comparisons. It is stored through
            // a pointer the flag chooses: an `Entry` whose fields the flag
            // chose became 17 vector instructions of selects. The flag bits
            // are read as they are (bit 0 a store, bit 1 an update, both
            // in the writer's place): an `Op` here took 13 more
            // instructions an access (75, not 62).
            let write = a.element_flags & 3 != 0;
            *e = Entry { buffer: a.buffer, element, epoch, writer_atomic: a.element_flags & 2 != 0, ..EMPTY };
            *if write { &mut e.writer } else { &mut e.reader } = a.who;
            *if write { &mut e.writer_loop } else { &mut e.reader_loop } = inner_loop;
            continue;
        }
        let op = a.op();
        let race = conflict(e, a.who, op, inner_loop);
        note(e, a.who, op, inner_loop);
        if let Some(r) = race {
            record(r);
        }
    }
    touched.len = n;
    local.rewind();
}

/// Starts loading `e`'s cache line.
fn prefetch(e: &Entry) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: prefetching never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(e as *const Entry as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = e;
}

/// The races between threads: each thread's log checked, then the entries
/// each other thread touched in this loop merged into the first thread's
/// table by slot (it is not read again before the next loop restarts it).
///
/// Both steps run on the pool: done on the thread that ends the loop, they
/// were 40% of a checked 64K scatter at 2 threads, with the other worker
/// waiting. The logs are checked one table per task; the merge is cut into
/// ranges of slots, one task each, so that no two tasks write one entry.
fn merge(epoch: u64) {
    let Ok(tables) = TABLES.lock() else { return };
    // SAFETY (each dereference of a `Ptr` or `SharedEntries` below): the
    // loop is over, so no thread appends to or checks its own table until
    // the next loop begins, which waits for this function; each task takes
    // a table, or a range of slots, that no other task touches.
    // A thread that logged fewer accesses than fit in its log has not
    // entered the loop's epoch yet.
    let ran: Vec<Ptr> = tables
        .iter()
        .map(|t| Ptr(t.0.get()))
        .filter(|t| {
            let local = unsafe { &mut **t.0 };
            if local.logged() > 0 {
                local.enter(epoch);
            }
            local.epoch == epoch
        })
        .collect();
    on_pool(ran.len(), &|k| {
        let table = ran[k].0;
        let table = unsafe { &mut **table };
        check_log(table);
        // The first table is merged into, by slot; the others are read by
        // range.
        if k > 0 {
            table.touched.sort();
        }
    });
    let Some((first, others)) = ran.split_first() else { return };
    if others.is_empty() {
        return;
    }
    let into = SharedEntries(unsafe { (*first.0).entries.as_mut_ptr() });
    on_pool(MERGE_PARTS, &|part| {
        for other in others {
            let other = unsafe { &**other.0 };
            let mine = other.touched.part(part);
            // The slots are in random order for a scatter: each pair of
            // lookups is prefetched, as in `check_log`.
            for (k, &i) in mine.iter().enumerate() {
                if let Some(&next) = mine.get(k + AHEAD) {
                    prefetch(&other.entries[next as usize]);
                    prefetch(unsafe { &*into.at(next as usize) });
                }
                merge_entry(epoch, &other.entries[i as usize], unsafe { &mut *into.at(i as usize) });
            }
        }
    });
}

/// Ranges of slots the merge is cut into: a few per thread, so that an
/// uneven spread of touched slots still balances.
const MERGE_PARTS: usize = 16;
/// The slots in each range.
const PART_SLOTS: usize = ENTRIES / MERGE_PARTS;

/// Merges entry `e` of another thread's table into `m`, the first
/// thread's entry of the same slot.
fn merge_entry(epoch: u64, e: &Entry, m: &mut Entry) {
    if e.epoch != epoch {
        return;
    }
    if m.epoch != epoch {
        *m = *e;
        return;
    }
    // Another element in the same slot: one of them is forgotten, as in a
    // thread's own table.
    if m.buffer != e.buffer || m.element != e.element {
        return;
    }
    // The threads' iterations differ; each side's accesses against the
    // other's.
    let writer = if e.writer_atomic { Op::Atomic } else { Op::Write };
    let found = [(e.writer, writer, e.writer_loop), (e.reader, Op::Read, e.reader_loop)]
        .into_iter()
        .filter(|(who, _, _)| who.is_some())
        .find_map(|(who, op, inner)| conflict(m, who, op, inner));
    if let Some(r) = found {
        record(r);
    }
    if e.writer.is_some() {
        note(m, e.writer, writer, e.writer_loop);
    }
    if e.reader.is_some() {
        note(m, e.reader, Op::Read, e.reader_loop);
    }
}

/// A thread's table, handed to the merge's tasks.
struct Ptr(*mut Box<Local>);

// SAFETY: see `merge`: each task takes a table no other task touches.
unsafe impl Sync for Ptr {}

/// The first thread's entries, which the merge's tasks write in disjoint
/// ranges of slots.
struct SharedEntries(*mut Entry);

// SAFETY: see `merge`.
unsafe impl Sync for SharedEntries {}

impl SharedEntries {
    fn at(&self, slot: usize) -> *mut Entry {
        assert!(slot < ENTRIES);
        // SAFETY: `slot` is within the table of `ENTRIES` entries.
        unsafe { self.0.add(slot) }
    }
}

/// Runs `task(k)` for each `k` in `0..n`, once, on the pool's threads.
fn on_pool(n: usize, task: &(dyn Fn(usize) + Sync)) {
    #[cfg(not(loom))]
    {
        unsafe extern "C" fn body(ctx: *mut std::ffi::c_void, begin: i64, end: i64) {
            // SAFETY: `ctx` is the `&dyn Fn` below, live for the dispatch.
            let task = unsafe { &*(ctx as *const &(dyn Fn(usize) + Sync)) };
            for k in begin..end {
                task(k as usize);
            }
        }
        // SAFETY: `task` is `Sync`, so it may run on several threads, and
        // each index comes once.
        unsafe { crate::pool::dispatch(body, &task as *const _ as *mut std::ffi::c_void, n as i64, 1) };
    }
    #[cfg(loom)]
    (0..n).for_each(task);
}

/// The byte ranges `strata_race_range` was given for the next loop.
static RANGES: Mutex<Vec<(i64, i64)>> = Mutex::new(Vec::new());

/// Called before a loop over several buffers, once per buffer: the bytes
/// it spans (`bytes` <= 0: none).
#[no_mangle]
pub extern "C" fn strata_race_range(start: i64, bytes: i64) {
    if let Ok(mut r) = RANGES.lock() {
        r.push((start, bytes));
    }
}

/// Whether the ranges given since the last call are pairwise disjoint (and
/// forgets them). The loop's race-free proofs hold only then; otherwise
/// the copy that watches every access runs.
#[no_mangle]
pub extern "C" fn strata_race_disjoint() -> bool {
    let Ok(mut r) = RANGES.lock() else { return false };
    let mut ranges: Vec<(i64, i64)> = r.drain(..).filter(|(_, n)| *n > 0).collect();
    ranges.sort_unstable();
    ranges.windows(2).all(|w| w[0].0.saturating_add(w[0].1) <= w[1].0)
}

/// Called after a checked loop: prints its first race, if any, and returns
/// 1 if there was one.
#[no_mangle]
pub extern "C" fn strata_race_end() -> i32 {
    match finish() {
        Some(report) => {
            eprintln!("{report}");
            1
        }
        None => 0,
    }
}

/// Ends the checked loop: the report of its first race, if any.
fn finish() -> Option<String> {
    merge(EPOCH.load(Ordering::Acquire));
    let race = FIRST.lock().ok().and_then(|mut f| f.take())?;
    let outer = LOOP.lock().map(|l| *l).unwrap_or((0, 0));
    let inner = INNER.lock().map(|i| i.clone()).unwrap_or_default();
    let at = |k: usize| inner.get(k).copied().unwrap_or((0, 0));
    Some(describe(outer, &at, &race))
}

/// The report: `at(k)` is inner loop `k`'s location.
fn describe(outer: (i64, i64), at: &dyn Fn(usize) -> (i64, i64), race: &Race) -> String {
    let what = if race.both_write { "both write" } else { "write and read" };
    let whose = match race.inner {
        None => {
            let (a, b) = (race.first.min(race.second), race.first.max(race.second));
            format!("iterations {a} and {b} of the strata.parallel_for at line {}, column {}", outer.0, outer.1)
        }
        Some((k, x, y)) => {
            let (line, col) = at(k);
            format!(
                "iterations {} and {} of the strata.parallel_for at line {line}, column {col} (in iteration {} of the one at line {}, column {})",
                x.min(y),
                x.max(y),
                race.first,
                outer.0,
                outer.1
            )
        }
    };
    format!("error: data race at run time: {whose} {what} element {} (linear index) of one buffer", race.element)
}

/// How many checked loops have raced in this process (each counts once).
pub fn races_found() -> u64 {
    FOUND.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tables are process-wide: one test drives them, in order.
    #[test]
    fn races_are_found_in_any_order_on_any_thread_and_only_between_iterations() {
        let before = races_found();
        strata_race_begin(3, 5);
        // Each iteration its own element, read then written: no race.
        for it in 0..100 {
            strata_race_access(0x1000, it, it, 0, 0);
            strata_race_access(0x1000, it, it, 0, 1);
        }
        assert_eq!(strata_race_end(), 0);
        assert_eq!(races_found(), before);
        // The same element written by iterations 7 and 2 (in that order).
        strata_race_begin(3, 5);
        strata_race_access(0x2000, 4, 7, 0, 1);
        strata_race_access(0x2000, 4, 2, 0, 1);
        assert_eq!(strata_race_end(), 1);
        // A read of 9 by iteration 1, then iteration 2 writes it.
        strata_race_begin(1, 1);
        strata_race_access(0x2000, 9, 1, 0, 0);
        strata_race_access(0x2000, 9, 2, 0, 1);
        assert_eq!(strata_race_end(), 1);
        // A new loop forgets the last one's accesses.
        strata_race_begin(1, 1);
        strata_race_access(0x2000, 9, 5, 0, 1);
        assert_eq!(strata_race_end(), 0);
        assert_eq!(races_found(), before + 2);
        // Iterations on two threads: a write on one and a read of the same
        // element on the other is found at the loop's end; disjoint
        // elements on the two threads are not a race.
        for (other_element, races) in [(11, 1), (12, 0)] {
            strata_race_begin(2, 2);
            strata_race_access(0x3000, 11, 1, 0, 1);
            std::thread::spawn(move || strata_race_access(0x3000, other_element, 2, 0, 0)).join().unwrap();
            assert_eq!(strata_race_end(), races, "other thread reads element {other_element}");
        }
        assert_eq!(races_found(), before + 3);
        // More accesses than a log holds: the race between the first and
        // the last is found across the flushes in between, and a full log
        // left by a loop that never ended is not the next loop's.
        for racy in [true, false] {
            strata_race_begin(4, 4);
            for it in 0..(3 * LOG as i64 + 5) {
                strata_race_access(0x5000, it, it, 0, 1);
            }
            strata_race_access(0x5000, if racy { 0 } else { -1 }, 1, 0, 0);
            assert_eq!(strata_race_end(), i32::from(racy), "racy: {racy}");
        }
        strata_race_begin(4, 4);
        for it in 0..LOG as i64 {
            strata_race_access(0x6000, 0, it, 0, 1);
        }
        strata_race_begin(4, 4);
        strata_race_access(0x6000, 0, 5, 0, 1);
        assert_eq!(strata_race_end(), 0, "a loop without an end");
        assert_eq!(races_found(), before + 4);
        // Two threads' reads of one element are no race.
        strata_race_begin(2, 2);
        strata_race_access(0x3000, 11, 1, 0, 0);
        std::thread::spawn(|| strata_race_access(0x3000, 11, 2, 0, 0)).join().unwrap();
        assert_eq!(strata_race_end(), 0);
        // Two threads write the even and the odd elements of a buffer that
        // spans every range of slots the merge is cut into; one more write,
        // of an even element by the odd thread, is the only race: one in
        // each range.
        let n = ENTRIES as i64 - 7;
        let base = slot(0x7000, 0) as i64;
        let in_part = |p: usize| {
            let mid = ((2 * p + 1) * ENTRIES / (2 * MERGE_PARTS)) as i64;
            let e = (mid - base).rem_euclid(ENTRIES as i64) & !1;
            if e >= n { e - 8 } else { e }
        };
        for (k, collide) in (0..MERGE_PARTS).map(in_part).enumerate() {
            for races in if k == 0 { vec![0, 1] } else { vec![1] } {
                strata_race_begin(6, 1);
                for e in (0..n).step_by(2) {
                    strata_race_access(0x7000, e, e, 0, 1);
                }
                std::thread::spawn(move || {
                    for e in (1..n).step_by(2) {
                        strata_race_access(0x7000, e, e, 0, 1);
                    }
                    if races == 1 {
                        strata_race_access(0x7000, collide, 1, 0, 1);
                    }
                })
                .join()
                .unwrap();
                assert_eq!(strata_race_end(), races, "element {collide}");
            }
        }
        // Atomic updates (flag 2): two of one element from different
        // iterations are no race, on one thread or two; an atomic update
        // and a plain load or store of its element are, in either order.
        let found = races_found();
        for (first, second, races) in [(2, 2, 0), (2, 0, 1), (0, 2, 1), (2, 1, 1), (1, 2, 1), (0, 0, 0)] {
            strata_race_begin(8, 8);
            strata_race_access(0x8000, 5, 1, 0, first);
            strata_race_access(0x8000, 5, 2, 0, second);
            assert_eq!(strata_race_end(), races, "flags {first} then {second} on one thread");
            strata_race_begin(8, 8);
            strata_race_access(0x8000, 5, 1, 0, first);
            std::thread::spawn(move || strata_race_access(0x8000, 5, 2, 0, second)).join().unwrap();
            assert_eq!(strata_race_end(), races, "flags {first} then {second} on two threads");
        }
        assert_eq!(races_found(), found + 8);
        // An iteration that both loads and updates an element keeps both:
        // another iteration's load races with the update, its update with
        // the load, in whichever order the first iteration did them.
        for (first, then, other) in [(0, 2, 0), (2, 0, 2), (0, 2, 2), (2, 0, 0)] {
            strata_race_begin(8, 8);
            strata_race_access(0x8000, 7, 1, 0, first);
            strata_race_access(0x8000, 7, 1, 0, then);
            strata_race_access(0x8000, 7, 2, 0, other);
            assert_eq!(strata_race_end(), 1, "flags {first} and {then} in iteration 1, then {other} in 2");
        }
        // The report says which: an update against a store both write.
        strata_race_begin(8, 8);
        strata_race_access(0x8000, 6, 3, 0, 2);
        strata_race_access(0x8000, 6, 4, 0, 1);
        assert!(finish().is_some_and(|r| r.contains("iterations 3 and 4") && r.contains("both write element 6")));
        strata_race_begin(8, 8);
        strata_race_access(0x8000, 6, 3, 0, 2);
        strata_race_access(0x8000, 6, 4, 0, 0);
        assert!(finish().is_some_and(|r| r.contains("write and read element 6")));
        // Byte ranges: apart, touching, overlapping, empty.
        strata_race_range(100, 16);
        strata_race_range(116, 4);
        assert!(strata_race_disjoint());
        strata_race_range(100, 16);
        strata_race_range(112, 8);
        assert!(!strata_race_disjoint());
        strata_race_range(100, 16);
        strata_race_range(104, 0);
        assert!(strata_race_disjoint());
        let none = |_: usize| (0, 0);
        let text = describe((3, 5), &none, &Race { first: 7, second: 2, element: 4, both_write: true, inner: None });
        assert!(text.contains("iterations 2 and 7 of the strata.parallel_for at line 3, column 5 both write element 4"), "{text}");

        // Nested loops: iteration 1 of the outer loop runs inner loop 1
        // twice, one instance after the other. `inner` flags an access of
        // inner loop 1.
        let inner = |write: i32| write | (1 << 8);
        strata_race_begin(10, 3);
        strata_race_inner_loop(1, 12, 5);
        let first = strata_race_inner();
        let second = strata_race_inner();
        assert_ne!(first, second);
        // Before the inner loop, then in it: ordered.
        strata_race_access(0x4000, 0, 1, 0, 1);
        strata_race_access(0x4000, 0, 1, first | 3, inner(0));
        // One inner iteration, twice; then another instance: ordered.
        strata_race_access(0x4000, 1, 1, first | 2, inner(1));
        strata_race_access(0x4000, 1, 1, first | 2, inner(0));
        strata_race_access(0x4000, 1, 1, second | 5, inner(1));
        assert_eq!(strata_race_end(), 0, "ordered accesses of one outer iteration");
        // Two iterations of one instance: a race, reported on the inner loop.
        strata_race_begin(10, 3);
        strata_race_inner_loop(1, 12, 5);
        let t = strata_race_inner();
        strata_race_access(0x4000, 6, 1, t | 4, inner(1));
        strata_race_access(0x4000, 6, 1, t | 9, inner(0));
        let text = finish().expect("a race");
        assert!(
            text.contains("iterations 4 and 9 of the strata.parallel_for at line 12, column 5 (in iteration 1 of the one at line 10, column 3) write and read element 6"),
            "{text}"
        );
        // The outer iteration writes the element first, then two inner
        // iterations write it (and, elsewhere, one writes and one reads):
        // races, though the first write is ordered with both.
        for second_writes in [1, 0] {
            strata_race_begin(10, 3);
            strata_race_inner_loop(1, 12, 5);
            let t = strata_race_inner();
            strata_race_access(0x4000, 8, 1, 0, 1);
            strata_race_access(0x4000, 8, 1, t, inner(1));
            strata_race_access(0x4000, 8, 1, t | 1, inner(second_writes));
            assert!(finish().is_some_and(|r| r.contains("iterations 0 and 1 of the strata.parallel_for at line 12")), "after a write outside");
        }
        // So do a read outside, an inner read and another inner write.
        strata_race_begin(10, 3);
        let t = strata_race_inner();
        strata_race_access(0x4000, 9, 1, 0, 0);
        strata_race_access(0x4000, 9, 1, t | 2, inner(0));
        strata_race_access(0x4000, 9, 1, t | 3, inner(1));
        assert_eq!(strata_race_end(), 1, "after a read outside");
        // Inner iterations of two outer iterations: an outer race.
        strata_race_begin(10, 3);
        let (a, b) = (strata_race_inner(), strata_race_inner());
        strata_race_access(0x4000, 7, 1, a | 4, inner(1));
        strata_race_access(0x4000, 7, 2, b | 4, inner(1));
        assert_eq!(strata_race_end(), 1);
        // Past the last instance number, instances are not told apart:
        // no race reported between them (never a false one).
        strata_race_begin(10, 3);
        INSTANCES.with(|c| c.set((EPOCH.load(Ordering::Relaxed), LAST_INSTANCE)));
        let (a, b) = (strata_race_inner(), strata_race_inner());
        assert_eq!((a, b), (0, 0));
        strata_race_access(0x4000, 5, 1, a, inner(1));
        strata_race_access(0x4000, 5, 1, b | 1, inner(1));
        assert_eq!(strata_race_end(), 0, "instances past the last number");
        // A new loop numbers from 1 again.
        strata_race_begin(10, 3);
        assert_eq!(strata_race_inner(), 1 << 32);
        assert_eq!(strata_race_end(), 0);
    }
}
