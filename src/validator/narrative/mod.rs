//! Narrative XHTML: well-formed, in the XHTML namespace, rooted at `div`,
//! only the elements and attributes FHIR allows (no scripts, no forms, no
//! event handlers), only XML's own entities, and some text.

mod dom;
mod language;
mod links;
mod shape;
mod source;

use super::element::Walk;
use crate::issue::{Issue, IssueCode, Severity};
use crate::structure::Element;
use crate::tree::Node;
use quick_xml::events::Event;
use quick_xml::Reader;

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// The elements FHIR narrative may use (R4, section 2.4 of Narrative).
fn allowed_element(name: &str) -> bool {
    matches!(
        name,
        "p" | "br" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "a" | "span" | "b" | "em" | "i" | "strong" | "small" | "big" | "tt" | "dfn"
            | "q" | "var" | "abbr" | "acronym" | "cite" | "blockquote" | "hr" | "address" | "bdo" | "kbd" | "samp" | "sub" | "sup" | "ul" | "ol"
            | "li" | "dl" | "dt" | "dd" | "pre" | "table" | "caption" | "colgroup" | "col" | "thead" | "tr" | "tfoot" | "tbody" | "th" | "td"
            | "code" | "img" | "ins" | "del" | "u" | "s" | "strike" | "center" | "font" | "label" | "legend" | "fieldset" | "map" | "area"
            | "section" | "article" | "header" | "footer" | "nav" | "aside" | "figure" | "figcaption" | "mark" | "time" | "details" | "summary"
            | "wbr" | "ruby" | "rt" | "rp"
    )
}

/// The attributes FHIR narrative may use.
fn allowed_attribute(name: &str) -> bool {
    matches!(
        name,
        "title" | "style" | "class" | "id" | "lang" | "xml:lang" | "dir" | "accesskey" | "tabindex" | "href" | "name" | "src" | "alt" | "width"
            | "height" | "border" | "cellpadding" | "cellspacing" | "colspan" | "rowspan" | "align" | "valign" | "span" | "summary" | "abbr"
            | "scope" | "headers" | "axis" | "char" | "charoff" | "frame" | "rules" | "start" | "type" | "value" | "compact" | "noshade" | "size"
            | "color" | "face" | "datetime" | "cite" | "shape" | "coords" | "nohref" | "usemap" | "bgcolor" | "clear" | "hspace" | "vspace"
            | "longdesc" | "rel" | "rev" | "hreflang" | "charset" | "target" | "nowrap" | "reversed" | "xmlns" | "open" | "xml:space"
    )
}

/// The deepest narrative read: the same limit as an XML document's.
pub(crate) const MAX_XHTML_DEPTH: usize = crate::parse::xml::MAX_DEPTH;

