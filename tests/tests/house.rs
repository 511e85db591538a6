//! The house rules the compiler cannot check on its own, checked on every
//! test run: the collector's crates depend only downward along the data
//! flow, `tocsinctl` links no RocksDB, only the storage crate names RocksDB,
//! and no source file grows past 600 lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The workspace's crates in flow order: a crate may depend only on crates
/// listed before it.
const FLOW: &[&str] = &[
    "tocsin-config-keys",
    "tocsin-proto",
    "tocsin-model",
    "tocsin-storage",
    "tocsin-query",
    "tocsin-rules",
    "tocsin-cmdb",
    "tocsin-incidents",
    "tocsin-notify",
    "tocsin-api-types",
    "tocsin-collector",
    "tocsinctl",
    "tocsin-agent",
    "tocsin-e2e",
    "tocsin-benches",
];

/// The shared test harness crate, which other crates may take as a dev-dependency.
const SHARED_HARNESS: &str = "tocsin-e2e";

/// Longest allowed source file, in lines.
const MAX_LINES: usize = 600;

fn workspace_root() -> PathBuf {
    tocsin_e2e::workspace_root()
}

/// `cargo metadata` of the workspace's own crates.
fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn name_of(packages: &[Value], id: &str) -> String {
    packages
        .iter()
        .find(|p| p["id"] == id)
        .and_then(|p| p["name"].as_str())
        .unwrap_or(id)
        .to_string()
}

#[test]
fn workspace_crates_depend_only_downward_along_the_flow() {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| name_of(packages, id.as_str().unwrap_or_default()))
        .collect();
    let unplaced: Vec<_> = members
        .iter()
        .filter(|m| !FLOW.contains(&m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "crates missing from FLOW in tests/tests/house.rs: {unplaced:?}"
    );
    let rank = |name: &str| FLOW.iter().position(|n| *n == name);
    let mut upward = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(own) = rank(name).filter(|_| members.contains(name)) else {
            continue;
        };
        for dep in p["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            // tocsin-e2e is the shared test harness (processes, recording
            // receivers): any crate's tests may use it, so a dev-dependency
            // on it is no edge of the flow. It stays harmless because it
            // depends on no collector crate (checked below).
            if dep_name == SHARED_HARNESS && dep["kind"] == "dev" {
                continue;
            }
            if let Some(theirs) = rank(dep_name)
                && theirs >= own
            {
                upward.push(format!("{name} -> {dep_name}"));
            }
        }
    }
    assert!(upward.is_empty(), "upward crate edges: {upward:?}");
}

#[test]
fn the_shared_test_harness_depends_on_no_collector_crate() {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let harness = packages
        .iter()
        .find(|p| p["name"] == SHARED_HARNESS)
        .expect("the harness crate is a workspace member");
    let collector_crates = &FLOW[FLOW.iter().position(|n| *n == "tocsin-model").unwrap()
        ..=FLOW.iter().position(|n| *n == "tocsinctl").unwrap()];
    // Collector crates take the harness as a dev-dependency, so the harness
    // library must never lead back to them. Its own tests may read the
    // typed API bodies (types only: `tocsin-api-types`).
    let bad: Vec<String> = harness["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| collector_crates.contains(&d["name"].as_str().unwrap_or_default()))
        .filter(|d| !(d["kind"] == "dev" && d["name"] == "tocsin-api-types"))
        .map(|d| format!("{} ({})", d["name"], d["kind"]))
        .collect();
    assert!(
        bad.is_empty(),
        "{SHARED_HARNESS} depends on collector crates: {bad:?}"
    );
}

#[test]
fn tocsinctl_does_not_depend_on_rocksdb() {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let deps_of = |name: &str| -> Vec<String> {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["dependencies"].as_array())
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect()
    };
    // Every crate tocsinctl's binary links, as far as the workspace decides it.
    let mut seen = BTreeSet::new();
    let mut todo = vec!["tocsinctl".to_string()];
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) && FLOW.contains(&name.as_str()) {
            todo.extend(deps_of(&name));
        }
    }
    assert!(seen.contains("reqwest"), "walked the graph: {seen:?}");
    for forbidden in ["rocksdb", "tocsin-storage", "tocsin-collector"] {
        assert!(
            !seen.contains(forbidden),
            "tocsinctl depends on {forbidden}: {seen:?}"
        );
    }
}

/// Occurrences of `needle` in the file at `path`.
fn count_in_file(path: &Path, needle: &[u8]) -> usize {
    let bytes = std::fs::read(path).expect("read binary");
    bytes.windows(needle.len()).filter(|w| *w == needle).count()
}

#[test]
fn tocsinctl_binary_has_no_rocksdb_symbol() {
    let needle = b"rocksdb";
    let collector = count_in_file(&tocsin_e2e::bin("tocsin-collector"), needle);
    assert!(
        collector > 1000,
        "the collector links RocksDB: {collector} mentions"
    );
    let ctl = count_in_file(&tocsin_e2e::bin("tocsinctl"), needle);
    assert_eq!(ctl, 0, "tocsinctl mentions RocksDB {ctl} times");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read source dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(PathBuf, String)> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["proto", "agent", "collector", "tests", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 100, "found only {} files", files.len());
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read source");
            (p.strip_prefix(&root).unwrap_or(&p).to_path_buf(), text)
        })
        .collect()
}

#[test]
fn only_the_storage_crate_names_rocksdb() {
    let offenders: Vec<_> = sources()
        .into_iter()
        .filter(|(p, text)| {
            !p.starts_with("collector/storage") && text.contains(concat!("rocksdb", "::"))
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "RocksDB paths outside the storage crate: {offenders:?}"
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<_> = sources()
        .into_iter()
        .map(|(p, text)| (p, text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

/// The agent's layers (`agent/src/lib.rs`): the protocols and probes
/// (`snmp/`, `checks/`) never import each other or the feature built on
/// them (`devices/`), and `devices/` does not reach into `checks/`.
#[test]
fn agent_protocol_modules_do_not_import_each_other_or_devices() {
    let forbidden: [(&str, &[&str]); 3] = [
        ("agent/src/snmp", &["crate::checks", "crate::devices"]),
        ("agent/src/checks", &["crate::snmp", "crate::devices"]),
        ("agent/src/devices", &["crate::checks"]),
    ];
    let mut offenders = Vec::new();
    let files = sources();
    for (dir, paths) in forbidden {
        let in_dir: Vec<_> = files.iter().filter(|(p, _)| p.starts_with(dir)).collect();
        assert!(!in_dir.is_empty(), "no sources under {dir}");
        for (p, text) in in_dir {
            for path in paths.iter().filter(|path| text.contains(*path)) {
                offenders.push(format!("{} imports {path}", p.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "upward agent imports: {offenders:?}");
}
