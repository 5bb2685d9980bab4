//! Compiler errors with a position, rendered rustc-style:
//!
//! ```text
//! spec.x:12:20: error: expected `;`, found `}`
//!    |
//! 12 | struct foo { int x }
//!    |                    ^ expected `;`
//!    = help: every struct field ends with `;`
//! ```

use std::fmt::Write as _;

use crate::source::{SourceMap, Span};

/// One error, pointing at the offending source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The offending text (may be empty: then it points between characters).
    pub span: Span,
    /// What is wrong, one line, no trailing period.
    pub message: String,
    /// A short note printed next to the caret.
    pub label: Option<String>,
    /// A suggestion printed as `= help: ...`.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `span` saying `message`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
            label: None,
            hint: None,
        }
    }

    /// Sets the note printed next to the caret.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the `= help:` line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders as `FILE:LINE:COL: error: MESSAGE`, then the source line
    /// with a caret under the span (and the label), then `= help: HINT`.
    /// Lines and columns are 1-based; columns count characters. In a file
    /// without text (one that could not be read) there is no line to
    /// show: `FILE: error: MESSAGE`, then the hint. The result ends with a
    /// newline.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        if sources.text(self.span.file).is_empty() {
            let _ = writeln!(
                out,
                "{}: error: {}",
                sources.name(self.span.file),
                self.message
            );
            if let Some(hint) = &self.hint {
                let _ = writeln!(out, "  = help: {hint}");
            }
            return out;
        }
        let pos = sources.line_col(self.span);
        let _ = writeln!(
            out,
            "{}:{}:{}: error: {}",
            sources.name(self.span.file),
            pos.line,
            pos.col,
            self.message
        );
        let line_text = sources
            .get(self.span.file)
            .and_then(|f| f.line_text(pos.line));
        let gutter = pos.line.to_string().len();
        let pad = " ".repeat(gutter);
        if let Some(line_text) = line_text {
            let col0 = pos.col.saturating_sub(1) as usize;
            let shown = ShownLine::around(line_text, col0);
            let _ = writeln!(out, "{pad} |");
            let _ = write!(
                out,
                "{} | {}",
                pos.line,
                if shown.cut_before { ELLIPSIS } else { "" }
            );
            out.extend(shown.text.chars().map(visible));
            let _ = writeln!(out, "{}", if shown.cut_after { ELLIPSIS } else { "" });
            let _ = write!(out, "{pad} | ");
            if shown.cut_before {
                out.push_str(&" ".repeat(ELLIPSIS.len()));
            }
            // Keep tabs so the caret lines up under the text.
            out.extend(
                shown
                    .before_caret
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' }),
            );
            let span_chars = sources.snippet(self.span).chars().count();
            let carets = span_chars.min(shown.from_caret_chars).max(1);
            out.push_str(&"^".repeat(carets));
            if let Some(label) = &self.label {
                let _ = write!(out, " {label}");
            }
            out.push('\n');
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = help: {hint}");
        }
        out
    }
}

/// The message alone; use [`Diagnostic::render`] for position and source.
impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// The most characters of a source line a diagnostic shows (120): a
/// longer line is cut around the caret, with [`ELLIPSIS`] where it was
/// cut, so rendering does not grow with the length of the line.
const MAX_SHOWN_CHARS: usize = 120;

/// Characters of a cut line shown before the caret (40).
const SHOWN_BEFORE_CARET: usize = 40;

/// `c` as shown in a source line: a control character other than tab
/// as its symbol from Unicode's Control Pictures block (`\u{1b}` as
/// `␛`), so that a spec's bytes cannot drive the terminal that shows
/// the error, and the caret stays under its column.
fn visible(c: char) -> char {
    match c {
        '\t' => c,
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('?'),
        '\u{7f}' => '\u{2421}',
        _ => c,
    }
}

/// Marks where a shown line was cut.
const ELLIPSIS: &str = "...";

/// The part of a source line a diagnostic shows.
struct ShownLine<'a> {
    /// The characters shown.
    text: &'a str,
    /// The part of `text` before the caret's column.
    before_caret: &'a str,
    /// Characters of `text` from the caret's column on (at most the
    /// carets drawn).
    from_caret_chars: usize,
    cut_before: bool,
    cut_after: bool,
}

