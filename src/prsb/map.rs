//! PRSB plan → FHIR R4 transaction Bundle, built from fhirbolt's typed
//! resources. Where each item goes, and why: docs/mapping.md.

use fhirbolt::model::r4::resources as r;
use fhirbolt::model::r4::types as t;
use fhirbolt::model::r4::Resource;

use super::model::*;
use super::vocab::{self, ext, id, profile, system};

/// Maps a plan (already read and checked with [`super::read`]) to a
/// `transaction` Bundle of conditional updates.
pub fn map(plan: &CarePlan) -> r::Bundle {
    let mut b = Builder::new(plan);
    b.plan();
    r::Bundle {
        meta: meta(profile::PLAN_BUNDLE),
        r#type: "transaction".into(),
        entry: b.entries,
        ..Default::default()
    }
}

/// The Bundle as pretty-printed FHIR JSON.
pub fn to_json(bundle: &r::Bundle) -> anyhow::Result<String> {
    let resource = Resource::Bundle(Box::new(bundle.clone()));
    let mut text = fhirbolt::json::to_string_pretty(&resource, None)
        .map_err(|e| anyhow::anyhow!("could not write the Bundle as JSON: {e}"))?;
    text.push('\n');
    Ok(text)
}

/// The `urn:uuid:` of a plan item: a name-based UUID, so the same plan always maps to the same Bundle.
pub fn item_full_url(plan_id: &str, key: &str) -> String {
    let name = format!("{}/{plan_id}/{key}", vocab::identifier_system(id::PLAN_ITEM));
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
    )
}

/// Keys of the resources that are not PRSB items with an id of their own.
/// `@` cannot start a PRSB id, so these never collide with one.
pub(crate) mod key {
    pub const PLAN: &str = "@plan";
    pub const PERSON: &str = "@person";
    pub const REPRESENTATIVE: &str = "@agreed-with";
    pub const CAPACITY: &str = "@mental-capacity-assessment";
    pub const FUNDING: &str = "@care-funding-source";
    pub const CONSENT: &str = "@consent";
    pub const PLAN_PROVENANCE: &str = "@plan-provenance";
    pub const CONSENT_PROVENANCE: &str = "@consent-provenance";
    pub const REVIEW_RESPONSIBILITY: &str = "review-responsibility";
    /// The `n`th (from 0) of the agreement's mental capacity assessments: the
    /// first keeps the key of the single assessment the format had before, so
    /// a plan written then updates the same Observation.
    pub fn capacity(n: usize) -> String {
        numbered(CAPACITY, n)
    }
    /// The `n`th (from 0) attorney or deputy of the person.
    pub fn attorney(n: usize) -> String {
        format!("@lasting-power-of-attorney-{}", n + 1)
    }
    fn numbered(first: &str, n: usize) -> String {
        if n == 0 {
            first.to_owned()
        } else {
            format!("{first}-{}", n + 1)
        }
    }
    /// Contained CareTeam of an action's "who".
    pub fn who(action: &str) -> String {
        format!("who-{action}")
    }
    /// A professional recorded without an identifier: one Practitioner per
    /// distinct person in the plan, whichever items name them.
    pub fn professional(identity: &str) -> String {
        format!("@professional-{}", super::digest(identity))
    }
    /// A site found by its ODS site code.
    pub fn site(code: &str) -> String {
        format!("@site-{}", super::digest(code))
    }
    /// An organisation found by its ODS code.
    pub fn organisation(code: &str) -> String {
        format!("@organisation-{}", super::digest(code))
    }
    /// A professional's PractitionerRole in this plan (one per role and organisation).
    pub fn role(identity: &str) -> String {
        format!("@role-{}", super::digest(identity))
    }
}

/// A short stable name for a text (the first 12 hex digits of its name-based UUID).
fn digest(text: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, text.as_bytes()).simple().to_string()[..12].to_owned()
}

/// `system|value` for a search URL: each part escaped as FHIR search
/// escapes (`\`, `,`, `|`, `$`, so a value is never read as search syntax),
/// then percent-encoded.
pub fn token_query(system: &str, value: &str) -> String {
    let escape = |t: &str| t.replace('\\', "\\\\").replace(',', "\\,").replace('|', "\\|").replace('$', "\\$");
    let enc = |t: &str| url::form_urlencoded::byte_serialize(escape(t).as_bytes()).collect::<String>();
    format!("{}|{}", enc(system), enc(value))
}

// ---------------------------------------------------------------- small builders

fn s(text: &str) -> t::String {
    text.into()
}

fn opt_s(text: &Option<String>) -> Option<t::String> {
    text.as_deref().map(s)
}

fn coding(system: &str, code: &str, display: Option<&str>) -> t::Coding {
    t::Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.map(s),
        ..Default::default()
    }
}

fn prsb_coding(c: &Coding) -> t::Coding {
    coding(
        c.system.as_deref().unwrap_or(vocab::SNOMED),
        &c.code,
        c.display.as_deref(),
    )
}

fn concept(codings: Vec<t::Coding>, text: Option<&str>) -> t::CodeableConcept {
    t::CodeableConcept {
        coding: codings,
        text: text.map(s),
        ..Default::default()
    }
}

/// PRSB "coded value" + "free text" as one CodeableConcept.
fn coded_text(coded: &Option<Coding>, free: &Option<String>) -> t::CodeableConcept {
    concept(coded.iter().map(prsb_coding).collect(), free.as_deref())
}

fn kind_concept(code: &str) -> t::CodeableConcept {
    concept(
        vec![coding(&vocab::code_system(system::ITEM_KIND), code, None)],
        None,
    )
}

fn role_concept(role: &Role) -> t::CodeableConcept {
    let codings = role
        .code
        .iter()
        .map(|c| coding(vocab::SDS_JOB_ROLE, c, None))
        .collect();
    concept(codings, Some(&role.text))
}

fn other_contact(value: &str) -> t::ContactPoint {
    t::ContactPoint {
        system: Some(vocab::CONTACT_POINT_SYSTEM_OTHER.into()),
        value: Some(s(value)),
        ..Default::default()
    }
}

/// Titles that open a name: they become `prefix`, not a given name.
const TITLES: &[&str] = &["Dr", "Mr", "Mrs", "Ms", "Miss", "Mx", "Prof", "Professor", "Sir", "Dame", "Rev", "Revd", "Lady", "Lord"];

/// A name as written, with its parts for systems that search or sort by
/// them: titles first, the last word the family name, the rest given names
/// (the text stays what the plan said).
fn name(text: &str) -> t::HumanName {
    let words: Vec<&str> = text.split_whitespace().collect();
    let titles = words.iter().take_while(|w| TITLES.contains(&w.trim_end_matches('.'))).count();
    let rest = &words[titles.min(words.len())..];
    let (family, given) = match rest.split_last() {
        Some((family, given)) if !given.is_empty() || titles > 0 => (Some(*family), given),
        _ => (None, &[][..]),
    };
    t::HumanName {
        text: Some(s(text)),
        family: family.map(s),
        given: given.iter().map(|g| s(g)).collect(),
        prefix: words[..titles.min(words.len())].iter().map(|p| s(p)).collect(),
        ..Default::default()
    }
}

fn reference(to: &str) -> t::Reference {
    t::Reference {
        reference: Some(s(to)),
        ..Default::default()
    }
}

fn extension(url: String, value: t::ExtensionValue) -> t::Extension {
    t::Extension {
        url,
        value: Some(value),
        ..Default::default()
    }
}

fn ours(id: &str, value: t::ExtensionValue) -> t::Extension {
    extension(vocab::structure_definition(id), value)
}

