//! Measure and MeasureReport rules.
//!
//! A MeasureReport is checked against the Measure it names
//! (`MeasureReport.measure`, a canonical or `#id` of a contained one): its
//! groups, their populations and stratifiers matched to the Measure's by
//! code, subject lists against counts, and the measureScore against the
//! Measure's scoring. A Measure's own rules: groups, population and
//! stratifier codes, and CQL stratifier criteria against the compiled (ELM)
//! content of the Measure's libraries.
//!
//! The reference validator also reports element ids used twice within a
//! resource; that rule is generic there, here it runs for these two types.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const POPULATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/measure-population";

// ---------------------------------------------------------------------------
// Measure

/// A Measure's own rules.
pub(super) fn check_measure(walk: &mut Walk<'_, '_>, node: &Node) {
    duplicate_ids(walk, node);
    let mut libraries: Vec<Arc<Value>> = Vec::new();
    for lib in node.children_named("library") {
        let Some(canonical) = lib.text().or_else(|| lib.child_text("reference")).filter(|s| !s.is_empty()) else { continue };
        match resolve(walk, canonical, "Library") {
            Some(l) => libraries.push(l),
            None => walk.inform(
                lib,
                IssueCode::NotFound,
                format!("The Library {canonical} could not be resolved, so expression validation may not be correct"),
            ),
        }
    }
    let groups: Vec<&Node> = node.children_named("group").collect();
    if groups.is_empty() {
        walk.warn(node, IssueCode::Required, "A measure should contain at least one group".into());
        return;
    }
    let libs = Libraries::new(&libraries);
    for (gi, group) in groups.iter().enumerate() {
        walk.path.push("group", Some(gi));
        if groups.len() > 1 && group.child("code").is_none() {
            // MEASURE_M_GROUP_CODE
            walk.warn(group, IssueCode::Required, "Groups should have codes when there is more than one group".into());
        }
        let pops: Vec<&Node> = group.children_named("population").collect();
        if pops.is_empty() {
            walk.warn(group, IssueCode::Required, "Measure Groups should have at least one population".into());
        }
        for (pi, p) in pops.iter().enumerate() {
            if pops.len() > 1 && p.child("code").is_none() {
                walk.path.push("population", Some(pi));
                walk.warn(p, IssueCode::Required, "A measure group population should have a code when there is more than one population".into());
                walk.path.pop();
            }
        }
        let strats: Vec<&Node> = group.children_named("stratifier").collect();
        for (si, st) in strats.iter().enumerate() {
            walk.path.push("stratifier", Some(si));
            if strats.len() > 1 && st.child("code").is_none() {
                walk.warn(st, IssueCode::Required, "A measure group stratifier should have a code when there is more than one population".into());
            }
            if let Some(crit) = st.child("criteria") {
                walk.path.push("criteria", None);
                libs.criteria(walk, crit);
                walk.path.pop();
            }
            // A stratifier's components, as the reference means to read them
            // (it looks for them on the group, which has none).
            let components: Vec<&Node> = st.children_named("component").collect();
            for (ci, cp) in components.iter().enumerate() {
                walk.path.push("component", Some(ci));
                if components.len() > 1 && cp.child("code").is_none() {
                    // MEASURE_M_GROUP_STRATA_COMP_NO_CODE
                    walk.warn(cp, IssueCode::Required, "A measure group stratifier component should have a code when there is more than one population".into());
                }
                if let Some(crit) = cp.child("criteria") {
                    walk.path.push("criteria", None);
                    libs.criteria(walk, crit);
                    walk.path.pop();
                }
                walk.path.pop();
            }
            walk.path.pop();
        }
        walk.path.pop();
    }
}

/// The libraries a Measure names and resolves, with their compiled content.
struct Libraries<'a> {
    list: Vec<(&'a Value, Elm)>,
}

/// What a Library's `application/elm+xml` content says.
enum Elm {
    /// No compiled content.
    None,
    /// Content that is not an ELM library document.
    NotValid,
    /// Content that cannot be read as XML, with why.
    Unreadable(String),
    /// The names of the library's statements (`library/statements/def/@name`).
    Statements(Vec<String>),
}

