//! Live capture on the loopback interface with pnet's datalink channel.
//!
//! Loopback hands every frame to packet sockets twice: once on the way out
//! (`dev_queue_xmit_nit`, packet type `PACKET_OUTGOING`) and once on the way
//! in (`netif_rx`, packet type `PACKET_HOST`). pnet does not return the packet
//! type, so the socket is opened here (socket2) with a classic BPF filter that
//! drops `PACKET_OUTGOING` in the kernel, and handed to pnet as its
//! `socket_fd`. Each frame is therefore kept exactly once, the received copy,
//! which is also the copy libpcap keeps on `lo` (so tcpdump and tcpsim agree).
//!
//! The read buffer is 262144 bytes (loopback frames exceed 65535 bytes), the
//! read timeout 20 ms so the thread notices when to stop, and each frame is
//! stamped with the wall clock when pnet returns it.

use super::clock::now_ns;
use super::frame::locate_tcp;
use pnet::datalink::{self, Channel, Config};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Snap length: no loopback frame is cut.
pub const SNAPLEN: u32 = 262_144;
/// How long `next()` waits before the thread checks whether to stop.
const READ_TIMEOUT: Duration = Duration::from_millis(20);
/// How long the thread keeps reading after `finish` if the queue never empties.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// Receive queue asked of the kernel: SO_RCVBUFFORCE (CAP_NET_ADMIN, which
/// root has) goes past net.core.rmem_max; otherwise SO_RCVBUF, capped by it.
/// Loopback frames reach 64 KiB, so a fast transfer needs a deep queue while
/// the capture thread waits for a CPU.
const SOCKET_RCVBUF: usize = 128 << 20;

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Wall clock when the frame was read, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The whole frame (Ethernet header first); never cut at `SNAPLEN`.
    pub data: Vec<u8>,
}

/// What went wrong opening or running the capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "capturing on lo needs CAP_NET_RAW: run as root, or `sudo setcap cap_net_raw+ep $(which tcpsim)`, or pass --no-capture to run the sockets only"
    )]
    NoPermission,
    #[error("capture: {step}: {source}")]
    Io {
        step: &'static str,
        source: std::io::Error,
    },
    #[error("capture: no loopback interface named lo")]
    NoLoopback,
    #[error("capture: pnet returned a non-Ethernet channel")]
    UnexpectedChannel,
    #[error("capture thread panicked")]
    ThreadPanicked,
}

fn io(step: &'static str) -> impl FnOnce(std::io::Error) -> CaptureError {
    move |source| {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            CaptureError::NoPermission
        } else {
            CaptureError::Io { step, source }
        }
    }
}

/// Which frames to keep: TCP between loopback addresses with one of these
/// ports on either side.
#[derive(Clone, Debug, Default)]
pub struct PortFilter {
    pub ports: Vec<u16>,
}

impl PortFilter {
    pub fn keeps(&self, frame: &[u8]) -> bool {
        match locate_tcp(frame) {
            Some(t) => {
                let i = t.info;
                i.src.is_loopback()
                    && i.dst.is_loopback()
                    && self
                        .ports
                        .iter()
                        .any(|&p| p == i.src_port || p == i.dst_port)
            }
            None => false,
        }
    }
}

/// The frames of one capture and the kernel's drop count.
#[derive(Clone, Debug, Default)]
pub struct CaptureResult {
    pub frames: Vec<CapturedFrame>,
    /// Frames the capture thread read from the socket (all ports).
    pub frames_read: u64,
    /// Frames the kernel dropped on this socket (queue full), from
    /// sock_diag's SK_MEMINFO_DROPS; `None` if the kernel would not say.
    pub kernel_drops: Option<u32>,
}

/// What the capture thread returns: the kept frames and how many it read.
type ThreadResult = Result<(Vec<CapturedFrame>, u64), CaptureError>;

/// State shared between the capture thread and the run.
struct Shared {
    stop: AtomicBool,
    last_frame_ns: AtomicI64,
    kept: AtomicU64,
    /// Highest marker sequence number read so far.
    marker_seen: AtomicU64,
    /// For marker n (1-based), how many frames were kept before it.
    marker_positions: Mutex<Vec<usize>>,
}

/// A synchronisation marker: a UDP datagram the run sends to itself on lo.
/// The packet socket's queue is first in, first out, so once the capture
/// thread has read marker n, it has read every frame queued before it.
struct Marker {
    socket: UdpSocket,
    /// Random per capture, so no other traffic can pass for a marker.
    token: [u8; 16],
    next: u64,
}

