//! The preprocessor: macros, conditionals, includes, ignored directives,
//! and positions that stay exact through all of them.

use std::fs;

use xdrgen::ast::{Definition, Shape, Specification, TypeDefKind, Value};
use xdrgen::diagnostic::render_all;
use xdrgen::{parse_file, parse_str, ParseOptions, SourceMap};

fn parse_with(text: &str, opts: &ParseOptions) -> Specification {
    let mut sources = SourceMap::new();
    match parse_str("t.x", text, opts, &mut sources) {
        Ok(spec) => spec,
        Err(errs) => panic!("{}", render_all(&errs, &sources)),
    }
}

fn parse(text: &str) -> Specification {
    parse_with(text, &ParseOptions::default())
}

fn names(spec: &Specification) -> Vec<String> {
    spec.definitions
        .iter()
        .map(|d| match d {
            Definition::Const(c) => c.name.name.clone(),
            Definition::Type(t) => t.name.name.clone(),
            Definition::Program(p) => p.name.name.clone(),
        })
        .collect()
}

fn const_value(spec: &Specification, name: &str) -> Value {
    spec.definitions
        .iter()
        .find_map(|d| match d {
            Definition::Const(c) if c.name.name == name => Some(c.value.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no const {name}"))
}

fn errors_with(text: &str, opts: &ParseOptions) -> String {
    let mut sources = SourceMap::new();
    match parse_str("t.x", text, opts, &mut sources) {
        Ok(spec) => panic!("accepted: {spec:?}"),
        Err(errs) => render_all(&errs, &sources),
    }
}

#[test]
fn object_macros_are_substituted_with_the_use_span() {
    let text = "#define SIZE 16\n#define ALIAS SIZE /* comment */\n#define EMPTY\ntypedef opaque buf[ALIAS];\nconst A = SIZE EMPTY;\n";
    let mut sources = SourceMap::new();
    let spec = parse_str("t.x", text, &ParseOptions::default(), &mut sources).expect("parses");
    let Some(Definition::Type(t)) = spec.definitions.first() else {
        panic!("no typedef")
    };
    let TypeDefKind::Typedef(d) = &t.kind else {
        panic!("not a typedef")
    };
    let Shape::FixedArray(Value::Literal { value, span, .. }) = &d.shape else {
        panic!("{:?}", d.shape)
    };
    assert_eq!(*value, 16);
    assert_eq!(sources.snippet(*span), "ALIAS");
    assert!(matches!(
        const_value(&spec, "A"),
        Value::Literal { value: 16, .. }
    ));
}

#[test]
fn undef_and_command_line_defines() {
    let opts = ParseOptions::default()
        .define("MAX", Some("0x20"))
        .define("RPC_HDR", None);
    let spec = parse_with(
        "const A = MAX;\n#ifdef RPC_HDR\nconst HDR = 1;\n#endif\n#undef MAX\nconst B = MAX;\n",
        &opts,
    );
    assert!(matches!(
        const_value(&spec, "A"),
        Value::Literal { value: 32, .. }
    ));
    assert!(matches!(const_value(&spec, "B"), Value::Named(ref n) if n.name == "MAX"));
    assert_eq!(names(&spec), ["A", "HDR", "B"]);
    let spec = parse("#ifdef RPC_HDR\nconst HDR = 1;\n#else\nconst NOT_HDR = 1;\n#endif\n");
    assert_eq!(names(&spec), ["NOT_HDR"]);
}

#[test]
fn conditionals_nest_and_chain() {
    let text = "#define ONE 1\n\
        #if 0\nconst a = 1;\n#if 1\nconst b = 1;\n#endif\n#elif defined(ONE) && !defined(TWO)\nconst c = 1;\n#else\nconst d = 1;\n#endif\n\
        #ifndef TWO\nconst e = 1;\n#endif\n\
        #if ONE == 1 || UNDEFINED\nconst f = 1;\n#elif 1\nconst g = 1;\n#endif\n\
        #if !defined(ONE)\nconst h = 1;\n#elif 0\nconst i = 1;\n#else\nconst j = 1;\n#endif\n\
        #if defined ONE\n#ifdef TWO\nconst k = 1;\n#else\nconst l = 1;\n#endif\n#endif\n";
    assert_eq!(names(&parse(text)), ["c", "e", "f", "j", "l"]);
}

#[test]
fn ignored_directives_and_passthrough() {
    let text = "#pragma ident \"%Z%%M%\"\n#line 10 \"x.x\"\n# 1 \"t.x\"\n#ident \"x\"\n#\n\
        %#include <rpc/rpc.h>\n%#define X(a) \\\n%   (a)\n\
        /*\n# not a directive inside a comment\n */\nconst A = 1;\n";
    assert_eq!(names(&parse(text)), ["A"]);
}

#[test]
fn error_directive_in_kept_region_only() {
    let out = errors_with(
        "#ifdef NOPE\n#error skipped\n#else\n#error \"unsupported\"\n#endif\n",
        &ParseOptions::default(),
    );
    assert!(
        out.contains("t.x:4:1: error: #error \"unsupported\""),
        "{out}"
    );
    assert!(!out.contains("skipped"), "{out}");
}

#[test]
fn positions_are_exact_after_directives_and_comments() {
    let text = "#define A \\\n  1\n/* two\n   lines */ @\nconst B = ;\n";
    let out = errors_with(text, &ParseOptions::default());
    assert!(
        out.starts_with("t.x:4:13: error: unexpected character `@`"),
        "{out}"
    );
    assert!(
        out.contains("t.x:5:11: error: expected a constant value, found `;`"),
        "{out}"
    );
}

#[test]
fn includes_resolve_next_to_the_file_then_in_include_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("sub");
    let inc = dir.path().join("inc");
    fs::create_dir_all(&sub).expect("mkdir");
    fs::create_dir_all(&inc).expect("mkdir");
    fs::write(sub.join("sibling.x"), "const SIBLING = 1;\n").expect("write");
    fs::write(
        inc.join("shared.x"),
        "#ifndef SHARED\n#define SHARED\nconst SHARED_C = 2;\n#endif\n",
    )
    .expect("write");
    fs::write(
        sub.join("main.x"),
        "#include \"sibling.x\"\n#include <shared.x>\n#include \"shared.x\"\nconst MAIN = SIBLING;\n",
    )
    .expect("write");
    let opts = ParseOptions::default().include_dir(&inc);
    let mut sources = SourceMap::new();
    let spec = match parse_file(&sub.join("main.x"), &opts, &mut sources) {
        Ok(spec) => spec,
        Err(errs) => panic!("{}", render_all(&errs, &sources)),
    };
    assert_eq!(names(&spec), ["SIBLING", "SHARED_C", "MAIN"]);
    // Every file read is recorded, for cargo:rerun-if-changed.
    assert_eq!(sources.paths().count(), 4);

    // parse_str looks in the include directories only.
    let spec = parse_with("#include \"shared.x\"\nconst X = 1;\n", &opts);
    assert_eq!(names(&spec), ["SHARED_C", "X"]);
}

#[test]
fn errors_in_included_files_name_that_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("bad.x"), "\nstruct s { int x };\n").expect("write");
    fs::write(dir.path().join("self.x"), "#include \"self.x\"\n").expect("write");
    let opts = ParseOptions::default().include_dir(dir.path());
    let out = errors_with("#include \"bad.x\"\n#include \"self.x\"\n", &opts);
    let bad = dir.path().join("bad.x");
    assert!(
        out.contains(&format!(
            "{}:2:18: error: expected `;`, found `}}`",
            bad.display()
        )),
        "{out}"
    );
    assert!(out.contains("includes itself"), "{out}");
}

#[test]
fn unreadable_main_file_is_a_diagnostic() {
    let mut sources = SourceMap::new();
    let errs = parse_file(
        std::path::Path::new("/nonexistent/nope.x"),
        &ParseOptions::default(),
        &mut sources,
    )
    .expect_err("must fail");
    let out = render_all(&errs, &sources);
    assert!(
        out.starts_with("/nonexistent/nope.x: error: cannot read"),
        "{out}"
    );
}
