//! The validator: walks an element tree against compiled definitions and
//! reports issues.
//!
//! One walk per (resource, profile): the base definition of the resource's
//! type, then each profile it claims (`meta.profile`) or the caller asks for.
//! The walk owns the path of the node it is at, so every issue gets a
//! FHIRPath expression and a position without any string work on the happy
//! path.

mod bundle;
pub(crate) mod element;
mod expression;
mod invariants;
mod narrative;
mod rules;
pub use rules::string_content::HtmlInMarkdown;
mod slicing;

use crate::context::Context;
use crate::issue::{Issue, IssueCode, Severity};
use crate::parse;
use crate::terminology::Terminology;
use crate::tree::{Document, Format, Node};
use std::sync::Arc;

pub use expression::PathStack;

#[derive(Clone, Debug)]
pub struct Options {
    /// Profiles every resource is validated against, beside its `meta.profile`.
    pub profiles: Vec<String>,
    /// Leave out the FHIRPath invariants (for measuring what they cost).
    pub skip_invariants: bool,
    /// A terminology server (FHIR base URL) for codes not decidable locally.
    pub tx: Option<String>,
    /// How a failed best-practice invariant is reported; `None` leaves it out.
    /// The default, as the reference validator's, is a warning.
    pub best_practice: Option<Severity>,
    /// Take the type a RESTful reference's URL names as the target's type
    /// when the target cannot be resolved (the reference validator's
    /// `-assumeValidRestReferences`), and check it against the allowed targets.
    pub assume_valid_rest_references: bool,
    /// Refuse strings that look like they hold HTML tags (the reference
    /// validator's security checks); without, such a string is a hint.
    pub security_checks: bool,
    /// How markdown that holds HTML is reported.
    pub html_in_markdown: HtmlInMarkdown,
    /// Validate the resources inside a resource (contained ones, Bundle
    /// entries, Parameters' resources). Without, they are left alone, with
    /// what depends on their validation (whether each contained resource is
    /// referenced): the reference validator's `validateContains` policy `IGNORE`.
    pub validate_nested_resources: bool,
    /// Report wrong displays as warnings, not errors (the reference
    /// validator's `-display-issues-are-warnings`).
    pub display_issues_are_warnings: bool,
    /// Hold content to the rules of HL7's own publications (the reference
    /// validator's `-forPublication`): an HL7 canonical resource names its
    /// owning work group, internal links must resolve.
    pub for_publication: bool,
    /// Refuse canonical resources marked experimental (the reference
    /// validator's `-no-experimental-content`).
    pub no_experimental_content: bool,
    /// Refuse Unicode bi-directional control characters in values (the
    /// reference validator's `-no_unicode_bidi_control_chars`).
    pub no_unicode_bidi_control_chars: bool,
    /// Say, as information, which profiles each resource is validated
    /// against and why (the reference validator's crumb trails).
    pub signposts: bool,
    /// With profiles asked for, name as information each element used that
    /// the profiles do not mark must-support (the reference validator's
    /// `-hintAboutNonMustSupport`).
    pub hint_about_must_support: bool,
    /// Whether the resource validated (not the ones inside it) must have an
    /// id, or must not (the reference validator's `-resource-id-rule`).
    pub resource_id_rule: IdRule,
    /// The most issues one input may report (the reference validator's
    /// `-max-validation-messages`); past it, the last one listed says so.
    pub max_messages: Option<usize>,
}

/// Whether a resource must have an id, may, or must not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdRule {
    #[default]
    Optional,
    Required,
    Prohibited,
}

impl Default for Options {
    fn default() -> Self {
        Options { profiles: Vec::new(), skip_invariants: false, tx: None, best_practice: Some(Severity::Warning), assume_valid_rest_references: false, security_checks: false, html_in_markdown: Default::default(), validate_nested_resources: true, display_issues_are_warnings: false, for_publication: false, no_experimental_content: false, no_unicode_bidi_control_chars: false, signposts: false, hint_about_must_support: false, resource_id_rule: IdRule::Optional, max_messages: None }
    }
}

/// A validator bound to a set of definitions. Cheap to share between threads.
#[derive(Clone)]
pub struct Validator {
    ctx: Arc<Context>,
    terminology: Arc<Terminology>,
    options: Options,
}

