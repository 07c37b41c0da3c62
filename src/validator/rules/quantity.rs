//! Rules of the Quantity data type wherever it appears (the reference's
//! `TYPE_SPECIFIC_CHECKS_DT_QTY_*` keys): UCUM annotations in the code,
//! and a profile's minValue and maxValue, compared directly when the units
//! are the same and after UCUM conversion when they differ.

use crate::issue::{Issue, IssueCode};
use crate::structure::Element;
use crate::tree::Node;
use crate::ucum;
use crate::validator::element::Walk;
use serde_json::Value;
use std::cmp::Ordering;

/// The types a profile's minValue[x]/maxValue[x] may have for a Quantity:
/// Quantity and its specialisations.
const QUANTITY_TYPES: &[&str] = &["Quantity", "Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"];

/// One Quantity (the path points at it) against its element definition.
pub(crate) fn check(walk: &mut Walk<'_, '_>, node: &Node, def: &Element) {
    let value = node.child_text("value").filter(|v| !v.is_empty());
    let system = node.child_text("system").filter(|s| !s.is_empty());
    let code = node.child_text("code").filter(|c| !c.is_empty());
    if let (Some(code), Some(ucum::SYSTEM)) = (code, system) {
        annotations(walk, node, code, node.child_text("unit"));
    }
    for (bound, is_min) in [(&def.min_value, true), (&def.max_value, false)] {
        if let Some((type_suffix, limit)) = bound {
            limit_rule(walk, node, Limit { is_min, type_suffix, limit }, value, system, code);
        }
    }
}

/// A date, dateTime or instant limited relative to today by a Duration
/// (`maxValueDuration`: no later than today plus it; `minValueDuration`:
/// no earlier than today minus it), compared at day precision.
pub(crate) fn date_within(walk: &mut Walk<'_, '_>, node: &Node, text: &str, limit: &Value, is_min: bool) {
    let field = |k: &str| text_of(limit, k);
    let (amount, system, code) = (field("value"), field("system"), field("code"));
    let shown = format!(
        "{}{}{}{}",
        field("comparator").unwrap_or_default(),
        amount.as_deref().unwrap_or(""),
        if system.as_deref() == Some(ucum::SYSTEM) { String::new() } else { format!(" {}#", system.as_deref().unwrap_or("")) },
        code.as_deref().unwrap_or("")
    );
    if field("comparator").is_some() {
        // TYPE_SPECIFIC_CHECKS_DT_QTY_COMP
        walk.error(node, IssueCode::Invalid, format!("Comparators are not supported for min/maxValue when restricting date/time values with a Duration ('{shown}')"));
        return;
    }
    let whole = |a: &str| a.parse::<f64>().is_ok_and(|n| n.fract() == 0.0);
    let exact = match (amount.as_deref(), system.as_deref(), code.as_deref()) {
        (Some(a), Some(ucum::SYSTEM), Some("a" | "mo" | "ms")) => whole(a),
        (Some(_), Some(ucum::SYSTEM), Some("wk" | "d" | "h" | "min" | "s")) => true,
        _ => false,
    };
    if !exact {
        // TYPE_SPECIFIC_CHECKS_DT_QTY_VALUE
        walk.error(node, IssueCode::Invalid, format!("The quantity value '{shown}' is not supported for min/maxValue when restricting date/time values with a Duration"));
        return;
    }
    let (Some(amount), Some(code)) = (amount.and_then(|a| a.parse::<f64>().ok()), code) else { return };
    let Some(bound) = crate::primitive::today_shifted(if is_min { -amount } else { amount }, &code) else { return };
    let len = text.len().min(10);
    if len < 4 || !text.as_bytes()[..4].iter().all(u8::is_ascii_digit) || !text.is_char_boundary(len) {
        return;
    }
    let (day, bound_day) = (&text[..len], &bound[..len]);
    if is_min && day < bound_day {
        // TYPE_SPECIFIC_CHECKS_DT_QTY_GT_MIN
        walk.error(node, IssueCode::Invalid, format!("The date/time value '{text}' is not legal: minValue is {shown} before now (which is {bound})"));
    } else if !is_min && day > bound_day {
        // TYPE_SPECIFIC_CHECKS_DT_QTY_GT_MAX
        walk.error(node, IssueCode::Invalid, format!("The date/time value '{day}' is not legal: maxValue is {shown} after now (which is {bound})"));
    }
}

