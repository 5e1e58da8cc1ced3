//! The inputs `strata-tune` makes up when the user gives none.
//!
//! Most arguments get deterministic pseudo-random values. An integer
//! argument whose elements the kernel turns into indices (a scatter's or a
//! gather's positions, a histogram's values) cannot: a made-up value
//! outside the indexed dimension writes outside a buffer, which corrupted
//! the tuner's heap (`free(): invalid size` on the 4M scatter of
//! `bench/tune.sh`). Such arguments are found on the IR at the tuning
//! point ([`index_arguments`]) and, where every index they feed is a plain
//! position in a dimension of static size, get values inside the smallest
//! such dimension, distinct where there are few enough ([`in_range`]), so
//! that a scatter does not turn into a race whose result depends on the
//! order. Where an index is computed from them (an offset added, a
//! narrowing cast, a loop bound, a vector access at the position), or they
//! reach an op the trace does not know, the tuner cannot choose values and
//! asks for `--input`.

use std::collections::{BTreeMap, HashSet};

use mlir_sys::{self as sys, MlirOperation, MlirValue};
use strata_passes::ir;

use crate::jit::{Buffer, ElemType};

/// How an argument's elements are used as indices.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexUse {
    /// Only as plain positions in dimensions of static size: the smallest.
    Within(u64),
    /// Also in a way the tuner cannot bound (an index computed from them,
    /// a loop bound, a dynamic dimension, an op the trace does not know):
    /// what that use is.
    Unbounded(String),
}

/// The arguments of `entry` (by position) whose integer elements become
/// indices in `module`. The trace is conservative: it follows the
/// argument through views, copies, calls (into the callee) and the
/// structured ops' regions to every element read from it, and each
/// element through casts, arithmetic, yields (to the loop or op results
/// and carried values) and stores (to the elements of the buffer stored
/// into); an element that reaches an index operand is an index, and one
/// that reaches any op it does not know is treated as one it cannot bound.
pub fn index_arguments(module: MlirOperation, entry: &str) -> BTreeMap<usize, IndexUse> {
    let mut out = BTreeMap::new();
    let Some(func) = function(module, entry) else {
        return out;
    };
    // SAFETY: a live func.func; its body has one entry block.
    let (block, n) = unsafe {
        let block = sys::mlirRegionGetFirstBlock(sys::mlirOperationGetRegion(func, 0));
        if block.ptr.is_null() {
            return out;
        }
        (block, sys::mlirBlockGetNumArguments(block))
    };
    for i in 0..n {
        let arg = ir::block_argument(block, i);
        if !is_shaped(arg) || ir::is_float(ir::shape(ir::value_type(arg)).1) {
            continue;
        }
        let mut t = Tracer { module, found: Found::default(), seen: HashSet::new(), pending: vec![(Kind::Buffer, arg, false)] };
        t.run();
        if let Some(why) = t.found.unbounded {
            out.insert(i as usize, IndexUse::Unbounded(why));
        } else if let Some(e) = t.found.extent {
            out.insert(i as usize, IndexUse::Within(e));
        }
    }
    out
}

/// Deterministic inputs: floats in [-1, 1]; integers in [-8, 8] without 0
/// (small, so integer sums do not overflow; never 0, so that a kernel
/// dividing by an input does not trap); from a xorshift seeded by the
/// position.
pub fn pseudo_random(elem: ElemType, shape: &[usize], seed: u64) -> Buffer {
    let mut b = Buffer::zeros(elem, shape);
    let mut rng = Xorshift::new(seed);
    for i in 0..b.len() {
        let unit = rng.unit();
        let text = if elem.is_float() {
            format!("{}", unit * 2.0 - 1.0)
        } else {
            let v = (unit * 16.0) as i64 - 8;
            format!("{}", if v >= 0 { v + 1 } else { v })
        };
        b.set_from_text(i, &text).expect("a value of the element's type");
    }
    b
}

