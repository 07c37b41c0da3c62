//! `careplan fhirpath EXPR FILE`: evaluates a FHIRPath expression against a
//! resource and prints the result collection.

use super::exit;
use super::load_args::LoadArgs;
use crate::context::Context;
use crate::fhirpath::{self, EvalContext, Item};
use crate::tree::Node;
use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// One `type: value` line per item (an empty result is said on stderr).
    Text,
    /// A JSON array of `{"type": T, "value": V}`.
    Json,
}

#[derive(Args, Debug)]
pub struct FhirpathArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// The FHIRPath expression.
    #[arg(value_name = "EXPR")]
    pub expression: String,
    /// The resource (JSON or XML) to evaluate it against.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn run(args: FhirpathArgs) -> Result<i32> {
    let expr = match fhirpath::parse(&args.expression) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("  {}", args.expression);
            eprintln!("  {}^", " ".repeat(e.column.saturating_sub(1)));
            return Ok(exit::CANNOT_RUN);
        }
    };
    let bytes = std::fs::read(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let doc = crate::parse::parse(&bytes, None);
    let Some(root) = doc.root else {
        let why = doc.issues.first().map(|i| i.message.clone()).unwrap_or_default();
        anyhow::bail!("{}: cannot be read: {why}", args.file.display());
    };
    let ctx = args.load.load()?;
    let type_name = root.resource_type.as_deref().unwrap_or("").to_string();
    let mut env = EvalContext::new(&ctx);
    env.resource = Some(&root);
    env.root_resource = Some(&root);
    if type_name == "Bundle" {
        env.bundle = Some(&root);
    }
    let result = match fhirpath::evaluate(&expr, &root, &type_name, &env) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::INVALID);
        }
    };
    match args.output {
        Output::Text => {
            // Said on stderr, so that standard output stays the result (nothing) for scripts.
            if result.is_empty() {
                eprintln!("empty: `{}` selects nothing in {} (the result is the empty collection)", args.expression, args.file.display());
            }
            for item in &result {
                println!("{}: {}", item.type_name(), value_json(item, &ctx, false));
            }
        }
        Output::Json => {
            let items: Vec<String> = result
                .iter()
                .map(|i| format!("{{\"type\":{},\"value\":{}}}", serde_json::Value::String(i.type_name().to_string()), value_json(i, &ctx, true)))
                .collect();
            println!("[{}]", items.join(","));
        }
    }
    Ok(exit::OK)
}

/// The item as FHIR JSON writes it (exact decimals, dates without `@`);
/// with `quote` false, strings are printed bare (for text output).
fn value_json(item: &Item<'_>, ctx: &Context, quote: bool) -> String {
    let string = |s: String| if quote { serde_json::Value::String(s).to_string() } else { s };
    if let Item::Node { node, type_name, .. } = item {
        if node.value.is_none() || !fhirpath::value::is_primitive_type(type_name) {
            return node_json(node, type_name, ctx).to_string();
        }
    }
    match item.to_system() {
        Some(Item::Boolean(b)) => b.to_string(),
        Some(Item::Integer(i)) => i.to_string(),
        Some(Item::Decimal(d)) => d.to_string(),
        Some(Item::Quantity(q)) => {
            if quote {
                format!("{{\"value\":{},\"unit\":{}}}", q.value, serde_json::Value::String(q.unit))
            } else {
                q.to_string()
            }
        }
        Some(other) => string(other.text().unwrap_or_default()),
        None => match item {
            Item::Type { namespace, name } => string(format!("{namespace}.{name}")),
            _ => "null".into(),
        },
    }
}

fn node_json(node: &Node, type_name: &str, ctx: &Context) -> serde_json::Value {
    if node.resource_type.is_some() {
        return crate::convert::resource_to_json(node, ctx);
    }
    // Complex values convert as a resource of their type would, without `resourceType`.
    let mut n = node.clone();
    n.resource_type = Some(if type_name.is_empty() { "Element".into() } else { type_name.into() });
    let mut v = crate::convert::resource_to_json(&n, ctx);
    if let Some(o) = v.as_object_mut() {
        o.remove("resourceType");
    }
    v
}
