//! The Rust side of the codec benchmark (`bench codec-run`): the generated
//! code's encode and decode timed with the same loop as
//! `bench/c/codec_bench.c`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use xdr_codec::{XdrDecode, XdrEncode};

use crate::error::{BenchError, Result};
use crate::result_line::{fnv1a, CodecLine, CodecOp};
use crate::values;

/// A batch is doubled until it takes this long (as in the C program).
const MIN_BATCH: Duration = Duration::from_millis(10);

/// Runs `op` in batches (doubled until one takes [`MIN_BATCH`]), then
/// for at least `millis` ms; returns (mean ns per op, ops timed).
fn time_op(millis: u64, mut op: impl FnMut() -> Result<()>) -> Result<(f64, u64)> {
    let mut batch: u64 = 1;
    loop {
        let t0 = Instant::now();
        for _ in 0..batch {
            op()?;
        }
        if t0.elapsed() >= MIN_BATCH || batch >= 1 << 40 {
            break;
        }
        batch *= 2;
    }
    let target = Duration::from_millis(millis);
    let mut iters = 0u64;
    let t0 = Instant::now();
    loop {
        for _ in 0..batch {
            op()?;
        }
        iters += batch;
        if t0.elapsed() >= target {
            break;
        }
    }
    Ok((t0.elapsed().as_nanos() as f64 / iters as f64, iters))
}

/// Times encode then decode of `value`; checks first that it decodes back
/// to itself.
fn run_case<T>(case: &str, value: &T, millis: u64, emit: &mut dyn FnMut(CodecLine)) -> Result<()>
where
    T: XdrEncode + XdrDecode + PartialEq,
{
    let wire = value.to_xdr_bytes()?;
    let hash = fnv1a(&wire);
    let len = wire.len() as u64;
    if T::from_xdr_bytes(wire.clone())? != *value {
        return Err(BenchError::Mismatch(format!(
            "{case}: the decoding differs from the value"
        )));
    }
    let mut buf = BytesMut::with_capacity(wire.len());
    let (ns, iters) = time_op(millis, || {
        buf.clear();
        value.encode_into(&mut buf)?;
        black_box(buf.len());
        Ok(())
    })?;
    emit(CodecLine {
        case: case.to_owned(),
        op: CodecOp::Encode,
        ns_per_op: ns,
        iters,
        len,
        hash,
    });
    // Decoding includes dropping the value, as the C side includes xdr_free.
    let (ns, iters) = time_op(millis, || {
        let v = T::from_xdr_bytes(black_box(wire.clone()))?;
        black_box(&v);
        Ok(())
    })?;
    emit(CodecLine {
        case: case.to_owned(),
        op: CodecOp::Decode,
        ns_per_op: ns,
        iters,
        len,
        hash,
    });
    Ok(())
}

/// Times every case (small, `list-N` for each of `lists`, opaque-1MiB),
/// each op for at least `millis` ms, handing each line to `emit` as soon
/// as it is measured.
///
/// # Errors
///
/// [`BenchError::Xdr`] if encoding or decoding fails,
/// [`BenchError::Mismatch`] if a value does not survive a round trip.
pub fn run(millis: u64, lists: &[u32], emit: &mut dyn FnMut(CodecLine)) -> Result<()> {
    run_case("small", &values::small_rec(), millis, emit)?;
    for &n in lists {
        run_case(&format!("list-{n}"), &values::dir_listing(n), millis, emit)?;
    }
    run_case("opaque-1MiB", &values::opaque_holder(), millis, emit)
}
