//! Formatted source written directly, for the regular shapes whose layout
//! `prettyplease` is known to give: lines within its margin, and the few
//! breaks it makes in these shapes (a long call's argument, generic
//! arguments, a match arm in a block). A template that cannot promise the
//! layout (a line that would need another break, a token it does not
//! print) returns `None` and its item takes the `quote!` + `syn` +
//! `prettyplease` path; both paths give the same bytes (the tests compare
//! them on every spec at hand and at every name length from 1 to 80).
//!
//! Parsing the generated tokens back with `syn` is most of the compiler's
//! time on large specs; constants, typedefs, structs, enums and unions, the
//! bulk of every large spec, skip it.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// `prettyplease`'s line width: a line of at most this many bytes is
/// never broken.
const MARGIN: usize = 89;

/// The widest struct expression (`Self { a: x, b: y }` up to its `}`)
/// that `prettyplease` keeps on one line.
pub(super) const STRUCT_EXPR_WIDTH: usize = 34;

/// Text built line by line, refused as soon as a code line is too long.
#[derive(Debug, Default)]
pub(super) struct Lines {
    out: String,
}

impl Lines {
    /// An empty text.
    pub(super) fn new() -> Self {
        Lines::default()
    }

    /// Appends one code line of `indent` levels (four spaces each);
    /// `None` when it would not fit in the margin.
    pub(super) fn line(&mut self, indent: usize, parts: &[&str]) -> Option<()> {
        let len = indent * 4 + parts.iter().map(|p| p.len()).sum::<usize>();
        if len > MARGIN {
            return None;
        }
        self.out.extend(std::iter::repeat_n("    ", indent));
        self.out.extend(parts.iter().copied());
        self.out.push('\n');
        Some(())
    }

