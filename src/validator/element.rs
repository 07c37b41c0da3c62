//! The walk over one resource: elements against their definitions,
//! cardinality, types, primitives, extensions, nested resources.

use super::bundle::{BundleIndex, ResourceFrame};
use super::slicing::Repetition;
use super::expression::PathStack;
use super::{is_primitive_type, narrative, structure_issue, Validator};
use crate::context::Context;
use crate::issue::{Issue, IssueCode, Severity};
use crate::primitive;
use crate::structure::{Element, ElementType, StructureDef};
use crate::tree::{Format, Node, ValueKind};
use std::sync::Arc;

/// Nested resources deeper than this are not followed (a Bundle in a Bundle
/// in a Parameters is real; a hundred levels is not).
const MAX_RESOURCE_NESTING: usize = 32;

/// The most the issue list of one walk holds (messages, paths and the
/// issues themselves), in bytes; past it, issues are only counted: a
/// small input can break a rule on each of many elements, and each issue
/// carries its path.
const MAX_LISTED_BYTES: usize = 16 << 20;

pub(crate) struct Walk<'v, 'n> {
    pub(super) v: &'v Validator,
    pub(super) ctx: &'v Context,
    pub(super) format: Format,
    pub path: PathStack,
    issues: crate::issue::IssueList,
    /// The profile being walked, cited by the issues it raises.
    source: Option<Arc<StructureDef>>,
    /// Whether this walk is for a profile (the base walk already covered
    /// what the profile does not constrain).
    in_profile: bool,
    pub(super) bundles: Vec<BundleIndex<'n>>,
    /// The type and the extension url (if it is one) of the element whose
    /// extensions are being walked: what an extension's context is checked against.
    ext_host: Option<ExtHost<'n>>,
    /// Set just before walking an element's children through its type's
    /// definition: the element's own definition (`HumanName.family`).
    pending_host: Option<(Arc<StructureDef>, usize)>,
    /// The urls of the extensions the walk is inside, innermost last.
    extension_urls: Vec<&'n str>,
    /// What every FHIRPath evaluation of the walk shares.
    pub(super) eval_cache: crate::fhirpath::EvalCache,
    /// Extension context invariants by (element, invariant): one answer each.
    context_invariant_results: std::collections::HashMap<(usize, String), bool>,
    pub(super) resources: Vec<ResourceFrame<'n>>,
    /// Cardinality errors reported so far.
    cardinality_violations: usize,
    /// Whether the profile walk leaves out the parts the profile inherits
    /// unchanged from the type (see `Walk::profiles`).
    skip_inherited: bool,
    /// The `system` of the element whose children are being walked: the
    /// code system a `code` child is in (a Quantity's unit, a Coding's code).
    stated_system: Option<&'n str>,
    /// The (versioned url, status) pairs of definitions whose status was
    /// reported: once each, as the reference does.
    status_noted: std::collections::HashSet<(String, &'static str)>,
    /// When asked for (XML with attributes the reader could not place): the
    /// positions wanted, and the type of the element at each, the first walked there.
    /// Every id in the outermost resource (its elements', its resources',
    /// its narratives'), gathered the first time a `#fragment` URI asks.
    pub(super) root_ids: Option<std::collections::HashSet<String>>,
    pub(super) types_at: Option<(std::collections::HashSet<crate::tree::Pos>, std::collections::HashMap<crate::tree::Pos, String>)>,
    /// With `--hint-about-must-support` and profiles asked for: what the
    /// walks noted of each element (`rules::must_support`).
    pub(super) usage: Option<super::rules::must_support::Usage>,
    /// (expression, message) pairs said once by checks that several children
    /// reach (`say_once`): a set, as scanning the issues so far was quadratic
    /// (the thirty-fourth pass's Z1).
    said_once: std::collections::HashSet<(String, String)>,
}

impl<'v, 'n> Walk<'v, 'n> {
    pub fn new(v: &'v Validator, format: Format) -> Self {
        Walk {
            v,
            ctx: v.context(),
            format,
            path: PathStack::default(),
            issues: crate::issue::IssueList::new(MAX_LISTED_BYTES),
            source: None,
            in_profile: false,
            bundles: Vec::new(),
            resources: Vec::new(),
            ext_host: None,
            pending_host: None,
            extension_urls: Vec::new(),
            eval_cache: crate::fhirpath::EvalCache::default(),
            context_invariant_results: Default::default(),
            cardinality_violations: 0,
            skip_inherited: false,
            stated_system: None,
            status_noted: Default::default(),
            types_at: None,
            root_ids: None,
            usage: None,
            said_once: Default::default(),
        }
    }

    /// Reports an issue about `node` (its position, unless the issue has
    /// one) from the profile being walked. Messages quote what the input
    /// holds, so the list bounds them (`IssueList`).
    pub(super) fn report(&mut self, node: &Node, mut issue: Issue) {
        if self.issues.is_full() {
            self.issues.count(issue.severity);
            return;
        }
        if issue.pos.is_none() {
            issue.pos = Some(node.pos);
        }
        if issue.source.is_none() {
            issue.source = self.source.as_ref().map(|sd| sd.versioned_url());
        }
        self.issues.push(issue);
    }

    /// Whether this is the first time `message` is to be said at
    /// `expression` (checks that the reference makes once for several
    /// children say it once).
    pub(super) fn say_once(&mut self, expression: &str, message: &str) -> bool {
        self.said_once.insert((expression.to_owned(), message.to_owned()))
    }

    /// The walk's issues, and, when some were only counted, one more that
    /// says how many, with the gravest severity among them (so the verdict
    /// stands).
    pub(crate) fn into_issues(self) -> Vec<Issue> {
        let root = self.path.root_name().to_owned();
        self.issues.into_issues(&root, "the list")
    }

    pub(super) fn error(&mut self, node: &Node, code: IssueCode, msg: String) {
        if self.issues.is_full() {
            self.issues.count(crate::issue::Severity::Error);
            return;
        }
        let expr = self.path.render();
        self.report(node, Issue::error(code, expr, msg));
    }

    pub(super) fn warn(&mut self, node: &Node, code: IssueCode, msg: String) {
        if self.issues.is_full() {
            self.issues.count(crate::issue::Severity::Warning);
            return;
        }
        let expr = self.path.render();
        self.report(node, Issue::warning(code, expr, msg));
    }

    pub(super) fn inform(&mut self, node: &Node, code: IssueCode, msg: String) {
        if self.issues.is_full() {
            self.issues.count(crate::issue::Severity::Information);
            return;
        }
        let expr = self.path.render();
        self.report(node, Issue::info(code, expr, msg));
    }

    /// Validates a resource (the root or a nested one) against its type and
    /// its profiles. The path must already point at it.
    pub fn resource(&mut self, node: &'n Node, extra_profiles: &[String]) {
        if !self.resources.is_empty() && !self.v.options().validate_nested_resources {
            return;
        }
        let Some(type_name) = node.resource_type.as_deref() else {
            self.error(node, IssueCode::Structure, "A resource is required here, but this element does not say its resourceType".into());
            return;
        };
        if let Some((wanted, types)) = &mut self.types_at {
            if wanted.contains(&node.pos) {
                types.entry(node.pos).or_insert_with(|| type_name.to_string());
            }
        }
        let Some(sd) = self.ctx.type_definition(type_name) else {
            let name = crate::issue::quoted(type_name);
            // The reference's readers stop at a resource type they do not know.
            let issue = match (self.resources.is_empty(), self.format) {
                // This_does_not_appear_to_be_a_FHIR_resource_unknown_name_
                (true, Format::Json) => Issue::new(Severity::Fatal, IssueCode::Structure, self.path.render(), format!("This content cannot be parsed (unknown or unrecognized resource name '{name}')")),
                // This_does_not_appear_to_be_a_FHIR_resource_unknown_namespacename_
                (true, Format::Xml) => Issue::new(
                    Severity::Fatal,
                    IssueCode::Structure,
                    self.path.render(),
                    format!("This content cannot be parsed (unknown or unrecognized XML Root element namespace/name '{}::{name}')", crate::parse::xml::FHIR_NS),
                ),
                // Contained_resource_does_not_appear_to_be_a_FHIR_resource_unknown_name_
                (false, _) => Issue::new(Severity::Fatal, IssueCode::Invalid, self.path.render(), format!("Contained resource does not appear to be a FHIR resource (unknown name '{name}')")),
            };
            self.report(node, issue);
            return;
        };
        if !sd.is_resource() {
            self.error(node, IssueCode::Structure, format!("'{type_name}' is a data type, not a resource type"));
            return;
        }
        if sd.is_abstract {
            self.error(node, IssueCode::Structure, format!("'{type_name}' is an abstract resource type: use one of its concrete types"));
            return;
        }
        if self.resources.len() >= MAX_RESOURCE_NESTING {
            self.error(node, IssueCode::TooCostly, format!("Resources nested more than {MAX_RESOURCE_NESTING} deep are not validated"));
            return;
        }
        let nested = !self.resources.is_empty();
        if nested {
            self.path.push_resource(type_name);
        }
        self.resource_id(node);
        if !nested {
            super::rules::resource_id_rule(self, node);
        }
        let opened_bundle = type_name == "Bundle";
        if opened_bundle {
            let index = BundleIndex::build(node);
            self.bundles.push(index);
        }
        self.resources.push(ResourceFrame::new(node));

        let saved = (self.source.take(), self.in_profile, self.skip_inherited);
        self.in_profile = false;
        let violations_before = self.cardinality_violations;
        self.children(node, &sd, 0);
        self.invariants(node, &[(&sd, 0)], type_name);
        if opened_bundle {
            super::rules::bundle::check(self, node);
        }
        self.resource_rules(node, type_name);
        narrative::resource_language(self, node);

        let profiles = self.profiles_to_walk(node, &sd, extra_profiles);
        // What a profile inherits unchanged, the walk against the type has
        // checked: the profile walk would only say it again. Except that the
        // reference validator reports a cardinality error once per
        // definition that has it, so where the type's walk found one the
        // profile walk goes everywhere.
        // The must-support hint needs every element met by the profiles' own
        // definitions, inherited or not.
        self.skip_inherited = self.cardinality_violations == violations_before && self.usage.is_none();
        for (p, _) in &profiles {
            self.profile(node, &sd, p);
        }
        (self.source, self.in_profile, self.skip_inherited) = saved;

        if nested {
            self.path.pop();
        }
        self.resources.pop();
        if opened_bundle {
            self.bundles.pop();
        }
    }

