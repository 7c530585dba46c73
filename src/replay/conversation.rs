//! One captured connection as replay and export need it: its segments in
//! capture order, each marked with the side that sent it, and what each
//! side's SYN announced.

use crate::wire::{SeqNumber, TcpFlags, TcpOptionsSummary, TcpPacketInfo};
use std::net::{IpAddr, SocketAddr};

/// Which endpoint of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// One TCP segment of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Frame number in the capture (1-based), or the simulator's segment count.
    pub frame: u64,
    /// Nanoseconds since the Unix epoch (captures) or since the start (simulations).
    pub time_ns: i64,
    pub from: Role,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub len: u32,
    /// Raw (unscaled) window field.
    pub window: u16,
    pub options: TcpOptionsSummary,
}

impl Segment {
    /// Sequence space this segment occupies: payload plus one for SYN and FIN
    /// (RFC 9293 §3.4).
    pub fn seg_len(&self) -> u32 {
        self.len + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
}

/// A captured connection's segments and the two endpoints.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// True when the client/server roles come from a captured SYN; false when guessed
    /// (first packet's sender taken as the client).
    pub roles_known: bool,
    pub segments: Vec<Segment>,
}

impl Conversation {
    /// The first SYN sent by `role`, if captured.
    pub fn syn_of(&self, role: Role) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.from == role && s.flags.syn())
    }

    /// Initial sequence number of `role`: from its SYN, else one below its
    /// first segment's sequence number.
    pub fn isn_of(&self, role: Role) -> Option<SeqNumber> {
        if let Some(s) = self.syn_of(role) {
            return Some(s.seq);
        }
        self.segments
            .iter()
            .find(|s| s.from == role)
            .map(|s| s.seq - 1)
    }

    /// Window scale shift in effect for windows sent by `role`: RFC 7323 §2.2,
    /// only when both SYNs carried the option; 0 otherwise.
    pub fn wscale_of(&self, role: Role) -> u8 {
        let mine = self.syn_of(role).and_then(|s| s.options.wscale);
        let theirs = self.syn_of(role.peer()).and_then(|s| s.options.wscale);
        match (mine, theirs) {
            (Some(m), Some(_)) => m.min(14),
            _ => 0,
        }
    }

    /// Both SYNs offered SACK-permitted (RFC 2018 §2).
    pub fn sack_negotiated(&self) -> bool {
        self.syn_of(Role::Client)
            .is_some_and(|s| s.options.sack_perm)
            && self
                .syn_of(Role::Server)
                .is_some_and(|s| s.options.sack_perm)
    }

    /// Both SYNs carried timestamps (RFC 7323 §3.2).
    pub fn timestamps_negotiated(&self) -> bool {
        self.syn_of(Role::Client)
            .is_some_and(|s| s.options.timestamps.is_some())
            && self
                .syn_of(Role::Server)
                .is_some_and(|s| s.options.timestamps.is_some())
    }

    /// Window sent by `role` in bytes (raw << scale; SYNs are never scaled, RFC 7323 §2.2).
    pub fn window_bytes(&self, seg: &Segment) -> u32 {
        if seg.flags.syn() {
            u32::from(seg.window)
        } else {
            u32::from(seg.window) << self.wscale_of(seg.from)
        }
    }

    /// Sequence number relative to the sender's ISN (tshark's tcp.seq).
    pub fn rel_seq(&self, seg: &Segment) -> u32 {
        self.isn_of(seg.from)
            .map_or(seg.seq.0, |isn| seg.seq.0.wrapping_sub(isn.0))
    }

    /// Acknowledgement number relative to the receiver's ISN (tshark's tcp.ack).
    pub fn rel_ack(&self, seg: &Segment) -> u32 {
        self.isn_of(seg.from.peer())
            .map_or(seg.ack.0, |isn| seg.ack.0.wrapping_sub(isn.0))
    }

    /// Payload bytes sent by `role`, counting each sequence number once
    /// (retransmissions do not count twice).
    pub fn bytes_sent(&self, role: Role) -> u64 {
        let Some(isn) = self.isn_of(role) else {
            return 0;
        };
        let mut high = 0u64;
        for s in self.segments.iter().filter(|s| s.from == role && s.len > 0) {
            // Data starts after the SYN's sequence number (RFC 9293 §3.4).
            let rel = s.seq.0.wrapping_sub(isn.0);
            let start = u64::from(rel.wrapping_add(u32::from(s.flags.syn())).wrapping_sub(1));
            high = high.max(start + u64::from(s.len));
        }
        high
    }
}

