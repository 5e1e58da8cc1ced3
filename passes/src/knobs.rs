//! The tunable knobs of the default pipeline: every decision a pass makes
//! from a heuristic that an option can override, with its legal range.
//!
//! A knob is one value of one pass option (`strata-tile{tile-sizes=MR,N,KC,NC}`
//! holds four: the fourth, the columns per task, is the `nb` knob in
//! column blocks, where `0` leaves it to `strata-tile`, which derives it
//! from the KC given). A configuration is a value per knob, and applying it is
//! only a different pipeline text ([`with_options`]): the passes read their
//! options as they always do, so a tuned configuration cannot reach code a
//! hand-written pipeline could not. The autotuner (`strata-tune`,
//! `driver/src/tune.rs`) searches these ranges; [`sites`] says which knobs
//! matter for a module, read at the tuning point (the IR right before
//! `strata-fuse-columns`, where contractions are still structured and every
//! loop nest is still affine).
//!
//! Knobs of options applied module-wide: a module whose contractions want
//! different tiles gets one choice for all of them.
//! The contraction kernels' partition is one: `strata-vectorize{min-tasks}`
//! (how many tasks the rows are split into when the column blocks are
//! few, each packing its own B panel), with `mc` (rows of A per task,
//! BLIS's MC, whatever the partition would choose), `pack-a` (whether A
//! is copied into row panels first) and, for matvec, `dot-group` (outputs
//! sharing each vector of the other operand).
//! The one fusion decision with a cost rule is a knob too:
//! `strata-fuse-columns{block}` (whether, and in blocks of how many
//! columns, a chain that reduces along the rows is tiled), which is why
//! the tuning point sits right before that pass.
//! The micro-kernel's unroll is one too: `strata-vectorize{unroll}`
//! (reduction steps per iteration of its loop, which LLVM leaves
//! rolled). Other loops' unrolling is left to LLVM.
//! Not knobs (yet): the other fusion decisions (`strata-fuse` and
//! `strata-fuse-rows` never recompute, so they have no cost rule to
//! override).

use std::collections::BTreeMap;

use mlir_sys::MlirOperation;

use crate::{
    contraction::{self, Plan},
    ir,
    pipeline::{Element, Pipeline},
    target::Target,
};

/// One tunable value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Knob {
    /// Its name in configurations and summaries.
    pub name: &'static str,
    /// The pass and option that carry it.
    pub pass: &'static str,
    pub option: &'static str,
    pub summary: &'static str,
}

