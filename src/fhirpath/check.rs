//! Checking an expression against the definitions without evaluating it:
//! what types each step can return, and whether it can return anything at
//! all. This is what the reference's FHIRPath engine does for a profile's
//! invariants, an extension's context invariants and a ViewDefinition's
//! paths: an impossible path or a function used on the wrong kind of input
//! is an error ([`EvalError`], the reference's wording); what may fail on
//! some content (a collection where one value is expected) is a [`Warning`].
//!
//! Where a type cannot be told (a logical model, an abstract type, a
//! constant of the host), the step is "any type" and nothing after it is
//! judged: the checker never guesses an error.

use super::parser::{BinOp, Expr, Literal, TypeSpec};
use super::value::Kind;
use super::{EvalError, Expression};
use crate::context::Context;
use crate::structure::StructureDef;
use std::sync::Arc;

const FHIR_NS: &str = "http://hl7.org/fhir/StructureDefinition/";
const FP_NS: &str = "http://hl7.org/fhirpath/System.";

/// Whether a step returns one item or many, and whether their order means anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Singleton,
    Ordered,
    Unordered,
}

impl Status {
    fn is_list(self) -> bool {
        self != Status::Singleton
    }
}

#[derive(Clone, Debug)]
enum Ty {
    /// A FHIR type by name (`Patient`, `string`).
    Fhir(String),
    /// A FHIRPath system type (`String`, `Boolean`).
    System(&'static str),
    /// A backbone element of a definition.
    Elem(Arc<StructureDef>, usize),
    /// Cannot be told: nothing after it is judged.
    Any,
}

impl Ty {
    fn uri(&self) -> String {
        match self {
            Ty::Fhir(t) if t.contains("://") => t.clone(),
            Ty::Fhir(t) => format!("{FHIR_NS}{t}"),
            Ty::System(t) => format!("{FP_NS}{t}"),
            Ty::Elem(sd, ix) => format!("{}#{}", sd.url, sd.elements[*ix].path),
            Ty::Any => "*".into(),
        }
    }

    fn same(&self, other: &Ty) -> bool {
        self.uri() == other.uri()
    }
}

/// The types a step may return.
#[derive(Clone, Debug)]
pub struct Types {
    tys: Vec<Ty>,
    status: Status,
    /// A choice element (`value[x]`) was named.
    choice: bool,
}

impl Types {
    fn new(status: Status) -> Types {
        Types { tys: Vec::new(), status, choice: false }
    }

    fn of(status: Status, ty: Ty) -> Types {
        Types { tys: vec![ty], status, choice: false }
    }

    fn system(t: &'static str) -> Types {
        Types::of(Status::Singleton, Ty::System(t))
    }

    fn any(status: Status) -> Types {
        Types::of(status, Ty::Any)
    }

    fn add(&mut self, ty: Ty) {
        if !self.tys.iter().any(|t| t.same(&ty)) {
            self.tys.push(ty);
        }
    }

    /// Whether any type is unknown: then nothing is judged.
    pub fn is_unknown(&self) -> bool {
        self.tys.iter().any(|t| matches!(t, Ty::Any))
    }

    pub fn is_empty(&self) -> bool {
        self.tys.is_empty()
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn is_choice(&self) -> bool {
        self.choice
    }

    /// The FHIR or system type names (`string`, `System.String`), for callers
    /// that compare what a path returns with what they expect.
    pub fn names(&self) -> Vec<String> {
        self.tys
            .iter()
            .map(|t| match t {
                Ty::Fhir(n) => n.clone(),
                Ty::System(n) => format!("System.{n}"),
                Ty::Elem(sd, ix) => sd.elements[*ix].path.clone(),
                Ty::Any => "*".into(),
            })
            .collect()
    }

    /// The sorted list of type URIs, as the reference describes a set of types.
    pub fn describe(&self) -> String {
        let mut uris: Vec<String> = self.tys.iter().map(Ty::uri).collect();
        uris.sort();
        uris.dedup();
        format!("[{}]", uris.join(", "))
    }

    fn with_status(&self, status: Status) -> Types {
        Types { tys: self.tys.clone(), status, choice: false }
    }

    fn union(&self, other: &Types) -> Types {
        let status = if self.status == Status::Unordered || other.status == Status::Unordered { Status::Unordered } else { Status::Ordered };
        let mut out = self.with_status(status);
        for t in &other.tys {
            out.add(t.clone());
        }
        out
    }

    /// Adds `other`'s types; the status widens as the reference's does.
    fn update(&mut self, other: &Types) {
        for t in &other.tys {
            self.add(t.clone());
        }
        self.status = match (self.status, other.status) {
            (Status::Singleton, s) => s,
            (_, Status::Unordered) => Status::Unordered,
            _ => Status::Ordered,
        };
        self.choice |= other.choice;
    }
}

/// Something the expression may do wrong on some content, with its message key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub key: &'static str,
    pub message: String,
}

/// How a check starts: the types of the focus and of `%resource`.
pub struct CheckContext<'a> {
    pub ctx: &'a Context,
    /// `%resource` and `%rootResource` (a resource type name).
    pub resource_type: Option<String>,
}

