//! Python bindings of the native kernels (`zhanye_sdk._native`).
//!
//! This is the only file that knows about Python: every kernel lives in its own
//! module with plain slices in and out, so it can be tested and read without pyo3.
//! Bindings check dtypes and shapes (raising `ValueError` that names what was
//! expected), borrow numpy buffers without copying and release the GIL for work
//! large enough to be worth it.

pub mod aho;
pub mod beauty;
pub mod composite;
pub mod intake;
pub mod jitter;
pub mod mix;
pub mod mixbuffer;
pub mod opus_decode;
pub mod opus_encode;
pub mod raster;
pub mod red;
pub mod resample;
pub mod rtp_receive;
pub mod rtp_send;
pub mod srtp;

use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray, PyReadonlyArray1, PyReadonlyArray2,
    PyReadwriteArray1, PyReadwriteArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Work above this many elements runs with the GIL released (roughly 50 µs of work).
const DETACH_ELEMENTS: usize = 100_000;

fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

fn readonly_2d<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    dtype: &str,
    shape: &str,
) -> PyResult<PyReadonlyArray2<'py, T>> {
    obj.extract::<PyReadonlyArray2<'py, T>>().map_err(|_| {
        value_error(format!(
            "{name} must be a numpy array of dtype {dtype} and shape {shape}, got {}",
            describe(obj)
        ))
    })
}

fn readonly_1d<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    dtype: &str,
    shape: &str,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    obj.extract::<PyReadonlyArray1<'py, T>>().map_err(|_| {
        value_error(format!(
            "{name} must be a numpy array of dtype {dtype} and shape {shape}, got {}",
            describe(obj)
        ))
    })
}

/// A short description of what the caller passed, for error messages.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    let dtype = obj.getattr("dtype").map(|d| d.to_string()).ok();
    let shape = obj.getattr("shape").map(|s| s.to_string()).ok();
    match (dtype, shape) {
        (Some(d), Some(s)) => format!("dtype {d} and shape {s}"),
        _ => obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default(),
    }
}

fn contiguous<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    array: &'a PyReadonlyArray<'_, T, D>,
    name: &str,
) -> PyResult<&'a [T]> {
    if !array.is_c_contiguous() {
        return Err(value_error(format!("{name} must be C-contiguous")));
    }
    array
        .as_slice()
        .map_err(|_| value_error(format!("{name} must be C-contiguous")))
}

fn saturation(soft_limit: bool) -> mix::Saturation {
    if soft_limit {
        mix::Saturation::SoftKnee
    } else {
        mix::Saturation::Clamp
    }
}

fn mix_error(err: mix::MixError) -> PyErr {
    value_error(err.to_string())
}

/// Mix N int16 sources of S samples with Q15 gains into one int16 frame.
#[pyfunction]
#[pyo3(name = "mix", signature = (frames, gains_q15, *, out = None, soft_limit = false))]
fn py_mix<'py>(
    py: Python<'py>,
    frames: &Bound<'py, PyAny>,
    gains_q15: &Bound<'py, PyAny>,
    out: Option<&Bound<'py, PyAny>>,
    soft_limit: bool,
) -> PyResult<Bound<'py, PyArray1<i16>>> {
    let frames_ro = readonly_2d::<i16>(frames, "frames", "int16", "(N, S)")?;
    let gains_ro = readonly_1d::<i32>(gains_q15, "gains_q15", "int32", "(N,)")?;
    let [n, s] = [frames_ro.shape()[0], frames_ro.shape()[1]];
    let frames_slice = contiguous(&frames_ro, "frames")?;
    let gains = contiguous(&gains_ro, "gains_q15")?;
    mix::check(n, gains).map_err(mix_error)?;
    let target: Bound<'py, PyArray1<i16>> = match out {
        Some(o) => {
            let arr = o.cast::<PyArray1<i16>>().map_err(|_| {
                value_error(format!(
                    "out must be a numpy array of dtype int16 and shape ({s},), got {}",
                    describe(o)
                ))
            })?;
            arr.clone()
        }
        None => unsafe { PyArray1::<i16>::new(py, [s], false) },
    };
    if !target.is_c_contiguous() {
        return Err(value_error("out must be C-contiguous"));
    }
    let mut rw: PyReadwriteArray1<'py, i16> = target
        .try_readwrite()
        .map_err(|_| value_error("out must be writeable and not aliased by frames"))?;
    let out_slice = rw
        .as_slice_mut()
        .map_err(|_| value_error("out must be C-contiguous"))?;
    let sat = saturation(soft_limit);
    let mut run = || mix::mix(frames_slice, s, gains, sat, out_slice);
    let result = if n * s > DETACH_ELEMENTS {
        py.detach(run)
    } else {
        run()
    };
    result.map_err(mix_error)?;
    drop(rw);
    Ok(target)
}

/// For every source, the mix of all other sources: int16 array of shape (N, S).
#[pyfunction]
#[pyo3(name = "mix_minus", signature = (frames, gains_q15, *, out = None, soft_limit = false))]
fn py_mix_minus<'py>(
    py: Python<'py>,
    frames: &Bound<'py, PyAny>,
    gains_q15: &Bound<'py, PyAny>,
    out: Option<&Bound<'py, PyAny>>,
    soft_limit: bool,
) -> PyResult<Bound<'py, PyArray2<i16>>> {
    let frames_ro = readonly_2d::<i16>(frames, "frames", "int16", "(N, S)")?;
    let gains_ro = readonly_1d::<i32>(gains_q15, "gains_q15", "int32", "(N,)")?;
    let [n, s] = [frames_ro.shape()[0], frames_ro.shape()[1]];
    let frames_slice = contiguous(&frames_ro, "frames")?;
    let gains = contiguous(&gains_ro, "gains_q15")?;
    mix::check(n, gains).map_err(mix_error)?;
    let target: Bound<'py, PyArray2<i16>> = match out {
        Some(o) => o
            .cast::<PyArray2<i16>>()
            .map_err(|_| {
                value_error(format!(
                    "out must be a numpy array of dtype int16 and shape ({n}, {s}), got {}",
                    describe(o)
                ))
            })?
            .clone(),
        None => unsafe { PyArray2::<i16>::new(py, [n, s], false) },
    };
    if target.shape() != [n, s] {
        return Err(value_error(format!(
            "out must have shape ({n}, {s}), got {:?}",
            target.shape()
        )));
    }
    if !target.is_c_contiguous() {
        return Err(value_error("out must be C-contiguous"));
    }
    let mut rw: PyReadwriteArray2<'py, i16> = target
        .try_readwrite()
        .map_err(|_| value_error("out must be writeable and not aliased by frames"))?;
    let out_slice = rw
        .as_slice_mut()
        .map_err(|_| value_error("out must be C-contiguous"))?;
    let sat = saturation(soft_limit);
    let mut run = || mix::mix_minus(frames_slice, s, gains, sat, out_slice);
    let result = if n * s > DETACH_ELEMENTS {
        py.detach(run)
    } else {
        run()
    };
    result.map_err(mix_error)?;
    drop(rw);
    Ok(target)
}

/// The soft-knee limiter applied to int32 levels (exposed for tests and plots).
#[pyfunction(name = "soft_knee")]
fn py_soft_knee<'py>(
    py: Python<'py>,
    levels: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i16>>> {
    let ro = readonly_1d::<i32>(levels, "levels", "int32", "(S,)")?;
    let input = contiguous(&ro, "levels")?;
    let values: Vec<i16> = input.iter().map(|&v| mix::soft_knee(v)).collect();
    Ok(PyArray1::from_vec(py, values))
}

/// Resampling more input samples than this runs with the GIL released (about 20 µs of work).
const RESAMPLE_DETACH_SAMPLES: usize = 20_000;

/// A rate argument: any Python integer; one beyond `i64` is refused like any other bad rate.
fn rate_arg(obj: &Bound<'_, PyAny>, name: &'static str) -> PyResult<u32> {
    let hz = obj.extract::<i64>().map_err(|err| {
        if err.is_instance_of::<pyo3::exceptions::PyOverflowError>(obj.py()) {
            value_error(resample::rate_message(name, obj))
        } else {
            err
        }
    })?;
    resample::check_rate(name, hz).map_err(|e| value_error(e.to_string()))
}

fn new_resampler(
    from_hz: &Bound<'_, PyAny>,
    to_hz: &Bound<'_, PyAny>,
) -> PyResult<resample::Resampler> {
    let from = rate_arg(from_hz, "from_hz")?;
    let to = rate_arg(to_hz, "to_hz")?;
    resample::Resampler::new(from.into(), to.into()).map_err(|e| value_error(e.to_string()))
}

