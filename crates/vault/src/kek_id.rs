//! The name of a key-encryption key.
//!
//! Every wrapped data key records the id of the KEK that wrapped it, so after a rotation the
//! right retired key can be found. Ids appear in the key file, in database rows and in log lines,
//! so they are restricted to a small, whitespace-free alphabet that needs no quoting anywhere.
//! This module deliberately does not make ids unique: the [`crate::Keyring`] refuses duplicates.

use std::fmt;
use std::str::FromStr;

use crate::VaultError;

const MAX_LEN: usize = 64;

/// Id of a key-encryption key, e.g. `kek-20261127T110000Z-3fa9`: 1 to 64 characters from
/// `[A-Za-z0-9._-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KekId(String);

impl KekId {
    pub fn parse(text: &str) -> Result<KekId, VaultError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.len() > MAX_LEN || !text.chars().all(valid_char) {
            return Err(VaultError::InvalidKekId);
        }
        Ok(KekId(text.to_owned()))
    }

    /// A fresh id naming the creation time, `kek-YYYYMMDDTHHMMSSZ-xxxx` (UTC, random suffix so
    /// that two keys made in the same second still differ). The time comes in as a value.
    pub fn dated(unix_seconds: i64) -> KekId {
        let days = unix_seconds.div_euclid(86_400);
        let second_of_day = unix_seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let suffix: [u8; 2] = crate::random_bytes();
        KekId(format!(
            "kek-{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z-{:02x}{:02x}",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60,
            suffix[0],
            suffix[1],
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for KekId {
    type Err = VaultError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        KekId::parse(text)
    }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, valid far beyond any clock Trygg will see.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_the_documented_alphabet_only() {
        for valid in ["a", "kek-20261127T110000Z-3fa9", "A.b_c-9", &"x".repeat(64)] {
            assert_eq!(KekId::parse(valid).expect(valid).as_str(), valid);
        }
        for invalid in ["", " ", "a b", "a/b", "ä", "kek\n", &"x".repeat(65)] {
            assert!(KekId::parse(invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn dated_ids_name_the_utc_time() {
        let id = KekId::dated(1_795_777_200); // 2026-11-27T11:00:00Z
        assert!(id.as_str().starts_with("kek-20261127T110000Z-"), "{id}");
        assert_eq!(id.as_str().len(), "kek-20261127T110000Z-3fa9".len());
        assert!(KekId::parse(id.as_str()).is_ok());
        assert!(KekId::dated(0)
            .as_str()
            .starts_with("kek-19700101T000000Z-"));
        assert!(KekId::dated(951_782_400)
            .as_str()
            .starts_with("kek-20000229T000000Z-"));
        assert!(KekId::dated(-1)
            .as_str()
            .starts_with("kek-19691231T235959Z-"));
    }
}
