//! The `sesame` commands as a user runs them. A demo owns its data
//! directory: `admin`, `migrate`, `seed` and `export` run beside it on its
//! cluster and leave it running, a second demo refuses, a port in use is
//! reported before anything starts, and Ctrl-C drains requests in flight.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{Datelike, Months};
use tokio::process::{Child, Command};

use crate::helpers::{PASSWORD, TEST_JWT_SECRET, TestApp};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sesame-{name}-{}", uuid::Uuid::new_v4().simple()))
}

/// `sesame ARGS` on the private cluster of `dir`, as a user without
/// `DATABASE_URL` runs it.
fn sesame(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SESAME_JWT_SECRET")
        .env("SESAME_DATA_DIR", dir)
        .env("SESAME_LOG", "warn")
        .env("SESAME_WORKERS", "2")
        .kill_on_drop(true);
    command
}

/// Waits until `/readyz` answers 200, for at most `limit`.
async fn wait_ready(base: &str, limit: Duration) {
    let started = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(started.elapsed() < limit, "{base} did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_ready(base: &str, after: &str) {
    let response = reqwest::get(format!("{base}/readyz")).await;
    assert!(
        response.as_ref().is_ok_and(|r| r.status() == 200),
        "the demo no longer answers after {after}: {response:?}"
    );
}

/// Runs a command to its end and returns its stdout and stderr, asserting
/// it succeeded.
async fn run_ok(mut command: Command, what: &str) -> (String, String) {
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn signal(child: &Child, name: &str) {
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[tokio::test]
async fn commands_beside_a_running_demo_use_its_cluster_and_never_stop_it() {
    let dir = temp_dir("commands");
    let address = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{address}");
    let mut demo = sesame(&dir, &["demo"])
        .env("SESAME_BIND", &address)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&base, Duration::from_secs(300)).await;

    let mut admin = sesame(
        &dir,
        &[
            "admin",
            "create-user",
            "--email",
            "beside@demo.example",
            "--password-stdin",
        ],
    );
    admin
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = admin.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, format!("{PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_ready(&base, "admin create-user").await;
    let login = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "beside@demo.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the user made beside the demo logs in");

    let month = chrono::Utc::now().date_naive() - Months::new(1);
    let month = format!("{}-{:02}", month.year(), month.month());
    let out = dir.join("export");
    let out_path = out.to_str().unwrap();
    for args in [
        vec!["migrate"],
        vec!["seed", "--lines", "40"],
        vec![
            "export", "--from", &month, "--to", &month, "--out", out_path,
        ],
    ] {
        let what = args.join(" ");
        run_ok(sesame(&dir, &args), &what).await;
        assert_ready(&base, &what).await;
    }
    assert!(out.join("datapackage.json").is_file());

    // A second server on the same data refuses and says what to do.
    let second = sesame(&dir, &["demo"])
        .env("SESAME_BIND", format!("127.0.0.1:{}", free_port()))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    let owner = format!(
        "`sesame demo` (pid {}) is already running",
        demo.id().unwrap()
    );
    assert!(stderr.contains(&owner), "{stderr}");
    assert!(stderr.contains("SESAME_DATA_DIR"), "{stderr}");
    assert_ready(&base, "a second demo").await;

    // The demo's port, taken: refused before any cluster or banner.
    let elsewhere = temp_dir("port-taken");
    let taken = sesame(&elsewhere, &["demo"])
        .env("SESAME_BIND", &address)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&taken.stderr);
    assert!(!taken.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("SESAME_BIND") && stderr.contains("--bind"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&taken.stdout).contains("Password"));
    assert!(
        !elsewhere.exists(),
        "nothing was made: no cluster, no secret"
    );

    // Ctrl-C: the demo stops, and so does the cluster it started.
    let cluster_port = std::fs::read_to_string(dir.join("port")).unwrap();
    signal(&demo, "INT");
    let exited = tokio::time::timeout(Duration::from_secs(60), demo.wait())
        .await
        .expect("the demo stops after Ctrl-C")
        .unwrap();
    assert!(exited.success(), "{exited:?}");
    assert!(TcpStream::connect(format!("127.0.0.1:{}", cluster_port.trim())).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// Reads one HTTP response whose body has a Content-Length.
fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|l| l.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "connection closed mid-response: {text}");
        received.extend_from_slice(&buffer[..read]);
    }
}

