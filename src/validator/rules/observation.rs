//! An Observation's best-practice checks, as the reference's
//! ObservationValidator makes them: every Observation should say whom it
//! is about, who made it and when. They are reported at the severity
//! `--best-practice` gives best-practice rules (a warning by default, as
//! the reference's), or not at all when it is `ignore`.

use crate::issue::{IssueCode, Severity};
use crate::tree::Node;
use crate::validator::element::Walk;

pub(super) fn check_observation(walk: &mut Walk<'_, '_>, node: &Node) {
    let Some(severity) = walk.v.options().best_practice else { return };
    let report = |walk: &mut Walk<'_, '_>, msg: &str| match severity {
        Severity::Error | Severity::Fatal => walk.error(node, IssueCode::Invalid, msg.to_string()),
        Severity::Warning => walk.warn(node, IssueCode::Invalid, msg.to_string()),
        Severity::Information => walk.inform(node, IssueCode::Invalid, msg.to_string()),
    };
    if node.child("subject").is_none() {
        // All_observations_should_have_a_subject
        report(walk, "Best Practice Recommendation: In general, all observations should have a subject");
    }
    if node.child("performer").is_none() {
        // All_observations_should_have_a_performer
        report(walk, "Best Practice Recommendation: In general, all observations should have a performer");
    }
    let effective = ["effectiveDateTime", "effectivePeriod", "effectiveTiming", "effectiveInstant"];
    if !node.children.iter().any(|c| effective.contains(&c.name.as_str())) {
        // All_observations_should_have_an_effectiveDateTime_or_an_effectivePeriod (the
        // reference fills in the type summary of the resource's root, which is
        // empty; the types effective[x] takes are shown here)
        report(walk, &format!("Best Practice Recommendation: In general, all observations should have an effective[x] ({})", "dateTime | Period | Timing | instant"));
    }
}
