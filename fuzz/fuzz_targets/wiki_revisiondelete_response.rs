#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| takedown::fuzzing::wiki::wiki_revisiondelete_response(data));
