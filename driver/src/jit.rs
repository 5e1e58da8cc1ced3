//! The library API: compile MLIR text, JIT it, call a function with typed
//! buffers, read the results.
//!
//! ```
//! use strata_driver::jit::{Buffer, CompileOptions, Error, Kernel};
//!
//! let source = r#"
//!   func.func @main(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>) -> tensor<2x2xf32> {
//!     %r = strata.matmul %a, %b : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
//!     return %r : tensor<2x2xf32>
//!   }"#;
//! let kernel = Kernel::compile(source, "matmul.mlir", &CompileOptions::default())?;
//! let mut args = [
//!     Buffer::from_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0])?,
//!     Buffer::from_f32(&[2, 2], &[1.0, 0.0, 0.0, 1.0])?,
//! ];
//! let results = kernel.call("main", &mut args)?;
//! assert_eq!(results[0].to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
//! assert_eq!(results[0].get_f64(3)?, 4.0);
//!
//! // Mistakes are errors, not crashes.
//! let wrong = kernel.call("main", &mut [Buffer::from_f32(&[1], &[0.0])?]);
//! assert_eq!(wrong.unwrap_err().to_string(), "the function takes 2 argument(s), 1 given");
//! assert!(matches!(Buffer::from_f32(&[2, 2], &[1.0]), Err(Error::BufferLength { expected: 4, given: 1, .. })));
//! assert!(matches!(results[0].get_f64(4), Err(Error::OutOfRange { index: 4, len: 4 })));
//! # Ok::<(), strata_driver::jit::Error>(())
//! ```
//!
//! Calling convention (what `strata-lower-to-affine` produces): tensor and
//! memref arguments are passed as memref descriptors over the caller's
//! buffers; every tensor or memref *result* is a trailing out-parameter the
//! caller allocates (the kernel writes it in place); scalar results are
//! returned (several as one struct). Before the first call of a function,
//! the lowered `llvm.func` is checked against this convention, so a
//! mismatch is an error rather than a wild read. Functions are called by
//! the signature `strata-lower-to-affine` records (`strata.signature`), so
//! the output of `strata-opt` at any level is called as its source was.
//! The JIT is MLIR's `ExecutionEngine`, driven through `mlir_sys` because
//! melior's wrapper ignores a failed creation.

use std::{ffi::CString, fmt};

use melior::{
    ir::Module,
    Context,
};
use mlir_sys as sys;
use strata_passes::{
    ir,
    levels::{self, Level},
    pipeline::{Element, Pipeline},
};

use crate::diagnostics::Collector;

/// Errors of the library API, each one line. Variants carry what went
/// wrong as fields; the messages are what the tools print.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// Parse or verification failed; the diagnostics, rendered.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Pipeline(String),
    /// The IR after the pipeline does not verify (the fast path, which then
    /// compiles again to name the step; never returned by `compile`).
    #[error("{0}")]
    Unverified(String),
    #[error("no function named '{0}' in the module")]
    NoFunction(String),
    #[error("the function takes {expected} argument(s), {given} given")]
    ArgumentCount { expected: usize, given: usize },
    /// `given` is the buffer's type as `DIMSxTYPE`.
    #[error("argument #{index} is {given}, but the function takes {expected}")]
    ArgumentType { index: usize, expected: ArgType, given: String },
    /// A parameter or result of a type buffers cannot carry (a dynamic
    /// shape, an element type other than f32/f64/i32/i64, a vector, ...).
    #[error("{slot} #{index} of '{function}' has unsupported type {ty}: {reason}")]
    UnsupportedType { function: String, slot: Slot, index: usize, ty: String, reason: String },
    /// An LLVM-dialect function whose source types were not recorded, and
    /// whose LLVM types (pointers) do not say its buffers' shapes.
    #[error(
        "'{function}' is an LLVM-dialect function without a recorded signature (strata.signature), and its \
         parameters ({params}) do not say its buffers' shapes: compile it from a higher level"
    )]
    UnknownSignature { function: String, params: String },
    /// The lowered function does not take what the calling convention
    /// passes for its signature (a pipeline that kept memref results).
    #[error(
        "'{function}' cannot be called as {signature}: it was lowered to ({found}) but the calling convention \
         passes ({expected}); results must become out-parameters (strata-lower-to-affine)"
    )]
    CallingConvention { function: String, signature: String, expected: String, found: String },
    #[error("'{function}' takes {count} argument(s): JIT can't invoke a main function expecting arguments")]
    EntryPointArguments { function: String, count: usize },
    #[error("'{function}' returns {found}: only single {expected} function result supported")]
    EntryPointResult { function: String, expected: &'static str, found: String },
    #[error("'{function}' returns {found}: expected void function")]
    EntryPointVoid { function: String, found: String },
    #[error("out of memory: cannot allocate {bytes} bytes")]
    Alloc { bytes: u128 },
    #[error("shared library '{path}' {reason}")]
    BadSharedLib { path: String, reason: String },
    #[error("a buffer of shape {shape:?} holds {expected} element(s), {given} given")]
    BufferLength { shape: Vec<usize>, expected: usize, given: usize },
    #[error("element {index} is out of range: the buffer holds {len}")]
    OutOfRange { index: usize, len: usize },
    #[error("{0}")]
    Jit(String),
    /// The target is unknown, or this host cannot execute it.
    #[error("{0}")]
    Target(String),
    #[error("function '{0}' cannot be linked (a symbol it needs is missing: see the JIT's message above)")]
    Link(String),
}

/// Which side of a signature a type is on, in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Parameter,
    Result,
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Slot::Parameter => "parameter",
            Slot::Result => "result",
        })
    }
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
    /// Cache-line aligned storage, `len() * elem.size()` bytes used: the
    /// kernels' widest vector stores (and streaming stores, which must be
    /// aligned) find their rows on vector boundaries.
    words: Vec<Line>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
