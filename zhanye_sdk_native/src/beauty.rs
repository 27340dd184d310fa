//! Beauty filter (美颜) on an I420 frame: smooths skin and keeps edges, in exact
//! integer arithmetic.
//!
//! Arithmetic (the numpy twin in `zhanye_sdk/kernels/beauty.py` follows it to the
//! bit). `>>` is an arithmetic shift (floor), `//` floor division; all in `i32`.
//!
//! * Skin at chroma resolution: `skin = 77 <= U <= 127 and 133 <= V <= 173` (the
//!   classic YCbCr skin box). `count` is the number of skin samples in the 3×3
//!   neighbourhood (borders replicated), `m = MASK_W[count]` (0..=256) softens the
//!   mask's border. A luma pixel `(x, y)` takes the `m` of chroma sample `(x >> 1, y >> 1)`.
//! * Edge-preserving smoothing (a bilateral filter with integer weights) of luma `c`
//!   over the 49 taps at offsets `dy, dx ∈ {-5, -3, -1, 0, 1, 3, 5}` (borders replicated):
//!   tap `p` has weight `w = SPATIAL[i] * SPATIAL[j] * max(0, RANGE - |p - c|)`;
//!   `s = (Σ w·p + Σ w // 2) // Σ w` (the centre tap keeps `Σ w > 0`). A difference
//!   of `RANGE` or more (an edge) gets no weight, so edges stay sharp.
//! * Blend with `a = strength * m` (0..=65280): `o = c + (((s - c) * a + 32768) >> 16)`.
//! * Brightening (skin only): `o + (((255 - o) * brighten * m) >> 18)`.
//! * Chroma is left unchanged; pixels with `a == 0` and no brightening keep their value.

/// Largest plane side in pixels.
pub const MAX_SIDE: usize = 8192;
/// Luma differences at or above this get no weight (edges are kept).
pub const RANGE: i32 = 40;
/// Tap offsets along one axis: the 7×7 taps span 11×11 pixels (blemishes a few pixels
/// wide) and still see the finest (one-pixel) detail.
pub const OFFSETS: [i32; 7] = [-5, -3, -1, 0, 1, 3, 5];
/// Spatial weights along one axis, for `OFFSETS`.
pub const SPATIAL: [i32; 7] = [1, 2, 3, 4, 3, 2, 1];
/// Mask weight for 0..=9 skin samples in a 3×3 chroma neighbourhood: `round(256 * k / 9)`.
pub const MASK_W: [i32; 10] = [0, 28, 57, 85, 114, 142, 171, 199, 228, 256];
/// Skin box in chroma.
pub const U_MIN: u8 = 77;
pub const U_MAX: u8 = 127;
pub const V_MIN: u8 = 133;
pub const V_MAX: u8 = 173;

const PAD: usize = 5;

/// Why a frame was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BeautyError {
    Luma {
        height: usize,
        width: usize,
    },
    Chroma {
        expected: (usize, usize),
        u: (usize, usize),
        v: (usize, usize),
    },
    Strength {
        name: &'static str,
        value: i64,
    },
}

impl std::fmt::Display for BeautyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BeautyError::Luma { height, width } => write!(
                f,
                "y must have shape (H, W) with 1 <= H, W <= {MAX_SIDE}, got ({height}, {width})"
            ),
            BeautyError::Chroma { expected, u, v } => write!(
                f,
                "u and v must have shape ({}, {}) for this y, got {:?} and {:?}",
                expected.0, expected.1, u, v
            ),
            BeautyError::Strength { name, value } => {
                write!(f, "{name} must be between 0 and 255, got {value}")
            }
        }
    }
}

/// Checks plane shapes and levels before any work.
pub fn check(
    height: usize,
    width: usize,
    u: (usize, usize),
    v: (usize, usize),
    strength: i64,
    brighten: i64,
) -> Result<(), BeautyError> {
    if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        return Err(BeautyError::Luma { height, width });
    }
    let expected = (height.div_ceil(2), width.div_ceil(2));
    if u != expected || v != expected {
        return Err(BeautyError::Chroma { expected, u, v });
    }
    for (name, value) in [("strength", strength), ("brighten", brighten)] {
        if !(0..=255).contains(&value) {
            return Err(BeautyError::Strength { name, value });
        }
    }
    Ok(())
}

/// The mask weight (0..=256) of every chroma sample.
pub fn skin_weights(u: &[u8], v: &[u8], ch: usize, cw: usize) -> Vec<i32> {
    let skin: Vec<u8> = u
        .iter()
        .zip(v)
        .map(|(&a, &b)| u8::from((U_MIN..=U_MAX).contains(&a) && (V_MIN..=V_MAX).contains(&b)))
        .collect();
    let mut out = vec![0i32; ch * cw];
    for y in 0..ch {
        let rows = [y.saturating_sub(1), y, (y + 1).min(ch - 1)];
        for x in 0..cw {
            let cols = [x.saturating_sub(1), x, (x + 1).min(cw - 1)];
            let mut count = 0usize;
            for &r in &rows {
                for &c in &cols {
                    count += usize::from(skin[r * cw + c]);
                }
            }
            out[y * cw + x] = MASK_W[count];
        }
    }
    out
}

