//! A small, defensive XML reader for what NCMEC sends back: bytes in, a tree of [`Element`]s
//! or a typed [`XmlError`] out. It owns the safety rules; [`super::wire`] owns what the
//! elements mean.
//!
//! What it refuses, and why:
//! - a `DOCTYPE` (and so every entity declaration): external entities (XXE) and entity
//!   expansion ("billion laughs") both start there, and NCMEC's responses never carry one;
//! - a reference to any entity other than XML's five (`lt`, `gt`, `amp`, `apos`, `quot`); with
//!   no DOCTYPE none can be declared, so any other name is an attack or a broken document;
//! - processing instructions, and an XML declaration anywhere but before the root;
//! - nesting deeper than [`MAX_DEPTH`] (NCMEC's deepest response is three levels);
//! - characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF), raw or as `&#…;`;
//! - a declared encoding other than UTF-8, and bytes that are not UTF-8;
//! - text outside the root, a second root, and a document that ends inside an element.
//!
//! A UTF-8 byte-order mark is skipped. Comments are skipped. CDATA sections count as text.
//!
//! Namespaces: NCMEC's schema has no target namespace, so its elements are in no namespace.
//! An element whose name has a prefix (`p:responseCode`), or that sits under a default
//! namespace declaration (`xmlns="…"`), is marked [`Element::namespaced`]; the lookups
//! ([`Element::child`], [`Element::children_named`]) never return such an element, so it is
//! treated like any other element the appliance does not know (see `wire` for that rule).

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, escape::resolve_predefined_entity};

/// How deep elements may nest (the root is depth 1).
pub const MAX_DEPTH: usize = 8;

/// One element of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The name as written (with its prefix, if any).
    pub name: String,
    /// Whether the element is in a namespace (prefixed, or under `xmlns="…"`).
    pub namespaced: bool,
    /// The attributes, in document order, with their values normalised as XML requires.
    pub attributes: Vec<(String, String)>,
    /// The element's own text (character data, CDATA and resolved references), concatenated.
    pub text: String,
    /// The child elements, in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The one child in no namespace with this name; `Err(count)` if there are several.
    pub fn child<'a>(&'a self, name: &'a str) -> Result<Option<&'a Element>, usize> {
        let mut found = self.children_named(name);
        let first = found.next();
        match found.count() {
            0 => Ok(first),
            more => Err(more + 1),
        }
    }

    /// Every child in no namespace with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| !c.namespaced && c.name == name)
    }

    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether the element's own text is only XML whitespace.
    pub fn text_is_blank(&self) -> bool {
        self.text.chars().all(is_xml_space)
    }
}

/// Why a body could not be read as XML.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The bytes are not UTF-8.
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    /// The body is not XML at all (empty, plain text, an HTML page).
    #[error("the body is not XML ({0})")]
    NotXml(&'static str),
    /// The body uses a construct this reader refuses for safety.
    #[error("the body was refused for safety: it contains {0}")]
    Unsafe(String),
    /// The body is not well-formed XML.
    #[error("the body is not well-formed XML: {0}")]
    Malformed(String),
}

