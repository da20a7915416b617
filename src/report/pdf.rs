//! The checklist as PDF through Typst: a fixed template (`templates/checklist.typ`) that reads
//! the checklist from an in-memory `/data.json` and the map from `/map.svg`. No user string is
//! ever pasted into Typst markup, so text like `#panic()` prints as it is.

use std::sync::{LazyLock, OnceLock};

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

use super::{MAP_CAPTION, ReportError, SOURCES_TITLE, View, map_svg};
use crate::checklist::Checklist;
use crate::checklist::map::MapData;

const TEMPLATE: &str = include_str!("templates/checklist.typ");

/// Debian `fonts-noto-cjk`: the collections hold JP, KR, SC, TC and HK faces; only the SC
/// faces are kept (the JP face is index 0 and would give Japanese glyph forms).
pub const FONT_FILES: [&str; 2] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
];
/// The text family; the template names it explicitly.
pub const FONT_FAMILY: &str = "Noto Sans CJK SC";
/// The monospaced family for the hash.
pub const MONO_FAMILY: &str = "Noto Sans Mono CJK SC";

/// Size of the map figure (SVG units; Typst scales it to the text width).
const MAP_W: u32 = 760;
const MAP_H: u32 = 440;

/// The fonts of the PDF, loaded once per process and shared by every render.
pub struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: OnceLock<Fonts> = OnceLock::new();
static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

impl Fonts {
    /// Loads the Noto Sans CJK SC faces (regular and bold, proportional and mono) on first use.
    pub fn load() -> Result<&'static Fonts, ReportError> {
        if let Some(f) = FONTS.get() {
            return Ok(f);
        }
        let loaded = Fonts::read(&FONT_FILES)?;
        // Two threads may both have read the files; the first one stored wins.
        Ok(FONTS.get_or_init(|| loaded))
    }

    fn read(paths: &[&str]) -> Result<Fonts, ReportError> {
        let mut fonts = Vec::new();
        for path in paths {
            let data = std::fs::read(path).map_err(|e| ReportError::FontMissing {
                path: (*path).to_string(),
                reason: e.to_string(),
            })?;
            let faces: Vec<Font> = Font::iter(Bytes::new(data))
                .filter(|f| {
                    let family = f.info().family.as_str();
                    family == FONT_FAMILY || family == MONO_FAMILY
                })
                .collect();
            if !faces.iter().any(|f| f.info().family == FONT_FAMILY) {
                return Err(ReportError::FontFace {
                    path: (*path).to_string(),
                    family: FONT_FAMILY.to_string(),
                });
            }
            fonts.extend(faces);
        }
        Ok(Fonts {
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        })
    }

    /// The families and styles loaded, for diagnostics.
    pub fn faces(&self) -> Vec<String> {
        self.fonts
            .iter()
            .map(|f| format!("{} {:?}", f.info().family, f.info().variant))
            .collect()
    }
}

fn file_id(path: &str) -> Result<FileId, ReportError> {
    let vpath = VirtualPath::new(path).map_err(|e| ReportError::Typst(format!("{path}: {e:?}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

/// One render: the template, the data and the map as the only files.
struct ReportWorld {
    fonts: &'static Fonts,
    main: Source,
    data_id: FileId,
    data: Bytes,
    map_id: FileId,
    map: Bytes,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.map_id {
            Ok(self.map.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.text().to_string()))
        } else {
            Err(FileError::NotFound(
                id.vpath().get_without_slash().to_string().into(),
            ))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The checklist carries its own time of issue; the template never asks for today.
        None
    }
}

fn diagnostics(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|d| {
            let mut s = d.message.to_string();
            for h in &d.hints {
                s.push_str(&format!(" (hint: {})", h.v));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders the checklist to PDF: A4, every page footed with its number and the hash.
pub fn render_pdf(c: &Checklist, map: &MapData) -> Result<Vec<u8>, ReportError> {
    let fonts = Fonts::load()?;
    let mut data =
        serde_json::to_value(View::new(c)).map_err(|e| ReportError::Data(e.to_string()))?;
    if let Some(obj) = data.as_object_mut() {
        obj.insert("map_caption".into(), MAP_CAPTION.into());
        obj.insert("sources_title".into(), SOURCES_TITLE.into());
    }
    let data = serde_json::to_vec(&data).map_err(|e| ReportError::Data(e.to_string()))?;
    let world = ReportWorld {
        fonts,
        main: Source::new(file_id("/main.typ")?, TEMPLATE.to_string()),
        data_id: file_id("/data.json")?,
        data: Bytes::new(data),
        map_id: file_id("/map.svg")?,
        map: Bytes::from_string(map_svg(map, MAP_W, MAP_H)),
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    for w in &compiled.warnings {
        tracing::debug!(warning = %w.message, "typst");
    }
    let doc = compiled
        .output
        .map_err(|e| ReportError::Typst(diagnostics(&e)))?;
    let options = PdfOptions {
        ident: Smart::Custom(format!("lantu-checklist-{}", c.sha256)),
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&doc, &options).map_err(|e| ReportError::PdfExport(diagnostics(&e)));
    // Typst memoises across compilations; drop what the last renders no longer use so a
    // long-running server does not grow.
    typst::comemo::evict(10);
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_font_file_names_the_path_and_the_package() {
        let err = Fonts::read(&["/nonexistent/NotoSansCJK-Regular.ttc"])
            .err()
            .expect("missing file");
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/NotoSansCJK-Regular.ttc"),
            "{msg}"
        );
        assert!(msg.contains("fonts-noto-cjk"), "{msg}");
    }
}
