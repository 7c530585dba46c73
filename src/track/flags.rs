//! `AnalysisFlags`: tshark's tcp.analysis.* flags of one packet as a bit set
//! (no allocation on the hot path). Bit positions follow
//! [`AnalysisFlag`](crate::timeline::AnalysisFlag)'s order.

use crate::timeline::AnalysisFlag;

#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AnalysisFlags(pub u16);

impl AnalysisFlags {
    pub const NONE: AnalysisFlags = AnalysisFlags(0);

    pub fn contains(self, f: AnalysisFlag) -> bool {
        self.0 & f.bit() != 0
    }
    pub fn insert(&mut self, f: AnalysisFlag) {
        self.0 |= f.bit();
    }
    pub fn remove(&mut self, f: AnalysisFlag) {
        self.0 &= !f.bit();
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The flags set, in [`AnalysisFlag::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = AnalysisFlag> {
        AnalysisFlag::ALL
            .into_iter()
            .filter(move |f| self.contains(*f))
    }

    /// Whether tshark shows the field `tcp.analysis.<flag name>` for a packet
    /// with these flags. tshark adds the `retransmission` expert item to fast
    /// and spurious retransmissions too, so that field is present for all
    /// three kinds.
    pub fn tshark_field_present(self, f: AnalysisFlag) -> bool {
        match f {
            AnalysisFlag::Retransmission => {
                self.contains(AnalysisFlag::Retransmission)
                    || self.contains(AnalysisFlag::FastRetransmission)
                    || self.contains(AnalysisFlag::SpuriousRetransmission)
            }
            other => self.contains(other),
        }
    }

    /// Any kind of retransmission.
    pub fn is_retransmission(self) -> bool {
        self.tshark_field_present(AnalysisFlag::Retransmission)
    }
}

impl core::fmt::Debug for AnalysisFlags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|x| x.name()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_iter() {
        let mut f = AnalysisFlags::NONE;
        assert!(f.is_empty());
        f.insert(AnalysisFlag::DuplicateAck);
        f.insert(AnalysisFlag::ZeroWindow);
        assert!(f.contains(AnalysisFlag::DuplicateAck));
        assert!(!f.contains(AnalysisFlag::Retransmission));
        let v: Vec<_> = f.iter().collect();
        assert_eq!(
            v,
            vec![AnalysisFlag::DuplicateAck, AnalysisFlag::ZeroWindow]
        );
        f.remove(AnalysisFlag::ZeroWindow);
        assert_eq!(f.iter().count(), 1);
    }

    #[test]
    fn fast_retransmission_shows_the_retransmission_field() {
        let mut f = AnalysisFlags::NONE;
        f.insert(AnalysisFlag::FastRetransmission);
        assert!(f.tshark_field_present(AnalysisFlag::Retransmission));
        assert!(f.tshark_field_present(AnalysisFlag::FastRetransmission));
        assert!(!f.tshark_field_present(AnalysisFlag::SpuriousRetransmission));
    }
}