/// Whether XML 1.0 can carry this character at all (its `Char` production), raw or escaped.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML's whitespace (not Unicode's: a no-break space is text).
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Reads a whole document into its root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    sniff(text)?;

    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.check_comments = true;
    config.allow_dangling_amp = false;
    config.allow_unmatched_ends = false;

    // Each open element, with whether a default namespace is in force inside it.
    let mut stack: Vec<(Element, bool)> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            XmlError::Malformed(format!("{} (near byte {})", describe(&e), reader.error_position()))
        })?;
        match event {
            Event::Decl(decl) => {
                if root.is_some() || !stack.is_empty() {
                    return Err(XmlError::Malformed(
                        "an XML declaration after the root element began".into(),
                    ));
                }
                check_declaration(&decl)?;
            }
            Event::DocType(doctype) => {
                if doctype.trim_start().get(..4).is_some_and(|s| s.eq_ignore_ascii_case("html")) {
                    return Err(XmlError::NotXml("an HTML page"));
                }
                return Err(XmlError::Unsafe(
                    "a DOCTYPE (document type declaration), where entity attacks begin".into(),
                ));
            }
            Event::PI(_) => return Err(XmlError::Unsafe("a processing instruction".into())),
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::Malformed("a second root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::Unsafe(format!("elements nested deeper than {MAX_DEPTH} levels")));
                }
                let inherited = stack.last().is_some_and(|(_, ns)| *ns);
                let (element, default_ns) = open(&start, inherited)?;
                stack.push((element, default_ns));
            }
            Event::Empty(start) => {
                // Not produced with `expand_empty_elements`, but handled the same way anyway.
                if root.is_some() {
                    return Err(XmlError::Malformed("a second root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::Unsafe(format!("elements nested deeper than {MAX_DEPTH} levels")));
                }
                let inherited = stack.last().is_some_and(|(_, ns)| *ns);
                let (element, _) = open(&start, inherited)?;
                close(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                // The reader has already checked that the name matches the open element.
                let Some((element, _)) = stack.pop() else {
                    return Err(XmlError::Malformed("an end tag with no open element".into()));
                };
                close(&mut stack, &mut root, element);
            }
            Event::Text(text) => add_text(&mut stack, &text.xml10_content())?,
            Event::CData(cdata) => add_text(&mut stack, &cdata.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                add_text(&mut stack, &resolved)?;
            }
            Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some((open, _)) = stack.last() {
        return Err(XmlError::Malformed(format!("the document ends inside <{}>", open.name)));
    }
    root.ok_or(XmlError::NotXml("no root element"))
}

/// Classifies obvious non-XML before parsing, so an HTML maintenance page is reported as
/// "not XML" rather than as a malformed or unsafe document.
fn sniff(text: &str) -> Result<(), XmlError> {
    let start = text.trim_start_matches(is_xml_space);
    if start.is_empty() {
        return Err(XmlError::NotXml("an empty body"));
    }
    if !start.starts_with('<') {
        return Err(XmlError::NotXml("it does not start with a tag"));
    }
    let head = start.get(..14).unwrap_or(start).to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Err(XmlError::NotXml("an HTML page"));
    }
    Ok(())
}

fn check_declaration(decl: &quick_xml::events::BytesDecl<'_>) -> Result<(), XmlError> {
    let version =
        decl.version().map_err(|e| XmlError::Malformed(format!("the XML declaration: {}", describe(&e))))?;
    if version != "1.0" {
        return Err(XmlError::Malformed(format!("XML version {} (only 1.0 is read)", excerpt(&version))));
    }
    if let Some(encoding) = decl.encoding() {
        let encoding =
            encoding.map_err(|e| XmlError::Malformed(format!("the XML declaration: {}", describe(&e))))?;
        if !encoding.eq_ignore_ascii_case("utf-8") {
            return Err(XmlError::Malformed(format!(
                "the declared encoding {} (only UTF-8 is read)",
                excerpt(&encoding)
            )));
        }
    }
    Ok(())
}

/// A new element from its start tag; also returns whether a default namespace is in force
/// inside it.
fn open(start: &BytesStart<'_>, inherited_ns: bool) -> Result<(Element, bool), XmlError> {
    let name = start.name().as_ref().to_owned();
    let mut default_ns = inherited_ns;
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| {
            XmlError::Malformed(format!("an attribute of <{}>: {}", excerpt(&name), describe(&e)))
        })?;
        let key = attribute.key.as_ref().to_owned();
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| attribute_error(&name, &key, &e))?;
        check_chars(&value)?;
        if key == "xmlns" {
            default_ns = !value.is_empty();
        }
        attributes.push((key, value.into_owned()));
    }
    let namespaced = default_ns || name.contains(':');
    Ok((Element { name, namespaced, attributes, text: String::new(), children: Vec::new() }, default_ns))
}

fn attribute_error(element: &str, key: &str, error: &quick_xml::Error) -> XmlError {
    match error {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(..)) => XmlError::Unsafe(
            format!("an undeclared entity in attribute {} of <{}>", excerpt(key), excerpt(element)),
        ),
        other => XmlError::Malformed(format!(
            "attribute {} of <{}>: {}",
            excerpt(key),
            excerpt(element),
            describe(other)
        )),
    }
}

fn close(stack: &mut [(Element, bool)], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn add_text(stack: &mut [(Element, bool)], text: &str) -> Result<(), XmlError> {
    check_chars(text)?;
    match stack.last_mut() {
        Some((element, _)) => element.text.push_str(text),
        None if text.chars().all(is_xml_space) => {}
        None => return Err(XmlError::Malformed("text outside the root element".into())),
    }
    Ok(())
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<Cow<'static, str>, XmlError> {
    let name: &str = reference;
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(Cow::Owned(c.to_string())),
            _ => Err(XmlError::Malformed(format!(
                "the character reference &{}; (not a character XML 1.0 can carry)",
                excerpt(name)
            ))),
        };
    }
    match resolve_predefined_entity(name) {
        Some(text) => Ok(Cow::Borrowed(text)),
        None => Err(XmlError::Unsafe(format!("a reference to the undeclared entity &{};", excerpt(name)))),
    }
}

fn check_chars(text: &str) -> Result<(), XmlError> {
    match text.chars().find(|c| !is_xml_char(*c)) {
        None => Ok(()),
        Some(c) => Err(XmlError::Malformed(format!(
            "the character U+{:04X}, which XML 1.0 cannot carry",
            u32::from(c)
        ))),
    }
}

/// At most 60 characters of a name or value from the document, for a message.
fn excerpt(text: &str) -> String {
    shorten(text, 60)
}

/// A parser error's message, which may quote the document at length, cut to 200 characters.
fn describe(error: &dyn std::fmt::Display) -> String {
    shorten(&error.to_string(), 200)
}

