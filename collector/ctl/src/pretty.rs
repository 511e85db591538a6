//! Re-indents JSON text without parsing it into values, so the server's key
//! order and number spellings (`1435781451.780`) are kept as sent.

/// Pretty-prints valid JSON text with two-space indentation.
pub fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Keep empty containers on one line: `{}`, `[]`.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn keeps_order_and_numbers() {
        let raw = r#"{"status":"success","data":{"result":[{"metric":{},"value":[1435781451.780,"1"]}],"e":[]}}"#;
        let want = r#"{
  "status": "success",
  "data": {
    "result": [
      {
        "metric": {},
        "value": [
          1435781451.780,
          "1"
        ]
      }
    ],
    "e": []
  }
}"#;
        assert_eq!(pretty(raw), want);
    }

    #[test]
    fn strings_are_untouched() {
        assert_eq!(
            pretty(r#"{"a":"x, {y}: \"z\\"}"#),
            "{\n  \"a\": \"x, {y}: \\\"z\\\\\"\n}"
        );
        assert_eq!(pretty(" [ 1 , 2 ] "), "[\n  1,\n  2\n]");
        assert_eq!(pretty("[ ]"), "[]");
    }
}
