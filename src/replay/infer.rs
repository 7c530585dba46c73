//! What a capture tells about one endpoint: the settings its SYN and
//! windows show, and the application's calls (open, writes, reads, close)
//! inferred from the segments it sent.
//!
//! Rules (docs/replay.md):
//! - ISN, MSS, window scale, SACK-permitted and timestamps come from the
//!   side's SYN (RFC 9293 §3.7.1: MSS 536 when no option was sent).
//! - The receive buffer is the largest window the side advertised (raw <<
//!   scale), its SYN's included: the buffer held at least that much.
//! - A write happens at the time of the first segment of each run of new
//!   data ending in PSH (Linux sets PSH on the last segment of a `sendmsg`),
//!   and writes the run's bytes.
//! - Reads: immediately when data arrives; a side that ever advertised a
//!   zero window is a slow reader, whose reads happen at the times of its
//!   window updates (and before it closes), each reading all it holds.
//! - Close: at the time of the side's first FIN: `shutdown(SHUT_WR)` when its
//!   peer still sends data afterwards, `close()` otherwise; an RST without a
//!   FIN from a side that was established is an abort.

use super::conversation::{Conversation, Role};

/// The settings the capture shows for one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SideSettings {
    pub isn: u32,
    pub mss: u16,
    /// Window scale offered in the SYN.
    pub wscale: Option<u8>,
    pub sack: bool,
    pub timestamps: bool,
    /// Bytes.
    pub recv_buffer: u32,
    /// The SYN's raw window field.
    pub syn_window: u16,
    /// This side sent a SYN (so its settings come from a captured SYN).
    pub syn_seen: bool,
}

/// One application call at a recorded time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "call")]
pub enum AppCall {
    /// Passive open (the side answered a SYN with SYN-ACK).
    Listen,
    /// Active open.
    Connect,
    Write {
        bytes: u32,
    },
    /// Read everything available.
    ReadAll,
    ShutdownWrite,
    Close,
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AppAction {
    pub time_ns: i64,
    pub call: AppCall,
}

/// How the application reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// Reads everything as soon as it arrives.
    Immediate,
    /// Reads only at the recorded `ReadAll` actions.
    Scripted,
}

/// One side's inferred behaviour.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SideScript {
    pub role: Role,
    pub settings: SideSettings,
    pub read_mode: ReadMode,
    /// In time order.
    pub actions: Vec<AppAction>,
}

/// MSS assumed when a SYN carries none (RFC 9293 §3.7.1).
pub const DEFAULT_MSS: u16 = 536;

pub fn infer_settings(conv: &Conversation, role: Role) -> SideSettings {
    let syn = conv.syn_of(role);
    // The largest window the side ever advertised, in bytes (its SYN's too).
    let max_window = conv
        .segments
        .iter()
        .filter(|s| s.from == role && !s.flags.rst())
        .map(|s| conv.window_bytes(s))
        .max();
    let recv_buffer = max_window.unwrap_or(65535).max(1);
    SideSettings {
        isn: conv.isn_of(role).map(|s| s.0).unwrap_or(0),
        mss: syn.and_then(|s| s.options.mss).unwrap_or(DEFAULT_MSS),
        wscale: syn.and_then(|s| s.options.wscale),
        sack: syn.is_some_and(|s| s.options.sack_perm),
        timestamps: syn.is_some_and(|s| s.options.timestamps.is_some()),
        recv_buffer,
        syn_window: syn.map(|s| s.window).unwrap_or(0),
        syn_seen: syn.is_some(),
    }
}

