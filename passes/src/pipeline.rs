//! The textual pass pipeline: `builtin.module(strata-fuse, canonicalize,
//! func.func(cse), strata-tile{tile-sizes=64,64,32})`.
//!
//! Rust passes cannot enter MLIR's pass registry, so MLIR's own pipeline
//! parser never sees a `strata-*` name. We parse the pipeline here, hand
//! every run of upstream elements back to MLIR verbatim
//! (`mlirOpPassManagerAddPipeline`, so upstream syntax and options behave
//! exactly as in `mlir-opt`), and add each `strata-*` element ourselves:
//! a Rust pass through MLIR's external-pass hook, or a pipeline pass as the
//! upstream text it expands to. All passes end up in one `PassManager`, so
//! IR printing, timing and verification see every one of them.

use melior::{pass::PassManager, StringRef};
use mlir_sys::{
    mlirOpPassManagerAddOwnedPass, mlirOpPassManagerAddPipeline, mlirOpPassManagerGetNestedUnder,
    mlirPassManagerGetAsOpPassManager, MlirOpPassManager,
};

use crate::{options::PassOptions, registry, PipelineError};

/// A pass manager for a module, as mlir-opt makes one: anchored on
/// `builtin.module` and nesting implicitly, so that a `func.func` pass given
/// to it (`-test-arith-emulate-wide-int`, `-convert-vector-to-scf`) runs
/// on each function. (melior's `PassManager::new` is anchored on `any`,
/// where such a pass is added as it is and then cannot run on the module.)
pub fn module_pass_manager(context: &melior::Context) -> PassManager<'_> {
    // SAFETY: a live context; the name outlives the call, which copies it.
    let pm = unsafe {
        PassManager::from_raw(mlir_sys::mlirPassManagerCreateOnOperation(context.to_raw(), StringRef::new("builtin.module").to_raw()))
    };
    strata_dialect::enable_implicit_nesting(pm.to_raw());
    pm
}

/// Nests each upstream pass of `elements` under the op it is anchored on,
/// as mlir-opt does with pass flags (`-convert-vector-to-scf
/// -convert-vector-to-llvm` is `func.func(convert-vector-to-scf),
/// convert-vector-to-llvm`); neighbours of one anchor share one nest.
/// Textual pipelines never nest implicitly (MLIR's parser turns it off), so
/// the flags' pipeline is nested here, before it becomes text.
pub fn nest_implicitly(elements: Vec<Element>, root: &str) -> Vec<Element> {
    crate::register_upstream_passes();
    let mut out: Vec<Element> = Vec::new();
    for element in elements {
        let anchor = match &element {
            Element::Pass { name, .. } if registry::lookup(name).is_none() => {
                strata_dialect::upstream_pass_anchor(name).filter(|a| a != root)
            }
            _ => None,
        };
        match anchor {
            Some(anchor) => match out.last_mut() {
                Some(Element::Nest { anchor: last, elements }) if *last == anchor => elements.push(element),
                _ => out.push(Element::Nest { anchor, elements: vec![element] }),
            },
            None => out.push(element),
        }
    }
    out
}

/// One element of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// A pass or registered pipeline, with the text of its options (without
    /// braces; empty when none were given).
    Pass { name: String, options: String },
    /// `anchor(elements)`: run `elements` on every nested op named `anchor`.
    Nest { anchor: String, elements: Vec<Element> },
}

impl Element {
    /// The element in MLIR's textual form.
    pub fn to_text(&self) -> String {
        match self {
            Element::Pass { name, options } if options.is_empty() => name.clone(),
            Element::Pass { name, options } => format!("{name}{{{options}}}"),
            Element::Nest { anchor, elements } => format!("{anchor}({})", elements_to_text(elements)),
        }
    }

    fn mentions_strata_pass(&self) -> bool {
        match self {
            Element::Pass { name, .. } => registry::lookup(name).is_some(),
            Element::Nest { elements, .. } => elements.iter().any(Element::mentions_strata_pass),
        }
    }
}

pub fn elements_to_text(elements: &[Element]) -> String {
    elements.iter().map(Element::to_text).collect::<Vec<_>>().join(",")
}

/// A full pipeline: `anchor(elements)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    pub anchor: String,
    pub elements: Vec<Element>,
}

impl Pipeline {
    /// Whether any element is a `strata-*` pass (which reads the module's
    /// `strata.target`); a pipeline of upstream passes alone behaves, and
    /// prints, exactly as under `mlir-opt`.
    pub fn mentions_strata_pass(&self) -> bool {
        self.elements.iter().any(Element::mentions_strata_pass)
    }

