//! Authentication (RFC 5531 sections 8.2 and 9, appendix A): `opaque_auth`,
//! the flavors, AUTH_SYS parameters, `auth_stat`, and [`Credentials`].

mod credentials;
mod opaque;
mod stat;
mod sys;

pub use credentials::Credentials;
pub use opaque::{AuthFlavor, OpaqueAuth, MAX_AUTH_BODY_BYTES};
pub use stat::AuthStat;
pub use sys::{AuthSysParams, MAX_AUTH_SYS_GIDS, MAX_MACHINE_NAME_BYTES};

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use xdr_codec::{Encoder, XdrEncode};

    #[test]
    fn auth_sys_round_trips_through_opaque_auth() {
        let creds = Credentials::Sys(AuthSysParams {
            stamp: 7,
            machine_name: "host".into(),
            uid: 1000,
            gid: 100,
            gids: vec![4, 24, 27],
        });
        let oa = creds.to_opaque_auth().unwrap();
        assert_eq!(oa.flavor, AuthFlavor::SYS);
        // stamp, len+name, uid, gid, count, 3 gids
        assert_eq!(oa.body.len(), 4 + 8 + 4 + 4 + 4 + 12);
        assert_eq!(Credentials::from_opaque_auth(&oa).unwrap(), creds);
    }

    #[test]
    fn too_many_gids_refused_both_ways() {
        let p = AuthSysParams {
            gids: vec![0; 17],
            ..Default::default()
        };
        assert!(Credentials::Sys(p).to_opaque_auth().is_err());
        let mut body = bytes::BytesMut::new();
        let mut enc = Encoder::new(&mut body);
        for v in [0u32, 0, 0, 0, 17] {
            enc.put_u32(v);
        }
        let oa = OpaqueAuth {
            flavor: AuthFlavor::SYS,
            body: body.freeze(),
        };
        assert_eq!(Credentials::from_opaque_auth(&oa), Err(AuthStat::BadCred));
    }

    #[test]
    fn auth_body_over_400_bytes_refused() {
        let big = OpaqueAuth {
            flavor: AuthFlavor(99),
            body: Bytes::from(vec![0u8; 401]),
        };
        assert!(big.to_xdr_bytes().is_err());
    }

    #[test]
    fn auth_stat_values_round_trip() {
        for v in 0..20 {
            assert_eq!(AuthStat::from_u32(v).to_u32(), v);
        }
    }
}
