//! Audio sample-rate conversion between 8, 16 and 48 kHz, in exact integer arithmetic.
//!
//! Arithmetic (the numpy twin in `zhanye_sdk/kernels/resample.py` follows it to the bit):
//!
//! * `g = gcd(from, to)`, `L = to / g` (up), `M = from / g` (down), `R = max(L, M)`.
//!   From a rate to itself the filter is the single tap `32768` (a unit impulse), so
//!   the output is an exact copy and the delay is 0. Otherwise:
//! * Filter design, in `f64` with only `+ - * /` and `sqrt`, in exactly the order
//!   written in [`design_taps`] (Rust never contracts into FMA, and the twin evaluates
//!   the same expressions on Python floats one operation at a time, so both are
//!   IEEE-identical): `Z = 12` zero crossings per side, `N = 2 Z R + 1` taps centred
//!   on `c = Z R`, cut-off `fc = 0.45 / R`, Kaiser window with `beta = 7`:
//!   `h[k] = (L * (2 fc)) * sinc(2 fc (k - c)) * w[k]`,
//!   `w[k] = I0(beta * sqrt(1 - r * r)) / I0(beta)` with `r = (k - c) / c`,
//!   `I0(x) = sum_{k=0..=30} term_k`, `term_0 = 1`, `term_k = term_{k-1} * (x/2)^2 / (k k)`.
//!   `sinc(0) = 1`; otherwise `2 fc (k - c) = p / q` with integers `p = 9 (k - c)`,
//!   `q = 10 R` and `sinc = sin(pi p / q) / (pi p / q)`, where the sine is [`sin_pi_ratio`]:
//!   `p` is reduced modulo `2q` and folded into `[0, q/2]` in integers, then a 14-term
//!   Taylor series in Horner form is evaluated on `t = pi p' / q`. `pi` is `f64::consts::PI`
//!   (`math.pi`). Taps are quantized as `q15[k] = floor(h[k] * 32768 + 0.5)`.
//! * Polyphase filtering: output `m` uses `t = m M`, phase `p = t mod L`, input
//!   `i = t div L`, and
//!   `y[m] = saturate_i16((sum_{j >= 0, p + j L < N} q15[p + j L] * x[i - j] + 2^14) >> 15)`
//!   (arithmetic shift), with `x` zero before the first input (a causal filter that
//!   starts from silence). Output `m` is produced as soon as input `i` has arrived, so
//!   after `n` inputs exactly `ceil(n L / M)` outputs exist, however the input was
//!   chunked; the group delay is `c / M` output samples.
//! * The sum is exact in `i32`: every tap fits in `i16` (the largest is `0.9 * 32768`)
//!   and for each phase `sum |q15| * 32768 + 2^14 < 2^31` (the worst phase of the six
//!   rate pairs has `sum |q15| = 62282`). [`Resampler::new`] checks both, so the inner
//!   loop is an `i16 x i16 -> i32` dot product over a contiguous window, which the
//!   compiler vectorizes (`pmaddwd`).
//!
//! Each phase keeps its taps reversed and zero-padded at the front to a common length
//! `span = ceil(N / L)` rounded up to a multiple of [`LANES`]; the history kept between
//! chunks is the last `span - 1` inputs. Padding only adds products with zero taps.

use std::f64::consts::PI;

/// The sample rates a resampler converts between, in Hz.
pub const RATES: [u32; 3] = [8_000, 16_000, 48_000];
/// Zero crossings of the windowed sinc on each side of its centre.
pub const ZERO_CROSSINGS: usize = 12;
/// Kaiser window shape parameter.
pub const KAISER_BETA: f64 = 7.0;
/// Terms of the Taylor series of the sine (Horner form).
pub const SINE_TERMS: usize = 14;
/// Terms after `term_0` of the series of the modified Bessel function `I0`.
pub const BESSEL_TERMS: usize = 30;
/// Phase taps are padded to a multiple of this, so the dot product has no scalar tail.
pub const LANES: usize = 16;
/// Buffer capacity (samples) kept between chunks; 20 ms chunks never exceed it.
const RETAINED_SAMPLES: usize = 1 << 16;

/// Why a resampling request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ResampleError {
    /// A rate that is not one of [`RATES`]; `name` is the argument's name.
    Rate {
        name: &'static str,
        got: i64,
    },
    OutputLength {
        expected: usize,
        got: usize,
    },
}

impl std::fmt::Display for ResampleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResampleError::Rate { name, got } => f.write_str(&rate_message(name, got)),
            ResampleError::OutputLength { expected, got } => write!(
                f,
                "out has {got} elements; expected {expected} (ceil(n * to_hz / from_hz) minus what was already produced)"
            ),
        }
    }
}

