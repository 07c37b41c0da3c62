//! References: inside a Bundle (fullUrl, `urn:uuid:`, relative references
//! against the entry's base), to contained resources (`#id`), and the
//! target's type against the element's `targetProfile`. The rules a Bundle
//! has as a whole are in `rules/bundle.rs`.
//!
//! Resolution is by hash lookup in an index built once per Bundle, so a
//! Bundle of n entries costs O(n) however many references it holds.

use super::element::Walk;
use crate::issue::IssueCode;
use crate::structure::{Element, ElementType};
use crate::tree::Node;
use std::collections::HashMap;

pub(crate) struct BundleEntry<'n> {
    pub full_url: Option<&'n str>,
    pub resource: Option<&'n Node>,
}

impl<'n> BundleEntry<'n> {
    /// The server base that relative references from this entry resolve
    /// against: that of its RESTful fullUrl, when the fullUrl ends with the
    /// entry resource's own type and id (without an id, it names no base).
    pub(crate) fn base(&self) -> Option<&'n str> {
        let (base, ty, id) = self.full_url.and_then(restful_parts)?;
        let resource = self.resource?;
        (resource.resource_type.as_deref() == Some(ty) && resource.child_text("id") == Some(id)).then_some(base)
    }
}

pub(crate) struct BundleIndex<'n> {
    pub node: &'n Node,
    pub bundle_type: Option<&'n str>,
    pub entries: Vec<BundleEntry<'n>>,
    pub(crate) by_full_url: HashMap<&'n str, Vec<usize>>,
    /// `Type/id` of every entry's resource.
    by_type_id: HashMap<(&'n str, &'n str), Vec<usize>>,
    /// Which entry the walk is in, to resolve relative references against.
    pub current: Option<usize>,
    /// The path of the entry the walk is in when that entry has no fullUrl,
    /// until a reference from it says so.
    missing_full_url_at: Option<String>,
}

impl<'n> BundleIndex<'n> {
    pub fn build(bundle: &'n Node) -> BundleIndex<'n> {
        let mut ix = BundleIndex {
            node: bundle,
            bundle_type: bundle.child_text("type"),
            entries: Vec::new(),
            by_full_url: HashMap::new(),
            by_type_id: HashMap::new(),
            current: None,
            missing_full_url_at: None,
        };
        for (i, entry) in bundle.children_named("entry").enumerate() {
            let full_url = entry.child_text("fullUrl");
            let resource = entry.child("resource").filter(|r| r.resource_type.is_some());
            if let Some(u) = full_url {
                ix.by_full_url.entry(u).or_default().push(i);
            }
            if let Some(r) = resource {
                if let (Some(t), Some(id)) = (r.resource_type.as_deref(), r.child_text("id")) {
                    ix.by_type_id.entry((t, id)).or_default().push(i);
                }
            }
            ix.entries.push(BundleEntry { full_url, resource });
        }
        ix
    }

    /// A relative reference (`Patient/1`) made absolute against the base of
    /// the current entry's RESTful fullUrl: one that ends with the entry
    /// resource's own type and id (without an id, the fullUrl names no base).
    fn absolute(&self, reference: &str) -> Option<String> {
        let base = self.entries[self.current?].base()?;
        Some(format!("{base}/{reference}"))
    }

    /// The current entry's fullUrl.
    fn current_full_url(&self) -> Option<&'n str> {
        self.entries[self.current?].full_url
    }

    /// Documents must be self-contained: every reference resolves inside.
    fn is_document(&self) -> bool {
        self.bundle_type == Some("document")
    }
}

/// What the walk knows about the resource it is in.
pub(crate) struct ResourceFrame<'n> {
    pub node: &'n Node,
    /// Contained resources by id (the first of a repeated id), found in a map:
    /// a resource may hold thousands, each referred to by `#id`.
    pub contained: std::collections::HashMap<&'n str, &'n Node>,
    /// Whether the resource says it is a matchetype (a pattern for test
    /// outcomes), read once: the extension's value is `partial`, `complete` or `true`.
    pub matchetype: bool,
}

