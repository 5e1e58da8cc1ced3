//! Contractions recognised on the structured form: a `linalg.generic` on
//! buffers whose semantics are `C[..] += A[..] * B[..]`, however the user
//! spelled it.
//!
//! Matches a generic with two inputs and one output, all static memrefs
//! with the identity layout, whose indexing maps are projected
//! permutations, whose one reduction dimension is the dimension missing
//! from the output, and whose payload is `out + x * y` (`mulf`/`addf` or
//! `muli`/`addi`, operands in either order) on f32, f64, i32 or i64. Each
//! loop dimension then has a role: in A, B and C a batch dimension; in A
//! and C the rows (M); in B and C the columns (N); in A and B the
//! reduction (K). `strata.matmul` (plain or batched), its transposed
//! spellings after elementwise fusion folded the transpose into an
//! indexing map, matvec, vecmat and user-written generics all land here.
//!
//! [`plan`] picks the kernel shape `strata-vectorize` emits, independent of
//! the target; `strata-lower-to-affine` keeps exactly the generics with a
//! plan structured (everything else becomes loops), `strata-tile` chooses
//! their tiles and `strata-vectorize` lowers them. The plan names the
//! operand whose columns the kernel walks as `B`: since `x * y = y * x`,
//! the roles of A and B may swap so that the columns are the output's
//! contiguous dimension.

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::ir;

/// What an element is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F32,
    F64,
    I32,
    I64,
}

impl Elem {
    pub fn of(t: MlirType) -> Option<Elem> {
        // SAFETY: type predicates on a live type.
        unsafe {
            if sys::mlirTypeIsAF32(t) {
                Some(Elem::F32)
            } else if sys::mlirTypeIsAF64(t) {
                Some(Elem::F64)
            } else if sys::mlirTypeIsAInteger(t) {
                match sys::mlirIntegerTypeGetWidth(t) {
                    32 => Some(Elem::I32),
                    64 => Some(Elem::I64),
                    _ => None,
                }
            } else {
                None
            }
        }
    }

    pub fn bytes(self) -> i64 {
        match self {
            Elem::F32 | Elem::I32 => 4,
            Elem::F64 | Elem::I64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Elem::F32 | Elem::F64)
    }

    pub fn name(self) -> &'static str {
        match self {
            Elem::F32 => "f32",
            Elem::F64 => "f64",
            Elem::I32 => "i32",
            Elem::I64 => "i64",
        }
    }
}

/// One operand: its buffer and, per memref dimension, the loop dimension
/// that indexes it.
#[derive(Clone, Debug)]
pub struct Access {
    pub memref: MlirValue,
    pub dims: Vec<usize>,
    pub shape: Vec<i64>,
    /// What the payload computes from this operand's element before the
    /// multiply: an elementwise producer that linalg's fusion folded in
    /// (`relu(B)`, `A * A`). The kernels apply it where they load (or
    /// pack) the operand, once per element read.
    pub prologue: Prologue,
}

/// The payload ops between one operand's block argument and the multiply,
/// in order (`arith`/`math` only, each reading that argument, earlier ones,
/// or values from outside the generic); empty when the argument is
/// multiplied as it is.
#[derive(Clone, Debug, Default)]
pub struct Prologue {
    pub arg: Option<MlirValue>,
    pub ops: Vec<MlirOperation>,
    pub result: Option<MlirValue>,
}

impl Prologue {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl Access {
    /// Elements between neighbours along loop dimension `d` (0 when `d`
    /// does not index this operand).
    pub fn stride(&self, d: usize) -> i64 {
        match self.dims.iter().position(|x| *x == d) {
            Some(p) => self.shape[p + 1..].iter().product(),
            None => 0,
        }
    }
}

/// A matched contraction.
#[derive(Clone, Debug)]
pub struct Contraction {
    pub op: MlirOperation,
    pub a: Access,
    pub b: Access,
    pub c: Access,
    /// The extent of each loop dimension.
    pub extents: Vec<i64>,
    pub batch: Vec<usize>,
    /// The row dimension (in A and C), if any.
    pub m: Option<usize>,
    /// The column dimension (in B and C), if any.
    pub n: Option<usize>,
    pub k: usize,
    pub elem: Elem,
    pub elem_type: MlirType,
}

impl Contraction {
    pub fn extent(&self, d: Option<usize>) -> i64 {
        d.map_or(1, |d| self.extents[d])
    }

    /// Swaps the roles of A and B (and of M and N).
    fn swapped(mut self) -> Self {
        std::mem::swap(&mut self.a, &mut self.b);
        std::mem::swap(&mut self.m, &mut self.n);
        self
    }

