//! Tokens inside one preprocessor directive line (`#if defined(X) && Y`),
//! with spans into the original file. Comments and `\`-newline
//! continuations count as whitespace.

use crate::source::{FileId, Span};

/// One token of a directive line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirTok {
    /// An identifier.
    Ident(String),
    /// An integer literal (C suffixes ignored); `None` if malformed.
    Number(Option<i128>),
    /// A `"quoted"` string, without the quotes.
    Str(String),
    /// An operator or punctuation (`(`, `&&`, `==`, ...).
    Op(&'static str),
    /// Any other character.
    Other(char),
}

/// A directive token and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirToken {
    pub(crate) tok: DirTok,
    pub(crate) span: Span,
}

const OPS: [&str; 22] = [
    "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "(", ")", "!", "<", ">", "+", "-", "*", "/",
    "%", "~", "?", ":", ",",
];

/// Tokenizes `text`, which starts at byte `base` of `file`.
pub(crate) fn tokenize(file: FileId, text: &str, base: u32) -> Vec<DirToken> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let span = |s: usize, e: usize| {
        let s = base.saturating_add(u32::try_from(s).unwrap_or(u32::MAX));
        let e = base.saturating_add(u32::try_from(e).unwrap_or(u32::MAX));
        Span::new(file, s, e)
    };
    while i < bytes.len() {
        let c = at(i);
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\\' && matches!(at(i + 1), b'\n' | b'\r') {
            i += 2;
        } else if c == b'/' && at(i + 1) == b'*' {
            i += 2;
            while i < bytes.len() && !(at(i) == b'*' && at(i + 1) == b'/') {
                i += 1;
            }
            i = (i + 2).min(bytes.len());
        } else if c == b'/' && at(i + 1) == b'/' {
            break;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while at(i).is_ascii_alphanumeric() || at(i) == b'_' {
                i += 1;
            }
            let name = text.get(start..i).unwrap_or("").to_string();
            out.push(DirToken {
                tok: DirTok::Ident(name),
                span: span(start, i),
            });
        } else if c.is_ascii_digit() {
            while at(i).is_ascii_alphanumeric() {
                i += 1;
            }
            let lit = text.get(start..i).unwrap_or("");
            out.push(DirToken {
                tok: DirTok::Number(parse_int(lit)),
                span: span(start, i),
            });
        } else if c == b'"' {
            i += 1;
            while i < bytes.len() && !matches!(at(i), b'"' | b'\n') {
                i += 1;
            }
            let inner = text.get(start + 1..i).unwrap_or("").to_string();
            if at(i) == b'"' {
                i += 1;
            }
            out.push(DirToken {
                tok: DirTok::Str(inner),
                span: span(start, i),
            });
        } else if let Some(op) = OPS
            .iter()
            .find(|op| text.get(i..).is_some_and(|rest| rest.starts_with(**op)))
        {
            i += op.len();
            out.push(DirToken {
                tok: DirTok::Op(op),
                span: span(start, i),
            });
        } else {
            let ch = text.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
            i += ch.len_utf8();
            out.push(DirToken {
                tok: DirTok::Other(ch),
                span: span(start, i),
            });
        }
    }
    out
}

/// Parses a C integer literal (decimal, `0x` hex, `0` octal; `u`/`l`
/// suffixes ignored).
pub(crate) fn parse_int(lit: &str) -> Option<i128> {
    let digits = lit.trim_end_matches(['u', 'U', 'l', 'L']);
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(hex, 16).ok()
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(digits, 8).ok()
    } else {
        digits.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_with_spans() {
        let toks = tokenize(FileId(0), "if defined(A) /* x */ && !B_2 \\\n|| 0x10", 4);
        let kinds: Vec<_> = toks.iter().map(|t| t.tok.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                DirTok::Ident("if".into()),
                DirTok::Ident("defined".into()),
                DirTok::Op("("),
                DirTok::Ident("A".into()),
                DirTok::Op(")"),
                DirTok::Op("&&"),
                DirTok::Op("!"),
                DirTok::Ident("B_2".into()),
                DirTok::Op("||"),
                DirTok::Number(Some(16)),
            ]
        );
        assert_eq!(toks[0].span, Span::new(FileId(0), 4, 6));
    }

    #[test]
    fn parses_integers() {
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(parse_int("0x1fUL"), Some(31));
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("9z"), None);
    }
}
