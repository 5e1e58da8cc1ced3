//! `strata-instrument-races`: the compile-time half of
//! `--strata-races=runtime`, which finds the races the static check could
//! only warn about (indirect indices, say) while the kernel runs.
//!
//! Matches every outermost `strata.parallel_for`. Produces, around it,
//! `func.call @strata_race_begin(line, col)` (then
//! `@strata_race_inner_loop(k, line, col)` for each `parallel_for` nested
//! in it, numbered from 1) and `@strata_race_end()`; before each run of a
//! nested `parallel_for`, `@strata_race_inner()`, its instance; at the
//! start of each `parallel_for` body with a watched access, `llvm.call
//! @strata_race_log()`, the log of the thread that runs it; and before
//! each watched `memref.load`, `memref.store` and atomic update
//! (`memref.atomic_rmw`, `memref.generic_atomic_rmw`: they race with plain
//! accesses, never with each other) in the body (nested loops included)
//! an inline append of one entry to that log: the buffer's aligned
//! address, the element's linear index (`offset + sum(index * stride)`)
//! << 16 | flags (a load, a store or an update; the loop's number `k << 8`),
//! the loop's induction variable, and the nested `parallel_for`'s
//! instance or'ed with the low 32 bits of its induction variable (0
//! outside nested loops): one 32-byte store and one store of the log's new
//! end, after `@strata_race_flush(log)` when it is full. Inline because a
//! call per access cost 13 stores (return address, saved registers), which
//! queue behind a scatter's missing stores (15x the kernel; inline, about
//! 6x on a 4M scatter at 1 thread). `@strata_race_log` is declared
//! `memory(none)` (it returns one pointer per thread), so LLVM hoists it
//! out of a chunk's iterations. The runtime (`strata_runtime::race`)
//! keeps the shadow table and reports the first conflicting pair of
//! iterations, of the outer loop or of an inner one within one outer
//! iteration.
//!
//! Only the accesses `strata-check-races` cannot prove independent of every
//! other access are watched ([`crate::check_races::watched_accesses`]):
//! a race is a pair, and a pair proven independent cannot race, so
//! watching the rest finds nothing and only costs. Why it matters: each
//! watched access is an append (and a call when the log is full), which
//! keeps LLVM from vectorizing the loop;
//! a body the check proves race-free (`y[i] = exp(x[i]) * a[i] + b[i]`)
//! runs at full speed, and a histogram watches its bins but not the
//! values it reads. The check's proofs assume distinct memref values do
//! not share memory, which the caller decides (the same buffer passed
//! twice). So a loop over two or more buffers runs in two versions: before
//! it, each buffer's byte range goes to `strata_race_range`, and
//! `strata_race_disjoint` picks the loop with only the watched accesses
//! when the ranges are disjoint, else a copy with every access watched.
//!
//! The watched accesses are those the check cannot prove for the outer
//! loop or for any nested one.
//!
//! Nests deeper than two: a strand names one loop's iteration, so an
//! access gets one entry per level of the nest, level `m`'s with the
//! strand of the level-`m` loop around it (0 outside one) and `m - 1` in
//! the buffer key's top byte (no user address has it): two accesses race
//! at the level of the innermost loop whose iterations they differ in.
//! The cost is that many appends per access, in such nests only.
//!
//! Assumes buffers allocated inside the body are private (they are not
//! instrumented). Guarantees: the kernel computes what it did; it only
//! gets slower.

use mlir_sys::{self as sys, MlirOperation, MlirValue};

use crate::{
    external::{PassFailed, StrataPass},
    ir::{self, Builder},
    options::PassOptions,
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-instrument-races",
    summary: "Instrument loads and stores of parallel_for bodies for the run-time race checker (--strata-races=runtime)",
    options: &[],
    status: Status::Internal,
    build: Build::Rust(|_: &PassOptions| Box::new(InstrumentRaces)),
};

/// The runtime's entry points called with `func.call`, and their types.
const HOOKS: [(&str, &str); 7] = [
    ("strata_race_begin", "(i64, i64) -> ()"),
    ("strata_race_inner_loop", "(i64, i64, i64) -> ()"),
    ("strata_race_inner", "() -> i64"),
    ("strata_race_flush", "(!llvm.ptr) -> !llvm.ptr"),
    ("strata_race_end", "() -> i32"),
    ("strata_race_range", "(i64, i64) -> ()"),
    ("strata_race_disjoint", "() -> i1"),
];