impl<'a> Libraries<'a> {
    fn new(list: &'a [Arc<Value>]) -> Libraries<'a> {
        Libraries { list: list.iter().map(|l| (l.as_ref(), elm_of(l))).collect() }
    }

    /// A stratifier's `criteria` (the path points at it).
    fn criteria(&self, walk: &mut Walk<'_, '_>, crit: &Node) {
        let Some(language) = crit.child_text("language").filter(|s| !s.is_empty()) else { return };
        if language != "text/cql" && language != "text/cql.identifier" {
            walk.warn(crit, IssueCode::Required, format!("The expression language {language} is not supported, so can't be validated"));
            return;
        }
        let expression = crit.child_text("expression").unwrap_or("");
        if self.list.is_empty() {
            walk.error(crit, IssueCode::Invalid, "No CQL Libraries found on this Measure".into());
            return;
        }
        let (lib, name) = match expression.split_once('.') {
            Some((namespace, name)) => {
                let matching: Vec<&(&Value, Elm)> = self.list.iter().filter(|(l, _)| str_of(l, "name") == Some(namespace)).collect();
                if matching.len() > 1 {
                    walk.error(crit, IssueCode::Invalid, format!("Multiple matching libraries found for the namespace {namespace}"));
                }
                match matching.first() {
                    Some(found) => (*found, name),
                    None => {
                        walk.error(crit, IssueCode::Invalid, format!("No matching Library found for the namespace {namespace}"));
                        return;
                    }
                }
            }
            None => {
                if self.list.len() != 1 {
                    walk.error(
                        crit,
                        IssueCode::Invalid,
                        "If the CQL expression does not include a namespace, there can only be one Library for the measure".into(),
                    );
                    return;
                }
                (&self.list[0], expression)
            }
        };
        let url = str_of(lib.0, "url").unwrap_or("");
        match &lib.1 {
            Elm::None => walk.error(crit, IssueCode::Invalid, format!("Error in {url}: No compiled version of CQL found")),
            // MEASURE_M_CRITERIA_CQL_ELM_NOT_VALID (the reference's wording begins with "= ")
            Elm::NotValid => walk.error(crit, IssueCode::Invalid, format!("= Error in {url}: Compiled version of CQL is not valid")),
            // MEASURE_M_CRITERIA_CQL_ERROR
            Elm::Unreadable(why) => walk.error(crit, IssueCode::Invalid, format!("Error in {url}: '{}'", crate::issue::quoted(why))),
            Elm::Statements(names) => {
                if !names.iter().any(|n| n == name) {
                    walk.error(crit, IssueCode::Invalid, format!("The function {name} does not exist in the library {url}"));
                }
            }
        }
    }
}

/// The compiled content of a Library, if it has any.
fn elm_of(library: &Value) -> Elm {
    use base64::Engine;
    let Some(content) = library.get("content").and_then(Value::as_array) else { return Elm::None };
    let Some(att) = content.iter().find(|a| str_of(a, "contentType") == Some("application/elm+xml")) else { return Elm::None };
    let Some(bytes) = str_of(att, "data").and_then(|d| base64::engine::general_purpose::STANDARD.decode(d.trim()).ok()) else {
        return Elm::NotValid;
    };
    match elm_statements(&bytes) {
        Ok(names) => Elm::Statements(names),
        Err(None) => Elm::NotValid,
        Err(Some(why)) => Elm::Unreadable(why),
    }
}

/// The statement names of an ELM XML document, or None when the document
/// is not an ELM `library` (namespace `urn:hl7-org:elm:r1`).
fn elm_statements(xml: &[u8]) -> Result<Vec<String>, Option<String>> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::reader::NsReader::from_reader(xml);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut in_statements = false;
    let mut names = Vec::new();
    loop {
        let (ns, event) = reader.read_resolved_event_into(&mut buf).map_err(|e| Some(format!("the ELM is not well-formed XML: {e}")))?;
        let elm_ns = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == b"urn:hl7-org:elm:r1");
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if depth == 0 && (local != b"library" || !elm_ns) {
                    return Err(None);
                }
                if depth == 2 && in_statements && local == b"def" {
                    if let Some(Ok(v)) = e.try_get_attribute("name").ok().flatten().map(|a| a.unescape_value().map(|v| v.into_owned())) {
                        names.push(v);
                    }
                }
                if matches!(event, Event::Start(_)) {
                    if depth == 1 && local == b"statements" && elm_ns {
                        in_statements = true;
                    }
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_statements = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if depth > 0 {
        return Err(Some("the ELM ends before its elements are closed".to_string()));
    }
    Ok(names)
}

// ---------------------------------------------------------------------------
// MeasureReport

/// A MeasureReport against the Measure it reports on.
pub(super) fn check_measure_report(walk: &mut Walk<'_, '_>, node: &Node) {
    duplicate_ids(walk, node);
    let m = node.child("measure");
    let Some(canonical) = m.and_then(|m| m.text().or_else(|| m.child_text("reference"))).filter(|s| !s.trim().is_empty()) else {
        walk.inform(node, IssueCode::Required, "No Measure is identified, so no validation can be performed against the Measure".into());
        return;
    };
    let m = m.expect("the measure element is there");
    let measure: Option<Arc<Value>> = if let Some(id) = canonical.strip_prefix('#') {
        node.children_named("contained")
            .find(|c| c.child_text("id") == Some(id) && c.resource_type.as_deref() == Some("Measure"))
            .map(|c| Arc::new(crate::convert::resource_to_json(c, walk.ctx)))
    } else {
        resolve(walk, canonical, "Measure")
    };
    let Some(measure) = measure else {
        walk.warn(m, IssueCode::Required, format!("The Measure '{canonical}' could not be resolved, so no validation can be performed against the Measure"));
        if let Some((url, version)) = canonical.split_once('|') {
            let known = walk.ctx.versions(url);
            if !known.is_empty() {
                let known: Vec<String> = known.into_iter().map(|v| v.unwrap_or_else(|| "null".to_string())).collect();
                // CANONICAL_MULTIPLE_VERSIONS_KNOWN
                walk.inform(
                    m,
                    IssueCode::Informational,
                    format!("The version {} for the Measure {} is not known. These versions are known: {}", crate::issue::quoted(version), crate::issue::quoted(canonical), crate::issue::quoted(&known.join(", "))),
                );
            }
        }
        return;
    };
    let scoring = measure
        .get("scoring")
        .and_then(|s| s.get("coding"))
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(|c| str_of(c, "code"))
        .map(str::to_string);
    let report_type = node.child_text("type").map(str::to_string);
    walk.path.push("measure", None);
    if !matches!(scoring.as_deref(), Some("proportion" | "ratio" | "continuous-variable" | "cohort")) {
        walk.inform(m, IssueCode::BusinessRule, "The scoring system in this measure is unknown, so the measureScore values cannot be checked".into());
    }
    walk.path.pop();
    let mut check = ReportCheck { walk, measure: &measure, scoring, report_type };
    check.groups(node);
}

struct ReportCheck<'w, 'v, 'n, 'm> {
    walk: &'w mut Walk<'v, 'n>,
    measure: &'m Value,
    scoring: Option<String>,
    report_type: Option<String>,
}

impl<'w, 'v, 'n, 'm> ReportCheck<'w, 'v, 'n, 'm> {
    fn groups(&mut self, report: &Node) {
        let m_groups = array_of(self.measure, "group");
        if m_groups.is_empty() {
            return;
        }
        let groups: Vec<&Node> = report.children_named("group").collect();
        if groups.len() == 1 && m_groups.len() == 1 {
            // A lone group may be anonymous; if both have codes they must agree.
            let (group, mg) = (groups[0], m_groups[0]);
            self.walk.path.push("group", Some(0));
            if let (Some(mcode), Some(code)) = (mg.get("code"), group.child("code")) {
                let codings = codings_of(code);
                if !codings.iter().any(|(s, c)| s.is_some() && c.is_some()) {
                    self.walk.error(
                        group,
                        IssueCode::BusinessRule,
                        "None of the codes provided are usable for comparison - need both system and code on at least one code".into(),
                    );
                } else if !concept_matches(code, mcode) {
                    self.walk.error(
                        group,
                        IssueCode::BusinessRule,
                        format!(
                            // MEASURE_MR_GRP_NO_WRONG_CODE
                            "The code provided ({}) does not match the code specified in the measure report ({})",
                            display_node(code),
                            display_value(Some(mcode))
                        ),
                    );
                }
            }
            self.group(mg, group);
            self.walk.path.pop();
            return;
        }
        let by_code = ByCode::new(&m_groups);
        let mut seen = vec![false; m_groups.len()];
        for (i, group) in groups.iter().enumerate() {
            self.walk.path.push("group", Some(i));
            match group.child("code") {
                None => self.walk.error(group, IssueCode::BusinessRule, "Group should have a code that matches the group definition in the measure".into()),
                Some(code) => match by_code.coded(code) {
                    // MEASURE_MR_GRP_UNK_CODE
                    None => self.walk.error(group, IssueCode::BusinessRule, format!("The code '{}' for this group has no match in the measure definition", display_node(code))),
                    Some(index) if seen[index] => {
                        self.walk.error(group, IssueCode::BusinessRule, "The code for this group is duplicated with another group".into())
                    }
                    Some(index) => {
                        seen[index] = true;
                        self.group(m_groups[index], group);
                    }
                },
            }
            self.walk.path.pop();
        }
        if report.child_text("type") != Some("data-collection") {
            for (index, mg) in m_groups.iter().enumerate() {
                if !seen[index] {
                    self.walk.error(
                        report,
                        IssueCode::BusinessRule,
                        format!("The MeasureReport does not include a group for the group with code '{}'", display_value(mg.get("code"))),
                    );
                }
            }
        }
    }

