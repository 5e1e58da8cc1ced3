//! Building the explicit [`Target`] from `--strata-target=NAME`: the one
//! place that looks at the host (LLVM's host CPU name and features, the
//! cache sizes in sysfs, the core count). Passes only ever see the result,
//! as the module's `strata.target` attribute.
//!
//! `NAME` is `host` or an LLVM x86-64 CPU name (`znver3`,
//! `skylake-avx512`, `x86-64-v3`, ...), optionally followed by
//! `,+feature,-feature` overrides in LLVM's spelling. LLVM decides what a
//! CPU name implies; cache sizes of named CPUs come from a small table of
//! the families we know (see [`caches_of`]), since LLVM does not model them
//! for x86.

use strata_dialect::cpu::{self, CpuError};
pub use strata_passes::target::{Target, TARGET_ATTR};

/// A target name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("unknown target CPU '{0}': expected 'host' or an LLVM x86-64 CPU name such as znver3, skylake-avx512 or x86-64-v3")]
    UnknownCpu(String),
    #[error("bad feature list '{0}' for target '{1}': expected comma-separated +name/-name with LLVM's x86 feature names (e.g. +avx512f,-avx2)")]
    BadFeature(String, String),
    #[error("malformed strata.target attribute {0}: expected a dictionary with at least cpu = \"NAME\" (and optionally features = \"+f,-g\")")]
    Malformed(String),
    #[error("LLVM has no x86-64 code generator in this build")]
    NoX86,
    #[error("target '{target}' needs {feature}, which this host ({host}) does not have: use --strata-target=host, or compile with strata-opt and run elsewhere")]
    NotExecutable { target: String, feature: String, host: String },
}

fn cpu_error(e: CpuError, cpu: &str, features: &str) -> TargetError {
    match e {
        CpuError::UnknownCpu => TargetError::UnknownCpu(cpu.into()),
        CpuError::BadFeature => TargetError::BadFeature(features.into(), cpu.into()),
        CpuError::NoX86Target => TargetError::NoX86,
    }
}

/// The target of a compile: the flag's, else `$STRATA_TARGET`'s (so that a
/// whole test suite can run under another target), else the host.
pub fn from_flag(flag: Option<&str>) -> Result<Target, TargetError> {
    match flag {
        Some(name) => resolve(name),
        None => resolve(&std::env::var("STRATA_TARGET").unwrap_or_else(|_| "host".into())),
    }
}

/// The target a compile of `module` uses: the flag's if given, else the
/// module's own `strata.target` (complete, as `strata-opt` writes it, or
/// just `{cpu = "NAME", features = "+f"}` as a user may write it), else
/// `$STRATA_TARGET`'s or the host's.
pub fn for_module(module: mlir_sys::MlirOperation, flag: Option<&str>) -> Result<Target, TargetError> {
    if flag.is_some() {
        return from_flag(flag);
    }
    let Some(attr) = strata_passes::ir::attribute(module, TARGET_ATTR) else { return from_flag(None) };
    if let Some(t) = Target::from_attr(attr) {
        return Ok(t);
    }
    // SAFETY: attribute queries on a live attribute.
    let field = |name: &str| unsafe {
        if !mlir_sys::mlirAttributeIsADictionary(attr) {
            return None;
        }
        let v = mlir_sys::mlirDictionaryAttrGetElementByName(attr, strata_passes::ir::sref(name));
        (!v.ptr.is_null() && mlir_sys::mlirAttributeIsAString(v))
            .then(|| strata_passes::ir::string_of(mlir_sys::mlirStringAttrGetValue(v)))
    };
    match (field("cpu"), field("features")) {
        (Some(cpu), features) => {
            let features = features.unwrap_or_default();
            resolve(&if features.is_empty() { cpu } else { format!("{cpu},{features}") })
        }
        _ => Err(TargetError::Malformed(strata_passes::ir::print_attr(attr))),
    }
}

