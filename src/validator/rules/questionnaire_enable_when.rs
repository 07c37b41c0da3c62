//! enableWhen conditions decided without going through the answers again.
//!
//! A question may have thousands of answers in one scope and the
//! Questionnaire thousands of conditions on it, each asking about another
//! value. Comparing every condition with every answer costs their product
//! (the eighteenth red-team pass's K2), so the answers to one question in
//! one scope are first arranged once per answer type (`Answers`): sorted
//! keys for the ordered types, counts per code for Coding and Reference.
//! Each condition is then a binary search or a look-up.
//!
//! The keys are those `questionnaire_answers::compare_to_json` compares
//! by, so a condition holds here exactly when comparing it with each answer
//! in turn would say so.

use super::questionnaire_answers::{date_key, json_text};
use crate::tree::Node;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Where each linkId's items and answers are in a QuestionnaireResponse,
/// built in one pass: the answers a question has in any scope (the
/// response, an item, an answer) are then a range of one list, found by
/// binary search, never a copy of the scope's subtree (a scope inside
/// sixty nested groups would otherwise copy its answers sixty times).
#[derive(Default)]
pub(super) struct ResponseIndex<'r> {
    /// Each scope node (by address): its preorder position and the last
    /// position in its subtree.
    span: HashMap<usize, (u32, u32)>,
    /// Per linkId, the positions of the items that carry it, in order.
    items: HashMap<&'r str, Vec<u32>>,
    /// Per linkId, the value of each answer, with its item's position, in order.
    values: HashMap<&'r str, Vec<(u32, &'r Node)>>,
    /// Each date and dateTime answer's value (by address), as the start of
    /// the period it names.
    date_keys: HashMap<usize, std::rc::Rc<str>>,
}

impl<'r> ResponseIndex<'r> {
    pub(super) fn build(response: &'r Node) -> ResponseIndex<'r> {
        /// Numbers what lies below `node`, which has position `*next`.
        fn below<'r>(node: &'r Node, next: &mut u32, index: &mut ResponseIndex<'r>) {
            let start = *next;
            if node.name == "item" {
                let link_id = node.child_text("linkId");
                for answer in node.children_named("answer") {
                    if let (Some(l), Some(v)) = (link_id, super::questionnaire_answers::value_node(answer)) {
                        index.values.entry(l).or_default().push((start, v));
                        if matches!(v.name.as_str(), "valueDate" | "valueDateTime") {
                            if let Some(key) = v.text().and_then(date_key) {
                                index.date_keys.insert(v as *const Node as usize, key.into());
                            }
                        }
                    }
                    *next += 1;
                    below(answer, next, index);
                }
            }
            for item in node.children_named("item") {
                *next += 1;
                if let Some(l) = item.child_text("linkId") {
                    index.items.entry(l).or_default().push(*next);
                }
                below(item, next, index);
            }
            index.span.insert(node as *const Node as usize, (start, *next));
        }
        let mut index = ResponseIndex::default();
        below(response, &mut 0, &mut index);
        index
    }

    /// Whether an item with this linkId lies below `scope`.
    pub(super) fn holds(&self, scope: &Node, link_id: &str) -> bool {
        let (Some(&(start, end)), Some(items)) = (self.span.get(&(scope as *const Node as usize)), self.items.get(link_id)) else { return false };
        let first = items.partition_point(|&p| p <= start);
        first < items.len() && items[first] <= end
    }

