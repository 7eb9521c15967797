//! Two-step login (TOTP, RFC 6238) through the login form, with codes made by `oathtool`
//! (Debian's OATH Toolkit, an implementation of its own): a role that requires it sets it up
//! at the next login before any session exists, a code works once, five wrong codes end the
//! waiting login, a recovery code works once, other roles log in with the password alone, and
//! the CLI removes a lost factor.

use crate::common::{temp_dir, Db, TestServer, PASSWORD};
use reqwest::{Response, StatusCode};
use std::process::Command;

fn oathtool(secret: &str, offset_s: i64) -> String {
    let out = Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            secret,
            "-N",
            &format!("now + {offset_s} seconds"),
        ])
        .output()
        .expect("oathtool is missing: scripts/test-deps installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The text between `start` and the next `end` after it.
fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(html[from..from + len].to_string())
}

fn has_session(r: &Response) -> bool {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("hikeshi_session=") && !c.starts_with("hikeshi_session=;"))
}

async fn password(s: &TestServer, user: &str) -> Response {
    s.client
        .post(format!("{}/login", s.base))
        .header("origin", &s.base)
        .form(&[("username", user), ("password", PASSWORD)])
        .send()
        .await
        .expect("login")
}

async fn code(s: &TestServer, pending: &str, code: &str) -> Response {
    s.client
        .post(format!("{}/login/code", s.base))
        .header("origin", &s.base)
        .form(&[("pending", pending), ("code", code)])
        .send()
        .await
        .expect("code")
}

/// The password step: no session yet, and the page's pending token (and secret, at a set-up).
async fn after_password(s: &TestServer, user: &str) -> (String, Option<String>) {
    let r = password(s, user).await;
    assert_eq!(r.status(), StatusCode::OK, "a second step, not a session");
    assert!(!has_session(&r), "no session before the second factor");
    let html = r.text().await.expect("page");
    let pending = between(&html, "name=\"pending\" value=\"", "\"").expect("pending token");
    let secret = between(&html, "id=\"totp-secret\">", "</code>").map(|s| s.replace(' ', ""));
    (pending, secret)
}

#[tokio::test]
async fn two_step_login_with_totp_and_recovery_codes() {
    let dir = temp_dir("second-factor");
    let config = dir.join("hikeshi.toml");
    std::fs::write(&config, "[auth]\nsecond_factor_roles = [\"admin\"]\n").expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "second-factor",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("root", "admin");
    s.add_user("hana", "handler");

    // A handler's role does not require it: the password is enough.
    let r = password(&s, "hana").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(has_session(&r));

    // The admin must set it up first: the page shows a secret; a wrong code is refused.
    let (pending, secret) = after_password(&s, "root").await;
    let secret = secret.expect("a set-up page with the secret");
    assert_eq!(
        code(&s, &pending, "000000").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let first = oathtool(&secret, 0);
    let r = code(&s, &pending, &first).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(has_session(&r), "signed in once the factor is confirmed");
    let html = r.text().await.expect("codes");
    let recovery: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .filter_map(|p| p.split("</code>").next().map(str::to_string))
        .collect();
    assert_eq!(recovery.len(), 10, "{html}");
    let (ok, out, _) = s.cli(&["user", "list"], "");
    assert!(
        ok && out
            .lines()
            .any(|l| l.starts_with("root") && l.contains(" on ")),
        "{out}"
    );

    // A code form posted from another site is refused (login CSRF).
    let (pending, _) = after_password(&s, "root").await;
    let forged = s
        .client
        .post(format!("{}/login/code", s.base))
        .header("origin", "https://evil.example")
        .form(&[("pending", pending.as_str()), ("code", "000000")])
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // The next login asks for a code; the one already used does not work again.
    let (pending, secret_again) = after_password(&s, "root").await;
    assert!(secret_again.is_none(), "a code page, not a new set-up");
    assert_eq!(
        code(&s, &pending, &first).await.status(),
        StatusCode::UNAUTHORIZED,
        "a code is good once"
    );
    // The next step's code (within the one step of skew) does.
    let r = code(&s, &pending, &oathtool(&secret, 30)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(has_session(&r));

    // Five wrong codes end the waiting login: even a right code then gets the login page.
    let (pending, _) = after_password(&s, "root").await;
    for _ in 0..5 {
        assert_eq!(
            code(&s, &pending, "123456").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = code(&s, &pending, &recovery[0]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!has_session(&r));

    // A recovery code works once, in any case and with or without its dash.
    let (pending, _) = after_password(&s, "root").await;
    let r = code(&s, &pending, &recovery[0].to_uppercase().replace('-', "")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(has_session(&r));
    let (pending, _) = after_password(&s, "root").await;
    assert_eq!(
        code(&s, &pending, &recovery[0]).await.status(),
        StatusCode::UNAUTHORIZED,
        "a recovery code is good once"
    );

    // A lost phone: the CLI removes the factor, and the role makes the admin set it up again.
    let (ok, _, err) = s.cli(&["user", "reset-second-factor", "root"], "");
    assert!(ok, "{err}");
    let (_, secret) = after_password(&s, "root").await;
    assert!(secret.is_some(), "set up again at the next login");
}

/// Issue 19, item 9: settings say what they did, and English does not move the clock: a user
/// who chose no zone sees the team's (+09:00 by default) in either language.
#[tokio::test]
async fn settings_confirm_and_english_keeps_the_team_zone() {
    let s = TestServer::start(Db::Sqlite, "settings", &[]).await;
    s.add_user("hana", "handler");
    let (cookie, csrf) = crate::common::browser_login(&s, "hana", PASSWORD)
        .await
        .expect("login");
    let page = |lang: &'static str| {
        let cookie = cookie.clone();
        let s = &s;
        async move {
            s.client
                .get(format!("{}/settings", s.base))
                .header("cookie", format!("{cookie}; hikeshi_lang={lang}"))
                .header("accept-language", lang)
                .send()
                .await
                .expect("settings")
                .text()
                .await
                .expect("html")
        }
    };
    for lang in ["ja", "en"] {
        let html = page(lang).await;
        assert!(
            html.contains("<option value=\"Asia/Tokyo\" selected>"),
            "{lang}: {html}"
        );
    }
    let saved = s
        .client
        .post(format!("{}/settings", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("lang", "en"),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .expect("save");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let to = saved
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    let html = s
        .client
        .get(format!("{}{to}", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("settings")
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"settings-saved\""), "{html}");
    assert!(html.contains("<option value=\"UTC\" selected>"), "{html}");
}
