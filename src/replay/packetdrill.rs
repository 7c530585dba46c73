//! A captured (or simulated) connection as a packetdrill script, so that a
//! result can be carried to a real kernel.
//!
//! One side is "local" (the kernel under test): its segments become `>`
//! lines (expected output) and its application's system calls are inferred
//! from what it sent. The other side is "remote": its segments become `<`
//! lines (injected input). Sequence and acknowledgement numbers are written
//! relative to each side's ISN, as packetdrill expects; `+t` is the time since
//! the previous line.
//!
//! Inference rules (documented in docs/replay.md):
//! - local server: `socket`, `SO_REUSEADDR`, `bind`, `listen` before the first
//!   packet, `accept` after the remote's handshake-completing ACK; a server that
//!   answered the SYN with RST gets no `listen`.
//! - local client: non-blocking `socket` + `connect` (= -1 EINPROGRESS) before
//!   its SYN; a refused connect ends with `getsockopt(SO_ERROR) = ECONNREFUSED`.
//! - `write(fd, ..., N)` before the first segment of each run of new local data
//!   that ends in PSH (Linux sets PSH on the last segment of a `sendmsg`).
//! - `read(fd, ..., N)` after each remote data segment, or, when the local side
//!   ever advertised a zero window (a slow reader), just before each window
//!   update it sent, reading everything received so far.
//! - `shutdown(fd, SHUT_WR)` before the local FIN when the remote still sends
//!   data after it; `close(fd)` otherwise.

use super::conversation::{Conversation, Role, Segment};
use crate::wire::TcpOptionsSummary;
use std::fmt::Write as _;

/// Which side the kernel under test plays.
#[derive(Clone, Copy, Debug)]
pub struct PacketdrillOptions {
    pub local: Role,
}

