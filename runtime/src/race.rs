//! The run-time race checker behind `--strata-races=runtime`: shadow
//! tables of the first writer and a reader of each element touched inside
//! a checked parallel loop.
//!
//! `strata-instrument-races` calls [`strata_race_begin`] before each
//! outermost `strata.parallel_for`, [`strata_race_access`] before each load
//! and store in its body that `strata-check-races` could not prove
//! independent (the buffer's address, the element's linear index, the
//! iteration, read or write), and [`strata_race_end`] after it. Two
//! accesses to one element from different iterations, at least one a
//! write, are a race whatever order the workers ran them in, since every
//! access of the loop is recorded until its end. The first race is printed
//! at `strata_race_end`, and [`races_found`] counts the loops that raced.
//!
//! Each thread records into a table of its own, with plain loads and
//! stores: an atomic read-modify-write per access (a lock) is a full
//! fence on x86, which kept the kernel's own memory accesses from
//! overlapping and cost 50-90 ns per access on a random scatter.
//!
//! An access is not looked up when it happens: it is appended to the
//! thread's log, and a full log (or the loop's end) is checked against the
//! table in one go, prefetching the entries a few accesses ahead. Looked
//! up one at a time, each access of a random scatter waited for its own
//! cache miss into the table, one after the other (65 ns each, 22x the
//! kernel); a batch keeps many misses in flight. Races between iterations
//! that ran on one thread are found when its log is checked; at
//! `strata_race_end` (after the loop, whose end orders every worker's
//! writes before it) every thread's log is checked and the entries each
//! thread touched are merged, which finds the races between threads.
//!
//! Nested `parallel_for`s: an access inside one also names its *strand*,
//! the inner loop's instance and iteration (0 outside every inner loop).
//! Two accesses of one outer iteration race when both are in one instance
//! of an inner loop, in different iterations of it; an access before or
//! after the inner loop, or in another instance of it, is ordered with
//! them. [`strata_race_inner`] numbers the instances per thread (an outer
//! iteration runs on one thread), in 23 bits: two instances of one inner
//! loop are told apart unless one outer iteration runs 2^23 of them. Only
//! the innermost `parallel_for` around an access counts: races between
//! iterations of a middle loop of three are not looked for.
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
            || (self.strand != 0 && other.strand != 0 && self.strand != other.strand && self.instance() == other.instance())
    }

    /// The inner loop's instance (counter and loop number).
    fn instance(self) -> i64 {
        self.strand >> 32
    }

    /// The inner loop's number, from [`strata_race_inner_loop`].
    fn inner_loop(self) -> usize {
        ((self.strand >> 32) & 0xFF) as usize
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
}

const EMPTY: Entry = Entry { buffer: 0, element: 0, epoch: 0, writer: NOBODY, reader: NOBODY };

/// One access waiting in a thread's log.
#[derive(Clone, Copy)]
struct Access {
    buffer: u64,
    element: i64,
    who: Who,
    write: bool,
}

/// Accesses a log holds before it is checked: enough to keep the table's
/// misses overlapping, few enough to stay in the L2 cache (128 KiB).
const LOG: usize = 4096;
/// How many accesses ahead of the one it checks a batch prefetches.
const AHEAD: usize = 16;

/// One thread's table.
struct Local {
    entries: Vec<Entry>,
    /// The entries first taken in `epoch` (each once), for the merge.
    touched: Vec<u32>,
    epoch: u64,
    /// Accesses of `epoch` not yet checked against `entries`.
    log: Vec<Access>,
}

