//! The elementwise half of `strata-vectorize`: innermost parallel loops
//! whose bodies compute each element on its own (the loops of elementwise
//! ops and of `strata.map`, Mandelbrot-style `scf.for` bodies included)
//! become loops over `W` elements at a time in the `vector` dialect.
//!
//! Matches an innermost one-dimensional `affine.parallel %j` from 0 to a
//! constant, containing only: `affine.load`/`affine.store` whose last index
//! is `%j` and whose other indices do not depend on it (so a vector of
//! elements is contiguous), or loads that do not depend on `%j` at all
//! (loaded once per step, broadcast); `arith` and `math` ops on scalars; `scf.for`
//! loops with loop-invariant bounds (their iter_args become vectors);
//! `scf.while` loops whose regions compute only (`arith`/`math`, no
//! integer division, no memory); `scf.yield`. Anything else leaves the
//! loop alone.
//!
//! A divergent `scf.while` (each lane leaves after its own number of
//! trips: Mandelbrot's escape loop) runs on vectors with a lane mask: the
//! condition, a vector of i1, is the mask of lanes still running; the loop
//! goes on while any lane is (`vector.reduction <or>`), and the after
//! region's new values are taken only in those lanes (`arith.select` on the
//! mask), so a lane that is done keeps the values it left with. Why this is
//! exact: the regions compute only, so the before region, run again on a
//! finished lane's kept values, gives the same condition (false) and the
//! same forwarded values, which are that lane's results; integer counts
//! are bit-identical to the scalar loop. (Math functions in the loop are
//! another matter, unrelated to the mask: f32 `exp`/`tanh` become the
//! arithmetic expansion here, while O0 calls libm, within 1-2 ulp of it;
//! a loop whose exit depends on them may then take other trips.) Integer division is refused
//! because a finished lane still runs the after region once more per trip,
//! on values the scalar loop never divided by.
//!
//! Produces `scf.for %jv = 0 to N - N % W step W` whose body is the same
//! computation on `vector<W x T>` values (`%j` becomes `%jv + [0..W)`,
//! values from outside are broadcast), before the original loop, which is
//! narrowed to the leftover `[N - N % W, N)`. `W` is the vector width in
//! bits over the widest element type in the body. Where the loop's stores
//! go to buffers larger than the target's last-level cache, or to blocks
//! of a larger output where `strata-fuse-columns` asks (see [`streams`]),
//! two such loops sit in an `scf.if` on where the stored buffers (or
//! views) start: the aligned one with streaming (`nontemporal`, aligned)
//! stores, the other with ordinary ones.
//!
//! Reductions too: an innermost `affine.for %j` whose only store is
//! `out[u] = combine(out[u], f(...))`, `u` not depending on `%j` and `out`
//! a buffer the kernel owns (allocated, or a bufferization out-parameter),
//! keeps `W` partial results in a vector accumulator started at the
//! combine's identity, reduces it once with `vector.reduction`, combines
//! that into `out[u]`, and leaves the leftover steps to the original loop.
//! Float reductions are reassociated, which the spec allows.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::ir::{self, Builder};

/// `arith.constant dense<[0, 1, .., w-1]> : vector<w x index>`: the lane
/// offsets added to a loop index to get each lane's index.
pub(crate) fn iota(b: &Builder, loc: sys::MlirLocation, w: usize) -> MlirOperation {
    let index = b.index_type();
    let t = ir::vector_type(&[w as i64], index);
    let lanes: Vec<sys::MlirAttribute> = (0..w as i64).map(|i| ir::integer_attr(index, i)).collect();
    // SAFETY: `lanes` outlives the call, which copies them.
    let value = unsafe { sys::mlirDenseElementsAttrGet(t, lanes.len() as isize, lanes.as_ptr()) };
    b.op("arith.constant", loc, &[], &[t], &[("value", value)], 0)
}

/// Vectorizes every matching loop under `root`. `interleave` (from the
/// target, see [`interleave_factor`]) is how many vectors of lanes a body
/// with an inner loop runs at once.
pub fn run(root: MlirOperation, bits: usize, interleave: usize) {
    // A fused loop's one-row temporaries are indexed `%t[0, %j]`: the
    // checks below read indices from operands.
    ir::explicit_affine_indices(root);
    crate::vectorize_columns::run(root, bits);
    // Long reductions first: what they leave (short ones, rows already
    // parallel) is vectorized in place below.
    crate::split_reductions::run(root, bits);
    crate::vectorize_transpose::run(root, bits);
    let llc_bytes = crate::target::Target::of_module(root).l3_bytes;
    let loops: Vec<MlirOperation> =
        ir::find(root, &["affine.parallel"]).into_iter().filter(|op| is_innermost(*op)).collect();
    for op in loops {
        if let Some(plan) = check(op, bits, interleave, llc_bytes) {
            // What the interleaved loop leaves gets one vector at a time
            // before the scalar rest: at 32 lanes, up to 31 scalar trips
            // of an escape loop were half the time of a 1021-wide image.
            if vectorize(op, &plan) && plan.interleaved {
                if let Some(rest) = check(op, bits, 1, llc_bytes) {
                    vectorize(op, &rest);
                }
            }
        }
    }
    let reductions: Vec<MlirOperation> =
        ir::find(root, &["affine.for"]).into_iter().filter(|op| is_innermost(*op)).collect();
    for op in reductions {
        let Some(r) = match_reduction(op, bits) else { continue };
        // Several vectors of partial results, so that consecutive combines
        // do not wait on each other: one `maximumf` with NaN and signed-zero
        // handling is a chain of about 6 dependent instructions per vector,
        // an `addf` 3-4 cycles; `interleave` chains hide that latency. The
        // widest that fits the trip count; what it leaves gets one vector
        // at a time, then the scalar loop.
        let k = (1..=interleave.max(1)).rev().find(|k| r.n - r.start >= (k * r.w) as i64).unwrap_or(1);
        if vectorize_reduction(op, &r, k) && k > 1 {
            if let Some(rest) = match_reduction(op, bits) {
                vectorize_reduction(op, &rest, 1);
            }
        }
    }
}

/// A reduction loop `for j { out[u] = combine(out[u], f(..., x[.., j])) }`.
pub(crate) struct Reduction {
    /// The loop runs over `[start, n)`; `n` is also the row length.
    pub(crate) start: i64,
    pub(crate) n: i64,
    pub(crate) w: usize,
    pub(crate) load: MlirOperation,
    pub(crate) combine: MlirOperation,
    pub(crate) store: MlirOperation,
    /// The value combined in each step (`f(...)`).
    pub(crate) value: MlirValue,
}

