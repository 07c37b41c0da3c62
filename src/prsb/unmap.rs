//! FHIR R4 → PRSB plan: the inverse of [`super::map`]. Reads a Bundle (as
//! `careplan map` writes it, or as a server answers a search with `_include`s)
//! or the loose resources of one plan, starting from its CarePlan.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _, Result};
use fhirbolt::model::r4::resources as r;
use fhirbolt::model::r4::types as t;
use fhirbolt::model::r4::Resource;

use super::model::*;
use super::vocab::{self, ext, id, system};

/// Reads FHIR JSON (a Bundle or one resource) into resources with their fullUrls.
pub fn read_resources(bytes: &[u8]) -> Result<Vec<(Option<String>, Resource)>> {
    let resource: Resource = fhirbolt::json::from_slice(bytes, None)
        .map_err(|e| anyhow!("not a FHIR R4 resource in JSON: {e}"))?;
    Ok(match resource {
        Resource::Bundle(bundle) => bundle
            .entry
            .into_iter()
            .filter_map(|e| {
                let url = e.full_url.and_then(|u| u.value);
                e.resource.map(|r| (url, r))
            })
            .collect(),
        other => vec![(None, other)],
    })
}

/// Turns the resources of one plan back into the PRSB plan. With several
/// CarePlans, `plan_id` says which one (by its plan identifier or resource id).
pub fn unmap(resources: &[(Option<String>, Resource)], plan_id: Option<&str>) -> Result<CarePlan> {
    let index = Index::new(resources);
    let plans: Vec<(&Resource, &r::CarePlan)> = resources
        .iter()
        .filter_map(|(_, r)| match r {
            Resource::CarePlan(p) => Some((r, &**p)),
            _ => None,
        })
        .filter(|(_, p)| match plan_id {
            None => true,
            Some(want) => {
                plan_identifier(p).as_deref() == Some(want)
                    || p.id.as_ref().and_then(|i| i.value.as_deref()) == Some(want)
            }
        })
        .collect();
    let (care_plan_resource, care_plan) = match plans.as_slice() {
        [one] => *one,
        [] => match plan_id {
            Some(want) => bail!("no CarePlan with identifier or id `{want}` among the resources"),
            None => bail!("no CarePlan among the resources: unmap starts from the plan's CarePlan"),
        },
        _ => bail!(
            "{} CarePlans among the resources: say which one with --plan <plan id>",
            plans.len()
        ),
    };
    Reader {
        index,
        care_plan,
        care_plan_resource,
        plan_id: plan_identifier(care_plan)
            .context("CarePlan.identifier: no plan identifier (system https://careplan.example/fhir/Id/plan), so the plan id is unknown")?,
    }
    .plan()
}

fn plan_identifier(p: &r::CarePlan) -> Option<String> {
    let system = vocab::identifier_system(id::PLAN);
    p.identifier
        .iter()
        .find(|i| uri(&i.system) == Some(system.as_str()))
        .and_then(|i| string(&i.value))
}

// ---------------------------------------------------------------- small readers

fn string(v: &Option<t::String>) -> Option<String> {
    v.as_ref().and_then(|s| s.value.clone())
}

fn uri(v: &Option<t::Uri>) -> Option<&str> {
    v.as_ref().and_then(|s| s.value.as_deref())
}

fn code(v: &Option<t::Code>) -> Option<&str> {
    v.as_ref().and_then(|s| s.value.as_deref())
}

fn date_time(v: &Option<t::DateTime>) -> Option<String> {
    v.as_ref().and_then(|s| s.value.clone())
}

fn prsb_coding(c: &t::Coding) -> Coding {
    let system = uri(&c.system).filter(|s| *s != vocab::SNOMED);
    Coding {
        system: system.map(str::to_owned),
        code: code(&c.code).unwrap_or_default().to_owned(),
        display: string(&c.display),
    }
}

/// PRSB "coded value" + "free text" from a CodeableConcept, skipping `skip` leading codings.
fn coded_text(cc: Option<&t::CodeableConcept>, skip: usize) -> (Option<Coding>, Option<String>) {
    match cc {
        None => (None, None),
        Some(cc) => (cc.coding.get(skip).map(prsb_coding), string(&cc.text)),
    }
}

fn has_code(cc: &t::CodeableConcept, system: &str, wanted: &str) -> bool {
    cc.coding
        .iter()
        .any(|c| uri(&c.system) == Some(system) && code(&c.code) == Some(wanted))
}

fn item_kind(cc: &[t::CodeableConcept]) -> Option<&str> {
    let system = vocab::code_system(system::ITEM_KIND);
    cc.iter()
        .flat_map(|c| &c.coding)
        .find(|c| uri(&c.system) == Some(system.as_str()))
        .and_then(|c| code(&c.code))
}

fn role(cc: &t::CodeableConcept) -> Role {
    Role {
        code: cc
            .coding
            .iter()
            .find(|c| uri(&c.system) == Some(vocab::SDS_JOB_ROLE))
            .and_then(|c| code(&c.code))
            .map(str::to_owned),
        text: string(&cc.text).unwrap_or_default(),
    }
}

fn find_ext<'a>(list: &'a [t::Extension], id: &str) -> Option<&'a t::Extension> {
    let url = vocab::structure_definition(id);
    list.iter().find(|e| e.url == url)
}

fn find_all<'a>(list: &'a [t::Extension], url: &'a str) -> impl Iterator<Item = &'a t::Extension> {
    list.iter().filter(move |e| e.url == url)
}

fn sub<'a>(e: &'a t::Extension, name: &str) -> Option<&'a t::Extension> {
    e.extension.iter().find(|x| x.url == name)
}

fn value_string(e: Option<&t::Extension>) -> Option<String> {
    match e.and_then(|e| e.value.as_ref()) {
        Some(t::ExtensionValue::String(v)) => v.value.clone(),
        Some(t::ExtensionValue::DateTime(v)) => v.value.clone(),
        Some(t::ExtensionValue::Code(v)) => v.value.clone(),
        _ => None,
    }
}

