#!/usr/bin/env bash
# Decode benchmark: tcpsim decode (-T fields and --jsonl) side by side with
# tshark -T fields (same fields) and tcpdump -nn -r on one capture of
# >= 1M TCP packets, in one run. Prints a markdown table (wall and CPU
# seconds, packets per CPU second, peak RSS) for docs/benchmarks.md.
#
# usage: benches/decode.sh [PACKETS]   (default 1000000)
# needs: tshark, tcpdump, /usr/bin/time (apt-get install -y tshark tcpdump time)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
dir="${TMPDIR:-/tmp}/tcpsim-bench"
mkdir -p "$dir"
cap="$dir/bench-$n.pcap"

cargo build --release --quiet --bin tcpsim --example gen_capture
tcpsim=target/release/tcpsim
[ -s "$cap" ] || target/release/examples/gen_capture "$cap" "$n"

fields=(frame.number frame.time_epoch ip.src tcp.srcport ip.dst tcp.dstport tcp.flags
        tcp.seq_raw tcp.ack_raw tcp.len tcp.window_size_value tcp.options.timestamp.tsval
        tcp.options.sack_le)
e=(); for f in "${fields[@]}"; do e+=(-e "$f"); done

# Warm the page cache so every tool reads from memory.
cat "$cap" > /dev/null

run() { # repeats, name, then the command. Output goes to a file so every
         # tool pays for writing; the best (lowest) of the repeats is kept.
  local reps="$1" name="$2"; shift 2
  local bw=999999 bc=999999 brss=0 wall user sys rss cpu
  for _ in $(seq "$reps"); do
    /usr/bin/time -o "$dir/time" -f "%e %U %S %M" "$@" > "$dir/out-$name" 2>/dev/null || true
    read -r wall user sys rss < "$dir/time"
    cpu=$(echo "$user + $sys" | bc)
    bw=$(echo "if ($wall < $bw) $wall else $bw" | bc)
    bc=$(echo "if ($cpu < $bc) $cpu else $bc" | bc)
    [ "$rss" -gt "$brss" ] && brss=$rss
  done
  local lines; lines=$(wc -l < "$dir/out-$name")
  local pps; pps=$(echo "$n / ($bc + 0.0001)" | bc)
  local wpps; wpps=$(echo "$n / ($bw + 0.0001)" | bc)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$reps" "$lines" "$bw" "$bc" "$wpps" "$pps" "$((brss / 1024)) MB"
}

echo "capture: $cap ($(stat -c %s "$cap") bytes, $n packets)"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}'), tcpdump $(tcpdump --version 2>&1 | head -1 | awk '{print $3}')"
echo
echo "| tool | runs (best kept) | lines | wall s | CPU s | packets/s (wall) | packets/s (CPU) | peak RSS |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
run 3 "tcpsim -T fields" "$tcpsim" decode "$cap" -T fields "${e[@]}"
run 3 "tcpsim -T fields -2" "$tcpsim" decode "$cap" -2 -T fields "${e[@]}"
run 3 "tcpsim --jsonl" "$tcpsim" decode "$cap" --jsonl
run 3 "tcpsim (text)" "$tcpsim" decode "$cap"
run 3 "tcpdump -nn -r" tcpdump -nn -r "$cap"
run 1 "tshark -T fields" tshark -n -r "$cap" -T fields "${e[@]}"
if cmp -s "$dir/out-tcpsim -T fields" "$dir/out-tshark -T fields"; then
  echo; echo "tcpsim -T fields output is byte-identical to tshark's."
else
  echo; echo "WARNING: tcpsim -T fields output differs from tshark's:"; diff "$dir/out-tcpsim -T fields" "$dir/out-tshark -T fields" | head -5
fi
