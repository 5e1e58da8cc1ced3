//! Captures MLIR's diagnostics and prints them as `FILE:LINE:COL: error:
//! MESSAGE`, with the source line and a caret under the column, like
//! `mlir-opt` does.

use std::sync::{Arc, Mutex};

use melior::{
    diagnostic::{Diagnostic, DiagnosticSeverity},
    ir::Location,
    Context,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Remark,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Remark => "remark",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    fn from_mlir(s: DiagnosticSeverity) -> Self {
        match s {
            DiagnosticSeverity::Error => Severity::Error,
            DiagnosticSeverity::Warning => Severity::Warning,
            DiagnosticSeverity::Remark => Severity::Remark,
            DiagnosticSeverity::Note => Severity::Note,
        }
    }
}

/// A file position, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLoc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub severity: Severity,
    /// `None` when the location has no file position (`loc(unknown)`).
    pub loc: Option<FileLoc>,
    pub message: String,
    pub notes: Vec<Diag>,
}

impl Diag {
    fn from_mlir(d: &Diagnostic) -> Self {
        let notes = (0..d.note_count()).filter_map(|i| d.note(i).ok()).map(|n| Diag::from_mlir(&n)).collect();
        Diag {
            severity: Severity::from_mlir(d.severity()),
            loc: file_loc(d.location()),
            message: d.to_string(),
            notes,
        }
    }

    /// Renders the diagnostic and its notes. `source` is the text of the
    /// file named `source_name`, used to show the offending line.
    pub fn render(&self, fallback_file: &str, source: Option<(&str, &str)>) -> String {
        let mut out = String::new();
        self.render_into(&mut out, fallback_file, source);
        for note in &self.notes {
            note.render_into(&mut out, fallback_file, source);
        }
        out
    }

    fn render_into(&self, out: &mut String, fallback_file: &str, source: Option<(&str, &str)>) {
        let kind = self.severity.as_str();
        match &self.loc {
            Some(l) => {
                out.push_str(&format!("{}:{}:{}: {kind}: {}\n", l.file, l.line, l.col, self.message));
                if let Some((name, text)) = source {
                    if name == l.file && l.line > 0 {
                        if let Some(line) = text.lines().nth(l.line.saturating_sub(1)) {
                            out.push_str(line);
                            out.push('\n');
                            out.push_str(&" ".repeat(l.col.saturating_sub(1)));
                            out.push_str("^\n");
                        }
                    }
                }
            }
            None => out.push_str(&format!("{fallback_file}: {kind}: {}\n", self.message)),
        }
    }
}

/// The position a user should look at, as MLIR's own handler picks it:
/// through names and call sites (the callee) to the first file position.
pub fn file_loc(loc: Location) -> Option<FileLoc> {
    if loc.is_file_line_col_range() {
        return Some(FileLoc {
            file: loc.file_line_col_range_filename().as_string_ref().as_str().unwrap_or("").to_string(),
            line: loc.file_line_col_range_start_line(),
            col: loc.file_line_col_range_start_column(),
        });
    }
    if loc.is_name() {
        return file_loc(loc.name_child_location());
    }
    if loc.is_call_site() {
        return file_loc(loc.call_site_callee()).or_else(|| file_loc(loc.call_site_caller()));
    }
    if loc.is_fused() {
        return (0..loc.fused_num_locations()).find_map(|i| file_loc(loc.fused_location(i)));
    }
    None
}

/// Every diagnostic the context emits from now on, in order. With `echo`,
/// each is also printed to stderr as it arrives (so that it interleaves
/// correctly with IR dumps).
#[derive(Clone)]
pub struct Collector {
    diags: Arc<Mutex<Vec<Diag>>>,
    echo: Arc<Mutex<Option<Echo>>>,
}

struct Echo {
    file: String,
    source: String,
}

impl Collector {
    pub fn attach(context: &Context) -> Self {
        let collector = Collector { diags: Arc::default(), echo: Arc::default() };
        let sink = collector.clone();
        context.attach_diagnostic_handler(move |d| {
            let diag = Diag::from_mlir(&d);
            if let Ok(echo) = sink.echo.lock() {
                if let Some(e) = echo.as_ref() {
                    eprint!("{}", diag.render(&e.file, Some((&e.file, &e.source))));
                }
            }
            if let Ok(mut v) = sink.diags.lock() {
                v.push(diag);
            }
            true
        });
        collector
    }

    /// Prints each new diagnostic to stderr, showing lines of `source`.
    pub fn echo_to_stderr(&self, file: &str, source: &str) {
        if let Ok(mut e) = self.echo.lock() {
            *e = Some(Echo { file: file.to_string(), source: source.to_string() });
        }
    }

    /// Takes the diagnostics collected so far.
    pub fn take(&self) -> Vec<Diag> {
        self.diags.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}