/// Starts `sesame serve` on the test database; returns it, its address, and
/// a connection holding a login request in flight: its headers are read
/// (the server said `100 Continue`), its body is still to be sent.
async fn serving_with_a_request_in_flight(app: &TestApp) -> (Child, String, TcpStream, String) {
    let address = format!("127.0.0.1:{}", free_port());
    let service = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .arg("serve")
        .env("DATABASE_URL", &app.database.url)
        .env("SESAME_BIND", &address)
        .env("SESAME_JWT_SECRET", TEST_JWT_SECRET)
        .env("SESAME_LOG", "warn")
        .env("SESAME_WORKERS", "2")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_ready(&format!("http://{address}"), Duration::from_secs(30)).await;
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let body = r#"{"email": "nobody@mairie.example", "password": "not the right one at all"}"#;
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed before 100 Continue"
        );
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{interim:?}");
    (service, address, stream, body.to_owned())
}

async fn wait_refused(address: &str) {
    let started = Instant::now();
    while TcpStream::connect(address).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still accepting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn ctrl_c_lets_requests_in_flight_finish_and_a_second_one_stops_at_once() {
    let app = TestApp::spawn().await;

    let (mut service, address, mut stream, rest) = serving_with_a_request_in_flight(&app).await;
    signal(&service, "INT");
    wait_refused(&address).await;
    stream.write_all(rest.as_bytes()).unwrap();
    let answer = read_response(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let exited = tokio::time::timeout(Duration::from_secs(35), service.wait())
        .await
        .expect("drained within the grace period")
        .unwrap();
    assert!(exited.success(), "{exited:?}");

    // A second Ctrl-C does not wait for the request in flight.
    let (mut service, address, _stream, _) = serving_with_a_request_in_flight(&app).await;
    signal(&service, "INT");
    wait_refused(&address).await;
    let second = Instant::now();
    signal(&service, "INT");
    tokio::time::timeout(Duration::from_secs(5), service.wait())
        .await
        .expect("a second Ctrl-C stops at once")
        .unwrap();
    assert!(second.elapsed() < Duration::from_secs(5));
}

/// `serve` with the metrics on their own address, behind a token: the API's
/// address has no `/metrics`, the other one has nothing else, and both stop
/// with the service. The same address for both is refused at start.
#[tokio::test]
async fn serve_puts_the_metrics_on_their_own_address() {
    let app = TestApp::spawn().await;
    let address = format!("127.0.0.1:{}", free_port());
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let token = "0c8a4e2f9b1d7c3a5e6f8b0d2a4c6e8f";
    let serve = |metrics_bind: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
        command
            .arg("serve")
            .env("DATABASE_URL", &app.database.url)
            .env("SESAME_BIND", &address)
            .env("SESAME_METRICS_BIND", metrics_bind)
            .env("SESAME_METRICS_TOKEN", token)
            .env("SESAME_JWT_SECRET", TEST_JWT_SECRET)
            .env("SESAME_LOG", "warn")
            .env("SESAME_WORKERS", "1")
            .kill_on_drop(true);
        command
    };
    let output = serve(&address).output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SESAME_METRICS_BIND"), "{stderr}");

    let mut service = serve(&metrics_address).spawn().unwrap();
    wait_ready(&format!("http://{address}"), Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let get = |url: String, bearer: Option<&str>| {
        let mut request = client.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let on_api = get(format!("http://{address}/metrics"), Some(token))
        .await
        .unwrap();
    assert_eq!(on_api.status(), 404);
    let anonymous = get(format!("http://{metrics_address}/metrics"), None)
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    let scraped = get(format!("http://{metrics_address}/metrics"), Some(token))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );
    let elsewhere = get(format!("http://{metrics_address}/readyz"), Some(token))
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);

    signal(&service, "TERM");
    let exited = tokio::time::timeout(Duration::from_secs(35), service.wait())
        .await
        .expect("stopped within the grace period")
        .unwrap();
    assert!(exited.success(), "{exited:?}");
    assert!(TcpStream::connect(&metrics_address).is_err());
}
