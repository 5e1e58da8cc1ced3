//! `strata-opt`: parse MLIR text, run a pass pipeline, print the result.
//! The contract is `shared/spec/tools.md`; flags follow `mlir-opt`.

use std::{
    ffi::OsString,
    io::{Read, Write},
    path::PathBuf,
};

use clap::{CommandFactory, FromArgMatches, Parser};
use melior::{
    ir::{
        operation::{OperationLike, OperationPrintingFlags},
        Module,
    },
    Context, StringRef,
};
use strata_passes::{
    levels::{self, Level},
    pipeline::{Element, Pipeline},
    registry::{self, Status},
};

use crate::{
    diagnostics::Collector,
    verify::{check, parse_expectations},
};

#[derive(Parser, Debug, Default)]
#[command(
    name = "strata-opt",
    version,
    about = "Runs MLIR pass pipelines (upstream and strata-*) over MLIR text",
    after_help = "Any other --NAME[=OPTIONS] flag adds the pass NAME (upstream or strata-*) to the pipeline, in order,\n\
                  e.g. --canonicalize --strata-tile=\"tile-sizes=64,64,32\"."
)]
pub struct OptArgs {
    /// Input file; `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file (`-` for standard output).
    #[arg(short = 'o', default_value = "-")]
    pub output: String,
    /// The pass pipeline, e.g. 'builtin.module(strata-fuse,canonicalize)'.
    #[arg(long = "pass-pipeline")]
    pub pass_pipeline: Option<String>,
    /// Run the default pipeline at this level (O0..O3), ending in the LLVM dialect.
    #[arg(long = "strata-pipeline", value_name = "LEVEL")]
    pub strata_pipeline: Option<String>,
    /// What code generation may assume: `host` (the default) or an LLVM CPU
    /// name (`znver3`, `skylake-avx512`, `x86-64-v3`), optionally followed by
    /// `,+feature,-feature`. Attached to the module as `strata.target` when a
    /// pipeline with a strata-* pass runs (or when this is given); a module
    /// that has one keeps it unless this is given.
    #[arg(long = "strata-target", value_name = "NAME")]
    pub strata_target: Option<String>,
    /// The default pipeline's race check (`strata-check-races`): `error`
    /// (provable races are errors), `warn`, or `off`.
    #[arg(long = "strata-races", value_name = "error|warn|off", default_value = "error")]
    pub strata_races: String,
    /// With --strata-pipeline=O2/O3: use configurations `strata-tune`
    /// cached for this kernel and target: `on` (the default) or `off`.
    #[arg(long = "strata-tuning", value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    pub strata_tuning: String,
    /// Process each chunk between `// -----` lines on its own.
    #[arg(long = "split-input-file")]
    pub split_input_file: bool,
    /// Check diagnostics against `// expected-error...` comments: `all`
    /// (the default: an unexpected diagnostic fails too) or `only-expected`.
    #[arg(long = "verify-diagnostics", value_name = "all|only-expected", num_args = 0..=1, require_equals = true,
          default_missing_value = "all", value_parser = ["all", "only-expected"])]
    pub verify_diagnostics: Option<String>,
    /// Print the IR after every pass.
    #[arg(long = "mlir-print-ir-after-all")]
    pub print_ir_after_all: bool,
    /// Print the IR before every pass.
    #[arg(long = "mlir-print-ir-before-all")]
    pub print_ir_before_all: bool,
    /// Print the IR after a pass that failed.
    #[arg(long = "mlir-print-ir-after-failure")]
    pub print_ir_after_failure: bool,
    /// Verify the IR after every pass (mlir-opt's default); with `false`,
    /// once at the end of the pipeline.
    #[arg(long = "verify-each", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub verify_each: bool,
    /// Report the time each pass took.
    #[arg(long = "mlir-timing")]
    pub timing: bool,
    /// Print locations.
    #[arg(long = "mlir-print-debuginfo")]
    pub print_debuginfo: bool,
    /// Print ops in the generic form.
    #[arg(long = "mlir-print-op-generic")]
    pub print_op_generic: bool,
    /// Print with local scope (no alias tables at the top).
    #[arg(long = "mlir-print-local-scope")]
    pub print_local_scope: bool,
    /// Print the IR dumps of --mlir-print-ir-* for the whole module, not
    /// only the op the pass ran on (mlir-opt's flag).
    #[arg(long = "mlir-print-ir-module-scope")]
    pub print_ir_module_scope: bool,
    /// With --mlir-print-ir-after-all: only after passes that changed the IR.
    #[arg(long = "mlir-print-ir-after-change")]
    pub print_ir_after_change: bool,
    /// Print elements attributes with more elements than this as
    /// `dense_resource<__elided__>` (mlir-opt's flag).
    #[arg(long = "mlir-elide-elementsattrs-if-larger", value_name = "N")]
    pub elide_elements_attrs: Option<usize>,
    /// Print locations in their pretty form (implies debug info).
    #[arg(long = "mlir-pretty-debuginfo")]
    pub pretty_debuginfo: bool,
    /// Run passes on one thread (mlir-opt's flag).
    #[arg(long = "mlir-disable-threading")]
    pub disable_threading: bool,
    /// Print the pipeline that will run, on standard error, before it runs.
    #[arg(long = "dump-pass-pipeline")]
    pub dump_pass_pipeline: bool,
    /// Accept ops of dialects that are not registered.
    #[arg(long = "allow-unregistered-dialect")]
    pub allow_unregistered_dialect: bool,
    /// Report what the strata-* passes did (vectorized loops and their
    /// widths, outlined parallel loops, passes still the identity) as remarks.
    #[arg(long = "strata-remarks")]
    pub strata_remarks: bool,
    /// List every pass (strata-* and upstream) and exit.
    #[arg(long = "list-passes")]
    pub list_passes: bool,
    /// Passes given as --NAME[=OPTIONS] flags, in order (filled in by
    /// `parse_args`, not by clap).
    #[arg(skip)]
    pub pass_flags: Vec<Element>,
}