/// Feeds one int16 (S,) array through `resampler` into a new int16 array.
fn run_resampler<'py>(
    py: Python<'py>,
    resampler: &mut resample::Resampler,
    samples: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Bound<'py, PyArray1<i16>>> {
    let ro = readonly_1d::<i16>(samples, name, "int16", "(S,)")?;
    let input = ro.as_slice().map_err(|_| {
        value_error(format!(
            "{name} must be C-contiguous: a numpy array of dtype int16 and shape (S,)"
        ))
    })?;
    let count = resampler.output_len(input.len());
    // Every element is written by `process` before the array is returned.
    let target = unsafe { PyArray1::<i16>::new(py, [count], false) };
    let mut rw = target
        .try_readwrite()
        .map_err(|_| value_error("the output array is not writeable"))?;
    let out = rw
        .as_slice_mut()
        .map_err(|_| value_error("the output array is not contiguous"))?;
    let mut run = || resampler.process(input, out);
    let result = if input.len() > RESAMPLE_DETACH_SAMPLES {
        py.detach(run)
    } else {
        run()
    };
    result.map_err(|e| value_error(e.to_string()))?;
    drop(rw);
    Ok(target)
}

/// Resample a whole int16 mono signal: `Resampler(from_hz, to_hz).process(samples)`.
#[pyfunction]
#[pyo3(name = "resample", signature = (samples, from_hz, to_hz))]
fn py_resample<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyAny>,
    from_hz: &Bound<'py, PyAny>,
    to_hz: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i16>>> {
    let mut resampler = new_resampler(from_hz, to_hz)?;
    run_resampler(py, &mut resampler, samples, "samples")
}

/// A streaming int16 mono resampler between 8000, 16000 and 48000 Hz.
///
/// Chunks of any length give, concatenated, the output of one call on the whole signal.
/// Feed one instance from one thread at a time (a concurrent call raises RuntimeError).
#[pyclass(name = "Resampler", module = "zhanye_sdk._native")]
struct PyResampler {
    inner: resample::Resampler,
}

#[pymethods]
impl PyResampler {
    #[new]
    #[pyo3(signature = (from_hz, to_hz))]
    fn new(from_hz: &Bound<'_, PyAny>, to_hz: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyResampler {
            inner: new_resampler(from_hz, to_hz)?,
        })
    }

    /// Resample the next chunk: int16 of shape (S,) in, int16 of shape (K,) out.
    fn process<'py>(
        &mut self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<i16>>> {
        run_resampler(py, &mut self.inner, chunk, "chunk")
    }

    /// Forget all input: back to the state of a new resampler.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// The input rate in Hz.
    #[getter(from_hz)]
    fn input_hz(&self) -> u32 {
        self.inner.input_hz()
    }

    /// The output rate in Hz.
    #[getter(to_hz)]
    fn output_hz(&self) -> u32 {
        self.inner.output_hz()
    }

    /// Group delay of the filter in output samples (0.0 from a rate to itself).
    #[getter]
    fn delay(&self) -> f64 {
        self.inner.delay()
    }

    /// The Q15 filter taps, a fresh int32 array of length N.
    #[getter]
    fn taps<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i32>> {
        PyArray1::from_slice(py, self.inner.taps())
    }

    fn __repr__(&self) -> String {
        format!(
            "Resampler(from_hz={}, to_hz={})",
            self.inner.input_hz(),
            self.inner.output_hz()
        )
    }
}

// ---- Video compositor (composite.rs) ----

fn composite_error(err: composite::CompositeError) -> PyErr {
    value_error(err.to_string())
}

fn composite_layout(layout: &Bound<'_, PyAny>) -> PyResult<composite::Layout> {
    match layout.extract::<String>().ok().as_deref() {
        Some("grid") => Ok(composite::Layout::Grid),
        Some("speaker") => Ok(composite::Layout::Speaker),
        _ => Err(value_error(format!(
            "layout must be \"grid\" or \"speaker\", got {}",
            layout.repr()?
        ))),
    }
}

fn composite_background(background: Option<&Bound<'_, PyAny>>) -> PyResult<[u8; 3]> {
    let Some(obj) = background else {
        return Ok([16, 128, 128]);
    };
    let components = obj.extract::<Vec<i64>>().ok().filter(|c| c.len() == 3);
    match components {
        Some(c) if c.iter().all(|v| (0..=255).contains(v)) => {
            Ok([c[0] as u8, c[1] as u8, c[2] as u8])
        }
        _ => Err(value_error(format!(
            "background must be three components (Y, U, V) in 0..=255, got {}",
            obj.repr()?
        ))),
    }
}

/// One input plane, borrowed: uint8, two dimensions, contiguous inner dimension.
fn composite_plane<'py>(
    obj: &Bound<'py, PyAny>,
    index: usize,
    name: &str,
    shape: &str,
) -> PyResult<PyReadonlyArray2<'py, u8>> {
    let array = readonly_2d::<u8>(obj, &format!("inputs[{index}] {name}"), "uint8", shape)?;
    let (cols, strides) = (array.shape()[1], array.strides());
    if cols > 1 && strides[1] != 1 {
        return Err(value_error(format!(
            "inputs[{index}] {name} must have a contiguous inner dimension (any row stride \
             is fine), got strides ({}, {})",
            strides[0], strides[1]
        )));
    }
    Ok(array)
}

fn composite_rows<'a>(array: &'a PyReadonlyArray2<'_, u8>) -> composite::Plane<'a> {
    let view = array.as_array();
    composite::Plane {
        width: view.ncols(),
        rows: view
            .into_outer_iter()
            .map(|row| row.to_slice().expect("inner dimension checked contiguous"))
            .collect(),
    }
}

/// Checks the inputs and borrows their planes, in input order.
fn composite_inputs<'py>(
    inputs: &Bound<'py, PyAny>,
) -> PyResult<Vec<[PyReadonlyArray2<'py, u8>; 3]>> {
    let items = inputs.extract::<Vec<Bound<'py, PyAny>>>().map_err(|_| {
        value_error(format!(
            "inputs must be a sequence of (Y, U, V) tuples, got {}",
            describe(inputs)
        ))
    })?;
    let mut planes = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let parts = item
            .extract::<Vec<Bound<'py, PyAny>>>()
            .ok()
            .filter(|p| p.len() == 3)
            .ok_or_else(|| {
                value_error(format!(
                    "inputs[{index}] must be a (Y, U, V) tuple of uint8 planes, got {}",
                    describe(item)
                ))
            })?;
        let chroma = "((h + 1) // 2, (w + 1) // 2)";
        let y = composite_plane(&parts[0], index, "Y", "(h, w)")?;
        let u = composite_plane(&parts[1], index, "U", chroma)?;
        let v = composite_plane(&parts[2], index, "V", chroma)?;
        let frame = composite::Frame {
            y: composite_rows(&y),
            u: composite_rows(&u),
            v: composite_rows(&v),
        };
        composite::check_frame(index, &frame).map_err(composite_error)?;
        planes.push([y, u, v]);
    }
    Ok(planes)
}

/// The output planes: the caller's `out` (checked) or new arrays.
fn composite_out<'py>(
    py: Python<'py>,
    out: Option<&Bound<'py, PyAny>>,
    width: usize,
    height: usize,
) -> PyResult<[Bound<'py, PyArray2<u8>>; 3]> {
    let shapes = [
        ("Y", [height, width]),
        ("U", [height / 2, width / 2]),
        ("V", [height / 2, width / 2]),
    ];
    let Some(out) = out else {
        // SAFETY: the arrays are only read after `composite` wrote every sample
        // (tiles where they are, background everywhere else).
        return Ok(shapes.map(|(_, shape)| unsafe { PyArray2::<u8>::new(py, shape, false) }));
    };
    let parts = out
        .extract::<Vec<Bound<'py, PyAny>>>()
        .ok()
        .filter(|p| p.len() == 3)
        .ok_or_else(|| {
            value_error(format!(
                "out must be a (Y, U, V) tuple of three uint8 arrays, got {}",
                describe(out)
            ))
        })?;
    let mut arrays = Vec::with_capacity(3);
    for (k, (part, (name, [h, w]))) in parts.iter().zip(shapes).enumerate() {
        let wrong = || {
            value_error(format!(
                "out[{k}] ({name}) must be a C-contiguous numpy array of dtype uint8 and \
                 shape ({h}, {w}), got {}",
                describe(part)
            ))
        };
        let array = part.cast::<PyArray2<u8>>().map_err(|_| wrong())?;
        if array.shape() != [h, w] || !array.is_c_contiguous() {
            return Err(wrong());
        }
        arrays.push(array.clone());
    }
    let [y, u, v]: [Bound<'py, PyArray2<u8>>; 3] = arrays.try_into().expect("three planes");
    Ok([y, u, v])
}

#[allow(clippy::too_many_arguments)]
fn composite_call<'py>(
    py: Python<'py>,
    compositor: &mut composite::Compositor,
    inputs: &Bound<'py, PyAny>,
    layout: &Bound<'py, PyAny>,
    width: i64,
    height: i64,
    background: Option<&Bound<'py, PyAny>>,
    main: i64,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
    let width = composite::check_output_side("width", width).map_err(composite_error)?;
    let height = composite::check_output_side("height", height).map_err(composite_error)?;
    let layout = composite_layout(layout)?;
    let background = composite_background(background)?;
    let planes = composite_inputs(inputs)?;
    let main = composite::check_main(main, planes.len()).map_err(composite_error)?;
    let targets = composite_out(py, out, width, height)?;
    let frames: Vec<composite::Frame<'_>> = planes
        .iter()
        .map(|[y, u, v]| composite::Frame {
            y: composite_rows(y),
            u: composite_rows(u),
            v: composite_rows(v),
        })
        .collect();
    let aliased = |_| value_error("out must be writeable and not share memory with the inputs");
    let mut rw_y = targets[0].try_readwrite().map_err(aliased)?;
    let mut rw_u = targets[1].try_readwrite().map_err(aliased)?;
    let mut rw_v = targets[2].try_readwrite().map_err(aliased)?;
    let contiguous = || value_error("out planes must be C-contiguous");
    let target = composite::FrameMut {
        y: rw_y.as_slice_mut().map_err(|_| contiguous())?,
        u: rw_u.as_slice_mut().map_err(|_| contiguous())?,
        v: rw_v.as_slice_mut().map_err(|_| contiguous())?,
    };
    let run = || compositor.composite(&frames, layout, width, height, background, main, target);
    let result = if width * height > DETACH_ELEMENTS {
        py.detach(run)
    } else {
        run()
    };
    result.map_err(composite_error)?;
    drop((rw_y, rw_u, rw_v));
    pyo3::types::PyTuple::new(py, targets)
}

