//! OGC API – Features (Part 1: core, GeoJSON) over the active blueprint, so QGIS and GDAL's
//! OAPIF driver can add the layers directly. Items are GeoJSON in CRS84 (CGCS2000 lon/lat,
//! which differs from WGS84 by well under a metre).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::blueprint::{Blueprint, LoadedLayer};
use crate::crs::{Crs, CrsSource, ResolvedCrs, Transformer};
use crate::server::{ApiError, AppState, Caller, Permission};

const CONFORMANCE: [&str; 3] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/ogc")
}

fn json_response(v: Json, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], v.to_string()).into_response()
}

async fn landing(headers: HeaderMap, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let b = base(&headers);
    Ok(json_response(
        json!({
            "title": "lantu 蓝图 — OGC API Features",
            "description": "The layers of the active blueprint",
            "links": [
                {"href": b, "rel": "self", "type": "application/json", "title": "this document"},
                {"href": format!("{b}/conformance"), "rel": "conformance", "type": "application/json"},
                {"href": format!("{b}/collections"), "rel": "data", "type": "application/json"},
                {"href": b.replace("/ogc", "/openapi.json"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0"}
            ]
        }),
        "application/json",
    ))
}

async fn conformance(caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    Ok(json_response(
        json!({"conformsTo": CONFORMANCE}),
        "application/json",
    ))
}

fn lonlat(bp: &Blueprint) -> Result<Transformer, ApiError> {
    crate::export::to_lonlat(&bp.crs).map_err(|e| ApiError::internal(e.to_string()))
}

fn collection(bp: &Blueprint, l: &LoadedLayer, b: &str) -> Json {
    let extent = l.data.bounding_rect().and_then(|r| {
        let t = lonlat(bp).ok()?;
        let a = t.point(r.min()).ok()?;
        let c = t.point(r.max()).ok()?;
        Some([a.x, a.y, c.x, c.y])
    });
    json!({
        "id": l.id(),
        "title": l.spec().display_title(),
        "description": format!("{} v{} ({})", l.spec().display_title(), l.version.seq, &l.version.hash[..12]),
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {"spatial": {"bbox": [extent.unwrap_or([0.0, 0.0, 0.0, 0.0])], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "links": [
            {"href": format!("{b}/collections/{}", l.id()), "rel": "self", "type": "application/json"},
            {"href": format!("{b}/collections/{}/items", l.id()), "rel": "items", "type": "application/geo+json"}
        ]
    })
}

async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let b = base(&headers);
    let cols: Vec<Json> = bp.layers.iter().map(|l| collection(&bp, l, &b)).collect();
    Ok(json_response(
        json!({"links": [{"href": format!("{b}/collections"), "rel": "self", "type": "application/json"}], "collections": cols}),
        "application/json",
    ))
}

fn find<'a>(bp: &'a Blueprint, id: &str) -> Result<&'a LoadedLayer, ApiError> {
    bp.layer(id).map(|l| l.as_ref()).ok_or_else(|| {
        ApiError::not_found(format!("no collection `{id}`")).with_input(id.to_string())
    })
}

async fn one_collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let l = find(&bp, &id)?;
    Ok(json_response(
        collection(&bp, l, &base(&headers)),
        "application/json",
    ))
}