pub(super) fn check(walk: &mut Walk<'_, '_>, node: &Node, xhtml: &str) {
    let mut problems: Vec<(IssueCode, String)> = Vec::new();
    let mut reader = Reader::from_str(xhtml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut has_text = false;
    let mut root_seen = false;
    let mut shape = shape::Shape::default();
    let mut read_failed = false;
    // Unread content may hold text: txt-2 is not judged on part of a narrative.
    let mut too_deep = false;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                // Error_parsing_XHTML_
                problems.push((IssueCode::Invalid, format!("Error parsing XHTML: {e}")));
                read_failed = true;
                break;
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let raw = e.name();
                // The text is a &str, so every name in it is UTF-8.
                let name = std::str::from_utf8(raw.as_ref()).unwrap_or_default();
                let local = name.rsplit(':').next().unwrap_or(name);
                // Read once, in linear time, and refused past the parser's limit.
                let attrs = match crate::parse::xml::attributes(e) {
                    Ok(a) => a,
                    Err(problem) => {
                        let code = if problem == crate::parse::xml::AttributeProblem::TooMany { IssueCode::TooCostly } else { IssueCode::Invalid };
                        problems.push((code, format!("The narrative XHTML cannot be read ('{name}'): {problem}")));
                        break;
                    }
                };
                if depth == 0 {
                    if root_seen {
                        problems.push((IssueCode::Invalid, "The narrative must have a single root div".into()));
                    }
                    root_seen = true;
                    if local != "div" {
                        problems.push((IssueCode::Invalid, format!("Wrong name on the XHTML ('{name}') - must start with div")));
                    }
                    let declares_ns = attrs.iter().any(|a| a.key.as_ref().starts_with(b"xmlns") && a.value.as_ref() == XHTML_NS.as_bytes());
                    if !declares_ns {
                        problems.push((IssueCode::Invalid, format!("Wrong namespace on the XHTML ('{}', should be '{XHTML_NS}')", "")));
                    }
                }
                if !allowed_element(local) {
                    problems.push((IssueCode::Invalid, format!("Invalid element name in the XHTML ('{name}')")));
                }
                for a in &attrs {
                    let key = std::str::from_utf8(a.key.as_ref()).unwrap_or_default();
                    if key.starts_with("xmlns") {
                        continue;
                    }
                    let event_handler = key.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on"));
                    if event_handler || !allowed_attribute(key) {
                        problems.push((IssueCode::Invalid, format!("Invalid attribute name in the XHTML ('{key}' on '{name}')")));
                    } else if key == "xml:space" {
                        // XHTML_XHTML_ATTRIBUTE_XML_SPACE
                        shape.problem(Severity::Information, IssueCode::Invalid, format!("The attribute 'xml:space' is legal but has a fixed value of 'preserve'. Its use is discouraged"));
                    }
                    if key == "href" || key == "src" {
                        let v = String::from_utf8_lossy(&a.value).to_ascii_lowercase();
                        if v.trim_start().starts_with("javascript:") {
                            problems.push((IssueCode::Invalid, format!("Script in the XHTML is not allowed ('{key}' on '{name}')")));
                        }
                    }
                }
                let attr = |k: &str| {
                    attrs.iter().find(|a| a.key.as_ref() == k.as_bytes()).map(|a| match a.unescape_value() {
                        Ok(v) => v.into_owned(),
                        Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
                    })
                };
                shape.open(local, &attr);
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > MAX_XHTML_DEPTH {
                        // Past the depth the XML reader accepts, a narrative is not read on:
                        // the structure rules walk it recursively.
                        problems.push((IssueCode::TooCostly, format!("The narrative XHTML is nested more than {MAX_XHTML_DEPTH} elements deep; it is not read further")));
                        read_failed = true;
                        too_deep = true;
                        break;
                    }
                } else {
                    shape.close();
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                shape.close();
            }
            Event::PI(_) => shape.instruction(),
            Event::Text(t) => {
                // Only text with an entity reference needs unescaping to be checked.
                if let Err(e) = if memchr::memchr(b'&', &t).is_some() { t.unescape().map(drop) } else { Ok(()) } {
                    let raw = String::from_utf8_lossy(t.as_ref());
                    let entity = raw.find('&').map(|s| raw[s..].split(';').next().unwrap_or("").to_string() + ";").unwrap_or_default();
                    problems.push((IssueCode::Invalid, format!("Invalid entity in the XHTML ('{entity}') ({e})")));
                }
                let blank = t.iter().all(|b: &u8| b.is_ascii_whitespace());
                if !has_text && !blank {
                    has_text = true;
                }
                shape.text(blank);
            }
            Event::CData(_) => {
                has_text = true;
                shape.text(false);
            }
            // XHTML_XHTML_DOCTYPE_ILLEGAL
            Event::DocType(_) => problems.push((IssueCode::Invalid, format!("Malformed XHTML: Found a DocType declaration, and these are not allowed (XXE security vulnerability protection)"))),
            Event::Eof => break,
            _ => {}
        }
        if depth > 0 && has_text && problems.len() > 20 {
            break;
        }
    }
    // An image counts as content, as the reference validator's txt-2 does.
    if !has_text && !too_deep && !xhtml.contains("<img") {
        let expr = walk.path.render();
        walk.report(
            node,
            Issue::error(IssueCode::Invariant, expr, "Constraint failed: txt-2: 'The narrative SHALL have some non-whitespace content'").rule("txt-2"),
        );
    }
    for (code, msg) in problems {
        walk.error(node, code, msg);
    }
    if !read_failed {
        shape.finish();
        for (severity, code, msg) in shape.problems {
            match severity {
                Severity::Information => walk.inform(node, code, msg),
                Severity::Warning => walk.warn(node, code, msg),
                _ => walk.error(node, code, msg),
            }
        }
    }
    // The structure rules are about language sections, links and images:
    // a narrative with neither needs no second reading.
    let has_structure = xhtml.contains("lang=") || xhtml.contains("href=") || xhtml.contains("src=\"#") || xhtml.contains("src='#");
    if !read_failed && has_structure {
        if let Some(root) = dom::parse(xhtml) {
            structure_rules(walk, node, &root);
        }
    }
}