fn sub(name: &str, value: t::ExtensionValue) -> t::Extension {
    extension(name.to_owned(), value)
}

fn complex(url: String, parts: Vec<t::Extension>) -> t::Extension {
    t::Extension {
        url,
        extension: parts,
        ..Default::default()
    }
}

fn string_value(text: &str) -> t::ExtensionValue {
    t::ExtensionValue::String(s(text))
}

fn date_time_value(text: &str) -> t::ExtensionValue {
    t::ExtensionValue::DateTime(text.into())
}

fn reference_value(to: &str) -> t::ExtensionValue {
    t::ExtensionValue::Reference(Box::new(reference(to)))
}

fn meta(profile_id: &str) -> Option<Box<t::Meta>> {
    Some(Box::new(t::Meta {
        profile: vec![vocab::structure_definition(profile_id).into()],
        ..Default::default()
    }))
}

/// A generated narrative: one line saying what the resource is, so a reader
/// without our profiles still sees it (and R4's dom-6 is met).
fn narrative(summary: &str) -> Option<Box<t::Narrative>> {
    let escaped = summary.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    Some(Box::new(t::Narrative {
        status: "generated".into(),
        div: format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{escaped}</p></div>").into(),
        ..Default::default()
    }))
}

/// A coded value and free text in words: the text, else the display, else the code.
fn words(coded: &Option<Coding>, free: &Option<String>) -> String {
    free.clone()
        .or_else(|| coded.as_ref().map(|c| c.display.clone().unwrap_or_else(|| c.code.clone())))
        .unwrap_or_default()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn summary_of_team(person: Option<&str>, role: &Option<Role>, team: &Option<String>) -> String {
    let parts: Vec<&str> = [person, role.as_ref().map(|r| r.text.as_str()), team.as_deref()].into_iter().flatten().collect();
    if parts.is_empty() {
        "Who: not recorded".to_owned()
    } else {
        format!("Who: {}", parts.join(", "))
    }
}

/// Patient and Location have no profile of ours: they name UK Core's.
fn uk_core_meta(profile_id: &str) -> Option<Box<t::Meta>> {
    Some(Box::new(t::Meta {
        profile: vec![format!("{}/{profile_id}", vocab::UK_CORE_PROFILES).into()],
        ..Default::default()
    }))
}

/// The `archived` extension of an item, when it is archived.
fn archive_extension(item: &dyn Archivable) -> Option<t::Extension> {
    let (archived, at, reason) = item.archive();
    if !archived {
        return None;
    }
    // An extension must have a value or parts (ext-1), and `at` and `reason`
    // are optional, hence the always-true `archived` part.
    let mut parts = vec![sub("archived", t::ExtensionValue::Boolean(true.into()))];
    if let Some(at) = at {
        parts.push(sub("at", date_time_value(at)));
    }
    if let Some(reason) = reason {
        parts.push(sub("reason", string_value(reason)));
    }
    Some(complex(vocab::structure_definition(ext::ARCHIVED), parts))
}

fn annotation(c: &Comment) -> t::Annotation {
    let mut extension: Vec<t::Extension> = Vec::new();
    if let Some(role) = &c.author_role {
        extension.push(ours(
            ext::COMMENT_AUTHOR_ROLE,
            t::ExtensionValue::CodeableConcept(Box::new(role_concept(role))),
        ));
    }
    extension.extend(archive_extension(c));
    t::Annotation {
        id: Some(c.id.clone()),
        extension,
        author: Some(t::AnnotationAuthor::String(s(&c.author))),
        time: Some(c.date_time.as_str().into()),
        text: c.text.as_str().into(),
    }
}

/// A suggested change to an action: the `action-suggested-change` extension.
fn suggested_change(c: &SuggestedChange) -> t::Extension {
    let mut parts = vec![sub("text", string_value(&c.text)), sub("author", string_value(&c.author))];
    if let Some(role) = &c.author_role {
        parts.push(sub("authorRole", t::ExtensionValue::CodeableConcept(Box::new(role_concept(role)))));
    }
    parts.push(sub("date", date_time_value(&c.date_time)));
    complex(vocab::structure_definition(ext::SUGGESTED_CHANGE), parts)
}

fn notes(comments: &[Comment]) -> Vec<t::Annotation> {
    comments.iter().map(annotation).collect()
}

/// A professional as PRSB records one (performing professional, person completing record).
struct Professional<'a> {
    name: &'a str,
    role: &'a Option<Role>,
    grade: &'a Option<String>,
    speciality: &'a Option<String>,
    identifier: &'a Option<String>,
    organisation: &'a Option<String>,
    contact: &'a Option<String>,
    /// An existing Practitioner who is this professional.
    existing: &'a Option<String>,
}

impl Professional<'_> {
    /// Who the professional is: their identifier when given, else everything
    /// the Practitioner records of them (so that two different people who
    /// share a name never become one).
    fn person_identity(&self) -> String {
        match (self.existing, self.identifier) {
            (Some(reference), _) => format!("reference|{reference}"),
            (None, Some(id)) => format!("id|{id}"),
            (None, None) => format!("name|{}|{:?}|{:?}", self.name, self.grade, self.contact),
        }
    }

    /// The professional in one role, for one organisation.
    fn role_identity(&self) -> String {
        format!("{}|{:?}|{:?}|{:?}|{}", self.person_identity(), self.role.as_ref().map(|r| (&r.code, &r.text)), self.organisation, self.speciality, self.name)
    }
}

impl<'a> From<&'a SharedWith> for Professional<'a> {
    fn from(p: &'a SharedWith) -> Self {
        Professional {
            name: &p.name,
            role: &p.role,
            grade: &None,
            speciality: &None,
            identifier: &p.professional_identifier,
            organisation: &p.organisation,
            contact: &None,
            existing: &None,
        }
    }
}

impl<'a> From<&'a PerformingProfessional> for Professional<'a> {
    fn from(p: &'a PerformingProfessional) -> Self {
        Professional {
            name: &p.name,
            role: &p.role,
            grade: &p.grade,
            speciality: &p.speciality,
            identifier: &p.professional_identifier,
            organisation: &p.organisation,
            contact: &p.contact_details,
            existing: &p.fhir_reference,
        }
    }
}

impl<'a> From<&'a PersonCompletingRecord> for Professional<'a> {
    fn from(p: &'a PersonCompletingRecord) -> Self {
        Professional {
            name: &p.name,
            role: &p.role,
            grade: &p.grade,
            speciality: &p.specialty,
            identifier: &p.professional_identifier,
            organisation: &p.organisation,
            contact: &p.contact_details,
            existing: &p.fhir_reference,
        }
    }
}

/// A person in a role (an action's "who", responsibility for review) as a contained CareTeam.
fn care_team(
    id: String,
    person: Option<&str>,
    role: &Option<Role>,
    team: &Option<String>,
    contact: &Option<String>,
) -> Resource {
    let participant = if person.is_some() || role.is_some() {
        vec![r::CareTeamParticipant {
            role: role.iter().map(role_concept).collect(),
            member: person.map(|p| {
                Box::new(t::Reference {
                    display: Some(s(p)),
                    ..Default::default()
                })
            }),
            ..Default::default()
        }]
    } else {
        Vec::new()
    };
    Resource::CareTeam(Box::new(r::CareTeam {
        text: narrative(&summary_of_team(person, role, team)),
        id: Some(id.into()),
        name: opt_s(team),
        participant,
        telecom: contact.iter().map(|c| other_contact(c)).collect(),
        ..Default::default()
    }))
}

// ---------------------------------------------------------------- the builder

