use super::*;
use crate::checks::HttpCheckConfig;
use crate::config::parse_file;

fn parse(text: &str) -> Vec<CheckConfig> {
    parse_file(text).expect("valid TOML").check
}

fn problems(checks: &[CheckConfig]) -> Vec<String> {
    let mut p = Vec::new();
    checks_problems(checks, &["core-sw".to_owned()], &mut p);
    p
}

#[test]
fn a_full_http_check_parses_with_its_ci() {
    let checks = parse(
        r#"
        [[check]]
        name = "shop-home"
        kind = "http"
        url = "https://shop.example.com/"
        interval = "15s"
        timeout = "5s"
        slow_after = "800ms"
        labels = { service = "shop" }
        method = "HEAD"
        headers = { "X-Probe" = "tocsin" }
        expect_status = [200, 204]
        body_contains = "Welcome"
        body_regex = "Welcome to .*"
        follow_redirects = false
        [check.ci]
        id = "shop"
        class = "application"
        name = "Shop"
        owner = "team-web"
        criticality = "critical"
        runs_on = "web01"
        "#,
    );
    let c = &checks[0];
    assert_eq!(
        (c.kind(), c.target()),
        (CheckKind::Http, "https://shop.example.com/")
    );
    assert_eq!(c.interval, Duration::from_secs(15));
    assert_eq!(c.slow_after(), Some(Duration::from_millis(800)));
    assert_eq!(c.ci_id(), Some("shop"));
    assert_eq!(c.ci.as_ref().unwrap().runs_on.as_deref(), Some("web01"));
    assert!(problems(&checks).is_empty(), "{:?}", problems(&checks));
}

#[test]
fn defaults_per_kind() {
    let checks = parse(
        r#"
        [[check]]
        name = "gw"
        kind = "icmp"
        host = "10.0.0.1"
        [[check]]
        name = "db"
        kind = "tcp"
        address = "[2001:db8::5]:5432"
        slow_after = "0s"
        [[check]]
        name = "ldap"
        kind = "dns"
        host = "ldap.example.com"
        [check.ci]
        "#,
    );
    assert!(problems(&checks).is_empty(), "{:?}", problems(&checks));
    assert_eq!(checks[0].slow_after(), Some(Duration::from_millis(500)));
    assert!(
        matches!(&checks[0].probe, ProbeConfig::Icmp(c) if c.probes() == 3),
        "{:?}",
        checks[0].probe
    );
    assert_eq!(checks[0].interval, Duration::from_secs(30));
    assert_eq!(checks[1].slow_after(), None, "0s switches slowness off");
    assert_eq!(
        checks[2].ci_id(),
        Some("ldap"),
        "the CI id defaults to the check name"
    );
    assert_eq!(checks[0].ci_id(), None);
}

#[test]
fn every_problem_is_named_by_its_key() {
    let checks = parse(
        r#"
        [[check]]
        name = "bad name"
        kind = "http"
        url = "ftp://x/"
        interval = "500ms"
        timeout = "2s"
        probes = 3
        body_regex = "("
        expect_status = [999]
        headers = { "Bad Header" = "x" }
        labels = { check = "x", host = "y" }
        [check.ci]
        id = "core-sw"
        criticality = "urgent"
        runs_on = " "

        [[check]]
        name = "tcp1"
        kind = "tcp"
        address = "db01"
        url = "http://x/"

        [[check]]
        name = "tcp1"
        kind = "icmp"
        probes = 50
        "#,
    );
    let p = problems(&checks);
    let expected = [
        "check[0].name: ",
        "check[0].url: \"ftp://x/\": only http:// and https:// are supported",
        "check[0].interval: must be at least 1s",
        "check[0].timeout: must not exceed the interval",
        "check[0].probes: not used by kind http (only by icmp)",
        "check[0].body_regex: ",
        "check[0].expect_status: 999 is not an HTTP status",
        "check[0].headers.Bad Header: not a valid header name",
        "check[0].labels.check: \"check\" is set by the check itself",
        "check[0].labels.host: \"host\" is set by the agent itself",
        "check[0].ci.criticality: must be one of low, medium, high, critical, got \"urgent\"",
        "check[0].ci.runs_on: must be 1 to 256 bytes, not blank",
        "check[0].ci.id: \"core-sw\" is the id of an [[snmp]] device",
        "check[1].address: \"db01\" is not host:port",
        "check[1].url: not used by kind tcp (only by http)",
        "check[2].host: required for kind icmp",
        "check[2].probes: must be between 1 and 20, got 50",
        "check[2].name: \"tcp1\" is already used by check[1]",
    ];
    for want in expected {
        assert!(
            p.iter().any(|x| x.starts_with(want)),
            "missing {want:?} in {p:#?}"
        );
    }
    assert_eq!(p.len(), expected.len(), "{p:#?}");
}

