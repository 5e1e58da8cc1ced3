//! The math half of `strata-vectorize`: f32 `math.exp` and `math.tanh`,
//! on scalars or on 1-D vectors of f32, become calls to one private
//! function per module and type (`@__strata_exp_f32x16`,
//! `@__strata_tanh_f32`, ...) whose body computes it in `arith` code.
//!
//! Why arithmetic: the libm calls (or per-lane intrinsics) these ops would
//! otherwise become are opaque to LLVM's vectorizer and cost a call per
//! lane; the expansion vectorizes with the loop around it. Edges are
//! handled by selects, never branches, so a vector of lanes takes one path.
//!
//! Why a function: the expansion is about 40 ops. Written out at every use,
//! an 8,000-op chain became 100,000 vector ops that every later pass (and
//! the verifier after each) walked. The functions are `internal` and
//! `alwaysinline`, so LLVM puts the code back at each call before it
//! optimizes (at every JIT optimization level): the machine code is what
//! the inline expansion gave.
//!
//! Runs after the loops are vectorized (so a loop's ops are on vectors by
//! then) and assumes a `builtin.module` above the ops (ops outside one are
//! expanded in place). Guarantees: the results below, bit for bit the same
//! at every vector width.
//!
//! `exp`: the input is clamped to [-104, 89] by selects that keep NaN;
//! `n = round(x / ln 2)`, rounded by adding 1.5 * 2^23 and read back from
//! the sum's bits by an integer subtraction (no `floor`, and no `fptosi`,
//! which is poison on a NaN lane); `r = x - n ln 2` in two parts
//! (Cody-Waite, exact products for |n| <= 256), Cephes' polynomial for
//! `e^r` on |r| <= ln 2 / 2, then `2^n` applied as two normal powers of two
//! `2^(n >> 1) * 2^(n - (n >> 1))`, so that the last product alone rounds:
//! results above f32's range become +inf (x > 88.7228), results below the
//! normal range become correctly scaled denormals (exp(-87.5) ~ 1e-38) and
//! then 0 (x < -103.972); exp(+inf) = inf, exp(-inf) = 0. A NaN lane's
//! polynomial is NaN, and so is its result (quieted). No select at the end
//! keeps `x` live for NaN: on AVX2, whose 16 registers the constants fill,
//! one did, LLVM rotated eleven registers twice per vector, and the row
//! softmax took 15% longer. Error: at most 1 ulp from the correctly
//! rounded result (a denormal's ulp is 2^-149); from the exact value,
//! measured with `floor(x / ln 2 + 0.5)` for `n` (which differs only where
//! `x / ln 2` is half an odd integer): at most 0.991 ulp over every f32
//! without FMAs, 1.011 with them (every third f32).
//!
//! `tanh`: `x + x^3 Q(x^2)` for |x| < 0.55 (`Q` of degree 4 interpolating
//! `(tanh x - x) / x^3` at Chebyshev nodes of x^2 in [0, 0.3025], error
//! below 1.4e-8; it rounds to `x` itself for |x| < 1e-4, -0 and denormals
//! included), else `sign(x) (1 - 2 / (e^(2|x|) + 1))` with the `exp` above
//! on 2|x| clamped to 20 (where the formula is 1 in f32 already): +-1 from
//! |x| > 9.01 on, infinities included. NaN propagates (the small path of a
//! NaN lane is NaN). Error: at most 2 ulp from the correctly rounded
//! result; from the exact value, measured: at most 1.46 ulp over every f32
//! without FMAs, 1.47 with them (every third f32), near |x| = 0.55.
//!
//! On a 512-bit target, 16-lane `exp` applies `2^n` with AVX-512's
//! `vscalefps` (`llvm.x86.avx512.mask.scalef.ps.512`), which computes
//! `p * 2^n` rounded once, as the two products do: the same bits, nine
//! integer and float instructions fewer per vector.
//!
//! Multiplies and adds may contract into FMAs (where the CPU has them); the
//! bounds hold with and without.

use std::collections::HashMap;

