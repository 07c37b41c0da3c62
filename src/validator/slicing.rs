//! Slicing and fixed/pattern values: which slice each repetition of a sliced
//! element belongs to (by its discriminators), each slice's cardinality, the
//! slicing rules (closed, open, openAtEnd), and fixed[x]/pattern[x] values.
//!
//! A discriminator we cannot evaluate never turns into an error: the slicing
//! is then reported as unchecked at information level, since a guess would
//! be a false error on a valid resource.

use super::element::Walk;
use crate::issue::IssueCode;
use crate::structure::{Element, ElementType, SliceTest as Expect, StructureDef};
use crate::tree::Node;
use serde_json::Value;
use std::sync::Arc;

/// One repetition of a sliced element: the node, its index among its siblings.
pub(super) struct Repetition<'n, 's> {
    pub node: &'n Node,
    pub index: usize,
    pub ty: Option<&'s ElementType>,
}

impl<'v, 'n> Walk<'v, 'n> {
    /// Assigns each repetition to a slice and applies the slices' rules;
    /// then sorts what each re-sliced slice matched into its re-slices.
    pub(super) fn slices(&mut self, parent: &'n Node, sd: &Arc<StructureDef>, sliced: usize, reps: &[Repetition<'n, '_>]) {
        let def = &sd.elements[sliced];
        let Some(slicing) = &def.slicing else { return };
        let slices = &def.slices;
        if slices.is_empty() {
            return;
        }
        // Each slice's expectations, one per discriminator; None where one cannot be worked out.
        let expectations = def.slice_tests.get_or_init(|| {
            slices
                .iter()
                .map(|&s| {
                    if slicing.discriminator.is_empty() {
                        // No discriminator: a repetition belongs to the first slice it is valid against.
                        return Some(vec![("$this".to_string(), Expect::Conforms(None, s))]);
                    }
                    slicing.discriminator.iter().map(|d| self.expectation(sd, s, &d.kind, &d.path).map(|e| (d.path.clone(), e))).collect()
                })
                .collect()
        });
        // A discriminator whose very form the reference refuses, or a slicing
        // that cannot be read as written (SLICING_CANNOT_BE_EVALUATED): no
        // repetition can be sorted.
        let defect = slicing.discriminator.iter().find_map(|d| discriminator_form(&d.path)).or_else(|| def.slicing_defect.get_or_init(|| self.discriminator_defect(sd, sliced)).clone());
        if let Some(problem) = defect.filter(|_| !reps.is_empty()) {
            for rep in reps {
                match rep.ty.filter(|_| def.is_choice()) {
                    Some(t) => self.path.push_choice(def.choice_name(), &t.code),
                    None => self.path.push(&rep.node.name, def.repeats.then_some(rep.index)),
                }
                self.error(rep.node, IssueCode::Processing, format!("Slicing cannot be evaluated: {problem}"));
                self.path.pop();
            }
            return;
        }
        if !expectations.iter().all(Option::is_some) {
            if !reps.is_empty() {
                self.inform(parent, IssueCode::Informational, format!("The slicing of {} was not checked: a discriminator cannot be evaluated here", def.id));
            }
            return;
        }
        let matches = |rep: &Repetition<'n, '_>, k: usize| expectations[k].as_ref().is_some_and(|list| list.iter().all(|(path, e)| self.satisfies(rep.node, sd, path, e)));
        let found: Vec<Option<usize>> = reps.iter().map(|rep| (0..slices.len()).find(|&k| matches(rep, k))).collect();
        // Validation_VAL_Profile_MatchMultiple: where every expectation is a
        // definite one (not what careplan reads for an unconstrained
        // discriminator), a repetition may match one slice only.
        let definite = |k: usize| {
            !slicing.discriminator.is_empty()
                && expectations[k].as_ref().is_some_and(|list| list.iter().all(|(_, e)| !matches!(e, Expect::Any | Expect::Conforms(..))))
                && !sd.elements[slices[k]].slice_name.as_deref().unwrap_or_default().contains('/')
        };
        let also: Vec<Option<usize>> = reps
            .iter()
            .zip(&found)
            .map(|(rep, f)| f.filter(|&k| definite(k)).and_then(|k| (k + 1..slices.len()).find(|&j| definite(j) && matches(rep, j))))
            .collect();
        let last_matched = found.iter().rposition(Option::is_some);
        let mut counts = vec![0usize; slices.len()];
        let mut last_slice = 0usize;
        for (i, (rep, &slice)) in reps.iter().zip(&found).enumerate() {
            match rep.ty.filter(|_| def.is_choice()) {
                Some(t) => self.path.push_choice(def.choice_name(), &t.code),
                None => self.path.push(&rep.node.name, def.repeats.then_some(rep.index)),
            }
            if let (Some(k), Some(j)) = (slice, also[i]) {
                let name = |x: usize| sd.elements[slices[x]].slice_name.clone().unwrap_or_default();
                let msg = format!("Profile {}, Element matches more than one slice - {}, {}", sd.versioned_url(), name(k), name(j));
                self.error(rep.node, IssueCode::Invalid, msg);
            }
            match slice {
                Some(k) => {
                    counts[k] += 1;
                    if slicing.ordered && k < last_slice {
                        // Validation_VAL_Profile_SliceOrder, with which slices in careplan's detail
                        let msg = format!(
                            "As specified by profile {}, Element '{}' is out of order in ordered slice (it matches the slice '{}', which comes before the slice '{}' an earlier element matched)",
                            sd.versioned_url(),
                            rep.node.name,
                            slice_label(&sd.elements[slices[k]]),
                            slice_label(&sd.elements[slices[last_slice]]),
                        );
                        self.error(rep.node, IssueCode::Invalid, msg);
                    }
                    last_slice = last_slice.max(k);
                    let slice_ix = slices[k];
                    let ty = rep.ty.or_else(|| sd.elements[slice_ix].types.first());
                    if let Some(usage) = &mut self.usage {
                        usage.note(rep.node, sd, slice_ix);
                    }
                    self.element(rep.node, sd, slice_ix, ty); // the repetition against its slice's own definition
                }
                None => {
                    let profile = sd.versioned_url();
                    match slicing.rules.as_deref() {
                        Some("closed") => {
                            // Validation_VAL_Profile_NotSlice, with why each slice does not match
                            let why = self.why_not_each_slice(rep.node, sd, sliced, expectations);
                            let msg = format!("This element does not match any known slice defined in the profile {profile} and slicing is CLOSED: {why}");
                            self.error(rep.node, IssueCode::Invalid, msg)
                        }
                        Some("openAtEnd") if last_matched.is_some_and(|l| l > i) => self.error(
                            rep.node,
                            IssueCode::Structure,
                            format!("This element does not match any known slice defined in the profile {profile}, and slicing is open only at the end: a later element matches a slice"),
                        ),
                        _ => {
                            // This_element_does_not_match_any_known_slice_
                            let msg = format!(
                                "This element does not match any known slice defined in the profile {profile} (this may not be a problem, but you should check that it's not intended to match a slice)"
                            );
                            self.inform(rep.node, IssueCode::Informational, msg);
                            self.why_no_profile_slice(rep.node, sd, expectations);
                        }
                    }
                }
            }
            self.path.pop();
        }
        for (k, &s) in slices.iter().enumerate() {
            let slice = &sd.elements[s];
            if counts[k] < slice.min as usize && slice.path == "Observation.code.coding" && sd.url.starts_with(crate::context::CORE_SD_BASE) {
                // VALIDATION_VAL_PROFILE_MINIMUM_MAGIC: a core profile's required code (the vital signs' LOINC codes).
                let code = fixed_in_slice(sd, s, "code").and_then(|e| e.fixed.as_ref().or(e.pattern.as_ref())).and_then(|(_, v)| v.as_str()).map(str::to_string);
                let code = code
                    .or_else(|| slice.fixed.as_ref().or(slice.pattern.as_ref()).and_then(|(_, v)| v.get("code")).and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| "??".to_string());
                let name = slice.slice_name.as_deref().unwrap_or_default();
                let msg = format!(
                    "{name}: magic LOINC code {code} required, but not found (from {}). Note that other Observation codes are allowed in addition to this required magic code",
                    sd.versioned_url()
                );
                self.error(parent, IssueCode::Structure, msg);
            } else if counts[k] < slice.min as usize {
                let msg = format!("Slice '{}': a matching slice is required, but not found (from {})", slice_label(slice), sd.versioned_url());
                self.error(parent, IssueCode::Structure, msg);
            }
            if !slice.max_allows(counts[k]) {
                let msg = format!("{}: max allowed = {}, but found {} (from {})", slice_label(slice), slice.max.unwrap_or(0), counts[k], sd.versioned_url());
                self.error(parent, IssueCode::Structure, msg);
            }
            if slice.slicing.is_some() && !slice.slices.is_empty() {
                let matched: Vec<Repetition<'n, '_>> =
                    reps.iter().zip(&found).filter(|(_, f)| **f == Some(k)).map(|(r, _)| Repetition { node: r.node, index: r.index, ty: r.ty }).collect();
                self.slices(parent, sd, s, &matched);
            }
        }
    }

