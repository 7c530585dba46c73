//! Writes a synthetic capture for benchmarks: many interleaved TCP
//! connections (handshake with MSS, SACK-permitted, timestamps and window
//! scale; data segments of 1 to 200 bytes with timestamps; ACKs, some with
//! SACK blocks; FIN close), Ethernet frames with correct checksums,
//! nanosecond pcap. Deterministic.
//!
//! usage: gen_capture OUT.pcap PACKETS

use std::net::{IpAddr, Ipv4Addr};
use tcpsim::pcap::{linktype, PcapWriter};
use tcpsim::wire::emit::build_ethernet_frame;
use tcpsim::wire::{SeqNumber, TcpFlags, TcpOption, TcpRepr};

struct Conn {
    client: IpAddr,
    server: IpAddr,
    cport: u16,
    cseq: u32,
    sseq: u32,
    step: u32,
}

fn repr(
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u16,
    options: Vec<TcpOption>,
) -> TcpRepr {
    let opt_len: usize = options
        .iter()
        .map(|o| match o {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::Mss(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(b) => 2 + 8 * b.len(),
            TcpOption::Timestamps { .. } => 10,
            _ => 0,
        })
        .sum();
    TcpRepr {
        src_port,
        dst_port,
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        header_len: (20 + opt_len) as u8,
        flags: TcpFlags(flags),
        window: 502,
        checksum: 0,
        urgent: 0,
        options,
        trailing: Vec::new(),
    }
}

fn ts(v: u32, e: u32) -> Vec<TcpOption> {
    vec![
        TcpOption::NoOperation,
        TcpOption::NoOperation,
        TcpOption::Timestamps { tsval: v, tsecr: e },
    ]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: gen_capture OUT.pcap PACKETS");
        std::process::exit(2);
    };
    let total: u64 = n.parse().expect("PACKETS is a number");
    let mut w = PcapWriter::create(&out, linktype::ETHERNET).expect("create output");
    let payload = [0x61u8; 200];
    let mut frame = Vec::with_capacity(512);
    let mut conns: Vec<Conn> = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut t: i64 = 1_700_000_000_000_000_000;
    let mut written = 0u64;
    let mut opened = 0u32;
    while written < total {
        if conns.len() < 64 {
            opened += 1;
            conns.push(Conn {
                client: IpAddr::V4(Ipv4Addr::new(10, 0, (opened >> 8) as u8, opened as u8)),
                server: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)),
                cport: 20000 + (opened % 40000) as u16,
                cseq: next() as u32,
                sseq: next() as u32,
                step: 0,
            });
        }
        let i = (next() % conns.len() as u64) as usize;
        let c = &mut conns[i];
        let tsv = (t / 1_000_000) as u32;
        let (src, dst, r, len) = match c.step {
            0 => {
                let o = vec![
                    TcpOption::Mss(1460),
                    TcpOption::SackPermitted,
                    TcpOption::Timestamps {
                        tsval: tsv,
                        tsecr: 0,
                    },
                    TcpOption::NoOperation,
                    TcpOption::WindowScale(7),
                ];
                (
                    c.client,
                    c.server,
                    repr(c.cport, 443, c.cseq, 0, TcpFlags::SYN, o),
                    0,
                )
            }
            1 => {
                let o = vec![
                    TcpOption::Mss(1460),
                    TcpOption::SackPermitted,
                    TcpOption::Timestamps {
                        tsval: tsv,
                        tsecr: tsv,
                    },
                    TcpOption::NoOperation,
                    TcpOption::WindowScale(7),
                ];
                let r = repr(
                    443,
                    c.cport,
                    c.sseq,
                    c.cseq.wrapping_add(1),
                    TcpFlags::SYN | TcpFlags::ACK,
                    o,
                );
                (c.server, c.client, r, 0)
            }
            s if s >= 2000 => {
                let r = repr(
                    c.cport,
                    443,
                    c.cseq.wrapping_add(1),
                    c.sseq.wrapping_add(1),
                    TcpFlags::FIN | TcpFlags::ACK,
                    ts(tsv, tsv),
                );
                (c.client, c.server, r, 0)
            }
            s if s % 2 == 0 => {
                let len = 1 + (next() % 200) as usize;
                let r = repr(
                    443,
                    c.cport,
                    c.sseq.wrapping_add(1),
                    c.cseq.wrapping_add(1),
                    TcpFlags::PSH | TcpFlags::ACK,
                    ts(tsv, tsv),
                );
                c.sseq = c.sseq.wrapping_add(len as u32);
                (c.server, c.client, r, len)
            }
            _ => {
                let mut o = ts(tsv, tsv);
                if next() % 16 == 0 {
                    let base = c.sseq.wrapping_add(1000);
                    o.push(TcpOption::NoOperation);
                    o.push(TcpOption::NoOperation);
                    o.push(TcpOption::Sack(vec![(
                        SeqNumber(base),
                        SeqNumber(base.wrapping_add(500)),
                    )]));
                }
                let r = repr(
                    c.cport,
                    443,
                    c.cseq.wrapping_add(1),
                    c.sseq.wrapping_add(1),
                    TcpFlags::ACK,
                    o,
                );
                (c.client, c.server, r, 0)
            }
        };
        frame.clear();
        build_ethernet_frame(src, dst, &r, &payload[..len], &mut frame).expect("frame");
        w.write(t, &frame, frame.len() as u32).expect("write");
        written += 1;
        t += 1_000 + (next() % 50_000) as i64;
        c.step += 1;
        if c.step > 2000 {
            conns.swap_remove(i);
        }
    }
    w.finish().expect("flush");
}
