//! The HL7 Java validator's single-dash flags (`-ig`, `-profile`,
//! `-version 4.0.1`), which testers type from habit. clap would read `-ig`
//! as the short flags `-i -g` and answer "unexpected argument '-i'", which
//! points nowhere; this says which careplan flag is meant instead.

use clap::CommandFactory;

/// Java validator flags that have no careplan flag of the same name, and
/// what to do instead.
const JAVA_ONLY: &[(&str, &str)] = &[
    ("version", "careplan validates FHIR R4 (4.0.1) only and takes no FHIR version: leave `-version` and its value out"),
    ("output", "careplan writes to standard output; `--output` chooses the format (text, json, junit): `--output json > FILE`"),
    ("html-output", "careplan has no HTML report; use `--output json` or `--output junit`"),
    ("recurse", "careplan always searches folders recursively: leave `-recurse` out"),
    ("sct", "careplan checks SNOMED CT codes with a terminology server: `--tx URL`"),
    ("txCache", "careplan keeps no terminology cache on disk: leave `-txCache` out"),
    ("best-practice", "write `--best-practice` (ignore, information, warning or error; Java's `hint` is `information`)"),
    ("language", "careplan's messages are in English only: leave `-language` out"),
    ("hintAboutNonMustSupport", "write `--hint-about-must-support` (with `--profile`)"),
    ("locale", "careplan's messages are in English only: leave `-locale` out"),
];

/// Why `args` (the process arguments, program name first) will not parse
/// because of a Java-style single-dash flag; `None` when there is none.
pub fn check(args: &[String]) -> Option<String> {
    let cli = super::Cli::command();
    let mut command = &cli;
    for arg in args.iter().skip(1) {
        if arg == "--" {
            break;
        }
        // The first word that names a subcommand selects it; its flags are the ones to suggest.
        if !arg.starts_with('-') {
            if let Some(sub) = command.find_subcommand(arg) {
                command = sub;
            }
            continue;
        }
        let Some(word) = arg.strip_prefix('-').filter(|w| !w.starts_with('-') && w.len() > 1 && w.starts_with(|c: char| c.is_ascii_alphabetic())) else {
            continue;
        };
        let word = word.split('=').next().unwrap_or(word);
        // Before a subcommand, the advice is about careplan itself.
        let name = if std::ptr::eq(command, &cli) { "careplan".to_string() } else { format!("careplan {}", command.get_name()) };
        // Java's meaning first: `-output` takes a file there, a format here.
        if let Some((_, advice)) = JAVA_ONLY.iter().find(|(java, _)| *java == word) {
            return Some(format!("`-{word}` is a flag of the HL7 Java validator; {advice} (see `{name} --help`)"));
        }
        if command.get_arguments().chain(cli.get_arguments()).any(|a| a.get_long() == Some(word)) {
            return Some(format!("`-{word}` is written `--{word}` in careplan (its flags take two dashes): try `{name} --{word} …`"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn java_flags_get_the_careplan_flag_named() {
        let m = check(&args("careplan validate -ig ukcore p.json")).unwrap();
        assert!(m.contains("`--ig`"), "{m}");
        let m = check(&args("careplan validate p.json -profile http://x")).unwrap();
        assert!(m.contains("`--profile`"), "{m}");
        let m = check(&args("careplan validate -version 4.0.1 p.json")).unwrap();
        assert!(m.contains("R4") && m.contains("leave `-version`"), "{m}");
        let m = check(&args("careplan validate -output oo.json p.json")).unwrap();
        assert!(m.contains("--output json > FILE"), "{m}");
        let m = check(&args("careplan fhirpath -ig x name p.json")).unwrap();
        assert!(m.contains("careplan fhirpath --ig"), "{m}");
        let m = check(&args("careplan -version")).unwrap();
        assert!(m.contains("(see `careplan --help`)"), "{m}");
    }

    #[test]
    fn everything_else_is_left_to_clap() {
        assert_eq!(check(&args("careplan validate --ig x -v - p.json")), None);
        assert_eq!(check(&args("careplan validate -vv p.json")), None);
        assert_eq!(check(&args("careplan validate -- -ig")), None);
        assert_eq!(check(&args("careplan validate -x p.json")), None);
    }
}
