//! Doc comments for generated items: plain `///` lines, as prost-build
//! writes them.
//!
//! `.x` comments are C comments, not Markdown, so each line is sanitized
//! for rustdoc and clippy: tabs expanded (what the `.x` author saw), the
//! block dedented, `[`, `]` and a `<` that could open a tag escaped (no broken intra-doc links or
//! HTML tags), bare URLs put in `<...>`, and a line that Markdown would
//! read as the start of a code block (a fence, or four spaces after a blank
//! line, which rustdoc would run as a doctest), a list item, a heading or a
//! block quote gets its marker escaped or its indentation trimmed.

use proc_macro2::TokenStream;
use quote::quote;

/// `#[doc]` attributes: the summary line, then the `.x` comments (if any)
/// after a blank line.
pub(super) fn doc(summary: &str, comments: &[String]) -> TokenStream {
    attrs(&doc_lines(summary, comments))
}

/// One `#[doc]` attribute per line of [`doc_lines`].
pub(super) fn attrs(lines: &[String]) -> TokenStream {
    lines.iter().map(|l| quote!(#[doc = #l])).collect()
}

/// The text of each `#[doc]` attribute of [`doc`]: a space before every
/// non-empty line (`/// text`).
pub(super) fn doc_lines(summary: &str, comments: &[String]) -> Vec<String> {
    let mut lines = vec![summary.to_owned()];
    let comment = sanitize(comments);
    if !comment.is_empty() {
        lines.push(String::new());
        lines.extend(comment);
    }
    for l in &mut lines {
        if !l.is_empty() {
            l.insert(0, ' ');
        }
    }
    lines
}

/// The comment lines as Markdown that renders them as written: no
/// leading or trailing blank lines, no runs of blank lines.
fn sanitize(comments: &[String]) -> Vec<String> {
    let expanded: Vec<String> = comments
        .iter()
        .map(|c| expand_tabs(c).trim_end().to_owned())
        .collect();
    let indent = expanded
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = Vec::with_capacity(expanded.len());
    for line in &expanded {
        let line = line.get(indent..).unwrap_or("");
        let after_blank = out.last().map_or("", String::as_str).is_empty();
        if line.is_empty() {
            if !after_blank {
                out.push(String::new());
            }
            continue;
        }
        out.push(sanitize_line(line, after_blank));
    }
    if out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// One non-empty line; `after_blank` when it starts a Markdown block.
fn sanitize_line(line: &str, after_blank: bool) -> String {
    let text = line.trim_start();
    let indent = &line[..line.len() - text.len()];
    // Four spaces after a blank line start an indented code block.
    let indent = if after_blank && indent.len() >= 4 {
        ""
    } else {
        indent
    };
    format!("{indent}{}", escape_block_start(&escape_inline(text)))
}

/// Escapes a Markdown block marker at the start of `text`: a code fence,
/// a heading, a block quote, a list item (`-`, `*`, `+`, `1.`, `1)`).
fn escape_block_start(text: &str) -> String {
    let bullet =
        ["- ", "* ", "+ "].iter().any(|b| text.starts_with(b)) || matches!(text, "-" | "*" | "+");
    let fence = text.starts_with("```") || text.starts_with("~~~");
    // A line of `=` or `-` under text would make that text a heading.
    let underline = text.chars().all(|c| c == '=') || text.chars().all(|c| c == '-');
    if bullet || fence || underline || text.starts_with(['#', '>']) {
        return format!("\\{text}");
    }
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 {
        let rest = &text[digits..];
        if rest.starts_with(['.', ')']) && (rest.len() == 1 || rest[1..].starts_with(' ')) {
            return format!("{}\\{rest}", &text[..digits]);
        }
    }
    text.to_owned()
}

/// Escapes `[`, `]` and a `<` before a letter, and puts URLs in angle
/// brackets.
fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | ')'))
                .unwrap_or(rest.len());
            let url = rest[..end].trim_end_matches(['.', ',', ';', ':']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            rest = &rest[url.len()..];
            continue;
        }
        // `<` only where it could open an HTML tag (`name<MAX>`, not `a < b`).
        let tag = c == '<'
            && rest[1..].starts_with(|n: char| n.is_ascii_alphabetic() || "/!?".contains(n));
        if matches!(c, '[' | ']') || tag {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Replaces tabs by spaces up to the next multiple of 8 columns (what the
/// `.x` author saw).
fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0usize;
    for c in line.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        sanitize(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn tabs_expand_to_eight_column_stops() {
        assert_eq!(expand_tabs("a\tb"), "a       b");
        assert_eq!(expand_tabs("\tx\t\ty"), "        x               y");
    }

    #[test]
    fn comments_are_plain_lines_after_a_blank_line() {
        let d = doc("`int x`", &["some text".to_owned()]).to_string();
        assert!(!d.contains("```"));
        assert_eq!(d.matches("doc").count(), 3);
        assert_eq!(
            doc("only", &["  ".to_owned()])
                .to_string()
                .matches("doc")
                .count(),
            1
        );
    }

    #[test]
    fn block_is_dedented_and_blank_runs_collapse() {
        assert_eq!(
            lines(&["", "  a", "    b", "", "", "  c", ""]),
            ["a", "  b", "", "c"]
        );
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(
            lines(&["see [RFC] and name<MAX>, http://x.org/a. a < b"]),
            [r"see \[RFC\] and name\<MAX>, <http://x.org/a>. a < b"]
        );
        assert_eq!(
            lines(&["```c", "# of", "- item", "1. one", "> quote", "-1 is fine"]),
            [
                r"\```c",
                r"\# of",
                r"\- item",
                r"1\. one",
                r"\> quote",
                "-1 is fine"
            ]
        );
        assert_eq!(lines(&["`x` is code", "==="]), ["`x` is code", r"\==="]);
    }

    #[test]
    fn indented_code_blocks_are_not_started() {
        assert_eq!(
            lines(&["a", "", "        code", "        more"]),
            ["a", "", "code", "        more"]
        );
    }
}
