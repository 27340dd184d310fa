//! One listener's mixed audio sent from the mixing tick: RTP packets written as aiortc
//! writes them, protected with SRTP and sent on the connection's UDP socket.
//!
//! aiortc's sender does this in Python for every 20 ms packet (a task wake-up, an
//! `RtpPacket`, its serialisation, libsrtp through cffi, aioice and asyncio's transport).
//! Here the tick hands over the encoded payloads and gets nothing back: the packet is
//! written into a reused buffer, protected in place and sent with one system call. The
//! socket stays asyncio's (it still carries RTCP, STUN and video); the link sends on a
//! duplicate of its descriptor, so a socket closed meanwhile cannot be mistaken for
//! another that reuses the number.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{BorrowedFd, RawFd};

use crate::srtp::{SrtpContext, SrtpError};

/// Packets kept for retransmission (as aiortc's `RTP_HISTORY_SIZE`).
pub const HISTORY: usize = 128;
const RTP_VERSION: u8 = 2;
const ONE_BYTE_PROFILE: u16 = 0xBEDE;
const TWO_BYTE_PROFILE: u16 = 0x1000;

/// The fixed part of one stream's RTP headers: who sends, as what, with which extensions.
#[derive(Debug, Clone)]
pub struct AudioRtpStream {
    pub ssrc: u32,
    pub payload_type: u8,
    /// The sequence number of the next packet.
    pub sequence: u16,
    /// Added to every timestamp the tick gives (the stream's random origin).
    pub timestamp_origin: u32,
    /// The `sdes:mid` extension's id and value, when negotiated.
    pub mid: Option<(u8, Vec<u8>)>,
    /// The `abs-send-time` extension's id, when negotiated.
    pub abs_send_time_id: Option<u8>,
}

