//! The syntax tree of a `.x` specification (RFC 4506 section 6, RFC 5531
//! section 12, plus what rpcgen accepts), exactly as written: names are not
//! yet resolved and constants not yet evaluated. The parser builds it; the
//! checker (`model`) turns it into a resolved model for the emitter.

use crate::source::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it appears.
    pub span: Span,
}

/// The base an integer literal is written in, kept so that generated code
/// writes the number as the `.x` file does (`0x20000001`, `0o755`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Radix {
    /// `10`, and `0`.
    #[default]
    Decimal,
    /// `0x1F`.
    Hex,
    /// `017`.
    Octal,
}

/// A constant as written: a literal or the name of a `const` or enum member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A decimal, hexadecimal (`0x`) or octal (leading `0`) literal, with an
    /// optional leading minus. Held wide so range errors are the checker's.
    Literal {
        /// The value.
        value: i128,
        /// The base it is written in.
        radix: Radix,
        /// Where it appears.
        span: Span,
    },
    /// A named constant.
    Named(Ident),
    /// A string literal, as rpcgen allows for `const NAME = "text";` (only
    /// produced as a `const` value). The text between the quotes exactly as
    /// written: C escapes such as `\n` are not interpreted.
    Str {
        /// The text between the quotes.
        value: String,
        /// Where it appears, quotes included.
        span: Span,
    },
}

/// Comments attached to the item that follows them (carried into `///`).
pub type Doc = Vec<String>;

/// A whole `.x` file after preprocessing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Specification {
    /// The definitions, in source order.
    pub definitions: Vec<Definition>,
    /// Definitions implied by rpcgen `%#define` passthrough lines (an
    /// integer constant, or a C integer type), in source order. The
    /// checker uses each only if no definition (of any file compiled
    /// together) has the same name.
    pub passthrough: Vec<Definition>,
}

/// One top-level definition.
// Syntax trees are built once and walked; boxing variants would only add
// noise to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    /// `const NAME = value;`
    Const(ConstDef),
    /// `typedef`, `enum`, `struct` or `union`.
    Type(TypeDef),
    /// `program NAME { ... } = number;`
    Program(ProgramDef),
}

/// `const NAME = value;`
#[derive(Debug, Clone, PartialEq)]
pub struct ConstDef {
    /// The constant's name.
    pub name: Ident,
    /// Its value.
    pub value: Value,
    /// Comments before it.
    pub doc: Doc,
}

/// A type definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The defined name (for a typedef, the declaration's name).
    pub name: Ident,
    /// What it defines.
    pub kind: TypeDefKind,
    /// Comments before it.
    pub doc: Doc,
}

/// The forms of type definition.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDefKind {
    /// `typedef declaration;` (the declaration's name is [`TypeDef::name`]).
    Typedef(Declaration),
    /// `enum NAME { ... };`
    Enum(EnumBody),
    /// `struct NAME { ... };`
    Struct(StructBody),
    /// `union NAME switch (...) { ... };`
    Union(UnionBody),
}

/// A declaration: a type, a name and a shape (RFC 4506 section 6.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    /// The declared name; `None` only for `void`.
    pub name: Option<Ident>,
    /// The element type.
    pub ty: TypeSpec,
    /// Plain, array, or optional.
    pub shape: Shape,
    /// Comments before it (struct fields, union arms).
    pub doc: Doc,
    /// The whole declaration.
    pub span: Span,
}

/// How a declaration's name relates to its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `type name;` (and `void;`, with `ty` [`TypeSpec::Void`]).
    Plain,
    /// `type name[size];` (for `opaque`, fixed-length opaque).
    FixedArray(Value),
    /// `type name<max>;` or `type name<>;` (for `opaque` and `string`, their
    /// variable-length forms).
    VarArray(Option<Value>),
    /// `type *name;` (optional-data).
    Optional,
}

/// A type as written in a declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeSpec {
    /// `int` (also rpcgen's `long`).
    Int,
    /// `unsigned int`, `unsigned` alone (also `unsigned long`).
    UnsignedInt,
    /// `hyper` (also `long long`, `int64_t`-style names rpcgen maps).
    Hyper,
    /// `unsigned hyper`.
    UnsignedHyper,
    /// `short` (rpcgen extension; 4 bytes on the wire).
    Short,
    /// `unsigned short` (rpcgen extension; 4 bytes on the wire).
    UnsignedShort,
    /// `char` (rpcgen extension; 4 bytes on the wire).
    Char,
    /// `unsigned char` (rpcgen extension; 4 bytes on the wire).
    UnsignedChar,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `quadruple` (128-bit float).
    Quadruple,
    /// `bool`.
    Bool,
    /// `void` (only in union arms, procedure arguments and results).
    Void,
    /// `opaque` (only with a fixed or variable array shape).
    Opaque,
    /// `string` (only with a variable array shape).
    String,
    /// A named type; `struct name`, `union name`, `enum name` are recorded
    /// as the name alone.
    Named(Ident),
    /// An anonymous inline `enum { ... }` (non-rpcgen dialects).
    Enum(EnumBody),
    /// An anonymous inline `struct { ... }` (non-rpcgen dialects).
    Struct(StructBody),
    /// An anonymous inline `union switch (...) { ... }` (non-rpcgen dialects).
    Union(Box<UnionBody>),
}

/// The members of an enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumBody {
    /// `NAME = value` pairs in source order.
    pub members: Vec<EnumMember>,
    /// The braces and their content.
    pub span: Span,
}

/// One enum member.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumMember {
    /// Its name.
    pub name: Ident,
    /// Its value (rpcgen allows omitting it: previous + 1, first 0).
    pub value: Option<Value>,
    /// Comments before it.
    pub doc: Doc,
}

/// The fields of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct StructBody {
    /// Fields in source order.
    pub fields: Vec<Declaration>,
    /// The braces and their content.
    pub span: Span,
}

/// A discriminated union (RFC 4506 section 4.15).
#[derive(Debug, Clone, PartialEq)]
pub struct UnionBody {
    /// `switch (type name)`.
    pub discriminant: Declaration,
    /// The `case` arms in source order.
    pub arms: Vec<UnionArm>,
    /// `default: declaration;`, if present.
    pub default: Option<Declaration>,
    /// The whole body.
    pub span: Span,
}

/// One arm: one or more `case value:` labels sharing a declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionArm {
    /// The case labels.
    pub cases: Vec<Value>,
    /// The arm's declaration (`void` has no name).
    pub decl: Declaration,
}

/// `program NAME { version ... } = number;` (RFC 5531 section 12.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramDef {
    /// The program's name.
    pub name: Ident,
    /// The program number.
    pub number: Value,
    /// Its versions.
    pub versions: Vec<VersionDef>,
    /// Comments before it.
    pub doc: Doc,
}

/// `version NAME { procedures } = number;`
#[derive(Debug, Clone, PartialEq)]
pub struct VersionDef {
    /// The version's name.
    pub name: Ident,
    /// The version number.
    pub number: Value,
    /// Its procedures.
    pub procedures: Vec<ProcedureDef>,
    /// Comments before it.
    pub doc: Doc,
}

/// `result NAME(args) = number;`
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureDef {
    /// The procedure's name.
    pub name: Ident,
    /// The result type (`void` allowed).
    pub result: TypeSpec,
    /// Argument types; empty for `(void)`. More than one is rpcgen's
    /// newstyle (`-N`).
    pub args: Vec<TypeSpec>,
    /// The procedure number.
    pub number: Value,
    /// Comments before it.
    pub doc: Doc,
}
