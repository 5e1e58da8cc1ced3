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
//! `scf.yield`. Anything else leaves the loop alone.
//!
//! Produces `scf.for %jv = 0 to N - N % W step W` whose body is the same
//! computation on `vector<W x T>` values (`%j` becomes `%jv + [0..W)`,
//! values from outside are broadcast), before the original loop, which is
//! narrowed to the leftover `[N - N % W, N)`. `W` is the vector width in
//! bits over the widest element type in the body.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::ir::{self, Builder};

/// Vectorizes every matching loop under `root`.
pub fn run(root: MlirOperation, bits: usize) {
    let loops: Vec<MlirOperation> = ir::walk(root)
        .into_iter()
        .filter(|op| ir::name(*op) == "affine.parallel" && is_innermost(*op))
        .collect();
    for op in loops {
        if let Some(plan) = check(op, bits) {
            vectorize(op, &plan);
        }
    }
}

fn is_innermost(op: MlirOperation) -> bool {
    !ir::walk(op).iter().any(|o| matches!(ir::name(*o).as_str(), "affine.parallel" | "affine.for" | "scf.parallel"))
}

struct Plan {
    n: i64,
    w: usize,
}

fn parent(op: MlirOperation) -> MlirOperation {
    // SAFETY: a live op.
    unsafe { sys::mlirOperationGetParentOperation(op) }
}

fn within(mut op: MlirOperation, ancestor: MlirOperation) -> bool {
    while !op.ptr.is_null() {
        if op.ptr == ancestor.ptr {
            return true;
        }
        op = parent(op);
    }
    false
}

fn defined_inside(v: MlirValue, scope: MlirOperation) -> bool {
    // SAFETY: a live value.
    let owner = unsafe {
        if sys::mlirValueIsAOpResult(v) {
            sys::mlirOpResultGetOwner(v)
        } else {
            sys::mlirBlockGetParentOperation(sys::mlirBlockArgumentGetOwner(v))
        }
    };
    within(owner, scope)
}

fn scalar_bits(t: MlirType) -> Option<usize> {
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

fn check(par: MlirOperation, bits: usize) -> Option<Plan> {
    let block = ir::first_block(ir::region(par, 0));
    // SAFETY: a live block.
    if unsafe { sys::mlirBlockGetNumArguments(block) } != 1 || ir::attribute(par, "steps").map(ir::print_attr) != Some("[1]".into()) {
        return None;
    }
    let lower = ir::print_attr(ir::attribute(par, "lowerBoundsMap")?);
    if lower != "affine_map<() -> (0)>" {
        return None;
    }
    let upper = ir::print_attr(ir::attribute(par, "upperBoundsMap")?);
    let n: i64 = upper.strip_prefix("affine_map<() -> (")?.strip_suffix(")>")?.parse().ok()?;
    let j = ir::block_argument(block, 0);
    let mut widest = 0;
    for op in ir::walk(par) {
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
            widest = widest.max(scalar_bits(t)?);
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
                let uniform = !idx.iter().any(|v| defined_inside(*v, par));
                if name == "affine.load" && uniform && !defined_inside(memref, par) {
                    continue; // the same element in every lane: loaded once, broadcast
                }
                let (shape, _) = ir::shape(ir::value_type(memref));
                if !identity || idx.is_empty() || idx[idx.len() - 1].ptr != j.ptr || shape.last() != Some(&n) {
                    return None;
                }
                if idx[..idx.len() - 1].iter().any(|v| defined_inside(*v, par)) || defined_inside(memref, par) {
                    return None;
                }
            }
            "scf.for" => {
                if ir::operands(op)[..3].iter().any(|v| defined_inside(*v, par)) {
                    return None;
                }
            }
            "scf.yield" | "affine.yield" => {}
            n if n.starts_with("arith.") || n.starts_with("math.") => {
                // SAFETY: a live op.
                if unsafe { sys::mlirOperationGetNumRegions(op) } != 0 {
                    return None;
                }
            }
            _ => return None,
        }
    }
    let w = bits / widest.max(8);
    (w >= 2 && n >= w as i64).then_some(Plan { n, w })
}

