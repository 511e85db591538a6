//! End-to-end tests of the SNMP trap receiver with real notifications sent by
//! net-snmp's `snmptrap` and `snmpinform` (Debian package `snmp`) to a
//! receiver on a free loopback port.

use std::net::{SocketAddr, UdpSocket};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use tocsin_agent::snmp::Secret;
use tocsin_agent::snmp::config::{AuthProtocol, PrivProtocol, UsmAuth, UsmPrivacy, UsmUser};
use tocsin_agent::snmp::trap::{ReceivedTrap, TrapConfig, TrapKind, TrapReceiver};
use tokio::sync::mpsc;

const COMMUNITY: &str = "tocsin-traps";
const USER: &str = "trapper";
const AUTH_USER: &str = "authonly";
const AUTH_PASS: &str = "authpass-123";
const PRIV_PASS: &str = "privpass-456";
const WAIT: Duration = Duration::from_secs(10);

/// A receiver on 127.0.0.1:<free port>, drained by a task into a channel.
struct Harness {
    receiver: Arc<TrapReceiver>,
    traps: mpsc::UnboundedReceiver<ReceivedTrap>,
    task: tokio::task::JoinHandle<()>,
    /// net-snmp's configuration and persistent files, kept out of $HOME.
    net_snmp_dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config() -> TrapConfig {
    TrapConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        communities: vec![Secret::new(COMMUNITY)],
        users: vec![
            UsmUser::new(
                USER,
                UsmAuth {
                    protocol: AuthProtocol::Sha,
                    password: Secret::new(AUTH_PASS),
                },
                Some(UsmPrivacy {
                    protocol: PrivProtocol::Aes,
                    password: Secret::new(PRIV_PASS),
                }),
            ),
            UsmUser::new(
                AUTH_USER,
                UsmAuth {
                    protocol: AuthProtocol::Sha256,
                    password: Secret::new(AUTH_PASS),
                },
                None,
            ),
        ],
    }
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(config()).await
    }

    async fn start_with(config: TrapConfig) -> Self {
        let receiver = Arc::new(TrapReceiver::bind(&config).await.expect("bind receiver"));
        assert_ne!(receiver.local_addr().port(), 0);
        let (tx, traps) = mpsc::unbounded_channel();
        let r = Arc::clone(&receiver);
        let task = tokio::spawn(async move {
            loop {
                if tx.send(r.recv().await).is_err() {
                    return;
                }
            }
        });
        Self {
            receiver,
            traps,
            task,
            net_snmp_dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.receiver.local_addr().port())
    }

    /// Runs a net-snmp command (`snmptrap`, `snmpinform`) with `args`, where
    /// `TARGET` is replaced by the receiver's address.
    async fn run(&self, program: &str, args: &[&str]) -> Output {
        let target = self.target();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "TARGET" { target.as_str() } else { a })
            .collect();
        let dir = self.net_snmp_dir.path();
        let child = tokio::process::Command::new(program)
            .args(&args)
            .env("MIBS", "")
            .env("SNMPCONFPATH", dir)
            .env("SNMP_PERSISTENT_DIR", dir)
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(Duration::from_secs(30), child)
            .await
            .unwrap_or_else(|_| panic!("{program} {args:?} hung"))
            .unwrap_or_else(|e| panic!("cannot run {program} (apt-get install snmp): {e}"))
    }

    /// Like [`Self::run`], and the command must succeed.
    async fn run_ok(&self, program: &str, args: &[&str]) {
        let out = self.run(program, args).await;
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn next(&mut self) -> ReceivedTrap {
        tokio::time::timeout(WAIT, self.traps.recv())
            .await
            .expect("no trap received in time")
            .expect("receiver task ended")
    }

    /// Asserts that nothing more arrives within a short while.
    async fn nothing_more(&mut self) {
        let got = tokio::time::timeout(Duration::from_millis(300), self.traps.recv()).await;
        assert!(got.is_err(), "unexpected trap: {got:?}");
    }
}

const LINK_DOWN: &[&str] = &[
    "1.3.6.1.6.3.1.1.5.3",
    "1.3.6.1.2.1.2.2.1.1.2",
    "i",
    "2",
    "1.3.6.1.2.1.2.2.1.7.2",
    "i",
    "1",
    "1.3.6.1.2.1.2.2.1.8.2",
    "i",
    "2",
    "1.3.6.1.2.1.31.1.1.1.1.2",
    "s",
    "eth0",
];

