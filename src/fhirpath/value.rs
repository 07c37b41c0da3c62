//! What a FHIRPath collection holds: tree nodes with their FHIR type, and
//! system values (Boolean, String, Integer, Decimal, Date, DateTime, Time,
//! Quantity), with the comparisons and the calendar and unit arithmetic they need.

use crate::structure::StructureDef;
use crate::tree::{Node, ValueKind};
use compact_str::CompactString;
use rust_decimal::prelude::*;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::sync::Arc;

/// Where a node sits in a definition, for elements whose type has no
/// definition of its own (backbone elements, content references).
#[derive(Clone, Debug)]
pub struct ElemRef {
    pub sd: Arc<StructureDef>,
    pub ix: usize,
}

#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A node of the tree. `type_name` is its FHIR type (`HumanName`,
    /// `string`, `Patient`, `BackboneElement`); `elem` is set for backbone
    /// elements so navigation can continue in the owning definition.
    Node { node: &'a Node, type_name: CompactString, elem: Option<ElemRef> },
    Boolean(bool),
    String(String),
    Integer(i64),
    Decimal(Decimal),
    Date(Temporal),
    DateTime(Temporal),
    Time(Temporal),
    Quantity(Quantity),
    /// What `type()` returns: a namespace (`System`, `FHIR`) and a name.
    Type { namespace: String, name: String },
}

impl<'a> Item<'a> {
    pub fn node(node: &'a Node, type_name: &str) -> Item<'a> {
        Item::Node { node, type_name: CompactString::new(type_name), elem: None }
    }

    /// The type name as FHIRPath results print it: the FHIR type for nodes,
    /// `boolean`, `string`, `integer`, `decimal`, `date`, `dateTime`,
    /// `time`, `Quantity` for system values.
    pub fn type_name(&self) -> &str {
        match self {
            Item::Node { type_name, .. } => type_name,
            Item::Boolean(_) => "boolean",
            Item::String(_) => "string",
            Item::Integer(_) => "integer",
            Item::Decimal(_) => "decimal",
            Item::Date(_) => "date",
            Item::DateTime(_) => "dateTime",
            Item::Time(_) => "time",
            Item::Quantity(_) => "Quantity",
            Item::Type { .. } => "TypeInfo",
        }
    }

    /// The System type name (`Boolean`, `String`, ...) of a system value.
    pub fn system_type(&self) -> Option<&'static str> {
        Some(match self {
            Item::Boolean(_) => "Boolean",
            Item::String(_) => "String",
            Item::Integer(_) => "Integer",
            Item::Decimal(_) => "Decimal",
            Item::Date(_) => "Date",
            Item::DateTime(_) => "DateTime",
            Item::Time(_) => "Time",
            Item::Quantity(_) => "Quantity",
            _ => return None,
        })
    }

    /// A primitive node as the system value it stands for; system values as
    /// themselves; complex nodes as `None` (except Quantity types).
    pub fn to_system(&self) -> Option<Item<'static>> {
        match self {
            Item::Node { node, type_name, .. } => node_system_value(node, type_name),
            Item::Boolean(b) => Some(Item::Boolean(*b)),
            Item::String(s) => Some(Item::String(s.clone())),
            Item::Integer(i) => Some(Item::Integer(*i)),
            Item::Decimal(d) => Some(Item::Decimal(*d)),
            Item::Date(t) => Some(Item::Date(*t)),
            Item::DateTime(t) => Some(Item::DateTime(*t)),
            Item::Time(t) => Some(Item::Time(*t)),
            Item::Quantity(q) => Some(Item::Quantity(q.clone())),
            Item::Type { .. } => None,
        }
    }

    /// A string's text without copying it: a string value, or a node of a
    /// FHIR string type that has a value.
    pub fn string_text(&self) -> Option<&str> {
        match self {
            Item::String(s) => Some(s),
            Item::Node { node, type_name, .. } if is_string_type(type_name) => node.value.as_ref().map(|v| v.text.as_str()),
            _ => None,
        }
    }

    /// The value as text (FHIR JSON spelling; dates without `@`); complex nodes have none.
    pub fn text(&self) -> Option<String> {
        match self.to_system()? {
            Item::Boolean(b) => Some(b.to_string()),
            Item::String(s) => Some(s),
            Item::Integer(i) => Some(i.to_string()),
            Item::Decimal(d) => Some(d.to_string()),
            Item::Date(t) | Item::DateTime(t) | Item::Time(t) => Some(t.to_string()),
            Item::Quantity(q) => Some(q.to_string()),
            _ => None,
        }
    }
}

