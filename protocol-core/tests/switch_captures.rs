//! Three SwitchCores wired as in the netns-3node capture (A — B — C) must produce, byte for
//! byte, the switch headers cjdns v22.3 put on the wire, and the packets B forwarded must be
//! exactly the packets it received with only the header changed.
//!
//! Interface numbers, as the labels in the capture show: A has B on 0; B has A on 0 and C
//! on 2; C has B on 0. A reaches C with `0x153` = splice(0x15, 0x13).

mod common;

use protocol_core::switch::core::ERROR_FRAME_MAX;
use protocol_core::switch::{bit_reverse64, splice, SwitchAction, SwitchCore};

const A_TO_B: &str = "169.254.12.1:12000";
const B_TO_A: &str = "169.254.12.2:12000";
const B_TO_C: &str = "169.254.23.2:12000";
const C_TO_B: &str = "169.254.23.3:12000";

struct Net {
    a: SwitchCore<8>,
    b: SwitchCore<8>,
    c: SwitchCore<8>,
}

fn net() -> Net {
    let mut a = SwitchCore::<8>::new();
    let mut b = SwitchCore::<8>::new();
    let mut c = SwitchCore::<8>::new();
    assert_eq!(a.add_interface().unwrap(), (0, 0x13));
    assert_eq!(b.add_interface().unwrap(), (0, 0x13));
    assert_eq!(b.add_interface().unwrap(), (2, 0x15));
    assert_eq!(c.add_interface().unwrap(), (0, 0x13));
    Net { a, b, c }
}

/// Decrypted peer-link plaintexts (starting at the switch header) sent from `src`.
fn plaintexts(capture: &str, src: &str) -> Vec<Vec<u8>> {
    let all = common::reference_json(&format!("captures/{capture}.decoded.json"));
    let packets = all.as_array().expect("capture is a JSON list");
    packets
        .iter()
        .filter(|p| p["src"].as_str() == Some(src))
        .filter_map(|p| p["outer_plain_hex"].as_str())
        .map(common::unhex)
        .collect()
}

fn with_label(packets: &[Vec<u8>], label: u64) -> Vec<Vec<u8>> {
    packets
        .iter()
        .filter(|p| p.len() >= 12 && p[..8] == label.to_be_bytes())
        .cloned()
        .collect()
}

/// What a router hands its switch: `label`, the sender's flags byte and version (cjdns
/// writes version 0 on some packets, 1 on others; the switch keeps it), shift 0.
fn from_router(label: u64, seen: &[u8]) -> Vec<u8> {
    let mut p = seen.to_vec();
    p[..8].copy_from_slice(&label.to_be_bytes());
    p[9] = seen[9] & 0xc0;
    p[10] = 0;
    p[11] = 0;
    p
}

fn label_of(p: &[u8]) -> u64 {
    u64::from_be_bytes(p[..8].try_into().unwrap())
}

fn run(sw: &mut SwitchCore<8>, from: u32, p: &mut [u8]) -> SwitchAction {
    let mut err = [0u8; ERROR_FRAME_MAX];
    sw.switch_packet(from, p, &mut err)
}

#[test]
fn a_to_c_through_b() {
    let mut n = net();
    let a_to_c = splice(0x15, 0x13).unwrap();
    assert_eq!(a_to_c, 0x153);
    let on_ab = with_label(
        &plaintexts("netns-3node-vAB", A_TO_B),
        0x8000_0000_0000_0015,
    );
    let on_bc = with_label(
        &plaintexts("netns-3node-vBC", B_TO_C),
        0xc800_0000_0000_0001,
    );
    assert_eq!(on_ab.len(), 5, "expected 5 A->C packets on link A-B");
    assert_eq!(on_bc.len(), 5, "expected 5 A->C packets on link B-C");
    for (seen_ab, seen_bc) in on_ab.iter().zip(&on_bc) {
        let mut p = from_router(a_to_c, seen_ab);
        assert_eq!(run(&mut n.a, 1, &mut p), SwitchAction::Forward { iface: 0 });
        assert_eq!(&p, seen_ab, "A's switch output differs from the capture");
        assert_eq!(run(&mut n.b, 0, &mut p), SwitchAction::Forward { iface: 2 });
        assert_eq!(&p, seen_bc, "B's switch output differs from the capture");
        assert_eq!(run(&mut n.c, 0, &mut p), SwitchAction::DeliverToRouter);
        assert_eq!(label_of(&p), 0xcc80_0000_0000_0000);
        assert_eq!(p[9], 0x40 | 12);
        assert_eq!(bit_reverse64(label_of(&p)), 0x133, "C's path back to A");
    }
}

#[test]
fn c_to_a_through_b() {
    let mut n = net();
    let c_to_a = 0x133;
    let on_bc = with_label(
        &plaintexts("netns-3node-vBC", C_TO_B),
        0x8000_0000_0000_0013,
    );
    let on_ab = with_label(
        &plaintexts("netns-3node-vAB", B_TO_A),
        0xa800_0000_0000_0001,
    );
    assert_eq!(on_bc.len(), 5, "expected 5 C->A packets on link B-C");
    assert_eq!(on_ab.len(), 5, "expected 5 C->A packets on link A-B");
    for (seen_bc, seen_ab) in on_bc.iter().zip(&on_ab) {
        let mut p = from_router(c_to_a, seen_bc);
        assert_eq!(run(&mut n.c, 1, &mut p), SwitchAction::Forward { iface: 0 });
        assert_eq!(&p, seen_bc, "C's switch output differs from the capture");
        assert_eq!(run(&mut n.b, 2, &mut p), SwitchAction::Forward { iface: 0 });
        assert_eq!(&p, seen_ab, "B's switch output differs from the capture");
        assert_eq!(run(&mut n.a, 0, &mut p), SwitchAction::DeliverToRouter);
        assert_eq!(label_of(&p), 0xca80_0000_0000_0000);
        assert_eq!(bit_reverse64(label_of(&p)), 0x153, "A's path back to C");
    }
}

#[test]
fn one_hop_packets_between_neighbours() {
    let mut n = net();
    // (capture, sender, sender's label for the receiver)
    let links: [(&str, &str, u64); 4] = [
        ("netns-3node-vAB", A_TO_B, 0x13),
        ("netns-3node-vAB", B_TO_A, 0x13),
        ("netns-3node-vBC", B_TO_C, 0x15),
        ("netns-3node-vBC", C_TO_B, 0x13),
    ];
    for (capture, src, label) in links {
        let seen = with_label(&plaintexts(capture, src), 0x8000_0000_0000_0001);
        assert!(
            !seen.is_empty(),
            "no one-hop packets from {src} in {capture}"
        );
        for s in &seen {
            let (sender, receiver, arrival) = match src {
                A_TO_B => (&mut n.a, &mut n.b, 0),
                B_TO_A => (&mut n.b, &mut n.a, 0),
                B_TO_C => (&mut n.b, &mut n.c, 0),
                _ => (&mut n.c, &mut n.b, 2),
            };
            let mut p = from_router(label, s);
            assert!(matches!(
                run(sender, 1, &mut p),
                SwitchAction::Forward { .. }
            ));
            assert_eq!(&p, s, "{src}: switch output differs from the capture");
            assert_eq!(
                run(receiver, arrival, &mut p),
                SwitchAction::DeliverToRouter
            );
            let back = bit_reverse64(label_of(&p));
            let expected_back = match (src, arrival) {
                (_, 2) => 0x15,
                _ => 0x13,
            };
            assert_eq!(back, expected_back, "{src}: path back to the sender");
        }
    }
}
