//! An Opus encoder for the mixing tick: libopus (the library PyAV ships, or the system's,
//! loaded at run time from the path the caller names) called straight on a listener's
//! int16 samples, the way the Python twin calls it, so both give the same packets.
//!
//! Through PyAV each frame became an `AudioFrame` with a `Fraction` time base, went
//! through FFmpeg's packet queue and came back as a packet object: about 40 µs of Python
//! and FFmpeg around about 250 µs of libopus. The settings are FFmpeg's for the same
//! options (VoIP, 32 kbit/s unconstrained VBR, in-band FEC for a loss percentage, DTX);
//! unlike FFmpeg's encoder, a new loss percentage needs no new encoder. The signal hint
//! (which FFmpeg does not set) can be changed on the running encoder too: "music" makes
//! libopus code with its CELT layer alone, "auto" lets it choose.

use std::collections::HashMap;
use std::ffi::{c_int, c_void, CString};
use std::ptr::NonNull;
use std::sync::Mutex;

pub const RATE: i32 = 48_000;
/// Samples per channel of a 20 ms frame.
pub const FRAME: usize = 960;
/// The largest packet asked of libopus (its own recommendation).
const MAX_PACKET: usize = 4000;

const APPLICATION_VOIP: c_int = 2048;
const SET_BITRATE: c_int = 4002;
const SET_VBR: c_int = 4006;
const SET_COMPLEXITY: c_int = 4010;
const SET_INBAND_FEC: c_int = 4012;
const SET_PACKET_LOSS_PERC: c_int = 4014;
const SET_DTX: c_int = 4016;
const SET_VBR_CONSTRAINT: c_int = 4020;
const SET_SIGNAL: c_int = 4024;

/// libopus's signal hint (`OPUS_SET_SIGNAL`), which steers its choice of coding layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// libopus decides (`OPUS_AUTO`), as FFmpeg leaves it.
    Auto,
    /// Speech: favours the SILK (speech) layer.
    Voice,
    /// Music: favours the CELT (transform) layer; at 32 kbit/s, CELT alone.
    Music,
}

impl Signal {
    /// The hint named `name` ("auto", "voice" or "music").
    pub fn from_name(name: &str) -> Result<Signal, String> {
        match name {
            "auto" => Ok(Signal::Auto),
            "voice" => Ok(Signal::Voice),
            "music" => Ok(Signal::Music),
            _ => Err(format!(
                "signal must be 'auto', 'voice' or 'music', got {name:?}"
            )),
        }
    }

    /// Its name, as `from_name` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Auto => "auto",
            Signal::Voice => "voice",
            Signal::Music => "music",
        }
    }

    fn value(self) -> c_int {
        match self {
            Signal::Auto => -1000,
            Signal::Voice => 3001,
            Signal::Music => 3002,
        }
    }
}

type CreateFn = unsafe extern "C" fn(i32, c_int, c_int, *mut c_int) -> *mut c_void;
type EncodeFn = unsafe extern "C" fn(*mut c_void, *const i16, c_int, *mut u8, i32) -> i32;
type CtlFn = unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut c_void);

struct Library {
    create: CreateFn,
    encode: EncodeFn,
    ctl: CtlFn,
    destroy: DestroyFn,
}

/// Libraries loaded so far, by path (each is loaded once and never unloaded).
static LIBRARIES: Mutex<Option<HashMap<String, &'static Library>>> = Mutex::new(None);

fn library(path: &str) -> Result<&'static Library, String> {
    let mut loaded = LIBRARIES
        .lock()
        .map_err(|_| "the library table is poisoned")?;
    let table = loaded.get_or_insert_with(HashMap::new);
    if let Some(lib) = table.get(path) {
        return Ok(lib);
    }
    // SAFETY: loads the named shared library and reads libopus's encoder functions.
    let lib: &'static Library = Box::leak(Box::new(unsafe { load(path)? }));
    table.insert(path.to_string(), lib);
    Ok(lib)
}

/// # Safety
/// Loads a shared library and reads four of its symbols as libopus's functions.
unsafe fn load(path: &str) -> Result<Library, String> {
    let name = CString::new(path).map_err(|_| format!("a library path with NUL: {path:?}"))?;
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("cannot load {path}"));
    }
    let symbol = |s: &std::ffi::CStr| unsafe { libc::dlsym(handle, s.as_ptr()) };
    let create = symbol(c"opus_encoder_create");
    let encode = symbol(c"opus_encode");
    let ctl = symbol(c"opus_encoder_ctl");
    let destroy = symbol(c"opus_encoder_destroy");
    if create.is_null() || encode.is_null() || ctl.is_null() || destroy.is_null() {
        return Err(format!("{path} lacks the Opus encoder"));
    }
    // SAFETY: these are libopus's exported functions, with these C signatures.
    Ok(unsafe {
        Library {
            create: std::mem::transmute::<*mut c_void, CreateFn>(create),
            encode: std::mem::transmute::<*mut c_void, EncodeFn>(encode),
            ctl: std::mem::transmute::<*mut c_void, CtlFn>(ctl),
            destroy: std::mem::transmute::<*mut c_void, DestroyFn>(destroy),
        }
    })
}

/// How an encoder codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderSettings {
    pub channels: usize,
    pub bitrate: i32,
    /// 0–10; None: FFmpeg's default (10).
    pub complexity: Option<i32>,
    pub fec: bool,
    /// The loss expected, 0–100 (sizes the FEC).
    pub packet_loss: i32,
    pub dtx: bool,
    pub signal: Signal,
}

