//! Tokens into the expression tree, with the operator precedence of the
//! FHIRPath grammar (lowest first): `implies`; `or xor`; `and`; `in
//! contains`; `= ~ != !~`; `< > <= >=`; `|`; `is as`; `+ - &`; `* / div
//! mod`; unary `+ -`; `.` and `[]`.

use super::lexer::{tokenize, Tok, Token};
use super::value::{parse_date_literal, Quantity};
use super::SyntaxError;
use rust_decimal::Decimal;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Boolean(bool),
    String(String),
    Integer(i64),
    Decimal(Decimal),
    /// `@` literals, kept parsed.
    Temporal(super::value::Temporal),
    Quantity(Quantity),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Implies,
    Or,
    Xor,
    And,
    In,
    Contains,
    Eq,
    Equiv,
    NotEq,
    NotEquiv,
    Lt,
    Gt,
    Le,
    Ge,
    Union,
    Add,
    Sub,
    Concat,
    Mul,
    Div,
    IntDiv,
    Mod,
}

/// A type name as written after `is`/`as` or in `ofType()`: `Quantity`,
/// `System.Boolean`, `FHIR.Patient`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeSpec {
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Empty,
    Literal(Literal),
    /// An identifier at the start of a path (may name the focus's type).
    Ident(String),
    Member(Box<Expr>, String),
    /// A function call; `target` is `None` when called on the focus.
    Call { target: Option<Box<Expr>>, name: String, args: Vec<Expr> },
    Index(Box<Expr>, Box<Expr>),
    This,
    IndexVar,
    Total,
    External(String),
    Negate(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Is(Box<Expr>, TypeSpec),
    As(Box<Expr>, TypeSpec),
    /// A path that depends on nothing but the environment
    /// (`%resource.entry.fullUrl`), written inside a function's argument:
    /// evaluated once per evaluation however often the argument runs.
    Shared(Box<Expr>),
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// How deeply expressions may nest (parentheses, arguments, indexers).
const MAX_NESTING: usize = 64;
/// How many operators or path steps may follow each other at one level.
const MAX_CHAIN: usize = 1000;
/// How deep the whole tree may be: nesting and chains multiply (64 levels of
/// 1,000-operator chains make a tree 64,000 deep), and every walk of the tree
/// (sharing constants, evaluation, the static check, rendering) recurses, so
/// the tree is measured before any of them runs (the thirty-second pass's X1).
pub const MAX_TREE_DEPTH: usize = 256;

pub fn parse_expr(src: &str) -> Result<Expr, SyntaxError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let e = p.expr(0)?;
    if p.peek() != &Tok::End {
        return Err(p.error(format!("unexpected {}", describe(p.peek()))));
    }
    if tree_depth(&e) > MAX_TREE_DEPTH {
        return Err(SyntaxError { message: format!("expression nested too deeply (more than {MAX_TREE_DEPTH} levels of operators, steps and calls)"), column: 1 });
    }
    Ok(share_constants(e, false))
}

/// The depth of an expression's tree, measured without recursion.
fn tree_depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        if deepest > MAX_TREE_DEPTH {
            break;
        }
        match e {
            Expr::Member(t, _) | Expr::Negate(t) | Expr::Is(t, _) | Expr::As(t, _) | Expr::Shared(t) => stack.push((t, d + 1)),
            Expr::Index(a, b) | Expr::Binary(_, a, b) => {
                stack.push((a, d + 1));
                stack.push((b, d + 1));
            }
            Expr::Call { target, args, .. } => {
                stack.extend(target.iter().map(|t| (&**t, d + 1)));
                stack.extend(args.iter().map(|a| (a, d + 1)));
            }
            Expr::Empty | Expr::Literal(_) | Expr::Ident(_) | Expr::This | Expr::IndexVar | Expr::Total | Expr::External(_) => {}
        }
    }
    deepest
}

/// Wraps the environment-constant paths inside function arguments in
/// [`Expr::Shared`]; `in_argument` says whether `e` lies inside one.
fn share_constants(e: Expr, in_argument: bool) -> Expr {
    if in_argument && matches!(e, Expr::Member(..) | Expr::Call { .. } | Expr::Index(..)) && depends_on_environment_only(&e) {
        return Expr::Shared(Box::new(e));
    }
    let inner = |b: Box<Expr>| Box::new(share_constants(*b, in_argument));
    match e {
        Expr::Member(t, n) => Expr::Member(inner(t), n),
        Expr::Call { target, name, args } => Expr::Call {
            target: target.map(inner),
            name,
            args: args.into_iter().map(|a| share_constants(a, true)).collect(),
        },
        Expr::Index(t, i) => Expr::Index(inner(t), inner(i)),
        Expr::Negate(x) => Expr::Negate(inner(x)),
        Expr::Binary(op, l, r) => Expr::Binary(op, inner(l), inner(r)),
        Expr::Is(x, t) => Expr::Is(inner(x), t),
        Expr::As(x, t) => Expr::As(inner(x), t),
        other => other,
    }
}

