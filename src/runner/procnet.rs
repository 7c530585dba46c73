//! The kernel's own list of TCP sockets: `/proc/net/tcp` and `/proc/net/tcp6`,
//! the source that `netstat -tan` reads (`ss` asks netlink for the same table).
//!
//! Each line after the header describes one socket:
//! `sl local_address rem_address st tx_queue:rx_queue ...`, where an IPv4
//! address is one 32-bit word and an IPv6 address four 32-bit words, each
//! printed in hex in the kernel's (host) byte order, the port in hex in
//! network order, and `st` the state number of `include/net/tcp_states.h`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A socket state as the kernel numbers it (`include/net/tcp_states.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum KernelTcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl KernelTcpState {
    /// The state for the kernel's number (1..=12), `None` for anything else.
    pub fn from_code(code: u8) -> Option<KernelTcpState> {
        use KernelTcpState::*;
        Some(match code {
            0x01 => Established,
            0x02 => SynSent,
            0x03 => SynRecv,
            0x04 => FinWait1,
            0x05 => FinWait2,
            0x06 => TimeWait,
            0x07 => Close,
            0x08 => CloseWait,
            0x09 => LastAck,
            0x0A => Listen,
            0x0B => Closing,
            0x0C => NewSynRecv,
            _ => return None,
        })
    }

    /// The name `netstat` prints (`ss` prints the same with dashes).
    pub fn name(self) -> &'static str {
        use KernelTcpState::*;
        match self {
            Established => "ESTABLISHED",
            SynSent => "SYN_SENT",
            SynRecv => "SYN_RECV",
            FinWait1 => "FIN_WAIT1",
            FinWait2 => "FIN_WAIT2",
            TimeWait => "TIME_WAIT",
            Close => "CLOSE",
            CloseWait => "CLOSE_WAIT",
            LastAck => "LAST_ACK",
            Listen => "LISTEN",
            Closing => "CLOSING",
            NewSynRecv => "NEW_SYN_RECV",
        }
    }
}

