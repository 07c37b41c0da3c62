use super::*;

fn eval_str(expr: &str) -> Result<Vec<String>, String> {
    let ctx = Context::new();
    let env = EvalContext::new(&ctx);
    let e = parse(expr).map_err(|e| e.to_string())?;
    let r = evaluate_item(&e, None, &env).map_err(|e| e.to_string())?;
    Ok(r.iter().map(|i| i.text().unwrap_or_default()).collect())
}

#[test]
fn arithmetic_and_precedence() {
    assert_eq!(eval_str("1 + 2 * 3 + 4").unwrap(), ["11"]);
    assert_eq!(eval_str("1 / 2").unwrap(), ["0.5"]);
    assert_eq!(eval_str("5 div 2").unwrap(), ["2"]);
    assert_eq!(eval_str("(1 | 1 is Integer).count()").unwrap(), ["2"]);
    assert_eq!(eval_str("'a' & {} & 'b'").unwrap(), ["ab"]);
}

#[test]
fn syntax_errors_carry_the_column() {
    let e = parse("2 + 2 /").unwrap_err();
    assert_eq!(e.column, 8);
    assert!(parse("name.where(").is_err());
}

#[test]
fn dates_compare_by_precision() {
    assert_eq!(eval_str("@2012-04-15 = @2012-04-15T10:00:00").unwrap(), Vec::<String>::new());
    assert_eq!(eval_str("@2017-11-05T01:30:00.0-04:00 = @2017-11-05T00:30:00.0-05:00").unwrap(), ["true"]);
    assert_eq!(eval_str("@1973-12-25 + 1 month").unwrap(), ["1974-01-25"]);
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    assert!(parse(&"(".repeat(100_000)).is_err());
    assert!(parse(&"-".repeat(100_000)).is_err());
    assert!(parse(&"1+".repeat(5_000).to_string().trim_end_matches('+').to_string()).is_err());
    assert!(parse("'unterminated").is_err());
    assert!(parse("@").is_err());
    assert!(eval_str("'a'.matches('(')").is_err());
    assert_eq!(eval_str("9223372036854775807 + 1").unwrap_err().contains("overflow"), true);
    assert_eq!(eval_str("(-(-5)) * -1").unwrap(), ["-5"]);
}

/// The reference engine's wording for the errors it raises while evaluating
/// (its FHIRPATH_* message keys), one test per key.
mod reference_wording {
    use super::*;

    fn error_of(expr: &str, strict: bool) -> String {
        let ctx = Context::new();
        let mut env = EvalContext::new(&ctx);
        env.strict = strict;
        let e = parse(expr).expect("the expression parses");
        evaluate_item(&e, None, &env).expect_err("the evaluation fails").to_string()
    }

    #[test]
    fn fhirpath_arithmetic_qty() {
        assert_eq!(error_of("@2014-01-01 + 1 'mo'", false), "Error in date arithmetic: attempt to add a definite quantity duration time unit mo");
    }

    #[test]
    fn fhirpath_arithmetic_unit() {
        assert_eq!(error_of("@2014-01-01 - 1 'kg'", false), "Error in date arithmetic: unrecognized time unit kg");
    }

    #[test]
    fn fhirpath_as_collection() {
        assert_eq!(error_of("(1 | 2) as Integer", true), "Attempt to use 'as()' on more than one item ('2', 'Integer')");
    }

    #[test]
    fn fhirpath_unknown_constant() {
        assert_eq!(error_of("%nothing", false), "Error evaluating FHIRPath expression: Invalid FHIRPath Constant %nothing");
    }

    #[test]
    fn fhirpath_left_value_wrong_type() {
        assert_eq!(error_of("1 & 'a'", false), "Error evaluating FHIRPath expression: left operand to & has the wrong type integer");
    }

    #[test]
    fn fhirpath_right_value_wrong_type() {
        assert_eq!(error_of("'a' & true", false), "Error evaluating FHIRPath expression: right operand to & has the wrong type boolean");
    }

    #[test]
    fn fhirpath_cant_compare() {
        assert_eq!(error_of("1 < 'a'", false), "Error evaluating FHIRPath expression: Unable to compare values of type integer and string");
    }

    #[test]
    fn fhirpath_op_incompatible() {
        assert_eq!(error_of("1 + true", false), "Error evaluating FHIRPath expression +: left and right operand have incompatible or invalid types (integer, boolean)");
        assert_eq!(error_of("'a' mod 2", false), "Error evaluating FHIRPath expression mod: left and right operand have incompatible or invalid types (string, integer)");
    }

    #[test]
    fn fhirpath_no_collection() {
        assert_eq!(error_of("(1 | 2).single()", false), "Error evaluating FHIRPath expression: The function single can only be used on a singleton value but found 2");
        assert_eq!(error_of("(1 | 2).iif(true, 'a', 'b')", false), "Error evaluating FHIRPath expression: The function iif can only be used on a singleton value but found 2");
    }

    #[test]
    fn fhirpath_string_sing_only() {
        assert_eq!(error_of("1.startsWith('a')", false), "Error evaluating FHIRPath expression: The function startsWith can only be used on string, uri, url, code, id but found integer");
    }
}
