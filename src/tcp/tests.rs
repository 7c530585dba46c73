//! State-machine tests in the segment-in / segments-out style: feed a segment
//! at an explicit time, expect these segments and this state. They walk every
//! arc of RFC 9293's state diagram (§3.3.2 Figure 5), RST in every state,
//! and the window, timer and recovery behaviour.

use super::*;
use crate::wire::{SeqNumber, TcpFlags};

const LOCAL: u16 = 4000;
const REMOTE: u16 = 5000;
const SYN: u16 = TcpFlags::SYN;
const ACK: u16 = TcpFlags::ACK;
const FIN: u16 = TcpFlags::FIN;
const RST: u16 = TcpFlags::RST;
const PSH: u16 = TcpFlags::PSH;
/// Our ISS and the peer's.
const ISS: u32 = 100;
const IRS: u32 = 300;

fn cfg() -> Config {
    Config {
        isn: ISS,
        delayed_ack: None,
        nagle: false,
        msl: Duration::from_secs(1),
        ..Config::default()
    }
}

/// (seq, ack, flags, payload length) of a segment.
type Out = (u32, u32, u16, usize);

struct H {
    ep: Endpoint,
    now: Instant,
}

fn seg(seq: u32, ack: u32, flags: u16, payload: &[u8]) -> Segment {
    let mut s = Segment::new(REMOTE, LOCAL, SeqNumber(seq), SeqNumber(ack), flags);
    s.window = 65535;
    if flags & SYN != 0 {
        s.options.mss = Some(1460);
    }
    if !payload.is_empty() {
        s.payload = Payload::Bytes(payload.to_vec());
    }
    s
}

impl H {
    fn new(c: Config) -> H {
        H {
            ep: Endpoint::new(c),
            now: Instant::ZERO,
        }
    }
    /// send!: one segment into the endpoint at the current time.
    fn send(&mut self, s: Segment) {
        self.ep.handle_segment(self.now, s);
    }
    fn send_seg(&mut self, seq: u32, ack: u32, flags: u16, payload: &[u8]) {
        self.send(seg(seq, ack, flags, payload));
    }
    /// recv!: everything the endpoint sends now.
    fn out_full(&mut self) -> Vec<Segment> {
        let mut v = Vec::new();
        while let Some(s) = self.ep.poll_transmit(self.now) {
            v.push(s);
            assert!(v.len() < 1000, "endpoint keeps transmitting");
        }
        v
    }
    fn out(&mut self) -> Vec<Out> {
        self.out_full()
            .iter()
            .map(|s| (s.seq.0, s.ack.0, s.flags.0, s.payload.len()))
            .collect()
    }
    fn at_ms(&mut self, ms: u64) {
        self.now = Instant::from_millis(ms);
    }
    /// Advance to the next timer and fire it.
    fn fire(&mut self) -> Instant {
        let t = self.ep.poll_timeout().expect("a timer is armed");
        assert!(t >= self.now);
        self.now = t;
        self.ep.handle_timeout(t);
        t
    }
    fn state(&self) -> TcpState {
        self.ep.state()
    }
    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    /// LISTEN, then SYN in and SYN,ACK out.
    fn syn_received(c: Config) -> H {
        let mut h = H::new(c);
        h.ep.listen(LOCAL).unwrap();
        h.send_seg(IRS, 0, SYN, b"");
        assert_eq!(h.out(), vec![(ISS, IRS + 1, SYN | ACK, 0)]);
        h
    }
    fn server(c: Config) -> H {
        let mut h = H::syn_received(c);
        h.send_seg(IRS + 1, ISS + 1, ACK, b"");
        assert_eq!(h.out(), vec![]);
        assert_eq!(h.state(), TcpState::Established);
        h.events();
        h
    }
    fn syn_sent(c: Config) -> H {
        let mut h = H::new(c);
        h.ep.connect(h.now, LOCAL, REMOTE).unwrap();
        assert_eq!(h.out(), vec![(ISS, 0, SYN, 0)]);
        assert_eq!(h.state(), TcpState::SynSent);
        h
    }
    fn client(c: Config) -> H {
        let mut h = H::syn_sent(c);
        h.send_seg(IRS, ISS + 1, SYN | ACK, b"");
        assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
        assert_eq!(h.state(), TcpState::Established);
        h.events();
        h
    }
    /// ESTABLISHED -> close -> FIN-WAIT-1 with the FIN sent.
    fn fin_wait_1() -> H {
        let mut h = H::server(cfg());
        h.ep.close().unwrap();
        assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, FIN | ACK, 0)]);
        assert_eq!(h.state(), TcpState::FinWait1);
        h
    }
    fn fin_wait_2() -> H {
        let mut h = H::fin_wait_1();
        h.send_seg(IRS + 1, ISS + 2, ACK, b"");
        assert_eq!(h.out(), vec![]);
        assert_eq!(h.state(), TcpState::FinWait2);
        h
    }
    fn close_wait() -> H {
        let mut h = H::server(cfg());
        h.send_seg(IRS + 1, ISS + 1, FIN | ACK, b"");
        assert_eq!(h.out(), vec![(ISS + 1, IRS + 2, ACK, 0)]);
        assert_eq!(h.state(), TcpState::CloseWait);
        h
    }
    fn last_ack() -> H {
        let mut h = H::close_wait();
        h.ep.close().unwrap();
        assert_eq!(h.out(), vec![(ISS + 1, IRS + 2, FIN | ACK, 0)]);
        assert_eq!(h.state(), TcpState::LastAck);
        h
    }
    fn closing() -> H {
        let mut h = H::fin_wait_1();
        h.send_seg(IRS + 1, ISS + 1, FIN | ACK, b"");
        assert_eq!(h.out(), vec![(ISS + 2, IRS + 2, ACK, 0)]);
        assert_eq!(h.state(), TcpState::Closing);
        h
    }
    fn time_wait() -> H {
        let mut h = H::fin_wait_2();
        h.send_seg(IRS + 1, ISS + 2, FIN | ACK, b"");
        assert_eq!(h.out(), vec![(ISS + 2, IRS + 2, ACK, 0)]);
        assert_eq!(h.state(), TcpState::TimeWait);
        h
    }
}

