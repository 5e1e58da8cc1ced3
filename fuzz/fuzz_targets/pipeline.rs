//! The pass-pipeline text parser, and adding the parsed pipeline to a
//! PassManager (what `--pass-pipeline=TEXT` does before reading input).
use libfuzzer_sys::fuzz_target;
use strata_driver::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::pipeline_text(text);
    }
});

fn main() {
    strata_fuzz::libfuzzer_main()
}
