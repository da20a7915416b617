//! The map figure as SVG: the plan layers the site touches, the site outline on top, a scale
//! bar in metres, a north arrow and a legend. Drawn in the working CRS (metres, north up) at one
//! scale for both axes, so distances on the figure are true.

use std::fmt::Write;

use crate::checklist::map::{MapData, MapLayer};
use crate::layer::GeomKind;

/// Font stack of the figure's text; Typst resolves the first family from its own fonts.
const FONT: &str = "Noto Sans CJK SC, Noto Sans CJK, sans-serif";
const SITE_COLOUR: &str = "#d00000";

/// XML text and attribute escaping.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The layer colour if it is a plain CSS colour (`#rgb`, `#rrggbb`, `#rrggbbaa` or a name),
/// grey otherwise: colours come from data and end up inside attributes.
fn safe_colour(c: &str) -> &str {
    let hex = c.len() > 1
        && matches!(c.len(), 4 | 5 | 7 | 9)
        && c.starts_with('#')
        && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    let name = !c.is_empty() && c.len() <= 20 && c.chars().all(|ch| ch.is_ascii_alphabetic());
    if hex || name { c } else { "#999999" }
}

/// The scale bar length: the largest 1, 2 or 5 × 10ⁿ metres not longer than `max_m`.
pub fn nice_length(max_m: f64) -> f64 {
    if !(max_m.is_finite() && max_m > 0.0) {
        return 0.0;
    }
    let p = 10f64.powf(max_m.log10().floor());
    for m in [5.0, 2.0, 1.0] {
        if m * p <= max_m {
            return m * p;
        }
    }
    p
}

fn metres_text(m: f64) -> String {
    if m >= 1.0 {
        format!("{} m", m.round() as i64)
    } else {
        format!("{m} m")
    }
}

struct Transform {
    min_x: f64,
    max_y: f64,
    scale: f64,
    ox: f64,
    oy: f64,
}

impl Transform {
    fn px(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        Some((
            self.ox + (x - self.min_x) * self.scale,
            self.oy + (self.max_y - y) * self.scale,
        ))
    }

    /// A path `d` for rings (closed) or lines (open); non-finite vertices are skipped.
    fn path(&self, parts: &[Vec<(f64, f64)>], close: bool) -> String {
        let mut d = String::new();
        for part in parts {
            let mut first = true;
            let mut n = 0;
            for p in part.iter().filter_map(|&c| self.px(c)) {
                let _ = write!(d, "{}{:.1} {:.1}", if first { "M" } else { "L" }, p.0, p.1);
                first = false;
                n += 1;
            }
            if close && n > 0 {
                d.push('Z');
            }
        }
        d
    }
}

fn draw_layer(out: &mut String, t: &Transform, layer: &MapLayer) {
    let colour = safe_colour(&layer.color);
    let _ = write!(out, r#"<g data-layer="{}">"#, esc(&layer.layer));
    match layer.kind {
        GeomKind::Polygon => {
            for shape in &layer.shapes {
                let d = t.path(shape, true);
                if !d.is_empty() {
                    let _ = write!(
                        out,
                        r#"<path d="{d}" fill="{colour}" fill-opacity="0.35" fill-rule="evenodd" stroke="{colour}" stroke-width="0.8"/>"#
                    );
                }
            }
        }
        GeomKind::Line => {
            for shape in &layer.shapes {
                let d = t.path(shape, false);
                if !d.is_empty() {
                    let _ = write!(
                        out,
                        r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>"#
                    );
                }
            }
        }
        GeomKind::Point => {
            for p in layer
                .shapes
                .iter()
                .flatten()
                .flatten()
                .filter_map(|&c| t.px(c))
            {
                let _ = write!(
                    out,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}" stroke="#ffffff" stroke-width="0.8"/>"##,
                    p.0, p.1
                );
            }
        }
    }
    out.push_str("</g>");
}

fn legend_swatch(out: &mut String, kind: Option<GeomKind>, colour: &str, x: f64, y: f64) {
    match kind {
        None => {
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="18" height="10" fill="none" stroke="{SITE_COLOUR}" stroke-width="2.5"/>"#,
                y - 5.0
            );
        }
        Some(GeomKind::Polygon) => {
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="18" height="10" fill="{colour}" fill-opacity="0.35" stroke="{colour}" stroke-width="0.8"/>"#,
                y - 5.0
            );
        }
        Some(GeomKind::Line) => {
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/>"#,
                x + 18.0
            );
        }
        Some(GeomKind::Point) => {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{y:.1}" r="3.5" fill="{colour}"/>"#,
                x + 9.0
            );
        }
    }
}

