#!/bin/sh
# Regenerates the README's pictures from the captures shipped in captures/.
# Run from anywhere: sh docs/img/regenerate.sh
#
# The captures themselves were recorded on loopback by tcpsim's runner (needs root):
#   tcpsim run echo --lines 2 --pcap captures/loopback-echo.pcap
#   tcpsim run slow-reader --pcap captures/loopback-zero-window.pcap
set -eu
cd "$(dirname "$0")/../.."
cargo build --release --quiet
tcpsim=target/release/tcpsim
"$tcpsim" plot captures/loopback-echo.pcap --kind ladder -o docs/img/echo-ladder.svg
"$tcpsim" plot captures/loopback-echo.pcap --kind ladder --format text > docs/img/echo-ladder.txt
"$tcpsim" plot captures/loopback-zero-window.pcap --kind sequence -o docs/img/zero-window-sequence.svg
"$tcpsim" plot captures/loopback-zero-window.pcap --kind window -o docs/img/zero-window-window.svg
echo "regenerated docs/img/*.svg and docs/img/echo-ladder.txt"
