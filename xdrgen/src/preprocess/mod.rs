//! The preprocessor: the part of `cpp` that `.x` files use, applied to the
//! lexer's tokens so every position stays exact.
//!
//! Supported: `#define NAME [VALUE]` (object-like; later identifiers are
//! replaced, the replacement tokens carrying the span of the use),
//! `#undef`, `#ifdef`, `#ifndef`, `#if`/`#elif` (see [`expr`]), `#else`,
//! `#endif`, `#include "file"` (the including file's directory, then the
//! include directories) and `#include <file>` (include directories),
//! `#error`. Ignored: `#pragma`, `#ident`, `#sccs`, `#line`, `# 1 "file"`
//! line markers, `#warning`, and rpcgen `%` passthrough lines.
//! Function-like macros are recorded (for `defined`) but not expanded.

mod conditional;
mod directive;
mod expr;
mod include;
mod passthrough;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use self::conditional::Cond;
use self::directive::{tokenize, DirTok, DirToken};
pub(crate) use self::include::read_source;
pub(crate) use self::passthrough::{CDefine, CType, CValue};
use crate::ast::Radix;
use crate::diagnostic::Diagnostic;
use crate::lexer::{lex, Token, TokenKind};
use crate::parser::ParseOptions;
use crate::source::{FileId, SourceMap, Span};

/// How deep `#include`s may nest.
const MAX_INCLUDE_DEPTH: usize = 32;
/// How deep macro replacements may nest.
const MAX_EXPANSION_DEPTH: usize = 64;
/// Tokens macro replacement may produce beyond one per token of the
/// files read: nested macros multiply (ten uses of a macro of ten uses
/// of ...), and without a budget a few hundred bytes expand to billions
/// of tokens.
const EXPANSION_TOKENS_ALLOWANCE: usize = 4_096;

/// Runs the preprocessor over `file` and everything it includes. Returns
/// the kept tokens (identifiers, numbers, punctuation and comments, ending
/// with one [`TokenKind::Eof`] at the end of `file`) and the integer
/// `%#define` passthrough lines of active regions; errors go to `diags`.
pub(crate) fn preprocess(
    file: FileId,
    opts: &ParseOptions,
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Token>, Vec<CDefine>) {
    let mut pp = Preprocessor {
        opts,
        sources,
        diags,
        macros: HashMap::new(),
        conds: Vec::new(),
        out: Vec::new(),
        include_stack: Vec::new(),
        c_defines: Vec::new(),
        expansion_budget: EXPANSION_TOKENS_ALLOWANCE,
        expansion_exhausted: false,
        expanded: HashSet::new(),
    };
    for (name, value) in &opts.defines {
        let body = value.as_deref().map_or_else(Vec::new, |v| {
            body_tokens(lex(FileId(u32::MAX), v, 0, v.len(), false, 1))
        });
        pp.macros.insert(
            name.clone(),
            Macro {
                body,
                function_like: false,
            },
        );
    }
    if let Some(path) = pp
        .sources
        .get(file)
        .and_then(|f| f.path())
        .map(Path::to_path_buf)
    {
        pp.enter_main(&path);
    }
    pp.run_file(file);
    let eof = pp.sources.text(file).len();
    let eof = u32::try_from(eof).unwrap_or(u32::MAX);
    let line = pp.sources.get(file).map_or(1, |f| f.line_of(eof));
    pp.out.push(Token {
        kind: TokenKind::Eof,
        span: Span::new(file, eof, eof),
        line,
        end_line: line,
    });
    (pp.out, pp.c_defines)
}

#[derive(Debug, Clone)]
struct Macro {
    body: Vec<Token>,
    function_like: bool,
}

struct Preprocessor<'a> {
    opts: &'a ParseOptions,
    sources: &'a mut SourceMap,
    diags: &'a mut Vec<Diagnostic>,
    macros: HashMap<String, Macro>,
    conds: Vec<Cond>,
    out: Vec<Token>,
    /// Files being read, outermost first (for cycle detection).
    include_stack: Vec<PathBuf>,
    /// Integer `%#define` passthrough lines seen so far.
    c_defines: Vec<CDefine>,
    /// Tokens macro replacement may still produce: one per token of the
    /// files read so far, plus [`EXPANSION_TOKENS_ALLOWANCE`].
    expansion_budget: usize,
    /// The budget ran out (reported once; no more replacement).
    expansion_exhausted: bool,
    /// Macros replaced at least once (their bad tokens are reported).
    expanded: HashSet<String>,
}

impl expr::MacroEnv for HashMap<String, Macro> {
    fn is_defined(&self, name: &str) -> bool {
        self.contains_key(name)
    }

