//! UCUM, the units of `Quantity.code` when `system` is
//! `http://unitsofmeasure.org`: the one place careplan converts a value
//! between units. The `ucum-units` crate holds the UCUM tables and grammar;
//! this names what the validator asks of it.

pub const SYSTEM: &str = "http://unitsofmeasure.org";

/// `value` in unit `from`, expressed in unit `to`. `None` when either is
/// not a UCUM unit or they measure different kinds of thing (mass, length).
pub fn convert(value: f64, from: &str, to: &str) -> Option<f64> {
    ucum::convert(value, from, to).ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::convert;

    #[test]
    fn units_of_one_kind_convert_and_others_do_not() {
        assert_eq!(convert(5.0, "km", "m"), Some(5000.0));
        assert!((convert(1.0, "[mi_i]", "m").unwrap() - 1609.344).abs() < 1e-9);
        assert!((convert(1.0, "[lb_av]", "kg").unwrap() - 0.45359237).abs() < 1e-12);
        assert!((convert(2.0, "h", "min").unwrap() - 120.0).abs() < 1e-9);
        assert_eq!(convert(1.0, "kg", "m"), None, "mass is not length");
        assert_eq!(convert(1.0, "furlong", "m"), None, "not a UCUM code");
    }
}