/// `combine` ops and their `vector.reduction` kind and identity.
pub(crate) fn reduction_kind(name: &str, ty: &str) -> Option<(&'static str, String)> {
    let float = ty.starts_with('f');
    let (kind, id) = match name {
        "arith.addf" | "arith.addi" => ("add", if float { "0.0".to_string() } else { "0".to_string() }),
        "arith.mulf" | "arith.muli" => ("mul", if float { "1.0".to_string() } else { "1".to_string() }),
        "arith.maximumf" => ("maximumf", if ty == "f32" { "0xFF800000".into() } else { "0xFFF0000000000000".into() }),
        "arith.minimumf" => ("minimumf", if ty == "f32" { "0x7F800000".into() } else { "0x7FF0000000000000".into() }),
        "arith.maxsi" => ("maxsi", if ty == "i32" { i32::MIN.to_string() } else { i64::MIN.to_string() }),
        "arith.minsi" => ("minsi", if ty == "i32" { i32::MAX.to_string() } else { i64::MAX.to_string() }),
        _ => return None,
    };
    Some((kind, id))
}

/// Whether `m` is a buffer no other memref can alias: one the kernel
/// allocated, or an output parameter bufferization created.
pub(crate) fn private_buffer(m: MlirValue) -> bool {
    // SAFETY: value and attribute queries on live IR.
    unsafe {
        if sys::mlirValueIsAOpResult(m) {
            return ir::name(sys::mlirOpResultGetOwner(m)) == "memref.alloc";
        }
        let block = sys::mlirBlockArgumentGetOwner(m);
        let func = sys::mlirBlockGetParentOperation(block);
        let Some(arg_attrs) = ir::attribute(func, "arg_attrs") else { return false };
        let i = sys::mlirBlockArgumentGetArgNumber(m);
        if i >= sys::mlirArrayAttrGetNumElements(arg_attrs) {
            return false;
        }
        let dict = sys::mlirArrayAttrGetElement(arg_attrs, i);
        let name = "bufferize.result";
        !sys::mlirDictionaryAttrGetElementByName(dict, ir::sref(name)).ptr.is_null()
    }
}

/// Whether the memrefs `x` and `y` may share memory. Only two different
/// roots are known apart: a `memref.alloc` and any other root, or a
/// bufferization out-parameter and another function argument. Views are
/// traced to the buffer they view (two views of one buffer may alias);
/// anything else may alias anything.
pub(crate) fn may_alias(x: MlirValue, y: MlirValue) -> bool {
    let (x, y) = (crate::check_races::buffer_of(x).0, crate::check_races::buffer_of(y).0);
    if x.ptr == y.ptr {
        return true;
    }
    // SAFETY: value queries on live IR.
    let root = |v: MlirValue| unsafe {
        if sys::mlirValueIsAOpResult(v) {
            ir::name(sys::mlirOpResultGetOwner(v)) == "memref.alloc"
        } else {
            ir::name(sys::mlirBlockGetParentOperation(sys::mlirBlockArgumentGetOwner(v))) == "func.func"
        }
    };
    !(root(x) && root(y) && (private_buffer(x) || private_buffer(y)))
}

pub(crate) fn match_reduction(lp: MlirOperation, bits: usize) -> Option<Reduction> {
    let start = ir::constant_map(lp, "lowerBoundMap")?;
    if start < 0 || ir::int_attr(lp, "step")? != 1 {
        return None;
    }
    // SAFETY: a live op.
    if unsafe { sys::mlirOperationGetNumResults(lp) } != 0 {
        return None;
    }
    let n = ir::constant_map(lp, "upperBoundMap")?;
    let block = ir::first_block(ir::region(lp, 0));
    let j = ir::block_argument(block, 0);
    let stores: Vec<MlirOperation> = ir::walk(lp).into_iter().filter(|op| ir::name(*op) == "affine.store").collect();
    let [store] = stores.as_slice() else { return None };
    let store = *store;
    let ops = ir::operands(store);
    let (out, idx) = (ops[1], &ops[2..]);
    if idx.iter().any(|v| ir::defined_inside(*v, lp)) || !private_buffer(out) {
        return None;
    }
    // SAFETY: the stored value is an op result inside the loop (checked).
    let combine = unsafe {
        if !sys::mlirValueIsAOpResult(ops[0]) {
            return None;
        }
        sys::mlirOpResultGetOwner(ops[0])
    };
    let ty = ir::print_type(ir::value_type(ops[0]));
    reduction_kind(&ir::name(combine), &ty)?;
    if ir::single_user(ops[0]).is_none() || !ir::defined_inside(ops[0], lp) {
        return None;
    }
    let is_out_load = |v: MlirValue| -> bool {
        // SAFETY: value queries on live IR.
        if !unsafe { sys::mlirValueIsAOpResult(v) } {
            return false;
        }
        let l = unsafe { sys::mlirOpResultGetOwner(v) };
        let lops = ir::operands(l);
        // The same element: the same operands through the same map.
        let same_map = match (ir::attribute(l, "map"), ir::attribute(store, "map")) {
            // SAFETY: two live attributes.
            (Some(x), Some(y)) => unsafe { sys::mlirAttributeEqual(x, y) },
            _ => false,
        };
        ir::name(l) == "affine.load"
            && lops[0].ptr == out.ptr
            && lops.len() == idx.len() + 1
            && lops[1..].iter().zip(idx).all(|(a, b)| a.ptr == b.ptr)
            && same_map
            && ir::single_user(v).is_some()
    };
    let (a, b) = (ir::operand(combine, 0), ir::operand(combine, 1));
    let (load_val, value) = if is_out_load(a) { (a, b) } else if is_out_load(b) { (b, a) } else { return None };
    // SAFETY: checked to be an op result just above.
    let load = unsafe { sys::mlirOpResultGetOwner(load_val) };
    // `out` is touched by that load and the store only.
    let touches_out = ir::walk(lp).into_iter().filter(|op| ir::operands(*op).iter().any(|v| v.ptr == out.ptr)).count();
    if touches_out != 2 {
        return None;
    }
    let widest = check_body(lp, j, n, &[load, combine, store])?.max(scalar_bits(ir::value_type(ops[0]))?);
    let w = bits / widest.max(8);
    (w >= 2 && n - start >= w as i64).then_some(Reduction { start, n, w, load, combine, store, value })
}