use mlir_sys::{self as sys, MlirOperation, MlirType, MlirValue};

use crate::ir::{
    self,
    cmpf::{OGE, OGT, OLT},
    Builder,
};

/// Replaces every f32 (or vector-of-f32) `math.exp` and `math.tanh` under
/// `root` by a call to its expansion.
pub(crate) fn run(root: MlirOperation) {
    // AVX-512's `vscalefps` applies `2^n` in one instruction, for the
    // 16-lane vectors of a 512-bit target (see the module doc).
    let scalef = crate::target::Target::of_module(root).vector_bits >= 512;
    let targets: Vec<(MlirOperation, Option<i64>)> = ir::find(root, &["math.exp", "math.tanh"])
        .into_iter()
        .filter_map(|op| lanes_of(ir::value_type(ir::result(op, 0))).map(|lanes| (op, lanes)))
        .collect();
    // The function made for each (module, op name, lanes), by symbol name:
    // each op calls one defined in the module nearest it, which is the
    // symbol table its call resolves in.
    let mut made: HashMap<(usize, String, Option<i64>), String> = HashMap::new();
    for (op, lanes) in targets {
        let name = ir::name(op);
        let x = ir::operand(op, 0);
        let ty = ir::value_type(x);
        let value = match ir::enclosing(op, "builtin.module") {
            Some(module) => {
                let callee = made
                    .entry((module.ptr as usize, name.clone(), lanes))
                    .or_insert_with(|| define(module, &name, lanes, ty, ir::location(op), scalef))
                    .clone();
                let b = Builder::of_op(op);
                let callee_attr = b.attr(&format!("@{callee}"));
                let call = b.op("func.call", ir::location(op), &[x], &[ty], &[("callee", callee_attr)], 0);
                ir::result(ir::insert_before(op, call), 0)
            }
            None => {
                let m = MathBuilder::new(op, lanes, scalef);
                if name == "math.exp" { m.exp(x) } else { m.tanh(x) }
            }
        };
        crate::remark(op, &format!("strata-vectorize: f32 {name} expanded into arithmetic so that it vectorizes"));
        ir::replace_op(op, &[value]);
    }
}

/// `Some(None)` for f32, `Some(Some(n))` for `vector<n x f32>`, else `None`.
fn lanes_of(t: MlirType) -> Option<Option<i64>> {
    // SAFETY: type queries on a live type.
    unsafe {
        if sys::mlirTypeIsAF32(t) {
            return Some(None);
        }
        if sys::mlirTypeIsAVector(t)
            && sys::mlirShapedTypeGetRank(t) == 1
            && !sys::mlirVectorTypeIsScalable(t)
            && sys::mlirTypeIsAF32(sys::mlirShapedTypeGetElementType(t))
        {
            return Some(Some(sys::mlirShapedTypeGetDimSize(t, 0)));
        }
    }
    None
}


