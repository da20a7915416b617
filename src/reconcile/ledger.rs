//! The conflict ledger (冲突台账): conflict pieces persisted in the store's catalog with stable
//! ids, compared run by run (appeared / unchanged / changed / disappeared), and walked through
//! the coordination lifecycle 待核实 → 区级意见 → 领导小组审议 → 市级审定 → 已处理, every step
//! recorded with who, when, comment and document in the append-only audit log.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{ConflictPiece, ReconcileError, Sink};
use crate::gpkg::gpkg_blob;
use crate::store::{Store, StoreError, now_rfc3339};

/// The lifecycle, in order.
pub const STATES: [&str; 5] = ["待核实", "区级意见", "领导小组审议", "市级审定", "已处理"];

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no conflict parcel `{0}` in the ledger")]
    NotFound(String),
    #[error("unknown state `{0}` (states: 待核实, 区级意见, 领导小组审议, 市级审定, 已处理)")]
    UnknownState(String),
    #[error("conflict {id} is {from}: it can move to {next}, not to {to}")]
    BadTransition {
        id: String,
        from: String,
        to: String,
        next: String,
    },
    #[error(
        "conflict {id} is no longer current ({presence}); transition its successor {successor}"
    )]
    NotCurrent {
        id: String,
        presence: String,
        successor: String,
    },
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS conflict_runs (
    run_id TEXT PRIMARY KEY,
    blueprint TEXT NOT NULL,
    blueprint_version INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    rules TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (
    id TEXT PRIMARY KEY,
    blueprint TEXT NOT NULL,
    key TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    diff_type TEXT NOT NULL,
    category TEXT NOT NULL,
    subject_layer TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    subject_class TEXT NOT NULL,
    other_layer TEXT NOT NULL,
    other_id TEXT,
    other_class TEXT NOT NULL,
    town_code TEXT NOT NULL,
    town TEXT NOT NULL,
    area_m2 REAL NOT NULL,
    ellipsoidal_area_m2 REAL NOT NULL,
    flags TEXT NOT NULL,
    geom BLOB NOT NULL,
    state TEXT NOT NULL,
    presence TEXT NOT NULL,
    change TEXT NOT NULL,
    replaces TEXT,
    replaced_by TEXT,
    first_run TEXT NOT NULL,
    last_run TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conflicts_by_key ON conflicts (blueprint, key);
CREATE INDEX IF NOT EXISTS conflicts_by_rule ON conflicts (blueprint, rule_id, presence);
CREATE TABLE IF NOT EXISTS conflict_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conflict_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    comment TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS conflict_events_append_only_u BEFORE UPDATE ON conflict_events
BEGIN SELECT RAISE(ABORT, 'conflict events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS conflict_events_append_only_d BEFORE DELETE ON conflict_events
BEGIN SELECT RAISE(ABORT, 'conflict events are append-only'); END;
"#;

pub fn ensure_schema(conn: &Connection) -> Result<(), LedgerError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// How this run's pieces compare with the ledger before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerDiff {
    pub appeared: u64,
    pub unchanged: u64,
    pub changed: u64,
    pub reappeared: u64,
    pub disappeared: u64,
}

/// Streams a run's pieces into the ledger inside one transaction; `finish` commits it with the
/// run record and the audit entry. Dropped without `finish`, nothing is recorded.
pub struct LedgerSink {
    conn: Connection,
    blueprint: String,
    run_id: String,
    now: String,
    srs_id: i32,
    pub diff: LedgerDiff,
}

impl LedgerSink {
    pub fn begin(
        store: &Store,
        blueprint: &str,
        run_id: &str,
        srs_id: i32,
    ) -> Result<LedgerSink, LedgerError> {
        ensure_schema(&store.conn())?;
        // A connection of its own. The run's rows are staged in temporary tables (private to
        // this connection) and merged in one write transaction by `finish`: the catalog's write
        // lock is held for the merge only, not for a run that may go on for minutes at idle
        // priority while API writes wait on it.
        let conn = Connection::open(store.root().join("catalog.sqlite"))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(
            "CREATE TEMP TABLE run_seen (id TEXT PRIMARY KEY, rule_id TEXT NOT NULL);
             CREATE TEMP TABLE staged AS SELECT * FROM main.conflicts WHERE 0;
             CREATE TEMP TABLE staged_present (id TEXT PRIMARY KEY, change TEXT NOT NULL);
             CREATE TEMP TABLE staged_superseded (id TEXT PRIMARY KEY, replaced_by TEXT NOT NULL);",
        )?;
        Ok(LedgerSink {
            conn,
            blueprint: blueprint.to_string(),
            run_id: run_id.to_string(),
            now: now_rfc3339(),
            srs_id,
            diff: LedgerDiff::default(),
        })
    }

    fn record(&mut self, p: &ConflictPiece) -> Result<(), LedgerError> {
        let existing: Option<String> = self
            .conn
            .prepare_cached("SELECT presence FROM conflicts WHERE id = ?1")?
            .query_row(params![p.conflict_id], |r| r.get(0))
            .optional()?;
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO run_seen (id, rule_id) VALUES (?1, ?2)")?
            .execute(params![p.conflict_id, p.rule_id])?;
        if let Some(presence) = existing {
            let change = if presence == "present" {
                self.diff.unchanged += 1;
                "unchanged"
            } else {
                self.diff.reappeared += 1;
                "reappeared"
            };
            self.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO temp.staged_present (id, change) VALUES (?1, ?2)",
                )?
                .execute(params![p.conflict_id, change])?;
            return Ok(());
        }
        // The same pair with another geometry: a changed conflict, which keeps its state.
        let predecessor: Option<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT id, state FROM main.conflicts WHERE blueprint = ?1 AND key = ?2 \
                 AND presence = 'present' AND id NOT IN (SELECT id FROM temp.run_seen)",
            )?
            .query_row(params![self.blueprint, p.key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let (state, change, replaces) = match &predecessor {
            Some((id, state)) => {
                self.diff.changed += 1;
                (state.clone(), "changed", Some(id.clone()))
            }
            None => {
                self.diff.appeared += 1;
                (STATES[0].to_string(), "appeared", None)
            }
        };
        self.conn
            .prepare_cached(
                "INSERT INTO temp.staged (id, blueprint, key, rule_id, diff_type, category, \
                 subject_layer, subject_id, subject_class, other_layer, other_id, other_class, \
                 town_code, town, area_m2, ellipsoidal_area_m2, flags, geom, state, presence, \
                 change, replaces, replaced_by, first_run, last_run, updated_at) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
                  ?18, ?19, 'present', ?20, ?21, NULL, ?22, ?22, ?23)",
            )?
            .execute(params![
                p.conflict_id,
                self.blueprint,
                p.key,
                p.rule_id,
                p.diff_type,
                p.category,
                p.subject_layer,
                p.subject_id,
                p.subject_class,
                p.other_layer,
                p.other_id,
                p.other_class,
                p.town_code,
                p.town,
                p.area_m2,
                p.ellipsoidal_area_m2,
                p.flags.label(),
                gpkg_blob(&p.geometry, self.srs_id),
                state,
                change,
                replaces,
                self.run_id,
                self.now,
            ])?;
        if let Some((old, _)) = predecessor {
            self.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO temp.staged_superseded (id, replaced_by) \
                     VALUES (?1, ?2)",
                )?
                .execute(params![old, p.conflict_id])?;
        }
        Ok(())
    }

    /// Marks what this run's rules no longer produce as disappeared, records the run and the
    /// audit entry, and commits.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        rules: &[String],
        blueprint_version: i64,
        started_at: &str,
        actor: &str,
        summary: &serde_json::Value,
    ) -> Result<LedgerDiff, LedgerError> {
        let rules_json = serde_json::to_string(rules).unwrap_or_default();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        // A changed conflict keeps its predecessor's state as it is now: someone may have moved
        // it through the lifecycle while the run went on.
        self.conn.execute_batch(
            "UPDATE temp.staged SET state = (SELECT c.state FROM main.conflicts c \
                 WHERE c.id = staged.replaces) \
             WHERE replaces IN (SELECT id FROM main.conflicts);
             INSERT INTO main.conflicts SELECT * FROM temp.staged;",
        )?;
        self.conn.execute(
            "UPDATE main.conflicts SET presence = 'present', \
                 change = (SELECT s.change FROM temp.staged_present s WHERE s.id = conflicts.id), \
                 last_run = ?1, updated_at = ?2 \
             WHERE id IN (SELECT id FROM temp.staged_present)",
            params![self.run_id, self.now],
        )?;
        self.conn.execute(
            "UPDATE main.conflicts SET presence = 'superseded', \
                 replaced_by = (SELECT s.replaced_by FROM temp.staged_superseded s \
                     WHERE s.id = conflicts.id), \
                 updated_at = ?1 \
             WHERE id IN (SELECT id FROM temp.staged_superseded)",
            params![self.now],
        )?;
        let disappeared = self.conn.execute(
            "UPDATE conflicts SET presence = 'disappeared', change = 'disappeared', updated_at = ?2 \
             WHERE blueprint = ?1 AND presence = 'present' \
             AND rule_id IN (SELECT value FROM json_each(?3)) \
             AND id NOT IN (SELECT id FROM run_seen)",
            params![self.blueprint, self.now, rules_json],
        )?;
        self.diff.disappeared = disappeared as u64;
        let mut summary = summary.clone();
        if let Some(obj) = summary.as_object_mut() {
            obj.insert(
                "ledger".to_string(),
                serde_json::to_value(self.diff).unwrap_or_default(),
            );
        }
        self.conn.execute(
            "INSERT INTO conflict_runs (run_id, blueprint, blueprint_version, started_at, \
             finished_at, actor, rules, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                self.run_id,
                self.blueprint,
                blueprint_version,
                started_at,
                now_rfc3339(),
                actor,
                rules_json,
                summary.to_string()
            ],
        )?;
        self.conn.execute(
            "INSERT INTO audit (at, actor, action, target, blueprint, detail) \
             VALUES (?1, ?2, 'reconcile', ?3, ?4, ?5)",
            params![
                now_rfc3339(),
                actor,
                self.run_id,
                format!("{}@{blueprint_version}", self.blueprint),
                serde_json::json!({"rules": rules, "ledger": self.diff}).to_string()
            ],
        )?;
        self.conn.execute_batch("COMMIT")?;
        Ok(self.diff)
    }
}

