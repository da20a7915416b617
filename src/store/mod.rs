//! The embedded store: a directory of immutable, content-addressed FlatGeobuf layer versions and
//! a SQLite catalog (layers, versions with provenance, blueprints as named sets of versions, an
//! append-only audit log).
//!
//! ```text
//! <store>/catalog.sqlite        catalog (WAL, synchronous=FULL)
//! <store>/layers/<sha256>.fgb   one file per layer version, never modified
//! <store>/layers/<sha256>.flat  its flat index (boxes, classes, R-tree; derived, rebuilt if bad)
//! <store>/tmp/                  files being written; anything here after a crash is garbage
//! ```
//!
//! Atomicity: an import first writes every new layer object (temp file, fsync, rename — an object
//! is either absent or complete), then records versions, the new blueprint version and the audit
//! entry in one SQLite transaction. A failure or `kill -9` before the commit leaves the catalog,
//! and so every blueprint, exactly as it was; at worst an unreferenced object remains on disk.

pub mod fgb;
pub mod flat;

use std::fs::{self, File};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::blueprint::spec::LayerSpec;
use crate::layer::LayerData;

pub use fgb::FgbError;
pub use flat::{FlatError, FlatLayer};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("layer object {hash}: {source}")]
    Object {
        hash: String,
        #[source]
        source: FgbError,
    },
    #[error(transparent)]
    Flat(#[from] FlatError),
    #[error("layer object {hash} is corrupt: its content hashes to {actual}")]
    Corrupt { hash: String, actual: String },
    #[error("no blueprint `{0}` in the store")]
    NoBlueprint(String),
    #[error("the store has no blueprint yet: import a manifest or a layer first")]
    Empty,
    #[error("no layer version {0} in the store")]
    NoVersion(String),
    #[error("no layer `{0}` in the store")]
    NoLayer(String),
    #[error("catalog entry is malformed: {0}")]
    Malformed(String),
    #[error("blueprint `{name}` has no version {version}")]
    NoBlueprintVersion { name: String, version: i64 },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Current time as RFC 3339 UTC, the timestamp format of the catalog.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where a layer version came from, as recorded in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// File name (relative to the manifest, or as given on the command line).
    pub name: String,
    /// SHA-256 of the source bytes (all sidecar files of a shapefile, in name order).
    pub hash: String,
    pub format: String,
    /// The CRS the source was read in, and how it was established.
    pub crs: crate::crs::ResolvedCrs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// Catalog row of one layer version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVersion {
    /// SHA-256 of the FlatGeobuf object: the version's identity.
    pub hash: String,
    pub layer_id: String,
    /// 1, 2, 3 … per layer, in import order.
    pub seq: i64,
    pub imported_at: String,
    pub spec: LayerSpec,
    pub source: SourceInfo,
    pub working_crs: String,
    pub feature_count: usize,
    pub planar_area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub repaired: usize,
    pub rejected: usize,
}

/// A blueprint version: a named set of layer versions in one working CRS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlueprintVersion {
    pub name: String,
    pub version: i64,
    pub crs: String,
    pub created_at: String,
    pub note: String,
    /// Manifest-level settings (district code, rules file …) as JSON.
    pub settings: serde_json::Value,
    pub layers: Vec<LayerVersion>,
}

impl BlueprintVersion {
    /// A file the manifest named in its settings (`rules`, `checklist`), if it is still there.
    pub fn setting_path(&self, key: &str) -> Option<&Path> {
        self.settings
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|p| !p.is_empty())
            .map(Path::new)
            .filter(|p| p.exists())
    }

    pub fn layer(&self, id: &str) -> Option<&LayerVersion> {
        self.layers.iter().find(|l| l.layer_id == id)
    }
}

/// A layer version to record: its object is already written.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub hash: String,
    pub spec: LayerSpec,
    pub source: SourceInfo,
    pub working_crs: String,
    pub feature_count: usize,
    pub planar_area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub repaired: usize,
    pub rejected: usize,
    pub report: serde_json::Value,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub blueprint: String,
    pub detail: serde_json::Value,
}

