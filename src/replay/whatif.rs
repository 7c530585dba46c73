//! What-if re-runs: a captured connection re-simulated with two tcpsim
//! endpoints, each configured from what the capture shows and driven by the
//! recorded application behaviour, under changed settings
//! (`rcvbuf=4096,mss=536,drop=17`).
//!
//! Recorded application behaviour (docs/replay.md):
//! - each side connects, listens, writes, shuts down and closes at the
//!   recorded times ([`infer_script`]); writes that do not fit the send
//!   buffer wait for space;
//! - each side reads what arrives right after its endpoint has acknowledged
//!   it (the application is another process), except a side that advertised
//!   a zero window in the capture: that slow reader reads, by the time of each
//!   of its recorded ACKs, what leaves the window it advertised free.
//!
//! The network is one fixed one-way delay per direction, half the recorded
//! handshake round trip, and drops of chosen segments.

use super::conversation::{Conversation, Role};
use super::infer::{infer_script, AppCall, SideScript};
use crate::tcp::{Config, Duration, Endpoint, Instant, Segment as TcpSegment};
use crate::timeline::{AnalysisFlag, SimExtras, Source, SourceKind, Timeline, TimelineBuilder};
use crate::wire::{ChecksumStatus, TcpPacketInfo};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// Settings changed for a what-if run. `None` keeps what the capture shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SideChanges {
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
    pub mss: Option<u16>,
    pub wscale: Option<Option<u8>>,
    pub sack: Option<bool>,
    pub timestamps: Option<bool>,
    pub nagle: Option<bool>,
    /// Delayed-ACK timeout; `Some(None)` = ACK every segment at once.
    pub delayed_ack_ms: Option<Option<u64>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WhatIf {
    pub client: SideChanges,
    pub server: SideChanges,
    /// One-way delay in microseconds (both directions).
    pub delay_us: Option<u64>,
    /// Segments (1-based, in the order the re-run sends them: the frame
    /// numbers of the new timeline) that the network drops.
    pub drop: BTreeSet<u64>,
    /// The text it was parsed from.
    pub spec: String,
}

/// Parses `key=value[,key=value...]`. Keys: rcvbuf, sndbuf, mss, wscale
/// (a shift or `off`), sack, timestamps, nagle (on/off), delack (ms or
/// `off`), each optionally prefixed `client.` or `server.`; delay (µs one
/// way); drop (a frame number of the new timeline; repeatable).
pub fn parse_what_if(spec: &str) -> Result<WhatIf, String> {
    let mut w = WhatIf {
        spec: spec.to_string(),
        ..WhatIf::default()
    };
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("what-if item '{item}' is not key=value"))?;
        let (sides, key): (&[Role], &str) = match key.split_once('.') {
            Some(("client", k)) => (&[Role::Client], k),
            Some(("server", k)) => (&[Role::Server], k),
            Some((other, _)) => {
                return Err(format!(
                    "what-if '{item}': unknown side '{other}' (client or server)"
                ))
            }
            None => (&[Role::Client, Role::Server], key),
        };
        let num = |max: u64| -> Result<u64, String> {
            let n: u64 = value
                .parse()
                .map_err(|_| format!("what-if '{item}': '{value}' is not a number"))?;
            if n > max {
                return Err(format!("what-if '{item}': {n} is above the maximum {max}"));
            }
            Ok(n)
        };
        let onoff = || -> Result<bool, String> {
            match value {
                "on" | "1" | "true" | "yes" => Ok(true),
                "off" | "0" | "false" | "no" => Ok(false),
                _ => Err(format!("what-if '{item}': expected on or off")),
            }
        };
        match key {
            "delay" => w.delay_us = Some(num(60_000_000)?),
            "drop" => {
                let n = num(u64::from(u32::MAX))?;
                if n == 0 {
                    return Err(format!("what-if '{item}': frames are numbered from 1"));
                }
                w.drop.insert(n);
            }
            _ => {
                for side in sides {
                    let c = if *side == Role::Client {
                        &mut w.client
                    } else {
                        &mut w.server
                    };
                    match key {
                        "rcvbuf" => c.rcvbuf = Some(num(1 << 30)?.max(1) as u32),
                        "sndbuf" => c.sndbuf = Some(num(1 << 30)?.max(1) as u32),
                        "mss" => c.mss = Some(num(65535)?.max(1) as u16),
                        "wscale" => c.wscale = Some(if value == "off" { None } else { Some(num(14)? as u8) }),
                        "sack" => c.sack = Some(onoff()?),
                        "timestamps" => c.timestamps = Some(onoff()?),
                        "nagle" => c.nagle = Some(onoff()?),
                        "delack" => {
                            c.delayed_ack_ms = Some(if value == "off" { None } else { Some(num(10_000)?) })
                        }
                        _ => {
                            return Err(format!(
                                "what-if: unknown setting '{key}' (rcvbuf, sndbuf, mss, wscale, sack, timestamps, nagle, delack, delay, drop)"
                            ))
                        }
                    }
                }
            }
        }
    }
    Ok(w)
}

