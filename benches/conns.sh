#!/usr/bin/env bash
# Connection-table benchmark, side by side on one synthetic capture:
#   tcpsim conns, tcpsim timeline --jsonl, tshark -q -z conv,tcp, tcptrace -l
# with wall time, CPU time and peak RSS (/usr/bin/time -v). tcptrace runs with
# -n (no DNS lookups: without it, it waits on the resolver for every address). Figures go to
# docs/benchmarks.md ("Connection tracking").
#
# usage: benches/conns.sh [PACKETS]      (default 5000000; REPS=N runs per tool, default 3)
# The capture (examples/gen_conns.rs) is kept in target/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000000}
CAP=target/bench-conns-$N.pcap
cargo build --release --quiet --bin tcpsim --example gen_conns
[ -s "$CAP" ] || target/release/examples/gen_conns "$CAP" "$N"
T=$(mktemp)
trap 'rm -f "$T"' EXIT

# Each command runs $REPS times (default 3); the best wall time is kept,
# with that run's CPU time, and the highest peak RSS of all runs.
REPS=${REPS:-3}
measure() {
    local name=$1; shift
    local best_wall="" best_cpu="" max_rss=0 wall rss cpu
    for _ in $(seq "$REPS"); do
        /usr/bin/time -v "$@" > /dev/null 2> "$T" || { echo "$name failed:"; tail -5 "$T"; return 1; }
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
        cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$T")
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T")
        if [ -z "$best_wall" ] || awk "BEGIN {exit !($wall < $best_wall)}"; then
            best_wall=$wall; best_cpu=$cpu
        fi
        [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    done
    printf '| %s | %.2f | %.2f | %d |\n' "$name" "$best_wall" "$best_cpu" "$((max_rss / 1024))"
    echo "$name $best_wall $best_cpu" >> "$T.walls"
}

echo "capture: $CAP ($(stat -L -c %s "$CAP") bytes, $N packets), $(nproc) cores, $(uname -r)"
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "best of $REPS runs per command"
echo
echo "| command | wall s | CPU s (user+sys) | peak RSS MiB |"
echo "|---|---:|---:|---:|"
rm -f "$T.walls"
measure "tcpsim conns" target/release/tcpsim conns "$CAP"
measure "tcpsim timeline --jsonl" target/release/tcpsim timeline --jsonl "$CAP"
measure "tshark -q -z conv,tcp" tshark -n -q -r "$CAP" -z conv,tcp
measure "tcptrace -l" tcptrace -n -l "$CAP"
echo
awk '{w[$1" "$2]=$(NF-1); u[$1" "$2]=$NF} END {
    printf "tcpsim conns speed-up, wall: %.1fx tshark, %.1fx tcptrace; CPU: %.1fx tshark, %.1fx tcptrace\n",
        w["tshark -q"]/w["tcpsim conns"], w["tcptrace -l"]/w["tcpsim conns"],
        u["tshark -q"]/u["tcpsim conns"], u["tcptrace -l"]/u["tcpsim conns"] }' "$T.walls"
rm -f "$T.walls"
