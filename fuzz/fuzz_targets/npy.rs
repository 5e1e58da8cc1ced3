//! strata-run's `.npy` reader: the first byte picks the parameter's element
//! type, the rest is the file.
use libfuzzer_sys::fuzz_target;
use strata_driver::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::npy_bytes(data);
});

fn main() {
    strata_fuzz::libfuzzer_main()
}
