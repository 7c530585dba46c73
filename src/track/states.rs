//! Inference of both endpoints' TCP states (RFC 9293 §3.3.2) from the packets
//! a capture shows. The capture point sees a segment when it leaves its
//! sender; this module assumes it also arrives, so "state after a packet" is
//! the sender's state after sending it and the receiver's after processing it.
//!
//! Inference rules (docs/timeline-schema.md lists them for readers):
//! - a pure SYN puts its sender in SYN-SENT; its receiver stays LISTEN until
//!   it answers (SYN+ACK: SYN-RECEIVED; RST: CLOSED), except a receiver in
//!   SYN-SENT (simultaneous open, RFC 9293 §3.5 Figure 8) goes to SYN-RECEIVED;
//! - a SYN+ACK puts its sender in SYN-RECEIVED and a receiver whose SYN it
//!   acknowledges in ESTABLISHED;
//! - an ACK of a side's SYN moves that side from SYN-RECEIVED to ESTABLISHED;
//! - a FIN moves its sender ESTABLISHED -> FIN-WAIT-1 or CLOSE-WAIT ->
//!   LAST-ACK, and its receiver ESTABLISHED -> CLOSE-WAIT, FIN-WAIT-1 ->
//!   CLOSING, FIN-WAIT-2 -> TIME-WAIT (RFC 9293 §3.6);
//! - an ACK of a side's FIN moves it FIN-WAIT-1 -> FIN-WAIT-2, CLOSING ->
//!   TIME-WAIT, LAST-ACK -> CLOSED;
//! - an acceptable RST closes both sides; an unacceptable one (sequence
//!   number outside the receiver's window, RFC 9293 §3.10.7.4) changes
//!   nothing;
//! - a connection whose start was not captured starts with both sides
//!   UNKNOWN; any non-SYN, non-RST packet makes both ESTABLISHED, as the
//!   capture shows a synchronized connection.

use crate::timeline::TcpState;
use crate::wire::TcpFlags;

/// What one side has done, for state inference.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SideState {
    pub state: TcpState,
    /// Raw sequence number of this side's SYN, once sent.
    pub syn_seq: Option<u32>,
    /// Raw sequence number just after this side's FIN (the value that acknowledges it).
    pub fin_end: Option<u32>,
    pub fin_acked: bool,
    /// This side has processed the peer's FIN.
    pub peer_fin_seen: bool,
}

fn seq_ge(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

fn seq_in(x: u32, lo: u32, len: u32) -> bool {
    // lo <= x < lo + len, in sequence space.
    x.wrapping_sub(lo) < len.max(1)
}

/// Facts about the packet the inference needs beyond its flags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
    /// The receiver's next expected sequence number from the sender, if known.
    pub rcv_nxt: Option<u32>,
    /// The receiver's last advertised window in bytes, if known.
    pub rcv_wnd: Option<u32>,
}

