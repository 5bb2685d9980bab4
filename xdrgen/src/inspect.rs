//! The `xdrgen decode`, `encode` and `decode-rpc` subcommands: XDR bytes
//! as JSON and back, interpreted from a `.x` file (no Rust generated).

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use xdrgen::diagnostic::render_all;
use xdrgen::json::{decode, decode_rpc_stream, encode, unhex, Types};
use xdrgen::model::Model;
use xdrgen::{parse_file, ParseOptions, SourceMap};

/// A subcommand. The first argument `decode`, `encode` or `decode-rpc`
/// names one; to compile a `.x` file called so, write `./decode`.
#[derive(Debug, Subcommand)]
pub(crate) enum Tool {
    /// Prints XDR bytes of a type as JSON.
    ///
    /// Reads XDR bytes of type TYPE (raw, or hex with `--hex`) from FILE or
    /// standard input and prints the value as JSON: fields by their `.x`
    /// names, enums by member name, unions as an object of the
    /// discriminant and the arm, opaque data as hex, strings as strings
    /// (`{"hex": ...}` when not UTF-8), optional-data as null or the
    /// value, linked lists as arrays. On bad input exits with status 1 and
    /// `error: at byte N, TYPE.field[3].arm: WHAT`.
    #[command(
        after_help = "Example:\n  echo 0000000000000002010200000000000100000001 | xdrgen decode mount3.x mountres3 --hex"
    )]
    Decode(DecodeArgs),
    /// Writes JSON as XDR bytes of a type.
    ///
    /// Reads JSON (as `decode` prints it) from FILE or standard input and
    /// writes the XDR bytes of type TYPE (raw, or hex with `--hex`) to
    /// standard output. JSON that does not fit the type exits with status
    /// 1 and `error: TYPE.field[3]: WHAT`.
    #[command(
        after_help = "Example:\n  echo '{\"fhs_status\": \"MNT3ERR_NOENT\"}' | xdrgen encode mount3.x mountres3 --hex"
    )]
    Encode(EncodeArgs),
    /// Prints a stream of record-marked RPC calls and replies as JSON.
    ///
    /// Reads a stream of record-marked ONC RPC messages (RFC 5531 section
    /// 11; a TCP connection's payload, raw or hex) and prints each call
    /// and reply as JSON: XID, program, version and procedure by name,
    /// credentials (AUTH_SYS decoded) and verifier, and the arguments or
    /// result decoded with SPEC (replies matched to calls by XID). Exits
    /// with status 1 if any message did not decode.
    #[command(after_help = "Example:\n  xdrgen decode-rpc nfs3.x --compact tcp-payload.bin")]
    DecodeRpc(RpcArgs),
}

/// The specification to interpret.
#[derive(Debug, Args)]
pub(crate) struct SpecArgs {
    /// The `.x` file.
    #[arg(value_name = "SPEC")]
    spec: PathBuf,

    /// Define a preprocessor macro: `NAME` or `NAME=VALUE`. Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME[=VALUE]")]
    defines: Vec<String>,

    /// Add a directory to the `#include` search path. Repeatable.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include_dirs: Vec<PathBuf>,
}

/// Input and output options shared by the subcommands.
#[derive(Debug, Args)]
pub(crate) struct IoArgs {
    /// The XDR bytes (input of `decode` and `decode-rpc`, output of
    /// `encode`) are hex digits rather than raw; whitespace in hex input
    /// is ignored.
    #[arg(long)]
    hex: bool,

    /// The input file; standard input when absent or `-`.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
}

/// `xdrgen decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    #[command(flatten)]
    spec: SpecArgs,
    /// The type's name in the `.x` file.
    #[arg(value_name = "TYPE")]
    type_name: String,
    #[command(flatten)]
    io: IoArgs,
    /// Accept bytes after the value (by default an error).
    #[arg(long)]
    allow_trailing: bool,
    /// Print the JSON on one line.
    #[arg(long)]
    compact: bool,
}

