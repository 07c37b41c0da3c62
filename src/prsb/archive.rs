//! Archiving plan items and the active view of a plan.
//!
//! Nothing is deleted from a care and support plan. Archiving marks an item
//! (`archived`, `archivedAt`, `archivedReason`); the active view leaves it out;
//! the whole plan, and every earlier version a FHIR server keeps, still holds it.
//! The rules, as docs/prsb-format.md ("Archiving") states them:
//!
//! - Archiving a goal decides the fate of its actions: either they are archived
//!   with it, or the ones still under way move to another goal (finished ones
//!   are archived either way). An action that also serves another active goal
//!   simply keeps serving it.
//! - Archiving a need, concern or problem does not archive the goals that
//!   address it: it answers the goals to review, since a goal may still matter
//!   for another reason.
//! - An action is archived on its own only once finished (done, cancelled or
//!   refused); an action under way is archived through its goal.

use std::collections::HashSet;

use thiserror::Error;

use super::model::*;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArchiveError {
    #[error("the plan has no item with id `{0}`")]
    NoSuchItem(String),
    #[error("the plan has no goal with id `{0}` to move the actions to")]
    NoSuchGoal(String),
    #[error("goal `{0}` is archived itself: move the actions to an active goal")]
    TargetArchived(String),
    #[error("action `{id}` is still {state}: finish or cancel it first, or archive its goal")]
    ActionNotFinished { id: String, state: String },
    #[error("`{0}` is already archived")]
    AlreadyArchived(String),
}

/// What happens to a goal's actions when the goal is archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoalActions {
    /// Archive the goal's actions too (those serving no other active goal).
    Archive,
    /// Move actions still under way to this goal; archive finished ones.
    MoveTo(String),
}

/// What archiving changed, and what a professional should look at next.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Archived {
    /// Ids of every item archived by this call, the asked-for item first.
    pub archived: Vec<String>,
    /// Ids of actions moved to another goal.
    pub moved: Vec<String>,
    /// Ids of active goals that address an archived need, to be reviewed.
    pub goals_to_review: Vec<String>,
}

fn finished(action: &Action) -> bool {
    matches!(
        action.status.as_ref().map(|s| s.state),
        Some(ActionState::Done | ActionState::Cancelled | ActionState::Refused)
    )
}

fn state_words(action: &Action) -> String {
    match action.status.as_ref().map(|s| s.state) {
        None => "without a status".to_owned(),
        Some(state) => format!("`{}`", super::vocab::action_state_code(state)),
    }
}

fn mark(item: &mut dyn Archivable, at: &str, reason: Option<&str>) {
    item.set_archive(true, Some(at.to_owned()), reason.map(str::to_owned));
}

fn comment_mut<'a>(list: &'a mut [Comment], id: &str) -> Option<&'a mut dyn Archivable> {
    let i = list.iter().position(|c| c.id == id)?;
    Some(&mut list[i])
}

