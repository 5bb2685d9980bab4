//! What the checker builds for valid input: linked lists, names, enum
//! aliases, union variants, constants.

use xdrgen::model::{check, CaseLabel, ConstValue, Item, Model, Type, TypeKind};
use xdrgen::{parse_str, ParseOptions, SourceMap};

fn model(text: &str) -> Model {
    let mut sources = SourceMap::new();
    let spec = parse_str("spec.x", text, &ParseOptions::default(), &mut sources)
        .unwrap_or_else(|d| panic!("parse failed: {d:?}"));
    check(&spec).unwrap_or_else(|d| panic!("{}", xdrgen::diagnostic::render_all(&d, &sources)))
}

fn kind<'a>(m: &'a Model, rust_name: &str) -> &'a TypeKind {
    &m.type_item(rust_name)
        .unwrap_or_else(|| panic!("no type {rust_name}"))
        .kind
}

#[test]
fn mount_linked_lists_become_list() {
    let text = std::fs::read_to_string("/usr/include/rpcsvc/mount.x").expect("mount.x");
    let m = model(&text);
    // exportnode loses its `ex_next` field; `exports` is List<Exportnode>.
    let TypeKind::Struct(s) = kind(&m, "Exportnode") else {
        panic!()
    };
    assert!(s.list_node);
    let names: Vec<&str> = s.fields.iter().map(|f| f.rust_name.as_str()).collect();
    assert_eq!(names, ["ex_dir", "ex_groups"]);
    assert_eq!(s.fields[1].ty, Type::Named("Groups".into()));
    let TypeKind::Alias(a) = kind(&m, "Exports") else {
        panic!()
    };
    assert_eq!(a.ty, Type::List("Exportnode".into()));
    let TypeKind::Alias(a) = kind(&m, "Groups") else {
        panic!()
    };
    assert_eq!(a.ty, Type::List("Groupnode".into()));
}

#[test]
fn list_with_direct_self_pointer() {
    let m =
        model("struct entry { int v; entry *next; };\nstruct dir { entry *entries; bool eof; };");
    let TypeKind::Struct(e) = kind(&m, "Entry") else {
        panic!()
    };
    assert!(e.list_node);
    assert_eq!(e.fields.len(), 1);
    let TypeKind::Struct(d) = kind(&m, "Dir") else {
        panic!()
    };
    assert_eq!(d.fields[0].ty, Type::List("Entry".into()));
}

#[test]
fn a_list_node_used_by_value_is_still_a_list() {
    let m = model(
        "struct node { int v; node *next; };\n\
         struct holder { node first; node *more; node pair[2]; };\n\
         program P { version V { node GET(void) = 1; } = 1; } = 0x20000001;",
    );
    let TypeKind::Struct(node) = kind(&m, "Node") else {
        panic!()
    };
    assert!(node.list_node);
    assert_eq!(node.fields.len(), 1);
    let TypeKind::Struct(h) = kind(&m, "Holder") else {
        panic!()
    };
    let chain = Type::NonEmptyList("Node".into());
    assert_eq!(h.fields[0].ty, chain);
    assert_eq!(h.fields[1].ty, Type::List("Node".into()));
    let size = match &h.fields[2].ty {
        Type::Array(e, n) if **e == chain => n.value,
        other => panic!("{other:?}"),
    };
    assert_eq!(size, 2);
    let Some(Item::Program(p)) = m.items.last() else {
        panic!()
    };
    assert_eq!(p.versions[0].procedures[0].result, chain);
}

#[test]
fn a_pointer_that_is_not_last_is_not_a_list() {
    let m = model("struct node { node *next; int v; };");
    let TypeKind::Struct(n) = kind(&m, "Node") else {
        panic!()
    };
    assert!(!n.list_node);
}

