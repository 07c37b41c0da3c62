//! FHIRPath 2.0 over the element tree.
//!
//! Parse once with [`parse`] (the [`Expression`] is cheap to clone and can
//! be cached and shared between threads), then [`evaluate`] it against a
//! node of a known FHIR type. Navigation follows the StructureDefinitions in
//! the [`Context`], so choice elements (`Observation.value`), backbone
//! elements and content references are typed, and `is`/`as`/`ofType()` know
//! FHIR and System types. Evaluation never panics: problems are an
//! [`EvalError`].
//!
//! `conformsTo()` and `memberOf()` ask the hooks in [`EvalContext`] (the
//! validator sets them; without them they are empty); `htmlChecks()` returns
//! true (the validator checks narrative itself). `resolve()` finds contained resources (`#id`) and, when
//! [`EvalContext::bundle`] is set, Bundle entries by `fullUrl` or `Type/id`.

pub mod check;
mod eval;
mod functions;
pub(crate) use functions::compiled_regex;
mod lexer;
mod membership;
mod parser;
pub mod value;

use crate::context::Context;
use crate::tree::Node;
use std::sync::Arc;

pub use parser::{BinOp, Expr, Literal, TypeSpec};
pub use value::{Item, Kind, Precision, Quantity, Temporal};

/// A parsed expression, ready to evaluate any number of times.
#[derive(Clone, Debug)]
pub struct Expression {
    source: Arc<str>,
    pub(crate) root: Arc<Expr>,
}

impl Expression {
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn ast(&self) -> &Expr {
        &self.root
    }
}

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("syntax error at column {column}: {message}")]
pub struct SyntaxError {
    pub message: String,
    /// 1-based column (in characters) where the problem starts.
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub fn new(message: impl Into<String>) -> EvalError {
        EvalError { message: message.into() }
    }
}

pub fn parse(expr: &str) -> Result<Expression, SyntaxError> {
    let root = parser::parse_expr(expr)?;
    Ok(Expression { source: Arc::from(expr), root: Arc::new(root) })
}

/// What an evaluation can see besides its focus.
pub struct EvalContext<'a> {
    pub ctx: &'a Context,
    /// `%resource`: the resource holding the focus (defaults to the focus).
    pub resource: Option<&'a Node>,
    /// `%rootResource`: the outermost resource (defaults to `resource`).
    pub root_resource: Option<&'a Node>,
    /// `%context` (defaults to the focus).
    pub context: Option<&'a Node>,
    /// A Bundle whose entries `resolve()` may return (by `fullUrl` or `Type/id`).
    pub bundle: Option<&'a Node>,
    /// Strict mode: a name that no element of the focus's type has (or a
    /// choice element spelled with its type, `valueQuantity`) is an error
    /// rather than an empty result.
    pub strict: bool,
    /// Further `%name` constants.
    pub variables: Vec<(String, Vec<Item<'a>>)>,
    /// Answers `conformsTo(profile)` for a resource or element node (set by
    /// the validator, which owns validation; without it, profiles are unknown).
    pub conforms_to: Option<&'a ConformsTo<'a>>,
    /// Answers `memberOf(valueSet)` for a (system, code): `None` when it
    /// cannot be told locally.
    pub member_of: Option<&'a MemberOf<'a>>,
    /// Caches kept across the evaluations of one walk (wide nodes' children
    /// by name, so that `%resource.type` from each entry stays cheap; type
    /// definitions by name).
    pub cache: Option<&'a EvalCache>,
}

/// `conformsTo(profile)`: whether a node is valid against a profile.
pub type ConformsTo<'a> = dyn Fn(&Node, &str) -> bool + 'a;
/// `memberOf(valueSet)`: whether (system, code) is in a value set, `None` if unknown.
pub type MemberOf<'a> = dyn Fn(Option<&str>, &str, &str) -> Option<bool> + 'a;

/// A node's children by name: positions in `children`.
type ChildIndex = std::collections::HashMap<compact_str::CompactString, Vec<u32>>;

/// What the evaluations of one walk share: children by name of wide nodes
/// (a Bundle's 100,000 entries), built on first use, and the definitions of
/// the types met, so that each expression does not look them up again.
#[derive(Default)]
pub struct EvalCache {
    by_node: std::cell::RefCell<std::collections::HashMap<usize, std::rc::Rc<ChildIndex>>>,
    /// A resource's contained resources by id (position of the first), by the resource's address.
    contained: std::cell::RefCell<std::collections::HashMap<usize, std::rc::Rc<std::collections::HashMap<String, u32>>>>,
    types: std::cell::RefCell<std::collections::HashMap<compact_str::CompactString, Option<Arc<crate::structure::StructureDef>>>>,
}

impl EvalCache {
    /// Nodes with fewer children are searched directly.
    pub const WIDE: usize = 64;

