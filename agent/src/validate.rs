//! Checks shared by every part of the configuration: CI ids, extra labels,
//! and a task's interval and timeout. Each returns or pushes problems as
//! `key: what is wrong` text, so that validation can report them all.

use std::time::Duration;

pub use tocsin_config_keys::{field_names, unknown_keys_message};

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
