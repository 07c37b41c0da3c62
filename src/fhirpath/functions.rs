//! The function library: existence, filtering, subsetting, combining,
//! conversion, strings, math, tree navigation, types, dates and the FHIR
//! additions (`extension`, `hasValue`, `resolve`, ...).

use super::eval::{compare, err, single_system, to_bool, Evaluator, Frame, Indexed, Res};
use super::membership::ItemIndex;
use super::membership::distinct;
use super::parser::{Expr, TypeSpec};
use super::value::{is_calendar_unit, parse_temporal, Item, Kind, Precision, Quantity, Temporal};
use super::EvalError;
use rust_decimal::prelude::*;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::rc::Rc;

type Out<'a> = Res<Vec<Item<'a>>>;

/// Rounds `repeat()` may take before it is stopped (its items are bounded
/// by the evaluator's collection limit, `eval::MAX_ITEMS`).
const MAX_REPEAT_ROUNDS: usize = 10_000;

struct Call<'c, 'e, 'a> {
    ev: &'c Evaluator<'e, 'a>,
    name: &'c str,
    args: &'c [Expr],
    /// The focus collection where the call is written, for arguments that are not lambdas.
    outer: &'c [Item<'a>],
    frame: &'c Frame<'a>,
    depth: usize,
}

impl<'c, 'e, 'a> Call<'c, 'e, 'a> {
    fn arity(&self, min: usize, max: usize) -> Res<()> {
        if self.args.len() < min || self.args.len() > max {
            return err(format!("{}() takes {} argument(s), not {}", self.name, if min == max { min.to_string() } else { format!("{min} to {max}") }, self.args.len()));
        }
        Ok(())
    }

    /// An argument evaluated in the caller's context.
    fn arg(&self, i: usize) -> Out<'a> {
        self.ev.eval(&self.args[i], self.outer, self.frame, self.depth)
    }

    /// An argument's value indexed for membership; a shared argument
    /// (`%resource.code.coding`) is evaluated and indexed once per evaluation.
    fn arg_index(&self, i: usize) -> Res<Rc<Indexed<'a>>> {
        self.ev.indexed(&self.args[i], self.outer, self.frame, self.depth)
    }

    fn arg_single(&self, i: usize) -> Res<Option<Item<'static>>> {
        single_system(&self.arg(i)?)
    }

    fn arg_string(&self, i: usize) -> Res<Option<String>> {
        match self.arg_single(i)? {
            None => Ok(None),
            Some(Item::String(s)) => Ok(Some(s)),
            Some(o) => err(format!("{}() needs a string argument, not {}", self.name, o.type_name())),
        }
    }

    fn arg_int(&self, i: usize) -> Res<Option<i64>> {
        match self.arg_single(i)? {
            None => Ok(None),
            Some(Item::Integer(n)) => Ok(Some(n)),
            Some(o) => err(format!("{}() needs an integer argument, not {}", self.name, o.type_name())),
        }
    }

    /// A lambda argument evaluated with `item` as `$this`.
    fn lambda(&self, i: usize, item: &Item<'a>, index: usize, total: Option<Vec<Item<'a>>>) -> Out<'a> {
        let frame = Frame { this: item.clone(), index: Some(index as i64), total };
        self.ev.eval(&self.args[i], std::slice::from_ref(item), &frame, self.depth)
    }

    fn type_arg(&self, i: usize) -> Res<TypeSpec> {
        type_spec(&self.args[i]).map_err(|_| EvalError::new(format!("{}() needs a type name", self.name)))
    }
}

/// A type name given as an argument: `Reference`, `FHIR.Reference`.
pub(super) fn type_spec(arg: &Expr) -> Res<TypeSpec> {
    match arg {
        Expr::Ident(n) => Ok(TypeSpec { namespace: None, name: n.clone() }),
        Expr::Member(ns, n) => match ns.as_ref() {
            Expr::Ident(ns) => Ok(TypeSpec { namespace: Some(ns.clone()), name: n.clone() }),
            _ => err("ofType() needs a type name"),
        },
        _ => err("ofType() needs a type name"),
    }
}

fn b<'a>(v: bool) -> Out<'a> {
    Ok(vec![Item::Boolean(v)])
}

fn opt<'a>(v: Option<Item<'a>>) -> Out<'a> {
    Ok(v.into_iter().collect())
}

