//! `strata-lower-linalg-to-affine` (a step of `strata-lower-to-affine`):
//! upstream's `convert-linalg-to-affine-loops`, except for contractions
//! when asked.
//!
//! Matches every linalg op on buffers. Produces its affine loop nest, as
//! upstream does, op by op (through a C++ hook: the C API has no
//! per-op lowering). With `keep-contractions`, a contraction that
//! `strata-vectorize` has a kernel for ([`crate::contraction::planned`])
//! stays a `linalg.generic`, so that `strata-tile` and `strata-vectorize`
//! see its structure (indexing maps, roles of each dimension) instead of
//! recovering it from loops; so does the zero fill of its output right
//! before it, which the kernel folds into its accumulators. Guarantees no other linalg op is left; ops
//! upstream cannot lower (tensor semantics) stay as they are, as upstream
//! leaves them.

use crate::{
    contraction,
    external::{PassFailed, StrataPass},
    ir,
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-lower-linalg-to-affine",
    summary: "Lower linalg ops on buffers to affine loops (convert-linalg-to-affine-loops), optionally keeping contractions structured for strata-vectorize",
    options: &[OptionSpec {
        name: "keep-contractions",
        kind: OptionKind::Bool,
        default: "false",
        description: "leave the contractions strata-vectorize has a kernel for as linalg.generic",
    }],
    status: Status::Internal,
    build: Build::Rust(|o: &PassOptions| Box::new(LowerLinalg { keep_contractions: o.boolean("keep-contractions") })),
};

#[derive(Clone, Copy)]
struct LowerLinalg {
    keep_contractions: bool,
}

impl StrataPass for LowerLinalg {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        // Outermost linalg ops only: a generic's body (linalg.yield,
        // linalg.index) goes with it.
        let ops: Vec<_> = ir::walk(root.to_raw())
            .into_iter()
            .filter(|op| ir::name(*op).starts_with("linalg.") && !ir::name(ir::parent(*op)).starts_with("linalg."))
            .collect();
        // A kept contraction's zero init stays too: the kernel starts
        // from zero instead ([`contraction::zero_fill`]).
        let mut keep = Vec::new();
        if self.keep_contractions {
            for op in &ops {
                if let Some((con, _)) = contraction::planned(*op) {
                    keep.push(op.ptr);
                    keep.extend(contraction::zero_fill(&con).map(|f| f.ptr));
                }
            }
        }
        for op in ops {
            if keep.contains(&op.ptr) {
                continue;
            }
            // SAFETY: a live op, not touched again.
            unsafe { strata_dialect::linalg_op_to_affine_loops(op) };
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}
