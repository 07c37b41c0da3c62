//! A search's parameters as parameterised SQL over the index rows.
//!
//! Each parameter becomes an `EXISTS` over its index table, tied to its
//! owner (the resource searched, or, through a chain, a referenced one);
//! the values of one parameter (`a,b`) are alternatives, repeated
//! parameters all apply. Values are always bound, never written into SQL.

use super::index::{normalize, parse_reference};
use super::{dates, ParamType, Registry, SearchParam};
use crate::issue::IssueCode;
use crate::server::error::{FhirError, FhirResult};
use crate::server::limits::Budget;
use crate::server::store::{self, Version};
use rusqlite::types::Value as Sql;
use rusqlite::Connection;

pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 1000;
/// Most parameters and values (`a,b` is two) in one search. Each becomes
/// a condition of the SQL, and SQLite refuses statements nested deeper
/// than 1,000, so this keeps every search well inside what it can run.
pub const MAX_SEARCH_TERMS: usize = 100;
/// Most values bound into one search's SQL (SQLite takes 32,766). Chains
/// over references that may point to any type multiply their conditions.
pub const MAX_BOUND_VALUES: usize = 20_000;
/// Most resources `_include` and `_revinclude` add to one page.
pub const MAX_INCLUDED: usize = 10 * MAX_COUNT;

/// Parameters that steer the search rather than select resources.
pub const CONTROL: &[&str] = &["_count", "_offset", "_sort", "_include", "_revinclude", "_summary", "_format", "_elements", "_total", "_pretty"];

/// `_include=CarePlan:goal[:Goal]` or `_revinclude=Provenance:target[:CarePlan]`.
#[derive(Clone, Debug)]
pub struct Include {
    pub source_type: String,
    pub param: String,
    pub target_type: Option<String>,
}

/// A search ready to run.
#[derive(Debug)]
pub struct Plan {
    pub res_type: String,
    predicates: Vec<String>,
    args: Vec<Sql>,
    order: Vec<String>,
    order_args: Vec<Sql>,
    pub count: usize,
    pub offset: usize,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    pub summary_count: bool,
    /// Parameters this server does not know or cannot search (composite,
    /// special), left out of the search (the searchset says so in an
    /// OperationOutcome, as the spec asks).
    pub ignored: Vec<String>,
    guard: Option<ChainGuard>,
}

/// Who a chained parameter searches for (`access::chain_guard`): the
/// resources a chain looks into are limited in SQL, since a chain's answer
/// (a match or none) tells of the linked resource without showing it.
#[derive(Clone, Debug, Default)]
pub struct ChainGuard {
    /// The person whose own record is never held back from them ('' for none).
    pub me: String,
    /// A patient-scoped token: chains look only into that patient's record
    /// and into resources that concern no one.
    pub patient_only: bool,
}

/// What a search found.
pub struct Found {
    pub total: usize,
    pub matches: Vec<Version>,
    pub included: Vec<Version>,
    /// The answer's budget ran out before the page was full: the next page starts after `matches`.
    pub cut: bool,
    /// Why some included resources were left out, when they were.
    pub included_cut: Option<String>,
}

/// The owner of the index rows a predicate tests: SQL expressions for its type and id.
struct Owner {
    res_type: String,
    id: String,
    last_updated: String,
    type_name: String,
}

impl Plan {
    pub fn new(registry: &Registry, res_type: &str, pairs: &[(String, String)]) -> FhirResult<Plan> {
        Plan::guarded(registry, res_type, pairs, None)
    }