#[test]
fn rust_names_keywords_and_collisions() {
    let m = model("const foo = 1;\nconst FOO = 2;\nstruct type { int type; int self; int match; };\nstruct TYPE { int x; };");
    let consts: Vec<(&str, &str, bool)> = m
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Const(c) => Some((c.xdr_name.as_str(), c.rust_name.as_str(), c.renamed)),
            _ => None,
        })
        .collect();
    assert_eq!(consts, [("foo", "FOO", false), ("FOO", "FOO2", true)]);
    let TypeKind::Struct(s) = kind(&m, "Type") else {
        panic!()
    };
    let fields: Vec<&str> = s.fields.iter().map(|f| f.rust_name.as_str()).collect();
    assert_eq!(fields, ["r#type", "self_", "r#match"]);
    assert!(m
        .type_item("Type2")
        .is_some_and(|t| t.renamed && t.xdr_name == "TYPE"));
}

#[test]
fn enum_values_aliases_and_members_as_constants() {
    let m = model("const BASE = 10;\nenum e { A = BASE, B, C = A, D = -1 };\ntypedef int arr[B];");
    let TypeKind::Enum(e) = kind(&m, "E") else {
        panic!()
    };
    let v: Vec<(&str, i32)> = e
        .variants
        .iter()
        .map(|v| (v.rust_name.as_str(), v.value))
        .collect();
    assert_eq!(v, [("A", 10), ("B", 11), ("D", -1)]);
    assert_eq!(e.aliases.len(), 1);
    assert_eq!(
        (
            e.aliases[0].rust_name.as_str(),
            e.aliases[0].target.as_str()
        ),
        ("C", "A")
    );
    let TypeKind::Alias(a) = kind(&m, "Arr") else {
        panic!()
    };
    let Type::Array(_, size) = &a.ty else {
        panic!()
    };
    assert_eq!((size.value, size.konst.as_deref()), (11, None));
}

#[test]
fn sizes_keep_their_constant_names() {
    let m = model("const N = 8;\ntypedef opaque h[N];\ntypedef string s<N>;");
    let TypeKind::Alias(a) = kind(&m, "H") else {
        panic!()
    };
    let Type::FixedOpaque(size) = &a.ty else {
        panic!()
    };
    assert_eq!((size.value, size.konst.as_deref()), (8, Some("N")));
}

#[test]
fn union_variant_names() {
    let m = model(
        "enum k { K_A = 1, K_B = 2, K_C = 3 };\n\
         union by_enum switch (k d) { case K_A: case K_B: int shared; case K_C: void; };\n\
         union by_int switch (int d) { case 1: int alpha; case 2: case 3: int beta; case -4: void; default: void; };\n\
         union by_bool switch (bool d) { case TRUE: int yes; case FALSE: void; };",
    );
    let names = |n: &str| -> Vec<String> {
        let TypeKind::Union(u) = kind(&m, n) else {
            panic!()
        };
        let mut v: Vec<String> = u.cases.iter().map(|c| c.rust_name.clone()).collect();
        v.extend(u.default.iter().map(|d| d.rust_name.clone()));
        v
    };
    assert_eq!(names("ByEnum"), ["KA", "KB", "KC"]);
    assert_eq!(
        names("ByInt"),
        ["Alpha", "Case2", "Case3", "CaseMinus4", "Default"]
    );
    assert_eq!(names("ByBool"), ["Yes", "False"]);
    let TypeKind::Union(u) = kind(&m, "ByEnum") else {
        panic!()
    };
    assert_eq!(u.cases[1].label, CaseLabel::Enum("KB".into()));
}

#[test]
fn forward_references_and_rpc_header_names() {
    let m = model(
        "struct a { later l; uint32_t u; netobj o; };\nstruct later { int x; };\n\
         union auth switch (int f) { case AUTH_SYS: int uid; default: void; };",
    );
    let TypeKind::Struct(s) = kind(&m, "A") else {
        panic!()
    };
    assert_eq!(s.fields[0].ty, Type::Named("Later".into()));
    assert_eq!(s.fields[1].ty, Type::UnsignedInt);
    let TypeKind::Union(u) = kind(&m, "Auth") else {
        panic!()
    };
    assert_eq!(u.cases[0].label, CaseLabel::Int(1));
}

#[test]
fn c_typedef_names_give_way_to_the_specs_own_definitions() {
    let m = model(
        "union u_int switch (int d) { case 1: hyper h; default: void; };\n\
         typedef hyper u_char;\n\
         struct s { u_int p; u_char q; u_long r; u_short t; };",
    );
    let TypeKind::Struct(s) = kind(&m, "S") else {
        panic!()
    };
    let tys: Vec<&Type> = s.fields.iter().map(|f| &f.ty).collect();
    assert_eq!(
        tys,
        [
            &Type::Named("UInt".into()),
            &Type::Named("UChar".into()),
            &Type::UnsignedInt,
            &Type::UnsignedInt,
        ]
    );
}

