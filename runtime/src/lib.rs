//! The runtime that JIT-compiled Strata kernels call, through a C ABI.
//!
//! Today: the allocator (`malloc`/`free` for the buffers kernels allocate),
//! which counts live and peak bytes so that tests can check that kernels
//! free every temporary and how much memory they need. Planned (the
//! thread-pool issue): the worker pool and its dispatch entry point.

pub mod alloc;
