//! Top-level definitions: `const`, `typedef`, `enum`, `struct`, `union`
//! (RFC 4506 section 6.3) and `program` (RFC 5531 section 12), plus the
//! dialect wrappers: Stellar/xdrpp `namespace NAME { ... }` (its
//! definitions are taken as if written at the top level) and Linux kernel
//! xdrgen `pragma ...;` statements (ignored).

use super::cursor::{PResult, Parser};
use crate::ast::{ConstDef, Definition, Doc, Ident, TypeDef, TypeDefKind, Value};
use crate::diagnostic::Diagnostic;
use crate::lexer::{Punct, TokenKind};

/// What a top-level definition may start with, for error messages.
const DEFINITION_START: &str =
    "a definition (`const`, `typedef`, `enum`, `struct`, `union` or `program`)";

impl Parser {
    /// The whole input: definitions up to the end of file.
    pub(crate) fn specification(&mut self) -> Vec<Definition> {
        let mut defs = Vec::new();
        self.definitions(&mut defs, false);
        defs
    }

    /// Definitions up to the end of file, or up to (not past) a `}` when
    /// `in_braces`.
    fn definitions(&mut self, defs: &mut Vec<Definition>, in_braces: bool) {
        while !(self.at_eof() || in_braces && self.at(Punct::RBrace)) {
            if self.definition(defs).is_err() {
                self.recover_top();
            }
        }
    }

    fn definition(&mut self, defs: &mut Vec<Definition>) -> PResult<()> {
        let doc = self.take_doc();
        let Some(word) = self.word().map(str::to_owned) else {
            return Err(self.error_expected_labeled(DEFINITION_START, "expected a definition"));
        };
        match word.as_str() {
            "const" => {
                self.bump();
                let name = self.expect_ident("a constant name")?;
                self.expect(Punct::Eq)?;
                let value = match &self.peek().kind {
                    // rpcgen: `const NAME = "text";` becomes a string #define.
                    TokenKind::Str(text) => {
                        let value = Value::Str {
                            value: text.clone(),
                            span: self.span(),
                        };
                        self.bump();
                        value
                    }
                    _ => self.value("a constant value")?,
                };
                self.expect(Punct::Semi)?;
                let mut doc = doc;
                self.trailing_doc(&mut doc);
                defs.push(Definition::Const(ConstDef { name, value, doc }));
            }
            "typedef" => {
                let kw = self.span();
                self.bump();
                let decl = self.declaration()?;
                self.expect(Punct::Semi)?;
                let mut doc = doc;
                self.trailing_doc(&mut doc);
                let Some(name) = decl.name.clone() else {
                    let d = Diagnostic::error(kw.to(decl.span), "`typedef void` defines nothing")
                        .with_label("a typedef needs a name");
                    return Err(self.error(d));
                };
                defs.push(type_def(name, TypeDefKind::Typedef(decl), doc));
            }
            "enum" => {
                self.bump();
                let name = self.expect_ident("an enum name")?;
                let body = self.nested(Self::enum_body)?;
                self.end_of_type_definition("enum");
                defs.push(type_def(name, TypeDefKind::Enum(body), doc));
            }
            "struct" => {
                self.bump();
                let name = self.expect_ident("a struct name")?;
                let body = self.nested(Self::struct_body)?;
                self.end_of_type_definition("struct");
                defs.push(type_def(name, TypeDefKind::Struct(body), doc));
            }
            "union" => {
                self.bump();
                let name = self.expect_ident("a union name")?;
                let body = self.nested(Self::union_body)?;
                self.end_of_type_definition("union");
                defs.push(type_def(name, TypeDefKind::Union(body), doc));
            }
            "program" => {
                let program = self.nested(|p| p.program(doc))?;
                defs.push(Definition::Program(program));
            }
            "namespace" => {
                self.bump();
                self.expect_ident("a namespace name")?;
                self.expect(Punct::LBrace)?;
                self.nested(|p| {
                    p.definitions(defs, true);
                    Ok(())
                })?;
                self.expect(Punct::RBrace)?;
                self.eat(Punct::Semi);
            }
            "pragma" => {
                // Linux kernel xdrgen: `pragma header nfs4;` and friends.
                while !self.at_eof() && !self.eat(Punct::Semi) {
                    self.bump();
                }
            }
            _ => {
                let failed = self.error_expected_labeled(DEFINITION_START, "expected a definition");
                if let Some(kw) = closest_keyword(&word) {
                    self.hint_last(format!("did you mean `{kw}`?"));
                }
                return Err(failed);
            }
        }
        Ok(())
    }

    /// The `;` after a type definition's closing `}`. When it is missing
    /// the definition is still kept, so only one error is reported.
    fn end_of_type_definition(&mut self, what: &str) {
        if !self.eat(Punct::Semi) {
            let d = Diagnostic::error(
                self.prev_span().end_point(),
                format!(
                    "expected `;` after the {what} definition, found {}",
                    self.describe_current()
                ),
            )
            .with_label("expected `;`");
            let _ = self.error(d);
        }
    }
}

/// The definition keyword `word` is probably a misspelling of.
fn closest_keyword(word: &str) -> Option<&'static str> {
    const KEYWORDS: [&str; 7] = [
        "const",
        "typedef",
        "enum",
        "struct",
        "union",
        "program",
        "namespace",
    ];
    closest(word, &KEYWORDS)
}

/// The one of `candidates` that `word` is probably a misspelling of.
pub(super) fn closest(word: &str, candidates: &[&'static str]) -> Option<&'static str> {
    candidates
        .iter()
        .map(|&kw| (edit_distance(word, kw), kw))
        .filter(|&(d, kw)| d <= 2 && d < kw.len() / 2 + 1)
        .min_by_key(|&(d, _)| d)
        .map(|(_, kw)| kw)
}

/// Levenshtein distance (for short words).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn type_def(name: Ident, kind: TypeDefKind, doc: Doc) -> Definition {
    Definition::Type(TypeDef { name, kind, doc })
}
