//! The sans-IO TCP endpoint: one connection's state machine (RFC 9293),
//! windows and flow control (RFC 7323, RFC 1122), loss recovery and
//! congestion control (RFC 6298, RFC 5681, RFC 6582, RFC 2018/6675).
//!
//! Inputs: [`Endpoint::handle_segment`], [`Endpoint::handle_timeout`] and the
//! application calls. Outputs: [`Endpoint::poll_transmit`],
//! [`Endpoint::poll_timeout`] and [`Endpoint::poll_event`]. The endpoint never
//! reads a clock: every input carries `now`.
//!
//! Every state change goes through [`Endpoint::transition`], one
//! `match (state, input)` with one arm per transition of RFC 9293's diagram.

use super::buffer::{RecvBuffer, SendBuffer};
use super::config::Config;
use super::rtt::RttEstimator;
use super::segment::{Payload, Segment};
use super::state::TcpState;
use super::time::{earliest, Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpOptionsSummary};
use std::collections::VecDeque;

use TcpState::*;

/// Something the application may want to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    StateChanged {
        from: TcpState,
        to: TcpState,
    },
    /// The three-way handshake completed.
    Connected,
    /// New in-order data can be read.
    Readable,
    /// The peer sent FIN: no more data will arrive after what is readable.
    PeerClosed,
    /// The connection ended normally (LAST-ACK acknowledged or TIME-WAIT over).
    Closed,
    /// The peer reset the connection (or refused it).
    Reset,
    /// Retransmissions were exhausted.
    TimedOut,
}

/// An application call that the current state does not allow
/// (RFC 9293 §3.10: "error: connection already exists", "connection closing").
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("not allowed in state {0:?}")]
    InvalidState(TcpState),
    #[error("connection closing: the write side is shut down")]
    Closing,
}

/// Counters for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments_sent: u64,
    pub segments_received: u64,
    pub bytes_sent: u64,
    pub retransmitted_segments: u64,
    pub fast_retransmits: u64,
    pub timeouts: u64,
    pub zero_window_probes: u64,
    pub dup_acks_received: u64,
}

/// The inputs of the state machine (RFC 9293 Figure 5's arcs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// OPEN call, passive (listen) or active (connect).
    Open { passive: bool },
    /// CLOSE call: no more data from this side.
    Close,
    /// ABORT call.
    Abort,
    /// An acceptable RST.
    Rst,
    /// A SYN in LISTEN or SYN-SENT; `ack` = it acknowledged our SYN.
    Syn { ack: bool },
    /// An in-window SYN in a synchronized state.
    BadSyn,
    /// An acceptable segment with an acceptable ACK was processed: `fin` = the
    /// peer's FIN was reached in order, `fin_acked` = our FIN is acknowledged.
    Ack { fin: bool, fin_acked: bool },
    /// The 2*MSL timer ran out.
    TimeWaitOver,
    /// Retransmissions exhausted.
    GiveUp,
}

/// Most queued RST replies; more are dropped (a flood of stray segments must
/// not grow memory).
const MAX_REPLIES: usize = 16;

/// One TCP connection, sans-IO.
#[derive(Clone, Debug)]
pub struct Endpoint {
    cfg: Config,
    state: TcpState,
    local_port: u16,
    remote_port: u16,
    /// The connection came from LISTEN (SYN-RECEIVED + RST returns there).
    passive: bool,

    // Send sequence space (RFC 9293 §3.3.1).
    iss: SeqNumber,
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    /// Highest sequence number sent + 1: RFC 9293's SND.NXT as the peer
    /// sees it (`snd_nxt` goes back after an RTO to resend; ACKs and RSTs
    /// carry `snd_max`).
    snd_max: SeqNumber,
    /// Send window in bytes (scaled).
    snd_wnd: u32,
    max_snd_wnd: u32,
    snd_wl1: SeqNumber,
    snd_wl2: SeqNumber,
    /// Shift applied to the peer's window field (RFC 7323 §2.3).
    snd_shift: u8,
    /// Shift applied to our window field.
    rcv_shift: u8,
    /// Effective send MSS (payload bytes per segment).
    send_mss: u32,
    /// The send MSS the handshake negotiated (`send_mss` may be bounded below it).
    negotiated_send_mss: u32,
    /// Largest segment expected from the peer (for delayed ACK and SWS).
    rcv_mss: u32,
    ws_ok: bool,
    sack_ok: bool,
    ts_ok: bool,
    ts_recent: u32,

    // Receive sequence space.
    irs: SeqNumber,
    rcv_nxt: SeqNumber,
    /// Right edge of the window last advertised (RCV.NXT + RCV.WND).
    rcv_adv: SeqNumber,

    sendbuf: SendBuffer,
    recvbuf: RecvBuffer,
    /// The application closed the write side: FIN follows the data.
    fin_queued: bool,
    /// Shutdown requested in SYN-SENT: CLOSE once the connection opens
    /// (RFC 9293 §3.10.4: queued until after entering ESTABLISHED).
    close_after_open: bool,
    /// The application will not read any more: arriving data is discarded.
    recv_closed: bool,
    /// Sequence number of the peer's FIN once seen (possibly out of order).
    peer_fin: Option<SeqNumber>,
    peer_fin_done: bool,

    // Timers.
    rtx_at: Option<Instant>,
    persist_at: Option<Instant>,
    delack_at: Option<Instant>,
    timewait_at: Option<Instant>,
    rtx_count: u32,
    persist_backoff: u32,
    rtt: RttEstimator,
    /// Segment being timed for an RTT sample (end seq, sent at) (Karn's rule).
    timed: Option<(SeqNumber, Instant)>,

    // Congestion control.
    cwnd: u32,
    ssthresh: u32,
    dupacks: u32,
    ca_acked: u32,
    /// `Some(recover)` during fast recovery (RFC 6582 §3.2).
    recover: Option<SeqNumber>,
    /// snd_max at the last loss event: dupACKs below it do not start a new
    /// fast retransmit (RFC 6582 §3.2 step 1, §4.1).
    recover_mark: SeqNumber,
    /// A retransmission to send next (fast retransmit, NewReno partial ACK).
    rtx_seq: Option<SeqNumber>,
    /// Highest sequence retransmitted in this recovery (RFC 6675 HighRxt).
    high_rxt: SeqNumber,
    /// SACKed ranges above snd_una, sorted and disjoint (RFC 6675 scoreboard).
    scoreboard: Vec<(SeqNumber, SeqNumber)>,
    probing: bool,

    // Output state.
    ack_now: bool,
    delack_bytes: usize,
    syn_pending: bool,
    probe_pending: bool,
    /// Stream offset of the latest out-of-order arrival (first SACK block).
    last_ooo: Option<u64>,
    replies: VecDeque<Segment>,
    events: VecDeque<Event>,
    stats: Stats,
    last_invalid_reply: Option<Instant>,
}

