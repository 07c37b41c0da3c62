//! Membership in a collection under FHIRPath equality (`=`), by hash.
//!
//! `in`, `contains`, `intersect()`, `exclude()`, `subsetOf()`,
//! `supersetOf()`, `distinct()` and `union` all ask whether an item equals
//! one of a collection. Asked item by item that is quadratic, and an
//! invariant such as `obs-7` or `ig-1` asks it once per repetition of an
//! input-sized list. [`ItemIndex`] answers in constant time for the items
//! whose equality a key captures exactly, and compares the rest pairwise.

use super::eval::item_eq;
use super::value::Item;
use crate::tree::Node;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

/// A key equal for every two items `=` says are equal.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    /// Strings, booleans and numbers (integers and decimals compared as one
    /// normalised decimal), by their text.
    Value(u8, String),
    /// A complex node, by a hash of its whole content: equal nodes have
    /// equal hashes, and a shared hash is confirmed by comparing.
    Deep(u64),
}

/// The positions of a collection's items, grouped by [`Key`]; items without
/// a key (dates, times, quantities, whose equality depends on precision and
/// units) are kept apart and compared one by one, as no keyed item can
/// equal them.
pub struct ItemIndex {
    /// Random per index, so that no input can be built to make its complex
    /// nodes share one hash.
    state: RandomState,
    keyed: HashMap<Key, Vec<usize>>,
    unkeyed: Vec<usize>,
}

impl ItemIndex {
    pub fn new() -> ItemIndex {
        ItemIndex { state: RandomState::new(), keyed: HashMap::new(), unkeyed: Vec::new() }
    }

    pub fn of(items: &[Item<'_>]) -> ItemIndex {
        let mut index = ItemIndex::new();
        for (at, item) in items.iter().enumerate() {
            index.add(at, item);
        }
        index
    }

    /// Records that `items[at]` is `item`.
    pub fn add(&mut self, at: usize, item: &Item<'_>) {
        match self.key(item) {
            Some(k) => self.keyed.entry(k).or_default().push(at),
            None => self.unkeyed.push(at),
        }
    }

    /// Whether an item of `items` (the collection this index was built
    /// over) equals `x`.
    pub fn contains(&self, items: &[Item<'_>], x: &Item<'_>) -> bool {
        let candidates = match self.key(x) {
            Some(k) => self.keyed.get(&k).map(Vec::as_slice).unwrap_or(&[]),
            None => self.unkeyed.as_slice(),
        };
        candidates.iter().any(|&at| items.get(at).is_some_and(|o| item_eq(o, x) == Some(true)))
    }

    fn key(&self, item: &Item<'_>) -> Option<Key> {
        // In the order `item_eq` decides: string text first, then system values, then nodes.
        if let Some(text) = item.string_text() {
            return Some(Key::Value(0, text.to_string()));
        }
        match item.to_system() {
            Some(system) => value_key(&system),
            None => match item {
                Item::Node { node, .. } => {
                    let mut hasher = self.state.build_hasher();
                    hash_node(node, &mut hasher);
                    Some(Key::Deep(hasher.finish()))
                }
                Item::Type { namespace, name } => Some(Key::Value(3, format!("{namespace}.{name}"))),
                _ => None,
            },
        }
    }
}

impl Default for ItemIndex {
    fn default() -> Self {
        ItemIndex::new()
    }
}

fn value_key(system: &Item<'_>) -> Option<Key> {
    match system {
        Item::String(s) => Some(Key::Value(0, s.clone())),
        Item::Boolean(b) => Some(Key::Value(1, b.to_string())),
        Item::Integer(n) => Some(Key::Value(2, rust_decimal::Decimal::from(*n).normalize().to_string())),
        Item::Decimal(d) => Some(Key::Value(2, d.normalize().to_string())),
        _ => None,
    }
}

/// What `deep_eq` compares: names, value texts and children, in order.
fn hash_node(node: &Node, hasher: &mut impl Hasher) {
    // Deep content is walked without recursion: a hostile resource can nest deeply.
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        n.name.as_str().hash(hasher);
        n.value.as_ref().map(|v| v.text.as_str()).hash(hasher);
        n.children.len().hash(hasher);
        stack.extend(n.children.iter().rev());
    }
}

/// The items of `items` without repeats, in their first order.
pub fn distinct<'a>(items: Vec<Item<'a>>) -> Vec<Item<'a>> {
    let mut out: Vec<Item<'a>> = Vec::with_capacity(items.len());
    let mut index = ItemIndex::new();
    for item in items {
        if !index.contains(&out, &item) {
            index.add(out.len(), &item);
            out.push(item);
        }
    }
    out
}
