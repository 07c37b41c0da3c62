//! The names both directions of the mapping agree on: canonical URLs of our
//! profiles, extensions, code systems and identifier systems, the external
//! systems we use, and the status translations read from our ConceptMaps.
//! docs/mapping.md is the table these names implement.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::model::{ActionState, AttachmentKind, AttorneyKind, FundingKind, GoalState, NeedKind};

/// The canonical base of everything careplan defines.
pub use crate::profiles::BASE;

pub fn structure_definition(id: &str) -> String {
    format!("{BASE}/StructureDefinition/{id}")
}

pub fn code_system(id: &str) -> String {
    format!("{BASE}/CodeSystem/{id}")
}

pub fn identifier_system(id: &str) -> String {
    format!("{BASE}/Id/{id}")
}

pub const UK_CORE_PROFILES: &str = "https://fhir.hl7.org.uk/StructureDefinition";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const ODS_SITE: &str = "https://fhir.nhs.uk/Id/ods-site-code";
/// Element ids of the Consent provisions the mapping makes: those a plan
/// says and a later post replaces; any other provision was written through
/// FHIR and is kept (`owned::merge`).
pub const PLAN_PROVISION_RECORDERS: &str = "prsb-recorders";
pub const PLAN_PROVISION_SHARED: &str = "prsb-shared-";

/// Which of a Consent's nested provisions (each by its element id and
/// `type`) are the plan's own: a permit with a plan id, the first with that
/// id. A deny, or a copy of a plan-made provision the person made into a
/// rule of their own, is the person's whatever its id, and a post keeps it.
pub fn plan_provisions<'a>(provisions: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Vec<bool> {
    let mut seen = std::collections::HashSet::new();
    provisions
        .map(|(id, kind)| match id {
            Some(id) if id.starts_with("prsb-") && kind == Some("permit") => seen.insert(id),
            _ => false,
        })
        .collect()
}
/// `meta.tag` system of a Consent's tag saying which consent section of a
/// plan it was last made from (a digest): a post of the same section
/// leaves the provisions as they are, whatever the person changed since.
pub fn consent_applied_tag_system() -> String {
    format!("{BASE}/CodeSystem/plan-consent-applied")
}
pub const ODS_ORGANISATION: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
pub const SDS_JOB_ROLE: &str = "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode";
pub const TREATMENT_FUNCTION: &str =
    "https://fhir.nhs.uk/CodeSystem/NHSDataModelAndDictionary-TreatmentFunction";
pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
pub const LOINC: &str = "http://loinc.org";
pub const PROVENANCE_PARTICIPANT: &str =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
pub const CONTACT_POINT_SYSTEM_OTHER: &str = "other";
pub const DATA_ABSENT_REASON: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
pub const GOAL_RELATIONSHIP: &str = "http://hl7.org/fhir/StructureDefinition/goal-relationship";
pub const GOAL_RELATIONSHIP_TYPE: &str =
    "http://terminology.hl7.org/CodeSystem/goal-relationship-type";
/// Core extension: the goals a resource relates to (a strength's goals).
pub const PERTAINS_TO_GOAL: &str = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal";
/// UK Core's extra person relationship roles; `Agent` is what an attorney or
/// a deputy is (Mental Capacity Act 2005, s.19(6): a deputy is the person's agent).
pub const UK_CORE_RELATIONSHIP_ROLE: &str = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole";
pub const AGENT_ROLE: (&str, &str) = ("Agent", "Agent of patient");
/// SNOMED CT 734163000 "Care plan", PRSB's code for the plan.
pub const CARE_PLAN_CODE: (&str, &str) = ("734163000", "Care plan");
/// LOINC 59284-0 "Patient Consent".
pub const GOAL_PRIORITY: &str = "http://terminology.hl7.org/CodeSystem/goal-priority";
/// `Consent.provision.actor.role` of those a plan may be shared with: information recipient.
pub const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const INFORMATION_RECIPIENT: &str = "IRCP";
pub const PATIENT_CONSENT_CODE: (&str, &str) = ("59284-0", "Patient Consent");

