//! What a Questionnaire item asks of its answers, read from the item once:
//! its extensions by url, its answer options as sets, its regex compiled,
//! its contained answer value set listed. A response can answer one item
//! tens of thousands of times, so an answer is checked by look-ups, never
//! by going through the item's options or extensions again (the nineteenth
//! red-team pass's L2 and L3: answers × options, a regex compiled per answer).

use super::questionnaire_answers::{json_text, json_value};
use crate::terminology::{Membership, Undecided};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub(super) struct ItemRules<'q> {
    pub item: &'q Value,
    /// The item's extensions by url, in order.
    extensions: HashMap<&'q str, Vec<&'q Value>>,
    /// `None` when the item has no answerOption; else its primitive options by type.
    primitive_options: Option<HashMap<String, PrimitiveOptions>>,
    /// Coding options by (system, code), with whether the first such is exclusive.
    pub coding_options: HashMap<(Option<&'q str>, Option<&'q str>), &'q Value>,
    pub exclusive: HashSet<(Option<&'q str>, Option<&'q str>)>,
    /// Coding options' codes and displays, lower-cased (an open-choice string answer that names one).
    pub coding_words: HashSet<String>,
    /// The `regex` extension's pattern, and its compiled form once an
    /// answer needs it (`None` inside when it does not compile within the
    /// limits of [`compile_regex`]).
    pub regex: Option<&'q str>,
    pub compiled_regex: std::cell::OnceCell<Option<std::rc::Rc<CompiledRegex>>>,
    /// The answerValueSet when it names a ValueSet contained in the Questionnaire.
    pub contained_value_set: Option<ContainedValueSet<'q>>,
    /// unitOption codings as (system, code, display), by which of the three they name.
    unit_options: HashMap<[bool; 3], HashSet<[Option<&'q str>; 3]>>,
    pub unit_option_codings: Vec<&'q Value>,
    /// The unitOptions as one message shows them, built once.
    pub unit_options_shown: String,
    /// The mimeType extensions' values: an attachment's content type must
    /// start with one of them.
    pub mime_types: Vec<String>,
    pub mime_types_shown: String,
    mime_prefixes: HashSet<String>,
}

/// A list as a message shows it, at most a few hundred characters: a
/// message is made once per answer, the list is the item's.
fn shown(items: impl Iterator<Item = String>, separator: &str) -> String {
    const LIMIT: usize = 400;
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if out.len() > LIMIT {
            out.push_str(separator);
            out.push('…');
            break;
        }
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(&item.chars().take(LIMIT).collect::<String>());
    }
    out
}

/// A type's primitive options: their texts, and their numbers for integers.
#[derive(Default)]
pub(super) struct PrimitiveOptions {
    texts: HashSet<String>,
    numbers: Vec<f64>,
}

/// A ValueSet contained in the Questionnaire that an item's answerValueSet names.
pub(super) struct ContainedValueSet<'q> {
    pub name: Option<&'q str>,
    /// The codes it lists (expansion, or includes that enumerate concepts),
    /// as (system, code); `None` when it does not list them.
    listed: Option<HashSet<(Option<&'q str>, &'q str)>>,
    codes: HashSet<&'q str>,
}

fn str_of<'q>(v: &'q Value, key: &str) -> Option<&'q str> {
    v.get(key).and_then(Value::as_str)
}

