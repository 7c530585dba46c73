//! Converts the timeline schema (`timeline::schema`) into the pictures'
//! [`Conversation`] model, and writes the one-line verdicts and connection
//! table rows the report shows.

use super::model::{Conversation, Direction, Segment};
use crate::timeline::conn_table;
use crate::timeline::schema::{self, AnalysisFlag, Connection, SourceKind, Timeline};
use crate::timeline::state::TcpState;
use crate::wire::TcpFlags;

/// Widens a 32-bit relative sequence number to 64 bits, following wrap-around
/// from the previous value in the same space (RFC 9293 §3.4: sequence
/// arithmetic is modulo 2^32).
#[derive(Default)]
struct Unwrapper {
    last: Option<u64>,
}

impl Unwrapper {
    fn unwrap(&mut self, v: u32) -> u64 {
        let out = match self.last {
            None => u64::from(v),
            Some(last) => {
                let delta = i64::from(v.wrapping_sub(last as u32) as i32);
                (last as i64).saturating_add(delta).max(0) as u64
            }
        };
        self.last = Some(out);
        out
    }
}

fn state_name(s: TcpState) -> Option<String> {
    Some(s.name().to_string())
}

/// One connection of a timeline as a [`Conversation`].
pub fn conversation(conn: &Connection, simulated: bool) -> Conversation {
    // Unwrap each sequence space separately: [client's, server's].
    let mut spaces = [Unwrapper::default(), Unwrapper::default()];
    let mut segments = Vec::with_capacity(conn.events.len());
    for e in &conn.events {
        let dir = match e.direction {
            schema::Direction::ClientToServer => Direction::ToServer,
            schema::Direction::ServerToClient => Direction::ToClient,
        };
        let (own, peer) = match dir {
            Direction::ToServer => (0, 1),
            Direction::ToClient => (1, 0),
        };
        let flags = TcpFlags(e.flags_raw);
        let mut s = Segment::new(
            e.frame,
            if e.time.is_finite() { e.time } else { 0.0 },
            dir,
            flags,
        );
        s.seq = spaces[own].unwrap(e.seq);
        s.len = u64::from(e.len);
        if flags.ack() {
            s.ack = spaces[peer].unwrap(e.ack);
        }
        s.win = u64::from(e.window);
        // SACK blocks live in the peer's space; map them next to the ACK
        // without disturbing the unwrapper's running position.
        let base = s.ack;
        let ack32 = e.ack;
        s.sack = e
            .sack
            .iter()
            .map(|[l, r]| {
                let l = (base as i64 + i64::from(l.wrapping_sub(ack32) as i32)).max(0) as u64;
                let r = (base as i64 + i64::from(r.wrapping_sub(ack32) as i32)).max(0) as u64;
                (l, r.max(l))
            })
            .collect();
        s.lost = e.lost;
        s.retransmission = e.analysis.iter().any(|f| {
            matches!(
                f,
                AnalysisFlag::Retransmission
                    | AnalysisFlag::FastRetransmission
                    | AnalysisFlag::SpuriousRetransmission
            )
        });
        s.analysis = e.analysis.iter().map(|f| f.name().to_string()).collect();
        if let Some(n) = &e.note {
            s.analysis.push(n.clone());
        }
        s.client_state = state_name(e.client_state);
        s.server_state = state_name(e.server_state);
        s.cwnd = e.cwnd.map(u64::from);
        s.ssthresh = e.ssthresh.map(u64::from);
        s.bytes_in_flight = e.bytes_in_flight.map(u64::from);
        segments.push(s);
    }
    // The opening SYN tells the states before it: RFC 9293 §3.5, a client in
    // CLOSED opens actively toward a server in LISTEN.
    let opens = conn.events.first().is_some_and(|e| {
        let f = TcpFlags(e.flags_raw);
        f.syn() && !f.ack() && e.direction == schema::Direction::ClientToServer
    });
    let (ic, is) = if opens {
        (Some("CLOSED".to_string()), Some("LISTEN".to_string()))
    } else {
        (None, None)
    };
    Conversation {
        stream: u64::from(conn.stream),
        client: conn.client.to_string(),
        server: conn.server.to_string(),
        segments,
        initial_client_state: ic,
        initial_server_state: is,
        simulated,
    }
}

