//! Valid, varied PRSB plans from a seed: for property tests (map then unmap
//! gives the plan back), load benchmarks and fuzzing corpora. Every plan this
//! makes passes [`super::read`]; the property tests check that too.

use super::model::*;

/// A plan from `seed`. With `full`, every optional field is filled and every
/// list has entries, so one plan exercises every field of the format.
pub fn plan(seed: u64, full: bool) -> CarePlan {
    let mut g = Gen { state: seed ^ 0x9E37_79B9_7F4A_7C15, full, next_id: 0 };
    g.plan()
}

struct Gen {
    state: u64,
    full: bool,
    next_id: usize,
}

const WORDS: &[&str] = &[
    "walk", "to", "the", "shop", "with", "Mum", "carer", "visits", "daily", "medication", "review",
    "garden", "allotment", "bus", "pass", "café", "Zoë's", "choir", "breathless", "stairs", "<safe>",
    "&", "\"home\"", "O'Neil", "🙂", "Ty", "Bach", "sleep", "anxiety", "night", "shift", "50%",
];

const SYSTEMS: &[&str] = &["http://loinc.org", "https://fhir.nhs.uk/CodeSystem/local-codes"];

impl Gen {
    /// splitmix64: small, fast and good enough to vary test data.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number below `n` (a multiple of 1,000 or more) that no earlier call
    /// for this plan gave: a professional identifier names one person, and
    /// the mapper takes two professionals with one identifier as the same.
    fn fresh(&mut self, n: u64) -> u64 {
        self.next_id += 1;
        self.below(n / 1_000) * 1_000 + (self.next_id as u64 % 1_000)
    }

    fn coin(&mut self) -> bool {
        self.full || self.next() & 1 == 1
    }

