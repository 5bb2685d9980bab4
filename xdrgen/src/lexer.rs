//! The lexer: turns one file's text into [`Token`]s with exact spans.
//!
//! Besides the XDR tokens it recognises what the preprocessor and the doc
//! comment pass need: whole preprocessor directive lines (`#...`, with `\`
//! continuations), rpcgen passthrough lines (`%...` at the start of a line),
//! and comments (`/* */`, `//`). Bad input never stops it: a stray character
//! or a malformed number becomes an [`TokenKind::Invalid`] token carrying the
//! message, reported later only if the preprocessor keeps that region.

use crate::ast::Radix;
use crate::source::{FileId, Span};

/// A punctuation token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Punct {
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LAngle,
    RAngle,
    Semi,
    Colon,
    ColonColon,
    Comma,
    Eq,
    Star,
    Minus,
    /// `=>` (only to name ocamlrpcgen's field renaming in an error).
    FatArrow,
}

impl Punct {
    /// How the token is written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Punct::LBrace => "{",
            Punct::RBrace => "}",
            Punct::LParen => "(",
            Punct::RParen => ")",
            Punct::LBracket => "[",
            Punct::RBracket => "]",
            Punct::LAngle => "<",
            Punct::RAngle => ">",
            Punct::Semi => ";",
            Punct::Colon => ":",
            Punct::ColonColon => "::",
            Punct::Comma => ",",
            Punct::Eq => "=",
            Punct::Star => "*",
            Punct::Minus => "-",
            Punct::FatArrow => "=>",
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An identifier or keyword.
    Ident(String),
    /// An unsigned integer literal (decimal, `0x` hex, or `0` octal) and
    /// the base it is written in.
    Number(i128, Radix),
    /// Punctuation.
    Punct(Punct),
    /// A `"string"` literal: the text between the quotes, as written.
    Str(String),
    /// A whole preprocessor directive line, from `#` to the end of the
    /// (continued) line; the text is the span's source.
    Directive,
    /// An rpcgen `%` passthrough line (dropped).
    Passthrough,
    /// A comment; the text is the span's source.
    Comment,
    /// Something that is not a token; the message says why.
    Invalid(String),
    /// A malformed integer literal; the message says why. After reporting
    /// it the preprocessor passes a `Number(0)` on, so that the parser
    /// does not report the same mistake again as a missing value.
    BadNumber(String),
    /// The end of the input.
    Eof,
}

/// A token with its place in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// What it is.
    pub(crate) kind: TokenKind,
    /// Where it is (for macro-substituted tokens: the macro's use).
    pub(crate) span: Span,
    /// The 1-based line it starts on.
    pub(crate) line: u32,
    /// The 1-based line it ends on.
    pub(crate) end_line: u32,
}

/// Lexes `text[start..end]` of `file`. `at_line_start` says whether `start`
/// is at the beginning of a line (so `#` and `%` are recognised there);
/// `first_line` is the line number at `start`. The last token is
/// [`TokenKind::Eof`].
pub(crate) fn lex(
    file: FileId,
    text: &str,
    start: usize,
    end: usize,
    at_line_start: bool,
    first_line: u32,
) -> Vec<Token> {
    let end = end.min(text.len());
    // A UTF-8 byte order mark at the start of a file is not text.
    let start = if start == 0 && text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        start
    };
    let mut lx = Lexer {
        file,
        bytes: text.as_bytes(),
        text,
        pos: start.min(end),
        end,
        line: first_line,
        at_line_start,
        out: Vec::new(),
        stray_end: usize::MAX,
        stray_chars: 0,
    };
    lx.run();
    lx.out
}

/// The start of a stray character's message.
const STRAY: &str = "unexpected character";

/// The longest run of stray characters quoted in its message (16).
const MAX_QUOTED_RUN: usize = 16;

/// `text` in backticks, or in double quotes when it holds a backtick
/// (printable ASCII only).
fn quote(text: &str) -> String {
    if text.contains('`') {
        format!("\"{text}\"")
    } else {
        format!("`{text}`")
    }
}

