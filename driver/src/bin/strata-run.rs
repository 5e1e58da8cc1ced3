//! `strata-run`: the JIT kernel runner. See `shared/spec/tools.md`.

use std::process::ExitCode;

use clap::Parser;
use strata_driver::run::{run, RunArgs};

fn main() -> ExitCode {
    let args = match RunArgs::try_parse_from(strata_driver::cli::llvm_spellings(std::env::args_os())) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Messages that carry a location already read FILE:LINE:COL: error: ...
            if message.contains(": error: ") {
                eprintln!("{message}");
            } else {
                eprintln!("strata-run: error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