struct Line([u8; 64]);

const ZERO_LINE: Line = Line([0; 64]);

/// `lines` zero lines, their pages advised as huge pages before the zeros
/// touch them (see `strata_runtime::alloc`): a kernel's inputs and outputs
/// are then on the same pages as its temporaries, and as NumPy's arrays.
/// `None` if they cannot be allocated.
fn zero_lines(lines: usize) -> Option<Vec<Line>> {
    let mut v: Vec<Line> = Vec::new();
    v.try_reserve_exact(lines).ok()?;
    strata_runtime::alloc::advise_huge_pages(v.as_mut_ptr() as *mut u8, lines * 64);
    v.resize(lines, ZERO_LINE);
    Some(v)
}

impl Buffer {
    /// A zero-filled buffer. Aborts if memory runs out, as `Vec` does;
    /// [`Buffer::try_zeros`] returns an error instead.
    pub fn zeros(elem: ElemType, shape: &[usize]) -> Self {
        let n: usize = shape.iter().product();
        let lines = (n * elem.size()).div_ceil(64).max(1);
        let words = zero_lines(lines).unwrap_or_else(|| {
            // Out of memory ends the process, as `vec!` does.
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<Line>(lines).expect("a buffer's size overflows"))
        });
        Buffer { elem, shape: shape.to_vec(), words }
    }

    /// A zero-filled buffer, or [`Error::Alloc`] if its bytes cannot be
    /// allocated (or do not fit in the address space).
    pub fn try_zeros(elem: ElemType, shape: &[usize]) -> Result<Self, Error> {
        let bytes = shape.iter().fold(elem.size() as u128, |a, d| a.saturating_mul(*d as u128));
        let lines = usize::try_from(bytes.div_ceil(64).max(1))
            .ok()
            .filter(|w| w.checked_mul(64).is_some_and(|b| b <= isize::MAX as usize))
            .ok_or(Error::Alloc { bytes })?;
        let words = zero_lines(lines).ok_or(Error::Alloc { bytes })?;
        Ok(Buffer { elem, shape: shape.to_vec(), words })
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the lines viewed as bytes, within their length.
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

    /// A buffer of `shape` holding `v` (row-major); an error unless `v`
    /// has exactly as many elements as the shape.
    pub fn from_f32(shape: &[usize], v: &[f32]) -> Result<Self, Error> {
        Self::from_bytes(ElemType::F32, shape, v.len(), v.iter().flat_map(|x| x.to_le_bytes()))
    }
    pub fn from_f64(shape: &[usize], v: &[f64]) -> Result<Self, Error> {
        Self::from_bytes(ElemType::F64, shape, v.len(), v.iter().flat_map(|x| x.to_le_bytes()))
    }
    pub fn from_i32(shape: &[usize], v: &[i32]) -> Result<Self, Error> {
        Self::from_bytes(ElemType::I32, shape, v.len(), v.iter().flat_map(|x| x.to_le_bytes()))
    }
    pub fn from_i64(shape: &[usize], v: &[i64]) -> Result<Self, Error> {
        Self::from_bytes(ElemType::I64, shape, v.len(), v.iter().flat_map(|x| x.to_le_bytes()))
    }

    fn from_bytes(elem: ElemType, shape: &[usize], given: usize, bytes: impl Iterator<Item = u8>) -> Result<Self, Error> {
        let expected = shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
        if expected != Some(given) {
            let expected = expected.unwrap_or(usize::MAX);
            return Err(Error::BufferLength { shape: shape.to_vec(), expected, given });
        }
        let mut b = Buffer::try_zeros(elem, shape)?;
        for (d, s) in b.bytes_mut().iter_mut().zip(bytes) {
            *d = s;
        }
        Ok(b)
    }

    /// The bytes of element `i`, or an error past the end.
    fn element(&self, i: usize) -> Result<&[u8], Error> {
        let len = self.len();
        if i >= len {
            return Err(Error::OutOfRange { index: i, len });
        }
        let s = self.elem.size();
        Ok(&self.bytes()[i * s..(i + 1) * s])
    }

    /// Element `i` (row-major) as f64, whatever the element type; an error
    /// if `i` is out of range.
    pub fn get_f64(&self, i: usize) -> Result<f64, Error> {
        // `element` returns exactly the element's size in bytes.
        let b = self.element(i)?;
        Ok(match self.elem {
            ElemType::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
            ElemType::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
            ElemType::I32 => i32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
            ElemType::I64 | ElemType::Index => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64,
        })
    }

    /// Element `i` as i64 (integers only; floats truncate); an error if
    /// `i` is out of range.
    pub fn get_i64(&self, i: usize) -> Result<i64, Error> {
        let b = self.element(i)?;
        Ok(match self.elem {
            ElemType::I32 => i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64,
            ElemType::I64 | ElemType::Index => i64::from_le_bytes(b.try_into().expect("8 bytes")),
            _ => self.get_f64(i)? as i64,
        })
    }

    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get_f64(i).expect("in range")).collect()
    }

    pub fn to_i64_vec(&self) -> Vec<i64> {
        (0..self.len()).map(|i| self.get_i64(i).expect("in range")).collect()
    }

    /// Writes element `i` from its textual form.
    pub fn set_from_text(&mut self, i: usize, text: &str) -> Result<(), String> {
        self.element(i).map_err(|e| e.to_string())?;
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
    /// Keep the JIT's object code, for [`Kernel::dump_object_file`]
    /// (mlir-runner's `-dump-object-file`).
    pub keep_object: bool,
    /// Use a configuration `strata-tune` cached for this kernel, target and
    /// thread count (`--strata-tuning=on|off`); default pipelines only.
    pub tuning: bool,
    /// Time each top-level op (`strata-instrument-timers` right before
    /// `strata-lower-to-llvm`); the times are `strata_runtime::timers`'s.
    pub time_ops: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            level: Level::O3,
            pipeline: None,
            jit_opt_level: 3,
            shared_libs: Vec::new(),
            target: None,
            races: levels::Races::Error,
            keep_object: false,
            tuning: true,
            time_ops: false,
        }
    }
}