fn value_score(e: Option<&t::Extension>) -> Option<u8> {
    match e.and_then(|e| e.value.as_ref()) {
        Some(t::ExtensionValue::Integer(v)) => v.value.and_then(|i| u8::try_from(i).ok()),
        _ => None,
    }
}

fn value_score_wide(e: Option<&t::Extension>) -> Option<usize> {
    match e.and_then(|e| e.value.as_ref()) {
        Some(t::ExtensionValue::Integer(v)) => v.value.and_then(|i| usize::try_from(i).ok()),
        _ => None,
    }
}

/// Puts an item in its list: at the end when it is still in the plan (the
/// CarePlan lists those in order), at its recorded place when archived.
fn place<T>(list: &mut Vec<T>, position: Option<usize>, item: T) {
    match position {
        Some(p) => list.insert(p.min(list.len()), item),
        None => list.push(item),
    }
}

/// A name as the plan shows it: its text, else its parts as written.
fn name_text(n: &t::HumanName) -> Option<String> {
    string(&n.text).or_else(|| {
        let parts: Vec<String> = n
            .prefix
            .iter()
            .chain(&n.given)
            .chain(n.family.iter())
            .filter_map(|p| p.value.clone())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn value_reference(e: Option<&t::Extension>) -> Option<&t::Reference> {
    match e.and_then(|e| e.value.as_ref()) {
        Some(t::ExtensionValue::Reference(v)) => Some(v),
        _ => None,
    }
}

/// The archive fields of an item from its `archived` extension.
fn archive(extensions: &[t::Extension]) -> (bool, Option<String>, Option<String>) {
    match find_ext(extensions, ext::ARCHIVED) {
        None => (false, None, None),
        Some(e) => (
            true,
            value_string(sub(e, "at")),
            value_string(sub(e, "reason")),
        ),
    }
}

fn comment(a: &t::Annotation) -> Comment {
    let (archived, archived_at, archived_reason) = archive(&a.extension);
    let author_role = match find_ext(&a.extension, ext::COMMENT_AUTHOR_ROLE).and_then(|e| e.value.as_ref()) {
        Some(t::ExtensionValue::CodeableConcept(cc)) => Some(role(cc)),
        _ => None,
    };
    let author = match &a.author {
        Some(t::AnnotationAuthor::String(s)) => s.value.clone().unwrap_or_default(),
        Some(t::AnnotationAuthor::Reference(r)) => {
            let json = serde_json::json!({"reference": string(&r.reference), "display": string(&r.display)});
            reference_author(&json)
        }
        _ => "not recorded".to_owned(),
    };
    Comment {
        // A note written through FHIR has no id: one made from what it says
        // keeps it the same item each time the plan is read and posted back.
        id: a.id.clone().unwrap_or_else(|| {
            let said = format!("{}|{}|{}", date_time(&a.time).unwrap_or_default(), a.text.value.as_deref().unwrap_or_default(), author);
            format!("note-{}", &uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, said.as_bytes()).simple().to_string()[..12])
        }),
        author,
        author_role,
        date_time: date_time(&a.time).unwrap_or_default(),
        text: a.text.value.clone().unwrap_or_default(),
        archived,
        archived_at,
        archived_reason,
    }
}

/// The author of a note written through FHIR by reference, as the PRSB view
/// shows it: the name the reference gives, else the reference itself.
pub(crate) fn reference_author(reference: &serde_json::Value) -> String {
    reference["display"]
        .as_str()
        .or_else(|| reference["reference"].as_str())
        .unwrap_or("unknown")
        .to_owned()
}

fn comments(notes: &[t::Annotation]) -> Vec<Comment> {
    notes.iter().map(comment).collect()
}

/// Reads every element of a list, each with its FHIRPath (`path[i]`) for messages.
fn each<T, U>(list: &[T], path: &str, mut read: impl FnMut(&T, &str) -> Result<U>) -> Result<Vec<U>> {
    list.iter().enumerate().map(|(i, x)| read(x, &format!("{path}[{i}]"))).collect()
}

// ---------------------------------------------------------------- resolving references

struct Index<'a> {
    all: &'a [(Option<String>, Resource)],
    by_url: HashMap<String, &'a Resource>,
}

fn resource_id(r: &Resource) -> Option<(&'static str, &str)> {
    macro_rules! id_of {
        ($($variant:ident),*) => {
            match r {
                $(Resource::$variant(x) => x.id.as_ref().and_then(|i| i.value.as_deref()).map(|i| (stringify!($variant), i)),)*
                _ => None,
            }
        };
    }
    id_of!(
        Patient, CarePlan, Condition, Observation, Goal, DocumentReference, Consent, Provenance,
        Coverage, Practitioner, PractitionerRole, RelatedPerson, Location, CareTeam
    )
}

impl<'a> Index<'a> {
    fn new(resources: &'a [(Option<String>, Resource)]) -> Self {
        let mut by_url = HashMap::new();
        for (url, resource) in resources {
            if let Some(url) = url {
                by_url.insert(url.clone(), resource);
            }
            if let Some((kind, id)) = resource_id(resource) {
                by_url.insert(format!("{kind}/{id}"), resource);
            }
        }
        Index { all: resources, by_url }
    }

    /// The resource a reference points to: by fullUrl, or by `Type/id` (relative,
    /// absolute or versioned, as servers write them).
    fn resolve(&self, reference: &t::Reference) -> Option<&'a Resource> {
        let target = string(&reference.reference)?;
        if let Some(found) = self.by_url.get(&target) {
            return Some(found);
        }
        let without_version = match target.find("/_history/") {
            Some(at) => &target[..at],
            None => &target,
        };
        let mut parts = without_version.rsplit('/');
        let id = parts.next()?;
        let kind = parts.next()?;
        self.by_url.get(&format!("{kind}/{id}")).copied()
    }
}

struct Reader<'a> {
    index: Index<'a>,
    care_plan: &'a r::CarePlan,
    care_plan_resource: &'a Resource,
    plan_id: String,
}

