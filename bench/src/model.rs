//! The JSON written per run, and what REPORT.md is generated from.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub tool: String,
    pub date: String,
    pub mode: String,
    pub command: String,
    pub commit: String,
    pub dirty: bool,
    pub machine: Machine,
    /// `/proc/loadavg` before the run: 1, 5, 15 minutes.
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    /// Set when the 1-minute load average was above 1 before the run: every p99 is null.
    pub p99_withheld: Option<String>,
    pub duration_s: f64,
    /// Scenario id → result, in run order (a JSON object keyed by id).
    #[serde(with = "in_order")]
    pub scenarios: Vec<Scenario>,
}

/// `Vec<Scenario>` as a JSON object keyed by scenario id, keeping the run order.
mod in_order {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use super::Scenario;

    pub fn serialize<S: Serializer>(v: &[Scenario], s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(v.len()))?;
        for sc in v {
            m.serialize_entry(&sc.id, sc)?;
        }
        m.end()
    }

    struct V;

    impl<'de> Visitor<'de> for V {
        type Value = Vec<Scenario>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of scenarios keyed by id")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((id, mut sc)) = a.next_entry::<String, Scenario>()? {
                sc.id = id;
                out.push(sc);
            }
            Ok(out)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Scenario>, D::Error> {
        d.deserialize_map(V)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub mem_mb: u64,
    pub kernel: String,
    pub cgroup: String,
    pub node: String,
    pub python: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub duration_s: f64,
    /// Set when the scenario could not complete.
    pub error: Option<String>,
    /// Request errors seen (must be 0).
    pub errors: u64,
    pub figures: Vec<Figure>,
    /// Latency distributions (plotted as CDFs).
    pub series: Vec<Series>,
    /// Cold-start breakdowns (plotted as stacked bars).
    pub breakdowns: Vec<Breakdown>,
    pub notes: Vec<String>,
    /// Server flags used.
    pub server: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reference {
    pub value: f64,
    /// Where it comes from (`in-run: hyper floor c=1`, `performance.md [M]`, ...).
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    /// Stable key within the scenario (used by --compare).
    pub key: String,
    pub label: String,
    pub value: Option<f64>,
    pub unit: String,
    pub better: Better,
    /// A p99-type figure, withheld when the machine was loaded.
    #[serde(default)]
    pub tail: bool,
    pub baseline: Option<Reference>,
    pub target: Option<Reference>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    /// (percentile, µs).
    pub cdf: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Breakdown {
    pub label: String,
    /// Ordered (part, ms) pairs, stacked in this order.
    pub parts: Vec<(String, f64)>,
    /// Total end-to-end (ms), drawn as a marker.
    pub total_ms: Option<f64>,
}

impl Figure {
    pub fn new(key: &str, label: &str, value: f64, unit: &str, better: Better) -> Figure {
        Figure {
            key: key.into(),
            label: label.into(),
            value: Some(value),
            unit: unit.into(),
            better,
            tail: false,
            baseline: None,
            target: None,
        }
    }
    pub fn lower(key: &str, label: &str, value: f64, unit: &str) -> Figure {
        Figure::new(key, label, value, unit, Better::Lower)
    }
    pub fn higher(key: &str, label: &str, value: f64, unit: &str) -> Figure {
        Figure::new(key, label, value, unit, Better::Higher)
    }
    pub fn opt(mut self, value: Option<f64>) -> Figure {
        self.value = value;
        self
    }
    pub fn tail(mut self) -> Figure {
        self.tail = true;
        self
    }
    pub fn baseline(mut self, value: f64, source: &str) -> Figure {
        self.baseline = Some(Reference {
            value,
            source: source.into(),
        });
        self
    }
    pub fn baseline_opt(self, value: Option<f64>, source: &str) -> Figure {
        match value {
            Some(v) => self.baseline(v, source),
            None => self,
        }
    }
    pub fn target(mut self, value: f64, source: &str) -> Figure {
        self.target = Some(Reference {
            value,
            source: source.into(),
        });
        self
    }

    /// value / baseline.
    pub fn ratio(&self) -> Option<f64> {
        let b = self.baseline.as_ref()?.value;
        let v = self.value?;
        (b != 0.0).then(|| v / b)
    }

    /// Whether the target is met.
    pub fn meets(&self) -> Option<bool> {
        let t = self.target.as_ref()?.value;
        let v = self.value?;
        Some(match self.better {
            Better::Lower => v <= t,
            Better::Higher => v >= t,
        })
    }
}

impl Run {
    /// `(scenario/figure, figure)` in run order, for comparisons.
    pub fn figure_list(&self) -> Vec<(String, &Figure)> {
        self.scenarios
            .iter()
            .flat_map(|s| {
                s.figures
                    .iter()
                    .map(move |f| (format!("{}/{}", s.id, f.key), f))
            })
            .collect()
    }
}
