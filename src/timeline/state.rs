//! The TCP connection states of RFC 9293 §3.3.2 (the state diagram of RFC 793
//! Figure 6), shared by the analyzer (`track`), which infers them from what a
//! capture shows, and the sans-IO endpoint (`tcp`), which lives them.

use core::fmt;

/// One endpoint's state in the TCP state machine (RFC 9293 §3.3.2).
///
/// Serialized with the RFC's spelling: `"SYN-SENT"`, `"FIN-WAIT-1"`, ...
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum TcpState {
    #[default]
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "LISTEN")]
    Listen,
    #[serde(rename = "SYN-SENT")]
    SynSent,
    #[serde(rename = "SYN-RECEIVED")]
    SynReceived,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "FIN-WAIT-1")]
    FinWait1,
    #[serde(rename = "FIN-WAIT-2")]
    FinWait2,
    #[serde(rename = "CLOSING")]
    Closing,
    #[serde(rename = "TIME-WAIT")]
    TimeWait,
    #[serde(rename = "CLOSE-WAIT")]
    CloseWait,
    #[serde(rename = "LAST-ACK")]
    LastAck,
    /// Not inferable from the capture (its start was not captured and nothing
    /// seen so far pins the state down).
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

impl TcpState {
    /// All states, in RFC order, then `Unknown`.
    pub const ALL: [TcpState; 12] = [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::Closing,
        TcpState::TimeWait,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Unknown,
    ];

    /// The RFC's name: `"SYN-SENT"`, `"FIN-WAIT-1"`, ...
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::Closing => "CLOSING",
            TcpState::TimeWait => "TIME-WAIT",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::LastAck => "LAST-ACK",
            TcpState::Unknown => "UNKNOWN",
        }
    }

    /// Parse the RFC's name (as written by `name`).
    pub fn from_name(s: &str) -> Option<TcpState> {
        TcpState::ALL.into_iter().find(|st| st.name() == s)
    }

    /// States in which the endpoint has a synchronized connection
    /// (RFC 9293 §3.5: ESTABLISHED and every state after it).
    pub fn is_synchronized(self) -> bool {
        matches!(
            self,
            TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::Closing
                | TcpState::TimeWait
                | TcpState::CloseWait
                | TcpState::LastAck
        )
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for st in TcpState::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.name()));
            let back: TcpState = serde_json::from_str(&json).unwrap();
            assert_eq!(back, st);
            assert_eq!(TcpState::from_name(st.name()), Some(st));
        }
        assert_eq!(TcpState::from_name("FIN-WAIT1"), None);
    }
}
