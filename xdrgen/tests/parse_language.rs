//! The language, construct by construct: RFC 4506 section 6, RFC 5531
//! section 12, rpcgen's extensions and the dialects found in real files.

use xdrgen::ast::{Declaration, Definition, Shape, Specification, TypeDefKind, TypeSpec, Value};
use xdrgen::diagnostic::render_all;
use xdrgen::{parse_str, ParseOptions, SourceMap};

fn parse(text: &str) -> Specification {
    let mut sources = SourceMap::new();
    match parse_str("t.x", text, &ParseOptions::default(), &mut sources) {
        Ok(spec) => spec,
        Err(errs) => panic!("{}", render_all(&errs, &sources)),
    }
}

fn lit(v: &Value) -> i128 {
    match v {
        Value::Literal { value, .. } => *value,
        other => panic!("not a literal: {other:?}"),
    }
}

fn named(v: &Value) -> &str {
    match v {
        Value::Named(id) => &id.name,
        other => panic!("not a name: {other:?}"),
    }
}

fn kind(spec: &Specification, i: usize) -> &TypeDefKind {
    match spec.definitions.get(i) {
        Some(Definition::Type(t)) => &t.kind,
        other => panic!("definition {i} is not a type: {other:?}"),
    }
}

fn fields(spec: &Specification, i: usize) -> &[Declaration] {
    match kind(spec, i) {
        TypeDefKind::Struct(b) => &b.fields,
        other => panic!("not a struct: {other:?}"),
    }
}

#[test]
fn constants_in_every_base() {
    let spec = parse("const A = 10;\nconst B = 0x1F;\nconst C = 017;\nconst D = -5;\nconst E = A;\nconst F = 0xffffffffffffffff;\nconst G = \"abc\";\n");
    let values: Vec<_> = spec
        .definitions
        .iter()
        .map(|d| match d {
            Definition::Const(c) => c.value.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lit(&values[0]), 10);
    assert_eq!(lit(&values[1]), 31);
    assert_eq!(lit(&values[2]), 15);
    assert_eq!(lit(&values[3]), -5);
    assert_eq!(named(&values[4]), "A");
    assert_eq!(lit(&values[5]), 0xffff_ffff_ffff_ffff);
    assert!(matches!(&values[6], Value::Str { value, .. } if value == "abc"));
}

#[test]
fn every_declaration_form() {
    let spec = parse(
        "struct s {\n\
         opaque a[4];\n opaque b<8>;\n opaque c<>;\n string d<16>;\n string e<>;\n\
         int f[3];\n int g<5>;\n int h<>;\n s *next;\n hyper i;\n unsigned hyper j;\n\
         unsigned k;\n unsigned int l;\n float m;\n double n;\n quadruple o;\n bool p;\n\
         opaque z[0];\n};\n",
    );
    let f = fields(&spec, 0);
    let shapes: Vec<_> = f.iter().map(|d| (d.ty.clone(), d.shape.clone())).collect();
    assert_eq!(shapes[0].0, TypeSpec::Opaque);
    assert!(matches!(&shapes[0].1, Shape::FixedArray(v) if lit(v) == 4));
    assert!(matches!(&shapes[1].1, Shape::VarArray(Some(v)) if lit(v) == 8));
    assert_eq!(shapes[2].1, Shape::VarArray(None));
    assert_eq!(shapes[3].0, TypeSpec::String);
    assert!(matches!(&shapes[3].1, Shape::VarArray(Some(v)) if lit(v) == 16));
    assert_eq!(shapes[4].1, Shape::VarArray(None));
    assert_eq!(shapes[5].0, TypeSpec::Int);
    assert!(matches!(&shapes[5].1, Shape::FixedArray(v) if lit(v) == 3));
    assert!(matches!(&shapes[6].1, Shape::VarArray(Some(v)) if lit(v) == 5));
    assert_eq!(shapes[7].1, Shape::VarArray(None));
    assert!(matches!(&shapes[8].0, TypeSpec::Named(n) if n.name == "s"));
    assert_eq!(shapes[8].1, Shape::Optional);
    let tys: Vec<_> = shapes[9..18].iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(
        tys,
        [
            TypeSpec::Hyper,
            TypeSpec::UnsignedHyper,
            TypeSpec::UnsignedInt,
            TypeSpec::UnsignedInt,
            TypeSpec::Float,
            TypeSpec::Double,
            TypeSpec::Quadruple,
            TypeSpec::Bool,
            TypeSpec::Opaque,
        ]
    );
    assert!(matches!(&shapes[17].1, Shape::FixedArray(v) if lit(v) == 0));
    let names: Vec<_> = f
        .iter()
        .filter_map(|d| d.name.as_ref())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names.len(), 18);
    assert_eq!(names[8], "next");
}