/// Update `snd` (the sender) and `rcv` (the receiver) for one segment.
/// Returns, for an RST, whether it was acceptable.
#[inline]
pub(crate) fn on_segment(snd: &mut SideState, rcv: &mut SideState, seg: &Segment) -> Option<bool> {
    let f = seg.flags;
    if f.rst() {
        let acceptable = rst_acceptable(rcv, seg);
        if acceptable {
            snd.state = TcpState::Closed;
            rcv.state = TcpState::Closed;
        }
        return Some(acceptable);
    }
    // Start not captured: a non-SYN packet shows a synchronized connection.
    if !f.syn() {
        for s in [&mut *snd, &mut *rcv] {
            if matches!(s.state, TcpState::Unknown) {
                s.state = TcpState::Established;
            }
        }
    }
    if f.syn() && !f.ack() {
        if snd.syn_seq.is_none()
            || matches!(
                snd.state,
                TcpState::Closed | TcpState::Listen | TcpState::Unknown
            )
        {
            snd.syn_seq = Some(seg.seq);
        }
        if matches!(
            snd.state,
            TcpState::Closed | TcpState::Listen | TcpState::Unknown | TcpState::SynSent
        ) {
            snd.state = TcpState::SynSent;
        }
        match rcv.state {
            // RFC 9293 §3.5 Figure 8: simultaneous open.
            TcpState::SynSent => rcv.state = TcpState::SynReceived,
            TcpState::Closed | TcpState::Unknown => rcv.state = TcpState::Listen,
            _ => {}
        }
    } else if f.syn() && f.ack() {
        if snd.syn_seq.is_none() || !snd.state.is_synchronized() {
            snd.syn_seq = Some(seg.seq);
        }
        if matches!(
            snd.state,
            TcpState::Closed
                | TcpState::Listen
                | TcpState::Unknown
                | TcpState::SynSent
                | TcpState::SynReceived
        ) {
            snd.state = TcpState::SynReceived;
        }
    }
    if f.ack() {
        // The ACK acknowledges the receiver's SYN: RFC 9293 §3.10.7.3/§3.10.7.4.
        if let Some(isn) = rcv.syn_seq {
            if seq_ge(seg.ack, isn.wrapping_add(1))
                && matches!(rcv.state, TcpState::SynSent | TcpState::SynReceived)
            {
                rcv.state = TcpState::Established;
            }
        }
        // The ACK acknowledges the receiver's FIN (RFC 9293 §3.10.7.4, FIN-WAIT-1, CLOSING, LAST-ACK).
        if let Some(end) = rcv.fin_end {
            if !rcv.fin_acked && seq_ge(seg.ack, end) {
                rcv.fin_acked = true;
                rcv.state = match rcv.state {
                    TcpState::FinWait1 => TcpState::FinWait2,
                    TcpState::Closing => TcpState::TimeWait,
                    TcpState::LastAck => TcpState::Closed,
                    s => s,
                };
            }
        }
        // An ACK from a side still in SYN-RECEIVED whose SYN was acknowledged
        // (the third packet of a simultaneous open) keeps its state; its own
        // SYN's ACK from the peer moves it.
    }
    if f.fin() {
        let end = seg.seq.wrapping_add(seg.len).wrapping_add(1);
        if snd.fin_end.is_none() {
            snd.fin_end = Some(end);
            // A FIN whose ACK does not cover the peer's FIN crossed it on
            // the way (simultaneous close, RFC 9293 §3.6 Figure 13): the
            // sender went FIN-WAIT-1, then CLOSING on the peer's FIN.
            let crossed = snd.state == TcpState::CloseWait
                && match rcv.fin_end {
                    Some(e) => !(f.ack() && seq_ge(seg.ack, e)),
                    None => false,
                };
            snd.state = match snd.state {
                _ if crossed => TcpState::Closing,
                TcpState::Established | TcpState::SynReceived | TcpState::Unknown => {
                    TcpState::FinWait1
                }
                TcpState::CloseWait => TcpState::LastAck,
                s => s,
            };
        }
        if !rcv.peer_fin_seen {
            rcv.peer_fin_seen = true;
            // RFC 9293 §3.10.7.4, eighth step: the FIN bit.
            rcv.state = match rcv.state {
                TcpState::Established | TcpState::SynReceived => TcpState::CloseWait,
                TcpState::FinWait1 => {
                    if rcv.fin_acked {
                        TcpState::TimeWait
                    } else {
                        TcpState::Closing
                    }
                }
                TcpState::FinWait2 => TcpState::TimeWait,
                s => s,
            };
        }
    }
    None
}

