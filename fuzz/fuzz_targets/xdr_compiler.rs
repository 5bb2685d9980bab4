//! libFuzzer entry of [`fuzz_targets::xdr_compiler::xdr_compiler`]: see its docs for the
//! input format and what it checks. Run under the allocation bound of
//! [`fuzz_targets::run_bounded`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::run_bounded(
    fuzz_targets::target("xdr_compiler"),
    data
));
