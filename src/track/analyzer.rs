//! The analyzer: a flow table keyed by the bidirectional 4-tuple, numbered
//! as tshark's tcp.stream, with tshark's sequence analysis per direction
//! (Wireshark epan/dissectors/packet-tcp.c, `tcp_analyze_sequence_number`),
//! both endpoints' inferred states and Zeek's history per connection.

use super::analysis::{FinalNumbers, PacketAnalysis, WindowScale};
use super::flags::AnalysisFlags;
use super::flow_table::FlowTable;
use super::sack::{self, SackScoreboard, SackVerdict};
use super::states::{self, SideState};
use super::zeek::{self, History, Scaled, ZeekEndpoint};
use crate::timeline::{
    AnalysisFlag, ConnectionOptions, Direction, DirectionStats, Endpoint, Negotiated, SideOptions,
    TcpState, Verdict,
};
use crate::wire::{ChecksumStatus, TcpFlags, TcpPacketInfo};
use std::collections::VecDeque;
use std::net::IpAddr;

/// tshark's TCP_MAX_UNACKED_SEGMENTS: at most this many unacknowledged
/// segments are remembered per direction.
const MAX_UNACKED: usize = 1000;

/// Spare segment lists kept for reuse at most.
const MAX_SPARE_LISTS: usize = 4096;

/// tshark's TCP_COMPLETENESS_* bits.
pub mod completeness {
    pub const SYN: u8 = 0x01;
    pub const SYN_ACK: u8 = 0x02;
    pub const ACK: u8 = 0x04;
    pub const DATA: u8 = 0x08;
    pub const FIN: u8 = 0x10;
    pub const RST: u8 = 0x20;
}

/// How the analyzer bounds its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnalyzerOptions {
    /// A connection whose both sides are closed (CLOSED/TIME-WAIT, or reset)
    /// is retired after this much capture time without packets. `None`:
    /// never (tshark's behaviour: a 4-tuple is remembered for the whole
    /// capture).
    pub closed_linger_ns: Option<i64>,
    /// Any connection is retired after this much capture time without
    /// packets. `None`: never.
    pub idle_timeout_ns: Option<i64>,
}

impl Default for AnalyzerOptions {
    /// Exact tshark numbering: nothing is retired before `finish`.
    fn default() -> Self {
        AnalyzerOptions {
            closed_linger_ns: None,
            idle_timeout_ns: None,
        }
    }
}

impl AnalyzerOptions {
    /// Memory bounded by live connections: closed connections retire after
    /// 60 s of capture time, idle ones after 15 min.
    pub fn bounded() -> Self {
        AnalyzerOptions {
            closed_linger_ns: Some(60_000_000_000),
            idle_timeout_ns: Some(900_000_000_000),
        }
    }
}

/// A connection the analyzer is done with: everything but its events.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnSummary {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    pub roles_guessed: bool,
    pub options: ConnectionOptions,
    pub verdict: Verdict,
    /// End-of-capture numbers, for [`PacketAnalysis::finalize`].
    pub finals: FinalNumbers,
}

#[derive(Clone, Copy, Debug)]
struct Unacked {
    frame: u64,
    seq: u32,
    nextseq: u32,
    ts: i64,
}

/// One direction, as tshark's tcp_flow_t plus its tcp_analyze_seq_flow_info_t.
#[derive(Clone, Debug)]
struct Flow {
    addr: Endpoint,
    base_seq: u32,
    base_set: bool,
    /// -1 unknown, -2 not used, else the shift.
    win_scale: i8,
    /// Last raw window; u32::MAX before any.
    window: u32,
    nextseq: u32,
    nextseq_time: i64,
    maxseqtobeacked: u32,
    lastack: u32,
    lastack_time: i64,
    lastnondupack: u64,
    dupacknum: i32,
    lastsegmentflags: AnalysisFlags,
    segments: Vec<Unacked>,
    valid_bif: bool,
    push_bytes_sent: u32,
    push_set_last: bool,
    num_sack: u8,
    sack: [(u32, u32); 4],
    is_first_ack: bool,
    opts: SideOptions,
    st: SideState,
    zeek: ZeekEndpoint,
    stats: DirectionStats,
    /// Zeek's gap/retransmission tracking: highest sequence end sent.
    max_end: Option<u32>,
    /// What the peer reported with SACK about this direction's data.
    peer_sacks: SackScoreboard,
    /// The frame that last advanced `nextseq` (tshark's nextseqframe).
    nextseq_frame: u64,
    /// This side sent the connection's first FIN (tshark's closing_initiator).
    closing_initiator: bool,
}

impl Flow {
    fn new(addr: Endpoint) -> Flow {
        Flow {
            addr,
            base_seq: 0,
            base_set: false,
            win_scale: -1,
            window: u32::MAX,
            nextseq: 0,
            nextseq_time: 0,
            maxseqtobeacked: 0,
            lastack: 0,
            lastack_time: 0,
            lastnondupack: 0,
            dupacknum: 0,
            lastsegmentflags: AnalysisFlags::NONE,
            segments: Vec::new(),
            valid_bif: true,
            push_bytes_sent: 0,
            push_set_last: false,
            num_sack: 0,
            sack: [(0, 0); 4],
            is_first_ack: false,
            opts: SideOptions::default(),
            st: SideState::default(),
            zeek: ZeekEndpoint::default(),
            stats: DirectionStats::default(),
            max_end: None,
            peer_sacks: SackScoreboard::default(),
            nextseq_frame: 0,
            closing_initiator: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Conn {
    stream: u32,
    key: FlowKey,
    flows: [Flow; 2],
    completeness: u8,
    ts_first: i64,
    ts_last: i64,
    ts_mru_syn: i64,
    ts_first_rtt: i64,
    client_side: u8,
    roles_guessed: bool,
    /// The roles came from a SYN+ACK seen before any SYN (Zeek's '^').
    flipped: bool,
    history: History,
    retired: bool,
    /// Completeness bits of the first packet as a known conversation would
    /// count them (tshark's second pass adds them).
    first_bits: u8,
}

fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn seq_le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// One end of a 4-tuple as plain integers for the flow index: the address
/// in 128 bits (an IPv4 address in the low 32) as two 64-bit halves, and
/// the port with the address family above it, so that an IPv4 and an IPv6
/// end never compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EndKey {
    ip: [u64; 2],
    port: u32,
}

impl EndKey {
    #[inline]
    fn new(ip: IpAddr, port: u16) -> EndKey {
        match ip {
            IpAddr::V4(a) => EndKey {
                ip: [0, u64::from(u32::from(a))],
                port: u32::from(port),
            },
            IpAddr::V6(a) => {
                let x = u128::from(a);
                EndKey {
                    ip: [(x >> 64) as u64, x as u64],
                    port: u32::from(port) | 1 << 16,
                }
            }
        }
    }

    /// The address halves and the port folded into one word (rotated apart
    /// so that they do not cancel), then a folded multiply (as foldhash's
    /// and aHash's finish): one 64x64->128-bit product whose halves are
    /// xored, so the low bits the flow table indexes by depend on every
    /// input bit. Keys come from captures; a crafted collision flood costs
    /// time, never correctness.
    #[inline]
    fn hash(&self) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let x = self.ip[0].rotate_left(29) ^ self.ip[1] ^ (u64::from(self.port) << 40);
        let m = u128::from(x).wrapping_mul(u128::from(K));
        (m as u64) ^ ((m >> 64) as u64)
    }
}

/// A connection's 4-tuple: its ends in the order of its flows (the first
/// packet's source first). Packets of either direction find it: the hash
/// is symmetric and [`FlowKey::side_of`] tries both orders, so no
/// canonical order has to be computed per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlowKey {
    ends: [EndKey; 2],
}

