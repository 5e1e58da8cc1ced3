//! `strata._native`: the Python extension module over `strata-driver`.
//!
//! Matches: MLIR text (any level the driver takes) and NumPy arrays.
//! Produces: a `Kernel` object whose calls take NumPy arrays and return
//! fresh ones, `CompileError` / `InputError` exceptions with the driver's
//! messages, and the IR after any step of the default pipeline.
//! Assumes: the caller (the Python layer in `strata/`) has read files and
//! traced Python functions into MLIR text; this module sees text only.
//! Guarantees: an argument of the declared dtype that is C-contiguous and
//! aligned is passed to the kernel without a copy; a non-contiguous one is
//! copied once; anything else is an `InputError` naming the parameter,
//! expected against given, before the kernel runs. Calls and compilation
//! release the GIL; one kernel may be called from many threads at once
//! (`strata_driver::jit::Kernel` is `Sync`).

use std::sync::atomic::{AtomicUsize, Ordering};

use numpy::{
    Element, IxDyn, PyArray, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::{
    create_exception,
    exceptions::{PyException, PyValueError},
    prelude::*,
    types::{PyDict, PyList, PyTuple},
};
use strata_driver::jit::{self, ArgKind, ArgType, CompileOptions, ElemType, Signature};
use strata_passes::{
    levels::{self, Level, Races},
    pipeline::Pipeline,
};

create_exception!(strata, StrataError, PyException, "Base class of Strata's errors.");
create_exception!(
    strata,
    CompileError,
    StrataError,
    "The source does not parse or verify, or a pass failed: `FILE:LINE:COL: error: MESSAGE` as the tools print it; \
     attributes file, line, col, message, pass_name."
);
create_exception!(
    strata,
    InputError,
    StrataError,
    "An argument does not match the kernel's signature (dtype, shape, count or layout); the message names the \
     parameter, expected against given."
);

/// `strata.set_threads`'s cap for calls that give no `threads=` (0: the
/// whole pool).
static DEFAULT_LIMIT: AtomicUsize = AtomicUsize::new(0);

/// The stage names `mlir(stage=...)` takes besides the pass names.
const STAGE_ALIASES: [(&str, &str); 5] = [
    ("fuse", "strata-fuse"),
    ("affine", "strata-lower-to-affine"),
    ("vector", "strata-vectorize"),
    ("parallel", "strata-parallelize"),
    ("llvm", "strata-lower-to-llvm"),
];

/// A compile-time driver error as a `CompileError`, its text as the tools
/// print it and its location, message and failing pass split out.
fn compile_error(py: Python<'_>, e: &jit::Error) -> PyErr {
    let text = e.to_string();
    let err = CompileError::new_err(text.clone());
    let (mut file, mut line, mut col, mut message) = (None::<String>, None::<usize>, None::<usize>, text.clone());
    if let Some(at) = text.find(": error: ") {
        let loc = &text[..at];
        message = text[at + ": error: ".len()..].to_string();
        // FILE:LINE:COL, the file name possibly holding colons itself.
        let mut parts = loc.rsplitn(3, ':');
        let (c, l, f) = (parts.next(), parts.next(), parts.next());
        match (c.and_then(|c| c.parse().ok()), l.and_then(|l| l.parse().ok()), f) {
            (Some(c), Some(l), Some(f)) => (file, line, col) = (Some(f.to_string()), Some(l), Some(c)),
            _ => file = Some(loc.to_string()),
        }
    }
    let pass_name = message
        .strip_prefix("pass '")
        .and_then(|rest| rest.split_once("' failed: "))
        .map(|(name, _)| name.to_string());
    let value = err.value(py);
    let _ = value.setattr("file", file);
    let _ = value.setattr("line", line);
    let _ = value.setattr("col", col);
    let _ = value.setattr("message", message);
    let _ = value.setattr("pass_name", pass_name);
    err
}

fn dtype_name(e: ElemType) -> &'static str {
    match e {
        ElemType::F32 => "float32",
        ElemType::F64 => "float64",
        ElemType::I32 => "int32",
        ElemType::I64 | ElemType::Index => "int64",
    }
}