    /// One report group (the path points at it) against its Measure group.
    fn group(&mut self, mg: &Value, group: &Node) {
        self.populations(mg, group);
        self.score(group);
        self.stratifiers(mg, group);
    }

    fn populations(&mut self, mg: &Value, group: &Node) {
        let m_pops = array_of(mg, "population");
        let by_code = ByCode::new(&m_pops);
        let mut seen = vec![false; m_pops.len()];
        for (i, pop) in group.children_named("population").enumerate() {
            self.walk.path.push("population", Some(i));
            match pop.child("code") {
                None => self.walk.error(pop, IssueCode::BusinessRule, "Group should have a code that matches the group population definition in the measure".into()),
                Some(code) => match by_code.coded(code) {
                    None => self.walk.error(pop, IssueCode::BusinessRule, "The code for this group population has no match in the measure definition".into()),
                    Some(index) if seen[index] => {
                        self.walk.error(pop, IssueCode::BusinessRule, "The code for this group population is duplicated with another group".into())
                    }
                    Some(index) => {
                        seen[index] = true;
                        self.population(pop);
                    }
                },
            }
            self.walk.path.pop();
        }
        for (index, mp) in m_pops.iter().enumerate() {
            let observation = codings_of_value(mp.get("code")).iter().any(|(s, c)| *s == Some(POPULATION_SYSTEM) && *c == Some("measure-observation"));
            if !seen[index] && !observation {
                self.walk.error(
                    group,
                    IssueCode::BusinessRule,
                    // MEASURE_MR_GRP_POP_MISSING_BY_CODE (an R4 population has no linkId: empty)
                    format!("The MeasureReport does not include a population for the population with linkId '{}' and code '{}'", "", display_value(mp.get("code"))),
                );
            }
        }
    }