/// A failure that has been reported to the user already, or a plain message
/// to report.
#[derive(Debug, thiserror::Error)]
pub enum OptError {
    #[error("{0}")]
    Message(String),
    /// Diagnostics were printed; nothing more to say.
    #[error("failed")]
    Reported,
}

/// Parses the command line, in any spelling LLVM's tools accept
/// ([`crate::cli`]). Flags clap does not know (`--cse`, `-cse`,
/// `--strata-tile=tile-sizes=8`) are pass flags, kept in order.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<OptArgs, clap::Error> {
    let command = OptArgs::command();
    let (clap_args, flags) = crate::cli::split_unknown_flags(&command, args);
    let pass_flags = flags
        .into_iter()
        .map(|(name, options)| Element::Pass { name, options: options.map(|o| o.trim_matches('"').to_string()).unwrap_or_default() })
        .collect();
    let matches = command.try_get_matches_from(clap_args)?;
    let mut args = OptArgs::from_arg_matches(&matches)?;
    args.pass_flags = pass_flags;
    Ok(args)
}

/// What the pipeline is, from whichever of the three ways it was given.
fn pipeline_of(args: &OptArgs) -> Result<Option<Pipeline>, OptError> {
    let given = [args.pass_pipeline.is_some(), args.strata_pipeline.is_some(), !args.pass_flags.is_empty()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(OptError::Message(
            "give the pipeline one way only: --pass-pipeline, --strata-pipeline, or pass flags".into(),
        ));
    }
    if let Some(text) = &args.pass_pipeline {
        return Pipeline::parse(text).map(Some).map_err(|e| OptError::Message(e.to_string()));
    }
    if let Some(level) = &args.strata_pipeline {
        let level: Level = level.parse().map_err(|e: strata_passes::PipelineError| OptError::Message(e.to_string()))?;
        let races: levels::Races =
            args.strata_races.parse().map_err(|e: strata_passes::PipelineError| OptError::Message(e.to_string()))?;
        return Ok(Some(levels::pipeline_with(level, races)));
    }
    if !args.pass_flags.is_empty() {
        let elements = strata_passes::pipeline::nest_implicitly(args.pass_flags.clone(), "builtin.module");
        return Ok(Some(Pipeline { anchor: "builtin.module".into(), elements }));
    }
    Ok(None)
}

