//! A connection's byte stream from its start: CONNECT (any version, or garbage), then the packets
//! of the version it chose, decoded without panic, each round-tripping.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mqscope_fuzz::check_stream(data, None);
});
