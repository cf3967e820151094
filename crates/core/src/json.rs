//! Serialised JSON that is built once and then shared: the activation record on its way to the
//! store and to a blocking waiter is one allocation, handed around by reference count.

use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Immutable JSON text (always valid JSON). Serialises as the JSON it holds, not as a string,
/// so a networked bus carries it without double encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedJson(Arc<str>);

impl SharedJson {
    /// Serialise `value` once.
    pub fn to_shared<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(|s| Self(Arc::from(s)))
    }

    /// Wrap text that is known to be JSON; checked, so a `SharedJson` is always valid.
    pub fn from_text(text: String) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<&RawValue>(&text)?;
        Ok(Self(Arc::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The borrowed raw JSON, for embedding in a larger document without re-parsing (the
    /// check is a scan, no allocation).
    pub fn as_raw(&self) -> Result<&RawValue, serde_json::Error> {
        serde_json::from_str::<&RawValue>(&self.0)
    }

    /// Parse into `T` (borrowing from the text where `T` allows).
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl std::fmt::Debug for SharedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedJson({})", self.0)
    }
}

impl std::fmt::Display for SharedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SharedJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_raw()
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d).map_err(D::Error::custom)?;
        Ok(Self(Arc::from(raw.get())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_raw_and_round_trips() {
        let j = SharedJson::to_shared(&serde_json::json!({"a": [1, 2]})).unwrap();
        let outer = serde_json::json!({ "x": j });
        assert_eq!(outer.to_string(), r#"{"x":{"a":[1,2]}}"#);
        let back: SharedJson = serde_json::from_str(r#" {"a":[1,2]} "#).unwrap();
        assert_eq!(back.as_str(), r#"{"a":[1,2]}"#);
        assert!(SharedJson::from_text("{nope".into()).is_err());
        let v: serde_json::Value = j.parse().unwrap();
        assert_eq!(v["a"][1], 2);
    }
}
