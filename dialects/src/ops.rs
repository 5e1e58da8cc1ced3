//! Safe builders for every op.
