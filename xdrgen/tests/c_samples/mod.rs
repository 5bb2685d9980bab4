//! Random XDR samples of every type of a set of `.x` files, and the C
//! programs (`rpcgen -c` output compiled with gcc and libtirpc) that
//! decode and re-encode them: the machinery the wire tests share.
//!
//! [`load_specs`] checks every `.x` file of [`spec_files`] and draws
//! random valid samples of each of its types from a model-driven wire
//! generator ([`Gen`]), which also records where each sample can be
//! corrupted ([`Site`]); [`build_c`] builds a C program that reads
//! `TYPE HEX` lines and prints the bytes libtirpc re-encodes (`pipe`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use xdrgen::model::{
    CaseLabel, DiscKind, Field, Item, Model, Size, Type, TypeItem, TypeKind, Union,
};
use xdrgen::{parse_file, ParseOptions, SourceMap};

use crate::{corpus, project_specs};

/// Random valid samples per type.
const SAMPLES: usize = 24;
/// Nesting below which optional data, lists and arrays may be non-empty.
const SOFT_DEPTH: u32 = 6;
/// Nesting at which a sample is abandoned (a union recursing in every arm).
const HARD_DEPTH: u32 = 40;
/// Nodes of the one long chain in each type's extra sample: more than
/// the decoder's depth limit, as rpcgen's C reads it.
const LONG_CHAIN: u64 = 1000;

/// xorshift64*: small, seedable, good enough for test data.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn u32(&mut self) -> u32 {
        // Mix edge values in with uniform ones.
        match self.below(6) {
            0 => 0,
            1 => u32::MAX,
            2 => 1 << 31,
            3 => self.below(16) as u32,
            _ => self.next() as u32,
        }
    }
}

/// Where a sample can be corrupted, and the error decoding must then give.
#[derive(Debug, Clone)]
pub(crate) enum Site {
    /// A bool (or optional-data flag) word.
    Bool(usize),
    /// An enum word and a value that is not a member.
    Enum(usize, i32),
    /// A padding byte.
    Padding(usize),
    /// A length word and the declared maximum.
    Length(usize, u32),
}

impl Site {
    /// `bytes` corrupted at this site: a bool set to 2, an enum to a
    /// value that is not a member, a padding byte to 0x5a, a length to
    /// its maximum + 1.
    pub(crate) fn corrupt(&self, bytes: &[u8]) -> Vec<u8> {
        let mut b = bytes.to_vec();
        let mut word = |at: usize, v: u32| {
            if let Some(w) = b.get_mut(at..at + 4) {
                w.copy_from_slice(&v.to_be_bytes());
            }
        };
        match self {
            Site::Bool(at) => word(*at, 2),
            Site::Enum(at, bad) => word(*at, *bad as u32),
            Site::Length(at, max) => word(*at, max.saturating_add(1)),
            Site::Padding(at) => {
                if let Some(x) = b.get_mut(*at) {
                    *x = 0x5a;
                }
            }
        }
        b
    }
}

/// The C integer type a `char`/`short` declaration narrows to: rpcgen's
/// `xdr_char`/`xdr_short` truncate, so only values that fit are compared.
#[derive(Debug, Clone, Copy)]
enum Narrow {
    Char,
    UChar,
    Short,
    UShort,
}

fn narrow_of(decl_text: &str) -> Option<Narrow> {
    let words: Vec<&str> = decl_text.split_whitespace().collect();
    match words.as_slice() {
        ["char", ..] => Some(Narrow::Char),
        ["u_char", ..] | ["unsigned", "char", ..] => Some(Narrow::UChar),
        ["short", ..] => Some(Narrow::Short),
        ["u_short", ..] | ["unsigned", "short", ..] => Some(Narrow::UShort),
        _ => None,
    }
}

#[derive(Debug)]
enum Skip {
    TooDeep,
    Extern,
}

struct Gen<'a> {
    model: &'a Model,
    rng: &'a mut Rng,
    out: Vec<u8>,
    sites: Vec<Site>,
    depth: u32,
    /// Set until the first linked list of the sample, which then gets
    /// [`LONG_CHAIN`] nodes.
    long_chain: bool,
}

