//! SRTP protection of RTP packets (not RTCP), bit for bit as libsrtp 2.x does it for aiortc.
//!
//! Profiles: AES_CM_128_HMAC_SHA1_80 (RFC 3711) and AEAD_AES_128_GCM / AEAD_AES_256_GCM
//! (RFC 7714), keyed by one DTLS-SRTP master key and salt per context.
//!
//! # Theory of operation
//!
//! * **Keys.** The session keys are derived once, in [`SrtpContext::new`], with the AES-CM
//!   PRF of RFC 3711 §4.3 (key_derivation_rate 0, so the packet index plays no part):
//!   label 0 gives the cipher key, 1 the HMAC key, 2 the session salt. The PRF uses AES of
//!   the master key's size; the 12-byte GCM master salt is padded with two zero bytes on
//!   the right to the 14 bytes the PRF takes (libsrtp's reading of RFC 7714 §11). The
//!   ciphers are keyed then and kept: no key schedule runs per packet.
//! * **Streams.** One context serves any number of SSRCs, as libsrtp's `ssrc_any_*`
//!   policies do, and keeps two tables of them: streams it protects (created on first
//!   use) and streams it unprotects (created when their first packet authenticates, so a
//!   forger cannot fill the table). All streams share the session keys.
//! * **Index.** Each stream holds the highest 48-bit packet index it has seen (ROC || SEQ)
//!   and a 1024-packet window below it. A packet's index is estimated from its SEQ as RFC
//!   3711 §3.3.1 / Appendix A say, exactly as libsrtp's `srtp_index_guess`: while the
//!   highest index is at most 2^15 the ROC is taken as 0 (no guess of ROC -1), after that
//!   the guess closest to the highest SEQ wins. Both directions estimate the same way;
//!   the sender does not count packets, it follows the SEQ it is given.
//! * **Replay.** A packet whose index is 1024 or more below the highest is refused as too
//!   old, one inside the window already seen as replayed (RFC 3711 §3.3.2). The sending
//!   side lets a repeat through (aiortc sets `allow_repeat_tx`: a retransmission is
//!   protected again under the same index) but still refuses a too-old one. The receiving
//!   side checks the window before authenticating and records the index only after the
//!   packet authenticated: a refused packet changes no state.
//! * **Transforms.** AES-CM: the payload (after CSRCs and header extension) is XORed with
//!   AES-CTR keystream from IV = salt·2^16 ⊕ SSRC·2^64 ⊕ index·2^16, then HMAC-SHA1 over
//!   the whole packet followed by the 32-bit ROC, truncated to 10 bytes, is appended.
//!   AES-GCM: IV = salt ⊕ (0x0000 || SSRC || ROC || SEQ), the RTP header (with CSRCs and
//!   header extension) is the AAD, and the 16-byte tag is appended. Header extensions are
//!   not encrypted (no RFC 6904), the RTP version and padding bits are not looked at.

use std::collections::HashMap;
use std::fmt;

use aes::cipher::{InnerIvInit, KeyInit, KeyIvInit, StreamCipher};
use aes::{Aes128, Aes256};
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use hmac::{Hmac, Mac};
use sha1::Sha1;

type Aes128Ctr = ctr::Ctr128BE<Aes128>;
type Aes256Ctr = ctr::Ctr128BE<Aes256>;
type HmacSha1 = Hmac<Sha1>;

/// The fixed RTP header: V/P/X/CC, M/PT, SEQ, timestamp, SSRC.
const RTP_HEADER_LEN: usize = 12;
/// Packets remembered below the highest index (aiortc's `window_size`).
pub const REPLAY_WINDOW: usize = 1024;
const WINDOW_WORDS: usize = REPLAY_WINDOW / 64;
/// Below this highest index the ROC is assumed to be 0 (libsrtp's `seq_num_median`).
const SEQ_MEDIAN: i32 = 1 << 15;
const SEQ_SPAN: i32 = 1 << 16;

const LABEL_RTP_ENCRYPTION: u8 = 0x00;
const LABEL_RTP_AUTHENTICATION: u8 = 0x01;
const LABEL_RTP_SALT: u8 = 0x02;

const HMAC_SHA1_KEY_LEN: usize = 20;
const CM_SALT_LEN: usize = 14;
const GCM_SALT_LEN: usize = 12;

