//! Which field of the plan format carries each item of the PRSB Core
//! Information Standard section "Care and support plan".
//!
//! Keys are the PRSB item or group names joined with " / " from the top of
//! the section (so the many "Coded value" items stay apart); values are field
//! paths in the JSON format, with `*` standing for any array index. The table
//! is reviewed by hand; `tests/prsb.rs` checks that it covers every item of
//! the outline and that every path exists in the schema. [`ADDED_ITEMS`] lists
//! what the format carries beyond PRSB's named items.

/// PRSB item path → JSON field path.
#[rustfmt::skip]
pub const CARE_PLAN_ITEMS: &[(&str, &str)] = &[
    ("Strengths", "/strengths/*"),
    ("Strengths / Coded value", "/strengths/*/codedValue"),
    ("Strengths / Free text", "/strengths/*/freeText"),
    ("Needs, concerns or problems", "/needs/*"),
    ("Needs, concerns or problems / Coded value", "/needs/*/codedValue"),
    ("Needs, concerns or problems / Free text", "/needs/*/freeText"),
    // Goals are nested under needs in PRSB; here they link to them by id.
    ("Needs, concerns or problems / Goals and hopes", "/goals/*/needIds"),
    ("Needs, concerns or problems / Goals and hopes / Coded value", "/goals/*/codedValue"),
    ("Needs, concerns or problems / Goals and hopes / Free text", "/goals/*/freeText"),
    ("Needs, concerns or problems / Goals and hopes / Goal importance score", "/goals/*/goalImportanceScore"),
    // Actions are nested under goals in PRSB; here they link to them by id.
    ("Needs, concerns or problems / Goals and hopes / Actions and activities", "/actions/*/goalIds"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / What", "/actions/*/what"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / What / Coded value", "/actions/*/what/codedValue"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / What / Free text", "/actions/*/what/freeText"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Who", "/actions/*/who"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Who / Name", "/actions/*/who/name"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Who / Role", "/actions/*/who/role"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Who / Team", "/actions/*/who/team"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Who / Contact details", "/actions/*/who/contactDetails"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / When", "/actions/*/when"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Suggested strategies", "/actions/*/suggestedStrategies"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Status", "/actions/*/status"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Status / Coded value", "/actions/*/status/codedValue"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Status / Free text", "/actions/*/status/freeText"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Confidence", "/actions/*/confidence"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Date last updated", "/actions/*/dateLastUpdated"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Review date", "/actions/*/reviewDate"),
    // Stage goals break a goal down, so they sit on the goal rather than the action.
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal", "/goals/*/stageGoals"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Stage goal", "/goals/*/stageGoals/*"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Stage goal / Coded value", "/goals/*/stageGoals/*/codedValue"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Stage goal / Free text", "/goals/*/stageGoals/*/freeText"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Outcome", "/goals/*/stageGoals/*/outcome"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Outcome / Coded value", "/goals/*/stageGoals/*/outcome/codedValue"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Outcome / Free text", "/goals/*/stageGoals/*/outcome/freeText"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Stage goal / Goal status", "/goals/*/stageGoals/*/goalStatus"),
    ("Needs, concerns or problems / Goals and hopes / Outcomes", "/goals/*/outcomes/*"),
    ("Needs, concerns or problems / Goals and hopes / Outcomes / Coded value", "/goals/*/outcomes/*/codedValue"),
    ("Needs, concerns or problems / Goals and hopes / Outcomes / Free text", "/goals/*/outcomes/*/freeText"),
    ("Needs, concerns or problems / Goals and hopes / Goal status", "/goals/*/goalStatus"),
    ("Agreed with person or legitimate representative", "/agreement"),
    ("Agreed with person or legitimate representative / Person or legitimate representative", "/agreement/agreed"),
    ("Agreed with person or legitimate representative / Person full name", "/agreement/personFullName"),
    ("Agreed with person or legitimate representative / Role", "/agreement/role"),
    ("Care funding source", "/careFundingSource"),
    ("Care funding source / Coded value", "/careFundingSource/codedValue"),
    ("Care funding source / Free text", "/careFundingSource/freeText"),
    ("Date this plan was last updated", "/dateLastUpdated"),
    ("Other care planning documents", "/otherCarePlanningDocuments/*"),
    ("Planned review date/interval", "/plannedReviewDate"),
    ("Responsibility for review", "/responsibilityForReview"),
    ("Responsibility for review / Name", "/responsibilityForReview/name"),
    ("Responsibility for review / Role", "/responsibilityForReview/role"),
    ("Responsibility for review / Contact details", "/responsibilityForReview/contactDetails"),
    ("Location", "/location"),
    ("Location / Coded value", "/location/codedValue"),
    ("Location / Free text", "/location/freeText"),
    ("Performing professional", "/performingProfessional"),
    ("Performing professional / Name", "/performingProfessional/name"),
    ("Performing professional / Role", "/performingProfessional/role"),
    ("Performing professional / Grade", "/performingProfessional/grade"),
    ("Performing professional / Speciality", "/performingProfessional/speciality"),
    ("Performing professional / Professional identifier", "/performingProfessional/professionalIdentifier"),
    ("Performing professional / Organisation", "/performingProfessional/organisation"),
    ("Performing professional / Contact details", "/performingProfessional/contactDetails"),
    ("Person completing record", "/personCompletingRecord"),
    ("Person completing record / Name", "/personCompletingRecord/name"),
    ("Person completing record / Role", "/personCompletingRecord/role"),
    ("Person completing record / Grade", "/personCompletingRecord/grade"),
    ("Person completing record / Specialty", "/personCompletingRecord/specialty"),
    ("Person completing record / Organisation", "/personCompletingRecord/organisation"),
    ("Person completing record / Professional identifier", "/personCompletingRecord/professionalIdentifier"),
    ("Person completing record / Date completed", "/personCompletingRecord/dateCompleted"),
    ("Person completing record / Contact details", "/personCompletingRecord/contactDetails"),
];