/// The thread's log (`strata_runtime::race::Log`): an `llvm.func`, so that
/// it can say `memory(none)` (the same pointer on every call of a thread)
/// and LLVM hoists it out of a chunk's iterations.
const LOG_HOOK: &str = "strata_race_log";

#[derive(Clone, Copy)]
struct InstrumentRaces;

impl StrataPass for InstrumentRaces {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let module = root.to_raw();
        if ir::name(module) != "builtin.module" {
            ir::emit_error(module, "'strata-instrument-races' runs on a builtin.module");
            return Err(PassFailed);
        }
        let loops: Vec<MlirOperation> =
            ir::find(module, &["strata.parallel_for"]).into_iter().filter(|op| ir::enclosing(*op, "strata.parallel_for").is_none()).collect();
        if loops.is_empty() {
            return Ok(());
        }
        declare_hooks(module);
        for lp in loops {
            instrument(lp);
        }
        Ok(())
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(*self)
    }
}


fn declare_hooks(module: MlirOperation) {
    let b = Builder::of_op(module);
    let body = ir::first_block(ir::region(module, 0));
    for (name, ty) in HOOKS {
        if ir::defines_symbol(module, name) {
            continue;
        }
        let f = b.op(
            "func.func",
            ir::location(module),
            &[],
            &[],
            &[
                ("sym_name", b.attr(&format!("\"{name}\""))),
                ("function_type", b.attr(ty)),
                ("sym_visibility", b.attr("\"private\"")),
            ],
            1,
        );
        ir::append(body, f);
    }
    if !ir::defines_symbol(module, LOG_HOOK) {
        let ptr = ptr_type(&b);
        // SAFETY: a live context and result type.
        let fn_type = unsafe { sys::mlirLLVMFunctionTypeGet(ptr, 0, std::ptr::null(), false) };
        let effects = "#llvm.memory_effects<other = none, argMem = none, inaccessibleMem = none, errnoMem = none, targetMem0 = none, targetMem1 = none>";
        // SAFETY: live handles.
        let (unit, fn_attr) = unsafe { (sys::mlirUnitAttrGet(b.ctx), sys::mlirTypeAttrGet(fn_type)) };
        let f = b.op(
            "llvm.func",
            ir::location(module),
            &[],
            &[],
            &[
                ("sym_name", b.attr(&format!("\"{LOG_HOOK}\""))),
                ("function_type", fn_attr),
                ("memory_effects", b.attr(effects)),
                ("no_unwind", unit),
                ("will_return", unit),
            ],
            1,
        );
        ir::append(body, f);
    }
}

/// `!llvm.ptr`.
fn ptr_type(b: &Builder) -> sys::MlirType {
    // SAFETY: a live context.
    unsafe { sys::mlirLLVMPointerTypeGet(b.ctx, 0) }
}

fn call(b: &Builder, loc: sys::MlirLocation, name: &str, args: &[MlirValue], results: &[sys::MlirType]) -> MlirOperation {
    b.op("func.call", loc, args, results, &[("callee", b.attr(&format!("@{name}")))], 0)
}

/// The line and column of `op`'s location (0, 0 when it has none).
fn line_col(op: MlirOperation) -> (i64, i64) {
    let loc = ir::location(op);
    // SAFETY: location queries on a live location.
    unsafe {
        if sys::mlirLocationIsAFileLineColRange(loc) {
            (sys::mlirLocationFileLineColRangeGetStartLine(loc) as i64, sys::mlirLocationFileLineColRangeGetStartColumn(loc) as i64)
        } else {
            (0, 0)
        }
    }
}

/// The `strata.parallel_for`s nested in `lp`, in walk order: inner loop
/// `k` (numbered from 1, as the runtime numbers them) is `inner[k - 1]`.
fn inner_loops(lp: MlirOperation) -> Vec<MlirOperation> {
    ir::find(lp, &["strata.parallel_for"])
}

/// An `i64` constant before `at`.
fn i64_constant(at: MlirOperation, v: i64) -> MlirValue {
    let b = Builder::of_op(at);
    let i64t = b.ty("i64");
    ir::result(ir::insert_before(at, b.op("arith.constant", ir::location(at), &[], &[i64t], &[("value", ir::integer_attr(i64t, v))], 0)), 0)
}

