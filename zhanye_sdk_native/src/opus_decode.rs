//! A 48 kHz Opus decoder that fills holes: libopus (the system's `libopus.so.0`, loaded
//! at run time) driven the way the Python twin drives it, so both give the same samples.
//!
//! The decoder sees a hole from the RTP timestamps when the next packet arrives. It
//! rebuilds the missing frames from that packet's redundant copies (RED, RFC 2198, when
//! the packets are RED), else the last one from the packet's in-band FEC, and conceals the
//! rest (Opus packet-loss concealment). A gap longer than `MAX_CONCEAL_MS` is a pause (DTX,
//! a muted sender), not loss. RED parsing, the gap arithmetic and the calls into libopus
//! run here in one call per packet, where they were a dozen Python calls.

use std::ffi::{c_int, c_void, CStr};
use std::ptr::NonNull;
use std::sync::OnceLock;

pub const RATE: u32 = 48_000;
/// Samples per channel of a 20 ms frame.
pub const FRAME: u32 = 960;
pub const MAX_CONCEAL_MS: u32 = 200;
/// The most samples per channel one Opus packet decodes to (120 ms).
const MAX_FRAME: usize = 5760;
const TS_HALF: u32 = 1 << 31;

type CreateFn = unsafe extern "C" fn(i32, c_int, *mut c_int) -> *mut c_void;
type DecodeFn = unsafe extern "C" fn(*mut c_void, *const u8, i32, *mut i16, c_int, c_int) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut c_void);

struct Library {
    create: CreateFn,
    decode: DecodeFn,
    destroy: DestroyFn,
}

static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();

fn library() -> Result<&'static Library, String> {
    LIBRARY
        .get_or_init(|| unsafe { load() })
        .as_ref()
        .map_err(Clone::clone)
}

/// # Safety
/// Loads a shared library and reads three of its symbols as libopus's functions.
unsafe fn load() -> Result<Library, String> {
    for name in [c"libopus.so.0", c"libopus.so"] {
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            continue;
        }
        let symbol = |s: &CStr| unsafe { libc::dlsym(handle, s.as_ptr()) };
        let create = symbol(c"opus_decoder_create");
        let decode = symbol(c"opus_decode");
        let destroy = symbol(c"opus_decoder_destroy");
        if create.is_null() || decode.is_null() || destroy.is_null() {
            return Err(format!("{} lacks the Opus decoder", name.to_string_lossy()));
        }
        // SAFETY: these are libopus's exported functions, with these C signatures.
        return Ok(unsafe {
            Library {
                create: std::mem::transmute::<*mut c_void, CreateFn>(create),
                decode: std::mem::transmute::<*mut c_void, DecodeFn>(decode),
                destroy: std::mem::transmute::<*mut c_void, DestroyFn>(destroy),
            }
        });
    }
    Err("libopus (libopus.so.0) was not found".to_string())
}

/// What a decoded frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Decoded from its own packet.
    Received,
    /// Rebuilt from a redundant copy (RED).
    Red,
    /// Rebuilt from the next packet's in-band FEC.
    Fec,
    /// Concealed.
    Plc,
}

/// One decoded frame: where its interleaved samples lie in the output, its timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub start: usize,
    pub len: usize,
    pub timestamp: u32,
    pub kind: Kind,
}

/// A RED payload was truncated or its lengths did not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedRed;

/// A RED payload's redundant blocks (timestamp offset, data), oldest first, and its
/// primary's data.
pub type RedSplit<'a> = (Vec<(u32, &'a [u8])>, &'a [u8]);

/// The redundant blocks and the primary of a RED payload.
pub fn red_split(payload: &[u8]) -> Result<RedSplit<'_>, MalformedRed> {
    let mut headers = Vec::new();
    let mut at = 0;
    loop {
        let first = *payload.get(at).ok_or(MalformedRed)?;
        if first & 0x80 == 0 {
            at += 1;
            break;
        }
        let word = payload.get(at..at + 4).ok_or(MalformedRed)?;
        let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        headers.push(((word >> 10) & 0x3FFF, (word & 0x3FF) as usize));
        at += 4;
    }
    let mut blocks = Vec::with_capacity(headers.len());
    for (offset, length) in headers {
        let data = payload.get(at..at + length).ok_or(MalformedRed)?;
        blocks.push((offset, data));
        at += length;
    }
    Ok((blocks, &payload[at..]))
}

/// One stream's decoder (see the module docs).
pub struct OpusPcmDecoder {
    lib: &'static Library,
    state: NonNull<c_void>,
    pub channels: usize,
    pub red: bool,
    next: Option<u32>,
    pcm: Vec<i16>,
    pub received: u64,
    pub recovered: u64,
    pub concealed: u64,
    pub malformed: u64,
}

// SAFETY: the decoder state is plain memory owned by this value alone; libopus keeps no
// reference to a thread, and only `&mut self` methods touch the state.
unsafe impl Send for OpusPcmDecoder {}
unsafe impl Sync for OpusPcmDecoder {}

impl Drop for OpusPcmDecoder {
    fn drop(&mut self) {
        // SAFETY: the state came from opus_decoder_create and is destroyed once.
        unsafe { (self.lib.destroy)(self.state.as_ptr()) };
    }
}

