//! Bad input never panics or hangs: random bytes and random token soup go
//! through `parse_str`; every error renders as `NAME:LINE:COL: error: ...`
//! with a position inside the input.

use proptest::prelude::*;
use xdrgen::{parse_str, ParseOptions, SourceMap};

/// Parses `text`; on error checks that every diagnostic renders with a
/// `fuzz.x:LINE:COL: error:` header whose line exists in the input.
fn check(text: &str) {
    let mut sources = SourceMap::new();
    let Err(errs) = parse_str("fuzz.x", text, &ParseOptions::default(), &mut sources) else {
        return;
    };
    assert!(!errs.is_empty());
    let lines = text.split('\n').count();
    for e in &errs {
        let rendered = e.render(&sources);
        let header = rendered.lines().next().unwrap_or_default();
        let rest = header
            .strip_prefix("fuzz.x:")
            .unwrap_or_else(|| panic!("bad header {header:?}"));
        let mut parts = rest.splitn(3, ':');
        let line: usize = parts
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("{header:?}"));
        let col: usize = parts
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{header:?}"));
        assert!(
            parts.next().is_some_and(|m| m.starts_with(" error: ")),
            "{header:?}"
        );
        assert!(
            line >= 1 && line <= lines,
            "line {line} of {lines}: {header:?}"
        );
        assert!(col >= 1, "{header:?}");
    }
}

const VOCAB: &[&str] = &[
    "const",
    "typedef",
    "enum",
    "struct",
    "union",
    "switch",
    "case",
    "default",
    "program",
    "version",
    "int",
    "unsigned",
    "hyper",
    "opaque",
    "string",
    "void",
    "bool",
    "float",
    "double",
    "quadruple",
    "long",
    "short",
    "char",
    "namespace",
    "pragma",
    "foo",
    "bar",
    "X",
    "0",
    "42",
    "-1",
    "0x1f",
    "017",
    "09",
    "0x",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ";",
    ":",
    "::",
    ",",
    "=",
    "*",
    "-",
    "=>",
    "_managed",
    "\"str\"",
    "\"open",
    "/* c */",
    "/* open",
    "// line\n",
    "\n#define X 1\n",
    "\n#if X\n",
    "\n#ifdef Y\n",
    "\n#else\n",
    "\n#endif\n",
    "\n#include \"nope.x\"\n",
    "\n%pass\n",
    "\n#elif (\n",
    "\n#undef X\n",
    "@",
    "é",
    "\\",
    "\n",
    "\t",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup(words in proptest::collection::vec(proptest::sample::select(VOCAB), 0..120)) {
        check(&words.join(" "));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Real syntax with one random cut and one random insertion.
    #[test]
    fn mutated_real_file(cut in any::<(usize, usize)>(), at in any::<usize>(), word in proptest::sample::select(VOCAB)) {
        let original = std::fs::read_to_string("/usr/include/rpcsvc/mount.x").unwrap_or_default();
        let bytes = original.as_bytes();
        let len = bytes.len().max(1);
        let (a, b) = (cut.0 % len, cut.1 % len);
        let (a, b) = (a.min(b), a.max(b).min(a + 64));
        let mut mutated: Vec<u8> = bytes.get(..a).unwrap_or_default().to_vec();
        mutated.extend_from_slice(bytes.get(b..).unwrap_or_default());
        let at = at % mutated.len().max(1);
        let tail = mutated.split_off(at.min(mutated.len()));
        mutated.extend_from_slice(word.as_bytes());
        mutated.extend_from_slice(&tail);
        check(&String::from_utf8_lossy(&mutated));
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let depth = 20_000;
    for (open, close) in [
        ("struct s { struct { ", " } x; };"),
        (
            "typedef union switch (int d) { case 1: union switch (int e) { case 1: ",
            "",
        ),
        ("namespace n { ", "}"),
        ("#if ", ""),
    ] {
        let text = if open == "#if " {
            format!("#if {}1\n#endif\n", "(".repeat(depth))
        } else {
            format!("{}{}", open.repeat(depth), close.repeat(depth))
        };
        check(&text);
    }
}

#[test]
fn self_referential_macros_terminate() {
    check("#define A B\n#define B A\nconst C = A;\n");
    check("#define X X X\ntypedef int t[X];\n");
}

/// Ten uses of a macro of ten uses of ... nine levels deep would expand a
/// 300-byte file to a billion tokens; the expansion budget stops it with
/// one error at the use that crosses it.
#[test]
fn nested_macros_cannot_multiply_without_bound() {
    let names: Vec<String> = (0..10).map(|i| format!("M{i}")).collect();
    let mut text = String::new();
    for pair in names.windows(2) {
        text.push_str(&format!(
            "#define {} {}\n",
            pair[0],
            [pair[1].as_str(); 10].join(" ")
        ));
    }
    text.push_str(&format!(
        "#define {} 1\nconst X = {};\n",
        names[9], names[0]
    ));
    let mut sources = SourceMap::new();
    let errs = parse_str("fuzz.x", &text, &ParseOptions::default(), &mut sources)
        .expect_err("the expansion is refused");
    let budget: Vec<_> = errs
        .iter()
        .filter(|e| e.message.contains("makes too many tokens"))
        .collect();
    assert_eq!(budget.len(), 1, "{errs:?}");
    assert!(
        budget[0]
            .render(&sources)
            .starts_with("fuzz.x:11:11: error: the expansion of macro `M"),
        "{}",
        budget[0].render(&sources)
    );
    check(&text);
}

/// A file of garbage gets at most 100 syntax errors, then one saying the
/// parser stopped (a C compiler's error limit), not one per token.
#[test]
fn the_parser_stops_after_a_hundred_errors() {
    let text = ";".repeat(4096);
    let mut sources = SourceMap::new();
    let errs = parse_str("fuzz.x", &text, &ParseOptions::default(), &mut sources)
        .expect_err("not a specification");
    assert_eq!(errs.len(), 101, "{errs:?}");
    assert_eq!(
        errs.last().map(|e| e.message.as_str()),
        Some("100 syntax errors: the rest of the file is not parsed")
    );
    check(&text);
}

#[test]
fn empty_and_whitespace_inputs() {
    for text in ["", "\n", "   ", "/**/", "%", "#", "\u{feff}"] {
        check(text);
    }
}
