//! The checked model: a `.x` specification with every name resolved, every
//! constant evaluated and range-checked, Rust names assigned, and the
//! linked-list idiom recognised. The emitter (`codegen`) works only from
//! this; it makes no decisions that can fail.
//!
//! [`check`] builds it from the AST and collects every error it finds as a
//! [`Diagnostic`](crate::diagnostic::Diagnostic), sorted by position.

mod builtins;
mod check;
mod consts;
mod cycles;
mod hoist;
mod lists;
pub(crate) mod names;
mod passthrough;
mod programs;
mod scope;
mod types;
mod unions;

use crate::ast::Doc;
pub use crate::ast::Radix;

pub use check::{check, check_with, CheckOptions};

/// A checked specification, ready to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Constants, types and programs in source order (anonymous inline
    /// types come just before the definition that contains them).
    pub items: Vec<Item>,
}

/// One top-level item of the model.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // a few hundred items at most, built once
pub enum Item {
    /// `const NAME = value;`
    Const(Const),
    /// A type definition.
    Type(TypeItem),
    /// A program with its versions.
    Program(Program),
}

/// A `const` definition, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name (SHOUTY_SNAKE_CASE).
    pub rust_name: String,
    /// The value.
    pub value: ConstValue,
    /// The base the value is written in (decimal unless it is a literal).
    pub radix: Radix,
    /// Comments from the `.x` file, one line each.
    pub doc: Doc,
    /// Set when the Rust name had to be changed to avoid a clash.
    pub renamed: bool,
}

/// The value of a `const`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    /// A number (checked to fit in 64 bits, signed or unsigned).
    Int(i128),
    /// A string (rpcgen's `const NAME = "text";`), as written between the
    /// quotes; the emitter interprets its C escapes.
    Str(String),
}

/// A named type definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeItem {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name (UpperCamelCase).
    pub rust_name: String,
    /// Comments from the `.x` file, one line each.
    pub doc: Doc,
    /// Set when the Rust name had to be changed to avoid a clash.
    pub renamed: bool,
    /// What the type is.
    pub kind: TypeKind,
}

/// The forms of a type definition.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // built once per definition
pub enum TypeKind {
    /// `typedef`: a Rust type alias.
    Alias(Alias),
    /// `enum`.
    Enum(Enum),
    /// `struct`.
    Struct(Struct),
    /// `union`.
    Union(Union),
}

/// A typedef.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The aliased type.
    pub ty: Type,
    /// The declaration as written, for the doc comment (`opaque fhandle[FHSIZE]`).
    pub decl_text: String,
}

/// An enum (RFC 4506 section 4.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    /// Members with distinct values, in source order.
    pub variants: Vec<EnumVariant>,
    /// Members whose value repeats an earlier member's (emitted as
    /// associated constants, since Rust enum discriminants must be unique).
    pub aliases: Vec<EnumAlias>,
}

/// One enum member with its own value.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumVariant {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust variant name (UpperCamelCase).
    pub rust_name: String,
    /// The value.
    pub value: i32,
    /// Comments.
    pub doc: Doc,
}

/// An enum member whose value repeats an earlier member's.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumAlias {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust associated constant name (SHOUTY_SNAKE_CASE).
    pub rust_name: String,
    /// The Rust variant it equals.
    pub target: String,
    /// The value.
    pub value: i32,
    /// Comments.
    pub doc: Doc,
}

/// A struct (RFC 4506 section 4.14).
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// The fields in order. For a linked-list node, without its last
    /// (`next`) field.
    pub fields: Vec<Field>,
    /// Set when this struct is the node of a linked list: every
    /// optional-data use of it is a [`Type::List`], every use by value a
    /// [`Type::NonEmptyList`].
    pub list_node: bool,
}

/// A struct field, union arm or union discriminant.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name (snake_case).
    pub rust_name: String,
    /// The type.
    pub ty: Type,
    /// The declaration as written (`dirpath ex_dir`).
    pub decl_text: String,
    /// Comments.
    pub doc: Doc,
}

/// A discriminated union (RFC 4506 section 4.15), emitted as a Rust enum.
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    /// The discriminant declaration.
    pub discriminant: Field,
    /// What kind of value the discriminant is.
    pub disc_kind: DiscKind,
    /// One entry per case label (an arm with several labels gives several).
    pub cases: Vec<UnionCase>,
    /// The `default:` arm.
    pub default: Option<UnionDefault>,
}

/// The type of a union discriminant, after following typedefs.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscKind {
    /// `int` (and rpcgen's `char`, `short`).
    Int,
    /// `unsigned int` (and rpcgen's unsigned `char`, `short`).
    UnsignedInt,
    /// `hyper`.
    Hyper,
    /// `unsigned hyper`.
    UnsignedHyper,
    /// `bool`.
    Bool,
    /// An enum; the Rust name of the enum type.
    Enum(String),
}

