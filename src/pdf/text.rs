//! Where text is on a page, approximately: enough to put a seal on a given phrase (the date
//! line, "（盖章）"). The page's content stream is run through the text operators of ISO 32000-1
//! §9.4 (with `cm`, `q`/`Q` for the graphics state), strings are decoded through the font's
//! `/ToUnicode` CMap (`bfchar`/`bfrange`: CJK subset fonts with Identity-H carry one) or, for a
//! simple font without one, as Latin-1, and each glyph is advanced by the font's `/Widths` or
//! `/W` (else an average width). Form XObjects are not entered. Bounded by the file's
//! decompression budget and [`MAX_OPERATORS`].

use std::collections::HashMap;

use super::PdfError;
use super::file::PdfFile;
use super::object::{Dict, Object, Ref, is_delimiter, is_whitespace};
use super::parse::Lexer;

/// Most operators run per page (and entries read per CMap).
const MAX_OPERATORS: usize = 1_000_000;

/// Width of a glyph whose font states none, in thousandths of the font size.
const AVERAGE_WIDTH: f64 = 500.0;

/// Where the middle of a line of text lies above its baseline, as a fraction of the font size.
const MIDDLE: f64 = 0.35;

/// Finds the first occurrence of `needle` (white space ignored on both sides) on page `page`
/// (0-based) or, without it, on the first page that has it; returns the page index and the
/// centre of the matched text in default user space.
pub(crate) fn find_text(
    file: &PdfFile<'_>,
    upto: usize,
    page: Option<usize>,
    needle: &str,
) -> Result<Option<(usize, [f64; 2])>, PdfError> {
    let pages = file.pages_at(upto)?;
    let wanted: Vec<char> = needle.chars().filter(|c| !c.is_whitespace()).collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let candidates: Vec<usize> = match page {
        Some(p) if p < pages.len() => vec![p],
        Some(_) => Vec::new(),
        None => (0..pages.len()).collect(),
    };
    for k in candidates {
        let glyphs = page_glyphs(file, pages[k], upto)?;
        if let Some(centre) = locate(&glyphs, &wanted) {
            return Ok(Some((k, centre)));
        }
    }
    Ok(None)
}

/// One glyph as shown: its text, its baseline start and end and its size, in user space.
#[derive(Debug, Clone, PartialEq)]
struct Glyph {
    text: String,
    start: [f64; 2],
    end: [f64; 2],
    size: f64,
}

/// The centre of the first run of glyphs whose non-space text is `wanted`.
fn locate(glyphs: &[Glyph], wanted: &[char]) -> Option<[f64; 2]> {
    // Each character of the page's text with the glyph it came from.
    let chars: Vec<(char, usize)> = glyphs
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.text.chars().map(move |c| (c, i)))
        .filter(|(c, _)| !c.is_whitespace())
        .collect();
    let at = chars
        .windows(wanted.len())
        .position(|w| w.iter().map(|(c, _)| c).eq(wanted.iter()))?;
    let (first, last) = (
        &glyphs[chars[at].1],
        &glyphs[chars[at + wanted.len() - 1].1],
    );
    let size = first.size.max(last.size);
    Some([
        (first.start[0] + last.end[0]) / 2.0,
        (first.start[1] + last.end[1]) / 2.0 + MIDDLE * size,
    ])
}

/// The glyphs a page's content stream shows, in content order.
fn page_glyphs(file: &PdfFile<'_>, page: Ref, upto: usize) -> Result<Vec<Glyph>, PdfError> {
    let Object::Dict(dict) = file.get_at(page, upto)? else {
        return Err(PdfError::Structure("page is not a dictionary".into()));
    };
    let mut content = Vec::new();
    let parts = match dict.get(b"Contents") {
        Some(Object::Array(a)) => a.clone(),
        Some(o) => match file.resolve_at(o, upto)? {
            Object::Array(a) => a,
            other => vec![other],
        },
        None => Vec::new(),
    };
    for part in &parts {
        if let Object::Stream(s) = file.resolve_at(part, upto)? {
            content.extend_from_slice(&file.decode(&s)?);
            content.push(b'\n');
        }
    }
    let fonts = match file.inherited(&dict, b"Resources", upto)? {
        Some(Object::Dict(res)) => match res.get(b"Font") {
            Some(o) => match file.resolve_at(o, upto)? {
                Object::Dict(d) => d,
                _ => Dict::default(),
            },
            None => Dict::default(),
        },
        _ => Dict::default(),
    };
    let mut cache: HashMap<Vec<u8>, Font> = HashMap::new();
    run(&content, |name| {
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        let font = match fonts.get(name) {
            Some(o) => match file.resolve_at(o, upto)? {
                Object::Dict(d) => Font::load(file, &d, upto)?,
                _ => Font::default(),
            },
            None => Font::default(),
        };
        cache.insert(name.to_vec(), font.clone());
        Ok(font)
    })
}

