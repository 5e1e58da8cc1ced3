//! `strata-vectorize`: turns innermost tiles into `vector` dialect code.
//!
//! Matches (planned, issue 6): innermost loops and `strata.map` bodies.
//! Produces vector ops at the CPU's native width (or `vector-width`
//! elements), with remainders masked or peeled.
//!
//! Today it is the identity (scalar loops are correct, only slower).

use crate::{
    options::{OptionKind, OptionSpec, PassOptions},
    planned::Planned,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-vectorize",
    summary: "Turn innermost tiles into vector dialect code at the CPU's vector width",
    options: &[OptionSpec {
        name: "vector-width",
        kind: OptionKind::Int,
        default: "0",
        description: "vector width in bits; 0 uses the host CPU's native width",
    }],
    status: Status::Planned,
    build: Build::Rust(|_: &PassOptions| Box::new(Planned)),
};
