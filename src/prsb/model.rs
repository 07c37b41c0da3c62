//! The care and support plan as Rust types, one struct per PRSB group.
//!
//! PRSB nests goals under needs and actions under goals; here each list sits
//! at the top of the plan and the nesting is carried by id links
//! ([`Goal::need_ids`], [`Action::goal_ids`]) so one goal can serve several
//! needs and one action several goals. Stage goals, which PRSB records under
//! an action, are kept on the goal they break down.

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// An item that can be archived: kept for the record, left out of the active view.
pub trait Archivable {
    /// Whether the item is archived, when, and why.
    fn archive(&self) -> (bool, Option<&str>, Option<&str>);
    /// Marks the item archived (or not), with when and why.
    fn set_archive(&mut self, archived: bool, at: Option<String>, reason: Option<String>);
}

macro_rules! archivable {
    ($($item:ty),*) => {$(
        impl Archivable for $item {
            fn archive(&self) -> (bool, Option<&str>, Option<&str>) {
                (self.archived, self.archived_at.as_deref(), self.archived_reason.as_deref())
            }
            fn set_archive(&mut self, archived: bool, at: Option<String>, reason: Option<String>) {
                self.archived = archived;
                self.archived_at = at;
                self.archived_reason = reason;
            }
        }
    )*};
}

archivable!(Strength, Need, Goal, StageGoal, Outcome, Action, Comment, Attachment, OtherCarePlanningDocument);

/// A whole care and support plan for one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CarePlan {
    /// Local identifier of this plan.
    pub id: String,
    /// Whom the plan is about (not a PRSB care plan item: demographics live in
    /// another PRSB section; kept here so a plan can be read on its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Person>,
    /// PRSB "Date this plan was last updated": when any part of the plan last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_updated: Option<String>,
    /// PRSB "Strengths": the person's strengths and assets relating to their goals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strengths: Vec<Strength>,
    /// PRSB "Needs, concerns or problems".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    /// PRSB "Goals and hopes": what the person wants to achieve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<Goal>,
    /// PRSB "Actions and activities": what the person or others will do towards the goals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Comments and progress notes about the plan as a whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// Attachments and hyperlinks (PRSB "Documents (including correspondence, audio and images)").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// PRSB "Agreed with person or legitimate representative".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    /// PRSB "Care funding source": who pays (the source only, no amounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_funding_source: Option<CareFundingSource>,
    /// PRSB "Planned review date/interval": when the plan is next to be reviewed
    /// (a date of year, month or day precision, or a date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_review_date: Option<String>,
    /// PRSB "Responsibility for review": who arranges the next review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsibility_for_review: Option<ResponsibilityForReview>,
    /// PRSB "Performing professional": the professional who prepared the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performing_professional: Option<PerformingProfessional>,
    /// PRSB "Person completing record".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_completing_record: Option<PersonCompletingRecord>,
    /// PRSB "Location": where the plan was prepared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// PRSB Legal information "Consent for information sharing".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_for_information_sharing: Option<ConsentForInformationSharing>,
    /// PRSB "Other care planning documents": references to related plans
    /// (condition-specific plans, advance care plans, end of life plans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_care_planning_documents: Vec<OtherCarePlanningDocument>,
}

/// The person the plan is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Person {
    /// Full name (at most 70 characters).
    pub name: String,
    /// NHS number, ten digits without spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
    /// Date of birth (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// PRSB Legal information "Lasting power of attorney for health and
    /// welfare or court-appointed deputy (or equivalent)": everyone who may
    /// decide for the person, one entry per attorney or deputy. PRSB records
    /// it about the person, not about one plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lasting_powers_of_attorney: Vec<LastingPowerOfAttorney>,
}

/// What a lasting power of attorney or a deputyship lets someone decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttorneyKind {
    /// Lasting power of attorney for health and welfare.
    LpaHealthAndWelfare,
    /// Lasting power of attorney for property and financial affairs.
    LpaPropertyAndFinancialAffairs,
    /// A deputy appointed by the Court of Protection.
    CourtAppointedDeputy,
}

