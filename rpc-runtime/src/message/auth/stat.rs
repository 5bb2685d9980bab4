//! `auth_stat` (RFC 5531 section 9).

use std::fmt;

use xdr_codec::{Decoder, Encoder, XdrDecode, XdrEncode};

/// Why the server refused authentication, `auth_stat` (RFC 5531 section 9).
///
/// Values not defined by RFC 5531 are kept in [`AuthStat::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthStat {
    /// AUTH_OK (0): success (never sent in a rejection).
    Ok,
    /// AUTH_BADCRED (1): bad credential (seal broken).
    BadCred,
    /// AUTH_REJECTEDCRED (2): client must begin a new session.
    RejectedCred,
    /// AUTH_BADVERF (3): bad verifier (seal broken).
    BadVerf,
    /// AUTH_REJECTEDVERF (4): verifier expired or replayed.
    RejectedVerf,
    /// AUTH_TOOWEAK (5): rejected for security reasons.
    TooWeak,
    /// AUTH_INVALIDRESP (6): bogus response verifier.
    InvalidResp,
    /// AUTH_FAILED (7): reason unknown.
    Failed,
    /// RPCSEC_GSS_CREDPROBLEM (13): no credentials for user.
    RpcsecGssCredProblem,
    /// RPCSEC_GSS_CTXPROBLEM (14): problem with context.
    RpcsecGssCtxProblem,
    /// Any other value.
    Other(u32),
}

impl AuthStat {
    /// The wire value.
    pub fn to_u32(self) -> u32 {
        match self {
            AuthStat::Ok => 0,
            AuthStat::BadCred => 1,
            AuthStat::RejectedCred => 2,
            AuthStat::BadVerf => 3,
            AuthStat::RejectedVerf => 4,
            AuthStat::TooWeak => 5,
            AuthStat::InvalidResp => 6,
            AuthStat::Failed => 7,
            AuthStat::RpcsecGssCredProblem => 13,
            AuthStat::RpcsecGssCtxProblem => 14,
            AuthStat::Other(v) => v,
        }
    }

    /// The status for a wire value.
    pub fn from_u32(v: u32) -> Self {
        match v {
            0 => AuthStat::Ok,
            1 => AuthStat::BadCred,
            2 => AuthStat::RejectedCred,
            3 => AuthStat::BadVerf,
            4 => AuthStat::RejectedVerf,
            5 => AuthStat::TooWeak,
            6 => AuthStat::InvalidResp,
            7 => AuthStat::Failed,
            13 => AuthStat::RpcsecGssCredProblem,
            14 => AuthStat::RpcsecGssCtxProblem,
            v => AuthStat::Other(v),
        }
    }
}

impl fmt::Display for AuthStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            AuthStat::Ok => "AUTH_OK",
            AuthStat::BadCred => "AUTH_BADCRED",
            AuthStat::RejectedCred => "AUTH_REJECTEDCRED",
            AuthStat::BadVerf => "AUTH_BADVERF",
            AuthStat::RejectedVerf => "AUTH_REJECTEDVERF",
            AuthStat::TooWeak => "AUTH_TOOWEAK",
            AuthStat::InvalidResp => "AUTH_INVALIDRESP",
            AuthStat::Failed => "AUTH_FAILED",
            AuthStat::RpcsecGssCredProblem => "RPCSEC_GSS_CREDPROBLEM",
            AuthStat::RpcsecGssCtxProblem => "RPCSEC_GSS_CTXPROBLEM",
            AuthStat::Other(v) => return write!(f, "auth_stat {v}"),
        };
        f.write_str(name)
    }
}

impl XdrEncode for AuthStat {
    fn encode(&self, enc: &mut Encoder<'_>) -> xdr_codec::Result<()> {
        enc.put_u32(self.to_u32());
        Ok(())
    }
}

impl XdrDecode for AuthStat {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        Ok(AuthStat::from_u32(dec.get_u32()?))
    }
}
