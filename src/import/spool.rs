//! Rows wait here between reading and assembling: a private temporary
//! SQLite database (on disk, removed when closed), so that an export of any
//! size is read once, in any order, and each person's plan is assembled
//! from their rows alone.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection};
use serde_json::Value;

/// Where a row came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub input: String,
    pub row: u64,
}

/// One row of one table, read: its person, section, item id and parent, and
/// each field's PRSB path, value and source column.
#[derive(Clone, Debug)]
pub struct Item {
    pub person: String,
    pub section: String,
    pub id: Option<String>,
    pub parent: Option<String>,
    pub origin: Origin,
    pub fields: Vec<(String, Value, Option<String>)>,
}

pub struct Spool {
    conn: Connection,
}

impl Spool {
    pub fn new() -> Result<Spool> {
        // An empty name is SQLite's private temporary database, deleted on close.
        let conn = Connection::open("").context("could not open a temporary database for the import")?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE item (seq INTEGER PRIMARY KEY, person TEXT NOT NULL, section TEXT NOT NULL, id TEXT, parent TEXT,
                                input TEXT NOT NULL, row INTEGER NOT NULL, fields TEXT NOT NULL);
             BEGIN;",
        )?;
        Ok(Spool { conn })
    }

    pub fn add(&mut self, item: &Item) -> Result<()> {
        let fields: Vec<Value> = item.fields.iter().map(|(p, v, c)| Value::Array(vec![p.clone().into(), v.clone(), c.clone().map_or(Value::Null, Value::String)])).collect();
        self.conn
            .prepare_cached("INSERT INTO item (person, section, id, parent, input, row, fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![item.person, item.section, item.id, item.parent, item.origin.input, item.origin.row as i64, Value::Array(fields).to_string()])?;
        Ok(())
    }

    /// Done adding: index the rows by person.
    pub fn seal(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT; CREATE INDEX item_person ON item (person, seq);")?;
        Ok(())
    }

    /// The people, in the order their first plan row was read.
    pub fn people(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT person FROM item WHERE section = 'plan' GROUP BY person ORDER BY min(seq)")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rows of people that no plan row names.
    pub fn orphans(&self, each: &mut dyn FnMut(Item)) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT person, section, id, parent, input, row, fields FROM item i
             WHERE NOT EXISTS (SELECT 1 FROM item p WHERE p.person = i.person AND p.section = 'plan') ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(read_item(r)?);
        }
        Ok(())
    }

    /// One person's rows, in the order they were read.
    pub fn items_of(&self, person: &str) -> Result<Vec<Item>> {
        let mut stmt = self.conn.prepare_cached("SELECT person, section, id, parent, input, row, fields FROM item WHERE person = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([person])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_item(r)?);
        }
        Ok(out)
    }
}

fn read_item(r: &rusqlite::Row<'_>) -> Result<Item> {
    let fields: String = r.get(6)?;
    let fields: Vec<Value> = serde_json::from_str(&fields)?;
    Ok(Item {
        person: r.get(0)?,
        section: r.get(1)?,
        id: r.get(2)?,
        parent: r.get(3)?,
        origin: Origin { input: r.get(4)?, row: r.get::<_, i64>(5)? as u64 },
        fields: fields
            .into_iter()
            .filter_map(|f| match f {
                Value::Array(mut a) if a.len() == 3 => {
                    let column = a.pop().and_then(|c| c.as_str().map(str::to_owned));
                    let value = a.pop()?;
                    Some((a.pop()?.as_str()?.to_owned(), value, column))
                }
                _ => None,
            })
            .collect(),
    })
}