    /// The values of the answers given to `link_id` below `scope`.
    pub(super) fn values(&self, scope: &Node, link_id: &str) -> &[(u32, &'r Node)] {
        let (Some(&(start, end)), Some(values)) = (self.span.get(&(scope as *const Node as usize)), self.values.get(link_id)) else { return &[] };
        let from = values.partition_point(|(p, _)| *p <= start);
        let to = values.partition_point(|(p, _)| *p <= end);
        &values[from..to]
    }

    /// A date or dateTime answer's value as the start of its period.
    pub(super) fn date_key(&self, value: &Node) -> Option<std::rc::Rc<str>> {
        self.date_keys.get(&(value as *const Node as usize)).cloned()
    }

    /// The values of every answer given to `link_id` anywhere in the response.
    pub(super) fn all_values(&self, link_id: &str) -> &[(u32, &'r Node)] {
        self.values.get(link_id).map_or(&[], Vec::as_slice)
    }
}

/// The answers of one type (`Coding`, `Decimal`, ... as in `answerCoding`)
/// given to one question in one scope.
pub(super) struct Answers<'r> {
    /// How many answers have this type, comparable or not.
    of_type: usize,
    arranged: Arranged<'r>,
}

enum Arranged<'r> {
    /// Coding: how many answers have each (system, code) and each code.
    Codings { by_system_and_code: HashMap<(Option<&'r str>, Option<&'r str>), usize>, by_code: HashMap<Option<&'r str>, usize> },
    /// Reference: how many answers point at each reference.
    References(HashMap<Option<&'r str>, usize>),
    /// Quantity: the values, sorted, of all answers and of those with each unit code.
    Quantities { all: Vec<f64>, by_code: HashMap<Option<&'r str>, Vec<f64>> },
    /// Decimal, Integer: the values, sorted.
    Numbers(Vec<f64>),
    /// Date, DateTime: the start of the period each names, sorted (worked
    /// out once per answer by the index and shared, not copied per scope).
    Dates(Vec<std::rc::Rc<str>>),
    /// Every other type: the texts as written, sorted.
    Texts(Vec<&'r str>),
}

impl<'r> Answers<'r> {
    /// Arranges the `value[x]` nodes (of any type) given to a question.
    /// `expected_type` is the suffix of the condition's `answer[x]`.
    pub(super) fn arrange(expected_type: &str, given: impl IntoIterator<Item = &'r Node>, dates: &ResponseIndex<'r>) -> Answers<'r> {
        let values: Vec<&'r Node> = given.into_iter().filter(|v| v.name.strip_prefix("value") == Some(expected_type)).collect();
        let arranged = match expected_type {
            "Coding" => {
                let mut by_system_and_code = HashMap::new();
                let mut by_code = HashMap::new();
                for v in &values {
                    *by_system_and_code.entry((v.child_text("system"), v.child_text("code"))).or_insert(0) += 1;
                    *by_code.entry(v.child_text("code")).or_insert(0) += 1;
                }
                Arranged::Codings { by_system_and_code, by_code }
            }
            "Reference" => {
                let mut counts = HashMap::new();
                for v in &values {
                    *counts.entry(v.child_text("reference")).or_insert(0) += 1;
                }
                Arranged::References(counts)
            }
            "Quantity" => {
                let mut all = Vec::new();
                let mut by_code: HashMap<Option<&str>, Vec<f64>> = HashMap::new();
                for v in &values {
                    if let Some(n) = v.child_text("value").and_then(number) {
                        all.push(n);
                        by_code.entry(v.child_text("code")).or_default().push(n);
                    }
                }
                sort_numbers(&mut all);
                by_code.values_mut().for_each(sort_numbers);
                Arranged::Quantities { all, by_code }
            }
            "Decimal" | "Integer" => {
                let mut numbers: Vec<f64> = values.iter().filter_map(|v| v.text().and_then(number)).collect();
                sort_numbers(&mut numbers);
                Arranged::Numbers(numbers)
            }
            "Date" | "DateTime" => {
                let mut keys: Vec<std::rc::Rc<str>> = values.iter().filter_map(|v| dates.date_key(v)).collect();
                keys.sort_unstable();
                Arranged::Dates(keys)
            }
            _ => {
                let mut texts: Vec<&'r str> = values.iter().filter_map(|v| v.text()).collect();
                texts.sort_unstable();
                Arranged::Texts(texts)
            }
        };
        Answers { of_type: values.len(), arranged }
    }

    /// Whether an enableWhen condition (`operator`, its `answer[x]` value)
    /// holds, given these answers and how many answers of any type
    /// (`given`) the question has.
    pub(super) fn hold_or_exists(&self, operator: &str, expected: &Value, given: usize) -> bool {
        if operator == "exists" {
            return (given > 0) == expected.as_bool().unwrap_or(true);
        }
        self.hold(operator, expected)
    }

    fn hold(&self, operator: &str, expected: &Value) -> bool {
        match &self.arranged {
            Arranged::Codings { by_system_and_code, by_code } => {
                let code = expected.get("code").and_then(Value::as_str);
                let equal = match expected.get("system").and_then(Value::as_str) {
                    Some(system) => by_system_and_code.get(&(Some(system), code)),
                    None => by_code.get(&code),
                };
                self.equal_or_less(operator, equal.copied().unwrap_or(0))
            }
            Arranged::References(counts) => {
                let reference = expected.get("reference").and_then(Value::as_str);
                self.equal_or_less(operator, counts.get(&reference).copied().unwrap_or(0))
            }
            Arranged::Quantities { all, by_code } => {
                let wanted = expected.get("value").and_then(json_text).and_then(|t| number(&t));
                match expected.get("code").and_then(Value::as_str) {
                    Some(code) => self.ordered(operator, by_code.get(&Some(code)).map_or(&[], Vec::as_slice), wanted),
                    None => self.ordered(operator, all, wanted),
                }
            }
            Arranged::Numbers(numbers) => self.ordered(operator, numbers, json_text(expected).and_then(|t| number(&t))),
            Arranged::Dates(dates) => self.ordered(operator, dates, expected.as_str().and_then(date_key).map(std::rc::Rc::from)),
            Arranged::Texts(texts) => {
                let wanted = json_text(expected);
                self.ordered(operator, texts, wanted.as_deref())
            }
        }
    }

    /// Coding and Reference answers are equal to the expected value or
    /// "less" (different), never greater: `equal` of them are equal.
    fn equal_or_less(&self, operator: &str, equal: usize) -> bool {
        match operator {
            "=" | ">=" => equal > 0,
            "!=" => self.of_type == 0 || equal < self.of_type,
            "<" => equal < self.of_type,
            "<=" => self.of_type > 0,
            ">" => false,
            _ => true,
        }
    }

    /// The ordered types: `sorted` holds the comparable answers' keys,
    /// `wanted` the condition's (none when it cannot be compared at all).
    fn ordered<T: PartialOrd>(&self, operator: &str, sorted: &[T], wanted: Option<T>) -> bool {
        if operator == "!=" && self.of_type == 0 {
            return true;
        }
        let (Some(wanted), Some(first), Some(last)) = (wanted, sorted.first(), sorted.last()) else { return !matches!(operator, "=" | "!=" | ">" | "<" | ">=" | "<=") };
        match operator {
            "=" => sorted.binary_search_by(|k| k.partial_cmp(&wanted).unwrap_or(Ordering::Less)).is_ok(),
            "!=" => *first != wanted || *last != wanted,
            ">" => *last > wanted,
            "<" => *first < wanted,
            ">=" => *last >= wanted,
            "<=" => *first <= wanted,
            _ => true,
        }
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| !n.is_nan())
}

fn sort_numbers(numbers: &mut Vec<f64>) {
    numbers.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
}

#[cfg(test)]
mod tests {
    use super::Answers;
    use crate::tree::{Format, Node};
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use std::cmp::Ordering;

    /// The plain reading of a condition: each answer of the condition's type
    /// compared with its value in turn. What `Answers` must agree with.
    fn by_comparing_each(operator: &str, expected_type: &str, expected: &Value, given: &[&Node]) -> bool {
        fn number(text: &str) -> Option<f64> {
            text.trim().parse().ok()
        }
        fn text(v: &Value) -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }
        fn numbers(a: Option<&str>, b: Option<String>) -> Option<Ordering> {
            number(a?)?.partial_cmp(&number(&b?)?)
        }
        let compare = |value: &Node| -> Option<Ordering> {
            match expected_type {
                "Coding" => {
                    let same_code = value.child_text("code") == expected.get("code").and_then(Value::as_str);
                    let system = expected.get("system").and_then(Value::as_str);
                    Some(if same_code && (system.is_none() || value.child_text("system") == system) { Ordering::Equal } else { Ordering::Less })
                }
                "Reference" => Some(if value.child_text("reference") == expected.get("reference").and_then(Value::as_str) { Ordering::Equal } else { Ordering::Less }),
                "Quantity" => {
                    let code = expected.get("code").and_then(Value::as_str);
                    if code.is_some() && value.child_text("code") != code {
                        return None;
                    }
                    numbers(value.child_text("value"), expected.get("value").and_then(text))
                }
                "Decimal" | "Integer" => numbers(value.text(), text(expected)),
                "Date" | "DateTime" => super::super::questionnaire_answers::compare_dates(value.text()?, expected.as_str()?),
                _ => Some(value.text()?.cmp(text(expected)?.as_str())),
            }
        };
        if operator == "exists" {
            return given.is_empty() != expected.as_bool().unwrap_or(true);
        }
        let comparisons: Vec<Option<Ordering>> = given.iter().filter(|v| v.name.strip_prefix("value") == Some(expected_type)).map(|v| compare(v)).collect();
        use Ordering::*;
        match operator {
            "=" => comparisons.contains(&Some(Equal)),
            "!=" => comparisons.is_empty() || comparisons.iter().any(|c| c.is_some_and(|o| o != Equal)),
            ">" => comparisons.contains(&Some(Greater)),
            "<" => comparisons.contains(&Some(Less)),
            ">=" => comparisons.iter().any(|c| matches!(c, Some(Greater | Equal))),
            "<=" => comparisons.iter().any(|c| matches!(c, Some(Less | Equal))),
            _ => true,
        }
    }

    /// A value of each answer type from a small pool, so that equal values are common.
    fn value_of(kind: usize, pick: usize) -> (&'static str, Value) {
        let pick = pick % 4;
        match kind % 8 {
            0 => ("Coding", json!([{"system": "s", "code": "a"}, {"system": "t", "code": "a"}, {"code": "b"}, {"system": "s"}])[pick].clone()),
            1 => ("Reference", json!([{"reference": "Patient/1"}, {"reference": "Patient/2"}, {}, {"display": "x"}])[pick].clone()),
            2 => ("Quantity", json!([{"value": 1, "code": "mg"}, {"value": 2.5, "code": "g"}, {"value": 1}, {"code": "mg"}])[pick].clone()),
            3 => ("Decimal", json!([1.5, 2, -0.0, 0])[pick].clone()),
            4 => ("Integer", json!([1, 2, 3, -1])[pick].clone()),
            5 => ("Date", json!(["2020", "2020-01", "2020-01-01", "2021-02-03"])[pick].clone()),
            6 => ("DateTime", json!(["2020-01-01T00:00:00Z", "2020-01-01", "2019-12-31T23:00:00+01:00", "nonsense"])[pick].clone()),
            _ => ("String", json!(["a", "b", "", "B"])[pick].clone()),
        }
    }

    proptest! {
        #[test]
        fn arranged_answers_agree_with_comparing_each(
            answers in proptest::collection::vec((0usize..8, 0usize..4), 0..12),
            conditions in proptest::collection::vec((0usize..8, 0usize..4, 0usize..9), 1..12),
        ) {
            let answer_json: Vec<Value> = answers.iter().map(|&(k, p)| {
                let (ty, v) = value_of(k, p);
                json!({ format!("value{ty}"): v })
            }).collect();
            let qr = json!({"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "q", "answer": answer_json}]});
            let doc = crate::parse::parse(qr.to_string().as_bytes(), Some(Format::Json));
            let root = doc.root.expect("the response parses");
            let item = root.child("item").expect("one item");
            let given: Vec<&Node> = item.children_named("answer").filter_map(super::super::questionnaire_answers::value_node).collect();
            for (k, p, op) in conditions {
                let (ty, expected) = value_of(k, p);
                let operator = ["=", "!=", ">", "<", ">=", "<=", "exists", "?", "="][op];
                let expected = if operator == "exists" { json!(p % 2 == 0) } else { expected };
                let arranged = Answers::arrange(ty, given.iter().copied(), &super::ResponseIndex::build(&root));
                prop_assert_eq!(
                    arranged.hold_or_exists(operator, &expected, given.len()),
                    by_comparing_each(operator, ty, &expected, &given),
                    "{} {} {} on {}", ty, operator, expected, qr
                );
            }
        }
    }
}
