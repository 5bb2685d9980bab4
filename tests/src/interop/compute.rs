//! The results of the interop procedures, computed in Rust from the
//! definitions in `specs/interop.x` (independently of the C code in
//! `tests/c/interop_compute.c`).

use xdr_codec::{List, Opaque, VarArray, XdrString};

use super::proto::{
    Blob, FillArgs, Item, Itemlist, Node, Nodelist, Record, RecordSummary, Shape, Text, Value,
    LIST_MAX,
};

/// REVERSE of this string fails with SYSTEM_ERR (on both servers).
pub const SYSTEM_ERR_TEXT: &str = "!system-err";

/// CHECKSUM: `h = h * 31 + byte` in wrapping `u32`, from `h = 7`.
pub fn checksum(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(7u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
}

/// `(max.x - min.x) * (max.y - min.y)`: exact 64-bit differences, wrapping
/// product (the C side multiplies as unsigned 64-bit).
fn area(min_x: i32, min_y: i32, max_x: i32, max_y: i32) -> i64 {
    (i64::from(max_x) - i64::from(min_x)).wrapping_mul(i64::from(max_y) - i64::from(min_y))
}

/// SUMMARIZE.
pub fn summarize(r: &Record) -> RecordSummary {
    RecordSummary {
        id: r.id,
        name_len: len_u32(r.name.len()),
        alias_bytes: r
            .aliases
            .iter()
            .map(|a| len_u32(a.len()))
            .fold(0, u32::wrapping_add),
        tag_sum: r.tag.iter().map(|&b| u32::from(b)).sum(),
        payload_hash: checksum(&r.payload),
        counts_sum: r.counts.iter().fold(0i32, |s, &c| s.wrapping_add(c)),
        path_sum: r
            .path
            .iter()
            .fold(0i64, |s, p| s.wrapping_add(i64::from(p.x) * i64::from(p.y))),
        big_plus_one: r.big.wrapping_add(1),
        ubig_flipped: !r.ubig,
        ratio_doubled: r.ratio * 2.0,
        scale_halved: r.scale * 0.5,
        flag_negated: !r.flag,
        palette_sum: r.palette.iter().map(|&c| i32::from(c)).sum(),
        hue: r.hue,
        has_bounds: r.bounds.is_some(),
        bounds_area: r
            .bounds
            .as_ref()
            .map_or(0, |b| area(b.min.x, b.min.y, b.max.x, b.max.y)),
        outline_kind: shape_kind(&r.outline),
        extra_type: value_type(&r.extra),
    }
}

/// A length that came from a bounded XDR item, as the `u32` it was on the wire.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The discriminant of a shape.
pub fn shape_kind(s: &Shape) -> super::proto::ShapeKind {
    use super::proto::ShapeKind;
    match s {
        Shape::ShapeNone => ShapeKind::ShapeNone,
        Shape::ShapeCircle(_) => ShapeKind::ShapeCircle,
        Shape::ShapeSquare(_) => ShapeKind::ShapeSquare,
        Shape::ShapeRect(_) => ShapeKind::ShapeRect,
        Shape::Default { discriminant, .. } => *discriminant,
    }
}

/// The discriminant of a value.
pub fn value_type(v: &Value) -> i32 {
    match v {
        Value::Case0 => 0,
        Value::I(_) => 1,
        Value::H(_) => 2,
        Value::D(_) => 3,
        Value::S(_) => 4,
        Value::B(_) => 5,
        Value::Uh(_) => 6,
        Value::F(_) => 7,
    }
}

/// SUM.
pub fn sum(a: &[i32]) -> i64 {
    a.iter().map(|&x| i64::from(x)).sum()
}

/// MAKE_LIST.
pub fn make_list(n: i32) -> Nodelist {
    if n <= 0 || n > LIST_MAX as i32 {
        return List::default();
    }
    (0..n)
        .map(|i| Node {
            value: i.wrapping_mul(i).wrapping_sub(3),
            label: XdrString::from(format!("node-{i}")),
        })
        .collect()
}

/// REVERSE_ITEMS.
pub fn reverse_items(items: &Itemlist) -> Itemlist {
    items
        .iter()
        .rev()
        .map(|it| Item {
            key: it.key.wrapping_add(1),
            weight: it.weight.wrapping_mul(2),
        })
        .collect()
}

/// REVERSE (bytes in reverse order).
pub fn reverse(s: &Text) -> Text {
    let mut v = s.as_bytes().to_vec();
    v.reverse();
    XdrString::from_bytes(v)
}

/// CLASSIFY.
pub fn classify(s: &Shape) -> Value {
    match s {
        Shape::ShapeNone => Value::Case0,
        Shape::ShapeCircle(c) => {
            let r = f64::from(c.radius);
            Value::D(3.0 * r * r)
        }
        Shape::ShapeSquare(b) | Shape::ShapeRect(b) => {
            Value::H(area(b.min.x, b.min.y, b.max.x, b.max.y))
        }
        Shape::Default {
            discriminant,
            value,
        } => Value::S(XdrString::from(format!(
            "kind-{}-raw-{}",
            i32::from(*discriminant),
            value.len()
        ))),
    }
}

/// NEGATE.
pub fn negate(v: &Value) -> Value {
    match v {
        Value::Case0 => Value::Case0,
        Value::I(i) => Value::I(i.wrapping_neg()),
        Value::H(h) => Value::H(h.wrapping_neg()),
        Value::D(d) => Value::D(-d),
        Value::S(s) => Value::S(XdrString::from_bytes(
            s.as_bytes().iter().rev().copied().collect::<Vec<u8>>(),
        )),
        Value::B(b) => Value::B(!b),
        Value::Uh(u) => Value::Uh(u.wrapping_neg()),
        Value::F(f) => Value::F(-f),
    }
}

/// FILL.
pub fn fill(a: &FillArgs) -> Blob {
    if a.size > Blob::MAX_LEN {
        return Opaque::default();
    }
    Opaque::from(
        (0..a.size)
            .map(|i| a.seed.wrapping_add(i.wrapping_mul(7)) as u8)
            .collect::<Vec<u8>>(),
    )
}

/// ADD.
pub fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// An `intarr` from a slice (helper for callers).
pub fn intarr(v: &[i32]) -> VarArray<i32> {
    VarArray::from(v.to_vec())
}
