#![no_main]
//! libFuzzer entry for the `vault_driven` harness of `test_vectors::fuzz` (the replay test calls the same function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    test_vectors::fuzz::run("vault_driven", data);
});