    /// One report population (the path points at it): subjects and count.
    fn population(&mut self, pop: &Node) {
        let subjects = pop.children_named("subjectResults").count();
        if self.report_type.as_deref() == Some("subject-list") {
            let Some(count) = pop.child_text("count").and_then(|c| c.trim().parse::<i32>().ok()) else { return };
            // The subjects the population lists: a person each, or a List's
            // entries; what cannot be counted is said, and the count left unchecked.
            let mut counted = Some(0usize);
            let mut why: Vec<String> = Vec::new();
            for sr in pop.children_named("subjectResults") {
                let Some(n) = counted else { break };
                counted = self.subjects(sr, &mut why).map(|more| n + more);
            }
            match counted {
                Some(n) if n as i64 != count as i64 => {
                    self.walk.error(pop, IssueCode::BusinessRule, format!("Mismatch between count {count} and number of subjects {n}"));
                }
                Some(_) => {}
                None => {
                    // MEASURE_MR_GRP_POP_COUNT_CANT_CHECK
                    self.walk.inform(pop, IssueCode::BusinessRule, format!("Unable to check the stated count {count} because the subject list cannot be fully processed ({})", why.join("; ")));
                }
            }
        } else {
            if subjects > 0 {
                self.walk.error(pop, IssueCode::BusinessRule, "Reports where type is not 'subject-list' don't have subjects listed".into());
            }
            if pop.child("count").is_none() {
                self.walk.warn(pop, IssueCode::BusinessRule, "Count should be present for reports where type is not 'subject-list'".into());
            }
        }
    }