impl Gen<'_> {
    fn put(&mut self, w: u32) {
        self.out.extend_from_slice(&w.to_be_bytes());
    }

    fn bytes(&mut self, n: usize, string: bool) {
        for _ in 0..n {
            let b = self.rng.next() as u8;
            // C strings end at NUL: rpcgen's xdr_string re-encodes up to it.
            self.out.push(if string && b == 0 { b'x' } else { b });
        }
        for _ in 0..(4 - n % 4) % 4 {
            self.sites.push(Site::Padding(self.out.len()));
            self.out.push(0);
        }
    }

    fn length(&mut self, max: Option<&Size>, soft_cap: u32) -> u32 {
        let max_v = max.map_or(u32::MAX, |s| s.value);
        let cap = if self.depth > SOFT_DEPTH { 0 } else { soft_cap };
        let n = if max_v <= cap || self.rng.below(8) == 0 && max_v <= 64 {
            self.rng.below(u64::from(max_v) + 1) as u32
        } else {
            self.rng.below(u64::from(cap.min(max_v)) + 1) as u32
        };
        if max_v < u32::MAX {
            self.sites.push(Site::Length(self.out.len(), max_v));
        }
        self.put(n);
        n
    }

    fn flag(&mut self, present: bool) {
        self.sites.push(Site::Bool(self.out.len()));
        self.put(u32::from(present));
    }

    fn field(&mut self, f: &Field) -> Result<(), Skip> {
        self.ty(&f.ty, narrow_of(&f.decl_text))
    }

    fn ty(&mut self, t: &Type, narrow: Option<Narrow>) -> Result<(), Skip> {
        match t {
            Type::Void => {}
            Type::Int | Type::UnsignedInt => {
                let v = self.rng.u32();
                let v = match narrow {
                    Some(Narrow::Char) => v as u8 as i8 as i32 as u32,
                    Some(Narrow::UChar) => u32::from(v as u8),
                    Some(Narrow::Short) => v as u16 as i16 as i32 as u32,
                    Some(Narrow::UShort) => u32::from(v as u16),
                    None => v,
                };
                self.put(v);
            }
            Type::Hyper | Type::UnsignedHyper => {
                let (a, b) = (self.rng.u32(), self.rng.u32());
                self.put(a);
                self.put(b);
            }
            Type::Float => {
                let v = (self.rng.next() as i32 as f32) / 64.0;
                self.put(v.to_bits());
            }
            Type::Double => {
                let v = (self.rng.next() as i64 as f64) / 1024.0;
                self.out.extend_from_slice(&v.to_bits().to_be_bytes());
            }
            Type::Bool => {
                let b = self.rng.below(2) == 1;
                self.flag(b);
            }
            Type::Named(name) => {
                let item = self
                    .model
                    .type_item(name)
                    .unwrap_or_else(|| panic!("no type {name}"));
                self.depth += 1;
                if self.depth > HARD_DEPTH {
                    return Err(Skip::TooDeep);
                }
                let r = self.item(item, narrow);
                self.depth -= 1;
                r?;
            }
            Type::FixedOpaque(n) => self.bytes(n.value as usize, false),
            Type::Opaque(max) => {
                let n = self.length(max.as_ref(), 12);
                self.bytes(n as usize, false);
            }
            Type::String(max) => {
                let n = self.length(max.as_ref(), 12);
                self.bytes(n as usize, true);
            }
            Type::Array(elem, n) => {
                for _ in 0..n.value {
                    self.ty(elem, narrow)?;
                }
            }
            Type::VarArray(elem, max) => {
                let n = self.length(max.as_ref(), 3);
                for _ in 0..n {
                    self.ty(elem, narrow)?;
                }
            }
            Type::Optional(inner) => {
                let present = self.depth <= SOFT_DEPTH && self.rng.below(2) == 1;
                self.flag(present);
                if present {
                    self.ty(inner, narrow)?;
                }
            }
            Type::Boxed(inner) => self.ty(inner, narrow)?,
            Type::Extern(_) => return Err(Skip::Extern),
            Type::List(node) => {
                let n = self.chain_len();
                self.chain(node, n)?;
            }
            Type::NonEmptyList(node) => {
                let n = self.chain_len().max(1);
                let item = self.model.type_item(node).expect("list node");
                self.depth += 1;
                let r = self.item(item, None);
                self.depth -= 1;
                r?;
                self.chain(node, n - 1)?;
            }
        }
        Ok(())
    }

    /// How many nodes a linked list gets.
    fn chain_len(&mut self) -> u64 {
        if std::mem::take(&mut self.long_chain) {
            LONG_CHAIN
        } else if self.depth > SOFT_DEPTH {
            0
        } else {
            self.rng.below(4)
        }
    }

    /// `n` nodes of a linked list, each after a TRUE, then FALSE.
    fn chain(&mut self, node: &str, n: u64) -> Result<(), Skip> {
        let item = self.model.type_item(node).expect("list node");
        for _ in 0..n {
            self.flag(true);
            self.depth += 1;
            let r = self.item(item, None);
            self.depth -= 1;
            r?;
        }
        self.flag(false);
        Ok(())
    }

    fn item(&mut self, item: &TypeItem, narrow: Option<Narrow>) -> Result<(), Skip> {
        match &item.kind {
            TypeKind::Alias(a) => self.ty(&a.ty, narrow.or_else(|| narrow_of(&a.decl_text))),
            TypeKind::Enum(e) => {
                let values: Vec<i32> = e
                    .variants
                    .iter()
                    .map(|v| v.value)
                    .chain(e.aliases.iter().map(|a| a.value))
                    .collect();
                let v = values[self.rng.below(values.len() as u64) as usize];
                let bad = (0..)
                    .map(|i| i32::MAX - i)
                    .find(|x| !values.contains(x))
                    .unwrap_or(i32::MIN);
                self.sites.push(Site::Enum(self.out.len(), bad));
                self.put(v as u32);
                Ok(())
            }
            TypeKind::Struct(s) => {
                for f in &s.fields {
                    self.field(f)?;
                }
                Ok(())
            }
            TypeKind::Union(u) => self.union(u),
        }
    }

    fn enum_value(&self, enum_name: &str, variant: &str) -> i32 {
        match self.model.type_item(enum_name).map(|t| &t.kind) {
            Some(TypeKind::Enum(e)) => e
                .variants
                .iter()
                .find(|v| v.rust_name == variant)
                .map(|v| v.value)
                .expect("enum variant"),
            _ => panic!("no enum {enum_name}"),
        }
    }

    /// The discriminant values the union's cases name.
    fn case_values(&self, u: &Union) -> Vec<i128> {
        u.cases
            .iter()
            .map(|c| match (&c.label, &u.disc_kind) {
                (CaseLabel::Int(n), _) => *n,
                (CaseLabel::Bool(b), _) => i128::from(*b),
                (CaseLabel::Enum(v), DiscKind::Enum(e)) => i128::from(self.enum_value(e, v)),
                (CaseLabel::Enum(_), _) => panic!("enum label on a non-enum discriminant"),
            })
            .collect()
    }

    fn union(&mut self, u: &Union) -> Result<(), Skip> {
        let named = self.case_values(u);
        // A discriminant for the default arm: one no case names.
        let default_disc: Option<i128> = u.default.as_ref().and_then(|_| {
            let candidates: Vec<i128> = match &u.disc_kind {
                DiscKind::Bool => vec![0, 1],
                DiscKind::Enum(e) => match self.model.type_item(e).map(|t| &t.kind) {
                    Some(TypeKind::Enum(en)) => {
                        en.variants.iter().map(|v| i128::from(v.value)).collect()
                    }
                    _ => Vec::new(),
                },
                DiscKind::UnsignedInt | DiscKind::UnsignedHyper => {
                    vec![i128::from(self.rng.u32()), 7, 1 << 20]
                }
                _ => vec![i128::from(self.rng.u32() as i32), -1, 7, 1 << 20],
            };
            let free: Vec<i128> = candidates
                .into_iter()
                .filter(|v| !named.contains(v))
                .collect();
            free.get(self.rng.below(free.len() as u64) as usize)
                .copied()
        });
        let arms = u.cases.len() + usize::from(default_disc.is_some());
        let pick = self.rng.below(arms as u64) as usize;
        let (disc, field) = match u.cases.get(pick) {
            Some(c) => (named[pick], c.field.as_ref()),
            None => (
                default_disc.expect("default discriminant"),
                u.default.as_ref().and_then(|d| d.field.as_ref()),
            ),
        };
        let at = self.out.len();
        match &u.disc_kind {
            DiscKind::Hyper | DiscKind::UnsignedHyper => {
                self.out.extend_from_slice(&(disc as u64).to_be_bytes());
            }
            DiscKind::Bool => {
                self.sites.push(Site::Bool(at));
                self.put(disc as u32);
            }
            DiscKind::Enum(e) => {
                let e = e.clone();
                if let Some(TypeKind::Enum(en)) = self.model.type_item(&e).map(|t| &t.kind) {
                    let values: Vec<i32> = en.variants.iter().map(|v| v.value).collect();
                    if let Some(bad) = (0..).map(|i| i32::MAX - i).find(|x| !values.contains(x)) {
                        self.sites.push(Site::Enum(at, bad));
                    }
                }
                self.put(disc as u32);
            }
            _ => self.put(disc as u32),
        }
        match field {
            Some(f) => self.field(f),
            None => Ok(()),
        }
    }
}