/// NumPy's spelling of a shape: `(2, 16)`, `(5,)`, `()`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn describe(t: &ArgType) -> String {
    match t.kind {
        ArgKind::Scalar => format!("a {} scalar", dtype_name(t.elem)),
        _ => format!("{} array of shape {}", dtype_name(t.elem), shape_text(t.shape())),
    }
}

/// The element type of a NumPy dtype, if it is one kernels take (native
/// byte order only).
fn elem_of(array: &Bound<'_, PyUntypedArray>) -> Option<ElemType> {
    let d = array.dtype();
    if d.is_native_byteorder() == Some(false) {
        return None;
    }
    Some(match (d.kind(), d.itemsize()) {
        (b'f', 4) => ElemType::F32,
        (b'f', 8) => ElemType::F64,
        (b'i', 4) => ElemType::I32,
        (b'i', 8) => ElemType::I64,
        _ => return None,
    })
}

fn new_array<'py>(py: Python<'py>, elem: ElemType, shape: &[usize]) -> (Bound<'py, PyAny>, *mut u8) {
    fn make<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> (Bound<'py, PyAny>, *mut u8) {
        // SAFETY: the kernel writes every element of its results (they are
        // its out-parameters) before Python sees the array.
        let a = unsafe { PyArray::<T, IxDyn>::new(py, IxDyn(shape), false) };
        let p = a.data() as *mut u8;
        (a.into_any(), p)
    }
    match elem {
        ElemType::F32 => make::<f32>(py, shape),
        ElemType::F64 => make::<f64>(py, shape),
        ElemType::I32 => make::<i32>(py, shape),
        ElemType::I64 | ElemType::Index => make::<i64>(py, shape),
    }
}

/// Pointers handed to a call made without the GIL; the objects they point
/// into are held by the caller for the whole call.
struct Pointers(Vec<*mut u8>);
// SAFETY: only addresses; what they point to is kept alive and not moved
// (NumPy does not move or free an array's data while it is referenced).
unsafe impl Send for Pointers {}
// SAFETY: as above; the call only reads the addresses.
unsafe impl Sync for Pointers {}

/// One call's arguments and results, ready for `call_raw`.
struct Prepared<'py> {
    /// What the pointers point into (copies of non-contiguous inputs too).
    _keep: Vec<Bound<'py, PyAny>>,
    args: Pointers,
    /// Scalar arguments' values; `args` points into it, so it is sized
    /// once and never grows.
    _scalars: Box<[u64]>,
    results: Vec<Bound<'py, PyAny>>,
    outs: Pointers,
}

#[pyclass(frozen, module = "strata", name = "Kernel")]
struct Kernel {
    kernel: jit::Kernel,
    entry: String,
    sig: Signature,
    /// Names of the parameters for messages (the traced function's, or
    /// `%arg0`..).
    params: Vec<String>,
    source: String,
    source_name: String,
    level: Level,
    races: Races,
    target: Option<String>,
    threads: Option<usize>,
}

impl Kernel {
    fn param(&self, i: usize) -> String {
        match self.params.get(i) {
            Some(n) => format!("parameter '{n}' (#{i}) of '{}'", self.entry),
            None => format!("parameter #{i} of '{}'", self.entry),
        }
    }

