//! One participant's audio read straight off the connection's UDP socket on the mixing
//! tick: every datagram waiting is read with its kernel arrival time; the participant's
//! audio RTP is unprotected (SRTP) and parsed here, everything else (STUN, DTLS, RTCP,
//! video, other addresses) is handed back for aiortc to handle as before.
//!
//! aiortc reads each datagram through asyncio (an event-loop wake-up), aioice (a STUN
//! parse attempt), a queue and a task, libsrtp through cffi and its RTP parser, all in
//! Python. Here one call per participant and tick drains the socket. The arrival time is
//! the kernel's (`SO_TIMESTAMPNS`), so the jitter buffer measures the network, not the
//! tick that read the packet.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::rtp_send::LinkError;
use crate::srtp::{SrtpContext, SrtpError};

/// The largest datagram read whole (a longer one is dropped, as the kernel truncates it).
pub const MAX_DATAGRAM: usize = 65_536;
const RTP_HEADER: usize = 12;

/// What one datagram was.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// The participant's audio: the RTP header's fields and its payload.
    Audio {
        ssrc: u32,
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: Vec<u8>,
        /// Seconds on the monotonic clock (`CLOCK_MONOTONIC`, Python's `time.monotonic`).
        arrival: f64,
    },
    /// Anything else, as it came, for aiortc.
    Other { data: Vec<u8>, from: SocketAddr },
}

/// An audio packet as the link reads it (its payload borrowed from the link's buffer).
#[derive(Debug, Clone, Copy)]
pub struct AudioPacket<'a> {
    pub ssrc: u32,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: &'a [u8],
    /// Seconds on the monotonic clock.
    pub arrival: f64,
}

impl AudioPacket<'_> {
    fn to_received(self) -> Received {
        Received::Audio {
            ssrc: self.ssrc,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            marker: self.marker,
            payload: self.payload.to_vec(),
            arrival: self.arrival,
        }
    }
}

/// The wall clock minus the monotonic clock, in seconds (Python's
/// `time.time() - time.monotonic()`).
pub fn wall_offset_s() -> f64 {
    realtime_s() - monotonic_s()
}

/// The RTP payload of a plain RTP packet: after the CSRCs and header extension, before
/// the padding; None when the header announces more than the packet holds.
pub fn rtp_payload(packet: &[u8]) -> Option<&[u8]> {
    if packet.len() < RTP_HEADER {
        return None;
    }
    let mut start = RTP_HEADER + 4 * usize::from(packet[0] & 0x0F);
    if packet[0] & 0x10 != 0 {
        let words = packet.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    let mut end = packet.len();
    if packet[0] & 0x20 != 0 {
        let padding = usize::from(*packet.last()?);
        if padding == 0 || padding > end {
            return None;
        }
        end -= padding;
    }
    if start > end {
        return None;
    }
    Some(&packet[start..end])
}

/// Whether a datagram is RTCP rather than RTP (RFC 5761 §4: payload types 64–95 with the
/// marker bit, the range RTCP's packet types take).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && (192..=223).contains(&datagram[1])
}

/// One participant's audio receive side: the socket, the SRTP context and the filter.
pub struct AudioReceiveLink {
    fd: Option<OwnedFd>,
    srtp: SrtpContext,
    remote: SocketAddr,
    audio_types: [bool; 128],
    buffer: Vec<u8>,
    plain: Vec<u8>,
    /// Audio packets read and unprotected.
    pub packets: u64,
    /// Audio packets refused: a replay, too old or malformed (dropped), or not authentic
    /// (handed to aiortc, whose libsrtp state may still read it).
    pub refused: u64,
    /// Datagrams handed back for aiortc.
    pub forwarded: u64,
}

