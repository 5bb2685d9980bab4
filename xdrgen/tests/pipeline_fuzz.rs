//! The whole pipeline (preprocess, parse, check, emit) never panics:
//! random specifications that are mostly well-formed (so they get past the
//! parser into the checker and the emitter) with names drawn from a small
//! pool (so undefined, duplicate and wrongly-kinded names are common),
//! sizes and values from the edges of every range, and random
//! corruptions of real `.x` files. Whatever happens, the result is either
//! Rust that `syn` parses or errors that render as
//! `fuzz.x:LINE:COL: error: ...`.

use proptest::prelude::*;
use xdrgen::{generate_str, Options};

/// A tiny deterministic generator, seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

const NAMES: &[&str] = &[
    "a", "b", "c", "A", "B", "node", "Node", "list", "type", "self", "Self", "fn", "x_y", "XY",
    "MAX", "max", "default", "ok", "OK", "status",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "7",
    "0x7fffffff",
    "0x80000000",
    "-2147483648",
    "4294967295",
    "4294967296",
    "0xffffffffffffffff",
    "-9223372036854775809",
    "010",
    "MAX",
    "max",
    "A",
    "B",
    "a",
    "TRUE",
    "FALSE",
];

const BASE_TYPES: &[&str] = &[
    "int",
    "unsigned int",
    "unsigned",
    "hyper",
    "unsigned hyper",
    "float",
    "double",
    "quadruple",
    "bool",
    "char",
    "short",
    "unsigned char",
    "void",
    "opaque",
    "string",
];

fn type_name(r: &mut Rng) -> String {
    if r.chance(2) {
        r.pick(BASE_TYPES).to_owned()
    } else {
        let prefix = r.pick(&["", "", "struct ", "enum ", "union "]);
        format!("{prefix}{}", r.pick(NAMES))
    }
}

fn declaration(r: &mut Rng) -> String {
    let ty = type_name(r);
    let name = r.pick(NAMES);
    match r.next() % 6 {
        0 => format!("{ty} *{name}"),
        1 => format!("{ty} {name}[{}]", r.pick(VALUES)),
        2 => format!("{ty} {name}<{}>", r.pick(VALUES)),
        3 => format!("{ty} {name}<>"),
        _ => format!("{ty} {name}"),
    }
}

fn definition(r: &mut Rng, out: &mut String) {
    let name = r.pick(NAMES);
    match r.next() % 7 {
        0 => out.push_str(&format!("const {name} = {};\n", r.pick(VALUES))),
        1 => out.push_str(&format!("typedef {};\n", declaration(r))),
        2 => {
            out.push_str(&format!("enum {name} {{\n"));
            for i in 0..=r.next() % 4 {
                let sep = if i == 0 { "" } else { ",\n" };
                out.push_str(sep);
                if r.chance(2) {
                    out.push_str(&format!("  {} = {}", r.pick(NAMES), r.pick(VALUES)));
                } else {
                    out.push_str(&format!("  {}", r.pick(NAMES)));
                }
            }
            out.push_str("\n};\n");
        }
        3 => {
            out.push_str(&format!("struct {name} {{\n"));
            for _ in 0..=r.next() % 4 {
                out.push_str(&format!("  {};\n", declaration(r)));
            }
            if r.chance(3) {
                out.push_str(&format!("  {name} *next;\n"));
            }
            out.push_str("};\n");
        }
        4 => {
            let disc = r.pick(&["int", "unsigned int", "bool", "hyper", "a", "A", "string"]);
            out.push_str(&format!("union {name} switch ({disc} d) {{\n"));
            for _ in 0..=r.next() % 4 {
                out.push_str(&format!("case {}:\n", r.pick(VALUES)));
                if r.chance(3) {
                    continue; // fall through to the next label
                }
                if r.chance(3) {
                    out.push_str("  void;\n");
                } else {
                    out.push_str(&format!("  {};\n", declaration(r)));
                }
            }
            out.push_str("  void;\n");
            if r.chance(2) {
                out.push_str(&format!("default:\n  {};\n", declaration(r)));
            }
            out.push_str("};\n");
        }
        5 => {
            out.push_str(&format!(
                "program {name} {{\n  version {} {{\n",
                r.pick(NAMES)
            ));
            for _ in 0..=r.next() % 3 {
                let args = match r.next() % 3 {
                    0 => "void".to_owned(),
                    1 => type_name(r),
                    _ => format!("{}, {}", type_name(r), type_name(r)),
                };
                out.push_str(&format!(
                    "    {} {}({args}) = {};\n",
                    type_name(r),
                    r.pick(NAMES),
                    r.pick(VALUES)
                ));
            }
            out.push_str(&format!(
                "  }} = {};\n}} = {};\n",
                r.pick(VALUES),
                r.pick(VALUES)
            ));
        }
        _ => out.push_str(&format!("%#define {name} {}\n", r.pick(VALUES))),
    }
}

