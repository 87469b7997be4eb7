//! The catalogue of licence types (证照类型目录): per type its 证照类型代码, name, issuing level,
//! holder kind, default validity, face fields (照面信息) as a JSON Schema, the personal fields, and
//! the layout of its licence file. The format is `docs/licence-types.md`.
//!
//! The files of `schemas/licence-types/` are compiled in (`build.rs` lists the directory, so adding
//! a file there adds a type); an operator adds types without a rebuild as `*.json` files in
//! `<data dir>/licence-types/`. A code defined twice is refused rather than overridden: a licence
//! names its type by code, and which definition it was issued under must never depend on which
//! file happened to be read last.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::schema::{DefinitionError, FieldError, Object, Problem, Schema, error};

// `BUILT_IN: &[(&str, &str)]`: (file name, contents) of every `schemas/licence-types/*.json`.
include!(concat!(env!("OUT_DIR"), "/licence_types.rs"));

/// Where the built-in type files come from, for error messages.
const BUILT_IN_DIR: &str = "schemas/licence-types";

/// The names a layout may place besides the face fields: the licence record's own data.
pub const RESERVED_FIELDS: [&str; 7] = [
    "$holder_name",
    "$holder_id",
    "$number",
    "$issuer",
    "$issued_on",
    "$valid_from",
    "$valid_to",
];

/// What shows in place of a personal value that even a partly masked form would give away
/// (a category, a number, a flag).
const MASK: &str = "****";

/// Why the catalogue could not be loaded; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A type file or the directory could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file or directory.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A type file is not JSON.
    #[error("{file}: not JSON: {message}")]
    Json {
        /// The file.
        file: String,
        /// The parser's message (line and column).
        message: String,
    },
    /// A type file is JSON but not a valid type definition.
    #[error("{file}: {error}")]
    Invalid {
        /// The file.
        file: String,
        /// The offending key and why.
        error: DefinitionError,
    },
    /// Two files define the same 证照类型代码.
    #[error("{file}: code {code} is already defined by {first}")]
    Duplicate {
        /// The later file.
        file: String,
        /// The code both define.
        code: String,
        /// The file that defined it first.
        first: String,
    },
}

/// Who holds a licence of the type (持证主体).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HolderKind {
    /// An organisation, identified by its 统一社会信用代码.
    Organisation,
    /// A natural person, identified by the 公民身份号码.
    Person,
}

/// The administrative level whose authorities issue licences of the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IssuingLevel {
    /// 国家级.
    National,
    /// 省级.
    Province,
    /// 地市级.
    City,
    /// 县级.
    County,
}

/// How long a licence of the type is valid unless its issuer says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// 长期: no end date.
    LongTerm,
    /// A period of years and months (ISO 8601 `P5Y`, `P6M`, `P1Y6M`).
    Period {
        /// Whole years.
        years: u16,
        /// Further months.
        months: u16,
    },
}

impl Validity {
    /// Parses `long-term` or an ISO 8601 duration of years and months, not zero.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "long-term" {
            return Some(Self::LongTerm);
        }
        let mut rest = s.strip_prefix('P')?;
        let mut take = |unit: char| -> Option<Option<u16>> {
            match rest.find(unit) {
                Some(at) if at > 0 && rest[..at].bytes().all(|b| b.is_ascii_digit()) => {
                    let n = rest[..at].parse().ok()?;
                    rest = &rest[at + 1..];
                    Some(Some(n))
                }
                Some(_) => None,
                None => Some(None),
            }
        };
        let years = take('Y')?;
        let months = take('M')?;
        let period = Self::Period {
            years: years.unwrap_or(0),
            months: months.unwrap_or(0),
        };
        (rest.is_empty()
            && period
                != (Self::Period {
                    years: 0,
                    months: 0,
                }))
        .then_some(period)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::LongTerm => f.write_str("long-term"),
            Self::Period { years, months } => {
                f.write_str("P")?;
                if years > 0 {
                    write!(f, "{years}Y")?;
                }
                if months > 0 {
                    write!(f, "{months}M")?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The face of a licence file: millimetres from the top-left corner of the page.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Layout {
    /// The page.
    pub page: PageSize,
    /// The licence's title line.
    pub title: Title,
    /// Where each face field (and each reserved name placed) is drawn, in drawing order.
    pub fields: Vec<Placement>,
    /// Where the issuer's seal goes.
    pub seal: SealSpot,
    /// Where the QR code that leads to verification goes.
    pub qr: QrSpot,
}

/// A page size in millimetres (A4 portrait is 210 × 297).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct PageSize {
    /// Width, mm.
    pub width: f64,
    /// Height, mm.
    pub height: f64,
}

/// How a line is placed relative to its `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// `x` is where the line starts.
    Left,
    /// `x` is the middle of the line.
    Center,
}

