//! Every real-world `.x` file on the machine parses (or, for ocamlrpcgen
//! files, fails with an error naming the ocamlrpcgen construct): Debian's
//! `/usr/include/rpcsvc/*.x`, libtirpc's `rpcb_prot.x` and, when
//! `XDRGEN_CORPUS` names it, the real-world corpus.

mod corpus;

use std::path::{Path, PathBuf};

use xdrgen::diagnostic::render_all;
use xdrgen::{parse_file, ParseOptions, SourceMap};

fn x_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            x_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "x") {
            out.push(p);
        }
    }
}

#[test]
fn every_real_file_parses() {
    let mut files = Vec::new();
    x_files(Path::new("/usr/include/rpcsvc"), &mut files);
    files.push(PathBuf::from("/usr/include/tirpc/rpc/rpcb_prot.x"));
    files.retain(|p| p.is_file());
    assert!(
        files.len() > 10,
        "only {} files in /usr/include/rpcsvc and /usr/include/tirpc (Debian packages rpcsvc-proto, libtirpc-dev)",
        files.len()
    );
    if let Some(corpus) = corpus::dir("every_real_file_parses") {
        let before = files.len();
        x_files(&corpus, &mut files);
        assert!(
            files.len() - before > 40,
            "only {} files in the corpus at {}",
            files.len() - before,
            corpus.display()
        );
    }
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let mut sources = SourceMap::new();
        let result = parse_file(path, &ParseOptions::default(), &mut sources);
        let is_ocaml = path.to_string_lossy().contains("/ocamlnet/");
        match result {
            Ok(spec) => {
                if is_ocaml {
                    failures.push(format!(
                        "{}: ocamlnet file parsed without error",
                        path.display()
                    ));
                }
                assert!(
                    !spec.definitions.is_empty() || path.ends_with("db_mindex_c.x"),
                    "{}",
                    path.display()
                );
            }
            Err(errs) => {
                let text = render_all(&errs, &sources);
                if !is_ocaml || !errs.iter().all(|e| e.message.contains("ocamlrpcgen")) {
                    failures.push(text);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
