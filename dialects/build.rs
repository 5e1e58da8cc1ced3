//! Builds the C++ half of the dialect (`../CMakeLists.txt`) with CMake and
//! links it whole: the dialect's ops are only reached through static
//! registration tables, which a plain static link would drop.

use std::{env, path::PathBuf};

fn main() {
    let prefix = env::var("MLIR_SYS_220_PREFIX")
        .expect("MLIR_SYS_220_PREFIX is set in .cargo/config.toml; run cargo from the repository");
    let prefix = PathBuf::from(prefix);
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();

    for dir in ["CMakeLists.txt", "dialects/include", "dialects/lib"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=MLIR_SYS_220_PREFIX");

    let dst = cmake::Config::new(&root)
        .generator("Ninja")
        // LLVM's packaged libraries are release builds; match their ABI
        // checks whatever cargo profile is in use.
        .profile("Release")
        .define("MLIR_DIR", prefix.join("lib/cmake/mlir"))
        .define("LLVM_DIR", prefix.join("lib/cmake/llvm"))
        .define("CMAKE_C_COMPILER", prefix.join("bin/clang"))
        .define("CMAKE_CXX_COMPILER", prefix.join("bin/clang++"))
        .build_target("MLIRStrata")
        .build();

    println!(
        "cargo:rustc-link-search=native={}",
        dst.join("build/dialects/lib").display()
    );
    println!("cargo:rustc-link-lib=static:+whole-archive=MLIRStrata");
    println!("cargo:rustc-link-lib=dylib=stdc++");
    println!("cargo:include={}", root.join("dialects/include").display());
}