/// A compiled module, ready to call.
pub struct Kernel {
    engine: sys::MlirExecutionEngine,
    signatures: Vec<Function>,
    /// Packed entry points looked up so far (a JIT lookup costs more than a
    /// small kernel's call), and whether the lowered function was checked
    /// against its signature's calling convention.
    entries: std::sync::Mutex<std::collections::HashMap<String, (usize, bool)>>,
    remarks: Vec<String>,
    // Dropped after the engine (fields drop in order after `Drop::drop`).
    _module: Module<'static>,
    _context: Box<Context>,
}

// SAFETY: the engine and module are only used through `&self` calls that do
// not touch the MLIR context concurrently except for JIT'd code, which is
// thread-safe by construction (no shared state but its arguments).
unsafe impl Send for Kernel {}
// SAFETY: every `&self` method is safe from several threads at once (the
// Python binding calls one kernel from many): the signatures and remarks
// are read-only, the entry-point cache is behind a mutex, the first lookup
// of a function reads the lowered module without changing it (as MLIR's
// threaded pass manager reads IR) and ORC's lookups are thread-safe, and
// JIT'd code touches only its arguments, the counting allocator (atomics)
// and the pool (which admits one dispatcher and runs the others inline).
unsafe impl Sync for Kernel {}

impl Drop for Kernel {
    fn drop(&mut self) {
        // SAFETY: created in `compile`, destroyed once.
        unsafe { sys::mlirExecutionEngineDestroy(self.engine) }
    }
}

/// A function of the module, as written (before any lowering changes it).
#[derive(Clone, Debug)]
struct Function {
    name: String,
    /// Parameter and result types in MLIR syntax (an LLVM-dialect
    /// function's LLVM types, unless it records its source signature).
    params: Vec<String>,
    results: Vec<String>,
    /// What calls with buffers use, or why the function cannot take them.
    sig: Result<Signature, Error>,
}

/// The functions of `module` (`func.func`, and `llvm.func` with a body).
fn functions(module: &Module) -> Vec<Function> {
    let mut out = Vec::new();
    for op in ir::ops_in(module.body().to_raw()) {
        let name = ir::name(op);
        if name != "func.func" && name != "llvm.func" {
            continue;
        }
        let Some(sym) = ir::symbol_name(op) else { continue };
        // `strata-lower-to-affine` records the source signature, which
        // survives every later step; a function lowered part or all of the
        // way (its results now out-parameters) is called by it, as its
        // source was.
        let fty = match ir::attribute(op, "strata.signature").or_else(|| ir::attribute(op, "function_type")) {
            Some(a) => a,
            None => continue,
        };
        // SAFETY: both attributes are type attributes (verified IR).
        let fty = unsafe { sys::mlirTypeAttrGetValue(fty) };
        // SAFETY: type queries on a live type.
        let f = if unsafe { sys::mlirTypeIsAFunction(fty) } {
            source_function(sym, fty)
        } else {
            llvm_function(sym, fty)
        };
        out.push(f);
    }
    out
}

fn source_function(name: String, fty: sys::MlirType) -> Function {
    // SAFETY: a function type.
    let (ni, nr) = unsafe { (sys::mlirFunctionTypeGetNumInputs(fty), sys::mlirFunctionTypeGetNumResults(fty)) };
    let params: Vec<sys::MlirType> = (0..ni).map(|i| unsafe { sys::mlirFunctionTypeGetInput(fty, i) }).collect();
    let results: Vec<sys::MlirType> = (0..nr).map(|i| unsafe { sys::mlirFunctionTypeGetResult(fty, i) }).collect();
    let convert = |slot: Slot, types: &[sys::MlirType]| -> Result<Vec<ArgType>, Error> {
        types
            .iter()
            .enumerate()
            .map(|(index, t)| {
                arg_type(*t).map_err(|reason| Error::UnsupportedType {
                    function: name.clone(),
                    slot,
                    index,
                    ty: ir::print_type(*t),
                    reason,
                })
            })
            .collect()
    };
    let sig = convert(Slot::Parameter, &params)
        .and_then(|inputs| Ok(Signature { inputs, results: convert(Slot::Result, &results)? }));
    Function {
        params: params.iter().map(|t| ir::print_type(*t)).collect(),
        results: results.iter().map(|t| ir::print_type(*t)).collect(),
        sig,
        name,
    }
}

/// An LLVM-dialect function without a recorded signature: callable with
/// buffers only if every type is a scalar (pointers hide shapes).
fn llvm_function(name: String, fty: sys::MlirType) -> Function {
    // SAFETY: an LLVM function type (what llvm.func's verifier requires).
    let n = unsafe { sys::mlirLLVMFunctionTypeGetNumInputs(fty) };
    let params: Vec<String> = (0..n).map(|i| ir::print_type(unsafe { sys::mlirLLVMFunctionTypeGetInput(fty, i) })).collect();
    let ret = ir::print_type(unsafe { sys::mlirLLVMFunctionTypeGetReturnType(fty) });
    let results: Vec<String> = if ret == "!llvm.void" { vec![] } else { vec![ret] };
    let scalar = |t: &String| ElemType::parse(t).filter(|e| *e != ElemType::Index);
    let sig = match (params.iter().map(scalar).collect::<Option<Vec<_>>>(), results.iter().map(scalar).collect::<Option<Vec<_>>>()) {
        (Some(inputs), Some(results)) => Ok(Signature {
            inputs: inputs.into_iter().map(|elem| ArgType { elem, kind: ArgKind::Scalar }).collect(),
            results: results.into_iter().map(|elem| ArgType { elem, kind: ArgKind::Scalar }).collect(),
        }),
        _ => Err(Error::UnknownSignature { function: name.clone(), params: params.join(", ") }),
    };
    Function { name, params, results, sig }
}

