#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| takedown::fuzzing::query_string(data));
