//! `strata-check-races`: proves parallel loops free of data races, or says
//! which two iterations race.
//!
//! Matches every `strata.parallel_for`, `scf.parallel` and `affine.parallel`
//! (the loops users write and the ones `strata-lower-to-affine` marks
//! parallel). Models the memory accesses of each body: `memref`/`affine`
//! loads and stores, `vector` loads, stores and transfers (a range of
//! elements along the last dimension), and calls that take memrefs. Each
//! index becomes an expression over the loop's induction variables
//! ([`Expr`]): constants, `+ - *`, `floordiv`/`ceildiv`/`mod`/`div`/`rem`
//! by constants, `affine.apply` and affine maps, casts; anything else
//! (a loaded value, say) is opaque.
//!
//! For each pair of accesses to one buffer of which at least one writes:
//! - when both indices depend on the induction variables alone and the
//!   lower bounds and steps are constants, the first iterations (all of
//!   them when the trip count is known and small) are enumerated; two
//!   distinct iterations touching one element are a **race**, reported as
//!   an error (a warning under `mode=warn`) naming both iterations and the
//!   element;
//! - otherwise independence is proven symbolically: for every induction
//!   variable some dimension indexes both accesses by the same injective
//!   function of it alone (`C[i, k]` and `C[i, k']`), or some dimension
//!   can never be equal (`a[2*i]` and `a[2*i+1]`); what cannot be proven
//!   is a **warning** that says why and suggests `memref.atomic_rmw`.
//!
//! Assumes distinct memref values that are not views of one another do not
//! alias (as bufferization does for function arguments); views are
//! traced to their source: through casts, rank-keeping subviews with static
//! strides and transposes with the index they give the source, through
//! other views with opaque indices.
//! Buffers allocated inside the body are private to an iteration. Atomic
//! read-modify-writes never race with each other, but one races with a
//! plain load or store of its element in another iteration. Guarantees:
//! it never changes the IR; with `mode=error` a proven race fails the
//! pass. Under
//! `--strata-remarks` each loop proven race-free gets a remark.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirAffineExpr, MlirOperation, MlirValue};
use strata_dialect::diag::{self, Severity};

use crate::{
    external::{PassFailed, StrataPass},
    ir,
    options::{OptionKind, OptionSpec, PassOptions},
    pass_info::{Build, PassInfo, Status},
};

pub static INFO: PassInfo = PassInfo {
    argument: "strata-check-races",
    summary: "Prove parallel loops free of data races: a provable race is an error, unprovable independence a warning",
    options: &[OptionSpec {
        name: "mode",
        kind: OptionKind::Choice(&["error", "warn"]),
        default: "error",
        description: "error: provable races fail the pass; warn: they are warnings",
    }],
    status: Status::Implemented,
    build: Build::Rust(|o: &PassOptions| Box::new(CheckRaces { errors: o.choice("mode") != "warn" })),
};

#[derive(Clone)]
struct CheckRaces {
    /// Whether a proven race is an error (else a warning).
    errors: bool,
}

/// How many iterations are enumerated at most, per loop.
const ENUMERATED: i64 = 4096;

/// An index as a function of the loop's induction variables.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    Const(i64),
    /// The loop's induction variable number `k`.
    Iv(usize),
    /// A value fixed for the whole loop (defined outside it).
    Invariant(usize),
    /// A value that varies inside one iteration (an inner loop's variable).
    Inner(usize),
    Add(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    FloorDiv(Box<Expr>, i64),
    CeilDiv(Box<Expr>, i64),
    /// Truncating division (`arith.divsi`).
    Div(Box<Expr>, i64),
    /// Floored modulo (affine `mod`).
    Mod(Box<Expr>, i64),
    /// Truncating remainder (`arith.remsi`).
    Rem(Box<Expr>, i64),
    /// Not analyzable; says why.
    Opaque(&'static str),
}

impl Expr {
    fn bin(f: fn(Box<Expr>, Box<Expr>) -> Expr, a: Expr, b: Expr) -> Expr {
        match (&a, &b) {
            (Expr::Opaque(w), _) | (_, Expr::Opaque(w)) => Expr::Opaque(w),
            _ => f(Box::new(a), Box::new(b)),
        }
    }

    fn by_const(f: fn(Box<Expr>, i64) -> Expr, a: Expr, b: Expr) -> Expr {
        match (a, b) {
            (Expr::Opaque(w), _) | (_, Expr::Opaque(w)) => Expr::Opaque(w),
            (a, Expr::Const(c)) if c != 0 => f(Box::new(a), c),
            _ => Expr::Opaque("a division by a value that is not a constant"),
        }
    }

    fn opaque(&self) -> Option<&'static str> {
        match self {
            Expr::Opaque(w) => Some(w),
            Expr::Add(a, b) | Expr::Mul(a, b) => a.opaque().or(b.opaque()),
            Expr::FloorDiv(a, _) | Expr::CeilDiv(a, _) | Expr::Div(a, _) | Expr::Mod(a, _) | Expr::Rem(a, _) => {
                a.opaque()
            }
            _ => None,
        }
    }

    /// Its value at the iteration `ivs` with inner loop variables as in
    /// `inner`, if it depends on nothing else.
    fn eval(&self, ivs: &[i64], inner: &HashMap<usize, i64>) -> Option<i64> {
        let ev = |e: &Expr| e.eval(ivs, inner);
        Some(match self {
            Expr::Const(c) => *c,
            Expr::Iv(k) => ivs[*k],
            Expr::Inner(id) => *inner.get(id)?,
            Expr::Add(a, b) => ev(a)?.checked_add(ev(b)?)?,
            Expr::Mul(a, b) => ev(a)?.checked_mul(ev(b)?)?,
            Expr::FloorDiv(a, c) => floor_div(ev(a)?, *c),
            Expr::CeilDiv(a, c) => -floor_div(-ev(a)?, *c),
            Expr::Div(a, c) => ev(a)?.checked_div(*c)?,
            Expr::Mod(a, c) => ev(a)? - floor_div(ev(a)?, *c) * c,
            Expr::Rem(a, c) => ev(a)?.checked_rem(*c)?,
            Expr::Invariant(_) | Expr::Opaque(_) => return None,
        })
    }

    /// As `sum(iv[k] * coeff[k]) + sum(var * coeff) + constant`, if linear.
    fn linear(&self, n: usize) -> Option<Linear> {
        Some(match self {
            Expr::Const(c) => Linear { ivs: vec![0; n], vars: vec![], constant: *c },
            Expr::Iv(k) => {
                let mut ivs = vec![0; n];
                ivs[*k] = 1;
                Linear { ivs, vars: vec![], constant: 0 }
            }
            Expr::Invariant(id) => Linear { ivs: vec![0; n], vars: vec![(Var::Invariant(*id), 1)], constant: 0 },
            Expr::Inner(id) => Linear { ivs: vec![0; n], vars: vec![(Var::Inner(*id), 1)], constant: 0 },
            Expr::Add(a, b) => a.linear(n)?.add(&b.linear(n)?),
            Expr::Mul(a, b) => {
                let (a, b) = (a.linear(n)?, b.linear(n)?);
                match (a.as_const(), b.as_const()) {
                    (Some(c), _) => b.scale(c),
                    (_, Some(c)) => a.scale(c),
                    _ => return None,
                }
            }
            _ => return None,
        })
    }
}

fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Var {
    Invariant(usize),
    Inner(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Linear {
    ivs: Vec<i64>,
    /// Sorted by variable, no zero coefficients.
    vars: Vec<(Var, i64)>,
    constant: i64,
}

impl Linear {
    fn as_const(&self) -> Option<i64> {
        (self.ivs.iter().all(|c| *c == 0) && self.vars.is_empty()).then_some(self.constant)
    }

    fn add(mut self, other: &Linear) -> Linear {
        for (a, b) in self.ivs.iter_mut().zip(&other.ivs) {
            *a += b;
        }
        for (v, c) in &other.vars {
            match self.vars.iter_mut().find(|(w, _)| w == v) {
                Some((_, d)) => *d += c,
                None => self.vars.push((*v, *c)),
            }
        }
        self.vars.retain(|(_, c)| *c != 0);
        self.vars.sort();
        self.constant += other.constant;
        self
    }

    fn scale(mut self, c: i64) -> Linear {
        self.ivs.iter_mut().for_each(|a| *a *= c);
        self.vars.iter_mut().for_each(|(_, a)| *a *= c);
        self.vars.retain(|(_, a)| *a != 0);
        self.constant *= c;
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Read,
    Write,
    /// A `memref.atomic_rmw` or `memref.generic_atomic_rmw`: a write that
    /// never races with another atomic one, but does with a plain load or
    /// store of the element in another iteration.
    Atomic,
}

impl Kind {
    fn writes(self) -> bool {
        self != Kind::Read
    }
}

/// One access of the body to a buffer.
struct Access {
    op: MlirOperation,
    kind: Kind,
    buffer: MlirValue,
    index: Vec<Expr>,
    /// Elements touched along the last dimension (vector accesses).
    width: i64,
    /// Under an `scf.if` (or another op that may skip it) inside the loop:
    /// a conflict found is then possible, not proven.
    conditional: bool,
}

/// The values an inner loop's variable takes, as far as enumerated.
#[derive(Clone, Debug)]
struct Domain {
    values: Vec<i64>,
    /// Whether `values` are all of them.
    complete: bool,
    /// The smallest and the largest value.
    range: (i64, i64),
}

/// How many values of an inner loop's variable are enumerated at most.
const INNER_VALUES: i64 = 256;

/// How many elements one access's enumeration may evaluate (iterations x
/// combinations of inner values): beyond it, the rest is not enumerated
/// and the result can only be a race found or a warning.
const ELEMENT_BUDGET: usize = 1 << 18;

fn domain(lb: i64, ub: i64, step: i64) -> Option<Domain> {
    if step <= 0 || ub <= lb {
        return None;
    }
    let trip = (ub - lb + step - 1) / step;
    Some(Domain { values: (0..trip.min(INNER_VALUES)).map(|t| lb + t * step).collect(), complete: trip <= INNER_VALUES, range: (lb, lb + (trip - 1) * step) })
}

/// A parallel loop: its induction variables and their constant bounds.
struct Loop {
    op: MlirOperation,
    ivs: Vec<MlirValue>,
    lower: Vec<Option<i64>>,
    upper: Vec<Option<i64>>,
    step: Vec<Option<i64>>,
}

impl Loop {
    fn of(op: MlirOperation) -> Option<Loop> {
        let name = ir::name(op);
        if !matches!(name.as_str(), "strata.parallel_for" | "scf.parallel" | "affine.parallel") {
            return None;
        }
        let body = ir::first_block(ir::region(op, 0));
        if body.ptr.is_null() {
            return None;
        }
        // SAFETY: a live block.
        let n = unsafe { sys::mlirBlockGetNumArguments(body) } as usize;
        let ivs: Vec<MlirValue> = (0..n).map(|i| ir::block_argument(body, i as isize)).collect();
        let operand_const = |i: usize| constant_of(ir::operand(op, i as isize));
        let (lower, upper, step) = match name.as_str() {
            "strata.parallel_for" => (vec![operand_const(0)], vec![operand_const(1)], vec![operand_const(2)]),
            "scf.parallel" => (
                (0..n).map(operand_const).collect(),
                (n..2 * n).map(operand_const).collect(),
                (2 * n..3 * n).map(operand_const).collect(),
            ),
            "affine.parallel" => {
                let bound = |attr: &str| -> Vec<Option<i64>> {
                    let results = constant_results(op, attr, n);
                    (0..n).map(|k| results.as_ref().and_then(|r| r[k])).collect()
                };
                // `steps` is an array of integer attributes.
                let steps: Vec<i64> = ir::attribute(op, "steps")
                    .filter(|a| unsafe { sys::mlirAttributeIsAArray(*a) })
                    .map(|a| {
                        // SAFETY: an array attribute's integer elements.
                        (0..unsafe { sys::mlirArrayAttrGetNumElements(a) })
                            .filter_map(|i| {
                                let e = unsafe { sys::mlirArrayAttrGetElement(a, i) };
                                unsafe { sys::mlirAttributeIsAInteger(e) }.then(|| unsafe { sys::mlirIntegerAttrGetValueInt(e) })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (bound("lowerBoundsMap"), bound("upperBoundsMap"), (0..n).map(|k| steps.get(k).copied()).collect())
            }
            _ => return None,
        };
        Some(Loop { op, ivs, lower, upper, step })
    }

    fn describe(&self) -> String {
        format!("this {}", ir::name(self.op))
    }

    /// Iteration `t` (counted from 0 in row-major order over the loop's
    /// variables) as variable values, for the first `limit` iterations.
    fn iterations(&self, limit: i64) -> Option<Vec<Vec<i64>>> {
        let n = self.ivs.len();
        let mut trips = Vec::with_capacity(n);
        for k in 0..n {
            let (lb, st) = (self.lower[k]?, self.step[k]?);
            if st <= 0 {
                return None;
            }
            // An unknown upper bound: the first iterations, as far as any
            // conflict found among them holds once the loop runs that far.
            let trip = match self.upper[k] {
                Some(ub) => ((ub - lb).max(0) + st - 1) / st,
                None if n == 1 => limit,
                None => return None,
            };
            trips.push(trip);
        }
        let total = trips.iter().try_fold(1i64, |a, t| a.checked_mul(*t))?;
        let mut out = Vec::new();
        for t in 0..total.min(limit) {
            let mut rest = t;
            let mut point = vec![0; n];
            for k in (0..n).rev() {
                point[k] = self.lower[k]? + (rest % trips[k]) * self.step[k]?;
                rest /= trips[k];
            }
            out.push(point);
        }
        Some(out)
    }

    /// Whether `iterations(limit)` covers every iteration.
    fn enumerates_all(&self, limit: i64) -> bool {
        let mut total = 1i64;
        for k in 0..self.ivs.len() {
            let (Some(lb), Some(ub), Some(st)) = (self.lower[k], self.upper[k], self.step[k]) else { return false };
            if st <= 0 {
                return false;
            }
            total = total.saturating_mul(((ub - lb).max(0) + st - 1) / st);
        }
        total <= limit
    }
}

/// The values of an inner loop's induction variable `v`, if its bounds
/// are constants.
fn domain_of(v: MlirValue) -> Option<Domain> {
    // SAFETY: `v` is a block argument.
    let (owner, index) = unsafe {
        (sys::mlirBlockGetParentOperation(sys::mlirBlockArgumentGetOwner(v)), sys::mlirBlockArgumentGetArgNumber(v))
    };
    match ir::name(owner).as_str() {
        "scf.for" if index == 0 => domain(
            constant_of(ir::operand(owner, 0))?,
            constant_of(ir::operand(owner, 1))?,
            constant_of(ir::operand(owner, 2))?,
        ),
        "strata.parallel_for" | "scf.parallel" | "affine.parallel" => {
            let lp = Loop::of(owner)?;
            let k = index as usize;
            domain(lp.lower.get(k).copied()??, lp.upper.get(k).copied()??, lp.step.get(k).copied()??)
        }
        "affine.for" if index == 0 => {
            let bound = |attr: &str| constant_results(owner, attr, 1)?[0];
            let step = ir::attribute(owner, "step")
                .filter(|a| unsafe { sys::mlirAttributeIsAInteger(*a) })
                .map(|a| unsafe { sys::mlirIntegerAttrGetValueInt(a) })?;
            domain(bound("lowerBoundMap")?, bound("upperBoundMap")?, step)
        }
        _ => None,
    }
}

/// The results of the affine map attribute `attr` of `op` that are
/// constants (`None` for the others), if it has `n` results.
fn constant_results(op: MlirOperation, attr: &str, n: usize) -> Option<Vec<Option<i64>>> {
    // SAFETY: an affine map attribute's map and its result expressions.
    unsafe {
        let map = sys::mlirAffineMapAttrGetValue(ir::attribute(op, attr)?);
        if sys::mlirAffineMapGetNumResults(map) != n as isize {
            return None;
        }
        Some(
            (0..n)
                .map(|k| {
                    let e = sys::mlirAffineMapGetResult(map, k as isize);
                    sys::mlirAffineExprIsAConstant(e).then(|| sys::mlirAffineConstantExprGetValue(e))
                })
                .collect(),
        )
    }
}

fn constant_of(v: MlirValue) -> Option<i64> {
    // SAFETY: value and attribute queries on live handles.
    unsafe {
        if !sys::mlirValueIsAOpResult(v) {
            return None;
        }
        let def = sys::mlirOpResultGetOwner(v);
        let name = ir::name(def);
        if name != "arith.constant" && name != "index.constant" {
            return None;
        }
        let a = ir::attribute(def, "value")?;
        sys::mlirAttributeIsAInteger(a).then(|| sys::mlirIntegerAttrGetValueInt(a))
    }
}

/// Builds index expressions of values used inside one loop.
struct Indexer<'a> {
    lp: &'a Loop,
    /// Inner loops' variables with constant bounds: their values.
    domains: std::cell::RefCell<HashMap<usize, Domain>>,
}

impl Indexer<'_> {
    fn expr(&self, v: MlirValue, depth: usize) -> Expr {
        if let Some(k) = self.lp.ivs.iter().position(|iv| iv.ptr == v.ptr) {
            return Expr::Iv(k);
        }
        if let Some(c) = constant_of(v) {
            return Expr::Const(c);
        }
        if !ir::defined_inside(v, self.lp.op) {
            return Expr::Invariant(v.ptr as usize);
        }
        if depth > 64 {
            return Expr::Opaque("an index computation too deep to follow");
        }
        // SAFETY: a live value.
        if !unsafe { sys::mlirValueIsAOpResult(v) } {
            // An inner loop's variable.
            if let Some(d) = domain_of(v) {
                self.domains.borrow_mut().insert(v.ptr as usize, d);
            }
            return Expr::Inner(v.ptr as usize);
        }
        // SAFETY: an op result.
        let def = unsafe { sys::mlirOpResultGetOwner(v) };
        let arg = |i: isize| self.expr(ir::operand(def, i), depth + 1);
        match ir::name(def).as_str() {
            "arith.addi" | "index.add" => Expr::bin(Expr::Add, arg(0), arg(1)),
            "arith.subi" | "index.sub" => Expr::bin(Expr::Add, arg(0), Expr::bin(Expr::Mul, Expr::Const(-1), arg(1))),
            "arith.muli" | "index.mul" => Expr::bin(Expr::Mul, arg(0), arg(1)),
            "arith.floordivsi" | "index.floordivs" => Expr::by_const(Expr::FloorDiv, arg(0), arg(1)),
            "arith.ceildivsi" | "index.ceildivs" => Expr::by_const(Expr::CeilDiv, arg(0), arg(1)),
            "arith.divsi" | "arith.divui" | "index.divs" | "index.divu" => Expr::by_const(Expr::Div, arg(0), arg(1)),
            "arith.remsi" | "arith.remui" | "index.rems" | "index.remu" => Expr::by_const(Expr::Rem, arg(0), arg(1)),
            // Casts keep the value only when they widen with its sign: a
            // narrowing cast wraps (index 256 to i8 is 0), and a zero
            // extension changes a negative value.
            "arith.index_cast" | "arith.extsi" if !narrows(def) => arg(0),
            "arith.index_cast" | "arith.extsi" => Expr::Opaque("a cast to a narrower integer (it wraps)"),
            "arith.index_castui" | "arith.extui" => Expr::Opaque("a zero-extending cast (not the value itself if negative)"),
            "affine.apply" => {
                let Some(map) = ir::attribute(def, "map") else { return Expr::Opaque("an affine.apply without a map") };
                // SAFETY: an affine map attribute.
                let map = unsafe { sys::mlirAffineMapAttrGetValue(map) };
                let operands: Vec<Expr> = (0..ir::operands(def).len() as isize).map(arg).collect();
                self.affine(map, 0, &operands)
            }
            "memref.load" | "affine.load" | "vector.load" | "vector.extractelement" | "vector.extract" => {
                Expr::Opaque("a value loaded inside the loop (an indirect index)")
            }
            _ => Expr::Opaque("a value the checker cannot follow"),
        }
    }

    /// Result `result` of `map` applied to `operands` (dims, then symbols).
    fn affine(&self, map: sys::MlirAffineMap, result: isize, operands: &[Expr]) -> Expr {
        // SAFETY: a live map.
        unsafe {
            if result >= sys::mlirAffineMapGetNumResults(map) {
                return Expr::Opaque("an affine map with too few results");
            }
            let dims = sys::mlirAffineMapGetNumDims(map) as usize;
            self.affine_expr(sys::mlirAffineMapGetResult(map, result), dims, operands, 0)
        }
    }

    fn affine_expr(&self, e: MlirAffineExpr, dims: usize, operands: &[Expr], depth: usize) -> Expr {
        if depth > 64 {
            return Expr::Opaque("an affine expression too deep to follow");
        }
        // SAFETY: queries of a live affine expression.
        unsafe {
            if sys::mlirAffineExprIsAConstant(e) {
                return Expr::Const(sys::mlirAffineConstantExprGetValue(e));
            }
            if sys::mlirAffineExprIsADim(e) {
                let p = sys::mlirAffineDimExprGetPosition(e) as usize;
                return operands.get(p).cloned().unwrap_or(Expr::Opaque("an affine dimension without an operand"));
            }
            if sys::mlirAffineExprIsASymbol(e) {
                let p = dims + sys::mlirAffineSymbolExprGetPosition(e) as usize;
                return operands.get(p).cloned().unwrap_or(Expr::Opaque("an affine symbol without an operand"));
            }
            let lhs = self.affine_expr(sys::mlirAffineBinaryOpExprGetLHS(e), dims, operands, depth + 1);
            let rhs = self.affine_expr(sys::mlirAffineBinaryOpExprGetRHS(e), dims, operands, depth + 1);
            if sys::mlirAffineExprIsAAdd(e) {
                Expr::bin(Expr::Add, lhs, rhs)
            } else if sys::mlirAffineExprIsAMul(e) {
                Expr::bin(Expr::Mul, lhs, rhs)
            } else if sys::mlirAffineExprIsAFloorDiv(e) {
                Expr::by_const(Expr::FloorDiv, lhs, rhs)
            } else if sys::mlirAffineExprIsACeilDiv(e) {
                Expr::by_const(Expr::CeilDiv, lhs, rhs)
            } else if sys::mlirAffineExprIsAMod(e) {
                Expr::by_const(Expr::Mod, lhs, rhs)
            } else {
                Expr::Opaque("an affine expression of an unknown kind")
            }
        }
    }
}

/// The buffer a memref value views, and whether it is a view (whose
/// indices then mean something else). `strata-privatize-atomics` traces
/// aliases of the buffer it privatizes with it too.
pub(crate) fn buffer_of(mut v: MlirValue) -> (MlirValue, bool) {
    let mut view = false;
    for _ in 0..64 {
        // SAFETY: a live value.
        if !unsafe { sys::mlirValueIsAOpResult(v) } {
            break;
        }
        let def = unsafe { sys::mlirOpResultGetOwner(v) };
        match ir::name(def).as_str() {
            "memref.cast" | "memref.assume_alignment" => v = ir::operand(def, 0),
            "memref.subview" | "memref.reinterpret_cast" | "memref.expand_shape" | "memref.collapse_shape"
            | "memref.view" | "memref.transpose" => {
                v = ir::operand(def, 0);
                view = true;
            }
            _ => break,
        }
    }
    (v, view)
}

fn is_memref(v: MlirValue) -> bool {
    // SAFETY: a live value's type.
    unsafe { sys::mlirTypeIsAMemRef(sys::mlirValueGetType(v)) }
}

/// What one loop's body does to memory, or why it cannot be known.
struct Accesses {
    list: Vec<Access>,
    domains: HashMap<usize, Domain>,
    /// Ops whose effects on a memref cannot be modelled (calls).
    unknown: Vec<(MlirOperation, MlirValue)>,
}

fn collect(lp: &Loop) -> Accesses {
    let ix = Indexer { lp, domains: Default::default() };
    let mut list = Vec::new();
    let mut unknown = Vec::new();
    for op in ir::walk(lp.op) {
        let name = ir::name(op);
        let operands = ir::operands(op);
        let (kind, mem, first_index, count, width) = match name.as_str() {
            "memref.load" => (Kind::Read, 0, 1, operands.len() - 1, 1),
            "memref.store" => (Kind::Write, 1, 2, operands.len().saturating_sub(2), 1),
            "vector.load" | "vector.maskedload" | "vector.transfer_read" => {
                let w = vector_width(ir::result(op, 0));
                (Kind::Read, 0, 1, rank_of(operands[0]), w)
            }
            "vector.store" | "vector.maskedstore" => {
                (Kind::Write, 1, 2, rank_of(operands[1]), vector_width(operands[0]))
            }
            "vector.transfer_write" => (Kind::Write, 1, 2, rank_of(operands[1]), vector_width(operands[0])),
            "affine.load" | "affine.store" => {
                let (kind, mem) = if name == "affine.load" { (Kind::Read, 0) } else { (Kind::Write, 1) };
                let Some(map) = ir::attribute(op, "map") else { continue };
                // SAFETY: an affine map attribute.
                let map = unsafe { sys::mlirAffineMapAttrGetValue(map) };
                let args: Vec<Expr> = operands[mem + 1..].iter().map(|v| ix.expr(*v, 0)).collect();
                let n = unsafe { sys::mlirAffineMapGetNumResults(map) };
                let index = (0..n).map(|r| ix.affine(map, r, &args)).collect();
                push(lp, &ix, &mut list, op, kind, operands[mem], index, 1);
                continue;
            }
            "memref.atomic_rmw" => (Kind::Atomic, 1, 2, operands.len().saturating_sub(2), 1),
            "memref.generic_atomic_rmw" => (Kind::Atomic, 0, 1, operands.len() - 1, 1),
            "func.call" | "func.call_indirect" | "llvm.call" => {
                for v in operands.iter().filter(|v| is_memref(**v)) {
                    let (buf, _) = buffer_of(*v);
                    if !ir::defined_inside(buf, lp.op) {
                        unknown.push((op, buf));
                    }
                }
                continue;
            }
            _ => continue,
        };
        let index = operands[first_index..first_index + count].iter().map(|v| ix.expr(*v, 0)).collect();
        push(lp, &ix, &mut list, op, kind, operands[mem], index, width);
    }
    Accesses { list, domains: ix.domains.into_inner(), unknown }
}

#[allow(clippy::too_many_arguments)]
fn push(lp: &Loop, ix: &Indexer, list: &mut Vec<Access>, op: MlirOperation, kind: Kind, mem: MlirValue, index: Vec<Expr>, width: i64) {
    let (buffer, view) = buffer_of(mem);
    // A buffer allocated in the body belongs to one iteration.
    if ir::defined_inside(buffer, lp.op) {
        return;
    }
    let index = if view {
        through_views(ix, mem, &index).unwrap_or_else(|| index.iter().map(|_| Expr::Opaque("an access through a view of the buffer")).collect())
    } else {
        index
    };
    let mut conditional = false;
    let mut p = ir::parent(op);
    while !p.ptr.is_null() && p.ptr != lp.op.ptr {
        conditional |= matches!(ir::name(p).as_str(), "scf.if" | "affine.if" | "scf.while" | "scf.index_switch" | "scf.execute_region");
        p = ir::parent(p);
    }
    list.push(Access { op, kind, buffer, index, width, conditional });
}

/// `index` into the view `mem` as an index into the buffer it views, where
/// every view between them is a cast, a `memref.subview` that keeps the
/// rank and has static strides (`offset + stride * i` per dimension) or a
/// `memref.transpose` (the indices permuted); `None` for any other view.
fn through_views(ix: &Indexer, mut mem: MlirValue, index: &[Expr]) -> Option<Vec<Expr>> {
    let mut index = index.to_vec();
    // SAFETY: a constant query.
    let dynamic = unsafe { sys::mlirShapedTypeGetDynamicSize() };
    for _ in 0..64 {
        // SAFETY: a live value.
        if !unsafe { sys::mlirValueIsAOpResult(mem) } {
            return Some(index);
        }
        let def = unsafe { sys::mlirOpResultGetOwner(mem) };
        match ir::name(def).as_str() {
            "memref.cast" | "memref.assume_alignment" => mem = ir::operand(def, 0),
            "memref.subview" => {
                let source = ir::operand(def, 0);
                let offsets = ir::i64_array(ir::attribute(def, "static_offsets")?);
                let strides = ir::i64_array(ir::attribute(def, "static_strides")?);
                if rank_of(source) != index.len() || offsets.len() != index.len() || strides.contains(&dynamic) {
                    return None;
                }
                // The dynamic offsets are the operands right after the source.
                let mut next = 1;
                for (d, e) in index.iter_mut().enumerate() {
                    let offset = if offsets[d] == dynamic {
                        next += 1;
                        ix.expr(ir::operand(def, next - 1), 0)
                    } else {
                        Expr::Const(offsets[d])
                    };
                    let scaled = Expr::Mul(Box::new(Expr::Const(strides[d])), Box::new(e.clone()));
                    *e = Expr::Add(Box::new(offset), Box::new(scaled));
                }
                mem = source;
            }
            // Dimension `k` of the view is dimension `perm(k)` of the source.
            "memref.transpose" => {
                let source = ir::operand(def, 0);
                // SAFETY: the op's affine map attribute, and its results.
                let map = unsafe { sys::mlirAffineMapAttrGetValue(ir::attribute(def, "permutation")?) };
                if rank_of(source) != index.len() || !unsafe { sys::mlirAffineMapIsPermutation(map) } {
                    return None;
                }
                let mut permuted = index.clone();
                for (k, e) in index.iter().enumerate() {
                    let dim = unsafe { sys::mlirAffineMapGetResult(map, k as isize) };
                    permuted[unsafe { sys::mlirAffineDimExprGetPosition(dim) } as usize] = e.clone();
                }
                index = permuted;
                mem = source;
            }
            // Views that move elements around: their indices stay opaque.
            "memref.reinterpret_cast" | "memref.expand_shape" | "memref.collapse_shape" | "memref.view" => return None,
            _ => return Some(index),
        }
    }
    None
}

fn rank_of(v: MlirValue) -> usize {
    // SAFETY: a memref-typed value.
    unsafe { sys::mlirShapedTypeGetRank(sys::mlirValueGetType(v)) as usize }
}

fn vector_width(v: MlirValue) -> i64 {
    // SAFETY: a vector-typed value (or anything else: width 1).
    unsafe {
        let t = sys::mlirValueGetType(v);
        if !sys::mlirTypeIsAVector(t) || sys::mlirShapedTypeGetRank(t) == 0 {
            return 1;
        }
        sys::mlirShapedTypeGetDimSize(t, (sys::mlirShapedTypeGetRank(t) - 1) as isize).max(1)
    }
}

/// What is known of two accesses to one buffer.
enum Verdict {
    Independent,
    /// Iterations `a` and `b` touch `element`.
    Race { a: Vec<i64>, b: Vec<i64>, element: Vec<i64> },
    Unknown(String),
}

fn judge(lp: &Loop, domains: &HashMap<usize, Domain>, x: &Access, y: &Access) -> Verdict {
    let n = lp.ivs.len();
    if x.index.len() != y.index.len() {
        return Verdict::Unknown("accesses of different ranks".into());
    }
    // Symbolic first: cheap, and exact for the loops the compiler makes.
    let mut forced = vec![false; n];
    for (d, (ex, ey)) in x.index.iter().zip(&y.index).enumerate() {
        let (Some(lx), Some(ly)) = (ex.linear(n), ey.linear(n)) else { continue };
        let last = d + 1 == x.index.len();
        let width = if last { x.width.max(y.width) } else { 1 };
        let inner = |v: &(Var, i64)| matches!(v.0, Var::Inner(_));
        if lx.ivs == ly.ivs && (lx.vars.iter().any(inner) || ly.vars.iter().any(inner)) {
            // `a * p + Ix + cx` and `a * q + Iy + cy`, the inner parts
            // within their loops' ranges (a view's offset plus an inner
            // loop over the view): iterations a step apart cannot meet
            // when the step outspans what the inner parts can differ by.
            let invariant = |l: &Linear| l.vars.iter().filter(|v| !inner(v)).copied().collect::<Vec<_>>();
            let nonzero: Vec<usize> = (0..n).filter(|k| lx.ivs[*k] != 0).collect();
            if let ([k], Some((xlo, xhi)), Some((ylo, yhi))) = (nonzero.as_slice(), inner_span(&lx, domains), inner_span(&ly, domains)) {
                if invariant(&lx) == invariant(&ly) {
                    if let Some(step) = lp.step[*k].filter(|s| *s > 0) {
                        let lo = ylo + ly.constant - (xhi + lx.constant) - (width - 1);
                        let hi = yhi + ly.constant - (xlo + lx.constant) + (width - 1);
                        if (lx.ivs[*k] * step).abs() > lo.abs().max(hi.abs()) {
                            forced[*k] = true;
                        }
                    }
                }
            }
            continue;
        }
        if lx.ivs != ly.ivs || lx.vars != ly.vars || lx.vars.iter().any(inner) {
            continue;
        }
        let delta = ly.constant - lx.constant;
        let nonzero: Vec<usize> = (0..n).filter(|k| lx.ivs[*k] != 0).collect();
        if nonzero.is_empty() {
            if delta.abs() >= width {
                return Verdict::Independent; // two fixed, distinct elements
            }
            continue;
        }
        if nonzero.len() != 1 {
            continue;
        }
        let k = nonzero[0];
        let a = lx.ivs[k];
        // a * p + cx and a * q + cy meet (within `width`) only if
        // a * (p - q) is within `width` of delta.
        match lp.step[k] {
            Some(step) if step > 0 && width == 1 && delta == 0 => forced[k] = true,
            Some(step) if step > 0 && delta == 0 && (a * step).abs() >= width => forced[k] = true,
            Some(step) if step > 0 && width == 1 && delta % (a * step) != 0 => return Verdict::Independent,
            _ => {}
        }
    }
    if forced.iter().all(|f| *f) {
        return Verdict::Independent;
    }
    // Then the iterations themselves, when the indices allow.
    if let Some(why) = x.index.iter().chain(&y.index).find_map(|e| e.opaque()) {
        return Verdict::Unknown(format!("its index depends on {why}"));
    }
    let ground = |e: &Expr| !has_vars(e, domains);
    if !x.index.iter().chain(&y.index).all(ground) {
        return Verdict::Unknown("its index depends on values other than the loop's induction variables".into());
    }
    let Some(points) = lp.iterations(ENUMERATED) else {
        return Verdict::Unknown("the loop's bounds are not constants".into());
    };
    // Up to two distinct iterations that touch each element through `x`:
    // then for any iteration of `y`, one of them differs if any does.
    let mut through_x: HashMap<Vec<i64>, (usize, Option<usize>)> = HashMap::new();
    let pinned = pinned_inner(x, y);
    // Every element `a` touches at iteration `p`: over its vector width and
    // every combination of the inner loop variables its index uses (a
    // pinned one at its first value), as many as the budget allows.
    let mut complete = true;
    let limit = (ELEMENT_BUDGET / points.len().max(1)).max(1);
    let mut inner_of = |a: &Access| -> Vec<HashMap<usize, i64>> {
        let mut ids = Vec::new();
        for e in &a.index {
            inner_ids(e, &mut ids);
        }
        let mut combos = vec![HashMap::new()];
        for id in ids {
            let d = &domains[&id];
            let values = if pinned.contains(&id) { &d.values[..1] } else { &d.values[..] };
            complete &= d.complete || pinned.contains(&id);
            complete &= combos.len() * values.len() <= limit;
            combos = combos
                .into_iter()
                .flat_map(|c| values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(id, *v);
                    c
                }))
                .take(limit)
                .collect();
        }
        combos
    };
    let (cx, cy) = (inner_of(x), inner_of(y));
    let elements = |a: &Access, combos: &[HashMap<usize, i64>], p: &[i64]| -> Vec<Vec<i64>> {
        let mut out = Vec::new();
        for c in combos {
            let Some(base) = a.index.iter().map(|e| e.eval(p, c)).collect::<Option<Vec<i64>>>() else { continue };
            for w in 0..a.width {
                let mut e = base.clone();
                if let Some(l) = e.last_mut() {
                    *l += w;
                }
                out.push(e);
            }
        }
        out
    };
    for (t, p) in points.iter().enumerate() {
        for e in elements(x, &cx, p) {
            let entry = through_x.entry(e).or_insert((t, None));
            if entry.0 != t && entry.1.is_none() {
                entry.1 = Some(t);
            }
        }
    }
    for (t, p) in points.iter().enumerate() {
        for e in elements(y, &cy, p) {
            let Some(&(s0, s1)) = through_x.get(&e) else { continue };
            let other = if s0 != t { Some(s0) } else { s1 };
            if let Some(s) = other {
                if x.conditional || y.conditional {
                    return Verdict::Unknown(format!(
                        "iterations {} and {} may both touch element [{}] (the access is under a condition)",
                        iteration(&points[s]),
                        iteration(p),
                        e.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                    ));
                }
                return Verdict::Race { a: points[s].clone(), b: p.clone(), element: e };
            }
        }
    }
    if !complete {
        Verdict::Unknown("an inner loop has more iterations than the checker enumerates".into())
    } else if lp.enumerates_all(ENUMERATED) {
        Verdict::Independent
    } else {
        Verdict::Unknown("the loop has more iterations than the checker enumerates".into())
    }
}

/// The inner loop variables that can stay at one value while `x` and `y`
/// are enumerated for a conflict: those of a dimension that both index by
/// the same expression of inner variables alone, when no other dimension
/// uses any of them. Both accesses can then take that dimension's values
/// at one same assignment of its variables, so any pair of elements that
/// meet still has a pair that meets with them pinned (the rows of two
/// column blocks, say). All or none: pinning some of a dimension's
/// variables would keep the two accesses from taking equal values there
/// (`a[i + j, j + iv]` meets at i and j swapped).
fn pinned_inner(x: &Access, y: &Access) -> Vec<usize> {
    let mut pinned = Vec::new();
    for (d, (ex, ey)) in x.index.iter().zip(&y.index).enumerate() {
        if ex != ey || uses_iv(ex) {
            continue;
        }
        let mut ids = Vec::new();
        inner_ids(ex, &mut ids);
        let elsewhere = |id: &usize| {
            x.index.iter().chain(&y.index).enumerate().any(|(k, e)| k % x.index.len() != d && {
                let mut other = Vec::new();
                inner_ids(e, &mut other);
                other.contains(id)
            })
        };
        if !ids.iter().any(elsewhere) {
            pinned.extend(ids);
        }
    }
    pinned
}

/// Whether `e` uses the parallel loop's induction variables.
fn uses_iv(e: &Expr) -> bool {
    match e {
        Expr::Iv(_) => true,
        Expr::Add(a, b) | Expr::Mul(a, b) => uses_iv(a) || uses_iv(b),
        Expr::FloorDiv(a, _) | Expr::CeilDiv(a, _) | Expr::Div(a, _) | Expr::Mod(a, _) | Expr::Rem(a, _) => uses_iv(a),
        _ => false,
    }
}

/// The smallest and largest value the inner variables' part of `l` takes
/// (its invariant terms left out), when each inner loop's range is known.
fn inner_span(l: &Linear, domains: &HashMap<usize, Domain>) -> Option<(i64, i64)> {
    let (mut lo, mut hi) = (0i64, 0i64);
    for (v, c) in &l.vars {
        let Var::Inner(id) = v else { continue };
        let (a, b) = domains.get(id)?.range;
        let (p, q) = (c.checked_mul(a)?, c.checked_mul(b)?);
        lo = lo.checked_add(p.min(q))?;
        hi = hi.checked_add(p.max(q))?;
    }
    Some((lo, hi))
}

/// Whether the cast `op` makes its value narrower than it was.
fn narrows(op: MlirOperation) -> bool {
    let bits = |t: sys::MlirType| -> u32 {
        // SAFETY: type queries on live types.
        unsafe {
            if sys::mlirTypeIsAIndex(t) {
                64
            } else if sys::mlirTypeIsAInteger(t) {
                sys::mlirIntegerTypeGetWidth(t)
            } else {
                0
            }
        }
    };
    bits(ir::value_type(ir::result(op, 0))) < bits(ir::value_type(ir::operand(op, 0)))
}

/// Whether `e` depends on values the enumeration cannot give.
fn has_vars(e: &Expr, domains: &HashMap<usize, Domain>) -> bool {
    match e {
        Expr::Invariant(_) => true,
        Expr::Inner(id) => !domains.contains_key(id),
        Expr::Add(a, b) | Expr::Mul(a, b) => has_vars(a, domains) || has_vars(b, domains),
        Expr::FloorDiv(a, _) | Expr::CeilDiv(a, _) | Expr::Div(a, _) | Expr::Mod(a, _) | Expr::Rem(a, _) => {
            has_vars(a, domains)
        }
        _ => false,
    }
}

fn inner_ids(e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::Inner(id) if !out.contains(id) => out.push(*id),
        Expr::Add(a, b) | Expr::Mul(a, b) => {
            inner_ids(a, out);
            inner_ids(b, out);
        }
        Expr::FloorDiv(a, _) | Expr::CeilDiv(a, _) | Expr::Div(a, _) | Expr::Mod(a, _) | Expr::Rem(a, _) => inner_ids(a, out),
        _ => {}
    }
}

/// The name the source gave `v` (`%buf`), read at its location in the
/// source file, else the name MLIR prints (`%arg0`).
fn value_name(v: MlirValue) -> String {
    source_name(v).unwrap_or_else(|| printed_name(v))
}

/// `%name` at `v`'s definition in its source file: a block argument's
/// location is the argument itself; an op result's is the op, after
/// `%name = ` on the same line.
fn source_name(v: MlirValue) -> Option<String> {
    // SAFETY: location queries on a live value.
    let (file, line, col) = unsafe {
        let loc = sys::mlirValueGetLocation(v);
        if !sys::mlirLocationIsAFileLineColRange(loc) {
            return None;
        }
        (
            ir::string_of(sys::mlirIdentifierStr(sys::mlirLocationFileLineColRangeGetFilename(loc))),
            sys::mlirLocationFileLineColRangeGetStartLine(loc) as usize,
            sys::mlirLocationFileLineColRangeGetStartColumn(loc) as usize,
        )
    };
    let text = std::fs::read_to_string(&file).ok()?;
    let row = text.lines().nth(line.checked_sub(1)?)?;
    let at = row.get(col.checked_sub(1)?..)?;
    let is_name = |c: char| c.is_ascii_alphanumeric() || "_$.-".contains(c);
    let name = |s: &str| -> Option<String> {
        let rest = s.strip_prefix('%')?;
        let n: String = rest.chars().take_while(|c| is_name(*c)).collect();
        (!n.is_empty()).then(|| format!("%{n}"))
    };
    // SAFETY: a live value.
    if unsafe { sys::mlirValueIsABlockArgument(v) } {
        return name(at);
    }
    // One result: `%name = op` (or `%name:2 = op`), the op at `col`.
    let before = row.get(..col - 1)?.trim_end().strip_suffix('=')?.trim_end();
    let start = before.rfind('%')?;
    let token = before[start..].split(':').next()?;
    // SAFETY: a live op result.
    let single = unsafe { sys::mlirOperationGetNumResults(sys::mlirOpResultGetOwner(v)) } == 1;
    if single && !token.contains(',') {
        name(token)
    } else {
        None
    }
}

fn printed_name(v: MlirValue) -> String {
    // SAFETY: prints a live value's name with fresh printing flags.
    strata_dialect::strings::collect(|cb, ud| unsafe {
        let flags = sys::mlirOpPrintingFlagsCreate();
        let state = sys::mlirAsmStateCreateForValue(v, flags);
        sys::mlirValuePrintAsOperand(v, state, cb, ud);
        sys::mlirAsmStateDestroy(state);
        sys::mlirOpPrintingFlagsDestroy(flags);
    })
    .1
}

fn iteration(p: &[i64]) -> String {
    match p {
        [one] => one.to_string(),
        _ => format!("({})", p.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// The pairs of accesses that could conflict: to one buffer, at least one
/// a write, not both atomic, each access with itself included (two
/// iterations of it).
fn conflicting_pairs(list: &[Access]) -> impl Iterator<Item = (&Access, &Access)> {
    list.iter()
        .enumerate()
        .flat_map(move |(i, x)| list[i..].iter().map(move |y| (x, y)))
        .filter(|(x, y)| {
            x.buffer.ptr == y.buffer.ptr && (x.kind.writes() || y.kind.writes()) && !(x.kind == Kind::Atomic && y.kind == Kind::Atomic)
        })
}

/// The accesses of `op`'s body (by op) that might race with another
/// access of it, for the run-time checker to watch: each one of a pair the
/// check does not prove independent (a proven race, or what it cannot
/// decide), and every access to a buffer an unknown call also receives.
/// The rest are proven never to touch an element another iteration
/// writes, so watching them could find nothing. `None` when `op` is not a
/// loop the check models: watch everything.
pub(crate) fn watched_accesses(op: MlirOperation) -> Option<std::collections::HashSet<usize>> {
    let lp = Loop::of(op)?;
    let accesses = collect(&lp);
    let mut watched = std::collections::HashSet::new();
    for x in accesses.list.iter().filter(|x| accesses.unknown.iter().any(|(_, b)| b.ptr == x.buffer.ptr)) {
        watched.insert(x.op.ptr as usize);
    }
    for (x, y) in conflicting_pairs(&accesses.list) {
        if !matches!(judge(&lp, &accesses.domains, x, y), Verdict::Independent) {
            watched.insert(x.op.ptr as usize);
            watched.insert(y.op.ptr as usize);
        }
    }
    Some(watched)
}

impl CheckRaces {
    /// Checks one loop; `Err` if a race was reported as an error.
    fn check(&self, lp: &Loop) -> Result<(), PassFailed> {
        let accesses = collect(lp);
        let loc = ir::location(lp.op);
        let mut failed = false;
        for (op, buf) in &accesses.unknown {
            diag::emit(
                loc,
                Severity::Warning,
                &format!(
                    "possible data race: {} passes {} to {}, whose accesses cannot be checked; if iterations may write the same element, use memref.atomic_rmw",
                    lp.describe(),
                    value_name(*buf),
                    ir::name(*op)
                ),
                Some((ir::location(*op), "the call")),
            );
        }
        let mut warned = false;
        for (x, y) in conflicting_pairs(&accesses.list) {
            match judge(lp, &accesses.domains, x, y) {
                Verdict::Independent => {}
                Verdict::Race { a, b, element } => {
                    let (first, second) = if a <= b { (a, b) } else { (b, a) };
                    let at = format!("{}[{}]", value_name(x.buffer), element.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
                    let message = if x.kind.writes() && y.kind.writes() {
                        format!("data race: iterations {} and {} of {} both write {at}", iteration(&first), iteration(&second), lp.describe())
                    } else {
                        format!("data race: iterations {} and {} of {} write and read {at}", iteration(&first), iteration(&second), lp.describe())
                    };
                    let (sev, fail) = if self.errors { (Severity::Error, true) } else { (Severity::Warning, false) };
                    // The note points at a write; it names the other access.
                    let (w, o) = if x.kind.writes() { (x, y) } else { (y, x) };
                    let other = if x.op.ptr == y.op.ptr {
                        "the same access in both iterations".to_string()
                    } else {
                        format!("the other access: {}", ir::name(o.op))
                    };
                    diag::emit(loc, sev, &message, Some((ir::location(w.op), &format!("{}; {other}", ir::name(w.op)))));
                    failed |= fail;
                    warned = true;
                    break;
                }
                Verdict::Unknown(why) => {
                    let written = if x.kind.writes() { x } else { y };
                    diag::emit(
                        loc,
                        Severity::Warning,
                        &format!(
                            "possible data race: cannot prove that iterations of {} touch different elements of {}: {why}; if they may write the same element, use memref.atomic_rmw",
                            lp.describe(),
                            value_name(x.buffer)
                        ),
                        Some((ir::location(written.op), ir::name(written.op).as_str())),
                    );
                    warned = true;
                    break;
                }
            }
        }
        if !warned && accesses.unknown.is_empty() {
            crate::remark(
                lp.op,
                &format!("strata-check-races: {} is free of data races ({} accesses checked)", ir::name(lp.op), accesses.list.len()),
            );
        }
        if failed {
            Err(PassFailed)
        } else {
            Ok(())
        }
    }
}

impl StrataPass for CheckRaces {
    fn run(&mut self, root: melior::ir::OperationRef<'_, '_>) -> Result<(), PassFailed> {
        let mut result = Ok(());
        for op in ir::find(root.to_raw(), &["strata.parallel_for", "scf.parallel", "affine.parallel"]) {
            if let Some(lp) = Loop::of(op) {
                if self.check(&lp).is_err() {
                    result = Err(PassFailed);
                }
            }
        }
        result
    }

    fn clone_pass(&self) -> Box<dyn StrataPass> {
        Box::new(self.clone())
    }
}
