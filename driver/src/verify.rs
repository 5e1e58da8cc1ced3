//! `--verify-diagnostics`: checks the diagnostics a chunk produced against
//! its `// expected-error@+1 {{...}}` comments, as `mlir-opt` does.
//!
//! Supported designators: none (this line), `@+N`, `@-N`, `@above`,
//! `@below` (the nearest line that is not itself only an expectation) and
//! `@unknown` (no file position). Severities: error, warning, remark, note.
//! The text between `{{` and `}}` must occur in the message. With the `-re`
//! suffix (`expected-error-re {{has {{[0-9]+}} operands}}`) the text runs
//! to the last `}}` of the line, and the `{{...}}` blocks inside it are
//! regular expressions while the rest is literal; the whole must match
//! somewhere in the message. MLIR reads them as POSIX ERE; we use the
//! `regex` crate, whose syntax agrees on ERE but also takes `\d`, `\w`
//! and the like, which mlir-opt would not: an expectation written for both
//! tools keeps to ERE. MLIR's C++ verifier is not reachable through the C API, hence
//! this module.

use crate::diagnostics::{Diag, Severity};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub severity: Severity,
    /// `None` for `@unknown`.
    pub line: Option<usize>,
    pub text: String,
    /// For `expected-*-re`: `text` as one regular expression.
    pub regex: Option<String>,
    /// Where the comment itself is, for reporting.
    pub comment_line: usize,
    pub comment_col: usize,
}

/// A malformed expectation comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadExpectation {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Reads the expectations of `text`, whose first line is line
/// `first_line` of the file.
pub fn parse_expectations(text: &str, first_line: usize) -> Result<Vec<Expected>, BadExpectation> {
    let lines: Vec<&str> = text.lines().collect();
    let is_designator_only = |l: &str| {
        let t = l.trim_start();
        t.starts_with("//") && t.contains("expected-")
    };
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut rest = *line;
        let mut offset = 0;
        while let Some(pos) = rest.find("expected-") {
            let col = offset + pos + 1;
            let after = &rest[pos + "expected-".len()..];
            let bad = |message: String| BadExpectation { line: first_line + i, col, message };
            let kind_len = after.find(|c: char| !c.is_ascii_alphabetic() && c != '-').unwrap_or(after.len());
            let kind = &after[..kind_len];
            let (base, is_regex) = match kind.strip_suffix("-re") {
                Some(base) => (base, true),
                None => (kind, false),
            };
            let severity = match base {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                "remark" => Severity::Remark,
                "note" => Severity::Note,
                _ => {
                    // Not an expectation (e.g. prose mentioning "expected-").
                    offset += pos + "expected-".len();
                    rest = after;
                    continue;
                }
            };
            let mut tail = &after[kind_len..];
            let target = if let Some(d) = tail.strip_prefix('@') {
                let end = d.find(|c: char| c.is_whitespace() || c == '{').unwrap_or(d.len());
                let designator = &d[..end];
                tail = &d[end..];
                match designator {
                    "unknown" => None,
                    "above" => Some(
                        (0..i)
                            .rev()
                            .find(|&j| !is_designator_only(lines[j]))
                            .ok_or_else(|| bad("'@above' has no line above it".into()))?,
                    ),
                    "below" => Some(
                        (i + 1..lines.len())
                            .find(|&j| !is_designator_only(lines[j]))
                            .ok_or_else(|| bad("'@below' has no line below it".into()))?,
                    ),
                    d => {
                        let n: i64 = d
                            .parse()
                            .map_err(|_| bad(format!("unknown designator '@{d}': expected @+N, @-N, @above, @below or @unknown")))?;
                        let j = i as i64 + n;
                        if j < 0 || j as usize >= lines.len() {
                            return Err(bad(format!("'@{d}' points outside the input")));
                        }
                        Some(j as usize)
                    }
                }
            } else {
                Some(i)
            };
            let tail_trim = tail.trim_start();
            let Some(body) = tail_trim.strip_prefix("{{") else {
                return Err(bad("expected '{{' after the expectation".into()));
            };
            // A regex's own `{{...}}` blocks nest inside: it ends at the
            // line's last `}}`.
            let end = if is_regex { body.rfind("}}") } else { body.find("}}") };
            let Some(end) = end else {
                return Err(bad("expected '}}' closing the expectation".into()));
            };
            let text = body[..end].to_string();
            let regex = if is_regex { Some(to_regex(&text).map_err(bad)?) } else { None };
            out.push(Expected {
                severity,
                line: target.map(|j| first_line + j),
                text,
                regex,
                comment_line: first_line + i,
                comment_col: col,
            });
            let consumed = rest.len() - body[end + 2..].len();
            offset += consumed;
            rest = &body[end + 2..];
        }
    }
    Ok(out)
}

/// The regular expression of an `expected-*-re` text: `{{...}}` blocks as
/// they are, the rest escaped. Checked here, so that a bad one is reported
/// at its comment.
fn to_regex(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&regex::escape(&rest[..open]));
        let inner = &rest[open + 2..];
        let close = inner.find("}}").ok_or_else(|| "a '{{' in the regular expression is not closed by '}}'".to_string())?;
        out.push_str(&format!("(?:{})", &inner[..close]));
        rest = &inner[close + 2..];
    }
    out.push_str(&regex::escape(rest));
    regex::Regex::new(&out).map_err(|e| format!("invalid regular expression: {}", e.to_string().lines().last().unwrap_or("")))?;
    Ok(out)
}