    fn prepare<'py>(&self, py: Python<'py>, args: &Bound<'py, PyTuple>) -> PyResult<Prepared<'py>> {
        let n = self.sig.inputs.len();
        if args.len() != n {
            return Err(InputError::new_err(format!(
                "'{}' takes {n} argument(s) ({}), {} given",
                self.entry,
                self.sig.inputs.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
                args.len()
            )));
        }
        let mut keep = Vec::with_capacity(n);
        let mut ptrs = Vec::with_capacity(n);
        let mut scalars = vec![0u64; n].into_boxed_slice();
        for (i, (arg, t)) in args.iter().zip(&self.sig.inputs).enumerate() {
            if !t.is_buffer() {
                scalars[i] = self.scalar(i, &arg, t.elem)?;
                ptrs.push(&mut scalars[i] as *mut u64 as *mut u8);
                continue;
            }
            // A NumPy scalar for a rank-0 tensor: as its 0-d array (one
            // element copied; its dtype is still checked below).
            let scalar_array;
            let arg = if t.shape().is_empty() && !arg.is_instance_of::<PyUntypedArray>() && arg.hasattr("dtype")? {
                scalar_array = py.import("numpy")?.getattr("asarray")?.call1((&arg,))?;
                scalar_array
            } else {
                arg
            };
            let Ok(array) = arg.cast::<PyUntypedArray>() else {
                let given = arg.get_type().name().map(|s| s.to_string()).unwrap_or_else(|_| "?".into());
                return Err(InputError::new_err(format!(
                    "{}: expected a numpy.ndarray ({}), given {given}",
                    self.param(i),
                    describe(t)
                )));
            };
            let elem = elem_of(array);
            if elem != Some(t.elem) || array.shape() != t.shape() {
                return Err(InputError::new_err(format!(
                    "{}: expected {}, given {} array of shape {}",
                    self.param(i),
                    describe(t),
                    array.dtype().str().map(|s| s.to_string()).unwrap_or_else(|_| "?".into()),
                    shape_text(array.shape())
                )));
            }
            let in_place = matches!(t.kind, ArgKind::Memref(_));
            let usable = array.is_c_contiguous() && array.is_aligned();
            let array = if usable {
                array.clone()
            } else if in_place {
                return Err(InputError::new_err(format!(
                    "{}: the kernel writes this memref in place, so it must be a C-contiguous, aligned array",
                    self.param(i)
                )));
            } else {
                // One copy, into NumPy's own C-contiguous layout.
                let copy = py.import("numpy")?.getattr("ascontiguousarray")?.call1((array,))?;
                copy.cast_into::<PyUntypedArray>()?
            };
            if in_place && !writeable(&array)? {
                return Err(InputError::new_err(format!(
                    "{}: the kernel writes this memref in place, but the array is read-only",
                    self.param(i)
                )));
            }
            // SAFETY: a live NumPy array.
            ptrs.push(unsafe { (*array.as_array_ptr()).fields.data } as *mut u8);
            keep.push(array.into_any());
        }
        let mut results = Vec::with_capacity(self.sig.results.len());
        let mut outs = Vec::with_capacity(self.sig.results.len());
        for r in &self.sig.results {
            let (a, p) = new_array(py, r.elem, r.shape());
            results.push(a);
            outs.push(p);
        }
        Ok(Prepared { _keep: keep, args: Pointers(ptrs), _scalars: scalars, results, outs: Pointers(outs) })
    }

    /// A scalar argument's bits in the parameter's element type.
    fn scalar(&self, i: usize, arg: &Bound<'_, PyAny>, elem: ElemType) -> PyResult<u64> {
        let bad = || {
            let given = arg.get_type().name().map(|s| s.to_string()).unwrap_or_else(|_| "?".into());
            InputError::new_err(format!("{}: expected a {} scalar, given {given}", self.param(i), dtype_name(elem)))
        };
        Ok(match elem {
            ElemType::F32 => (arg.extract::<f64>().map_err(|_| bad())? as f32).to_bits() as u64,
            ElemType::F64 => arg.extract::<f64>().map_err(|_| bad())?.to_bits(),
            ElemType::I32 => arg.extract::<i32>().map_err(|_| bad())? as u32 as u64,
            ElemType::I64 | ElemType::Index => arg.extract::<i64>().map_err(|_| bad())? as u64,
        })
    }

    /// The call's thread cap: `threads=`, else the kernel's, else
    /// `set_threads`'s.
    fn limit(&self, threads: Option<usize>) -> PyResult<usize> {
        match threads.or(self.threads) {
            Some(0) => Err(PyValueError::new_err("threads must be at least 1")),
            Some(n) => Ok(n),
            None => Ok(DEFAULT_LIMIT.load(Ordering::Relaxed)),
        }
    }

