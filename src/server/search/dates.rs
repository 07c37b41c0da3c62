//! Dates as the ranges they stand for: `2026-11` is the whole of November.
//! Index rows and search values are both ranges in epoch milliseconds, so
//! every date comparison the search prefixes need is two integer tests.

use crate::fhirpath::value::{days_from_civil, parse_temporal, Kind, Precision};

const DAY: i64 = 86_400_000;

/// The first and last millisecond of a FHIR date, dateTime or instant
/// (a time without a zone is taken as UTC).
pub fn range(text: &str) -> Option<(i64, i64)> {
    let kind = if text.contains('T') { Kind::DateTime } else { Kind::Date };
    let t = parse_temporal(text.trim(), kind)?;
    let days = days_from_civil(t.year, t.month, t.day);
    let offset = t.tz.unwrap_or(0) as i64 * 60_000;
    let start = ((days * 24 + t.hour as i64) * 60 + t.minute as i64) * 60_000 + t.second as i64 * 1000 + t.millis as i64 - offset;
    let next = match t.precision {
        Precision::Year => days_from_civil(t.year + 1, 1, 1) * DAY - offset,
        Precision::Month if t.month == 12 => days_from_civil(t.year + 1, 1, 1) * DAY - offset,
        Precision::Month => days_from_civil(t.year, t.month + 1, 1) * DAY - offset,
        Precision::Day => start + DAY,
        Precision::Hour => start + 3_600_000,
        Precision::Minute => start + 60_000,
        Precision::Second => start + 1000,
        Precision::Millis => start + 1,
    };
    Some((start, next - 1))
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn a_partial_date_covers_its_whole_period() {
        let (lo, hi) = range("2026-11").unwrap();
        assert_eq!(lo, range("2026-11-01").unwrap().0);
        assert_eq!(hi, range("2026-11-30").unwrap().1);
        assert_eq!(range("2026-12").unwrap().1 + 1, range("2027").unwrap().0);
        let (lo, hi) = range("2026-11-25T10:00:00+01:00").unwrap();
        assert_eq!(lo, range("2026-11-25T09:00:00Z").unwrap().0);
        assert_eq!(hi - lo, 999);
        assert!(range("not a date").is_none());
    }
}
