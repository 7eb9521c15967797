//! The point of contact through the real binary: the API intake and triage, the public report
//! form with its protections, and security.txt.

use crate::common::{temp_dir, Db, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A config with a quick form (1 s minimum, 8-bit proof) and a small per-address limit.
fn config_file(name: &str) -> String {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("hikeshi.toml");
    std::fs::write(
        &path,
        "public_url = \"https://csirt.example.jp/\"\n[report_form]\npow_bits = 8\nmin_seconds = 1\nper_hour = 4\nmax_attachments = 2\nmax_attachment_bytes = 100000\n",
    )
    .expect("config");
    path.display().to_string()
}

async fn start(db: Db, name: &str) -> TestServer {
    let config = config_file(name);
    let s = TestServer::start(db, name, &["--config", &config]).await;
    s.add_user("root", "admin");
    s.add_user("hana", "handler");
    s.add_user("vic", "viewer");
    s
}

async fn api_intake_and_triage(db: Db) {
    let s = start(db, "intake_api").await;
    let handler = s.token("hana");
    let viewer = s.token("vic");

    let (st, filed) = s
        .json(Method::POST, "/api/v1/reports", &viewer, Some(json!({
            "subject": "フィッシングサイトの報告",
            "body": "弊社を騙るフィッシングサイト hxxps://login-example[.]com/verify を見つけました。送信元 198.51.100.7",
            "reporter_contact": "Reporter@Example.JP", "lang": "ja"})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{filed}");
    let tracking = filed["tracking"].as_str().unwrap_or_default().to_string();
    assert!(
        tracking.starts_with("HK-") && tracking.len() == 17,
        "{tracking}"
    );
    assert_eq!(filed["suggested_category"], "phishing_site");

    // A second report with the same URL is offered as a duplicate.
    let (_, second) = s
        .json(Method::POST, "/api/v1/reports", &viewer, Some(json!({
            "subject": "Phishing", "body": "https://login-example.com/verify again", "lang": "en"})))
        .await;
    let (st, view) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{tracking}"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{view}");
    assert_eq!(
        view["report"]["reporter_contact"], "Reporter@example.jp",
        "domain folded, local part kept"
    );
    let observables: Vec<String> = view["observables"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    format!(
                        "{}:{}",
                        o["kind"].as_str().unwrap_or(""),
                        o["value"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for want in [
        "url:https://login-example.com/verify",
        "domain:login-example.com",
        "ip:198.51.100.7",
    ] {
        assert!(
            observables.contains(&want.to_string()),
            "{want} in {observables:?}"
        );
    }
    assert!(view["report"]["suggestion_reason_ja"]
        .as_str()
        .unwrap_or("")
        .contains("フィッシング"));
    let dups = view["duplicates"].as_array().cloned().unwrap_or_default();
    assert!(
        dups.iter().any(|d| d["tracking"] == second["tracking"]),
        "{view}"
    );

    // Bad input names the field.
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            &viewer,
            Some(json!({"subject": "", "body": "x"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("subject"))
    );
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            &viewer,
            Some(json!({"subject": "x", "body": "y", "reporter_contact": "a@b@c"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reporter_contact"))
    );
    let (st, _) = s
        .json(Method::GET, "/api/v1/reports", "hks_wrong", None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The queue lists new reports; a viewer may not decide.
    let (_, queue) = s
        .json(Method::GET, "/api/v1/reports?status=new", &viewer, None)
        .await;
    assert_eq!(queue.as_array().map(|a| a.len()), Some(2), "{queue}");
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{tracking}/case"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Open a case: pre-filled, indicators copied, the report linked.
    let (st, case) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{tracking}/case"),
            &handler,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    assert_eq!(case["title"], "フィッシングサイトの報告");
    assert_eq!(case["category"], "phishing_site");
    let number = case["number"].as_str().unwrap_or_default().to_string();
    let (_, detail) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}"),
            &viewer,
            None,
        )
        .await;
    let case_obs = detail["observables"]
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    assert!(case_obs >= 3, "{detail}");
    assert!(
        detail["timeline"].to_string().contains(&tracking),
        "{detail}"
    );
    let (_, view) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{tracking}"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(view["report"]["status"], "case");
    assert_eq!(view["case_number"], number.as_str());
    // A decided report cannot be decided again.
    let (st, e) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{tracking}/spam"),
            &handler,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");

    // The second report joins the same case; a third is rejected with a reason.
    let t2 = second["tracking"].as_str().unwrap_or_default();
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{t2}/attach"),
            &handler,
            Some(json!({"case": number})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, third) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            &viewer,
            Some(json!({"subject": "ask", "body": "Can you fix my printer?"})),
        )
        .await;
    let t3 = third["tracking"].as_str().unwrap_or_default();
    let (st, e) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{t3}/reject"),
            &handler,
            Some(json!({"reason": ""})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason"))
    );
    let (st, r) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{t3}/reject"),
            &handler,
            Some(json!({"reason": "Out of scope: IT help desk"})),
        )
        .await;
    assert_eq!(
        (st, r["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
}

/// The reporter's name, organisation and address stay with the report: the case text and the
/// JPCERT/CC and IPA drafts made from it hold them only when the handler asks.
async fn personal_data_stays_with_the_report(db: Db) {
    let s = start(db, "intake_personal").await;
    let handler = s.token("hana");
    let file = |subject: &str| {
        json!({"subject": subject, "body": "不審なメールを受信しました。送信元 198.51.100.7",
            "reporter_name": "佐藤 一郎", "reporter_org": "株式会社サンプル",
            "reporter_contact": "ichiro.sato@example.jp", "lang": "ja"})
    };
    let personal = ["佐藤", "ichiro.sato", "株式会社サンプル"];
    let mut texts = Vec::new();
    for (subject, query) in [("一通目", ""), ("二通目", "?include_reporter=true")] {
        let (st, filed) = s
            .json(
                Method::POST,
                "/api/v1/reports",
                &handler,
                Some(file(subject)),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{filed}");
        let tracking = filed["tracking"].as_str().unwrap_or_default().to_string();
        let (st, case) = s
            .json(
                Method::POST,
                &format!("/api/v1/reports/{tracking}/case{query}"),
                &handler,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{case}");
        let number = case["number"].as_str().unwrap_or_default().to_string();
        let (_, detail) = s
            .json(
                Method::GET,
                &format!("/api/v1/cases/{number}"),
                &handler,
                None,
            )
            .await;
        let mut text = format!("{}\n{}", detail["case"]["description"], detail["timeline"]);
        for (form, lang) in [("jpcert", "ja"), ("ipa", "en")] {
            let (st, draft) = s
                .json(
                    Method::GET,
                    &format!("/api/v1/cases/{number}/outbound-report?form={form}&lang={lang}"),
                    &handler,
                    None,
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{draft}");
            let draft = draft["text"].as_str().unwrap_or_default();
            // Codes are spelled out in the draft's language (重大度: 中, not `medium`).
            let severity = draft
                .lines()
                .find_map(|l| l.strip_prefix("重大度: ").or(l.strip_prefix("Severity: ")))
                .unwrap_or_default();
            let words: &[&str] = if lang == "ja" {
                &["緊急", "高", "中", "低"]
            } else {
                &["Critical", "High", "Medium", "Low"]
            };
            assert!(
                words.contains(&severity),
                "severity `{severity}` in {draft}"
            );
            text.push_str(draft);
        }
        assert!(text.contains(&tracking), "the report is named: {text}");
        texts.push(text);
    }
    for p in personal {
        assert!(
            !texts[0].contains(p),
            "`{p}` copied without being asked: {}",
            texts[0]
        );
        assert!(
            texts[1].contains(p),
            "`{p}` asked for but missing: {}",
            texts[1]
        );
    }
    assert!(texts[0].contains("kept with report"), "{}", texts[0]);
}

#[tokio::test]
async fn personal_data_stays_with_the_report_on_sqlite() {
    personal_data_stays_with_the_report(Db::Sqlite).await;
}

#[tokio::test]
async fn personal_data_stays_with_the_report_on_postgres() {
    personal_data_stays_with_the_report(Db::Postgres).await;
}

#[tokio::test]
async fn api_intake_on_sqlite() {
    api_intake_and_triage(Db::Sqlite).await;
}

#[tokio::test]
async fn api_intake_on_postgres() {
    api_intake_and_triage(Db::Postgres).await;
}

/// The hidden challenge and the proof-of-work difficulty of the form page.
fn challenge_of(html: &str) -> (String, u32) {
    let value = |marker: &str| {
        html.split(marker)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let challenge = value("id=\"challenge\" value=\"");
    let bits = value("data-bits=\"").parse().unwrap_or(0);
    (challenge, bits)
}

fn solve(challenge: &str, bits: u32) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| {
            let d = Sha256::digest(format!("{challenge}:{n}").as_bytes());
            let mut zeros = 0;
            for b in d.iter() {
                if *b == 0 {
                    zeros += 8;
                } else {
                    zeros += b.leading_zeros();
                    break;
                }
            }
            zeros >= bits
        })
        .unwrap_or_default()
}

fn report_form(challenge: &str, proof: &str, subject: &str) -> Form {
    Form::new()
        .text("lang", "ja")
        .text("challenge", challenge.to_string())
        .text("proof", proof.to_string())
        .text("website", "")
        .text("reporter_name", "山田 太郎")
        .text("reporter_contact", "taro@example.jp")
        .text("subject", subject.to_string())
        .text(
            "body",
            "当社のWebサイトが改ざんされています。トップページに不審な文字列。",
        )
        .text("tlp", "amber")
}

async fn page(s: &TestServer, path: &str) -> String {
    s.req(Method::GET, path, None)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default()
}

async fn form_page(s: &TestServer) -> (String, u32) {
    let html = page(s, "/report?lang=ja").await;
    assert!(html.contains("インシデントの報告"), "{html}");
    challenge_of(&html)
}

async fn post_form(s: &TestServer, form: Form) -> (StatusCode, String) {
    let r = s
        .req(Method::POST, "/report", None)
        .multipart(form)
        .send()
        .await
        .expect("post");
    (r.status(), r.text().await.unwrap_or_default())
}

fn tracking_in(html: &str) -> String {
    html.split("id=\"tracking\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default()
        .to_string()
}

/// How many reports are stored, whatever their state.
async fn count(s: &TestServer, token: &str) -> usize {
    let (_, list) = s
        .json(Method::GET, "/api/v1/reports?limit=500", token, None)
        .await;
    list.as_array().map(|a| a.len()).unwrap_or(0)
}

#[tokio::test]
async fn public_form_protections_and_attachments() {
    let s = start(Db::Sqlite, "intake_form").await;
    let viewer = s.token("vic");

    // Too fast: refused, and what was typed comes back.
    let (challenge, bits) = form_page(&s).await;
    assert_eq!(bits, 8);
    let proof = solve(&challenge, bits);
    let (st, html) = post_form(&s, report_form(&challenge, &proof, "速すぎる送信")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(html.contains("送信が早すぎます"), "{html}");
    assert!(
        html.contains("value=\"速すぎる送信\""),
        "typed subject kept"
    );

    // After the delay, with a proof and an attachment with a hostile name: accepted.
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let proof = solve(&challenge, bits);
    let bytes = b"GIF89a defaced page capture".to_vec();
    let form = report_form(&challenge, &proof, "Webサイト改ざん").part(
        "attachment",
        Part::bytes(bytes.clone()).file_name("../../etc/passwd"),
    );
    let (st, html) = post_form(&s, form).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let tracking = tracking_in(&html);
    assert!(tracking.starts_with("HK-"), "{html}");
    assert!(
        html.contains("ご連絡先に、受付の確認"),
        "the next steps are shown: {html}"
    );
    let (_, view) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{tracking}"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(view["report"]["source"], "form");
    assert_eq!(view["report"]["suggested_category"], "web_defacement");
    assert_eq!(view["attachments"][0]["file_name"], "passwd");
    assert_eq!(
        view["attachments"][0]["sha256"],
        hex::encode(Sha256::digest(&bytes))
    );

    // The same challenge twice: refused.
    let (st, _) = post_form(&s, report_form(&challenge, &proof, "again")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // A wrong proof: refused.
    let (challenge, _) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, html) = post_form(&s, report_form(&challenge, "not-a-proof", "x")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{html}");

    // A filled honeypot looks accepted but stores nothing.
    let before = count(&s, &viewer).await;
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let bot = report_form(&challenge, &solve(&challenge, bits), "bot")
        .text("website", "http://spam.example");
    let (st, html) = post_form(&s, bot).await;
    assert_eq!(st, StatusCode::OK);
    assert!(tracking_in(&html).starts_with("HK-"));
    assert_eq!(
        count(&s, &viewer).await,
        before,
        "nothing stored for the bot"
    );

    // 10,000 fields: refused without storing anything.
    // Written out by hand: a client-side form of 10,000 parts is itself too deep to build.
    let boundary = "floodfloodflood";
    let mut body = String::new();
    for n in 0..10_000 {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"f{n}\"\r\n\r\nx\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let r = s
        .req(Method::POST, "/report", None)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("flood");
    let (st, html) = (r.status(), r.text().await.unwrap_or_default());
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("more than 40 fields"),
        "{}",
        &html[..html.len().min(500)]
    );
    // An attachment over the limit: 413 (once the form itself would pass).
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    let big = report_form(&challenge, &solve(&challenge, bits), "big").part(
        "attachment",
        Part::bytes(vec![7u8; 150_000]).file_name("big.bin"),
    );
    let (st, _) = post_form(&s, big).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count(&s, &viewer).await, before);

    // The per-address limit (4 an hour; one accepted above; refused and fake ones do not count): a
    // scripted flood is held back with 429.
    let mut statuses = Vec::new();
    for n in 0..5 {
        let (challenge, bits) = form_page(&s).await;
        tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
        let (st, _) = post_form(
            &s,
            report_form(&challenge, &solve(&challenge, bits), &format!("flood {n}")),
        )
        .await;
        statuses.push(st);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        3,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn security_txt_follows_rfc_9116() {
    let s = start(Db::Sqlite, "intake_securitytxt").await;
    let admin = s.token("root");
    let (st, _) = s
        .json(
            Method::PUT,
            "/api/v1/team",
            &admin,
            Some(json!({
            "team_name": "Example CSIRT", "contact_email": "csirt@example.jp",
            "pgp_key_url": "https://csirt.example.jp/pgp.asc", "languages": "ja, en",
            "services_offered": "incident_report_acceptance\nincident_coordination",
            "services_not_offered": "vulnerability_disclosure"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = s
        .json(
            Method::PUT,
            "/api/v1/team",
            &admin,
            Some(json!({"favourite_colour": "red"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("favourite_colour"))
    );
    let viewer = s.token("vic");
    let (st, _) = s
        .json(
            Method::PUT,
            "/api/v1/team",
            &viewer,
            Some(json!({"team_name": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let r = s
        .req(Method::GET, "/.well-known/security.txt", None)
        .send()
        .await
        .expect("security.txt");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/plain"));
    let text = r.text().await.unwrap_or_default();
    let fields: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let get = |k: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(
        get("Contact"),
        vec![
            "mailto:csirt@example.jp".to_string(),
            "https://csirt.example.jp/report".to_string()
        ]
    );
    assert_eq!(
        get("Encryption"),
        vec!["https://csirt.example.jp/pgp.asc".to_string()]
    );
    assert_eq!(get("Preferred-Languages"), vec!["ja, en".to_string()]);
    assert_eq!(
        get("Canonical"),
        vec!["https://csirt.example.jp/.well-known/security.txt".to_string()]
    );
    assert_eq!(
        get("Policy"),
        vec!["https://csirt.example.jp/report#scope".to_string()]
    );
    let expires = get("Expires");
    assert_eq!(expires.len(), 1, "exactly one Expires");
    let when = chrono::DateTime::parse_from_rfc3339(&expires[0]).expect("RFC 3339 Expires");
    let days = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!(
        (1..365).contains(&days),
        "Expires is in the future and less than a year away: {days}"
    );
    for line in text.lines() {
        assert!(line.contains(": "), "every line is a field: {line}");
    }
    // The legacy place redirects to the well-known one.
    let r = s
        .req(Method::GET, "/security.txt", None)
        .send()
        .await
        .expect("legacy");
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);

    // The API document describes the point of contact's routes.
    let spec: serde_json::Value = s
        .req(Method::GET, "/api/v1/openapi.json", None)
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for path in [
        "/api/v1/reports",
        "/api/v1/reports/{tracking}/case",
        "/api/v1/team",
        "/api/v1/mail",
        "/api/v1/contacts",
        "/api/v1/escalation",
        "/api/v1/cases/{number}/notify",
        "/api/v1/cases/{number}/outbound-report",
        "/api/v1/cases",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    assert!(spec["components"]["schemas"].get("Report").is_some());
    assert!(
        spec["components"]["schemas"].get("CreateCase").is_some(),
        "the first part is kept"
    );

    // The public page shows the scope beside the form.
    let html = page(&s, "/report?lang=en").await;
    assert!(
        html.contains("Report an incident — Example CSIRT"),
        "{html}"
    );
    assert!(html.contains("Information security incident coordination"));
    assert!(html.contains("Vulnerability disclosure"));
}

/// Every file under the evidence folder, the temporary one included.
fn evidence_files(s: &TestServer) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![s.data_dir.join("evidence")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A proof that does not hold for `challenge` at `bits`.
fn wrong_proof(challenge: &str, bits: u32) -> String {
    let good = solve(challenge, bits);
    (0u64..)
        .map(|n| format!("x{n}"))
        .find(|p| {
            let d = Sha256::digest(format!("{challenge}:{p}").as_bytes());
            *p != good && d[0] != 0
        })
        .unwrap_or_default()
}

fn with_attachment(form: Form, bytes: Vec<u8>) -> Form {
    form.part("attachment", Part::bytes(bytes).file_name("sample.bin"))
}

#[tokio::test]
async fn refused_and_bot_forms_leave_no_files_behind() {
    let s = start(Db::Sqlite, "intake_disk").await;
    let sample = |n: u8| vec![n; 50_000];

    // A wrong proof of work: refused before the attachment is read.
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let form = report_form(&challenge, &wrong_proof(&challenge, bits), "x");
    let (st, _) = post_form(&s, with_attachment(form, sample(1))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(evidence_files(&s).is_empty(), "{:?}", evidence_files(&s));

    // A bot (the honeypot filled) is told it succeeded and nothing is kept.
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let form = report_form(&challenge, &solve(&challenge, bits), "bot")
        .text("website", "https://spam.example/");
    let (st, html) = post_form(&s, with_attachment(form, sample(2))).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!tracking_in(&html).is_empty(), "the bot sees a number");
    assert!(evidence_files(&s).is_empty(), "{:?}", evidence_files(&s));

    // Admitted, but the report itself is refused (no subject): its file goes too.
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let form = report_form(&challenge, &solve(&challenge, bits), " ");
    let (st, _) = post_form(&s, with_attachment(form, sample(3))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(evidence_files(&s).is_empty(), "{:?}", evidence_files(&s));

    // A real report keeps its attachment, once.
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let form = report_form(&challenge, &solve(&challenge, bits), "改ざんの報告");
    let (st, html) = post_form(&s, with_attachment(form, sample(4))).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let kept = evidence_files(&s);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        kept[0]
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        Some(hex::encode(Sha256::digest(sample(4))))
    );
}

/// Backdates a file's modification time by `hours`.
fn age(path: &std::path::Path, hours: u32) {
    let ok = std::process::Command::new("touch")
        .arg("-d")
        .arg(format!("{hours} hours ago"))
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "touch -d");
}

#[tokio::test]
async fn files_no_record_points_to_are_swept_at_start() {
    let mut s = start(Db::Sqlite, "intake_sweep").await;
    let (challenge, bits) = form_page(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let form = report_form(&challenge, &solve(&challenge, bits), "添付つきの報告");
    let (st, _) = post_form(&s, with_attachment(form, vec![7u8; 1000])).await;
    assert_eq!(st, StatusCode::OK);
    let kept = evidence_files(&s);
    assert_eq!(kept.len(), 1);
    age(&kept[0], 48);

    // Left by a kill mid-upload, and by the old form before its fix.
    let evidence = s.data_dir.join("evidence");
    let stale_tmp = evidence.join("tmp").join("01KILLEDMIDUPLOAD");
    std::fs::create_dir_all(stale_tmp.parent().expect("tmp")).expect("tmp dir");
    std::fs::write(&stale_tmp, b"half a file").expect("tmp file");
    age(&stale_tmp, 2);
    let fresh_tmp = evidence.join("tmp").join("01UPLOADINGRIGHTNOW");
    std::fs::write(&fresh_tmp, b"in progress").expect("tmp file");
    let orphan_sha = hex::encode(Sha256::digest(b"orphan"));
    let orphan = evidence.join(&orphan_sha[..2]).join(&orphan_sha);
    std::fs::create_dir_all(orphan.parent().expect("dir")).expect("dir");
    std::fs::write(&orphan, b"orphan").expect("orphan");
    age(&orphan, 48);

    assert!(s.signal_and_wait("TERM").success());
    s.spawn().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (stale_tmp.exists() || orphan.exists()) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!stale_tmp.exists(), "a stale temporary file is removed");
    assert!(!orphan.exists(), "a file no record points to is removed");
    assert!(fresh_tmp.exists(), "an upload in progress is left alone");
    assert!(kept[0].exists(), "the report's attachment stays");
}
