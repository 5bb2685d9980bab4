//! The server side of one program version (the contract in
//! `rpc_runtime::codegen`): a trait with one async handler per procedure,
//! and a dispatcher that decodes arguments, runs the handler and encodes
//! the result.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::consts::Numbers;
use super::docs;
use super::idents::ident;
use super::types::rust_type;
use crate::model::{Model, Procedure, Program, Type, Version};

/// The trait `XxxVn`, the dispatcher `XxxVnServer<T>`, and its impls.
pub(super) fn server(p: &Program, v: &Version, model: &Model, numbers: &Numbers) -> TokenStream {
    let tr = ident(&v.trait_name);
    let server = format_ident!("{}Server", v.trait_name);
    let prog = ident(&p.const_name);
    let vers = numbers.version(v);
    let trait_doc = docs::doc(
        &format!(
            "Server side of program `{}` version {} (`{}`): implement this, then serve [`{}`].",
            p.xdr_name, v.number, v.xdr_name, server
        ),
        &v.doc,
    );
    let server_doc = docs::doc(
        &format!(
            "Dispatcher for [`{}`]: register it with the RPC server.",
            v.trait_name
        ),
        &[],
    );
    let handlers = v.procedures.iter().map(|proc| handler(proc, model));
    let arms = v.procedures.iter().map(|proc| {
        let number = numbers.procedure(proc);
        let method = ident(&proc.method);
        let (pattern, call_args) = closure_args(&proc.args, model);
        quote! {
            #number => ::rpc_runtime::codegen::handle(args, move |#pattern| async move {
                inner.#method(ctx, #call_args).await
            }),
        }
    });
    let body = if v.procedures.is_empty() {
        quote! {
            let _ = (ctx, args);
            ::rpc_runtime::codegen::proc_unavail()
        }
    } else {
        quote! {
            let inner = ::rpc_runtime::codegen::Arc::clone(&self.0);
            match procedure {
                #(#arms)*
                _ => ::rpc_runtime::codegen::proc_unavail(),
            }
        }
    };
    let server_name = str_name(&server);
    quote! {
        #trait_doc
        pub trait #tr: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#handlers)*
        }

        #server_doc
        pub struct #server<T>(::rpc_runtime::codegen::Arc<T>);

        impl<T> ::core::fmt::Debug for #server<T> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#server_name).finish_non_exhaustive()
            }
        }

        impl<T> ::core::clone::Clone for #server<T> {
            fn clone(&self) -> Self {
                Self(::rpc_runtime::codegen::Arc::clone(&self.0))
            }
        }

        impl<T: #tr> #server<T> {
            /// Wraps an implementation.
            pub fn new(inner: T) -> Self {
                Self(::rpc_runtime::codegen::Arc::new(inner))
            }

            /// Wraps an implementation that is already shared.
            pub fn from_arc(inner: ::rpc_runtime::codegen::Arc<T>) -> Self {
                Self(inner)
            }
        }

        impl<T: #tr> ::rpc_runtime::codegen::Dispatch for #server<T> {
            fn program(&self) -> u32 {
                #prog
            }

            fn version(&self) -> u32 {
                #vers
            }

            fn dispatch(
                &self,
                ctx: ::rpc_runtime::codegen::CallContext,
                procedure: u32,
                args: ::xdr_codec::Decoder,
            ) -> ::rpc_runtime::codegen::BoxFuture<'static, ::rpc_runtime::codegen::DispatchOutcome> {
                #body
            }
        }
    }
}

/// One trait method. Procedure 0 with `void` argument and result (the
/// conventional NULL procedure) gets a default body that succeeds.
fn handler(proc: &Procedure, model: &Model) -> TokenStream {
    let method = ident(&proc.method);
    let doc = docs::doc(
        &format!("`{}` (procedure {}).", proc.xdr_name, proc.number),
        &proc.doc,
    );
    let result = rust_type(&proc.result, model);
    let params: Vec<TokenStream> = match proc.args.as_slice() {
        [] => Vec::new(),
        [one] => {
            let t = rust_type(one, model);
            vec![quote!(arg: #t)]
        }
        many => many
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let name = format_ident!("a{i}");
                let t = rust_type(t, model);
                quote!(#name: #t)
            })
            .collect(),
    };
    let null = proc.number == 0 && proc.args.is_empty() && proc.result == Type::Void;
    // The default NULL handler does not use its context.
    let ctx = if null { quote!(_ctx) } else { quote!(ctx) };
    let signature = quote! {
        fn #method(&self, #ctx: ::rpc_runtime::codegen::CallContext #(, #params)*)
            -> impl ::rpc_runtime::codegen::Future<Output = ::rpc_runtime::codegen::HandlerResult<#result>> + ::core::marker::Send
    };
    if null {
        quote! {
            #doc
            ///
            /// The default implementation does nothing and replies with success.
            #signature {
                ::core::future::ready(::core::result::Result::Ok(()))
            }
        }
    } else {
        quote! {
            #doc
            #signature;
        }
    }
}

/// The closure pattern and the call arguments in the dispatcher:
/// `(): ()` and nothing; `arg: A` and `arg`; `(a0, a1): (A, B)` and `a0, a1`.
fn closure_args(args: &[Type], model: &Model) -> (TokenStream, TokenStream) {
    match args {
        [] => (quote!((): ()), TokenStream::new()),
        [one] => {
            let t = rust_type(one, model);
            (quote!(arg: #t), quote!(arg))
        }
        many => {
            let names: Vec<_> = (0..many.len()).map(|i| format_ident!("a{i}")).collect();
            let types = many.iter().map(|t| rust_type(t, model));
            (quote!((#(#names,)*): (#(#types,)*)), quote!(#(#names),*))
        }
    }
}

fn str_name(i: &proc_macro2::Ident) -> Literal {
    Literal::string(&i.to_string())
}
