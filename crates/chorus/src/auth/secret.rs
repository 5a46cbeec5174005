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

/// A database or Redis URL. It may carry a password (`postgres://chorus:pw@db/chorus`),
/// so `Debug` and `Display` show it without one; `expose` gives the URL to connect with.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectionUrl(String);

impl ConnectionUrl {
    /// The URL itself, password included: to connect with, never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The URL with its credentials (user and password) replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***{}", &url[..scheme_end], &url[at..]),
            _ => url.clone(),
        }
    }
}

impl From<String> for ConnectionUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for ConnectionUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl std::fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl std::fmt::Display for ConnectionUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
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
    fn connection_urls_print_without_their_credentials() {
        let pg = ConnectionUrl::from("postgres://chorus:hunter2@db:5432/chorus");
        assert_eq!(format!("{pg}"), "postgres://***@db:5432/chorus");
        assert_eq!(format!("{pg:?}"), "\"postgres://***@db:5432/chorus\"");
        assert_eq!(pg.expose(), "postgres://chorus:hunter2@db:5432/chorus");
        let redis = ConnectionUrl::from("rediss://:s3cret@cache:6380/0");
        assert!(!format!("{redis:?}").contains("s3cret"));
        assert_eq!(ConnectionUrl::from("sqlite://chorus.db").to_string(), "sqlite://chorus.db");
        // A whole Settings dump: config::tests::a_settings_dump_carries_no_password_or_secret.
    }

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
