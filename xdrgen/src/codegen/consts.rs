//! `const` definitions and program, version and procedure numbers.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs;
use super::idents::{ident, int_literal_in, int_text, str_lit, IntTy};
use super::text::item_text;
use std::collections::HashMap;

use crate::model::{Const, ConstValue, Item, Model, Procedure, Program, Version};

/// `pub const NAME: u32 = value;`, typed `u32` when the value fits, else
/// `i32`, `i64` or `u64` (the checker guarantees one fits).
pub(super) fn constant(c: &Const) -> TokenStream {
    let (doc, decl) = constant_parts(c);
    let doc = docs::attrs(&doc);
    quote! {
        #doc
        #decl
    }
}

/// [`constant`] as formatted text, when its line fits.
pub(super) fn constant_text(c: &Const) -> Option<String> {
    let (doc, decl) = constant_parts(c);
    item_text(&doc, &decl)
}

/// The doc lines and the declaration of [`constant`].
fn constant_parts(c: &Const) -> (Vec<String>, TokenStream) {
    let name = ident(&c.rust_name);
    let renamed = if c.renamed {
        " (renamed: another constant has the same Rust name)".to_owned()
    } else {
        String::new()
    };
    match &c.value {
        ConstValue::Int(v) => {
            let doc = docs::doc_lines(
                &format!(
                    "`const {} = {};`{renamed}",
                    c.xdr_name,
                    int_text(*v, c.radix).replace("0o", "0")
                ),
                &c.doc,
            );
            let ty = const_type(*v);
            let t = ty.tokens();
            let lit = int_literal_in(*v, c.radix);
            (doc, quote!(pub const #name: #t = #lit;))
        }
        ConstValue::Str(s) => {
            let doc = docs::doc_lines(
                &format!("`const {} = \"{s}\";`{renamed}", c.xdr_name),
                &c.doc,
            );
            // The value a C program sees: escapes interpreted. Text that is
            // not UTF-8 afterwards (`\xff`) becomes a byte string.
            let bytes = super::c_string::unescape(s);
            match String::from_utf8(bytes) {
                Ok(text) => {
                    let lit = str_lit(&text);
                    (doc, quote!(pub const #name: &str = #lit;))
                }
                Err(e) => {
                    let lit = Literal::byte_string(e.as_bytes());
                    (doc, quote!(pub const #name: &[u8] = #lit;))
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
    let number = int_literal_in(i128::from(p.number), p.radix);
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

/// The names of the version and procedure number constants, which clients
/// and servers use instead of the numbers. A procedure defined in several
/// versions with the same number has one constant, emitted with its first
/// definition.
#[derive(Debug, Default)]
pub(super) struct Numbers {
    /// `.x` procedure name -> Rust constant name.
    procedures: HashMap<String, String>,
}

impl Numbers {
    /// The constants of every program in `model`.
    pub(super) fn new(model: &Model) -> Self {
        let mut procedures = HashMap::new();
        let programs = model.items.iter().filter_map(|i| match i {
            Item::Program(p) => Some(p),
            _ => None,
        });
        for proc in programs
            .flat_map(|p| &p.versions)
            .flat_map(|v| &v.procedures)
        {
            if let Some(c) = &proc.const_name {
                procedures
                    .entry(proc.xdr_name.clone())
                    .or_insert_with(|| c.clone());
            }
        }
        Numbers { procedures }
    }

    /// The version number: its constant.
    pub(super) fn version(&self, v: &Version) -> TokenStream {
        number(v.const_name.as_deref(), v.number)
    }

    /// The procedure number: its constant.
    pub(super) fn procedure(&self, p: &Procedure) -> TokenStream {
        number(
            self.procedures.get(&p.xdr_name).map(String::as_str),
            p.number,
        )
    }
}

/// The constant `name`, or the number itself when there is none.
fn number(name: Option<&str>, value: u32) -> TokenStream {
    match name {
        Some(n) => {
            let n = ident(n);
            quote!(#n)
        }
        None => {
            let v = Literal::u32_unsuffixed(value);
            quote!(#v)
        }
    }
}
