//! Any bytes as what an SMTP client sends: each line is read as a command, and from a DATA
//! command on, as message lines up to the final dot, as the listener does.
#![no_main]
use hikeshi_app::intake::smtp_protocol::{ehlo_reply, Command, DataCollector, DataLine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut collecting: Option<DataCollector> = None;
    for line in data.split_inclusive(|b| *b == b'\n') {
        match collecting.as_mut() {
            Some(collector) => {
                if collector.line(line) == DataLine::End {
                    let _ = collecting.take().map(DataCollector::finish);
                }
            }
            None => match Command::parse(line) {
                Command::Data => collecting = Some(DataCollector::new(4096)),
                Command::Ehlo(_) => {
                    let _ = ehlo_reply(4096, true);
                }
                _ => {}
            },
        }
    }
});
