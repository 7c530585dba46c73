//! Zeek's conn.log `history` and `conn_state`, computed the way Zeek's TCP
//! analyzer does (Zeek: src/analyzer/protocol/tcp/TCP.cc `update_history`,
//! scripts/base/protocols/conn/main.zeek `conn_state`).
//!
//! History letters, upper case for the originator (client), lower case for
//! the responder: `S` SYN without ACK, `H` SYN+ACK, `A` pure ACK (no
//! SYN/FIN/RST, no payload), `D` payload (no SYN/FIN/RST), `F` FIN, `R` RST,
//! `I` FIN and RST together, `Q` SYN with FIN or RST, `T` retransmitted
//! payload, `W` zero window, `C` bad checksum, `G` content gap (a segment
//! beyond a hole), `^` the roles were flipped (first packet seen was the
//! SYN+ACK). S, H, F and R repeat when a new SYN/FIN/RST with a different
//! sequence number is seen; T, W, C and G are written at the 1st, 10th,
//! 100th... occurrence. Every other letter appears at most once per side.

use crate::timeline::ZeekConnState;
use crate::wire::TcpFlags;

/// Zeek's endpoint states (TCP_Endpoint.h).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ZeekState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

const H_SYN: u16 = 1;
const H_FIN: u16 = 2;
const H_RST: u16 = 4;
const H_FIN_RST: u16 = 8;
const H_DATA: u16 = 16;
const H_ACK: u16 = 32;
const H_MULTI: u16 = 64;

/// One endpoint's Zeek bookkeeping.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ZeekEndpoint {
    pub state: ZeekState,
    hist_flags: u16,
    last_syn: Option<u32>,
    last_fin: Option<u32>,
    last_rst: Option<u32>,
    /// (count, next threshold) for T, W, C, G.
    scaled: [(u32, u32); 4],
    /// Payload bytes seen (Zeek's `size` is sequence-based; payload is a close stand-in).
    pub size: u64,
}

/// Index into `scaled` for the letters that repeat on a log scale.
#[derive(Clone, Copy)]
pub(crate) enum Scaled {
    Retransmission = 0,
    ZeroWindow = 1,
    BadChecksum = 2,
    Gap = 3,
}

impl Scaled {
    fn letter(self) -> u8 {
        match self {
            Scaled::Retransmission => b'T',
            Scaled::ZeroWindow => b'W',
            Scaled::BadChecksum => b'C',
            Scaled::Gap => b'G',
        }
    }
}

/// The history string of a connection, shared by both endpoints.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    pub letters: Vec<u8>,
}

impl History {
    fn add(&mut self, orig: bool, code: u8) {
        // Bounded: a pathological connection cannot grow it without limit.
        if self.letters.len() < 256 {
            self.letters.push(if orig {
                code
            } else {
                code.to_ascii_lowercase()
            });
        }
    }
    pub fn as_string(&self) -> String {
        // Zeek's letters are ASCII.
        String::from_utf8_lossy(&self.letters).into_owned()
    }
}

impl ZeekEndpoint {
    /// Zeek's CheckHistory: add the letter the first time; true if it was seen before.
    fn check(&mut self, h: &mut History, orig: bool, mask: u16, code: u8) -> bool {
        if self.hist_flags & mask != 0 {
            return true;
        }
        self.hist_flags |= mask;
        h.add(orig, code);
        false
    }

    /// Zeek's ScaledHistoryEntry: letter at the 1st, 10th, 100th... event.
    pub fn scaled(&mut self, h: &mut History, orig: bool, which: Scaled) {
        let (count, threshold) = &mut self.scaled[which as usize];
        *count += 1;
        if *threshold == 0 {
            *threshold = 1;
        }
        if *count == *threshold {
            h.add(orig, which.letter());
            *threshold = threshold.saturating_mul(10);
        }
    }

    /// Zeek's update_history for one packet from this endpoint.
    /// `rel_seq` is the sequence number relative to this side's ISN.
    #[inline]
    pub fn update_history(
        &mut self,
        h: &mut History,
        orig: bool,
        flags: TcpFlags,
        rel_seq: u32,
        len: u32,
    ) {
        let bits = flags.syn() as u8 + flags.fin() as u8 + flags.rst() as u8;
        if bits > 1 {
            if flags.fin() && flags.rst() {
                self.check(h, orig, H_FIN_RST, b'I');
            } else {
                self.check(h, orig, H_MULTI, b'Q');
            }
        } else if bits == 1 {
            if flags.syn() {
                let code = if flags.ack() { b'H' } else { b'S' };
                if self.check(h, orig, H_SYN, code) && self.last_syn != Some(rel_seq) {
                    h.add(orig, code);
                }
                self.last_syn = Some(rel_seq);
            }
            if flags.fin() {
                let end = rel_seq.wrapping_add(len);
                if self.check(h, orig, H_FIN, b'F') && self.last_fin != Some(end) {
                    h.add(orig, b'F');
                }
                self.last_fin = Some(end);
            }
            if flags.rst() {
                if self.check(h, orig, H_RST, b'R') && self.last_rst != Some(rel_seq) {
                    h.add(orig, b'R');
                }
                self.last_rst = Some(rel_seq);
            }
        } else if len > 0 {
            self.check(h, orig, H_DATA, b'D');
        } else if flags.ack() {
            self.check(h, orig, H_ACK, b'A');
        }
    }

