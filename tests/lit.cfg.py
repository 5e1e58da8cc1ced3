# The Strata lit suite: FileCheck tests over strata-opt, the way MLIR tests
# itself. Run through scripts/test.sh, or directly:
#   lit -sv tests/   (after `cargo build`)
# STRATA_TOOLS_DIR picks the directory holding strata-opt (default:
# target/debug); the LLVM tools come from STRATA_LLVM_PREFIX, else from the
# prefix named in .cargo/config.toml.

import os
import re

import lit.formats

config.name = "Strata"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)

repo = os.path.dirname(config.test_source_root)
config.test_exec_root = os.path.join(repo, "target", "lit")


def llvm_prefix():
    if os.environ.get("STRATA_LLVM_PREFIX"):
        return os.environ["STRATA_LLVM_PREFIX"]
    with open(os.path.join(repo, ".cargo", "config.toml")) as f:
        m = re.search(r'STRATA_LLVM_PREFIX\s*=\s*"([^"]+)"', f.read())
    if not m:
        lit_config.fatal("no STRATA_LLVM_PREFIX in .cargo/config.toml")
    return m.group(1)


tools_dir = os.environ.get("STRATA_TOOLS_DIR", os.path.join(repo, "target", "debug"))
llvm_bin = os.path.join(llvm_prefix(), "bin")
for tool, where in [("strata-opt", tools_dir), ("strata-run", tools_dir), ("FileCheck", llvm_bin), ("not", llvm_bin), ("mlir-runner", llvm_bin)]:
    if not os.path.exists(os.path.join(where, tool)):
        lit_config.fatal(f"{tool} not found in {where}; run `cargo build` first")

config.environment["PATH"] = os.pathsep.join([tools_dir, llvm_bin, os.environ.get("PATH", "")])
# Keep Rust from printing backtraces; a test that sees one has found a bug.
config.environment["RUST_BACKTRACE"] = "0"
config.substitutions.append(("%examples", os.path.join(repo, "examples")))
config.substitutions.append(("%mlir_lib", os.path.join(llvm_prefix(), "lib")))
# The names upstream MLIR's lit configuration gives its runtime libraries,
# so that tests written in its manner read the same here.
for lib in ["mlir_c_runner_utils", "mlir_runner_utils", "mlir_async_runtime"]:
    config.substitutions.append((f"%{lib}", os.path.join(llvm_prefix(), "lib", f"lib{lib}.so")))