macro_rules! resolve_as {
    ($self:ident, $reference:expr, $variant:ident, $what:expr) => {{
        let reference: &t::Reference = $reference;
        match $self.index.resolve(reference) {
            Some(Resource::$variant(x)) => Ok(&**x),
            Some(_) => Err(anyhow!(
                "{}: `{}` is not a {}",
                $what,
                string(&reference.reference).unwrap_or_default(),
                stringify!($variant)
            )),
            None => Err(anyhow!(
                "{}: `{}` is not among the resources; include it (e.g. with _include) or map the plan again",
                $what,
                string(&reference.reference).unwrap_or_default()
            )),
        }
    }};
}

impl<'a> Reader<'a> {
    /// The PRSB id of an item from its plan-item identifier (`<plan id>/<item id>`).
    fn item_id(&self, identifiers: &[t::Identifier], what: &str) -> Result<String> {
        let system = vocab::identifier_system(id::PLAN_ITEM);
        let prefix = format!("{}/", self.plan_id);
        identifiers
            .iter()
            .filter(|i| uri(&i.system) == Some(system.as_str()))
            .filter_map(|i| string(&i.value))
            .find_map(|v| v.strip_prefix(&prefix).map(str::to_owned))
            .ok_or_else(|| anyhow!("{what}: no identifier with system {system} and a value starting `{prefix}`"))
    }

    /// The PRSB id behind a reference to an item (a resource, or a logical reference by identifier).
    fn referenced_item_id(&self, reference: &t::Reference, what: &str) -> Result<String> {
        // A reference with an identifier is by identifier (an action or a
        // comment) or to a linked need's own resource: the identifier says which item.
        if let Some(identifier) = &reference.identifier {
            return self.item_id(std::slice::from_ref(&**identifier), what);
        }
        let target = self
            .index
            .resolve(reference)
            .ok_or_else(|| anyhow!("{what}: `{}` is not among the resources", string(&reference.reference).unwrap_or_default()))?;
        let identifiers = match target {
            Resource::Condition(x) => &x.identifier,
            Resource::Observation(x) => &x.identifier,
            Resource::Goal(x) => &x.identifier,
            Resource::DocumentReference(x) => &x.identifier,
            _ => bail!("{what}: points to a resource that is not a plan item"),
        };
        self.item_id(identifiers, what)
    }

