//! Audio mixing in exact integer arithmetic.
//!
//! Arithmetic (the numpy twin in `zhanye_sdk/kernels/mix.py` follows it to the bit):
//!
//! * A gain is Q15 in `0..=65536` (32768 is unity, 0 is mute, 65536 is +6 dB).
//! * Each source sample becomes a term `(x * g + 2^14) >> 15`, computed in `i32`
//!   (`|x * g| <= 2^31 - 2^16` so it cannot overflow) with an arithmetic shift,
//!   i.e. rounding half up towards +infinity.
//! * Terms are summed in `i32` (N is limited to `MAX_SOURCES`, so the sum cannot overflow).
//! * The sum is saturated once, at the very end, by the chosen [`Saturation`]:
//!   a hard clamp to `[-32768, 32767]`, or the soft knee defined in [`soft_knee`].
//! * Mix-minus gives every source the sum of all *other* terms: `total - own`
//!   before saturation, so it is exactly `mix` over the other sources, in O(N·S).

/// Most sources one call accepts: keeps the `i32` accumulator far from overflow.
pub const MAX_SOURCES: usize = 16_384;
/// Largest Q15 gain accepted (+6 dB).
pub const MAX_GAIN_Q15: i32 = 65_536;
/// Level where the soft knee starts bending (0.75 of full scale).
pub const SOFT_KNEE_THRESHOLD: i32 = 24_576;

/// How the final sum is brought back into the `i16` range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saturation {
    /// Clamp to `[-32768, 32767]`.
    Clamp,
    /// Memoryless soft knee, see [`soft_knee`].
    SoftKnee,
}

/// Why a mixing request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum MixError {
    TooManySources(usize),
    GainOutOfRange { index: usize, gain: i32 },
    GainCount { sources: usize, gains: usize },
    OutputLength { expected: usize, got: usize },
}

impl std::fmt::Display for MixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MixError::TooManySources(n) => {
                write!(
                    f,
                    "frames has {n} sources; at most {MAX_SOURCES} are supported"
                )
            }
            MixError::GainOutOfRange { index, gain } => write!(
                f,
                "gains_q15[{index}] is {gain}; expected a Q15 gain in 0..={MAX_GAIN_Q15}"
            ),
            MixError::GainCount { sources, gains } => write!(
                f,
                "gains_q15 has {gains} entries; expected one per source (shape ({sources},))"
            ),
            MixError::OutputLength { expected, got } => write!(
                f,
                "out has {got} elements; expected {expected} (one per sample of every output row)"
            ),
        }
    }
}

/// The soft knee: identity up to `T = SOFT_KNEE_THRESHOLD`; above it, with
/// `R = 32767 - T` and `e = |v| - T`, the magnitude becomes `T + (e * R) / (e + R)`
/// (integer floor division, computed in `i64`), which has slope 1 at the knee and
/// approaches 32767 without reaching past it. The sign is kept.
#[inline]
pub fn soft_knee(v: i32) -> i16 {
    let magnitude = (v as i64).abs();
    let t = SOFT_KNEE_THRESHOLD as i64;
    if magnitude <= t {
        return v as i16;
    }
    let r = 32_767 - t;
    let excess = magnitude - t;
    let bent = t + (excess * r) / (excess + r);
    if v < 0 {
        -bent as i16
    } else {
        bent as i16
    }
}