impl<'q> ItemRules<'q> {
    /// Reads an item of the Questionnaire `q` (whose contained resources
    /// its `#id` references name).
    pub(super) fn of(q: &'q Value, item: &'q Value) -> ItemRules<'q> {
        let mut extensions: HashMap<&'q str, Vec<&'q Value>> = HashMap::new();
        for e in item.get("extension").and_then(Value::as_array).into_iter().flatten() {
            if let Some(url) = str_of(e, "url") {
                extensions.entry(url).or_default().push(e);
            }
        }
        let options = item.get("answerOption").and_then(Value::as_array).filter(|a| !a.is_empty());
        let primitive_options = options.map(|options| {
            let mut by_type: HashMap<String, PrimitiveOptions> = HashMap::new();
            for (t, v) in options.iter().filter_map(json_value) {
                let Some(text) = json_text(v) else { continue };
                let entry = by_type.entry(t).or_default();
                if let Ok(n) = text.trim().parse::<f64>() {
                    entry.numbers.push(n);
                }
                entry.texts.insert(text);
            }
            // A decimal item takes as its options those whose value reads
            // as a decimal (R4 has no decimal answerOption; integers do).
            let decimals: HashSet<String> = ["integer", "decimal"].iter().filter_map(|t| by_type.get(*t)).flat_map(|o| o.texts.iter()).filter(|t| t.trim().parse::<f64>().is_ok()).cloned().collect();
            if !decimals.is_empty() {
                by_type.entry("decimal".to_string()).or_default().texts.extend(decimals);
            }
            for o in by_type.values_mut() {
                o.numbers.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            }
            by_type
        });
        let mut coding_options = HashMap::new();
        let mut exclusive = HashSet::new();
        let mut coding_words = HashSet::new();
        for o in options.into_iter().flatten() {
            let Some(c) = o.get("valueCoding") else { continue };
            let key = (str_of(c, "system"), str_of(c, "code"));
            if !coding_options.contains_key(&key) {
                coding_options.insert(key, c);
                let is_exclusive = o
                    .get("extension")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|e| str_of(e, "url") == Some(super::questionnaire_answers::EXT_EXCLUSIVE) && e.get("valueBoolean").and_then(Value::as_bool) == Some(true));
                if is_exclusive {
                    exclusive.insert(key);
                }
            }
            for word in [str_of(c, "display"), str_of(c, "code")].into_iter().flatten() {
                coding_words.insert(word.to_ascii_lowercase());
            }
        }
        let mut rules = ItemRules {
            item,
            extensions,
            primitive_options,
            coding_options,
            exclusive,
            coding_words,
            regex: None,
            compiled_regex: std::cell::OnceCell::new(),
            contained_value_set: None,
            unit_options: HashMap::new(),
            unit_option_codings: Vec::new(),
            unit_options_shown: String::new(),
            mime_types: Vec::new(),
            mime_types_shown: String::new(),
            mime_prefixes: HashSet::new(),
        };
        rules.regex = rules.string(super::questionnaire_answers::EXT_REGEX);
        rules.contained_value_set = str_of(item, "answerValueSet").and_then(|vs| vs.strip_prefix('#')).and_then(|id| contained_value_set(q, id)).map(ContainedValueSet::of);
        let codings: Vec<&'q Value> = rules.all(super::questionnaire_answers::EXT_UNIT_OPTION).iter().filter_map(|e| e.get("valueCoding")).collect();
        for c in &codings {
            let fields = [str_of(c, "system"), str_of(c, "code"), str_of(c, "display")];
            rules.unit_options.entry(fields.map(|f| f.is_some())).or_default().insert(fields);
        }
        rules.unit_options_shown = shown(codings.iter().map(|c| super::questionnaire_answers::coding_display(c)), ",");
        rules.unit_option_codings = codings;
        rules.mime_types = rules.all(super::questionnaire_answers::EXT_MIME_TYPE).iter().filter_map(|e| json_value(e)).filter_map(|(_, v)| json_text(v)).collect();
        rules.mime_prefixes = rules.mime_types.iter().cloned().collect();
        rules.mime_types_shown = shown(rules.mime_types.iter().cloned(), ", ");
        rules
    }

    /// Whether a content type starts with one of the mimeTypes, by looking
    /// up each of its prefixes rather than going through the list.
    pub(super) fn mime_type_allowed(&self, mime: &str) -> bool {
        mime.char_indices().map(|(i, c)| &mime[..i + c.len_utf8()]).any(|prefix| self.mime_prefixes.contains(prefix))
    }

    /// The item's extensions with this url.
    pub(super) fn all(&self, url: &str) -> &[&'q Value] {
        self.extensions.get(url).map_or(&[], Vec::as_slice)
    }

    /// The first value of an extension with this url: its type and value.
    pub(super) fn first(&self, url: &str) -> Option<(String, &'q Value)> {
        self.all(url).iter().find_map(|e| json_value(e))
    }

    pub(super) fn int(&self, url: &str) -> Option<i64> {
        let (_, v) = self.first(url)?;
        v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }

    pub(super) fn string(&self, url: &str) -> Option<&'q str> {
        self.first(url).and_then(|(_, v)| v.as_str())
    }

    /// `None` when the item has no answerOption; else whether an answer's
    /// text is among the options of its type (`Some(None)` when there are
    /// no options of that type).
    pub(super) fn primitive_option(&self, type_name: &str, text: &str) -> Option<Option<bool>> {
        let by_type = self.primitive_options.as_ref()?;
        let Some(options) = by_type.get(type_name).filter(|o| !o.texts.is_empty()) else { return Some(None) };
        let number = || text.trim().parse::<f64>().ok();
        let numeric = type_name == "integer" && number().is_some_and(|n| options.numbers.binary_search_by(|o| o.partial_cmp(&n).unwrap_or(std::cmp::Ordering::Less)).is_ok());
        Some(Some(options.texts.contains(text) || numeric))
    }

    pub(super) fn has_options(&self) -> bool {
        self.primitive_options.is_some()
    }

    /// Whether a Quantity's (system, code, unit) is one of the unitOptions
    /// (each option matches on the fields it names).
    pub(super) fn unit_option_matches(&self, fields: [Option<&str>; 3]) -> bool {
        self.unit_options.iter().any(|(mask, set)| {
            let mut key = [None; 3];
            for i in 0..3 {
                if mask[i] {
                    let Some(f) = fields[i] else { return false };
                    key[i] = Some(f);
                }
            }
            set.contains(&key)
        })
    }
}

