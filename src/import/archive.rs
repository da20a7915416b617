//! Safe extraction of zipped uploads (a zipped Shapefile or FileGDB).
//!
//! Entry names are checked before anything is written (no absolute paths, no `..`, no drive
//! letters, no symlinks), and sizes are enforced on the bytes actually inflated, not on what the
//! central directory claims: a zip bomb is stopped when it crosses the limit.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("cannot read zip archive {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("zip entry `{0}` escapes the archive (absolute path or `..`): refused")]
    PathTraversal(String),
    #[error("zip entry `{0}` is a symbolic link: refused")]
    Symlink(String),
    #[error("zip archive holds {count} entries; the limit is {limit}")]
    TooManyEntries { count: usize, limit: usize },
    #[error(
        "zip archive inflates past {limit} bytes (at entry `{entry}`): refused as a possible zip bomb"
    )]
    TooLarge { entry: String, limit: u64 },
    #[error(
        "zip entry `{entry}` compresses {ratio:.0}:1 (over {limit}:1): refused as a possible zip bomb"
    )]
    Ratio {
        entry: String,
        ratio: f64,
        limit: f64,
    },
    #[error("extracting `{entry}`: {source}")]
    Io {
        entry: String,
        #[source]
        source: io::Error,
    },
}

/// Limits applied while extracting.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    pub max_entries: usize,
    pub max_total_bytes: u64,
    /// Highest uncompressed/compressed ratio accepted for entries above 1 MiB.
    pub max_ratio: f64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entries: 10_000,
            max_total_bytes: 4 << 30,
            max_ratio: 200.0,
        }
    }
}

/// A normalised relative path for a zip entry, or a refusal.
fn safe_relative(name: &str) -> Result<PathBuf, ArchiveError> {
    let normalised = name.replace('\\', "/");
    let path = Path::new(&normalised);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => {
                let s = part.to_string_lossy();
                if s.contains(':') {
                    return Err(ArchiveError::PathTraversal(name.to_string()));
                }
                out.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::PathTraversal(name.to_string()));
            }
        }
    }
    Ok(out)
}

/// Extracts `zip_path` into `dest` (which must exist and be empty). Returns the extracted files.
pub fn extract_zip(
    zip_path: &Path,
    dest: &Path,
    limits: ArchiveLimits,
) -> Result<Vec<PathBuf>, ArchiveError> {
    let unreadable = |reason: String| ArchiveError::Unreadable {
        path: zip_path.to_path_buf(),
        reason,
    };
    let file = File::open(zip_path).map_err(|e| unreadable(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| unreadable(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries {
            count: archive.len(),
            limit: limits.max_entries,
        });
    }
    // Check every name first so a hostile entry late in the archive leaves nothing behind.
    let mut plan = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| unreadable(e.to_string()))?;
        let name = entry.name().to_string();
        if entry.is_symlink() {
            return Err(ArchiveError::Symlink(name));
        }
        let rel = safe_relative(&name)?;
        plan.push((i, name, rel, entry.is_dir()));
    }
    let mut total: u64 = 0;
    let mut written = Vec::new();
    for (i, name, rel, is_dir) in plan {
        let target = dest.join(&rel);
        let io_err = |source: io::Error| ArchiveError::Io {
            entry: name.clone(),
            source,
        };
        if is_dir || rel.as_os_str().is_empty() {
            fs::create_dir_all(&target).map_err(io_err)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut entry = archive.by_index(i).map_err(|e| unreadable(e.to_string()))?;
        let compressed = entry.compressed_size().max(1);
        let mut out = File::create(&target).map_err(io_err)?;
        let remaining = limits.max_total_bytes.saturating_sub(total);
        // Read one byte past the remaining budget to detect an overflow without trusting headers.
        let mut limited = (&mut entry).take(remaining.saturating_add(1));
        let mut buf = vec![0u8; 64 * 1024];
        let mut entry_bytes: u64 = 0;
        loop {
            let n = limited.read(&mut buf).map_err(|e| ArchiveError::Io {
                entry: name.clone(),
                source: e,
            })?;
            if n == 0 {
                break;
            }
            entry_bytes += n as u64;
            if entry_bytes > remaining {
                drop(out);
                let _ = fs::remove_file(&target);
                return Err(ArchiveError::TooLarge {
                    entry: name,
                    limit: limits.max_total_bytes,
                });
            }
            let ratio = entry_bytes as f64 / compressed as f64;
            if entry_bytes > (1 << 20) && ratio > limits.max_ratio {
                drop(out);
                let _ = fs::remove_file(&target);
                return Err(ArchiveError::Ratio {
                    entry: name,
                    ratio,
                    limit: limits.max_ratio,
                });
            }
            out.write_all(&buf[..n]).map_err(|e| ArchiveError::Io {
                entry: name.clone(),
                source: e,
            })?;
        }
        total += entry_bytes;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, SimpleFileOptions::default())
                .expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn refuses_traversal_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let zip = dir.path().join("evil.zip");
        fs::write(
            &zip,
            make_zip(&[("ok.txt", b"fine"), ("../../etc/evil.txt", b"bad")]),
        )
        .expect("write zip");
        let dest = dir.path().join("out");
        fs::create_dir(&dest).expect("mkdir");
        let err = extract_zip(&zip, &dest, ArchiveLimits::default()).expect_err("traversal");
        assert!(matches!(err, ArchiveError::PathTraversal(ref n) if n == "../../etc/evil.txt"));
        assert_eq!(fs::read_dir(&dest).expect("read").count(), 0);
    }

    #[test]
    fn stops_a_bomb_on_inflated_bytes() {
        let dir = tempfile::tempdir().expect("tmp");
        let zip = dir.path().join("bomb.zip");
        let zeros = vec![0u8; 8 << 20];
        fs::write(&zip, make_zip(&[("zeros.dbf", &zeros)])).expect("write zip");
        let dest = dir.path().join("out");
        fs::create_dir(&dest).expect("mkdir");
        let err = extract_zip(&zip, &dest, ArchiveLimits::default()).expect_err("bomb");
        assert!(matches!(err, ArchiveError::Ratio { .. }), "{err}");
        let small = ArchiveLimits {
            max_total_bytes: 1 << 20,
            max_ratio: 1e9,
            ..ArchiveLimits::default()
        };
        let dest2 = dir.path().join("out2");
        fs::create_dir(&dest2).expect("mkdir");
        let err = extract_zip(&zip, &dest2, small).expect_err("too large");
        assert!(matches!(err, ArchiveError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn extracts_nested_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let zip = dir.path().join("ok.zip");
        fs::write(&zip, make_zip(&[("a/b.txt", b"x"), ("./c.txt", b"y")])).expect("zip");
        let dest = dir.path().join("out");
        fs::create_dir(&dest).expect("mkdir");
        let files = extract_zip(&zip, &dest, ArchiveLimits::default()).expect("extract");
        assert_eq!(files.len(), 2);
        assert_eq!(fs::read(dest.join("a/b.txt")).expect("read"), b"x");
    }
}