// ----- CLOSED ---------------------------------------------------------------

#[test]
fn closed_answers_everything_but_rst_with_rst() {
    let mut h = H::new(cfg());
    // RFC 9293 §3.10.7.1: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    h.send_seg(IRS, 0, SYN, b"");
    let out = h.out_full();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq.0, out[0].ack.0, out[0].flags.0),
        (0, IRS + 1, RST | ACK)
    );
    assert_eq!((out[0].src_port, out[0].dst_port), (LOCAL, REMOTE));
    // With ACK -> <SEQ=SEG.ACK><CTL=RST>.
    h.send_seg(IRS, 777, ACK, b"abc");
    assert_eq!(h.out(), vec![(777, 0, RST, 0)]);
    // A RST gets nothing.
    h.send_seg(IRS, 777, RST, b"");
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.state(), TcpState::Closed);
}

// ----- LISTEN ---------------------------------------------------------------

#[test]
fn closed_to_listen_and_close_back() {
    let mut h = H::new(cfg());
    h.ep.listen(LOCAL).unwrap();
    assert_eq!(h.state(), TcpState::Listen);
    assert_eq!(
        h.ep.listen(LOCAL),
        Err(AppError::InvalidState(TcpState::Listen))
    );
    h.ep.close().unwrap();
    assert_eq!(h.state(), TcpState::Closed);
    assert_eq!(h.out(), vec![]);
}

#[test]
fn listen_ignores_rst_and_resets_ack() {
    let mut h = H::new(cfg());
    h.ep.listen(LOCAL).unwrap();
    h.send_seg(IRS, 0, RST, b"");
    assert_eq!(h.out(), vec![]);
    h.send_seg(IRS, 4242, ACK, b"");
    assert_eq!(h.out(), vec![(4242, 0, RST, 0)]);
    // A segment without SYN, ACK or RST is dropped.
    h.send_seg(IRS, 0, 0, b"x");
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.state(), TcpState::Listen);
}

#[test]
fn listen_to_syn_received_to_established() {
    let mut h = H::syn_received(cfg());
    assert_eq!(h.state(), TcpState::SynReceived);
    h.send_seg(IRS + 1, ISS + 1, ACK, b"");
    assert_eq!(h.state(), TcpState::Established);
    let ev = h.events();
    assert!(ev.contains(&Event::Connected));
    assert!(ev.contains(&Event::StateChanged {
        from: TcpState::Listen,
        to: TcpState::SynReceived
    }));
}

#[test]
fn listen_to_syn_sent_on_send() {
    // RFC 793's LISTEN --SEND--> SYN-SENT arc: an active open from LISTEN.
    let mut h = H::new(cfg());
    h.ep.listen(LOCAL).unwrap();
    h.ep.connect(h.now, LOCAL, REMOTE).unwrap();
    assert_eq!(h.state(), TcpState::SynSent);
    assert_eq!(h.out(), vec![(ISS, 0, SYN, 0)]);
}

#[test]
fn syn_received_retransmits_syn_ack_on_timeout_and_duplicate_syn() {
    let mut h = H::syn_received(cfg());
    let t = h.fire();
    assert_eq!(t, Instant::from_millis(1000));
    assert_eq!(h.out(), vec![(ISS, IRS + 1, SYN | ACK, 0)]);
    // The duplicate SYN is answered with SYN,ACK too.
    h.send_seg(IRS, 0, SYN, b"");
    assert_eq!(h.out(), vec![(ISS, IRS + 1, SYN | ACK, 0)]);
    // Backoff doubles the RTO.
    let t2 = h.fire();
    assert_eq!(t2, Instant::from_millis(3000));
}

#[test]
fn syn_received_bad_ack_gets_rst() {
    let mut h = H::syn_received(cfg());
    h.send_seg(IRS + 1, ISS + 50, ACK, b"");
    assert_eq!(h.out(), vec![(ISS + 50, 0, RST, 0)]);
    assert_eq!(h.state(), TcpState::SynReceived);
}

#[test]
fn syn_received_rst_returns_to_listen() {
    let mut h = H::syn_received(cfg());
    h.send_seg(IRS + 1, 0, RST, b"");
    assert_eq!(h.state(), TcpState::Listen);
    assert_eq!(h.out(), vec![]);
    // And a new SYN is accepted.
    h.send_seg(IRS + 1000, 0, SYN, b"");
    assert_eq!(h.out(), vec![(ISS, IRS + 1001, SYN | ACK, 0)]);
}

