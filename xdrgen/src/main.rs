//! The `xdrgen` command: compiles `.x` files to Rust; its subcommands
//! decode and encode XDR as JSON.

mod inspect;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use xdrgen::model::CheckOptions;
use xdrgen::{generate_many, generate_str, EmitOptions, Options, ParseOptions};

/// Compiles an ONC RPC / XDR specification (`.x`, RFC 4506 and RFC 5531,
/// rpcgen's dialect) into Rust: types with XDR encode/decode, an async
/// client and a server trait per program version.
///
/// The output uses the `xdr_codec` crate (package `oncrpc-xdr-codec`), and
/// `rpc_runtime` (package `oncrpc-rpc-runtime`) for clients and servers.
/// Errors are printed as `FILE:LINE:COL: error: MESSAGE` with the
/// source line; the exit status is then 1 and no output is written.
///
/// The subcommands `decode`, `encode` and `decode-rpc` show XDR bytes as
/// JSON and back by interpreting a `.x` file (`xdrgen decode --help`).
/// A first argument `decode`, `encode` or `decode-rpc` always names the
/// subcommand: to compile a file of that name, write `./decode`.
#[derive(Debug, Parser)]
#[command(
    name = "xdrgen",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    tool: Option<inspect::Tool>,

    /// The `.x` file to compile, or `-` to read standard input. Several
    /// files are compiled together into one output, as one specification
    /// (each preprocessed on its own), so that one may use another's types:
    /// `xdrgen Stellar-*.x -o stellar.rs`.
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    inputs: Vec<String>,

    /// Write the Rust code to PATH instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,

    /// Define a preprocessor macro, as `cpp -D` does: `NAME` or
    /// `NAME=VALUE`. Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME[=VALUE]")]
    defines: Vec<String>,

    /// Add a directory to the `#include` search path (searched after the
    /// including file's own directory). Repeatable.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include_dirs: Vec<PathBuf>,

    /// Use the Rust type PATH for the `.x` type NAME, which the file uses
    /// without defining it (rpcgen leaves such names to C headers), for
    /// example `--extern-type nis_object=crate::nis::NisObject`.
    /// Repeatable.
    #[arg(long = "extern-type", value_name = "NAME=PATH", value_parser = parse_extern)]
    extern_types: Vec<(String, String)>,

    /// What to emit: `types` (constants, types, XDR impls, program
    /// numbers), `client` (async client per program version), `server`
    /// (handler trait and dispatcher per program version). Repeatable;
    /// default: all three.
    #[arg(long = "emit", value_enum, value_name = "PART")]
    emit: Vec<Part>,

    /// Also derive `serde::Serialize` and `serde::Deserialize` on every
    /// struct, enum and union. The crate using the output must then depend
    /// on `serde` (feature `derive`) and on `oncrpc-xdr-codec` with its
    /// `serde` feature.
    #[arg(long = "serde")]
    serde: bool,

    /// Also implement `arbitrary::Arbitrary` on every struct, enum and
    /// union, within the spec's bounds (string and array maxima, fixed
    /// sizes, declared enum members and union arms, bounded recursion),
    /// for fuzzing and property tests. The crate using the output must
    /// then depend on `arbitrary` (feature `derive`) and on
    /// `oncrpc-xdr-codec` with its `arbitrary` feature.
    #[arg(long = "arbitrary")]
    arbitrary: bool,
}

/// A part of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Constants, types and their XDR impls.
    Types,
    /// Async clients.
    Client,
    /// Server traits and dispatchers.
    Server,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.tool {
        Some(tool) => inspect::run(tool),
        None => run(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let opts = options(cli);
    let generated = if cli.inputs.len() > 1 && cli.inputs.iter().any(|i| i == "-") {
        return Err("error: `-` (standard input) cannot be combined with other input files".into());
    } else if cli.inputs.first().is_some_and(|i| i == "-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("error: cannot read standard input: {e}"))?;
        generate_str("<stdin>", &text, &opts)
    } else {
        let paths: Vec<&Path> = cli.inputs.iter().map(Path::new).collect();
        generate_many(&paths, &opts)
    }
    .map_err(|e| e.rendered)?;
    match &cli.output {
        Some(path) => std::fs::write(path, &generated.code)
            .map_err(|e| format!("error: cannot write {}: {e}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(generated.code.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("error: cannot write standard output: {e}"))
        }
    }
}

fn parse_extern(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), path.to_owned()))
        }
        _ => Err(format!("expected NAME=PATH, found `{s}`")),
    }
}

fn options(cli: &Cli) -> Options {
    let defines = cli
        .defines
        .iter()
        .map(|d| match d.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (d.clone(), None),
        })
        .collect();
    let all = cli.emit.is_empty();
    Options {
        parse: ParseOptions {
            defines,
            include_dirs: cli.include_dirs.clone(),
        },
        emit: EmitOptions {
            types: all || cli.emit.contains(&Part::Types),
            client: all || cli.emit.contains(&Part::Client),
            server: all || cli.emit.contains(&Part::Server),
            source_name: None,
            serde: cli.serde,
            arbitrary: cli.arbitrary,
        },
        check: CheckOptions {
            extern_types: cli.extern_types.iter().cloned().collect(),
        },
    }
}
