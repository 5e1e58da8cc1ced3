//! The run-time half of `strata-instrument-timers`: how long each timed op
//! of a kernel took, by the op's timer id (its source position).
//!
//! The table is the calling thread's: a kernel's top-level ops run on the
//! thread that called it (the pool's threads run only outlined loop
//! bodies, inside a timed call), and two kernels called on two threads at
//! once keep apart. Only the outermost timer counts: a timed op that calls
//! a public function whose own ops are timed counts once, under the call.

use std::{cell::RefCell, collections::BTreeMap, time::Instant};

thread_local! {
    static OPEN: RefCell<Vec<(i64, Instant)>> = const { RefCell::new(Vec::new()) };
    static TOTALS: RefCell<BTreeMap<i64, (f64, u64)>> = const { RefCell::new(BTreeMap::new()) };
}

/// Starts timing op `id`.
#[no_mangle]
pub extern "C" fn strata_timer_begin(id: i64) {
    OPEN.with(|o| o.borrow_mut().push((id, Instant::now())));
}

/// Stops timing op `id` (the most recently started timer of that id).
#[no_mangle]
pub extern "C" fn strata_timer_end(id: i64) {
    let now = Instant::now();
    let started = OPEN.with(|o| {
        let mut o = o.borrow_mut();
        let at = o.iter().rposition(|(i, _)| *i == id)?;
        let t = o.remove(at).1;
        o.is_empty().then_some(t)
    });
    if let Some(t) = started {
        TOTALS.with(|m| {
            let mut m = m.borrow_mut();
            let e = m.entry(id).or_insert((0.0, 0));
            e.0 += (now - t).as_secs_f64();
            e.1 += 1;
        });
    }
}

/// This thread's seconds and runs per timer id since the last `take`, and
/// empties the table.
pub fn take() -> BTreeMap<i64, (f64, u64)> {
    OPEN.with(|o| o.borrow_mut().clear());
    TOTALS.with(|m| std::mem::take(&mut *m.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_add_up_per_id_and_only_the_outermost_counts() {
        take();
        strata_timer_begin(7);
        strata_timer_begin(9);
        std::thread::sleep(std::time::Duration::from_millis(2));
        strata_timer_end(9);
        strata_timer_end(7);
        strata_timer_begin(7);
        strata_timer_end(7);
        strata_timer_begin(9);
        strata_timer_end(9);
        // An end without a begin is ignored.
        strata_timer_end(3);
        let t = take();
        assert_eq!(t.keys().copied().collect::<Vec<_>>(), vec![7, 9]);
        // 9 inside 7 counted only in 7.
        assert_eq!((t[&7].1, t[&9].1), (2, 1));
        assert!(t[&7].0 >= 0.002 && t[&9].0 < t[&7].0, "{t:?}");
        assert!(take().is_empty());
        // Another thread's timers are its own.
        strata_timer_begin(1);
        std::thread::spawn(|| {
            strata_timer_begin(2);
            strata_timer_end(2);
            assert_eq!(take().len(), 1);
        })
        .join()
        .unwrap();
        strata_timer_end(1);
        assert_eq!(take().keys().copied().collect::<Vec<_>>(), vec![1]);
    }
}
