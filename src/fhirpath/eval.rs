//! The evaluator: paths over typed nodes, operators, and the comparisons
//! every operator and function shares.

use super::parser::{BinOp, Expr, Literal, TypeSpec};
use super::value::{ElemRef, Item, Kind, Quantity};
use super::{EvalContext, EvalError};
use crate::structure::StructureDef;
use crate::tree::Node;
use compact_str::CompactString;
use rust_decimal::prelude::*;
use rust_decimal::Decimal;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::sync::Arc;
use std::rc::Rc;
use super::membership::ItemIndex;

pub type Res<T> = Result<T, EvalError>;

pub fn err<T>(msg: impl Into<String>) -> Res<T> {
    Err(EvalError::new(msg))
}

/// `$this`, `$index` and `$total` where a function evaluates its argument.
#[derive(Clone)]
pub struct Frame<'a> {
    pub this: Item<'a>,
    pub index: Option<i64>,
    pub total: Option<Vec<Item<'a>>>,
}

pub struct Evaluator<'e, 'a> {
    pub env: &'e EvalContext<'a>,
    pub focus: Option<&'a Node>,
    pub focus_type: CompactString,
    pub no_focus: bool,
    types: RefCell<Vec<(CompactString, Option<Arc<StructureDef>>)>>,
    /// Values of the [`Expr::Shared`] subexpressions met so far, by address.
    shared: RefCell<Vec<(*const Expr, Rc<Indexed<'a>>)>>,
    /// The most items one collection may hold here; worked out the first
    /// time a collection passes [`MAX_ITEMS`].
    allowance: Cell<Option<usize>>,
}

const MAX_DEPTH: usize = 200;

/// The size a collection may always reach. Navigation stays within the
/// resource, but computed values can grow without end (`repeat()` over new
/// numbers, `aggregate()`, selects that double at each step): a collection
/// past this many items, and past [`ITEMS_PER_NODE`] for each node of the
/// resource, stops the evaluation with an error.
pub const MAX_ITEMS: usize = 100_000;
/// Items a collection may hold per node of the resource, so that
/// expressions over large Bundles (a value per entry) are not stopped.
pub const ITEMS_PER_NODE: usize = 4;

impl<'e, 'a> Evaluator<'e, 'a> {
    pub fn new(env: &'e EvalContext<'a>, focus: &'a Node, focus_type: &str) -> Self {
        Evaluator { env, focus: Some(focus), focus_type: focus_type.into(), no_focus: false, types: RefCell::new(Vec::new()), shared: RefCell::new(Vec::new()), allowance: Cell::new(None) }
    }

    pub fn new_empty(env: &'e EvalContext<'a>) -> Self {
        Evaluator { env, focus: None, focus_type: CompactString::default(), no_focus: false, types: RefCell::new(Vec::new()), shared: RefCell::new(Vec::new()), allowance: Cell::new(None) }
    }