/// A written layer object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub hash: String,
    pub bytes: u64,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS layers (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_versions (
    hash TEXT PRIMARY KEY,
    layer_id TEXT NOT NULL REFERENCES layers(id),
    seq INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    spec TEXT NOT NULL,
    source TEXT NOT NULL,
    working_crs TEXT NOT NULL,
    feature_count INTEGER NOT NULL,
    planar_area_m2 REAL NOT NULL,
    ellipsoidal_area_m2 REAL NOT NULL,
    repaired INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    report TEXT NOT NULL,
    UNIQUE (layer_id, seq)
);
CREATE TABLE IF NOT EXISTS blueprints (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    crs TEXT NOT NULL,
    created_at TEXT NOT NULL,
    note TEXT NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS blueprint_layers (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    layer_id TEXT NOT NULL,
    hash TEXT NOT NULL REFERENCES layer_versions(hash),
    PRIMARY KEY (name, version, layer_id),
    FOREIGN KEY (name, version) REFERENCES blueprints(name, version)
);
-- The active version of each blueprint; swapped by activation, never by a half-done import.
CREATE TABLE IF NOT EXISTS heads (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    blueprint TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

/// The embedded store. `Sync`: the catalog connection sits behind a mutex, layer objects are
/// immutable files.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = root.as_ref().to_path_buf();
        for dir in [root.clone(), root.join("layers"), root.join("tmp")] {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        let conn = Connection::open(root.join("catalog.sqlite"))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            root,
            conn: Mutex::new(conn),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalog connection. A poisoned lock only means another thread panicked while holding
    /// it; SQLite's own transactions keep the data consistent, so the connection is reused.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn object_path(&self, hash: &str) -> PathBuf {
        self.root.join("layers").join(format!("{hash}.fgb"))
    }

    pub fn flat_path(&self, hash: &str) -> PathBuf {
        self.root.join("layers").join(format!("{hash}.flat"))
    }

    /// Writes `bytes` to `target` through a synced temp file and a rename: `target` is either
    /// absent or complete. The temp file is removed if anything fails before the rename.
    fn write_atomically(&self, bytes: &[u8], target: &Path, ext: &str) -> Result<(), StoreError> {
        let dir = self.root.join("tmp");
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .suffix(&format!(".{ext}"))
            .tempfile_in(&dir)
            .map_err(io_err(&dir))?;
        let path = tmp.path().to_path_buf();
        // Readable like any other store file (a temp file is created owner-only).
        let mode = <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644);
        tmp.as_file().set_permissions(mode).map_err(io_err(&path))?;
        tmp.write_all(bytes).map_err(io_err(&path))?;
        tmp.as_file().sync_all().map_err(io_err(&path))?;
        tmp.persist(target).map_err(|e| StoreError::Io {
            path: target.to_path_buf(),
            source: e.error,
        })?;
        let dir = self.root.join("layers");
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))
    }

    /// The flat index at `path` if it is usable; `None` when it must be (re)built: missing, of
    /// an older format, made from another object, or damaged.
    fn usable_flat(path: &Path, hash: &str) -> Result<Option<FlatLayer>, StoreError> {
        match FlatLayer::open(path, hash) {
            Ok(f) => Ok(f),
            Err(e @ FlatError::Invalid { .. }) => {
                tracing::warn!("rebuilding the flat index: {e}");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The flat index of layer version `hash`, built from the object if missing, stale or
    /// damaged.
    pub fn flat_layer(&self, hash: &str) -> Result<FlatLayer, StoreError> {
        let path = self.flat_path(hash);
        if let Some(f) = Store::usable_flat(&path, hash)? {
            return Ok(f);
        }
        let layer = self.read_layer(hash)?;
        self.write_atomically(&flat::encode(&layer, hash)?, &path, "flat")?;
        FlatLayer::open(&path, hash)?.ok_or_else(|| {
            StoreError::Malformed(format!(
                "{}: unreadable right after writing",
                path.display()
            ))
        })
    }

    /// Writes a layer object (temp file, fsync, rename) and its flat index. Returns its content
    /// hash.
    pub fn put_layer(&self, layer: &LayerData, epsg: u32) -> Result<ObjectRef, StoreError> {
        let mut bytes = Vec::new();
        fgb::write_layer(layer, epsg, &mut bytes).map_err(|source| StoreError::Object {
            hash: "(new)".to_string(),
            source,
        })?;
        let hash = hex::encode(Sha256::digest(&bytes));
        let target = self.object_path(&hash);
        let flat_target = self.flat_path(&hash);
        // A new object gets its flat index; a known one keeps a usable index it already has.
        let known = target.exists();
        if !known {
            self.write_atomically(&bytes, &target, "fgb")?;
        }
        if !known || Store::usable_flat(&flat_target, &hash)?.is_none() {
            self.write_atomically(&flat::encode(layer, &hash)?, &flat_target, "flat")?;
        }
        Ok(ObjectRef {
            hash,
            bytes: bytes.len() as u64,
        })
    }

    /// Reads a layer version's features.
    pub fn read_layer(&self, hash: &str) -> Result<LayerData, StoreError> {
        let path = self.object_path(hash);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::NoVersion(hash.to_string())
            } else {
                StoreError::Io {
                    path: path.clone(),
                    source: e,
                }
            }
        })?;
        fgb::read_layer(BufReader::with_capacity(1 << 20, file)).map_err(|source| {
            StoreError::Object {
                hash: hash.to_string(),
                source,
            }
        })
    }

    /// Re-hashes a layer object and compares it with its name.
    pub fn verify_object(&self, hash: &str) -> Result<(), StoreError> {
        let path = self.object_path(hash);
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual == hash {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                hash: hash.to_string(),
                actual,
            })
        }
    }

    /// The blueprint used when none is named: the one set by the last manifest import.
    pub fn default_blueprint(&self) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'default_blueprint'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records new layer versions and a new blueprint version built from the current head of
    /// `blueprint` with these layers replaced or added, atomically, with an audit entry.
    /// Layers whose content equals their current version are kept as they are.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_import(
        &self,
        blueprint: &str,
        crs: &str,
        settings: Option<&serde_json::Value>,
        versions: &[NewVersion],
        actor: &str,
        note: &str,
        make_default: bool,
    ) -> Result<BlueprintVersion, StoreError> {
        let now = now_rfc3339();
        {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            let head: Option<i64> = tx
                .query_row(
                    "SELECT version FROM heads WHERE name = ?1",
                    params![blueprint],
                    |r| r.get(0),
                )
                .optional()?;
            let mut members: Vec<(String, String)> = Vec::new();
            let mut prev_settings = serde_json::json!({});
            if let Some(v) = head {
                let mut stmt = tx.prepare(
                    "SELECT layer_id, hash FROM blueprint_layers WHERE name = ?1 AND version = ?2 \
                     ORDER BY layer_id",
                )?;
                members = stmt
                    .query_map(params![blueprint, v], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let s: String = tx.query_row(
                    "SELECT settings FROM blueprints WHERE name = ?1 AND version = ?2",
                    params![blueprint, v],
                    |r| r.get(0),
                )?;
                prev_settings = serde_json::from_str(&s)
                    .map_err(|e| StoreError::Malformed(format!("blueprint settings: {e}")))?;
            }
            let mut changed = Vec::new();
            for nv in versions {
                tx.execute(
                    "INSERT OR IGNORE INTO layers (id, created_at) VALUES (?1, ?2)",
                    params![nv.spec.id, now],
                )?;
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT layer_id FROM layer_versions WHERE hash = ?1",
                        params![nv.hash],
                        |r| r.get(0),
                    )
                    .optional()?;
                match existing {
                    Some(owner) if owner == nv.spec.id => {}
                    Some(owner) => {
                        return Err(StoreError::Malformed(format!(
                            "layer `{}` has exactly the content of layer `{owner}`; import it under \
                             one id",
                            nv.spec.id
                        )));
                    }
                    None => {
                        let seq: i64 = tx.query_row(
                            "SELECT COALESCE(MAX(seq), 0) + 1 FROM layer_versions WHERE layer_id = ?1",
                            params![nv.spec.id],
                            |r| r.get(0),
                        )?;
                        let spec = serde_json::to_string(&nv.spec)
                            .map_err(|e| StoreError::Malformed(e.to_string()))?;
                        let source = serde_json::to_string(&nv.source)
                            .map_err(|e| StoreError::Malformed(e.to_string()))?;
                        tx.execute(
                            "INSERT INTO layer_versions (hash, layer_id, seq, imported_at, spec, \
                             source, working_crs, feature_count, planar_area_m2, \
                             ellipsoidal_area_m2, repaired, rejected, report) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                            params![
                                nv.hash,
                                nv.spec.id,
                                seq,
                                now,
                                spec,
                                source,
                                nv.working_crs,
                                nv.feature_count as i64,
                                nv.planar_area_m2,
                                nv.ellipsoidal_area_m2,
                                nv.repaired as i64,
                                nv.rejected as i64,
                                nv.report.to_string(),
                            ],
                        )?;
                    }
                }
                match members.iter_mut().find(|(id, _)| *id == nv.spec.id) {
                    Some((_, h)) if *h == nv.hash => {}
                    Some((_, h)) => {
                        *h = nv.hash.clone();
                        changed.push(nv.spec.id.clone());
                    }
                    None => {
                        members.push((nv.spec.id.clone(), nv.hash.clone()));
                        changed.push(nv.spec.id.clone());
                    }
                }
            }
            let settings = settings.cloned().unwrap_or(prev_settings);
            let version = head.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO blueprints (name, version, crs, created_at, note, settings) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![blueprint, version, crs, now, note, settings.to_string()],
            )?;
            for (layer_id, hash) in &members {
                tx.execute(
                    "INSERT INTO blueprint_layers (name, version, layer_id, hash) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![blueprint, version, layer_id, hash],
                )?;
            }
            tx.execute(
                "INSERT INTO heads (name, version) VALUES (?1, ?2) \
                 ON CONFLICT(name) DO UPDATE SET version = excluded.version",
                params![blueprint, version],
            )?;
            if make_default || head.is_none() {
                let has_default: Option<String> = tx
                    .query_row(
                        "SELECT value FROM settings WHERE key = 'default_blueprint'",
                        [],
                        |r| r.get(0),
                    )
                    .optional()?;
                if make_default || has_default.is_none() {
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES ('default_blueprint', ?1) \
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        params![blueprint],
                    )?;
                }
            }
            let detail = serde_json::json!({
                "version": version,
                "layers": versions.iter().map(|v| serde_json::json!({
                    "layer": v.spec.id, "hash": v.hash, "source": v.source.name,
                    "features": v.feature_count, "repaired": v.repaired, "rejected": v.rejected,
                })).collect::<Vec<_>>(),
                "changed": changed,
                "note": note,
            });
            append_audit(
                &tx,
                actor,
                "import",
                blueprint,
                &format!("{blueprint}@{version}"),
                &detail,
            )?;
            tx.commit()?;
        }
        self.blueprint(blueprint, None)
    }

    /// A blueprint version (the head when `version` is `None`) with its layer versions.
    pub fn blueprint(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<BlueprintVersion, StoreError> {
        let conn = self.conn();
        let version = match version {
            Some(v) => v,
            None => conn
                .query_row(
                    "SELECT version FROM heads WHERE name = ?1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::NoBlueprint(name.to_string()))?,
        };
        let row: Option<(String, String, String, String)> = conn
            .query_row(
                "SELECT crs, created_at, note, settings FROM blueprints WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (crs, created_at, note, settings) =
            row.ok_or_else(|| StoreError::NoBlueprintVersion {
                name: name.to_string(),
                version,
            })?;
        let mut stmt = conn.prepare(
            "SELECT hash FROM blueprint_layers WHERE name = ?1 AND version = ?2 ORDER BY layer_id",
        )?;
        let hashes: Vec<String> = stmt
            .query_map(params![name, version], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        let mut layers = Vec::with_capacity(hashes.len());
        for h in hashes {
            layers.push(version_row(&conn, &h)?);
        }
        Ok(BlueprintVersion {
            name: name.to_string(),
            version,
            crs,
            created_at,
            note,
            settings: serde_json::from_str(&settings)
                .map_err(|e| StoreError::Malformed(format!("blueprint settings: {e}")))?,
            layers,
        })
    }

    /// The default blueprint's head.
    pub fn current(&self) -> Result<BlueprintVersion, StoreError> {
        let name = self.default_blueprint()?.ok_or(StoreError::Empty)?;
        self.blueprint(&name, None)
    }

    /// All blueprints with their head version and number of versions.
    pub fn blueprints(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT h.name, h.version, (SELECT COUNT(*) FROM blueprints b WHERE b.name = h.name) \
             FROM heads h ORDER BY h.name",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Makes `version` the active version of `name` (a rollback or a roll-forward).
    pub fn activate(&self, name: &str, version: i64, actor: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT version FROM blueprints WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::NoBlueprintVersion {
                name: name.to_string(),
                version,
            });
        }
        tx.execute(
            "INSERT INTO heads (name, version) VALUES (?1, ?2) \
             ON CONFLICT(name) DO UPDATE SET version = excluded.version",
            params![name, version],
        )?;
        append_audit(
            &tx,
            actor,
            "activate",
            name,
            &format!("{name}@{version}"),
            &serde_json::json!({ "version": version }),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn layer_version(&self, hash: &str) -> Result<LayerVersion, StoreError> {
        version_row(&self.conn(), hash)
    }

    /// The import report stored with a version.
    pub fn import_report(&self, hash: &str) -> Result<serde_json::Value, StoreError> {
        let conn = self.conn();
        let s: Option<String> = conn
            .query_row(
                "SELECT report FROM layer_versions WHERE hash = ?1",
                params![hash],
                |r| r.get(0),
            )
            .optional()?;
        let s = s.ok_or_else(|| StoreError::NoVersion(hash.to_string()))?;
        serde_json::from_str(&s).map_err(|e| StoreError::Malformed(format!("report: {e}")))
    }

    /// Every version of a layer, oldest first.
    pub fn layer_versions(&self, layer_id: &str) -> Result<Vec<LayerVersion>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT hash FROM layer_versions WHERE layer_id = ?1 ORDER BY seq")?;
        let hashes: Vec<String> = stmt
            .query_map(params![layer_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        if hashes.is_empty() {
            return Err(StoreError::NoLayer(layer_id.to_string()));
        }
        hashes.iter().map(|h| version_row(&conn, h)).collect()
    }

    /// Appends an audit entry outside any other change (site checks, exports …).
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        blueprint: &str,
        detail: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let conn = self.conn();
        append_audit(&conn, actor, action, target, blueprint, detail)
    }

    /// Audit entries, newest first, optionally filtered by action.
    pub fn audit_log(
        &self,
        action: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, at, actor, action, target, blueprint, detail FROM audit \
             WHERE (?1 IS NULL OR action = ?1) ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![action, limit as i64], |r| {
                let detail: String = r.get(6)?;
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    blueprint: r.get(5)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

fn append_audit(
    conn: &Connection,
    actor: &str,
    action: &str,
    target: &str,
    blueprint: &str,
    detail: &serde_json::Value,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, blueprint, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            now_rfc3339(),
            actor,
            action,
            target,
            blueprint,
            detail.to_string()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn version_row(conn: &Connection, hash: &str) -> Result<LayerVersion, StoreError> {
    let row = conn
        .query_row(
            "SELECT layer_id, seq, imported_at, spec, source, working_crs, feature_count, \
             planar_area_m2, ellipsoidal_area_m2, repaired, rejected \
             FROM layer_versions WHERE hash = ?1",
            params![hash],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, f64>(7)?,
                    r.get::<_, f64>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, i64>(10)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| StoreError::NoVersion(hash.to_string()))?;
    let spec: LayerSpec = serde_json::from_str(&row.3)
        .map_err(|e| StoreError::Malformed(format!("spec of {hash}: {e}")))?;
    let source: SourceInfo = serde_json::from_str(&row.4)
        .map_err(|e| StoreError::Malformed(format!("source of {hash}: {e}")))?;
    Ok(LayerVersion {
        hash: hash.to_string(),
        layer_id: row.0,
        seq: row.1,
        imported_at: row.2,
        spec,
        source,
        working_crs: row.5,
        feature_count: usize::try_from(row.6).unwrap_or(0),
        planar_area_m2: row.7,
        ellipsoidal_area_m2: row.8,
        repaired: usize::try_from(row.9).unwrap_or(0),
        rejected: usize::try_from(row.10).unwrap_or(0),
    })
}
