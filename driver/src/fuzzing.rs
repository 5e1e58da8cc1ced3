//! In-process entry points for the fuzz targets in `fuzz/` (cargo-fuzz,
//! libFuzzer), kept in the library so that a crash input can be replayed by
//! an ordinary test.
//!
//! Each function takes arbitrary bytes or text and does what one of the
//! tools does with them, without printing: diagnostics and `Err` results
//! are the expected outcome for most inputs; a panic, abort or signal is a
//! bug. Nothing here reads or writes a path taken from the input.

use std::path::PathBuf;

use melior::{ir::operation::OperationLike, Context};
use strata_passes::{
    levels::{self, Level},
    pipeline::Pipeline,
};

use crate::{
    diagnostics::Collector,
    jit::{ArgKind, ArgType, ElemType},
    run,
};

/// What `strata-opt --strata-pipeline=LEVEL` does for one chunk of input:
/// parse (which verifies), run the level's pipeline, print the result.
/// Diagnostics are rendered as `strata-opt` renders them, then dropped.
/// Returns whether the chunk compiled.
pub fn opt_chunk(text: &str, level: Level) -> bool {
    strata_passes::register_upstream_passes();
    let context = strata_dialect::new_context();
    let collector = Collector::attach(&context);
    let name = "<fuzz>";
    let ok = compile_chunk(&context, text, name, level);
    for diag in collector.take() {
        // Rendering reads the source line a location names: part of what
        // the tool does with every diagnostic.
        let _ = diag.render(name, Some((name, text)));
    }
    ok
}

fn compile_chunk(context: &Context, text: &str, name: &str, level: Level) -> bool {
    let Some(module) = strata_dialect::parse_module(context, text, name) else {
        return false;
    };
    let pm = strata_passes::pipeline::module_pass_manager(context);
    if levels::pipeline(level).add_to(&pm, "builtin.module").is_err() {
        return false;
    }
    // SAFETY: the module and the pass manager share `context`.
    let result = unsafe { mlir_sys::mlirPassManagerRunOnOp(pm.to_raw(), module.as_operation().to_raw()) };
    if result.value == 0 {
        return false;
    }
    module.as_operation().to_string_with_flags(Default::default()).is_ok()
}

/// Opt's first-byte convention: a leading byte 0..=3 picks the level
/// (O0..O3) and is not part of the text; anything else means O3 on the
/// whole input (so plain `.mlir` files are seeds as they are).
pub fn split_level(data: &[u8]) -> (Level, &[u8]) {
    match data.first() {
        Some(0) => (Level::O0, &data[1..]),
        Some(1) => (Level::O1, &data[1..]),
        Some(2) => (Level::O2, &data[1..]),
        Some(3) => (Level::O3, &data[1..]),
        _ => (Level::O3, data),
    }
}

/// What `strata-opt --pass-pipeline=TEXT` does with the text before any
/// input is read: parse it, expand it into steps, add it to a pass
/// manager. Returns whether it was accepted.
pub fn pipeline_text(text: &str) -> bool {
    strata_passes::register_upstream_passes();
    // One context for every input: adding passes does not change it, and
    // building one per input would dominate the time. Its diagnostics (if
    // any) are dropped.
    thread_local! {
        static CONTEXT: Context = {
            let context = strata_dialect::new_context();
            context.attach_diagnostic_handler(|_| true);
            context
        };
    }
    let Ok(pipeline) = Pipeline::parse(text) else {
        return false;
    };
    let _ = pipeline.to_text();
    let _ = pipeline.steps();
    CONTEXT.with(|context| {
        let pm = strata_passes::pipeline::module_pass_manager(context);
        pipeline.add_to(&pm, "builtin.module").is_ok()
    })
}

/// The parameters `--input` specs are parsed against: every element type,
/// every kind, rank 0, an empty dimension.
pub fn input_signatures() -> Vec<ArgType> {
    let t = |elem, kind| ArgType { elem, kind };
    vec![
        t(ElemType::F32, ArgKind::Tensor(vec![2, 3])),
        t(ElemType::F64, ArgKind::Memref(vec![4])),
        t(ElemType::I32, ArgKind::Tensor(vec![])),
        t(ElemType::I64, ArgKind::Scalar),
        t(ElemType::Index, ArgKind::Scalar),
        t(ElemType::F32, ArgKind::Scalar),
        t(ElemType::I64, ArgKind::Memref(vec![0, 3])),
        t(ElemType::F64, ArgKind::Tensor(vec![1, 1, 2])),
    ]
}

/// What `strata-run --input=SPEC` does against one parameter, picked by the
/// first byte. Specs naming a file (`@PATH`) are skipped: the `npy` target
/// covers the reader, and a fuzzer must not open paths it made up.
pub fn input_spec(data: &[u8]) -> bool {
    let Some((&pick, rest)) = data.split_first() else {
        return false;
    };
    let Ok(spec) = std::str::from_utf8(rest) else {
        return false;
    };
    if spec.starts_with('@') {
        return false;
    }
    let signatures = input_signatures();
    let t = &signatures[pick as usize % signatures.len()];
    match run::parse_input(spec, t) {
        Ok(b) => {
            // Showing it is what strata-run does with a value it returns.
            let _ = run::format_buffer(&b);
            true
        }
        Err(_) => false,
    }
}

/// The element types `read_npy` is asked for, by the first byte.
const NPY_ELEMS: [ElemType; 5] = [ElemType::F32, ElemType::F64, ElemType::I32, ElemType::I64, ElemType::Index];

/// What `strata-run --input=@FILE.npy` does with the file's bytes (all but
/// the first, which picks the parameter's element type). The bytes go
/// through a scratch file of this process, since the reader takes a path.
pub fn npy_bytes(data: &[u8]) -> bool {
    let Some((&pick, bytes)) = data.split_first() else {
        return false;
    };
    thread_local! {
        static SCRATCH: PathBuf = std::env::temp_dir().join(format!("strata-fuzz-npy-{}.npy", std::process::id()));
    }
    let elem = NPY_ELEMS[pick as usize % NPY_ELEMS.len()];
    SCRATCH.with(|path| {
        if std::fs::write(path, bytes).is_err() {
            return false;
        }
        let result = run::read_npy(path, elem);
        if let Ok(b) = &result {
            let _ = run::format_buffer(b);
        }
        result.is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_byte_is_optional() {
        assert_eq!(split_level(b"\x01func"), (Level::O1, &b"func"[..]));
        assert_eq!(split_level(b"func"), (Level::O3, &b"func"[..]));
        assert_eq!(split_level(b""), (Level::O3, &b""[..]));
    }

    #[test]
    fn entry_points_accept_good_and_refuse_bad_input() {
        assert!(input_spec(b"\x002x3xf32=1,2,3,4,5,6"));
        assert!(!input_spec(b"\x002x3xf32=1,2"));
        assert!(!input_spec(b"\x00@/etc/passwd"));
        assert!(pipeline_text("builtin.module(strata-fuse,cse)"));
        assert!(!pipeline_text("builtin.module(no-such-pass)"));
        assert!(!npy_bytes(b"\x00not npy"));
    }
}