fn instrument(lp: MlirOperation) {
    let b = Builder::of_op(lp);
    let loc = ir::location(lp);
    let i32t = b.ty("i32");
    let before = |op: MlirOperation| ir::insert_before(lp, op);
    let (line, col) = line_col(lp);
    let (line_v, col_v) = (i64_constant(lp, line), i64_constant(lp, col));
    before(call(&b, loc, "strata_race_begin", &[line_v, col_v], &[]));
    // The runtime names an inner loop's race by its location.
    for (k, q) in inner_loops(lp).into_iter().enumerate().take(255) {
        let (line, col) = line_col(q);
        let args = [i64_constant(lp, k as i64 + 1), i64_constant(lp, line), i64_constant(lp, col)];
        before(call(&b, loc, "strata_race_inner_loop", &args, &[]));
    }
    // SAFETY: `lp` is in a block; the end hook goes right after it.
    unsafe {
        let end = call(&b, loc, "strata_race_end", &[], &[i32t]);
        sys::mlirBlockInsertOwnedOperationAfter(sys::mlirOperationGetBlock(lp), lp, end);
    }

    // What the check cannot prove for the loop, or for an inner loop.
    let watched = std::iter::once(lp).chain(inner_loops(lp)).try_fold(std::collections::HashSet::new(), |mut all, l| {
        all.extend(crate::check_races::watched_accesses(l)?);
        Some(all)
    });
    let buffers = outside_buffers(lp);
    if watched.is_some() && buffers.len() > 1 {
        // Both versions: the watched accesses when the buffers are apart,
        // every access when they may overlap.
        // SAFETY: a live op; the clone is inserted below.
        let full = unsafe { sys::mlirOperationClone(lp) };
        for m in &buffers {
            let (start, bytes) = byte_range(lp, *m);
            ir::insert_before(lp, call(&b, loc, "strata_race_range", &[start, bytes], &[]));
        }
        let i1 = b.ty("i1");
        let apart = ir::result(ir::insert_before(lp, call(&b, loc, "strata_race_disjoint", &[], &[i1])), 0);
        let choice = ir::insert_before(lp, b.op("scf.if", loc, &[apart], &[], &[], 2));
        for (r, op) in [(0, lp), (1, full)] {
            let block = ir::new_block(&[], loc);
            ir::append_block(ir::region(choice, r), block);
            let yield_op = ir::append(block, b.op("scf.yield", loc, &[], &[], &[], 0));
            if r == 0 {
                // SAFETY: both ops are live; `lp` moves into the branch.
                unsafe { sys::mlirOperationMoveBefore(op, yield_op) };
            } else {
                ir::insert_before(yield_op, op);
            }
        }
        watch(lp, watched.as_ref());
        watch(full, None);
    } else {
        watch(lp, watched.as_ref());
    }
}

/// The memrefs from outside `lp` that its loads and stores use.
fn outside_buffers(lp: MlirOperation) -> Vec<MlirValue> {
    let mut out: Vec<MlirValue> = Vec::new();
    for op in ir::walk(lp) {
        let m = match ir::name(op).as_str() {
            "memref.load" | "memref.generic_atomic_rmw" => ir::operand(op, 0),
            "memref.store" | "memref.atomic_rmw" => ir::operand(op, 1),
            _ => continue,
        };
        if !ir::defined_inside(m, lp) && !out.iter().any(|o| o.ptr == m.ptr) {
            out.push(m);
        }
    }
    out
}

/// The bytes `memref` spans, built before `at`: its first element's
/// address and the length to one past its last element (`1 + sum((size -
/// 1) * stride)` elements; zero or less when a size is 0).
fn byte_range(at: MlirOperation, memref: MlirValue) -> (MlirValue, MlirValue) {
    let b = Builder::of_op(at);
    let loc = ir::location(at);
    let (index, i64t) = (b.index_type(), b.ty("i64"));
    let put = |op: MlirOperation| ir::result(ir::insert_before(at, op), 0);
    let (shape, elem) = ir::shape(ir::value_type(memref));
    let rank = shape.len();
    let (meta, aligned) = ir::strided_metadata(at, memref);
    let one = put(b.constant(loc, "1 : index", index));
    let mut extent = one;
    for k in 0..rank {
        let size = ir::result(meta, (2 + k) as isize);
        let stride = ir::result(meta, (2 + rank + k) as isize);
        let last = put(b.op("arith.subi", loc, &[size, one], &[index], &[], 0));
        let span = put(b.op("arith.muli", loc, &[last, stride], &[index], &[], 0));
        extent = put(b.op("arith.addi", loc, &[extent, span], &[index], &[], 0));
    }
    let bytes_per = crate::vectorize_loops::scalar_bits(elem).map_or(8, |bits| bits.div_ceil(8)) as i64;
    let width = put(b.index_constant(loc, bytes_per as i64));
    let offset = put(b.op("arith.muli", loc, &[ir::result(meta, 1), width], &[index], &[], 0));
    let start = put(b.op("arith.addi", loc, &[aligned, offset], &[index], &[], 0));
    let bytes = put(b.op("arith.muli", loc, &[extent, width], &[index], &[], 0));
    let cast = |v: MlirValue| put(b.op("arith.index_cast", loc, &[v], &[i64t], &[], 0));
    (cast(start), cast(bytes))
}

