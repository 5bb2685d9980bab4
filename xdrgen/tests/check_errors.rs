//! Semantic errors found by the checker (`xdrgen::model::check`): each
//! malformed input is refused with a `FILE:LINE:COL: error:` diagnostic
//! pointing at the offending text. Rendered output is snapshot-tested.

use xdrgen::{generate_str, Options};

/// Compiles `text`, expecting failure; returns the rendered diagnostics.
fn errors(text: &str) -> String {
    match generate_str("spec.x", text, &Options::default()) {
        Ok(g) => panic!("expected errors, got code:\n{}", g.code),
        Err(e) => e.rendered,
    }
}

/// The first line of each diagnostic (`spec.x:L:C: error: ...`).
fn headlines(text: &str) -> Vec<String> {
    errors(text)
        .lines()
        .filter(|l| l.starts_with("spec.x:"))
        .map(str::to_owned)
        .collect()
}

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ omit_expression => true, description => $text }, {
            insta::assert_snapshot!($name, errors($text));
        });
    };
}

#[test]
fn undefined_names() {
    assert_eq!(
        headlines("struct s { foo a; int b[N]; };"),
        [
            "spec.x:1:12: error: undefined type `foo`",
            "spec.x:1:25: error: undefined constant `N`",
        ]
    );
    snap!(
        "undefined_type",
        "typedef int t;\nstruct s {\n    missing m;\n};\n"
    );
}

#[test]
fn a_constant_is_not_a_type_and_a_type_not_a_constant() {
    assert_eq!(
        headlines("const C = 1;\ntypedef int t;\nstruct s { C a; int b<t>; };"),
        [
            "spec.x:3:12: error: `C` is a constant, not a type",
            "spec.x:3:23: error: `t` is a type, not a constant",
        ]
    );
}

#[test]
fn duplicate_definitions() {
    assert_eq!(
        headlines("const A = 1;\nconst A = 2;\nstruct s { int x; };\nunion s switch (int d) { case 0: void; };\nenum e { A = 3 };"),
        [
            "spec.x:2:7: error: `A` is defined more than once",
            "spec.x:4:7: error: `s` is defined more than once",
            "spec.x:5:10: error: `A` is defined more than once",
        ]
    );
    snap!(
        "duplicate_type",
        "struct point { int x; };\nstruct point { int y; };\n"
    );
}

#[test]
fn identical_redefinitions_are_accepted() {
    // Real files (nfs-ganesha's nfs4.x) repeat typedefs and constants.
    let ok = generate_str(
        "spec.x",
        "const N = 4;\nconst N = 4;\ntypedef opaque fh<N>;\ntypedef opaque fh<N>;\nstruct s { int x; };\ntypedef struct s s;\n",
        &Options::default(),
    );
    assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.rendered));
}

#[test]
fn case_labels_must_match_the_discriminant() {
    assert_eq!(
        headlines(
            "enum color { RED = 0, GREEN = 1 };\nenum size { BIG = 0 };\n\
             union u switch (color c) { case RED: void; case BIG: void; case 7: void; };"
        ),
        [
            "spec.x:3:49: error: case label `BIG` is a member of enum `size`, not of `color`",
            "spec.x:3:65: error: case label 7 is not a value of enum `color`",
        ]
    );
    assert_eq!(
        headlines("union u switch (unsigned d) { case -1: void; };\nunion b switch (bool d) { case 2: void; };"),
        [
            "spec.x:1:36: error: case label -1 does not fit the discriminant type",
            "spec.x:2:32: error: case label 2 does not fit the discriminant type",
        ]
    );
    snap!(
        "wrong_enum_label",
        "enum color { RED = 0 };\nenum size { BIG = 0 };\nunion u switch (color c) {\ncase BIG:\n    void;\n};\n"
    );
}

#[test]
fn duplicate_case_labels() {
    assert_eq!(
        headlines("const ONE = 1;\nunion u switch (int d) { case 1: int a; case ONE: int b; };"),
        ["spec.x:2:46: error: duplicate case label `ONE`"]
    );
    // The same value through an enum alias.
    assert_eq!(
        headlines(
            "enum e { A = 1, B = 1 };\nunion u switch (e d) { case A: void; case B: void; };"
        ),
        ["spec.x:2:43: error: duplicate case label `B`"]
    );
}

#[test]
fn invalid_discriminant_type() {
    assert_eq!(
        headlines("struct s { int x; };\nunion u switch (s d) { case 0: void; };"),
        ["spec.x:2:17: error: invalid union discriminant type"]
    );
}