    /// Appends a line of a template's fixed text that `prettyplease`
    /// prints as it is even past the margin (nothing in it can break).
    pub(super) fn fixed(&mut self, indent: usize, text: &str) {
        self.out.extend(std::iter::repeat_n("    ", indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Appends the opening lines of `impl XdrEncode for name` and of its
    /// `fn encode`.
    pub(super) fn encode_impl(&mut self, name: &str) -> Option<()> {
        self.line(0, &["impl ::xdr_codec::XdrEncode for ", name, " {"])?;
        self.line(
            1,
            &["fn encode(&self, enc: &mut ::xdr_codec::Encoder<'_>) -> ::xdr_codec::Result<()> {"],
        )
    }

    /// Appends the opening lines of `impl XdrDecode for name`, its
    /// `MIN_ENCODED_LEN` (`min`) and the opening line of its `fn decode`.
    pub(super) fn decode_impl(&mut self, name: &str, min: &str) -> Option<()> {
        self.line(0, &["impl ::xdr_codec::XdrDecode for ", name, " {"])?;
        self.line(1, &["const MIN_ENCODED_LEN: usize = ", min, ";"])?;
        self.line(
            1,
            &["fn decode(dec: &mut ::xdr_codec::Decoder) -> ::xdr_codec::Result<Self> {"],
        )
    }

    /// Appends a line ending in a separating `,` (a match arm, a field of
    /// a struct expression): `parts` and the `,`; `None` when `parts` do
    /// not fit in the margin (the `,` may pass it).
    pub(super) fn comma_line(&mut self, indent: usize, parts: &[&str]) -> Option<()> {
        self.line(indent, parts)?;
        self.out.insert(self.out.len() - 1, ',');
        Some(())
    }

    /// Appends the match arm `pat => body,` as `prettyplease` lays it
    /// out: on one line if it fits, else `body` in a block. `None` when
    /// `body` does not fit even so.
    pub(super) fn arm(&mut self, indent: usize, pat: &str, body: &str) -> Option<()> {
        if self.comma_line(indent, &[pat, " => ", body]).is_some() {
            return Some(());
        }
        self.line(indent, &[pat, " => {"])?;
        self.line(indent + 1, &[body])?;
        self.line(indent, &["}"])
    }

    /// Appends `pat => ::core::result::Result::Ok(value),`, a match arm
    /// at `indent` levels, as `prettyplease` lays it out: on one line if
    /// it fits, else the call in a block, broken as [`Lines::call`]
    /// breaks it.
    pub(super) fn ok_arm(&mut self, indent: usize, pat: &str, value: &str) -> Option<()> {
        let call = format!("::core::result::Result::Ok({value})");
        if self.comma_line(indent, &[pat, " => ", &call]).is_some() {
            return Some(());
        }
        let mut block = Lines::new();
        block.line(indent, &[pat, " => {"])?;
        block.call(indent + 1, &call, "")?;
        block.line(indent, &["}"])?;
        self.out.push_str(&block.out);
        Some(())
    }

    /// Appends `call` (`path(argument)`) and `tail` (nothing, or the `,`
    /// after an argument, which may pass the margin) as `prettyplease`
    /// breaks a call too long for its line: the argument on a line of its
    /// own, broken the same way if it is a call. `None` when a part that
    /// is not a call does not fit.
    fn call(&mut self, indent: usize, call: &str, tail: &str) -> Option<()> {
        if self.line(indent, &[call]).is_some() {
            self.out.insert_str(self.out.len() - 1, tail);
            return Some(());
        }
        let open = call.find('(')?;
        let argument = call.strip_suffix(')')?.get(open + 1..)?;
        self.line(indent, &[&call[..=open]])?;
        self.call(indent + 1, argument, ",")?;
        self.line(indent, &[")", tail])
    }

    /// Appends doc lines as `prettyplease` prints `#[doc = "..."]`
    /// attributes (`///` and the text, trailing spaces dropped; a doc line
    /// may be longer than the margin). `None` for a line it would print
    /// another way (one holding a line break or starting with `/`).
    pub(super) fn docs(&mut self, indent: usize, lines: &[String]) -> Option<()> {
        for l in lines {
            if l.contains('\n') || l.starts_with('/') {
                return None;
            }
            self.out.extend(std::iter::repeat_n("    ", indent));
            self.out.push_str("///");
            self.out.push_str(l.trim_end_matches(' '));
            self.out.push('\n');
        }
        Some(())
    }

    /// The text.
    pub(super) fn finish(self) -> String {
        self.out
    }
}

/// An item of doc lines and a one-line declaration (`pub const N: u32 =
/// 5;`, `pub type T = u32;`) as formatted text, when the line fits.
pub(super) fn item_text(doc: &[String], decl: &TokenStream) -> Option<String> {
    let mut out = Lines::new();
    out.docs(0, doc)?;
    out.line(0, &[tokens_text(decl)?.trim_end()])?;
    Some(out.finish())
}

/// A type, a pattern or a short expression as `prettyplease` prints it
/// within one line: `::xdr_codec::VarArray<Entry, { MAX }>`, `[u8;
/// FHSIZE as usize]`, `Nfsstat4::Nfs4Ok`, `i64::from(*discriminant)`,
/// `enc.put_u32(1); ` (a space after every `,` and `;`).
/// `None` for tokens outside what the templates write for `.x` types,
/// labels, constants and discriminants (lifetimes, operators, ... from an
/// `--extern-type`).
pub(super) fn tokens_text(tokens: &TokenStream) -> Option<String> {
    let mut out = String::new();
    write_tokens(tokens, &mut out)?;
    Some(out)
}

fn write_tokens(tokens: &TokenStream, out: &mut String) -> Option<()> {
    // Whether the previous token was a word (identifier or literal): two
    // words in a row are separated by a space (`N as usize`).
    let mut after_word = false;
    let mut joint_colon = false;
    for tt in tokens.clone() {
        let word = matches!(tt, TokenTree::Ident(_) | TokenTree::Literal(_));
        match &tt {
            TokenTree::Ident(i) => {
                if after_word {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
            }
            TokenTree::Literal(l) => {
                if after_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
            }
            TokenTree::Punct(p) => {
                let c = p.as_char();
                match c {
                    ':' if joint_colon || p.spacing() == Spacing::Joint => out.push(':'),
                    ':' => out.push_str(": "),
                    // Not `=>`, `==`, `->`, `-=`: operators it does not print.
                    '=' if p.spacing() == Spacing::Alone => out.push_str(" = "),
                    '-' if !after_word && p.spacing() == Spacing::Alone => out.push('-'),
                    '<' | '>' | '*' | '!' | '&' | '.' | '?' => out.push(c),
                    ',' | ';' => {
                        out.push(c);
                        out.push(' ');
                    }
                    _ => return None,
                }
                joint_colon = c == ':' && p.spacing() == Spacing::Joint;
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => return None,
                };
                out.push_str(open);
                write_tokens(&g.stream(), out)?;
                out.push_str(close);
            }
        }
        if !matches!(tt, TokenTree::Punct(_)) {
            joint_colon = false;
        }
        after_word = word;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    #[test]
    fn types_print_as_prettyplease_prints_them() {
        let cases = [
            quote!(::xdr_codec::VarArray<Entry, { MAX }>),
            quote!([u8; FHSIZE as usize]),
            quote!(::core::option::Option<::std::boxed::Box<Node>>),
            quote!([[u8; 4]; 2]),
            quote!(()),
            quote!(r#type),
            quote!(dyn Fn(u32)),
        ];
        for ty in cases {
            let file: syn::File = syn::parse_quote!(pub type T = #ty;);
            let expected = prettyplease::unparse(&file);
            let text = tokens_text(&ty).expect("printable");
            assert_eq!(format!("pub type T = {text};\n"), expected);
        }
    }

    #[test]
    fn other_tokens_are_refused() {
        assert_eq!(tokens_text(&quote!(&'static str)), None);
        assert_eq!(tokens_text(&quote!(a + b)), None);
        assert_eq!(tokens_text(&quote!(a => b)), None);
        assert_eq!(tokens_text(&quote!(fn f() -> u32)), None);
    }

    /// The `.x` files at hand: Debian's rpcsvc files, libtirpc's
    /// `rpcb_prot.x`, the project's specs and, when `XDRGEN_CORPUS` names
    /// it, the real-world corpus.
    fn spec_files() -> Vec<std::path::PathBuf> {
        let x_files = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
            let mut v: Vec<_> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            v.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "x"));
            v.sort();
            v
        };
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![
            std::path::PathBuf::from("/usr/include/rpcsvc"),
            std::path::PathBuf::from("/usr/include/tirpc/rpc"),
            manifest.join("../specs"),
            manifest.join("tests/specs"),
        ];
        if let Some(corpus) = std::env::var_os("XDRGEN_CORPUS").filter(|c| !c.is_empty()) {
            let mut sub: Vec<_> = std::fs::read_dir(&corpus)
                .expect("XDRGEN_CORPUS is a directory")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            sub.sort();
            dirs.extend(sub);
        }
        dirs.iter().flat_map(|d| x_files(d)).collect()
    }

    /// Asserts that the direct text and `prettyplease` agree on `model`.
    fn assert_same(model: &crate::model::Model, what: &str) {
        let opts = super::super::EmitOptions::default();
        let direct = super::super::emit_with(model, &opts, true);
        let reference = super::super::emit_with(model, &opts, false);
        if direct != reference {
            let line = direct
                .lines()
                .zip(reference.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{what}: direct text differs from prettyplease at line {}:\n{}\n---\n{}",
                line + 1,
                direct
                    .lines()
                    .skip(line)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n"),
                reference
                    .lines()
                    .skip(line)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
    }

    #[test]
    fn direct_text_is_what_prettyplease_prints_at_every_name_length() {
        // Names from 1 to 80 characters put every line of every template
        // on both sides of the margin (and struct expressions on both
        // sides of their width).
        let mut x = String::new();
        for n in 1..=80 {
            let w = "x".repeat(n);
            x.push_str(&format!(
                "struct s{w} {{ int f{w}; }};\n\
                 struct t{w} {{ int f{w}; unsigned hyper g; opaque h<>; }};\n\
                 struct p{w} {{ int a; }};\n\
                 const m{w} = 5;\n\
                 const kn{w} = -0x10;\n\
                 const ko{w} = \"s{w}\";\n\
                 typedef l{w} ya{w}<m{w}>;\n\
                 typedef p{w} *yb{w};\n\
                 struct l{w} {{ p{w} a<m{w}>; t{w} b{w}<>; p{w} c{w}[m{w}]; opaque d{w}<m{w}>; }};\n\
                 struct q{w} {{ int a<m{w}>; int b; }};\n\
                 struct r{w} {{ int b; int a<m{w}>; }};\n\
                 struct o{w} {{ int b; int a{w}; }};\n\
                 enum e{w} {{ A{w} = 1, B{w} = 0, C{w} = -2, D{w}{w} = 3 }};\n\
                 union u{w} switch (e{w} d{w}) {{ case A{w}: int v{w}; case B{w}: void; default: void; }};\n\
                 union v{w} switch (int d) {{ case 1: s{w} v; case 2: void; }};\n\
                 union b{w} switch (bool d) {{ case TRUE: t{w} v{w}; default: void; }};\n\
                 union w{w} switch (e{w} d) {{ case A{w}: int v; default: p{w} f{w}; }};\n\
                 union z{w} switch (bool d) {{ case TRUE: int v; default: int f{w}; }};\n\
                 union c{w} switch (e{w} d) {{ case A{w}: void; case B{w}: void; case C{w}: void; }};\n\
                 union h{w} switch (unsigned hyper d) {{ case 0: void; case 7: p{w} v; }};\n",
            ));
        }
        let mut sources = crate::SourceMap::new();
        let spec = crate::parse_str("names.x", &x, &Default::default(), &mut sources)
            .expect("the spec parses");
        let model = crate::model::check(&spec).expect("the spec checks");
        assert_same(&model, "names.x");
    }

    #[test]
    fn direct_text_is_what_prettyplease_prints() {
        // The macros libvirt's C headers define for `remote_protocol.x`.
        let libvirt = [
            ("VIR_UUID_BUFLEN", "16"),
            ("VIR_SECURITY_MODEL_BUFLEN", "257"),
            ("VIR_SECURITY_LABEL_BUFLEN", "4097"),
            ("VIR_SECURITY_DOI_BUFLEN", "257"),
            ("VIR_TYPED_PARAM_INT", "1"),
            ("VIR_TYPED_PARAM_UINT", "2"),
            ("VIR_TYPED_PARAM_LLONG", "3"),
            ("VIR_TYPED_PARAM_ULLONG", "4"),
            ("VIR_TYPED_PARAM_DOUBLE", "5"),
            ("VIR_TYPED_PARAM_BOOLEAN", "6"),
            ("VIR_TYPED_PARAM_STRING", "7"),
        ];
        let mut parse = crate::ParseOptions::default();
        for (name, value) in libvirt {
            parse = parse.define(name, Some(value));
        }
        let mut compared = 0;
        for path in spec_files() {
            let mut sources = crate::SourceMap::new();
            let Ok(spec) = crate::parse_file(&path, &parse, &mut sources) else {
                continue;
            };
            let Ok(model) = crate::model::check(&spec) else {
                continue;
            };
            assert_same(&model, &path.display().to_string());
            compared += 1;
        }
        assert!(compared >= 15, "only {compared} specs compiled");
    }

    #[test]
    fn a_line_past_the_margin_is_refused() {
        let mut l = Lines::new();
        let long = "x".repeat(MARGIN - 4);
        assert_eq!(l.line(1, &[&long]), Some(()));
        assert_eq!(l.line(1, &[&long, "y"]), None);
    }
}
