//! An import killed with SIGKILL at any moment leaves the previous blueprint exactly as it was.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lantu::blueprint::Blueprint;
use lantu::store::Store;

use crate::support::{geojson_4546, rect};

fn lantu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lantu"))
}

fn big_layer(path: &Path, n: usize) {
    let side = (n as f64).sqrt().ceil() as usize;
    let features: Vec<(String, Vec<Vec<(f64, f64)>>)> = (0..n)
        .map(|i| {
            let (r, c) = (i / side, i % side);
            (
                format!("P{i:06}"),
                vec![rect(
                    580_000.0 + c as f64 * 20.0,
                    2_410_000.0 + r as f64 * 20.0,
                    19.0,
                    19.0,
                )],
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<Vec<(f64, f64)>>)> = features
        .iter()
        .map(|(id, rings)| (id.as_str(), rings.clone()))
        .collect();
    std::fs::write(path, geojson_4546(&refs)).expect("write big layer");
}

fn import_cmd(store: &Path, file: &Path, layer: &str) -> Command {
    let mut c = lantu();
    c.args(["import", "--store"])
        .arg(store)
        .arg("--file")
        .arg(file)
        .args(["--layer", layer, "--role", "urban_plan", "--id-field", "BH"])
        .args(["--blueprint", "test", "--actor", "test"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Blueprint head, its layer hashes, the audit length: what a reader of the store sees.
fn state(store: &Path) -> (i64, Vec<(String, String)>, usize) {
    let s = Store::open(store).expect("store opens after a kill");
    let integrity: String = s
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");
    let bp = s.blueprint("test", None).expect("blueprint");
    // Every layer of the head must still load.
    let loaded = Blueprint::load(&s, bp.clone()).expect("the previous blueprint loads");
    assert_eq!(loaded.layers.len(), bp.layers.len());
    let layers = bp
        .layers
        .iter()
        .map(|l| (l.layer_id.clone(), l.hash.clone()))
        .collect();
    let audit = s.audit_log(None, 100_000).expect("audit").len();
    (bp.version, layers, audit)
}

#[test]
fn killed_import_leaves_previous_blueprint_unchanged() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("store");
    let small = dir.path().join("small.geojson");
    std::fs::write(
        &small,
        geojson_4546(&[("S1", vec![rect(590_000.0, 2_420_000.0, 10.0, 10.0)])]),
    )
    .expect("write");
    let ok = import_cmd(&store, &small, "base").status().expect("run");
    assert!(ok.success());
    let big = dir.path().join("big.geojson");
    big_layer(&big, 60_000);
    let before = state(&store);
    assert_eq!(before.0, 1);

    // 1. Deterministic: killed after the layer object is on disk, before the catalog commit.
    let mut child = import_cmd(&store, &big, "big")
        .env("LANTU_FAILPOINT", "before-commit")
        .spawn()
        .expect("spawn");
    let objects = store.join("layers");
    let started = Instant::now();
    while std::fs::read_dir(&objects).expect("dir").count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the import never wrote its object"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    assert_eq!(state(&store), before, "killed before commit");

    // 2. Killed at a spread of moments of a normal import.
    let mut completed = false;
    for delay_ms in [30u64, 120, 300, 600, 1_000, 1_600, 2_500, 4_000] {
        let mut child = import_cmd(&store, &big, "big").spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().expect("poll").is_some() {
            completed = true;
            break;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        assert_eq!(state(&store), before, "killed after {delay_ms} ms");
    }
    // 3. Left alone, the same import commits a new version.
    if !completed {
        let ok = import_cmd(&store, &big, "big").status().expect("run");
        assert!(ok.success());
    }
    let after = state(&store);
    assert_eq!(after.0, before.0 + 1);
    assert!(after.1.iter().any(|(id, _)| id == "big"));
    assert_eq!(after.2, before.2 + 1);
}
