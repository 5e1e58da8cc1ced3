//! `strata-parallelize`: turns `strata.parallel_for`, and the loops that
//! `strata-lower-to-affine` marked parallel, into parallel code.
//!
//! Matches `strata.parallel_for` (and, with `runtime=omp`, `affine.parallel`
//! and `scf.parallel`). Produces:
//! - first, always, `strata-lower-parallel-reductions`: a reducing
//!   `parallel_for` becomes one over chunks writing partial results, and a
//!   fold of them;
//! - then `strata-parallel-for-to-scf`: each `strata.parallel_for`
//!   becomes an `scf.parallel` with the same bounds and body;
//! - `runtime=omp`: `lower-affine` then `convert-scf-to-openmp`, so every
//!   parallel loop becomes `omp.parallel` + `omp.wsloop` (LLVM's OpenMP
//!   runtime, which the JIT then loads), then `strata-inline-alloca-scopes`,
//!   since the scopes the conversion wraps around each body must stay one
//!   block, which lowering the loops inside them to `cf` would break, then
//!   `strata-fence-streaming-stores`: a thread of a team that stored with
//!   streaming stores fences before it joins;
//! - `runtime=pool` (the default): `lower-affine` (marked loops become
//!   `scf.parallel`), then `strata-outline-parallel-loops`: each outermost
//!   parallel loop becomes an outlined body and a call to the runtime's
//!   thread pool (`strata_parallel_for`); nested ones run inside it; then
//!   `strata-hoist-temporaries`: an iteration's temporaries are allocated
//!   once per chunk.
//!
//! Assumes `strata.parallel_for` bodies are free of cross-iteration races
//! (the spec makes a racy body the program's error).

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::{OptionKind, OptionSpec, PassOptions},
    pipeline::Pipeline,
    pass_info::{Build, PassInfo, Status},
};

fn expand(options: &PassOptions) -> Pipeline {
    let steps = match options.choice("runtime") {
        "omp" => "strata-privatize-atomics,strata-lower-parallel-reductions,strata-parallel-for-to-scf,lower-affine,convert-scf-to-openmp,strata-inline-alloca-scopes,strata-fence-streaming-stores".to_string(),
        _ => match options.int("grain") {
            0 => "strata-privatize-atomics,strata-lower-parallel-reductions,strata-parallel-for-to-scf,lower-affine,strata-outline-parallel-loops,strata-hoist-temporaries".to_string(),
            g => format!("strata-privatize-atomics,strata-lower-parallel-reductions,strata-parallel-for-to-scf,lower-affine,strata-outline-parallel-loops{{grain={g}}},strata-hoist-temporaries"),
        },
    };
    Pipeline::parse_elements("builtin.module", &steps).expect("the fixed parallelization pipeline parses")
}

pub static INFO: PassInfo = PassInfo {
    argument: "strata-parallelize",
    summary: "Turn parallel loops and strata.parallel_for into thread-pool runtime calls (runtime=pool) or omp (runtime=omp)",
    options: &[
        OptionSpec {
            name: "runtime",
            kind: OptionKind::Choice(&["pool", "omp"]),
            default: "pool",
            description: "pool: Strata's thread pool; omp: LLVM's OpenMP runtime",
        },
        OptionSpec {
            name: "grain",
            kind: OptionKind::Int,
            default: "0",
            description: "runtime=pool: iterations per claimed chunk of a parallel loop without its own grain; 0 lets the runtime choose (about four chunks per thread)",
        },
    ],
    status: Status::Implemented,
    build: Build::Pipeline(expand),
};

pub static TO_SCF: PassInfo = PassInfo {
    argument: "strata-parallel-for-to-scf",
    summary: "Rewrite each strata.parallel_for into an scf.parallel (first step of strata-parallelize)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(ParallelForToScf)),
};

#[derive(Clone, Copy)]
struct ParallelForToScf;

impl StrataPass for ParallelForToScf {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        // Innermost last: pre-order lists outer loops first, and rewriting an
        // outer loop moves (does not destroy) the inner ones.
        let loops = ir::find(root.to_raw(), &["strata.parallel_for"]);
        for op in loops {
            let b = Builder::of_op(op);
            let loc = ir::location(op);
            let bounds = ir::operands(op);
            let mut attrs = vec![("operandSegmentSizes", b.attr("array<i32: 1, 1, 1, 0>"))];
            if let Some(grain) = ir::attribute(op, "grain") {
                attrs.push(("strata.grain", grain));
            }
            let par = ir::insert_before(op, b.op("scf.parallel", loc, &bounds, &[], &attrs, 1));
            ir::take_body(ir::region(par, 0), ir::region(op, 0));
            let block = ir::first_block(ir::region(par, 0));
            let yield_op = ir::ops_in(block).into_iter().last().expect("verified: the body ends in strata.yield");
            ir::insert_before(yield_op, b.op("scf.reduce", ir::location(yield_op), &[], &[], &[], 0));
            ir::replace_op(yield_op, &[]);
            ir::replace_op(op, &[]);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

pub static INLINE_ALLOCA_SCOPES: PassInfo = PassInfo {
    argument: "strata-inline-alloca-scopes",
    summary: "Inline memref.alloca_scope ops that hold no alloca (step of strata-parallelize{runtime=omp})",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(InlineAllocaScopes)),
};

/// Matches `memref.alloca_scope` with no `memref.alloca` inside (a scope
/// with nothing to free). Produces its body in its place, the scope's
/// results replaced by the values its terminator returns.
#[derive(Clone, Copy)]
struct InlineAllocaScopes;

impl StrataPass for InlineAllocaScopes {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let scopes: Vec<_> =
            ir::find(root.to_raw(), &["memref.alloca_scope"]);
        for scope in scopes {
            if ir::walk(scope).iter().any(|op| ir::name(*op) == "memref.alloca") {
                continue;
            }
            let body = ir::ops_in(ir::first_block(ir::region(scope, 0)));
            let Some((ret, ops)) = body.split_last() else { continue };
            for op in ops {
                // SAFETY: moving a live op before a live op of another block.
                unsafe { mlir_sys::mlirOperationMoveBefore(*op, scope) };
            }
            let values = ir::operands(*ret);
            ir::replace_op(scope, &values);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}

pub static FENCE_STREAMING_STORES: PassInfo = PassInfo {
    argument: "strata-fence-streaming-stores",
    summary: "End each omp.parallel region that holds streaming stores with a full fence (step of strata-parallelize{runtime=omp})",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(FenceStreamingStores)),
};

/// Matches `omp.parallel` regions holding a streaming (`nontemporal`)
/// `vector.store`. Produces `llvm.fence seq_cst` before the region's
/// `omp.terminator`, so every thread of the team orders its weakly ordered
/// stores before the join, whatever libomp's barrier does; the pool's
/// outlined bodies end in the same fence (`strata-outline-parallel-loops`).
/// Once per thread and region, not per iteration: a fence per row cost the
/// stencil 17 ms against 7.2 (see `vectorize_loops`).
#[derive(Clone, Copy)]
struct FenceStreamingStores;

impl StrataPass for FenceStreamingStores {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        for par in ir::find(root.to_raw(), &["omp.parallel"]) {
            if !ir::walk(par).into_iter().any(ir::is_streaming_store) {
                continue;
            }
            let b = Builder::of_op(par);
            for block in ir::blocks(ir::region(par, 0)) {
                if let Some(term) = ir::ops_in(block).into_iter().last().filter(|t| ir::name(*t) == "omp.terminator") {
                    ir::insert_before(term, ir::full_fence(&b, ir::location(term)));
                }
            }
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}