/// A questionnaire's regex, compiled, with what matching it costs.
pub(super) struct CompiledRegex {
    regex: regex_automata::meta::Regex,
    /// Steps per byte of answer matched: matching is linear in the
    /// answer, but with a factor that grows with the compiled pattern.
    pub steps_per_byte: usize,
}

impl CompiledRegex {
    pub(super) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The memory the compiled pattern takes.
    pub(super) fn memory(&self) -> usize {
        self.regex.memory_usage()
    }

    /// The memory a matcher's cache holds after matching `text`.
    #[cfg(test)]
    fn cache_memory_after(&self, text: &str) -> usize {
        let mut cache = self.regex.create_cache();
        let _ = self.regex.search_with(&mut cache, &regex_automata::Input::new(text));
        cache.memory_usage()
    }

}

/// The most memory one compiled regex may take: past it, the pattern is
/// reported as not checked.
pub(super) const REGEX_LIMIT: usize = 8 << 20;

/// What compiling a pattern will cost, read off its syntax tree before it
/// is compiled (classes by their ranges, repetitions multiplied out): the
/// budget is asked first, and a pattern too large is never compiled. `None`
/// when it does not parse.
pub(super) fn regex_weight(pattern: &str) -> Option<u64> {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn weight(h: &Hir) -> u64 {
        match h.kind() {
            HirKind::Empty | HirKind::Look(_) => 1,
            HirKind::Literal(l) => l.0.len() as u64,
            // A Unicode class compiles to the UTF-8 byte sequences of its
            // ranges: counted exactly (`.` is about 25 bytes of them, not 4;
            // the twenty-third pass's O7).
            HirKind::Class(Class::Unicode(c)) => c
                .ranges()
                .iter()
                .flat_map(|r| regex_syntax::utf8::Utf8Sequences::new(r.start(), r.end()))
                .map(|seq| seq.as_slice().len() as u64)
                .fold(0u64, u64::saturating_add),
            HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64,
            HirKind::Repetition(r) => {
                let times = u64::from(r.max.unwrap_or(r.min).max(r.min)).max(1);
                weight(&r.sub).saturating_mul(times.saturating_add(1))
            }
            HirKind::Capture(c) => weight(&c.sub),
            HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().map(weight).fold(0u64, u64::saturating_add),
        }
    }
    regex_syntax::ParserBuilder::new().build().parse(pattern).ok().map(|h| weight(&h))
}

/// Steps a pattern of this weight costs to compile (measured: about 80 ns
/// a unit of weight, where a step of the response's budget is a few µs).
pub(super) fn compile_steps(weight: u64) -> usize {
    100 + (weight / 16).min(usize::MAX as u64 / 2) as usize
}

/// The heaviest pattern compiled (see [`regex_weight`]).
pub(super) const MAX_REGEX_WEIGHT: u64 = 2_000_000;

/// A questionnaire's regex, as Java's String.matches reads it (the whole
/// value must match), within [`REGEX_LIMIT`]; `Err` when the pattern does
/// not compile within it.
pub(super) fn compile_regex(pattern: &str) -> Result<CompiledRegex, ()> {
    use regex_automata::meta::Regex;
    // Only whether the whole answer matches is asked: no capture groups are
    // kept, so a matcher's cache is not states × groups (the twenty-third
    // pass's O1: `(a?)` × 3,000 made it a gigabyte).
    let config = Regex::config()
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
        .nfa_size_limit(Some(REGEX_LIMIT))
        .onepass_size_limit(Some(REGEX_LIMIT))
        .dfa_size_limit(Some(REGEX_LIMIT))
        .hybrid_cache_capacity(2 << 20);
    match Regex::builder().configure(config).build(&format!("^(?:{pattern})$")) {
        Ok(regex) => {
            let memory = regex.memory_usage();
            Ok(CompiledRegex { regex, steps_per_byte: 1 + memory / (64 << 10) })
        }
        Err(_) => Err(()),
    }
}