impl fmt::Display for KernelTcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One line of `/proc/net/tcp{,6}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: KernelTcpState,
    pub tx_queue: u32,
    pub rx_queue: u32,
    pub inode: u64,
}

/// What is wrong with a line of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcNetError {
    #[error("{file} line {line}: missing field {field}")]
    MissingField {
        file: &'static str,
        line: usize,
        field: &'static str,
    },
    #[error("{file} line {line}: bad {field} {text:?}")]
    BadField {
        file: &'static str,
        line: usize,
        field: &'static str,
        text: String,
    },
    #[error("reading {file}: {message}")]
    Read { file: &'static str, message: String },
}

/// Parse the whole text of `/proc/net/tcp` or `/proc/net/tcp6` (`file` names
/// it in errors). The header line is skipped.
pub fn parse_table(file: &'static str, text: &str) -> Result<Vec<KernelSocket>, ProcNetError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(file, i + 1, line)?);
    }
    Ok(out)
}

/// Parse one socket line (1-based `line` number for errors).
pub fn parse_line(
    file: &'static str,
    line: usize,
    text: &str,
) -> Result<KernelSocket, ProcNetError> {
    let mut fields = text.split_whitespace();
    let mut next = |field: &'static str| {
        fields
            .next()
            .ok_or(ProcNetError::MissingField { file, line, field })
    };
    let bad = |field: &'static str, text: &str| ProcNetError::BadField {
        file,
        line,
        field,
        text: text.to_string(),
    };

    let _slot = next("sl")?;
    let local_text = next("local_address")?;
    let remote_text = next("rem_address")?;
    let state_text = next("st")?;
    let queues_text = next("tx_queue:rx_queue")?;
    let _timer = next("tr:tm->when")?;
    let _retrnsmt = next("retrnsmt")?;
    let _uid = next("uid")?;
    let _timeout = next("timeout")?;
    let inode_text = next("inode")?;

    let local = parse_endpoint(local_text).ok_or_else(|| bad("local_address", local_text))?;
    let remote = parse_endpoint(remote_text).ok_or_else(|| bad("rem_address", remote_text))?;
    let state = u8::from_str_radix(state_text, 16)
        .ok()
        .and_then(KernelTcpState::from_code)
        .ok_or_else(|| bad("st", state_text))?;
    let (tx, rx) = queues_text
        .split_once(':')
        .ok_or_else(|| bad("tx_queue:rx_queue", queues_text))?;
    let tx_queue = u32::from_str_radix(tx, 16).map_err(|_| bad("tx_queue", tx))?;
    let rx_queue = u32::from_str_radix(rx, 16).map_err(|_| bad("rx_queue", rx))?;
    let inode = inode_text
        .parse::<u64>()
        .map_err(|_| bad("inode", inode_text))?;
    Ok(KernelSocket {
        local,
        remote,
        state,
        tx_queue,
        rx_queue,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits + `:PORT` (IPv6).
fn parse_endpoint(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(addr.get(i * 8..i * 8 + 8)?)?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// One 32-bit word as the kernel printed it with `%08X` of a value in host order.
fn word(hex: &str) -> Option<u32> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// Read and parse both tables. A missing `/proc/net/tcp6` (IPv6 disabled) is
/// an empty table.
pub fn read_all() -> Result<Vec<KernelSocket>, ProcNetError> {
    let mut out = read_one("/proc/net/tcp", false)?;
    out.extend(read_one("/proc/net/tcp6", true)?);
    Ok(out)
}

fn read_one(file: &'static str, may_be_missing: bool) -> Result<Vec<KernelSocket>, ProcNetError> {
    match std::fs::read_to_string(file) {
        Ok(text) => parse_table(file, &text),
        Err(e) if may_be_missing && e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ProcNetError::Read {
            file,
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1675 1 00000000410ffcb0 100 0 0 10 0
   1: 0100007F:4E21 0100007F:A3B2 06 00000000:00000000 03:000016A8 00000000     0        0 0 3 0000000000000000
   2: 0100007F:A3B2 0100007F:4E21 01 0000001A:00000003 00:00000000 00000000  1000        0 98765 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn parses_ipv4_listen_timewait_and_established_lines() {
        let t = parse_table("/proc/net/tcp", V4).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].local, "0.0.0.0:2024".parse().unwrap());
        assert_eq!(t[0].state, KernelTcpState::Listen);
        assert_eq!(t[0].inode, 1675);
        if cfg!(target_endian = "little") {
            assert_eq!(t[1].local, "127.0.0.1:20001".parse().unwrap());
            assert_eq!(t[1].remote, "127.0.0.1:41906".parse().unwrap());
        }
        assert_eq!(t[1].state, KernelTcpState::TimeWait);
        assert_eq!(t[2].state, KernelTcpState::Established);
        assert_eq!((t[2].tx_queue, t[2].rx_queue), (0x1a, 3));
        assert_eq!(t[2].inode, 98765);
    }

    #[test]
    fn parses_ipv6_words_in_host_order() {
        // ::1 is printed as the words 00000000 00000000 00000000 01000000 on little endian.
        let line = "   0: 00000000000000000000000001000000:4E21 00000000000000000000000001000000:A3B2 08 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 0 10 -1";
        let s = parse_line("/proc/net/tcp6", 2, line).unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(s.local, "[::1]:20001".parse().unwrap());
            assert_eq!(s.remote, "[::1]:41906".parse().unwrap());
        }
        assert_eq!(s.state, KernelTcpState::CloseWait);
        // An IPv4-mapped address keeps its word layout: ::ffff:127.0.0.1.
        let mapped = "   0: 0000000000000000FFFF00000100007F:4E21 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000 20 4 0 10 -1";
        let m = parse_line("/proc/net/tcp6", 2, mapped).unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(m.local, "[::ffff:127.0.0.1]:20001".parse().unwrap());
        }
    }

    #[test]
    fn every_state_code_maps_and_unknown_codes_are_errors() {
        for code in 1..=12u8 {
            assert!(KernelTcpState::from_code(code).is_some(), "code {code}");
        }
        assert_eq!(KernelTcpState::from_code(0), None);
        assert_eq!(KernelTcpState::from_code(13), None);
        let line =
            "   0: 0100007F:4E21 0100007F:A3B2 0D 00000000:00000000 00:00000000 00000000 0 0 1 1";
        let e = parse_line("/proc/net/tcp", 7, line).unwrap_err();
        assert_eq!(
            e,
            ProcNetError::BadField {
                file: "/proc/net/tcp",
                line: 7,
                field: "st",
                text: "0D".into()
            }
        );
    }

    #[test]
    fn malformed_lines_name_the_field_and_never_panic() {
        let cases = [
            ("   0:", "local_address"),
            ("   0: 0100007F:4E21", "rem_address"),
            (
                "   0: 0100007F 0100007F:A3B2 01 0:0 0:0 0 0 0 1",
                "local_address",
            ),
            (
                "   0: 0100007G:4E21 0100007F:A3B2 01 0:0 0:0 0 0 0 1",
                "local_address",
            ),
            (
                "   0: 0100007F:4E21 0100007F:A3B2 01 00 0:0 0 0 0 1",
                "tx_queue:rx_queue",
            ),
            (
                "   0: 0100007F:4E21 0100007F:A3B2 01 0:0 0:0 0 0 0 x",
                "inode",
            ),
            (
                "   0: 0100007F:4E21 0100007F:A3B2 01 0:0 0:0 0 0 0",
                "inode",
            ),
            (
                "   0: 0100007F:14E21 0100007F:A3B2 01 0:0 0:0 0 0 0 1",
                "local_address",
            ),
        ];
        for (line, field) in cases {
            let e = parse_line("/proc/net/tcp", 3, line).unwrap_err();
            let named = match &e {
                ProcNetError::MissingField { field, .. } | ProcNetError::BadField { field, .. } => {
                    *field
                }
                ProcNetError::Read { .. } => "",
            };
            assert_eq!(named, field, "{line}: {e}");
        }
        // Multi-byte text where hex is expected must not panic on slicing.
        assert!(parse_endpoint("ééééééééééééééé€:0001").is_none());
    }

    #[test]
    fn reads_the_live_tables_and_finds_a_listener_of_our_own() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let all = read_all().unwrap();
        let mine: Vec<_> = all.iter().filter(|s| s.local == addr).collect();
        assert_eq!(mine.len(), 1, "listener {addr} in /proc/net/tcp");
        assert_eq!(mine[0].state, KernelTcpState::Listen);
    }
}