/// Items of the linked PRSB sections ("Legal information", "Documents") that the
/// format carries, keyed by section, then group and item.
#[rustfmt::skip]
pub const LINKED_ITEMS: &[(&str, &str)] = &[
    ("Legal information / Consent for information sharing", "/consentForInformationSharing"),
    ("Legal information / Consent for information sharing / Date", "/consentForInformationSharing/date"),
    ("Legal information / Consent for information sharing / Location", "/consentForInformationSharing/location"),
    ("Legal information / Consent for information sharing / Consent for information sharing", "/consentForInformationSharing/consent"),
    ("Legal information / Consent for information sharing / Reason for consent not given", "/consentForInformationSharing/reasonForConsentNotGiven"),
    ("Legal information / Consent for information sharing / Performing professional", "/consentForInformationSharing/performingProfessional"),
    ("Legal information / Consent for information sharing / Person completing record", "/consentForInformationSharing/personCompletingRecord"),
    ("Legal information / Mental capacity assessment", "/agreement/mentalCapacityAssessments/*"),
    ("Legal information / Mental capacity assessment / Date", "/agreement/mentalCapacityAssessments/*/date"),
    ("Legal information / Mental capacity assessment / Location", "/agreement/mentalCapacityAssessments/*/location"),
    ("Legal information / Mental capacity assessment / Mental capacity assessment", "/agreement/mentalCapacityAssessments/*/mentalCapacityAssessment"),
    ("Legal information / Mental capacity assessment / Location of document", "/agreement/mentalCapacityAssessments/*/locationOfDocument"),
    ("Legal information / Mental capacity assessment / Performing professional", "/agreement/mentalCapacityAssessments/*/performingProfessional"),
    // PRSB records it about the person, so it sits on `person`; "Coded value"
    // (a SNOMED CT finding from refset 999001951000000107) is carried by
    // `kind`, one of a fixed set of our codes.
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent)", "/person/lastingPowersOfAttorney/*"),
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent) / Lasting power of attorney for health and welfare or court appointed deputy (or equivalent) / Coded value", "/person/lastingPowersOfAttorney/*/kind"),
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent) / Lasting power of attorney for health and welfare or court appointed deputy (or equivalent) / Location of document", "/person/lastingPowersOfAttorney/*/locationOfDocument"),
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent) / Lasting power of attorney for health and welfare or court appointed deputy (or equivalent) / Name of LPA", "/person/lastingPowersOfAttorney/*/name"),
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent) / Lasting power of attorney for health and welfare or court appointed deputy (or equivalent) / Contact details", "/person/lastingPowersOfAttorney/*/contactDetails"),
    ("Documents / Documents", "/attachments/*"),
    ("Documents / Documents / Date", "/attachments/*/dateTime"),
    ("Documents / Documents / Documentation location", "/attachments/*/url"),
    ("Documents / Documents / Class", "/attachments/*/class"),
    ("Documents / Documents / Document title", "/attachments/*/title"),
    ("Documents / Documents / Document MIME type", "/attachments/*/contentType"),
    ("Documents / Documents / Comments", "/attachments/*/note"),
];