/// The archivable item with this id, wherever it sits in the plan.
fn item_mut<'a>(plan: &'a mut CarePlan, id: &str) -> Option<&'a mut dyn Archivable> {
    macro_rules! in_list {
        ($list:expr) => {
            if let Some(i) = $list.iter().position(|x| x.id == id) {
                return Some(&mut $list[i]);
            }
        };
    }
    in_list!(plan.strengths);
    in_list!(plan.needs);
    in_list!(plan.goals);
    in_list!(plan.actions);
    in_list!(plan.attachments);
    in_list!(plan.other_care_planning_documents);
    in_list!(plan.comments);
    if let Some(i) = plan.strengths.iter().position(|x| x.comments.iter().any(|c| c.id == id)) {
        return comment_mut(&mut plan.strengths[i].comments, id);
    }
    if let Some(i) = plan.needs.iter().position(|x| x.comments.iter().any(|c| c.id == id)) {
        return comment_mut(&mut plan.needs[i].comments, id);
    }
    if let Some(i) = plan.actions.iter().position(|x| x.comments.iter().any(|c| c.id == id)) {
        return comment_mut(&mut plan.actions[i].comments, id);
    }
    for g in &mut plan.goals {
        let found = g.comments.iter().any(|c| c.id == id)
            || g.stage_goals.iter().any(|s| s.id == id || s.comments.iter().any(|c| c.id == id))
            || g.outcomes.iter().any(|o| o.id == id || o.comments.iter().any(|c| c.id == id));
        if !found {
            continue;
        }
        if g.comments.iter().any(|c| c.id == id) {
            return comment_mut(&mut g.comments, id);
        }
        in_list!(g.stage_goals);
        in_list!(g.outcomes);
        if let Some(i) = g.stage_goals.iter().position(|x| x.comments.iter().any(|c| c.id == id)) {
            return comment_mut(&mut g.stage_goals[i].comments, id);
        }
        if let Some(i) = g.outcomes.iter().position(|x| x.comments.iter().any(|c| c.id == id)) {
            return comment_mut(&mut g.outcomes[i].comments, id);
        }
    }
    None
}

