//! Checklist renderers (transitional: the HTML/PDF/XLSX renderers are being merged).

mod dispatch;
pub mod txt;

pub use dispatch::{Rendered, render};

use crate::checklist::Checklist;
use crate::checklist::map::MapData;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("rendering: {0}")]
    Render(String),
    #[error("unknown format `{0}`")]
    UnknownFormat(String),
}

pub fn render_html(_: &Checklist, _: &MapData) -> Result<String, ReportError> {
    Err(ReportError::Render("HTML renderer not merged yet".into()))
}

pub fn render_pdf(_: &Checklist, _: &MapData) -> Result<Vec<u8>, ReportError> {
    Err(ReportError::Render("PDF renderer not merged yet".into()))
}

pub fn render_xlsx(_: &Checklist) -> Result<Vec<u8>, ReportError> {
    Err(ReportError::Render("XLSX renderer not merged yet".into()))
}