/// Composites I420 frames into one frame, caching its scaling tables between calls.
///
/// One compositor serves one stream of frames (a recorder keeps one per recording);
/// it is not meant to be shared by threads running at the same time.
#[pyclass(name = "Compositor", module = "zhanye_sdk._native")]
#[derive(Default)]
struct PyCompositor {
    inner: composite::Compositor,
}

#[pymethods]
impl PyCompositor {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Composites `inputs` into a `width x height` I420 frame; see `composite_i420`.
    #[pyo3(
        signature = (inputs, layout, width, height, background = None, *, main = 0, out = None),
        text_signature = "($self, inputs, layout, width, height, background=(16, 128, 128), *, main=0, out=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn composite<'py>(
        &mut self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        layout: &Bound<'py, PyAny>,
        width: i64,
        height: i64,
        background: Option<&Bound<'py, PyAny>>,
        main: i64,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        composite_call(
            py,
            &mut self.inner,
            inputs,
            layout,
            width,
            height,
            background,
            main,
            out,
        )
    }
}

/// Composites I420 frames `(Y, U, V)` into one `width x height` I420 frame.
#[pyfunction]
#[pyo3(
    name = "composite_i420",
    signature = (inputs, layout, width, height, background = None, *, main = 0, out = None),
    text_signature = "(inputs, layout, width, height, background=(16, 128, 128), *, main=0, out=None)"
)]
#[allow(clippy::too_many_arguments)]
fn py_composite_i420<'py>(
    py: Python<'py>,
    inputs: &Bound<'py, PyAny>,
    layout: &Bound<'py, PyAny>,
    width: i64,
    height: i64,
    background: Option<&Bound<'py, PyAny>>,
    main: i64,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
    let mut compositor = composite::Compositor::new();
    composite_call(
        py,
        &mut compositor,
        inputs,
        layout,
        width,
        height,
        background,
        main,
        out,
    )
}

/// Each input's tile `(x, y, w, h)` for inputs of sizes `(w, h)`; `(0, 0, 0, 0)` if not drawn.
#[pyfunction]
#[pyo3(name = "layout_cells", signature = (sizes, layout, width, height, *, main = 0))]
fn py_layout_cells(
    sizes: &Bound<'_, PyAny>,
    layout: &Bound<'_, PyAny>,
    width: i64,
    height: i64,
    main: i64,
) -> PyResult<Vec<(usize, usize, usize, usize)>> {
    let width = composite::check_output_side("width", width).map_err(composite_error)?;
    let height = composite::check_output_side("height", height).map_err(composite_error)?;
    let layout = composite_layout(layout)?;
    let items = sizes.extract::<Vec<Bound<'_, PyAny>>>().map_err(|_| {
        value_error(format!(
            "sizes must be a sequence of (w, h) pairs, got {}",
            describe(sizes)
        ))
    })?;
    let mut pairs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let side = 1..=composite::MAX_INPUT_SIDE as i64;
        match item.extract::<Vec<i64>>().as_deref() {
            Ok(&[w, h]) if side.contains(&w) && side.contains(&h) => {
                pairs.push((w as usize, h as usize))
            }
            _ => {
                return Err(value_error(format!(
                    "sizes[{index}] must be a (w, h) pair with 1 <= w, h <= {}, got {}",
                    composite::MAX_INPUT_SIDE,
                    item.repr()?
                )))
            }
        }
    }
    let main = composite::check_main(main, pairs.len()).map_err(composite_error)?;
    let tiles = composite::layout_tiles(&pairs, layout, width, height, main);
    Ok(tiles.iter().map(|t| (t.x, t.y, t.w, t.h)).collect())
}

// ---- Multi-pattern exact search (aho.rs) ----

/// Searching more characters than this runs with the GIL released.
const AHO_DETACH_CHARS: usize = 50_000;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// Aho-Corasick search of many patterns at once, in character (str index) offsets.
///
/// Immutable once built; `find` releases the GIL on long texts, so one automaton can be
/// shared by threads.
#[pyclass(name = "AhoCorasick", module = "zhanye_sdk._native", frozen)]
struct PyAhoCorasick {
    inner: aho::Automaton,
}

#[pymethods]
impl PyAhoCorasick {
    #[new]
    fn new(patterns: &Bound<'_, PyAny>) -> PyResult<Self> {
        if patterns.is_instance_of::<pyo3::types::PyString>() {
            return Err(value_error(
                "patterns must be a sequence of non-empty str, got a single str",
            ));
        }
        let items = patterns.try_iter().map_err(|_| {
            value_error(format!(
                "patterns must be a sequence of non-empty str, got {}",
                type_name(patterns)
            ))
        })?;
        let mut texts: Vec<String> = Vec::new();
        for (index, item) in items.enumerate() {
            let item = item?;
            let text = item
                .cast::<pyo3::types::PyString>()
                .map_err(|_| {
                    value_error(format!(
                        "patterns[{index}] must be a non-empty str, got {}",
                        type_name(&item)
                    ))
                })?
                .to_str()?
                .to_owned();
            texts.push(text);
        }
        let inner = aho::Automaton::new(&texts).map_err(|e| value_error(e.to_string()))?;
        Ok(PyAhoCorasick { inner })
    }

    /// Matches `(pattern, start, end)` in `text`: leftmost-longest, or every overlapping one.
    #[pyo3(signature = (text, *, overlapping = false))]
    fn find(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyAny>,
        overlapping: bool,
    ) -> PyResult<Vec<(u32, usize, usize)>> {
        let text = text
            .cast::<pyo3::types::PyString>()
            .map_err(|_| value_error(format!("text must be a str, got {}", type_name(text))))?
            .to_str()?;
        let kind = if overlapping {
            aho::MatchKind::Overlapping
        } else {
            aho::MatchKind::LeftmostLongest
        };
        let run = || self.inner.find(text, kind);
        let found = if text.len() > AHO_DETACH_CHARS {
            py.detach(run)
        } else {
            run()
        };
        Ok(found
            .into_iter()
            .map(|m| (m.pattern, m.start, m.end))
            .collect())
    }

    /// The number of patterns.
    #[getter]
    fn pattern_count(&self) -> usize {
        self.inner.pattern_count()
    }

    fn __repr__(&self) -> String {
        format!("AhoCorasick(<{} patterns>)", self.inner.pattern_count())
    }
}

// ---- Stroke rasterizer (raster.rs) ----