#[inline(always)]
fn clamp(v: i32) -> i16 {
    v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

#[inline]
fn term(x: i16, g: i32) -> i32 {
    (x as i32 * g + (1 << 14)) >> 15
}

/// Checks the gains against the sources; returns the number of sources.
pub fn check(sources: usize, gains: &[i32]) -> Result<(), MixError> {
    if sources > MAX_SOURCES {
        return Err(MixError::TooManySources(sources));
    }
    if gains.len() != sources {
        return Err(MixError::GainCount {
            sources,
            gains: gains.len(),
        });
    }
    if let Some((index, &gain)) = gains
        .iter()
        .enumerate()
        .find(|(_, &g)| !(0..=MAX_GAIN_Q15).contains(&g))
    {
        return Err(MixError::GainOutOfRange { index, gain });
    }
    Ok(())
}

/// Samples handled together: their running sums stay in vector registers while every
/// source row is added, instead of going back to memory once per row.
const BLOCK: usize = 64;

/// Calls `body(frames, samples, gains, sat, out)` compiled for AVX2 when the CPU has it
/// (detected at run time, cached by std), else compiled for the baseline target.
/// The arithmetic is identical either way; only the instructions differ.
macro_rules! dispatch_simd {
    ($body:ident, $frames:expr, $samples:expr, $gains:expr, $sat:expr, $out:expr) => {{
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn with_avx2(
            frames: &[i16],
            samples: usize,
            gains: &[i32],
            sat: Saturation,
            out: &mut [i16],
        ) {
            $body(frames, samples, gains, sat, out)
        }
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        if avx2 {
            // SAFETY: only reached when the CPU supports AVX2 (checked just above).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                with_avx2($frames, $samples, $gains, $sat, $out)
            }
        } else {
            $body($frames, $samples, $gains, $sat, $out)
        }
    }};
}

/// Adds every audible source's terms for samples `start..start + len` into `acc`.
#[inline(always)]
fn accumulate_block(
    frames: &[i16],
    samples: usize,
    gains: &[i32],
    start: usize,
    acc: &mut [i32; BLOCK],
    len: usize,
) {
    acc.fill(0);
    for (row, &g) in frames.chunks_exact(samples).zip(gains) {
        if g == 0 {
            continue;
        }
        let xs = &row[start..start + len];
        for (a, &x) in acc[..len].iter_mut().zip(xs) {
            *a += term(x, g);
        }
    }
}

#[inline(always)]
fn mix_body(frames: &[i16], samples: usize, gains: &[i32], sat: Saturation, out: &mut [i16]) {
    let mut acc = [0i32; BLOCK];
    for (block, out_block) in out.chunks_mut(BLOCK).enumerate() {
        let start = block * BLOCK;
        accumulate_block(frames, samples, gains, start, &mut acc, out_block.len());
        saturate_into(out_block, &acc[..out_block.len()], sat);
    }
}

#[inline(always)]
fn mix_minus_body(frames: &[i16], samples: usize, gains: &[i32], sat: Saturation, out: &mut [i16]) {
    // Totals block by block (sums kept in registers), then every output row in one
    // sequential sweep over its input row, which the prefetcher streams well.
    let mut total = vec![0i32; samples];
    let mut acc = [0i32; BLOCK];
    for (block, total_block) in total.chunks_mut(BLOCK).enumerate() {
        accumulate_block(
            frames,
            samples,
            gains,
            block * BLOCK,
            &mut acc,
            total_block.len(),
        );
        total_block.copy_from_slice(&acc[..total_block.len()]);
    }
    let rows = frames
        .chunks_exact(samples)
        .zip(out.chunks_exact_mut(samples));
    for ((row, out_row), &g) in rows.zip(gains) {
        match sat {
            Saturation::Clamp => {
                for ((o, &t), &x) in out_row.iter_mut().zip(&total).zip(row) {
                    *o = clamp(t - term(x, g));
                }
            }
            Saturation::SoftKnee => {
                for ((o, &t), &x) in out_row.iter_mut().zip(&total).zip(row) {
                    *o = soft_knee(t - term(x, g));
                }
            }
        }
    }
}

/// Saturates `levels` into `out`, with the branch on `sat` outside the loop so the
/// clamping loop vectorizes.
#[inline(always)]
fn saturate_into(out: &mut [i16], levels: &[i32], sat: Saturation) {
    match sat {
        Saturation::Clamp => {
            for (o, &v) in out.iter_mut().zip(levels) {
                *o = clamp(v);
            }
        }
        Saturation::SoftKnee => {
            for (o, &v) in out.iter_mut().zip(levels) {
                *o = soft_knee(v);
            }
        }
    }
}