/// One segment of the re-run, as its sender sent it.
#[derive(Clone, Copy, Debug)]
pub struct RerunPacket {
    pub info: TcpPacketInfo,
    pub from: Role,
    /// The sender's congestion window and slow-start threshold after sending it.
    pub cwnd: u32,
    pub ssthresh: u32,
    /// The network dropped it.
    pub lost: bool,
}

/// The outcome of a re-run.
pub struct Rerun {
    pub packets: Vec<RerunPacket>,
    pub client_config: Config,
    pub server_config: Config,
    pub delay: Duration,
    /// Bytes each side's application wrote and the peer's application read.
    pub written: [u64; 2],
    pub read: [u64; 2],
}

/// Cap on steps of one re-run, so no capture can make it run away.
const MAX_STEPS: usize = 5_000_000;
/// Segments kept; a run that sends more stops there.
const MAX_PACKETS: usize = 500_000;

fn config_for(script: &SideScript, ch: &SideChanges) -> Config {
    let s = &script.settings;
    Config {
        isn: s.isn,
        mss: ch.mss.unwrap_or(s.mss),
        send_buffer: ch.sndbuf.map_or(4 << 20, |b| b as usize),
        recv_buffer: ch.rcvbuf.unwrap_or(s.recv_buffer).max(1) as usize,
        window_scale: ch.wscale.unwrap_or(s.wscale),
        sack: ch.sack.unwrap_or(s.sack),
        timestamps: ch.timestamps.unwrap_or(s.timestamps),
        nagle: ch.nagle.unwrap_or(true),
        delayed_ack: match ch.delayed_ack_ms {
            Some(Some(ms)) => Some(Duration::from_millis(ms)),
            Some(None) => None,
            None => None,
        },
        ..Config::default()
    }
}

/// Read schedule of `role`'s application: `None` = it reads everything as
/// soon as it arrives. A side that advertised a zero window in the capture
/// is a slow reader: by the time of each of its recorded ACKs it had read
/// (at least) what leaves the window it advertised free, with its buffer
/// taken as the largest window it advertised.
fn read_schedule(conv: &Conversation, role: Role) -> Option<Vec<(i64, u64)>> {
    let slow = conv
        .segments
        .iter()
        .any(|s| s.from == role && s.window == 0 && !s.flags.rst() && !s.flags.syn());
    if !slow {
        return None;
    }
    let peer_isn = conv.isn_of(role.peer())?;
    let buffer = conv
        .segments
        .iter()
        .filter(|s| s.from == role && !s.flags.rst())
        .map(|s| conv.window_bytes(s))
        .max()?;
    let mut out = Vec::new();
    let mut best = 0u64;
    for s in conv
        .segments
        .iter()
        .filter(|s| s.from == role && s.flags.ack() && !s.flags.syn())
    {
        let rel = s.ack.0.wrapping_sub(peer_isn.0);
        if rel == 0 || rel > (1 << 31) {
            continue;
        }
        let received = u64::from(rel - 1);
        let target =
            received.saturating_sub(u64::from(buffer.saturating_sub(conv.window_bytes(s))));
        if target > best {
            best = target;
            out.push((s.time_ns, target));
        }
    }
    Some(out)
}