impl Endpoint {
    pub fn new(cfg: Config) -> Endpoint {
        let iss = SeqNumber(cfg.isn);
        let mss = cfg.mss.max(1) as u32;
        let rtt = RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max);
        Endpoint {
            state: Closed,
            local_port: 0,
            remote_port: 0,
            passive: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: iss,
            snd_shift: 0,
            rcv_shift: 0,
            send_mss: mss,
            negotiated_send_mss: mss,
            rcv_mss: mss,
            ws_ok: false,
            sack_ok: false,
            ts_ok: false,
            ts_recent: 0,
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            sendbuf: SendBuffer::new(cfg.send_buffer),
            recvbuf: RecvBuffer::new(cfg.recv_buffer),
            fin_queued: false,
            close_after_open: false,
            recv_closed: false,
            peer_fin: None,
            peer_fin_done: false,
            rtx_at: None,
            persist_at: None,
            delack_at: None,
            timewait_at: None,
            rtx_count: 0,
            persist_backoff: 0,
            rtt,
            timed: None,
            cwnd: mss,
            ssthresh: u32::MAX,
            dupacks: 0,
            ca_acked: 0,
            recover: None,
            recover_mark: iss,
            rtx_seq: None,
            high_rxt: iss,
            scoreboard: Vec::new(),
            probing: false,
            ack_now: false,
            delack_bytes: 0,
            syn_pending: false,
            probe_pending: false,
            last_ooo: None,
            replies: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            last_invalid_reply: None,
            cfg,
        }
    }

    // ----- accessors -------------------------------------------------------

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    pub fn state(&self) -> TcpState {
        self.state
    }
    pub fn local_port(&self) -> u16 {
        self.local_port
    }
    pub fn remote_port(&self) -> u16 {
        self.remote_port
    }
    pub fn snd_una(&self) -> SeqNumber {
        self.snd_una
    }
    pub fn snd_nxt(&self) -> SeqNumber {
        self.snd_nxt
    }
    pub fn rcv_nxt(&self) -> SeqNumber {
        self.rcv_nxt
    }
    /// The peer's window as last advertised, in bytes.
    pub fn send_window(&self) -> u32 {
        self.snd_wnd
    }
    /// The window this endpoint last advertised, in bytes.
    pub fn recv_window(&self) -> u32 {
        (self.rcv_adv - self.rcv_nxt) as u32
    }
    /// Congestion window in bytes.
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }
    /// Slow-start threshold in bytes (`u32::MAX` until the first loss).
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }
    pub fn in_recovery(&self) -> bool {
        self.recover.is_some()
    }
    pub fn send_mss(&self) -> u32 {
        self.send_mss
    }
    /// Bounds the payload of one segment to `cap` bytes (at least 1, never
    /// above what the handshake negotiated); `u32::MAX` lifts the bound.
    /// RFC 9293 §3.7.1 makes the MSS an upper bound only; Linux recomputes
    /// its segment size during a connection (`tcp_sync_mss` bounds it to half
    /// the largest window the peer advertised, `tcp_bound_to_half_wnd`), and
    /// a replay of a Linux sender follows that with this call.
    pub fn bound_send_mss(&mut self, cap: u32) {
        self.send_mss = self.negotiated_send_mss.min(cap).max(1);
    }
    pub fn rto(&self) -> Duration {
        self.rtt.rto()
    }
    pub fn srtt(&self) -> Option<Duration> {
        self.rtt.srtt()
    }
    pub fn stats(&self) -> Stats {
        self.stats
    }
    /// Free space in the send buffer.
    pub fn send_capacity(&self) -> usize {
        self.sendbuf.free()
    }
    /// Bytes written and not yet acknowledged.
    pub fn send_queued(&self) -> usize {
        self.sendbuf.len()
    }
    /// Bytes received in order and not yet read.
    pub fn recv_queued(&self) -> usize {
        self.recvbuf.readable()
    }
    /// Stream offset of the next byte `recv` returns.
    pub fn recv_offset(&self) -> u64 {
        self.recvbuf.read_offset()
    }
    /// The peer closed its side and every byte has been read.
    pub fn is_eof(&self) -> bool {
        self.peer_fin_done && self.recvbuf.readable() == 0
    }
    /// Generated payloads that arrived at the wrong stream offset.
    pub fn integrity_errors(&self) -> u64 {
        self.recvbuf.integrity_errors
    }
    /// Whether window scaling, SACK and timestamps were negotiated.
    pub fn negotiated(&self) -> (bool, bool, bool) {
        (self.ws_ok, self.sack_ok, self.ts_ok)
    }

    // ----- application calls -----------------------------------------------

    /// Passive OPEN (RFC 9293 §3.10.1).
    pub fn listen(&mut self, port: u16) -> Result<(), AppError> {
        if self.state != Closed {
            return Err(AppError::InvalidState(self.state));
        }
        self.local_port = port;
        self.transition(Instant::ZERO, Input::Open { passive: true });
        Ok(())
    }

    /// Active OPEN: send SYN (RFC 9293 §3.10.1).
    pub fn connect(
        &mut self,
        now: Instant,
        local_port: u16,
        remote_port: u16,
    ) -> Result<(), AppError> {
        if !matches!(self.state, Closed | Listen) {
            return Err(AppError::InvalidState(self.state));
        }
        self.local_port = local_port;
        self.remote_port = remote_port;
        self.transition(now, Input::Open { passive: false });
        Ok(())
    }

    fn check_send(&self) -> Result<(), AppError> {
        match self.state {
            // RFC 9293 §3.10.2: data is queued in SYN-SENT/SYN-RECEIVED too.
            SynSent | SynReceived | Established | CloseWait if !self.fin_queued => Ok(()),
            Closed | Listen | TimeWait => Err(AppError::InvalidState(self.state)),
            _ => Err(AppError::Closing),
        }
    }

    /// SEND: queue bytes; returns how many fit in the send buffer.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, AppError> {
        self.check_send()?;
        Ok(self.sendbuf.write(data))
    }

    /// SEND `n` bytes of generated content (see `segment::pattern_byte`);
    /// returns how many fit. Bulk simulations use this to move no bytes.
    pub fn send_generated(&mut self, n: usize) -> Result<usize, AppError> {
        self.check_send()?;
        Ok(self.sendbuf.write_generated(n))
    }

    /// RECEIVE: copy up to `buf.len()` in-order bytes.
    pub fn recv(&mut self, buf: &mut [u8]) -> usize {
        let n = self.recvbuf.read(buf);
        self.after_read(n);
        n
    }

    /// RECEIVE without copying: discard up to `max` in-order bytes.
    pub fn recv_discard(&mut self, max: usize) -> usize {
        let n = self.recvbuf.consume(max);
        self.after_read(n);
        n
    }

    fn after_read(&mut self, n: usize) {
        if n == 0 || !self.synchronized() || self.peer_fin_done {
            return;
        }
        // Window update when the window can move right by enough
        // (RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3).
        let right = self.window_right_edge();
        let was_closed = self.rcv_adv == self.rcv_nxt;
        if right > self.rcv_adv && (right - self.rcv_adv >= self.sws_threshold() || was_closed) {
            self.ack_now = true;
        }
    }

    /// Shut down the write side: FIN after all queued data.
    pub fn shutdown(&mut self) -> Result<(), AppError> {
        match self.state {
            Closed | Listen => Err(AppError::InvalidState(self.state)),
            SynSent => {
                self.close_after_open = true;
                Ok(())
            }
            _ if self.fin_queued => Ok(()),
            _ => {
                self.transition(Instant::ZERO, Input::Close);
                Ok(())
            }
        }
    }

    /// CLOSE (RFC 9293 §3.10.4): no more data from this side, and the
    /// application reads no more (arriving data is discarded).
    pub fn close(&mut self) -> Result<(), AppError> {
        self.recv_closed = true;
        let n = self.recvbuf.readable();
        self.recvbuf.consume(n);
        if self.fin_queued {
            return Ok(());
        }
        self.transition(Instant::ZERO, Input::Close);
        Ok(())
    }

    /// ABORT (RFC 9293 §3.10.5): RST in synchronized states, then CLOSED.
    pub fn abort(&mut self) {
        self.transition(Instant::ZERO, Input::Abort);
    }

    // ----- events and timers -----------------------------------------------

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next instant `handle_timeout` must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = earliest(self.rtx_at, self.persist_at);
        let t = earliest(t, self.delack_at);
        earliest(t, self.timewait_at)
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timewait_at.is_some_and(|t| t <= now) {
            self.timewait_at = None;
            // RFC 9293 §3.10.8: TIME-WAIT timeout -> CLOSED.
            self.transition(now, Input::TimeWaitOver);
            return;
        }
        if self.delack_at.is_some_and(|t| t <= now) {
            self.delack_at = None;
            self.ack_now = true;
        }
        if self.persist_at.is_some_and(|t| t <= now) {
            // RFC 9293 §3.8.6.1: probe the zero window.
            self.persist_at = None;
            self.persist_backoff = (self.persist_backoff + 1).min(16);
            self.probe_pending = true;
        }
        if self.rtx_at.is_some_and(|t| t <= now) {
            self.on_retransmission_timeout(now);
        }
    }

    fn on_retransmission_timeout(&mut self, now: Instant) {
        self.rtx_at = None;
        self.rtx_count += 1;
        if self.rtx_count > self.cfg.max_retransmissions {
            self.transition(now, Input::GiveUp);
            return;
        }
        self.stats.timeouts += 1;
        match self.state {
            SynSent | SynReceived => self.syn_pending = true,
            _ => {
                // RFC 5681 §3.1 eq. 4 (only on the first timeout of a segment)
                // and the loss window of one segment.
                if self.rtx_count == 1 {
                    let flight = self.snd_max - self.snd_una;
                    self.ssthresh = (flight as u32 / 2).max(2 * self.send_mss);
                }
                self.cwnd = self.send_mss;
                self.ca_acked = 0;
                self.recover = None;
                self.recover_mark = self.snd_max;
                self.dupacks = 0;
                self.rtx_seq = None;
                // RFC 2018 §8: after a timeout, SACK information is not trusted.
                self.scoreboard.clear();
                // Go back N: resend from the first unacknowledged byte.
                self.snd_nxt = self.snd_una;
                self.probing = false;
            }
        }
        // RFC 6298 §5.5-5.6 and Karn's rule.
        self.rtt.backoff();
        self.timed = None;
        self.rtx_at = Some(now + self.rtt.rto());
    }

    // ----- the state machine -----------------------------------------------

    fn set_state(&mut self, to: TcpState) {
        if self.state != to {
            self.events.push_back(Event::StateChanged {
                from: self.state,
                to,
            });
            self.state = to;
        }
    }

    fn synchronized(&self) -> bool {
        !matches!(self.state, Closed | Listen | SynSent)
    }

    /// Enter CLOSED and forget timers.
    fn enter_closed(&mut self, why: Event) {
        self.set_state(Closed);
        self.rtx_at = None;
        self.persist_at = None;
        self.delack_at = None;
        self.timewait_at = None;
        self.ack_now = false;
        self.syn_pending = false;
        self.probe_pending = false;
        self.events.push_back(why);
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.set_state(TimeWait);
        self.rtx_at = None;
        self.persist_at = None;
        self.timewait_at = Some(now + self.cfg.msl * 2);
    }

    /// Back to LISTEN after a reset half-open passive connection.
    fn reset_to_listen(&mut self) {
        let (cfg, port) = (self.cfg.clone(), self.local_port);
        let events = std::mem::take(&mut self.events);
        let replies = std::mem::take(&mut self.replies);
        let stats = self.stats;
        *self = Endpoint::new(cfg);
        self.events = events;
        self.replies = replies;
        self.stats = stats;
        self.local_port = port;
        self.state = SynReceived;
        self.set_state(Listen);
    }

    /// Every state change of RFC 9293's diagram (§3.3.2 Figure 5, §3.10).
    fn transition(&mut self, now: Instant, input: Input) {
        match (self.state, input) {
            // CLOSED --passive OPEN--> LISTEN.
            (Closed, Input::Open { passive: true }) => {
                self.passive = true;
                self.set_state(Listen);
            }
            // CLOSED or LISTEN --active OPEN / snd SYN--> SYN-SENT.
            (Closed | Listen, Input::Open { passive: false }) => {
                self.passive = false;
                self.syn_pending = true;
                self.set_state(SynSent);
            }
            // Any other OPEN: "connection already exists" (the caller checked).
            (_, Input::Open { .. }) => {}
            // LISTEN --rcv SYN / snd SYN,ACK--> SYN-RECEIVED.
            (Listen, Input::Syn { .. }) => {
                self.syn_pending = true;
                self.set_state(SynReceived);
            }
            // SYN-SENT --rcv SYN,ACK / snd ACK--> ESTABLISHED.
            (SynSent, Input::Syn { ack: true }) => {
                self.ack_now = true;
                self.set_state(Established);
                self.events.push_back(Event::Connected);
                if self.close_after_open {
                    self.transition(now, Input::Close);
                }
            }
            // SYN-SENT --rcv SYN / snd SYN,ACK--> SYN-RECEIVED (simultaneous open).
            (SynSent, Input::Syn { ack: false }) => {
                self.syn_pending = true;
                self.set_state(SynReceived);
                if self.close_after_open {
                    self.close_after_open = false;
                    self.transition(now, Input::Close);
                }
            }
            // A SYN elsewhere is handled as BadSyn by the caller.
            (_, Input::Syn { .. }) => {}
            // SYN-RECEIVED --rcv ACK of SYN--> ESTABLISHED (and CLOSE-WAIT at
            // once if the same segment carried the FIN).
            (SynReceived, Input::Ack { fin, .. }) => {
                self.set_state(Established);
                self.events.push_back(Event::Connected);
                if fin {
                    self.set_state(CloseWait);
                }
                if self.close_after_open {
                    self.transition(now, Input::Close);
                }
            }
            // ESTABLISHED --rcv FIN / snd ACK--> CLOSE-WAIT.
            (Established, Input::Ack { fin: true, .. }) => self.set_state(CloseWait),
            // FIN-WAIT-1 --rcv FIN acking our FIN / snd ACK--> TIME-WAIT.
            (
                FinWait1,
                Input::Ack {
                    fin: true,
                    fin_acked: true,
                },
            ) => self.enter_time_wait(now),
            // FIN-WAIT-1 --rcv FIN / snd ACK--> CLOSING (simultaneous close).
            (
                FinWait1,
                Input::Ack {
                    fin: true,
                    fin_acked: false,
                },
            ) => self.set_state(Closing),
            // FIN-WAIT-1 --rcv ACK of FIN--> FIN-WAIT-2.
            (
                FinWait1,
                Input::Ack {
                    fin: false,
                    fin_acked: true,
                },
            ) => self.set_state(FinWait2),
            // FIN-WAIT-2 --rcv FIN / snd ACK--> TIME-WAIT.
            (FinWait2, Input::Ack { fin: true, .. }) => self.enter_time_wait(now),
            // CLOSING --rcv ACK of FIN--> TIME-WAIT.
            (
                Closing,
                Input::Ack {
                    fin_acked: true, ..
                },
            ) => self.enter_time_wait(now),
            // LAST-ACK --rcv ACK of FIN--> CLOSED.
            (
                LastAck,
                Input::Ack {
                    fin_acked: true, ..
                },
            ) => self.enter_closed(Event::Closed),
            // Any other acceptable segment leaves the state unchanged.
            (_, Input::Ack { .. }) => {}
            // LISTEN --CLOSE--> CLOSED; SYN-SENT --CLOSE--> CLOSED (RFC 9293 §3.10.4).
            (Listen | SynSent, Input::Close) => self.enter_closed(Event::Closed),
            // SYN-RECEIVED or ESTABLISHED --CLOSE / snd FIN--> FIN-WAIT-1.
            (SynReceived | Established, Input::Close) => {
                self.fin_queued = true;
                self.set_state(FinWait1);
            }
            // CLOSE-WAIT --CLOSE / snd FIN--> LAST-ACK.
            (CloseWait, Input::Close) => {
                self.fin_queued = true;
                self.set_state(LastAck);
            }
            // CLOSE elsewhere: already closing or closed ("connection closing").
            (Closed | FinWait1 | FinWait2 | Closing | LastAck | TimeWait, Input::Close) => {}
            // ABORT in a synchronized state: snd RST <SEQ=SND.NXT>, CLOSED (RFC 9293 §3.10.5).
            (SynReceived | Established | FinWait1 | FinWait2 | CloseWait, Input::Abort) => {
                let mut rst = Segment::new(
                    self.local_port,
                    self.remote_port,
                    self.snd_max,
                    self.rcv_nxt,
                    TcpFlags::RST | TcpFlags::ACK,
                );
                rst.window = 0;
                self.replies.push_back(rst);
                self.enter_closed(Event::Reset);
            }
            // ABORT in CLOSED, LISTEN, SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT: no RST, CLOSED.
            (Closed, Input::Abort) => {}
            (Listen | SynSent | Closing | LastAck | TimeWait, Input::Abort) => {
                self.enter_closed(Event::Reset)
            }
            // SYN-SENT --rcv RST acking our SYN--> CLOSED: "connection refused" (§3.10.7.3).
            (SynSent, Input::Rst) => self.enter_closed(Event::Reset),
            // SYN-RECEIVED --rcv RST--> LISTEN if the open was passive (§3.10.7.4 second).
            (SynReceived, Input::Rst) if self.passive => self.reset_to_listen(),
            // SYN-RECEIVED (active open) --rcv RST--> CLOSED: "connection refused".
            (SynReceived, Input::Rst) => self.enter_closed(Event::Reset),
            // ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT --rcv RST--> CLOSED: "connection reset".
            (Established | FinWait1 | FinWait2 | CloseWait, Input::Rst) => {
                self.enter_closed(Event::Reset)
            }
            // CLOSING, LAST-ACK, TIME-WAIT --rcv RST--> CLOSED.
            (Closing | LastAck | TimeWait, Input::Rst) => self.enter_closed(Event::Closed),
            // CLOSED and LISTEN ignore RSTs (§3.10.7.1, §3.10.7.2).
            (Closed | Listen, Input::Rst) => {}
            // In-window SYN, synchronized state (§3.10.7.4 fourth): with RFC 5961
            // a challenge ACK, otherwise RST and CLOSED; a passive SYN-RECEIVED
            // returns to LISTEN.
            (_, Input::BadSyn) if self.cfg.challenge_ack => self.ack_now = true,
            (SynReceived, Input::BadSyn) if self.passive => self.reset_to_listen(),
            (_, Input::BadSyn) => {
                let rst = Segment::new(
                    self.local_port,
                    self.remote_port,
                    self.snd_max,
                    self.rcv_nxt,
                    TcpFlags::RST | TcpFlags::ACK,
                );
                self.replies.push_back(rst);
                self.enter_closed(Event::Reset);
            }
            // TIME-WAIT --2*MSL timeout--> CLOSED.
            (TimeWait, Input::TimeWaitOver) => self.enter_closed(Event::Closed),
            (_, Input::TimeWaitOver) => {}
            // Retransmissions exhausted in any state: CLOSED, "connection timed out".
            (_, Input::GiveUp) => self.enter_closed(Event::TimedOut),
            // UNKNOWN is the analyzer's "not inferable"; an endpoint never is.
            (Unknown, _) => {}
        }
    }

    // ----- segment arrival -------------------------------------------------

    /// RST for a segment that belongs to no connection (RFC 9293 §3.10.7.1):
    /// <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else
    /// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    fn reply_reset(&mut self, seg: &Segment) {
        if seg.rst() || self.replies.len() >= MAX_REPLIES {
            return;
        }
        let r = if seg.has_ack() {
            Segment::new(
                seg.dst_port,
                seg.src_port,
                seg.ack,
                SeqNumber(0),
                TcpFlags::RST,
            )
        } else {
            Segment::new(
                seg.dst_port,
                seg.src_port,
                SeqNumber(0),
                seg.seq + seg.seg_len(),
                TcpFlags::RST | TcpFlags::ACK,
            )
        };
        self.replies.push_back(r);
    }

    /// Take the options of the peer's SYN (RFC 9293 §3.7.1, RFC 7323 §2.2, RFC 2018 §2).
    fn take_syn(&mut self, seg: &Segment) {
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.rcv_adv = self.rcv_nxt;
        self.remote_port = seg.src_port;
        let o = &seg.options;
        // RFC 9293 §3.7.1: 536 when the peer sends no MSS option.
        let peer_mss = o.mss.unwrap_or(536).max(1) as u32;
        let own = self.cfg.mss.max(1) as u32;
        if let (Some(peer), Some(own)) = (o.wscale, self.cfg.window_scale) {
            // RFC 7323 §2.3: shifts above 14 are treated as 14.
            self.ws_ok = true;
            self.snd_shift = peer.min(14);
            self.rcv_shift = own.min(14);
        }
        self.sack_ok = self.cfg.sack && o.sack_perm;
        if let (true, Some((tsval, _))) = (self.cfg.timestamps, o.timestamps) {
            self.ts_ok = true;
            self.ts_recent = tsval;
        }
        let opt = if self.ts_ok { 12 } else { 0 };
        self.send_mss = peer_mss.min(own).saturating_sub(opt).max(1);
        self.negotiated_send_mss = self.send_mss;
        self.rcv_mss = peer_mss.min(own).saturating_sub(opt).max(1);
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        self.snd_wnd = seg.window as u32;
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        // RFC 5681 §3.1 initial window.
        let smss = self.send_mss;
        self.cwnd = match self.cfg.initial_cwnd {
            Some(n) => n.max(1) * smss,
            None if smss > 2190 => 2 * smss,
            None if smss > 1095 => 3 * smss,
            None => 4 * smss,
        };
    }

    /// Process one arriving segment (RFC 9293 §3.10.7).
    pub fn handle_segment(&mut self, now: Instant, mut seg: Segment) {
        self.stats.segments_received += 1;
        match self.state {
            // §3.10.7.1: CLOSED: everything but a RST gets a RST.
            Closed => {
                self.reply_reset(&seg);
            }
            // §3.10.7.2: LISTEN.
            Listen => {
                if seg.dst_port != self.local_port {
                    self.reply_reset(&seg);
                } else if seg.rst() {
                    // First check: ignore a RST.
                } else if seg.has_ack() {
                    // Second check: an ACK is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
                    self.reply_reset(&seg);
                } else if seg.syn() {
                    // Third check: a SYN.
                    self.take_syn(&seg);
                    self.transition(now, Input::Syn { ack: false });
                }
            }
            // §3.10.7.3: SYN-SENT.
            SynSent => self.segment_in_syn_sent(now, &seg),
            _ => {
                if seg.dst_port != self.local_port || seg.src_port != self.remote_port {
                    self.reply_reset(&seg);
                    return;
                }
                self.segment_in_synchronized(now, &mut seg);
            }
        }
    }

    fn segment_in_syn_sent(&mut self, now: Instant, seg: &Segment) {
        if seg.dst_port != self.local_port || seg.src_port != self.remote_port {
            self.reply_reset(seg);
            return;
        }
        // First check the ACK bit: SEG.ACK =< ISS or SEG.ACK > SND.NXT is bad.
        let ack_ok = seg.has_ack() && seg.ack > self.iss && seg.ack <= self.snd_nxt;
        if seg.has_ack() && !ack_ok {
            if !seg.rst() {
                self.reply_reset(seg);
            }
            return;
        }
        // Second check the RST bit: acceptable only with an acceptable ACK.
        if seg.rst() {
            if ack_ok {
                self.transition(now, Input::Rst);
            }
            return;
        }
        // Fourth check the SYN bit.
        if !seg.syn() {
            return;
        }
        self.take_syn(seg);
        if ack_ok {
            self.snd_una = seg.ack;
            self.rtx_count = 0;
            self.rtx_at = None;
            if let Some((end, sent)) = self.timed.take() {
                if seg.ack >= end {
                    self.rtt.sample(now - sent);
                }
            }
            self.advertise();
        }
        self.transition(now, Input::Syn { ack: ack_ok });
    }

    /// RFC 9293 §3.10.7.4 "Otherwise" (SYN-RECEIVED and every later state).
    fn segment_in_synchronized(&mut self, now: Instant, seg: &mut Segment) {
        // A retransmitted SYN (seq = IRS): drop the SYN, which lies before
        // RCV.NXT, and process the rest (RFC 9293 §3.10.7.4: only the new
        // parts of a segment straddling RCV.NXT are processed). In simultaneous
        // open this is the peer's SYN,ACK; otherwise our SYN,ACK or ACK was lost.
        if seg.syn() && seg.seq == self.irs {
            seg.flags.0 &= !TcpFlags::SYN;
            seg.seq += 1;
            if !(self.state == SynReceived && seg.has_ack()) {
                self.ack_now = true;
            }
        }

        // First check the sequence number: the acceptability test.
        let rcv_wnd = self.rcv_adv - self.rcv_nxt;
        let seg_len = seg.seg_len();
        let in_wnd = |s: SeqNumber| s >= self.rcv_nxt && s < self.rcv_nxt + rcv_wnd;
        let acceptable = match (seg_len, rcv_wnd) {
            (0, 0) => seg.seq == self.rcv_nxt,
            (0, _) => in_wnd(seg.seq),
            (_, 0) => false,
            (n, _) => in_wnd(seg.seq) || in_wnd(seg.seq + (n - 1)),
        };
        // "If the RCV.WND is zero, no segments will be acceptable, but special
        // allowance should be made to accept valid ACKs, URGs, and RSTs."
        let zero_window_allowance = !acceptable && rcv_wnd == 0 && seg.seq == self.rcv_nxt;
        if !acceptable && !zero_window_allowance {
            // Answer at most one unacceptable empty segment per 500 ms (as
            // Linux's tcp_invalid_ratelimit): two endpoints that each find the
            // other's ACKs unacceptable must not ACK each other forever.
            let limited = seg_len == 0
                && self
                    .last_invalid_reply
                    .is_some_and(|t| now < t + Duration::from_millis(500));
            if !seg.rst() && !limited {
                if seg_len == 0 {
                    self.last_invalid_reply = Some(now);
                }
                // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
                self.ack_now = true;
                if self.state == TimeWait && seg.fin() {
                    // A retransmitted FIN restarts the 2 MSL timeout.
                    self.timewait_at = Some(now + self.cfg.msl * 2);
                }
            }
            return;
        }
        if zero_window_allowance {
            seg.payload = Payload::Empty;
            seg.flags.0 &= !TcpFlags::FIN;
            if !seg.rst() {
                self.ack_now = true;
            }
        }
        // Trim to the window: "only the new parts" (front) and what fits (back).
        if seg.seq < self.rcv_nxt {
            let old = self.rcv_nxt - seg.seq;
            seg.payload.trim_front(old);
            seg.seq = self.rcv_nxt;
            self.ack_now = true;
        }
        let room = (self.rcv_nxt + rcv_wnd) - seg.seq;
        if seg.payload.len() > room {
            seg.payload.truncate(room);
            seg.flags.0 &= !TcpFlags::FIN;
            self.ack_now = true;
        } else if seg.fin()
            && seg.payload.len() == room
            && rcv_wnd > 0
            && seg.seq + room != self.rcv_nxt
        {
            // The FIN lies just past the window (it still counts as one sequence number).
        }

        // Second check the RST bit (RFC 5961 §3.2 when challenge ACKs are on).
        if seg.rst() {
            if seg.seq == self.rcv_nxt || !self.cfg.challenge_ack {
                self.transition(now, Input::Rst);
            } else {
                self.ack_now = true;
            }
            return;
        }
        // Fourth check the SYN bit.
        if seg.syn() {
            self.transition(now, Input::BadSyn);
            return;
        }
        // Timestamps: remember the peer's TSval (RFC 7323 §4.3).
        if let (true, Some((tsval, _))) = (self.ts_ok, seg.options.timestamps) {
            if seg.seq <= self.rcv_nxt {
                self.ts_recent = tsval;
            }
        }
        // Fifth check the ACK field.
        if !seg.has_ack() {
            return;
        }
        if self.state == SynReceived && !(seg.ack > self.snd_una && seg.ack <= self.snd_max) {
            // <SEQ=SEG.ACK><CTL=RST>
            self.reply_reset(seg);
            return;
        }
        if seg.ack > self.snd_max {
            // Acks something not yet sent: ACK, drop.
            self.ack_now = true;
            return;
        }
        self.process_ack(now, seg);

        // Seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2
        // (and SYN-RECEIVED, which the ACK just moved to ESTABLISHED).
        let text_ok = matches!(self.state, SynReceived | Established | FinWait1 | FinWait2);
        if text_ok && !seg.payload.is_empty() {
            self.receive_text(now, seg);
        }
        // Eighth: the FIN bit.
        let mut fin = false;
        if text_ok && seg.fin() && self.peer_fin.is_none() {
            self.peer_fin = Some(seg.seq + seg.payload.len());
        }
        if let Some(f) = self.peer_fin {
            if !self.peer_fin_done && f == self.rcv_nxt {
                self.rcv_nxt += 1;
                self.peer_fin_done = true;
                self.ack_now = true;
                self.events.push_back(Event::PeerClosed);
                fin = true;
            }
        }
        let fin_acked = self.fin_queued && self.snd_una == self.fin_seq() + 1;
        self.transition(now, Input::Ack { fin, fin_acked });
    }

    /// Sequence number of our FIN (meaningful once `fin_queued`).
    fn fin_seq(&self) -> SeqNumber {
        self.data_seq(self.sendbuf.end())
    }

    /// Sequence number of stream byte `off`.
    fn data_seq(&self, off: u64) -> SeqNumber {
        self.iss + 1 + (off as u32) as usize
    }

    /// Process SEG.ACK (RFC 9293 §3.10.7.4 fifth, RFC 5681, RFC 6582, RFC 6675).
    fn process_ack(&mut self, now: Instant, seg: &Segment) {
        let ack = seg.ack;
        let old_wnd = self.snd_wnd;
        let seg_wnd = (seg.window as u32) << self.snd_shift;
        if self.sack_ok {
            self.update_scoreboard(seg);
        }
        // Window update: SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK).
        if ack >= self.snd_una
            && (self.snd_wl1 < seg.seq || (self.snd_wl1 == seg.seq && self.snd_wl2 <= ack))
        {
            self.snd_wnd = seg_wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(seg_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
        }
        if self.snd_wnd > 0 {
            self.persist_at = None;
            self.persist_backoff = 0;
            if self.probing {
                self.probing = false;
                if ack < self.snd_nxt {
                    // The probe byte was not taken: send it again as data.
                    self.snd_nxt = self.snd_una.max(ack);
                }
            }
        }
        if ack > self.snd_una {
            let acked = ack - self.snd_una;
            // Sequence space held by SYN and FIN is not data.
            let mut data = acked;
            if self.snd_una == self.iss {
                data -= 1;
            }
            if self.fin_queued && ack == self.fin_seq() + 1 {
                data = data.saturating_sub(1);
            }
            self.sendbuf.ack(data);
            self.snd_una = ack;
            if self.snd_nxt < ack {
                self.snd_nxt = ack;
            }
            self.rtx_count = 0;
            // RTT sample: the echoed timestamp, else the timed segment (Karn).
            if let (true, Some((_, tsecr))) = (self.ts_ok, seg.options.timestamps) {
                let ms = (now.as_millis() as u32).wrapping_sub(tsecr);
                if tsecr != 0 && ms < 600_000 {
                    self.rtt.sample(Duration::from_millis(ms as u64));
                }
            } else if let Some((end, sent)) = self.timed {
                if ack >= end {
                    self.rtt.sample(now - sent);
                    self.timed = None;
                }
            }
            self.on_new_ack(data as u32, ack);
            // RFC 6298 §5.2-5.3: stop or restart the timer.
            self.rtx_at = if self.snd_una == self.snd_max {
                None
            } else {
                Some(now + self.rtt.rto())
            };
            if self.sendbuf.free() > 0 {
                // Writable again: no event needed; the application polls capacity.
            }
        } else if ack == self.snd_una
            && seg.payload.is_empty()
            && !seg.syn()
            && !seg.fin()
            && seg_wnd == old_wnd
            && self.snd_max > self.snd_una
            && !self.probing
            && self.snd_wnd > 0
        {
            // RFC 5681 §2: a duplicate acknowledgment.
            self.stats.dup_acks_received += 1;
            self.dupacks += 1;
            self.on_dup_ack();
        }
    }

    fn on_new_ack(&mut self, acked: u32, ack: SeqNumber) {
        let smss = self.send_mss;
        if let Some(recover) = self.recover {
            if ack >= recover {
                // RFC 6582 §3.2 step 3: full acknowledgment, leave recovery.
                let flight = (self.snd_max - self.snd_una) as u32;
                self.cwnd = self.ssthresh.min(flight.max(smss) + smss);
                self.recover = None;
                self.dupacks = 0;
                self.ca_acked = 0;
            } else if !self.sack_ok {
                // RFC 6582 §3.2 step 4: partial acknowledgment: retransmit the
                // first unacknowledged segment, deflate by the amount acked.
                self.rtx_seq = Some(self.snd_una);
                self.cwnd = self.cwnd.saturating_sub(acked);
                if acked >= smss {
                    self.cwnd += smss;
                }
                self.cwnd = self.cwnd.max(smss);
            }
            // With SACK the scoreboard picks the next hole (RFC 6675 §5).
            return;
        }
        self.dupacks = 0;
        if self.cwnd < self.ssthresh {
            // RFC 5681 §3.1 slow start (RFC 3465 byte counting, L = 1 SMSS).
            self.cwnd = self.cwnd.saturating_add(acked.min(smss));
        } else {
            // RFC 5681 §3.1 congestion avoidance: one SMSS per cwnd acked.
            self.ca_acked = self.ca_acked.saturating_add(acked);
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(smss);
            }
        }
    }

    fn on_dup_ack(&mut self) {
        let smss = self.send_mss;
        if self.recover.is_some() {
            if !self.sack_ok {
                // RFC 5681 §3.2 step 4: inflate by one segment per dupACK.
                self.cwnd = self.cwnd.saturating_add(smss);
            }
            return;
        }
        // RFC 6675 §5 IsLost(SND.UNA): DupThresh dupACKs or more than
        // (DupThresh - 1) * SMSS bytes SACKed above it.
        let thresh = self.cfg.dup_threshold.max(1);
        let lost = self.dupacks >= thresh
            || (self.sack_ok && self.sacked_bytes() > (thresh - 1) as usize * smss as usize);
        // RFC 6582 §3.2 step 1: only when the ACK covers more than `recover`.
        if lost && self.snd_una >= self.recover_mark {
            let flight = (self.snd_max - self.snd_una) as u32;
            // RFC 5681 §3.2 step 2, eq. 4.
            self.ssthresh = (flight / 2).max(2 * smss);
            self.recover = Some(self.snd_max);
            self.recover_mark = self.snd_max;
            self.high_rxt = self.snd_una;
            // Step 3: fast retransmit; cwnd = ssthresh + 3*SMSS (NewReno) or
            // ssthresh with the pipe estimate of RFC 6675.
            self.rtx_seq = Some(self.snd_una);
            self.cwnd = if self.sack_ok {
                self.ssthresh
            } else {
                self.ssthresh + thresh * smss
            };
            self.stats.fast_retransmits += 1;
        }
    }

    fn update_scoreboard(&mut self, seg: &Segment) {
        for &(l, r) in seg.sack_blocks() {
            let l = l.max(self.snd_una);
            if !(l < r && r <= self.snd_max) {
                continue;
            }
            let sb = &mut self.scoreboard;
            let i = sb.partition_point(|&(_, e)| e < l);
            let mut j = i;
            let (mut nl, mut nr) = (l, r);
            while j < sb.len() && sb[j].0 <= nr {
                nl = nl.min(sb[j].0);
                nr = nr.max(sb[j].1);
                j += 1;
            }
            if i == j && sb.len() >= 64 {
                continue;
            }
            sb.splice(i..j, [(nl, nr)]);
        }
        let una = self.snd_una.max(seg.ack);
        while let Some(&(l, r)) = self.scoreboard.first() {
            if r <= una {
                self.scoreboard.remove(0);
            } else {
                if l < una {
                    self.scoreboard[0].0 = una;
                }
                break;
            }
        }
    }

    fn sacked_bytes(&self) -> usize {
        self.scoreboard.iter().map(|&(l, r)| r - l).sum()
    }

    /// RFC 6675 §4 "pipe", simplified: bytes above the highest SACKed byte are
    /// in flight, holes below it are lost unless retransmitted in this recovery.
    fn pipe(&self) -> u32 {
        let Some(&(_, high_sacked)) = self.scoreboard.last() else {
            return (self.snd_nxt - self.snd_una) as u32;
        };
        let mut pipe = self.snd_nxt - high_sacked.max(self.snd_una);
        let limit = self.high_rxt.min(high_sacked);
        let mut start = self.snd_una;
        for &(l, r) in &self.scoreboard {
            if start >= limit {
                break;
            }
            pipe += l.min(limit) - start;
            start = r;
        }
        pipe as u32
    }

    /// RFC 6675 §4 NextSeg (rule 1): the first unSACKed, not yet retransmitted
    /// hole below the highest SACKed byte.
    fn next_seg(&self) -> Option<(SeqNumber, usize)> {
        let mut start = self.snd_una;
        for &(l, r) in &self.scoreboard {
            let s = start.max(self.high_rxt);
            if s < l {
                return Some((s, (l - s).min(self.send_mss as usize)));
            }
            start = r;
        }
        None
    }

    /// Store segment text (RFC 9293 §3.10.7.4 seventh) and schedule the ACK.
    fn receive_text(&mut self, now: Instant, seg: &Segment) {
        let rel = seg.seq - self.rcv_nxt;
        let off = self.recvbuf.next_offset() + rel as u64;
        let len = seg.payload.len();
        let had_holes = !self.recvbuf.ooo_ranges().is_empty();
        let adv = self.recvbuf.insert(off, &seg.payload);
        if adv > 0 {
            self.rcv_nxt += adv;
            if self.recv_closed {
                let n = self.recvbuf.readable();
                self.recvbuf.consume(n);
            } else if self.events.back() != Some(&Event::Readable) {
                self.events.push_back(Event::Readable);
            }
        } else {
            self.last_ooo = Some(off);
        }
        if rel > 0 || had_holes {
            // RFC 5681 §4.2: out-of-order data and data filling a hole are
            // acknowledged at once.
            self.ack_now = true;
            return;
        }
        // RFC 1122 §4.2.3.2: ACK at least every second full-sized segment,
        // otherwise within the delayed-ACK timeout.
        self.delack_bytes += len;
        match self.cfg.delayed_ack {
            Some(d) if self.delack_bytes < 2 * self.rcv_mss as usize => {
                if self.delack_at.is_none() {
                    self.delack_at = Some(now + d);
                }
            }
            _ => self.ack_now = true,
        }
    }

    // ----- output ----------------------------------------------------------

    fn sws_threshold(&self) -> usize {
        if self.cfg.receiver_sws {
            (self.recvbuf.capacity() / 2)
                .min(self.rcv_mss as usize)
                .max(1)
        } else {
            1
        }
    }

    /// The right edge the next segment may advertise: free space, held back
    /// by receiver SWS avoidance (RFC 9293 §3.8.6.2.2), never shrinking
    /// (RFC 9293 §3.8.6.2.1: "the window should not be shrunk").
    fn window_right_edge(&self) -> SeqNumber {
        let free = self.recvbuf.free();
        let max = 65535usize << self.rcv_shift;
        let right = self.rcv_nxt + free.min(max);
        if right <= self.rcv_adv {
            return self.rcv_adv;
        }
        if self.cfg.receiver_sws
            && right - self.rcv_adv < self.sws_threshold()
            && self.rcv_adv > self.rcv_nxt
        {
            return self.rcv_adv;
        }
        if self.cfg.receiver_sws && self.rcv_adv <= self.rcv_nxt && free < self.sws_threshold() {
            return self.rcv_adv.max(self.rcv_nxt);
        }
        right
    }

    /// The window field for the next segment; records the advertised edge.
    fn advertise(&mut self) -> u16 {
        let right = self.window_right_edge();
        let wnd = (right - self.rcv_nxt) >> self.rcv_shift;
        let field = wnd.min(65535) as u16;
        // RFC 7323 §2.3: the field is the window shifted right, so a window
        // that is not a multiple of 2^shift is advertised rounded down. The
        // edge this endpoint accepts up to stays the unrounded one: rounding
        // must never pull back an edge advertised before (RFC 9293
        // §3.8.6.2.1), or data the peer sent inside it would be trimmed.
        self.rcv_adv = if wnd > 65535 {
            self.rcv_nxt + ((field as usize) << self.rcv_shift)
        } else {
            right
        };
        field
    }

    fn options_for(&self, now: Instant) -> TcpOptionsSummary {
        let mut o = TcpOptionsSummary::default();
        if self.ts_ok {
            o.timestamps = Some((now.as_millis() as u32, self.ts_recent));
        }
        if self.sack_ok && !self.recv_closed {
            let ranges = self.recvbuf.ooo_ranges();
            let max = if self.ts_ok { 3 } else { 4 };
            let base = self.recvbuf.next_offset();
            let to_seq = |x: u64| self.rcv_nxt + (x - base) as usize;
            let mut n = 0;
            // RFC 2018 §4: the first block holds the most recent arrival.
            let first = self
                .last_ooo
                .and_then(|off| ranges.iter().position(|&(s, e)| s <= off && off < e));
            if let Some(i) = first {
                o.sack[0] = (to_seq(ranges[i].0), to_seq(ranges[i].1));
                n = 1;
            }
            for (i, &(s, e)) in ranges.iter().enumerate() {
                if n >= max {
                    break;
                }
                if Some(i) != first {
                    o.sack[n] = (to_seq(s), to_seq(e));
                    n += 1;
                }
            }
            o.sack_count = n as u8;
        }
        o
    }

    fn ack_sent(&mut self) {
        self.ack_now = false;
        self.delack_at = None;
        self.delack_bytes = 0;
    }

    fn count_sent(&mut self, seg: &Segment) {
        self.stats.segments_sent += 1;
        self.stats.bytes_sent += seg.payload.len() as u64;
    }

    /// SYN (SYN-SENT) or SYN,ACK (otherwise) with our options.
    fn build_syn(&mut self, now: Instant) -> Segment {
        let with_ack = self.state != SynSent;
        let flags = if with_ack {
            TcpFlags::SYN | TcpFlags::ACK
        } else {
            TcpFlags::SYN
        };
        let ack = if with_ack { self.rcv_nxt } else { SeqNumber(0) };
        let mut seg = Segment::new(self.local_port, self.remote_port, self.iss, ack, flags);
        let o = &mut seg.options;
        o.mss = Some(self.cfg.mss);
        if with_ack {
            o.wscale = if self.ws_ok {
                Some(self.rcv_shift)
            } else {
                None
            };
            o.sack_perm = self.sack_ok;
            o.timestamps = self
                .ts_ok
                .then_some((now.as_millis() as u32, self.ts_recent));
        } else {
            o.wscale = self.cfg.window_scale;
            o.sack_perm = self.cfg.sack;
            o.timestamps = self.cfg.timestamps.then_some((now.as_millis() as u32, 0));
        }
        // RFC 7323 §2.2: the window in a SYN is not scaled.
        let free = self.recvbuf.free().min(65535);
        seg.window = free as u16;
        if with_ack {
            self.rcv_adv = self.rcv_adv.max(self.rcv_nxt + free);
            self.ack_sent();
        }
        if self.snd_nxt == self.iss {
            self.snd_nxt = self.iss + 1;
        }
        if self.snd_max < self.iss + 1 {
            self.snd_max = self.iss + 1;
        }
        if self.rtx_count > 0 {
            self.stats.retransmitted_segments += 1;
            self.timed = None;
        } else if self.timed.is_none() {
            self.timed = Some((self.iss + 1, now));
        }
        if self.rtx_at.is_none() {
            self.rtx_at = Some(now + self.rtt.rto());
        }
        self.syn_pending = false;
        self.count_sent(&seg);
        seg
    }

    /// A segment starting at `seq` with up to `max_len` bytes of data (and our
    /// FIN if it ends at the end of the stream).
    fn build_data(&mut self, now: Instant, seq: SeqNumber, max_len: usize) -> Segment {
        let data_una = self.data_seq(self.sendbuf.start());
        let rel = seq - data_una;
        let payload = self.sendbuf.payload(rel, max_len);
        let end = seq + payload.len();
        let data_end = self.data_seq(self.sendbuf.end());
        let fin = self.fin_queued
            && end == data_end
            && matches!(self.state, FinWait1 | Closing | LastAck);
        let mut flags = TcpFlags::ACK;
        if !payload.is_empty() && end == data_end {
            flags |= TcpFlags::PSH;
        }
        if fin {
            flags |= TcpFlags::FIN;
        }
        let mut seg = Segment::new(self.local_port, self.remote_port, seq, self.rcv_nxt, flags);
        seg.options = self.options_for(now);
        seg.window = self.advertise();
        seg.payload = payload;
        let seg_end = end + fin as usize;
        if seq < self.snd_max {
            // A retransmission: never time it (Karn's rule).
            self.stats.retransmitted_segments += 1;
            if self.timed.is_some_and(|(e, _)| e > seq) {
                self.timed = None;
            }
        } else if self.timed.is_none() && seg_end > seq {
            self.timed = Some((seg_end, now));
        }
        if seg_end > self.snd_max {
            self.snd_max = seg_end;
        }
        if seg_end > seq && self.rtx_at.is_none() {
            // RFC 6298 §5.1.
            self.rtx_at = Some(now + self.rtt.rto());
        }
        self.ack_sent();
        self.count_sent(&seg);
        seg
    }

    fn build_ack(&mut self, now: Instant) -> Segment {
        let mut seg = Segment::new(
            self.local_port,
            self.remote_port,
            self.snd_max,
            self.rcv_nxt,
            TcpFlags::ACK,
        );
        seg.options = self.options_for(now);
        seg.window = self.advertise();
        self.ack_sent();
        self.count_sent(&seg);
        seg
    }

    /// The next segment to send at `now`, if any. Call until `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Segment> {
        if let Some(r) = self.replies.pop_front() {
            self.count_sent(&r);
            return Some(r);
        }
        match self.state {
            Closed | Listen => None,
            SynSent if self.syn_pending => Some(self.build_syn(now)),
            SynSent => None,
            SynReceived if self.syn_pending || self.ack_now => Some(self.build_syn(now)),
            SynReceived => None,
            _ if self.snd_una == self.iss && (self.syn_pending || self.ack_now) => {
                // Our SYN is still unacknowledged (CLOSE in SYN-RECEIVED).
                Some(self.build_syn(now))
            }
            _ => self.transmit_synchronized(now),
        }
    }

    fn transmit_synchronized(&mut self, now: Instant) -> Option<Segment> {
        let mss = self.send_mss as usize;
        // 1. A retransmission decided by fast retransmit or a partial ACK.
        if let Some(seq) = self.rtx_seq.take() {
            if seq >= self.snd_una && seq < self.snd_max {
                if self.sack_ok {
                    self.high_rxt = self.high_rxt.max(seq + mss.min(self.snd_max - seq));
                }
                return Some(self.build_data(now, seq, mss));
            }
        }
        // 2. SACK loss recovery: NextSeg while cwnd - pipe >= 1 SMSS (RFC 6675 §5 step 4).
        if self.sack_ok && self.recover.is_some() && self.cwnd >= self.pipe() + self.send_mss {
            if let Some((seq, len)) = self.next_seg() {
                self.high_rxt = seq + len;
                return Some(self.build_data(now, seq, len));
            }
        }
        // 3. New data and FIN.
        if let Some(seg) = self.transmit_new(now) {
            return Some(seg);
        }
        // 4. A zero-window probe or sender-SWS override (RFC 9293 §3.8.6.1).
        if self.probe_pending {
            self.probe_pending = false;
            let data_end = self.data_seq(self.sendbuf.end());
            if self.snd_wnd == 0 && self.snd_una < data_end {
                self.stats.zero_window_probes += 1;
                self.probing = true;
                self.snd_nxt = self.snd_una;
                let seg = self.build_data(now, self.snd_una, 1);
                self.snd_nxt = self.snd_una + 1;
                // The persist timer, not the retransmission timer, drives probes.
                if self.snd_max == self.snd_una + 1 {
                    self.rtx_at = None;
                }
                self.arm_persist(now);
                return Some(seg);
            }
            let avail = data_end - self.snd_nxt;
            let wnd = (self.snd_una + self.snd_wnd as usize) - self.snd_nxt;
            let len = avail.min(wnd).min(mss);
            if len > 0 {
                let seq = self.snd_nxt;
                let seg = self.build_data(now, seq, len);
                self.snd_nxt = seq + len + seg.fin() as usize;
                return Some(seg);
            }
        }
        // 5. A pure ACK (immediate, delayed-ACK expiry, window update, challenge).
        if self.ack_now {
            return Some(self.build_ack(now));
        }
        None
    }

    fn arm_persist(&mut self, now: Instant) {
        let backoff = self.rtt.rto() * (1u32 << self.persist_backoff.min(16));
        self.persist_at = Some(now + backoff.min(self.cfg.rto_max));
    }

    /// Send new data if the windows, Nagle and sender SWS avoidance allow it
    /// (RFC 9293 §3.7.4, RFC 1122 §4.2.3.4).
    fn transmit_new(&mut self, now: Instant) -> Option<Segment> {
        let mss = self.send_mss as usize;
        let data_end = self.data_seq(self.sendbuf.end());
        let fin_can_go = self.fin_queued && matches!(self.state, FinWait1 | Closing | LastAck);
        let fin_pending = fin_can_go && self.snd_nxt <= data_end;
        let avail = data_end - self.snd_nxt;
        if avail == 0 && !fin_pending {
            return None;
        }
        let wnd_limit = (self.snd_una + self.snd_wnd as usize) - self.snd_nxt;
        let flight = if self.sack_ok && self.recover.is_some() {
            self.pipe() as usize
        } else {
            self.snd_nxt - self.snd_una
        };
        let cwnd_limit = (self.cwnd as usize).saturating_sub(flight);
        let len = avail.min(wnd_limit).min(cwnd_limit).min(mss);
        let all_fits = len == avail;
        let send = if avail == 0 {
            // Only the FIN is left.
            cwnd_limit > 0 || flight == 0
        } else if len == 0 {
            false
        } else if len == mss {
            true
        } else if all_fits {
            // RFC 1122 §4.2.3.4: a short final segment goes when nothing is
            // outstanding or Nagle is off.
            !self.cfg.nagle || self.snd_nxt == self.snd_una
        } else {
            // Window-limited short segment: only if at least half the largest
            // window the peer offered (sender SWS avoidance).
            len >= (self.max_snd_wnd as usize / 2).max(1)
        };
        if !send {
            // Blocked by the peer's window with nothing outstanding: the
            // persist timer will probe (RFC 9293 §3.8.6.1).
            if self.snd_max == self.snd_una
                && self.persist_at.is_none()
                && self.rtx_at.is_none()
                && cwnd_limit > 0
            {
                self.arm_persist(now);
            }
            return None;
        }
        let seq = self.snd_nxt;
        let seg = self.build_data(now, seq, len);
        self.snd_nxt = seq + len + seg.fin() as usize;
        Some(seg)
    }
}