impl<'n> ResourceFrame<'n> {
    pub fn new(node: &'n Node) -> Self {
        let mut contained = std::collections::HashMap::new();
        for c in node.children_named("contained") {
            if let Some(id) = c.child_text("id") {
                contained.entry(id).or_insert(c);
            }
        }
        let matchetype = node.children_named("extension").any(|e| {
            e.child_text("url") == Some(super::rules::matchetype::MATCHETYPE)
                && e.children.iter().any(|c| c.name.starts_with("value") && matches!(c.text(), Some("partial" | "complete" | "true")))
        });
        ResourceFrame { node, contained, matchetype }
    }
}

/// A RESTful URL `[base]/Type/id[/_history/v]`: its base, type and id.
pub(crate) fn restful_parts(url: &str) -> Option<(&str, &str, &str)> {
    let url = match url.find("/_history/") {
        Some(h) => &url[..h],
        None => url,
    };
    let mut parts = url.rsplitn(3, '/');
    let id = parts.next()?;
    let ty = parts.next()?;
    let base = parts.next().unwrap_or("");
    let looks_like_type = ty.starts_with(|c: char| c.is_ascii_uppercase()) && ty.bytes().all(|b| b.is_ascii_alphanumeric());
    let looks_like_id = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (looks_like_type && looks_like_id).then_some((base, ty, id))
}

/// How often `fragment` is the id of something in a resource: the resource
/// itself, its elements and contained resources, and its narrative's XHTML.
fn fragment_matches(node: &Node, fragment: &str) -> usize {
    let mut n = 0;
    for c in &node.children {
        if c.name == "id" && c.text() == Some(fragment) {
            n += 1;
        } else if c.name == "div" {
            if let Some(xhtml) = c.text() {
                n += xhtml.matches(&format!("id=\"{fragment}\"")).count() + xhtml.matches(&format!("id='{fragment}'")).count();
            }
        }
        n += fragment_matches(c, fragment);
    }
    n
}

/// A relative reference read against an entry's fullUrl as the reference's
/// Bundle resolution reads it: the base is the fullUrl without its last two
/// segments (or, for a URN, without its last `:` part, so `Patient/1` from
/// `urn:uuid:a` names `urn:uuid:1`). The target URL, the version asked
/// for, and the type the reference names where the reading gives one.
fn target_against_base<'r>(full_url: &str, reference: &'r str) -> Option<(String, Option<&'r str>, Option<&'r str>)> {
    let urn = full_url.starts_with("urn");
    let base = if urn {
        let parts: Vec<&str> = full_url.split(':').collect();
        parts[..parts.len().saturating_sub(1)].iter().map(|p| format!("{p}:")).collect::<String>()
    } else {
        let mut parts: Vec<&str> = full_url.split('/').collect();
        while parts.last() == Some(&"") {
            parts.pop();
        }
        parts[..parts.len().saturating_sub(2)].iter().map(|p| format!("{p}/")).collect::<String>()
    };
    if let Some(h) = reference.find("/_history/") {
        let version = &reference[h + "/_history/".len()..];
        let mut parts = reference[..h].split('/');
        let (ty, id) = (parts.next()?, parts.next()?);
        return Some((format!("{base}{ty}/{id}"), Some(version), Some(ty)));
    }
    if urn {
        let mut parts = reference.split('/');
        let (ty, id) = (parts.next()?, parts.next()?);
        return Some((format!("{base}{id}"), None, Some(ty)));
    }
    Some((format!("{base}{reference}"), None, None))
}

use super::rules::references::Destination;