    /// The profiles a resource is walked against, each once: its
    /// `meta.profile`, the ones asked for, the loaded guides' global ones,
    /// and a vital signs profile; with what says why (the crumb trail's
    /// signposts). A `meta.profile` that names a profile by a FHIR version's
    /// own URL (`http://hl7.org/fhir/3.0/StructureDefinition/..`), a profile
    /// that cannot be found, and a global one that cannot, are reported
    /// here and left out.
    fn profiles_to_walk(&mut self, node: &'n Node, sd: &Arc<StructureDef>, extra_profiles: &[String]) -> Vec<(String, Option<String>)> {
        let type_name = sd.type_name.clone();
        let signposts = self.v.options().signposts;
        // (profile, signpost)
        let mut profiles: Vec<(String, Option<String>)> = Vec::new();
        let add = |profiles: &mut Vec<(String, Option<String>)>, url: &str, signpost: Option<String>| {
            if !profiles.iter().any(|(q, _)| q == url) {
                profiles.push((url.to_string(), signpost));
            }
        };
        let metas: Vec<&'n Node> = node.child("meta").map(|m| m.children_named("profile").collect()).unwrap_or_default();
        for (i, p) in metas.iter().enumerate() {
            let Some(url) = p.text() else { continue };
            if url == sd.url {
                continue;
            }
            if let Some((version, core_url)) = version_specific_core_url(url) {
                self.path.push("meta", None);
                self.path.push("profile", Some(i));
                if version != "4.0" {
                    // VALIDATION_VAL_PROFILE_OTHER_VERSION
                    self.inform(p, IssueCode::Structure, format!("Profile is for a different version of FHIR ({version}) so has been ignored"));
                } else if core_url == sd.url {
                    // VALIDATION_VAL_PROFILE_THIS_VERSION_OK
                    self.inform(p, IssueCode::Structure, "Profile for this version of FHIR - all OK".into());
                } else {
                    let found = self.ctx.structure(&core_url).map_or_else(|| "null".to_string(), |t| t.type_name.clone());
                    // VALIDATION_VAL_PROFILE_THIS_VERSION_OTHER
                    self.error(p, IssueCode::Structure, format!("Profile is for this version of FHIR, but is an invalid type {found}"));
                }
                self.path.pop();
                self.path.pop();
                continue;
            }
            match self.ctx.structure(url) {
                Some(found) => {
                    // VALIDATION_VAL_PROFILE_SIGNPOST_META
                    let signpost = signposts.then(|| format!("Validate resource against profile {} (per meta)", found.versioned_url()));
                    add(&mut profiles, url, signpost);
                    for imposed in &found.imposed_profiles {
                        match self.ctx.structure(imposed) {
                            Some(dep) => {
                                // VALIDATION_VAL_PROFILE_SIGNPOST_DEP
                                let signpost = signposts.then(|| {
                                    format!(
                                        "Validate resource against profile {} (per http://hl7.org/fhir/StructureDefinition/structuredefinition-dependencies in {})",
                                        dep.url,
                                        found.versioned_url()
                                    )
                                });
                                add(&mut profiles, imposed, signpost);
                            }
                            None => {
                                self.path.push("meta", None);
                                self.path.push("profile", Some(i));
                                // VALIDATION_VAL_PROFILE_DEPENDS_NOT_RESOLVED
                                let msg = format!(
                                    "Profile {} identifies {imposed} as a dependency (using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-dependencies), but this profile could not be found",
                                    found.versioned_url()
                                );
                                self.warn(p, IssueCode::BusinessRule, msg);
                                self.path.pop();
                                self.path.pop();
                            }
                        }
                    }
                }
                None => {
                    self.path.push("meta", None);
                    self.path.push("profile", Some(i));
                    // Validation_VAL_Profile_Unknown: careplan fetches no profiles.
                    self.warn(p, IssueCode::Structure, format!("Profile reference '{url}' has not been checked because it could not be found"));
                    self.path.pop();
                    self.path.pop();
                }
            }
        }
        for url in extra_profiles {
            // VALIDATION_VAL_PROFILE_SIGNPOST
            let signpost = signposts.then(|| format!("Validate resource against profile {}", self.ctx.structure(url).map_or_else(|| url.clone(), |p| p.versioned_url())));
            add(&mut profiles, url, signpost);
        }
        for (url, guide) in self.ctx.global_profiles(&type_name) {
            match self.ctx.structure(url) {
                Some(found) => {
                    // VALIDATION_VAL_PROFILE_SIGNPOST_GLOBAL
                    let signpost = signposts.then(|| format!("Validate resource against profile {} - a global profile in {guide}", found.versioned_url()));
                    add(&mut profiles, url, signpost);
                }
                // VALIDATION_VAL_GLOBAL_PROFILE_UNKNOWN
                None => self.warn(node, IssueCode::Structure, format!("Global Profile reference '{url}' from IG {guide} could not be resolved, so has not been checked")),
            }
        }
        if type_name == "Observation" {
            if let Some(p) = self.vital_sign_profile(node) {
                add(&mut profiles, &p, None);
            }
        }
        if signposts {
            // VALIDATION_VAL_PROFILE_SIGNPOST: the type's own definition first.
            self.inform(node, IssueCode::Informational, format!("Validate resource against profile {}", sd.versioned_url()));
            for (_, signpost) in &profiles {
                if let Some(msg) = signpost {
                    self.inform(node, IssueCode::Informational, msg.clone());
                }
            }
        }
        profiles
    }

    /// R4 requires Observations of the vital signs to conform to the vital
    /// signs profiles; the code says which.
    fn vital_sign_profile(&mut self, node: &Node) -> Option<String> {
        // (system, code, profile) from the R4 vital signs table; SNOMED CT codes as the reference validator maps them.
        const VITAL_SIGNS: &[(&str, &str, &str)] = &[
            ("http://loinc.org", "85353-1", "vitalspanel"),
            ("http://loinc.org", "9279-1", "resprate"),
            ("http://loinc.org", "8867-4", "heartrate"),
            ("http://loinc.org", "2708-6", "oxygensat"),
            ("http://loinc.org", "59408-5", "oxygensat"),
            ("http://loinc.org", "8310-5", "bodytemp"),
            ("http://loinc.org", "8302-2", "bodyheight"),
            ("http://loinc.org", "9843-4", "headcircum"),
            ("http://loinc.org", "29463-7", "bodyweight"),
            ("http://loinc.org", "39156-5", "bmi"),
            ("http://loinc.org", "85354-9", "bp"),
            ("http://snomed.info/sct", "86290005", "resprate"),
            ("http://snomed.info/sct", "364075005", "heartrate"),
            ("http://snomed.info/sct", "431314004", "oxygensat"),
            ("http://snomed.info/sct", "276885007", "bodytemp"),
            ("http://snomed.info/sct", "50373000", "bodyheight"),
            ("http://snomed.info/sct", "363812007", "headcircum"),
            ("http://snomed.info/sct", "27113001", "bodyweight"),
            ("http://snomed.info/sct", "60621009", "bmi"),
            ("http://snomed.info/sct", "75367002", "bp"),
        ];
        let code = node.child("code")?;
        for coding in code.children_named("coding") {
            let (Some(system), Some(value)) = (coding.child_text("system"), coding.child_text("code")) else { continue };
            let Some((_, _, name)) = VITAL_SIGNS.iter().find(|(s, c, _)| *s == system && *c == value) else { continue };
            let url = format!("{}{name}", crate::context::CORE_SD_BASE);
            self.ctx.structure(&url)?;
            let system_name = if system == "http://loinc.org" { "LOINC" } else { "SNOMED CT" };
            // VALIDATION_VAL_PROFILE_SIGNPOST_OBS, naming the vital sign as the reference does.
            self.inform(
                node,
                IssueCode::Informational,
                format!("Validate Observation against the {} profile ({url}) which is required by the FHIR specification because the {system_name} code {value} was found", vital_sign_name(name)),
            );
            return Some(url);
        }
        None
    }

    fn profile(&mut self, node: &'n Node, base: &Arc<StructureDef>, url: &str) {
        let Some(profile) = self.ctx.structure(url) else {
            if self.ctx.knows(url) {
                // Loaded, but careplan could not make a snapshot of it (said when it was loaded).
                self.warn(node, IssueCode::NotFound, format!("Profile reference '{url}' has not been checked because it could not be found"));
            } else {
                // Unable_to_locate_the_profile__in_order_to_validate_against_it:
                // a profile asked for (not one a resource names: those are
                // reported where they are read) that cannot be found.
                self.error(node, IssueCode::NotFound, format!("Unable to locate the profile '{url}' in order to validate against it"));
            }
            return;
        };
        if profile.url == base.url {
            return;
        }
        if profile.type_name != base.type_name {
            // Validation_VAL_Profile_WrongType
            let msg = format!("Specified profile type was '{}' in profile '{}', but found type '{}'", profile.type_name, profile.versioned_url(), base.type_name);
            self.error(node, IssueCode::Invalid, msg);
            return;
        }
        self.source = Some(profile.clone());
        self.in_profile = true;
        self.children(node, &profile, 0);
        self.invariants(node, &[(&profile, 0)], &profile.type_name);
        self.source = None;
        self.in_profile = false;
    }

    fn resource_id(&mut self, node: &Node) {
        let Some(id) = node.child("id") else { return };
        let Some(text) = id.text() else { return };
        let problem = if text.chars().count() > 64 {
            Some(format!("Too long ({} chars)", text.chars().count()))
        } else if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            Some(format!("Invalid Characters ('{text}')"))
        } else {
            None
        };
        if let Some(p) = problem {
            self.path.push("id", None);
            self.error(id, IssueCode::Invalid, format!("Invalid Resource id: {p}"));
            self.path.pop();
        }
    }

    /// The children of `node` against the children of element `scope` in `sd`.
    pub(super) fn children(&mut self, node: &'n Node, sd: &Arc<StructureDef>, scope: usize) {
        let saved_system = std::mem::replace(&mut self.stated_system, node.child_text("system"));
        self.walk_children(node, sd, scope);
        self.stated_system = saved_system;
    }

