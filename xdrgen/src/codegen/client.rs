//! The async client of one program version (the contract in
//! `rpc_runtime::codegen`): one method per procedure, each a single call on
//! a shared multiplexed connection.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::consts::Numbers;
use super::docs;
use super::idents::ident;
use super::types::rust_type;
use crate::model::{Model, Program, Type, Version};

/// `pub struct XxxVnClient` and its methods.
pub(super) fn client(p: &Program, v: &Version, model: &Model, numbers: &Numbers) -> TokenStream {
    let name = format_ident!("{}Client", v.trait_name);
    let prog = ident(&p.const_name);
    let vers = numbers.version(v);
    let summary = format!(
        "Client for program `{}` version {} (`{}`): one async method per procedure.",
        p.xdr_name, v.number, v.xdr_name
    );
    let doc = docs::doc(&summary, &v.doc);
    let methods = v.procedures.iter().map(|proc| {
        let method = ident(&proc.method);
        let number = numbers.procedure(proc);
        let result = rust_type(&proc.result, model);
        let doc = docs::doc(&format!("`{}` (procedure {}).", proc.xdr_name, proc.number), &proc.doc);
        let (params, arg) = params(&proc.args, model);
        quote! {
            #doc
            pub async fn #method(&self, #params) -> ::core::result::Result<#result, ::rpc_runtime::codegen::RpcError> {
                self.client.call(Self::PROGRAM, Self::VERSION, #number, #arg).await
            }
        }
    });
    quote! {
        #doc
        #[derive(Debug, Clone)]
        pub struct #name {
            client: ::rpc_runtime::codegen::Client,
        }

        impl #name {
            /// The program number.
            pub const PROGRAM: u32 = #prog;
            /// The version number.
            pub const VERSION: u32 = #vers;

            /// Uses `client`'s connection for this program version.
            pub fn new(client: ::rpc_runtime::codegen::Client) -> Self {
                Self { client }
            }

            /// A handle on the same connection whose calls time out after
            /// `timeout` instead of the client's default.
            pub fn with_timeout(&self, timeout: ::rpc_runtime::codegen::Duration) -> Self {
                Self { client: self.client.with_timeout(timeout) }
            }

            /// The underlying client.
            pub fn inner(&self) -> &::rpc_runtime::codegen::Client {
                &self.client
            }

            #(#methods)*
        }
    }
}

/// The method parameters and the argument expression for `call`: none and
/// `&()`; `arg: &A` and `arg`; `a0: &A, a1: &B` and `&(a0, a1)`.
fn params(args: &[Type], model: &Model) -> (TokenStream, TokenStream) {
    match args {
        [] => (TokenStream::new(), quote!(&())),
        [one] => {
            let t = rust_type(one, model);
            (quote!(arg: &#t), quote!(arg))
        }
        many => {
            let names: Vec<_> = (0..many.len()).map(|i| format_ident!("a{i}")).collect();
            let types = many.iter().map(|t| rust_type(t, model));
            (quote!(#(#names: &#types),*), quote!(&(#(#names,)*)))
        }
    }
}
