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
    // When every total fits `i16` and the clamp saturates, `clamp(total - own)` for an
    // own term that also fits `i16` is exactly a 16-bit saturating subtraction, twice
    // as many lanes per instruction and no widening.
    let narrow: Option<Vec<i16>> = (sat == Saturation::Clamp
        && total.iter().all(|&t| t == t as i16 as i32))
    .then(|| total.iter().map(|&t| t as i16).collect());
    let mut scratch = vec![0i16; samples];
    for ((row, out_row), &g) in rows.zip(gains) {
        if let Some(total16) = &narrow {
            if minus_own_narrow(out_row, total16, row, g) {
                continue;
            }
        }
        match sat {
            Saturation::Clamp => minus_own_clamp(out_row, &total, row, g, &mut scratch),
            Saturation::SoftKnee => minus_own(out_row, &total, row, g, &mut scratch, soft_knee),
        }
    }
}

/// The mix-minus row for totals that fit `i16` under the hard clamp; returns `false`
/// (and writes nothing) for a gain above unity, whose own term may not fit `i16`.
#[inline(always)]
fn minus_own_narrow(out: &mut [i16], total: &[i16], row: &[i16], g: i32) -> bool {
    match g {
        0 => out.copy_from_slice(total),
        1..=32_767 => subtract_terms_below_unity(out, total, row, g as i16),
        32_768 => out
            .iter_mut()
            .zip(total)
            .zip(row)
            .for_each(|((o, &t), &x)| *o = t.saturating_sub(x)),
        _ => return false,
    }
    true
}

/// `out[i] = total[i] -sat term_below_unity(row[i], h)` (16-bit saturating), sixteen
/// lanes per instruction when the CPU has AVX2.
fn subtract_terms_below_unity(out: &mut [i16], total: &[i16], row: &[i16], h: i16) {
    assert!(out.len() == total.len() && out.len() == row.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: only reached when the CPU supports AVX2 (checked just above).
        unsafe { subtract_terms_below_unity_avx2(out, total, row, h) };
        return;
    }
    for ((o, &t), &x) in out.iter_mut().zip(total).zip(row) {
        *o = t.saturating_sub(term_below_unity(x, h));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn subtract_terms_below_unity_avx2(out: &mut [i16], total: &[i16], row: &[i16], h: i16) {
    use std::arch::x86_64::{__m256i, _mm256_loadu_si256, _mm256_mulhrs_epi16};
    use std::arch::x86_64::{_mm256_set1_epi16, _mm256_storeu_si256, _mm256_subs_epi16};
    const LANES: usize = 16;
    let gain = _mm256_set1_epi16(h);
    let whole = out.len() / LANES * LANES;
    let chunks = out[..whole]
        .chunks_exact_mut(LANES)
        .zip(total[..whole].chunks_exact(LANES))
        .zip(row[..whole].chunks_exact(LANES));
    for ((os, ts), xs) in chunks {
        // SAFETY: every chunk is exactly 16 i16 (32 bytes); unaligned access is allowed.
        unsafe {
            let own = _mm256_mulhrs_epi16(_mm256_loadu_si256(xs.as_ptr().cast::<__m256i>()), gain);
            let t = _mm256_loadu_si256(ts.as_ptr().cast::<__m256i>());
            _mm256_storeu_si256(os.as_mut_ptr().cast::<__m256i>(), _mm256_subs_epi16(t, own));
        }
    }
    for ((o, &t), &x) in out[whole..]
        .iter_mut()
        .zip(&total[whole..])
        .zip(&row[whole..])
    {
        *o = t.saturating_sub(term_below_unity(x, h));
    }
}

/// `(x * h + 2^14) >> 15` for a gain `h` below unity: the product fits `i32` and
/// the result fits `i16`, exactly what x86's `pmulhrsw` computes lane by lane.
#[inline(always)]
fn term_below_unity(x: i16, h: i16) -> i16 {
    ((((x as i32 * h as i32) >> 14) + 1) >> 1) as i16
}

/// `terms[i] = term_below_unity(row[i], h)`, sixteen lanes per instruction when the
/// CPU has AVX2 (the compiler does not find `pmulhrsw` on its own).
fn terms_below_unity(row: &[i16], h: i16, terms: &mut [i16]) {
    assert_eq!(row.len(), terms.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: only reached when the CPU supports AVX2 (checked just above).
        unsafe { terms_below_unity_avx2(row, h, terms) };
        return;
    }
    for (t, &x) in terms.iter_mut().zip(row) {
        *t = term_below_unity(x, h);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn terms_below_unity_avx2(row: &[i16], h: i16, terms: &mut [i16]) {
    use std::arch::x86_64::{__m256i, _mm256_loadu_si256, _mm256_mulhrs_epi16};
    use std::arch::x86_64::{_mm256_set1_epi16, _mm256_storeu_si256};
    const LANES: usize = 16;
    let gain = _mm256_set1_epi16(h);
    let whole = row.len() / LANES * LANES;
    for (xs, ts) in row[..whole]
        .chunks_exact(LANES)
        .zip(terms[..whole].chunks_exact_mut(LANES))
    {
        // SAFETY: both chunks are exactly 16 i16 (32 bytes); unaligned access is allowed.
        unsafe {
            let x = _mm256_loadu_si256(xs.as_ptr().cast::<__m256i>());
            _mm256_storeu_si256(
                ts.as_mut_ptr().cast::<__m256i>(),
                _mm256_mulhrs_epi16(x, gain),
            );
        }
    }
    for (t, &x) in terms[whole..].iter_mut().zip(&row[whole..]) {
        *t = term_below_unity(x, h);
    }
}

/// [`minus_own`] under the hard clamp, in hand-written AVX2 when the CPU has it: the
/// compiler narrows with two 128-bit packs per 16 samples where one 256-bit pack and
/// a lane permute do.
fn minus_own_clamp(out: &mut [i16], total: &[i32], row: &[i16], g: i32, scratch: &mut [i16]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: only reached when the CPU supports AVX2 (checked just above).
        unsafe {
            match g {
                0..=32_767 => minus_own_clamp_avx2::<0>(out, total, row, g as i16),
                32_768..=65_535 => minus_own_clamp_avx2::<1>(out, total, row, (g - 32_768) as i16),
                _ => minus_own_clamp_avx2::<2>(out, total, row, 0),
            }
        }
        return;
    }
    minus_own(out, total, row, g, scratch, clamp);
}

/// `out = clamp(total - (UNITS * x + term_below_unity(x, h)))`, which is
/// `clamp(total - term(x, g))` for `g = UNITS * 2^15 + h` (see [`minus_own`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn minus_own_clamp_avx2<const UNITS: i32>(
    out: &mut [i16],
    total: &[i32],
    row: &[i16],
    h: i16,
) {
    use std::arch::x86_64::{__m256i, _mm256_add_epi32, _mm256_castsi256_si128};
    use std::arch::x86_64::{_mm256_cvtepi16_epi32, _mm256_extracti128_si256};
    use std::arch::x86_64::{_mm256_loadu_si256, _mm256_mulhrs_epi16, _mm256_packs_epi32};
    use std::arch::x86_64::{_mm256_permute4x64_epi64, _mm256_set1_epi16};
    use std::arch::x86_64::{_mm256_storeu_si256, _mm256_sub_epi32};
    assert!(out.len() == total.len() && out.len() == row.len());
    const LANES: usize = 16;
    let gain = _mm256_set1_epi16(h);
    let whole = out.len() / LANES * LANES;
    let chunks = out[..whole]
        .chunks_exact_mut(LANES)
        .zip(total[..whole].chunks_exact(LANES))
        .zip(row[..whole].chunks_exact(LANES));
    for ((os, ts), xs) in chunks {
        // SAFETY: the chunks are 16 i16 (32 bytes) or 16 i32 (two times 32 bytes);
        // unaligned access is allowed.
        unsafe {
            let x = _mm256_loadu_si256(xs.as_ptr().cast::<__m256i>());
            let below = _mm256_mulhrs_epi16(x, gain);
            let mut own_lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(below));
            let mut own_hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(below));
            if UNITS > 0 {
                let mut x_lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(x));
                let mut x_hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(x));
                if UNITS == 2 {
                    x_lo = _mm256_add_epi32(x_lo, x_lo);
                    x_hi = _mm256_add_epi32(x_hi, x_hi);
                }
                own_lo = _mm256_add_epi32(own_lo, x_lo);
                own_hi = _mm256_add_epi32(own_hi, x_hi);
            }
            let t_lo = _mm256_loadu_si256(ts.as_ptr().cast::<__m256i>());
            let t_hi = _mm256_loadu_si256(ts.as_ptr().add(8).cast::<__m256i>());
            // packs works per 128-bit lane: [lo 0-3, hi 0-3, lo 4-7, hi 4-7]; the
            // permute puts the four quarters back in order.
            let packed = _mm256_packs_epi32(
                _mm256_sub_epi32(t_lo, own_lo),
                _mm256_sub_epi32(t_hi, own_hi),
            );
            let ordered = _mm256_permute4x64_epi64::<0b11_01_10_00>(packed);
            _mm256_storeu_si256(os.as_mut_ptr().cast::<__m256i>(), ordered);
        }
    }
    let g = UNITS * 32_768 + h as i32;
    for ((o, &t), &x) in out[whole..]
        .iter_mut()
        .zip(&total[whole..])
        .zip(&row[whole..])
    {
        *o = clamp(t - term(x, g));
    }
}

