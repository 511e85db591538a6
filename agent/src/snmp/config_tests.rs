//! Tests of `[[snmp]]` target parsing and validation.

use super::*;

fn parse(text: &str) -> SnmpTarget {
    toml::from_str(text).expect("valid target")
}

#[test]
fn defaults_apply() {
    let t = parse(
        "address = \"10.0.0.1\"\nversion = \"v2c\"\ncommunity = \"public\"\nclass = \"switch\"\n",
    );
    assert_eq!(t.port, 161);
    assert_eq!(t.interval, Duration::from_secs(60));
    assert_eq!(t.timeout, Duration::from_secs(2));
    assert_eq!(t.retries, 1);
    assert_eq!(t.class, DeviceClass::Switch);
    assert!(t.icmp);
    assert_eq!(t.icmp_probes, 3);
    assert_eq!(t.device_id(), "10.0.0.1");
    assert_eq!(t.display_name(), "10.0.0.1");
    assert!(t.validate().is_empty(), "{:?}", t.validate());
}

#[test]
fn device_ids_default_to_name_then_address_and_are_sanitized() {
    let mut t = SnmpTarget::v2c("fe80::1%eth0", 161, "c");
    assert_eq!(t.device_id(), "fe80::1_eth0");
    t.address = "2001:db8::1".into();
    assert_eq!(t.device_id(), "2001:db8::1", "IPv6 colons are kept");
    t.address = "sw1.example/net".into();
    assert_eq!(t.device_id(), "sw1.example_net");
    t.name = Some("Core Switch 1".into());
    assert_eq!(t.device_id(), "Core_Switch_1");
    assert_eq!(t.display_name(), "Core Switch 1");
    t.id = Some("core-sw-1".into());
    assert_eq!(t.device_id(), "core-sw-1");
    t.name = None;
    t.id = None;
    t.address = "a".repeat(200);
    assert_eq!(t.device_id().len(), MAX_CI_ID_LEN);
    assert!(t.validate().is_empty(), "{:?}", t.validate());
}

#[test]
fn explicit_ids_names_and_probes_are_checked() {
    let mut t = SnmpTarget::v2c("10.0.0.1", 161, "c");
    for bad in ["", "a/b", "sw 1", &"x".repeat(129)] {
        t.id = Some(bad.to_owned());
        let p = t.validate();
        assert!(p.iter().any(|x| x.starts_with("id:")), "{bad:?}: {p:?}");
    }
    t.id = Some("Sw-1.dc:2_a".into());
    assert!(t.validate().is_empty(), "{:?}", t.validate());
    t.name = Some("  ".into());
    t.icmp_probes = 0;
    let p = t.validate();
    assert!(p.iter().any(|x| x.starts_with("name:")), "{p:?}");
    assert!(p.iter().any(|x| x.starts_with("icmp_probes:")), "{p:?}");
    t.icmp = false;
    assert_eq!(t.validate().len(), 1, "probes do not matter without icmp");
}

#[test]
fn unknown_keys_are_rejected() {
    let r: Result<SnmpTarget, _> = toml::from_str(
        "address = \"a\"\nversion = \"v2c\"\ncommunity = \"c\"\nclass = \"ups\"\ncomunity = \"x\"\n",
    );
    assert!(r.unwrap_err().to_string().contains("comunity"));
}

#[test]
fn v3_problems_are_all_reported_with_keys() {
    let t = parse(
        "address = \"\"\nport = 0\nversion = \"v3\"\ncommunity = \"c\"\nauth_password = \"short\"\n\
         priv_protocol = \"aes\"\nclass = \"router\"\ntimeout = \"0s\"\nretries = 11\n",
    );
    let p = t.validate();
    for key in [
        "address:",
        "port:",
        "community:",
        "user:",
        "auth_protocol:",
        "auth_password:",
        "priv_password:",
        "timeout:",
        "retries:",
    ] {
        assert!(
            p.iter().any(|x| x.starts_with(key)),
            "{key} missing in {p:?}"
        );
    }
}