#[test]
fn syn_received_close_sends_fin_then_fin_wait() {
    let mut h = H::syn_received(cfg());
    h.ep.close().unwrap();
    assert_eq!(h.state(), TcpState::FinWait1);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, FIN | ACK, 0)]);
    h.send_seg(IRS + 1, ISS + 2, ACK, b"");
    assert_eq!(h.state(), TcpState::FinWait2);
}

#[test]
fn syn_received_ack_with_fin_goes_to_close_wait() {
    let mut h = H::syn_received(cfg());
    h.send_seg(IRS + 1, ISS + 1, ACK | FIN, b"hi");
    assert_eq!(h.state(), TcpState::CloseWait);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 4, ACK, 0)]);
    let mut buf = [0u8; 8];
    assert_eq!(h.ep.recv(&mut buf), 2);
    assert_eq!(&buf[..2], b"hi");
    assert!(h.ep.is_eof());
}

#[test]
fn syn_received_in_window_syn_challenge_or_reset() {
    // RFC 5961 §4: challenge ACK...
    let mut h = H::syn_received(cfg());
    h.send_seg(IRS + 5, 0, SYN, b"");
    assert_eq!(h.out(), vec![(ISS, IRS + 1, SYN | ACK, 0)]);
    assert_eq!(h.state(), TcpState::SynReceived);
    // ...or, without it, back to LISTEN for a passive open.
    let mut h = H::syn_received(Config {
        challenge_ack: false,
        ..cfg()
    });
    h.send_seg(IRS + 5, 0, SYN, b"");
    assert_eq!(h.state(), TcpState::Listen);
}

// ----- SYN-SENT -------------------------------------------------------------

#[test]
fn syn_sent_to_established() {
    let mut h = H::client(cfg());
    assert_eq!(h.ep.snd_una(), SeqNumber(ISS + 1));
    assert_eq!(h.ep.rcv_nxt(), SeqNumber(IRS + 1));
    assert_eq!(h.ep.poll_timeout(), None);
    // Data flows.
    assert_eq!(h.ep.send(b"hello").unwrap(), 5);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK | PSH, 5)]);
}

#[test]
fn syn_sent_close_goes_to_closed() {
    let mut h = H::syn_sent(cfg());
    h.ep.close().unwrap();
    assert_eq!(h.state(), TcpState::Closed);
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.ep.poll_timeout(), None);
}

#[test]
fn syn_sent_bad_ack_gets_rst_and_rst_rules() {
    let mut h = H::syn_sent(cfg());
    // SEG.ACK =< ISS: RST <SEQ=SEG.ACK>.
    h.send_seg(IRS, ISS, SYN | ACK, b"");
    assert_eq!(h.out(), vec![(ISS, 0, RST, 0)]);
    assert_eq!(h.state(), TcpState::SynSent);
    // A RST without an ACK is dropped.
    h.send_seg(IRS, 0, RST, b"");
    assert_eq!(h.state(), TcpState::SynSent);
    // A RST with a bad ACK is dropped (and not answered).
    h.send_seg(IRS, ISS + 9, RST | ACK, b"");
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.state(), TcpState::SynSent);
    // A segment with neither SYN nor RST is dropped.
    h.send_seg(IRS, ISS + 1, ACK, b"");
    assert_eq!(h.state(), TcpState::SynSent);
    // An acceptable RST: connection refused.
    h.send_seg(0, ISS + 1, RST | ACK, b"");
    assert_eq!(h.state(), TcpState::Closed);
    assert!(h.events().contains(&Event::Reset));
    assert_eq!(h.ep.poll_timeout(), None);
}

#[test]
fn syn_retransmission_backs_off_then_gives_up() {
    let mut h = H::syn_sent(Config {
        max_retransmissions: 3,
        ..cfg()
    });
    let mut times = Vec::new();
    for _ in 0..3 {
        times.push(h.fire().as_millis());
        assert_eq!(h.out(), vec![(ISS, 0, SYN, 0)]);
    }
    assert_eq!(times, vec![1000, 3000, 7000]);
    h.fire();
    assert_eq!(h.state(), TcpState::Closed);
    assert!(h.events().contains(&Event::TimedOut));
    assert_eq!(h.out(), vec![]);
}

#[test]
fn simultaneous_open() {
    // RFC 9293 §3.5 Figure 7.
    let mut h = H::syn_sent(cfg());
    h.send_seg(IRS, 0, SYN, b"");
    assert_eq!(h.state(), TcpState::SynReceived);
    assert_eq!(h.out(), vec![(ISS, IRS + 1, SYN | ACK, 0)]);
    h.send_seg(IRS, ISS + 1, SYN | ACK, b"");
    assert_eq!(h.state(), TcpState::Established);
    assert_eq!(h.out(), vec![]);
}

#[test]
fn simultaneous_open_rst_closes_active_side() {
    let mut h = H::syn_sent(cfg());
    h.send_seg(IRS, 0, SYN, b"");
    h.out();
    h.send_seg(IRS + 1, 0, RST, b"");
    assert_eq!(h.state(), TcpState::Closed);
    assert!(h.events().contains(&Event::Reset));
}

