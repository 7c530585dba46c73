#!/bin/sh
# Live capture on lo: tcpsim run's capture and tcpdump side by side on the
# same bulk transfers. For each size: frames each kept, drops each reported,
# and the wall time of the whole run (sockets, capture, analysis, checks).
#
# usage (as root): benches/runner_capture.sh [SIZE_MIB ...]   (default: 16 64 256)
# Prints a Markdown table; docs/benchmarks.md holds a run of it.
set -u
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/tcpsim
sizes=${*:-16 64 256}
port=47500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| bulk size | tcpsim frames | tcpsim kernel drops | tcpdump frames | tcpdump drops | same frames | tcpsim verdict | tcpsim run wall time |"
echo "|---|---|---|---|---|---|---|---|"
for mib in $sizes; do
  port=$((port + 1))
  tcpdump -i lo --immediate-mode -B 65536 -U -n -s 262144 -w "$tmp/dump.pcap" "tcp port $port" 2>"$tmp/dump.err" &
  dump=$!
  # wait until tcpdump listens
  for _ in $(seq 50); do grep -q "listening on" "$tmp/dump.err" && break; sleep 0.1; done
  start=$(date +%s.%N)
  "$bin" run bulk --bytes $((mib * 1048576)) --port $port --pcap "$tmp/ours.pcap" >"$tmp/run.out" || true
  end=$(date +%s.%N)
  sleep 0.3; kill -INT $dump; wait $dump || true
  ours=$(grep -o 'capture: [0-9]* frames' "$tmp/run.out" | grep -o '[0-9]*')
  odrops=$(grep -o 'kernel drops: [0-9a-z]*' "$tmp/run.out" | sed 's/.*: //')
  theirs=$(grep -o '^[0-9]* packets captured' "$tmp/dump.err" | grep -o '^[0-9]*')
  tdrops=$(grep -o '^[0-9]* packets dropped by kernel' "$tmp/dump.err" | grep -o '^[0-9]*')
  a=$(tshark -r "$tmp/ours.pcap" -T fields -e frame.len -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags 2>/dev/null | md5sum | cut -c1-8)
  b=$(tshark -r "$tmp/dump.pcap" -T fields -e frame.len -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags 2>/dev/null | md5sum | cut -c1-8)
  same=$([ "$a" = "$b" ] && echo yes || echo "no")
  wall=$(echo "$end - $start" | bc)
  verdict=$(sed -n 's/^verdict: //p' "$tmp/run.out")
  echo "| $mib MiB | $ours | $odrops | $theirs | $tdrops | $same | $verdict | ${wall}s |"
done