struct Builder<'p> {
    plan: &'p CarePlan,
    entries: Vec<r::BundleEntry>,
    patient: String,
    /// Role identity → (Practitioner fullUrl, PractitionerRole fullUrl), so a
    /// professional named in several places is one resource.
    professionals: std::collections::HashMap<String, (String, String)>,
    /// The Practitioners and PractitionerRoles of everyone who recorded part
    /// of the plan: the plan's consent always lets them see it.
    recorders: Vec<(String, String)>,
    /// `Type|system|value` → fullUrl of resources found by a national
    /// identifier (an organisation or site by ODS code), so one named twice
    /// in a plan is one entry.
    found_by_identifier: std::collections::HashMap<String, String>,
}

impl<'p> Builder<'p> {
    fn new(plan: &'p CarePlan) -> Self {
        Builder {
            plan,
            entries: Vec::new(),
            patient: item_full_url(&plan.id, key::PERSON),
            professionals: std::collections::HashMap::new(),
            recorders: Vec::new(),
            found_by_identifier: std::collections::HashMap::new(),
        }
    }

    fn url(&self, key: &str) -> String {
        item_full_url(&self.plan.id, key)
    }

    fn identifier(&self, key: &str) -> t::Identifier {
        t::Identifier {
            system: Some(vocab::identifier_system(id::PLAN_ITEM).into()),
            value: Some(s(&format!("{}/{key}", self.plan.id))),
            ..Default::default()
        }
    }

    fn patient_ref(&self) -> Box<t::Reference> {
        Box::new(reference(&self.patient))
    }

    fn entry(&mut self, key: &str, method: &str, url: String, resource: Resource) -> String {
        self.entry_if(key, method, url, None, resource)
    }

    fn entry_if(&mut self, key: &str, method: &str, url: String, if_none_exist: Option<String>, resource: Resource) -> String {
        let full_url = self.url(key);
        self.entries.push(r::BundleEntry {
            full_url: Some(full_url.as_str().into()),
            resource: Some(resource),
            request: Some(r::BundleEntryRequest {
                method: method.into(),
                url: url.into(),
                if_none_exist: if_none_exist.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        });
        full_url
    }

    /// Adds a resource that is shared beyond this plan and owned elsewhere
    /// (a person found by NHS number): created when none matches, never
    /// rewritten by a plan.
    fn create_unless_found(&mut self, key: &str, resource_type: &str, system: &str, value: &str, resource: Resource) -> String {
        let seen = format!("{resource_type}|{system}|{value}");
        if let Some(url) = self.found_by_identifier.get(&seen) {
            return url.clone();
        }
        let condition = format!("identifier={}", token_query(system, value));
        let url = self.entry_if(key, "POST", resource_type.to_owned(), Some(condition), resource);
        self.found_by_identifier.insert(seen, url.clone());
        url
    }

    /// Adds a resource as a conditional update on an identifier of its own
    /// (a professional's), shared by every plan that names it.
    fn put_by_identifier(&mut self, key: &str, resource_type: &str, system: &str, value: &str, resource: Resource) -> String {
        let query = format!("{resource_type}?identifier={}", token_query(system, value));
        self.entry(key, "PUT", query, resource)
    }

    /// Adds a resource as a conditional update on its plan-item identifier, so
    /// a later version of the plan updates the same resource.
    fn put(&mut self, key: &str, resource_type: &str, resource: Resource) -> String {
        let query = format!(
            "{resource_type}?identifier={}|{}/{key}",
            vocab::identifier_system(id::PLAN_ITEM),
            self.plan.id
        );
        self.entry(key, "PUT", query, resource)
    }

    /// Adds a resource that has no identifier to update by (R4's Provenance
    /// has none) under an id made from the plan and its key, so a later
    /// version of the plan updates the same record.
    fn put_by_id(&mut self, key: &str, resource_type: &str, resource: Resource) -> String {
        let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, self.identifier_value(key).as_bytes()).to_string();
        let resource = match resource {
            Resource::Provenance(mut p) => {
                p.id = Some(id.as_str().into());
                Resource::Provenance(p)
            }
            other => other,
        };
        self.entry(key, "PUT", format!("{resource_type}/{id}"), resource)
    }

    fn identifier_value(&self, key: &str) -> String {
        format!("{}/{}/{key}", vocab::identifier_system(id::PLAN_ITEM), self.plan.id)
    }

    fn plan(&mut self) {
        let plan = self.plan;
        self.patient();

        // The CarePlan's own lists hold what is still part of the plan; an
        // archived item is named in an `archived-item` extension instead,
        // with its place in its PRSB list, so a reader who knows nothing of
        // PRSB never takes it for a live one.
        let mut archived_items = Vec::new();
        let mut split = |items: Vec<(t::Reference, bool)>| -> Vec<t::Reference> {
            let mut active = Vec::new();
            for (position, (item, archived)) in items.into_iter().enumerate() {
                if archived {
                    archived_items.push(complex(
                        vocab::structure_definition(ext::ARCHIVED_ITEM),
                        vec![
                            sub("item", t::ExtensionValue::Reference(Box::new(item))),
                            sub("position", t::ExtensionValue::Integer((position as i32).into())),
                        ],
                    ));
                } else {
                    active.push(item);
                }
            }
            active
        };
        let needs: Vec<(t::Reference, bool)> = plan
            .needs
            .iter()
            .map(|n| {
                self.need(n);
                (self.need_reference(n), n.archived)
            })
            .collect();
        let referenced = |url: String, archived: bool| (reference(&url), archived);
        let strengths: Vec<_> = plan.strengths.iter().map(|st| referenced(self.strength(st), st.archived)).collect();
        let goals: Vec<_> = plan.goals.iter().map(|g| referenced(self.goal(g), g.archived)).collect();
        let attachments: Vec<_> = plan.attachments.iter().map(|a| referenced(self.attachment(a), a.archived)).collect();
        let documents: Vec<_> = plan
            .other_care_planning_documents
            .iter()
            .map(|d| referenced(self.other_document(d), d.archived))
            .collect();
        let attorneys: Vec<t::Reference> = plan
            .person
            .iter()
            .flat_map(|p| p.lasting_powers_of_attorney.iter())
            .enumerate()
            .map(|(n, lpa)| reference(&self.attorney(lpa, n)))
            .collect();
        let needs = split(needs);
        let strengths = split(strengths);
        let goals = split(goals);
        let attachments = split(attachments);
        let documents = split(documents);

        let mut contained = Vec::new();
        let mut extension = Vec::new();
        if let Some(date) = &plan.date_last_updated {
            extension.push(ours(ext::PLAN_LAST_UPDATED, date_time_value(date)));
        }
        if let Some(date) = &plan.planned_review_date {
            extension.push(ours(ext::REVIEW_DATE, date_time_value(date)));
        }
        if let Some(rr) = &plan.responsibility_for_review {
            contained.push(care_team(
                key::REVIEW_RESPONSIBILITY.to_owned(),
                rr.name.as_deref(),
                &rr.role,
                &None,
                &rr.contact_details,
            ));
            extension.push(ours(
                ext::REVIEW_RESPONSIBILITY,
                reference_value(&format!("#{}", key::REVIEW_RESPONSIBILITY)),
            ));
        }
        if let Some(agreement) = &plan.agreement {
            let agreement = self.agreement(agreement);
            extension.push(agreement);
        }
        if let Some(funding) = &plan.care_funding_source {
            let coverage = self.coverage(funding);
            extension.push(ours(ext::FUNDING_SOURCE, reference_value(&coverage)));
        }
        if let Some(location) = &plan.location {
            let location = self.location_extension(location);
            extension.push(location);
        }

        let activity = plan
            .actions
            .iter()
            .map(|a| {
                let (activity, who) = self.action(a);
                contained.extend(who);
                activity
            })
            .collect();

        extension.extend(archived_items);
        let care_plan = r::CarePlan {
            meta: meta(profile::CARE_PLAN),
            text: narrative(&format!(
                "Care and support plan{}: {} needs, concerns or problems, {} goals, {} actions",
                plan.person.as_ref().map(|p| format!(" for {}", p.name)).unwrap_or_default(),
                plan.needs.len(),
                plan.goals.len(),
                plan.actions.len()
            )),
            contained,
            extension,
            identifier: vec![t::Identifier {
                system: Some(vocab::identifier_system(id::PLAN).into()),
                value: Some(s(&plan.id)),
                ..Default::default()
            }],
            status: "active".into(),
            intent: "plan".into(),
            category: vec![concept(
                vec![coding(
                    vocab::SNOMED,
                    vocab::CARE_PLAN_CODE.0,
                    Some(vocab::CARE_PLAN_CODE.1),
                )],
                None,
            )],
            subject: self.patient_ref(),
            addresses: needs,
            supporting_info: [strengths, attachments, documents, attorneys].concat(),
            goal: goals,
            activity,
            note: notes(&plan.comments),
            ..Default::default()
        };
        let plan_query = format!(
            "CarePlan?identifier={}|{}",
            vocab::identifier_system(id::PLAN),
            plan.id
        );
        let plan_url = self.entry(key::PLAN, "PUT", plan_query, Resource::CarePlan(Box::new(care_plan)));
        // The CarePlan first: it is what a reader of the Bundle looks for.
        let plan_entry = self.entries.pop().expect("just pushed");
        self.entries.insert(0, plan_entry);

        if plan.performing_professional.is_some() || plan.person_completing_record.is_some() {
            self.provenance(
                key::PLAN_PROVENANCE,
                &plan_url,
                plan.performing_professional.as_ref(),
                plan.person_completing_record.as_ref(),
            );
        }
        if let Some(consent) = &plan.consent_for_information_sharing {
            self.consent(consent);
        }
    }

    /// The person: found by NHS number, so every plan for one person names one
    /// Patient (created when the server has none, never rewritten by a plan:
    /// demographics belong to the person's own record); without an NHS number,
    /// the plan's own Patient.
    fn patient(&mut self) {
        let person = self.plan.person.as_ref();
        let nhs_number = person.and_then(|p| p.nhs_number.as_deref());
        let identifier = match nhs_number {
            Some(nhs) => vec![t::Identifier {
                system: Some(vocab::NHS_NUMBER.into()),
                value: Some(s(nhs)),
                ..Default::default()
            }],
            None => vec![self.identifier(key::PERSON)],
        };
        let patient = r::Patient {
            meta: uk_core_meta("UKCore-Patient"),
            text: narrative(&person.map(|p| format!("Person: {}", p.name)).unwrap_or_else(|| "The person this plan is for".to_owned())),
            identifier,
            name: person.map(|p| name(&p.name)).into_iter().collect(),
            birth_date: person.and_then(|p| p.birth_date.as_deref()).map(Into::into),
            ..Default::default()
        };
        let patient = Resource::Patient(Box::new(patient));
        match nhs_number {
            Some(nhs) => self.create_unless_found(key::PERSON, "Patient", vocab::NHS_NUMBER, nhs, patient),
            None => self.put(key::PERSON, "Patient", patient),
        };
    }

    /// How the plan's resources point at a need: at its Condition, or at
    /// the existing resource the plan links, which then carries on the
    /// reference what the plan says of it (its item id, kind, words and
    /// archive state) since the plan may not write on that resource.
    fn need_reference(&self, n: &Need) -> t::Reference {
        match &n.fhir_reference {
            None => reference(&self.url(&n.id)),
            Some(existing) => {
                let kind = vocab::need_kind_code(n.kind);
                let mut extension = vec![ours(
                    ext::NEED_KIND,
                    t::ExtensionValue::Coding(Box::new(coding(&vocab::code_system(system::ITEM_KIND), kind, None))),
                )];
                extension.extend(archive_extension(n));
                t::Reference {
                    extension,
                    reference: Some(s(existing)),
                    identifier: Some(Box::new(self.identifier(&n.id))),
                    display: opt_s(&n.free_text),
                    ..Default::default()
                }
            }
        }
    }

    /// The need's own Condition, unless the plan links an existing resource.
    fn need(&mut self, n: &Need) {
        if n.fhir_reference.is_some() {
            return;
        }
        let kind = vocab::need_kind_code(n.kind);
        let condition = r::Condition {
            meta: meta(profile::NEED),
            text: narrative(&format!("{}: {}", capitalised(kind), words(&n.coded_value, &n.free_text))),
            extension: archive_extension(n).into_iter().collect(),
            identifier: vec![self.identifier(&n.id)],
            clinical_status: Some(Box::new(concept(
                vec![coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    if n.archived { "inactive" } else { "active" },
                    None,
                )],
                None,
            ))),
            // Only a problem goes on a problem list: a GP system importing
            // problem-list items must not take a person's needs and worries
            // for diagnoses.
            category: match n.kind {
                NeedKind::Problem => vec![
                    concept(vec![coding(vocab::CONDITION_CATEGORY, "problem-list-item", Some("Problem List Item"))], None),
                    kind_concept(kind),
                ],
                NeedKind::Need | NeedKind::Concern => vec![kind_concept(kind)],
            },
            code: Some(Box::new(coded_text(&n.coded_value, &n.free_text))),
            subject: self.patient_ref(),
            note: notes(&n.comments),
            ..Default::default()
        };
        self.put(&n.id, "Condition", Resource::Condition(Box::new(condition)));
    }

