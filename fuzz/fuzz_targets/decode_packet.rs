//! Packet decoder fuzz target: the first byte picks a link type, two more
//! bytes add to the wire length, the rest is the frame. Checks that nothing
//! panics and that what `decode_frame` returns stays inside the frame; a
//! decoded TCP header round-trips through `TcpRepr`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpsim::wire::reassembly::Reassembler;
use tcpsim::wire::{decode_frame, field_map, Decoded, NotTcp, TcpPacket, TcpRepr};

const LINKTYPES: [u32; 18] = [
    0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276, 147, 0x3000_0001, 0x0400_0001, 274, 51, 104,
];

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let linktype = LINKTYPES[usize::from(input[0]) % LINKTYPES.len()];
    let extra = u32::from(u16::from_be_bytes([input[1], input[2]]));
    let data = &input[3..];
    let orig_len = data.len() as u32 + if extra > 0x8000 { 0 } else { extra };

    let spans = field_map(linktype, data);
    for s in &spans {
        assert!(s.range.start <= s.range.end && s.range.end <= data.len());
    }

    let mut reassembler = Reassembler::new();
    match decode_frame(linktype, data, orig_len) {
        Ok(Decoded::Tcp(t)) => {
            assert!(t.ip_offset < t.tcp_offset);
            assert!(t.tcp_offset + 20 <= data.len());
            assert!(t.info.header_len >= 20 && t.info.header_len <= 60);
            assert!(t.payload.len() as u64 <= u64::from(t.info.payload_len));
            let end = t.payload.as_ptr() as usize + t.payload.len();
            assert!(end <= data.as_ptr() as usize + data.len());
            let seg = &data[t.tcp_offset..];
            let p = TcpPacket::new_checked(seg).expect("decoded header re-checks");
            if p.header_complete() {
                let hl = usize::from(p.header_len());
                let repr = TcpRepr::parse(&p).expect("complete header parses");
                let mut out = vec![0u8; hl];
                repr.emit(&mut out).expect("parsed header emits");
                assert_eq!(&out[..], &seg[..hl]);
            }
            if let Some(f) = t.fragment {
                let _ = reassembler.push(&f);
            }
        }
        Ok(Decoded::NotTcp(NotTcp::Fragment(f))) => {
            assert!(f.data_offset + f.data.len() <= data.len());
            if let Some(d) = reassembler.push(&f) {
                let _ = d.decode_tcp(orig_len, data.len() as u32);
            }
        }
        Ok(Decoded::NotTcp(NotTcp::MalformedTcp(m))) => {
            assert!(m.tcp_offset + m.bytes.len() <= data.len());
        }
        Ok(Decoded::NotTcp(_)) => {}
        Err(e) => {
            assert!(e.offset() <= data.len());
            let _ = e.to_string();
        }
    }
});
