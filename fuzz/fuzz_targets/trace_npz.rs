#![no_main]
//! Fuzz target `trace_npz`: see the function it calls in `fuzz/src/lib.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pifs_fuzz::npz(data);
});