/// One attorney or deputy (PRSB "Lasting power of attorney for health and
/// welfare or court-appointed deputy (or equivalent)").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LastingPowerOfAttorney {
    /// Which power: PRSB gives it as a SNOMED CT "Coded value"; here it is one
    /// of a fixed set of kinds.
    pub kind: AttorneyKind,
    /// PRSB "Name of LPA": the attorney's or deputy's name (at most 150 characters).
    pub name: String,
    /// PRSB "Contact details" (at most 35 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<String>,
    /// The Office of the Public Guardian's reference of the registered LPA,
    /// or the Court of Protection's case number of the deputyship (at most 32 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_reference: Option<String>,
    /// When the LPA was registered or the deputy appointed (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<String>,
    /// PRSB "Location of document": where the LPA or court order is kept (text or URL, at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_of_document: Option<String>,
}

/// A code from a terminology (SNOMED CT unless `system` says otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Coding {
    /// Terminology URI; absent means SNOMED CT (`http://snomed.info/sct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code itself, or a SNOMED CT postcoordinated expression (as PRSB gives for goals).
    pub code: String,
    /// Human-readable term for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A professional role (PRSB "Role", SDS job role value set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    /// SDS job role code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The role in words, e.g. "Community nurse" (at most 150 characters).
    pub text: String,
}

/// PRSB "Strengths": one strength or asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Strength {
    /// Local id, unique within the plan.
    pub id: String,
    /// PRSB "Coded value": SNOMED CT from the healthcare matters refset 1127601000000107.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the strength in the person's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// Ids of the goals this strength supports (PRSB: strengths "relating to
    /// their goals and hopes"); may be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goal_ids: Vec<String>,
    /// Comments and progress notes on this strength.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// Which of PRSB's three words an entry of "Needs, concerns or problems" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NeedKind {
    /// Something the person needs.
    Need,
    /// Something the person is worried about.
    Concern,
    /// A problem (e.g. a diagnosis or a difficulty).
    Problem,
}

/// PRSB "Needs, concerns or problems": one entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Need {
    /// Local id, unique within the plan; goals link to it.
    pub id: String,
    /// Need, concern or problem.
    pub kind: NeedKind,
    /// PRSB "Coded value": SNOMED CT from the health issues refset 1127581000000103.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the need, concern or problem in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// An existing resource that is this need (`Condition/123`: a problem on
    /// the GP's record), linked as it is instead of copied. The plan keeps
    /// only its id, kind, words and archive state for it; the resource's own
    /// record says the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_reference: Option<String>,
    /// Comments and progress notes on this entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// Where a goal or stage goal stands (PRSB "Goal status").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GoalState {
    /// Suggested, not yet agreed.
    Proposed,
    /// Agreed with the person, not started.
    Agreed,
    /// Being worked on.
    InProgress,
    /// Reached.
    Achieved,
    /// Partly reached.
    PartiallyAchieved,
    /// Not reached.
    NotAchieved,
    /// Paused.
    OnHold,
    /// Given up.
    Abandoned,
}

/// PRSB "Goal status".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GoalStatus {
    /// The status as one of a fixed set of states.
    pub state: GoalState,
    /// SNOMED CT from the care planning goal context values refset 999000091000000107.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// Further words about the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

/// PRSB "Goals and hopes": one goal, hope, aim or target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Goal {
    /// Local id, unique within the plan; actions link to it.
    pub id: String,
    /// Ids of the needs, concerns or problems this goal addresses (may be empty for a hope
    /// that answers no recorded need).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub need_ids: Vec<String>,
    /// PRSB "Coded value": a SNOMED CT goal expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the goal in the person's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// Why the goal matters to the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_it_matters: Option<String>,
    /// PRSB "Goal importance score": how important the goal is to the person, 1 to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_importance_score: Option<u8>,
    /// PRSB "Goal status" of the overall goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_status: Option<GoalStatus>,
    /// PRSB "Stage goal": sub-goals on the way to this goal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_goals: Vec<StageGoal>,
    /// PRSB "Outcomes": what has come of the goal so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// Comments and progress notes on this goal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// PRSB "Stage goal": a sub-goal agreed between the person and a professional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageGoal {
    /// Local id, unique within the plan.
    pub id: String,
    /// PRSB "Coded value": a SNOMED CT goal expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the stage goal in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// PRSB "Goal status" of the stage goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_status: Option<GoalStatus>,
    /// PRSB "Outcome" of the stage goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<StageOutcome>,
    /// Comments and progress notes on this stage goal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// PRSB "Outcome" of a stage goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageOutcome {
    /// PRSB "Coded value": SNOMED CT from the healthcare matters refset 1127601000000107.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the outcome in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