/// An SRTP protection profile, named as OpenSSL and RFC 5764 name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// AES-128 counter mode with a 80-bit HMAC-SHA1 tag (RFC 3711).
    Aes128CmSha1_80,
    /// AES-128 GCM with a 128-bit tag (RFC 7714).
    AeadAes128Gcm,
    /// AES-256 GCM with a 128-bit tag (RFC 7714).
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Every profile, in the order they are listed in messages.
    pub const ALL: [SrtpProfile; 3] = [
        SrtpProfile::Aes128CmSha1_80,
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
    ];

    /// The profile of an OpenSSL name (`"SRTP_AES128_CM_SHA1_80"`, `"SRTP_AEAD_AES_128_GCM"`,
    /// `"SRTP_AEAD_AES_256_GCM"`), or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The OpenSSL name of the profile.
    pub fn name(self) -> &'static str {
        match self {
            SrtpProfile::Aes128CmSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }

    /// Bytes of master key.
    pub fn master_key_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmSha1_80 | SrtpProfile::AeadAes128Gcm => 16,
            SrtpProfile::AeadAes256Gcm => 32,
        }
    }

    /// Bytes of master salt.
    pub fn master_salt_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmSha1_80 => CM_SALT_LEN,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => GCM_SALT_LEN,
        }
    }

    /// Bytes of master key followed by master salt that [`SrtpContext::new`] takes.
    pub fn key_and_salt_len(self) -> usize {
        self.master_key_len() + self.master_salt_len()
    }

    /// Bytes the protection adds to a packet (the authentication tag).
    pub fn tag_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmSha1_80 => 10,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 16,
        }
    }
}

impl fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key or a packet was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrtpError {
    /// The master key and salt are not of the profile's length.
    BadKeyLength {
        profile: SrtpProfile,
        expected: usize,
        got: usize,
    },
    /// Shorter than the 12-byte fixed RTP header.
    TooShort { len: usize },
    /// The CSRC list or the header extension the header announces runs past the end.
    Malformed,
    /// An SRTP packet with no room for its tag after the RTP header.
    MissingTag { tag_len: usize },
    /// The tag does not match: altered, or protected under another key or index.
    AuthenticationFailed,
    /// This SSRC's packet with this index was already received.
    Replayed,
    /// The index is 1024 or more below the highest one of its SSRC.
    TooOld,
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrtpError::BadKeyLength {
                profile,
                expected,
                got,
            } => write!(
                f,
                "{profile} takes a master key and salt of {expected} bytes ({} + {}), got {got}",
                profile.master_key_len(),
                profile.master_salt_len()
            ),
            SrtpError::TooShort { len } => write!(
                f,
                "an RTP packet is at least {RTP_HEADER_LEN} bytes (the fixed header), got {len}"
            ),
            SrtpError::Malformed => f.write_str(
                "malformed RTP packet: its CSRC list or header extension runs past its end",
            ),
            SrtpError::MissingTag { tag_len } => write!(
                f,
                "SRTP packet too short: no room for its {tag_len}-byte authentication tag \
                 after the RTP header"
            ),
            SrtpError::AuthenticationFailed => f.write_str(
                "SRTP authentication failed: the packet was altered or protected with \
                 another key",
            ),
            SrtpError::Replayed => {
                f.write_str("SRTP replay: a packet with this SSRC and index was already received")
            }
            SrtpError::TooOld => write!(
                f,
                "SRTP packet too old: its index is {REPLAY_WINDOW} or more behind the newest \
                 packet of its SSRC"
            ),
        }
    }
}

impl std::error::Error for SrtpError {}

/// Where the payload starts, and the fields the transforms need.
struct RtpHeader {
    len: usize,
    ssrc: u32,
    seq: u16,
}