/// The type a buffer or scalar argument carries, or why none can.
fn arg_type(t: sys::MlirType) -> Result<ArgType, String> {
    let text = ir::print_type(t);
    let elements = "element types are f32, f64, i32, i64 and index";
    // SAFETY: type queries on a live type.
    unsafe {
        if sys::mlirTypeIsARankedTensor(t) || sys::mlirTypeIsAMemRef(t) {
            if !sys::mlirShapedTypeHasStaticShape(t) {
                return Err("its shape is not static".into());
            }
            let (shape, elem) = ir::shape(t);
            let elem_text = ir::print_type(elem);
            let elem = ElemType::parse(&elem_text)
                .ok_or_else(|| format!("element type {elem_text} is not supported ({elements})"))?;
            let shape = shape.iter().map(|d| *d as usize).collect();
            let kind = if sys::mlirTypeIsAMemRef(t) { ArgKind::Memref(shape) } else { ArgKind::Tensor(shape) };
            return Ok(ArgType { elem, kind });
        }
        if sys::mlirTypeIsAVector(t) {
            return Err("vectors cannot be passed (pass a tensor or memref of static shape)".into());
        }
        if sys::mlirTypeIsAShaped(t) {
            return Err("it is unranked (pass a tensor or memref of static shape)".into());
        }
    }
    ElemType::parse(&text)
        .map(|elem| ArgType { elem, kind: ArgKind::Scalar })
        .ok_or_else(|| "scalars are f32, f64, i32, i64 and index".to_string())
}

impl Kernel {
    /// Parses `source` (any level, from `strata` ops to the LLVM dialect),
    /// lowers it with the default pipeline (or `options.pipeline`) and JITs
    /// it. `source_name` names the file in diagnostics.
    pub fn compile(source: &str, source_name: &str, options: &CompileOptions) -> Result<Kernel, Error> {
        match Self::compile_verifying(source, source_name, options, false) {
            // Compiled again verifying after every step, to name the step
            // that broke the IR (rare: the fast path verifies once).
            Err(Error::Unverified(_)) => Self::compile_verifying(source, source_name, options, true),
            other => other,
        }
    }

    /// [`Kernel::compile`], verifying the IR after every step of the
    /// pipeline (`each`) or once after the last.
    fn compile_verifying(source: &str, source_name: &str, options: &CompileOptions, each: bool) -> Result<Kernel, Error> {
        check_shared_libs(&options.shared_libs)?;
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
        let signatures = functions(&module);
        let target = crate::target::for_module(module.as_operation().to_raw(), options.target.as_deref())
            .map_err(|e| Error::Target(e.to_string()))?;
        crate::target::check_executable(&target).map_err(|e| Error::Target(e.to_string()))?;
        target.attach(module.as_operation().to_raw());

        let mut pipeline = match &options.pipeline {
            Some(text) => Pipeline::parse(text).map_err(|e| Error::Pipeline(e.to_string()))?,
            None => levels::pipeline_with(options.level, options.races),
        };
        // The timers go on the final loops, before they become LLVM's.
        if options.time_ops {
            if let Some(at) = pipeline.elements.iter().rposition(|e| matches!(e, Element::Pass { name, .. } if name == "strata-lower-to-llvm")) {
                let timers = Element::Pass { name: strata_passes::instrument_timers::INFO.argument.into(), options: String::new() };
                pipeline.elements.insert(at, timers);
            }
        }
        // One pass manager per step, so that a failure names its pass. The
        // IR is verified once, after the last step, as `--verify-each=false`
        // does: verifying after each of ~30 steps was half the pass time of
        // an 8,000-op chain, and a step that fails still says so itself.
        let mut steps = pipeline.steps().map_err(|e| Error::Pipeline(e.to_string()))?;
        // At the tuning point, a cached configuration replaces the rest of
        // a default pipeline by the same passes with its options.
        let mut consult = options.tuning && options.pipeline.is_none() && options.level >= Level::O2;
        let mut tuning_warning = None;
        for i in 0..steps.len() {
            if consult && crate::tune::is_tuning_point(&steps[i]) {
                consult = false;
                let found = crate::tune::consult(module.as_operation().to_raw(), strata_runtime::pool::threads());
                tuning_warning = found.warning;
                if let Some(tuned) = found.entry.as_ref().and_then(|e| crate::tune::tuned_steps(&pipeline, e)) {
                    if tuned.len() == steps.len() && tuned[..i] == steps[..i] {
                        if strata_passes::remarks_enabled() {
                            let text = crate::tune::remark_text(found.entry.as_ref().expect("found"));
                            strata_dialect::emit_remark(crate::tune::remark_location(module.as_operation().to_raw()), &text);
                        }
                        steps = tuned;
                    }
                }
            }
            let step = &steps[i];
            let pm = strata_passes::pipeline::module_pass_manager(ctx);
            // SAFETY: a live pass manager.
            unsafe { sys::mlirPassManagerEnableVerifier(pm.to_raw(), each) };
            let one = Pipeline { anchor: pipeline.anchor.clone(), elements: vec![step.clone()] };
            one.add_to(&pm, "builtin.module").map_err(|e| Error::Pipeline(e.to_string()))?;
            // SAFETY: the module and the pass manager share the context.
            let ok = unsafe { sys::mlirPassManagerRunOnOp(pm.to_raw(), module.as_operation().to_raw()) }.value != 0;
            if !ok {
                let (at, message) = first_error(&collector);
                return Err(Error::Pipeline(format!("{at}pass '{}' failed: {message}", step.to_text())));
            }
        }
        // Invalid IR must never reach the translation to LLVM IR.
        // SAFETY: a live module; diagnostics go to the collector.
        if !unsafe { sys::mlirOperationVerify(module.as_operation().to_raw()) } {
            let (at, message) = first_error(&collector);
            return Err(Error::Unverified(format!("{at}the IR after the pipeline does not verify: {message}")));
        }

        // What the passes reported: warnings (a possible data race, say),
        // and remarks with `strata_passes::set_remarks`.
        let remarks: Vec<String> = collector
            .take()
            .iter()
            .filter(|d| matches!(d.severity, crate::diagnostics::Severity::Remark | crate::diagnostics::Severity::Warning))
            .map(|d| d.render(source_name, None).trim_end().to_string())
            .chain(tuning_warning)
            .collect();
        apply_target(&module, &target)?;
        let mut libs = options.shared_libs.clone();
        if uses_openmp(&module) {
            libs.push(format!("{}/lib/libomp.so", llvm_prefix()));
        }
        let engine = create_engine(&module, options.jit_opt_level, &libs, options.keep_object).map_err(|e| {
            if e.is_empty() {
                let (at, message) = first_error(&collector);
                Error::Jit(format!("{at}JIT compilation failed: {message}"))
            } else {
                Error::Jit(format!("JIT compilation failed: {e}"))
            }
        })?;
        Ok(Kernel { engine, signatures, entries: Default::default(), remarks, _module: module, _context: context })
    }