/// Our extensions, by id (see docs/mapping.md).
pub mod ext {
    pub const ARCHIVED: &str = "archived";
    pub const WHY_IT_MATTERS: &str = "goal-why-it-matters";
    pub const IMPORTANCE: &str = "goal-importance";
    pub const CONFIDENCE: &str = "action-confidence";
    pub const STRATEGY: &str = "action-strategy";
    pub const LAST_UPDATED: &str = "item-last-updated";
    pub const REVIEW_DATE: &str = "review-date";
    pub const REVIEW_RESPONSIBILITY: &str = "review-responsibility";
    pub const AGREEMENT: &str = "plan-agreement";
    pub const FUNDING_SOURCE: &str = "funding-source";
    pub const LOCATION: &str = "location";
    pub const DOCUMENT_LOCATION: &str = "document-location";
    pub const COMMENT_AUTHOR_ROLE: &str = "comment-author-role";
    pub const CONSENT_REFUSAL_REASON: &str = "consent-refusal-reason";
    pub const ARCHIVED_ITEM: &str = "archived-item";
    pub const NEED_KIND: &str = "need-kind";
    pub const PLAN_LAST_UPDATED: &str = "plan-last-updated";
    pub const SUGGESTED_CHANGE: &str = "action-suggested-change";
}

/// Our profiles, by id.
pub mod profile {
    pub const PLAN_BUNDLE: &str = "prsb-plan-bundle";
    pub const CARE_PLAN: &str = "prsb-care-plan";
    pub const NEED: &str = "prsb-need";
    pub const STRENGTH: &str = "prsb-strength";
    pub const GOAL: &str = "prsb-goal";
    pub const GOAL_OUTCOME: &str = "prsb-goal-outcome";
    pub const CAPACITY: &str = "prsb-mental-capacity-assessment";
    pub const ATTACHMENT: &str = "prsb-attachment";
    pub const OTHER_DOCUMENT: &str = "prsb-other-plan-document";
    pub const CONSENT: &str = "prsb-information-sharing-consent";
    pub const PROVENANCE: &str = "prsb-record-provenance";
    pub const COVERAGE: &str = "prsb-funding-coverage";
    pub const PRACTITIONER: &str = "prsb-practitioner";
    pub const PRACTITIONER_ROLE: &str = "prsb-practitioner-role";
    pub const RELATED_PERSON: &str = "prsb-related-person";
    pub const ATTORNEY: &str = "prsb-lasting-power-of-attorney";
}

/// Code system ids.
pub mod system {
    pub const ITEM_KIND: &str = "prsb-item-kind";
    pub const GOAL_STATUS: &str = "prsb-goal-status";
    pub const ACTION_STATUS: &str = "prsb-action-status";
    pub const AGREED_BY: &str = "prsb-agreed-by";
    pub const FUNDING_SOURCE: &str = "prsb-funding-source";
    pub const ATTORNEY_KIND: &str = "prsb-attorney-kind";
}

/// Identifier system ids.
pub mod id {
    pub const PLAN: &str = "plan";
    pub const PLAN_ITEM: &str = "plan-item";
    pub const PROFESSIONAL: &str = "professional-identifier";
    /// The registration reference of an LPA (Office of the Public Guardian)
    /// or the case number of a deputyship (Court of Protection).
    pub const OPG_REGISTRATION: &str = "opg-registration";
}

/// The code of a goal state in `prsb-goal-status` (kebab-case of the PRSB format's value).
pub fn goal_state_code(state: GoalState) -> &'static str {
    match state {
        GoalState::Proposed => "proposed",
        GoalState::Agreed => "agreed",
        GoalState::InProgress => "in-progress",
        GoalState::Achieved => "achieved",
        GoalState::PartiallyAchieved => "partially-achieved",
        GoalState::NotAchieved => "not-achieved",
        GoalState::OnHold => "on-hold",
        GoalState::Abandoned => "abandoned",
    }
}