/// Reads the header as libsrtp's `srtp_validate_rtp_header` does: only lengths are checked.
fn parse_header(packet: &[u8]) -> Result<RtpHeader, SrtpError> {
    if packet.len() < RTP_HEADER_LEN {
        return Err(SrtpError::TooShort { len: packet.len() });
    }
    let csrc_count = usize::from(packet[0] & 0x0f);
    let mut len = RTP_HEADER_LEN + 4 * csrc_count;
    if packet.len() < len {
        return Err(SrtpError::Malformed);
    }
    if packet[0] & 0x10 != 0 {
        // 16 bits "defined by profile", then the length in 32-bit words after these 4 bytes.
        let words = packet
            .get(len + 2..len + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or(SrtpError::Malformed)?;
        len += 4 + 4 * words;
        if packet.len() < len {
            return Err(SrtpError::Malformed);
        }
    }
    Ok(RtpHeader {
        len,
        ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        seq: u16::from_be_bytes([packet[2], packet[3]]),
    })
}

/// The highest index of one SSRC and the replay window below it.
#[derive(Clone)]
struct Stream {
    /// Highest 48-bit index (ROC << 16 | SEQ) seen, 0 before the first packet.
    index: u64,
    /// Bit `k` (word `k / 64`, bit `k % 64`): the packet `index - k` was seen.
    seen: [u64; WINDOW_WORDS],
}

impl Stream {
    const NEW: Stream = Stream {
        index: 0,
        seen: [0; WINDOW_WORDS],
    };

    /// The packet index for `seq` and its distance from the highest index (RFC 3711 App. A,
    /// as libsrtp's `srtp_rdbx_estimate_index` computes it).
    fn estimate(&self, seq: u16) -> (u64, i32) {
        let s = i32::from(seq);
        if self.index <= SEQ_MEDIAN as u64 {
            return (u64::from(seq), s - i32::from(self.index as u16));
        }
        let local_roc = (self.index >> 16) as u32;
        let local_seq = i32::from(self.index as u16);
        let (roc, delta) = if local_seq < SEQ_MEDIAN {
            if s - local_seq > SEQ_MEDIAN {
                (local_roc.wrapping_sub(1), s - local_seq - SEQ_SPAN)
            } else {
                (local_roc, s - local_seq)
            }
        } else if local_seq - SEQ_MEDIAN > s {
            (local_roc.wrapping_add(1), s - local_seq + SEQ_SPAN)
        } else {
            (local_roc, s - local_seq)
        };
        ((u64::from(roc) << 16) | u64::from(seq), delta)
    }

    fn check(&self, delta: i32) -> Result<(), SrtpError> {
        if delta > 0 {
            return Ok(());
        }
        let back = delta.unsigned_abs() as usize;
        if back >= REPLAY_WINDOW {
            Err(SrtpError::TooOld)
        } else if self.seen[back / 64] >> (back % 64) & 1 == 1 {
            Err(SrtpError::Replayed)
        } else {
            Ok(())
        }
    }

    fn record(&mut self, delta: i32) {
        if delta > 0 {
            // delta never exceeds 65535: estimate() keeps it within one SEQ span.
            self.index = self.index.wrapping_add(u64::from(delta as u16));
            self.slide(delta as usize);
            self.seen[0] |= 1;
        } else {
            let back = delta.unsigned_abs() as usize;
            self.seen[back / 64] |= 1 << (back % 64);
        }
    }

    /// Moves every bit `k` to `k + by`, dropping those that leave the window.
    fn slide(&mut self, by: usize) {
        if by >= REPLAY_WINDOW {
            self.seen = [0; WINDOW_WORDS];
            return;
        }
        let (words, bits) = (by / 64, by % 64);
        for i in (0..WINDOW_WORDS).rev() {
            let high = if i >= words { self.seen[i - words] } else { 0 };
            let low = if bits != 0 && i > words {
                self.seen[i - words - 1] >> (64 - bits)
            } else {
                0
            };
            self.seen[i] = if bits == 0 {
                high
            } else {
                (high << bits) | low
            };
        }
    }
}

/// The RFC 3711 §4.3 AES-CM PRF with key_derivation_rate 0: `out` is the keystream of AES
/// keyed with `master_key` from counter (master_salt padded to 14 bytes, label XORed into
/// byte 7) || 0x0000.
fn derive(profile: SrtpProfile, master_key: &[u8], master_salt: &[u8], label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label;
    out.fill(0);
    match profile {
        SrtpProfile::Aes128CmSha1_80 | SrtpProfile::AeadAes128Gcm => {
            Aes128Ctr::new(master_key.into(), &iv.into()).apply_keystream(out)
        }
        SrtpProfile::AeadAes256Gcm => {
            Aes256Ctr::new(master_key.into(), &iv.into()).apply_keystream(out)
        }
    }
}

/// The keyed ciphers of a context, shared by all its streams.
enum Transform {
    CmSha1 {
        cipher: Aes128,
        salt: [u8; CM_SALT_LEN],
        mac: HmacSha1,
    },
    Gcm128 {
        aead: Aes128Gcm,
        salt: [u8; GCM_SALT_LEN],
    },
    Gcm256 {
        aead: Aes256Gcm,
        salt: [u8; GCM_SALT_LEN],
    },
}

impl Transform {
    /// Keys the ciphers with session keys (already derived).
    fn new(profile: SrtpProfile, key: &[u8], salt: &[u8], auth_key: &[u8]) -> Transform {
        match profile {
            SrtpProfile::Aes128CmSha1_80 => Transform::CmSha1 {
                cipher: Aes128::new(key.into()),
                salt: salt.try_into().expect("a 14-byte session salt"),
                mac: <HmacSha1 as Mac>::new_from_slice(auth_key)
                    .expect("HMAC takes a key of any length"),
            },
            SrtpProfile::AeadAes128Gcm => Transform::Gcm128 {
                aead: Aes128Gcm::new(key.into()),
                salt: salt.try_into().expect("a 12-byte session salt"),
            },
            SrtpProfile::AeadAes256Gcm => Transform::Gcm256 {
                aead: Aes256Gcm::new(key.into()),
                salt: salt.try_into().expect("a 12-byte session salt"),
            },
        }
    }

    /// Encrypts `packet[header_len..]` in place and appends the tag.
    fn seal(&self, packet: &mut Vec<u8>, header_len: usize, ssrc: u32, index: u64) {
        match self {
            Transform::CmSha1 { cipher, salt, mac } => {
                cm_keystream(cipher, salt, ssrc, index).apply_keystream(&mut packet[header_len..]);
                let tag = cm_tag(mac, packet, index);
                packet.extend_from_slice(&tag[..10]);
            }
            Transform::Gcm128 { aead, salt } => gcm_seal(aead, salt, packet, header_len, index),
            Transform::Gcm256 { aead, salt } => gcm_seal(aead, salt, packet, header_len, index),
        }
    }

    /// Checks `tag` against `packet` (the SRTP packet without its tag), then decrypts
    /// `packet[header_len..]` in place.
    fn open(
        &self,
        packet: &mut [u8],
        header_len: usize,
        tag: &[u8],
        ssrc: u32,
        index: u64,
    ) -> Result<(), SrtpError> {
        match self {
            Transform::CmSha1 { cipher, salt, mac } => {
                let mut check = mac.clone();
                check.update(packet);
                check.update(&roc(index).to_be_bytes());
                check
                    .verify_truncated_left(tag)
                    .map_err(|_| SrtpError::AuthenticationFailed)?;
                cm_keystream(cipher, salt, ssrc, index).apply_keystream(&mut packet[header_len..]);
                Ok(())
            }
            Transform::Gcm128 { aead, salt } => {
                gcm_open(aead, salt, packet, header_len, tag, index)
            }
            Transform::Gcm256 { aead, salt } => {
                gcm_open(aead, salt, packet, header_len, tag, index)
            }
        }
    }
}

fn roc(index: u64) -> u32 {
    (index >> 16) as u32
}

/// RFC 3711 §4.1.1: the counter starts at salt·2^16 ⊕ SSRC·2^64 ⊕ index·2^16.
fn cm_keystream(cipher: &Aes128, salt: &[u8; CM_SALT_LEN], ssrc: u32, index: u64) -> Aes128Ctr {
    let mut iv = [0u8; 16];
    iv[..CM_SALT_LEN].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *b ^= s;
    }
    // The key schedule is copied, not recomputed.
    Aes128Ctr::from_core(ctr::CtrCore::inner_iv_init(cipher.clone(), &iv.into()))
}

