//! Video compositing of I420 frames into one I420 frame, in exact integer arithmetic.
//!
//! Arithmetic (the numpy twin in `zhanye_sdk/kernels/composite.py` follows it to the
//! bit). `even(v) = v & !1` floors a non-negative integer to even; `//` is floor division.
//!
//! * Layout `Grid`, `n` inputs (`n == 0` draws background only): `cols` is the
//!   smallest `c` with `c * c >= n`, `rows = ceil(n / cols)`,
//!   `cell_w = even(width // cols)`, `cell_h = even(height // rows)`,
//!   `x0 = even((width - cols * cell_w) // 2)`, `y0 = even((height - rows * cell_h) // 2)`.
//!   Input `i` sits at row `r = i // cols`, column `c = i % cols`; with `k` tiles in
//!   its row (`cols`, or `n - r * cols` on the last row) and
//!   `offset = even((cols - k) * cell_w // 2)`, its cell is
//!   `(x0 + offset + c * cell_w, y0 + r * cell_h, cell_w, cell_h)`.
//! * Layout `Speaker`: input `main` is large. With one input its cell is the whole
//!   frame. Otherwise `strip_h = even(height // 5)`, the main cell is
//!   `(0, 0, width, height - strip_h)` and the `k = n - 1` others, in input order,
//!   get `thumb_w = even(min(width // k, strip_h * 16 // 9))`,
//!   `sx = even((width - k * thumb_w) // 2)` and cell
//!   `(sx + j * thumb_w, height - strip_h, thumb_w, strip_h)` for the `j`-th of them.
//! * A cell narrower or lower than 2 draws nothing.
//! * Aspect fit of a `(w, h)` input into cell `(cx, cy, cw, ch)`: if `w * ch <= h * cw`
//!   then `th = ch, tw = even(w * ch // h)`, else `tw = cw, th = even(h * cw // w)`;
//!   then `tw = max(tw, 2)`, `th = max(th, 2)`; the tile is at
//!   `x = cx + even((cw - tw) // 2)`, `y = cy + even((ch - th) // 2)`.
//!   Letterbox bars keep the background.
//! * Y is scaled from `(w, h)` to `(tw, th)` at `(x, y)`; U and V from
//!   `((w + 1) // 2, (h + 1) // 2)` to `(tw / 2, th / 2)` at `(x / 2, y / 2)`.
//! * Bilinear scaling from `S` to `D` samples, per axis, for each `d` in `0..D`:
//!   `pos = ((2d + 1) * S * 65536) // (2 * D) - 32768` (64-bit), clamped to
//!   `0..=(S - 1) * 65536`; `i0 = pos >> 16`, `i1 = min(i0 + 1, S - 1)`,
//!   `wgt = (pos >> 8) & 255`.
//!   Horizontal: `h[x] = src[i0x] * (256 - wx) + src[i1x] * wx` (at most 65280: a `u16`,
//!   not rounded). Vertical: `out = (h_top[x] * (256 - wy) + h_bottom[x] * wy + 32768) >> 16`.
//! * Inputs are drawn in order; everything else is background (Y, U, V components).
//!
//! Because the horizontal intermediate is not rounded, the result is the exact
//! integer `sum of src * wx_tap * wy_tap` over the 4 taps, rounded once: the two
//! passes can be done in either order and grouped freely. Here:
//!
//! * Horizontal first (the default): each needed source row is scaled horizontally
//!   once, kept in a two-row cache for the next output rows, then the vertical pass
//!   blends two cached rows (vectorized, `pmaddwd` on AVX2).
//! * Vertical first, on AVX2, when a tile reads more source rows than it outputs
//!   (downscaling): per output row, the two source rows are blended over the whole
//!   source width (`u16`, vectorized), then the horizontal pass finishes the samples.
//!   `blend_first` picks whichever does less work for the tile.
//! * On AVX2 the horizontal pass gathers each block of 4 outputs from a 16-byte
//!   window with one byte shuffle and one `pmaddwd`, with tables built once per
//!   (source, destination) size; where a block does not fit a window (downscaling by
//!   more than ~4 from `u8`, ~2 from `u16`) the other order or the scalar loop runs.
//! * Exact shortcuts: a row with `wy == 0` needs no bottom row, and a tile whose
//!   size equals its source (all weights 0, `i0 = d`) is a plain copy.
//!
//! `Isa::Scalar` runs the same arithmetic without SIMD; the tests compare the two.

use std::collections::HashMap;

/// Largest output width or height.
pub const MAX_OUTPUT_SIDE: usize = 8192;
/// Largest input width or height (keeps positions far inside 64 bits).
pub const MAX_INPUT_SIDE: usize = 65_536;
/// Most index/weight tables a [`Compositor`] keeps before it starts over.
const MAX_CACHED_TABLES: usize = 512;

/// How the inputs are arranged in the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Equal cells, rows centred, the last row centred horizontally.
    Grid,
    /// The `main` input large on top, the others as thumbnails in a bottom strip.
    Speaker,
}

/// A rectangle in pixels; `w == 0` means "not drawn".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// Why a compositing request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CompositeError {
    OutputSide {
        name: &'static str,
        got: i64,
    },
    Main {
        main: i64,
        inputs: usize,
    },
    LumaShape {
        index: usize,
        got: (usize, usize),
    },
    ChromaShape {
        index: usize,
        plane: &'static str,
        expected: (usize, usize),
        luma: (usize, usize),
        got: (usize, usize),
    },
    OutputShape {
        plane: &'static str,
        expected: (usize, usize),
        got: usize,
    },
}

