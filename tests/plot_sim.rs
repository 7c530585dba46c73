//! Golden tests on the pictures of the built-in simulated scenarios: one
//! arrow per segment, labels, states, lost segments crossed, cwnd and
//! ssthresh in the window graph; the structure summary of each scenario is
//! compared with fixtures/plot/sim-NAME.txt (re-bless with
//! `TCPSIM_BLESS=1 cargo test --test plot_sim`). Also checks that
//! `tcpsim simulate` prints the ladder the plot module draws.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use tcpsim::plot::{self, from_timeline, ladder, svg::escape};
use tcpsim::sim::builtin::{builtin, BUILTINS};
use tcpsim::sim::{output, Sim};
use tcpsim::timeline::schema::{AnalysisFlag, Timeline};

/// Scenarios too long to draw in a test (they are benchmarks).
const SKIP: [&str; 1] = ["bulk-1gib"];

fn run(name: &str) -> Timeline {
    let sc = builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut cfg = sc
        .to_config(&format!("builtin:{name}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    cfg.trace = true;
    let mut sim = Sim::new(cfg);
    sim.run();
    let frames = output::frames(&sim).unwrap_or_else(|e| panic!("{name}: {e}"));
    output::timeline(&frames, &sc.name, sc.seed)
}

fn count(h: &str, n: &str) -> usize {
    h.matches(n).count()
}

#[test]
fn builtin_scenarios_draw_every_segment() {
    let mut checked = 0;
    let mut total_lost = 0;
    let mut with_cwnd = 0;
    for (name, _) in BUILTINS {
        if SKIP.contains(&name) {
            continue;
        }
        let t = run(name);
        assert!(!t.connections.is_empty(), "{name}: no connection");
        let mut summary = String::new();
        for conn in &t.connections {
            let conv = from_timeline::conversation(conn, true);
            let n = conn.events.len();
            let lost = conn.events.iter().filter(|e| e.lost).count();
            let retx = conn
                .events
                .iter()
                .filter(|e| {
                    e.analysis.iter().any(|f| {
                        matches!(
                            f,
                            AnalysisFlag::Retransmission
                                | AnalysisFlag::FastRetransmission
                                | AnalysisFlag::SpuriousRetransmission
                        )
                    })
                })
                .count();
            let layout = ladder::layout(&conv, &ladder::LadderOptions::default());
            let svg = plot::ladder_svg(&conv);
            assert_eq!(count(&svg, "<g class=\"arrow "), n, "{name}: arrows");
            assert_eq!(
                count(&svg, "class=\"lost-cross\""),
                lost,
                "{name}: lost crosses"
            );
            assert_eq!(
                count(&svg, "<g class=\"arrow to-server lost")
                    + count(&svg, "<g class=\"arrow to-client lost"),
                lost
            );
            for a in &layout.arrows {
                assert!(
                    svg.contains(&format!(">{}</text>", escape(&a.label))),
                    "{name}: label {:?}",
                    a.label
                );
            }
            for e in &conn.events {
                assert!(
                    svg.contains(&format!(">{}</text>", e.client_state.name())),
                    "{name}: state {}",
                    e.client_state
                );
                assert!(
                    svg.contains(&format!(">{}</text>", e.server_state.name())),
                    "{name}: state {}",
                    e.server_state
                );
            }
            let text = plot::ladder_text(&conv);
            assert_eq!(
                count(&text, "--X"),
                conv.segments
                    .iter()
                    .filter(|s| s.lost && s.dir == plot::Direction::ToServer)
                    .count(),
                "{name}: lost in text (to server)"
            );
            assert_eq!(
                count(&text, "X--"),
                conv.segments
                    .iter()
                    .filter(|s| s.lost && s.dir == plot::Direction::ToClient)
                    .count(),
                "{name}: lost in text (to client)"
            );

            let seq = plot::sequence_svg(&conv);
            let d = conv.main_data_direction();
            let data = conv
                .segments
                .iter()
                .filter(|s| s.dir == d && s.seq_len() > 0)
                .count();
            assert_eq!(count(&seq, "<g class=\"seg"), data, "{name}: data segments");
            let lost_data = conv
                .segments
                .iter()
                .filter(|s| s.dir == d && s.seq_len() > 0 && s.lost)
                .count();
            assert_eq!(
                count(&seq, "<g class=\"lost-mark\""),
                lost_data,
                "{name}: lost marks"
            );

            let win = plot::window_svg(&conv);
            let cwnd = conv.segments.iter().any(|s| s.dir == d && s.cwnd.is_some());
            assert_eq!(
                count(&win, "<polyline class=\"cwnd\""),
                usize::from(cwnd),
                "{name}: cwnd line"
            );
            with_cwnd += usize::from(cwnd);
            total_lost += lost;
            let _ = writeln!(
                summary,
                "stream {}: arrows={n} lost={lost} retransmissions={retx} folds={} states={} data_segments={data} ladder={}x{}",
                conn.stream,
                layout.folds.len(),
                layout.states.len(),
                layout.width.round(),
                layout.height.round()
            );
        }
        let golden =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/plot/sim-{name}.txt"));
        if std::env::var_os("TCPSIM_BLESS").is_some() {
            std::fs::write(&golden, &summary).unwrap();
        } else {
            let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (bless with TCPSIM_BLESS=1 cargo test --test plot_sim)",
                    golden.display()
                )
            });
            assert_eq!(
                summary, want,
                "{name}: picture structure changed (re-bless with TCPSIM_BLESS=1 if intended)"
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} scenarios");
    assert!(
        total_lost > 0,
        "no scenario loses a segment: the lost-segment drawing is not exercised"
    );
    assert!(with_cwnd > 0, "no scenario has cwnd in its timeline");
}

#[test]
fn simulate_prints_the_plot_ladder() {
    let t = run("handshake");
    let want = plot::ladder_text(&from_timeline::conversation(&t.connections[0], true));
    let out = common::tcpsim_ok(&["simulate", "--builtin", "handshake"]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains(want.trim_end()),
        "simulate's ladder differs from plot::ladder_text:\n{printed}\n---\n{want}"
    );
}
