//! The HTTP API through `tower::ServiceExt::oneshot`, on a small blueprint with known answers.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lantu::blueprint::{Blueprint, ClassSpec, LayerSpec};
use lantu::crs::Crs;
use lantu::import::import_path;
use lantu::layer::LayerRole;
use lantu::server::{AppState, Role, ServerConfig, app, auth};
use lantu::store::{NewVersion, Store};
use tower::ServiceExt;

use crate::support::{geojson_4546, rect};

const X0: f64 = 600_000.0;
const Y0: f64 = 2_420_000.0;

fn layer_file(
    dir: &Path,
    id: &str,
    features: Vec<(String, Vec<Vec<(f64, f64)>>, serde_json::Value)>,
) -> std::path::PathBuf {
    let feats: Vec<serde_json::Value> = features
        .into_iter()
        .map(|(bh, rings, mut props)| {
            props["BH"] = serde_json::json!(bh);
            serde_json::json!({
                "type": "Feature", "properties": props,
                "geometry": {"type": "Polygon", "coordinates": rings.iter().map(|r| r.iter().map(|(x, y)| serde_json::json!([x, y])).collect::<Vec<_>>()).collect::<Vec<_>>()}
            })
        })
        .collect();
    let p = dir.join(format!("{id}.geojson"));
    std::fs::write(
        &p,
        serde_json::json!({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4546"}}, "features": feats}).to_string(),
    )
    .expect("write");
    p
}

/// kg: two 100 m parcels (R2 with indicators, E2); yjjbnt: a farmland block east of them;
/// czkfbj: the development boundary over the first parcel; towns: one town over everything.
fn state(dir: &Path, anonymous: Option<Role>) -> AppState {
    let store = Store::open(dir.join("store")).expect("store");
    let kg = layer_file(
        dir,
        "kg",
        vec![
            (
                "K1".into(),
                vec![rect(X0, Y0, 100.0, 100.0)],
                serde_json::json!({"YDXZDM": "R2", "RJLXX": 1.0, "RJLSX": 2.5, "JZMDZ": 30, "LDLLX": 35, "JZXG": 54}),
            ),
            (
                "K2".into(),
                vec![rect(X0 + 100.0, Y0, 100.0, 100.0)],
                serde_json::json!({"YDXZDM": "E2"}),
            ),
        ],
    );
    let jbnt = layer_file(
        dir,
        "yjjbnt",
        vec![(
            "J1".into(),
            vec![rect(X0 + 150.0, Y0, 100.0, 100.0)],
            serde_json::json!({}),
        )],
    );
    let kfbj = layer_file(
        dir,
        "czkfbj",
        vec![(
            "B1".into(),
            vec![rect(X0 - 50.0, Y0 - 50.0, 200.0, 200.0)],
            serde_json::json!({}),
        )],
    );
    let towns = layer_file(
        dir,
        "towns",
        vec![(
            "441704100".into(),
            vec![rect(X0 - 1_000.0, Y0 - 1_000.0, 3_000.0, 3_000.0)],
            serde_json::json!({"XZQMC": "东城镇"}),
        )],
    );
    let mut versions = Vec::new();
    for (id, role, path, class) in [
        (
            "kg",
            LayerRole::UrbanPlan,
            kg,
            Some(("YDXZDM", "GB50137-2011")),
        ),
        ("yjjbnt", LayerRole::ControlLine, jbnt, None),
        ("czkfbj", LayerRole::ControlLine, kfbj, None),
        ("towns", LayerRole::Boundary, towns, None),
    ] {
        let mut spec = LayerSpec::new(id, role);
        spec.id_field = Some("BH".into());
        spec.title = match id {
            "yjjbnt" => "永久基本农田",
            "czkfbj" => "城镇开发边界",
            "kg" => "控制性详细规划",
            _ => "镇级行政区",
        }
        .into();
        spec.class = class.map(|(f, s)| ClassSpec {
            field: f.into(),
            system: s.into(),
        });
        if id == "kg" {
            for (k, v) in [
                ("far_min", "RJLXX"),
                ("far_max", "RJLSX"),
                ("density_max", "JZMDZ"),
                ("green_min", "LDLLX"),
                ("height_max", "JZXG"),
            ] {
                spec.fields.insert(k.into(), v.into());
            }
        }
        if id == "towns" {
            spec.fields.insert("name".into(), "XZQMC".into());
        }
        let layer = import_path(&spec, &path, &Crs::Epsg(4546)).expect("import");
        let obj = store.put_layer(&layer.data, 4546).expect("put");
        versions.push(NewVersion {
            hash: obj.hash,
            spec,
            source: layer.source,
            working_crs: "EPSG:4546".into(),
            feature_count: layer.data.features.len(),
            planar_area_m2: layer.report.planar_area_m2,
            ellipsoidal_area_m2: layer.report.ellipsoidal_area_m2,
            repaired: 0,
            rejected: 0,
            report: serde_json::json!({}),
        });
    }
    store
        .commit_import(
            "api",
            "EPSG:4546",
            Some(&serde_json::json!({"district": "441704"})),
            &versions,
            "test",
            "seed",
            true,
        )
        .expect("commit");
    let bp = Blueprint::load_current(&store).expect("load");
    let config = ServerConfig {
        anonymous,
        json_limit: 64 << 10,
        ..ServerConfig::default()
    };
    AppState::new(Arc::new(store), bp, config).expect("state")
}

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, String, serde_json::Value) {
    let resp = app(state.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, ctype, json)
}

fn post(uri: &str, key: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post(uri).header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    b.body(body.into()).expect("request")
}

fn get(uri: &str, key: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(k) = key {
        b = b.header("x-api-key", k);
    }
    b.body(Body::empty()).expect("request")
}

fn site_json(ring: Vec<(f64, f64)>) -> String {
    geojson_4546(&[("S1", vec![ring])])
}

#[tokio::test]
async fn site_check_answers_with_exact_overlaps_and_verdicts() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = state(dir.path(), Some(Role::Viewer));
    // A 100 × 50 site over the east half of K1 and the west half of K2: 50 × 50 on farmland
    // (J1 starts at x + 150) and 50 × 50 outside the development boundary (ends at x + 150).
    let site = site_json(rect(X0 + 50.0, Y0 + 25.0, 150.0, 50.0));
    let (status, ctype, body) = call(&st, post("/api/site-check", None, site)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ctype.starts_with("application/json"));
    let a = &body["sites"][0]["analysis"];
    assert_eq!(a["area_m2"], 7_500.0);
    let kg = a["overlaps"]
        .as_array()
        .expect("overlaps")
        .iter()
        .find(|o| o["layer"] == "kg")
        .expect("kg");
    let parcels: Vec<(&str, f64)> = kg["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["feature_id"].as_str().unwrap_or_default(),
                f["area_m2"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(parcels, vec![("K2", 5_000.0), ("K1", 2_500.0)]);
    let k1 = &kg["features"][1];
    assert_eq!(k1["fields"]["far_max"], 2.5);
    let verdicts = body["sites"][0]["verdicts"].as_array().expect("verdicts");
    let jbnt = verdicts
        .iter()
        .find(|v| v["layer"] == "yjjbnt")
        .expect("farmland verdict");
    assert_eq!(jbnt["status"], "warning");
    assert!(
        jbnt["text"]
            .as_str()
            .unwrap_or_default()
            .contains("压占永久基本农田")
    );
    let kfbj = verdicts
        .iter()
        .find(|v| v["layer"] == "czkfbj")
        .expect("boundary verdict");
    assert_eq!(kfbj["status"], "warning");
    assert!(
        kfbj["text"]
            .as_str()
            .unwrap_or_default()
            .contains("2500.00 m²"),
        "{kfbj}"
    );
}

#[tokio::test]
async fn bad_site_input_gets_named_problems() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = state(dir.path(), Some(Role::Viewer));
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("malformed", "{\"type\": \"Feature\",\n \"geometry\": {".to_string(), StatusCode::UNPROCESSABLE_ENTITY, "line 2"),
        (
            "bowtie",
            site_json(vec![(X0, Y0), (X0 + 100.0, Y0 + 100.0), (X0 + 100.0, Y0), (X0, Y0 + 100.0), (X0, Y0)]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "(600050.000, 2420050.000)",
        ),
        (
            "lonlat undeclared",
            r#"{"type":"Polygon","coordinates":[[[111.9,21.9],[111.91,21.9],[111.91,21.91],[111.9,21.9]]]}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "GCJ02",
        ),
        ("outside the district", site_json(rect(X0 + 20_000.0, Y0, 100.0, 100.0)), StatusCode::UNPROCESSABLE_ENTITY, "outside the district"),
        ("zero area", site_json(vec![(X0, Y0), (X0 + 10.0, Y0), (X0 + 20.0, Y0), (X0, Y0)]), StatusCode::UNPROCESSABLE_ENTITY, "S1"),
    ];
    for (name, body, expect, needle) in cases {
        let (status, ctype, problem) = call(&st, post("/api/site-check", None, body)).await;
        assert_eq!(status, expect, "{name}: {problem}");
        assert_eq!(ctype, "application/problem+json", "{name}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(needle),
            "{name}: `{detail}` should contain `{needle}`"
        );
    }
    // Too many vertices: a 25 000-vertex circle.
    let ring: Vec<(f64, f64)> = (0..=25_000)
        .map(|i| {
            let t = i as f64 / 25_000.0 * std::f64::consts::TAU;
            (X0 + 50.0 + 40.0 * t.cos(), Y0 + 50.0 + 40.0 * t.sin())
        })
        .collect();
    let (status, _, problem) = call(&st, post("/api/site-check", None, site_json(ring))).await;
    // The body is over the JSON limit of this test server (64 KiB) before the vertex cap.
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
}

#[tokio::test]
async fn roles_are_enforced_and_writes_are_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = state(dir.path(), None);
    let viewer = auth::create_key(&st.store, "李四", Role::Viewer, "test").expect("key");
    let sale = auth::create_key(&st.store, "王五", Role::LandSale, "test").expect("key");
    let admin = auth::create_key(&st.store, "赵六", Role::Admin, "test").expect("key");
    // No key and no anonymous role: 401.
    let (status, _, _) = call(&st, get("/api/layers", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&st, get("/api/layers", Some("lantu_not_a_key"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, layers) = call(&st, get("/api/layers", Some(&viewer))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(layers.as_array().map(Vec::len), Some(4));
    // A viewer cannot issue a checklist; land-sale staff can.
    let site = site_json(rect(X0 + 10.0, Y0 + 10.0, 50.0, 50.0));
    let (status, _, problem) =
        call(&st, post("/api/checklists", Some(&viewer), site.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("issue checklists")
    );
    let (status, _, issued) = call(
        &st,
        post(
            "/api/checklists?project_code=2019-441704-47-01-000123",
            Some(&sale),
            site.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let sha = issued[0]["sha256"].as_str().expect("sha").to_string();
    let posted =
        lantu::checklist::verify_json(&issued[0]["checklist"].to_string()).expect("verify");
    assert!(posted.ok, "{posted:?}");
    // A bad project code is named.
    let (status, _, problem) = call(
        &st,
        post(
            "/api/checklists?project_code=2019-441704-47-01",
            Some(&sale),
            site,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["input"], "2019-441704-47-01");
    // The JSON comes back byte-identical to what was issued, and verifies; a one-character
    // edit does not.
    let resp = app(st.clone())
        .oneshot(get(
            &format!("/api/checklists/{sha}?format=json"),
            Some(&viewer),
        ))
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .expect("b")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf8");
    let (status, _, v) = call(
        &st,
        post("/api/checklists/verify", Some(&viewer), text.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ok"], true, "{v}\n{}", &text[..text.len().min(3000)]);
    assert_eq!(v["issued_by_this_server"], true);
    let tampered = text.replacen("东城镇", "西城镇", 1);
    assert_ne!(tampered, text);
    let (_, _, v) = call(&st, post("/api/checklists/verify", Some(&viewer), tampered)).await;
    assert_eq!(v["ok"], false);
    // Only admins read the audit log; it holds the checklist issue with the actor.
    let (status, _, _) = call(&st, get("/api/audit", Some(&sale))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, audit) =
        call(&st, get("/api/audit?action=checklist.issue", Some(&admin))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit[0]["actor"], "land_sale:王五");
    assert_eq!(audit[0]["target"], sha.as_str());
}

#[tokio::test]
async fn service_endpoints_and_tiles() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = state(dir.path(), Some(Role::Viewer));
    let (status, _, health) = call(&st, get("/healthz", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["blueprint"], "api@1");
    let (status, _, doc) = call(&st, get("/openapi.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["paths"]["/api/site-check"]["post"].is_object(),
        "{}",
        doc["paths"]
    );
    assert!(doc["paths"]["/api/conflicts/{id}/transition"]["post"].is_object());
    // OGC API: the collection lists 2 kg items with a bbox in lon/lat.
    let (status, ctype, items) = call(&st, get("/ogc/collections/kg/items?limit=1", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/geo+json");
    assert_eq!(items["numberMatched"], 2);
    assert_eq!(items["numberReturned"], 1);
    let lon = items["features"][0]["geometry"]["coordinates"][0][0][0][0]
        .as_f64()
        .expect("lon");
    assert!((111.9..112.0).contains(&lon), "{lon}");
    // An MVT tile over the parcels (z 14 around 112.0°E 21.9°N) decodes with GDAL.
    let (tx, ty) = {
        let (lon, lat) = (
            items["features"][0]["geometry"]["coordinates"][0][0][0][0]
                .as_f64()
                .unwrap_or(0.0),
            items["features"][0]["geometry"]["coordinates"][0][0][0][1]
                .as_f64()
                .unwrap_or(0.0),
        );
        let n = 2f64.powi(14);
        let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
        let lat_r = lat.to_radians();
        let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
            .floor() as u32;
        (x, y)
    };
    let resp = app(st.clone())
        .oneshot(get(&format!("/tiles/kg/14/{tx}/{ty}.pbf"), None))
        .await
        .expect("tile");
    assert_eq!(resp.status(), StatusCode::OK);
    let tile = resp.into_body().collect().await.expect("b").to_bytes();
    assert!(!tile.is_empty());
    let path = dir.path().join(format!("{ty}.pbf"));
    std::fs::write(&path, &tile).expect("write tile");
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-al", "-q", "-oo"])
        .arg(format!("X={tx}"))
        .args(["-oo", &format!("Y={ty}"), "-oo", "Z=14"])
        .arg(&path)
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("K1") && text.contains("K2"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _, _) = call(&st, get("/tiles/kg/3/9/9.pbf", None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Metrics count the requests above.
    let resp = app(st.clone())
        .oneshot(get("/metrics", None))
        .await
        .expect("metrics");
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .expect("b")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf8");
    assert!(
        text.contains("lantu_blueprint_version{blueprint=\"api\"} 1"),
        "{text}"
    );
}