    pub fn run(&self, expr: &Expr, focus: Item<'a>) -> Res<Vec<Item<'a>>> {
        let input = if self.no_focus { vec![] } else { vec![focus.clone()] };
        let frame = Frame { this: focus, index: None, total: None };
        self.eval(expr, &input, &frame, 0)
    }

    /// The compiled definition of a FHIR type, cached for this evaluation.
    pub fn type_def(&self, name: &str) -> Option<Arc<StructureDef>> {
        if name.is_empty() {
            return None;
        }
        if let Some(cache) = self.env.cache {
            return cache.type_definition(self.env.ctx, name);
        }
        if let Some((_, d)) = self.types.borrow().iter().find(|(n, _)| n == name) {
            return d.clone();
        }
        let d = self.env.ctx.type_definition(name);
        self.types.borrow_mut().push((name.into(), d.clone()));
        d
    }

    /// Errs once a collection of `len` items passes what this evaluation
    /// allows; `what` names the growing collection in the message.
    pub fn check_size(&self, len: usize, what: &str) -> Res<()> {
        if len <= MAX_ITEMS {
            return Ok(());
        }
        let allowed = match self.allowance.get() {
            Some(a) => a,
            None => {
                let root = self.env.root_resource.or(self.env.resource).or(self.focus);
                let a = MAX_ITEMS.max(ITEMS_PER_NODE.saturating_mul(root.map_or(0, tree_size)));
                self.allowance.set(Some(a));
                a
            }
        };
        if len <= allowed {
            return Ok(());
        }
        err(format!(
            "{what} grows past {allowed} items, the most one FHIRPath collection may hold here ({MAX_ITEMS}, or {ITEMS_PER_NODE} per element of the resource when that is more); the evaluation is stopped"
        ))
    }

    pub fn eval(&self, expr: &Expr, input: &[Item<'a>], frame: &Frame<'a>, depth: usize) -> Res<Vec<Item<'a>>> {
        let out = self.eval_expr(expr, input, frame, depth)?;
        self.check_size(out.len(), "a collection")?;
        Ok(out)
    }

    fn eval_expr(&self, expr: &Expr, input: &[Item<'a>], frame: &Frame<'a>, depth: usize) -> Res<Vec<Item<'a>>> {
        if depth > MAX_DEPTH {
            return err("expression nested too deeply");
        }
        let d = depth + 1;
        match expr {
            Expr::Empty => Ok(vec![]),
            Expr::Literal(l) => Ok(vec![literal(l)]),
            Expr::This => Ok(if self.no_focus && frame.index.is_none() && frame.total.is_none() && depth == 0 { vec![] } else { vec![frame.this.clone()] }),
            Expr::IndexVar => Ok(frame.index.map(Item::Integer).into_iter().collect()),
            Expr::Total => Ok(frame.total.clone().unwrap_or_default()),
            Expr::External(name) => self.external(name),
            Expr::Ident(name) => {
                let mut out = Vec::new();
                // A type name at the start of a path selects the focus when it is of that type.
                if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    let matching: Vec<Item<'a>> = input.iter().filter(|i| matches!(i, Item::Node { type_name, node, .. } if type_name == name || node.resource_type.as_deref() == Some(name))).cloned().collect();
                    if !matching.is_empty() {
                        return Ok(matching);
                    }
                    if self.env.strict {
                        if let Some(Item::Node { node, .. }) = input.first() {
                            if node.resource_type.is_some() && self.type_def(name).is_some_and(|sd| sd.is_resource()) {
                                return err(format!("the focus is not a {name}"));
                            }
                        }
                    }
                }
                self.navigate_all(input, name, &mut out)?;
                Ok(out)
            }
            Expr::Member(target, name) => {
                let base = self.eval(target, input, frame, d)?;
                let mut out = Vec::new();
                self.navigate_all(&base, name, &mut out)?;
                Ok(out)
            }
            Expr::Index(target, ix) => {
                let base = self.eval(target, input, frame, d)?;
                let ix = self.eval(ix, input, frame, d)?;
                let i = match single_system(&ix)? {
                    None => return Ok(vec![]),
                    Some(Item::Integer(i)) => i,
                    Some(_) => return err("an index must be an integer"),
                };
                Ok(if i >= 0 { base.into_iter().nth(i as usize).into_iter().collect() } else { vec![] })
            }
            Expr::Call { target, name, args } => match target {
                Some(t) => {
                    if self.env.strict && matches!(name.as_str(), "skip" | "take" | "first" | "last" | "tail" | "single") {
                        if let Expr::Call { name: inner, .. } = t.as_ref() {
                            if inner == "children" || inner == "descendants" {
                                return err(format!("{name}() needs an ordered collection, and {inner}() is unordered"));
                            }
                        }
                    }
                    if name == "ofType" {
                        if let (Expr::Call { target: Some(from), name: inner, args: no_args }, [type_arg]) = (t.as_ref(), args.as_slice()) {
                            if inner == "descendants" && no_args.is_empty() {
                                // `descendants().ofType(T)`: only the nodes of type T are collected.
                                let ts = super::functions::type_spec(type_arg)?;
                                self.check_known(&ts)?;
                                let mut out = Vec::new();
                                for item in self.eval(from, input, frame, d)? {
                                    self.descendants_of_type(&item, &ts, &mut out);
                                }
                                return Ok(out);
                            }
                        }
                    }
                    let base = self.eval(t, input, frame, d)?;
                    super::functions::call(self, name, &base, args, frame, d, input)
                }
                None => super::functions::call(self, name, input, args, frame, d, input),
            },
            Expr::Negate(e) => {
                let v = self.eval(e, input, frame, d)?;
                match single_system(&v)? {
                    None => Ok(vec![]),
                    Some(Item::Integer(i)) => Ok(vec![Item::Integer(i.checked_neg().ok_or_else(|| EvalError::new("integer overflow"))?)]),
                    Some(Item::Decimal(x)) => Ok(vec![Item::Decimal(-x)]),
                    Some(Item::Quantity(mut q)) => {
                        q.value = -q.value;
                        Ok(vec![Item::Quantity(q)])
                    }
                    Some(other) => err(format!("cannot negate a {}", other.type_name())),
                }
            }
            Expr::Is(e, ts) => {
                let v = self.eval(e, input, frame, d)?;
                match v.as_slice() {
                    [] => Ok(vec![]),
                    [one] => Ok(vec![Item::Boolean(self.is_type(one, ts)?)]),
                    _ => err("'is' needs a single item"),
                }
            }
            Expr::As(e, ts) => {
                let v = self.eval(e, input, frame, d)?;
                // R4's own invariants (dom-3) use `as` on collections; outside
                // strict mode it filters them as earlier engines did.
                if v.len() > 1 && self.env.strict {
                    // FHIRPATH_AS_COLLECTION
                    return err(format!("Attempt to use 'as()' on more than one item ('{}', '{}')", v.len(), type_spec_text(ts)));
                }
                self.of_type(&v, ts)
            }
            Expr::Binary(op, l, r) => self.binary(*op, l, r, input, frame, d),
            Expr::Shared(inner) => Ok(self.shared_value(inner, input, frame, d)?.items.clone()),
        }
    }

    /// A shared subexpression's value, evaluated the first time it is met
    /// and kept (with its membership index, built when first asked for).
    fn shared_value(&self, inner: &Expr, input: &[Item<'a>], frame: &Frame<'a>, d: usize) -> Res<Rc<Indexed<'a>>> {
        let key = inner as *const Expr;
        if let Some((_, v)) = self.shared.borrow().iter().find(|(k, _)| *k == key) {
            return Ok(v.clone());
        }
        let value = Rc::new(Indexed::new(self.eval(inner, input, frame, d)?));
        self.shared.borrow_mut().push((key, value.clone()));
        Ok(value)
    }

