//! SMART on FHIR scopes, v1 (`patient/CarePlan.read`, `.write`, `.*`) and
//! v2 (`patient/CarePlan.rs`, `user/*.cruds`), in the contexts `patient`,
//! `user` and `system`.
//!
//! Rules kept deliberately small:
//! - v1 `read` grants read and search, `write` grants create, update and
//!   delete, `*` grants all five; v2 letters grant what they name (`c r u d s`,
//!   in that order, any subset).
//! - A resource type `*` covers every type except `AuditEvent`: the audit
//!   trail is read only with a scope that names it (`user/AuditEvent.rs`).
//! - v2 scopes with parameters (`patient/Observation.rs?category=…`) are not
//!   supported and grant nothing (never more than they say); so do scopes of
//!   other shapes (`openid`, `launch/patient`, `fhirUser`, `offline_access`).
//! - A `patient/` scope grants access inside the token's patient compartment
//!   only; `user/` and `system/` scopes grant it on every resource (the
//!   person's consent still applies).

/// What an interaction needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Permission {
    pub fn letter(self) -> char {
        match self {
            Permission::Create => 'c',
            Permission::Read => 'r',
            Permission::Update => 'u',
            Permission::Delete => 'd',
            Permission::Search => 's',
        }
    }

    /// The word for it in messages.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Create => "create",
            Permission::Read => "read",
            Permission::Update => "update",
            Permission::Delete => "delete",
            Permission::Search => "search",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScopeContext {
    Patient,
    User,
    System,
}

/// How far a grant reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    None,
    /// Only resources in the token's patient compartment.
    Compartment,
    All,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub context: ScopeContext,
    /// `None` is `*`.
    pub res_type: Option<String>,
    /// Letters of `cruds` granted.
    pub perms: String,
}

impl Scope {
    /// One scope string; `None` for scopes that grant no resource access here.
    pub fn parse(s: &str) -> Option<Scope> {
        let (context, rest) = s.split_once('/')?;
        let context = match context {
            "patient" => ScopeContext::Patient,
            "user" => ScopeContext::User,
            "system" => ScopeContext::System,
            _ => return None,
        };
        if rest.contains('?') {
            return None;
        }
        let (res_type, access) = rest.split_once('.')?;
        let res_type = match res_type {
            "*" => None,
            t if !t.is_empty() && t.starts_with(|c: char| c.is_ascii_uppercase()) && t.chars().all(|c| c.is_ascii_alphanumeric()) => Some(t.to_string()),
            _ => return None,
        };
        let perms = match access {
            "read" => "rs".to_string(),
            "write" => "cud".to_string(),
            "*" => "cruds".to_string(),
            letters => {
                // v2: a non-empty subsequence of "cruds".
                let mut rest = "cruds";
                for c in letters.chars() {
                    let at = rest.find(c)?;
                    rest = &rest[at + 1..];
                }
                if letters.is_empty() {
                    return None;
                }
                letters.to_string()
            }
        };
        Some(Scope { context, res_type, perms })
    }

    fn covers(&self, res_type: &str, p: Permission) -> bool {
        let type_ok = match &self.res_type {
            Some(t) => t == res_type,
            None => res_type != "AuditEvent",
        };
        type_ok && self.perms.contains(p.letter())
    }
}

/// The scopes of a token.
#[derive(Clone, Debug, Default)]
pub struct Scopes {
    pub list: Vec<Scope>,
    /// Everything, without a token: open mode only.
    pub open: bool,
}

impl Scopes {
    /// A `scope` claim: space-separated (RFC 6749 §3.3), or a JSON array of
    /// single scopes. Nothing else separates scopes: a tab or newline makes
    /// the item no scope at all, so the server never reads more into a
    /// claim than a gateway splitting on spaces would.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Scopes {
        let list = items
            .into_iter()
            .flat_map(|item| item.split(' '))
            .filter(|s| !s.is_empty() && !s.chars().any(char::is_whitespace))
            .filter_map(Scope::parse)
            .collect();
        Scopes { list, open: false }
    }

    pub fn open() -> Scopes {
        Scopes { list: Vec::new(), open: true }
    }

    /// How far these scopes let `p` reach on `res_type`.
    pub fn grant(&self, res_type: &str, p: Permission) -> Grant {
        if self.open {
            return Grant::All;
        }
        self.list
            .iter()
            .filter(|s| s.covers(res_type, p))
            .map(|s| if s.context == ScopeContext::Patient { Grant::Compartment } else { Grant::All })
            .max()
            .unwrap_or(Grant::None)
    }

    /// Whether any scope is patient-context (the token then needs a `patient` claim).
    pub fn has_patient_context(&self) -> bool {
        self.list.iter().any(|s| s.context == ScopeContext::Patient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_scopes_grant_what_they_say() {
        let s = Scopes::parse(["openid fhirUser launch/patient patient/CarePlan.read user/Goal.cu system/*.rs patient/Observation.rs?category=x"]);
        assert_eq!(s.list.len(), 3);
        assert_eq!(s.grant("CarePlan", Permission::Read), Grant::All, "system/*.rs covers CarePlan too");
        assert_eq!(s.grant("CarePlan", Permission::Delete), Grant::None);
        assert_eq!(s.grant("Goal", Permission::Create), Grant::All);
        assert_eq!(s.grant("Goal", Permission::Delete), Grant::None);
        assert_eq!(s.grant("AuditEvent", Permission::Read), Grant::None, "* does not cover the audit trail");
        assert_eq!(s.grant("Observation", Permission::Search), Grant::All);
        let p = Scopes::parse(["patient/*.*"]);
        assert_eq!(p.grant("Condition", Permission::Update), Grant::Compartment);
        assert!(p.has_patient_context());
        assert_eq!(Scope::parse("user/Patient.sr"), None, "v2 letters come in cruds order");
        assert_eq!(Scope::parse("user/Patient."), None);
        assert_eq!(Scope::parse("user/patient.read"), None);
        assert_eq!(Scopes::parse(["user/AuditEvent.rs"]).grant("AuditEvent", Permission::Search), Grant::All);
    }
}
