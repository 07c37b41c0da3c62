//! The SQLite store: every version of every resource (full history), a
//! pointer to each resource's current version, the search index rows of
//! current versions, and the forwarding outbox (`outbox.rs` owns its SQL).
//!
//! One writer connection, behind a mutex, runs each write as one
//! `BEGIN IMMEDIATE` transaction (a FHIR transaction Bundle is one of them);
//! readers take pooled connections and see the last committed state (WAL).
//! SQL is always parameterised: user input never becomes SQL text.

use super::error::{FhirError, FhirResult};
use super::auth::concern::Concern;
use super::limits::{Budget, ENTRY_OVERHEAD};
use super::search::index::{IndexRow, IndexValue};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resource_version (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    method TEXT NOT NULL,
    body BLOB,
    UNIQUE (res_type, res_id, version)
);
CREATE INDEX IF NOT EXISTS version_by_type ON resource_version (res_type, seq);
CREATE TABLE IF NOT EXISTS resource_current (
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (res_type, res_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS current_by_updated ON resource_current (res_type, last_updated);
CREATE TABLE IF NOT EXISTS idx_token (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER, system TEXT, code TEXT, display TEXT);
CREATE INDEX IF NOT EXISTS idx_token_code ON idx_token (res_type, param, code);
CREATE INDEX IF NOT EXISTS idx_token_owner ON idx_token (res_type, res_id);
CREATE TABLE IF NOT EXISTS idx_string (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER, norm TEXT NOT NULL, exact TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_string_norm ON idx_string (res_type, param, norm);
CREATE INDEX IF NOT EXISTS idx_string_owner ON idx_string (res_type, res_id);
CREATE TABLE IF NOT EXISTS idx_date (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER, lo INTEGER NOT NULL, hi INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS idx_date_lo ON idx_date (res_type, param, lo);
CREATE INDEX IF NOT EXISTS idx_date_owner ON idx_date (res_type, res_id);
CREATE TABLE IF NOT EXISTS idx_reference (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER, target_type TEXT, target_id TEXT, url TEXT);
CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference (target_type, target_id);
CREATE INDEX IF NOT EXISTS idx_reference_owner ON idx_reference (res_type, res_id);
CREATE TABLE IF NOT EXISTS idx_quantity (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER, value REAL NOT NULL, system TEXT, code TEXT);
CREATE INDEX IF NOT EXISTS idx_quantity_value ON idx_quantity (res_type, param, value);
CREATE INDEX IF NOT EXISTS idx_quantity_owner ON idx_quantity (res_type, res_id);
CREATE TABLE IF NOT EXISTS idx_uri (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER, uri TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri (res_type, param, uri);
CREATE INDEX IF NOT EXISTS idx_uri_owner ON idx_uri (res_type, res_id);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    version_seq INTEGER NOT NULL,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error TEXT,
    created INTEGER NOT NULL,
    finished INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, seq);
CREATE TABLE IF NOT EXISTS concern (res_type TEXT NOT NULL, res_id TEXT NOT NULL, patient TEXT NOT NULL, compartment INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS concern_owner ON concern (res_type, res_id);
CREATE INDEX IF NOT EXISTS concern_patient ON concern (patient, res_type, res_id);
CREATE TABLE IF NOT EXISTS link (res_type TEXT NOT NULL, res_id TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, by_patient INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS link_owner ON link (res_type, res_id);
CREATE INDEX IF NOT EXISTS link_target ON link (target_type, target_id);
";

/// `PRAGMA user_version` of a database whose `concern` and `link` rows are
/// complete; an older one gets them computed once at start
/// (`Service::assemble`). Version 2: rows computed before it missed what
/// transactions stored through `urn:uuid:` and conditional references, and
/// a Patient created without an id in its body.
pub const CONCERN_SCHEMA_VERSION: i64 = 3;

/// The index tables, each with the kind of value it holds.
pub const INDEX_TABLES: &[&str] = &["idx_token", "idx_string", "idx_date", "idx_reference", "idx_quantity", "idx_uri"];

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// When a write last failed for want of space (the disk, or the
    /// quota), in ms; 0 for never. A small write (an audit record) may
    /// still fit after a large one was refused, so success does not clear
    /// it: `/readyz` reports the store full for [`FULL_REPORTED_MS`] after.
    last_full: AtomicI64,
}

/// How long after a write refused for want of space `/readyz` says so.
const FULL_REPORTED_MS: i64 = 60_000;

/// One stored version of a resource.
#[derive(Clone, Debug)]
pub struct Version {
    pub seq: i64,
    pub res_type: String,
    pub id: String,
    pub version: i64,
    pub last_updated: i64,
    /// The interaction that made it: POST, PUT, PATCH or DELETE.
    pub method: String,
    /// The resource's JSON; `None` for a deletion.
    pub body: Option<Vec<u8>>,
    readings: Readings,
}

/// A version's JSON and whom it concerns, each worked out once: a change
/// judges, patches and judges again the one stored version it replaces,
/// and a large one would otherwise be parsed and walked each time (the
/// twenty-fifth pass's O10).
#[derive(Clone, Debug, Default)]
struct Readings {
    json: OnceLock<Value>,
    concern: OnceLock<Concern>,
}

impl Version {
    /// The stored JSON, parsed once (`interactions::resource_of` parses an owned copy).
    pub fn json(&self) -> FhirResult<&Value> {
        if let Some(json) = self.readings.json.get() {
            return Ok(json);
        }
        let bytes = self.body.as_deref().ok_or_else(|| FhirError::gone(format!("{}/{} was deleted", self.res_type, self.id)))?;
        let parsed = serde_json::from_slice(bytes).map_err(internal)?;
        Ok(self.readings.json.get_or_init(|| parsed))
    }

    /// Whom the stored resource concerns, worked out once by `of`.
    pub fn concern(&self, of: impl FnOnce(&Value) -> Concern) -> FhirResult<&Concern> {
        if let Some(concern) = self.readings.concern.get() {
            return Ok(concern);
        }
        let concern = of(self.json()?);
        Ok(self.readings.concern.get_or_init(|| concern))
    }

    pub fn deleted(&self) -> bool {
        self.body.is_none()
    }

    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// What a write stores: a new version (a resource, or a deletion).
pub struct NewVersion<'a> {
    pub res_type: &'a str,
    pub id: &'a str,
    /// The version number this write makes (the current one plus one).
    pub version: i64,
    pub method: &'static str,
    pub last_updated: i64,
    pub body: Option<&'a [u8]>,
    pub index: &'a [IndexRow],
    /// Whom it concerns and what it refers to (`None` for a deletion).
    pub concern: Option<&'a Concern>,
    /// Written by a patient-scoped token (see [`put_concern`]).
    pub by_patient: bool,
}

const VERSION_COLUMNS: &str = "seq, res_type, res_id, version, last_updated, method, body";

fn version_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Version> {
    Ok(Version { seq: row.get(0)?, res_type: row.get(1)?, id: row.get(2)?, version: row.get(3)?, last_updated: row.get(4)?, method: row.get(5)?, body: row.get(6)?, readings: Readings::default() })
}

impl Store {
    /// Opens (creating on first start) the database file in WAL mode.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // Commits are made durable by `write`, which syncs the WAL itself
        // after releasing the writer: one fsync then covers every commit
        // made meanwhile (group commit), instead of one fsync per commit
        // under the lock.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "cache_size", -65_536)?;
        writer.busy_timeout(std::time::Duration::from_secs(30))?;
        writer.execute_batch(SCHEMA)?;
        Ok(Store { path: path.to_path_buf(), writer: Mutex::new(writer), readers: Mutex::new(Vec::new()), last_full: AtomicI64::new(0) })
    }

    /// Caps the database at about `bytes` (SQLite's `max_page_count`): a
    /// write that would grow it further fails as a full disk would (507),
    /// before the disk itself fills and takes the rest of the machine with
    /// it. Returns the cap in force, which SQLite never sets below the
    /// database's current size.
    pub fn set_quota(&self, bytes: u64) -> anyhow::Result<u64> {
        let conn = self.writer.lock();
        let page = conn.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))?.max(1) as u64;
        let pages = (bytes / page).max(1);
        let set = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get::<_, i64>(0))? as u64;
        Ok(set * page)
    }

    /// Runs `f` in one write transaction: committed when it returns `Ok`,
    /// rolled back (nothing changed) when it returns `Err`.
    ///
    /// Returns only once the commit is on disk, so an answered write
    /// survives a crash of the process or of the machine.
    pub fn write<T>(&self, f: impl FnOnce(&Connection) -> FhirResult<T>) -> FhirResult<T> {
        let out = self.write_once(f);
        if out.as_ref().is_err_and(|e| e.status == super::error::INSUFFICIENT_STORAGE) {
            self.last_full.store(super::clock::now_ms(), Ordering::Relaxed);
        }
        out
    }

    fn write_once<T>(&self, f: impl FnOnce(&Connection) -> FhirResult<T>) -> FhirResult<T> {
        let out = {
            let mut conn = self.writer.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            out
        };
        self.sync_wal()?;
        Ok(out)
    }

    /// fsync of the write-ahead log: makes every commit so far durable.
    fn sync_wal(&self) -> FhirResult<()> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        std::fs::File::open(&wal).and_then(|f| f.sync_data()).map_err(|e| match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => FhirError::store_full(),
            _ => internal(e),
        })
    }

    /// Runs `f` on a reader that sees the last committed state.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> FhirResult<T>) -> FhirResult<T> {
        let conn = match self.readers.lock().pop() {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
                c.busy_timeout(std::time::Duration::from_secs(30))?;
                c.pragma_update(None, "cache_size", -16_384)?;
                c
            }
        };
        let out = f(&conn);
        self.readers.lock().push(conn);
        out
    }

    /// Whether the database answers.
    pub fn ping(&self) -> bool {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)).is_ok()
    }

    /// Whether the store can serve: it answers, and no write failed for
    /// want of space in the last minute. `Err` says what is wrong, for `/readyz`.
    pub fn health(&self) -> Result<(), &'static str> {
        if !self.ping() {
            return Err("store unavailable");
        }
        let last_full = self.last_full.load(Ordering::Relaxed);
        if last_full > 0 && super::clock::now_ms() - last_full < FULL_REPORTED_MS {
            return Err("store full: writes were refused for want of space in the last minute, and reads whose audit record cannot be written are not answered; free disk space or raise --max-database-bytes");
        }
        Ok(())
    }
}