/// RFC 3711 §4.2: HMAC-SHA1 over the packet, then the ROC (the caller truncates to 80 bits).
fn cm_tag(mac: &HmacSha1, packet: &[u8], index: u64) -> [u8; 20] {
    let mut tag = mac.clone();
    tag.update(packet);
    tag.update(&roc(index).to_be_bytes());
    tag.finalize().into_bytes().into()
}

/// RFC 7714 §8.1: IV = salt ⊕ (0x0000 || SSRC || ROC || SEQ).
fn gcm_nonce(salt: &[u8; GCM_SALT_LEN], packet: &[u8], index: u64) -> GenericArray<u8, U12> {
    let mut iv = [0u8; GCM_SALT_LEN];
    iv[2..6].copy_from_slice(&packet[8..12]);
    iv[6..12].copy_from_slice(&index.to_be_bytes()[2..]);
    for (b, s) in iv.iter_mut().zip(salt) {
        *b ^= s;
    }
    iv.into()
}

fn gcm_seal<A: AeadInPlace<NonceSize = U12, TagSize = U16>>(
    aead: &A,
    salt: &[u8; GCM_SALT_LEN],
    packet: &mut Vec<u8>,
    header_len: usize,
    index: u64,
) {
    let nonce = gcm_nonce(salt, packet, index);
    let (header, payload) = packet.split_at_mut(header_len);
    // GCM refuses only plaintexts over 64 GiB, which no Vec of an RTP packet reaches.
    let tag = aead
        .encrypt_in_place_detached(&nonce, header, payload)
        .expect("an RTP payload is far below GCM's 64 GiB limit");
    packet.extend_from_slice(&tag);
}

fn gcm_open<A: AeadInPlace<NonceSize = U12, TagSize = U16>>(
    aead: &A,
    salt: &[u8; GCM_SALT_LEN],
    packet: &mut [u8],
    header_len: usize,
    tag: &[u8],
    index: u64,
) -> Result<(), SrtpError> {
    let nonce = gcm_nonce(salt, packet, index);
    let (header, payload) = packet.split_at_mut(header_len);
    aead.decrypt_in_place_detached(&nonce, header, payload, GenericArray::from_slice(tag))
        .map_err(|_| SrtpError::AuthenticationFailed)
}

