//! Tests of `[[notify.receiver]]` parsing and validation.

use super::*;
use crate::channels::PAGERDUTY_EVENTS_URL;

fn parse(toml_text: &str) -> ReceiverConfig {
    toml::from_str(toml_text).unwrap()
}

fn parse_err(toml_text: &str) -> String {
    toml::from_str::<ReceiverConfig>(toml_text)
        .expect_err("a parse error")
        .to_string()
}

fn has(p: &[String], prefix: &str) -> bool {
    p.iter().any(|e| e.starts_with(prefix))
}

#[test]
fn each_kind_parses_into_its_own_struct() {
    let cases = [
        (
            "webhook",
            "url = \"http://h/x\"\nhmac_secret = \"k\"\nheaders = { X-A = \"1\" }",
        ),
        (
            "alertmanager",
            "url = \"http://h/x\"\nheaders = { X-A = \"1\" }",
        ),
        ("pagerduty", "routing_key = \"k\""),
        (
            "dingtalk",
            "url = \"https://h/robot?access_token=t\"\nsecret = \"s\"",
        ),
        ("wecom", "url = \"https://h/robot?key=t\""),
        ("feishu", "url = \"https://h/hook/t\"\nsecret = \"s\""),
        (
            "email",
            "smtp_host = \"smtp.example.com\"\nfrom = \"t@example.com\"\nto = [\"noc@example.com\"]",
        ),
    ];
    for (kind, keys) in cases {
        let r = parse(&format!("name = \"r\"\nkind = \"{kind}\"\n{keys}"));
        assert_eq!(r.kind().as_str(), kind);
        assert!(r.validate().is_empty(), "{kind}: {:?}", r.validate());
    }
    let w = parse("name = \"a\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"");
    assert_eq!(w.timeout, Duration::from_secs(10));
    let ChannelConfig::Webhook(c) = &w.channel else {
        panic!("{w:?}")
    };
    assert_eq!(c.url.expose(), "http://127.0.0.1:9/x");
    let e = parse(
        "name = \"m\"\nkind = \"email\"\ntls = \"tls\"\nsmtp_host = \"h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]",
    );
    let ChannelConfig::Email(c) = &e.channel else {
        panic!("{e:?}")
    };
    assert_eq!(c.smtp_port(), 465);
}

#[test]
fn unknown_keys_are_all_named_at_once() {
    let e = parse_err("name = \"a\"\nkind = \"webhook\"\nurll = \"x\"\ntimout = \"1s\"");
    assert!(e.contains("unknown fields `timout`, `urll`"), "{e}");
    assert!(e.contains("expected one of `kind`, `name`"), "{e}");
    assert!(e.contains("`hmac_secret`"), "{e}");
    assert!(parse_err("name = \"a\"\nurl = \"x\"").contains("missing field `kind`"));
    let e = parse_err("name = \"a\"\nurll = \"x\"");
    assert!(
        e.contains("unknown field `urll`") && e.contains("`kind`"),
        "{e}"
    );
}

#[test]
fn keys_of_other_kinds_are_named_with_their_kinds() {
    let r = parse(
        "name = \"w\"\nkind = \"webhook\"\nurl = \"https://h/x\"\nrouting_key = \"k\"\n\
         secret = \"s\"\nsmtp_host = \"h\"",
    );
    let p = r.validate();
    assert!(
        p.contains(&"routing_key: not used by kind webhook (only by pagerduty)".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(&"secret: not used by kind webhook (only by dingtalk, feishu)".to_string()),
        "{p:?}"
    );
    assert!(
        has(&p, "smtp_host: not used by kind webhook (only by email)"),
        "{p:?}"
    );
    let a = parse("name = \"a\"\nkind = \"wecom\"\nurl = \"https://h/x\"\nheaders = { X = \"1\" }");
    assert_eq!(
        a.validate(),
        vec!["headers: not used by kind wecom (only by webhook, alertmanager)"]
    );
}

#[test]
fn missing_required_keys_are_named() {
    for (kind, key) in [
        ("webhook", "url:"),
        ("alertmanager", "url:"),
        ("dingtalk", "url:"),
        ("wecom", "url:"),
        ("feishu", "url:"),
        ("pagerduty", "routing_key:"),
    ] {
        let p = parse(&format!("name = \"r\"\nkind = \"{kind}\"")).validate();
        assert!(
            p.contains(&format!("{key} required for kind {kind}")),
            "{kind}: {p:?}"
        );
    }
    let p = parse("name = \"m\"\nkind = \"email\"").validate();
    for key in ["smtp_host:", "from:", "to:"] {
        assert!(has(&p, key), "{key} missing in {p:?}");
    }
}

#[test]
fn reports_every_problem_with_its_key() {
    let r = parse(
        "name = \"bad name\"\nkind = \"dingtalk\"\nurl = \"ftp://x/robot?access_token=s3cr3t\"\n\
         timeout = \"0s\"\nrouting_key = \"k\"\nto = [\"a@b.c\"]\nheaders = { X = \"1\" }",
    );
    let p = r.validate();
    for key in [
        "name:",
        "timeout:",
        "url:",
        "routing_key:",
        "to:",
        "headers:",
    ] {
        assert!(has(&p, key), "{key} missing in {p:?}");
    }
    assert!(p.iter().all(|e| !e.contains("s3cr3t")), "{p:?}");
}

#[test]
fn email_needs_its_fields() {
    let r = parse(
        "name = \"m\"\nkind = \"email\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\nto = [\"nope\"]",
    );
    let p = r.validate();
    for key in ["smtp_host:", "from:", "to[0]:", "password:"] {
        assert!(has(&p, key), "{key} missing in {p:?}");
    }
}

#[test]
fn pagerduty_defaults_its_url_and_needs_a_key() {
    let r = parse("name = \"pd\"\nkind = \"pagerduty\"");
    assert_eq!(r.endpoint(), Some(PAGERDUTY_EVENTS_URL));
    assert_eq!(
        r.validate(),
        vec!["routing_key: required for kind pagerduty"]
    );
}

#[test]
fn reserved_headers_and_duplicates() {
    let a = parse(
        "name = \"w\"\nkind = \"webhook\"\nurl = \"https://h/x\"\nheaders = { Idempotency-Key = \"1\" }",
    );
    let b = a.clone();
    let p = validate_receivers(&[a, b]);
    assert!(p.contains(&"notify.receiver[\"w\"].name: duplicate receiver name".to_string()));
    assert!(
        p.iter()
            .any(|e| e.starts_with("notify.receiver[\"w\"].headers.Idempotency-Key:")),
        "{p:?}"
    );
}
