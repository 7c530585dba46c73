//! What a receiver told the sender with SACK (RFC 2018): a small, bounded
//! scoreboard per direction, and tcpsim's own verdicts on retransmissions
//! from it (RFC 6675 §2–§5) and on D-SACK blocks (RFC 2883 §4).
//!
//! tshark judges a retransmission by the cumulative ACK only. With the
//! peer's SACK blocks a state-aware analyzer knows more: whether the
//! retransmitted bytes sit in a hole the receiver reported (the sender is
//! repairing a loss it was told about, RFC 6675 §5 loss recovery), or were
//! already SACKed (the receiver held them: the retransmission was not
//! needed).
//!
//! All numbers are raw sequence numbers; comparisons wrap (RFC 9293 §3.4).

/// Blocks remembered per direction: as many as one SACK option can carry
/// (RFC 2018 §3: at most 4).
const MAX_BLOCKS: usize = 4;

fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}
fn max(a: u32, b: u32) -> u32 {
    if lt(a, b) {
        b
    } else {
        a
    }
}
fn min(a: u32, b: u32) -> u32 {
    if lt(a, b) {
        a
    } else {
        b
    }
}

/// What the SACK scoreboard says about retransmitted bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SackVerdict {
    /// Nothing known (no SACK from the peer, bytes partly SACKed, above the
    /// highest SACKed byte, or in a range the bounded scoreboard forgot).
    Unknown,
    /// Every byte lies in a hole below the highest SACKed byte (none
    /// cumulatively acknowledged, none SACKed), and none was retransmitted
    /// before since the hole was reported: a loss the receiver reported,
    /// repaired once (RFC 6675 §5; a second retransmission of the same
    /// bytes is a timeout's, §5.1).
    FillsHole,
    /// Every byte was already cumulatively acknowledged or SACKed, and at
    /// least one was SACKed: the receiver held them.
    AlreadySacked,
}

/// The receiver's reports about one direction's data: its highest
/// cumulative ACK, the SACKed ranges above it (merged, ascending, at most
/// [`MAX_BLOCKS`]) and the highest SACKed byte (RFC 6675 §2 "HighACK" is
/// the cumulative ACK; this is the right edge of the highest block).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SackScoreboard {
    /// At least one SACK block was reported; until then nothing is known.
    sacked: bool,
    cum_ack: u32,
    /// Right edge of the highest SACKed byte.
    high: u32,
    blocks: [(u32, u32); MAX_BLOCKS],
    n: u8,
    /// Hull of ranges dropped when more than [`MAX_BLOCKS`] were held:
    /// their SACK state is no longer known.
    forgotten: Option<(u32, u32)>,
    /// RFC 6675 §2 HighRxt: the end of the highest retransmitted bytes above
    /// the cumulative ACK.
    high_rxt: Option<u32>,
}

impl SackScoreboard {
    /// An ACK from the receiver: its cumulative acknowledgment and SACK
    /// blocks (as carried, most recent first, RFC 2018 §4).
    #[inline]
    pub(super) fn on_ack(&mut self, ack: u32, blocks: &[(u32, u32)]) {
        if !self.sacked && blocks.is_empty() {
            // Nothing SACKed yet: the common case, kept out of a call.
            self.cum_ack = ack;
            return;
        }
        self.on_ack_with_blocks(ack, blocks);
    }

    fn on_ack_with_blocks(&mut self, ack: u32, blocks: &[(u32, u32)]) {
        if !self.sacked || lt(self.cum_ack, ack) {
            self.cum_ack = ack;
        }
        for &(l, r) in blocks {
            // A block must be non-empty and plausibly sized (a window is
            // at most 2^30 bytes, RFC 7323 §2.3); a D-SACK block at or below
            // the cumulative ACK reports a duplicate, not a hole (RFC 2883).
            if !lt(l, r) || r.wrapping_sub(l) > 1 << 30 || le(r, self.cum_ack) {
                continue;
            }
            if !self.sacked || lt(self.high, r) {
                self.high = r;
            }
            self.sacked = true;
            self.insert(max(l, self.cum_ack), r);
        }
        self.prune();
    }

