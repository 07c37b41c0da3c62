//! What a string or markdown value holds that a renderer could take for
//! HTML. Message keys: SECURITY_STRING_CONTENT_ERROR,
//! SECURITY_STRING_CONTENT_WARNING, TYPE_SPECIFIC_CHECKS_DT_MARKDOWN_HTML.

use crate::issue::Severity;

/// How markdown that holds HTML is reported (the reference validator's
/// html-in-markdown setting; its default is a warning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HtmlInMarkdown {
    Ignore,
    #[default]
    Warning,
    Error,
}

/// A string value that holds what looks like an HTML tag: an error with the
/// security checks on, otherwise a hint (markdown escapes its own).
pub fn string_issue(type_code: &str, value: &str, security_checks: bool) -> Option<(Severity, String)> {
    if type_code == "xhtml" || !holds_html_tag(value) {
        return None;
    }
    if security_checks {
        return Some((Severity::Error, "The string value contains text that looks like embedded HTML tags, which are not allowed for security reasons in this context".to_owned()));
    }
    (type_code != "markdown").then(|| {
        (
            Severity::Information,
            "The string value contains text that looks like embedded HTML tags. If this content is rendered to HTML without appropriate post-processing, it may be a security risk".to_owned(),
        )
    })
}

/// Markdown with an HTML tag, comment or declaration in it, which a
/// presentation layer ought to escape.
pub fn markdown_issue(value: &str, setting: HtmlInMarkdown) -> Option<(Severity, String)> {
    let severity = match setting {
        HtmlInMarkdown::Ignore => return None,
        HtmlInMarkdown::Warning => Severity::Warning,
        HtmlInMarkdown::Error => Severity::Error,
    };
    let at = first_markup(value)?;
    // Where it starts, in two characters; the whole value when it is at the very end.
    let shown: String = if at + 1 < value.chars().count() { value.chars().skip(at).take(2).collect() } else { value.to_owned() };
    Some((severity, format!("The markdown contains content that appears to be an embedded HTML tag starting at '{shown}'. This will (or SHOULD) be escaped by the presentation layer. The content should be checked to confirm that this is the desired behaviour")))
}

/// The character index of the first unescaped `<` that opens a tag (`<b `,
/// `</b>`) or a comment, declaration or processing instruction (`<!`, `<?`).
fn first_markup(value: &str) -> Option<usize> {
    let chars: Vec<char> = value.chars().collect();
    (0..chars.len()).find(|&i| {
        if chars[i] != '<' {
            return false;
        }
        let escaped = i > 0 && chars[i - 1] == '\\';
        let mut j = i + 1;
        if matches!(chars.get(j), Some('!' | '?')) {
            return true;
        }
        if escaped {
            return false;
        }
        if chars.get(j) == Some(&'/') {
            j += 1;
        }
        if !chars.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
            return false;
        }
        j += 1;
        while chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '-') {
            j += 1;
        }
        chars.get(j).is_some_and(|c| c.is_whitespace() || *c == '>')
    })
}

/// Whether text holds something shaped like an HTML tag (`<name` or
/// `<name attributes` then `>`), judged as the reference validator judges it:
/// a candidate counts only when another `<` follows it later in the text.
/// One pass: the `<`s and `>`s are visited in order, and a tag's inside is
/// read only when its `>` comes before the next `<`, so insides never overlap.
fn holds_html_tag(value: &str) -> bool {
    let opens: Vec<usize> = value.match_indices('<').map(|(i, _)| i).collect();
    let closes: Vec<usize> = value.match_indices('>').map(|(i, _)| i).collect();
    let mut next_close = 0;
    for pair in opens.windows(2) {
        let (open, next_open) = (pair[0], pair[1]);
        while next_close < closes.len() && closes[next_close] < open {
            next_close += 1;
        }
        match closes.get(next_close) {
            Some(&close) if close < next_open && looks_like_tag(&value[open + 1..close]) => return true,
            Some(_) => {}
            None => return false,
        }
    }
    false
}

/// A tag's inside: a letter, then letters, digits or `_`, then nothing or whitespace.
fn looks_like_tag(inside: &str) -> bool {
    let mut chars = inside.chars();
    if !chars.next().is_some_and(char::is_alphabetic) {
        return false;
    }
    match chars.find(|c| !(c.is_alphanumeric() || *c == '_')) {
        None => true,
        Some(c) => c.is_whitespace(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_told_from_other_angle_brackets() {
        assert!(holds_html_tag("Dr <b>Smith</b>"));
        assert!(holds_html_tag("<script src=x>alert(1)</script>"));
        assert!(!holds_html_tag("a < b and c > d"));
        assert!(!holds_html_tag("dose <5 mg"));
        // As the reference judges it: a last tag with no `<` after it does not count.
        assert!(!holds_html_tag("Hello <b>world"));
        assert!(holds_html_tag("<<b>x<"), "a `<` with no tag before a real one");
        assert!(!holds_html_tag(&"<".repeat(10_000)));
        assert!(!holds_html_tag(&"<a".repeat(10_000)));
    }

    #[test]
    fn markdown_markup_is_found_where_it_starts() {
        assert_eq!(first_markup("text <r>x"), Some(5));
        assert_eq!(first_markup("text \\<r>x"), None);
        assert_eq!(first_markup("a <!-- c -->"), Some(2));
        assert_eq!(first_markup("1 < 2"), None);
        let (severity, message) = markdown_issue("see <r>", HtmlInMarkdown::Error).unwrap();
        assert_eq!(severity, Severity::Error);
        assert!(message.contains("starting at '<r'"));
        assert!(markdown_issue("see <r>", HtmlInMarkdown::Ignore).is_none());
    }
}