fn v2c(community: &str, uptime: &'static str, rest: &[&'static str]) -> Vec<String> {
    let mut args = vec!["-v", "2c", "-c", community, "TARGET", uptime];
    args.extend_from_slice(rest);
    args.into_iter().map(str::to_owned).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_from_loopback(t: &ReceivedTrap) {
    assert_eq!(
        t.source.ip(),
        "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
    );
}

#[tokio::test]
async fn v2c_link_down_is_decoded_with_interface() {
    let mut h = Harness::start().await;
    h.run_ok("snmptrap", &strs(&v2c(COMMUNITY, "4200", LINK_DOWN)))
        .await;
    let t = h.next().await;
    assert_from_loopback(&t);
    assert_eq!(t.kind, TrapKind::LinkDown);
    assert_eq!(t.trap_oid, "1.3.6.1.6.3.1.1.5.3");
    assert_eq!(t.uptime_seconds, Some(42.0));
    let i = t.interface.as_ref().expect("interface");
    assert_eq!(i.if_index, 2);
    assert_eq!(i.name.as_deref(), Some("eth0"));
    assert_eq!((i.admin_status, i.oper_status), (Some(1), Some(2)));
    assert_eq!(
        t.summary,
        "linkDown on eth0 (ifIndex 2): admin up, oper down"
    );
    assert_eq!(t.fields["ifIndex.2"], "2");
    assert_eq!(t.fields["ifAdminStatus.2"], "1");
    assert_eq!(t.fields["ifOperStatus.2"], "2");
    assert_eq!(t.fields["snmpTrapOID.0"], "1.3.6.1.6.3.1.1.5.3");
    assert!(t.fields.contains_key("sysUpTime.0"));
    assert_eq!(h.receiver.refused(), 0);
    h.nothing_more().await;
}

#[tokio::test]
async fn v2c_cold_start_reports_uptime() {
    let mut h = Harness::start().await;
    h.run_ok(
        "snmptrap",
        &strs(&v2c(COMMUNITY, "1234", &["1.3.6.1.6.3.1.1.5.1"])),
    )
    .await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::ColdStart);
    assert_eq!(t.uptime_seconds, Some(12.34));
    assert_eq!(t.interface, None);
    assert_eq!(t.summary, "coldStart: device restarted (uptime 12s)");
}

#[tokio::test]
async fn enterprise_specific_trap_keeps_every_varbind() {
    let mut h = Harness::start().await;
    let rest = [
        "1.3.6.1.4.1.8072.2.3.0.1",
        "1.3.6.1.4.1.8072.2.3.2.1",
        "i",
        "42",
        "1.3.6.1.4.1.8072.2.3.2.2",
        "s",
        "disk almost full",
        "1.3.6.1.2.1.1.5.0",
        "s",
        "core-sw-1",
    ];
    h.run_ok("snmptrap", &strs(&v2c(COMMUNITY, "", &rest)))
        .await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::Other);
    assert_eq!(t.kind.as_str(), "trap");
    assert_eq!(t.trap_oid, "1.3.6.1.4.1.8072.2.3.0.1");
    assert_eq!(t.summary, "trap 1.3.6.1.4.1.8072.2.3.0.1 from 127.0.0.1");
    assert_eq!(t.fields["1.3.6.1.4.1.8072.2.3.2.1"], "42");
    assert_eq!(t.fields["1.3.6.1.4.1.8072.2.3.2.2"], "disk almost full");
    assert_eq!(t.fields["sysName.0"], "core-sw-1");
    assert_eq!(t.fields.len(), 5, "{:?}", t.fields);
}

