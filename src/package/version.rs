//! Ordering of package version strings (semver-like: 1.2.10 > 1.2.9, and a
//! release is newer than its pre-releases: 5.3.0 > 5.3.0-ballot).

use std::cmp::Ordering;

fn cmp_part(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        // Numeric identifiers sort before alphanumeric ones (semver rule).
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

fn cmp_dotted(a: &str, b: &str) -> Ordering {
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match cmp_part(x, y) {
                Ordering::Equal => continue,
                o => return o,
            },
        }
    }
}

/// Compare two version strings. Total order; equal only for equal strings.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ra, pa) = split_pre(a);
    let (rb, pb) = split_pre(b);
    let o = cmp_dotted(ra, rb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => cmp_dotted(x, y),
    });
    o.then_with(|| a.cmp(b))
}

fn split_pre(v: &str) -> (&str, Option<&str>) {
    let v = v.split('+').next().unwrap_or(v);
    match v.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (v, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_versions_like_semver() {
        let mut v = vec![
            "5.3.0-ballot-tc1",
            "1.10.0",
            "5.2.0",
            "1.9.0",
            "5.3.0",
            "4.0.1",
            "6.5.0",
            "5.3.0-ballot",
        ];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            [
                "1.9.0",
                "1.10.0",
                "4.0.1",
                "5.2.0",
                "5.3.0-ballot",
                "5.3.0-ballot-tc1",
                "5.3.0",
                "6.5.0"
            ]
        );
    }
}