/// Draws anti-aliased strokes into an RGB image in place; see `raster.rs` for the arithmetic.
#[pyfunction]
#[pyo3(name = "draw_strokes", signature = (image, points, offsets, widths, colours, tools))]
fn py_draw_strokes<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    offsets: &Bound<'py, PyAny>,
    widths: &Bound<'py, PyAny>,
    colours: &Bound<'py, PyAny>,
    tools: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let wrong_image = || {
        value_error(format!(
            "image must be a numpy array of dtype uint8 and shape (H, W, 3), got {}",
            describe(image)
        ))
    };
    let target = image
        .cast::<numpy::PyArray3<u8>>()
        .map_err(|_| wrong_image())?;
    let shape = target.shape().to_vec();
    if shape[2] != 3 {
        return Err(value_error(format!(
            "image must have shape (H, W, 3) with 1 <= H, W <= {}, got ({}, {}, {})",
            raster::MAX_SIDE,
            shape[0],
            shape[1],
            shape[2]
        )));
    }
    if !target.is_c_contiguous() {
        return Err(value_error("image must be C-contiguous"));
    }
    let points_ro = readonly_2d::<i32>(points, "points", "int32", "(N, 2)")?;
    if points_ro.shape()[1] != 2 {
        return Err(value_error(format!(
            "points must be a numpy array of dtype int32 and shape (N, 2), got {}",
            describe(points)
        )));
    }
    let offsets_ro = readonly_1d::<i64>(offsets, "offsets", "int64", "(S + 1,)")?;
    let widths_ro = readonly_1d::<i32>(widths, "widths", "int32", "(S,)")?;
    let colours_ro = readonly_2d::<u8>(colours, "colours", "uint8", "(S, 3)")?;
    if colours_ro.shape()[1] != 3 {
        return Err(value_error(format!(
            "colours must be a numpy array of dtype uint8 and shape (S, 3), got {}",
            describe(colours)
        )));
    }
    let tools_ro = readonly_1d::<u8>(tools, "tools", "uint8", "(S,)")?;
    let flat_points = contiguous(&points_ro, "points")?;
    let flat_colours = contiguous(&colours_ro, "colours")?;
    let pairs: Vec<[i32; 2]> = flat_points.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    let rgb: Vec<[u8; 3]> = flat_colours
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let strokes = raster::Strokes {
        points: &pairs,
        offsets: contiguous(&offsets_ro, "offsets")?,
        widths: contiguous(&widths_ro, "widths")?,
        colours: &rgb,
        tools: contiguous(&tools_ro, "tools")?,
    };
    let (height, width) = (shape[0], shape[1]);
    raster::check(height, width, &strokes).map_err(|e| value_error(e.to_string()))?;
    let mut rw = target
        .try_readwrite()
        .map_err(|_| value_error("image must be writeable and not shared with the inputs"))?;
    let pixels = rw
        .as_slice_mut()
        .map_err(|_| value_error("image must be C-contiguous"))?;
    if pairs.len() > 256 {
        py.detach(|| raster::draw(pixels, height, width, &strokes));
    } else {
        raster::draw(pixels, height, width, &strokes);
    }
    Ok(())
}

// ---- Beauty filter (beauty.rs) ----

/// Smooths skin and keeps edges on an I420 frame; returns the new luma plane.
#[pyfunction]
#[pyo3(name = "beauty_i420", signature = (y, u, v, strength, brighten = 0))]
fn py_beauty_i420<'py>(
    py: Python<'py>,
    y: &Bound<'py, PyAny>,
    u: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    strength: i64,
    brighten: i64,
) -> PyResult<Bound<'py, PyArray2<u8>>> {
    let y_ro = readonly_2d::<u8>(y, "y", "uint8", "(H, W)")?;
    let u_ro = readonly_2d::<u8>(u, "u", "uint8", "((H + 1) // 2, (W + 1) // 2)")?;
    let v_ro = readonly_2d::<u8>(v, "v", "uint8", "((H + 1) // 2, (W + 1) // 2)")?;
    let (h, w) = (y_ro.shape()[0], y_ro.shape()[1]);
    let us = (u_ro.shape()[0], u_ro.shape()[1]);
    let vs = (v_ro.shape()[0], v_ro.shape()[1]);
    beauty::check(h, w, us, vs, strength, brighten).map_err(|e| value_error(e.to_string()))?;
    let ys = contiguous(&y_ro, "y")?;
    let uslice = contiguous(&u_ro, "u")?;
    let vslice = contiguous(&v_ro, "v")?;
    let target = unsafe { PyArray2::<u8>::new(py, [h, w], false) };
    let mut rw: PyReadwriteArray2<'py, u8> = target
        .try_readwrite()
        .map_err(|_| value_error("out must be writeable"))?;
    let out = rw
        .as_slice_mut()
        .map_err(|_| value_error("out must be C-contiguous"))?;
    let (s, b) = (strength as i32, brighten as i32);
    let mut run = || beauty::beauty(ys, uslice, vslice, h, w, s, b, out);
    if h * w > DETACH_ELEMENTS {
        py.detach(run);
    } else {
        run();
    }
    drop(rw);
    Ok(target)
}

// ---- SRTP (srtp.rs) ----

fn srtp_bytes<'a, 'py>(obj: &'a Bound<'py, PyAny>, name: &str) -> PyResult<&'a [u8]> {
    obj.cast::<pyo3::types::PyBytes>()
        .map(|b| b.as_bytes())
        .map_err(|_| value_error(format!("{name} must be bytes, got {}", type_name(obj))))
}

/// SRTP protection of RTP packets (not RTCP) under one DTLS-SRTP master key and salt.
///
/// Any number of SSRCs, each with its rollover counter and a 1024-packet replay window;
/// `protect` and `unprotect` keep separate streams. Use one instance from one thread at a
/// time (a concurrent call raises RuntimeError).
#[pyclass(name = "SrtpContext", module = "zhanye_sdk._native")]
struct PySrtpContext {
    inner: srtp::SrtpContext,
    /// Reused for every packet, so the Rust side allocates nothing per call.
    scratch: Vec<u8>,
}

#[pymethods]
impl PySrtpContext {
    #[new]
    #[pyo3(signature = (profile, key_and_salt))]
    fn new(profile: &Bound<'_, PyAny>, key_and_salt: &Bound<'_, PyAny>) -> PyResult<Self> {
        let found = profile
            .cast::<pyo3::types::PyString>()
            .ok()
            .and_then(|s| s.to_str().ok().and_then(srtp::SrtpProfile::from_name));
        let Some(found) = found else {
            let names: Vec<&str> = srtp::SrtpProfile::ALL.iter().map(|p| p.name()).collect();
            return Err(value_error(format!(
                "profile must be one of {}, got {}",
                names.join(", "),
                profile.repr()?
            )));
        };
        let key = srtp_bytes(key_and_salt, "key_and_salt")?;
        let inner = srtp::SrtpContext::new(found, key).map_err(|e| value_error(e.to_string()))?;
        Ok(PySrtpContext {
            inner,
            scratch: Vec::with_capacity(1500),
        })
    }

    /// The SRTP packet of an RTP packet: payload encrypted, tag appended.
    fn protect<'py>(
        &mut self,
        py: Python<'py>,
        packet: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let data = srtp_bytes(packet, "packet")?;
        self.inner
            .protect_rtp(data, &mut self.scratch)
            .map_err(|e| value_error(e.to_string()))?;
        Ok(pyo3::types::PyBytes::new(py, &self.scratch))
    }

    /// The RTP packet of an SRTP packet, once authenticated and not a replay.
    fn unprotect<'py>(
        &mut self,
        py: Python<'py>,
        packet: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let data = srtp_bytes(packet, "packet")?;
        self.inner
            .unprotect_rtp(data, &mut self.scratch)
            .map_err(|e| value_error(e.to_string()))?;
        Ok(pyo3::types::PyBytes::new(py, &self.scratch))
    }

    /// The profile's OpenSSL name, e.g. "SRTP_AEAD_AES_128_GCM".
    #[getter]
    fn profile(&self) -> &'static str {
        self.inner.profile().name()
    }

    fn __repr__(&self) -> String {
        format!("SrtpContext({:?}, <key>)", self.inner.profile().name())
    }
}

// ---- Sending a listener's audio (rtp_send.rs) ----

fn ip_address(host: &str) -> PyResult<std::net::IpAddr> {
    host.parse()
        .map_err(|_| value_error(format!("host must be an IP address, got {host:?}")))
}

fn srtp_context(profile: &str, key_and_salt: &[u8]) -> PyResult<srtp::SrtpContext> {
    let profile = srtp::SrtpProfile::from_name(profile)
        .ok_or_else(|| value_error(format!("unknown SRTP profile {profile:?}")))?;
    srtp::SrtpContext::new(profile, key_and_salt).map_err(|e| value_error(e.to_string()))
}

/// One listener's audio stream sent from the mixing tick: RTP headers as aiortc writes
/// them, SRTP, and a duplicate of the connection's UDP socket.
#[pyclass(name = "AudioSendLink", module = "zhanye_sdk._native")]
struct PyAudioSendLink {
    inner: rtp_send::AudioSendLink,
}

