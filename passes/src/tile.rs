//! `strata-tile`: chooses the tiles of the loop nests that need them, per
//! CPU, and records them for `strata-vectorize`.
//!
//! Matches the contractions `strata-lower-to-affine{keep-contractions}`
//! leaves structured ([`crate::contraction`]) that get the outer-product
//! kernel. Produces the same op with
//! `strata.tile_sizes = array<i64: MR, NV, KC, NB>`:
//! a register tile of `MR` rows by `NV` vectors (the accumulators, with the
//! B vectors and one broadcast, must fit the target's vector registers: 32
//! with AVX-512, 16 otherwise), a cache tile of `KC` steps of the
//! reduction, and `NB` column blocks per task, so that the task's `NB`
//! packed `KC x NV*W` panels of B together take at most half of the
//! target's L2 cache: each row panel of A, once fetched, then feeds all
//! `NB` panels from cache (BLIS's NC = `NB x NV*W`), where one panel per
//! task streamed A from memory once per `NV*W` columns. All come from the
//! module's `strata.target` ([`Target`]), never from the host. `KC` is
//! sized for eight panels ([`SHARED_BLOCKS`]); a small K gets more panels;
//! a contraction with a fused epilogue keeps K whole where it can
//! ([`choose_for`]).
//! Measured before `NB` existed: sizing the panel for L1 (KC = 192) made
//! 1024^3 f32 28% slower on one thread, since every block of KC reloads
//! the accumulators and, without A's reuse, re-streams A's rows.
//! `strata-vectorize` makes the tasks parallel and takes fewer blocks per
//! task when the tasks would be too few for the workers.
//! `tile-sizes=M,N,K,NC` overrides the choice, in the loop order of the
//! matmul (rows, columns, reduction): rows of the register tile (1 to 16),
//! its columns in elements (rounded to whole vectors, 1 to 8 of them), the
//! cache tile's reduction steps, and the columns per task (rounded down to
//! whole blocks, at least one); missing trailing sizes are chosen per CPU
//! (`NB` for the `KC` given).
//!
//! Elementwise nests need no tiling (they stream); other nests are left as
//! they are.

use crate::{
    external::{PassFailed, StrataPass},
    ir,
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
    target::Target,
    contraction::{self, Plan},
    vectorize_contraction::{Tiles, TILE_ATTR},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-tile",
    summary: "Choose register and cache tiles for the target (vector width and registers, L2 size) for the matmul micro-kernel, unless tile-sizes is given",
    options: &[OptionSpec {
        name: "tile-sizes",
        kind: OptionKind::IntList,
        default: "",
        description: "M,N,K,NC: register tile rows and columns (elements), cache tile reduction steps, columns per task; missing sizes are chosen per CPU",
    }],
    status: Status::Implemented,
    build: Build::Rust(|o: &PassOptions| Box::new(Tile { given: o.int_list("tile-sizes").to_vec() })),
};

#[derive(Clone)]
struct Tile {
    given: Vec<i64>,
}

/// The tiles for a matmul of `k` reduction steps on `elem_bytes` elements
/// on `target`.
pub fn choose(k: i64, elem_bytes: i64, target: &Target) -> Tiles {
    choose_for(k, elem_bytes, target, false)
}

/// [`choose`] for a contraction whose elementwise epilogue
/// `strata-vectorize` fuses (`epilogue`): that one keeps all of K in one
/// cache block where one panel of B that long fits half of L2, as before
/// panels were shared, since with more blocks the partial sums between
/// them need a temporary the size of the output (a 2048^2 MLP layer's
/// peak memory went from 1.34x to 1.69x its inputs and output).
pub fn choose_for(k: i64, elem_bytes: i64, target: &Target, epilogue: bool) -> Tiles {
    choose_with(k, elem_bytes, target, epilogue, vectors_per_row(target.vector_registers))
}

/// [`choose_for`] with `nv` vectors a row (given by `tile-sizes`): the
/// rows, `KC` and `NB` follow from it.
fn choose_with(k: i64, elem_bytes: i64, target: &Target, epilogue: bool, nv: i64) -> Tiles {
    let bits = target.vector_bits;
    let registers = target.vector_registers;
    // MR * NV accumulators + NV vectors of B + 1 broadcast.
    let mr = ((registers - nv - 1) / nv).clamp(1, 6);
    let panel_row = nv * (bits / 8 / elem_bytes) * elem_bytes;
    let one_panel = (target.l2_bytes / 2 / panel_row).max(16) / 8 * 8;
    let kc = if epilogue && k <= one_panel { k } else { ((one_panel / SHARED_BLOCKS).max(16) / 8 * 8).min(k) };
    Tiles { mr, nv, kc, nb: blocks_per_task(kc, panel_row, target) }
}