    /// Runs `f` without the GIL and with this thread's dispatches capped.
    fn detached<T: Send>(py: Python<'_>, limit: usize, f: impl FnOnce() -> T + Send) -> T {
        py.detach(|| {
            let previous = strata_runtime::pool::set_thread_limit(limit);
            let r = f();
            strata_runtime::pool::set_thread_limit(previous);
            r
        })
    }

    fn finish<'py>(&self, py: Python<'py>, results: Vec<Bound<'py, PyAny>>) -> PyResult<Py<PyAny>> {
        let mut values = Vec::with_capacity(results.len());
        for (r, t) in results.into_iter().zip(&self.sig.results) {
            // Scalar results come back as NumPy scalars of their dtype.
            values.push(if t.is_buffer() { r } else { r.get_item(PyTuple::empty(py))? });
        }
        Ok(match values.len() {
            1 => values.pop().expect("one result").unbind(),
            0 => py.None(),
            _ => PyTuple::new(py, values)?.into_any().unbind(),
        })
    }
}

fn writeable(array: &Bound<'_, PyUntypedArray>) -> PyResult<bool> {
    array.getattr("flags")?.getattr("writeable")?.extract()
}

#[pymethods]
impl Kernel {
    /// Calls the kernel: NumPy arrays (and Python or NumPy scalars for
    /// scalar parameters) in, fresh NumPy arrays out (a tuple when there
    /// are several results, None when there are none).
    #[pyo3(signature = (*args, threads=None))]
    fn __call__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, threads: Option<usize>) -> PyResult<Py<PyAny>> {
        let limit = self.limit(threads)?;
        let p = self.prepare(py, args)?;
        let (a, o) = (&p.args, &p.outs);
        // SAFETY: `prepare` checked each array's dtype, shape and layout
        // against the signature and made fresh results of it; `p` keeps
        // them alive until the call returns.
        let r = Self::detached(py, limit, || unsafe { self.kernel.call_raw(&self.entry, &a.0, &o.0) });
        r.map_err(|e| InputError::new_err(e.to_string()))?;
        self.finish(py, p.results)
    }

    /// Times `runs` calls on the same arguments (after one warm-up call;
    /// compilation is not included): a dict of `median_ms`, `min_ms`,
    /// `max_ms`, `mean_ms` and `runs`.
    #[pyo3(signature = (*args, runs=100, threads=None))]
    fn benchmark<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        runs: usize,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if runs == 0 {
            return Err(PyValueError::new_err("runs must be at least 1"));
        }
        let limit = self.limit(threads)?;
        let p = self.prepare(py, args)?;
        let (a, o) = (&p.args, &p.outs);
        let times = Self::detached(py, limit, || -> Result<Vec<f64>, jit::Error> {
            // SAFETY: as in `__call__`.
            unsafe { self.kernel.call_raw(&self.entry, &a.0, &o.0)? };
            (0..runs)
                .map(|_| {
                    let t = std::time::Instant::now();
                    // SAFETY: as above.
                    unsafe { self.kernel.call_raw(&self.entry, &a.0, &o.0) }.map(|_| t.elapsed().as_secs_f64() * 1e3)
                })
                .collect()
        });
        let mut times = times.map_err(|e| InputError::new_err(e.to_string()))?;
        times.sort_by(f64::total_cmp);
        let median =
            if runs % 2 == 1 { times[runs / 2] } else { (times[runs / 2 - 1] + times[runs / 2]) / 2.0 };
        let d = PyDict::new(py);
        d.set_item("median_ms", median)?;
        d.set_item("min_ms", times[0])?;
        d.set_item("max_ms", times[runs - 1])?;
        d.set_item("mean_ms", times.iter().sum::<f64>() / runs as f64)?;
        d.set_item("runs", runs)?;
        Ok(d)
    }

    /// The module's IR after `stage` of the kernel's pipeline: `source`
    /// (as parsed), a pass of the level's pipeline (`strata-fuse`,
    /// `strata-lower-to-affine`, `strata-vectorize`, ...) or its short name
    /// (`fuse`, `affine`, `vector`, `parallel`, `llvm`).
    #[pyo3(signature = (stage="llvm"))]
    fn mlir(&self, py: Python<'_>, stage: &str) -> PyResult<String> {
        stage_ir(py, &self.source, &self.source_name, stage, self.level, self.races, self.target.as_deref())
    }

    /// The entry function's name.
    #[getter]
    fn entry(&self) -> &str {
        &self.entry
    }

    /// The entry function's type as written: `(tensor<2x16xf32>, ...) -> (...)`.
    #[getter]
    fn signature(&self) -> String {
        let list = |ts: &[ArgType]| ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
        format!("({}) -> ({})", list(&self.sig.inputs), list(&self.sig.results))
    }

    /// The warnings and remarks the passes emitted while compiling.
    #[getter]
    fn remarks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.kernel.remarks())
    }

    /// The MLIR text the kernel was compiled from.
    #[getter]
    fn source(&self) -> &str {
        &self.source
    }

    fn __repr__(&self) -> String {
        format!("<strata.Kernel {} {} from {}>", self.entry, self.signature(), self.source_name)
    }
}