/// Archives any item by id. Goals go through [`archive_goal`], which needs to
/// know what happens to their actions; this answers an error for a goal.
pub fn archive_item(plan: &mut CarePlan, id: &str, at: &str, reason: Option<&str>) -> Result<Archived, ArchiveError> {
    if plan.goals.iter().any(|g| g.id == id) {
        return archive_goal(plan, id, at, reason, GoalActions::Archive);
    }
    if let Some(action) = plan.actions.iter().find(|a| a.id == id) {
        if !finished(action) {
            return Err(ArchiveError::ActionNotFinished { id: id.to_owned(), state: state_words(action) });
        }
    }
    let item = item_mut(plan, id).ok_or_else(|| ArchiveError::NoSuchItem(id.to_owned()))?;
    if item.archive().0 {
        return Err(ArchiveError::AlreadyArchived(id.to_owned()));
    }
    mark(item, at, reason);
    let goals_to_review = if plan.needs.iter().any(|n| n.id == id) {
        plan.goals
            .iter()
            .filter(|g| !g.archived && g.need_ids.iter().any(|n| n == id))
            .map(|g| g.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    Ok(Archived { archived: vec![id.to_owned()], moved: Vec::new(), goals_to_review })
}

/// Archives a goal and decides the fate of its actions.
pub fn archive_goal(
    plan: &mut CarePlan,
    goal_id: &str,
    at: &str,
    reason: Option<&str>,
    actions: GoalActions,
) -> Result<Archived, ArchiveError> {
    let goal = plan
        .goals
        .iter()
        .find(|g| g.id == goal_id)
        .ok_or_else(|| ArchiveError::NoSuchItem(goal_id.to_owned()))?;
    if goal.archived {
        return Err(ArchiveError::AlreadyArchived(goal_id.to_owned()));
    }
    if let GoalActions::MoveTo(target) = &actions {
        let target_goal = plan
            .goals
            .iter()
            .find(|g| &g.id == target && g.id != goal_id)
            .ok_or_else(|| ArchiveError::NoSuchGoal(target.clone()))?;
        if target_goal.archived {
            return Err(ArchiveError::TargetArchived(target.clone()));
        }
    }
    let active_goals: HashSet<String> = plan
        .goals
        .iter()
        .filter(|g| !g.archived && g.id != goal_id)
        .map(|g| g.id.clone())
        .collect();

    let mut done = Archived { archived: vec![goal_id.to_owned()], ..Archived::default() };
    for action in plan.actions.iter_mut().filter(|a| !a.archived && a.goal_ids.iter().any(|g| g == goal_id)) {
        if action.goal_ids.iter().any(|g| active_goals.contains(g)) {
            continue;
        }
        match &actions {
            GoalActions::MoveTo(target) if !finished(action) => {
                for g in action.goal_ids.iter_mut().filter(|g| *g == goal_id) {
                    *g = target.clone();
                }
                action.goal_ids.dedup();
                done.moved.push(action.id.clone());
            }
            _ => {
                mark(action, at, reason);
                done.archived.push(action.id.clone());
            }
        }
    }
    let goal = plan.goals.iter_mut().find(|g| g.id == goal_id).expect("found above");
    mark(goal, at, reason);
    Ok(done)
}

/// The plan as its active view shows it: archived items left out, with the
/// comments, stage goals and outcomes they hold, and links to them dropped.
/// An action left with no active goal is left out too, since the view shows
/// actions under their goals.
pub fn active_view(plan: &CarePlan) -> CarePlan {
    let mut view = plan.clone();
    let keep_comments = |list: &mut Vec<Comment>| list.retain(|c| !c.archived);
    view.strengths.retain(|s| !s.archived);
    view.needs.retain(|n| !n.archived);
    view.goals.retain(|g| !g.archived);
    view.actions.retain(|a| !a.archived);
    view.attachments.retain(|a| !a.archived);
    view.other_care_planning_documents.retain(|d| !d.archived);
    keep_comments(&mut view.comments);
    for s in &mut view.strengths {
        keep_comments(&mut s.comments);
    }
    for n in &mut view.needs {
        keep_comments(&mut n.comments);
    }
    for g in &mut view.goals {
        keep_comments(&mut g.comments);
        g.stage_goals.retain(|s| !s.archived);
        g.outcomes.retain(|o| !o.archived);
        for s in &mut g.stage_goals {
            keep_comments(&mut s.comments);
        }
        for o in &mut g.outcomes {
            keep_comments(&mut o.comments);
        }
    }
    for a in &mut view.actions {
        keep_comments(&mut a.comments);
    }

    let needs: HashSet<String> = view.needs.iter().map(|n| n.id.clone()).collect();
    for g in &mut view.goals {
        g.need_ids.retain(|n| needs.contains(n));
    }
    let goals: HashSet<String> = view.goals.iter().map(|g| g.id.clone()).collect();
    for a in &mut view.actions {
        a.goal_ids.retain(|g| goals.contains(g));
    }
    for s in &mut view.strengths {
        s.goal_ids.retain(|g| goals.contains(g));
    }
    view.actions.retain(|a| !a.goal_ids.is_empty());

    let present: HashSet<String> = super::items(&view)
        .into_iter()
        .map(|(_, id, _)| id.to_owned())
        .collect();
    for a in &mut view.attachments {
        a.item_ids.retain(|i| present.contains(i));
    }
    view
}

/// What posting a plan over a stored one did to the items the post left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CarriedOver {
    /// Archived items the post left out, kept as they were.
    pub kept: Vec<String>,
    /// Active items the post left out, archived now (with the reason recorded).
    pub archived: Vec<String>,
}

/// The reason recorded on an item archived because a post left it out.
pub fn left_out_reason(at: &str) -> String {
    format!("Left out of the plan posted at {at}; archived so that nothing is lost")
}

/// Brings into a posted plan everything of the stored plan the post left
/// out, so that posting a plan never loses an item: an archived item stays
/// as it was (an active view posted back keeps the archive), an active item
/// is archived at `at` with [`left_out_reason`]. Links the active view drops
/// (a goal's need that was archived, an action's or a strength's archived
/// goal, what an attachment is about) are restored where they point at an archived item.
pub fn carry_over(posted: &mut CarePlan, stored: &CarePlan, at: &str) -> CarriedOver {
    let mut out = CarriedOver::default();
    // Who prepared and who entered a record are facts about it, not items:
    // a post that leaves them out (as a view that could not show them does) keeps them.
    if posted.performing_professional.is_none() {
        posted.performing_professional = stored.performing_professional.clone();
    }
    if posted.person_completing_record.is_none() {
        posted.person_completing_record = stored.person_completing_record.clone();
    }
    if let (Some(p), Some(s)) = (posted.consent_for_information_sharing.as_mut(), stored.consent_for_information_sharing.as_ref()) {
        if p.performing_professional.is_none() {
            p.performing_professional = s.performing_professional.clone();
        }
        if p.person_completing_record.is_none() {
            p.person_completing_record = s.person_completing_record.clone();
        }
    }
    let reason = left_out_reason(at);
    let mut sweep = Sweep { at, reason: &reason, out: &mut out };
    sweep.list(&mut posted.strengths, &stored.strengths, |s| &s.id, |p, s, w| w.comments(&mut p.comments, &s.comments));
    sweep.list(&mut posted.needs, &stored.needs, |n| &n.id, |p, s, w| w.comments(&mut p.comments, &s.comments));
    sweep.list(&mut posted.goals, &stored.goals, |g| &g.id, |p, s, w| {
        w.comments(&mut p.comments, &s.comments);
        w.list(&mut p.stage_goals, &s.stage_goals, |x| &x.id, |p, s, w| w.comments(&mut p.comments, &s.comments));
        w.list(&mut p.outcomes, &s.outcomes, |x| &x.id, |p, s, w| w.comments(&mut p.comments, &s.comments));
    });
    sweep.list(&mut posted.actions, &stored.actions, |a| &a.id, |p, s, w| w.comments(&mut p.comments, &s.comments));
    sweep.comments(&mut posted.comments, &stored.comments);
    sweep.list(&mut posted.attachments, &stored.attachments, |a| &a.id, |_, _, _| {});
    sweep.list(&mut posted.other_care_planning_documents, &stored.other_care_planning_documents, |d| &d.id, |_, _, _| {});

    let archived: HashSet<String> = super::items(posted)
        .into_iter()
        .filter(|(_, _, item)| item.archive().0)
        .map(|(_, id, _)| id.to_owned())
        .collect();
    let restore = |links: &mut Vec<String>, stored_links: &[String]| {
        for l in stored_links {
            if archived.contains(l) && !links.contains(l) {
                links.push(l.clone());
            }
        }
    };
    for g in &mut posted.goals {
        if let Some(s) = stored.goals.iter().find(|s| s.id == g.id) {
            restore(&mut g.need_ids, &s.need_ids);
        }
    }
    for a in &mut posted.actions {
        if let Some(s) = stored.actions.iter().find(|s| s.id == a.id) {
            restore(&mut a.goal_ids, &s.goal_ids);
        }
    }
    for st in &mut posted.strengths {
        if let Some(s) = stored.strengths.iter().find(|s| s.id == st.id) {
            restore(&mut st.goal_ids, &s.goal_ids);
        }
    }
    for a in &mut posted.attachments {
        if let Some(s) = stored.attachments.iter().find(|s| s.id == a.id) {
            restore(&mut a.item_ids, &s.item_ids);
        }
    }
    out
}

struct Sweep<'a> {
    at: &'a str,
    reason: &'a str,
    out: &'a mut CarriedOver,
}

impl Sweep<'_> {
    /// Items of `stored` missing from `posted` go back in at their stored
    /// place; items in both are swept inside by `inner`.
    fn list<T: Clone + Archivable>(
        &mut self,
        posted: &mut Vec<T>,
        stored: &[T],
        id: impl Fn(&T) -> &String,
        mut inner: impl FnMut(&mut T, &T, &mut Sweep<'_>),
    ) {
        for (place, s) in stored.iter().enumerate() {
            match posted.iter().position(|p| id(p) == id(s)) {
                Some(i) => inner(&mut posted[i], s, self),
                None => {
                    let mut item = s.clone();
                    if item.archive().0 {
                        self.out.kept.push(id(s).clone());
                    } else {
                        mark(&mut item, self.at, Some(self.reason));
                        self.out.archived.push(id(s).clone());
                    }
                    posted.insert(place.min(posted.len()), item);
                }
            }
        }
    }

    fn comments(&mut self, posted: &mut Vec<Comment>, stored: &[Comment]) {
        self.list(posted, stored, |c| &c.id, |_, _, _| {});
    }
}
