//! `strata-vectorize`: turns loops and contractions into `vector` dialect
//! code at the target's vector width.
//!
//! Matches, in order:
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
//! Assumes the loops `strata-lower-to-affine` produces. Guarantees the same
//! results, with float sums reassociated only where the spec allows.

use crate::{
    contraction,
    external::{PassFailed, StrataPass},
    ir,
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
    target::Target,
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
    ],
    status: Status::Implemented,
    build: Build::Rust(|o: &PassOptions| Box::new(Vectorize { given: o.int("vector-width"), interleave: o.int("interleave") })),
};

#[derive(Clone, Copy)]
struct Vectorize {
    /// The `vector-width` option: 0 for the target's.
    given: i64,
    /// The `interleave` option: 0 for the target's.
    interleave: i64,
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
        let planned: Vec<_> = ir::find(root.to_raw(), &["linalg.generic"]).into_iter().filter_map(contraction::planned).collect();
        for (con, plan) in planned {
            crate::vectorize_contraction::lower(&con, &plan, bits);
        }
        crate::vectorize_loops::run(root.to_raw(), bits, interleave);
        crate::expand_math::run(root.to_raw());
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}