#[pymethods]
impl PyAudioSendLink {
    #[new]
    #[pyo3(signature = (
        fd, host, port, profile, key_and_salt, *, ssrc, payload_type, sequence,
        timestamp_origin, mid_id = None, mid = None, abs_send_time_id = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        fd: i32,
        host: &str,
        port: u16,
        profile: &str,
        key_and_salt: &[u8],
        ssrc: u32,
        payload_type: u8,
        sequence: u16,
        timestamp_origin: u32,
        mid_id: Option<u8>,
        mid: Option<&str>,
        abs_send_time_id: Option<u8>,
    ) -> PyResult<Self> {
        if payload_type > 127 {
            return Err(value_error(format!(
                "payload_type must be 0–127, got {payload_type}"
            )));
        }
        let ip = ip_address(host)?;
        let context = srtp_context(profile, key_and_salt)?;
        let stream = rtp_send::AudioRtpStream {
            ssrc,
            payload_type,
            sequence,
            timestamp_origin,
            mid: match (mid_id, mid) {
                (Some(id), Some(value)) => Some((id, value.as_bytes().to_vec())),
                _ => None,
            },
            abs_send_time_id,
        };
        if fd < 0 {
            return Err(value_error(format!("fd must be an open socket, got {fd}")));
        }
        // SAFETY: the caller passes the descriptor of a socket it holds open; the link
        // duplicates it at once and uses only its own copy.
        let inner = unsafe {
            rtp_send::AudioSendLink::new(fd, std::net::SocketAddr::new(ip, port), stream, context)
        }
        .map_err(|e| value_error(e.to_string()))?;
        Ok(PyAudioSendLink { inner })
    }

    /// Send one tick's payloads stamped `timestamp`; the packets the socket took.
    fn send(
        &mut self,
        payloads: &Bound<'_, PyAny>,
        timestamp: u64,
        abs_send_time: u64,
    ) -> PyResult<usize> {
        let mut views: Vec<&[u8]> = Vec::new();
        let list = payloads.cast::<pyo3::types::PyList>().map_err(|_| {
            value_error(format!(
                "payloads must be a list of bytes, got {}",
                type_name(payloads)
            ))
        })?;
        let items: Vec<Bound<'_, PyAny>> = list.iter().collect();
        for (index, item) in items.iter().enumerate() {
            let bytes = item.cast::<pyo3::types::PyBytes>().map_err(|_| {
                value_error(format!(
                    "payloads[{index}] must be bytes, got {}",
                    type_name(item)
                ))
            })?;
            views.push(bytes.as_bytes());
        }
        self.inner
            .send(&views, timestamp as u32, abs_send_time as u32)
            .map_err(|e| value_error(e.to_string()))
    }

    /// Send the packet of `sequence` again if it is still kept (a NACK).
    fn retransmit(&mut self, sequence: u16) -> bool {
        self.inner.retransmit(sequence)
    }

    /// Close the link's own descriptor.
    fn close(&mut self) {
        self.inner.close();
    }

    /// The sequence number of the next packet.
    #[getter]
    fn next_sequence(&self) -> u16 {
        self.inner.next_sequence()
    }

    #[getter]
    fn packets_sent(&self) -> u64 {
        self.inner.packets_sent
    }

    #[getter]
    fn octets_sent(&self) -> u64 {
        self.inner.octets_sent
    }

    #[getter]
    fn last_timestamp(&self) -> u32 {
        self.inner.last_timestamp
    }

    #[getter]
    fn send_failures(&self) -> u64 {
        self.inner.send_failures
    }
}

// ---- Receiving a participant's audio (rtp_receive.rs) ----

/// One audio packet read by `AudioReceiveLink.drain`: SSRC, payload type, sequence,
/// timestamp, marker, payload and arrival (monotonic seconds).
type ReceivedAudio<'py> = (
    u32,
    u8,
    u16,
    u32,
    bool,
    Bound<'py, pyo3::types::PyBytes>,
    f64,
);
/// One datagram handed back: its bytes and sender `(host, port)`.
type ReceivedOther<'py> = (Bound<'py, pyo3::types::PyBytes>, (String, u16));
/// What `AudioReceiveLink.drain_into` returns: the other datagrams, the audio packets
/// taken, the holes to ask for again per SSRC and the SSRCs seen.
type DrainedInto<'py> = (
    Vec<ReceivedOther<'py>>,
    usize,
    Vec<(u32, Vec<u16>)>,
    Vec<u32>,
);

/// One participant's audio read off the connection's UDP socket on the mixing tick:
/// SRTP and RTP here, everything else handed back for aiortc.
#[pyclass(name = "AudioReceiveLink", module = "zhanye_sdk._native")]
struct PyAudioReceiveLink {
    inner: rtp_receive::AudioReceiveLink,
    received: Vec<rtp_receive::Received>,
}

#[pymethods]
impl PyAudioReceiveLink {
    #[new]
    #[pyo3(signature = (fd, host, port, profile, key_and_salt, *, payload_types))]
    fn new(
        fd: i32,
        host: &str,
        port: u16,
        profile: &str,
        key_and_salt: &[u8],
        payload_types: Vec<i64>,
    ) -> PyResult<Self> {
        let ip = ip_address(host)?;
        let context = srtp_context(profile, key_and_salt)?;
        let mut types = Vec::with_capacity(payload_types.len());
        for pt in payload_types {
            types.push(
                u8::try_from(pt)
                    .ok()
                    .filter(|pt| *pt < 128)
                    .ok_or_else(|| value_error(format!("payload types are 0–127, got {pt}")))?,
            );
        }
        if fd < 0 {
            return Err(value_error(format!("fd must be an open socket, got {fd}")));
        }
        // SAFETY: the caller passes the descriptor of a socket it holds open; the link
        // duplicates it at once and uses only its own copy.
        let inner = unsafe {
            rtp_receive::AudioReceiveLink::new(
                fd,
                std::net::SocketAddr::new(ip, port),
                context,
                &types,
            )
        }
        .map_err(|e| value_error(e.to_string()))?;
        Ok(PyAudioReceiveLink {
            inner,
            received: Vec::new(),
        })
    }

    /// Read every datagram waiting (at most `max`): the audio packets, and the other
    /// datagrams for aiortc.
    #[pyo3(signature = (max = 256))]
    fn drain<'py>(
        &mut self,
        py: Python<'py>,
        max: usize,
    ) -> (Vec<ReceivedAudio<'py>>, Vec<ReceivedOther<'py>>) {
        self.received.clear();
        self.inner.drain(max, &mut self.received);
        let mut audio = Vec::new();
        let mut other = Vec::new();
        for item in self.received.drain(..) {
            match item {
                rtp_receive::Received::Audio {
                    ssrc,
                    payload_type,
                    sequence,
                    timestamp,
                    marker,
                    payload,
                    arrival,
                } => audio.push((
                    ssrc,
                    payload_type,
                    sequence,
                    timestamp,
                    marker,
                    pyo3::types::PyBytes::new(py, &payload),
                    arrival,
                )),
                rtp_receive::Received::Other { data, from } => other.push((
                    pyo3::types::PyBytes::new(py, &data),
                    (from.ip().to_string(), from.port()),
                )),
            }
        }
        (audio, other)
    }

    /// Read every datagram waiting (at most `max`): each audio packet goes through
    /// `intake` into `buffer` (none when `take` is false: the receiver is off), the rest
    /// is handed back. Returns the other datagrams, the audio packets taken, the holes to
    /// ask for again as `(ssrc, sequence numbers)` and the SSRCs seen.
    #[pyo3(signature = (intake, buffer, *, max = 256, take = true))]
    fn drain_into<'py>(
        &mut self,
        py: Python<'py>,
        mut intake: PyRefMut<'_, PyAudioIntake>,
        mut buffer: PyRefMut<'_, PyAdaptiveJitterBuffer>,
        max: usize,
        take: bool,
    ) -> DrainedInto<'py> {
        self.received.clear();
        let wall_offset = rtp_receive::wall_offset_s();
        let intake = &mut intake.inner;
        let buffer = &mut buffer.inner;
        let mut taken = 0usize;
        let mut nacks: Vec<(u32, Vec<u16>)> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        let mut lost = Vec::new();
        self.inner.drain_each(max, &mut self.received, |packet| {
            if !take {
                return;
            }
            taken += 1;
            if !seen.contains(&packet.ssrc) {
                seen.push(packet.ssrc);
            }
            intake.take(
                packet.ssrc,
                packet.payload_type,
                packet.sequence,
                packet.timestamp,
                packet.payload,
                packet.arrival,
                wall_offset,
                buffer,
                &mut lost,
            );
            if !lost.is_empty() {
                nacks.push((packet.ssrc, std::mem::take(&mut lost)));
            }
        });
        let other = self
            .received
            .drain(..)
            .filter_map(|item| match item {
                rtp_receive::Received::Other { data, from } => Some((
                    pyo3::types::PyBytes::new(py, &data),
                    (from.ip().to_string(), from.port()),
                )),
                rtp_receive::Received::Audio { .. } => None,
            })
            .collect();
        (other, taken, nacks, seen)
    }

    /// Close the link's own descriptor.
    fn close(&mut self) {
        self.inner.close();
    }

    /// Audio packets read and unprotected.
    #[getter]
    fn packets(&self) -> u64 {
        self.inner.packets
    }

    /// Audio packets refused (replayed, too old, malformed or not authentic).
    #[getter]
    fn refused(&self) -> u64 {
        self.inner.refused
    }

    /// Datagrams handed back for aiortc.
    #[getter]
    fn forwarded(&self) -> u64 {
        self.inner.forwarded
    }
}

// ---- The adaptive audio jitter buffer (jitter.rs) ----

