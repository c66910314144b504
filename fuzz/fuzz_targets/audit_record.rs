#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| takedown::fuzzing::audit_record(data));