/// Integers in [0, extent): distinct when the buffer has at most `extent`
/// elements (`i -> (a i + c) mod extent`, `a` coprime to `extent`: a
/// permutation, without a table of `extent` values), else every value in
/// turn, shuffled.
pub fn in_range(elem: ElemType, shape: &[usize], extent: u64, seed: u64) -> Buffer {
    let mut b = Buffer::zeros(elem, shape);
    let mut rng = Xorshift::new(seed);
    let len = b.len();
    let max = if elem == ElemType::I32 { 1 << 31 } else { u64::MAX };
    let e = extent.clamp(1, max);
    let values: Vec<u64> = if len as u64 <= e {
        let mut a = ((rng.unit() * e as f64) as u64).max(1) % e.max(2);
        while gcd(a, e) != 1 {
            a += 1;
        }
        let c = (rng.unit() * e as f64) as u64 % e;
        (0..len as u64).map(|i| ((u128::from(a) * u128::from(i) + u128::from(c)) % u128::from(e)) as u64).collect()
    } else {
        let mut v: Vec<u64> = (0..len as u64).map(|i| i % e).collect();
        // Fisher-Yates.
        for k in (1..v.len()).rev() {
            let j = ((rng.unit() * (k + 1) as f64) as usize).min(k);
            v.swap(k, j);
        }
        v
    };
    for (i, v) in values.into_iter().enumerate() {
        b.set_from_text(i, &v.to_string()).expect("an index within the element's range");
    }
    b
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

struct Xorshift(u64);

impl Xorshift {
    fn new(seed: u64) -> Self {
        Xorshift(0x9E37_79B9_7F4A_7C15u64 ^ (seed.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9)))
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Default)]
struct Found {
    extent: Option<u64>,
    unbounded: Option<String>,
}

impl Found {
    fn within(&mut self, e: u64) {
        self.extent = Some(self.extent.map_or(e, |x| x.min(e)));
    }

    fn unbounded(&mut self, why: String) {
        self.unbounded.get_or_insert(why);
    }
}

fn is_shaped(v: MlirValue) -> bool {
    // SAFETY: a live value's type.
    unsafe {
        let t = ir::value_type(v);
        sys::mlirTypeIsAShaped(t) && sys::mlirShapedTypeHasRank(t)
    }
}

fn is_index(v: MlirValue) -> bool {
    // SAFETY: a live value's type.
    unsafe { sys::mlirTypeIsAIndex(ir::value_type(v)) }
}

fn function(module: MlirOperation, name: &str) -> Option<MlirOperation> {
    ir::find(module, &["func.func"]).into_iter().find(|f| ir::symbol_name(*f).as_deref() == Some(name))
}

fn num_results(op: MlirOperation) -> usize {
    // SAFETY: a live op.
    unsafe { sys::mlirOperationGetNumResults(op) as usize }
}

fn num_operands(op: MlirOperation) -> usize {
    // SAFETY: a live op.
    unsafe { sys::mlirOperationGetNumOperands(op) as usize }
}

/// The arguments of the first block of each region of `op`.
fn region_arguments(op: MlirOperation) -> Vec<Vec<MlirValue>> {
    // SAFETY: walking a live op's regions.
    unsafe {
        (0..sys::mlirOperationGetNumRegions(op))
            .map(|r| {
                let b = sys::mlirRegionGetFirstBlock(sys::mlirOperationGetRegion(op, r));
                if b.ptr.is_null() {
                    Vec::new()
                } else {
                    (0..sys::mlirBlockGetNumArguments(b)).map(|i| ir::block_argument(b, i)).collect()
                }
            })
            .collect()
    }
}

/// Ops whose result is a view of their first operand's elements.
const VIEWS: &[&str] = &[
    "memref.subview",
    "memref.cast",
    "memref.reinterpret_cast",
    "memref.collapse_shape",
    "memref.expand_shape",
    "memref.transpose",
    "memref.memory_space_cast",
    "bufferization.to_tensor",
    "bufferization.to_buffer",
    "tensor.extract_slice",
    "tensor.cast",
    "tensor.collapse_shape",
    "tensor.expand_shape",
];

/// Ops that read elements of their first operand into their result.
const LOADS: &[&str] = &["memref.load", "affine.load", "tensor.extract", "vector.load", "vector.transfer_read", "affine.vector_load"];