#[test]
fn v2c_rejects_v3_keys() {
    let t = parse("address = \"a\"\nversion = \"v2c\"\nuser = \"u\"\nclass = \"storage\"\n");
    let p = t.validate();
    assert!(p.iter().any(|x| x.starts_with("community:")), "{p:?}");
    assert!(p.iter().any(|x| x.starts_with("user:")), "{p:?}");
}

#[test]
fn debug_never_shows_credentials() {
    let t = parse(
        "address = \"a\"\nversion = \"v3\"\nuser = \"ops\"\nauth_protocol = \"sha256\"\n\
         auth_password = \"authsecret1\"\npriv_protocol = \"aes256\"\npriv_password = \"privsecret1\"\nclass = \"firewall\"\n",
    );
    assert!(t.validate().is_empty(), "{:?}", t.validate());
    let shown = format!("{t:?} {:?}", SnmpTarget::v2c("a", 161, "community9"));
    for secret in ["authsecret1", "privsecret1", "community9"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("<redacted>"));
}

#[test]
fn each_version_parses_into_its_own_struct() {
    let t = parse("address = \"a\"\nversion = \"v2c\"\ncommunity = \"c\"\nclass = \"ups\"\n");
    assert_eq!(
        t.credentials,
        Credentials::V2c(Community {
            community: Secret::new("c")
        })
    );
    let t = parse(
        "address = \"a\"\nversion = \"v3\"\nuser = \"ops\"\nauth_protocol = \"sha\"\n\
         auth_password = \"authpass1\"\nclass = \"ups\"\n",
    );
    let Credentials::V3(u) = &t.credentials else {
        panic!("{t:?}")
    };
    assert_eq!(u.user, "ops");
    assert_eq!(u.auth.protocol, AuthProtocol::Sha);
    assert_eq!(u.auth.password, Secret::new("authpass1"));
    assert_eq!(u.privacy, None);
    assert_eq!(t.version(), SnmpVersion::V3);
    assert!(t.validate().is_empty(), "{:?}", t.validate());
}

#[test]
fn keys_of_the_other_version_are_named() {
    let t = parse(
        "address = \"a\"\nversion = \"v2c\"\ncommunity = \"c\"\nuser = \"u\"\n\
         priv_protocol = \"aes\"\nclass = \"ups\"\n",
    );
    assert_eq!(
        t.validate(),
        vec![
            "priv_protocol: only valid with version v3, not v2c",
            "user: only valid with version v3, not v2c",
        ]
    );
    let t = parse(
        "address = \"a\"\nversion = \"v3\"\nuser = \"u\"\nauth_protocol = \"sha\"\n\
         auth_password = \"authpass1\"\ncommunity = \"c\"\nclass = \"ups\"\n",
    );
    assert_eq!(
        t.validate(),
        vec!["community: only valid with version v2c, not v3"]
    );
}

#[test]
fn missing_required_keys_are_named() {
    let t = parse("address = \"a\"\nversion = \"v2c\"\nclass = \"ups\"\n");
    assert_eq!(t.validate(), vec!["community: required for version v2c"]);
    let t = parse("address = \"a\"\nversion = \"v3\"\npriv_protocol = \"aes\"\nclass = \"ups\"\n");
    assert_eq!(
        t.validate(),
        vec![
            "user: required",
            "auth_protocol: required (sha or sha256)",
            "auth_password: required",
            "priv_password: required",
        ]
    );
    let e = toml::from_str::<SnmpTarget>("address = \"a\"\nclass = \"ups\"\n").unwrap_err();
    assert!(e.to_string().contains("missing field `version`"), "{e}");
    let e = toml::from_str::<SnmpTarget>("addres = \"a\"\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `addres`"), "{e}");
}

#[test]
fn unknown_keys_are_all_named_at_once() {
    let e = toml::from_str::<SnmpTarget>(
        "address = \"a\"\nversion = \"v3\"\nusr = \"u\"\nauth_proto = \"sha\"\nclass = \"ups\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown fields `auth_proto`, `usr`"), "{e}");
    assert!(e.contains("expected one of `version`, `id`"), "{e}");
    assert!(e.contains("`priv_password`"), "{e}");
}