/// Compiles `source` (MLIR text; `source_name` names it in messages) and
/// returns a kernel calling `entry`.
#[pyfunction]
#[pyo3(signature = (source, source_name="<string>", entry="main", level="O3", threads=None, target=Some("host"), races="error", params=None))]
#[allow(clippy::too_many_arguments)]
fn compile(
    py: Python<'_>,
    source: String,
    source_name: &str,
    entry: &str,
    level: &str,
    threads: Option<usize>,
    target: Option<&str>,
    races: &str,
    params: Option<Vec<String>>,
) -> PyResult<Kernel> {
    let level: Level = level.parse().map_err(|e: strata_passes::PipelineError| PyValueError::new_err(e.to_string()))?;
    let races: Races = races.parse().map_err(|e: strata_passes::PipelineError| PyValueError::new_err(e.to_string()))?;
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let options = CompileOptions { level, races, target: target.map(str::to_string), ..Default::default() };
    let compiled = py.detach(|| jit::Kernel::compile(&source, source_name, &options));
    let kernel = compiled.map_err(|e| compile_error(py, &e))?;
    let sig = kernel.signature(entry).map_err(|e| compile_error(py, &e))?.clone();
    Ok(Kernel {
        kernel,
        entry: entry.to_string(),
        sig,
        params: params.unwrap_or_default(),
        source,
        source_name: source_name.to_string(),
        level,
        races,
        target: target.map(str::to_string),
        threads,
    })
}

/// [`Kernel::mlir`] for text that need not be compiled yet (a traced
/// function's `mlir(*example_args)`).
#[pyfunction]
#[pyo3(name = "mlir", signature = (source, source_name="<string>", stage="source", level="O3", target=Some("host"), races="error"))]
fn mlir_of(
    py: Python<'_>,
    source: &str,
    source_name: &str,
    stage: &str,
    level: &str,
    target: Option<&str>,
    races: &str,
) -> PyResult<String> {
    let level: Level = level.parse().map_err(|e: strata_passes::PipelineError| PyValueError::new_err(e.to_string()))?;
    let races: Races = races.parse().map_err(|e: strata_passes::PipelineError| PyValueError::new_err(e.to_string()))?;
    stage_ir(py, source, source_name, stage, level, races, target)
}

