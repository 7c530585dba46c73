//! Every knob of an endpoint, explicit so that a replay can match a recorded
//! peer: ISN, MSS, options, buffer sizes, timers, Nagle and delayed ACK.

use super::time::Duration;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Initial send sequence number (RFC 9293 §3.4.1; chosen by the caller so
    /// runs are reproducible).
    pub isn: u32,
    /// The MSS this endpoint announces (largest segment it wants to receive).
    pub mss: u16,
    /// Send buffer capacity in bytes.
    pub send_buffer: usize,
    /// Receive buffer capacity in bytes: the advertised window is its free space.
    pub recv_buffer: usize,
    /// Window scale shift to offer (RFC 7323 §2); `None` = no option.
    pub window_scale: Option<u8>,
    /// Offer SACK-permitted and send SACK blocks (RFC 2018).
    pub sack: bool,
    /// Offer and use timestamps (RFC 7323 §3).
    pub timestamps: bool,
    /// Nagle's algorithm (RFC 1122 §4.2.3.4).
    pub nagle: bool,
    /// Delayed ACK timeout (RFC 1122 §4.2.3.2); `None` = ACK every segment at once.
    pub delayed_ack: Option<Duration>,
    /// Receiver silly-window avoidance (RFC 1122 §4.2.3.3).
    pub receiver_sws: bool,
    /// Initial retransmission timeout (RFC 6298 §2.1: 1 s).
    pub rto_initial: Duration,
    /// Lower bound of the RTO (RFC 6298 §2.4: 1 s; Linux uses 200 ms).
    pub rto_min: Duration,
    /// Upper bound of the RTO (RFC 6298 §2.5: at least 60 s).
    pub rto_max: Duration,
    /// Maximum segment lifetime; TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2).
    pub msl: Duration,
    /// Retransmissions of one segment (SYN, data or FIN) before giving up.
    pub max_retransmissions: u32,
    /// Initial congestion window in segments; `None` = RFC 5681 §3.1's IW.
    pub initial_cwnd: Option<u32>,
    /// Answer in-window RSTs and SYNs with a challenge ACK (RFC 5961 §3, §4).
    pub challenge_ack: bool,
    /// Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2: 3).
    pub dup_threshold: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            isn: 1000,
            mss: 1460,
            send_buffer: 64 * 1024,
            recv_buffer: 64 * 1024,
            window_scale: None,
            sack: false,
            timestamps: false,
            nagle: true,
            delayed_ack: Some(Duration::from_millis(40)),
            receiver_sws: true,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            msl: Duration::from_secs(30),
            max_retransmissions: 15,
            initial_cwnd: None,
            challenge_ack: true,
            dup_threshold: 3,
        }
    }
}