impl std::fmt::Display for CompositeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompositeError::OutputSide { name, got } => write!(
                f,
                "{name} must be an even number in 2..={MAX_OUTPUT_SIDE}, got {got}"
            ),
            CompositeError::Main { main, inputs } => write!(
                f,
                "main is {main}; expected an input index with 0 <= main < {inputs}"
            ),
            CompositeError::LumaShape { index, got } => write!(
                f,
                "inputs[{index}] Y must have shape (h, w) with 1 <= h, w <= {MAX_INPUT_SIDE}, \
                 got ({}, {})",
                got.0, got.1
            ),
            CompositeError::ChromaShape {
                index,
                plane,
                expected,
                luma,
                got,
            } => write!(
                f,
                "inputs[{index}] {plane} must have shape ({}, {}) for a Y of shape ({}, {}), \
                 got ({}, {})",
                expected.0, expected.1, luma.0, luma.1, got.0, got.1
            ),
            CompositeError::OutputShape {
                plane,
                expected,
                got,
            } => write!(
                f,
                "out {plane} must hold {} x {} samples, got {got}",
                expected.0, expected.1
            ),
        }
    }
}

#[inline]
fn even(v: usize) -> usize {
    v & !1
}

/// One read-only plane: `rows[r]` is row `r`, exactly `width` samples long.
///
/// Rows are separate slices so that any row stride (padded, zero, negative) works
/// without a copy.
pub struct Plane<'a> {
    pub width: usize,
    pub rows: Vec<&'a [u8]>,
}

impl Plane<'_> {
    fn shape(&self) -> (usize, usize) {
        (self.rows.len(), self.width)
    }
}

/// One input frame.
pub struct Frame<'a> {
    pub y: Plane<'a>,
    pub u: Plane<'a>,
    pub v: Plane<'a>,
}

/// The output frame: three C-contiguous planes of `width x height` and half that.
pub struct FrameMut<'a> {
    pub y: &'a mut [u8],
    pub u: &'a mut [u8],
    pub v: &'a mut [u8],
}

/// Checks an output side (`name` is `"width"` or `"height"`).
pub fn check_output_side(name: &'static str, side: i64) -> Result<usize, CompositeError> {
    if side < 2 || side > MAX_OUTPUT_SIDE as i64 || side % 2 != 0 {
        return Err(CompositeError::OutputSide { name, got: side });
    }
    Ok(side as usize)
}

/// Checks `main` against the number of inputs (any value is fine without inputs).
pub fn check_main(main: i64, inputs: usize) -> Result<usize, CompositeError> {
    if inputs == 0 {
        return Ok(0);
    }
    if main < 0 || main >= inputs as i64 {
        return Err(CompositeError::Main { main, inputs });
    }
    Ok(main as usize)
}

/// Checks input `index`: Y of 1 to `MAX_INPUT_SIDE` rows and columns, U and V of
/// half that, rounded up. Every row slice must be exactly its plane's width (panics).
pub fn check_frame(index: usize, frame: &Frame<'_>) -> Result<(), CompositeError> {
    let (h, w) = frame.y.shape();
    if !(1..=MAX_INPUT_SIDE).contains(&h) || !(1..=MAX_INPUT_SIDE).contains(&w) {
        return Err(CompositeError::LumaShape { index, got: (h, w) });
    }
    let expected = (h.div_ceil(2), w.div_ceil(2));
    for (plane, p) in [("U", &frame.u), ("V", &frame.v)] {
        if p.shape() != expected {
            return Err(CompositeError::ChromaShape {
                index,
                plane,
                expected,
                luma: (h, w),
                got: p.shape(),
            });
        }
    }
    for p in [&frame.y, &frame.u, &frame.v] {
        // Rows are sliced by the caller; a row of another length is a bug there.
        assert!(p.rows.iter().all(|r| r.len() == p.width));
    }
    Ok(())
}

/// The cell of every input, before the aspect fit (`w == 0` when not drawn).
pub fn cells(n: usize, layout: Layout, width: usize, height: usize, main: usize) -> Vec<Rect> {
    let mut out = vec![Rect::default(); n];
    if n == 0 {
        return out;
    }
    match layout {
        Layout::Grid => {
            let mut cols = 1;
            while cols * cols < n {
                cols += 1;
            }
            let rows = n.div_ceil(cols);
            let cell_w = even(width / cols);
            let cell_h = even(height / rows);
            let x0 = even((width - cols * cell_w) / 2);
            let y0 = even((height - rows * cell_h) / 2);
            for (i, cell) in out.iter_mut().enumerate() {
                let (r, c) = (i / cols, i % cols);
                let k = if (r + 1) * cols <= n {
                    cols
                } else {
                    n - r * cols
                };
                let offset = even((cols - k) * cell_w / 2);
                *cell = Rect {
                    x: x0 + offset + c * cell_w,
                    y: y0 + r * cell_h,
                    w: cell_w,
                    h: cell_h,
                };
            }
        }
        Layout::Speaker if n == 1 => {
            out[0] = Rect {
                x: 0,
                y: 0,
                w: width,
                h: height,
            };
        }
        Layout::Speaker => {
            let strip_h = even(height / 5);
            out[main] = Rect {
                x: 0,
                y: 0,
                w: width,
                h: height - strip_h,
            };
            let k = n - 1;
            let thumb_w = even((width / k).min(strip_h * 16 / 9));
            let sx = even((width - k * thumb_w) / 2);
            let others = (0..n).filter(|&i| i != main);
            for (j, i) in others.enumerate() {
                out[i] = Rect {
                    x: sx + j * thumb_w,
                    y: height - strip_h,
                    w: thumb_w,
                    h: strip_h,
                };
            }
        }
    }
    for cell in &mut out {
        if cell.w < 2 || cell.h < 2 {
            *cell = Rect::default();
        }
    }
    out
}

