//! `#if` / `#elif` expressions: `defined(X)`, `defined X`, integer
//! literals, macro names (their integer value; undefined names are 0),
//! `! ~ -  * / % + - < > <= >= == != && ||` and parentheses, with C
//! precedence. Arithmetic is on `i128` and never overflows silently.

use super::directive::{DirTok, DirToken};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Looks up what a name means inside an `#if`.
pub(crate) trait MacroEnv {
    /// Whether `name` is defined.
    fn is_defined(&self, name: &str) -> bool;
    /// The integer value `name` expands to (undefined or non-numeric: 0).
    fn value(&self, name: &str) -> i128;
}

/// Evaluates `toks` (the tokens after `if`/`elif`); `at` is the directive
/// span for errors about a missing expression.
pub(crate) fn evaluate(
    toks: &[DirToken],
    at: Span,
    env: &dyn MacroEnv,
) -> Result<i128, Diagnostic> {
    if toks.is_empty() {
        return Err(
            Diagnostic::error(at, "`#if` with no expression").with_label("expected an expression")
        );
    }
    let mut p = ExprParser {
        toks,
        pos: 0,
        env,
        at,
        depth: 0,
    };
    let v = p.binary(0)?;
    match p.toks.get(p.pos) {
        None => Ok(v),
        Some(t) => Err(unexpected(t, "an operator or the end of the line")),
    }
}

struct ExprParser<'a> {
    toks: &'a [DirToken],
    pos: usize,
    env: &'a dyn MacroEnv,
    at: Span,
    depth: u32,
}

const MAX_DEPTH: u32 = 64;

/// Binary operators by precedence level, loosest first.
const LEVELS: [&[&str]; 6] = [
    &["||"],
    &["&&"],
    &["==", "!="],
    &["<", ">", "<=", ">="],
    &["+", "-"],
    &["*", "/", "%"],
];

fn unexpected(t: &DirToken, expected: &str) -> Diagnostic {
    let found = match &t.tok {
        DirTok::Ident(n) => format!("`{n}`"),
        DirTok::Number(_) => "a number".to_string(),
        DirTok::Str(s) => format!("\"{s}\""),
        DirTok::Op(o) => format!("`{o}`"),
        DirTok::Other(c) => format!("`{c}`"),
    };
    Diagnostic::error(
        t.span,
        format!("expected {expected} in `#if`, found {found}"),
    )
    .with_label(format!("expected {expected}"))
}

