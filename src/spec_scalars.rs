//! How the spec's scalars are read when their YAML type matters. YAML reads an unquoted
//! `123`, `true`, `null` or `1.30` as a number, boolean or null; a generic decoder would turn
//! them back into text, silently (`1.30` could become `1.3`) and unlike the JSON Schema,
//! which sees the number. So a key that holds text takes only a string, and says to quote
//! the value otherwise; a resource quantity takes a string or a non-negative number, as
//! Kubernetes does.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Unexpected, Visitor};

/// A key that must hold text.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringOnly)
}

/// An optional key that must hold text when it is given (`null` means not given).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptionOf(StringOnly))
}

/// A resource quantity: `250m`, `"1"` or `1`; numbers are kept as YAML wrote them.
pub fn opt_quantity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptionOf(Quantity))
}

struct StringOnly;

impl Visitor<'_> for StringOnly {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
}

struct Quantity;

impl Visitor<'_> for Quantity {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a quantity")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        if v.is_finite() {
            Ok(v.to_string())
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
}

struct OptionOf<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for OptionOf<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0).map(Some)
    }
}