/// The types of the focus an expression is checked on: type names
/// (`Patient`, `string`) or element paths of a type (`Patient.contact`).
pub fn focus_types(ctx: &Context, names: &[String]) -> Types {
    let mut out = Types::new(Status::Singleton);
    for n in names {
        match n.split_once('.') {
            None => out.add(Ty::Fhir(n.clone())),
            Some((root, _)) => {
                let found = ctx.type_definition(root).and_then(|sd| sd.elements.iter().position(|e| e.path == *n).map(|ix| (sd, ix)));
                match found {
                    Some((sd, ix)) if !sd.elements[ix].children.is_empty() => out.add(Ty::Elem(sd, ix)),
                    Some((sd, ix)) => {
                        let codes: Vec<String> = sd.elements[ix].types.iter().map(|t| t.code.clone()).collect();
                        if codes.is_empty() {
                            out.add(Ty::Any);
                        }
                        for c in codes {
                            out.add(Ty::Fhir(c));
                        }
                    }
                    None => out.add(Ty::Any),
                }
            }
        }
    }
    if out.tys.is_empty() {
        out.add(Ty::Any);
    }
    out
}

/// Checks `expr` on a focus of the types `focus`: the types it returns and
/// the warnings met, or the first error (the reference stops there too).
pub fn check(expr: &Expression, cc: &CheckContext<'_>, focus: &Types) -> Result<(Types, Vec<Warning>), EvalError> {
    let mut c = Checker { cc, warnings: Vec::new(), warned: std::collections::HashSet::new(), depth: 0, none_ok: false };
    let scope = Scope { this: focus.clone(), context: focus.clone() };
    let out = c.expr(&expr.root, None, &scope)?;
    Ok((out, c.warnings))
}

/// As `check`, for a path whose first name may select nothing on the focus
/// (a discriminator's path: the reference's `canBeNone`); what it returns
/// is then empty rather than an error.
pub fn check_may_select_nothing(expr: &Expression, cc: &CheckContext<'_>, focus: &Types) -> Result<(Types, Vec<Warning>), EvalError> {
    let mut c = Checker { cc, warnings: Vec::new(), warned: std::collections::HashSet::new(), depth: 0, none_ok: true };
    let scope = Scope { this: focus.clone(), context: focus.clone() };
    let out = c.expr(&expr.root, None, &scope)?;
    Ok((out, c.warnings))
}

struct Scope {
    this: Types,
    context: Types,
}

struct Checker<'c, 'a> {
    cc: &'c CheckContext<'a>,
    warnings: Vec<Warning>,
    /// The warnings already met, so that each is said once without
    /// comparing with every earlier one (the thirty-first pass's W4).
    warned: std::collections::HashSet<(&'static str, String)>,
    depth: usize,
    /// Inside `repeat()`'s argument a name at the start of a path may be
    /// absent from some of the types met: the reference does not require it.
    none_ok: bool,
}

fn fail<T>(message: String) -> Result<T, EvalError> {
    Err(EvalError::new(message))
}

/// How much of an expression a message quotes: the checker quotes an
/// operator's expression at each node it judges, so a whole-tree rendering
/// would be quadratic in the expression (the thirty-second pass's X2).
const RENDER_LIMIT: usize = 240;

/// An expression as text, for messages (at most [`RENDER_LIMIT`] bytes, then `...`).
pub fn render(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(e, &mut out);
    crate::issue::shortened(&out, RENDER_LIMIT, "...").into_owned()
}

/// Appends `text`, no more than the limit leaves room for.
fn push_limited(out: &mut String, text: &str) {
    let room = (RENDER_LIMIT + 1).saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
    } else {
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&text[..cut]);
    }
}

fn write_expr(e: &Expr, out: &mut String) {
    if out.len() > RENDER_LIMIT {
        return;
    }
    match e {
        Expr::Empty => push_limited(out, "{}"),
        Expr::Literal(l) => match l {
            Literal::Boolean(b) => push_limited(out, &b.to_string()),
            Literal::String(s) => {
                push_limited(out, "'");
                let room = (RENDER_LIMIT + 1).saturating_sub(out.len());
                let head: String = s.chars().take(room).collect();
                push_limited(out, &head.replace('\'', "\\'"));
                push_limited(out, "'");
            }
            Literal::Integer(i) => push_limited(out, &i.to_string()),
            Literal::Decimal(d) => push_limited(out, &d.to_string()),
            Literal::Temporal(t) => push_limited(out, &format!("@{t}")),
            Literal::Quantity(q) => push_limited(out, &q.to_string()),
        },
        Expr::Ident(n) => push_limited(out, n),
        Expr::Member(t, n) => {
            write_expr(t, out);
            push_limited(out, ".");
            push_limited(out, n);
        }
        Expr::Call { target, name, args } => {
            if let Some(t) = target {
                write_expr(t, out);
                push_limited(out, ".");
            }
            push_limited(out, name);
            push_limited(out, "(");
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    push_limited(out, ", ");
                }
                write_expr(a, out);
            }
            push_limited(out, ")");
        }
        Expr::Index(t, i) => {
            write_expr(t, out);
            push_limited(out, "[");
            write_expr(i, out);
            push_limited(out, "]");
        }
        Expr::This => push_limited(out, "$this"),
        Expr::IndexVar => push_limited(out, "$index"),
        Expr::Total => push_limited(out, "$total"),
        Expr::External(n) => {
            push_limited(out, "%");
            push_limited(out, n);
        }
        Expr::Negate(x) => {
            push_limited(out, "-");
            write_expr(x, out);
        }
        Expr::Binary(op, l, r) => {
            write_expr(l, out);
            push_limited(out, &format!(" {} ", op_text(*op)));
            write_expr(r, out);
        }
        Expr::Is(x, t) => {
            write_expr(x, out);
            push_limited(out, &format!(" is {}", type_text(t)));
        }
        Expr::As(x, t) => {
            write_expr(x, out);
            push_limited(out, &format!(" as {}", type_text(t)));
        }
        Expr::Shared(x) => write_expr(x, out),
    }
}