impl<'v, 'n> Walk<'v, 'n> {
    /// A Reference: its syntax, what it resolves to, and the target's type.
    pub(super) fn reference(&mut self, node: &'n Node, def: &Element, t: &ElementType) {
        let Some(reference) = node.child("reference").and_then(Node::text) else {
            let identified = node.child("identifier").is_some_and(|i| i.child("system").is_some() || i.child("value").is_some());
            if !identified && node.child("display").is_none() && !self.in_profile() {
                // Reference_REF_NoDisplay
                self.warn(node, IssueCode::Structure, "A Reference without an actual reference or identifier should have a display".into());
            }
            return;
        };
        if reference.chars().any(char::is_whitespace) {
            // REFERENCE_REF_INVALID_REF: nothing more can be read from it.
            self.error(node, IssueCode::Invalid, format!("The reference '{reference}' is not a valid reference"));
            return;
        }
        if !self.in_profile() {
            super::rules::references::check_conditional(self, node, reference);
        }
        let allowed = self.allowed_target_types(def, t);
        let mut target_type: Option<String> = None;
        // Only a resolved target is known; a type read off the URL is a guess.
        let mut resolved = false;
        let mut found_in = None;
        if let Some(local) = reference.strip_prefix('#') {
            target_type = self.contained_target(node, local);
            found_in = target_type.is_some().then_some(Destination::Contained);
            resolved = true;
        } else if let Some(found) = self.bundle_target(node, reference) {
            target_type = Some(found);
            found_in = Some(Destination::Internal);
            resolved = true;
        } else if !reference.starts_with("urn:") {
            match restful_parts(reference) {
                Some((_, ty, _)) => target_type = Some(ty.to_string()),
                None if !reference.contains(':') && !reference.starts_with('?') && !reference.contains('?') => self.warn(
                    node,
                    IssueCode::Structure,
                    format!("The syntax of the reference '{reference}' looks incorrect, and it should be checked"),
                ),
                None => {}
            }
        }
        // Only profiles say aggregation modes, so the profile walk checks them.
        super::rules::references::check_aggregation(self, node, reference, found_in, def, t);
        if let Some(declared) = node.child_text("type") {
            self.declared_target_type(node, declared, target_type.as_deref(), def, t);
        }
        if resolved {
            if let Some(tt) = &target_type {
                self.resolved_target_type(node, tt, def, t);
            }
            self.target_profiles(node, reference, def, t);
        } else if let (Some(tt), Some(allowed)) = (target_type, allowed) {
            if !allowed.iter().any(|a| a == &tt || a == "Resource") && self.ctx.type_definition(&tt).is_some() && self.v.options().assume_valid_rest_references {
                // REFERENCE_REF_BADTARGETTYPE2: only when told to take the URL's type as the target's.
                self.error(
                    node,
                    IssueCode::Structure,
                    format!("The type '{tt}' implied by the reference URL {reference} is not a valid Target for this element (must be one of [{}])", allowed.join(", ")),
                );
            }
        }
    }

    /// The target profiles that apply to a reference: `None` when any
    /// resource goes (none given, or `Resource`).
    fn declared_target_profiles<'t>(def: &'t Element, t: &'t ElementType) -> Option<&'t [String]> {
        let declaring = if t.target_profiles.is_empty() { def.types.iter().find(|x| x.code == "Reference")? } else { t };
        let profiles = declaring.target_profiles.as_slice();
        let any = profiles.is_empty()
            || profiles.iter().any(|p| matches!(p.strip_prefix(crate::context::CORE_SD_BASE).map(|t| t.split('|').next().unwrap_or(t)), Some("Resource" | "DomainResource")));
        (!any).then_some(profiles)
    }

    /// The types of target profiles, each profile that cannot be found
    /// reported (as the reference does wherever it needs their types).
    fn target_profile_types(&mut self, node: &Node, profiles: &[String]) -> Vec<String> {
        let mut types = Vec::new();
        for p in profiles {
            let ty = match self.ctx.structure(p) {
                Some(sd) => Some(sd.type_name.clone()),
                None => p
                    .strip_prefix(crate::context::CORE_SD_BASE)
                    .map(|core| core.split('|').next().unwrap_or(core))
                    .filter(|core| self.ctx.type_definition(core).is_some())
                    .map(str::to_string),
            };
            match ty {
                Some(ty) if !types.contains(&ty) => types.push(ty),
                Some(_) => {}
                // REFERENCE_REF_CANTRESOLVEPROFILE
                None => self.error(node, IssueCode::NotFound, format!("Unable to resolve the profile reference '{p}'")),
            }
        }
        types
    }

