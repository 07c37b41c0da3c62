//! One QuestionnaireResponse answer against its Questionnaire item: the
//! value's type against `item.type`, answerOption / answerValueSet, and the
//! extensions that constrain answers (minValue, maxValue, maxDecimalPlaces,
//! minLength, regex, min/maxQuantity, unitOption, unitValueSet, mimeType,
//! maxSize, optionExclusive).

use crate::issue::IssueCode;
use crate::terminology::Membership;
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::cmp::Ordering;

use super::questionnaire_item_rules::ItemRules;

pub(super) const EXT_MAX_OCCURS: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs";
pub(super) const EXT_MIN_OCCURS: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs";
const EXT_MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const EXT_MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
const EXT_MAX_DECIMALS: &str = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces";
const EXT_MIN_LENGTH: &str = "http://hl7.org/fhir/StructureDefinition/minLength";
pub(super) const EXT_REGEX: &str = "http://hl7.org/fhir/StructureDefinition/regex";
const EXT_ENTRY_FORMAT: &str = "http://hl7.org/fhir/StructureDefinition/entryFormat";
const EXT_MIN_QUANTITY: &str = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity";
const EXT_MAX_QUANTITY: &str = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity";
pub(super) const EXT_UNIT_OPTION: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption";
const EXT_UNIT_VALUESET: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitValueSet";
pub(super) const EXT_MIME_TYPE: &str = "http://hl7.org/fhir/StructureDefinition/mimeType";
const EXT_MAX_SIZE: &str = "http://hl7.org/fhir/StructureDefinition/maxSize";
pub(super) const EXT_EXCLUSIVE: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive";
const UCUM: &str = crate::ucum::SYSTEM;

/// Text from the Questionnaire as a message quotes it: a message may be
/// made once per answer, and the text (a url, a regex, a linkId) may be
/// long, so at most [`BRIEF`] characters of it.
pub(super) fn brief(text: &str) -> std::borrow::Cow<'_, str> {
    crate::issue::shortened(text, BRIEF, "…")
}

const BRIEF: usize = 200;

/// Whether a canonical from the Questionnaire is worth looking up: no
/// loaded definition has a url of kilobytes, and looking one up (hashing
/// it) once per answer would cost its length each time.
fn plausible(canonical: &str) -> bool {
    canonical.len() <= 4_096
}

/// The `value[x]` of an answer.
pub(super) fn value_node(answer: &Node) -> Option<&Node> {
    answer.children.iter().find(|c| c.name.len() > 5 && c.name.starts_with("value"))
}

/// The FHIR type of a `value[x]` node: `valueDateTime` is a `dateTime`, `valueCoding` a `Coding`.
pub(super) fn value_type(value: &Node) -> String {
    let suffix = value.name.strip_prefix("value").unwrap_or(&value.name);
    json_type(suffix)
}

fn json_type(suffix: &str) -> String {
    let complex = matches!(suffix, "Attachment" | "Coding" | "Quantity" | "Reference" | "CodeableConcept" | "Identifier" | "Period" | "Range" | "Ratio");
    if complex {
        return suffix.to_string();
    }
    let mut chars = suffix.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// An extension's (or answerOption's) `value[x]`: its type and value.
pub(super) fn json_value(v: &Value) -> Option<(String, &Value)> {
    v.as_object()?.iter().find(|(k, _)| k.len() > 5 && k.starts_with("value")).map(|(k, v)| (json_type(&k[5..]), v))
}

/// A JSON primitive as FHIR text.
pub(super) fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Dates, dateTimes and instants of any precision, compared by the start of
/// the period they name (`2022-06` as `2022-06-01T00:00:00`).
pub(super) fn compare_dates(a: &str, b: &str) -> Option<Ordering> {
    Some(date_key(a)?.cmp(&date_key(b)?))
}

/// The start of the period a date, dateTime or instant names, as text
/// that sorts in time order; `None` when it is not a date.
pub(super) fn date_key(s: &str) -> Option<String> {
    let s = s.trim();
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let mut parts = date.split('-');
    let y = parts.next().filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))?;
    let m = parts.next().unwrap_or("01");
    let d = parts.next().unwrap_or("01");
    let time: String = time.chars().take_while(|c| c.is_ascii_digit() || *c == ':' || *c == '.').collect();
    let time = if time.is_empty() { "00:00:00".to_string() } else { time };
    Some(format!("{y}-{m:0>2}-{d:0>2}T{time}"))
}

fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let a: f64 = a.trim().parse().ok()?;
    let b: f64 = b.trim().parse().ok()?;
    a.partial_cmp(&b)
}

/// Reports at the current path with one more element (`value.ofType(T)` or a child name).
fn at_value(walk: &mut Walk<'_, '_>, value: &Node, error: bool, code: IssueCode, msg: String) {
    walk.path.push_choice("value", &value_type(value));
    if error {
        walk.error(value, code, msg);
    } else {
        walk.warn(value, code, msg);
    }
    walk.path.pop();
}

/// One answer (the path points at it) against its item.
pub(super) fn answer(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, item_type: &str, answer: &Node, count: usize) {
    let Some(value) = value_node(answer) else { return };
    let actual = value_type(value);
    let allowed: &[&str] = match item_type {
        "boolean" => &["boolean"],
        "decimal" => &["decimal"],
        "integer" => &["integer"],
        "date" => &["date"],
        "dateTime" => &["dateTime"],
        "time" => &["time"],
        "string" | "text" => &["string"],
        "url" => &["uri"],
        "attachment" => &["Attachment"],
        "reference" => &["Reference"],
        "quantity" => &["Quantity"],
        "choice" | "open-choice" => &["Coding", "date", "time", "integer", "string"],
        _ => return,
    };
    if !allowed.contains(&actual.as_str()) {
        let msg = match allowed {
            [one] => format!("Answer value must be of the type {one} not {actual}"),
            many => format!("Answer value must be one of the {} types {} not {actual}", many.len(), many.join(", ")),
        };
        at_value(walk, value, true, IssueCode::Invariant, msg);
        return;
    }
    match item_type {
        "decimal" => decimal(walk, rules, value),
        "integer" => integer(walk, rules, value),
        "date" | "dateTime" => date(walk, rules, value),
        "time" => time(walk, rules, value),
        "string" => string(walk, rules, value),
        "attachment" => attachment(walk, rules, value),
        "quantity" => quantity(walk, rules, value),
        "reference" if walk.v.options().assume_valid_rest_references => reference(walk, rules, value),
        "choice" | "open-choice" => choice(walk, rules, item_type == "open-choice", value, count),
        _ => {}
    }
}

/// Whether text reads as a value of the answer type whose limits are
/// checked: what the reference parses the answer and its limits as.
fn readable(kind: &str, text: &str) -> bool {
    match kind {
        "integer" => text.trim().parse::<i32>().is_ok(),
        "decimal" => text.trim().parse::<f64>().is_ok_and(f64::is_finite),
        "date" => date_key(text).is_some(),
        "time" => crate::primitive::check("time", text).is_ok(),
        _ => true,
    }
}

/// An answer or a limit that cannot be read as the item's type: the
/// limits cannot be checked, which the reference reports as the error it met.
fn unreadable(walk: &mut Walk<'_, '_>, value: &Node, kind: &str, what: &str, text: &str) {
    let detail = format!("{what} '{}' is not a valid {kind}", crate::issue::quoted(text));
    let msg = match kind {
        // QUESTIONNAIRE_QR_ITEM_INTEGER_VALUE_EXCEPTION
        "integer" => format!("An error occurred checking the value: {detail}"),
        // QUESTIONNAIRE_QR_ITEM_DECIMAL_VALUE_EXCEPTION
        "decimal" => format!("An error occurred checking the value: {detail}"),
        // QUESTIONNAIRE_QR_ITEM_DATE_VALUE_EXCEPTION (date and dateTime items)
        "date" => format!("An error occurred checking the date: {detail}"),
        // QUESTIONNAIRE_QR_ITEM_TIME_VALUE_EXCEPTION
        "time" => format!("An error occurred checking the time: {detail}"),
        _ => return,
    };
    at_value(walk, value, true, IssueCode::Invariant, msg);
}