    /// A plan whose chained parameters look only where `guard` allows.
    pub fn guarded(registry: &Registry, res_type: &str, pairs: &[(String, String)], guard: Option<ChainGuard>) -> FhirResult<Plan> {
        let mut plan = Plan {
            guard,
            res_type: res_type.to_string(),
            predicates: Vec::new(),
            args: Vec::new(),
            order: Vec::new(),
            order_args: Vec::new(),
            count: DEFAULT_COUNT,
            offset: 0,
            includes: Vec::new(),
            revincludes: Vec::new(),
            summary_count: false,
            ignored: Vec::new(),
        };
        let top = Owner { res_type: "r.res_type".into(), id: "r.res_id".into(), last_updated: "r.last_updated".into(), type_name: res_type.to_string() };
        check_terms(pairs)?;
        let mut depth = 0usize;
        for (key, value) in pairs {
            let base = key.split([':', '.']).next().unwrap_or(key);
            match base {
                "_count" => plan.count = number(key, value)?.min(MAX_COUNT),
                "_offset" => plan.offset = number(key, value)?,
                "_summary" => plan.summary_count = value == "count",
                "_sort" => plan.sort(registry, value)?,
                "_include" => plan.includes.push(include(key, value)?),
                "_revinclude" => plan.revincludes.push(include(key, value)?),
                _ if CONTROL.contains(&base) => {}
                _ => match plan.predicate(registry, &top, key, value, &mut depth)? {
                    Some(p) => plan.predicates.push(p),
                    None => plan.ignored.push(key.clone()),
                },
            }
        }
        let bound = plan.args.len() + plan.order_args.len();
        if bound > MAX_BOUND_VALUES {
            return Err(FhirError::new(
                400,
                IssueCode::TooCostly,
                format!("This search expands to {bound} conditions; this server runs at most {MAX_BOUND_VALUES} in one search. Chained parameters over references that may point to many types multiply them: name the target type (e.g. subject:Patient.name=…) or use fewer chains"),
            ));
        }
        Ok(plan)
    }

    /// Limits the search to what a patient-scoped token's patient may see
    /// (`auth::concern`), before it runs, so that nothing outside (a count,
    /// a next link, a conditional match) depends on other people's records:
    /// for a type of R4's Patient compartment, the resources in that
    /// patient's compartment; for any other type, those that concern the
    /// patient, or that concern no one and the patient's record refers to.
    pub fn only_for_patient(&mut self, patient: &str, compartment_type: bool) {
        if compartment_type {
            self.predicates.push("EXISTS (SELECT 1 FROM concern c WHERE c.res_type = r.res_type AND c.res_id = r.res_id AND c.patient = ? AND c.compartment = 1)".into());
            self.args.push(Sql::from(patient.to_string()));
        } else {
            self.predicates.push(
                "(EXISTS (SELECT 1 FROM concern c WHERE c.res_type = r.res_type AND c.res_id = r.res_id AND c.patient = ?) OR (NOT EXISTS (SELECT 1 FROM concern c WHERE c.res_type = r.res_type AND c.res_id = r.res_id) AND EXISTS (SELECT 1 FROM link l JOIN concern c ON c.res_type = l.res_type AND c.res_id = l.res_id WHERE l.target_type = r.res_type AND l.target_id = r.res_id AND c.patient = ? AND l.by_patient = 0)))".into(),
            );
            self.args.push(Sql::from(patient.to_string()));
            self.args.push(Sql::from(patient.to_string()));
        }
    }

    /// What a chain through `alias` may not look into, for the guard's
    /// requester: records of people who have a Consent on file (it may
    /// withhold them; their consent is not decidable in SQL) other than the
    /// requester's own, resources labelled R or V, and for a patient-scoped
    /// token everything outside its patient's record but shared resources.
    /// Its arguments are pushed after the inner predicate's.
    fn chain_limit(&mut self, alias: &str) -> String {
        let Some(guard) = self.guard.clone() else { return String::new() };
        let mut sql = format!(
            " AND NOT EXISTS (SELECT 1 FROM concern g WHERE g.res_type = {alias}.target_type AND g.res_id = {alias}.target_id AND g.patient <> ? AND EXISTS (SELECT 1 FROM idx_reference k WHERE k.res_type = 'Consent' AND k.param = 'patient' AND k.target_type = 'Patient' AND k.target_id = g.patient))\
             AND NOT EXISTS (SELECT 1 FROM idx_token s WHERE s.res_type = {alias}.target_type AND s.res_id = {alias}.target_id AND s.param = '_security' AND s.code IN ('R', 'V'))"
        );
        self.args.push(Sql::from(guard.me.clone()));
        if guard.patient_only {
            sql.push_str(&format!(
                " AND (EXISTS (SELECT 1 FROM concern g WHERE g.res_type = {alias}.target_type AND g.res_id = {alias}.target_id AND g.patient = ?) OR NOT EXISTS (SELECT 1 FROM concern g WHERE g.res_type = {alias}.target_type AND g.res_id = {alias}.target_id))"
            ));
            self.args.push(Sql::from(guard.me));
        }
        sql
    }