    /// Why a repetition matches none of the slices: each slice's
    /// discriminators, as the reference lists them for closed slicing.
    fn why_not_each_slice(&self, node: &'n Node, sd: &Arc<StructureDef>, sliced: usize, expectations: &[Option<Vec<(String, Expect)>>]) -> String {
        let at = self.path.render();
        let slices = &sd.elements[sliced].slices;
        let mut out = Vec::new();
        for (k, list) in expectations.iter().enumerate() {
            let Some(list) = list else { continue };
            if list.iter().all(|(path, e)| self.satisfies(node, sd, path, e)) {
                continue;
            }
            let discriminator: Vec<String> = list.iter().map(|(path, e)| describe(path, e)).collect();
            let name = sd.elements[slices[k]].slice_name.as_deref().unwrap_or_default();
            // Does_not_match_slice_, for each slice, where the element is
            let why = format!("Does not match slice '{name}' (discriminator: {})", discriminator.join(" and "));
            out.push(format!("{at}: {why}"));
        }
        out.join(", ")
    }

    /// What makes a profile's slicing unreadable as written: a discriminator
    /// whose kind the slice's definition cannot support.
    fn discriminator_defect(&self, sd: &Arc<StructureDef>, sliced: usize) -> Option<String> {
        let def = &sd.elements[sliced];
        let slicing = def.slicing.as_ref()?;
        for d in &slicing.discriminator {
            if let Err(e) = crate::fhirpath::parse_cached(&d.path) {
                // DISCRIMINATOR_BAD_PATH
                return Some(format!("Error processing path expression for discriminator: {} (src = '{}')", e.message, d.path));
            }
        }
        for &s in &def.slices {
            let slice = &sd.elements[s];
            for d in &slicing.discriminator {
                if reference_path(&d.path).is_some() {
                    continue;
                }
                if matches!(d.kind.as_str(), "value" | "pattern") {
                    // The value the slice fixes or patterns there: a pattern the reference cannot slice by.
                    let in_slice = fixed_in_slice(sd, s, &d.path);
                    let at_path = if in_slice.is_none() { self.element_at(sd, s, &d.path).filter(|(_, rest)| rest.is_empty()) } else { None };
                    let el = in_slice.or(at_path.as_ref().map(|((tsd, ix), _)| &tsd.elements[*ix]));
                    if let Some((t, _)) = el.filter(|e| e.max != Some(0)).and_then(|e| e.fixed.as_ref()) {
                        if let Some(problem) = self.fixed_defect(&d.path, &slice.id, t) {
                            return Some(problem);
                        }
                    }
                    if let Some((t, v)) = el.filter(|e| e.fixed.is_none()).and_then(|e| e.pattern.as_ref()) {
                        if let Some(problem) = self.pattern_defect(&d.path, &slice.id, t, v) {
                            return Some(problem);
                        }
                    }
                    continue;
                }
                let Some(((tsd, ix), rest)) = self.element_at(sd, s, &d.path) else { continue };
                if !rest.is_empty() {
                    continue;
                }
                let el = &tsd.elements[ix];
                match d.kind.as_str() {
                    "exists" if el.min == 0 && el.max != Some(0) => {
                        // Discriminator__is_based_on_element_existence_but_slice__neither_sets_min1_or_max0
                        return Some(format!("Discriminator ({}) is based on element existence, but slice {} neither sets min>=1 or max=0", d.path, slice.id));
                    }
                    "type" if el.types.is_empty() && el.content_reference.is_none() && el.path.contains('.') => {
                        // Discriminator__is_based_on_type_but_slice__in__has_no_types
                        return Some(format!("Discriminator ({}) is based on type, but slice {} in {} has no types", d.path, slice.id, sd.versioned_url()));
                    }
                    "profile" if el.types.is_empty() && el.content_reference.is_none() => {
                        // Profile_based_discriminators_must_have_a_type__in_profile_
                        return Some(format!("Profile based discriminators must have a type ({} in profile {})", el.id, sd.versioned_url()));
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// A fixed value the reference cannot turn into a slicing condition: it
    /// compares codes, identifiers, strings, URIs, integers and booleans
    /// (and their specializations); any other type it names by the class of
    /// its (R5) object model that holds the value.
    fn fixed_defect(&self, disc: &str, slice: &str, type_name: &str) -> Option<String> {
        const COMPARED: &[&str] = &["CodeableConcept", "Identifier", "Coding", "string", "uri", "integer", "boolean"];
        // The type as the element's `fixed[x]` names it (`Code`): a primitive's code is lower case.
        let lower = format!("{}{}", type_name.get(..1).unwrap_or_default().to_ascii_lowercase(), type_name.get(1..).unwrap_or_default());
        let type_name = if self.ctx.type_definition(&lower).is_some_and(|t| t.is_primitive()) { lower.as_str() } else { type_name };
        // decimal: the reference fails there otherwise than with its message.
        if type_name == "decimal" {
            return None;
        }
        let mut ancestry = Some(type_name.to_owned());
        for _ in 0..8 {
            let Some(t) = ancestry else { break };
            if COMPARED.contains(&t.as_str()) {
                return None;
            }
            ancestry = self.ctx.type_definition(&t).and_then(|sd| sd.base_definition.as_deref().and_then(|b| b.rsplit('/').next()).map(str::to_owned));
        }
        let class = if crate::validator::is_primitive_type(type_name) {
            format!("{}{}Type", type_name.get(..1).unwrap_or_default().to_ascii_uppercase(), type_name.get(1..).unwrap_or_default())
        } else {
            type_name.to_owned()
        };
        // Unsupported_fixed_value_type_for_discriminator_for_slice__
        Some(format!("Unsupported fixed value type for discriminator ({disc}) for slice {slice}: org.hl7.fhir.r5.model.{class}"))
    }

    /// A pattern the reference cannot turn into a slicing condition (it
    /// says why, and the slicing is not evaluated).
    fn pattern_defect(&self, disc: &str, slice: &str, type_name: &str, v: &Value) -> Option<String> {
        let has = |v: &Value, k: &str| v.get(k).is_some_and(|x| !x.is_null());
        let no_property = |t: &str| format!("Unsupported: no properties with values found on type {t} for pattern for discriminator ({disc}) for slice {slice}");
        let codeable_concept = |cc: &Value| -> Option<String> {
            if has(cc, "text") {
                // Unsupported_CodeableConcept_pattern__using_text__for_discriminator_for_slice_
                return Some(format!("Unsupported CodeableConcept pattern - using text - for discriminator ({disc}) for slice {slice}"));
            }
            let codings = cc.get("coding").and_then(Value::as_array).filter(|c| !c.is_empty());
            let Some(codings) = codings else {
                // Unsupported_CodeableConcept_pattern__must_have_at_least_one_coding__for_discriminator_for_slice_
                return Some(format!("Unsupported CodeableConcept pattern - must have at least one coding - for discriminator ({disc}) for slice {slice}"));
            };
            if has(cc, "extension") || codings.iter().any(|c| has(c, "extension")) {
                // Unsupported_CodeableConcept_pattern__extensions_are_not_allowed__for_discriminator_for_slice_
                return Some(format!("Unsupported CodeableConcept pattern - extensions are not allowed - for discriminator ({disc}) for slice {slice}"));
            }
            if codings.iter().any(|c| !["system", "version", "code", "display"].iter().any(|k| has(c, k))) {
                // UNSUPPORTED_IDENTIFIER_PATTERN_NO_PROPERTY_NOT_SUPPORTED_FOR_DISCRIMINATOR_FOR_SLICE
                return Some(no_property("CodeableConcept"));
            }
            None
        };
        let identifier_extension = || format!("Unsupported Identifier pattern - extensions are not allowed - for discriminator ({disc}) for slice {slice}");
        match type_name {
            "CodeableConcept" => codeable_concept(v),
            "Coding" if has(v, "extension") => Some(format!("Unsupported CodeableConcept pattern - extensions are not allowed - for discriminator ({disc}) for slice {slice}")),
            "Coding" => None,
            // Unsupported_Identifier_pattern__extensions_are_not_allowed__for_discriminator_for_slice_
            "Identifier" if has(v, "extension") => Some(identifier_extension()),
            "Identifier" if !["system", "value", "use", "type"].iter().any(|k| has(v, k)) => Some(no_property("Identifier")),
            "Identifier" => v.get("type").and_then(codeable_concept),
            "HumanName" if has(v, "extension") => Some(identifier_extension()),
            "HumanName" => match ["given", "prefix", "suffix", "period"].iter().find(|k| has(v, k)) {
                // UNSUPPORTED_IDENTIFIER_PATTERN_PROPERTY_NOT_SUPPORTED_FOR_DISCRIMINATOR_FOR_SLICE
                Some(k) => Some(format!("Unsupported property {k} on type HumanName for pattern for discriminator ({disc}) for slice {slice}")),
                None if !["use", "text", "family"].iter().any(|k| has(v, k)) => Some(no_property("HumanName")),
                None => None,
            },
            "Address" => None,
            t => {
                let lower = format!("{}{}", t.get(..1).unwrap_or_default().to_ascii_lowercase(), t.get(1..).unwrap_or_default());
                if self.ctx.type_definition(&lower).is_some_and(|x| x.is_primitive()) {
                    return None;
                }
                // Unsupported_fixed_pattern_type_for_discriminator_for_slice__
                Some(format!("Unsupported fixed pattern type for discriminator ({disc}) for slice {slice}: {t}"))
            }
        }
    }

    /// For a repetition that fell out of slicing by profile: why it does
    /// not meet the profile of each slice it otherwise matches (its type,
    /// say), at information level as the reference's slicing hints are.
    /// A Bundle entry lacking what its slice's profile requires is told
    /// so here, not silently left out.
    fn why_no_profile_slice(&mut self, node: &'n Node, sd: &Arc<StructureDef>, expectations: &[Option<Vec<(String, Expect)>>]) {
        let by_profile = |e: &Expect| matches!(e, Expect::Profile(_) | Expect::TargetProfile(_));
        let mut reasons = Vec::new();
        for list in expectations.iter().flatten() {
            if !list.iter().any(|(_, e)| by_profile(e)) || !list.iter().filter(|(_, e)| !by_profile(e)).all(|(path, e)| self.satisfies(node, sd, path, e)) {
                continue;
            }
            for (path, e) in list {
                let profiles = match e {
                    Expect::Profile(p) | Expect::TargetProfile(p) => p,
                    _ => continue,
                };
                let reference = reference_path(path);
                let at = reference.unwrap_or(path);
                let resolve = |r: &'n Node| r.child_text("reference").and_then(|x| self.resolve(x));
                let found: Vec<&'n Node> = if at == "$this" { vec![node] } else { descendants(node, at, &resolve) };
                let targets: Vec<&'n Node> = if reference.is_some() { found.into_iter().filter_map(resolve).collect() } else { found };
                for target in targets {
                    for profile in profiles {
                        if let Some(errors) = self.profile_errors(target, profile) {
                            reasons.push((profile.clone(), errors));
                        }
                    }
                }
            }
        }
        let at = format!("{}.{}", self.path.render(), node.children.iter().find(|c| c.resource_type.is_some()).map_or("", |c| c.name.as_str()));
        let at = at.trim_end_matches('.').to_owned();
        for (profile, errors) in reasons {
            const SHOWN: usize = 10;
            let mut listed: Vec<String> = errors.iter().take(SHOWN).map(|i| format!("{}: {}", i.expression, i.message)).collect();
            if errors.len() > SHOWN {
                listed.push(format!("and {} more", errors.len() - SHOWN));
            }
            let msg = format!("Profile {profile} does not match for {at} because of the following profile issues: {}", listed.join("; "));
            self.inform(node, IssueCode::Informational, msg);
        }
    }

    /// What slice `slice` of `sd` requires at `path` for a discriminator of `kind`.
    fn expectation(&self, sd: &Arc<StructureDef>, slice: usize, kind: &str, path: &str) -> Option<Expect> {
        if matches!(kind, "value" | "pattern") {
            // A value fixed beneath a nested slice (`code.coding:SBPCode.code`) counts for the path.
            if let Some(e) = fixed_in_slice(sd, slice, path) {
                let (value, exact) = match (&e.fixed, &e.pattern) {
                    (Some((_, v)), _) => (v.clone(), true),
                    (None, Some((_, v))) => (v.clone(), false),
                    _ => unreachable!("fixed_in_slice finds only fixed or patterned elements"),
                };
                return Some(Expect::Value { value, exact });
            }
        }
        if let Some(reference_path) = reference_path(path) {
            // What the reference points to: its type, from the slice's targetProfile.
            let ((tsd, ix), rest) = self.element_at(sd, slice, reference_path)?;
            let el = &tsd.elements[ix];
            let t = el.types.iter().find(|t| t.code == "Reference")?;
            return match kind {
                "type" if rest.is_empty() => self.allowed_target_types(el, t).map(|types| Expect::TargetType(types.to_vec())),
                "profile" if rest.is_empty() && t.target_profiles.is_empty() => Some(Expect::Any),
                "profile" if rest.is_empty() => Some(Expect::TargetProfile(t.target_profiles.clone())),
                _ => None,
            };
        }
        let (target, rest) = self.element_at(sd, slice, path)?;
        let el = &target.0.elements[target.1];
        match kind {
            "value" | "pattern" => {
                let (value, exact) = match (&el.fixed, &el.pattern) {
                    (Some((_, v)), _) => (v.clone(), true),
                    (None, Some((_, v))) => (v.clone(), false),
                    _ => {
                        return self.extension_url_expectation(sd, slice, path).or_else(|| {
                            Some(if rest.is_empty() && constrains_below(&target.0, target.1) {
                                // The sliced element's own definition is named by None: no Arc of a definition within itself.
                                let elsewhere = (!Arc::ptr_eq(&target.0, sd)).then(|| target.0.clone());
                                Expect::Conforms(elsewhere, target.1)
                            } else {
                                Expect::Any
                            })
                        })
                    }
                };
                let value = rest.iter().try_fold(value, |v, seg| v.get(seg).cloned())?;
                Some(Expect::Value { value, exact })
            }
            "exists" if rest.is_empty() => Some(Expect::Exists(el.min > 0)),
            // Several types, or several profiles, are alternatives, as the
            // reference reads them; a slice whose types name no profile
            // does not constrain the profile discriminator at all.
            "type" if rest.is_empty() && !el.types.is_empty() => Some(Expect::Type(el.types.iter().map(|t| t.code.clone()).collect())),
            "profile" if rest.is_empty() => {
                let mut profiles: Vec<String> = el.types.iter().flat_map(|t| t.profiles.iter().cloned()).collect();
                if profiles.is_empty() {
                    // A Reference element sliced by profile names its targets' profiles.
                    profiles = el.types.iter().flat_map(|t| t.target_profiles.iter().cloned()).collect();
                }
                Some(if profiles.is_empty() { Expect::Any } else { Expect::Profile(profiles) })
            }
            _ => None,
        }
    }

    /// The `url` discriminator of an extension slice that names its
    /// extension by `type.profile`.
    fn extension_url_expectation(&self, sd: &Arc<StructureDef>, slice: usize, path: &str) -> Option<Expect> {
        if path != "url" && path != "extension.url" {
            return None;
        }
        let el = &sd.elements[slice];
        let url = el.types.iter().find(|t| t.code == "Extension")?.profiles.first()?;
        Some(Expect::Value { value: Value::String(url.clone()), exact: true })
    }

    /// The element at a discriminator path below a slice, and the path
    /// segments left over when the path goes inside a fixed/pattern value.
    #[allow(clippy::type_complexity)]
    fn element_at(&self, sd: &Arc<StructureDef>, slice: usize, path: &str) -> Option<((Arc<StructureDef>, usize), Vec<String>)> {
        let mut current = (sd.clone(), slice);
        if path == "$this" {
            return Some((current, Vec::new()));
        }
        let segments = split_path(path);
        for (i, seg) in segments.iter().enumerate() {
            let (csd, cix) = current.clone();
            if let Some(url) = extension_url(seg) {
                // extension('url'): the extension slice that names this url.
                current = self.extension_slice(&csd, cix, url)?;
                continue;
            }
            if let Some(type_code) = of_type(seg) {
                // One type of a choice: its type slice where the profile has one.
                let el = &csd.elements[cix];
                let single = |s: &usize| matches!(csd.elements[*s].types.as_slice(), [t] if t.code == type_code);
                if let Some(&s) = el.slices.iter().find(|s| single(s)) {
                    current = (csd.clone(), s);
                } else if !el.types.iter().any(|t| t.code == type_code) {
                    return None;
                }
                continue;
            }
            if *seg == "resolve()" {
                // Into what the reference points to: its one target profile says what that holds.
                let el = &csd.elements[cix];
                let target = match el.types.iter().find(|t| t.code == "Reference").map(|t| t.target_profiles.as_slice()) {
                    Some([one]) => one,
                    _ => return None,
                };
                current = (self.ctx.structure(target)?, 0);
                continue;
            }
            if seg.contains('(') {
                return None; // a function we do not follow
            }
            let el = &csd.elements[cix];
            if el.fixed.is_some() || el.pattern.is_some() {
                return Some((current, segments[i..].iter().map(|s| s.to_string()).collect()));
            }
            let child = if el.children.is_empty() {
                // Not expanded in the snapshot: look in the type's (profile's) definition.
                let t = el.types.first()?;
                let tsd = t.profiles.first().and_then(|p| self.ctx.structure(p)).or_else(|| self.ctx.type_definition(&t.code))?;
                let ix = child_named(&tsd, 0, seg)?;
                (tsd, ix)
            } else {
                let ix = child_named(&csd, cix, seg)?;
                (csd.clone(), ix)
            };
            current = child;
        }
        Some((current, Vec::new()))
    }

    /// Among the extensions of element `ix`, the slice for the extension `url`
    /// (by its type profile or fixed url); or the extension's own definition.
    fn extension_slice(&self, sd: &Arc<StructureDef>, ix: usize, url: &str) -> Option<(Arc<StructureDef>, usize)> {
        let el = &sd.elements[ix];
        let ext = el.children.iter().copied().find(|&c| sd.elements[c].name == "extension");
        if let Some(ext) = ext {
            for &s in &sd.elements[ext].slices {
                let slice = &sd.elements[s];
                let by_profile = slice.types.iter().any(|t| t.profiles.iter().any(|p| p == url));
                let by_fixed = slice.children.iter().any(|&c| sd.elements[c].name == "url" && sd.elements[c].fixed.as_ref().and_then(|(_, v)| v.as_str()) == Some(url));
                if by_profile || by_fixed {
                    return Some((sd.clone(), s));
                }
            }
        }
        self.ctx.structure(url).map(|ext_sd| (ext_sd, 0))
    }

    fn satisfies(&self, node: &'n Node, sd: &Arc<StructureDef>, path: &str, expect: &Expect) -> bool {
        let path = reference_path(path).unwrap_or(path);
        let resolve = |reference: &'n Node| reference.child_text("reference").and_then(|r| self.resolve(r));
        let values: Vec<&Node> = if path == "$this" { vec![node] } else { descendants(node, path, &resolve) };
        match expect {
            Expect::Value { value, exact } => values.iter().any(|n| node_matches(n, value, *exact)),
            Expect::Exists(should) => values.is_empty() != *should,
            Expect::Type(types) => values.iter().any(|n| types.iter().any(|t| n.resource_type.as_deref() == Some(t.as_str()) || n.name.ends_with(&upper_first(t)))),
            Expect::Profile(profiles) => values.iter().any(|n| profiles.iter().any(|p| self.conforms(n, p))),
            Expect::Any => true,
            Expect::TargetType(types) => values.iter().any(|r| {
                r.child_text("reference").and_then(|reference| self.reference_target_type(reference)).is_some_and(|t| types.iter().any(|x| *x == t || x == "Resource"))
            }),
            Expect::TargetProfile(profiles) => values
                .iter()
                .filter_map(|r| r.child_text("reference").and_then(|reference| self.resolve(reference)))
                .any(|target| profiles.iter().any(|p| self.conforms(target, p))),
            Expect::Conforms(elsewhere, ix) => values.iter().any(|n| self.probe_element(n, elsewhere.as_ref().unwrap_or(sd), *ix)),
        }
    }

    /// Whether a resource node is valid against a profile (a nested walk
    /// whose issues are only counted).
    pub(super) fn conforms(&self, node: &'n Node, profile: &str) -> bool {
        self.profile_errors(node, profile).is_some_and(|errors| errors.is_empty())
    }

    /// The errors of a resource node against a profile (a nested walk of
    /// its own); `None` when the node is not a resource of the profile's
    /// type or the profile is unknown.
    pub(super) fn profile_errors(&self, node: &'n Node, profile: &str) -> Option<Vec<crate::issue::Issue>> {
        node.resource_type.as_ref()?;
        let p = self.ctx.structure(profile)?;
        if node.resource_type.as_deref() != Some(p.type_name.as_str()) {
            return None;
        }
        let mut probe = Walk::new(self.v, self.format);
        probe.path.push_root(&p.type_name);
        // The type's own definition is the base walk itself, every rule of it
        // (a constraint profile's walk leaves out what it inherits unchanged).
        let profiles = if p.derivation.as_deref() == Some("constraint") { vec![profile.to_string()] } else { Vec::new() };
        probe.resource(node, &profiles);
        Some(probe.into_issues().into_iter().filter(|i| i.severity.is_error()).collect())
    }

    /// fixed[x] and pattern[x] on one element.
    pub(super) fn fixed_and_pattern(&mut self, node: &Node, def: &Element, sd: &StructureDef) {
        if let Some((type_code, v)) = &def.fixed {
            // The reference's part-by-part words where it has them (a
            // HumanName's parts are counted even where the value is met).
            let specific = super::rules::fixed_values::mismatch(type_code, node, v, false, &sd.versioned_url());
            if !specific.is_empty() {
                for msg in specific {
                    self.error(node, IssueCode::Value, msg);
                }
            } else if !node_matches(node, v, true) && !self.fixed_value_parts(node, v, true, &sd.versioned_url()) {
                let profile = sd.versioned_url();
                let msg = match (node.text(), v) {
                    (Some(actual), Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                        format!("Value is '{actual}' but is fixed to '{}' in the profile {profile}", text_of(v))
                    }
                    _ => format!("The element does not have the fixed value {} required by the profile {profile}", compact(v)),
                };
                self.error(node, IssueCode::Value, msg);
            }
            super::rules::extensions::fixed_extensions(self, node, v);
        }
        if let Some((type_code, v)) = &def.pattern {
            let specific = super::rules::fixed_values::mismatch(type_code, node, v, true, &sd.versioned_url());
            if !specific.is_empty() {
                for msg in specific {
                    self.error(node, IssueCode::Value, msg);
                }
            } else if !node_matches(node, v, false) && !self.fixed_value_parts(node, v, false, &sd.versioned_url()) {
                let profile = sd.versioned_url();
                let msg = match (node.text(), v) {
                    (Some(actual), Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                        format!("Value is '{actual}' but must be '{}' (a pattern in the profile {profile})", text_of(v))
                    }
                    _ => format!("The pattern {} defined in the profile {profile} not found", compact(v)),
                };
                self.error(node, IssueCode::Value, msg);
            }
        }
    }
}

impl<'v, 'n> Walk<'v, 'n> {
    /// Where a complex fixed or pattern value is not met: property by
    /// property, as the reference checks it. What it lacks, what a fixed
    /// value does not have, primitives that differ, and a Timing's count of
    /// events; repeating properties other than those are left to the
    /// message about the whole value. True when something was reported.
    fn fixed_value_parts(&mut self, node: &Node, value: &Value, exact: bool, profile: &str) -> bool {
        let Value::Object(map) = value else { return false };
        if node.value.is_some() && node.children.is_empty() {
            return false;
        }
        let mut reported = false;
        if let Some(Value::Array(events)) = map.get("event").filter(|_| map.contains_key("repeat") || node.child("repeat").is_some() || node.child("event").is_some()) {
            let found = node.children_named("event").count();
            if found != events.len() {
                // Bundle_MSG_Event_Count
                self.error(node, IssueCode::Value, format!("Expected {} but found {found} event elements", events.len()));
                reported = true;
            }
        }
        for (k, fv) in map {
            if k.starts_with('_') || matches!(k.as_str(), "resourceType" | "extension" | "id" | "event") {
                continue;
            }
            let kids: Vec<&Node> = node.children_named(k).collect();
            match (kids.as_slice(), fv) {
                ([], _) => {
                    self.path.push(k, None);
                    // Profile_VAL_MissingElement
                    self.error(node, IssueCode::Value, format!("Missing element '{k}' - required by fixed value assigned in profile {profile}"));
                    self.path.pop();
                    reported = true;
                }
                ([kid], Value::Object(_)) if !node_matches(kid, fv, exact) => {
                    self.path.push(k, None);
                    reported |= self.fixed_value_parts(kid, fv, exact, profile);
                    self.path.pop();
                }
                ([kid], Value::String(_) | Value::Number(_) | Value::Bool(_)) if !node_matches(kid, fv, exact) => {
                    self.path.push(k, None);
                    let actual = kid.text().unwrap_or_default();
                    let msg = if exact {
                        format!("Value is '{actual}' but is fixed to '{}' in the profile {profile}", text_of(fv))
                    } else {
                        format!("Value is '{actual}' but must be '{}' (a pattern in the profile {profile})", text_of(fv))
                    };
                    self.error(kid, IssueCode::Value, msg);
                    self.path.pop();
                    reported = true;
                }
                _ => {}
            }
        }
        if exact {
            let mut seen: Vec<&str> = Vec::new();
            for c in &node.children {
                if matches!(c.name.as_str(), "id" | "extension") || map.contains_key(c.name.as_str()) || seen.contains(&c.name.as_str()) {
                    continue;
                }
                seen.push(&c.name);
                self.path.push(&c.name, None);
                // Profile_VAL_NotAllowed
                let msg = format!("The element {} is present in the instance but not allowed in the applicable fixed value specified in profile", c.name);
                self.error(c, IssueCode::Value, msg);
                self.path.pop();
                reported = true;
            }
        }
        reported
    }
}

/// The element at `path` below a slice (through nested slices) that has a
/// fixed or pattern value.
fn fixed_in_slice<'s>(sd: &'s StructureDef, slice: usize, path: &str) -> Option<&'s Element> {
    let root = &sd.elements[slice];
    let full = format!("{}.{}", root.path, path);
    sd.elements[slice + 1..]
        .iter()
        .take_while(|e| e.id.strip_prefix(root.id.as_str()).is_some_and(|r| r.starts_with(['.', ':'])))
        .find(|e| e.path == full && (e.fixed.is_some() || e.pattern.is_some()))
}

/// Whether any element beneath `ix` fixes a value, patterns one, or requires a slice.
fn constrains_below(sd: &StructureDef, ix: usize) -> bool {
    let id = &sd.elements[ix].id;
    sd.elements[ix + 1..]
        .iter()
        .take_while(|e| e.id.strip_prefix(id.as_str()).is_some_and(|r| r.starts_with(['.', ':'])))
        .any(|e| e.fixed.is_some() || e.pattern.is_some() || (e.slice_name.is_some() && e.min > 0))
}

/// How issues name a slice: its element id (`Observation.component:bp.code.coding:loinc`,
/// `Patient.identifier:official/nhs`), or path and slice name where a snapshot has no ids.
fn slice_label(slice: &Element) -> std::borrow::Cow<'_, str> {
    let name = slice.slice_name.as_deref().unwrap_or_default();
    if slice.id.ends_with(name) && slice.id.contains(':') {
        std::borrow::Cow::Borrowed(&slice.id)
    } else {
        std::borrow::Cow::Owned(format!("{}:{name}", slice.path))
    }
}

/// A discriminator as a FHIRPath condition, as the reference shows it.
fn describe(path: &str, e: &Expect) -> String {
    match e {
        Expect::Value { value, .. } => format!("{path} = {}", shown(value)),
        Expect::Exists(true) => format!("{path}.exists()"),
        Expect::Exists(false) => format!("{path}.exists().not()"),
        Expect::Type(types) | Expect::TargetType(types) => types.iter().map(|t| format!("{path} is {t}")).collect::<Vec<_>>().join(" or "),
        Expect::Profile(ps) | Expect::TargetProfile(ps) => ps.iter().map(|p| format!("{path}.conformsTo('{p}')")).collect::<Vec<_>>().join(" or "),
        Expect::Any => "true".to_string(),
        Expect::Conforms(..) => format!("{path}.conformsTo(slice)"),
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// A fixed or pattern value as a message shows it: a string in quotes, anything else as compact JSON.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => compact(other),
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}…", &s[..s.char_indices().take_while(|(i, _)| *i < 200).last().map_or(0, |(i, _)| i)])
    } else {
        s
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The nodes at a dotted path below `node` (every repetition on the way).
/// `resolve` turns a Reference node into the resource it points to, where
/// the walk can see it (`item.resolve().code`).
fn descendants<'n>(node: &'n Node, path: &str, resolve: &dyn Fn(&'n Node) -> Option<&'n Node>) -> Vec<&'n Node> {
    if !path.contains(['.', '(']) {
        // One step (`url`, `system`): most discriminators.
        return node.children.iter().filter(|c| c.name == path || is_choice_of(&c.name, path)).collect();
    }
    let mut current = vec![node];
    for seg in split_path(path) {
        if seg == "$this" {
            continue;
        }
        if seg == "resolve()" {
            current = current.into_iter().filter_map(resolve).collect();
            continue;
        }
        if let Some(type_code) = of_type(seg) {
            // The previous step named the choice (`value`): keep the ones of this type (`valueQuantity`).
            let suffix = upper_first(type_code);
            current.retain(|n| n.resource_type.as_deref() == Some(type_code) || n.name.ends_with(suffix.as_str()));
            continue;
        }
        current = match extension_url(seg) {
            Some(url) => current.into_iter().flat_map(|n| n.children.iter().filter(move |c| c.name == "extension" && c.child_text("url") == Some(url))).collect(),
            // A choice is named without its type: `content` is `contentString`.
            None => current.into_iter().flat_map(|n| n.children.iter().filter(move |c| c.name == seg || is_choice_of(&c.name, seg))).collect(),
        };
    }
    current
}

/// Whether an instance name is the choice element `base` with a type: `valueCode` of `value`.
/// The path of the reference a discriminator path resolves (`entry` of
/// `entry.resolve()`, `$this` of `resolve()`), if it ends in `resolve()`.
fn reference_path(path: &str) -> Option<&str> {
    if path == "resolve()" {
        return Some("$this");
    }
    path.strip_suffix(".resolve()")
}

fn is_choice_of(name: &str, base: &str) -> bool {
    name.strip_prefix(base).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// A discriminator path's segments; dots inside `extension('http://…')` do not split.
fn split_path(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            '.' if !quoted && depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

/// The url of an `extension('url')` segment.
fn extension_url(seg: &str) -> Option<&str> {
    seg.strip_prefix("extension(")?.strip_suffix(')')?.trim().strip_prefix('\'')?.strip_suffix('\'')
}

/// The type of an `ofType(Type)` segment.
fn of_type(seg: &str) -> Option<&str> {
    seg.strip_prefix("ofType(")?.strip_suffix(')').map(str::trim)
}

/// A child definition by name; `value` also names `value[x]`.
fn child_named(sd: &StructureDef, parent: usize, name: &str) -> Option<usize> {
    if let Some((ix, _)) = sd.match_child(parent, name) {
        return Some(ix);
    }
    sd.elements[parent].children.iter().copied().find(|&c| sd.elements[c].name.strip_suffix("[x]") == Some(name))
}

/// Whether a node carries a FHIR JSON value: exactly (`fixed`) or as a
/// pattern (everything in the value present, more allowed).
pub(crate) fn node_matches(node: &Node, expected: &Value, exact: bool) -> bool {
    match expected {
        Value::String(s) => node.text() == Some(s.as_str()),
        Value::Bool(b) => node.text() == Some(if *b { "true" } else { "false" }),
        Value::Number(n) => node.text().is_some_and(|t| t == n.to_string() || t.parse::<f64>().ok() == n.as_f64()),
        Value::Object(map) => {
            if node.value.is_some() && map.keys().all(|k| k.starts_with('_')) {
                return false;
            }
            for (k, v) in map {
                if k.starts_with('_') || k == "resourceType" {
                    continue;
                }
                let ok = match v {
                    Value::Array(items) => items.iter().all(|item| node.children.iter().any(|c| c.name == *k && node_matches(c, item, exact))),
                    other => node.children.iter().any(|c| c.name == *k && node_matches(c, other, exact)),
                };
                if !ok {
                    return false;
                }
            }
            if exact {
                let expected_count = |name: &str| match map.get(name) {
                    Some(Value::Array(a)) => a.len(),
                    Some(_) => 1,
                    None => 0,
                };
                let mut names: Vec<&str> = node.children.iter().map(|c| c.name.as_str()).collect();
                names.dedup();
                return names.iter().all(|n| node.children.iter().filter(|c| c.name == *n).count() == expected_count(n));
            }
            true
        }
        Value::Array(items) => items.iter().all(|i| node_matches(node, i, exact)),
        Value::Null => true,
    }
}


/// What is wrong with the form of a discriminator path, as the reference's
/// engine says when it follows one through the definitions: a constant, a
/// parenthesised group, or a function other than `resolve()`,
/// `extension()` and `ofType()` as its first step.
fn discriminator_form(path: &str) -> Option<String> {
    use crate::fhirpath::Expr;
    let path = path.trim();
    if path.starts_with('(') {
        // FHIRPATH_DISCRIMINATOR_BAD_SYNTAX_GROUP
        return Some(format!("Invalid expression syntax in discriminator (group '{path}')"));
    }
    let parsed = crate::fhirpath::parse(path).ok()?;
    let mut first = parsed.ast();
    loop {
        match first {
            Expr::Member(t, _) | Expr::Index(t, _) => first = t,
            Expr::Call { target: Some(t), .. } => first = t,
            _ => break,
        }
    }
    match first {
        // FHIRPATH_DISCRIMINATOR_BAD_SYNTAX_CONST
        Expr::Literal(_) => Some("Invalid expression syntax in discriminator (const)".to_owned()),
        Expr::Call { target: None, name, .. } if !matches!(name.as_str(), "resolve" | "extension" | "ofType") => {
            // FHIRPATH_DISCRIMINATOR_BAD_NAME
            Some(format!("Invalid function name {name}() in discriminator"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::json::parse_json;
    use serde_json::json;

    fn node(json: &str) -> Node {
        parse_json(json).root.unwrap()
    }

    #[test]
    fn patterns_allow_more_fixed_values_do_not() {
        let cc = node(r#"{"resourceType":"Basic","code":{"coding":[{"system":"http://s","code":"a","display":"A"},{"system":"http://t","code":"b"}],"text":"x"}}"#);
        let code = cc.child("code").unwrap();
        assert!(node_matches(code, &json!({"coding": [{"system": "http://s", "code": "a"}]}), false));
        assert!(!node_matches(code, &json!({"coding": [{"system": "http://s", "code": "b"}]}), false));
        assert!(!node_matches(code, &json!({"coding": [{"system": "http://s", "code": "a"}]}), true));
        let coding = code.child("coding").unwrap();
        assert!(node_matches(coding, &json!({"system": "http://s", "code": "a", "display": "A"}), true));
        assert!(node_matches(cc.child("code").unwrap().child("text").unwrap(), &json!("x"), true));
    }
}
