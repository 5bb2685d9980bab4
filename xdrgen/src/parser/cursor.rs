//! The parser's view of the token stream: peeking, expecting, error
//! messages ("expected X, found Y") and recovery.

use super::doc::Docs;
use crate::ast::{Doc, Ident};
use crate::diagnostic::Diagnostic;
use crate::lexer::{Punct, Token, TokenKind};
use crate::source::Span;

/// A parse error that has already been recorded as a diagnostic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failed;

/// The result of a parse step.
pub(crate) type PResult<T> = Result<T, Failed>;

/// Words that cannot be used as names (RFC 4506 section 6.4, RFC 5531
/// section 12.3, and rpcgen's type words).
pub(crate) const RESERVED: &[&str] = &[
    "bool",
    "case",
    "char",
    "const",
    "default",
    "double",
    "enum",
    "float",
    "hyper",
    "int",
    "long",
    "opaque",
    "quadruple",
    "short",
    "string",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
];

/// Syntax errors after which the parser stops (100, as many as are
/// rendered): a file of garbage would otherwise collect one per token.
pub(crate) const MAX_SYNTAX_ERRORS: usize = 100;

/// How deep anonymous types may nest before the parser refuses.
pub(crate) const MAX_NESTING: u32 = 64;

/// A cursor over significant tokens (comments already folded into docs).
#[derive(Debug)]
pub(crate) struct Parser {
    toks: Vec<Token>,
    docs: Docs,
    pos: usize,
    pub(crate) diags: Vec<Diagnostic>,
    /// Current nesting of bodies (struct/union/enum/program).
    pub(crate) depth: u32,
    /// Returned by `nth` if `toks` were ever empty (it never is).
    eof: Token,
}

impl Parser {
    /// A parser over `toks` (which must end with [`TokenKind::Eof`]).
    pub(crate) fn new(mut toks: Vec<Token>, mut docs: Docs) -> Self {
        if !matches!(
            toks.last(),
            Some(Token {
                kind: TokenKind::Eof,
                ..
            })
        ) {
            let span = toks
                .last()
                .map_or(Span::new(crate::source::FileId(0), 0, 0), |t| {
                    t.span.end_point()
                });
            toks.push(Token {
                kind: TokenKind::Eof,
                span,
                line: 1,
                end_line: 1,
            });
        }
        docs.leading.resize(toks.len(), Doc::new());
        docs.trailing.resize(toks.len(), Doc::new());
        let eof = Token {
            kind: TokenKind::Eof,
            span: toks
                .last()
                .map_or(Span::new(crate::source::FileId(0), 0, 0), |t| t.span),
            line: 1,
            end_line: 1,
        };
        Parser {
            toks,
            docs,
            pos: 0,
            diags: Vec::new(),
            depth: 0,
            eof,
        }
    }

    /// The current token (the final `Eof` once past the end).
    pub(crate) fn peek(&self) -> &Token {
        self.nth(0)
    }

    /// The token `n` places ahead.
    pub(crate) fn nth(&self, n: usize) -> &Token {
        let i = self.pos.saturating_add(n);
        // `new` guarantees the last token is `Eof`.
        self.toks.get(i).or(self.toks.last()).unwrap_or(&self.eof)
    }

