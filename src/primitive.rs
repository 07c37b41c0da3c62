//! Lexical rules of the FHIR R4 primitive types.
//!
//! Hand-written checkers (no regex crate): each is a single linear pass over
//! the text, following the regular expressions published with FHIR R4 plus
//! the rules the regexes cannot express (calendar days and leap years,
//! integer ranges, the 1 MiB limit on strings). Numbers are never converted
//! to floating point: a decimal is checked as text, so its exact spelling is
//! what is judged. Messages follow the wording of the HL7 Java validator
//! where it has one, with the reason added.

/// Every FHIR R4 primitive type code (plus `integer64`, new in R5).
pub const PRIMITIVE_TYPES: &[&str] = &[
    "base64Binary",
    "boolean",
    "canonical",
    "code",
    "date",
    "dateTime",
    "decimal",
    "id",
    "instant",
    "integer",
    "integer64",
    "markdown",
    "oid",
    "positiveInt",
    "string",
    "time",
    "unsignedInt",
    "uri",
    "url",
    "uuid",
    "xhtml",
];

/// The largest string value accepted: 1 MiB of UTF-8.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

pub fn is_primitive(type_code: &str) -> bool {
    PRIMITIVE_TYPES.contains(&type_code)
}

/// Checks `text` against the lexical rules of the primitive type `type_code`.
/// Unknown type codes (complex types, FHIRPath system types) pass.
pub fn check(type_code: &str, text: &str) -> Result<(), String> {
    match type_code {
        "boolean" => match text {
            "true" | "false" => Ok(()),
            _ => Err(format!("Boolean values must be 'true' or 'false' (found '{}')", show(text))),
        },
        "integer" => check_int(text, "integer", i32::MIN as i64, i32::MAX as i64, false),
        "integer64" => check_int(text, "integer64", i64::MIN, i64::MAX, true),
        "positiveInt" => check_int(text, "positiveInt", 1, i32::MAX as i64, true),
        "unsignedInt" => check_int(text, "unsignedInt", 0, i32::MAX as i64, false),
        "decimal" => check_decimal(text),
        "date" => check_date(text),
        "dateTime" => check_date_time(text),
        "instant" => check_instant(text),
        "time" => check_time(text),
        "base64Binary" => check_base64(text),
        "uri" | "url" => check_uri(text, type_code),
        "canonical" => check_canonical(text),
        "oid" => check_oid(text),
        "uuid" => check_uuid(text),
        "id" => check_id(text),
        "code" => check_code(text),
        "string" => check_string(text, "string", Some(MAX_STRING_BYTES)),
        "markdown" => check_string(text, "markdown", None),
        _ => Ok(()),
    }
}

/// Today shifted by an amount of a UCUM time unit (`a`, `mo`, `wk`, `d`),
/// as `YYYY-MM-DD` (UTC).
pub fn today_shifted(amount: f64, unit: &str) -> Option<String> {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let (y, m, d) = match unit {
        "a" => (y + amount.trunc() as i64, m, d),
        "mo" => {
            let months = y * 12 + (m as i64 - 1) + amount.trunc() as i64;
            (months.div_euclid(12), (months.rem_euclid(12) + 1) as u32, d)
        }
        "wk" | "d" => {
            let days = if unit == "wk" { amount * 7.0 } else { amount };
            civil_from_days(secs.div_euclid(86_400) + days.trunc() as i64)
        }
        _ => return None,
    };
    // 29 February in a year without one, or day 31 in a shorter month: the month's last day.
    let last = days_in_month(u32::try_from(y).ok()?, m);
    Some(format!("{y:04}-{m:02}-{:02}", d.min(last)))
}

/// The current moment as a FHIR instant in UTC, to the millisecond
/// (`2026-11-25T14:40:05.123Z`).
pub fn now_rfc3339() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