/// RFC 9293 §3.10.7.4 (first check, RST bit) and §3.10.7.3 (SYN-SENT).
fn rst_acceptable(rcv: &SideState, seg: &Segment) -> bool {
    match rcv.state {
        // SYN-SENT: acceptable if the ACK field acknowledges the SYN.
        TcpState::SynSent => match rcv.syn_seq {
            Some(isn) => seg.flags.ack() && seg.ack == isn.wrapping_add(1),
            None => true,
        },
        TcpState::Listen | TcpState::Closed => false,
        _ => match (seg.rcv_nxt, seg.rcv_wnd) {
            (Some(nxt), Some(wnd)) => seg.seq == nxt || seq_in(seg.seq, nxt, wnd),
            (Some(nxt), None) => seg.seq == nxt,
            _ => true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> Segment {
        Segment {
            flags: TcpFlags(flags),
            seq,
            ack,
            len,
            rcv_nxt: None,
            rcv_wnd: None,
        }
    }
    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const F: u16 = TcpFlags::FIN;
    const R: u16 = TcpFlags::RST;

    #[test]
    fn handshake_data_and_four_way_close() {
        let (mut c, mut s) = (SideState::default(), SideState::default());
        on_segment(&mut c, &mut s, &seg(S, 100, 0, 0));
        assert_eq!((c.state, s.state), (TcpState::SynSent, TcpState::Listen));
        on_segment(&mut s, &mut c, &seg(S | A, 500, 101, 0));
        assert_eq!(
            (c.state, s.state),
            (TcpState::Established, TcpState::SynReceived)
        );
        on_segment(&mut c, &mut s, &seg(A, 101, 501, 0));
        assert_eq!(
            (c.state, s.state),
            (TcpState::Established, TcpState::Established)
        );
        on_segment(&mut c, &mut s, &seg(F | A, 101, 501, 10));
        assert_eq!(
            (c.state, s.state),
            (TcpState::FinWait1, TcpState::CloseWait)
        );
        on_segment(&mut s, &mut c, &seg(A, 501, 112, 0));
        assert_eq!(
            (c.state, s.state),
            (TcpState::FinWait2, TcpState::CloseWait)
        );
        // Half-close: the server still sends data.
        on_segment(&mut s, &mut c, &seg(A, 501, 112, 100));
        assert_eq!(
            (c.state, s.state),
            (TcpState::FinWait2, TcpState::CloseWait)
        );
        on_segment(&mut s, &mut c, &seg(F | A, 601, 112, 0));
        assert_eq!((c.state, s.state), (TcpState::TimeWait, TcpState::LastAck));
        on_segment(&mut c, &mut s, &seg(A, 112, 602, 0));
        assert_eq!((c.state, s.state), (TcpState::TimeWait, TcpState::Closed));
    }

    #[test]
    fn simultaneous_open_and_close() {
        let (mut a, mut b) = (SideState::default(), SideState::default());
        on_segment(&mut a, &mut b, &seg(S, 100, 0, 0));
        on_segment(&mut b, &mut a, &seg(S, 500, 0, 0));
        assert_eq!(
            (a.state, b.state),
            (TcpState::SynReceived, TcpState::SynSent)
        );
        on_segment(&mut a, &mut b, &seg(S | A, 100, 501, 0));
        assert_eq!(b.state, TcpState::Established);
        on_segment(&mut b, &mut a, &seg(S | A, 500, 101, 0));
        assert_eq!(
            (a.state, b.state),
            (TcpState::Established, TcpState::Established)
        );
        // Simultaneous close: both FINs cross, then both ACKs.
        on_segment(&mut a, &mut b, &seg(F | A, 101, 501, 0));
        on_segment(&mut b, &mut a, &seg(F | A, 501, 101, 0));
        assert_eq!((a.state, b.state), (TcpState::Closing, TcpState::Closing));
        on_segment(&mut a, &mut b, &seg(A, 102, 502, 0));
        on_segment(&mut b, &mut a, &seg(A, 502, 102, 0));
        assert_eq!((a.state, b.state), (TcpState::TimeWait, TcpState::TimeWait));
    }

    #[test]
    fn refused_connection_and_unacceptable_rst() {
        let (mut c, mut s) = (SideState::default(), SideState::default());
        on_segment(&mut c, &mut s, &seg(S, 100, 0, 0));
        // Wrong ACK: not acceptable in SYN-SENT.
        assert_eq!(
            on_segment(&mut s, &mut c, &seg(R | A, 0, 999, 0)),
            Some(false)
        );
        assert_eq!(c.state, TcpState::SynSent);
        assert_eq!(
            on_segment(&mut s, &mut c, &seg(R | A, 0, 101, 0)),
            Some(true)
        );
        assert_eq!((c.state, s.state), (TcpState::Closed, TcpState::Closed));
        // Synchronized: an RST outside the window changes nothing.
        let (mut a, mut b) = (
            SideState {
                state: TcpState::Established,
                ..Default::default()
            },
            SideState {
                state: TcpState::Established,
                ..Default::default()
            },
        );
        let mut r = seg(R, 5000, 0, 0);
        r.rcv_nxt = Some(100);
        r.rcv_wnd = Some(1000);
        assert_eq!(on_segment(&mut a, &mut b, &r), Some(false));
        assert_eq!(
            (a.state, b.state),
            (TcpState::Established, TcpState::Established)
        );
        r.seq = 600;
        assert_eq!(on_segment(&mut a, &mut b, &r), Some(true));
        assert_eq!((a.state, b.state), (TcpState::Closed, TcpState::Closed));
    }

    #[test]
    fn uncaptured_start_becomes_established() {
        let (mut a, mut b) = (
            SideState {
                state: TcpState::Unknown,
                ..Default::default()
            },
            SideState {
                state: TcpState::Unknown,
                ..Default::default()
            },
        );
        on_segment(&mut a, &mut b, &seg(A, 7, 9, 100));
        assert_eq!(
            (a.state, b.state),
            (TcpState::Established, TcpState::Established)
        );
    }
}
