//! Questionnaire and QuestionnaireResponse rules.
//!
//! A QuestionnaireResponse is checked against the Questionnaire it names
//! (`QuestionnaireResponse.questionnaire`, a canonical or `#id` of a
//! contained one): its items' linkIds at the right nesting level, text,
//! required items, repeats, enableWhen, and each answer against its item's
//! type and the questionnaire extensions (see `questionnaire_answers.rs`).
//! A Questionnaire's own rules: enableWhen targets and que-12.

use super::questionnaire_answers::{self as answers, value_type};
use super::questionnaire_enable_when::{Answers, ResponseIndex};
use super::questionnaire_item_rules::ItemRules;
use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

/// A QuestionnaireResponse against the Questionnaire it answers.
pub(super) fn check_response(walk: &mut Walk<'_, '_>, node: &Node) {
    let Some(qref) = node.child("questionnaire") else {
        walk.inform(node, IssueCode::Required, "No questionnaire is identified, so no validation can be performed against the base questionnaire".into());
        return;
    };
    let Some(canonical) = qref.text().or_else(|| qref.child_text("reference")).filter(|s| !s.is_empty()) else { return };
    let questionnaire: Option<std::sync::Arc<Value>> = if let Some(id) = canonical.strip_prefix('#') {
        let other = node.children_named("contained").find(|c| c.child_text("id") == Some(id)).and_then(|c| c.resource_type.as_deref()).filter(|rt| *rt != "Questionnaire");
        if let Some(rt) = other {
            // REFERENCE_REF_WRONGTARGET_LOAD: the contained resource named is not a Questionnaire (the reference names the class it wanted).
            walk.error(node, IssueCode::Invalid, format!("The type '{rt}' is not a valid Target for the element {id} (must be class org.hl7.fhir.r5.model.Questionnaire)"));
        }
        node.children_named("contained").find(|c| c.child_text("id") == Some(id) && c.resource_type.as_deref() == Some("Questionnaire")).map(|c| {
            // `#id` inside a contained resource names a resource of the
            // container: the response's other contained ValueSets are the
            // questionnaire's to refer to (answerValueSet: "#vs").
            let mut q = crate::convert::resource_to_json(c, walk.ctx);
            let siblings: Vec<Value> = node
                .children_named("contained")
                .filter(|s| s.resource_type.as_deref() == Some("ValueSet"))
                .map(|s| crate::convert::resource_to_json(s, walk.ctx))
                .collect();
            if !siblings.is_empty() {
                if !q["contained"].is_array() {
                    q["contained"] = Value::Array(Vec::new());
                }
                if let Some(list) = q["contained"].as_array_mut() {
                    list.extend(siblings);
                }
            }
            std::sync::Arc::new(q)
        })
    } else {
        match walk.ctx.entry(canonical).map(|e| e.resource_type.clone()) {
            Some(rt) if rt == "Questionnaire" => walk.ctx.resource_json(canonical),
            Some(rt) => {
                walk.path.push("questionnaire", None);
                walk.error(
                    qref,
                    IssueCode::Invalid,
                    format!("Canonical URL '{canonical}' refers to a resource that has the wrong type. Found {rt} expecting one of [Questionnaire]"),
                );
                walk.path.pop();
                None
            }
            None => None,
        }
    };
    let Some(q) = questionnaire else {
        let msg = format!("The questionnaire '{canonical}' could not be resolved, so no validation can be performed against the base questionnaire");
        if canonical.starts_with("http://example.org") || canonical.starts_with("https://example.org") {
            walk.inform(node, IssueCode::Required, msg);
        } else {
            walk.warn(node, IssueCode::Required, msg);
        }
        return;
    };
    let status = node.child_text("status");
    let mut q_index = HashMap::new();
    index_items(&items_of(&q), &mut q_index);
    let mut check = ResponseCheck {
        walk,
        q: &q,
        not_completed: !matches!(status, Some("completed" | "amended")),
        scopes: vec![node],
        q_index,
        levels: Default::default(),
        index: ResponseIndex::build(node),
        arranged: Default::default(),
        expressions: Default::default(),
        empty_repeats: Default::default(),
        item_rules: Default::default(),
        regexes: Default::default(),
        regex_memory: Cell::new(0),
        work_left: Cell::new(work_allowed(&q, node)),
    };
    check.authored(node);
    check.items(&q, node);
    if check.work_left.get() == 0 {
        check.walk.error(
            node,
            IssueCode::TooCostly,
            format!(
                "This QuestionnaireResponse is too costly to check against its Questionnaire: its repeated items and answers, each checked against the Questionnaire's items and enableWhen conditions, come to more than {} steps, so some of its items were not checked. Split it into smaller responses",
                work_allowed(&q, node)
            ),
        );
    }
}

/// The steps a response may take to check: enough for any response with
/// items and answers in proportion to its Questionnaire, and in proportion
/// to the size of both, so that no input costs more than a few times its
/// own size (repeats × items and answers × conditions would not be).
fn work_allowed(q: &Value, response: &Node) -> usize {
    fn response_nodes(node: &Node) -> usize {
        node.children.iter().filter(|c| c.name == "item" || c.name == "answer").map(|c| 1 + response_nodes(c)).sum()
    }
    fn questionnaire_items(v: &Value) -> usize {
        items_of(v).iter().map(|i| 1 + questionnaire_items(i)).sum()
    }
    const BASE: usize = 500_000;
    const PER_NODE: usize = 32;
    BASE + PER_NODE * (response_nodes(response) + questionnaire_items(q))
}

/// The most memory one response's compiled regexes may take.
const MAX_REGEX_MEMORY: usize = 64 << 20;

/// What reporting a missing required item costs, in steps.
const STEPS_PER_REPORT: usize = 32;

/// The `item` array of a Questionnaire or of an item.
fn items_of(v: &Value) -> Vec<&Value> {
    v.get("item").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn bool_of(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

struct ResponseCheck<'w, 'v, 'n, 'q, 'r> {
    walk: &'w mut Walk<'v, 'n>,
    q: &'q Value,
    not_completed: bool,
    /// The QuestionnaireResponse nodes that hold the items being checked,
    /// outermost first: where enableWhen looks for the answers it tests.
    scopes: Vec<&'r Node>,
    /// Every item of the Questionnaire by linkId (the first of a repeated
    /// one), built once: a response may have tens of thousands of items.
    q_index: HashMap<&'q str, &'q Value>,
    /// Each level of the Questionnaire (by the address of the Questionnaire
    /// or item holding it), indexed the first time a response reaches it:
    /// a group may repeat thousands of times.
    levels: HashMap<usize, Rc<Level<'q>>>,
    /// Where each linkId's items and answers are, read once.
    index: ResponseIndex<'r>,
    /// The answers to a question in a scope, arranged for one answer type
    /// (by scope address, linkId, type): each condition is then a look-up.
    arranged: RefCell<HashMap<(usize, &'q str, &'q str), Rc<Answers<'r>>>>,
    /// The enableWhen expression extensions worked out, by expression: they
    /// read the whole response, so each has one answer.
    expressions: RefCell<HashMap<&'q str, Option<bool>>>,
    /// For an empty repeat of a level, the required items it lacks that are
    /// enabled: the same for every empty repeat under one scope (by the
    /// level's and the enclosing scope's addresses).
    empty_repeats: HashMap<(usize, usize), Rc<Vec<usize>>>,
    /// What each Questionnaire item asks of its answers (by address), read
    /// from the item the first time it is answered.
    item_rules: RefCell<HashMap<usize, Rc<ItemRules<'q>>>>,
    /// The items' regexes compiled, by pattern: each compiled once, its
    /// cost counted against the response's steps.
    regexes: RefCell<HashMap<&'q str, Option<Rc<super::questionnaire_item_rules::CompiledRegex>>>>,
    /// The memory the compiled regexes take, at most [`MAX_REGEX_MEMORY`].
    regex_memory: Cell<usize>,
    /// What is left of the steps this response may take (`work_allowed`);
    /// at zero the items not yet checked are left unchecked.
    work_left: Cell<usize>,
}

/// The items a Questionnaire has at one level.
struct Level<'q> {
    items: Vec<&'q Value>,
    /// Position of each linkId (the first, if repeated).
    position: HashMap<&'q str, usize>,
    /// The positions of the required items: the only ones a response
    /// item that lacks them must be checked for.
    required: Vec<usize>,
}