    /// The children of `node` named `name`, in order.
    pub fn named<'n>(&self, node: &'n Node, name: &str) -> Vec<&'n Node> {
        let key = node as *const Node as usize;
        let index = self.by_node.borrow().get(&key).cloned();
        let index = index.unwrap_or_else(|| {
            let mut map = ChildIndex::new();
            for (i, c) in node.children.iter().enumerate() {
                map.entry(c.name.clone()).or_default().push(i as u32);
            }
            let rc = std::rc::Rc::new(map);
            self.by_node.borrow_mut().insert(key, rc.clone());
            rc
        });
        index.get(name).map(|ixs| ixs.iter().map(|&i| &node.children[i as usize]).collect()).unwrap_or_default()
    }

    /// The resource contained in `holder` with this id (the first, if
    /// several), through an index of `holder` built on first use: `resolve()`
    /// of `#id` runs once per reference, and a resource may hold thousands.
    pub fn contained<'n>(&self, holder: &'n Node, id: &str) -> Option<&'n Node> {
        let key = holder as *const Node as usize;
        let index = self.contained.borrow().get(&key).cloned();
        let index = index.unwrap_or_else(|| {
            let mut map = std::collections::HashMap::new();
            for (i, c) in holder.children.iter().enumerate() {
                if let Some(id) = (c.name == "contained").then(|| c.child_text("id")).flatten() {
                    map.entry(id.to_string()).or_insert(i as u32);
                }
            }
            let rc = std::rc::Rc::new(map);
            self.contained.borrow_mut().insert(key, rc.clone());
            rc
        });
        index.get(id).map(|&i| &holder.children[i as usize])
    }

    /// The definition of a type by name, through `ctx` the first time.
    pub fn type_definition(&self, ctx: &Context, name: &str) -> Option<Arc<crate::structure::StructureDef>> {
        if let Some(hit) = self.types.borrow().get(name) {
            return hit.clone();
        }
        let found = ctx.type_definition(name);
        self.types.borrow_mut().insert(name.into(), found.clone());
        found
    }
}

impl<'a> EvalContext<'a> {
    pub fn new(ctx: &'a Context) -> EvalContext<'a> {
        EvalContext { ctx, resource: None, root_resource: None, context: None, bundle: None, strict: false, variables: Vec::new(), cache: None, conforms_to: None, member_of: None }
    }
}

/// Evaluates `expr` with `focus` (of FHIR type `focus_type`, e.g. `Patient`)
/// as `$this`; returns the result collection in order.
pub fn evaluate<'a>(expr: &Expression, focus: &'a Node, focus_type: &str, env: &EvalContext<'a>) -> Result<Vec<Item<'a>>, EvalError> {
    let focus_item = Item::node(focus, focus_type);
    eval::Evaluator::new(env, focus, focus_type).run(&expr.root, focus_item)
}

/// Evaluates with `focus` as an instance of element `ix` of `sd`: a backbone
/// element navigates through its own definition, anything else through its type's.
pub fn evaluate_element<'a>(
    expr: &Expression,
    focus: &'a Node,
    sd: &Arc<crate::structure::StructureDef>,
    ix: usize,
    type_name: &str,
    env: &EvalContext<'a>,
) -> Result<Vec<Item<'a>>, EvalError> {
    let inline = !sd.elements[ix].children.is_empty() && ix > 0;
    let elem = inline.then(|| value::ElemRef { sd: sd.clone(), ix });
    let focus_item = Item::Node { node: focus, type_name: type_name.into(), elem };
    eval::Evaluator::new(env, focus, type_name).run(&expr.root, focus_item)
}

/// Parses through a process-wide cache: definitions repeat the same
/// invariants (`ele-1` on nearly every element) thousands of times.
pub fn parse_cached(expr: &str) -> Result<Expression, SyntaxError> {
    use parking_lot::Mutex;
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static CACHE: OnceLock<Mutex<HashMap<String, Result<Expression, SyntaxError>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().get(expr) {
        return hit.clone();
    }
    let parsed = parse(expr);
    let mut guard = cache.lock();
    // Kept while small: an expression can come from a request (a
    // profile or Questionnaire sent to $validate), and the cache lives as
    // long as the server.
    if guard.len() < 100_000 && expr.len() <= 4_096 {
        guard.insert(expr.to_string(), parsed.clone());
    }
    parsed
}

/// Evaluates against an arbitrary starting item (a system value, or no focus at all).
pub fn evaluate_item<'a>(expr: &Expression, focus: Option<Item<'a>>, env: &EvalContext<'a>) -> Result<Vec<Item<'a>>, EvalError> {
    let mut ev = eval::Evaluator::new_empty(env);
    match focus {
        Some(f) => ev.run(&expr.root, f),
        None => {
            ev.no_focus = true;
            ev.run(&expr.root, Item::Boolean(false))
        }
    }
}

#[cfg(test)]
mod tests;