    fn contained(&self, reference: Option<&t::Reference>) -> Option<&'a r::CareTeam> {
        let target = string(&reference?.reference)?;
        let local = target.strip_prefix('#')?;
        self.care_plan.contained.iter().find_map(|c| match c {
            Resource::CareTeam(team) if team.id.as_ref().and_then(|i| i.value.as_deref()) == Some(local) => Some(&**team),
            _ => None,
        })
    }

    fn plan(&self) -> Result<CarePlan> {
        let cp = self.care_plan;
        let subject = resolve_as!(self, &cp.subject, Patient, "CarePlan.subject")?;
        let mut attorneys = Vec::new();
        let mut person = subject.name.first().and_then(name_text).map(|name| Person {
            name,
            nhs_number: subject
                .identifier
                .iter()
                .find(|i| uri(&i.system) == Some(vocab::NHS_NUMBER))
                .and_then(|i| string(&i.value)),
            birth_date: subject.birth_date.as_ref().and_then(|d| d.value.clone()),
            lasting_powers_of_attorney: Vec::new(),
        });

        let mut strengths = Vec::new();
        let mut attachments = Vec::new();
        let mut documents = Vec::new();
        let mut needs = Vec::new();
        let mut goals = Vec::new();
        // Items still in the plan, then the archived ones at their places.
        let archived_url = vocab::structure_definition(ext::ARCHIVED_ITEM);
        let archived: Vec<(&t::Reference, usize, String)> = find_all(&cp.extension, &archived_url)
            .enumerate()
            .filter_map(|(i, e)| {
                let position = value_score_wide(sub(e, "position"))?;
                Some((value_reference(sub(e, "item"))?, position, format!("CarePlan.extension:archived-item[{i}]")))
            })
            .collect();
        let active = cp.supporting_info.iter().enumerate().map(|(i, r)| (r, None, format!("CarePlan.supportingInfo[{i}]")));
        let active = active
            .chain(cp.addresses.iter().enumerate().map(|(i, r)| (r, None, format!("CarePlan.addresses[{i}]"))))
            .chain(cp.goal.iter().enumerate().map(|(i, r)| (r, None, format!("CarePlan.goal[{i}]"))));
        for (reference, position, what) in active.chain(archived.into_iter().map(|(r, p, w)| (r, Some(p), w))) {
            let what = what.as_str();
            if let Some(need) = self.linked_need(reference, what)? {
                place(&mut needs, position, need);
                continue;
            }
            match self.index.resolve(reference) {
                Some(Resource::Observation(o)) => place(&mut strengths, position, self.strength(o, what)?),
                Some(Resource::DocumentReference(d)) => {
                    if item_kind(&d.category) == Some("care-planning-document") {
                        place(&mut documents, position, self.other_document(d, what)?);
                    } else {
                        place(&mut attachments, position, self.attachment(d, what)?);
                    }
                }
                Some(Resource::Condition(c)) => place(&mut needs, position, self.need(c, what)?),
                Some(Resource::Goal(g)) => place(&mut goals, position, self.goal(g, what)?),
                Some(Resource::RelatedPerson(p)) => attorneys.push(attorney(p, what)?),
                Some(_) => bail!("{what}: not a plan item (a strength, need, goal or document) nor the person's attorney"),
                None => bail!("{what}: `{}` is not among the resources", string(&reference.reference).unwrap_or_default()),
            }
        }
        let actions = each(&cp.activity, "CarePlan.activity", |a, what| self.action(a, what))?;
        match person.as_mut() {
            Some(p) => p.lasting_powers_of_attorney = attorneys,
            None if !attorneys.is_empty() => bail!(
                "CarePlan.subject: the Patient has no name, so the plan has no person to hold the {} attorney(s) or deputies in CarePlan.supportingInfo",
                attorneys.len()
            ),
            None => {}
        }

        let responsibility_for_review = self
            .contained(value_reference(find_ext(&cp.extension, ext::REVIEW_RESPONSIBILITY)))
            .map(|team| {
                let (name, role, _, contact_details) = person_in_role(team);
                ResponsibilityForReview { name, role, contact_details }
            });
        let agreement = find_ext(&cp.extension, ext::AGREEMENT)
            .map(|e| self.agreement(e))
            .transpose()?;
        let care_funding_source = match value_reference(find_ext(&cp.extension, ext::FUNDING_SOURCE)) {
            None => None,
            Some(r) => {
                let coverage = resolve_as!(self, r, Coverage, "CarePlan.extension:funding-source")?;
                let payor = coverage.payor.first();
                let system = vocab::code_system(system::FUNDING_SOURCE);
                Some(CareFundingSource {
                    coded_value: payor
                        .and_then(|p| p.identifier.as_ref())
                        .and_then(|i| string(&i.value)),
                    free_text: payor.and_then(|p| string(&p.display)),
                    kind: coverage
                        .r#type
                        .iter()
                        .flat_map(|t| &t.coding)
                        .find(|c| uri(&c.system) == Some(system.as_str()))
                        .and_then(|c| code(&c.code))
                        .and_then(vocab::funding_kind_from_code),
                })
            }
        };
        let location = self.location_ext(&cp.extension, "CarePlan.extension:location")?;

        let (performing_professional, person_completing_record) =
            self.provenance_of(self.care_plan_resource)?;
        let consent_for_information_sharing = self.consent()?;

        Ok(CarePlan {
            id: self.plan_id.clone(),
            person,
            date_last_updated: value_string(find_ext(&cp.extension, ext::PLAN_LAST_UPDATED)).or_else(|| {
                cp.meta.as_ref().and_then(|m| m.last_updated.as_ref()).and_then(|i| i.value.clone())
            }),
            strengths,
            needs,
            goals,
            actions,
            comments: comments(&cp.note),
            attachments,
            agreement,
            care_funding_source,
            planned_review_date: value_string(find_ext(&cp.extension, ext::REVIEW_DATE)),
            responsibility_for_review,
            performing_professional,
            person_completing_record,
            location,
            consent_for_information_sharing,
            other_care_planning_documents: documents,
        })
    }

    fn strength(&self, o: &r::Observation, what: &str) -> Result<Strength> {
        let (coded_value, free_text) = match &o.value {
            Some(r::ObservationValue::CodeableConcept(cc)) => coded_text(Some(cc), 0),
            _ => (None, None),
        };
        let (archived, archived_at, archived_reason) = archive(&o.extension);
        // A link with no Reference is one to a goal withheld from the reader
        // (the server takes such references out): there is nothing to show.
        let supports: Vec<&t::Reference> = find_all(&o.extension, vocab::PERTAINS_TO_GOAL).filter_map(|e| value_reference(Some(e))).collect();
        let goal_ids = each(&supports, &format!("{what}.extension:pertainsToGoal"), |goal, what| {
            let goal = resolve_as!(self, goal, Goal, what)?;
            self.item_id(&goal.identifier, what)
        })?;
        Ok(Strength {
            id: self.item_id(&o.identifier, what)?,
            coded_value,
            free_text,
            goal_ids,
            comments: comments(&o.note),
            archived,
            archived_at,
            archived_reason,
        })
    }

    /// A need the plan links as an existing resource: what the plan says of
    /// it is on the reference (marked by `need-kind`), whatever the resource
    /// itself says and whether or not it is among the resources.
    fn linked_need(&self, reference: &t::Reference, what: &str) -> Result<Option<Need>> {
        let Some(kind) = find_ext(&reference.extension, ext::NEED_KIND) else { return Ok(None) };
        let system = vocab::code_system(system::ITEM_KIND);
        let kind = match kind.value.as_ref() {
            Some(t::ExtensionValue::Coding(c)) if uri(&c.system) == Some(system.as_str()) => code(&c.code).and_then(vocab::need_kind_from_code),
            _ => None,
        }
        .ok_or_else(|| anyhow!("{what}.extension:need-kind: not a need, concern or problem code from {system}"))?;
        let identifier = reference
            .identifier
            .as_deref()
            .ok_or_else(|| anyhow!("{what}.identifier: a linked need carries its plan-item identifier on the reference"))?;
        let (archived, archived_at, archived_reason) = archive(&reference.extension);
        Ok(Some(Need {
            id: self.item_id(std::slice::from_ref(identifier), what)?,
            kind,
            coded_value: None,
            free_text: string(&reference.display),
            fhir_reference: string(&reference.reference),
            comments: Vec::new(),
            archived,
            archived_at,
            archived_reason,
        }))
    }

    fn need(&self, c: &r::Condition, what: &str) -> Result<Need> {
        let kind = match item_kind(&c.category).and_then(vocab::need_kind_from_code) {
            Some(kind) => kind,
            None => bail!("{what}.category: no need, concern or problem code from {}", vocab::code_system(system::ITEM_KIND)),
        };
        let (coded_value, free_text) = coded_text(c.code.as_deref(), 0);
        let (archived, archived_at, archived_reason) = archive(&c.extension);
        Ok(Need {
            id: self.item_id(&c.identifier, what)?,
            kind,
            coded_value,
            free_text,
            fhir_reference: None,
            comments: comments(&c.note),
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn goal_status(cc: Option<&t::CodeableConcept>, what: &str) -> Result<Option<GoalStatus>> {
        let Some(cc) = cc else { return Ok(None) };
        let system = vocab::code_system(system::GOAL_STATUS);
        let state = cc
            .coding
            .first()
            .filter(|c| uri(&c.system) == Some(system.as_str()))
            .and_then(|c| code(&c.code))
            .and_then(vocab::goal_state_from_code)
            .ok_or_else(|| anyhow!("{what}.achievementStatus: the first coding is not a code of {system}"))?;
        let (coded_value, free_text) = coded_text(Some(cc), 1);
        Ok(Some(GoalStatus { state, coded_value, free_text }))
    }

    fn goal(&self, g: &r::Goal, what: &str) -> Result<Goal> {
        let (coded_value, free_text) = coded_text(Some(&g.description), 0);
        let (archived, archived_at, archived_reason) = archive(&g.extension);
        let need_ids = each(&g.addresses, &format!("{what}.addresses"), |r, what| self.referenced_item_id(r, what))?;
        let stage_goals = find_all(&g.extension, vocab::GOAL_RELATIONSHIP)
            .filter(|e| {
                matches!(sub(e, "type").and_then(|t| t.value.as_ref()),
                    Some(t::ExtensionValue::CodeableConcept(cc)) if has_code(cc, vocab::GOAL_RELATIONSHIP_TYPE, "milestone"))
            })
            .enumerate()
            .map(|(i, e)| {
                let what = format!("{what}.extension:goal-relationship[{i}]");
                let target = value_reference(sub(e, "target"))
                    .ok_or_else(|| anyhow!("{what}: no target"))?;
                self.stage_goal(resolve_as!(self, target, Goal, what)?, &what)
            })
            .collect::<Result<Vec<_>>>()?;
        let outcomes = each(&g.outcome_reference, &format!("{what}.outcomeReference"), |r, what| {
            self.outcome(resolve_as!(self, r, Observation, what)?, what)
        })?;
        Ok(Goal {
            id: self.item_id(&g.identifier, what)?,
            need_ids,
            coded_value,
            free_text,
            why_it_matters: value_string(find_ext(&g.extension, ext::WHY_IT_MATTERS)),
            goal_importance_score: value_score(find_ext(&g.extension, ext::IMPORTANCE)),
            goal_status: Self::goal_status(g.achievement_status.as_deref(), what)?,
            stage_goals,
            outcomes,
            comments: comments(&g.note),
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn stage_goal(&self, g: &r::Goal, what: &str) -> Result<StageGoal> {
        let (coded_value, free_text) = coded_text(Some(&g.description), 0);
        let (archived, archived_at, archived_reason) = archive(&g.extension);
        Ok(StageGoal {
            id: self.item_id(&g.identifier, what)?,
            coded_value,
            free_text,
            goal_status: Self::goal_status(g.achievement_status.as_deref(), what)?,
            outcome: g.outcome_code.first().map(|cc| {
                let (coded_value, free_text) = coded_text(Some(cc), 0);
                StageOutcome { coded_value, free_text }
            }),
            comments: comments(&g.note),
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn outcome(&self, o: &r::Observation, what: &str) -> Result<Outcome> {
        let (coded_value, free_text) = match &o.value {
            Some(r::ObservationValue::CodeableConcept(cc)) => coded_text(Some(cc), 0),
            _ => (None, None),
        };
        let (archived, archived_at, archived_reason) = archive(&o.extension);
        Ok(Outcome {
            id: self.item_id(&o.identifier, what)?,
            coded_value,
            free_text,
            date_recorded: match &o.effective {
                Some(r::ObservationEffective::DateTime(d)) => d.value.clone(),
                _ => None,
            },
            comments: comments(&o.note),
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn action(&self, a: &r::CarePlanActivity, what: &str) -> Result<Action> {
        let detail = a
            .detail
            .as_ref()
            .ok_or_else(|| anyhow!("{what}.detail: missing; PRSB actions are activity details"))?;
        let (coded_value, free_text) = coded_text(detail.code.as_deref(), 0);
        let goal_ids = each(&detail.goal, &format!("{what}.detail.goal"), |r, what| self.referenced_item_id(r, what))?;
        let who = self.contained(detail.performer.first()).map(|team| {
            let (name, role, team_name, contact_details) = person_in_role(team);
            Who { name, role, team: team_name, contact_details }
        });
        let when = match &detail.scheduled {
            Some(r::CarePlanActivityDetailScheduled::Timing(timing)) => {
                let period = match timing.repeat.as_ref().and_then(|r| r.bounds.as_ref()) {
                    Some(t::TimingRepeatBounds::Period(p)) => Some(p),
                    _ => None,
                };
                let repeat = timing.repeat.as_ref();
                let days_of_week = repeat
                    .map(|r| r.day_of_week.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let day = d.value.as_deref().unwrap_or_default();
                        DayOfWeek::from_code(day).ok_or_else(|| anyhow!("{what}.detail.scheduledTiming.repeat.dayOfWeek[{i}]: `{day}` is not a day of the week"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                // The format's times are to the minute: a FHIR time is hh:mm:ss.
                let times_of_day = repeat
                    .map(|r| r.time_of_day.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|at| at.value.as_deref())
                    .map(|at| at.get(..5).unwrap_or(at).to_owned())
                    .collect();
                Some(When {
                    start: period.and_then(|p| date_time(&p.start)),
                    end: period.and_then(|p| date_time(&p.end)),
                    description: timing.code.as_ref().and_then(|c| string(&c.text)),
                    days_of_week,
                    times_of_day,
                })
            }
            _ => None,
        };
        let status = match detail.status_reason.as_deref() {
            None => None,
            Some(cc) => {
                let system = vocab::code_system(system::ACTION_STATUS);
                let state = cc
                    .coding
                    .first()
                    .filter(|c| uri(&c.system) == Some(system.as_str()))
                    .and_then(|c| code(&c.code))
                    .and_then(vocab::action_state_from_code)
                    .ok_or_else(|| anyhow!("{what}.detail.statusReason: the first coding is not a code of {system}"))?;
                let (coded_value, free_text) = coded_text(Some(cc), 1);
                Some(ActionStatus { state, coded_value, free_text })
            }
        };
        let (archived, archived_at, archived_reason) = archive(&a.extension);
        let strategy_url = vocab::structure_definition(ext::STRATEGY);
        Ok(Action {
            id: a.id.clone().ok_or_else(|| anyhow!("{what}.id: missing; it carries the action's id"))?,
            goal_ids,
            what: What { coded_value, free_text },
            who,
            when,
            suggested_strategies: find_all(&a.extension, &strategy_url)
                .filter_map(|e| value_string(Some(e)))
                .collect(),
            status,
            confidence: value_score(find_ext(&a.extension, ext::CONFIDENCE)),
            date_last_updated: value_string(find_ext(&a.extension, ext::LAST_UPDATED)),
            review_date: value_string(find_ext(&a.extension, ext::REVIEW_DATE)),
            suggested_changes: find_all(&a.extension, &vocab::structure_definition(ext::SUGGESTED_CHANGE))
                .map(suggested_change)
                .collect(),
            comments: comments(&a.progress),
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn attachment(&self, d: &r::DocumentReference, what: &str) -> Result<Attachment> {
        let kind = match item_kind(&d.category).and_then(vocab::attachment_kind_from_code) {
            Some(kind) => kind,
            None => bail!("{what}.category: no attachment kind (image, audio, video, document, link)"),
        };
        let attachment = d.content.first().map(|c| &*c.attachment);
        let related = d.context.as_ref().map(|c| c.related.as_slice()).unwrap_or_default();
        let item_ids = each(related, &format!("{what}.context.related"), |r, what| self.referenced_item_id(r, what))?;
        let (archived, archived_at, archived_reason) = archive(&d.extension);
        Ok(Attachment {
            id: self.item_id(&d.identifier, what)?,
            date_time: d.date.as_ref().and_then(|i| i.value.clone()).unwrap_or_default(),
            kind,
            title: attachment.and_then(|a| string(&a.title)).unwrap_or_default(),
            url: attachment.and_then(|a| a.url.as_ref()).and_then(|u| u.value.clone()),
            data: attachment.and_then(|a| a.data.as_ref()).and_then(|u| u.value.clone()),
            content_type: attachment.and_then(|a| code(&a.content_type)).map(str::to_owned),
            class: d.r#type.as_ref().and_then(|t| string(&t.text)),
            note: string(&d.description),
            item_ids,
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn other_document(&self, d: &r::DocumentReference, what: &str) -> Result<OtherCarePlanningDocument> {
        let attachment = d.content.first().map(|c| &*c.attachment);
        let (archived, archived_at, archived_reason) = archive(&d.extension);
        Ok(OtherCarePlanningDocument {
            id: self.item_id(&d.identifier, what)?,
            title: attachment.and_then(|a| string(&a.title)).unwrap_or_default(),
            document_type: d.r#type.as_ref().and_then(|t| string(&t.text)),
            location: value_string(find_ext(&d.extension, ext::DOCUMENT_LOCATION)),
            date: attachment.and_then(|a| date_time(&a.creation)),
            archived,
            archived_at,
            archived_reason,
        })
    }

    fn location_ext(&self, extensions: &[t::Extension], what: &str) -> Result<Option<Location>> {
        let Some(reference) = value_reference(find_ext(extensions, ext::LOCATION)) else {
            return Ok(None);
        };
        let on_reference = reference
            .identifier
            .as_deref()
            .filter(|i| uri(&i.system) == Some(vocab::ODS_SITE))
            .and_then(|i| string(&i.value));
        if reference.reference.is_none() || on_reference.is_some() {
            // The site as the plan recorded it, whether or not its Location
            // is among the resources (a person's own app stores no shared one).
            return Ok(Some(CodedOrText { coded_value: on_reference, free_text: string(&reference.display) }));
        }
        let location = resolve_as!(self, reference, Location, what)?;
        let site_code = location
            .identifier
            .iter()
            .find(|i| uri(&i.system) == Some(vocab::ODS_SITE))
            .and_then(|i| string(&i.value));
        // The plan's words are on its reference; a shared site's own name is
        // whatever plan or system named it first, not what this plan said.
        let free_text = match (string(&reference.display), &site_code) {
            (Some(words), _) => Some(words),
            (None, Some(_)) => None,
            (None, None) => string(&location.name),
        };
        Ok(Some(CodedOrText { coded_value: site_code, free_text }))
    }

    /// The PractitionerRole (and its Practitioner) a reference points to, as PRSB's professional fields.
    fn professional(&self, reference: &t::Reference, what: &str) -> Result<ProfessionalFields> {
        let role = resolve_as!(self, reference, PractitionerRole, what)?;
        let professional_system = vocab::identifier_system(id::PROFESSIONAL);
        let plan_item_system = vocab::identifier_system(id::PLAN_ITEM);
        // A Practitioner the plan recorded carries one of our identifiers;
        // any other (or one not among the resources) is one it linked.
        let recorded = |p: &r::Practitioner| {
            p.identifier.iter().any(|i| matches!(uri(&i.system), Some(s) if s == professional_system || s == plan_item_system))
        };
        let practitioner = match &role.practitioner {
            Some(p) => match self.index.resolve(p) {
                Some(Resource::Practitioner(found)) if recorded(found) => Some(&**found),
                Some(Resource::Practitioner(_)) | None if string(&p.display).is_some() => {
                    return Ok(ProfessionalFields {
                        name: string(&p.display).unwrap_or_default(),
                        role: role.code.first().map(self::role),
                        grade: None,
                        speciality: speciality(role),
                        identifier: None,
                        organisation: role.organization.as_ref().and_then(|o| string(&o.display)),
                        contact: None,
                        existing: string(&p.reference),
                    });
                }
                _ => Some(resolve_as!(self, p, Practitioner, format!("{what} PractitionerRole.practitioner"))?),
            },
            None => None,
        };
        Ok(ProfessionalFields {
            name: practitioner
                .and_then(|p| p.name.first())
                .and_then(name_text)
                .unwrap_or_default(),
            role: role.code.first().map(self::role),
            grade: practitioner
                .and_then(|p| p.qualification.first())
                .and_then(|q| string(&q.code.text)),
            speciality: speciality(role),
            identifier: practitioner.and_then(|p| {
                p.identifier
                    .iter()
                    .find(|i| uri(&i.system) == Some(professional_system.as_str()))
                    .and_then(|i| string(&i.value))
            }),
            organisation: role.organization.as_ref().and_then(|o| string(&o.display)),
            contact: practitioner
                .and_then(|p| p.telecom.first())
                .and_then(|c| string(&c.value)),
            existing: None,
        })
    }

    /// The performing professional and person completing record of a record,
    /// from the last Provenance that targets it.
    fn provenance_of(
        &self,
        target: &Resource,
    ) -> Result<(Option<PerformingProfessional>, Option<PersonCompletingRecord>)> {
        let provenance = self.index.all.iter().rev().find_map(|(_, r)| match r {
            Resource::Provenance(p)
                if p.target.iter().any(|t| {
                    self.index.resolve(t).is_some_and(|x| std::ptr::eq(x, target))
                }) =>
            {
                Some(&**p)
            }
            _ => None,
        });
        let Some(provenance) = provenance else {
            return Ok((None, None));
        };
        let mut performing = None;
        let mut completing = None;
        for (i, agent) in provenance.agent.iter().enumerate() {
            let what = format!("Provenance.agent[{i}].who");
            let kind = agent
                .r#type
                .as_ref()
                .and_then(|t| t.coding.first())
                .and_then(|c| code(&c.code));
            match kind {
                Some("author") => {
                    let p = self.professional(&agent.who, &what)?;
                    performing = Some(p.into());
                }
                Some("enterer") => {
                    let p = self.professional(&agent.who, &what)?;
                    completing = Some(PersonCompletingRecord {
                        name: p.name,
                        role: p.role,
                        grade: p.grade,
                        specialty: p.speciality,
                        organisation: p.organisation,
                        professional_identifier: p.identifier,
                        date_completed: provenance.recorded.value.clone(),
                        contact_details: p.contact,
                        fhir_reference: p.existing,
                    });
                }
                _ => {}
            }
        }
        Ok((performing, completing))
    }

    fn agreement(&self, e: &t::Extension) -> Result<Agreement> {
        let what = "CarePlan.extension:plan-agreement";
        let agreed = match sub(e, "agreed").and_then(|x| x.value.as_ref()) {
            Some(t::ExtensionValue::Boolean(b)) => b.value.unwrap_or(false),
            _ => bail!("{what}.extension:agreed: missing; it says whether the plan was agreed"),
        };
        let agreed_by = match value_string(sub(e, "agreedBy")).as_deref() {
            Some("person") => Some(AgreedBy::Person),
            Some("legitimate-representative") => Some(AgreedBy::LegitimateRepresentative),
            _ => None,
        };
        let representative = match value_reference(sub(e, "agreedWith")) {
            Some(r) => Some(resolve_as!(self, r, RelatedPerson, format!("{what}.extension:agreedWith"))?),
            None => None,
        };
        // As for a strength's goals: no Reference, nothing the reader may see.
        let assessments: Vec<&t::Reference> = find_all(&e.extension, "mentalCapacityAssessment").filter_map(|x| value_reference(Some(x))).collect();
        let mental_capacity_assessments = each(&assessments, &format!("{what}.extension:mentalCapacityAssessment"), |r, what| {
            self.capacity_assessment(resolve_as!(self, r, Observation, what)?)
        })?;
        let best_interest_decision = sub(e, "bestInterestDecision").map(|d| BestInterestDecision {
            date: value_string(sub(d, "date")).unwrap_or_default(),
            decision: value_string(sub(d, "decision")).unwrap_or_default(),
            decision_maker: value_string(sub(d, "decisionMaker")).unwrap_or_default(),
            people_consulted: find_all(&d.extension, "consulted")
                .filter_map(|c| value_string(Some(c)))
                .collect(),
        });
        Ok(Agreement {
            agreed,
            agreed_by,
            person_full_name: representative
                .and_then(|p| p.name.first())
                .and_then(name_text),
            role: representative.and_then(|p| p.relationship.first()).map(role),
            date_agreed: value_string(sub(e, "date")),
            reason_not_obtained: value_string(sub(e, "reasonNotObtained")),
            mental_capacity_assessments,
            best_interest_decision,
        })
    }

    fn capacity_assessment(&self, o: &r::Observation) -> Result<MentalCapacityAssessment> {
        let what = "Observation (mental capacity assessment)";
        let performing_professional = match o.performer.first() {
            Some(r) => {
                let p = self.professional(r, &format!("{what}.performer"))?;
                Some(p.into())
            }
            None => None,
        };
        let system = vocab::code_system(system::ITEM_KIND);
        let component = |kind: &str| o.component.iter().find(|c| has_code(&c.code, &system, kind)).and_then(|c| c.value.as_ref());
        let text = |kind: &str| match component(kind) {
            Some(r::ObservationComponentValue::String(s)) => s.value.clone(),
            _ => None,
        };
        let assessment = match &o.value {
            Some(r::ObservationValue::String(s)) => s.value.clone().unwrap_or_default(),
            _ => String::new(),
        };
        Ok(MentalCapacityAssessment {
            date: match &o.effective {
                Some(r::ObservationEffective::DateTime(d)) => d.value.clone().unwrap_or_default(),
                _ => String::new(),
            },
            location: self.location_ext(&o.extension, &format!("{what}.extension:location"))?,
            // An assessment recorded before the format named its decision
            // (no capacity-decision component) said it in its words.
            decision: text("capacity-decision").unwrap_or_else(|| assessment.clone()),
            mental_capacity_assessment: assessment,
            has_capacity: match component("has-capacity") {
                Some(r::ObservationComponentValue::Boolean(b)) => b.value,
                _ => None,
            },
            actions_to_maximise_capacity: text("actions-to-maximise-capacity"),
            location_of_document: value_string(find_ext(&o.extension, ext::DOCUMENT_LOCATION)),
            performing_professional,
        })
    }

    fn consent(&self) -> Result<Option<ConsentForInformationSharing>> {
        let system = vocab::code_system(system::ITEM_KIND);
        let patient_urls: Vec<String> = {
            let subject = string(&self.care_plan.subject.reference).unwrap_or_default();
            vec![subject]
        };
        let found = self.index.all.iter().find_map(|(_, r)| match r {
            Resource::Consent(c)
                if c.policy_rule.as_deref().is_some_and(|p| has_code(p, &system, "information-sharing"))
                    && c.patient.as_ref().and_then(|p| string(&p.reference)).is_some_and(|p| patient_urls.contains(&p)) =>
            {
                Some((r, &**c))
            }
            _ => None,
        });
        let Some((resource, consent)) = found else { return Ok(None) };
        let (performing_professional, person_completing_record) = self.provenance_of(resource)?;
        Ok(Some(ConsentForInformationSharing {
            date: date_time(&consent.date_time),
            location: self.location_ext(&consent.extension, "Consent.extension:location")?,
            consent: consent
                .policy_rule
                .as_ref()
                .and_then(|p| string(&p.text))
                .unwrap_or_default(),
            reason_for_consent_not_given: value_string(find_ext(&consent.extension, ext::CONSENT_REFUSAL_REASON)),
            performing_professional,
            person_completing_record,
            shared_with: self.shared_with(consent)?,
        }))
    }

    /// Who the consent lets see the plan as an information recipient: one
    /// permit provision each (the Practitioner and its role, or one existing resource).
    fn shared_with(&self, consent: &r::Consent) -> Result<Vec<SharedWith>> {
        let nested = consent.provision.as_ref().map(|p| p.provision.as_slice()).unwrap_or_default();
        // The recipients are those of the provisions the plan made; one
        // written through FHIR (a permit limited to treatment, say) says
        // more than the format can, and is the Consent's alone. A consent
        // from before provisions were named is read whole.
        // Only permits share: a deny naming a recipient is a rule the
        // format cannot say (and a copy of a plan-made permit the person's own).
        fn kind(p: &r::ConsentProvision) -> Option<&str> {
            p.r#type.as_ref().and_then(|t| t.value.as_deref())
        }
        let plan_made = vocab::plan_provisions(nested.iter().map(|p| (p.id.as_deref(), kind(p))));
        let any_named = nested.iter().any(|p| p.id.as_deref().is_some_and(|id| id.starts_with("prsb-")));
        let shares = |i: usize| match any_named {
            true => plan_made[i] && nested[i].id.as_deref().is_some_and(|id| id.starts_with(vocab::PLAN_PROVISION_SHARED)),
            false => kind(&nested[i]) == Some("permit"),
        };
        let mut out = Vec::new();
        for (i, provision) in nested.iter().enumerate().filter(|(i, _)| shares(*i)) {
            let recipients: Vec<&r::ConsentProvisionActor> = provision
                .actor
                .iter()
                .filter(|a| has_code(&a.role, vocab::PARTICIPATION_TYPE, vocab::INFORMATION_RECIPIENT))
                .collect();
            let Some(first) = recipients.first() else { continue };
            let what = format!("Consent.provision.provision[{i}].actor");
            // The mapper names a professional twice (Practitioner and role); an existing resource once.
            let role = recipients
                .iter()
                .filter(|_| recipients.len() > 1)
                .find(|a| matches!(self.index.resolve(&a.reference), Some(Resource::PractitionerRole(_))));
            let shared = match role {
                Some(a) => {
                    let p = self.professional(&a.reference, &what)?;
                    SharedWith { name: p.name, role: p.role, organisation: p.organisation, professional_identifier: p.identifier, fhir_reference: None }
                }
                None => SharedWith {
                    name: string(&first.reference.display).unwrap_or_default(),
                    role: None,
                    organisation: None,
                    professional_identifier: None,
                    fhir_reference: string(&first.reference.reference),
                },
            };
            out.push(shared);
        }
        Ok(out)
    }
}

/// An attorney or deputy of the person from their RelatedPerson.
fn attorney(p: &r::RelatedPerson, what: &str) -> Result<LastingPowerOfAttorney> {
    let system = vocab::code_system(system::ATTORNEY_KIND);
    let kind = p
        .relationship
        .iter()
        .flat_map(|r| &r.coding)
        .find(|c| uri(&c.system) == Some(system.as_str()))
        .and_then(|c| code(&c.code))
        .and_then(vocab::attorney_kind_from_code)
        .ok_or_else(|| anyhow!("{what}.relationship: no code of {system} says which power the attorney or deputy holds"))?;
    let registration = vocab::identifier_system(id::OPG_REGISTRATION);
    Ok(LastingPowerOfAttorney {
        kind,
        name: p.name.first().and_then(name_text).unwrap_or_default(),
        contact_details: p.telecom.first().and_then(|c| string(&c.value)),
        registration_reference: p
            .identifier
            .iter()
            .find(|i| uri(&i.system) == Some(registration.as_str()))
            .and_then(|i| string(&i.value)),
        registration_date: p.period.as_ref().and_then(|period| date_time(&period.start)),
        location_of_document: value_string(find_ext(&p.extension, ext::DOCUMENT_LOCATION)),
    })
}

/// A suggested change to an action from its `action-suggested-change` extension.
fn suggested_change(e: &t::Extension) -> SuggestedChange {
    SuggestedChange {
        author: value_string(sub(e, "author")).unwrap_or_default(),
        author_role: match sub(e, "authorRole").and_then(|x| x.value.as_ref()) {
            Some(t::ExtensionValue::CodeableConcept(cc)) => Some(role(cc)),
            _ => None,
        },
        date_time: value_string(sub(e, "date")).unwrap_or_default(),
        text: value_string(sub(e, "text")).unwrap_or_default(),
    }
}

/// PRSB's professional fields, shared by performing professional and person completing record.
struct ProfessionalFields {
    name: String,
    role: Option<Role>,
    grade: Option<String>,
    speciality: Option<String>,
    identifier: Option<String>,
    organisation: Option<String>,
    contact: Option<String>,
    /// The Practitioner the plan linked rather than recorded.
    existing: Option<String>,
}

/// A PractitionerRole's speciality code.
fn speciality(role: &r::PractitionerRole) -> Option<String> {
    role.specialty.first().and_then(|s| s.coding.first()).and_then(|c| code(&c.code)).map(str::to_owned)
}

impl From<ProfessionalFields> for PerformingProfessional {
    fn from(p: ProfessionalFields) -> Self {
        PerformingProfessional {
            name: p.name,
            role: p.role,
            grade: p.grade,
            speciality: p.speciality,
            professional_identifier: p.identifier,
            organisation: p.organisation,
            contact_details: p.contact,
            fhir_reference: p.existing,
        }
    }
}

/// Name, role, team and contact details from a contained CareTeam.
fn person_in_role(team: &r::CareTeam) -> (Option<String>, Option<Role>, Option<String>, Option<String>) {
    let participant = team.participant.first();
    (
        participant
            .and_then(|p| p.member.as_ref())
            .and_then(|m| string(&m.display)),
        participant.and_then(|p| p.role.first()).map(role),
        string(&team.name),
        team.telecom.first().and_then(|c| string(&c.value)),
    )
}