pub const GOAL_STATES: [GoalState; 8] = [
    GoalState::Proposed,
    GoalState::Agreed,
    GoalState::InProgress,
    GoalState::Achieved,
    GoalState::PartiallyAchieved,
    GoalState::NotAchieved,
    GoalState::OnHold,
    GoalState::Abandoned,
];

pub fn goal_state_from_code(code: &str) -> Option<GoalState> {
    GOAL_STATES.into_iter().find(|s| goal_state_code(*s) == code)
}

/// The code of an action state in `prsb-action-status`.
pub fn action_state_code(state: ActionState) -> &'static str {
    match state {
        ActionState::Planned => "planned",
        ActionState::InProgress => "in-progress",
        ActionState::Done => "done",
        ActionState::OnHold => "on-hold",
        ActionState::Refused => "refused",
        ActionState::Cancelled => "cancelled",
    }
}

pub const ACTION_STATES: [ActionState; 6] = [
    ActionState::Planned,
    ActionState::InProgress,
    ActionState::Done,
    ActionState::OnHold,
    ActionState::Refused,
    ActionState::Cancelled,
];

pub fn action_state_from_code(code: &str) -> Option<ActionState> {
    ACTION_STATES.into_iter().find(|s| action_state_code(*s) == code)
}

/// Source code → target code of one of our ConceptMaps (first group, first target).
fn concept_map(file: &str) -> HashMap<String, String> {
    let text = crate::profiles::file(file)
        .unwrap_or_else(|| panic!("profiles/{file} is embedded in the binary"));
    let json: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("profiles/{file} is JSON: {e}"));
    let mut out = HashMap::new();
    for group in json["group"].as_array().into_iter().flatten() {
        for element in group["element"].as_array().into_iter().flatten() {
            let source = element["code"].as_str();
            let target = element["target"][0]["code"].as_str();
            if let (Some(source), Some(target)) = (source, target) {
                out.entry(source.to_owned()).or_insert_with(|| target.to_owned());
            }
        }
    }
    out
}

/// `Goal.lifecycleStatus` for a PRSB goal state (`ConceptMap/prsb-goal-status-to-r4`).
pub fn goal_lifecycle(state: Option<GoalState>) -> String {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    let map = MAP.get_or_init(|| concept_map("ConceptMap-prsb-goal-status-to-r4.json"));
    state
        .and_then(|s| map.get(goal_state_code(s)).cloned())
        .unwrap_or_else(|| "active".to_owned())
}

/// `Goal.lifecycleStatus` of an archived goal: no longer part of the plan,
/// `completed` when it was reached or closed as not reached, else `cancelled`.
pub fn archived_goal_lifecycle(state: Option<GoalState>) -> &'static str {
    if goal_lifecycle(state) == "completed" {
        "completed"
    } else {
        "cancelled"
    }
}

/// `CarePlan.activity.detail.status` of an archived action: `completed` or
/// `cancelled` when it ended that way, else `stopped` (archived under way,
/// with its goal).
pub fn archived_activity_status(state: Option<ActionState>) -> &'static str {
    match activity_status(state).as_str() {
        "completed" => "completed",
        "cancelled" => "cancelled",
        _ => "stopped",
    }
}

/// `Goal.priority` from the PRSB importance score (1 to 10): 8 to 10 high,
/// 4 to 7 medium, 1 to 3 low (docs/mapping.md, "Goal priority").
pub fn goal_priority(importance: u8) -> (&'static str, &'static str) {
    match importance {
        8.. => ("high-priority", "High Priority"),
        4..=7 => ("medium-priority", "Medium Priority"),
        _ => ("low-priority", "Low Priority"),
    }
}