#[test]
fn rpcgen_c_type_spellings() {
    let spec = parse(
        "struct c {\n char a; short b; long c; unsigned char d; unsigned short e; unsigned long f;\n\
         u_int g; u_long h; u_short i; u_char j; long long k; unsigned long long l; short int m;\n\
         struct other n; struct other *o; enum color p; union u q;\n};\ntypedef struct foo *bar;\n",
    );
    let tys: Vec<_> = fields(&spec, 0).iter().map(|d| d.ty.clone()).collect();
    assert_eq!(
        tys[..6],
        [
            TypeSpec::Char,
            TypeSpec::Short,
            TypeSpec::Int,
            TypeSpec::UnsignedChar,
            TypeSpec::UnsignedShort,
            TypeSpec::UnsignedInt,
        ]
    );
    assert_eq!(
        tys[10..13],
        [TypeSpec::Hyper, TypeSpec::UnsignedHyper, TypeSpec::Short]
    );
    // `u_int` and the like are C typedef names, not keywords: a spec may
    // define them (the model maps them to `unsigned int` otherwise).
    let named = tys[6..10].iter().chain(&tys[13..]);
    let names = [
        "u_int", "u_long", "u_short", "u_char", "other", "other", "color", "u",
    ];
    for (t, name) in named.zip(names) {
        assert!(matches!(t, TypeSpec::Named(n) if n.name == name), "{t:?}");
    }
    let TypeDefKind::Typedef(d) = kind(&spec, 1) else {
        panic!("not a typedef")
    };
    assert!(matches!(&d.ty, TypeSpec::Named(n) if n.name == "foo"));
    assert_eq!(d.shape, Shape::Optional);
}

#[test]
fn enums_with_and_without_values() {
    let spec = parse("enum e { A, B = 5, C, D = -1, E = 0x10, F = B, };\n");
    let TypeDefKind::Enum(body) = kind(&spec, 0) else {
        panic!("not an enum")
    };
    let members: Vec<_> = body
        .members
        .iter()
        .map(|m| (m.name.name.as_str(), m.value.clone()))
        .collect();
    assert_eq!(members.len(), 6);
    assert_eq!(members[0].1, None);
    assert_eq!(members[1].1.as_ref().map(lit), Some(5));
    assert_eq!(members[2].1, None);
    assert_eq!(members[3].1.as_ref().map(lit), Some(-1));
    assert_eq!(members[4].1.as_ref().map(lit), Some(16));
    assert_eq!(members[5].1.as_ref().map(named), Some("B"));
}

#[test]
fn unions_with_shared_labels_default_and_scoped_labels() {
    let spec = parse(
        "union u switch (enum kind k) {\n case A:\n case B: int x;\n case -1: void;\n\
         case ::RED: hyper y;\n case color::GREEN: opaque z<>;\n default: void;\n};\n\
         union b switch (bool f) { case TRUE: int t; case FALSE: void; };\n",
    );
    let TypeDefKind::Union(u) = kind(&spec, 0) else {
        panic!("not a union")
    };
    assert!(matches!(&u.discriminant.ty, TypeSpec::Named(n) if n.name == "kind"));
    assert_eq!(u.arms.len(), 4);
    let labels: Vec<Vec<String>> = u
        .arms
        .iter()
        .map(|a| {
            a.cases
                .iter()
                .map(|c| match c {
                    Value::Literal { value, .. } => value.to_string(),
                    Value::Named(n) => n.name.clone(),
                    Value::Str { value, .. } => value.clone(),
                })
                .collect()
        })
        .collect();
    assert_eq!(
        labels,
        [vec!["A", "B"], vec!["-1"], vec!["RED"], vec!["GREEN"]]
    );
    assert_eq!(u.arms[1].decl.ty, TypeSpec::Void);
    assert_eq!(u.arms[1].decl.name, None);
    assert_eq!(
        u.default.as_ref().map(|d| d.ty.clone()),
        Some(TypeSpec::Void)
    );
    let TypeDefKind::Union(b) = kind(&spec, 1) else {
        panic!("not a union")
    };
    assert_eq!(b.discriminant.ty, TypeSpec::Bool);
}

#[test]
fn anonymous_inline_types() {
    let spec = parse(
        "struct s {\n enum { ONE, TWO } num;\n struct { int a; } inner;\n\
         union switch (int v) { case 0: void; } ext;\n};\n\
         typedef struct { int x; } t;\n",
    );
    let f = fields(&spec, 0);
    assert!(matches!(&f[0].ty, TypeSpec::Enum(b) if b.members.len() == 2));
    assert!(matches!(&f[1].ty, TypeSpec::Struct(b) if b.fields.len() == 1));
    assert!(matches!(&f[2].ty, TypeSpec::Union(u) if u.arms.len() == 1));
    let TypeDefKind::Typedef(d) = kind(&spec, 1) else {
        panic!("not a typedef")
    };
    assert!(matches!(&d.ty, TypeSpec::Struct(_)));
}

