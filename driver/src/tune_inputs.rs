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
//! order. Where an index is computed from them (an offset added, a loop
//! bound), the tuner cannot choose values and asks for `--input`.

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
    /// a loop bound, a dynamic dimension): what that use is.
    Unbounded(String),
}

/// The arguments of `entry` (by position) whose integer elements become
/// indices in `module`, traced through views of the argument, loads, casts
/// and integer arithmetic.
pub fn index_arguments(module: MlirOperation, entry: &str) -> BTreeMap<usize, IndexUse> {
    let mut out = BTreeMap::new();
    let Some(func) = ir::find(module, &["func.func"]).into_iter().find(|f| ir::symbol_name(*f).as_deref() == Some(entry)) else {
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
        let mut found = Found::default();
        for element in loaded_elements(arg) {
            trace(element, false, &mut found, &mut HashSet::new());
        }
        if let Some(why) = found.unbounded {
            out.insert(i as usize, IndexUse::Unbounded(why));
        } else if let Some(e) = found.extent {
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

/// Integers in [0, extent): distinct (the first elements of a shuffled
/// 0..extent) when the buffer has at most `extent` elements, else every
/// value in turn, shuffled.
pub fn in_range(elem: ElemType, shape: &[usize], extent: u64, seed: u64) -> Buffer {
    let mut b = Buffer::zeros(elem, shape);
    let mut rng = Xorshift::new(seed);
    let len = b.len();
    let extent = extent.max(1);
    let mut values: Vec<u64> = if (len as u64) < extent && extent > (1 << 26) {
        // Too many to shuffle: uniform values, rarely repeated.
        (0..len).map(|_| ((rng.unit() * extent as f64) as u64).min(extent - 1)).collect()
    } else {
        let pool: Vec<u64> = if (len as u64) <= extent { (0..extent).collect() } else { (0..len as u64).map(|v| v % extent).collect() };
        let mut pool = pool;
        // Fisher-Yates, stopped after the `len` positions taken.
        for k in 0..len.min(pool.len()) {
            let j = k + ((rng.unit() * (pool.len() - k) as f64) as usize).min(pool.len() - k - 1);
            pool.swap(k, j);
        }
        pool.truncate(len);
        pool
    };
    for (i, v) in values.drain(..).enumerate() {
        b.set_from_text(i, &v.to_string()).expect("an index within the element's range");
    }
    b
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

/// Each use of `v`: the op and the operand's position in it.
fn uses(v: MlirValue) -> Vec<(MlirOperation, usize)> {
    let mut out = Vec::new();
    // SAFETY: walking a live value's use list.
    unsafe {
        let mut u = sys::mlirValueGetFirstUse(v);
        while !u.ptr.is_null() {
            out.push((sys::mlirOpOperandGetOwner(u), sys::mlirOpOperandGetOperandNumber(u) as usize));
            u = sys::mlirOpOperandGetNextUse(u);
        }
    }
    out
}

/// Ops whose result is a view of their first operand's elements.
const VIEWS: &[&str] = &[
    "memref.subview",
    "memref.cast",
    "memref.reinterpret_cast",
    "memref.collapse_shape",
    "memref.expand_shape",
    "memref.transpose",
    "bufferization.to_tensor",
    "bufferization.to_buffer",
    "tensor.extract_slice",
    "tensor.cast",
    "tensor.collapse_shape",
    "tensor.expand_shape",
];

/// Ops that read one element of their first operand into their result.
const LOADS: &[&str] = &["memref.load", "affine.load", "tensor.extract"];

/// The element values read from `buffer` and its views.
fn loaded_elements(buffer: MlirValue) -> Vec<MlirValue> {
    let mut out = Vec::new();
    let mut pending = vec![buffer];
    let mut seen = HashSet::new();
    while let Some(b) = pending.pop() {
        if !seen.insert(b.ptr) {
            continue;
        }
        for (op, pos) in uses(b) {
            let name = ir::name(op);
            if pos == 0 && VIEWS.contains(&name.as_str()) {
                pending.push(ir::result(op, 0));
            } else if pos == 0 && LOADS.contains(&name.as_str()) {
                out.push(ir::result(op, 0));
            }
        }
    }
    out
}

/// The first index operand of an access op, and the operand holding the
/// buffer it indexes.
fn access(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "memref.load" | "tensor.extract" | "memref.generic_atomic_rmw" | "vector.load" | "vector.transfer_read" => (0, 1),
        "memref.store" | "memref.atomic_rmw" | "tensor.insert" | "vector.store" | "vector.transfer_write" => (1, 2),
        _ => return None,
    })
}

/// Follows an integer value derived from an argument's element; `derived`
/// once arithmetic other than a cast has been applied to it.
fn trace(v: MlirValue, derived: bool, found: &mut Found, seen: &mut HashSet<*const std::ffi::c_void>) {
    if !seen.insert(v.ptr as *const _) || seen.len() > 100_000 {
        return;
    }
    let index = is_index(v);
    for (op, pos) in uses(v) {
        let name = ir::name(op);
        // SAFETY: a live op.
        let results = unsafe { sys::mlirOperationGetNumResults(op) };
        if matches!(
            name.as_str(),
            "arith.index_cast" | "arith.index_castui" | "arith.extsi" | "arith.extui" | "arith.trunci" | "arith.bitcast"
        ) {
            trace(ir::result(op, 0), derived, found, seen);
            continue;
        }
        if index {
            match access(&name) {
                Some((buffer, first)) if pos >= first => {
                    let dims = ir::shape(ir::value_type(ir::operand(op, buffer as isize))).0;
                    match dims.get(pos - first) {
                        _ if derived => found.unbounded(format!("an index computed from them ('{name}')")),
                        // SAFETY: reading a constant.
                        Some(&d) if d >= 0 && d != unsafe { sys::mlirShapedTypeGetDynamicSize() } => found.within(d as u64),
                        _ => found.unbounded(format!("a dimension of dynamic size ('{name}')")),
                    }
                    continue;
                }
                _ => {}
            }
        }
        if name.starts_with("arith.") && !name.starts_with("arith.cmp") && results == 1 {
            let r = ir::result(op, 0);
            // SAFETY: a live value's type.
            if unsafe { sys::mlirTypeIsAInteger(ir::value_type(r)) } || is_index(r) {
                trace(r, true, found, seen);
            }
            continue;
        }
        if index {
            found.unbounded(format!("'{name}'"));
        }
    }
}