/// Parses `source`, runs the level's pipeline up to and including `stage`
/// (one pass manager per step, as `Kernel::compile` does) and prints the
/// module.
fn stage_ir(
    py: Python<'_>,
    source: &str,
    source_name: &str,
    stage: &str,
    level: Level,
    races: Races,
    target: Option<&str>,
) -> PyResult<String> {
    let pipeline = levels::pipeline_with(level, races);
    let wanted = STAGE_ALIASES.iter().find(|(a, _)| *a == stage).map(|(_, p)| *p).unwrap_or(stage);
    let name_of = |e: &strata_passes::pipeline::Element| e.to_text().split('{').next().unwrap_or_default().to_string();
    let upto = if wanted == "source" {
        None
    } else {
        match pipeline.elements.iter().rposition(|e| name_of(e) == wanted) {
            Some(i) => Some(i),
            None => {
                let mut names: Vec<String> = vec!["source".into()];
                names.extend(pipeline.elements.iter().map(name_of).filter(|n| n.starts_with("strata-")));
                let aliases: Vec<String> = STAGE_ALIASES
                    .iter()
                    .filter(|(_, p)| names.iter().any(|n| n == p))
                    .map(|(a, _)| a.to_string())
                    .collect();
                names.extend(aliases);
                names.dedup();
                return Err(PyValueError::new_err(format!(
                    "unknown stage '{stage}' for {level:?}: expected one of {}",
                    names.join(", ")
                )));
            }
        }
    };
    let run = || -> Result<String, String> {
        strata_passes::register_upstream_passes();
        let context = strata_dialect::new_context();
        let collector = strata_driver::diagnostics::Collector::attach(&context);
        let first_error = || {
            let diags = collector.take();
            diags
                .iter()
                .find(|d| d.severity == strata_driver::diagnostics::Severity::Error)
                .map(|d| d.render(source_name, None).trim_end().to_string())
                .unwrap_or_else(|| format!("{source_name}: error: failed without a diagnostic"))
        };
        let module = strata_dialect::parse_module(&context, source, source_name).ok_or_else(first_error)?;
        let op = module.as_operation().to_raw();
        let Some(upto) = upto else {
            return Ok(module.as_operation().to_string());
        };
        let target = strata_driver::target::for_module(op, target).map_err(|e| e.to_string())?;
        target.attach(op);
        for element in &pipeline.elements[..=upto] {
            let one = Pipeline { anchor: pipeline.anchor.clone(), elements: vec![element.clone()] };
            for step in one.steps().map_err(|e| e.to_string())? {
                let pm = strata_passes::pipeline::module_pass_manager(&context);
                let single = Pipeline { anchor: pipeline.anchor.clone(), elements: vec![step.clone()] };
                single.add_to(&pm, "builtin.module").map_err(|e| e.to_string())?;
                // SAFETY: the module and the pass manager share the context.
                let ok = unsafe { mlir_sys::mlirPassManagerRunOnOp(pm.to_raw(), op) }.value != 0;
                if !ok {
                    return Err(format!("pass '{}' failed: {}", step.to_text(), first_error()));
                }
            }
        }
        Ok(module.as_operation().to_string())
    };
    py.detach(run).map_err(CompileError::new_err)
}

/// Sets the thread count for calls that do not give one (None: the whole
/// pool again). Before the first parallel call this sizes the pool;
/// afterwards the pool keeps its size and `n` caps each call (at most the
/// pool's size). Returns the pool's size.
#[pyfunction]
fn set_threads(n: Option<usize>) -> PyResult<usize> {
    match n {
        Some(0) => Err(PyValueError::new_err("threads must be at least 1")),
        Some(n) => {
            DEFAULT_LIMIT.store(n, Ordering::Relaxed);
            Ok(strata_runtime::pool::set_threads(n))
        }
        None => {
            DEFAULT_LIMIT.store(0, Ordering::Relaxed);
            Ok(strata_runtime::pool::threads())
        }
    }
}

/// The pool's thread count (the calling thread included).
#[pyfunction]
fn pool_threads() -> usize {
    strata_runtime::pool::threads()
}

/// The bytes JIT'd code has allocated and not freed (the runtime's
/// counting allocator), for leak tests.
#[pyfunction]
fn live_bytes() -> u64 {
    strata_runtime::alloc::live_bytes() as u64
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("StrataError", py.get_type::<StrataError>())?;
    m.add("CompileError", py.get_type::<CompileError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add_class::<Kernel>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(mlir_of, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(pool_threads, m)?)?;
    m.add_function(wrap_pyfunction!(live_bytes, m)?)?;
    Ok(())
}
