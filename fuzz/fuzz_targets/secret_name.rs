#![no_main]
// The checks live in the main crate, where the lib tests replay this target's corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| lockbox::model::invariants::check_secret_name(data));