/// The title line (e.g. 营业执照).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Title {
    /// The text.
    pub text: String,
    /// Horizontal position, mm (see `align`).
    pub x: f64,
    /// Baseline, mm from the top.
    pub y: f64,
    /// Font size, points (1 pt = 0.3528 mm).
    pub size_pt: f64,
    /// Whether `x` is the start or the middle of the line.
    pub align: Align,
}

/// One field on the face: an optional label, then the value.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Placement {
    /// A face field of the type's schema, or one of the reserved names (`$holder_name`, …).
    pub field: String,
    /// The label drawn at (`x`, `y`), e.g. 经营范围; none draws the value alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where the label (or the value, without one) starts, mm.
    pub x: f64,
    /// Baseline of the first line, mm from the top.
    pub y: f64,
    /// Where the value starts, mm; required with a label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_x: Option<f64>,
    /// Font size, points.
    pub size_pt: f64,
    /// Width the value wraps within, mm; none keeps it on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
}

/// Where the round seal goes: its centre and diameter, mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct SealSpot {
    /// Centre, mm from the left.
    pub x: f64,
    /// Centre, mm from the top.
    pub y: f64,
    /// Diameter, mm (a licence seal is usually 42).
    pub diameter: f64,
}

/// Where the QR code goes: its top-left corner and side, mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct QrSpot {
    /// Left edge, mm.
    pub x: f64,
    /// Top edge, mm.
    pub y: f64,
    /// Side, mm.
    pub size: f64,
}

/// One licence type of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LicenceType {
    /// 证照类型代码: the defining authority's 统一社会信用代码 and three digits.
    pub code: String,
    /// 证照名称, e.g. 营业执照.
    pub name: String,
    /// The level whose authorities issue it.
    pub issuing_level: IssuingLevel,
    /// Who holds it.
    pub holder_kind: HolderKind,
    /// `long-term` (长期) or an ISO 8601 period of years and months (`P5Y`).
    #[schema(value_type = String, example = "P5Y")]
    pub default_validity: Validity,
    /// The face fields (照面信息): a JSON Schema (draft 2020-12 subset) of a licence's `fields`.
    #[serde(rename = "schema")]
    #[schema(value_type = Object)]
    pub schema_json: Value,
    /// The face fields that are personal data, masked in every public view.
    pub personal: Vec<String>,
    /// The face of the licence file.
    pub layout: Layout,
    #[serde(skip)]
    schema: Schema,
    /// The file it was read from.
    #[serde(skip)]
    file: String,
}