/// PRSB "Outcomes": one recorded outcome of an overall goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outcome {
    /// Local id, unique within the plan.
    pub id: String,
    /// PRSB "Coded value": SNOMED CT from the healthcare matters refset 1127601000000107.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the outcome in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// When the outcome was recorded (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_recorded: Option<String>,
    /// Comments on the outcome, including the person's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// PRSB "What": what the action is and how it is carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct What {
    /// PRSB "Coded value": a SNOMED CT procedure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": the action in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

/// PRSB "Who": the person, professional or team carrying out an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Who {
    /// PRSB "Name" of whoever carries out the action (at most 70 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// PRSB "Role", e.g. the person, carer, GP, occupational therapist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// PRSB "Team" name (at most 35 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// PRSB "Contact details", e.g. a telephone number (at most 35 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<String>,
}

/// PRSB "When": the planned date, time or interval of an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct When {
    /// Start (a date of year, month or day precision, or a date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End, for an interval (same forms as `start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Timing in words, e.g. "every Tuesday morning" (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A weekly schedule: the days of the week the action happens on, in the
    /// order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<DayOfWeek>,
    /// A daily schedule: the times of day (`HH:MM`, 24-hour clock) the action
    /// happens at, on every day it happens (every day of `daysOfWeek`, or every day).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times_of_day: Vec<String>,
}

/// A day of the week, as FHIR spells it (`Timing.repeat.dayOfWeek`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayOfWeek {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl DayOfWeek {
    pub const ALL: [DayOfWeek; 7] = [DayOfWeek::Mon, DayOfWeek::Tue, DayOfWeek::Wed, DayOfWeek::Thu, DayOfWeek::Fri, DayOfWeek::Sat, DayOfWeek::Sun];

    /// The FHIR code (`mon` … `sun`), which is also the format's spelling.
    pub fn code(self) -> &'static str {
        match self {
            DayOfWeek::Mon => "mon",
            DayOfWeek::Tue => "tue",
            DayOfWeek::Wed => "wed",
            DayOfWeek::Thu => "thu",
            DayOfWeek::Fri => "fri",
            DayOfWeek::Sat => "sat",
            DayOfWeek::Sun => "sun",
        }
    }

    pub fn from_code(code: &str) -> Option<DayOfWeek> {
        DayOfWeek::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// A change to an action that someone has suggested: who, when and what.
/// It stays a suggestion: the action itself says what was agreed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuggestedChange {
    /// Who suggested it (the person, a carer or a professional; at most 70 characters).
    pub author: String,
    /// The role of whoever suggested it, when a professional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_role: Option<Role>,
    /// When it was suggested (RFC 3339 date-time).
    pub date_time: String,
    /// The change suggested, in words (at most 1000 characters).
    pub text: String,
}

/// Where an action stands (PRSB "Status").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionState {
    /// Not started.
    Planned,
    /// Under way.
    InProgress,
    /// Finished.
    Done,
    /// Paused.
    OnHold,
    /// The person declined it.
    Refused,
    /// Will not happen.
    Cancelled,
}

/// PRSB "Status" of an action or activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionStatus {
    /// The status as one of a fixed set of states.
    pub state: ActionState,
    /// PRSB "Coded value": SNOMED CT from the care planning action context values refset 999000081000000105.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<Coding>,
    /// PRSB "Free text": further words about the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

/// PRSB "Actions and activities": one action towards one or more goals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    /// Local id, unique within the plan.
    pub id: String,
    /// Ids of the goals this action works towards (at least one).
    pub goal_ids: Vec<String>,
    /// PRSB "What": the action.
    pub what: What,
    /// PRSB "Who": who carries it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<Who>,
    /// PRSB "When": planned date, time or interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// PRSB "Suggested strategies" for potential problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_strategies: Vec<String>,
    /// PRSB "Status": e.g. in progress, done, refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ActionStatus>,
    /// PRSB "Confidence": how confident the person feels to carry it out, 1 to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    /// PRSB "Date last updated" of this action (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_updated: Option<String>,
    /// PRSB "Review date": when the action is next evaluated (year-month precision or finer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_date: Option<String>,
    /// Changes to the action someone has suggested, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_changes: Vec<SuggestedChange>,
    /// Comments and progress notes on this action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// A comment or progress note, on the plan or on one of its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Comment {
    /// Local id, unique within the plan.
    pub id: String,
    /// Who wrote it (the person, a carer or a professional; at most 70 characters).
    pub author: String,
    /// The author's role, when a professional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_role: Option<Role>,
    /// When it was written (RFC 3339 date-time).
    pub date_time: String,
    /// The note itself.
    pub text: String,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// What an attachment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttachmentKind {
    /// A photograph or drawing.
    Image,
    /// A sound recording.
    Audio,
    /// A video recording.
    Video,
    /// A document such as a letter or leaflet.
    Document,
    /// A hyperlink to a web page.
    Link,
}