fn min_max(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node, kind: &str, compare: fn(&str, &str) -> Option<Ordering>) {
    let Some(text) = value.text() else { return };
    if !readable(kind, text) {
        unreadable(walk, value, kind, "the answer", text);
        return;
    }
    for (url, is_min) in [(EXT_MIN_VALUE, true), (EXT_MAX_VALUE, false)] {
        let Some(limit) = rules.first(url).and_then(|(_, v)| json_text(v)) else { continue };
        if !readable(kind, &limit) {
            unreadable(walk, value, kind, if is_min { "the minValue" } else { "the maxValue" }, &limit);
            return;
        }
        let limit = brief(&limit).into_owned();
        match compare(text, &limit) {
            Some(Ordering::Less) if is_min => {
                at_value(walk, value, true, IssueCode::Invariant, format!("The value {text} is less than the allowed minimum of {limit}"));
            }
            Some(Ordering::Greater) if !is_min => {
                at_value(walk, value, true, IssueCode::Invariant, format!("The value {text} is greater than the allowed maximum of {limit}"));
            }
            _ => {}
        }
    }
}

fn decimal_places(text: &str) -> usize {
    text.rfind('.').map_or(0, |dot| text.len() - dot - 1)
}

fn max_decimals(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node, text: &str) {
    if let Some(limit) = rules.int(EXT_MAX_DECIMALS) {
        if decimal_places(text) as i64 > limit {
            at_value(walk, value, true, IssueCode::Invariant, format!("The value {text} has too many decimal places (limit = {limit})"));
        }
    }
}

/// What an answer of a primitive type is told about the item's options:
/// that none is of its type, or that it is not among them.
fn option_messages(type_name: &str, text: &str) -> Option<(String, String)> {
    let text = crate::issue::quoted(text);
    Some(match type_name {
        // Questionnaire_QR_Item_NoOptionsInteger, Questionnaire_QR_Item_NoInteger
        "integer" => ("Option list has no option values of type integer".to_string(), format!("The integer {text} is not in the set of permitted values")),
        // Questionnaire_QR_Item_NoOptionsDate, Questionnaire_QR_Item_NoDate (a dateTime item too)
        "date" => ("Option list has no option values of type date".to_string(), format!("The date {text} is not in the set of permitted values")),
        // Questionnaire_QR_Item_NoOptionsTime, Questionnaire_QR_Item_NoTime
        "time" => ("Option list has no option values of type time".to_string(), format!("The time {text} is not in the set of permitted values")),
        // Questionnaire_QR_Item_NoOptionsString, Questionnaire_QR_Item_NoString
        "string" => ("Option list has no option values of type string".to_string(), format!("The string {text} is not in the set of permitted values")),
        // QUESTIONNAIRE_QR_ITEM_NOOPTIONSDECIMAL, QUESTIONNAIRE_QR_ITEM_NODECIMAL: a
        // decimal item's options are those whose value reads as a decimal
        "decimal" => ("Cannot validate decimal answer option because no option list is provided".to_string(), format!("The value {text} is not in the set of permitted values")),
        _ => return None,
    })
}

/// A choice answer of a primitive type when the item has no answerOption
/// at all: it cannot be checked, which is said as a hint.
fn no_option_list(walk: &mut Walk<'_, '_>, value: &Node, type_name: &str) {
    let msg = match type_name {
        // Questionnaire_QR_Item_IntNoOptions
        "integer" => "Cannot validate integer answer option because no option list is provided",
        // Questionnaire_QR_Item_DateNoOptions
        "date" => "Cannot validate date answer option because no option list is provided",
        // Questionnaire_QR_Item_TimeNoOptions
        "time" => "Cannot validate time answer option because no option list is provided",
        // Questionnaire_QR_Item_StringNoOptions
        "string" => "Cannot validate string answer option because no option list is provided",
        // Questionnaire_QR_Item_NoOptions (a Coding, with no answerValueSet either)
        "Coding" => "Cannot validate options because no option or options are provided",
        _ => return,
    };
    walk.inform(value, IssueCode::Invariant, msg.to_string());
}