/// Infers one side's application calls from the segments it sent.
pub fn infer_script(conv: &Conversation, role: Role) -> SideScript {
    let settings = infer_settings(conv, role);
    let peer = role.peer();
    let mut actions = Vec::new();
    let start = conv.segments.first().map(|s| s.time_ns).unwrap_or(0);

    let sent_syn_ack = conv
        .segments
        .iter()
        .any(|s| s.from == role && s.flags.syn() && s.flags.ack());
    let sent_syn = conv
        .segments
        .iter()
        .find(|s| s.from == role && s.flags.syn() && !s.flags.ack());
    if let Some(s) = sent_syn {
        actions.push(AppAction {
            time_ns: s.time_ns,
            call: AppCall::Connect,
        });
    } else if sent_syn_ack {
        actions.push(AppAction {
            time_ns: start,
            call: AppCall::Listen,
        });
    }

    let slow_reader = conv
        .segments
        .iter()
        .any(|s| s.from == role && s.window == 0 && !s.flags.rst() && !s.flags.syn());
    let read_mode = if slow_reader {
        ReadMode::Scripted
    } else {
        ReadMode::Immediate
    };

    let isn = settings.isn;
    let data_range = |s: &super::conversation::Segment| {
        let rel = s.seq.0.wrapping_sub(isn);
        let start = rel.wrapping_add(u32::from(s.flags.syn())).wrapping_sub(1);
        (start, start.wrapping_add(s.len))
    };
    let fin_idx = conv
        .segments
        .iter()
        .position(|s| s.from == role && s.flags.fin());
    let peer_data_after_fin = fin_idx.is_some_and(|i| {
        conv.segments[i + 1..]
            .iter()
            .any(|s| s.from == peer && s.len > 0)
    });

    let mut high = 0u32;
    let mut in_run = false;
    let mut last_window: Option<u16> = None;
    let mut closed = false;
    let mut established = false;
    for s in &conv.segments {
        if s.from != role {
            if s.flags.ack() && !s.flags.syn() {
                established = true;
            }
            continue;
        }
        if slow_reader
            && s.len == 0
            && !s.flags.syn()
            && !s.flags.fin()
            && last_window.is_some_and(|w| s.window > w)
        {
            actions.push(AppAction {
                time_ns: s.time_ns,
                call: AppCall::ReadAll,
            });
        }
        if s.len > 0 {
            let (_, end) = data_range(s);
            if end > high {
                if !in_run {
                    // The run's size: new bytes up to and including the next PSH.
                    let mut h = high;
                    let mut total = 0u32;
                    for t in conv
                        .segments
                        .iter()
                        .filter(|t| t.from == role && t.len > 0 && t.time_ns >= s.time_ns)
                    {
                        let (ts, te) = data_range(t);
                        if te > h {
                            total = total.saturating_add(te - h.max(ts));
                            h = te;
                            if t.flags.psh() {
                                break;
                            }
                        }
                    }
                    actions.push(AppAction {
                        time_ns: s.time_ns,
                        call: AppCall::Write { bytes: total },
                    });
                    in_run = true;
                }
                high = end;
                if s.flags.psh() {
                    in_run = false;
                }
            }
        }
        if s.flags.fin() && !closed {
            if slow_reader {
                actions.push(AppAction {
                    time_ns: s.time_ns,
                    call: AppCall::ReadAll,
                });
            }
            let call = if peer_data_after_fin {
                AppCall::ShutdownWrite
            } else {
                AppCall::Close
            };
            actions.push(AppAction {
                time_ns: s.time_ns,
                call,
            });
            closed = true;
        }
        if s.flags.rst() && !closed && established && (sent_syn.is_some() || sent_syn_ack) {
            actions.push(AppAction {
                time_ns: s.time_ns,
                call: AppCall::Abort,
            });
            closed = true;
        }
        if !s.flags.syn() && !s.flags.rst() {
            last_window = Some(s.window);
        }
    }
    actions.sort_by_key(|a| a.time_ns);
    SideScript {
        role,
        settings,
        read_mode,
        actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::conversation::split_conversations;
    use crate::replay::conversation::tests::echo_packets;

    #[test]
    fn echo_server_script() {
        let conv = &split_conversations(&echo_packets())[0];
        let s = infer_script(conv, Role::Server);
        assert_eq!(s.settings.isn, 5000);
        assert_eq!(s.settings.mss, 65495);
        assert_eq!(s.settings.wscale, Some(7));
        assert!(s.settings.sack && s.settings.timestamps);
        assert_eq!(s.settings.recv_buffer, 512 << 7);
        assert_eq!(s.read_mode, ReadMode::Immediate);
        let calls: Vec<AppCall> = s.actions.iter().map(|a| a.call).collect();
        assert_eq!(
            calls,
            vec![AppCall::Listen, AppCall::Write { bytes: 5 }, AppCall::Close]
        );
        assert_eq!(s.actions[1].time_ns, 5_000_000);
    }

    #[test]
    fn echo_client_script() {
        let conv = &split_conversations(&echo_packets())[0];
        let s = infer_script(conv, Role::Client);
        let calls: Vec<AppCall> = s.actions.iter().map(|a| a.call).collect();
        assert_eq!(
            calls,
            vec![
                AppCall::Connect,
                AppCall::Write { bytes: 5 },
                AppCall::Close
            ]
        );
        assert_eq!(s.actions[0].time_ns, 0);
    }
}