fn type_text(t: &TypeSpec) -> String {
    match &t.namespace {
        Some(ns) => format!("{ns}.{}", t.name),
        None => t.name.clone(),
    }
}

fn op_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Implies => "implies",
        BinOp::Or => "or",
        BinOp::Xor => "xor",
        BinOp::And => "and",
        BinOp::In => "in",
        BinOp::Contains => "contains",
        BinOp::Eq => "=",
        BinOp::Equiv => "~",
        BinOp::NotEq => "!=",
        BinOp::NotEquiv => "!~",
        BinOp::Lt => "<",
        BinOp::Gt => ">",
        BinOp::Le => "<=",
        BinOp::Ge => ">=",
        BinOp::Union => "|",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Concat => "&",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::IntDiv => "div",
        BinOp::Mod => "mod",
    }
}

/// FHIR primitive types and the system type each stands for.
fn system_of(fhir: &str) -> Option<&'static str> {
    Some(match fhir {
        "string" | "code" | "id" | "uri" | "url" | "canonical" | "oid" | "uuid" | "markdown" | "base64Binary" | "xhtml" => "String",
        "boolean" => "Boolean",
        "integer" | "positiveInt" | "unsignedInt" | "integer64" => "Integer",
        "decimal" => "Decimal",
        "date" => "Date",
        "dateTime" | "instant" => "DateTime",
        "time" => "Time",
        "Quantity" | "Age" | "Distance" | "Duration" | "Count" | "SimpleQuantity" | "MoneyQuantity" => "Quantity",
        _ => return None,
    })
}

const PRIMITIVES: &[&str] = &[
    "boolean", "integer", "integer64", "string", "decimal", "uri", "url", "canonical", "base64Binary", "instant", "date", "dateTime", "time", "code", "oid", "id", "markdown",
    "unsignedInt", "positiveInt", "uuid", "xhtml",
];

impl<'c, 'a> Checker<'c, 'a> {
    fn warn(&mut self, key: &'static str, message: String) {
        if self.warned.insert((key, message.clone())) {
            self.warnings.push(Warning { key, message });
        }
    }

    /// The type and its ancestors, by name (`code`, `string`, `PrimitiveType`, ...).
    fn ancestors(&self, name: &str) -> Vec<String> {
        let mut out = vec![name.to_string()];
        let mut cur = self.cc.ctx.type_definition(name);
        while let Some(sd) = cur {
            if out.len() > 20 {
                break;
            }
            let Some(base) = sd.base_definition.as_deref() else { break };
            let n = base.rsplit('/').next().unwrap_or(base).to_string();
            if out.contains(&n) {
                break;
            }
            out.push(n.clone());
            cur = self.cc.ctx.type_definition(&n);
        }
        out
    }

