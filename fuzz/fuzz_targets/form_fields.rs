//! Any text as the public form's fields: the proof-of-work challenge and proof, the text fields,
//! the tags and an attachment's file name, checked the way the form reader checks them.
#![no_main]
use hikeshi_app::form_guard::FormGuard;
use hikeshi_app::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.split('\u{0}');
    let challenge = fields.next().unwrap_or("");
    let proof = fields.next().unwrap_or("");
    let guard = FormGuard::new(4, 0, 10);
    let _ = guard.check(challenge, proof, None, 1_800_000_000_000);
    for (n, field) in fields.enumerate() {
        let _ = validate::text_field("field", field, n % 2 == 0, 200);
        let _ = validate::sanitize_filename(field);
        let _ = validate::parse_time("time", field);
        let _ = validate::check_tags(&[field.to_string()]);
    }
});