#[test]
fn constants_of_every_width() {
    let m = model("const A = -5;\nconst B = 0xffffffffff;\nconst C = \"text\";");
    let values: Vec<ConstValue> = m
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Const(c) => Some(c.value.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        [
            ConstValue::Int(-5),
            ConstValue::Int(0xff_ffff_ffff),
            ConstValue::Str("text".into())
        ]
    );
}

#[test]
fn anonymous_inline_types_are_named_after_their_field() {
    let m = model(
        "struct outer { struct { int a; } inner; union switch (int d) { case 0: void; } u; };",
    );
    assert!(matches!(kind(&m, "OuterInner"), TypeKind::Struct(_)));
    assert!(matches!(kind(&m, "OuterU"), TypeKind::Union(_)));
    let TypeKind::Struct(s) = kind(&m, "Outer") else {
        panic!()
    };
    assert_eq!(s.fields[0].ty, Type::Named("OuterInner".into()));
}

#[test]
fn programs_share_procedure_constants_across_versions() {
    let m = model(
        "program P {\n version V1 { void NULLPROC(void) = 0; int GET(int) = 1; } = 1;\n \
         version V2 { void NULLPROC(void) = 0; int GET(int, hyper) = 1; int new(void) = 2; } = 2;\n} = 77;",
    );
    let Some(Item::Program(p)) = m.items.iter().find(|i| matches!(i, Item::Program(_))) else {
        panic!()
    };
    assert_eq!(p.versions[0].trait_name, "PV1");
    assert_eq!(p.versions[1].trait_name, "PV2");
    let v2 = &p.versions[1];
    assert_eq!(v2.procedures[0].const_name, None);
    assert_eq!(v2.procedures[1].args, [Type::Int, Type::Hyper]);
    // `new` would clash with the client's constructor.
    assert_eq!(v2.procedures[2].method, "new_");
}

#[test]
fn by_value_recursion_is_boxed_once() {
    // Stellar's SCSpecTypeDef / SCSpecTypeOption shape.
    let m = model(
        "union def switch (int kind) { case 0: void; case 1: option opt; case 2: pair two; };\n\
         struct option { def value_type; };\nstruct pair { def left; def right; };",
    );
    let TypeKind::Struct(o) = kind(&m, "Option") else {
        panic!()
    };
    let TypeKind::Struct(p) = kind(&m, "Pair") else {
        panic!()
    };
    let TypeKind::Union(d) = kind(&m, "Def") else {
        panic!()
    };
    let boxed = |t: &Type| matches!(t, Type::Boxed(_));
    // Each cycle is broken at exactly one place.
    let union_boxed = d
        .cases
        .iter()
        .filter_map(|c| c.field.as_ref())
        .filter(|f| boxed(&f.ty))
        .count();
    let struct_boxed = o
        .fields
        .iter()
        .chain(&p.fields)
        .filter(|f| boxed(&f.ty))
        .count();
    assert!(union_boxed + struct_boxed >= 2, "{d:?} {o:?} {p:?}");
    assert!(
        union_boxed == 2 || struct_boxed == 3,
        "one side of every cycle: {d:?} {o:?} {p:?}"
    );
}

#[test]
fn scoped_enum_members_as_case_labels() {
    // xdrpp's dialect: two enums share member names; each union's labels
    // are looked up in its own discriminant's enum.
    let m = model(
        "enum color { RED, GREEN };\nenum other { GREEN = 5, RED = 6 };\n\
         union u switch (other o) { case RED: int a; case GREEN: void; };",
    );
    let TypeKind::Union(u) = kind(&m, "U") else {
        panic!()
    };
    assert_eq!(u.cases[0].label, CaseLabel::Enum("Red".into()));
    let TypeKind::Enum(e) = kind(&m, "Other") else {
        panic!()
    };
    assert_eq!(e.variants[1].value, 6);
}
