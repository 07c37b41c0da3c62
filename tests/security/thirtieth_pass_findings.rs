//! Findings of the thirtieth red-team pass
//! (docs/security/redteam-thirtieth-pass-2026-12-06.md), each shown on an
//! input of the reported shape, with the answer still right.

use super::*;
use careplan::issue::Severity;
use std::hash::BuildHasher;

/// The pass's way to make strings collide under rustc-hash 2's unkeyed
/// string hash: when a 16-byte block's first half equals the running state,
/// the block's second half drops out. Written from the pass's description;
/// the test checks against the real hasher that the ids do collide.
mod fx_collisions {
    const SEED1: u64 = 0x243f_6a88_85a3_08d3;
    const PI_TAIL: u64 = 0xa409_3822_299f_31d0;
    const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.";

    fn folded_multiply(x: u64, y: u64) -> u64 {
        let p = (x as u128) * (y as u128);
        (p as u64) ^ ((p >> 64) as u64)
    }

    fn word(b: &[u8]) -> u64 {
        u64::from_le_bytes(b[..8].try_into().unwrap())
    }

    /// `n` distinct 64-character FHIR ids: prefix | 16 fixed | state | 8 free | 16 fixed.
    pub fn ids(n: usize) -> Vec<String> {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (prefix, state) = loop {
            let prefix: Vec<u8> = (0..16)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ID_CHARS[(seed >> 58) as usize]
                })
                .collect();
            let state = folded_multiply(SEED1 ^ word(&prefix[..8]), PI_TAIL ^ word(&prefix[8..])).to_le_bytes();
            if state.iter().all(|b| ID_CHARS.contains(b)) {
                break (prefix, state);
            }
        };
        (0..n)
            .map(|i| {
                let free: Vec<u8> = (0..8).map(|k| ID_CHARS[(i / ID_CHARS.len().pow(k)) % ID_CHARS.len()]).collect();
                let id = [prefix.as_slice(), b"MMMMMMMMMMMMMMMM", &state, &free, b"TTTTTTTTTTTTTTTT"].concat();
                String::from_utf8(id).unwrap()
            })
            .collect()
    }
}

/// V1: the maps of contained ids (and every other map keyed by what a
/// request sends) used FxHash, which has no key: ids built to share one
/// hash made each insert compare with all before it. They are now keyed
/// randomly per process.
#[test]
fn v1_contained_ids_that_collide_under_fxhash_are_still_told_apart() {
    let n = 4_000;
    let ids = fx_collisions::ids(n);
    // The ids are distinct, and all share one FxHash: the attack's input.
    let fx = rustc_hash::FxBuildHasher;
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), n);
    assert!(ids.iter().all(|id| fx.hash_one(id.as_str()) == fx.hash_one(ids[0].as_str())));

    let contained: Vec<Value> = ids.iter().map(|id| json!({"resourceType": "Basic", "id": id, "code": {"text": "x"}})).collect();
    let mut focus: Vec<Value> = ids.iter().map(|id| json!({"reference": format!("#{id}")})).collect();
    focus.push(json!({"reference": "#nowhere"}));
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "contained": contained, "focus": focus});
    let found = common::issues_with(&[], &obs);
    // Every contained resource is found by its reference; the one to nowhere is not.
    let unresolved: Vec<_> = found.iter().filter(|i| i.severity == Severity::Error && i.message.contains("nowhere")).collect();
    assert_eq!(unresolved.len(), 1, "{:#?}", &found[..found.len().min(8)]);
    assert!(!found.iter().any(|i| i.message.contains("dom-3")), "{:#?}", &found[..found.len().min(8)]);
}

/// V2: `resolve()` of `#id` (ctm-1, once per CareTeam participant) searched
/// the resource's children each time; the contained resources are now
/// indexed by id once per walk.
#[test]
fn v2_resolving_thousands_of_contained_references_finds_each() {
    let n = 5_000;
    let mut contained: Vec<Value> = (0..n).map(|i| json!({"resourceType": "Practitioner", "id": format!("p{i}")})).collect();
    let mut participants: Vec<Value> = (0..n).map(|i| json!({"member": {"reference": format!("#p{i}")}})).collect();
    participants[n - 1]["onBehalfOf"] = json!({"reference": "Organization/o"});
    let team = |contained: &[Value]| json!({"resourceType": "CareTeam", "contained": contained, "participant": participants});
    let fine = common::issues_with(&[], &team(&contained));
    assert!(!fine.iter().any(|i| i.message.contains("ctm-1") || i.message.contains("dom-3")), "{:#?}", &fine[..fine.len().min(8)]);
    // ctm-1: only a Practitioner member may act on behalf of an organisation; the last one is now a Patient.
    contained[n - 1] = json!({"resourceType": "Patient", "id": format!("p{}", n - 1)});
    let broken = common::issues_with(&[], &team(&contained));
    assert_eq!(broken.iter().filter(|i| i.message.contains("ctm-1")).count(), 1, "{:#?}", &broken[..broken.len().min(8)]);
}

/// V3: each concept's rules looked up the CodeSystem's `language` by
/// searching all its children, concepts included; it is now read once.
#[test]
fn v3_a_code_system_of_many_concepts_reads_its_language_once() {
    let n = 20_000;
    let mut concepts: Vec<Value> = (0..n).map(|i| json!({"code": format!("c{i}"), "display": format!("Concept {i}")})).collect();
    concepts.push(json!({"code": "c7", "display": "Again"}));
    let cs = json!({"resourceType": "CodeSystem", "url": "http://x.test/cs", "status": "draft", "content": "complete", "concept": concepts, "language": "en"});
    let found = common::issues_with(&[], &cs);
    let duplicates: Vec<_> = found.iter().filter(|i| i.message == "The code 'c7' has already been defined").collect();
    assert_eq!(duplicates.len(), 1, "{:#?}", &found[..found.len().min(8)]);
}