#[derive(Debug, Deserialize)]
struct ItemsQuery {
    bbox: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn feature_json(l: &LoadedLayer, i: usize, t: &Transformer) -> Result<Json, ApiError> {
    let f = &l.data.features[i];
    let mut props = serde_json::Map::new();
    if let Some(c) = &f.class {
        props.insert("_class".into(), json!(c));
    }
    for (field, value) in l.data.fields.iter().zip(&f.attrs) {
        props.insert(
            field.name.clone(),
            match value {
                crate::layer::Value::Null => Json::Null,
                crate::layer::Value::Int(i) => json!(i),
                crate::layer::Value::Real(r) => json!(r),
                crate::layer::Value::Text(s) => json!(s),
            },
        );
    }
    let geometry =
        crate::export::geometry_json(&f.geom, t).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(json!({"type": "Feature", "id": f.id, "properties": props, "geometry": geometry}))
}

/// bbox=minlon,minlat,maxlon,maxlat → an envelope in the working CRS.
fn bbox_working(bp: &Blueprint, text: &str) -> Result<geo::Rect<f64>, ApiError> {
    let v: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request(format!("bbox `{text}` must be four numbers")).with_input("bbox")
        })?;
    if v.len() != 4 || !v.iter().all(|x| x.is_finite()) || v[0] > v[2] || v[1] > v[3] {
        return Err(ApiError::bad_request(format!(
            "bbox `{text}` must be minlon,minlat,maxlon,maxlat"
        ))
        .with_input("bbox"));
    }
    let t = Transformer::new(
        &ResolvedCrs {
            crs: Crs::Epsg(4490),
            swapped: false,
            source: CrsSource::Declared,
        },
        &bp.crs,
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let corners = [(v[0], v[1]), (v[2], v[1]), (v[2], v[3]), (v[0], v[3])];
    let mut pts = Vec::new();
    for (x, y) in corners {
        pts.push(
            t.point(geo::Coord { x, y })
                .map_err(|e| ApiError::bad_request(e.to_string()).with_input("bbox"))?,
        );
    }
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for p in pts {
        x0 = x0.min(p.x);
        y0 = y0.min(p.y);
        x1 = x1.max(p.x);
        y1 = y1.max(p.y);
    }
    Ok(geo::Rect::new(
        geo::Coord { x: x0, y: y0 },
        geo::Coord { x: x1, y: y1 },
    ))
}

async fn items(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ItemsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let b = base(&headers);
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    let offset = q.offset.unwrap_or(0);
    let bbox = q.bbox.clone();
    let body = state
        .cpu(move || -> Result<Json, ApiError> {
            let l = find(&bp, &id)?;
            let mut matched: Vec<usize> = match &bbox {
                Some(text) => {
                    let r = bbox_working(&bp, text)?;
                    l.index.candidates(&r).collect()
                }
                None => (0..l.data.features.len()).collect(),
            };
            matched.sort_unstable();
            let t = lonlat(&bp)?;
            let page: Vec<Json> = matched
                .iter()
                .skip(offset)
                .take(limit)
                .map(|&i| feature_json(l, i, &t))
                .collect::<Result<_, _>>()?;
            let mut links = vec![json!({"href": format!("{b}/collections/{id}/items?offset={offset}&limit={limit}"), "rel": "self", "type": "application/geo+json"})];
            if offset + page.len() < matched.len() {
                let bbox_q = bbox.as_ref().map(|s| format!("&bbox={s}")).unwrap_or_default();
                links.push(json!({"href": format!("{b}/collections/{id}/items?offset={}&limit={limit}{bbox_q}", offset + page.len()), "rel": "next", "type": "application/geo+json"}));
            }
            Ok(json!({
                "type": "FeatureCollection",
                "numberMatched": matched.len(),
                "numberReturned": page.len(),
                "timeStamp": crate::store::now_rfc3339(),
                "links": links,
                "features": page,
            }))
        })
        .await??;
    Ok(json_response(body, "application/geo+json"))
}

async fn item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, fid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let l = find(&bp, &id)?;
    let i = l
        .data
        .features
        .iter()
        .position(|f| f.id == fid)
        .ok_or_else(|| {
            ApiError::not_found(format!("no feature `{fid}` in `{id}`")).with_input(fid.clone())
        })?;
    Ok(json_response(
        feature_json(l, i, &lonlat(&bp)?)?,
        "application/geo+json",
    ))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ogc", axum::routing::get(landing))
        .route("/ogc/conformance", axum::routing::get(conformance))
        .route("/ogc/collections", axum::routing::get(collections))
        .route("/ogc/collections/{id}", axum::routing::get(one_collection))
        .route("/ogc/collections/{id}/items", axum::routing::get(items))
        .route(
            "/ogc/collections/{id}/items/{fid}",
            axum::routing::get(item),
        )
}
