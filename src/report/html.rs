//! The checklist as one self-contained, printable HTML page (inline CSS and SVG, A4 print CSS).

use minijinja::{Environment, Value, context};

use super::{MAP_CAPTION, ReportError, SOURCES_TITLE, View, map_svg};
use crate::checklist::Checklist;
use crate::checklist::map::MapData;

const TEMPLATE_NAME: &str = "checklist.html";
const TEMPLATE: &str = include_str!("templates/checklist.html");

/// Size of the map figure in the HTML page (CSS pixels; it scales to the page width).
const MAP_W: u32 = 760;
const MAP_H: u32 = 480;

pub fn render_html(c: &Checklist, map: &MapData) -> Result<String, ReportError> {
    let mut env = Environment::new();
    // The `.html` name turns on minijinja's HTML autoescape for every interpolated value.
    env.add_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(|e| ReportError::Html(e.to_string()))?;
    let tpl = env
        .get_template(TEMPLATE_NAME)
        .map_err(|e| ReportError::Html(e.to_string()))?;
    let view = View::new(c);
    // The SVG is built by `map_svg`, which escapes every string it takes from the data.
    let svg = Value::from_safe_string(map_svg(map, MAP_W, MAP_H));
    // The hash also goes into the print CSS (page footer); only a real hex digest may.
    let footer_hash = (view.sha256.len() == 64
        && view.sha256.chars().all(|c| c.is_ascii_hexdigit()))
    .then(|| view.sha256.clone());
    tpl.render(context! {
        v => view,
        footer_hash => footer_hash,
        map_svg => svg,
        map_caption => MAP_CAPTION,
        sources_title => SOURCES_TITLE,
    })
    .map_err(|e| ReportError::Html(e.to_string()))
}