/// What decoding and measuring a font's strings needs.
#[derive(Debug, Clone, Default)]
struct Font {
    /// Two-byte codes (a Type0 font; Identity-H and -V, what CJK documents use).
    wide: bool,
    /// Code → text, from `/ToUnicode`.
    to_unicode: HashMap<u32, String>,
    /// Code → width in thousandths of the font size.
    widths: HashMap<u32, f64>,
    /// Width of a code not in `widths`.
    default_width: f64,
}

impl Font {
    fn load(file: &PdfFile<'_>, dict: &Dict, upto: usize) -> Result<Font, PdfError> {
        let resolve = |o: Option<&Object>| -> Result<Option<Object>, PdfError> {
            o.map(|o| file.resolve_at(o, upto)).transpose()
        };
        let wide = dict.name(b"Subtype") == Some(&b"Type0"[..]);
        let mut font = Font {
            wide,
            default_width: AVERAGE_WIDTH,
            ..Font::default()
        };
        if let Some(Object::Stream(s)) = resolve(dict.get(b"ToUnicode"))? {
            font.to_unicode = parse_cmap(&file.decode(&s)?)?;
        }
        if wide {
            let descendant = match resolve(dict.get(b"DescendantFonts"))? {
                Some(Object::Array(a)) => match resolve(a.first())? {
                    Some(Object::Dict(d)) => d,
                    _ => Dict::default(),
                },
                _ => Dict::default(),
            };
            if let Some(dw) = resolve(descendant.get(b"DW"))?.and_then(|o| o.as_number()) {
                font.default_width = dw;
            } else {
                font.default_width = 1000.0;
            }
            if let Some(Object::Array(w)) = resolve(descendant.get(b"W"))? {
                font.widths = cid_widths(&w);
            }
        } else {
            let first = resolve(dict.get(b"FirstChar"))?.and_then(|o| o.as_int());
            if let (Some(first), Some(Object::Array(w))) = (first, resolve(dict.get(b"Widths"))?) {
                for (k, v) in w.iter().enumerate() {
                    if let (Ok(code), Some(v)) = (u32::try_from(first + k as i64), v.as_number()) {
                        font.widths.insert(code, v);
                    }
                }
            }
        }
        Ok(font)
    }

    /// The glyphs of a shown string: text, code and width (thousandths of the font size).
    fn glyphs(&self, bytes: &[u8]) -> Vec<(String, u32, f64)> {
        let step = if self.wide { 2 } else { 1 };
        bytes
            .chunks(step)
            .map(|c| {
                let code = c.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
                let text = match self.to_unicode.get(&code) {
                    Some(t) => t.clone(),
                    None if !self.wide => char::from(c[0]).to_string(),
                    None => char::REPLACEMENT_CHARACTER.to_string(),
                };
                let w = self
                    .widths
                    .get(&code)
                    .copied()
                    .unwrap_or(self.default_width);
                (text, code, w)
            })
            .collect()
    }
}

/// `/W` of a CIDFont: `c [w1 w2 …]` and `c_first c_last w` entries.
fn cid_widths(w: &[Object]) -> HashMap<u32, f64> {
    let mut out = HashMap::new();
    let mut i = 0;
    while i < w.len() && out.len() < MAX_OPERATORS {
        let Some(first) = w[i].as_int().and_then(|c| u32::try_from(c).ok()) else {
            break;
        };
        match (w.get(i + 1), w.get(i + 2)) {
            (Some(Object::Array(list)), _) => {
                for (k, v) in list.iter().enumerate() {
                    if let (Some(v), Ok(k)) = (v.as_number(), u32::try_from(k)) {
                        out.insert(first.saturating_add(k), v);
                    }
                }
                i += 2;
            }
            (Some(last), Some(v)) => {
                let last = last
                    .as_int()
                    .and_then(|c| u32::try_from(c).ok())
                    .unwrap_or(0);
                let v = v.as_number().unwrap_or(AVERAGE_WIDTH);
                for c in first..=last.min(first.saturating_add(65_535)) {
                    out.insert(c, v);
                }
                i += 3;
            }
            _ => break,
        }
    }
    out
}