    /// Writes the object code the JIT made to `path` (compiled with
    /// `keep_object`; functions not yet called may be missing, as in
    /// mlir-runner, which dumps after the call).
    pub fn dump_object_file(&self, path: &str) {
        // SAFETY: a live engine; the path outlives the call.
        unsafe { sys::mlirExecutionEngineDumpToObjectFile(self.engine, ir::sref(path)) }
    }

    /// The warnings and optimization remarks the passes emitted while
    /// compiling, as `FILE:LINE:COL: warning: ...` / `remark: ...` lines
    /// (remarks only when they were turned on), notes included.
    pub fn remarks(&self) -> &[String] {
        &self.remarks
    }

    /// The signature of `name`, as written in the source; an error if it
    /// has a type buffers cannot carry.
    pub fn signature(&self, name: &str) -> Result<&Signature, Error> {
        self.function(name)?.sig.as_ref().map_err(Clone::clone)
    }

    fn function(&self, name: &str) -> Result<&Function, Error> {
        self.signatures.iter().find(|f| f.name == name).ok_or_else(|| Error::NoFunction(name.into()))
    }

    /// Calls `name`. `args` are in order; memref arguments are updated in
    /// place. Returns the results (tensor results as new buffers, scalars
    /// as rank-0 buffers).
    pub fn call(&self, name: &str, args: &mut [Arg]) -> Result<Vec<Buffer>, Error> {
        let sig = self.signature(name)?;
        check_args(sig, args)?;
        let mut outs = sig.results.iter().map(|r| Buffer::try_zeros(r.elem, r.shape())).collect::<Result<Vec<_>, _>>()?;
        let entry = self.checked_entry(name, sig)?;
        // SAFETY: buffers of the signature's types (checked), owned here.
        unsafe { self.invoke(entry, sig, &pointers(args), &pointers(&mut outs)) };
        Ok(outs)
    }

    /// Calls `name` on memory the caller owns, without copying: `args[i]`
    /// holds the i-th parameter's elements and `outs[j]` receives the j-th
    /// result's, row-major, of the signature's shape and element type (a
    /// scalar is one element). Only the counts are checked here.
    ///
    /// # Safety
    /// Each pointer must be aligned to its element size and valid for the
    /// whole call: `args[i]` for reads (and writes, for memref parameters)
    /// of its parameter's bytes, `outs[j]` for writes of its result's, and
    /// no out-pointer may overlap another pointer's bytes.
    pub unsafe fn call_raw(&self, name: &str, args: &[*mut u8], outs: &[*mut u8]) -> Result<(), Error> {
        let sig = self.signature(name)?;
        if args.len() != sig.inputs.len() {
            return Err(Error::ArgumentCount { expected: sig.inputs.len(), given: args.len() });
        }
        if outs.len() != sig.results.len() {
            return Err(Error::Jit(format!("'{name}' has {} result(s), {} given room", sig.results.len(), outs.len())));
        }
        let entry = self.checked_entry(name, sig)?;
        // SAFETY: the caller's contract.
        unsafe { self.invoke(entry, sig, args, outs) };
        Ok(())
    }

    /// Runs `name` `runs` times on the same arguments and returns each
    /// call's wall time, for `--benchmark`. The first call is a warm-up and
    /// not reported.
    pub fn time_calls(&self, name: &str, args: &mut [Arg], runs: usize) -> Result<Vec<std::time::Duration>, Error> {
        let mut times = Vec::with_capacity(runs);
        self.time_calls_then(name, args, runs, |i, t| {
            if i > 0 {
                times.push(t);
            }
        })?;
        Ok(times)
    }

    /// [`Kernel::time_calls`], calling `after(i, wall time)` after each
    /// call, the warm-up's (`i = 0`) too: for what the call left behind
    /// (the run-time timers' table).
    pub fn time_calls_then(
        &self,
        name: &str,
        args: &mut [Arg],
        runs: usize,
        mut after: impl FnMut(usize, std::time::Duration),
    ) -> Result<(), Error> {
        let sig = self.signature(name)?.clone();
        check_args(&sig, args)?;
        let mut outs = sig.results.iter().map(|r| Buffer::try_zeros(r.elem, r.shape())).collect::<Result<Vec<_>, _>>()?;
        let entry = self.checked_entry(name, &sig)?;
        let (args, outs) = (pointers(args), pointers(&mut outs));
        for i in 0..=runs {
            let t = std::time::Instant::now();
            // SAFETY: buffers of the signature's types (checked), owned here.
            unsafe { self.invoke(entry, &sig, &args, &outs) };
            after(i, t.elapsed());
        }
        Ok(())
    }