/// SRTP for the RTP packets of any number of SSRCs under one master key and salt.
///
/// `protect_rtp` and `unprotect_rtp` keep separate streams (one context can stand for the
/// two libsrtp sessions aiortc makes per direction, or for one of them).
pub struct SrtpContext {
    profile: SrtpProfile,
    transform: Transform,
    outbound: HashMap<u32, Stream>,
    inbound: HashMap<u32, Stream>,
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No key material in logs.
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("outbound_streams", &self.outbound.len())
            .field("inbound_streams", &self.inbound.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// A context for `profile` keyed with the master key followed by the master salt.
    ///
    /// Errors: [`SrtpError::BadKeyLength`] unless `key_and_salt` is exactly
    /// [`SrtpProfile::key_and_salt_len`] bytes.
    pub fn new(profile: SrtpProfile, key_and_salt: &[u8]) -> Result<Self, SrtpError> {
        let expected = profile.key_and_salt_len();
        if key_and_salt.len() != expected {
            return Err(SrtpError::BadKeyLength {
                profile,
                expected,
                got: key_and_salt.len(),
            });
        }
        let (master_key, master_salt) = key_and_salt.split_at(profile.master_key_len());
        let mut key = [0u8; 32];
        let key = &mut key[..profile.master_key_len()];
        let mut salt = [0u8; CM_SALT_LEN];
        let salt = &mut salt[..profile.master_salt_len()];
        let mut auth_key = [0u8; HMAC_SHA1_KEY_LEN];
        derive(profile, master_key, master_salt, LABEL_RTP_ENCRYPTION, key);
        derive(profile, master_key, master_salt, LABEL_RTP_SALT, salt);
        let auth_key: &[u8] = if profile == SrtpProfile::Aes128CmSha1_80 {
            derive(
                profile,
                master_key,
                master_salt,
                LABEL_RTP_AUTHENTICATION,
                &mut auth_key,
            );
            &auth_key
        } else {
            &[]
        };
        let transform = Transform::new(profile, key, salt, auth_key);
        Ok(SrtpContext {
            profile,
            transform,
            outbound: HashMap::new(),
            inbound: HashMap::new(),
        })
    }

    /// The profile this context was made for.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Protects one RTP packet: `out` is cleared, then receives the SRTP packet (the packet
    /// with its payload encrypted and the tag appended). Once `out` has the capacity of a
    /// packet plus its tag, no memory is allocated (a new SSRC allocates its stream once).
    ///
    /// Errors: [`SrtpError::TooShort`] or [`SrtpError::Malformed`] for a packet that is not
    /// RTP; [`SrtpError::TooOld`] when its SEQ is 1024 or more behind the SSRC's newest (a
    /// repeat of a recent SEQ is protected again under the same index).
    pub fn protect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        out.clear();
        let header = parse_header(packet)?;
        let stream = self.outbound.entry(header.ssrc).or_insert(Stream::NEW);
        let (index, delta) = stream.estimate(header.seq);
        match stream.check(delta) {
            Ok(()) => stream.record(delta),
            Err(SrtpError::Replayed) => {}
            Err(err) => return Err(err),
        }
        out.reserve(packet.len() + self.profile.tag_len());
        out.extend_from_slice(packet);
        self.transform.seal(out, header.len, header.ssrc, index);
        Ok(())
    }