pub const MR: Knob = Knob {
    name: "mr",
    pass: "strata-tile",
    option: "tile-sizes",
    summary: "register tile rows of the contraction kernel: 1 to 16 (at most M)",
};
pub const NV: Knob = Knob {
    name: "nv",
    pass: "strata-tile",
    option: "tile-sizes",
    summary: "register tile columns, in whole vectors: 1 to 8",
};
pub const KC: Knob = Knob {
    name: "kc",
    pass: "strata-tile",
    option: "tile-sizes",
    summary: "cache tile reduction steps: 16 to what keeps the packed B panel within L2 (at most K)",
};
pub const NB: Knob = Knob {
    name: "nb",
    pass: "strata-tile",
    option: "tile-sizes",
    summary: "column blocks per task sharing each row panel of A (BLIS's NC in register tiles): 0 (derived from KC and L2) or 1 to the column blocks, at most 64",
};
pub const VECTOR_WIDTH: Knob = Knob {
    name: "vector-width",
    pass: "strata-vectorize",
    option: "vector-width",
    summary: "vector width in bits: 128, 256, 512, up to the target's",
};
pub const MIN_TASKS: Knob = Knob {
    name: "min-tasks",
    pass: "strata-vectorize",
    option: "min-tasks",
    summary: "fewest parallel tasks an outer-product contraction with few column blocks splits its rows into: 1 (never split) to 64",
};
pub const PACK_A: Knob = Knob {
    name: "pack-a",
    pass: "strata-vectorize",
    option: "pack-a",
    summary: "whether an outer-product contraction packs A into row panels: 0 auto, 1 never, 2 always",
};
pub const MC: Knob = Knob {
    name: "mc",
    pass: "strata-vectorize",
    option: "mc",
    summary: "rows of A per task of an outer-product contraction (BLIS's MC), whole register tiles: 0 (the partition's) or 8 to M in steps of 8",
};
pub const UNROLL: Knob = Knob {
    name: "unroll",
    pass: "strata-vectorize",
    option: "unroll",
    summary: "reduction steps per iteration of an outer-product contraction's micro-kernel loop: 1, 2, 4 or 8 (at most K)",
};
pub const DOT_GROUP: Knob = Knob {
    name: "dot-group",
    pass: "strata-vectorize",
    option: "dot-group",
    summary: "outputs the dot kernel computes at a time: 1 to 8 (at most the outputs)",
};
pub const INTERLEAVE: Knob = Knob {
    name: "interleave",
    pass: "strata-vectorize",
    option: "interleave",
    summary: "vectors a latency-bound loop body runs at once: 1, 2 or 4",
};
pub const COLUMN_BLOCK: Knob = Knob {
    name: "column-block",
    pass: "strata-fuse-columns",
    option: "block",
    summary: "columns per block of a chain that reduces along the rows: 0 (the cost rule), 1 (never tile) or whole cache lines up to the columns",
};
pub const GRAIN: Knob = Knob {
    name: "grain",
    pass: "strata-parallelize",
    option: "grain",
    summary: "iterations per chunk a pool thread claims from a parallel loop: 0 (the runtime's, about four chunks per thread) or 1 to the trip count",
};

/// The knobs `strata-tile{tile-sizes}` carries, in its positional order.
pub fn tile_knobs() -> impl Iterator<Item = Knob> {
    KNOBS.into_iter().filter(|k| k.pass == MR.pass)
}

/// Every knob, in the order the tuner visits them.
pub static KNOBS: [Knob; 13] = [COLUMN_BLOCK, MR, NV, KC, NB, VECTOR_WIDTH, MIN_TASKS, MC, PACK_A, UNROLL, DOT_GROUP, INTERLEAVE, GRAIN];

/// The words of `pack-a`'s values, in the knob's order (0, 1, 2).
pub const PACK_A_WORDS: [&str; 3] = ["auto", "never", "always"];

/// A tunable op at the tuning point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// A contraction that gets the outer-product kernel (the tile knobs).
    /// `n`: its columns (the extent the column blocks split).
    Contraction { describe: String, m: i64, n: i64, k: i64, elem_bytes: i64 },
    /// A contraction that gets the dot kernel (vector width, group size);
    /// `n`: its outputs per batch.
    Dot { describe: String, n: i64 },
    /// Innermost parallel loop nests (vectorized by `strata-vectorize`);
    /// `latency_bound`: those whose body has an inner loop (interleave).
    Loops { count: usize, latency_bound: usize, elem_bytes: i64 },
    /// Outermost parallel loops the thread pool runs (grain); the largest
    /// constant trip count, if any is constant.
    Parallel { count: usize, widest: Option<i64> },
    /// Chains that reduce along the rows, which `strata-fuse-columns` may
    /// tile by columns (the widest of them: its columns and element bytes).
    Columns { count: usize, columns: i64, elem_bytes: i64 },
}

impl Site {
    /// What the summary calls the op.
    pub fn describe(&self) -> String {
        match self {
            Site::Contraction { describe, .. } => format!("contraction {describe}"),
            Site::Dot { describe, .. } => format!("contraction {describe} (dot kernel)"),
            Site::Loops { count, latency_bound, .. } => {
                format!("{count} vectorizable loop nest(s), {latency_bound} with an inner loop")
            }
            Site::Parallel { count, .. } => format!("{count} parallel loop(s)"),
            Site::Columns { count, columns, .. } => format!("{count} chain(s) reducing along the rows, up to {columns} columns"),
        }
    }