/// Whether an expression's value is fixed by the environment alone: a
/// `%constant` followed by member steps, indexes and calls whose arguments
/// are literals or type names.
fn depends_on_environment_only(e: &Expr) -> bool {
    match e {
        Expr::External(_) | Expr::Literal(_) => true,
        Expr::Member(t, _) => depends_on_environment_only(t),
        Expr::Index(t, i) => depends_on_environment_only(t) && depends_on_environment_only(i),
        Expr::Call { target: Some(t), name, args } => {
            let type_names = matches!(name.as_str(), "ofType" | "is" | "as");
            depends_on_environment_only(t) && args.iter().all(|a| matches!(a, Expr::Literal(_)) || (type_names && matches!(a, Expr::Ident(_) | Expr::Member(..))))
        }
        _ => false,
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::End => "end of expression".into(),
        Tok::Ident { name, .. } => format!("'{name}'"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Number(n) => format!("number {n}"),
        Tok::DateTime(d) => format!("@{d}"),
        Tok::External(e) => format!("%{e}"),
        Tok::Special(s) => format!("${s}"),
        Tok::Sym(s) => format!("'{s}'"),
    }
}

/// Precedence levels, lowest first.
const LEVELS: usize = 10;

fn binop_at(level: usize, t: &Tok) -> Option<BinOp> {
    let (sym, word) = match t {
        Tok::Sym(s) => (Some(*s), None),
        Tok::Ident { name, quoted: false } => (None, Some(name.as_str())),
        _ => return None,
    };
    let op = match (level, sym, word) {
        (0, _, Some("implies")) => BinOp::Implies,
        (1, _, Some("or")) => BinOp::Or,
        (1, _, Some("xor")) => BinOp::Xor,
        (2, _, Some("and")) => BinOp::And,
        (3, _, Some("in")) => BinOp::In,
        (3, _, Some("contains")) => BinOp::Contains,
        (4, Some("="), _) => BinOp::Eq,
        (4, Some("~"), _) => BinOp::Equiv,
        (4, Some("!="), _) => BinOp::NotEq,
        (4, Some("!~"), _) => BinOp::NotEquiv,
        (5, Some("<"), _) => BinOp::Lt,
        (5, Some(">"), _) => BinOp::Gt,
        (5, Some("<="), _) => BinOp::Le,
        (5, Some(">="), _) => BinOp::Ge,
        (6, Some("|"), _) => BinOp::Union,
        // level 7 is `is`/`as`, handled apart
        (8, Some("+"), _) => BinOp::Add,
        (8, Some("-"), _) => BinOp::Sub,
        (8, Some("&"), _) => BinOp::Concat,
        (9, Some("*"), _) => BinOp::Mul,
        (9, Some("/"), _) => BinOp::Div,
        (9, _, Some("div")) => BinOp::IntDiv,
        (9, _, Some("mod")) => BinOp::Mod,
        _ => return None,
    };
    Some(op)
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn col(&self) -> usize {
        self.toks[self.pos].col
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError { message, column: self.col() }
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), SyntaxError> {
        if self.is_sym(sym) {
            self.next();
            Ok(())
        } else {
            Err(self.error(format!("expected '{sym}' but found {}", describe(self.peek()))))
        }
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Tok::Sym(s) if *s == sym)
    }

    fn expr(&mut self, level: usize) -> Result<Expr, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error("expression nested too deeply".into()));
        }
        let r = self.climb(level);
        self.depth -= 1;
        r
    }

    /// The operator at the cursor with its precedence level (`is`/`as` are level 7).
    fn peek_op(&self) -> Option<(usize, Option<BinOp>)> {
        if let Tok::Ident { name, quoted: false } = self.peek() {
            if name == "is" || name == "as" {
                return Some((7, None));
            }
        }
        (0..LEVELS).find_map(|l| binop_at(l, self.peek()).map(|op| (l, Some(op))))
    }

    /// Precedence climbing: operands bind to operators of level `min` or tighter.
    fn climb(&mut self, min: usize) -> Result<Expr, SyntaxError> {
        let mut left = self.unary()?;
        let mut chain = 0;
        while let Some((level, op)) = self.peek_op() {
            if level < min {
                break;
            }
            chain += 1;
            if chain > MAX_CHAIN {
                return Err(self.error("expression too long".into()));
            }
            let word = self.next();
            match op {
                None => {
                    let ts = self.type_spec()?;
                    left = if matches!(word, Tok::Ident { ref name, .. } if name == "is") { Expr::Is(Box::new(left), ts) } else { Expr::As(Box::new(left), ts) };
                }
                Some(op) => {
                    let right = self.climb(level + 1)?;
                    left = Expr::Binary(op, Box::new(left), Box::new(right));
                }
            }
        }
        Ok(left)
    }

    fn type_spec(&mut self) -> Result<TypeSpec, SyntaxError> {
        let first = match self.next() {
            Tok::Ident { name, .. } => name,
            t => return Err(self.error(format!("expected a type name but found {}", describe(&t)))),
        };
        if self.is_sym(".") {
            if let Tok::Ident { name, .. } = &self.toks[self.pos + 1].tok {
                let name = name.clone();
                self.next();
                self.next();
                return Ok(TypeSpec { namespace: Some(first), name });
            }
        }
        Ok(TypeSpec { namespace: None, name: first })
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let mut negate = false;
        let mut signs = 0;
        while self.is_sym("-") || self.is_sym("+") {
            if self.is_sym("-") {
                negate = !negate;
            }
            signs += 1;
            if signs > MAX_NESTING {
                return Err(self.error("too many signs".into()));
            }
            self.next();
        }
        let e = self.postfix()?;
        if !negate {
            return Ok(e);
        }
        Ok(match e {
            Expr::Literal(Literal::Integer(i)) => Expr::Literal(Literal::Integer(-i)),
            Expr::Literal(Literal::Decimal(d)) => Expr::Literal(Literal::Decimal(-d)),
            Expr::Literal(Literal::Quantity(mut q)) => {
                q.value = -q.value;
                Expr::Literal(Literal::Quantity(q))
            }
            other => Expr::Negate(Box::new(other)),
        })
    }

    fn postfix(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.term()?;
        let mut chain = 0;
        loop {
            chain += 1;
            if chain > MAX_CHAIN {
                return Err(self.error("path too long".into()));
            }
            if self.is_sym(".") {
                self.next();
                let name = match self.next() {
                    Tok::Ident { name, .. } => name,
                    t => return Err(self.error(format!("expected a name after '.' but found {}", describe(&t)))),
                };
                if self.is_sym("(") {
                    let args = self.args()?;
                    e = Expr::Call { target: Some(Box::new(e)), name, args };
                } else {
                    e = Expr::Member(Box::new(e), name);
                }
            } else if self.is_sym("[") {
                self.next();
                let ix = self.expr(0)?;
                self.expect_sym("]")?;
                e = Expr::Index(Box::new(e), Box::new(ix));
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn args(&mut self) -> Result<Vec<Expr>, SyntaxError> {
        self.expect_sym("(")?;
        let mut args = Vec::new();
        if self.is_sym(")") {
            self.next();
            return Ok(args);
        }
        loop {
            args.push(self.expr(0)?);
            if self.is_sym(",") {
                self.next();
                continue;
            }
            self.expect_sym(")")?;
            return Ok(args);
        }
    }

    fn term(&mut self) -> Result<Expr, SyntaxError> {
        let col = self.col();
        match self.next() {
            Tok::Number(n) => {
                let value = if n.contains('.') {
                    Literal::Decimal(Decimal::from_str(&n).map_err(|_| SyntaxError { message: format!("number {n} is out of range"), column: col })?)
                } else {
                    match n.parse::<i64>() {
                        Ok(i) => Literal::Integer(i),
                        Err(_) => Literal::Decimal(Decimal::from_str(&n).map_err(|_| SyntaxError { message: format!("number {n} is out of range"), column: col })?),
                    }
                };
                // A quantity: a number followed by a unit string or a calendar duration.
                let unit = match self.peek() {
                    Tok::Str(u) => Some(u.clone()),
                    Tok::Ident { name, quoted: false } if super::value::is_calendar_unit(name) => Some(name.clone()),
                    _ => None,
                };
                if let Some(unit) = unit {
                    self.next();
                    let v = match value {
                        Literal::Integer(i) => Decimal::from(i),
                        Literal::Decimal(d) => d,
                        _ => unreachable!(),
                    };
                    return Ok(Expr::Literal(Literal::Quantity(Quantity { value: v, unit })));
                }
                Ok(Expr::Literal(value))
            }
            Tok::Str(s) => Ok(Expr::Literal(Literal::String(s))),
            Tok::DateTime(d) => match parse_date_literal(&d) {
                Some(t) => Ok(Expr::Literal(Literal::Temporal(t))),
                None => Err(SyntaxError { message: format!("invalid date/time literal @{d}"), column: col }),
            },
            Tok::External(name) => Ok(Expr::External(name)),
            Tok::Special(s) => Ok(match s.as_str() {
                "this" => Expr::This,
                "index" => Expr::IndexVar,
                _ => Expr::Total,
            }),
            Tok::Sym("(") => {
                let e = self.expr(0)?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Sym("{") => {
                self.expect_sym("}")?;
                Ok(Expr::Empty)
            }
            Tok::Ident { name, quoted } => {
                if !quoted && (name == "true" || name == "false") {
                    return Ok(Expr::Literal(Literal::Boolean(name == "true")));
                }
                if self.is_sym("(") {
                    let args = self.args()?;
                    return Ok(Expr::Call { target: None, name, args });
                }
                Ok(Expr::Ident(name))
            }
            t => Err(SyntaxError { message: format!("unexpected {}", describe(&t)), column: col }),
        }
    }
}