impl<'q> Level<'q> {
    fn of(parent: &'q Value) -> Level<'q> {
        let items = items_of(parent);
        let mut position = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(link_id) = str_of(item, "linkId") {
                position.entry(link_id).or_insert(i);
            }
        }
        let required = (0..items.len()).filter(|&i| bool_of(items[i], "required")).collect();
        Level { items, position, required }
    }
}

/// Every item under `items`, by linkId (the first one wins, as a search would find it).
fn index_items<'q>(items: &[&'q Value], out: &mut HashMap<&'q str, &'q Value>) {
    for item in items {
        if let Some(link_id) = str_of(item, "linkId") {
            out.entry(link_id).or_insert(item);
        }
        index_items(&items_of(item), out);
    }
}

impl<'w, 'v, 'n, 'q, 'r> ResponseCheck<'w, 'v, 'n, 'q, 'r> {
    /// `authored` within the Questionnaire's effectivePeriod.
    fn authored(&mut self, node: &Node) {
        let (Some(period), Some(authored)) = (self.q.get("effectivePeriod"), node.child("authored")) else { return };
        let Some(text) = authored.text() else { return };
        self.walk.path.push("authored", None);
        if let Some(end) = str_of(period, "end") {
            if answers::compare_dates(text, end) == Some(std::cmp::Ordering::Greater) {
                self.walk.warn(
                    authored,
                    IssueCode::BusinessRule,
                    format!("The authored date '{text}' is after the end of the permitted period defined in the Questionnaire ('{end}')"),
                );
            }
        }
        if let Some(start) = str_of(period, "start") {
            if answers::compare_dates(text, start) == Some(std::cmp::Ordering::Less) {
                self.walk.warn(
                    authored,
                    IssueCode::BusinessRule,
                    format!("The authored date '{text}' is before the start of the permitted period defined in the Questionnaire ('{start}')"),
                );
            }
        }
        self.walk.path.pop();
    }

    /// Takes `steps` from what the response may still take; false (and
    /// nothing left) when there is not enough.
    fn spend(&self, steps: usize) -> bool {
        let left = self.work_left.get();
        self.work_left.set(left.saturating_sub(steps));
        left > steps
    }