/// Writes the script for one connection.
pub fn to_packetdrill(conv: &Conversation, opts: &PacketdrillOptions) -> String {
    let local = opts.local;
    let remote = local.peer();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// packetdrill script written by tcpsim export --packetdrill"
    );
    let _ = writeln!(
        out,
        "// connection {} (client) <-> {} (server); the local kernel plays the {}",
        conv.client,
        conv.server,
        local.name()
    );
    let _ = writeln!(
        out,
        "// sequence numbers are relative to each side's ISN; times are the capture's gaps"
    );
    let Some(first) = conv.segments.first() else {
        let _ = writeln!(out, "// (no segments)");
        return out;
    };

    let mut w = ScriptWriter {
        out,
        last_ns: first.time_ns,
        first_line: true,
    };
    let fd = match local {
        Role::Server => {
            let listens = conv
                .segments
                .iter()
                .any(|s| s.from == Role::Server && s.flags.syn());
            w.syscall(first.time_ns, "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
            w.syscall(
                first.time_ns,
                "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
            );
            w.syscall(first.time_ns, "bind(3, ..., ...) = 0");
            if listens {
                w.syscall(first.time_ns, "listen(3, 1) = 0");
            }
            4
        }
        Role::Client => {
            w.syscall(first.time_ns, "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
            w.syscall(first.time_ns, "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
            if conv.syn_of(Role::Client).is_some() {
                w.syscall(
                    first.time_ns,
                    "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
                );
            }
            3
        }
    };

    let slow_reader = conv
        .segments
        .iter()
        .any(|s| s.from == local && s.window == 0 && !s.flags.rst());
    let local_fin_idx = conv
        .segments
        .iter()
        .position(|s| s.from == local && s.flags.fin());
    let remote_data_after_fin = local_fin_idx.is_some_and(|i| {
        conv.segments[i + 1..]
            .iter()
            .any(|s| s.from == remote && s.len > 0)
    });

    let local_isn = conv.isn_of(local).map(|s| s.0).unwrap_or(0);
    let mut local_high: u32 = 0; // highest relative data end sent by local
    let mut remote_high: u32 = 0; // highest relative data end received from remote
    let mut read_upto: u32 = 0;
    let mut accepted = local == Role::Client;
    let mut in_write_run = false;
    let mut last_local_window: Option<u16> = None;
    let mut closed = false;

    for (i, seg) in conv.segments.iter().enumerate() {
        let t = seg.time_ns;
        if seg.from == local {
            // Reads a slow reader made: just before a window update.
            if slow_reader && !seg.flags.syn() && seg.len == 0 {
                let grew = last_local_window.is_some_and(|prev| seg.window > prev);
                if grew && remote_high > read_upto {
                    w.syscall(
                        t,
                        &format!(
                            "read({fd}, ..., {}) = {}",
                            remote_high - read_upto,
                            remote_high - read_upto
                        ),
                    );
                    read_upto = remote_high;
                }
            }
            // Writes: new data starting a run.
            if seg.len > 0 {
                let rel = seg.seq.0.wrapping_sub(local_isn);
                let start = rel.wrapping_add(u32::from(seg.flags.syn())).wrapping_sub(1);
                let end = start.wrapping_add(seg.len);
                if end > local_high {
                    if !in_write_run {
                        let size = write_run_size(conv, i, local, local_isn, local_high);
                        if size > 0 {
                            w.syscall(t, &format!("write({fd}, ..., {size}) = {size}"));
                        }
                        in_write_run = true;
                    }
                    local_high = end;
                    if seg.flags.psh() {
                        in_write_run = false;
                    }
                }
            }
            if seg.flags.fin() && !closed {
                if !slow_reader && remote_high > read_upto {
                    read_upto = remote_high;
                }
                if slow_reader && remote_high > read_upto {
                    w.syscall(
                        t,
                        &format!(
                            "read({fd}, ..., {}) = {}",
                            remote_high - read_upto,
                            remote_high - read_upto
                        ),
                    );
                    read_upto = remote_high;
                }
                if remote_data_after_fin {
                    w.syscall(t, &format!("shutdown({fd}, SHUT_WR) = 0"));
                } else {
                    w.syscall(t, &format!("close({fd}) = 0"));
                }
                closed = true;
            }
            w.packet(t, '>', conv, seg);
            if !seg.flags.syn() && !seg.flags.rst() {
                last_local_window = Some(seg.window);
            }
        } else {
            w.packet(t, '<', conv, seg);
            // accept() returns once the handshake's last ACK arrived.
            if !accepted && seg.flags.ack() && !seg.flags.syn() && !seg.flags.rst() {
                w.syscall(t, "accept(3, ..., ...) = 4");
                accepted = true;
            }
            if seg.len > 0 {
                let rel = seg
                    .seq
                    .0
                    .wrapping_sub(conv.isn_of(remote).map(|s| s.0).unwrap_or(0));
                let start = rel.wrapping_add(u32::from(seg.flags.syn())).wrapping_sub(1);
                let end = start.wrapping_add(seg.len);
                if end > remote_high {
                    remote_high = end;
                }
                if !slow_reader && !closed && remote_high > read_upto {
                    w.syscall(
                        t,
                        &format!(
                            "read({fd}, ..., {}) = {}",
                            remote_high - read_upto,
                            remote_high - read_upto
                        ),
                    );
                    read_upto = remote_high;
                }
            }
            if local == Role::Client && seg.flags.rst() && seg.flags.ack() && i <= 1 {
                w.syscall(
                    t,
                    "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0",
                );
            }
        }
    }
    w.out
}

/// Bytes of new local data from segment `i` to the end of its PSH-terminated run.
fn write_run_size(conv: &Conversation, i: usize, local: Role, isn: u32, mut high: u32) -> u32 {
    let mut total = 0u32;
    for seg in conv.segments[i..]
        .iter()
        .filter(|s| s.from == local && s.len > 0)
    {
        let rel = seg.seq.0.wrapping_sub(isn);
        let start = rel.wrapping_add(u32::from(seg.flags.syn())).wrapping_sub(1);
        let end = start.wrapping_add(seg.len);
        if end > high {
            total = total.saturating_add(end - high.max(start));
            high = end;
            if seg.flags.psh() {
                break;
            }
        }
    }
    total
}

struct ScriptWriter {
    out: String,
    last_ns: i64,
    first_line: bool,
}

impl ScriptWriter {
    fn time(&mut self, t: i64) -> String {
        let s = if self.first_line {
            self.first_line = false;
            "0".to_string()
        } else {
            let d = (t - self.last_ns).max(0);
            if d == 0 {
                "+0".to_string()
            } else {
                format!("+{}.{:06}", d / 1_000_000_000, (d % 1_000_000_000) / 1000)
            }
        };
        self.last_ns = self.last_ns.max(t);
        s
    }

    fn syscall(&mut self, t: i64, call: &str) {
        let ts = self.time(t);
        let _ = writeln!(self.out, "{ts:<10} {call}");
    }

    fn packet(&mut self, t: i64, dir: char, conv: &Conversation, seg: &Segment) {
        let ts = self.time(t);
        let line = packet_line(dir, conv, seg);
        let _ = writeln!(self.out, "{ts:<10} {line}");
    }
}

/// `< S 0:0(0) win 65535 <mss 1460,...>` for one segment.
pub fn packet_line(dir: char, conv: &Conversation, seg: &Segment) -> String {
    let f = seg.flags;
    let mut flags = String::new();
    for (on, c) in [
        (f.fin(), 'F'),
        (f.syn(), 'S'),
        (f.rst(), 'R'),
        (f.psh(), 'P'),
        (f.ack(), '.'),
        (f.urg(), 'U'),
        (f.ece(), 'E'),
        (f.cwr(), 'W'),
    ] {
        if on {
            flags.push(c);
        }
    }
    if flags.is_empty() {
        flags.push('.'); // packetdrill needs a flag; a segment without any is shown as bare ACK-less '.'
    }
    let rel = conv.rel_seq(seg);
    let mut line = format!(
        "{dir} {flags} {}:{}({})",
        rel,
        rel.wrapping_add(seg.len),
        seg.len
    );
    if f.ack() {
        let _ = write!(line, " ack {}", conv.rel_ack(seg));
    }
    let _ = write!(line, " win {}", seg.window);
    let opts = options_text(conv, seg, &seg.options);
    if !opts.is_empty() {
        let _ = write!(line, " <{opts}>");
    }
    line
}

/// Options in packetdrill's spelling, in Linux's order for SYNs
/// (mss, sackOK, TS, nop, wscale) and `nop,nop,TS` / `nop,nop,sack` otherwise.
fn options_text(conv: &Conversation, seg: &Segment, o: &TcpOptionsSummary) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = o.mss {
        parts.push(format!("mss {m}"));
    }
    if o.sack_perm {
        parts.push("sackOK".into());
    }
    if let Some((val, ecr)) = o.timestamps {
        if !o.sack_perm {
            parts.push("nop".into());
            parts.push("nop".into());
        }
        parts.push(format!("TS val {val} ecr {ecr}"));
    }
    if let Some(ws) = o.wscale {
        parts.push("nop".into());
        parts.push(format!("wscale {ws}"));
    }
    if o.sack_count > 0 {
        // SACK blocks are relative to the receiver's (the acknowledged side's) ISN.
        let isn = conv.isn_of(seg.from.peer()).map(|s| s.0).unwrap_or(0);
        let blocks: Vec<String> = o.sack[..usize::from(o.sack_count).min(o.sack.len())]
            .iter()
            .map(|(l, r)| format!("{}:{}", l.0.wrapping_sub(isn), r.0.wrapping_sub(isn)))
            .collect();
        parts.push("nop".into());
        parts.push("nop".into());
        parts.push(format!("sack {}", blocks.join(" ")));
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::conversation::split_conversations;
    use crate::replay::conversation::tests::echo_packets;

    #[test]
    fn echo_as_server() {
        let conv = &split_conversations(&echo_packets())[0];
        let s = to_packetdrill(
            conv,
            &PacketdrillOptions {
                local: Role::Server,
            },
        );
        let lines: Vec<&str> = s
            .lines()
            .filter(|l| !l.starts_with("//"))
            .map(str::trim_end)
            .collect();
        let expect = [
            "0          socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
            "+0         setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
            "+0         bind(3, ..., ...) = 0",
            "+0         listen(3, 1) = 0",
            "+0         < S 0:0(0) win 65495 <mss 65495,sackOK,TS val 1000 ecr 0,nop,wscale 7>",
            "+0.001000  > S. 0:0(0) ack 1 win 65483 <mss 65495,sackOK,TS val 1000 ecr 0,nop,wscale 7>",
            "+0.001000  < . 1:1(0) ack 1 win 512",
            "+0         accept(3, ..., ...) = 4",
            "+0.001000  < P. 1:6(5) ack 1 win 512",
            "+0         read(4, ..., 5) = 5",
            "+0.001000  > . 1:1(0) ack 6 win 512",
            "+0.001000  write(4, ..., 5) = 5",
            "+0         > P. 1:6(5) ack 6 win 512",
            "+0.001000  < . 6:6(0) ack 6 win 512",
            "+0.001000  < F. 6:6(0) ack 6 win 512",
            "+0.001000  close(4) = 0",
            "+0         > F. 6:6(0) ack 7 win 512",
            "+0.001000  < . 7:7(0) ack 7 win 512",
        ];
        assert_eq!(lines, expect, "\n{s}");
    }

    #[test]
    fn echo_as_client() {
        let conv = &split_conversations(&echo_packets())[0];
        let s = to_packetdrill(
            conv,
            &PacketdrillOptions {
                local: Role::Client,
            },
        );
        assert!(s.contains("connect(3, ..., ...) = -1 EINPROGRESS"), "{s}");
        assert!(s.contains("> S 0:0(0) win 65495"), "{s}");
        assert!(s.contains("< S. 0:0(0) ack 1 win 65483"), "{s}");
        assert!(s.contains("write(3, ..., 5) = 5"), "{s}");
        assert!(s.contains("read(3, ..., 5) = 5"), "{s}");
        assert!(!s.contains("accept"), "{s}");
        // The client closes first, with nothing arriving afterwards: close(), not shutdown().
        let close = s.find("close(3) = 0").expect("close");
        let fin = s.find("> F. 6:6(0) ack 6").expect("fin");
        assert!(close < fin, "{s}");
    }
}
