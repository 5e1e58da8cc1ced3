//! The library API: compile MLIR text, JIT it, call a function with typed
//! buffers, read the results.
//!
//! ```
//! use strata_driver::jit::{Buffer, CompileOptions, Kernel};
//!
//! let source = r#"
//!   func.func @main(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>) -> tensor<2x2xf32> {
//!     %r = strata.matmul %a, %b : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
//!     return %r : tensor<2x2xf32>
//!   }"#;
//! let kernel = Kernel::compile(source, "matmul.mlir", &CompileOptions::default())?;
//! let mut args = [
//!     Buffer::from_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]),
//!     Buffer::from_f32(&[2, 2], &[1.0, 0.0, 0.0, 1.0]),
//! ];
//! let results = kernel.call("main", &mut args)?;
//! assert_eq!(results[0].to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
//!
//! // Mistakes are errors, not crashes.
//! let wrong = kernel.call("main", &mut [Buffer::from_f32(&[1], &[0.0])]);
//! assert_eq!(wrong.unwrap_err().to_string(), "the function takes 2 argument(s), 1 given");
//! # Ok::<(), strata_driver::jit::Error>(())
//! ```
//!
//! Calling convention (what `strata-lower-to-affine` produces): tensor and
//! memref arguments are passed as memref descriptors over the caller's
//! buffers; every tensor or memref *result* is a trailing out-parameter the
//! caller allocates (the kernel writes it in place); scalar results are
//! returned. The JIT is MLIR's `ExecutionEngine`, driven through `mlir_sys`
//! because melior's wrapper ignores a failed creation.

use std::{ffi::CString, fmt};

use melior::{
    ir::Module,
    pass::PassManager,
    Context,
};
use mlir_sys as sys;
use strata_passes::{
    ir,
    levels::{self, Level},
    pipeline::Pipeline,
};

use crate::diagnostics::Collector;

/// Errors of the library API, each one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Parse or verification failed; the diagnostics, rendered.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Pipeline(String),
    #[error("no function named '{0}' in the module")]
    NoFunction(String),
    #[error("{0}")]
    Arguments(String),
    #[error("{0}")]
    Jit(String),
    /// The target is unknown, or this host cannot execute it.
    #[error("{0}")]
    Target(String),
    #[error("function '{0}' cannot be linked (a symbol it needs is missing: see the JIT's message above)")]
    Link(String),
}

/// Element types of the spec, plus `index` for scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    F32,
    F64,
    I32,
    I64,
    Index,
}

impl ElemType {
    pub fn size(self) -> usize {
        match self {
            ElemType::F32 | ElemType::I32 => 4,
            _ => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ElemType::F32 => "f32",
            ElemType::F64 => "f64",
            ElemType::I32 => "i32",
            ElemType::I64 => "i64",
            ElemType::Index => "index",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "f32" => ElemType::F32,
            "f64" => ElemType::F64,
            "i32" => ElemType::I32,
            "i64" => ElemType::I64,
            "index" => ElemType::Index,
            _ => return None,
        })
    }

    pub fn is_float(self) -> bool {
        matches!(self, ElemType::F32 | ElemType::F64)
    }
}

/// How a function parameter or result is passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Scalar,
    Tensor(Vec<usize>),
    Memref(Vec<usize>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgType {
    pub elem: ElemType,
    pub kind: ArgKind,
}

impl ArgType {
    pub fn shape(&self) -> &[usize] {
        match &self.kind {
            ArgKind::Scalar => &[],
            ArgKind::Tensor(s) | ArgKind::Memref(s) => s,
        }
    }

    pub fn is_buffer(&self) -> bool {
        !matches!(self.kind, ArgKind::Scalar)
    }
}

impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let dims: String = self.shape().iter().map(|d| format!("{d}x")).collect();
        match self.kind {
            ArgKind::Scalar => write!(f, "{}", self.elem.name()),
            ArgKind::Tensor(_) => write!(f, "tensor<{dims}{}>", self.elem.name()),
            ArgKind::Memref(_) => write!(f, "memref<{dims}{}>", self.elem.name()),
        }
    }
}

