//! Exact decimals on the wire (quantities, VAT rates): JSON strings of digits
//! with an optional fraction, `"2.375"`, and nothing else. A sign, exponent,
//! separator or leading `+` is refused rather than guessed at (`"1_5"` is not
//! 15). A JSON number is refused too, since binary floats cannot carry
//! `0.1` exactly; the message says which string to send instead.
//!
//! Use as `#[serde(with = "crate::http::decimal")]` (or `decimal::option`),
//! with `#[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$")]`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

const EXPECTED: &str = "a decimal number written as a JSON string of digits with an optional \
                        fraction, such as \"12\" or \"2.375\"";

/// Parses `text` when it matches `^[0-9]+(\.[0-9]+)?$` and fits a decimal.
pub fn parse(text: &str) -> Result<Decimal, String> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(format!("`{text}` is not {EXPECTED}"));
    }
    Decimal::from_str(text).map_err(|_| format!("`{text}` has too many digits"))
}

pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    rust_decimal::serde::str::serialize(value, serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(DecimalString)
}

/// An optional decimal string: `null` or absent is `None`.
pub mod option {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        rust_decimal::serde::str_option::serialize(value, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        #[derive(Deserialize)]
        struct Present(#[serde(deserialize_with = "super::deserialize")] Decimal);
        Ok(Option::<Present>::deserialize(d)?.map(|Present(value)| value))
    }
}

struct DecimalString;

impl DecimalString {
    fn number<E: de::Error>(written: impl fmt::Display) -> E {
        E::custom(format!(
            "must be a JSON string, not a number: write \"{written}\" (in quotes)"
        ))
    }
}

impl Visitor<'_> for DecimalString {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
        parse(text).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Decimal, E> {
        Err(Self::number(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Decimal, E> {
        Err(Self::number(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Decimal, E> {
        Err(Self::number(value))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Line {
        #[serde(with = "super")]
        quantity: Decimal,
    }

    fn read(json: &str) -> Result<Decimal, String> {
        serde_json::from_str::<Line>(json)
            .map(|l| l.quantity)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn only_plain_digit_strings_are_decimals() {
        assert_eq!(read(r#"{"quantity": "2.375"}"#), Ok(Decimal::new(2375, 3)));
        assert_eq!(read(r#"{"quantity": "0003"}"#), Ok(Decimal::new(3, 0)));
        for refused in [
            "1_5", "1e2", "+3", "-1", " 1", "1 ", "1.", ".5", "", "1,5", "0x10", "١",
        ] {
            let error = read(&format!(r#"{{"quantity": "{refused}"}}"#)).unwrap_err();
            assert!(error.contains("such as \"12\""), "{refused}: {error}");
        }
        let error = read(r#"{"quantity": "123456789012345678901234567890"}"#).unwrap_err();
        assert!(error.contains("too many digits"), "{error}");
    }

    #[test]
    fn a_number_is_refused_with_the_string_to_send() {
        let error = read(r#"{"quantity": 10}"#).unwrap_err();
        assert!(error.contains(r#"write "10" (in quotes)"#), "{error}");
        let error = read(r#"{"quantity": 2.5}"#).unwrap_err();
        assert!(error.contains(r#"write "2.5" (in quotes)"#), "{error}");
        let error = read(r#"{"quantity": true}"#).unwrap_err();
        assert!(error.contains("JSON string of digits"), "{error}");
    }
}