/// The map figure, `width_px` × `height_px`, legend on the right.
pub fn map_svg(map: &MapData, width_px: u32, height_px: u32) -> String {
    let w = f64::from(width_px.max(100));
    let h = f64::from(height_px.max(80));
    let pad = 8.0;
    let legend_w = (w * 0.3).clamp(90.0, 220.0);
    let map_w = w - legend_w - 2.0 * pad;
    let map_h = h - 2.0 * pad;
    let [min_x, min_y, max_x, max_y] = map.frame;
    let fw = (max_x - min_x).abs().max(1e-6);
    let fh = (max_y - min_y).abs().max(1e-6);
    let scale = if fw.is_finite() && fh.is_finite() {
        (map_w / fw).min(map_h / fh)
    } else {
        1.0
    };
    // Centre the frame in the map area.
    let t = Transform {
        min_x,
        max_y,
        scale,
        ox: pad + (map_w - fw * scale) / 2.0,
        oy: pad + (map_h - fh * scale) / 2.0,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="11">"#
    );
    let _ = write!(
        s,
        r#"<title>{}</title><defs><clipPath id="lantu-map-clip"><rect x="{pad}" y="{pad}" width="{map_w:.1}" height="{map_h:.1}"/></clipPath></defs>"#,
        super::MAP_CAPTION
    );
    let _ = write!(
        s,
        r##"<rect x="{pad}" y="{pad}" width="{map_w:.1}" height="{map_h:.1}" fill="#ffffff" stroke="#444444" stroke-width="0.8"/>"##
    );
    s.push_str(r#"<g clip-path="url(#lantu-map-clip)">"#);
    for layer in &map.layers {
        draw_layer(&mut s, &t, layer);
    }
    for shape in &map.site {
        let d = t.path(shape, true);
        if !d.is_empty() {
            let _ = write!(
                s,
                r#"<path data-layer="site" d="{d}" fill="none" fill-rule="evenodd" stroke="{SITE_COLOUR}" stroke-width="2.5" stroke-linejoin="round"/>"#
            );
        }
    }
    s.push_str("</g>");

    // Scale bar: a nice length of at most a quarter of the map width, bottom left.
    let bar_m = nice_length(map_w / 4.0 / scale);
    if bar_m > 0.0 {
        let bar_px = bar_m * scale;
        let (x0, y0) = (pad + 10.0, pad + map_h - 14.0);
        let _ = write!(
            s,
            r##"<g data-role="scale-bar"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="22" fill="#ffffff" fill-opacity="0.8"/><rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="4" fill="#000000"/><rect x="{:.1}" y="{y0:.1}" width="{:.1}" height="4" fill="#ffffff" stroke="#000000" stroke-width="0.6"/><text x="{x0:.1}" y="{:.1}" font-size="9">0</text><text x="{:.1}" y="{:.1}" font-size="9" text-anchor="end">{}</text></g>"##,
            x0 - 4.0,
            y0 - 12.0,
            bar_px + 8.0,
            bar_px / 2.0,
            x0 + bar_px / 2.0,
            bar_px / 2.0,
            y0 - 3.0,
            x0 + bar_px,
            y0 - 3.0,
            metres_text(bar_m)
        );
    }
    // North arrow, top right of the map: the working CRS is north-up.
    let (nx, ny) = (pad + map_w - 18.0, pad + 10.0);
    let _ = write!(
        s,
        r##"<g data-role="north-arrow"><path d="M{nx:.1} {ny:.1}L{:.1} {:.1}L{nx:.1} {:.1}Z" fill="#000000"/><path d="M{nx:.1} {ny:.1}L{:.1} {:.1}L{nx:.1} {:.1}Z" fill="#ffffff" stroke="#000000" stroke-width="0.6"/><text x="{nx:.1}" y="{:.1}" font-size="10" text-anchor="middle" font-weight="bold">N</text></g>"##,
        nx + 6.0,
        ny + 22.0,
        ny + 16.0,
        nx - 6.0,
        ny + 22.0,
        ny + 16.0,
        ny + 33.0
    );

    // Legend: the site, then the layers in drawing order.
    let lx = pad + map_w + pad;
    let mut ly = pad + 12.0;
    let _ = write!(
        s,
        r#"<g data-role="legend"><text x="{lx:.1}" y="{ly:.1}" font-size="12" font-weight="bold">图例</text>"#
    );
    ly += 18.0;
    legend_swatch(&mut s, None, SITE_COLOUR, lx, ly);
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}">地块范围</text>"#,
        lx + 24.0,
        ly + 4.0
    );
    for layer in &map.layers {
        ly += 16.0;
        if ly > h - pad {
            break;
        }
        legend_swatch(&mut s, Some(layer.kind), safe_colour(&layer.color), lx, ly);
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            ly + 4.0,
            esc(&layer.title)
        );
    }
    s.push_str("</g></svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_bar_lengths_are_one_two_five() {
        assert_eq!(nice_length(180.0), 100.0);
        assert_eq!(nice_length(260.0), 200.0);
        assert_eq!(nice_length(999.0), 500.0);
        assert_eq!(nice_length(1000.0), 1000.0);
        assert_eq!(nice_length(0.0), 0.0);
    }

    #[test]
    fn colours_from_data_cannot_break_out_of_attributes() {
        assert_eq!(safe_colour("#1f78b4"), "#1f78b4");
        assert_eq!(safe_colour("red"), "red");
        assert_eq!(safe_colour("red\" onload=\"x"), "#999999");
        assert_eq!(safe_colour("#12345z"), "#999999");
    }

    #[test]
    fn frame_maps_north_up_at_one_scale() {
        // A 600 m × 200 m frame in a 700 × 300 figure: the map area is 700-210-16 = 474 wide
        // and 284 high, so the scale is min(474/600, 284/200) = 0.79 px/m.
        let map = MapData {
            frame: [1000.0, 5000.0, 1600.0, 5200.0],
            site: vec![vec![vec![
                (1000.0, 5000.0),
                (1600.0, 5000.0),
                (1600.0, 5200.0),
                (1000.0, 5200.0),
                (1000.0, 5000.0),
            ]]],
            layers: Vec::new(),
        };
        let svg = map_svg(&map, 700, 300);
        // Frame height 200 m × 0.79 = 158 px, centred in 284 px: top at 8 + 63 = 71; the
        // north-west corner (1000, 5200) is the top-left of the drawn frame.
        assert!(
            svg.contains("M8.0 229.0L482.0 229.0L482.0 71.0L8.0 71.0L8.0 229.0Z"),
            "{svg}"
        );
        // A quarter of the map is 150 m → a 100 m bar.
        assert!(svg.contains(">100 m</text>"), "{svg}");
    }
}