    fn strength(&mut self, st: &Strength) -> String {
        // The goals it supports first, in plan order, then the archive marker.
        let mut extension: Vec<t::Extension> = st
            .goal_ids
            .iter()
            .map(|g| extension(vocab::PERTAINS_TO_GOAL.to_owned(), reference_value(&self.url(g))))
            .collect();
        extension.extend(archive_extension(st));
        let observation = r::Observation {
            meta: meta(profile::STRENGTH),
            text: narrative(&format!("Strength: {}", words(&st.coded_value, &st.free_text))),
            extension,
            identifier: vec![self.identifier(&st.id)],
            status: "final".into(),
            code: Box::new(kind_concept("strength")),
            subject: Some(self.patient_ref()),
            value: Some(r::ObservationValue::CodeableConcept(Box::new(coded_text(
                &st.coded_value,
                &st.free_text,
            )))),
            note: notes(&st.comments),
            ..Default::default()
        };
        self.put(&st.id, "Observation", Resource::Observation(Box::new(observation)))
    }

    fn goal_status(status: &GoalStatus) -> t::CodeableConcept {
        let mut codings = vec![coding(
            &vocab::code_system(system::GOAL_STATUS),
            vocab::goal_state_code(status.state),
            None,
        )];
        codings.extend(status.coded_value.iter().map(prsb_coding));
        concept(codings, status.free_text.as_deref())
    }

    fn lifecycle(status: Option<&GoalStatus>, archived: bool) -> String {
        let state = status.map(|s| s.state);
        if archived {
            vocab::archived_goal_lifecycle(state).to_owned()
        } else {
            vocab::goal_lifecycle(state)
        }
    }

