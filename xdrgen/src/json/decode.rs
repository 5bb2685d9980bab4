//! XDR bytes to JSON (RFC 4506 section 4), walking the checked model.

use serde_json::{Map, Number, Value};

use super::error::Error;
use super::path::Path;
use super::types::{arm_key, member_name, Types};
use super::MAX_DEPTH;
use crate::model::{DiscKind, Field, Size, Type, TypeItem, TypeKind, Union};

/// Decodes `bytes` as the type named `type_name` (its `.x` name) into
/// JSON (the mapping is in the [module docs](super)).
///
/// # Errors
///
/// When the type is unknown, the bytes are not a valid encoding of it
/// (too short, a bool or optional-data flag other than 0 or 1, an enum
/// value that is not a member, a length above the declared maximum or the
/// input left, non-zero padding, a union discriminant no arm takes, nesting
/// deeper than [`MAX_DEPTH`]), or, unless `allow_trailing`, bytes are left
/// after the value. The error gives the byte offset and the path.
pub fn decode(
    types: &Types<'_>,
    type_name: &str,
    bytes: &[u8],
    allow_trailing: bool,
) -> Result<Value, Error> {
    let item = types.by_xdr_name(type_name).map_err(|message| Error {
        offset: None,
        path: type_name.to_owned(),
        message,
    })?;
    let mut d = Decoder::new(types, &item.xdr_name, bytes);
    let v = d.item(item)?;
    if !allow_trailing && d.pos < bytes.len() {
        return Err(d.fail(
            d.pos,
            format!(
                "{} trailing bytes after the value (use --allow-trailing to ignore them)",
                bytes.len() - d.pos
            ),
        ));
    }
    Ok(v)
}

/// Decodes a value of type `ty` from the start of `bytes`; returns it and
/// the bytes it took. Errors name `root` as the path's start.
pub(super) fn decode_prefix(
    types: &Types<'_>,
    root: &str,
    ty: &Type,
    bytes: &[u8],
) -> Result<(Value, usize), Error> {
    let mut d = Decoder::new(types, root, bytes);
    let v = d.ty(ty)?;
    Ok((v, d.pos))
}

struct Decoder<'t, 'a> {
    types: &'t Types<'a>,
    buf: &'t [u8],
    pos: usize,
    depth: usize,
    path: Path<'a>,
}

impl<'t, 'a> Decoder<'t, 'a> {
    fn new(types: &'t Types<'a>, root: &'a str, buf: &'t [u8]) -> Self {
        Self {
            types,
            buf,
            pos: 0,
            depth: 0,
            path: Path::new(root),
        }
    }