/// The input as one string (primitive string nodes included); empty input gives `None`.
fn input_string<'i>(name: &str, input: &'i [Item<'_>]) -> Res<Option<std::borrow::Cow<'i, str>>> {
    if let [one] = input {
        if let Some(text) = one.string_text() {
            return Ok(Some(std::borrow::Cow::Borrowed(text)));
        }
    }
    match single_system(input).map_err(|e| EvalError::new(format!("{name}(): {}", e.message)))? {
        None => Ok(None),
        Some(Item::String(s)) => Ok(Some(std::borrow::Cow::Owned(s))),
        // FHIRPATH_STRING_SING_ONLY
        Some(o) => err(format!("Error evaluating FHIRPath expression: The function {name} can only be used on string, uri, url, code, id but found {}", o.type_name())),
    }
}

/// Distinct items, in order. Strings, booleans and numbers go through a hash
/// set (a Bundle's `isDistinct()` over 100,000 fullUrls must not be
/// quadratic); the rest are compared pairwise among themselves.
pub fn call<'e, 'a>(ev: &Evaluator<'e, 'a>, name: &str, base: &[Item<'a>], args: &[Expr], frame: &Frame<'a>, depth: usize, outer: &[Item<'a>]) -> Out<'a> {
    let c = Call { ev, name, args, outer, frame, depth };
    let input = base;
    match name {
        // ---------------------------------------------------------- existence
        "empty" => {
            c.arity(0, 0)?;
            b(input.is_empty())
        }
        "exists" => {
            c.arity(0, 1)?;
            if args.is_empty() {
                return b(!input.is_empty());
            }
            for (i, item) in input.iter().enumerate() {
                if to_bool(&c.lambda(0, item, i, None)?)? == Some(true) {
                    return b(true);
                }
            }
            b(false)
        }
        "all" => {
            c.arity(1, 1)?;
            for (i, item) in input.iter().enumerate() {
                if to_bool(&c.lambda(0, item, i, None)?)? != Some(true) {
                    return b(false);
                }
            }
            b(true)
        }
        "allTrue" | "anyTrue" | "allFalse" | "anyFalse" => {
            c.arity(0, 0)?;
            let mut vals = Vec::with_capacity(input.len());
            for i in input {
                match i.to_system() {
                    Some(Item::Boolean(v)) => vals.push(v),
                    _ => return err(format!("{name}() needs booleans, not {}", i.type_name())),
                }
            }
            b(match name {
                "allTrue" => vals.iter().all(|v| *v),
                "anyTrue" => vals.iter().any(|v| *v),
                "allFalse" => vals.iter().all(|v| !*v),
                _ => vals.iter().any(|v| !*v),
            })
        }
        "subsetOf" | "supersetOf" => {
            c.arity(1, 1)?;
            let other = c.arg(0)?;
            let (small, big) = if name == "subsetOf" { (input, other.as_slice()) } else { (other.as_slice(), input) };
            let index = ItemIndex::of(big);
            b(small.iter().all(|x| index.contains(big, x)))
        }
        "count" => {
            c.arity(0, 0)?;
            Ok(vec![Item::Integer(input.len() as i64)])
        }
        "distinct" => {
            c.arity(0, 0)?;
            Ok(distinct(input.to_vec()))
        }
        "isDistinct" => {
            c.arity(0, 0)?;
            b(distinct(input.to_vec()).len() == input.len())
        }
        // ---------------------------------------------------------- filtering
        "where" => {
            c.arity(1, 1)?;
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                if to_bool(&c.lambda(0, item, i, None)?)? == Some(true) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        "select" => {
            c.arity(1, 1)?;
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                out.extend(c.lambda(0, item, i, None)?);
            }
            Ok(out)
        }
        "repeat" => {
            c.arity(1, 1)?;
            let mut out: Vec<Item<'a>> = Vec::new();
            // Nodes are new by address; values by equality with what came before.
            let mut seen_nodes = std::collections::HashSet::new();
            let mut seen = ItemIndex::new();
            let mut queue: Vec<Item<'a>> = input.to_vec();
            let mut rounds = 0;
            while !queue.is_empty() {
                rounds += 1;
                if rounds > MAX_REPEAT_ROUNDS {
                    return err(format!("repeat() did not finish after {MAX_REPEAT_ROUNDS} rounds; the evaluation is stopped"));
                }
                let mut next = Vec::new();
                for (i, item) in queue.iter().enumerate() {
                    for r in c.lambda(0, item, i, None)? {
                        let new = match &r {
                            Item::Node { node, .. } => seen_nodes.insert(*node as *const _),
                            other => !seen.contains(&out, other),
                        };
                        if new {
                            seen.add(out.len(), &r);
                            out.push(r.clone());
                            next.push(r);
                            ev.check_size(out.len(), "repeat()")?;
                        }
                    }
                }
                queue = next;
            }
            Ok(out)
        }
        "ofType" => {
            c.arity(1, 1)?;
            let ts = c.type_arg(0)?;
            ev.of_type(input, &ts)
        }
        "is" | "as" => {
            c.arity(1, 1)?;
            if name == "is" && type_spec(&args[0]).is_err() {
                // Judged only on one item, as the reference does.
                if input.len() != 1 {
                    return Ok(vec![]);
                }
                let kind = match &args[0] {
                    Expr::Literal(_) => "Constant",
                    Expr::Call { .. } => "Function",
                    Expr::Negate(_) => "Unary",
                    _ => "Group",
                };
                // FHIRPATH_PARAM_WRONG
                return err(format!("Error evaluating FHIRPath expression: The expression type {kind} is not supported for parameter 0 on function is"));
            }
            let ts = c.type_arg(0)?;
            match input {
                [] => Ok(vec![]),
                [one] => {
                    if name == "is" {
                        b(ev.is_type(one, &ts)?)
                    } else if ev.is_exact_type(one, &ts)? {
                        Ok(vec![one.clone()])
                    } else {
                        Ok(vec![])
                    }
                }
                many if name == "as" && !ev.env.strict => {
                    let mut out = Vec::new();
                    for item in many {
                        if ev.is_exact_type(item, &ts)? {
                            out.push(item.clone());
                        }
                    }
                    Ok(out)
                }
                _ => err(format!("{name}() needs a single item")),
            }
        }
        // ---------------------------------------------------------- subsetting
        "single" => {
            c.arity(0, 0)?;
            match input.len() {
                0 | 1 => Ok(input.to_vec()),
                // FHIRPATH_NO_COLLECTION
                n => err(format!("Error evaluating FHIRPath expression: The function {} can only be used on a singleton value but found {n}", "single")),
            }
        }
        "first" => {
            c.arity(0, 0)?;
            Ok(input.first().cloned().into_iter().collect())
        }
        "last" => {
            c.arity(0, 0)?;
            Ok(input.last().cloned().into_iter().collect())
        }
        "tail" => {
            c.arity(0, 0)?;
            Ok(input.iter().skip(1).cloned().collect())
        }
        "skip" | "take" => {
            c.arity(1, 1)?;
            let Some(n) = c.arg_int(0)? else { return Ok(vec![]) };
            let n = n.max(0) as usize;
            Ok(if name == "skip" { input.iter().skip(n).cloned().collect() } else { input.iter().take(n).cloned().collect() })
        }
        "intersect" => {
            c.arity(1, 1)?;
            let other = c.arg_index(0)?;
            Ok(distinct(input.iter().filter(|x| other.contains(x)).cloned().collect()))
        }
        "exclude" => {
            c.arity(1, 1)?;
            let other = c.arg_index(0)?;
            Ok(input.iter().filter(|x| !other.contains(x)).cloned().collect())
        }
        "union" => {
            c.arity(1, 1)?;
            let mut all = input.to_vec();
            all.extend(c.arg(0)?);
            Ok(distinct(all))
        }
        "combine" => {
            c.arity(1, 1)?;
            let mut all = input.to_vec();
            all.extend(c.arg(0)?);
            Ok(all)
        }
        // ---------------------------------------------------------- utility
        "iif" => {
            c.arity(2, 3)?;
            if input.len() > 1 && !std::ptr::eq(input, outer) {
                // FHIRPATH_NO_COLLECTION
                return err(format!("Error evaluating FHIRPath expression: The function {} can only be used on a singleton value but found {}", "iif", input.len()));
            }
            let this = input.first().cloned().unwrap_or_else(|| frame.this.clone());
            let f = Frame { this, index: frame.index, total: frame.total.clone() };
            let cond = ev.eval(&args[0], input, &f, depth)?;
            let v = match cond.as_slice() {
                [] => None,
                [one] => match one.to_system() {
                    Some(Item::Boolean(v)) => Some(v),
                    _ => return err("iif() needs a boolean criterion"),
                },
                _ => return err("iif() needs a single boolean criterion"),
            };
            if v == Some(true) {
                ev.eval(&args[1], input, &f, depth)
            } else if args.len() == 3 {
                ev.eval(&args[2], input, &f, depth)
            } else {
                Ok(vec![])
            }
        }
        "not" => {
            c.arity(0, 0)?;
            Ok(to_bool(input)?.map(|v| Item::Boolean(!v)).into_iter().collect())
        }
        "trace" => {
            c.arity(1, 2)?;
            if tracing::enabled!(tracing::Level::DEBUG) {
                let label = c.arg_string(0)?.unwrap_or_default();
                let shown: Vec<String> = input.iter().map(|i| i.text().unwrap_or_else(|| i.type_name().to_string())).collect();
                tracing::debug!("trace {label}: {shown:?}");
            }
            Ok(input.to_vec())
        }
        "aggregate" => {
            c.arity(1, 2)?;
            let mut total = if args.len() == 2 { c.arg(1)? } else { vec![] };
            for (i, item) in input.iter().enumerate() {
                total = c.lambda(0, item, i, Some(total))?;
                ev.check_size(total.len(), "aggregate()'s $total")?;
            }
            Ok(total)
        }
        "sort" => {
            let mut keyed: Vec<(Vec<Option<Item<'static>>>, Item<'a>)> = Vec::with_capacity(input.len());
            for (i, item) in input.iter().enumerate() {
                let mut keys = Vec::new();
                for arg in args {
                    let key_expr = match arg {
                        Expr::Negate(inner) => inner.as_ref(),
                        e => e,
                    };
                    let frame = Frame { this: item.clone(), index: Some(i as i64), total: None };
                    let v = ev.eval(key_expr, std::slice::from_ref(item), &frame, depth)?;
                    if v.len() > 1 {
                        // FHIRPATH_MUTIPLE_VALUES_IN_SORT
                        return err(format!("Multiple values found in return from sort expression '{}'", super::check::render(key_expr)));
                    }
                    keys.push(single_system(&v)?);
                }
                if args.is_empty() {
                    keys.push(item.to_system());
                }
                keyed.push((keys, item.clone()));
            }
            let desc: Vec<bool> = args.iter().map(|a| matches!(a, Expr::Negate(_))).collect();
            let mut failed = None;
            keyed.sort_by(|x, y| {
                for (k, (a, bb)) in x.0.iter().zip(&y.0).enumerate() {
                    let o = match (a, bb) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Greater,
                        (Some(_), None) => Ordering::Less,
                        (Some(a), Some(bb)) => match compare(a, bb) {
                            Ok(Some(o)) => o,
                            Ok(None) if a.type_name() == bb.type_name() => Ordering::Equal,
                            _ => {
                                let sorter = args.get(k).map(|a| match a {
                                    Expr::Negate(inner) => super::check::render(inner),
                                    e => super::check::render(e),
                                });
                                failed.get_or_insert_with(|| match sorter {
                                    // FHIRPATH_MUTIPLE_SORT_TYPE_PROBLEM
                                    Some(sorter) => EvalError::new(format!(
                                        "Cannot sort the list because the sort expression return both a '{}' and a '{}' (expression = '{sorter}')",
                                        a.type_name(),
                                        bb.type_name()
                                    )),
                                    // FHIRPATH_MUTIPLE_SORT_TYPE_PROBLEM_NATURAL
                                    None => EvalError::new(format!("Cannot sort a list that contains both a '{}' and a '{}' using natural sort order", a.type_name(), bb.type_name())),
                                });
                                Ordering::Equal
                            }
                        },
                    };
                    let o = if desc.get(k).copied().unwrap_or(false) { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            if let Some(e) = failed {
                return Err(e);
            }
            Ok(keyed.into_iter().map(|(_, i)| i).collect())
        }
        "now" => {
            c.arity(0, 0)?;
            Ok(vec![Item::DateTime(now(Precision::Millis, Kind::DateTime))])
        }
        "today" => {
            c.arity(0, 0)?;
            Ok(vec![Item::Date(now(Precision::Day, Kind::Date))])
        }
        "timeOfDay" => {
            c.arity(0, 0)?;
            let mut t = now(Precision::Millis, Kind::Time);
            t.tz = None;
            Ok(vec![Item::Time(t)])
        }
        "type" => {
            c.arity(0, 0)?;
            Ok(input
                .iter()
                .map(|i| match i {
                    Item::Node { type_name, node, .. } => Item::Type { namespace: "FHIR".into(), name: node.resource_type.as_deref().unwrap_or(type_name).to_string() },
                    other => Item::Type { namespace: "System".into(), name: other.system_type().unwrap_or("Any").to_string() },
                })
                .collect())
        }
        // ---------------------------------------------------------- tree
        "children" => {
            c.arity(0, 0)?;
            let mut out = Vec::new();
            for i in input {
                ev.children_of(i, &mut out);
            }
            Ok(out)
        }
        "descendants" => {
            c.arity(0, 0)?;
            let mut out = Vec::new();
            let mut stack: Vec<Item<'a>> = Vec::new();
            let mut kids = Vec::new();
            for i in input.iter().rev() {
                ev.children_of(i, &mut kids);
                stack.extend(kids.drain(..).rev());
            }
            while let Some(i) = stack.pop() {
                ev.children_of(&i, &mut kids);
                out.push(i);
                stack.extend(kids.drain(..).rev());
            }
            Ok(out)
        }
        // ---------------------------------------------------------- FHIR
        "extension" => {
            c.arity(1, 1)?;
            let Some(url) = c.arg_string(0)? else { return Ok(vec![]) };
            let mut out = Vec::new();
            for i in input {
                if let Item::Node { node, .. } = i {
                    for e in node.children_named("extension") {
                        if e.child_text("url") == Some(url.as_str()) {
                            out.push(Item::node(e, "Extension"));
                        }
                    }
                }
            }
            Ok(out)
        }
        "hasValue" => {
            c.arity(0, 0)?;
            b(matches!(input, [Item::Node { node, type_name, .. }] if node.value.is_some() && (super::value::is_primitive_type(type_name) || type_name.is_empty())))
        }
        "getValue" => {
            c.arity(0, 0)?;
            match input {
                [i @ Item::Node { node, .. }] if node.value.is_some() => opt(i.to_system()),
                _ => Ok(vec![]),
            }
        }
        "resolve" => {
            c.arity(0, 0)?;
            let mut out = Vec::new();
            for i in input {
                let reference = match i {
                    Item::Node { node, .. } if node.value.is_none() => node.child_text("reference").map(str::to_string),
                    other => other.text(),
                };
                if let Some(r) = reference {
                    if let Some(n) = resolve(ev, &r) {
                        out.push(Item::node(n, n.resource_type.as_deref().unwrap_or("")));
                    }
                }
            }
            Ok(out)
        }
        "htmlChecks" | "htmlChecks1" | "htmlChecks2" => b(true),
        "conformsTo" => {
            c.arity(1, 1)?;
            let Some(url) = c.arg_string(0)? else { return Ok(vec![]) };
            let Some(sd) = ev.env.ctx.structure(&url) else { return err(format!("conformsTo(): unknown profile {url}")) };
            let mut out = Vec::new();
            for i in input {
                let Item::Node { node, type_name, .. } = i else { out.push(Item::Boolean(false)); continue };
                let tn = node.resource_type.as_deref().unwrap_or(type_name);
                if sd.type_name != tn {
                    out.push(Item::Boolean(false));
                } else if sd.derivation.as_deref() != Some("constraint") {
                    out.push(Item::Boolean(true));
                } else if let Some(check) = ev.env.conforms_to {
                    out.push(Item::Boolean(check(node, &url)));
                }
            }
            Ok(out)
        }
        "memberOf" => {
            c.arity(1, 1)?;
            let Some(vs) = c.arg_string(0)? else { return Ok(vec![]) };
            let Some(member) = ev.env.member_of else { return Ok(vec![]) };
            let [item] = input else { return if input.is_empty() { Ok(vec![]) } else { err("memberOf() needs a single item") } };
            // A code, a Coding, or a CodeableConcept (any of its codings).
            let answer = match item {
                Item::Node { node, type_name, .. } => match type_name.as_str() {
                    "Coding" => node.child_text("code").and_then(|code| member(node.child_text("system"), code, &vs)),
                    "CodeableConcept" => {
                        let answers: Vec<Option<bool>> = node.children_named("coding").filter_map(|cd| cd.child_text("code").map(|code| member(cd.child_text("system"), code, &vs))).collect();
                        if answers.contains(&Some(true)) {
                            Some(true)
                        } else if !answers.is_empty() && answers.iter().all(|a| *a == Some(false)) {
                            Some(false)
                        } else {
                            None
                        }
                    }
                    _ => node.text().and_then(|code| member(None, code, &vs)),
                },
                Item::String(code) => member(None, code, &vs),
                _ => None,
            };
            Ok(answer.map(|b| vec![Item::Boolean(b)]).unwrap_or_default())
        }
        "subsumes" | "subsumedBy" | "elementDefinition" | "slice" | "checkModifiers" => Ok(vec![]),
        // ---------------------------------------------------------- conversion
        "toBoolean" | "convertsToBoolean" => conv(name, input, to_boolean),
        "toInteger" | "convertsToInteger" => conv(name, input, to_integer),
        "toDecimal" | "convertsToDecimal" => conv(name, input, to_decimal),
        "toString" | "convertsToString" => conv(name, input, to_string),
        "toDate" | "convertsToDate" => conv(name, input, to_date),
        "toDateTime" | "convertsToDateTime" => conv(name, input, to_datetime),
        "toTime" | "convertsToTime" => conv(name, input, to_time),
        "toQuantity" | "convertsToQuantity" => {
            c.arity(0, 1)?;
            let unit = if args.is_empty() { None } else { c.arg_string(0)? };
            let q = match single_system(input)? {
                None => return Ok(vec![]),
                Some(v) => to_quantity(v),
            };
            let q = match (q, unit) {
                (Some(Item::Quantity(q)), Some(u)) if q.unit != u => {
                    let target = Quantity { value: Decimal::ONE, unit: u.clone() };
                    match q.align(&target) {
                        Some((v, f)) => f.checked_mul(Decimal::ONE).and_then(|_| v.checked_div(super::value::canonical_unit(&u).map(|c| c.factor).unwrap_or(Decimal::ONE))).map(|v| Item::Quantity(Quantity { value: v, unit: u })),
                        None => None,
                    }
                }
                (q, _) => q,
            };
            if name.starts_with("convertsTo") {
                b(q.is_some())
            } else {
                opt(q)
            }
        }
        // ---------------------------------------------------------- strings
        "indexOf" | "startsWith" | "endsWith" | "contains" | "matches" | "matchesFull" | "split" => {
            c.arity(1, 1)?;
            let s = input_string(name, input)?;
            let Some(arg) = c.arg_string(0)? else { return Ok(vec![]) };
            let Some(s) = s else { return Ok(vec![]) };
            match name {
                "indexOf" => Ok(vec![Item::Integer(s.find(&arg).map(|i| s[..i].chars().count() as i64).unwrap_or(-1))]),
                "startsWith" => b(s.starts_with(&arg)),
                "endsWith" => b(s.ends_with(&arg)),
                "contains" => b(s.contains(&arg)),
                "matches" => b(regex(&arg, false)?.is_match(&s)),
                "matchesFull" => b(regex(&arg, true)?.is_match(&s)),
                _ => Ok(s.split(arg.as_str()).map(|p| Item::String(p.to_string())).collect()),
            }
        }
        "substring" => {
            c.arity(1, 2)?;
            let s = input_string(name, input)?;
            let Some(start) = c.arg_int(0)? else { return Ok(vec![]) };
            let len = if args.len() == 2 { c.arg_int(1)? } else { None };
            let Some(s) = s else { return Ok(vec![]) };
            let chars: Vec<char> = s.chars().collect();
            if start < 0 || start as usize >= chars.len() {
                return Ok(vec![]);
            }
            let start = start as usize;
            let end = match len {
                Some(l) => start.saturating_add(l.max(0) as usize).min(chars.len()),
                None => chars.len(),
            };
            Ok(vec![Item::String(chars[start..end].iter().collect())])
        }
        "upper" | "lower" | "length" | "toChars" | "trim" => {
            c.arity(0, 0)?;
            let Some(s) = input_string(name, input)? else { return Ok(vec![]) };
            Ok(match name {
                "upper" => vec![Item::String(s.to_uppercase())],
                "lower" => vec![Item::String(s.to_lowercase())],
                "length" => vec![Item::Integer(s.chars().count() as i64)],
                "trim" => vec![Item::String(s.trim().to_string())],
                _ => s.chars().map(|ch| Item::String(ch.to_string())).collect(),
            })
        }
        "replace" | "replaceMatches" => {
            c.arity(2, 2)?;
            let s = input_string(name, input)?;
            let (Some(pat), Some(with)) = (c.arg_string(0)?, c.arg_string(1)?) else { return Ok(vec![]) };
            let Some(s) = s else { return Ok(vec![]) };
            if name == "replace" {
                return Ok(vec![Item::String(s.replace(&pat, &with))]);
            }
            if pat.is_empty() {
                return Ok(vec![Item::String(s.into_owned())]);
            }
            Ok(vec![Item::String(regex(&pat, false)?.replace_all(&s, with.as_str()).into_owned())])
        }
        "join" => {
            c.arity(0, 1)?;
            let sep = if args.is_empty() { String::new() } else { c.arg_string(0)?.unwrap_or_default() };
            let mut parts = Vec::new();
            for i in input {
                match i.to_system() {
                    Some(Item::String(s)) => parts.push(s),
                    _ => return err("join() needs strings"),
                }
            }
            Ok(vec![Item::String(parts.join(&sep))])
        }
        "encode" | "decode" | "escape" | "unescape" => {
            c.arity(1, 1)?;
            let s = input_string(name, input)?;
            let Some(fmt) = c.arg_string(0)? else { return Ok(vec![]) };
            let Some(s) = s else { return Ok(vec![]) };
            opt(codec(name, &fmt, &s).map(Item::String))
        }
        // ---------------------------------------------------------- math
        "abs" | "ceiling" | "floor" | "truncate" | "exp" | "ln" | "sqrt" => {
            c.arity(0, 0)?;
            let Some(v) = single_system(input)? else { return Ok(vec![]) };
            math1(name, v)
        }
        "round" => {
            c.arity(0, 1)?;
            let Some(v) = single_system(input)? else { return Ok(vec![]) };
            let p = if args.is_empty() { 0 } else { c.arg_int(0)?.unwrap_or(0) };
            if p < 0 {
                return err("round() needs a precision of 0 or more");
            }
            match v {
                Item::Integer(i) => Ok(vec![Item::Decimal(Decimal::from(i))]),
                Item::Decimal(d) => Ok(vec![Item::Decimal(d.round_dp_with_strategy(p as u32, RoundingStrategy::MidpointAwayFromZero))]),
                o => err(format!("round() needs a number, not {}", o.type_name())),
            }
        }
        "log" | "power" => {
            c.arity(1, 1)?;
            let Some(v) = single_system(input)? else { return Ok(vec![]) };
            let Some(a) = c.arg_single(0)? else { return Ok(vec![]) };
            if name == "power" {
                if let (Item::Integer(x), Item::Integer(y)) = (&v, &a) {
                    if *y >= 0 {
                        return opt(u32::try_from(*y).ok().and_then(|y| x.checked_pow(y)).map(Item::Integer));
                    }
                }
            }
            let (Some(x), Some(y)) = (to_f64(&v), to_f64(&a)) else { return err(format!("{name}() needs numbers")) };
            let r = if name == "log" { x.log(y) } else { x.powf(y) };
            opt(from_f64(r).map(Item::Decimal))
        }
        "precision" => {
            c.arity(0, 0)?;
            match single_system(input)? {
                None => Ok(vec![]),
                Some(Item::Decimal(d)) => Ok(vec![Item::Integer(d.scale() as i64)]),
                Some(Item::Integer(_)) => Ok(vec![Item::Integer(0)]),
                Some(Item::Date(t) | Item::DateTime(t) | Item::Time(t)) => Ok(vec![Item::Integer(t.precision_digits())]),
                Some(o) => err(format!("precision() does not apply to {}", o.type_name())),
            }
        }
        "lowBoundary" | "highBoundary" => {
            c.arity(0, 1)?;
            let p = if args.is_empty() { None } else { c.arg_int(0)? };
            let Some(v) = single_system(input)? else { return Ok(vec![]) };
            Ok(boundary(v, p, name == "highBoundary").into_iter().collect())
        }
        "check" => {
            // check(condition, message): the input, unless the condition is not true.
            c.arity(2, 2)?;
            if to_bool(&c.arg(0)?)? != Some(true) {
                let message = c.arg_string(1)?.unwrap_or_default();
                // FHIRPATH_CHECK_FAILED
                return err(format!("Error evaluating FHIRPath expression: Check failed with message '{message}'"));
            }
            Ok(input.to_vec())
        }
        "comparable" => {
            c.arity(1, 1)?;
            let (Some(Item::Quantity(a)), Some(Item::Quantity(o))) = (single_system(input)?, c.arg_single(0)?) else { return Ok(vec![]) };
            b(a.align(&o).is_some())
        }
        _ => err(format!("unknown function {name}()")),
    }
}

fn now(p: Precision, kind: Kind) -> Temporal {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = super::value::civil_from_days(days);
    Temporal {
        kind,
        year: y,
        month: m,
        day: d,
        hour: (rem / 3_600_000) as u8,
        minute: (rem / 60_000 % 60) as u8,
        second: (rem / 1000 % 60) as u8,
        millis: (rem % 1000) as u16,
        precision: p,
        tz: if kind == Kind::DateTime { Some(0) } else { None },
    }
}

/// A regular expression compiled once for the process (the validator's
/// `regex` extensions share the FHIRPath engine's cache); `full`: it must
/// match the whole text.
pub(crate) fn compiled_regex(pattern: &str, full: bool) -> Result<std::sync::Arc<regex::Regex>, String> {
    regex(pattern, full).map_err(|e| e.message)
}

/// Compiled regular expressions, shared by every evaluation (invariants use
/// a handful of patterns millions of times).
/// Shared through an `Arc`: a cloned `Regex` starts with empty match caches,
/// which made every evaluation pay for building them again.
fn regex(pattern: &str, full: bool) -> Res<std::sync::Arc<regex::Regex>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Compiled = HashMap<(String, bool), std::sync::Arc<regex::Regex>>;
    static CACHE: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (pattern.to_string(), full);
    if let Some(r) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(r);
    }
    let p = if full { format!("(?s)^(?:{pattern})$") } else { format!("(?s){pattern}") };
    let r = std::sync::Arc::new(regex::RegexBuilder::new(&p).size_limit(1 << 20).build().map_err(|e| EvalError::new(format!("invalid regular expression '{pattern}': {e}")))?);
    if let Ok(mut c) = cache.lock() {
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(key, r.clone());
    }
    Ok(r)
}

fn resolve<'a>(ev: &Evaluator<'_, 'a>, reference: &str) -> Option<&'a crate::tree::Node> {
    if let Some(id) = reference.strip_prefix('#') {
        let holder = ev.env.resource.or(ev.focus)?;
        return match ev.env.cache {
            Some(cache) => cache.contained(holder, id),
            None => holder.children_named("contained").find(|c| c.child_text("id") == Some(id)),
        };
    }
    let bundle = ev.env.bundle?;
    for entry in bundle.children_named("entry") {
        let Some(res) = entry.child("resource") else { continue };
        if entry.child_text("fullUrl") == Some(reference) {
            return Some(res);
        }
        if let (Some(rt), Some(id)) = (res.resource_type.as_deref(), res.child_text("id")) {
            let tail = format!("{rt}/{id}");
            if reference == tail || reference.ends_with(&format!("/{tail}")) {
                return Some(res);
            }
        }
    }
    None
}

fn conv<'a>(name: &str, input: &[Item<'a>], f: fn(Item<'static>) -> Option<Item<'static>>) -> Out<'a> {
    let v = match input {
        [] => return Ok(vec![]),
        [one] => match one.to_system() {
            Some(v) => v,
            None => return if name.starts_with("convertsTo") { b(false) } else { Ok(vec![]) },
        },
        _ => return err(format!("{name}() needs a single item")),
    };
    let r = f(v);
    if name.starts_with("convertsTo") {
        b(r.is_some())
    } else {
        opt(r)
    }
}

fn to_boolean(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::Boolean(x) => Some(Item::Boolean(x)),
        Item::Integer(1) => Some(Item::Boolean(true)),
        Item::Integer(0) => Some(Item::Boolean(false)),
        Item::Decimal(d) if d == Decimal::ONE => Some(Item::Boolean(true)),
        Item::Decimal(d) if d.is_zero() => Some(Item::Boolean(false)),
        Item::String(s) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(Item::Boolean(true)),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Some(Item::Boolean(false)),
            _ => None,
        },
        _ => None,
    }
}

fn is_integer_text(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal_text(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    match d.split_once('.') {
        Some((a, f)) => !a.is_empty() && !f.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) && f.bytes().all(|b| b.is_ascii_digit()),
        None => is_integer_text(d),
    }
}

fn to_integer(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::Integer(i) => Some(Item::Integer(i)),
        Item::Boolean(x) => Some(Item::Integer(x as i64)),
        Item::String(s) if is_integer_text(&s) => s.parse().ok().map(Item::Integer),
        _ => None,
    }
}