/// The rules on a well-formed narrative's structure: language sections
/// and internal links.
fn structure_rules(walk: &mut Walk<'_, '_>, node: &Node, root: &dom::XElement) {
    let secs = language::sections(root);
    if !secs.is_empty() && language::has_content_outside_sections(root) {
        walk.warn(
            node,
            IssueCode::BusinessRule,
            format!("The xhtml has some language sections ({}), and also has content that is not in a language section", language::list(&secs)),
        );
    }
    let anchors = links::anchors(root);
    let frame = walk.resources.last();
    let targets = |target: &str| {
        frame.map_or(0, |f| usize::from(f.contained.contains_key(target)) + usize::from(f.node.child_text("id") == Some(target)))
    };
    for problem in links::problems(root, &anchors, &targets) {
        match problem {
            links::Problem::Unresolved { href, path, text } => {
                // TYPE_SPECIFIC_CHECKS_DT_XHTML_RESOLVE
                let msg = format!("Hyperlink '{href}' at '{path}' for '{text}' does not resolve");
                // A fragment that is not an XML name can match no anchor at all; a
                // well-formed one may point into content rendered alongside (the
                // R4 examples' generated ValueSet pages link to CodeSystem anchors).
                if links::is_xml_name(&href[1..]) {
                    walk.warn(node, IssueCode::BusinessRule, msg);
                } else {
                    walk.error(node, IssueCode::BusinessRule, msg);
                }
            }
            links::Problem::Ambiguous { href, path, text, targets } => {
                // TYPE_SPECIFIC_CHECKS_DT_XHTML_MULTIPLE_MATCHES
                walk.warn(node, IssueCode::Invalid, format!("Hyperlink '{href}' at '{path}' for '{text}' resolves to multiple targets ({targets})"));
            }
            links::Problem::Empty { path, text } => {
                // TYPE_SPECIFIC_CHECKS_DT_XHTML_EMPTY_HREF
                walk.error(node, IssueCode::Invalid, format!("Hyperlink at '{path}' for '{text}' is empty"));
            }
            links::Problem::Active { href, path, text, scheme } => {
                // TYPE_SPECIFIC_CHECKS_DT_XHTML_ACTIVE_HREF
                walk.error(node, IssueCode::Invalid, format!("Hyperlink scheme '{scheme}' in '{href}' at '{path}' for '{text}' has active content, which is a security risk and not allowed"));
            }
            links::Problem::Literal { href, path, text, scheme } => {
                // TYPE_SPECIFIC_CHECKS_DT_XHTML_LITERAL_HREF
                walk.error(node, IssueCode::Invalid, format!("Hyperlink scheme '{scheme}' in '{href}' at '{path}' for '{text}' is not a valid hyperlinkable scheme"));
            }
            links::Problem::UnknownScheme { href, path, text, scheme } => {
                // TYPE_SPECIFIC_CHECKS_DT_XHTML_UNKNOWN_HREF
                walk.inform(node, IssueCode::Invalid, format!("Hyperlink scheme '{scheme}' in '{href}' at '{path}' for '{text}' is not a widely supported protocol and should be checked"));
            }
            links::Problem::ImageUnresolved { src, path } => {
                // Type_Specific_Checks_DT_XHTML_Resolve_Img
                walk.error(node, IssueCode::Invalid, format!("Image source '{src}' at '{path}' does not resolve"));
            }
        }
    }
}