/// What the format says beyond the PRSB items by name: details the PRSB
/// descriptions ask for (a strength "relating to their goals", the capacity
/// "decision", "registered" LPAs), structure PRSB leaves to words (a weekly
/// schedule), and what issue 17 asked for that the PRSB data model has no
/// item for (the kind of funding, actions taken to maximise capacity, a
/// suggested change to an action). Keyed like the tables above; each is
/// carried through map and unmap and named in docs/mapping.md.
#[rustfmt::skip]
pub const ADDED_ITEMS: &[(&str, &str)] = &[
    ("Strengths / Goals it supports", "/strengths/*/goalIds"),
    ("Care funding source / Kind of funding", "/careFundingSource/kind"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / When / Days of the week", "/actions/*/when/daysOfWeek"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / When / Times of day", "/actions/*/when/timesOfDay"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Suggested change", "/actions/*/suggestedChanges/*"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Suggested change / Author", "/actions/*/suggestedChanges/*/author"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Suggested change / Date", "/actions/*/suggestedChanges/*/dateTime"),
    ("Needs, concerns or problems / Goals and hopes / Actions and activities / Suggested change / Text", "/actions/*/suggestedChanges/*/text"),
    ("Legal information / Mental capacity assessment / Decision", "/agreement/mentalCapacityAssessments/*/decision"),
    ("Legal information / Mental capacity assessment / Actions to maximise capacity", "/agreement/mentalCapacityAssessments/*/actionsToMaximiseCapacity"),
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent) / Registration reference", "/person/lastingPowersOfAttorney/*/registrationReference"),
    ("Legal information / Lasting power of attorney for health and welfare or court-appointed deputy (or equivalent) / Registration date", "/person/lastingPowersOfAttorney/*/registrationDate"),
];

/// The field path for a PRSB item path of the care plan section, if covered.
pub fn field_for(item: &str) -> Option<&'static str> {
    CARE_PLAN_ITEMS
        .iter()
        .find(|(k, _)| *k == item)
        .map(|(_, v)| *v)
}

/// The item and group paths of one `######## Section` of a PRSB outline text,
/// each as names joined with " / " (nesting read from the indentation).
pub fn outline_items(outline: &str, section: &str) -> Vec<String> {
    let header = format!("######## {section}");
    let mut inside = false;
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in outline.lines() {
        if line.starts_with("########") {
            inside = line.trim_end() == header;
            continue;
        }
        if !inside {
            continue;
        }
        let trimmed = line.trim_start();
        let rest = match trimmed
            .strip_prefix("[item] ")
            .or_else(|| trimmed.strip_prefix("[group] "))
        {
            Some(rest) => rest,
            None => continue,
        };
        let depth = (line.len() - trimmed.len()) / 2;
        // The name runs up to the cardinality, e.g. "Free text  (0..1 R)".
        let name = match rest.rfind(" (") {
            Some(cut) if rest[cut + 2..].starts_with(|c: char| c.is_ascii_digit()) => {
                rest[..cut].trim()
            }
            _ => rest.trim(),
        };
        stack.truncate(depth);
        stack.push(name.to_owned());
        out.push(stack.join(" / "));
    }
    out
}

/// Whether a field path (`/a/*/b`) exists in a JSON Schema, following
/// `properties`, `items`, `allOf` and local `$ref`s.
pub fn schema_has_path(schema: &serde_json::Value, path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    walk(schema, schema, &segments, 0)
}

fn walk(root: &serde_json::Value, node: &serde_json::Value, segs: &[&str], depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let node = resolve(root, node);
    let Some((first, rest)) = segs.split_first() else {
        return true;
    };
    if let Some(all) = node.get("allOf").and_then(|a| a.as_array()) {
        if all.iter().any(|s| walk(root, s, segs, depth + 1)) {
            return true;
        }
    }
    let next = if *first == "*" {
        node.get("items")
    } else {
        node.get("properties").and_then(|p| p.get(*first))
    };
    match next {
        Some(n) => walk(root, n, rest, depth + 1),
        None => false,
    }
}

fn resolve<'a>(
    root: &'a serde_json::Value,
    mut node: &'a serde_json::Value,
) -> &'a serde_json::Value {
    for _ in 0..16 {
        match node
            .get("$ref")
            .and_then(|r| r.as_str())
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match root.pointer(pointer) {
                Some(target) => node = target,
                None => return node,
            },
            None => return node,
        }
    }
    node
}
