//! AST assertions on the real `/usr/include/rpcsvc/mount.x` (rpcsvc-proto).

use std::path::Path;

use xdrgen::ast::{Definition, Shape, Specification, TypeDefKind, TypeSpec, Value};
use xdrgen::diagnostic::render_all;
use xdrgen::{parse_file, ParseOptions, SourceMap};

fn mount() -> Specification {
    let mut sources = SourceMap::new();
    match parse_file(
        Path::new("/usr/include/rpcsvc/mount.x"),
        &ParseOptions::default(),
        &mut sources,
    ) {
        Ok(spec) => spec,
        Err(errs) => panic!("{}", render_all(&errs, &sources)),
    }
}

fn find<'a>(spec: &'a Specification, name: &str) -> &'a Definition {
    spec.definitions
        .iter()
        .find(|d| match d {
            Definition::Const(c) => c.name.name == name,
            Definition::Type(t) => t.name.name == name,
            Definition::Program(p) => p.name.name == name,
        })
        .unwrap_or_else(|| panic!("{name} not defined"))
}

#[test]
fn consts_and_typedefs() {
    let spec = mount();
    let Definition::Const(c) = find(&spec, "MNTPATHLEN") else {
        panic!("not a const")
    };
    assert!(matches!(c.value, Value::Literal { value: 1024, .. }));
    let Definition::Type(t) = find(&spec, "fhandle") else {
        panic!("not a type")
    };
    let TypeDefKind::Typedef(decl) = &t.kind else {
        panic!("not a typedef")
    };
    assert_eq!(decl.ty, TypeSpec::Opaque);
    assert!(matches!(&decl.shape, Shape::FixedArray(Value::Named(n)) if n.name == "FHSIZE"));
    let Definition::Type(t) = find(&spec, "mountlist") else {
        panic!("not a type")
    };
    let TypeDefKind::Typedef(decl) = &t.kind else {
        panic!("not a typedef")
    };
    assert!(matches!(&decl.ty, TypeSpec::Named(n) if n.name == "mountbody"));
    assert_eq!(decl.shape, Shape::Optional);
}

#[test]
fn exportnode_has_three_fields() {
    let spec = mount();
    let Definition::Type(t) = find(&spec, "exportnode") else {
        panic!("not a type")
    };
    let TypeDefKind::Struct(body) = &t.kind else {
        panic!("not a struct")
    };
    let names: Vec<_> = body
        .fields
        .iter()
        .filter_map(|f| f.name.as_ref())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["ex_dir", "ex_groups", "ex_next"]);
    assert!(body.fields.iter().all(|f| f.shape == Shape::Plain));
}

#[test]
fn fhstatus_union() {
    let spec = mount();
    let Definition::Type(t) = find(&spec, "fhstatus") else {
        panic!("not a type")
    };
    let TypeDefKind::Union(u) = &t.kind else {
        panic!("not a union")
    };
    assert_eq!(u.discriminant.ty, TypeSpec::UnsignedInt);
    assert_eq!(
        u.discriminant.name.as_ref().map(|n| n.name.as_str()),
        Some("fhs_status")
    );
    assert_eq!(u.arms.len(), 1);
    assert!(matches!(
        u.arms[0].cases.as_slice(),
        [Value::Literal { value: 0, .. }]
    ));
    let default = u.default.as_ref().expect("default arm");
    assert_eq!(default.ty, TypeSpec::Void);
    assert_eq!(default.name, None);
}

#[test]
fn program_has_seven_procedures() {
    let spec = mount();
    let Definition::Program(p) = find(&spec, "MOUNTPROG") else {
        panic!("not a program")
    };
    assert!(matches!(p.number, Value::Literal { value: 100005, .. }));
    assert_eq!(p.versions.len(), 1);
    let v = &p.versions[0];
    assert_eq!(v.name.name, "MOUNTVERS");
    assert!(matches!(v.number, Value::Literal { value: 1, .. }));
    let procs: Vec<_> = v.procedures.iter().map(|p| p.name.name.as_str()).collect();
    assert_eq!(
        procs,
        [
            "MOUNTPROC_NULL",
            "MOUNTPROC_MNT",
            "MOUNTPROC_DUMP",
            "MOUNTPROC_UMNT",
            "MOUNTPROC_UMNTALL",
            "MOUNTPROC_EXPORT",
            "MOUNTPROC_EXPORTALL"
        ]
    );
    let mnt = &v.procedures[1];
    assert!(matches!(&mnt.result, TypeSpec::Named(n) if n.name == "fhstatus"));
    assert!(matches!(mnt.args.as_slice(), [TypeSpec::Named(n)] if n.name == "dirpath"));
    assert!(v.procedures[0].args.is_empty());
    assert_eq!(v.procedures[0].result, TypeSpec::Void);
    // The comment above each procedure is its doc.
    assert_eq!(
        v.procedures[0].doc,
        [
            "Does no work. It is made available in all RPC services",
            "to allow server response testing and timing"
        ]
    );
    assert_eq!(
        v.doc.first().map(String::as_str),
        Some("Version one of the mount protocol communicates with version two")
    );
}
