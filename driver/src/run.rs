//! `strata-run`: compile a file, JIT it, call one function, show or save
//! the results. The contract is `shared/spec/tools.md`.

use std::{io::Write, path::Path};

use clap::Parser;
use strata_passes::levels::Level;

use crate::jit::{ArgKind, ArgType, Buffer, CompileOptions, ElemType, Kernel};

#[derive(Parser, Debug)]
#[command(name = "strata-run", version, about = "JIT-compiles an MLIR file (any level) and calls one function")]
pub struct RunArgs {
    /// The MLIR file; `-` or nothing reads standard input (as mlir-runner does).
    #[arg(default_value = "-")]
    pub file: String,
    /// The function to call.
    #[arg(short = 'e', long = "entry-point", default_value = "main")]
    pub entry: String,
    /// One per argument, in order: DIMSxTYPE=V1,V2,..., DIMSxTYPE=V, TYPE=V, or @PATH.npy.
    #[arg(long = "input")]
    pub inputs: Vec<String>,
    /// One per result (or per memref argument of a function without results): @PATH.npy.
    #[arg(long = "output")]
    pub outputs: Vec<String>,
    /// Worker threads (also STRATA_NUM_THREADS); 1 runs on the calling thread.
    /// At most 256: more is refused (each one is started and woken on every
    /// parallel loop, which only slows the kernel down).
    #[arg(long = "threads")]
    pub threads: Option<usize>,
    /// The default pipeline's level.
    #[arg(long = "strata-pipeline", default_value = "O3")]
    pub level: String,
    /// A full pipeline instead of the level's, e.g. 'builtin.module(...)'.
    #[arg(long = "pass-pipeline")]
    pub pass_pipeline: Option<String>,
    /// Run the call N times after a warm-up and print one timing line.
    #[arg(long = "benchmark", value_name = "N")]
    pub benchmark: Option<usize>,
    /// mlir-runner mode: call a function without arguments and print its result.
    #[arg(long = "entry-point-result", value_name = "void|i32|i64|f32")]
    pub entry_point_result: Option<String>,
    /// Shared libraries for the JIT, comma-separated (mlir-runner's flag).
    #[arg(long = "shared-libs", value_delimiter = ',')]
    pub shared_libs: Vec<String>,
    /// Print what the strata-* passes did, as remarks on standard error.
    #[arg(long = "strata-remarks")]
    pub strata_remarks: bool,
    /// What code generation may assume: `host` (the default) or an LLVM CPU
    /// name (`znver3`, `skylake-avx512`, `x86-64-v3`), optionally followed by
    /// `,+feature,-feature`. A target this host cannot execute is refused.
    #[arg(long = "strata-target", value_name = "NAME")]
    pub strata_target: Option<String>,
    /// The default pipeline's race check: `error` (provable races are
    /// errors), `warn`, or `off`.
    #[arg(long = "strata-races", value_name = "error|warn|off", default_value = "error")]
    pub strata_races: String,
    /// Use configurations `strata-tune` cached for this kernel, target and
    /// thread count: `on` (the default) or `off`.
    #[arg(long = "strata-tuning", value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    pub strata_tuning: String,
    /// LLVM optimization level of the JIT (mlir-runner's -O0..-O3). By
    /// default 3, or 0 with --entry-point-result (mlir-runner's default).
    #[arg(short = 'O', value_parser = clap::value_parser!(i32).range(0..=3))]
    pub jit_opt: Option<i32>,
    /// Write the JIT's object code after the call (mlir-runner's flag), to
    /// --object-filename or FILE.o.
    #[arg(long = "dump-object-file")]
    pub dump_object_file: bool,
    /// Where --dump-object-file writes.
    #[arg(long = "object-filename", value_name = "PATH")]
    pub object_filename: Option<String>,
    /// Refuse a file whose only top-level op is not a module (mlir-runner's
    /// flag); by default ops are wrapped in one.
    #[arg(long = "no-implicit-module")]
    pub no_implicit_module: bool,
    /// Options for LLVM itself (`-enable-matrix`, `-matrix-default-layout=
    /// column-major`): any other `--NAME[=VALUE]`, as mlir-runner, an LLVM
    /// tool, takes them (filled in by `parse_args`, not by clap).
    #[arg(skip)]
    pub llvm_options: Vec<String>,
}