impl FlowKey {
    /// The key of `p`'s 4-tuple, its source first.
    #[inline]
    fn of(p: &TcpPacketInfo) -> FlowKey {
        FlowKey {
            ends: [
                EndKey::new(p.src, p.src_port),
                EndKey::new(p.dst, p.dst_port),
            ],
        }
    }

    /// The same for both orders of the ends.
    #[inline]
    fn hash(&self) -> u64 {
        self.ends[0].hash().wrapping_add(self.ends[1].hash())
    }

    /// Which end of this key the source of `packet` (a key in packet order)
    /// is: `Some(0)` or `Some(1)`, `None` for another 4-tuple.
    #[inline]
    fn side_of(&self, packet: &FlowKey) -> Option<usize> {
        if self.ends == packet.ends {
            Some(0)
        } else if self.ends[0] == packet.ends[1] && self.ends[1] == packet.ends[0] {
            Some(1)
        } else {
            None
        }
    }
}

/// The connection tracker. Feed it every TCP packet in capture order.
pub struct Analyzer {
    opts: AnalyzerOptions,
    /// Slot of the current connection of each 4-tuple.
    by_key: FlowTable,
    /// Connections held, by slot; freed slots are reused.
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    live: usize,
    next_stream: u32,
    /// Candidates for retirement: (capture time at which to look again, slot, stream).
    retire_queue: VecDeque<(i64, usize, u32)>,
    /// The time of the queue's first entry (`i64::MAX` when empty): the
    /// one number every packet checks.
    next_due: i64,
    finished: Vec<ConnSummary>,
    /// Emptied unacknowledged-segment lists of retired connections, reused
    /// by new ones (a connection's lists otherwise cost several allocations).
    spare_segments: Vec<Vec<Unacked>>,
    packets: u64,
    now: i64,
}

impl Analyzer {
    pub fn new(opts: AnalyzerOptions) -> Analyzer {
        Analyzer {
            opts,
            by_key: FlowTable::default(),
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            next_stream: 0,
            retire_queue: VecDeque::new(),
            next_due: i64::MAX,
            finished: Vec::new(),
            spare_segments: Vec::new(),
            packets: 0,
            now: i64::MIN,
        }
    }

    /// TCP packets analyzed so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Connections currently held in memory.
    pub fn live_connections(&self) -> usize {
        self.live
    }

    /// Analyze one packet. Packets must come in capture order.
    pub fn push(&mut self, p: &TcpPacketInfo) -> PacketAnalysis {
        self.push_inner(p, false)
    }

    /// A packet whose TCP header is longer than the segment the IP layer
    /// states (tshark: "short segment"): it is assigned to its stream (a
    /// pure SYN may still start a new one) and moves the connection's
    /// completeness and states, but gets no sequence analysis; its numbers
    /// stay raw, as tshark shows them.
    pub fn push_short_segment(&mut self, p: &TcpPacketInfo) -> PacketAnalysis {
        self.push_inner(p, true)
    }

