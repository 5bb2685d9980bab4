//! JSON to XDR bytes (RFC 4506 section 4), walking the checked model: the
//! reverse of [`decode`](super::decode).

use serde_json::{Map, Value};

use super::error::Error;
use super::path::Path;
use super::types::{arm_key, member_value, Types};
use crate::model::{DiscKind, Field, Size, Type, TypeItem, TypeKind, Union};

/// Encodes `value` (JSON in the form [`decode`](super::decode) prints) as
/// the type named `type_name` (its `.x` name).
///
/// # Errors
///
/// When the type is unknown or the JSON does not fit it: a wrong JSON
/// kind, a number out of range, a length above the declared maximum or
/// not the fixed size, an unknown enum name, a missing or unknown field,
/// a union discriminant no arm takes, invalid hex. The error gives the
/// path of the value (`exports[0].ex_dir`).
pub fn encode(types: &Types<'_>, type_name: &str, value: &Value) -> Result<Vec<u8>, Error> {
    let item = types.by_xdr_name(type_name).map_err(|message| Error {
        offset: None,
        path: type_name.to_owned(),
        message,
    })?;
    let mut e = Encoder {
        types,
        out: Vec::new(),
        path: Path::new(&item.xdr_name),
    };
    e.item(item, value)?;
    Ok(e.out)
}

struct Encoder<'t, 'a> {
    types: &'t Types<'a>,
    out: Vec<u8>,
    path: Path<'a>,
}

