//! The explicit code-generation target: what the vector code, the tiles and
//! the JIT may assume about the CPU.
//!
//! The driver builds one [`Target`] per compile (from the host, or from
//! `--strata-target=NAME[,+feat,-feat]`) and attaches it to the module as
//! the `strata.target` dictionary attribute, in the manner of
//! `#llvm.target` or IREE's executable targets. Passes read it from there
//! ([`Target::of_module`]); none probes the host or reads sysfs, so the same
//! input and target give the same IR on every machine. A module without the
//! attribute gets [`Target::baseline`] (x86-64 with SSE2), never the host.

use mlir_sys::{self as sys, MlirAttribute, MlirOperation};

use crate::ir;

/// The module attribute that carries the target.
pub const TARGET_ATTR: &str = "strata.target";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// LLVM's CPU name (`-mcpu`): `znver3`, `skylake-avx512`, `x86-64-v3`.
    pub cpu: String,
    /// Feature overrides on top of what `cpu` implies (`+avx512f,-avx2`),
    /// as LLVM names them; for a host target, where the host differs from
    /// its CPU name (a VM that hides AVX-512, say).
    pub features: String,
    /// The widest vector registers codegen may use: 512 with AVX-512F, 256
    /// with AVX2, else 128.
    pub vector_bits: i64,
    /// Architectural vector registers: 32 with AVX-512, else 16.
    pub vector_registers: i64,
    pub l1d_bytes: i64,
    pub l2_bytes: i64,
    pub l3_bytes: i64,
    /// Worker threads the kernel will run on.
    pub cores: i64,
}

impl Target {
    /// What a module without a `strata.target` gets: plain x86-64 (SSE2),
    /// small caches, one core. Safe on every x86-64 CPU.
    pub fn baseline() -> Target {
        Target {
            cpu: "x86-64".into(),
            features: String::new(),
            vector_bits: 128,
            vector_registers: 16,
            l1d_bytes: 32 * 1024,
            l2_bytes: 256 * 1024,
            l3_bytes: 8 * 1024 * 1024,
            cores: 1,
        }
    }

    /// The vector width and register count a full LLVM feature list
    /// (`+name`/`-name` for every feature) allows.
    pub fn vector_shape(all_features: &[String]) -> (i64, i64) {
        let has = |f: &str| all_features.iter().any(|x| x.strip_prefix('+') == Some(f));
        if has("avx512f") {
            (512, 32)
        } else if has("avx2") {
            (256, 16)
        } else {
            (128, 16)
        }
    }

    /// The target attached to the module that `op` is or is inside of, or
    /// the baseline.
    pub fn of_module(op: MlirOperation) -> Target {
        let mut module = op;
        while ir::name(module) != "builtin.module" {
            let p = ir::parent(module);
            if p.ptr.is_null() {
                break;
            }
            module = p;
        }
        ir::attribute(module, TARGET_ATTR).and_then(Target::from_attr).unwrap_or_else(Target::baseline)
    }

    /// Reads a `strata.target` dictionary; `None` if a field is missing or
    /// of the wrong kind.
    pub fn from_attr(a: MlirAttribute) -> Option<Target> {
        // SAFETY: attribute queries on a live attribute.
        unsafe {
            if !sys::mlirAttributeIsADictionary(a) {
                return None;
            }
            let get = |name: &str| {
                let v = sys::mlirDictionaryAttrGetElementByName(a, ir::sref(name));
                (!v.ptr.is_null()).then_some(v)
            };
            let string = |name: &str| {
                get(name).filter(|v| sys::mlirAttributeIsAString(*v)).map(|v| ir::string_of(sys::mlirStringAttrGetValue(v)))
            };
            let int = |name: &str| get(name).filter(|v| sys::mlirAttributeIsAInteger(*v)).map(|v| sys::mlirIntegerAttrGetValueInt(v));
            let t = Target {
                cpu: string("cpu")?,
                features: string("features").unwrap_or_default(),
                vector_bits: int("vector_bits")?,
                vector_registers: int("vector_registers")?,
                l1d_bytes: int("l1d_bytes")?,
                l2_bytes: int("l2_bytes")?,
                l3_bytes: int("l3_bytes")?,
                cores: int("cores")?,
            };
            (matches!(t.vector_bits, 128 | 256 | 512) && t.vector_registers > 0 && t.l2_bytes > 0 && t.cores > 0).then_some(t)
        }
    }

    /// Sets `strata.target` on `module` (replacing any).
    pub fn attach(&self, module: MlirOperation) {
        // SAFETY: builds attributes in the module's context.
        unsafe {
            let ctx = sys::mlirOperationGetContext(module);
            let i64t = sys::mlirIntegerTypeGet(ctx, 64);
            let named = |name: &str, value: MlirAttribute| {
                sys::mlirNamedAttributeGet(sys::mlirIdentifierGet(ctx, ir::sref(name)), value)
            };
            let string = |s: &str| sys::mlirStringAttrGet(ctx, ir::sref(s));
            let int = |v: i64| sys::mlirIntegerAttrGet(i64t, v);
            let fields = [
                named("cpu", string(&self.cpu)),
                named("features", string(&self.features)),
                named("vector_bits", int(self.vector_bits)),
                named("vector_registers", int(self.vector_registers)),
                named("l1d_bytes", int(self.l1d_bytes)),
                named("l2_bytes", int(self.l2_bytes)),
                named("l3_bytes", int(self.l3_bytes)),
                named("cores", int(self.cores)),
            ];
            let dict = sys::mlirDictionaryAttrGet(ctx, fields.len() as isize, fields.as_ptr());
            ir::set_attribute(module, TARGET_ATTR, dict);
        }
    }
}
