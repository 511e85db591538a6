//! PromQL string literals: `"..."` and `'...'` with Go escapes, and raw
//! `` `...` `` strings without escapes (the rules of Go's `strconv.Unquote`,
//! which the Prometheus parser uses).

/// Reads the string literal starting at byte `start` of `src` (which must be
/// a quote character). Returns the unescaped value and the byte offset just
/// past the closing quote, or `(byte offset, message)` of the first error.
pub fn lex_string(src: &str, start: usize) -> Result<(String, usize), (usize, String)> {
    let quote = src[start..]
        .chars()
        .next()
        .ok_or((start, "expected string".to_string()))?;
    let body = start + 1;
    if quote == '`' {
        return match src[body..].find('`') {
            Some(len) => Ok((src[body..body + len].to_string(), body + len + 1)),
            None => Err((start, "unterminated raw string".to_string())),
        };
    }
    // Bytes, not chars: `\xNN` and octal escapes produce single bytes, and
    // the result must be valid UTF-8 as a whole.
    let mut out: Vec<u8> = Vec::new();
    let mut chars = src[body..]
        .char_indices()
        .map(|(i, c)| (body + i, c))
        .peekable();
    while let Some((pos, c)) = chars.next() {
        match c {
            c if c == quote => {
                let value = String::from_utf8(out)
                    .map_err(|_| (start, "invalid UTF-8 in string".to_string()))?;
                return Ok((value, pos + 1));
            }
            '\n' => return Err((pos, "unterminated quoted string".to_string())),
            '\\' => {
                let (epos, e) = chars
                    .next()
                    .ok_or((pos, "unterminated quoted string".to_string()))?;
                let bad = |msg: &str| (epos, format!("{msg} in string escape sequence \\{e}"));
                match e {
                    'a' => out.push(0x07),
                    'b' => out.push(0x08),
                    'f' => out.push(0x0c),
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    'v' => out.push(0x0b),
                    '\\' => out.push(b'\\'),
                    e if e == quote => out.push(e as u8),
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            let d = chars
                                .next()
                                .and_then(|(_, d)| d.to_digit(8))
                                .ok_or_else(|| bad("invalid octal digit"))?;
                            v = v * 8 + d;
                        }
                        out.push(u8::try_from(v).map_err(|_| bad("octal value out of range"))?);
                    }
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v: u32 = 0;
                        for _ in 0..n {
                            let d = chars
                                .next()
                                .and_then(|(_, d)| d.to_digit(16))
                                .ok_or_else(|| bad("invalid hex digit"))?;
                            v = v * 16 + d;
                        }
                        if e == 'x' {
                            out.push(v as u8);
                        } else {
                            let ch = char::from_u32(v)
                                .ok_or_else(|| bad("invalid Unicode code point"))?;
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                    }
                    _ => return Err(bad("unknown escape")),
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Err((start, "unterminated quoted string".to_string()))
}

#[cfg(test)]
mod tests {
    use super::lex_string;

    fn lex(s: &str) -> Result<(String, usize), (usize, String)> {
        lex_string(s, 0)
    }

    #[test]
    fn plain_strings_in_all_quotes() {
        assert_eq!(lex(r#""abc" rest"#), Ok(("abc".into(), 5)));
        assert_eq!(lex("'abc'"), Ok(("abc".into(), 5)));
        assert_eq!(lex("`a\\nb`"), Ok(("a\\nb".into(), 6)));
        assert_eq!(lex(r#""""#), Ok((String::new(), 2)));
        assert_eq!(lex("\"héllo\""), Ok(("héllo".into(), 8)));
    }

    #[test]
    fn go_escapes() {
        assert_eq!(lex(r#""a\nb\t\\\"""#).unwrap().0, "a\nb\t\\\"");
        assert_eq!(lex(r"'it\'s'").unwrap().0, "it's");
        assert_eq!(lex(r#""\x41\101\u00e9\U0001F600""#).unwrap().0, "AAé😀");
        assert_eq!(lex(r#""\a\b\f\r\v""#).unwrap().0, "\x07\x08\x0c\r\x0b");
        // A regex escape must be doubled, as in Prometheus: "\\d+".
        assert_eq!(lex(r#""\\d+""#).unwrap().0, "\\d+");
    }

    #[test]
    fn escape_errors() {
        assert!(lex(r#""\d""#).unwrap_err().1.contains("unknown escape"));
        // \' only inside single quotes, \" only inside double quotes (Go rules).
        assert!(lex(r#""\'""#).is_err());
        assert!(lex(r#"'\"'"#).is_err());
        assert!(lex(r#""\x4""#).unwrap_err().1.contains("hex digit"));
        assert!(lex(r#""\400""#).unwrap_err().1.contains("out of range"));
        assert!(lex(r#""\uD800""#).unwrap_err().1.contains("code point"));
        assert!(lex(r#""\xff""#).unwrap_err().1.contains("UTF-8"));
    }

    #[test]
    fn unterminated() {
        assert_eq!(
            lex("\"abc").unwrap_err(),
            (0, "unterminated quoted string".into())
        );
        assert_eq!(lex("\"ab\ncd\"").unwrap_err().0, 3);
        assert_eq!(lex("`abc").unwrap_err().1, "unterminated raw string");
        assert!(lex("\"abc\\").is_err());
    }
}
