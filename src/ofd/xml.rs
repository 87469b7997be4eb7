//! A small, bounded XML tree for the few OFD files read here.
//!
//! OFD writers disagree on prefixes (`ofd:` or a default namespace) and on element and attribute
//! order, so the tree keeps local names only and lookups are by name, not position. DOCTYPE is
//! refused outright (no DTD means no entity definitions to expand), only the five predefined
//! entities and character references are resolved, and nesting depth is capped, so neither a
//! billion-laughs file nor a deeply nested one can cost more than its (already bounded) size.

use quick_xml::XmlVersion;
use quick_xml::events::Event;

use super::OfdError;

/// One XML element: local name, attributes by local name, child elements and direct text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    /// Local name (prefix dropped).
    pub(crate) name: String,
    /// Attributes by local name, in document order; `xmlns` declarations are left out.
    pub(crate) attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub(crate) children: Vec<Element>,
    /// Concatenated direct text and CDATA content.
    pub(crate) text: String,
}

impl Element {
    /// The value of the attribute with this local name.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child element with this local name.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child element with this local name.
    pub(crate) fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child with this local name, if non-empty.
    pub(crate) fn child_text(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    }
}

fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

/// Parse `bytes` (UTF-8, optional BOM) into its root element; `file` names it in errors.
pub(crate) fn parse(bytes: &[u8], file: &str, max_depth: usize) -> Result<Element, OfdError> {
    let err = |msg: String| OfdError::Xml {
        file: file.to_owned(),
        msg,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| err(format!("not UTF-8: {e}")))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(format!("at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root.is_some() {
                    return Err(err("content after the root element".into()));
                }
                if stack.len() >= max_depth {
                    return Err(err(format!("nesting deeper than {max_depth}")));
                }
                let mut el = Element {
                    name: local(start.name().as_ref()).to_owned(),
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| err(format!("attribute: {e}")))?;
                    let key: &str = attr.key.as_ref();
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        continue;
                    }
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| err(format!("attribute {key}: {e}")))?;
                    el.attrs.push((local(key).to_owned(), value.into_owned()));
                }
                if matches!(event, Event::Empty(_)) {
                    close(el, &mut stack, &mut root);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match start names.
                let el = stack
                    .pop()
                    .ok_or_else(|| err("unbalanced end tag".into()))?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(err("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None => return Err(err("CDATA outside the root element".into())),
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(err("invalid character reference".into())),
                    }
                } else {
                    let name = r.xml10_content();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_owned(),
                        None => return Err(err(format!("undefined entity &{name};"))),
                    }
                };
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&resolved),
                    None => return Err(err("reference outside the root element".into())),
                }
            }
            Event::DocType(_) => return Err(err("DOCTYPE is not allowed".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(err("unexpected end of file (unclosed element)".into()));
    }
    root.ok_or_else(|| err("no root element".into()))
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn local_names_attrs_entities() {
        let x = br#"<?xml version="1.0"?><ofd:A xmlns:ofd="u" ofd:X="1&amp;2"><B>t&lt;&#x41;<![CDATA[<c>]]></B><ofd:B/></ofd:A>"#;
        let root = parse(x, "t.xml", 8).unwrap();
        assert_eq!(root.name, "A");
        assert_eq!(root.attr("X"), Some("1&2"));
        assert_eq!(root.children_named("B").count(), 2);
        assert_eq!(root.child("B").unwrap().text, "t<A<c>");
    }

    #[test]
    fn hostile_xml_refused() {
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(
            parse(deep.as_bytes(), "d.xml", 64),
            Err(OfdError::Xml { .. })
        ));
        let lol = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert!(parse(lol, "l.xml", 64).is_err());
        let xxe = br#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#;
        assert!(parse(xxe, "x.xml", 64).is_err());
        assert!(parse(b"<a>&undefined;</a>", "u.xml", 64).is_err());
        assert!(parse(b"<a><b></a>", "m.xml", 64).is_err());
        assert!(parse(b"<a>", "o.xml", 64).is_err());
        assert!(parse(b"<a/><b/>", "two.xml", 64).is_err());
        assert!(parse(b"", "e.xml", 64).is_err());
        assert!(parse(b"\xff\xfe<a/>", "bin.xml", 64).is_err());
    }
}