/// Logs each load and store of `lp` from outside it, or only those in
/// `watched`, before it happens ([`append`]).
fn watch(lp: MlirOperation, watched: Option<&std::collections::HashSet<usize>>) {
    let b = Builder::of_op(lp);
    let i64t = b.ty("i64");
    let iv = ir::block_argument(ir::first_block(ir::region(lp, 0)), 0);
    // Each run of an inner loop gets its instance from the runtime.
    let instances: Vec<(MlirOperation, MlirValue, i64)> = inner_loops(lp)
        .into_iter()
        .enumerate()
        .map(|(k, q)| (q, ir::result(ir::insert_before(q, call(&b, ir::location(q), "strata_race_inner", &[], &[i64t])), 0), (k as i64 + 1).min(255)))
        .collect();
    // How deep the nest of parallel loops inside `lp` goes.
    let depth = inner_loops(lp).into_iter().map(|q| parallel_chain(q, lp).len() + 1).max().unwrap_or(0);
    // Each parallel_for body gets the log of the thread that runs it.
    let mut logs: Vec<(MlirOperation, MlirValue)> = Vec::new();
    for op in ir::walk(lp) {
        if watched.is_some_and(|w| !w.contains(&(op.ptr as usize))) {
            continue;
        }
        let name = ir::name(op);
        // The kind's flag bits: 0 a load, 1 a store, 2 an atomic update.
        let (mem_at, kind) = match name.as_str() {
            "memref.load" => (0, 0),
            "memref.store" => (1, 1),
            "memref.atomic_rmw" => (1, 2),
            "memref.generic_atomic_rmw" => (0, 2),
            _ => continue,
        };
        let operands = ir::operands(op);
        let memref = operands[mem_at];
        if ir::defined_inside(memref, lp) {
            continue; // private to an iteration
        }
        let indices = &operands[mem_at + 1..];
        let at = |new: MlirOperation| ir::insert_before(op, new);
        let oloc = ir::location(op);
        let (aligned, linear) = ir::element_position(op, memref, indices);
        let cast = |v: MlirValue| ir::result(at(b.op("arith.index_cast", oloc, &[v], &[i64t], &[], 0)), 0);
        let (buffer, element, iteration) = (cast(aligned), cast(linear), cast(iv));
        let body_of = ir::enclosing(op, "strata.parallel_for").unwrap_or(lp);
        let log = match logs.iter().find(|(p, _)| p.ptr == body_of.ptr) {
            Some((_, log)) => *log,
            None => {
                let log = thread_log(body_of);
                logs.push((body_of, log));
                log
            }
        };
        let shift = i64_constant(op, 16);
        let shifted = ir::result(at(b.op("arith.shli", oloc, &[element, shift], &[i64t], &[], 0)), 0);
        // One entry per nesting level of the nest (one for a nest of two):
        // at level m, the strand is the level-m loop around the access (its
        // instance with its iteration's low 32 bits), or 0 outside one.
        let chain = parallel_chain(op, lp);
        for level in 1..=depth.max(1) {
            let around = chain.get(level - 1).and_then(|p| instances.iter().find(|(q, _, _)| q.ptr == p.ptr));
            let (strand, number) = match around {
                Some((q, instance, number)) => {
                    let j = cast(ir::block_argument(ir::first_block(ir::region(*q, 0)), 0));
                    let low = at(b.op("arith.andi", oloc, &[j, i64_constant(op, 0xFFFF_FFFF)], &[i64t], &[], 0));
                    (ir::result(at(b.op("arith.ori", oloc, &[*instance, ir::result(low, 0)], &[i64t], &[], 0)), 0), *number)
                }
                None => (i64_constant(op, 0), 0),
            };
            // Levels apart in the key's top byte (no user address has it).
            let key = if level == 1 {
                buffer
            } else {
                let tag = i64_constant(op, ((level - 1) as i64) << 56);
                ir::result(at(b.op("arith.ori", oloc, &[buffer, tag], &[i64t], &[], 0)), 0)
            };
            // Bits 0-1: the kind; bits 8-15: the inner loop's number.
            let flags = kind | (number << 8);
            let element_flags = ir::result(at(b.op("arith.ori", oloc, &[shifted, i64_constant(op, flags)], &[i64t], &[], 0)), 0);
            append(op, log, [key, element_flags, iteration, strand]);
        }
    }
}