/// A primitive answer against the item's answerOptions of its type.
fn primitive_option(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node, type_name: &str, on_value: bool, open: bool) {
    let Some(text) = value.text() else { return };
    let Some(found) = rules.primitive_option(type_name, text) else { return };
    let Some((none_of_type, not_among)) = option_messages(type_name, text) else { return };
    let msg = match found {
        None if open => return,
        None => none_of_type,
        Some(true) => return,
        Some(false) => not_among,
    };
    if on_value {
        at_value(walk, value, true, IssueCode::Invariant, msg);
    } else {
        walk.error(value, IssueCode::Invariant, msg);
    }
}

fn decimal(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    min_max(walk, rules, value, "decimal", compare_numbers);
    if let Some(text) = value.text() {
        max_decimals(walk, rules, value, text);
    }
    primitive_option(walk, rules, value, "decimal", true, false);
}

fn integer(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    min_max(walk, rules, value, "integer", compare_numbers);
    primitive_option(walk, rules, value, "integer", true, false);
}

fn date(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    min_max(walk, rules, value, "date", compare_dates);
    primitive_option(walk, rules, value, "date", true, false);
}

fn time(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    min_max(walk, rules, value, "time", |a, b| Some(a.cmp(b)));
    primitive_option(walk, rules, value, "time", true, false);
}

fn string(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    let Some(text) = value.text() else { return };
    let len = text.chars().count() as i64;
    if let Some(min) = rules.int(EXT_MIN_LENGTH) {
        if len < min {
            at_value(walk, value, true, IssueCode::Invariant, format!("The answer '{text}' is shorter then the required minimum length of {min}"));
        }
    }
    if let Some(max) = rules.item.get("maxLength").and_then(Value::as_i64) {
        if len > max {
            at_value(walk, value, true, IssueCode::Invariant, format!("The answer '{text}' is longer then the allowed maximum length of {max}"));
        }
    }
    if let (Some(pattern), Some(Some(re))) = (rules.regex.map(brief), rules.compiled_regex.get()) {
        if !re.is_match(text) {
            let msg = match rules.string(EXT_ENTRY_FORMAT).map(brief) {
                Some(ef) => format!("The answer '{text}' does not conform to the expected format '{ef}' (regex '{pattern}')"),
                None => format!("The answer '{text}' does not conform to the required regex '{pattern}'"),
            };
            at_value(walk, value, true, IssueCode::Invariant, msg);
        }
    }
    if text.contains('\r') || text.contains('\n') {
        at_value(walk, value, false, IssueCode::Invariant, "The answer should not contain new line characters".into());
    }
    if let Some(vs_url) = rules.item.get("answerValueSet").and_then(Value::as_str) {
        let vs = brief(vs_url);
        let membership = match vs.strip_prefix('#') {
            Some(_) => rules.contained_value_set.as_ref().map(|c| c.member(None, text)),
            None => plausible(vs_url).then(|| walk.ctx.value_set(vs_url)).flatten().map(|_| walk.v.terminology.member(vs_url, None, text)),
        };
        if membership.is_none() {
            // QUESTIONNAIRE_QR_ITEM_VS_BAD
            at_value(walk, value, false, IssueCode::Invariant, format!("The value set '{vs}' could not be found"));
        } else if membership == Some(Membership::NotIn) {
            at_value(walk, value, true, IssueCode::Invariant, format!("The value '{text}' is not in the list of allowed values (value set '{vs}')"));
        }
    }
    primitive_option(walk, rules, value, "string", true, false);
}

fn attachment(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    if !rules.all(EXT_MIME_TYPE).is_empty() {
        match value.child_text("contentType") {
            None => walk.error(value, IssueCode::Required, "A mime type is required for this answer".into()),
            Some(mime) if !rules.mime_type_allowed(mime) => {
                walk.error(value, IssueCode::Required, format!("The mime type {mime} is not valid for this answer (allowed = {})", rules.mime_types_shown));
            }
            Some(_) => {}
        }
    }
    if let (Some(max), Some(data)) = (rules.int(EXT_MAX_SIZE), value.child_text("data")) {
        let size = super::datatypes::decoded_len(data) as i64;
        if max > 0 && size >= max {
            walk.error(value, IssueCode::Required, format!("The attachment is too large (allowed = {max}, found = {size})"));
        }
    }
}

const EXT_REFERENCE_RESOURCE: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-referenceResource";