/// `k * W` partial results in a vector through the loop (LLVM splits it
/// into `k` registers, `k` independent chains), one horizontal reduction
/// after it, combined into `out` once; the leftover steps stay in the
/// original loop. Float reductions are reassociated, which the spec
/// allows: the horizontal reduction too (`fastmath<reassoc>`, a tree
/// instead of one add after the other). Returns whether steps are left.
fn vectorize_reduction(lp: MlirOperation, r: &Reduction, k: usize) -> bool {
    let lanes = r.w * k;
    let trips = r.n - r.start;
    let b = Builder::of_op(lp);
    let loc = ir::location(lp);
    let index = b.index_type();
    let elem = ir::value_type(ir::result(r.combine, 0));
    let ty = ir::print_type(elem);
    let name = ir::name(r.combine);
    let (kind, id) = reduction_kind(&name, &ty).expect("matched");
    let vt = ir::vector_type(&[lanes as i64], elem);
    let n_full = r.start + trips - trips % lanes as i64;
    let at = |op| ir::insert_before(lp, op);
    let cst = |v: i64| ir::result(at(b.index_constant(loc, v)), 0);
    let splat = ir::result(at(b.op("arith.constant", loc, &[], &[vt], &[("value", b.attr(&format!("dense<{id}> : vector<{}x{ty}>", lanes)))], 0)), 0);
    let ivt = ir::vector_type(&[lanes as i64], index);
    let iota = ir::result(at(iota(&b, loc, lanes)), 0);
    let (lo, hi, step) = (cst(r.start), cst(n_full), cst(lanes as i64));
    // The vector loop over [lo, hi), placed by `place`, carrying `inits`;
    // `combine(body, value, args)` gives what a trip yields.
    let vector_loop = |place: &dyn Fn(MlirOperation) -> MlirOperation,
                       inits: &[MlirValue],
                       combine: &dyn Fn(sys::MlirBlock, MlirValue, &[MlirValue]) -> Vec<MlirValue>| {
        let mut operands = vec![lo, hi, step];
        operands.extend(inits);
        let types: Vec<MlirType> = inits.iter().map(|v| ir::value_type(*v)).collect();
        let vfor = place(b.op("scf.for", loc, &operands, &types, &[], 1));
        let mut args = vec![index];
        args.extend(&types);
        let body = ir::new_block(&args, loc);
        ir::append_block(ir::region(vfor, 0), body);
        let jv = ir::block_argument(body, 0);
        let mut v = Vectorizer::new(b, lp, loc, lanes, vfor);
        v.skip = vec![r.load, r.combine, r.store];
        let jb = ir::result(ir::append(body, b.op("vector.broadcast", loc, &[jv], &[ivt], &[], 0)), 0);
        let jvec = ir::result(ir::append(body, b.op("arith.addi", loc, &[jb, iota], &[ivt], &[], 0)), 0);
        let old = ir::first_block(ir::region(lp, 0));
        v.map.insert(ir::block_argument(old, 0).ptr as usize, jvec);
        v.body(old, body, jv);
        let vv = v.vec(r.value);
        let carried: Vec<MlirValue> = (1..=inits.len()).map(|i| ir::block_argument(body, i as isize)).collect();
        let yields = combine(body, vv, &carried);
        ir::append(body, b.op("scf.yield", loc, &yields, &[], &[], 0));
        vfor
    };
    let mut reduction_attrs = vec![("kind", b.attr(&format!("#vector.kind<{kind}>")))];
    if matches!(kind, "add" | "mul") && ty.starts_with('f') {
        reduction_attrs.push(("fastmath", b.attr("#arith.fastmath<reassoc>")));
    }
    let exact_combine = |body: sys::MlirBlock, vv: MlirValue, carried: &[MlirValue]| {
        vec![ir::result(ir::append(body, b.op(&name, loc, &[carried[0], vv], &[vt], &[], 0)), 0)]
    };
    let fast = matches!(kind, "maximumf" | "minimumf") && (n_full - r.start) / lanes as i64 >= FAST_EXTREMUM_TRIPS;
    let red = if fast {
        fast_extremum(&b, loc, lp, kind, elem, vt, splat, &reduction_attrs, &vector_loop, &exact_combine)
    } else {
        let vfor = vector_loop(&|op| at(op), &[splat], &exact_combine);
        ir::result(at(b.op("vector.reduction", loc, &[ir::result(vfor, 0)], &[elem], &reduction_attrs, 0)), 0)
    };
    let store_ops = ir::operands(r.store);
    let (out, idx) = (store_ops[1], store_ops[2..].to_vec());
    // `out[map(idx)]` as the loop addressed it (the map may fold
    // constants: a one-element temporary is `%t[0]` with no operands).
    let map = ir::attribute(r.store, "map").expect("affine.store has a map");
    let mut load_ops = vec![out];
    load_ops.extend(&idx);
    let cur = ir::result(at(b.op("affine.load", loc, &load_ops, &[elem], &[("map", map)], 0)), 0);
    let new = ir::result(at(b.op(&name, loc, &[cur, red], &[elem], &[], 0)), 0);
    let mut st = vec![new, out];
    st.extend(&idx);
    at(b.op("affine.store", loc, &st, &[], &[("map", map)], 0));
    crate::remark(
        lp,
        &format!(
            "strata-vectorize: {kind} reduction of {trips} steps vectorized, {}; {} leftover step(s) stay{}",
            if k > 1 { format!("{k} x {} lanes", r.w) } else { format!("{} lanes", r.w) },
            r.n - n_full,
            if k > 1 && r.n - n_full >= r.w as i64 { " for one vector at a time, then scalar" } else { " scalar" }
        ),
    );
    if n_full == r.n {
        ir::replace_op(lp, &[]);
        false
    } else {
        ir::narrow_lower_bound(lp, n_full);
        true
    }
}

/// Vector trips from which a float max or min reduction takes the fast
/// loop of [`fast_extremum`] (the check after it costs a few ops).
const FAST_EXTREMUM_TRIPS: i64 = 4;

