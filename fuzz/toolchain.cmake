# CMake toolchain file for the fuzz build of the dialect's C++ (set through
# CMAKE_TOOLCHAIN_FILE by scripts/fuzz.sh; the cmake crate passes it on).
#
# cc-rs adds -fsanitize=address to the C++ flags when rustc builds with
# ASan, so our verifiers and parsers are checked too. CMake's compiler
# check links a test program, which needs clang's own ASan runtime (not
# installed with clang here; the fuzz target links rustc's): check by
# building a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# libFuzzer's coverage feedback from our C++ as well as from Rust, and
# UBSan in trap mode (no runtime library needed: undefined behaviour is an
# illegal instruction, which libFuzzer reports as a crash).
set(STRATA_FUZZ_FLAGS "-fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp -fsanitize=undefined -fsanitize-trap=undefined")
set(CMAKE_C_FLAGS_RELEASE_INIT "${STRATA_FUZZ_FLAGS}")
set(CMAKE_CXX_FLAGS_RELEASE_INIT "${STRATA_FUZZ_FLAGS}")
