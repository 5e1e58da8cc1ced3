//! The run-time race checker behind `--strata-races=runtime`: a shadow
//! table of the last writer and a reader of each element touched inside a
//! checked parallel loop.
//!
//! `strata-instrument-races` calls [`strata_race_begin`] before each
//! outermost `strata.parallel_for`, [`strata_race_access`] before each load
//! and store in its body (the buffer's address, the element's linear index,
//! the iteration, read or write), and [`strata_race_end`] after it. Two
//! accesses to one element from different iterations, at least one a
//! write, are a race whatever order the workers ran them in, since every
//! access of the loop is recorded until its end. The first race is printed
//! at `strata_race_end`, and [`races_found`] counts them.
//!
//! The table is direct-mapped (`2^18` entries, each with its own lock in
//! its own cache line, so that an access costs one cache miss, not one for
//! the entry and another for a lock stripe): an element whose entry
//! another element took is forgotten, so a race can be missed on very
//! large loops, but never reported falsely (each entry keeps its full
//! key). Why our own: each access must cost a few nanoseconds with no
//! allocation; a concurrent map crate allocates per entry.

use std::{
    cell::UnsafeCell,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex, OnceLock,
    },
};

const ENTRIES: usize = 1 << 18;
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

/// An entry and its lock, one cache line.
#[repr(align(64))]
struct Slot {
    lock: AtomicBool,
    entry: UnsafeCell<Entry>,
}

struct Table {
    slots: Vec<Slot>,
}

// SAFETY: an entry is only touched while its slot's lock is held.
unsafe impl Sync for Table {}

/// Allocated by the first checked loop (16 MiB), so that processes that
/// never check pay nothing.
static TABLE: OnceLock<Table> = OnceLock::new();

fn table() -> &'static Table {
    TABLE.get_or_init(|| Table {
        slots: (0..ENTRIES)
            .map(|_| Slot {
                lock: AtomicBool::new(false),
                entry: UnsafeCell::new(Entry { buffer: 0, element: 0, epoch: 0, writer: NONE, reader: NONE }),
            })
            .collect(),
    })
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

fn record(race: Race) {
    FOUND.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut first) = FIRST.lock() {
        first.get_or_insert(race);
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
    }
}

/// Called before each access of a checked loop's body: `write` is 1 for a
/// store, 0 for a load.
#[no_mangle]
pub extern "C" fn strata_race_access(buffer: i64, element: i64, iteration: i64, write: i32) {
    let epoch = EPOCH.load(Ordering::Acquire);
    let t = table();
    let slot = &t.slots[slot(buffer as u64, element)];
    let lock = &slot.lock;
    while lock.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        std::hint::spin_loop();
    }
    // SAFETY: the entry's lock is held.
    let e = unsafe { &mut *slot.entry.get() };
    if e.epoch != epoch || e.buffer != buffer as u64 || e.element != element {
        *e = Entry { buffer: buffer as u64, element, epoch, writer: NONE, reader: NONE };
    }
    let mut race = None;
    if write != 0 {
        if e.writer != NONE && e.writer != iteration {
            race = Some(Race { first: e.writer, second: iteration, element, both_write: true });
        } else if e.reader != NONE && e.reader != iteration {
            race = Some(Race { first: e.reader, second: iteration, element, both_write: false });
        }
        if e.writer == NONE {
            e.writer = iteration;
        }
    } else {
        if e.writer != NONE && e.writer != iteration {
            race = Some(Race { first: e.writer, second: iteration, element, both_write: false });
        }
        // One reader other than the writer is all a later write needs.
        if e.reader == NONE || e.reader == e.writer {
            e.reader = iteration;
        }
    }
    lock.store(false, Ordering::Release);
    if let Some(r) = race {
        record(r);
    }
}

/// Called after a checked loop: prints its first race, if any, and returns
/// 1 if there was one.
#[no_mangle]
pub extern "C" fn strata_race_end() -> i32 {
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

/// How many racing accesses the checked loops have seen in this process.
pub fn races_found() -> u64 {
    FOUND.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The table is process-wide: one test drives it, in order.
    #[test]
    fn races_are_found_in_any_order_and_only_between_iterations() {
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
        let text = describe(3, 5, 2, 7, &Race { first: 7, second: 2, element: 4, both_write: true });
        assert!(text.contains("iterations 2 and 7 of the strata.parallel_for at line 3, column 5 both write element 4"), "{text}");
    }
}
