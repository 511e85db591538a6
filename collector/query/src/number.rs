//! PromQL number literals as Prometheus' lexer and `parseNumber` read them:
//! decimal (`1`, `1.5`, `.5`, `5.`, `1e3`, `1_000`), hexadecimal (`0x1f`)
//! and, from Go's `strconv.ParseInt(s, 0, 64)`, octal with a leading zero
//! (`010` is 8). Signs are unary operators and `Inf`/`NaN` are words; both
//! are handled by the expression parser.

/// Whether a number literal starts at byte `pos` of `src`: a digit, or a
/// `.` followed by a digit.
pub fn starts_number(src: &str, pos: usize) -> bool {
    let b = &src.as_bytes()[pos..];
    match b.first() {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'.') => b.get(1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// Reads the number literal starting at byte `start` of `src` (see
/// [`starts_number`]). Returns its value and the offset just past it, or
/// `(offset, message)` for a malformed literal.
pub fn lex_number(src: &str, start: usize) -> Result<(f64, usize), (usize, String)> {
    let b = src.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let hex = at(start) == b'0' && matches!(at(start + 1), b'x' | b'X');
    let mut end = start;
    if hex {
        end += 2;
        if at(end) == b'_' {
            end += 1; // 0x_1f, as Prometheus allows
        }
        end = digits(b, end, u8::is_ascii_hexdigit);
    } else {
        end = digits(b, end, u8::is_ascii_digit);
        if at(end) == b'.' {
            end = digits(b, end + 1, u8::is_ascii_digit);
        }
        if matches!(at(end), b'e' | b'E') {
            let mut exp = end + 1;
            if matches!(at(exp), b'+' | b'-') {
                exp += 1;
            }
            if at(exp).is_ascii_digit() {
                end = digits(b, exp, u8::is_ascii_digit);
            }
        }
    }
    // Like Prometheus, a number must not run into letters, digits, `_` or
    // another `.` (`1x`, `5m`, `1.2.3`, `0x1.8`).
    if at(end).is_ascii_alphanumeric() || matches!(at(end), b'_' | b'.') {
        let bad_end = src[end..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .map_or(src.len(), |n| end + n);
        let text = &src[start..bad_end];
        return Err((start, format!("bad number or duration syntax: {text:?}")));
    }
    let text = src[start..end].replace('_', "");
    let err = |why: &str| (start, format!("error parsing number {text:?}: {why}"));
    let value = if hex {
        i64::from_str_radix(&text[2..], 16).map_err(|e| err(&e.to_string()))? as f64
    } else if text.len() > 1
        && text.starts_with('0')
        && text.bytes().all(|c| (b'0'..=b'7').contains(&c))
    {
        i64::from_str_radix(&text[1..], 8).map_err(|e| err(&e.to_string()))? as f64
    } else {
        let v: f64 = text.parse().map_err(|_| err("invalid syntax"))?;
        if v.is_infinite() {
            return Err(err("value out of range"));
        }
        v
    };
    Ok((value, end))
}

/// End of a run of digits from `i`, allowing single `_` between two digits.
fn digits(b: &[u8], mut i: usize, is_digit: fn(&u8) -> bool) -> usize {
    while i < b.len() {
        let separator =
            b[i] == b'_' && i > 0 && is_digit(&b[i - 1]) && b.get(i + 1).is_some_and(is_digit);
        if !(is_digit(&b[i]) || separator) {
            break;
        }
        i += 1;
    }
    i
}

/// A number as PromQL prints it (`strconv.FormatFloat(v, 'f', -1, 64)`):
/// shortest round-trip digits without exponent, `+Inf`, `-Inf`, `NaN`.
pub fn format_literal(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> Result<(f64, usize), (usize, String)> {
        lex_number(s, 0)
    }

    fn value(s: &str) -> f64 {
        let (v, end) = lex(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
        assert_eq!(end, s.len(), "{s:?} not fully read");
        v
    }

    #[test]
    fn decimal_forms() {
        for (s, v) in [
            ("1", 1.0),
            ("1.5", 1.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            ("2.5e-3", 0.0025),
            ("1_000", 1000.0),
            ("1_000.000_1", 1000.0001),
            ("0", 0.0),
            ("0.25", 0.25),
            ("09", 9.0),
            ("1e-400", 0.0),
        ] {
            assert_eq!(value(s), v, "{s}");
        }
    }

    #[test]
    fn hex_and_octal_like_go_parse_int() {
        assert_eq!(value("0x1f"), 31.0);
        assert_eq!(value("0XFF"), 255.0);
        assert_eq!(value("0x_1f"), 31.0);
        assert_eq!(value("010"), 8.0);
        assert_eq!(value("0_10"), 8.0);
        assert!(lex("0x").unwrap_err().1.contains("error parsing number"));
        assert!(
            lex("0x10000000000000000")
                .unwrap_err()
                .1
                .contains("error parsing number")
        );
    }

    #[test]
    fn stops_before_operators_and_spaces() {
        assert_eq!(lex("1+2"), Ok((1.0, 1)));
        assert_eq!(lex("1e3*2"), Ok((1000.0, 3)));
        assert_eq!(lex("2)"), Ok((2.0, 1)));
        assert_eq!(lex(".5 "), Ok((0.5, 2)));
        // An exponent without digits is not one: "1e" runs into a letter.
        assert!(lex("1e+").is_err());
    }

    #[test]
    fn bad_numbers() {
        for (s, text) in [
            ("1x", "1x"),
            ("5m", "5m"),
            ("1.2.3 + 1", "1.2.3"),
            ("0x1.8", "0x1.8"),
            ("1__0", "1__0"),
            ("1_", "1_"),
            ("1e", "1e"),
            ("0o17", "0o17"),
        ] {
            assert_eq!(
                lex(s).unwrap_err(),
                (0, format!("bad number or duration syntax: {text:?}")),
                "{s}"
            );
        }
        assert_eq!(
            lex("1e400").unwrap_err().1,
            r#"error parsing number "1e400": value out of range"#
        );
    }

    #[test]
    fn number_start() {
        assert!(starts_number("1", 0) && starts_number(".5", 0) && starts_number("x 2", 2));
        assert!(!starts_number(".", 0) && !starts_number(".a", 0) && !starts_number("", 0));
    }

    #[test]
    fn literal_format() {
        assert_eq!(format_literal(2.0), "2");
        assert_eq!(format_literal(-0.5), "-0.5");
        assert_eq!(format_literal(1e21), "1000000000000000000000");
        assert_eq!(format_literal(1e-7), "0.0000001");
        assert_eq!(format_literal(f64::INFINITY), "+Inf");
        assert_eq!(format_literal(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_literal(f64::NAN), "NaN");
    }
}
