#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| takedown::fuzzing::policy_parse(data));
