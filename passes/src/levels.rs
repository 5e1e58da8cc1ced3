//! The default pipelines, `O0` to `O3`: the whole CPU pipeline readable in
//! one place. Each ends in the LLVM dialect.
//!
//! `O0` only lowers. `O1` adds cleanups; `O2` and `O3` add fusion, tiling
//! and vectorization (which are identity passes until issue 6 lands, so the
//! levels produce the same code today).

use crate::{pipeline::Pipeline, PipelineError};

/// An optimization level, as in `--strata-pipeline=O2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    O0,
    O1,
    O2,
    O3,
}

impl std::str::FromStr for Level {
    type Err = PipelineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "O0" | "0" => Ok(Level::O0),
            "O1" | "1" => Ok(Level::O1),
            "O2" | "2" => Ok(Level::O2),
            "O3" | "3" => Ok(Level::O3),
            _ => Err(PipelineError::new(format!("unknown pipeline level '{s}': expected O0, O1, O2 or O3"))),
        }
    }
}

/// What `--strata-races` asks of the default pipeline's race check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Races {
    /// Provable races are errors, unprovable independence a warning.
    #[default]
    Error,
    /// Both are warnings.
    Warn,
    /// No check.
    Off,
    /// The static check's findings as warnings, and every outermost
    /// `parallel_for` instrumented to find races while it runs.
    Runtime,
}

impl std::str::FromStr for Races {
    type Err = PipelineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(Races::Error),
            "warn" => Ok(Races::Warn),
            "off" => Ok(Races::Off),
            "runtime" => Ok(Races::Runtime),
            _ => Err(PipelineError::new(format!("unknown --strata-races mode '{s}': expected error, warn, off or runtime"))),
        }
    }
}

/// The pass list for `level`, on `builtin.module`, with the race check.
pub fn pipeline(level: Level) -> Pipeline {
    pipeline_with(level, Races::Error)
}

/// The pass list for `level` with the race check as `races` asks.
pub fn pipeline_with(level: Level, races: Races) -> Pipeline {
    let mut steps: Vec<&str> = Vec::new();
    if level >= Level::O2 {
        steps.extend(["canonicalize", "cse", "strata-fuse"]);
    }
    steps.push(match level {
        Level::O0 => "strata-lower-to-affine{fuse-elementwise=false}",
        Level::O1 => "strata-lower-to-affine",
        // Contractions stay structured for strata-tile and strata-vectorize.
        Level::O2 | Level::O3 => "strata-lower-to-affine{fuse-loops=true keep-contractions=true}",
    });
    if level >= Level::O1 {
        steps.extend(["canonicalize", "cse"]);
    }
    // Before anything rewrites the parallel loops, on the buffers the
    // kernel really touches.
    match races {
        Races::Error => steps.push("strata-check-races"),
        Races::Warn => steps.push("strata-check-races{mode=warn}"),
        Races::Off => {}
        Races::Runtime => steps.extend(["strata-check-races{mode=warn}", "strata-instrument-races"]),
    }
    if level >= Level::O2 {
        // Column tiling after the check: its block loops are race-free by
        // construction, and it is the first step with a tuner's knob.
        steps.extend(["strata-fuse-columns", "strata-tile", "strata-vectorize"]);
    }
    steps.push("strata-parallelize");
    if level >= Level::O1 {
        steps.extend(["canonicalize", "cse"]);
    }
    steps.push("strata-lower-to-llvm");
    Pipeline::parse_elements("builtin.module", &steps.join(",")).expect("the default pipelines parse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_grow_and_end_in_llvm() {
        let texts: Vec<String> =
            [Level::O0, Level::O1, Level::O2, Level::O3].iter().map(|l| pipeline(*l).to_text()).collect();
        assert_eq!(
            texts[0],
            "builtin.module(strata-lower-to-affine{fuse-elementwise=false},strata-check-races,strata-parallelize,strata-lower-to-llvm)"
        );
        assert!(texts[1].contains("canonicalize") && !texts[1].contains("strata-fuse"));
        assert!(texts[2].contains("strata-fuse") && texts[2].contains("strata-vectorize"));
        for t in &texts {
            assert!(t.ends_with("strata-lower-to-llvm)"), "{t}");
        }
        assert_eq!("O3".parse::<Level>().unwrap(), Level::O3);
        assert!("O4".parse::<Level>().unwrap_err().to_string().contains("expected O0"));
        assert!(pipeline_with(Level::O3, Races::Warn).to_text().contains("strata-check-races{mode=warn}"));
        assert!(!pipeline_with(Level::O3, Races::Off).to_text().contains("strata-check-races"));
        assert!(pipeline_with(Level::O0, Races::Runtime).to_text().contains("strata-instrument-races"));
        assert!("sometimes".parse::<Races>().unwrap_err().to_string().contains("expected error, warn, off or runtime"));
    }
}