struct Lexer<'a> {
    file: FileId,
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    end: usize,
    line: u32,
    at_line_start: bool,
    out: Vec<Token>,
    /// Where the last stray character token ends (`usize::MAX`: none yet).
    stray_end: usize,
    /// Characters in that run of stray characters.
    stray_chars: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        let i = self.pos + ahead;
        if i < self.end {
            self.bytes.get(i).copied().unwrap_or(0)
        } else {
            0
        }
    }

    fn span(&self, start: usize) -> Span {
        Span::new(self.file, offset(start), offset(self.pos))
    }

    fn push(&mut self, kind: TokenKind, start: usize, start_line: u32) {
        let span = self.span(start);
        self.out.push(Token {
            kind,
            span,
            line: start_line,
            end_line: self.line,
        });
    }

    /// Advances one byte, counting lines.
    fn bump(&mut self) {
        if self.peek(0) == b'\n' {
            self.line = self.line.saturating_add(1);
        }
        self.pos += 1;
    }

    fn run(&mut self) {
        while self.pos < self.end {
            let c = self.peek(0);
            let start = self.pos;
            let start_line = self.line;
            match c {
                b'\n' => {
                    self.bump();
                    self.at_line_start = true;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.bump(),
                b'\\' if matches!(self.peek(1), b'\n') => {
                    self.bump();
                    self.bump();
                }
                b'\\' if self.peek(1) == b'\r' && self.peek(2) == b'\n' => {
                    self.bump();
                    self.bump();
                    self.bump();
                }
                b'/' if self.peek(1) == b'*' => {
                    self.block_comment();
                    self.push(TokenKind::Comment, start, start_line);
                    self.report_unterminated_comment(start, start_line);
                }
                b'/' if self.peek(1) == b'/' => {
                    self.line_comment();
                    self.push(TokenKind::Comment, start, start_line);
                }
                b'#' if self.at_line_start => {
                    self.rest_of_line(true);
                    self.push(TokenKind::Directive, start, start_line);
                }
                b'%' if self.at_line_start => {
                    self.rest_of_line(false);
                    self.push(TokenKind::Passthrough, start, start_line);
                }
                _ => {
                    self.at_line_start = false;
                    self.token(c, start, start_line);
                }
            }
        }
        let end = offset(self.end);
        self.out.push(Token {
            kind: TokenKind::Eof,
            span: Span::new(self.file, end, end),
            line: self.line,
            end_line: self.line,
        });
    }

    fn report_unterminated_comment(&mut self, start: usize, start_line: u32) {
        let text = self.text.get(start..self.pos).unwrap_or("");
        if text.len() < 4 || !text.ends_with("*/") {
            self.out.push(Token {
                kind: TokenKind::Invalid("unterminated block comment".into()),
                span: Span::new(self.file, offset(start), offset(start + 2)),
                line: start_line,
                end_line: start_line,
            });
        }
    }

    /// Skips `/* ... */` (or to the end of input).
    fn block_comment(&mut self) {
        self.bump();
        self.bump();
        while self.pos < self.end {
            if self.peek(0) == b'*' && self.peek(1) == b'/' {
                self.bump();
                self.bump();
                return;
            }
            self.bump();
        }
    }

    /// Skips `// ...` up to (not including) the newline.
    fn line_comment(&mut self) {
        while self.pos < self.end && self.peek(0) != b'\n' {
            self.bump();
        }
    }

    /// Skips to the end of a logical line (`\` continues it). In a
    /// directive, block comments and quoted strings may hide newlines and
    /// comment openers.
    fn rest_of_line(&mut self, directive: bool) {
        while self.pos < self.end {
            match self.peek(0) {
                b'\n' => return,
                b'\\' if self.peek(1) == b'\n' => {
                    self.bump();
                    self.bump();
                }
                b'\\' if self.peek(1) == b'\r' && self.peek(2) == b'\n' => {
                    self.bump();
                    self.bump();
                    self.bump();
                }
                b'/' if directive && self.peek(1) == b'*' => self.block_comment(),
                b'/' if directive && self.peek(1) == b'/' => self.line_comment(),
                b'"' if directive => {
                    self.bump();
                    while self.pos < self.end && !matches!(self.peek(0), b'"' | b'\n') {
                        self.bump();
                    }
                    if self.peek(0) == b'"' {
                        self.bump();
                    }
                }
                _ => self.bump(),
            }
        }
    }

    fn token(&mut self, c: u8, start: usize, start_line: u32) {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'_' {
                    self.bump();
                }
                let name = self.text.get(start..self.pos).unwrap_or("").to_string();
                self.push(TokenKind::Ident(name), start, start_line);
            }
            b'0'..=b'9' => {
                let kind = self.number(start);
                self.push(kind, start, start_line);
            }
            b'"' => {
                let kind = self.string(start);
                self.push(kind, start, start_line);
            }
            _ => {
                let p = match c {
                    b'{' => Some(Punct::LBrace),
                    b'}' => Some(Punct::RBrace),
                    b'(' => Some(Punct::LParen),
                    b')' => Some(Punct::RParen),
                    b'[' => Some(Punct::LBracket),
                    b']' => Some(Punct::RBracket),
                    b'<' => Some(Punct::LAngle),
                    b'>' => Some(Punct::RAngle),
                    b';' => Some(Punct::Semi),
                    b':' if self.peek(1) == b':' => {
                        self.bump();
                        Some(Punct::ColonColon)
                    }
                    b':' => Some(Punct::Colon),
                    b',' => Some(Punct::Comma),
                    b'=' if self.peek(1) == b'>' => {
                        self.bump();
                        Some(Punct::FatArrow)
                    }
                    b'=' => Some(Punct::Eq),
                    b'*' => Some(Punct::Star),
                    b'-' => Some(Punct::Minus),
                    _ => None,
                };
                if let Some(p) = p {
                    self.bump();
                    self.push(TokenKind::Punct(p), start, start_line);
                } else {
                    self.invalid_char(start, start_line);
                }
            }
        }
    }

    fn invalid_char(&mut self, start: usize, start_line: u32) {
        let ch = self.text.get(start..).and_then(|s| s.chars().next());
        let width = ch.map_or(1, char::len_utf8);
        for _ in 0..width {
            self.bump();
        }
        if ch == Some('%') {
            let message = "`%` passthrough lines must start at the beginning of a line";
            self.push(TokenKind::Invalid(message.into()), start, start_line);
        } else if !self.extend_stray_run(start) {
            let message = match ch {
                Some(ch) if ch.is_ascii_graphic() => format!("{STRAY} {}", quote(&ch.to_string())),
                Some(ch) => format!("{STRAY} {ch:?}"),
                None => "unexpected byte".to_string(),
            };
            self.push(TokenKind::Invalid(message), start, start_line);
            self.stray_end = self.pos;
            self.stray_chars = 1;
        }
    }

    /// Makes a stray character that directly follows another one part of
    /// the same error (one diagnostic per run, not per character); false
    /// when the previous token is not a stray character ending at `start`.
    fn extend_stray_run(&mut self, start: usize) -> bool {
        if self.stray_end != start {
            return false;
        }
        self.stray_end = self.pos;
        self.stray_chars += 1;
        let chars = self.stray_chars;
        let end = self.span(start).end;
        let text = self.text;
        let Some(prev) = self.out.last_mut() else {
            return false;
        };
        prev.span.end = end;
        // Counted as the run grows: recounting it at every character would
        // take time growing with the square of its length.
        let quoted = (chars <= MAX_QUOTED_RUN)
            .then(|| text.get(prev.span.start as usize..end as usize))
            .flatten()
            .filter(|run| run.chars().all(|c| c.is_ascii_graphic()));
        prev.kind = TokenKind::Invalid(match quoted {
            Some(run) => format!("{STRAY}s {}", quote(run)),
            None => format!("{chars} {STRAY}s"),
        });
        true
    }

    /// Lexes a `"..."` literal on one line (`\"` does not end it).
    fn string(&mut self, start: usize) -> TokenKind {
        self.bump();
        loop {
            match self.peek(0) {
                b'"' => {
                    self.bump();
                    let inner = self.text.get(start + 1..self.pos - 1).unwrap_or("");
                    return TokenKind::Str(inner.to_string());
                }
                b'\\' if !matches!(self.peek(1), b'\n' | 0) => {
                    self.bump();
                    self.bump();
                }
                b'\n' | 0 => return TokenKind::Invalid("unterminated string literal".into()),
                _ => self.bump(),
            }
        }
    }

    /// Lexes a decimal, hex (`0x`) or octal (leading `0`) literal; C integer
    /// suffixes (`u`, `l`, `ul`, `ull`...) are accepted and ignored.
    fn number(&mut self, start: usize) -> TokenKind {
        let (radix, digits_start) = if self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.bump();
            self.bump();
            (16, self.pos)
        } else if self.peek(0) == b'0' {
            (8, self.pos)
        } else {
            (10, self.pos)
        };
        while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'_' {
            self.bump();
        }
        let all = self.text.get(digits_start..self.pos).unwrap_or("");
        let digits = all.trim_end_matches(['u', 'U', 'l', 'L']);
        let suffix = all.get(digits.len()..).unwrap_or("");
        let written = self.text.get(start..self.pos).unwrap_or("");
        if digits.is_empty() && radix == 16 {
            return TokenKind::BadNumber(format!("hexadecimal literal `{written}` has no digits"));
        }
        if suffix.len() > 3 {
            return TokenKind::BadNumber(format!("invalid integer literal `{written}`"));
        }
        match i128::from_str_radix(digits, radix) {
            Ok(v) => TokenKind::Number(
                v,
                match radix {
                    16 => Radix::Hex,
                    8 if digits.len() > 1 => Radix::Octal,
                    _ => Radix::Decimal,
                },
            ),
            Err(e) => {
                use std::num::IntErrorKind;
                let what = match radix {
                    16 => "hexadecimal",
                    8 => "octal",
                    _ => "decimal",
                };
                if matches!(e.kind(), IntErrorKind::PosOverflow) {
                    TokenKind::BadNumber(format!("integer literal `{written}` is too large"))
                } else {
                    TokenKind::BadNumber(format!("invalid {what} literal `{written}`"))
                }
            }
        }
    }
}