/// A content stream's token: an operand or an operator.
enum Token {
    Operand(Object),
    Operator(Vec<u8>),
}

/// The tokens of a content stream or CMap, in order; inline image data is skipped.
fn tokens(buf: &[u8], mut each: impl FnMut(Token) -> Result<(), PdfError>) -> Result<(), PdfError> {
    let mut lx = Lexer::new(buf, 0);
    let mut count = 0usize;
    loop {
        lx.skip_ws();
        let Some(&b) = buf.get(lx.pos) else {
            return Ok(());
        };
        count += 1;
        if count > MAX_OPERATORS {
            return Err(PdfError::TooLarge("content stream operators"));
        }
        let operator = b.is_ascii_alphabetic() || b == b'\'' || b == b'"' || b == b'*';
        if !operator || buf[lx.pos..].starts_with(b"true") || buf[lx.pos..].starts_with(b"false") {
            each(Token::Operand(lx.object(0)?))?;
            continue;
        }
        let start = lx.pos;
        while buf
            .get(lx.pos)
            .is_some_and(|&c| !is_whitespace(c) && !is_delimiter(c))
        {
            lx.pos += 1;
        }
        let op = buf[start..lx.pos].to_vec();
        if op == b"ID" {
            // Inline image data up to a white-space-delimited `EI`.
            let rest = &buf[lx.pos..];
            let end = rest
                .windows(4)
                .position(|w| is_whitespace(w[0]) && &w[1..3] == b"EI" && is_whitespace(w[3]))
                .ok_or_else(|| PdfError::Structure("inline image without EI".into()))?;
            lx.pos += end + 3;
            continue;
        }
        each(Token::Operator(op))?;
    }
}

/// Code → text of a `/ToUnicode` CMap (`bfchar` and `bfrange`).
fn parse_cmap(buf: &[u8]) -> Result<HashMap<u32, String>, PdfError> {
    let code = |o: &Object| match o {
        Object::String { bytes, .. } if bytes.len() <= 4 => {
            Some(bytes.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)))
        }
        _ => None,
    };
    let text = |o: &Object| match o {
        Object::String { bytes, .. } => Some(utf16(bytes)),
        _ => None,
    };
    let mut map = HashMap::new();
    let mut operands = Vec::new();
    tokens(buf, |t| {
        match t {
            Token::Operand(o) => operands.push(o),
            Token::Operator(op) => {
                match op.as_slice() {
                    b"endbfchar" => {
                        for pair in operands.chunks_exact(2) {
                            if let (Some(c), Some(t)) = (code(&pair[0]), text(&pair[1])) {
                                map.insert(c, t);
                            }
                        }
                    }
                    b"endbfrange" => {
                        for triple in operands.chunks_exact(3) {
                            let (Some(lo), Some(hi)) = (code(&triple[0]), code(&triple[1])) else {
                                continue;
                            };
                            for (k, c) in (lo..=hi.min(lo.saturating_add(65_535))).enumerate() {
                                let t = match &triple[2] {
                                    Object::Array(list) => list.get(k).and_then(text),
                                    dst => text(dst).map(|t| offset_last(&t, k)),
                                };
                                if let Some(t) = t {
                                    map.insert(c, t);
                                }
                            }
                        }
                    }
                    _ => {}
                }
                operands.clear();
            }
        }
        if map.len() > MAX_OPERATORS {
            return Err(PdfError::TooLarge("ToUnicode CMap"));
        }
        Ok(())
    })?;
    Ok(map)
}

/// UTF-16BE text (lossy).
fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| (u16::from(c[0]) << 8) | u16::from(c.get(1).copied().unwrap_or(0)))
        .collect();
    String::from_utf16_lossy(&units)
}

