//! Command-line spellings as LLVM's tools accept them, for both tools:
//! `-flag` and `--flag`, `-flag=value` and `-flag value`, the one-letter
//! `-o` and `-e`, and `-O0`..`-O3`.
//!
//! clap reads `-entry-point-result=void` as `-e ntry-point-result=void` and
//! refuses `-convert-vector-to-llvm`, while LLVM's library takes one dash or
//! two for every option. Rather than writing our own parser (clap gives the
//! help, the errors and the typed values), the arguments are respelled
//! before clap sees them: a single-dash word of two or more letters becomes
//! its double-dash form. One-letter options stay short (and `--e=NAME`
//! becomes `-e=NAME`), and `-O0`..`-O3` (which LLVM also spells `--O3`)
//! stay clap's `-O` with a value.

use std::ffi::OsString;

/// Respells `args` (the program name first) for clap. After a bare `--`,
/// everything is an operand and stays as it is.
pub fn llvm_spellings(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut operands_only = false;
    let mut value_next = false;
    for (i, arg) in args.into_iter().enumerate() {
        // The value of `-o FILE` / `-e NAME` stays as it is, `-o -out.mlir`
        // included.
        if i == 0 || operands_only || std::mem::take(&mut value_next) {
            out.push(arg);
            continue;
        }
        let Some(text) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            operands_only = true;
            out.push(arg);
            continue;
        }
        let spelled = respell(text).unwrap_or_else(|| text.to_string());
        value_next = matches!(spelled.as_str(), "-o" | "-e");
        out.push(OsString::from(spelled));
    }
    out
}

/// Respells `args` ([`llvm_spellings`]) and splits off the `--NAME[=VALUE]`
/// flags `command` has no argument for (in order, as `(NAME, VALUE)`):
/// strata-opt's pass flags, strata-run's options for LLVM. The rest is
/// for clap.
pub fn split_unknown_flags(command: &clap::Command, args: impl IntoIterator<Item = OsString>) -> (Vec<OsString>, Vec<(String, Option<String>)>) {
    let known: Vec<&str> = command.get_arguments().filter_map(|a| a.get_long()).chain(["help", "version"]).collect();
    let mut for_clap = Vec::new();
    let mut unknown = Vec::new();
    for (i, arg) in llvm_spellings(args).into_iter().enumerate() {
        if let (true, Some(flag)) = (i > 0, arg.to_str().and_then(|t| t.strip_prefix("--"))) {
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            if !name.is_empty() && !known.contains(&name) {
                unknown.push((name.to_string(), value));
                continue;
            }
        }
        for_clap.push(arg);
    }
    (for_clap, unknown)
}

/// The clap spelling of one argument, if it differs.
fn respell(text: &str) -> Option<String> {
    if let Some(level) = text.strip_prefix("--O").filter(|l| is_opt_level(l)) {
        return Some(format!("-O{level}"));
    }
    // `--e=NAME`, `--o FILE`: a one-letter option with two dashes.
    if let Some(long) = text.strip_prefix("--") {
        let name_len = long.find('=').unwrap_or(long.len());
        return (name_len == 1 && long.starts_with(|c: char| c.is_ascii_alphabetic())).then(|| format!("-{long}"));
    }
    let rest = text.strip_prefix('-')?;
    if rest.strip_prefix('O').is_some_and(is_opt_level) {
        return None;
    }
    let name_len = rest.find('=').unwrap_or(rest.len());
    // A word (two letters or more, starting with a letter): a long option.
    // `-o`, `-e`, `-h`, `-` and values such as `-1` or `-0.5` stay.
    (name_len >= 2 && rest.starts_with(|c: char| c.is_ascii_alphabetic())).then(|| format!("-{text}"))
}

fn is_opt_level(s: &str) -> bool {
    matches!(s, "0" | "1" | "2" | "3")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(args: &[&str]) -> Vec<String> {
        llvm_spellings(std::iter::once("tool").chain(args.iter().copied()).map(OsString::from))
            .into_iter()
            .skip(1)
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_words_become_long_options() {
        assert_eq!(
            spell(&["-entry-point-result=void", "-e", "main", "-shared-libs=a.so,b.so", "-convert-vector-to-llvm"]),
            ["--entry-point-result=void", "-e", "main", "--shared-libs=a.so,b.so", "--convert-vector-to-llvm"]
        );
        assert_eq!(spell(&["-pass-pipeline", "builtin.module(cse)"]), ["--pass-pipeline", "builtin.module(cse)"]);
        assert_eq!(spell(&["--split-input-file", "-o", "-", "-"]), ["--split-input-file", "-o", "-", "-"]);
        assert_eq!(spell(&["--e=main", "--o", "out", "-e=main"]), ["-e=main", "-o", "out", "-e=main"]);
        assert_eq!(spell(&["-o", "-out.mlir", "-canonicalize", "--o", "-x.mlir"]), ["-o", "-out.mlir", "--canonicalize", "-o", "-x.mlir"]);
    }

    #[test]
    fn optimization_levels_and_values_stay_short() {
        assert_eq!(spell(&["-O0", "-O3", "--O2", "-O4"]), ["-O0", "-O3", "-O2", "--O4"]);
        assert_eq!(spell(&["--input", "-1", "-0.5", "-x"]), ["--input", "-1", "-0.5", "-x"]);
        // After `--`, a file named like a flag.
        assert_eq!(spell(&["--", "-weird-name.mlir"]), ["--", "-weird-name.mlir"]);
    }
}
