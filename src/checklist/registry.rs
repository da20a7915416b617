//! Issued checklists, kept in the store's catalog with their map data so any format can be
//! rendered again later, and every issue recorded in the audit log in the same transaction.

use rusqlite::{OptionalExtension, params};

use super::Checklist;
use super::map::MapData;
use crate::store::{Store, StoreError, now_rfc3339};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS checklists (
    sha256 TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    blueprint TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    checklist TEXT NOT NULL,
    map TEXT NOT NULL
);";

pub fn ensure_schema(store: &Store) -> Result<(), StoreError> {
    store.conn().execute_batch(SCHEMA)?;
    Ok(())
}

/// Stores an issued checklist and its audit entry in one transaction.
pub fn record(store: &Store, c: &Checklist, map: &MapData, actor: &str) -> Result<(), StoreError> {
    let json = c
        .to_json()
        .map_err(|e| StoreError::Malformed(e.to_string()))?;
    let map = serde_json::to_string(map).map_err(|e| StoreError::Malformed(e.to_string()))?;
    let mut conn = store.conn();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO checklists (sha256, site_id, blueprint, issued_at, actor, checklist, map) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            c.sha256,
            c.site.id,
            format!("{}@{}", c.blueprint.name, c.blueprint.version),
            c.issued_at,
            actor,
            json,
            map
        ],
    )?;
    tx.execute(
        "INSERT INTO audit (at, actor, action, target, blueprint, detail) VALUES (?1, ?2, 'checklist.issue', ?3, ?4, ?5)",
        params![
            now_rfc3339(),
            actor,
            c.sha256,
            format!("{}@{}", c.blueprint.name, c.blueprint.version),
            serde_json::json!({"site": c.site.id, "project_code": c.site.project_code, "sfwcqypg": c.spgl.sfwcqypg}).to_string()
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// A stored checklist and its map data.
pub fn load(store: &Store, sha: &str) -> Result<Option<(Checklist, MapData)>, StoreError> {
    let row: Option<(String, String)> = store
        .conn()
        .query_row(
            "SELECT checklist, map FROM checklists WHERE sha256 = ?1",
            params![sha],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((c, m)) = row else { return Ok(None) };
    let c: Checklist =
        serde_json::from_str(&c).map_err(|e| StoreError::Malformed(e.to_string()))?;
    let m: MapData = serde_json::from_str(&m).map_err(|e| StoreError::Malformed(e.to_string()))?;
    Ok(Some((c, m)))
}