    fn push_inner(&mut self, p: &TcpPacketInfo, short: bool) -> PacketAnalysis {
        self.packets += 1;
        if p.time_ns > self.now {
            self.now = p.time_ns;
        }
        if self.next_due <= self.now {
            self.retire_due();
        }
        let key = FlowKey::of(p);
        let syn = p.flags.syn();
        let ackf = p.flags.ack();
        let seq = p.seq.0;

        let mut is_new = false;
        let mut reused = false;
        let slots = &self.slots;
        let hash = key.hash();
        let found = self.by_key.get(hash, |s| {
            slots[s]
                .as_ref()
                .is_some_and(|c| c.key.side_of(&key).is_some())
        });
        let mut slot = match found {
            Some(s) => s,
            None => {
                is_new = true;
                self.new_conn(key, hash, p)
            }
        };
        // tshark: a pure SYN whose sequence number differs from the base of
        // the conversation starts a new conversation ("reused ports").
        if syn && !ackf {
            let c = self.slots[slot]
                .as_ref()
                .expect("flow table and slots agree");
            let fwd = &c.flows[c.side_of(&key)];
            if fwd.base_set && seq != fwd.base_seq {
                let old = slot;
                slot = self.new_conn(key, hash, p);
                reused = true;
                self.retire_replaced(old);
            }
        }
        let c: &mut Conn = self.slots[slot]
            .as_mut()
            .expect("flow table and slots agree");
        if reused {
            c.completeness = completeness::SYN;
        }
        let stream = c.stream;
        c.ts_last = p.time_ns;
        let me = c.side_of(&key);
        let peer = 1 - me;
        // tshark: a SYN+ACK whose sequence number differs from the base
        // re-bases that direction and is flagged "reused ports".
        if syn && ackf && c.flows[me].base_set && seq != c.flows[me].base_seq {
            c.flows[me].base_seq = seq;
            reused = true;
        }
        c.flows[me].num_sack = 0;
        if is_new {
            c.first_bits = else_bits(p);
        }

        let mut out = if short {
            let mut o = blank_analysis(p, me);
            if reused {
                o.flags.insert(AnalysisFlag::ReusedPorts);
            }
            o.short_segment = true;
            o
        } else {
            c.analyze_sequence(p, me, reused)
        };

        // Relative numbers as tshark prints them.
        let (fwd, rev) = c.pair(me);
        let extra = if p.flags.0 & (TcpFlags::SYN | TcpFlags::FIN) != 0 {
            1
        } else {
            0
        };
        if short {
            out.seq = seq;
            out.ack = p.ack.0;
            out.nxtseq = seq;
        } else {
            out.seq = seq.wrapping_sub(fwd.base_seq);
            out.ack = if ackf {
                p.ack.0.wrapping_sub(rev.base_seq)
            } else {
                p.ack.0
            };
            out.nxtseq = out.seq.wrapping_add(p.payload_len).wrapping_add(extra);
        }
        out.peer_base = rev.base_seq;
        out.scale = if syn {
            None
        } else {
            Some(WindowScale::from_code(fwd.win_scale))
        };
        out.window = match out.scale {
            Some(sc) if !short => sc.apply(p.window),
            _ => p.window as u32,
        };

        // tcp.completeness (tshark's dissect_tcp).
        let mut comp = if is_new { 0 } else { c.completeness };
        if is_new {
            if syn && !ackf {
                comp |= completeness::SYN;
                if p.payload_len > 0 && !short {
                    comp |= completeness::DATA;
                }
            }
        } else {
            comp |= else_bits(p);
        }
        c.completeness = comp;

        if syn {
            if !ackf {
                c.ts_mru_syn = p.time_ns;
            }
            c.flows[me].is_first_ack = true;
        }
        if ackf && !syn {
            if c.ts_mru_syn != 0 && c.ts_first_rtt == 0 {
                c.ts_first_rtt = p.time_ns - c.ts_mru_syn;
            }
            c.flows[me].is_first_ack = false;
        }

        // Options: window scale (any packet, shift capped at 14: RFC 7323 §2.3)
        // and SACK blocks for bytes-in-flight. (tshark stops at a short
        // segment's options.)
        let opts_ok = !short;
        if let (Some(ws), true) = (p.options.wscale, opts_ok) {
            c.flows[me].win_scale = ws.min(14) as i8;
        }
        let peer_base = c.flows[peer].base_seq;
        let n = if opts_ok {
            (p.options.sack_count as usize).min(p.options.sack.len())
        } else {
            0
        };
        out.sack_count = n as u8;
        for i in 0..n {
            let (l, r) = p.options.sack[i];
            out.sack[i] = (l.0.wrapping_sub(peer_base), r.0.wrapping_sub(peer_base));
        }
        {
            // tshark keeps at most MAX_TCP_SACK_RANGES - 1 blocks for this.
            let f = &mut c.flows[me];
            f.num_sack = n.min(3) as u8;
            for i in 0..f.num_sack as usize {
                f.sack[i] = (p.options.sack[i].0 .0, p.options.sack[i].1 .0);
            }
        }
        if syn && opts_ok {
            let o = &mut c.flows[me].opts;
            o.syn_seen = true;
            o.isn = seq;
            o.mss = p.options.mss;
            o.wscale = p.options.wscale;
            o.sack_permitted = p.options.sack_perm;
            o.timestamps = p.options.timestamps.is_some();
            c.verify_window_scaling(me, ackf);
            if c.roles_guessed {
                // A SYN decides the roles after all.
                let client = if ackf { peer } else { me } as u8;
                if client != c.client_side || c.roles_guessed {
                    c.client_side = client;
                    c.roles_guessed = false;
                }
            }
        }

        // States.
        let rcv_nxt = if c.flows[me].nextseq != 0 {
            Some(c.flows[me].nextseq)
        } else {
            None
        };
        let rcv_wnd = if c.flows[peer].window != u32::MAX {
            let sc = WindowScale::from_code(c.flows[peer].win_scale);
            Some(sc.apply(c.flows[peer].window.min(u16::MAX as u32) as u16))
        } else {
            None
        };
        let segment = states::Segment {
            flags: p.flags,
            seq,
            ack: p.ack.0,
            len: p.payload_len,
            rcv_nxt,
            rcv_wnd,
        };
        let (a, b) = c.pair_mut(me);
        out.rst_acceptable = states::on_segment(&mut a.st, &mut b.st, &segment);

        // Zeek history and states; per-direction counters.
        let orig = me as u8 == c.client_side;
        let rel = out.seq;
        {
            let (a, b) = pair_mut(&mut c.flows, me);
            a.zeek
                .update_history(&mut c.history, orig, p.flags, rel, p.payload_len);
            if p.checksum_status == ChecksumStatus::Bad {
                a.zeek.scaled(&mut c.history, orig, Scaled::BadChecksum);
            }
            if out.flags.is_retransmission() && p.payload_len > 0 {
                a.zeek.scaled(&mut c.history, orig, Scaled::Retransmission);
            }
            if out.flags.contains(AnalysisFlag::LostSegment) && p.payload_len > 0 {
                a.zeek.scaled(&mut c.history, orig, Scaled::Gap);
            }
            if p.window == 0 && !syn && !p.flags.rst() {
                a.zeek.scaled(&mut c.history, orig, Scaled::ZeroWindow);
            }
            a.zeek.update_state(&mut b.zeek, p.flags);
            a.zeek.size += p.payload_len as u64;
            let st = &mut a.stats;
            st.packets += 1;
            st.bytes += p.frame_len as u64;
            st.payload_bytes += p.payload_len as u64;
            if out.flags.is_retransmission() {
                st.retransmissions += 1;
            }
        }

        out.stream = stream;
        out.first_in_stream = is_new || reused;
        out.side = me as u8;
        out.direction = c.direction_of(me);
        out.time_relative_ns = p.time_ns - c.ts_first;
        out.completeness = comp;
        out.initial_rtt_ns = if c.ts_first_rtt != 0 {
            Some(c.ts_first_rtt)
        } else {
            None
        };
        let cs = c.client_side as usize;
        out.client_state = c.flows[cs].st.state;
        out.server_state = c.flows[1 - cs].st.state;

        let bounded = self.opts.closed_linger_ns.is_some() || self.opts.idle_timeout_ns.is_some();
        if bounded && (is_new || reused) {
            let wait = self
                .opts
                .closed_linger_ns
                .or(self.opts.idle_timeout_ns)
                .unwrap_or(0);
            let when = p.time_ns.saturating_add(wait);
            if self.retire_queue.is_empty() {
                self.next_due = when;
            }
            self.retire_queue.push_back((when, slot, stream));
        }
        out
    }