/// A thread's table, shared with the merge in [`strata_race_end`].
struct Shared(UnsafeCell<Local>);

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
        let t = Arc::new(Shared(UnsafeCell::new(Local { entries: vec![EMPTY; ENTRIES], touched: Vec::new(), epoch: 0, log: Vec::with_capacity(LOG) })));
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
/// ns).
fn slot(buffer: u64, element: i64) -> usize {
    let base = (buffer.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 32) as usize;
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

/// The race between what `e` recorded and one more access, if any.
fn conflict(e: &Entry, who: Who, write: bool) -> Option<Race> {
    let race = |first: Who, both_write: bool| Race {
        first: first.iteration,
        second: who.iteration,
        element: e.element,
        both_write,
        inner: (first.iteration == who.iteration).then(|| (who.inner_loop(), first.inner_iteration(), who.inner_iteration())),
    };
    if write {
        if e.writer.is_some() && e.writer.concurrent(who) {
            return Some(race(e.writer, true));
        }
        if e.reader.is_some() && e.reader.concurrent(who) {
            return Some(race(e.reader, false));
        }
    } else if e.writer.is_some() && e.writer.concurrent(who) {
        return Some(race(e.writer, false));
    }
    None
}

/// Records one access in `e` (after [`conflict`]): the first writer, and
/// one reader, other than the writer where there is one.
fn note(e: &mut Entry, who: Who, write: bool) {
    if write {
        if !e.writer.is_some() {
            e.writer = who;
        }
    } else if !e.reader.is_some() || e.reader == e.writer {
        e.reader = who;
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
    static INSTANCES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Called before each run of inner loop `number`: the strand of its
/// iteration `j` is the result with `j`'s low 32 bits or'ed in.
#[no_mangle]
pub extern "C" fn strata_race_inner(number: i64) -> i64 {
    let n = INSTANCES.with(|c| {
        let n = (c.get() + 1) & 0x7F_FFFF;
        c.set(n);
        n
    });
    (n << 40) | ((number.clamp(1, 255)) << 32)
}

/// Called before each watched access of a checked loop's body: `write` is
/// 1 for a store, 0 for a load; `strand` 0 outside inner loops.
#[no_mangle]
pub extern "C" fn strata_race_access(buffer: i64, element: i64, iteration: i64, strand: i64, write: i32) {
    let epoch = EPOCH.load(Ordering::Relaxed);
    TABLE.with(|t| {
        // SAFETY: this thread's own table (see `Shared`).
        let local = unsafe { &mut *t.0.get() };
        if local.epoch != epoch {
            // The last loop's log was checked at its end.
            local.epoch = epoch;
            local.touched.clear();
            local.log.clear();
        }
        local.log.push(Access { buffer: buffer as u64, element, who: Who { iteration, strand }, write: write != 0 });
        if local.log.len() >= LOG {
            check_log(local);
        }
    });
}

/// Checks the accesses in `local`'s log against its table, in the order
/// they happened, and empties the log.
fn check_log(local: &mut Local) {
    let log = std::mem::take(&mut local.log);
    for (k, a) in log.iter().enumerate() {
        if let Some(next) = log.get(k + AHEAD) {
            prefetch(&local.entries[slot(next.buffer, next.element)]);
        }
        let i = slot(a.buffer, a.element);
        let e = &mut local.entries[i];
        if e.epoch != local.epoch || e.buffer != a.buffer || e.element != a.element {
            // A slot goes on the list once per loop, when first taken: a
            // slot another element takes over is listed already.
            if e.epoch != local.epoch {
                local.touched.push(i as u32);
            }
            *e = Entry { buffer: a.buffer, element: a.element, epoch: local.epoch, writer: NOBODY, reader: NOBODY };
        }
        let race = conflict(e, a.who, a.write);
        note(e, a.who, a.write);
        if let Some(r) = race {
            record(r);
        }
    }
    local.log = log;
    local.log.clear();
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
fn merge(epoch: u64) {
    let Ok(tables) = TABLES.lock() else { return };
    // SAFETY (each dereference below): the loop is over; no thread writes
    // its table now, and each table is borrowed once at a time.
    for t in tables.iter() {
        let local = unsafe { &mut *t.0.get() };
        if local.epoch == epoch {
            check_log(local);
        }
    }
    let mut ran = tables.iter().filter(|t| unsafe { &*t.0.get() }.epoch == epoch);
    let Some(first) = ran.next() else { return };
    let into = unsafe { &mut *first.0.get() };
    for t in ran {
        let other = unsafe { &*t.0.get() };
        for &i in &other.touched {
            let e = other.entries[i as usize];
            let m = &mut into.entries[i as usize];
            if e.epoch != epoch {
                continue;
            }
            if m.epoch != epoch {
                *m = e;
                continue;
            }
            // Another element in the same slot: one of them is forgotten,
            // as in a thread's own table.
            if m.buffer != e.buffer || m.element != e.element {
                continue;
            }
            // The threads' iterations differ; each side's accesses against
            // the other's.
            let found = [(e.writer, true), (e.reader, false)]
                .into_iter()
                .filter(|(who, _)| who.is_some())
                .find_map(|(who, write)| conflict(m, who, write));
            if let Some(r) = found {
                record(r);
            }
            if e.writer.is_some() {
                note(m, e.writer, true);
            }
            if e.reader.is_some() {
                note(m, e.reader, false);
            }
        }
    }
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
        // Two threads' reads of one element are no race.
        strata_race_begin(2, 2);
        strata_race_access(0x3000, 11, 1, 0, 0);
        std::thread::spawn(|| strata_race_access(0x3000, 11, 2, 0, 0)).join().unwrap();
        assert_eq!(strata_race_end(), 0);
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
        // twice, one instance after the other.
        strata_race_begin(10, 3);
        strata_race_inner_loop(1, 12, 5);
        let first = strata_race_inner(1);
        let second = strata_race_inner(1);
        assert_ne!(first, second);
        // Before the inner loop, then in it: ordered.
        strata_race_access(0x4000, 0, 1, 0, 1);
        strata_race_access(0x4000, 0, 1, first | 3, 0);
        // One inner iteration, twice; then another instance: ordered.
        strata_race_access(0x4000, 1, 1, first | 2, 1);
        strata_race_access(0x4000, 1, 1, first | 2, 0);
        strata_race_access(0x4000, 1, 1, second | 5, 1);
        assert_eq!(strata_race_end(), 0, "ordered accesses of one outer iteration");
        // Two iterations of one instance: a race, reported on the inner loop.
        strata_race_begin(10, 3);
        strata_race_inner_loop(1, 12, 5);
        let t = strata_race_inner(1);
        strata_race_access(0x4000, 6, 1, t | 4, 1);
        strata_race_access(0x4000, 6, 1, t | 9, 0);
        let text = finish().expect("a race");
        assert!(
            text.contains("iterations 4 and 9 of the strata.parallel_for at line 12, column 5 (in iteration 1 of the one at line 10, column 3) write and read element 6"),
            "{text}"
        );
        // Inner iterations of two outer iterations: an outer race.
        strata_race_begin(10, 3);
        let (a, b) = (strata_race_inner(1), strata_race_inner(1));
        strata_race_access(0x4000, 7, 1, a | 4, 1);
        strata_race_access(0x4000, 7, 2, b | 4, 1);
        assert_eq!(strata_race_end(), 1);
    }
}