    /// Parses `--pass-pipeline` text, which must name its root anchor.
    pub fn parse(text: &str) -> Result<Self, PipelineError> {
        let mut p = Parser { text, pos: 0 };
        p.skip_ws();
        let anchor = p.name()?;
        p.skip_ws();
        if !p.eat('(') {
            return Err(p.error(&format!(
                "expected '(' after '{anchor}': a pipeline must name the op it runs on, as in 'builtin.module(...)'"
            )));
        }
        let elements = p.elements_until_close()?;
        p.skip_ws();
        if p.pos != text.len() {
            return Err(p.error("unexpected text after the pipeline"));
        }
        Ok(Self { anchor, elements })
    }

    /// Parses a comma-separated list of elements without an anchor, as in
    /// the body of `builtin.module(...)`.
    pub fn parse_elements(anchor: &str, text: &str) -> Result<Self, PipelineError> {
        let mut p = Parser { text, pos: 0 };
        let elements = p.elements(None)?;
        Ok(Self { anchor: anchor.to_string(), elements })
    }

    pub fn to_text(&self) -> String {
        format!("{}({})", self.anchor, elements_to_text(&self.elements))
    }

    /// The top-level steps, with `strata-*` passes that are pipelines
    /// expanded into their own steps: running these one after another does
    /// what the whole pipeline does, and a failure names its step.
    pub fn steps(&self) -> Result<Vec<Element>, PipelineError> {
        let mut out = Vec::new();
        for element in &self.elements {
            match element {
                Element::Pass { name, options } => match registry::lookup(name) {
                    Some(info) => {
                        let parsed = PassOptions::parse(info.argument, info.options, options)?;
                        match info.build {
                            registry::Build::Pipeline(expand) => out.extend(expand(&parsed).steps()?),
                            registry::Build::Rust(_) => out.push(element.clone()),
                        }
                    }
                    None => out.push(element.clone()),
                },
                Element::Nest { .. } => out.push(element.clone()),
            }
        }
        Ok(out)
    }

    /// Adds every element to `pm`, whose root op is `root_op`.
    pub fn add_to(&self, pm: &PassManager, root_op: &str) -> Result<(), PipelineError> {
        if self.anchor != root_op && self.anchor != "any" {
            return Err(PipelineError::new(format!(
                "the pipeline is anchored on '{}' but runs on '{root_op}'",
                self.anchor
            )));
        }
        // SAFETY: the op pass manager is owned by `pm`, which outlives this call.
        let opm = unsafe { mlirPassManagerGetAsOpPassManager(pm.to_raw()) };
        add_elements(opm, &self.elements)
    }
}

fn add_elements(opm: MlirOpPassManager, elements: &[Element]) -> Result<(), PipelineError> {
    // Runs of elements with no strata pass go to MLIR as one piece of text.
    let mut upstream: Vec<Element> = Vec::new();
    for element in elements {
        if !element.mentions_strata_pass() {
            upstream.push(element.clone());
            continue;
        }
        add_upstream(opm, &upstream)?;
        upstream.clear();
        match element {
            Element::Nest { anchor, elements } => {
                let name = StringRef::new(anchor);
                // SAFETY: the nested manager is owned by `opm`.
                let nested = unsafe { mlirOpPassManagerGetNestedUnder(opm, name.to_raw()) };
                add_elements(nested, elements)?;
            }
            Element::Pass { name, options } => {
                let info = registry::lookup(name).expect("mentions_strata_pass checked the name");
                match info.instantiate(options)? {
                    registry::Instance::Pass(pass) => {
                        // SAFETY: ownership of the pass moves to `opm`.
                        unsafe { mlirOpPassManagerAddOwnedPass(opm, pass) }
                    }
                    registry::Instance::Pipeline(pipeline) => add_elements(opm, &pipeline.elements)?,
                }
            }
        }
    }
    add_upstream(opm, &upstream)
}

