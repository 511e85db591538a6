//! Title and description templates: literal text with `{{placeholder}}`
//! fields, parsed once when the rules are loaded and rendered per event.
//!
//! Placeholders: `{{value}}`, `{{threshold}}`, `{{severity}}`, `{{ci}}` (CI
//! name), `{{rule}}`, `{{object}}` (the object labels as `name="value"`
//! pairs, empty for CI-wide rules) and `{{labels.<name>}}` (any label of the
//! series; empty when absent). Spaces inside the braces are allowed.

use std::fmt::{self, Write as _};

use serde::{Serialize, Serializer};

use tocsin_model::event::Severity;

/// A parsed template. Compares and serializes as its source text.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Value,
    Threshold,
    Severity,
    Ci,
    Rule,
    Object,
    Label(String),
}

/// What a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The evaluated value.
    pub value: f64,
    /// The threshold of the crossed severity.
    pub threshold: f64,
    /// The crossed severity.
    pub severity: Severity,
    /// CI name.
    pub ci: &'a str,
    /// Rule name.
    pub rule: &'a str,
    /// All labels of the series (sorted, with `__name__`).
    pub labels: &'a [(String, String)],
    /// The object labels (sorted).
    pub object: &'a [(String, String)],
}

impl Template {
    /// Parses `source`; the error names the first bad placeholder.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("unclosed placeholder {:?}", &rest[open..]))?;
            let name = after[..close].trim();
            parts.push(placeholder(name)?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Self {
            source: source.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the template.
    pub fn render(&self, cx: &Context<'_>) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value => push_number(&mut out, cx.value),
                Part::Threshold => push_number(&mut out, cx.threshold),
                Part::Severity => out.push_str(cx.severity.as_str()),
                Part::Ci => out.push_str(cx.ci),
                Part::Rule => out.push_str(cx.rule),
                Part::Object => push_object(&mut out, cx.object),
                Part::Label(name) => {
                    if let Some((_, v)) = cx.labels.iter().find(|(n, _)| n == name) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }
}

fn placeholder(name: &str) -> Result<Part, String> {
    Ok(match name {
        "value" => Part::Value,
        "threshold" => Part::Threshold,
        "severity" => Part::Severity,
        "ci" => Part::Ci,
        "rule" => Part::Rule,
        "object" => Part::Object,
        _ => match name.strip_prefix("labels.") {
            Some(label) if is_label_name(label) => Part::Label(label.to_string()),
            _ => {
                return Err(format!(
                    "unknown placeholder {{{{{name}}}}} (known: value, threshold, severity, ci, rule, object, labels.<name>)"
                ));
            }
        },
    })
}

/// Whether `s` is a valid label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Writes a number the way people read it: integers without decimals,
/// others with at most two.
fn push_number(out: &mut String, v: f64) {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{v:.0}");
    } else if v.is_finite() {
        let start = out.len();
        let _ = write!(out, "{v:.2}");
        let trimmed = out[start..]
            .trim_end_matches('0')
            .trim_end_matches('.')
            .len();
        out.truncate(start + trimmed);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// `mountpoint="/", device="sda"`.
fn push_object(out: &mut String, object: &[(String, String)]) {
    for (i, (n, v)) in object.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{n}={v:?}");
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<(String, String)> {
        vec![
            ("__name__".into(), "node_filesystem_used_percent".into()),
            ("mountpoint".into(), "/var".into()),
        ]
    }

    fn render(src: &str, value: f64) -> String {
        let labels = labels();
        let object = vec![("mountpoint".to_string(), "/var".to_string())];
        Template::parse(src).unwrap().render(&Context {
            value,
            threshold: 90.0,
            severity: Severity::General,
            ci: "web01",
            rule: "filesystem_full",
            labels: &labels,
            object: &object,
        })
    }

    #[test]
    fn renders_every_placeholder() {
        assert_eq!(
            render(
                "{{rule}} {{ severity }} on {{ci}} {{labels.mountpoint}}: {{value}}% > {{threshold}}% [{{object}}]{{labels.nope}}",
                93.456
            ),
            r#"filesystem_full general on web01 /var: 93.46% > 90% [mountpoint="/var"]"#
        );
        assert_eq!(render("{{value}}", 2.5), "2.5");
        assert_eq!(render("{{value}}", 7.0), "7");
        assert_eq!(render("{{value}}", 0.001), "0");
        assert_eq!(render("no placeholders", 1.0), "no placeholders");
    }

    #[test]
    fn rejects_unknown_and_unclosed_placeholders() {
        let e = Template::parse("x {{valeu}} y").unwrap_err();
        assert!(e.contains("unknown placeholder {{valeu}}"), "{e}");
        assert!(Template::parse("{{labels.}}").is_err());
        assert!(Template::parse("{{labels.a-b}}").is_err());
        let e = Template::parse("a {{value").unwrap_err();
        assert!(e.contains("unclosed"), "{e}");
    }

    #[test]
    fn compares_by_source() {
        assert_eq!(
            Template::parse("{{value}}").unwrap(),
            Template::parse("{{value}}").unwrap()
        );
        assert_ne!(
            Template::parse("{{value}}").unwrap(),
            Template::parse("{{ value }}").unwrap()
        );
    }
}