/// A packet leaving the jitter buffer, in sequence order.
#[pyclass(name = "Released", module = "zhanye_sdk._native", frozen, get_all)]
struct PyReleased {
    /// The extended (unwrapped) sequence number.
    sequence: i64,
    /// The packet's RTP timestamp (32-bit, as sent).
    timestamp: u32,
    /// The encoded frame.
    payload: Py<pyo3::types::PyBytes>,
    /// The buffer skipped the frame(s) before this one on purpose.
    discontinuity: bool,
    /// It came from redundancy (RED), its own packet having been lost.
    redundant: bool,
    /// What the packet was pushed with (the receiver's payload type).
    tag: u8,
}

impl PyReleased {
    fn of(py: Python<'_>, r: &jitter::Released) -> Self {
        PyReleased {
            sequence: r.sequence,
            timestamp: r.timestamp,
            payload: pyo3::types::PyBytes::new(py, &r.payload).unbind(),
            discontinuity: r.discontinuity,
            redundant: r.redundant,
            tag: r.tag,
        }
    }
}

/// The adaptive audio jitter buffer: packets in, packets out at their playout time.
#[pyclass(name = "AdaptiveJitterBuffer", module = "zhanye_sdk._native")]
struct PyAdaptiveJitterBuffer {
    inner: jitter::AdaptiveJitterBuffer,
    released: Vec<jitter::Released>,
}

fn finite(now: f64) -> PyResult<f64> {
    if now.is_finite() {
        Ok(now)
    } else {
        Err(value_error(format!("expected a finite time, got {now}")))
    }
}

#[pymethods]
impl PyAdaptiveJitterBuffer {
    #[new]
    #[pyo3(signature = (
        *, clock_rate = 48_000, frame_ms = 20.0, min_delay_ms = 20.0, max_delay_ms = 300.0,
        window = 250, quantile = 0.95, margin_ms = 5.0, shrink_every = 10
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        clock_rate: u32,
        frame_ms: f64,
        min_delay_ms: f64,
        max_delay_ms: f64,
        window: usize,
        quantile: f64,
        margin_ms: f64,
        shrink_every: u32,
    ) -> PyResult<Self> {
        let settings = jitter::JitterSettings {
            clock_rate,
            frame_ms,
            min_delay_ms,
            max_delay_ms,
            window,
            quantile,
            margin_ms,
            shrink_every,
        };
        Ok(PyAdaptiveJitterBuffer {
            inner: jitter::AdaptiveJitterBuffer::new(settings).map_err(value_error)?,
            released: Vec::new(),
        })
    }

    /// Take a packet that arrived at `now`; False when it is late or a duplicate.
    #[pyo3(signature = (sequence, timestamp, payload, now, *, redundant = false, tag = 0))]
    fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        now: f64,
        redundant: bool,
        tag: i64,
    ) -> PyResult<bool> {
        let tag =
            u8::try_from(tag).map_err(|_| value_error(format!("tag must be 0–255, got {tag}")))?;
        Ok(self
            .inner
            .push_tagged(sequence, timestamp, payload, finite(now)?, redundant, tag))
    }

    /// The packets due by `now`, in sequence order.
    fn pop(&mut self, py: Python<'_>, now: f64) -> PyResult<Vec<PyReleased>> {
        self.released.clear();
        self.inner.pop(finite(now)?, &mut self.released);
        Ok(self
            .released
            .drain(..)
            .map(|r| PyReleased::of(py, &r))
            .collect())
    }

    /// When a held packet (extended sequence number) is due.
    fn due(&self, sequence: i64) -> Option<f64> {
        self.inner.due(sequence)
    }

    /// When `pop` will next release something (None: nothing held).
    fn next_due(&self) -> Option<f64> {
        self.inner.next_due()
    }

    /// The current playout delay above the fastest transit, in milliseconds.
    #[getter]
    fn delay_ms(&self) -> f64 {
        self.inner.delay_ms()
    }

    /// Packets held.
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// The RTP clock rate.
    #[getter]
    fn clock_rate(&self) -> u32 {
        self.inner.settings.clock_rate
    }

    /// The usual packet duration, in seconds.
    #[getter]
    fn frame_s(&self) -> f64 {
        self.inner.frame_s
    }

    /// Packets taken (not counting redundant copies).
    #[getter]
    fn received(&self) -> u64 {
        self.inner.received
    }

    /// Packets dropped as late.
    #[getter]
    fn late(&self) -> u64 {
        self.inner.late
    }

    /// Packets dropped as duplicates.
    #[getter]
    fn duplicates(&self) -> u64 {
        self.inner.duplicates
    }

    /// Frames skipped to shrink the delay.
    #[getter]
    fn skipped(&self) -> u64 {
        self.inner.skipped
    }

    /// Times a new stream made the buffer start over.
    #[getter]
    fn resyncs(&self) -> u64 {
        self.inner.resyncs
    }
}

// ---- Each audio packet on its way in (intake.rs) ----

/// A stream's RFC 3550 receive statistics: base and highest sequence number, cycles,
/// packets received, jitter (×16), last arrival and last timestamp.
type StatisticsRow = (
    Option<u16>,
    Option<u16>,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<u32>,
);

/// One receiver's intake of audio packets: statistics, NACK and the jitter buffer.
#[pyclass(name = "AudioIntake", module = "zhanye_sdk._native")]
struct PyAudioIntake {
    inner: intake::Intake,
    lost: Vec<u16>,
}

#[pymethods]
impl PyAudioIntake {
    #[new]
    #[pyo3(signature = (*, clock_rate = 48_000, nack_payload_types = Vec::new()))]
    fn new(clock_rate: u32, nack_payload_types: Vec<i64>) -> PyResult<Self> {
        if clock_rate == 0 {
            return Err(value_error("clock_rate must be positive, got 0"));
        }
        let mut types = Vec::with_capacity(nack_payload_types.len());
        for pt in nack_payload_types {
            types.push(
                u8::try_from(pt)
                    .ok()
                    .filter(|pt| *pt < 128)
                    .ok_or_else(|| value_error(format!("payload types are 0–127, got {pt}")))?,
            );
        }
        Ok(PyAudioIntake {
            inner: intake::Intake::new(clock_rate, &types),
            lost: Vec::new(),
        })
    }

    /// Take one packet into `buffer`; the sequence numbers to ask for again.
    #[pyo3(signature = (ssrc, payload_type, sequence, timestamp, payload, arrival, wall_offset, buffer))]
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        ssrc: u32,
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        arrival: f64,
        wall_offset: f64,
        mut buffer: PyRefMut<'_, PyAdaptiveJitterBuffer>,
    ) -> PyResult<Vec<u16>> {
        if payload_type > 127 {
            return Err(value_error(format!(
                "payload types are 0–127, got {payload_type}"
            )));
        }
        finite(arrival)?;
        finite(wall_offset)?;
        self.lost.clear();
        self.inner.take(
            ssrc,
            payload_type,
            sequence,
            timestamp,
            payload,
            arrival,
            wall_offset,
            &mut buffer.inner,
            &mut self.lost,
        );
        Ok(self.lost.clone())
    }

    /// Start `ssrc`'s statistics from a receiver's (aiortc's) state.
    #[pyo3(signature = (ssrc, row))]
    fn seed(&mut self, ssrc: u32, row: StatisticsRow) {
        let (base_seq, max_seq, cycles, packets_received, jitter_q4, last_arrival, last_timestamp) =
            row;
        self.inner.streams.insert(
            ssrc,
            intake::StreamStatistics {
                base_seq,
                max_seq,
                cycles,
                packets_received,
                jitter_q4,
                last_arrival,
                last_timestamp,
            },
        );
    }

    /// `ssrc`'s receive statistics (None: no packet of it yet).
    fn statistics(&self, ssrc: u32) -> Option<StatisticsRow> {
        self.inner.streams.get(&ssrc).map(|s| {
            (
                s.base_seq,
                s.max_seq,
                s.cycles,
                s.packets_received,
                s.jitter_q4,
                s.last_arrival,
                s.last_timestamp,
            )
        })
    }

    /// The packets asked for again and not back yet, in increasing order.
    fn pending(&self) -> Vec<u16> {
        self.inner.pending()
    }

    /// The newest sequence number seen.
    #[getter]
    fn top(&self) -> Option<u16> {
        self.inner.top()
    }

    /// Packets taken, by payload type (those with any).
    #[getter]
    fn payload_types(&self) -> std::collections::BTreeMap<u8, u64> {
        (0u8..128)
            .zip(self.inner.payload_types.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(pt, n)| (pt, *n))
            .collect()
    }

    /// Packets asked for again (NACK).
    #[getter]
    fn nacks(&self) -> u64 {
        self.inner.nacks
    }

    /// Packets asked for again that came back.
    #[getter]
    fn retransmitted(&self) -> u64 {
        self.inner.retransmitted
    }
}

// ---- Opus decoding with FEC, RED and concealment (opus_decode.rs) ----