impl LicenceType {
    /// Parses one type definition; errors name the offending key.
    pub fn parse(value: &Value) -> Result<Self, DefinitionError> {
        let mut top = Object::new(value, "")?;
        let code = top.string("code")?;
        check_code(&code).map_err(|reason| error("code", Problem::Invalid(reason)))?;
        let name = top.string("name")?;
        if name.trim().is_empty() {
            return Err(error("name", Problem::Invalid("must not be empty".into())));
        }
        let issuing_level = match top.string("issuing_level")?.as_str() {
            "national" => IssuingLevel::National,
            "province" => IssuingLevel::Province,
            "city" => IssuingLevel::City,
            "county" => IssuingLevel::County,
            _ => return Err(one_of("issuing_level", "national, province, city, county")),
        };
        let holder_kind = match top.string("holder_kind")?.as_str() {
            "organisation" => HolderKind::Organisation,
            "person" => HolderKind::Person,
            _ => return Err(one_of("holder_kind", "organisation, person")),
        };
        let default_validity = Validity::parse(&top.string("default_validity")?)
            .ok_or_else(|| one_of("default_validity", "long-term or P<n>Y<n>M (not zero)"))?;
        let schema_json = top.required("schema")?;
        let schema = Schema::compile(&schema_json, "schema")?;
        let personal = personal(&top.required("personal")?, &schema)?;
        let layout = layout(&top.required("layout")?, &schema)?;
        top.finish(Problem::UnknownKey)?;
        Ok(Self {
            code,
            name,
            issuing_level,
            holder_kind,
            default_validity,
            schema_json,
            personal,
            layout,
            schema,
            file: String::new(),
        })
    }