#[test]
fn lost_final_ack_is_repaired_by_syn_ack_retransmission() {
    let mut h = H::client(cfg());
    h.send_seg(IRS, ISS + 1, SYN | ACK, b"");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    assert_eq!(h.state(), TcpState::Established);
}

// ----- ESTABLISHED ----------------------------------------------------------

#[test]
fn established_receives_and_acks_data() {
    let mut h = H::server(cfg());
    h.send_seg(IRS + 1, ISS + 1, ACK | PSH, b"abcd");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 5, ACK, 0)]);
    let mut buf = [0u8; 2];
    assert_eq!(h.ep.recv(&mut buf), 2);
    assert_eq!(&buf, b"ab");
    assert!(h.events().contains(&Event::Readable));
}

#[test]
fn unacceptable_segments_get_an_ack() {
    let mut h = H::server(Config {
        recv_buffer: 1000,
        ..cfg()
    });
    // Old duplicate.
    h.send_seg(IRS - 10, ISS + 1, ACK, b"old");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    // Beyond the window.
    h.send_seg(IRS + 5000, ISS + 1, ACK, b"far");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    // An ACK for data never sent: ACK and drop.
    h.send_seg(IRS + 1, ISS + 99, ACK, b"x");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    assert_eq!(h.ep.recv_queued(), 0);
    // Partly old data is trimmed: only the new byte is taken.
    h.send_seg(IRS + 1, ISS + 1, ACK, b"ab");
    h.send_seg(IRS + 2, ISS + 1, ACK, b"bc");
    let mut buf = [0u8; 8];
    h.out();
    assert_eq!(h.ep.recv(&mut buf), 3);
    assert_eq!(&buf[..3], b"abc");
    // No ACK bit: dropped.
    h.send_seg(IRS + 4, 0, 0, b"zz");
    assert_eq!(h.ep.recv_queued(), 0);
    assert_eq!(h.state(), TcpState::Established);
}

#[test]
fn rst_and_syn_in_window_get_challenge_acks() {
    let mut h = H::server(cfg());
    // RFC 5961 §3.2: in window but not exactly RCV.NXT.
    h.send_seg(IRS + 10, 0, RST, b"");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    assert_eq!(h.state(), TcpState::Established);
    // Out of window: silently dropped.
    h.send_seg(IRS + 1_000_000, 0, RST, b"");
    assert_eq!(h.out(), vec![]);
    // RFC 5961 §4: SYN.
    h.send_seg(IRS + 10, 0, SYN, b"");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    assert_eq!(h.state(), TcpState::Established);
}

#[test]
fn syn_in_window_without_challenge_ack_resets() {
    let mut h = H::server(Config {
        challenge_ack: false,
        ..cfg()
    });
    h.send_seg(IRS + 10, 0, SYN, b"");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, RST | ACK, 0)]);
    assert_eq!(h.state(), TcpState::Closed);
}

#[test]
fn abort_sends_rst() {
    let mut h = H::server(cfg());
    h.ep.abort();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, RST | ACK, 0)]);
    assert_eq!(h.state(), TcpState::Closed);
    // ABORT in SYN-SENT sends nothing.
    let mut h = H::syn_sent(cfg());
    h.ep.abort();
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.state(), TcpState::Closed);
}

/// RST with SEQ = RCV.NXT closes the connection in every synchronized state.
#[test]
fn rst_in_every_synchronized_state() {
    let cases: Vec<(H, u32, TcpState, Event)> = vec![
        (
            H::server(cfg()),
            IRS + 1,
            TcpState::Established,
            Event::Reset,
        ),
        (H::fin_wait_1(), IRS + 1, TcpState::FinWait1, Event::Reset),
        (H::fin_wait_2(), IRS + 1, TcpState::FinWait2, Event::Reset),
        (H::close_wait(), IRS + 2, TcpState::CloseWait, Event::Reset),
        (H::closing(), IRS + 2, TcpState::Closing, Event::Closed),
        (H::last_ack(), IRS + 2, TcpState::LastAck, Event::Closed),
        (H::time_wait(), IRS + 2, TcpState::TimeWait, Event::Closed),
    ];
    for (mut h, seq, state, ev) in cases {
        assert_eq!(h.state(), state);
        h.events();
        h.send_seg(seq, 0, RST, b"");
        assert_eq!(h.state(), TcpState::Closed, "RST in {state:?}");
        assert!(h.events().contains(&ev), "{state:?}");
        assert_eq!(h.out(), vec![], "{state:?}");
        assert_eq!(h.ep.poll_timeout(), None, "{state:?}");
    }
}

// ----- closing --------------------------------------------------------------

#[test]
fn active_close_through_fin_wait_2_and_time_wait() {
    let mut h = H::time_wait();
    assert_eq!(h.ep.poll_timeout(), Some(Instant::from_millis(2000)));
    // A retransmitted FIN is acknowledged and restarts 2*MSL.
    h.at_ms(500);
    h.send_seg(IRS + 1, ISS + 2, FIN | ACK, b"");
    assert_eq!(h.out(), vec![(ISS + 2, IRS + 2, ACK, 0)]);
    assert_eq!(h.ep.poll_timeout(), Some(Instant::from_millis(2500)));
    h.fire();
    assert_eq!(h.state(), TcpState::Closed);
    assert!(h.events().contains(&Event::Closed));
}