impl ExprParser<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(DirToken {
                tok: DirTok::Op(o), ..
            }) => Some(o),
            _ => None,
        }
    }

    fn end_span(&self) -> Span {
        self.toks.last().map_or(self.at, |t| t.span.end_point())
    }

    fn binary(&mut self, level: usize) -> Result<i128, Diagnostic> {
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut lhs = self.binary(level + 1)?;
        while let Some(op) = self.peek_op().filter(|o| ops.contains(o)) {
            let op_span = self.toks.get(self.pos).map_or(self.at, |t| t.span);
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            let overflow = || Diagnostic::error(op_span, "integer overflow in `#if` expression");
            lhs = match op {
                "||" => i128::from(lhs != 0 || rhs != 0),
                "&&" => i128::from(lhs != 0 && rhs != 0),
                "==" => i128::from(lhs == rhs),
                "!=" => i128::from(lhs != rhs),
                "<" => i128::from(lhs < rhs),
                ">" => i128::from(lhs > rhs),
                "<=" => i128::from(lhs <= rhs),
                ">=" => i128::from(lhs >= rhs),
                "+" => lhs.checked_add(rhs).ok_or_else(overflow)?,
                "-" => lhs.checked_sub(rhs).ok_or_else(overflow)?,
                "*" => lhs.checked_mul(rhs).ok_or_else(overflow)?,
                _ => {
                    if rhs == 0 {
                        return Err(Diagnostic::error(
                            op_span,
                            "division by zero in `#if` expression",
                        ));
                    }
                    let r = if op == "/" {
                        lhs.checked_div(rhs)
                    } else {
                        lhs.checked_rem(rhs)
                    };
                    r.ok_or_else(overflow)?
                }
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<i128, Diagnostic> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::error(
                self.at,
                "`#if` expression nested too deeply",
            ));
        }
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<i128, Diagnostic> {
        let Some(t) = self.toks.get(self.pos) else {
            return Err(
                Diagnostic::error(self.end_span(), "`#if` expression ends early")
                    .with_label("expected a value"),
            );
        };
        self.pos += 1;
        match &t.tok {
            DirTok::Op("!") => Ok(i128::from(self.unary()? == 0)),
            DirTok::Op("~") => Ok(!self.unary()?),
            DirTok::Op("-") => self
                .unary()?
                .checked_neg()
                .ok_or_else(|| Diagnostic::error(t.span, "integer overflow in `#if` expression")),
            DirTok::Op("+") => self.unary(),
            DirTok::Op("(") => {
                let v = self.binary(0)?;
                self.expect_close()?;
                Ok(v)
            }
            DirTok::Number(Some(v)) => Ok(*v),
            DirTok::Number(None) => Err(Diagnostic::error(
                t.span,
                "invalid integer literal in `#if`",
            )),
            DirTok::Ident(name) if name == "defined" => {
                let paren = self.peek_op() == Some("(");
                if paren {
                    self.pos += 1;
                }
                let name = match self.toks.get(self.pos) {
                    Some(DirToken {
                        tok: DirTok::Ident(n),
                        ..
                    }) => n.clone(),
                    Some(other) => return Err(unexpected(other, "a macro name")),
                    None => {
                        return Err(Diagnostic::error(
                            self.end_span(),
                            "`defined` needs a macro name",
                        )
                        .with_label("expected a macro name"))
                    }
                };
                self.pos += 1;
                if paren {
                    self.expect_close()?;
                }
                Ok(i128::from(self.env.is_defined(&name)))
            }
            DirTok::Ident(name) => Ok(self.env.value(name)),
            _ => Err(unexpected(t, "a value")),
        }
    }

    fn expect_close(&mut self) -> Result<(), Diagnostic> {
        match self.toks.get(self.pos) {
            Some(DirToken {
                tok: DirTok::Op(")"),
                ..
            }) => {
                self.pos += 1;
                Ok(())
            }
            Some(t) => Err(unexpected(t, "`)`")),
            None => Err(Diagnostic::error(self.end_span(), "missing `)` in `#if`")
                .with_label("expected `)`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::directive::tokenize;
    use super::*;
    use crate::source::FileId;

    struct Env;
    impl MacroEnv for Env {
        fn is_defined(&self, name: &str) -> bool {
            name == "A" || name == "TWO"
        }
        fn value(&self, name: &str) -> i128 {
            if name == "TWO" {
                2
            } else {
                0
            }
        }
    }

    fn eval(s: &str) -> Result<i128, Diagnostic> {
        let at = Span::new(FileId(0), 0, 0);
        evaluate(&tokenize(FileId(0), s, 0), at, &Env)
    }

    #[test]
    fn evaluates_common_forms() {
        assert_eq!(eval("defined(A)").ok(), Some(1));
        assert_eq!(eval("!defined(B)").ok(), Some(1));
        assert_eq!(eval("defined A && !defined B").ok(), Some(1));
        assert_eq!(eval("0").ok(), Some(0));
        assert_eq!(eval("UNDEF").ok(), Some(0));
        assert_eq!(eval("TWO * 3 + 1 == 7 || 0").ok(), Some(1));
        assert_eq!(eval("(1 || 0) && 0").ok(), Some(0));
        assert!(eval("1 +").is_err());
        assert!(eval("(1").is_err());
        assert!(eval("1 / 0").is_err());
        assert!(eval("").is_err());
        assert!(eval(&"(".repeat(500)).is_err());
    }
}