impl Marker {
    fn payload(token: &[u8; 16], seq: u64) -> [u8; 24] {
        let mut p = [0u8; 24];
        p[..16].copy_from_slice(token);
        p[16..].copy_from_slice(&seq.to_be_bytes());
        p
    }

    /// The marker sequence number in `frame`, if it is one of ours (UDP
    /// datagrams end with the payload; Ethernet on lo adds no trailer).
    fn parse(token: &[u8; 16], frame: &[u8]) -> Option<u64> {
        let tail = frame.get(frame.len().checked_sub(24)?..)?;
        if &tail[..16] != token {
            return None;
        }
        Some(u64::from_be_bytes(tail[16..].try_into().ok()?))
    }
}

/// A running capture.
pub struct LiveCapture {
    shared: Arc<Shared>,
    marker: Mutex<Marker>,
    handle: Option<JoinHandle<ThreadResult>>,
    inode: u64,
}

/// 16 bytes no other traffic will carry: the wall clock, the process id and
/// a stack address, mixed (not cryptographic; only has to be unlikely).
fn marker_token() -> [u8; 16] {
    let local = 0u8;
    let mut x =
        (now_ns() as u64) ^ (u64::from(std::process::id()) << 32) ^ (&local as *const u8 as u64);
    let mut t = [0u8; 16];
    for chunk in t.chunks_exact_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    t
}

/// Classic BPF: accept everything except frames whose packet type is
/// PACKET_OUTGOING (see the module comment).
fn drop_outgoing_filter() -> [libc::sock_filter; 4] {
    const SKF_AD_OFF: u32 = 0xfffff000;
    const SKF_AD_PKTTYPE: u32 = 4;
    const PACKET_OUTGOING: u32 = 4;
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    [
        // ld [SKF_AD_OFF + SKF_AD_PKTTYPE]
        op(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            0,
            0,
            SKF_AD_OFF + SKF_AD_PKTTYPE,
        ),
        // jeq #PACKET_OUTGOING, drop, keep
        op(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            0,
            1,
            PACKET_OUTGOING,
        ),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
    ]
}