    /// Whether the types hold `wanted` (a FHIR type name) or a system type
    /// it stands for, or a type `wanted` specializes.
    fn has_type(&self, types: &Types, wanted: &str) -> bool {
        let ancestors = self.ancestors(wanted);
        types.tys.iter().any(|t| match t {
            Ty::Any => true,
            Ty::Fhir(n) => ancestors.iter().any(|a| a == n),
            Ty::System(s) => system_of(wanted) == Some(*s) && !matches!(wanted, "uri" | "code" | "id" | "url" | "canonical" | "markdown" | "oid" | "uuid" | "positiveInt" | "unsignedInt" | "instant" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" | "MoneyQuantity" | "base64Binary" | "xhtml" | "integer64"),
            Ty::Elem(..) => false,
        })
    }

    fn has_any(&self, types: &Types, wanted: &[&str]) -> bool {
        wanted.iter().any(|w| self.has_type(types, w))
    }

    /// Whether an item of the actual type can be given where one of `wanted` (system types) is expected.
    fn fits(&self, actual: &Ty, wanted: &[&'static str]) -> bool {
        match actual {
            Ty::Any => true,
            Ty::System(s) => wanted.contains(s),
            Ty::Fhir(n) => self.ancestors(n).iter().any(|a| system_of(a).is_some_and(|s| wanted.contains(&s)) && PRIMITIVES.contains(&a.as_str()) || (a == "Quantity" && wanted.contains(&"Quantity"))),
            Ty::Elem(..) => false,
        }
    }

    fn expr(&mut self, e: &Expr, focus: Option<&Types>, scope: &Scope) -> Result<Types, EvalError> {
        self.depth += 1;
        if self.depth > 200 {
            self.depth -= 1;
            return Ok(Types::any(Status::Ordered));
        }
        let out = self.expr_inner(e, focus, scope);
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, e: &Expr, focus: Option<&Types>, scope: &Scope) -> Result<Types, EvalError> {
        Ok(match e {
            Expr::Empty => Types::new(Status::Singleton),
            Expr::Literal(l) => Types::system(match l {
                Literal::Boolean(_) => "Boolean",
                Literal::String(_) => "String",
                Literal::Integer(_) => "Integer",
                Literal::Decimal(_) => "Decimal",
                Literal::Temporal(t) if t.kind == Kind::Time => "Time",
                Literal::Temporal(_) => "DateTime",
                Literal::Quantity(_) => "Quantity",
            }),
            Expr::This => scope.this.clone(),
            Expr::IndexVar => Types::system("Integer"),
            Expr::Total => Types::any(Status::Unordered),
            Expr::External(name) => match name.as_str() {
                "resource" | "rootResource" => match &self.cc.resource_type {
                    Some(t) => Types::of(Status::Singleton, Ty::Fhir(t.clone())),
                    // FHIRPATH_CANNOT_USE
                    None => return fail(format!("Error evaluating FHIRPath expression: Cannot use %{name} in this context because no focus {name}")),
                },
                "context" => scope.context.clone(),
                "sct" | "loinc" | "ucum" | "us-zip" | "map-codes" => Types::system("String"),
                n if n.starts_with("`vs-") || n.starts_with("`cs-") || n.starts_with("`ext-") => Types::system("String"),
                _ => Types::any(Status::Singleton),
            },
            Expr::Ident(name) => {
                let base = focus.unwrap_or(&scope.this).clone();
                let out = if self.none_ok { self.name(&base, name, focus.is_none()).unwrap_or_else(|_| Types::new(base.status)) } else { self.name(&base, name, focus.is_none())? };
                out
            }
            Expr::Member(target, name) => {
                let base = self.expr(target, focus, scope)?;
                let out = self.name(&base, name, false)?;
                out
            }
            Expr::Index(target, index) => {
                let base = self.expr(target, focus, scope)?;
                self.expr(index, None, scope)?;
                if base.status == Status::Unordered {
                    // FHIRPATH_ORDERED_ONLY
                    return fail("Error evaluating FHIRPath expression: The function item can only be used on ordered collections".into());
                }
                base.with_status(Status::Singleton)
            }
            Expr::Negate(x) => {
                self.expr(x, focus, scope)?;
                let mut t = Types::new(Status::Singleton);
                for s in ["Integer", "Decimal", "Quantity"] {
                    t.add(Ty::System(s));
                }
                t
            }
            Expr::Shared(x) => self.expr(x, focus, scope)?,
            Expr::Is(x, ts) | Expr::As(x, ts) => {
                let left = self.expr(x, focus, scope)?;
                if left.status.is_list() {
                    self.warn("FHIRPATH_COLLECTION_STATUS_OPERATION_LEFT", left_collection(&render(e)));
                }
                if matches!(e, Expr::Is(..)) {
                    Types::system("Boolean")
                } else {
                    Types::of(Status::Singleton, self.named_type(ts))
                }
            }
            Expr::Binary(op, l, r) => {
                let left = self.expr(l, focus, scope)?;
                let right = self.expr(r, focus, scope)?;
                self.operate(*op, &left, &right, e)?
            }
            Expr::Call { target, name, args } => {
                let base = match target {
                    Some(t) => self.expr(t, focus, scope)?,
                    None => focus.cloned().unwrap_or_else(|| scope.this.clone()),
                };
                self.function(&base, name, args, e, scope)?
            }
        })
    }

    fn named_type(&self, ts: &TypeSpec) -> Ty {
        match ts.namespace.as_deref() {
            Some("System") => match ts.name.as_str() {
                "Boolean" => Ty::System("Boolean"),
                "String" => Ty::System("String"),
                "Integer" => Ty::System("Integer"),
                "Decimal" => Ty::System("Decimal"),
                "Date" => Ty::System("Date"),
                "DateTime" => Ty::System("DateTime"),
                "Time" => Ty::System("Time"),
                "Quantity" => Ty::System("Quantity"),
                _ => Ty::Any,
            },
            _ if self.cc.ctx.type_definition(&ts.name).is_some() => Ty::Fhir(ts.name.clone()),
            // A FHIR type no definition names: kept, so that what follows it
            // is refused (FHIRPATH_UNKNOWN_TYPE) as the reference refuses it.
            Some("FHIR") | None if ts.name.starts_with(|c: char| c.is_ascii_alphabetic()) && ts.name.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Ty::Fhir(ts.name.clone())
            }
            _ => Ty::Any,
        }
    }

    /// A name: the focus type itself at the start of a path, or a child element.
    fn name(&mut self, focus: &Types, name: &str, at_entry: bool) -> Result<Types, EvalError> {
        let mut out = Types::new(focus.status);
        for ty in &focus.tys {
            if at_entry && name.starts_with(|c: char| c.is_ascii_uppercase()) {
                if let Ty::Fhir(t) = ty {
                    if self.ancestors(t).iter().any(|a| a == name) {
                        out.add(ty.clone());
                        continue;
                    }
                }
            }
            if let Ty::Fhir(t) = ty {
                if !t.contains("://") && self.cc.ctx.type_definition(t).is_none() {
                    // FHIRPATH_UNKNOWN_TYPE
                    return fail(format!("Error evaluating FHIRPath expression: The type '{}' is unknown or not supported at getChildTypesByName#1", ty.uri()));
                }
            }
            self.child_types(ty, name, &mut out);
        }
        if out.tys.is_empty() {
            // FHIRPATH_UNKNOWN_NAME
            return fail(format!("Error evaluating FHIRPath expression: The name '{name}' is not valid for any of the possible types: {}", focus.describe()));
        }
        Ok(out)
    }

    /// The definition whose children an item of `ty` has: (definition, element).
    fn content(&self, ty: &Ty) -> Option<(Arc<StructureDef>, usize)> {
        match ty {
            Ty::Elem(sd, ix) => Some((sd.clone(), *ix)),
            Ty::Fhir(t) => {
                let sd = self.cc.ctx.type_definition(t)?;
                (!sd.elements.is_empty()).then_some((sd, 0))
            }
            _ => None,
        }
    }

    fn child_types(&self, ty: &Ty, name: &str, out: &mut Types) {
        if let Ty::Any = ty {
            out.add(Ty::Any);
            return;
        }
        if let Ty::System(_) = ty {
            return;
        }
        let Some((sd, pix)) = self.content(ty) else {
            // A type without a definition here: cannot be told.
            out.add(Ty::Any);
            return;
        };
        // Abstract types (Resource, Element) stand for their specializations,
        // whose elements the reference also looks in; a logical model may
        // carry its own rules: neither is judged here.
        if (pix == 0 && (sd.is_abstract || sd.kind == "logical")) || (PRIMITIVES.contains(&sd.type_name.as_str()) && pix == 0 && name == "value") {
            if !sd.elements[pix].children.iter().any(|&c| sd.elements[c].name == name || sd.elements[c].choice_name() == name) {
                out.add(Ty::Any);
                return;
            }
        }
        let parent = &sd.elements[pix];
        let Some(&cix) = parent.children.iter().find(|&&c| {
            let e = &sd.elements[c];
            e.name == name || (e.is_choice() && e.choice_name() == name)
        }) else {
            return;
        };
        let e = &sd.elements[cix];
        let status = if e.max == Some(1) || e.max == Some(0) { Status::Singleton } else { Status::Ordered };
        if status == Status::Ordered && out.status == Status::Singleton {
            out.status = Status::Ordered;
        }
        if e.is_choice() {
            out.choice = true;
        }
        if let Some(cr) = &e.content_reference {
            let path = cr.rsplit('#').next().unwrap_or(cr);
            match sd.elements.iter().position(|x| x.path == path) {
                Some(ix) => out.add(Ty::Elem(sd.clone(), ix)),
                None => out.add(Ty::Any),
            }
            return;
        }
        if !e.children.is_empty() {
            out.add(Ty::Elem(sd.clone(), cix));
            return;
        }
        if e.types.is_empty() {
            out.add(Ty::Any);
        }
        for t in &e.types {
            let code = t.code.as_str();
            if code.is_empty() {
                out.add(Ty::Any);
            } else if let Some(s) = code.strip_prefix(FP_NS) {
                out.add(match s {
                    "String" => Ty::System("String"),
                    "Boolean" => Ty::System("Boolean"),
                    "Integer" => Ty::System("Integer"),
                    "Decimal" => Ty::System("Decimal"),
                    "Date" => Ty::System("Date"),
                    "DateTime" => Ty::System("DateTime"),
                    "Time" => Ty::System("Time"),
                    _ => Ty::Any,
                });
            } else {
                out.add(Ty::Fhir(code.to_string()));
            }
        }
    }

    fn operate(&mut self, op: BinOp, left: &Types, right: &Types, e: &Expr) -> Result<Types, EvalError> {
        let text = || render(e);
        let boolean = Types::system("Boolean");
        match op {
            BinOp::Eq | BinOp::Equiv | BinOp::NotEq | BinOp::NotEquiv => {
                if left.status.is_list() && !right.status.is_list() {
                    self.warn("FHIRPATH_COLLECTION_STATUS_OPERATION_LEFT", left_collection(&text()));
                } else if !left.status.is_list() && right.status.is_list() {
                    self.warn("FHIRPATH_COLLECTION_STATUS_OPERATION_RIGHT", right_collection(&text()));
                }
                Ok(boolean)
            }
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                self.singles(left, right, &text());
                Ok(boolean)
            }
            BinOp::Union => Ok(left.union(right)),
            BinOp::Or | BinOp::And | BinOp::Xor | BinOp::Implies | BinOp::In | BinOp::Contains => Ok(boolean),
            BinOp::Concat => {
                self.singles(left, right, &text());
                Ok(Types::system("String"))
            }
            BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod | BinOp::Add | BinOp::Sub => {
                self.singles(left, right, &text());
                let mut out = Types::new(Status::Singleton);
                let numbers = |t: &Types| self.has_any(t, &["integer", "decimal"]);
                if left.is_unknown() || right.is_unknown() {
                    out.add(Ty::Any);
                } else if self.has_type(left, "integer") && self.has_type(right, "integer") {
                    out.add(Ty::System(if op == BinOp::Div { "Decimal" } else { "Integer" }));
                } else if numbers(left) && numbers(right) {
                    out.add(Ty::System("Decimal"));
                } else if op == BinOp::Add && self.has_any(left, &["string", "id", "code", "uri"]) && self.has_any(right, &["string", "id", "code", "uri"]) {
                    out.add(Ty::System("String"));
                } else if op == BinOp::Sub && self.has_type(left, "Quantity") && self.has_type(right, "Quantity") {
                    out.add(Ty::System("Quantity"));
                } else if matches!(op, BinOp::Add | BinOp::Sub) && self.has_any(left, &["date", "dateTime", "instant"]) {
                    if self.has_type(right, "Quantity") {
                        out.add(left.tys[0].clone());
                    } else {
                        let (r, l) = (right.tys.first().map(Ty::uri).unwrap_or_default(), left.tys[0].uri());
                        return fail(if op == BinOp::Add {
                            // FHIRPATH_ARITHMETIC_PLUS
                            format!("Error in date arithmetic: Unable to add type {r} to {l}")
                        } else {
                            // FHIRPATH_ARITHMETIC_MINUS
                            format!("Error in date arithmetic: Unable to subtract type {r} to {l}")
                        });
                    }
                }
                Ok(out)
            }
        }
    }