/// Uses of a buffer that neither read its elements out nor pass it on.
const HARMLESS: &[&str] = &[
    "memref.dealloc",
    "memref.dim",
    "tensor.dim",
    "memref.extract_strided_metadata",
    "memref.extract_aligned_pointer_as_index",
    "memref.prefetch",
    "affine.prefetch",
    "func.return",
];

/// Access ops: the operand holding the buffer and the first index operand.
fn access(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "memref.load" | "tensor.extract" | "memref.generic_atomic_rmw" => (0, 1),
        "memref.store" | "memref.atomic_rmw" | "tensor.insert" => (1, 2),
        _ => return None,
    })
}

/// Ops that write their operand 0 into the buffer that is their operand 1.
const STORES: &[&str] =
    &["memref.store", "affine.store", "vector.store", "vector.transfer_write", "tensor.insert", "memref.atomic_rmw", "affine.vector_store"];

const CASTS: &[&str] = &["arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui", "arith.bitcast", "vector.extract", "vector.extractelement"];

const YIELDS: &[&str] =
    &["scf.yield", "affine.yield", "linalg.yield", "strata.yield", "scf.reduce", "scf.reduce.return", "scf.condition", "memref.atomic_yield"];

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// A buffer holding (or views of) the argument's elements.
    Buffer,
    /// A value read from such a buffer, or computed from one.
    Element,
}

struct Tracer {
    module: MlirOperation,
    found: Found,
    seen: HashSet<(Kind, usize, bool)>,
    /// What is still to follow; `derived` once anything but a lossless
    /// cast was applied to the argument's elements.
    pending: Vec<(Kind, MlirValue, bool)>,
}

impl Tracer {
    fn run(&mut self) {
        while let Some((kind, v, derived)) = self.pending.pop() {
            if self.found.unbounded.is_some() || self.seen.len() > 100_000 {
                return;
            }
            if !self.seen.insert((kind, v.ptr as usize, derived)) {
                continue;
            }
            for (op, pos) in ir::uses(v) {
                match kind {
                    Kind::Buffer => self.buffer_use(op, pos, derived),
                    Kind::Element => self.element_use(v, op, pos, derived),
                }
            }
        }
    }

    fn push(&mut self, kind: Kind, v: MlirValue, derived: bool) {
        self.pending.push((kind, v, derived));
    }

    fn buffer_use(&mut self, op: MlirOperation, pos: usize, derived: bool) {
        let name = ir::name(op);
        let n = name.as_str();
        if pos == 0 && VIEWS.contains(&n) {
            self.push(Kind::Buffer, ir::result(op, 0), derived);
        } else if pos == 0 && LOADS.contains(&n) {
            self.push(Kind::Element, ir::result(op, 0), derived);
        } else if pos == 1 && STORES.contains(&n) {
            // Written into: what it held stays as it was.
            if n == "memref.atomic_rmw" {
                self.push(Kind::Element, ir::result(op, 0), derived);
            }
        } else if n == "memref.generic_atomic_rmw" && pos == 0 {
            for args in region_arguments(op) {
                args.into_iter().for_each(|a| self.push(Kind::Element, a, derived));
            }
        } else if n == "memref.copy" {
            if pos == 0 {
                self.push(Kind::Buffer, ir::operand(op, 1), derived);
            }
        } else if n == "linalg.generic" || n.starts_with("linalg.") && !region_arguments(op).is_empty() {
            // The region's arguments are the operands' elements, in order.
            match region_arguments(op).first().and_then(|args| args.get(pos).copied()) {
                Some(a) => self.push(Kind::Element, a, derived),
                None => self.found.unbounded(format!("'{n}'")),
            }
        } else if n == "func.call" {
            self.into_callee(op, pos, Kind::Buffer, derived);
        } else if !HARMLESS.contains(&n) {
            self.found.unbounded(format!("'{n}'"));
        }
    }

