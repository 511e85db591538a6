//! Secret configuration values (robot tokens, SMTP passwords, HMAC keys).
//!
//! A [`Secret`] never shows its value: `Debug`, `Display` and `Serialize`
//! all print `<redacted>`. In the config file a secret is either the value
//! itself or `env:VARNAME`, read from that environment variable when the
//! config is loaded (a missing variable is a config error naming it).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

/// A value that must not be logged or shown by the API.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

/// A secret could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// `env:VAR` named a variable that is not set (or not UTF-8).
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// `env:` with nothing after it.
    #[error("`env:` needs a variable name, e.g. `env:TOCSIN_SMTP_PASSWORD`")]
    EmptyEnvName,
}

impl Secret {
    /// Wraps a literal value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Resolves config text: `env:VARNAME` reads that environment variable,
    /// anything else is the value itself.
    pub fn resolve(raw: &str) -> Result<Self, SecretError> {
        Self::resolve_with(raw, |name| std::env::var(name).ok())
    }

    /// [`Secret::resolve`] with an explicit environment lookup (for tests).
    pub fn resolve_with(
        raw: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SecretError> {
        match raw.strip_prefix("env:") {
            None => Ok(Self(raw.to_string())),
            Some("") => Err(SecretError::EmptyEnvName),
            Some(name) => lookup(name)
                .map(Self)
                .ok_or_else(|| SecretError::MissingEnv(name.to_string())),
        }
    }

    /// The value itself: only for building a request, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (after trimming).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::resolve(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn env_reference_is_read_or_named_when_missing() {
        let env = |n: &str| (n == "TOK").then(|| "abc".to_string());
        assert_eq!(
            Secret::resolve_with("env:TOK", env).unwrap().expose(),
            "abc"
        );
        assert_eq!(
            Secret::resolve_with("env:NOPE", env)
                .unwrap_err()
                .to_string(),
            "environment variable NOPE is not set"
        );
        assert_eq!(
            Secret::resolve_with("env:", env),
            Err(SecretError::EmptyEnvName)
        );
        assert_eq!(
            Secret::resolve_with("plain", env).unwrap().expose(),
            "plain"
        );
    }

    #[test]
    fn deserializes_through_the_environment() {
        #[derive(Deserialize)]
        struct C {
            s: Secret,
        }
        let name = "TOCSIN_TEST_SECRET_SURELY_UNSET_4711";
        let e = toml::from_str::<C>(&format!("s = \"env:{name}\""))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(name), "{e}");
        let c: C = toml::from_str("s = \"literal\"").unwrap();
        assert_eq!(c.s.expose(), "literal");
    }
}
