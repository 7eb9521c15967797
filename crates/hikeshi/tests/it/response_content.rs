//! Web content restore on a real directory: a baseline is promoted with the CLI, then the
//! server finds and repairs an overwrite, a deletion, a web shell, a symlink swapped in for a
//! page (the file it points to stays as it was), a 5 MB file rewritten while a reader reads it,
//! a change made while it was stopped; it refuses to restore from a damaged copy, and a
//! promoted baseline makes a deploy stick.

use crate::common::{temp_dir, Db, TestServer};
use reqwest::Method;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const INDEX: &[u8] = b"<html><body>Welcome to Example Corp</body></html>\n";
const STYLE: &[u8] = b"body { color: #222; }\n";

struct Site {
    root: PathBuf,
    store: PathBuf,
    quarantine: PathBuf,
    outside: PathBuf,
    big: Vec<u8>,
}

fn site() -> Site {
    let dir = temp_dir("content-site");
    let root = dir.join("www");
    std::fs::create_dir_all(root.join("css")).expect("root");
    std::fs::write(root.join("index.html"), INDEX).expect("index");
    std::fs::write(root.join("css/site.css"), STYLE).expect("css");
    std::fs::set_permissions(
        root.join("css/site.css"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    let big: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("big.bin"), &big).expect("big");
    let outside = dir.join("outside.txt");
    std::fs::write(&outside, b"not part of the site\n").expect("outside");
    Site {
        store: dir.join("baseline"),
        quarantine: dir.join("quarantine"),
        root,
        outside,
        big,
    }
}

fn config(site: &Site) -> String {
    let path = temp_dir("content-config").join("hikeshi.toml");
    std::fs::write(
        &path,
        format!(
            "[[response.content]]\nname = \"www\"\nroot = \"{}\"\nstore = \"{}\"\nquarantine = \"{}\"\nscan_every_ms = 200\n",
            site.root.display(),
            site.store.display(),
            site.quarantine.display()
        ),
    )
    .expect("config");
    path.display().to_string()
}

async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn quarantined_with(site: &Site, bytes: &[u8]) -> bool {
    std::fs::read_dir(&site.quarantine)
        .map(|items| items.flatten().any(|i| read(&i.path()) == bytes))
        .unwrap_or(false)
}

async fn alerts(s: &TestServer, token: &str) -> Vec<Value> {
    let (st, v) = s
        .json(Method::GET, "/api/v1/alerts?limit=200", token, None)
        .await;
    assert!(st.is_success(), "{v}");
    v.as_array()
        .cloned()
        .or_else(|| v["alerts"].as_array().cloned())
        .unwrap_or_default()
}

fn promote(s: &TestServer, config: &str) -> (bool, String, String) {
    s.cli(
        &[
            "response",
            "baseline",
            "--content",
            "www",
            "--config",
            config,
        ],
        "",
    )
}

#[tokio::test]
async fn tampered_web_content_is_restored_quarantined_and_reported() {
    let site = site();
    let config = config(&site);
    let mut s = TestServer::start(Db::Sqlite, "content", &["--config", &config]).await;
    let (ok, out, err) = promote(&s, &config);
    assert!(ok, "baseline: {out}{err}");
    assert!(out.contains("3 files"), "{out}");
    s.add_user("ops", "handler");
    let token = s.token("ops");

    // Overwritten: restored byte for byte; the tampered bytes are kept.
    std::fs::write(site.root.join("index.html"), b"hacked by nobody").expect("deface");
    until("index.html restored", Duration::from_secs(3), || {
        read(&site.root.join("index.html")) == INDEX
    })
    .await;
    assert!(
        quarantined_with(&site, b"hacked by nobody"),
        "the tampered bytes are evidence"
    );

    // Deleted: back, with its mode.
    std::fs::remove_file(site.root.join("css/site.css")).expect("delete");
    until("site.css restored", Duration::from_secs(3), || {
        read(&site.root.join("css/site.css")) == STYLE
    })
    .await;
    let mode = std::fs::metadata(site.root.join("css/site.css"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);

    // A web shell: moved to quarantine, not deleted.
    let shell = b"<?php system($_GET['c']); ?>";
    std::fs::write(site.root.join("shell.php"), shell).expect("shell");
    until("shell.php gone", Duration::from_secs(3), || {
        !site.root.join("shell.php").exists()
    })
    .await;
    assert!(quarantined_with(&site, shell));

    // A symlink swapped in for the page: replaced by the page; the file it pointed to is
    // byte-identical.
    let before = read(&site.outside);
    std::fs::remove_file(site.root.join("index.html")).expect("rm");
    std::os::unix::fs::symlink(&site.outside, site.root.join("index.html")).expect("symlink");
    until("the symlink replaced", Duration::from_secs(3), || {
        std::fs::symlink_metadata(site.root.join("index.html")).is_ok_and(|m| m.is_file())
    })
    .await;
    assert_eq!(read(&site.root.join("index.html")), INDEX);
    assert_eq!(
        read(&site.outside),
        before,
        "the file outside the root is untouched"
    );

    // 5 MB rewritten while a reader reads it 1,000 times: every read is whole, old or new.
    let tampered: Vec<u8> = vec![b'x'; 5 * 1024 * 1024];
    let big = site.root.join("big.bin");
    let (good, bad) = (site.big.clone(), tampered.clone());
    let reader_path = big.clone();
    let reader = std::thread::spawn(move || {
        let mut mixed = 0;
        for _ in 0..1000 {
            let bytes = read(&reader_path);
            if bytes != good && bytes != bad {
                mixed += 1;
            }
        }
        mixed
    });
    let temp = site.root.join(".swap-tmp");
    std::fs::write(&temp, &tampered).expect("tampered big");
    std::fs::rename(&temp, &big).expect("swap in");
    until("big.bin restored", Duration::from_secs(5), || {
        read(&big) == site.big
    })
    .await;
    assert_eq!(reader.join().expect("reader"), 0, "no read saw a mix");

    // The alerts say what happened.
    let rules: Vec<String> = alerts(&s, &token)
        .await
        .iter()
        .filter_map(|a| a["rule_id"].as_str().map(str::to_string))
        .collect();
    for want in [
        "hikeshi:content-restored",
        "hikeshi:content-restored-missing",
        "hikeshi:content-quarantined",
    ] {
        assert!(rules.iter().any(|r| r == want), "{want} in {rules:?}");
    }

    // Changed while hikeshi was stopped: found at start-up.
    s.signal_and_wait("TERM");
    std::fs::write(
        site.root.join("index.html"),
        b"defaced while nobody watched",
    )
    .expect("deface");
    s.spawn().await;
    until(
        "index.html restored after the restart",
        Duration::from_secs(3),
        || read(&site.root.join("index.html")) == INDEX,
    )
    .await;

    // A deploy: stopped, changed, promoted — the new page stays.
    s.signal_and_wait("TERM");
    let deployed = b"<html><body>Welcome, new design</body></html>\n";
    std::fs::write(site.root.join("index.html"), deployed).expect("deploy");
    let (ok, out, err) = promote(&s, &config);
    assert!(ok, "{out}{err}");
    s.spawn().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        read(&site.root.join("index.html")),
        deployed,
        "a promoted change stays"
    );
    s.add_user("boss", "admin");
    let (st, audit) = s
        .json(
            Method::GET,
            "/api/v1/audit?object_type=content_baseline&limit=50",
            &s.token("boss"),
            None,
        )
        .await;
    assert!(st.is_success(), "{audit}");
    let promotions = audit
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["action"] == "content.baseline_promoted")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(promotions, 2, "both promotions are audited: {audit}");

    // A flipped byte in the known-good copy: found, and nothing is restored from it.
    let object = site
        .store
        .join("objects")
        .join(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(STYLE)));
    let mut damaged = read(&object);
    damaged[0] ^= 0x01;
    std::fs::write(&object, &damaged).expect("flip");
    std::fs::write(site.root.join("css/site.css"), b"body { display: none }").expect("tamper");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let found = alerts(&s, &token)
            .await
            .iter()
            .any(|a| a["rule_id"] == "hikeshi:content-baseline-damaged");
        if found {
            break;
        }
        assert!(Instant::now() < deadline, "a baseline-damaged alert");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        read(&site.root.join("css/site.css")),
        b"body { display: none }",
        "not restored from a damaged copy"
    );
    assert_ne!(read(&site.root.join("css/site.css")), damaged);
}