/// One decoded frame: its interleaved int16 samples, its RTP timestamp and what it is.
type DecodedPcm<'py> = (Bound<'py, PyArray1<i16>>, i64, Option<&'static str>);

/// A 48 kHz Opus decoder that fills holes with RED, FEC and concealment.
#[pyclass(name = "OpusPcmDecoder", module = "zhanye_sdk._native")]
struct PyOpusPcmDecoder {
    inner: opus_decode::OpusPcmDecoder,
    pcm: Vec<i16>,
    frames: Vec<opus_decode::Frame>,
}

#[pymethods]
impl PyOpusPcmDecoder {
    #[new]
    #[pyo3(signature = (*, channels = 2, red = false))]
    fn new(channels: i64, red: bool) -> PyResult<Self> {
        if channels != 1 && channels != 2 {
            return Err(value_error(format!(
                "channels must be 1 or 2, got {channels}"
            )));
        }
        let inner = opus_decode::OpusPcmDecoder::new(channels as usize, red)
            .map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        Ok(PyOpusPcmDecoder {
            inner,
            pcm: Vec::new(),
            frames: Vec::new(),
        })
    }

    /// Decode one packet, recovering the frames before it that never arrived. The
    /// timestamp counts modulo 2³²; the packet's own frame carries it as given (aiortc's
    /// timestamp mapper hands on values outside 32 bits).
    fn decode_pcm<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        timestamp: i64,
        discontinuity: bool,
    ) -> Vec<DecodedPcm<'py>> {
        self.pcm.clear();
        self.frames.clear();
        let wrapped = timestamp.rem_euclid(1 << 32) as u32;
        self.inner.decode(
            data,
            wrapped,
            discontinuity,
            &mut self.pcm,
            &mut self.frames,
        );
        self.frames
            .iter()
            .map(|f| {
                let kind = match f.kind {
                    opus_decode::Kind::Received => None,
                    opus_decode::Kind::Red => Some("red"),
                    opus_decode::Kind::Fec => Some("fec"),
                    opus_decode::Kind::Plc => Some("plc"),
                };
                let at = match f.kind {
                    opus_decode::Kind::Received => timestamp,
                    _ => i64::from(f.timestamp),
                };
                (
                    PyArray1::from_slice(py, &self.pcm[f.start..f.start + f.len]),
                    at,
                    kind,
                )
            })
            .collect()
    }

    /// 1 or 2.
    #[getter]
    fn channels(&self) -> usize {
        self.inner.channels
    }

    /// The packets are RED payloads.
    #[getter]
    fn red(&self) -> bool {
        self.inner.red
    }

    /// Frames decoded from their own packet.
    #[getter]
    fn received(&self) -> u64 {
        self.inner.received
    }

    /// Frames rebuilt from RED or FEC.
    #[getter]
    fn recovered(&self) -> u64 {
        self.inner.recovered
    }

    /// Frames concealed.
    #[getter]
    fn concealed(&self) -> u64 {
        self.inner.concealed
    }

    /// RED payloads that could not be read.
    #[getter]
    fn malformed(&self) -> u64 {
        self.inner.malformed
    }
}

// ---- Opus encoding of the tick's mixes (opus_encode.rs) ----

/// An Opus encoder of 20 ms int16 frames (libopus from the path given).
/// Encode one frame of a numpy int16 array with `encoder`: a wrong shape or dtype is a
/// `ValueError`, libopus failing a `RuntimeError`.
fn encode_samples<'a>(
    encoder: &'a mut opus_encode::OpusPcmEncoder,
    samples: &Bound<'_, PyAny>,
) -> PyResult<&'a [u8]> {
    let samples = readonly_1d::<i16>(samples, "samples", "int16", "(960 × channels,)")?;
    let owned: Vec<i16>;
    let pcm = match samples.as_slice() {
        Ok(pcm) => pcm,
        Err(_) => {
            owned = samples.as_array().iter().copied().collect();
            &owned
        }
    };
    encoder.encode(pcm).map_err(|e| {
        if e.starts_with("expected") {
            value_error(e)
        } else {
            pyo3::exceptions::PyRuntimeError::new_err(e)
        }
    })
}

#[pyclass(name = "OpusPcmEncoder", module = "zhanye_sdk._native")]
struct PyOpusPcmEncoder {
    inner: opus_encode::OpusPcmEncoder,
}

#[pymethods]
impl PyOpusPcmEncoder {
    #[new]
    #[pyo3(signature = (
        library, *, channels = 1, bitrate = 32_000, complexity = None, fec = true,
        packet_loss = 0, dtx = true, signal = "auto"
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        library: &str,
        channels: usize,
        bitrate: i32,
        complexity: Option<i32>,
        fec: bool,
        packet_loss: i32,
        dtx: bool,
        signal: &str,
    ) -> PyResult<Self> {
        let settings = opus_encode::EncoderSettings {
            channels,
            bitrate,
            complexity,
            fec,
            packet_loss,
            dtx,
            signal: opus_encode::Signal::from_name(signal).map_err(value_error)?,
        };
        settings.check().map_err(value_error)?;
        let inner = opus_encode::OpusPcmEncoder::new(library, settings)
            .map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        Ok(PyOpusPcmEncoder { inner })
    }

    /// Encode one 20 ms frame of int16 samples (interleaved); the packet.
    fn encode<'py>(
        &mut self,
        py: Python<'py>,
        samples: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let packet = encode_samples(&mut self.inner, samples)?;
        Ok(pyo3::types::PyBytes::new(py, packet))
    }

    /// Size the FEC for `percent` (0–100) loss from the next frame on.
    fn set_packet_loss(&mut self, percent: i32) -> PyResult<()> {
        self.inner.set_packet_loss(percent).map_err(value_error)
    }

    /// The loss the FEC is sized for (percent).
    #[getter]
    fn packet_loss(&self) -> i32 {
        self.inner.settings.packet_loss
    }

    /// Code at `complexity` (0–10) from the next frame on.
    fn set_complexity(&mut self, complexity: i32) -> PyResult<()> {
        self.inner.set_complexity(complexity).map_err(value_error)
    }

    /// The complexity in effect (0–10).
    #[getter]
    fn complexity(&self) -> i32 {
        self.inner.settings.complexity.unwrap_or(10)
    }

    /// Give libopus the signal hint `signal` ("auto", "voice" or "music") from the next
    /// frame on.
    fn set_signal(&mut self, signal: &str) -> PyResult<()> {
        let signal = opus_encode::Signal::from_name(signal).map_err(value_error)?;
        self.inner
            .set_signal(signal)
            .map_err(pyo3::exceptions::PyRuntimeError::new_err)
    }

    /// The signal hint in effect ("auto", "voice" or "music").
    #[getter]
    fn signal(&self) -> &'static str {
        self.inner.settings.signal.name()
    }

    /// 1 or 2.
    #[getter]
    fn channels(&self) -> usize {
        self.inner.settings.channels
    }
}

// ---- the room mixer's buffers and tick (mixbuffer.rs) ----

fn buffer_error(err: mixbuffer::BufferError) -> PyErr {
    match err {
        mixbuffer::BufferError::NoRow { .. } => {
            pyo3::exceptions::PyIndexError::new_err(err.to_string())
        }
        _ => value_error(err.to_string()),
    }
}

/// A room's rows of buffered mono audio, mixed one frame a tick (mix-minus and full mix).
#[pyclass(name = "MixBuffers", module = "zhanye_sdk._native")]
struct PyMixBuffers {
    inner: mixbuffer::MixBuffers,
}

#[pymethods]
impl PyMixBuffers {
    #[new]
    #[pyo3(signature = (frame_samples = 960, prime_frames = 2, max_frames = 6))]
    fn new(frame_samples: usize, prime_frames: usize, max_frames: usize) -> PyResult<Self> {
        let inner = mixbuffer::MixBuffers::new(frame_samples, prime_frames, max_frames)
            .map_err(buffer_error)?;
        Ok(PyMixBuffers { inner })
    }

    /// Rows mixed.
    #[getter]
    fn rows(&self) -> usize {
        self.inner.rows()
    }

    /// Samples a tick takes from each row.
    #[getter]
    fn frame_samples(&self) -> usize {
        self.inner.frame_samples()
    }

    /// A new empty row at the end, at unity gain; its index.
    fn add(&mut self) -> usize {
        self.inner.add()
    }

    /// Drop row `index`; the rows after it move up one.
    fn remove(&mut self, index: usize) -> PyResult<()> {
        self.inner.remove(index).map_err(buffer_error)
    }

    /// Row `index`'s Q15 gain (0 mutes it for everyone).
    fn set_gain(&mut self, index: usize, gain_q15: i32) -> PyResult<()> {
        self.inner.set_gain(index, gain_q15).map_err(buffer_error)
    }