/// An attachment or hyperlink (PRSB "Documents").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attachment {
    /// Local id, unique within the plan.
    pub id: String,
    /// PRSB "Date": when it was created or added (RFC 3339 date-time).
    pub date_time: String,
    /// Image, audio, video, document or link.
    pub kind: AttachmentKind,
    /// PRSB "Document title" (at most 150 characters).
    pub title: String,
    /// PRSB "Documentation location": where the content is (exactly one of `url` and `data`;
    /// a link always has a `url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The content inline, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// PRSB "Document MIME type", e.g. `image/jpeg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// PRSB "Class": the document type, e.g. leaflet, letter, photograph (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// PRSB "Comments" on the document (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Ids of the plan items this attachment illustrates (empty: the plan as a whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_ids: Vec<String>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}

/// Who agreed a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgreedBy {
    /// The person themselves.
    Person,
    /// A legitimate representative (e.g. an attorney or court-appointed deputy).
    LegitimateRepresentative,
}

/// PRSB "Agreed with person or legitimate representative".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Agreement {
    /// PRSB "Person or legitimate representative": whether the plan was discussed and agreed.
    pub agreed: bool,
    /// Whether the person or a representative agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreed_by: Option<AgreedBy>,
    /// PRSB "Person full name" of whoever agreed (at most 70 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_full_name: Option<String>,
    /// PRSB "Role" of whoever agreed in relation to the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// When agreement was given (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_agreed: Option<String>,
    /// Why agreement was not obtained; required when `agreed` is false (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_not_obtained: Option<String>,
    /// PRSB Legal information "Mental capacity assessment" (0..*) bearing on
    /// the plan: one per decision assessed. (Until issue 17 the format held one
    /// assessment, `mentalCapacityAssessment`; see docs/prsb-format.md.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mental_capacity_assessments: Vec<MentalCapacityAssessment>,
    /// The best-interest decision made when the person lacks capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_interest_decision: Option<BestInterestDecision>,
}

/// PRSB Legal information "Mental capacity assessment".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MentalCapacityAssessment {
    /// PRSB "Date" of the assessment (RFC 3339 date-time).
    pub date: String,
    /// PRSB "Location" where the assessment was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The decision the person's capacity was assessed for, e.g. "where to
    /// live" (capacity is decision-specific; at most 150 characters).
    pub decision: String,
    /// PRSB "Mental capacity assessment": the assessment and its result (at most 150 characters).
    pub mental_capacity_assessment: String,
    /// Whether the person was found to have capacity for that decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_capacity: Option<bool>,
    /// What was done to help the person make the decision themselves before
    /// they were found to lack capacity (Mental Capacity Act 2005, s.1(3):
    /// "all practicable steps"), e.g. an interpreter, an easy read leaflet, a
    /// better time of day (at most 1000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_to_maximise_capacity: Option<String>,
    /// PRSB "Location of document": where the full assessment is kept (text or URL, at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_of_document: Option<String>,
    /// PRSB "Performing professional": who assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performing_professional: Option<PerformingProfessional>,
}

/// A best-interest decision (Mental Capacity Act 2005) about the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BestInterestDecision {
    /// When it was made (RFC 3339 date-time).
    pub date: String,
    /// What was decided and why.
    pub decision: String,
    /// Name of the decision maker (at most 70 characters).
    pub decision_maker: String,
    /// People consulted, each with their relationship, e.g. "Ann Bell (mother)".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people_consulted: Vec<String>,
}

/// The kind of care funding (CodeSystem `prsb-funding-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FundingKind {
    /// The NHS, e.g. NHS continuing healthcare.
    Nhs,
    /// The local authority's adult or children's social care.
    LocalAuthority,
    /// The NHS and the local authority jointly.
    Joint,
    /// A personal budget from the local authority.
    PersonalBudget,
    /// A personal health budget from the NHS.
    PersonalHealthBudget,
    /// A direct payment the person uses to arrange their care.
    DirectPayment,
    /// The person pays.
    SelfFunded,
    /// A charity or voluntary organisation.
    Charity,
    /// Another source.
    Other,
}

