//! The Rust side of the codec benchmark (`bench codec-run`): the generated
//! code's encode and decode timed with the same loop as
//! `bench/c/codec_bench.c`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use xdr_codec::{XdrDecode, XdrEncode};

use crate::error::{BenchError, Result};
use crate::result_line::{fnv1a, CodecLine, CodecOp};
use crate::values;

/// A batch is doubled until it takes this long (as in the C program).
const MIN_BATCH: Duration = Duration::from_millis(10);

/// One case's op run a fixed number of times instead of timed (`bench
/// counts` runs it under callgrind twice, with two counts, and divides the
/// difference in instructions by the difference in `iters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    /// The case (`small`, `list-1000`, ...).
    pub case: String,
    /// The operation.
    pub op: CodecOp,
    /// How many times it runs.
    pub iters: u64,
}

/// Runs `op` in batches (doubled until one takes [`MIN_BATCH`]), then
/// for at least `millis` ms, or exactly `fixed_iters` times if that is
/// not 0; returns (mean ns per op, ops timed).
fn time_op(
    millis: u64,
    fixed_iters: u64,
    mut op: impl FnMut() -> Result<()>,
) -> Result<(f64, u64)> {
    if fixed_iters > 0 {
        let t0 = Instant::now();
        for _ in 0..fixed_iters {
            op()?;
        }
        return Ok((
            t0.elapsed().as_nanos() as f64 / fixed_iters as f64,
            fixed_iters,
        ));
    }
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

/// Times encode, decode and decode-shared of `value` (or only `fixed`'s
/// op, if it names this case); checks first that it decodes back to
/// itself.
fn run_case<T>(
    case: &str,
    value: &T,
    millis: u64,
    fixed: Option<&Fixed>,
    emit: &mut dyn FnMut(CodecLine),
) -> Result<()>
where
    T: XdrEncode + XdrDecode + PartialEq,
{
    if fixed.is_some_and(|f| f.case != case) {
        return Ok(());
    }
    let runs = |op| fixed.map_or(Some(0), |f| (f.op == op).then_some(f.iters));
    let wire = value.to_xdr_bytes()?;
    let hash = fnv1a(&wire);
    let len = wire.len() as u64;
    if T::from_xdr_bytes(wire.clone())? != *value {
        return Err(BenchError::Mismatch(format!(
            "{case}: the decoding differs from the value"
        )));
    }
    if let Some(fixed_iters) = runs(CodecOp::Encode) {
        let mut buf = BytesMut::with_capacity(wire.len());
        let (ns, iters) = time_op(millis, fixed_iters, || {
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
    }
    // C decodes from a global array; the same here is a `'static` buffer
    // (leaked once per case), whose clones and drops count nothing.
    let kept = Bytes::from_static(Box::leak(wire.to_vec().into_boxed_slice()));
    for (op, input) in [(CodecOp::Decode, &kept), (CodecOp::DecodeShared, &wire)] {
        let Some(fixed_iters) = runs(op) else {
            continue;
        };
        // Decoding includes dropping the value, as the C side includes xdr_free.
        let (ns, iters) = time_op(millis, fixed_iters, || {
            let v = T::from_xdr_bytes(black_box(input.clone()))?;
            black_box(&v);
            Ok(())
        })?;
        emit(CodecLine {
            case: case.to_owned(),
            op,
            ns_per_op: ns,
            iters,
            len,
            hash,
        });
    }
    Ok(())
}

/// Times every case (small, `list-N` for each of `lists`, opaque-1MiB),
/// each op for at least `millis` ms, or only `fixed`'s case and op its
/// number of times, handing each line to `emit` as soon as it is
/// measured.
///
/// # Errors
///
/// [`BenchError::Xdr`] if encoding or decoding fails,
/// [`BenchError::Mismatch`] if a value does not survive a round trip.
pub fn run(
    millis: u64,
    lists: &[u32],
    fixed: Option<&Fixed>,
    emit: &mut dyn FnMut(CodecLine),
) -> Result<()> {
    run_case("small", &values::small_rec(), millis, fixed, emit)?;
    for &n in lists {
        let case = format!("list-{n}");
        if fixed.is_none_or(|f| f.case == case) {
            run_case(&case, &values::dir_listing(n), millis, fixed, emit)?;
        }
    }
    if fixed.is_none_or(|f| f.case == "opaque-1MiB") {
        run_case("opaque-1MiB", &values::opaque_holder(), millis, fixed, emit)?;
    }
    Ok(())
}
