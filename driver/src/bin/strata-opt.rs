//! `strata-opt`: the pass-pipeline tool. See `shared/spec/tools.md`.

use std::process::ExitCode;

use strata_driver::opt::{self, OptError};

fn main() -> ExitCode {
    strata_dialect::exit_on_llvm_fatal_errors();
    let args = match opt::parse_args(std::env::args_os()) {
        Ok(a) => a,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors
            // to stderr with exit 2.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match opt::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(OptError::Reported) => ExitCode::FAILURE,
        Err(OptError::Message(m)) => {
            eprintln!("strata-opt: error: {m}");
            ExitCode::FAILURE
        }
    }
}