    /// The knobs that change this op's code.
    pub fn knobs(&self) -> Vec<Knob> {
        match self {
            Site::Contraction { m, .. } if *m > 1 => vec![MR, NV, KC, NB, VECTOR_WIDTH, MIN_TASKS, MC, PACK_A, UNROLL],
            Site::Contraction { .. } => vec![MR, NV, KC, NB, VECTOR_WIDTH, UNROLL],
            Site::Dot { .. } => vec![VECTOR_WIDTH, DOT_GROUP],
            Site::Loops { latency_bound, .. } if *latency_bound > 0 => vec![VECTOR_WIDTH, INTERLEAVE],
            Site::Loops { .. } => vec![VECTOR_WIDTH],
            Site::Parallel { .. } => vec![GRAIN],
            Site::Columns { .. } => vec![COLUMN_BLOCK],
        }
    }
}

/// The tunable ops of `module` at the tuning point (after
/// `strata-lower-to-affine{keep-contractions}` and before `strata-fuse-columns`).
pub fn sites(module: MlirOperation) -> Vec<Site> {
    let mut out = Vec::new();
    let chains = crate::fuse_columns::candidates(module);
    if let Some(&(columns, elem_bytes)) = chains.iter().max() {
        out.push(Site::Columns { count: chains.len(), columns, elem_bytes });
    }
    for op in ir::find(module, &["linalg.generic"]) {
        match contraction::planned(op) {
            Some((c, Plan::Outer { .. })) => out.push(Site::Contraction {
                describe: c.describe(),
                m: c.extent(c.m),
                n: c.extent(c.n),
                k: c.extents[c.k],
                elem_bytes: c.elem.bytes(),
            }),
            Some((c, Plan::Dot)) => out.push(Site::Dot { describe: c.describe(), n: c.extent(c.n) }),
            None => {}
        }
    }
    let parallel = ir::find(module, &["affine.parallel", "strata.parallel_for"]);
    let innermost: Vec<MlirOperation> = parallel
        .iter()
        .copied()
        .filter(|op| ir::name(*op) == "affine.parallel")
        .filter(|op| !ir::walk(*op).iter().skip(1).any(|o| ir::name(*o) == "affine.parallel"))
        .collect();
    if !innermost.is_empty() {
        let latency_bound = innermost
            .iter()
            .filter(|op| ir::walk(**op).iter().any(|o| matches!(ir::name(*o).as_str(), "scf.for" | "scf.while")))
            .count();
        let elem_bytes = innermost.iter().flat_map(|op| widest_element(*op)).max().unwrap_or(4);
        out.push(Site::Loops { count: innermost.len(), latency_bound, elem_bytes });
    }
    let outermost: Vec<MlirOperation> = parallel
        .iter()
        .copied()
        .filter(|op| ir::enclosing(*op, "affine.parallel").is_none() && ir::enclosing(*op, "strata.parallel_for").is_none())
        .filter(|op| takes_grain_option(*op))
        .collect();
    // Every outer-product contraction becomes a parallel loop over its
    // column blocks too.
    let contractions = out.iter().filter(|s| matches!(s, Site::Contraction { .. })).count();
    if !outermost.is_empty() || contractions > 0 {
        let widest = outermost.iter().filter_map(|op| trip_count(*op)).max();
        out.push(Site::Parallel { count: outermost.len() + contractions, widest });
    }
    out
}

/// Whether `strata-parallelize{grain}` reaches this loop: not a
/// `parallel_for` with its own `grain`, nor a reducing one (its chunks
/// loop gets grain 1 from `strata-lower-parallel-reductions`).
fn takes_grain_option(op: MlirOperation) -> bool {
    if ir::name(op) != "strata.parallel_for" {
        return true;
    }
    // SAFETY: a live op of the module being read.
    let results = unsafe { mlir_sys::mlirOperationGetNumResults(op) };
    ir::attribute(op, "grain").is_none() && results == 0
}

