//! Doc comments for generated items.
//!
//! `.x` comments go inside a ```` ```text ```` block so rustdoc neither
//! interprets them as Markdown (broken links, headings) nor runs indented
//! lines as doctests. Tabs are expanded (rustdoc and clippy dislike them).

use proc_macro2::TokenStream;
use quote::quote;

/// `#[doc]` attributes: the summary line, then the `.x` comments (if any)
/// in a text block.
pub(super) fn doc(summary: &str, comments: &[String]) -> TokenStream {
    let mut lines = vec![summary.to_owned()];
    if comments.iter().any(|c| !c.trim().is_empty()) {
        lines.push(String::new());
        lines.push("```text".to_owned());
        for c in comments {
            // A fence inside the comment would end the text block early.
            lines.push(expand_tabs(&c.replace("```", "'''")));
        }
        lines.push("```".to_owned());
    }
    lines
        .into_iter()
        .map(|l| {
            let l = if l.is_empty() { l } else { format!(" {l}") };
            quote!(#[doc = #l])
        })
        .collect()
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

    #[test]
    fn tabs_expand_to_eight_column_stops() {
        assert_eq!(expand_tabs("a\tb"), "a       b");
        assert_eq!(expand_tabs("\tx\t\ty"), "        x               y");
    }

    #[test]
    fn comments_go_in_a_text_block() {
        let d = doc("`int x`", &["a ```fence```".to_owned()]).to_string();
        assert!(d.contains("```text"));
        assert!(d.contains("a '''fence'''"));
        assert!(
            doc("only", &["  ".to_owned()])
                .to_string()
                .matches("doc")
                .count()
                == 1
        );
    }
}
