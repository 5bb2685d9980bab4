//! Types and declarations (RFC 4506 section 6.3): type specifiers, the
//! declaration forms, enum, struct and union bodies, and constant values.

use super::cursor::{PResult, Parser, MAX_NESTING, RESERVED};
use super::definition::closest;
use crate::ast::{
    Declaration, EnumBody, EnumMember, Ident, Shape, StructBody, TypeSpec, UnionArm, UnionBody,
    Value,
};
use crate::diagnostic::Diagnostic;
use crate::lexer::{Punct, TokenKind};

/// The words `unsigned` takes.
const UNSIGNED_TYPES: [&str; 5] = ["int", "hyper", "long", "short", "char"];

/// ocamlrpcgen's type prefixes, refused with a message naming them.
const OCAML_PREFIXES: &[&str] = &["_int64", "_int32", "_unboxed", "_managed", "_abstract"];

impl Parser {
    /// `value`: a number (optionally negative) or a constant name. Scoped
    /// names (`::RED`, `color::RED`, xdrpp) yield their last component.
    pub(crate) fn value(&mut self, what: &str) -> PResult<Value> {
        let start = self.span();
        if self.eat(Punct::Minus) {
            return match self.peek().kind {
                TokenKind::Number(v, radix) => {
                    let span = start.to(self.span());
                    self.bump();
                    Ok(Value::Literal {
                        value: -v,
                        radix,
                        span,
                    })
                }
                _ => Err(self.error_expected("a number after `-`")),
            };
        }
        match &self.peek().kind {
            TokenKind::Number(v, radix) => {
                let (value, radix) = (*v, *radix);
                self.bump();
                Ok(Value::Literal {
                    value,
                    radix,
                    span: start,
                })
            }
            TokenKind::Punct(Punct::ColonColon) => {
                self.bump();
                self.scoped_name()
            }
            TokenKind::Ident(n) if !RESERVED.contains(&n.as_str()) => self.scoped_name(),
            _ => Err(self.error_expected(what)),
        }
    }

    fn scoped_name(&mut self) -> PResult<Value> {
        let mut id = self.expect_ident("a constant name")?;
        while self.at(Punct::ColonColon) {
            self.bump();
            id = self.expect_ident("a name after `::`")?;
        }
        Ok(Value::Named(id))
    }

    /// A type specifier, including rpcgen's C spellings and anonymous
    /// inline `enum`/`struct`/`union` bodies.
    pub(crate) fn type_spec(&mut self) -> PResult<TypeSpec> {
        let Some(word) = self.word().map(str::to_owned) else {
            return Err(self.error_expected("a type"));
        };
        let span = self.span();
        let simple = match word.as_str() {
            "int" => Some(TypeSpec::Int),
            "hyper" => Some(TypeSpec::Hyper),
            "float" => Some(TypeSpec::Float),
            "double" => Some(TypeSpec::Double),
            "quadruple" => Some(TypeSpec::Quadruple),
            "bool" => Some(TypeSpec::Bool),
            "void" => Some(TypeSpec::Void),
            "opaque" => Some(TypeSpec::Opaque),
            "string" => Some(TypeSpec::String),
            _ => None,
        };
        if let Some(ty) = simple {
            self.bump();
            return Ok(ty);
        }
        match word.as_str() {
            "unsigned" => {
                self.bump();
                self.unsigned_tail()
            }
            "long" => {
                self.bump();
                let ty = if self.eat_kw("long") {
                    TypeSpec::Hyper
                } else {
                    TypeSpec::Int
                };
                self.eat_kw("int");
                Ok(ty)
            }
            "short" => {
                self.bump();
                self.eat_kw("int");
                Ok(TypeSpec::Short)
            }
            "char" => {
                self.bump();
                Ok(TypeSpec::Char)
            }
            "enum" => {
                self.bump();
                if self.at(Punct::LBrace) {
                    Ok(TypeSpec::Enum(self.nested(Self::enum_body)?))
                } else {
                    Ok(TypeSpec::Named(self.expect_ident("an enum name or `{`")?))
                }
            }
            "struct" => {
                self.bump();
                if self.at(Punct::LBrace) {
                    Ok(TypeSpec::Struct(self.nested(Self::struct_body)?))
                } else {
                    Ok(TypeSpec::Named(self.expect_ident("a struct name or `{`")?))
                }
            }
            "union" => {
                self.bump();
                if self.at_kw("switch") {
                    Ok(TypeSpec::Union(Box::new(self.nested(Self::union_body)?)))
                } else {
                    Ok(TypeSpec::Named(
                        self.expect_ident("a union name or `switch`")?,
                    ))
                }
            }
            w if OCAML_PREFIXES.contains(&w) => Err(self.error(
                Diagnostic::error(
                    span,
                    format!("`{w}` is an ocamlrpcgen extension and is not supported"),
                )
                .with_label("ocamlrpcgen type annotation")
                .with_hint(format!(
                    "remove `{w}`; it only changes the OCaml mapping, not the XDR encoding"
                )),
            )),
            w if RESERVED.contains(&w) => Err(self.error_expected("a type")),
            _ => {
                self.bump();
                Ok(TypeSpec::Named(Ident { name: word, span }))
            }
        }
    }

