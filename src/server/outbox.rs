//! The forwarding outbox: one row per accepted write, inserted in the same
//! store transaction as the write itself, so a write is never stored
//! without being queued, nor queued without being stored.
//!
//! Statuses: `pending` (not yet accepted upstream; retried with backoff),
//! `sent`, and `rejected` (the upstream refused it with a 4xx: retrying the
//! same request would not help, so it waits for `careplan outbox retry`).

use super::error::FhirResult;
use super::store::Version;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct OutboxRow {
    pub seq: i64,
    pub version_seq: i64,
    pub res_type: String,
    pub res_id: String,
    pub version: i64,
    pub method: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub created: i64,
    pub finished: Option<i64>,
}

const COLUMNS: &str = "seq, version_seq, res_type, res_id, version, method, status, attempts, next_attempt, last_error, created, finished";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        seq: r.get(0)?,
        version_seq: r.get(1)?,
        res_type: r.get(2)?,
        res_id: r.get(3)?,
        version: r.get(4)?,
        method: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt: r.get(8)?,
        last_error: r.get(9)?,
        created: r.get(10)?,
        finished: r.get(11)?,
    })
}

pub fn enqueue(conn: &Connection, v: &Version) -> FhirResult<()> {
    let method = if v.deleted() { "DELETE" } else { "PUT" };
    conn.prepare_cached("INSERT INTO outbox (version_seq, res_type, res_id, version, method, status, next_attempt, created) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6)")?
        .execute(params![v.seq, v.res_type, v.id, v.version, method, v.last_updated])?;
    Ok(())
}

/// The oldest pending row: writes are forwarded strictly in the order they were accepted.
pub fn head(conn: &Connection) -> FhirResult<Option<OutboxRow>> {
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT 1"), [], row).optional()?)
}

pub fn mark_sent(conn: &Connection, seq: i64, now: i64) -> FhirResult<()> {
    conn.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = NULL, finished = ?2 WHERE seq = ?1", params![seq, now])?;
    Ok(())
}

pub fn mark_retry(conn: &Connection, seq: i64, next_attempt: i64, error: &str) -> FhirResult<()> {
    conn.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt = ?2, last_error = ?3 WHERE seq = ?1", params![seq, next_attempt, error])?;
    Ok(())
}

pub fn mark_rejected(conn: &Connection, seq: i64, now: i64, error: &str) -> FhirResult<()> {
    conn.execute("UPDATE outbox SET status = 'rejected', attempts = attempts + 1, last_error = ?3, finished = ?2 WHERE seq = ?1", params![seq, now, error])?;
    Ok(())
}

/// Rows, newest first, of one status or all.
pub fn list(conn: &Connection, status: Option<&str>, limit: usize) -> FhirResult<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) ORDER BY seq DESC LIMIT ?2"))?;
    let rows = stmt.query_map(params![status, limit as i64], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many rows have each status.
pub fn counts(conn: &Connection) -> FhirResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Makes rejected rows (the given ones, or all) and waiting pending rows due now.
pub fn retry(conn: &Connection, seqs: &[i64]) -> FhirResult<usize> {
    if seqs.is_empty() {
        return Ok(conn.execute("UPDATE outbox SET status = 'pending', next_attempt = 0, finished = NULL WHERE status IN ('pending', 'rejected')", [])?);
    }
    let mut n = 0;
    for seq in seqs {
        n += conn.execute("UPDATE outbox SET status = 'pending', next_attempt = 0, finished = NULL WHERE seq = ?1 AND status IN ('pending', 'rejected')", params![seq])?;
    }
    Ok(n)
}