    fn fail(&self, at: usize, message: impl Into<String>) -> Error {
        Error {
            offset: Some(at),
            path: self.path.render(),
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'t [u8], Error> {
        let buf = self.buf;
        match buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(self.fail(
                self.pos,
                format!(
                    "unexpected end of input: {n} bytes needed, {} left",
                    buf.len() - self.pos
                ),
            )),
        }
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from(self.u32()?) << 32 | u64::from(self.u32()?))
    }

    /// A bool or optional-data flag (RFC 4506 sections 4.4 and 4.19).
    fn flag(&mut self) -> Result<bool, Error> {
        let at = self.pos;
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.fail(at, format!("invalid bool {v} (must be 0 or 1)"))),
        }
    }

    /// A length prefix, checked against `max` and against the input
    /// left at `min_bytes` per element.
    fn length(&mut self, max: Option<&Size>, min_bytes: usize) -> Result<usize, Error> {
        let at = self.pos;
        let n = self.u32()?;
        if let Some(max) = max {
            if n > max.value {
                return Err(self.fail(at, format!("length {n} exceeds the maximum {}", max.value)));
            }
        }
        let left = self.buf.len() - self.pos;
        if n as usize > left / min_bytes.max(1) {
            return Err(self.fail(
                at,
                format!("length {n} exceeds the input left ({left} bytes)"),
            ));
        }
        Ok(n as usize)
    }

    /// `n` bytes and their padding (RFC 4506 section 4.9).
    fn padded(&mut self, n: usize) -> Result<&'t [u8], Error> {
        let data = self.take(n)?;
        let at = self.pos;
        let pad = self.take((4 - n % 4) % 4)?;
        if pad.iter().any(|&b| b != 0) {
            return Err(self.fail(at, "non-zero padding"));
        }
        Ok(data)
    }

    fn nest(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(self.pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn named(&mut self, rust_name: &str) -> Result<&'a TypeItem, Error> {
        self.types
            .get(rust_name)
            .ok_or_else(|| self.fail(self.pos, format!("type `{rust_name}` is not defined")))
    }

    fn item(&mut self, item: &'a TypeItem) -> Result<Value, Error> {
        match &item.kind {
            TypeKind::Alias(a) => self.ty(&a.ty),
            TypeKind::Enum(e) => {
                let at = self.pos;
                let v = self.u32()? as i32;
                match member_name(e, v) {
                    Some(name) => Ok(Value::String(name.to_owned())),
                    None => Err(self.fail(
                        at,
                        format!("{v} is not a value of enum `{}`", item.xdr_name),
                    )),
                }
            }
            TypeKind::Struct(s) => {
                self.nest()?;
                let mut map = Map::new();
                self.fields(&s.fields, &mut map)?;
                self.depth -= 1;
                Ok(Value::Object(map))
            }
            TypeKind::Union(u) => {
                self.nest()?;
                let v = self.union(u)?;
                self.depth -= 1;
                Ok(v)
            }
        }
    }

    fn fields(&mut self, fields: &'a [Field], map: &mut Map<String, Value>) -> Result<(), Error> {
        for f in fields {
            self.path.field(&f.xdr_name);
            let v = self.ty(&f.ty)?;
            self.path.pop();
            map.insert(f.xdr_name.clone(), v);
        }
        Ok(())
    }

    fn union(&mut self, u: &'a Union) -> Result<Value, Error> {
        let at = self.pos;
        self.path.field(&u.discriminant.xdr_name);
        let (disc, json) = match &u.disc_kind {
            DiscKind::Int => {
                let v = self.u32()? as i32;
                (i128::from(v), Value::from(v))
            }
            DiscKind::UnsignedInt => {
                let v = self.u32()?;
                (i128::from(v), Value::from(v))
            }
            DiscKind::Hyper => {
                let v = self.u64()? as i64;
                (i128::from(v), Value::from(v))
            }
            DiscKind::UnsignedHyper => {
                let v = self.u64()?;
                (i128::from(v), Value::from(v))
            }
            DiscKind::Bool => {
                let v = self.flag()?;
                (i128::from(v), Value::Bool(v))
            }
            DiscKind::Enum(e) => {
                let v = self.u32()? as i32;
                let def = self.types.enum_def(e);
                match def.and_then(|(def, _)| member_name(def, v)) {
                    Some(name) => (i128::from(v), Value::String(name.to_owned())),
                    None => {
                        let name = def.map_or(e.as_str(), |(_, n)| n);
                        return Err(self.fail(at, format!("{v} is not a value of enum `{name}`")));
                    }
                }
            }
        };
        let Some(arm) = self.types.arm(u, disc) else {
            return Err(self.fail(at, format!("no arm for discriminant {json}")));
        };
        self.path.pop();
        let mut map = Map::new();
        map.insert(u.discriminant.xdr_name.clone(), json);
        if let Some(f) = arm {
            let key = arm_key(u, f);
            self.path.field(key);
            let v = self.ty(&f.ty)?;
            self.path.pop();
            map.insert(key.to_owned(), v);
        }
        Ok(Value::Object(map))
    }

    fn ty(&mut self, t: &'a Type) -> Result<Value, Error> {
        Ok(match t {
            Type::Void => Value::Null,
            Type::Int => Value::from(self.u32()? as i32),
            Type::UnsignedInt => Value::from(self.u32()?),
            Type::Hyper => Value::from(self.u64()? as i64),
            Type::UnsignedHyper => Value::from(self.u64()?),
            Type::Float => {
                let bits = self.u32()?;
                float(f64::from(f32::from_bits(bits)), format!("{bits:08x}"))
            }
            Type::Double => {
                let bits = self.u64()?;
                float(f64::from_bits(bits), format!("{bits:016x}"))
            }
            Type::Bool => Value::Bool(self.flag()?),
            Type::Named(name) => {
                let item = self.named(name)?;
                self.item(item)?
            }
            Type::FixedOpaque(n) => Value::String(hex(self.padded(n.value as usize)?)),
            Type::Opaque(max) => {
                let n = self.length(max.as_ref(), 1)?;
                Value::String(hex(self.padded(n)?))
            }
            Type::String(max) => {
                let n = self.length(max.as_ref(), 1)?;
                let b = self.padded(n)?;
                match std::str::from_utf8(b) {
                    Ok(s) => Value::String(s.to_owned()),
                    Err(_) => {
                        let mut m = Map::new();
                        m.insert("hex".to_owned(), Value::String(hex(b)));
                        Value::Object(m)
                    }
                }
            }
            Type::Array(elem, n) => self.elements(elem, n.value as usize)?,
            Type::VarArray(elem, max) => {
                let n = self.length(max.as_ref(), 4)?;
                self.elements(elem, n)?
            }
            Type::Optional(inner) => {
                if self.flag()? {
                    self.ty(inner)?
                } else {
                    Value::Null
                }
            }
            Type::Boxed(inner) => self.ty(inner)?,
            Type::Extern(path) => {
                return Err(self.fail(
                    self.pos,
                    format!("`{path}` is defined outside the specification"),
                ))
            }
            Type::List(node) => self.list(node, false)?,
            Type::NonEmptyList(node) => self.list(node, true)?,
        })
    }

    fn elements(&mut self, elem: &'a Type, n: usize) -> Result<Value, Error> {
        self.nest()?;
        let mut out = Vec::with_capacity(n.min((self.buf.len() - self.pos) / 4));
        for i in 0..n {
            self.path.index(i);
            out.push(self.ty(elem)?);
            self.path.pop();
        }
        self.depth -= 1;
        Ok(Value::Array(out))
    }

    /// A linked list (RFC 4506 section 4.19): nodes each after a TRUE
    /// flag, then FALSE; `first` when the first node comes without a flag
    /// (the node type used by value).
    fn list(&mut self, node: &str, first: bool) -> Result<Value, Error> {
        let item = self.named(node)?;
        let TypeKind::Struct(s) = &item.kind else {
            return Err(self.fail(self.pos, format!("`{node}` is not a struct")));
        };
        self.nest()?;
        let mut out = Vec::new();
        let mut more = first;
        loop {
            self.path.index(out.len());
            if !first || !out.is_empty() {
                more = self.flag()?;
            }
            if !more {
                self.path.pop();
                break;
            }
            self.nest()?;
            let mut map = Map::new();
            self.fields(&s.fields, &mut map)?;
            self.depth -= 1;
            self.path.pop();
            out.push(Value::Object(map));
        }
        self.depth -= 1;
        Ok(Value::Array(out))
    }
}

/// A float as a JSON number, or as a string when JSON has no number for
/// it: `"Infinity"`, `"-Infinity"`, `"NaN"` for the quiet NaN with no
/// payload (the one Rust's `f32::NAN` and `f64::NAN` have), other NaNs as
/// `"NaN(0xBITS)"`, so that every encoding reads back exactly.
fn float(v: f64, bits_hex: String) -> Value {
    let canonical = bits_hex == "7fc00000" || bits_hex == "7ff8000000000000";
    match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None if v.is_nan() && canonical => Value::String("NaN".to_owned()),
        None if v.is_nan() => Value::String(format!("NaN(0x{bits_hex})")),
        None if v > 0.0 => Value::String("Infinity".to_owned()),
        None => Value::String("-Infinity".to_owned()),
    }
}

/// `b` as lowercase hex digits.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 15)]));
    }
    s
}