/// The reference's absolute URI: `http`, `https`, `urn` or a lower-case
/// token scheme (a letter, then letters, digits, `_`, `[`, `]`), then
/// something without spaces.
pub fn is_absolute_url(s: &str) -> bool {
    let Some((scheme, details)) = s.split_once(':') else { return false };
    let token = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "_[]".contains(c));
    let iso = ["urn:iso:", "urn:iso-iec:", "urn:iso-cie:", "urn:iso-astm:", "urn:iso-ieee:", "urn:iec:"].iter().any(|p| s.starts_with(p));
    let scheme_ok = matches!(scheme, "http" | "https" | "urn") || (token && scheme == scheme.to_ascii_lowercase()) || iso;
    scheme_ok && !details.is_empty() && !details.contains(' ')
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// The value as shown in a message: cut short if long, control characters escaped.
fn show(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 100 {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn all_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

// ---------- numbers ----------

fn check_int(text: &str, ty: &str, min: i64, max: i64, plus_allowed: bool) -> Result<(), String> {
    // As the reference: integer, unsignedInt and positiveInt are all read as
    // a 32-bit integer first (Type_Specific_Checks_DT_Integer_Valid), integer64
    // as a 64-bit one (Type_Specific_Checks_DT_Integer64_Valid).
    let bad = |why: &str| {
        if ty == "integer64" {
            Err(format!("The value '{}' is not a valid integer64 ({why})", show(text)))
        } else {
            Err(format!("The value '{}' is not a valid integer ({why})", show(text)))
        }
    };
    let b = text.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') if plus_allowed => (false, &b[1..]),
        _ => (false, b),
    };
    if !all_digits(digits) {
        return bad(if text.is_empty() { "empty" } else { "only digits, with an optional leading '-', are allowed" });
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return bad("leading zeros are not allowed");
    }
    if neg && digits == b"0" {
        return bad("'-0' is not allowed");
    }
    // At most 19 significant digits fit an i64; anything longer is out of range.
    let v: Option<i128> = if digits.len() > 20 {
        None
    } else {
        let mut v: i128 = 0;
        for &d in digits {
            v = v * 10 + (d - b'0') as i128;
        }
        Some(if neg { -v } else { v })
    };
    let (lo, hi) = if ty == "integer64" { (i64::MIN as i128, i64::MAX as i128) } else { (i32::MIN as i128, i32::MAX as i128) };
    match v {
        Some(v) if v >= min as i128 && v <= max as i128 => Ok(()),
        // Type_Specific_Checks_DT_Integer_LT0
        Some(v) if v >= lo && v <= hi && min == 0 => Err("value is less than permitted minimum value of 0".to_string()),
        // Type_Specific_Checks_DT_Integer_LT1
        Some(v) if v >= lo && v <= hi && min == 1 => Err("value is less than permitted minimum value of 1".to_string()),
        _ => bad(&format!("must be between {min} and {max}")),
    }
}

fn check_decimal(text: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("The value '{}' is not a valid decimal ({why})", show(text)));
    let b = text.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i = 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int = &b[int_start..i];
    if int.is_empty() {
        return bad(if text.is_empty() { "empty" } else { "a digit must come first, after an optional '-'" });
    }
    if int.len() > 1 && int[0] == b'0' {
        return bad("leading zeros are not allowed");
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return bad("digits must follow the decimal point");
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return bad("digits must follow the exponent marker");
        }
    }
    if i != b.len() {
        return bad(&format!("unexpected character '{}'", show(&text[i..].chars().next().map(String::from).unwrap_or_default())));
    }
    Ok(())
}

// ---------- dates and times ----------