#[test]
fn programs_versions_and_procedures() {
    let spec = parse(
        "program P {\n version V1 {\n  void NULLPROC(void) = 0;\n  string ECHO(string) = 1;\n } = 1;\n\
         version V2 {\n  int ADD(int, int) = 1;\n  struct r GET(struct a) = 2;\n\
         unsigned hyper LIST(int64_t lastrowid, uint64_t limit) = 3;\n } = 2;\n} = 0x20000001;\n",
    );
    let Some(Definition::Program(p)) = spec.definitions.first() else {
        panic!("no program")
    };
    assert_eq!(lit(&p.number), 0x2000_0001);
    assert_eq!(p.versions.len(), 2);
    let v1 = &p.versions[0];
    assert!(v1.procedures[0].args.is_empty());
    assert_eq!(v1.procedures[1].args, [TypeSpec::String]);
    assert_eq!(v1.procedures[1].result, TypeSpec::String);
    let v2 = &p.versions[1];
    assert_eq!(lit(&v2.number), 2);
    assert_eq!(v2.procedures[0].args, [TypeSpec::Int, TypeSpec::Int]);
    assert!(matches!(&v2.procedures[1].result, TypeSpec::Named(n) if n.name == "r"));
    assert_eq!(v2.procedures[2].result, TypeSpec::UnsignedHyper);
    assert_eq!(v2.procedures[2].args.len(), 2);
}

#[test]
fn dialect_wrappers_passthrough_and_comments() {
    let spec = parse(
        "%#include <rpc/rpc.h>\n  %indented passthrough\n%#define X \\\n%continued\n\
         pragma header nfs4;\n// C++ comment\nnamespace outer {\n typedef opaque Hash[32];\n\
         struct s { Hash* h; };\n}\nconst after = 1;\n",
    );
    assert_eq!(spec.definitions.len(), 3);
    let f = fields(&spec, 1);
    assert_eq!(f[0].shape, Shape::Optional);
}

#[test]
fn doc_comments_attach_to_the_next_item() {
    let spec = parse(
        "/* Header, separated by a blank line. */\n\n\
         /*\n * The answer.\n * Second line.\n */\nconst A = 42; /* trailing */\n\
         // Line comment doc.\nstruct s {\n\t/* first field */\n\tint a;\n\tint b; /* about b */\n\tint c;\n};\n\
         enum e {\n\t/** one */\n\tONE = 1\n};\nconst B = 1; // trailing doc for B\n",
    );
    let Some(Definition::Const(a)) = spec.definitions.first() else {
        panic!("no const")
    };
    assert_eq!(a.doc, ["The answer.", "Second line."]);
    let Some(Definition::Const(b)) = spec.definitions.get(3) else {
        panic!("no const")
    };
    assert_eq!(b.doc, ["trailing doc for B"]);
    let Some(Definition::Type(s)) = spec.definitions.get(1) else {
        panic!("no struct")
    };
    assert_eq!(s.doc, ["Line comment doc."]);
    let f = fields(&spec, 1);
    assert_eq!(f[0].doc, ["first field"]);
    assert_eq!(f[1].doc, ["about b"]);
    // A comment trailing `b` documents `b`, not `c`.
    assert_eq!(f[2].doc, Vec::<String>::new());
    let TypeDefKind::Enum(e) = kind(&spec, 2) else {
        panic!("no enum")
    };
    assert_eq!(e.members[0].doc, ["one"]);
}

#[test]
fn licence_header_is_not_documentation() {
    let spec = parse("/*\n * Copyright (c) 2010 Someone.\n */\nconst A = 1;\n");
    let Some(Definition::Const(a)) = spec.definitions.first() else {
        panic!("no const")
    };
    assert!(a.doc.is_empty(), "{:?}", a.doc);
}

#[test]
fn spans_point_at_the_source() {
    let text = "const LONG_NAME = 7;\n";
    let mut sources = SourceMap::new();
    let spec = parse_str("t.x", text, &ParseOptions::default(), &mut sources).expect("parses");
    let Some(Definition::Const(c)) = spec.definitions.first() else {
        panic!("no const")
    };
    assert_eq!(sources.snippet(c.name.span), "LONG_NAME");
    let pos = sources.line_col(c.name.span);
    assert_eq!((pos.line, pos.col), (1, 7));
}