/// One type to test: the `.x` name (C) and Rust name.
pub(crate) struct Case {
    pub(crate) xdr: String,
    pub(crate) rust: String,
    pub(crate) samples: Vec<(Vec<u8>, Vec<Site>)>,
    /// Set when the last sample holds a linked list of [`LONG_CHAIN`] nodes.
    pub(crate) long_chain: bool,
}

fn cases(model: &Model, rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    for item in &model.items {
        let Item::Type(t) = item else { continue };
        if let TypeKind::Struct(s) = &t.kind {
            // A list node's Rust type has no `next` field; its lists are
            // tested through the types that hold them.
            if s.list_node {
                continue;
            }
        }
        let mut samples = Vec::new();
        let mut long = false;
        let mut tries = 0;
        // The last sample holds one long linked list, if the type has one
        // (and the tries before the limit reach it).
        while samples.len() <= SAMPLES && tries < SAMPLES * 4 {
            tries += 1;
            let long_chain = samples.len() == SAMPLES;
            let mut g = Gen {
                model,
                rng,
                out: Vec::new(),
                sites: Vec::new(),
                depth: 0,
                long_chain,
            };
            match g.item(t, None) {
                Ok(()) if long_chain && g.long_chain => {}
                Ok(()) => {
                    long = long_chain;
                    samples.push((g.out, g.sites));
                }
                Err(Skip::TooDeep) => {}
                Err(Skip::Extern) => break,
            }
        }
        if !samples.is_empty() {
            out.push(Case {
                xdr: t.xdr_name.clone(),
                rust: t.rust_name.clone(),
                samples,
                long_chain: long,
            });
        }
    }
    out
}

