//! The kernel's view beside tcpsim's: at each moment the runner sampled
//! `/proc/net/tcp{,6}`, the state of each side of each scenario connection
//! as the kernel reported it, and as the analyzer inferred it from the
//! capture (the states after the last captured packet at or before that
//! moment). Every row is kept; `agree` says whether the two match.

use super::procnet::{KernelSocket, KernelTcpState};
use super::KernelSample;
use crate::timeline::{Connection, TcpState, Timeline};
use std::net::SocketAddr;

/// One side of one connection at one sampled moment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StateComparison {
    /// The application step at which the kernel was sampled.
    pub step: String,
    pub time_ns: i64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// "client" or "server".
    pub role: &'static str,
    /// `None`: the kernel lists no socket for this 4-tuple.
    pub kernel: Option<KernelTcpState>,
    pub inferred: TcpState,
    pub agree: bool,
}

/// The RFC state a kernel state stands for; a socket the kernel no longer
/// lists is CLOSED (RFC 9293 §3.3.2: "CLOSED is fictional").
pub fn kernel_as_rfc(k: Option<KernelTcpState>) -> TcpState {
    use KernelTcpState as K;
    match k {
        None | Some(K::Close) => TcpState::Closed,
        Some(K::Established) => TcpState::Established,
        Some(K::SynSent) => TcpState::SynSent,
        Some(K::SynRecv) | Some(K::NewSynRecv) => TcpState::SynReceived,
        Some(K::FinWait1) => TcpState::FinWait1,
        Some(K::FinWait2) => TcpState::FinWait2,
        Some(K::TimeWait) => TcpState::TimeWait,
        Some(K::CloseWait) => TcpState::CloseWait,
        Some(K::LastAck) => TcpState::LastAck,
        Some(K::Listen) => TcpState::Listen,
        Some(K::Closing) => TcpState::Closing,
    }
}

/// Whether an inferred state matches what the kernel shows. A connection
/// the capture has not seen yet is CLOSED on both sides (the listener is a
/// different socket, never the connection's).
fn agrees(kernel: Option<KernelTcpState>, inferred: TcpState) -> bool {
    let k = kernel_as_rfc(kernel);
    k == inferred || (k == TcpState::Closed && inferred == TcpState::Listen)
}

/// Compare every sample with the timeline for the given connections
/// (client, server) of the scenario.
///
/// With a frame window (a, b) the table was read after frame a and before
/// frame b + 1 were captured, so the kernel's state is the state after one
/// of the frames a..=b: the row agrees if any of those states matches. A
/// sample without a window is matched by time.
pub fn compare(
    samples: &[KernelSample],
    timeline: &Timeline,
    connections: &[(SocketAddr, SocketAddr)],
) -> Vec<StateComparison> {
    let mut rows = Vec::new();
    for s in samples {
        for &(client, server) in connections {
            let candidates = match s.frames_window {
                Some((a, b)) => inferred_between(timeline, client, server, a as u64, b as u64),
                None => vec![inferred_at(timeline, client, server, s.time_ns)],
            };
            for (role, local, remote) in [("client", client, server), ("server", server, client)] {
                let kernel = find(&s.sockets, local, remote);
                let pick = |c: &(TcpState, TcpState)| if role == "client" { c.0 } else { c.1 };
                let matched = candidates.iter().map(pick).find(|&st| agrees(kernel, st));
                let last = candidates.last().map(pick).unwrap_or(TcpState::Closed);
                rows.push(StateComparison {
                    step: s.label.clone(),
                    time_ns: s.time_ns,
                    local,
                    remote,
                    role,
                    kernel,
                    inferred: matched.unwrap_or(last),
                    agree: matched.is_some(),
                });
            }
        }
    }
    rows
}

fn find(sockets: &[KernelSocket], local: SocketAddr, remote: SocketAddr) -> Option<KernelTcpState> {
    sockets
        .iter()
        .find(|k| k.local == local && k.remote == remote)
        .map(|k| k.state)
}

fn is_conn(c: &Connection, client: SocketAddr, server: SocketAddr) -> bool {
    SocketAddr::new(c.client.ip, c.client.port) == client
        && SocketAddr::new(c.server.ip, c.server.port) == server
}

/// The (client, server) states after the last packet at or before `t`, over
/// every stream of this 4-tuple (a reused 4-tuple is a new stream).
pub fn inferred_at(
    timeline: &Timeline,
    client: SocketAddr,
    server: SocketAddr,
    t: i64,
) -> (TcpState, TcpState) {
    let frame = timeline
        .connections
        .iter()
        .filter(|c| is_conn(c, client, server))
        .flat_map(|c| c.events.iter())
        .filter(|e| e.time_ns <= t)
        .map(|e| e.frame)
        .max()
        .unwrap_or(0);
    after_frame(timeline, client, server, frame)
}

/// The (client, server) states after frame `n` (0: before any frame).
pub fn after_frame(
    timeline: &Timeline,
    client: SocketAddr,
    server: SocketAddr,
    n: u64,
) -> (TcpState, TcpState) {
    timeline
        .connections
        .iter()
        .filter(|c| is_conn(c, client, server))
        .flat_map(|c| c.events.iter())
        .filter(|e| e.frame <= n)
        .max_by_key(|e| e.frame)
        .map_or((TcpState::Closed, TcpState::Closed), |e| {
            (e.client_state, e.server_state)
        })
}