    fn singles(&mut self, left: &Types, right: &Types, text: &str) {
        if left.status.is_list() {
            self.warn("FHIRPATH_COLLECTION_STATUS_OPERATION_LEFT", left_collection(text));
        }
        if right.status.is_list() {
            self.warn("FHIRPATH_COLLECTION_STATUS_OPERATION_RIGHT", right_collection(text));
        }
    }

    /// The parameters' types; lambdas see each item of the focus as `$this`.
    fn params(&mut self, focus: &Types, name: &str, args: &[Expr], scope: &Scope) -> Result<Vec<Types>, EvalError> {
        let outer = std::mem::replace(&mut self.none_ok, false);
        let out = if name == "repeat" && args.len() == 1 { self.repeat(focus, &args[0], scope) } else { self.params_of(focus, name, args, scope) };
        self.none_ok = outer;
        out
    }

    /// `repeat()`'s argument, applied to what it returns until no new type appears.
    fn repeat(&mut self, focus: &Types, arg: &Expr, scope: &Scope) -> Result<Vec<Types>, EvalError> {
        let mut all = Types::new(Status::Ordered);
        let mut this = focus.clone();
        for _ in 0..20 {
            self.none_ok = true;
            let inner = Scope { this: this.clone(), context: scope.context.clone() };
            let found = self.expr(arg, None, &inner);
            self.none_ok = false;
            let found = found?;
            let before = all.tys.len();
            for t in found.tys {
                all.add(t);
            }
            if all.tys.len() == before {
                break;
            }
            this = all.clone();
        }
        Ok(vec![all])
    }