/// The message of a refused rate, also used by the bindings for integers beyond `i64`.
pub fn rate_message(name: &str, got: &dyn std::fmt::Display) -> String {
    format!("{name} must be one of 8000, 16000, 48000, got {got}")
}

/// `hz` if it is one of [`RATES`]; `name` is the argument's name, for the error.
pub fn check_rate(name: &'static str, hz: i64) -> Result<u32, ResampleError> {
    RATES
        .iter()
        .copied()
        .find(|&r| i64::from(r) == hz)
        .ok_or(ResampleError::Rate { name, got: hz })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `sin(pi * p / q)` for integers `p` and `q > 0`, as specified in the module header.
pub fn sin_pi_ratio(p: i64, q: i64) -> f64 {
    let mut p = p.rem_euclid(2 * q);
    let negative = p >= q;
    if negative {
        p -= q;
    }
    if 2 * p > q {
        p = q - p;
    }
    let t = PI * p as f64 / q as f64;
    let t2 = t * t;
    let mut s = 1.0;
    for n in (1..SINE_TERMS).rev() {
        let d = (2 * n * (2 * n + 1)) as f64;
        s = 1.0 - t2 / d * s;
    }
    let v = t * s;
    if negative {
        -v
    } else {
        v
    }
}

/// The modified Bessel function of the first kind, order 0, by its series.
pub fn bessel_i0(x: f64) -> f64 {
    let half = x / 2.0;
    let y = half * half;
    let mut term = 1.0;
    let mut total = 1.0;
    for k in 1..=BESSEL_TERMS {
        term = term * y / (k * k) as f64;
        total += term;
    }
    total
}

/// `(L, M)`: the up and down factors from one rate to another.
fn factors(from_hz: u32, to_hz: u32) -> (usize, usize) {
    let g = gcd(u64::from(from_hz), u64::from(to_hz));
    (
        (u64::from(to_hz) / g) as usize,
        (u64::from(from_hz) / g) as usize,
    )
}

/// The Q15 taps of the filter from `from_hz` to `to_hz` (see the module header).
pub fn design_taps(from_hz: i64, to_hz: i64) -> Result<Vec<i32>, ResampleError> {
    let from = check_rate("from_hz", from_hz)?;
    let to = check_rate("to_hz", to_hz)?;
    Ok(taps_for(from, to))
}

fn taps_for(from_hz: u32, to_hz: u32) -> Vec<i32> {
    if from_hz == to_hz {
        return vec![1 << 15];
    }
    let (up, down) = factors(from_hz, to_hz);
    let r = up.max(down);
    let n = 2 * ZERO_CROSSINGS * r + 1;
    let c = (ZERO_CROSSINGS * r) as i64;
    let fc = 0.45 / r as f64;
    let gain = up as f64 * (2.0 * fc);
    let i0_beta = bessel_i0(KAISER_BETA);
    let q = 10 * r as i64;
    (0..n as i64)
        .map(|k| {
            let d = k - c;
            let s = if d == 0 {
                1.0
            } else {
                let p = 9 * d;
                sin_pi_ratio(p, q) / (PI * p as f64 / q as f64)
            };
            let rr = d as f64 / c as f64;
            let w = bessel_i0(KAISER_BETA * (1.0 - rr * rr).sqrt()) / i0_beta;
            let h = gain * s * w;
            (h * 32768.0 + 0.5).floor() as i32
        })
        .collect()
}

/// A streaming resampler: feed chunks of any length, get exactly the output of one
/// call on their concatenation.
#[derive(Clone, Debug)]
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    up: usize,
    down: usize,
    taps: Vec<i32>,
    /// Length of every phase's reversed taps and of the input window they cover.
    span: usize,
    /// `up` rows of `span` taps: row `p` holds `q15[p + j L]` for `j = span-1, ..., 0`.
    phases: Vec<i16>,
    /// For each phase `p`: the next output's phase and how many inputs further it starts.
    steps: Vec<(usize, usize)>,
    /// The last `span - 1` inputs, followed by the chunk being processed.
    buffer: Vec<i16>,
    consumed: u64,
    produced: u64,
}

impl Resampler {
    /// A resampler from `from_hz` to `to_hz`, both one of [`RATES`].
    pub fn new(from_hz: i64, to_hz: i64) -> Result<Self, ResampleError> {
        let from = check_rate("from_hz", from_hz)?;
        let to = check_rate("to_hz", to_hz)?;
        let (up, down) = factors(from, to);
        let taps = taps_for(from, to);
        // From a rate to itself `(32768 x + 2^14) >> 15 == x`: `process` copies, no phases.
        let span = if from == to {
            1
        } else {
            taps.len().div_ceil(up).next_multiple_of(LANES)
        };
        let mut phases = vec![0i16; if from == to { 0 } else { up * span }];
        for (p, row) in phases.chunks_exact_mut(span).enumerate() {
            for (j, &tap) in taps.iter().skip(p).step_by(up).enumerate() {
                row[span - 1 - j] = i16::try_from(tap).expect("every tap fits in i16");
            }
            let bound: i64 = row.iter().map(|&h| i64::from(h).abs()).sum();
            assert!(
                bound * 32_768 + (1 << 14) <= i64::from(i32::MAX),
                "the i32 accumulator must not overflow"
            );
        }
        Ok(Resampler {
            from_hz: from,
            to_hz: to,
            up,
            down,
            taps,
            span,
            phases,
            steps: (0..up)
                .map(|p| ((p + down) % up, (p + down) / up))
                .collect(),
            buffer: vec![0; span - 1],
            consumed: 0,
            produced: 0,
        })
    }