    fn goal(&mut self, g: &Goal) -> String {
        let mut extension = Vec::new();
        if let Some(why) = &g.why_it_matters {
            extension.push(ours(ext::WHY_IT_MATTERS, string_value(why)));
        }
        if let Some(score) = g.goal_importance_score {
            extension.push(ours(
                ext::IMPORTANCE,
                t::ExtensionValue::Integer(i32::from(score).into()),
            ));
        }
        for stage in &g.stage_goals {
            let stage_url = self.stage_goal(stage);
            extension.push(complex(
                vocab::GOAL_RELATIONSHIP.to_owned(),
                vec![
                    sub(
                        "type",
                        t::ExtensionValue::CodeableConcept(Box::new(concept(
                            vec![coding(
                                vocab::GOAL_RELATIONSHIP_TYPE,
                                "milestone",
                                Some("Milestone"),
                            )],
                            None,
                        ))),
                    ),
                    sub("target", reference_value(&stage_url)),
                ],
            ));
        }
        extension.extend(archive_extension(g));
        let goal_url = self.url(&g.id);
        let outcomes: Vec<String> = g
            .outcomes
            .iter()
            .map(|o| self.outcome(o, &goal_url))
            .collect();
        let goal = r::Goal {
            meta: meta(profile::GOAL),
            text: narrative(&format!("Goal: {}", words(&g.coded_value, &g.free_text))),
            extension,
            identifier: vec![self.identifier(&g.id)],
            lifecycle_status: Self::lifecycle(g.goal_status.as_ref(), g.archived).into(),
            achievement_status: g.goal_status.as_ref().map(|st| Box::new(Self::goal_status(st))),
            category: vec![kind_concept("goal")],
            priority: g.goal_importance_score.map(|score| {
                let (code, display) = vocab::goal_priority(score);
                Box::new(concept(vec![coding(vocab::GOAL_PRIORITY, code, Some(display))], None))
            }),
            description: Box::new(coded_text(&g.coded_value, &g.free_text)),
            subject: self.patient_ref(),
            addresses: g
                .need_ids
                .iter()
                .map(|id| match self.plan.needs.iter().find(|n| n.id == *id) {
                    Some(need) => self.need_reference(need),
                    None => reference(&self.url(id)),
                })
                .collect(),
            outcome_reference: outcomes.iter().map(|u| reference(u)).collect(),
            note: notes(&g.comments),
            ..Default::default()
        };
        self.put(&g.id, "Goal", Resource::Goal(Box::new(goal)))
    }

    fn stage_goal(&mut self, g: &StageGoal) -> String {
        let goal = r::Goal {
            meta: meta(profile::GOAL),
            text: narrative(&format!("Stage goal: {}", words(&g.coded_value, &g.free_text))),
            extension: archive_extension(g).into_iter().collect(),
            identifier: vec![self.identifier(&g.id)],
            lifecycle_status: Self::lifecycle(g.goal_status.as_ref(), g.archived).into(),
            achievement_status: g.goal_status.as_ref().map(|st| Box::new(Self::goal_status(st))),
            category: vec![kind_concept("stage-goal")],
            description: Box::new(coded_text(&g.coded_value, &g.free_text)),
            subject: self.patient_ref(),
            outcome_code: g
                .outcome
                .iter()
                .map(|o| coded_text(&o.coded_value, &o.free_text))
                .collect(),
            note: notes(&g.comments),
            ..Default::default()
        };
        self.put(&g.id, "Goal", Resource::Goal(Box::new(goal)))
    }

    fn outcome(&mut self, o: &Outcome, goal_url: &str) -> String {
        let observation = r::Observation {
            meta: meta(profile::GOAL_OUTCOME),
            text: narrative(&format!("Outcome: {}", words(&o.coded_value, &o.free_text))),
            extension: archive_extension(o).into_iter().collect(),
            identifier: vec![self.identifier(&o.id)],
            status: "final".into(),
            code: Box::new(kind_concept("goal-outcome")),
            subject: Some(self.patient_ref()),
            focus: vec![reference(goal_url)],
            effective: o
                .date_recorded
                .as_deref()
                .map(|d| r::ObservationEffective::DateTime(d.into())),
            value: Some(r::ObservationValue::CodeableConcept(Box::new(coded_text(
                &o.coded_value,
                &o.free_text,
            )))),
            note: notes(&o.comments),
            ..Default::default()
        };
        self.put(&o.id, "Observation", Resource::Observation(Box::new(observation)))
    }

    /// An action as a CarePlan activity, with the contained CareTeam of its "who".
    fn action(&self, a: &Action) -> (r::CarePlanActivity, Option<Resource>) {
        let mut extension = Vec::new();
        if let Some(confidence) = a.confidence {
            extension.push(ours(
                ext::CONFIDENCE,
                t::ExtensionValue::Integer(i32::from(confidence).into()),
            ));
        }
        for strategy in &a.suggested_strategies {
            extension.push(ours(ext::STRATEGY, string_value(strategy)));
        }
        if let Some(updated) = &a.date_last_updated {
            extension.push(ours(ext::LAST_UPDATED, date_time_value(updated)));
        }
        if let Some(review) = &a.review_date {
            extension.push(ours(ext::REVIEW_DATE, date_time_value(review)));
        }
        for change in &a.suggested_changes {
            extension.push(suggested_change(change));
        }
        extension.extend(archive_extension(a));

        let who = a.who.as_ref().map(|w| {
            care_team(
                key::who(&a.id),
                w.name.as_deref(),
                &w.role,
                &w.team,
                &w.contact_details,
            )
        });
        let scheduled = a.when.as_ref().map(|w| {
            let bounds = (w.start.is_some() || w.end.is_some()).then(|| {
                t::TimingRepeatBounds::Period(Box::new(t::Period {
                    start: w.start.as_deref().map(Into::into),
                    end: w.end.as_deref().map(Into::into),
                    ..Default::default()
                }))
            });
            let weekly = !w.days_of_week.is_empty() || !w.times_of_day.is_empty();
            let repeat = (bounds.is_some() || weekly).then(|| t::TimingRepeat {
                bounds,
                day_of_week: w.days_of_week.iter().map(|d| d.code().into()).collect(),
                // FHIR's time has seconds; the format's does not.
                time_of_day: w.times_of_day.iter().map(|at| format!("{at}:00").as_str().into()).collect(),
                ..Default::default()
            });
            r::CarePlanActivityDetailScheduled::Timing(Box::new(t::Timing {
                repeat,
                code: w.description.as_deref().map(|d| Box::new(concept(Vec::new(), Some(d)))),
                ..Default::default()
            }))
        });
        let status_reason = a.status.as_ref().map(|st| {
            let mut codings = vec![coding(
                &vocab::code_system(system::ACTION_STATUS),
                vocab::action_state_code(st.state),
                None,
            )];
            codings.extend(st.coded_value.iter().map(prsb_coding));
            Box::new(concept(codings, st.free_text.as_deref()))
        });
        let detail = r::CarePlanActivityDetail {
            code: Some(Box::new(coded_text(&a.what.coded_value, &a.what.free_text))),
            goal: a.goal_ids.iter().map(|g| reference(&self.url(g))).collect(),
            status: if a.archived {
                vocab::archived_activity_status(a.status.as_ref().map(|s| s.state)).into()
            } else {
                vocab::activity_status(a.status.as_ref().map(|s| s.state)).into()
            },
            status_reason,
            scheduled,
            performer: who
                .iter()
                .map(|_| reference(&format!("#{}", key::who(&a.id))))
                .collect(),
            ..Default::default()
        };
        let activity = r::CarePlanActivity {
            id: Some(a.id.clone()),
            extension,
            progress: notes(&a.comments),
            detail: Some(detail),
            ..Default::default()
        };
        (activity, who)
    }

