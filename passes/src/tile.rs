//! `strata-tile`: tiles loop nests for cache and registers.
//!
//! Matches (planned, issue 6): the `affine` loop nests that
//! `strata-lower-to-affine` produces. Produces outer parallel tiles, L2/L1
//! cache tiles and register tiles, with sizes chosen per op and per CPU
//! unless `tile-sizes` overrides them.
//!
//! Today it is the identity (untiled loops are correct, only slower); its
//! options are parsed and checked already.

use crate::{
    options::{OptionKind, OptionSpec, PassOptions},
    planned::Planned,
    registry::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-tile",
    summary: "Tile loop nests for cache and registers (sizes per op and per CPU unless tile-sizes is given)",
    options: &[OptionSpec {
        name: "tile-sizes",
        kind: OptionKind::IntList,
        default: "",
        description: "tile size per loop, outermost first; empty chooses per op and per CPU",
    }],
    status: Status::Planned,
    build: Build::Rust(|_: &PassOptions| Box::new(Planned { argument: "strata-tile" })),
};