/// Parses the command line, in any spelling LLVM's tools accept
/// ([`crate::cli`]). Flags clap does not know go to LLVM's own option
/// parser, as mlir-runner's do (checked when the run starts).
pub fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<RunArgs, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let command = RunArgs::command();
    let (clap_args, flags) = crate::cli::split_unknown_flags(&command, args);
    let llvm = flags.into_iter().map(|(name, value)| value.map_or(format!("--{name}"), |v| format!("--{name}={v}"))).collect();
    let matches = command.try_get_matches_from(clap_args)?;
    let mut args = RunArgs::from_arg_matches(&matches)?;
    args.llvm_options = llvm;
    Ok(args)
}

/// The most threads `--threads` (or `STRATA_NUM_THREADS`) may ask for. A
/// fixed limit, not a multiple of this host's cores, so a command line
/// means the same on every host. Far beyond any core count we target; the
/// point is refusing 10,000, where starting and waking the threads took 20 s
/// on a 1000-element loop.
pub const MAX_THREADS: usize = 256;

/// Runs `strata-run`; `Err` is the one-line message to print.
pub fn run(args: &RunArgs) -> Result<(), String> {
    let source = if args.file == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| format!("cannot read standard input: {e}"))?;
        bytes
    } else {
        std::fs::read(&args.file).map_err(|e| format!("cannot read input file '{}': {e}", args.file))?
    };
    let shown = if args.file == "-" { "<stdin>" } else { args.file.as_str() };
    let source = String::from_utf8(source).map_err(|_| format!("input file '{shown}' is not UTF-8 text"))?;
    if !args.llvm_options.is_empty() {
        strata_dialect::parse_llvm_options(&args.llvm_options).map_err(|e| {
            // LLVM's own wording suggests one of its thousand options.
            match e.split_once("Unknown command line argument '").and_then(|(_, rest)| rest.split_once('\'')) {
                Some((arg, _)) => format!("unknown option '{arg}': neither strata-run nor LLVM has it (see strata-run --help)"),
                None if e.is_empty() => "LLVM refused an option (its message is above)".to_string(),
                None => format!("LLVM refused an option: {e}"),
            }
        })?;
    }
    if args.no_implicit_module && !strata_dialect::top_level_is_symbol_table(&strata_dialect::new_context(), &source) {
        return Err("Error: top-level op must be a symbol table.".into());
    }
    let source_of_count = if args.threads.is_some() { "--threads" } else { "STRATA_NUM_THREADS" };
    let threads = match args.threads {
        Some(n) => Some(n),
        None => match std::env::var("STRATA_NUM_THREADS") {
            Ok(v) => Some(v.trim().parse().map_err(|_| format!("STRATA_NUM_THREADS='{v}' is not a number"))?),
            Err(_) => None,
        },
    };
    if threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    if let Some(n) = threads.filter(|n| *n > MAX_THREADS) {
        return Err(format!("{source_of_count}={n} is more than {MAX_THREADS}, the most worker threads strata-run starts"));
    }
    if let Some(n) = threads {
        strata_runtime::pool::set_threads(n);
        // The OpenMP path reads this when the JIT loads libomp.
        std::env::set_var("OMP_NUM_THREADS", n.to_string());
    }
    strata_passes::set_remarks(args.strata_remarks);
    let level: Level = args.level.parse().map_err(|e: strata_passes::PipelineError| e.to_string())?;
    // mlir-runner goes on without a library it cannot find (its tests
    // rely on that), after saying so.
    let mut shared_libs = Vec::new();
    for lib in &args.shared_libs {
        if Path::new(lib).exists() {
            shared_libs.push(lib.clone());
        } else {
            eprintln!("strata-run: warning: shared library '{lib}' does not exist; going on without it");
        }
    }
    let options = CompileOptions {
        level,
        pipeline: args.pass_pipeline.clone(),
        jit_opt_level: args.jit_opt.unwrap_or(if args.entry_point_result.is_some() { 0 } else { 3 }),
        shared_libs,
        keep_object: args.dump_object_file,
        target: args.strata_target.clone(),
        races: args.strata_races.parse().map_err(|e: strata_passes::PipelineError| e.to_string())?,
        tuning: args.strata_tuning == "on",
        time_ops: false,
    };
    let kernel = Kernel::compile(&source, shown, &options).map_err(|e| e.to_string())?;
    for remark in kernel.remarks() {
        eprintln!("{remark}");
    }

    if let Some(kind) = &args.entry_point_result {
        let elem = match kind.as_str() {
            "void" => None,
            "i32" => Some(ElemType::I32),
            "i64" => Some(ElemType::I64),
            "f32" => Some(ElemType::F32),
            other => return Err(format!("--entry-point-result='{other}': expected void, i32, i64 or f32")),
        };
        let result = kernel.call_entry_point(&args.entry, elem).map_err(runner_error)?;
        flush_c_stdout();
        if let Some(b) = result {
            match b.elem {
                // mlir-runner prints floats as raw_ostream does: %e.
                ElemType::F32 => println!("{}", c_exponent(b.get_f64(0).map_err(|e| e.to_string())?)),
                _ => println!("{}", format_scalar(&b, 0)),
            }
        }
        dump_object(args, &kernel);
        return Ok(());
    }

    let sig = kernel.signature(&args.entry).map_err(|e| e.to_string())?.clone();
    if args.inputs.len() != sig.inputs.len() {
        return Err(format!(
            "'{}' takes {} argument(s) but {} --input given",
            args.entry,
            sig.inputs.len(),
            args.inputs.len()
        ));
    }
    let mut values = Vec::new();
    for (i, (spec, t)) in args.inputs.iter().zip(&sig.inputs).enumerate() {
        values.push(parse_input(spec, t).map_err(|e| format!("--input #{} ('{spec}'): {e}", i + 1))?);
    }

    if let Some(runs) = args.benchmark {
        if runs == 0 {
            return Err("--benchmark needs at least 1 run".into());
        }
        let mut times: Vec<f64> = kernel
            .time_calls(&args.entry, &mut values, runs)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|d| d.as_secs_f64() * 1e3)
            .collect();
        times.sort_by(|a, b| a.total_cmp(b));
        let median = if runs % 2 == 1 { times[runs / 2] } else { (times[runs / 2 - 1] + times[runs / 2]) / 2.0 };
        println!(
            "benchmark: {runs} runs, median {median:.3} ms, min {:.3} ms, max {:.3} ms",
            times[0],
            times[runs - 1]
        );
        return Ok(());
    }

    let races_before = strata_runtime::race::races_found();
    let results = kernel.call(&args.entry, &mut values).map_err(|e| e.to_string())?;
    flush_c_stdout();
    dump_object(args, &kernel);
    if strata_runtime::race::races_found() > races_before {
        return Err("the kernel raced (--strata-races=runtime, above); its results are not printed".into());
    }
    // A function without results shows its memref arguments instead.
    let shown: Vec<Buffer> = if sig.results.is_empty() {
        values.into_iter().zip(&sig.inputs).filter(|(_, t)| matches!(t.kind, ArgKind::Memref(_))).map(|(v, _)| v).collect()
    } else {
        results
    };
    if args.outputs.is_empty() {
        let mut out = std::io::stdout().lock();
        for b in &shown {
            let _ = writeln!(out, "{}", format_buffer(b));
        }
        return Ok(());
    }
    if args.outputs.len() != shown.len() {
        return Err(format!("{} --output given but '{}' has {} result(s) to write", args.outputs.len(), args.entry, shown.len()));
    }
    for (spec, b) in args.outputs.iter().zip(&shown) {
        let path = spec.strip_prefix('@').ok_or_else(|| format!("--output='{spec}': expected @PATH.npy"))?;
        write_npy(Path::new(path), b).map_err(|e| format!("cannot write '{path}': {e}"))?;
    }
    Ok(())
}