    /// `Reference.type` against the element's target profiles and against
    /// the type of what the reference points to.
    fn declared_target_type(&mut self, node: &Node, declared: &str, target_type: Option<&str>, def: &Element, t: &ElementType) {
        if let Some(profiles) = Self::declared_target_profiles(def, t) {
            let declared_url = if declared.contains(':') { declared.to_string() } else { format!("{}{declared}", crate::context::CORE_SD_BASE) };
            if !profiles.iter().any(|p| p == &declared_url) {
                let types = self.target_profile_types(node, profiles);
                if !types.iter().any(|ty| format!("{}{ty}", crate::context::CORE_SD_BASE) == declared_url) {
                    // REFERENCE_REF_WRONGTARGET
                    self.error(node, IssueCode::Structure, format!("The type '{declared}' is not a valid Target for this element (must be one of [{}])", profiles.join(", ")));
                }
            }
        }
        if let Some(tt) = target_type {
            if tt != declared {
                // REFERENCE_REF_BADTARGETTYPE, as the reference raises it for Reference.type
                self.error(node, IssueCode::Structure, format!("Invalid Resource target type. Found {declared}, but expected one of ({tt})"));
            }
        }
    }

    /// A resolved target's type against the types of the target profiles.
    fn resolved_target_type(&mut self, node: &Node, target_type: &str, def: &Element, t: &ElementType) {
        let Some(profiles) = Self::declared_target_profiles(def, t) else { return };
        let types = self.target_profile_types(node, profiles);
        if !types.iter().any(|ty| ty == target_type) && self.ctx.type_definition(target_type).is_some() {
            // REFERENCE_REF_BADTARGETTYPE
            self.error(node, IssueCode::Structure, format!("Invalid Resource target type. Found {target_type}, but expected one of ([{}])", types.join(", ")));
        }
    }

    /// A resolved target against the element's target profiles (those that
    /// say more than a core type): it must be valid against one of them. A
    /// target that claims one in `meta.profile` is validated against it where
    /// it stands, so its problems are reported there and not again here.
    fn target_profiles(&mut self, node: &Node, reference: &str, def: &Element, t: &ElementType) {
        let declaring = if t.target_profiles.is_empty() { def.types.iter().find(|x| x.code == "Reference") } else { Some(t) };
        let Some(declaring) = declaring else { return };
        let profiles: smallvec::SmallVec<[&str; 2]> =
            declaring.target_profiles.iter().map(String::as_str).filter(|p| !p.starts_with(crate::context::CORE_SD_BASE)).collect();
        if profiles.is_empty() {
            return;
        }
        let Some(target) = self.resolve(reference) else { return };
        let claimed = |p: &str| target.child("meta").is_some_and(|m| m.children_named("profile").any(|c| c.text() == Some(p)));
        // Only the profiles for the target's own type can apply to it.
        let of_its_type: smallvec::SmallVec<[&str; 2]> = profiles
            .iter()
            .copied()
            .filter(|p| self.ctx.structure(p).is_none_or(|sd| Some(sd.type_name.as_str()) == target.resource_type.as_deref()))
            .collect();
        if of_its_type.is_empty() || of_its_type.iter().any(|p| claimed(p) || self.ctx.structure(p).is_none()) {
            return;
        }
        let mut good: Vec<String> = Vec::new();
        let mut bad: Vec<String> = Vec::new();
        for p in &of_its_type {
            let versioned = self.ctx.structure(p).map_or_else(|| p.to_string(), |sd| sd.versioned_url());
            match self.profile_errors(target, p) {
                Some(errors) if errors.is_empty() => good.push(versioned),
                _ => bad.push(versioned),
            }
        }
        match good.len() {
            1 => return,
            // REFERENCE_REF_CANTMATCHCHOICE
            0 => self.error(node, IssueCode::Structure, format!("Unable to find a profile match for {reference} among choices: {}", of_its_type.join(", "))),
            _ => {
                good.sort();
                // Reference_REF_MultipleMatches
                self.warn(node, IssueCode::Structure, format!("Found multiple matching profiles for {reference} among choices: {}", good.join(", ")));
            }
        }
        for p in bad {
            // Details_for__matching_against_Profile_: the reference's slicing hint for each profile the target does not meet.
            self.inform(node, IssueCode::Structure, format!("Details for {reference} matching against profile {p}"));
        }
    }