/// Defines the private function computing `op_name` on `ty` at the end of
/// `module`; returns its symbol name (made unique in the module).
fn define(module: MlirOperation, op_name: &str, lanes: Option<i64>, ty: MlirType, loc: sys::MlirLocation, scalef: bool) -> String {
    let b = Builder::of_op(module);
    let kind = op_name.trim_start_matches("math.");
    let base = match lanes {
        None => format!("__strata_{kind}_f32"),
        Some(n) => format!("__strata_{kind}_f32x{n}"),
    };
    let mut name = base.clone();
    let mut k = 1;
    while ir::defines_symbol(module, &name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    let t = ir::print_type(ty);
    let func = b.op(
        "func.func",
        loc,
        &[],
        &[],
        &[
            ("sym_name", b.attr(&format!("\"{name}\""))),
            ("function_type", b.attr(&format!("({t}) -> {t}"))),
            ("sym_visibility", b.attr("\"private\"")),
            ("llvm.linkage", b.attr("#llvm.linkage<internal>")),
            ("passthrough", b.attr("[\"alwaysinline\"]")),
        ],
        1,
    );
    ir::append(ir::first_block(ir::region(module, 0)), func);
    let entry = ir::new_block(&[ty], loc);
    ir::append_block(ir::region(func, 0), entry);
    let x = ir::block_argument(entry, 0);
    let ret = ir::append(entry, b.op("func.return", loc, &[x], &[], &[], 0));
    let m = MathBuilder::new(ret, lanes, scalef);
    let value = if op_name == "math.exp" { m.exp(x) } else { m.tanh(x) };
    // SAFETY: a live op with one operand.
    unsafe { sys::mlirOperationSetOperand(ret, 0, value) };
    name
}

/// `arith` code on f32 or `vector<n x f32>` values, inserted before one op.
struct MathBuilder {
    b: Builder,
    at: MlirOperation,
    /// Constants made so far, by (bits, integer).
    constants: std::cell::RefCell<HashMap<(u64, bool), MlirValue>>,
    loc: sys::MlirLocation,
    lanes: Option<i64>,
    /// The float, integer and predicate types (each a vector when `lanes`).
    ft: MlirType,
    it: MlirType,
    bt: MlirType,
    f32t: MlirType,
    i32t: MlirType,
    /// `#arith.fastmath<contract>`, built once: parsing attribute text per
    /// op was a fifth of a long chain's compile time.
    contract: sys::MlirAttribute,
    /// Whether `2^n` is applied by `vscalefps` (16 lanes on a 512-bit
    /// target).
    scalef: bool,
}


/// 1.5 * 2^23: added to `x / ln 2` (|x / ln 2| < 2^22), it rounds it to an
/// integer in the low bits of the sum.
const ROUNDER: f32 = 12_582_912.0;

impl MathBuilder {
    fn new(at: MlirOperation, lanes: Option<i64>, scalef: bool) -> Self {
        let b = Builder::of_op(at);
        let (f32t, i32t, i1t) = (b.ty("f32"), b.ty("i32"), b.ty("i1"));
        let shaped = |e: MlirType| match lanes {
            // SAFETY: a 1-D vector type of a live element type.
            Some(n) => unsafe { sys::mlirVectorTypeGet(1, &n, e) },
            None => e,
        };
        let contract = b.attr("#arith.fastmath<contract>");
        MathBuilder {
            b,
            at,
            constants: Default::default(),
            loc: ir::location(at),
            lanes,
            ft: shaped(f32t),
            it: shaped(i32t),
            bt: shaped(i1t),
            f32t,
            i32t,
            contract,
            scalef: scalef && lanes == Some(16),
        }
    }

    /// The constant `value` (an f32 or i32 attribute) as an `ft`/`it`
    /// value, made once.
    fn constant(&self, key: (u64, bool), value: sys::MlirAttribute) -> MlirValue {
        if let Some(v) = self.constants.borrow().get(&key) {
            return *v;
        }
        let ty = if key.1 { self.it } else { self.ft };
        let value = match self.lanes {
            // SAFETY: a splat of a scalar attribute of the vector's element type.
            Some(_) => unsafe { sys::mlirDenseElementsAttrSplatGet(ty, value) },
            None => value,
        };
        let op = self.b.op("arith.constant", self.loc, &[], &[ty], &[("value", value)], 0);
        let v = ir::result(ir::insert_before(self.at, op), 0);
        self.constants.borrow_mut().insert(key, v);
        v
    }

    fn emit(&self, name: &str, operands: &[MlirValue], ty: MlirType, attrs: &[(&str, sys::MlirAttribute)]) -> MlirValue {
        ir::result(ir::insert_before(self.at, self.b.op(name, self.loc, operands, &[ty], attrs, 0)), 0)
    }

    /// The f32 constant nearest the 10 significant digits of `v` (what
    /// the text `{v:.9e} : f32` means), built without parsing.
    fn c(&self, v: f64) -> MlirValue {
        let nearest: f32 = format!("{v:.9e}").parse().unwrap_or(v as f32);
        // SAFETY: a float attribute of a live type; exact, as `nearest` is an f32.
        let value = unsafe { sys::mlirFloatAttrDoubleGet(self.b.ctx, self.f32t, nearest as f64) };
        self.constant((nearest.to_bits() as u64, false), value)
    }

    fn ci(&self, v: i32) -> MlirValue {
        // SAFETY: an integer attribute of a live type.
        let value = unsafe { sys::mlirIntegerAttrGet(self.i32t, v as i64) };
        self.constant((v as u32 as u64, true), value)
    }

    /// A binary float op. Multiplies and adds may contract into fused
    /// multiply-adds where the CPU has them (fewer instructions, one
    /// rounding fewer; the bounds hold either way).
    fn f(&self, name: &str, x: MlirValue, y: MlirValue) -> MlirValue {
        let contract = [("fastmath", self.contract)];
        let attrs: &[(&str, sys::MlirAttribute)] = if name == "arith.divf" { &[] } else { &contract };
        self.emit(name, &[x, y], self.ft, attrs)
    }

    fn i(&self, name: &str, x: MlirValue, y: MlirValue) -> MlirValue {
        self.emit(name, &[x, y], self.it, &[])
    }

    fn cmp(&self, predicate: i64, x: MlirValue, y: MlirValue) -> MlirValue {
        // SAFETY: an attribute built in a live context.
        let predicate = unsafe { sys::mlirIntegerAttrGet(sys::mlirIntegerTypeGet(self.b.ctx, 64), predicate) };
        self.emit("arith.cmpf", &[x, y], self.bt, &[("predicate", predicate)])
    }

    fn select(&self, c: MlirValue, x: MlirValue, y: MlirValue) -> MlirValue {
        self.emit("arith.select", &[c, x, y], self.ft, &[])
    }

    /// `a * x^n + ... + z` by Horner's rule, coefficients highest first.
    fn horner(&self, x: MlirValue, coefficients: &[f64]) -> MlirValue {
        let mut p = self.c(coefficients[0]);
        for k in &coefficients[1..] {
            p = self.f("arith.addf", self.f("arith.mulf", p, x), self.c(*k));
        }
        p
    }

    /// `2^e` for an integer `e` in the normal exponents [-126, 127].
    fn pow2(&self, e: MlirValue) -> MlirValue {
        let bits = self.i("arith.shli", self.i("arith.addi", e, self.ci(127)), self.ci(23));
        self.emit("arith.bitcast", &[bits], self.ft, &[])
    }

    /// `(e^r, n)` with `x = n ln 2 + r`, for a clamped `x` (NaN comes out
    /// as a NaN `e^r` and some `n`).
    fn exp_parts(&self, x: MlirValue) -> (MlirValue, MlirValue) {
        let (p, _, t) = self.exp_parts_float(x);
        // `t`'s low bits are `n` (see below): an integer subtraction, where
        // a conversion (`fptosi`) would be poison on a NaN lane.
        let tbits = self.emit("arith.bitcast", &[t], self.it, &[]);
        (p, self.i("arith.subi", tbits, self.ci(ROUNDER.to_bits() as i32)))
    }

    /// `(e^r, n, t)` as [`Self::exp_parts`], `n` an integral float and `t`
    /// the float whose bits are `n` plus [`ROUNDER`]'s.
    fn exp_parts_float(&self, x: MlirValue) -> (MlirValue, MlirValue, MlirValue) {
        // Rounded to the nearest integer by the addition itself: in
        // [2^23, 2^24) floats are integers one apart, so `t = x / ln 2 +
        // 1.5 * 2^23` holds round(x / ln 2) in its low mantissa bits, which
        // saves a `floor` and the conversion to integer.
        let t = self.f("arith.addf", self.f("arith.mulf", x, self.c(std::f64::consts::LOG2_E)), self.c(ROUNDER as f64));
        let n = self.f("arith.subf", t, self.c(ROUNDER as f64));
        let r = self.f("arith.subf", x, self.f("arith.mulf", n, self.c(0.693359375)));
        let r = self.f("arith.subf", r, self.f("arith.mulf", n, self.c(-2.12194440e-4)));
        let p = self.horner(r, &[1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]);
        let r2 = self.f("arith.mulf", r, r);
        let p = self.f("arith.addf", self.f("arith.addf", self.f("arith.mulf", p, r2), r), self.c(1.0));
        (p, n, t)
    }

    fn exp(&self, x: MlirValue) -> MlirValue {
        // Clamped by selects that keep NaN (LLVM makes each a single
        // max/min instruction on x86); a NaN lane's polynomial is NaN, so
        // its result is, with no select at the end to keep `x` live for.
        let lo = self.c(-104.0);
        let xc = self.select(self.cmp(OLT, x, lo), lo, x);
        let hi = self.c(89.0);
        let xc = self.select(self.cmp(OGT, xc, hi), hi, xc);
        if self.scalef {
            // p * 2^n rounded once, as the two products below: the same bits.
            let (p, n, _) = self.exp_parts_float(xc);
            let mask = self.b.op("arith.constant", self.loc, &[], &[self.b.ty("i16")], &[("value", self.b.attr("-1 : i16"))], 0);
            let mask = ir::result(ir::insert_before(self.at, mask), 0);
            // 4: the current rounding direction (MXCSR's round to nearest).
            let rounding = self.b.op("arith.constant", self.loc, &[], &[self.i32t], &[("value", self.b.attr("4 : i32"))], 0);
            let rounding = ir::result(ir::insert_before(self.at, rounding), 0);
            let v = self.b.op(
                "llvm.call_intrinsic",
                self.loc,
                &[p, n, p, mask, rounding],
                &[self.ft],
                &[
                    ("intrin", self.b.attr("\"llvm.x86.avx512.mask.scalef.ps.512\"")),
                    ("fastmathFlags", self.b.attr("#llvm.fastmath<none>")),
                    ("op_bundle_sizes", self.b.attr("array<i32>")),
                    ("operandSegmentSizes", self.b.attr("array<i32: 5, 0>")),
                ],
                0,
            );
            return ir::result(ir::insert_before(self.at, v), 0);
        }
        let (p, n) = self.exp_parts(xc);
        // n in [-150, 129]: two halves, each a normal power of two; p * 2^n1
        // is exact, the second product rounds once (to a denormal, to inf).
        let n1 = self.i("arith.shrsi", n, self.ci(1));
        let n2 = self.i("arith.subi", n, n1);
        self.f("arith.mulf", self.f("arith.mulf", p, self.pow2(n1)), self.pow2(n2))
    }

    fn tanh(&self, x: MlirValue) -> MlirValue {
        // Both paths on |x|, the sign copied back at the end (tanh is odd):
        // one instruction, and it keeps tanh(-0) = -0.
        let ax = self.emit("math.absf", &[x], self.ft, &[]);
        let u = self.f("arith.mulf", ax, ax);
        let q = self.horner(
            u,
            &[-6.610227832979052e-3, 2.130938866695684e-2, -5.3909428828492235e-2, 1.333311372903611e-1, -3.3333332007977573e-1],
        );
        // Rounds to |x| itself for |x| < 1e-4 (|x|^3 / 3 is below half an
        // ulp there); a denormal's square is 0.
        let small = self.f("arith.addf", ax, self.f("arith.mulf", ax, self.f("arith.mulf", u, q)));
        // e^(2|x|), 2|x| clamped to 20 (where 1 - 2 / (e + 1) is 1 in f32;
        // NaN goes to 20 too, and takes the small path below): n <= 29, one
        // power of two, no edges to handle.
        let y = self.f("arith.addf", ax, ax);
        let twenty = self.c(20.0);
        let y = self.select(self.cmp(OLT, y, twenty), y, twenty);
        let (p, n) = self.exp_parts(y);
        let e = self.f("arith.mulf", p, self.pow2(n));
        let big = self.f("arith.subf", self.c(1.0), self.f("arith.divf", self.c(2.0), self.f("arith.addf", e, self.c(1.0))));
        let t = self.select(self.cmp(OGE, ax, self.c(0.55)), big, small);
        self.f("math.copysign", t, x)
    }
}