    fn rules(&self, q_item: &'q Value) -> Rc<ItemRules<'q>> {
        let key = q_item as *const Value as usize;
        if let Some(known) = self.item_rules.borrow().get(&key) {
            return Rc::clone(known);
        }
        let rules = Rc::new(ItemRules::of(self.q, q_item));
        self.item_rules.borrow_mut().insert(key, Rc::clone(&rules));
        rules
    }

    /// Compiles an item's regex the first time an answer needs it, once
    /// per distinct pattern, at a cost in steps in proportion to its
    /// compiled size; a pattern too large to compile is reported (once) as
    /// not checked. A response that has used up its steps leaves it unchecked.
    fn prepare_regex(&mut self, rules: &ItemRules<'q>, at: &Node) {
        let Some(pattern) = rules.regex else { return };
        if rules.compiled_regex.get().is_some() {
            return;
        }
        let known = self.regexes.borrow().get(pattern).cloned();
        let compiled = match known {
            Some(compiled) => compiled,
            None => {
                use super::questionnaire_item_rules::{compile_regex, compile_steps, regex_weight, MAX_REGEX_WEIGHT};
                // What compiling will cost is known, and paid, before it starts.
                let weight = regex_weight(pattern).unwrap_or(0);
                let compiled = if weight > MAX_REGEX_WEIGHT || self.regex_memory.get() >= MAX_REGEX_MEMORY {
                    // Too large, or the response's regexes already hold
                    // their share of memory: not compiled at all.
                    Err(())
                } else if !self.spend(compile_steps(weight)) {
                    Ok(None)
                } else {
                    match compile_regex(pattern) {
                        // The compiled patterns of one response share a
                        // memory limit, and their size is paid for too
                        // (the twenty-second pass's N4: `(?s:.){6000}`
                        // weighs little and compiles to megabytes).
                        Ok(re) if self.regex_memory.get() + re.memory() <= MAX_REGEX_MEMORY && self.spend(re.memory() / 256) => {
                            self.regex_memory.set(self.regex_memory.get() + re.memory());
                            Ok(Some(Rc::new(re)))
                        }
                        Ok(_) | Err(_) => Err(()),
                    }
                };
                let compiled = match compiled {
                    Ok(compiled) => compiled,
                    Err(()) => {
                        // REGEX_MATCH_TIMED_OUT
                        self.walk.warn(at, IssueCode::TooCostly, format!("The regex '{}' could not be executed (it is too large to compile here, so answers are not checked against it)", answers::brief(pattern)));
                        None
                    }
                };
                self.regexes.borrow_mut().insert(pattern, compiled.clone());
                compiled
            }
        };
        let _ = rules.compiled_regex.set(compiled);
    }

    fn level(&mut self, parent: &'q Value) -> Rc<Level<'q>> {
        let key = parent as *const Value as usize;
        Rc::clone(self.levels.entry(key).or_insert_with(|| Rc::new(Level::of(parent))))
    }

    /// The `item`s of `container` (the response, an item or an answer)
    /// against the items the Questionnaire has at that level, under
    /// `parent` (the Questionnaire or an item). Only the items the
    /// container has and the required ones are looked at, so an empty
    /// repeat costs little however many items its level has.
    fn items(&mut self, parent: &'q Value, container: &'r Node) {
        let level = self.level(parent);
        let given = container.children_named("item").count();
        if !self.spend(1 + given) {
            return;
        }
        if given == 0 && self.scopes.len() >= 2 {
            // An empty repeat holds no answers, so what its required items
            // need is decided by the enclosing scopes: the same for every
            // empty repeat there, worked out once.
            let key = (parent as *const Value as usize, self.scopes[self.scopes.len() - 2] as *const Node as usize);
            let missing = match self.empty_repeats.get(&key) {
                Some(missing) => Rc::clone(missing),
                None => {
                    let missing: Rc<Vec<usize>> = Rc::new(level.required.iter().copied().filter(|&i| self.enabled(level.items[i])).collect());
                    self.empty_repeats.insert(key, Rc::clone(&missing));
                    missing
                }
            };
            for &index in missing.iter() {
                if !self.spend(STEPS_PER_REPORT) {
                    return;
                }
                self.missing_required(level.items[index], container);
            }
            return;
        }
        if !self.spend(level.required.len()) {
            return;
        }
        // The response items each of the level's items got.
        let mut grouped: HashMap<usize, Vec<(usize, &'r Node)>> = HashMap::new();
        let mut last_index = 0usize;
        for (counter, item) in container.children_named("item").enumerate() {
            let Some(link_id) = item.child_text("linkId").filter(|l| !l.is_empty()) else {
                self.walk.error(item, IssueCode::Required, "No LinkId, so can't be validated".into());
                continue;
            };
            match level.position.get(link_id).copied() {
                Some(index) => {
                    if index < last_index {
                        self.walk.error(item, IssueCode::Structure, "Structural Error: items are out of order".into());
                    }
                    last_index = index;
                    grouped.entry(index).or_default().push((counter, item));
                }
                None => match self.q_index.get(link_id).copied() {
                    Some(q_item) => {
                        self.walk.error(item, IssueCode::Structure, format!("Structural Error: item with linkid {link_id} is in the wrong place"));
                        self.walk.path.push("item", Some(counter));
                        self.item(q_item, item);
                        self.walk.path.pop();
                    }
                    None => self.walk.error(item, IssueCode::NotFound, format!("LinkId '{link_id}' not found in questionnaire")),
                },
            }
        }
        let in_order: BTreeSet<usize> = grouped.keys().copied().chain(level.required.iter().copied()).collect();
        for index in in_order {
            let q_item = level.items[index];
            let link_id = answers::brief(str_of(q_item, "linkId").unwrap_or(""));
            match grouped.get(&index) {
                Some(found) => {
                    if !self.enabled(q_item) {
                        for (counter, item) in found {
                            if item.child("answer").is_some() || item.child("item").is_some() {
                                self.walk.path.push("item", Some(*counter));
                                self.walk.error(item, IssueCode::Invalid, format!("Item has answer, even though it is not enabled (item id = '{link_id}')"));
                                self.walk.path.pop();
                            }
                        }
                    }
                    if found.len() > 1 && !bool_of(q_item, "repeats") {
                        self.walk.error(found[1].1, IssueCode::Invalid, format!("Only one response item with this linkId allowed - {link_id}"));
                    }
                    for (counter, item) in found {
                        self.walk.path.push("item", Some(*counter));
                        self.item(q_item, item);
                        self.walk.path.pop();
                    }
                }
                None => {
                    // A missing required item is reported once per
                    // repeat of its level: the one rule whose output can
                    // outgrow the input, so each report takes steps too.
                    if self.enabled(q_item) && self.spend(STEPS_PER_REPORT) {
                        self.missing_required(q_item, container);
                    }
                }
            }
        }
    }

    /// A required item that `container` lacks.
    fn missing_required(&mut self, q_item: &Value, container: &Node) {
        let msg = format!("No response answer found for required item '{}'", answers::brief(str_of(q_item, "linkId").unwrap_or("")));
        if self.not_completed {
            self.walk.warn(container, IssueCode::Required, msg);
        } else {
            self.walk.error(container, IssueCode::Required, msg);
        }
    }

    /// One response item (the path points at it) against its Questionnaire item.
    fn item(&mut self, q_item: &'q Value, item: &'r Node) {
        let link_id = answers::brief(str_of(q_item, "linkId").unwrap_or(""));
        let item_type = str_of(q_item, "type").unwrap_or("");
        if let Some(text) = item.child_text("text").filter(|t| !t.is_empty()) {
            if Some(text) != str_of(q_item, "text") {
                self.walk.error(item, IssueCode::Invalid, format!("If text exists, it must match the questionnaire definition for linkId {link_id}"));
            }
        }
        let answer_nodes: Vec<&'r Node> = item.children_named("answer").collect();
        let fulfilled = !answer_nodes.is_empty() || !bool_of(q_item, "required") || item_type == "group";
        if !fulfilled {
            let msg = format!("No response answer found for required item '{link_id}'");
            if self.not_completed {
                self.walk.warn(item, IssueCode::Required, msg);
            } else if self.enabled(q_item) {
                self.walk.error(item, IssueCode::Required, msg);
            }
        }
        if answer_nodes.len() > 1 && !bool_of(q_item, "repeats") {
            self.walk.error(answer_nodes[1], IssueCode::Invalid, "Only one response answer item with this linkId allowed".into());
        }
        let rules = self.rules(q_item);
        if let Some(max) = rules.int(answers::EXT_MAX_OCCURS) {
            if max >= 0 && answer_nodes.len() as i64 > max {
                self.walk.error(item, IssueCode::Invalid, format!("The maximum number of answers is {max} but this has {} answers", answer_nodes.len()));
            }
        }
        if let Some(min) = rules.int(answers::EXT_MIN_OCCURS) {
            if min >= 0 && (answer_nodes.len() as i64) < min {
                self.walk.error(item, IssueCode::Invalid, format!("The minimum number of answers is {min} but this has {} answers", answer_nodes.len()));
            }
        }
        for (i, answer) in answer_nodes.iter().enumerate() {
            match item_type {
                "group" | "question" => {
                    self.walk.error(answer, IssueCode::Structure, "Items of type question should not have answers".into());
                }
                "display" => {
                    self.walk.error(answer, IssueCode::Structure, "Items of type 'display' cannot have answers".into());
                }
                _ => {}
            }
            self.walk.path.push("answer", Some(i));
            if !matches!(item_type, "group" | "question" | "display") {
                self.prepare_regex(&rules, answer);
                // Matching a regex is linear in the answer, with a factor
                // of the pattern's size: counted like the rest.
                let matched = rules.compiled_regex.get().and_then(|c| c.as_ref()).map_or(0, |re| {
                    let text = answers::value_node(answer).filter(|v| v.name == "valueString").and_then(Node::text).unwrap_or("");
                    text.len() * re.steps_per_byte
                });
                if !self.spend(matched) {
                    self.walk.path.pop();
                    break;
                }
                answers::answer(self.walk, &rules, item_type, answer, answer_nodes.len());
            }
            if item_type != "group" {
                self.scopes.push(answer);
                self.items(q_item, answer);
                self.scopes.pop();
            }
            self.walk.path.pop();
        }
        let nested = item.children_named("item").count();
        if q_item.get("type").is_none() {
            // Questionnaire_QR_Item_NoType
            self.walk.error(item, IssueCode::Required, format!("Definition for item {link_id} does not contain a type"));
        }
        if item_type == "group" && nested == 0 && bool_of(q_item, "required") {
            // QUESTIONNAIRE_QR_ITEM_GROUP_REQUIRED
            self.walk.error(item, IssueCode::Invariant, "No sub-items found for required group".into());
        }
        match item_type {
            "display" if nested > 0 => {
                self.walk.error(item, IssueCode::Structure, format!("Items not of type DISPLAY should not have items - linkId {link_id}"));
            }
            "group" => {
                self.scopes.push(item);
                self.items(q_item, item);
                self.scopes.pop();
            }
            _ if nested > 0 && item_type != "display" => {
                self.walk.error(item, IssueCode::Structure, "Items not of type group should not have items outside answers (use answer.item not .item)".into());
            }
            _ => {}
        }
    }

    /// Whether a Questionnaire item is enabled, given the answers in the
    /// response. Taken as enabled once the response has used up its steps.
    fn enabled(&self, q_item: &'q Value) -> bool {
        let conditions: &[Value] = q_item.get("enableWhen").and_then(Value::as_array).map_or(&[], Vec::as_slice);
        if conditions.is_empty() {
            return match self.rules(q_item).string(EXT_ENABLE_WHEN_EXPRESSION) {
                Some(expr) => self.expression_enabled(expr).unwrap_or(true),
                None => true,
            };
        }
        if !self.spend(conditions.len()) {
            return true;
        }
        let any = str_of(q_item, "enableBehavior") == Some("any");
        let mut results = conditions.iter().map(|c| self.condition(c));
        if any {
            results.any(|r| r)
        } else {
            results.all(|r| r)
        }
    }

    /// The nearest enclosing scope that holds an item with this linkId:
    /// the scope whose answers decide a condition on it.
    fn answering_scope(&self, link_id: &str) -> Option<&'r Node> {
        self.scopes.iter().rev().copied().find(|scope| self.index.holds(scope, link_id))
    }

    /// Whether an enableWhen condition holds, on the answers its question
    /// has in the scope that decides it, arranged once per scope, question
    /// and type however many conditions ask.
    fn condition(&self, ew: &'q Value) -> bool {
        let Some(question) = str_of(ew, "question") else { return true };
        let operator = str_of(ew, "operator").unwrap_or("=");
        let Some((suffix, expected)) = ew.as_object().and_then(|o| o.iter().find(|(k, _)| k.starts_with("answer") && k.len() > 6)) else { return true };
        let expected_type = &suffix[6..];
        let Some(scope) = self.answering_scope(question) else {
            // No answer at all: only `exists = false` and `!=` hold.
            return Answers::arrange(expected_type, [], &self.index).hold_or_exists(operator, expected, 0);
        };
        let given = self.index.values(scope, question);
        let key = (scope as *const Node as usize, question, expected_type);
        let known = self.arranged.borrow().get(&key).cloned();
        let arranged = match known {
            Some(arranged) => arranged,
            None => {
                if !self.spend(given.len()) {
                    return true;
                }
                let arranged = Rc::new(Answers::arrange(expected_type, given.iter().map(|(_, v)| *v), &self.index));
                self.arranged.borrow_mut().insert(key, Rc::clone(&arranged));
                arranged
            }
        };
        arranged.hold_or_exists(operator, expected, given.len())
    }

    /// The one FHIRPath shape an enableWhen expression extension is known to
    /// take: `QuestionnaireResponse.descendants().where(linkId='x').answer.value[.ofType(t)]`
    /// (true when it yields a boolean true). `None` for anything else.
    fn expression_enabled(&self, expr: &'q str) -> Option<bool> {
        if let Some(known) = self.expressions.borrow().get(expr) {
            return *known;
        }
        let answer = self.evaluate_expression(expr);
        self.expressions.borrow_mut().insert(expr, answer);
        answer
    }

    fn evaluate_expression(&self, expr: &str) -> Option<bool> {
        let rest = expr.trim().strip_prefix("QuestionnaireResponse.descendants().where(linkId=")?;
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let rest = &rest[1..];
        let end = rest.find(quote)?;
        let link_id = &rest[..end];
        let tail = rest[end + 1..].strip_prefix(").answer.value")?;
        let wanted_type = match tail {
            "" => None,
            t => Some(t.strip_prefix(".ofType(")?.strip_suffix(')')?),
        };
        let mut values = self.index.all_values(link_id).iter().map(|(_, v)| *v).filter(|v| wanted_type.is_none_or(|t| value_type(v) == t));
        let (first, second) = (values.next(), values.next());
        Some(second.is_none() && first.is_some_and(|v| value_type(v) == "boolean" && v.text() == Some("true")))
    }
}

const EXT_ENABLE_WHEN_EXPRESSION: &str = "http://phr.kanta.fi/StructureDefinition/fiphr-ext-questionnaire-enablewhen";

/// A Questionnaire's own rules beyond its invariants.
pub(super) fn check_questionnaire(walk: &mut Walk<'_, '_>, node: &Node) {
    let mut checks = super::questionnaire_definition::prepare(walk, node);
    let order = ItemOrder::of(node);
    questionnaire_items(walk, node, &order, &mut checks);
}

/// The items of a Questionnaire in document order, each with where its
/// subtree ends, and where each linkId occurs: what the enableWhen rules
/// look up, built once (a Questionnaire may have tens of thousands of items).
struct ItemOrder<'a> {
    /// Preorder number of each item node (by address) and the last number in its subtree.
    place: HashMap<*const Node, (usize, usize)>,
    by_link_id: HashMap<&'a str, Vec<(usize, &'a Node)>>,
}