    /// How many subjects one `subjectResults` reference stands for; `None`,
    /// with why, when that cannot be told.
    fn subjects(&self, sr: &Node, why: &mut Vec<String>) -> Option<usize> {
        const PERSONS: [&str; 5] = ["Patient", "Practitioner", "Person", "PractitionerRole", "RelatedPerson"];
        let Some(reference) = sr.child_text("reference") else {
            // MEASURE_MR_GRP_POP_COUNT_NO_REF
            why.push("Subject reference has no actual reference".to_string());
            return None;
        };
        let shown = crate::issue::quoted(reference);
        let Some(target) = self.walk.resolve(reference) else {
            let parts: Vec<&str> = reference.split('/').collect();
            let is_resource = |t: &str| t.bytes().all(|b| b.is_ascii_alphanumeric()) && self.walk.ctx.type_definition(t).is_some_and(|sd| sd.kind == "resource");
            if parts.len() == 2 && is_resource(parts[0]) {
                if PERSONS.contains(&parts[0]) {
                    return Some(1);
                }
                // MEASURE_MR_GRP_POP_COUNT_UNRESOLVED
                why.push(format!("Subject reference {shown} could not be resolved, and the apparent type is {} which could not be processed", parts[0]));
            } else {
                // MEASURE_MR_GRP_POP_COUNT_NO_REF_RES
                why.push(format!("Subject reference {shown} could not be resolved, and so could not be processed"));
            }
            return None;
        };
        let target_type = target.resource_type.as_deref().unwrap_or("");
        match target_type {
            t if PERSONS.contains(&t) => Some(1),
            "List" => Some(target.children_named("entry").count()),
            other => {
                // MEASURE_MR_GRP_POP_COUNT_REF_UNPROCESSIBLE
                why.push(format!("Subject reference {shown} resolved to a {other}, which could not be processed"));
                None
            }
        }
    }

    /// The group's measureScore against the report type and the Measure's scoring.
    fn score(&mut self, group: &Node) {
        let score = group.child("measureScore");
        let scoring = self.scoring.clone();
        if self.report_type.as_deref() == Some("data-collection") {
            if let Some(s) = score {
                self.banned(s, "measureScore", "No measureScore when the type of the report is 'data-collection'".into());
            }
            return;
        }
        match scoring.as_deref() {
            Some("cohort") => {
                if let Some(s) = score {
                    self.banned(s, "measureScore", "No measureScore when the scoring of the message is 'cohort'".into());
                }
            }
            Some(kind @ ("proportion" | "ratio" | "continuous-variable")) => {
                let Some(score) = score else {
                    self.walk.error(group, IssueCode::Required, format!("A measureScore is required when the Measure.scoring={kind}"));
                    return;
                };
                self.walk.path.push("measureScore", None);
                self.score_value(kind, score);
                self.walk.path.pop();
            }
            _ => {}
        }
    }

