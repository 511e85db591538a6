#!/usr/bin/env bash
# Tocsin's one entry point for people and CI (the project's "Makefile").
#
#   ./dev.sh demo    build, start a collector with its embedded store and a local agent
#   ./dev.sh test    gates (rustfmt, clippy with warnings denied), then build and run
#                    every test (unit + end-to-end with the real binaries)
#   ./dev.sh bench   criterion benches of the ingest path
#
# System packages that are missing are installed with apt-get (run as root).
# Builds go to $CARGO_TARGET_DIR (default ~/.cache/tocsin-target) so the
# slow RocksDB C++ build is done once and reused by every later run.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tocsin-target}"
BIN="$CARGO_TARGET_DIR/release"

need_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "==> installing system packages: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: missing packages ${missing[*]}; run as root or install them" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# g++ builds RocksDB, libclang-dev lets bindgen generate its bindings.
build_packages=(g++ libclang-dev pkg-config)
# promtool (package prometheus) is Prometheus' own client; net-snmp's snmpd and
# snmp tools are the real devices of the SNMP tests (snmptrap sends their
# traps); iproute2's `ip netns` cuts a device off the network.
test_packages=(prometheus procps snmpd snmp iproute2 util-linux)

build() {
    need_packages "${build_packages[@]}"
    echo "==> building (release; first build compiles RocksDB, ~16 min on 2 cores)"
    cargo build --release --locked --bins
}

case "${1:-}" in
demo)
    build
    mkdir -p tocsin-data
    "$BIN/tocsin-collector" --data-dir ./tocsin-data &
    collector=$!
    trap 'kill $collector ${agent:-} 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
    for _ in $(seq 100); do
        "$BIN/tocsinctl" cis >/dev/null 2>&1 && break
        sleep 0.2
    done
    "$BIN/tocsin-agent" --collector http://127.0.0.1:7070 --state-dir ./tocsin-data/agent-state --interval 10s &
    agent=$!
    cat <<MSG

==> Tocsin is running (Ctrl-C stops it; data stays in ./tocsin-data)
    collector gRPC      127.0.0.1:7070   (agents connect here)
    HTTP API            http://127.0.0.1:7080
      health            http://127.0.0.1:7080/healthz
      CIs               http://127.0.0.1:7080/api/v1/cis
      Prometheus API    http://127.0.0.1:7080/api/v1/query?query=node_load1
                        (add it to Grafana as a Prometheus data source)
      own metrics       http://127.0.0.1:7080/metrics
    CLI                 $BIN/tocsinctl cis
                        $BIN/tocsinctl query 'node_cpu_usage_percent' --range 10m
MSG
    wait "$collector"
    ;;
test)
    need_packages "${build_packages[@]}" "${test_packages[@]}"
    echo "==> cargo fmt --check"
    cargo fmt --all --check
    build
    # Same profile as the build, so the RocksDB build script output is shared.
    echo "==> cargo clippy --all-targets (warnings are errors)"
    cargo clippy --release --locked --workspace --all-targets -- -D warnings
    echo "==> running tests"
    log="$(mktemp)"
    status=0
    cargo test --release --locked --workspace 2>&1 | tee "$log" || status=$?
    # One closing line for the whole workspace (cargo prints one per test binary).
    awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
    rm -f "$log"
    exit "$status"
    ;;
bench)
    build
    cargo bench --locked -p tocsin-benches
    ;;
*)
    echo "usage: $0 demo|test|bench" >&2
    exit 2
    ;;
esac