    /// An expression's value ready for membership questions: a shared one
    /// is indexed once for the whole evaluation.
    pub(super) fn indexed(&self, e: &Expr, input: &[Item<'a>], frame: &Frame<'a>, d: usize) -> Res<Rc<Indexed<'a>>> {
        match e {
            Expr::Shared(inner) => self.shared_value(inner, input, frame, d),
            other => Ok(Rc::new(Indexed::new(self.eval(other, input, frame, d)?))),
        }
    }

    fn external(&self, name: &str) -> Res<Vec<Item<'a>>> {
        let s = |v: &str| Ok(vec![Item::String(v.to_string())]);
        let typed = |n: Option<&'a Node>| -> Vec<Item<'a>> {
            n.map(|n| Item::node(n, n.resource_type.as_deref().unwrap_or(""))).into_iter().collect()
        };
        if let Some((_, v)) = self.env.variables.iter().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        match name {
            "ucum" => s("http://unitsofmeasure.org"),
            "sct" => s("http://snomed.info/sct"),
            "loinc" => s("http://loinc.org"),
            "resource" => Ok(match self.env.resource {
                Some(r) => typed(Some(r)),
                // FHIRPATH_CANNOT_USE
                None if self.focus.is_none() => return err("Error evaluating FHIRPath expression: Cannot use %resource in this context because no focus resource"),
                None => self.focus.map(|f| Item::node(f, &self.focus_type)).into_iter().collect(),
            }),
            "rootResource" => Ok(match self.env.root_resource.or(self.env.resource) {
                Some(r) => typed(Some(r)),
                // FHIRPATH_CANNOT_USE
                None if self.focus.is_none() => return err("Error evaluating FHIRPath expression: Cannot use %rootResource in this context because no focus rootResource"),
                None => self.focus.map(|f| Item::node(f, &self.focus_type)).into_iter().collect(),
            }),
            "context" => Ok(match self.env.context {
                Some(c) => vec![Item::node(c, c.resource_type.as_deref().unwrap_or(&self.focus_type))],
                None => self.focus.map(|f| Item::node(f, &self.focus_type)).into_iter().collect(),
            }),
            _ => {
                if let Some(vs) = name.strip_prefix("vs-") {
                    return s(&format!("http://hl7.org/fhir/ValueSet/{vs}"));
                }
                if let Some(ext) = name.strip_prefix("ext-") {
                    return s(&format!("http://hl7.org/fhir/StructureDefinition/{ext}"));
                }
                // FHIRPATH_UNKNOWN_CONSTANT
                err(format!("Error evaluating FHIRPath expression: Invalid FHIRPath Constant %{name}"))
            }
        }
    }

    // ------------------------------------------------------------ navigation

    /// The definition and element a node's content is described by.
    fn content_def(&self, type_name: &str, elem: &Option<ElemRef>) -> Option<(Arc<StructureDef>, usize)> {
        match elem {
            Some(e) => Some((e.sd.clone(), e.ix)),
            None => self.type_def(type_name).map(|sd| (sd, 0)),
        }
    }