fn to_decimal(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::Integer(i) => Some(Item::Decimal(Decimal::from(i))),
        Item::Decimal(d) => Some(Item::Decimal(d)),
        Item::Boolean(x) => Some(Item::Decimal(if x { Decimal::ONE } else { Decimal::ZERO })),
        Item::String(s) if is_decimal_text(&s) => Decimal::from_str(&s).ok().map(Item::Decimal),
        _ => None,
    }
}

fn to_string(v: Item<'static>) -> Option<Item<'static>> {
    v.text().map(Item::String)
}

fn to_date(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::Date(t) => Some(Item::Date(t)),
        Item::DateTime(mut t) => {
            t.kind = Kind::Date;
            t.precision = t.precision.min(Precision::Day);
            t.tz = None;
            Some(Item::Date(t))
        }
        Item::String(s) => parse_temporal(&s, Kind::Date).or_else(|| to_date(Item::DateTime(parse_temporal(&s, Kind::DateTime)?)).and_then(|i| if let Item::Date(t) = i { Some(t) } else { None })).map(Item::Date),
        _ => None,
    }
}

fn to_datetime(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::DateTime(t) => Some(Item::DateTime(t)),
        Item::Date(mut t) => {
            t.kind = Kind::DateTime;
            Some(Item::DateTime(t))
        }
        Item::String(s) => parse_temporal(&s, Kind::DateTime).map(Item::DateTime),
        _ => None,
    }
}