/// A function's parameters and results, as written in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub inputs: Vec<ArgType>,
    pub results: Vec<ArgType>,
}

/// A dense, row-major array (rank 0 for a scalar), owning its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub elem: ElemType,
    pub shape: Vec<usize>,
    /// 8-byte aligned storage, `len() * elem.size()` bytes used.
    words: Vec<u64>,
}

impl Buffer {
    pub fn zeros(elem: ElemType, shape: &[usize]) -> Self {
        let n: usize = shape.iter().product();
        Buffer { elem, shape: shape.to_vec(), words: vec![0; (n * elem.size()).div_ceil(8).max(1)] }
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: u64 storage viewed as bytes, within its length.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.len() * self.elem.size()) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        let n = self.len() * self.elem.size();
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, n) }
    }

    fn ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr() as *mut u8
    }

    pub fn from_f32(shape: &[usize], v: &[f32]) -> Self {
        Self::from_bytes(ElemType::F32, shape, v.iter().flat_map(|x| x.to_le_bytes()))
    }
    pub fn from_f64(shape: &[usize], v: &[f64]) -> Self {
        Self::from_bytes(ElemType::F64, shape, v.iter().flat_map(|x| x.to_le_bytes()))
    }
    pub fn from_i32(shape: &[usize], v: &[i32]) -> Self {
        Self::from_bytes(ElemType::I32, shape, v.iter().flat_map(|x| x.to_le_bytes()))
    }
    pub fn from_i64(shape: &[usize], v: &[i64]) -> Self {
        Self::from_bytes(ElemType::I64, shape, v.iter().flat_map(|x| x.to_le_bytes()))
    }

    fn from_bytes(elem: ElemType, shape: &[usize], bytes: impl Iterator<Item = u8>) -> Self {
        let mut b = Buffer::zeros(elem, shape);
        let dst = b.bytes_mut();
        let mut n = 0;
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d = s;
            n += 1;
        }
        assert_eq!(n, dst.len(), "buffer of shape {shape:?} needs {} elements", dst.len() / elem.size());
        b
    }

    /// Element `i` (row-major) as f64, whatever the element type.
    pub fn get_f64(&self, i: usize) -> f64 {
        let s = self.elem.size();
        let b = &self.bytes()[i * s..(i + 1) * s];
        match self.elem {
            ElemType::F32 => f32::from_le_bytes(b.try_into().unwrap()) as f64,
            ElemType::F64 => f64::from_le_bytes(b.try_into().unwrap()),
            ElemType::I32 => i32::from_le_bytes(b.try_into().unwrap()) as f64,
            ElemType::I64 | ElemType::Index => i64::from_le_bytes(b.try_into().unwrap()) as f64,
        }
    }

    /// Element `i` as i64 (integers only; floats truncate).
    pub fn get_i64(&self, i: usize) -> i64 {
        let s = self.elem.size();
        let b = &self.bytes()[i * s..(i + 1) * s];
        match self.elem {
            ElemType::I32 => i32::from_le_bytes(b.try_into().unwrap()) as i64,
            ElemType::I64 | ElemType::Index => i64::from_le_bytes(b.try_into().unwrap()),
            _ => self.get_f64(i) as i64,
        }
    }

    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get_f64(i)).collect()
    }

    pub fn to_i64_vec(&self) -> Vec<i64> {
        (0..self.len()).map(|i| self.get_i64(i)).collect()
    }

    /// Writes element `i` from its textual form.
    pub fn set_from_text(&mut self, i: usize, text: &str) -> Result<(), String> {
        let s = self.elem.size();
        let bad = || format!("'{text}' is not a valid {} value", self.elem.name());
        let bytes: Vec<u8> = match self.elem {
            ElemType::F32 => parse_float(text).ok_or_else(bad).map(|v| (v as f32).to_le_bytes().to_vec())?,
            ElemType::F64 => parse_float(text).ok_or_else(bad).map(|v| v.to_le_bytes().to_vec())?,
            ElemType::I32 => text.trim().parse::<i32>().map_err(|_| bad()).map(|v| v.to_le_bytes().to_vec())?,
            ElemType::I64 | ElemType::Index => {
                text.trim().parse::<i64>().map_err(|_| bad()).map(|v| v.to_le_bytes().to_vec())?
            }
        };
        self.bytes_mut()[i * s..(i + 1) * s].copy_from_slice(&bytes);
        Ok(())
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text.trim() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

/// One argument of a call: a buffer for tensor and memref parameters (and
/// for scalars, a rank-0 buffer).
pub type Arg = Buffer;

/// How to compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// The default pipeline's level, used unless `pipeline` is given.
    pub level: Level,
    /// A full `builtin.module(...)` pipeline instead of the level's.
    pub pipeline: Option<String>,
    /// LLVM's optimization level for the JIT (0..=3).
    pub jit_opt_level: i32,
    /// Shared libraries the JIT loads (e.g. MLIR's `c_runner_utils`).
    pub shared_libs: Vec<String>,
    /// `--strata-target`: `host`, or an LLVM CPU name with optional
    /// `,+feature,-feature` overrides. `None`: the module's own
    /// `strata.target` if it has one (IR from `strata-opt`), else
    /// `$STRATA_TARGET`'s, else the host.
    pub target: Option<String>,
    /// The default pipeline's race check (`--strata-races`).
    pub races: levels::Races,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { level: Level::O3, pipeline: None, jit_opt_level: 3, shared_libs: Vec::new(), target: None, races: levels::Races::Error }
    }
}