/// The tile of a `(w, h)` input fitted into `cell` (an empty rect stays empty).
pub fn fit(w: usize, h: usize, cell: Rect) -> Rect {
    if cell.w < 2 || cell.h < 2 {
        return Rect::default();
    }
    let (cw, ch) = (cell.w, cell.h);
    let (tw, th) = if w * ch <= h * cw {
        (even(w * ch / h), ch)
    } else {
        (cw, even(h * cw / w))
    };
    let (tw, th) = (tw.max(2), th.max(2));
    Rect {
        x: cell.x + even((cw - tw) / 2),
        y: cell.y + even((ch - th) / 2),
        w: tw,
        h: th,
    }
}

/// Every input's tile `(x, y, w, h)` for inputs of the given `(w, h)` sizes.
pub fn layout_tiles(
    sizes: &[(usize, usize)],
    layout: Layout,
    width: usize,
    height: usize,
    main: usize,
) -> Vec<Rect> {
    let cells = cells(sizes.len(), layout, width, height, main);
    sizes
        .iter()
        .zip(cells)
        .map(|(&(w, h), cell)| fit(w, h, cell))
        .collect()
}

/// 16 outputs of the SIMD horizontal pass, as four blocks of 4: block `k` reads a
/// 16-byte window of source samples (16 `u8` or 8 `u16`) from sample `base[k]`; a
/// byte shuffle (`mask`) puts its `(src[i0], src[i1])` pairs into 16-bit lanes, to be
/// multiplied by `(256 - w, w)` (`weight`). Blocks `2p` and `2p + 1` share the
/// 256-bit `mask[p]` and `weight[p]`.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Group {
    mask: [[u8; 32]; 2],
    weight: [[i16; 16]; 2],
    base: [u32; 4],
}

/// Index and weight tables of one axis scaled from `src` to `dst` samples.
struct AxisTable {
    src: usize,
    i0: Vec<u32>,
    i1: Vec<u32>,
    w: Vec<u16>,
    /// `true` when `src == dst`: every weight is 0 and `i0 == d`.
    identity: bool,
    /// How many distinct source samples the outputs read (with a weight above 0).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    used: usize,
    /// The SIMD form over `u8` samples, when every block of 4 outputs fits a
    /// 16-byte window (the last group padded with outputs of weight 0).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    groups: Option<Vec<Group>>,
    /// The same over `u16` samples (8 to a window), padded to an even number of groups.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    groups16: Option<Vec<Group>>,
}

impl AxisTable {
    fn new(src: usize, dst: usize) -> Self {
        let (s, d2) = (src as i64, 2 * dst as i64);
        let last = (s - 1) << 16;
        let mut i0 = Vec::with_capacity(dst);
        let mut i1 = Vec::with_capacity(dst);
        let mut w = Vec::with_capacity(dst);
        for d in 0..dst as i64 {
            let pos = (((2 * d + 1) * s) << 16) / d2 - 32_768;
            let pos = pos.clamp(0, last);
            let a = pos >> 16;
            i0.push(a as u32);
            i1.push((a + 1).min(s - 1) as u32);
            w.push(((pos >> 8) & 255) as u16);
        }
        let mut used: Vec<u32> = i0.clone();
        used.extend(i1.iter().zip(&w).filter(|(_, &w)| w != 0).map(|(&i, _)| i));
        used.sort_unstable();
        used.dedup();
        AxisTable {
            src,
            used: used.len(),
            groups: Self::groups(src, &i0, &i1, &w, 1),
            groups16: Self::groups(src, &i0, &i1, &w, 2),
            i0,
            i1,
            w,
            identity: src == dst,
        }
    }

    /// The SIMD tables for samples of `size` bytes (1 or 2): `16 / size` to a window.
    fn groups(src: usize, i0: &[u32], i1: &[u32], w: &[u16], size: usize) -> Option<Vec<Group>> {
        let span = 16 / size;
        if src < span {
            return None;
        }
        let count = i0.len().div_ceil(16);
        let mut groups = vec![
            Group {
                mask: [[0x80; 32]; 2],
                weight: [[0; 16]; 2],
                base: [0; 4],
            };
            if size == 2 {
                count.div_ceil(2) * 2
            } else {
                count
            }
        ];
        for (g, group) in groups.iter_mut().enumerate() {
            for k in 0..4 {
                let first = 16 * g + 4 * k;
                let Some(&start) = i0.get(first) else { break };
                // The window must stay inside the row: `base + span <= src`.
                let base = (start as usize).min(src - span);
                group.base[k] = base as u32;
                let (mask, weight) = (&mut group.mask[k / 2], &mut group.weight[k / 2]);
                let lane = 16 * (k % 2);
                for j in 0..4 {
                    let d = first + j;
                    let Some(&a) = i0.get(d) else { break };
                    let (a, c) = (a as usize - base, i1[d] as usize - base);
                    if c >= span {
                        return None;
                    }
                    for b in 0..size {
                        mask[lane + 4 * j + b] = (size * a + b) as u8;
                        mask[lane + 4 * j + 2 + b] = (size * c + b) as u8;
                    }
                    weight[lane / 2 + 2 * j] = 256 - w[d] as i16;
                    weight[lane / 2 + 2 * j + 1] = w[d] as i16;
                }
            }
        }
        Some(groups)
    }

