//! The structure of a PDF file: cross-reference sections (tables, streams, hybrids), the
//! revisions they make, and object lookup as of any revision — read strictly and within
//! [`Limits`]: no xref recovery, no guessed offsets, bounded decompression.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::rc::Rc;

use super::object::{Dict, Object, Ref, Stream};
use super::parse::{Indirect, Lexer, indirect_at};
use super::{Limits, PdfError};

/// Where an object of one cross-reference section lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Free (deleted), with the generation to use next.
    Free(u16),
    /// At a byte offset in the file.
    InFile {
        /// Offset of `n g obj`.
        offset: usize,
        /// Generation.
        generation: u16,
    },
    /// Inside an object stream.
    InStream {
        /// Object number of the object stream.
        stream: u32,
        /// Index within it.
        index: usize,
    },
}

/// How a section's cross-reference data is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefKind {
    /// A classic `xref` table and `trailer`.
    Table,
    /// A cross-reference stream (PDF 1.5).
    Stream,
    /// A table whose trailer also names a cross-reference stream (`/XRefStm`).
    Hybrid,
}

/// One cross-reference section and the revision it closes.
#[derive(Debug, Clone)]
pub struct Section {
    /// Offset of the `xref` keyword or of the xref stream object.
    pub xref_offset: usize,
    /// Table, stream or hybrid.
    pub kind: XrefKind,
    /// The trailer dictionary (the stream dictionary for xref streams).
    pub trailer: Dict,
    /// The entries this section defines.
    pub entries: BTreeMap<u32, Entry>,
    /// The offset just after the `%%EOF` that ends this revision.
    pub eof: usize,
}

/// Largest stream decoded into memory (xref and object streams).
const MAX_DECODED_STREAM: usize = 32 << 20;

/// A decoded object stream: its data and where each object starts.
struct ObjStm {
    /// Offset of the object stream in the file (its identity).
    offset: usize,
    data: Vec<u8>,
    objects: Vec<(u32, usize)>,
}

/// A PDF file opened for reading.
pub struct PdfFile<'a> {
    buf: &'a [u8],
    /// Sections in chain order, oldest first (the last is what `startxref` names).
    sections: Vec<Section>,
    limits: Limits,
    inflated: Cell<usize>,
    objstms: RefCell<HashMap<usize, Rc<ObjStm>>>,
    file_cache: RefCell<HashMap<usize, (Ref, Rc<Object>)>>,
    stm_cache: RefCell<HashMap<(usize, usize), Rc<Object>>>,
}

impl std::fmt::Debug for PdfFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfFile")
            .field("len", &self.buf.len())
            .field("sections", &self.sections.len())
            .finish_non_exhaustive()
    }
}

/// Finds the last occurrence of `needle` in `hay`.
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

