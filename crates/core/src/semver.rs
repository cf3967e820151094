//! The `major.minor.patch` versions of entities; the patch is bumped on every update.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SemVer {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl SemVer {
    pub const INITIAL: SemVer = SemVer {
        major: 0,
        minor: 0,
        patch: 1,
    };

    pub fn bump_patch(self) -> Self {
        Self {
            patch: self.patch.saturating_add(1),
            ..self
        }
    }
}

impl Default for SemVer {
    fn default() -> Self {
        Self::INITIAL
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad semantic version")]
pub struct SemVerError;

impl FromStr for SemVer {
    type Err = SemVerError;

    /// Accepts `M`, `M.m` and `M.m.p` like OpenWhisk; missing parts are 0; all-zero is invalid.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(SemVerError);
        }
        let mut n = [0u32; 3];
        for (i, p) in parts.iter().enumerate() {
            n[i] = p.parse().map_err(|_| SemVerError)?;
        }
        if n == [0, 0, 0] {
            return Err(SemVerError);
        }
        Ok(SemVer {
            major: n[0],
            minor: n[1],
            patch: n[2],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_bump() {
        let v: SemVer = "1.2.3".parse().unwrap();
        assert_eq!(v.bump_patch().to_string(), "1.2.4");
        assert_eq!("2".parse::<SemVer>().unwrap().to_string(), "2.0.0");
        assert!("0.0.0".parse::<SemVer>().is_err());
        assert!("a.b".parse::<SemVer>().is_err());
    }
}