fn add_upstream(opm: MlirOpPassManager, elements: &[Element]) -> Result<(), PipelineError> {
    if elements.is_empty() {
        return Ok(());
    }
    let text = elements_to_text(elements);
    let raw = StringRef::new(&text);
    // SAFETY: `text` outlives the call.
    let (result, message) = strata_dialect::strings::collect(|cb, ud| unsafe { mlirOpPassManagerAddPipeline(opm, raw.to_raw(), cb, ud) });
    if result.value == 0 {
        let message = message.trim().trim_start_matches("MLIR Textual PassPipeline Parser:").trim();
        let message = message.lines().next().unwrap_or("").trim();
        // MLIR prefixes a position inside the pipeline text; ours names the text.
        let message = message.split_once(": error: ").map_or(message, |(_, m)| m).to_string();
        return Err(PipelineError::new(format!("invalid pass pipeline '{text}': {message}")));
    }
    Ok(())
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> PipelineError {
        PipelineError::new(format!("{message} (at offset {} of '{}')", self.pos, self.text))
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        // By the character's width: U+00A0 and other Unicode spaces take
        // more than one byte (a fuzzer found the panic a byte step caused).
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    fn name(&mut self) -> Result<String, PipelineError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || "_.-$".contains(c)) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a pass or op name"));
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn elements_until_close(&mut self) -> Result<Vec<Element>, PipelineError> {
        let elements = self.elements(Some(')'))?;
        if !self.eat(')') {
            return Err(self.error("expected ')'"));
        }
        Ok(elements)
    }

    fn elements(&mut self, close: Option<char>) -> Result<Vec<Element>, PipelineError> {
        let mut elements = Vec::new();
        self.skip_ws();
        if self.peek() == close {
            return Ok(elements);
        }
        loop {
            self.skip_ws();
            let name = self.name()?;
            self.skip_ws();
            if self.eat('(') {
                let nested = self.elements_until_close()?;
                elements.push(Element::Nest { anchor: name, elements: nested });
            } else if self.peek() == Some('{') {
                let options = self.braced()?;
                elements.push(Element::Pass { name, options });
            } else {
                elements.push(Element::Pass { name, options: String::new() });
            }
            self.skip_ws();
            if !self.eat(',') {
                break;
            }
        }
        self.skip_ws();
        if self.peek() != close {
            return Err(self.error(match close {
                Some(_) => "expected ',' or ')'",
                None => "expected ',' or the end of the pipeline",
            }));
        }
        Ok(elements)
    }

    /// Reads `{...}` with nested braces and quotes; returns the inside.
    fn braced(&mut self) -> Result<String, PipelineError> {
        let open = self.pos;
        let (mut depth, mut quoted) = (0usize, false);
        for (i, c) in self.text[open..].char_indices() {
            match c {
                '"' => quoted = !quoted,
                '{' if !quoted => depth += 1,
                '}' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = open + i + 1;
                        return Ok(self.text[open + 1..open + i].trim().to_string());
                    }
                }
                _ => {}
            }
        }
        Err(self.error("unbalanced '{' in pass options"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(name: &str, options: &str) -> Element {
        Element::Pass { name: name.into(), options: options.into() }
    }

    #[test]
    fn parses_nesting_and_options() {
        let p = Pipeline::parse(
            " builtin.module( strata-fuse , canonicalize{max-iterations=3 region-simplify=disabled}, func.func(cse, strata-tile{tile-sizes=64,64,32}) )",
        )
        .unwrap();
        assert_eq!(p.anchor, "builtin.module");
        assert_eq!(
            p.elements,
            vec![
                pass("strata-fuse", ""),
                pass("canonicalize", "max-iterations=3 region-simplify=disabled"),
                Element::Nest {
                    anchor: "func.func".into(),
                    elements: vec![pass("cse", ""), pass("strata-tile", "tile-sizes=64,64,32")],
                },
            ]
        );
        assert_eq!(
            p.to_text(),
            "builtin.module(strata-fuse,canonicalize{max-iterations=3 region-simplify=disabled},func.func(cse,strata-tile{tile-sizes=64,64,32}))"
        );
    }

    #[test]
    fn nested_braces_and_empty_pipeline() {
        let p = Pipeline::parse("builtin.module(inline{op-pipelines={func.func(cse)}})").unwrap();
        assert_eq!(p.elements, vec![pass("inline", "op-pipelines={func.func(cse)}")]);
        assert_eq!(Pipeline::parse("builtin.module()").unwrap().elements, vec![]);
    }

    #[test]
    fn syntax_errors_say_where() {
        for (text, needle) in [
            ("canonicalize", "expected '(' after 'canonicalize'"),
            ("builtin.module(cse", "expected ',' or ')'"),
            ("builtin.module(cse,)", "expected a pass or op name"),
            ("builtin.module(a{x=1)", "unbalanced '{'"),
            ("builtin.module(cse) extra", "unexpected text"),
        ] {
            let e = Pipeline::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