impl AudioRtpStream {
    /// Write the next packet of `payload` into `out` (cleared first) and move the
    /// sequence on. `abs_send_time` is the 24-bit 6.18 fixed-point send time.
    pub fn write_packet(
        &mut self,
        payload: &[u8],
        timestamp: u32,
        marker: bool,
        abs_send_time: u32,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        let mut extensions: [(u8, &[u8]); 2] = [(0, &[]); 2];
        let mut count = 0;
        if let Some((id, value)) = &self.mid {
            extensions[count] = (*id, value.as_slice());
            count += 1;
        }
        let send_time = (abs_send_time & 0x00FF_FFFF).to_be_bytes();
        if let Some(id) = self.abs_send_time_id {
            extensions[count] = (id, &send_time[1..]);
            count += 1;
        }
        let extensions = &extensions[..count];
        let has_extension = !extensions.is_empty();
        out.push((RTP_VERSION << 6) | (u8::from(has_extension) << 4));
        out.push((u8::from(marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp_origin.wrapping_add(timestamp).to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        if has_extension {
            write_extensions(extensions, out);
        }
        out.extend_from_slice(payload);
        self.sequence = self.sequence.wrapping_add(1);
    }
}

/// RFC 8285 header extensions as aiortc packs them: the one-byte form when every id is
/// 1–14 and every value 1–16 bytes long, else the two-byte form; zero-padded to 32 bits.
fn write_extensions(extensions: &[(u8, &[u8])], out: &mut Vec<u8>) {
    let one_byte = extensions
        .iter()
        .all(|(id, value)| *id <= 14 && !value.is_empty() && value.len() <= 16);
    let header_at = out.len();
    let profile = if one_byte {
        ONE_BYTE_PROFILE
    } else {
        TWO_BYTE_PROFILE
    };
    out.extend_from_slice(&profile.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let start = out.len();
    for (id, value) in extensions {
        if one_byte {
            out.push((id << 4) | (value.len() as u8 - 1));
        } else {
            out.push(*id);
            out.push(value.len() as u8);
        }
        out.extend_from_slice(value);
    }
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    let words = ((out.len() - start) / 4) as u16;
    out[header_at + 2..header_at + 4].copy_from_slice(&words.to_be_bytes());
}

/// Why a link could not be made.
#[derive(Debug)]
pub enum LinkError {
    Srtp(SrtpError),
    Socket(io::Error),
    Extension(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Srtp(e) => write!(f, "SRTP: {e}"),
            LinkError::Socket(e) => write!(f, "socket: {e}"),
            LinkError::Extension(e) => write!(f, "header extension: {e}"),
        }
    }
}

/// One listener's audio: its RTP stream, its SRTP context and where packets go.
pub struct AudioSendLink {
    stream: AudioRtpStream,
    srtp: SrtpContext,
    /// None once closed.
    socket: Option<UdpSocket>,
    remote: SocketAddr,
    plain: Vec<u8>,
    /// Protected packets by `sequence % HISTORY`, with their sequence numbers.
    history: Vec<(u16, Vec<u8>)>,
    /// Packets and payload bytes sent (aiortc's sender-report counters).
    pub packets_sent: u64,
    pub octets_sent: u64,
    /// The RTP timestamp of the last packet sent.
    pub last_timestamp: u32,
    /// Packets the socket refused (a full send buffer): audio is not queued for later.
    pub send_failures: u64,
}

impl AudioSendLink {
    /// A link sending `stream` through `srtp` to `remote` on a duplicate of `fd`.
    ///
    /// # Safety
    /// `fd` must be an open UDP socket for the duration of this call.
    pub unsafe fn new(
        fd: RawFd,
        remote: SocketAddr,
        stream: AudioRtpStream,
        srtp: SrtpContext,
    ) -> Result<Self, LinkError> {
        if let Some((id, value)) = &stream.mid {
            if *id == 0 || value.len() > 255 {
                return Err(LinkError::Extension(format!(
                    "mid needs an id of 1–255 and at most 255 bytes, got id {id} and {} bytes",
                    value.len()
                )));
            }
        }
        if stream.abs_send_time_id == Some(0) {
            return Err(LinkError::Extension(
                "abs-send-time needs an id of 1–255, got 0".into(),
            ));
        }
        if let (Some((mid_id, _)), Some(send_time_id)) = (&stream.mid, stream.abs_send_time_id) {
            if *mid_id == send_time_id {
                return Err(LinkError::Extension(format!(
                    "mid and abs-send-time need different ids, both got {send_time_id}"
                )));
            }
        }
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .map_err(LinkError::Socket)?;
        let socket = UdpSocket::from(owned);
        socket.set_nonblocking(true).map_err(LinkError::Socket)?;
        Ok(AudioSendLink {
            stream,
            srtp,
            socket: Some(socket),
            remote,
            plain: Vec::with_capacity(1500),
            history: vec![(0, Vec::new()); HISTORY],
            packets_sent: 0,
            octets_sent: 0,
            last_timestamp: 0,
            send_failures: 0,
        })
    }

    /// The stream's sequence number of the next packet.
    pub fn next_sequence(&self) -> u16 {
        self.stream.sequence
    }

    /// Send one tick's payloads stamped `timestamp` (the stream's clock, before its
    /// origin); the last one carries the marker, as aiortc marks it. Returns the packets
    /// the socket took.
    pub fn send(
        &mut self,
        payloads: &[&[u8]],
        timestamp: u32,
        abs_send_time: u32,
    ) -> Result<usize, SrtpError> {
        let mut sent = 0;
        for (i, payload) in payloads.iter().enumerate() {
            let sequence = self.stream.sequence;
            let marker = i + 1 == payloads.len();
            self.stream
                .write_packet(payload, timestamp, marker, abs_send_time, &mut self.plain);
            let slot = &mut self.history[usize::from(sequence) % HISTORY];
            self.srtp.protect_rtp(&self.plain, &mut slot.1)?;
            slot.0 = sequence;
            self.last_timestamp = self.stream.timestamp_origin.wrapping_add(timestamp);
            self.packets_sent += 1;
            self.octets_sent += payload.len() as u64;
            let taken = match &self.socket {
                Some(socket) => socket.send_to(&slot.1, self.remote).is_ok(),
                None => false,
            };
            if taken {
                sent += 1;
            } else {
                self.send_failures += 1;
            }
        }
        Ok(sent)
    }

    /// Send again the packet of `sequence` if it is still kept (a NACK); false if not.
    pub fn retransmit(&mut self, sequence: u16) -> bool {
        let (kept, packet) = &self.history[usize::from(sequence) % HISTORY];
        if *kept != sequence || packet.is_empty() {
            return false;
        }
        let taken = match &self.socket {
            Some(socket) => socket.send_to(packet, self.remote).is_ok(),
            None => false,
        };
        if !taken {
            self.send_failures += 1;
        }
        taken
    }

    /// Close the link's descriptor (the connection's socket stays open); later packets
    /// count as refused.
    pub fn close(&mut self) {
        self.socket = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(mid: Option<(u8, Vec<u8>)>, abs: Option<u8>) -> AudioRtpStream {
        AudioRtpStream {
            ssrc: 0x1122_3344,
            payload_type: 111,
            sequence: 65535,
            timestamp_origin: 0xFFFF_FF00,
            mid,
            abs_send_time_id: abs,
        }
    }

    #[test]
    fn a_packet_without_extensions_is_the_bare_header_and_payload() {
        let mut s = stream(None, None);
        let mut out = Vec::new();
        s.write_packet(b"abc", 0x200, true, 0, &mut out);
        assert_eq!(
            out,
            [
                0x80,
                0x80 | 111,
                0xFF,
                0xFF,
                0,
                0,
                1,
                0,
                0x11,
                0x22,
                0x33,
                0x44,
                b'a',
                b'b',
                b'c'
            ]
        );
        assert_eq!(s.sequence, 0);
    }

    #[test]
    fn mid_and_send_time_use_the_one_byte_form() {
        let mut s = stream(Some((4, b"0".to_vec())), Some(2));
        let mut out = Vec::new();
        s.write_packet(b"", 0, false, 0x0012_3456, &mut out);
        assert_eq!(out[0], 0x90);
        assert_eq!(out[1], 111);
        assert_eq!(
            &out[12..],
            [0xBE, 0xDE, 0, 2, 0x40, b'0', 0x22, 0x12, 0x34, 0x56, 0, 0]
        );
    }

    #[test]
    fn a_long_mid_takes_the_two_byte_form() {
        let mid = vec![b'm'; 17];
        let mut s = stream(Some((3, mid.clone())), None);
        let mut out = Vec::new();
        s.write_packet(b"", 0, false, 0, &mut out);
        assert_eq!(&out[12..14], [0x10, 0x00]);
        assert_eq!(&out[14..16], [0, 5]);
        assert_eq!(&out[16..18], [3, 17]);
        assert_eq!(&out[18..35], mid.as_slice());
        assert_eq!(out.len(), 16 + 20);
    }
}