/// One case label of a union and the arm it selects.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionCase {
    /// The Rust variant name.
    pub rust_name: String,
    /// The label's value.
    pub label: CaseLabel,
    /// The label as written (`MNT3_OK`, `0`).
    pub label_text: String,
    /// The arm's field; `None` for `void`.
    pub field: Option<Field>,
}

/// The value of a case label.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseLabel {
    /// For integer discriminants.
    Int(i128),
    /// For bool discriminants.
    Bool(bool),
    /// For enum discriminants: the Rust variant name of the member.
    Enum(String),
}

/// The `default:` arm of a union.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionDefault {
    /// The Rust variant name (usually `Default`).
    pub rust_name: String,
    /// The arm's field; `None` for `void`.
    pub field: Option<Field>,
}

/// A resolved type in declaration position.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// `void`: `()`.
    Void,
    /// `int` (and `char`, `short`): `i32`.
    Int,
    /// `unsigned int` (and unsigned `char`, `short`): `u32`.
    UnsignedInt,
    /// `hyper`: `i64`.
    Hyper,
    /// `unsigned hyper`: `u64`.
    UnsignedHyper,
    /// `float`: `f32`.
    Float,
    /// `double`: `f64`.
    Double,
    /// `bool`: `bool`.
    Bool,
    /// A named type: its Rust name.
    Named(String),
    /// `opaque x[N]`: `[u8; N]`.
    FixedOpaque(Size),
    /// `opaque x<M>` / `opaque x<>`: `Opaque<M>`.
    Opaque(Option<Size>),
    /// `string x<M>` / `string x<>`: `XdrString<M>`.
    String(Option<Size>),
    /// `T x[N]`: `[T; N]`.
    Array(Box<Type>, Size),
    /// `T x<M>` / `T x<>`: `VarArray<T, M>`.
    VarArray(Box<Type>, Option<Size>),
    /// `T *x`: `Option<T>`, or `Option<Box<T>>` when `T` contains the
    /// type holding `x`.
    Optional(Box<Type>),
    /// A type boxed because it contains the type that contains it (a
    /// recursive type with no optional-data or variable-length array in
    /// the cycle, which Rust cannot lay out inline): `Box<T>`. Encoded
    /// exactly as `T`.
    Boxed(Box<Type>),
    /// A type defined outside the `.x` file: its Rust path
    /// ([`CheckOptions::extern_types`]).
    Extern(String),
    /// `S *x` where `S` is a linked-list node: `List<S>`; the Rust name of
    /// the node struct.
    List(String),
    /// `S x` where `S` is a linked-list node: the node and the nodes its
    /// `next` pointer leads to, `NonEmptyList<S>`; the Rust name of the
    /// node struct.
    NonEmptyList(String),
}

/// An array size or maximum length.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    /// The value.
    pub value: u32,
    /// The Rust name of the `u32` constant it was written as, if any.
    pub konst: Option<String>,
}

/// `program NAME { ... } = number;` (RFC 5531 section 12).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust constant name.
    pub const_name: String,
    /// The program number.
    pub number: u32,
    /// The base the number is written in (decimal unless it is a literal).
    pub radix: Radix,
    /// Comments.
    pub doc: Doc,
    /// The versions in source order.
    pub versions: Vec<Version>,
}

/// One version of a program.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust constant name; `None` when an identical constant was
    /// already emitted.
    pub const_name: Option<String>,
    /// The version number.
    pub number: u32,
    /// Comments.
    pub doc: Doc,
    /// The Rust name of the server trait (`MountprogV1`); the client is
    /// this plus `Client`, the dispatcher this plus `Server`.
    pub trait_name: String,
    /// The procedures in source order.
    pub procedures: Vec<Procedure>,
}

/// One procedure of a program version.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust constant name; `None` when an identical constant was
    /// already emitted (same name and number in an earlier version).
    pub const_name: Option<String>,
    /// The Rust method name (snake_case), used by client and server.
    pub method: String,
    /// The procedure number.
    pub number: u32,
    /// The argument types; empty for `void`.
    pub args: Vec<Type>,
    /// The result type.
    pub result: Type,
    /// Comments.
    pub doc: Doc,
}

impl Model {
    /// The type definition with Rust name `rust_name`.
    pub fn type_item(&self, rust_name: &str) -> Option<&TypeItem> {
        self.items.iter().find_map(|i| match i {
            Item::Type(t) if t.rust_name == rust_name => Some(t),
            _ => None,
        })
    }

    /// True when the model has at least one program.
    pub fn has_programs(&self) -> bool {
        self.items.iter().any(|i| matches!(i, Item::Program(_)))
    }
}