/// Filters luma `y` (`height × width`) into `out`, guided by chroma `u`, `v`.
///
/// Shapes and levels must have passed [`check`].
#[allow(clippy::too_many_arguments)]
pub fn beauty(
    y: &[u8],
    u: &[u8],
    v: &[u8],
    height: usize,
    width: usize,
    strength: i32,
    brighten: i32,
    out: &mut [u8],
) {
    let (ch, cw) = (height.div_ceil(2), width.div_ceil(2));
    let weights = skin_weights(u, v, ch, cw);
    // Luma with a replicated border of PAD pixels, so taps never need clamping.
    let pw = width + 2 * PAD;
    let mut padded = vec![0u8; (height + 2 * PAD) * pw];
    for py in 0..height + 2 * PAD {
        let sy = py.saturating_sub(PAD).min(height - 1);
        let src = &y[sy * width..(sy + 1) * width];
        let row = &mut padded[py * pw..(py + 1) * pw];
        row[..PAD].fill(src[0]);
        row[PAD..PAD + width].copy_from_slice(src);
        row[PAD + width..].fill(src[width - 1]);
    }
    let mut taps = [(0usize, 0i32); 49];
    for (i, sy) in SPATIAL.iter().enumerate() {
        for (j, sx) in SPATIAL.iter().enumerate() {
            taps[i * 7 + j] = (
                (OFFSETS[i] + PAD as i32) as usize * pw + (OFFSETS[j] + PAD as i32) as usize,
                sy * sx,
            );
        }
    }
    // Tap-major over a whole row, so the inner loops are straight-line and vectorise.
    let mut centre = vec![0i32; width];
    let mut acc = vec![0i32; width];
    let mut total = vec![0i32; width];
    for row in 0..height {
        let weight_row = &weights[(row >> 1) * cw..(row >> 1) * cw + cw];
        let out_row = &mut out[row * width..(row + 1) * width];
        let src_row = &y[row * width..(row + 1) * width];
        // Only the span of this row that touches skin is filtered.
        let first = weight_row.iter().position(|&m| m != 0);
        let last = weight_row.iter().rposition(|&m| m != 0);
        let (lo, hi) = match (first, last) {
            (Some(a), Some(b)) if strength != 0 => (2 * a, (2 * b + 2).min(width)),
            _ => (0, 0),
        };
        if lo < hi {
            for (c, &p) in centre[lo..hi].iter_mut().zip(&src_row[lo..hi]) {
                *c = i32::from(p);
            }
            acc[lo..hi].fill(0);
            total[lo..hi].fill(0);
            for &(offset, ws) in &taps {
                let start = row * pw + offset + lo;
                let tap_row = &padded[start..start + (hi - lo)];
                for (((a, t), &c), &p) in acc[lo..hi]
                    .iter_mut()
                    .zip(total[lo..hi].iter_mut())
                    .zip(&centre[lo..hi])
                    .zip(tap_row)
                {
                    let p = i32::from(p);
                    let w = ws * (RANGE - (p - c).abs()).max(0);
                    *a += w * p;
                    *t += w;
                }
            }
        }
        for x in 0..width {
            let m = weight_row[x >> 1];
            let c = i32::from(src_row[x]);
            let a = strength * m;
            let mut o = c;
            if a != 0 {
                let s = (acc[x] + total[x] / 2) / total[x];
                o = c + (((s - c) * a + 32768) >> 16);
            }
            if brighten != 0 && m != 0 {
                o += ((255 - o) * brighten * m) >> 18;
            }
            out_row[x] = o.clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_is_left_alone() {
        let y = vec![100u8; 16];
        let u = vec![128u8; 4];
        let v = vec![128u8; 4];
        let mut out = vec![0u8; 16];
        beauty(&y, &u, &v, 4, 4, 255, 255, &mut out);
        assert_eq!(out, y);
    }

    #[test]
    fn skin_noise_is_smoothed() {
        let y: Vec<u8> = (0..64)
            .map(|i| if i % 2 == 0 { 150 } else { 160 })
            .collect();
        let u = vec![110u8; 16];
        let v = vec![150u8; 16];
        let mut out = vec![0u8; 64];
        beauty(&y, &u, &v, 8, 8, 255, 0, &mut out);
        let spread = out.iter().max().unwrap() - out.iter().min().unwrap();
        assert!(spread < 10, "{out:?}");
    }

    #[test]
    fn shapes_are_checked() {
        assert!(check(4, 4, (2, 2), (2, 2), 0, 0).is_ok());
        assert!(check(5, 5, (3, 3), (3, 3), 255, 255).is_ok());
        assert!(check(4, 4, (2, 3), (2, 2), 0, 0).is_err());
        assert!(check(4, 4, (2, 2), (2, 2), 256, 0).is_err());
        assert!(check(0, 4, (0, 2), (0, 2), 0, 0).is_err());
    }
}