/// A Reference answer's target type, read off its URL as a RESTful
/// reference names it (`Patient/1`, `http://x.org/fhir/Patient/1`): only
/// when references are taken as RESTful (`--assume-valid-rest-references`),
/// as the reference validator checks it.
fn reference(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    let Some(reference) = value.child_text("reference") else { return };
    if reference.starts_with('#') {
        return;
    }
    let segments: Vec<&str> = reference.split('/').collect();
    let resource_type = (segments.len() >= 2).then(|| segments[segments.len() - 2]);
    let shown = crate::issue::quoted(reference);
    let allowed: Vec<&str> = rules.all(EXT_REFERENCE_RESOURCE).iter().filter_map(|e| e.get("valueCode").and_then(Value::as_str)).collect();
    if !rules.all(EXT_REFERENCE_RESOURCE).is_empty() {
        match resource_type {
            Some(rt) if !allowed.contains(&rt) => {
                // QUESTIONNAIRE_QR_ITEM_REF_INVALID
                let allowed = brief(&allowed.join(",")).into_owned();
                at_value(walk, value, true, IssueCode::Invariant, format!("The resource type '{}' in the reference {shown} is not allowed (allowed = {allowed})", crate::issue::quoted(rt)));
            }
            Some(_) => {}
            None => {
                // QUESTIONNAIRE_QR_ITEM_REF_CANT
                at_value(walk, value, true, IssueCode::Invariant, "Unable to determine the resource type, so the resource type can't be checked".to_string());
            }
        }
    } else if let Some(rt) = resource_type {
        let known = rt.bytes().all(|b| b.is_ascii_alphanumeric()) && walk.ctx.type_definition(rt).is_some_and(|sd| sd.kind == "resource");
        if !known {
            // QUESTIONNAIRE_QR_ITEM_REF_INVALID_GENERAL
            at_value(walk, value, true, IssueCode::Invariant, format!("The resource type {} in the reference {shown} is not valid", crate::issue::quoted(rt)));
        }
    }
}

/// A Quantity as Java's validator shows it: `10 km (UCUM#km)`.
fn quantity_display(value: Option<&str>, comparator: Option<&str>, unit: Option<&str>, system: Option<&str>, code: Option<&str>) -> String {
    let mut s = format!("{}{}", comparator.unwrap_or(""), value.unwrap_or(""));
    if let Some(u) = unit {
        s.push(' ');
        s.push_str(u);
    }
    if system.is_some() || code.is_some() {
        let name = match system {
            Some(UCUM) => "UCUM",
            Some("http://snomed.info/sct") => "SNOMED",
            Some(other) => other,
            None => "",
        };
        s.push_str(&format!(" ({name}#{})", code.unwrap_or("null")));
    }
    s
}

fn node_quantity(q: &Node) -> String {
    quantity_display(q.child_text("value"), q.child_text("comparator"), q.child_text("unit"), q.child_text("system"), q.child_text("code"))
}

fn json_quantity(q: &Value) -> String {
    let value = q.get("value").and_then(json_text);
    let s = |k: &str| q.get(k).and_then(Value::as_str);
    quantity_display(value.as_deref(), s("comparator"), s("unit"), s("system"), s("code"))
}