/// Fails with the first 40 of `failures` (and how many there are) unless
/// there are none; `seed` replays the run.
pub(crate) fn assert_no_failures(seed: u64, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "seed {seed:#x} ({} failures):\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

pub(crate) fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Feeds `input` to `exe` on stdin; returns its output lines.
pub(crate) fn pipe(exe: &Path, input: &str) -> Vec<String> {
    let mut child = Command::new(exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "{} failed: {}",
        exe.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

const C_MAIN: &str = r#"
static int hexval(int c) {
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Decodes `in`, checks every byte was used, re-encodes, prints hex. */
static void roundtrip(xdrproc_t proc, void *v, size_t size, const unsigned char *in, unsigned n) {
    XDR d, e;
    unsigned cap = 2 * n + 4096, i;
    unsigned char *out = malloc(cap);
    memset(v, 0, size);
    xdrmem_create(&d, (char *)in, n, XDR_DECODE);
    if (!proc(&d, v)) {
        printf("ERR decode\n");
    } else if (xdr_getpos(&d) != n) {
        printf("ERR trailing\n");
    } else {
        xdrmem_create(&e, (char *)out, cap, XDR_ENCODE);
        if (!proc(&e, v)) {
            printf("ERR encode\n");
        } else {
            unsigned len = xdr_getpos(&e);
            for (i = 0; i < len; i++) printf("%02x", out[i]);
            printf("\n");
        }
    }
    xdr_free(proc, v);
    free(out);
}

int main(void) {
    char *line = NULL;
    size_t linecap = 0;
    while (getline(&line, &linecap, stdin) > 0) {
        char *sp = strchr(line, ' ');
        unsigned n = 0, i;
        unsigned char *buf;
        if (!sp) { printf("ERR line\n"); continue; }
        *sp = 0;
        sp++;
        buf = malloc(strlen(sp) / 2 + 4);
        for (i = 0; sp[2 * i] && sp[2 * i] != '\n'; i++)
            buf[i] = hexval(sp[2 * i]) * 16 + hexval(sp[2 * i + 1]);
        n = i;
        dispatch(line, buf, n);
        free(buf);
        fflush(stdout);
    }
    free(line);
    return 0;
}
"#;

/// One specification under test.
pub(crate) struct Spec {
    pub(crate) path: PathBuf,
    pub(crate) module: String,
    pub(crate) model: Model,
    pub(crate) cases: Vec<Case>,
}

/// The `rpcb_prot.x` types whose XDR routines libtirpc itself exports
/// (`nm -D libtirpc.so`): for that file the C side is libtirpc's own code
/// and header (rpcgen's output would clash with `<rpc/rpc.h>`).
/// `rpcb_rmtcallargs`/`rpcb_rmtcallres` are left out: libtirpc's are
/// hand-written variants with a caller-supplied argument routine.
const LIBTIRPC_RPCB: &[&str] = &[
    "rpcb",
    "rpcb_entry",
    "rpcb_entry_list_ptr",
    "rpcb_stat",
    "rpcb_stat_byvers",
    "rpcblist",
    "rpcblist_ptr",
    "rpcbs_addrlist",
    "rpcbs_addrlist_ptr",
    "rpcbs_proc",
    "rpcbs_rmtcalllist",
    "rpcbs_rmtcalllist_ptr",
];

/// This crate's specs (`tests/specs/`) of rpcgen idioms the system and
/// project files do not show.
const OWN_SPECS: &[&str] = &["c_typedef_names.x", "list_by_value.x"];

fn is_libtirpc_rpcb(path: &Path) -> bool {
    path == Path::new("/usr/include/tirpc/rpc/rpcb_prot.x")
}

/// Builds the C round-trip program for `spec` in `dir`; returns its path.
pub(crate) fn build_c(spec: &Spec, dir: &Path) -> PathBuf {
    if is_libtirpc_rpcb(&spec.path) {
        return build_c_from(spec, dir, "#include <rpc/rpc.h>\n", &[], "");
    }
    let stem = spec.module.clone();
    let x = dir.join(format!("{stem}.x"));
    // rpcgen names the header it #includes after its input; run it from
    // the spec's own directory so that `#include "sibling.x"` resolves.
    // The project's portmap.x and rpcbind.x define the same type names as
    // libtirpc's headers; every type is renamed `xg_NAME` on the C side.
    let text = std::fs::read_to_string(&spec.path).expect("read spec");
    let text = join_continued_passthrough(&rename_types(&text, &spec.model));
    std::fs::write(&x, text).expect("write spec");
    if let Some(parent) = spec.path.parent() {
        for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|e| e == "x") && p != spec.path {
                if let (Some(name), Ok(text)) = (p.file_name(), std::fs::read_to_string(&p)) {
                    let text = join_continued_passthrough(&rename_types(&text, &spec.model));
                    let _ = std::fs::write(dir.join(name), text);
                }
            }
        }
    }
    for out in [format!("{stem}.h"), format!("{stem}_xdr.c")] {
        let _ = std::fs::remove_file(dir.join(out));
    }
    run(Command::new("rpcgen")
        .current_dir(dir)
        .args(["-N", "-h", "-o"])
        .arg(format!("{stem}.h"))
        .arg(format!("{stem}.x")));
    run(Command::new("rpcgen")
        .current_dir(dir)
        .args(["-N", "-c", "-o"])
        .arg(format!("{stem}_xdr.c"))
        .arg(format!("{stem}.x")));
    build_c_from(
        spec,
        dir,
        &format!("#include \"{stem}.h\"\n"),
        &[format!("{stem}_xdr.c")],
        "xg_",
    )
}

/// `text` with each `%` line that ends in `\` joined with the lines it
/// continues. GNU cpp (which rpcgen runs) splices such lines before rpcgen
/// sees the `%`, so Debian's rpcgen cannot make a header from its own
/// `nis.x`; joined, the C header means the same.
fn join_continued_passthrough(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut continuing = false;
    for line in text.lines() {
        let body = if continuing {
            line.trim().trim_start_matches('%')
        } else {
            line
        };
        match body.strip_suffix('\\') {
            Some(head) if continuing || line.starts_with('%') => {
                out.push_str(head);
                out.push(' ');
                continuing = true;
            }
            _ => {
                out.push_str(body);
                out.push('\n');
                continuing = false;
            }
        }
    }
    out
}

/// `int16_t`, `u_int32_t` and the like: krb5's iprop.x typedefs them only
/// outside `RPC_HDR` (the C header takes them from `<stdint.h>`), so they
/// keep their names.
fn is_c_int_typedef(name: &str) -> bool {
    let core = name
        .strip_prefix("u_")
        .or_else(|| name.strip_prefix('u'))
        .unwrap_or(name);
    core.strip_prefix("int")
        .and_then(|r| r.strip_suffix("_t"))
        .is_some_and(|bits| !bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()))
}

/// `text` with every name `model` defines (types, constants, enum
/// members, programs, versions, procedures) prefixed `xg_`, whole words
/// only (so `xdr_NAME` in `%` lines is left alone).
fn rename_types(text: &str, model: &Model) -> String {
    let mut names = std::collections::HashSet::new();
    for item in &model.items {
        match item {
            Item::Type(t) => {
                names.insert(t.xdr_name.as_str());
                if let TypeKind::Enum(e) = &t.kind {
                    names.extend(e.variants.iter().map(|v| v.xdr_name.as_str()));
                    names.extend(e.aliases.iter().map(|a| a.xdr_name.as_str()));
                }
            }
            Item::Const(c) => {
                names.insert(c.xdr_name.as_str());
            }
            Item::Program(p) => {
                names.insert(p.xdr_name.as_str());
                for v in &p.versions {
                    names.insert(v.xdr_name.as_str());
                    names.extend(v.procedures.iter().map(|p| p.xdr_name.as_str()));
                }
            }
        }
    }
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        // `#include "nis_object.x"` names a file, not a type.
        if line.trim_start().starts_with("#include") {
            out.push_str(line);
            continue;
        }
        let mut word = String::new();
        for ch in line.chars().chain(std::iter::once('\0')) {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                word.push(ch);
                continue;
            }
            if !word.is_empty() {
                if names.contains(word.as_str()) && !is_c_int_typedef(&word) {
                    out.push_str("xg_");
                }
                out.push_str(&word);
                word.clear();
            }
            if ch != '\0' {
                out.push(ch);
            }
        }
    }
    out
}