fn offset(pos: usize) -> u32 {
    u32::try_from(pos).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        lex(FileId(0), text, 0, text.len(), true, 1)
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn numbers_in_every_base() {
        assert_eq!(
            kinds("10 0x1F 017 0 0xffffffffffffffff 5UL"),
            vec![
                TokenKind::Number(10, Radix::Decimal),
                TokenKind::Number(31, Radix::Hex),
                TokenKind::Number(15, Radix::Octal),
                TokenKind::Number(0, Radix::Decimal),
                TokenKind::Number(0xffff_ffff_ffff_ffff, Radix::Hex),
                TokenKind::Number(5, Radix::Decimal),
                TokenKind::Eof
            ]
        );
        assert!(matches!(kinds("09")[0], TokenKind::BadNumber(_)));
        assert!(matches!(kinds("0x")[0], TokenKind::BadNumber(_)));
        assert!(matches!(
            kinds("99999999999999999999999999999999999999999999")[0],
            TokenKind::BadNumber(_)
        ));
    }

    #[test]
    fn directives_passthrough_and_comments() {
        let toks = lex(
            FileId(0),
            "#define A \\\n 1\n%#include <x.h>\nint a; /* c\n */ x // d\n  # if 0\n",
            0,
            60,
            true,
            1,
        );
        let k: Vec<_> = toks.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(k[0], TokenKind::Directive);
        assert_eq!(toks[0].end_line, 2);
        assert_eq!(k[1], TokenKind::Passthrough);
        assert_eq!(k[2], TokenKind::Ident("int".into()));
        assert_eq!(k[5], TokenKind::Comment);
        assert_eq!((toks[5].line, toks[5].end_line), (4, 5));
        assert_eq!(k[6], TokenKind::Ident("x".into()));
        assert_eq!(k[7], TokenKind::Comment);
        assert_eq!(k[8], TokenKind::Directive);
    }

    #[test]
    fn hash_mid_line_and_non_ascii_are_invalid() {
        let k = kinds("a # é :: => ::x");
        assert!(matches!(k[1], TokenKind::Invalid(_)));
        assert!(matches!(k[2], TokenKind::Invalid(_)));
        assert_eq!(k[3], TokenKind::Punct(Punct::ColonColon));
        assert_eq!(k[4], TokenKind::Punct(Punct::FatArrow));
    }
}
