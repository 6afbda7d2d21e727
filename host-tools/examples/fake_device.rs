//! Serve the fake device of `host_tools::device::fake` on a loopback TCP port, to try
//! `fc00ctl device …` without a board: `cargo run -p host-tools --example fake_device`, then
//! `fc00ctl device stats --port tcp:127.0.0.1:PORT` with the port it prints.

use host_tools::device::fake::{DeviceState, FakeDevice};
use protocol_core::identity::generate_keypair;
use rand_core::OsRng;

fn main() -> std::io::Result<()> {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let peers = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let device = FakeDevice::spawn(DeviceState::new(&key, peers, 2))?;
    println!("{}", device.port());
    loop {
        std::thread::park();
    }
}