/// The current version of a resource (a deletion included).
pub fn current(conn: &Connection, res_type: &str, id: &str) -> FhirResult<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM resource_version WHERE seq = (SELECT seq FROM resource_current WHERE res_type = ?1 AND res_id = ?2)");
    Ok(conn.query_row(&sql, params![res_type, id], version_row).optional()?)
}

/// The latest version that is not a deletion: what a deleted resource last said.
pub fn last_live(conn: &Connection, res_type: &str, id: &str) -> FhirResult<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM resource_version WHERE res_type = ?1 AND res_id = ?2 AND body IS NOT NULL ORDER BY version DESC LIMIT 1");
    Ok(conn.query_row(&sql, params![res_type, id], version_row).optional()?)
}

pub fn version(conn: &Connection, res_type: &str, id: &str, version: i64) -> FhirResult<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM resource_version WHERE res_type = ?1 AND res_id = ?2 AND version = ?3");
    Ok(conn.query_row(&sql, params![res_type, id, version], version_row).optional()?)
}

/// The version of a resource that was current at `at` (milliseconds since the epoch).
pub fn as_at(conn: &Connection, res_type: &str, id: &str, at: i64) -> FhirResult<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM resource_version WHERE res_type = ?1 AND res_id = ?2 AND last_updated <= ?3 ORDER BY version DESC LIMIT 1");
    Ok(conn.prepare_cached(&sql)?.query_row(params![res_type, id, at], version_row).optional()?)
}

