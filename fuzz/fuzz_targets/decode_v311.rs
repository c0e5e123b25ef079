//! Any bytes after a V311 CONNECT: decoded without panic, each packet round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mqscope_fuzz::check_stream(data, Some(mqscope_fuzz::codec::ProtocolVersion::V311));
});
