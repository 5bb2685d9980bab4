//! [`Protection`]: one established GSS-API security context and what
//! RPCSEC_GSS does with it: checksums of headers and sequence numbers,
//! and the integrity and privacy envelopes of arguments and results
//! (RFC 2203 sections 5.3.1 and 5.3.2).
//!
//! ```text
//! none:       args...
//! integrity:  databody_integ<> = seq_num | args...   checksum<> = MIC(databody_integ)
//! privacy:    databody_priv<>  = Wrap(seq_num | args...)
//! ```

use std::sync::Mutex;

use bytes::{BufMut, Bytes, BytesMut};
use libgssapi::context::SecurityContext;
use libgssapi::error::Error;
use libgssapi::util::Buf;
use xdr_codec::{Decoder, XdrDecode};

use super::service::GssService;
use super::wire::{RpcGssIntegData, RpcGssPrivData};

/// An established context, shared by the calls in flight on it. The
/// GSS-API calls on one context are serialised by a lock (each is a
/// checksum or a cipher pass over one message).
pub(crate) struct Protection {
    ctx: Mutex<Box<dyn SecurityContext + Send>>,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protection").finish_non_exhaustive()
    }
}

/// True when a GSS-API status has only supplementary bits (RFC 2743
/// section 1.2.1.1: duplicate, old, unsequenced or gap tokens): the
/// token itself checked. RPCSEC_GSS orders calls with its own sequence
/// window, so these are not failures here.
fn supplementary_only(e: &Error) -> bool {
    e.major.bits() & 0xffff_0000 == 0
}

/// A buffer the GSS-API library allocated (a token or an unwrapped
/// message), lent to [`Bytes`] without copying; released with it.
struct GssBuf(Buf);

impl AsRef<[u8]> for GssBuf {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn gss_bytes(buf: Buf) -> Bytes {
    Bytes::from_owner(GssBuf(buf))
}

impl Protection {
    pub(crate) fn new(ctx: impl SecurityContext + Send + 'static) -> Self {
        Protection {
            ctx: Mutex::new(Box::new(ctx)),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn SecurityContext) -> T) -> T {
        let mut ctx = self.ctx.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut **ctx)
    }

    /// GSS_GetMIC of `data`.
    pub(crate) fn mic(&self, data: &[u8]) -> Result<Bytes, Error> {
        self.with(|c| c.get_mic(data)).map(gss_bytes)
    }

    /// GSS_VerifyMIC of `token` over `data`.
    pub(crate) fn verify(&self, data: &[u8], token: &[u8]) -> Result<(), Error> {
        match self.with(|c| c.verify_mic(data, token)) {
            Err(e) if !supplementary_only(&e) => Err(e),
            _ => Ok(()),
        }
    }

    /// The checksum of a sequence number (or window) as an XDR unsigned
    /// int: the verifier of replies (sections 5.2.3.1 and 5.3.3.2).
    pub(crate) fn mic_of_u32(&self, n: u32) -> Result<Bytes, Error> {
        self.mic(&n.to_be_bytes())
    }

    /// Wraps procedure data (`pieces`, concatenated) for `service` with
    /// sequence number `seq` (section 5.3.2): unchanged for
    /// [`GssService::None`].
    pub(crate) fn seal(
        &self,
        service: GssService,
        seq: u32,
        pieces: &[Bytes],
    ) -> Result<Vec<Bytes>, Error> {
        let len: usize = 4 + pieces.iter().map(Bytes::len).sum::<usize>();
        match service {
            GssService::None => Ok(pieces.to_vec()),
            GssService::Integrity => {
                let mut out = BytesMut::with_capacity(len + 64);
                put_len(&mut out, len);
                let start = out.len();
                out.put_u32(seq);
                for p in pieces {
                    out.extend_from_slice(p);
                }
                let mic = self.mic(&out[start..])?;
                pad(&mut out, len);
                put_len(&mut out, mic.len());
                out.extend_from_slice(&mic);
                pad(&mut out, mic.len());
                Ok(vec![out.freeze()])
            }
            GssService::Privacy => {
                let mut plain = Vec::with_capacity(len);
                plain.extend_from_slice(&seq.to_be_bytes());
                for p in pieces {
                    plain.extend_from_slice(p);
                }
                let token = gss_bytes(self.with(|c| c.wrap(true, &plain))?);
                let mut len = BytesMut::with_capacity(4);
                put_len(&mut len, token.len());
                let mut tail = BytesMut::new();
                pad(&mut tail, token.len());
                Ok(vec![len.freeze(), token, tail.freeze()])
            }
        }
    }

    /// Unwraps procedure data sealed for `service` with sequence number
    /// `seq`; `None` when it does not decode, its checksum or wrapping
    /// fails, or it holds another sequence number (section 5.3.3.4:
    /// GARBAGE_ARGS on a server).
    pub(crate) fn open(&self, service: GssService, seq: u32, data: Bytes) -> Option<Bytes> {
        let body = match service {
            GssService::None => return Some(data),
            GssService::Integrity => {
                let integ = decode_exact::<RpcGssIntegData>(data)?;
                let body = integ.databody_integ.into_bytes();
                self.verify(&body, &integ.checksum).ok()?;
                body
            }
            GssService::Privacy => {
                let sealed = decode_exact::<RpcGssPrivData>(data)?;
                gss_bytes(self.with(|c| c.unwrap(&sealed.databody_priv)).ok()?)
            }
        };
        let inner = body.get(..4)?;
        (inner == seq.to_be_bytes()).then(|| body.slice(4..))
    }
}

fn decode_exact<T: XdrDecode>(data: Bytes) -> Option<T> {
    let mut dec = Decoder::new(data);
    let value = T::decode(&mut dec).ok()?;
    dec.finish().ok()?;
    Some(value)
}

fn put_len(out: &mut BytesMut, len: usize) {
    // Lengths here are of one record's data, bounded by the record limit.
    out.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
}

fn pad(out: &mut BytesMut, len: usize) {
    out.put_bytes(0, xdr_codec::padding(len));
}