fn is_leap(y: u32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

fn num(b: &[u8]) -> u32 {
    b.iter().fold(0, |v, d| v * 10 + (d - b'0') as u32)
}

/// Reads exactly `n` digits at `*i`.
fn digits(b: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let s = b.get(*i..*i + n)?;
    if !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *i += n;
    Some(num(s))
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> bool {
    if b.get(*i) == Some(&c) {
        *i += 1;
        true
    } else {
        false
    }
}

/// Parses `YYYY[-MM[-DD]]` from the start; returns how many parts (1-3) were present.
fn parse_date(b: &[u8], i: &mut usize) -> Result<u8, String> {
    let y = digits(b, i, 4).ok_or("the year must be four digits")?;
    if y == 0 {
        return Err("year 0000 is not allowed".into());
    }
    if b.get(*i) != Some(&b'-') {
        return Ok(1);
    }
    *i += 1;
    let m = digits(b, i, 2).ok_or("the month must be two digits")?;
    if !(1..=12).contains(&m) {
        return Err(format!("month {m:02} does not exist"));
    }
    if b.get(*i) != Some(&b'-') {
        return Ok(2);
    }
    *i += 1;
    let d = digits(b, i, 2).ok_or("the day must be two digits")?;
    if d < 1 || d > days_in_month(y, m) {
        return Err(format!("day {d:02} does not exist in {y:04}-{m:02}"));
    }
    Ok(3)
}

/// Parses `hh:mm:ss[.f+]`.
fn parse_time(b: &[u8], i: &mut usize) -> Result<(), String> {
    let h = digits(b, i, 2).ok_or("the hour must be two digits")?;
    if h > 23 {
        return Err(format!("hour {h:02} is out of range (00-23)"));
    }
    if !expect(b, i, b':') {
        return Err("expected ':' after the hour".into());
    }
    let m = digits(b, i, 2).ok_or("the minutes must be two digits")?;
    if m > 59 {
        return Err(format!("minute {m:02} is out of range (00-59)"));
    }
    if !expect(b, i, b':') {
        return Err("seconds are required (hh:mm:ss)".into());
    }
    let s = digits(b, i, 2).ok_or("the seconds must be two digits")?;
    if s > 60 {
        return Err(format!("second {s:02} is out of range (00-60)"));
    }
    if expect(b, i, b'.') {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == st {
            return Err("digits must follow the '.' of fractional seconds".into());
        }
    }
    Ok(())
}

/// Parses `Z` or `(+|-)hh:mm` with hh 00-13 (any minutes) or exactly 14:00.
fn parse_tz(b: &[u8], i: &mut usize) -> Result<(), String> {
    match b.get(*i) {
        Some(b'Z') => {
            *i += 1;
            Ok(())
        }
        Some(b'+') | Some(b'-') => {
            *i += 1;
            let h = digits(b, i, 2).ok_or("the time zone hour must be two digits")?;
            if !expect(b, i, b':') {
                return Err("the time zone must be written (+|-)hh:mm".into());
            }
            let m = digits(b, i, 2).ok_or("the time zone minutes must be two digits")?;
            if m > 59 || h > 14 || (h == 14 && m != 0) {
                return Err(format!("time zone offset {h:02}:{m:02} is out of range"));
            }
            Ok(())
        }
        None => Err(NO_TIME_ZONE.into()),
        Some(_) => Err("expected a time zone (Z or +hh:mm/-hh:mm)".into()),
    }
}

fn trailing(b: &[u8], i: usize) -> Result<(), String> {
    if i == b.len() {
        Ok(())
    } else {
        Err(format!("unexpected text '{}' at the end", show(&String::from_utf8_lossy(&b[i..]))))
    }
}

fn check_date(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let mut i = 0;
    parse_date(b, &mut i)
        .and_then(|_| trailing(b, i))
        .map_err(|why| format!("Not a valid date format: '{}' ({why})", show(text)))
}

fn date_time_body(b: &[u8], need_full: bool) -> Result<(), String> {
    let mut i = 0;
    let parts = parse_date(b, &mut i)?;
    if i == b.len() && !need_full {
        return Ok(());
    }
    if parts < 3 {
        return Err(if i == b.len() {
            "a full date and time with seconds and a time zone are required".into()
        } else {
            "a time may only follow a full date (YYYY-MM-DD)".into()
        });
    }
    if !expect(b, &mut i, b'T') {
        return Err(if i == b.len() { "a time with seconds and a time zone is required".into() } else { "expected 'T' between date and time".into() });
    }
    parse_time(b, &mut i)?;
    parse_tz(b, &mut i)?;
    trailing(b, i)
}

/// Why a date and time without a time zone is wrong.
const NO_TIME_ZONE: &str = "a time zone (Z or +hh:mm/-hh:mm) is required when a time is given";

fn check_date_time(text: &str) -> Result<(), String> {
    date_time_body(text.as_bytes(), false).map_err(|why| {
        if why == NO_TIME_ZONE {
            // Type_Specific_Checks_DT_DateTime_TZ: the reference's own message when only the zone is missing.
            "If a date has a time, it must have a timezone".to_string()
        } else {
            format!("Not a valid date/time format: '{}' ({why})", show(text))
        }
    })
}

fn check_instant(text: &str) -> Result<(), String> {
    date_time_body(text.as_bytes(), true).map_err(|why| {
        if why.starts_with("day ") {
            // Type_Specific_Checks_DT_Instant_Valid: of the right shape, but no such day.
            format!("Not a valid instant ({}) ({why})", show(text))
        } else {
            // Type_Specific_Checks_DT_DateTime_Regex: not of an instant's shape.
            format!("Not a valid instant format: '{}' ({why})", show(text))
        }
    })
}

fn check_time(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let mut i = 0;
    parse_time(b, &mut i)
        .and_then(|_| trailing(b, i))
        .map_err(|why| format!("Not a valid time ({}) ({why})", show(text)))
}

// ---------- binary and identifiers ----------

/// Which bytes are base64 alphabet (without padding).
const BASE64_ALPHABET: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        i += 1;
    }
    t
};