/// Writes the harness (`prelude` declares the types and routines) and
/// links it with `sources` and libtirpc.
fn build_c_from(
    spec: &Spec,
    dir: &Path,
    prelude: &str,
    sources: &[String],
    prefix: &str,
) -> PathBuf {
    let stem = &spec.module;
    let mut c = format!("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n{prelude}");
    c.push_str(
        "static void roundtrip(xdrproc_t, void *, size_t, const unsigned char *, unsigned);\n",
    );
    // Parameter names that no `.x` type can shadow.
    c.push_str(
        "static void dispatch(const char *xdrgen_name_, const unsigned char *xdrgen_buf_, unsigned xdrgen_n_) {\n",
    );
    for case in &spec.cases {
        let name = &case.xdr;
        let t = if is_c_int_typedef(name) {
            name.clone()
        } else {
            format!("{prefix}{name}")
        };
        let _ = writeln!(
            c,
            "    if (strcmp(xdrgen_name_, \"{name}\") == 0) {{ {t} xdrgen_v_; roundtrip((xdrproc_t)xdr_{t}, &xdrgen_v_, sizeof xdrgen_v_, xdrgen_buf_, xdrgen_n_); return; }}"
        );
    }
    c.push_str("    printf(\"ERR unknown\\n\");\n}\n");
    c.push_str(C_MAIN);
    let harness = dir.join(format!("{stem}_harness.c"));
    std::fs::write(&harness, c).expect("write harness");
    let exe = dir.join(format!("{stem}_c"));
    run(Command::new("gcc")
        .current_dir(dir)
        // nis.x `%#include`s libnsl's nislib.h, which names the types
        // under their original (here renamed) names: keep it out.
        .args([
            "-O1",
            "-w",
            "-D__RPCSVC_NISLIB_H__",
            "-I/usr/include/tirpc",
            "-I.",
        ])
        .arg("-o")
        .arg(&exe)
        .arg(&harness)
        .args(sources)
        .arg("-ltirpc"));
    exe
}