/// The errors of mlir-runner mode (`--entry-point-result`) in mlir-runner's
/// words, `Error: ...` (its tests check them), our detail after them.
fn runner_error(e: crate::jit::Error) -> String {
    use crate::jit::Error as E;
    let (what, detail) = match &e {
        E::NoFunction(f) => ("entry point not found".to_string(), format!("no function named '{f}'")),
        E::Link(f) => ("entry point not found".to_string(), format!("'{f}' has no body, or a symbol it needs is missing")),
        E::EntryPointArguments { function, count } => {
            ("JIT can't invoke a main function expecting arguments".to_string(), format!("'{function}' takes {count}"))
        }
        E::EntryPointResult { function, expected, found } => {
            (format!("only single {expected} function result supported"), format!("'{function}' returns {found}"))
        }
        E::EntryPointVoid { function, found } => ("expected void function".to_string(), format!("'{function}' returns {found}")),
        _ => return e.to_string(),
    };
    format!("Error: {what} ({detail})")
}

/// `-dump-object-file`: the object code, after the call, as mlir-runner.
fn dump_object(args: &RunArgs, kernel: &Kernel) {
    if args.dump_object_file {
        let path = args.object_filename.clone().unwrap_or_else(|| format!("{}.o", args.file));
        kernel.dump_object_file(&path);
    }
}