impl Sink for LedgerSink {
    fn piece(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        self.record(p)
            .map_err(|e| ReconcileError::Output(e.to_string()))
    }
}

/// A ledger row as listed and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictRecord {
    pub id: String,
    pub blueprint: String,
    pub rule_id: String,
    pub diff_type: String,
    pub category: String,
    pub subject_layer: String,
    pub subject_id: String,
    pub subject_class: String,
    pub other_layer: String,
    pub other_id: Option<String>,
    pub other_class: String,
    pub town_code: String,
    pub town: String,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub flags: String,
    pub state: String,
    pub presence: String,
    pub change: String,
    pub replaces: Option<String>,
    pub replaced_by: Option<String>,
    pub first_run: String,
    pub last_run: String,
    pub updated_at: String,
}

/// Filters for listing the ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub blueprint: Option<String>,
    pub rule: Option<String>,
    pub town: Option<String>,
    pub state: Option<String>,
    /// `present` (default when None: everything), `disappeared`, `superseded`.
    pub presence: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

const RECORD_COLUMNS: &str = "id, blueprint, rule_id, diff_type, category, subject_layer, \
    subject_id, subject_class, other_layer, other_id, other_class, town_code, town, area_m2, \
    ellipsoidal_area_m2, flags, state, presence, change, replaces, replaced_by, first_run, \
    last_run, updated_at";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConflictRecord> {
    Ok(ConflictRecord {
        id: r.get(0)?,
        blueprint: r.get(1)?,
        rule_id: r.get(2)?,
        diff_type: r.get(3)?,
        category: r.get(4)?,
        subject_layer: r.get(5)?,
        subject_id: r.get(6)?,
        subject_class: r.get(7)?,
        other_layer: r.get(8)?,
        other_id: r.get(9)?,
        other_class: r.get(10)?,
        town_code: r.get(11)?,
        town: r.get(12)?,
        area_m2: r.get(13)?,
        ellipsoidal_area_m2: r.get(14)?,
        flags: r.get(15)?,
        state: r.get(16)?,
        presence: r.get(17)?,
        change: r.get(18)?,
        replaces: r.get(19)?,
        replaced_by: r.get(20)?,
        first_run: r.get(21)?,
        last_run: r.get(22)?,
        updated_at: r.get(23)?,
    })
}

