//! The room mixer's buffers and its tick in one call: each participant's decoded audio
//! waits in a small buffer of its own (a row); every tick takes one frame from every row,
//! mixes each listener's mix-minus and the full mix with the soft limiter, and reports
//! each row's peak. The Python twin (`zhanye_sdk.kernels.mixbuffer`) gives the same
//! results; the room's `AudioMixer` keeps the participants' names and this their audio.
//!
//! A row that ran dry plays again once it holds `prime` samples (jitter costs one short
//! gap, not a stutter per packet), and never holds more than `capacity` (the oldest audio
//! is dropped, so the delay stays bounded).

use crate::mix::{self, MixError, Saturation};

/// Unity gain in Q15.
pub const UNITY_GAIN_Q15: i32 = 32_768;

struct Row {
    data: Vec<i16>,
    fill: usize,
    primed: bool,
    gain: i32,
}

impl Row {
    fn push(&mut self, samples: &[i16]) {
        let capacity = self.data.len();
        let samples = &samples[samples.len().saturating_sub(capacity)..];
        let n = samples.len();
        let overflow = (self.fill + n).saturating_sub(capacity);
        if overflow > 0 {
            self.data.copy_within(overflow..self.fill, 0);
            self.fill -= overflow;
        }
        self.data[self.fill..self.fill + n].copy_from_slice(samples);
        self.fill += n;
    }

    /// Copy one frame into `out`; false (and `out` untouched) when starved.
    fn take(&mut self, out: &mut [i16], prime: usize) -> bool {
        let size = out.len();
        if !self.primed && self.fill >= prime.max(size) {
            self.primed = true;
        }
        if !self.primed || self.fill < size {
            self.primed = false;
            return false;
        }
        out.copy_from_slice(&self.data[..size]);
        self.data.copy_within(size..self.fill, 0);
        self.fill -= size;
        true
    }
}

/// Why a buffer request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BufferError {
    Shape(String),
    NoRow { index: usize, rows: usize },
    Mix(MixError),
}

impl std::fmt::Display for BufferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BufferError::Shape(message) => f.write_str(message),
            BufferError::NoRow { index, rows } => {
                write!(f, "no row {index}: the buffers have {rows} rows")
            }
            BufferError::Mix(err) => write!(f, "{err}"),
        }
    }
}

/// One room's rows of buffered audio, mixed a frame at a time.
pub struct MixBuffers {
    frame: usize,
    prime: usize,
    capacity: usize,
    rows: Vec<Row>,
}

impl MixBuffers {
    /// Buffers of `frame_samples` a tick that re-prime at `prime_frames` frames and hold
    /// at most `max_frames`.
    pub fn new(
        frame_samples: usize,
        prime_frames: usize,
        max_frames: usize,
    ) -> Result<Self, BufferError> {
        if frame_samples == 0 || prime_frames == 0 || prime_frames > max_frames {
            return Err(BufferError::Shape(format!(
                "expected frame_samples > 0 and 1 <= prime_frames <= max_frames, got \
                 {frame_samples}, {prime_frames}, {max_frames}"
            )));
        }
        Ok(MixBuffers {
            frame: frame_samples,
            prime: prime_frames * frame_samples,
            capacity: max_frames * frame_samples,
            rows: Vec::new(),
        })
    }

    /// Samples a tick takes from each row.
    pub fn frame_samples(&self) -> usize {
        self.frame
    }

    /// Rows mixed.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// A new empty row at the end, at unity gain; its index.
    pub fn add(&mut self) -> usize {
        self.rows.push(Row {
            data: vec![0; self.capacity],
            fill: 0,
            primed: false,
            gain: UNITY_GAIN_Q15,
        });
        self.rows.len() - 1
    }

    fn row(&mut self, index: usize) -> Result<&mut Row, BufferError> {
        let rows = self.rows.len();
        self.rows
            .get_mut(index)
            .ok_or(BufferError::NoRow { index, rows })
    }