    /// A measureScore (the path points at it) for a scoring that needs one.
    fn score_value(&mut self, kind: &str, score: &Node) {
        let mut value = score.child("value");
        if value.is_none() {
            value = score
                .children_named("extension")
                .find(|e| e.child_text("url") == Some("http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-alternateScoreType"))
                .and_then(|e| e.children.iter().find(|c| c.name.starts_with("value")));
        }
        let Some(value) = value else {
            self.walk.error(score, IssueCode::Required, format!("A value is required when the Measure.scoring = {kind}"));
            return;
        };
        let unit = self
            .measure
            .get("extension")
            .and_then(Value::as_array)
            .and_then(|exts| exts.iter().find(|e| str_of(e, "url") == Some("http://hl7.org/fhir/StructureDefinition/questionnaire-unit")))
            .and_then(|e| e.get("valueCoding"))
            .cloned();
        match kind {
            "proportion" => {
                for name in ["unit", "system", "code"] {
                    if let Some(child) = score.child(name) {
                        self.banned(child, name, "A measureScore for this Measure Scoring (proportion) should not have units".into());
                    }
                }
                if let Some(v) = value.text().and_then(|t| t.trim().parse::<rust_decimal::Decimal>().ok()) {
                    if v < rust_decimal::Decimal::ZERO || v > rust_decimal::Decimal::ONE {
                        self.walk.path.push(&value.name, None);
                        self.walk.error(value, IssueCode::Required, "The value is invalid - it must be between 0 and 1".into());
                        self.walk.path.pop();
                    }
                }
            }
            _ => match (score.child("code"), unit) {
                (Some(code), Some(fixed)) => {
                    let fixed_code = str_of(&fixed, "code").unwrap_or("");
                    if code.text() != Some(fixed_code) {
                        self.walk.path.push("code", None);
                        self.walk.error(code, IssueCode::CodeInvalid, format!("This value is fixed by the Measure to '{fixed_code}'"));
                        self.walk.path.pop();
                    }
                    let fixed_system = str_of(&fixed, "system").unwrap_or("");
                    if score.child_text("system") != Some(fixed_system) {
                        self.walk.error(score, IssueCode::CodeInvalid, format!("This value is fixed by the Measure to '{fixed_system}'"));
                    }
                }
                (Some(_), None) => {}
                (None, Some(fixed)) => {
                    let shown = str_of(&fixed, "display").or_else(|| str_of(&fixed, "code")).unwrap_or("").to_string();
                    self.walk.error(score, IssueCode::NotFound, format!("This value is fixed by the Measure to '{shown}'"));
                }
                (None, None) => {
                    if kind == "ratio" {
                        self.walk.warn(score, IssueCode::NotFound, "A unit should be present when the scoring type is ratio".into());
                    }
                }
            },
        }
    }

    /// An element that must not be there (the path points at its parent).
    fn banned(&mut self, node: &Node, name: &str, msg: String) {
        self.walk.path.push(name, None);
        self.walk.error(node, IssueCode::BusinessRule, msg);
        self.walk.path.pop();
    }