/// A compiled module, ready to call.
pub struct Kernel {
    engine: sys::MlirExecutionEngine,
    signatures: Vec<(String, Signature)>,
    /// Packed entry points looked up so far (a JIT lookup costs more than a
    /// small kernel's call).
    entries: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    remarks: Vec<String>,
    // Dropped after the engine (fields drop in order after `Drop::drop`).
    _module: Module<'static>,
    _context: Box<Context>,
}

// SAFETY: the engine and module are only used through `&self` calls that do
// not touch the MLIR context concurrently except for JIT'd code, which is
// thread-safe by construction (no shared state but its arguments).
unsafe impl Send for Kernel {}

impl Drop for Kernel {
    fn drop(&mut self) {
        // SAFETY: created in `compile`, destroyed once.
        unsafe { sys::mlirExecutionEngineDestroy(self.engine) }
    }
}

/// The signatures of every function in `module`, as written (before any
/// lowering changes them).
fn signatures(module: &Module) -> Vec<(String, Signature)> {
    let mut out = Vec::new();
    for op in ir::ops_in(module.body().to_raw()) {
        let name = ir::name(op);
        if name != "func.func" && name != "llvm.func" {
            continue;
        }
        let Some(sym) = ir::attribute(op, "sym_name") else { continue };
        // SAFETY: sym_name is a string attribute; function_type a type attribute.
        let sym = ir::string_of(unsafe { sys::mlirStringAttrGetValue(sym) });
        let Some(fty) = ir::attribute(op, "function_type") else { continue };
        let fty = unsafe { sys::mlirTypeAttrGetValue(fty) };
        let sig = if name == "func.func" {
            // SAFETY: a function type.
            let (ni, nr) = unsafe { (sys::mlirFunctionTypeGetNumInputs(fty), sys::mlirFunctionTypeGetNumResults(fty)) };
            let inputs: Result<Vec<_>, _> = (0..ni).map(|i| arg_type(unsafe { sys::mlirFunctionTypeGetInput(fty, i) })).collect();
            let results: Result<Vec<_>, _> =
                (0..nr).map(|i| arg_type(unsafe { sys::mlirFunctionTypeGetResult(fty, i) })).collect();
            match (inputs, results) {
                (Ok(inputs), Ok(results)) => Signature { inputs, results },
                // Not callable with buffers (e.g. dynamic shapes); it can
                // still be the target of `--entry-point-result`.
                _ => Signature { inputs: vec![], results: vec![] },
            }
        } else {
            // An LLVM-dialect function: only callable through the
            // mlir-runner-compatible entry point (no arguments).
            Signature { inputs: vec![], results: vec![] }
        };
        out.push((sym, sig));
    }
    out
}