/// A `maximumf` (or `minimumf`) reduction as a loop of plain compares and
/// selects (one `vmaxps` per vector on x86), which keep the larger of two
/// numbers but drop a NaN and may keep either zero, and a sum of the
/// values beside it; where the sum is not finite (a NaN or an infinity,
/// or an overflow) or the result is a zero, the exact loop runs instead
/// and decides. So the result is `maximumf`'s, NaN and -0 < +0 included.
///
/// Why: `arith.maximumf` on a vector is six instructions on AVX2 (three
/// blends for the signs of zeros and the NaN) and the row maximum of a
/// softmax was a fifth of its time; the fast loop is a load, a max and
/// an add per vector (a 1024x4096 row softmax at AVX2 on a Xeon: 3.0
/// against 4.0 ms at 1 thread).
#[allow(clippy::too_many_arguments)]
fn fast_extremum(
    b: &Builder,
    loc: sys::MlirLocation,
    lp: MlirOperation,
    kind: &str,
    elem: MlirType,
    vt: MlirType,
    identity: MlirValue,
    reduction_attrs: &[(&str, sys::MlirAttribute)],
    vector_loop: &dyn Fn(&dyn Fn(MlirOperation) -> MlirOperation, &[MlirValue], &dyn Fn(sys::MlirBlock, MlirValue, &[MlirValue]) -> Vec<MlirValue>) -> MlirOperation,
    exact_combine: &dyn Fn(sys::MlirBlock, MlirValue, &[MlirValue]) -> Vec<MlirValue>,
) -> MlirValue {
    let at = |op| ir::insert_before(lp, op);
    let ty = ir::print_type(elem);
    let i1 = b.ty("i1");
    let mask = ir::vector_type(&[ir::shape(vt).0[0]], i1);
    let zeros = ir::result(at(b.op("arith.constant", loc, &[], &[vt], &[("value", b.attr(&format!("dense<0.0> : {}", ir::print_type(vt))))], 0)), 0);
    // OGT / OLT: `v` replaces the running value only where it is ordered and
    // beyond it.
    let predicate = b.attr(&format!("{} : i64", if kind == "maximumf" { ir::cmpf::OGT } else { ir::cmpf::OLT }));
    let fast_combine = |body: sys::MlirBlock, vv: MlirValue, carried: &[MlirValue]| {
        let beyond = ir::result(ir::append(body, b.op("arith.cmpf", loc, &[vv, carried[0]], &[mask], &[("predicate", predicate)], 0)), 0);
        let kept = ir::result(ir::append(body, b.op("arith.select", loc, &[beyond, vv, carried[0]], &[vt], &[], 0)), 0);
        let sum = ir::result(ir::append(body, b.op("arith.addf", loc, &[carried[1], vv], &[vt], &[], 0)), 0);
        vec![kept, sum]
    };
    let ffor = vector_loop(&|op| at(op), &[identity, zeros], &fast_combine);
    let extremum = ir::result(at(b.op("vector.reduction", loc, &[ir::result(ffor, 0)], &[elem], reduction_attrs, 0)), 0);
    let add = [("kind", b.attr("#vector.kind<add>")), ("fastmath", b.attr("#arith.fastmath<reassoc>"))];
    let sum = ir::result(at(b.op("vector.reduction", loc, &[ir::result(ffor, 1)], &[elem], &add, 0)), 0);
    let scalar = |text: &str| ir::result(at(b.op("arith.constant", loc, &[], &[elem], &[("value", b.attr(&format!("{text} : {ty}")))], 0)), 0);
    let (zero, inf) = (scalar("0.0"), scalar(if ty == "f32" { "0x7F800000" } else { "0x7FF0000000000000" }));
    // Ordered and unequal, so a zero of either sign is not decided.
    let nonzero = ir::result(at(b.op("arith.cmpf", loc, &[extremum, zero], &[i1], &[("predicate", b.attr(&format!("{} : i64", ir::cmpf::ONE)))], 0)), 0);
    let magnitude = ir::result(at(b.op("math.absf", loc, &[sum], &[elem], &[], 0)), 0);
    let finite = ir::result(at(b.op("arith.cmpf", loc, &[magnitude, inf], &[i1], &[("predicate", b.attr(&format!("{} : i64", ir::cmpf::OLT)))], 0)), 0);
    let decided = ir::result(at(b.op("arith.andi", loc, &[nonzero, finite], &[i1], &[], 0)), 0);
    let branch = at(b.op("scf.if", loc, &[decided], &[elem], &[], 2));
    let then_block = ir::new_block(&[], loc);
    ir::append_block(ir::region(branch, 0), then_block);
    ir::append(then_block, b.op("scf.yield", loc, &[extremum], &[], &[], 0));
    let else_block = ir::new_block(&[], loc);
    ir::append_block(ir::region(branch, 1), else_block);
    // The exact loop, built before the else block's (later) terminator.
    let terminator = ir::append(else_block, b.op("scf.yield", loc, &[], &[], &[], 0));
    let vfor = vector_loop(&|op| ir::insert_before(terminator, op), &[identity], exact_combine);
    let exact = ir::result(ir::insert_before(terminator, b.op("vector.reduction", loc, &[ir::result(vfor, 0)], &[elem], reduction_attrs, 0)), 0);
    ir::replace_op(terminator, &[]);
    ir::append(else_block, b.op("scf.yield", loc, &[exact], &[], &[], 0));
    ir::result(branch, 0)
}

pub(crate) fn is_innermost(op: MlirOperation) -> bool {
    ir::find(op, &["affine.parallel", "affine.for", "scf.parallel"]).is_empty()
}

struct Plan {
    /// The loop runs over `[start, start + n)`.
    start: i64,
    n: i64,
    w: usize,
    /// Whether `w` is several vectors (an interleaved latency-bound body).
    interleaved: bool,
    /// The alignment of streaming stores, where the loop's stores stream
    /// (see [`streams`]).
    stream: Option<i64>,
}

/// How many vectors of lanes a body whose values are carried through an
/// inner loop (Mandelbrot's, Newton's) runs together: each trip of such a
/// loop is one dependent chain per vector, so one vector leaves the FMA
/// units waiting (4 cycles of latency, 2 units: 8 independent operations in
/// flight), while each extra vector takes a few registers for its chain.
/// One vector per 8 registers, at most 4: 4 with AVX-512's 32 registers, 2
/// with AVX2's 16. Measured on Zen 4 (1024x1024 f64 Mandelbrot, 100 trips,
/// 1 thread): escape loop 17.8 / 15.0 / 10.6 / 13.2 ms at 1 / 2 / 4 / 8
/// vectors of 8 lanes; fixed-trip loop 54.5 / 32.3 / 23.5 / 19.8 ms.
/// LLVM splits the wide vectors into registers, which is the interleaving.
pub fn interleave_factor(vector_registers: i64) -> usize {
    (vector_registers / 8).clamp(1, 4) as usize
}

/// Whether `par`'s body carries values through an inner loop.
fn latency_bound(par: MlirOperation) -> bool {
    ir::walk(par).into_iter().any(|op| matches!(ir::name(op).as_str(), "scf.for" | "scf.while"))
}

pub(crate) fn scalar_bits(t: MlirType) -> Option<usize> {
    // SAFETY: type queries.
    unsafe {
        if sys::mlirTypeIsAIndex(t) {
            Some(64)
        } else if sys::mlirTypeIsAF32(t) {
            Some(32)
        } else if sys::mlirTypeIsAF64(t) {
            Some(64)
        } else if sys::mlirTypeIsAInteger(t) {
            Some(sys::mlirIntegerTypeGetWidth(t) as usize)
        } else {
            None
        }
    }
}

