//! Python bindings of the native kernels (`zhanye_sdk._native`).
//!
//! This is the only file that knows about Python: every kernel lives in its own
//! module with plain slices in and out, so it can be tested and read without pyo3.
//! Bindings check dtypes and shapes (raising `ValueError` that names what was
//! expected), borrow numpy buffers without copying and release the GIL for work
//! large enough to be worth it.

pub mod mix;

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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_mix, m)?)?;
    m.add_function(wrap_pyfunction!(py_mix_minus, m)?)?;
    m.add_function(wrap_pyfunction!(py_soft_knee, m)?)?;
    // Kernel bindings added below register themselves here, one line each.
    Ok(())
}