    /// The type of what a reference points to, without reporting anything:
    /// a contained resource, a Bundle entry, or else the type its URL names.
    pub(super) fn reference_target_type(&self, reference: &str) -> Option<String> {
        match self.resolve(reference) {
            Some(target) => target.resource_type.as_deref().map(str::to_string),
            None if reference.starts_with('#') => None,
            None => restful_parts(reference).map(|(_, ty, _)| ty.to_string()),
        }
    }

    /// What a reference points to among the resources the walk can see (a
    /// contained resource, a Bundle entry), without reporting anything.
    pub(super) fn resolve(&self, reference: &str) -> Option<&'n Node> {
        if let Some(local) = reference.strip_prefix('#') {
            return self.resources.iter().rev().find_map(|f| f.node.children_named("contained").find(|c| c.child_text("id") == Some(local)));
        }
        let bundle = self.bundles.last()?;
        let only = |key: &str| match bundle.by_full_url.get(key).map(Vec::as_slice) {
            Some(&[ix]) => bundle.entries[ix].resource,
            _ => None,
        };
        if let Some(found) = only(reference) {
            return Some(found);
        }
        if reference.contains(':') {
            return None;
        }
        only(&bundle.absolute(reference)?)
    }

    /// The resource types a reference may point to, from `targetProfile`;
    /// `None` when anything goes.
    pub(super) fn allowed_target_types<'t>(&self, def: &'t Element, t: &'t ElementType) -> Option<&'t [String]> {
        let declaring = if t.target_profiles.is_empty() { def.types.iter().find(|x| x.code == "Reference")? } else { t };
        declaring.target_types.get_or_init(|| self.target_types_of(&declaring.target_profiles)).as_deref()
    }

    fn target_types_of(&self, profiles: &[String]) -> Option<Vec<String>> {
        if profiles.is_empty() {
            return None;
        }
        let mut types = Vec::new();
        for p in profiles {
            // A profile's type is its base type; core type URLs name the type itself.
            let ty = match self.ctx.structure(p) {
                Some(sd) => sd.type_name.clone(),
                None => match p.strip_prefix(crate::context::CORE_SD_BASE) {
                    Some(core) => core.to_string(),
                    None => return None, // cannot tell: do not guess
                },
            };
            if !types.contains(&ty) {
                types.push(ty);
            }
        }
        Some(types)
    }

    fn contained_target(&mut self, node: &Node, local: &str) -> Option<String> {
        let frame = self.resources.last()?;
        if local.is_empty() {
            return frame.node.resource_type.as_deref().map(str::to_string);
        }
        // Contained resources live in the nearest resource that can contain:
        // for a reference inside a contained resource, that is its container.
        for f in self.resources.iter().rev() {
            if let Some(c) = f.contained.get(local) {
                return c.resource_type.as_deref().map(str::to_string);
            }
        }
        self.error(node, IssueCode::Structure, format!("Unable to resolve resource with reference '#{local}'"));
        None
    }

    /// Resolves a reference inside the enclosing Bundle; reports what cannot be resolved there.
    fn bundle_target(&mut self, node: &Node, reference: &str) -> Option<String> {
        if let Some(at) = self.bundles.last_mut().and_then(|b| b.missing_full_url_at.take()) {
            // Bundle_BUNDLE_Entry_NoFullUrl: said at the entry, once, when a reference
            // from its resource needs the fullUrl to be resolved against.
            self.report(node, crate::issue::Issue::error(IssueCode::Required, at, "Bundle entry missing fullUrl"));
        }
        if !self.relative_reference_form(node, reference) {
            return None;
        }
        let bundle = self.bundles.last()?;
        if let Some(&[ix]) = bundle.by_full_url.get(reference).map(Vec::as_slice) {
            // The everyday case: the reference is one entry's fullUrl.
            return bundle.entries[ix].resource.and_then(|r| r.resource_type.as_deref().map(str::to_string));
        }
        let document_like = bundle.is_document();
        if let Some((base, fragment)) = reference.split_once('#').filter(|(b, _)| document_like && crate::primitive::is_absolute_url(b)) {
            // A document's reference into an entry (`fullUrl#id`): the entry, and the fragment once in it.
            if let Some(&[ix]) = bundle.by_full_url.get(base).map(Vec::as_slice) {
                let resource = bundle.entries[ix].resource?;
                let n = fragment_matches(resource, fragment);
                if n > 1 {
                    // BUNDLE_BUNDLE_ENTRY_FOUND_MULTIPLE_FRAGMENT
                    let name = self.path.render_without_indices();
                    self.error(node, IssueCode::Invalid, format!("Found {n} matches for fragment {fragment} in resource '{base}' in the bundle ({name})"));
                }
                return resource.resource_type.as_deref().map(str::to_string);
            }
        }
        let matches = |ix: &BundleIndex<'n>, key: &str| ix.by_full_url.get(key).cloned().unwrap_or_default();
        let mut found = matches(bundle, reference);
        let mut target_url = reference.to_string();
        if found.is_empty() && !reference.contains(':') {
            // Relative: against the base of the entry's RESTful fullUrl.
            if let Some(absolute) = bundle.absolute(reference) {
                target_url = absolute;
                found = matches(bundle, &target_url);
            }
        }
        let versionless = target_url.split("/_history/").next().unwrap_or(&target_url).to_string();
        if found.is_empty() && versionless != target_url {
            // A versioned reference to an entry listed without its version;
            // several versions of it in one Bundle are not ambiguous.
            found = matches(bundle, &versionless);
            found.truncate(1);
        }
        match found.len() {
            1 => {
                let e = &bundle.entries[found[0]];
                return e.resource.and_then(|r| r.resource_type.as_deref().map(str::to_string));
            }
            0 => {}
            n => {
                // BUNDLE_BUNDLE_MULTIPLEMATCHES, the reference check's own wording.
                self.error(node, IssueCode::Forbidden, format!("Multiple matches in bundle for reference {reference}"));
                if document_like {
                    // BUNDLE_BUNDLE_ENTRY_FOUND_MULTIPLE: a document's references must each name one entry.
                    let name = self.path.render_without_indices();
                    self.error(node, IssueCode::Invalid, format!("Found {n} matches for '{reference}' in the bundle ({name})"));
                }
                return None;
            }
        }
        self.possible_matches(node, reference);
        let bundle = self.bundles.last()?;
        if reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:") {
            if document_like {
                self.error(node, IssueCode::NotFound, format!("Can't find '{reference}' in the bundle"));
            } else {
                self.warn(node, IssueCode::Required, format!("URN reference is not locally contained within the bundle {reference}"));
            }
            return None;
        }
        if !document_like || reference.contains(':') {
            return None;
        }
        // A document is self-contained: a relative reference that resolves to
        // nothing in it is an error, said more precisely when a resource of
        // that type and id is there under another base
        // (BUNDLE_BUNDLE_ENTRY_NOTFOUND, _CANNOT, _APPARENT).
        let name = self.path.render_without_indices();
        let same_type_id = restful_parts(reference).and_then(|(_, ty, id)| bundle.by_type_id.get(&(ty, id)).cloned()).unwrap_or_default();
        let mut found_urls: Vec<&str> = same_type_id.iter().map(|&ix| bundle.entries[ix].full_url.unwrap_or("<missing>")).collect();
        found_urls.sort_unstable();
        found_urls.dedup();
        let found_list = found_urls.join(",");
        let msg = match (same_type_id.len(), bundle.absolute(reference)) {
            (0, _) => format!("Can't find '{reference}' in the bundle ({name})"),
            (1, None) => format!("Can't find '{reference}' in the bundle ({name}). Note that there is a resource in the bundle with the same type and id, but it does not match because of the fullUrl based rules around matching relative references. Found '{found_list}', but it doesn't match because of the source fullUrl '{}'", bundle.current_full_url().unwrap_or_default()),
            (n, None) => format!("Can't find '{reference}' in the bundle ({name}). Note that there are {n} resources in the bundle with the same type and id, but they do not match because of the fullUrl based rules around matching relative references. Found '{found_list}', but none of them match because of the source fullUrl '{}'", bundle.current_full_url().unwrap_or_default()),
            (1, Some(u)) => format!("Can't find '{reference}' in the bundle ({name}). Note that there is a resource in the bundle with the same type and id, but it does not match because of the fullUrl based rules around matching relative references (must be '{u}', but found '{found_list}')"),
            (n, Some(u)) => format!("Can't find '{reference}' in the bundle ({name}). Note that there are {n} resources in the bundle with the same type and id, but they do not match because of the fullUrl based rules around matching relative references (must be '{u}', but found these: {found_list})"),
        };
        let code = if same_type_id.is_empty() { IssueCode::NotFound } else { IssueCode::Invalid };
        self.error(node, code, msg);
        None
    }

    /// A reference from inside a Bundle entry, as the reference's Bundle
    /// resolution first reads it: a relative one needs the entry's fullUrl
    /// (Bundle_BUNDLE_FullUrl_Missing) and the form `Type/id` or
    /// `Type/id/_history/v` (Reference_REF_Format1/2, a search URL allowed
    /// in transactions and batches); one read against the fullUrl's base the
    /// way the reference does it may name an entry of another type
    /// (Reference_REF_ResourceType), or a version of an entry whose resource
    /// has no `meta` (Bundle_BUNDLE_FullUrl_NeedVersion). False when the
    /// reference cannot be resolved at all.
    fn relative_reference_form(&mut self, node: &Node, reference: &str) -> bool {
        let Some(bundle) = self.bundles.last() else { return true };
        let Some(current) = bundle.current else { return true };
        if reference.starts_with("http:") || reference.starts_with("urn:") || crate::primitive::is_absolute_url(reference) {
            return true;
        }
        let bundle_type = bundle.bundle_type.unwrap_or("");
        let Some(full_url) = bundle.entries[current].full_url else {
            if !matches!(bundle_type, "batch-response" | "transaction-response") {
                // Bundle_BUNDLE_FullUrl_Missing
                self.error(node, IssueCode::Required, "Relative Reference appears inside Bundle whose entry is missing a fullUrl".into());
            }
            return false;
        };
        let slashes = reference.matches('/').count();
        if slashes != 1 && slashes != 3 {
            if matches!(bundle_type, "transaction" | "batch") {
                if !super::rules::references::is_search_url(self, reference) {
                    // Reference_REF_Format1
                    self.error(
                        node,
                        IssueCode::Invalid,
                        format!("Relative URLs must be of the format [ResourceName]/[id], or a search URL is allowed ([type]?parameters. Encountered {reference})"),
                    );
                }
            } else {
                // Reference_REF_Format2
                self.error(node, IssueCode::Invalid, format!("Relative URLs must be of the format [ResourceName]/[id]. Encountered {reference}"));
            }
            return false;
        }
        let Some((target, version, named_type)) = target_against_base(full_url, reference) else { return true };
        let mut matched: Option<&Node> = None;
        let mut unversioned: Vec<&str> = Vec::new();
        for e in bundle.by_full_url.get(target.as_str()).into_iter().flatten() {
            let Some(r) = bundle.entries[*e].resource else { continue };
            match version {
                None => matched = Some(r),
                Some(v) => match r.child("meta") {
                    Some(m) => {
                        if m.child_text("versionId") == Some(v) {
                            matched = Some(r);
                        }
                    }
                    None => unversioned.push(bundle.entries[*e].full_url.unwrap_or_default()),
                },
            }
        }
        let wrong_type = match (matched, named_type) {
            (Some(m), Some(t)) => m.resource_type.as_deref().filter(|rt| *rt != t).map(str::to_string),
            _ => None,
        };
        for u in unversioned {
            // Bundle_BUNDLE_FullUrl_NeedVersion
            self.warn(node, IssueCode::Required, format!("Entries matching fullURL {u} should declare meta/versionId because there are version-specific references"));
        }
        if let Some(rt) = wrong_type {
            // Reference_REF_ResourceType
            self.error(node, IssueCode::Required, format!("Matching reference for reference {reference} has resourceType {rt}"));
        }
        true
    }

    /// A relative reference that resolves to nothing by the Bundle's rules,
    /// while entries hold a resource of its type and id under another
    /// fullUrl: warned, entry by entry, as the reference's resolution does.
    fn possible_matches(&mut self, node: &Node, reference: &str) {
        let Some(bundle) = self.bundles.last() else { return };
        if reference.contains(':') {
            return;
        }
        let Some(("", ty, id)) = restful_parts(reference) else { return };
        let Some(target) = bundle.absolute(reference) else { return };
        let Some(same) = bundle.by_type_id.get(&(ty, id)) else { return };
        // A few entries are named: a Bundle may hold thousands of one type and id,
        // and thousands of references to it.
        let found: Vec<(usize, Option<&str>)> = same.iter().take(10).map(|&ix| (ix, bundle.entries[ix].full_url)).collect();
        if same.len() > 1 {
            // BUNDLE_POSSSIBLE_MATCHES
            self.warn(node, IssueCode::Required, format!("The bundle contains no match for {target} by the rules of Bundle reference resolution, but it has multiple resources that match {reference} by resource type and id"));
        }
        for (ix, full_url) in found {
            let msg = match full_url {
                // BUNDLE_BUNDLE_POSSIBLE_MATCH_NO_FU
                None => format!("Entry {ix} matches the reference {reference} by type and id but it does not match the full target URL {target} by Bundle resolution rules"),
                // BUNDLE_BUNDLE_POSSIBLE_MATCH_WRONG_FU
                Some(fu) => format!("Entry {ix} matches the reference {reference} by type and id but its fullUrl {} does not match the full target URL {target} by Bundle resolution rules", crate::issue::quoted(fu)),
            };
            self.warn(node, IssueCode::Required, msg);
        }
    }

    /// Tells the bundle index which entry the walk is entering.
    pub(super) fn enter_entry(&mut self, index: Option<usize>) {
        let Some(b) = self.bundles.last() else { return };
        let response = matches!(b.bundle_type, Some("batch-response" | "transaction-response"));
        let missing = index.is_some_and(|i| !response && b.entries.get(i).is_some_and(|e| e.full_url.is_none()));
        let at = missing.then(|| self.path.render());
        if let Some(b) = self.bundles.last_mut() {
            b.current = index;
            b.missing_full_url_at = at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restful_urls_split_into_base_type_and_id() {
        assert_eq!(restful_parts("http://x.org/fhir/Patient/1"), Some(("http://x.org/fhir", "Patient", "1")));
        assert_eq!(restful_parts("Patient/1/_history/2"), Some(("", "Patient", "1")));
        assert_eq!(restful_parts("urn:uuid:1234"), None);
        assert_eq!(restful_parts("XXX/_history/1"), None);
    }
}