fn check(par: MlirOperation, bits: usize, interleave: usize, llc_bytes: i64) -> Option<Plan> {
    let block = ir::first_block(ir::region(par, 0));
    // SAFETY: a live block.
    if unsafe { sys::mlirBlockGetNumArguments(block) } != 1 || ir::int_attr(par, "steps") != Some(1) {
        return None;
    }
    let (start, end) = (ir::constant_map(par, "lowerBoundsMap")?, ir::constant_map(par, "upperBoundsMap")?);
    let n = end - start;
    // Loads and stores are checked against the full extent of the buffer's
    // last dimension, which the loop must cover from 0 (a narrowed loop is
    // checked as the whole it came from).
    let widest = check_body(par, ir::block_argument(block, 0), end, &[])?;
    let lanes = bits / widest.max(8);
    // As many vectors at once as the loop has iterations for.
    let mut u = if latency_bound(par) { interleave.max(1) } else { 1 };
    while u > 1 && n < (u * lanes) as i64 {
        u /= 2;
    }
    let w = u * lanes;
    let stream = streams(par, start, w as i64, llc_bytes);
    (w >= 2 && n >= w as i64).then_some(Plan { start, n, w, interleaved: u > 1, stream })
}

/// Whether the stores of the elementwise loop `par` (vectors of `w`
/// lanes from `start`) stream past the cache, and at what alignment:
/// when every buffer it stores to is larger than the last-level cache (its
/// lines are gone before anything could read them again, so ordinary
/// stores only add a read for ownership per line), is not read in the
/// loop (an in-place update has its lines in cache already), and every
/// vector store lands on a boundary of its bytes (up to a line) once the
/// base does, which the code checks at run time. Measured on the Ice Lake
/// Xeon (48 MiB L3), 1 thread, medians: sigmoid 4096^2 f32 13.8 -> 7.7 ms,
/// tanh(a*b+c) 4096^2 22-24 -> 18.2 ms, x + broadcast 64x1024x256 14-15
/// -> 7.2 ms (a fence per row instead of per task: 17 ms). A loop marked
/// [`STREAM_STORES`] streams into a view of any size too, where its rows
/// keep the alignment of its first element (static strides, whole vectors
/// apart), and only if every other buffer it stores to passes the rule
/// above; softmax along dim 0, 1024 x 4096 f32
/// on the Zen 4 EPYC, medians of 5 alternating rounds: 1.92 -> 1.30 ms at
/// 2 threads, 3.63 -> 2.66 ms at 1.
fn streams(par: MlirOperation, start: i64, w: i64, llc_bytes: i64) -> Option<i64> {
    let stores = ir::find(par, &["affine.store"]);
    let loaded: Vec<usize> = ir::find(par, &["affine.load"]).iter().map(|l| ir::operand(*l, 0).ptr as usize).collect();
    let hinted = ir::attribute(par, STREAM_STORES).is_some();
    let mut align = STREAM_LINE_BYTES;
    for st in &stores {
        let memref = ir::operand(*st, 1);
        let t = ir::value_type(memref);
        let (shape, elem) = ir::shape(t);
        let ebytes = (scalar_bits(elem)? / 8) as i64;
        let bytes = shape.iter().product::<i64>() * ebytes;
        let a = (w * ebytes).min(STREAM_LINE_BYTES);
        let ok = if ir::is_plain_memref(t) {
            // The hint names a block of a larger output, never a whole
            // buffer: a block temporary stored in the same loop is read
            // again soon, from cache unless it streamed.
            bytes > llc_bytes
        } else {
            // A block of a larger buffer: only where asked.
            hinted && rows_keep_alignment(t, ebytes, a)
        };
        if !ok || loaded.contains(&(memref.ptr as usize)) {
            return None;
        }
        if (shape.last()? * ebytes) % a != 0 || (start * ebytes) % a != 0 || (w * ebytes) % a != 0 {
            return None;
        }
        align = align.min(a);
    }
    (!stores.is_empty()).then_some(align)
}

/// The unit attribute by which `strata-fuse-columns` asks for streaming
/// stores on a column loop that writes a block of a larger output (see
/// its doc for the rule); [`streams`] still checks that they can be
/// aligned.
pub(crate) const STREAM_STORES: &str = "strata.stream_stores";

/// Whether every index but the last of memref type `t` steps a whole
/// number of `align` bytes (static strides, the last 1): then each row of
/// a view starts as far from a boundary as its first element.
fn rows_keep_alignment(t: MlirType, ebytes: i64, align: i64) -> bool {
    ir::strides(t).is_some_and(|strides| {
        strides.last() == Some(&1) && strides[..strides.len() - 1].iter().all(|s| *s > 0 && (s * ebytes) % align == 0)
    })
}

/// Streaming stores are issued in lines: the alignment asked of them is
/// at most one.
const STREAM_LINE_BYTES: i64 = 64;