/// The target `spec` names (`host`, `znver3`, `skylake-avx512,-avx512bw`).
pub fn resolve(spec: &str) -> Result<Target, TargetError> {
    let spec = spec.trim();
    let (name, overrides) = match spec.split_once(',') {
        Some((n, o)) => (n.trim(), o.trim()),
        None => (spec, ""),
    };
    let cores = std::thread::available_parallelism().map(|n| n.get() as i64).unwrap_or(1);
    let (cpu, features, caches) = if name == "host" || name.is_empty() {
        let cpu = cpu::host_cpu();
        let implied = cpu::cpu_features(&cpu, "").map_err(|e| cpu_error(e, &cpu, ""))?;
        // Where the host differs from what its CPU name implies (a VM that
        // hides AVX-512, say), the host wins; then the user's overrides.
        let mut diff: Vec<String> = cpu::host_features()
            .into_iter()
            .filter(|f| implied.iter().any(|i| i[1..] == f[1..]) && !implied.contains(f))
            .collect();
        diff.extend(overrides.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string));
        (cpu, diff.join(","), host_caches())
    } else {
        let caches = caches_of(name);
        (name.to_string(), overrides.to_string(), caches)
    };
    let all = cpu::cpu_features(&cpu, &features).map_err(|e| cpu_error(e, &cpu, &features))?;
    let (vector_bits, vector_registers) = Target::vector_shape(&all);
    let (l1d_bytes, l2_bytes, l3_bytes) = caches;
    Ok(Target { cpu, features, vector_bits, vector_registers, l1d_bytes, l2_bytes, l3_bytes, cores })
}

/// Every feature LLVM knows, `+name` or `-name`, for `target`: what the
/// JIT gives each function as `target_features`, so that code generation
/// uses exactly the target's ISA whatever the host's.
pub fn all_features(target: &Target) -> Result<Vec<String>, TargetError> {
    cpu::cpu_features(&target.cpu, &target.features).map_err(|e| cpu_error(e, &target.cpu, &target.features))
}

/// Whether code generation can emit instructions of `feature` in a kernel.
/// System features (`pku`, `mwaitx`, `wbnoinvd`, ...) are never emitted
/// for compute code, and hypervisors often hide them, so they must not make
/// a target unrunnable.
fn emitted_in_kernels(feature: &str) -> bool {
    const PREFIXES: [&str; 7] = ["sse", "avx", "fma", "amx", "sha", "sm3", "sm4"];
    const OTHERS: [&str; 22] = [
        "mmx", "x87", "cmov", "cx8", "cx16", "popcnt", "lzcnt", "bmi", "bmi2", "f16c", "movbe", "adx", "aes",
        "vaes", "pclmul", "vpclmulqdq", "gfni", "xop", "tbm", "crc32", "evex512", "sahf",
    ];
    PREFIXES.iter().any(|p| feature.starts_with(p)) || OTHERS.contains(&feature)
}

/// `Ok` if this host can run code built for `target`: every instruction-set
/// feature the target enables that kernels can use is one the host has.
pub fn check_executable(target: &Target) -> Result<(), TargetError> {
    let host = cpu::host_features();
    for f in all_features(target)? {
        let Some(name) = f.strip_prefix('+') else { continue };
        if emitted_in_kernels(name) && host.iter().any(|h| h.strip_prefix('-') == Some(name)) {
            return Err(TargetError::NotExecutable {
                target: if target.features.is_empty() { target.cpu.clone() } else { format!("{},{}", target.cpu, target.features) },
                feature: name.to_string(),
                host: cpu::host_cpu(),
            });
        }
    }
    Ok(())
}

