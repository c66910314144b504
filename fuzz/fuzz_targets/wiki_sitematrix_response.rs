#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| takedown::fuzzing::wiki::wiki_sitematrix_response(data));