    fn maybe<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.coin() {
            Some(f(self))
        } else {
            None
        }
    }

    fn count(&mut self, max: u64) -> usize {
        if self.full {
            2
        } else {
            self.below(max + 1) as usize
        }
    }

    fn list<T>(&mut self, max: u64, mut f: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = self.count(max);
        (0..n).map(|_| f(self)).collect()
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    fn text(&mut self, max_chars: usize) -> String {
        let n = 1 + self.below(6) as usize;
        let mut out = String::new();
        for i in 0..n {
            let word = WORDS[self.below(WORDS.len() as u64) as usize];
            if out.chars().count() + word.chars().count() + 1 > max_chars {
                break;
            }
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        if out.is_empty() {
            out.push('x');
        }
        out
    }

    fn date_time(&mut self) -> String {
        let month = 1 + self.below(12);
        let day = 1 + self.below(28);
        let (h, m, s) = (self.below(24), self.below(60), self.below(60));
        let zone = match self.below(3) {
            0 => "Z".to_owned(),
            1 => "+01:00".to_owned(),
            _ => "-05:30".to_owned(),
        };
        let fraction = if self.below(4) == 0 { ".250" } else { "" };
        format!("2026-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{fraction}{zone}")
    }

    fn date(&mut self) -> String {
        format!("19{:02}-{:02}-{:02}", 20 + self.below(80), 1 + self.below(12), 1 + self.below(28))
    }

    fn partial_date(&mut self) -> String {
        match self.below(4) {
            0 => format!("{}", 2025 + self.below(3)),
            1 => format!("2026-{:02}", 1 + self.below(12)),
            2 => format!("2026-{:02}-{:02}", 1 + self.below(12), 1 + self.below(28)),
            _ => self.date_time(),
        }
    }

    fn coding(&mut self) -> Coding {
        let system = if self.below(4) == 0 {
            Some(SYSTEMS[self.below(SYSTEMS.len() as u64) as usize].to_owned())
        } else {
            None
        };
        let code = if self.below(5) == 0 {
            format!("413350009:246090004={},408729009=410518001", 100000 + self.below(899999))
        } else {
            format!("{}", 100000 + self.below(99_999_999))
        };
        Coding { system, code, display: self.maybe(|g| g.text(60)) }
    }

    /// PRSB's "coded value and/or free text": at least one of the two.
    fn coded_or_text(&mut self) -> (Option<Coding>, Option<String>) {
        if self.full {
            return (Some(self.coding()), Some(self.text(150)));
        }
        match self.below(3) {
            0 => (Some(self.coding()), None),
            1 => (None, Some(self.text(150))),
            _ => (Some(self.coding()), Some(self.text(150))),
        }
    }

    fn ods_or_text(&mut self) -> CodedOrText {
        let code = |g: &mut Self| format!("R{}", 10 + g.below(89));
        if self.full {
            return CodedOrText { coded_value: Some(code(self)), free_text: Some(self.text(150)) };
        }
        match self.below(3) {
            0 => CodedOrText { coded_value: Some(code(self)), free_text: None },
            1 => CodedOrText { coded_value: None, free_text: Some(self.text(150)) },
            _ => CodedOrText { coded_value: Some(code(self)), free_text: Some(self.text(150)) },
        }
    }

    fn role(&mut self) -> Role {
        Role { code: self.maybe(|g| format!("R{:04}", g.below(9999))), text: self.text(150) }
    }

    /// `(archived, archivedAt, archivedReason)`: about one item in four is archived.
    fn archive(&mut self) -> (bool, Option<String>, Option<String>) {
        if self.full || self.below(4) == 0 {
            (true, self.maybe(|g| g.date_time()), self.maybe(|g| g.text(150)))
        } else {
            (false, None, None)
        }
    }

    fn comment(&mut self) -> Comment {
        let (archived, archived_at, archived_reason) = self.archive();
        Comment {
            id: self.id("comment"),
            author: self.text(70),
            author_role: self.maybe(|g| g.role()),
            date_time: self.date_time(),
            text: self.text(400),
            archived,
            archived_at,
            archived_reason,
        }
    }

    fn comments(&mut self) -> Vec<Comment> {
        self.list(2, |g| g.comment())
    }

    /// Now and then (never in a full plan) a professional linked as an
    /// existing Practitioner, who then has no grade, identifier or contact here.
    fn linked_practitioner(&mut self) -> Option<String> {
        (!self.full && self.below(5) == 0).then(|| format!("Practitioner/{}", self.id("gp")))
    }

    fn professional(&mut self) -> PerformingProfessional {
        let fhir_reference = self.linked_practitioner();
        let own = fhir_reference.is_none();
        PerformingProfessional {
            name: self.text(70),
            role: self.maybe(|g| g.role()),
            grade: self.maybe(|g| g.text(150)).filter(|_| own),
            speciality: self.maybe(|g| format!("{}", 100 + g.below(899))),
            professional_identifier: self.maybe(|g| format!("GMC{}", g.fresh(9_999_999))).filter(|_| own),
            organisation: self.maybe(|g| g.text(150)),
            contact_details: self.maybe(|g| format!("0161 {:07}", g.below(9_999_999))).filter(|_| own),
            fhir_reference,
        }
    }

    fn completer(&mut self) -> PersonCompletingRecord {
        let fhir_reference = self.linked_practitioner();
        let own = fhir_reference.is_none();
        PersonCompletingRecord {
            name: self.text(70),
            role: self.maybe(|g| g.role()),
            grade: self.maybe(|g| g.text(150)).filter(|_| own),
            specialty: self.maybe(|g| format!("{}", 100 + g.below(899))),
            organisation: self.maybe(|g| g.text(150)),
            professional_identifier: self.maybe(|g| format!("HCPC{}", g.fresh(999_999))).filter(|_| own),
            date_completed: self.maybe(|g| g.date_time()),
            contact_details: self.maybe(|g| format!("07700 {:06}", g.below(999_999))).filter(|_| own),
            fhir_reference,
        }
    }

    fn goal_status(&mut self) -> GoalStatus {
        let state = super::vocab::GOAL_STATES[self.below(8) as usize];
        GoalStatus { state, coded_value: self.maybe(|g| g.coding()), free_text: self.maybe(|g| g.text(150)) }
    }

    fn plan(&mut self) -> CarePlan {
        let strengths = self.list(3, |g| {
            let (coded_value, free_text) = g.coded_or_text();
            let comments = g.comments();
            let (archived, archived_at, archived_reason) = g.archive();
            Strength { id: g.id("strength"), coded_value, free_text, goal_ids: Vec::new(), comments, archived, archived_at, archived_reason }
        });
        let needs = self.list(3, |g| {
            let kind = [NeedKind::Need, NeedKind::Concern, NeedKind::Problem][g.below(3) as usize];
            let (archived, archived_at, archived_reason) = g.archive();
            // Now and then a problem already on the person's GP record,
            // linked rather than copied: words at most, no code or comments
            // (so never in a full plan, which fills every PRSB item).
            if !g.full && g.below(4) == 0 {
                let fhir_reference = Some(format!("Condition/{}", g.id("gp-problem")));
                let free_text = g.maybe(|g| g.text(150));
                let id = g.id("need");
                return Need { id, kind, coded_value: None, free_text, fhir_reference, comments: Vec::new(), archived, archived_at, archived_reason };
            }
            let (coded_value, free_text) = g.coded_or_text();
            let comments = g.comments();
            Need { id: g.id("need"), kind, coded_value, free_text, fhir_reference: None, comments, archived, archived_at, archived_reason }
        });
        let need_ids: Vec<String> = needs.iter().map(|n| n.id.clone()).collect();
        let goals = self.list(3, |g| g.goal(&need_ids));
        let goal_ids: Vec<String> = goals.iter().map(|x| x.id.clone()).collect();
        let mut strengths = strengths;
        for st in &mut strengths {
            st.goal_ids = self.some_of(&goal_ids, false);
        }
        let actions = if goal_ids.is_empty() { Vec::new() } else { self.list(3, |g| g.action(&goal_ids)) };
        let comments = self.comments();
        let mut plan = CarePlan {
            id: self.id("plan"),
            person: self.maybe(|g| Person {
                name: g.text(70),
                nhs_number: g.maybe(|g| format!("{:010}", g.below(9_999_999_999))),
                birth_date: g.maybe(|g| g.date()),
                lasting_powers_of_attorney: g.list(2, |g| g.attorney()),
            }),
            date_last_updated: self.maybe(|g| g.date_time()),
            strengths,
            needs,
            goals,
            actions,
            comments,
            attachments: Vec::new(),
            agreement: self.maybe(|g| g.agreement()),
            care_funding_source: self.maybe(|g| {
                let CodedOrText { coded_value, free_text } = g.ods_or_text();
                let kind = g.maybe(|g| super::vocab::FUNDING_KINDS[g.below(9) as usize]);
                CareFundingSource { coded_value, free_text, kind }
            }),
            planned_review_date: self.maybe(|g| g.partial_date()),
            responsibility_for_review: self.maybe(|g| ResponsibilityForReview {
                name: Some(g.text(70)),
                role: g.maybe(|g| g.role()),
                contact_details: g.maybe(|g| format!("0161 {:07}", g.below(9_999_999))),
            }),
            performing_professional: self.maybe(|g| g.professional()),
            person_completing_record: self.maybe(|g| g.completer()),
            location: self.maybe(|g| g.ods_or_text()),
            consent_for_information_sharing: self.maybe(|g| ConsentForInformationSharing {
                date: g.maybe(|g| g.date_time()),
                location: g.maybe(|g| g.ods_or_text()),
                consent: g.text(150),
                reason_for_consent_not_given: g.maybe(|g| g.text(150)),
                performing_professional: g.maybe(|g| g.professional()),
                person_completing_record: g.maybe(|g| g.completer()),
                shared_with: g.list(2, |g| match g.below(3) {
                    0 => SharedWith {
                        name: g.text(70),
                        role: None,
                        organisation: None,
                        professional_identifier: None,
                        fhir_reference: Some(format!("Practitioner/{}", g.id("gp"))),
                    },
                    _ => SharedWith {
                        name: g.text(70),
                        role: g.maybe(|g| g.role()),
                        organisation: g.maybe(|g| g.text(150)),
                        professional_identifier: g.maybe(|g| format!("NMC{}", g.fresh(9_999_999))),
                        fhir_reference: None,
                    },
                }),
            }),
            other_care_planning_documents: self.list(2, |g| {
                let (archived, archived_at, archived_reason) = g.archive();
                OtherCarePlanningDocument {
                    id: g.id("document"),
                    title: g.text(150),
                    document_type: g.maybe(|g| g.text(60)),
                    location: g.maybe(|g| g.text(150)),
                    date: g.maybe(|g| g.partial_date()),
                    archived,
                    archived_at,
                    archived_reason,
                }
            }),
        };
        let item_ids: Vec<String> = super::items(&plan).into_iter().map(|(_, id, _)| id.to_owned()).collect();
        plan.attachments = self.list(3, |g| g.attachment(&item_ids));
        plan
    }

    fn attorney(&mut self) -> LastingPowerOfAttorney {
        LastingPowerOfAttorney {
            kind: super::vocab::ATTORNEY_KINDS[self.below(3) as usize],
            name: self.text(150),
            contact_details: self.maybe(|g| format!("07700 {:06}", g.below(999_999))),
            registration_reference: self.maybe(|g| format!("7000-{:04}-{:04}", g.below(9999), g.below(9999))),
            registration_date: self.maybe(|g| format!("20{:02}-{:02}-{:02}", 10 + g.below(16), 1 + g.below(12), 1 + g.below(28))),
            location_of_document: self.maybe(|g| g.text(150)),
        }
    }

    fn some_of(&mut self, ids: &[String], at_least_one: bool) -> Vec<String> {
        let mut out: Vec<String> = ids.iter().filter(|_| self.coin()).cloned().collect();
        if out.is_empty() && at_least_one && !ids.is_empty() {
            out.push(ids[self.below(ids.len() as u64) as usize].clone());
        }
        out
    }

    fn goal(&mut self, need_ids: &[String]) -> Goal {
        let (coded_value, free_text) = self.coded_or_text();
        let need_ids = self.some_of(need_ids, false);
        let stage_goals = self.list(2, |g| {
            let (coded_value, free_text) = g.coded_or_text();
            let goal_status = g.maybe(|g| g.goal_status());
            let outcome = g.maybe(|g| {
                let (coded_value, free_text) = g.coded_or_text();
                StageOutcome { coded_value, free_text }
            });
            let comments = g.comments();
            let (archived, archived_at, archived_reason) = g.archive();
            StageGoal { id: g.id("stage"), coded_value, free_text, goal_status, outcome, comments, archived, archived_at, archived_reason }
        });
        let outcomes = self.list(2, |g| {
            let (coded_value, free_text) = g.coded_or_text();
            let date_recorded = g.maybe(|g| g.date_time());
            let comments = g.comments();
            let (archived, archived_at, archived_reason) = g.archive();
            Outcome { id: g.id("outcome"), coded_value, free_text, date_recorded, comments, archived, archived_at, archived_reason }
        });
        let why_it_matters = self.maybe(|g| g.text(400));
        let goal_importance_score = self.maybe(|g| 1 + g.below(10) as u8);
        let goal_status = self.maybe(|g| g.goal_status());
        let comments = self.comments();
        let (archived, archived_at, archived_reason) = self.archive();
        Goal {
            id: self.id("goal"),
            need_ids,
            coded_value,
            free_text,
            why_it_matters,
            goal_importance_score,
            goal_status,
            stage_goals,
            outcomes,
            comments,
            archived,
            archived_at,
            archived_reason,
        }
    }

    fn action(&mut self, goal_ids: &[String]) -> Action {
        let goal_ids = self.some_of(goal_ids, true);
        let (coded_value, free_text) = self.coded_or_text();
        let who = self.maybe(|g| {
            let who = Who {
                name: g.maybe(|g| g.text(70)),
                role: g.maybe(|g| g.role()),
                team: g.maybe(|g| g.text(35)),
                contact_details: g.maybe(|g| format!("0161 {:07}", g.below(9_999_999))),
            };
            if who.name.is_none() && who.role.is_none() && who.team.is_none() && who.contact_details.is_none() {
                Who { name: Some(g.text(70)), ..who }
            } else {
                who
            }
        });
        let when = self.maybe(|g| {
            let days_of_week = if g.coin() {
                // A few distinct days, in no particular order.
                let mut days: Vec<DayOfWeek> = DayOfWeek::ALL.into_iter().filter(|_| g.below(3) == 0).collect();
                if days.is_empty() {
                    days.push(DayOfWeek::ALL[g.below(7) as usize]);
                }
                if g.below(2) == 0 {
                    days.reverse();
                }
                days
            } else {
                Vec::new()
            };
            let times_of_day = if g.coin() {
                let mut times: Vec<String> = (0..1 + g.below(3)).map(|_| format!("{:02}:{:02}", g.below(24), [0, 15, 30, 45][g.below(4) as usize])).collect();
                times.sort();
                times.dedup();
                times
            } else {
                Vec::new()
            };
            let when = When {
                start: g.maybe(|g| g.partial_date()),
                end: None,
                description: g.maybe(|g| g.text(150)),
                days_of_week,
                times_of_day,
            };
            let end = when.start.as_ref().filter(|_| g.coin()).map(|_| "2027-12-31".to_owned());
            let when = When { end, ..when };
            if when.start.is_none() && when.description.is_none() {
                When { description: Some(g.text(150)), ..when }
            } else {
                when
            }
        });
        let status = self.maybe(|g| ActionStatus {
            state: super::vocab::ACTION_STATES[g.below(6) as usize],
            coded_value: g.maybe(|g| g.coding()),
            free_text: g.maybe(|g| g.text(150)),
        });
        let (archived, archived_at, archived_reason) = self.archive();
        Action {
            id: self.id("action"),
            goal_ids,
            what: What { coded_value, free_text },
            who,
            when,
            suggested_strategies: self.list(2, |g| g.text(150)),
            status,
            confidence: self.maybe(|g| 1 + g.below(10) as u8),
            date_last_updated: self.maybe(|g| g.date_time()),
            review_date: self.maybe(|g| g.partial_date()),
            suggested_changes: self.list(2, |g| SuggestedChange {
                author: g.text(70),
                author_role: g.maybe(|g| g.role()),
                date_time: g.date_time(),
                text: g.text(1000),
            }),
            comments: self.comments(),
            archived,
            archived_at,
            archived_reason,
        }
    }

    fn agreement(&mut self) -> Agreement {
        let agreed = !self.full && self.coin();
        Agreement {
            agreed,
            agreed_by: self.maybe(|g| if g.coin() { AgreedBy::Person } else { AgreedBy::LegitimateRepresentative }),
            person_full_name: self.maybe(|g| g.text(70)),
            role: self.maybe(|g| g.role()),
            date_agreed: self.maybe(|g| g.date_time()),
            reason_not_obtained: if agreed { None } else { Some(self.text(150)) },
            mental_capacity_assessments: self.list(2, |g| MentalCapacityAssessment {
                date: g.date_time(),
                location: g.maybe(|g| g.ods_or_text()),
                decision: g.text(150),
                mental_capacity_assessment: g.text(150),
                has_capacity: g.maybe(|g| g.coin()),
                actions_to_maximise_capacity: g.maybe(|g| g.text(1000)),
                location_of_document: g.maybe(|g| g.text(150)),
                performing_professional: g.maybe(|g| g.professional()),
            }),
            best_interest_decision: self.maybe(|g| BestInterestDecision {
                date: g.date_time(),
                decision: g.text(400),
                decision_maker: g.text(70),
                people_consulted: g.list(3, |g| g.text(70)),
            }),
        }
    }

    fn attachment(&mut self, item_ids: &[String]) -> Attachment {
        let kind = [
            AttachmentKind::Image,
            AttachmentKind::Audio,
            AttachmentKind::Video,
            AttachmentKind::Document,
            AttachmentKind::Link,
        ][self.below(5) as usize];
        let inline = kind != AttachmentKind::Link && self.below(2) == 0;
        let (url, data, content_type) = if inline {
            let data = ["aGVsbG8=", "UklGRiQAAABXQVZF", "/9j/4AAQSkZJRg=="][self.below(3) as usize];
            let mime = ["image/jpeg", "audio/wav", "text/plain"][self.below(3) as usize];
            (None, Some(data.to_owned()), Some(mime.to_owned()))
        } else {
            let url = format!("https://media.example.org/plans/{}/item?v={}", self.below(1000), self.below(9));
            let mime = self.maybe(|g| ["image/png", "video/mp4", "text/html", "application/pdf"][g.below(4) as usize].to_owned());
            (Some(url), None, mime)
        };
        let (archived, archived_at, archived_reason) = self.archive();
        Attachment {
            id: self.id("attachment"),
            date_time: self.date_time(),
            kind,
            title: self.text(150),
            url,
            data,
            content_type,
            class: self.maybe(|g| g.text(60)),
            note: self.maybe(|g| g.text(150)),
            item_ids: self.some_of(item_ids, false).into_iter().take(3).collect(),
            archived,
            archived_at,
            archived_reason,
        }
    }
}