    /// Merge one range into the sorted, disjoint block list.
    fn insert(&mut self, mut l: u32, mut r: u32) {
        let mut merged = [(0u32, 0u32); MAX_BLOCKS + 1];
        let mut m = 0;
        let mut placed = false;
        for &(bl, br) in &self.blocks[..self.n as usize] {
            if lt(br, l) {
                merged[m] = (bl, br);
                m += 1;
            } else if lt(r, bl) {
                if !placed {
                    merged[m] = (l, r);
                    m += 1;
                    placed = true;
                }
                merged[m] = (bl, br);
                m += 1;
            } else {
                // Overlapping or adjacent: grow the new range.
                l = min(l, bl);
                r = max(r, br);
            }
        }
        if !placed {
            merged[m] = (l, r);
            m += 1;
        }
        if m > MAX_BLOCKS {
            // Forget the highest range: losses are repaired from the lowest
            // hole up, so the low end is what verdicts need.
            let (fl, fr) = merged[MAX_BLOCKS];
            self.forgotten = Some(match self.forgotten {
                Some((a, b)) => (min(a, fl), max(b, fr)),
                None => (fl, fr),
            });
            m = MAX_BLOCKS;
        }
        self.blocks[..m].copy_from_slice(&merged[..m]);
        self.n = m as u8;
    }

    /// Drop what the cumulative ACK now covers.
    fn prune(&mut self) {
        let ack = self.cum_ack;
        let mut k = 0;
        for i in 0..self.n as usize {
            let (l, r) = self.blocks[i];
            if le(r, ack) {
                continue;
            }
            self.blocks[k] = (max(l, ack), r);
            k += 1;
        }
        self.n = k as u8;
        if let Some((_, r)) = self.forgotten {
            if le(r, ack) {
                self.forgotten = None;
            }
        }
        if let Some(h) = self.high_rxt {
            if le(h, ack) {
                self.high_rxt = None;
            }
        }
    }

    /// The data sender sent `[seq, end)` again (RFC 6675 §2 HighRxt).
    pub(super) fn on_retransmission(&mut self, end: u32) {
        if !self.sacked || le(end, self.cum_ack) {
            return;
        }
        self.high_rxt = Some(match self.high_rxt {
            Some(h) => max(h, end),
            None => end,
        });
    }

    /// The verdict on bytes `[seq, end)` sent again by the data sender.
    pub(super) fn classify(&self, seq: u32, end: u32) -> SackVerdict {
        if !self.sacked || !lt(seq, end) || le(end, self.cum_ack) {
            return SackVerdict::Unknown;
        }
        // Bytes already cumulatively acknowledged count as held by the
        // receiver (for AlreadySacked), never as part of a hole.
        let s = max(seq, self.cum_ack);
        let in_hole_only = le(self.cum_ack, seq) && self.high_rxt.is_none_or(|h| le(h, seq));
        if let Some((fl, fr)) = self.forgotten {
            if lt(s, fr) && lt(fl, end) {
                return SackVerdict::Unknown;
            }
        }
        let mut overlaps = false;
        for &(l, r) in &self.blocks[..self.n as usize] {
            if le(l, s) && le(end, r) {
                return SackVerdict::AlreadySacked;
            }
            overlaps |= lt(s, r) && lt(l, end);
        }
        // RFC 6675 §5: a hole below the highest SACKed byte is presumed lost.
        if in_hole_only && !overlaps && le(end, self.high) {
            SackVerdict::FillsHole
        } else {
            SackVerdict::Unknown
        }
    }
}

