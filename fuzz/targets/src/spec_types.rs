//! The generated decoders of every type of the project's `.x` files: an
//! input that decodes must re-encode to exactly the bytes it consumed.

use bytes::Bytes;

use crate::reencode::decode_and_reencode;

use broker::admin::proto as broker_admin;
use datastore::proto as datastore;
use nfs3::mount as mount3;
use nfs3::nfs;
use rpc_runtime::gss::wire as rpcsec_gss;
use rpc_runtime::message::wire as rpc_msg;
use rpc_runtime::rpcbind::proto::portmap;
use rpc_runtime::rpcbind::proto::rpcb as rpcbind;

/// Input: `[type selector, encoding...]`. The selector picks an entry of
/// the types of [`SPECS`] in order (modulo their number).
pub fn spec_types(data: &[u8]) {
    let Some((&selector, encoding)) = data.split_first() else {
        return;
    };
    let check = CHECKS[usize::from(selector) % CHECKS.len()];
    check(&Bytes::copy_from_slice(encoding));
}

fn check<T>(input: &Bytes)
where
    T: xdr_codec::XdrDecode + xdr_codec::XdrEncode + std::fmt::Debug,
{
    decode_and_reencode::<T>(input);
}

macro_rules! spec_types {
    ($($path:literal => $module:ident [$($ty:ident),* $(,)?]),* $(,)?) => {
        /// Every `.x` file of the project (path from the repository root)
        /// with the Rust names of its types, in the order the selector
        /// byte counts them.
        pub const SPECS: &[(&str, &[&str])] = &[$(($path, &[$(stringify!($ty)),*])),*];

        const CHECKS: &[fn(&Bytes)] = &[$($(check::<$module::$ty>,)*)*];
    };
}

spec_types! {
    "datastore/specs/datastore.x" => datastore [
        DsKey, DsData, DsStatus, DsPutArgs, DsPutRes, DsGetArgs,
        DsGetOk, DsGetRes, DsDeleteArgs, DsListArgs, DsEntrylist, DsEntry,
        DsListOk, DsListRes,
    ],
    "broker/specs/broker_admin.x" => broker_admin [
        BaName, BaText, BaStatus, BaListener, BaRoute, BaHealth,
        BaBackend, BaTask, BaStatusOk, BaStatusRes, BaStats, BaReloadRes,
    ],
    "rpc-runtime/specs/rpc_msg.x" => rpc_msg [
        AuthFlavor, OpaqueAuth, MsgType, ReplyStat, AcceptStat, RejectStat,
        AuthStat, MismatchInfo, CallBody, AcceptedReplyData, AcceptedReply, RejectedReply,
        ReplyBody, RpcMsgBody, RpcMsg, AuthsysParms,
    ],
    "rpc-runtime/specs/portmap.x" => portmap [
        Mapping, PmaplistEntry, Pmaplist, CallArgs, CallResult,
    ],
    "rpc-runtime/specs/rpcbind.x" => rpcbind [
        Rpcb, RpList, RpcblistPtr, RpcbRmtcallargs, RpcbRmtcallres, RpcbEntry,
        RpcbEntryList, RpcbEntryListPtr, RpcbsProc, RpcbsAddrlist, RpcbsRmtcalllist, RpcbsAddrlistPtr,
        RpcbsRmtcalllistPtr, RpcbStat, RpcbStatByvers, Netbuf, RpcbUaddr,
    ],
    "rpc-runtime/specs/rpcsec_gss.x" => rpcsec_gss [
        RpcGssProcT, RpcGssServiceT, RpcGssCredVers1T, RpcGssCredT, RpcGssInitRes,
        RpcGssIntegData, RpcGssPrivData,
    ],
    "nfs3/specs/nfs3.x" => nfs [
        Uint64, Int64, Uint32, Int32, Filename3, Nfspath3,
        Fileid3, Cookie3, Cookieverf3, Createverf3, Writeverf3, Uid3,
        Gid3, Size3, Offset3, Mode3, Count3, Nfsstat3,
        Ftype3, Specdata3, NfsFh3, Nfstime3, Fattr3, PostOpAttr,
        WccAttr, PreOpAttr, WccData, PostOpFh3, TimeHow, SetMode3,
        SetUid3, SetGid3, SetSize3, SetAtime, SetMtime, Sattr3,
        Diropargs3, Getattr3args, Getattr3resok, Getattr3res, Sattrguard3, Setattr3args,
        Setattr3resok, Setattr3resfail, Setattr3res, Lookup3args, Lookup3resok, Lookup3resfail,
        Lookup3res, Access3args, Access3resok, Access3resfail, Access3res, Readlink3args,
        Readlink3resok, Readlink3resfail, Readlink3res, Read3args, Read3resok, Read3resfail,
        Read3res, StableHow, Write3args, Write3resok, Write3resfail, Write3res,
        Createmode3, Createhow3, Create3args, Create3resok, Create3resfail, Create3res,
        Mkdir3args, Mkdir3resok, Mkdir3resfail, Mkdir3res, Symlinkdata3, Symlink3args,
        Symlink3resok, Symlink3resfail, Symlink3res, Devicedata3, Mknoddata3, Mknod3args,
        Mknod3resok, Mknod3resfail, Mknod3res, Remove3args, Remove3resok, Remove3resfail,
        Remove3res, Rmdir3args, Rmdir3resok, Rmdir3resfail, Rmdir3res, Rename3args,
        Rename3resok, Rename3resfail, Rename3res, Link3args, Link3resok, Link3resfail,
        Link3res, Readdir3args, Entry3, Dirlist3, Readdir3resok, Readdir3resfail,
        Readdir3res, Readdirplus3args, Entryplus3, Dirlistplus3, Readdirplus3resok, Readdirplus3resfail,
        Readdirplus3res, Fsstat3args, Fsstat3resok, Fsstat3resfail, Fsstat3res, Fsinfo3args,
        Fsinfo3resok, Fsinfo3resfail, Fsinfo3res, Pathconf3args, Pathconf3resok, Pathconf3resfail,
        Pathconf3res, Commit3args, Commit3resok, Commit3resfail, Commit3res,
    ],
    "nfs3/specs/mount3.x" => mount3 [
        Fhandle3, Dirpath, Name, Mountstat3, Mountres3Ok, Mountres3,
        Mountlist, Mountbody, Groups, Groupnode, Exports, Exportnode,
    ],
}
