//! The runtime that JIT-compiled Strata kernels call, through a C ABI.
//!
//! - [`alloc`]: the `malloc`/`free` of kernels' buffers, counting live and
//!   peak bytes (leak and peak-memory tests read them).
//! - [`pool`]: the thread pool behind `strata.parallel_for` and the loops
//!   `strata-lower-to-affine` marks parallel (`strata_parallel_for`).
//! - [`race`]: the run-time race checker of `--strata-races=runtime`.

pub mod alloc;
pub mod pool;
pub mod race;
pub mod timers;
