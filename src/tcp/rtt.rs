//! Round-trip time estimation and the retransmission timeout (RFC 6298 §2).

use super::time::Duration;

#[derive(Clone, Debug)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    min: Duration,
    max: Duration,
}

impl RttEstimator {
    pub fn new(initial: Duration, min: Duration, max: Duration) -> RttEstimator {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            rto: initial.clamp(min.min(max), max),
            min,
            max,
        }
    }
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }
    pub fn rto(&self) -> Duration {
        self.rto
    }
    /// Take one RTT measurement R (RFC 6298 §2.2, §2.3).
    pub fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                // RFC 6298 §2.3: beta = 1/4, alpha = 1/8.
                let delta = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + delta / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        // RTO <- SRTT + max(G, K*RTTVAR), K = 4, G = 1 ms; §2.4/§2.5 bounds.
        let srtt = self.srtt.unwrap_or(r);
        let var = (self.rttvar * 4).max(Duration::from_millis(1));
        self.rto = (srtt + var).clamp(self.min.min(self.max), self.max);
    }
    /// RFC 6298 §5.5: back off the timer on expiry.
    pub fn backoff(&mut self) {
        self.rto = (self.rto * 2).min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rfc6298() {
        let ms = Duration::from_millis;
        let mut r = RttEstimator::new(ms(1000), ms(200), ms(60_000));
        assert_eq!(r.rto(), ms(1000));
        r.sample(ms(100));
        // srtt 100, rttvar 50 -> 100 + 200 = 300
        assert_eq!(r.rto(), ms(300));
        r.sample(ms(100));
        // rttvar = 37.5, srtt = 100 -> 250
        assert_eq!(r.rto(), ms(250));
        r.backoff();
        assert_eq!(r.rto(), ms(500));
        for _ in 0..20 {
            r.backoff();
        }
        assert_eq!(r.rto(), ms(60_000));
        r.sample(Duration::from_micros(10));
        assert!(r.rto() >= ms(200));
    }
}
