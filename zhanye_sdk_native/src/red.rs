//! RED payloads written (RFC 2198): each new encoded frame with copies of the last
//! `distance` ones before it, so a receiver rebuilds a lost packet from a later one.
//! The Python twin (`zhanye_sdk.kernels.red.RedPacker`) writes the same bytes; the
//! parser is `opus_decode::red_split`.
//!
//! Layout: for each redundant block a 4-byte header (F=1, payload type in 7 bits, its
//! timestamp offset back from the packet's in 14 bits, its length in 10 bits), a 1-byte
//! header for the primary (F=0, payload type), then the blocks' data, the primary last.

use std::collections::VecDeque;

/// The most earlier frames one packet carries.
pub const MAX_DISTANCE: usize = 3;
const MAX_OFFSET: u32 = (1 << 14) - 1;
const MAX_LENGTH: usize = (1 << 10) - 1;

/// How many earlier frames to repeat for a measured loss (0–1): none on a clean link,
/// one from 2 %, two from 10 %, three from 25 %.
pub fn distance_for_loss(loss: f64) -> usize {
    if loss >= 0.25 {
        3
    } else if loss >= 0.10 {
        2
    } else if loss >= 0.02 {
        1
    } else {
        0
    }
}

/// Wraps encoded frames in RED, repeating the last `distance` ones.
pub struct RedPacker {
    payload_type: u8,
    distance: usize,
    recent: VecDeque<(u32, Vec<u8>)>,
}

impl RedPacker {
    /// A packer of frames of `payload_type` (0–127), repeating `distance` of them
    /// (clamped to 0–`MAX_DISTANCE`).
    pub fn new(payload_type: i64, distance: i64) -> Result<Self, String> {
        let payload_type = u8::try_from(payload_type)
            .ok()
            .filter(|pt| *pt <= 0x7F)
            .ok_or_else(|| format!("payload type {payload_type} does not fit 7 bits"))?;
        Ok(RedPacker {
            payload_type,
            distance: clamp_distance(distance),
            recent: VecDeque::with_capacity(MAX_DISTANCE + 1),
        })
    }

    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    pub fn distance(&self) -> usize {
        self.distance
    }

    /// Repeat `distance` earlier frames from the next packet on (clamped).
    pub fn set_distance(&mut self, distance: i64) {
        self.distance = clamp_distance(distance);
    }

    /// The RED payload of the frame `data` at `timestamp` (RTP clock), written to `out`.
    pub fn wrap(&mut self, data: &[u8], timestamp: u32, out: &mut Vec<u8>) {
        out.clear();
        let skip = self.recent.len().saturating_sub(self.distance);
        let kept: Vec<&(u32, Vec<u8>)> = if self.distance == 0 {
            Vec::new()
        } else {
            self.recent
                .iter()
                .skip(skip)
                .filter(|(ts, old)| {
                    let offset = timestamp.wrapping_sub(*ts);
                    // A frame too old (after a pause) or too big to repeat is left out.
                    0 < offset && offset <= MAX_OFFSET && !old.is_empty() && old.len() <= MAX_LENGTH
                })
                .collect()
        };
        for (ts, old) in &kept {
            let offset = timestamp.wrapping_sub(*ts);
            let word: u32 = (1 << 31)
                | (u32::from(self.payload_type) << 24)
                | (offset << 10)
                | old.len() as u32;
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.push(self.payload_type);
        for (_, old) in &kept {
            out.extend_from_slice(old);
        }
        out.extend_from_slice(data);
        if self.recent.len() == MAX_DISTANCE {
            self.recent.pop_front();
        }
        self.recent.push_back((timestamp, data.to_vec()));
    }
}

fn clamp_distance(distance: i64) -> usize {
    distance.clamp(0, MAX_DISTANCE as i64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opus_decode::red_split;

    #[test]
    fn primary_alone_at_distance_zero() {
        let mut packer = RedPacker::new(111, 0).unwrap();
        let mut out = Vec::new();
        packer.wrap(b"abc", 960, &mut out);
        assert_eq!(out, [111, b'a', b'b', b'c']);
    }

    #[test]
    fn repeats_the_last_frames_oldest_first() {
        let mut packer = RedPacker::new(111, 2).unwrap();
        let mut out = Vec::new();
        for (i, frame) in [b"one".as_slice(), b"two", b"three"].iter().enumerate() {
            packer.wrap(frame, 960 * i as u32, &mut out);
        }
        let (blocks, primary) = red_split(&out).unwrap();
        assert_eq!(primary, b"three");
        let offsets: Vec<u32> = blocks.iter().map(|b| b.0).collect();
        assert_eq!(offsets, [1920, 960]);
        assert_eq!(blocks[0].1, b"one");
    }

    #[test]
    fn leaves_out_frames_too_old_or_too_big() {
        let mut packer = RedPacker::new(111, 3).unwrap();
        let mut out = Vec::new();
        packer.wrap(&[1; 2000], 0, &mut out);
        packer.wrap(b"near", 960, &mut out);
        packer.wrap(b"now", 960 + (1 << 14), &mut out);
        assert_eq!(out, [111, b'n', b'o', b'w']);
    }

    #[test]
    fn refuses_a_payload_type_over_seven_bits() {
        assert!(RedPacker::new(128, 1).is_err());
        assert!(RedPacker::new(-1, 1).is_err());
    }
}
