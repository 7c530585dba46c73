//! The small input model every picture is drawn from. Captures, timeline
//! JSON files and simulations are converted into a [`Conversation`] first
//! (see `plot::input`), so the layout and the renderers do not depend on
//! where the packets came from.

use crate::wire::TcpFlags;

/// Which way a segment travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client (the side that sent the first SYN, or the first packet seen).
    ToServer,
    ToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// Which endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Direction {
    pub fn sender(self) -> Side {
        match self {
            Direction::ToServer => Side::Client,
            Direction::ToClient => Side::Server,
        }
    }
}

/// One TCP segment as the pictures need it. Sequence and acknowledgement
/// numbers are relative to each direction's initial sequence number (as
/// tshark shows them); `win` is the advertised window in bytes, after scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Frame number in the capture, or the simulator's segment number.
    pub number: u64,
    /// Seconds since the first segment of the conversation.
    pub time: f64,
    /// When the segment reached the peer (simulations only), in the same clock.
    pub arrival: Option<f64>,
    pub dir: Direction,
    pub flags: TcpFlags,
    pub seq: u64,
    pub ack: u64,
    pub win: u64,
    pub len: u64,
    /// SACK blocks (relative left, right edges), RFC 2018 §3.
    pub sack: Vec<(u64, u64)>,
    /// Dropped on the way (simulations only).
    pub lost: bool,
    /// The analyzer marked this segment a retransmission (any kind).
    pub retransmission: bool,
    /// The analyzer's flags for this segment (tshark-style names), for tooltips.
    pub analysis: Vec<String>,
    /// Both endpoints' states after this segment, when known.
    pub client_state: Option<String>,
    pub server_state: Option<String>,
    /// The sender's congestion window and slow-start threshold (simulations).
    pub cwnd: Option<u64>,
    pub ssthresh: Option<u64>,
    /// Bytes in flight in this segment's direction after it, when the source knows.
    pub bytes_in_flight: Option<u64>,
}

impl Segment {
    /// A plain segment with everything optional left empty.
    pub fn new(number: u64, time: f64, dir: Direction, flags: TcpFlags) -> Segment {
        Segment {
            number,
            time,
            arrival: None,
            dir,
            flags,
            seq: 0,
            ack: 0,
            win: 0,
            len: 0,
            sack: Vec::new(),
            lost: false,
            retransmission: false,
            analysis: Vec::new(),
            client_state: None,
            server_state: None,
            cwnd: None,
            ssthresh: None,
            bytes_in_flight: None,
        }
    }

    /// Sequence space this segment occupies: payload plus one for SYN and FIN
    /// (RFC 9293 §3.4).
    pub fn seq_len(&self) -> u64 {
        self.len + u64::from(self.flags.syn()) + u64::from(self.flags.fin())
    }

    pub fn state_of(&self, side: Side) -> Option<&str> {
        match side {
            Side::Client => self.client_state.as_deref(),
            Side::Server => self.server_state.as_deref(),
        }
    }
}

/// One connection, ready to draw.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Conversation {
    /// Stream index (tshark's tcp.stream) or 0 for a simulation.
    pub stream: u64,
    /// "ip:port" of each side.
    pub client: String,
    pub server: String,
    /// Segments in the order they were captured / sent.
    pub segments: Vec<Segment>,
    /// States before the first segment, when known (e.g. CLOSED / LISTEN).
    pub initial_client_state: Option<String>,
    pub initial_server_state: Option<String>,
    /// True when the segments come from a simulation (lost segments and
    /// cwnd/ssthresh may be present).
    pub simulated: bool,
}

impl Conversation {
    /// Payload bytes sent in each direction (to server, to client).
    pub fn payload_bytes(&self) -> (u64, u64) {
        let mut up = 0u64;
        let mut down = 0u64;
        for s in &self.segments {
            match s.dir {
                Direction::ToServer => up = up.saturating_add(s.len),
                Direction::ToClient => down = down.saturating_add(s.len),
            }
        }
        (up, down)
    }

    /// The direction that carried more payload (ties: client to server).
    pub fn main_data_direction(&self) -> Direction {
        let (up, down) = self.payload_bytes();
        if down > up {
            Direction::ToClient
        } else {
            Direction::ToServer
        }
    }

    /// Time of the last segment (or its arrival), in seconds.
    pub fn duration(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.arrival.unwrap_or(s.time).max(s.time))
            .fold(0.0, f64::max)
    }

    pub fn endpoint(&self, side: Side) -> &str {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

/// Short flag names, SYN first, joined by commas ("SYN,ACK"); "none".
pub fn flags_text(flags: TcpFlags) -> String {
    let names: Vec<&str> = flags.names(true).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names() {
        assert_eq!(
            flags_text(TcpFlags(TcpFlags::SYN | TcpFlags::ACK)),
            "SYN,ACK"
        );
        assert_eq!(
            flags_text(TcpFlags(TcpFlags::FIN | TcpFlags::ACK | TcpFlags::PSH)),
            "FIN,PSH,ACK"
        );
        assert_eq!(flags_text(TcpFlags(0)), "none");
    }

    #[test]
    fn seq_len_counts_syn_and_fin() {
        let mut s = Segment::new(1, 0.0, Direction::ToServer, TcpFlags(TcpFlags::SYN));
        assert_eq!(s.seq_len(), 1);
        s.flags = TcpFlags(TcpFlags::FIN | TcpFlags::ACK);
        s.len = 10;
        assert_eq!(s.seq_len(), 11);
    }

    #[test]
    fn main_direction_follows_bytes() {
        let mut c = Conversation::default();
        let mut a = Segment::new(1, 0.0, Direction::ToServer, TcpFlags(TcpFlags::ACK));
        a.len = 10;
        let mut b = Segment::new(2, 0.1, Direction::ToClient, TcpFlags(TcpFlags::ACK));
        b.len = 100;
        c.segments = vec![a, b];
        assert_eq!(c.main_data_direction(), Direction::ToClient);
        assert_eq!(c.payload_bytes(), (10, 100));
    }
}
