//! The runtime that JIT-compiled Strata kernels call: the thread pool and
//! its C ABI. Planned (the thread-pool issue); the crate exists now so the
//! workspace has its final shape and the driver's dependency is in place.