    /// Calls a function of no arguments and returns its scalar result (or
    /// nothing), as `mlir-runner --entry-point-result` does. As there, the
    /// function must take no arguments and return exactly `result`
    /// (`i64` also accepts `index`).
    pub fn call_entry_point(&self, name: &str, result: Option<ElemType>) -> Result<Option<Buffer>, Error> {
        let f = self.function(name)?;
        if !f.params.is_empty() {
            return Err(Error::EntryPointArguments { function: name.into(), count: f.params.len() });
        }
        let found = if f.results.is_empty() { "nothing".to_string() } else { f.results.join(", ") };
        match result {
            None if !f.results.is_empty() => return Err(Error::EntryPointVoid { function: name.into(), found }),
            Some(e) => {
                let fits = |t: &str| t == e.name() || (e == ElemType::I64 && t == "index");
                if f.results.len() != 1 || !fits(&f.results[0]) {
                    return Err(Error::EntryPointResult { function: name.into(), expected: e.name(), found });
                }
            }
            None => {}
        }
        let entry = self.lookup(name)?;
        let mut out = result.map(|e| Buffer::zeros(e, &[]));
        let mut ptrs: Vec<*mut std::ffi::c_void> = Vec::new();
        if let Some(b) = out.as_mut() {
            ptrs.push(b.ptr() as *mut _);
        }
        // SAFETY: the function takes no arguments and returns one scalar of
        // the result's type or nothing (checked above): the packed wrapper
        // reads one pointer per result.
        unsafe { entry(ptrs.as_mut_ptr()) };
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Result<unsafe extern "C" fn(*mut *mut std::ffi::c_void), Error> {
        Ok(self.entry(name, None)?)
    }

    /// The packed entry point of `name`, after checking once that the
    /// lowered function takes what [`Kernel::invoke`] passes for `sig`:
    /// calling it with anything else would read or write past the
    /// pointers it is given.
    fn checked_entry(&self, name: &str, sig: &Signature) -> Result<unsafe extern "C" fn(*mut *mut std::ffi::c_void), Error> {
        self.entry(name, Some(sig))
    }

    fn entry(&self, name: &str, check: Option<&Signature>) -> Result<unsafe extern "C" fn(*mut *mut std::ffi::c_void), Error> {
        let cached = self.entries.lock().ok().and_then(|m| m.get(name).copied());
        let (f, checked) = match cached {
            Some((f, checked)) => (f as *mut std::ffi::c_void, checked),
            // SAFETY: a live engine; the name outlives the call.
            None => (unsafe { sys::mlirExecutionEngineLookupPacked(self.engine, ir::sref(name)) }, false),
        };
        if f.is_null() {
            return Err(if self.signatures.iter().any(|f| f.name == name) {
                Error::Link(name.into())
            } else {
                Error::NoFunction(name.into())
            });
        }
        let checked = match check {
            Some(sig) if !checked => {
                self.check_lowered(name, sig)?;
                true
            }
            _ => checked,
        };
        if let Ok(mut m) = self.entries.lock() {
            m.insert(name.to_string(), (f as usize, checked));
        }
        // SAFETY: MLIR's packed wrappers have this type.
        Ok(unsafe { std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn(*mut *mut std::ffi::c_void)>(f) })
    }

    /// Compares the lowered `llvm.func` with the convention for `sig`:
    /// each buffer (parameters, then out-parameters for buffer results) an
    /// expanded descriptor, each scalar itself, the scalar results
    /// returned (more than one as a struct).
    fn check_lowered(&self, name: &str, sig: &Signature) -> Result<(), Error> {
        let Some(fty) = ir::ops_in(self._module.body().to_raw())
            .into_iter()
            .find(|op| {
                ir::name(*op) == "llvm.func" && ir::symbol_name(*op).as_deref() == Some(name)
            })
            .and_then(|op| ir::attribute(op, "function_type"))
        else {
            return Ok(()); // the lookup succeeded, so the JIT has it under another form
        };
        // SAFETY: llvm.func's function_type is an LLVM function type.
        let fty = unsafe { sys::mlirTypeAttrGetValue(fty) };
        let n = unsafe { sys::mlirLLVMFunctionTypeGetNumInputs(fty) };
        let mut found: Vec<String> =
            (0..n).map(|i| ir::print_type(unsafe { sys::mlirLLVMFunctionTypeGetInput(fty, i) })).collect();
        found.push(format!("-> {}", ir::print_type(unsafe { sys::mlirLLVMFunctionTypeGetReturnType(fty) })));
        let llvm_scalar = |e: ElemType| if e == ElemType::Index { "i64" } else { e.name() };
        let mut expected: Vec<String> = Vec::new();
        let buffers = sig.inputs.iter().chain(sig.results.iter().filter(|r| r.is_buffer()));
        for (i, t) in buffers.enumerate() {
            if i < sig.inputs.len() && !t.is_buffer() {
                expected.push(llvm_scalar(t.elem).into());
                continue;
            }
            expected.extend(["!llvm.ptr".to_string(), "!llvm.ptr".into(), "i64".into()]);
            expected.extend(std::iter::repeat_n("i64".to_string(), 2 * t.shape().len()));
        }
        let scalars: Vec<&str> = sig.results.iter().filter(|r| !r.is_buffer()).map(|r| llvm_scalar(r.elem)).collect();
        expected.push(match scalars.len() {
            0 => "-> !llvm.void".into(),
            1 => format!("-> {}", scalars[0]),
            _ => format!("-> !llvm.struct<({})>", scalars.join(", ")),
        });
        if found != expected {
            let signature = format!(
                "({}) -> ({})",
                sig.inputs.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
                sig.results.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            );
            return Err(Error::CallingConvention {
                function: name.into(),
                signature,
                expected: expected.join(", "),
                found: found.join(", "),
            });
        }
        Ok(())
    }

    /// # Safety
    /// As [`Kernel::call_raw`], for a function checked against `sig`.
    unsafe fn invoke(
        &self,
        entry: unsafe extern "C" fn(*mut *mut std::ffi::c_void),
        sig: &Signature,
        args: &[*mut u8],
        outs: &[*mut u8],
    ) {
        // Descriptor fields must stay at stable addresses while we hand out
        // pointers to them: allocate all slots first.
        let mut slots: Vec<Vec<i64>> = Vec::new();
        let mut scalar_results: Vec<usize> = Vec::new();
        let push_descriptor = |p: *mut u8, shape: &[usize], slots: &mut Vec<Vec<i64>>| {
            let p = p as i64;
            let mut d = vec![p, p, 0];
            d.extend(shape.iter().map(|s| *s as i64));
            let mut stride = 1i64;
            let mut strides = vec![0i64; shape.len()];
            for (i, s) in shape.iter().enumerate().rev() {
                strides[i] = stride;
                stride *= *s as i64;
            }
            d.extend(strides);
            slots.push(d);
        };
        for (a, t) in args.iter().zip(&sig.inputs) {
            if t.is_buffer() {
                push_descriptor(*a, t.shape(), &mut slots);
            } else {
                slots.push(vec![]); // the scalar lives in the buffer itself
            }
        }
        for (i, (o, t)) in outs.iter().zip(&sig.results).enumerate() {
            if t.is_buffer() {
                push_descriptor(*o, t.shape(), &mut slots);
            } else {
                scalar_results.push(i);
            }
        }
        let mut ptrs: Vec<*mut std::ffi::c_void> = Vec::new();
        let mut slot = slots.iter_mut();
        for (a, t) in args.iter().zip(&sig.inputs) {
            let s = slot.next().expect("one slot per argument");
            if t.is_buffer() {
                ptrs.extend(s.iter_mut().map(|x| x as *mut i64 as *mut std::ffi::c_void));
            } else {
                ptrs.push(*a as *mut _);
            }
        }
        for t in &sig.results {
            if t.is_buffer() {
                let s = slot.next().expect("one slot per out-parameter");
                ptrs.extend(s.iter_mut().map(|x| x as *mut i64 as *mut std::ffi::c_void));
            }
        }
        // One scalar result is returned as itself; several as one struct
        // (C layout: each field at its natural alignment), which the packed
        // wrapper stores through a single pointer.
        let mut offsets = Vec::new();
        let mut end = 0usize;
        for i in &scalar_results {
            let size = sig.results[*i].elem.size();
            let at = end.next_multiple_of(size);
            offsets.push(at);
            end = at + size;
        }
        let mut packed = vec![0u64; end.div_ceil(8).max(1)];
        match scalar_results.len() {
            0 => {}
            1 => ptrs.push(outs[scalar_results[0]] as *mut _),
            _ => ptrs.push(packed.as_mut_ptr() as *mut _),
        }
        // SAFETY: `ptrs` holds one pointer per LLVM-level argument of the
        // lowered function (descriptor fields, scalars) then one for the
        // scalar result(s), all live for the call; checked against the
        // signature and, once, against the lowered function.
        unsafe { entry(ptrs.as_mut_ptr()) };
        if scalar_results.len() > 1 {
            // SAFETY: `packed` holds `end` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(packed.as_ptr() as *const u8, end) };
            for (i, at) in scalar_results.iter().zip(offsets) {
                let size = sig.results[*i].elem.size();
                // SAFETY: each out-pointer has room for its result.
                unsafe { std::ptr::copy_nonoverlapping(bytes[at..].as_ptr(), outs[*i], size) };
            }
        }
    }
}

/// Each buffer's storage, for [`Kernel::invoke`].
fn pointers(buffers: &mut [Buffer]) -> Vec<*mut u8> {
    buffers.iter_mut().map(|b| b.ptr()).collect()
}

fn check_args(sig: &Signature, args: &[Arg]) -> Result<(), Error> {
    if args.len() != sig.inputs.len() {
        return Err(Error::ArgumentCount { expected: sig.inputs.len(), given: args.len() });
    }
    for (index, (a, t)) in args.iter().zip(&sig.inputs).enumerate() {
        if a.elem != t.elem || a.shape != t.shape() {
            let dims: String = a.shape.iter().map(|d| format!("{d}x")).collect();
            return Err(Error::ArgumentType { index, expected: t.clone(), given: format!("{dims}{}", a.elem.name()) });
        }
    }
    Ok(())
}

/// Each `--shared-libs` path must exist and be a loadable ELF shared
/// library. MLIR's engine prints an error for a library it cannot load and
/// goes on without it; here that is an error before anything runs.
fn check_shared_libs(libs: &[String]) -> Result<(), Error> {
    unsafe extern "C" {
        fn dlopen(path: *const std::ffi::c_char, flags: i32) -> *mut std::ffi::c_void;
        fn dlerror() -> *const std::ffi::c_char;
    }
    const RTLD_LAZY: i32 = 1;
    for path in libs {
        let bad = |reason: String| Error::BadSharedLib { path: path.clone(), reason };
        let meta = std::fs::metadata(path).map_err(|_| bad("does not exist".into()))?;
        if meta.is_dir() {
            return Err(bad("is a directory".into()));
        }
        let mut magic = [0u8; 4];
        let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic));
        if read.is_err() || &magic != b"\x7fELF" {
            return Err(bad("is not an ELF shared library".into()));
        }
        let c = CString::new(path.as_str()).map_err(|_| bad("has a NUL byte in its name".into()))?;
        // SAFETY: a NUL-terminated path. The library stays loaded (the
        // engine loads it again, which only counts a reference).
        let handle = unsafe { dlopen(c.as_ptr(), RTLD_LAZY) };
        if handle.is_null() {
            // SAFETY: dlerror returns null or a C string valid until the
            // next dl* call on this thread.
            let e = unsafe { dlerror() };
            let why = if e.is_null() {
                "cannot be loaded".to_string()
            } else {
                format!("cannot be loaded: {}", unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy())
            };
            return Err(bad(why));
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

fn create_engine(module: &Module, opt_level: i32, libs: &[String], keep_object: bool) -> Result<sys::MlirExecutionEngine, String> {
    for lib in libs {
        if !std::path::Path::new(lib).exists() {
            return Err(format!("shared library '{lib}' does not exist"));
        }
    }
    // MLIR reads each path as a C string: keep the NUL after each.
    let cpaths: Vec<CString> = libs.iter().map(|l| CString::new(l.as_str()).unwrap_or_default()).collect();
    let refs: Vec<sys::MlirStringRef> =
        cpaths.iter().map(|c| sys::MlirStringRef { data: c.as_ptr(), length: c.as_bytes().len() }).collect();
    // Before MLIR's own registration inside the engine: ours is the one
    // every thread waits for (see `initialize_native_target`).
    strata_dialect::cpu::initialize_native_target();
    // SAFETY: the module is in the LLVM dialect (or fails translation and
    // yields null); `refs` outlive the call.
    let engine = unsafe {
        sys::mlirExecutionEngineCreate(module.to_raw(), opt_level.clamp(0, 3), refs.len() as i32, refs.as_ptr(), keep_object, false)
    };
    if engine.ptr.is_null() {
        return Err(String::new());
    }
    // Kernels allocate through the runtime's counting allocator, so tests
    // can see leaks and peak memory. Bound before anything is looked up.
    let symbols: [(&str, *mut std::ffi::c_void); 14] = [
        (strata_passes::instrument_timers::BEGIN, strata_runtime::timers::strata_timer_begin as *mut std::ffi::c_void),
        (strata_passes::instrument_timers::END, strata_runtime::timers::strata_timer_end as *mut std::ffi::c_void),
        ("strata_race_begin", strata_runtime::race::strata_race_begin as *mut std::ffi::c_void),
        ("strata_race_inner_loop", strata_runtime::race::strata_race_inner_loop as *mut std::ffi::c_void),
        ("strata_race_inner", strata_runtime::race::strata_race_inner as *mut std::ffi::c_void),
        ("strata_race_log", strata_runtime::race::strata_race_log as *mut std::ffi::c_void),
        ("strata_race_flush", strata_runtime::race::strata_race_flush as *mut std::ffi::c_void),
        ("strata_race_end", strata_runtime::race::strata_race_end as *mut std::ffi::c_void),
        ("strata_race_range", strata_runtime::race::strata_race_range as *mut std::ffi::c_void),
        ("strata_race_disjoint", strata_runtime::race::strata_race_disjoint as *mut std::ffi::c_void),
        ("malloc", strata_runtime::alloc::strata_malloc as *mut std::ffi::c_void),
        ("aligned_alloc", strata_runtime::alloc::strata_aligned_alloc as *mut std::ffi::c_void),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer of 4 MiB or more is advised as huge pages before its zeros
    /// touch it (see `strata_runtime::alloc`), whichever way it is made.
    #[test]
    fn large_buffers_are_advised_as_huge_pages() {
        let shape = [1024, 2048 + 7];
        let mut a = Buffer::zeros(ElemType::F32, &shape);
        let mut b = Buffer::try_zeros(ElemType::F64, &shape).expect("16 MiB");
        for buf in [&mut a, &mut b] {
            let middle = unsafe { buf.ptr().add(buf.bytes().len() / 2) };
            // None: no THP or no smaps to read, nothing to check.
            if let Some(advised) = strata_runtime::alloc::advised_huge(middle) {
                assert!(advised, "a {:?} {} buffer was not advised", buf.shape, buf.elem.name());
            }
        }
    }

    #[test]
    fn buffer_mistakes_are_errors() {
        let e = Buffer::from_f32(&[2, 3], &[1.0; 5]).unwrap_err();
        assert_eq!(e.to_string(), "a buffer of shape [2, 3] holds 6 element(s), 5 given");
        assert!(matches!(Buffer::from_f64(&[2], &[1.0; 3]), Err(Error::BufferLength { expected: 2, given: 3, .. })));
        assert!(matches!(Buffer::from_i32(&[], &[]), Err(Error::BufferLength { expected: 1, given: 0, .. })));
        assert!(matches!(Buffer::from_i64(&[usize::MAX, 2], &[1]), Err(Error::BufferLength { given: 1, .. })));
        let b = Buffer::from_i32(&[3], &[7, -8, 9]).unwrap();
        assert_eq!((b.get_i64(1).unwrap(), b.get_f64(2).unwrap()), (-8, 9.0));
        assert_eq!(b.get_f64(3).unwrap_err().to_string(), "element 3 is out of range: the buffer holds 3");
        assert!(matches!(b.get_i64(usize::MAX), Err(Error::OutOfRange { len: 3, .. })));
        let mut b = b;
        assert!(b.set_from_text(3, "1").unwrap_err().contains("out of range"));
        let e = Buffer::try_zeros(ElemType::F64, &[usize::MAX, usize::MAX]).unwrap_err();
        assert!(matches!(e, Error::Alloc { .. }), "{e}");
        assert_eq!(Buffer::try_zeros(ElemType::I32, &[2, 2]).unwrap(), Buffer::zeros(ElemType::I32, &[2, 2]));
    }
}