    /// The face field names of the type.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.schema.fields()
    }

    /// A face field's value written as text (a CSV cell), typed as the schema wants it; `None`
    /// for an unknown field or text that is not of its type.
    pub fn field_from_text(&self, name: &str, text: &str) -> Option<Value> {
        self.schema.value_of_text(name, text)
    }

    /// Checks a licence's face fields (`fields`) against the type's schema.
    pub fn validate(&self, fields: &Value) -> Result<(), FieldError> {
        self.schema.validate(fields)
    }

    /// The face fields for a public view: each personal field masked. A free-text value keeps
    /// a quarter of its characters (at most four) at either end; a value chosen from a list,
    /// a number or a flag is replaced whole, since any part of it would tell what it is.
    pub fn mask(&self, fields: &Map<String, Value>) -> Map<String, Value> {
        fields
            .iter()
            .map(|(name, value)| {
                let shown = if !self.personal.contains(name) {
                    value.clone()
                } else {
                    match value.as_str() {
                        Some(text) if !self.schema.is_enumerated(name) => {
                            Value::String(crate::ident::mask_text(text))
                        }
                        _ => Value::String(MASK.to_owned()),
                    }
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

fn one_of(path: &str, values: &str) -> DefinitionError {
    error(path, Problem::Invalid(format!("must be one of: {values}")))
}

/// A 证照类型代码: a 统一社会信用代码 (check character included) and three digits.
fn check_code(code: &str) -> Result<(), String> {
    if !code.is_ascii() || code.len() != 21 {
        return Err("must be 21 characters: a 统一社会信用代码 and three digits".into());
    }
    crate::ident::check_uscc(&code[..18])
        .map_err(|e| format!("the first 18 characters are not a 统一社会信用代码: {e}"))?;
    if !code[18..].bytes().all(|b| b.is_ascii_digit()) {
        return Err("must end in three digits".into());
    }
    Ok(())
}

fn personal(value: &Value, schema: &Schema) -> Result<Vec<String>, DefinitionError> {
    let Value::Array(names) = value else {
        return Err(error("personal", Problem::Expected("an array")));
    };
    let mut personal = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let path = format!("personal[{i}]");
        let name = name
            .as_str()
            .ok_or_else(|| error(&path, Problem::Expected("a string")))?;
        if !schema.has_field(name) {
            return Err(error(
                &path,
                Problem::Invalid(format!("{name:?} is not a field of the schema")),
            ));
        }
        if personal.iter().any(|p| p == name) {
            return Err(error(&path, Problem::Invalid(format!("{name:?} twice"))));
        }
        personal.push(name.to_owned());
    }
    Ok(personal)
}

fn layout(value: &Value, schema: &Schema) -> Result<Layout, DefinitionError> {
    let mut top = Object::new(value, "layout")?;
    let page = {
        let mut o = Object::new(&top.required("page")?, "layout.page")?;
        let page = PageSize {
            width: o.number("width")?,
            height: o.number("height")?,
        };
        for (key, v) in [("width", page.width), ("height", page.height)] {
            if !(v > 0.0 && v <= 1000.0) {
                return Err(error(
                    &o.path_of(key),
                    Problem::Invalid("must be in (0, 1000] mm".into()),
                ));
            }
        }
        o.finish(Problem::UnknownKey)?;
        page
    };
    let on_page = Page(page);
    let title = {
        let mut o = Object::new(&top.required("title")?, "layout.title")?;
        let title = Title {
            text: o.string("text")?,
            x: on_page.x(&mut o, "x")?,
            y: on_page.y(&mut o, "y")?,
            size_pt: font_size(&mut o)?,
            align: match o.optional_string("align")?.as_deref() {
                None | Some("left") => Align::Left,
                Some("center") => Align::Center,
                Some(_) => return Err(one_of(&o.path_of("align"), "left, center")),
            },
        };
        o.finish(Problem::UnknownKey)?;
        title
    };
    let fields = placements(&top.required("fields")?, schema, &on_page)?;
    let seal = {
        let mut o = Object::new(&top.required("seal")?, "layout.seal")?;
        let seal = SealSpot {
            x: on_page.x(&mut o, "x")?,
            y: on_page.y(&mut o, "y")?,
            diameter: positive(&mut o, "diameter")?,
        };
        let r = seal.diameter / 2.0;
        if seal.x < r || seal.y < r || seal.x + r > page.width || seal.y + r > page.height {
            return Err(error(
                "layout.seal",
                Problem::Invalid("the seal leaves the page".into()),
            ));
        }
        o.finish(Problem::UnknownKey)?;
        seal
    };
    let qr = {
        let mut o = Object::new(&top.required("qr")?, "layout.qr")?;
        let qr = QrSpot {
            x: on_page.x(&mut o, "x")?,
            y: on_page.y(&mut o, "y")?,
            size: positive(&mut o, "size")?,
        };
        if qr.x + qr.size > page.width || qr.y + qr.size > page.height {
            return Err(error(
                "layout.qr",
                Problem::Invalid("the QR code leaves the page".into()),
            ));
        }
        o.finish(Problem::UnknownKey)?;
        qr
    };
    top.finish(Problem::UnknownKey)?;
    Ok(Layout {
        page,
        title,
        fields,
        seal,
        qr,
    })
}

/// Every face field placed exactly once, reserved names at most once, nothing else.
fn placements(
    value: &Value,
    schema: &Schema,
    page: &Page,
) -> Result<Vec<Placement>, DefinitionError> {
    let Value::Array(items) = value else {
        return Err(error("layout.fields", Problem::Expected("an array")));
    };
    let mut placed: Vec<Placement> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("layout.fields[{i}]");
        let mut o = Object::new(item, &path)?;
        let field = o.string("field")?;
        if !(schema.has_field(&field) || RESERVED_FIELDS.contains(&field.as_str())) {
            return Err(error(
                &o.path_of("field"),
                Problem::Invalid(format!(
                    "{field:?} is neither a field of the schema nor one of {}",
                    RESERVED_FIELDS.join(", ")
                )),
            ));
        }
        if placed.iter().any(|p| p.field == field) {
            return Err(error(
                &o.path_of("field"),
                Problem::Invalid(format!("{field:?} placed twice")),
            ));
        }
        let label = o.optional_string("label")?;
        let x = page.x(&mut o, "x")?;
        let y = page.y(&mut o, "y")?;
        let value_x = match o.optional_number("value_x")? {
            Some(v) => Some(page.within(v, page.0.width, &o.path_of("value_x"))?),
            None if label.is_some() => return Err(error(&o.path_of("value_x"), Problem::Missing)),
            None => None,
        };
        let size_pt = font_size(&mut o)?;
        let width = match o.optional_number("width")? {
            Some(w) if w > 0.0 && value_x.unwrap_or(x) + w <= page.0.width => Some(w),
            Some(_) => {
                return Err(error(
                    &o.path_of("width"),
                    Problem::Invalid("must be positive and end on the page".into()),
                ));
            }
            None => None,
        };
        o.finish(Problem::UnknownKey)?;
        placed.push(Placement {
            field,
            label,
            x,
            y,
            value_x,
            size_pt,
            width,
        });
    }
    if let Some(missing) = schema
        .fields()
        .find(|f| !placed.iter().any(|p| p.field == *f))
    {
        return Err(error(
            "layout.fields",
            Problem::Invalid(format!("the face field {missing:?} is not placed")),
        ));
    }
    Ok(placed)
}

/// Positions checked against the page.
struct Page(PageSize);

impl Page {
    /// The number `key`, between 0 and the page width.
    fn x(&self, o: &mut Object, key: &str) -> Result<f64, DefinitionError> {
        let v = o.number(key)?;
        self.within(v, self.0.width, &o.path_of(key))
    }

    /// The number `key`, between 0 and the page height.
    fn y(&self, o: &mut Object, key: &str) -> Result<f64, DefinitionError> {
        let v = o.number(key)?;
        self.within(v, self.0.height, &o.path_of(key))
    }

    fn within(&self, v: f64, end: f64, path: &str) -> Result<f64, DefinitionError> {
        if (0.0..=end).contains(&v) {
            Ok(v)
        } else {
            Err(error(
                path,
                Problem::Invalid(format!("must be on the page (0 to {end} mm)")),
            ))
        }
    }
}

/// `size_pt`: a font size in points, above 0 and at most 200.
fn font_size(o: &mut Object) -> Result<f64, DefinitionError> {
    let size = o.number("size_pt")?;
    if size > 0.0 && size <= 200.0 {
        Ok(size)
    } else {
        Err(error(
            &o.path_of("size_pt"),
            Problem::Invalid("must be in (0, 200] pt".into()),
        ))
    }
}

/// The number `key`, above 0.
fn positive(o: &mut Object, key: &str) -> Result<f64, DefinitionError> {
    let v = o.number(key)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(error(
            &o.path_of(key),
            Problem::Invalid("must be positive".into()),
        ))
    }
}

/// The licence types the vault knows, by 证照类型代码.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    types: BTreeMap<String, LicenceType>,
}