impl LiveCapture {
    /// Open the capture on `lo` and start reading in a thread. Frames are
    /// kept from this call on.
    pub fn start(filter: PortFilter) -> Result<LiveCapture, CaptureError> {
        let lo = datalink::interfaces()
            .into_iter()
            .find(|i| i.name == "lo")
            .ok_or(CaptureError::NoLoopback)?;
        let eth_p_all = (libc::ETH_P_ALL as u16).to_be() as i32;
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(eth_p_all)))
            .map_err(io("open AF_PACKET socket"))?;
        sock.attach_filter(&drop_outgoing_filter())
            .map_err(io("attach the BPF filter"))?;
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&sock, SOCKET_RCVBUF).is_err() {
            sock.set_recv_buffer_size(SOCKET_RCVBUF)
                .map_err(io("set SO_RCVBUF"))?;
        }
        let inode = std::fs::metadata(format!("/proc/self/fd/{}", sock.as_raw_fd()))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .map_err(io("stat the packet socket"))?;
        let config = Config {
            read_buffer_size: SNAPLEN as usize,
            read_timeout: Some(READ_TIMEOUT),
            socket_fd: Some(sock.into_raw_fd()),
            ..Config::default()
        };
        let mut rx = match datalink::channel(&lo, config).map_err(io("bind to lo"))? {
            Channel::Ethernet(_tx, rx) => rx,
            _ => return Err(CaptureError::UnexpectedChannel),
        };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            last_frame_ns: AtomicI64::new(now_ns()),
            kept: AtomicU64::new(0),
            marker_seen: AtomicU64::new(0),
            marker_positions: Mutex::new(Vec::new()),
        });
        let marker_socket = UdpSocket::bind("127.0.0.1:0").map_err(io("open the marker socket"))?;
        let marker_addr = marker_socket
            .local_addr()
            .map_err(io("marker socket address"))?;
        marker_socket
            .connect(marker_addr)
            .map_err(io("connect the marker socket"))?;
        let token = marker_token();
        let sh = shared.clone();
        let handle = std::thread::Builder::new()
            .name("tcpsim-capture".into())
            .spawn(move || {
                let mut frames = Vec::new();
                let mut read = 0u64;
                // Once asked to stop, read what is queued; if other traffic on
                // lo never lets the queue run empty, give up after STOP_GRACE.
                let mut stop_deadline: Option<i64> = None;
                loop {
                    if stop_deadline.is_none() && sh.stop.load(Ordering::SeqCst) {
                        stop_deadline = Some(now_ns() + STOP_GRACE.as_nanos() as i64);
                    }
                    match rx.next() {
                        Ok(data) => {
                            let time_ns = now_ns();
                            read += 1;
                            if stop_deadline.is_some_and(|d| time_ns > d) {
                                return Ok((frames, read));
                            }
                            if filter.keeps(data) {
                                frames.push(CapturedFrame {
                                    time_ns,
                                    data: data.to_vec(),
                                });
                                sh.last_frame_ns.store(time_ns, Ordering::SeqCst);
                                sh.kept.fetch_add(1, Ordering::SeqCst);
                            } else if let Some(seq) = Marker::parse(&token, data) {
                                if let Ok(mut pos) = sh.marker_positions.lock() {
                                    if seq == pos.len() as u64 + 1 {
                                        pos.push(frames.len());
                                    }
                                }
                                sh.marker_seen.fetch_max(seq, Ordering::SeqCst);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                            // Queue empty: stop only now, so nothing queued is lost.
                            if sh.stop.load(Ordering::SeqCst) {
                                return Ok((frames, read));
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(source) => {
                            return Err(CaptureError::Io {
                                step: "read a frame",
                                source,
                            })
                        }
                    }
                }
            })
            .map_err(io("spawn the capture thread"))?;
        Ok(LiveCapture {
            shared,
            marker: Mutex::new(Marker {
                socket: marker_socket,
                token,
                next: 1,
            }),
            handle: Some(handle),
            inode,
        })
    }

    /// Send a marker through lo and wait (at most 2 s) until the capture
    /// thread has read it. Returns how many frames were kept before it:
    /// every frame the kernel queued before the marker, and none after.
    pub fn sync(&self) -> Option<usize> {
        let seq = {
            let mut m = self.marker.lock().ok()?;
            let seq = m.next;
            m.socket.send(&Marker::payload(&m.token, seq)).ok()?;
            m.next += 1;
            seq
        };
        let start = std::time::Instant::now();
        while self.shared.marker_seen.load(Ordering::SeqCst) < seq {
            if start.elapsed() > Duration::from_secs(2) {
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let pos = self.shared.marker_positions.lock().ok()?;
        pos.get(usize::try_from(seq - 1).ok()?).copied()
    }

    /// Wall-clock time of the last kept frame (or of the start).
    pub fn last_frame_ns(&self) -> i64 {
        self.shared.last_frame_ns.load(Ordering::SeqCst)
    }

    /// Frames kept so far.
    pub fn kept(&self) -> u64 {
        self.shared.kept.load(Ordering::SeqCst)
    }

    /// Wait until no frame has arrived for `quiet` (at most `limit`).
    pub fn settle(&self, quiet: Duration, limit: Duration) {
        let start = std::time::Instant::now();
        let quiet_ns = quiet.as_nanos() as i64;
        loop {
            let idle = now_ns() - self.last_frame_ns();
            if idle >= quiet_ns || start.elapsed() >= limit {
                return;
            }
            std::thread::sleep(Duration::from_nanos(
                (quiet_ns - idle).clamp(1_000_000, 10_000_000) as u64,
            ));
        }
    }

    /// Stop reading (after the socket's queue is empty) and return the frames.
    pub fn finish(mut self) -> Result<CaptureResult, CaptureError> {
        let kernel_drops = packet_socket_drops(self.inode).ok().flatten();
        self.shared.stop.store(true, Ordering::SeqCst);
        let handle = self.handle.take().ok_or(CaptureError::ThreadPanicked)?;
        let (frames, frames_read) = handle.join().map_err(|_| CaptureError::ThreadPanicked)??;
        Ok(CaptureResult {
            frames,
            frames_read,
            kernel_drops,
        })
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Drops counted by the kernel on the packet socket with this inode, asked of
/// sock_diag (NETLINK_SOCK_DIAG, `linux/packet_diag.h`) for PACKET_DIAG_MEMINFO,
/// whose SK_MEMINFO_DROPS counts frames refused because the queue was full.
pub fn packet_socket_drops(inode: u64) -> std::io::Result<Option<u32>> {
    const NETLINK_SOCK_DIAG: i32 = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 0x1;
    const NLM_F_DUMP: u16 = 0x300;
    const NLMSG_DONE: u16 = 3;
    const NLMSG_ERROR: u16 = 2;
    const PACKET_SHOW_MEMINFO: u32 = 0x10;
    const PACKET_DIAG_MEMINFO: u16 = 6;
    const SK_MEMINFO_DROPS: usize = 8;

    let nl = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(NETLINK_SOCK_DIAG)),
    )?;
    nl.set_read_timeout(Some(Duration::from_secs(1)))?;
    // struct nlmsghdr (16 bytes) + struct packet_diag_req (20 bytes).
    let mut req = Vec::with_capacity(36);
    req.extend_from_slice(&36u32.to_ne_bytes());
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid
    req.extend_from_slice(&[libc::AF_PACKET as u8, 0, 0, 0]);
    req.extend_from_slice(&0u32.to_ne_bytes()); // pdiag_ino (not used by the kernel's dump)
    req.extend_from_slice(&PACKET_SHOW_MEMINFO.to_ne_bytes());
    req.extend_from_slice(&[0xff; 8]); // no cookie
    (&nl).write_all(&req)?;

    let mut buf = vec![0u8; 65536];
    let mut found = None;
    loop {
        let n = (&nl).read(&mut buf)?;
        let mut msgs = buf.get(..n).unwrap_or(&[]);
        while msgs.len() >= 16 {
            let len = u32::from_ne_bytes([msgs[0], msgs[1], msgs[2], msgs[3]]) as usize;
            let ty = u16::from_ne_bytes([msgs[4], msgs[5]]);
            if len < 16 || len > msgs.len() {
                return Ok(found);
            }
            match ty {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => {
                    // struct nlmsgerr: a negative errno, 0 for an acknowledgement.
                    let errno = msgs
                        .get(16..20)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    return if errno < 0 {
                        Err(std::io::Error::from_raw_os_error(-errno))
                    } else {
                        Ok(found)
                    };
                }
                SOCK_DIAG_BY_FAMILY => {
                    if let Some(drops) =
                        meminfo_drops(&msgs[16..len], inode, PACKET_DIAG_MEMINFO, SK_MEMINFO_DROPS)
                    {
                        found = Some(drops);
                    }
                }
                _ => {}
            }
            msgs = msgs.get((len + 3) & !3..).unwrap_or(&[]);
        }
        if n == 0 {
            return Ok(found);
        }
    }
}

/// In one `packet_diag_msg` (16 bytes, then rtattrs): the drop counter if the
/// message is about socket `inode`.
fn meminfo_drops(msg: &[u8], inode: u64, attr_type: u16, index: usize) -> Option<u32> {
    let ino = u32::from_ne_bytes(msg.get(4..8)?.try_into().ok()?);
    if u64::from(ino) != inode {
        return None;
    }
    let mut attrs = msg.get(16..)?;
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let ty = u16::from_ne_bytes([attrs[2], attrs[3]]);
        if len < 4 || len > attrs.len() {
            return None;
        }
        if ty == attr_type {
            let at = 4 + index * 4;
            return Some(u32::from_ne_bytes(attrs.get(at..at + 4)?.try_into().ok()?));
        }
        attrs = attrs.get((len + 3) & !3..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::frame::tests::ipv4_frame;

    #[test]
    fn port_filter_keeps_either_direction_only() {
        let f = PortFilter { ports: vec![20001] };
        assert!(f.keeps(&ipv4_frame(40000, 20001, 0, 0x002, b"")));
        assert!(f.keeps(&ipv4_frame(20001, 40000, 0, 0x012, b"")));
        assert!(!f.keeps(&ipv4_frame(40000, 20002, 0, 0x002, b"")));
        assert!(!f.keeps(&[0u8; 10]));
    }

    #[test]
    fn meminfo_parser_finds_drops_of_the_right_socket_only() {
        let mut msg = vec![0x11, 3, 0, 3];
        msg.extend_from_slice(&18879u32.to_ne_bytes());
        msg.extend_from_slice(&[0xff; 8]);
        msg.extend_from_slice(&40u16.to_ne_bytes());
        msg.extend_from_slice(&6u16.to_ne_bytes());
        for v in 0..9u32 {
            msg.extend_from_slice(&(v * 10).to_ne_bytes());
        }
        assert_eq!(meminfo_drops(&msg, 18879, 6, 8), Some(80));
        assert_eq!(meminfo_drops(&msg, 18880, 6, 8), None);
        for cut in 0..msg.len() {
            let _ = meminfo_drops(&msg[..cut], 18879, 6, 8);
        }
    }
}