/// The register tile's vectors per row: 4 where the target has 32 vector
/// registers (6 x 4 accumulators, 4 of B, a broadcast: 29), else 2 (6 x 2,
/// 2, 1: 15 of 16). Measured on an AVX-512 Xeon (2 alternating rounds,
/// fastest calls, 1 and 2 threads), 4 vectors against 2: 2048^3 f32 108-126
/// against 118-138 ms at 1 thread, 1024^3 f32 13.1-13.7 against 14.5-15.7,
/// 999x1001x997 f32 12.9-13.4 against 15.0-15.1 (6.8-7.0 against 7.8-8.6 at
/// 2), 4096x64x4096 f32 19.0-21.3 against 22.6-22.7, 1024^3 f64 27.6-29.4
/// against 32.9-34.2. Each step loads 4 vectors of B and 6 broadcasts for
/// 24 FMAs instead of 2 and 6 for 12. Not measured on Zen 4, whose
/// AVX-512 is two 256-bit halves.
pub fn vectors_per_row(registers: i64) -> i64 {
    if registers >= 32 { 4 } else { 2 }
}

/// The column blocks whose packed panels share each row panel of A: as
/// many `kc`-step panels (`panel_row` bytes a step) as fill half of the
/// target's L2, at least one.
pub fn blocks_per_task(kc: i64, panel_row: i64, target: &Target) -> i64 {
    (target.l2_bytes / 2 / (kc.max(1) * panel_row)).max(1)
}

/// The panels of B the cache block is sized for. Measured on Zen 4 (1
/// MiB L2), 2048^3 f32 at one thread: one panel of all 2048 steps, A
/// streamed from memory once per 32 columns, ran at 77% of the FMA peak;
/// four panels of 1024 steps or eight of 512 (A's panel reused from cache
/// across them) at 86-88%, within noise of each other. On Zen 3 (AVX2,
/// 512 KiB L2) eight panels of 512 steps were faster than four of 1024,
/// at one thread in three alternating rounds (fastest calls): 2048^3 f32
/// 298-324 ms against 334-365, 1024^3 f64 87-93 against 98-111; so
/// eight, which is BLIS's KC = 256 on a 256 KiB L2 too.
const SHARED_BLOCKS: i64 = 8;

impl StrataPass for Tile {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        if self.given.len() > 4 || self.given.iter().any(|v| *v < 1) {
            ir::emit_error(root.to_raw(), "'strata-tile' option tile-sizes expects up to four positive sizes: M,N,K,NC");
            return Err(PassFailed);
        }
        let target = Target::of_module(root.to_raw());
        for op in ir::find(root.to_raw(), &["linalg.generic"]) {
            let Some((mm, Plan::Outer { .. })) = contraction::planned(op) else { continue };
            let bytes = mm.elem.bytes();
            let k = mm.extents[mm.k];
            let lanes = target.vector_bits / 8 / bytes;
            let epilogue = crate::vectorize_contraction::find_epilogue(&mm, lanes).is_some();
            let nv = match self.given.get(1) {
                Some(n) => (n / lanes).clamp(1, 8),
                None => vectors_per_row(target.vector_registers),
            };
            let mut t = choose_with(k, bytes, &target, epilogue, nv);
            if let Some(m) = self.given.first() {
                t.mr = (*m).clamp(1, 16);
            }
            if let Some(kc) = self.given.get(2) {
                t.kc = (*kc).min(k);
            }
            t.nb = match self.given.get(3) {
                Some(nc) => (nc / (t.nv * lanes)).max(1),
                None => blocks_per_task(t.kc, t.nv * lanes * bytes, &target),
            };
            // A register tile taller than the matrix would be all leftovers.
            t.mr = t.mr.min(mm.extent(mm.m));
            let sizes = [t.mr, t.nv, t.kc, t.nb];
            // SAFETY: a live context; the sizes outlive the call.
            let attr = unsafe { mlir_sys::mlirDenseI64ArrayGet(ir::Builder::of_op(op).ctx, 4, sizes.as_ptr()) };
            ir::set_attribute(op, TILE_ATTR, attr);
            crate::remark(
                op,
                &format!(
                    "strata-tile: contraction {}: register tile {} rows x {} vectors, cache tile {} reduction steps, up to {} column block(s) per task",
                    mm.describe(),
                    t.mr,
                    t.nv,
                    t.kc,
                    t.nb
                ),
            );
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(self.clone())
    }
}
