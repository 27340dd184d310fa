//! What the server does with each audio packet a participant's link reads, before the
//! packet is played out: it counts it in its stream's RFC 3550 receive statistics (which
//! aiortc's receiver reports and `getStats` read), asks again for the packets a hole in
//! the sequence numbers reveals (RTCP NACK, where the codec negotiated it; each packet
//! once), and puts it in the adaptive jitter buffer, tagged with its payload type.
//!
//! The same steps ran in Python per packet (a packet object, aiortc's statistics, the
//! playout's bookkeeping): about twenty calls. Here it is one loop inside the link's
//! drain. No clock is read: arrival times come in with the packets.

use std::collections::{HashMap, HashSet};

use crate::jitter::AdaptiveJitterBuffer;

/// The longest hole asked for again; a longer one is an outage, not loss.
pub const MAX_NACK: u16 = 10;

/// One stream's RFC 3550 receive statistics, as aiortc's `StreamStatistics` keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStatistics {
    pub base_seq: Option<u16>,
    pub max_seq: Option<u16>,
    pub cycles: i64,
    pub packets_received: i64,
    /// Interarrival jitter in RTP clock units, times 16.
    pub jitter_q4: i64,
    /// The last in-order packet's arrival, in RTP clock units of the wall clock.
    pub last_arrival: Option<i64>,
    pub last_timestamp: Option<u32>,
}

/// Whether sequence number `a` is after `b` (serial number arithmetic on 16 bits).
fn uint16_gt(a: u16, b: u16) -> bool {
    (a > b && a - b < 0x8000) || (a < b && b - a > 0x8000)
}

impl StreamStatistics {
    /// Count a packet that arrived at `arrival` (RTP clock units of the wall clock).
    pub fn add(&mut self, sequence: u16, timestamp: u32, arrival: i64) {
        let in_order = self.max_seq.is_none_or(|max| uint16_gt(sequence, max));
        self.packets_received += 1;
        if self.base_seq.is_none() {
            self.base_seq = Some(sequence);
        }
        if !in_order {
            return;
        }
        if self.max_seq.is_some_and(|max| sequence < max) {
            self.cycles += 1 << 16;
        }
        self.max_seq = Some(sequence);
        if let (Some(last_arrival), Some(last_timestamp)) = (self.last_arrival, self.last_timestamp)
        {
            if timestamp != last_timestamp && self.packets_received > 1 {
                let diff = ((arrival - last_arrival)
                    - (i64::from(timestamp) - i64::from(last_timestamp)))
                .abs();
                self.jitter_q4 += diff - ((self.jitter_q4 + 8) >> 4);
            }
        }
        self.last_arrival = Some(arrival);
        self.last_timestamp = Some(timestamp);
    }
}

/// One receiver's intake: its streams' statistics, the NACK state and the counters.
#[derive(Debug, Clone)]
pub struct Intake {
    clock_rate: f64,
    nack_types: [bool; 128],
    top: Option<u16>,
    nacked: HashSet<u16>,
    pub streams: HashMap<u32, StreamStatistics>,
    /// Packets taken, by payload type.
    pub payload_types: [u64; 128],
    /// Packets asked for again (NACK), and how many of them came back.
    pub nacks: u64,
    pub retransmitted: u64,
}

impl Intake {
    /// An intake of a `clock_rate` stream that asks again for holes in packets of
    /// `nack_types` (payload types below 128; others are ignored).
    pub fn new(clock_rate: u32, nack_types: &[u8]) -> Self {
        let mut types = [false; 128];
        for &pt in nack_types {
            if let Some(slot) = types.get_mut(usize::from(pt)) {
                *slot = true;
            }
        }
        Intake {
            clock_rate: f64::from(clock_rate),
            nack_types: types,
            top: None,
            nacked: HashSet::new(),
            streams: HashMap::new(),
            payload_types: [0; 128],
            nacks: 0,
            retransmitted: 0,
        }
    }