    fn stratifiers(&mut self, mg: &Value, group: &Node) {
        let m_strats = array_of(mg, "stratifier");
        let by_code = ByCode::new(&m_strats);
        let mut seen = vec![false; m_strats.len()];
        for (i, st) in group.children_named("stratifier").enumerate() {
            self.walk.path.push("stratifier", Some(i));
            match st.child("code") {
                None => self.walk.error(st, IssueCode::BusinessRule, "Group should have a code that matches the group stratifier definition in the measure".into()),
                Some(code) => match by_code.stratifier(code) {
                    None => self.walk.error(st, IssueCode::BusinessRule, "The code for this group stratifier has no match in the measure definition".into()),
                    Some(index) if seen[index] => {
                        self.walk.error(st, IssueCode::BusinessRule, "The code for this group stratifier is duplicated with another group".into())
                    }
                    Some(index) => seen[index] = true,
                },
            }
            self.walk.path.pop();
        }
        for (index, ms) in m_strats.iter().enumerate() {
            if !seen[index] {
                // MEASURE_MR_GRP_STRAT_MISSING_BY_CODE
                let code = display_value(ms.get("code"));
                let msg = match str_of(ms, "id") {
                    Some(id) => format!("The MeasureReport does not include a stratifier for the stratifier with code '{code}' (id = '{id}')"),
                    None => format!("The MeasureReport does not include a stratifier for the stratifier with code '{code}'"),
                };
                self.walk.error(group, IssueCode::BusinessRule, msg);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shared helpers

/// A canonical resolved to a resource of the expected type.
fn resolve(walk: &Walk<'_, '_>, canonical: &str, resource_type: &str) -> Option<Arc<Value>> {
    match walk.ctx.entry(canonical) {
        Some(e) if e.resource_type == resource_type => walk.ctx.resource_json(canonical),
        _ => None,
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn array_of<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
}

/// (system, code) of each coding of a CodeableConcept node.
fn codings_of(cc: &Node) -> Vec<(Option<&str>, Option<&str>)> {
    cc.children_named("coding").map(|c| (c.child_text("system"), c.child_text("code"))).collect()
}

fn codings_of_value(cc: Option<&Value>) -> Vec<(Option<&str>, Option<&str>)> {
    cc.map(|cc| array_of(cc, "coding").into_iter().map(|c| (str_of(c, "system"), str_of(c, "code"))).collect()).unwrap_or_default()
}

/// A Measure's groups, populations or stratifiers by their codes: each
/// report item is looked up once, not compared with every definition (a
/// Measure contained in the report puts both lists in the body: the
/// twenty-sixth pass's R4).
struct ByCode<'a> {
    /// (system, code) of each coding → the first definition that has it.
    coding: HashMap<(Option<&'a str>, &'a str), usize>,
    /// The text of each definition without codings → the first such definition.
    text: HashMap<&'a str, usize>,
}

impl<'a> ByCode<'a> {
    fn new(definitions: &[&'a Value]) -> ByCode<'a> {
        let mut by = ByCode { coding: HashMap::new(), text: HashMap::new() };
        for (i, definition) in definitions.iter().enumerate() {
            let code = definition.get("code");
            let codings = codings_of_value(code);
            for (system, c) in &codings {
                if let Some(c) = c {
                    by.coding.entry((*system, *c)).or_insert(i);
                }
            }
            if codings.is_empty() {
                if let Some(text) = code.and_then(|c| str_of(c, "text")) {
                    by.text.entry(text).or_insert(i);
                }
            }
        }
        by
    }

    /// The first definition whose code shares a coding (system and code) with `code`.
    fn coded(&self, code: &Node) -> Option<usize> {
        codings_of(code).iter().filter_map(|(system, c)| self.coding.get(&(*system, (*c)?))).min().copied()
    }

    /// As [`ByCode::coded`], or by text where neither has codings.
    fn stratifier(&self, code: &Node) -> Option<usize> {
        let by_text = if code.child("coding").is_none() { code.child_text("text").and_then(|t| self.text.get(t)).copied() } else { None };
        self.coded(code).into_iter().chain(by_text).min()
    }
}

/// Whether a report code carries one of the codings of a Measure code
/// (the same system and code).
fn coded_match(code: &Node, definition: Option<&Value>) -> bool {
    let ours = codings_of(code);
    codings_of_value(definition).iter().any(|(s, c)| c.is_some() && ours.iter().any(|(os, oc)| os == s && oc == c))
}

/// Two CodeableConcepts share a coding (system and code).
fn concept_matches(code: &Node, definition: &Value) -> bool {
    coded_match(code, Some(definition))
}

/// A CodeableConcept for a message: its text, else its first coding's display or code.
fn display_value(cc: Option<&Value>) -> String {
    let Some(cc) = cc else { return String::new() };
    if let Some(t) = str_of(cc, "text") {
        return t.to_string();
    }
    array_of(cc, "coding")
        .first()
        .and_then(|c| str_of(c, "display").or_else(|| str_of(c, "code")))
        .unwrap_or("")
        .to_string()
}

fn display_node(cc: &Node) -> String {
    if let Some(t) = cc.child_text("text") {
        return t.to_string();
    }
    cc.child("coding").and_then(|c| c.child_text("display").or_else(|| c.child_text("code"))).unwrap_or("").to_string()
}

/// Element ids used more than once within the resource (not looking into
/// nested resources), reported at the later use.
// Standard (randomly keyed) hashing: the ids and names are the sender's.
fn duplicate_ids(walk: &mut Walk<'_, '_>, resource: &Node) {
    let mut seen: HashSet<&str> = HashSet::new();
    scan_ids(walk, resource, &mut seen);
}

fn scan_ids<'a>(walk: &mut Walk<'_, '_>, node: &'a Node, seen: &mut HashSet<&'a str>) {
    // How many children share each name, and the index of each among them.
    let mut same_name: HashMap<&str, usize> = HashMap::new();
    for child in node.children.iter() {
        *same_name.entry(child.name.as_str()).or_default() += 1;
    }
    let mut counters: HashMap<&str, usize> = HashMap::new();
    for child in node.children.iter() {
        if child.resource_type.is_some() || child.name == "id" || child.name == "div" {
            continue;
        }
        let same = same_name.get(child.name.as_str()).copied().unwrap_or(0);
        let counter = counters.entry(child.name.as_str()).or_insert(0);
        let index = *counter;
        *counter += 1;
        let indexed = (same > 1 || child.in_array).then_some(index);
        walk.path.push(&child.name, indexed);
        if let Some(id) = child.child_text("id").filter(|s| !s.is_empty()) {
            if !seen.insert(id) {
                walk.error(child, IssueCode::BusinessRule, format!("Duplicate id value '{id}'"));
            }
        }
        scan_ids(walk, child, seen);
        walk.path.pop();
    }
}