fn arg_type(t: sys::MlirType) -> Result<ArgType, String> {
    let text = ir::print_type(t);
    // SAFETY: type queries on a live type.
    unsafe {
        if sys::mlirTypeIsARankedTensor(t) || sys::mlirTypeIsAMemRef(t) {
            if !sys::mlirShapedTypeHasStaticShape(t) {
                return Err(format!("type {text} has a dynamic shape"));
            }
            let (shape, elem) = ir::shape(t);
            let elem = ElemType::parse(&ir::print_type(elem)).ok_or_else(|| format!("unsupported element type in {text}"))?;
            let shape = shape.iter().map(|d| *d as usize).collect();
            let kind = if sys::mlirTypeIsAMemRef(t) { ArgKind::Memref(shape) } else { ArgKind::Tensor(shape) };
            return Ok(ArgType { elem, kind });
        }
    }
    ElemType::parse(&text).map(|elem| ArgType { elem, kind: ArgKind::Scalar }).ok_or_else(|| format!("unsupported type {text}"))
}

impl Kernel {
    /// Parses `source` (any level, from `strata` ops to the LLVM dialect),
    /// lowers it with the default pipeline (or `options.pipeline`) and JITs
    /// it. `source_name` names the file in diagnostics.
    pub fn compile(source: &str, source_name: &str, options: &CompileOptions) -> Result<Kernel, Error> {
        strata_passes::register_upstream_passes();
        let context = Box::new(strata_dialect::new_context());
        // SAFETY: the context is boxed and outlives the module and engine
        // (field order in `Kernel`), so 'static is never observed past it.
        let ctx: &'static Context = unsafe { &*(context.as_ref() as *const Context) };
        let collector = Collector::attach(ctx);
        // The first error as `FILE:LINE:COL: error: ` and its message.
        let first_error = |collector: &Collector| -> (String, String) {
            let diags = collector.take();
            match diags.iter().find(|d| d.severity == crate::diagnostics::Severity::Error) {
                Some(d) => {
                    let at = match &d.loc {
                        Some(l) => format!("{}:{}:{}", l.file, l.line, l.col),
                        None => source_name.to_string(),
                    };
                    (format!("{at}: error: "), d.message.clone())
                }
                None => (format!("{source_name}: error: "), "failed without a diagnostic".into()),
            }
        };
        let render = |collector: &Collector| -> String {
            let (at, message) = first_error(collector);
            format!("{at}{message}")
        };
        let module =
            strata_dialect::parse_module(ctx, source, source_name).ok_or_else(|| Error::Invalid(render(&collector)))?;
        let signatures = signatures(&module);
        let target = crate::target::for_module(module.as_operation().to_raw(), options.target.as_deref())
            .map_err(|e| Error::Target(e.to_string()))?;
        crate::target::check_executable(&target).map_err(|e| Error::Target(e.to_string()))?;
        target.attach(module.as_operation().to_raw());

        let pipeline = match &options.pipeline {
            Some(text) => Pipeline::parse(text).map_err(|e| Error::Pipeline(e.to_string()))?,
            None => levels::pipeline_with(options.level, options.races),
        };
        // One pass manager per step, so that a failure names its pass.
        for step in pipeline.steps().map_err(|e| Error::Pipeline(e.to_string()))? {
            let pm = PassManager::new(ctx);
            let one = Pipeline { anchor: pipeline.anchor.clone(), elements: vec![step.clone()] };
            one.add_to(&pm, "builtin.module").map_err(|e| Error::Pipeline(e.to_string()))?;
            // SAFETY: the module and the pass manager share the context.
            let ok = unsafe { sys::mlirPassManagerRunOnOp(pm.to_raw(), module.as_operation().to_raw()) }.value != 0;
            if !ok {
                let (at, message) = first_error(&collector);
                return Err(Error::Pipeline(format!("{at}pass '{}' failed: {message}", step.to_text())));
            }
        }

        // What the passes reported: warnings (a possible data race, say),
        // and remarks with `strata_passes::set_remarks`.
        let remarks: Vec<String> = collector
            .take()
            .iter()
            .filter(|d| matches!(d.severity, crate::diagnostics::Severity::Remark | crate::diagnostics::Severity::Warning))
            .map(|d| d.render(source_name, None).trim_end().to_string())
            .collect();
        apply_target(&module, &target)?;
        let mut libs = options.shared_libs.clone();
        if uses_openmp(&module) {
            libs.push(format!("{}/lib/libomp.so", llvm_prefix()));
        }
        let engine = create_engine(&module, options.jit_opt_level, &libs).map_err(|e| {
            if e.is_empty() {
                let (at, message) = first_error(&collector);
                Error::Jit(format!("{at}JIT compilation failed: {message}"))
            } else {
                Error::Jit(format!("JIT compilation failed: {e}"))
            }
        })?;
        Ok(Kernel { engine, signatures, entries: Default::default(), remarks, _module: module, _context: context })
    }