impl<'a> PdfFile<'a> {
    /// Opens `buf`: header, `startxref`, and every section along the `/Prev` chain.
    pub fn open(buf: &'a [u8], limits: &Limits) -> Result<PdfFile<'a>, PdfError> {
        if buf.len() > limits.max_file_size {
            return Err(PdfError::TooLarge("file"));
        }
        if !buf.starts_with(b"%PDF-") {
            return Err(PdfError::NotPdf);
        }
        let tail_start = buf.len().saturating_sub(1024);
        let at = rfind(&buf[tail_start..], b"startxref")
            .map(|i| tail_start + i)
            .ok_or(PdfError::Structure("no `startxref` near the end".into()))?;
        let mut lx = Lexer::new(buf, at + b"startxref".len());
        let mut next = Some(to_usize(lx.uint()?)?);
        let mut file = PdfFile {
            buf,
            sections: Vec::new(),
            limits: limits.clone(),
            inflated: Cell::new(0),
            objstms: RefCell::new(HashMap::new()),
            file_cache: RefCell::new(HashMap::new()),
            stm_cache: RefCell::new(HashMap::new()),
        };
        let mut seen = HashSet::new();
        let mut total = 0usize;
        while let Some(offset) = next {
            if !seen.insert(offset) {
                return Err(PdfError::Structure("cycle in the /Prev chain".into()));
            }
            if file.sections.len() >= limits.max_revisions {
                return Err(PdfError::TooLarge("revisions"));
            }
            let section = file.section_at(offset)?;
            total += section.entries.len();
            if total > limits.max_objects {
                return Err(PdfError::TooLarge("objects"));
            }
            next = match section.trailer.get(b"Prev") {
                None => None,
                Some(Object::Int(p)) => {
                    Some(to_usize(u64::try_from(*p).map_err(|_| {
                        PdfError::Structure("negative /Prev".into())
                    })?)?)
                }
                Some(_) => return Err(PdfError::Structure("/Prev is not an integer".into())),
            };
            file.sections.push(section);
        }
        file.sections.reverse();
        Ok(file)
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The sections, oldest first in `/Prev` chain order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The newest trailer.
    pub fn trailer(&self) -> &Dict {
        &self.sections[self.sections.len() - 1].trailer
    }

    /// Parses the cross-reference section at `offset` and finds the `%%EOF` after it.
    fn section_at(&self, offset: usize) -> Result<Section, PdfError> {
        if offset >= self.buf.len() {
            return Err(PdfError::Structure(format!(
                "xref offset {offset} is past the end"
            )));
        }
        let mut lx = Lexer::new(self.buf, offset);
        let (kind, trailer, entries, after) = if lx.eat_keyword(b"xref") {
            let entries = self.xref_table(&mut lx)?;
            lx.expect_keyword(b"trailer")?;
            let Object::Dict(trailer) = lx.object(0)? else {
                return Err(PdfError::Structure("trailer is not a dictionary".into()));
            };
            let after = lx.pos;
            match trailer.get(b"XRefStm") {
                Some(Object::Int(x)) => {
                    let at = to_usize(
                        u64::try_from(*x)
                            .map_err(|_| PdfError::Structure("negative /XRefStm".into()))?,
                    )?;
                    let (_, mut stream_entries) = self.xref_stream(at)?;
                    // Table entries win over the stream's within one section (§7.5.8.4).
                    stream_entries.extend(entries);
                    (XrefKind::Hybrid, trailer, stream_entries, after)
                }
                Some(_) => return Err(PdfError::Structure("/XRefStm is not an integer".into())),
                None => (XrefKind::Table, trailer, entries, after),
            }
        } else {
            let (Indirect { object, end, .. }, entries) = self.xref_stream(offset)?;
            let Object::Stream(s) = object else {
                return Err(PdfError::Structure("xref stream is not a stream".into()));
            };
            (XrefKind::Stream, s.dict, entries, end)
        };
        let mut lx = Lexer::new(self.buf, after);
        lx.expect_keyword(b"startxref").map_err(|_| {
            PdfError::Structure(format!("no `startxref` after the xref at {offset}"))
        })?;
        lx.uint()?;
        lx.skip_ws_no_comment();
        if !self.buf[lx.pos..].starts_with(b"%%EOF") {
            return Err(PdfError::Structure(format!(
                "no `%%EOF` after the xref at {offset}"
            )));
        }
        Ok(Section {
            xref_offset: offset,
            kind,
            trailer,
            entries,
            eof: lx.pos + 5,
        })
    }

    fn xref_table(&self, lx: &mut Lexer<'_>) -> Result<BTreeMap<u32, Entry>, PdfError> {
        let mut entries = BTreeMap::new();
        loop {
            lx.skip_ws();
            let save = lx.pos;
            let Ok(start) = lx.uint() else {
                lx.pos = save;
                return Ok(entries);
            };
            let count = to_usize(lx.uint()?)?;
            if entries.len() + count > self.limits.max_objects {
                return Err(PdfError::TooLarge("objects"));
            }
            for i in 0..count {
                let offset = lx.uint()?;
                let generation = u16::try_from(lx.uint()?)
                    .map_err(|_| PdfError::Structure("xref generation too large".into()))?;
                let num = u32::try_from(start + i as u64)
                    .map_err(|_| PdfError::Structure("object number too large".into()))?;
                let entry = if lx.eat_keyword(b"n") {
                    Entry::InFile {
                        offset: to_usize(offset)?,
                        generation,
                    }
                } else if lx.eat_keyword(b"f") {
                    Entry::Free(generation)
                } else {
                    return Err(PdfError::Structure("xref entry is neither n nor f".into()));
                };
                if entries.insert(num, entry).is_some() {
                    return Err(PdfError::Structure(format!(
                        "object {num} listed twice in one xref table"
                    )));
                }
            }
        }
    }

    /// Parses an xref stream object at `offset` and decodes its entries.
    fn xref_stream(&self, offset: usize) -> Result<(Indirect, BTreeMap<u32, Entry>), PdfError> {
        let ind = indirect_at(self.buf, offset, &|_| {
            Err(PdfError::Structure(
                "an xref stream's /Length must be direct".into(),
            ))
        })?;
        let Object::Stream(s) = &ind.object else {
            return Err(PdfError::Structure(format!("no xref stream at {offset}")));
        };
        if !s.dict.is_type(b"XRef") {
            return Err(PdfError::Structure(format!("no xref stream at {offset}")));
        }
        let w: Vec<usize> = match s.dict.get(b"W").and_then(Object::as_array) {
            Some(w) if w.len() == 3 => w
                .iter()
                .map(|x| {
                    x.as_int()
                        .and_then(|v| usize::try_from(v).ok())
                        .filter(|&v| v <= 8)
                })
                .collect::<Option<_>>()
                .ok_or_else(|| PdfError::Structure("bad /W in xref stream".into()))?,
            _ => return Err(PdfError::Structure("bad /W in xref stream".into())),
        };
        let size = s
            .dict
            .get(b"Size")
            .and_then(Object::as_int)
            .ok_or_else(|| PdfError::Structure("xref stream without /Size".into()))?;
        let index: Vec<i64> = match s.dict.get(b"Index") {
            None => vec![0, size],
            Some(Object::Array(a)) if a.len() % 2 == 0 => a
                .iter()
                .map(Object::as_int)
                .collect::<Option<_>>()
                .ok_or_else(|| PdfError::Structure("bad /Index".into()))?,
            Some(_) => return Err(PdfError::Structure("bad /Index".into())),
        };
        let data = self.decode(s)?;
        let row = w[0] + w[1] + w[2];
        if row == 0 {
            return Err(PdfError::Structure("bad /W in xref stream".into()));
        }
        let mut entries = BTreeMap::new();
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks_exact(2) {
            let (start, count) = (pair[0], pair[1]);
            if start < 0 || count < 0 {
                return Err(PdfError::Structure("negative /Index".into()));
            }
            for i in 0..count {
                let row = rows
                    .next()
                    .ok_or_else(|| PdfError::Structure("xref stream data too short".into()))?;
                let field = |k: usize| -> u64 {
                    let from = w[..k].iter().sum::<usize>();
                    row[from..from + w[k]]
                        .iter()
                        .fold(0u64, |acc, &b| acc << 8 | u64::from(b))
                };
                let ty = if w[0] == 0 { 1 } else { field(0) };
                let num = u32::try_from(start + i)
                    .map_err(|_| PdfError::Structure("object number too large".into()))?;
                let entry = match ty {
                    0 => Entry::Free(u16::try_from(field(2)).unwrap_or(u16::MAX)),
                    1 => Entry::InFile {
                        offset: to_usize(field(1))?,
                        generation: u16::try_from(field(2))
                            .map_err(|_| PdfError::Structure("generation too large".into()))?,
                    },
                    2 => Entry::InStream {
                        stream: u32::try_from(field(1))
                            .map_err(|_| PdfError::Structure("object number too large".into()))?,
                        index: to_usize(field(2))?,
                    },
                    // Unknown types are references to null (§7.5.8.3).
                    _ => continue,
                };
                if entries.len() >= self.limits.max_objects {
                    return Err(PdfError::TooLarge("objects"));
                }
                entries.insert(num, entry);
            }
        }
        Ok((ind, entries))
    }

    /// The entry for `num` as of the first `upto` sections (chain order).
    pub fn entry(&self, num: u32, upto: usize) -> Option<Entry> {
        self.sections[..upto.min(self.sections.len())]
            .iter()
            .rev()
            .find_map(|s| s.entries.get(&num).copied())
    }

    /// The object `r` as of the first `upto` sections; `Null` when free or absent (§7.3.10).
    pub fn get_at(&self, r: Ref, upto: usize) -> Result<Object, PdfError> {
        self.shared_at(r, upto).map(|o| (*o).clone())
    }

    /// [`PdfFile::get_at`] without copying: the parsed object as the cache holds it.
    pub fn shared_at(&self, r: Ref, upto: usize) -> Result<Rc<Object>, PdfError> {
        match self.entry(r.num, upto) {
            None | Some(Entry::Free(_)) => Ok(Rc::new(Object::Null)),
            Some(Entry::InFile { offset, generation }) => {
                if generation != r.generation {
                    return Ok(Rc::new(Object::Null));
                }
                let (id, object) = self.parsed(offset, upto)?;
                if id != r {
                    return Err(PdfError::Structure(format!(
                        "xref says object {} is at {offset}, but {} {} is there",
                        r.num, id.num, id.generation
                    )));
                }
                Ok(object)
            }
            Some(Entry::InStream { stream, index }) => {
                if r.generation != 0 {
                    return Ok(Rc::new(Object::Null));
                }
                let stm = self.objstm(stream, upto)?;
                let &(num, at) = stm.objects.get(index).ok_or_else(|| {
                    PdfError::Structure(format!("object stream {stream} has no index {index}"))
                })?;
                if num != r.num {
                    return Err(PdfError::Structure(format!(
                        "object stream {stream} index {index} holds {num}, not {}",
                        r.num
                    )));
                }
                let key = (stm.offset, index);
                if let Some(o) = self.stm_cache.borrow().get(&key) {
                    return Ok(o.clone());
                }
                let o = Rc::new(Lexer::new(&stm.data, at).object(0)?);
                self.stm_cache.borrow_mut().insert(key, o.clone());
                Ok(o)
            }
        }
    }

    /// The indirect object at `offset` (its number and the object), parsed once: every
    /// revision and every check reads the same bytes, and parsing dominated verification before
    /// this cache. A stream whose `/Length` is indirect is not cached, since that length may
    /// differ between revisions.
    fn parsed(&self, offset: usize, upto: usize) -> Result<(Ref, Rc<Object>), PdfError> {
        if let Some(hit) = self.file_cache.borrow().get(&offset) {
            return Ok(hit.clone());
        }
        let ind = self.indirect(offset, upto)?;
        let indirect_length = matches!(
            &ind.object,
            Object::Stream(s) if matches!(s.dict.get(b"Length"), Some(Object::Ref(_)))
        );
        let hit = (ind.id, Rc::new(ind.object));
        if !indirect_length {
            self.file_cache.borrow_mut().insert(offset, hit.clone());
        }
        Ok(hit)
    }

    /// The object `r` in the newest revision.
    pub fn get(&self, r: Ref) -> Result<Object, PdfError> {
        self.get_at(r, self.sections.len())
    }

    /// Follows a reference (as of `upto`); other objects are returned as they are.
    pub fn resolve_at(&self, o: &Object, upto: usize) -> Result<Object, PdfError> {
        match o {
            Object::Ref(r) => self.get_at(*r, upto),
            other => Ok(other.clone()),
        }
    }

    /// The indirect object at `offset`, its `/Length` resolved as of `upto`.
    pub(crate) fn indirect(&self, offset: usize, upto: usize) -> Result<Indirect, PdfError> {
        indirect_at(self.buf, offset, &|r| {
            // A /Length points at a plain integer object; never at a stream.
            match self.entry(r.num, upto) {
                Some(Entry::InFile { offset, .. }) => {
                    let mut lx = Lexer::new(self.buf, offset);
                    lx.uint()?;
                    lx.uint()?;
                    lx.expect_keyword(b"obj")?;
                    match lx.object(0)? {
                        Object::Int(n) => Ok(n),
                        _ => Err(PdfError::Structure("/Length is not an integer".into())),
                    }
                }
                Some(Entry::InStream { .. }) => match self.get_at(r, upto)? {
                    Object::Int(n) => Ok(n),
                    _ => Err(PdfError::Structure("/Length is not an integer".into())),
                },
                _ => Err(PdfError::Structure("/Length refers to nothing".into())),
            }
        })
    }

    fn objstm(&self, num: u32, upto: usize) -> Result<Rc<ObjStm>, PdfError> {
        let Some(Entry::InFile { offset, .. }) = self.entry(num, upto) else {
            return Err(PdfError::Structure(format!(
                "object stream {num} is not in the file"
            )));
        };
        if let Some(s) = self.objstms.borrow().get(&offset) {
            return Ok(s.clone());
        }
        let ind = self.indirect(offset, upto)?;
        let Object::Stream(s) = ind.object else {
            return Err(PdfError::Structure(format!("object {num} is not a stream")));
        };
        if !s.dict.is_type(b"ObjStm") {
            return Err(PdfError::Structure(format!(
                "object {num} is not an object stream"
            )));
        }
        let n = s.dict.get(b"N").and_then(Object::as_int);
        let first = s.dict.get(b"First").and_then(Object::as_int);
        let (Some(n), Some(first)) = (n, first) else {
            return Err(PdfError::Structure(
                "object stream without /N or /First".into(),
            ));
        };
        let n = usize::try_from(n).map_err(|_| PdfError::Structure("bad /N".into()))?;
        let first = usize::try_from(first).map_err(|_| PdfError::Structure("bad /First".into()))?;
        if n > self.limits.max_objects {
            return Err(PdfError::TooLarge("objects"));
        }
        let data = self.decode(&s)?;
        let mut lx = Lexer::new(&data, 0);
        let mut objects = Vec::with_capacity(n);
        for _ in 0..n {
            let num = u32::try_from(lx.uint()?)
                .map_err(|_| PdfError::Structure("object number too large".into()))?;
            let at = first
                .checked_add(to_usize(lx.uint()?)?)
                .filter(|&a| a < data.len())
                .ok_or_else(|| PdfError::Structure("object stream offset out of range".into()))?;
            objects.push((num, at));
        }
        let stm = Rc::new(ObjStm {
            offset,
            data,
            objects,
        });
        self.objstms.borrow_mut().insert(offset, stm.clone());
        Ok(stm)
    }

    /// The decoded data of a stream: no filter or `FlateDecode` (with PNG/TIFF predictor 2/10–15
    /// for 8-bit samples), charged to the file's decompression budget.
    pub fn decode(&self, s: &Stream) -> Result<Vec<u8>, PdfError> {
        let raw = &self.buf[s.data.clone()];
        let filter = match s.dict.get(b"Filter") {
            None => None,
            Some(Object::Name(n)) => Some(n.as_slice()),
            Some(Object::Array(a)) if a.is_empty() => None,
            Some(Object::Array(a)) if a.len() == 1 => match &a[0] {
                Object::Name(n) => Some(n.as_slice()),
                _ => return Err(PdfError::Unsupported("filter".into())),
            },
            Some(_) => return Err(PdfError::Unsupported("filter chain".into())),
        };
        // What is decoded into memory (xref and object streams) is small in real files.
        let budget = self
            .limits
            .max_decompressed
            .saturating_sub(self.inflated.get())
            .min(MAX_DECODED_STREAM);
        let data = match filter {
            None => {
                if raw.len() > budget {
                    return Err(PdfError::TooLarge("decompressed data"));
                }
                raw.to_vec()
            }
            Some(b"FlateDecode") => inflate(raw, budget)?,
            Some(other) => {
                return Err(PdfError::Unsupported(format!(
                    "/{} stream",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        self.inflated.set(self.inflated.get() + data.len());
        let parms = match s.dict.get(b"DecodeParms") {
            Some(Object::Array(a)) if a.len() == 1 => a[0].as_dict().cloned(),
            Some(Object::Dict(d)) => Some(d.clone()),
            _ => None,
        };
        match parms {
            Some(p) => unpredict(data, &p),
            None => Ok(data),
        }
    }

    /// Inflates a stream into nothing, charging its size to the budget: the bomb check without
    /// holding the output (memory stays flat however large the budget).
    fn check_decodes(&self, s: &Stream) -> Result<(), PdfError> {
        let filter = match s.dict.get(b"Filter") {
            Some(Object::Name(n)) => Some(n.as_slice()),
            Some(Object::Array(a)) if a.len() == 1 => match &a[0] {
                Object::Name(n) => Some(n.as_slice()),
                _ => None,
            },
            _ => None,
        };
        if filter != Some(b"FlateDecode") {
            return self.decode(s).map(|_| ());
        }
        let budget = self
            .limits
            .max_decompressed
            .saturating_sub(self.inflated.get());
        let cap = u64::try_from(budget).unwrap_or(u64::MAX).saturating_add(1);
        let n = std::io::copy(
            &mut flate2::read::ZlibDecoder::new(&self.buf[s.data.clone()]).take(cap),
            &mut std::io::sink(),
        )
        .map_err(|e| PdfError::Structure(format!("bad Flate data: {e}")))?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > budget {
            return Err(PdfError::TooLarge("decompressed data"));
        }
        self.inflated.set(self.inflated.get() + n);
        Ok(())
    }

    /// Decodes every stream of every object the sections list, within the budget: the check
    /// that a file is whole and holds no bomb anywhere, not only where a reader looks.
    pub fn check_all_objects(&self) -> Result<usize, PdfError> {
        let upto = self.sections.len();
        let mut count = 0;
        for (k, section) in self.sections.iter().enumerate() {
            for (&num, entry) in &section.entries {
                match *entry {
                    Entry::InFile { offset, .. } => {
                        let (id, object) = self.parsed(offset, k + 1)?;
                        if id.num != num {
                            return Err(PdfError::Structure(format!(
                                "xref says object {num} is at {offset}, but {} is there",
                                id.num
                            )));
                        }
                        if let Object::Stream(s) = &*object {
                            match self.check_decodes(s) {
                                Ok(_) | Err(PdfError::Unsupported(_)) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    Entry::InStream { .. } => {
                        self.get_at(Ref { num, generation: 0 }, upto)?;
                    }
                    Entry::Free(_) => {}
                }
                count += 1;
            }
        }
        Ok(count)
    }

    /// The catalog as of `upto` sections.
    pub fn catalog_at(&self, upto: usize) -> Result<(Ref, Dict), PdfError> {
        let trailer = &self.sections[upto.clamp(1, self.sections.len()) - 1].trailer;
        let root = trailer
            .get(b"Root")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::Structure("trailer without /Root".into()))?;
        match self.get_at(root, upto)? {
            Object::Dict(d) => Ok((root, d)),
            _ => Err(PdfError::Structure("/Root is not a dictionary".into())),
        }
    }

    /// The pages in order as of `upto` sections, walking `/Kids` with cycle and size checks.
    pub fn pages_at(&self, upto: usize) -> Result<Vec<Ref>, PdfError> {
        let (_, catalog) = self.catalog_at(upto)?;
        let root = catalog
            .get(b"Pages")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::Structure("catalog without /Pages".into()))?;
        let mut pages = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(root, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            if !seen.insert(node) {
                return Err(PdfError::Structure("cycle in the page tree".into()));
            }
            if depth > 64 {
                return Err(PdfError::Structure("page tree too deep".into()));
            }
            let node_object = self.shared_at(node, upto)?;
            let Object::Dict(d) = &*node_object else {
                return Err(PdfError::Structure(format!(
                    "page tree node {} is not a dictionary",
                    node.num
                )));
            };
            if d.is_type(b"Page") {
                if pages.len() >= self.limits.max_pages {
                    return Err(PdfError::TooLarge("pages"));
                }
                pages.push(node);
                continue;
            }
            let kids = d
                .get(b"Kids")
                .and_then(Object::as_array)
                .ok_or_else(|| PdfError::Structure("page tree node without /Kids".into()))?;
            for kid in kids.iter().rev() {
                let r = kid
                    .as_ref()
                    .ok_or_else(|| PdfError::Structure("/Kids entry is not a reference".into()))?;
                stack.push((r, depth + 1));
            }
        }
        if pages.is_empty() {
            return Err(PdfError::Structure("the document has no pages".into()));
        }
        Ok(pages)
    }

    /// An inheritable page attribute (§7.7.3.4): the page's own, else its nearest ancestor's.
    pub fn inherited(
        &self,
        page: &Dict,
        key: &[u8],
        upto: usize,
    ) -> Result<Option<Object>, PdfError> {
        let mut node = page.clone();
        for _ in 0..64 {
            if let Some(v) = node.get(key) {
                return self.resolve_at(v, upto).map(Some);
            }
            let Some(parent) = node.get(b"Parent").and_then(Object::as_ref) else {
                return Ok(None);
            };
            match self.get_at(parent, upto)? {
                Object::Dict(d) => node = d,
                _ => return Ok(None),
            }
        }
        Err(PdfError::Structure("page tree too deep".into()))
    }
}

fn to_usize(v: u64) -> Result<usize, PdfError> {
    usize::try_from(v).map_err(|_| PdfError::Structure("offset out of range".into()))
}

/// Inflates zlib data, refusing output beyond `limit` bytes.
pub(crate) fn inflate(raw: &[u8], limit: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit).min(1 << 20));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::ZlibDecoder::new(raw)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| PdfError::Structure(format!("bad Flate data: {e}")))?;
    if out.len() > limit {
        return Err(PdfError::TooLarge("decompressed data"));
    }
    Ok(out)
}

/// Undoes a PNG (10–15) or TIFF (2) predictor for 8-bit samples.
fn unpredict(data: Vec<u8>, parms: &Dict) -> Result<Vec<u8>, PdfError> {
    let get = |k: &[u8], d: i64| parms.get(k).and_then(Object::as_int).unwrap_or(d);
    let predictor = get(b"Predictor", 1);
    if predictor == 1 {
        return Ok(data);
    }
    if get(b"BitsPerComponent", 8) != 8 {
        return Err(PdfError::Unsupported(
            "predictor with non-8-bit samples".into(),
        ));
    }
    let colors = usize::try_from(get(b"Colors", 1)).unwrap_or(0);
    let columns = usize::try_from(get(b"Columns", 1)).unwrap_or(0);
    let bpp = colors;
    let width = colors
        .checked_mul(columns)
        .filter(|&w| w > 0 && w < 1 << 20);
    let (Some(width), true) = (width, bpp > 0) else {
        return Err(PdfError::Structure("bad predictor parameters".into()));
    };
    match predictor {
        2 => {
            let mut data = data;
            for row in data.chunks_mut(width) {
                for i in bpp..row.len() {
                    row[i] = row[i].wrapping_add(row[i - bpp]);
                }
            }
            Ok(data)
        }
        10..=15 => {
            let mut out = Vec::with_capacity(data.len());
            let mut prev = vec![0u8; width];
            for chunk in data.chunks(width + 1) {
                if chunk.len() != width + 1 {
                    return Err(PdfError::Structure("truncated predictor row".into()));
                }
                let (ty, src) = (chunk[0], &chunk[1..]);
                let mut row = src.to_vec();
                for i in 0..width {
                    let left = if i >= bpp { row[i - bpp] } else { 0 };
                    let up = prev[i];
                    let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
                    row[i] = match ty {
                        0 => row[i],
                        1 => row[i].wrapping_add(left),
                        2 => row[i].wrapping_add(up),
                        // The floor of the mean of two bytes is a byte (the halving bit-trick).
                        3 => row[i].wrapping_add((left & up) + ((left ^ up) >> 1)),
                        4 => row[i].wrapping_add(paeth(left, up, up_left)),
                        _ => return Err(PdfError::Structure("bad PNG predictor type".into())),
                    };
                }
                out.extend_from_slice(&row);
                prev = row;
            }
            Ok(out)
        }
        _ => Err(PdfError::Unsupported(format!("predictor {predictor}"))),
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