fn to_time(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::Time(t) => Some(Item::Time(t)),
        Item::String(s) => parse_temporal(s.strip_prefix('T').unwrap_or(&s), Kind::Time).map(Item::Time),
        _ => None,
    }
}

fn to_quantity(v: Item<'static>) -> Option<Item<'static>> {
    match v {
        Item::Quantity(q) => Some(Item::Quantity(q)),
        Item::Integer(i) => Some(Item::Quantity(Quantity { value: Decimal::from(i), unit: "1".into() })),
        Item::Decimal(d) => Some(Item::Quantity(Quantity { value: d, unit: "1".into() })),
        Item::Boolean(x) => Some(Item::Quantity(Quantity { value: if x { Decimal::ONE } else { Decimal::ZERO }, unit: "1".into() })),
        Item::String(s) => {
            let s = s.trim();
            let (num, unit) = match s.find([' ', '\'']) {
                Some(i) => (&s[..i], s[i..].trim()),
                None => (s, ""),
            };
            if !is_decimal_text(num) {
                return None;
            }
            let value = Decimal::from_str(num).ok()?;
            let unit = if unit.is_empty() {
                "1".to_string()
            } else if let Some(u) = unit.strip_prefix('\'').and_then(|u| u.strip_suffix('\'')) {
                u.to_string()
            } else if is_calendar_unit(unit) {
                unit.to_string()
            } else {
                return None;
            };
            Some(Item::Quantity(Quantity { value, unit }))
        }
        _ => None,
    }
}

fn to_f64(v: &Item<'_>) -> Option<f64> {
    match v {
        Item::Integer(i) => Some(*i as f64),
        Item::Decimal(d) => d.to_f64(),
        _ => None,
    }
}

fn from_f64(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    let d = Decimal::from_str(&format!("{f}")).ok().or_else(|| Decimal::from_f64(f))?;
    Some(d.round_dp(14).normalize())
}

fn math1<'a>(name: &str, v: Item<'static>) -> Out<'a> {
    let one = |i: Item<'static>| Ok(vec![i]);
    match (name, v) {
        ("abs", Item::Integer(i)) => one(Item::Integer(i.checked_abs().ok_or_else(|| EvalError::new("integer overflow"))?)),
        ("abs", Item::Decimal(d)) => one(Item::Decimal(d.abs())),
        ("abs", Item::Quantity(q)) => one(Item::Quantity(Quantity { value: q.value.abs(), unit: q.unit })),
        ("ceiling" | "floor" | "truncate", Item::Integer(i)) => one(Item::Integer(i)),
        ("ceiling" | "floor" | "truncate", Item::Decimal(d)) => {
            let r = match name {
                "ceiling" => d.ceil(),
                "floor" => d.floor(),
                _ => d.trunc(),
            };
            opt(r.to_i64().map(Item::Integer))
        }
        (_, v) => {
            let Some(x) = to_f64(&v) else { return err(format!("{name}() needs a number, not {}", v.type_name())) };
            let r = match name {
                "exp" => x.exp(),
                "ln" => x.ln(),
                _ => x.sqrt(),
            };
            opt(from_f64(r).map(Item::Decimal))
        }
    }
}