/// Re-simulates `conv` under `w`.
pub fn rerun(conv: &Conversation, w: &WhatIf) -> Rerun {
    let roles = [Role::Client, Role::Server];
    let scripts = roles.map(|r| infer_script(conv, r));
    let cfgs = [
        config_for(&scripts[0], &w.client),
        config_for(&scripts[1], &w.server),
    ];
    let mut eps = [
        Endpoint::new(cfgs[0].clone()),
        Endpoint::new(cfgs[1].clone()),
    ];
    let schedules = roles.map(|r| read_schedule(conv, r));
    let t0 = conv.segments.first().map(|s| s.time_ns).unwrap_or(0);
    let rel = |t: i64| Instant::from_nanos(t.saturating_sub(t0).max(0) as u64);
    let delay = Duration::from_micros(w.delay_us.unwrap_or_else(|| handshake_delay_us(conv)));
    let addr = [conv.client, conv.server];

    // Application inputs of both sides, in time order: (time, side, call or read allowance).
    #[derive(Clone, Copy)]
    enum App {
        Call(AppCall),
        ReadUpTo(u64),
    }
    let mut apps: Vec<(Instant, usize, App)> = Vec::new();
    for (i, sc) in scripts.iter().enumerate() {
        for a in &sc.actions {
            apps.push((rel(a.time_ns), i, App::Call(a.call)));
        }
        for &(t, bytes) in schedules[i].iter().flatten() {
            apps.push((rel(t), i, App::ReadUpTo(bytes)));
        }
    }
    apps.sort_by_key(|(t, i, a)| (*t, matches!(a, App::ReadUpTo(_)), *i));

    let mut in_flight: BinaryHeap<Reverse<(Instant, u64, usize)>> = BinaryHeap::new();
    let mut flight_segs: std::collections::HashMap<u64, TcpSegment> =
        std::collections::HashMap::new();
    let mut flight_id = 0u64;
    let mut pending_write = [0u64; 2];
    // Shut down the write side once everything written went into the send buffer.
    let mut close_pending = [false; 2];
    let mut may_read = [0, 1].map(|i| if schedules[i].is_none() { u64::MAX } else { 0 });
    let mut written = [0u64; 2];
    let mut read = [0u64; 2];
    let mut packets: Vec<RerunPacket> = Vec::new();
    let mut next_app = 0usize;
    let mut now = Instant::ZERO;
    let last = conv
        .segments
        .last()
        .map(|s| rel(s.time_ns))
        .unwrap_or(Instant::ZERO);
    let horizon = last + Duration::from_secs(30);
    let mut steps = 0usize;

    loop {
        steps += 1;
        if steps > MAX_STEPS || packets.len() >= MAX_PACKETS {
            break;
        }
        // Transmit first: what just arrived is acknowledged before the
        // application (another process on a real host) gets to read it.
        for _pass in 0..2 {
            for i in 0..2 {
                while let Some(seg) = eps[i].poll_transmit(now) {
                    let frame = packets.len() as u64 + 1;
                    let lost = w.drop.contains(&frame);
                    packets.push(RerunPacket {
                        info: packet_info_of(&seg, frame, t0, now, addr[i], addr[1 - i]),
                        from: roles[i],
                        cwnd: eps[i].cwnd(),
                        ssthresh: eps[i].ssthresh(),
                        lost,
                    });
                    if !lost {
                        flight_id += 1;
                        in_flight.push(Reverse((now + delay, flight_id, 1 - i)));
                        flight_segs.insert(flight_id, seg);
                    }
                    if packets.len() >= MAX_PACKETS {
                        break;
                    }
                }
            }
            if _pass == 0 {
                // Application reads and writes, as far as buffers allow.
                for i in 0..2 {
                    if pending_write[i] > 0 {
                        let want = usize::try_from(pending_write[i])
                            .unwrap_or(usize::MAX)
                            .min(eps[i].send_capacity());
                        if want > 0 {
                            if let Ok(n) = eps[i].send_generated(want) {
                                pending_write[i] -= n as u64;
                                written[i] += n as u64;
                            }
                        }
                    }
                    if close_pending[i] && pending_write[i] == 0 {
                        let _ = eps[i].shutdown();
                        close_pending[i] = false;
                    }
                    let allowance = may_read[i].saturating_sub(read[i]);
                    if allowance > 0 {
                        let n =
                            eps[i].recv_discard(usize::try_from(allowance).unwrap_or(usize::MAX));
                        read[i] += n as u64;
                    }
                }
            }
        }
        // Next moment something happens.
        let t_app = apps.get(next_app).map(|a| a.0);
        let t_net = in_flight.peek().map(|Reverse((t, _, _))| *t);
        let t_timer = [eps[0].poll_timeout(), eps[1].poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let apps_done = next_app >= apps.len();
        let quiet = apps_done
            && in_flight.is_empty()
            && pending_write == [0, 0]
            && close_pending == [false, false];
        let both_done = eps.iter().all(|e| {
            matches!(
                e.state(),
                crate::tcp::TcpState::Closed | crate::tcp::TcpState::TimeWait
            )
        });
        if quiet && (both_done || t_timer.is_none()) {
            break;
        }
        let Some(next) = [t_app, t_net, t_timer].into_iter().flatten().min() else {
            break;
        };
        if next > horizon {
            break;
        }
        now = now.max(next);
        if t_timer == Some(next) {
            for ep in eps.iter_mut() {
                if ep.poll_timeout().is_some_and(|t| t <= now) {
                    ep.handle_timeout(now);
                }
            }
        }
        while let Some(Reverse((t, id, to))) = in_flight.peek().copied() {
            if t > now {
                break;
            }
            in_flight.pop();
            if let Some(seg) = flight_segs.remove(&id) {
                eps[to].handle_segment(now, seg);
            }
        }
        while next_app < apps.len() && apps[next_app].0 <= now {
            let (_, i, app) = apps[next_app];
            next_app += 1;
            let (local, remote) = (addr[i].port(), addr[1 - i].port());
            match app {
                App::ReadUpTo(b) => may_read[i] = may_read[i].max(b),
                App::Call(AppCall::Listen) => {
                    let _ = eps[i].listen(local);
                }
                App::Call(AppCall::Connect) => {
                    let _ = eps[i].connect(now, local, remote);
                }
                App::Call(AppCall::Write { bytes }) => pending_write[i] += u64::from(bytes),
                App::Call(AppCall::ReadAll) => may_read[i] = u64::MAX,
                App::Call(AppCall::ShutdownWrite) => close_pending[i] = true,
                // A close is modelled as shutdown plus reading (and discarding)
                // whatever still arrives, so the data written before it still
                // goes out even when the re-run is slower than the capture.
                App::Call(AppCall::Close) => {
                    close_pending[i] = true;
                    may_read[i] = u64::MAX;
                }
                App::Call(AppCall::Abort) => eps[i].abort(),
            }
        }
    }
    let [client_config, server_config] = cfgs;
    Rerun {
        packets,
        client_config,
        server_config,
        delay,
        written,
        read,
    }
}

/// Half the recorded handshake round trip (SYN to the ACK completing it), in µs; 50 µs when unknown.
pub fn handshake_delay_us(conv: &Conversation) -> u64 {
    let syn = conv.syn_of(Role::Client);
    let ack = syn.and_then(|syn| {
        conv.segments.iter().find(|s| {
            s.from == Role::Client && !s.flags.syn() && s.flags.ack() && s.time_ns >= syn.time_ns
        })
    });
    match (syn, ack) {
        (Some(s), Some(a)) => (((a.time_ns.saturating_sub(s.time_ns)) / 2 / 1000).max(1)) as u64,
        _ => 50,
    }
}

fn packet_info_of(
    seg: &TcpSegment,
    frame: u64,
    t0: i64,
    now: Instant,
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
) -> TcpPacketInfo {
    let len = seg.payload.len() as u32;
    let hdr = 20 + seg.options_len() as u32;
    let ip_hdr = if src.is_ipv4() { 20 } else { 40 };
    TcpPacketInfo {
        number: frame,
        time_ns: t0.saturating_add(now.as_nanos() as i64),
        frame_len: 14 + ip_hdr + hdr + len,
        cap_len: 14 + ip_hdr + hdr + len,
        src: src.ip(),
        dst: dst.ip(),
        src_port: src.port(),
        dst_port: dst.port(),
        seq: seg.seq,
        ack: seg.ack,
        flags: seg.flags,
        window: seg.window,
        header_len: hdr as u8,
        payload_len: len,
        checksum: 0,
        checksum_status: ChecksumStatus::Good,
        urgent: 0,
        options: seg.options,
    }
}

/// The re-run as a timeline (source kind `replay`), each segment as it
/// left its sender; dropped ones are marked `lost`.
pub fn rerun_timeline(r: &Rerun, name: String) -> Timeline {
    let source = Source {
        kind: SourceKind::Replay,
        name,
        seed: None,
        packets: 0,
    };
    let mut b = TimelineBuilder::new(source);
    for p in &r.packets {
        let extras = SimExtras {
            cwnd: Some(p.cwnd),
            ssthresh: (p.ssthresh != u32::MAX).then_some(p.ssthresh),
            lost: p.lost,
            note: p.lost.then(|| "dropped by the what-if".to_string()),
        };
        b.push_annotated(&p.info, extras);
    }
    b.finish()
}

/// Counts that tell two timelines apart at a glance.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TimelineCounts {
    pub packets: usize,
    pub zero_window: usize,
    pub retransmissions: usize,
    pub lost: usize,
    pub duration: f64,
}