/// RFC 2883 §4: the first SACK block reports a duplicate (a D-SACK) when it
/// lies at or below the cumulative ACK (§4.1), or inside the second block
/// (§4.2).
pub(super) fn is_dsack(ack: u32, blocks: &[(u32, u32)]) -> bool {
    let Some(&(l1, r1)) = blocks.first() else {
        return false;
    };
    if le(r1, ack) {
        return true;
    }
    match blocks.get(1) {
        Some(&(l2, r2)) => le(l2, l1) && le(r1, r2),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_known_before_a_sack_block() {
        let mut sb = SackScoreboard::default();
        sb.on_ack(1000, &[]);
        assert_eq!(sb.classify(1000, 1100), SackVerdict::Unknown);
    }

    #[test]
    fn a_hole_below_the_highest_sacked_byte_is_filled() {
        let mut sb = SackScoreboard::default();
        sb.on_ack(1000, &[(1100, 1300)]);
        assert_eq!(sb.classify(1000, 1100), SackVerdict::FillsHole);
        // Part of it cumulatively acknowledged already: not only the hole.
        assert_eq!(sb.classify(900, 1100), SackVerdict::Unknown);
        // Above the highest SACKed byte: no hole reported there.
        assert_eq!(sb.classify(1300, 1400), SackVerdict::Unknown);
        // Half hole, half SACKed: no verdict.
        assert_eq!(sb.classify(1050, 1150), SackVerdict::Unknown);
        // All below the cumulative ACK: tshark's spurious retransmission.
        assert_eq!(sb.classify(800, 1000), SackVerdict::Unknown);
    }

    #[test]
    fn a_hole_is_repaired_once_then_resends_are_timeouts() {
        let mut sb = SackScoreboard::default();
        sb.on_ack(1000, &[(1200, 1300)]);
        assert_eq!(sb.classify(1000, 1100), SackVerdict::FillsHole);
        sb.on_retransmission(1100);
        // The next part of the hole is still a repair; the first part again
        // is not (RFC 6675 §5.1: only a timeout sends it twice).
        assert_eq!(sb.classify(1100, 1200), SackVerdict::FillsHole);
        assert_eq!(sb.classify(1000, 1100), SackVerdict::Unknown);
        // A cumulative ACK past the retransmitted bytes ends that episode.
        sb.on_ack(1100, &[(1200, 1300)]);
        sb.on_ack(1300, &[]);
        sb.on_ack(1300, &[(1400, 1500)]);
        assert_eq!(sb.classify(1300, 1400), SackVerdict::FillsHole);
    }

    #[test]
    fn sacked_bytes_sent_again_are_already_sacked() {
        let mut sb = SackScoreboard::default();
        sb.on_ack(1000, &[(1100, 1300)]);
        assert_eq!(sb.classify(1100, 1200), SackVerdict::AlreadySacked);
        assert_eq!(sb.classify(1100, 1300), SackVerdict::AlreadySacked);
        assert_eq!(sb.classify(1100, 1301), SackVerdict::Unknown);
    }

    #[test]
    fn blocks_merge_and_the_cumulative_ack_prunes_them() {
        let mut sb = SackScoreboard::default();
        sb.on_ack(1000, &[(1200, 1300)]);
        sb.on_ack(1000, &[(1100, 1200), (1200, 1300)]);
        assert_eq!(sb.n, 1);
        assert_eq!(sb.classify(1100, 1300), SackVerdict::AlreadySacked);
        // The hole is filled: the cumulative ACK jumps past the block.
        sb.on_ack(1300, &[]);
        assert_eq!(sb.n, 0);
        assert_eq!(sb.classify(1000, 1100), SackVerdict::Unknown);
        // A stale, lower cumulative ACK does not move it back.
        sb.on_ack(1100, &[]);
        assert_eq!(sb.cum_ack, 1300);
    }

    #[test]
    fn the_scoreboard_is_bounded_and_forgets_the_highest_range() {
        let mut sb = SackScoreboard::default();
        for i in 0..6u32 {
            let l = 1100 + i * 200;
            sb.on_ack(1000, &[(l, l + 100)]);
        }
        assert_eq!(sb.n as usize, MAX_BLOCKS);
        // Low holes and blocks are still known.
        assert_eq!(sb.classify(1000, 1100), SackVerdict::FillsHole);
        assert_eq!(sb.classify(1100, 1200), SackVerdict::AlreadySacked);
        // The forgotten top ranges give no verdict.
        assert_eq!(sb.classify(2100, 2200), SackVerdict::Unknown);
        assert_eq!(sb.classify(2000, 2100), SackVerdict::Unknown);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut sb = SackScoreboard::default();
        let ack = u32::MAX - 50;
        sb.on_ack(ack, &[(ack.wrapping_add(100), ack.wrapping_add(200))]);
        assert_eq!(
            sb.classify(ack, ack.wrapping_add(100)),
            SackVerdict::FillsHole
        );
        assert_eq!(
            sb.classify(ack.wrapping_add(100), ack.wrapping_add(150)),
            SackVerdict::AlreadySacked
        );
    }

    #[test]
    fn dsack_blocks_are_recognised() {
        // §4.1: below the cumulative ACK.
        assert!(is_dsack(3337, &[(2881, 3337)]));
        // §4.2: inside the second block.
        assert!(is_dsack(1000, &[(1200, 1300), (1100, 1400)]));
        // An ordinary block, and one straddling the ACK.
        assert!(!is_dsack(1000, &[(1100, 1200)]));
        assert!(!is_dsack(3326, &[(2692, 3954)]));
        assert!(!is_dsack(1000, &[]));
        // Second block not containing the first.
        assert!(!is_dsack(1000, &[(1200, 1300), (1250, 1400)]));
    }
}