    /// Unprotects one SRTP packet: `out` is cleared, then receives the RTP packet. A refused
    /// packet leaves `out` empty and the context as it was.
    ///
    /// Errors: [`SrtpError::TooShort`], [`SrtpError::Malformed`] or
    /// [`SrtpError::MissingTag`] for a packet that is not SRTP; [`SrtpError::Replayed`] and
    /// [`SrtpError::TooOld`] from the replay window (checked first, as libsrtp does);
    /// [`SrtpError::AuthenticationFailed`].
    pub fn unprotect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        out.clear();
        let header = parse_header(packet)?;
        let stream = self.inbound.get(&header.ssrc).unwrap_or(&Stream::NEW);
        let (index, delta) = stream.estimate(header.seq);
        stream.check(delta)?;
        let tag_len = self.profile.tag_len();
        let Some(body_len) = packet
            .len()
            .checked_sub(tag_len)
            .filter(|&n| n >= header.len)
        else {
            return Err(SrtpError::MissingTag { tag_len });
        };
        let (body, tag) = packet.split_at(body_len);
        out.extend_from_slice(body);
        if let Err(err) = self
            .transform
            .open(out, header.len, tag, header.ssrc, index)
        {
            out.clear();
            return Err(err);
        }
        self.inbound
            .entry(header.ssrc)
            .or_insert(Stream::NEW)
            .record(delta);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut packet = vec![0x80, 0x60];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        packet.extend_from_slice(&ssrc.to_be_bytes());
        packet.extend_from_slice(payload);
        packet
    }

    fn key_for(profile: SrtpProfile, fill: u8) -> Vec<u8> {
        (0..profile.key_and_salt_len())
            .map(|i| fill.wrapping_add(i as u8))
            .collect()
    }

    fn protect(ctx: &mut SrtpContext, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let mut out = Vec::new();
        ctx.protect_rtp(packet, &mut out).map(|()| out)
    }

    fn unprotect(ctx: &mut SrtpContext, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let mut out = Vec::new();
        ctx.unprotect_rtp(packet, &mut out).map(|()| out)
    }

    // RFC 3711 Appendix B.2: the AES-CM keystream, SSRC and index 0.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
        let salt: [u8; 14] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let cipher = Aes128::new(key.as_slice().into());
        let mut stream = vec![0u8; 0xff02 * 16];
        cm_keystream(&cipher, &salt, 0, 0).apply_keystream(&mut stream);
        let expected = hex(
            "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB
             41E95B3BB0A2E8DD477901E4FCA894C0",
        );
        assert_eq!(stream[..48], expected[..]);
        let tail = hex(
            "EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE
             6A2CC3787889374FBEB4C81B17BA6C44",
        );
        assert_eq!(stream[0xfeff * 16..], tail[..]);
    }

    // RFC 3711 Appendix B.3: key derivation, key_derivation_rate 0.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let cm = SrtpProfile::Aes128CmSha1_80;
        let mut key = [0u8; 16];
        derive(
            cm,
            &master_key,
            &master_salt,
            LABEL_RTP_ENCRYPTION,
            &mut key,
        );
        assert_eq!(key[..], hex("C61E7A93744F39EE10734AFE3FF7A087")[..]);
        let mut salt = [0u8; 14];
        derive(cm, &master_key, &master_salt, LABEL_RTP_SALT, &mut salt);
        assert_eq!(salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);
        let mut auth = [0u8; 94];
        derive(
            cm,
            &master_key,
            &master_salt,
            LABEL_RTP_AUTHENTICATION,
            &mut auth,
        );
        let expected = hex(
            "CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2",
        );
        assert_eq!(auth[..], expected[..]);
    }

    const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
         20646976 69736120 696e2070 61727465 73207472 6573";

    // RFC 7714 §16.1 and §16.2: the AEAD transforms under the RFC's session key and salt
    // (the RFC gives no key derivation vectors for GCM; libsrtp's are below).
    #[test]
    fn rfc7714_16_aead_vectors() {
        let salt = hex("517569642070726f2071756f");
        let cases = [
            (
                SrtpProfile::AeadAes128Gcm,
                "000102030405060708090a0b0c0d0e0f",
                "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b
                 36de3adf8833 899d7f27beb16a9152cf765ee4390cce",
            ),
            (
                SrtpProfile::AeadAes256Gcm,
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f
                 1ba63799b87b 7aa3db36dfffd6b0f9bb7878d7a76c13",
            ),
        ];
        for (profile, key, protected) in cases {
            let transform = Transform::new(profile, &hex(key), &salt, &[]);
            let plain = hex(RFC7714_RTP);
            let mut packet = plain.clone();
            transform.seal(&mut packet, 12, 0x5501a0b2, 0xf17b);
            let mut expected = plain[..12].to_vec();
            expected.extend(hex(protected));
            assert_eq!(packet, expected, "{profile}");
            let (body, tag) = packet.split_at_mut(plain.len());
            transform.open(body, 12, tag, 0x5501a0b2, 0xf17b).unwrap();
            assert_eq!(body, &plain[..]);
        }
    }

    // libsrtp's own known answer (srtp_validate): AES-CM from the B.3 master key.
    #[test]
    fn libsrtp_aes_cm_known_answer() {
        let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6");
        let mut ctx = SrtpContext::new(SrtpProfile::Aes128CmSha1_80, &key).unwrap();
        let plain = hex("800f1234 decafbad cafebabe abababab abababab abababab abababab");
        let expected = hex(
            "800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402
             b78d6acc 99ea179b 8dbb",
        );
        assert_eq!(protect(&mut ctx, &plain).unwrap(), expected);
        assert_eq!(unprotect(&mut ctx, &expected).unwrap(), plain);
    }

    // GCM key derivation (12-byte salt padded to 14), as computed by libsrtp 2.7.0 through
    // pylibsrtp for the RFC 7714 packet under master key 00 01 .. and salt a0 .. ab.
    #[test]
    fn libsrtp_aead_known_answers() {
        let cases = [
            (
                SrtpProfile::AeadAes128Gcm,
                "56fd13d16ae124e495bd52cb9d53c8e0cdc3ef460b1af1bc07036df11f554003
                 b9a2ca04074f31dab216ff9c760886ccad1ea77f21e3",
            ),
            (
                SrtpProfile::AeadAes256Gcm,
                "957960bab41213d85ec9a2e9c256cbd9dd4723d6951a67507a00e18a3899db6b
                 9f7e1775a4dcf349ca95492af0d3c84a9c40e9f9dca9",
            ),
        ];
        for (profile, protected) in cases {
            let mut key: Vec<u8> = (0..profile.master_key_len() as u8).collect();
            key.extend(hex("a0a1a2a3a4a5a6a7a8a9aaab"));
            let mut ctx = SrtpContext::new(profile, &key).unwrap();
            let plain = hex(RFC7714_RTP);
            let mut expected = plain[..12].to_vec();
            expected.extend(hex(protected));
            assert_eq!(protect(&mut ctx, &plain).unwrap(), expected, "{profile}");
            assert_eq!(unprotect(&mut ctx, &expected).unwrap(), plain);
        }
    }

    #[test]
    fn profiles_are_found_by_their_openssl_names() {
        for profile in SrtpProfile::ALL {
            assert_eq!(SrtpProfile::from_name(profile.name()), Some(profile));
        }
        assert_eq!(SrtpProfile::from_name("SRTP_AES128_CM_SHA1_32"), None);
        assert_eq!(SrtpProfile::AeadAes256Gcm.key_and_salt_len(), 44);
    }

    #[test]
    fn a_key_of_another_length_is_refused_naming_the_expected_one() {
        let err = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &[0; 30]).unwrap_err();
        assert_eq!(
            err,
            SrtpError::BadKeyLength {
                profile: SrtpProfile::AeadAes128Gcm,
                expected: 28,
                got: 30
            }
        );
        assert!(err.to_string().contains("28 bytes"), "{err}");
    }

    #[test]
    fn round_trips_with_csrcs_and_header_extensions_for_every_profile() {
        for profile in SrtpProfile::ALL {
            let key = key_for(profile, 7);
            let (mut tx, mut rx) = (
                SrtpContext::new(profile, &key).unwrap(),
                SrtpContext::new(profile, &key).unwrap(),
            );
            let mut packet = rtp(100, 0xdead_beef, &[]);
            packet[0] |= 0x10 | 2;
            packet.splice(12..12, [1, 2, 3, 4, 5, 6, 7, 8]);
            packet.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
            for payload_len in [0, 1, 15, 16, 17, 160, 1200] {
                let mut p = packet.clone();
                p[3] = payload_len as u8;
                p.extend((0..payload_len).map(|i| i as u8));
                let protected = protect(&mut tx, &p).unwrap();
                assert_eq!(protected.len(), p.len() + profile.tag_len());
                assert_eq!(protected[..28], p[..28], "the header stays clear");
                assert_eq!(unprotect(&mut rx, &protected).unwrap(), p);
            }
        }
    }

    #[test]
    fn the_rollover_counter_advances_when_seq_wraps() {
        for profile in SrtpProfile::ALL {
            let key = key_for(profile, 1);
            let mut tx = SrtpContext::new(profile, &key).unwrap();
            let mut rx = SrtpContext::new(profile, &key).unwrap();
            let mut protected = Vec::new();
            for seq in [65533u16, 65534, 65535, 0, 1, 2] {
                protected.push((seq, protect(&mut tx, &rtp(seq, 9, b"voice")).unwrap()));
            }
            assert_eq!(tx.outbound[&9].index, (1 << 16) | 2);
            // Packets after the wrap are keyed with ROC 1: once the receiver has seen a
            // packet before the wrap, it takes them in any order within the window.
            let (first, rest) = protected.split_first().unwrap();
            assert_eq!(
                unprotect(&mut rx, &first.1).unwrap(),
                rtp(first.0, 9, b"voice")
            );
            for &(seq, ref p) in rest.iter().rev() {
                assert_eq!(unprotect(&mut rx, p).unwrap(), rtp(seq, 9, b"voice"));
            }
            assert_eq!(rx.inbound[&9].index, (1 << 16) | 2);
        }
    }

    #[test]
    fn the_index_estimate_follows_libsrtp() {
        let mut stream = Stream::NEW;
        // While the highest index is at most 2^15, the ROC is 0.
        assert_eq!(stream.estimate(65000), (65000, 65000));
        stream.record(40000);
        assert_eq!(stream.estimate(39000), (39000, -1000));
        assert_eq!(stream.estimate(100), ((1 << 16) | 100, 100 - 40000 + 65536));
        stream.index = (5 << 16) | 10;
        assert_eq!(
            stream.estimate(65530),
            ((4 << 16) | 65530, 65530 - 10 - 65536)
        );
    }

    #[test]
    fn replays_and_too_old_packets_are_refused_and_reordering_is_accepted() {
        let profile = SrtpProfile::Aes128CmSha1_80;
        let key = key_for(profile, 3);
        let mut tx = SrtpContext::new(profile, &key).unwrap();
        let mut rx = SrtpContext::new(profile, &key).unwrap();
        let packets: Vec<Vec<u8>> = (0..1100u16)
            .map(|seq| protect(&mut tx, &rtp(seq, 5, &[seq as u8; 20])).unwrap())
            .collect();
        unprotect(&mut rx, &packets[1099]).unwrap();
        assert_eq!(unprotect(&mut rx, &packets[1099]), Err(SrtpError::Replayed));
        unprotect(&mut rx, &packets[1099 - 1023]).unwrap();
        assert_eq!(
            unprotect(&mut rx, &packets[1099 - 1024]),
            Err(SrtpError::TooOld)
        );
        unprotect(&mut rx, &packets[1050]).unwrap();
        assert_eq!(unprotect(&mut rx, &packets[1050]), Err(SrtpError::Replayed));
        // The sender protects a repeat again, identically, but not a packet out of its window.
        assert_eq!(
            protect(&mut tx, &rtp(1050, 5, &[1050u16 as u8; 20])).unwrap(),
            packets[1050]
        );
        assert_eq!(protect(&mut tx, &rtp(10, 5, &[])), Err(SrtpError::TooOld));
    }

    #[test]
    fn a_tampered_packet_is_refused_and_changes_nothing() {
        for profile in SrtpProfile::ALL {
            let key = key_for(profile, 11);
            let mut tx = SrtpContext::new(profile, &key).unwrap();
            let mut rx = SrtpContext::new(profile, &key).unwrap();
            let first = protect(&mut tx, &rtp(70, 1, b"hello")).unwrap();
            let second = protect(&mut tx, &rtp(71, 1, b"hello")).unwrap();
            unprotect(&mut rx, &first).unwrap();
            for bit in 0..second.len() * 8 {
                let mut bad = second.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                let before = (rx.inbound[&1].index, rx.inbound[&1].seen, rx.inbound.len());
                assert!(unprotect(&mut rx, &bad).is_err(), "{profile} bit {bit}");
                let after = (rx.inbound[&1].index, rx.inbound[&1].seen, rx.inbound.len());
                assert_eq!(before, after);
            }
            assert_eq!(unprotect(&mut rx, &second).unwrap(), rtp(71, 1, b"hello"));
            // Another key: refused, and no stream is made for its SSRC.
            let mut other = SrtpContext::new(profile, &key_for(profile, 12)).unwrap();
            let forged = protect(&mut other, &rtp(0, 2, b"x")).unwrap();
            assert_eq!(
                unprotect(&mut rx, &forged),
                Err(SrtpError::AuthenticationFailed)
            );
            assert!(!rx.inbound.contains_key(&2));
        }
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        let profile = SrtpProfile::AeadAes128Gcm;
        let mut ctx = SrtpContext::new(profile, &key_for(profile, 0)).unwrap();
        let mut out = vec![1, 2, 3];
        assert_eq!(
            ctx.protect_rtp(&[0x80; 11], &mut out),
            Err(SrtpError::TooShort { len: 11 })
        );
        assert!(out.is_empty());
        let mut csrcs = rtp(1, 1, &[0; 8]);
        csrcs[0] |= 3;
        assert_eq!(protect(&mut ctx, &csrcs), Err(SrtpError::Malformed));
        let mut extension = rtp(1, 1, &[0xbe, 0xde, 0, 2, 0, 0, 0, 0]);
        extension[0] |= 0x10;
        assert_eq!(protect(&mut ctx, &extension), Err(SrtpError::Malformed));
        assert_eq!(
            protect(&mut ctx, &extension[..14]),
            Err(SrtpError::Malformed)
        );
        assert_eq!(
            unprotect(&mut ctx, &rtp(1, 1, &[0; 15])),
            Err(SrtpError::MissingTag { tag_len: 16 })
        );
        assert_eq!(
            unprotect(&mut ctx, &rtp(1, 1, &[0; 16])),
            Err(SrtpError::AuthenticationFailed)
        );
    }

    #[test]
    fn the_window_slides_by_any_distance() {
        let mut stream = Stream::NEW;
        stream.record(0);
        for step in [1, 63, 64, 65, 127, 200, 500] {
            stream.record(step);
            assert_eq!(stream.check(-step), Err(SrtpError::Replayed), "{step}");
            if step > 1 {
                assert_eq!(stream.check(-step + 1), Ok(()), "{step}");
            }
        }
        stream.record(1024);
        assert_eq!(stream.seen.iter().map(|w| w.count_ones()).sum::<u32>(), 1);
    }
}
