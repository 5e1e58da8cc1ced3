//! `strata-fuse`: fuses producer/consumer chains of `strata` tensor ops.
//!
//! Matches (planned, issue 6): elementwise ops feeding elementwise ops,
//! broadcasts feeding their users, an elementwise epilogue on a matmul,
//! elementwise producers of a reduction. Produces one `strata.map` (or a
//! matmul with a fused epilogue) per chain, never recomputing a matmul.
//!
//! Today it is the identity: fusion is an optimization, so leaving the IR
//! unfused is correct, only slower.

use crate::{
    options::PassOptions,
    planned::Planned,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-fuse",
    summary: "Fuse producer/consumer chains of strata tensor ops (elementwise, broadcast, matmul epilogues, reductions)",
    options: &[],
    status: Status::Planned,
    build: Build::Rust(|_: &PassOptions| Box::new(Planned { argument: "strata-fuse" })),
};