    fn walk_children(&mut self, node: &'n Node, sd: &Arc<StructureDef>, scope: usize) {
        let scope_el = &sd.elements[scope];
        let host_def = self.pending_host.take();
        // Per child definition: how many instances matched it.
        let mut counts: smallvec::SmallVec<[(usize, usize); 16]> = smallvec::SmallVec::new();
        let mut last_order = 0usize;
        let mut last_name: Option<&str> = None;
        // Repetitions of sliced elements, to be sorted into their slices.
        let mut sliced: Vec<(usize, Vec<Repetition<'n, '_>>)> = Vec::new();
        for child in &node.children {
            // A primitive's value is the node's own value, never a child element.
            let matched = if scope == 0 && sd.is_primitive() && child.name == "value" { None } else { sd.match_child(scope, &child.name) };
            let Some((dix, chosen)) = matched else {
                if let Some(dix) = self.extension_value_of_another_type(node, child, sd, scope) {
                    // The value is there, of a type its definition does not allow: said once, and counted.
                    match counts.iter_mut().find(|(d, _)| *d == dix) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((dix, 1)),
                    }
                    continue;
                }
                self.unknown_child(child, sd, scope);
                continue;
            };
            let seen = match counts.iter_mut().find(|(d, _)| *d == dix) {
                Some((_, n)) => {
                    *n += 1;
                    *n - 1
                }
                None => {
                    counts.push((dix, 1));
                    0
                }
            };
            let def = &sd.elements[dix];
            // Attributes (`id`, `url`) become children at their element's
            // position; attributes have no order.
            let from_attribute = child.pos == node.pos;
            if self.format == Format::Xml && !self.in_profile && !from_attribute {
                let order = scope_el.children.iter().position(|&c| c == dix).unwrap_or(0);
                if order < last_order {
                    self.path.push(&child.name, def.repeats.then_some(seen));
                    // Validation_VAL_Profile_OutOfOrder
                    let msg = format!("As specified by profile {}, Element '{}' is out of order (found after {})", sd.versioned_url(), child.name, last_name.unwrap_or("(null)"));
                    self.error(child, IssueCode::Invalid, msg);
                    self.path.pop();
                }
                last_order = order;
                last_name = Some(child.name.as_str());
            }
            let ty: Option<&ElementType> = chosen.or_else(|| (def.types.len() == 1).then(|| &def.types[0]));
            match (&chosen, def.is_choice()) {
                (Some(t), true) => self.path.push_choice(def.choice_name(), &t.code),
                _ => self.path.push(&child.name, def.repeats.then_some(seen)),
            }
            if self.format == Format::Json && !self.in_profile {
                self.json_shape(child, def, ty);
            }
            if let Some(usage) = &mut self.usage {
                if self.in_profile {
                    usage.note(child, sd, dix);
                } else {
                    usage.place(child, sd, || self.path.render());
                }
            }
            if scope == 0 && sd.type_name == "Bundle" && child.name == "entry" {
                self.enter_entry(Some(seen));
            }
            if child.name == "extension" || child.name == "modifierExtension" {
                let host_type = if scope == 0 { sd.type_name.as_str() } else { scope_el.types.first().map_or("BackboneElement", |t| t.code.as_str()) };
                // An extension on an extension, or on its value, sits on that extension.
                let host_url = if host_type == "Extension" {
                    node.child_text("url")
                } else if scope_el.path.ends_with(".value[x]") || self.path.parent_is_choice("value") {
                    self.extension_urls.last().copied()
                } else {
                    None
                };
                let def = host_def.clone().unwrap_or_else(|| (sd.clone(), scope));
                self.ext_host = Some(ExtHost { type_name: host_type.into(), url: host_url, def, node });
            }
            if !(self.in_profile && self.skip_inherited && !def.constrains) {
                self.element(child, sd, dix, ty);
            }
            self.path.pop();
            if !def.slices.is_empty() {
                let rep = Repetition { node: child, index: seen, ty };
                match sliced.iter_mut().find(|(d, _)| *d == dix) {
                    Some((_, reps)) => reps.push(rep),
                    None => sliced.push((dix, vec![rep])),
                }
            }
        }
        for &dix in &scope_el.children {
            if !sd.elements[dix].slices.is_empty() && !sliced.iter().any(|(d, _)| *d == dix) {
                sliced.push((dix, Vec::new())); // no repetitions: required slices are still missing
            }
        }
        for (dix, reps) in &sliced {
            self.slices(node, sd, *dix, reps);
        }
        // Only the children present can be too many and only the required
        // ones too few; the violations are reported in definition order.
        let count_of = |dix: usize| counts.iter().find(|(d, _)| *d == dix).map_or(0, |c| c.1);
        let mut violations: smallvec::SmallVec<[(usize, usize, bool); 4]> = smallvec::SmallVec::new();
        for &(dix, n) in &counts {
            if !sd.elements[dix].max_allows(n) {
                violations.push((dix, n, false));
            }
        }
        for &dix in &scope_el.required_children {
            let def = &sd.elements[dix];
            let mut n = count_of(dix);
            if n < def.min as usize && def.name == "resourceType" && scope > 0 && node.resource_type.is_some() {
                // An element really named resourceType (ExampleScenario.instance):
                // the JSON reader took it for a resource marker.
                n += 1;
            }
            if n < def.min as usize && !(sd.is_primitive() && def.name == "value") {
                violations.push((dix, n, true));
            }
        }
        violations.sort_by_key(|&(dix, _, too_few)| (scope_el.children.iter().position(|&c| c == dix), !too_few));
        for (dix, n, too_few) in violations {
            let def = &sd.elements[dix];
            let msg = if too_few {
                format!("{}: minimum required = {}, but only found {} (from {})", def.path, def.min, n, sd.versioned_url())
            } else {
                format!("{}: max allowed = {}, but found {} (from {})", def.path, def.max.unwrap_or(0), n, sd.versioned_url())
            };
            self.error(node, IssueCode::Structure, msg);
            self.cardinality_violations += 1;
        }
    }

    fn unknown_child(&mut self, child: &Node, sd: &StructureDef, scope: usize) {
        if self.in_profile {
            // The base walk reports unknown elements once; but a choice of a
            // type the profile does not allow (`effectivePeriod` where it
            // narrowed `effective[x]` to dateTime) is known to the base, so
            // only the profile can report it.
            self.type_not_in_profile(child, sd, scope);
            return;
        }
        // Nothing is made for an issue that would only be counted (the
        // twenty-seventh pass's S2: three paths per unknown element).
        if self.issues.is_full() {
            self.issues.count(crate::issue::Severity::Error);
            return;
        }
        // The element does not exist, so the path names its parent, as the
        // reference validator's does; the position points at the element.
        let expr = self.path.render();
        if self.format == Format::Json && child.name == "resourceDefinition" && self.resources.len() == 1 && sd.is_resource() && scope == 0 {
            // The root's `resourceDefinition` names the definition to read it
            // with; careplan reads it with its resourceType's and only checks
            // that the definition is known.
            if let Some(url) = child.text().filter(|u| self.ctx.structure(u).is_none()) {
                // RESOURCEDEFINITION_PROPERTY_UNKNOWN
                let msg = format!("The 'resourceDefinition' is '{}', but no additional resource is known for that reference", crate::issue::quoted(url));
                self.report(child, Issue::error(IssueCode::Invalid, expr, msg));
            }
            return;
        }
        if self.format == Format::Json && child.name == "value" && scope == 0 && sd.is_primitive() {
            // ILLEGAL_PROPERTY: a primitive's `_name` object naming its value, which the
            // reference's reader takes as the type's `value` property and its validator refuses.
            self.report(child, Issue::error(IssueCode::Invalid, expr, "The property 'value' is invalid"));
            return;
        }
        let name = crate::issue::quoted(&child.name);
        let issue = match self.format {
            Format::Json => structure_issue(expr, format!("Unrecognized property '{name}'")),
            Format::Xml => {
                let at = self.path.xml_location();
                structure_issue(expr, format!("Undefined element '{name}' at {at}")).located(at)
            }
        };
        self.report(child, issue);
    }

    /// An extension's `value[x]` of a type its definition does not allow
    /// (`valueUri` where it says `url`): reported as the reference does,
    /// on the extension, and the `value[x]` element it stands for returned.
    fn extension_value_of_another_type(&mut self, node: &Node, child: &Node, sd: &StructureDef, scope: usize) -> Option<usize> {
        if scope != 0 || sd.type_name != "Extension" || self.in_profile {
            return None;
        }
        let suffix = child.name.strip_prefix("value").filter(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))?;
        let dix = sd.elements[0].children.iter().copied().find(|&c| sd.elements[c].name == "value[x]")?;
        let lower = format!("{}{}", suffix[..1].to_ascii_lowercase(), &suffix[1..]);
        let type_code = if self.ctx.type_definition(&lower).is_some_and(|t| t.is_primitive()) { lower } else { suffix.to_string() };
        self.ctx.type_definition(&type_code)?;
        let allowed: Vec<&str> = sd.elements[dix].types.iter().map(|t| t.code.as_str()).collect();
        if allowed.is_empty() || allowed.contains(&type_code.as_str()) {
            return None;
        }
        let url = node.child_text("url").unwrap_or(&sd.url);
        // Extension_EXT_Type
        self.error(node, IssueCode::Structure, format!("The Extension '{url}' definition allows for the types [{}] but found type {type_code}", allowed.join(", ")));
        Some(dix)
    }

    /// Validation_VAL_Profile_NotAllowed: an element the type has but the
    /// profile's snapshot leaves out altogether.
    fn not_in_profile(&mut self, child: &Node, sd: &StructureDef, scope: usize) {
        if sd.is_abstract {
            return;
        }
        let Some(base) = self.ctx.type_definition(&sd.type_name) else { return };
        let path = &sd.elements[scope].path;
        let Some(base_ix) = base.elements.iter().position(|e| e.path == *path && e.slice_name.is_none()) else { return };
        if base.match_child(base_ix, &child.name).is_none() {
            return;
        }
        self.path.push(&child.name, None);
        self.error(child, IssueCode::NotSupported, format!("This element is not allowed by the profile {}", sd.versioned_url()));
        self.path.pop();
    }

    /// Reports `child` when it is a choice element of a type the profile's
    /// choice element does not list.
    fn type_not_in_profile(&mut self, child: &Node, sd: &StructureDef, scope: usize) {
        let choice = sd.elements[scope].children.iter().map(|&c| &sd.elements[c]).find_map(|d| {
            let suffix = child.name.strip_prefix(d.name.strip_suffix("[x]")?)?;
            suffix.starts_with(|c: char| c.is_ascii_uppercase()).then_some((d, suffix))
        });
        let Some((def, suffix)) = choice else {
            self.not_in_profile(child, sd, scope);
            return;
        };
        // `DateTime` names the primitive `dateTime`; `Period` the complex type itself.
        let lower = format!("{}{}", suffix[..1].to_ascii_lowercase(), &suffix[1..]);
        let type_code = if self.ctx.type_definition(&lower).is_some_and(|t| t.is_primitive()) { lower } else { suffix.to_string() };
        let allowed: Vec<&str> = def.types.iter().map(|t| t.code.as_str()).collect();
        self.path.push_choice(def.choice_name(), &type_code);
        let msg = match allowed.as_slice() {
            // Extension_PROF_Type
            [one] => format!("The Profile '{}' definition allows for the type {one} but found type {type_code}", sd.versioned_url()),
            // Validation_VAL_Profile_NoType: none of the profile's types is the one the name says.
            _ => format!(
                "The type of element {} is not known - it could not be determined from the information available. Valid types at this point are {}",
                child.name,
                allowed.join(", ")
            ),
        };
        self.error(child, IssueCode::Structure, msg);
        self.path.pop();
    }

    /// JSON arrays exactly where the element repeats; objects and primitives where the type says.
    fn json_shape(&mut self, child: &Node, def: &Element, ty: Option<&ElementType>) {
        let name = &child.name;
        if def.repeats && !child.in_array {
            let what = if child.value.is_some() { "a Primitive property" } else { "an Object" };
            // The property, not an item of it: there is no array to index.
            let rendered = self.path.render();
            let expr = rendered.strip_suffix("[0]").unwrap_or(&rendered).to_string();
            let parent = expr.rsplit_once('.').map_or(expr.as_str(), |(p, _)| p).to_string();
            // This_property_must_be_an_Array_not_
            self.report(child, Issue::error(IssueCode::Invalid, expr, format!("The property {name} must be a JSON Array, not {what} (at {parent})")));
        } else if !def.repeats && child.in_array {
            let at = self.path.render();
            let msg = if child.value.is_some() {
                // This_property_must_be_an_simple_value_not_
                format!("This property must be a simple value, not an Array ({name} at {at})")
            } else {
                // This_property_must_be__not_
                format!("The property {name} must be an Object, not an Array (at {at})")
            };
            self.error(child, IssueCode::Invalid, msg);
        }
        let Some(t) = ty else { return };
        if child.resource_type.is_some() || t.code == "Resource" {
            return;
        }
        if !is_primitive_type(&t.code) && child.value.is_some() {
            let at = self.path.render();
            // This_property_must_be_an_object_not_
            self.error(child, IssueCode::Invalid, format!("This property must be an object, not a Primitive property ({name} at {at})"));
        }
    }

    /// One element against its definition, `ty` being its (chosen) type.
    pub(super) fn element(&mut self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, ty: Option<&ElementType>) {
        let def = &sd.elements[ix];
        if let (Some((wanted, types)), Some(t)) = (&mut self.types_at, ty) {
            if wanted.contains(&node.pos) {
                types.entry(node.pos).or_insert_with(|| t.code.clone());
            }
        }
        if !def.narrative_languages.is_empty() || def.narrative_source.is_some() {
            narrative::controls(self, node, def, &sd.url);
        }
        self.value_limits(node, def, ty.map(|t| t.code.as_str()));
        if def.fixed.is_some() || def.pattern.is_some() {
            self.fixed_and_pattern(node, def, sd);
        }
        if let Some(t) = ty.filter(|t| !t.profiles.is_empty() && t.code != "Extension" && node.resource_type.is_none()) {
            if !t.profiles.iter().any(|p| self.ctx.knows(p)) {
                // The profile's rules cannot be checked; the type's still are.
                self.error(node, IssueCode::NotFound, format!("Unknown profile {}", t.profiles[0]));
            }
        }
        if !def.children.is_empty() {
            // Backbone elements, and profiled elements whose children the profile lists.
            if let Some(t) = ty.filter(|t| is_primitive_type(&t.code)) {
                self.primitive(node, sd, ix, t);
                return;
            }
            self.children(node, sd, ix);
            let type_name = ty.map_or("BackboneElement", |t| t.code.as_str());
            self.invariants(node, &[(sd, ix)], type_name);
            if let Some(t) = ty {
                self.complex_rules(node, sd, ix, t);
            }
            return;
        }
        if let Some(reference) = &def.content_reference {
            let id = reference.rsplit('#').next().unwrap_or(reference);
            // A profile's constraints on the referenced element are not the
            // referring element's: unless the profile lists its children
            // (handled above), its content is the base type's.
            let in_constraint = sd.derivation.as_deref() == Some("constraint");
            let content_sd = in_constraint.then(|| self.ctx.type_definition(&sd.type_name)).flatten().unwrap_or_else(|| sd.clone());
            match content_sd.element_by_id(id) {
                Some(target) => {
                    // Extension contexts name the referenced element (`Questionnaire.item`).
                    self.note_host(node, &content_sd, target);
                    self.children(node, &content_sd, target);
                    self.invariants(node, &[(sd, ix), (&content_sd, target)], "BackboneElement");
                }
                // Unable_to_find_element_with_id_
                None => self.error(node, IssueCode::Processing, format!("Unable to find element with id '{id}' (the content reference '{reference}' in {})", content_sd.url)),
            }
            return;
        }
        if let Some(rt) = node.resource_type.as_deref().filter(|_| ty.is_none()) {
            // A resource element allowing several resource types: the instance says which.
            let t = def.types.iter().find(|t| t.code == rt || t.code == "Resource" || t.code == "DomainResource").cloned();
            if t.is_none() && !def.types.is_empty() {
                self.resource_type_not_allowed(node, rt, def);
                return;
            }
            let t = t.unwrap_or_else(|| ElementType::new(rt.to_string(), Vec::new(), Vec::new()));
            self.nested_resource(node, &t);
            return;
        }
        let Some(t) = ty else {
            if def.types.len() > 1 {
                self.error(node, IssueCode::Structure, format!("The element {} has several possible types and the instance does not say which", def.path));
            }
            return;
        };
        if t.code == "Resource" || t.code == "DomainResource" || node.resource_type.is_some() {
            match node.resource_type.as_deref() {
                Some(rt) if !matches!(t.code.as_str(), "Resource" | "DomainResource") && t.code != rt && self.ctx.type_definition(&t.code).is_some_and(|x| x.is_resource()) => {
                    self.resource_type_not_allowed(node, rt, def)
                }
                _ => self.nested_resource(node, t),
            }
            return;
        }
        if is_primitive_type(&t.code) {
            self.primitive(node, sd, ix, t);
            return;
        }
        if node.value.is_some() && node.children.is_empty() {
            return; // a primitive where an object belongs: reported by the shape check
        }
        if t.code != "Extension" && t.profiles.len() > 1 && self.one_of_type_profiles(node, sd, ix, t) {
            self.complex_rules(node, sd, ix, t);
            return;
        }
        let type_sd = if t.code == "Extension" { self.extension_definition(node, t) } else { self.type_with_profile(t) };
        if let Some(tsd) = type_sd.as_ref().filter(|x| t.code == "Extension" && x.type_name == "Extension" && x.derivation.as_deref() == Some("constraint")) {
            self.modifier_mismatch(node, &sd.elements[ix], tsd);
        }
        match type_sd {
            Some(tsd) => {
                let in_profile = self.in_profile;
                if t.code == "Extension" && self.in_profile && node.child_text("url") == Some(tsd.url.as_str()) {
                    // An extension slice naming the extension the node's url
                    // names: the walk against the type has validated it in full.
                } else if t.code == "Extension" && !Arc::ptr_eq(sd, &tsd) && tsd.url.strip_prefix(crate::context::CORE_SD_BASE) != Some("Extension") {
                    // An extension is validated in full against its own definition.
                    self.in_profile = false;
                    let saved = self.source.replace(tsd.clone());
                    self.note_host(node, sd, ix);
                    let url = node.child_text("url");
                    if let Some(u) = url {
                        self.extension_urls.push(u);
                    }
                    self.children(node, &tsd, 0);
                    if url.is_some() {
                        self.extension_urls.pop();
                    }
                    self.invariants(node, &[(sd, ix), (&tsd, 0)], &t.code);
                    self.source = saved;
                    self.in_profile = in_profile;
                } else if !(self.in_profile && !Arc::ptr_eq(sd, &tsd) && t.profiles.is_empty()) {
                    self.note_host(node, sd, ix);
                    self.children(node, &tsd, 0);
                    self.invariants(node, &[(sd, ix), (&tsd, 0)], &t.code);
                } else {
                    self.invariants(node, &[(sd, ix)], &t.code);
                }
            }
            // Validation_VAL_NoType
            None => self.error(node, IssueCode::Structure, format!("Unknown type {} (not defined by the loaded packages)", t.code)),
        }
        self.complex_rules(node, sd, ix, t);
    }

    /// Bundle_BUNDLE_Entry_Type: a nested resource of a type the element
    /// does not allow (a profile restricted it).
    fn resource_type_not_allowed(&mut self, node: &Node, rt: &str, def: &Element) {
        let allowed: Vec<&str> = def.types.iter().map(|t| t.code.as_str()).collect();
        self.error(node, IssueCode::Informational, format!("The type '{rt}' is not valid - no resources allowed here (allowed = {})", allowed.join(", ")));
    }

    /// Remembers the element's definition path for the extension context
    /// checks of its children (only when it has extensions: this is a hot path).
    fn note_host(&mut self, node: &Node, sd: &Arc<StructureDef>, ix: usize) {
        if node.children.iter().any(|c| c.name == "extension" || c.name == "modifierExtension") {
            self.pending_host = Some((sd.clone(), ix));
        }
    }

    /// Whether a node meets an element definition's own constraints (a
    /// separate walk whose errors are only counted).
    pub(super) fn probe_element(&self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize) -> bool {
        let mut probe = Walk::new(self.v, self.format);
        probe.in_profile = true;
        probe.path.push_root(&sd.type_name);
        let ty = sd.elements[ix].types.first().cloned();
        probe.element(node, sd, ix, ty.as_ref());
        !probe.into_issues().iter().any(|i| i.severity.is_error())
    }

    /// A data type element with several type profiles: they are
    /// alternatives, so the node is walked against the first it is valid
    /// against; when it meets none, that is an error and each profile's
    /// walk says why. False when none of the profiles is known (the type's
    /// own definition applies then).
    fn one_of_type_profiles(&mut self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, t: &ElementType) -> bool {
        let known: smallvec::SmallVec<[Arc<StructureDef>; 2]> = t.profiles.iter().filter_map(|p| self.ctx.structure(p)).collect();
        if known.is_empty() {
            return false;
        }
        let walk_against = |walk: &mut Self, tsd: &Arc<StructureDef>| {
            walk.note_host(node, sd, ix);
            walk.children(node, tsd, 0);
            walk.invariants(node, &[(sd, ix), (tsd, 0)], &t.code);
        };
        if let Some(tsd) = known.iter().find(|tsd| {
            let mut probe = Walk::new(self.v, self.format);
            probe.path.push_root(&tsd.type_name);
            walk_against(&mut probe, tsd);
            !probe.into_issues().iter().any(|i| i.severity.is_error())
        }) {
            walk_against(self, tsd);
            return true;
        }
        let choices: Vec<String> = known.iter().map(|tsd| tsd.url.clone()).collect();
        self.error(node, IssueCode::Structure, format!("Unable to find a match for the specified profile among choices: {}", choices.join(", ")));
        let (saved_source, saved_in_profile) = (self.source.clone(), self.in_profile);
        self.in_profile = false;
        for tsd in &known {
            self.source = Some(tsd.clone());
            walk_against(self, tsd);
        }
        (self.source, self.in_profile) = (saved_source, saved_in_profile);
        true
    }

    /// The definition of a type, or of its first resolvable profile.
    fn type_with_profile(&self, t: &ElementType) -> Option<Arc<StructureDef>> {
        for p in &t.profiles {
            if let Some(sd) = self.ctx.structure(p) {
                return Some(sd);
            }
        }
        self.ctx.type_definition(&t.code)
    }

    /// Rules that belong to a complex type wherever it appears.
    fn complex_rules(&mut self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, t: &ElementType) {
        if t.code == "Reference" {
            self.reference(node, &sd.elements[ix], t);
        }
        if t.code == "Quantity" {
            super::rules::quantity::check(self, node, &sd.elements[ix]);
        }
        if t.code == "Attachment" {
            super::rules::datatypes::attachment(self, node, &sd.elements[ix]);
        }
        if !self.in_profile {
            match t.code.as_str() {
                "Identifier" => super::rules::datatypes::identifier(self, node),
                // A CodeableConcept's codings are checked as the reference checks them, with its binding.
                "Coding" if node.name != "coding" => super::rules::datatypes::coding(self, node, &sd.elements[ix]),
                // A CodeableConcept's coding: no binding of its own decides it.
                "Coding" => super::rules::datatypes::codeable_concept_coding(self, node),
                "CodeableConcept" => super::rules::coding::codeable_concept(self, node, &sd.elements[ix]),
                "Narrative" => super::rules::text_link::check(self, node),
                _ => {}
            }
        }
        if sd.elements[ix].binding.is_some() {
            // A unit binding counts where the element is a Quantity; on a
            // choice of many types the reference validator leaves units alone.
            let quantity_bound = t.code == "Quantity" && sd.elements[ix].types.len() == 1;
            if matches!(t.code.as_str(), "CodeableConcept" | "Coding") || quantity_bound {
                self.binding(node, &t.code, None, &sd.elements[ix], sd);
            }
        }
    }

    fn nested_resource(&mut self, node: &'n Node, t: &ElementType) {
        if node.resource_type.is_none() {
            self.error(node, IssueCode::Structure, "A resource is required here, but this element does not say its resourceType".into());
            return;
        }
        if self.in_profile && t.profiles.is_empty() {
            return; // the base walk validates nested resources
        }
        let rt = node.resource_type.as_deref().unwrap_or_default();
        // What the reference calls the place of a nested resource.
        let special = match node.name.as_str() {
            "contained" => "contained",
            "outcome" => "outcome",
            _ if self.resources.last().and_then(|f| f.node.resource_type.as_deref()) == Some("Parameters") => "parameter",
            _ => "entry",
        };
        if t.code == "Resource" && !t.profiles.is_empty() {
            // The types the profiles are for: the resource must be one of them.
            let mut types: Vec<String> = Vec::new();
            for p in &t.profiles {
                if let Some(psd) = self.ctx.structure(p) {
                    if !types.contains(&psd.type_name) {
                        types.push(psd.type_name.clone());
                    }
                }
            }
            if !types.is_empty() && !types.iter().any(|x| x == rt || x == "Resource" || x == "DomainResource") {
                let msg = match types.as_slice() {
                    // Bundle_BUNDLE_Entry_Type2
                    [one] => format!("The type '{rt}' is not valid - must be {one} (allowed = {})", t.profiles.join(", ")),
                    // Bundle_BUNDLE_Entry_Type3
                    more => format!("The type '{rt}' is not valid - must be one of {} types: {}", more.len(), more.join(", ")),
                };
                self.error(node, IssueCode::Informational, msg);
                return;
            }
        }
        let profiles = match t.profiles.as_slice() {
            [] => Vec::new(),
            [one] if self.ctx.structure(one).is_none() => {
                // Bundle_BUNDLE_Entry_NoProfile_EXPL (its wording names the place twice)
                self.error(node, IssueCode::Invalid, format!("Specified profile {one} not found for {special} resource of type '{special}'"));
                return;
            }
            [one] => vec![one.clone()],
            // Several type profiles are alternatives: the resource must meet one.
            several => {
                let mut matched: Vec<&String> = Vec::new();
                let mut reasons: Vec<(&String, Vec<Issue>)> = Vec::new();
                for p in several {
                    if self.ctx.structure(p).is_none() {
                        // Bundle_BUNDLE_Entry_NoProfile_TYPE
                        self.error(node, IssueCode::Invalid, format!("No profile found for {special} resource of type '{p}'"));
                        continue;
                    }
                    match self.profile_errors(node, p) {
                        Some(errors) if errors.is_empty() => matched.push(p),
                        Some(errors) => reasons.push((p, errors)),
                        None => reasons.push((p, Vec::new())),
                    }
                }
                match matched.as_slice() {
                    [] => {
                        // BUNDLE_BUNDLE_ENTRY_MULTIPLE_PROFILES_NO_MATCH, with each profile's
                        // reasons (BUNDLE_BUNDLE_ENTRY_MULTIPLE_PROFILES_NO_MATCH_REASON)
                        let msg = format!("The {special} resource did not match any of the allowed profiles (Type {}: {})", t.code, several.join(", "));
                        self.error(node, IssueCode::Invalid, msg);
                        for (p, errors) in reasons {
                            let because = match errors.as_slice() {
                                [] => format!("it is not a {}", self.ctx.structure(p).map_or_else(String::new, |x| x.type_name.clone())),
                                some => summarise(some),
                            };
                            self.inform(node, IssueCode::Invalid, format!("The {special} resource did not match the profile {p} because: {because}"));
                        }
                        return;
                    }
                    [one] => vec![(*one).clone()],
                    more => {
                        // BUNDLE_BUNDLE_ENTRY_MULTIPLE_PROFILES_MULTIPLE_MATCHES
                        let list: Vec<&str> = more.iter().map(|p| p.as_str()).collect();
                        self.inform(node, IssueCode::Invalid, format!("The {special} resource matched more than one of the allowed profiles ({})", list.join(", ")));
                        vec![more[0].clone()]
                    }
                }
            }
        };
        let saved = (self.source.take(), self.in_profile);
        self.in_profile = false;
        self.resource(node, &profiles);
        (self.source, self.in_profile) = saved;
    }

    /// A primitive: JSON spelling, lexical form, length, then its id and extensions.
    fn primitive(&mut self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, t: &ElementType) {
        let code = t.code.as_str();
        self.invariants(node, &[(sd, ix)], code);
        match &node.value {
            // What is only whitespace is blank, as the reference reads it: said once, checked no further.
            Some(v) if super::rules::datatypes::is_blank(&v.text) => {
                if !self.in_profile {
                    super::rules::datatypes::blank_primitive(self, node, &sd.elements[ix]);
                }
                super::rules::value_rules::no_value(self, node, &sd.elements[ix], &sd.versioned_url());
            }
            // A `$...$` pattern of a matchetype is judged as a pattern, not as a value.
            Some(v) if super::rules::matchetype::pattern_value(self, node, code, &v.text) => {
                if sd.elements[ix].binding.is_some() && matches!(code, "code" | "string" | "uri") {
                    let system = if node.name == "code" { self.stated_system } else { None };
                    self.binding(node, code, system, &sd.elements[ix], sd);
                }
            }
            Some(v) => {
                super::rules::value_rules::primitive(self, node, &sd.elements[ix], code, &v.text);
                if !self.in_profile {
                    if let Some(expected) = json_kind_for(code) {
                        if v.kind != expected && matches!(v.kind, ValueKind::JsonBool | ValueKind::JsonNumber | ValueKind::JsonString) {
                            let msg = match expected {
                                // Error_parsing_JSON_the_primitive_value_must_be_a_boolean
                                ValueKind::JsonBool => format!("Error parsing JSON: the primitive value must be a boolean"),
                                // Error_parsing_JSON_the_primitive_value_must_be_a_number
                                ValueKind::JsonNumber => format!("Error parsing JSON: the primitive value must be a number"),
                                // Error_parsing_JSON_the_primitive_value_must_be_a_string
                                _ => format!("Error parsing JSON: the primitive value must be a string"),
                            };
                            self.error(node, IssueCode::Invalid, msg);
                        }
                    }
                    let listed = self.issues.len();
                    let mut lexical = false;
                    if code == "xhtml" {
                        narrative::check(self, node, &v.text);
                    } else if let Err(msg) = primitive::check(code, &v.text) {
                        self.error(node, IssueCode::Invalid, msg);
                    } else {
                        lexical = true;
                    }
                    self.string_content(node, code, &v.text);
                    super::rules::datatypes::primitive(self, node, code, &v.text);
                    if matches!(code, "uri" | "url" | "canonical" | "oid" | "uuid") {
                        super::rules::datatypes::uri_value(self, node, &sd.elements[ix], code, &v.text);
                    }
                    // The type's own pattern, where nothing else found the value in error.
                    if lexical && !self.issues.iter().skip(listed).any(|i| i.severity.is_error()) {
                        super::rules::type_regex::check(self, node, code, &v.text);
                    }
                    if code == "base64Binary" && v.text.bytes().any(|b| b.is_ascii_whitespace()) {
                        // TYPE_SPECIFIC_CHECKS_DT_BASE64_NO_WS_WARNING
                        self.warn(
                            node,
                            IssueCode::Invalid,
                            "Base64 encoded values SHOULD not contain any whitespace (per RFC 4648). Note that non-validating readers are encouraged to accept whitespace anyway".into(),
                        );
                    }
                }
                if sd.elements[ix].binding.is_some() && matches!(code, "code" | "string" | "uri") {
                    let system = if node.name == "code" { self.stated_system } else { None };
                    self.binding(node, code, system, &sd.elements[ix], sd);
                }
            }
            None => {
                // TYPE_SPECIFIC_CHECKS_DT_PRIMITIVE_VALUEEXT: nothing at all; an
                // id alone is a child here, and not content only to ele-1.
                // What is not an element of a primitive (`<value>` inside
                // `<valueInteger>`) is reported as unknown and is no content.
                if !node.children.iter().any(|c| c.name == "id" || c.name == "extension") && !self.in_profile {
                    self.error(node, IssueCode::Invalid, "Primitive types must have a value or must have child extensions".into());
                }
                if !self.in_profile && sd.elements[ix].binding.as_ref().is_some_and(|b| b.strength == "required") {
                    self.required_code_missing(node);
                }
                super::rules::value_rules::no_value(self, node, &sd.elements[ix], &sd.versioned_url());
            }
        }
        if !node.children.is_empty() {
            match self.ctx.type_definition(code) {
                Some(tsd) => {
                    if !(self.in_profile && t.profiles.is_empty() && sd.elements[ix].children.is_empty()) {
                        self.note_host(node, sd, ix);
                        self.children(node, &tsd, 0)
                    }
                }
                // Validation_VAL_NoType
                None => self.error(node, IssueCode::Structure, format!("Unknown type {code} (not defined by the loaded packages)")),
            }
        }
    }

    /// A primitive with a required binding and no value: its code is
    /// missing, unless a cross-version extension carries an alternative.
    fn required_code_missing(&mut self, node: &Node) {
        let alternative = node.children_named("extension").find_map(|ext| {
            let url = ext.child_text("url").filter(|u| is_cross_version_extension(u))?;
            let value = ext.children.iter().find(|c| c.name.starts_with("value")).and_then(|v| v.text())?;
            Some((url, value))
        });
        match alternative {
            // Terminology_TX_Code_ValueSet_XVER_SOURCE
            Some((url, value)) => self.warn(
                node,
                IssueCode::CodeInvalid,
                format!("Though a code is required, no code has been provided; instead, an alternative code '{value}' is provided in the cross-version extension '{url}'. Many systems will not support this extension, or may not understand or support the alternative code"),
            ),
            // Terminology_TX_Code_ValueSet_MISSING
            None => self.error(node, IssueCode::CodeInvalid, "No code provided, and a code is required from the value set".into()),
        }
    }

    pub(super) fn in_profile(&self) -> bool {
        self.in_profile
    }

    /// The url of the innermost extension (not a sub-extension) the walk is inside.
    pub(super) fn extension_url(&self) -> Option<&str> {
        self.extension_urls.iter().rev().copied().find(|u| u.contains(':'))
    }

    /// maxLength, minValue and maxValue of a primitive element.
    fn value_limits(&mut self, node: &Node, def: &Element, code: Option<&str>) {
        let Some(text) = node.text() else { return };
        if let Some(max) = def.max_length {
            let len = text.chars().count();
            if len > max as usize {
                self.error(node, IssueCode::TooLong, format!("value is longer than permitted maximum length of {max} ({len} characters)"));
            }
        }
        if let Some(min) = def.min_length {
            if text.chars().count() < min as usize {
                self.error(node, IssueCode::TooLong, format!("Value '{text}' is shorter than permitted minimum length of {min}"));
            }
        }
        for (bound, is_min) in [(&def.min_value, true), (&def.max_value, false)] {
            let Some((type_suffix, limit)) = bound else { continue };
            if type_suffix == "Duration" {
                super::rules::quantity::date_within(self, node, text, limit, is_min);
                continue;
            }
            let Some(order) = compare_to_limit(type_suffix, text, limit) else { continue };
            let limit_text = limit.as_str().map(str::to_string).unwrap_or_else(|| limit.to_string());
            let msg = match (is_min && order == std::cmp::Ordering::Less, !is_min && order == std::cmp::Ordering::Greater) {
                (false, false) => continue,
                (below, _) => super::rules::datatypes::limit_message(code, type_suffix, below, &limit_text),
            };
            self.error(node, IssueCode::Invalid, msg);
        }
    }

    /// The definition an extension is validated against: its own, found by url.
    /// A hint when a definition the instance uses is deprecated, withdrawn
    /// or retired (`what` names it: extension, profile).
    pub(super) fn definition_status(&mut self, node: &Node, sd: &StructureDef, what: &str) {
        let standards = sd.standards_status.as_ref().map(|(c, r)| (c.as_str(), r.as_deref()));
        let (status, msg) = match standards {
            Some(("deprecated", reason)) => {
                let vurl = sd.versioned_url();
                let msg = match reason.filter(|r| !r.trim().is_empty()) {
                    // MSG_DEPENDS_ON_DEPRECATED_NOTE
                    Some(note) => format!("The {what} {vurl} is deprecated with the note: '{}'", crate::issue::quoted(note.trim())),
                    // MSG_DEPENDS_ON_DEPRECATED
                    None => format!("The {what} {vurl} is deprecated"),
                };
                ("deprecated", msg)
            }
            // MSG_DEPENDS_ON_WITHDRAWN
            Some(("withdrawn", _)) => ("withdrawn", format!("The {what} {} is withdrawn", sd.versioned_url())),
            // MSG_DEPENDS_ON_RETIRED
            _ if sd.status.as_deref() == Some("retired") => ("retired", format!("The {what} {} is retired", sd.versioned_url())),
            _ => return,
        };
        if self.status_noted.insert((sd.versioned_url(), status)) {
            self.inform(node, IssueCode::BusinessRule, msg);
        }
    }

    fn extension_definition(&mut self, node: &Node, t: &ElementType) -> Option<Arc<StructureDef>> {
        for p in &t.profiles {
            if let Some(sd) = self.ctx.structure(p) {
                return Some(sd);
            }
        }
        let base = self.ctx.type_definition("Extension");
        let Some(url) = node.child_text("url") else {
            if !self.in_profile {
                self.error(node, IssueCode::Invalid, "Extension.url is required in order to identify, use and validate the extension".into());
            }
            return base;
        };
        if !url.contains(':') {
            // Only a sub-extension of a complex extension is named relative to it.
            let inside_extension = self.ext_host.as_ref().is_some_and(|h| h.type_name == "Extension");
            if !inside_extension && !self.in_profile {
                // Extension_EXT_URL_Absolute (only a sub-extension is named relative to its extension)
                self.error(node, IssueCode::Invalid, "Extension.url must be an absolute URL".into());
            } else if !self.in_profile {
                let parent = self.ext_host.as_ref().and_then(|h| h.url).and_then(|u| self.ctx.structure(u));
                if let Some(parent) = parent {
                    super::rules::extensions::sub_extension(self, node, url, &parent);
                }
            }
            return base;
        }
        if !self.in_profile && MATCHETYPE_EXTENSIONS.contains(&url) && !self.in_matchetype() {
            let at = format!("{}[url='{}']", self.path.render(), crate::issue::quoted(url));
            // RESOURCE_NOT_MATCHETYPE_EXTENSION (the reference's spelling)
            self.report(node, Issue::error(IssueCode::Invalid, at, format!("This resource is not a matcehtype, so it cannot have the extension {url}")));
        }
        let (plain, version) = crate::definition::split_canonical(url);
        let mut found = self.ctx.structure(plain);
        if version.is_some() && !self.in_profile {
            found = self.versioned_extension_url(node, url, found);
        }
        match found {
            Some(sd) => {
                if sd.type_name != "Extension" {
                    self.error(node, IssueCode::Structure, format!("The url {url} names a {} definition, not an extension", sd.type_name));
                    return base;
                }
                self.extension_context(node, &sd);
                self.modifier_placement(node, &sd);
                if !self.in_profile {
                    super::rules::extensions::simple_value(self, node, &sd);
                    self.definition_status(node, &sd, "extension");
                }
                Some(sd)
            }
            None if self.ctx.knows(plain) => {
                // Defined, but without a snapshot we can use: checked against the base Extension only.
                if !self.in_profile {
                    self.inform(node, IssueCode::Informational, format!("The extension {url} has no usable snapshot; only the base Extension rules were checked"));
                }
                base
            }
            None => {
                if !self.in_profile {
                    self.unknown_extension(node, url);
                }
                base
            }
        }
    }

    /// An extension url with a version (`...|4.0.0`), which extension urls
    /// never have: said as the reference says it, at the extension with its
    /// url, and the definition the extension is validated against, which
    /// may be the one that version names when the plain url names none.
    fn versioned_extension_url(&mut self, node: &Node, url: &str, by_plain_url: Option<Arc<StructureDef>>) -> Option<Arc<StructureDef>> {
        let at = format!("{}[url='{}']", self.path.render(), crate::issue::quoted(url));
        if let Some(sd) = self.ctx.structure(url).filter(|sd| sd.url == url) {
            // EXT_VER_URL_MISLEADING: the definition's own url has the '|'.
            let msg = "The extension URL contains a '|' which makes it look like a versioned URL, but it's not, and this is confusing for implementers";
            self.report(node, Issue::warning(IssueCode::Invalid, at, msg));
            return Some(sd);
        }
        let (found, issue) = match by_plain_url {
            // EXT_VER_URL_NOT_ALLOWED
            Some(sd) if sd.versioned_url() == url => (Some(sd), Issue::error(IssueCode::Invalid, at, "The extension URL must not contain a version")),
            Some(sd) => {
                let loaded = sd.version.clone().unwrap_or_default();
                // EXT_VER_URL_REVERSION
                let msg = format!("The extension URL must not contain a version. The extension was validated against version {loaded} of the extension");
                (Some(sd), Issue::error(IssueCode::Invalid, at, msg))
            }
            None => match self.ctx.structure(url) {
                // EXT_VER_URL_IGNORE
                Some(sd) => (Some(sd), Issue::error(IssueCode::Invalid, at, "Extension URLs don't have versions. The validator has ignored the version and processed the extension anyway")),
                // EXT_VER_URL_NO_MATCH
                None => (None, Issue::warning(IssueCode::Invalid, at, "Extension URLs don't have versions. The validator wasn't able to resolve this URL with or without version-based resolution")),
            },
        };
        self.report(node, issue);
        found
    }

    /// The element an extension sits in (`extension`, `modifierExtension`)
    /// must be labelled a modifier exactly when it is `modifierExtension`:
    /// a profile that says otherwise contradicts the extension's place.
    fn modifier_mismatch(&mut self, node: &Node, def: &Element, ext: &StructureDef) {
        let in_modifier = match node.name.as_str() {
            "modifierExtension" => true,
            "extension" => false,
            _ => return,
        };
        if def.is_modifier == in_modifier {
            return;
        }
        let url = node.child_text("url").unwrap_or(&ext.url);
        let at = format!("{}[url='{}']", self.path.render(), crate::issue::quoted(url));
        let msg = if in_modifier {
            // Extension_EXT_Modifier_MismatchY
            "Extension modifier mismatch: the extension element is labelled as a modifier, but the underlying extension is not"
        } else {
            // Extension_EXT_Modifier_MismatchN
            "Extension modifier mismatch: the extension element is not labelled as a modifier, but the underlying extension is"
        };
        self.report(node, Issue::error(IssueCode::Structure, at, msg));
    }

    /// Whether the resource being walked says it is a matchetype (a
    /// pattern for test outcomes), which alone may use the matchetype extensions.
    pub(super) fn in_matchetype(&self) -> bool {
        // Read once per resource (`ResourceFrame::matchetype`): asked for every
        // `$` value and every matchetype extension, a scan of the resource's
        // children each time was quadratic (the thirty-fourth pass's Z2, Z3).
        self.resources.last().is_some_and(|f| f.matchetype)
    }

    /// Modifier extensions go in `modifierExtension`, and only they do.
    fn modifier_placement(&mut self, node: &Node, sd: &StructureDef) {
        if self.in_profile {
            return;
        }
        let is_modifier = sd.root().is_modifier;
        match (node.name.as_str(), is_modifier) {
            // Extension_EXT_Modifier_N
            ("extension", true) => self.error(node, IssueCode::Structure, format!("The Extension '{}' must not be used as an extension (it's a modifierExtension)", sd.url)),
            // Extension_EXT_Modifier_Y
            ("modifierExtension", false) => self.error(node, IssueCode::Structure, format!("The Extension '{}' must not be used as a modifierExtension (it's a regular extension)", sd.url)),
            _ => {}
        }
    }

    fn unknown_extension(&mut self, node: &Node, url: &str) {
        if is_cross_version_extension(url) {
            // Elements of other FHIR versions, defined by rule rather than by a resource.
            self.inform(node, IssueCode::Extension, format!("The cross-version extension {url} is not checked"));
            return;
        }
        // As the reference validator: extensions in namespaces that are only
        // ever examples are let through; elsewhere an unknown one is an error.
        const EXAMPLE_NAMESPACES: [&str; 4] = ["http://example.org", "http://acme.com", "http://nema.org", "http://hl7.org/fhir/tools"];
        if EXAMPLE_NAMESPACES.iter().any(|ns| url.starts_with(ns)) {
            self.inform(node, IssueCode::Extension, format!("Unknown extension {url}"));
        } else {
            self.error(node, IssueCode::Structure, format!("The extension {url} could not be found so is not allowed here"));
        }
    }

    /// Where an extension may be used: its definition's `context` (element
    /// paths, types and their ancestors, a parent extension's url, or a
    /// FHIRPath expression that selects the element), then its context invariants.
    fn extension_context(&mut self, node: &Node, sd: &StructureDef) {
        if self.in_profile {
            return;
        }
        self.context_invariants(node, sd);
        self.extension_version_use(node, sd);
        if sd.context.is_empty() {
            return;
        }
        // The extension node is on the path; its host is the element above it.
        let full = self.path.definition_path();
        let Some(ExtHost { type_name, url, def: (def_sd, def_ix), node: host_node }) = self.ext_host.clone() else { return };
        let declared = &def_sd.elements[def_ix];
        // Most uses match a path or the type itself; the type's ancestors
        // (a walk up the definitions) are only looked at when they do not.
        let mut host = Host {
            path: full.rsplit_once('.').map_or(full.as_str(), |(h, _)| h),
            def: &declared.path,
            def_base: &declared.base_path,
            type_name: &type_name,
            url,
            ancestors: Vec::new(),
            node: Some(host_node),
        };
        self.context_profiles_unchecked(node, sd);
        if let Some(c) = sd.context.iter().find(|c| !matches!(c.kind.as_str(), "element" | "extension" | "fhirpath")) {
            // Unrecognised_extension_context_ (the reference stops there)
            let rendered = self.path.render();
            let host_expr = rendered.rsplit_once('.').map_or(rendered.as_str(), |(h, _)| h).to_string();
            self.report(node, Issue::error(IssueCode::Processing, host_expr, format!("Unrecognized extension context {}", c.kind)));
            return;
        }
        if self.context_allows(sd, &host) {
            return;
        }
        host.ancestors = self.type_ancestors(host.type_name);
        if self.context_allows(sd, &host) {
            return;
        }
        let contexts: Vec<String> = sd.context.iter().filter(|c| context_applies_to_r4(c)).map(|c| format!("{}:{}", &c.kind[..1], c.expression)).collect();
        // Whether some context says which FHIR versions it applies to.
        let version_specific = sd.context.iter().any(|c| c.version_use().is_some());
        let msg = if node.name == "modifierExtension" && version_specific {
            // Extension_EXTM_Context_Wrong_VER
            format!(
                "The modifier extension {} is not allowed to be used at this point (this element is [{}, {}]; allowed for this version = {})",
                sd.versioned_url(),
                host.type_name,
                host.path,
                contexts.join(", ")
            )
        } else if node.name == "modifierExtension" {
            // Extension_EXTM_Context_Wrong
            format!("The modifier extension {} is not allowed to be used at this point (this element is [{}, {}]; allowed = {})", sd.versioned_url(), host.type_name, host.path, contexts.join(", "))
        } else {
            // Extension_EXTP_Context_Wrong
            format!("The extension {} is not allowed to be used at this point (this element is [{}, {}]; allowed for this version = {})", sd.versioned_url(), host.type_name, host.path, contexts.join(", "))
        };
        // Only the version in use counts, even where R4 core's older copy of
        // the extension allowed more: the reference validator does the same.
        // The issue is the host's: the extension is fine, its place is not.
        let rendered = self.path.render();
        let host_expr = rendered.rsplit_once('.').map_or(rendered.as_str(), |(h, _)| h).to_string();
        self.report(node, Issue::error(IssueCode::Structure, host_expr, msg));
    }

    /// The FHIR versions an extension's definition says it may be used
    /// with (`version-specific-use`), against R4, the version in use.
    fn extension_version_use(&mut self, node: &Node, sd: &StructureDef) {
        let Some((start, end)) = &sd.version_use else { return };
        let rendered = self.path.render();
        let host_expr = rendered.rsplit_once('.').map_or(rendered.as_str(), |(h, _)| h).to_string();
        if let Some(v) = start.as_deref().filter(|v| compare_versions(R4_MAJOR_MINOR, v).is_lt()) {
            // EXTENSION_FHIR_VERSION_EARLIEST
            let msg = format!(
                "The definition of the extension '{}' specifies that the earliest version it can be used with is {} (v{v}), but this context of use is version R4 (v{R4_VERSION})",
                sd.url,
                fhir_release_name(v)
            );
            self.report(node, Issue::error(IssueCode::BusinessRule, host_expr.clone(), msg));
        }
        if let Some(v) = end.as_deref().filter(|v| compare_versions(R4_MAJOR_MINOR, v).is_gt()) {
            // EXTENSION_FHIR_VERSION_LATEST
            let msg = format!(
                "The definition of the extension '{}' specifies that the latest version it can be used with is {} (v{v}), but this context of use is version R4 (v{R4_VERSION})",
                sd.url,
                fhir_release_name(v)
            );
            self.report(node, Issue::error(IssueCode::BusinessRule, host_expr, msg));
        }
    }

    /// Element contexts in a profile (`{profile}#Patient.address`): a
    /// profile that cannot be found, or that is for another type than the
    /// resource's, cannot say whether the extension may be used here.
    fn context_profiles_unchecked(&mut self, node: &Node, sd: &StructureDef) {
        if !sd.context.iter().any(|c| c.expression.contains('#')) {
            return;
        }
        let Some(rt) = self.resources.last().and_then(|f| f.node.resource_type.as_deref()) else { return };
        let rendered = self.path.render();
        let host_expr = rendered.rsplit_once('.').map_or(rendered.as_str(), |(h, _)| h).to_string();
        for c in sd.context.iter().filter(|c| c.kind == "element") {
            let Some((pu, _)) = c.expression.split_once('#') else { continue };
            if pu == format!("{}{rt}", crate::context::CORE_SD_BASE) {
                continue;
            }
            match self.ctx.structure(pu) {
                None => {
                    // EXTENSION_CONTEXT_UNABLE_TO_FIND_PROFILE
                    let msg = format!("The extension {} specifies a context of {} but the validator cannot find that profile", sd.url, c.expression);
                    self.report(node, Issue::error(IssueCode::Unknown, host_expr.clone(), msg));
                }
                Some(p) if p.type_name != rt => {
                    // EXTENSION_CONTEXT_UNABLE_TO_CHECK_PROFILE
                    let msg = format!("The extension {} specifies a context of {} but the validator cannot check whether the profile is valid or not at this time", sd.url, c.expression);
                    self.report(node, Issue::warning(IssueCode::Unknown, host_expr.clone(), msg));
                }
                Some(_) => {}
            }
        }
    }

    /// Whether the resource being walked meets the profile a context names
    /// (`{profile}#path`); one for another type is not held against it.
    fn context_profile_applies(&self, pu: &str) -> bool {
        let Some(resource) = self.resources.last().map(|f| f.node) else { return false };
        let rt = resource.resource_type.as_deref().unwrap_or_default();
        if pu == format!("{}{rt}", crate::context::CORE_SD_BASE) {
            return true;
        }
        match self.ctx.structure(pu) {
            None => false,
            Some(p) if p.type_name != rt => true,
            Some(_) => {
                // The probe walk meets the same extension again: there, the context is taken as met.
                thread_local!(static CHECKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
                if CHECKING.with(|c| c.replace(true)) {
                    return true;
                }
                let applies = self.conforms(resource, pu);
                CHECKING.with(|c| c.set(false));
                applies
            }
        }
    }

    fn context_allows(&self, sd: &StructureDef, host: &Host<'_>) -> bool {
        let canonical_resource = || self.ctx.type_definition(host.type_name).is_some_and(|t| t.is_resource() && t.match_child(0, "url").is_some());
        sd.context.iter().filter(|c| context_applies_to_r4(c)).any(|c| match c.kind.as_str() {
            "element" => {
                let e = match c.expression.split_once('#') {
                    Some((pu, e)) if self.context_profile_applies(pu) => e,
                    Some(_) => return false,
                    None => c.expression.as_str(),
                };
                let choice = e.strip_suffix("[x]");
                e == host.path
                    || e == host.def
                    || e == host.def_base
                    || e == host.type_name
                    || host.ancestors.iter().any(|a| a == e)
                    || e == "Element"
                    || choice.is_some_and(|c| host.path.starts_with(c) || host.def.starts_with(c))
                    || (matches!(e, "CanonicalResource" | "MetadataResource") && canonical_resource())
            }
            "extension" => host.url.is_some_and(|u| u == c.expression),
            "fhirpath" => self.fhirpath_selects(&c.expression, host.node),
            _ => true,
        })
    }

    /// Whether a FHIRPath context, evaluated on the resource, selects the
    /// host element. An expression that cannot be evaluated allows the use.
    fn fhirpath_selects(&self, expression: &str, host: Option<&Node>) -> bool {
        let (Some(host), Some(resource)) = (host, self.resources.last().map(|f| f.node)) else { return true };
        let Ok(expr) = crate::fhirpath::parse_cached(expression) else { return true };
        let type_name = resource.resource_type.as_deref().unwrap_or(resource.name.as_str());
        let mut env = crate::fhirpath::EvalContext::new(self.ctx);
        env.resource = Some(resource);
        match crate::fhirpath::evaluate(&expr, resource, type_name, &env) {
            Ok(items) => items.iter().any(|i| matches!(i, crate::fhirpath::Item::Node { node, .. } if std::ptr::eq(*node, host))),
            Err(_) => true,
        }
    }

    /// An extension's `contextInvariant`s, evaluated on the element it sits on.
    fn context_invariants(&mut self, node: &Node, sd: &StructureDef) {
        if sd.context_invariant.is_empty() {
            return;
        }
        let Some(ExtHost { type_name, node: host, .. }) = self.ext_host.clone() else { return };
        let resource = self.resources.last().map(|f| f.node);
        for text in &sd.context_invariant {
            // An invariant that does not look at the extension itself has one
            // answer per element: worked out once, however many of the
            // extension sit on it (the twenty-first pass's J5).
            let key = (host as *const Node as usize, text.clone());
            let known = if text.contains("%extension") { None } else { self.context_invariant_results.get(&key).copied() };
            let holds = match known {
                Some(holds) => holds,
                None => {
                    let Ok(expr) = crate::fhirpath::parse_cached(text) else { continue };
                    let mut env = crate::fhirpath::EvalContext::new(self.ctx);
                    env.resource = resource;
                    let holds = match crate::fhirpath::evaluate(&expr, host, &type_name, &env) {
                        Ok(items) => !matches!(items.as_slice(), [crate::fhirpath::Item::Boolean(false)]),
                        Err(_) => true,
                    };
                    if !text.contains("%extension") {
                        self.context_invariant_results.insert(key, holds);
                    }
                    holds
                }
            };
            if !holds {
                let rendered = self.path.render();
                let host_expr = rendered.rsplit_once('.').map_or(rendered.as_str(), |(h, _)| h).to_string();
                let msg = format!("The extension {} is not allowed to be used at this point (based on context invariant '{text}')", sd.url);
                self.report(node, Issue::error(IssueCode::Structure, host_expr, msg));
            }
        }
    }

    /// A type and the types it specialises: `Patient`, `DomainResource`, `Resource`.
    fn type_ancestors(&self, type_name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = self.ctx.type_definition(type_name);
        while let Some(sd) = current {
            out.push(sd.type_name.clone());
            if out.len() > 16 {
                break;
            }
            current = sd.base_definition.as_deref().and_then(|b| self.ctx.structure(b)).filter(|b| b.type_name != sd.type_name);
        }
        out
    }

    /// HTML-looking content in a string or markdown value (`rules::string_content`).
    fn string_content(&mut self, node: &Node, type_code: &str, value: &str) {
        use super::rules::string_content::{markdown_issue, string_issue};
        let options = self.v.options();
        // The xhtml-rendering extension holds HTML by design.
        let rendering = self.extension_urls.last() == Some(&"http://hl7.org/fhir/StructureDefinition/rendering-xhtml");
        let mut found = Vec::new();
        if !rendering || options.security_checks {
            found.extend(string_issue(type_code, value, options.security_checks));
        }
        if type_code == "markdown" {
            found.extend(markdown_issue(value, options.html_in_markdown));
        }
        for (severity, msg) in found {
            let expr = self.path.render();
            self.report(node, Issue::new(severity, IssueCode::Invalid, expr, msg));
        }
    }

    /// The binding of `def` (in `profile`) on a coded node.
    pub(super) fn binding(&mut self, node: &Node, type_code: &str, system: Option<&str>, def: &Element, profile: &StructureDef) {
        let Some(binding) = &def.binding else { return };
        let versioned = profile.versioned_url();
        if binding.value_set.is_none() && type_code != "code" && type_code != "Quantity" {
            let expr = self.path.render();
            // Terminology_TX_Binding_NoSource (the profile as the reference prints a definition)
            let message = format!("Binding for path {expr} in profile StructureDefinition[{versioned}] has no source, so can't be checked");
            self.report(node, Issue::new(Severity::Information, IssueCode::CodeInvalid, expr, message));
        }
        let base = self.is_base_binding(def, binding);
        if type_code == "CodeableConcept" && self.in_profile && !base {
            // The codings' displays are judged with the most specific binding,
            // as the reference judges them with the profile's alone.
            let prefix = self.path.render_child("coding[");
            self.issues.remove_where(|i| i.expression.starts_with(&prefix) && i.expression.ends_with("].display") && i.message.starts_with("Wrong Display Name"));
        }
        let scope = crate::terminology::BindingScope { profile: (&profile.url, &versioned), resource: self.resources.last().map(|r| r.node) };
        let findings = self.v.terminology.check_binding(node, type_code, system, binding, base, &scope, self.v.options().for_publication);
        for f in findings {
            let (expr, severity) = match &f.at {
                Some(below) if below.ends_with("display") => (self.path.render_child(below), self.display_severity(f.severity)),
                Some(below) => (self.path.render_child(below), f.severity),
                None => (self.path.render(), f.severity),
            };
            self.report(node, Issue::new(severity, f.code, expr, f.message));
        }
    }

    /// A wrong display's severity: an error, or a warning where the
    /// validation says display issues are warnings.
    pub(super) fn display_severity(&self, severity: Severity) -> Severity {
        if severity == Severity::Error && self.v.options().display_issues_are_warnings {
            Severity::Warning
        } else {
            severity
        }
    }

    /// Whether an element's binding is the one the base definition of its
    /// path's type gives it (same strength, same value set), as the
    /// reference decides before it speaks of a preferred binding.
    fn is_base_binding(&self, def: &Element, binding: &crate::definition::Binding) -> bool {
        let root = def.path.split('.').next().unwrap_or_default();
        let Some(base_sd) = self.ctx.type_definition(root) else { return false };
        let Some(base) = base_sd.elements.iter().find(|e| e.path == def.path).and_then(|e| e.binding.as_ref()) else { return false };
        let plain = |b: &crate::definition::Binding| b.value_set.as_deref().map(|v| crate::definition::split_canonical(v).0.to_string());
        base.strength == binding.strength && plain(base).is_some() && plain(base) == plain(binding)
    }
}

