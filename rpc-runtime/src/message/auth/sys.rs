//! AUTH_SYS parameters, `authsys_parms` (RFC 5531 appendix A).

use xdr_codec::{Decoder, Encoder, XdrDecode, XdrEncode, XdrString};

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
        enc.put_u32(self.stamp);
        enc.field("authsys_parms.machinename", &self.machine_name)?;
        enc.put_u32(self.uid);
        enc.put_u32(self.gid);
        enc.put_length(self.gids.len(), MAX_AUTH_SYS_GIDS)
            .map_err(|e| e.in_field("authsys_parms.gids"))?;
        for g in &self.gids {
            enc.put_u32(*g);
        }
        Ok(())
    }
}

impl XdrDecode for AuthSysParams {
    const MIN_ENCODED_LEN: usize = 20;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        let stamp = dec.field("authsys_parms.stamp")?;
        let machine_name = dec.field("authsys_parms.machinename")?;
        let uid = dec.field("authsys_parms.uid")?;
        let gid = dec.field("authsys_parms.gid")?;
        let n = dec
            .get_length(MAX_AUTH_SYS_GIDS, 4)
            .map_err(|e| e.in_field("authsys_parms.gids"))?;
        let mut gids = Vec::with_capacity(n);
        for _ in 0..n {
            gids.push(dec.field("authsys_parms.gids")?);
        }
        Ok(AuthSysParams {
            stamp,
            machine_name,
            uid,
            gid,
            gids,
        })
    }
}