/// Every (client, server) state pair the connection was in after frame a,
/// after each of its frames a+1..=b, in order.
pub fn inferred_between(
    timeline: &Timeline,
    client: SocketAddr,
    server: SocketAddr,
    a: u64,
    b: u64,
) -> Vec<(TcpState, TcpState)> {
    let mut out = vec![after_frame(timeline, client, server, a)];
    let mut later: Vec<_> = timeline
        .connections
        .iter()
        .filter(|c| is_conn(c, client, server))
        .flat_map(|c| c.events.iter())
        .filter(|e| e.frame > a && e.frame <= b)
        .map(|e| (e.frame, e.client_state, e.server_state))
        .collect();
    later.sort_by_key(|x| x.0);
    out.extend(later.into_iter().map(|(_, c, s)| (c, s)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::runner::capture::CapturedFrame;
    use crate::runner::frame::{packet_infos, tests::ipv4_frame_ack};
    use crate::runner::procnet::KernelSocket;
    use crate::timeline::{timeline_from_packets, Source, SourceKind};

    fn handshake_timeline() -> Timeline {
        let frames: Vec<CapturedFrame> = [
            ipv4_frame_ack(40000, 20001, 100, 0, 0x002, b""),
            ipv4_frame_ack(20001, 40000, 500, 101, 0x012, b""),
            ipv4_frame_ack(40000, 20001, 101, 501, 0x010, b""),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, data)| CapturedFrame {
            time_ns: 1000 * (i as i64 + 1),
            data,
        })
        .collect();
        let source = Source {
            kind: SourceKind::Live,
            name: "test".into(),
            seed: None,
            packets: 0,
        };
        timeline_from_packets(source, &packet_infos(&frames))
    }

    fn sample(
        window: Option<(usize, usize)>,
        time_ns: i64,
        state: Option<KernelTcpState>,
    ) -> KernelSample {
        let c: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let s: SocketAddr = "127.0.0.1:20001".parse().unwrap();
        let sockets = state
            .map(|st| {
                vec![
                    KernelSocket {
                        local: c,
                        remote: s,
                        state: st,
                        tx_queue: 0,
                        rx_queue: 0,
                        inode: 1,
                    },
                    KernelSocket {
                        local: s,
                        remote: c,
                        state: st,
                        tx_queue: 0,
                        rx_queue: 0,
                        inode: 2,
                    },
                ]
            })
            .unwrap_or_default();
        KernelSample {
            label: "x".into(),
            time_ns,
            frames_window: window,
            sockets,
        }
    }

    #[test]
    fn a_sample_agrees_with_any_state_inside_its_frame_window_only() {
        let t = handshake_timeline();
        let conn = [(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:20001".parse().unwrap(),
        )];
        let est = Some(KernelTcpState::Established);
        // Read between frames 1 and 3: ESTABLISHED (after frame 3) is possible.
        let rows = compare(&[sample(Some((1, 3)), 0, est)], &t, &conn);
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .all(|r| r.agree && r.inferred == TcpState::Established),
            "{rows:?}"
        );
        // Read right after frame 1: nobody can be ESTABLISHED yet.
        let rows = compare(&[sample(Some((1, 1)), 0, est)], &t, &conn);
        assert!(rows.iter().all(|r| !r.agree), "{rows:?}");
        assert_eq!(rows[0].inferred, TcpState::SynSent);
        // Before any frame, no socket: both CLOSED, agreeing.
        let rows = compare(&[sample(Some((0, 0)), 0, None)], &t, &conn);
        assert!(
            rows.iter()
                .all(|r| r.agree && r.inferred == TcpState::Closed),
            "{rows:?}"
        );
        // Without a window, by time: after frame 3 at t = 3000.
        let rows = compare(&[sample(None, 3000, est)], &t, &conn);
        assert!(rows.iter().all(|r| r.agree), "{rows:?}");
        let rows = compare(&[sample(None, 2999, est)], &t, &conn);
        // After the SYN/ACK only: the client is ESTABLISHED, the server not yet.
        assert!(rows[0].agree && !rows[1].agree, "{rows:?}");
        assert_eq!(rows[1].inferred, TcpState::SynReceived);
    }

    #[test]
    fn every_kernel_state_has_an_rfc_state_and_absent_is_closed() {
        for code in 1..=12u8 {
            let k = KernelTcpState::from_code(code).unwrap();
            assert_ne!(kernel_as_rfc(Some(k)), TcpState::Unknown);
        }
        assert_eq!(kernel_as_rfc(None), TcpState::Closed);
        assert!(agrees(None, TcpState::Closed));
        assert!(agrees(Some(KernelTcpState::TimeWait), TcpState::TimeWait));
        assert!(!agrees(Some(KernelTcpState::FinWait1), TcpState::FinWait2));
        assert!(!agrees(
            Some(KernelTcpState::Established),
            TcpState::Unknown
        ));
        assert!(!agrees(None, TcpState::TimeWait));
    }
}
