//! PDF objects (ISO 32000-1 §7.3) and their serialisation.
//!
//! Names and strings are owned byte vectors (they are short); a stream keeps the byte range of
//! its data in the file it was read from, so that reading a document never copies page content.

use std::fmt::Write as _;
use std::ops::Range;

/// An indirect reference `num gen R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    /// Object number.
    pub num: u32,
    /// Generation number.
    pub generation: u16,
}

impl Ref {
    /// A reference to generation 0 of `num`.
    pub fn new(num: u32) -> Ref {
        Ref { num, generation: 0 }
    }
}

/// A direct PDF object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A name, without the slash, `#xx` escapes decoded.
    Name(Vec<u8>),
    /// A string's bytes; `hex` records whether it was written `<...>`.
    String {
        /// The decoded bytes.
        bytes: Vec<u8>,
        /// Whether the string was (or is to be) written in hexadecimal form.
        hex: bool,
    },
    /// An array.
    Array(Vec<Object>),
    /// A dictionary.
    Dict(Dict),
    /// A stream: its dictionary and where its raw (still encoded) data lies.
    Stream(Stream),
    /// An indirect reference.
    Ref(Ref),
}

/// A dictionary: keys in file order (a strict parse refuses duplicates).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Object)>);

/// A stream object.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// The stream dictionary.
    pub dict: Dict,
    /// The raw data: a byte range of the buffer the stream was parsed from.
    pub data: Range<usize>,
}

impl Dict {
    /// The value of `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` (replacing an existing entry in place, else appending).
    pub fn set(&mut self, key: &[u8], value: Object) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_vec(), value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    /// The name value of `key`.
    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Object::Name(n)) => Some(n),
            _ => None,
        }
    }

    /// Whether `/Type` is the name `ty`.
    pub fn is_type(&self, ty: &[u8]) -> bool {
        self.name(b"Type") == Some(ty)
    }
}

impl Object {
    /// A name object.
    pub fn name(n: &[u8]) -> Object {
        Object::Name(n.to_vec())
    }

    /// A literal string object.
    pub fn string(s: &[u8]) -> Object {
        Object::String {
            bytes: s.to_vec(),
            hex: false,
        }
    }

    /// The dictionary of a dictionary or stream.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    /// The integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The numeric value of an integer or real.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The reference, when this is one.
    pub fn as_ref(&self) -> Option<Ref> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    /// The array items.
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Appends the PDF syntax of this object to `out`. A stream writes only its dictionary: the
    /// caller writes `stream … endstream` around data it holds.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Object::Null => out.extend_from_slice(b"null"),
            Object::Bool(true) => out.extend_from_slice(b"true"),
            Object::Bool(false) => out.extend_from_slice(b"false"),
            Object::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Object::Real(r) => out.extend_from_slice(format_real(*r).as_bytes()),
            Object::Name(n) => write_name(n, out),
            Object::String { bytes, hex: true } => {
                out.push(b'<');
                out.extend_from_slice(hex::encode_upper(bytes).as_bytes());
                out.push(b'>');
            }
            Object::String { bytes, hex: false } => write_literal(bytes, out),
            Object::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Object::Dict(d) => d.write(out),
            Object::Stream(s) => s.dict.write(out),
            Object::Ref(r) => {
                let _ = write!(Ascii(out), "{} {} R", r.num, r.generation);
            }
        }
    }
}

impl Dict {
    /// Appends `<< /Key value … >>` to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<<");
        for (k, v) in &self.0 {
            write_name(k, out);
            out.push(b' ');
            v.write(out);
        }
        out.extend_from_slice(b">>");
    }
}

/// `fmt::Write` over a byte vector, for integers and references.
struct Ascii<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Ascii<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A real without exponent (PDF has none), to four decimals, without trailing zeros.
pub fn format_real(r: f64) -> String {
    let mut out = String::new();
    write_real(&mut out, r);
    out
}

/// Appends [`format_real`]'s form of `r` to `out`, allocating nothing else: a handwritten
/// signature's appearance writes thousands of coordinates.
pub fn write_real(out: &mut String, r: f64) {
    use std::fmt::Write as _;
    // In ten-thousandths as an integer: formatting an f64 to a fixed precision takes the slow
    // exact path.
    let scaled = if r.is_finite() {
        (r * 10_000.0).round()
    } else {
        0.0
    };
    if scaled.abs() >= 9.0e15 {
        let s = format!("{r:.4}");
        out.push_str(s.trim_end_matches('0').trim_end_matches('.'));
        return;
    }
    #[allow(clippy::cast_possible_truncation)]
    let n = scaled as i64;
    let (int, mut frac) = (n.unsigned_abs() / 10_000, n.unsigned_abs() % 10_000);
    if n < 0 {
        out.push('-');
    }
    let _ = write!(out, "{int}");
    if frac == 0 {
        return;
    }
    let mut digits = 4;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    let _ = write!(out, ".{frac:0digits$}");
}

/// A text string (§7.9.2.2): ASCII as is, anything else UTF-16BE with a BOM.
pub(crate) fn text_string(s: &str) -> Object {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Object::string(s.as_bytes());
    }
    let mut bytes = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        bytes.extend_from_slice(&u.to_be_bytes());
    }
    Object::String { bytes, hex: true }
}

/// `D:YYYYMMDDHHmmSS+00'00'` (§7.9.4) in UTC.
pub(crate) fn pdf_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        if b.is_ascii_graphic() && !is_delimiter(b) && b != b'#' {
            out.push(b);
        } else {
            let _ = write!(Ascii(out), "#{b:02X}");
        }
    }
}

fn write_literal(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b')');
}

/// PDF delimiter characters (§7.2.2).
pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// PDF white-space characters (§7.2.2).
pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(o: &Object) -> String {
        let mut out = Vec::new();
        o.write(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn writes_pdf_syntax() {
        let mut d = Dict::default();
        d.set(b"Type", Object::name(b"Sig"));
        d.set(b"A b", Object::Real(1.5));
        d.set(b"R", Object::Ref(Ref::new(7)));
        d.set(
            b"S",
            Object::Array(vec![Object::string(b"a(b)\\"), Object::Int(-3)]),
        );
        assert_eq!(
            text(&Object::Dict(d)),
            "<</Type /Sig/A#20b 1.5/R 7 0 R/S [(a\\(b\\)\\\\) -3]>>"
        );
        assert_eq!(format_real(0.1 + 0.2), "0.3");
        assert_eq!(format_real(-0.00001), "0");
        assert_eq!(format_real(595.0), "595");
        assert_eq!(
            text(&Object::String {
                bytes: vec![0, 0xab],
                hex: true
            }),
            "<00AB>"
        );
    }
}
