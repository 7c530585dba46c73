//! Writes a synthetic capture of many short TCP connections for the
//! `benches/conns.sh` benchmark: each connection is a handshake (MSS, window
//! scale and SACK-permitted offered), a request, a response of 28 segments
//! acknowledged every second segment, and a four-way close; every 50th
//! connection retransmits one response segment. 256 connections run
//! interleaved; packets are 1.4 ms apart, so closed connections stop mattering
//! after a minute of capture time, as on a real link.
//!
//! Frames are cut after the TCP header (snaplen-style: captured length 54 or
//! 66, the wire length counts the payload), which keeps a 5M-packet file
//! near 450 MB.
//!
//! ```text
//! cargo run --release --example gen_conns -- OUT.pcap [PACKETS]
//! ```

use std::net::{IpAddr, Ipv4Addr};
use tcpsim::pcap::{linktype, PcapWriter, TsResolution};
use tcpsim::wire::emit::build_ethernet_frame;
use tcpsim::wire::{SeqNumber, TcpFlags, TcpOption, TcpRepr};

const DATA_SEGMENTS: u32 = 28;
const SEG: u32 = 1400;
const REQ: u32 = 120;
const CONCURRENT: usize = 256;
const STEP_NS: i64 = 1_400_000;

struct Conn {
    client: IpAddr,
    cport: u16,
    cisn: u32,
    sisn: u32,
    step: u32,
    retransmit: bool,
}

/// One packet of a connection's script: (from client, flags, seq, ack, len, options).
fn script(c: &Conn, step: u32) -> Option<(bool, u16, u32, u32, u32, bool)> {
    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const P: u16 = TcpFlags::PSH;
    const F: u16 = TcpFlags::FIN;
    let (ci, si) = (c.cisn, c.sisn);
    let resp_end = si.wrapping_add(1 + DATA_SEGMENTS * SEG);
    let req_end = ci.wrapping_add(1 + REQ);
    Some(match step {
        0 => (true, S, ci, 0, 0, true),
        1 => (false, S | A, si, ci.wrapping_add(1), 0, true),
        2 => (true, A, ci.wrapping_add(1), si.wrapping_add(1), 0, false),
        3 => (
            true,
            P | A,
            ci.wrapping_add(1),
            si.wrapping_add(1),
            REQ,
            false,
        ),
        s if s < 4 + DATA_SEGMENTS / 2 * 3 => {
            // Response: two data segments, then the client's ACK.
            let k = s - 4;
            let (pair, pos) = (k / 3, k % 3);
            let seg = pair * 2 + pos.min(1);
            if pos < 2 {
                let mut seq = si.wrapping_add(1 + seg * SEG);
                if c.retransmit && pair == 5 && pos == 1 {
                    // Resend the previous segment (a retransmission).
                    seq = seq.wrapping_sub(SEG);
                }
                (false, A, seq, req_end, SEG, false)
            } else {
                let acked = si.wrapping_add(1 + (pair * 2 + 2).min(DATA_SEGMENTS) * SEG);
                (true, A, req_end, acked, 0, false)
            }
        }
        s => match s - (4 + DATA_SEGMENTS / 2 * 3) {
            0 => (true, F | A, req_end, resp_end, 0, false),
            1 => (false, A, resp_end, req_end.wrapping_add(1), 0, false),
            2 => (false, F | A, resp_end, req_end.wrapping_add(1), 0, false),
            3 => (
                true,
                A,
                req_end.wrapping_add(1),
                resp_end.wrapping_add(1),
                0,
                false,
            ),
            _ => return None,
        },
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: gen_conns OUT.pcap [PACKETS]");
    let total: u64 = args
        .next()
        .map(|n| n.parse().expect("PACKETS is a number"))
        .unwrap_or(5_000_000);
    let mut w = PcapWriter::create_with(&out, linktype::ETHERNET, TsResolution::Micro)
        .expect("create output");
    let server = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let next = |rng: &mut u64| {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let mut made: u64 = 0;
    let mut new_conn = |rng: &mut u64| {
        made += 1;
        let n = made;
        Conn {
            client: IpAddr::V4(Ipv4Addr::new(
                10,
                1 + (n >> 16) as u8 % 200,
                (n >> 8) as u8,
                n as u8,
            )),
            cport: 1024 + (n % 60000) as u16,
            cisn: next(rng) as u32,
            sisn: next(rng) as u32,
            step: 0,
            retransmit: n % 50 == 0,
        }
    };
    let mut conns: Vec<Conn> = (0..CONCURRENT).map(|_| new_conn(&mut rng)).collect();
    let mut frame = Vec::with_capacity(2048);
    let mut t: i64 = 1_700_000_000_000_000_000;
    let mut written: u64 = 0;
    let mut i = 0usize;
    while written < total {
        let c = &mut conns[i % CONCURRENT];
        i += 1;
        let Some((from_client, flags, seq, ack, len, syn_opts)) = script(c, c.step) else {
            *c = new_conn(&mut rng);
            continue;
        };
        c.step += 1;
        let options = if syn_opts {
            vec![
                TcpOption::Mss(1460),
                TcpOption::NoOperation,
                TcpOption::WindowScale(7),
                TcpOption::NoOperation,
                TcpOption::NoOperation,
                TcpOption::SackPermitted,
            ]
        } else {
            Vec::new()
        };
        let header_len = if syn_opts { 32 } else { 20 };
        let (src, dst, sp, dp) = if from_client {
            (c.client, server, c.cport, 80)
        } else {
            (server, c.client, 80, c.cport)
        };
        let repr = TcpRepr {
            src_port: sp,
            dst_port: dp,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            header_len,
            flags: TcpFlags(flags),
            window: if flags & TcpFlags::SYN != 0 {
                64240
            } else {
                2048
            },
            checksum: 0,
            urgent: 0,
            options,
            trailing: Vec::new(),
        };
        frame.clear();
        let payload = [0u8; SEG as usize];
        let n = build_ethernet_frame(src, dst, &repr, &payload[..len as usize], &mut frame)
            .expect("frame");
        let cut = 14 + 20 + header_len as usize;
        w.write(t, &frame[..cut], n as u32).expect("write");
        t += STEP_NS;
        written += 1;
    }
    w.finish().expect("flush");
    eprintln!("{out}: {written} packets, {made} connections");
}