impl AudioReceiveLink {
    /// A link reading `remote`'s audio of `payload_types` on a duplicate of `fd`.
    ///
    /// # Safety
    /// `fd` must be an open UDP socket for the duration of this call.
    pub unsafe fn new(
        fd: RawFd,
        remote: SocketAddr,
        srtp: SrtpContext,
        payload_types: &[u8],
    ) -> Result<Self, LinkError> {
        let mut audio_types = [false; 128];
        for &pt in payload_types {
            if pt > 127 {
                return Err(LinkError::Extension(format!(
                    "payload types are 0–127, got {pt}"
                )));
            }
            audio_types[usize::from(pt)] = true;
        }
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .map_err(LinkError::Socket)?;
        let on: libc::c_int = 1;
        let set = unsafe {
            libc::setsockopt(
                owned.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set != 0 {
            return Err(LinkError::Socket(io::Error::last_os_error()));
        }
        Ok(AudioReceiveLink {
            fd: Some(owned),
            srtp,
            remote,
            audio_types,
            buffer: vec![0; MAX_DATAGRAM],
            plain: Vec::with_capacity(1500),
            packets: 0,
            refused: 0,
            forwarded: 0,
        })
    }

    /// Read every datagram waiting (at most `max`) into `out`; returns how many were read.
    pub fn drain(&mut self, max: usize, out: &mut Vec<Received>) -> usize {
        let mut audio = Vec::new();
        let read = self.drain_each(max, out, |packet| audio.push(packet.to_received()));
        // The audio goes after the rest, as it came (each list keeps its own order).
        out.extend(audio);
        read
    }

    /// Read every datagram waiting (at most `max`): each audio packet goes to `on_audio`
    /// as it is read, everything else into `other`; returns how many were read.
    pub fn drain_each(
        &mut self,
        max: usize,
        other: &mut Vec<Received>,
        mut on_audio: impl FnMut(AudioPacket<'_>),
    ) -> usize {
        let Some(fd) = self.fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return 0;
        };
        // The kernel stamps arrivals on the wall clock; the jitter buffer runs on the
        // monotonic one. Their offset is read once per drain.
        let offset = monotonic_s() - realtime_s();
        let mut read = 0;
        while read < max {
            let Some((len, from, stamp)) = receive(fd, &mut self.buffer) else {
                break;
            };
            read += 1;
            let arrival = stamp.map_or_else(monotonic_s, |wall| wall + offset);
            let datagram = &self.buffer[..len];
            if !self.is_audio(datagram, from) {
                self.forwarded += 1;
                other.push(Received::Other {
                    data: datagram.to_vec(),
                    from,
                });
                continue;
            }
            match self.srtp.unprotect_rtp(datagram, &mut self.plain) {
                Ok(()) => {}
                Err(SrtpError::AuthenticationFailed) => {
                    self.refused += 1;
                    self.forwarded += 1;
                    other.push(Received::Other {
                        data: datagram.to_vec(),
                        from,
                    });
                    continue;
                }
                Err(_) => {
                    self.refused += 1;
                    continue;
                }
            }
            let plain = &self.plain;
            let Some(payload) = rtp_payload(plain) else {
                self.refused += 1;
                continue;
            };
            self.packets += 1;
            on_audio(AudioPacket {
                ssrc: u32::from_be_bytes([plain[8], plain[9], plain[10], plain[11]]),
                payload_type: plain[1] & 0x7F,
                sequence: u16::from_be_bytes([plain[2], plain[3]]),
                timestamp: u32::from_be_bytes([plain[4], plain[5], plain[6], plain[7]]),
                marker: plain[1] & 0x80 != 0,
                payload,
                arrival,
            });
        }
        read
    }

    fn is_audio(&self, datagram: &[u8], from: SocketAddr) -> bool {
        from == self.remote
            && datagram.len() >= RTP_HEADER
            && datagram[0] >> 6 == 2
            && !is_rtcp(datagram)
            && self.audio_types[usize::from(datagram[1] & 0x7F)]
    }

    /// Close the link's descriptor (the connection's socket stays open).
    pub fn close(&mut self) {
        self.fd = None;
    }
}

fn clock_s(clock: libc::clockid_t) -> f64 {
    let mut now: libc::timespec = unsafe { zeroed() };
    unsafe { libc::clock_gettime(clock, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

fn monotonic_s() -> f64 {
    clock_s(libc::CLOCK_MONOTONIC)
}

fn realtime_s() -> f64 {
    clock_s(libc::CLOCK_REALTIME)
}

/// One datagram read without blocking: its length, sender and kernel wall-clock arrival
/// time; None when nothing waits (or the socket failed). A truncated one is skipped.
fn receive(fd: RawFd, buffer: &mut [u8]) -> Option<(usize, SocketAddr, Option<f64>)> {
    loop {
        let mut name: libc::sockaddr_storage = unsafe { zeroed() };
        let mut control = [0u64; 8]; // CMSG_SPACE(sizeof(timespec)), 8-byte aligned
        let mut iov = libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        };
        let mut message: libc::msghdr = unsafe { zeroed() };
        message.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        message.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = size_of::<[u64; 8]>() as _;
        let n = unsafe { libc::recvmsg(fd, &mut message, libc::MSG_DONTWAIT) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return None;
        }
        if message.msg_flags & libc::MSG_TRUNC != 0 {
            continue;
        }
        let Some(from) = socket_address(&name) else {
            continue;
        };
        return Some((n as usize, from, arrival_stamp(&message)));
    }
}

fn arrival_stamp(message: &libc::msghdr) -> Option<f64> {
    let mut header = unsafe { libc::CMSG_FIRSTHDR(message) };
    while !header.is_null() {
        let cmsg = unsafe { &*header };
        if cmsg.cmsg_level == libc::SOL_SOCKET && cmsg.cmsg_type == libc::SCM_TIMESTAMPNS {
            let stamp: libc::timespec =
                unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(header).cast()) };
            return Some(stamp.tv_sec as f64 + stamp.tv_nsec as f64 * 1e-9);
        }
        header = unsafe { libc::CMSG_NXTHDR(message, header) };
    }
    None
}

fn socket_address(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(name.ss_family) {
        libc::AF_INET => {
            let v4: &libc::sockaddr_in =
                unsafe { &*(name as *const libc::sockaddr_storage).cast() };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(v4.sin_port)))
        }
        libc::AF_INET6 => {
            let v6: &libc::sockaddr_in6 =
                unsafe { &*(name as *const libc::sockaddr_storage).cast() };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::new(IpAddr::V6(ip), u16::from_be(v6.sin6_port)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_follows_csrcs_and_extension_and_precedes_padding() {
        let mut packet = vec![0xB1, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        packet.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        packet.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 7, 0, 0]); // one-word extension
        packet.extend_from_slice(b"opus");
        packet.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        assert_eq!(rtp_payload(&packet), Some(&b"opus"[..]));
    }

    #[test]
    fn headers_announcing_more_than_they_hold_have_no_payload() {
        assert_eq!(rtp_payload(&[0x80, 111, 0, 1]), None);
        let csrcs = [0x8F, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4];
        assert_eq!(rtp_payload(&csrcs), None);
        let extension = [0x90, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 9];
        assert_eq!(rtp_payload(&extension), None);
        let padding = [0xA0, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 40];
        assert_eq!(rtp_payload(&padding), None);
        let zero_padding = [0xA0, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 0];
        assert_eq!(rtp_payload(&zero_padding), None);
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_its_second_byte() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 205]));
        assert!(!is_rtcp(&[0x80, 111]));
        assert!(!is_rtcp(&[0x80, 0x80 | 111]));
        assert!(!is_rtcp(&[0x80]));
    }
}