/// A ValueSet contained in the Questionnaire, by id.
pub(super) fn contained_value_set<'q>(q: &'q Value, id: &str) -> Option<&'q Value> {
    q.get("contained")?.as_array()?.iter().find(|c| str_of(c, "resourceType") == Some("ValueSet") && str_of(c, "id") == Some(id))
}

impl<'q> ContainedValueSet<'q> {
    fn of(vs: &'q Value) -> ContainedValueSet<'q> {
        let mut listed = HashSet::new();
        let complete = if let Some(contains) = vs.get("expansion").and_then(|e| e.get("contains")).and_then(Value::as_array) {
            fn walk<'q>(list: &'q [Value], out: &mut HashSet<(Option<&'q str>, &'q str)>) {
                for c in list {
                    if let Some(code) = str_of(c, "code") {
                        out.insert((str_of(c, "system"), code));
                    }
                    if let Some(l) = c.get("contains").and_then(Value::as_array) {
                        walk(l, out);
                    }
                }
            }
            walk(contains, &mut listed);
            true
        } else {
            let includes = vs.get("compose").and_then(|c| c.get("include")).and_then(Value::as_array);
            let enumerated = includes.is_some_and(|incs| incs.iter().all(|inc| inc.get("concept").is_some() && inc.get("filter").is_none() && inc.get("valueSet").is_none()));
            for inc in includes.into_iter().flatten() {
                let system = str_of(inc, "system");
                for c in inc.get("concept").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(code) = str_of(c, "code") {
                        listed.insert((system, code));
                    }
                }
            }
            enumerated && vs.get("compose").and_then(|c| c.get("exclude")).is_none()
        };
        let codes = listed.iter().map(|(_, c)| *c).collect();
        ContainedValueSet { name: str_of(vs, "name"), listed: complete.then_some(listed), codes }
    }

    /// Membership, decided only when the value set lists its codes.
    pub(super) fn member(&self, system: Option<&str>, code: &str) -> Membership {
        let Some(listed) = &self.listed else {
            return Membership::Unknown(Undecided::Other("the contained value set does not list its codes".into()));
        };
        let found = match system {
            Some(s) => listed.contains(&(Some(s), code)),
            None => self.codes.contains(code),
        };
        if found {
            Membership::In
        } else {
            Membership::NotIn
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{compile_regex, compile_steps, regex_weight, MAX_REGEX_WEIGHT};

    #[test]
    fn a_pattern_is_weighed_before_it_is_compiled() {
        let simple = regex_weight("[A-Z]{2}[0-9]{6}").unwrap();
        assert!(simple < 100, "{simple}");
        let letters = regex_weight(r"\p{L}{2,50}").unwrap();
        assert!(letters < MAX_REGEX_WEIGHT && compile_steps(letters) < 20_000, "{letters}");
        // Repetitions multiply: past the limit, never compiled.
        assert!(regex_weight(r"\p{L}{20000}").unwrap() > MAX_REGEX_WEIGHT);
        assert!(regex_weight(r"(\w{300}){300}").unwrap() > MAX_REGEX_WEIGHT);
        assert_eq!(regex_weight("(unclosed"), None);
    }

    /// The twenty-third pass's O7: `.` compiles to the UTF-8 sequences of
    /// every character, about 25 bytes of them, and is weighed so.
    #[test]
    fn o7_any_character_weighs_what_it_compiles_to() {
        let dot = regex_weight("(?s:.)").unwrap();
        assert!(dot >= 20, "{dot}");
        let long = regex_weight("(?s:.){12000}").unwrap();
        // A thousand of these no longer fit a response's budget of steps.
        assert!(compile_steps(long) * 1_000 > 5_000_000, "{long}");
        assert_eq!(regex_weight("[a-z]").unwrap(), 1);
    }

    /// The twenty-third pass's O1: capture groups are not kept, so matching
    /// a pattern of thousands of them keeps a small cache.
    #[test]
    fn o1_many_capture_groups_keep_no_capture_state() {
        let pattern = "(a?)".repeat(3_000);
        let re = compile_regex(&pattern).expect("compiles within the limit");
        let answer = "a".repeat(2_000);
        assert!(re.is_match(&answer));
        assert!(!re.is_match(&format!("{answer}b")));
        let used = re.cache_memory_after(&answer);
        assert!(used < 64 << 20, "the matcher's cache took {used} bytes");
    }
}