struct Vectorizer {
    b: Builder,
    /// The loop being vectorized (values defined outside it are uniform).
    scope: MlirOperation,
    loc: sys::MlirLocation,
    w: usize,
    map: HashMap<usize, MlirValue>,
    /// Where broadcasts of loop-invariant values go: before the new loop.
    anchor: MlirOperation,
}

impl Vectorizer {
    fn vty(&self, t: MlirType) -> MlirType {
        self.b.ty(&format!("vector<{}x{}>", self.w, ir::print_type(t)))
    }

    /// The vector form of `v`: mapped, or (defined outside) broadcast.
    fn vec(&mut self, v: MlirValue) -> MlirValue {
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
    fn body(&mut self, from: sys::MlirBlock, to: sys::MlirBlock, lane0: MlirValue) {
        for op in ir::ops_in(from) {
            let name = ir::name(op);
            let loc = ir::location(op);
            match name.as_str() {
                "affine.yield" => {}
                "affine.load" if ir::operands(op)[1..].iter().all(|v| !defined_inside(*v, self.scope)) => {
                    let scalar_ty = ir::value_type(ir::result(op, 0));
                    let l = ir::append(to, self.b.op("memref.load", loc, &ir::operands(op), &[scalar_ty], &[], 0));
                    let t = self.vty(scalar_ty);
                    let bc = ir::append(to, self.b.op("vector.broadcast", loc, &[ir::result(l, 0)], &[t], &[], 0));
                    self.map.insert(ir::result(op, 0).ptr as usize, ir::result(bc, 0));
                }
                "affine.load" => {
                    let ops = ir::operands(op);
                    let mut idx = ops[1..ops.len() - 1].to_vec();
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
                    operands.extend(&ops[2..ops.len() - 1]);
                    operands.push(lane0);
                    ir::append(to, self.b.op("vector.store", loc, &operands, &[], &[], 0));
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

fn vectorize(par: MlirOperation, plan: &Plan) {
    let b = Builder::of_op(par);
    let loc = ir::location(par);
    let index = b.index_type();
    let n_full = plan.n - plan.n % plan.w as i64;
    crate::remark(
        par,
        &format!(
            "strata-vectorize: loop of {} iterations vectorized, {} lanes; {} leftover iteration(s) stay scalar",
            plan.n,
            plan.w,
            plan.n - n_full
        ),
    );
    let at = |op| ir::insert_before(par, op);
    let cst = |v: i64| ir::result(at(b.constant(loc, &format!("{v} : index"), index)), 0);
    let (lo, hi, step) = (cst(0), cst(n_full), cst(plan.w as i64));
    let lanes: Vec<String> = (0..plan.w).map(|i| i.to_string()).collect();
    let iota = ir::result(
        at(b.op(
            "arith.constant",
            loc,
            &[],
            &[b.ty(&format!("vector<{}xindex>", plan.w))],
            &[("value", b.attr(&format!("dense<[{}]> : vector<{}xindex>", lanes.join(", "), plan.w)))],
            0,
        )),
        0,
    );
    let vfor = at(b.op("scf.for", loc, &[lo, hi, step], &[], &[], 1));
    let body = ir::new_block(&[index], loc);
    ir::append_block(ir::region(vfor, 0), body);
    let jv = ir::block_argument(body, 0);
    let mut v = Vectorizer { b, scope: par, loc, w: plan.w, map: HashMap::new(), anchor: vfor };
    // %j: the lane indices jv + [0..W).
    let jb = ir::result(ir::append(body, b.op("vector.broadcast", loc, &[jv], &[v.vty(index)], &[], 0)), 0);
    let jvec = ir::result(ir::append(body, b.op("arith.addi", loc, &[jb, iota], &[v.vty(index)], &[], 0)), 0);
    let old = ir::first_block(ir::region(par, 0));
    v.map.insert(ir::block_argument(old, 0).ptr as usize, jvec);
    v.body(old, body, jv);
    ir::append(body, b.op("scf.yield", loc, &[], &[], &[], 0));
    if n_full == plan.n {
        ir::replace_op(par, &[]);
    } else {
        let name = "lowerBoundsMap";
        let map = b.attr(&format!("affine_map<() -> ({n_full})>"));
        // SAFETY: replacing an inherent attribute of a live op.
        unsafe {
            sys::mlirOperationSetAttributeByName(par, sys::MlirStringRef { data: name.as_ptr() as *const _, length: name.len() }, map)
        };
    }
}