#[test]
fn fin_wait_1_fin_and_ack_together_go_to_time_wait() {
    let mut h = H::fin_wait_1();
    h.send_seg(IRS + 1, ISS + 2, FIN | ACK, b"");
    assert_eq!(h.out(), vec![(ISS + 2, IRS + 2, ACK, 0)]);
    assert_eq!(h.state(), TcpState::TimeWait);
}

#[test]
fn simultaneous_close_through_closing() {
    let mut h = H::closing();
    h.send_seg(IRS + 2, ISS + 2, ACK, b"");
    assert_eq!(h.state(), TcpState::TimeWait);
    assert_eq!(h.out(), vec![]);
}

#[test]
fn passive_close_through_close_wait_and_last_ack() {
    let mut h = H::last_ack();
    h.send_seg(IRS + 2, ISS + 2, ACK, b"");
    assert_eq!(h.state(), TcpState::Closed);
    assert!(h.events().contains(&Event::Closed));
    assert_eq!(h.ep.poll_timeout(), None);
}

#[test]
fn fin_is_retransmitted() {
    let mut h = H::last_ack();
    h.fire();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 2, FIN | ACK, 0)]);
    let mut h = H::fin_wait_1();
    h.fire();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, FIN | ACK, 0)]);
    assert_eq!(h.state(), TcpState::FinWait1);
}

#[test]
fn half_close_keeps_receiving() {
    let mut h = H::fin_wait_2();
    h.send_seg(IRS + 1, ISS + 2, ACK, b"more");
    assert_eq!(h.out(), vec![(ISS + 2, IRS + 5, ACK, 0)]);
    assert_eq!(
        h.ep.recv_queued(),
        0,
        "close() discards; use shutdown to keep reading"
    );
    // With shutdown, the data is kept for the application.
    let mut h = H::server(cfg());
    h.ep.shutdown().unwrap();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, FIN | ACK, 0)]);
    assert_eq!(h.ep.send(b"x"), Err(AppError::Closing));
    h.send_seg(IRS + 1, ISS + 2, ACK, b"data");
    assert_eq!(h.state(), TcpState::FinWait2);
    assert_eq!(h.out(), vec![(ISS + 2, IRS + 5, ACK, 0)]);
    let mut buf = [0u8; 8];
    assert_eq!(h.ep.recv(&mut buf), 4);
    assert_eq!(&buf[..4], b"data");
    h.send_seg(IRS + 5, ISS + 2, ACK | FIN, b"");
    assert_eq!(h.state(), TcpState::TimeWait);
    // The other direction: CLOSE-WAIT keeps sending.
    let mut h = H::close_wait();
    assert_eq!(h.ep.send(b"reply").unwrap(), 5);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 2, ACK | PSH, 5)]);
    h.ep.close().unwrap();
    assert_eq!(h.out(), vec![(ISS + 6, IRS + 2, FIN | ACK, 0)]);
    h.send_seg(IRS + 2, ISS + 7, ACK, b"");
    assert_eq!(h.state(), TcpState::Closed);
}

#[test]
fn fin_waits_for_queued_data() {
    let mut h = H::server(cfg());
    h.ep.send(b"abc").unwrap();
    h.ep.close().unwrap();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK | PSH | FIN, 3)]);
    // Only the data is acked: still FIN-WAIT-1.
    h.send_seg(IRS + 1, ISS + 4, ACK, b"");
    assert_eq!(h.state(), TcpState::FinWait1);
    h.send_seg(IRS + 1, ISS + 5, ACK, b"");
    assert_eq!(h.state(), TcpState::FinWait2);
}

#[test]
fn out_of_order_fin_waits_for_the_gap() {
    let mut h = H::server(cfg());
    h.send_seg(IRS + 3, ISS + 1, ACK | FIN, b"cd");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 0)]);
    assert_eq!(h.state(), TcpState::Established);
    h.send_seg(IRS + 1, ISS + 1, ACK, b"ab");
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 6, ACK, 0)]);
    assert_eq!(h.state(), TcpState::CloseWait);
}

#[test]
fn app_calls_in_wrong_states() {
    let mut h = H::new(cfg());
    assert_eq!(
        h.ep.send(b"x"),
        Err(AppError::InvalidState(TcpState::Closed))
    );
    assert!(h.ep.shutdown().is_err());
    let mut h = H::server(cfg());
    assert_eq!(
        h.ep.connect(h.now, 1, 2),
        Err(AppError::InvalidState(TcpState::Established))
    );
}

// ----- windows, timers, recovery -------------------------------------------

