//! strata-run's `--input` spec parser: the first byte picks the parameter
//! (`strata_driver::fuzzing::input_signatures`), the rest is the spec.
use libfuzzer_sys::fuzz_target;
use strata_driver::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::input_spec(data);
});

fn main() {
    strata_fuzz::libfuzzer_main()
}