/// Whether base64 text passes the lexical rules (so its decoded size means something).
pub fn base64_shape_ok(text: &str) -> bool {
    check_base64(text).is_ok()
}

fn check_base64(text: &str) -> Result<(), String> {
    // The usual case, attachments of megabytes: alphabet, then at most two '='.
    let b = text.as_bytes();
    let body = b.iter().position(|&x| !BASE64_ALPHABET[x as usize]).unwrap_or(b.len());
    let tail = &b[body..];
    if !b.is_empty() && b.len() % 4 == 0 && tail.len() <= 2 && tail.iter().all(|&x| x == b'=') {
        return Ok(());
    }
    let bad = |why: String| Err(format!("The value '{}' is not a valid Base64 value ({why})", show(text)));
    let mut n = 0usize; // significant characters seen
    let mut pad = 0usize;
    for c in text.chars() {
        match c {
            ' ' | '\t' | '\r' | '\n' => continue,
            '=' => pad += 1,
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' => {
                if pad > 0 {
                    return bad("'=' padding may only appear at the end".into());
                }
            }
            _ => return bad(format!("illegal base64 character '{}'", c.escape_default())),
        }
        n += 1;
    }
    if n == 0 {
        return bad("empty".into());
    }
    if pad > 2 {
        return bad("at most two '=' padding characters are allowed".into());
    }
    if n % 4 != 0 {
        return bad(format!("the length without whitespace must be a multiple of 4, not {n}"));
    }
    Ok(())
}

fn check_uri(text: &str, ty: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("value cannot be empty (a {ty} has a value or is left out)"));
    }
    // Most URIs are ASCII: one pass over the bytes decides.
    if text.is_ascii() && !text.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Ok(());
    }
    if text.chars().any(char::is_whitespace) {
        return Err(format!("URI values cannot have whitespace('{}')", show(text)));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("URI values cannot have control characters ('{}')", show(text)));
    }
    Ok(())
}

