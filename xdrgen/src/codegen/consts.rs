//! `const` definitions and program, version and procedure numbers.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs;
use super::idents::{ident, str_lit, IntTy};
use crate::model::{Const, ConstValue, Program};

/// `pub const NAME: u32 = value;`, typed `u32` when the value fits, else
/// `i32`, `i64` or `u64` (the checker guarantees one fits).
pub(super) fn constant(c: &Const) -> TokenStream {
    let name = ident(&c.rust_name);
    let renamed = if c.renamed {
        " (renamed: another constant has the same Rust name)".to_owned()
    } else {
        String::new()
    };
    match &c.value {
        ConstValue::Int(v) => {
            let doc = docs::doc(&format!("`const {} = {v};`{renamed}", c.xdr_name), &c.doc);
            let ty = const_type(*v);
            let t = ty.tokens();
            let magnitude = Literal::u128_unsuffixed(v.unsigned_abs());
            let lit = if *v < 0 {
                quote!(-#magnitude)
            } else {
                quote!(#magnitude)
            };
            quote! {
                #doc
                pub const #name: #t = #lit;
            }
        }
        ConstValue::Str(s) => {
            let doc = docs::doc(
                &format!("`const {} = \"{s}\";`{renamed}", c.xdr_name),
                &c.doc,
            );
            // The value a C program sees: escapes interpreted. Text that is
            // not UTF-8 afterwards (`\xff`) becomes a byte string.
            let bytes = super::c_string::unescape(s);
            match String::from_utf8(bytes) {
                Ok(text) => {
                    let lit = str_lit(&text);
                    quote! {
                        #doc
                        pub const #name: &str = #lit;
                    }
                }
                Err(e) => {
                    let lit = Literal::byte_string(e.as_bytes());
                    quote! {
                        #doc
                        pub const #name: &[u8] = #lit;
                    }
                }
            }
        }
    }
}

/// The narrowest of `u32`, `i32`, `i64`, `u64` holding `v`.
fn const_type(v: i128) -> IntTy {
    if u32::try_from(v).is_ok() {
        IntTy::U32
    } else if i32::try_from(v).is_ok() {
        IntTy::I32
    } else if i64::try_from(v).is_ok() {
        IntTy::I64
    } else {
        IntTy::U64
    }
}

/// `pub const MOUNTPROG: u32 = 100005;` and the version and procedure
/// numbers (a procedure named the same in several versions gets one).
pub(super) fn program_consts(p: &Program) -> TokenStream {
    let mut out = TokenStream::new();
    let name = ident(&p.const_name);
    let number = Literal::u32_unsuffixed(p.number);
    let doc = docs::doc(
        &format!("Program number of `{}` (RFC 5531 section 12).", p.xdr_name),
        &p.doc,
    );
    out.extend(quote! {
        #doc
        pub const #name: u32 = #number;
    });
    for v in &p.versions {
        if let Some(c) = &v.const_name {
            let name = ident(c);
            let number = Literal::u32_unsuffixed(v.number);
            let doc = docs::doc(
                &format!("Version `{}` of program `{}`.", v.xdr_name, p.xdr_name),
                &v.doc,
            );
            out.extend(quote! {
                #doc
                pub const #name: u32 = #number;
            });
        }
        for proc in &v.procedures {
            if let Some(c) = &proc.const_name {
                let name = ident(c);
                let number = Literal::u32_unsuffixed(proc.number);
                let doc = docs::doc(
                    &format!(
                        "Procedure number of `{}` (program `{}`).",
                        proc.xdr_name, p.xdr_name
                    ),
                    &[],
                );
                out.extend(quote! {
                    #doc
                    pub const #name: u32 = #number;
                });
            }
        }
    }
    out
}