/// A property of a JSON Quantity as text (a non-empty string or a number).
fn text_of(quantity: &Value, key: &str) -> Option<String> {
    super::questionnaire_answers::json_text(quantity.get(key)?).filter(|t| !t.is_empty())
}

/// A UCUM code with an annotation (`{beats}/min`): annotations are
/// ignored when units are compared, so depending on them is questionable
/// (a best-practice warning, as the reference gives).
fn annotations(walk: &mut Walk<'_, '_>, node: &Node, code: &str, unit: Option<&str>) {
    let Some(severity) = walk.v.options().best_practice else { return };
    let (Some(open), Some(close)) = (code.find('{'), code.find('}')) else { return };
    if close <= open {
        return;
    }
    let annotation = &code[open..=close];
    let words = &code[open + 1..close];
    let msg = match unit {
        // TYPE_SPECIFIC_CHECKS_DT_QTY_UCUM_ANNOTATIONS_NO_UNIT
        None => format!("UCUM Codes that contain human readable annotations like {annotation} can be misleading (e.g. they are ignored when comparing units). Best Practice is not to depend on annotations in the UCUM code, so this usage should be checked, and the Quantity.unit SHOULD contain the annotation"),
        // TYPE_SPECIFIC_CHECKS_DT_QTY_UCUM_ANNOTATIONS_NOT_IN_UNIT
        Some(unit) if !unit.to_lowercase().contains(&words.to_lowercase()) => format!("UCUM Codes that contain human readable annotations like {annotation} can be misleading (e.g. they are ignored when comparing units). Best Practice is not to depend on annotations in the UCUM code, so this usage should be checked, and the Quantity.unit '{unit}' SHOULD contain the annotation (it does not)"),
        // TYPE_SPECIFIC_CHECKS_DT_QTY_UCUM_ANNOTATIONS
        Some(_) => format!("UCUM Codes that contain human readable annotations like {annotation} can be misleading (e.g. they are ignored when comparing units). Best Practice is not to depend on annotations in the UCUM code, so this usage should be checked"),
    };
    let expression = walk.path.render();
    walk.report(node, Issue::new(severity, IssueCode::BusinessRule, expression, msg));
}

struct Limit<'d> {
    is_min: bool,
    type_suffix: &'d str,
    limit: &'d Value,
}

/// A message of the limit rules, worded for minValue and for maxValue as
/// the reference words them (`{0}`, `{1}`... its arguments), under the
/// keys `TYPE_SPECIFIC_CHECKS_DT_QTY_MIN_*` and `..._MAX_*`.
struct Wording {
    min: &'static str,
    max: &'static str,
}