/// Every connection of a timeline.
pub fn conversations(t: &Timeline) -> Vec<Conversation> {
    let simulated = t.source.kind == SourceKind::Simulation;
    t.connections
        .iter()
        .map(|c| conversation(c, simulated))
        .collect()
}

fn conn_state_meaning(s: schema::ZeekConnState) -> &'static str {
    use schema::ZeekConnState::*;
    match s {
        S0 => "connection attempt, no reply",
        S1 => "established, not closed",
        SF => "normal establishment and termination",
        REJ => "connection attempt rejected",
        S2 => "established, client closed, no reply from server",
        S3 => "established, server closed, no reply from client",
        RSTO => "established, client aborted (RST)",
        RSTR => "established, server aborted (RST)",
        RSTOS0 => "client sent SYN then RST, no SYN-ACK seen",
        RSTRH => "server sent SYN-ACK then RST, no SYN seen",
        SH => "client sent SYN then FIN, no SYN-ACK seen",
        SHR => "server sent SYN-ACK then FIN, no SYN seen",
        OTH => "no SYN seen, midstream traffic",
    }
}

/// A one-line verdict: Zeek's conn_state with its meaning, retransmissions,
/// the final states and the duration.
pub fn verdict_text(conn: &Connection) -> String {
    let v = &conn.verdict;
    let retx = v.client.retransmissions + v.server.retransmissions;
    let mut s = format!(
        "{} ({})",
        v.conn_state.name(),
        conn_state_meaning(v.conn_state)
    );
    s.push_str(&format!(
        "; history {}",
        if v.history.is_empty() {
            "-"
        } else {
            &v.history
        }
    ));
    if retx > 0 {
        s.push_str(&format!("; {retx} retransmission(s)"));
    }
    let zero = conn
        .events
        .iter()
        .filter(|e| e.analysis.contains(&AnalysisFlag::ZeroWindow))
        .count();
    if zero > 0 {
        s.push_str(&format!("; {zero} zero-window segment(s)"));
    }
    let lost = conn.events.iter().filter(|e| e.lost).count();
    if lost > 0 {
        s.push_str(&format!("; {lost} segment(s) lost on the link"));
    }
    s.push_str(&format!(
        "; client {} / server {} at the end; {:.6} s",
        v.client_state, v.server_state, v.duration
    ));
    s
}

/// Column titles of the report's connection table: the columns of
/// `tcpsim conns`.
pub fn table_columns() -> Vec<String> {
    conn_table::COLUMNS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect()
}

/// One row of the report's connection table: the cells `tcpsim conns`
/// prints; `first_ns` is the time of the capture's first packet.
pub fn table_row(conn: &Connection, first_ns: i64) -> Vec<String> {
    let row = conn_table::ConnRow {
        stream: conn.stream,
        client: &conn.client,
        server: &conn.server,
        verdict: &conn.verdict,
    };
    let mut cells = Vec::with_capacity(conn_table::COLUMNS.len());
    row.cells(first_ns, &mut Vec::new(), |_, text| {
        cells.push(String::from_utf8_lossy(text).into_owned())
    });
    if conn.roles_guessed {
        cells[2].push_str(" (roles guessed)");
    }
    cells
}

/// Time of the first packet of any connection, nanoseconds.
pub fn first_packet_ns(t: &Timeline) -> i64 {
    t.connections
        .iter()
        .map(|c| c.verdict.start_ns)
        .min()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_across_zero() {
        let mut u = Unwrapper::default();
        assert_eq!(u.unwrap(u32::MAX - 1), u64::from(u32::MAX - 1));
        assert_eq!(u.unwrap(3), u64::from(u32::MAX) + 4);
        assert_eq!(u.unwrap(1), u64::from(u32::MAX) + 2);
        let mut u = Unwrapper::default();
        assert_eq!(u.unwrap(5), 5);
        assert_eq!(u.unwrap(u32::MAX), 0, "going back before zero saturates");
    }
}