impl Catalogue {
    /// The built-in types and every `*.json` file in `dir` (when the directory exists), in
    /// file-name order. The first bad file stops the load, named with the key at fault.
    pub fn load(dir: &Path) -> Result<Self, CatalogueError> {
        let mut catalogue = Self::default();
        for (name, text) in BUILT_IN {
            catalogue.add(format!("{BUILT_IN_DIR}/{name}"), text)?;
        }
        let read_error = |source| CatalogueError::Read {
            file: dir.display().to_string(),
            source,
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(catalogue),
            Err(e) => return Err(read_error(e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(read_error)?.path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
        files.sort();
        for path in files {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogueError::Read {
                file: file.clone(),
                source,
            })?;
            catalogue.add(file, &text)?;
        }
        Ok(catalogue)
    }

    /// Adds the type defined by `text`, read from `file`.
    fn add(&mut self, file: String, text: &str) -> Result<(), CatalogueError> {
        let value: Value = serde_json::from_str(text).map_err(|e| CatalogueError::Json {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let mut licence_type =
            LicenceType::parse(&value).map_err(|error| CatalogueError::Invalid {
                file: file.clone(),
                error,
            })?;
        if let Some(first) = self.types.get(&licence_type.code) {
            return Err(CatalogueError::Duplicate {
                file,
                code: licence_type.code,
                first: first.file.clone(),
            });
        }
        licence_type.file = file;
        self.types.insert(licence_type.code.clone(), licence_type);
        Ok(())
    }

    /// The type with this 证照类型代码.
    pub fn get(&self, code: &str) -> Option<&LicenceType> {
        self.types.get(code)
    }

    /// Every type, by code.
    pub fn iter(&self) -> impl Iterator<Item = &LicenceType> {
        self.types.values()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The catalogue without operator files.
    fn built_in() -> Catalogue {
        Catalogue::load(Path::new("/nonexistent")).expect("the built-in types load")
    }

    /// A small valid definition to break in the tests.
    fn definition() -> Value {
        json!({
            "code": "11100000000013338W999",
            "name": "测试许可证",
            "issuing_level": "province",
            "holder_kind": "organisation",
            "default_validity": "P3Y",
            "schema": {
                "type": "object",
                "properties": { "scope": { "type": "string", "title": "许可范围", "maxLength": 20 } },
                "required": ["scope"],
                "additionalProperties": false
            },
            "personal": [],
            "layout": {
                "page": { "width": 210, "height": 297 },
                "title": { "text": "测试许可证", "x": 105, "y": 40, "size_pt": 24, "align": "center" },
                "fields": [
                    { "field": "$holder_name", "label": "名称", "x": 20, "y": 80, "value_x": 50, "size_pt": 12 },
                    { "field": "scope", "label": "许可范围", "x": 20, "y": 95, "value_x": 50, "size_pt": 12, "width": 140 }
                ],
                "seal": { "x": 150, "y": 250, "diameter": 42 },
                "qr": { "x": 170, "y": 10, "size": 25 }
            }
        })
    }

    /// The error of `definition()` after `edit`.
    fn broken(edit: impl FnOnce(&mut Value)) -> String {
        let mut value = definition();
        edit(&mut value);
        LicenceType::parse(&value).expect_err("refused").to_string()
    }

    #[test]
    fn the_six_shipped_types_load() {
        let catalogue = built_in();
        let names: Vec<&str> = catalogue.iter().map(|t| t.name.as_str()).collect();
        for name in [
            "营业执照",
            "食品经营许可证",
            "道路运输经营许可证",
            "建筑施工企业安全生产许可证",
            "医师执业证书",
            "残疾人证",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let disability = catalogue
            .iter()
            .find(|t| t.name == "残疾人证")
            .expect("残疾人证");
        assert_eq!(disability.holder_kind, HolderKind::Person);
        for field in ["disability_category", "disability_grade"] {
            assert!(disability.personal.iter().any(|p| p == field), "{field}");
        }
    }

    #[test]
    fn each_shipped_type_has_a_sample_that_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/licences");
        for t in built_in().iter() {
            let path = dir.join(format!("{}.json", t.code));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let sample: Value = serde_json::from_str(&text).expect("sample is JSON");
            assert_eq!(sample["type"], t.code.as_str());
            let id_type = match t.holder_kind {
                HolderKind::Organisation => "001",
                HolderKind::Person => "111",
            };
            assert_eq!(sample["holder"]["id_type"], id_type, "{}", t.name);
            let id = sample["holder"]["id_number"].as_str().expect("id_number");
            match t.holder_kind {
                HolderKind::Organisation => crate::ident::check_uscc(id).expect("USCC"),
                HolderKind::Person => crate::ident::check_id_number(id).expect("ID number"),
            }
            t.validate(&sample["fields"])
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
    }

    #[test]
    fn a_sample_with_a_broken_field_is_refused_naming_it() {
        let catalogue = built_in();
        let licence = catalogue.get("111000009000000146001").expect("营业执照");
        let mut fields = json!({
            "entity_type": "有限责任公司",
            "legal_representative": "陈明远",
            "established_on": "2019-11-04",
            "operating_from": "2019-11-04",
            "operating_to": "长期",
            "domicile": "浙江省杭州市",
            "business_scope": "技术服务"
        });
        licence.validate(&fields).expect("valid");
        fields["business_scope"] = Value::String("技".repeat(2001));
        assert_eq!(
            licence.validate(&fields).expect_err("too long").to_string(),
            "fields.business_scope: longer than 2000 characters"
        );
        fields["business_scope"] = "技术服务".into();
        fields["operating_to"] = "永久".into();
        assert!(
            licence
                .validate(&fields)
                .expect_err("pattern")
                .to_string()
                .starts_with("fields.operating_to: does not match the pattern")
        );
    }

    #[test]
    fn personal_fields_are_masked() {
        let catalogue = built_in();
        let licence = catalogue.get("11100000900000049Q001").expect("残疾人证");
        let fields = json!({
            "sex": "男",
            "ethnicity": "汉族",
            "birth_date": "1972-11-08",
            "address": "浙江省杭州市上城区清波街道河坊街132号",
            "disability_category": "肢体残疾",
            "disability_grade": "三级"
        });
        let masked = licence.mask(fields.as_object().expect("object"));
        assert_eq!(masked["disability_category"], "****");
        assert_eq!(masked["disability_grade"], "****");
        assert_eq!(masked["sex"], "****");
        assert_eq!(masked["birth_date"], "19******08");
        assert_eq!(masked["ethnicity"], "**");
        assert_eq!(masked["address"], "浙江省杭************132号");
        let shown = serde_json::to_string(&masked).expect("json");
        for secret in ["肢体", "三级", "1972-11", "清波街道"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // Fields that are not personal are shown as they are.
        let business = catalogue.get("111000009000000146001").expect("营业执照");
        let open = json!({ "legal_representative": "陈明远" });
        assert_eq!(
            business.mask(open.as_object().expect("object")),
            *open.as_object().expect("object")
        );
    }

    #[test]
    fn validity_round_trips() {
        for s in ["long-term", "P5Y", "P6M", "P1Y6M", "P10Y"] {
            assert_eq!(Validity::parse(s).expect(s).to_string(), s);
        }
        for s in [
            "", "P", "P0Y", "P0Y0M", "5Y", "P5", "PY", "P6M1Y", "P1.5Y", "P-1Y", "P1D", "长期",
        ] {
            assert_eq!(Validity::parse(s), None, "{s}");
        }
    }

    #[test]
    fn a_definition_is_read_whole_and_strictly() {
        assert!(LicenceType::parse(&definition()).is_ok());
        assert_eq!(
            broken(|v| v["colour"] = "red".into()),
            "colour: unknown key"
        );
        assert_eq!(
            broken(|v| {
                v.as_object_mut().expect("object").remove("personal");
            }),
            "personal: is required"
        );
        assert!(
            broken(|v| v["code"] = "11100000000013338X999".into()).starts_with(
                "code: the first 18 characters are not a 统一社会信用代码: check character"
            )
        );
        assert_eq!(
            broken(|v| v["code"] = "11100000000013338W99".into()),
            "code: must be 21 characters: a 统一社会信用代码 and three digits"
        );
        assert_eq!(
            broken(|v| v["code"] = "11100000000013338W9A9".into()),
            "code: must end in three digits"
        );
        assert!(
            broken(|v| v["holder_kind"] = "citizen".into())
                .starts_with("holder_kind: must be one of")
        );
        assert!(
            broken(|v| v["issuing_level"] = "town".into())
                .starts_with("issuing_level: must be one of")
        );
        assert!(
            broken(|v| v["default_validity"] = "5 years".into())
                .starts_with("default_validity: must be one of")
        );
        assert_eq!(
            broken(|v| v["schema"]["properties"]["scope"]["type"] = "date".into()),
            "schema.properties.scope.type: unsupported type \"date\""
        );
        assert_eq!(
            broken(|v| v["personal"] = json!(["name"])),
            "personal[0]: \"name\" is not a field of the schema"
        );
    }

    #[test]
    fn a_layout_places_every_face_field_once_on_the_page() {
        assert_eq!(
            broken(|v| {
                v["layout"]["fields"].as_array_mut().expect("array").pop();
            }),
            "layout.fields: the face field \"scope\" is not placed"
        );
        assert!(
            broken(|v| v["layout"]["fields"][0]["field"] = "$holder_phone".into())
                .starts_with("layout.fields[0].field: \"$holder_phone\" is neither a field")
        );
        assert_eq!(
            broken(|v| v["layout"]["fields"][0]["field"] = "scope".into()),
            "layout.fields[1].field: \"scope\" placed twice"
        );
        assert_eq!(
            broken(|v| v["layout"]["fields"][0]["x"] = json!(230)),
            "layout.fields[0].x: must be on the page (0 to 210 mm)"
        );
        assert_eq!(
            broken(|v| {
                v["layout"]["fields"][0]
                    .as_object_mut()
                    .expect("object")
                    .remove("value_x");
            }),
            "layout.fields[0].value_x: is required"
        );
        assert_eq!(
            broken(|v| v["layout"]["fields"][1]["width"] = json!(200)),
            "layout.fields[1].width: must be positive and end on the page"
        );
        assert_eq!(
            broken(|v| v["layout"]["fields"][1]["size_pt"] = json!(0)),
            "layout.fields[1].size_pt: must be in (0, 200] pt"
        );
        assert_eq!(
            broken(|v| v["layout"]["fields"][1]["font"] = "宋体".into()),
            "layout.fields[1].font: unknown key"
        );
        assert_eq!(
            broken(|v| v["layout"]["seal"]["x"] = json!(200)),
            "layout.seal: the seal leaves the page"
        );
        assert_eq!(
            broken(|v| v["layout"]["qr"]["size"] = json!(50)),
            "layout.qr: the QR code leaves the page"
        );
        assert!(
            broken(|v| v["layout"]["title"]["align"] = "right".into())
                .starts_with("layout.title.align: must be one of")
        );
        assert_eq!(
            broken(|v| v["layout"]["page"]["height"] = json!(0)),
            "layout.page.height: must be in (0, 1000] mm"
        );
    }

    #[test]
    fn operator_files_add_types_and_bad_ones_stop_the_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let types = dir.path().join("licence-types");
        std::fs::create_dir(&types).expect("mkdir");
        std::fs::write(types.join("test.json"), definition().to_string()).expect("write");
        std::fs::write(types.join("notes.txt"), "not a type").expect("write");
        let catalogue = Catalogue::load(&types).expect("loads");
        assert_eq!(catalogue.iter().count(), built_in().iter().count() + 1);
        assert_eq!(
            catalogue
                .get("11100000000013338W999")
                .map(|t| t.name.as_str()),
            Some("测试许可证")
        );

        let mut bad = definition();
        bad["code"] = "11100000000013338W998".into();
        bad["schema"]["properties"]["scope"]["type"] = "date".into();
        std::fs::write(types.join("foo.json"), bad.to_string()).expect("write");
        let e = Catalogue::load(&types).expect_err("refused").to_string();
        assert!(
            e.ends_with(
                "licence-types/foo.json: schema.properties.scope.type: unsupported type \"date\""
            ),
            "{e}"
        );

        std::fs::write(types.join("foo.json"), "{ \"code\": ").expect("write");
        let e = Catalogue::load(&types).expect_err("refused").to_string();
        assert!(e.contains("licence-types/foo.json: not JSON"), "{e}");

        // The same code twice is refused, not overridden, whichever file defines it.
        std::fs::write(types.join("foo.json"), definition().to_string()).expect("write");
        let e = Catalogue::load(&types).expect_err("refused").to_string();
        assert!(
            e.contains("licence-types/test.json: code 11100000000013338W999 is already defined by")
                && e.ends_with("licence-types/foo.json"),
            "{e}"
        );
        std::fs::remove_file(types.join("foo.json")).expect("rm");
        let mut builtin_code = definition();
        builtin_code["code"] = "11100000000013338W003".into();
        std::fs::write(types.join("test.json"), builtin_code.to_string()).expect("write");
        let e = Catalogue::load(&types).expect_err("refused").to_string();
        assert!(
            e.ends_with(
                "is already defined by schemas/licence-types/construction-safety-licence.json"
            ),
            "{e}"
        );
    }
}
