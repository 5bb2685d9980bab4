//! Names rpcgen output relies on without the `.x` file defining them: C
//! typedefs from `<sys/types.h>`, `<rpc/types.h>` and `<stdint.h>` that
//! have XDR routines in libc/libtirpc (`u_int`, `uint32_t`, `rpcprog_t`,
//! `netobj`, ...) and a few
//! constants from the RPC headers (`MAXNETNAMELEN`), and `authsys_parms`
//! (rpc-runtime's `AuthSysParams`). A definition in the
//! specification always takes precedence.

use super::{Size, Type};

/// The type a well-known C type name stands for, with its XDR encoding
/// (libtirpc's `xdr_uint16_t`, `xdr_u_char` etc. all use 4 bytes, like
/// `int`).
pub(super) fn builtin_type(name: &str) -> Option<Type> {
    Some(match name {
        "int8_t" | "int16_t" | "int32_t" | "long_t" => Type::Int,
        // <sys/types.h>, encoded by `xdr_u_int`, `xdr_u_long`,
        // `xdr_u_short`, `xdr_u_char`.
        "u_int" | "u_long" | "u_short" | "u_char" => Type::UnsignedInt,
        "uid_t" | "gid_t" | "uint8_t" | "u_int8_t" | "uint16_t" | "u_int16_t" | "uint32_t"
        | "u_int32_t" | "uint_t" | "rpcprog_t" | "rpcvers_t" | "rpcproc_t" | "rpcprot_t"
        | "rpcport_t" => Type::UnsignedInt,
        "int64_t" | "quad_t" | "longlong_t" => Type::Hyper,
        "uint64_t" | "u_int64_t" | "u_quad_t" | "u_longlong_t" => Type::UnsignedHyper,
        "bool_t" => Type::Bool,
        // `struct netobj { u_int n_len; char *n_bytes; }`, encoded by
        // `xdr_netobj` as `opaque<MAX_NETOBJ_SZ>`.
        "netobj" => Type::Opaque(Some(Size {
            value: 1024,
            konst: None,
        })),
        // <rpc/types.h>: `struct netbuf { maxlen; len; buf }`, encoded by
        // `xdr_netbuf` as variable-length opaque data.
        "netbuf" => Type::Opaque(None),
        // <rpc/auth.h>: 8 bytes, encoded by `xdr_des_block` as fixed opaque.
        "des_block" => Type::FixedOpaque(Size {
            value: 8,
            konst: None,
        }),
        // <rpc/auth_unix.h>: RFC 5531 appendix A's `struct authsys_parms`
        // (NFSv4.1's `callback_sec_parms4` embeds it), which libtirpc
        // encodes with `xdr_authsys_parms`. rpc-runtime has it; output that
        // uses it therefore needs rpc-runtime even for types alone.
        "authsys_parms" | "authunix_parms" => {
            Type::Extern("::rpc_runtime::message::AuthSysParams".to_owned())
        }
        _ => return None,
    })
}

/// The value of a constant the RPC headers define.
pub(super) fn builtin_const(name: &str) -> Option<i128> {
    Some(match name {
        // <rpc/auth.h>
        "MAXNETNAMELEN" => 255,
        "MAX_AUTH_BYTES" => 400,
        // <rpc/xdr.h>
        "MAX_NETOBJ_SZ" => 1024,
        // Auth flavors (RFC 5531 section 8.2, RFC 2203).
        "AUTH_NONE" | "AUTH_NULL" => 0,
        "AUTH_SYS" | "AUTH_UNIX" => 1,
        "AUTH_SHORT" => 2,
        "AUTH_DH" | "AUTH_DES" => 3,
        "RPCSEC_GSS" => 6,
        _ => return None,
    })
}
