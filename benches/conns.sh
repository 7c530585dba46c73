#!/usr/bin/env bash
# Connection-table benchmark, side by side on one synthetic capture:
#   tcpsim conns, tcpsim timeline --jsonl, tshark -q -z conv,tcp, tcptrace -l
# with wall time, CPU time and peak RSS (/usr/bin/time -v). tcptrace runs with
# -n (no DNS lookups: without it, it waits on the resolver for every address). Figures go to
# docs/benchmarks.md ("Connection tracking").
#
# usage: benches/conns.sh [PACKETS]      (default 5000000; REPS=N rounds, default 3)
# The capture (examples/gen_conns.rs) is kept in target/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000000}
CAP=target/bench-conns-$N.pcap
cargo build --release --quiet --bin tcpsim --example gen_conns
[ -s "$CAP" ] || target/release/examples/gen_conns "$CAP" "$N"
T=$(mktemp)
trap 'rm -f "$T"' EXIT

# REPS rounds (default 3); each round runs every command once, in turn, so
# that a slow minute of the machine falls on all of them alike rather than
# on all the runs of one. Per command the best wall time is kept, with that
# run's CPU time, and the highest peak RSS of all runs; every run's wall
# time is listed too, and the speed-up is given from the best and from the
# median runs.
REPS=${REPS:-3}
NAMES=("tcpsim conns" "tcpsim timeline --jsonl" "tshark -q -z conv,tcp" "tcptrace -l")
declare -A BEST_WALL BEST_CPU MAX_RSS WALLS CPUS
run_one() {
    local name=$1; shift
    local wall rss cpu
    /usr/bin/time -v "$@" > /dev/null 2> "$T" || { echo "$name failed:"; tail -5 "$T"; exit 1; }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$T")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T")
    if [ -z "${BEST_WALL[$name]:-}" ] || awk "BEGIN {exit !($wall < ${BEST_WALL[$name]})}"; then
        BEST_WALL[$name]=$wall; BEST_CPU[$name]=$cpu
    fi
    [ "$rss" -gt "${MAX_RSS[$name]:-0}" ] && MAX_RSS[$name]=$rss
    WALLS[$name]="${WALLS[$name]:-} $wall"
    CPUS[$name]="${CPUS[$name]:-} $cpu"
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "capture: $CAP ($(stat -L -c %s "$CAP") bytes, $N packets), $(nproc) cores, $(uname -r)"
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
for _ in $(seq "$REPS"); do
    run_one "tcpsim conns" target/release/tcpsim conns "$CAP"
    run_one "tcpsim timeline --jsonl" target/release/tcpsim timeline --jsonl "$CAP"
    run_one "tshark -q -z conv,tcp" tshark -n -q -r "$CAP" -z conv,tcp
    run_one "tcptrace -l" tcptrace -n -l "$CAP"
done
echo "best of $REPS rounds per command"
echo
echo "| command | wall s | CPU s (user+sys) | peak RSS MiB | every run's wall s |"
echo "|---|---:|---:|---:|---|"
for name in "${NAMES[@]}"; do
    printf '| %s | %.2f | %.2f | %d |%s |\n' "$name" "${BEST_WALL[$name]}" "${BEST_CPU[$name]}" \
        "$((MAX_RSS[$name] / 1024))" "${WALLS[$name]}"
done
echo
ratio() { awk "BEGIN {printf \"%.1f\", $1 / $2}"; }
c="tcpsim conns"; s="tshark -q -z conv,tcp"; t="tcptrace -l"
mc=$(echo "${WALLS[$c]}" | median); ms=$(echo "${WALLS[$s]}" | median); mt=$(echo "${WALLS[$t]}" | median)
echo "tcpsim conns speed-up, best wall: $(ratio "${BEST_WALL[$s]}" "${BEST_WALL[$c]}")x tshark, $(ratio "${BEST_WALL[$t]}" "${BEST_WALL[$c]}")x tcptrace;" \
    "median wall: $(ratio "$ms" "$mc")x tshark, $(ratio "$mt" "$mc")x tcptrace;" \
    "CPU: $(ratio "${BEST_CPU[$s]}" "${BEST_CPU[$c]}")x tshark, $(ratio "${BEST_CPU[$t]}" "${BEST_CPU[$c]}")x tcptrace"