    /// Length of a horizontal row buffer: `dst` rounded up to whole groups.
    fn row_len(&self) -> usize {
        self.i0.len().div_ceil(16) * 16
    }
}

/// Scalar horizontal pass: `out[x] = src[i0] * (256 - w) + src[i1] * w`.
fn horizontal_scalar(src: &[u8], t: &AxisTable, out: &mut [u16]) {
    let taps = t.i0.iter().zip(&t.i1).zip(&t.w);
    for (o, ((&a, &b), &w)) in out.iter_mut().zip(taps) {
        *o = src[a as usize] as u16 * (256 - w) + src[b as usize] as u16 * w;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{AxisTable, Group};
    use std::arch::x86_64::*;

    /// Puts the 64-bit quarters of `v` in the order 0, 2, 1, 3, undoing the
    /// per-128-bit-lane interleave of the `pack` instructions.
    #[target_feature(enable = "avx2")]
    fn unlane(v: __m256i) -> __m256i {
        _mm256_permute4x64_epi64::<0b11_01_10_00>(v)
    }

    /// AVX2 horizontal pass, one group of 16 outputs a step.
    ///
    /// # Safety
    /// The CPU must support AVX2 and `t.groups` must be `Some`. `src.len() == t.src`
    /// and `out.len() >= t.row_len()` are asserted; with the table's invariant
    /// (`base + 16 <= t.src`) every load and store is in bounds.
    #[target_feature(enable = "avx2")]
    pub unsafe fn horizontal(src: &[u8], t: &AxisTable, out: &mut [u16]) {
        let groups = t.groups.as_deref().expect("SIMD tables");
        assert!(src.len() == t.src && out.len() >= groups.len() * 16);
        let (p, q) = (src.as_ptr(), out.as_mut_ptr());
        for (k, g) in groups.iter().enumerate() {
            let window = |lo: u32, hi: u32| {
                // SAFETY: base + 16 <= src.len() (see `AxisTable::groups`).
                unsafe {
                    _mm256_loadu2_m128i(
                        p.add(hi as usize) as *const __m128i,
                        p.add(lo as usize) as *const __m128i,
                    )
                }
            };
            let v01 = window(g.base[0], g.base[1]);
            let v23 = window(g.base[2], g.base[3]);
            // SAFETY: the tables are plain arrays of 32 bytes; 16 * k + 16 <= out.len().
            unsafe {
                let m01 = _mm256_loadu_si256(g.mask[0].as_ptr() as *const __m256i);
                let m23 = _mm256_loadu_si256(g.mask[1].as_ptr() as *const __m256i);
                let w01 = _mm256_loadu_si256(g.weight[0].as_ptr() as *const __m256i);
                let w23 = _mm256_loadu_si256(g.weight[1].as_ptr() as *const __m256i);
                // Outputs 0-3 | 4-7 and 8-11 | 12-15 as i32 (at most 65280).
                let s01 = _mm256_madd_epi16(_mm256_shuffle_epi8(v01, m01), w01);
                let s23 = _mm256_madd_epi16(_mm256_shuffle_epi8(v23, m23), w23);
                let packed = unlane(_mm256_packus_epi32(s01, s23));
                _mm256_storeu_si256(q.add(16 * k) as *mut __m256i, packed);
            }
        }
    }

    /// 32 outputs of the vertical pass; `w` holds `(256 - wy, wy)` pairs. The rows are
    /// offset by -32768 so that `pmaddwd` (signed) computes
    /// `top * (256 - wy) + bottom * wy - 32768 * 256`.
    ///
    /// # Safety
    /// AVX2; 32 samples must be readable at `top` and `bottom`, writable at `out`.
    #[target_feature(enable = "avx2")]
    unsafe fn vertical_step(top: *const u16, bottom: *const u16, w: __m256i, out: *mut u8) {
        let flip = _mm256_set1_epi16(i16::MIN);
        let bias = _mm256_set1_epi32(32_768 * 256 + 32_768);
        let half = |k: usize| {
            // SAFETY: k <= 16, within the 32 samples the caller vouches for.
            let (t, b) = unsafe {
                (
                    _mm256_loadu_si256(top.add(k) as *const __m256i),
                    _mm256_loadu_si256(bottom.add(k) as *const __m256i),
                )
            };
            let (t, b) = (_mm256_xor_si256(t, flip), _mm256_xor_si256(b, flip));
            let lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(t, b), w);
            let hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(t, b), w);
            let lo = _mm256_srli_epi32::<16>(_mm256_add_epi32(lo, bias));
            let hi = _mm256_srli_epi32::<16>(_mm256_add_epi32(hi, bias));
            // unpack and pack are both per 128-bit lane: this is in order again.
            _mm256_packus_epi32(lo, hi)
        };
        let bytes = unlane(_mm256_packus_epi16(half(0), half(16)));
        // SAFETY: 32 bytes at `out`, vouched for by the caller.
        unsafe { _mm256_storeu_si256(out as *mut __m256i, bytes) };
    }

    /// AVX2 vertical pass (32 outputs a step; the last step may overlap the one
    /// before, which recomputes the same values).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn vertical(top: &[u16], bottom: &[u16], wy: u32, out: &mut [u8]) {
        let n = out.len();
        if n < 32 {
            return super::vertical_body(top, bottom, wy, out);
        }
        assert!(top.len() >= n && bottom.len() >= n);
        let w = _mm256_set1_epi32(((wy << 16) | (256 - wy)) as i32);
        let (t, b, o) = (top.as_ptr(), bottom.as_ptr(), out.as_mut_ptr());
        let starts = (0..n - 31)
            .step_by(32)
            .chain((n % 32 != 0).then_some(n - 32));
        for i in starts {
            // SAFETY: i + 32 <= n <= every length.
            unsafe { vertical_step(t.add(i), b.add(i), w, o.add(i)) };
        }
    }

    /// 16 outputs of the horizontal pass over a blended row (group `g`), as `u16`:
    /// `(v[i0] * (256 - w) + v[i1] * w + 32768) >> 16`, with `v` stored offset by
    /// -32768 (see `blend_rows`) so that `pmaddwd` applies.
    ///
    /// # Safety
    /// AVX2; every `base + 8` of the group within `v` (caller asserts).
    #[target_feature(enable = "avx2")]
    unsafe fn finish_group(v: *const u16, g: &Group) -> __m256i {
        let window = |lo: u32, hi: u32| {
            // SAFETY: base + 8 <= v.len() (see `AxisTable::groups`).
            unsafe {
                _mm256_loadu2_m128i(
                    v.add(hi as usize) as *const __m128i,
                    v.add(lo as usize) as *const __m128i,
                )
            }
        };
        let bias = _mm256_set1_epi32(32_768 * 256 + 32_768);
        let v01 = window(g.base[0], g.base[1]);
        let v23 = window(g.base[2], g.base[3]);
        // SAFETY: plain 32-byte arrays.
        let (m01, m23, w01, w23) = unsafe {
            (
                _mm256_loadu_si256(g.mask[0].as_ptr() as *const __m256i),
                _mm256_loadu_si256(g.mask[1].as_ptr() as *const __m256i),
                _mm256_loadu_si256(g.weight[0].as_ptr() as *const __m256i),
                _mm256_loadu_si256(g.weight[1].as_ptr() as *const __m256i),
            )
        };
        let s01 = _mm256_madd_epi16(_mm256_shuffle_epi8(v01, m01), w01);
        let s23 = _mm256_madd_epi16(_mm256_shuffle_epi8(v23, m23), w23);
        let s01 = _mm256_srli_epi32::<16>(_mm256_add_epi32(s01, bias));
        let s23 = _mm256_srli_epi32::<16>(_mm256_add_epi32(s23, bias));
        // Lanes hold outputs 0-3, 8-11 | 4-7, 12-15; `horizontal_blended` reorders.
        _mm256_packus_epi32(s01, s23)
    }

    /// AVX2 horizontal pass over a row already blended vertically (`blend_rows`),
    /// giving final samples, 32 a step; a last partial step goes through a buffer.
    ///
    /// # Safety
    /// The CPU must support AVX2 and `t.groups16` must be `Some`. `v.len() >= t.src`
    /// and `out.len() == dst` are asserted.
    #[target_feature(enable = "avx2")]
    pub unsafe fn horizontal_blended(v: &[u16], t: &AxisTable, out: &mut [u8]) {
        let groups = t.groups16.as_deref().expect("SIMD tables");
        let n = out.len();
        assert!(v.len() >= t.src && n == t.i0.len() && groups.len() * 16 >= n);
        let (p, q) = (v.as_ptr(), out.as_mut_ptr());
        for (k, pair) in groups.chunks_exact(2).enumerate() {
            // SAFETY: the table keeps every window inside `v` (asserted above).
            let bytes = unsafe {
                let (a, b) = (finish_group(p, &pair[0]), finish_group(p, &pair[1]));
                // 4-byte runs of outputs: a0-3 a8-11 b0-3 b8-11 | a4-7 a12-15 b4-7 b12-15.
                let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
                _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b), order)
            };
            if 32 * (k + 1) <= n {
                // SAFETY: 32 * k + 32 <= n.
                unsafe { _mm256_storeu_si256(q.add(32 * k) as *mut __m256i, bytes) };
            } else {
                let mut tail = [0u8; 32];
                // SAFETY: 32 bytes into a 32-byte array.
                unsafe { _mm256_storeu_si256(tail.as_mut_ptr() as *mut __m256i, bytes) };
                out[32 * k..].copy_from_slice(&tail[..n - 32 * k]);
            }
        }
    }

    /// `blend_rows` compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn blend_rows(top: &[u8], bottom: &[u8], wy: u16, out: &mut [u16]) {
        super::blend_rows(top, bottom, wy, out);
    }

    /// Whether this CPU runs the AVX2 passes.
    pub fn available() -> bool {
        is_x86_feature_detected!("avx2")
    }
}

