#![no_main]
//! Fuzz target `stackdist`: see the function it calls in `fuzz/src/lib.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pifs_fuzz::stackdist(data);
});