    fn params_of(&mut self, focus: &Types, name: &str, args: &[Expr], scope: &Scope) -> Result<Vec<Types>, EvalError> {
        let lambda = matches!(name, "where" | "select" | "exists" | "all" | "allTrue" | "anyTrue" | "allFalse" | "anyFalse" | "repeat" | "aggregate" | "sort" | "iif" | "trace" | "defineVariable");
        let singleton = matches!(name, "where" | "select" | "exists" | "all" | "allTrue" | "anyTrue" | "allFalse" | "anyFalse");
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            let t = if lambda {
                let this = if singleton { focus.with_status(Status::Singleton) } else { focus.clone() };
                let inner = Scope { this, context: scope.context.clone() };
                self.expr(a, None, &inner)?
            } else {
                self.expr(a, None, scope)?
            };
            out.push(t);
        }
        Ok(out)
    }

    /// Each parameter against the system types it may be.
    fn param_types(&mut self, name: &str, params: &[Types], expected: &[(&[&'static str], Status)], call: &Expr) -> Result<(), EvalError> {
        for (i, (wanted, status)) in expected.iter().enumerate() {
            let Some(actual) = params.get(i) else { return Ok(()) };
            if actual.is_unknown() {
                continue;
            }
            for t in &actual.tys {
                if !self.fits(t, wanted) {
                    let expecting: Vec<String> = wanted.iter().map(|w| format!("{FP_NS}{w}")).collect();
                    let status_text = match status {
                        Status::Singleton => "SINGLETON",
                        Status::Ordered => "ORDERED",
                        Status::Unordered => "UNORDERED",
                    };
                    // FHIRPATH_WRONG_PARAM_TYPE
                    return fail(format!(
                        "Error evaluating FHIRPath expression: The parameter type {} is not legal for {name} parameter {}. expecting {status_text}[{}]",
                        t.uri(),
                        i + 1,
                        expecting.join(", ")
                    ));
                }
            }
            if actual.status.is_list() && *status == Status::Singleton {
                // FHIRPATH_COLLECTION_STATUS_PARAMETER
                self.warn(
                    "FHIRPATH_COLLECTION_STATUS_PARAMETER",
                    format!(
                        "Parameter {} is inherently a collection, and so the expression '{name}' may fail, create an error, or return false if there is more than one item in the parameter value ({})",
                        i + 1,
                        render(call)
                    ),
                );
            }
        }
        Ok(())
    }

    fn function(&mut self, focus: &Types, name: &str, args: &[Expr], call: &Expr, scope: &Scope) -> Result<Types, EvalError> {
        let type_param = matches!(name, "is" | "as" | "ofType");
        let params = if type_param { Vec::new() } else { self.params(focus, name, args, scope)? };
        let known = !focus.is_unknown();
        let one = |t: &'static str| Types::system(t);
        const B: &[&str] = &["Boolean"];
        const S: &[&str] = &["String"];
        const I: &[&str] = &["Integer"];
        const N: &[&str] = &["Integer", "Decimal"];
        let single = Status::Singleton;
        if matches!(name, "first" | "last" | "tail" | "skip" | "take") && focus.status == Status::Singleton {
            // FHIRPATH_NOT_A_COLLECTION
            self.warn(
                "FHIRPATH_NOT_A_COLLECTION",
                format!(
                    "Found a use of a collection operator on something that is not a collection at '{}' - check that there's no mistakes in the expression syntax",
                    render(call)
                ),
            );
        }
        let ordered = |this: &Self, f: &str| -> Result<(), EvalError> {
            let _ = this;
            if focus.status == Status::Unordered {
                // FHIRPATH_ORDERED_ONLY
                return fail(format!("Error evaluating FHIRPath expression: The function {f} can only be used on ordered collections"));
            }
            Ok(())
        };
        Ok(match name {
            "empty" | "not" | "isDistinct" | "hasValue" | "htmlChecks" | "htmlChecks1" | "htmlChecks2" | "comparable" | "anyTrue" | "allTrue" | "anyFalse" | "allFalse" => one("Boolean"),
            "exists" | "all" => {
                self.param_types(name, &params, &[(B, single)], call)?;
                one("Boolean")
            }
            "subsetOf" | "supersetOf" => one("Boolean"),
            "distinct" | "exclude" => focus.clone(),
            "count" => one("Integer"),
            "where" => {
                self.param_types(name, &params, &[(B, single)], call)?;
                focus.clone()
            }
            "select" | "repeat" => params.first().cloned().unwrap_or_else(|| Types::any(Status::Ordered)),
            "aggregate" | "children" | "descendants" | "type" | "getValue" | "elementDefinition" | "slice" | "checkModifiers" | "debug" => Types::any(Status::Unordered),
            "single" => focus.with_status(single),
            "first" | "last" => {
                ordered(self, name)?;
                focus.with_status(single)
            }
            "tail" => {
                ordered(self, name)?;
                focus.clone()
            }
            "skip" | "take" => {
                ordered(self, name)?;
                self.param_types(name, &params, &[(I, single)], call)?;
                focus.clone()
            }
            "union" | "combine" => match params.first() {
                Some(p) => focus.union(p),
                None => focus.clone(),
            },
            "intersect" => focus.clone(),
            "iif" => {
                if focus.status != Status::Singleton {
                    // FHIRPATH_COLLECTION_STATUS_CONTEXT
                    self.warn(
                        "FHIRPATH_COLLECTION_STATUS_CONTEXT",
                        "The context is inherently a collection, and so the expression 'iif' may fail, create an error, or return false if there is more than one item in the context ({2})".into(),
                    );
                }
                self.param_types(name, &params, &[(B, single)], call)?;
                let mut t = Types::new(Status::Singleton);
                for p in params.iter().skip(1) {
                    t.update(p);
                }
                t
            }
            "lower" | "upper" | "toChars" | "indexOf" | "substring" | "startsWith" | "endsWith" | "matches" | "matchesFull" | "replaceMatches" | "contains" | "replace" => {
                if known && !focus.is_empty() && !self.has_any(focus, &["string", "code", "uri", "url", "canonical", "id"]) {
                    // FHIRPATH_STRING_SING_ONLY
                    return fail(format!("Error evaluating FHIRPath expression: The function {name} can only be used on string, uri, url, code, id but found {}", focus.describe()));
                }
                match name {
                    "substring" => self.param_types(name, &params, &[(I, single), (I, single)], call)?,
                    "replaceMatches" | "replace" => self.param_types(name, &params, &[(S, single), (S, single)], call)?,
                    "lower" | "upper" | "toChars" => {}
                    _ => self.param_types(name, &params, &[(S, single)], call)?,
                }
                match name {
                    "indexOf" => one("Integer"),
                    "startsWith" | "endsWith" | "matches" | "matchesFull" | "contains" => one("Boolean"),
                    "toChars" => Types::of(Status::Ordered, Ty::System("String")),
                    _ => one("String"),
                }
            }
            "length" | "toBoolean" | "toDateTime" | "toTime" | "toDate" | "convertsToInteger" | "convertsToDecimal" | "convertsToDateTime" | "convertsToDate" | "convertsToTime"
            | "convertsToBoolean" | "toInteger" | "toDecimal" | "toString" | "toQuantity" | "convertsToString" | "convertsToQuantity" => {
                let quantity = matches!(name, "toInteger" | "toDecimal" | "toString" | "toQuantity" | "convertsToString" | "convertsToQuantity");
                let primitive = focus.tys.iter().any(|t| match t {
                    Ty::Any | Ty::System(_) => true,
                    Ty::Fhir(n) => PRIMITIVES.contains(&n.as_str()) || (quantity && n == "Quantity"),
                    Ty::Elem(..) => false,
                });
                if known && !focus.is_empty() && !primitive {
                    // FHIRPATH_PRIMITIVE_ONLY
                    return fail(format!("Error evaluating FHIRPath expression: The function {name} can only be used on primitives"));
                }
                match name {
                    "length" | "toInteger" => one("Integer"),
                    "toDecimal" => one("Decimal"),
                    "toString" => one("String"),
                    "toQuantity" => one("Quantity"),
                    "toDateTime" | "toDate" => one("DateTime"),
                    "toTime" => one("Time"),
                    _ => one("Boolean"),
                }
            }
            "memberOf" => {
                if known && !self.has_any(focus, &["string", "code", "uri", "Coding", "CodeableConcept"]) {
                    // FHIRPATH_CODED_ONLY
                    return fail(format!(
                        "Error evaluating FHIRPath expression: The function {name} can only be used on ordered string, code, uri, Coding, CodeableConcept but found {}",
                        focus.describe()
                    ));
                }
                self.param_types(name, &params, &[(S, single)], call)?;
                one("Boolean")
            }
            "trace" | "check" => {
                self.param_types(name, &params, &[(S, single)], call)?;
                focus.clone()
            }
            "defineVariable" => focus.clone(),
            "today" | "now" => one("DateTime"),
            "timeOfDay" => one("Time"),
            "resolve" => {
                if known && !self.has_any(focus, &["string", "uri", "url", "Reference", "canonical"]) {
                    // FHIRPATH_REFERENCE_ONLY
                    return fail(format!(
                        "Error evaluating FHIRPath expression: The function {name} can only be used on ordered string, uri, canonical or Reference but found {}",
                        focus.describe()
                    ));
                }
                Types::any(focus.status)
            }
            "extension" => {
                self.param_types(name, &params, &[(S, single)], call)?;
                if let Some(Expr::Literal(Literal::String(url))) = args.first() {
                    // Cross-version extensions (`http://hl7.org/fhir/5.0/StructureDefinition/extension-...`)
                    // are made from the other version's definitions, not looked up.
                    let cross_version = url.strip_prefix("http://hl7.org/fhir/").and_then(|r| r.split_once("/StructureDefinition/extension-")).is_some_and(|(v, _)| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
                    if url.contains("://") && !cross_version && self.cc.ctx.structure(url).is_none() {
                        // FHIRPATH_UNKNOWN_EXTENSION
                        self.warn(
                            "FHIRPATH_UNKNOWN_EXTENSION",
                            format!("Reference to an unknown extension - double check that the URL '{url}' is correct"),
                        );
                    }
                }
                Types::of(Status::Ordered, Ty::Fhir("Extension".into()))
            }
            "conformsTo" | "hasTemplateIdOf" | "subsumes" | "subsumedBy" => {
                self.param_types(name, &params, &[(S, single)], call)?;
                one("Boolean")
            }
            "encode" | "decode" | "escape" | "unescape" | "split" | "join" => {
                self.param_types(name, &params, &[(S, single)], call)?;
                one("String")
            }
            "trim" => one("String"),
            "abs" | "exp" | "ln" | "sqrt" | "log" | "power" => {
                if known && !focus.is_empty() && !self.has_any(focus, &["integer", "decimal", "Quantity"]) {
                    // FHIRPATH_NUMERICAL_ONLY
                    return fail(format!("Error evaluating FHIRPath expression: The function {name} can only be used on integer, decimal or Quantity but found {}", focus.describe()));
                }
                if matches!(name, "log" | "power") {
                    self.param_types(name, &params, &[(N, single)], call)?;
                }
                match name {
                    "abs" | "power" => focus.with_status(single),
                    _ => one("Decimal"),
                }
            }
            "truncate" | "floor" | "ceiling" | "round" => {
                if known && !focus.is_empty() && !self.has_any(focus, &["integer", "decimal"]) {
                    // FHIRPATH_DECIMAL_ONLY
                    return fail(format!("Error evaluating FHIRPath expression: The function {name} can only be used on a decimal but found {}", focus.describe()));
                }
                if name == "round" {
                    self.param_types(name, &params, &[(I, single)], call)?;
                    one("Decimal")
                } else {
                    one("Integer")
                }
            }
            "lowBoundary" | "highBoundary" | "precision" => {
                let integer = name != "precision" && self.has_type(focus, "integer");
                if known && !focus.is_empty() && !integer && !self.has_any(focus, &["decimal", "date", "dateTime", "time", "Quantity"]) {
                    // FHIRPATH_CONTINUOUS_ONLY
                    return fail(format!("Error evaluating FHIRPath expression: The function {name} can only be used on a decimal or date type but found {}", focus.describe()));
                }
                if name == "precision" {
                    one("Integer")
                } else {
                    self.param_types(name, &params, &[(I, single)], call)?;
                    Types::any(single)
                }
            }
            "sort" => focus.with_status(Status::Ordered),
            "coalesce" => {
                let mut t = Types::new(Status::Singleton);
                for p in &params {
                    t.update(p);
                }
                t
            }
            "is" => one("Boolean"),
            "as" | "ofType" => {
                let Some(ts) = args.first().and_then(|a| super::functions::type_spec(a).ok()) else { return Ok(Types::any(single)) };
                let ty = self.named_type(&ts);
                if known && !matches!(ty, Ty::Any) && !self.cast_possible(focus, &ty) {
                    // FHIRPATH_OFTYPE_IMPOSSIBLE
                    self.warn(
                        "FHIRPATH_OFTYPE_IMPOSSIBLE",
                        format!(
                            "The type specified in ofType() is {} which is not a possible candidate for the existing types ({}) in the expression {}. Check the paths and types to be sure this is what is intended",
                            ty.uri(),
                            // The reference lists the focus types through a
                            // sort that starts from an empty list, so the
                            // list it writes is always empty.
                            "",
                            render(call)
                        ),
                    );
                }
                Types::of(single, ty)
            }
            _ => Types::any(Status::Ordered),
        })
    }

    /// Whether an item of one of the focus types could be of `ty`: `ty` is
    /// one of them or specializes one.
    fn cast_possible(&self, focus: &Types, ty: &Ty) -> bool {
        match ty {
            Ty::Fhir(n) => {
                let ancestors = self.ancestors(n);
                focus.tys.iter().any(|t| match t {
                    Ty::Fhir(f) => ancestors.contains(f),
                    Ty::System(s) => system_of(n) == Some(*s),
                    Ty::Elem(..) => matches!(n.as_str(), "BackboneElement" | "Element" | "Base"),
                    Ty::Any => true,
                })
            }
            Ty::System(s) => focus.tys.iter().any(|t| match t {
                Ty::System(f) => f == s,
                Ty::Fhir(f) => system_of(f) == Some(*s),
                _ => true,
            }),
            _ => true,
        }
    }
}

fn left_collection(text: &str) -> String {
    // FHIRPATH_COLLECTION_STATUS_OPERATION_LEFT
    format!("The left side is inherently a collection, and so the expression '{text}' may fail or return false if there is more than one item in the content being evaluated")
}

fn right_collection(text: &str) -> String {
    // FHIRPATH_COLLECTION_STATUS_OPERATION_RIGHT
    format!("The right side is inherently a collection, and so this expression '{text}' may fail or return false if there is more than one item in the content being evaluated")
}
