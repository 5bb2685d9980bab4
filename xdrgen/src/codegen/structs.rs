//! Structs (RFC 4506 section 4.14) and their XDR impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::derives::Derives;
use super::docs;
use super::idents::{ident, plain, str_lit};
use super::text::{tokens_text, Lines, STRUCT_EXPR_WIDTH};
use super::types::{min_len, min_len_known, rust_type};
use super::EmitOptions;
use crate::model::{Field, Model, Struct, TypeItem};

/// A note for the doc line when the Rust name was changed.
pub(super) fn renamed_note(t: &TypeItem) -> &'static str {
    if t.renamed {
        " Renamed: another definition has the same Rust name."
    } else {
        ""
    }
}

/// The `#[doc]` of a struct field or union arm.
pub(super) fn field_doc(f: &Field) -> TokenStream {
    docs::doc(&format!("`{}`", f.decl_text), &f.doc)
}

/// The error path of a field: `Type.field`.
pub(super) fn path(owner: &str, f: &Field) -> proc_macro2::Literal {
    str_lit(&format!("{}.{}", plain(owner), plain(&f.rust_name)))
}

/// The summary line of a struct's doc comment.
fn summary(t: &TypeItem, s: &Struct) -> String {
    if s.list_node {
        format!(
            "`struct {}`: a linked-list node; its last field (the `next` pointer) is \
             carried by `::xdr_codec::List<{}>`.{}",
            t.xdr_name,
            plain(&t.rust_name),
            renamed_note(t)
        )
    } else {
        format!("`struct {}`.{}", t.xdr_name, renamed_note(t))
    }
}

/// `pub struct` with `XdrEncode`/`XdrDecode` impls.
pub(super) fn structure(
    t: &TypeItem,
    s: &Struct,
    model: &Model,
    derives: &Derives,
    opts: &EmitOptions,
) -> TokenStream {
    let doc = docs::doc(&summary(t, s), &t.doc);
    let name = ident(&t.rust_name);
    let fields = s.fields.iter().map(|f| {
        let doc = field_doc(f);
        let fname = ident(&f.rust_name);
        let ty = rust_type(&f.ty, model);
        let serde_attr = super::serde::field_attr(opts.serde, &f.ty, model);
        let arbitrary_attr = super::arbitrary::field_attr(opts.arbitrary, &f.ty, model);
        quote! {
            #doc
            #serde_attr
            #arbitrary_attr
            pub #fname: #ty,
        }
    });
    let (enc, dec) = if s.fields.is_empty() {
        (quote!(_enc), quote!(_dec))
    } else {
        (quote!(enc), quote!(dec))
    };
    let encodes = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let path = path(&t.rust_name, f);
        quote!(enc.field(#path, &self.#fname)?;)
    });
    let decodes = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let path = path(&t.rust_name, f);
        quote!(#fname: dec.field(#path)?,)
    });
    let mut hints = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        quote!(::xdr_codec::XdrEncode::encoded_len_hint(&self.#fname))
    });
    let hint = match hints.next() {
        Some(first) => quote!(#first #(+ #hints)*),
        None => quote!(0),
    };
    let min = min_len(s.fields.iter().map(|f| &f.ty), model);
    let derive_serde = super::serde::derive(opts.serde);
    let derive_arbitrary = super::arbitrary::derive(opts.arbitrary);
    let extra = derives.extra(&t.rust_name, true);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq #extra)]
        #derive_serde
        #derive_arbitrary
        pub struct #name {
            #(#fields)*
        }

        impl ::xdr_codec::XdrEncode for #name {
            fn encode(&self, #enc: &mut ::xdr_codec::Encoder<'_>) -> ::xdr_codec::Result<()> {
                #(#encodes)*
                ::core::result::Result::Ok(())
            }

            fn encoded_len_hint(&self) -> usize {
                #hint
            }
        }

        impl ::xdr_codec::XdrDecode for #name {
            const MIN_ENCODED_LEN: usize = #min;

            fn decode(#dec: &mut ::xdr_codec::Decoder) -> ::xdr_codec::Result<Self> {
                ::core::result::Result::Ok(Self {
                    #(#decodes)*
                })
            }
        }
    }
}