/// `CarePlan.activity.detail.status` for a PRSB action state (`ConceptMap/prsb-action-status-to-r4`).
pub fn activity_status(state: Option<ActionState>) -> String {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    let map = MAP.get_or_init(|| concept_map("ConceptMap-prsb-action-status-to-r4.json"));
    state
        .and_then(|s| map.get(action_state_code(s)).cloned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The `prsb-item-kind` code of a need, concern or problem.
pub fn need_kind_code(kind: NeedKind) -> &'static str {
    match kind {
        NeedKind::Need => "need",
        NeedKind::Concern => "concern",
        NeedKind::Problem => "problem",
    }
}

pub fn need_kind_from_code(code: &str) -> Option<NeedKind> {
    [NeedKind::Need, NeedKind::Concern, NeedKind::Problem].into_iter().find(|k| need_kind_code(*k) == code)
}

/// The `prsb-item-kind` code of an attachment.
pub fn attachment_kind_code(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Audio => "audio",
        AttachmentKind::Video => "video",
        AttachmentKind::Document => "document",
        AttachmentKind::Link => "link",
    }
}

pub fn attachment_kind_from_code(code: &str) -> Option<AttachmentKind> {
    [AttachmentKind::Image, AttachmentKind::Audio, AttachmentKind::Video, AttachmentKind::Document, AttachmentKind::Link]
        .into_iter()
        .find(|k| attachment_kind_code(*k) == code)
}

/// The `prsb-funding-source` code of a kind of funding, with its display.
pub fn funding_kind_code(kind: FundingKind) -> (&'static str, &'static str) {
    match kind {
        FundingKind::Nhs => ("nhs", "NHS"),
        FundingKind::LocalAuthority => ("local-authority", "Local authority"),
        FundingKind::Joint => ("joint", "Joint funding"),
        FundingKind::PersonalBudget => ("personal-budget", "Personal budget"),
        FundingKind::PersonalHealthBudget => ("personal-health-budget", "Personal health budget"),
        FundingKind::DirectPayment => ("direct-payment", "Direct payment"),
        FundingKind::SelfFunded => ("self-funded", "Self-funded"),
        FundingKind::Charity => ("charity", "Charity"),
        FundingKind::Other => ("other", "Other"),
    }
}

pub const FUNDING_KINDS: [FundingKind; 9] = [
    FundingKind::Nhs,
    FundingKind::LocalAuthority,
    FundingKind::Joint,
    FundingKind::PersonalBudget,
    FundingKind::PersonalHealthBudget,
    FundingKind::DirectPayment,
    FundingKind::SelfFunded,
    FundingKind::Charity,
    FundingKind::Other,
];

pub fn funding_kind_from_code(code: &str) -> Option<FundingKind> {
    FUNDING_KINDS.into_iter().find(|k| funding_kind_code(*k).0 == code)
}

/// The `prsb-attorney-kind` code of a lasting power of attorney or deputyship, with its display.
pub fn attorney_kind_code(kind: AttorneyKind) -> (&'static str, &'static str) {
    match kind {
        AttorneyKind::LpaHealthAndWelfare => ("lpa-health-and-welfare", "Lasting power of attorney for health and welfare"),
        AttorneyKind::LpaPropertyAndFinancialAffairs => ("lpa-property-and-financial-affairs", "Lasting power of attorney for property and financial affairs"),
        AttorneyKind::CourtAppointedDeputy => ("court-appointed-deputy", "Court-appointed deputy"),
    }
}

pub const ATTORNEY_KINDS: [AttorneyKind; 3] =
    [AttorneyKind::LpaHealthAndWelfare, AttorneyKind::LpaPropertyAndFinancialAffairs, AttorneyKind::CourtAppointedDeputy];

pub fn attorney_kind_from_code(code: &str) -> Option<AttorneyKind> {
    ATTORNEY_KINDS.into_iter().find(|k| attorney_kind_code(*k).0 == code)
}