/// `..._MIN_VALUE_NO_VALUE`, `..._MAX_VALUE_NO_VALUE`
const VALUE_NO_VALUE: Wording = Wording {
    min: "The quantity doesn't have an actual value, so the minimum value can't be checked",
    max: "The quantity doesn't have an actual value, so the maximum value can't be checked",
};
/// `..._MIN_MIN_NO_SYSTEM`, `..._MAX_MIN_NO_SYSTEM`
const LIMIT_NO_SYSTEM: Wording = Wording {
    min: "The minValue in the profile has no system so the minimum value cannot be checked",
    max: "The maxValue in the profile has no system so the maximum value cannot be checked",
};
/// `..._MIN_VALUE_NO_SYSTEM`, `..._MAX_VALUE_NO_SYSTEM`
const VALUE_NO_SYSTEM: Wording = Wording {
    min: "The value has no system so the minimum value cannot be checked",
    max: "The value has no system so the maximum value cannot be checked",
};
/// `..._MIN_SYSTEM_MISMATCH`, `..._MAX_SYSTEM_MISMATCH` ({0} the profile's system, {1} the value's)
const SYSTEM_MISMATCH: Wording = Wording {
    min: "The minValue in the profile has a system of {0} which is different to the system in the value {1} so the minimum value cannot be checked",
    max: "The maxValue in the profile has a system of {0} which is different to the system in the value {1} so the maximum value cannot be checked",
};
/// `..._MIN_MIN_NO_CODE`, `..._MAX_MIN_NO_CODE`
const LIMIT_NO_CODE: Wording = Wording {
    min: "The minValue in the profile has no code so the minimum value cannot be checked",
    max: "The maxValue in the profile has no code so the maximum value cannot be checked",
};
/// `..._MIN_VALUE_NO_CODE`, `..._MAX_VALUE_NO_CODE`
const VALUE_NO_CODE: Wording = Wording {
    min: "The value has no code so the minimum value cannot be checked",
    max: "The value has no code so the maximum value cannot be checked",
};
/// `..._MIN_MIN_NO_VALUE`, `..._MAX_MIN_NO_VALUE`
const LIMIT_NO_VALUE: Wording = Wording {
    min: "The minValue in the profile doesn't have an actual value, so the minimum value can't be checked",
    max: "The maxValue in the profile doesn't have an actual value, so the maximum value can't be checked",
};
/// `..._MIN_VALUE_WRONG`, `..._MAX_VALUE_WRONG` ({0} the value, {1} the limit)
const WRONG: Wording = Wording {
    min: "The value in the instance ({0}) is less than the specified minimum value ({1})",
    max: "The value in the instance ({0}) is greater than the specified maximum value ({1})",
};
/// `..._MIN_MIN_NO_CONVERT`, `..._MAX_MIN_NO_CONVERT` ({0} value, {1} its unit, {2} the limit's unit)
const NO_CONVERT: Wording = Wording {
    min: "Unable to convert value {0} from unit {1} to minValue unit {2} based on UCUM definitions; minimum value is not valid",
    max: "Unable to convert value {0} from unit {1} to maxValue unit {2} based on UCUM definitions; maximum value is not valid",
};
/// `..._MIN_VALUE_WRONG_UCUM`, `..._MAX_VALUE_WRONG_UCUM` ({0} {1} the value, {2} {3} the limit)
const WRONG_UCUM: Wording = Wording {
    min: "The value in the instance ({0} {1}) is less than the specified minValue ({2} {3}) after UCUM conversion",
    max: "The value in the instance ({0} {1}) is greater than the specified maxValue ({2} {3}) after UCUM conversion",
};
/// `..._MIN_CODE_MISMATCH`, `..._MAX_CODE_MISMATCH` ({0} the profile's code, {1} the value's)
const CODE_MISMATCH: Wording = Wording {
    min: "The minValue in the profile has a system code of {0} which is different to the system code in the value {1} so the minimum value cannot be checked",
    max: "The maxValue in the profile has a system code of {0} which is different to the system code in the value {1} so the maximum value cannot be checked",
};

impl Limit<'_> {
    /// The message for this limit, its arguments filled in.
    fn say(&self, wording: &Wording, args: &[&str]) -> String {
        let template = if self.is_min { wording.min } else { wording.max };
        args.iter().enumerate().fold(template.to_owned(), |text, (i, arg)| text.replace(&format!("{{{i}}}"), arg))
    }

    fn text(&self, key: &str) -> Option<String> {
        text_of(self.limit, key)
    }

    /// Whether `value` breaks the limit `limit` (both decimals).
    fn broken_by(&self, value: f64, limit: f64) -> bool {
        match value.partial_cmp(&limit) {
            Some(Ordering::Less) => self.is_min,
            Some(Ordering::Greater) => !self.is_min,
            _ => false,
        }
    }
}

