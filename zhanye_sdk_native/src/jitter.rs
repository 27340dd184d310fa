//! The adaptive audio jitter buffer: packets in, packets out at their playout time.
//!
//! A port of `zhanye_sdk/kernels/jitter.py` (its twin, which documents the policy): the
//! same arithmetic in the same order, so both release the same packets at the same times
//! and report the same delay, bit for bit. Time is passed in; nothing here reads a clock.

use std::collections::{BTreeMap, VecDeque};

const SEQ_MOD: i64 = 1 << 16;
const TS_MOD: i64 = 1 << 32;
const RESYNC_S: f64 = 2.0;
const RESYNC_SEQ: i64 = 3000;
const RECENT: usize = 50;

/// The buffer's settings (see the twin's `AdaptiveJitterBuffer` arguments).
#[derive(Clone, Copy, Debug)]
pub struct JitterSettings {
    pub clock_rate: u32,
    pub frame_ms: f64,
    pub min_delay_ms: f64,
    pub max_delay_ms: f64,
    pub window: usize,
    pub quantile: f64,
    pub margin_ms: f64,
    pub shrink_every: u32,
}

impl Default for JitterSettings {
    fn default() -> Self {
        JitterSettings {
            clock_rate: 48_000,
            frame_ms: 20.0,
            min_delay_ms: 20.0,
            max_delay_ms: 300.0,
            window: 250,
            quantile: 0.95,
            margin_ms: 5.0,
            shrink_every: 10,
        }
    }
}

/// A packet leaving the buffer, in sequence order.
#[derive(Clone, Debug, PartialEq)]
pub struct Released {
    /// The extended (unwrapped) sequence number.
    pub sequence: i64,
    /// The RTP timestamp as sent (32 bits).
    pub timestamp: u32,
    pub payload: Vec<u8>,
    /// Frames before it were skipped on purpose: the decoder must not conceal them.
    pub discontinuity: bool,
    /// Rebuilt from redundancy (RED), its own packet having been lost.
    pub redundant: bool,
    /// What the packet was pushed with (the receiver's payload type).
    pub tag: u8,
}

#[derive(Debug)]
struct Held {
    timestamp: i64,
    payload: Vec<u8>,
    redundant: bool,
    tag: u8,
}

/// Python's `bisect.bisect_left`: the first index whose element is not below `x`.
fn bisect_left(sorted: &[f64], x: f64) -> usize {
    sorted.partition_point(|a| *a < x)
}

/// Python's `bisect.bisect_right`: the first index whose element is above `x` (times are
/// finite, so `<=` is Python's `not x < a`).
fn bisect_right(sorted: &[f64], x: f64) -> usize {
    sorted.partition_point(|a| *a <= x)
}

/// Python's `min(a, b)` on floats: `a` unless `b` is below it.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)` on floats: `a` unless `b` is above it.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `%` on integers: the result has the divisor's sign.
fn floor_mod(a: i64, m: i64) -> i64 {
    a.rem_euclid(m)
}

/// The adaptive jitter buffer (see the module documentation and the twin).
#[derive(Debug)]
pub struct AdaptiveJitterBuffer {
    pub settings: JitterSettings,
    clock_rate: f64,
    pub frame_s: f64,
    pub min_delay_s: f64,
    pub max_delay_s: f64,
    margin_s: f64,
    window: VecDeque<f64>,
    sorted: Vec<f64>,
    held: BTreeMap<i64, Held>,
    offset: f64,
    next: Option<i64>,
    top_seq: Option<i64>,
    top_ts: Option<i64>,
    skip: bool,
    discontinuity: bool,
    since_shrink: u32,
    recent: Vec<f64>,
    pub received: u64,
    pub late: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub resyncs: u64,
}

impl AdaptiveJitterBuffer {
    /// A buffer with `settings`; an error names the setting out of range.
    pub fn new(settings: JitterSettings) -> Result<Self, String> {
        let in_range = 0.0 < settings.min_delay_ms
            && settings.min_delay_ms <= settings.max_delay_ms
            && settings.window >= 2
            && (0.5..=1.0).contains(&settings.quantile);
        if !in_range {
            return Err(
                "expected 0 < min_delay <= max_delay, window >= 2, quantile in [0.5, 1]".into(),
            );
        }
        let finite = settings.clock_rate > 0
            && settings.frame_ms.is_finite()
            && settings.frame_ms > 0.0
            && settings.max_delay_ms.is_finite()
            && settings.margin_ms.is_finite();
        if !finite {
            return Err(
                "expected a clock rate above 0 and finite, positive frame and delays".into(),
            );
        }
        Ok(AdaptiveJitterBuffer {
            settings,
            clock_rate: f64::from(settings.clock_rate),
            frame_s: settings.frame_ms / 1000.0,
            min_delay_s: settings.min_delay_ms / 1000.0,
            max_delay_s: settings.max_delay_ms / 1000.0,
            margin_s: settings.margin_ms / 1000.0,
            window: VecDeque::with_capacity(settings.window),
            sorted: Vec::with_capacity(settings.window),
            held: BTreeMap::new(),
            offset: 0.0,
            next: None,
            top_seq: None,
            top_ts: None,
            skip: false,
            discontinuity: false,
            since_shrink: 0,
            recent: Vec::with_capacity(RECENT),
            received: 0,
            late: 0,
            duplicates: 0,
            skipped: 0,
            resyncs: 0,
        })
    }