/// What a vital signs profile is about, in the words of the reference's signpost.
/// Error messages as one text: `a, b and c`.
fn summarise(errors: &[Issue]) -> String {
    let texts: Vec<&str> = errors.iter().map(|i| i.message.as_str()).collect();
    match texts.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The extensions only a matchetype may use.
const MATCHETYPE_EXTENSIONS: [&str; 3] = [
    "http://hl7.org/fhir/tools/StructureDefinition/matchetype-optional",
    "http://hl7.org/fhir/tools/StructureDefinition/matchetype-count",
    "http://hl7.org/fhir/tools/StructureDefinition/matchetype-value",
];

const R4_VERSION: &str = "4.0.1";
const R4_MAJOR_MINOR: &str = "4.0";

/// Whether an extension context applies to R4: its `version-specific-use`
/// range, if it has one, holds R4 (as the reference compares major.minor).
fn context_applies_to_r4(c: &crate::definition::ExtensionContext) -> bool {
    let Some((start, end)) = c.version_use() else { return true };
    start.is_none_or(|v| compare_versions(R4_MAJOR_MINOR, v).is_ge()) && end.is_none_or(|v| compare_versions(R4_MAJOR_MINOR, v).is_le())
}

/// Two FHIR versions compared part by part as far as both go: `4.0` is
/// `4.0.1`, and before `5.0.0`.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| v.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    let (a, b) = (parts(a), parts(b));
    a.iter().zip(&b).map(|(x, y)| x.cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
}

/// The release name of a FHIR version (`4.0.1` is R4).
fn fhir_release_name(v: &str) -> &'static str {
    let mm: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
    match mm.as_str() {
        "1.0" => "R2",
        "1.4" => "R2B",
        "3.0" => "R3",
        "4.0" => "R4",
        "4.3" => "R4B",
        "5.0" => "R5",
        "6.0" => "R6",
        _ => "R?",
    }
}

