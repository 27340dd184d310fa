//! Stroke rasterizer: anti-aliased polylines with width and round caps, drawn into an
//! RGB image in exact integer arithmetic.
//!
//! Arithmetic (the numpy twin in `zhanye_sdk/kernels/raster.py` follows it to the
//! bit). Coordinates and widths are Q8 fixed point (1/256 pixel); `>>` is an
//! arithmetic shift (floor), `//` floor division, `isqrt` the exact integer square root.
//!
//! * Pixel `(px, py)` has its centre at `cx = px * 256 + 128`, `cy = py * 256 + 128`.
//! * A stroke of `n` points has segments `(p[k], p[k + 1])` for `k < n - 1`; a single
//!   point is the segment `(p[0], p[0])` (a dot). `r = width // 2`.
//! * Distance `d` from a pixel centre to segment `(a, b)`, with `dx = cx - ax`,
//!   `dy = cy - ay`, `ex = bx - ax`, `ey = by - ay`, `len2 = ex² + ey²`,
//!   `t = dx * ex + dy * ey`:
//!   if `len2 == 0` or `t <= 0`: `d = isqrt(dx² + dy²)`;
//!   else if `t >= len2`: `d = isqrt((cx - bx)² + (cy - by)²)`;
//!   else `d = |dx * ey - dy * ex| // isqrt(len2)`.
//!   All in `i64`: with coordinates within ±2^22 and images up to 8192 pixels every
//!   product stays below 2^50.
//! * Coverage of a pixel by a segment: `clamp(r + 128 - d, 0, 256)`; a segment touches
//!   the pixels `((min(ax, bx) - r - 128) >> 8) ..= ((max(ax, bx) + r + 128) >> 8)`
//!   (likewise in y), clipped to the image. A stroke's coverage is the maximum over its
//!   segments, so overlapping segments of one stroke never blend twice (a highlighter
//!   stays even).
//! * Blending each channel `s` with the stroke colour `c` and coverage `a`:
//!   pen: `(s * (256 - a) + c * a + 128) >> 8`;
//!   highlighter (multiply): `m = (s * c + 127) // 255`, then `(s * (256 - a) + m * a + 128) >> 8`.
//! * Strokes are drawn in order, each onto the result of the ones before.
//!
//! Speed without changing a bit: `isqrt` is the hardware square root and `//` the
//! floating-point quotient, each corrected to the exact floor; the square root (or the division) is skipped where the coverage is
//! known to be 0 or 256 from comparing squares (`isqrt(n) >= k` iff `n >= k²`,
//! `isqrt(n) <= k` iff `n < (k + 1)²`; likewise `|c| // len >= k` iff `|c| >= k * len`).

/// Largest image side in pixels.
pub const MAX_SIDE: usize = 8192;
/// Largest absolute Q8 coordinate (16384 pixels).
pub const MAX_COORD: i32 = 1 << 22;
/// Largest Q8 stroke width (256 pixels).
pub const MAX_WIDTH: i32 = 256 * 256;

/// How a stroke meets the pixels under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Pen,
    Highlighter,
}

/// Why a drawing request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RasterError {
    Image { height: usize, width: usize },
    Offsets { detail: String },
    Lengths { detail: String },
    Coordinate { stroke: usize, value: i32 },
    Width { stroke: usize, value: i32 },
    Tool { stroke: usize, value: u8 },
}

impl std::fmt::Display for RasterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RasterError::Image { height, width } => write!(
                f,
                "image must have shape (H, W, 3) with 1 <= H, W <= {MAX_SIDE}, got ({height}, {width}, 3)"
            ),
            RasterError::Offsets { detail } => write!(f, "offsets {detail}"),
            RasterError::Lengths { detail } => f.write_str(detail),
            RasterError::Coordinate { stroke, value } => write!(
                f,
                "stroke {stroke} has coordinate {value}; Q8 coordinates must be within ±{MAX_COORD}"
            ),
            RasterError::Width { stroke, value } => write!(
                f,
                "stroke {stroke} has width {value}; Q8 widths must be 1..={MAX_WIDTH}"
            ),
            RasterError::Tool { stroke, value } => write!(
                f,
                "stroke {stroke} has tool {value}; tools are 0 (pen) or 1 (highlighter)"
            ),
        }
    }
}

/// Strokes to draw: stroke `i` has points `points[offsets[i]..offsets[i + 1]]` (x, y pairs).
pub struct Strokes<'a> {
    pub points: &'a [[i32; 2]],
    pub offsets: &'a [i64],
    pub widths: &'a [i32],
    pub colours: &'a [[u8; 3]],
    pub tools: &'a [u8],
}