/// A specification that should check: fresh names, references only to
/// types defined earlier (or the type itself through `*`), small sizes,
/// distinct case labels; every construct the emitter has a template for.
fn valid_spec(r: &mut Rng, n: usize) -> String {
    let mut out = String::from("const LIMIT = 16;\n");
    let mut types: Vec<String> = Vec::new();
    let mut enums: Vec<(String, Vec<String>)> = Vec::new();
    for i in 0..n {
        let name = format!("{}{i}", r.pick(&["t", "type", "Self_", "fn_", "Ab", "aB"]));
        let field_ty = |r: &mut Rng, types: &[String]| -> String {
            if !types.is_empty() && r.chance(2) {
                types[(r.next() % types.len() as u64) as usize].clone()
            } else {
                r.pick(&[
                    "int",
                    "unsigned int",
                    "hyper",
                    "unsigned hyper",
                    "bool",
                    "double",
                    "float",
                ])
                .to_owned()
            }
        };
        let decl = |r: &mut Rng, types: &[String], fname: &str| -> String {
            match r.next() % 8 {
                0 => format!("opaque {fname}[{}]", 1 + r.next() % 40),
                1 => format!("opaque {fname}<LIMIT>"),
                2 => format!("string {fname}<>"),
                3 => format!("{} {fname}<{}>", field_ty(r, types), r.next() % 5),
                4 => format!("{} {fname}[{}]", field_ty(r, types), 1 + r.next() % 3),
                5 => format!("{} *{fname}", field_ty(r, types)),
                _ => format!("{} {fname}", field_ty(r, types)),
            }
        };
        match r.next() % 4 {
            0 => {
                let members: Vec<String> = (0..1 + r.next() % 4)
                    .map(|k| format!("{}_M{k}", name.to_uppercase()))
                    .collect();
                let body: Vec<String> = members
                    .iter()
                    .enumerate()
                    .map(|(k, m)| format!("{m} = {}", k as i64 * 3 - 1))
                    .collect();
                out.push_str(&format!("enum {name} {{ {} }};\n", body.join(", ")));
                enums.push((name.clone(), members));
            }
            1 => {
                out.push_str(&format!("struct {name} {{\n"));
                for k in 0..1 + r.next() % 4 {
                    out.push_str(&format!("  {};\n", decl(r, &types, &format!("f{k}"))));
                }
                if r.chance(2) {
                    out.push_str(&format!("  {name} *next;\n"));
                }
                out.push_str("};\n");
            }
            2 => {
                let use_enum = !enums.is_empty() && r.chance(2);
                if use_enum {
                    let (ename, members) = enums[(r.next() % enums.len() as u64) as usize].clone();
                    out.push_str(&format!("union {name} switch ({ename} d) {{\n"));
                    for (k, m) in members.iter().enumerate() {
                        if k == 0 {
                            out.push_str(&format!("case {m}:\n  void;\n"));
                        } else if r.chance(2) {
                            out.push_str(&format!(
                                "case {m}:\n  {};\n",
                                decl(r, &types, &format!("arm{k}"))
                            ));
                        }
                    }
                } else {
                    out.push_str(&format!("union {name} switch (int d) {{\n"));
                    for k in 0..1 + r.next() % 4 {
                        out.push_str(&format!(
                            "case {}:\n  {};\n",
                            k as i64 - 1,
                            decl(r, &types, &format!("arm{k}"))
                        ));
                    }
                    out.push_str("case 100:\n  void;\n");
                }
                if r.chance(2) {
                    out.push_str(&format!("default:\n  {};\n", decl(r, &types, "other")));
                }
                out.push_str("};\n");
            }
            _ => out.push_str(&format!("typedef {};\n", decl(r, &types, &name))),
        }
        types.push(name);
    }
    if !types.is_empty() {
        let t = &types[(r.next() % types.len() as u64) as usize];
        out.push_str(&format!(
            "program P {{ version V {{ void NULLPROC(void) = 0; {t} GET({t}) = 1; }} = 1; }} = 0x20000001;\n"
        ));
    }
    out
}

