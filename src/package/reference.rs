//! `name#version` package references.

use std::fmt;
use std::str::FromStr;

use super::PackageError;

/// A package asked for by name and, optionally, version (`None` = latest).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageRef {
    pub name: String,
    pub version: Option<String>,
}

impl PackageRef {
    pub fn new(name: impl Into<String>, version: Option<&str>) -> Self {
        PackageRef {
            name: name.into(),
            version: version.map(str::to_string),
        }
    }
}

/// Names and versions become folder names in the cache, so they must not be
/// able to point anywhere else.
pub(crate) fn check_segment(input: &str, what: &str, s: &str) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::InvalidReference {
        input: input.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(bad(format!("the {what} is empty")));
    }
    if s == "." || s == ".." || s.contains("..") {
        return Err(bad(format!("the {what} contains `..`")));
    }
    if let Some(c) = s.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '/' | '\\' | '#' | '@' | ':' | '*' | '?' | '"' | '<' | '>' | '|'
            )
    }) {
        return Err(bad(format!("the {what} contains {c:?}")));
    }
    Ok(())
}

impl FromStr for PackageRef {
    type Err = PackageError;

    /// Accepts `name#version`, `name@version` and `name`. An empty version
    /// or `latest` means the latest version.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        let (name, version) = if let Some((n, v)) = s.split_once('#') {
            (n, Some(v))
        } else if let Some(i) = s.rfind('@').filter(|&i| i > 0) {
            (&s[..i], Some(&s[i + 1..]))
        } else {
            (s, None)
        };
        check_segment(input, "name", name)?;
        let version = match version {
            None | Some("") | Some("latest") => None,
            Some(v) => {
                check_segment(input, "version", v)?;
                Some(v.to_string())
            }
        };
        Ok(PackageRef {
            name: name.to_string(),
            version,
        })
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}#{}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hash_at_and_bare_forms() {
        let r: PackageRef = "hl7.fhir.r4.core#4.0.1".parse().unwrap();
        assert_eq!(r, PackageRef::new("hl7.fhir.r4.core", Some("4.0.1")));
        assert_eq!(r.to_string(), "hl7.fhir.r4.core#4.0.1");

        let r: PackageRef = "hl7.fhir.uv.extensions.r4@5.3.0-ballot-tc1"
            .parse()
            .unwrap();
        assert_eq!(
            r,
            PackageRef::new("hl7.fhir.uv.extensions.r4", Some("5.3.0-ballot-tc1"))
        );
        assert_eq!(r.to_string(), "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1");

        let r: PackageRef = " hl7.terminology.r4 ".parse().unwrap();
        assert_eq!(r, PackageRef::new("hl7.terminology.r4", None));
        assert_eq!(r.to_string(), "hl7.terminology.r4");

        assert_eq!("a.b#latest".parse::<PackageRef>().unwrap().version, None);
        assert_eq!("a.b#".parse::<PackageRef>().unwrap().version, None);
    }

    #[test]
    fn rejects_names_that_could_escape_the_cache() {
        for bad in [
            "",
            "#1.0.0",
            "../evil#1.0.0",
            "a/b#1.0",
            "a#../../x",
            "a#1/2",
            "a b#1",
            "a#1#2",
            "@1.0",
        ] {
            let e = bad.parse::<PackageRef>();
            assert!(e.is_err(), "{bad:?} should be rejected, got {e:?}");
        }
        let msg = "a/b#1".parse::<PackageRef>().unwrap_err().to_string();
        assert!(msg.contains("name#version"), "{msg}");
    }
}
