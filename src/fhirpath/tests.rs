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