fn quantity(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, value: &Node) {
    for (url, is_min) in [(EXT_MIN_QUANTITY, true), (EXT_MAX_QUANTITY, false)] {
        let Some((_, limit)) = rules.first(url) else { continue };
        let which = if is_min { "minimum" } else { "maximum" };
        let (lsys, lcode) = (limit.get("system").and_then(Value::as_str), limit.get("code").and_then(Value::as_str));
        let (vsys, vcode) = (value.child_text("system"), value.child_text("code"));
        let (Some(lval), Some(vval)) = (limit.get("value").and_then(json_text), value.child_text("value")) else { continue };
        let lval: f64 = lval.parse().unwrap_or(f64::NAN);
        let vval: f64 = vval.parse().unwrap_or(f64::NAN);
        let (limit_text, value_text) = (brief(&json_quantity(limit)).into_owned(), node_quantity(value));
        let order = match (lsys, lcode, vsys, vcode) {
            (Some(ls), Some(lc), Some(vs), Some(vc)) => {
                if ls == vs && lc == vc {
                    vval.partial_cmp(&lval)
                } else if ls == UCUM && vs == UCUM {
                    match crate::ucum::convert(vval, vc, lc) {
                        Some(v) => v.partial_cmp(&lval),
                        None => {
                            at_value(walk, value, true, IssueCode::Invariant, format!("The quantity {limit_text} cannot be compared to the allowed {which} of {value_text}"));
                            continue;
                        }
                    }
                } else {
                    at_value(walk, value, true, IssueCode::Invariant, format!("The quantity {limit_text} cannot be compared to the allowed {which} of {value_text}"));
                    continue;
                }
            }
            _ => {
                at_value(
                    walk,
                    value,
                    true,
                    IssueCode::Invariant,
                    format!("The quantity {limit_text} cannot be compared to the allowed {which} of {value_text} because no formal units are specified"),
                );
                continue;
            }
        };
        match order {
            Some(Ordering::Less) if is_min => {
                at_value(walk, value, true, IssueCode::Invariant, format!("The quantity {value_text} is less than the allowed minimum of {limit_text}"));
            }
            Some(Ordering::Greater) if !is_min => {
                at_value(walk, value, true, IssueCode::Invariant, format!("The quantity {value_text} is greater than the allowed maximum of {limit_text}"));
            }
            _ => {}
        }
    }
    if let Some(text) = value.child_text("value") {
        max_decimals(walk, rules, value, text);
    }
    if !rules.all(EXT_UNIT_OPTION).is_empty() && !rules.unit_option_matches([value.child_text("system"), value.child_text("code"), value.child_text("unit")]) {
        at_value(walk, value, true, IssueCode::Invariant, format!("The value {} has a unit that is not valid (allowed = {})", node_quantity(value), rules.unit_options_shown));
    }
    if let Some(vs) = rules.string(EXT_UNIT_VALUESET) {
        if !plausible(vs) || walk.ctx.value_set(vs).is_none() {
            at_value(walk, value, false, IssueCode::Invariant, format!("The unit value set '{}' could not be found", brief(vs)));
        } else if let Some(code) = value.child_text("code") {
            if matches!(walk.v.terminology.member(vs, value.child_text("system"), code), Membership::NotIn) {
                at_value(walk, value, true, IssueCode::Invariant, format!("The value {} has a unit that is not in the unit value set '{}'", node_quantity(value), brief(vs)));
            }
        }
    }
}

pub(super) fn coding_display(c: &Value) -> String {
    let field = |k: &str| c.get(k).and_then(Value::as_str);
    let mut s = field("display").unwrap_or("").to_string();
    if field("system").is_some() || field("code").is_some() {
        let name = match field("system") {
            Some(UCUM) => "UCUM",
            Some("http://snomed.info/sct") => "SNOMED",
            Some(o) => o,
            None => "",
        };
        s.push_str(&format!(" ({name}#{})", field("code").unwrap_or("null")));
    }
    s
}

/// A choice / open-choice answer: Codings against answerOption or
/// answerValueSet, other types against answerOption.
fn choice(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, open: bool, value: &Node, count: usize) {
    let actual = value_type(value);
    match actual.as_str() {
        "Coding" => {
            if rules.has_options() {
                coding_option(walk, rules, open, value, count);
            } else if let Some(vs) = rules.item.get("answerValueSet").and_then(Value::as_str) {
                coding_value_set(walk, rules, vs, value);
            } else {
                no_option_list(walk, value, "Coding");
            }
        }
        other if !rules.has_options() => no_option_list(walk, value, other),
        "string" if open => {
            let Some(text) = value.text() else { return };
            if rules.coding_words.contains(&text.to_ascii_lowercase()) {
                walk.warn(value, IssueCode::Invariant, format!("The string value '{text}' matches an entry in the list of valid Codings, so this is probably an error"));
            }
        }
        other => primitive_option(walk, rules, value, other, false, open),
    }
}

