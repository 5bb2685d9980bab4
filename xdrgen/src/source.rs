//! Source files and positions: [`SourceMap`] holds every file read (the
//! main `.x` and anything it `#include`s); a [`Span`] points into one.

use std::path::{Path, PathBuf};

/// Identifies a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset just past the last byte.
    pub end: u32,
}

impl Span {
    /// A span of `start..end` (byte offsets) in `file`.
    pub fn new(file: FileId, start: u32, end: u32) -> Self {
        Span { file, start, end }
    }

    /// The span from the start of `self` to the end of `other`; `self` if
    /// `other` lies in another file or before `self`.
    pub fn to(self, other: Span) -> Span {
        if other.file == self.file && other.end >= self.start {
            Span::new(self.file, self.start, other.end.max(self.end))
        } else {
            self
        }
    }

    /// The empty span just past the end of `self`.
    pub fn end_point(self) -> Span {
        Span::new(self.file, self.end, self.end)
    }
}

/// A 1-based line and column. The column counts Unicode scalar values, so a
/// tab or a multi-byte character is one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column, starting at 1.
    pub col: u32,
}

/// One file held by a [`SourceMap`].
#[derive(Debug, Clone)]
pub struct SourceFile {
    name: String,
    path: Option<PathBuf>,
    text: String,
    /// Byte offset of the start of each line; the first is 0.
    line_starts: Vec<u32>,
}

impl SourceFile {
    /// The name diagnostics print (the path as given, or e.g. `<stdin>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file system path it was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The number of lines (a final line without newline counts).
    pub fn line_count(&self) -> u32 {
        u32::try_from(self.line_starts.len()).unwrap_or(u32::MAX)
    }

    /// The 1-based line holding byte `offset` (clamped to the text).
    pub fn line_of(&self, offset: u32) -> u32 {
        let idx = self.line_starts.partition_point(|&s| s <= offset);
        u32::try_from(idx.max(1)).unwrap_or(u32::MAX)
    }

    /// The 1-based line and column of byte `offset` (clamped to the text;
    /// an offset inside a multi-byte character counts as that character).
    pub fn line_col(&self, offset: u32) -> LineCol {
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let offset = (offset as usize).min(self.text.len());
        let prefix = self.text.get(start..offset).map_or_else(
            || {
                // Offset not on a char boundary: count chars up to it.
                self.text
                    .char_indices()
                    .skip_while(|(i, _)| *i < start)
                    .take_while(|(i, _)| *i < offset)
                    .count()
            },
            |s| s.chars().count(),
        );
        LineCol {
            line,
            col: u32::try_from(prefix + 1).unwrap_or(u32::MAX),
        }
    }

    /// The text of 1-based `line`, without its line terminator; `None` past
    /// the end.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        let idx = usize::try_from(line.checked_sub(1)?).ok()?;
        let start = *self.line_starts.get(idx)? as usize;
        let end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |&e| e as usize);
        let s = self.text.get(start..end)?;
        Some(s.trim_end_matches(['\n', '\r']))
    }

    fn line_start(&self, line: u32) -> usize {
        let idx = line.saturating_sub(1) as usize;
        self.line_starts.get(idx).map_or(0, |&s| s as usize)
    }
}

/// Every source file read during one compilation, addressed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

/// The largest file a [`SourceMap`] holds: spans are `u32` byte offsets.
pub const MAX_FILE_BYTES: usize = u32::MAX as usize;

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id. `name` is what diagnostics print;
    /// `path` is where it was read from (used to resolve `#include` and for
    /// `cargo:rerun-if-changed`). Text past [`MAX_FILE_BYTES`] is cut off
    /// (callers check the length first and report it).
    pub fn add(
        &mut self,
        name: impl Into<String>,
        path: Option<PathBuf>,
        mut text: String,
    ) -> FileId {
        if text.len() > MAX_FILE_BYTES {
            let mut cut = MAX_FILE_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .filter_map(|(i, _)| u32::try_from(i + 1).ok()),
        );
        if line_starts.len() > 1 && line_starts.last().map(|&l| l as usize) == Some(text.len()) {
            // A trailing newline does not open a new line.
            line_starts.pop();
        }
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            name: name.into(),
            path,
            text,
            line_starts,
        });
        id
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The file's display name (`<unknown>` for an id not in this map).
    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", SourceFile::name)
    }

    /// The file's text (empty for an id not in this map).
    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map_or("", SourceFile::text)
    }

    /// The 1-based line and column where `span` starts.
    pub fn line_col(&self, span: Span) -> LineCol {
        self.get(span.file)
            .map_or(LineCol { line: 1, col: 1 }, |f| f.line_col(span.start))
    }

    /// The source text `span` covers (empty if out of range).
    pub fn snippet(&self, span: Span) -> &str {
        self.text(span.file)
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// All files, in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    /// The paths of every file read from disk (for `cargo:rerun-if-changed`).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().filter_map(SourceFile::path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_line_text() {
        let mut map = SourceMap::new();
        let id = map.add("a.x", None, "ab\ncdé f\n\nlast".to_string());
        let f = map.get(id).cloned();
        let Some(f) = f else { panic!("file missing") };
        assert_eq!(f.line_count(), 4);
        assert_eq!(f.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, col: 1 });
        // 'é' is two bytes; 'f' is the 5th char of line 2.
        assert_eq!(f.line_col(8), LineCol { line: 2, col: 5 });
        assert_eq!(f.line_text(2), Some("cdé f"));
        assert_eq!(f.line_text(3), Some(""));
        assert_eq!(f.line_text(4), Some("last"));
        assert_eq!(f.line_text(5), None);
        assert_eq!(f.line_col(1000), LineCol { line: 4, col: 5 });
    }

    #[test]
    fn trailing_newline_is_not_a_line() {
        let mut map = SourceMap::new();
        let id = map.add("a.x", None, "x\r\ny\n".to_string());
        let f = map.get(id).cloned();
        let Some(f) = f else { panic!("file missing") };
        assert_eq!(f.line_count(), 2);
        assert_eq!(f.line_text(1), Some("x"));
        assert_eq!(f.line_col(5), LineCol { line: 2, col: 3 });
    }
}
