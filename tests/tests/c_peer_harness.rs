//! The C peer harness's own failure modes: they must fail loudly and say why.

use std::process::Command;
use std::time::{Duration, Instant};

use interop_tests::c_peer::{run_with_timeout, CPeerError, CProgram, CServer};

#[test]
fn a_missing_program_names_the_packages_to_install() {
    let err = run_with_timeout(
        &mut Command::new("/nonexistent/rpcgen-for-test"),
        Duration::from_secs(5),
    )
    .expect_err("program does not exist");
    assert!(matches!(err, CPeerError::ToolMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("libtirpc-dev"), "{err}");
}

#[test]
fn a_program_that_overruns_is_killed() {
    let start = Instant::now();
    let err = run_with_timeout(
        Command::new("sh").args(["-c", "echo started; sleep 30"]),
        Duration::from_millis(300),
    )
    .expect_err("overran");
    assert!(start.elapsed() < Duration::from_secs(10));
    match err {
        CPeerError::TimedOut { output, .. } => assert!(output.contains("started"), "{output}"),
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

#[test]
fn a_compile_error_is_reported_with_the_compiler_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("broken.c");
    std::fs::write(&src, "int main(void) { return undeclared_name; }\n").expect("write source");
    let err = CProgram::new("broken")
        .source(&src)
        .build()
        .expect_err("does not compile");
    match err {
        CPeerError::ToolFailed {
            command, stderr, ..
        } => {
            assert!(command.starts_with("gcc"), "{command}");
            assert!(stderr.contains("undeclared_name"), "{stderr}");
        }
        other => panic!("expected ToolFailed, got {other:?}"),
    }
}

#[test]
fn a_server_that_exits_at_once_is_reported_with_its_output() {
    let err = CServer::start_unix(
        std::path::Path::new("sh"),
        ["-c", "echo cannot bind >&2; exit 3", "sh"],
    )
    .expect_err("server exits");
    match err {
        CPeerError::ServerExited { status, output, .. } => {
            assert_eq!(status.code(), Some(3));
            assert!(output.contains("cannot bind"), "{output}");
        }
        other => panic!("expected ServerExited, got {other:?}"),
    }
}
