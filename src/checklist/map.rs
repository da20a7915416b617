//! The data behind the checklist's map figure: the site and the features of the layers it
//! touches, within a frame around the site, in the working CRS. Renderers draw it (SVG in the
//! PDF and HTML); it is not part of the hashed checklist.

use geo::{BoundingRect, Coord, Intersects, Rect};
use serde::{Deserialize, Serialize};

use crate::blueprint::Blueprint;
use crate::layer::{Geom, GeomKind, LayerRole};
use crate::site::{Site, SiteAnalysis};

/// One drawn layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapLayer {
    pub layer: String,
    pub title: String,
    pub kind: GeomKind,
    /// CSS colour.
    pub color: String,
    /// Polygons as rings, lines as paths, points as one-coordinate paths.
    pub shapes: Vec<Vec<Vec<(f64, f64)>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapData {
    /// [min_x, min_y, max_x, max_y] of the frame (working CRS, metres).
    pub frame: [f64; 4],
    pub site: Vec<Vec<Vec<(f64, f64)>>>,
    pub layers: Vec<MapLayer>,
}

/// Colours by layer id (the conventional map colours of each line), then by role.
fn colour(id: &str, role: LayerRole, kind: GeomKind) -> &'static str {
    match id {
        "yjjbnt" => "#e6c229",
        "sthx" => "#2e8b57",
        "czkfbj" => "#c0392b",
        "lanxian" => "#1f78b4",
        "zixian" => "#8e44ad",
        "lvxian" => "#33a02c",
        "huangxian" => "#f1c40f",
        "js" => "#00bcd4",
        "ys" | "ws" => "#4c3926",
        "rq" => "#ff00ff",
        "dl" => "#ff0000",
        "tx" => "#00aa00",
        "gsmm" => "#1b5e20",
        "whp" => "#ff6f00",
        "wenwu" | "lsjz" => "#6a1b9a",
        _ => match (role, kind) {
            (LayerRole::UrbanPlan, _) => "#f4a582",
            (LayerRole::LandusePlan, _) => "#92c5de",
            (LayerRole::Boundary, _) => "#555555",
            (_, GeomKind::Point) => "#333333",
            _ => "#999999",
        },
    }
}

fn rings_of(g: &Geom) -> Vec<Vec<Vec<(f64, f64)>>> {
    let pts = |cs: &[Coord<f64>]| cs.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>();
    match g {
        Geom::Polygon(mp) => {
            mp.0.iter()
                .map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(|r| pts(&r.0))
                        .collect()
                })
                .collect()
        }
        Geom::Line(ml) => ml.0.iter().map(|l| vec![pts(&l.0)]).collect(),
        Geom::Point(mp) => mp.0.iter().map(|p| vec![vec![(p.x(), p.y())]]).collect(),
    }
}

/// Map data for a site: frame = the site's box grown by 40 % (at least 100 m) each side.
pub fn map_data(bp: &Blueprint, site: &Site, analysis: &SiteAnalysis) -> MapData {
    let bbox = site.geometry.bounding_rect().unwrap_or_else(|| {
        Rect::new(
            Coord {
                x: analysis.point.0,
                y: analysis.point.1,
            },
            Coord {
                x: analysis.point.0,
                y: analysis.point.1,
            },
        )
    });
    let margin = (bbox.width().max(bbox.height()) * 0.4).max(100.0);
    let frame = Rect::new(
        Coord {
            x: bbox.min().x - margin,
            y: bbox.min().y - margin,
        },
        Coord {
            x: bbox.max().x + margin,
            y: bbox.max().y + margin,
        },
    );
    let touched: Vec<&str> = analysis
        .overlaps
        .iter()
        .filter(|o| o.area_m2 > 0.0 && o.role != LayerRole::Boundary)
        .map(|o| o.layer.as_str())
        .chain(analysis.proximity.iter().map(|p| p.layer.as_str()))
        .chain(analysis.assessments.iter().map(|a| a.layer.as_str()))
        .collect();
    let mut layers = Vec::new();
    for l in &bp.layers {
        if !touched.contains(&l.id()) || l.role() == LayerRole::Site {
            continue;
        }
        let shapes: Vec<Vec<Vec<(f64, f64)>>> = l
            .index
            .candidates(&frame)
            .filter(|&i| match &l.data.features[i].geom {
                Geom::Polygon(mp) => mp.intersects(&frame),
                Geom::Line(ml) => ml.intersects(&frame),
                Geom::Point(mp) => mp.intersects(&frame),
            })
            .flat_map(|i| rings_of(&l.data.features[i].geom))
            .collect();
        if shapes.is_empty() {
            continue;
        }
        layers.push(MapLayer {
            layer: l.id().to_string(),
            title: l.spec().display_title().to_string(),
            kind: l.data.kind,
            color: colour(l.id(), l.role(), l.data.kind).to_string(),
            shapes,
        });
    }
    // Plans below, lines above, points on top.
    layers.sort_by_key(|m| match m.kind {
        GeomKind::Polygon => 0,
        GeomKind::Line => 1,
        GeomKind::Point => 2,
    });
    MapData {
        frame: [frame.min().x, frame.min().y, frame.max().x, frame.max().y],
        site: rings_of(&Geom::Polygon(site.geometry.clone())),
        layers,
    }
}