/// Lists ledger rows matching `f`, largest first.
pub fn list(store: &Store, f: &Filter) -> Result<Vec<ConflictRecord>, LedgerError> {
    let conn = store.conn();
    ensure_schema(&conn)?;
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM conflicts WHERE \
         (?1 IS NULL OR blueprint = ?1) AND (?2 IS NULL OR rule_id = ?2) AND \
         (?3 IS NULL OR town = ?3 OR town_code = ?3) AND (?4 IS NULL OR state = ?4) AND \
         (?5 IS NULL OR presence = ?5) ORDER BY ellipsoidal_area_m2 DESC, id LIMIT ?6 OFFSET ?7"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(
            params![
                f.blueprint,
                f.rule,
                f.town,
                f.state,
                f.presence,
                f.limit.map(|l| l as i64).unwrap_or(-1),
                f.offset.unwrap_or(0) as i64
            ],
            record,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Counts ledger rows matching `f` (ignoring limit and offset).
pub fn count(store: &Store, f: &Filter) -> Result<u64, LedgerError> {
    let conn = store.conn();
    ensure_schema(&conn)?;
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM conflicts WHERE \
         (?1 IS NULL OR blueprint = ?1) AND (?2 IS NULL OR rule_id = ?2) AND \
         (?3 IS NULL OR town = ?3 OR town_code = ?3) AND (?4 IS NULL OR state = ?4) AND \
         (?5 IS NULL OR presence = ?5)",
        params![f.blueprint, f.rule, f.town, f.state, f.presence],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

pub fn get(store: &Store, id: &str) -> Result<ConflictRecord, LedgerError> {
    let conn = store.conn();
    ensure_schema(&conn)?;
    conn.query_row(
        &format!("SELECT {RECORD_COLUMNS} FROM conflicts WHERE id = ?1"),
        params![id],
        record,
    )
    .optional()?
    .ok_or_else(|| LedgerError::NotFound(id.to_string()))
}

/// The stored geometry (GeoPackage blob, working CRS) of a ledger row.
pub fn geometry_blob(store: &Store, id: &str) -> Result<Vec<u8>, LedgerError> {
    let conn = store.conn();
    conn.query_row(
        "SELECT geom FROM conflicts WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| LedgerError::NotFound(id.to_string()))
}

/// One lifecycle step of a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub conflict_id: String,
    pub at: String,
    pub actor: String,
    pub from_state: String,
    pub to_state: String,
    pub comment: String,
    pub document: String,
}

pub fn events(store: &Store, id: &str) -> Result<Vec<Event>, LedgerError> {
    let conn = store.conn();
    ensure_schema(&conn)?;
    let mut stmt = conn.prepare(
        "SELECT seq, conflict_id, at, actor, from_state, to_state, comment, document \
         FROM conflict_events WHERE conflict_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map(params![id], |r| {
            Ok(Event {
                seq: r.get(0)?,
                conflict_id: r.get(1)?,
                at: r.get(2)?,
                actor: r.get(3)?,
                from_state: r.get(4)?,
                to_state: r.get(5)?,
                comment: r.get(6)?,
                document: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Moves a conflict one step along the lifecycle, with the event and the audit entry in one
/// transaction.
pub fn transition(
    store: &Store,
    id: &str,
    to: &str,
    actor: &str,
    comment: &str,
    document: &str,
) -> Result<ConflictRecord, LedgerError> {
    let to_index = STATES
        .iter()
        .position(|s| *s == to)
        .ok_or_else(|| LedgerError::UnknownState(to.to_string()))?;
    {
        let mut conn = store.conn();
        ensure_schema(&conn)?;
        let tx = conn.transaction()?;
        let row: Option<(String, String, String, Option<String>)> = tx
            .query_row(
                "SELECT state, presence, blueprint, replaced_by FROM conflicts WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (from, presence, blueprint, replaced_by) =
            row.ok_or_else(|| LedgerError::NotFound(id.to_string()))?;
        if presence == "superseded" {
            return Err(LedgerError::NotCurrent {
                id: id.to_string(),
                presence,
                successor: replaced_by.unwrap_or_default(),
            });
        }
        let from_index = STATES.iter().position(|s| *s == from).unwrap_or(0);
        if to_index != from_index + 1 {
            return Err(LedgerError::BadTransition {
                id: id.to_string(),
                from: from.clone(),
                to: to.to_string(),
                next: STATES
                    .get(from_index + 1)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "nothing (已处理 is final)".to_string()),
            });
        }
        let now = now_rfc3339();
        tx.execute(
            "UPDATE conflicts SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, to, now],
        )?;
        tx.execute(
            "INSERT INTO conflict_events (conflict_id, at, actor, from_state, to_state, comment, \
             document) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, now, actor, from, to, comment, document],
        )?;
        tx.execute(
            "INSERT INTO audit (at, actor, action, target, blueprint, detail) \
             VALUES (?1, ?2, 'conflict.transition', ?3, ?4, ?5)",
            params![
                now,
                actor,
                id,
                blueprint,
                serde_json::json!({"from": from, "to": to, "comment": comment, "document": document})
                    .to_string()
            ],
        )?;
        tx.commit()?;
    }
    get(store, id)
}

/// Counts of present parcels by rule, town and state: the values a filter can take.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Facets {
    pub rules: Vec<(String, u64)>,
    /// (town code, town name, count).
    pub towns: Vec<(String, String, u64)>,
    pub states: Vec<(String, u64)>,
}

pub fn facets(store: &Store, blueprint: &str) -> Result<Facets, LedgerError> {
    let conn = store.conn();
    ensure_schema(&conn)?;
    let pairs = |sql: &str| -> Result<Vec<(String, u64)>, LedgerError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt
            .query_map(params![blueprint], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    };
    let rules = pairs(
        "SELECT rule_id, COUNT(*) FROM conflicts WHERE blueprint = ?1 AND presence = 'present' \
         GROUP BY rule_id ORDER BY rule_id",
    )?;
    let states = pairs(
        "SELECT state, COUNT(*) FROM conflicts WHERE blueprint = ?1 AND presence = 'present' \
         GROUP BY state ORDER BY state",
    )?;
    let mut stmt = conn.prepare(
        "SELECT town_code, town, COUNT(*) FROM conflicts WHERE blueprint = ?1 AND presence = 'present' \
         GROUP BY town_code, town ORDER BY town_code",
    )?;
    let towns = stmt
        .query_map(params![blueprint], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Facets {
        rules,
        towns,
        states,
    })
}

/// A key that changes whenever the blueprint's ledger changes (a run or a transition).
pub fn revision(store: &Store, blueprint: &str) -> Result<String, LedgerError> {
    let conn = store.conn();
    ensure_schema(&conn)?;
    let rev: (String, String) = conn.query_row(
        "SELECT COALESCE(MAX(updated_at), ''), CAST(COUNT(*) AS TEXT) FROM conflicts WHERE blueprint = ?1",
        params![blueprint],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(format!("{}#{}", rev.0, rev.1))
}
