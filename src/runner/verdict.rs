//! The run's verdict, from the timeline of its capture (the same analysis as
//! `tcpsim timeline`) and the end-to-end data checks.

use super::data_check::DirectionCheck;
use crate::timeline::{AnalysisFlag, Connection, Direction, TcpState, Timeline};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// What the capture says about one connection.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConnectionVerdict {
    pub stream: u32,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub packets: usize,
    /// SYN, SYN/ACK and the ACK completing the handshake were all seen.
    pub handshake: bool,
    /// Each side's last sequence number (data and FIN) was acknowledged by
    /// the other side (RFC 9293 §3.4).
    pub all_acknowledged: bool,
    /// A FIN each way (and the last one acknowledged), or a RST.
    pub close_seen: bool,
    pub rst_seen: bool,
    pub final_client: TcpState,
    pub final_server: TcpState,
    /// Analysis flags raised on the connection, with their counts.
    pub flags: BTreeMap<&'static str, usize>,
}

impl ConnectionVerdict {
    pub fn count(&self, f: AnalysisFlag) -> usize {
        self.flags.get(f.name()).copied().unwrap_or(0)
    }
}

/// The verdict of one connection of the timeline.
pub fn judge(c: &Connection) -> ConnectionVerdict {
    let mut max_next = [0u32; 2];
    let mut max_ack = [0u32; 2];
    let mut fin = [false; 2];
    let mut rst = false;
    let mut flags = BTreeMap::new();
    for e in &c.events {
        let d = usize::from(e.direction == Direction::ServerToClient);
        max_next[d] = max_next[d].max(e.nxtseq);
        if e.flags_raw & 0x010 != 0 {
            max_ack[d] = max_ack[d].max(e.ack);
        }
        fin[d] |= e.flags_raw & 0x001 != 0;
        rst |= e.flags_raw & 0x004 != 0;
        for f in &e.analysis {
            *flags.entry(f.name()).or_insert(0) += 1;
        }
    }
    // Relative numbers: a side's data and FIN run up to max_next; the other
    // side must have acknowledged that far.
    let all_acknowledged = !rst && max_ack[1] >= max_next[0] && max_ack[0] >= max_next[1];
    ConnectionVerdict {
        stream: c.stream,
        client: SocketAddr::new(c.client.ip, c.client.port),
        server: SocketAddr::new(c.server.ip, c.server.port),
        packets: c.events.len(),
        handshake: c.verdict.completeness & 0x07 == 0x07,
        all_acknowledged,
        close_seen: rst || (fin[0] && fin[1] && all_acknowledged),
        rst_seen: rst,
        final_client: c.verdict.client_state,
        final_server: c.verdict.server_state,
        flags,
    }
}

/// The verdict of every connection of the timeline.
pub fn judge_all(t: &Timeline) -> Vec<ConnectionVerdict> {
    t.connections.iter().map(judge).collect()
}

/// Whether everything the run can check came out right: each connection's
/// handshake, acknowledgments and close (or, for a refused connect, the
/// RST), and every byte end to end.
pub fn all_good(verdicts: &[ConnectionVerdict], data: &[DirectionCheck], refused: bool) -> bool {
    let conns_ok = verdicts.iter().all(|v| {
        if refused {
            v.rst_seen
        } else {
            v.handshake && v.all_acknowledged && v.close_seen
        }
    });
    conns_ok && data.iter().all(|d| d.ok)
}
