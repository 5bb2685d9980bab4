//! Conditional directives: `#if`, `#ifdef`, `#ifndef`, `#elif`, `#else`
//! (`#endif` just closes the innermost [`Cond`]).

use super::directive::DirToken;
use super::{expr, Preprocessor};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// One open `#if`/`#ifdef`/`#ifndef`.
#[derive(Debug)]
pub(super) struct Cond {
    /// Whether the enclosing region is kept.
    pub(super) parent_active: bool,
    /// Whether some branch has been taken already.
    pub(super) taken: bool,
    /// Whether the current branch is kept.
    pub(super) active: bool,
    /// Whether `#else` was seen.
    pub(super) seen_else: bool,
    /// The opening directive.
    pub(super) span: Span,
}

impl Preprocessor<'_> {
    /// Evaluates the condition of `#if`/`#elif` (`kind` "if") or
    /// `#ifdef`/`#ifndef`; errors count as false.
    fn condition(&mut self, kind: &str, at: Span, first: &DirToken, rest: &[DirToken]) -> bool {
        match kind {
            "ifdef" | "ifndef" => {
                let defined = self
                    .macro_name(first, rest)
                    .is_some_and(|n| self.macros.contains_key(&n));
                defined == (kind == "ifdef")
            }
            _ => match expr::evaluate(rest, at, &self.macros) {
                Ok(v) => v != 0,
                Err(d) => {
                    self.diags.push(d);
                    false
                }
            },
        }
    }

    pub(super) fn open_cond(&mut self, kind: &str, at: Span, first: &DirToken, rest: &[DirToken]) {
        let parent_active = self.active();
        let active = parent_active && self.condition(kind, at, first, rest);
        self.conds.push(Cond {
            parent_active,
            taken: active,
            active,
            seen_else: false,
            span: at,
        });
    }

    pub(super) fn elif(&mut self, at: Span, first: &DirToken, rest: &[DirToken]) {
        let Some(c) = self.conds.last() else {
            self.diags
                .push(Diagnostic::error(first.span, "`#elif` without `#if`"));
            return;
        };
        if c.seen_else {
            self.diags
                .push(Diagnostic::error(first.span, "`#elif` after `#else`"));
        }
        let evaluate = c.parent_active && !c.taken;
        let active = evaluate && self.condition("if", at, first, rest);
        if let Some(c) = self.conds.last_mut() {
            c.active = active;
            c.taken |= active;
        }
    }

    pub(super) fn else_(&mut self, first: &DirToken) {
        let Some(c) = self.conds.last_mut() else {
            self.diags
                .push(Diagnostic::error(first.span, "`#else` without `#if`"));
            return;
        };
        if c.seen_else {
            self.diags.push(Diagnostic::error(
                first.span,
                "second `#else` in one conditional",
            ));
            return;
        }
        c.seen_else = true;
        c.active = c.parent_active && !c.taken;
        c.taken = true;
    }
}