/// The `strata.parallel_for`s around `op` inside `lp`, outermost first.
fn parallel_chain(op: MlirOperation, lp: MlirOperation) -> Vec<MlirOperation> {
    let mut chain = Vec::new();
    let mut at = op;
    while let Some(p) = ir::enclosing(at, "strata.parallel_for") {
        if p.ptr == lp.ptr {
            break;
        }
        chain.push(p);
        at = p;
    }
    chain.reverse();
    chain
}

/// `llvm.call @strata_race_log()` at the start of `lp`'s body: the log of
/// the thread that runs the iteration.
fn thread_log(lp: MlirOperation) -> MlirValue {
    let b = Builder::of_op(lp);
    let body = ir::first_block(ir::region(lp, 0));
    // SAFETY: a live context; empty arrays.
    let (segments, bundles) = unsafe { (sys::mlirDenseI32ArrayGet(b.ctx, 2, [0i32, 0].as_ptr()), sys::mlirDenseI32ArrayGet(b.ctx, 0, std::ptr::null())) };
    let attrs = [("callee", b.attr(&format!("@{LOG_HOOK}"))), ("operandSegmentSizes", segments), ("op_bundle_sizes", bundles)];
    let call = b.op("llvm.call", ir::location(lp), &[], &[ptr_type(&b)], &attrs, 0);
    // SAFETY: a live block; the call goes first in it.
    unsafe { sys::mlirBlockInsertOwnedOperation(body, 0, call) };
    ir::result(call, 0)
}

/// Appends the access `words` (`strata_runtime::race::Access`: buffer,
/// element << 16 | flags, iteration, strand) to `log` before `at`, inline:
/// a full log (`next == end`) is flushed first; then one 32-byte store of
/// the entry and one of the new `next`.
fn append(at: MlirOperation, log: MlirValue, words: [MlirValue; 4]) {
    let b = Builder::of_op(at);
    let loc = ir::location(at);
    let ptr = ptr_type(&b);
    let put = |op: MlirOperation| ir::result(ir::insert_before(at, op), 0);
    // SAFETY: live handles.
    let i64t = unsafe { sys::mlirIntegerTypeGet(b.ctx, 64) };
    let gep = |base: MlirValue, elem: sys::MlirType| {
        // SAFETY: live handles; the index array outlives the call.
        let (indices, elem_attr) = unsafe { (sys::mlirDenseI32ArrayGet(b.ctx, 1, [1i32].as_ptr()), sys::mlirTypeAttrGet(elem)) };
        b.op("llvm.getelementptr", loc, &[base], &[ptr], &[("rawConstantIndices", indices), ("elem_type", elem_attr)], 0)
    };
    let next = put(b.op("llvm.load", loc, &[log], &[ptr], &[], 0));
    let end = put(b.op("llvm.load", loc, &[put(gep(log, ptr))], &[ptr], &[], 0));
    // Predicate 0 is `eq`.
    let full = put(b.op("llvm.icmp", loc, &[next, end], &[b.ty("i1")], &[("predicate", ir::integer_attr(i64t, 0))], 0));
    let choose = ir::insert_before(at, b.op("scf.if", loc, &[full], &[ptr], &[], 2));
    for (r, flushed) in [(0, true), (1, false)] {
        let block = ir::new_block(&[], loc);
        ir::append_block(ir::region(choose, r), block);
        let v = if flushed { ir::result(ir::append(block, call(&b, loc, "strata_race_flush", &[log], &[ptr])), 0) } else { next };
        ir::append(block, b.op("scf.yield", loc, &[v], &[], &[], 0));
    }
    let slot = ir::result(choose, 0);
    let entry_type = ir::vector_type(&[4], i64t);
    let entry = put(b.op("vector.from_elements", loc, &words, &[entry_type], &[], 0));
    let store = |value: MlirValue, addr: MlirValue, alignment: i64| {
        ir::insert_before(at, b.op("llvm.store", loc, &[value, addr], &[], &[("alignment", ir::integer_attr(i64t, alignment))], 0))
    };
    store(entry, slot, 32);
    store(put(gep(slot, entry_type)), log, 8);
}
