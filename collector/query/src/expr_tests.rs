use super::*;

/// The tree fully parenthesised: binary and unary nodes in `( )`, written
/// parentheses as `[ ]`, selectors by their matchers.
fn tree(e: &Expr) -> String {
    match e {
        Expr::Number(v) => format_literal(*v),
        Expr::Selector(m) => format!("sel{}", m.len()),
        Expr::Paren(inner) => format!("[{}]", tree(inner)),
        Expr::Unary { op, expr, .. } => format!("({op}{})", tree(expr)),
        Expr::Binary { op, lhs, rhs, .. } => format!("({} {op} {})", tree(lhs), tree(rhs)),
    }
}

fn shape(input: &str) -> String {
    tree(&parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}")))
}

fn scalar(input: &str) -> f64 {
    let e = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    match e.plan() {
        Ok(Plan::Scalar(v)) => v,
        other => panic!("{input:?}: expected a scalar, got {other:?}"),
    }
}

fn err(input: &str) -> String {
    match parse(input).and_then(|e| e.plan().map(|_| ())) {
        Err(QueryError::BadData(msg)) => msg,
        other => panic!("{input:?}: expected BadData, got {other:?}"),
    }
}

#[test]
fn precedence_and_associativity() {
    let cases = [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("1 * 2 + 3", "((1 * 2) + 3)"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("8 / 4 / 2", "((8 / 4) / 2)"),
        ("8 / 4 * 2 % 3", "(((8 / 4) * 2) % 3)"),
        ("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"),
        ("2 * 3 ^ 2", "(2 * (3 ^ 2))"),
        ("2 ^ 3 * 2", "((2 ^ 3) * 2)"),
        ("1+2*3^4-5", "((1 + (2 * (3 ^ 4))) - 5)"),
        // Unary minus: looser than ^, tighter than * and +.
        ("-2 ^ 2", "(-(2 ^ 2))"),
        ("-2 * 3", "(-2 * 3)"),
        ("1 + -2 * 3", "(1 + (-2 * 3))"),
        ("2 ^ -1 * 3", "((2 ^ -1) * 3)"),
        ("2 ^ -3 ^ 2", "(2 ^ (-(3 ^ 2)))"),
        ("1 - -1", "(1 - -1)"),
        // A sign directly on a literal is folded into it, as in Prometheus.
        ("+-+1", "-1"),
        ("-(1)", "(-[1])"),
        ("(1 + 2) * 3", "([(1 + 2)] * 3)"),
        ("((1))", "[[1]]"),
        ("-up * 2", "((-sel1) * 2)"),
    ];
    for (input, want) in cases {
        assert_eq!(shape(input), want, "{input}");
    }
}

#[test]
fn scalar_values() {
    let cases = [
        ("1+1", 2.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("-2^2", -4.0),
        ("(-2)^2", 4.0),
        ("2^3^2", 512.0),
        ("2 ^ -1", 0.5),
        ("10 - 4 - 3", 3.0),
        ("12 / 3 / 2", 2.0),
        ("10 % 3", 1.0),
        ("-7 % 3", -1.0),
        ("7.5 % 2", 1.5),
        ("1/0", f64::INFINITY),
        ("-1/0", f64::NEG_INFINITY),
        ("0x1f + 1", 32.0),
        (".5 * 4", 2.0),
        ("1e3 / 10", 100.0),
        ("-Inf", f64::NEG_INFINITY),
        ("+inf", f64::INFINITY),
        ("1 + # comment\n 1", 2.0),
        ("  42  ", 42.0),
    ];
    for (input, want) in cases {
        assert_eq!(scalar(input), want, "{input}");
    }
    for input in ["NaN", "nan + 1", "0/0", "Inf - Inf", "5 % 0"] {
        assert!(scalar(input).is_nan(), "{input}");
    }
}

#[test]
fn selectors_pass_through() {
    let want = selector::parse(r#"up{job="x"}"#).unwrap();
    for input in [
        r#"up{job="x"}"#,
        r#"(up{job="x"})"#,
        r#" ( ( up { job = "x" } ) ) "#,
    ] {
        let e = parse(input).unwrap();
        assert_eq!(e.plan().unwrap(), Plan::Vector(&want), "{input}");
    }
    // Keywords other than Inf/NaN stay metric names, as before.
    assert!(matches!(parse("sum").unwrap(), Expr::Selector(_)));
    assert!(matches!(parse("info").unwrap(), Expr::Selector(_)));
}

#[test]
fn operators_on_vectors_are_rejected() {
    let only = "only instant vector selectors such as metric{label=\"value\"} and arithmetic on number literals such as 1+1 are supported";
    let cases = [
        (
            "metric + 1",
            r#"1:8: operator "+" on a vector selector is not supported"#,
        ),
        ("1 + metric", r#"1:3: operator "+" on a vector selector"#),
        ("(up) * 2", r#"1:6: operator "*" on a vector"#),
        ("1 + 2 * up", r#"1:7: operator "*" on a vector"#),
        ("a / b", r#"1:3: operator "/" on a vector"#),
        ("-up", r#"1:1: unary operator "-" on a vector selector"#),
        ("1 +\n  -up", r#"2:3: unary operator "-""#),
    ];
    for (input, start) in cases {
        let msg = err(input);
        assert!(msg.starts_with(start), "{input}: {msg}");
        assert!(msg.contains(only), "{input}: {msg}");
    }
}

#[test]
fn syntax_errors() {
    let cases = [
        ("", "1:1: parse error: no expression found in input"),
        (
            "1 +",
            "1:4: parse error: unexpected end of input where a number",
        ),
        ("* 2", r#"1:1: parse error: unexpected "*" where a number"#),
        ("(1 + 2", "1:1: parse error: unclosed left parenthesis"),
        (
            "(1 2)",
            "1:4: parse error: unexpected number inside parentheses",
        ),
        (
            "1 + 2)",
            "1:6: parse error: unexpected character ')' after the expression",
        ),
        (
            "1 2",
            "1:3: parse error: unexpected number after the expression",
        ),
        (
            "1 == 1",
            r#"1:3: parse error: unexpected "==" after the expression: comparison"#,
        ),
        ("up > 0", r#"1:4: parse error: unexpected ">" after"#),
        (
            "rate(up[5m])",
            "1:5: parse error: unexpected \"(\" after \"rate\": function calls",
        ),
        (
            "sum (up)",
            "1:5: parse error: unexpected \"(\" after \"sum\": function calls",
        ),
        ("up[5m]", "1:3: parse error: range vectors"),
        ("up offset 5m", "1:4: parse error: offset modifiers"),
        (
            "sum by (job) (up)",
            r#"1:5: parse error: unexpected keyword "by""#,
        ),
        ("1 and 2", r#"1:3: parse error: unexpected keyword "and""#),
        (
            "\"foo\"",
            "1:1: parse error: unexpected string where a number",
        ),
        (
            "1x",
            r#"1:1: parse error: bad number or duration syntax: "1x""#,
        ),
        (
            "1 + 5m",
            r#"1:5: parse error: bad number or duration syntax: "5m""#,
        ),
        (
            "Inf{a=\"b\"}",
            "1:4: parse error: unexpected character '{' after",
        ),
        (
            "{}",
            "1:1: parse error: vector selector must contain label matchers",
        ),
        (
            "1 + up{job=}",
            "1:12: parse error: unexpected character '}' where a quoted",
        ),
    ];
    for (input, start) in cases {
        let msg = err(input);
        assert!(msg.starts_with(start), "{input:?}: {msg}");
        if msg.contains("not supported") {
            assert!(
                msg.contains("and arithmetic on number literals"),
                "{input:?}: {msg}"
            );
        }
    }
}

#[test]
fn nesting_is_bounded() {
    let long_sum = format!("1{}", "+1".repeat(MAX_NODES));
    assert_eq!(scalar(&long_sum), (MAX_NODES + 1) as f64);
    let too_long = format!("1{}", "+1".repeat(MAX_NODES + 1));
    assert!(err(&too_long).contains("expression too complex"));
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(err(&deep).contains("expression too complex"));
    let signs = format!("{}1", "-".repeat(100_000));
    assert!(err(&signs).contains("expression too complex"));
}

#[test]
fn display_is_promql() {
    let cases = [
        ("1+1", "1 + 1"),
        ("-2^2", "-2 ^ 2"),
        ("(1+2)*3", "(1 + 2) * 3"),
        ("0x10 - .5", "16 - 0.5"),
        ("-Inf", "-Inf"),
        ("nan", "NaN"),
        ("1e21", "1000000000000000000000"),
        (r#"up{b="2",a=~"1|x"}"#, r#"up{a=~"1|x",b="2"}"#),
        (r#"{__name__=~"x.*"}"#, r#"{__name__=~"x.*"}"#),
        (r#"{__name__="up"}"#, "up"),
        (
            r#"{"my.metric", "host.name"="a"}"#,
            r#"{"host.name"="a",__name__="my.metric"}"#,
        ),
        (r#"( up ) + 1"#, "(up) + 1"),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input).unwrap().to_string(), want, "{input}");
    }
}