/// One mix-minus output row: `out = saturate(total - term(x, g))`.
///
/// The own term is found without a 32-bit multiply per sample. With `g = 2^15 + h`,
/// `x * g` is `x * 2^15 + x * h`, and since `x * 2^15` is a multiple of `2^15`,
/// `term(x, g) = x + term(x, h)` exactly; `term(x, h)` for `h < 2^15` is
/// [`term_below_unity`]. The result is bit-identical to [`term`].
#[inline(always)]
fn minus_own<S: Fn(i32) -> i16>(
    out: &mut [i16],
    total: &[i32],
    row: &[i16],
    g: i32,
    scratch: &mut [i16],
    saturate: S,
) {
    let lanes = out.iter_mut().zip(total);
    match g {
        0 => lanes.for_each(|(o, &t)| *o = saturate(t)),
        1..=32_767 => {
            terms_below_unity(row, g as i16, scratch);
            lanes
                .zip(scratch.iter())
                .for_each(|((o, &t), &own)| *o = saturate(t - own as i32));
        }
        32_768 => lanes
            .zip(row)
            .for_each(|((o, &t), &x)| *o = saturate(t - x as i32)),
        32_769..=65_535 => {
            terms_below_unity(row, (g - 32_768) as i16, scratch);
            lanes
                .zip(row)
                .zip(scratch.iter())
                .for_each(|(((o, &t), &x), &own)| *o = saturate(t - x as i32 - own as i32));
        }
        _ => lanes
            .zip(row)
            .for_each(|((o, &t), &x)| *o = saturate(t - term(x, g))),
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

    /// The fast paths (16-bit totals; own terms by `pmulhrsw`) against the plain formula,
    /// for every class of gain, at speech level (totals fit `i16`) and full scale.
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
