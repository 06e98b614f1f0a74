//! The value types a configuration field may have: how each is written in the example, parsed
//! from an environment variable, and shown in a change fingerprint. [`Secret`] is the one type
//! that is never shown and never serialised.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::{LogFormat, SmtpTls};

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

impl ConfigValue for u16 {
    fn example(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        let number: u16 = text
            .parse()
            .map_err(|_| format!("expected a whole number up to {}, got {text:?}", u16::MAX))?;
        Ok(toml::Value::Integer(i64::from(number)))
    }
}

impl ConfigValue for SmtpTls {
    fn example(&self) -> Option<String> {
        Some(toml::Value::String(self.to_string()).to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        match text {
            "starttls" | "tls" | "none" => Ok(toml::Value::String(text.to_owned())),
            _ => Err(format!(
                "expected `starttls`, `tls` or `none`, got {text:?}"
            )),
        }
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

/// A list of words, written `a,b,c` in the environment.
impl ConfigValue for Vec<String> {
    fn example(&self) -> Option<String> {
        let items = self.iter().cloned().map(toml::Value::String).collect();
        Some(toml::Value::Array(items).to_string())
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        let items = text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| toml::Value::String(item.to_owned()))
            .collect();
        Ok(toml::Value::Array(items))
    }
}

/// A table of words to words, written `key=value,key2=value2` in the environment.
impl ConfigValue for BTreeMap<String, String> {
    fn example(&self) -> Option<String> {
        let pairs: Vec<String> = self
            .iter()
            .map(|(key, value)| {
                format!(
                    "{} = {}",
                    toml::Value::String(key.clone()),
                    toml::Value::String(value.clone())
                )
            })
            .collect();
        Some(if pairs.is_empty() {
            "{}".into()
        } else {
            format!("{{ {} }}", pairs.join(", "))
        })
    }

    fn from_env(text: &str) -> Result<toml::Value, String> {
        let mut table = toml::Table::new();
        for pair in text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                format!("expected key=value pairs separated by commas, got {pair:?}")
            })?;
            table.insert(
                key.trim().to_owned(),
                toml::Value::String(value.trim().to_owned()),
            );
        }
        Ok(toml::Value::Table(table))
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
