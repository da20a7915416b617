//! Multipart uploads streamed to a temporary directory, with the field names checked and the
//! original file name reduced to a safe base name (no paths from the client reach the disk).

use std::collections::HashMap;
use std::path::PathBuf;

use axum::extract::Multipart;
use tokio::io::AsyncWriteExt;

use crate::server::ApiError;

/// An upload on disk plus its text fields. The directory is removed when this is dropped.
pub struct Upload {
    pub dir: tempfile::TempDir,
    pub file: Option<PathBuf>,
    pub fields: HashMap<String, String>,
}

/// File extensions accepted for uploaded sites and layers.
const EXTENSIONS: [&str; 9] = [
    "zip", "dxf", "kml", "txt", "geojson", "json", "gpkg", "fgb", "shp",
];

fn safe_name(name: &str) -> Result<String, ApiError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let ext = base
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !EXTENSIONS.contains(&ext.as_str()) {
        return Err(ApiError::unprocessable(format!(
            "file `{base}`: unsupported type (send .zip with a Shapefile, .dxf, .kml, .txt 界址点, .geojson)"
        ))
        .with_input(base.to_string()));
    }
    // Keep the extension (it selects the reader); the rest of the name is not trusted.
    Ok(format!("upload.{ext}"))
}

/// Reads a multipart body: one `file` part (streamed to disk, at most `max_bytes`) and text
/// parts.
pub async fn read(
    mut mp: Multipart,
    scratch: &std::path::Path,
    max_bytes: usize,
) -> Result<Upload, ApiError> {
    let dir = tempfile::tempdir_in(scratch)
        .map_err(|e| ApiError::internal(format!("temporary directory: {e}")))?;
    let mut upload = Upload {
        dir,
        file: None,
        fields: HashMap::new(),
    };
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if upload.file.is_some() {
                return Err(
                    ApiError::bad_request("send one `file` part per request").with_input("file")
                );
            }
            let fname = safe_name(field.file_name().unwrap_or("upload"))?;
            let path = upload.dir.path().join(fname);
            let mut out = tokio::fs::File::create(&path)
                .await
                .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            let mut written = 0usize;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| ApiError::bad_request(format!("upload interrupted: {e}")))?
            {
                written += chunk.len();
                if written > max_bytes {
                    return Err(ApiError::too_large(format!(
                        "the uploaded file exceeds {max_bytes} bytes"
                    ))
                    .with_input("file"));
                }
                out.write_all(&chunk)
                    .await
                    .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            }
            out.flush()
                .await
                .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            if written == 0 {
                return Err(
                    ApiError::unprocessable("the uploaded file is empty").with_input("file")
                );
            }
            upload.file = Some(path);
        } else {
            let text = field.text().await.map_err(|e| {
                ApiError::bad_request(format!("field `{name}`: {e}")).with_input(name.clone())
            })?;
            if text.len() > 64 << 10 {
                return Err(
                    ApiError::too_large(format!("field `{name}` is longer than 64 KiB"))
                        .with_input(name),
                );
            }
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}