/// A short description of a JSON value for messages.
fn found(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

impl<'a> Encoder<'_, 'a> {
    fn fail(&self, message: impl Into<String>) -> Error {
        Error {
            offset: None,
            path: self.path.render(),
            message: message.into(),
        }
    }

    fn expected(&self, what: &str, v: &Value) -> Error {
        self.fail(format!("expected {what}, found {}", found(v)))
    }

    fn put(&mut self, w: u32) {
        self.out.extend_from_slice(&w.to_be_bytes());
    }

    fn padded(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
        self.out.resize(self.out.len() + (4 - b.len() % 4) % 4, 0);
    }

    fn length(&mut self, n: usize, max: Option<&Size>, unit: &str) -> Result<(), Error> {
        let limit = max.map_or(u32::MAX, |m| m.value);
        match u32::try_from(n) {
            Ok(n) if n <= limit => {
                self.put(n);
                Ok(())
            }
            _ => Err(self.fail(format!("{n} {unit} exceed the maximum {limit}"))),
        }
    }

    fn named(&self, rust_name: &str) -> Result<&'a TypeItem, Error> {
        self.types
            .get(rust_name)
            .ok_or_else(|| self.fail(format!("type `{rust_name}` is not defined")))
    }

    fn item(&mut self, item: &'a TypeItem, v: &Value) -> Result<(), Error> {
        match &item.kind {
            TypeKind::Alias(a) => self.ty(&a.ty, v),
            TypeKind::Enum(e) => {
                let Some(name) = v.as_str() else {
                    return Err(
                        self.expected(&format!("a member name of enum `{}`", item.xdr_name), v)
                    );
                };
                let x = member_value(e, &item.xdr_name, name).map_err(|m| self.fail(m))?;
                self.put(x as u32);
                Ok(())
            }
            TypeKind::Struct(s) => {
                let map = self.object(v, &item.xdr_name)?;
                self.no_unknown_keys(map, s.fields.iter().map(|f| f.xdr_name.as_str()))?;
                for f in &s.fields {
                    self.field(f, map)?;
                }
                Ok(())
            }
            TypeKind::Union(u) => self.union(u, &item.xdr_name, v),
        }
    }

    fn object<'v>(&self, v: &'v Value, type_name: &str) -> Result<&'v Map<String, Value>, Error> {
        v.as_object()
            .ok_or_else(|| self.expected(&format!("an object for `{type_name}`"), v))
    }

    fn no_unknown_keys<'n>(
        &self,
        map: &Map<String, Value>,
        mut known: impl Iterator<Item = &'n str> + Clone,
    ) -> Result<(), Error> {
        match map.keys().find(|k| !known.clone().any(|n| n == k.as_str())) {
            Some(k) => Err(self.fail(format!(
                "unknown field `{k}` (fields: {})",
                known.by_ref().collect::<Vec<_>>().join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn field(&mut self, f: &'a Field, map: &Map<String, Value>) -> Result<(), Error> {
        self.field_as(&f.xdr_name, f, map)
    }

    /// The field `f` under the JSON key `key`.
    fn field_as(
        &mut self,
        key: &'a str,
        f: &'a Field,
        map: &Map<String, Value>,
    ) -> Result<(), Error> {
        let Some(v) = map.get(key) else {
            return Err(self.fail(format!("missing field `{key}`")));
        };
        self.path.field(key);
        self.ty(&f.ty, v)?;
        self.path.pop();
        Ok(())
    }

    fn union(&mut self, u: &'a Union, type_name: &str, v: &Value) -> Result<(), Error> {
        let map = self.object(v, type_name)?;
        let dname = u.discriminant.xdr_name.as_str();
        let Some(dv) = map.get(dname) else {
            return Err(self.fail(format!("missing discriminant `{dname}`")));
        };
        self.path.field(dname);
        let disc: i128 = match &u.disc_kind {
            DiscKind::Int => i128::from(self.int::<i32>(dv, "an int")?),
            DiscKind::UnsignedInt => i128::from(self.int::<u32>(dv, "an unsigned int")?),
            DiscKind::Hyper => i128::from(self.int::<i64>(dv, "a hyper")?),
            DiscKind::UnsignedHyper => i128::from(self.int::<u64>(dv, "an unsigned hyper")?),
            DiscKind::Bool => i128::from(dv.as_bool().ok_or_else(|| self.expected("a bool", dv))?),
            DiscKind::Enum(e) => {
                let (def, enum_name) = self
                    .types
                    .enum_def(e)
                    .ok_or_else(|| self.fail(format!("enum `{e}` is not defined")))?;
                let name = dv
                    .as_str()
                    .ok_or_else(|| self.expected("an enum member name", dv))?;
                i128::from(member_value(def, enum_name, name).map_err(|m| self.fail(m))?)
            }
        };
        let Some(arm) = self.types.arm(u, disc) else {
            let arms: Vec<&str> = u.cases.iter().map(|c| c.label_text.as_str()).collect();
            return Err(self.fail(format!(
                "no arm for discriminant {} (arms: {})",
                found(dv),
                arms.join(", ")
            )));
        };
        match &u.disc_kind {
            DiscKind::Hyper | DiscKind::UnsignedHyper => {
                self.out.extend_from_slice(&(disc as u64).to_be_bytes());
            }
            _ => self.put(disc as u32),
        }
        self.path.pop();
        self.no_unknown_keys(
            map,
            std::iter::once(dname).chain(arm.map(|f| arm_key(u, f))),
        )?;
        match arm {
            Some(f) => self.field_as(arm_key(u, f), f, map),
            None => Ok(()),
        }
    }

    fn int<T: TryFrom<i128>>(&self, v: &Value, what: &str) -> Result<T, Error> {
        let n = v
            .as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from))
            .ok_or_else(|| self.expected(what, v))?;
        T::try_from(n).map_err(|_| self.fail(format!("{n} is out of range for {what}")))
    }

    fn hex(&self, v: &Value) -> Result<Vec<u8>, Error> {
        let s = v.as_str().ok_or_else(|| self.expected("a hex string", v))?;
        unhex(s).map_err(|m| self.fail(m))
    }

    /// A float's bits (`f32` when `single`): a JSON number, or one of the
    /// strings [`decode`](super::decode) prints for non-finite values.
    fn float_bits(&self, v: &Value, single: bool) -> Result<u64, Error> {
        let from = |x: f64| {
            if single {
                u64::from((x as f32).to_bits())
            } else {
                x.to_bits()
            }
        };
        let nan_bits = |s: &str| {
            let hex = s.strip_prefix("NaN(0x")?.strip_suffix(')')?;
            let bits = u64::from_str_radix(hex, 16).ok()?;
            let nan = if single {
                u32::try_from(bits).is_ok_and(|b| f32::from_bits(b).is_nan())
            } else {
                f64::from_bits(bits).is_nan()
            };
            nan.then_some(bits)
        };
        match v {
            Value::Number(n) => n.as_f64().map(from),
            Value::String(s) if s == "NaN" => Some(from(f64::NAN)),
            Value::String(s) if s == "Infinity" => Some(from(f64::INFINITY)),
            Value::String(s) if s == "-Infinity" => Some(from(f64::NEG_INFINITY)),
            Value::String(s) => nan_bits(s),
            _ => None,
        }
        .ok_or_else(|| {
            self.expected(
                "a number, \"NaN\", \"NaN(0xBITS)\", \"Infinity\" or \"-Infinity\"",
                v,
            )
        })
    }

    fn ty(&mut self, t: &'a Type, v: &Value) -> Result<(), Error> {
        match t {
            Type::Void => {}
            Type::Int => {
                let x = self.int::<i32>(v, "an int")?;
                self.put(x as u32);
            }
            Type::UnsignedInt => {
                let x = self.int::<u32>(v, "an unsigned int")?;
                self.put(x);
            }
            Type::Hyper => {
                let x = self.int::<i64>(v, "a hyper")?;
                self.out.extend_from_slice(&x.to_be_bytes());
            }
            Type::UnsignedHyper => {
                let x = self.int::<u64>(v, "an unsigned hyper")?;
                self.out.extend_from_slice(&x.to_be_bytes());
            }
            Type::Float => {
                let bits = self.float_bits(v, true)?;
                self.put(bits as u32);
            }
            Type::Double => {
                let bits = self.float_bits(v, false)?;
                self.out.extend_from_slice(&bits.to_be_bytes());
            }
            Type::Bool => {
                let b = v.as_bool().ok_or_else(|| self.expected("a bool", v))?;
                self.put(u32::from(b));
            }
            Type::Named(name) => {
                let item = self.named(name)?;
                self.item(item, v)?;
            }
            Type::FixedOpaque(n) => {
                let b = self.hex(v)?;
                if b.len() != n.value as usize {
                    return Err(self.fail(format!(
                        "{} bytes of opaque data, the type has exactly {}",
                        b.len(),
                        n.value
                    )));
                }
                self.padded(&b);
            }
            Type::Opaque(max) => {
                let b = self.hex(v)?;
                self.length(b.len(), max.as_ref(), "bytes")?;
                self.padded(&b);
            }
            Type::String(max) => {
                let b = match v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Object(m) if m.len() == 1 && m.contains_key("hex") => {
                        self.hex(&m["hex"])?
                    }
                    _ => return Err(self.expected("a string (or {\"hex\": \"...\"})", v)),
                };
                self.length(b.len(), max.as_ref(), "bytes")?;
                self.padded(&b);
            }
            Type::Array(elem, n) => {
                let items = self.array(v)?;
                if items.len() != n.value as usize {
                    return Err(self.fail(format!(
                        "{} elements, the array has exactly {}",
                        items.len(),
                        n.value
                    )));
                }
                self.elements(elem, items)?;
            }
            Type::VarArray(elem, max) => {
                let items = self.array(v)?;
                self.length(items.len(), max.as_ref(), "elements")?;
                self.elements(elem, items)?;
            }
            Type::Optional(inner) => {
                if v.is_null() {
                    self.put(0);
                } else {
                    self.put(1);
                    self.ty(inner, v)?;
                }
            }
            Type::Boxed(inner) => self.ty(inner, v)?,
            Type::Extern(path) => {
                return Err(self.fail(format!("`{path}` is defined outside the specification")))
            }
            Type::List(node) => self.list(node, v, false)?,
            Type::NonEmptyList(node) => self.list(node, v, true)?,
        }
        Ok(())
    }

    fn array<'v>(&self, v: &'v Value) -> Result<&'v [Value], Error> {
        v.as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.expected("an array", v))
    }

    fn elements(&mut self, elem: &'a Type, items: &[Value]) -> Result<(), Error> {
        for (i, x) in items.iter().enumerate() {
            self.path.index(i);
            self.ty(elem, x)?;
            self.path.pop();
        }
        Ok(())
    }

    /// A linked list: each node after TRUE, then FALSE; `by_value` when
    /// the first node goes without its flag (and must exist).
    fn list(&mut self, node: &str, v: &Value, by_value: bool) -> Result<(), Error> {
        let item = self.named(node)?;
        let items = self.array(v)?;
        if by_value && items.is_empty() {
            return Err(self.fail(format!(
                "a `{}` list held by value needs at least one element",
                item.xdr_name
            )));
        }
        for (i, x) in items.iter().enumerate() {
            if i > 0 || !by_value {
                self.put(1);
            }
            self.path.index(i);
            self.item(item, x)?;
            self.path.pop();
        }
        self.put(0);
        Ok(())
    }
}

/// Bytes from hex digits (either case; whitespace between them ignored).
///
/// # Errors
///
/// A character that is not a hex digit, or an odd number of digits.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .map(|p| {
            let d = |c: u8| char::from(c).to_digit(16);
            match (d(p[0]), d(p[1])) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(format!(
                    "`{}{}` is not a hex byte",
                    char::from(p[0]),
                    char::from(p[1])
                )),
            }
        })
        .collect()
}
