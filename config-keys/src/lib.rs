//! Config key helpers shared by the agent's and the collector's config
//! files, so that a config with tagged variants (one struct per kind) still
//! names every unknown key and the keys the entry may have, with each kind's
//! keys written only once, in the kind's struct.

use serde::de::DeserializeOwned;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Webhook {
        url: String,
        #[serde(rename = "for")]
        for_: u32,
    }

    #[test]
    fn field_names_are_the_struct_keys_as_serde_names_them() {
        assert_eq!(field_names::<Webhook>(), ["url", "for"]);
    }

    #[test]
    fn the_message_names_every_unknown_key_and_the_expected_ones() {
        assert_eq!(
            unknown_keys_message(&["urll".into()], &["kind", "url"]),
            "unknown field `urll`, expected one of `kind`, `url`"
        );
        assert_eq!(
            unknown_keys_message(&["a".into(), "b".into()], &["c"]),
            "unknown fields `a`, `b`, expected one of `c`"
        );
    }
}