    /// What follows `unsigned`: `int`, `hyper`, `long [long]`, `short`,
    /// `char`, or nothing (plain `unsigned` is `unsigned int`). A name
    /// followed by another name (`unsigned hyperr x`) was meant as the
    /// type and is refused.
    fn unsigned_tail(&mut self) -> PResult<TypeSpec> {
        Ok(if self.eat_kw("int") {
            TypeSpec::UnsignedInt
        } else if self.eat_kw("hyper") {
            TypeSpec::UnsignedHyper
        } else if self.eat_kw("long") {
            let ty = if self.eat_kw("long") {
                TypeSpec::UnsignedHyper
            } else {
                TypeSpec::UnsignedInt
            };
            self.eat_kw("int");
            ty
        } else if self.eat_kw("short") {
            self.eat_kw("int");
            TypeSpec::UnsignedShort
        } else if self.eat_kw("char") {
            TypeSpec::UnsignedChar
        } else if let (
            TokenKind::Ident(word),
            TokenKind::Ident(_) | TokenKind::Punct(Punct::Star),
        ) = (&self.peek().kind, &self.nth(1).kind)
        {
            let hint = match closest(word, &UNSIGNED_TYPES) {
                Some(t) => format!("did you mean `unsigned {t}`?"),
                None => "write `unsigned int`, `unsigned hyper`, `unsigned long`, `unsigned short` or `unsigned char`".to_owned(),
            };
            let d = Diagnostic::error(self.span(), format!("`{word}` is not a type"))
                .with_label("not a type `unsigned` can take")
                .with_hint(hint);
            return Err(self.error(d));
        } else {
            TypeSpec::UnsignedInt
        })
    }

    /// Runs `f` one nesting level deeper, refusing absurd nesting.
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            let d = Diagnostic::error(self.span(), "type definitions nested too deeply")
                .with_label(format!("more than {MAX_NESTING} levels"));
            return Err(self.error(d));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// A declaration (without the trailing `;`): `void`, `T name`,
    /// `T name[N]`, `T name<M>`, `T name<>`, `T *name`.
    pub(crate) fn declaration(&mut self) -> PResult<Declaration> {
        let doc = self.take_doc();
        let start = self.span();
        let ty = self.type_spec()?;
        if ty == TypeSpec::Void && !self.at(Punct::Star) {
            // `void x` is not XDR; the checker says why, for the place it
            // appears in (a struct field, a union arm, a typedef).
            let name = match &self.peek().kind {
                TokenKind::Ident(n) if !RESERVED.contains(&n.as_str()) => {
                    Some(self.expect_ident("a name")?)
                }
                _ => None,
            };
            return Ok(Declaration {
                name,
                ty,
                shape: Shape::Plain,
                doc,
                span: start.to(self.prev_span()),
            });
        }
        let optional = self.eat(Punct::Star);
        let name = self.expect_ident("a name for the declaration")?;
        let shape = if optional {
            Shape::Optional
        } else if self.eat(Punct::LBracket) {
            let size = self.value("an array size")?;
            self.expect(Punct::RBracket)?;
            Shape::FixedArray(size)
        } else if self.eat(Punct::LAngle) {
            if self.eat(Punct::RAngle) {
                Shape::VarArray(None)
            } else {
                let max = self.value("a maximum size or `>`")?;
                self.expect(Punct::RAngle)?;
                Shape::VarArray(Some(max))
            }
        } else {
            Shape::Plain
        };
        if self.at(Punct::FatArrow) {
            let d = Diagnostic::error(
                self.span(),
                "`=> name` field renaming is an ocamlrpcgen extension and is not supported",
            )
            .with_label("ocamlrpcgen field renaming")
            .with_hint("remove `=> name`; the XDR encoding does not depend on it");
            return Err(self.error(d));
        }
        Ok(Declaration {
            name: Some(name),
            ty,
            shape,
            doc,
            span: start.to(self.prev_span()),
        })
    }