    /// Whether either operand has an elementwise producer folded in.
    pub fn has_prologue(&self) -> bool {
        !self.a.prologue.is_empty() || !self.b.prologue.is_empty()
    }

    /// `M x N x K`, with the batch extents in front.
    pub fn describe(&self) -> String {
        let batch: Vec<String> = self.batch.iter().map(|d| self.extents[*d].to_string()).collect();
        let mut s = if batch.is_empty() { String::new() } else { format!("{} batch of ", batch.join("x")) };
        s.push_str(&format!("{}x{}x{} {}", self.extent(self.m), self.extents[self.k], self.extent(self.n), self.elem.name()));
        s
    }
}

/// The kernel `strata-vectorize` gives a contraction.
#[derive(Clone, Debug)]
pub enum Plan {
    /// The register-blocked outer-product micro-kernel over blocks of N
    /// (C and, if `direct_b`, B contiguous along N), rows of A broadcast.
    /// `pack_b`: B's blocks are copied into the kernel's panel layout
    /// first (always when rows reuse them, and whenever B is not
    /// contiguous along N, which the copy absorbs).
    Outer { pack_b: bool },
    /// One dot product per output element: matvec-like, where one free
    /// dimension is absent or of extent 1 and both operands are contiguous
    /// along K. Streams the matrix once.
    Dot,
}

/// The reduction dimensions of the `linalg.generic` `op`, read from its
/// printed `iterator_types` (the C API has no accessor for linalg's enum).
pub fn reduction_dims(op: MlirOperation) -> Option<Vec<usize>> {
    let iterators = ir::attribute(op, "iterator_types")?;
    // SAFETY: the verifier guarantees one iterator type per loop.
    Some(unsafe {
        (0..sys::mlirArrayAttrGetNumElements(iterators))
            .filter(|i| ir::print_attr(sys::mlirArrayAttrGetElement(iterators, *i)).contains("reduction"))
            .map(|i| i as usize)
            .collect()
    })
}

/// A `parallel` entry of the `linalg.generic` `op`'s `iterator_types`, to
/// build another generic's from (`None` when every loop reduces).
pub fn parallel_iterator(op: MlirOperation) -> Option<sys::MlirAttribute> {
    let iterators = ir::attribute(op, "iterator_types")?;
    // SAFETY: the verifier guarantees an ArrayAttr of iterator types.
    unsafe {
        (0..sys::mlirArrayAttrGetNumElements(iterators))
            .map(|i| sys::mlirArrayAttrGetElement(iterators, i))
            .find(|a| ir::print_attr(*a).contains("parallel"))
    }
}

/// The contraction `op` is, if it is one.
pub fn match_contraction(op: MlirOperation) -> Option<Contraction> {
    if ir::name(op) != "linalg.generic" {
        return None;
    }
    // SAFETY: queries on a live op.
    let (operands, results) = unsafe { (sys::mlirOperationGetNumOperands(op), sys::mlirOperationGetNumResults(op)) };
    let segments = ir::attribute(op, "operandSegmentSizes")?;
    // SAFETY: linalg.generic's operandSegmentSizes is a DenseI32ArrayAttr.
    let (ins, outs) = unsafe { (sys::mlirDenseI32ArrayGetElement(segments, 0), sys::mlirDenseI32ArrayGetElement(segments, 1)) };
    if operands != 3 || results != 0 || ins != 2 || outs != 1 {
        return None;
    }
    let maps = ir::attribute(op, "indexing_maps")?;
    // SAFETY: the verifier guarantees an ArrayAttr of AffineMapAttrs.
    let maps: Vec<sys::MlirAffineMap> = unsafe {
        if sys::mlirArrayAttrGetNumElements(maps) != 3 {
            return None;
        }
        (0..3).map(|i| sys::mlirAffineMapAttrGetValue(sys::mlirArrayAttrGetElement(maps, i))).collect()
    };
    // SAFETY: as above.
    let loops = unsafe { sys::mlirAffineMapGetNumDims(maps[0]) } as usize;
    let mut accesses = Vec::new();
    for (i, map) in maps.iter().enumerate() {
        let memref = ir::operand(op, i as isize);
        let ty = ir::value_type(memref);
        // SAFETY: as above.
        if !ir::is_plain_memref(ty) || unsafe { sys::mlirAffineMapGetNumSymbols(*map) } != 0 {
            return None;
        }
        let dims = ir::map_dims(*map)?;
        let (shape, _) = ir::shape(ty);
        let mut sorted = dims.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != dims.len() || shape.len() != dims.len() || shape.iter().any(|s| *s < 1) {
            return None;
        }
        accesses.push(Access { memref, dims, shape, prologue: Prologue::default() });
    }
    let (_, elem_type) = ir::shape(ir::value_type(accesses[2].memref));
    let elem = Elem::of(elem_type)?;
    if accesses.iter().any(|a| ir::shape(ir::value_type(a.memref)).1.ptr != elem_type.ptr) {
        return None;
    }
    // Each loop's extent, the same wherever it indexes.
    let mut extents = vec![0i64; loops];
    for a in &accesses {
        for (d, s) in a.dims.iter().zip(&a.shape) {
            if extents[*d] != 0 && extents[*d] != *s {
                return None;
            }
            extents[*d] = *s;
        }
    }
    let [mut a, mut b, c] = <[Access; 3]>::try_from(accesses).ok()?;
    let (mut batch, mut m, mut n, mut k) = (Vec::new(), None, None, None);
    for d in 0..loops {
        let has = |x: &Access| x.dims.contains(&d);
        match (has(&a), has(&b), has(&c)) {
            (true, true, true) => batch.push(d),
            (true, false, true) if m.is_none() => m = Some(d),
            (false, true, true) if n.is_none() => n = Some(d),
            (true, true, false) if k.is_none() => k = Some(d),
            _ => return None,
        }
    }
    let k = k?;
    if reduction_dims(op)? != [k] {
        return None;
    }
    let (pa, pb) = payload(op, elem)?;
    a.prologue = pa;
    b.prologue = pb;
    Some(Contraction { op, a, b, c, extents, batch, m, n, k, elem, elem_type })
}

/// The generic's body as `yield out + f(x) * g(y)` on its block arguments
/// `(x, y, out)`: the prologues computing `f(x)` and `g(y)`, each from its
/// own argument alone.
fn payload(op: MlirOperation, elem: Elem) -> Option<(Prologue, Prologue)> {
    let block = ir::first_block(ir::region(op, 0));
    let body = ir::ops_in(block);
    let (mul_name, add_name) = if elem.is_float() { ("arith.mulf", "arith.addf") } else { ("arith.muli", "arith.addi") };
    let yield_ = *body.last()?;
    if ir::name(yield_) != "linalg.yield" || ir::operands(yield_).len() != 1 {
        return None;
    }
    let arg = |i| ir::block_argument(block, i);
    let def = |v: MlirValue| -> Option<MlirOperation> {
        // SAFETY: value queries on live IR.
        unsafe { sys::mlirValueIsAOpResult(v).then(|| sys::mlirOpResultGetOwner(v)) }.filter(|o| body.iter().any(|b| b.ptr == o.ptr))
    };
    let add = def(ir::operand(yield_, 0)).filter(|o| ir::name(*o) == add_name)?;
    let (p, q) = (ir::operand(add, 0), ir::operand(add, 1));
    let product = if p.ptr == arg(2).ptr { q } else if q.ptr == arg(2).ptr { p } else { return None };
    let mul = def(product).filter(|o| ir::name(*o) == mul_name)?;
    let (x, y) = (ir::operand(mul, 0), ir::operand(mul, 1));
    // The ops computing `v` inside the body, in body order, if they read
    // only `from` (and values from outside).
    let slice = |v: MlirValue, from: MlirValue| -> Option<Prologue> {
        let mut needed: Vec<MlirOperation> = Vec::new();
        let mut todo = vec![v];
        while let Some(v) = todo.pop() {
            if v.ptr == from.ptr {
                continue;
            }
            // SAFETY: as above.
            if unsafe { sys::mlirValueIsABlockArgument(v) } {
                // Another argument of the body (the other operand, out).
                if ir::defined_inside(v, op) {
                    return None;
                }
                continue;
            }
            let Some(d) = def(v) else { continue }; // defined outside
            if needed.iter().any(|n| n.ptr == d.ptr) {
                continue;
            }
            let name = ir::name(d);
            // SAFETY: a live op.
            let results = unsafe { sys::mlirOperationGetNumResults(d) };
            if !(name.starts_with("arith.") || name.starts_with("math.")) || results != 1 || d.ptr == mul.ptr || d.ptr == add.ptr {
                return None;
            }
            needed.push(d);
            todo.extend(ir::operands(d));
        }
        let ops: Vec<MlirOperation> = body.iter().copied().filter(|o| needed.iter().any(|n| n.ptr == o.ptr)).collect();
        Some(Prologue { arg: Some(from), ops, result: Some(v) })
    };
    let (fa, fb) = match (slice(x, arg(0)), slice(y, arg(1))) {
        (Some(fa), Some(fb)) => (fa, fb),
        _ => (slice(y, arg(0))?, slice(x, arg(1))?),
    };
    // Nothing else in the body but what those need (pure ops that nobody
    // uses are fine; anything with effects is not).
    let used = |o: &MlirOperation| fa.ops.iter().chain(&fb.ops).any(|u| u.ptr == o.ptr) || [mul, add, yield_].iter().any(|u| u.ptr == o.ptr);
    if body.iter().any(|o| !used(o) && !(ir::name(*o).starts_with("arith.") || ir::name(*o).starts_with("math."))) {
        return None;
    }
    Some((fa, fb))
}

/// The kernel for `c`, with the roles of A and B swapped where that makes
/// B's columns the output's contiguous dimension; `None` leaves the
/// contraction to loops (also when C may share memory with A or B).
pub fn plan(c: Contraction) -> Option<(Contraction, Plan)> {
    // The kernels read A and B while they write C in another order than
    // the loops would: C must be memory of its own.
    if [c.a.memref, c.b.memref].iter().any(|x| crate::vectorize_loops::may_alias(*x, c.c.memref)) {
        return None;
    }
    let degenerate = |d: Option<usize>| d.is_none_or(|d| c.extents[d] == 1);
    let k = c.k;
    // Matvec, vecmat, dot: one free dimension (or none) of extent > 1.
    if (degenerate(c.m) || degenerate(c.n)) && c.a.stride(k) == 1 && c.b.stride(k) == 1 {
        let c = if degenerate(c.n) && !degenerate(c.m) { c.swapped() } else { c };
        return Some((c, Plan::Dot));
    }
    // The columns: a free dimension along which C is contiguous.
    let contiguous = |d: Option<usize>| d.is_some_and(|d| c.c.stride(d) == 1 && c.extents[d] > 1);
    let c = if contiguous(c.n) {
        c
    } else if contiguous(c.m) {
        c.swapped()
    } else {
        return None;
    };
    let n = c.n.expect("contiguous");
    let pack_b = c.extent(c.m) > 1 || c.b.stride(n) != 1;
    Some((c, Plan::Outer { pack_b }))
}

/// The contraction `op` is and its plan, if it gets a kernel.
pub fn planned(op: MlirOperation) -> Option<(Contraction, Plan)> {
    plan(match_contraction(op)?)
}

/// The op right before the contraction when it fills all of C with zero
/// (the init `strata-convert-to-linalg` gives every matmul): the kernel
/// then starts its accumulators at zero instead of reading C, so C is
/// written once, not filled, read and written again. Not when C may alias
/// A or B (the fill would change what they hold), nor for a `-0.0` fill
/// (`-0.0 + -0.0` keeps the sign a zero start would not).
pub fn zero_fill(con: &Contraction) -> Option<MlirOperation> {
    let c = con.c.memref;
    if [con.a.memref, con.b.memref].iter().any(|x| crate::vectorize_loops::may_alias(*x, c)) {
        return None;
    }
    // SAFETY: queries on live IR.
    let block = unsafe { sys::mlirOperationGetBlock(con.op) };
    let ops = ir::ops_in(block);
    let at = ops.iter().position(|op| op.ptr == con.op.ptr)?;
    let prev = *ops.get(at.checked_sub(1)?)?;
    let (value, out) = match ir::name(prev).as_str() {
        "linalg.fill" if ir::operands(prev).len() == 2 => (ir::operand(prev, 0), ir::operand(prev, 1)),
        "linalg.generic" => {
            let body = ir::ops_in(ir::first_block(ir::region(prev, 0)));
            let [yield_] = body.as_slice() else { return None };
            let maps = ir::attribute(prev, "indexing_maps")?;
            // SAFETY: an ArrayAttr of AffineMapAttrs (verified).
            let identity = unsafe {
                sys::mlirArrayAttrGetNumElements(maps) == 1
                    && sys::mlirAffineMapIsIdentity(sys::mlirAffineMapAttrGetValue(sys::mlirArrayAttrGetElement(maps, 0)))
            };
            if ir::operands(prev).len() != 1 || !identity {
                return None;
            }
            (ir::operand(*yield_, 0), ir::operand(prev, 0))
        }
        _ => return None,
    };
    if out.ptr != c.ptr {
        return None;
    }
    // SAFETY: value and attribute queries on live IR.
    let zero = unsafe {
        sys::mlirValueIsAOpResult(value) && {
            let def = sys::mlirOpResultGetOwner(value);
            ir::name(def) == "arith.constant"
                && ir::attribute(def, "value").is_some_and(|a| {
                    if sys::mlirAttributeIsAFloat(a) {
                        let v = sys::mlirFloatAttrGetValueDouble(a);
                        v == 0.0 && v.is_sign_positive()
                    } else {
                        sys::mlirAttributeIsAInteger(a) && sys::mlirIntegerAttrGetValueInt(a) == 0
                    }
                })
        }
    };
    zero.then_some(prev)
}