    /// Queue int16 mono `samples` on row `index`.
    fn push(&mut self, index: usize, samples: &Bound<'_, PyAny>) -> PyResult<()> {
        let ro = readonly_1d::<i16>(samples, "samples", "int16", "(S,)")?;
        match ro.as_slice() {
            Ok(pcm) => self.inner.push(index, pcm),
            Err(_) => {
                let owned: Vec<i16> = ro.as_array().iter().copied().collect();
                self.inner.push(index, &owned)
            }
        }
        .map_err(buffer_error)
    }

    /// Samples waiting in row `index`.
    fn buffered(&self, index: usize) -> PyResult<usize> {
        self.inner.buffered(index).map_err(buffer_error)
    }

    /// One tick: (frames, minus, full, peaks, gains) as numpy arrays.
    #[allow(clippy::type_complexity)]
    fn tick<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyArray2<i16>>,
        Bound<'py, PyArray2<i16>>,
        Bound<'py, PyArray1<i16>>,
        Bound<'py, PyArray1<i32>>,
        Bound<'py, PyArray1<i32>>,
    )> {
        let (n, s) = (self.inner.rows(), self.inner.frame_samples());
        let mut frames = vec![0i16; n * s];
        let mut minus = vec![0i16; n * s];
        let mut full = vec![0i16; s];
        let mut peaks = vec![0i32; n];
        let mut gains = vec![0i32; n];
        self.inner
            .tick(&mut frames, &mut minus, &mut full, &mut peaks, &mut gains)
            .map_err(buffer_error)?;
        let shape = |v: Vec<i16>| {
            numpy::ndarray::Array2::from_shape_vec((n, s), v)
                .map(|a| numpy::IntoPyArray::into_pyarray(a, py))
                .map_err(|e| value_error(e.to_string()))
        };
        Ok((
            shape(frames)?,
            shape(minus)?,
            PyArray1::from_vec(py, full),
            PyArray1::from_vec(py, peaks),
            PyArray1::from_vec(py, gains),
        ))
    }
}

/// Wraps encoded frames in RED (RFC 2198), repeating the last `distance` ones.
#[pyclass(name = "RedPacker", module = "zhanye_sdk._native")]
struct PyRedPacker {
    inner: red::RedPacker,
    out: Vec<u8>,
}

#[pymethods]
impl PyRedPacker {
    #[new]
    #[pyo3(signature = (payload_type, distance = 1))]
    fn new(payload_type: i64, distance: i64) -> PyResult<Self> {
        Ok(PyRedPacker {
            inner: red::RedPacker::new(payload_type, distance).map_err(value_error)?,
            out: Vec::new(),
        })
    }

    /// The payload type of the frames inside.
    #[getter]
    fn payload_type(&self) -> u8 {
        self.inner.payload_type()
    }

    /// Earlier frames repeated in each packet (0–3; a value outside is clamped).
    #[getter]
    fn distance(&self) -> usize {
        self.inner.distance()
    }

    #[setter]
    fn set_distance(&mut self, distance: i64) {
        self.inner.set_distance(distance);
    }

    /// Follow the loss the far end reports (0–1).
    fn set_loss(&mut self, loss: f64) {
        self.inner.set_distance(red::distance_for_loss(loss) as i64);
    }

    /// The RED payload for the frame `data` at `timestamp` (RTP clock).
    fn wrap<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        timestamp: i64,
    ) -> Bound<'py, pyo3::types::PyBytes> {
        self.inner
            .wrap(data, timestamp.rem_euclid(1 << 32) as u32, &mut self.out);
        pyo3::types::PyBytes::new(py, &self.out)
    }
}

/// Release the frames of `buffer` due by `now`, decode those whose tag (payload type)
/// is in `tags` with `decoder` and queue their samples on row `row` of `mix`: a
/// participant's whole receive step of the tick in one call. Returns the frames decoded,
/// those of them concealed, and the released frames left for the caller (from the first
/// one of another tag on, in order).
#[pyfunction]
#[pyo3(signature = (buffer, decoder, tags, mix, row, now))]
fn release_into(
    buffer: &Bound<'_, PyAdaptiveJitterBuffer>,
    decoder: &Bound<'_, PyOpusPcmDecoder>,
    tags: &[u8],
    mix: &Bound<'_, PyMixBuffers>,
    row: usize,
    now: f64,
) -> PyResult<(u64, u64, Vec<PyReleased>)> {
    let py = buffer.py();
    let mut buffer = buffer.borrow_mut();
    let buffer = &mut *buffer;
    let mut decoder = decoder.borrow_mut();
    let decoder = &mut *decoder;
    let mut mix = mix.borrow_mut();
    if row >= mix.inner.rows() {
        return Err(pyo3::exceptions::PyIndexError::new_err(format!(
            "no row {row} in {} rows",
            mix.inner.rows()
        )));
    }
    buffer.released.clear();
    buffer.inner.pop(finite(now)?, &mut buffer.released);
    let (mut decoded, mut concealed) = (0u64, 0u64);
    let mut left = Vec::new();
    for r in buffer.released.drain(..) {
        if !left.is_empty() || !tags.contains(&r.tag) {
            left.push(PyReleased::of(py, &r));
            continue;
        }
        decoder.pcm.clear();
        decoder.frames.clear();
        decoder.inner.decode(
            &r.payload,
            r.timestamp,
            r.discontinuity,
            &mut decoder.pcm,
            &mut decoder.frames,
        );
        for f in &decoder.frames {
            decoded += 1;
            if f.kind == opus_decode::Kind::Plc {
                concealed += 1;
            }
            if f.len > 0 {
                mix.inner
                    .push(row, &decoder.pcm[f.start..f.start + f.len])
                    .map_err(buffer_error)?;
            }
        }
    }
    Ok((decoded, concealed, left))
}

/// Encode one 20 ms frame with `encoder`, wrap it in RED with `red` (None: plain Opus)
/// at `timestamp` (the encoder's own clock), and send it on each of `links` stamped with
/// the matching entry of `timestamps`: a listener's (or a shared encoder's listeners')
/// whole send step of the tick in one call. Returns the payload sent.
#[pyfunction]
#[pyo3(signature = (encoder, samples, red, timestamp, links, timestamps, abs_send_time))]
#[allow(clippy::too_many_arguments)]
fn encode_send<'py>(
    py: Python<'py>,
    encoder: &Bound<'py, PyOpusPcmEncoder>,
    samples: &Bound<'py, PyAny>,
    red: Option<&Bound<'py, PyRedPacker>>,
    timestamp: i64,
    links: Vec<Bound<'py, PyAudioSendLink>>,
    timestamps: Vec<u64>,
    abs_send_time: u64,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    if links.len() != timestamps.len() {
        return Err(value_error(format!(
            "{} links but {} timestamps",
            links.len(),
            timestamps.len()
        )));
    }
    let mut encoder = encoder.borrow_mut();
    let packet = encode_samples(&mut encoder.inner, samples)?;
    let mut red_ref = red.map(|r| r.borrow_mut());
    let payload: &[u8] = match red_ref.as_deref_mut() {
        Some(packer) => {
            let wrapped = timestamp.rem_euclid(1 << 32) as u32;
            packer.inner.wrap(packet, wrapped, &mut packer.out);
            &packer.out
        }
        None => packet,
    };
    for (link, ts) in links.iter().zip(&timestamps) {
        link.borrow_mut()
            .inner
            .send(&[payload], *ts as u32, abs_send_time as u32)
            .map_err(|e| value_error(e.to_string()))?;
    }
    Ok(pyo3::types::PyBytes::new(py, payload))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_mix, m)?)?;
    m.add_function(wrap_pyfunction!(py_mix_minus, m)?)?;
    m.add_function(wrap_pyfunction!(py_soft_knee, m)?)?;
    // Kernel bindings added below register themselves here, one line each.
    m.add_function(wrap_pyfunction!(py_composite_i420, m)?)?;
    m.add_function(wrap_pyfunction!(py_layout_cells, m)?)?;
    m.add_class::<PyCompositor>()?;
    m.add_function(wrap_pyfunction!(py_resample, m)?)?;
    m.add_class::<PyResampler>()?;
    m.add_function(wrap_pyfunction!(py_draw_strokes, m)?)?;
    m.add_class::<PyAhoCorasick>()?;
    m.add_function(wrap_pyfunction!(py_beauty_i420, m)?)?;
    m.add_class::<PySrtpContext>()?;
    m.add_class::<PyAudioSendLink>()?;
    m.add_class::<PyAudioReceiveLink>()?;
    m.add_class::<PyAdaptiveJitterBuffer>()?;
    m.add_class::<PyReleased>()?;
    m.add_class::<PyAudioIntake>()?;
    m.add_class::<PyOpusPcmDecoder>()?;
    m.add_class::<PyOpusPcmEncoder>()?;
    m.add_class::<PyMixBuffers>()?;
    m.add_class::<PyRedPacker>()?;
    m.add_function(wrap_pyfunction!(release_into, m)?)?;
    m.add_function(wrap_pyfunction!(encode_send, m)?)?;
    Ok(())
}