/// Splits captured TCP packets into connections numbered like tshark's
/// `tcp.stream`: by bidirectional 4-tuple in order of first appearance, with a
/// new connection when a SYN without ACK arrives on a 4-tuple whose earlier
/// connection had already closed (FIN or RST seen) or whose ISN differs.
#[derive(Default)]
pub struct ConversationSplitter {
    convs: Vec<Conversation>,
    /// Per live 4-tuple key, the index of its latest conversation.
    live: std::collections::HashMap<(SocketAddr, SocketAddr), usize>,
    closed: Vec<bool>,
}

impl ConversationSplitter {
    pub fn new() -> ConversationSplitter {
        ConversationSplitter::default()
    }

    pub fn push(&mut self, p: &TcpPacketInfo) {
        let src = SocketAddr::new(p.src, p.src_port);
        let dst = SocketAddr::new(p.dst, p.dst_port);
        let key = if (src.ip(), src.port()) <= (dst.ip(), dst.port()) {
            (src, dst)
        } else {
            (dst, src)
        };
        let pure_syn = p.flags.syn() && !p.flags.ack();
        let existing = self.live.get(&key).copied();
        let idx = match existing {
            Some(i) => {
                let c = &self.convs[i];
                let new_isn = c
                    .syn_of(Role::Client)
                    .is_some_and(|s| pure_syn && c.client == src && s.seq != p.seq);
                if pure_syn && (self.closed[i] || new_isn) {
                    self.open(key, src, dst, true)
                } else {
                    i
                }
            }
            None => self.open(key, src, dst, p.flags.syn()),
        };
        let conv = &mut self.convs[idx];
        // A SYN-ACK as first packet means its sender is the server.
        if conv.segments.is_empty() && p.flags.syn() && p.flags.ack() {
            conv.client = dst;
            conv.server = src;
        }
        let from = if src == conv.client {
            Role::Client
        } else {
            Role::Server
        };
        conv.segments.push(Segment {
            frame: p.number,
            time_ns: p.time_ns,
            from,
            seq: p.seq,
            ack: p.ack,
            flags: p.flags,
            len: p.payload_len,
            window: p.window,
            options: p.options,
        });
        if p.flags.fin() || p.flags.rst() {
            self.closed[idx] = true;
        }
    }

    fn open(
        &mut self,
        key: (SocketAddr, SocketAddr),
        src: SocketAddr,
        dst: SocketAddr,
        known: bool,
    ) -> usize {
        self.convs.push(Conversation {
            client: src,
            server: dst,
            roles_known: known,
            segments: Vec::new(),
        });
        self.closed.push(false);
        let i = self.convs.len() - 1;
        self.live.insert(key, i);
        i
    }

    pub fn finish(self) -> Vec<Conversation> {
        self.convs
    }
}

/// Split a list of packets into connections (see [`ConversationSplitter`]).
pub fn split_conversations<'a>(
    packets: impl IntoIterator<Item = &'a TcpPacketInfo>,
) -> Vec<Conversation> {
    let mut s = ConversationSplitter::new();
    for p in packets {
        s.push(p);
    }
    s.finish()
}