fn spec_files(test: &str, extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("/usr/include/rpcsvc")
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.push(PathBuf::from("/usr/include/tirpc/rpc/rpcb_prot.x"));
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs");
    files.extend(OWN_SPECS.iter().map(|f| own.join(f)));
    files.extend(project_specs::files());
    files.extend_from_slice(extra);
    // Corpus files rpcgen and gcc take as they are.
    if let Some(corpus) = corpus::dir(test) {
        for f in CORPUS_FILES {
            let path = corpus.join(f);
            assert!(path.is_file(), "corpus file missing: {}", path.display());
            files.push(path);
        }
    }
    files.retain(|p| p.extension().is_some_and(|e| e == "x"));
    // nis_callback.x uses nis.x's types without including it (C gets them
    // from nis.h); they are tested through nis.x.
    files.retain(|p| !p.ends_with("nis_callback.x"));
    files.sort();
    files
}

/// Files of the corpus (`XDRGEN_CORPUS`) whose rpcgen output compiles as
/// is.
const CORPUS_FILES: &[&str] = &[
    "amanda-ndmp/ndmp0.x",
    "krb5/iprop.x",
    "krb5/rpc_test.x",
    "libnfs/mount.x",
    "libnfs/nfs.x",
    "libnfs/nlm.x",
    "libnfs/rpcbind_data.x",
    "opensolaris/idmap_prot.x",
    "opensolaris/nfs4_prot.x",
    "opensolaris/webnfs.x",
];

/// Every spec of [`spec_files`] and `extra`, checked, with random samples of its
/// types drawn from `rng` (for libtirpc's `rpcb_prot.x`, of the types
/// libtirpc exports). `test` names the test in the message printed when
/// the corpus is skipped.
pub(crate) fn load_specs(rng: &mut Rng, test: &str, extra: &[PathBuf]) -> Vec<Spec> {
    let mut specs = Vec::new();
    for (i, path) in spec_files(test, extra).into_iter().enumerate() {
        let mut sources = SourceMap::new();
        let ast = parse_file(&path, &ParseOptions::default(), &mut sources)
            .unwrap_or_else(|_| panic!("{} does not parse", path.display()));
        let model = xdrgen::model::check(&ast)
            .unwrap_or_else(|_| panic!("{} does not check", path.display()));
        let mut cases = cases(&model, rng);
        if is_libtirpc_rpcb(&path) {
            cases.retain(|c| LIBTIRPC_RPCB.contains(&c.xdr.as_str()));
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().replace('-', "_"))
            .unwrap_or_default();
        specs.push(Spec {
            path,
            module: format!("s{i}_{stem}"),
            model,
            cases,
        });
    }
    specs
}
