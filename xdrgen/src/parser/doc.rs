//! Doc comments: the comments immediately before a token become that
//! token's documentation.
//!
//! "Immediately before" means: in the same file, with no blank line between
//! the comment block and the token (or between the comments of the block),
//! and not trailing the previous token on its line; a licence or copyright
//! comment before the first definition of a file is not documentation. A comment trailing a
//! token on its line (`int x; /* the x */`) is kept apart: the parser uses
//! it for the item that token ends when that item has no doc before it.

use std::collections::HashSet;

use crate::ast::Doc;
use crate::lexer::{Token, TokenKind};
use crate::source::{FileId, SourceMap};

/// The comments around each significant token.
#[derive(Debug, Default)]
pub(crate) struct Docs {
    /// The comment block immediately before each token.
    pub(crate) leading: Vec<Doc>,
    /// The comments after each token that start on its last line
    /// (`int x; /* the x */` for the `;`).
    pub(crate) trailing: Vec<Doc>,
}

/// Splits `tokens` into the significant tokens and their comments.
pub(crate) fn attach(tokens: Vec<Token>, sources: &SourceMap) -> (Vec<Token>, Docs) {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut docs = Docs::default();
    let mut pending: Vec<Token> = Vec::new();
    // Files in which a significant token has been seen.
    let mut started: HashSet<FileId> = HashSet::new();
    for tok in tokens {
        if tok.kind == TokenKind::Comment {
            if !started.contains(&tok.span.file) && is_file_header(sources.snippet(tok.span)) {
                continue;
            }
            pending.push(tok);
            continue;
        }
        started.insert(tok.span.file);
        let prev = out.last();
        let is_trailing =
            |c: &Token| prev.is_some_and(|p| p.span.file == c.span.file && p.end_line == c.line);
        let trailing: Doc = pending
            .iter()
            .filter(|c| is_trailing(c))
            .flat_map(|c| clean(sources.snippet(c.span)))
            .collect();
        if let Some(slot) = docs.trailing.last_mut() {
            *slot = trim_blank(trailing);
        }
        let mut block: Vec<&Token> = Vec::new();
        let mut next_line = tok.line;
        for c in pending.iter().rev() {
            if c.span.file != tok.span.file
                || is_trailing(c)
                || c.end_line.saturating_add(1) < next_line
            {
                break;
            }
            block.push(c);
            next_line = c.line;
        }
        let doc: Doc = block
            .iter()
            .rev()
            .flat_map(|c| clean(sources.snippet(c.span)))
            .collect();
        pending.clear();
        out.push(tok);
        docs.leading.push(trim_blank(doc));
        docs.trailing.push(Doc::new());
    }
    (out, docs)
}

/// Whether a comment before anything else in its file is a licence or
/// copyright header (which documents the file, not the first definition).
fn is_file_header(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    ["copyright", "license", "licence", "all rights reserved"]
        .iter()
        .any(|w| lower.contains(w))
}

/// The text lines of one comment, without the comment markers.
pub(crate) fn clean(raw: &str) -> Vec<String> {
    if let Some(line) = raw.strip_prefix("//") {
        let line = line.trim_start_matches('/');
        let line = line.strip_prefix(' ').unwrap_or(line);
        return vec![line.trim_end().to_string()];
    }
    let inner = raw.strip_prefix("/*").unwrap_or(raw);
    let inner = inner.strip_suffix("*/").unwrap_or(inner);
    let inner = inner.trim_start_matches('*').trim_end_matches('*');
    let lines: Vec<&str> = inner.lines().collect();
    let rest = lines.get(1..).unwrap_or(&[]);
    let starred = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .all(|l| l.trim_start().starts_with('*'));
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let text = if i == 0 {
            line.trim()
        } else if starred {
            let t = line.trim_start();
            let t = t.strip_prefix('*').unwrap_or(t);
            t.strip_prefix(' ').unwrap_or(t).trim_end()
        } else {
            line.get(indent..)
                .unwrap_or_else(|| line.trim_start())
                .trim_end()
        };
        if !text.is_empty() && text.chars().all(|c| c == '*' || c == '/') {
            continue; // A decorative rule.
        }
        out.push(text.to_string());
    }
    trim_blank(out)
}

/// Drops leading and trailing empty lines.
fn trim_blank(mut lines: Vec<String>) -> Vec<String> {
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let first = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    lines.drain(..first);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_block_and_line_comments() {
        assert_eq!(clean("// hello  "), vec!["hello"]);
        assert_eq!(clean("/// hello"), vec!["hello"]);
        assert_eq!(clean("/* one line */"), vec!["one line"]);
        assert_eq!(
            clean("/*\n * first\n *   indented\n *\n * last\n */"),
            vec!["first", "  indented", "", "last"]
        );
        assert_eq!(clean("/*\n    a\n      b\n */"), vec!["a", "  b"]);
        assert_eq!(clean("/*****\n * x\n *****/"), vec!["x"]);
    }
}
