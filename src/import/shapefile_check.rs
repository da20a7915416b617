//! Structural checks of a Shapefile before GDAL opens it.
//!
//! GDAL reads what it can of a damaged shapefile and reports the rest through its error handler,
//! feature by feature; a user needs one clear sentence instead: which sidecar is missing, or that
//! the header promises more data than the file holds (a truncated copy, an interrupted upload).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::ImportError;

/// The sidecar with extension `ext` (any case), if present.
pub fn sidecar(shp: &Path, ext: &str) -> Option<PathBuf> {
    let dir = shp.parent().unwrap_or(Path::new("."));
    let stem = shp.file_stem()?.to_string_lossy().to_lowercase();
    std::fs::read_dir(dir).ok()?.find_map(|e| {
        let p = e.ok()?.path();
        let same_stem = p.file_stem()?.to_string_lossy().to_lowercase() == stem;
        let same_ext = p.extension()?.to_string_lossy().eq_ignore_ascii_case(ext);
        (same_stem && same_ext).then_some(p)
    })
}

fn header(path: &Path, n: usize) -> Result<(Vec<u8>, u64), ImportError> {
    let mut f = File::open(path).map_err(|e| ImportError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let len = f
        .metadata()
        .map_err(|e| ImportError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .len();
    let mut buf = vec![0u8; n];
    let mut read = 0;
    while read < n {
        match f.read(&mut buf[read..]) {
            Ok(0) => break,
            Ok(k) => read += k,
            Err(e) => {
                return Err(ImportError::Unreadable {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        }
    }
    buf.truncate(read);
    Ok((buf, len))
}

/// Checks sidecars and header lengths of `shp`.
pub fn check(shp: &Path) -> Result<(), ImportError> {
    for ext in ["shx", "dbf"] {
        if sidecar(shp, ext).is_none() {
            return Err(ImportError::MissingSidecar {
                path: shp.to_path_buf(),
                missing: format!(".{ext}"),
            });
        }
    }
    let (h, len) = header(shp, 100)?;
    if len == 0 {
        return Err(ImportError::Empty {
            path: shp.to_path_buf(),
        });
    }
    if h.len() < 100 {
        return Err(ImportError::Truncated {
            path: shp.to_path_buf(),
            reason: format!("the .shp is {len} bytes, shorter than its 100-byte header"),
        });
    }
    if h[0..4] != [0x00, 0x00, 0x27, 0x0a] {
        return Err(ImportError::Invalid {
            path: shp.to_path_buf(),
            reason: "not a shapefile (bad file code in the .shp header)".to_string(),
        });
    }
    // File length in 16-bit words, big-endian.
    let declared = u64::from(u32::from_be_bytes([h[24], h[25], h[26], h[27]])) * 2;
    if declared > len {
        return Err(ImportError::Truncated {
            path: shp.to_path_buf(),
            reason: format!(
                "the .shp header declares {declared} bytes but the file holds {len}: truncated"
            ),
        });
    }
    if let Some(shx) = sidecar(shp, "shx") {
        let (h, len) = header(&shx, 100)?;
        if h.len() < 100 {
            return Err(ImportError::Truncated {
                path: shx,
                reason: format!("the .shx is {len} bytes, shorter than its 100-byte header"),
            });
        }
        let declared = u64::from(u32::from_be_bytes([h[24], h[25], h[26], h[27]])) * 2;
        if declared > len {
            return Err(ImportError::Truncated {
                path: shx,
                reason: format!(
                    "the .shx header declares {declared} bytes but the file holds {len}: truncated"
                ),
            });
        }
    }
    if let Some(dbf) = sidecar(shp, "dbf") {
        let (h, len) = header(&dbf, 32)?;
        if h.len() < 32 {
            return Err(ImportError::Truncated {
                path: dbf,
                reason: format!("the .dbf is {len} bytes, shorter than its 32-byte header"),
            });
        }
        let records = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let header_len = u64::from(u16::from_le_bytes([h[8], h[9]]));
        let record_len = u64::from(u16::from_le_bytes([h[10], h[11]]));
        let needed = header_len + records * record_len;
        if needed > len {
            return Err(ImportError::Truncated {
                path: dbf,
                reason: format!(
                    "the .dbf header declares {records} records of {record_len} bytes \
                     ({needed} bytes with the header) but the file holds {len}: truncated"
                ),
            });
        }
    }
    Ok(())
}