impl<'a> ShownLine<'a> {
    /// At most [`MAX_SHOWN_CHARS`] of `line` around the 0-based character
    /// column `col0`.
    fn around(line: &'a str, col0: usize) -> Self {
        let total = line.chars().count();
        let col0 = col0.min(total);
        let first = if total <= MAX_SHOWN_CHARS {
            0
        } else {
            col0.saturating_sub(SHOWN_BEFORE_CARET)
                .min(total - MAX_SHOWN_CHARS)
        };
        let last = total.min(first + MAX_SHOWN_CHARS);
        let byte_at = |chars: usize| {
            line.char_indices()
                .nth(chars)
                .map_or(line.len(), |(at, _)| at)
        };
        let (start, caret, end) = (byte_at(first), byte_at(col0), byte_at(last));
        ShownLine {
            text: &line[start..end],
            before_caret: &line[start..caret],
            from_caret_chars: last - col0,
            cut_before: first > 0,
            cut_after: last < total,
        }
    }
}

/// How many diagnostics [`render_all`] renders: 100. Each shows its
/// source line, so the text of every error of a long line full of errors
/// would grow with the square of the input's size.
pub const MAX_RENDERED: usize = 100;

/// Renders the first [`MAX_RENDERED`] diagnostics, in order, separated by
/// blank lines, then a line counting the others if there are more.
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for (i, diagnostic) in diagnostics.iter().take(MAX_RENDERED).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&diagnostic.render(sources));
    }
    if let Some(more) = diagnostics
        .len()
        .checked_sub(MAX_RENDERED)
        .filter(|&n| n > 0)
    {
        let _ = writeln!(out, "\nerror: {more} more errors not shown");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_at_most_max_rendered() {
        let mut map = SourceMap::new();
        let text = "\u{1}".repeat(MAX_RENDERED + 7);
        let file = map.add("spec.x", None, text.clone());
        let diags: Vec<Diagnostic> = (0..text.len())
            .map(|i| {
                let at = u32::try_from(i).unwrap_or(0);
                Diagnostic::error(Span::new(file, at, at + 1), "unexpected character")
            })
            .collect();
        let out = render_all(&diags, &map);
        assert_eq!(
            out.matches("error: unexpected character").count(),
            MAX_RENDERED
        );
        assert!(out.ends_with("error: 7 more errors not shown\n"), "{out}");
    }

    #[test]
    fn renders_caret_label_and_hint() {
        let mut map = SourceMap::new();
        let text = "const A = 1;\nstruct foo { int x }\n";
        let file = map.add("spec.x", None, text.to_string());
        let at = u32::try_from(text.find('}').unwrap_or(0)).unwrap_or(0);
        let d = Diagnostic::error(Span::new(file, at, at + 1), "expected `;`, found `}`")
            .with_label("expected `;`")
            .with_hint("every struct field ends with `;`");
        let expected = "spec.x:2:20: error: expected `;`, found `}`\n  |\n2 | struct foo { int x }\n  |                    ^ expected `;`\n  = help: every struct field ends with `;`\n";
        assert_eq!(d.render(&map), expected);
    }

    #[test]
    fn cuts_a_long_line_around_the_caret() {
        let mut map = SourceMap::new();
        let text = format!("{}X{}\n", "a".repeat(200), "b".repeat(299));
        let file = map.add("spec.x", None, text);
        let d = Diagnostic::error(Span::new(file, 200, 201), "unexpected character `X`");
        // 40 characters before the caret, 120 in all, `...` on both cut ends.
        let expected = format!(
            "spec.x:1:201: error: unexpected character `X`\n  |\n1 | ...{}X{}...\n  | {}^\n",
            "a".repeat(40),
            "b".repeat(79),
            " ".repeat(43)
        );
        assert_eq!(d.render(&map), expected);
    }

    #[test]
    fn cuts_a_long_line_at_its_ends() {
        let mut map = SourceMap::new();
        let text = format!("X{}Y\n", "c".repeat(298));
        let file = map.add("spec.x", None, text);
        let start = Diagnostic::error(Span::new(file, 0, 1), "at the start").render(&map);
        assert!(
            start.contains(&format!("1 | X{}...\n  | ^\n", "c".repeat(119))),
            "{start}"
        );
        let end = Diagnostic::error(Span::new(file, 299, 300), "at the end").render(&map);
        assert!(
            end.contains(&format!(
                "1 | ...{}Y\n  | {}^\n",
                "c".repeat(119),
                " ".repeat(122)
            )),
            "{end}"
        );
    }

    #[test]
    fn shows_control_characters_as_symbols() {
        let mut map = SourceMap::new();
        let file = map.add("spec.x", None, "const A = \u{1b}[2J\u{7f};\n".to_string());
        let d = Diagnostic::error(Span::new(file, 10, 11), "unexpected character");
        let out = d.render(&map);
        assert!(
            out.contains("1 | const A = \u{241b}[2J\u{2421};\n"),
            "{out}"
        );
        assert!(!out.contains('\u{1b}'), "{out}");
    }
}
