//! What a hostile outsider tried (issue 18), each as a test that failed before its fix.

use crate::common::{Db, TestServer, PASSWORD};
use reqwest::StatusCode;

/// The `Location` of a form post sent with exactly these bytes as its body.
async fn location_after(s: &TestServer, path: &str, body: &str) -> String {
    let r = s
        .client
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path} {body}");
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn login_and_language_never_redirect_off_site() {
    let s = TestServer::start(Db::Sqlite, "hard_redirect", &[]).await;
    s.add_user("hana", "handler");
    for next in [
        "/%09/evil.example/x",
        "/%0A/evil.example/x",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "https%3A%2F%2Fevil.example",
    ] {
        let to = location_after(&s, "/lang", &format!("lang=en&next={next}")).await;
        assert_eq!(to, "/cases", "/lang with next={next}");
        let login = format!("username=hana&password={PASSWORD}&next={next}");
        let to = location_after(&s, "/login", &login).await;
        assert_eq!(to, "/cases", "/login with next={next}");
    }
    // A path on this site is still followed.
    let to = location_after(&s, "/lang", "lang=ja&next=%2Freports%3Fstatus%3Dnew").await;
    assert_eq!(to, "/reports?status=new");
}