/// `--list-passes`: the strata passes, then MLIR's registry.
pub fn list_passes() {
    let mut out = String::from("Strata passes:\n");
    for info in registry::PASSES.iter() {
        let planned = if info.status == Status::Planned { " [planned: not implemented yet]" } else { "" };
        out.push_str(&format!("  --{:<26} - {}{planned}\n", info.argument, info.summary));
        for o in info.options {
            out.push_str(&format!("    {:<26} - {} (default: '{}')\n", o.name, o.description, o.default));
        }
    }
    out.push_str("\nStrata internal steps (scheduled by the passes above):\n");
    for info in registry::INTERNAL.iter() {
        out.push_str(&format!("  --{:<26} - {}\n", info.argument, info.summary));
    }
    out.push_str("\nUpstream MLIR passes:\n");
    // A closed pipe (`--list-passes | head`) is not an error of ours.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    strata_passes::register_upstream_passes();
    strata_dialect::print_upstream_pass_registry();
}

/// One piece of the input: its text and the line it starts on.
struct Chunk<'a> {
    text: &'a str,
    first_line: usize,
}

fn split_chunks(source: &str, split: bool) -> Vec<Chunk<'_>> {
    if !split {
        return vec![Chunk { text: source, first_line: 1 }];
    }
    let mut chunks = Vec::new();
    let (mut start, mut first_line, mut line_no, mut offset) = (0, 1, 1, 0);
    for line in source.split_inclusive('\n') {
        if line.trim_start().starts_with("// -----") {
            chunks.push(Chunk { text: &source[start..offset], first_line });
            start = offset + line.len();
            first_line = line_no + 1;
        }
        offset += line.len();
        line_no += 1;
    }
    chunks.push(Chunk { text: &source[start..], first_line });
    chunks
}

/// Runs `strata-opt` with parsed arguments. `Ok` when everything succeeded
/// (with `--verify-diagnostics`: when every expectation held).
pub fn run(args: &OptArgs) -> Result<(), OptError> {
    if args.list_passes {
        list_passes();
        return Ok(());
    }
    let pipeline = pipeline_of(args)?;
    // MLIR aborts the process on this combination; mlir-opt's message.
    if args.print_ir_module_scope && !args.disable_threading && (args.print_ir_after_all || args.print_ir_before_all || args.print_ir_after_failure) {
        return Err(OptError::Message(
            "IR print for module scope can't be setup on a pass-manager without disabling multi-threading first (add --mlir-disable-threading)".into(),
        ));
    }
    // A bad name is reported once, before any chunk runs.
    crate::target::from_flag(args.strata_target.as_deref()).map_err(|e| OptError::Message(e.to_string()))?;
    let (name, source) = read_input(&args.input)?;
    strata_passes::set_remarks(args.strata_remarks);

    strata_passes::register_upstream_passes();
    let context = strata_dialect::new_context();
    context.set_allow_unregistered_dialects(args.allow_unregistered_dialect);
    if args.disable_threading {
        context.enable_multi_threading(false);
    }
    let collector = Collector::attach(&context);
    if args.verify_diagnostics.is_some() {
        strata_dialect::set_print_op_on_diagnostic(&context, false);
    } else {
        collector.echo_to_stderr(&name, &source);
    }
    if let (Some(pipeline), true) = (&pipeline, args.dump_pass_pipeline) {
        eprintln!("Pass Manager with {} passes:\n{}", pipeline.elements.len(), pipeline.to_text());
    }
    if let Some(pipeline) = &pipeline {
        // Report a bad pipeline once, before any chunk runs.
        pipeline.add_to(&strata_passes::pipeline::module_pass_manager(&context), "builtin.module").map_err(|e| OptError::Message(e.to_string()))?;
    }

    let mut outputs = Vec::new();
    let mut ok = true;
    for chunk in split_chunks(&source, args.split_input_file) {
        // Leading newlines keep MLIR's line numbers those of the whole file.
        let padded = format!("{}{}", "\n".repeat(chunk.first_line - 1), chunk.text);
        let result = process_chunk(&context, args, pipeline.as_ref(), &name, &padded);
        let diags = collector.take();
        if let Some(level) = &args.verify_diagnostics {
            let failures = match parse_expectations(chunk.text, chunk.first_line) {
                Ok(expected) => check(&name, &expected, &diags, level == "only-expected"),
                Err(bad) => vec![format!("{name}:{}:{}: error: {}", bad.line, bad.col, bad.message)],
            };
            for f in &failures {
                eprintln!("{f}");
            }
            ok &= failures.is_empty();
        } else {
            ok &= result.is_ok();
        }
        if let Ok(text) = result {
            outputs.push(text);
        }
    }

    write_output(&args.output, &outputs.join("// -----\n"))?;
    if ok {
        Ok(())
    } else {
        Err(OptError::Reported)
    }
}