fn check_canonical(text: &str) -> Result<(), String> {
    check_uri(text, "canonical")?;
    if let Some((url, version)) = text.split_once('|') {
        if url.is_empty() {
            return Err(format!("The canonical '{}' has a version but no URL before the '|'", show(text)));
        }
        if version.is_empty() {
            return Err(format!("The canonical '{}' has an empty version after the '|'", show(text)));
        }
        if version.contains('|') {
            return Err(format!("The canonical '{}' has more than one '|'", show(text)));
        }
    }
    Ok(())
}

fn check_oid(text: &str) -> Result<(), String> {
    let Some(rest) = text.strip_prefix("urn:oid:") else {
        return Err(format!("OIDs must start with urn:oid: ('{}')", show(text)));
    };
    let mut arcs = rest.split('.');
    let first = arcs.next().unwrap_or("");
    let ok_first = matches!(first, "0" | "1" | "2");
    let mut count = 0;
    let ok_rest = arcs.all(|a| {
        count += 1;
        all_digits(a.as_bytes()) && (a == "0" || !a.starts_with('0'))
    });
    if ok_first && ok_rest && count >= 1 {
        Ok(())
    } else {
        Err(format!(
            "OIDs must be valid ({}) ('urn:oid:' then 0, 1 or 2, then one or more '.'-separated numbers without leading zeros)",
            show(text)
        ))
    }
}

/// A UUID as FHIR writes it: 8-4-4-4-12 lower-case hex digits.
pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

fn check_uuid(text: &str) -> Result<(), String> {
    let Some(rest) = text.strip_prefix("urn:uuid:") else {
        return Err(format!("UUIDs must start with urn:uuid: ('{}')", show(text)));
    };
    if is_uuid(rest) {
        Ok(())
    } else {
        Err(format!("UUIDs must be valid and lowercase ({})", show(rest)))
    }
}

fn check_id(text: &str) -> Result<(), String> {
    // Type_Specific_Checks_DT_ID_Valid, with why in parentheses.
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 64 {
        return Err(format!("id value '{}' is not valid (an id must be 1 to 64 characters long, found {})", show(text), text.chars().count()));
    }
    if let Some(c) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.')) {
        return Err(format!("id value '{}' is not valid (only A-Z, a-z, 0-9, '-' and '.' are allowed, found '{}')", show(text), c.escape_default()));
    }
    Ok(())
}

fn check_code(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("value cannot be empty (a code has a value or is left out)".into());
    }
    if text.is_ascii() {
        // The same rules on bytes: char::is_whitespace for ASCII is exactly these.
        let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        let b = text.as_bytes();
        let fine = !ws(&b[0]) && !ws(&b[b.len() - 1]) && !b.windows(2).any(|w| ws(&w[0]) && ws(&w[1]));
        if fine {
            return Ok(());
        }
    }
    let ws = |c: char| c.is_whitespace();
    let starts = text.chars().next().is_some_and(ws);
    let ends = text.chars().next_back().is_some_and(ws);
    let mut prev_ws = false;
    let mut run = false;
    for c in text.chars() {
        let w = ws(c);
        if w && prev_ws {
            run = true;
        }
        prev_ws = w;
    }
    if starts || ends || run {
        let why = if starts || ends { "leading or trailing whitespace" } else { "more than one whitespace character in a row" };
        return Err(format!("The code '{}' is not valid (whitespace rules) ({why})", show(text)));
    }
    Ok(())
}

