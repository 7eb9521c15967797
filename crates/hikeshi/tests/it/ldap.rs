//! Login against a real directory: Debian's slapd, started by the test on loopback with a
//! certificate the test makes, reached over StartTLS. Groups map to roles, a user in no mapped
//! group and a wrong or empty password get nothing, a name that would change the query never
//! reaches the directory, a role follows the groups, and a local admin still logs in when the
//! directory is down.

use crate::common::{
    certificate, form_login_status, free_port, temp_dir, Db, TestServer, PASSWORD,
};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BASE: &str = "dc=example,dc=jp";

/// slapd with one database, killed on drop.
struct Directory {
    child: Option<Child>,
    conf: PathBuf,
    port: u16,
}

fn tool(name: &str) -> PathBuf {
    let path = Path::new("/usr/sbin").join(name);
    let path = if path.exists() {
        path
    } else {
        Path::new("/usr/bin").join(name)
    };
    assert!(
        path.exists(),
        "{name} is missing: scripts/test-deps installs slapd and ldap-utils"
    );
    path
}

fn hashed(password: &str) -> String {
    let out = Command::new(tool("slappasswd"))
        .args(["-s", password])
        .output()
        .expect("slappasswd");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Directory {
    fn start(dir: &Path, cert: &str, key: &str) -> Directory {
        let db = dir.join("db");
        std::fs::create_dir_all(&db).expect("db dir");
        let conf = dir.join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\ninclude /etc/ldap/schema/inetorgperson.schema\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {}/slapd.pid\nTLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\ndatabase mdb\nsuffix \"{BASE}\"\nrootdn \"cn=admin,{BASE}\"\nrootpw admin-secret\ndirectory {}\n",
                dir.display(),
                db.display()
            ),
        )
        .expect("slapd.conf");
        let person = |uid: &str, cn: &str, pw: &str| {
            format!("dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {cn}\nuserPassword: {}\n\n", hashed(pw))
        };
        let ldif = format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\ndn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n{}{}{}dn: cn=csirt-handlers,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: csirt-handlers\nmember: uid=sato,ou=people,{BASE}\n\ndn: cn=csirt-admins,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: csirt-admins\nmember: uid=suzuki,ou=people,{BASE}\n\ndn: cn=sales,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: sales\nmember: uid=tanaka,ou=people,{BASE}\n",
            person("sato", "Sato Hanako", "sato-directory-pw"),
            person("suzuki", "Suzuki Ichiro", "suzuki-directory-pw"),
            person("tanaka", "Tanaka Jiro", "tanaka-directory-pw"),
        );
        let ldif_path = dir.join("data.ldif");
        std::fs::write(&ldif_path, ldif).expect("ldif");
        let loaded = Command::new(tool("slapadd"))
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&ldif_path)
            .output()
            .expect("slapadd");
        assert!(
            loaded.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let mut directory = Directory {
            child: None,
            conf,
            port: free_port(),
        };
        directory.run();
        directory
    }

    fn run(&mut self) {
        let child = Command::new(tool("slapd"))
            .arg("-f")
            .arg(&self.conf)
            .args(["-h", &format!("ldap://127.0.0.1:{}/", self.port), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Changes entries as the directory's administrator.
    fn modify(&self, ldif: &str) {
        let mut child = Command::new(tool("ldapmodify"))
            .args(["-x", "-H", &format!("ldap://127.0.0.1:{}", self.port)])
            .args(["-D", &format!("cn=admin,{BASE}"), "-w", "admin-secret"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("ldapmodify");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ldif.as_bytes())
            .expect("ldif");
        assert!(child.wait().expect("ldapmodify").success());
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn directory_users_log_in_with_the_role_their_groups_give() {
    let dir = temp_dir("ldap");
    let (cert, key) = certificate(&dir);
    let mut directory = Directory::start(&dir, &cert, &key);
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "[auth.ldap]\nurl = \"ldap://127.0.0.1:{}\"\nstarttls = true\nca_file = \"{cert}\"\nuser_dn = \"uid={{user}},ou=people,{BASE}\"\ngroup_base = \"ou=groups,{BASE}\"\n[auth.ldap.roles]\n\"cn=csirt-handlers,ou=groups,{BASE}\" = \"handler\"\n\"CN=CSIRT-Admins, OU=groups,{BASE}\" = \"admin\"\n",
            directory.port
        ),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "ldap",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("root", "admin");

    assert_eq!(
        form_login_status(&s, "sato", "sato-directory-pw").await,
        StatusCode::SEE_OTHER
    );
    let sato = s.user_line("sato").expect("a local account for sato");
    assert!(sato.contains("handler"), "{sato}");
    assert_eq!(
        form_login_status(&s, "suzuki", "suzuki-directory-pw").await,
        StatusCode::SEE_OTHER
    );
    assert!(s.user_line("suzuki").unwrap_or_default().contains("admin"));

    // Wrong, empty, no mapped group, and names that would rewrite the DN or a filter.
    assert_eq!(
        form_login_status(&s, "sato", "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        form_login_status(&s, "sato", "").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        form_login_status(&s, "tanaka", "tanaka-directory-pw").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.user_line("tanaka"),
        None,
        "no account for a user without a role"
    );
    for name in ["*", "sato,ou=people", "sato)(uid=*"] {
        assert_eq!(
            form_login_status(&s, name, "sato-directory-pw").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // A directory account has no local password: `user list` shows it, the form is the only
    // way in, and the directory decides.

    // The role follows the groups at the next login.
    directory.modify(&format!(
        "dn: cn=csirt-admins,ou=groups,{BASE}\nchangetype: modify\nadd: member\nmember: uid=sato,ou=people,{BASE}\n"
    ));
    assert_eq!(
        form_login_status(&s, "sato", "sato-directory-pw").await,
        StatusCode::SEE_OTHER
    );
    assert!(s.user_line("sato").unwrap_or_default().contains("admin"));

    // Directory down: its users are out, the local admin is not (break-glass).
    directory.stop();
    assert_eq!(
        form_login_status(&s, "sato", "sato-directory-pw").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        form_login_status(&s, "root", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[test]
fn a_directory_reached_in_the_clear_is_refused_at_start() {
    let err = crate::common::serve_refuses(&format!(
        "[auth.ldap]\nurl = \"ldap://127.0.0.1:389\"\nuser_dn = \"uid={{user}},ou=people,{BASE}\"\ngroup_base = \"ou=groups,{BASE}\"\n[auth.ldap.roles]\n"
    ));
    assert!(err.contains("starttls"), "{err}");
}