    fn where_clause(&self) -> String {
        let mut sql = String::from("r.res_type = ? AND r.deleted = 0");
        for p in &self.predicates {
            sql.push_str(" AND ");
            sql.push_str(p);
        }
        sql
    }

    /// Runs the search: the total, one page of matches, and what they include.
    pub fn run(&self, conn: &Connection) -> FhirResult<Found> {
        self.run_within(conn, &Budget::new(usize::MAX))
    }

    /// As [`Plan::run`], loading resources only while the answer's budget lasts.
    pub fn run_within(&self, conn: &Connection, budget: &Budget) -> FhirResult<Found> {
        let where_sql = self.where_clause();
        let mut args = vec![Sql::from(self.res_type.clone())];
        args.extend(self.args.iter().cloned());
        let total: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM resource_current r WHERE {where_sql}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
        if self.summary_count {
            return Ok(Found { total: total as usize, matches: Vec::new(), included: Vec::new(), cut: false, included_cut: None });
        }
        let mut order = self.order.clone();
        order.push("r.seq".into());
        let sql = format!("SELECT r.res_type, r.res_id FROM resource_current r WHERE {where_sql} ORDER BY {} LIMIT ? OFFSET ?", order.join(", "));
        args.extend(self.order_args.iter().cloned());
        args.push(Sql::from(self.count as i64));
        args.push(Sql::from(self.offset as i64));
        let keys: Vec<(String, String)> = conn.prepare(&sql)?.query_map(rusqlite::params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let (matches, cut) = store::current_within(conn, &keys, budget)?;
        // Includes of the matches shown only: those cut off come with the next page.
        let shown: Vec<(String, String)> = matches.iter().map(|v| (v.res_type.clone(), v.id.clone())).collect();
        let (included, included_cut) = self.included(conn, &shown, budget)?;
        Ok(Found { total: total as usize, matches, included, cut, included_cut })
    }

    /// Every match, without includes or paging (the caller knows the total is small).
    pub fn every_match(&self, conn: &Connection) -> FhirResult<Vec<Version>> {
        let where_sql = self.where_clause();
        let mut args = vec![Sql::from(self.res_type.clone())];
        args.extend(self.args.iter().cloned());
        let sql = format!("SELECT r.res_type, r.res_id FROM resource_current r WHERE {where_sql}");
        let keys: Vec<(String, String)> = conn.prepare(&sql)?.query_map(rusqlite::params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        store::current_many(conn, &keys)
    }

    fn included(&self, conn: &Connection, keys: &[(String, String)], budget: &Budget) -> FhirResult<(Vec<Version>, Option<String>)> {
        if self.includes.is_empty() && self.revincludes.is_empty() {
            return Ok((Vec::new(), None));
        }
        let mut found: Vec<(String, String)> = Vec::new();
        for inc in &self.includes {
            let mut stmt = conn.prepare_cached(
                "SELECT target_type, target_id FROM idx_reference WHERE res_type = ?1 AND res_id = ?2 AND (?3 = '*' OR param = ?3) AND target_id IS NOT NULL AND (?4 IS NULL OR target_type = ?4)",
            )?;
            for (t, id) in keys.iter().filter(|(t, _)| *t == inc.source_type) {
                let rows = stmt.query_map(rusqlite::params![t, id, inc.param, inc.target_type], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                for row in rows.take(MAX_INCLUDED + 1 - found.len().min(MAX_INCLUDED)) {
                    found.push(row?);
                }
            }
        }
        for inc in &self.revincludes {
            let mut stmt = conn.prepare_cached(
                "SELECT res_type, res_id FROM idx_reference WHERE res_type = ?1 AND (?2 = '*' OR param = ?2) AND target_type = ?3 AND target_id = ?4",
            )?;
            for (t, id) in keys.iter().filter(|(t, _)| inc.target_type.as_ref().is_none_or(|want| want == t)) {
                let rows = stmt.query_map(rusqlite::params![inc.source_type, inc.param, t, id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                for row in rows.take(MAX_INCLUDED + 1 - found.len().min(MAX_INCLUDED)) {
                    found.push(row?);
                }
            }
        }
        let mut seen: std::collections::HashSet<(String, String)> = keys.iter().cloned().collect();
        found.retain(|k| seen.insert(k.clone()));
        let too_many = found.len() > MAX_INCLUDED;
        found.truncate(MAX_INCLUDED);
        let (included, cut) = store::current_within(conn, &found, budget)?;
        let why = if cut {
            Some(format!("Some included resources are not in this page: {}; ask for fewer matches per page (_count)", budget.message()))
        } else if too_many {
            Some(format!("Only the first {MAX_INCLUDED} included resources are in this page; ask for fewer matches per page (_count)"))
        } else {
            None
        };
        Ok((included, why))
    }

    fn sort(&mut self, registry: &Registry, value: &str) -> FhirResult<()> {
        for key in value.split(',').filter(|k| !k.is_empty()) {
            let (desc, code) = match key.strip_prefix('-') {
                Some(c) => (true, c),
                None => (false, key),
            };
            let dir = if desc { "DESC" } else { "ASC" };
            let expr = match code {
                "_lastUpdated" => "r.last_updated".to_string(),
                "_id" => "r.res_id".to_string(),
                _ => {
                    let param = registry.param(&self.res_type, code).ok_or_else(|| unknown(&self.res_type, code))?;
                    let (table, column) = match param.kind {
                        ParamType::Date => ("idx_date", if desc { "hi" } else { "lo" }),
                        ParamType::String => ("idx_string", "norm"),
                        ParamType::Token => ("idx_token", "code"),
                        ParamType::Number | ParamType::Quantity => ("idx_quantity", "value"),
                        ParamType::Uri => ("idx_uri", "uri"),
                        ParamType::Reference => ("idx_reference", "url"),
                        ParamType::Composite | ParamType::Special => return Err(FhirError::bad_request(format!("Cannot sort by '{code}': it is a {} parameter; sort by a date, string, token, number, quantity, uri or reference parameter", param.kind.as_str()))),
                    };
                    let agg = if desc { "MAX" } else { "MIN" };
                    self.order_args.push(Sql::from(code.to_string()));
                    format!("(SELECT {agg}(s.{column}) FROM {table} s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = ?)")
                }
            };
            self.order.push(format!("{expr} {dir}"));
        }
        Ok(())
    }

    /// One `key=value` as an SQL predicate on `owner`; `None` for a parameter we do not know.
    fn predicate(&mut self, registry: &Registry, owner: &Owner, key: &str, value: &str, depth: &mut usize) -> FhirResult<Option<String>> {
        if let Some((left, chained)) = key.split_once('.') {
            return self.chain(registry, owner, left, chained, value, depth).map(Some);
        }
        let (code, modifier) = match key.split_once(':') {
            Some((c, m)) => (c, Some(m)),
            None => (key, None),
        };
        if code == "_id" {
            return self.own_column(&owner.id.clone(), modifier, value).map(Some);
        }
        if code == "_lastUpdated" {
            return self.last_updated(owner, value).map(Some);
        }
        let Some(param) = registry.param(&owner.type_name, code) else { return Ok(None) };
        if param.kind == ParamType::Composite {
            return self.composite(&param, owner, modifier, value, key, depth).map(Some);
        }
        // Special parameters are left out like unknown ones (the searchset says which).
        let Some(table) = param.kind.table() else { return Ok(None) };
        *depth += 1;
        let alias = format!("i{depth}");
        let head = format!("SELECT 1 FROM {table} {alias} WHERE {alias}.res_type = {} AND {alias}.res_id = {} AND {alias}.param = ?", owner.res_type, owner.id);
        if modifier == Some("missing") {
            self.args.push(Sql::from(code.to_string()));
            return match value {
                "true" => Ok(Some(format!("NOT EXISTS ({head})"))),
                "false" => Ok(Some(format!("EXISTS ({head})"))),
                _ => Err(FhirError::bad_request(format!("{key}={value}: ':missing' takes true or false"))),
            };
        }
        let negate = modifier == Some("not");
        self.args.push(Sql::from(code.to_string()));
        let mut alternatives = Vec::new();
        for v in split_values(value) {
            alternatives.push(self.matcher(param.kind, &alias, modifier.filter(|m| *m != "not"), &v, key)?);
        }
        let exists = format!("EXISTS ({head} AND ({}))", alternatives.join(" OR "));
        Ok(Some(if negate { format!("NOT {exists}") } else { exists }))
    }

    /// A composite (`code-value-quantity=http://loinc.org|2339-0$gt5`): one
    /// row per component, all of the same group (found on the same element).
    fn composite(&mut self, param: &SearchParam, owner: &Owner, modifier: Option<&str>, value: &str, key: &str, depth: &mut usize) -> FhirResult<String> {
        *depth += 1;
        let alias = |k: usize| format!("k{depth}_{k}");
        let table = |k: usize| param.components[k].kind.table().unwrap_or("idx_token");
        let first = format!("SELECT 1 FROM {} {} WHERE {a}.res_type = {} AND {a}.res_id = {} AND {a}.param = ?", table(0), alias(0), owner.res_type, owner.id, a = alias(0));
        match (modifier, value) {
            (Some("missing"), "true" | "false") => {
                self.args.push(Sql::from(param.component_name(0)));
                return Ok(if value == "true" { format!("NOT EXISTS ({first})") } else { format!("EXISTS ({first})") });
            }
            (None, _) => {}
            (Some(m), _) => return Err(FhirError::bad_request(format!("{key}: composite parameters take no modifier but :missing, not ':{m}'"))),
        }
        let mut alternatives = Vec::new();
        for v in split_values(value) {
            let parts: Vec<&str> = v.split('$').collect();
            if parts.len() != param.components.len() {
                return Err(FhirError::bad_request(format!(
                    "{key}={v}: this composite has {} parts, written separated by '$' (e.g. code-value-quantity=http://loinc.org|2339-0$gt5)",
                    param.components.len()
                )));
            }
            let mut sql = format!("EXISTS (SELECT 1 FROM {} {}", table(0), alias(0));
            for k in 1..parts.len() {
                let (a, a0) = (alias(k), alias(0));
                sql.push_str(&format!(" JOIN {} {a} ON {a}.res_type = {a0}.res_type AND {a}.res_id = {a0}.res_id AND {a}.grp = {a0}.grp AND {a}.param = ?", table(k)));
                self.args.push(Sql::from(param.component_name(k)));
            }
            sql.push_str(&format!(" WHERE {a}.res_type = {} AND {a}.res_id = {} AND {a}.param = ?", owner.res_type, owner.id, a = alias(0)));
            self.args.push(Sql::from(param.component_name(0)));
            for (k, part) in parts.iter().enumerate() {
                let m = self.matcher(param.components[k].kind, &alias(k), None, part, key)?;
                sql.push_str(&format!(" AND ({m})"));
            }
            sql.push(')');
            alternatives.push(sql);
        }
        Ok(format!("({})", alternatives.join(" OR ")))
    }

    fn chain(&mut self, registry: &Registry, owner: &Owner, left: &str, chained: &str, value: &str, depth: &mut usize) -> FhirResult<String> {
        let (code, type_modifier) = match left.split_once(':') {
            Some((c, t)) => (c, Some(t.to_string())),
            None => (left, None),
        };
        let param = registry.param(&owner.type_name, code).ok_or_else(|| unknown(&owner.type_name, code))?;
        if param.kind != ParamType::Reference {
            return Err(FhirError::bad_request(format!("'{left}.{chained}': only reference parameters can be chained, and '{code}' is a {} parameter", param.kind.as_str())));
        }
        let inner_code = chained.split([':', '.']).next().unwrap_or(chained);
        let targets: Vec<String> = match type_modifier {
            Some(t) => vec![t],
            None => param.targets.iter().filter(|t| inner_code.starts_with('_') || registry.param(t, inner_code).is_some()).cloned().collect(),
        };
        if targets.is_empty() {
            return Err(FhirError::bad_request(format!("'{left}.{chained}': no resource type that '{code}' refers to has a search parameter '{inner_code}'")));
        }
        let mut alternatives = Vec::new();
        for target in targets {
            *depth += 1;
            let alias = format!("c{depth}");
            self.args.push(Sql::from(code.to_string()));
            self.args.push(Sql::from(target.clone()));
            let inner_owner = Owner {
                res_type: format!("{alias}.target_type"),
                id: format!("{alias}.target_id"),
                last_updated: format!("(SELECT last_updated FROM resource_current WHERE res_type = {alias}.target_type AND res_id = {alias}.target_id)"),
                type_name: target.clone(),
            };
            let inner = self.predicate(registry, &inner_owner, chained, value, depth)?.ok_or_else(|| unknown(&target, inner_code))?;
            let held_back = self.chain_limit(&alias);
            alternatives.push(format!(
                "EXISTS (SELECT 1 FROM idx_reference {alias} WHERE {alias}.res_type = {} AND {alias}.res_id = {} AND {alias}.param = ? AND {alias}.target_type = ? AND {inner}{held_back})",
                owner.res_type, owner.id
            ));
        }
        Ok(format!("({})", alternatives.join(" OR ")))
    }

    fn own_column(&mut self, column: &str, modifier: Option<&str>, value: &str) -> FhirResult<String> {
        let values = split_values(value);
        let marks = vec!["?"; values.len()].join(", ");
        self.args.extend(values.into_iter().map(Sql::from));
        Ok(match modifier {
            Some("not") => format!("{column} NOT IN ({marks})"),
            None | Some("exact") => format!("{column} IN ({marks})"),
            Some(m) => return Err(FhirError::bad_request(format!("_id:{m}: this modifier does not apply to _id; use _id or _id:not"))),
        })
    }

    fn last_updated(&mut self, owner: &Owner, value: &str) -> FhirResult<String> {
        let mut alternatives = Vec::new();
        for v in split_values(value) {
            let column = owner.last_updated.clone();
            alternatives.push(self.date_match(&column, &column, &v, "_lastUpdated")?);
        }
        Ok(format!("({})", alternatives.join(" OR ")))
    }

    /// One value of a parameter against the row `alias`.
    fn matcher(&mut self, kind: ParamType, alias: &str, modifier: Option<&str>, value: &str, key: &str) -> FhirResult<String> {
        let unsupported = |m: &str| FhirError::bad_request(format!("{key}: the modifier ':{m}' is not supported on {} parameters; supported: :missing, :not, :text (token), :exact and :contains (string), :below and :contains (uri), a type (reference)", kind.as_str()));
        match kind {
            ParamType::Token => {
                match modifier {
                    None => {}
                    Some("text") => {
                        self.args.push(Sql::from(format!("%{}%", like_escape(&normalize(value)))));
                        return Ok(format!("lower({alias}.display) LIKE ? ESCAPE '\\'"));
                    }
                    Some(m) => return Err(unsupported(m)),
                }
                Ok(match value.split_once('|') {
                    Some(("", code)) => {
                        self.args.push(Sql::from(code.to_string()));
                        format!("({alias}.system IS NULL AND {alias}.code = ?)")
                    }
                    Some((system, "")) => {
                        self.args.push(Sql::from(system.to_string()));
                        format!("{alias}.system = ?")
                    }
                    Some((system, code)) => {
                        self.args.push(Sql::from(system.to_string()));
                        self.args.push(Sql::from(code.to_string()));
                        format!("({alias}.system = ? AND {alias}.code = ?)")
                    }
                    None => {
                        self.args.push(Sql::from(value.to_string()));
                        format!("{alias}.code = ?")
                    }
                })
            }
            ParamType::String => Ok(match modifier {
                Some("exact") => {
                    self.args.push(Sql::from(value.to_string()));
                    format!("{alias}.exact = ?")
                }
                Some("contains") => {
                    self.args.push(Sql::from(format!("%{}%", like_escape(&normalize(value)))));
                    format!("{alias}.norm LIKE ? ESCAPE '\\'")
                }
                None => {
                    self.args.push(Sql::from(format!("{}%", like_escape(&normalize(value)))));
                    format!("{alias}.norm LIKE ? ESCAPE '\\'")
                }
                Some(m) => return Err(unsupported(m)),
            }),
            ParamType::Uri => Ok(match modifier {
                None => {
                    self.args.push(Sql::from(value.to_string()));
                    format!("{alias}.uri = ?")
                }
                Some("below") => {
                    self.args.push(Sql::from(format!("{}%", like_escape(value))));
                    format!("{alias}.uri LIKE ? ESCAPE '\\'")
                }
                Some("contains") => {
                    self.args.push(Sql::from(format!("%{}%", like_escape(value))));
                    format!("{alias}.uri LIKE ? ESCAPE '\\'")
                }
                Some(m) => return Err(unsupported(m)),
            }),
            ParamType::Date => {
                if let Some(m) = modifier {
                    return Err(unsupported(m));
                }
                self.date_match(&format!("{alias}.lo"), &format!("{alias}.hi"), value, key)
            }
            ParamType::Number | ParamType::Quantity => {
                if let Some(m) = modifier {
                    return Err(unsupported(m));
                }
                self.quantity_match(alias, value, key)
            }
            ParamType::Reference => {
                let type_modifier = match modifier {
                    None => None,
                    Some(t) if t.starts_with(|c: char| c.is_ascii_uppercase()) => Some(t.to_string()),
                    Some(m) => return Err(unsupported(m)),
                };
                Ok(match (parse_reference(value), type_modifier) {
                    (Some((t, id)), _) => {
                        self.args.push(Sql::from(t));
                        self.args.push(Sql::from(id));
                        format!("({alias}.target_type = ? AND {alias}.target_id = ?)")
                    }
                    (None, _) if value.contains(':') => {
                        self.args.push(Sql::from(value.to_string()));
                        format!("{alias}.url = ?")
                    }
                    (None, Some(t)) => {
                        self.args.push(Sql::from(t));
                        self.args.push(Sql::from(value.to_string()));
                        format!("({alias}.target_type = ? AND {alias}.target_id = ?)")
                    }
                    (None, None) => {
                        self.args.push(Sql::from(value.to_string()));
                        format!("{alias}.target_id = ?")
                    }
                })
            }
            ParamType::Composite | ParamType::Special => Err(FhirError::not_supported(format!("{key} cannot be searched here"))),
        }
    }

    /// A date value with its prefix against a stored range `[lo, hi]`.
    fn date_match(&mut self, lo: &str, hi: &str, value: &str, key: &str) -> FhirResult<String> {
        let (prefix, date) = split_prefix(value);
        let (slo, shi) = dates::range(date).ok_or_else(|| {
            FhirError::bad_request(format!("{key}={value}: '{date}' is not a FHIR date or dateTime; write e.g. 2026-11-25 or 2026-11-25T10:00:00Z, with an optional prefix eq, ne, gt, lt, ge, le, sa, eb, ap"))
        })?;
        let (sql, bound): (String, Vec<i64>) = match prefix {
            "eq" => (format!("({lo} >= ? AND {hi} <= ?)"), vec![slo, shi]),
            "ne" => (format!("NOT ({lo} >= ? AND {hi} <= ?)"), vec![slo, shi]),
            "gt" | "sa" => (if prefix == "gt" { format!("{hi} > ?") } else { format!("{lo} > ?") }, vec![shi]),
            "lt" | "eb" => (if prefix == "lt" { format!("{lo} < ?") } else { format!("{hi} < ?") }, vec![slo]),
            "ge" => (format!("{hi} >= ?"), vec![slo]),
            "le" => (format!("{lo} <= ?"), vec![shi]),
            "ap" => {
                let margin = ((shi - slo) / 10).max(86_400_000);
                (format!("({lo} <= ? AND {hi} >= ?)"), vec![shi + margin, slo - margin])
            }
            _ => unreachable!("split_prefix returns a known prefix"),
        };
        self.args.extend(bound.into_iter().map(Sql::from));
        Ok(sql)
    }

    fn quantity_match(&mut self, alias: &str, value: &str, key: &str) -> FhirResult<String> {
        let (prefix, rest) = split_prefix(value);
        let mut parts = rest.splitn(3, '|');
        let number_text = parts.next().unwrap_or_default();
        let number: f64 = number_text.parse().map_err(|_| FhirError::bad_request(format!("{key}={value}: '{number_text}' is not a number; write [prefix]number[|system|code], e.g. gt5.4|http://unitsofmeasure.org|mg")))?;
        let decimals = number_text.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
        let half = 0.5 * 10f64.powi(-decimals);
        let (mut sql, bound): (String, Vec<f64>) = match prefix {
            "eq" => (format!("({alias}.value >= ? AND {alias}.value < ?)"), vec![number - half, number + half]),
            "ne" => (format!("NOT ({alias}.value >= ? AND {alias}.value < ?)"), vec![number - half, number + half]),
            "gt" | "sa" => (format!("{alias}.value > ?"), vec![number]),
            "lt" | "eb" => (format!("{alias}.value < ?"), vec![number]),
            "ge" => (format!("{alias}.value >= ?"), vec![number]),
            "le" => (format!("{alias}.value <= ?"), vec![number]),
            _ => (format!("({alias}.value >= ? AND {alias}.value <= ?)"), vec![number - number.abs() * 0.1, number + number.abs() * 0.1]),
        };
        self.args.extend(bound.into_iter().map(Sql::from));
        let system = parts.next().filter(|s| !s.is_empty());
        let code = parts.next().filter(|s| !s.is_empty());
        if let Some(s) = system {
            sql = format!("({sql} AND {alias}.system = ?)");
            self.args.push(Sql::from(s.to_string()));
        }
        if let Some(c) = code {
            sql = format!("({sql} AND {alias}.code = ?)");
            self.args.push(Sql::from(c.to_string()));
        }
        Ok(sql)
    }
}

/// Refuses a search with more parameters and values than [`MAX_SEARCH_TERMS`],
/// before any SQL is built for it.
fn check_terms(pairs: &[(String, String)]) -> FhirResult<()> {
    const UNCOUNTED: &[&str] = &["_count", "_offset", "_summary", "_format", "_elements", "_total", "_pretty"];
    let terms: usize = pairs.iter().filter(|(k, _)| !UNCOUNTED.contains(&k.as_str())).map(|(_, v)| split_values(v).len()).sum();
    if terms > MAX_SEARCH_TERMS {
        return Err(FhirError::new(
            400,
            IssueCode::TooCostly,
            format!("This search has {terms} parameters and values; this server takes at most {MAX_SEARCH_TERMS} in one search. Narrow it, or split it into several searches"),
        ));
    }
    Ok(())
}

fn unknown(res_type: &str, code: &str) -> FhirError {
    FhirError::bad_request(format!("'{code}' is not a search parameter of {res_type}; see the server's CapabilityStatement (GET /metadata) for the parameters it supports"))
}

pub fn number(key: &str, value: &str) -> FhirResult<usize> {
    value.parse().map_err(|_| FhirError::bad_request(format!("{key}={value}: expected a whole number")))
}

fn include(key: &str, value: &str) -> FhirResult<Include> {
    let mut parts = value.split(':');
    let (Some(source_type), Some(param)) = (parts.next(), parts.next()) else {
        return Err(FhirError::bad_request(format!("{key}={value}: write {key}=SourceType:parameter[:TargetType], e.g. CarePlan:goal")));
    };
    Ok(Include { source_type: source_type.to_string(), param: param.to_string(), target_type: parts.next().map(str::to_string) })
}

/// `a,b\,c` → [`a`, `b,c`]: commas separate alternatives unless escaped.
fn split_values(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| matches!(n, ',' | '|' | '$' | '\\')) => current.extend(chars.next()),
            ',' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

const PREFIXES: &[&str] = &["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"];

fn split_prefix(value: &str) -> (&str, &str) {
    match value.get(..2) {
        Some(p) if PREFIXES.contains(&p) && value[2..].starts_with(|c: char| c.is_ascii_digit() || c == '-') => (p, &value[2..]),
        _ => ("eq", value),
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Resources of `res_type` matching a conditional request's query
/// (`identifier=http://x|1`): at most `limit` (type, id) pairs; with
/// `only`, among those a patient may see (`Plan::only_for_patient`).
pub fn matching(conn: &Connection, registry: &Registry, res_type: &str, query: &str, limit: usize, only: Option<(&str, bool)>) -> FhirResult<Vec<(String, String)>> {
    matching_guarded(conn, registry, res_type, query, limit, only, None)
}

/// [`matching`] whose chained criteria look only where `guard` allows.
pub fn matching_guarded(conn: &Connection, registry: &Registry, res_type: &str, query: &str, limit: usize, only: Option<(&str, bool)>, guard: Option<ChainGuard>) -> FhirResult<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if pairs.is_empty() {
        return Err(FhirError::bad_request(format!("The conditional request on {res_type} has no search criteria; give e.g. identifier=system|value")));
    }
    let mut plan = Plan::guarded(registry, res_type, &pairs, guard)?;
    if !plan.ignored.is_empty() {
        return Err(FhirError::bad_request(format!("The conditional request uses search parameters that {res_type} does not have: {}", plan.ignored.join(", "))));
    }
    if let Some((patient, compartment_type)) = only {
        plan.only_for_patient(patient, compartment_type);
    }
    plan.count = limit;
    plan.includes.clear();
    plan.revincludes.clear();
    Ok(plan.run(conn)?.matches.into_iter().map(|v| (v.res_type, v.id)).collect())
}