/// Checks every argument; `Ok` means `draw` cannot fail.
pub fn check(height: usize, width: usize, strokes: &Strokes<'_>) -> Result<(), RasterError> {
    if !(1..=MAX_SIDE).contains(&height) || !(1..=MAX_SIDE).contains(&width) {
        return Err(RasterError::Image { height, width });
    }
    let s = strokes.widths.len();
    if strokes.colours.len() != s || strokes.tools.len() != s {
        return Err(RasterError::Lengths {
            detail: format!(
                "widths, colours and tools must describe the same strokes, got {s}, {} and {}",
                strokes.colours.len(),
                strokes.tools.len()
            ),
        });
    }
    let offsets = strokes.offsets;
    if offsets.len() != s + 1 {
        return Err(RasterError::Offsets {
            detail: format!("must have S + 1 = {} entries, got {}", s + 1, offsets.len()),
        });
    }
    if offsets[0] != 0 || offsets[s] != strokes.points.len() as i64 {
        return Err(RasterError::Offsets {
            detail: format!(
                "must start at 0 and end at the number of points {}, got {} .. {}",
                strokes.points.len(),
                offsets[0],
                offsets[s]
            ),
        });
    }
    for i in 0..s {
        if offsets[i + 1] <= offsets[i] {
            return Err(RasterError::Offsets {
                detail: format!("must increase: stroke {i} has no points"),
            });
        }
        let w = strokes.widths[i];
        if !(1..=MAX_WIDTH).contains(&w) {
            return Err(RasterError::Width {
                stroke: i,
                value: w,
            });
        }
        if strokes.tools[i] > 1 {
            return Err(RasterError::Tool {
                stroke: i,
                value: strokes.tools[i],
            });
        }
        for p in &strokes.points[offsets[i] as usize..offsets[i + 1] as usize] {
            for &v in p {
                if !(-MAX_COORD..=MAX_COORD).contains(&v) {
                    return Err(RasterError::Coordinate {
                        stroke: i,
                        value: v,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Pixel range `lo..=hi` touched along one axis, clipped to `0..side`; None if empty.
fn span(lo: i64, hi: i64, reach: i64, side: usize) -> Option<(usize, usize)> {
    let first = ((lo - reach) >> 8).max(0);
    let last = ((hi + reach) >> 8).min(side as i64 - 1);
    (first <= last).then_some((first as usize, last as usize))
}

/// Exact `floor(sqrt(n))` for `0 <= n < 2^52`: the hardware square root, then corrected.
#[inline]
fn isqrt(n: i64) -> i64 {
    let mut s = (n as f64).sqrt() as i64;
    if s * s > n {
        s -= 1;
    }
    if (s + 1) * (s + 1) <= n {
        s += 1;
    }
    s
}

/// Exact `floor(a / b)` for `0 <= a < 2^52`, `0 < b`: a floating-point quotient, corrected.
#[inline]
fn div_floor(a: i64, b: i64) -> i64 {
    let mut q = (a as f64 / b as f64) as i64;
    if q * b > a {
        q -= 1;
    }
    if (q + 1) * b <= a {
        q += 1;
    }
    q
}

/// Coverage from a squared distance `n`: `clamp(r + 128 - isqrt(n), 0, 256)`, skipping the
/// square root where the answer is 0 (`n >= (r + 128)²`) or 256 (`n < (r - 127)²`).
#[inline]
fn cover_of_squared(n: i64, r: i64, outer2: i64, inner2: i64) -> i64 {
    if n >= outer2 {
        0
    } else if n < inner2 {
        256
    } else {
        (r + 128 - isqrt(n)).clamp(0, 256)
    }
}

/// Raises `cover` (a `bw`-wide box at `(bx0, by0)`) to segment `(a, b)`'s coverage.
#[allow(clippy::too_many_arguments)]
fn cover_segment(
    cover: &mut [u16],
    bx0: usize,
    by0: usize,
    bw: usize,
    a: [i64; 2],
    b: [i64; 2],
    r: i64,
    xs: (usize, usize),
    ys: (usize, usize),
) {
    let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
    let len2 = ex * ex + ey * ey;
    let len = if len2 > 0 { isqrt(len2) } else { 1 };
    let outer2 = (r + 128) * (r + 128);
    let inner = (r - 127).max(0);
    let inner2 = inner * inner;
    // Across the segment `d = |cross| // len`, so `d >= r + 128` and `d <= r - 128`
    // become comparisons of `|cross|` without a division.
    let cross_outer = (r + 128) * len;
    let cross_inner = inner * len;
    for py in ys.0..=ys.1 {
        let cy = py as i64 * 256 + 128;
        let dy = cy - a[1];
        let row = &mut cover[(py - by0) * bw..(py - by0 + 1) * bw];
        for px in xs.0..=xs.1 {
            let cx = px as i64 * 256 + 128;
            let dx = cx - a[0];
            let t = dx * ex + dy * ey;
            let c = if len2 == 0 || t <= 0 {
                cover_of_squared(dx * dx + dy * dy, r, outer2, inner2)
            } else if t >= len2 {
                let (fx, fy) = (cx - b[0], cy - b[1]);
                cover_of_squared(fx * fx + fy * fy, r, outer2, inner2)
            } else {
                let cross = (dx * ey - dy * ex).abs();
                if cross >= cross_outer {
                    0
                } else if cross < cross_inner {
                    256
                } else {
                    (r + 128 - div_floor(cross, len)).clamp(0, 256)
                }
            } as u16;
            let slot = &mut row[px - bx0];
            if c > *slot {
                *slot = c;
            }
        }
    }
}

/// Draws the strokes into an RGB image of `height x width` pixels (`image.len() == h * w * 3`).
///
/// Call `check` first: `draw` assumes valid arguments (it panics on a bad slice length).
pub fn draw(image: &mut [u8], height: usize, width: usize, strokes: &Strokes<'_>) {
    let mut cover: Vec<u16> = Vec::new();
    for i in 0..strokes.widths.len() {
        let points = &strokes.points[strokes.offsets[i] as usize..strokes.offsets[i + 1] as usize];
        let r = i64::from(strokes.widths[i] / 2);
        let reach = r + 128;
        let (mut x_lo, mut y_lo, mut x_hi, mut y_hi) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for p in points {
            x_lo = x_lo.min(p[0].into());
            x_hi = x_hi.max(p[0].into());
            y_lo = y_lo.min(p[1].into());
            y_hi = y_hi.max(p[1].into());
        }
        let (Some(bx), Some(by)) = (
            span(x_lo, x_hi, reach, width),
            span(y_lo, y_hi, reach, height),
        ) else {
            continue;
        };
        let bw = bx.1 - bx.0 + 1;
        let bh = by.1 - by.0 + 1;
        cover.clear();
        cover.resize(bw * bh, 0);
        let segments = points.len().max(2) - 1;
        for k in 0..segments {
            let a = points[k];
            let b = points[(k + 1).min(points.len() - 1)];
            let a = [i64::from(a[0]), i64::from(a[1])];
            let b = [i64::from(b[0]), i64::from(b[1])];
            let (Some(xs), Some(ys)) = (
                span(a[0].min(b[0]), a[0].max(b[0]), reach, width),
                span(a[1].min(b[1]), a[1].max(b[1]), reach, height),
            ) else {
                continue;
            };
            cover_segment(&mut cover, bx.0, by.0, bw, a, b, r, xs, ys);
        }
        let colour = strokes.colours[i].map(u32::from);
        let highlighter = strokes.tools[i] == 1;
        for (row, py) in (by.0..=by.1).enumerate() {
            let line = &mut image[(py * width + bx.0) * 3..(py * width + bx.1 + 1) * 3];
            for (pixel, &a) in line
                .chunks_exact_mut(3)
                .zip(&cover[row * bw..(row + 1) * bw])
            {
                if a == 0 {
                    continue;
                }
                let a = u32::from(a);
                for (s, &c) in pixel.iter_mut().zip(&colour) {
                    let src = u32::from(*s);
                    let target = if highlighter {
                        (src * c + 127) / 255
                    } else {
                        c
                    };
                    *s = ((src * (256 - a) + target * a + 128) >> 8) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(points: &[[i32; 2]], width: i32, tool: u8) -> Vec<u8> {
        let mut image = vec![255u8; 20 * 20 * 3];
        let offsets = [0, points.len() as i64];
        let strokes = Strokes {
            points,
            offsets: &offsets,
            widths: &[width],
            colours: &[[0, 0, 200]],
            tools: &[tool],
        };
        check(20, 20, &strokes).unwrap();
        draw(&mut image, 20, 20, &strokes);
        image
    }

    #[test]
    fn a_dot_is_round_and_centred() {
        let image = one(&[[10 * 256, 10 * 256]], 6 * 256, 0);
        let at = |x: usize, y: usize| image[(y * 20 + x) * 3];
        assert_eq!(at(10, 10), 0);
        assert_eq!(at(9, 9), 0);
        assert_eq!(at(0, 0), 255);
        // Symmetric about the centre (10, 10) in pixel corners: (7, 10) ~ (12, 10).
        assert_eq!(at(7, 10), at(12, 10));
        assert!(at(13, 10) > 200);
    }

    #[test]
    fn highlighter_multiplies() {
        let image = one(&[[2 * 256, 10 * 256], [18 * 256, 10 * 256]], 4 * 256, 1);
        let i = (10 * 20 + 10) * 3;
        assert_eq!(&image[i..i + 3], &[0, 0, 200]);
    }

    #[test]
    fn fast_square_roots_and_quotients_are_exact() {
        let mut n: i64 = 1;
        while n < 1 << 52 {
            for m in [n - 1, n, n + 1, n * n.min(1 << 26) - 1] {
                if (0..1 << 52).contains(&m) {
                    assert_eq!(isqrt(m), m.isqrt(), "isqrt({m})");
                    for d in [1, 3, 255, 256, 1 << 22, m.max(1)] {
                        assert_eq!(div_floor(m, d), m / d, "{m} / {d}");
                    }
                }
            }
            n = n * 3 + 1;
        }
    }

    #[test]
    fn bad_arguments_are_refused() {
        let strokes = Strokes {
            points: &[[0, 0]],
            offsets: &[0, 1],
            widths: &[0],
            colours: &[[0, 0, 0]],
            tools: &[0],
        };
        assert!(matches!(
            check(10, 10, &strokes),
            Err(RasterError::Width { stroke: 0, .. })
        ));
        assert!(matches!(
            check(0, 10, &strokes),
            Err(RasterError::Image { .. })
        ));
    }
}
