//! API keys with roles, stored hashed in the catalog, and the request extractor that checks them.
//!
//! Roles: `viewer` reads (layers, tiles, conflicts, site checks, which change nothing);
//! `planner` also runs reconciliations and moves conflicts through their lifecycle;
//! `land_sale` (土地出让/划拨 staff) also issues checklists; `admin` may do everything,
//! including uploading layer versions, activating blueprints and reading the audit log.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use crate::store::{Store, StoreError, now_rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Planner,
    LandSale,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Planner => "planner",
            Role::LandSale => "land_sale",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "planner" => Ok(Role::Planner),
            "land_sale" => Ok(Role::LandSale),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}` (viewer, planner, land_sale, admin)"
            )),
        }
    }
}

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Reconcile,
    TransitionConflict,
    IssueChecklist,
    UploadLayer,
    Activate,
    ReadAudit,
}

impl Role {
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Viewer => p == P::Read,
            Role::Planner => matches!(p, P::Read | P::Reconcile | P::TransitionConflict),
            Role::LandSale => matches!(p, P::Read | P::IssueChecklist),
        }
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);";

pub fn ensure_schema(store: &Store) -> Result<(), StoreError> {
    store.conn().execute_batch(SCHEMA)?;
    Ok(())
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key; the clear key is returned once and only its hash is stored.
pub fn create_key(
    store: &Store,
    name: &str,
    role: Role,
    actor: &str,
) -> Result<String, StoreError> {
    ensure_schema(store)?;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Malformed(format!("no randomness for a key: {e}")))?;
    let key = format!("lantu_{}", hex::encode(bytes));
    {
        let conn = store.conn();
        conn.execute(
            "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.as_str(), hash(&key), now_rfc3339()],
        )?;
    }
    store.audit(
        actor,
        "key.create",
        name,
        "",
        &serde_json::json!({"role": role.as_str()}),
    )?;
    Ok(key)
}

/// A key as listed (never the key itself).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

pub fn list_keys(store: &Store) -> Result<Vec<KeyInfo>, StoreError> {
    ensure_schema(store)?;
    let conn = store.conn();
    let mut stmt =
        conn.prepare("SELECT id, name, role, created_at, revoked_at FROM api_keys ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn revoke_key(store: &Store, id: i64, actor: &str) -> Result<bool, StoreError> {
    ensure_schema(store)?;
    let n = store.conn().execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now_rfc3339()],
    )?;
    if n > 0 {
        store.audit(
            actor,
            "key.revoke",
            &id.to_string(),
            "",
            &serde_json::json!({}),
        )?;
    }
    Ok(n > 0)
}

/// The (name, role) of a valid key, by its hash.
fn lookup(store: &Store, key_hash: &str) -> Result<Option<(String, Role)>, StoreError> {
    let conn = store.conn();
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT name, role FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
            params![key_hash],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(n, r)| r.parse().ok().map(|r| (n, r))))
}

/// How long a server trusts a key it has looked up: a key revoked with `lantu keys revoke`
/// (another process, so no signal reaches the server) stops working within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10);
/// Bound on remembered keys; a full cache starts over.
const KEY_CACHE_MAX: usize = 1_024;

/// Valid keys already looked up, by hash. Without it every request — a site check of a
/// tenth of a millisecond included — queued on the catalog's one connection and a blocking
/// thread hand-off to learn who was asking. Unknown keys are never cached: they are errors,
/// and caching them would let a caller fill the map.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    known: RwLock<HashMap<String, (Instant, String, Role)>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(KEY_CACHE_TTL)
    }
}

impl KeyCache {
    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache {
            ttl,
            known: RwLock::default(),
        }
    }

    fn get(&self, key_hash: &str) -> Option<(String, Role)> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        let (at, name, role) = known.get(key_hash)?;
        (at.elapsed() < self.ttl).then(|| (name.clone(), *role))
    }

    fn put(&self, key_hash: String, name: &str, role: Role) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.len() >= KEY_CACHE_MAX {
            known.clear();
        }
        known.insert(key_hash, (Instant::now(), name.to_string(), role));
    }
}

/// The caller of a request: from `Authorization: Bearer <key>` or `X-API-Key`, else the
/// server's anonymous role (if any).
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "role `{}` ({}) may not {}",
                self.role,
                self.name,
                match p {
                    Permission::Read => "read",
                    Permission::Reconcile => "start or cancel reconciliation runs",
                    Permission::TransitionConflict => "move conflict parcels through the lifecycle",
                    Permission::IssueChecklist => "issue checklists",
                    Permission::UploadLayer => "upload layer versions",
                    Permission::Activate => "activate blueprint versions",
                    Permission::ReadAudit => "read the audit log",
                }
            )))
        }
    }

    /// The name written to the audit log.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role, self.name)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_string)
        };
        let key = header("x-api-key").or_else(|| {
            header("authorization")
                .and_then(|a| a.strip_prefix("Bearer ").map(|k| k.trim().to_string()))
        });
        match key {
            Some(key) => {
                let key_hash = hash(&key);
                if let Some((name, role)) = state.keys.get(&key_hash) {
                    return Ok(Caller { name, role });
                }
                let store = state.store.clone();
                let looked_up = key_hash.clone();
                let found = tokio::task::spawn_blocking(move || lookup(&store, &looked_up))
                    .await
                    .map_err(|e| ApiError::internal(e.to_string()))?
                    .map_err(ApiError::from)?;
                match found {
                    Some((name, role)) => {
                        state.keys.put(key_hash, &name, role);
                        Ok(Caller { name, role })
                    }
                    None => Err(ApiError::unauthorized("unknown or revoked API key")),
                }
            }
            None => match state.config.anonymous {
                Some(role) => Ok(Caller {
                    name: "anonymous".to_string(),
                    role,
                }),
                None => Err(ApiError::unauthorized(
                    "send an API key in `Authorization: Bearer <key>` or `X-API-Key`",
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_cache_forgets_after_its_ttl_and_when_full() {
        let cache = KeyCache::default();
        assert_eq!(cache.get(&hash("k1")), None);
        cache.put(hash("k1"), "alice", Role::Planner);
        assert_eq!(
            cache.get(&hash("k1")),
            Some(("alice".into(), Role::Planner))
        );
        assert_eq!(cache.get(&hash("k2")), None);
        for i in 0..KEY_CACHE_MAX {
            cache.put(hash(&format!("other {i}")), "bob", Role::Viewer);
        }
        assert_eq!(cache.get(&hash("k1")), None, "a full cache starts over");

        let expired = KeyCache::new(Duration::ZERO);
        expired.put(hash("k1"), "alice", Role::Admin);
        assert_eq!(expired.get(&hash("k1")), None);
    }
}