    /// Zeek's endpoint state machine, simplified to what conn_state reads.
    pub fn update_state(&mut self, peer: &mut ZeekEndpoint, flags: TcpFlags) {
        if flags.rst() {
            self.state = ZeekState::Reset;
            return;
        }
        if flags.syn() {
            if self.state == ZeekState::Inactive {
                self.state = if flags.ack() {
                    ZeekState::SynAckSent
                } else {
                    ZeekState::SynSent
                };
            }
        } else if flags.ack() || flags.fin() {
            match self.state {
                ZeekState::Inactive => self.state = ZeekState::Partial,
                ZeekState::SynSent | ZeekState::SynAckSent => {
                    if matches!(
                        peer.state,
                        ZeekState::SynSent | ZeekState::SynAckSent | ZeekState::Established
                    ) {
                        self.state = ZeekState::Established;
                        if peer.state == ZeekState::SynAckSent || peer.state == ZeekState::SynSent {
                            peer.state = ZeekState::Established;
                        }
                    }
                }
                _ => {}
            }
        }
        if flags.fin() && self.state != ZeekState::Reset {
            self.state = ZeekState::Closed;
        }
    }
}

/// Zeek's conn_state from both endpoints' states and the history.
pub(crate) fn conn_state(orig: &ZeekEndpoint, resp: &ZeekEndpoint, history: &str) -> ZeekConnState {
    use ZeekState::*;
    let os = orig.state;
    let rs = resp.state;
    let o_inactive = matches!(os, Inactive | Partial);
    let r_inactive = matches!(rs, Inactive | Partial);
    if rs == Reset {
        if os == SynSent || os == SynAckSent || (os == Reset && orig.size == 0 && resp.size == 0) {
            ZeekConnState::REJ
        } else if o_inactive {
            ZeekConnState::RSTRH
        } else {
            ZeekConnState::RSTR
        }
    } else if os == Reset {
        if r_inactive {
            if rstos0_history(history) {
                ZeekConnState::RSTOS0
            } else {
                ZeekConnState::OTH
            }
        } else {
            ZeekConnState::RSTO
        }
    } else if rs == Closed && os == Closed {
        ZeekConnState::SF
    } else if os == Closed {
        if r_inactive {
            ZeekConnState::SH
        } else {
            ZeekConnState::S2
        }
    } else if rs == Closed {
        if o_inactive {
            ZeekConnState::SHR
        } else {
            ZeekConnState::S3
        }
    } else if os == SynSent && rs == Inactive {
        ZeekConnState::S0
    } else if os == Established && rs == Established {
        ZeekConnState::S1
    } else {
        ZeekConnState::OTH
    }
}

/// `/\^?S[^HAFGIQ]*R.*/` anchored (Zeek patterns match the whole string).
fn rstos0_history(h: &str) -> bool {
    let b = h.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'^') {
        i = 1;
    }
    if b.get(i) != Some(&b'S') {
        return false;
    }
    i += 1;
    while let Some(&c) = b.get(i) {
        if c == b'R' {
            return true;
        }
        if b"HAFGIQ".contains(&c) {
            return false;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pkts: &[(bool, u16, u32, u32)]) -> (String, ZeekConnState) {
        let mut h = History::default();
        let (mut o, mut r) = (ZeekEndpoint::default(), ZeekEndpoint::default());
        for &(from_orig, flags, seq, len) in pkts {
            let f = TcpFlags(flags);
            let (a, b) = if from_orig {
                (&mut o, &mut r)
            } else {
                (&mut r, &mut o)
            };
            a.update_history(&mut h, from_orig, f, seq, len);
            a.update_state(b, f);
            a.size += len as u64;
        }
        let s = h.as_string();
        let st = conn_state(&o, &r, &s);
        (s, st)
    }
    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const F: u16 = TcpFlags::FIN;
    const R: u16 = TcpFlags::RST;
    const P: u16 = TcpFlags::PSH;

    #[test]
    fn normal_connection_is_sf() {
        let (h, st) = run(&[
            (true, S, 0, 0),
            (false, S | A, 0, 0),
            (true, A, 1, 0),
            (true, A | P, 1, 10),
            (false, A, 1, 0),
            (false, A | P, 1, 20),
            (true, F | A, 11, 0),
            (false, F | A, 21, 0),
            (true, A, 12, 0),
        ]);
        assert_eq!(h, "ShADadFf");
        assert_eq!(st, ZeekConnState::SF);
    }

    #[test]
    fn refused_is_rej_and_unanswered_is_s0() {
        assert_eq!(
            run(&[(true, S, 0, 0), (false, R | A, 0, 0)]),
            ("Sr".to_string(), ZeekConnState::REJ)
        );
        assert_eq!(run(&[(true, S, 0, 0)]).1, ZeekConnState::S0);
        assert_eq!(
            run(&[(true, S, 0, 0), (true, R, 1, 0)]),
            ("SR".to_string(), ZeekConnState::RSTOS0)
        );
    }

    #[test]
    fn scaled_letters_repeat_at_powers_of_ten() {
        let mut h = History::default();
        let mut e = ZeekEndpoint::default();
        for _ in 0..100 {
            e.scaled(&mut h, true, Scaled::Retransmission);
        }
        assert_eq!(h.as_string(), "TTT");
    }

    #[test]
    fn repeated_syn_with_new_seq_repeats_letter() {
        let (h, _) = run(&[(true, S, 0, 0), (true, S, 0, 0), (true, S, 77, 0)]);
        assert_eq!(h, "SS");
    }
}
