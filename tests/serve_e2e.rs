//! End to end against a real `lantu serve` on a loopback port, over plain HTTP/1.1: the sample
//! district in a fresh store, one key per role; a site check and an upload of `sites.txt`; a
//! checklist issued and downloaded as PDF, then verified; a reconcile job run to the end and a
//! conflict parcel moved through the lifecycle; the audit entries of all of it; each role's
//! refusals; bad input as problem+json; QGIS's way in through GDAL's OAPIF driver; a graceful
//! shutdown on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn lantu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lantu"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// Kills the server if a test assertion fails before the graceful stop.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One request on a fresh connection (`Connection: close`, so the reply ends at EOF).
fn request(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    let bytes: &[u8] = body.map(|b| b.1).unwrap_or_default();
    if let Some((ct, b)) = body {
        head.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    // A server refusing an oversized body answers and closes before reading it all: the write
    // then fails with a broken pipe, and the reply is still there to read.
    let wrote = s.write_all(bytes);
    let mut raw = Vec::new();
    let read = s.read_to_end(&mut raw);
    if raw.is_empty() {
        wrote.expect("write body");
        read.expect("read");
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status: u16 = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = raw[split + 4..].to_vec();
    if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

fn multipart(file_name: &str, file: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "lantu-e2e-boundary-7d3f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn key(store: &Path, role: &str) -> String {
    let o = lantu()
        .args(["keys", "create", "--store"])
        .arg(store)
        .args(["--name", &format!("e2e-{role}"), "--role", role])
        .output()
        .expect("keys create");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The YD2024-002 candidate site (50 × 80 m, 2 500 m² of it on 永久基本农田) in EPSG:4546.
const SITE_002: &str = r#"{"type":"Feature","properties":{"地块编号":"E2E-002"},
 "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4546"}},
 "geometry":{"type":"Polygon","coordinates":[[[581470,2438070],[581470,2438020],[581550,2438020],[581550,2438070],[581470,2438070]]]}}"#;

#[test]
fn a_real_server_end_to_end() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-e2e");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("tmp");
    let store = root.join("store");
    let o = lantu()
        .args(["import", "--manifest"])
        .arg(sample().join("blueprint.toml"))
        .arg("--store")
        .arg(&store)
        .output()
        .expect("import");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let admin = key(&store, "admin");
    let planner = key(&store, "planner");
    let land_sale = key(&store, "land_sale");
    let viewer = key(&store, "viewer");

    let port = free_port();
    let child = lantu()
        .arg("serve")
        .arg("--store")
        .arg(&store)
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--anonymous",
            "none",
        ])
        .arg("--web")
        .arg(root.join("no-web"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut server = Server { child };
    let t = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && request(port, "GET", "/healthz", None, None).status == 200
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Without a key (and --anonymous none) nothing but health and docs.
    let r = request(port, "GET", "/api/layers", None, None);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.contains("problem+json"))
    );

    // A site check: the verdict names the 永久基本农田 overlap.
    let r = request(
        port,
        "POST",
        "/api/site-check",
        Some(&viewer),
        Some(("application/json", SITE_002.as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let text = v.to_string();
    assert!(
        text.contains("E2E-002") && text.contains("yjjbnt"),
        "{text}"
    );
    let yjjbnt = v["sites"][0]["analysis"]["overlaps"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["layer"] == "yjjbnt"))
        .unwrap_or_else(|| panic!("no yjjbnt overlap in {text}"));
    assert!((yjjbnt["area_m2"].as_f64().expect("area") - 2500.0).abs() < 0.01);

    // The five candidate sites of the sample as an uploaded 界址点 TXT.
    let txt = std::fs::read(sample().join("sites.txt")).expect("sites.txt");
    let (ct, body) = multipart("sites.txt", &txt, &[]);
    let r = request(
        port,
        "POST",
        "/api/site-check/upload",
        Some(&planner),
        Some((&ct, &body)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    for id in [
        "YD2024-001",
        "YD2024-002",
        "YD2024-003",
        "YD2024-004",
        "YD2024-005",
    ] {
        assert!(text.contains(id), "{id} missing from the upload's answer");
    }

    // Checklists: land-sale staff issue, viewers may not; the PDF downloads; the JSON verifies.
    let r = request(
        port,
        "POST",
        "/api/checklists",
        Some(&viewer),
        Some(("application/json", SITE_002.as_bytes())),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("issue checklists"), "{}", r.text());
    let r = request(
        port,
        "POST",
        "/api/checklists?project_code=2024-441704-78-01-000123",
        Some(&land_sale),
        Some(("application/json", SITE_002.as_bytes())),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let sha = r.json()[0]["sha256"].as_str().expect("sha").to_string();
    let r = request(
        port,
        "GET",
        &format!("/api/checklists/{sha}?format=pdf"),
        Some(&viewer),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").as_deref(), Some("application/pdf"));
    assert!(r.body.starts_with(b"%PDF-") && r.body.len() < 2 << 20);
    let r = request(
        port,
        "GET",
        &format!("/api/checklists/{sha}?format=json"),
        Some(&viewer),
        None,
    );
    assert_eq!(r.status, 200);
    let doc = r.body.clone();
    let r = request(
        port,
        "POST",
        "/api/checklists/verify",
        Some(&viewer),
        Some(("application/json", &doc)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ok"], true);
    assert_eq!(r.json()["issued_by_this_server"], true);
    let forged = String::from_utf8_lossy(&doc).replacen("E2E-002", "E2E-003", 1);
    let r = request(
        port,
        "POST",
        "/api/checklists/verify",
        Some(&viewer),
        Some(("application/json", forged.as_bytes())),
    );
    assert_eq!(r.json()["ok"], false);

    // A reconcile job: refused to viewers, run by a planner to the end.
    let r = request(
        port,
        "POST",
        "/api/reconcile",
        Some(&viewer),
        Some(("application/json", b"{}")),
    );
    assert_eq!(r.status, 403);
    let r = request(
        port,
        "POST",
        "/api/reconcile",
        Some(&planner),
        Some(("application/json", b"{}")),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json()["id"].as_str().expect("job id").to_string();
    let t = Instant::now();
    let status = loop {
        let s = request(
            port,
            "GET",
            &format!("/api/reconcile/{job}"),
            Some(&viewer),
            None,
        )
        .json();
        if s["state"] != "running" {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "job still running: {s}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(status["state"], "done", "{status}");
    assert!(status["pieces"].as_u64().expect("pieces") > 100, "{status}");

    // The ledger: a planner moves a parcel on; a viewer may not.
    let page = request(port, "GET", "/api/conflicts?limit=1", Some(&viewer), None).json();
    assert!(page["total"].as_u64().expect("total") > 100, "{page}");
    let id = page["items"][0]["id"]
        .as_str()
        .expect("conflict id")
        .to_string();
    let move_on =
        r#"{"to":"区级意见","comment":"e2e：已征求区级意见","document":"阳东府函〔2019〕12号"}"#
            .as_bytes();
    let r = request(
        port,
        "POST",
        &format!("/api/conflicts/{id}/transition"),
        Some(&viewer),
        Some(("application/json", move_on)),
    );
    assert_eq!(r.status, 403);
    let r = request(
        port,
        "POST",
        &format!("/api/conflicts/{id}/transition"),
        Some(&planner),
        Some(("application/json", move_on)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(
        port,
        "POST",
        &format!("/api/conflicts/{id}/transition"),
        Some(&planner),
        Some((
            "application/json",
            r#"{"to":"已处理","comment":"跳过审议","document":""}"#.as_bytes(),
        )),
    );
    assert!(
        (400..500).contains(&r.status),
        "a skipped step must be refused: {}",
        r.text()
    );

    // The trail: admins read it, others may not; it holds all of the above with who.
    assert_eq!(
        request(port, "GET", "/api/audit", Some(&planner), None).status,
        403
    );
    let r = request(port, "GET", "/api/audit?limit=200", Some(&admin), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let audit = r.text();
    for action in [
        "checklist.issue",
        "conflict.transition",
        "e2e-land_sale",
        "e2e-planner",
    ] {
        assert!(audit.contains(action), "audit lacks {action}: {audit}");
    }

    // Only admins upload layers.
    let (ct, body) = multipart("sites.txt", &txt, &[("role", "site")]);
    let r = request(
        port,
        "POST",
        "/api/layers/e2e/versions",
        Some(&planner),
        Some((&ct, &body)),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    // Bad input: named problems, nothing stored.
    let r = request(
        port,
        "POST",
        "/api/site-check",
        Some(&viewer),
        Some(("application/json", br#"{"type":"Feature","geometry":"#)),
    );
    assert!((400..500).contains(&r.status), "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.contains("problem+json"))
    );
    let big = vec![b' '; 5 << 20];
    let r = request(
        port,
        "POST",
        "/api/site-check",
        Some(&viewer),
        Some(("application/json", &big)),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    let (ct, body) = multipart("site.zip", &zip_with_parent_path(), &[]);
    let r = request(
        port,
        "POST",
        "/api/site-check/upload",
        Some(&viewer),
        Some((&ct, &body)),
    );
    assert!((400..500).contains(&r.status), "{}", r.text());
    assert!(r.text().contains(".."), "{}", r.text());

    // GDAL's OGC API – Features driver (what QGIS uses) lists and reads the layers.
    let o = Command::new("ogrinfo")
        .args(["-ro", "-so", "--config", "GDAL_HTTP_HEADERS"])
        .arg(format!("Authorization: Bearer {viewer}"))
        .args([&format!("OAPIF:http://127.0.0.1:{port}/ogc"), "kg"])
        .output()
        .expect("ogrinfo (gdal-bin) runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("Feature Count: 20374"), "{out}");

    // SIGTERM: a graceful stop.
    let pid = server.child.id().to_string();
    // The shell's builtin: a minimal Debian has no /bin/kill (procps).
    let term = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .expect("sh");
    assert!(term.success());
    let t = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no graceful stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A zip whose entry climbs out of the extraction directory.
fn zip_with_parent_path() -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    z.start_file(
        "../../evil.geojson",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("entry");
    z.write_all(SITE_002.as_bytes()).expect("write");
    z.finish().expect("finish");
    buf.into_inner()
}
