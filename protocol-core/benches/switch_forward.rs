//! The switch's per-packet cost: `SwitchCore::switch_packet` forwarding a data packet by its
//! label from one peer interface to another (goal: ≥ 10 Mpps per core).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol_core::switch::{SwitchAction, SwitchCore, ERROR_FRAME_MAX};
use protocol_core::wire::SWITCH_HEADER_LEN;

fn bench(c: &mut Criterion) {
    // Router is interface 1; peers get 0 (label 0x13) and 2 (label 0x15).
    let mut sw = SwitchCore::<8>::new();
    let (from, _) = sw.add_interface().unwrap();
    let (to, label_to) = sw.add_interface().unwrap();

    // A data packet from peer `from` whose label's bottom director leads out of `to`, with
    // more hops above it, as a middle node sees it: switch header then 1,400 bytes.
    let mut packet = vec![0u8; SWITCH_HEADER_LEN + 1400];
    let label = (0x1234_5678u64 << 4) | label_to;
    packet[..8].copy_from_slice(&label.to_be_bytes());
    packet[9] = 0x40; // version 1, labelShift 0
    packet[12..16].copy_from_slice(&[0x80, 0, 0, 0x10]); // a data packet's first word
    let mut header = [0u8; SWITCH_HEADER_LEN];
    header.copy_from_slice(&packet[..SWITCH_HEADER_LEN]);
    let mut err = [0u8; ERROR_FRAME_MAX];

    let action = sw.switch_packet(from, &mut packet, &mut err);
    assert_eq!(action, SwitchAction::Forward { iface: to });

    let mut g = c.benchmark_group("switch");
    g.throughput(Throughput::Elements(1));
    g.bench_function("forward by label (1 packet)", |b| {
        b.iter(|| {
            // Each packet arrives with the same label: put the 12-byte header back, as the
            // next packet's would be (the switch rewrites it in place).
            packet[..SWITCH_HEADER_LEN].copy_from_slice(&header);
            let action = sw.switch_packet(black_box(from), black_box(&mut packet), &mut err);
            black_box(action)
        })
    });
    g.finish();
    assert!(sw.stats().forwarded > 1);
    assert_eq!(sw.stats().errors_sent, 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
