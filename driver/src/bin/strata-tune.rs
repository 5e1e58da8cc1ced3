//! `strata-tune`: tunes a kernel's pass options on this host and caches the
//! winner for later compiles (`driver/src/tune.rs`).

use std::process::ExitCode;

fn main() -> ExitCode {
    strata_dialect::exit_on_llvm_fatal_errors();
    let args = match strata_driver::tune::parse_args(std::env::args_os()) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match strata_driver::tune::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if message.contains(": error: ") {
                eprintln!("{message}");
            } else {
                eprintln!("strata-tune: error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