    /// Drop row `index`; the rows after it move up one.
    pub fn remove(&mut self, index: usize) -> Result<(), BufferError> {
        self.row(index)?;
        self.rows.remove(index);
        Ok(())
    }

    /// Row `index`'s Q15 gain (0 mutes it for everyone).
    pub fn set_gain(&mut self, index: usize, gain_q15: i32) -> Result<(), BufferError> {
        if !(0..=mix::MAX_GAIN_Q15).contains(&gain_q15) {
            return Err(BufferError::Mix(MixError::GainOutOfRange {
                index,
                gain: gain_q15,
            }));
        }
        self.row(index)?.gain = gain_q15;
        Ok(())
    }

    /// Queue `samples` on row `index` (the oldest beyond the capacity are dropped).
    pub fn push(&mut self, index: usize, samples: &[i16]) -> Result<(), BufferError> {
        self.row(index)?.push(samples);
        Ok(())
    }

    /// Samples waiting in row `index`.
    pub fn buffered(&self, index: usize) -> Result<usize, BufferError> {
        self.rows
            .get(index)
            .map(|row| row.fill)
            .ok_or(BufferError::NoRow {
                index,
                rows: self.rows.len(),
            })
    }

    /// One tick: every row's frame into `frames` (silence where a row is starved), each
    /// row's mix-minus into `minus`, the full mix into `full` (both soft-limited), each
    /// row's peak magnitude into `peaks` and its gain into `gains`.
    pub fn tick(
        &mut self,
        frames: &mut [i16],
        minus: &mut [i16],
        full: &mut [i16],
        peaks: &mut [i32],
        gains: &mut [i32],
    ) -> Result<(), BufferError> {
        let (n, s) = (self.rows.len(), self.frame);
        if frames.len() != n * s
            || minus.len() != n * s
            || full.len() != s
            || peaks.len() != n
            || gains.len() != n
        {
            return Err(BufferError::Shape(format!(
                "tick needs frames and minus of {n}×{s}, full of {s}, peaks and gains of {n}"
            )));
        }
        let prime = self.prime;
        for (i, row) in self.rows.iter_mut().enumerate() {
            let out = &mut frames[i * s..(i + 1) * s];
            if !row.take(out, prime) {
                out.fill(0);
            }
            peaks[i] = out.iter().map(|&v| i32::from(v).abs()).max().unwrap_or(0);
            gains[i] = row.gain;
        }
        mix::mix_minus(frames, s, gains, Saturation::SoftKnee, minus).map_err(BufferError::Mix)?;
        mix::mix(frames, s, gains, Saturation::SoftKnee, full).map_err(BufferError::Mix)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_row_primes_then_plays_one_frame_a_tick() {
        let mut buffers = MixBuffers::new(2, 2, 3).unwrap();
        let (a, b) = (buffers.add(), buffers.add());
        buffers.push(a, &[1, 2, 3]).unwrap();
        buffers.push(b, &[9, 9, 9, 9, 9, 9, 7, 7]).unwrap(); // over capacity: oldest dropped
        assert_eq!(buffers.buffered(b).unwrap(), 6);
        let (mut frames, mut minus, mut full) = ([0; 4], [0; 4], [0; 2]);
        let (mut peaks, mut gains) = ([0; 2], [0; 2]);
        buffers
            .tick(&mut frames, &mut minus, &mut full, &mut peaks, &mut gains)
            .unwrap();
        assert_eq!(frames, [0, 0, 9, 9]); // a holds 3 < prime 4: silent
        assert_eq!(minus, [9, 9, 0, 0]);
        assert_eq!(peaks, [0, 9]);
        assert_eq!(gains, [32_768, 32_768]);
        buffers.remove(a).unwrap();
        assert_eq!(buffers.rows(), 1);
        assert!(buffers.set_gain(0, 70_000).is_err());
        assert!(buffers.push(1, &[1]).is_err());
    }
}