fn read_input(input: &str) -> Result<(String, String), OptError> {
    if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| OptError::Message(format!("cannot read standard input: {e}")))?;
        return Ok(("<stdin>".into(), s));
    }
    let bytes =
        std::fs::read(input).map_err(|e| OptError::Message(format!("cannot read input file '{input}': {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| OptError::Message(format!("input file '{input}' is not UTF-8 text")))?;
    Ok((input.to_string(), text))
}

fn write_output(output: &str, text: &str) -> Result<(), OptError> {
    if output == "-" {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`strata-opt ... | head`) is not an error of ours.
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        return Ok(());
    }
    std::fs::write(PathBuf::from(output), text)
        .map_err(|e| OptError::Message(format!("cannot write output file '{output}': {e}")))
}

/// Parses, runs the pipeline on, and prints one chunk. Diagnostics go to
/// the context's handlers; `Err` means the chunk failed.
fn process_chunk(
    context: &Context,
    args: &OptArgs,
    pipeline: Option<&Pipeline>,
    name: &str,
    text: &str,
) -> Result<String, ()> {
    let module = strata_dialect::parse_module(context, text, name).ok_or(())?;
    if let Some(pipeline) = pipeline {
        // The target is what strata-* passes read; a pipeline of upstream
        // passes alone leaves the module as mlir-opt would.
        let op = module.as_operation().to_raw();
        if pipeline.mentions_strata_pass() || args.strata_target.is_some() {
            match crate::target::for_module(op, args.strata_target.as_deref()) {
                Ok(target) => target.attach(op),
                Err(e) => {
                    eprintln!("{name}: error: {e}");
                    return Err(());
                }
            }
        }
        tuned_pipeline(context, args, pipeline, &module).map_err(|e| {
            if let Some(message) = e {
                eprintln!("{name}: error: {message}");
            }
        })?;
    }
    let mut text = module.as_operation().to_string_with_flags(printing_flags(args)).map_err(|_| ())?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // mlir-opt ends each printed op with a blank line (also before each
    // `// -----` of --split-input-file); outputs compare equal with `diff`.
    text.push('\n');
    Ok(text)
}

/// How IR is printed, for the output and for IR dumps alike.
fn printing_flags(args: &OptArgs) -> OperationPrintingFlags {
    let mut flags = OperationPrintingFlags::new();
    if args.print_debuginfo || args.pretty_debuginfo {
        flags = flags.enable_debug_info(true, args.pretty_debuginfo);
    }
    if let Some(limit) = args.elide_elements_attrs {
        flags = flags.elide_large_elements_attributes(limit);
    }
    if args.print_op_generic {
        flags = flags.print_generic_operation_form();
    }
    if args.print_local_scope {
        flags = flags.use_local_scope();
    }
    flags
}

/// [`run_pipeline`], and for a default level with a cached tuning entry
/// (`crate::tune`): the steps up to the tuning point, then the rest with
/// the entry's options.
fn tuned_pipeline(context: &Context, args: &OptArgs, pipeline: &Pipeline, module: &Module) -> Result<(), Option<String>> {
    let level = args.strata_pipeline.as_deref().and_then(|l| l.parse::<Level>().ok());
    let at = pipeline.elements.iter().position(crate::tune::is_tuning_point);
    let (Some(level), Some(at), "on") = (level, at, args.strata_tuning.as_str()) else {
        return run_pipeline(context, args, pipeline, module);
    };
    if level < Level::O2 || !crate::tune::cache_path().is_some_and(|p| p.exists()) {
        return run_pipeline(context, args, pipeline, module);
    }
    let head = Pipeline { anchor: pipeline.anchor.clone(), elements: pipeline.elements[..at].to_vec() };
    run_pipeline(context, args, &head, module)?;
    let op = module.as_operation().to_raw();
    let found = crate::tune::consult(op, strata_runtime::pool::threads());
    if let Some(w) = found.warning {
        eprintln!("{w}");
    }
    let rest = match found.entry {
        Some(entry) => {
            if strata_passes::remarks_enabled() {
                strata_dialect::emit_remark(crate::tune::remark_location(op), &crate::tune::remark_text(&entry));
            }
            strata_passes::knobs::with_options(pipeline, &entry.options)
        }
        None => pipeline.clone(),
    };
    run_pipeline(context, args, &Pipeline { anchor: rest.anchor, elements: rest.elements[at..].to_vec() }, module)
}

/// `Err(Some(message))`: the pipeline could not be built; `Err(None)`: a
/// pass failed and its diagnostics were emitted.
fn run_pipeline(context: &Context, args: &OptArgs, pipeline: &Pipeline, module: &Module) -> Result<(), Option<String>> {
    let pm = strata_passes::pipeline::module_pass_manager(context);
    pipeline.add_to(&pm, "builtin.module").map_err(|e| Some(e.to_string()))?;
    if args.print_ir_after_all || args.print_ir_before_all || args.print_ir_after_failure {
        let flags = printing_flags(args);
        let no_tree = StringRef::new("");
        // SAFETY: `pm` is live; MLIR copies the flags.
        unsafe {
            mlir_sys::mlirPassManagerEnableIRPrinting(
                pm.to_raw(),
                args.print_ir_before_all,
                args.print_ir_after_all,
                args.print_ir_module_scope,
                args.print_ir_after_change,
                args.print_ir_after_failure,
                flags.to_raw(),
                no_tree.to_raw(),
            );
        }
    }
    if !args.verify_each {
        // SAFETY: `pm` is live.
        unsafe { mlir_sys::mlirPassManagerEnableVerifier(pm.to_raw(), false) }
    }
    if args.timing {
        // SAFETY: `pm` is live; the report prints when it is dropped.
        unsafe { mlir_sys::mlirPassManagerEnableTiming(pm.to_raw()) }
    }
    // SAFETY: the module and the pass manager share `context`.
    let result = unsafe { mlir_sys::mlirPassManagerRunOnOp(pm.to_raw(), module.as_operation().to_raw()) };
    if result.value == 0 {
        return Err(None);
    }
    // Without verification between passes, the result is verified once.
    // SAFETY: a live module; diagnostics go to the context's handler.
    if !args.verify_each && !unsafe { mlir_sys::mlirOperationVerify(module.as_operation().to_raw()) } {
        return Err(None);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> OptArgs {
        parse_args(std::iter::once("strata-opt").chain(list.iter().copied()).map(OsString::from)).unwrap()
    }

    #[test]
    fn pass_flags_keep_order_and_options() {
        let a = args(&["in.mlir", "--canonicalize", "--strata-tile=tile-sizes=8,4", "-o", "out", "--cse"]);
        assert_eq!(a.input, "in.mlir");
        assert_eq!(a.output, "out");
        let p = pipeline_of(&a).unwrap().unwrap();
        assert_eq!(p.to_text(), "builtin.module(canonicalize,strata-tile{tile-sizes=8,4},cse)");
    }

    #[test]
    fn one_way_to_give_a_pipeline() {
        let a = args(&["--cse", "--pass-pipeline=builtin.module(cse)"]);
        assert!(pipeline_of(&a).is_err());
        let a = args(&["--strata-pipeline=O2"]);
        assert!(pipeline_of(&a).unwrap().unwrap().to_text().contains("strata-fuse"));
        let a = args(&["--strata-pipeline=O7"]);
        assert!(pipeline_of(&a).is_err());
    }

    #[test]
    fn split_keeps_line_numbers() {
        let chunks = split_chunks("a\nb\n// -----\nc\n  // -----  x\nd", true);
        let got: Vec<_> = chunks.iter().map(|c| (c.text, c.first_line)).collect();
        assert_eq!(got, vec![("a\nb\n", 1), ("c\n", 4), ("d", 6)]);
        assert_eq!(split_chunks("a\n// -----\n", false).len(), 1);
    }
}