    fn value(&self, name: &str) -> i128 {
        let mut name = name.to_string();
        for _ in 0..MAX_EXPANSION_DEPTH {
            let Some(m) = self.get(&name) else { return 0 };
            match m.body.as_slice() {
                [Token {
                    kind: TokenKind::Number(v, _),
                    ..
                }] => return *v,
                [Token {
                    kind: TokenKind::Ident(n),
                    ..
                }] => name = n.clone(),
                _ => return 0,
            }
        }
        0
    }
}

/// The tokens of a macro body: everything but comments and the end marker.
fn body_tokens(toks: Vec<Token>) -> Vec<Token> {
    toks.into_iter()
        .filter(|t| !matches!(t.kind, TokenKind::Comment | TokenKind::Eof))
        .collect()
}

impl Preprocessor<'_> {
    fn active(&self) -> bool {
        self.conds.last().is_none_or(|c| c.active)
    }

    fn run_file(&mut self, file: FileId) {
        let text = self.sources.text(file).to_string();
        let tokens = lex(file, &text, 0, text.len(), true, 1);
        self.expansion_budget = self.expansion_budget.saturating_add(tokens.len());
        let depth_at_start = self.conds.len();
        for tok in tokens {
            match &tok.kind {
                TokenKind::Directive => self.directive(&tok, &text),
                _ if !self.active() => {}
                TokenKind::Passthrough => self.passthrough(&tok, &text),
                TokenKind::Eof => {}
                TokenKind::Ident(_) => self.emit_ident(tok, &mut Vec::new()),
                TokenKind::Invalid(msg) => {
                    let d = Diagnostic::error(tok.span, msg.clone());
                    self.diags.push(d);
                }
                TokenKind::BadNumber(msg) => {
                    self.diags.push(Diagnostic::error(tok.span, msg.clone()));
                    self.out.push(Token {
                        kind: TokenKind::Number(0, Radix::Decimal),
                        ..tok
                    });
                }
                TokenKind::Number(..)
                | TokenKind::Punct(_)
                | TokenKind::Str(_)
                | TokenKind::Comment => self.out.push(tok),
            }
        }
        while self.conds.len() > depth_at_start {
            if let Some(c) = self.conds.pop() {
                self.diags.push(
                    Diagnostic::error(c.span, "unterminated conditional directive")
                        .with_label("this `#if` has no `#endif`"),
                );
            }
        }
    }

    /// Emits an identifier, replacing object-like macros (not recursively
    /// into a macro being expanded, as in C).
    fn emit_ident(&mut self, tok: Token, expanding: &mut Vec<String>) {
        let TokenKind::Ident(name) = &tok.kind else {
            self.out.push(tok);
            return;
        };
        let body = match self.macros.get(name) {
            Some(m) if !m.function_like && !expanding.contains(name) => m.body.clone(),
            _ => {
                self.out.push(tok);
                return;
            }
        };
        if expanding.len() >= MAX_EXPANSION_DEPTH {
            self.diags.push(Diagnostic::error(
                tok.span,
                "macro expansion nested too deeply",
            ));
            return;
        }
        if self.expansion_exhausted {
            return;
        }
        if body.len() > self.expansion_budget {
            self.expansion_exhausted = true;
            self.diags.push(
                Diagnostic::error(
                    tok.span,
                    format!("the expansion of macro `{name}` makes too many tokens"),
                )
                .with_hint(format!(
                    "macros may produce one token per token of the files read, plus {EXPANSION_TOKENS_ALLOWANCE}"
                )),
            );
            return;
        }
        self.expansion_budget -= body.len();
        // A bad token of a macro's body is reported at the first use
        // only: every use repeating it would make the errors grow with
        // uses times body.
        let first_use = !self.expanded.contains(name);
        if first_use {
            self.expanded.insert(name.clone());
        }
        expanding.push(name.clone());
        for mut t in body {
            t.span = tok.span;
            t.line = tok.line;
            t.end_line = tok.end_line;
            match t.kind {
                TokenKind::Ident(_) => self.emit_ident(t, expanding),
                TokenKind::Invalid(msg) => {
                    if first_use {
                        let d = Diagnostic::error(
                            t.span,
                            format!("in the expansion of macro `{name}`: {msg}"),
                        );
                        self.diags.push(d);
                    }
                }
                TokenKind::BadNumber(msg) => {
                    if first_use {
                        let d = Diagnostic::error(
                            t.span,
                            format!("in the expansion of macro `{name}`: {msg}"),
                        );
                        self.diags.push(d);
                    }
                    t.kind = TokenKind::Number(0, Radix::Decimal);
                    self.out.push(t);
                }
                _ => self.out.push(t),
            }
        }
        expanding.pop();
    }

    fn directive(&mut self, tok: &Token, text: &str) {
        let raw = text
            .get(tok.span.start as usize..tok.span.end as usize)
            .unwrap_or("");
        // Skip the `#`.
        let body = raw.get(1..).unwrap_or("");
        let toks = tokenize(tok.span.file, body, tok.span.start.saturating_add(1));
        let Some(first) = toks.first() else {
            return; // The null directive.
        };
        let name = match &first.tok {
            DirTok::Ident(n) => n.as_str(),
            DirTok::Number(_) => return, // `# 12 "file"` line marker.
            _ => {
                if self.active() {
                    self.diags.push(
                        Diagnostic::error(
                            first.span,
                            "expected a preprocessor directive name after `#`",
                        )
                        .with_label("not a directive name"),
                    );
                }
                return;
            }
        };
        let rest = toks.get(1..).unwrap_or(&[]);
        match name {
            "if" | "ifdef" | "ifndef" => self.open_cond(name, tok.span, first, rest),
            "elif" => self.elif(tok.span, first, rest),
            "else" => self.else_(first),
            "endif" => {
                if self.conds.pop().is_none() {
                    self.diags.push(
                        Diagnostic::error(first.span, "`#endif` without `#if`")
                            .with_label("no open conditional"),
                    );
                }
            }
            _ if !self.active() => {}
            "define" => self.define(tok, first, rest, text),
            "undef" => {
                if let Some(n) = self.macro_name(first, rest) {
                    self.macros.remove(&n);
                }
            }
            "include" => self.include(tok, first, raw),
            "error" => {
                let msg = raw.trim_start_matches('#').trim_start();
                let msg = msg.strip_prefix("error").unwrap_or(msg).trim();
                self.diags
                    .push(Diagnostic::error(tok.span, format!("#error {msg}")));
            }
            "pragma" | "ident" | "sccs" | "line" | "warning" | "assert" | "unassert" => {}
            other => {
                self.diags.push(
                    Diagnostic::error(
                        first.span,
                        format!("unknown preprocessor directive `#{other}`"),
                    )
                    .with_label("unknown directive"),
                );
            }
        }
    }

    /// The single macro name after `#ifdef`/`#ifndef`/`#undef`/`#define`.
    fn macro_name(&mut self, first: &DirToken, rest: &[DirToken]) -> Option<String> {
        match rest.first() {
            Some(DirToken {
                tok: DirTok::Ident(n),
                ..
            }) => Some(n.clone()),
            Some(t) => {
                self.diags.push(
                    Diagnostic::error(t.span, "expected a macro name")
                        .with_label("expected an identifier"),
                );
                None
            }
            None => {
                self.diags.push(
                    Diagnostic::error(first.span.end_point(), "expected a macro name")
                        .with_label("expected an identifier"),
                );
                None
            }
        }
    }

    fn define(&mut self, tok: &Token, first: &DirToken, rest: &[DirToken], text: &str) {
        let Some(name_tok) = rest.first() else {
            self.macro_name(first, rest);
            return;
        };
        let Some(name) = self.macro_name(first, rest) else {
            return;
        };
        let name_end = name_tok.span.end as usize;
        let function_like = text.as_bytes().get(name_end) == Some(&b'(');
        let body = if function_like {
            Vec::new()
        } else {
            let line = self
                .sources
                .get(tok.span.file)
                .map_or(tok.line, |f| f.line_of(name_tok.span.end));
            body_tokens(lex(
                tok.span.file,
                text,
                name_end,
                tok.span.end as usize,
                false,
                line,
            ))
        };
        self.macros.insert(
            name,
            Macro {
                body,
                function_like,
            },
        );
    }

    /// Records an integer `%#define` passthrough line.
    fn passthrough(&mut self, tok: &Token, text: &str) {
        let line = text
            .get(tok.span.start as usize..tok.span.end as usize)
            .unwrap_or("");
        let macros = &self.macros;
        let lookup = |name: &str| match macros.get(name).map(|m| m.body.as_slice()) {
            Some(
                [Token {
                    kind: TokenKind::Number(v, _),
                    ..
                }],
            ) => Some(*v),
            _ => None,
        };
        if let Some(d) = passthrough::c_define(line, tok.span, &self.c_defines, &lookup) {
            self.c_defines.push(d);
        }
    }

    /// Records the main file so that it cannot include itself.
    fn enter_main(&mut self, path: &Path) {
        self.include_stack
            .push(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
    }
}
