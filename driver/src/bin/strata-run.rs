//! `strata-run`: the JIT kernel runner. See `shared/spec/tools.md`.

use std::process::ExitCode;

use strata_driver::run::run;

fn main() -> ExitCode {
    strata_dialect::exit_on_llvm_fatal_errors();
    let args = match strata_driver::run::parse_args(std::env::args_os()) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Messages that carry a location already read FILE:LINE:COL:
            // error: ...; mlir-runner mode's read `Error: ...`, as there.
            if message.contains(": error: ") || message.starts_with("Error: ") {
                eprintln!("{message}");
            } else {
                eprintln!("strata-run: error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
