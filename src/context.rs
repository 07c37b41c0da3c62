//! Every definition the validator can use, by canonical URL.
//!
//! Packages hold thousands of conformance resources and one validation needs
//! a few dozen, so the context only indexes them at start (url → where it
//! is) and reads, compiles and caches each one the first time it is asked
//! for. It is shared by all validation threads.

use crate::definition::{self, split_canonical, CodeSystem, StructureDefinition, ValueSet};
use crate::structure::StructureDef;
use parking_lot::RwLock;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub const CORE_SD_BASE: &str = "http://hl7.org/fhir/StructureDefinition/";

/// Where a conformance resource can be read from.
#[derive(Clone, Debug)]
pub enum Source {
    File(PathBuf),
    Inline(Arc<Value>),
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub resource_type: String,
    pub url: String,
    pub version: Option<String>,
    pub source: Source,
    /// The package (`name#version`) or file it came from, for messages.
    pub origin: Arc<str>,
}

type Cache<T> = RwLock<std::collections::HashMap<String, Option<Arc<T>>>>;

#[derive(Default)]
pub struct Context {
    /// Definitions shared with other contexts (the packages), beneath this
    /// one's own: lookups fall through to it and its caches stay warm.
    parent: Option<Arc<Context>>,
    by_url: std::collections::HashMap<String, Vec<Entry>>,
    structures: Cache<StructureDef>,
    /// Type code → definition: the walk asks for `string` and `HumanName`
    /// millions of times; this answers without building the canonical URL.
    types: Cache<StructureDef>,
    value_sets: Cache<ValueSet>,
    code_systems: Cache<CodeSystem>,
    raw: Cache<Value>,
    /// Turns an XML conformance resource into FHIR JSON. Set by the loader,
    /// which knows how (the conversion needs the core definitions).
    #[allow(clippy::type_complexity)]
    pub xml_reader: Option<Arc<dyn Fn(&str, &Context) -> Option<Value> + Send + Sync>>,
    /// Snapshot generation for definitions that come as differentials only.
    #[allow(clippy::type_complexity)]
    pub snapshot_generator: Option<Arc<dyn Fn(StructureDefinition, &Context) -> Option<StructureDefinition> + Send + Sync>>,
    /// (resource type, profile, guide) from the `global` of the implementation
    /// guides loaded as such: every resource of the type must meet the profile.
    global_profiles: Vec<(String, String, String)>,
    /// What the definitions were loaded from (package ids, `--ig` folders
    /// and files), in order, for messages that say where careplan looked.
    sources: Vec<String>,
    /// CodeSystem identifier values (OIDs and others) → the canonicals
    /// (`url|version`, or `url`) of the CodeSystems that carry them; read
    /// once, on first use.
    code_system_identifiers: std::sync::OnceLock<std::collections::HashMap<String, Vec<String>>>,
    /// Each url's last path segment → the urls that end with it: a relative
    /// canonical (`Library/x`) is found among a few, not by reading every
    /// url per look-up (the twenty-fourth pass's P6).
    by_last_segment: std::sync::OnceLock<std::collections::HashMap<String, Vec<String>>>,
    /// The `baseDefinition` (without a version) of every StructureDefinition
    /// this context registers itself; read once, on first use (an abstract
    /// definition asks whether anything derives from it).
    base_definitions: std::sync::OnceLock<std::collections::HashSet<String>>,
    /// The package cache the definitions came from (set by the loader), and
    /// what it holds, read on first use (for an ImplementationGuide's
    /// dependencies).
    package_cache: Option<PathBuf>,
    package_catalogue: std::sync::OnceLock<crate::package::PackageCatalogue>,
    /// Type code → the `regex` extension of its definition's `X.value`
    /// element (or of that element's type), `None` when it has none.
    type_regexes: Cache<Option<String>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Context({} canonical urls)", self.by_url.len())
    }
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// A context holding its own definitions on top of `parent`'s.
    pub fn overlay(parent: Arc<Context>) -> Context {
        Context { xml_reader: parent.xml_reader.clone(), snapshot_generator: parent.snapshot_generator.clone(), parent: Some(parent), ..Context::default() }
    }

    /// The parent that answers for a canonical this context does not define itself.
    fn delegate(&self, canonical: &str) -> Option<&Arc<Context>> {
        let parent = self.parent.as_ref()?;
        let (url, _) = split_canonical(canonical);
        // A url that itself holds a '|' is this overlay's when it has it whole.
        (!self.by_url.contains_key(url) && !self.by_url.contains_key(canonical)).then_some(parent)
    }

    /// Notes a place definitions were loaded from (once), for messages.
    pub fn add_source_name(&mut self, name: impl Into<String>) {
        let name = name.into();
        if !self.sources.contains(&name) {
            self.sources.push(name);
        }
    }

    /// Where the definitions come from, the parent's first.
    pub fn sources(&self) -> Vec<String> {
        let mut out = self.parent.as_ref().map(|p| p.sources()).unwrap_or_default();
        out.extend(self.sources.iter().filter(|s| !out.contains(s)).cloned().collect::<Vec<_>>());
        out
    }

    /// Registers a resource. A later registration of the same url and
    /// version wins, so implementation guides can override what they load after.
    pub fn add(&mut self, entry: Entry) {
        self.code_system_identifiers = std::sync::OnceLock::new();
        self.by_last_segment = std::sync::OnceLock::new();
        self.base_definitions = std::sync::OnceLock::new();
        let list = self.by_url.entry(entry.url.clone()).or_default();
        list.retain(|e| e.version != entry.version);
        list.push(entry);
    }

    /// Registers a conformance resource given as JSON (and, for a Bundle,
    /// each conformance resource in it). Returns how many were registered.
    pub fn add_json(&mut self, value: Value, origin: &str) -> usize {
        let rt = value.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_string();
        if rt == "Bundle" {
            let mut n = 0;
            if let Some(entries) = value.get("entry").and_then(Value::as_array) {
                for e in entries {
                    if let Some(r) = e.get("resource") {
                        n += self.add_json(r.clone(), origin);
                    }
                }
            }
            return n;
        }
        if rt == "ImplementationGuide" {
            self.add_global_profiles(&value);
        }
        let Some(url) = value.get("url").and_then(Value::as_str).map(str::to_string) else { return 0 };
        let version = value.get("version").and_then(Value::as_str).map(str::to_string);
        self.add(Entry { resource_type: rt, url, version, source: Source::Inline(Arc::new(value)), origin: origin.into() });
        1
    }

    /// Records the `global` profiles of an ImplementationGuide (FHIR JSON).
    /// Only guides the user loads count: the example guides inside the core
    /// packages are never read this way.
    pub fn add_global_profiles(&mut self, guide: &Value) {
        let url = guide.get("url").and_then(Value::as_str).unwrap_or_default();
        let by = match guide.get("version").and_then(Value::as_str) {
            Some(v) => format!("{url}|{v}"),
            None => url.to_string(),
        };
        for g in guide.get("global").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(t), Some(p)) = (g.get("type").and_then(Value::as_str), g.get("profile").and_then(Value::as_str)) {
                let entry = (t.to_string(), p.to_string(), by.clone());
                if !self.global_profiles.iter().any(|(t0, p0, _)| *t0 == entry.0 && *p0 == entry.1) {
                    self.global_profiles.push(entry);
                }
            }
        }
    }

    /// The profiles every resource of this type must meet, by the loaded
    /// guides: (profile, the guide's versioned url).
    pub fn global_profiles(&self, type_name: &str) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self.parent.as_ref().map(|p| p.global_profiles(type_name)).unwrap_or_default();
        out.extend(self.global_profiles.iter().filter(|(t, _, _)| t == type_name).map(|(_, p, g)| (p.as_str(), g.as_str())));
        out
    }

    pub fn len(&self) -> usize {
        self.by_url.len() + self.parent.as_ref().map_or(0, |p| p.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for a canonical (`url` or `url|version`). Without a version,
    /// the last registered wins; a version matches exactly or as a prefix
    /// (`1.0` matches `1.0.2`).
    pub fn entry(&self, canonical: &str) -> Option<&Entry> {
        if let Some(p) = self.delegate(canonical) {
            return p.entry(canonical);
        }
        let (url, version) = split_canonical(canonical);
        let list = match self.by_url.get(url) {
            Some(list) => list,
            // A relative canonical (`Library/x`, as some examples write it):
            // the one definition whose url ends with it.
            None if !url.contains(':') && url.contains('/') => {
                let suffix = format!("/{url}");
                let index = self.by_last_segment.get_or_init(|| {
                    let mut index: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
                    for u in self.by_url.keys() {
                        index.entry(u.rsplit('/').next().unwrap_or(u).to_owned()).or_default().push(u.clone());
                    }
                    index
                });
                let last = url.rsplit('/').next().unwrap_or(url);
                let mut found = index.get(last).into_iter().flatten().filter(|u| u.ends_with(&suffix));
                let only = found.next()?;
                if found.next().is_some() {
                    return None;
                }
                self.by_url.get(only.as_str())?
            }
            // A url that itself holds a '|' (which only looks versioned).
            None if version.is_some() => return self.by_url.get(canonical)?.last(),
            None => return None,
        };
        match version {
            None => list.last(),
            Some(v) => list
                .iter()
                .rev()
                .find(|e| e.version.as_deref() == Some(v))
                .or_else(|| list.iter().rev().find(|e| e.version.as_deref().is_some_and(|ev| ev.starts_with(v)))),
        }
    }

    /// The CodeSystems (by canonical, `url|version` where they have a
    /// version) whose identifiers include `value`.
    pub fn code_systems_identified_by(&self, value: &str) -> &[String] {
        let index = self.code_system_identifiers.get_or_init(|| {
            let mut index: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
            let canonicals: Vec<String> =
                self.entries().filter(|e| e.resource_type == "CodeSystem").map(|e| e.version.as_ref().map_or_else(|| e.url.clone(), |v| format!("{}|{v}", e.url))).collect();
            for canonical in canonicals {
                let Some(cs) = self.resource_json(&canonical) else { continue };
                let identifiers = match cs.get("identifier") {
                    Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
                    Some(one @ Value::Object(_)) => vec![one],
                    _ => continue,
                };
                for id in identifiers {
                    if let Some(v) = id.get("value").and_then(Value::as_str) {
                        let list = index.entry(v.to_owned()).or_default();
                        if !list.contains(&canonical) {
                            list.push(canonical.clone());
                        }
                    }
                }
            }
            index
        });
        index.get(value).map_or(&[], Vec::as_slice)
    }

    /// Names the package cache whose packages [`Context::package_catalogue`] lists.
    pub fn set_package_cache(&mut self, root: PathBuf) {
        self.package_cache = Some(root);
        self.package_catalogue = std::sync::OnceLock::new();
    }

    /// Gives the packages [`Context::package_catalogue`] lists outright.
    pub fn set_package_catalogue(&mut self, catalogue: crate::package::PackageCatalogue) {
        self.package_catalogue = std::sync::OnceLock::from(catalogue);
    }

    /// The installed packages of the package cache (this context's, else its
    /// parent's), read once; `None` when no cache was named.
    pub fn package_catalogue(&self) -> Option<&crate::package::PackageCatalogue> {
        if let Some(c) = self.package_catalogue.get() {
            return Some(c);
        }
        match &self.package_cache {
            Some(root) => Some(self.package_catalogue.get_or_init(|| crate::package::PackageCatalogue::read(&crate::package::PackageCache::new(root.clone())))),
            None => self.parent.as_ref().and_then(|p| p.package_catalogue()),
        }
    }

    /// Whether a loaded StructureDefinition names `url` (without a version)
    /// as its `baseDefinition`.
    pub fn is_base_of_any(&self, url: &str) -> bool {
        #[derive(serde::Deserialize)]
        struct BaseOnly {
            #[serde(rename = "baseDefinition")]
            base_definition: Option<String>,
        }
        let own = self.base_definitions.get_or_init(|| {
            let mut set = std::collections::HashSet::new();
            for entry in self.by_url.values().flatten().filter(|e| e.resource_type == "StructureDefinition") {
                let base = match &entry.source {
                    // Straight from the bytes, keeping nothing but the one field.
                    Source::File(path) if path.extension().is_none_or(|x| x != "xml") => {
                        std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<BaseOnly>(&b).ok()).and_then(|b| b.base_definition)
                    }
                    Source::File(path) => self.read_file(path).and_then(|v| v.get("baseDefinition").and_then(Value::as_str).map(str::to_owned)),
                    Source::Inline(v) => v.get("baseDefinition").and_then(Value::as_str).map(str::to_owned),
                };
                if let Some(base) = base {
                    set.insert(split_canonical(&base).0.to_owned());
                }
            }
            set
        });
        own.contains(url) || self.parent.as_ref().is_some_and(|p| p.is_base_of_any(url))
    }

    /// Every entry, this context's own first, then the parent's it does not shadow.
    pub fn entries(&self) -> Box<dyn Iterator<Item = &Entry> + '_> {
        let own = self.by_url.values().flatten();
        match &self.parent {
            Some(p) => Box::new(own.chain(p.entries().filter(|e| !self.by_url.contains_key(&e.url)))),
            None => Box::new(own),
        }
    }

    /// The versions registered for a url, latest registered last.
    pub fn versions(&self, url: &str) -> Vec<Option<String>> {
        if let Some(p) = self.delegate(url) {
            return p.versions(url);
        }
        self.by_url.get(url).map(|l| l.iter().map(|e| e.version.clone()).collect()).unwrap_or_default()
    }

    pub fn knows(&self, canonical: &str) -> bool {
        self.entry(canonical).is_some()
    }

    /// The resource's JSON, read once and cached.
    pub fn resource_json(&self, canonical: &str) -> Option<Arc<Value>> {
        if let Some(p) = self.delegate(canonical) {
            return p.resource_json(canonical);
        }
        cached(&self.raw, canonical, || {
            let entry = self.entry(canonical)?;
            match &entry.source {
                Source::Inline(v) => Some(v.clone()),
                Source::File(path) => self.read_file(path).map(Arc::new),
            }
        })
    }

    fn read_file(&self, path: &std::path::Path) -> Option<Value> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", path.display());
                return None;
            }
        };
        if path.extension().is_some_and(|x| x == "xml") {
            let reader = self.xml_reader.clone()?;
            return reader(&text, self);
        }
        match serde_json::from_str(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!("cannot parse {}: {e}", path.display());
                None
            }
        }
    }

    fn typed<T: serde::de::DeserializeOwned>(&self, canonical: &str) -> Option<T> {
        let entry = self.entry(canonical)?;
        let parsed = match &entry.source {
            Source::File(path) if path.extension().is_none_or(|x| x != "xml") => {
                // Straight from the bytes: no intermediate Value for the big definitions.
                let text = std::fs::read(path).ok()?;
                serde_json::from_slice(&text)
            }
            _ => serde_json::from_value((*self.resource_json(canonical)?).clone()),
        };
        match parsed {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("{canonical} from {} cannot be read: {e}", entry.origin);
                None
            }
        }
    }

    /// The compiled StructureDefinition for a canonical URL, generating its
    /// snapshot first when it only has a differential.
    pub fn structure(&self, canonical: &str) -> Option<Arc<StructureDef>> {
        if let Some(p) = self.delegate(canonical) {
            return p.structure(canonical);
        }
        self.cached_definition(&self.structures, canonical, || {
            let entry = self.entry(canonical)?;
            if entry.resource_type != "StructureDefinition" {
                return None;
            }
            let mut sd: StructureDefinition = self.typed(canonical)?;
            if sd.snapshot.as_ref().is_none_or(|s| s.element.is_empty()) {
                let generate = self.snapshot_generator.clone()?;
                sd = generate(sd, self)?;
            }
            let mut compiled = StructureDef::compile(sd)?;
            if compiled.derivation.as_deref() == Some("constraint") {
                // What the profile leaves as its type has it, the walk against the type checks.
                if let Some(base) = self.type_definition(&compiled.type_name).filter(|b| b.url != compiled.url) {
                    compiled.mark_inherited(&base, &|code| self.type_definition(code));
                }
            }
            Some(Arc::new(compiled))
        })
    }

    /// The definition of a FHIR type (`Patient`, `HumanName`, `string`) or of
    /// a type given by its canonical URL.
    pub fn type_definition(&self, type_code: &str) -> Option<Arc<StructureDef>> {
        if type_code.contains(':') {
            return self.structure(type_code);
        }
        cached(&self.types, type_code, || {
            let mut url = String::with_capacity(CORE_SD_BASE.len() + type_code.len());
            url.push_str(CORE_SD_BASE);
            url.push_str(type_code);
            self.structure(&url)
        })
    }

    /// The pattern a primitive type's own definition gives its values (the
    /// `regex` extension on `X.value` or on its type), as written there.
    pub fn type_regex(&self, type_code: &str) -> Option<Arc<Option<String>>> {
        const REGEX_EXT: &str = "http://hl7.org/fhir/StructureDefinition/regex";
        cached(&self.type_regexes, type_code, || {
            let sd = self.resource_json(&format!("{CORE_SD_BASE}{type_code}"))?;
            let regex_of = |holder: &Value| {
                holder.get("extension").and_then(Value::as_array).and_then(|exts| {
                    exts.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(REGEX_EXT)).and_then(|e| e.get("valueString")).and_then(Value::as_str).map(str::to_owned)
                })
            };
            let found = sd.pointer("/snapshot/element").and_then(Value::as_array).and_then(|elements| {
                elements.iter().filter(|e| e.get("path").and_then(Value::as_str).is_some_and(|p| p.ends_with(".value"))).find_map(|e| {
                    regex_of(e).or_else(|| e.get("type").and_then(Value::as_array).and_then(|ts| ts.iter().find_map(regex_of)))
                })
            });
            Some(Arc::new(found))
        })
    }

    /// The raw definition without compiling it (for snapshot generation).
    pub fn structure_definition(&self, canonical: &str) -> Option<StructureDefinition> {
        self.typed(canonical)
    }

    pub fn value_set(&self, canonical: &str) -> Option<Arc<ValueSet>> {
        if let Some(p) = self.delegate(canonical) {
            return p.value_set(canonical);
        }
        self.cached_definition(&self.value_sets, canonical, || {
            let e = self.entry(canonical)?;
            (e.resource_type == "ValueSet").then(|| self.typed(canonical)).flatten().map(Arc::new)
        })
    }

    pub fn code_system(&self, canonical: &str) -> Option<Arc<CodeSystem>> {
        if let Some(p) = self.delegate(canonical) {
            return p.code_system(canonical);
        }
        self.cached_definition(&self.code_systems, canonical, || {
            let e = self.entry(canonical)?;
            (e.resource_type == "CodeSystem").then(|| self.typed::<definition::CodeSystem>(canonical)).flatten().map(Arc::new)
        })
    }
}