    fn element_use(&mut self, v: MlirValue, op: MlirOperation, pos: usize, derived: bool) {
        let name = ir::name(op);
        let n = name.as_str();
        if pos == 0 && CASTS.contains(&n) {
            self.push(Kind::Element, ir::result(op, 0), derived);
            return;
        }
        if is_index(v) {
            if let Some((buffer, first)) = access(n) {
                if pos >= first {
                    let dims = ir::shape(ir::value_type(ir::operand(op, buffer as isize))).0;
                    // SAFETY: reading a constant.
                    let dynamic = unsafe { sys::mlirShapedTypeGetDynamicSize() };
                    match dims.get(pos - first) {
                        _ if derived => self.found.unbounded(format!("an index computed from them ('{n}')")),
                        Some(&d) if d >= 0 && d != dynamic => self.found.within(d as u64),
                        _ => self.found.unbounded(format!("a dimension of dynamic size ('{n}')")),
                    }
                    return;
                }
            }
            // Any other position of an access: a vector's first lane, an
            // affine map's operand.
            let index_at = if STORES.contains(&n) { 2 } else { 1 };
            if (LOADS.contains(&n) || STORES.contains(&n) || n == "memref.prefetch" || n == "affine.prefetch") && pos >= index_at {
                self.found.unbounded(format!("a position of '{n}'"));
                return;
            }
        }
        if pos == 0 && STORES.contains(&n) {
            // The buffer stored into now holds values made from them.
            self.push(Kind::Buffer, ir::operand(op, 1), true);
            return;
        }
        if YIELDS.contains(&n) {
            self.yielded(op, pos);
            return;
        }
        if n == "func.call" {
            self.into_callee(op, pos, Kind::Element, true);
            return;
        }
        if n.starts_with("arith.cmp") {
            return;
        }
        let arithmetic = n.starts_with("arith.") || n.starts_with("math.") || n.starts_with("vector.") || n == "affine.apply"
            || n == "affine.min" || n == "affine.max" || n == "index.add";
        if arithmetic && num_results(op) > 0 {
            for r in 0..num_results(op) {
                self.push(Kind::Element, ir::result(op, r as isize), true);
            }
            return;
        }
        if n == "func.return" {
            return;
        }
        self.found.unbounded(format!("'{n}'"));
    }

    /// A value yielded at operand `pos` of a terminator: the parent op's
    /// result `pos`, the loop-carried region argument it becomes, or (a
    /// structured op on buffers) the output it is stored into.
    fn yielded(&mut self, terminator: MlirOperation, pos: usize) {
        let parent = ir::parent(terminator);
        let pname = ir::name(parent);
        let yields = num_operands(terminator);
        if pname == "memref.generic_atomic_rmw" {
            self.push(Kind::Buffer, ir::operand(parent, 0), true);
        }
        if pname == "linalg.generic" && num_results(parent) == 0 {
            let out = num_operands(parent) - yields + pos;
            self.push(Kind::Buffer, ir::operand(parent, out as isize), true);
            return;
        }
        // scf.condition's first operand is the condition.
        let k = if ir::name(terminator) == "scf.condition" { pos.checked_sub(1) } else { Some(pos) };
        let Some(k) = k else { return };
        if k < num_results(parent) {
            self.push(Kind::Element, ir::result(parent, k as isize), true);
        }
        let regions = region_arguments(parent);
        match pname.as_str() {
            // Induction variable first, then the carried values.
            "scf.for" | "affine.for" => {
                if let Some(a) = regions.first().and_then(|r| r.get(k + 1)) {
                    self.push(Kind::Element, *a, true);
                }
            }
            "scf.while" => {
                for r in &regions {
                    if let Some(a) = r.get(k) {
                        self.push(Kind::Element, *a, true);
                    }
                }
            }
            _ => {}
        }
    }

    /// Operand `pos` of a `func.call`: the callee's argument.
    fn into_callee(&mut self, call: MlirOperation, pos: usize, kind: Kind, derived: bool) {
        let callee = ir::attribute(call, "callee").map(ir::print_attr).unwrap_or_default();
        let arg = function(self.module, callee.trim_start_matches('@'))
            .and_then(|f| region_arguments(f).first().and_then(|args| args.get(pos).copied()));
        match arg {
            Some(a) => {
                self.push(kind, a, derived);
                for r in 0..num_results(call) {
                    self.push(Kind::Element, ir::result(call, r as isize), true);
                }
            }
            None => self.found.unbounded(format!("a call of {callee}")),
        }
    }
}
