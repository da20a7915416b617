//! One entry point for every checklist format the CLI and the API serve.

use crate::checklist::Checklist;
use crate::checklist::map::MapData;

use super::ReportError;

/// A rendered checklist document.
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub extension: &'static str,
    /// Shown in the browser (HTML, PDF, JSON) rather than downloaded.
    pub inline: bool,
}

/// Renders `format`: json, html, pdf, xlsx or txt (the site's 界址点 coordinates).
pub fn render(format: &str, c: &Checklist, map: &MapData) -> Result<Rendered, ReportError> {
    Ok(match format {
        "json" => Rendered {
            bytes: c
                .to_json()
                .map_err(|e| ReportError::Render(e.to_string()))?
                .into_bytes(),
            content_type: "application/json",
            extension: "json",
            inline: true,
        },
        "html" => Rendered {
            bytes: super::render_html(c, map)?.into_bytes(),
            content_type: "text/html; charset=utf-8",
            extension: "html",
            inline: true,
        },
        #[cfg(feature = "pdf")]
        "pdf" => Rendered {
            bytes: super::render_pdf(c, map)?,
            content_type: "application/pdf",
            extension: "pdf",
            inline: true,
        },
        #[cfg(not(feature = "pdf"))]
        "pdf" => {
            return Err(ReportError::Render(
                "this build of lantu has no PDF renderer (built without the `pdf` feature)".into(),
            ));
        }
        "xlsx" => Rendered {
            bytes: super::render_xlsx(c)?,
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            extension: "xlsx",
            inline: false,
        },
        "txt" => Rendered {
            bytes: super::txt::render_txt(c)?,
            content_type: "text/plain; charset=GBK",
            extension: "txt",
            inline: false,
        },
        other => return Err(ReportError::UnknownFormat(other.to_string())),
    })
}
