//! The SFU end to end on loopback: a real driver on a real UDP socket, str0m clients as
//! synthetic browsers (ICE, DTLS-SRTP, RTCP all real), and the signalling relayed by the test.
//! Payloads are numbered opaque bytes, as SFrame ciphertext is to the SFU, so every test can
//! check that what arrives is exactly what was sent, by whom.

mod client;

use std::time::{Duration, Instant};

use client::{Mesh, Received};
use sfu::{ParticipantId, RemovalReason, TrackKind};

const AV: &[TrackKind] = &[TrackKind::Audio, TrackKind::Camera];
const ALL: &[TrackKind] = &[TrackKind::Audio, TrackKind::Camera, TrackKind::ScreenShare];
const CONNECT: Duration = Duration::from_secs(10);

/// Two clients that publish audio and video, connected and subscribed to each other.
async fn pair() -> Mesh {
    let mut mesh = Mesh::start().await;
    mesh.join(1, AV).await;
    mesh.join(2, AV).await;
    assert!(
        mesh.run_until(CONNECT, |m| m.clients.iter().all(|c| c.connected))
            .await,
        "both clients connect"
    );
    // Each has one server offer answered (the other's two tracks) once packets flow; stream
    // until both directions deliver.
    let mut flowing = false;
    for _ in 0..250 {
        mesh.stream(1).await;
        if mesh.client(1).intact_from(2, TrackKind::Camera) > 0
            && mesh.client(2).intact_from(1, TrackKind::Camera) > 0
            && mesh.client(1).intact_from(2, TrackKind::Audio) > 0
            && mesh.client(2).intact_from(1, TrackKind::Audio) > 0
        {
            flowing = true;
            break;
        }
    }
    assert!(flowing, "media flows both ways");
    mesh
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_publishers_receive_each_others_audio_and_video_byte_for_byte() {
    let mut mesh = pair().await;
    let before: Vec<usize> = [1, 2]
        .iter()
        .map(|&id| mesh.client(id).received.len())
        .collect();
    mesh.stream(50).await;
    mesh.run_for(Duration::from_millis(200)).await;

    for (receiver, sender) in [(1, 2), (2, 1)] {
        let client = mesh.client(receiver);
        let new = &client.received[before[receiver as usize - 1]..];
        for kind in [TrackKind::Audio, TrackKind::Camera] {
            let intact = new
                .iter()
                .filter(|r| {
                    r.stamp
                        .is_some_and(|s| s.sender == sender && s.kind == client::kind_byte(kind))
                })
                .count();
            // 50 sent on each track; loopback loses none, retransmission fills any gap.
            assert!(
                intact >= 48,
                "{receiver} got {intact} of 50 {kind:?} packets from {sender}"
            );
        }
        // Every packet a client received is intact and none is its own.
        assert!(new.iter().all(|r| r.stamp.is_some()), "payloads unchanged");
        assert!(
            new.iter().all(|r| r.stamp.unwrap().sender == sender),
            "only the other's packets"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_participant_gets_the_earlier_ones_tracks_through_a_server_offer() {
    let mut mesh = pair().await;
    let offers_before = mesh.offers;
    mesh.join(3, ALL).await;
    assert!(
        mesh.run_until(CONNECT, |m| m.clients[2].connected).await,
        "third connects"
    );
    let mut all_flowing = false;
    for _ in 0..250 {
        mesh.stream(1).await;
        let third = &mesh.clients[2];
        let first = &mesh.clients[0];
        if [1, 2].iter().all(|&s| {
            third.intact_from(s, TrackKind::Audio) > 0
                && third.intact_from(s, TrackKind::Camera) > 0
        }) && [TrackKind::Audio, TrackKind::Camera, TrackKind::ScreenShare]
            .iter()
            .all(|&k| first.intact_from(3, k) > 0)
        {
            all_flowing = true;
            break;
        }
    }
    assert!(
        all_flowing,
        "the third gets both earlier participants' tracks, and they get its three"
    );
    // The third got an offer for the four earlier tracks; each earlier one an offer for the
    // third's three.
    assert!(mesh.offers >= offers_before + 3, "server offers were made");
    // Four incoming m-lines at the third: two per earlier participant.
    let third = &mesh.clients[2];
    let mut mids: Vec<_> = third.received.iter().map(|r: &Received| r.mid).collect();
    mids.sort();
    mids.dedup();
    assert_eq!(mids.len(), 4, "one m-line per forwarded track");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_participant_receives_nothing_more_and_its_packets_reach_nobody() {
    let mut mesh = pair().await;
    mesh.join(3, AV).await;
    assert!(mesh.run_until(CONNECT, |m| m.clients[2].connected).await);
    mesh.stream(50).await;
    assert!(mesh.client(3).intact_from(2, TrackKind::Camera) > 0);

    assert!(mesh
        .sfu
        .remove(mesh.room, ParticipantId::from_u64(2))
        .await
        .unwrap());
    let removed_at = Instant::now();
    let datagrams_at_removal = mesh.client(2).datagrams;

    // Everyone keeps sending, the removed participant included.
    mesh.stream(50).await;
    mesh.run_for(Duration::from_millis(300)).await;

    assert_eq!(
        mesh.client(2).datagrams,
        datagrams_at_removal,
        "not one datagram reached the removed participant"
    );
    for receiver in [1, 3] {
        let late_from_removed = mesh
            .client(receiver)
            .received
            .iter()
            .filter(|r| r.at > removed_at && r.stamp.is_some_and(|s| s.sender == 2))
            .count();
        assert_eq!(
            late_from_removed, 0,
            "{receiver} got the removed one's packets"
        );
        // The others keep flowing.
        let other = if receiver == 1 { 3 } else { 1 };
        let late_from_other = mesh
            .client(receiver)
            .received
            .iter()
            .filter(|r| r.at > removed_at && r.stamp.is_some_and(|s| s.sender == other))
            .count();
        assert!(
            late_from_other > 50,
            "{receiver} still gets {other}'s packets"
        );
    }
    assert!(
        mesh.removed.is_empty(),
        "a removal asked for is not reported back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_packet_the_subscriber_lost_is_retransmitted_after_its_nack() {
    let mut mesh = pair().await;
    mesh.stream(10).await;
    let mid = mesh.client(2).incoming_mid(1, TrackKind::Camera).unwrap();
    let ssrc = mesh.client(2).incoming_ssrc(mid).unwrap();
    let last_seq = mesh
        .client(2)
        .received
        .iter()
        .rev()
        .find(|r| r.mid == mid)
        .unwrap()
        .seq;
    let lost_seq = last_seq.wrapping_add(5);
    mesh.client(2).drop_rule = Some((ssrc, lost_seq));

    mesh.stream(30).await;
    mesh.run_for(Duration::from_millis(500)).await;

    let subscriber = mesh.client(2);
    assert_eq!(
        subscriber.dropped, 1,
        "the test dropped the packet on arrival"
    );
    let repaired: Vec<&Received> = subscriber
        .received
        .iter()
        .filter(|r| r.mid == mid && r.seq == lost_seq)
        .collect();
    assert_eq!(repaired.len(), 1, "the lost packet arrived again, once");
    let stamp = repaired[0].stamp.expect("intact payload");
    assert_eq!(stamp.sender, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_frame_requests_reach_the_publisher_at_most_once_per_500_ms() {
    let mut mesh = pair().await;
    mesh.stream(10).await;
    let mid = mesh.client(2).incoming_mid(1, TrackKind::Camera).unwrap();
    // Let the limiter's window from the subscription's own request pass.
    mesh.stream(30).await;
    mesh.client(1).keyframe_requests.clear();

    // The subscriber asks every 10 ms for a second: 100 requests.
    let start = Instant::now();
    let mut asked = 0;
    while start.elapsed() < Duration::from_secs(1) {
        mesh.client(2).request_keyframe(mid);
        asked += 1;
        mesh.send_round();
        mesh.run_for(Duration::from_millis(10)).await;
    }
    mesh.run_for(Duration::from_millis(100)).await;

    let reached = mesh.client(1).keyframe_requests.len();
    assert!(asked >= 50, "the subscriber asked {asked} times");
    assert!(
        (1..=3).contains(&reached),
        "{reached} of {asked} requests reached the publisher in about 1.1 s"
    );
    let times: Vec<Instant> = mesh
        .client(1)
        .keyframe_requests
        .iter()
        .map(|(at, _)| *at)
        .collect();
    for pair in times.windows(2) {
        // 500 ms at the SFU; a few ms of scheduling on either side.
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(450),
            "{:?}",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_connection_is_removed_and_the_others_keep_flowing() {
    let mut mesh = pair().await;
    mesh.join(3, AV).await;
    assert!(mesh.run_until(CONNECT, |m| m.clients[2].connected).await);
    mesh.stream(20).await;

    assert!(mesh
        .sfu
        .danger_panic_on_next_call_for_tests(mesh.room, ParticipantId::from_u64(2))
        .await
        .unwrap());
    // The next datagram from (or packet for) participant 2 panics inside its connection.
    mesh.stream(5).await;
    assert!(
        mesh.run_until(Duration::from_secs(2), |m| !m.removed.is_empty())
            .await,
        "the panic is reported"
    );
    assert_eq!(
        mesh.removed,
        vec![(ParticipantId::from_u64(2), RemovalReason::Panicked)]
    );
    let after = Instant::now();
    mesh.stream(50).await;

    for (receiver, sender) in [(1, 3), (3, 1)] {
        let late = mesh
            .client(receiver)
            .received
            .iter()
            .filter(|r| r.at > after && r.stamp.is_some_and(|s| s.sender == sender))
            .count();
        assert!(
            late >= 90,
            "{receiver} got {late} of 100 packets from {sender} after the panic"
        );
    }
    let datagrams = mesh.client(2).datagrams;
    mesh.run_for(Duration::from_millis(200)).await;
    assert_eq!(
        mesh.client(2).datagrams,
        datagrams,
        "the panicked one is cut off"
    );
}
