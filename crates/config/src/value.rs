//! The value types a configuration field may have: how each is written in the example, parsed
//! from an environment variable, and shown in a change fingerprint. [`Secret`] is the one type
//! that is never shown and never serialised.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::LogFormat;

/// A field type that can appear in a configuration section.
pub trait ConfigValue {
    /// Whether the value is secret: then it may come from `<key>_file` and is never shown.
    const SECRET: bool = false;

    /// The value as a TOML literal for the example file, or `None` for "unset".
    fn example(&self) -> Option<String>;

    /// Parses the text of an environment variable into the TOML value the file would hold.
    fn from_env(text: &str) -> Result<toml::Value, String>;

    /// The value as recorded when auditing configuration changes.
    fn fingerprint(&self) -> String {
        self.example().unwrap_or_else(|| "(unset)".into())
    }
}

/// A secret value (a password, a key, a URL with credentials). Its `Debug` is redacted, it has
/// no `Display` and no `Serialize`, and its memory is wiped when dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret itself. Call only where it is used, never to log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl ConfigValue for Secret {
    const SECRET: bool = true;

    fn example(&self) -> Option<String> {
        None
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        Ok(toml::Value::String(text.to_owned()))
    }

    fn fingerprint(&self) -> String {
        "(set)".into()
    }
}

impl ConfigValue for String {
    fn example(&self) -> Option<String> {
        Some(toml::Value::String(self.clone()).to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        Ok(toml::Value::String(text.to_owned()))
    }
}

impl ConfigValue for PathBuf {
    fn example(&self) -> Option<String> {
        Some(toml::Value::String(self.display().to_string()).to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        if text.is_empty() {
            return Err("expected a path, got an empty value".into());
        }
        Ok(toml::Value::String(text.to_owned()))
    }
}

impl ConfigValue for SocketAddr {
    fn example(&self) -> Option<String> {
        Some(toml::Value::String(self.to_string()).to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        text.parse::<SocketAddr>().map_err(|_| {
            format!("expected an address and port such as 127.0.0.1:8443, got {text:?}")
        })?;
        Ok(toml::Value::String(text.to_owned()))
    }
}

impl ConfigValue for u64 {
    fn example(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        let number: u64 = text
            .parse()
            .map_err(|_| format!("expected a whole number, got {text:?}"))?;
        let number = i64::try_from(number).map_err(|_| "the number is too large".to_owned())?;
        Ok(toml::Value::Integer(number))
    }
}

impl ConfigValue for u32 {
    fn example(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        let number: u32 = text
            .parse()
            .map_err(|_| format!("expected a whole number up to {}, got {text:?}", u32::MAX))?;
        Ok(toml::Value::Integer(i64::from(number)))
    }
}

impl ConfigValue for LogFormat {
    fn example(&self) -> Option<String> {
        Some(toml::Value::String(self.to_string()).to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        match text {
            "human" | "json" => Ok(toml::Value::String(text.to_owned())),
            _ => Err(format!("expected `human` or `json`, got {text:?}")),
        }
    }
}

impl<T: ConfigValue> ConfigValue for Option<T> {
    const SECRET: bool = T::SECRET;

    fn example(&self) -> Option<String> {
        self.as_ref().and_then(ConfigValue::example)
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        T::from_env(text)
    }

    fn fingerprint(&self) -> String {
        match self {
            Some(value) => value.fingerprint(),
            None => "(unset)".into(),
        }
    }
}
