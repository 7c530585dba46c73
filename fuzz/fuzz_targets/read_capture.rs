//! Capture reader fuzz target: the input is a whole capture file. Reads
//! every record and checks what the reader promises (records inside the
//! input, increasing numbers and offsets, errors placed inside the input,
//! nothing after an error), then runs the whole `tcpsim decode` path over
//! it in fields, JSON and text modes with the analyzer, one and two passes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpsim::cli::decode::{decode_bytes, Analysis, FieldsSpec, OutputMode};
use tcpsim::pcap::CaptureReader;

fuzz_target!(|input: &[u8]| {
    if let Ok(mut r) = CaptureReader::from_bytes(input, "fuzz") {
        let mut last_number = 0;
        let mut last_offset = None;
        let mut failed = false;
        while let Some(rec) = r.next_record() {
            assert!(!failed, "a record after an error");
            match rec {
                Ok(rec) => {
                    assert!(rec.number > last_number);
                    assert!(last_offset.map_or(true, |o| rec.offset > o));
                    assert!(rec.offset < input.len() as u64);
                    assert!(rec.data.len() <= input.len());
                    assert!(rec.data.len() <= tcpsim::pcap::MAX_RECORD_LEN as usize);
                    last_number = rec.number;
                    last_offset = Some(rec.offset);
                }
                Err(e) => {
                    assert!(e.packet > last_number);
                    assert!(e.offset <= input.len() as u64);
                    failed = true;
                }
            }
        }
        assert!(r.next_record().is_none());
    }

    let names: Vec<String> = [
        "frame.number",
        "frame.time_epoch",
        "ip.src",
        "ipv6.dst",
        "tcp.srcport",
        "tcp.flags.str",
        "tcp.len",
        "tcp.stream",
        "tcp.seq",
        "tcp.options.sack_le",
        "tcp.analysis.bytes_in_flight",
        "tcp.completeness",
    ]
    .map(String::from)
    .to_vec();
    let spec = FieldsSpec::parse(&names, &["aggregator=|".to_string()]).expect("known fields");
    for (mode, analysis) in [
        (OutputMode::Fields(spec.clone()), Analysis::TwoPass),
        (OutputMode::Jsonl, Analysis::OnePass),
        (OutputMode::Text, Analysis::OnePass),
        (OutputMode::Hex, Analysis::Off),
    ] {
        let mut out = Vec::new();
        let _ = decode_bytes(input, "fuzz", &mode, analysis, &mut out);
    }
});