    /// The current playout delay above the fastest transit, in milliseconds.
    pub fn delay_ms(&self) -> f64 {
        match self.sorted.first() {
            None => 0.0,
            Some(base) => (self.offset - base) * 1000.0,
        }
    }

    /// Packets held.
    pub fn buffered(&self) -> usize {
        self.held.len()
    }

    fn wanted(&mut self) -> f64 {
        let n = self.sorted.len();
        let base = self.sorted[0];
        let mut top = self.sorted[(n - 1).min((self.settings.quantile * n as f64) as usize)];
        self.recent.clear();
        self.recent.extend(self.window.iter().rev().take(RECENT));
        // Python's sort of floats: by `<`, stable; equal values (0.0, -0.0) keep their order.
        self.recent
            .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let r = self.recent.len();
        top = py_max(
            top,
            self.recent[(r - 1).min((self.settings.quantile * r as f64) as usize)],
        );
        let jitter = top - base + self.margin_s;
        base + py_min(self.max_delay_s, py_max(self.min_delay_s, jitter))
    }

    fn sample(&mut self, transit: f64) {
        if self.window.len() == self.settings.window {
            if let Some(old) = self.window.pop_front() {
                let at = bisect_left(&self.sorted, old);
                self.sorted.remove(at);
            }
        }
        self.window.push_back(transit);
        let at = bisect_right(&self.sorted, transit);
        self.sorted.insert(at, transit);
    }

    fn adapt(&mut self) {
        let wanted = self.wanted();
        let base = self.sorted[0];
        if wanted > self.offset || self.offset - base > self.max_delay_s {
            self.offset = wanted;
        } else if wanted <= self.offset - self.frame_s
            && self.since_shrink >= self.settings.shrink_every
        {
            self.offset -= self.frame_s;
            self.skip = true;
            self.since_shrink = 0;
        }
    }

    fn extend(&self, sequence: i64, timestamp: i64) -> (i64, i64) {
        match (self.top_seq, self.top_ts) {
            (Some(top_seq), Some(top_ts)) => {
                let mut seq_delta = floor_mod(sequence - top_seq, SEQ_MOD);
                if seq_delta >= SEQ_MOD / 2 {
                    seq_delta -= SEQ_MOD;
                }
                let mut ts_delta = floor_mod(timestamp - top_ts, TS_MOD);
                if ts_delta >= TS_MOD / 2 {
                    ts_delta -= TS_MOD;
                }
                (top_seq + seq_delta, top_ts + ts_delta)
            }
            _ => (floor_mod(sequence, SEQ_MOD), floor_mod(timestamp, TS_MOD)),
        }
    }

    fn resync(&mut self, sequence: i64, timestamp: i64, transit: f64) {
        self.resyncs += u64::from(self.top_seq.is_some());
        self.window.clear();
        self.sorted.clear();
        self.held.clear();
        self.top_seq = Some(sequence);
        self.top_ts = Some(timestamp);
        self.next = None;
        self.skip = false;
        self.discontinuity = true;
        self.since_shrink = 0;
        self.sample(transit);
        self.offset = transit + self.min_delay_s;
    }

