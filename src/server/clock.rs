//! Server time: milliseconds since the epoch, as FHIR instants and HTTP dates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `2026-11-25T14:03:07.123Z`: what `meta.lastUpdated` holds.
pub fn instant(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = crate::fhirpath::value::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000)
}

/// `Wed, 25 Nov 2026 14:03:07 GMT`: what `Last-Modified` holds.
pub fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_utc_with_milliseconds() {
        assert_eq!(super::instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::instant(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(super::http_date(1_700_000_000_123), "Tue, 14 Nov 2023 22:13:20 GMT");
    }
}