    /// The doc comment before the current token (taken once).
    pub(crate) fn take_doc(&mut self) -> Doc {
        self.docs
            .leading
            .get_mut(self.pos)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Fills an empty `doc` from the comment trailing the previous token
    /// on its line (`int x; /* the x */`, after the `;` was consumed).
    pub(crate) fn trailing_doc(&mut self, doc: &mut Doc) {
        if doc.is_empty() {
            if let Some(t) = self
                .pos
                .checked_sub(1)
                .and_then(|i| self.docs.trailing.get_mut(i))
            {
                *doc = std::mem::take(t);
            }
        }
    }

    /// The current token's span.
    pub(crate) fn span(&self) -> Span {
        self.peek().span
    }

    /// The span of the previous token (the current one at the start).
    pub(crate) fn prev_span(&self) -> Span {
        self.toks
            .get(self.pos.wrapping_sub(1))
            .map_or(self.span(), |t| t.span)
    }

    /// Moves past the current token (never past `Eof`).
    pub(crate) fn bump(&mut self) {
        if !self.at_eof() {
            self.pos += 1;
        }
    }

    /// Whether the input is used up.
    pub(crate) fn at_eof(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
    }

    /// Whether the current token is `p`.
    pub(crate) fn at(&self, p: Punct) -> bool {
        self.peek().kind == TokenKind::Punct(p)
    }

    /// Whether the current token is the word `kw`.
    pub(crate) fn at_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(n) if n == kw)
    }

    /// The current token's word, if it is an identifier or keyword.
    pub(crate) fn word(&self) -> Option<&str> {
        match &self.peek().kind {
            TokenKind::Ident(n) => Some(n),
            _ => None,
        }
    }

    /// Consumes `p` if it is next.
    pub(crate) fn eat(&mut self, p: Punct) -> bool {
        let yes = self.at(p);
        if yes {
            self.bump();
        }
        yes
    }

    /// Consumes the word `kw` if it is next.
    pub(crate) fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.at_kw(kw);
        if yes {
            self.bump();
        }
        yes
    }

    /// Consumes `p` or records "expected `p`, found ...".
    pub(crate) fn expect(&mut self, p: Punct) -> PResult<Span> {
        if self.at(p) {
            let span = self.span();
            self.bump();
            Ok(span)
        } else {
            Err(self.error_expected(&format!("`{}`", p.as_str())))
        }
    }

    /// Consumes the word `kw` or records an error.
    pub(crate) fn expect_kw(&mut self, kw: &str) -> PResult<Span> {
        if self.at_kw(kw) {
            let span = self.span();
            self.bump();
            Ok(span)
        } else {
            Err(self.error_expected(&format!("`{kw}`")))
        }
    }

    /// Consumes a name (not a reserved word) or records an error naming
    /// `what` was expected (e.g. "a struct name").
    pub(crate) fn expect_ident(&mut self, what: &str) -> PResult<Ident> {
        match &self.peek().kind {
            TokenKind::Ident(n) if !RESERVED.contains(&n.as_str()) => {
                let id = Ident {
                    name: n.clone(),
                    span: self.span(),
                };
                self.bump();
                Ok(id)
            }
            _ => Err(self.error_expected(what)),
        }
    }

    /// Describes the current token for "found ..." in messages.
    pub(crate) fn describe_current(&self) -> String {
        describe(&self.peek().kind)
    }

    /// Records "expected WHAT, found TOKEN" at the current token.
    pub(crate) fn error_expected(&mut self, what: &str) -> Failed {
        self.error_expected_labeled(what, &format!("expected {what}"))
    }

    /// Records "expected WHAT, found TOKEN" with a custom caret label.
    pub(crate) fn error_expected_labeled(&mut self, what: &str, label: &str) -> Failed {
        let found = self.describe_current();
        let d = Diagnostic::error(self.span(), format!("expected {what}, found {found}"))
            .with_label(label);
        self.error(d)
    }

    /// Adds a `= help:` line to the last diagnostic recorded.
    pub(crate) fn hint_last(&mut self, hint: impl Into<String>) {
        if let Some(d) = self.diags.last_mut() {
            d.hint = Some(hint.into());
        }
    }

    /// Records a diagnostic, unless the last one recorded points at the
    /// same place: recovery that stops again at the error's own token
    /// (every token of a macro's replacement points at the macro's use)
    /// would only repeat it.
    ///
    /// The [`MAX_SYNTAX_ERRORS`]th error ends the parse, as a C
    /// compiler's error limit does: one more diagnostic says so, and the
    /// cursor moves to the end of the file, where every loop stops.
    pub(crate) fn error(&mut self, d: Diagnostic) -> Failed {
        if self.diags.len() >= MAX_SYNTAX_ERRORS {
            return Failed;
        }
        if self.diags.last().is_none_or(|last| last.span != d.span) {
            let span = d.span;
            self.diags.push(d);
            if self.diags.len() == MAX_SYNTAX_ERRORS {
                self.diags.push(Diagnostic::error(
                    span,
                    format!(
                        "{MAX_SYNTAX_ERRORS} syntax errors: the rest of the file is not parsed"
                    ),
                ));
                self.pos = self.toks.len().saturating_sub(1);
            }
        }
        Failed
    }

    /// After an error inside a braced list: skips to just past the next
    /// `;` at this brace level, or to (not past) the `}` closing it.
    pub(crate) fn recover_in_body(&mut self) {
        let mut depth = 0u32;
        loop {
            match &self.peek().kind {
                TokenKind::Eof => return,
                TokenKind::Punct(Punct::LBrace) => depth += 1,
                TokenKind::Punct(Punct::RBrace) => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                }
                TokenKind::Punct(Punct::Semi) if depth == 0 => {
                    self.bump();
                    return;
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// After an error at the top level: skips at least one token, then to
    /// just past the next `;` outside braces, or to the next word that
    /// starts a definition at the start of a line... whichever is first.
    pub(crate) fn recover_top(&mut self) {
        let start = self.pos;
        let mut depth = 0u32;
        loop {
            let t = self.peek();
            match &t.kind {
                TokenKind::Eof => return,
                TokenKind::Punct(Punct::LBrace) => depth += 1,
                TokenKind::Punct(Punct::RBrace) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0
                        && !matches!(self.nth(1).kind, TokenKind::Punct(Punct::Semi | Punct::Eq))
                    {
                        self.bump();
                        return;
                    }
                }
                TokenKind::Punct(Punct::Semi) if depth == 0 => {
                    self.bump();
                    return;
                }
                TokenKind::Ident(w)
                    if depth == 0
                        && self.pos > start
                        && matches!(
                            w.as_str(),
                            "const" | "typedef" | "enum" | "struct" | "union" | "program"
                        )
                        && self
                            .toks
                            .get(self.pos - 1)
                            .is_some_and(|p| p.end_line < t.line) =>
                {
                    return;
                }
                _ => {}
            }
            self.bump();
        }
    }
}

/// Describes a token for "found ..." in messages.
pub(crate) fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::Ident(n) if RESERVED.contains(&n.as_str()) => format!("keyword `{n}`"),
        TokenKind::Ident(n) => format!("identifier `{n}`"),
        TokenKind::Number(v, _) => format!("number `{v}`"),
        TokenKind::Punct(p) => format!("`{}`", p.as_str()),
        TokenKind::Str(_) => "a string literal".to_string(),
        TokenKind::Eof => "end of file".to_string(),
        TokenKind::Directive => "a preprocessor directive".to_string(),
        TokenKind::Passthrough => "a `%` line".to_string(),
        TokenKind::Comment => "a comment".to_string(),
        TokenKind::Invalid(_) | TokenKind::BadNumber(_) => "an invalid token".to_string(),
    }
}
