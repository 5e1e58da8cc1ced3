//! strata-opt's parse, verify and default pipeline on arbitrary text. A
//! leading byte 0..=3 picks O0..O3; otherwise O3 (see
//! `strata_driver::fuzzing::split_level`). Invalid UTF-8 is refused before
//! MLIR sees it, as strata-opt refuses it.
use libfuzzer_sys::fuzz_target;
use strata_driver::fuzzing;

fuzz_target!(|data: &[u8]| {
    let (level, text) = fuzzing::split_level(data);
    if let Ok(text) = std::str::from_utf8(text) {
        fuzzing::opt_chunk(text, level);
    }
});

fn main() {
    strata_fuzz::libfuzzer_main()
}