/// PRSB "Care funding source": the ODS code of the funding organisation
/// and/or in words (e.g. "self funded", "personal budget (direct payment)"),
/// and the kind of funding when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CareFundingSource {
    /// PRSB "Coded value": the funder's ODS organisation code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<String>,
    /// PRSB "Free text".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// The kind of funding (personal budget, personal health budget, NHS,
    /// local authority, self-funded…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FundingKind>,
}

/// PRSB "Responsibility for review".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponsibilityForReview {
    /// PRSB "Name" of the professional responsible (at most 70 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// PRSB "Role" of that professional, e.g. care coordinator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// PRSB "Contact details" (at most 35 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<String>,
}

/// PRSB "Performing professional".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerformingProfessional {
    /// PRSB "Name" (at most 70 characters).
    pub name: String,
    /// PRSB "Role" in relation to the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// PRSB "Grade" (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// PRSB "Speciality": activity treatment function code (3 characters at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speciality: Option<String>,
    /// PRSB "Professional identifier", e.g. GMC or HCPC number (at most 32 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub professional_identifier: Option<String>,
    /// PRSB "Organisation" the professional works for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// PRSB "Contact details" (at most 35 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<String>,
    /// An existing Practitioner who is this professional (`Practitioner/123`),
    /// linked instead of recorded again: the plan keeps the name as its own
    /// words for them and their role here; grade, identifier and contact
    /// details are the Practitioner's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_reference: Option<String>,
}

/// PRSB "Person completing record".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonCompletingRecord {
    /// PRSB "Name" (at most 70 characters).
    pub name: String,
    /// PRSB "Role": organisational role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// PRSB "Grade" (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// PRSB "Specialty": activity treatment function code (3 characters at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialty: Option<String>,
    /// PRSB "Organisation" the person works for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// PRSB "Professional identifier" (at most 32 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub professional_identifier: Option<String>,
    /// PRSB "Date completed" (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_completed: Option<String>,
    /// PRSB "Contact details" (at most 35 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<String>,
    /// An existing Practitioner who is this professional (`Practitioner/123`),
    /// linked instead of recorded again: the plan keeps the name as its own
    /// words for them and their role here; grade, identifier and contact
    /// details are the Practitioner's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_reference: Option<String>,
}

/// PRSB "Location": the ODS code of the site (3 to 5 characters), or in
/// words when no code applies, e.g. "Person's home".
pub type Location = CodedOrText;

/// PRSB's recurring pair: a "Coded value" (an ODS code) or, failing that,
/// "Free text" (at most 150 characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodedOrText {
    /// PRSB "Coded value".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded_value: Option<String>,
    /// PRSB "Free text".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

/// PRSB Legal information "Consent for information sharing".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentForInformationSharing {
    /// PRSB "Date" consent was given (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// PRSB "Location" where consent was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// PRSB "Consent for information sharing": the consent recorded, in words (at most 150 characters).
    pub consent: String,
    /// PRSB "Reason for consent not given" (at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_consent_not_given: Option<String>,
    /// PRSB "Performing professional": who took consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performing_professional: Option<PerformingProfessional>,
    /// PRSB "Person completing record".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_completing_record: Option<PersonCompletingRecord>,
    /// Who the person agreed to share the plan with, beyond the professionals
    /// who recorded it (not a PRSB item of its own: it makes the consent one
    /// the server can enforce).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<SharedWith>,
}

impl ConsentForInformationSharing {
    /// Consent was not given when a reason for that is recorded.
    pub fn given(&self) -> bool {
        self.reason_for_consent_not_given.is_none()
    }
}

/// Someone a plan may be shared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharedWith {
    /// Full name (at most 70 characters).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Professional identifier (GMC, NMC, HCPC, SDS user id), which finds the
    /// professional's own Practitioner resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub professional_identifier: Option<String>,
    /// An existing resource that is this person (`Practitioner/123`,
    /// `RelatedPerson/abc`), used as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_reference: Option<String>,
}

/// PRSB "Other care planning documents": one referenced document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtherCarePlanningDocument {
    /// Local id, unique within the plan.
    pub id: String,
    /// Title of the document (at most 150 characters).
    pub title: String,
    /// Type, e.g. "Advance care plan", "ReSPECT form".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// Where it is kept (text or URL, at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Its date (year, month or day precision, or a date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// True when the item no longer applies but is kept for the record.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// When the item was archived (RFC 3339 date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Why the item was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_reason: Option<String>,
}
