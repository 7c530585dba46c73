//! The data checked end to end: the bytes each application wrote, the bytes
//! the capture shows on the wire (reassembled by sequence number from the
//! SYN's ISN), and the bytes the peer application read must all be equal.

use super::capture::CapturedFrame;
use super::frame::locate_tcp;
use super::scenario::AppConnection;
use std::net::SocketAddr;

/// One direction of one connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DirectionCheck {
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// Bytes the sending application wrote.
    pub written: usize,
    /// Bytes the receiving application read (`None`: it ran in another process).
    pub read: Option<usize>,
    /// Distinct stream bytes the capture shows.
    pub on_wire: usize,
    /// First stream offset where the wire, the writer and the reader differ.
    pub first_difference: Option<usize>,
    /// Payload bytes the capture shows beyond what the writer wrote.
    pub beyond_written: u64,
    pub ok: bool,
}

/// Check both directions of one application connection against the capture.
pub fn check(frames: &[CapturedFrame], conn: &AppConnection) -> Vec<DirectionCheck> {
    let Some(client) = conn.client else {
        return Vec::new();
    };
    let server_sent = conn.server_sent.as_ref().unwrap_or(&conn.client_received);
    vec![
        direction(
            frames,
            client,
            conn.server,
            &conn.client_sent,
            conn.server_received.as_deref(),
        ),
        direction(
            frames,
            conn.server,
            client,
            server_sent,
            Some(&conn.client_received),
        ),
    ]
}

fn direction(
    frames: &[CapturedFrame],
    from: SocketAddr,
    to: SocketAddr,
    written: &[u8],
    read: Option<&[u8]>,
) -> DirectionCheck {
    // The buffer is sized by what the application wrote, never by the capture.
    let mut wire = vec![0u8; written.len()];
    let mut covered = vec![false; written.len()];
    let mut isn: Option<u32> = None;
    let mut beyond = 0u64;
    for f in frames {
        let Some(t) = locate_tcp(&f.data) else {
            continue;
        };
        let i = t.info;
        if SocketAddr::new(i.src, i.src_port) != from || SocketAddr::new(i.dst, i.dst_port) != to {
            continue;
        }
        if i.flags.syn() {
            isn = Some(i.seq.0);
            continue;
        }
        let Some(isn) = isn else { continue };
        // RFC 9293 §3.4: the first data byte has sequence number ISN + 1.
        let start = i.seq.0.wrapping_sub(isn.wrapping_add(1)) as usize;
        for (i, &b) in t.payload.iter().enumerate() {
            match start.checked_add(i).filter(|&o| o < written.len()) {
                Some(o) => {
                    wire[o] = b;
                    covered[o] = true;
                }
                None => beyond += 1,
            }
        }
    }
    let on_wire = covered.iter().filter(|&&c| c).count();
    let mut first_difference = (0..written.len()).find(|&o| !covered[o] || wire[o] != written[o]);
    if let Some(r) = read {
        let reader_diff = (0..written.len().max(r.len())).find(|&o| written.get(o) != r.get(o));
        first_difference = match (first_difference, reader_diff) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    DirectionCheck {
        from,
        to,
        written: written.len(),
        read: read.map(<[u8]>::len),
        on_wire,
        first_difference,
        beyond_written: beyond,
        ok: first_difference.is_none() && beyond == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::frame::tests::ipv4_frame;

    fn cf(data: Vec<u8>) -> CapturedFrame {
        CapturedFrame { time_ns: 0, data }
    }

    fn conn(sent: &[u8], echoed: &[u8]) -> AppConnection {
        AppConnection {
            client: Some("127.0.0.1:40000".parse().unwrap()),
            server: "127.0.0.1:20001".parse().unwrap(),
            client_sent: sent.to_vec(),
            client_received: echoed.to_vec(),
            server_received: Some(sent.to_vec()),
            server_sent: Some(echoed.to_vec()),
            refused: false,
        }
    }

    fn frames(payloads: &[(u32, &[u8])]) -> Vec<CapturedFrame> {
        let mut v = vec![
            cf(ipv4_frame(40000, 20001, 99, 0x002, b"")),
            cf(ipv4_frame(20001, 40000, 499, 0x012, b"")),
        ];
        for &(off, p) in payloads {
            v.push(cf(ipv4_frame(40000, 20001, 100 + off, 0x018, p)));
            v.push(cf(ipv4_frame(20001, 40000, 500 + off, 0x018, p)));
        }
        v
    }

    #[test]
    fn intact_streams_pass_even_with_a_retransmission() {
        let f = frames(&[(0, b"hello "), (6, b"world"), (6, b"world")]);
        let c = check(&f, &conn(b"hello world", b"hello world"));
        assert_eq!(c.len(), 2);
        assert!(c.iter().all(|d| d.ok && d.on_wire == 11), "{c:?}");
    }

    #[test]
    fn a_missing_segment_a_changed_byte_and_extra_bytes_are_caught() {
        let f = frames(&[(0, b"hello ")]);
        let c = check(&f, &conn(b"hello world", b"hello world"));
        assert_eq!(c[0].first_difference, Some(6));
        assert!(!c[0].ok);

        let f = frames(&[(0, b"hellO world")]);
        assert_eq!(
            check(&f, &conn(b"hello world", b"hello world"))[0].first_difference,
            Some(4)
        );

        let f = frames(&[(0, b"hello world!")]);
        let c = check(&f, &conn(b"hello world", b"hello world"));
        assert_eq!(c[0].beyond_written, 1);
        assert!(!c[0].ok);
    }

    #[test]
    fn the_reader_seeing_other_bytes_than_the_writer_wrote_is_caught() {
        let f = frames(&[(0, b"abc")]);
        let mut c = conn(b"abc", b"abc");
        c.client_received = b"abd".to_vec();
        let checks = check(&f, &c);
        assert!(checks[0].ok);
        assert_eq!(checks[1].first_difference, Some(2));
    }
}
