//! `#include "file"` and `#include <file>`: finding, reading and
//! preprocessing the included file in place.

use std::path::{Path, PathBuf};

use super::directive::DirToken;
use super::{Preprocessor, MAX_INCLUDE_DEPTH};
use crate::diagnostic::Diagnostic;
use crate::lexer::Token;
use crate::source::MAX_FILE_BYTES;

impl Preprocessor<'_> {
    pub(super) fn include(&mut self, tok: &Token, first: &DirToken, raw: &str) {
        let after = raw
            .get(first.span.end.saturating_sub(tok.span.start) as usize..)
            .unwrap_or("")
            .trim_start();
        let (target, angled) = if let Some(s) = after.strip_prefix('"') {
            (s.split('"').next().filter(|_| s.contains('"')), false)
        } else if let Some(s) = after.strip_prefix('<') {
            (s.split('>').next().filter(|_| s.contains('>')), true)
        } else {
            (None, false)
        };
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            self.diags.push(
                Diagnostic::error(tok.span, "expected `\"FILE\"` or `<FILE>` after `#include`")
                    .with_label("malformed #include"),
            );
            return;
        };
        if self.include_stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags
                .push(Diagnostic::error(tok.span, "#include nested too deeply"));
            return;
        }
        let here = self
            .sources
            .get(tok.span.file)
            .and_then(|f| f.path())
            .and_then(Path::parent);
        let mut candidates: Vec<PathBuf> = Vec::new();
        if !angled {
            if let Some(dir) = here {
                candidates.push(dir.join(target));
            }
        }
        candidates.extend(self.opts.include_dirs.iter().map(|d| d.join(target)));
        let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
            let mut d =
                Diagnostic::error(tok.span, format!("cannot find included file `{target}`"))
                    .with_label("not found");
            if self.opts.include_dirs.is_empty() {
                d = d.with_hint("add its directory to the include directories (`-I DIR`)");
            }
            self.diags.push(d);
            return;
        };
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if self.include_stack.contains(&canonical) {
            self.diags.push(
                Diagnostic::error(tok.span, format!("`{target}` includes itself"))
                    .with_label("recursive #include"),
            );
            return;
        }
        let file = match read_source(&path) {
            Ok(text) => self
                .sources
                .add(path.display().to_string(), Some(path.clone()), text),
            Err(msg) => {
                self.diags.push(Diagnostic::error(
                    tok.span,
                    format!("cannot read `{}`: {msg}", path.display()),
                ));
                return;
            }
        };
        self.include_stack.push(canonical);
        self.run_file(file);
        self.include_stack.pop();
    }
}

/// Reads a source file as text (invalid UTF-8 is replaced, which only
/// matters inside comments), refusing files too large for a span.
pub(crate) fn read_source(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!("file is larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}
