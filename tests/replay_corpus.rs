//! Replay, what-if and packetdrill export over every public capture in
//! ../shared/captures/public (first three connections of each): nothing
//! panics, and every readable capture's connections are either replayed or
//! refused with an error that names the stream.

use std::path::Path;
use tcpsim::replay::conformance::{replay, ReplayOptions};
use tcpsim::replay::packetdrill::{to_packetdrill, PacketdrillOptions};
use tcpsim::replay::source::{conversation_of, read_capture};
use tcpsim::replay::whatif::{parse_what_if, rerun, rerun_timeline};
use tcpsim::replay::Role;

#[test]
fn public_captures_replay_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/public");
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "{}: the public corpus is needed for this test: {e}",
            dir.display()
        )
    });
    let mut files: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let what_if = parse_what_if("rcvbuf=4096,drop=3").unwrap();
    let (mut replayed, mut unreadable) = (0, 0);
    for f in &files {
        let Ok(cap) = read_capture(f) else {
            unreadable += 1;
            continue;
        };
        for stream in 0..3 {
            let name = f.display().to_string();
            let conv = match conversation_of(&cap.packets, stream, &name) {
                Ok(c) => c,
                Err(e) => {
                    assert!(
                        e.to_string().contains(&format!("stream index {stream}")),
                        "{e}"
                    );
                    break;
                }
            };
            for play in [Role::Server, Role::Client] {
                let r = replay(
                    &conv,
                    &ReplayOptions {
                        play,
                        ..ReplayOptions::default()
                    },
                );
                assert!(r.summary.matched <= r.summary.recorded, "{name}");
                let _ = to_packetdrill(&conv, &PacketdrillOptions { local: play });
            }
            let rr = rerun(&conv, &what_if);
            let t = rerun_timeline(&rr, name.clone());
            assert!(t.connections.len() <= 2, "{name}: one connection re-run");
            replayed += 1;
        }
    }
    println!("{replayed} connections replayed, {unreadable} captures unreadable");
    assert!(replayed > 50, "only {replayed} connections replayed");
}