    /// The typed item for a child node matched to element `ix` of `sd`
    /// (`choice` is the type a choice element's property name selects).
    fn child_item(&self, sd: &Arc<StructureDef>, ix: usize, choice: Option<&str>, c: &'a Node) -> Item<'a> {
        if let Some(rt) = &c.resource_type {
            return Item::node(c, rt);
        }
        if let Some(t) = choice {
            return Item::node(c, t);
        }
        let e = &sd.elements[ix];
        if let Some(cr) = &e.content_reference {
            let id = cr.rsplit('#').next().unwrap_or(cr);
            if let Some(target) = sd.element_by_id(id) {
                return Item::Node { node: c, type_name: "BackboneElement".into(), elem: Some(ElemRef { sd: sd.clone(), ix: target }) };
            }
        }
        let mut code = e.types.first().map(|t| t.code.as_str()).unwrap_or("");
        // R4 snapshots give every resource's `id` as a string; Resource.id is an id.
        if ix > 0 && e.name == "id" && sd.elements[0].children.contains(&ix) && sd.is_resource() {
            code = "id";
        }
        if !e.children.is_empty() && (code == "BackboneElement" || code == "Element" || code.is_empty()) {
            let tn = if code.is_empty() { "BackboneElement" } else { code };
            return Item::Node { node: c, type_name: tn.into(), elem: Some(ElemRef { sd: sd.clone(), ix }) };
        }
        Item::node(c, code)
    }

    /// Navigates every item; in strict mode it is an error when no item's
    /// type has an element of that name.
    fn navigate_all(&self, items: &[Item<'a>], name: &str, out: &mut Vec<Item<'a>>) -> Res<()> {
        let mut undefined: Option<EvalError> = None;
        let mut any_defined = false;
        for item in items {
            match self.navigate(item, name, out) {
                Ok(()) => any_defined = true,
                Err(e) if e.message.starts_with("'") && e.message.contains("is not an element of") => {
                    undefined.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        match undefined {
            Some(e) if !any_defined => Err(e),
            _ => Ok(()),
        }
    }

    pub fn navigate(&self, item: &Item<'a>, name: &str, out: &mut Vec<Item<'a>>) -> Res<()> {
        let (node, type_name, elem) = match item {
            Item::Node { node, type_name, elem } => (*node, type_name, elem),
            Item::Type { namespace, name: n } => {
                match name {
                    "namespace" => out.push(Item::String(namespace.clone())),
                    "name" => out.push(Item::String(n.clone())),
                    _ => {}
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        if let Some((sd, pix)) = self.content_def(type_name, elem) {
            let parent = &sd.elements[pix];
            let mut found: Option<(usize, bool)> = None;
            for &c in &parent.children {
                let e = &sd.elements[c];
                if e.name == name {
                    found = Some((c, false));
                    break;
                }
                if e.is_choice() && e.name.len() == name.len() + 3 && e.name.starts_with(name) {
                    found = Some((c, true));
                    break;
                }
            }
            match found {
                Some((ix, false)) => {
                    match self.env.cache.filter(|_| node.children.len() >= super::EvalCache::WIDE) {
                        Some(wide) => {
                            for c in wide.named(node, name) {
                                out.push(self.child_item(&sd, ix, None, c));
                            }
                        }
                        None => {
                            for c in node.children.iter().filter(|c| c.name == name) {
                                out.push(self.child_item(&sd, ix, None, c));
                            }
                        }
                    }
                }
                Some((ix, true)) => {
                    for c in node.children.iter().filter(|c| c.name.starts_with(name) && c.name.len() > name.len()) {
                        if let Some((cix, Some(t))) = sd.match_child(pix, &c.name) {
                            if cix == ix {
                                let t = t.code.clone();
                                out.push(self.child_item(&sd, ix, Some(&t), c));
                            }
                        }
                    }
                }
                None => {
                    // A choice element spelled with its type (`valueQuantity`).
                    if let Some((ix, Some(t))) = sd.match_child(pix, name) {
                        if self.env.strict {
                            return err(format!("'{name}' is not a name in FHIRPath: use '{}'", sd.elements[ix].name.strip_suffix("[x]").unwrap_or(&sd.elements[ix].name)));
                        }
                        let t = t.code.clone();
                        for c in node.children.iter().filter(|c| c.name == name) {
                            out.push(self.child_item(&sd, ix, Some(&t), c));
                        }
                        return Ok(());
                    }
                    if self.env.strict {
                        return err(format!("'{name}' is not an element of {}", type_name));
                    }
                    navigate_untyped(node, name, out);
                }
            }
            return Ok(());
        }
        navigate_untyped(node, name, out);
        Ok(())
    }

    /// Every child node of an item, typed, in document order.
    pub fn children_of(&self, item: &Item<'a>, out: &mut Vec<Item<'a>>) {
        let Item::Node { node, type_name, elem } = item else { return };
        if node.children.is_empty() {
            return;
        }
        let def = self.content_def(type_name, elem);
        for c in node.children.iter() {
            out.push(self.typed_child(&def, c));
        }
    }

    /// A child node typed by the definition of its parent's content.
    fn typed_child(&self, def: &Option<(Arc<StructureDef>, usize)>, c: &'a Node) -> Item<'a> {
        let typed = def.as_ref().and_then(|(sd, pix)| {
            let (ix, t) = sd.match_child(*pix, &c.name)?;
            Some(self.child_item(sd, ix, t.map(|t| t.code.as_str()), c))
        });
        typed.unwrap_or_else(|| untyped_child(c))
    }

    /// The descendants of an item (in document order) exactly of a type.
    fn descendants_of_type(&self, item: &Item<'a>, ts: &TypeSpec, out: &mut Vec<Item<'a>>) {
        let Item::Node { node, type_name, elem } = item else { return };
        if node.children.is_empty() {
            return;
        }
        // Complex types and resources are written with children: when the
        // type sought is one, a leaf is neither of it nor holds one.
        let leaves_cannot_match = ts.name.starts_with(|c: char| c.is_ascii_uppercase());
        let def = self.content_def(type_name, elem);
        for c in node.children.iter() {
            if leaves_cannot_match && c.children.is_empty() && c.resource_type.is_none() {
                continue;
            }
            let child = self.typed_child(&def, c);
            if self.is_exactly(&child, ts) {
                out.push(child.clone());
            }
            self.descendants_of_type(&child, ts, out);
        }
    }

    // ------------------------------------------------------------ types

    /// The FHIR type and its ancestors (`code`, `string`, `Element`, `Base`).
    fn ancestors(&self, type_name: &str) -> Vec<String> {
        let mut out = vec![type_name.to_string()];
        let mut cur = self.type_def(type_name);
        let mut guard = 0;
        while let Some(sd) = cur {
            guard += 1;
            let Some(base) = sd.base_definition.as_deref() else { break };
            let name = base.rsplit('/').next().unwrap_or(base).to_string();
            if guard > 20 || out.contains(&name) {
                break;
            }
            out.push(name.clone());
            cur = self.type_def(&name);
        }
        out
    }

    pub(super) fn check_known(&self, ts: &TypeSpec) -> Res<()> {
        let system = is_system_type(&ts.name);
        let known = match ts.namespace.as_deref() {
            Some("System") => true,
            Some("FHIR") => self.type_def(&ts.name).is_some() || self.env.ctx.is_empty(),
            _ => system || self.type_def(&ts.name).is_some() || self.env.ctx.is_empty() || matches!(ts.name.as_str(), "BackboneElement" | "Element" | "Resource"),
        };
        if known {
            Ok(())
        } else {
            // FHIRPATH_INVALID_TYPE
            err(format!("The type {}.{} is not valid", ts.namespace.as_deref().unwrap_or("FHIR"), ts.name))
        }
    }

    /// `is`: the item is of the type or one of its descendants.
    pub fn is_type(&self, item: &Item<'a>, ts: &TypeSpec) -> Res<bool> {
        self.check_known(ts)?;
        Ok(match item {
            Item::Node { type_name, node, .. } => {
                // Outside strict mode a FHIR primitive also is the System type
                // it stands for: R4's own invariants (que-7: `answer is Boolean`) rely on it.
                let as_system = || !self.env.strict && ts.namespace.as_deref() != Some("FHIR") && item.to_system().and_then(|v| v.system_type().map(str::to_string)).as_deref() == Some(ts.name.as_str());
                if ts.namespace.as_deref() == Some("System") {
                    return Ok(as_system());
                }
                let tn = node.resource_type.as_deref().unwrap_or(type_name);
                tn == ts.name || self.ancestors(tn).contains(&ts.name) || as_system()
            }
            other => {
                if ts.namespace.as_deref() == Some("FHIR") {
                    return Ok(false);
                }
                other.system_type() == Some(ts.name.as_str())
            }
        })
    }

    /// `as` and `ofType()`: the item is exactly of the type.
    pub fn is_exact_type(&self, item: &Item<'a>, ts: &TypeSpec) -> Res<bool> {
        self.check_known(ts)?;
        Ok(self.is_exactly(item, ts))
    }

    /// The items of `input` exactly of a type, for `as` and `ofType()`.
    pub fn of_type(&self, input: &[Item<'a>], ts: &TypeSpec) -> Res<Vec<Item<'a>>> {
        self.check_known(ts)?;
        Ok(input.iter().filter(|i| self.is_exactly(i, ts)).cloned().collect())
    }

    /// [`Self::is_exact_type`] for a type known to exist.
    fn is_exactly(&self, item: &Item<'a>, ts: &TypeSpec) -> bool {
        match item {
            Item::Node { type_name, node, .. } => {
                if ts.namespace.as_deref() == Some("System") {
                    return false;
                }
                let tn = node.resource_type.as_deref().unwrap_or(type_name);
                tn == ts.name || (node.resource_type.is_some() && self.ancestors(tn).contains(&ts.name))
            }
            other => ts.namespace.as_deref() != Some("FHIR") && other.system_type() == Some(ts.name.as_str()),
        }
    }

    // ------------------------------------------------------------ operators

    fn binary(&self, op: BinOp, l: &Expr, r: &Expr, input: &[Item<'a>], frame: &Frame<'a>, d: usize) -> Res<Vec<Item<'a>>> {
        // Boolean operators short-circuit where the result is already known.
        match op {
            BinOp::And | BinOp::Or | BinOp::Implies | BinOp::Xor => {
                let a = to_bool(&self.eval(l, input, frame, d)?)?;
                let short = match (op, a) {
                    (BinOp::And, Some(false)) => Some(Some(false)),
                    (BinOp::Or, Some(true)) => Some(Some(true)),
                    (BinOp::Implies, Some(false)) => Some(Some(true)),
                    _ => None,
                };
                if let Some(v) = short {
                    return Ok(v.map(Item::Boolean).into_iter().collect());
                }
                let b = to_bool(&self.eval(r, input, frame, d)?)?;
                let v = match op {
                    BinOp::And => match (a, b) {
                        (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    BinOp::Or => match (a, b) {
                        (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                    BinOp::Xor => match (a, b) {
                        (Some(x), Some(y)) => Some(x != y),
                        _ => None,
                    },
                    _ => match (a, b) {
                        (_, Some(true)) => Some(true),
                        (Some(true), Some(false)) => Some(false),
                        _ => None,
                    },
                };
                return Ok(v.map(Item::Boolean).into_iter().collect());
            }
            _ => {}
        }
        let (needle_side, hay_side) = if op == BinOp::Contains { (r, l) } else { (l, r) };
        if let (BinOp::In | BinOp::Contains, Expr::Shared(_)) = (op, hay_side) {
            // Membership in a shared collection (`$this in %resource.entry.fullUrl`,
            // once per item of a list) asks its index, built once.
            let needle = self.eval(needle_side, input, frame, d)?;
            let hay = self.indexed(hay_side, input, frame, d)?;
            return match needle.as_slice() {
                [] => Ok(vec![]),
                [one] => Ok(vec![Item::Boolean(hay.contains(one))]),
                _ => err("the left side of 'in' (right side of 'contains') must be a single item"),
            };
        }
        let a = self.eval(l, input, frame, d)?;
        let b = self.eval(r, input, frame, d)?;
        let boolean = |v: Option<bool>| Ok(v.map(Item::Boolean).into_iter().collect());
        match op {
            BinOp::Union => {
                // Through the hashed path: unions of large collections must not be quadratic.
                let mut all = a;
                all.extend(b);
                Ok(super::membership::distinct(all))
            }
            BinOp::Eq => boolean(equals(&a, &b)),
            BinOp::NotEq => boolean(equals(&a, &b).map(|v| !v)),
            BinOp::Equiv => boolean(Some(equivalent(&a, &b))),
            BinOp::NotEquiv => boolean(Some(!equivalent(&a, &b))),
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                let (Some(x), Some(y)) = (single_system(&a)?, single_system(&b)?) else { return Ok(vec![]) };
                let ord = compare(&x, &y)?;
                boolean(ord.map(|o| match op {
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::Gt => o == Ordering::Greater,
                    BinOp::Le => o != Ordering::Greater,
                    _ => o != Ordering::Less,
                }))
            }
            BinOp::In | BinOp::Contains => {
                let (needle, hay) = if op == BinOp::In { (a, b) } else { (b, a) };
                match needle.len() {
                    0 => Ok(vec![]),
                    1 => boolean(Some(hay.iter().any(|h| item_eq(h, &needle[0]) == Some(true)))),
                    _ => err("the left side of 'in' (right side of 'contains') must be a single item"),
                }
            }
            BinOp::Concat => {
                let x = single_system(&a)?;
                let y = single_system(&b)?;
                let s = |v: Option<Item<'static>>, left: bool| -> Res<String> {
                    match v {
                        None => Ok(String::new()),
                        Some(Item::String(s)) => Ok(s),
                        // FHIRPATH_LEFT_VALUE_WRONG_TYPE
                        Some(o) if left => err(format!("Error evaluating FHIRPath expression: left operand to & has the wrong type {}", o.type_name())),
                        // FHIRPATH_RIGHT_VALUE_WRONG_TYPE
                        Some(o) => err(format!("Error evaluating FHIRPath expression: right operand to & has the wrong type {}", o.type_name())),
                    }
                };
                Ok(vec![Item::String(s(x, true)? + &s(y, false)?)])
            }
            _ => {
                if a.is_empty() || b.is_empty() {
                    return Ok(vec![]);
                }
                let (Some(x), Some(y)) = (operand(&a, op, true)?, operand(&b, op, false)?) else { return Ok(vec![]) };
                Ok(arith(op, x, y)?.into_iter().collect())
            }
        }
    }
}

fn navigate_untyped<'a>(node: &'a Node, name: &str, out: &mut Vec<Item<'a>>) {
    for c in node.children.iter() {
        if c.name == name {
            out.push(untyped_child(c));
        } else if c.name.len() > name.len() && c.name.starts_with(name) && c.name.as_bytes()[name.len()].is_ascii_uppercase() {
            let suffix = &c.name[name.len()..];
            let mut lower = suffix.to_string();
            lower[..1].make_ascii_lowercase();
            let t = if super::value::is_primitive_type(&lower) { lower } else { suffix.to_string() };
            out.push(Item::node(c, &t));
        }
    }
}

fn untyped_child(c: &Node) -> Item<'_> {
    Item::node(c, c.resource_type.as_deref().unwrap_or(""))
}

pub fn is_system_type(name: &str) -> bool {
    matches!(name, "Boolean" | "String" | "Integer" | "Decimal" | "Date" | "DateTime" | "Time" | "Quantity")
}

pub fn literal(l: &Literal) -> Item<'static> {
    match l {
        Literal::Boolean(b) => Item::Boolean(*b),
        Literal::String(s) => Item::String(s.clone()),
        Literal::Integer(i) => Item::Integer(*i),
        Literal::Decimal(d) => Item::Decimal(*d),
        Literal::Temporal(t) => match t.kind {
            Kind::Date => Item::Date(*t),
            Kind::DateTime => Item::DateTime(*t),
            Kind::Time => Item::Time(*t),
        },
        Literal::Quantity(q) => Item::Quantity(q.clone()),
    }
}

/// One operand of an arithmetic operator as a system value: an element
/// with no value of its own (a HumanName) has the wrong type.
fn operand(c: &[Item<'_>], op: BinOp, left: bool) -> Res<Option<Item<'static>>> {
    match single_system(c) {
        Err(e) => match c {
            [one] => {
                let t = one.type_name();
                if left {
                    // FHIRPATH_LEFT_VALUE_WRONG_TYPE
                    err(format!("Error evaluating FHIRPath expression: left operand to {} has the wrong type {t}", op_symbol(op)))
                } else {
                    // FHIRPATH_RIGHT_VALUE_WRONG_TYPE
                    err(format!("Error evaluating FHIRPath expression: right operand to {} has the wrong type {t}", op_symbol(op)))
                }
            }
            _ => Err(e),
        },
        ok => ok,
    }
}

/// A collection as a single system value: empty is `None`, more than one an error.
pub fn single_system(c: &[Item<'_>]) -> Res<Option<Item<'static>>> {
    match c {
        [] => Ok(None),
        [one] => match one.to_system() {
            Some(v) => Ok(Some(v)),
            None => match one {
                Item::Node { node, .. } if node.value.is_none() && node.children.is_empty() => Ok(None),
                Item::Node { type_name, .. } if super::value::is_primitive_type(type_name) => Ok(None),
                _ => err(format!("a {} has no value to compute with", one.type_name())),
            },
        },
        _ => err(format!("expected a single item but found {}", c.len())),
    }
}

/// Singleton evaluation as a boolean: empty is `None`; one boolean is its
/// value; one other item is `true`; more than one is an error.
pub fn to_bool(c: &[Item<'_>]) -> Res<Option<bool>> {
    match c {
        [] => Ok(None),
        [one] => match one.to_system() {
            Some(Item::Boolean(b)) => Ok(Some(b)),
            _ => Ok(Some(true)),
        },
        _ => {
            let texts: Vec<String> = c.iter().take(20).map(|i| i.text().unwrap_or_default()).collect();
            // FHIRPATH_UNABLE_BOOLEAN
            err(format!("Unable to evaluate as a boolean: {}", texts.join("")))
        }
    }
}

fn num(i: &Item<'_>) -> Option<Decimal> {
    match i {
        Item::Integer(i) => Some(Decimal::from(*i)),
        Item::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// Orders two system values; `Ok(None)` when uncertain, an error when they cannot be compared.
pub fn compare(x: &Item<'_>, y: &Item<'_>) -> Res<Option<Ordering>> {
    Ok(match (x, y) {
        (Item::Integer(a), Item::Integer(b)) => Some(a.cmp(b)),
        (Item::String(a), Item::String(b)) => Some(a.cmp(b)),
        (Item::Date(a) | Item::DateTime(a), Item::Date(b) | Item::DateTime(b)) => a.compare(b),
        (Item::Time(a), Item::Time(b)) => a.compare(b),
        (Item::Quantity(a), Item::Quantity(b)) => a.compare(b),
        _ => match (num(x), num(y)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            // FHIRPATH_CANT_COMPARE
            _ => return err(format!("Error evaluating FHIRPath expression: Unable to compare values of type {} and {}", x.type_name(), y.type_name())),
        },
    })
}

/// Equality of two items: `None` when uncertain (date precision, units).
/// A collection with a membership index built on first use.
pub struct Indexed<'a> {
    pub items: Vec<Item<'a>>,
    index: std::cell::OnceCell<ItemIndex>,
}

impl<'a> Indexed<'a> {
    pub fn new(items: Vec<Item<'a>>) -> Indexed<'a> {
        Indexed { items, index: std::cell::OnceCell::new() }
    }

    /// Whether an item equals `x`; a short collection is just scanned.
    pub fn contains(&self, x: &Item<'_>) -> bool {
        if self.items.len() <= 8 {
            return self.items.iter().any(|o| item_eq(o, x) == Some(true));
        }
        self.index.get_or_init(|| ItemIndex::of(&self.items)).contains(&self.items, x)
    }
}

pub fn item_eq(x: &Item<'_>, y: &Item<'_>) -> Option<bool> {
    if let (Some(a), Some(b)) = (x.string_text(), y.string_text()) {
        return Some(a == b);
    }
    let (sx, sy) = (x.to_system(), y.to_system());
    match (sx, sy) {
        (Some(a), Some(b)) => system_eq(&a, &b),
        (None, None) => match (x, y) {
            (Item::Node { node: a, .. }, Item::Node { node: b, .. }) => Some(std::ptr::eq(*a, *b) || deep_eq(a, b)),
            (Item::Type { namespace: a, name: n }, Item::Type { namespace: b, name: m }) => Some(a == b && n == m),
            _ => Some(false),
        },
        _ => Some(false),
    }
}

fn system_eq(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    match (a, b) {
        (Item::Boolean(x), Item::Boolean(y)) => Some(x == y),
        (Item::String(x), Item::String(y)) => Some(x == y),
        (Item::Integer(x), Item::Integer(y)) => Some(x == y),
        (Item::Date(x) | Item::DateTime(x), Item::Date(y) | Item::DateTime(y)) | (Item::Time(x), Item::Time(y)) => x.compare(y).map(|o| o == Ordering::Equal),
        (Item::Quantity(x), Item::Quantity(y)) => x.compare(y).map(|o| o == Ordering::Equal),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => Some(x == y),
            _ => Some(false),
        },
    }
}

fn deep_eq(a: &Node, b: &Node) -> bool {
    a.name == b.name
        && a.value.as_ref().map(|v| &v.text) == b.value.as_ref().map(|v| &v.text)
        && a.children.len() == b.children.len()
        && a.children.iter().zip(b.children.iter()).all(|(x, y)| deep_eq(x, y))
}

pub fn equals(a: &[Item<'_>], b: &[Item<'_>]) -> Option<bool> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a.len() != b.len() {
        return Some(false);
    }
    let mut uncertain = false;
    for (x, y) in a.iter().zip(b) {
        match item_eq(x, y) {
            Some(false) => return Some(false),
            None => uncertain = true,
            Some(true) => {}
        }
    }
    if uncertain {
        None
    } else {
        Some(true)
    }
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn round_to(d: Decimal, scale: u32) -> Decimal {
    d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero)
}

pub fn item_equiv(x: &Item<'_>, y: &Item<'_>) -> bool {
    match (x.to_system(), y.to_system()) {
        (Some(a), Some(b)) => match (&a, &b) {
            (Item::String(s), Item::String(t)) => normalize_ws(s) == normalize_ws(t),
            (Item::Quantity(p), Item::Quantity(q)) => match p.align(q) {
                Some((u, v)) => {
                    let s = p.value.scale().min(q.value.scale());
                    round_to(u, s) == round_to(v, s)
                }
                None => false,
            },
            (Item::Date(s) | Item::DateTime(s), Item::Date(t) | Item::DateTime(t)) | (Item::Time(s), Item::Time(t)) => s.compare(t) == Some(Ordering::Equal),
            _ => match (num(&a), num(&b)) {
                (Some(u), Some(v)) => {
                    let s = u.scale().min(v.scale());
                    round_to(u, s) == round_to(v, s)
                }
                _ => system_eq(&a, &b) == Some(true),
            },
        },
        (None, None) => item_eq(x, y) == Some(true),
        _ => false,
    }
}

pub fn equivalent(a: &[Item<'_>], b: &[Item<'_>]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && item_equiv(x, y) {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

/// An arithmetic operator's symbol, as an expression writes it.
fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::IntDiv => "div",
        BinOp::Mod => "mod",
        BinOp::Concat => "&",
        _ => "?",
    }
}

fn incompatible<T>(op: BinOp, x: &Item<'_>, y: &Item<'_>) -> Res<T> {
    // FHIRPATH_OP_INCOMPATIBLE
    err(format!(
        "Error evaluating FHIRPath expression {}: left and right operand have incompatible or invalid types ({}, {})",
        op_symbol(op),
        x.type_name(),
        y.type_name()
    ))
}

/// A type as `is`/`as` name it: `Quantity`, `System.String`.
fn type_spec_text(ts: &TypeSpec) -> String {
    match &ts.namespace {
        Some(ns) => format!("{ns}.{}", ts.name),
        None => ts.name.clone(),
    }
}

fn arith(op: BinOp, x: Item<'static>, y: Item<'static>) -> Res<Option<Item<'static>>> {
    let overflow = || EvalError::new("arithmetic overflow");
    Ok(match (op, &x, &y) {
        (BinOp::Add, Item::String(a), Item::String(b)) => Some(Item::String(format!("{a}{b}"))),
        (BinOp::Add, Item::Integer(a), Item::Integer(b)) => Some(Item::Integer(a.checked_add(*b).ok_or_else(overflow)?)),
        (BinOp::Sub, Item::Integer(a), Item::Integer(b)) => Some(Item::Integer(a.checked_sub(*b).ok_or_else(overflow)?)),
        (BinOp::Mul, Item::Integer(a), Item::Integer(b)) => Some(Item::Integer(a.checked_mul(*b).ok_or_else(overflow)?)),
        (BinOp::IntDiv, Item::Integer(a), Item::Integer(b)) => a.checked_div(*b).map(Item::Integer),
        (BinOp::Mod, Item::Integer(a), Item::Integer(b)) => a.checked_rem(*b).map(Item::Integer),
        (BinOp::Add | BinOp::Sub, Item::Date(t) | Item::DateTime(t) | Item::Time(t), Item::Quantity(q)) => {
            let r = t.add(q, if op == BinOp::Add { 1 } else { -1 }).map_err(EvalError::new)?;
            Some(match x {
                Item::Date(_) => Item::Date(r),
                Item::DateTime(_) => Item::DateTime(r),
                _ => Item::Time(r),
            })
        }
        (BinOp::Add | BinOp::Sub, Item::Quantity(a), Item::Quantity(b)) => {
            let (u, v) = match a.align(b) {
                Some(p) => p,
                None => return Ok(None),
            };
            let same = a.unit == b.unit;
            let r = if op == BinOp::Add { u.checked_add(v) } else { u.checked_sub(v) }.ok_or_else(overflow)?;
            if same {
                Some(Item::Quantity(Quantity { value: r, unit: a.unit.clone() }))
            } else {
                let c = super::value::canonical_unit(&a.unit).ok_or_else(overflow)?;
                Some(Item::Quantity(Quantity { value: r.checked_div(c.factor).ok_or_else(overflow)?, unit: a.unit.clone() }))
            }
        }
        (BinOp::Mul | BinOp::Div, Item::Quantity(a), Item::Quantity(b)) => a.mul_div(b, op == BinOp::Div).map(Item::Quantity),
        (BinOp::Mul | BinOp::Div, Item::Quantity(a), n) if num(n).is_some() => {
            let n = num(n).unwrap_or_default();
            let v = if op == BinOp::Mul { a.value.checked_mul(n) } else { a.value.checked_div(n) };
            v.map(|v| Item::Quantity(Quantity { value: v, unit: a.unit.clone() }))
        }
        (BinOp::Mul, n, Item::Quantity(a)) if num(n).is_some() => {
            let n = num(n).unwrap_or_default();
            a.value.checked_mul(n).map(|v| Item::Quantity(Quantity { value: v, unit: a.unit.clone() }))
        }
        _ => {
            let (Some(a), Some(b)) = (num(&x), num(&y)) else {
                return incompatible(op, &x, &y);
            };
            match op {
                BinOp::Add => Some(Item::Decimal(a.checked_add(b).ok_or_else(overflow)?)),
                BinOp::Sub => Some(Item::Decimal(a.checked_sub(b).ok_or_else(overflow)?)),
                BinOp::Mul => Some(Item::Decimal(a.checked_mul(b).ok_or_else(overflow)?)),
                BinOp::Div => {
                    if b.is_zero() {
                        None
                    } else {
                        Some(Item::Decimal(a.checked_div(b).ok_or_else(overflow)?.normalize()))
                    }
                }
                BinOp::IntDiv => {
                    if b.is_zero() {
                        None
                    } else {
                        Some(Item::Integer(a.checked_div(b).ok_or_else(overflow)?.trunc().to_i64().ok_or_else(overflow)?))
                    }
                }
                BinOp::Mod => {
                    if b.is_zero() {
                        None
                    } else {
                        Some(Item::Decimal(a.checked_rem(b).ok_or_else(overflow)?))
                    }
                }
                _ => return incompatible(op, &x, &y),
            }
        }
    })
}

/// The number of nodes of a tree, its root included.
fn tree_size(root: &Node) -> usize {
    let mut n = 0;
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        n += 1;
        stack.extend(node.children.iter());
    }
    n
}
