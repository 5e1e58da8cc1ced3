//! `strata-vectorize`: turns loops and contractions into `vector` dialect
//! code at the target's vector width.
//!
//! Matches, in order:
//! 0. innermost `scf.for` loops a user wrote (a stencil's column loop in
//!    a `strata.parallel_for`), contiguous along the loop
//!    ([`crate::vectorize_user_loops`], streaming stores past the cache);
//! 1. the contractions `strata-lower-to-affine{keep-contractions}` left as
//!    `linalg.generic`s ([`crate::contraction`]), lowered BLIS-style to a
//!    packed, register-blocked micro-kernel or a streaming dot kernel
//!    ([`crate::vectorize_contraction`], with a fused elementwise
//!    epilogue);
//! 2. innermost parallel loops and `strata.map` bodies, `scf.while` escape
//!    loops included ([`crate::vectorize_loops`]);
//! 3. f32 `exp` and `tanh`, rewritten from libm calls into arithmetic
//!    ([`crate::expand_math`], last, so the loops above can vectorize
//!    them).
//!
//! Options override the heuristics' decisions (the tuner's knobs,
//! [`crate::knobs`]): `vector-width`, `interleave`, and for the
//! contraction kernels `min-tasks` (row splitting), `mc` (rows per task),
//! `pack-a`, `unroll` (the micro-kernel's loop) and `dot-group`; none
//! changes what is computed.
//!
//! Assumes the loops `strata-lower-to-affine` produces. Guarantees the same
//! results, with float sums reassociated only where the spec allows.

use crate::{
    contraction,
    external::{PassFailed, StrataPass},
    ir,
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
    target::Target,
    vectorize_contraction::{KernelOptions, PackA, DOT_GROUP},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-vectorize",
    summary: "Turn loops into vector dialect code at the target's vector width: contraction kernels (packed micro-kernel, dot products), elementwise loops and strata.map bodies",
    options: &[
        OptionSpec {
            name: "vector-width",
            kind: OptionKind::Int,
            default: "0",
            description: "vector width in bits: 128, 256 or 512; 0 uses the module's strata.target (512 with AVX-512, 256 with AVX2, else 128)",
        },
        OptionSpec {
            name: "interleave",
            kind: OptionKind::Int,
            default: "0",
            description: "vectors a latency-bound loop body (one with an inner loop) runs at once: 1 to 4; 0 uses the target's (registers / 8)",
        },
        OptionSpec {
            name: "min-tasks",
            kind: OptionKind::Int,
            default: "0",
            description: "outer-product contractions with fewer column blocks than this split their rows into at least this many parallel tasks: 1 (never split) to 64; 0 uses 16",
        },
        OptionSpec {
            name: "pack-a",
            kind: OptionKind::Choice(&["auto", "never", "always"]),
            default: "auto",
            description: "whether outer-product contractions copy A into row panels first: auto (with more than two column blocks, or when A runs along M), never, always",
        },
        OptionSpec {
            name: "dot-group",
            kind: OptionKind::Int,
            default: "0",
            description: "outputs the dot kernel (matvec) computes at a time, sharing each vector of the other operand: 1 to 8; 0 uses 8",
        },
        OptionSpec {
            name: "mc",
            kind: OptionKind::Int,
            default: "0",
            description: "rows of A per task of an outer-product contraction (BLIS's MC), rounded up to whole register tiles: 1 to 1048576; 0 lets the partition choose",
        },
        OptionSpec {
            name: "unroll",
            kind: OptionKind::Int,
            default: "0",
            description: "reduction steps per iteration of the outer-product contraction's micro-kernel loop: 1 to 8; 0 uses 1",
        },
    ],
    status: Status::Implemented,
    build: Build::Rust(|o: &PassOptions| {
        Box::new(Vectorize {
            given: o.int("vector-width"),
            interleave: o.int("interleave"),
            min_tasks: o.int("min-tasks"),
            pack_a: match o.choice("pack-a") {
                "never" => PackA::Never,
                "always" => PackA::Always,
                _ => PackA::Auto,
            },
            dot_group: o.int("dot-group"),
            unroll: o.int("unroll"),
            mc: o.int("mc"),
        })
    }),
};

#[derive(Clone, Copy)]
struct Vectorize {
    /// The `vector-width` option: 0 for the target's.
    given: i64,
    /// The `interleave` option: 0 for the target's.
    interleave: i64,
    /// The contraction kernels' options: 0 for the heuristics'.
    min_tasks: i64,
    pack_a: PackA,
    dot_group: i64,
    unroll: i64,
    mc: i64,
}

impl StrataPass for Vectorize {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let bits = match self.given {
            0 => Target::of_module(root.to_raw()).vector_bits as usize,
            128 | 256 | 512 => self.given as usize,
            other => {
                ir::emit_error(
                    root.to_raw(),
                    &format!("'strata-vectorize' option vector-width must be 128, 256 or 512 (or 0 for the target's), not {other}"),
                );
                return Err(PassFailed);
            }
        };
        let interleave = match self.interleave {
            0 => crate::vectorize_loops::interleave_factor(Target::of_module(root.to_raw()).vector_registers),
            1..=4 => self.interleave as usize,
            other => {
                ir::emit_error(
                    root.to_raw(),
                    &format!("'strata-vectorize' option interleave must be 1 to 4 (or 0 for the target's), not {other}"),
                );
                return Err(PassFailed);
            }
        };
        let mut kernel = KernelOptions { pack_a: self.pack_a, ..KernelOptions::default() };
        for (name, value, top, slot) in
            [("min-tasks", self.min_tasks, 64, &mut kernel.min_tasks), ("dot-group", self.dot_group, DOT_GROUP, &mut kernel.dot_group), ("unroll", self.unroll, 8, &mut kernel.unroll), ("mc", self.mc, 1 << 20, &mut kernel.mc)]
        {
            match value {
                0 => {}
                v if (1..=top).contains(&v) => *slot = v,
                other => {
                    ir::emit_error(
                        root.to_raw(),
                        &format!("'strata-vectorize' option {name} must be 1 to {top} (or 0 for the default), not {other}"),
                    );
                    return Err(PassFailed);
                }
            }
        }
        // First, while every scalar `scf.for` is one a user wrote (the
        // steps below emit their own).
        crate::vectorize_user_loops::run(root.to_raw(), bits, Target::of_module(root.to_raw()).l3_bytes);
        let planned: Vec<_> = ir::find(root.to_raw(), &["linalg.generic"]).into_iter().filter_map(contraction::planned).collect();
        for (con, plan) in planned {
            crate::vectorize_contraction::lower(&con, &plan, bits, &kernel);
        }
        crate::vectorize_loops::run(root.to_raw(), bits, interleave);
        crate::expand_math::run(root.to_raw());
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}
