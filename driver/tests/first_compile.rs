//! The first compiles of a process, on several threads at once: each
//! registers LLVM's x86-64 target on its way (the CPU queries behind
//! `--strata-target`, the ExecutionEngine), and the registry takes no lock.
//! Two tests starting together once got "LLVM has no x86-64 code
//! generator in this build". Its own binary, so that these are the
//! process's first.

use std::sync::{Arc, Barrier};

use strata_driver::jit::{Buffer, CompileOptions, Kernel};

#[test]
fn eight_threads_compile_first_at_once() {
    let threads = 8;
    let start = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let target = if i % 2 == 0 { "znver3" } else { "x86-64-v3" };
                strata_driver::target::resolve(target).map_err(|e| format!("{target}: {e}"))?;
                let src = "func.func @f(%x: tensor<5xf32>) -> tensor<5xf32> {\n  %y = strata.add %x, %x : tensor<5xf32>\n  return %y : tensor<5xf32>\n}\n";
                let options = CompileOptions { target: Some("x86-64".into()), tuning: false, ..Default::default() };
                let k = Kernel::compile(src, "first.mlir", &options).map_err(|e| e.to_string())?;
                let out = k.call("f", &mut [Buffer::from_f32(&[5], &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap()]).map_err(|e| e.to_string())?;
                let got = out[0].to_f64_vec();
                if got != [2.0, 4.0, 6.0, 8.0, 10.0] {
                    return Err(format!("got {got:?}"));
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a compiling thread panicked").unwrap();
    }
}