/// `t` with its last character advanced by `k` (a `bfrange` with one destination string).
fn offset_last(t: &str, k: usize) -> String {
    let mut chars: Vec<char> = t.chars().collect();
    if let Some(last) = chars.last_mut() {
        let advanced = u32::try_from(k)
            .ok()
            .and_then(|k| (*last as u32).checked_add(k))
            .and_then(char::from_u32);
        *last = advanced.unwrap_or(char::REPLACEMENT_CHARACTER);
    }
    chars.into_iter().collect()
}

/// A 2×3 affine matrix `[a b c d e f]` (§8.3.3).
type Matrix = [f64; 6];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m` then `n`: the product m × n.
fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> [f64; 2] {
    [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]
}

/// Text state (§9.3) and the matrices that place glyphs.
struct State {
    ctm: Matrix,
    stack: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    font: Font,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
}

impl State {
    fn next_line(&mut self, tx: f64, ty: f64) {
        self.tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
    }

    fn show(&mut self, bytes: &[u8], out: &mut Vec<Glyph>) {
        for (text, code, w) in self.font.glyphs(bytes) {
            let trm = mul(&self.tm, &self.ctm);
            let advance = (w / 1000.0 * self.size
                + self.char_spacing
                + if !self.font.wide && code == 32 {
                    self.word_spacing
                } else {
                    0.0
                })
                * self.scale;
            let start = apply(&trm, 0.0, 0.0);
            let end = apply(&trm, advance, 0.0);
            // The size in user space: the length of the text-space unit vector scaled.
            let unit = apply(&trm, 0.0, self.size);
            let size = ((unit[0] - start[0]).powi(2) + (unit[1] - start[1]).powi(2)).sqrt();
            out.push(Glyph {
                text,
                start,
                end,
                size,
            });
            self.tm = mul(&[1.0, 0.0, 0.0, 1.0, advance, 0.0], &self.tm);
        }
    }
}

/// Runs a content stream's text and matrix operators; `font` loads a font by resource name.
fn run(
    content: &[u8],
    mut font: impl FnMut(&[u8]) -> Result<Font, PdfError>,
) -> Result<Vec<Glyph>, PdfError> {
    let mut st = State {
        ctm: IDENTITY,
        stack: Vec::new(),
        tm: IDENTITY,
        tlm: IDENTITY,
        font: Font::default(),
        size: 0.0,
        char_spacing: 0.0,
        word_spacing: 0.0,
        scale: 1.0,
        leading: 0.0,
    };
    let mut out = Vec::new();
    let mut ops: Vec<Object> = Vec::new();
    tokens(content, |t| {
        let op = match t {
            Token::Operand(o) => {
                ops.push(o);
                return Ok(());
            }
            Token::Operator(op) => op,
        };
        let num = |k: usize| ops.get(k).and_then(Object::as_number).unwrap_or(0.0);
        let matrix = || -> Matrix { [num(0), num(1), num(2), num(3), num(4), num(5)] };
        let string = |k: usize| match ops.get(k) {
            Some(Object::String { bytes, .. }) => bytes.clone(),
            _ => Vec::new(),
        };
        match op.as_slice() {
            b"q" if st.stack.len() < 256 => st.stack.push(st.ctm),
            b"Q" => st.ctm = st.stack.pop().unwrap_or(st.ctm),
            b"cm" if ops.len() == 6 => st.ctm = mul(&matrix(), &st.ctm),
            b"BT" => {
                st.tm = IDENTITY;
                st.tlm = IDENTITY;
            }
            b"Tf" if ops.len() == 2 => {
                if let Some(Object::Name(n)) = ops.first() {
                    st.font = font(n)?;
                }
                st.size = num(1);
            }
            b"Tc" => st.char_spacing = num(0),
            b"Tw" => st.word_spacing = num(0),
            b"Tz" => st.scale = num(0) / 100.0,
            b"TL" => st.leading = num(0),
            b"Td" => st.next_line(num(0), num(1)),
            b"TD" => {
                st.leading = -num(1);
                st.next_line(num(0), num(1));
            }
            b"Tm" if ops.len() == 6 => {
                st.tlm = matrix();
                st.tm = st.tlm;
            }
            b"T*" => st.next_line(0.0, -st.leading),
            b"Tj" => st.show(&string(0), &mut out),
            b"'" => {
                st.next_line(0.0, -st.leading);
                st.show(&string(0), &mut out);
            }
            b"\"" => {
                st.word_spacing = num(0);
                st.char_spacing = num(1);
                st.next_line(0.0, -st.leading);
                st.show(&string(2), &mut out);
            }
            b"TJ" => {
                if let Some(Object::Array(items)) = ops.first() {
                    for item in items {
                        match item {
                            Object::String { bytes, .. } => st.show(bytes, &mut out),
                            n => {
                                let tx =
                                    -n.as_number().unwrap_or(0.0) / 1000.0 * st.size * st.scale;
                                st.tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &st.tm);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        ops.clear();
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helvetica() -> Font {
        Font {
            default_width: 600.0,
            ..Font::default()
        }
    }

    /// Identity-H with a ToUnicode CMap mapping 0001–0004 to 签, 章, （ and ）, 1000 wide.
    fn cjk() -> Font {
        let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap \
            /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def \
            1 begincodespacerange <0000> <FFFF> endcodespacerange \
            2 beginbfchar <0001> <7B7E> <0002> <7AE0> endbfchar \
            1 beginbfrange <0003> <0004> [<FF08> <FF09>] endbfrange \
            1 beginbfrange <0010> <0012> <76D6> endbfrange \
            endcmap CMapName currentdict /CMap defineresource pop end end";
        Font {
            wide: true,
            to_unicode: parse_cmap(cmap).expect("cmap"),
            widths: cid_widths(&[Object::Int(1), Object::Array(vec![Object::Int(1000); 4])]),
            default_width: 1000.0,
        }
    }

    fn glyphs(content: &str, f: Font) -> Vec<Glyph> {
        run(content.as_bytes(), |_| Ok(f.clone())).expect("runs")
    }

    fn text(g: &[Glyph]) -> String {
        g.iter().map(|g| g.text.as_str()).collect()
    }

    #[test]
    fn ascii_runs_are_placed_and_found_across_operators() {
        let g = glyphs(
            "q 1 0 0 1 10 20 cm BT /F1 10 Tf 72 700 Td (Date: ) Tj [(2026-) -500 (01)] TJ \
             14 TL (Seal here) ' ET Q BI /W 1 /H 1 ID \x00EI\x01 EI ",
            helvetica(),
        );
        assert_eq!(text(&g), "Date: 2026-01Seal here");
        // Origin after `cm` and `Td`; 6 points a glyph at 10 pt with 600 widths.
        assert_eq!(g[0].start, [82.0, 720.0]);
        assert_eq!(g[1].start, [88.0, 720.0]);
        // The TJ adjustment of -500 moves 5 points right.
        let zero_one = g.iter().position(|g| g.text == "0" && g.start[0] > 150.0);
        assert_eq!(
            g[zero_one.expect("01")].start,
            [82.0 + 11.0 * 6.0 + 5.0, 720.0]
        );
        // T* goes down by the leading.
        assert_eq!(g[13].start, [82.0, 706.0]);
        let wanted: Vec<char> = "Sealhere".chars().collect();
        let c = locate(&g, &wanted).expect("found");
        assert!((c[0] - (82.0 + 9.0 * 6.0 / 2.0)).abs() < 1e-9, "{c:?}");
        assert!((c[1] - (706.0 + MIDDLE * 10.0)).abs() < 1e-9, "{c:?}");
        assert_eq!(locate(&g, &['x', 'y']), None);
    }

    #[test]
    fn identity_h_text_is_decoded_through_to_unicode() {
        let g = glyphs(
            "BT /F2 12 Tf 1 0 0 1 300 100 Tm <0003000100020004> Tj <00100011> Tj ET",
            cjk(),
        );
        assert_eq!(text(&g), "（签章）盖盗");
        assert_eq!(g[1].start, [312.0, 100.0]);
        let wanted: Vec<char> = "签章".chars().collect();
        let c = locate(&g, &wanted).expect("found");
        assert!((c[0] - 324.0).abs() < 1e-9, "{c:?}");
        assert!((c[1] - (100.0 + MIDDLE * 12.0)).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn operator_count_is_bounded() {
        let content = "0 0 m ".repeat(MAX_OPERATORS / 3 + 1);
        assert_eq!(
            run(content.as_bytes(), |_| Ok(helvetica())),
            Err(PdfError::TooLarge("content stream operators"))
        );
    }
}