    /// The warnings and optimization remarks the passes emitted while
    /// compiling, as `FILE:LINE:COL: warning: ...` / `remark: ...` lines
    /// (remarks only when they were turned on), notes included.
    pub fn remarks(&self) -> &[String] {
        &self.remarks
    }

    /// The signature of `name`, as written in the source.
    pub fn signature(&self, name: &str) -> Result<&Signature, Error> {
        self.signatures.iter().find(|(n, _)| n == name).map(|(_, s)| s).ok_or_else(|| Error::NoFunction(name.into()))
    }

    /// Calls `name`. `args` are in order; memref arguments are updated in
    /// place. Returns the results (tensor results as new buffers, scalars
    /// as rank-0 buffers).
    pub fn call(&self, name: &str, args: &mut [Arg]) -> Result<Vec<Buffer>, Error> {
        let sig = self.signature(name)?;
        check_args(sig, args)?;
        let mut outs: Vec<Buffer> = sig.results.iter().map(|r| Buffer::zeros(r.elem, r.shape())).collect();
        let entry = self.lookup(name)?;
        self.invoke(entry, sig, args, &mut outs);
        Ok(outs)
    }

    /// Runs `name` `runs` times on the same arguments and returns each
    /// call's wall time, for `--benchmark`. The first call is a warm-up and
    /// not reported.
    pub fn time_calls(&self, name: &str, args: &mut [Arg], runs: usize) -> Result<Vec<std::time::Duration>, Error> {
        let sig = self.signature(name)?.clone();
        check_args(&sig, args)?;
        let mut outs: Vec<Buffer> = sig.results.iter().map(|r| Buffer::zeros(r.elem, r.shape())).collect();
        let entry = self.lookup(name)?;
        self.invoke(entry, &sig, args, &mut outs);
        Ok((0..runs)
            .map(|_| {
                let t = std::time::Instant::now();
                self.invoke(entry, &sig, args, &mut outs);
                t.elapsed()
            })
            .collect())
    }