/// A profile's narrative controls (`narrative-language-control`,
/// `narrative-source-control`) on a Narrative element; reported at it.
pub(super) fn controls(walk: &mut Walk<'_, '_>, text: &Node, def: &Element, profile: &str) {
    let Some(root) = text.child("div").and_then(Node::text).and_then(dom::parse) else { return };
    if !def.narrative_languages.is_empty() {
        let resource_lang = walk.resources.last().and_then(|f| f.node.child_text("language"));
        for (is_error, msg) in language::control(&root, &def.narrative_languages, resource_lang, profile) {
            if is_error {
                walk.error(text, IssueCode::BusinessRule, msg);
            } else {
                walk.warn(text, IssueCode::BusinessRule, msg);
            }
        }
    }
    if let Some(level) = def.narrative_source.as_deref() {
        for t in source::unlabelled_text(&root) {
            let msg = format!(
                "The xhtml node at '{t}' does not have a class attribute to indicate its source (boilerplate, generated, or original) and this is required by the profile StructureDefinition[{profile}]"
            );
            // As the reference validator: anything but a hint is an error.
            if level == "hint" {
                walk.inform(text, IssueCode::BusinessRule, msg);
            } else {
                walk.error(text, IssueCode::BusinessRule, msg);
            }
        }
    }
}

/// A resource's language against its narrative's `lang` and `xml:lang`
/// (both asked for; on the root, or on the first language section when the
/// root holds nothing else), reported at the resource.
pub(super) fn resource_language(walk: &mut Walk<'_, '_>, resource: &Node) {
    let Some(lang) = resource.child_text("language") else { return };
    let Some(root) = resource.child("text").and_then(|t| t.child("div")).and_then(Node::text).and_then(dom::parse) else { return };
    let (mut l, mut xl) = (root.attribute("lang"), root.attribute("xml:lang"));
    if l.is_none() && xl.is_none() && language::only_sections(&root) {
        if let Some(first) = root.elements().find(|e| e.lang().is_some()) {
            (l, xl) = (first.attribute("lang"), first.attribute("xml:lang"));
        }
    }
    if l.is_none() && xl.is_none() {
        // Language_XHTML_Lang_Missing1
        walk.warn(resource, IssueCode::BusinessRule, "Resource has a language, but the XHTML does not have an lang or an xml:lang tag (needs both - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)".into());
        return;
    }
    match l {
        // Language_XHTML_Lang_Missing2
        None => walk.warn(resource, IssueCode::BusinessRule, "Resource has a language, but the XHTML does not have a lang tag (needs both lang and xml:lang - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)".into()),
        // Language_XHTML_Lang_Different1
        Some(other) if other != lang => walk.warn(resource, IssueCode::BusinessRule, format!("Resource has a language ({lang}), and the XHTML has a lang ({other}), but they differ")),
        Some(_) => {}
    }
    match xl {
        // Language_XHTML_Lang_Missing3
        None => walk.warn(resource, IssueCode::BusinessRule, "Resource has a language, but the XHTML does not have an xml:lang tag (needs both lang and xml:lang - see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues)".into()),
        // Language_XHTML_Lang_Different2
        Some(other) if other != lang && Some(other) != l => {
            walk.warn(resource, IssueCode::BusinessRule, format!("Resource has a language ({lang}), and the XHTML has an xml:lang ({other}), but they differ"))
        }
        Some(_) => {}
    }
}