/// Checks that every op in `lp` (but those in `skip`) can run `W` lanes
/// at a time along `j`, which runs over `[0, n)`. Returns the widest
/// element width, which sets the lane count.
pub(crate) fn check_body(lp: MlirOperation, j: MlirValue, n: i64, skip: &[MlirOperation]) -> Option<usize> {
    let mut widest = 0;
    for op in ir::walk(lp) {
        if skip.iter().any(|s| s.ptr == op.ptr) {
            continue;
        }
        let name = ir::name(op);
        // SAFETY: a live op.
        let results = (0..unsafe { sys::mlirOperationGetNumResults(op) }).map(|i| ir::result(op, i));
        // Indices of loads and stores stay scalars: only the values moved
        // set the lane width.
        let operands = match name.as_str() {
            "affine.load" => vec![],
            "affine.store" => vec![ir::operand(op, 0)],
            _ => ir::operands(op),
        };
        for v in operands.into_iter().chain(results) {
            let t = ir::value_type(v);
            // SAFETY: a type query.
            if unsafe { sys::mlirTypeIsAMemRef(t) } {
                continue;
            }
            let bits = scalar_bits(t)?;
            // Memory holds whole bytes; an i1 vector would be packed bits.
            if (name == "affine.load" || name == "affine.store") && !matches!(bits, 8 | 16 | 32 | 64) {
                return None;
            }
            widest = widest.max(bits);
        }
        match name.as_str() {
            "affine.load" | "affine.store" => {
                let first_index = if name == "affine.load" { 1 } else { 2 };
                let ops = ir::operands(op);
                let memref = ops[first_index - 1];
                let idx = &ops[first_index..];
                // SAFETY: affine load/store carry an AffineMapAttr `map`.
                let identity = ir::attribute(op, "map")
                    .map(|a| unsafe { sys::mlirAffineMapIsIdentity(sys::mlirAffineMapAttrGetValue(a)) })
                    .unwrap_or(false);
                let uniform = !idx.iter().any(|v| ir::defined_inside(*v, lp));
                if name == "affine.load" && uniform && !ir::defined_inside(memref, lp) {
                    continue; // the same element in every lane: loaded once, broadcast
                }
                let (shape, _) = ir::shape(ir::value_type(memref));
                if !identity || idx.is_empty() || idx[idx.len() - 1].ptr != j.ptr || shape.last() != Some(&n) {
                    return None;
                }
                if idx[..idx.len() - 1].iter().any(|v| ir::defined_inside(*v, lp)) || ir::defined_inside(memref, lp) {
                    return None;
                }
            }
            "scf.for" => {
                if ir::operands(op)[..3].iter().any(|v| ir::defined_inside(*v, lp)) {
                    return None;
                }
            }
            "scf.while" if while_computes_only(op) => {}
            "scf.yield" | "affine.yield" | "scf.condition" => {}
            n if n.starts_with("arith.") || n.starts_with("math.") => {
                // SAFETY: a live op.
                if unsafe { sys::mlirOperationGetNumRegions(op) } != 0 {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(widest)
}

/// Whether every op in the regions of the `scf.while` `op` only computes
/// (see the module doc): `arith` and `math` ops other than integer
/// division, and the terminators.
fn while_computes_only(op: MlirOperation) -> bool {
    ir::walk(op).into_iter().filter(|o| o.ptr != op.ptr).all(|o| {
        let name = ir::name(o);
        // SAFETY: a live op.
        let regions = unsafe { sys::mlirOperationGetNumRegions(o) };
        let divides = matches!(
            name.as_str(),
            "arith.divsi" | "arith.divui" | "arith.remsi" | "arith.remui" | "arith.ceildivsi" | "arith.ceildivui" | "arith.floordivsi"
        );
        name == "scf.condition"
            || name == "scf.yield"
            || ((name.starts_with("arith.") || name.starts_with("math.")) && regions == 0 && !divides)
    })
}

/// A `scf.while` being vectorized: what its terminators need.
struct WhileLanes {
    /// The new before region's arguments (the lanes' current values).
    before_args: Vec<MlirValue>,
    /// In the new after region: the values each lane entered the trip with,
    /// and the mask of lanes still running.
    entered: Vec<MlirValue>,
    mask: MlirValue,
}

pub(crate) struct Vectorizer {
    b: Builder,
    /// Scalar replacements for index operands of loads and stores (a fused
    /// epilogue's row index).
    indices: HashMap<usize, MlirValue>,
    /// Ops of the body that the caller rewrites itself (a reduction's).
    skip: Vec<MlirOperation>,
    /// The loop being vectorized (values defined outside it are uniform).
    scope: MlirOperation,
    loc: sys::MlirLocation,
    w: usize,
    map: HashMap<usize, MlirValue>,
    /// Where broadcasts of loop-invariant values go: before the new loop.
    anchor: MlirOperation,
    /// The `scf.while` loops being vectorized, innermost last.
    whiles: Vec<WhileLanes>,
    /// Stores are streaming ones at this alignment.
    stream: Option<i64>,
}

impl Vectorizer {
    pub(crate) fn new(b: Builder, scope: MlirOperation, loc: sys::MlirLocation, w: usize, anchor: MlirOperation) -> Self {
        Vectorizer { b, indices: HashMap::new(), skip: Vec::new(), scope, loc, w, map: HashMap::new(), anchor, whiles: Vec::new(), stream: None }
    }

    /// Binds `old` to `new` in the vector code (`new` already a vector).
    pub(crate) fn bind(&mut self, old: MlirValue, new: MlirValue) {
        self.map.insert(old.ptr as usize, new);
    }

    /// Binds the index `old` to the scalar `new` where it indexes memory,
    /// and to its broadcast where it is a value.
    pub(crate) fn bind_index(&mut self, old: MlirValue, new: MlirValue, block: sys::MlirBlock) {
        self.indices.insert(old.ptr as usize, new);
        let t = self.vty(self.b.index_type());
        let bc = ir::append(block, self.b.op("vector.broadcast", self.loc, &[new], &[t], &[], 0));
        self.map.insert(old.ptr as usize, ir::result(bc, 0));
    }

    pub(crate) fn skip(&mut self, op: MlirOperation) {
        self.skip.push(op);
    }

    fn index(&self, v: MlirValue) -> MlirValue {
        *self.indices.get(&(v.ptr as usize)).unwrap_or(&v)
    }

    pub(crate) fn vty(&self, t: MlirType) -> MlirType {
        // Built directly, not parsed from text: this runs once per op.
        // SAFETY: the shape outlives the call; a bad element type gives null.
        let v = unsafe { sys::mlirVectorTypeGetChecked(self.loc, 1, [self.w as i64].as_ptr(), t) };
        assert!(!v.ptr.is_null(), "internal: no vector of {}", ir::print_type(t));
        v
    }

    /// The vector form of `v`: mapped, or (defined outside) broadcast.
    pub(crate) fn vec(&mut self, v: MlirValue) -> MlirValue {
        if let Some(x) = self.map.get(&(v.ptr as usize)) {
            return *x;
        }
        let t = self.vty(ir::value_type(v));
        let bc = ir::insert_before(self.anchor, self.b.op("vector.broadcast", self.loc, &[v], &[t], &[], 0));
        let x = ir::result(bc, 0);
        self.map.insert(v.ptr as usize, x);
        x
    }

    /// Emits the vector form of the ops of `from` (up to its terminator) at
    /// the end of `to`.
    pub(crate) fn body(&mut self, from: sys::MlirBlock, to: sys::MlirBlock, lane0: MlirValue) {
        for op in ir::ops_in(from) {
            if self.skip.iter().any(|s| s.ptr == op.ptr) {
                continue;
            }
            let name = ir::name(op);
            let loc = ir::location(op);
            match name.as_str() {
                "affine.yield" => {}
                "affine.load" if ir::operands(op)[1..].iter().all(|v| !ir::defined_inside(*v, self.scope)) => {
                    let scalar_ty = ir::value_type(ir::result(op, 0));
                    let operands: Vec<MlirValue> = ir::operands(op).iter().map(|v| self.index(*v)).collect();
                    let l = ir::append(to, self.b.op("memref.load", loc, &operands, &[scalar_ty], &[], 0));
                    let t = self.vty(scalar_ty);
                    let bc = ir::append(to, self.b.op("vector.broadcast", loc, &[ir::result(l, 0)], &[t], &[], 0));
                    self.map.insert(ir::result(op, 0).ptr as usize, ir::result(bc, 0));
                }
                "affine.load" => {
                    let ops = ir::operands(op);
                    let mut idx: Vec<MlirValue> = ops[1..ops.len() - 1].iter().map(|v| self.index(*v)).collect();
                    idx.push(lane0);
                    let mut operands = vec![ops[0]];
                    operands.extend(idx);
                    let t = self.vty(ir::value_type(ir::result(op, 0)));
                    let l = ir::append(to, self.b.op("vector.load", loc, &operands, &[t], &[], 0));
                    self.map.insert(ir::result(op, 0).ptr as usize, ir::result(l, 0));
                }
                "affine.store" => {
                    let ops = ir::operands(op);
                    let value = self.vec(ops[0]);
                    let mut operands = vec![value, ops[1]];
                    operands.extend(ops[2..ops.len() - 1].iter().map(|v| self.index(*v)));
                    operands.push(lane0);
                    let attrs = self.stream.map(|align| {
                        // SAFETY: a live context.
                        unsafe {
                            [
                                ("nontemporal", sys::mlirBoolAttrGet(self.b.ctx, 1)),
                                ("alignment", ir::integer_attr(sys::mlirIntegerTypeGet(self.b.ctx, 64), align)),
                            ]
                        }
                    });
                    ir::append(to, self.b.op("vector.store", loc, &operands, &[], attrs.as_ref().map_or(&[][..], |a| &a[..]), 0));
                }
                "scf.for" => {
                    let ops = ir::operands(op);
                    let mut operands = ops[..3].to_vec();
                    let inits: Vec<MlirValue> = ops[3..].iter().map(|v| self.vec(*v)).collect();
                    operands.extend(&inits);
                    let types: Vec<MlirType> = inits.iter().map(|v| ir::value_type(*v)).collect();
                    let new = ir::append(to, self.b.op("scf.for", loc, &operands, &types, &[], 1));
                    let old_body = ir::first_block(ir::region(op, 0));
                    let mut arg_types = vec![self.b.index_type()];
                    arg_types.extend(&types);
                    let new_body = ir::new_block(&arg_types, loc);
                    ir::append_block(ir::region(new, 0), new_body);
                    // The counter is the same in every lane (the bounds are
                    // loop-invariant): uses inside see it broadcast.
                    let iv = ir::block_argument(new_body, 0);
                    let ivt = self.vty(self.b.index_type());
                    let ivb = ir::append(new_body, self.b.op("vector.broadcast", loc, &[iv], &[ivt], &[], 0));
                    self.map.insert(ir::block_argument(old_body, 0).ptr as usize, ir::result(ivb, 0));
                    for i in 0..types.len() {
                        let old = ir::block_argument(old_body, 1 + i as isize);
                        self.map.insert(old.ptr as usize, ir::block_argument(new_body, 1 + i as isize));
                    }
                    self.body(old_body, new_body, lane0);
                    for i in 0..types.len() {
                        self.map.insert(ir::result(op, i as isize).ptr as usize, ir::result(new, i as isize));
                    }
                }
                "scf.while" => self.while_loop(op, to, lane0),
                "scf.condition" => {
                    let ops = ir::operands(op);
                    let mask = self.vec(ops[0]);
                    let mut operands = vec![self.any_lane(mask, to, loc)];
                    operands.extend(ops[1..].iter().map(|v| self.vec(*v)));
                    let lanes = self.whiles.last().expect("scf.condition inside a vectorized scf.while");
                    operands.extend(&lanes.before_args);
                    operands.push(mask);
                    ir::append(to, self.b.op("scf.condition", loc, &operands, &[], &[], 0));
                }
                "scf.yield" if ir::name(ir::parent(op)) == "scf.while" => {
                    // Lanes that are done keep the values they entered with.
                    let values: Vec<MlirValue> = ir::operands(op).iter().map(|v| self.vec(*v)).collect();
                    let lanes = self.whiles.last().expect("scf.yield inside a vectorized scf.while");
                    let kept: Vec<MlirValue> = values
                        .iter()
                        .zip(&lanes.entered)
                        .map(|(new, old)| {
                            let t = ir::value_type(*new);
                            ir::result(ir::append(to, self.b.op("arith.select", loc, &[lanes.mask, *new, *old], &[t], &[], 0)), 0)
                        })
                        .collect();
                    ir::append(to, self.b.op("scf.yield", loc, &kept, &[], &[], 0));
                }
                "scf.yield" => {
                    let values: Vec<MlirValue> = ir::operands(op).iter().map(|v| self.vec(*v)).collect();
                    ir::append(to, self.b.op("scf.yield", loc, &values, &[], &[], 0));
                }
                "arith.constant" => {
                    // A splat of the same value, hoisted before the loop.
                    let r = ir::result(op, 0);
                    let t = self.vty(ir::value_type(r));
                    let value = ir::attribute(op, "value").expect("arith.constant has a value");
                    // SAFETY: a scalar attribute splatted to a vector type.
                    let splat = unsafe { sys::mlirDenseElementsAttrSplatGet(t, value) };
                    let c = ir::insert_before(self.anchor, self.b.op("arith.constant", loc, &[], &[t], &[("value", splat)], 0));
                    self.map.insert(r.ptr as usize, ir::result(c, 0));
                }
                _ => {
                    let operands: Vec<MlirValue> = ir::operands(op).iter().map(|v| self.vec(*v)).collect();
                    // SAFETY: a live op.
                    let nres = unsafe { sys::mlirOperationGetNumResults(op) };
                    let types: Vec<MlirType> = (0..nres).map(|i| self.vty(ir::value_type(ir::result(op, i)))).collect();
                    let attrs = ir::attributes(op);
                    let named: Vec<(&str, sys::MlirAttribute)> = attrs.iter().map(|(n, a)| (n.as_str(), *a)).collect();
                    let new = ir::append(to, self.b.op(&name, loc, &operands, &types, &named, 0));
                    for i in 0..nres {
                        self.map.insert(ir::result(op, i).ptr as usize, ir::result(new, i));
                    }
                }
            }
        }
    }
}

impl Vectorizer {
    /// `vector.reduction <or>` of `mask`: whether any lane is set.
    fn any_lane(&self, mask: MlirValue, to: sys::MlirBlock, loc: sys::MlirLocation) -> MlirValue {
        let i1 = self.b.ty("i1");
        let kind = self.b.attr("#vector.kind<or>");
        ir::result(ir::append(to, self.b.op("vector.reduction", loc, &[mask], &[i1], &[("kind", kind)], 0)), 0)
    }

    /// The masked vector form of the `scf.while` `op` (see the module doc),
    /// at the end of `to`. The new loop carries the old one's values as
    /// vectors and forwards, besides the old results, the values each lane
    /// entered the trip with and the mask, which the after region needs.
    fn while_loop(&mut self, op: MlirOperation, to: sys::MlirBlock, lane0: MlirValue) {
        let loc = ir::location(op);
        let inits: Vec<MlirValue> = ir::operands(op).iter().map(|v| self.vec(*v)).collect();
        let carried: Vec<MlirType> = inits.iter().map(|v| ir::value_type(*v)).collect();
        // SAFETY: a live op.
        let nres = unsafe { sys::mlirOperationGetNumResults(op) };
        let mut forwarded: Vec<MlirType> = (0..nres).map(|i| self.vty(ir::value_type(ir::result(op, i)))).collect();
        forwarded.extend(&carried);
        forwarded.push(self.vty(self.b.ty("i1")));
        let new = ir::append(to, self.b.op("scf.while", loc, &inits, &forwarded, &[], 2));
        let (old_before, old_after) = (ir::first_block(ir::region(op, 0)), ir::first_block(ir::region(op, 1)));
        let before = ir::new_block(&carried, loc);
        ir::append_block(ir::region(new, 0), before);
        let after = ir::new_block(&forwarded, loc);
        ir::append_block(ir::region(new, 1), after);
        for i in 0..carried.len() {
            self.map.insert(ir::block_argument(old_before, i as isize).ptr as usize, ir::block_argument(before, i as isize));
        }
        for i in 0..nres {
            self.map.insert(ir::block_argument(old_after, i).ptr as usize, ir::block_argument(after, i));
        }
        let n = nres as usize;
        self.whiles.push(WhileLanes {
            before_args: (0..carried.len()).map(|i| ir::block_argument(before, i as isize)).collect(),
            entered: (0..carried.len()).map(|i| ir::block_argument(after, (n + i) as isize)).collect(),
            mask: ir::block_argument(after, (n + carried.len()) as isize),
        });
        self.body(old_before, before, lane0);
        self.body(old_after, after, lane0);
        self.whiles.pop();
        for i in 0..nres {
            self.map.insert(ir::result(op, i).ptr as usize, ir::result(new, i));
        }
    }
}

/// Returns whether `par` is still there (with the leftover iterations).
fn vectorize(par: MlirOperation, plan: &Plan) -> bool {
    let b = Builder::of_op(par);
    let loc = ir::location(par);
    let index = b.index_type();
    let n_full = plan.n - plan.n % plan.w as i64;
    crate::remark(
        par,
        &format!(
            "strata-vectorize: loop of {} iterations vectorized, {} lanes; {} leftover iteration(s) stay scalar{}",
            plan.n,
            plan.w,
            plan.n - n_full,
            if plan.stream.is_some() { "; streaming stores where the output is aligned" } else { "" }
        ),
    );
    let at = |op| ir::insert_before(par, op);
    let cst = |v: i64| ir::result(at(b.index_constant(loc, v)), 0);
    let (lo, hi, step) = (cst(plan.start), cst(plan.start + n_full), cst(plan.w as i64));
    let iota = ir::result(at(iota(&b, loc, plan.w)), 0);
    let old = ir::first_block(ir::region(par, 0));
    // The vector loop at the end of `blk` (`None`: before `par`).
    let vector_loop = |blk: Option<sys::MlirBlock>, stream: Option<i64>| {
        let op = b.op("scf.for", loc, &[lo, hi, step], &[], &[], 1);
        let vfor = match blk {
            Some(blk) => ir::append(blk, op),
            None => at(op),
        };
        let body = ir::new_block(&[index], loc);
        ir::append_block(ir::region(vfor, 0), body);
        let jv = ir::block_argument(body, 0);
        let mut v = Vectorizer::new(b, par, loc, plan.w, vfor);
        v.stream = stream;
        // %j: the lane indices jv + [0..W).
        let jb = ir::result(ir::append(body, b.op("vector.broadcast", loc, &[jv], &[v.vty(index)], &[], 0)), 0);
        let jvec = ir::result(ir::append(body, b.op("arith.addi", loc, &[jb, iota], &[v.vty(index)], &[], 0)), 0);
        v.map.insert(ir::block_argument(old, 0).ptr as usize, jvec);
        v.body(old, body, jv);
        ir::append(body, b.op("scf.yield", loc, &[], &[], &[], 0));
        crate::prefetch_rows::run(vfor);
    };
    match plan.stream {
        None => vector_loop(None, None),
        Some(align) => {
            // Streaming stores where every stored buffer's base is on the
            // boundary, ordinary ones elsewhere. They are weakly ordered:
            // the outlined parallel body ends in a fence (see
            // `outline_parallel`), not each row, which cost 1 KiB rows
            // half their speed.
            let i1 = b.ty("i1");
            let mut aligned = None;
            let mut seen: Vec<usize> = Vec::new();
            for st in ir::find(par, &["affine.store"]) {
                let memref = ir::operand(st, 1);
                if seen.contains(&(memref.ptr as usize)) {
                    continue;
                }
                seen.push(memref.ptr as usize);
                let p = if ir::is_plain_memref(ir::value_type(memref)) {
                    ir::result(at(b.op("memref.extract_aligned_pointer_as_index", loc, &[memref], &[index], &[], 0)), 0)
                } else {
                    // A view: where its first element is.
                    let (meta, base) = ir::strided_metadata(par, memref);
                    let ebytes = scalar_bits(ir::shape(ir::value_type(memref)).1).expect("checked in streams") as i64 / 8;
                    let bytes = ir::result(at(b.op("arith.muli", loc, &[ir::result(meta, 1), cst(ebytes)], &[index], &[], 0)), 0);
                    ir::result(at(b.op("arith.addi", loc, &[base, bytes], &[index], &[], 0)), 0)
                };
                let low = ir::result(at(b.op("arith.andi", loc, &[p, cst(align - 1)], &[index], &[], 0)), 0);
                let eq = ir::integer_attr(b.ty("i64"), ir::cmpi::EQ);
                let ok = ir::result(at(b.op("arith.cmpi", loc, &[low, cst(0)], &[i1], &[("predicate", eq)], 0)), 0);
                aligned = Some(match aligned {
                    None => ok,
                    Some(all) => ir::result(at(b.op("arith.andi", loc, &[all, ok], &[i1], &[], 0)), 0),
                });
            }
            let branch = at(b.op("scf.if", loc, &[aligned.expect("a store")], &[], &[], 2));
            for (region, stream) in [(0, Some(align)), (1, None)] {
                let blk = ir::new_block(&[], loc);
                ir::append_block(ir::region(branch, region), blk);
                vector_loop(Some(blk), stream);
                ir::append(blk, b.op("scf.yield", loc, &[], &[], &[], 0));
            }
        }
    }
    if n_full == plan.n {
        ir::replace_op(par, &[]);
        false
    } else {
        ir::narrow_lower_bound(par, plan.start + n_full);
        true
    }
}
