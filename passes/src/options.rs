//! Pass options in MLIR's textual form: `{key=value key2=v1,v2 flag}`.
//!
//! Each `strata-*` pass declares its options ([`OptionSpec`]); parsing
//! checks names and value kinds against that declaration so that a typo in a
//! pipeline is an error naming the pass and the option, never a silent
//! default.

use std::collections::BTreeMap;

use crate::PipelineError;

/// What values an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// A signed integer.
    Int,
    /// A comma-separated list of signed integers.
    IntList,
    /// `true`, `false`, or the bare name (meaning `true`).
    Bool,
    /// One of the listed words.
    Choice(&'static [&'static str]),
}

/// One declared option of a pass.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptionKind,
    /// The value used when the option is not given, in textual form.
    pub default: &'static str,
    pub description: &'static str,
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    Int(i64),
    IntList(Vec<i64>),
    Bool(bool),
    Choice(String),
}

/// The options of one pass instance, defaults filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassOptions {
    values: BTreeMap<&'static str, OptionValue>,
}

impl PassOptions {
    /// Parses the text between the braces of `pass{...}` (without them).
    pub fn parse(pass: &str, specs: &[OptionSpec], text: &str) -> Result<Self, PipelineError> {
        let mut given = BTreeMap::new();
        for item in split_top_level(text) {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
                None => (item.trim(), None),
            };
            let spec = specs.iter().find(|s| s.name == key).ok_or_else(|| {
                let known: Vec<_> = specs.iter().map(|s| s.name).collect();
                PipelineError::new(format!(
                    "pass '{pass}' has no option '{key}'{}",
                    if known.is_empty() {
                        " (it takes no options)".to_string()
                    } else {
                        format!(" (options: {})", known.join(", "))
                    }
                ))
            })?;
            let value = parse_value(pass, spec, value)?;
            if given.insert(spec.name, value).is_some() {
                return Err(PipelineError::new(format!(
                    "pass '{pass}' option '{key}' is given twice"
                )));
            }
        }
        let mut values = BTreeMap::new();
        for spec in specs {
            let value = match given.remove(spec.name) {
                Some(v) => v,
                None => parse_value(pass, spec, Some(spec.default.to_string()))?,
            };
            values.insert(spec.name, value);
        }
        Ok(Self { values })
    }

    pub fn int(&self, name: &str) -> i64 {
        match self.values.get(name) {
            Some(OptionValue::Int(v)) => *v,
            other => panic!("option '{name}' is not a declared integer: {other:?}"),
        }
    }

    pub fn int_list(&self, name: &str) -> &[i64] {
        match self.values.get(name) {
            Some(OptionValue::IntList(v)) => v,
            other => panic!("option '{name}' is not a declared integer list: {other:?}"),
        }
    }

    pub fn boolean(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(OptionValue::Bool(v)) => *v,
            other => panic!("option '{name}' is not a declared flag: {other:?}"),
        }
    }

    pub fn choice(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(OptionValue::Choice(v)) => v,
            other => panic!("option '{name}' is not a declared choice: {other:?}"),
        }
    }
}

fn parse_value(pass: &str, spec: &OptionSpec, value: Option<String>) -> Result<OptionValue, PipelineError> {
    let bad = |what: &str, v: &str| {
        PipelineError::new(format!(
            "pass '{pass}' option '{}' expects {what}, found '{v}'",
            spec.name
        ))
    };
    match spec.kind {
        OptionKind::Bool => match value.as_deref() {
            None | Some("true") | Some("1") => Ok(OptionValue::Bool(true)),
            Some("false") | Some("0") => Ok(OptionValue::Bool(false)),
            Some(v) => Err(bad("true or false", v)),
        },
        OptionKind::Int => {
            let v = value.ok_or_else(|| bad("an integer", ""))?;
            v.parse().map(OptionValue::Int).map_err(|_| bad("an integer", &v))
        }
        OptionKind::IntList => {
            let v = value.ok_or_else(|| bad("a list of integers", ""))?;
            if v.is_empty() {
                return Ok(OptionValue::IntList(Vec::new()));
            }
            v.split(',')
                .map(|x| x.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map(OptionValue::IntList)
                .map_err(|_| bad("a list of integers", &v))
        }
        OptionKind::Choice(words) => {
            let v = value.ok_or_else(|| bad(&format!("one of {}", words.join(", ")), ""))?;
            if words.contains(&v.as_str()) {
                Ok(OptionValue::Choice(v))
            } else {
                Err(bad(&format!("one of {}", words.join(", ")), &v))
            }
        }
    }
}

/// Splits `a=1 b={x y} c="p q"` at spaces outside braces and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, None);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && !quoted && depth == 0 => {
                if let Some(s) = start.take() {
                    items.push(&text[s..i]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        items.push(&text[s..]);
    }
    items
}

fn unquote(v: &str) -> String {
    let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
    let v = v.strip_prefix('{').and_then(|v| v.strip_suffix('}')).unwrap_or(v);
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptionSpec] = &[
        OptionSpec { name: "tile-sizes", kind: OptionKind::IntList, default: "", description: "" },
        OptionSpec { name: "width", kind: OptionKind::Int, default: "0", description: "" },
        OptionSpec { name: "packing", kind: OptionKind::Bool, default: "false", description: "" },
        OptionSpec { name: "runtime", kind: OptionKind::Choice(&["pool", "omp"]), default: "pool", description: "" },
    ];

    #[test]
    fn defaults_fill_in() {
        let o = PassOptions::parse("p", SPECS, "").unwrap();
        assert_eq!(o.int_list("tile-sizes"), &[] as &[i64]);
        assert_eq!(o.int("width"), 0);
        assert!(!o.boolean("packing"));
        assert_eq!(o.choice("runtime"), "pool");
    }

    #[test]
    fn parses_every_kind() {
        let o = PassOptions::parse("p", SPECS, " tile-sizes=64,64,32  width=16 packing runtime=omp").unwrap();
        assert_eq!(o.int_list("tile-sizes"), &[64, 64, 32]);
        assert_eq!(o.int("width"), 16);
        assert!(o.boolean("packing"));
        assert_eq!(o.choice("runtime"), "omp");
        let o = PassOptions::parse("p", SPECS, "tile-sizes={8,4} packing=false").unwrap();
        assert_eq!(o.int_list("tile-sizes"), &[8, 4]);
        assert!(!o.boolean("packing"));
    }

    #[test]
    fn rejects_mistakes_by_name() {
        let e = PassOptions::parse("strata-tile", SPECS, "tile-size=4").unwrap_err();
        assert!(e.to_string().contains("pass 'strata-tile' has no option 'tile-size'"), "{e}");
        let e = PassOptions::parse("p", SPECS, "width=wide").unwrap_err();
        assert!(e.to_string().contains("option 'width' expects an integer, found 'wide'"), "{e}");
        let e = PassOptions::parse("p", SPECS, "runtime=tbb").unwrap_err();
        assert!(e.to_string().contains("one of pool, omp"), "{e}");
        let e = PassOptions::parse("p", SPECS, "width=1 width=2").unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        let e = PassOptions::parse("p", &[], "x=1").unwrap_err();
        assert!(e.to_string().contains("takes no options"), "{e}");
    }
}
