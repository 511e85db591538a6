//! Checks shared by every part of the configuration: CI ids, extra labels,
//! and a task's interval and timeout. Each returns or pushes problems as
//! `key: what is wrong` text, so that validation can report them all.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::series::RESERVED_LABELS;

/// Most extra labels a configuration may add to every series.
pub const MAX_EXTRA_LABELS: usize = 20;
/// Longest label value accepted, in bytes (the collector's default limit).
pub const MAX_LABEL_VALUE_BYTES: usize = 1024;

/// Longest CI id (of a device, a check or a service CI).
pub const MAX_CI_ID_LEN: usize = 128;

/// Whether `c` may appear in a CI id.
pub fn is_ci_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

/// Checks a CI id: 1 to [`MAX_CI_ID_LEN`] characters of `[A-Za-z0-9._:-]`.
pub fn check_ci_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_CI_ID_LEN || !id.chars().all(is_ci_id_char) {
        return Err(format!(
            "{id:?} is not a valid device id: 1 to {MAX_CI_ID_LEN} characters of [A-Za-z0-9._:-]"
        ));
    }
    Ok(())
}

/// Problems of a task's `interval` (at least `min`) and `timeout` (more
/// than 0, at most the interval), each as `key: what is wrong`.
pub fn timing_problems(interval: Duration, timeout: Duration, min: Duration, p: &mut Vec<String>) {
    if interval < min {
        p.push(format!(
            "interval: must be at least {}, got {}",
            humantime::format_duration(min),
            humantime::format_duration(interval)
        ));
    }
    if timeout.is_zero() {
        p.push("timeout: must be more than 0".to_owned());
    } else if timeout > interval {
        p.push("timeout: must not exceed the interval".to_owned());
    }
}

/// Checks an extra label's name and value.
pub fn check_label(name: &str, value: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || name.starts_with("__") {
        return Err(
            "label names must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\"".to_string(),
        );
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(format!(
            "{name:?} is set by the agent itself; choose another name"
        ));
    }
    if value.len() > MAX_LABEL_VALUE_BYTES || value.contains('\0') {
        return Err(format!(
            "value must be at most {MAX_LABEL_VALUE_BYTES} bytes without NUL"
        ));
    }
    Ok(())
}

/// The field names a derived `Deserialize` struct expects, as serde tells
/// its deserializer: one list per struct, so the keys of each kind are
/// written only in the kind's struct.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::value::Error as ValueError;
    use serde::de::{Deserializer, Error as _, Visitor};

    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = ValueError;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
            Err(ValueError::custom("only field names are read"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, ValueError> {
            *self.0 = fields;
            Err(ValueError::custom("only field names are read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // The error is the point: the struct stops at its field list.
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// The text of a parse error naming every key in `keys` that no struct
/// knows, and the keys the entry may have.
pub fn unknown_keys_message(keys: &[String], expected: &[&str]) -> String {
    let list = |names: &mut dyn Iterator<Item = &str>| {
        names
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let noun = if keys.len() == 1 { "field" } else { "fields" };
    format!(
        "unknown {noun} {}, expected one of {}",
        list(&mut keys.iter().map(String::as_str)),
        list(&mut expected.iter().copied())
    )
}
