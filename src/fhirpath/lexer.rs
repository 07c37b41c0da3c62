//! FHIRPath text into tokens, each with the column (1-based, in characters)
//! where it starts.

use super::SyntaxError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An identifier; `quoted` when written in backticks (never a keyword).
    Ident { name: String, quoted: bool },
    Str(String),
    /// A number exactly as written (`1`, `1.50`).
    Number(String),
    /// A date, date-time or time literal without the `@`.
    DateTime(String),
    /// `%name`, `%\`name\``, `%'name'`.
    External(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    Sym(&'static str),
    End,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub col: usize,
}

const SYMBOLS: [&str; 20] = ["<=", ">=", "!=", "!~", ".", "[", "]", "(", ")", "{", "}", ",", "+", "-", "*", "/", "|", "&", "=", "~"];

pub fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |col: usize, msg: String| SyntaxError { message: msg, column: col };
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = i;
            i += 2;
            loop {
                if i + 1 >= chars.len() {
                    return Err(err(start + 1, "unterminated comment".into()));
                }
                if chars[i] == '*' && chars[i + 1] == '/' {
                    i += 2;
                    break;
                }
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident { name: chars[s..i].iter().collect(), quoted: false }, col });
            continue;
        }
        if c == '`' {
            let (text, next) = quoted(&chars, i, '`').map_err(|m| err(col, m))?;
            i = next;
            out.push(Token { tok: Tok::Ident { name: text, quoted: true }, col });
            continue;
        }
        if c == '\'' {
            let (text, next) = quoted(&chars, i, '\'').map_err(|m| err(col, m))?;
            i = next;
            out.push(Token { tok: Tok::Str(text), col });
            continue;
        }
        if c.is_ascii_digit() {
            let s = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Token { tok: Tok::Number(chars[s..i].iter().collect()), col });
            continue;
        }
        if c == '@' {
            let s = i + 1;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], '-' | ':' | 'T' | 'Z' | '+')) {
                i += 1;
            }
            // A fraction of seconds: `.` followed by digits.
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], '-' | ':' | 'Z' | '+')) {
                    i += 1;
                }
            }
            let text: String = chars[s..i].iter().collect();
            if text.is_empty() {
                return Err(err(col, "'@' must start a date, date-time or time literal".into()));
            }
            out.push(Token { tok: Tok::DateTime(text), col });
            continue;
        }
        if c == '%' {
            i += 1;
            let name = match chars.get(i) {
                Some('`') => {
                    let (t, n) = quoted(&chars, i, '`').map_err(|m| err(col, m))?;
                    i = n;
                    t
                }
                Some('\'') => {
                    let (t, n) = quoted(&chars, i, '\'').map_err(|m| err(col, m))?;
                    i = n;
                    t
                }
                Some(ch) if ch.is_ascii_alphabetic() || *ch == '_' => {
                    let s = i;
                    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-') {
                        i += 1;
                    }
                    chars[s..i].iter().collect()
                }
                _ => return Err(err(col, "'%' must be followed by a constant name".into())),
            };
            out.push(Token { tok: Tok::External(name), col });
            continue;
        }
        if c == '$' {
            let s = i + 1;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let name: String = chars[s..i].iter().collect();
            if !matches!(name.as_str(), "this" | "index" | "total") {
                return Err(err(col, format!("unknown special variable '${name}'")));
            }
            out.push(Token { tok: Tok::Special(name), col });
            continue;
        }
        if c == '<' || c == '>' {
            if chars.get(i + 1) == Some(&'=') {
                out.push(Token { tok: Tok::Sym(if c == '<' { "<=" } else { ">=" }), col });
                i += 2;
            } else {
                out.push(Token { tok: Tok::Sym(if c == '<' { "<" } else { ">" }), col });
                i += 1;
            }
            continue;
        }
        let mut matched = false;
        for sym in SYMBOLS {
            let sc: Vec<char> = sym.chars().collect();
            if chars[i..].starts_with(&sc) {
                out.push(Token { tok: Tok::Sym(sym), col });
                i += sc.len();
                matched = true;
                break;
            }
        }
        if !matched {
            return Err(err(col, format!("unexpected character '{c}'")));
        }
    }
    out.push(Token { tok: Tok::End, col: chars.len() + 1 });
    Ok(out)
}

/// A string or backtick-quoted identifier starting at `start` (the quote),
/// with escapes resolved; returns the text and the index after the closing quote.
fn quoted(chars: &[char], start: usize, q: char) -> Result<(String, usize), String> {
    let mut i = start + 1;
    let mut out = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == q {
            return Ok((out, i + 1));
        }
        if c == '\\' {
            let e = *chars.get(i + 1).ok_or("unterminated escape")?;
            i += 2;
            match e {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.get(i..i + 4).ok_or("short \\u escape")?.iter().collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad \\u escape '{hex}'"))?;
                    out.push(char::from_u32(code).ok_or("bad \\u escape")?);
                    i += 4;
                }
                other => out.push(other),
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    Err(format!("unterminated {}", if q == '`' { "quoted identifier" } else { "string" }))
}