pub fn is_string_type(t: &str) -> bool {
    matches!(t, "string" | "code" | "id" | "uri" | "url" | "canonical" | "oid" | "uuid" | "markdown" | "base64Binary" | "xhtml")
}

pub fn is_quantity_type(t: &str) -> bool {
    matches!(t, "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" | "MoneyQuantity")
}

pub fn is_primitive_type(t: &str) -> bool {
    is_string_type(t)
        || matches!(t, "boolean" | "integer" | "positiveInt" | "unsignedInt" | "integer64" | "decimal" | "date" | "dateTime" | "instant" | "time")
}

fn node_system_value(node: &Node, type_name: &str) -> Option<Item<'static>> {
    if is_quantity_type(type_name) {
        let value = Decimal::from_str(node.child_text("value")?).ok()?;
        let ucum = node.child_text("system") == Some("http://unitsofmeasure.org");
        let unit = match (node.child_text("code"), node.child_text("unit")) {
            (Some(c), _) if ucum => c.to_string(),
            (_, Some(u)) => u.to_string(),
            (Some(c), None) => c.to_string(),
            (None, None) => "1".to_string(),
        };
        return Some(Item::Quantity(Quantity { value, unit }));
    }
    let v = node.value.as_ref()?;
    let text = v.text.as_str();
    Some(match type_name {
        "boolean" => Item::Boolean(text == "true"),
        "integer" | "positiveInt" | "unsignedInt" | "integer64" => match text.parse() {
            Ok(i) => Item::Integer(i),
            Err(_) => Item::String(text.to_string()),
        },
        "decimal" => match Decimal::from_str(text) {
            Ok(d) => Item::Decimal(d),
            Err(_) => Item::String(text.to_string()),
        },
        "date" => parse_temporal(text, Kind::Date).map(Item::Date).unwrap_or_else(|| Item::String(text.to_string())),
        "dateTime" | "instant" => parse_temporal(text, Kind::DateTime).map(Item::DateTime).unwrap_or_else(|| Item::String(text.to_string())),
        "time" => parse_temporal(text, Kind::Time).map(Item::Time).unwrap_or_else(|| Item::String(text.to_string())),
        t if is_string_type(t) => Item::String(text.to_string()),
        _ => match v.kind {
            ValueKind::JsonBool => Item::Boolean(text == "true"),
            ValueKind::JsonNumber => match text.parse::<i64>() {
                Ok(i) => Item::Integer(i),
                Err(_) => Decimal::from_str(text).map(Item::Decimal).unwrap_or_else(|_| Item::String(text.to_string())),
            },
            _ => Item::String(text.to_string()),
        },
    })
}

// ---------------------------------------------------------------- temporal

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Date,
    DateTime,
    Time,
}

/// A date, date-time or time with the precision it was given to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Temporal {
    pub kind: Kind,
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millis: u16,
    pub precision: Precision,
    /// Offset from UTC in minutes.
    pub tz: Option<i16>,
}

impl Temporal {
    fn empty(kind: Kind) -> Temporal {
        Temporal { kind, year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, millis: 0, precision: Precision::Year, tz: None }
    }

    /// Precision as digits: 4, 6, 8, 10, 12, 14, 17 (dates), 2, 4, 6, 9 (times).
    pub fn precision_digits(&self) -> i64 {
        let p = match self.precision {
            Precision::Year => 4,
            Precision::Month => 6,
            Precision::Day => 8,
            Precision::Hour => 10,
            Precision::Minute => 12,
            Precision::Second => 14,
            Precision::Millis => 17,
        };
        if self.kind == Kind::Time {
            p - 8
        } else {
            p
        }
    }
}

