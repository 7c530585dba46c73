#!/bin/sh
# Regenerates the README's pictures from the captures shipped in captures/.
# Run from anywhere: sh docs/img/regenerate.sh
#
# The captures themselves were recorded on loopback by `tcpsim run` (see
# captures/README.md for the commands).
set -eu
cd "$(dirname "$0")/../.."
cargo build --release --quiet
tcpsim=target/release/tcpsim
"$tcpsim" plot captures/run-echo.pcap --kind ladder -o docs/img/echo-ladder.svg
"$tcpsim" plot captures/run-echo.pcap --kind ladder --format text > docs/img/echo-ladder.txt
"$tcpsim" plot captures/run-slow-reader.pcap --kind sequence -o docs/img/zero-window-sequence.svg
"$tcpsim" plot captures/run-slow-reader.pcap --kind window -o docs/img/zero-window-window.svg
echo "regenerated docs/img/*.svg and docs/img/echo-ladder.txt"