#[tokio::test]
async fn v1_traps_are_mapped_to_the_v2_form() {
    let mut h = Harness::start().await;
    let v1 = |generic: &'static str, specific: &'static str, rest: &[&'static str]| {
        let mut args = vec![
            "-v",
            "1",
            "-c",
            COMMUNITY,
            "TARGET",
            "1.3.6.1.4.1.8072.3.2.10",
            "10.9.8.7",
            generic,
            specific,
            "4321",
        ];
        args.extend_from_slice(rest);
        args
    };
    let link_up = [
        "1.3.6.1.2.1.2.2.1.1.3",
        "i",
        "3",
        "1.3.6.1.2.1.2.2.1.8.3",
        "i",
        "1",
    ];
    h.run_ok("snmptrap", &v1("3", "0", &link_up)).await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::LinkUp);
    assert_eq!(t.trap_oid, "1.3.6.1.6.3.1.1.5.4");
    assert_eq!(t.uptime_seconds, Some(43.21));
    assert_eq!(t.summary, "linkUp on ifIndex 3: oper up");
    assert_eq!(t.fields["snmpTrapEnterprise.0"], "1.3.6.1.4.1.8072.3.2.10");
    assert_eq!(t.fields["snmpTrapAddress.0"], "10.9.8.7");
    assert_eq!(t.fields["snmpTrapOID.0"], "1.3.6.1.6.3.1.1.5.4");

    h.run_ok(
        "snmptrap",
        &v1("6", "17", &["1.3.6.1.4.1.8072.9.9", "i", "5"]),
    )
    .await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::Other);
    assert_eq!(t.trap_oid, "1.3.6.1.4.1.8072.3.2.10.0.17");
    assert_eq!(t.fields["1.3.6.1.4.1.8072.9.9"], "5");
}

#[tokio::test]
async fn wrong_community_is_refused_and_counted() {
    let mut h = Harness::start().await;
    h.run_ok("snmptrap", &strs(&v2c("not-the-community", "", LINK_DOWN)))
        .await;
    let v1_wrong = [
        "-v",
        "1",
        "-c",
        "public",
        "TARGET",
        "1.3.6.1.4.1.1",
        "127.0.0.1",
        "0",
        "0",
        "1",
    ];
    h.run_ok("snmptrap", &v1_wrong).await;
    h.run_ok(
        "snmptrap",
        &strs(&v2c(COMMUNITY, "", &["1.3.6.1.6.3.1.1.5.2"])),
    )
    .await;
    let t = h.next().await;
    assert_eq!(
        t.kind,
        TrapKind::WarmStart,
        "the refused traps must not arrive"
    );
    assert_eq!(h.receiver.refused(), 2);
    h.nothing_more().await;
}

#[tokio::test]
async fn no_communities_refuses_every_v1_and_v2c_trap() {
    let mut h = Harness::start_with(TrapConfig {
        communities: vec![],
        ..config()
    })
    .await;
    h.run_ok("snmptrap", &strs(&v2c(COMMUNITY, "", LINK_DOWN)))
        .await;
    h.run_ok("snmptrap", &strs(&v2c("", "", LINK_DOWN))).await;
    h.nothing_more().await;
    assert_eq!(h.receiver.refused(), 2);
}

#[tokio::test]
async fn garbage_datagrams_do_not_stop_the_receiver() {
    let mut h = Harness::start().await;
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to: SocketAddr = h.receiver.local_addr();
    let garbage: [&[u8]; 6] = [
        b"",
        b"hello, this is not SNMP",
        &[0x30, 0x82, 0xff, 0xff, 0x02, 0x01],
        &[0x30, 0x03, 0x02, 0x01, 0x05],
        &[
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x04, 0x03, b'a', b'b', b'c', 0xa7, 0x02, 0x05, 0x00,
        ],
        &[0xff; 1400],
    ];
    for g in garbage {
        sock.send_to(g, to).unwrap();
    }
    h.run_ok("snmptrap", &strs(&v2c(COMMUNITY, "", LINK_DOWN)))
        .await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::LinkDown);
    h.nothing_more().await;
}

#[tokio::test]
async fn v2c_inform_is_acknowledged_only_with_the_right_community() {
    let mut h = Harness::start().await;
    let mut args = vec!["-t", "1", "-r", "0"];
    let good = v2c(COMMUNITY, "", LINK_DOWN);
    args.extend(strs(&good));
    h.run_ok("snmpinform", &args).await;
    assert_eq!(h.next().await.kind, TrapKind::LinkDown);

    let mut args = vec!["-t", "1", "-r", "0"];
    let bad = v2c("wrong", "", LINK_DOWN);
    args.extend(strs(&bad));
    let out = h.run("snmpinform", &args).await;
    assert!(
        !out.status.success(),
        "an inform with a wrong community was acknowledged"
    );
    h.nothing_more().await;
    assert_eq!(h.receiver.refused(), 1);
}

fn v3(user: &str, level: &str, auth: &str, auth_pass: &str, privacy: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "-v".to_owned(),
        "3".to_owned(),
        "-u".to_owned(),
        user.to_owned(),
        "-l".to_owned(),
        level.to_owned(),
    ];
    if level != "noAuthNoPriv" {
        args.extend(["-a", auth, "-A", auth_pass].map(str::to_owned));
    }
    if let Some(p) = privacy {
        args.extend(["-x", "AES", "-X", p].map(str::to_owned));
    }
    args
}

