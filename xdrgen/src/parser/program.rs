//! Program definitions (RFC 5531 section 12.2):
//! `program NAME { version NAME { RESULT PROC(ARGS) = N; ... } = N; ... } = N;`.
//!
//! Procedure arguments: `void`, one type, or several (rpcgen `-N`
//! "newstyle"); an argument may carry a name (`(int64_t lastrowid)`), which
//! is ignored.

use super::cursor::{PResult, Parser, RESERVED};
use crate::ast::{Doc, ProcedureDef, ProgramDef, TypeSpec, VersionDef};
use crate::diagnostic::Diagnostic;
use crate::lexer::{Punct, TokenKind};

impl Parser {
    /// `program NAME { version... } = number;` (the current token is
    /// `program`).
    pub(crate) fn program(&mut self, doc: Doc) -> PResult<ProgramDef> {
        self.expect_kw("program")?;
        let name = self.expect_ident("a program name")?;
        self.expect(Punct::LBrace)?;
        let mut versions = Vec::new();
        while !self.at(Punct::RBrace) && !self.at_eof() {
            match self.version() {
                Ok(v) => versions.push(v),
                Err(_) => self.recover_in_body(),
            }
        }
        let close = self.expect(Punct::RBrace)?;
        if versions.is_empty() {
            let d = Diagnostic::error(close, format!("program `{}` has no versions", name.name))
                .with_label("expected `version NAME { ... } = NUMBER;`");
            let _ = self.error(d);
        }
        if self.expect(Punct::Eq).is_err() {
            self.hint_last("a program definition ends with `} = NUMBER;`");
            return Err(super::cursor::Failed);
        }
        let number = self.value("a program number")?;
        self.expect(Punct::Semi)?;
        Ok(ProgramDef {
            name,
            number,
            versions,
            doc,
        })
    }

    fn version(&mut self) -> PResult<VersionDef> {
        let doc = self.take_doc();
        self.expect_kw("version")?;
        let name = self.expect_ident("a version name")?;
        self.expect(Punct::LBrace)?;
        let mut procedures = Vec::new();
        while !self.at(Punct::RBrace) && !self.at_eof() {
            match self.procedure() {
                Ok(p) => procedures.push(p),
                Err(_) => self.recover_in_body(),
            }
        }
        self.expect(Punct::RBrace)?;
        if self.expect(Punct::Eq).is_err() {
            self.hint_last("a version definition ends with `} = NUMBER;`");
            return Err(super::cursor::Failed);
        }
        let number = self.value("a version number")?;
        self.expect(Punct::Semi)?;
        Ok(VersionDef {
            name,
            number,
            procedures,
            doc,
        })
    }

    fn procedure(&mut self) -> PResult<ProcedureDef> {
        let doc = self.take_doc();
        let result = self.type_spec()?;
        let name = self.expect_ident("a procedure name")?;
        self.expect(Punct::LParen)?;
        let mut args = Vec::new();
        loop {
            let ty = self.type_spec()?;
            // rpcgen -N allows naming the argument; the name is not used.
            if matches!(&self.peek().kind, TokenKind::Ident(n) if !RESERVED.contains(&n.as_str())) {
                self.bump();
            }
            args.push(ty);
            if !self.eat(Punct::Comma) {
                break;
            }
        }
        self.expect(Punct::RParen)?;
        if args.len() == 1 && args.first() == Some(&TypeSpec::Void) {
            args.clear();
        }
        self.expect(Punct::Eq)?;
        let number = self.value("a procedure number")?;
        self.expect(Punct::Semi)?;
        let mut doc = doc;
        self.trailing_doc(&mut doc);
        Ok(ProcedureDef {
            name,
            result,
            args,
            number,
            doc,
        })
    }
}