fn check_string(text: &str, ty: &str, max: Option<usize>) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("value cannot be empty (a {ty} has a value or is left out)"));
    }
    if let Some(max) = max {
        if text.len() > max {
            return Err(format!(
                "value is longer than permitted maximum length of 1 MB (1048576 bytes) (the {ty} has {} bytes)",
                text.len()
            ));
        }
    }
    // Control characters below U+0020 are single bytes in UTF-8: scan bytes.
    if !text.bytes().any(|b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) {
        return Ok(());
    }
    if let Some(c) = text.chars().find(|&c| (c as u32) < 0x20 && !matches!(c, '\t' | '\r' | '\n')) {
        return Err(format!(
            "The {ty} value '{}' contains the illegal control character U+{:04X} (only tab, CR and LF are allowed)",
            show(text),
            c as u32
        ));
    }
    Ok(())
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn civil_dates_from_day_numbers() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn shifting_today_keeps_the_form_and_the_direction() {
        let now = today_shifted(0.0, "d").unwrap();
        let later = today_shifted(10.0, "a").unwrap();
        let earlier = today_shifted(-100.0, "a").unwrap();
        assert_eq!(now.len(), 10);
        assert!(earlier < now && now < later, "{earlier} {now} {later}");
        assert!(today_shifted(1.0, "h").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(ty: &str, valid: &[&str], invalid: &[&str]) {
        for v in valid {
            assert!(check(ty, v).is_ok(), "{ty} should accept {v:?}: {:?}", check(ty, v));
        }
        for v in invalid {
            let e = check(ty, v);
            assert!(e.is_err(), "{ty} should reject {v:?}");
        }
    }

    #[test]
    fn boolean() {
        table("boolean", &["true", "false"], &["", "True", "1", "yes", " true", "false "]);
    }

    #[test]
    fn integer() {
        table(
            "integer",
            &["0", "1", "-1", "2147483647", "-2147483648", "100"],
            &["", "-", "+1", "01", "-0", "00", "1.0", "1e3", "2147483648", "-2147483649", "99999999999999999999999", " 1", "1 ", "a"],
        );
        let e = check("integer", "2147483648").unwrap_err();
        assert!(e.contains("'2147483648' is not a valid integer"), "{e}");
    }

    #[test]
    fn integer64() {
        table(
            "integer64",
            &["0", "-9223372036854775808", "9223372036854775807", "+5"],
            &["9223372036854775808", "-9223372036854775809", "01", "", "1.5"],
        );
    }

    #[test]
    fn positive_and_unsigned_int() {
        table("positiveInt", &["1", "+1", "2147483647", "42"], &["0", "-1", "01", "2147483648", "", "+0", "1.0"]);
        table("unsignedInt", &["0", "1", "2147483647"], &["-1", "+1", "00", "2147483648", "", "-0"]);
    }

    #[test]
    fn decimal() {
        table(
            "decimal",
            &["0", "-0", "0.0", "1", "-1.5", "1e10", "1E10", "1.5e-3", "1.5E+3", "0.00001", "123456789012345678901234567890.123456789012345678901234567890", "10"],
            &["", "-", "00.5", "01", ".5", "5.", "1e", "1e+", "+1", "1.2.3", "1,5", " 1", "1 ", "NaN", "Infinity", "0x10", "1e1.5", "--1"],
        );
    }

    #[test]
    fn date() {
        table(
            "date",
            &["2023", "2023-01", "2023-01-31", "2024-02-29", "2000-02-29", "0001", "9999-12-31", "2023-04-30"],
            &[
                "", "23", "20230", "0000", "2023-1", "2023-13", "2023-00", "2023-01-00", "2023-01-32", "2023-02-29", "1900-02-29",
                "2023-04-31", "2023-01-01T10:00:00Z", "2023/01/01", "2023-01-01 ", "2023-", "2023-01-",
            ],
        );
        assert!(check("date", "2023-02-29").unwrap_err().contains("'2023-02-29'"));
    }

    #[test]
    fn date_time() {
        table(
            "dateTime",
            &[
                "2023", "2023-05", "2023-05-06", "2023-01-01T10:00:00Z", "2023-01-01T10:00:00+01:00", "2023-01-01T10:00:00.123-05:30",
                "2023-01-01T23:59:60Z", "2023-01-01T00:00:00+14:00", "2023-01-01T00:00:00-13:59", "2024-02-29T12:00:00Z",
                "2023-01-01T10:00:00.123456789Z",
            ],
            &[
                "", "2023-01-01T10:00:00", "2023-01-01T24:00:00Z", "2023-01-01T10:00Z", "2023-01-01T10:60:00Z", "2023-01-01T10:00:61Z",
                "2023-01-01T10:00:00+14:30", "2023-01-01T10:00:00+15:00", "2023-01-01T10:00:00+0100", "2023-01-01T10:00:00.Z",
                "2023-01T10:00:00Z", "2023-02-29T10:00:00Z", "2023-01-01T", "2023-01-01T10:00:00z", "2023-01-01 10:00:00Z",
                "2023-01-01T10:00:00Zjunk",
            ],
        );
        assert_eq!(check("dateTime", "2023-01-01T10:00:00").unwrap_err(), "If a date has a time, it must have a timezone");
        assert!(check("dateTime", "2023-01-01T10:00:00+0100").unwrap_err().contains("Not a valid date/time format"));
    }

    #[test]
    fn instant() {
        table(
            "instant",
            &["2023-01-01T10:00:00Z", "2023-01-01T10:00:00.000+00:00", "2016-12-31T23:59:60Z"],
            &["2023", "2023-01-01", "2023-01-01T10:00:00", "2023-01-01T10:00Z", "2023-01-01T24:00:00Z", ""],
        );
    }

    #[test]
    fn time() {
        table(
            "time",
            &["00:00:00", "23:59:59", "12:30:00.5", "23:59:60", "10:00:00.000"],
            &["", "24:00:00", "10:00", "10:60:00", "1:00:00", "10:00:00Z", "10:00:00+01:00", "10:00:00.", "T10:00:00"],
        );
    }

    #[test]
    fn base64() {
        table(
            "base64Binary",
            &["AAAA", "QUJD", "QUI=", "QQ==", "aGVs bG8g\r\nd29y bGQ=", "  QUJD  ", "+/+/"],
            &["", "   ", "A", "AAA", "QQ=", "Q===", "QQ==QQ==", "QU=I", "QUJ.", "QUJD!", "ÿÿÿÿ"],
        );
    }

    #[test]
    fn uri_url_canonical() {
        table("uri", &["http://a.org/x", "urn:oid:1.2", "#frag", "x"], &["", "http://a.org/x y", "http://a.org/\n", " x"]);
        table("url", &["https://example.org/fhir/Patient/1"], &["", "https://example.org/a b"]);
        table(
            "canonical",
            &["http://hl7.org/fhir/StructureDefinition/Patient", "http://a.org/vs|1.0.0", "#vs1"],
            &["", "http://a.org/vs|", "|1.0", "http://a.org/vs|1|2", "http://a.org/ vs"],
        );
    }

    #[test]
    fn oid() {
        table(
            "oid",
            &["urn:oid:1.2.3", "urn:oid:2.16.840.1.113883", "urn:oid:0.0", "urn:oid:1.0.10"],
            &["", "1.2.3", "urn:oid:", "urn:oid:1", "urn:oid:3.1", "urn:oid:1.02", "urn:oid:1..2", "urn:oid:1.2.", "urn:oid:1.a", "URN:OID:1.2"],
        );
    }

    #[test]
    fn uuid() {
        table(
            "uuid",
            &["urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:00000000-0000-0000-0000-000000000000"],
            &[
                "",
                "c757873d-ec9a-4326-a141-556f43239520",
                "urn:uuid:C757873D-EC9A-4326-A141-556F43239520",
                "urn:uuid:c757873d-ec9a-4326-a141-556f43239520asdf",
                "urn:uuid:c757873dec9a4326a141556f43239520",
                "urn:uuid:c757873d-ec9a-4326-a141-556f4323952g",
                "urn:uuid:{c757873d-ec9a-4326-a141-556f43239520}",
            ],
        );
        assert_eq!(
            check("uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520asdf").unwrap_err(),
            "UUIDs must be valid and lowercase (c757873d-ec9a-4326-a141-556f43239520asdf)"
        );
    }

    #[test]
    fn id() {
        let max = "a".repeat(64);
        let over = "a".repeat(65);
        table("id", &["a", "A-1.b", "123", &max, "-", "."], &["", &over, "a_b", "a b", "a/b", "é", "a:b"]);
    }

    #[test]
    fn code() {
        table("code", &["a", "final", "a b", "a\tb", "a b c", "ÄÖ"], &["", " a", "a ", "a  b", "a\n\nb", "\t", " "]);
    }

    #[test]
    fn string_and_markdown() {
        let big_ok = "x".repeat(MAX_STRING_BYTES);
        let big_bad = "x".repeat(MAX_STRING_BYTES + 1);
        table("string", &["a", " padded ", "line\nbreak\r\n\ttab", "ünïcödé", &big_ok], &["", "bell\u{7}", "nul\0", "esc\u{1b}", &big_bad]);
        table("markdown", &["# Title\n\n* item", &big_bad], &["", "form\u{c}feed"]);
    }

    #[test]
    fn xhtml_and_unknown_types_pass() {
        assert!(check("xhtml", "").is_ok());
        assert!(check("xhtml", "<not xml").is_ok());
        assert!(check("CodeableConcept", "anything").is_ok());
        assert!(check("http://hl7.org/fhirpath/System.String", "").is_ok());
    }

    #[test]
    fn primitive_type_list() {
        for t in ["boolean", "integer", "string", "decimal", "uri", "url", "canonical", "base64Binary", "instant", "date", "dateTime", "time", "code", "oid", "id", "markdown", "unsignedInt", "positiveInt", "uuid", "xhtml"] {
            assert!(is_primitive(t), "{t}");
        }
        for t in ["CodeableConcept", "Patient", "Boolean", "", "Extension"] {
            assert!(!is_primitive(t), "{t}");
        }
    }

    #[test]
    fn messages_name_the_value() {
        for (ty, v) in [
            ("integer", "x1"),
            ("decimal", "00.5"),
            ("date", "2023-13"),
            ("dateTime", "2023-01-01T24:00:00Z"),
            ("instant", "2023"),
            ("time", "25:00:00"),
            ("base64Binary", "QUJ."),
            ("uri", "a b"),
            ("oid", "urn:oid:9"),
            ("id", "a_b"),
            ("code", " a"),
            ("string", "a\u{1}"),
        ] {
            let e = check(ty, v).unwrap_err();
            let shown = show(v);
            assert!(e.contains(&shown), "{ty}: {e}");
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn real_dates_are_valid(y in 1u32..=9999, m in 1u32..=12, d in 1u32..=31) {
                let text = format!("{y:04}-{m:02}-{d:02}");
                let real = d <= days_in_month(y, m);
                prop_assert_eq!(check("date", &text).is_ok(), real);
                let dt = format!("{text}T12:34:56.789+05:30");
                prop_assert_eq!(check("dateTime", &dt).is_ok(), real);
                prop_assert_eq!(check("instant", &dt).is_ok(), real);
            }

            #[test]
            fn integers_agree_with_i32(v in any::<i64>()) {
                let text = v.to_string();
                prop_assert_eq!(check("integer", &text).is_ok(), i32::try_from(v).is_ok());
                prop_assert!(check("decimal", &text).is_ok());
                prop_assert!(check("integer64", &text).is_ok());
            }

            #[test]
            fn checkers_never_panic(ty in prop::sample::select(PRIMITIVE_TYPES), s in ".{0,40}") {
                let _ = check(ty, &s);
            }

            #[test]
            fn finite_floats_print_as_valid_decimals(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
                // Rust prints f64 without leading zeros and with an optional exponent.
                let text = format!("{f:e}");
                prop_assert!(check("decimal", &text).is_ok(), "{}", text);
            }
        }
    }
}