/// [`structure`] as formatted text, for a struct with fields and a
/// known minimum length, without serde or `Arbitrary` attributes, whose
/// every line fits in the margin; `None` otherwise.
pub(super) fn structure_text(
    t: &TypeItem,
    s: &Struct,
    model: &Model,
    derives: &Derives,
    opts: &EmitOptions,
) -> Option<String> {
    if opts.serde || opts.arbitrary || s.fields.is_empty() {
        return None;
    }
    let min = min_len_known(s.fields.iter().map(|f| &f.ty), model)?.to_string();
    let name = ident(&t.rust_name).to_string();
    let fields: Vec<(String, String, String)> = s
        .fields
        .iter()
        .map(|f| {
            let ty = tokens_text(&rust_type(&f.ty, model))?;
            let fname = ident(&f.rust_name).to_string();
            Some((fname, ty, path(&t.rust_name, f).to_string()))
        })
        .collect::<Option<_>>()?;
    let mut out = Lines::new();
    out.docs(0, &docs::doc_lines(&summary(t, s), &t.doc))?;
    let mut derive = String::from("#[derive(Debug, Clone, PartialEq");
    for d in derives.extra_names(&t.rust_name, true) {
        derive.push_str(", ");
        derive.push_str(d);
    }
    out.line(0, &[&derive, ")]"])?;
    out.line(0, &["pub struct ", &name, " {"])?;
    for (f, (fname, ty, _)) in s.fields.iter().zip(&fields) {
        out.docs(1, &docs::doc_lines(&format!("`{}`", f.decl_text), &f.doc))?;
        if out.line(1, &["pub ", fname, ": ", ty, ","]).is_none() {
            // A generic type too long for the line: an argument a line.
            let (head, args) = generic_args(ty)?;
            out.line(1, &["pub ", fname, ": ", head, "<"])?;
            for a in args {
                out.line(2, &[a, ","])?;
            }
            out.line(1, &[">,"])?;
        }
    }
    out.line(0, &["}"])?;
    out.encode_impl(&name)?;
    for (fname, _, path) in &fields {
        if out
            .line(2, &["enc.field(", path, ", &self.", fname, ")?;"])
            .is_none()
        {
            out.line(2, &["enc.field("])?;
            out.line(3, &[path, ","])?;
            out.line(3, &["&self.", fname, ","])?;
            out.line(2, &[")?;"])?;
        }
    }
    out.line(2, &["::core::result::Result::Ok(())"])?;
    out.line(1, &["}"])?;
    out.line(1, &["fn encoded_len_hint(&self) -> usize {"])?;
    for (i, (fname, _, _)) in fields.iter().enumerate() {
        let hint = [
            "::xdr_codec::XdrEncode::encoded_len_hint(&self.",
            fname,
            ")",
        ];
        if i == 0 {
            out.line(2, &hint)?;
        } else {
            out.line(3, &["+ ", hint[0], hint[1], hint[2]])?;
        }
    }
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    out.decode_impl(&name, &min)?;
    // The struct expression on one line where it is short (`Self { `, the
    // fields and a space within `STRUCT_EXPR_WIDTH`) and fits, else a field
    // a line.
    let inits: Vec<(&str, String)> = fields
        .iter()
        .map(|(fname, _, path)| (fname.as_str(), format!("dec.field({path})?")))
        .collect();
    let inline = inits
        .iter()
        .map(|(f, v)| format!("{f}: {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let short = "Self { ".len() + inline.len() + " ".len() <= STRUCT_EXPR_WIDTH;
    let one_line = format!("::core::result::Result::Ok(Self {{ {inline} }})");
    if !short || out.line(2, &[&one_line]).is_none() {
        out.line(2, &["::core::result::Result::Ok(Self {"])?;
        for (i, (f, v)) in inits.iter().enumerate() {
            // The `,` after the last field is not counted (it is only
            // written when the expression is broken), the others are.
            let fits = if i + 1 == inits.len() {
                out.comma_line(3, &[f, ": ", v])
            } else {
                out.line(3, &[f, ": ", v, ","])
            };
            if fits.is_none() {
                // The method call on a line of its own.
                out.line(3, &[f, ": dec"])?;
                out.line(4, &[&v["dec".len()..], ","])?;
            }
        }
        out.line(2, &["})"])?;
    }
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    Some(out.finish())
}

/// `Path<A, B>` split into `Path` and its top-level arguments `A`, `B`
/// (as [`tokens_text`] writes them); `None` for a type of another shape.
fn generic_args(ty: &str) -> Option<(&str, Vec<&str>)> {
    let open = ty.find('<')?;
    let inner = ty.strip_suffix('>')?.get(open + 1..)?;
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '[' | '(' | '{' => depth += 1,
            '>' | ']' | ')' | '}' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    Some((&ty[..open], args))
}
