//! Program definitions (RFC 5531 section 12.2): numbers checked, procedure
//! argument and result types resolved, Rust names for the constants, the
//! server trait, client and dispatcher, and the methods.

use std::collections::HashMap;

use crate::ast::{ProgramDef, TypeSpec, Value};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

use super::check::Checker;
use super::consts::span_of;
use super::names::{rust_name, Case, Namespace};
use super::{Procedure, Program, Type, Version};

/// Method names the generated client defines itself (or inherits through
/// derives); a procedure with one of these names gets a trailing `_`.
const RESERVED_METHODS: &[&str] = &["new", "with_timeout", "inner", "clone", "fmt", "from_arc"];

impl Checker<'_> {
    /// Checks a program definition.
    pub(super) fn program(&mut self, p: &ProgramDef) -> Option<Program> {
        let number = self.number(&p.number, "program");
        let const_name = self
            .scope
            .rust_consts
            .claim(&rust_name(&p.name.name, Case::Shouty))
            .0;
        let mut versions = Vec::with_capacity(p.versions.len());
        let mut seen_versions: HashMap<u32, ()> = HashMap::new();
        let mut ok = number.is_some();
        for v in &p.versions {
            let vnum = self.number(&v.number, "version");
            if let Some(n) = vnum {
                if seen_versions.insert(n, ()).is_some() {
                    self.diags.push(
                        Diagnostic::error(
                            span_of(&v.number),
                            format!("version {n} of `{}` is defined twice", p.name.name),
                        )
                        .with_label("duplicate version number"),
                    );
                    ok = false;
                }
            }
            let vconst = self
                .scope
                .rust_consts
                .claim(&rust_name(&v.name.name, Case::Shouty))
                .0;
            let trait_name = self.claim_stub_names(&format!(
                "{}V{}",
                rust_name(&p.name.name, Case::UpperCamel).trim_start_matches("r#"),
                vnum.unwrap_or(0)
            ));
            let mut methods = Namespace::with_reserved(RESERVED_METHODS);
            let mut seen_procs: HashMap<u32, ()> = HashMap::new();
            let mut procedures = Vec::with_capacity(v.procedures.len());
            for proc in &v.procedures {
                let pnum = self.number(&proc.number, "procedure");
                if let Some(n) = pnum {
                    if seen_procs.insert(n, ()).is_some() {
                        self.diags.push(
                            Diagnostic::error(
                                span_of(&proc.number),
                                format!(
                                    "procedure number {n} is used twice in version `{}`",
                                    v.name.name
                                ),
                            )
                            .with_label("duplicate procedure number"),
                        );
                        ok = false;
                    }
                }
                let const_name = match (self.proc_consts.get(&proc.name.name), pnum) {
                    (Some(prev), Some(n)) if *prev == n => None,
                    (Some(prev), Some(n)) => {
                        self.diags.push(
                            Diagnostic::error(
                                span_of(&proc.number),
                                format!("procedure `{}` is numbered {n} here but {prev} in an earlier version", proc.name.name),
                            )
                            .with_label("conflicting number")
                            .with_hint("rpcgen defines one C macro per procedure name; give the procedures different names"),
                        );
                        ok = false;
                        None
                    }
                    (_, _) => {
                        if let Some(n) = pnum {
                            self.proc_consts.insert(proc.name.name.clone(), n);
                        }
                        Some(
                            self.scope
                                .rust_consts
                                .claim(&rust_name(&proc.name.name, Case::Shouty))
                                .0,
                        )
                    }
                };
                let snake = rust_name(&proc.name.name, Case::Snake);
                let method = if RESERVED_METHODS.contains(&snake.as_str()) {
                    methods.claim(&format!("{snake}_")).0
                } else {
                    methods.claim(&snake).0
                };
                let mut args = Vec::with_capacity(proc.args.len());
                for a in &proc.args {
                    match self.proc_type(a, proc.name.span) {
                        Some(Type::Void) => {}
                        Some(t) => args.push(t),
                        None => ok = false,
                    }
                }
                let result = self.proc_type(&proc.result, proc.name.span);
                ok &= result.is_some();
                if let (Some(number), Some(result)) = (pnum, result) {
                    procedures.push(Procedure {
                        xdr_name: proc.name.name.clone(),
                        const_name,
                        method,
                        number,
                        args,
                        result,
                        doc: proc.doc.clone(),
                    });
                } else {
                    ok = false;
                }
            }
            if let Some(number) = vnum {
                versions.push(Version {
                    xdr_name: v.name.name.clone(),
                    const_name: Some(vconst),
                    number,
                    doc: v.doc.clone(),
                    trait_name,
                    procedures,
                });
            } else {
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        Some(Program {
            xdr_name: p.name.name.clone(),
            const_name,
            number: number?,
            radix: super::consts::radix_of(&p.number),
            doc: p.doc.clone(),
            versions,
        })
    }

    /// A program, version or procedure number: `0..=u32::MAX`.
    fn number(&mut self, v: &Value, what: &str) -> Option<u32> {
        let n = self.eval.value(&self.scope, v, &mut self.diags)?;
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.diags.push(
                    Diagnostic::error(span_of(v), format!("{what} number {n} is out of range"))
                        .with_label("must be between 0 and 4294967295")
                        .with_hint("RFC 5531 program, version and procedure numbers are unsigned 32-bit integers"),
                );
                None
            }
        }
    }

    /// A procedure argument or result type. rpcgen accepts a bare `string`
    /// here (an unbounded string) but not `opaque`.
    fn proc_type(&mut self, t: &TypeSpec, span: Span) -> Option<Type> {
        match t {
            TypeSpec::String => Some(Type::String(None)),
            TypeSpec::Opaque => {
                self.diags.push(
                    Diagnostic::error(
                        span,
                        "`opaque` is not allowed as a procedure argument or result",
                    )
                    .with_label("in this procedure")
                    .with_hint("declare `typedef opaque name<>;` and use `name`"),
                );
                None
            }
            other => self.base_type(other, span),
        }
    }

    /// Claims `base`, `baseClient` and `baseServer` in the type namespace
    /// (with a numeric suffix on `base` if any is taken); returns `base`.
    fn claim_stub_names(&mut self, base: &str) -> String {
        let ns = &mut self.scope.rust_types;
        let mut n = 1u32;
        loop {
            let candidate = if n == 1 {
                base.to_owned()
            } else {
                format!("{base}_{n}")
            };
            let names = [
                candidate.clone(),
                format!("{candidate}Client"),
                format!("{candidate}Server"),
            ];
            if names.iter().all(|x| !ns.contains(x)) {
                for x in &names {
                    ns.claim(x);
                }
                return candidate;
            }
            n += 1;
        }
    }
}