/// Vertical pass first, for tiles that read more source rows than they output:
/// `out[c] = (top[c] * (256 - wy) + bottom[c] * wy) ^ 0x8000`, the exact unrounded
/// blend (at most 65280) stored offset by -32768 for the signed multiply after it.
#[inline(always)]
fn blend_rows(top: &[u8], bottom: &[u8], wy: u16, out: &mut [u16]) {
    let n = out.len();
    let (top, bottom) = (&top[..n], &bottom[..n]);
    let wt = 256 - wy;
    for ((o, &a), &b) in out.iter_mut().zip(top).zip(bottom) {
        *o = (a as u16 * wt + b as u16 * wy) ^ 0x8000;
    }
}

/// Vertical pass: `out[x] = (top[x] * (256 - wy) + bottom[x] * wy + 32768) >> 16`.
#[inline(always)]
fn vertical_body(top: &[u16], bottom: &[u16], wy: u32, out: &mut [u8]) {
    let n = out.len();
    let (top, bottom) = (&top[..n], &bottom[..n]);
    let wt = 256 - wy;
    for ((o, &a), &b) in out.iter_mut().zip(top).zip(bottom) {
        *o = ((a as u32 * wt + b as u32 * wy + 32_768) >> 16) as u8;
    }
}

/// Which implementation of the passes runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The fastest one this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if x86::available() {
            return Isa::Avx2;
        }
        Isa::Scalar
    }

    fn horizontal(self, src: &[u8], t: &AxisTable, out: &mut [u16]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2` is only built by `detect` on a CPU with AVX2.
            Isa::Avx2 if t.groups.is_some() => unsafe { x86::horizontal(src, t, out) },
            _ => horizontal_scalar(src, t, out),
        }
    }

    fn vertical(self, top: &[u16], bottom: &[u16], wy: u32, out: &mut [u8]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { x86::vertical(top, bottom, wy, out) },
            Isa::Scalar => vertical_body(top, bottom, wy, out),
        }
    }
}

/// Two horizontally scaled source rows, kept for the next output rows.
#[derive(Default)]
struct RowCache {
    rows: [Option<usize>; 2],
    bufs: [Vec<u16>; 2],
}

impl RowCache {
    fn reset(&mut self, len: usize) {
        self.rows = [None, None];
        for b in &mut self.bufs {
            if b.len() < len {
                b.resize(len, 0);
            }
        }
    }

    fn slot_of(&self, r: usize) -> Option<usize> {
        self.rows.iter().position(|&x| x == Some(r))
    }

    /// The slot holding source row `r`, scaling it into the slot other than `keep`
    /// if it is not cached yet.
    fn load(
        &mut self,
        r: usize,
        keep: Option<usize>,
        src: &Plane<'_>,
        t: &AxisTable,
        isa: Isa,
    ) -> usize {
        if let Some(slot) = self.slot_of(r) {
            return slot;
        }
        let slot = match keep {
            Some(k) => 1 - k,
            // Rows only move down: evict the older (smaller) one.
            None => match self.rows {
                [None, _] => 0,
                [_, None] => 1,
                [Some(a), Some(b)] => usize::from(b < a),
            },
        };
        isa.horizontal(src.rows[r], t, &mut self.bufs[slot]);
        self.rows[slot] = Some(r);
        slot
    }
}

/// Whether blending source rows vertically first (one pass over the source width
/// per output row) is cheaper than scaling each used source row horizontally
/// first: weights are rough instruction counts of the AVX2 loops per sample.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn blend_first(src_width: usize, tx: &AxisTable, ty: &AxisTable) -> bool {
    let (dw, dh) = (tx.i0.len(), ty.i0.len());
    let horizontal_first = ty.used * dw * 11 + dh * dw * 9;
    let vertical_first = dh * src_width * 5 + dh * dw * 12;
    vertical_first < horizontal_first
}

/// Scales `src` by the tables `tx`, `ty` into `dst` (stride `stride`) at `(x, y)`.
#[allow(clippy::too_many_arguments)]
fn scale_plane(
    src: &Plane<'_>,
    tx: &AxisTable,
    ty: &AxisTable,
    dst: &mut [u8],
    stride: usize,
    at: (usize, usize),
    cache: &mut RowCache,
    isa: Isa,
) {
    let (x, y) = at;
    let (dw, dh) = (tx.i0.len(), ty.i0.len());
    let out_rows = dst[y * stride..].chunks_mut(stride).take(dh);
    if tx.identity && ty.identity {
        for (row, s) in out_rows.zip(&src.rows) {
            row[x..x + dw].copy_from_slice(s);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && tx.groups16.is_some() && blend_first(src.width, tx, ty) {
        let blended = &mut cache.bufs[0];
        if blended.len() < src.width {
            blended.resize(src.width, 0);
        }
        cache.rows = [None, None];
        let taps = ty.i0.iter().zip(&ty.i1).zip(&ty.w);
        for (row, ((&r0, &r1), &wy)) in out_rows.zip(taps) {
            let (top, bottom) = (src.rows[r0 as usize], src.rows[r1 as usize]);
            // SAFETY: `Avx2` is only built by `detect` on a CPU with AVX2.
            unsafe {
                x86::blend_rows(top, bottom, wy, &mut blended[..src.width]);
                x86::horizontal_blended(blended, tx, &mut row[x..x + dw]);
            }
        }
        return;
    }
    cache.reset(tx.row_len());
    let taps = ty.i0.iter().zip(&ty.i1).zip(&ty.w);
    for (row, ((&r0, &r1), &wy)) in out_rows.zip(taps) {
        let out = &mut row[x..x + dw];
        // With wy == 0 the bottom row is multiplied by 0: the top row will do.
        let needs_bottom = wy != 0 && r1 != r0;
        let keep = if needs_bottom {
            cache.slot_of(r1 as usize)
        } else {
            None
        };
        let top = cache.load(r0 as usize, keep, src, tx, isa);
        let bottom = if needs_bottom {
            cache.load(r1 as usize, Some(top), src, tx, isa)
        } else {
            top
        };
        isa.vertical(&cache.bufs[top], &cache.bufs[bottom], wy as u32, out);
    }
}

/// Fills what no tile covers in a `width`-wide plane with `value`.
///
/// Rows are taken in bands between tile edges, where the covered spans do not change;
/// tiles are visited by `x`, so the gaps between them are the background.
fn fill_background(plane: &mut [u8], width: usize, tiles: &[Rect], value: u8) {
    let height = plane.len() / width;
    let mut tiles: Vec<Rect> = tiles.iter().copied().filter(|t| t.w > 0).collect();
    tiles.sort_unstable_by_key(|t| t.x);
    let mut edges: Vec<usize> = tiles.iter().flat_map(|t| [t.y, t.y + t.h]).collect();
    edges.extend([0, height]);
    edges.sort_unstable();
    edges.dedup();
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(tiles.len() + 1);
    for band in edges.windows(2) {
        let (top, bottom) = (band[0], band[1]);
        // The gaps between the tiles crossing this band.
        spans.clear();
        let mut at = 0;
        for t in tiles.iter().filter(|t| t.y <= top && top < t.y + t.h) {
            if t.x > at {
                spans.push((at, t.x));
            }
            at = at.max(t.x + t.w);
        }
        if at < width {
            spans.push((at, width));
        }
        for row in plane[top * width..bottom * width].chunks_exact_mut(width) {
            for &(start, end) in &spans {
                row[start..end].fill(value);
            }
        }
    }
}

/// Composites I420 frames, keeping the index/weight tables between calls.
///
/// One compositor serves one stream of frames (a recorder keeps one per recording);
/// its tables are keyed by (source size, destination size), so frames of a new size
/// simply add tables.
pub struct Compositor {
    tables: HashMap<(usize, usize), AxisTable>,
    rows: RowCache,
    isa: Isa,
}

impl Default for Compositor {
    fn default() -> Self {
        Self::new()
    }
}

impl Compositor {
    /// A compositor with empty caches, using the fastest passes this CPU supports.
    pub fn new() -> Self {
        Self::with_isa(Isa::detect())
    }

    /// A compositor using the given passes (tests compare them).
    pub fn with_isa(isa: Isa) -> Self {
        Compositor {
            tables: HashMap::new(),
            rows: RowCache::default(),
            isa,
        }
    }

    fn ensure(&mut self, src: usize, dst: usize) {
        if !self.tables.contains_key(&(src, dst)) {
            if self.tables.len() >= MAX_CACHED_TABLES {
                self.tables.clear();
            }
            self.tables.insert((src, dst), AxisTable::new(src, dst));
        }
    }

    /// Composites `inputs` into `out` (`width x height` Y, half-size U and V).
    ///
    /// `main` must already be checked with [`check_main`] and the sides with
    /// [`check_output_side`]; the input planes are checked here.
    #[allow(clippy::too_many_arguments)]
    pub fn composite(
        &mut self,
        inputs: &[Frame<'_>],
        layout: Layout,
        width: usize,
        height: usize,
        background: [u8; 3],
        main: usize,
        out: FrameMut<'_>,
    ) -> Result<(), CompositeError> {
        for (index, frame) in inputs.iter().enumerate() {
            check_frame(index, frame)?;
        }
        let (cw, ch) = (width / 2, height / 2);
        for (plane, len, expected) in [
            ("Y", out.y.len(), (height, width)),
            ("U", out.u.len(), (ch, cw)),
            ("V", out.v.len(), (ch, cw)),
        ] {
            if len != expected.0 * expected.1 {
                return Err(CompositeError::OutputShape {
                    plane,
                    expected,
                    got: len,
                });
            }
        }
        let sizes: Vec<(usize, usize)> =
            inputs.iter().map(|f| (f.y.width, f.y.rows.len())).collect();
        let tiles = layout_tiles(&sizes, layout, width, height, main);
        let chroma: Vec<Rect> = tiles
            .iter()
            .map(|t| Rect {
                x: t.x / 2,
                y: t.y / 2,
                w: t.w / 2,
                h: t.h / 2,
            })
            .collect();
        fill_background(out.y, width, &tiles, background[0]);
        fill_background(out.u, cw, &chroma, background[1]);
        fill_background(out.v, cw, &chroma, background[2]);
        for ((frame, tile), ctile) in inputs.iter().zip(&tiles).zip(&chroma) {
            if tile.w == 0 {
                continue;
            }
            let (w, h) = (frame.y.width, frame.y.rows.len());
            let (sw, sh) = (w.div_ceil(2), h.div_ceil(2));
            let keys = [(w, tile.w), (h, tile.h), (sw, ctile.w), (sh, ctile.h)];
            for (s, d) in keys {
                self.ensure(s, d);
            }
            let [tx, ty, cx, cy] = keys.map(|k| &self.tables[&k]);
            let isa = self.isa;
            let rows = &mut self.rows;
            scale_plane(&frame.y, tx, ty, out.y, width, (tile.x, tile.y), rows, isa);
            let at = (ctile.x, ctile.y);
            scale_plane(&frame.u, cx, cy, out.u, cw, at, rows, isa);
            scale_plane(&frame.v, cx, cy, out.v, cw, at, rows, isa);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(width: usize, height: usize, data: &[u8]) -> Plane<'_> {
        Plane {
            width,
            rows: data.chunks_exact(width).take(height).collect(),
        }
    }

    fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn grid_of_nine_in_720p() {
        let tiles = layout_tiles(&[(640, 360); 9], Layout::Grid, 1280, 720, 0);
        assert_eq!(
            tiles[0],
            Rect {
                x: 0,
                y: 0,
                w: 426,
                h: 238
            }
        );
        assert_eq!(
            tiles[8],
            Rect {
                x: 852,
                y: 480,
                w: 426,
                h: 238
            }
        );
    }

    #[test]
    fn last_grid_row_is_centred_and_speaker_strip_too() {
        let cells = cells(3, Layout::Grid, 100, 100, 0);
        assert_eq!(cells[2].x, 24);
        let cells = super::cells(3, Layout::Speaker, 1280, 720, 1);
        assert_eq!(
            cells[1],
            Rect {
                x: 0,
                y: 0,
                w: 1280,
                h: 576
            }
        );
        assert_eq!(
            cells[0],
            Rect {
                x: 384,
                y: 576,
                w: 256,
                h: 144
            }
        );
    }

    #[test]
    fn simd_horizontal_pass_equals_scalar() {
        for src in [16, 17, 31, 64, 640, 641] {
            let row = pseudo_random(src, src as u32);
            for dst in [1, 2, 3, 7, 8, 9, 100, 160, 213, 426, 639, 640, 1024, 1281] {
                let t = AxisTable::new(src, dst);
                let mut want = vec![0u16; t.row_len()];
                horizontal_scalar(&row, &t, &mut want);
                for isa in [Isa::detect(), Isa::Scalar] {
                    let mut got = vec![0u16; t.row_len()];
                    isa.horizontal(&row, &t, &mut got);
                    assert_eq!(got[..dst], want[..dst], "{src} -> {dst} {isa:?}");
                }
            }
        }
    }

    #[test]
    fn simd_vertical_pass_equals_scalar() {
        let rows: Vec<u16> = pseudo_random(4 * 200, 9)
            .chunks(2)
            .map(|p| (p[0] as u16 * 256 + p[1] as u16).min(65_280))
            .collect();
        let (top, bottom) = rows.split_at(200);
        for n in [1, 31, 32, 33, 63, 64, 100, 200] {
            for wy in [0, 1, 127, 128, 255] {
                let mut want = vec![0u8; n];
                vertical_body(top, bottom, wy, &mut want);
                let mut got = vec![0u8; n];
                Isa::detect().vertical(top, bottom, wy, &mut got);
                assert_eq!(got, want, "{n} {wy}");
            }
        }
        let extreme = [65_280u16; 64];
        let mut got = [0u8; 64];
        Isa::detect().vertical(&extreme, &extreme, 200, &mut got);
        assert!(got.iter().all(|&v| v == 255));
    }

    #[test]
    fn same_size_tile_is_a_copy_and_passes_agree() {
        let (w, h) = (64, 36);
        let y = pseudo_random(w * h, 1);
        let c = pseudo_random((w / 2) * (h / 2), 2);
        let frame = Frame {
            y: plane(w, h, &y),
            u: plane(w / 2, h / 2, &c),
            v: plane(w / 2, h / 2, &c),
        };
        let mut out = (vec![0; w * h], vec![0; w * h / 4], vec![0; w * h / 4]);
        let target = FrameMut {
            y: &mut out.0,
            u: &mut out.1,
            v: &mut out.2,
        };
        Compositor::new()
            .composite(&[frame], Layout::Grid, w, h, [16, 128, 128], 0, target)
            .unwrap();
        assert_eq!(out.0, y);
        assert_eq!(out.1, c);
    }

    #[test]
    fn scaled_output_is_the_same_with_either_isa() {
        // Upscaled, downscaled (vertical pass first) and strongly downscaled tiles.
        for (w, h) in [(97, 55), (150, 140), (640, 360), (1920, 1080)] {
            let y = pseudo_random(w * h, 3);
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let c = pseudo_random(cw * ch, 4);
            let render = |isa: Isa, layout: Layout| {
                let frames: Vec<Frame<'_>> = (0..5)
                    .map(|_| Frame {
                        y: plane(w, h, &y),
                        u: plane(cw, ch, &c),
                        v: plane(cw, ch, &c),
                    })
                    .collect();
                let (ow, oh) = (320, 180);
                let mut out = (vec![0; ow * oh], vec![0; ow * oh / 4], vec![0; ow * oh / 4]);
                let target = FrameMut {
                    y: &mut out.0,
                    u: &mut out.1,
                    v: &mut out.2,
                };
                Compositor::with_isa(isa)
                    .composite(&frames, layout, ow, oh, [1, 2, 3], 2, target)
                    .unwrap();
                out
            };
            for layout in [Layout::Grid, Layout::Speaker] {
                let (fast, scalar) = (render(Isa::detect(), layout), render(Isa::Scalar, layout));
                assert!(fast == scalar, "{w}x{h} {layout:?}");
            }
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(check_output_side("width", 7).is_err());
        assert!(check_output_side("width", 8194).is_err());
        assert_eq!(check_output_side("height", 2), Ok(2));
        assert!(check_main(3, 3).is_err());
        assert_eq!(check_main(-5, 0), Ok(0));
    }
}
