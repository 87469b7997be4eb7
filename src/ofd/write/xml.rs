//! The XML files of a package as element trees, serialized by quick-xml's writer (which escapes
//! text and attribute values), and the number format every coordinate is written in.

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};

use super::WriteError;

/// The OFD namespace (GB/T 33190-2016).
pub(in crate::ofd) const OFD_NS: &str = "http://www.ofdspec.org/2016";

/// One element: qualified name, attributes in writing order, text, then child elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::ofd) struct El {
    name: Cow<'static, str>,
    attrs: Vec<(Cow<'static, str>, String)>,
    text: Option<String>,
    children: Vec<El>,
}

impl El {
    /// An empty element named `name` (`ofd:…` for OFD's own elements).
    pub(in crate::ofd) fn new(name: impl Into<Cow<'static, str>>) -> Self {
        El {
            name: name.into(),
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    /// The root element of an OFD file: `name` with the `ofd` prefix bound to [`OFD_NS`].
    pub(in crate::ofd) fn root(name: &'static str) -> Self {
        El::new(name).attr("xmlns:ofd", OFD_NS)
    }

    /// Adds an attribute.
    pub(in crate::ofd) fn attr(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl ToString,
    ) -> Self {
        self.attrs.push((name.into(), value.to_string()));
        self
    }

    /// Sets the text content.
    pub(in crate::ofd) fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Appends a child element.
    pub(in crate::ofd) fn child(mut self, child: El) -> Self {
        self.children.push(child);
        self
    }

    /// Appends child elements.
    pub(in crate::ofd) fn children(mut self, children: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(children);
        self
    }

    /// Appends a child element with only `text` in it.
    pub(in crate::ofd) fn leaf(self, name: &'static str, text: impl Into<String>) -> Self {
        self.child(El::new(name).text(text))
    }
}

/// `root` as a UTF-8 XML file with a declaration and no insignificant whitespace.
pub(in crate::ofd) fn to_bytes(root: &El) -> Result<Vec<u8>, WriteError> {
    let mut w = Writer::new(Vec::new());
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(package_err)?;
    write_el(&mut w, root)?;
    Ok(w.into_inner())
}

fn write_el(w: &mut Writer<Vec<u8>>, el: &El) -> Result<(), WriteError> {
    let mut start = BytesStart::new(el.name.as_ref());
    for (name, value) in &el.attrs {
        check_chars(value)?;
        start.push_attribute((name.as_ref(), value.as_str()));
    }
    if el.text.is_none() && el.children.is_empty() {
        return w.write_event(Event::Empty(start)).map_err(package_err);
    }
    w.write_event(Event::Start(start.borrow()))
        .map_err(package_err)?;
    if let Some(text) = &el.text {
        check_chars(text)?;
        w.write_event(Event::Text(BytesText::new(text)))
            .map_err(package_err)?;
    }
    for child in &el.children {
        write_el(w, child)?;
    }
    w.write_event(Event::End(start.to_end()))
        .map_err(package_err)
}

fn package_err(e: std::io::Error) -> WriteError {
    WriteError::Package(e.to_string())
}

/// Refuses characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF); escaping
/// cannot help them, and a reader would refuse the whole file.
fn check_chars(s: &str) -> Result<(), WriteError> {
    match s.chars().find(|&c| {
        matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    }) {
        Some(c) => Err(WriteError::InvalidXmlChar(c)),
        None => Ok(()),
    }
}

/// Whether `name` can be an element's local name: an ASCII XML name without a colon (custom
/// tags name their elements; anything fancier is not needed and harder to check).
pub(super) fn is_local_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"))
}

/// A length in millimetres as OFD writes numbers: at most four decimals (0.1 µm), no trailing
/// zeros, no exponent, never `-0`. Callers pass finite values.
pub(in crate::ofd) fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s {
        "-0" => "0".to_owned(),
        s => s.to_owned(),
    }
}

/// Numbers separated by single spaces (`ST_Array`, `ST_Box`).
pub(in crate::ofd) fn nums(vs: impl IntoIterator<Item = f64>) -> String {
    vs.into_iter().map(num).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(210.0), "210");
        assert_eq!(num(4.23333333), "4.2333");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(-1.25), "-1.25");
        assert_eq!(nums([0.0, 0.0, 210.0, 297.0]), "0 0 210 297");
    }

    #[test]
    fn escapes_and_refuses() {
        let el = El::root("ofd:A")
            .attr("Name", "a\"<&")
            .leaf("ofd:B", "x < y & 行政许可")
            .child(El::new("ofd:C"));
        let xml = String::from_utf8(to_bytes(&el).unwrap()).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ofd:A xmlns:ofd=\"http://www.ofdspec.org/2016\" \
             Name=\"a&quot;&lt;&amp;\"><ofd:B>x &lt; y &amp; 行政许可</ofd:B><ofd:C/></ofd:A>"
        );
        let bad = El::new("A").text("bell\u{7}");
        assert_eq!(to_bytes(&bad), Err(WriteError::InvalidXmlChar('\u{7}')));
        let bad = El::new("A").attr("V", "\u{ffff}");
        assert_eq!(to_bytes(&bad), Err(WriteError::InvalidXmlChar('\u{ffff}')));
    }

    #[test]
    fn local_names() {
        for ok in ["Licence", "licence_no", "a-b.c", "_x1"] {
            assert!(is_local_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a:b", "a b", "许可", "xmlFoo", "-a"] {
            assert!(!is_local_name(bad), "{bad}");
        }
    }
}