/// Test and simulation helper: a packet info from the fields replay looks at.
#[allow(clippy::too_many_arguments)]
pub fn packet_info(
    number: u64,
    time_ns: i64,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    seq: u32,
    ack: u32,
    flags: u16,
    len: u32,
    window: u16,
    options: TcpOptionsSummary,
) -> TcpPacketInfo {
    TcpPacketInfo {
        number,
        time_ns,
        frame_len: 54 + len,
        cap_len: 54 + len,
        src: src.0,
        dst: dst.0,
        src_port: src.1,
        dst_port: dst.1,
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        flags: TcpFlags(flags),
        window,
        header_len: 20,
        payload_len: len,
        checksum: 0,
        checksum_status: crate::wire::ChecksumStatus::Unverified,
        urgent: 0,
        options,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub const C: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::LOCALHOST), 40000);
    pub const S: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::LOCALHOST), 5000);
    const SYN: u16 = TcpFlags::SYN;
    const ACK: u16 = TcpFlags::ACK;
    const FIN: u16 = TcpFlags::FIN;
    const PSH: u16 = TcpFlags::PSH;

    pub fn syn_opts(mss: u16, ws: u8) -> TcpOptionsSummary {
        TcpOptionsSummary {
            mss: Some(mss),
            wscale: Some(ws),
            sack_perm: true,
            timestamps: Some((1000, 0)),
            ..Default::default()
        }
    }

    /// A small echo: handshake, 5 bytes each way, four-way close.
    pub fn echo_packets() -> Vec<TcpPacketInfo> {
        let o = TcpOptionsSummary::default();
        let ms = 1_000_000i64;
        vec![
            packet_info(1, 0, C, S, 1000, 0, SYN, 0, 65495, syn_opts(65495, 7)),
            packet_info(
                2,
                ms,
                S,
                C,
                5000,
                1001,
                SYN | ACK,
                0,
                65483,
                syn_opts(65495, 7),
            ),
            packet_info(3, 2 * ms, C, S, 1001, 5001, ACK, 0, 512, o),
            packet_info(4, 3 * ms, C, S, 1001, 5001, ACK | PSH, 5, 512, o),
            packet_info(5, 4 * ms, S, C, 5001, 1006, ACK, 0, 512, o),
            packet_info(6, 5 * ms, S, C, 5001, 1006, ACK | PSH, 5, 512, o),
            packet_info(7, 6 * ms, C, S, 1006, 5006, ACK, 0, 512, o),
            packet_info(8, 7 * ms, C, S, 1006, 5006, ACK | FIN, 0, 512, o),
            packet_info(9, 8 * ms, S, C, 5006, 1007, ACK | FIN, 0, 512, o),
            packet_info(10, 9 * ms, C, S, 1007, 5007, ACK, 0, 512, o),
        ]
    }

    #[test]
    fn splits_one_connection_with_roles_and_isns() {
        let convs = split_conversations(&echo_packets());
        assert_eq!(convs.len(), 1);
        let c = &convs[0];
        assert!(c.roles_known);
        assert_eq!(c.client.port(), 40000);
        assert_eq!(c.isn_of(Role::Client), Some(SeqNumber(1000)));
        assert_eq!(c.isn_of(Role::Server), Some(SeqNumber(5000)));
        assert_eq!(c.wscale_of(Role::Client), 7);
        assert!(c.sack_negotiated() && c.timestamps_negotiated());
        assert_eq!(c.window_bytes(&c.segments[2]), 512 << 7);
        assert_eq!(c.rel_seq(&c.segments[3]), 1);
        assert_eq!(c.rel_ack(&c.segments[4]), 6);
        assert_eq!(c.bytes_sent(Role::Client), 5);
        assert_eq!(c.bytes_sent(Role::Server), 5);
    }

    #[test]
    fn reused_tuple_after_close_is_a_new_connection() {
        let mut pk = echo_packets();
        let o = syn_opts(65495, 7);
        pk.push(packet_info(11, 10_000_000, C, S, 9000, 0, SYN, 0, 65495, o));
        let convs = split_conversations(&pk);
        assert_eq!(convs.len(), 2);
        assert_eq!(convs[1].segments.len(), 1);
        assert_eq!(convs[1].segments[0].frame, 11);
    }

    #[test]
    fn missing_syn_guesses_roles() {
        let pk = echo_packets();
        let convs = split_conversations(&pk[3..]);
        assert_eq!(convs.len(), 1);
        assert!(!convs[0].roles_known);
        assert_eq!(convs[0].isn_of(Role::Client), Some(SeqNumber(1000)));
    }
}