/// Mixes `frames` (row-major `[N, samples]`) into `out` (`samples` long).
pub fn mix(
    frames: &[i16],
    samples: usize,
    gains: &[i32],
    saturation: Saturation,
    out: &mut [i16],
) -> Result<(), MixError> {
    check(gains.len(), gains)?;
    if out.len() != samples {
        return Err(MixError::OutputLength {
            expected: samples,
            got: out.len(),
        });
    }
    if samples == 0 {
        return Ok(());
    }
    dispatch_simd!(mix_body, frames, samples, gains, saturation, out);
    Ok(())
}

/// For every source the mix of all the others: `out` is row-major `[N, samples]`.
pub fn mix_minus(
    frames: &[i16],
    samples: usize,
    gains: &[i32],
    saturation: Saturation,
    out: &mut [i16],
) -> Result<(), MixError> {
    check(gains.len(), gains)?;
    if out.len() != frames.len() {
        return Err(MixError::OutputLength {
            expected: frames.len(),
            got: out.len(),
        });
    }
    if samples == 0 {
        return Ok(());
    }
    dispatch_simd!(mix_minus_body, frames, samples, gains, saturation, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_gain_is_identity_and_sum_clamps_once() {
        let frames = [30_000i16, -30_000, 30_000, -30_000];
        let mut out = [0i16; 2];
        mix(&frames, 2, &[32_768, 32_768], Saturation::Clamp, &mut out).unwrap();
        assert_eq!(out, [32_767, -32_768]);
    }

    /// Mix-minus against the plain formula for every class of gain (mute, below, at and
    /// above unity, +6 dB), at speech level and at full scale (where the sums clip).
    #[test]
    fn mix_minus_paths_match_the_plain_formula() {
        let gains = [0, 1, 16_384, 32_767, 32_768, 32_769, 49_152, 65_535, 65_536];
        let samples = 37; // two 16-lane chunks and a tail
        let mut seed = 12_345u32;
        for level in [700i32, 32_767] {
            let frames: Vec<i16> = (0..gains.len() * samples)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((seed >> 8) as i32 % (2 * level + 1) - level) as i16
                })
                .collect();
            let mut got = vec![0i16; frames.len()];
            mix_minus(&frames, samples, &gains, Saturation::Clamp, &mut got).unwrap();
            for (row, out_row) in got.chunks_exact(samples).enumerate() {
                for (i, &o) in out_row.iter().enumerate() {
                    let others: i32 = (0..gains.len())
                        .filter(|&r| r != row)
                        .map(|r| term(frames[r * samples + i], gains[r]))
                        .sum();
                    assert_eq!(o, clamp(others), "level {level} row {row} sample {i}");
                }
            }
        }
    }

    #[test]
    fn mix_minus_is_mix_of_others() {
        let frames = [100i16, 200, 300, -400, 500, 600];
        let gains = [32_768, 16_384, 65_536];
        let mut minus = [0i16; 6];
        mix_minus(&frames, 2, &gains, Saturation::Clamp, &mut minus).unwrap();
        let mut others = [0i16; 2];
        mix(&frames[2..], 2, &gains[1..], Saturation::Clamp, &mut others).unwrap();
        assert_eq!(&minus[..2], &others);
    }

    #[test]
    fn soft_knee_is_monotonic_and_bounded() {
        let mut last = i16::MIN;
        for v in (-200_000..200_000).step_by(7) {
            let s = soft_knee(v);
            assert!(s >= last);
            assert!(s > i16::MIN);
            last = s;
        }
        assert_eq!(soft_knee(SOFT_KNEE_THRESHOLD), SOFT_KNEE_THRESHOLD as i16);
    }

    #[test]
    fn bad_gain_is_refused() {
        let mut out = [0i16; 1];
        let err = mix(&[1], 1, &[70_000], Saturation::Clamp, &mut out).unwrap_err();
        assert_eq!(
            err,
            MixError::GainOutOfRange {
                index: 0,
                gain: 70_000
            }
        );
    }
}