fn shorten(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsafe_reason(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(XmlError::Unsafe(reason)) => reason,
            other => panic!("expected a refusal for {body:?}, got {other:?}"),
        }
    }

    fn malformed(body: &[u8]) {
        match parse(body) {
            Err(XmlError::Malformed(_)) => {}
            other => panic!("expected malformed for {:?}, got {other:?}", String::from_utf8_lossy(body)),
        }
    }

    #[test]
    fn reads_a_response_with_prolog_bom_comments_cdata_and_references() {
        let body = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<!-- hi -->\n\
                    <r a=\"x&#9;y &amp; z\"><c>1 &lt; 2 &#x41;&#66;</c><d><![CDATA[<raw> & ]]></d><e/></r>\n";
        let root = parse(body.as_bytes()).expect("a good document");
        assert_eq!(root.name, "r");
        assert_eq!(root.attribute("a"), Some("x\ty & z"));
        assert_eq!(root.child("c").expect("one").expect("present").text, "1 < 2 AB");
        assert_eq!(root.child("d").expect("one").expect("present").text, "<raw> & ");
        assert_eq!(root.child("e").expect("one").expect("present").text, "");
        assert!(root.text_is_blank());
    }

    #[test]
    fn refuses_doctype_entities_and_processing_instructions() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>\
                      <lolz>&lol2;</lolz>";
        assert!(unsafe_reason(laughs).contains("DOCTYPE"));
        let xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
        assert!(unsafe_reason(xxe).contains("DOCTYPE"));
        assert!(unsafe_reason("<r>&x;</r>").contains("undeclared entity"));
        assert!(unsafe_reason("<r a=\"&x;\"/>").contains("undeclared entity"));
        assert!(unsafe_reason("<r><?php echo 1; ?></r>").contains("processing instruction"));
        assert!(unsafe_reason("<?xml-stylesheet href=\"a\"?><r/>").contains("processing instruction"));
    }

    #[test]
    fn refuses_depth_beyond_the_limit_but_reads_up_to_it() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
        assert!(unsafe_reason(&deep).contains("nested"));
        // A huge nesting stops at the limit rather than building a deep tree.
        let very = "<a>".repeat(100_000);
        assert!(unsafe_reason(&very).contains("nested"));
    }

    #[test]
    fn refuses_characters_xml_cannot_carry_raw_or_escaped() {
        malformed(b"<r>\x01</r>");
        malformed(b"<r>&#1;</r>");
        malformed(b"<r>&#xFFFE;</r>");
        malformed(b"<r a=\"&#0;\"/>");
        malformed(b"<r>&#xD800;</r>");
    }

    #[test]
    fn refuses_broken_documents() {
        malformed(b"<r><c>1</r>");
        malformed(b"<r><c>1</c>");
        malformed(b"<r/><s/>");
        malformed(b"<r/>trailing");
        malformed(b"<r a=\"1\" a=\"2\"/>");
        malformed(b"<r>& b</r>");
        malformed(b"<r><?xml version=\"1.0\"?></r>");
        malformed(b"<?xml version=\"1.1\"?><r/>");
        malformed(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>");
        assert_eq!(parse(b"<r>\xff</r>"), Err(XmlError::NotUtf8));
    }

    #[test]
    fn calls_html_and_plain_text_not_xml() {
        for body in
            ["", "  \n", "Service Unavailable", "<!DOCTYPE html><html><body>Down</body></html>", "<HTML>x"]
        {
            assert!(matches!(parse(body.as_bytes()), Err(XmlError::NotXml(_))), "{body:?}");
        }
    }

    #[test]
    fn marks_namespaced_elements_and_hides_them_from_lookups() {
        let root = parse(
            b"<r xmlns:p=\"urn:x\"><p:c>1</p:c><c>2</c><d xmlns=\"urn:y\"><c>3</c></d><e xmlns=\"\"/></r>",
        )
        .expect("well-formed");
        assert!(!root.namespaced);
        assert_eq!(root.child("c").expect("one").expect("present").text, "2");
        assert!(root.child("d").expect("none").is_none());
        assert!(root.children[2].namespaced && root.children[2].children[0].namespaced);
        assert!(!root.children[3].namespaced);
        let default = parse(b"<r xmlns=\"urn:z\"><c/></r>").expect("well-formed");
        assert!(default.namespaced && default.children[0].namespaced);
    }

    #[test]
    fn messages_quote_the_document_briefly() {
        let long = format!("<a><b>x</{}>", "c".repeat(5_000));
        let Err(XmlError::Malformed(reason)) = parse(long.as_bytes()) else { panic!("malformed") };
        assert!(reason.chars().count() < 300, "{reason}");
        let long_name = format!("<r>&{};</r>", "e".repeat(5_000));
        let Err(XmlError::Unsafe(reason)) = parse(long_name.as_bytes()) else { panic!("refused") };
        assert!(reason.chars().count() < 300, "{reason}");
    }

    #[test]
    fn child_reports_duplicates() {
        let root = parse(b"<r><c/><c/></r>").expect("well-formed");
        assert_eq!(root.child("c"), Err(2));
    }
}
