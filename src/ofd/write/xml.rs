//! The XML files of a package as element trees, serialized by quick-xml's writer (which escapes
//! text and attribute values), and the number format every coordinate is written in.

use std::borrow::Cow;
use std::fmt::Write as _;

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
    let mut s = String::new();
    push_num(&mut s, v);
    s
}

/// Appends `v` written as [`num`] writes it.
///
/// The rule is Rust's `{:.4}` (the exact binary value rounded, ties to even), whose exact
/// algorithm costs several times more than the rest of writing a coordinate. So the value is
/// rounded in ten-thousandths as a float instead whenever that cannot differ: below 10⁵ the
/// product is off by less than 2⁻²³, so unless it lies within 10⁻⁶ of a half, the nearest
/// integer is the same for the product and the exact value. Anything else takes `{:.4}`.
pub(in crate::ofd) fn push_num(out: &mut String, v: f64) {
    let scaled = v * 10_000.0;
    if v.abs() < 1e5 && ((scaled - scaled.floor()) - 0.5).abs() > 1e-6 {
        // |scaled| < 10⁹: the cast is exact. A value that rounds to zero is written `0`.
        #[allow(clippy::cast_possible_truncation)]
        let k = scaled.round() as i64;
        if k < 0 {
            out.push('-');
        }
        let k = k.unsigned_abs();
        let (int, mut frac) = (k / 10_000, k % 10_000);
        let _ = write!(out, "{int}");
        if frac != 0 {
            let mut digits = 4;
            while frac % 10 == 0 {
                frac /= 10;
                digits -= 1;
            }
            let _ = write!(out, ".{frac:0digits$}");
        }
        return;
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    out.push_str(if s == "-0" { "0" } else { s });
}

/// Numbers separated by single spaces (`ST_Array`, `ST_Box`).
pub(in crate::ofd) fn nums(vs: impl IntoIterator<Item = f64>) -> String {
    let mut s = String::new();
    for (i, v) in vs.into_iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        push_num(&mut s, v);
    }
    s
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
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.00004), "0");
        assert_eq!(num(-0.00006), "-0.0001");
        assert_eq!(num(12.30009), "12.3001");
        assert_eq!(num(1e7 / 3.0), "3333333.3333");
    }

    #[test]
    fn the_fast_path_writes_what_the_exact_rule_writes() {
        let exact = |v: f64| {
            let s = format!("{v:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" {
                "0".to_owned()
            } else {
                s.to_owned()
            }
        };
        // Ties of the exact value (k/32 ten-thousandths are exact halves), values just around
        // them, and a spread of ordinary coordinates.
        let mut values = vec![0.03125, -0.03125, 0.09375, 1.00015625, 99_999.999_95];
        for i in 0..200_000u32 {
            let x = f64::from(i) * 0.000_731 - 20.0;
            values.extend([
                x,
                x / 7.0,
                x * 13.0,
                0.000_05 * f64::from(i % 64) + x.floor(),
            ]);
        }
        for v in [0.03125f64, 2.5e-5, 7.5e-5] {
            values.extend([v.next_up(), v.next_down()]);
        }
        for v in values {
            assert_eq!(num(v), exact(v), "{v:e}");
        }
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