/// `xdrgen encode`.
#[derive(Debug, Args)]
pub(crate) struct EncodeArgs {
    #[command(flatten)]
    spec: SpecArgs,
    /// The type's name in the `.x` file.
    #[arg(value_name = "TYPE")]
    type_name: String,
    #[command(flatten)]
    io: IoArgs,
}

/// `xdrgen decode-rpc`.
#[derive(Debug, Args)]
pub(crate) struct RpcArgs {
    #[command(flatten)]
    spec: SpecArgs,
    #[command(flatten)]
    io: IoArgs,
    /// Print each message's JSON on one line.
    #[arg(long)]
    compact: bool,
}

/// Runs a subcommand; the error is the text for standard error.
pub(crate) fn run(tool: &Tool) -> Result<(), String> {
    match tool {
        Tool::Decode(a) => {
            let model = load(&a.spec)?;
            let bytes = read_bytes(&a.io)?;
            let types = Types::new(&model);
            let v = decode(&types, &a.type_name, &bytes, a.allow_trailing)
                .map_err(|e| format!("error: {e}"))?;
            write_out(json_text(&v, a.compact).as_bytes())
        }
        Tool::Encode(a) => {
            let model = load(&a.spec)?;
            let text = String::from_utf8(read_input(&a.io)?)
                .map_err(|_| "error: the JSON input is not UTF-8".to_owned())?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("error: invalid JSON: {e}"))?;
            let types = Types::new(&model);
            let bytes = encode(&types, &a.type_name, &v).map_err(|e| format!("error: {e}"))?;
            if a.io.hex {
                let mut s = xdrgen::json::hex(&bytes);
                s.push('\n');
                write_out(s.as_bytes())
            } else {
                write_out(&bytes)
            }
        }
        Tool::DecodeRpc(a) => {
            let model = load(&a.spec)?;
            let bytes = read_bytes(&a.io)?;
            let stream = decode_rpc_stream(&model, &bytes);
            let text: String = stream
                .messages
                .iter()
                .map(|m| json_text(m, a.compact))
                .collect();
            write_out(text.as_bytes())?;
            match (stream.framing_error, stream.any_failed) {
                (Some(e), _) => Err(format!("error: {e}")),
                (None, true) => Err("error: some messages did not decode".to_owned()),
                (None, false) => Ok(()),
            }
        }
    }
}

fn json_text(v: &serde_json::Value, compact: bool) -> String {
    let mut s = if compact {
        v.to_string()
    } else {
        serde_json::to_string_pretty(v).unwrap_or_default()
    };
    s.push('\n');
    s
}

/// Parses and checks the specification; errors rendered as the compiler
/// renders them.
fn load(a: &SpecArgs) -> Result<Model, String> {
    let opts = ParseOptions {
        defines: a
            .defines
            .iter()
            .map(|d| match d.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (d.clone(), None),
            })
            .collect(),
        include_dirs: a.include_dirs.clone(),
    };
    let mut sources = SourceMap::new();
    parse_file(&a.spec, &opts, &mut sources)
        .and_then(|spec| xdrgen::model::check(&spec))
        .map_err(|d| render_all(&d, &sources))
}

fn read_input(io: &IoArgs) -> Result<Vec<u8>, String> {
    match &io.input {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read(p).map_err(|e| format!("error: cannot read {}: {e}", p.display()))
        }
        _ => {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| format!("error: cannot read standard input: {e}"))?;
            Ok(b)
        }
    }
}

/// The input's XDR bytes, decoded from hex with `--hex`.
fn read_bytes(io: &IoArgs) -> Result<Vec<u8>, String> {
    let b = read_input(io)?;
    if !io.hex {
        return Ok(b);
    }
    let text = String::from_utf8(b).map_err(|_| "error: --hex input is not text".to_owned())?;
    unhex(&text).map_err(|e| format!("error: --hex input: {e}"))
}

fn write_out(b: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(b)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("error: cannot write standard output: {e}"))
}