pub fn by_seq(conn: &Connection, seq: i64) -> FhirResult<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM resource_version WHERE seq = ?1");
    Ok(conn.query_row(&sql, params![seq], version_row).optional()?)
}

/// Current, not deleted versions by (type, id), in the order asked.
pub fn current_many(conn: &Connection, keys: &[(String, String)]) -> FhirResult<Vec<Version>> {
    Ok(current_within(conn, keys, &Budget::new(usize::MAX))?.0)
}

/// As [`current_many`], loading only while `budget` lasts; true when it ran
/// out before the last key.
pub fn current_within(conn: &Connection, keys: &[(String, String)], budget: &Budget) -> FhirResult<(Vec<Version>, bool)> {
    let mut out = Vec::with_capacity(keys.len().min(1024));
    for (t, id) in keys {
        if let Some(v) = current(conn, t, id)?.filter(|v| !v.deleted()) {
            if !budget.take(cost(&v)) {
                return Ok((out, true));
            }
            out.push(v);
        }
    }
    Ok((out, false))
}

/// What a version costs an answer's budget.
fn cost(v: &Version) -> usize {
    v.body.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD
}

/// Stores a new version, makes it current and replaces the index rows.
pub fn put_version(conn: &Connection, new: &NewVersion<'_>) -> FhirResult<Version> {
    let version = new.version;
    conn.prepare_cached("INSERT INTO resource_version (res_type, res_id, version, last_updated, method, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![new.res_type, new.id, version, new.last_updated, new.method, new.body])?;
    let seq = conn.last_insert_rowid();
    conn.prepare_cached("INSERT OR REPLACE INTO resource_current (res_type, res_id, version, seq, last_updated, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![new.res_type, new.id, version, seq, new.last_updated, new.body.is_none()])?;
    if version > 1 {
        for table in INDEX_TABLES {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE res_type = ?1 AND res_id = ?2"))?.execute(params![new.res_type, new.id])?;
        }
    }
    for row in new.index {
        insert_index_row(conn, new.res_type, new.id, row)?;
    }
    put_concern(conn, new.res_type, new.id, new.concern, version > 1, new.by_patient)?;
    Ok(Version { seq, res_type: new.res_type.to_string(), id: new.id.to_string(), version, last_updated: new.last_updated, method: new.method.to_string(), body: new.body.map(<[u8]>::to_vec), readings: Readings::default() })
}

fn insert_index_row(conn: &Connection, res_type: &str, id: &str, row: &IndexRow) -> FhirResult<()> {
    let (p, g) = (row.param.as_str(), row.group);
    match &row.value {
        IndexValue::Token { system, code, display } => conn
            .prepare_cached("INSERT INTO idx_token (res_type, res_id, param, grp, system, code, display) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![res_type, id, p, g, system, code, display])?,
        IndexValue::String { norm, exact } => conn
            .prepare_cached("INSERT INTO idx_string (res_type, res_id, param, grp, norm, exact) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![res_type, id, p, g, norm, exact])?,
        IndexValue::Date { lo, hi } => conn
            .prepare_cached("INSERT INTO idx_date (res_type, res_id, param, grp, lo, hi) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![res_type, id, p, g, lo, hi])?,
        IndexValue::Reference { target_type, target_id, url } => conn
            .prepare_cached("INSERT INTO idx_reference (res_type, res_id, param, grp, target_type, target_id, url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![res_type, id, p, g, target_type, target_id, url])?,
        IndexValue::Quantity { value, system, code } => conn
            .prepare_cached("INSERT INTO idx_quantity (res_type, res_id, param, grp, value, system, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![res_type, id, p, g, value.0, system, code])?,
        IndexValue::Uri(uri) => conn
            .prepare_cached("INSERT INTO idx_uri (res_type, res_id, param, grp, uri) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![res_type, id, p, g, uri])?,
    };
    Ok(())
}

/// Replaces the `concern` and `link` rows of a current version.
///
/// `by_patient`: written by a patient-scoped token, whose own links do not
/// make shared resources part of its patient's record (it could otherwise
/// reach anyone's by referring to them).
pub fn put_concern(conn: &Connection, res_type: &str, id: &str, concern: Option<&Concern>, replacing: bool, by_patient: bool) -> FhirResult<()> {
    if replacing {
        conn.prepare_cached("DELETE FROM concern WHERE res_type = ?1 AND res_id = ?2")?.execute(params![res_type, id])?;
        conn.prepare_cached("DELETE FROM link WHERE res_type = ?1 AND res_id = ?2")?.execute(params![res_type, id])?;
    }
    let Some(c) = concern else { return Ok(()) };
    for p in &c.mentioned {
        conn.prepare_cached("INSERT INTO concern (res_type, res_id, patient, compartment) VALUES (?1, ?2, ?3, ?4)")?.execute(params![res_type, id, p, c.compartment.contains(p)])?;
    }
    for (t, target) in &c.links {
        conn.prepare_cached("INSERT INTO link (res_type, res_id, target_type, target_id, by_patient) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![res_type, id, t, target, by_patient])?;
    }
    Ok(())
}

/// Whether a current resource that concerns `patient` refers to `(res_type, id)`:
/// a shared resource (a Location, a Practitioner) of that person's record.
pub fn reached_from(conn: &Connection, res_type: &str, id: &str, patient: &str) -> FhirResult<bool> {
    let sql = "SELECT EXISTS (SELECT 1 FROM link l JOIN concern c ON c.res_type = l.res_type AND c.res_id = l.res_id WHERE l.target_type = ?1 AND l.target_id = ?2 AND c.patient = ?3 AND l.by_patient = 0)";
    Ok(conn.prepare_cached(sql)?.query_row(params![res_type, id, patient], |r| r.get(0))?)
}

/// Whether the current resource is in the record (the R4 compartment) of
/// some person other than `patient` and not in `patient`'s own; naming
/// someone (a contributor, who expressed a goal) does not put it in their
/// record, and what is in both (a Patient linked to a relative) is theirs too.
pub fn in_another_record(conn: &Connection, res_type: &str, id: &str, patient: Option<&str>) -> FhirResult<bool> {
    let sql = "SELECT EXISTS (SELECT 1 FROM concern WHERE res_type = ?1 AND res_id = ?2 AND compartment AND patient IS NOT ?3) \
               AND NOT EXISTS (SELECT 1 FROM concern WHERE res_type = ?1 AND res_id = ?2 AND compartment AND patient IS ?3)";
    Ok(conn.prepare_cached(sql)?.query_row(params![res_type, id, patient], |r| r.get(0))?)
}

/// Whether the concern rows predate this version of careplan (see [`CONCERN_SCHEMA_VERSION`]).
pub fn concern_outdated(conn: &Connection) -> FhirResult<bool> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(v < CONCERN_SCHEMA_VERSION)
}

pub fn mark_concern_current(conn: &Connection) -> FhirResult<()> {
    conn.execute_batch(&format!("PRAGMA user_version = {CONCERN_SCHEMA_VERSION}"))?;
    Ok(())
}

/// The `seq` of every current, live version (for recomputing what is kept beside them).
pub fn current_seqs(conn: &Connection) -> FhirResult<Vec<i64>> {
    let out = conn.prepare("SELECT seq FROM resource_current WHERE deleted = 0 ORDER BY seq")?.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(out)
}

/// Which history: one resource's, one type's, or the whole server's.
#[derive(Clone, Debug)]
pub enum HistoryScope {
    Instance(String, String),
    Type(String),
    System,
}

/// Up to `count` versions newest first, after `since` (ms) when given (the
/// system history leaves out the audit trail, which is read as AuditEvent),
/// as many as `budget` allows; and whether more follow them. Rows are read
/// one at a time, so a page never holds more than its budget (and one).
///
/// With `only`, the versions of resources that concern that patient now, or
/// that concern no one and that patient's record refers to (a patient-scoped
/// token's history: paging then tells nothing of other people's records).
pub fn history(conn: &Connection, scope: &HistoryScope, since: Option<i64>, count: usize, offset: usize, budget: &Budget, only: Option<&str>) -> FhirResult<(Vec<Version>, bool)> {
    let since = since.unwrap_or(i64::MIN);
    let limit = (count + 1) as i64;
    let offset = offset as i64;
    let (filter, mut rows) = match scope {
        HistoryScope::Instance(t, id) => ("res_type = ? AND res_id = ?", vec![t.clone(), id.clone()]),
        HistoryScope::Type(t) => ("res_type = ?", vec![t.clone()]),
        HistoryScope::System => ("res_type <> 'AuditEvent'", vec![]),
    };
    let mut sql = format!("SELECT {VERSION_COLUMNS} FROM resource_version v WHERE {filter}");
    if let Some(patient) = only {
        sql.push_str(
            " AND (EXISTS (SELECT 1 FROM concern c WHERE c.res_type = v.res_type AND c.res_id = v.res_id AND c.patient = ?) OR (NOT EXISTS (SELECT 1 FROM concern c WHERE c.res_type = v.res_type AND c.res_id = v.res_id) AND EXISTS (SELECT 1 FROM link l JOIN concern c ON c.res_type = l.res_type AND c.res_id = l.res_id WHERE l.target_type = v.res_type AND l.target_id = v.res_id AND c.patient = ? AND l.by_patient = 0)))",
        );
        rows.extend([patient.to_string(), patient.to_string()]);
    }
    sql.push_str(" AND last_updated >= ? ORDER BY seq DESC LIMIT ? OFFSET ?");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut values: Vec<rusqlite::types::Value> = rows.into_iter().map(rusqlite::types::Value::from).collect();
    values.extend([since.into(), limit.into(), offset.into()]);
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let v = version_row(row)?;
        // The row after a full page only tells that there is a next one.
        if out.len() == count || !budget.take(cost(&v)) {
            return Ok((out, true));
        }
        out.push(v);
    }
    Ok((out, false))
}

/// How many versions a history holds (after `since`).
pub fn history_count(conn: &Connection, scope: &HistoryScope, since: Option<i64>) -> FhirResult<usize> {
    let since = since.unwrap_or(i64::MIN);
    let n: i64 = match scope {
        HistoryScope::Instance(t, id) => conn.query_row("SELECT COUNT(*) FROM resource_version WHERE res_type = ?1 AND res_id = ?2 AND last_updated >= ?3", params![t, id, since], |r| r.get(0))?,
        HistoryScope::Type(t) => conn.query_row("SELECT COUNT(*) FROM resource_version WHERE res_type = ?1 AND last_updated >= ?2", params![t, since], |r| r.get(0))?,
        HistoryScope::System => conn.query_row("SELECT COUNT(*) FROM resource_version WHERE last_updated >= ?1 AND res_type <> 'AuditEvent'", params![since], |r| r.get(0))?,
    };
    Ok(n as usize)
}

/// Turns a store failure that is not a FHIR problem into one: a short
/// message with a reference; the detail goes to the log only.
pub fn internal(e: impl std::fmt::Display) -> FhirError {
    FhirError::store_failure(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(body: &str) -> Version {
        Version { seq: 1, res_type: "Observation".into(), id: "o".into(), version: 1, last_updated: 0, method: "PUT".into(), body: Some(body.as_bytes().to_vec()), readings: Readings::default() }
    }

    #[test]
    fn a_version_is_parsed_and_its_concern_worked_out_once() {
        let v = stored(r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/a"}}"#);
        assert!(std::ptr::eq(v.json().unwrap(), v.json().unwrap()));
        let mut calls = 0;
        for _ in 0..3 {
            let concern = v
                .concern(|json| {
                    calls += 1;
                    Concern { mentioned: [json["subject"]["reference"].as_str().unwrap().to_string()].into(), ..Concern::default() }
                })
                .unwrap();
            assert!(concern.persons().contains("Patient/a"));
        }
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_deletion_has_no_json_to_read() {
        let mut v = stored("{}");
        v.body = None;
        assert_eq!(v.json().unwrap_err().status, 410);
    }
}