/// Parses `@`-literal text (without the `@`): `2015`, `2015-02-04T14:34`, `T14:30`.
pub fn parse_date_literal(s: &str) -> Option<Temporal> {
    if let Some(t) = s.strip_prefix('T') {
        return parse_temporal(t, Kind::Time);
    }
    if s.contains('T') {
        let t = s.strip_suffix('T').unwrap_or(s);
        let mut v = parse_temporal(t, Kind::DateTime)?;
        v.kind = Kind::DateTime;
        return Some(v);
    }
    parse_temporal(s, Kind::Date)
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    if s.len() < n || !s.as_bytes()[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Parses a date (`YYYY[-MM[-DD]]`), a date-time (a date, then
/// `Thh[:mm[:ss[.fff]]]` and a zone) or a time (`hh[:mm[:ss[.fff]]]`).
pub fn parse_temporal(s: &str, kind: Kind) -> Option<Temporal> {
    let mut t = Temporal::empty(kind);
    let mut rest = s;
    if kind != Kind::Time {
        let (y, r) = digits(rest, 4)?;
        t.year = y as i32;
        t.precision = Precision::Year;
        rest = r;
        if let Some(r) = rest.strip_prefix('-') {
            let (m, r) = digits(r, 2)?;
            if !(1..=12).contains(&m) {
                return None;
            }
            t.month = m as u8;
            t.precision = Precision::Month;
            rest = r;
            if let Some(r) = rest.strip_prefix('-') {
                let (d, r) = digits(r, 2)?;
                if d < 1 || d > days_in_month(t.year, t.month) as u32 {
                    return None;
                }
                t.day = d as u8;
                t.precision = Precision::Day;
                rest = r;
            }
        }
        if kind == Kind::Date {
            return rest.is_empty().then_some(t);
        }
        if rest.is_empty() {
            return Some(t);
        }
        rest = rest.strip_prefix('T')?;
        if t.precision != Precision::Day {
            return None;
        }
        if rest.is_empty() {
            return Some(t);
        }
    }
    let (h, r) = digits(rest, 2)?;
    if h > 23 {
        return None;
    }
    t.hour = h as u8;
    t.precision = Precision::Hour;
    rest = r;
    if let Some(r) = rest.strip_prefix(':') {
        let (m, r) = digits(r, 2)?;
        if m > 59 {
            return None;
        }
        t.minute = m as u8;
        t.precision = Precision::Minute;
        rest = r;
        if let Some(r) = rest.strip_prefix(':') {
            let (sec, r) = digits(r, 2)?;
            if sec > 59 {
                return None;
            }
            t.second = sec as u8;
            t.precision = Precision::Second;
            rest = r;
            if let Some(r) = rest.strip_prefix('.') {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return None;
                }
                let frac = &r[..n];
                let ms: String = frac.chars().chain("000".chars()).take(3).collect();
                t.millis = ms.parse().ok()?;
                t.precision = Precision::Millis;
                rest = &r[n..];
            }
        }
    }
    if rest.is_empty() {
        return Some(t);
    }
    if kind == Kind::Time {
        return None;
    }
    if rest == "Z" {
        t.tz = Some(0);
        return Some(t);
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (zh, r) = digits(&rest[1..], 2)?;
    let r = r.strip_prefix(':')?;
    let (zm, r) = digits(r, 2)?;
    if !r.is_empty() || zh > 14 || zm > 59 {
        return None;
    }
    t.tz = Some(sign * (zh * 60 + zm) as i16);
    Some(t)
}

pub fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = y as i64 - if m <= 2 { 1 } else { 0 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

pub fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((y + if m <= 2 { 1 } else { 0 }) as i32, m, d)
}

impl Temporal {
    fn epoch_millis(&self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        ((days * 24 + self.hour as i64) * 60 + self.minute as i64) * 60_000 + self.second as i64 * 1000 + self.millis as i64
    }

    fn set_epoch_millis(&mut self, ms: i64) {
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        self.year = y;
        self.month = m;
        self.day = d;
        self.hour = (rem / 3_600_000) as u8;
        self.minute = (rem / 60_000 % 60) as u8;
        self.second = (rem / 1000 % 60) as u8;
        self.millis = (rem % 1000) as u16;
    }

    /// The same instant in UTC (only meaningful with a zone and a time).
    fn to_utc(self) -> Temporal {
        let mut t = self;
        if let Some(tz) = self.tz {
            if self.kind != Kind::Time && self.precision >= Precision::Hour {
                let ms = self.epoch_millis() - tz as i64 * 60_000;
                t.set_epoch_millis(ms);
                t.tz = Some(0);
            }
        }
        t
    }

    /// Compares two values of the same kind (a Date and a DateTime compare
    /// as date-times); `None` when precision or zones leave it uncertain.
    pub fn compare(&self, other: &Temporal) -> Option<Ordering> {
        let (mut a, mut b) = (*self, *other);
        if a.kind == Kind::DateTime && b.kind == Kind::DateTime && a.precision >= Precision::Hour && b.precision >= Precision::Hour {
            match (a.tz, b.tz) {
                (Some(_), Some(_)) => {
                    a = a.to_utc();
                    b = b.to_utc();
                }
                (None, None) => {}
                _ => return None,
            }
        }
        let level = |p: Precision| if p == Precision::Millis { Precision::Second } else { p };
        let (pa, pb) = (level(a.precision), level(b.precision));
        let common = pa.min(pb);
        let fields: [(Precision, i64, i64); 6] = [
            (Precision::Year, a.year as i64, b.year as i64),
            (Precision::Month, a.month as i64, b.month as i64),
            (Precision::Day, a.day as i64, b.day as i64),
            (Precision::Hour, a.hour as i64, b.hour as i64),
            (Precision::Minute, a.minute as i64, b.minute as i64),
            (Precision::Second, a.second as i64 * 1000 + a.millis as i64, b.second as i64 * 1000 + b.millis as i64),
        ];
        for (p, x, y) in fields {
            if a.kind == Kind::Time && p < Precision::Hour {
                continue;
            }
            if p > common {
                break;
            }
            match x.cmp(&y) {
                Ordering::Equal => {}
                o => return Some(o),
            }
        }
        if pa == pb {
            Some(Ordering::Equal)
        } else {
            None
        }
    }

    /// Adds a calendar duration or a UCUM time quantity (its value truncated).
    pub fn add(&self, q: &Quantity, sign: i64) -> Result<Temporal, String> {
        let n = q.value.trunc().to_i64().ok_or("duration out of range")? * sign;
        let unit = match q.unit.as_str() {
            "year" | "years" => "year",
            "month" | "months" => "month",
            "week" | "weeks" | "wk" => "week",
            "day" | "days" | "d" => "day",
            "hour" | "hours" | "h" => "hour",
            "minute" | "minutes" | "min" => "minute",
            "second" | "seconds" | "s" => "second",
            "millisecond" | "milliseconds" | "ms" => "ms",
            // FHIRPATH_ARITHMETIC_QTY: UCUM's years and months are averages, not calendar units
            u @ ("a" | "mo") => return Err(format!("Error in date arithmetic: attempt to add a definite quantity duration time unit {u}")),
            // FHIRPATH_ARITHMETIC_UNIT
            u => return Err(format!("Error in date arithmetic: unrecognized time unit {u}")),
        };
        let mut t = *self;
        match unit {
            "year" | "month" => {
                if self.kind == Kind::Time {
                    return Err("cannot add years or months to a time".into());
                }
                let months = if unit == "year" { n * 12 } else { n };
                let total = t.year as i64 * 12 + (t.month as i64 - 1) + months;
                t.year = total.div_euclid(12) as i32;
                t.month = (total.rem_euclid(12) + 1) as u8;
                t.day = t.day.min(days_in_month(t.year, t.month));
            }
            _ => {
                let ms_per = match unit {
                    "week" => 7 * 86_400_000,
                    "day" => 86_400_000,
                    "hour" => 3_600_000,
                    "minute" => 60_000,
                    "second" => 1000,
                    _ => 1,
                };
                let mut delta = n.checked_mul(ms_per).ok_or("duration out of range")?;
                if t.kind == Kind::Date || (t.kind == Kind::DateTime && t.precision <= Precision::Day) {
                    delta = delta / 86_400_000 * 86_400_000;
                }
                if t.kind == Kind::Time {
                    let ms = (((t.hour as i64 * 60 + t.minute as i64) * 60 + t.second as i64) * 1000 + t.millis as i64 + delta).rem_euclid(86_400_000);
                    t.hour = (ms / 3_600_000) as u8;
                    t.minute = (ms / 60_000 % 60) as u8;
                    t.second = (ms / 1000 % 60) as u8;
                    t.millis = (ms % 1000) as u16;
                } else {
                    let ms = t.epoch_millis().checked_add(delta).ok_or("date out of range")?;
                    t.set_epoch_millis(ms);
                }
            }
        }
        if t.year < 1 || t.year > 9999 {
            return Err("date out of range".into());
        }
        Ok(t)
    }
}

impl std::fmt::Display for Temporal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.precision;
        if self.kind != Kind::Time {
            write!(f, "{:04}", self.year)?;
            if p >= Precision::Month {
                write!(f, "-{:02}", self.month)?;
            }
            if p >= Precision::Day {
                write!(f, "-{:02}", self.day)?;
            }
            if self.kind == Kind::Date || p <= Precision::Day {
                return Ok(());
            }
            f.write_str("T")?;
        }
        write!(f, "{:02}", self.hour)?;
        if p >= Precision::Minute {
            write!(f, ":{:02}", self.minute)?;
        }
        if p >= Precision::Second {
            write!(f, ":{:02}", self.second)?;
        }
        if p >= Precision::Millis {
            write!(f, ".{:03}", self.millis)?;
        }
        if self.kind == Kind::DateTime {
            match self.tz {
                Some(0) => f.write_str("Z")?,
                Some(m) => write!(f, "{}{:02}:{:02}", if m < 0 { '-' } else { '+' }, m.abs() / 60, m.abs() % 60)?,
                None => {}
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- quantity

#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub value: Decimal,
    /// A UCUM unit or a calendar duration keyword (`day`, `weeks`).
    pub unit: String,
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if is_calendar_unit(&self.unit) {
            write!(f, "{} {}", self.value, self.unit)
        } else {
            write!(f, "{} '{}'", self.value, self.unit)
        }
    }
}

pub fn is_calendar_unit(u: &str) -> bool {
    matches!(
        u,
        "year" | "years" | "month" | "months" | "week" | "weeks" | "day" | "days" | "hour" | "hours" | "minute" | "minutes" | "second" | "seconds" | "millisecond" | "milliseconds"
    )
}

/// A unit reduced to a factor and exponents of metre, gram, second, kelvin, mole, candela, ampere.
#[derive(Clone, Debug, PartialEq)]
pub struct Canonical {
    pub factor: Decimal,
    pub dims: [i8; 7],
}

fn atom(name: &str) -> Option<Canonical> {
    let d = |s: &str| Decimal::from_str(s).unwrap_or(Decimal::ONE);
    let c = |f: Decimal, dims: [i8; 7]| Some(Canonical { factor: f, dims });
    let one = Decimal::ONE;
    match name {
        "m" => c(one, [1, 0, 0, 0, 0, 0, 0]),
        "g" => c(one, [0, 1, 0, 0, 0, 0, 0]),
        "s" => c(one, [0, 0, 1, 0, 0, 0, 0]),
        "K" => c(one, [0, 0, 0, 1, 0, 0, 0]),
        "mol" => c(one, [0, 0, 0, 0, 1, 0, 0]),
        "cd" => c(one, [0, 0, 0, 0, 0, 1, 0]),
        "A" => c(one, [0, 0, 0, 0, 0, 0, 1]),
        "L" | "l" => c(d("0.001"), [3, 0, 0, 0, 0, 0, 0]),
        "min" => c(d("60"), [0, 0, 1, 0, 0, 0, 0]),
        "h" => c(d("3600"), [0, 0, 1, 0, 0, 0, 0]),
        "d" => c(d("86400"), [0, 0, 1, 0, 0, 0, 0]),
        "wk" => c(d("604800"), [0, 0, 1, 0, 0, 0, 0]),
        "mo" => c(d("2629800"), [0, 0, 1, 0, 0, 0, 0]),
        "a" => c(d("31557600"), [0, 0, 1, 0, 0, 0, 0]),
        "[lb_av]" => c(d("453.59237"), [0, 1, 0, 0, 0, 0, 0]),
        "[oz_av]" => c(d("28.349523125"), [0, 1, 0, 0, 0, 0, 0]),
        "[in_i]" => c(d("0.0254"), [1, 0, 0, 0, 0, 0, 0]),
        "[ft_i]" => c(d("0.3048"), [1, 0, 0, 0, 0, 0, 0]),
        "[mi_i]" => c(d("1609.344"), [1, 0, 0, 0, 0, 0, 0]),
        "mm[Hg]" => c(d("133322.387415"), [-1, 1, -2, 0, 0, 0, 0]),
        "Pa" => c(d("1000"), [-1, 1, -2, 0, 0, 0, 0]),
        "N" => c(d("1000"), [1, 1, -2, 0, 0, 0, 0]),
        "J" => c(d("1000"), [2, 1, -2, 0, 0, 0, 0]),
        "cal" => c(d("4184"), [2, 1, -2, 0, 0, 0, 0]),
        "Hz" => c(one, [0, 0, -1, 0, 0, 0, 0]),
        "%" => c(d("0.01"), [0; 7]),
        "1" => c(one, [0; 7]),
        "U" | "[iU]" | "[IU]" | "eq" => c(one, [0, 0, 0, 0, 1, 0, 0]),
        _ => None,
    }
}

fn prefix(p: &str) -> Option<Decimal> {
    let e: i32 = match p {
        "Y" => 24,
        "Z" => 21,
        "E" => 18,
        "P" => 15,
        "T" => 12,
        "G" => 9,
        "M" => 6,
        "k" => 3,
        "h" => 2,
        "da" => 1,
        "d" => -1,
        "c" => -2,
        "m" => -3,
        "u" => -6,
        "n" => -9,
        "p" => -12,
        "f" => -15,
        "a" => -18,
        _ => return None,
    };
    let ten = Decimal::from(10);
    let mut f = Decimal::ONE;
    for _ in 0..e.abs() {
        f = if e > 0 { f * ten } else { f / ten };
    }
    Some(f)
}

fn prefixed_atom(s: &str) -> Option<Canonical> {
    if let Some(c) = atom(s) {
        return Some(c);
    }
    for n in [1, 2] {
        if s.len() > n && s.is_char_boundary(n) {
            if let (Some(f), Some(mut c)) = (prefix(&s[..n]), atom(&s[n..])) {
                if matches!(&s[n..], "m" | "g" | "s" | "L" | "l" | "mol" | "K" | "cd" | "A" | "Pa" | "N" | "J" | "cal" | "Hz" | "U" | "eq" | "[iU]" | "[IU]") {
                    c.factor *= f;
                    return Some(c);
                }
            }
        }
    }
    None
}

/// A UCUM unit (or calendar keyword) reduced to base units; `None` for what we do not know.
pub fn canonical_unit(unit: &str) -> Option<Canonical> {
    let unit = match unit {
        "week" | "weeks" => "wk",
        "day" | "days" => "d",
        "hour" | "hours" => "h",
        "minute" | "minutes" => "min",
        "second" | "seconds" => "s",
        "millisecond" | "milliseconds" => "ms",
        u => u,
    };
    let mut total = Canonical { factor: Decimal::ONE, dims: [0; 7] };
    let mut rest = unit;
    let mut divide = false;
    if let Some(r) = rest.strip_prefix('/') {
        divide = true;
        rest = r;
    }
    loop {
        let end = rest.find(['.', '/']).unwrap_or(rest.len());
        let part = &rest[..end];
        // Strip annotations `{...}`.
        let part_clean: String = {
            let mut out = String::new();
            let mut depth = 0;
            for ch in part.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ if depth == 0 => out.push(ch),
                    _ => {}
                }
            }
            out
        };
        let part = if part_clean.is_empty() { "1".to_string() } else { part_clean };
        let trimmed = part.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
        let (name, exp) = if !trimmed.is_empty() && trimmed.len() < part.len() {
            (trimmed, part[trimmed.len()..].parse::<i32>().ok()?)
        } else {
            (part.as_str(), 1)
        };
        let c = if name.chars().all(|c| c.is_ascii_digit()) {
            Canonical { factor: Decimal::from_str(name).ok()?, dims: [0; 7] }
        } else {
            prefixed_atom(name)?
        };
        let exp = if divide { -exp } else { exp };
        for _ in 0..exp.abs() {
            if exp > 0 {
                total.factor = total.factor.checked_mul(c.factor)?;
            } else {
                total.factor = total.factor.checked_div(c.factor)?;
            }
        }
        for (t, d) in total.dims.iter_mut().zip(c.dims) {
            *t += d * exp as i8;
        }
        if end == rest.len() {
            break;
        }
        divide = &rest[end..end + 1] == "/";
        rest = &rest[end + 1..];
    }
    Some(total)
}

/// A base-unit spelling of dimensions: `m2`, `g.m-1`, `1`.
pub fn render_dims(dims: &[i8; 7]) -> String {
    let names = ["m", "g", "s", "K", "mol", "cd", "A"];
    let parts: Vec<String> = names
        .iter()
        .zip(dims)
        .filter(|(_, &e)| e != 0)
        .map(|(n, &e)| if e == 1 { n.to_string() } else { format!("{n}{e}") })
        .collect();
    if parts.is_empty() {
        "1".into()
    } else {
        parts.join(".")
    }
}

impl Quantity {
    fn calendar_ambiguous(&self) -> bool {
        matches!(self.unit.as_str(), "year" | "years" | "month" | "months")
    }

    /// Both in the same unit where they can be: `None` when not comparable.
    pub fn align(&self, other: &Quantity) -> Option<(Decimal, Decimal)> {
        let norm = |u: &str| -> String {
            match u {
                "years" => "year".into(),
                "months" => "month".into(),
                u => u.into(),
            }
        };
        if norm(&self.unit) == norm(&other.unit) {
            return Some((self.value, other.value));
        }
        if self.calendar_ambiguous() || other.calendar_ambiguous() {
            return None;
        }
        let a = canonical_unit(&self.unit)?;
        let b = canonical_unit(&other.unit)?;
        if a.dims != b.dims {
            return None;
        }
        Some((self.value.checked_mul(a.factor)?, other.value.checked_mul(b.factor)?))
    }

    pub fn compare(&self, other: &Quantity) -> Option<Ordering> {
        let (a, b) = self.align(other)?;
        Some(a.cmp(&b))
    }

    /// The product or quotient in base units.
    pub fn mul_div(&self, other: &Quantity, divide: bool) -> Option<Quantity> {
        let a = canonical_unit(&self.unit)?;
        let b = canonical_unit(&other.unit)?;
        let av = self.value.checked_mul(a.factor)?;
        let bv = other.value.checked_mul(b.factor)?;
        let mut dims = a.dims;
        for (d, e) in dims.iter_mut().zip(b.dims) {
            *d = if divide { *d - e } else { *d + e };
        }
        let value = if divide { av.checked_div(bv)? } else { av.checked_mul(bv)? };
        Some(Quantity { value: value.normalize(), unit: render_dims(&dims) })
    }
}
