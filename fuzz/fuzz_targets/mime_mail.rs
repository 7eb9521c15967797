//! Any bytes as a received e-mail, read the way the intake reads it before storing anything.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_app::intake::mail_message::IncomingMail::read(data, "envelope@example.jp");
});