/// A profile's minValue or maxValue on a Quantity. Each reason the limit
/// cannot be checked is said, in the reference's order, and the first
/// one ends the check.
fn limit_rule(walk: &mut Walk<'_, '_>, node: &Node, limit: Limit<'_>, value: Option<&str>, system: Option<&str>, code: Option<&str>) {
    let Some(value) = value else {
        walk.warn(node, IssueCode::Invalid, limit.say(&VALUE_NO_VALUE, &[]));
        return;
    };
    if !QUANTITY_TYPES.contains(&limit.type_suffix) {
        // TYPE_SPECIFIC_CHECKS_DT_QTY_NO_QTY
        let name = if limit.is_min { "minValue" } else { "maxValue" };
        walk.error(node, IssueCode::Invalid, format!("Found {name} of type {} in the profile validating a Quantity (so it must be a Quantity)", limit.type_suffix));
        return;
    }
    let (limit_system, limit_code) = (limit.text("system"), limit.text("code"));
    let problem = match (limit_system.as_deref(), system, limit_code.as_deref(), code) {
        (None, ..) => Some(limit.say(&LIMIT_NO_SYSTEM, &[])),
        (_, None, ..) => Some(limit.say(&VALUE_NO_SYSTEM, &[])),
        (Some(ls), Some(s), ..) if ls != s => Some(limit.say(&SYSTEM_MISMATCH, &[ls, s])),
        (_, _, None, _) => Some(limit.say(&LIMIT_NO_CODE, &[])),
        (_, _, _, None) => Some(limit.say(&VALUE_NO_CODE, &[])),
        _ => None,
    };
    if let Some(msg) = problem {
        walk.warn(node, IssueCode::Invalid, msg);
        return;
    }
    let (Some(system), Some(code), Some(limit_code)) = (system, code, limit_code) else { return };
    let Some(limit_value) = limit.text("value") else {
        walk.error(node, IssueCode::Invalid, limit.say(&LIMIT_NO_VALUE, &[]));
        return;
    };
    let (Ok(number), Ok(limit_number)) = (value.trim().parse::<f64>(), limit_value.parse::<f64>()) else { return };
    if code == limit_code {
        if limit.broken_by(number, limit_number) {
            walk.error(node, IssueCode::Invalid, limit.say(&WRONG, &[value, &limit_value]));
        }
    } else if system == ucum::SYSTEM {
        match ucum::convert(number, code, &limit_code) {
            None => walk.error(node, IssueCode::Invalid, limit.say(&NO_CONVERT, &[value, code, &limit_code])),
            Some(converted) if limit.broken_by(converted, limit_number) => {
                walk.error(node, IssueCode::Invalid, limit.say(&WRONG_UCUM, &[value, code, &limit_value, &limit_code]));
            }
            Some(_) => {}
        }
    } else {
        walk.warn(node, IssueCode::Invalid, limit.say(&CODE_MISMATCH, &[&limit_code, code]));
    }
}

#[cfg(test)]
mod tests {
    use crate::context::Context;
    use crate::issue::{Issue, IssueCode, Severity};
    use crate::loader::{load, LoadOptions};
    use crate::tree::Format;
    use crate::validator::{Options, Validator};
    use serde_json::{json, Value};
    use std::sync::{Arc, OnceLock};

    fn base() -> Arc<Context> {
        static CTX: OnceLock<Arc<Context>> = OnceLock::new();
        CTX.get_or_init(|| Arc::new(load(&LoadOptions::default()).expect("the default packages load (installed on first use)"))).clone()
    }

    const PROFILE: &str = "http://q.test/StructureDefinition/limited-weight";