    /// A new connection for `key` (whose [`FlowKey::hash`] is `hash`).
    fn new_conn(&mut self, key: FlowKey, hash: u64, p: &TcpPacketInfo) -> usize {
        let stream = self.next_stream;
        self.next_stream = self.next_stream.wrapping_add(1);
        let a = Endpoint {
            ip: p.src,
            port: p.src_port,
        };
        let b = Endpoint {
            ip: p.dst,
            port: p.dst_port,
        };
        let syn = p.flags.syn();
        let ackf = p.flags.ack();
        // Roles: the pure SYN's sender is the client; the SYN+ACK's sender
        // is the server; otherwise the lower port is the server (ties: the
        // first sender is the client). Guessed roles are marked.
        let (client_side, guessed, flipped) = if syn && !ackf {
            (0u8, false, false)
        } else if syn && ackf {
            (1u8, false, true)
        } else if p.dst_port < p.src_port || p.src_port == p.dst_port {
            (0u8, true, false)
        } else {
            (1u8, true, false)
        };
        let mut flows = [Flow::new(a), Flow::new(b)];
        for f in &mut flows {
            if let Some(v) = self.spare_segments.pop() {
                f.segments = v;
            }
        }
        if !syn {
            for f in flows.iter_mut() {
                f.st.state = TcpState::Unknown;
            }
        }
        let conn = Conn {
            stream,
            key,
            flows,
            completeness: 0,
            ts_first: p.time_ns,
            ts_last: p.time_ns,
            ts_mru_syn: 0,
            ts_first_rtt: 0,
            client_side,
            roles_guessed: guessed,
            flipped,
            history: History::default(),
            retired: false,
            first_bits: 0,
        };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(conn);
                i
            }
            None => {
                self.slots.push(Some(conn));
                self.slots.len() - 1
            }
        };
        self.live += 1;
        let slots = &self.slots;
        self.by_key.set(hash, slot, |s| {
            s != slot
                && slots[s]
                    .as_ref()
                    .is_some_and(|c| c.key.side_of(&key).is_some())
        });
        slot
    }

    fn take_slot(&mut self, slot: usize) -> Option<Conn> {
        let c = self.slots.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.live -= 1;
        Some(c)
    }

    /// Retires a connection: its summary goes to `finished`, its segment
    /// lists to the spare pool.
    fn retire(&mut self, mut c: Conn) {
        self.finished.push(c.summary());
        for f in &mut c.flows {
            let mut v = std::mem::take(&mut f.segments);
            if self.spare_segments.len() < MAX_SPARE_LISTS && v.capacity() <= MAX_UNACKED {
                v.clear();
                self.spare_segments.push(v);
            }
        }
    }

    /// A 4-tuple was reused: its previous connection is finished.
    fn retire_replaced(&mut self, old: usize) {
        if self.opts.closed_linger_ns.is_none() && self.opts.idle_timeout_ns.is_none() {
            return;
        }
        if let Some(c) = self.take_slot(old) {
            self.retire(c);
        }
    }

    fn retire_due(&mut self) {
        while let Some(&(when, slot, stream)) = self.retire_queue.front() {
            if when > self.now {
                break;
            }
            self.retire_queue.pop_front();
            let Some(c) = self.slots.get(slot).and_then(|c| c.as_ref()) else {
                continue;
            };
            if c.stream != stream {
                continue;
            }
            let idle = self.now.saturating_sub(c.ts_last);
            let (linger, timeout) = (self.opts.closed_linger_ns, self.opts.idle_timeout_ns);
            let limit = if c.is_closed() {
                linger.or(timeout)
            } else {
                timeout
            };
            // Look again when the next of the two limits (counted from the
            // last packet) is still ahead: a live connection may close
            // meanwhile. A limit already passed must not requeue the entry
            // at or before `now`, or this loop would never end.
            let now = self.now;
            let due_at = [linger, timeout]
                .into_iter()
                .flatten()
                .map(|l| c.ts_last.saturating_add(l))
                .filter(|&t| t > now)
                .min()
                .unwrap_or(i64::MAX);
            if limit.is_some_and(|l| idle >= l) {
                let c = self.take_slot(slot).expect("checked above");
                // The 4-tuple may point at a newer connection already.
                self.by_key.remove(c.key.hash(), slot);
                self.retire(c);
            } else if due_at != i64::MAX {
                self.retire_queue.push_back((due_at, slot, stream));
            }
        }
        self.next_due = self.retire_queue.front().map_or(i64::MAX, |e| e.0);
    }

    /// Connections retired since the last call (closed and quiet, idle, or
    /// replaced by a new connection on the same 4-tuple). Only with
    /// bounding [`AnalyzerOptions`]; in stream order of retirement.
    pub fn drain_finished(&mut self) -> std::vec::Drain<'_, ConnSummary> {
        self.finished.drain(..)
    }

    /// The end-of-capture numbers of a connection still held.
    pub fn finals(&self, stream: u32) -> Option<FinalNumbers> {
        self.slots
            .iter()
            .flatten()
            .find(|c| c.stream == stream)
            .map(|c| c.finals())
    }

    /// End of input: every connection still held, in stream order, after
    /// those retired and not yet drained.
    pub fn finish(mut self) -> Vec<ConnSummary> {
        let mut out: Vec<ConnSummary> = std::mem::take(&mut self.finished);
        // Sorted by reference: a connection is several hundred bytes.
        let mut rest: Vec<&Conn> = self.slots.iter().flatten().collect();
        rest.sort_unstable_by_key(|c| c.stream);
        out.extend(rest.iter().map(|c| c.summary()));
        out
    }
}

/// An analysis with nothing found yet.
fn blank_analysis(p: &TcpPacketInfo, me: usize) -> PacketAnalysis {
    PacketAnalysis {
        stream: 0,
        side: me as u8,
        direction: Direction::ClientToServer,
        seq: 0,
        ack: 0,
        nxtseq: 0,
        seq_raw: p.seq.0,
        ack_raw: p.ack.0,
        len: p.payload_len,
        syn: p.flags.syn(),
        ack_flag: p.flags.ack(),
        window_raw: p.window,
        window: 0,
        scale: None,
        bytes_in_flight: None,
        push_bytes_sent: None,
        flags: AnalysisFlags::NONE,
        dup_ack_num: 0,
        dup_ack_frame: 0,
        acks_frame: None,
        ack_rtt_ns: None,
        rto_ns: None,
        rto_frame: None,
        initial_rtt_ns: None,
        has_analysis: false,
        time_relative_ns: 0,
        completeness: 0,
        client_state: TcpState::Unknown,
        server_state: TcpState::Unknown,
        rst_acceptable: None,
        sack: [(0, 0); 4],
        sack_count: 0,
        peer_base: 0,
        short_segment: false,
        first_in_stream: false,
        options_malformed: p.options.error.is_some(),
        linux_zero_window_probe: false,
        sack_recovery: false,
        already_sacked: false,
        dsack: false,
        fin_active: false,
    }
}

/// Completeness bits a packet adds to a known conversation (tshark's
/// dissect_tcp, for a conversation not created by this packet).
fn else_bits(p: &TcpPacketInfo) -> u8 {
    let (syn, ackf) = (p.flags.syn(), p.flags.ack());
    let mut b = 0;
    if syn && ackf {
        b |= completeness::SYN_ACK;
    }
    if ackf && !syn {
        b |= if p.payload_len > 0 {
            completeness::DATA
        } else {
            completeness::ACK
        };
    }
    if p.flags.fin() && ackf {
        b |= completeness::FIN;
    }
    if p.flags.rst() {
        b |= completeness::RST;
    }
    b
}

fn pair_mut(flows: &mut [Flow; 2], me: usize) -> (&mut Flow, &mut Flow) {
    let (a, b) = flows.split_at_mut(1);
    if me == 0 {
        (&mut a[0], &mut b[0])
    } else {
        (&mut b[0], &mut a[0])
    }
}

impl Conn {
    /// The side (index into `flows`) that sent the packet whose key is
    /// `packet`, a key of this connection's 4-tuple.
    fn side_of(&self, packet: &FlowKey) -> usize {
        if self.key.ends[0] == packet.ends[0] {
            0
        } else {
            1
        }
    }

    fn pair(&self, me: usize) -> (&Flow, &Flow) {
        let (a, b) = self.flows.split_at(1);
        if me == 0 {
            (&a[0], &b[0])
        } else {
            (&b[0], &a[0])
        }
    }

    fn pair_mut(&mut self, me: usize) -> (&mut Flow, &mut Flow) {
        pair_mut(&mut self.flows, me)
    }