#[test]
fn mss_and_window_scale_are_negotiated() {
    let c = Config {
        window_scale: Some(7),
        mss: 1400,
        recv_buffer: 1 << 20,
        ..cfg()
    };
    let mut h = H::new(c);
    h.ep.connect(h.now, LOCAL, REMOTE).unwrap();
    let syn = h.out_full().remove(0);
    assert_eq!(syn.options.mss, Some(1400));
    assert_eq!(syn.options.wscale, Some(7));
    assert_eq!(syn.window, 65535);
    let mut sa = seg(IRS, ISS + 1, SYN | ACK, b"");
    sa.options.mss = Some(1000);
    sa.options.wscale = Some(2);
    sa.window = 1000;
    h.send(sa);
    let ack = h.out_full().remove(0);
    // 1 MiB free >> 7 = 8192.
    assert_eq!(ack.window, 8192);
    assert_eq!(h.ep.send_mss(), 1000);
    // The SYN,ACK's window is not scaled; later ones are shifted by 2.
    assert_eq!(h.ep.send_window(), 1000);
    h.send_seg(IRS + 1, ISS + 1, ACK, b"");
    assert_eq!(h.ep.send_window(), 65535 * 4);
    // Without the peer's option there is no scaling on either side.
    let mut h = H::new(Config {
        window_scale: Some(7),
        recv_buffer: 1 << 20,
        ..cfg()
    });
    h.ep.listen(LOCAL).unwrap();
    h.send_seg(IRS, 0, SYN, b"");
    let sa = h.out_full().remove(0);
    assert_eq!(sa.options.wscale, None);
    assert_eq!(h.ep.negotiated(), (false, false, false));
}

#[test]
fn zero_window_persist_probe_and_window_update() {
    // Our peer's window closes; we probe and resume when it opens.
    let mut h = H::server(cfg());
    h.ep.send(&[7u8; 3000]).unwrap();
    let out = h.out();
    assert_eq!(out.len(), 3, "{out:?}");
    // Everything acked but the window is now zero.
    let mut a = seg(IRS + 1, ISS + 3001, ACK, b"");
    a.window = 0;
    h.ep.send(&[8u8; 100]).unwrap();
    h.send(a);
    assert_eq!(h.out(), vec![]);
    // The handshake measured an RTT of 0: RTO = rto_min = 200 ms.
    let t = h.fire();
    assert_eq!(t, Instant::from_millis(200));
    assert_eq!(h.out(), vec![(ISS + 3001, IRS + 1, ACK, 1)]);
    assert_eq!(h.ep.stats().zero_window_probes, 1);
    // Still zero: the next probe backs off.
    let mut a = seg(IRS + 1, ISS + 3001, ACK, b"");
    a.window = 0;
    h.send(a);
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.fire(), Instant::from_millis(600));
    assert_eq!(h.out(), vec![(ISS + 3001, IRS + 1, ACK, 1)]);
    // The window opens: the rest goes, starting with the probe byte.
    let mut a = seg(IRS + 1, ISS + 3001, ACK, b"");
    a.window = 1000;
    h.send(a);
    assert_eq!(h.out(), vec![(ISS + 3001, IRS + 1, ACK | PSH, 100)]);
}

#[test]
fn receiver_advertises_free_space_and_sends_window_updates() {
    let c = Config {
        recv_buffer: 4096,
        mss: 1024,
        ..cfg()
    };
    let mut h = H::server(c);
    h.send_seg(IRS + 1, ISS + 1, ACK, &[1u8; 1024]);
    let a = h.out_full().remove(0);
    assert_eq!(a.window, 3072);
    for i in 1..4u32 {
        h.send_seg(IRS + 1 + i * 1024, ISS + 1, ACK, &[1u8; 1024]);
    }
    let acks = h.out_full();
    assert_eq!(acks.last().unwrap().window, 0);
    // A zero-window probe is answered with the same zero window.
    h.send_seg(IRS + 4097, ISS + 1, ACK, b"p");
    let out = h.out_full();
    assert_eq!((out[0].ack.0, out[0].window), (IRS + 4097, 0));
    // Reading less than min(buffer/2, MSS) sends no update (SWS avoidance)...
    let mut buf = [0u8; 2048];
    assert_eq!(h.ep.recv(&mut buf[..100]), 100);
    assert_eq!(h.out(), vec![]);
    // ...reading enough does.
    assert_eq!(h.ep.recv(&mut buf), 2048);
    let up = h.out_full();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].window, 2148);
}

#[test]
fn delayed_ack_every_second_segment_or_timeout() {
    let c = Config {
        delayed_ack: Some(Duration::from_millis(40)),
        mss: 1000,
        ..cfg()
    };
    let mut h = H::server(c);
    h.send_seg(IRS + 1, ISS + 1, ACK, &[0u8; 1000]);
    assert_eq!(h.out(), vec![]);
    h.send_seg(IRS + 1001, ISS + 1, ACK, &[0u8; 1000]);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 2001, ACK, 0)]);
    h.send_seg(IRS + 2001, ISS + 1, ACK, &[0u8; 10]);
    assert_eq!(h.out(), vec![]);
    assert_eq!(h.fire(), Instant::from_millis(40));
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 2011, ACK, 0)]);
    // Out-of-order data is acknowledged at once.
    h.send_seg(IRS + 3000, ISS + 1, ACK, &[0u8; 10]);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 2011, ACK, 0)]);
}

