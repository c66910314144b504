#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| takedown::fuzzing::key_and_id_text(data));
