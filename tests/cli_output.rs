//! Output that stops being read: `tcpsim ... | head -1`. The commands that
//! write from a thread of their own (decode, timeline, conns) stop
//! quietly with exit status 0 when standard output is closed, without a
//! panic message and without printing the rest into the void.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn a_closed_pipe_ends_each_command_quietly() {
    let dir = std::env::temp_dir().join(format!("tcpsim-cli-output-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("many.pcap");
    // 20,003 packets: megabytes of output in every mode, far more than a
    // pipe's buffer and the writer's chunks.
    common::synthetic_capture(&cap, 20_003);
    let cap = cap.to_str().unwrap();
    for args in [
        vec!["decode", cap, "--jsonl"],
        vec!["decode", cap],
        vec![
            "decode",
            cap,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "tcp.seq",
        ],
        vec!["timeline", cap, "--jsonl"],
        vec!["timeline", cap],
        vec!["conns", cap],
        vec!["conns", cap, "--json"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tcpsim");
        let mut first = [0u8; 100];
        child
            .stdout
            .take()
            .unwrap()
            .read_exact(&mut first)
            .expect("some output first");
        // The read end is closed here (dropped).
        let out = child.wait_with_output().expect("tcpsim ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{args:?}: {:?}, stderr: {stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