/// `v` as C's `%e` (and LLVM's raw_ostream) prints it: `8.000000e+00`.
fn c_exponent(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() { "nan".into() } else if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let text = format!("{v:.6e}");
    let (mantissa, exponent) = text.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}`'s exponent is an integer");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// JIT'd code prints through C's stdio (`printf` in MLIR's runner utils);
/// flush it before Rust prints, so output keeps program order.
fn flush_c_stdout() {
    unsafe extern "C" {
        fn fflush(stream: *mut std::ffi::c_void) -> i32;
    }
    // SAFETY: fflush(NULL) flushes every C output stream.
    unsafe { fflush(std::ptr::null_mut()) };
}

/// Parses one `--input` against the parameter it fills.
pub fn parse_input(spec: &str, t: &ArgType) -> Result<Buffer, String> {
    let expected = t.shape();
    if let Some(path) = spec.strip_prefix('@') {
        let b = read_npy(Path::new(path), t.elem)?;
        if b.shape != expected {
            return Err(format!("the array has shape {:?}, but the parameter is {t}", b.shape));
        }
        return Ok(b);
    }
    let (ty, values) = spec.split_once('=').ok_or("expected DIMSxTYPE=VALUES, TYPE=VALUE or @PATH.npy")?;
    let (elem, dims) = split_type(ty)?;
    let shape: Vec<usize> = dims
        .iter()
        .map(|d| d.parse::<usize>().map_err(|_| format!("'{d}' is not a dimension size")))
        .collect::<Result<_, _>>()?;
    if elem != t.elem || shape != expected {
        return Err(format!("the value is {ty}, but the parameter is {t}"));
    }
    let mut b = Buffer::try_zeros(elem, &shape).map_err(|e| e.to_string())?;
    let items: Vec<&str> = values.split(',').collect();
    let n = b.len();
    if items.len() == 1 {
        for i in 0..n {
            b.set_from_text(i, items[0])?;
        }
    } else if items.len() == n {
        for (i, item) in items.iter().enumerate() {
            b.set_from_text(i, item)?;
        }
    } else {
        return Err(format!("{} values given for {n} elements", items.len()));
    }
    Ok(b)
}

/// `DIMSxTYPE` or `TYPE` into the element type and the dimensions. The
/// type is matched as a whole suffix: `index` itself holds an `x`.
fn split_type(ty: &str) -> Result<(ElemType, Vec<&str>), String> {
    for elem in [ElemType::F32, ElemType::F64, ElemType::I32, ElemType::I64, ElemType::Index] {
        if ty == elem.name() {
            return Ok((elem, vec![]));
        }
        if let Some(dims) = ty.strip_suffix(elem.name()).and_then(|d| d.strip_suffix('x')) {
            return Ok((elem, dims.split('x').collect()));
        }
    }
    let elem_text = ty.rsplit('x').next().unwrap_or(ty);
    Err(if elem_text.is_empty() {
        format!("'{ty}' names no element type (expected DIMSxTYPE or TYPE, TYPE one of f32, f64, i32, i64, index)")
    } else {
        format!("unknown element type '{elem_text}'")
    })
}

/// Element `i`, which the callers keep in range (they walk `b`'s shape).
fn format_scalar(b: &Buffer, i: usize) -> String {
    let in_range = "callers walk the buffer's own shape";
    match b.elem {
        ElemType::F32 => format!("{}", b.get_f64(i).expect(in_range) as f32),
        ElemType::F64 => format!("{}", b.get_f64(i).expect(in_range)),
        _ => format!("{}", b.get_i64(i).expect(in_range)),
    }
}

/// `DIMSxTYPE=[[...],[...]]`, or `TYPE=V` for rank 0.
pub fn format_buffer(b: &Buffer) -> String {
    let dims: String = b.shape.iter().map(|d| format!("{d}x")).collect();
    fn nest(b: &Buffer, dim: usize, offset: usize, out: &mut String) {
        if dim == b.shape.len() {
            out.push_str(&format_scalar(b, offset));
            return;
        }
        let inner: usize = b.shape[dim + 1..].iter().product();
        out.push('[');
        for i in 0..b.shape[dim] {
            if i > 0 {
                out.push(',');
            }
            nest(b, dim + 1, offset + i * inner, out);
        }
        out.push(']');
    }
    let mut body = String::new();
    nest(b, 0, 0, &mut body);
    format!("{dims}{}={body}", b.elem.name())
}

#[doc(hidden)]
pub fn read_npy(path: &Path, elem: ElemType) -> Result<Buffer, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    check_npy_header(&bytes).map_err(|e| format!("'{}' is not a valid .npy file: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| format!("'{}' is not a valid .npy file: {e}", path.display()))?;
    if npy.order() != npyz::Order::C && npy.shape().len() > 1 {
        return Err(format!("'{}' is in Fortran order; save it in C order", path.display()));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|d| *d as usize).collect();
    let dtype = format!("{:?}", npy.dtype());
    let mismatch = |_| format!("'{}' holds {dtype}, but the parameter's element type is {}", path.display(), elem.name());
    let bad = |e: std::io::Error| format!("'{}' is truncated or malformed: {e}", path.display());
    let buffer = match elem {
        ElemType::F32 => Buffer::from_f32(&shape, &npy.data::<f32>().map_err(mismatch)?.collect::<Result<Vec<_>, _>>().map_err(bad)?),
        ElemType::F64 => Buffer::from_f64(&shape, &npy.data::<f64>().map_err(mismatch)?.collect::<Result<Vec<_>, _>>().map_err(bad)?),
        ElemType::I32 => Buffer::from_i32(&shape, &npy.data::<i32>().map_err(mismatch)?.collect::<Result<Vec<_>, _>>().map_err(bad)?),
        ElemType::I64 | ElemType::Index => {
            Buffer::from_i64(&shape, &npy.data::<i64>().map_err(mismatch)?.collect::<Result<Vec<_>, _>>().map_err(bad)?)
        }
    };
    // A header whose shape disagrees with the data it holds.
    buffer.map_err(|e| format!("'{}' is truncated or malformed: {e}", path.display()))
}

/// What npyz would choke on, checked first: a header longer than the file
/// (npyz allocates the length the file claims, up to 4 GiB, before
/// reading) and a header nested deeper than a plain array's dictionary
/// and shape tuple (npyz's header grammar takes minutes on a dozen nested
/// braces). Both were found by the `npy` fuzzer.
fn check_npy_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 10 || !bytes.starts_with(b"\x93NUMPY") {
        return Ok(()); // npyz says what is wrong
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err("the header is truncated".into()),
    };
    if len > bytes.len() - start {
        return Err(format!("the header says it is {len} bytes long, but the file has {} bytes after it", bytes.len() - start));
    }
    let (mut depth, mut deepest) = (0i32, 0i32);
    for b in &bytes[start..start + len] {
        match b {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth -= 1,
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    if deepest > 4 {
        return Err(format!("its header is nested {deepest} deep; only plain numeric arrays are supported"));
    }
    Ok(())
}

fn write_npy(path: &Path, b: &Buffer) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = b.shape.iter().map(|d| *d as u64).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    macro_rules! write_as {
        ($t:ty, $get:expr) => {{
            let mut w = npyz::WriteOptions::<$t>::new().default_dtype().shape(&shape).writer(&mut file).begin_nd()?;
            for i in 0..b.len() {
                w.push(&$get(i))?;
            }
            w.finish()?;
        }};
    }
    // Indices walk `0..b.len()`: always in range.
    let f = |i| b.get_f64(i).expect("in range");
    let n = |i| b.get_i64(i).expect("in range");
    match b.elem {
        ElemType::F32 => write_as!(f32, |i| f(i) as f32),
        ElemType::F64 => write_as!(f64, f),
        ElemType::I32 => write_as!(i32, |i| n(i) as i32),
        ElemType::I64 | ElemType::Index => write_as!(i64, n),
    }
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(elem: ElemType, shape: &[usize]) -> ArgType {
        ArgType { elem, kind: ArgKind::Tensor(shape.to_vec()) }
    }

    #[test]
    fn inputs_in_every_form() {
        let b = parse_input("2x3xf32=1,2,3,4,5,6.5", &t(ElemType::F32, &[2, 3])).unwrap();
        assert_eq!(format_buffer(&b), "2x3xf32=[[1,2,3],[4,5,6.5]]");
        let b = parse_input("2x2xi64=7", &t(ElemType::I64, &[2, 2])).unwrap();
        assert_eq!(b.to_i64_vec(), vec![7; 4]);
        let b = parse_input("f64=-2.5", &ArgType { elem: ElemType::F64, kind: ArgKind::Scalar }).unwrap();
        assert_eq!(format_buffer(&b), "f64=-2.5");
        let b = parse_input("i32=3", &t(ElemType::I32, &[])).unwrap();
        assert_eq!(format_buffer(&b), "i32=3");
        // `index` holds an `x`: it once parsed as dims ["inde"] and type ''.
        let b = parse_input("index=3", &ArgType { elem: ElemType::Index, kind: ArgKind::Scalar }).unwrap();
        assert_eq!(format_buffer(&b), "index=3");
        let b = parse_input("2xindex=4,-5", &t(ElemType::Index, &[2])).unwrap();
        assert_eq!(b.to_i64_vec(), vec![4, -5]);
    }

    #[test]
    fn input_mistakes_are_named() {
        let e = parse_input("2x3xf32=1,2", &t(ElemType::F32, &[2, 3])).unwrap_err();
        assert_eq!(e, "2 values given for 6 elements");
        let e = parse_input("3x2xf32=1", &t(ElemType::F32, &[2, 3])).unwrap_err();
        assert_eq!(e, "the value is 3x2xf32, but the parameter is tensor<2x3xf32>");
        let e = parse_input("2x3xf16=1", &t(ElemType::F32, &[2, 3])).unwrap_err();
        assert_eq!(e, "unknown element type 'f16'");
        let e = parse_input("index=3", &ArgType { elem: ElemType::I64, kind: ArgKind::Scalar }).unwrap_err();
        assert_eq!(e, "the value is index, but the parameter is i64");
        let e = parse_input("2x=3", &t(ElemType::I64, &[2])).unwrap_err();
        assert!(e.contains("names no element type"), "{e}");
        let e = parse_input("2xi32=1,x", &t(ElemType::I32, &[2])).unwrap_err();
        assert_eq!(e, "'x' is not a valid i32 value");
        assert!(parse_input("nonsense", &t(ElemType::I32, &[2])).is_err());
    }

    #[test]
    fn npy_round_trip() {
        let dir = std::env::temp_dir().join(format!("strata-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        let b = Buffer::from_i32(&[2, 2], &[1, -2, 3, 4]).unwrap();
        write_npy(&p, &b).unwrap();
        assert_eq!(read_npy(&p, ElemType::I32).unwrap(), b);
        assert!(read_npy(&p, ElemType::F32).unwrap_err().contains("element type is f32"));
        std::fs::write(&p, b"not npy").unwrap();
        assert!(read_npy(&p, ElemType::I32).unwrap_err().contains("not a valid .npy file"));
    }
}
