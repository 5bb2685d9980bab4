//! The allocation bound every target runs under: a counting global
//! allocator and [`run_bounded`], which fails an input whose body had more
//! bytes live at once (counted from what was live before it) than its
//! target's [`AllocBound`] allows for the input's length.
//!
//! The same check runs under libFuzzer (`fuzz/fuzz_targets/NAME.rs`) and in
//! the stable replay (`tests/replay.rs`), so an input the fuzzer keeps is
//! one the replay accepts. The count is process-wide: run one input at a
//! time (libFuzzer does; the replay has no harness threads).

use cap::Cap;
use peak_alloc::PeakAlloc;

use crate::Target;

/// How many bytes a target's body may have live at once for an input of
/// `n` bytes: `per_input_byte * n + slack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocBound {
    /// Bytes per byte of input.
    pub per_input_byte: usize,
    /// Bytes whatever the input.
    pub slack: usize,
}

impl AllocBound {
    /// The bound of most targets: 64 bytes per input byte plus 1 MiB
    /// (room for the record decoder's 64 KiB read-ahead and the broker
    /// core's tables).
    pub const DEFAULT: AllocBound = AllocBound {
        per_input_byte: 64,
        slack: 1 << 20,
    };

    /// Bytes allowed for an input of `len` bytes.
    pub fn for_input(self, len: usize) -> usize {
        self.per_input_byte
            .saturating_mul(len)
            .saturating_add(self.slack)
    }
}

/// Bytes live in the whole process past which an allocation is refused
/// (1 GiB, libFuzzer's `-rss_limit_mb=1024`), so a length read off the
/// input cannot take the machine's memory before the bound is checked; a
/// refusal aborts the process naming the size.
const PROCESS_LIMIT_BYTES: usize = 1 << 30;

/// The system allocator, counting the bytes live and their peak
/// (`PeakAlloc`) under the process limit (`Cap`).
#[global_allocator]
static ALLOCATOR: Cap<PeakAlloc> = Cap::new(PeakAlloc, PROCESS_LIMIT_BYTES);

/// Runs `target`'s body on `input`; returns the most bytes it had live at
/// once (counted from what was live before it).
///
/// # Panics
/// When the body panics (a finding).
pub fn peak_bytes(target: &Target, input: &[u8]) -> usize {
    let before = PeakAlloc.current_usage();
    PeakAlloc.reset_peak_usage();
    (target.body)(input);
    PeakAlloc.peak_usage().saturating_sub(before)
}

/// Runs `target`'s body on `input` and checks its allocation bound.
///
/// # Panics
/// When the body panics (a finding), and when the bytes it had live at
/// once exceeded `target.bound`; the message gives the target, the peak,
/// the bound and the input's length.
pub fn run_bounded(target: &Target, input: &[u8]) {
    let peak = peak_bytes(target, input);
    let bound = target.bound.for_input(input.len());
    assert!(
        peak <= bound,
        "{}: {peak} bytes live at once for a {}-byte input, over the bound of {bound}",
        target.name,
        input.len()
    );
}