    /// Calls a function of no arguments and returns its scalar result (or
    /// nothing), as `mlir-runner --entry-point-result` does.
    pub fn call_entry_point(&self, name: &str, result: Option<ElemType>) -> Result<Option<Buffer>, Error> {
        let entry = self.lookup(name)?;
        let mut out = result.map(|e| Buffer::zeros(e, &[]));
        let mut ptrs: Vec<*mut std::ffi::c_void> = Vec::new();
        if let Some(b) = out.as_mut() {
            ptrs.push(b.ptr() as *mut _);
        }
        // SAFETY: the packed wrapper reads one pointer per result.
        unsafe { entry(ptrs.as_mut_ptr()) };
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Result<unsafe extern "C" fn(*mut *mut std::ffi::c_void), Error> {
        let cached = self.entries.lock().ok().and_then(|m| m.get(name).copied());
        let f = match cached {
            Some(f) => f as *mut std::ffi::c_void,
            // SAFETY: a live engine; the name outlives the call.
            None => unsafe { sys::mlirExecutionEngineLookupPacked(self.engine, ir::sref(name)) },
        };
        if !f.is_null() {
            if let Ok(mut m) = self.entries.lock() {
                m.insert(name.to_string(), f as usize);
            }
        }
        if f.is_null() {
            return Err(if self.signatures.iter().any(|(n, _)| n == name) {
                Error::Link(name.into())
            } else {
                Error::NoFunction(name.into())
            });
        }
        // SAFETY: MLIR's packed wrappers have this type.
        Ok(unsafe { std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn(*mut *mut std::ffi::c_void)>(f) })
    }

    fn invoke(
        &self,
        entry: unsafe extern "C" fn(*mut *mut std::ffi::c_void),
        sig: &Signature,
        args: &mut [Arg],
        outs: &mut [Buffer],
    ) {
        // Descriptor fields must stay at stable addresses while we hand out
        // pointers to them: allocate all slots first.
        let mut slots: Vec<Vec<i64>> = Vec::new();
        let mut scalar_results: Vec<usize> = Vec::new();
        let push_descriptor = |b: &mut Buffer, slots: &mut Vec<Vec<i64>>| {
            let p = b.ptr() as i64;
            let mut d = vec![p, p, 0];
            d.extend(b.shape.iter().map(|s| *s as i64));
            let mut stride = 1i64;
            let mut strides = vec![0i64; b.shape.len()];
            for (i, s) in b.shape.iter().enumerate().rev() {
                strides[i] = stride;
                stride *= *s as i64;
            }
            d.extend(strides);
            slots.push(d);
        };
        for (a, t) in args.iter_mut().zip(&sig.inputs) {
            if t.is_buffer() {
                push_descriptor(a, &mut slots);
            } else {
                slots.push(vec![]); // the scalar lives in the buffer itself
            }
        }
        for (i, (o, t)) in outs.iter_mut().zip(&sig.results).enumerate() {
            if t.is_buffer() {
                push_descriptor(o, &mut slots);
            } else {
                scalar_results.push(i);
            }
        }
        let mut ptrs: Vec<*mut std::ffi::c_void> = Vec::new();
        let mut slot = slots.iter_mut();
        for (a, t) in args.iter_mut().zip(&sig.inputs) {
            let s = slot.next().expect("one slot per argument");
            if t.is_buffer() {
                ptrs.extend(s.iter_mut().map(|x| x as *mut i64 as *mut std::ffi::c_void));
            } else {
                ptrs.push(a.ptr() as *mut _);
            }
        }
        for t in &sig.results {
            if t.is_buffer() {
                let s = slot.next().expect("one slot per out-parameter");
                ptrs.extend(s.iter_mut().map(|x| x as *mut i64 as *mut std::ffi::c_void));
            }
        }
        for i in scalar_results {
            ptrs.push(outs[i].ptr() as *mut _);
        }
        // SAFETY: `ptrs` holds one pointer per LLVM-level argument of the
        // lowered function (descriptor fields, scalars) then one per scalar
        // result, all live for the call; checked against the signature.
        unsafe { entry(ptrs.as_mut_ptr()) };
    }
}

fn check_args(sig: &Signature, args: &[Arg]) -> Result<(), Error> {
    if args.len() != sig.inputs.len() {
        return Err(Error::Arguments(format!(
            "the function takes {} argument(s), {} given",
            sig.inputs.len(),
            args.len()
        )));
    }
    for (i, (a, t)) in args.iter().zip(&sig.inputs).enumerate() {
        if a.elem != t.elem || a.shape != t.shape() {
            let dims: String = a.shape.iter().map(|d| format!("{d}x")).collect();
            return Err(Error::Arguments(format!(
                "argument #{i} is {dims}{}, but the function takes {t}",
                a.elem.name()
            )));
        }
    }
    Ok(())
}


/// Gives every function the target's CPU and its whole feature list, so
/// that LLVM generates code for the target rather than for the host the
/// ExecutionEngine's target machine describes (a function's
/// `target-features` replace the machine's). On 512-bit targets, also lets
/// LLVM keep 512-bit vectors whole: its default tuning for these CPUs
/// prefers 256-bit vectors and splits every 512-bit operation in two
/// unless a function asks for more, which halves the throughput of the
/// vector code `strata-vectorize` emits.
fn apply_target(module: &Module, target: &crate::target::Target) -> Result<(), Error> {
    let features = crate::target::all_features(target).map_err(|e| Error::Target(e.to_string()))?;
    let b = ir::Builder::of_op(module.as_operation().to_raw());
    let quoted: Vec<String> = features.iter().map(|f| format!("\"{f}\"")).collect();
    let features_attr = b.attr(&format!("#llvm.target_features<[{}]>", quoted.join(", ")));
    // SAFETY: builds a string attribute in the module's context.
    let cpu_attr = unsafe {
        sys::mlirStringAttrGet(sys::mlirOperationGetContext(module.as_operation().to_raw()), ir::sref(&target.cpu))
    };
    let wide = b.attr(r#"[["prefer-vector-width", "512"], ["min-legal-vector-width", "512"]]"#);
    for op in ir::walk(module.as_operation().to_raw()) {
        // SAFETY: a live op; only functions with a body are annotated.
        let has_body = unsafe { sys::mlirOperationGetNumRegions(op) } == 1
            && !ir::first_block(ir::region(op, 0)).ptr.is_null();
        if ir::name(op) != "llvm.func" || !has_body {
            continue;
        }
        ir::set_attribute(op, "target_cpu", cpu_attr);
        ir::set_attribute(op, "target_features", features_attr);
        if target.vector_bits == 512 && ir::attribute(op, "passthrough").is_none() {
            ir::set_attribute(op, "passthrough", wide);
        }
    }
    Ok(())
}

fn uses_openmp(module: &Module) -> bool {
    ir::walk(module.as_operation().to_raw()).iter().any(|op| ir::name(*op).starts_with("omp."))
}

/// The LLVM prefix the project is built against (from `.cargo/config.toml`
/// at build time).
pub fn llvm_prefix() -> &'static str {
    env!("STRATA_LLVM_PREFIX")
}

fn create_engine(module: &Module, opt_level: i32, libs: &[String]) -> Result<sys::MlirExecutionEngine, String> {
    for lib in libs {
        if !std::path::Path::new(lib).exists() {
            return Err(format!("shared library '{lib}' does not exist"));
        }
    }
    // MLIR reads each path as a C string: keep the NUL after each.
    let cpaths: Vec<CString> = libs.iter().map(|l| CString::new(l.as_str()).unwrap_or_default()).collect();
    let refs: Vec<sys::MlirStringRef> =
        cpaths.iter().map(|c| sys::MlirStringRef { data: c.as_ptr(), length: c.as_bytes().len() }).collect();
    // SAFETY: the module is in the LLVM dialect (or fails translation and
    // yields null); `refs` outlive the call.
    let engine = unsafe {
        sys::mlirExecutionEngineCreate(module.to_raw(), opt_level.clamp(0, 3), refs.len() as i32, refs.as_ptr(), false, false)
    };
    if engine.ptr.is_null() {
        return Err(String::new());
    }
    // Kernels allocate through the runtime's counting allocator, so tests
    // can see leaks and peak memory. Bound before anything is looked up.
    let symbols: [(&str, *mut std::ffi::c_void); 3] = [
        ("malloc", strata_runtime::alloc::strata_malloc as *mut std::ffi::c_void),
        ("free", strata_runtime::alloc::strata_free as *mut std::ffi::c_void),
        (
            strata_passes::outline_parallel::ENTRY,
            strata_runtime::pool::strata_parallel_for as *mut std::ffi::c_void,
        ),
    ];
    for (name, f) in symbols {
        // SAFETY: a live engine; both functions have C's signatures.
        unsafe { sys::mlirExecutionEngineRegisterSymbol(engine, ir::sref(name), f) };
    }
    // SAFETY: runs the module's global constructors, if any.
    unsafe { sys::mlirExecutionEngineInitialize(engine) };

    Ok(engine)
}
