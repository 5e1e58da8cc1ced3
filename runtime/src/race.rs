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
//! overlapping and cost 50-90 ns per access on a random scatter. Races
//! between iterations that ran on one thread are found as they happen;
//! at `strata_race_end` (after the loop, whose end orders every worker's
//! writes before it) the entries each thread touched are merged, which
//! finds the races between threads.
//!
//! A table is direct-mapped (`2^17` entries per thread, 5 MiB, allocated
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

#[derive(Clone, Copy)]
struct Entry {
    buffer: u64,
    element: i64,
    /// The loop the entry belongs to; older entries are stale.
    epoch: u64,
    writer: i64,
    reader: i64,
}

const EMPTY: Entry = Entry { buffer: 0, element: 0, epoch: 0, writer: NONE, reader: NONE };

/// One thread's table.
struct Local {
    entries: Vec<Entry>,
    /// The entries first taken in `epoch` (each once), for the merge.
    touched: Vec<u32>,
    epoch: u64,
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
        let t = Arc::new(Shared(UnsafeCell::new(Local { entries: vec![EMPTY; ENTRIES], touched: Vec::new(), epoch: 0 })));
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
    pub first: i64,
    pub second: i64,
    pub element: i64,
    pub both_write: bool,
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
fn conflict(e: &Entry, iteration: i64, write: bool) -> Option<Race> {
    let race = |first: i64, both_write: bool| Race { first, second: iteration, element: e.element, both_write };
    if write {
        if e.writer != NONE && e.writer != iteration {
            return Some(race(e.writer, true));
        }
        if e.reader != NONE && e.reader != iteration {
            return Some(race(e.reader, false));
        }
    } else if e.writer != NONE && e.writer != iteration {
        return Some(race(e.writer, false));
    }
    None
}

/// Records one access in `e` (after [`conflict`]): the first writer, and
/// one reader, other than the writer where there is one.
fn note(e: &mut Entry, iteration: i64, write: bool) {
    if write {
        if e.writer == NONE {
            e.writer = iteration;
        }
    } else if e.reader == NONE || e.reader == e.writer {
        e.reader = iteration;
    }
}

/// Called before a checked loop at `line:col` starts.
#[no_mangle]
pub extern "C" fn strata_race_begin(line: i64, col: i64) {
    EPOCH.fetch_add(1, Ordering::AcqRel);
    if let Ok(mut l) = LOOP.lock() {
        *l = (line, col);
    }
    if let Ok(mut first) = FIRST.lock() {
        *first = None;
        HAVE_FIRST.store(false, Ordering::Relaxed);
    }
}

/// Called before each watched access of a checked loop's body: `write` is
/// 1 for a store, 0 for a load.
#[no_mangle]
pub extern "C" fn strata_race_access(buffer: i64, element: i64, iteration: i64, write: i32) {
    let epoch = EPOCH.load(Ordering::Relaxed);
    let race = TABLE.with(|t| {
        // SAFETY: this thread's own table (see `Shared`).
        let local = unsafe { &mut *t.0.get() };
        if local.epoch != epoch {
            local.epoch = epoch;
            local.touched.clear();
        }
        let i = slot(buffer as u64, element);
        let e = &mut local.entries[i];
        if e.epoch != epoch || e.buffer != buffer as u64 || e.element != element {
            // A slot goes on the list once per loop, when first taken: a
            // slot another element takes over is listed already.
            if e.epoch != epoch {
                local.touched.push(i as u32);
            }
            *e = Entry { buffer: buffer as u64, element, epoch, writer: NONE, reader: NONE };
        }
        let race = conflict(e, iteration, write != 0);
        note(e, iteration, write != 0);
        race
    });
    if let Some(r) = race {
        record(r);
    }
}

/// The races between threads: the entries each other thread touched in
/// this loop, merged into the first thread's table by slot (it is not
/// read again before the next loop restarts it). Nothing to do when one
/// thread ran the loop.
fn merge(epoch: u64) {
    let Ok(tables) = TABLES.lock() else { return };
    // SAFETY (each dereference below): the loop is over; no thread writes
    // its table now, and each table is borrowed once at a time.
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
                .filter(|(it, _)| *it != NONE)
                .find_map(|(it, write)| conflict(m, it, write));
            if let Some(r) = found {
                record(r);
            }
            if e.writer != NONE {
                note(m, e.writer, true);
            }
            if e.reader != NONE {
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
    merge(EPOCH.load(Ordering::Acquire));
    let Some(race) = FIRST.lock().ok().and_then(|mut f| f.take()) else { return 0 };
    let (line, col) = LOOP.lock().map(|l| *l).unwrap_or((0, 0));
    let (a, b) = (race.first.min(race.second), race.first.max(race.second));
    eprintln!("{}", describe(line, col, a, b, &race));
    1
}

fn describe(line: i64, col: i64, a: i64, b: i64, race: &Race) -> String {
    let what = if race.both_write { "both write" } else { "write and read" };
    format!(
        "error: data race at run time: iterations {a} and {b} of the strata.parallel_for at line {line}, column {col} {what} element {} (linear index) of one buffer",
        race.element
    )
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
            strata_race_access(0x1000, it, it, 0);
            strata_race_access(0x1000, it, it, 1);
        }
        assert_eq!(strata_race_end(), 0);
        assert_eq!(races_found(), before);
        // The same element written by iterations 7 and 2 (in that order).
        strata_race_begin(3, 5);
        strata_race_access(0x2000, 4, 7, 1);
        strata_race_access(0x2000, 4, 2, 1);
        assert_eq!(strata_race_end(), 1);
        // A read of 9 by iteration 1, then iteration 2 writes it.
        strata_race_begin(1, 1);
        strata_race_access(0x2000, 9, 1, 0);
        strata_race_access(0x2000, 9, 2, 1);
        assert_eq!(strata_race_end(), 1);
        // A new loop forgets the last one's accesses.
        strata_race_begin(1, 1);
        strata_race_access(0x2000, 9, 5, 1);
        assert_eq!(strata_race_end(), 0);
        assert_eq!(races_found(), before + 2);
        // Iterations on two threads: a write on one and a read of the same
        // element on the other is found at the loop's end; disjoint
        // elements on the two threads are not a race.
        for (other_element, races) in [(11, 1), (12, 0)] {
            strata_race_begin(2, 2);
            strata_race_access(0x3000, 11, 1, 1);
            std::thread::spawn(move || strata_race_access(0x3000, other_element, 2, 0)).join().unwrap();
            assert_eq!(strata_race_end(), races, "other thread reads element {other_element}");
        }
        assert_eq!(races_found(), before + 3);
        // Two threads' reads of one element are no race.
        strata_race_begin(2, 2);
        strata_race_access(0x3000, 11, 1, 0);
        std::thread::spawn(|| strata_race_access(0x3000, 11, 2, 0)).join().unwrap();
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
        let text = describe(3, 5, 2, 7, &Race { first: 7, second: 2, element: 4, both_write: true });
        assert!(text.contains("iterations 2 and 7 of the strata.parallel_for at line 3, column 5 both write element 4"), "{text}");
    }
}