fn matches(e: &Expected, message: &str) -> bool {
    match &e.regex {
        Some(r) => regex::Regex::new(r).map(|r| r.is_match(message)).unwrap_or(false),
        None => message.contains(&e.text),
    }
}

/// Matches `diags` (notes included, each on its own) against `expected`.
/// Returns the failures, rendered as diagnostics in `file`. With
/// `only_expected` (`--verify-diagnostics=only-expected`), diagnostics no
/// comment expects are not failures.
pub fn check(file: &str, expected: &[Expected], diags: &[Diag], only_expected: bool) -> Vec<String> {
    let mut used = vec![false; expected.len()];
    let mut failures = Vec::new();
    let mut all = Vec::new();
    for d in diags {
        all.push(d);
        all.extend(d.notes.iter());
    }
    for d in all {
        let line = d.loc.as_ref().map(|l| l.line);
        let hit = expected.iter().enumerate().position(|(k, e)| {
            !used[k] && e.severity == d.severity && e.line == line && matches(e, &d.message)
        });
        match hit {
            Some(k) => used[k] = true,
            None if only_expected => {}
            None => {
                let at = match &d.loc {
                    Some(l) => format!("{}:{}:{}", l.file, l.line, l.col),
                    None => file.to_string(),
                };
                failures.push(format!("{at}: error: unexpected {}: {}", d.severity.as_str(), d.message));
            }
        }
    }
    for (e, used) in expected.iter().zip(used) {
        if !used {
            failures.push(format!(
                "{file}:{}:{}: error: expected {} \"{}\" was not produced",
                e.comment_line,
                e.comment_col,
                e.severity.as_str(),
                e.text
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::FileLoc;

    fn diag(line: usize, severity: Severity, message: &str) -> Diag {
        Diag {
            severity,
            loc: Some(FileLoc { file: "f.mlir".into(), line, col: 3 }),
            message: message.into(),
            notes: vec![],
        }
    }

    #[test]
    fn designators() {
        let text = "a\n// expected-error@+1 {{one}}\nb // expected-warning {{two}}\n// expected-note@-3 {{three}}\n// expected-remark@above {{four}}\n// expected-error@below {{five}}\n// expected-error@unknown {{six}}\nc\n";
        let e = parse_expectations(text, 10).unwrap();
        let got: Vec<_> = e.iter().map(|e| (e.severity, e.line, e.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Severity::Error, Some(12), "one"),
                (Severity::Warning, Some(12), "two"),
                (Severity::Note, Some(10), "three"),
                (Severity::Remark, Some(12), "four"),
                (Severity::Error, Some(17), "five"),
                (Severity::Error, None, "six"),
            ]
        );
    }

    #[test]
    fn two_on_one_line_and_prose() {
        let e = parse_expectations("x // expected-error {{a}} expected-note {{b}}\n// an expected-thing in prose\n", 1).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].severity, Severity::Note);
    }

    #[test]
    fn malformed() {
        assert!(parse_expectations("// expected-error@+9 {{x}}", 1).unwrap_err().message.contains("outside"));
        assert!(parse_expectations("// expected-error@foo {{x}}", 1).unwrap_err().message.contains("unknown designator"));
        assert!(parse_expectations("// expected-error {{x", 1).unwrap_err().message.contains("'}}'"));
        assert!(parse_expectations("// expected-error x", 1).unwrap_err().message.contains("'{{'"));
        assert!(parse_expectations("// expected-error-re {{a {{[0-9}} b}}", 1).unwrap_err().message.contains("invalid regular expression"));
        assert!(parse_expectations("// expected-error-re {{a {{x}", 1).unwrap_err().message.contains("'}}'"));
    }

    #[test]
    fn regular_expressions() {
        let text = "a // expected-error-re {{'func.return' op has {{[0-9]+}} operands (@{{.*}})}}\nb // expected-warning-re@-1 {{{{^}}x.y{{$}}}}\n";
        let exp = parse_expectations(text, 1).unwrap();
        assert_eq!(exp[0].text, "'func.return' op has {{[0-9]+}} operands (@{{.*}})");
        // Outside the blocks, text is literal: `(`, `.` and `@` match only themselves.
        let ok = check("f.mlir", &exp[..1], &[diag(1, Severity::Error, "'func.return' op has 12 operands (@main)")], false);
        assert!(ok.is_empty(), "{ok:?}");
        let bad = check("f.mlir", &exp[..1], &[diag(1, Severity::Error, "'func.return' op has no operands (@main)")], false);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(check("f.mlir", &exp[1..], &[diag(1, Severity::Warning, "x.y")], false).is_empty());
        assert_eq!(check("f.mlir", &exp[1..], &[diag(1, Severity::Warning, "xay")], false).len(), 2);
    }

    #[test]
    fn matching() {
        let exp = parse_expectations("a // expected-error {{K=32}}\nb // expected-warning {{never}}\n", 1).unwrap();
        let diags = [diag(1, Severity::Error, "contracting dimensions differ: lhs has K=32"), diag(2, Severity::Error, "surprise")];
        let failures = check("f.mlir", &exp, &diags, false);
        assert_eq!(
            failures,
            vec![
                "f.mlir:2:3: error: unexpected error: surprise".to_string(),
                "f.mlir:2:6: error: expected warning \"never\" was not produced".to_string(),
            ]
        );
        // Same text, wrong line: both sides fail.
        assert_eq!(check("f.mlir", &exp[..1], &[diag(2, Severity::Error, "K=32")], false).len(), 2);
        // only-expected: the surprise is no failure, the missing warning still is.
        assert_eq!(check("f.mlir", &exp, &diags, true), vec![failures[1].clone()]);
    }
}
