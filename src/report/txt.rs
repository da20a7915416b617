//! The site's boundary as a 界址点坐标 TXT (GBK), through the strict writer.

use crate::checklist::Checklist;

use super::ReportError;

/// Writes the checklist's site boundary as a 界址点 TXT file in GBK.
pub fn render_txt(c: &Checklist) -> Result<Vec<u8>, ReportError> {
    let _ = c;
    Err(ReportError::Render(
        "界址点 TXT writer not merged yet".into(),
    ))
}