fn boundary(v: Item<'static>, precision: Option<i64>, high: bool) -> Option<Item<'static>> {
    match v {
        Item::Integer(i) => boundary(Item::Decimal(Decimal::from(i)), precision, high),
        Item::Decimal(d) => {
            let p = precision.unwrap_or(8);
            if !(0..=28).contains(&p) {
                return None;
            }
            let half = Decimal::new(5, d.scale() + 1);
            let edge = if high { d.checked_add(half)? } else { d.checked_sub(half)? };
            let p = p as u32;
            let r = if p >= edge.scale() {
                let mut e = edge;
                e.rescale(p);
                e
            } else if high {
                edge.round_dp_with_strategy(p, RoundingStrategy::ToPositiveInfinity)
            } else {
                edge.round_dp_with_strategy(p, RoundingStrategy::ToNegativeInfinity)
            };
            let mut r = r;
            r.rescale(p);
            Some(Item::Decimal(r))
        }
        Item::Quantity(q) => match boundary(Item::Decimal(q.value), precision, high)? {
            Item::Decimal(d) => Some(Item::Quantity(Quantity { value: d, unit: q.unit })),
            _ => None,
        },
        Item::Date(t) | Item::DateTime(t) | Item::Time(t) => {
            let mut t = t;
            if t.kind == Kind::DateTime && t.precision == Precision::Hour {
                // `T08` is not a FHIR time: it stands for `T08:00`.
                t.precision = Precision::Minute;
            }
            let digits = precision.unwrap_or(if t.kind == Kind::Time { 9 } else { 17 });
            let target = match (t.kind, digits) {
                (Kind::Time, 2) => Precision::Hour,
                (Kind::Time, 4) => Precision::Minute,
                (Kind::Time, 6) => Precision::Second,
                (Kind::Time, 9) => Precision::Millis,
                (Kind::Time, _) => return None,
                (_, 4) => Precision::Year,
                (_, 6) => Precision::Month,
                (_, 8) => Precision::Day,
                (Kind::Date, _) => return None,
                (_, 10) => Precision::Hour,
                (_, 12) => Precision::Minute,
                (_, 14) => Precision::Second,
                (_, 17) => Precision::Millis,
                _ => return None,
            };
            if t.precision < Precision::Month {
                t.month = if high { 12 } else { 1 };
            }
            if t.precision < Precision::Day {
                t.day = if high { super::value::days_in_month(t.year, t.month) } else { 1 };
            }
            if t.precision < Precision::Hour {
                t.hour = if high { 23 } else { 0 };
            }
            if t.precision < Precision::Minute {
                t.minute = if high { 59 } else { 0 };
            }
            if t.precision < Precision::Second {
                t.second = if high { 59 } else { 0 };
            }
            if t.precision < Precision::Millis {
                t.millis = if high { 999 } else { 0 };
            }
            if t.kind == Kind::DateTime && target >= Precision::Hour && t.tz.is_none() {
                t.tz = Some(if high { -12 * 60 } else { 14 * 60 });
            }
            t.precision = target;
            if t.kind == Kind::DateTime && target <= Precision::Day {
                t.kind = Kind::Date;
                return Some(Item::Date(t));
            }
            Some(match t.kind {
                Kind::Date => Item::Date(t),
                Kind::DateTime => Item::DateTime(t),
                Kind::Time => Item::Time(t),
            })
        }
        _ => None,
    }
}

fn codec(op: &str, fmt: &str, s: &str) -> Option<String> {
    use base64::Engine;
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE;
    match (op, fmt) {
        ("encode", "base64") => Some(std.encode(s)),
        ("encode", "urlbase64") => Some(url.encode(s)),
        ("encode", "hex") => Some(s.bytes().map(|b| format!("{b:02x}")).collect()),
        ("decode", "base64") => String::from_utf8(std.decode(s).ok()?).ok(),
        ("decode", "urlbase64") => String::from_utf8(url.decode(s).ok()?).ok(),
        ("decode", "hex") => {
            if s.len() % 2 != 0 {
                return None;
            }
            let bytes: Option<Vec<u8>> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect();
            String::from_utf8(bytes?).ok()
        }
        ("escape", "html") => Some(s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")),
        ("unescape", "html") => Some(s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")),
        ("escape", "json") => Some(s.replace('\\', "\\\\").replace('"', "\\\"")),
        ("unescape", "json") => Some(s.replace("\\\"", "\"").replace("\\\\", "\\")),
        _ => None,
    }
}