/// The widest element (bytes) a loop nest loads or stores.
fn widest_element(op: MlirOperation) -> Option<i64> {
    ir::walk(op)
        .into_iter()
        .filter(|o| matches!(ir::name(*o).as_str(), "affine.load" | "memref.load"))
        .filter_map(|o| crate::vectorize_loops::scalar_bits(ir::value_type(ir::result(o, 0))))
        .map(|bits| bits as i64 / 8)
        .max()
}

fn trip_count(op: MlirOperation) -> Option<i64> {
    if ir::name(op) != "affine.parallel" {
        return None;
    }
    Some(ir::constant_map(op, "upperBoundsMap")? - ir::constant_map(op, "lowerBoundsMap")?)
}

/// The values `strata-tile` would choose for a contraction (rows, vectors,
/// reduction steps), the tuner's starting point.
pub fn default_tiles(site: &Site, target: &Target) -> Option<(i64, i64, i64)> {
    let Site::Contraction { m, k, elem_bytes, .. } = site else { return None };
    let t = crate::tile::choose(*k, *elem_bytes, target);
    Some((t.mr.min(*m), t.nv, t.kc))
}

/// The value of a knob other than the tiles that the passes choose by
/// themselves for `site` on `target` (what the option's `0` means).
pub fn default_value(knob: Knob, site: &Site, target: &Target) -> Option<i64> {
    Some(match (knob.name, site) {
        ("vector-width", _) => target.vector_bits,
        ("interleave", _) => default_interleave(target),
        ("grain", _) => 0,
        ("column-block", _) => 0,
        ("nb", _) => 0,
        ("min-tasks", _) => crate::vectorize_contraction::MIN_TASKS,
        ("pack-a", _) => 0,
        ("unroll", _) => crate::vectorize_contraction::UNROLL,
        ("mc", _) => 0,
        ("dot-group", Site::Dot { n, .. }) => crate::vectorize_contraction::DOT_GROUP.min(*n).max(1),
        _ => return None,
    })
}

/// The target's interleave factor (what `interleave=0` means).
pub fn default_interleave(target: &Target) -> i64 {
    crate::vectorize_loops::interleave_factor(target.vector_registers) as i64
}

/// Elements of `elem_bytes` in one of the target's vectors (the unit of
/// the tile columns), at least one.
fn lanes(target: &Target, elem_bytes: i64) -> i64 {
    (target.vector_bits / 8 / elem_bytes.max(1)).max(1)
}