/// A definition looked up by a name a request may choose: found ones are
/// kept, misses are not (a request may name any number of unknown
/// canonicals, and the cache lives as long as the server).
fn cached<T>(cache: &Cache<T>, key: &str, load: impl FnOnce() -> Option<Arc<T>>) -> Option<Arc<T>> {
    if let Some(hit) = cache.read().get(key) {
        return hit.clone();
    }
    let loaded = load()?;
    cache.write().insert(key.to_string(), Some(loaded.clone()));
    Some(loaded)
}

impl Context {
    /// How many lookups the definition caches hold (compiled profiles,
    /// types, value sets, code systems), this context's own: a check that
    /// what requests name does not grow them.
    pub fn cached_lookups(&self) -> usize {
        self.structures.read().len() + self.types.read().len() + self.value_sets.read().len() + self.code_systems.read().len()
    }

    /// A compiled definition by canonical, kept under the definition's own
    /// identity (`url|version`) and plain url only: a request can write a
    /// canonical any number of ways (`url|1`, `url|1.0`, ...), each resolving
    /// to one definition, and none of them may grow the cache. Names that
    /// resolve to nothing are not kept either.
    fn cached_definition<T>(&self, cache: &Cache<T>, canonical: &str, load: impl FnOnce() -> Option<Arc<T>>) -> Option<Arc<T>> {
        if let Some(hit) = cache.read().get(canonical) {
            return hit.clone();
        }
        let entry = self.entry(canonical)?;
        let identity = match &entry.version {
            Some(v) => format!("{}|{v}", entry.url),
            None => entry.url.clone(),
        };
        if let Some(hit) = cache.read().get(&identity) {
            return hit.clone();
        }
        let loaded = load();
        let mut cache = cache.write();
        if canonical == entry.url && canonical != identity {
            cache.insert(canonical.to_string(), loaded.clone());
        }
        cache.insert(identity, loaded.clone());
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_resolve_exactly_then_by_prefix_then_latest() {
        let mut ctx = Context::new();
        for v in ["1.0.0", "2.0.1"] {
            ctx.add_json(json!({"resourceType": "ValueSet", "url": "http://x/vs", "version": v, "name": format!("v{v}")}), "test");
        }
        assert_eq!(ctx.value_set("http://x/vs").unwrap().version.as_deref(), Some("2.0.1"));
        assert_eq!(ctx.value_set("http://x/vs|1.0.0").unwrap().version.as_deref(), Some("1.0.0"));
        assert_eq!(ctx.value_set("http://x/vs|2.0").unwrap().version.as_deref(), Some("2.0.1"));
        assert!(ctx.value_set("http://x/vs|3").is_none());
        assert!(ctx.code_system("http://x/vs").is_none());
    }

    #[test]
    fn overlays_shadow_their_parent_and_fall_through_to_it() {
        let mut base = Context::new();
        base.add_json(json!({"resourceType": "ValueSet", "url": "http://x/a", "name": "base-a"}), "base");
        base.add_json(json!({"resourceType": "ValueSet", "url": "http://x/b", "name": "base-b"}), "base");
        let base = Arc::new(base);
        let mut top = Context::overlay(base.clone());
        top.add_json(json!({"resourceType": "ValueSet", "url": "http://x/a", "name": "top-a"}), "top");
        assert_eq!(top.value_set("http://x/a").unwrap().name.as_deref(), Some("top-a"));
        assert_eq!(top.value_set("http://x/b").unwrap().name.as_deref(), Some("base-b"));
        assert_eq!(base.value_set("http://x/a").unwrap().name.as_deref(), Some("base-a"));
        assert_eq!(top.entries().count(), 2);
    }

    #[test]
    fn bundles_of_definitions_register_each_entry() {
        let mut ctx = Context::new();
        let n = ctx.add_json(
            json!({"resourceType": "Bundle", "entry": [
                {"resource": {"resourceType": "CodeSystem", "url": "http://x/cs", "concept": [{"code": "a"}]}},
                {"resource": {"resourceType": "Patient", "id": "no-url"}}
            ]}),
            "test",
        );
        assert_eq!(n, 1);
        assert_eq!(ctx.code_system("http://x/cs").unwrap().concept[0].code, "a");
    }
}
