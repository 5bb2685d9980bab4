//! The allocation bound every target runs under: a counting global
//! allocator and [`run_bounded`], which fails an input whose body had more
//! bytes live at once than [`ALLOC_BYTES_PER_INPUT_BYTE`] times its length
//! plus [`ALLOC_SLACK_BYTES`] (counted from what was live before it).
//!
//! The same check runs under libFuzzer (`fuzz/fuzz_targets/NAME.rs`) and in
//! the stable replay (`tests/replay.rs`), so an input the fuzzer keeps is
//! one the replay accepts. The count is process-wide: run one input at a
//! time (libFuzzer does; the replay has no harness threads).

use cap::Cap;
use peak_alloc::PeakAlloc;

use crate::Target;

/// Bytes a body may have live at once per byte of input, on top of
/// [`ALLOC_SLACK_BYTES`].
pub const ALLOC_BYTES_PER_INPUT_BYTE: usize = 64;

/// Bytes a body may have live at once whatever its input (1 MiB): room for
/// the record decoder's 64 KiB read-ahead and the compiler's fixed tables.
pub const ALLOC_SLACK_BYTES: usize = 1 << 20;

/// Bytes live in the whole process past which an allocation is refused
/// (1 GiB, libFuzzer's `-rss_limit_mb=1024`), so a length read off the
/// input cannot take the machine's memory before the bound is checked; a
/// refusal aborts the process naming the size.
const PROCESS_LIMIT_BYTES: usize = 1 << 30;

/// The system allocator, counting the bytes live and their peak
/// (`PeakAlloc`) under the process limit (`Cap`).
#[global_allocator]
static ALLOCATOR: Cap<PeakAlloc> = Cap::new(PeakAlloc, PROCESS_LIMIT_BYTES);

/// Runs `target`'s body on `input` and checks the allocation bound.
///
/// # Panics
/// When the body panics (a finding), and when the bytes it had live at
/// once exceeded the bound; the message gives the target, the peak, the
/// bound and the input's length.
pub fn run_bounded(target: &Target, input: &[u8]) {
    let before = PeakAlloc.current_usage();
    PeakAlloc.reset_peak_usage();
    (target.body)(input);
    let peak = PeakAlloc.peak_usage() - before;
    let bound = ALLOC_BYTES_PER_INPUT_BYTE * input.len() + ALLOC_SLACK_BYTES;
    assert!(
        peak <= bound,
        "{}: {peak} bytes live at once for a {}-byte input, over the bound of {bound}",
        target.name,
        input.len()
    );
}