    /// Take a packet that arrived at `now` (seconds on any monotonic clock); false when it
    /// is late or a duplicate. `redundant`: rebuilt from RED, says nothing of timing.
    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        now: f64,
        redundant: bool,
    ) -> bool {
        self.push_tagged(sequence, timestamp, payload, now, redundant, 0)
    }

    /// `push`, keeping `tag` with the packet (its `Released` carries it).
    pub fn push_tagged(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        now: f64,
        redundant: bool,
        tag: u8,
    ) -> bool {
        if redundant && self.top_seq.is_none() {
            return false;
        }
        let (mut seq, mut ts) = self.extend(i64::from(sequence), i64::from(timestamp));
        if !redundant {
            let mut transit = now - ts as f64 / self.clock_rate;
            let resync = match self.top_seq {
                None => true,
                Some(top) => {
                    (seq - top).abs() > RESYNC_SEQ || (transit - self.sorted[0]).abs() > RESYNC_S
                }
            };
            if resync {
                if let Some(top) = self.top_seq {
                    // The new stream numbers on above the old one (same 16 low bits).
                    seq = top + SEQ_MOD + floor_mod(i64::from(sequence) - top, SEQ_MOD);
                    ts = i64::from(timestamp);
                    transit = now - ts as f64 / self.clock_rate;
                }
                self.resync(seq, ts, transit);
            } else {
                self.sample(transit);
                self.adapt();
            }
            if self.top_seq.is_none_or(|top| seq > top) {
                self.top_seq = Some(seq);
                self.top_ts = Some(ts);
            }
            self.received += 1;
        }
        let late = self.next.is_some_and(|next| seq < next);
        if late || self.held.contains_key(&seq) {
            if !redundant {
                if self.held.contains_key(&seq) {
                    self.duplicates += 1;
                } else {
                    self.late += 1;
                }
            }
            return false;
        }
        self.held.insert(
            seq,
            Held {
                timestamp: ts,
                payload: payload.to_vec(),
                redundant,
                tag,
            },
        );
        true
    }

    /// When a held packet (extended sequence number) is due.
    pub fn due(&self, sequence: i64) -> Option<f64> {
        self.held
            .get(&sequence)
            .map(|held| held.timestamp as f64 / self.clock_rate + self.offset)
    }

    /// When `pop` will next release something (None: nothing held).
    pub fn next_due(&self) -> Option<f64> {
        let (head, held) = self.held.first_key_value()?;
        let mut due = held.timestamp as f64 / self.clock_rate + self.offset;
        if self.next.is_some_and(|next| *head > next) {
            due -= self.frame_s; // a hole: FEC or redundancy in the next packet rebuilds it
        }
        Some(due)
    }

    /// The packets due by `now`, in sequence order, appended to `out`.
    pub fn pop(&mut self, now: f64, out: &mut Vec<Released>) {
        while !self.held.is_empty() {
            if self.skip {
                self.skip = false;
                self.shrink();
                continue;
            }
            match self.next_due() {
                Some(when) if when <= now => {}
                _ => break,
            }
            let Some((head, held)) = self.held.pop_first() else {
                break;
            };
            out.push(Released {
                sequence: head,
                timestamp: floor_mod(held.timestamp, TS_MOD) as u32,
                payload: held.payload,
                discontinuity: self.discontinuity,
                redundant: held.redundant,
                tag: held.tag,
            });
            self.discontinuity = false;
            self.next = Some(head + 1);
            self.since_shrink += 1;
        }
    }

    /// Skip the next frame (held or not): the delay is one frame shorter.
    fn shrink(&mut self) {
        let Some(head) = self.held.keys().next().copied() else {
            return;
        };
        let mut skipped = self.next.unwrap_or(head);
        if skipped >= head {
            self.held.remove(&head);
            skipped = head;
        }
        self.next = Some(skipped + 1);
        self.skipped += 1;
        self.discontinuity = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(jitter_ms: &[f64]) -> Vec<(i64, f64)> {
        let mut buffer = AdaptiveJitterBuffer::new(JitterSettings::default()).unwrap();
        let mut out = Vec::new();
        let mut released = Vec::new();
        for (k, extra) in jitter_ms.iter().enumerate() {
            let seq = k as u16;
            let at = k as f64 * 0.02 + 0.03 + extra / 1000.0;
            buffer.push(seq, k as u32 * 960, &[seq as u8], at, false);
            buffer.pop(at, &mut released);
            for r in released.drain(..) {
                out.push((r.sequence, buffer.delay_ms()));
            }
        }
        out
    }

    #[test]
    fn steady_packets_leave_in_order_after_the_minimum_delay() {
        let out = run(&[0.0; 100]);
        let sequences: Vec<i64> = out.iter().map(|(s, _)| *s).collect();
        assert!(sequences.windows(2).all(|w| w[1] == w[0] + 1));
        assert!((out.last().unwrap().1 - 20.0).abs() < 1e-6);
    }

    #[test]
    fn jitter_raises_the_delay() {
        let jitter: Vec<f64> = (0..200)
            .map(|k| if k % 4 == 0 { 60.0 } else { 0.0 })
            .collect();
        let out = run(&jitter);
        assert!(out.last().unwrap().1 > 60.0);
    }

    #[test]
    fn a_late_packet_is_refused_and_counted() {
        let mut buffer = AdaptiveJitterBuffer::new(JitterSettings::default()).unwrap();
        let mut out = Vec::new();
        buffer.push(0, 0, b"a", 0.0, false);
        buffer.push(2, 1920, b"c", 0.04, false);
        buffer.pop(1.0, &mut out);
        assert_eq!(out.len(), 2);
        assert!(!buffer.push(1, 960, b"b", 1.0, false));
        assert_eq!(buffer.late, 1);
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let settings = JitterSettings {
            quantile: 0.2,
            ..JitterSettings::default()
        };
        assert!(AdaptiveJitterBuffer::new(settings).is_err());
    }
}