    /// The issues on `Observation.valueQuantity`, validated against a profile
    /// limiting it to `[min, max]`, or plain R4 when both are `None`.
    fn issues(quantity: Value, min: Option<Value>, max: Option<Value>) -> Vec<Issue> {
        let mut ctx = Context::overlay(base());
        let mut element = json!({"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}]});
        if let Some(min) = min {
            element["minValueQuantity"] = min;
        }
        if let Some(max) = max {
            element["maxValueQuantity"] = max;
        }
        ctx.add_json(
            json!({"resourceType": "StructureDefinition", "url": PROFILE, "name": "LimitedWeight", "status": "active", "kind": "resource", "abstract": false,
                "type": "Observation", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation", "derivation": "constraint",
                "differential": {"element": [element]}}),
            "test",
        );
        let observation = json!({"resourceType": "Observation", "meta": {"profile": [PROFILE]}, "status": "final", "code": {"text": "weight"}, "valueQuantity": quantity});
        let v = Validator::new(Arc::new(ctx), Options::default());
        v.validate_bytes(observation.to_string().as_bytes(), Some(Format::Json))
            .into_iter()
            .filter(|i| i.expression == "Observation.value.ofType(Quantity)")
            .collect()
    }

    fn kg(value: Value) -> Value {
        json!({"value": value, "system": "http://unitsofmeasure.org", "code": "kg"})
    }

    fn one(all: &[Issue], severity: Severity, code: IssueCode, message: &str) {
        assert!(all.iter().any(|i| i.severity == severity && i.code == code && i.message == message), "expected {severity:?} {message:?}, got {all:#?}");
    }

    #[test]
    fn limits_in_the_same_unit_compare_directly() {
        assert!(issues(kg(json!(70)), Some(kg(json!(1))), Some(kg(json!(500)))).is_empty());
        one(&issues(kg(json!(0.5)), Some(kg(json!(1))), None), Severity::Error, IssueCode::Invalid, "The value in the instance (0.5) is less than the specified minimum value (1)");
        one(&issues(kg(json!(501)), None, Some(kg(json!(500)))), Severity::Error, IssueCode::Invalid, "The value in the instance (501) is greater than the specified maximum value (500)");
    }

    #[test]
    fn limits_in_other_ucum_units_compare_after_conversion() {
        let grams = |v: Value| json!({"value": v, "system": "http://unitsofmeasure.org", "code": "g"});
        assert!(issues(grams(json!(70000)), Some(kg(json!(1))), Some(kg(json!(500)))).is_empty());
        one(
            &issues(grams(json!(600000)), None, Some(kg(json!(500)))),
            Severity::Error,
            IssueCode::Invalid,
            "The value in the instance (600000 g) is greater than the specified maxValue (500 kg) after UCUM conversion",
        );
        one(
            &issues(json!({"value": 3, "system": "http://unitsofmeasure.org", "code": "m"}), Some(kg(json!(1))), None),
            Severity::Error,
            IssueCode::Invalid,
            "Unable to convert value 3 from unit m to minValue unit kg based on UCUM definitions; minimum value is not valid",
        );
    }

    #[test]
    fn a_limit_that_cannot_be_checked_says_why() {
        let cases = [
            (json!({"system": "http://unitsofmeasure.org", "code": "kg"}), kg(json!(1)), "The quantity doesn't have an actual value, so the minimum value can't be checked"),
            (json!({"value": 2, "code": "kg"}), kg(json!(1)), "The value has no system so the minimum value cannot be checked"),
            (kg(json!(2)), json!({"value": 1, "code": "kg"}), "The minValue in the profile has no system so the minimum value cannot be checked"),
            (json!({"value": 2, "system": "http://x.test/units", "code": "kg"}), kg(json!(1)), "The minValue in the profile has a system of http://unitsofmeasure.org which is different to the system in the value http://x.test/units so the minimum value cannot be checked"),
            (json!({"value": 2, "system": "http://unitsofmeasure.org"}), kg(json!(1)), "The value has no code so the minimum value cannot be checked"),
            (
                json!({"value": 2, "system": "http://x.test/units", "code": "stone"}),
                json!({"value": 1, "system": "http://x.test/units", "code": "kilo"}),
                "The minValue in the profile has a system code of kilo which is different to the system code in the value stone so the minimum value cannot be checked",
            ),
        ];
        // Each as a minValue, and as a maxValue in the maximum's words.
        let as_max = |m: &str| m.replace("minValue", "maxValue").replace("minimum", "maximum");
        for (quantity, limit, message) in cases {
            one(&issues(quantity.clone(), Some(limit.clone()), None), Severity::Warning, IssueCode::Invalid, message);
            one(&issues(quantity, None, Some(limit)), Severity::Warning, IssueCode::Invalid, &as_max(message));
        }
        let no_value = json!({"system": "http://unitsofmeasure.org", "code": "kg"});
        let message = "The minValue in the profile doesn't have an actual value, so the minimum value can't be checked";
        one(&issues(kg(json!(2)), Some(no_value.clone()), None), Severity::Error, IssueCode::Invalid, message);
        one(&issues(kg(json!(2)), None, Some(no_value)), Severity::Error, IssueCode::Invalid, &as_max(message));
    }

    /// The errors on `Patient.birthDate` under a profile limiting it by
    /// `minValueDuration` or `maxValueDuration`.
    fn birth_date_errors(birth_date: &str, bound: &str, duration: Value) -> Vec<String> {
        let mut ctx = Context::overlay(base());
        let url = "http://q.test/StructureDefinition/dated";
        ctx.add_json(
            json!({"resourceType": "StructureDefinition", "url": url, "name": "Dated", "status": "active", "kind": "resource", "abstract": false,
                "type": "Patient", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
                "differential": {"element": [{"id": "Patient.birthDate", "path": "Patient.birthDate", bound: duration}]}}),
            "test",
        );
        let patient = json!({"resourceType": "Patient", "meta": {"profile": [url]}, "birthDate": birth_date});
        Validator::new(Arc::new(ctx), Options::default())
            .validate_bytes(patient.to_string().as_bytes(), Some(Format::Json))
            .into_iter()
            .filter(|i| i.severity.is_error() && i.expression == "Patient.birthDate")
            .map(|i| i.message)
            .collect()
    }

    #[test]
    fn dates_limited_by_a_duration_from_today() {
        let years = |n: Value| json!({"value": n, "system": "http://unitsofmeasure.org", "code": "a"});
        assert!(birth_date_errors("2000-01-01", "maxValueDuration", years(json!(10))).is_empty());
        let e = birth_date_errors("2999-01-01", "maxValueDuration", years(json!(10)));
        assert!(e.len() == 1 && e[0].starts_with("The date/time value '2999-01-01' is not legal: maxValue is 10a after now (which is "), "{e:#?}");
        let e = birth_date_errors("1700-01-01", "minValueDuration", years(json!(150)));
        assert!(e.len() == 1 && e[0].starts_with("The date/time value '1700-01-01' is not legal: minValue is 150a before now (which is "), "{e:#?}");
        let mut compared = years(json!(10));
        compared["comparator"] = json!("<");
        assert_eq!(
            birth_date_errors("2000-01-01", "maxValueDuration", compared),
            ["Comparators are not supported for min/maxValue when restricting date/time values with a Duration ('<10a')"]
        );
        assert_eq!(
            birth_date_errors("2000-01-01", "maxValueDuration", years(json!(1.5))),
            ["The quantity value '1.5a' is not supported for min/maxValue when restricting date/time values with a Duration"]
        );
    }

    #[test]
    fn ucum_annotations_are_a_best_practice_warning() {
        let beats = |unit: Option<&str>| {
            let mut q = json!({"value": 60, "system": "http://unitsofmeasure.org", "code": "{beats}/min"});
            if let Some(unit) = unit {
                q["unit"] = unit.into();
            }
            issues(q, None, None)
        };
        let intro = "UCUM Codes that contain human readable annotations like {beats} can be misleading (e.g. they are ignored when comparing units). Best Practice is not to depend on annotations in the UCUM code, so this usage should be checked";
        one(&beats(None), Severity::Warning, IssueCode::BusinessRule, &format!("{intro}, and the Quantity.unit SHOULD contain the annotation"));
        one(&beats(Some("per minute")), Severity::Warning, IssueCode::BusinessRule, &format!("{intro}, and the Quantity.unit 'per minute' SHOULD contain the annotation (it does not)"));
        one(&beats(Some("Beats per minute")), Severity::Warning, IssueCode::BusinessRule, intro);
        assert!(issues(json!({"value": 60, "system": "http://unitsofmeasure.org", "code": "/min"}), None, None).is_empty());
    }
}