impl EncoderSettings {
    pub fn check(&self) -> Result<(), String> {
        if self.channels != 1 && self.channels != 2 {
            return Err(format!("channels must be 1 or 2, got {}", self.channels));
        }
        if !(500..=512_000).contains(&self.bitrate) {
            return Err(format!("bitrate must be 500–512000, got {}", self.bitrate));
        }
        if self.complexity.is_some_and(|c| !(0..=10).contains(&c)) {
            return Err(format!(
                "complexity must be 0–10, got {:?}",
                self.complexity
            ));
        }
        if !(0..=100).contains(&self.packet_loss) {
            return Err(format!(
                "packet_loss must be 0–100, got {}",
                self.packet_loss
            ));
        }
        Ok(())
    }
}

/// One listener's (or one shared mix's) encoder.
pub struct OpusPcmEncoder {
    lib: &'static Library,
    state: NonNull<c_void>,
    pub settings: EncoderSettings,
    packet: Vec<u8>,
}

// SAFETY: the encoder state is plain memory owned by this value alone; libopus keeps no
// reference to a thread, and only `&mut self` methods touch the state.
unsafe impl Send for OpusPcmEncoder {}
unsafe impl Sync for OpusPcmEncoder {}

impl Drop for OpusPcmEncoder {
    fn drop(&mut self) {
        // SAFETY: the state came from opus_encoder_create and is destroyed once.
        unsafe { (self.lib.destroy)(self.state.as_ptr()) };
    }
}

impl OpusPcmEncoder {
    /// An encoder of `settings` from the libopus at `library`.
    pub fn new(library_path: &str, settings: EncoderSettings) -> Result<Self, String> {
        settings.check()?;
        let lib = library(library_path)?;
        let mut error: c_int = 0;
        // SAFETY: libopus's constructor, with an out-pointer to a live integer.
        let state = unsafe {
            (lib.create)(
                RATE,
                settings.channels as c_int,
                APPLICATION_VOIP,
                &mut error,
            )
        };
        let state = NonNull::new(state)
            .filter(|_| error == 0)
            .ok_or_else(|| format!("opus_encoder_create failed ({error})"))?;
        let mut encoder = OpusPcmEncoder {
            lib,
            state,
            settings,
            packet: vec![0; MAX_PACKET],
        };
        encoder.ctl(SET_BITRATE, settings.bitrate)?;
        encoder.ctl(SET_VBR, 1)?;
        encoder.ctl(SET_VBR_CONSTRAINT, 0)?;
        encoder.ctl(SET_INBAND_FEC, c_int::from(settings.fec))?;
        encoder.ctl(SET_PACKET_LOSS_PERC, settings.packet_loss)?;
        encoder.ctl(SET_DTX, c_int::from(settings.dtx))?;
        encoder.ctl(SET_COMPLEXITY, settings.complexity.unwrap_or(10))?;
        if settings.signal != Signal::Auto {
            encoder.ctl(SET_SIGNAL, settings.signal.value())?;
        }
        Ok(encoder)
    }

    fn ctl(&mut self, request: c_int, value: c_int) -> Result<(), String> {
        // SAFETY: a setter request of libopus's, with one int argument.
        let status = unsafe { (self.lib.ctl)(self.state.as_ptr(), request, value) };
        if status != 0 {
            return Err(format!(
                "opus_encoder_ctl({request}, {value}) failed ({status})"
            ));
        }
        Ok(())
    }

    /// Size the FEC for `percent` (0–100) loss from the next frame on.
    pub fn set_packet_loss(&mut self, percent: i32) -> Result<(), String> {
        if !(0..=100).contains(&percent) {
            return Err(format!("packet_loss must be 0–100, got {percent}"));
        }
        self.ctl(SET_PACKET_LOSS_PERC, percent)?;
        self.settings.packet_loss = percent;
        Ok(())
    }

    /// Code at `complexity` (0–10) from the next frame on.
    pub fn set_complexity(&mut self, complexity: i32) -> Result<(), String> {
        if !(0..=10).contains(&complexity) {
            return Err(format!("complexity must be 0–10, got {complexity}"));
        }
        self.ctl(SET_COMPLEXITY, complexity)?;
        self.settings.complexity = Some(complexity);
        Ok(())
    }

    /// Give libopus the signal hint `signal` from the next frame on.
    pub fn set_signal(&mut self, signal: Signal) -> Result<(), String> {
        self.ctl(SET_SIGNAL, signal.value())?;
        self.settings.signal = signal;
        Ok(())
    }

    /// Encode one 20 ms frame of interleaved samples; the packet.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<&[u8], String> {
        let channels = self.settings.channels;
        if pcm.len() != FRAME * channels {
            return Err(format!(
                "expected {} samples (20 ms of {channels} channel(s)), got {}",
                FRAME * channels,
                pcm.len()
            ));
        }
        // SAFETY: `pcm` holds FRAME samples per channel; `packet` holds MAX_PACKET bytes.
        let n = unsafe {
            (self.lib.encode)(
                self.state.as_ptr(),
                pcm.as_ptr(),
                FRAME as c_int,
                self.packet.as_mut_ptr(),
                MAX_PACKET as i32,
            )
        };
        if n < 0 {
            return Err(format!("opus_encode failed ({n})"));
        }
        Ok(&self.packet[..n as usize])
    }
}
