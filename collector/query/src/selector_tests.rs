use super::*;

fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
    Matcher::new(name, op, value).unwrap()
}

fn err(input: &str) -> String {
    match parse(input) {
        Err(QueryError::BadData(msg)) => msg,
        other => panic!("{input:?}: expected BadData, got {other:?}"),
    }
}

#[test]
fn bare_metric_name() {
    assert_eq!(
        parse("up").unwrap(),
        vec![m("__name__", MatchOp::Equal, "up")]
    );
    assert_eq!(
        parse("  node:cpu_usage:rate5m \n").unwrap(),
        vec![m("__name__", MatchOp::Equal, "node:cpu_usage:rate5m")]
    );
}

#[test]
fn metric_with_all_operators() {
    let got = parse(r#"metric{a="b", c!="d", e=~"re.*", f!~"x|y"}"#).unwrap();
    assert_eq!(
        got,
        vec![
            m("__name__", MatchOp::Equal, "metric"),
            m("a", MatchOp::Equal, "b"),
            m("c", MatchOp::NotEqual, "d"),
            m("e", MatchOp::Regex, "re.*"),
            m("f", MatchOp::NotRegex, "x|y"),
        ]
    );
}

#[test]
fn name_inside_braces() {
    let got = parse(r#"{__name__="m", job="x"}"#).unwrap();
    assert_eq!(
        got,
        vec![
            m("__name__", MatchOp::Equal, "m"),
            m("job", MatchOp::Equal, "x")
        ]
    );
    let got = parse(r#"{__name__=~"node_.*"}"#).unwrap();
    assert_eq!(got, vec![m("__name__", MatchOp::Regex, "node_.*")]);
    // Prometheus 3 style quoted metric name.
    let got = parse(r#"{"my.metric", job="x"}"#).unwrap();
    assert_eq!(
        got,
        vec![
            m("__name__", MatchOp::Equal, "my.metric"),
            m("job", MatchOp::Equal, "x")
        ]
    );
    // Quoted label name.
    let got = parse(r#"up{"host.name"="a"}"#).unwrap();
    assert_eq!(got[1], m("host.name", MatchOp::Equal, "a"));
}

#[test]
fn trailing_comma_whitespace_and_comments() {
    let want = vec![
        m("__name__", MatchOp::Equal, "up"),
        m("job", MatchOp::Equal, "x"),
    ];
    assert_eq!(parse(r#"up{job="x",}"#).unwrap(), want);
    assert_eq!(parse("\tup {\n  job = \"x\" ,\n}\t").unwrap(), want);
    assert_eq!(parse("up{job=\"x\"} # the job\n").unwrap(), want);
    assert_eq!(
        parse("up{}").unwrap(),
        vec![m("__name__", MatchOp::Equal, "up")]
    );
}

#[test]
fn all_quote_styles_and_escapes() {
    let got = parse(r#"x{a='b', c=`d\e`, f="g\"h", i=~"\\d+"}"#).unwrap();
    assert_eq!(got[1].value, "b");
    assert_eq!(got[2].value, "d\\e");
    assert_eq!(got[3].value, "g\"h");
    assert_eq!(got[4].value, "\\d+");
    assert!(got[4].matches("42") && !got[4].matches("4a"));
}

#[test]
fn matcher_semantics() {
    let re = m("host", MatchOp::Regex, "web|db");
    assert!(
        re.matches("web") && !re.matches("web01"),
        "regexes are anchored"
    );
    assert!(
        m("x", MatchOp::Regex, "a.b").matches("a\nb"),
        "dot matches newline as in Prometheus"
    );
    assert!(m("x", MatchOp::NotRegex, "a.*").matches("b"));
    let labels = vec![("__name__".to_string(), "up".to_string())];
    assert!(
        m("job", MatchOp::Equal, "").matches_labels(&labels),
        "absent label is empty"
    );
    assert!(!m("job", MatchOp::NotEqual, "").matches_labels(&labels));
    assert!(m("__name__", MatchOp::Equal, "up").matches_labels(&labels));
    assert_eq!(
        m("a", MatchOp::NotRegex, "x\"y").to_string(),
        r#"a!~"x\"y""#
    );
}

#[test]
fn empty_matching_selectors_are_rejected() {
    for q in [
        r#"{x=""}"#,
        r#"{x=~".*"}"#,
        r#"{x!~".+"}"#,
        r#"{x!="a"}"#,
        r#"{a!="1", b=~"z*"}"#,
    ] {
        assert_eq!(
            err(q),
            "1:1: parse error: vector selector must contain at least one non-empty matcher",
            "{q}"
        );
    }
    assert_eq!(
        err("{}"),
        "1:1: parse error: vector selector must contain label matchers or metric name"
    );
    // One non-empty matcher is enough.
    assert!(parse(r#"{x!="a", job=~".+"}"#).is_ok());
    assert!(parse(r#"up{x=""}"#).is_ok());
}

#[test]
fn metric_name_twice() {
    assert_eq!(
        err(r#"foo{__name__="bar"}"#),
        r#"1:1: parse error: metric name must not be set twice: "foo" or "bar""#
    );
    assert!(err(r#"{"a", "b"}"#).contains("metric name must not be set twice"));
}

#[test]
fn unsupported_syntax_names_construct_and_position() {
    let cases = [
        ("rate(up[5m])", "1:5:", "function calls"),
        ("up[5m]", "1:3:", "range vectors"),
        ("up offset 5m", "1:4:", "offset modifiers"),
        ("up @ 1000", "1:4:", "@ modifiers"),
        (
            "up + 1",
            "1:4:",
            r#"unexpected "+" after the selector: operators"#,
        ),
        ("up > 0", "1:4:", "operators are not supported"),
        ("sum by (job) (up)", "1:5:", r#"keyword "by""#),
        ("42", "1:1:", "number literals"),
        ("(up)", "1:1:", "parentheses"),
        ("-up", "1:1:", "operators"),
        ("up{job=\"a\"} or down", "1:13:", r#"keyword "or""#),
        ("up\n  foo", "2:3:", r#"identifier "foo""#),
    ];
    for (q, pos, what) in cases {
        let msg = err(q);
        assert!(
            msg.starts_with(&format!("{pos} parse error: ")),
            "{q}: {msg}"
        );
        assert!(msg.contains(what), "{q}: {msg}");
        assert!(msg.contains("only instant vector selectors"), "{q}: {msg}");
    }
}

#[test]
fn malformed_matchers() {
    assert_eq!(err(""), "1:1: parse error: no expression found in input");
    assert_eq!(err("   "), "1:4: parse error: no expression found in input");
    assert!(
        err("up{job}")
            .starts_with("1:7: parse error: unexpected character '}' after label name \"job\"")
    );
    assert!(
        err("up{job=x}").starts_with(
            "1:8: parse error: unexpected identifier \"x\" where a quoted label value"
        )
    );
    assert!(
        err(r#"up{job="x" host="y"}"#)
            .contains(r#"identifier "host" inside braces; expected "," or "}""#)
    );
    assert!(
        err(r#"up{job="x""#).contains("1:11: parse error: unexpected end of input inside braces")
    );
    assert!(err(r#"up{job="x}"#).contains("1:8: parse error: unterminated quoted string"));
    assert!(err(r#"up{1a="x"}"#).contains("unexpected number inside braces"));
    assert!(err(r#"up{job=="x"}"#).contains("operators are not supported"));
    assert!(err(r#"up{job="\q"}"#).contains("unknown escape"));
    assert!(err(r#"up{job=~"("}"#).starts_with("1:9: parse error: invalid regex"));
}