    fn direction_of(&self, side: usize) -> Direction {
        if side as u8 == self.client_side {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    fn is_closed(&self) -> bool {
        self.flows
            .iter()
            .all(|f| matches!(f.st.state, TcpState::Closed | TcpState::TimeWait))
    }

    /// tshark's verify_tcp_window_scaling, after a SYN's options.
    fn verify_window_scaling(&mut self, me: usize, is_synack: bool) {
        let (fwd, rev) = self.pair_mut(me);
        if fwd.win_scale == -1 {
            fwd.win_scale = -2;
            rev.win_scale = -2;
        } else if is_synack && rev.win_scale == -2 {
            fwd.win_scale = -2;
        }
    }

    /// tshark's tcp_analyze_sequence_number, on raw numbers.
    fn analyze_sequence(&mut self, p: &TcpPacketInfo, me: usize, reused: bool) -> PacketAnalysis {
        let seq = p.seq.0;
        let ack = p.ack.0;
        let seglen = p.payload_len;
        let fl = p.flags;
        let window = p.window as u32;
        let now = p.time_ns;
        let syn_fin_rst = fl.syn() || fl.fin() || fl.rst();
        let first_rtt = self.ts_first_rtt;
        let mut flags = AnalysisFlags::NONE;
        if reused {
            flags.insert(AnalysisFlag::ReusedPorts);
        }
        // tshark creates the analysis record of a pure SYN that repeats the
        // conversation's ISN (it checks it for port reuse), so such a frame
        // shows tcp.analysis.initial_rtt.
        let repeated_syn = {
            let f = &self.flows[me];
            fl.syn() && !fl.ack() && f.base_set && f.base_seq == seq
        };
        let mut has_ta = reused || repeated_syn;
        let mut out = blank_analysis(p, me);
        let (fwd, rev) = self.pair_mut(me);

        if !fwd.base_set {
            fwd.base_seq = if fl.syn() { seq } else { seq.wrapping_sub(1) };
            fwd.base_set = true;
        }
        if !rev.base_set && fl.ack() {
            rev.base_seq = ack.wrapping_sub(1);
            rev.base_set = true;
        }
        if fl.ack() {
            rev.valid_bif = true;
        }

        // tshark: the side whose FIN came first initiates the close; its
        // FINs "initiate", the peer's "undergo" it.
        if fl.fin() && !rev.closing_initiator {
            fwd.closing_initiator = true;
            out.fin_active = true;
        }

        // RFC 9293 §3.8.6.1: a probe while the peer's window is zero. Linux
        // sends it at SND.UNA - 1 (the peer's last ACK minus one) with no
        // payload, which tshark's rules take for a keep-alive.
        out.linux_zero_window_probe = seglen <= 1
            && !syn_fin_rst
            && rev.window == 0
            && rev.lastack != 0
            && seq == rev.lastack.wrapping_sub(1);

        'fwd: {
            // ZERO WINDOW PROBE: one byte at the next expected sequence
            // number while the peer's window is zero.
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                flags.insert(AnalysisFlag::ZeroWindowProbe);
                break 'fwd;
            }
            // ZERO WINDOW: window 0 and none of SYN/FIN/RST.
            if window == 0 && !syn_fin_rst {
                flags.insert(AnalysisFlag::ZeroWindow);
            }
            // LOST PACKET: beyond the highest sequence seen (not for RST).
            if fwd.nextseq != 0 && seq_gt(seq, fwd.nextseq) && !fl.rst() {
                flags.insert(AnalysisFlag::LostSegment);
                fwd.valid_bif = false;
            }
            // KEEP ALIVE: 0 or 1 byte starting one before the next sequence number.
            if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && !syn_fin_rst {
                flags.insert(AnalysisFlag::KeepAlive);
            }
            // WINDOW UPDATE: no data, same seq/ack, new window.
            if seglen == 0
                && window != 0
                && window != fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && !syn_fin_rst
            {
                flags.insert(AnalysisFlag::WindowUpdate);
            }
            // WINDOW FULL: data up to the edge of the peer's advertised window.
            if seglen > 0 && rev.win_scale != -1 && !syn_fin_rst {
                let shift = if rev.is_first_ack || rev.win_scale == -2 {
                    0
                } else {
                    rev.win_scale as u32
                };
                let edge = rev.lastack.wrapping_add(rev.window.wrapping_shl(shift));
                if seq.wrapping_add(seglen) == edge {
                    flags.insert(AnalysisFlag::WindowFull);
                }
            }
            // KEEP ALIVE ACK: repeats the ACK after a keep-alive.
            if seglen == 0
                && window != 0
                && window == fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && rev.lastsegmentflags.contains(AnalysisFlag::KeepAlive)
                && !syn_fin_rst
            {
                flags.insert(AnalysisFlag::KeepAliveAck);
                break 'fwd;
            }
            // ZERO WINDOW PROBE ACK: repeats the zero-window ACK after a probe.
            if seglen == 0
                && window == 0
                && window == fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && rev.lastsegmentflags.contains(AnalysisFlag::ZeroWindowProbe)
                && !syn_fin_rst
            {
                flags.insert(AnalysisFlag::ZeroWindowProbeAck);
                break 'fwd;
            }
            // DUPLICATE ACK: no data, same window, seq and ack.
            if seglen == 0
                && window != 0
                && window == fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && !syn_fin_rst
            {
                fwd.dupacknum = if fwd.dupacknum == -1 {
                    1
                } else {
                    fwd.dupacknum + 1
                };
                flags.insert(AnalysisFlag::DuplicateAck);
                out.dup_ack_num = fwd.dupacknum.max(0) as u32;
                out.dup_ack_frame = fwd.lastnondupack;
            }
        }
        if ack != fwd.lastack {
            fwd.lastnondupack = p.number;
            fwd.dupacknum = 0;
        }

        // ACKED LOST PACKET: acknowledges beyond what the peer was seen sending.
        if rev.maxseqtobeacked != 0 && seq_gt(ack, rev.maxseqtobeacked) && fl.ack() {
            has_ta = true;
            // tshark 4.0: flag, and move the peer's 'max seq to be acked'
            // to its highest sequence number so the same gap is not
            // reported again.
            flags.insert(AnalysisFlag::AckLostSegment);
            rev.maxseqtobeacked = rev.nextseq;
        }

        // RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER / SPURIOUS.
        'retrans: {
            if !(seglen > 0 || fl.syn() || fl.fin()) {
                break 'retrans;
            }
            let mut seq_not_advanced = fwd.nextseq != 0 && seq_lt(seq, fwd.nextseq);
            if flags.contains(AnalysisFlag::KeepAlive) {
                break 'retrans;
            }
            if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
                seq_not_advanced = false;
            }
            if seglen > 0 && rev.lastack != 0 && seq_le(seq.wrapping_add(seglen), rev.lastack) {
                flags.insert(AnalysisFlag::SpuriousRetransmission);
                break 'retrans;
            }
            // Fast retransmission takes precedence (tcp.fastrt_precedence).
            let t = now.wrapping_sub(rev.lastack_time);
            if seq_not_advanced
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && (0..20_000_000).contains(&t)
            {
                flags.insert(AnalysisFlag::FastRetransmission);
                break 'retrans;
            }
            let t = now.wrapping_sub(fwd.nextseq_time);
            let ooo_thres = if first_rtt == 0 { 3_000_000 } else { first_rtt };
            let extra = if fl.syn() || fl.fin() { 1 } else { 0 };
            if seq_not_advanced
                && t >= 0
                && t < ooo_thres
                && fwd.nextseq != seq.wrapping_add(seglen).wrapping_add(extra)
            {
                flags.insert(AnalysisFlag::OutOfOrder);
                break 'retrans;
            }
            if seq_not_advanced {
                flags.insert(AnalysisFlag::Retransmission);
                // tshark's tcp.analysis.rto / rto_frame: the time since the
                // eldest unacknowledged segment of this direction (likely
                // the one sent again), else since the highest one.
                let (ts, frame) = match fwd.segments.first() {
                    Some(u) => (u.ts, u.frame),
                    None => (fwd.nextseq_time, fwd.nextseq_frame),
                };
                let rto = now.wrapping_sub(ts);
                if rto != 0 {
                    out.rto_ns = Some(rto);
                    out.rto_frame = Some(frame);
                }
            }
        }

        // tcpsim's own verdict on a retransmission, from the peer's SACK
        // blocks (RFC 6675 §5). An out-of-order segment counts only when
        // its bytes were seen before: else it may be a late original.
        if seglen > 0
            && (flags.contains(AnalysisFlag::Retransmission)
                || flags.contains(AnalysisFlag::FastRetransmission)
                || flags.contains(AnalysisFlag::OutOfOrder))
        {
            let end = seq.wrapping_add(seglen);
            match fwd.peer_sacks.classify(seq, end) {
                SackVerdict::FillsHole => {
                    out.sack_recovery = !flags.contains(AnalysisFlag::OutOfOrder)
                        || fwd
                            .segments
                            .iter()
                            .any(|u| seq_lt(u.seq, end) && seq_lt(seq, u.nextseq));
                }
                SackVerdict::AlreadySacked => out.already_sacked = true,
                SackVerdict::Unknown => {}
            }
            fwd.peer_sacks.on_retransmission(end);
        }

        let mut nextseq = seq.wrapping_add(seglen);
        if (seglen > 0 || fl.syn() || fl.fin()) && fwd.segments.len() < MAX_UNACKED {
            if fl.syn() || fl.fin() {
                nextseq = nextseq.wrapping_add(1);
            }
            fwd.segments.push(Unacked {
                frame: p.number,
                seq,
                nextseq,
                ts: now,
            });
        }
        let zwp = flags.contains(AnalysisFlag::ZeroWindowProbe);
        if (seq_gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !zwp {
            fwd.nextseq = nextseq;
            fwd.nextseq_time = now;
            fwd.nextseq_frame = p.number;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !zwp {
            fwd.maxseqtobeacked = fwd.nextseq;
        }

        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastack_time = now;
        fwd.lastsegmentflags = flags;

        // The peer's data as this ACK reports it (RFC 2018, RFC 2883).
        if fl.ack() && !fl.rst() {
            let n = (p.options.sack_count as usize).min(p.options.sack.len());
            let mut blocks = [(0u32, 0u32); 4];
            for (b, (l, r)) in blocks.iter_mut().zip(&p.options.sack[..n]) {
                *b = (l.0, r.0);
            }
            rev.peer_sacks.on_ack(ack, &blocks[..n]);
            out.dsack = sack::is_dsack(ack, &blocks[..n]);
        }

        // Remove what this ACKs from the peer's unacknowledged segments.
        let mut acked: Option<(u64, i64)> = None;
        rev.segments.retain_mut(|u| {
            if ack == u.nextseq {
                if acked.is_none() {
                    acked = Some((u.frame, u.ts));
                }
                return false;
            }
            if seq_gt(ack, u.seq) && seq_le(ack, u.nextseq) {
                u.seq = ack;
                return true;
            }
            seq_gt(u.nextseq, ack)
        });
        if let Some((frame, ts)) = acked {
            has_ta = true;
            out.acks_frame = Some(frame);
            let d = now - ts;
            if d != 0 {
                out.ack_rtt_ns = Some(d);
            }
        }

        // Bytes in flight (tshark's default, payload-based method).
        if seglen != 0 && !fwd.segments.is_empty() && fwd.valid_bif {
            has_ta = true;
            let base = fwd.base_seq;
            let head = fwd.segments[fwd.segments.len() - 1];
            let mut first = head.seq.wrapping_sub(base);
            let mut last = head.nextseq.wrapping_sub(base);
            for u in &fwd.segments {
                last = last.max(u.nextseq.wrapping_sub(base));
                first = first.min(u.seq.wrapping_sub(base));
            }
            let mut in_flight = last.wrapping_sub(first);
            for i in 0..rev.num_sack as usize {
                in_flight = in_flight.wrapping_sub(rev.sack[i].1.wrapping_sub(rev.sack[i].0));
            }
            if in_flight > 0 && in_flight < 2_000_000_000 {
                let bif = if fl.syn() || fl.fin() {
                    in_flight - 1
                } else {
                    in_flight
                };
                if bif != 0 {
                    out.bytes_in_flight = Some(bif);
                }
            }
            let psh = fl.psh();
            if psh && !fwd.push_set_last {
                fwd.push_bytes_sent = fwd.push_bytes_sent.wrapping_add(seglen);
                fwd.push_set_last = true;
            } else if psh {
                fwd.push_bytes_sent = seglen;
            } else if fwd.push_set_last {
                fwd.push_bytes_sent = seglen;
                fwd.push_set_last = false;
            } else {
                fwd.push_bytes_sent = fwd.push_bytes_sent.wrapping_add(seglen);
            }
            if out.bytes_in_flight.is_some() {
                out.push_bytes_sent = Some(fwd.push_bytes_sent);
            }
        }
        let _ = fwd.max_end;

        out.flags = flags;
        out.has_analysis = has_ta || !flags.is_empty();
        out
    }

    fn finals(&self) -> FinalNumbers {
        FinalNumbers {
            base: [self.flows[0].base_seq, self.flows[1].base_seq],
            scale: [
                WindowScale::from_code(self.flows[0].win_scale),
                WindowScale::from_code(self.flows[1].win_scale),
            ],
            completeness_first: self.completeness,
            completeness: self.completeness | self.first_bits,
            initial_rtt_ns: if self.ts_first_rtt != 0 {
                Some(self.ts_first_rtt)
            } else {
                None
            },
            client_side: self.client_side,
        }
    }

    fn summary(&self) -> ConnSummary {
        let cs = self.client_side as usize;
        let (cl, sv) = (&self.flows[cs], &self.flows[1 - cs]);
        let mut history = String::new();
        if self.flipped {
            history.push('^');
        }
        history.push_str(&self.history.as_string());
        let conn_state = zeek::conn_state(&cl.zeek, &sv.zeek, &history);
        let both = cl.opts.syn_seen && sv.opts.syn_seen;
        let ws = both && cl.opts.wscale.is_some() && sv.opts.wscale.is_some();
        let negotiated = Negotiated {
            mss: match (cl.opts.mss, sv.opts.mss) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            window_scaling: ws,
            client_wscale: if ws {
                cl.opts.wscale.map(|s| s.min(14))
            } else {
                None
            },
            server_wscale: if ws {
                sv.opts.wscale.map(|s| s.min(14))
            } else {
                None
            },
            sack: both && cl.opts.sack_permitted && sv.opts.sack_permitted,
            timestamps: both && cl.opts.timestamps && sv.opts.timestamps,
        };
        let mut copts = cl.opts;
        copts.isn = cl.base_seq;
        let mut sopts = sv.opts;
        sopts.isn = sv.base_seq;
        let _ = self.retired;
        ConnSummary {
            stream: self.stream,
            client: cl.addr,
            server: sv.addr,
            roles_guessed: self.roles_guessed,
            options: ConnectionOptions {
                client: copts,
                server: sopts,
                negotiated,
            },
            verdict: Verdict {
                completeness: self.completeness | self.first_bits,
                conn_state,
                history,
                client: cl.stats,
                server: sv.stats,
                start_ns: self.ts_first,
                duration: (self.ts_last - self.ts_first) as f64 / 1e9,
                initial_rtt: if self.ts_first_rtt != 0 {
                    Some(self.ts_first_rtt as f64 / 1e9)
                } else {
                    None
                },
                client_state: cl.st.state,
                server_state: sv.st.state,
            },
            finals: self.finals(),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::wire::{ChecksumStatus, SeqNumber, TcpOptionsSummary};

    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const F: u16 = TcpFlags::FIN;
    const P: u16 = TcpFlags::PSH;

    /// A packet from 10.0.0.1:port (client) or 10.0.0.2:80 (server).
    #[allow(clippy::too_many_arguments)]
    pub(in crate::track) fn pkt(
        n: u64,
        t_ms: i64,
        from_client: bool,
        port: u16,
        flags: u16,
        seq: u32,
        ack: u32,
        len: u32,
    ) -> TcpPacketInfo {
        let (c, s) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let (src, dst, sp, dp) = if from_client {
            (c, s, port, 80)
        } else {
            (s, c, 80, port)
        };
        TcpPacketInfo {
            number: n,
            time_ns: t_ms * 1_000_000,
            frame_len: 54 + len,
            cap_len: 54 + len,
            src,
            dst,
            src_port: sp,
            dst_port: dp,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags: TcpFlags(flags),
            window: 1000,
            header_len: 20,
            payload_len: len,
            checksum: 0,
            checksum_status: ChecksumStatus::Good,
            urgent: 0,
            options: TcpOptionsSummary::default(),
        }
    }

    /// A whole connection: handshake, 100 bytes each way, four-way close.
    fn connection(first: u64, t0: i64, port: u16, cisn: u32) -> Vec<TcpPacketInfo> {
        let s = 5000u32;
        let c = cisn;
        vec![
            pkt(first, t0, true, port, S, c, 0, 0),
            pkt(first + 1, t0 + 1, false, port, S | A, s, c + 1, 0),
            pkt(first + 2, t0 + 2, true, port, A, c + 1, s + 1, 0),
            pkt(first + 3, t0 + 3, true, port, P | A, c + 1, s + 1, 100),
            pkt(first + 4, t0 + 4, false, port, P | A, s + 1, c + 101, 100),
            pkt(first + 5, t0 + 5, true, port, F | A, c + 101, s + 101, 0),
            pkt(first + 6, t0 + 6, false, port, F | A, s + 101, c + 102, 0),
            pkt(first + 7, t0 + 7, true, port, A, c + 102, s + 102, 0),
        ]
    }

    #[test]
    fn a_whole_connection_ends_sf_with_relative_numbers() {
        let mut an = Analyzer::new(AnalyzerOptions::default());
        let out: Vec<_> = connection(1, 0, 1234, 777)
            .iter()
            .map(|p| an.push(p))
            .collect();
        assert_eq!((out[3].seq, out[3].nxtseq, out[3].ack), (1, 101, 1));
        assert_eq!(out[2].acks_frame, Some(2));
        assert_eq!(out[4].acks_frame, Some(4));
        assert_eq!(out[4].bytes_in_flight, Some(100));
        assert_eq!(out[7].client_state, TcpState::TimeWait);
        assert_eq!(out[7].server_state, TcpState::Closed);
        let s = an.finish();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].verdict.conn_state, crate::timeline::ZeekConnState::SF);
        assert_eq!(s[0].verdict.history, "ShADdFf");
        assert_eq!(s[0].verdict.completeness, 31);
        assert_eq!(
            (s[0].verdict.client.packets, s[0].verdict.server.packets),
            (5, 3)
        );
    }

    /// The flow key keeps the address family apart from the address: an
    /// IPv4 4-tuple and an IPv6 one whose addresses carry the same low 32
    /// bits (with or without the top bit set) are three connections; and a
    /// packet from either end finds its connection (the key's ends are in
    /// first-packet order, matched both ways).
    #[test]
    fn flow_keys_tell_families_apart_and_match_both_directions() {
        let mut an = Analyzer::new(AnalyzerOptions::default());
        let v4 = pkt(1, 0, true, 1000, TcpFlags::SYN, 1, 0, 0);
        let mut v6 = v4;
        v6.number = 2;
        v6.src = "::a00:1".parse().unwrap();
        v6.dst = "::a00:2".parse().unwrap();
        let mut top = v6;
        top.number = 3;
        top.src = "8000::a00:1".parse().unwrap();
        top.dst = "8000::a00:2".parse().unwrap();
        let streams: Vec<u32> = [v4, v6, top].iter().map(|p| an.push(p).stream).collect();
        assert_eq!(streams, [0, 1, 2]);
        // The replies, in the other direction, land on the same streams.
        for (p, stream) in [(v4, 0), (v6, 1), (top, 2)] {
            let mut r = p;
            (r.src, r.dst, r.src_port, r.dst_port) = (p.dst, p.src, p.dst_port, p.src_port);
            r.flags = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
            let a = an.push(&r);
            assert_eq!((a.stream, a.side), (stream, 1));
        }
    }

    #[test]
    fn a_new_syn_on_a_used_tuple_starts_a_new_stream_flagged_reused_ports() {
        let mut an = Analyzer::new(AnalyzerOptions::default());
        for p in connection(1, 0, 1234, 777) {
            an.push(&p);
        }
        let again = an.push(&pkt(9, 100, true, 1234, S, 99_999, 0, 0));
        assert_eq!(again.stream, 1);
        assert!(again.flags.contains(AnalysisFlag::ReusedPorts));
        // The same ISN again is a retransmitted SYN on the same stream.
        let retx = an.push(&pkt(10, 1100, true, 1234, S, 99_999, 0, 0));
        assert_eq!(retx.stream, 1);
        assert!(retx.flags.contains(AnalysisFlag::Retransmission));
        assert!(!retx.flags.contains(AnalysisFlag::ReusedPorts));
    }

    #[test]
    fn bounded_analyzer_retires_closed_connections_after_the_linger() {
        let mut an = Analyzer::new(AnalyzerOptions::bounded());
        for p in connection(1, 0, 1000, 1) {
            an.push(&p);
        }
        assert_eq!(an.live_connections(), 1);
        assert_eq!(an.drain_finished().count(), 0);
        // Another connection 61 s later: the first one, closed and quiet
        // for a minute, is retired and handed out.
        for p in connection(9, 61_000, 1001, 1) {
            an.push(&p);
        }
        let done: Vec<_> = an.drain_finished().collect();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].stream, 0);
        assert_eq!(an.live_connections(), 1);
        let rest = an.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].stream, 1);
    }

    #[test]
    fn a_short_segment_gets_no_sequence_analysis() {
        let mut an = Analyzer::new(AnalyzerOptions::default());
        let p = pkt(1, 0, true, 1234, A, 500, 900, 0);
        let a = an.push_short_segment(&p);
        assert!(a.short_segment);
        assert_eq!(
            (a.seq, a.ack),
            (500, 900),
            "raw numbers, as tshark shows them"
        );
        // The next packet sets the base as if the short one was not seen.
        let b = an.push(&pkt(2, 1, true, 1234, A, 500, 900, 10));
        assert_eq!(b.seq, 1);
        assert_eq!(b.stream, a.stream);
    }

    /// `p` carrying SACK blocks (raw sequence numbers).
    fn sacked(mut p: TcpPacketInfo, blocks: &[(u32, u32)]) -> TcpPacketInfo {
        for (i, &(l, r)) in blocks.iter().enumerate() {
            p.options.sack[i] = (SeqNumber(l), SeqNumber(r));
        }
        p.options.sack_count = blocks.len() as u8;
        p
    }

    /// Handshake (client ISN 100, server ISN 5000), then the server sends
    /// five 100-byte segments 5001..5501; the client's ACKs report the
    /// second one (5101..5201) missing and SACK 5201..5401 (RFC 2018).
    fn sack_loss_prefix() -> (Analyzer, u64, i64) {
        let mut an = Analyzer::new(AnalyzerOptions::default());
        let port = 1234;
        let pkts = [
            pkt(1, 0, true, port, S, 100, 0, 0),
            pkt(2, 10, false, port, S | A, 5000, 101, 0),
            pkt(3, 20, true, port, A, 101, 5001, 0),
            pkt(4, 30, false, port, A, 5001, 101, 100),
            pkt(5, 31, false, port, A, 5101, 101, 100),
            pkt(6, 32, false, port, A, 5201, 101, 100),
            pkt(7, 33, false, port, A, 5301, 101, 100),
            pkt(8, 34, false, port, A, 5401, 101, 100),
            pkt(9, 60, true, port, A, 101, 5101, 0),
            sacked(pkt(10, 61, true, port, A, 101, 5101, 0), &[(5201, 5301)]),
            sacked(pkt(11, 62, true, port, A, 101, 5101, 0), &[(5201, 5401)]),
        ];
        for p in &pkts {
            let a = an.push(p);
            assert!(!a.sack_recovery && !a.already_sacked && !a.dsack);
        }
        (an, 12, 63)
    }

    #[test]
    fn a_retransmission_into_a_reported_hole_is_sack_recovery() {
        let (mut an, n, t) = sack_loss_prefix();
        let a = an.push(&pkt(n, t, false, 1234, A, 5101, 101, 100));
        assert!(a.flags.contains(AnalysisFlag::FastRetransmission));
        assert!(a.sack_recovery);
        assert!(!a.already_sacked);
        // The same hole again, with no new ACK: a timeout's resend
        // (RFC 6675 §5.1), not SACK recovery.
        let b = an.push(&pkt(n + 1, t + 300, false, 1234, A, 5101, 101, 100));
        assert!(b.flags.contains(AnalysisFlag::Retransmission));
        assert!(!b.sack_recovery && !b.already_sacked);
    }

    #[test]
    fn sacked_bytes_sent_again_are_already_sacked_and_the_dsack_is_seen() {
        let (mut an, n, t) = sack_loss_prefix();
        let a = an.push(&pkt(n, t + 300, false, 1234, A, 5201, 101, 100));
        assert!(a.flags.contains(AnalysisFlag::Retransmission));
        assert!(!a.flags.contains(AnalysisFlag::SpuriousRetransmission));
        assert!(a.already_sacked);
        assert!(!a.sack_recovery);
        // The receiver reports the duplicate below its cumulative ACK
        // (RFC 2883 §4.1).
        let d = an.push(&sacked(
            pkt(n + 1, t + 310, true, 1234, A, 101, 5401, 0),
            &[(5201, 5301)],
        ));
        assert!(d.dsack);
        // Inside the second block (§4.2).
        let e = an.push(&sacked(
            pkt(n + 2, t + 320, true, 1234, A, 101, 5401, 0),
            &[(5501, 5551), (5501, 5601)],
        ));
        assert!(e.dsack);
    }

    #[test]
    fn near_misses_get_no_sack_verdict() {
        let (mut an, n, t) = sack_loss_prefix();
        // Half in the hole, half SACKed.
        let a = an.push(&pkt(n, t + 300, false, 1234, A, 5151, 101, 100));
        assert!(a.flags.is_retransmission());
        assert!(!a.sack_recovery && !a.already_sacked);
        // Above the highest SACKed byte: nothing reported there.
        let b = an.push(&pkt(n + 1, t + 310, false, 1234, A, 5401, 101, 100));
        assert!(b.flags.is_retransmission());
        assert!(!b.sack_recovery && !b.already_sacked);
        // Below the cumulative ACK: tshark's spurious retransmission only.
        let c = an.push(&pkt(n + 2, t + 320, false, 1234, A, 5001, 101, 100));
        assert!(c.flags.contains(AnalysisFlag::SpuriousRetransmission));
        assert!(!c.sack_recovery && !c.already_sacked);
        // An ordinary SACK block is no D-SACK.
        let d = an.push(&sacked(
            pkt(n + 3, t + 330, true, 1234, A, 101, 5101, 0),
            &[(5201, 5501)],
        ));
        assert!(!d.dsack);
    }

    #[test]
    fn without_sack_blocks_a_retransmission_gets_no_sack_verdict() {
        let mut an = Analyzer::new(AnalyzerOptions::default());
        for p in &connection(1, 0, 1234, 777)[..5] {
            an.push(p);
        }
        // The client's data again, long after: a plain retransmission.
        let a = an.push(&pkt(6, 500, true, 1234, P | A, 778, 5101, 100));
        assert!(a.flags.is_retransmission());
        assert!(!a.sack_recovery && !a.already_sacked && !a.dsack);
    }

    #[test]
    fn a_retransmission_carries_the_time_since_the_eldest_unacked_segment() {
        let (mut an, n, t) = sack_loss_prefix();
        // A fast retransmission: no rto (tshark sets it on the generic
        // retransmission only).
        let a = an.push(&pkt(n, t, false, 1234, A, 5101, 101, 100));
        assert!(a.flags.contains(AnalysisFlag::FastRetransmission));
        assert_eq!((a.rto_ns, a.rto_frame), (None, None));
        // Frame 5 (5101.., sent at 31 ms) is the eldest unacknowledged.
        let b = an.push(&pkt(n + 1, t + 300, false, 1234, A, 5101, 101, 100));
        assert!(b.flags.contains(AnalysisFlag::Retransmission));
        assert_eq!(b.rto_frame, Some(5));
        assert_eq!(b.rto_ns, Some((t + 300 - 31) * 1_000_000));
        // New data is no retransmission.
        let c = an.push(&pkt(n + 2, t + 301, false, 1234, A, 5501, 101, 100));
        assert_eq!((c.rto_ns, c.rto_frame), (None, None));
    }

    #[test]
    fn an_open_connection_quiet_between_the_two_limits_does_not_stall_retirement() {
        let mut an = Analyzer::new(AnalyzerOptions::bounded());
        for p in &connection(1, 0, 1000, 1)[..4] {
            an.push(p);
        }
        // 2 minutes later (past the 60 s linger, before the 15 min timeout):
        // the open connection stays, and push returns.
        an.push(&pkt(9, 120_000, true, 1001, S, 5, 0, 0));
        assert_eq!(an.drain_finished().count(), 0);
        assert_eq!(an.live_connections(), 2);
        // After 15 minutes of silence it is retired.
        an.push(&pkt(10, 1_000_000, true, 1002, S, 5, 0, 0));
        let done: Vec<_> = an.drain_finished().map(|c| c.stream).collect();
        assert_eq!(done, vec![0]);
    }
}
