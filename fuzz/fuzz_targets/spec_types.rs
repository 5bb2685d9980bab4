//! libFuzzer entry of [`fuzz_targets::spec_types::spec_types`]: see its docs for the
//! input format and what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::spec_types::spec_types(data));