impl<'a> ItemOrder<'a> {
    fn of(root: &'a Node) -> ItemOrder<'a> {
        fn visit<'a>(node: &'a Node, next: &mut usize, order: &mut ItemOrder<'a>) {
            for item in node.children_named("item") {
                let at = *next;
                *next += 1;
                if let Some(l) = item.child_text("linkId") {
                    order.by_link_id.entry(l).or_default().push((at, item));
                }
                visit(item, next, order);
                order.place.insert(item as *const Node, (at, *next - 1));
            }
        }
        let mut order = ItemOrder { place: Default::default(), by_link_id: Default::default() };
        visit(root, &mut 0, &mut order);
        order
    }

    /// The first item with this linkId in document order, with its number.
    fn first(&self, link_id: &str) -> Option<(usize, &'a Node)> {
        self.by_link_id.get(link_id).and_then(|l| l.first().copied())
    }

    /// Whether an item with this linkId lies inside `item`'s subtree.
    fn inside(&self, item: &Node, link_id: &str) -> bool {
        let Some(&(start, end)) = self.place.get(&(item as *const Node)) else { return false };
        // Numbers are in document order: a binary search, not a scan of
        // every item sharing the linkId (the twentieth pass's M5).
        self.by_link_id.get(link_id).is_some_and(|l| {
            let first_after = l.partition_point(|(at, _)| *at <= start);
            first_after < l.len() && l[first_after].0 <= end
        })
    }
}

