#![no_main]
//! Fuzz target `flit_text`: see the function it calls in `fuzz/src/lib.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pifs_fuzz::flit_text(data);
});
