//! Snapshots of the rendered diagnostics for malformed inputs: what the
//! user sees on stderr (`FILE:LINE:COL: error: ...`, source line, caret).

use xdrgen::diagnostic::render_all;
use xdrgen::{parse_str, ParseOptions, SourceMap};

/// Parses `text` as `bad.x` and renders every diagnostic; the input must
/// be refused.
fn errors(text: &str) -> String {
    let mut sources = SourceMap::new();
    match parse_str("bad.x", text, &ParseOptions::default(), &mut sources) {
        Ok(spec) => panic!("accepted: {spec:?}"),
        Err(errs) => render_all(&errs, &sources),
    }
}

#[test]
fn missing_semicolon_after_field() {
    insta::assert_snapshot!(errors("const A = 1;\nstruct foo { int x };\n"));
}

#[test]
fn missing_semicolon_after_struct() {
    insta::assert_snapshot!(errors(
        "struct foo {\n\tint x;\n}\nstruct bar {\n\tint y;\n};\n"
    ));
}

#[test]
fn misspelt_type_after_unsigned() {
    insta::assert_snapshot!(errors(
        "struct s {\n    unsigned hyperr x;\n    unsigned foo *p;\n    unsigned y;\n};\n"
    ));
}

#[test]
fn misspelt_keyword() {
    insta::assert_snapshot!(errors("strcut foo { int x; };\nconst B = 2;\n"));
}

#[test]
fn bad_numbers() {
    insta::assert_snapshot!(errors(
        "const A = 09;\nconst B = 0x;\nconst C = 999999999999999999999999999999999999999999;\n"
    ));
}

#[test]
fn unterminated_comment() {
    insta::assert_snapshot!(errors("const A = 1;\n/* never closed\nconst B = 2;\n"));
}

#[test]
fn stray_character() {
    insta::assert_snapshot!(errors("struct s {\n\tint a @;\n\tint b;\n};\n"));
}

#[test]
fn union_without_switch() {
    insta::assert_snapshot!(errors("union u {\n\tcase 1: int x;\n};\n"));
}

#[test]
fn program_without_number() {
    insta::assert_snapshot!(errors(
        "program P {\n\tversion V {\n\t\tvoid NULLPROC(void) = 0;\n\t} = 1;\n};\n"
    ));
}

#[test]
fn unterminated_if_and_stray_endif() {
    insta::assert_snapshot!(errors("#endif\n#ifdef RPC_HDR\nconst A = 1;\n"));
}

#[test]
fn missing_include() {
    insta::assert_snapshot!(errors("#include \"nowhere.x\"\nconst A = 1;\n"));
}

#[test]
fn ocamlrpcgen_extensions() {
    insta::assert_snapshot!(errors(
        "struct s {\n\t_managed string x<>;\n\tint y => z;\n};\n"
    ));
}

#[test]
fn keyword_as_name_and_typedef_void() {
    insta::assert_snapshot!(errors("struct int { int x; };\ntypedef void;\n"));
}

#[test]
fn several_errors_are_all_reported() {
    insta::assert_snapshot!(errors(
        "struct a { int x };\nenum e { A = , B };\nstruct ok { int y; };\nconst = 5;\nunion u switch (int d) { case 1 int z; };\n"
    ));
}

#[test]
fn end_of_file_inside_a_struct() {
    insta::assert_snapshot!(errors("struct s {\n\tint a;\n"));
}

#[test]
fn bad_if_expression_and_unknown_directive() {
    insta::assert_snapshot!(errors("#if defined(A\n#endif\n#frobnicate\nconst A = 1;\n"));
}

#[test]
fn macro_expansion_points_at_the_use() {
    insta::assert_snapshot!(errors("#define SIZE @\ntypedef opaque buf[SIZE];\n"));
}

#[test]
fn a_run_of_stray_characters_is_one_error() {
    insta::assert_snapshot!(errors(
        "const A = 1 @@$;\nconst B = \u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{e}\u{f}\u{10}\u{11}\u{12}\u{13}\u{14}\u{15}\u{16}\u{17};\nconst C = ` `;\n"
    ));
}