fn coding_option(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, open: bool, value: &Node, count: usize) {
    let system = value.child_text("system");
    let code = value.child_text("code");
    if rules.coding_options.is_empty() {
        if !open {
            walk.error(value, IssueCode::Invariant, "Option list has no option values of type coding".into());
        }
        return;
    }
    let key = (system, code);
    match rules.coding_options.get(&key) {
        Some(c) if count > 1 && rules.exclusive.contains(&key) => {
            let shown = format!("{}#{}", c.get("system").and_then(Value::as_str).unwrap_or(""), c.get("code").and_then(Value::as_str).unwrap_or(""));
            walk.error(value, IssueCode::Invariant, format!("Selected answer {shown} is an exclusive option - can't select anything else at the same time"));
        }
        Some(_) => {}
        None => walk.error(
            value,
            IssueCode::Invariant,
            format!("The code {}::{} is not in the set of permitted values", system.unwrap_or("null"), code.unwrap_or("null")),
        ),
    }
}

fn coding_value_set(walk: &mut Walk<'_, '_>, rules: &ItemRules<'_>, vs: &str, value: &Node) {
    let contained = vs.strip_prefix('#').map(|_| rules.contained_value_set.as_ref());
    let vs_name = match contained {
        Some(Some(c)) => Some(c.name.unwrap_or(vs).to_string()),
        Some(None) => None,
        None => plausible(vs).then(|| walk.ctx.value_set(vs)).flatten().map(|d| d.name.clone().or_else(|| d.url.clone()).unwrap_or_else(|| vs.to_string())),
    }
    .unwrap_or_default();
    let vs_name = brief(&vs_name).into_owned();
    if vs_name.is_empty() {
        walk.warn(value, IssueCode::CodeInvalid, format!("ValueSet '{}' not found", brief(vs)));
        return;
    }
    let Some(code) = value.child_text("code") else { return };
    let system = value.child_text("system");
    let wrong_display = system.and_then(|s| {
        let index = walk.v.terminology.code_index(s)?;
        let expected = index.display(code)?.to_string();
        let given = value.child_text("display")?;
        // The display itself is reported where every Coding's is (`rules::coding`); the
        // answer's message quotes it as the reference does, with no language.
        (given != expected).then(|| format!("Wrong Display Name '{given}' for {s}#{code}. Valid display is '{expected}' (for the language(s) '--')"))
    });
    let membership = match contained {
        Some(Some(c)) => c.member(system, code),
        _ => walk.v.terminology.member(vs, system, code),
    };
    match membership {
        Membership::NotIn => walk.error(
            value,
            IssueCode::CodeInvalid,
            format!("The code '{code}' in the system '{}' is not in the options value set ({vs_name}) specified by the questionnaire", system.unwrap_or("")),
        ),
        Membership::In if wrong_display.is_some() => walk.error(
            value,
            IssueCode::CodeInvalid,
            format!(
                "The code '{code}' in the system '{}' is not in the options value set ({vs_name}) specified by the questionnaire. Terminology Error: {}",
                system.unwrap_or(""),
                wrong_display.unwrap_or_default()
            ),
        ),
        Membership::Unknown(crate::terminology::Undecided::Open(exp))
            if system.is_some_and(|s| exp.open_systems.iter().any(|o| o == s) && walk.ctx.code_system(s).is_none()) =>
        {
            // QUESTIONNAIRE_QR_ITEM_BADOPTION_CS: the code's system is one no loaded package (nor a server, when one is given) holds.
            walk.warn(
                value,
                IssueCode::CodeInvalid,
                format!(
                    "The code provided {code} cannot be validated in the options value set ({vs_name}) in the questionnaire because the system {} could not be found",
                    system.unwrap_or_default()
                ),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_compare_by_period_start() {
        assert_eq!(compare_dates("2022-06-30", "2022-06"), Some(Ordering::Greater));
        assert_eq!(compare_dates("2020", "2020"), Some(Ordering::Equal));
        assert_eq!(compare_dates("1998", "2020"), Some(Ordering::Less));
        assert_eq!(compare_dates("2022-07", "2022-06"), Some(Ordering::Greater));
    }

    #[test]
    fn decimal_places_count_after_the_point() {
        assert_eq!(decimal_places("1.666"), 3);
        assert_eq!(decimal_places("-5.1234"), 4);
        assert_eq!(decimal_places("12"), 0);
    }
}
