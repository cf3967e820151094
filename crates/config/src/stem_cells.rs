//! `stem_cells`: prewarmed containers per kind, `KIND:COUNT:MEMORY_MB,...` or `none`.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Prewarmed containers of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StemCellSpec {
    /// As given: a kind or an alias (`nodejs`, `nodejs:20`); checked against the runtime manifest
    /// at start.
    pub kind: String,
    pub count: u32,
    pub memory_mb: u32,
}

/// Which stem cells the invoker keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StemCells {
    /// The runtime manifest's (2 × 256 MB per kind in the detected one).
    #[default]
    Manifest,
    /// Exactly these; empty for `none`.
    List(Vec<StemCellSpec>),
}

impl StemCells {
    pub fn is_manifest(&self) -> bool {
        matches!(self, StemCells::Manifest)
    }
}

/// What a `stem_cells` value must look like (for error messages).
pub const EXPECTED: &str = "KIND:COUNT:MEMORY_MB,... or none";

impl FromStr for StemCells {
    /// What is wrong, for the config error's "expected" part.
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        if spec.trim() == "none" || spec.trim().is_empty() {
            return Ok(StemCells::List(Vec::new()));
        }
        spec.split(',')
            .map(|item| {
                let parts: Vec<&str> = item.trim().rsplitn(3, ':').collect();
                match parts.as_slice() {
                    [mb, count, kind] => Ok(StemCellSpec {
                        kind: (*kind).to_string(),
                        count: count
                            .parse()
                            .map_err(|_| format!("{EXPECTED}; bad count '{count}'"))?,
                        memory_mb: mb
                            .parse()
                            .map_err(|_| format!("{EXPECTED}; bad memory '{mb}'"))?,
                    }),
                    _ => Err(format!("{EXPECTED}; got '{}'", item.trim())),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(StemCells::List)
    }
}

impl fmt::Display for StemCells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StemCells::Manifest => f.write_str("manifest"),
            StemCells::List(list) if list.is_empty() => f.write_str("none"),
            StemCells::List(list) => {
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}:{}", s.kind, s.count, s.memory_mb)?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for StemCells {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str, count: u32, memory_mb: u32) -> StemCellSpec {
        StemCellSpec {
            kind: kind.into(),
            count,
            memory_mb,
        }
    }

    #[test]
    fn parses_lists_and_none() {
        assert_eq!("none".parse(), Ok(StemCells::List(vec![])));
        assert_eq!(" ".parse(), Ok(StemCells::List(vec![])));
        assert_eq!(
            "nodejs:20:2:256, python:1:128".parse(),
            Ok(StemCells::List(vec![
                spec("nodejs:20", 2, 256),
                spec("python", 1, 128)
            ]))
        );
    }

    #[test]
    fn round_trips_through_display() {
        for s in ["none", "nodejs:20:2:256,python:1:128"] {
            assert_eq!(s.parse::<StemCells>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(
            "nodejs:x:256".parse::<StemCells>(),
            Err("KIND:COUNT:MEMORY_MB,... or none; bad count 'x'".into())
        );
        assert_eq!(
            "nodejs:1:-5".parse::<StemCells>(),
            Err("KIND:COUNT:MEMORY_MB,... or none; bad memory '-5'".into())
        );
        assert_eq!(
            "nodejs:1,".parse::<StemCells>(),
            Err("KIND:COUNT:MEMORY_MB,... or none; got 'nodejs:1'".into())
        );
    }
}