pub fn counts(t: &Timeline) -> TimelineCounts {
    let mut c = TimelineCounts::default();
    for conn in &t.connections {
        c.packets += conn.events.len();
        c.duration = c.duration.max(conn.verdict.duration);
        for e in &conn.events {
            if e.analysis.contains(&AnalysisFlag::ZeroWindow) {
                c.zero_window += 1;
            }
            if e.analysis.iter().any(|f| {
                matches!(
                    f,
                    AnalysisFlag::Retransmission
                        | AnalysisFlag::FastRetransmission
                        | AnalysisFlag::SpuriousRetransmission
                )
            }) {
                c.retransmissions += 1;
            }
            if e.lost {
                c.lost += 1;
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::conversation::split_conversations;
    use crate::replay::conversation::tests::echo_packets;

    #[test]
    fn parses_settings() {
        let w =
            parse_what_if("rcvbuf=4096,server.mss=536,drop=17,drop=20,delay=100,client.sack=off")
                .unwrap();
        assert_eq!(w.client.rcvbuf, Some(4096));
        assert_eq!(w.server.rcvbuf, Some(4096));
        assert_eq!(w.server.mss, Some(536));
        assert_eq!(w.client.mss, None);
        assert_eq!(w.client.sack, Some(false));
        assert_eq!(w.drop.iter().copied().collect::<Vec<_>>(), vec![17, 20]);
        assert_eq!(w.delay_us, Some(100));
        assert!(parse_what_if("rcvbuf")
            .unwrap_err()
            .contains("not key=value"));
        assert!(parse_what_if("color=red")
            .unwrap_err()
            .contains("unknown setting"));
        assert!(parse_what_if("mss=99999").unwrap_err().contains("maximum"));
        assert!(parse_what_if("drop=0").unwrap_err().contains("from 1"));
        assert!(parse_what_if("peer.mss=5")
            .unwrap_err()
            .contains("unknown side"));
    }

    #[test]
    fn unchanged_rerun_of_echo_delivers_both_ways_and_closes() {
        let conv = &split_conversations(&echo_packets())[0];
        let r = rerun(conv, &WhatIf::default());
        assert_eq!(r.written, [5, 5]);
        assert_eq!(r.read, [5, 5]);
        let flags: Vec<u16> = r.packets.iter().map(|p| p.info.flags.0 & 0x17).collect();
        assert_eq!(flags[0], 0x002, "SYN first");
        assert_eq!(flags[1], 0x012, "SYN-ACK second");
        assert_eq!(r.packets.iter().filter(|p| p.info.flags.fin()).count(), 2);
        assert!(r.packets.iter().all(|p| !p.lost));
    }

    #[test]
    fn dropped_frame_is_marked_and_retransmitted() {
        let conv = &split_conversations(&echo_packets())[0];
        let base = rerun(conv, &WhatIf::default());
        // The first data segment of the re-run.
        let data = base
            .packets
            .iter()
            .find(|p| p.info.payload_len > 0)
            .unwrap()
            .info
            .number;
        let w = parse_what_if(&format!("drop={data}")).unwrap();
        let r = rerun(conv, &w);
        assert!(r.packets[data as usize - 1].lost);
        let sent = r
            .packets
            .iter()
            .filter(|p| p.info.payload_len > 0 && p.from == Role::Client)
            .count();
        assert!(sent >= 2, "retransmitted");
        assert_eq!(r.read, [5, 5]);
    }
}