#[test]
fn checks_sharing_a_ci_must_agree() {
    let checks = parse(
        r#"
        [[check]]
        name = "a"
        kind = "tcp"
        address = "db01:5432"
        ci = { id = "db", owner = "dba", runs_on = "db01" }
        [[check]]
        name = "b"
        kind = "icmp"
        host = "db01"
        ci = { id = "db", runs_on = "db02" }
        [[check]]
        name = "c"
        kind = "dns"
        host = "db01"
        ci = { id = "db", owner = "dba", class = "service" }
        "#,
    );
    let p = problems(&checks);
    assert_eq!(
        p,
        ["check[1].ci.runs_on: differs from check[0], which declares the same CI \"db\""]
    );
}

#[test]
fn a_missing_ca_file_is_a_config_error() {
    let mut http = HttpCheckConfig::new("https://x.example/");
    http.tls_ca_file = Some("/nonexistent/ca.pem".into());
    let p = CheckConfig::new("x", http).validate();
    assert!(
        p[0].starts_with("tls_ca_file: cannot read /nonexistent/ca.pem"),
        "{p:?}"
    );
}

#[test]
fn urls_with_passwords_and_oversized_targets_are_refused() {
    let mut c = CheckConfig::new(
        "x",
        HttpCheckConfig::new("https://ops:s3cret@shop.example/"),
    );
    let p = c.validate();
    assert!(p[0].starts_with("url: must not carry a password"), "{p:?}");
    assert!(
        !p[0].contains("s3cret"),
        "the secret is not repeated: {p:?}"
    );
    c.probe = HttpCheckConfig::new(format!("https://shop.example/{}", "a".repeat(1100))).into();
    let p = c.validate();
    assert!(p[0].starts_with("url: longer than 1024 bytes"), "{p:?}");
}

#[test]
fn each_kind_reads_only_its_own_keys() {
    let checks = parse(
        r#"
        [[check]]
        name = "ns"
        kind = "dns"
        host = " ns1.example "
        expect_addresses = ["192.0.2.1"]
        [[check]]
        name = "gw"
        kind = "icmp"
        host = "10.0.0.1"
        probes = 5
        timeout = "1s"
        "#,
    );
    assert!(problems(&checks).is_empty(), "{:?}", problems(&checks));
    let dns = DnsCheckConfig {
        host: " ns1.example ".into(),
        expect_addresses: vec!["192.0.2.1".into()],
    };
    assert_eq!(checks[0].probe, ProbeConfig::Dns(dns));
    assert_eq!(checks[0].target(), "ns1.example");
    let mut icmp = CheckConfig::new("gw", IcmpCheckConfig::new("10.0.0.1"));
    icmp.timeout = Duration::from_secs(1);
    if let ProbeConfig::Icmp(c) = &mut icmp.probe {
        c.probes = Some(5);
    }
    assert_eq!(checks[1], icmp);
}

#[test]
fn keys_of_other_kinds_are_all_reported_and_unknown_keys_refused() {
    let checks = parse(
        r#"
        [[check]]
        name = "db"
        kind = "tcp"
        address = "db01:5432"
        host = "db01"
        tls_insecure = false
        expect_addresses = []
        "#,
    );
    assert_eq!(
        problems(&checks),
        [
            "check[0].expect_addresses: not used by kind tcp (only by dns)",
            "check[0].host: not used by kind tcp (only by icmp, dns)",
            "check[0].tls_insecure: not used by kind tcp (only by http)",
        ]
    );
    let e =
        parse_file("[[check]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"a:1\"\nadress = \"x\"\n")
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("unknown field `adress`, expected one of `kind`, `name`"),
        "{e}"
    );
    assert!(
        e.contains("`address`") && !e.contains("`url`"),
        "only the kind's keys: {e}"
    );
    let e = parse_file("[[check]]\nname = \"a\"\nkind = \"smtp\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `smtp`"), "{e}");
    let e = parse_file("[[check]]\nname = \"a\"\nkind = \"icmp\"\nprobes = \"many\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid type") && e.contains("probes"), "{e}");
    let e = parse_file("[[check]]\nname = \"a\"\nhost = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing field `kind`"), "{e}");
}

#[test]
fn the_keys_of_each_kind_come_from_its_struct() {
    assert_eq!(field_names::<IcmpCheckConfig>(), ["host", "probes"]);
    assert_eq!(field_names::<TcpCheckConfig>(), ["address"]);
    assert_eq!(
        field_names::<DnsCheckConfig>(),
        ["host", "expect_addresses"]
    );
    assert!(field_names::<HttpCheckConfig>().contains(&"tls_ca_file"));
    assert_eq!(kinds_using("host"), [CheckKind::Icmp, CheckKind::Dns]);
}