impl OpusPcmDecoder {
    /// A decoder of `channels` (1 or 2) at 48 kHz; `red`: the packets are RED payloads.
    pub fn new(channels: usize, red: bool) -> Result<Self, String> {
        if channels != 1 && channels != 2 {
            return Err(format!("channels must be 1 or 2, got {channels}"));
        }
        let lib = library()?;
        let mut error: c_int = 0;
        // SAFETY: libopus's constructor, with an out-pointer to a live integer.
        let state = unsafe { (lib.create)(RATE as i32, channels as c_int, &mut error) };
        let state = NonNull::new(state)
            .filter(|_| error == 0)
            .ok_or_else(|| format!("opus_decoder_create failed ({error})"))?;
        Ok(OpusPcmDecoder {
            lib,
            state,
            channels,
            red,
            next: None,
            pcm: vec![0; MAX_FRAME * channels],
            received: 0,
            recovered: 0,
            concealed: 0,
            malformed: 0,
        })
    }

    /// Decode `data` (None: conceal) into `samples` per channel at most, appended to
    /// `out`; the samples per channel decoded (0: nothing).
    fn frame(
        &mut self,
        data: Option<&[u8]>,
        samples: usize,
        fec: bool,
        out: &mut Vec<i16>,
    ) -> usize {
        let (ptr, len) = match data {
            Some(d) if !d.is_empty() => (d.as_ptr(), d.len() as i32),
            _ => (std::ptr::null(), 0),
        };
        // SAFETY: `pcm` holds MAX_FRAME samples per channel and `samples` is at most that.
        let n = unsafe {
            (self.lib.decode)(
                self.state.as_ptr(),
                ptr,
                len,
                self.pcm.as_mut_ptr(),
                samples.min(MAX_FRAME) as c_int,
                c_int::from(fec),
            )
        };
        if n <= 0 {
            return 0;
        }
        let n = n as usize;
        out.extend_from_slice(&self.pcm[..n * self.channels]);
        n
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        data: Option<&[u8]>,
        samples: usize,
        fec: bool,
        at: u32,
        kind: Kind,
        pcm: &mut Vec<i16>,
        frames: &mut Vec<Frame>,
    ) -> Option<u32> {
        let start = pcm.len();
        let n = self.frame(data, samples, fec, pcm);
        if n == 0 {
            return None;
        }
        frames.push(Frame {
            start,
            len: n * self.channels,
            timestamp: at,
            kind,
        });
        Some(n as u32)
    }

    /// Decode one packet, recovering the frames before it that never arrived: from the
    /// packet's redundant copies (RED), else the last one from its in-band FEC, the rest
    /// concealed. `discontinuity`: frames were skipped on purpose before it (the jitter
    /// buffer shrank), not lost. Samples go to `pcm`, the frames' places to `frames`.
    pub fn decode(
        &mut self,
        data: &[u8],
        timestamp: u32,
        discontinuity: bool,
        pcm: &mut Vec<i16>,
        frames: &mut Vec<Frame>,
    ) {
        let mut primary = data;
        let mut redundant: Vec<(u32, &[u8])> = Vec::new();
        if self.red {
            match red_split(data) {
                Ok((blocks, main)) => {
                    primary = main;
                    redundant = blocks
                        .into_iter()
                        .filter(|(_, copy)| !copy.is_empty())
                        .map(|(offset, copy)| (timestamp.wrapping_sub(offset), copy))
                        .collect();
                }
                Err(MalformedRed) => {
                    self.malformed += 1;
                    return;
                }
            }
        }
        if discontinuity {
            self.next = None;
        }
        if let Some(next) = self.next {
            let gap = timestamp.wrapping_sub(next);
            if gap >= TS_HALF {
                return; // late or repeated: its place has been filled already
            }
            if 0 < gap && gap <= MAX_CONCEAL_MS * RATE / 1000 {
                self.fill(primary, next, timestamp, gap, &redundant, pcm, frames);
            }
        }
        if let Some(n) = self.push(
            Some(primary),
            MAX_FRAME,
            false,
            timestamp,
            Kind::Received,
            pcm,
            frames,
        ) {
            self.received += 1;
            self.next = Some(timestamp.wrapping_add(n));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        data: &[u8],
        mut at: u32,
        end: u32,
        gap: u32,
        redundant: &[(u32, &[u8])],
        pcm: &mut Vec<i16>,
        frames: &mut Vec<Frame>,
    ) {
        while at != end && end.wrapping_sub(at) <= gap {
            let left = end.wrapping_sub(at);
            // The last copy of a timestamp wins, as in a dict built in order.
            let copy = redundant
                .iter()
                .rev()
                .find(|(ts, _)| *ts == at)
                .map(|(_, c)| *c);
            let n = if let Some(copy) = copy {
                let n = self.push(Some(copy), MAX_FRAME, false, at, Kind::Red, pcm, frames);
                self.recovered += u64::from(n.is_some());
                n
            } else if left <= FRAME {
                let n = self.push(Some(data), left as usize, true, at, Kind::Fec, pcm, frames);
                self.recovered += u64::from(n.is_some());
                n
            } else {
                let n = self.push(None, FRAME as usize, false, at, Kind::Plc, pcm, frames);
                self.concealed += u64::from(n.is_some());
                n
            };
            let Some(n) = n else { break };
            at = at.wrapping_add(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_blocks_and_primary_are_split_and_truncation_refused() {
        // One block: pt 111, offset 960, length 2; then the primary (pt 111).
        let word: u32 = (1 << 31) | (111 << 24) | (960 << 10) | 2;
        let mut payload = word.to_be_bytes().to_vec();
        payload.extend_from_slice(&[111, 0xAA, 0xBB, 0x01, 0x02, 0x03]);
        let (blocks, primary) = red_split(&payload).unwrap();
        assert_eq!(blocks, vec![(960, &[0xAA, 0xBB][..])]);
        assert_eq!(primary, &[0x01, 0x02, 0x03]);
        assert_eq!(red_split(&payload[..3]), Err(MalformedRed));
        assert_eq!(red_split(&payload[..5]), Err(MalformedRed));
        assert_eq!(red_split(&[]), Err(MalformedRed));
    }
}
