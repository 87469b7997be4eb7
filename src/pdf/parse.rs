//! A strict, bounded PDF object parser (ISO 32000-1 §7.2–7.3).
//!
//! Written by hand rather than taken from `lopdf`: a verifier needs byte offsets of every token
//! (the signature hole, revision boundaries), must refuse rather than repair (no xref recovery,
//! no guessed stream lengths), and must bound recursion itself — lopdf's recursive-descent
//! parser has aborted on deep nesting, which `catch_unwind` cannot stop (docs/threats.md §3.3).

use super::PdfError;
use super::object::{Dict, Object, Ref, Stream, is_delimiter, is_whitespace};

/// Deepest array/dictionary nesting accepted.
pub(crate) const MAX_DEPTH: usize = 64;

/// A cursor over a byte buffer.
pub(crate) struct Lexer<'a> {
    buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Lexer<'a> {
    /// A cursor at `pos`.
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Lexer<'a> {
        Lexer { buf, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn err(&self, what: &str) -> PdfError {
        PdfError::Syntax {
            offset: self.pos,
            what: what.to_owned(),
        }
    }

    /// Skips white space and comments.
    pub(crate) fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Skips white space only (a `%%EOF` must not be eaten as a comment).
    pub(crate) fn skip_ws_no_comment(&mut self) {
        while self.peek().is_some_and(is_whitespace) {
            self.pos += 1;
        }
    }

    /// Consumes `kw` (after white space) if it is next and ends at a delimiter.
    pub(crate) fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let end = self.pos + kw.len();
        if self.buf.get(self.pos..end) == Some(kw)
            && self
                .buf
                .get(end)
                .is_none_or(|&b| is_whitespace(b) || is_delimiter(b))
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// Requires `kw` next.
    pub(crate) fn expect_keyword(&mut self, kw: &[u8]) -> Result<(), PdfError> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", String::from_utf8_lossy(kw))))
        }
    }

    /// A non-negative integer token.
    pub(crate) fn uint(&mut self) -> Result<u64, PdfError> {
        self.skip_ws();
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| self.err("integer too large"))?;
            self.pos += 1;
        }
        if self.pos == start
            || self
                .peek()
                .is_some_and(|b| !is_whitespace(b) && !is_delimiter(b))
        {
            self.pos = start;
            return Err(self.err("expected an unsigned integer"));
        }
        Ok(v)
    }

    /// One direct object (references `n g R` included).
    pub(crate) fn object(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > MAX_DEPTH {
            return Err(PdfError::TooDeep);
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.err("unexpected end of data"));
        };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => Ok(Object::String {
                bytes: self.literal()?,
                hex: false,
            }),
            b'<' if self.buf.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                Ok(Object::Dict(self.dict_body(depth)?))
            }
            b'<' => Ok(Object::String {
                bytes: self.hex_string()?,
                hex: true,
            }),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        None => return Err(self.err("unterminated array")),
                        _ => items.push(self.object(depth + 1)?),
                    }
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number_or_ref(),
            _ => {
                if self.eat_keyword(b"true") {
                    Ok(Object::Bool(true))
                } else if self.eat_keyword(b"false") {
                    Ok(Object::Bool(false))
                } else if self.eat_keyword(b"null") {
                    Ok(Object::Null)
                } else {
                    Err(self.err("expected an object"))
                }
            }
        }
    }

    /// The entries after `<<`, through `>>`.
    fn dict_body(&mut self, depth: usize) -> Result<Dict, PdfError> {
        let mut entries: Vec<(Vec<u8>, Object)> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'>') if self.buf.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    return Ok(Dict(entries));
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name_body()?;
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(
                            self.err(&format!("duplicate key /{}", String::from_utf8_lossy(&key)))
                        );
                    }
                    let value = self.object(depth + 1)?;
                    entries.push((key, value));
                }
                None => return Err(self.err("unterminated dictionary")),
                _ => return Err(self.err("expected a name key")),
            }
        }
    }

    fn name_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let rest = &self.buf[self.pos..];
        let len = rest
            .iter()
            .position(|&b| is_whitespace(b) || is_delimiter(b))
            .unwrap_or(rest.len());
        if !rest[..len].contains(&b'#') {
            self.pos += len;
            return Ok(rest[..len].to_vec());
        }
        let mut out = Vec::with_capacity(len);
        while let Some(b) = self.peek() {
            if is_whitespace(b) || is_delimiter(b) {
                break;
            }
            self.pos += 1;
            if b == b'#' {
                let hi = self.peek().and_then(hex_val);
                let lo = self.buf.get(self.pos + 1).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        self.pos += 2;
                    }
                    _ => return Err(self.err("bad #xx escape in a name")),
                }
            } else {
                out.push(b);
            }
        }
        Ok(out)
    }

    fn literal(&mut self) -> Result<Vec<u8>, PdfError> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 0usize;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' if nesting == 0 => return Ok(out),
                b')' => {
                    nesting -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> Result<Vec<u8>, PdfError> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated hex string"));
            };
            self.pos += 1;
            if b == b'>' {
                if let Some(h) = high {
                    out.push(h << 4);
                }
                return Ok(out);
            }
            if is_whitespace(b) {
                continue;
            }
            let v = hex_val(b).ok_or_else(|| self.err("bad hex string digit"))?;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }

    fn number_or_ref(&mut self) -> Result<Object, PdfError> {
        let first = self.number()?;
        if let Object::Int(num) = first
            && num >= 0
        {
            // `n g R`: look ahead without committing.
            let after = self.pos;
            self.skip_ws();
            if matches!(self.peek(), Some(b'0'..=b'9'))
                && let Ok(Object::Int(generation)) = self.number()
                && self.eat_keyword(b"R")
            {
                let num = u32::try_from(num).map_err(|_| self.err("object number too large"))?;
                let generation = u16::try_from(generation)
                    .map_err(|_| self.err("generation number too large"))?;
                return Ok(Object::Ref(Ref { num, generation }));
            }
            self.pos = after;
        }
        Ok(first)
    }

    fn number(&mut self) -> Result<Object, PdfError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let mut dot = false;
        let mut digits = 0;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' => digits += 1,
                b'.' if !dot => dot = true,
                _ => break,
            }
            self.pos += 1;
        }
        if digits == 0
            || self
                .peek()
                .is_some_and(|b| !is_whitespace(b) && !is_delimiter(b))
        {
            self.pos = start;
            return Err(self.err("malformed number"));
        }
        let text = std::str::from_utf8(&self.buf[start..self.pos])
            .map_err(|_| self.err("malformed number"))?;
        if dot {
            let v: f64 = text.parse().map_err(|_| self.err("malformed number"))?;
            Ok(Object::Real(v))
        } else {
            let v: i64 = text.parse().map_err(|_| self.err("integer out of range"))?;
            Ok(Object::Int(v))
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// An indirect object parsed at an offset, with where it ends.
pub(crate) struct Indirect {
    /// Its number and generation as written in `n g obj`.
    pub(crate) id: Ref,
    /// The object (a stream's data range is absolute in the buffer).
    pub(crate) object: Object,
    /// The offset just after `endobj`.
    pub(crate) end: usize,
}

/// Parses `n g obj … endobj` at `offset`. A stream's `/Length` must be a direct integer or a
/// reference `length_of` resolves; the data must be followed by `endstream` exactly there.
pub(crate) fn indirect_at(
    buf: &[u8],
    offset: usize,
    length_of: &dyn Fn(Ref) -> Result<i64, PdfError>,
) -> Result<Indirect, PdfError> {
    let mut lx = Lexer::new(buf, offset);
    let num = lx.uint()?;
    let generation = lx.uint()?;
    lx.expect_keyword(b"obj")?;
    let id = Ref {
        num: u32::try_from(num).map_err(|_| lx.err("object number too large"))?,
        generation: u16::try_from(generation).map_err(|_| lx.err("generation too large"))?,
    };
    let object = lx.object(0)?;
    let object = if lx.eat_keyword(b"stream") {
        let Object::Dict(dict) = object else {
            return Err(lx.err("`stream` after a non-dictionary"));
        };
        // The keyword is followed by CRLF or LF (§7.3.8.1), never CR alone.
        match (lx.peek(), buf.get(lx.pos + 1)) {
            (Some(b'\r'), Some(b'\n')) => lx.pos += 2,
            (Some(b'\n'), _) => lx.pos += 1,
            _ => return Err(lx.err("`stream` not followed by an end of line")),
        }
        let length = match dict.get(b"Length") {
            Some(Object::Int(n)) => *n,
            Some(Object::Ref(r)) => length_of(*r)?,
            _ => return Err(lx.err("stream without a usable /Length")),
        };
        let length = usize::try_from(length).map_err(|_| lx.err("negative stream /Length"))?;
        let start = lx.pos;
        let end = start
            .checked_add(length)
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| lx.err("stream /Length runs past the end of the file"))?;
        lx.pos = end;
        if !lx.eat_keyword(b"endstream") {
            return Err(lx.err("stream data not followed by `endstream` at /Length"));
        }
        Object::Stream(Stream {
            dict,
            data: start..end,
        })
    } else {
        object
    };
    lx.expect_keyword(b"endobj")?;
    Ok(Indirect {
        id,
        object,
        end: lx.pos,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(s: &[u8]) -> Result<Object, PdfError> {
        Lexer::new(s, 0).object(0)
    }

    #[test]
    fn objects() {
        let o = parse(b"<</A [1 2 0 R -3.5 (x\\(y\\)) <4142 4> /N#20x true null]/B<<>>>>").unwrap();
        let d = o.as_dict().unwrap();
        let a = d.get(b"A").unwrap().as_array().unwrap();
        assert_eq!(a[0], Object::Int(1));
        assert_eq!(a[1], Object::Ref(Ref::new(2)));
        assert_eq!(a[2], Object::Real(-3.5));
        assert_eq!(a[3], Object::string(b"x(y)"));
        assert_eq!(
            a[4],
            Object::String {
                bytes: vec![0x41, 0x42, 0x40],
                hex: true
            }
        );
        assert_eq!(a[5], Object::name(b"N x"));
        assert_eq!(a[6], Object::Bool(true));
        assert_eq!(a[7], Object::Null);
        assert_eq!(d.get(b"B"), Some(&Object::Dict(Dict::default())));
        // Round trip through the writer.
        let mut out = Vec::new();
        o.write(&mut out);
        assert_eq!(parse(&out).unwrap(), o);
    }

    #[test]
    fn refuses_what_a_strict_reader_must() {
        assert!(parse(b"<</A 1/A 2>>").is_err(), "duplicate key");
        assert!(parse(b"[1 2").is_err());
        assert!(parse(b"(abc").is_err());
        assert!(parse(b"<4g>").is_err());
        assert!(parse(b"99999999999999999999").is_err());
        assert!(parse(b"1.2.3").is_err());
        assert!(parse(b"/A#zz").is_err());
        let deep = [b"[".repeat(20_000), b"]".repeat(20_000)].concat();
        assert!(matches!(parse(&deep), Err(PdfError::TooDeep)));
        let deep = b"<</A ".repeat(20_000);
        assert!(matches!(parse(&deep), Err(PdfError::TooDeep)));
    }

    #[test]
    fn streams_need_an_exact_length() {
        let ok = b"4 0 obj <</Length 3>> stream\nabc\nendstream endobj";
        let i = indirect_at(ok, 0, &|_| Ok(0)).unwrap();
        assert_eq!(i.id, Ref::new(4));
        let Object::Stream(s) = i.object else {
            panic!("a stream")
        };
        assert_eq!(&ok[s.data], b"abc");
        assert_eq!(i.end, ok.len());
        let short = b"4 0 obj <</Length 2>> stream\nabc\nendstream endobj";
        assert!(indirect_at(short, 0, &|_| Ok(0)).is_err());
        let long = b"4 0 obj <</Length 99>> stream\nabc\nendstream endobj";
        assert!(indirect_at(long, 0, &|_| Ok(0)).is_err());
        let indirect = b"4 0 obj <</Length 5 0 R>> stream\r\nabc\nendstream\nendobj";
        assert!(indirect_at(indirect, 0, &|r| Ok(i64::from(r.num) - 2)).is_ok());
    }
}