/// The legal values of `knob` for `site` on `target`, in increasing order.
pub fn legal(knob: Knob, site: &Site, target: &Target) -> Vec<i64> {
    match (knob.name, site) {
        ("mr", Site::Contraction { m, .. }) => (1..=16.min(*m).max(1)).collect(),
        ("nv", Site::Contraction { .. }) => (1..=8).collect(),
        ("kc", Site::Contraction { k, elem_bytes, .. }) => {
            // The packed panel (KC x NV*W) within L2 at the widest tile.
            let lanes = lanes(target, *elem_bytes);
            let bound = (target.l2_bytes / (8 * lanes * elem_bytes)).max(16);
            let top = bound.min(*k).max(1);
            (16.min(top)..=top).collect()
        }
        ("nb", Site::Contraction { n, elem_bytes, .. }) => {
            // At the narrowest register tile (one vector) there are the
            // most blocks; more than the blocks is one task of all of them.
            let lanes = lanes(target, *elem_bytes);
            let blocks = ((n + lanes - 1) / lanes).clamp(1, 64);
            (0..=blocks).collect()
        }
        ("vector-width", _) => [128, 256, 512].into_iter().filter(|b| *b <= target.vector_bits).collect(),
        // Not 3: the body runs on one vector of 3 x W lanes, which LLVM
        // widens to 4 x W with masks of odd length; on Zen 3 the
        // scf.while Mandelbrot (f64, W = 4) ran 2.5x slower with 3 than
        // with 2 or 4, so the tuner would only spend time rejecting it.
        ("interleave", _) => vec![1, 2, 4],
        ("min-tasks", Site::Contraction { .. }) => (1..=64).collect(),
        ("pack-a", Site::Contraction { .. }) => vec![0, 1, 2],
        // Rounded up to register tiles anyway: steps of 8 rows, up to M.
        ("mc", Site::Contraction { m, .. }) if *m > 1 => std::iter::once(0).chain((8..=*m).step_by(8)).collect(),
        // Past K (or past 8) every step is in the first loop: the same code.
        ("unroll", Site::Contraction { k, .. }) => [1, 2, 4, 8].into_iter().filter(|u| *u == 1 || u <= k).collect(),
        // More than the outputs is one group of all of them: the same code.
        ("dot-group", Site::Dot { n, .. }) => (1..=crate::vectorize_contraction::DOT_GROUP.min(*n).max(1)).collect(),
        ("column-block", Site::Columns { columns, elem_bytes, .. }) => {
            // Whole lines of the widest element, narrower than the columns.
            let line = (64 / elem_bytes.max(&1)).max(1);
            [0, 1].into_iter().chain((1..).map(|k| k * line).take_while(|b| b < columns)).collect()
        }
        ("grain", Site::Parallel { widest, .. }) => {
            // Past 4096 iterations a chunk is long enough to amortize a claim.
            let top = widest.unwrap_or(4096).clamp(1, 4096);
            std::iter::once(0).chain(1..=top).collect()
        }
        _ => Vec::new(),
    }
}

/// A coarse grid over `knob`'s legal values: a handful spread
/// geometrically, what the tuner tries first.
pub fn coarse(knob: Knob, site: &Site, target: &Target) -> Vec<i64> {
    let legal = legal(knob, site, target);
    let Some((&lo, &hi)) = legal.first().zip(legal.last()) else { return Vec::new() };
    let pick: Vec<i64> = match knob.name {
        "mr" => vec![1, 2, 4, 6, 8, 12, 16],
        "nv" => vec![1, 2, 3, 4, 6, 8],
        "kc" => vec![16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
        "grain" => vec![0, 1, 4, 16, 64, 256],
        "nb" => vec![0, 1, 2, 4, 8, 16, 32, 64],
        "min-tasks" => vec![1, 2, 4, 8, 16, 32, 64],
        "mc" => vec![0, 24, 48, 96, 192, 384, 768, 1536],
        "column-block" => vec![0, 1, 16, 32, 64, 128, 256, 512, 1024],
        _ => return legal,
    };
    let mut out: Vec<i64> = pick.into_iter().filter(|v| legal.contains(v) || (*v >= lo && *v <= hi)).collect();
    // The whole extent is a natural cache block too (one block of K).
    if knob.name == "kc" && !out.contains(&hi) {
        out.push(hi);
    }
    out
}

/// A configuration: a value per knob (by name); knobs not named keep the
/// passes' own choice.
pub type Config = BTreeMap<String, i64>;

/// The pass options that express `config`, by pass: `strata-tile` gets
/// `tile-sizes=MR,COLUMNS,KC` (columns in elements, whole vectors of the
/// target's width for `elem_bytes`), the others their option. All three
/// tile knobs must be given together (tile-sizes is positional); `nb`
/// above 0 adds the fourth size, its blocks in columns.
pub fn options_for(config: &Config, target: &Target, elem_bytes: i64) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let (Some(mr), Some(nv), Some(kc)) = (config.get("mr"), config.get("nv"), config.get("kc")) {
        let lanes = lanes(target, elem_bytes);
        let columns = nv * lanes;
        let nc = match config.get("nb") {
            Some(nb) if *nb > 0 => format!(",{}", nb * columns),
            _ => String::new(),
        };
        out.entry(MR.pass.into()).or_default().push(format!("tile-sizes={mr},{columns},{kc}{nc}"));
    }
    for knob in [COLUMN_BLOCK, VECTOR_WIDTH, MIN_TASKS, MC, PACK_A, UNROLL, DOT_GROUP, INTERLEAVE, GRAIN] {
        if let Some(v) = config.get(knob.name) {
            let value = match knob.name {
                "pack-a" => PACK_A_WORDS.get(*v as usize).copied().unwrap_or("auto").to_string(),
                _ => v.to_string(),
            };
            out.entry(knob.pass.into()).or_default().push(format!("{}={value}", knob.option));
        }
    }
    out.into_iter().map(|(k, v)| (k, v.join(" "))).collect()
}