#[test]
fn nagle_holds_small_segments_while_data_is_unacked() {
    let mut h = H::server(Config {
        nagle: true,
        ..cfg()
    });
    h.ep.send(b"a").unwrap();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK | PSH, 1)]);
    h.ep.send(b"b").unwrap();
    h.ep.send(b"c").unwrap();
    assert_eq!(h.out(), vec![]);
    h.send_seg(IRS + 1, ISS + 2, ACK, b"");
    assert_eq!(h.out(), vec![(ISS + 2, IRS + 1, ACK | PSH, 2)]);
    // Without Nagle each write goes at once.
    let mut h = H::server(cfg());
    h.ep.send(b"a").unwrap();
    h.ep.send(b"b").unwrap();
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK | PSH, 2)]);
    h.ep.send(b"c").unwrap();
    assert_eq!(h.out(), vec![(ISS + 3, IRS + 1, ACK | PSH, 1)]);
}

#[test]
fn send_mss_bound_cuts_segments_and_lifts_back_to_the_negotiated_mss() {
    let mut h = H::server(Config { mss: 1000, ..cfg() });
    h.ep.bound_send_mss(400);
    assert_eq!(h.ep.send_mss(), 400);
    h.ep.send(&[1u8; 900]).unwrap();
    assert_eq!(
        h.out(),
        vec![
            (ISS + 1, IRS + 1, ACK, 400),
            (ISS + 401, IRS + 1, ACK, 400),
            (ISS + 801, IRS + 1, ACK | PSH, 100)
        ]
    );
    h.ep.bound_send_mss(u32::MAX);
    assert_eq!(h.ep.send_mss(), 1000, "never above the negotiated MSS");
    h.ep.bound_send_mss(0);
    assert_eq!(h.ep.send_mss(), 1);
}

#[test]
fn rto_retransmits_and_collapses_cwnd() {
    let mut h = H::server(Config { mss: 1000, ..cfg() });
    h.ep.send(&[1u8; 2000]).unwrap();
    assert_eq!(h.out().len(), 2);
    let cwnd0 = h.ep.cwnd();
    assert_eq!(cwnd0, 4000);
    assert_eq!(h.fire(), Instant::from_millis(200));
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 1000)]);
    assert_eq!(h.ep.cwnd(), 1000);
    assert_eq!(h.ep.ssthresh(), 2000);
    assert_eq!(h.ep.stats().timeouts, 1);
    h.send_seg(IRS + 1, ISS + 1001, ACK, b"");
    assert_eq!(h.out(), vec![(ISS + 1001, IRS + 1, ACK | PSH, 1000)]);
}

fn dup_ack(h: &mut H, ack: u32) {
    h.send_seg(IRS + 1, ack, ACK, b"");
}

#[test]
fn fast_retransmit_and_newreno_partial_ack() {
    let mut h = H::server(Config {
        mss: 1000,
        initial_cwnd: Some(10),
        ..cfg()
    });
    h.ep.send(&[1u8; 6000]).unwrap();
    assert_eq!(h.out().len(), 6);
    // Segment 1 (ISS+1) and 3 (ISS+2001) are lost; 2 arrives -> dupack.
    for _ in 0..2 {
        dup_ack(&mut h, ISS + 1);
        assert_eq!(h.out(), vec![]);
    }
    dup_ack(&mut h, ISS + 1);
    assert_eq!(h.out(), vec![(ISS + 1, IRS + 1, ACK, 1000)]);
    assert!(h.ep.in_recovery());
    assert_eq!(h.ep.ssthresh(), 3000);
    // Partial ACK up to the second hole: retransmit it at once.
    dup_ack(&mut h, ISS + 2001);
    assert_eq!(h.out(), vec![(ISS + 2001, IRS + 1, ACK, 1000)]);
    assert!(h.ep.in_recovery());
    // Full ACK ends recovery.
    dup_ack(&mut h, ISS + 6001);
    assert!(!h.ep.in_recovery());
    assert!(h.ep.cwnd() <= 3000);
    assert_eq!(h.ep.stats().fast_retransmits, 1);
}

#[test]
fn sack_recovery_retransmits_only_holes() {
    let c = Config {
        mss: 1000,
        initial_cwnd: Some(10),
        sack: true,
        ..cfg()
    };
    let mut h = H::new(c);
    h.ep.listen(LOCAL).unwrap();
    let mut syn = seg(IRS, 0, SYN, b"");
    syn.options.sack_perm = true;
    syn.options.mss = Some(1000);
    h.send(syn);
    let sa = h.out_full().remove(0);
    assert!(sa.options.sack_perm);
    h.send_seg(IRS + 1, ISS + 1, ACK, b"");
    h.ep.send(&[1u8; 6000]).unwrap();
    assert_eq!(h.out().len(), 6);
    // Segments 1 and 3 lost; 2, 4, 5, 6 SACKed.
    let sacks = [(1001, 2001), (3001, 4001), (3001, 5001), (3001, 6001)];
    let mut got = Vec::new();
    for (i, &(l, r)) in sacks.iter().enumerate() {
        let mut a = seg(IRS + 1, ISS + 1, ACK, b"");
        a.options.sack[0] = (SeqNumber(ISS + l), SeqNumber(ISS + r));
        a.options.sack[1] = (SeqNumber(ISS + 1001), SeqNumber(ISS + 2001));
        a.options.sack_count = if i == 0 { 1 } else { 2 };
        h.send(a);
        got.extend(h.out());
    }
    assert_eq!(
        got,
        vec![
            (ISS + 1, IRS + 1, ACK, 1000),
            (ISS + 2001, IRS + 1, ACK, 1000)
        ]
    );
}