fn questionnaire_items(walk: &mut Walk<'_, '_>, container: &Node, order: &ItemOrder<'_>, checks: &mut super::questionnaire_definition::DefinitionChecks) {
    for (i, item) in container.children_named("item").enumerate() {
        walk.path.push("item", Some(i));
        checks.item(walk, item);
        let conditions: Vec<&Node> = item.children_named("enableWhen").collect();
        for ew in &conditions {
            let Some(question) = ew.child_text("question") else {
                walk.error(item, IssueCode::BusinessRule, "Questions with an enableWhen must have a value for the question link".into());
                continue;
            };
            if order.inside(item, question) {
                walk.error(item, IssueCode::BusinessRule, "Questions with an enableWhen cannot refer to an inner question for its enableWhen condition".into());
                continue;
            }
            let Some((target_at, target)) = order.first(question) else {
                walk.error(
                    item,
                    IssueCode::BusinessRule,
                    format!("Unable to find an item with the linkId '{question}' which is referenced in the enableWhen for '{}'", item.child_text("linkId").unwrap_or("")),
                );
                continue;
            };
            let item_at = order.place.get(&(item as *const Node)).map_or(0, |p| p.0);
            if std::ptr::eq(target, item) {
                walk.error(item, IssueCode::BusinessRule, "Target for this question enableWhen can't reference itself".into());
            } else if target_at > item_at {
                // In document order, an ancestor comes before its items.
                walk.warn(item, IssueCode::BusinessRule, format!("The target of this enableWhen rule ({question}) comes after the question itself"));
            }
        }
        if conditions.len() > 1 && item.child("enableBehavior").is_none() {
            walk.error(item, IssueCode::Invariant, "Constraint failed: que-12: 'If there are more than one enableWhen, enableBehavior must be specified'".into());
        }
        questionnaire_items(walk, item, order, checks);
        walk.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use crate::context::Context;
    use crate::issue::{Issue, Severity};
    use crate::loader::{load, LoadOptions};
    use crate::tree::Format;
    use crate::validator::{Options, Validator};
    use std::sync::{Arc, OnceLock};

    fn base() -> Arc<Context> {
        static CTX: OnceLock<Arc<Context>> = OnceLock::new();
        CTX.get_or_init(|| Arc::new(load(&LoadOptions::default()).expect("the default packages load (installed on first use)"))).clone()
    }

    /// Validates `qr` with the Questionnaire `q` (url `http://q.test/Q`) in the context.
    fn issues(q: &str, qr: &str) -> Vec<Issue> {
        let mut ctx = Context::overlay(base());
        let mut q: serde_json::Value = serde_json::from_str(q).unwrap();
        q["resourceType"] = "Questionnaire".into();
        q["url"] = "http://q.test/Q".into();
        q["status"] = "active".into();
        ctx.add_json(q, "test");
        let v = Validator::new(Arc::new(ctx), Options::default());
        let mut qr: serde_json::Value = serde_json::from_str(qr).unwrap();
        qr["resourceType"] = "QuestionnaireResponse".into();
        qr["questionnaire"] = "http://q.test/Q".into();
        if qr.get("status").is_none() {
            qr["status"] = "completed".into();
        }
        v.validate_bytes(qr.to_string().as_bytes(), Some(Format::Json))
    }

    fn errors(q: &str, qr: &str) -> Vec<(String, String)> {
        issues(q, qr).into_iter().filter(|i| i.severity.is_error()).map(|i| (i.expression, i.message)).collect()
    }

    fn assert_clean(q: &str, qr: &str) {
        let e = errors(q, qr);
        assert!(e.is_empty(), "{e:#?}");
    }

    fn assert_error(q: &str, qr: &str, expression: &str, fragment: &str) {
        let e = errors(q, qr);
        assert!(e.iter().any(|(x, m)| x == expression && m.contains(fragment)), "expected {fragment:?} at {expression}, got {e:#?}");
    }

    const STRING_Q: &str = r#"{"item":[{"linkId":"q1","text":"Name","type":"string","required":true}]}"#;

    /// The answer rules, worded as the reference words them:
    /// QUESTIONNAIRE_QR_ITEM_STRING_MIN_LENGTH, _MAX_LENGTH, _REGEX,
    /// _NOT_ATTACHMENT_MIMETYPE, _BAD_ATTACHMENT_LENGTH and Questionnaire_QR_Item_Display.
    #[test]
    fn answers_against_lengths_regexes_and_attachments() {
        let ext = |url: &str, value: serde_json::Value| serde_json::json!({"url": format!("http://hl7.org/fhir/StructureDefinition/{url}"), "valueInteger": value});
        let q = serde_json::json!({"item": [
            {"linkId": "s", "type": "string", "maxLength": 3, "extension": [ext("minLength", 2.into()), {"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "[a-z]+"}]},
            {"linkId": "a", "type": "attachment", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/mimeType", "valueCode": "image/png"}, {"url": "http://hl7.org/fhir/StructureDefinition/maxSize", "valueDecimal": 4}]},
            {"linkId": "d", "type": "display", "text": "Note"}
        ]})
        .to_string();
        assert_clean(&q, r#"{"item":[{"linkId":"s","answer":[{"valueString":"abc"}]},{"linkId":"a","answer":[{"valueAttachment":{"contentType":"image/png","data":"AAA="}}]}]}"#);
        assert_error(&q, r#"{"item":[{"linkId":"s","answer":[{"valueString":"a"}]}]}"#, "QuestionnaireResponse.item[0].answer[0].value.ofType(string)", "The answer 'a' is shorter then the required minimum length of 2");
        assert_error(&q, r#"{"item":[{"linkId":"s","answer":[{"valueString":"abcd"}]}]}"#, "QuestionnaireResponse.item[0].answer[0].value.ofType(string)", "The answer 'abcd' is longer then the allowed maximum length of 3");
        assert_error(&q, r#"{"item":[{"linkId":"s","answer":[{"valueString":"AB"}]}]}"#, "QuestionnaireResponse.item[0].answer[0].value.ofType(string)", "The answer 'AB' does not conform to the required regex '[a-z]+'");
        assert_error(&q, r#"{"item":[{"linkId":"a","answer":[{"valueAttachment":{"data":"AAA="}}]}]}"#, "QuestionnaireResponse.item[0].answer[0]", "A mime type is required for this answer");
        assert_error(
            &q,
            r#"{"item":[{"linkId":"a","answer":[{"valueAttachment":{"contentType":"image/png","data":"AAAAAAAA"}}]}]}"#,
            "QuestionnaireResponse.item[0].answer[0]",
            "The attachment is too large (allowed = 4, found = 6)",
        );
        assert_error(&q, r#"{"item":[{"linkId":"d","item":[{"linkId":"s"}]}]}"#, "QuestionnaireResponse.item[0]", "Items not of type DISPLAY should not have items - linkId d");
    }

    #[test]
    fn link_ids_must_exist() {
        assert_clean(STRING_Q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"a"}]}]}"#);
        assert_error(STRING_Q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"a"}]},{"linkId":"zz"}]}"#, "QuestionnaireResponse", "LinkId 'zz' not found");
    }

    #[test]
    fn items_at_the_wrong_level_are_reported() {
        let q = r#"{"item":[{"linkId":"g","type":"group","item":[{"linkId":"q1","type":"string"}]}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"g","item":[{"linkId":"q1","answer":[{"valueString":"a"}]}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"a"}]}]}"#, "QuestionnaireResponse", "is in the wrong place");
    }

    #[test]
    fn text_must_match() {
        assert_clean(STRING_Q, r#"{"item":[{"linkId":"q1","text":"Name","answer":[{"valueString":"a"}]}]}"#);
        assert_error(STRING_Q, r#"{"item":[{"linkId":"q1","text":"Other","answer":[{"valueString":"a"}]}]}"#, "QuestionnaireResponse.item[0]", "must match");
    }

    #[test]
    fn required_items_are_errors_only_when_completed() {
        assert_error(STRING_Q, r#"{"item":[]}"#, "QuestionnaireResponse", "No response answer found for required item 'q1'");
        let all = issues(STRING_Q, r#"{"status":"in-progress"}"#);
        assert!(all.iter().any(|i| i.severity == Severity::Warning && i.message.contains("No response answer found")), "{all:#?}");
        assert!(!all.iter().any(|i| i.severity.is_error()), "{all:#?}");
    }

    #[test]
    fn only_repeating_items_take_several_answers() {
        assert_error(STRING_Q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"a"},{"valueString":"b"}]}]}"#, "QuestionnaireResponse.item[0]", "Only one response answer");
        let q = r#"{"item":[{"linkId":"q1","type":"string","repeats":true}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"a"},{"valueString":"b"}]}]}"#);
    }

    #[test]
    fn answer_types_follow_the_item_type() {
        for (ty, good, bad) in [
            ("boolean", r#"{"valueBoolean":true}"#, r#"{"valueString":"x"}"#),
            ("decimal", r#"{"valueDecimal":1.5}"#, r#"{"valueInteger":1}"#),
            ("integer", r#"{"valueInteger":1}"#, r#"{"valueDecimal":1.5}"#),
            ("date", r#"{"valueDate":"2020-01-01"}"#, r#"{"valueCoding":{"code":"x"}}"#),
            ("dateTime", r#"{"valueDateTime":"2020-01-01"}"#, r#"{"valueDate":"2020-01-01"}"#),
            ("time", r#"{"valueTime":"10:00:00"}"#, r#"{"valueString":"10"}"#),
            ("text", r#"{"valueString":"x"}"#, r#"{"valueBoolean":true}"#),
            ("url", r#"{"valueUri":"http://x.org"}"#, r#"{"valueString":"x"}"#),
            ("attachment", r#"{"valueAttachment":{"contentType":"text/plain"}}"#, r#"{"valueString":"x"}"#),
            ("reference", r#"{"valueReference":{"reference":"Patient/1"}}"#, r#"{"valueString":"x"}"#),
            ("quantity", r#"{"valueQuantity":{"value":1}}"#, r#"{"valueDecimal":1}"#),
        ] {
            let q = format!(r#"{{"item":[{{"linkId":"q1","type":"{ty}"}}]}}"#);
            assert_clean(&q, &format!(r#"{{"item":[{{"linkId":"q1","answer":[{good}]}}]}}"#));
            let e = errors(&q, &format!(r#"{{"item":[{{"linkId":"q1","answer":[{bad}]}}]}}"#));
            assert!(e.iter().any(|(x, m)| x.starts_with("QuestionnaireResponse.item[0].answer[0].value.ofType(") && m.contains("Answer value must be")), "{ty}: {e:#?}");
        }
    }

    #[test]
    fn choice_answers_come_from_the_options() {
        let q = r#"{"item":[{"linkId":"q1","type":"choice","repeats":true,"answerOption":[{"valueCoding":{"system":"http://x.org","code":"a"}},
            {"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive","valueBoolean":true}],"valueCoding":{"system":"http://x.org","code":"none"}}]}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"q1","answer":[{"valueCoding":{"system":"http://x.org","code":"a"}}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"q1","answer":[{"valueCoding":{"system":"http://x.org","code":"b"}}]}]}"#, "QuestionnaireResponse.item[0].answer[0]", "not in the set of permitted values");
        assert_error(
            q,
            r#"{"item":[{"linkId":"q1","answer":[{"valueCoding":{"system":"http://x.org","code":"a"}},{"valueCoding":{"system":"http://x.org","code":"none"}}]}]}"#,
            "QuestionnaireResponse.item[0].answer[1]",
            "exclusive option",
        );
    }

    #[test]
    fn choice_answers_come_from_the_value_set() {
        let q = r#"{"item":[{"linkId":"q1","type":"choice","answerValueSet":"http://hl7.org/fhir/ValueSet/administrative-gender"}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"q1","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/administrative-gender","code":"male"}}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"q1","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/administrative-gender","code":"cat"}}]}]}"#, "QuestionnaireResponse.item[0].answer[0]", "not in the options value set");
    }

    #[test]
    fn groups_and_displays_take_no_answers() {
        let q = r#"{"item":[{"linkId":"g","type":"group","item":[{"linkId":"q1","type":"string"}]},{"linkId":"d","type":"display"}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"g","item":[{"linkId":"q1","answer":[{"valueString":"a"}]}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"g","answer":[{"valueString":"a"}]}]}"#, "QuestionnaireResponse.item[0]", "should not have answers");
        assert_error(q, r#"{"item":[{"linkId":"d","answer":[{"valueString":"a"}]}]}"#, "QuestionnaireResponse.item[0]", "'display' cannot have answers");
    }

    #[test]
    fn questions_nest_items_under_answers() {
        let q = r#"{"item":[{"linkId":"q1","type":"boolean","item":[{"linkId":"q2","type":"string"}]}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"q1","answer":[{"valueBoolean":true,"item":[{"linkId":"q2","answer":[{"valueString":"x"}]}]}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"q1","answer":[{"valueBoolean":true}],"item":[{"linkId":"q2","answer":[{"valueString":"x"}]}]}]}"#, "QuestionnaireResponse.item[0]", "outside answers");
    }

    #[test]
    fn disabled_items_take_no_answers() {
        let q = r#"{"item":[{"linkId":"c","type":"boolean"},{"linkId":"d","type":"string","enableWhen":[{"question":"c","operator":"=","answerBoolean":true}]}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"c","answer":[{"valueBoolean":true}]},{"linkId":"d","answer":[{"valueString":"x"}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"c","answer":[{"valueBoolean":false}]},{"linkId":"d","answer":[{"valueString":"x"}]}]}"#, "QuestionnaireResponse.item[1]", "not enabled");
    }

    #[test]
    fn extensions_limit_answers() {
        let ext = |url: &str, v: &str| format!(r#"{{"url":"http://hl7.org/fhir/StructureDefinition/{url}",{v}}}"#);
        let q = format!(r#"{{"item":[{{"linkId":"q1","type":"decimal","extension":[{},{},{}]}}]}}"#, ext("minValue", r#""valueDecimal":1"#), ext("maxValue", r#""valueDecimal":10"#), ext("maxDecimalPlaces", r#""valueInteger":2"#));
        assert_clean(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueDecimal":5.25}]}]}"#);
        let path = "QuestionnaireResponse.item[0].answer[0].value.ofType(decimal)";
        assert_error(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueDecimal":0.5}]}]}"#, path, "less than the allowed minimum of 1");
        assert_error(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueDecimal":11}]}]}"#, path, "greater than the allowed maximum of 10");
        assert_error(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueDecimal":5.255}]}]}"#, path, "too many decimal places (limit = 2)");

        let q = format!(r#"{{"item":[{{"linkId":"q1","type":"string","maxLength":5,"extension":[{}]}}]}}"#, ext("regex", r#""valueString":"[a-z]+""#));
        assert_clean(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"abc"}]}]}"#);
        let path = "QuestionnaireResponse.item[0].answer[0].value.ofType(string)";
        assert_error(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"ab1"}]}]}"#, path, "regex");
        assert_error(&q, r#"{"item":[{"linkId":"q1","answer":[{"valueString":"abcdefg"}]}]}"#, path, "maximum length of 5");
    }

    #[test]
    fn quantities_compare_in_ucum() {
        let q = r#"{"item":[{"linkId":"q1","type":"quantity","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity",
            "valueQuantity":{"value":5,"system":"http://unitsofmeasure.org","code":"km"}}]}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"q1","answer":[{"valueQuantity":{"value":4000,"system":"http://unitsofmeasure.org","code":"m"}}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"q1","answer":[{"valueQuantity":{"value":6000,"system":"http://unitsofmeasure.org","code":"m"}}]}]}"#, "QuestionnaireResponse.item[0].answer[0].value.ofType(Quantity)", "greater than the allowed maximum");
        assert_error(q, r#"{"item":[{"linkId":"q1","answer":[{"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"kg"}}]}]}"#, "QuestionnaireResponse.item[0].answer[0].value.ofType(Quantity)", "cannot be compared");
    }

    /// A Questionnaire whose group `g` repeats, with `m` string items
    /// (`required` or not), and a response with `k` empty repeats of it.
    fn repeated_group(m: usize, required: bool, k: usize) -> (String, String) {
        let children: Vec<serde_json::Value> = (0..m).map(|i| serde_json::json!({"linkId": format!("c{i}"), "type": "string", "required": required})).collect();
        let q = serde_json::json!({"item": [{"linkId": "g", "type": "group", "repeats": true, "item": children}]});
        let mut repeats: Vec<serde_json::Value> = (0..k).map(|_| serde_json::json!({"linkId": "g"})).collect();
        repeats.push(serde_json::json!({"linkId": "g", "item": [{"linkId": format!("c{}", m - 1), "answer": [{"valueBoolean": true}]}]}));
        (q.to_string(), serde_json::json!({"item": repeats}).to_string())
    }

    #[test]
    fn empty_repeats_of_a_large_level_cost_little() {
        // 3,000 × 3,000 items would be nine million steps, more than the
        // response may take, if each repeat went through the whole level.
        let (q, qr) = repeated_group(3_000, false, 3_000);
        let all = issues(&q, &qr);
        assert!(!all.iter().any(|i| i.code == crate::issue::IssueCode::TooCostly), "{:#?}", &all[..all.len().min(5)]);
        assert!(all.iter().any(|i| i.expression == "QuestionnaireResponse.item[3000].item[0].answer[0].value.ofType(boolean)" && i.message.contains("must be of the type string")), "{all:#?}");
    }

    #[test]
    fn many_conditions_on_many_answers_cost_little() {
        // Question q0 answered k times; item i is enabled when q0 = "v{i}".
        let n = 3_000;
        let mut q_items = vec![serde_json::json!({"linkId": "q0", "type": "string", "repeats": true})];
        q_items.extend((0..n).map(|i| serde_json::json!({"linkId": format!("d{i}"), "type": "string", "enableWhen": [{"question": "q0", "operator": "=", "answerString": format!("v{i}")}]})));
        let q = serde_json::json!({"item": q_items}).to_string();
        // Every value but v7 is given, and every item is answered.
        let given: Vec<serde_json::Value> = (0..n).filter(|&i| i != 7).map(|i| serde_json::json!({"valueString": format!("v{i}")})).collect();
        let mut items = vec![serde_json::json!({"linkId": "q0", "answer": given})];
        items.extend((0..n).map(|i| serde_json::json!({"linkId": format!("d{i}"), "answer": [{"valueString": "x"}]})));
        let all = issues(&q, &serde_json::json!({"item": items}).to_string());
        let errors: Vec<(&str, &str)> = all.iter().filter(|i| i.severity.is_error()).map(|i| (i.expression.as_str(), i.message.as_str())).collect();
        assert_eq!(errors, [("QuestionnaireResponse.item[8]", "Item has answer, even though it is not enabled (item id = 'd7')")]);
    }

    #[test]
    fn a_response_too_costly_to_check_says_so() {
        // Each of 2,000 empty repeats lacks 2,000 required items: four
        // million reports, far more than the input's size warrants.
        let (q, qr) = repeated_group(2_000, true, 2_000);
        let all = issues(&q, &qr);
        let missing = all.iter().filter(|i| i.message.starts_with("No response answer found for required item")).count();
        assert!(missing > 1_000 && missing < 100_000, "{missing} reports");
        let costly: Vec<&Issue> = all.iter().filter(|i| i.code == crate::issue::IssueCode::TooCostly).collect();
        assert_eq!(costly.len(), 1, "{costly:#?}");
        assert!(costly[0].severity.is_error() && costly[0].expression == "QuestionnaireResponse" && costly[0].message.contains("Split it into smaller responses"), "{costly:#?}");
    }

    #[test]
    fn empty_repeats_lacking_disabled_required_items_cost_little() {
        // 3,000 empty repeats of a group whose 300 required items are all
        // disabled by an outer answer: nine hundred thousand checks if each
        // repeat went through them (the nineteenth pass's L5, refused as
        // too costly); the empty repeats share one answer.
        let mut children: Vec<serde_json::Value> = (0..300)
            .map(|i| serde_json::json!({"linkId": format!("c{i}"), "type": "string", "required": true, "enableWhen": [{"question": "gate", "operator": "=", "answerBoolean": true}]}))
            .collect();
        children.push(serde_json::json!({"linkId": "note", "type": "string"}));
        let q = serde_json::json!({"item": [{"linkId": "gate", "type": "boolean"}, {"linkId": "g", "type": "group", "repeats": true, "item": children}]}).to_string();
        let mut items = vec![serde_json::json!({"linkId": "gate", "answer": [{"valueBoolean": false}]})];
        items.extend((0..3_000).map(|_| serde_json::json!({"linkId": "g"})));
        let all = issues(&q, &serde_json::json!({"item": items}).to_string());
        assert!(!all.iter().any(|i| i.severity.is_error()), "{:#?}", &all[..all.len().min(5)]);
        // Enabled, each empty repeat lacks every one of them.
        let mut items = vec![serde_json::json!({"linkId": "gate", "answer": [{"valueBoolean": true}]})];
        items.extend((0..3).map(|_| serde_json::json!({"linkId": "g"})));
        let missing = errors(&q, &serde_json::json!({"item": items}).to_string()).into_iter().filter(|(_, m)| m.starts_with("No response answer found for required item")).count();
        assert_eq!(missing, 900);
    }

    #[test]
    fn the_nearest_scope_holding_the_question_decides() {
        // `b` is enabled by `a` in its own repeat of `g`, not by another repeat's.
        let q = r#"{"item":[{"linkId":"g","type":"group","repeats":true,"item":[{"linkId":"a","type":"boolean"},
            {"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":"=","answerBoolean":true}]}]}]}"#;
        let qr = r#"{"item":[{"linkId":"g","item":[{"linkId":"a","answer":[{"valueBoolean":true}]},{"linkId":"b","answer":[{"valueString":"x"}]}]},
            {"linkId":"g","item":[{"linkId":"a","answer":[{"valueBoolean":false}]},{"linkId":"b","answer":[{"valueString":"y"}]}]}]}"#;
        assert_eq!(errors(q, qr), [("QuestionnaireResponse.item[1].item[1]".to_owned(), "Item has answer, even though it is not enabled (item id = 'b')".to_owned())]);
    }

    #[test]
    fn an_enable_when_expression_reads_the_whole_response() {
        let ext = r#""extension":[{"url":"http://phr.kanta.fi/StructureDefinition/fiphr-ext-questionnaire-enablewhen","valueString":"QuestionnaireResponse.descendants().where(linkId='a').answer.value"}]"#;
        let q = format!(r#"{{"item":[{{"linkId":"a","type":"boolean"}},{{"linkId":"g","type":"group","repeats":true,"item":[{{"linkId":"b","type":"string",{ext}}}]}}]}}"#);
        let with = |a: bool| format!(r#"{{"item":[{{"linkId":"a","answer":[{{"valueBoolean":{a}}}]}},{{"linkId":"g","item":[{{"linkId":"b","answer":[{{"valueString":"x"}}]}}]}},{{"linkId":"g","item":[{{"linkId":"b","answer":[{{"valueString":"y"}}]}}]}}]}}"#);
        assert_clean(&q, &with(true));
        let e = errors(&q, &with(false));
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(e.iter().all(|(_, m)| m.contains("not enabled")), "{e:#?}");
    }

    #[test]
    fn options_and_units_are_matched_as_sets() {
        let q = r#"{"item":[{"linkId":"n","type":"integer","repeats":true,"answerOption":[{"valueInteger":1},{"valueInteger":20}]},
            {"linkId":"u","type":"quantity","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption","valueCoding":{"system":"http://unitsofmeasure.org","code":"kg"}},
                {"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption","valueCoding":{"display":"stone"}}]}]}"#;
        assert_clean(q, r#"{"item":[{"linkId":"n","answer":[{"valueInteger":20},{"valueInteger":1}]},{"linkId":"u","answer":[{"valueQuantity":{"value":70,"system":"http://unitsofmeasure.org","code":"kg"}}]}]}"#);
        assert_clean(q, r#"{"item":[{"linkId":"u","answer":[{"valueQuantity":{"value":11,"unit":"stone"}}]}]}"#);
        assert_error(q, r#"{"item":[{"linkId":"n","answer":[{"valueInteger":3}]}]}"#, "QuestionnaireResponse.item[0].answer[0].value.ofType(integer)", "The integer 3 is not in the set of permitted values");
        assert_error(
            q,
            r#"{"item":[{"linkId":"u","answer":[{"valueQuantity":{"value":70,"system":"http://unitsofmeasure.org","code":"g"}}]}]}"#,
            "QuestionnaireResponse.item[0].answer[0].value.ofType(Quantity)",
            "has a unit that is not valid",
        );
    }

    #[test]
    fn a_regex_is_checked_and_one_too_large_is_reported_unchecked() {
        let q = |p: &str| serde_json::json!({"item": [{"linkId": "s", "type": "string", "repeats": true,
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": p}]}]}).to_string();
        let answers = |n: usize, v: &str| serde_json::json!({"item": [{"linkId": "s", "answer": (0..n).map(|_| serde_json::json!({"valueString": v})).collect::<Vec<_>>()}]}).to_string();
        assert_clean(&q("[a-z]{3}"), &answers(200, "abc"));
        assert_eq!(errors(&q("[a-z]{3}"), &answers(3, "ab1")).len(), 3);
        assert_clean(&q(r"\p{L}{2,50}"), &answers(20, "Zoë"));
        // Past the compile limit: not checked, and said so once.
        let all = issues(&q(r"\p{L}{20000}"), &answers(50, "x"));
        assert!(!all.iter().any(|i| i.severity.is_error()), "{:#?}", &all[..all.len().min(3)]);
        let unchecked: Vec<&Issue> = all.iter().filter(|i| i.message.starts_with("The regex '") && i.message.contains("could not be executed")).collect();
        assert_eq!(unchecked.len(), 1, "{unchecked:#?}");
    }

    #[test]
    fn questionnaire_text_is_quoted_briefly_however_often() {
        // A 100,000-character value set url, quoted for each of 300 answers
        // (the twentieth pass's M1), and 3,000 mime types and unit options
        // listed for each (M2).
        let url = format!("http://x.test/{}", "z".repeat(100_000));
        let ext = |u: &str, k: &str, v: serde_json::Value| serde_json::json!({"url": format!("http://hl7.org/fhir/StructureDefinition/{u}"), k: v});
        let mimes: Vec<serde_json::Value> = (0..3_000).map(|i| ext("mimeType", "valueCode", format!("image/x{i}").into())).collect();
        let units: Vec<serde_json::Value> = (0..3_000).map(|i| ext("questionnaire-unitOption", "valueCoding", serde_json::json!({"system": "http://unitsofmeasure.org", "code": format!("u{i}")}))).collect();
        let q = serde_json::json!({"item": [
            {"linkId": "s", "type": "string", "repeats": true, "answerValueSet": url},
            {"linkId": "a", "type": "attachment", "repeats": true, "extension": mimes},
            {"linkId": "u", "type": "quantity", "repeats": true, "extension": units}]}).to_string();
        let qr = serde_json::json!({"item": [
            {"linkId": "s", "answer": (0..300).map(|_| serde_json::json!({"valueString": "x"})).collect::<Vec<_>>()},
            {"linkId": "a", "answer": (0..300).map(|i| serde_json::json!({"valueAttachment": {"contentType": format!("image/x{}", i * 10)}})).collect::<Vec<_>>()},
            {"linkId": "u", "answer": (0..300).map(|_| serde_json::json!({"valueQuantity": {"value": 1, "system": "http://unitsofmeasure.org", "code": "mg"}})).collect::<Vec<_>>()}]}).to_string();
        let all = issues(&q, &qr);
        let not_found = all.iter().filter(|i| i.message.starts_with("The value set 'http://x.test/zzz")).count();
        let bad_units = all.iter().filter(|i| i.message.contains("has a unit that is not valid")).count();
        assert_eq!((not_found, bad_units), (300, 300), "{:#?}", &all[..all.len().min(3)]);
        assert!(!all.iter().any(|i| i.message.contains("mime type")), "every content type is allowed");
        let longest = all.iter().map(|i| i.message.len()).max().unwrap_or(0);
        assert!(longest < 1_000, "the longest message has {longest} bytes");
    }

    #[test]
    fn an_unknown_questionnaire_is_a_warning() {
        let v = Validator::new(base(), Options::default());
        let all = v.validate_bytes(br#"{"resourceType":"QuestionnaireResponse","status":"completed","questionnaire":"http://nowhere.test/Q"}"#, Some(Format::Json));
        assert!(all.iter().any(|i| i.severity == Severity::Warning && i.message.contains("could not be resolved")), "{all:#?}");
        assert!(!all.iter().any(|i| i.severity.is_error()), "{all:#?}");
    }

    #[test]
    fn questionnaire_enable_when_rules() {
        let v = Validator::new(base(), Options::default());
        let q = |items: &str| {
            let json = format!(r#"{{"resourceType":"Questionnaire","status":"active","item":{items}}}"#);
            v.validate_bytes(json.as_bytes(), Some(Format::Json)).into_iter().filter(|i| i.severity.is_error()).map(|i| (i.expression, i.message)).collect::<Vec<_>>()
        };
        let ok = q(r#"[{"linkId":"a","type":"boolean"},{"linkId":"b","type":"boolean"},{"linkId":"c","type":"string","enableBehavior":"any",
            "enableWhen":[{"question":"a","operator":"exists","answerBoolean":true},{"question":"b","operator":"exists","answerBoolean":true}]}]"#);
        assert!(ok.is_empty(), "{ok:#?}");
        let e = q(r#"[{"linkId":"a","type":"boolean"},{"linkId":"b","type":"boolean"},{"linkId":"c","type":"string",
            "enableWhen":[{"question":"a","operator":"exists","answerBoolean":true},{"question":"b","operator":"exists","answerBoolean":true}]}]"#);
        assert!(e.iter().any(|(x, m)| x == "Questionnaire.item[2]" && m.contains("que-12")), "{e:#?}");
        let e = q(r#"[{"linkId":"g","type":"group","enableWhen":[{"question":"in","operator":"exists","answerBoolean":true}],"item":[{"linkId":"in","type":"boolean"}]}]"#);
        assert!(e.iter().any(|(x, m)| x == "Questionnaire.item[0]" && m.contains("inner question")), "{e:#?}");
        let e = q(r#"[{"linkId":"a","type":"boolean","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]},
            {"linkId":"b","type":"boolean","enableWhen":[{"question":"nowhere","operator":"exists","answerBoolean":true}]}]"#);
        assert!(e.iter().any(|(x, m)| x == "Questionnaire.item[0]" && m == "Target for this question enableWhen can't reference itself"), "{e:#?}");
        assert!(e.iter().any(|(x, m)| x == "Questionnaire.item[1]" && m == "Unable to find an item with the linkId 'nowhere' which is referenced in the enableWhen for 'b'"), "{e:#?}");
        // A later target is a warning; a target in an enclosing group or earlier is fine.
        let json = r#"{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"g","type":"group","item":[
            {"linkId":"x","type":"boolean","enableWhen":[{"question":"y","operator":"exists","answerBoolean":true}]},
            {"linkId":"y","type":"boolean","enableWhen":[{"question":"x","operator":"exists","answerBoolean":true}]}]}]}"#;
        let warnings: Vec<String> = v.validate_bytes(json.as_bytes(), Some(Format::Json)).into_iter().filter(|i| i.message.contains("comes after")).map(|i| i.expression).collect();
        assert_eq!(warnings, ["Questionnaire.item[0].item[0]"]);
    }
}
