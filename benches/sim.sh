#!/usr/bin/env bash
# Simulator benchmark (figures in docs/benchmarks.md, "Simulator"):
#   benches/sim.sh
# 1. a 1 GiB bulk transfer with 1% loss each way (scenarios/bulk-1gib.json:
#    10 Gbit/s, 1 ms, SACK, window scaling, 4 MiB buffers) without timeline
#    output, through the release example and through the CLI;
# 2. the same link with timeline JSON + pcap output, for 64 MiB (a timeline
#    of the full 1 GiB run needs ~2 GB of memory: FULL=1 benches/sim.sh adds it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example sim_bulk --bin tcpsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fmt="%e s wall, %U s user CPU, %M KB max RSS"

echo "== 1 GiB, 1% loss, no timeline (cargo run --release --example sim_bulk -- 1024 0.01)"
/usr/bin/time -f "$fmt" target/release/examples/sim_bulk 1024 0.01

echo "== 1 GiB, 1% loss, no timeline (tcpsim simulate --builtin bulk-1gib --bench -q)"
/usr/bin/time -f "$fmt" target/release/tcpsim simulate --builtin bulk-1gib --bench -q

echo "== 64 MiB, 1% loss, no timeline"
/usr/bin/time -f "$fmt" target/release/examples/sim_bulk 64 0.01

sed 's/"write": 1073741824/"write": 67108864/' scenarios/bulk-1gib.json > "$tmp/bulk-64mib.json"
echo "== 64 MiB, 1% loss, timeline JSON + pcap (tcpsim simulate bulk-64mib.json -q -o t.json --pcap t.pcap)"
/usr/bin/time -f "$fmt" target/release/tcpsim simulate "$tmp/bulk-64mib.json" -q -o "$tmp/t.json" --pcap "$tmp/t.pcap"
ls -l "$tmp/t.json" "$tmp/t.pcap" | awk '{print $5, $9}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${FULL:-0}" = 1 ]; then
  echo "== 1 GiB, 1% loss, timeline JSON + pcap (FULL=1; about 2 GB of memory, 1.8 GB of files)"
  /usr/bin/time -f "$fmt" target/release/tcpsim simulate --builtin bulk-1gib -q -o "$tmp/big.json" --pcap "$tmp/big.pcap"
  ls -l "$tmp/big.json" "$tmp/big.pcap" | awk '{print $5, $9}'
fi
