//! Node behaviour the simulator exposed, kept as regression tests.

use host_tools::sim::{LinkParams, Sim};

/// A ping over a 4-node line whose links have 10 ms of latency: while the end-to-end session
/// is being set up, the source must send a handful of setup packets, not a flood.
///
/// The node used to loop (fixed in `session`: CJDHT sends no longer ask for setup, and setup
/// requests are limited to one per session per second): `SessionManager::send_cjdht` (for the router's `pn`) sees user
/// traffic waiting on an unready session and calls `request_setup`, which emits
/// `SetupNeeded`; `Node`'s session sink answers `SetupNeeded` with `Router::ping`, which
/// queues another `pn` for `send_cjdht`, and so on. Each `drain` stops only at
/// `MAX_DRAIN_STEPS` (64) with the queue still non-empty, and the session layer's
/// `poll_at()` is then 0, so every poll and every incoming frame sends ~32 more `pn`s until
/// the handshake answer arrives (which the flood of Hellos delays further).
#[test]
fn session_setup_does_not_flood() {
    let mut sim: Sim = Sim::new(3);
    for _ in 0..4 {
        sim.add_node();
    }
    let link = LinkParams {
        latency_ms: 10,
        loss: 0.0,
    };
    for i in 0..3 {
        sim.link_udp(i, i + 1, link);
    }
    assert!(sim.run_until_converged(10_000).is_some());
    sim.run_for(5_000);
    sim.record_frames(true);
    sim.record_events(true);
    let start = sim.now();
    sim.schedule_ping(0, 3, start, 1, 5_000);
    sim.set_event_budget(sim.counters().events + 200_000);
    sim.run_for(1_000);
    let sent_by_0 = sim
        .frame_log()
        .iter()
        .filter(|f| f.from == 0 && f.at < start + 1_000)
        .count();
    let setups = sim
        .event_log()
        .iter()
        .filter(|(_, n, e)| {
            *n == 0
                && matches!(
                    e,
                    protocol_core::node::Event::Session(
                        protocol_core::session::SessionEvent::SetupNeeded(_)
                    )
                )
        })
        .count();
    assert!(
        sent_by_0 < 100 && setups < 20,
        "node 0 sent {sent_by_0} frames and raised SetupNeeded {setups} times in the first \
         simulated second of one ping (ping delivered: {:?})",
        sim.pings()[0].delivered_at
    );
    assert!(sim.pings()[0].replied_at.is_some(), "{:?}", sim.pings()[0]);
}
