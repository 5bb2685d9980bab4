//! AUTH_SYS parameters, `authsys_parms` (RFC 5531 appendix A).

use xdr_codec::{Decoder, Encoder, XdrDecode, XdrEncode, XdrString};

use crate::message::wire;

/// Longest AUTH_SYS machine name, in bytes (`string machinename<255>`).
pub const MAX_MACHINE_NAME_BYTES: u32 = 255;

/// Most supplementary groups in AUTH_SYS credentials (`unsigned int gids<16>`).
pub const MAX_AUTH_SYS_GIDS: u32 = 16;

/// AUTH_SYS credentials, `authsys_parms` (RFC 5531 appendix A).
///
/// Encoding refuses a machine name over 255 bytes or more than 16 groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSysParams {
    /// An arbitrary id the caller's machine generates (often a time stamp).
    pub stamp: u32,
    /// The caller's host name, at most [`MAX_MACHINE_NAME_BYTES`] bytes.
    pub machine_name: XdrString<MAX_MACHINE_NAME_BYTES>,
    /// The caller's effective user id.
    pub uid: u32,
    /// The caller's effective group id.
    pub gid: u32,
    /// Supplementary group ids, at most [`MAX_AUTH_SYS_GIDS`].
    pub gids: Vec<u32>,
}

impl XdrEncode for AuthSysParams {
    fn encode(&self, enc: &mut Encoder<'_>) -> xdr_codec::Result<()> {
        wire::AuthsysParms {
            stamp: self.stamp,
            machinename: self.machine_name.clone(),
            uid: self.uid,
            gid: self.gid,
            gids: xdr_codec::VarArray::from(self.gids.clone()),
        }
        .encode(enc)
    }
}

impl XdrDecode for AuthSysParams {
    const MIN_ENCODED_LEN: usize = 20;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        let w = wire::AuthsysParms::decode(dec)?;
        Ok(AuthSysParams {
            stamp: w.stamp,
            machine_name: w.machinename,
            uid: w.uid,
            gid: w.gid,
            gids: w.gids.into_inner(),
        })
    }
}