/// `pipeline` with `options` (pass name to option text) added to the
/// top-level elements naming those passes; an option the element already
/// has is replaced.
pub fn with_options(pipeline: &Pipeline, options: &BTreeMap<String, String>) -> Pipeline {
    let elements = pipeline
        .elements
        .iter()
        .map(|e| match e {
            Element::Pass { name, options: given } if options.contains_key(name) => {
                let extra = &options[name];
                let keys: Vec<&str> = extra.split_whitespace().filter_map(|kv| kv.split('=').next()).collect();
                let kept: Vec<&str> =
                    given.split_whitespace().filter(|kv| !keys.contains(&kv.split('=').next().unwrap_or(""))).collect();
                let merged: Vec<&str> = kept.into_iter().chain(extra.split_whitespace()).collect();
                Element::Pass { name: name.clone(), options: merged.join(" ") }
            }
            other => other.clone(),
        })
        .collect();
    Pipeline { anchor: pipeline.anchor.clone(), elements }
}

/// The pass the tuning point precedes.
pub const TUNING_POINT: &str = "strata-fuse-columns";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_pipeline_text() {
        let mut config = Config::new();
        config.insert("mr".into(), 4);
        config.insert("nv".into(), 3);
        config.insert("kc".into(), 128);
        config.insert("interleave".into(), 2);
        config.insert("grain".into(), 16);
        config.insert("pack-a".into(), 2);
        config.insert("min-tasks".into(), 4);
        let t = Target { vector_bits: 256, ..Target::baseline() };
        let o = options_for(&config, &t, 4);
        assert_eq!(o["strata-tile"], "tile-sizes=4,24,128");
        assert_eq!(o["strata-vectorize"], "min-tasks=4 pack-a=always interleave=2");
        let p = with_options(&crate::levels::pipeline(crate::levels::Level::O3), &o);
        let text = p.to_text();
        assert!(text.contains("strata-tile{tile-sizes=4,24,128},strata-vectorize{min-tasks=4 pack-a=always interleave=2}"), "{text}");
        assert!(text.contains("strata-parallelize{grain=16}"), "{text}");
        // Each tuned pipeline still builds: every option is declared.
        p.steps().unwrap();
        let again = with_options(&p, &BTreeMap::from([("strata-vectorize".to_string(), "interleave=3".to_string())]));
        assert!(again.to_text().contains("strata-vectorize{min-tasks=4 pack-a=always interleave=3}"), "{}", again.to_text());
    }

    #[test]
    fn ranges_respect_the_op_and_target() {
        let t = Target { vector_bits: 256, vector_registers: 16, l2_bytes: 1 << 20, ..Target::baseline() };
        let site = Site::Contraction { describe: "3x100x64 f32".into(), m: 3, n: 64, k: 100, elem_bytes: 4 };
        assert_eq!(legal(MR, &site, &t), vec![1, 2, 3]);
        assert_eq!(*legal(KC, &site, &t).last().unwrap(), 100);
        assert_eq!(coarse(MR, &site, &t), vec![1, 2]);
        assert_eq!(coarse(KC, &site, &t), vec![16, 32, 64, 100]);
        assert_eq!(legal(VECTOR_WIDTH, &site, &t), vec![128, 256]);
        assert_eq!(default_tiles(&site, &t).unwrap().0, 3);
        assert_eq!(coarse(MIN_TASKS, &site, &t), vec![1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(legal(PACK_A, &site, &t), vec![0, 1, 2]);
        assert!(site.knobs().contains(&MIN_TASKS));
        assert!(site.knobs().contains(&UNROLL));
        assert_eq!(default_value(UNROLL, &site, &t), Some(1));
        assert!(site.knobs().contains(&MC));
        assert_eq!(default_value(MC, &site, &t), Some(0));
        let tall = Site::Contraction { describe: "20x8x64 f32".into(), m: 20, n: 64, k: 8, elem_bytes: 4 };
        assert_eq!(legal(MC, &tall, &t), vec![0, 8, 16]);
        assert_eq!(coarse(MC, &tall, &t), vec![0]);
        let shallow = Site::Contraction { describe: "8x3x64 f32".into(), m: 8, n: 64, k: 3, elem_bytes: 4 };
        assert_eq!(legal(UNROLL, &shallow, &t), vec![1, 2]);
        let mut unrolled = Config::new();
        unrolled.insert("unroll".into(), 4);
        assert_eq!(options_for(&unrolled, &t, 4)["strata-vectorize"], "unroll=4");
        let dot = Site::Dot { describe: "5x300x1 f32".into(), n: 5 };
        assert_eq!(legal(DOT_GROUP, &dot, &t), vec![1, 2, 3, 4, 5]);
        assert_eq!(default_value(DOT_GROUP, &dot, &t), Some(5));
        assert!(legal(MIN_TASKS, &dot, &t).is_empty());
        // 64 columns are 8 blocks of one 256-bit f32 vector.
        assert_eq!(legal(NB, &site, &t), (0..=8).collect::<Vec<_>>());
        assert_eq!(coarse(NB, &site, &t), vec![0, 1, 2, 4, 8]);
        assert_eq!(default_value(NB, &site, &t), Some(0));
        assert!(site.knobs().contains(&NB));
        let loops = Site::Loops { count: 1, latency_bound: 1, elem_bytes: 8 };
        assert_eq!(legal(INTERLEAVE, &loops, &t), vec![1, 2, 4]);
        assert!(legal(INTERLEAVE, &loops, &t).contains(&default_interleave(&t)));
        // Whole 64-byte lines of f32 narrower than the 100 columns, after
        // the cost rule (0) and never (1).
        let columns = Site::Columns { count: 1, columns: 100, elem_bytes: 4 };
        assert_eq!(legal(COLUMN_BLOCK, &columns, &t), vec![0, 1, 16, 32, 48, 64, 80, 96]);
        assert_eq!(coarse(COLUMN_BLOCK, &columns, &t), vec![0, 1, 16, 32, 64]);
        assert_eq!(default_value(COLUMN_BLOCK, &columns, &t), Some(0));
        assert_eq!(columns.knobs(), vec![COLUMN_BLOCK]);
    }

    #[test]
    fn blocks_per_task_is_the_fourth_tile_size() {
        let t = Target { vector_bits: 256, ..Target::baseline() };
        let mut config = Config::from([("mr".to_string(), 6), ("nv".to_string(), 2), ("kc".to_string(), 256)]);
        assert_eq!(options_for(&config, &t, 4)["strata-tile"], "tile-sizes=6,16,256");
        config.insert("nb".into(), 3);
        assert_eq!(options_for(&config, &t, 4)["strata-tile"], "tile-sizes=6,16,256,48");
        config.insert("nb".into(), 0);
        assert_eq!(options_for(&config, &t, 4)["strata-tile"], "tile-sizes=6,16,256");
    }
}