    /// Take one packet: count it, push it into `buffer` (tagged with its payload type)
    /// and append to `lost` the sequence numbers to ask for again (empty: none).
    /// `arrival`: seconds on the buffer's monotonic clock; `wall_offset`: the wall clock
    /// minus that clock, for the statistics.
    #[allow(clippy::too_many_arguments)]
    pub fn take(
        &mut self,
        ssrc: u32,
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        arrival: f64,
        wall_offset: f64,
        buffer: &mut AdaptiveJitterBuffer,
        lost: &mut Vec<u16>,
    ) {
        let payload_type = payload_type & 0x7F;
        let wall = ((arrival + wall_offset) * self.clock_rate) as i64;
        self.streams
            .entry(ssrc)
            .or_default()
            .add(sequence, timestamp, wall);
        self.payload_types[usize::from(payload_type)] += 1;
        let repeated = self.nacked.remove(&sequence);
        if repeated {
            self.retransmitted += 1;
        }
        self.ask_again(payload_type, sequence, lost);
        // A repeat is late by design: its transit says nothing of the network's jitter.
        buffer.push_tagged(
            sequence,
            timestamp,
            payload,
            arrival,
            repeated,
            payload_type,
        );
    }

    fn ask_again(&mut self, payload_type: u8, sequence: u16, lost: &mut Vec<u16>) {
        let Some(top) = self.top else {
            self.top = Some(sequence);
            return;
        };
        let ahead = sequence.wrapping_sub(top);
        if ahead >= 0x8000 {
            return; // older than the newest: a retransmission or a reordered packet
        }
        if 1 < ahead && ahead <= MAX_NACK + 1 && self.nack_types[usize::from(payload_type)] {
            let start = lost.len();
            lost.extend((1..ahead).map(|k| top.wrapping_add(k)));
            self.nacked.extend(lost[start..].iter().copied());
            if self.nacked.len() > 4 * usize::from(MAX_NACK) {
                self.nacked = lost[start..].iter().copied().collect();
            }
            self.nacks += u64::from(ahead - 1);
        }
        self.top = Some(sequence);
    }

    /// The newest sequence number seen.
    pub fn top(&self) -> Option<u16> {
        self.top
    }

    /// The packets asked for again and not back yet, in increasing order.
    pub fn pending(&self) -> Vec<u16> {
        let mut pending: Vec<u16> = self.nacked.iter().copied().collect();
        pending.sort_unstable();
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jitter::JitterSettings;

    fn buffer() -> AdaptiveJitterBuffer {
        AdaptiveJitterBuffer::new(JitterSettings::default()).unwrap()
    }

    #[test]
    fn a_hole_is_asked_for_once_and_its_repeat_counted() {
        let mut intake = Intake::new(48_000, &[111]);
        let mut jb = buffer();
        let mut lost = Vec::new();
        for seq in [1u16, 2, 5] {
            intake.take(
                7,
                111,
                seq,
                u32::from(seq) * 960,
                b"x",
                1.0,
                0.0,
                &mut jb,
                &mut lost,
            );
        }
        assert_eq!(lost, vec![3, 4]);
        lost.clear();
        intake.take(7, 111, 3, 2880, b"x", 1.01, 0.0, &mut jb, &mut lost);
        assert!(lost.is_empty());
        assert_eq!((intake.nacks, intake.retransmitted), (2, 1));
        assert_eq!(intake.pending(), vec![4]);
        let stats = &intake.streams[&7];
        assert_eq!(
            (stats.base_seq, stats.max_seq, stats.packets_received),
            (Some(1), Some(5), 4)
        );
    }

    #[test]
    fn holes_of_a_codec_without_nack_are_not_asked_for() {
        let mut intake = Intake::new(48_000, &[]);
        let mut jb = buffer();
        let mut lost = Vec::new();
        for seq in [1u16, 4] {
            intake.take(
                7,
                111,
                seq,
                u32::from(seq) * 960,
                b"x",
                1.0,
                0.0,
                &mut jb,
                &mut lost,
            );
        }
        assert!(lost.is_empty());
        assert_eq!(intake.payload_types[111], 2);
    }

    #[test]
    fn sequence_wrap_counts_a_cycle() {
        let mut stats = StreamStatistics::default();
        stats.add(65_535, 0, 0);
        stats.add(0, 960, 960);
        assert_eq!((stats.cycles, stats.max_seq), (1 << 16, Some(0)));
    }
}
