//! `TcpPacketInfo`: everything the analyzer needs from one captured or
//! simulated TCP packet, as a `Copy` value built without allocation.
//! This is the single input type of `track::` for every source: captures
//! (`pcap` + `wire` decode), simulations (`sim`) and live runs (`runner`).

use super::seq::SeqNumber;
use super::tcp::{TcpFlags, TcpOptionsSummary};
use std::net::IpAddr;

/// Whether the TCP checksum was checked, and how it came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumStatus {
    Good,
    Bad,
    /// Not verifiable: payload cut by snaplen, or an IP fragment.
    Unverified,
    /// Not verifiable: the field holds only the folded pseudo-header sum, as
    /// transmit checksum offload leaves it (Linux `CHECKSUM_PARTIAL`, seen on
    /// loopback captures and on captures taken on the sending host). Not a
    /// corrupt packet.
    Partial,
}

impl ChecksumStatus {
    /// tshark's `tcp.checksum.status` value: 0 bad, 1 good, 2 unverified.
    /// tshark does not recognise partial checksums and reports them as bad.
    pub fn tshark_value(self) -> u8 {
        match self {
            ChecksumStatus::Bad | ChecksumStatus::Partial => 0,
            ChecksumStatus::Good => 1,
            ChecksumStatus::Unverified => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpPacketInfo {
    /// 1-based frame number in the capture (tshark's frame.number).
    pub number: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// Original length on the wire (frame.len) and captured length (frame.cap_len).
    pub frame_len: u32,
    pub cap_len: u32,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub window: u16,
    /// TCP header length in bytes.
    pub header_len: u8,
    /// TCP payload length as the IP header states it (tcp.len), even when the
    /// capture was cut short by snaplen.
    pub payload_len: u32,
    pub checksum: u16,
    pub checksum_status: ChecksumStatus,
    pub urgent: u16,
    pub options: TcpOptionsSummary,
}