#[test]
fn shapes_a_type_cannot_take() {
    assert_eq!(
        headlines(
            "struct s {\n  string a;\n  opaque b;\n  string c[4];\n  void;\n  opaque *e;\n};"
        ),
        [
            "spec.x:2:3: error: `string a` needs a maximum length",
            "spec.x:3:3: error: `opaque b` needs a size",
            "spec.x:4:3: error: `string c[..]` is not valid XDR",
            "spec.x:5:3: error: a struct field cannot be `void`",
            "spec.x:6:3: error: `opaque e` needs a size",
        ]
    );
    snap!("string_without_bound", "struct s {\n    string name;\n};\n");
    snap!("opaque_without_shape", "typedef opaque handle;\n");
}

#[test]
fn void_where_it_carries_nothing() {
    assert_eq!(
        headlines(
            "struct s { int a; void b; };\ntypedef void t;\n\
             union u switch (int d) { case 1: void c; default: void; };"
        ),
        [
            "spec.x:1:19: error: struct field `b` cannot be `void`",
            "spec.x:2:9: error: `typedef void t` is not allowed",
            "spec.x:3:34: error: a `void` union arm takes no name (`c`)",
        ]
    );
    snap!(
        "void_struct_field",
        "struct s {\n    int a;\n    void b;\n};\n"
    );
}

#[test]
fn quadruple_is_not_supported() {
    assert_eq!(
        headlines("struct s { quadruple q; };"),
        ["spec.x:1:12: error: quadruple is not supported"]
    );
    snap!("quadruple", "struct s {\n    quadruple q;\n};\n");
}

#[test]
fn sizes_and_numbers_out_of_range() {
    assert_eq!(
        headlines(
            "const NEG = -1;\ntypedef opaque a[NEG];\ntypedef int b<4294967296>;\n\
             enum e { BIG = 2147483648 };\nconst HUGE = 0x1ffffffffffffffff;"
        ),
        [
            "spec.x:2:18: error: size -1 is out of range",
            "spec.x:3:15: error: size 4294967296 is out of range",
            "spec.x:4:16: error: enum value 2147483648 of `BIG` does not fit in 32 bits",
            "spec.x:5:14: error: constant `HUGE` = 36893488147419103231 does not fit in 64 bits",
        ]
    );
    assert_eq!(
        headlines("program P { version V { void F(void) = -1; } = 1; } = 4294967296;"),
        [
            "spec.x:1:40: error: procedure number -1 is out of range",
            "spec.x:1:55: error: program number 4294967296 is out of range",
        ]
    );
}

#[test]
fn duplicate_program_numbers() {
    assert_eq!(
        headlines(
            "program P {\n  version V1 { void A(void) = 1; void B(void) = 1; } = 1;\n  version V2 { void C(void) = 0; } = 1;\n} = 9;"
        ),
        [
            "spec.x:2:49: error: procedure number 1 is used twice in version `V1`",
            "spec.x:3:38: error: version 1 of `P` is defined twice",
        ]
    );
}

#[test]
fn circular_constants() {
    assert_eq!(
        headlines("const A = B;\nconst B = A;\ntypedef int t[A];"),
        ["spec.x:2:11: error: constant `A` is defined in terms of itself"]
    );
}

#[test]
fn typedef_cycles_have_no_value() {
    assert_eq!(
        headlines("typedef b a;\ntypedef a b;"),
        ["spec.x:1:11: error: type `a` contains itself"]
    );
    // Recursion through a struct or union is fine (boxed), and so is
    // recursion through optional-data or a variable-length array.
    let ok = generate_str(
        "spec.x",
        "struct a { b x; };\nunion b switch (int d) { case 0: void; case 1: a y[2]; };\n\
         struct c { d *x; };\nstruct d { c y<>; };\nstruct tree { tree kids<>; int v; };",
        &Options::default(),
    );
    assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.rendered));
}

#[test]
fn string_constants_are_not_numbers() {
    assert_eq!(
        headlines("const S = \"text\";\ntypedef int t[S];"),
        ["spec.x:2:15: error: `S` is a string constant"]
    );
}

#[test]
fn errors_are_sorted_by_position() {
    let lines = headlines(
        "struct z { q a; };\nconst X = Y;\nstruct y { quadruple p; };\ntypedef string s;",
    );
    assert_eq!(lines.len(), 4);
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| {
        let mut parts = l.split(':').skip(1);
        let line: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let col: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (line, col)
    });
    assert_eq!(lines, sorted);
}

#[test]
fn members_of_several_enums_are_ambiguous_as_constants() {
    assert_eq!(
        headlines("enum a { X };\nenum b { X };\ntypedef int t[X];"),
        ["spec.x:3:15: error: `X` is a member of more than one enum"]
    );
}