/// Runs the pipeline; checks the result is Rust or well-formed errors.
fn check(text: &str) {
    match generate_str("fuzz.x", text, &Options::default()) {
        Ok(g) => {
            assert!(g.code.starts_with("// @generated"), "{}", g.code);
            if let Err(e) = syn::parse_file(&g.code) {
                panic!("invalid Rust ({e}) for:\n{text}\n---\n{}", g.code);
            }
        }
        Err(e) => {
            assert!(!e.diagnostics.is_empty());
            let lines = text.split('\n').count();
            for line in e.rendered.lines().filter(|l| l.starts_with("fuzz.x:")) {
                let mut parts = line.splitn(4, ':');
                let _ = parts.next();
                let l: usize = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                let c: usize = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                assert!(l >= 1 && l <= lines && c >= 1, "{line}\nin:\n{text}");
                assert!(
                    parts.next().is_some_and(|m| m.starts_with(" error: ")),
                    "{line}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn random_specifications_never_panic(seed in any::<u64>(), n in 1usize..12) {
        let mut r = Rng(seed | 1);
        let mut text = String::new();
        for _ in 0..n {
            definition(&mut r, &mut text);
        }
        check(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Valid specifications check and emit Rust that parses.
    #[test]
    fn valid_specifications_emit_rust(seed in any::<u64>(), n in 1usize..14) {
        let mut r = Rng(seed | 1);
        let text = valid_spec(&mut r, n);
        let out = generate_str("fuzz.x", &text, &Options::default());
        prop_assert!(out.is_ok(), "{}\n---\n{}", text, out.err().map(|e| e.rendered).unwrap_or_default());
        check(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Real files with a token swapped, cut, or duplicated.
    #[test]
    fn corrupted_real_files_never_panic(
        file in proptest::sample::select(vec![
            "mount.x", "nfs_prot.x", "nlm_prot.x", "rquota.x", "yp.x", "key_prot.x", "rex.x",
        ]),
        seed in any::<u64>(),
    ) {
        let text = std::fs::read_to_string(format!("/usr/include/rpcsvc/{file}"))
            .unwrap_or_default();
        let mut r = Rng(seed | 1);
        let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
        let mut out = String::with_capacity(text.len());
        for w in &words {
            match r.next() % 40 {
                0 => {}
                1 => {
                    out.push_str(w);
                    out.push_str(w);
                }
                2 => {
                    out.push_str(r.pick(NAMES));
                    out.push(' ');
                }
                3 => {
                    out.push_str(r.pick(VALUES));
                    out.push(' ');
                }
                _ => out.push_str(w),
            }
        }
        check(&out);
    }
}