#[test]
fn receiver_reports_sack_blocks_most_recent_first() {
    let c = Config {
        sack: true,
        ..cfg()
    };
    let mut h = H::new(c);
    h.ep.listen(LOCAL).unwrap();
    let mut syn = seg(IRS, 0, SYN, b"");
    syn.options.sack_perm = true;
    h.send(syn);
    h.out();
    h.send_seg(IRS + 1, ISS + 1, ACK, b"");
    h.send_seg(IRS + 11, ISS + 1, ACK, &[0; 10]);
    h.out();
    h.send_seg(IRS + 31, ISS + 1, ACK, &[0; 10]);
    let a = h.out_full().remove(0);
    assert_eq!(
        a.sack_blocks(),
        &[
            (SeqNumber(IRS + 31), SeqNumber(IRS + 41)),
            (SeqNumber(IRS + 11), SeqNumber(IRS + 21))
        ]
    );
}

#[test]
fn timestamps_are_echoed_and_measure_rtt() {
    let c = Config {
        timestamps: true,
        ..cfg()
    };
    let mut h = H::new(c);
    h.ep.connect(h.now, LOCAL, REMOTE).unwrap();
    let syn = h.out_full().remove(0);
    assert_eq!(syn.options.timestamps, Some((0, 0)));
    h.at_ms(30);
    let mut sa = seg(IRS, ISS + 1, SYN | ACK, b"");
    sa.options.timestamps = Some((5000, 0));
    h.send(sa);
    let ack = h.out_full().remove(0);
    assert_eq!(ack.options.timestamps, Some((30, 5000)));
    assert_eq!(h.ep.srtt(), Some(Duration::from_millis(30)));
    assert_eq!(h.ep.send_mss(), 1460 - 12);
}

// ----- robustness ------------------------------------------------------------

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum In {
        Seg {
            seq_off: i32,
            ack_off: i32,
            flags: u16,
            len: usize,
            window: u16,
            sack: Option<(i32, i32)>,
            wscale: Option<u8>,
        },
        Timeout,
        Read(usize),
        Write(usize),
        Close,
        Abort,
    }

    fn input() -> impl Strategy<Value = In> {
        prop_oneof![
            6 => (
                -3000i32..3000,
                -3000i32..3000,
                0u16..0x200,
                0usize..1500,
                any::<u16>(),
                proptest::option::of((-3000i32..3000, -3000i32..3000)),
                proptest::option::of(0u8..20)
            )
                .prop_map(|(seq_off, ack_off, flags, len, window, sack, wscale)| In::Seg {
                    seq_off,
                    ack_off,
                    flags,
                    len,
                    window,
                    sack,
                    wscale
                }),
            2 => Just(In::Timeout),
            1 => (0usize..5000).prop_map(In::Read),
            1 => (0usize..5000).prop_map(In::Write),
            1 => Just(In::Close),
            1 => Just(In::Abort),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Whatever arrives, in whatever state: no panic, a bounded burst of
        /// output, and the sequence variables stay ordered.
        #[test]
        fn any_input_sequence_is_handled(start in 0u8..4, sack in any::<bool>(), inputs in proptest::collection::vec(input(), 1..60)) {
            let c = Config { sack, timestamps: sack, window_scale: Some(2), recv_buffer: 3000, send_buffer: 4000, ..cfg() };
            let mut h = match start {
                0 => H::server(c),
                1 => H::client(c),
                2 => H::syn_sent(c),
                _ => H::syn_received(c),
            };
            for i in inputs {
                match i {
                    In::Seg { seq_off, ack_off, flags, len, window, sack, wscale } => {
                        let mut s = seg(
                            (IRS as i64 + 1 + seq_off as i64) as u32,
                            (ISS as i64 + 1 + ack_off as i64) as u32,
                            flags,
                            &vec![7u8; len],
                        );
                        s.window = window;
                        s.options.wscale = wscale;
                        if let Some((l, r)) = sack {
                            s.options.sack[0] = (SeqNumber((ISS as i64 + l as i64) as u32), SeqNumber((ISS as i64 + r as i64) as u32));
                            s.options.sack_count = 1;
                        }
                        h.send(s);
                    }
                    In::Timeout => {
                        if let Some(t) = h.ep.poll_timeout() {
                            h.now = h.now.max(t);
                            h.ep.handle_timeout(h.now);
                        }
                    }
                    In::Read(n) => {
                        let mut b = vec![0u8; n];
                        h.ep.recv(&mut b);
                    }
                    In::Write(n) => {
                        let _ = h.ep.send(&vec![1u8; n]);
                    }
                    In::Close => {
                        let _ = h.ep.close();
                    }
                    In::Abort => h.ep.abort(),
                }
                let out = h.out_full();
                prop_assert!(out.len() < 200);
                prop_assert!(h.ep.snd_una() <= h.ep.snd_nxt());
                prop_assert!(h.ep.recv_window() as usize <= 3000 + 4);
                prop_assert!(h.ep.send_queued() <= 4000);
                h.now += Duration::from_millis(1);
            }
        }
    }
}