/// A core definition named by a FHIR version's own URL
/// (`http://hl7.org/fhir/3.0/StructureDefinition/Patient`): the version
/// (`3.0`) and the URL without it.
fn version_specific_core_url(url: &str) -> Option<(&str, String)> {
    let rest = url.strip_prefix("http://hl7.org/fhir/")?;
    let (version, tail) = rest.split_once('/')?;
    ["1.0", "1.4", "3.0", "4.0", "5.0", "6.0"].contains(&version).then(|| (version, format!("http://hl7.org/fhir/{tail}")))
}

fn vital_sign_name(profile: &str) -> &'static str {
    match profile {
        "vitalspanel" => "Vital Signs Panel",
        "resprate" => "Respiratory Rate",
        "heartrate" => "Heart rate",
        "oxygensat" => "Oxygen saturation",
        "bodytemp" => "Body temperature",
        "bodyheight" => "Body height",
        "headcircum" => "Head circumference",
        "bodyweight" => "Body weight",
        "bmi" => "Body mass index",
        _ => "Blood pressure systolic and diastolic",
    }
}

/// How a primitive value compares with a minValue[x]/maxValue[x]; `None`
/// when they cannot be compared (different precision, not a number).
fn compare_to_limit(type_suffix: &str, text: &str, limit: &serde_json::Value) -> Option<std::cmp::Ordering> {
    match type_suffix {
        "Integer" | "PositiveInt" | "UnsignedInt" | "Decimal" | "Integer64" => {
            let value: f64 = text.parse().ok()?;
            let limit: f64 = match limit {
                serde_json::Value::Number(n) => n.as_f64()?,
                serde_json::Value::String(s) => s.parse().ok()?,
                _ => return None,
            };
            value.partial_cmp(&limit)
        }
        "Date" | "DateTime" | "Instant" | "Time" => {
            // Same precision and form compare as text; anything else is undecided.
            let limit = limit.as_str()?;
            (limit.len() == text.len() || (limit.len() >= 10 && text.len() >= 10 && limit.len() == 10)).then(|| text[..limit.len().min(text.len())].cmp(limit))
        }
        _ => None,
    }
}