fn with_engine(mut args: Vec<String>, engine: &str) -> Vec<String> {
    args.extend(["-e".to_owned(), engine.to_owned()]);
    args
}

fn trap_args(mut args: Vec<String>, rest: &[&str]) -> Vec<String> {
    args.push("TARGET".to_owned());
    args.push(String::new());
    args.extend(rest.iter().map(|s| (*s).to_owned()));
    args
}

#[tokio::test]
async fn v3_auth_priv_trap_is_accepted_from_any_engine() {
    let mut h = Harness::start().await;
    for engine in ["0x80001f8880aabbccdd01", "0x80001f8880aabbccdd02"] {
        let args = trap_args(
            with_engine(
                v3(USER, "authPriv", "SHA", AUTH_PASS, Some(PRIV_PASS)),
                engine,
            ),
            LINK_DOWN,
        );
        h.run_ok("snmptrap", &strs(&args)).await;
        let t = h.next().await;
        assert_eq!(
            t.summary,
            "linkDown on eth0 (ifIndex 2): admin up, oper down"
        );
    }
    let args = trap_args(
        with_engine(
            v3(AUTH_USER, "authNoPriv", "SHA-256", AUTH_PASS, None),
            "0x80001f8880aabbccdd03",
        ),
        &["1.3.6.1.6.3.1.1.5.1"],
    );
    h.run_ok("snmptrap", &strs(&args)).await;
    assert_eq!(h.next().await.kind, TrapKind::ColdStart);
    assert_eq!(h.receiver.refused(), 0);
}

#[tokio::test]
async fn v3_traps_with_bad_credentials_or_level_are_refused() {
    let mut h = Harness::start().await;
    let engine = "0x80001f8880aabbccdd10";
    let refused = [
        // wrong auth password
        v3(USER, "authPriv", "SHA", "wrong-password", Some(PRIV_PASS)),
        // unknown user
        v3("nobody", "authPriv", "SHA", AUTH_PASS, Some(PRIV_PASS)),
        // a privacy user without privacy
        v3(USER, "authNoPriv", "SHA", AUTH_PASS, None),
        // no authentication at all
        v3(AUTH_USER, "noAuthNoPriv", "", "", None),
    ];
    for (n, args) in refused.into_iter().enumerate() {
        let args = trap_args(with_engine(args, engine), LINK_DOWN);
        h.run_ok("snmptrap", &strs(&args)).await;
        h.nothing_more().await;
        assert_eq!(
            h.receiver.refused(),
            n as u64 + 1,
            "refusal {n} not counted"
        );
    }
    let args = trap_args(
        with_engine(
            v3(USER, "authPriv", "SHA", AUTH_PASS, Some(PRIV_PASS)),
            engine,
        ),
        &["1.3.6.1.6.3.1.1.5.5"],
    );
    h.run_ok("snmptrap", &strs(&args)).await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::AuthenticationFailure);
    assert!(
        t.summary.starts_with("authenticationFailure: "),
        "{}",
        t.summary
    );
}

#[tokio::test]
async fn v3_inform_is_acknowledged() {
    let mut h = Harness::start().await;
    assert_eq!(h.receiver.engine_id().len() % 2, 0);
    let mut args = vec![
        "-t".to_owned(),
        "2".to_owned(),
        "-r".to_owned(),
        "1".to_owned(),
    ];
    args.extend(trap_args(
        v3(USER, "authPriv", "SHA", AUTH_PASS, Some(PRIV_PASS)),
        LINK_DOWN,
    ));
    h.run_ok("snmpinform", &strs(&args)).await;
    let t = h.next().await;
    assert_eq!(t.kind, TrapKind::LinkDown);
    assert_eq!(t.interface.as_ref().map(|i| i.if_index), Some(2));

    let mut args = vec![
        "-t".to_owned(),
        "1".to_owned(),
        "-r".to_owned(),
        "0".to_owned(),
    ];
    args.extend(trap_args(
        v3(USER, "authPriv", "SHA", "wrong-password", Some(PRIV_PASS)),
        LINK_DOWN,
    ));
    let out = h.run("snmpinform", &strs(&args)).await;
    assert!(
        !out.status.success(),
        "an inform with a wrong password was acknowledged"
    );
    h.nothing_more().await;
    assert!(h.receiver.refused() >= 1);
}