    /// A reference to a plan item: to its resource when it has one, otherwise
    /// (an action or a comment, which live inside other resources) by identifier.
    fn item_reference(&self, item: &str) -> t::Reference {
        let plan = self.plan;
        if let Some(need) = plan.needs.iter().find(|x| x.id == item) {
            return self.need_reference(need);
        }
        let is_resource = plan.strengths.iter().any(|x| x.id == item)
            || plan.attachments.iter().any(|x| x.id == item)
            || plan.other_care_planning_documents.iter().any(|x| x.id == item)
            || plan.goals.iter().any(|g| {
                g.id == item
                    || g.stage_goals.iter().any(|x| x.id == item)
                    || g.outcomes.iter().any(|x| x.id == item)
            });
        if is_resource {
            reference(&self.url(item))
        } else {
            t::Reference {
                identifier: Some(Box::new(self.identifier(item))),
                ..Default::default()
            }
        }
    }

    fn attachment(&mut self, a: &Attachment) -> String {
        let kind = vocab::attachment_kind_code(a.kind);
        let related: Vec<t::Reference> = a.item_ids.iter().map(|i| self.item_reference(i)).collect();
        let document = r::DocumentReference {
            meta: meta(profile::ATTACHMENT),
            text: narrative(&format!("{}: {}", capitalised(kind), a.title)),
            extension: archive_extension(a).into_iter().collect(),
            identifier: vec![self.identifier(&a.id)],
            status: "current".into(),
            r#type: a.class.as_deref().map(|c| Box::new(concept(Vec::new(), Some(c)))),
            category: vec![kind_concept(kind)],
            subject: Some(self.patient_ref()),
            date: Some(a.date_time.as_str().into()),
            description: opt_s(&a.note),
            content: vec![r::DocumentReferenceContent {
                attachment: Box::new(t::Attachment {
                    content_type: a.content_type.as_deref().map(Into::into),
                    data: a.data.as_deref().map(Into::into),
                    url: a.url.as_deref().map(Into::into),
                    title: Some(s(&a.title)),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            context: (!related.is_empty()).then(|| r::DocumentReferenceContext {
                related,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.put(&a.id, "DocumentReference", Resource::DocumentReference(Box::new(document)))
    }

    fn other_document(&mut self, d: &OtherCarePlanningDocument) -> String {
        let mut extension = Vec::new();
        if let Some(location) = &d.location {
            extension.push(ours(ext::DOCUMENT_LOCATION, string_value(location)));
        }
        extension.extend(archive_extension(d));
        let document = r::DocumentReference {
            meta: meta(profile::OTHER_DOCUMENT),
            text: narrative(&format!("Care planning document: {}", d.title)),
            extension,
            identifier: vec![self.identifier(&d.id)],
            status: "current".into(),
            r#type: d
                .document_type
                .as_deref()
                .map(|c| Box::new(concept(Vec::new(), Some(c)))),
            category: vec![kind_concept("care-planning-document")],
            subject: Some(self.patient_ref()),
            content: vec![r::DocumentReferenceContent {
                attachment: Box::new(t::Attachment {
                    title: Some(s(&d.title)),
                    creation: d.date.as_deref().map(Into::into),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        self.put(&d.id, "DocumentReference", Resource::DocumentReference(Box::new(document)))
    }

    /// The `location` extension: the site as the plan recorded it, on the
    /// reference (its words, its code), and with an ODS site code the one
    /// Location every plan (and every system) that names the site shares,
    /// found by that code and never rewritten by a plan. A site in words
    /// only ("Person's home") is no resource at all: a Location concerns no
    /// one, so words about one person's care would be read by everyone.
    fn location_extension(&mut self, location: &Location) -> t::Extension {
        let site_code = |code: &str| t::Identifier { system: Some(vocab::ODS_SITE.into()), value: Some(s(code)), ..Default::default() };
        let url = location.coded_value.as_deref().map(|code| {
            // Named by its code alone: the plan's words describe the site as
            // this plan sees it, not what it is called.
            let site = Resource::Location(Box::new(r::Location {
                meta: uk_core_meta("UKCore-Location"),
                text: narrative(&format!("Site with ODS site code {code}")),
                identifier: vec![site_code(code)],
                ..Default::default()
            }));
            self.create_unless_found(&key::site(code), "Location", vocab::ODS_SITE, code, site)
        });
        let site = t::Reference {
            reference: url.as_deref().map(s),
            identifier: location.coded_value.as_deref().map(|code| Box::new(site_code(code))),
            display: opt_s(&location.free_text),
            ..Default::default()
        };
        ours(ext::LOCATION, t::ExtensionValue::Reference(Box::new(site)))
    }

    /// An organisation named by ODS code: the one Organization every plan
    /// (and every system) shares, found by that code and never rewritten by
    /// a plan. Named by its code alone: a plan's words for it (a funding
    /// source's "NHS funded (…)") are not what it is called.
    fn organisation(&mut self, code: &str) -> String {
        let identifier = t::Identifier {
            system: Some(vocab::ODS_ORGANISATION.into()),
            value: Some(s(code)),
            ..Default::default()
        };
        let organisation = r::Organization {
            meta: uk_core_meta("UKCore-Organization"),
            text: narrative(&format!("Organisation with ODS code {code}")),
            identifier: vec![identifier],
            ..Default::default()
        };
        let key = key::organisation(code);
        self.create_unless_found(&key, "Organization", vocab::ODS_ORGANISATION, code, Resource::Organization(Box::new(organisation)))
    }

    fn coverage(&mut self, funding: &CareFundingSource) -> String {
        let kind = funding.kind.map(|k| {
            let (code, display) = vocab::funding_kind_code(k);
            Box::new(concept(vec![coding(&vocab::code_system(system::FUNDING_SOURCE), code, Some(display))], None))
        });
        // The code and name stay on the reference as the plan recorded them,
        // beside the Organization that the code finds.
        let payor = t::Reference {
            reference: funding
                .coded_value
                .as_deref()
                .map(|code| s(&self.organisation(code))),
            identifier: funding.coded_value.as_deref().map(|code| {
                Box::new(t::Identifier {
                    system: Some(vocab::ODS_ORGANISATION.into()),
                    value: Some(s(code)),
                    ..Default::default()
                })
            }),
            display: opt_s(&funding.free_text),
            ..Default::default()
        };
        let coverage = r::Coverage {
            meta: meta(profile::COVERAGE),
            text: narrative(&format!("Care funding source: {}", funding.free_text.as_deref().or(funding.coded_value.as_deref()).unwrap_or_default())),
            identifier: vec![self.identifier(key::FUNDING)],
            status: "active".into(),
            r#type: kind,
            beneficiary: self.patient_ref(),
            payor: vec![payor],
            ..Default::default()
        };
        self.put(key::FUNDING, "Coverage", Resource::Coverage(Box::new(coverage)))
    }

    /// A professional's Practitioner and PractitionerRole fullUrls, made once
    /// per plan however many items name them. With a professional identifier
    /// the Practitioner is the one every plan (and every system) shares,
    /// updated by identifier; without, the plan's own.
    fn practitioner_and_role(&mut self, p: Professional<'_>) -> (String, String) {
        let role_identity = p.role_identity();
        if let Some(found) = self.professionals.get(&role_identity) {
            return found.clone();
        }
        let person_identity = p.person_identity();
        let key = key::professional(&person_identity);
        let known = self.professionals.values().find(|(prac, _)| *prac == self.url(&key) || Some(prac) == p.existing.as_ref());
        let practitioner_url = match (known, p.existing) {
            (Some((prac, _)), _) => prac.clone(),
            // Linked, not recorded: the plan writes nothing on it.
            (None, Some(existing)) => existing.clone(),
            (None, None) => {
                let professional_system = vocab::identifier_system(id::PROFESSIONAL);
                let identifier: Vec<t::Identifier> = match p.identifier {
                    Some(id) => vec![t::Identifier {
                        system: Some(professional_system.as_str().into()),
                        value: Some(s(id)),
                        ..Default::default()
                    }],
                    None => vec![self.identifier(&key)],
                };
                let practitioner = r::Practitioner {
                    meta: meta(profile::PRACTITIONER),
                    text: narrative(p.name),
                    identifier,
                    name: vec![name(p.name)],
                    telecom: p.contact.iter().map(|c| other_contact(c)).collect(),
                    qualification: p
                        .grade
                        .iter()
                        .map(|g| r::PractitionerQualification {
                            code: Box::new(concept(Vec::new(), Some(g))),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                };
                let practitioner = Resource::Practitioner(Box::new(practitioner));
                match p.identifier {
                    Some(id) => self.put_by_identifier(&key, "Practitioner", &professional_system, id, practitioner),
                    None => self.put(&key, "Practitioner", practitioner),
                }
            }
        };
        let role_key = key::role(&role_identity);
        let role = r::PractitionerRole {
            meta: meta(profile::PRACTITIONER_ROLE),
            text: narrative(&match p.role { Some(role) => format!("{}, {}", p.name, role.text), None => p.name.to_owned() }),
            identifier: vec![self.identifier(&role_key)],
            // A linked Practitioner's name as the plan wrote it: a reader
            // without access to that record still sees who it is.
            practitioner: Some(Box::new(t::Reference {
                display: p.existing.as_ref().map(|_| s(p.name)),
                ..reference(&practitioner_url)
            })),
            organization: p.organisation.as_deref().map(|o| {
                Box::new(t::Reference {
                    display: Some(s(o)),
                    ..Default::default()
                })
            }),
            code: p.role.iter().map(role_concept).collect(),
            specialty: p
                .speciality
                .iter()
                .map(|c| concept(vec![coding(vocab::TREATMENT_FUNCTION, c, None)], None))
                .collect(),
            ..Default::default()
        };
        let role_url = self.put(&role_key, "PractitionerRole", Resource::PractitionerRole(Box::new(role)));
        let urls = (practitioner_url, role_url);
        self.professionals.insert(role_identity, urls.clone());
        urls
    }

    /// A professional who recorded part of the plan (and so may always read it).
    fn recorder(&mut self, p: Professional<'_>) -> String {
        let urls = self.practitioner_and_role(p);
        if !self.recorders.contains(&urls) {
            self.recorders.push(urls.clone());
        }
        urls.1
    }

    /// Who prepared (author) and who entered (enterer) a record, and when it was completed.
    fn provenance(
        &mut self,
        key: &str,
        target: &str,
        performing: Option<&PerformingProfessional>,
        completing: Option<&PersonCompletingRecord>,
    ) {
        let mut agent = Vec::new();
        let participant = |code: &str, display: &str| {
            Some(Box::new(concept(
                vec![coding(vocab::PROVENANCE_PARTICIPANT, code, Some(display))],
                None,
            )))
        };
        if let Some(p) = performing {
            let who = self.recorder(p.into());
            agent.push(r::ProvenanceAgent {
                r#type: participant("author", "Author"),
                who: Box::new(reference(&who)),
                ..Default::default()
            });
        }
        if let Some(p) = completing {
            let who = self.recorder(p.into());
            agent.push(r::ProvenanceAgent {
                r#type: participant("enterer", "Enterer"),
                who: Box::new(reference(&who)),
                ..Default::default()
            });
        }
        let recorded: t::Instant = match completing.and_then(|c| c.date_completed.as_deref()) {
            Some(date) => date.into(),
            None => t::Instant {
                extension: vec![extension(
                    vocab::DATA_ABSENT_REASON.to_owned(),
                    t::ExtensionValue::Code("unknown".into()),
                )],
                ..Default::default()
            },
        };
        let provenance = r::Provenance {
            meta: meta(profile::PROVENANCE),
            text: narrative("Who prepared this record and who entered it"),
            target: vec![reference(target)],
            recorded,
            agent,
            ..Default::default()
        };
        self.put_by_id(key, "Provenance", Resource::Provenance(Box::new(provenance)));
    }

    fn agreement(&mut self, a: &Agreement) -> t::Extension {
        let mut parts = vec![sub("agreed", t::ExtensionValue::Boolean(a.agreed.into()))];
        if let Some(by) = a.agreed_by {
            let code = match by {
                AgreedBy::Person => "person",
                AgreedBy::LegitimateRepresentative => "legitimate-representative",
            };
            parts.push(sub("agreedBy", t::ExtensionValue::Code(code.into())));
        }
        if a.person_full_name.is_some() || a.role.is_some() {
            let related = r::RelatedPerson {
                meta: meta(profile::RELATED_PERSON),
                text: narrative(&format!("Agreed the plan: {}", a.person_full_name.as_deref().or(a.role.as_ref().map(|r| r.text.as_str())).unwrap_or_default())),
                identifier: vec![self.identifier(key::REPRESENTATIVE)],
                patient: self.patient_ref(),
                relationship: a.role.iter().map(role_concept).collect(),
                name: a.person_full_name.iter().map(|n| name(n)).collect(),
                ..Default::default()
            };
            let url = self.put(
                key::REPRESENTATIVE,
                "RelatedPerson",
                Resource::RelatedPerson(Box::new(related)),
            );
            parts.push(sub("agreedWith", reference_value(&url)));
        }
        if let Some(date) = &a.date_agreed {
            parts.push(sub("date", date_time_value(date)));
        }
        if let Some(reason) = &a.reason_not_obtained {
            parts.push(sub("reasonNotObtained", string_value(reason)));
        }
        for (n, mca) in a.mental_capacity_assessments.iter().enumerate() {
            let url = self.capacity_assessment(mca, n);
            parts.push(sub("mentalCapacityAssessment", reference_value(&url)));
        }
        if let Some(bid) = &a.best_interest_decision {
            let mut decision = vec![
                sub("date", date_time_value(&bid.date)),
                sub("decision", string_value(&bid.decision)),
                sub("decisionMaker", string_value(&bid.decision_maker)),
            ];
            for person in &bid.people_consulted {
                decision.push(sub("consulted", string_value(person)));
            }
            parts.push(complex("bestInterestDecision".to_owned(), decision));
        }
        complex(vocab::structure_definition(ext::AGREEMENT), parts)
    }

    /// An attorney or deputy of the person: a RelatedPerson whose relationship
    /// says which power they hold, with the registration reference as an
    /// identifier and the registration date as the start of the relationship.
    fn attorney(&mut self, lpa: &LastingPowerOfAttorney, n: usize) -> String {
        let key = key::attorney(n);
        let (code, display) = vocab::attorney_kind_code(lpa.kind);
        let mut identifier = vec![self.identifier(&key)];
        if let Some(reference) = &lpa.registration_reference {
            identifier.push(t::Identifier {
                system: Some(vocab::identifier_system(id::OPG_REGISTRATION).into()),
                value: Some(s(reference)),
                ..Default::default()
            });
        }
        let related = r::RelatedPerson {
            meta: meta(profile::ATTORNEY),
            text: narrative(&format!("{}: {}", display, lpa.name)),
            extension: lpa
                .location_of_document
                .iter()
                .map(|where_kept| ours(ext::DOCUMENT_LOCATION, string_value(where_kept)))
                .collect(),
            identifier,
            patient: self.patient_ref(),
            relationship: vec![concept(
                vec![
                    coding(&vocab::code_system(system::ATTORNEY_KIND), code, Some(display)),
                    coding(vocab::UK_CORE_RELATIONSHIP_ROLE, vocab::AGENT_ROLE.0, Some(vocab::AGENT_ROLE.1)),
                ],
                None,
            )],
            name: vec![name(&lpa.name)],
            telecom: lpa.contact_details.iter().map(|c| other_contact(c)).collect(),
            period: lpa.registration_date.as_deref().map(|date| {
                Box::new(t::Period {
                    start: Some(date.into()),
                    ..Default::default()
                })
            }),
            ..Default::default()
        };
        self.put(&key, "RelatedPerson", Resource::RelatedPerson(Box::new(related)))
    }

    fn capacity_assessment(&mut self, m: &MentalCapacityAssessment, n: usize) -> String {
        let mut extension = Vec::new();
        if let Some(location) = &m.location {
            extension.push(self.location_extension(location));
        }
        if let Some(where_kept) = &m.location_of_document {
            extension.push(ours(ext::DOCUMENT_LOCATION, string_value(where_kept)));
        }
        let performer = m
            .performing_professional
            .as_ref()
            .map(|p| self.recorder(p.into()));
        let component = |code: &str, value: r::ObservationComponentValue| r::ObservationComponent {
            code: Box::new(kind_concept(code)),
            value: Some(value),
            ..Default::default()
        };
        // The decision first: it says what the rest is about.
        let mut components = vec![component("capacity-decision", r::ObservationComponentValue::String(s(&m.decision)))];
        components.extend(m.has_capacity.map(|has| component("has-capacity", r::ObservationComponentValue::Boolean(has.into()))));
        components.extend(
            m.actions_to_maximise_capacity
                .as_deref()
                .map(|done| component("actions-to-maximise-capacity", r::ObservationComponentValue::String(s(done)))),
        );
        let key = key::capacity(n);
        let observation = r::Observation {
            meta: meta(profile::CAPACITY),
            text: narrative(&format!("Mental capacity assessment ({}): {}", m.decision, m.mental_capacity_assessment)),
            extension,
            identifier: vec![self.identifier(&key)],
            status: "final".into(),
            code: Box::new(kind_concept("mental-capacity-assessment")),
            subject: Some(self.patient_ref()),
            effective: Some(r::ObservationEffective::DateTime(m.date.as_str().into())),
            performer: performer.iter().map(|u| reference(u)).collect(),
            value: Some(r::ObservationValue::String(s(&m.mental_capacity_assessment))),
            component: components,
            ..Default::default()
        };
        self.put(&key, "Observation", Resource::Observation(Box::new(observation)))
    }

    /// The actors of one permit provision: the Practitioner (what a token's
    /// `fhirUser` names) and the PractitionerRole (what says the role).
    fn actors(urls: &[(String, String)], role: &str, display: &str) -> Vec<r::ConsentProvisionActor> {
        urls.iter()
            .flat_map(|(practitioner, role)| [practitioner, role])
            .map(|who| r::ConsentProvisionActor {
                role: Box::new(concept(vec![coding(vocab::PARTICIPATION_TYPE, role, Some(display))], None)),
                reference: Box::new(reference(who)),
                ..Default::default()
            })
            .collect()
    }

    /// The plan's information-sharing consent as rules the server enforces:
    /// nobody may see the person's record but those it names (everyone who
    /// recorded part of the plan, as authors, and whoever the person agreed
    /// to share it with, as information recipients), whether consent was
    /// given or not; the refusal reason says which. The person, their
    /// representatives and the data controller's override are not subject to it.
    fn consent_provision(&mut self, c: &ConsentForInformationSharing) -> r::ConsentProvision {
        let mut permits = Vec::new();
        if !self.recorders.is_empty() {
            permits.push(r::ConsentProvision {
                id: Some(vocab::PLAN_PROVISION_RECORDERS.to_owned()),
                r#type: Some("permit".into()),
                actor: Self::actors(&self.recorders, "AUT", "author (originator)"),
                ..Default::default()
            });
        }
        for shared in &c.shared_with {
            // Named for whom it permits, so a later post finds it again.
            let who = shared.fhir_reference.clone().unwrap_or_else(|| Professional::from(shared).role_identity());
            let id = format!("{}{}", vocab::PLAN_PROVISION_SHARED, digest(&who));
            let actor = match &shared.fhir_reference {
                Some(existing) => vec![r::ConsentProvisionActor {
                    role: Box::new(concept(vec![coding(vocab::PARTICIPATION_TYPE, vocab::INFORMATION_RECIPIENT, Some("information recipient"))], None)),
                    reference: Box::new(t::Reference {
                        reference: Some(s(existing)),
                        display: Some(s(&shared.name)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                None => {
                    let urls = self.practitioner_and_role(shared.into());
                    Self::actors(&[urls], vocab::INFORMATION_RECIPIENT, "information recipient")
                }
            };
            permits.push(r::ConsentProvision { id: Some(id), r#type: Some("permit".into()), actor, ..Default::default() });
        }
        r::ConsentProvision {
            r#type: Some("deny".into()),
            provision: permits,
            ..Default::default()
        }
    }

    fn consent(&mut self, c: &ConsentForInformationSharing) {
        if let Some(p) = &c.performing_professional {
            self.recorder(p.into());
        }
        if let Some(p) = &c.person_completing_record {
            self.recorder(p.into());
        }
        let provision = self.consent_provision(c);
        let mut extension = Vec::new();
        if let Some(reason) = &c.reason_for_consent_not_given {
            extension.push(ours(ext::CONSENT_REFUSAL_REASON, string_value(reason)));
        }
        if let Some(location) = &c.location {
            extension.push(self.location_extension(location));
        }
        let consent = r::Consent {
            meta: meta(profile::CONSENT).map(|mut m| {
                let section = serde_json::to_string(c).unwrap_or_default();
                m.tag.push(t::Coding { system: Some(vocab::consent_applied_tag_system().into()), code: Some(digest(&section).into()), ..Default::default() });
                m
            }),
            text: narrative(&format!("Consent for information sharing: {}", c.consent)),
            extension,
            identifier: vec![self.identifier(key::CONSENT)],
            status: "active".into(),
            scope: Box::new(concept(
                vec![coding(vocab::CONSENT_SCOPE, "patient-privacy", Some("Privacy Consent"))],
                None,
            )),
            category: vec![concept(
                vec![coding(
                    vocab::LOINC,
                    vocab::PATIENT_CONSENT_CODE.0,
                    Some(vocab::PATIENT_CONSENT_CODE.1),
                )],
                None,
            )],
            patient: Some(self.patient_ref()),
            date_time: c.date.as_deref().map(Into::into),
            policy_rule: Some(Box::new(concept(
                vec![coding(
                    &vocab::code_system(system::ITEM_KIND),
                    "information-sharing",
                    None,
                )],
                Some(&c.consent),
            ))),
            provision: Some(provision),
            ..Default::default()
        };
        let consent_url = self.put(key::CONSENT, "Consent", Resource::Consent(Box::new(consent)));
        if c.performing_professional.is_some() || c.person_completing_record.is_some() {
            self.provenance(
                key::CONSENT_PROVENANCE,
                &consent_url,
                c.performing_professional.as_ref(),
                c.person_completing_record.as_ref(),
            );
        }
    }
}