/// `http://hl7.org/fhir/5.0/StructureDefinition/extension-Path.to.element`.
fn is_cross_version_extension(url: &str) -> bool {
    url.strip_prefix("http://hl7.org/fhir/")
        .and_then(|rest| rest.split_once("/StructureDefinition/extension-"))
        .is_some_and(|(version, _)| version.len() == 3 && version.as_bytes()[1] == b'.' && version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// What the walk notes about an element before walking its extensions.
#[derive(Clone)]
struct ExtHost<'n> {
    type_name: compact_str::CompactString,
    /// Set when the element is itself an extension (or an extension's value).
    url: Option<&'n str>,
    /// The definition that declares the element.
    def: (Arc<StructureDef>, usize),
    node: &'n Node,
}

/// The element an extension sits on, as extension contexts describe it.
struct Host<'n> {
    /// Path in the resource: `Patient.name`.
    path: &'n str,
    /// Path in the definition that declares the element: `HumanName.family`.
    def: &'n str,
    /// The path of the element it constrains: `DomainResource.text`.
    def_base: &'n str,
    type_name: &'n str,
    /// The url, when the host is itself an extension.
    url: Option<&'n str>,
    ancestors: Vec<String>,
    node: Option<&'n Node>,
}

/// The JSON spelling a primitive type must have.
fn json_kind_for(code: &str) -> Option<ValueKind> {
    Some(match code {
        "boolean" => ValueKind::JsonBool,
        "integer" | "decimal" | "positiveInt" | "unsignedInt" => ValueKind::JsonNumber,
        "integer64" => ValueKind::JsonString,
        _ if is_primitive_type(code) => ValueKind::JsonString,
        _ => return None,
    })
}
