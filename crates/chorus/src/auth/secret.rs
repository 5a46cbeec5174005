//! A string that must never be printed: `Debug` and `Display` show `[redacted]`.

use serde::{Deserialize, Serialize};

/// A secret value (JWT secret, server key).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

/// Environment values that look like numbers or booleans (`CHORUS_SERVER_KEY=12345`)
/// arrive typed; a secret takes them as their text.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Text(String),
            Int(i128),
            Float(f64),
            Bool(bool),
        }
        Ok(Self(match Scalar::deserialize(d)? {
            Scalar::Text(t) => t,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }))
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself: call only where it is used, never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Compares a presented key with the configured one in constant time.
pub fn keys_match(presented: &str, configured: &Secret) -> bool {
    let (a, b) = (presented.as_bytes(), configured.expose().as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
    }

    #[test]
    fn key_comparison_needs_an_exact_match() {
        let k = Secret::new("abc");
        assert!(keys_match("abc", &k));
        assert!(!keys_match("abd", &k));
        assert!(!keys_match("ab", &k));
    }
}
