//! Host isolation across three network namespaces: the test's own (`unshare -rn`), which is
//! the host hikeshi isolates, and two peers it starts itself — the management network and a
//! LAN with a DNS resolver — joined to it by veth pairs. Each peer is a `sleep` in a network
//! namespace of its own, entered with `nsenter`; `socat` answers there.

use crate::common::{Db, TestServer};
use crate::response::{approve, inside_own_network, send, sh, ssh_line, wait_state, write_rules};
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FAILED_PASSWORD: &str = "6f1c6d2e-3b1a-4c53-9a55-0a7e1f3d2b10";

/// A network namespace held open by a process; everything started in it ends with it.
struct Peer {
    keeper: Child,
    servers: Vec<Child>,
}

impl Peer {
    /// A namespace joined to ours by a veth pair: `ours` and `theirs` are (v4, v6) addresses.
    fn start(link: &str, ours: (&str, &str), theirs: &[&str]) -> Peer {
        let keeper = Command::new("unshare")
            .args(["-n", "sleep", "600"])
            .spawn()
            .expect("unshare -n");
        let pid = keeper.id();
        let own = std::fs::read_link("/proc/self/ns/net").expect("own netns");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .ok()
            .as_ref()
            == Some(&own)
        {
            assert!(
                Instant::now() < deadline,
                "the peer namespace never appeared"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        sh(&format!(
            "ip link add {link}0 type veth peer name {link}1 netns {pid} && ip addr add {} dev {link}0 && ip -6 addr add {} dev {link}0 nodad && ip link set {link}0 up",
            ours.0, ours.1
        ));
        let mut inside = format!("ip link set lo up && ip link set {link}1 up");
        for addr in theirs {
            let family = if addr.contains(':') { "-6" } else { "-4" };
            let nodad = if addr.contains(':') { " nodad" } else { "" };
            inside.push_str(&format!(
                " && ip {family} addr add {addr} dev {link}1{nodad}"
            ));
        }
        sh(&format!("nsenter -t {pid} -n sh -c '{inside}'"));
        Peer {
            keeper,
            servers: Vec::new(),
        }
    }

    /// `socat` in the peer: `args` as socat takes them.
    fn serve(&mut self, args: &[&str]) {
        let pid = self.keeper.id().to_string();
        let child = Command::new("nsenter")
            .args(["-t", &pid, "-n", "socat"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat in the peer");
        self.servers.push(child);
    }

    /// Whether a TCP connection from the peer to `to` opens within a second.
    fn connects_to(&self, to: &str) -> bool {
        let pid = self.keeper.id().to_string();
        Command::new("nsenter")
            .args(["-t", &pid, "-n", "socat", "-T1", "/dev/null"])
            .arg(format!("{to},connect-timeout=1"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        for child in self
            .servers
            .iter_mut()
            .chain(std::iter::once(&mut self.keeper))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn connects(to: &str) -> bool {
    let to: SocketAddr = to.parse().expect("address");
    matches!(
        tokio::time::timeout(
            Duration::from_millis(700),
            tokio::net::TcpStream::connect(to)
        )
        .await,
        Ok(Ok(_))
    )
}

/// A DNS-sized UDP round trip to the resolver.
async fn resolver_answers(to: &str) -> bool {
    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0").await.expect("udp");
    if socket.send_to(b"\x12\x34query", to).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_millis(700), socket.recv_from(&mut buf)).await,
        Ok(Ok(_))
    )
}

/// Everything the test checks, from the host's side and from the LAN's.
async fn reach(lan: &Peer, host_port: u16) -> Vec<(&'static str, bool)> {
    vec![
        ("management v4", connects("192.0.2.2:22").await),
        ("management v6", connects("[2001:db8:1::2]:22").await),
        ("dns", resolver_answers("198.51.100.53:53").await),
        ("lan v4", connects("198.51.100.2:7").await),
        ("lan v6", connects("[2001:db8:2::2]:7").await),
        (
            "lan to host v4",
            lan.connects_to(&format!("TCP4:198.51.100.1:{host_port}")),
        ),
        (
            "lan to host v6",
            lan.connects_to(&format!("TCP6:[2001:db8:2::1]:{host_port}")),
        ),
    ]
}

#[tokio::test]
async fn an_isolated_host_keeps_management_and_dns_and_the_dead_man_takes_it_back() {
    if !inside_own_network(
        "response_isolation::an_isolated_host_keeps_management_and_dns_and_the_dead_man_takes_it_back",
    ) {
        return;
    }
    let mut mgmt = Peer::start(
        "hm",
        ("192.0.2.1/24", "2001:db8:1::1/64"),
        &["192.0.2.2/24", "2001:db8:1::2/64"],
    );
    mgmt.serve(&["TCP6-LISTEN:22,fork,reuseaddr", "PIPE"]);
    let mut lan = Peer::start(
        "hl",
        ("198.51.100.1/24", "2001:db8:2::1/64"),
        &["198.51.100.2/24", "198.51.100.53/24", "2001:db8:2::2/64"],
    );
    lan.serve(&["TCP6-LISTEN:7,fork,reuseaddr", "PIPE"]);
    // Bound to the resolver address, so that answers come from it, as a resolver's do.
    lan.serve(&["UDP4-RECVFROM:53,bind=198.51.100.53,fork", "PIPE"]);
    // Something on the host for the LAN to reach.
    let host_side = tokio::net::TcpListener::bind("[::]:0")
        .await
        .expect("listen");
    let host_port = host_side.local_addr().expect("addr").port();
    tokio::spawn(async move { while host_side.accept().await.is_ok() {} });

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let before = reach(&lan, host_port).await;
        if before.iter().all(|(_, ok)| *ok) {
            break;
        }
        assert!(Instant::now() < deadline, "before isolating: {before:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let dir = crate::common::temp_dir("isolation-config");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            r#"[response]
reconcile_every_ms = 200
lease_ms = 2000

[response.isolation]
host = "web1"
management = ["192.0.2.2/32", "2001:db8:1::2/128"]
dns = ["198.51.100.53/32"]
probe = "192.0.2.2:22"
probe_timeout_ms = 500
dead_man_failures = 2

[[response.policies]]
name = "contain"
when = {{ rule_ids = ["{FAILED_PASSWORD}"] }}
target = "host"
action = "isolate_host"
mode = "approve"
connector = "isolation"
ttl_secs = 120
"#
        ),
    )
    .expect("config");
    let rules = write_rules();
    let config = config.display().to_string();
    let s = TestServer::start(
        Db::Sqlite,
        "isolation",
        &["--rules", &rules, "--config", &config],
    )
    .await;
    s.add_user("ops", "handler");
    let token = s.token("ops");
    let shipper = s.ingest_token("ops");

    // An alert from another machine: this server does not isolate it, and says so at once.
    let elsewhere = ssh_line("Failed password", "203.0.113.8", 7).replace("\"web1\"", "\"db1\"");
    send(&s, &shipper, elsewhere).await;
    // The alert names host web1: an isolation waits for a person.
    send(&s, &shipper, ssh_line("Failed password", "203.0.113.9", 1)).await;
    let waiting = wait_state(
        &s,
        &token,
        "web1",
        "pending_approval",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(
        crate::response::actions_for(&s, &token, "db1").await.len(),
        0,
        "no action for a host this server cannot isolate"
    );
    assert!(reach(&lan, host_port).await.iter().all(|(_, ok)| *ok));
    let id = waiting["id"].as_str().expect("id").to_string();
    let (st, v) = approve(&s, &token, &id, &waiting["plan_hash"]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let active = wait_state(&s, &token, "web1", "active", Duration::from_secs(3)).await;
    assert!(
        active["connector_answer"]
            .as_str()
            .unwrap_or("")
            .contains("probe 192.0.2.2:22 connects"),
        "{active}"
    );
    let during = reach(&lan, host_port).await;
    let want = [
        ("management v4", true),
        ("management v6", true),
        ("dns", true),
        ("lan v4", false),
        ("lan v6", false),
        ("lan to host v4", false),
        ("lan to host v6", false),
    ];
    assert_eq!(during, want, "while isolated");
    assert!(sh("nft list tables").contains("inet hikeshi_isolate"));

    // The management route breaks: the dead-man takes the isolation back by itself.
    sh("ip route del 192.0.2.0/24 dev hm0");
    let failed = wait_state(&s, &token, "web1", "failed", Duration::from_secs(4)).await;
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap_or("")
            .starts_with("dead-man: management unreachable"),
        "{failed}"
    );
    assert!(!sh("nft list tables").contains("hikeshi_isolate"));
    assert!(
        connects("198.51.100.2:7").await,
        "the LAN is reachable again"
    );
    assert!(lan.connects_to(&format!("TCP4:198.51.100.1:{host_port}")));

    // While management is still unreachable, a new isolation is taken back as soon as it is
    // written: the probe right after isolating fails.
    send(&s, &shipper, ssh_line("Failed password", "203.0.113.9", 2)).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let second = loop {
        let all = crate::response::actions_for(&s, &token, "web1").await;
        if let Some(a) = all.iter().find(|a| a["id"] != id.as_str()) {
            break a.clone();
        }
        assert!(
            Instant::now() < deadline,
            "a new intent after a final failure: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let second_id = second["id"].as_str().expect("id");
    let (st, v) = approve(&s, &token, second_id, &second["plan_hash"]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let view = crate::response::action_view(&s, &token, second_id).await;
        if view["action"]["state"] == "failed" {
            assert!(
                view["action"]["last_error"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("dead-man"),
                "{view}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!sh("nft list tables").contains("hikeshi_isolate"));
    assert!(connects("198.51.100.2:7").await);
    drop((mgmt, lan));
}