impl Validator {
    pub fn new(ctx: Arc<Context>, options: Options) -> Validator {
        let terminology = match &options.tx {
            Some(base) => Terminology::with_server(ctx.clone(), base).unwrap_or_else(|e| {
                tracing::warn!("{e}; validating without a terminology server");
                Terminology::new(ctx.clone())
            }),
            None => Terminology::new(ctx.clone()),
        };
        let terminology = Arc::new(terminology);
        Validator { ctx, terminology, options }
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    pub fn terminology(&self) -> &Terminology {
        &self.terminology
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Parses and validates one input.
    pub fn validate_bytes(&self, bytes: &[u8], format: Option<Format>) -> Vec<Issue> {
        let doc = parse::parse(bytes, format);
        self.validate_document(&doc)
    }

    pub fn validate_document(&self, doc: &Document) -> Vec<Issue> {
        let mut issues = doc.issues.clone();
        // After a fatal reading error the tree is partial: judging it would only add noise.
        let readable = !issues.iter().any(|i| i.severity == crate::issue::Severity::Fatal);
        if let (Some(root), true) = (&doc.root, readable) {
            let wanted: std::collections::HashSet<crate::tree::Pos> = issues.iter().filter(|i| i.message.starts_with(UNDEFINED_ATTRIBUTE)).filter_map(|i| i.pos).collect();
            let (found, types) = self.walk_resource(root, doc.format, wanted);
            if let Some(types) = types {
                attribute_types(&mut issues, &doc.xsi_types, &types);
            }
            issues.extend(found);
        }
        if let Some(max) = self.options.max_messages.filter(|&m| m > 0) {
            limit_messages(&mut issues, max, doc.root.as_ref().map_or("", |r| r.resource_type.as_deref().unwrap_or(r.name.as_str())));
        }
        issues
    }

    /// Validates a parsed resource against its type, its claimed profiles and
    /// the configured ones.
    pub fn validate_resource(&self, root: &Node, format: Format) -> Vec<Issue> {
        self.walk_resource(root, format, Default::default()).0
    }

    /// The walk of a resource, and (when positions are `wanted`) the type of
    /// the element at each of them.
    fn walk_resource(
        &self,
        root: &Node,
        format: Format,
        wanted: std::collections::HashSet<crate::tree::Pos>,
    ) -> (Vec<Issue>, Option<std::collections::HashMap<crate::tree::Pos, String>>) {
        let mut walk = element::Walk::new(self, format);
        if !wanted.is_empty() {
            walk.types_at = Some((wanted, Default::default()));
        }
        let type_name = root.resource_type.as_deref().unwrap_or(root.name.as_str());
        walk.path.push_root(type_name);
        if self.options.hint_about_must_support && !self.options.profiles.is_empty() {
            walk.usage = Some(Default::default());
        }
        walk.resource(root, &self.options.profiles);
        rules::must_support::report(&mut walk, root);
        let types = walk.types_at.take().map(|(_, types)| types);
        let mut issues = walk.into_issues();
        dedup(&mut issues);
        (issues, types)
    }
}

/// How the XML reader begins its message for an attribute FHIR does not define.
const UNDEFINED_ATTRIBUTE: &str = "Undefined attribute '@";

/// The XML reader's undefined attributes completed with the type of their
/// element, as the reference words them; and `xsi:type` judged against it.
fn attribute_types(issues: &mut Vec<Issue>, xsi_types: &[(crate::tree::Pos, String)], types: &std::collections::HashMap<crate::tree::Pos, String>) {
    let mut extra = Vec::new();
    for issue in issues.iter_mut().filter(|i| i.message.starts_with(UNDEFINED_ATTRIBUTE)) {
        let Some(ty) = issue.pos.and_then(|p| types.get(&p)) else { continue };
        let Some((attribute, on)) = issue.message.strip_prefix(UNDEFINED_ATTRIBUTE).and_then(|m| m.split_once("' on ")) else { continue };
        // Undefined_attribute__on__for_type__properties__
        issue.message = format!("Undefined attribute '@{attribute}' on {on} for type {ty}");
        let Some((_, value)) = xsi_types.iter().find(|(p, _)| Some(*p) == issue.pos) else { continue };
        if !issue.message.contains(":type' on ") {
            continue;
        }
        let mut judged = issue.clone();
        if value == ty {
            // XSI_TYPE_UNNECESSARY
            judged.severity = crate::issue::Severity::Information;
            judged.code = crate::issue::IssueCode::Invalid;
            judged.message = "xsi:type is unnecessary at this point".into();
        } else {
            // XSI_TYPE_WRONG
            judged.code = crate::issue::IssueCode::Invalid;
            judged.message = format!("The xsi:type value '{value}' is wrong (should be '{ty}'). Note that xsi:type is unnecessary at this point");
        }
        extra.push(judged);
    }
    issues.extend(extra);
}

/// The same problem found by two profiles' walks is one issue.
/// More issues than `max`: as the reference's bounded list, the first
/// `max - 1` are kept and the last place says that validation stopped.
fn limit_messages(issues: &mut Vec<Issue>, max: usize, root: &str) {
    if issues.len() <= max {
        return;
    }
    issues.truncate(max - 1);
    // VALIDATION_MAX_MESSAGES_EXCEEDED
    let message = format!(
        "Validation process produced more than maximum of {max} messages, set by {}. Returned validation messages may be incomplete or inaccurate.",
        "CLI option -max-validation-messages"
    );
    issues.push(Issue::warning(IssueCode::Processing, root, message));
}

fn dedup(issues: &mut Vec<Issue>) {
    let mut seen = std::collections::HashSet::new();
    issues.retain(|i| seen.insert((i.severity, i.expression.clone(), i.message.clone())));
}

/// Whether a type code names a primitive type (lower-case first letter).
pub fn is_primitive_type(code: &str) -> bool {
    code.starts_with(|c: char| c.is_ascii_lowercase())
}


pub(crate) fn structure_issue(expr: String, msg: String) -> Issue {
    Issue::error(IssueCode::Structure, expr, msg)
}