    /// The input rate in Hz (`from_hz`).
    pub fn input_hz(&self) -> u32 {
        self.from_hz
    }

    /// The output rate in Hz (`to_hz`).
    pub fn output_hz(&self) -> u32 {
        self.to_hz
    }

    /// The Q15 filter taps `q15[0..N]`.
    pub fn taps(&self) -> &[i32] {
        &self.taps
    }

    /// Group delay of the filter in output samples: `c / M` (0 from a rate to itself).
    pub fn delay(&self) -> f64 {
        ((self.taps.len() - 1) / 2) as f64 / self.down as f64
    }

    /// How many samples [`Resampler::process`] produces for a chunk of `input_len`.
    pub fn output_len(&self, input_len: usize) -> usize {
        let total = (self.consumed + input_len as u64) * self.up as u64;
        (total.div_ceil(self.down as u64) - self.produced) as usize
    }

    /// Forget all input: back to the state of a new resampler.
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.buffer.resize(self.span - 1, 0);
        self.consumed = 0;
        self.produced = 0;
    }

    /// Resamples the next chunk into `out`, which must be [`Resampler::output_len`] long.
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) -> Result<(), ResampleError> {
        let expected = self.output_len(input.len());
        if out.len() != expected {
            return Err(ResampleError::OutputLength {
                expected,
                got: out.len(),
            });
        }
        if self.from_hz == self.to_hz {
            out.copy_from_slice(input);
            self.consumed += input.len() as u64;
            self.produced += expected as u64;
            return Ok(());
        }
        let span = self.span;
        self.buffer.extend_from_slice(input);
        let t = self.produced * self.down as u64;
        let polyphase = Polyphase {
            phases: &self.phases,
            span,
            steps: &self.steps,
        };
        let start = (t / self.up as u64 - self.consumed) as usize;
        let phase = (t % self.up as u64) as usize;
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: only reached when the CPU supports AVX2 (checked just above).
                unsafe { filter_avx2(&polyphase, &self.buffer, start, phase, out) };
            } else {
                filter(&polyphase, &self.buffer, start, phase, out);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        filter(&polyphase, &self.buffer, start, phase, out);
        let keep_from = self.buffer.len() - (span - 1);
        self.buffer.copy_within(keep_from.., 0);
        self.buffer.truncate(span - 1);
        // A one-off huge chunk must not pin its memory for the resampler's lifetime.
        self.buffer.shrink_to(RETAINED_SAMPLES);
        self.consumed += input.len() as u64;
        self.produced += expected as u64;
        Ok(())
    }
}

/// The filter bank of one resampler, borrowed for one call.
struct Polyphase<'a> {
    phases: &'a [i16],
    span: usize,
    /// For each phase `p`: `((p + M) mod L, (p + M) div L)`.
    steps: &'a [(usize, usize)],
}

/// Writes `out.len()` outputs, the first one at window `start` of `buffer` and `phase`.
#[inline(always)]
fn filter(bank: &Polyphase<'_>, buffer: &[i16], start: usize, phase: usize, out: &mut [i16]) {
    let span = bank.span;
    let (mut start, mut phase) = (start, phase);
    for o in out.iter_mut() {
        let window = &buffer[start..start + span];
        let taps = &bank.phases[phase * span..(phase + 1) * span];
        *o = round_saturate(dot(window, taps));
        // No division per output: the next phase and input advance come from a table.
        let (next, advance) = bank.steps[phase];
        phase = next;
        start += advance;
    }
}

/// [`filter`] compiled for AVX2 (selected at run time): same arithmetic, wider vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn filter_avx2(
    bank: &Polyphase<'_>,
    buffer: &[i16],
    start: usize,
    phase: usize,
    out: &mut [i16],
) {
    filter(bank, buffer, start, phase, out)
}

/// Exact dot product; [`Resampler::new`] proved that it cannot overflow `i32`.
#[inline(always)]
fn dot(window: &[i16], taps: &[i16]) -> i32 {
    window
        .chunks_exact(LANES)
        .zip(taps.chunks_exact(LANES))
        .map(|(w, h)| {
            w.iter()
                .zip(h)
                .map(|(&x, &t)| i32::from(x) * i32::from(t))
                .sum::<i32>()
        })
        .sum()
}