/// L1d, L2 and L3 sizes in bytes of the host's first core, from sysfs,
/// with `x86-64`'s defaults for any the kernel does not report.
fn host_caches() -> (i64, i64, i64) {
    let (mut l1, mut l2, mut l3) = caches_of("x86-64");
    for index in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok().map(|s| s.trim().to_string());
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else { continue };
        let Some(bytes) = parse_size(&size) else { continue };
        match (level.as_str(), kind.as_str()) {
            ("1", "Data") => l1 = bytes,
            ("2", "Unified" | "Data") => l2 = bytes,
            ("3", "Unified" | "Data") => l3 = bytes,
            _ => {}
        }
    }
    (l1, l2, l3)
}

fn parse_size(size: &str) -> Option<i64> {
    let (num, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit()).unwrap_or(size.len()));
    let n: i64 = num.parse().ok()?;
    Some(match unit {
        "K" => n * 1024,
        "M" => n * 1024 * 1024,
        "G" => n * 1024 * 1024 * 1024,
        _ => n,
    })
}

/// Per-core L1d and L2, and L3, of a named CPU family (vendor data
/// sheets). Unknown names get generic x86-64 sizes: they only steer tile
/// sizes, never correctness.
pub fn caches_of(cpu: &str) -> (i64, i64, i64) {
    const K: i64 = 1024;
    const M: i64 = 1024 * 1024;
    match cpu {
        "znver1" | "znver2" => (32 * K, 512 * K, 16 * M),
        "znver3" => (32 * K, 512 * K, 32 * M),
        "znver4" => (32 * K, M, 32 * M),
        "znver5" => (48 * K, M, 32 * M),
        "skylake-avx512" | "cascadelake" | "cooperlake" => (32 * K, M, 11 * M / 8 * 16),
        "icelake-server" => (48 * K, 5 * M / 4, 48 * M),
        "sapphirerapids" | "emeraldrapids" | "graniterapids" => (48 * K, 2 * M, 64 * M),
        "icelake-client" | "tigerlake" | "rocketlake" => (48 * K, 512 * K, 8 * M),
        "alderlake" | "raptorlake" | "meteorlake" => (48 * K, 5 * M / 4, 24 * M),
        _ => (32 * K, 256 * K, 8 * M),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_targets_follow_llvm() {
        let avx2 = resolve("znver3").unwrap();
        assert_eq!((avx2.vector_bits, avx2.vector_registers, avx2.l2_bytes), (256, 16, 512 * 1024));
        let avx512 = resolve("skylake-avx512").unwrap();
        assert_eq!((avx512.vector_bits, avx512.vector_registers), (512, 32));
        assert_eq!(resolve("x86-64").unwrap().vector_bits, 128);
        assert_eq!(resolve("x86-64-v3").unwrap().vector_bits, 256);
        // Overrides in both directions.
        assert_eq!(resolve("znver3,+avx512f").unwrap().vector_bits, 512);
        assert_eq!(resolve("skylake-avx512,-avx512f").unwrap().vector_bits, 256);
        assert_eq!(resolve("x86-64, +avx2").unwrap().features, "+avx2");
    }

    #[test]
    fn bad_names_are_errors() {
        assert_eq!(resolve("pentium9").unwrap_err(), TargetError::UnknownCpu("pentium9".into()));
        assert!(matches!(resolve("znver3,+nosuchfeature"), Err(TargetError::BadFeature(..))));
        assert!(matches!(resolve("znver3,avx2"), Err(TargetError::BadFeature(..))));
    }

    #[test]
    fn host_is_executable_and_baseline_too() {
        let host = resolve("host").unwrap();
        assert!(matches!(host.vector_bits, 128 | 256 | 512));
        check_executable(&host).unwrap();
        check_executable(&resolve("x86-64").unwrap()).unwrap();
        // A target with a feature the host lacks is refused, naming it.
        let host_has_avx512 = host.vector_bits == 512;
        let r = check_executable(&resolve("x86-64,+avx512f").unwrap());
        assert_eq!(r.is_ok(), host_has_avx512, "{r:?}");
    }
}