    /// `{ NAME [= value], ... }` (a trailing comma is accepted).
    pub(crate) fn enum_body(&mut self) -> PResult<EnumBody> {
        let open = self.expect(Punct::LBrace)?;
        let mut members = Vec::new();
        while !self.at(Punct::RBrace) && !self.at_eof() {
            let mut member = match self.enum_member() {
                Ok(m) => m,
                Err(_) => {
                    self.recover_enum_member();
                    continue;
                }
            };
            let comma = self.eat(Punct::Comma);
            self.trailing_doc(&mut member.doc);
            members.push(member);
            if !comma && !self.at(Punct::RBrace) {
                let _ = self.error_expected("`,` or `}`");
                self.recover_enum_member();
            }
        }
        let close = self.expect(Punct::RBrace)?;
        Ok(EnumBody {
            members,
            span: open.to(close),
        })
    }

    fn enum_member(&mut self) -> PResult<EnumMember> {
        let doc = self.take_doc();
        let name = self.expect_ident("an enum member name")?;
        let value = if self.eat(Punct::Eq) {
            Some(self.value("a value")?)
        } else {
            None
        };
        Ok(EnumMember { name, value, doc })
    }

    /// Skips past the next `,`, or to the `}` or `;` ending the enum.
    fn recover_enum_member(&mut self) {
        while !self.at_eof() && !self.at(Punct::RBrace) && !self.at(Punct::Semi) {
            let comma = self.at(Punct::Comma);
            self.bump();
            if comma {
                return;
            }
        }
        if self.at(Punct::Semi) {
            // A `;` inside an enum: most likely the `}` was forgotten.
            self.bump();
        }
    }

    /// `{ declaration; ... }`.
    pub(crate) fn struct_body(&mut self) -> PResult<StructBody> {
        let open = self.expect(Punct::LBrace)?;
        let mut fields = Vec::new();
        while !self.at(Punct::RBrace) && !self.at_eof() {
            match self
                .declaration()
                .and_then(|d| self.expect(Punct::Semi).map(|_| d))
            {
                Ok(mut d) => {
                    self.trailing_doc(&mut d.doc);
                    fields.push(d);
                }
                Err(_) => self.recover_in_body(),
            }
        }
        let close = self.expect(Punct::RBrace)?;
        Ok(StructBody {
            fields,
            span: open.to(close),
        })
    }

    /// `switch (declaration) { case v: [case w:] declaration; ... [default: declaration;] }`.
    pub(crate) fn union_body(&mut self) -> PResult<UnionBody> {
        let start = self.expect_kw("switch")?;
        self.expect(Punct::LParen)?;
        let discriminant = self.declaration()?;
        self.expect(Punct::RParen)?;
        self.expect(Punct::LBrace)?;
        let mut arms = Vec::new();
        let mut default: Option<crate::ast::Declaration> = None;
        while !self.at(Punct::RBrace) && !self.at_eof() {
            match self.union_arm() {
                Ok(Arm::Cases(arm)) => arms.push(arm),
                Ok(Arm::Default(decl, span)) => {
                    if default.is_some() {
                        let d = Diagnostic::error(span, "a union has at most one `default` arm")
                            .with_label("second `default`");
                        let _ = self.error(d);
                    }
                    default = Some(decl);
                }
                Err(_) => self.recover_in_body(),
            }
        }
        let close = self.expect(Punct::RBrace)?;
        Ok(UnionBody {
            discriminant,
            arms,
            default,
            span: start.to(close),
        })
    }

    fn union_arm(&mut self) -> PResult<Arm> {
        let label_doc = self.take_doc();
        if self.at_kw("default") {
            let span = self.span();
            self.bump();
            self.expect(Punct::Colon)?;
            let mut decl = self.declaration()?;
            self.expect(Punct::Semi)?;
            if decl.doc.is_empty() {
                decl.doc = label_doc;
            }
            self.trailing_doc(&mut decl.doc);
            return Ok(Arm::Default(decl, span));
        }
        if !self.at_kw("case") {
            return Err(self.error_expected("`case`, `default` or `}`"));
        }
        let mut cases = Vec::new();
        while self.eat_kw("case") {
            cases.push(self.value("a case value")?);
            self.expect(Punct::Colon)?;
        }
        let mut decl = self.declaration()?;
        self.expect(Punct::Semi)?;
        if decl.doc.is_empty() {
            decl.doc = label_doc;
        }
        self.trailing_doc(&mut decl.doc);
        Ok(Arm::Cases(UnionArm { cases, decl }))
    }
}

/// One parsed union arm.
enum Arm {
    Cases(UnionArm),
    Default(crate::ast::Declaration, crate::source::Span),
}