#[inline(always)]
fn round_saturate(acc: i32) -> i16 {
    ((acc + (1 << 14)) >> 15).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// Resamples a whole signal: the output of a fresh [`Resampler`] on `input`.
pub fn resample(input: &[i16], from_hz: i64, to_hz: i64) -> Result<Vec<i16>, ResampleError> {
    let mut resampler = Resampler::new(from_hz, to_hz)?;
    let mut out = vec![0; resampler.output_len(input.len())];
    resampler.process(input, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> impl Iterator<Item = (i64, i64)> {
        RATES
            .iter()
            .flat_map(|&a| RATES.iter().map(move |&b| (i64::from(a), i64::from(b))))
    }

    /// The taps straight from the definition, with the library sine and no padding.
    fn reference(input: &[i16], taps: &[i32], up: usize, down: usize) -> Vec<i16> {
        let count = (input.len() * up).div_ceil(down);
        (0..count)
            .map(|m| {
                let (i, p) = ((m * down) / up, (m * down) % up);
                let mut acc = 0i64;
                let mut j = 0;
                while p + j * up < taps.len() {
                    if i >= j {
                        acc += i64::from(taps[p + j * up]) * i64::from(input[i - j]);
                    }
                    j += 1;
                }
                ((acc + (1 << 14)) >> 15).clamp(-32_768, 32_767) as i16
            })
            .collect()
    }

    fn noise(len: usize, mut state: u32) -> Vec<i16> {
        (0..len)
            .map(|k| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                match k % 97 {
                    0 => i16::MIN,
                    1 => i16::MAX,
                    _ => (state >> 16) as i16,
                }
            })
            .collect()
    }

    #[test]
    fn sine_of_rationals_matches_the_library_sine() {
        for q in [10i64, 20, 30, 60] {
            for p in -400..400 {
                let want = (PI * p as f64 / q as f64).sin();
                assert!((sin_pi_ratio(p, q) - want).abs() < 1e-13, "{p}/{q}");
            }
        }
        assert_eq!(sin_pi_ratio(0, 10), 0.0);
    }

    #[test]
    fn taps_are_symmetric_with_unit_gain_per_phase() {
        for (from, to) in pairs() {
            let taps = design_taps(from, to).unwrap();
            let rev: Vec<i32> = taps.iter().rev().copied().collect();
            assert_eq!(taps, rev);
            let r = Resampler::new(from, to).unwrap();
            for p in 0..r.up {
                let dc: i32 = taps.iter().skip(p).step_by(r.up).sum();
                assert!((dc - 32_768).abs() <= 4, "{from}->{to} phase {p}: {dc}");
            }
        }
    }

    #[test]
    fn matches_the_definition_and_streams() {
        let input = noise(3_001, 7);
        for (from, to) in pairs() {
            let r = Resampler::new(from, to).unwrap();
            let want = reference(&input, r.taps(), r.up, r.down);
            assert_eq!(resample(&input, from, to).unwrap(), want, "{from}->{to}");
            let mut streaming = Resampler::new(from, to).unwrap();
            let mut got = Vec::new();
            let mut rest = &input[..];
            for size in [0usize, 1, 2, 959, 0, 17, 960, 1].iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                let mut out = vec![0; streaming.output_len(chunk.len())];
                streaming.process(chunk, &mut out).unwrap();
                got.extend_from_slice(&out);
                rest = tail;
            }
            assert_eq!(got, want, "{from}->{to} streaming");
            streaming.reset();
            let mut again = vec![0; streaming.output_len(input.len())];
            streaming.process(&input, &mut again).unwrap();
            assert_eq!(again, want, "{from}->{to} after reset");
        }
    }

    #[test]
    fn identity_is_a_copy() {
        let input = noise(500, 3);
        for hz in RATES {
            let hz = i64::from(hz);
            assert_eq!(resample(&input, hz, hz).unwrap(), input);
            assert_eq!(Resampler::new(hz, hz).unwrap().delay(), 0.0);
        }
    }

    #[test]
    fn bad_rates_and_lengths_are_refused() {
        assert_eq!(
            Resampler::new(44_100, 16_000).unwrap_err(),
            ResampleError::Rate {
                name: "from_hz",
                got: 44_100
            }
        );
        let err = Resampler::new(16_000, -1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "to_hz must be one of 8000, 16000, 48000, got -1"
        );
        let mut r = Resampler::new(48_000, 16_000).unwrap();
        let mut out = [0i16; 3];
        assert!(matches!(
            r.process(&[0; 10], &mut out),
            Err(ResampleError::OutputLength {
                expected: 4,
                got: 3
            })
        ));
    }
}
