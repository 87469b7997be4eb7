//! The JSON Schema subset that describes a licence type's face fields (照面信息), and the
//! validator of a licence's `fields` against it.
//!
//! Hand-written on purpose: the `jsonschema` crate pulls in dozens of crates and a network
//! resolver for `$ref`, for a subset this small. The subset (draft 2020-12 semantics):
//! `type` (`object`, `string`, `integer`, `number`, `boolean`), `properties`, `required`,
//! `additionalProperties` (must be `false` on every object), `title` (required on every
//! property: the Chinese label), `description`, `minLength` and `maxLength` (in characters),
//! `pattern` (the `regex` crate's syntax, unanchored as in JSON Schema), `format: "date"`
//! (`YYYY-MM-DD`, a real date), `enum`, `minimum` and `maximum`; `$schema` on the root. Any other
//! keyword, or one on a type it does not apply to, is refused when the type is loaded, so nothing
//! a type's author wrote is silently ignored and a standard validator reads the same rules.
//!
//! Validation errors name the field and never carry its value: face fields can be personal data
//! and errors reach logs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The one dialect a type's schema may declare in `$schema`.
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Why part of a licence type definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A required key is absent.
    #[error("is required")]
    Missing,
    /// A key the format does not define.
    #[error("unknown key")]
    UnknownKey,
    /// A JSON Schema keyword outside the supported subset.
    #[error("unsupported keyword")]
    UnsupportedKeyword,
    /// A JSON Schema `type` outside the supported subset.
    #[error("unsupported type {0:?}")]
    UnsupportedType(String),
    /// A `format` other than `date`.
    #[error("unsupported format {0:?}")]
    UnsupportedFormat(String),
    /// A keyword on a type it does not apply to (a standard validator would ignore it).
    #[error("does not apply to type {0:?}")]
    NotApplicable(&'static str),
    /// The value has the wrong JSON type.
    #[error("expected {0}")]
    Expected(&'static str),
    /// The value has the right JSON type but is not acceptable; the reason says why.
    #[error("{0}")]
    Invalid(String),
}

/// A refused part of a licence type definition: where (a dotted path) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct DefinitionError {
    /// Dotted path of the offending key, e.g. `schema.properties.x.type`.
    pub path: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// Why a licence's face field was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldProblem {
    /// A required field is absent.
    #[error("is required")]
    Missing,
    /// A field the licence type does not have.
    #[error("is not a field of this licence type")]
    Unknown,
    /// The value has the wrong JSON type.
    #[error("must be {0}")]
    Type(&'static str),
    /// Longer than `maxLength` characters.
    #[error("longer than {0} characters")]
    TooLong(u64),
    /// Shorter than `minLength` characters.
    #[error("shorter than {0} characters")]
    TooShort(u64),
    /// Does not match `pattern` (the schema's pattern, which is public).
    #[error("does not match the pattern {0}")]
    Pattern(String),
    /// Not one of `enum`.
    #[error("is not one of the allowed values")]
    NotAllowed,
    /// Below `minimum`.
    #[error("less than {0}")]
    BelowMinimum(f64),
    /// Above `maximum`.
    #[error("greater than {0}")]
    AboveMaximum(f64),
    /// Not a real date written `YYYY-MM-DD`.
    #[error("is not a date (YYYY-MM-DD)")]
    NotADate,
}

/// A refused face field: its path (`fields.business_scope`) and why; never its value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FieldError {
    /// Dotted path of the field, starting at `fields`.
    pub path: String,
    /// What is wrong with it.
    pub problem: FieldProblem,
}

/// `parent.key`, or `key` at the root.
pub(super) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// A JSON object being read key by key: each key is taken at most once, and
/// [`Object::finish`] refuses whatever was not taken, so no key is silently ignored.
pub(super) struct Object {
    path: String,
    rest: Map<String, Value>,
}

impl Object {
    /// Reads `value` (at `path`) as an object.
    pub(super) fn new(value: &Value, path: &str) -> Result<Self, DefinitionError> {
        match value {
            Value::Object(map) => Ok(Self {
                path: path.to_owned(),
                rest: map.clone(),
            }),
            _ => Err(error(path, Problem::Expected("an object"))),
        }
    }

    /// The path of `key` in this object.
    pub(super) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Takes `key` if present.
    pub(super) fn optional(&mut self, key: &str) -> Option<Value> {
        self.rest.remove(key)
    }

    /// Takes `key`, which must be present.
    pub(super) fn required(&mut self, key: &str) -> Result<Value, DefinitionError> {
        self.optional(key)
            .ok_or_else(|| error(&self.path_of(key), Problem::Missing))
    }

    /// Takes the string `key`, which must be present.
    pub(super) fn string(&mut self, key: &str) -> Result<String, DefinitionError> {
        let value = self.required(key)?;
        as_string(value, &self.path_of(key))
    }

    /// Takes the string `key` if present.
    pub(super) fn optional_string(&mut self, key: &str) -> Result<Option<String>, DefinitionError> {
        self.optional(key)
            .map(|v| as_string(v, &self.path_of(key)))
            .transpose()
    }

    /// Takes the number `key`, which must be present.
    pub(super) fn number(&mut self, key: &str) -> Result<f64, DefinitionError> {
        let value = self.required(key)?;
        as_number(&value, &self.path_of(key))
    }

    /// Takes the number `key` if present.
    pub(super) fn optional_number(&mut self, key: &str) -> Result<Option<f64>, DefinitionError> {
        self.optional(key)
            .map(|v| as_number(&v, &self.path_of(key)))
            .transpose()
    }

    /// Refuses the keys nobody took, with `problem`.
    pub(super) fn finish(self, problem: Problem) -> Result<(), DefinitionError> {
        match self.rest.keys().next() {
            Some(key) => Err(error(&join(&self.path, key), problem)),
            None => Ok(()),
        }
    }
}

/// A [`DefinitionError`] at `path`.
pub(super) fn error(path: &str, problem: Problem) -> DefinitionError {
    DefinitionError {
        path: path.to_owned(),
        problem,
    }
}

fn as_string(value: Value, path: &str) -> Result<String, DefinitionError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(error(path, Problem::Expected("a string"))),
    }
}

fn as_number(value: &Value, path: &str) -> Result<f64, DefinitionError> {
    value
        .as_f64()
        .ok_or_else(|| error(path, Problem::Expected("a number")))
}

fn as_length(value: &Value, path: &str) -> Result<u64, DefinitionError> {
    value
        .as_u64()
        .ok_or_else(|| error(path, Problem::Expected("a non-negative integer")))
}

/// A face-field schema, compiled: the root is an object of named properties.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    root: ObjectRules,
}

#[derive(Debug, Clone)]
struct ObjectRules {
    properties: BTreeMap<String, Node>,
    required: Vec<String>,
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    allowed: Option<Vec<Value>>,
}

#[derive(Debug, Clone)]
enum Kind {
    Object(ObjectRules),
    String(StringRules),
    Integer(Bounds),
    Number(Bounds),
    Boolean,
}

#[derive(Debug, Clone, Default)]
struct StringRules {
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<regex::Regex>,
    date: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    minimum: Option<f64>,
    maximum: Option<f64>,
}

impl Schema {
    /// Compiles `value` (found at `path`): an object schema whose properties have ASCII
    /// snake_case names and a `title`.
    pub(crate) fn compile(value: &Value, path: &str) -> Result<Self, DefinitionError> {
        let mut object = Object::new(value, path)?;
        if let Some(dialect) = object.optional_string("$schema")?
            && dialect != DIALECT
        {
            return Err(error(
                &object.path_of("$schema"),
                Problem::Invalid(format!("only {DIALECT} is supported")),
            ));
        }
        match node(object)? {
            Node {
                kind: Kind::Object(root),
                allowed: None,
            } => Ok(Self { root }),
            _ => Err(error(
                &join(path, "type"),
                Problem::Invalid("the root must be \"object\" without \"enum\"".into()),
            )),
        }
    }

    /// The names of the top-level properties (the face fields).
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.root.properties.keys().map(String::as_str)
    }

    /// Whether `name` is a top-level property.
    pub(crate) fn has_field(&self, name: &str) -> bool {
        self.root.properties.contains_key(name)
    }

    /// Whether the top-level property `name` takes its values from an `enum`.
    pub(crate) fn is_enumerated(&self, name: &str) -> bool {
        self.root
            .properties
            .get(name)
            .is_some_and(|node| node.allowed.is_some())
    }

    /// The JSON value of a top-level property written as text (a CSV cell): a number or a flag
    /// for those types, else the text itself; `None` for an unknown property or text that is
    /// not a number or flag where one is wanted (the validator then names the field).
    pub(crate) fn value_of_text(&self, name: &str, text: &str) -> Option<Value> {
        let node = self.root.properties.get(name)?;
        Some(match node.kind {
            Kind::Integer(_) => Value::from(text.parse::<i64>().ok()?),
            Kind::Number(_) => Value::from(text.parse::<f64>().ok()?),
            Kind::Boolean => Value::Bool(text.parse::<bool>().ok()?),
            Kind::String(_) | Kind::Object(_) => Value::String(text.to_owned()),
        })
    }

    /// Checks a licence's `fields` object; the error's path starts at `fields`.
    pub(crate) fn validate(&self, fields: &Value) -> Result<(), FieldError> {
        check_object(&self.root, fields, "fields")
    }
}

/// Compiles one schema node from its (already opened) object.
fn node(mut object: Object) -> Result<Node, DefinitionError> {
    let type_path = object.path_of("type");
    let type_name = object.string("type")?;
    object.optional_string("title")?;
    object.optional_string("description")?;
    let kind = match type_name.as_str() {
        "object" => Kind::Object(object_rules(&mut object)?),
        "string" => Kind::String(string_rules(&mut object)?),
        "integer" => Kind::Integer(bounds(&mut object)?),
        "number" => Kind::Number(bounds(&mut object)?),
        "boolean" => Kind::Boolean,
        _ => return Err(error(&type_path, Problem::UnsupportedType(type_name))),
    };
    let enum_path = object.path_of("enum");
    let allowed = match object.optional("enum") {
        None => None,
        Some(_) if matches!(kind, Kind::Object(_)) => {
            return Err(error(&enum_path, Problem::NotApplicable("object")));
        }
        Some(Value::Array(values)) if !values.is_empty() => Some(values),
        Some(_) => {
            return Err(error(&enum_path, Problem::Expected("a non-empty array")));
        }
    };
    // What a standard validator would ignore on this type is refused instead.
    let applicable = [
        "properties",
        "required",
        "additionalProperties",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
    ];
    if let Some(key) = applicable.iter().find(|k| object.rest.contains_key(**k)) {
        let kind_name = match kind {
            Kind::Object(_) => "object",
            Kind::String(_) => "string",
            Kind::Integer(_) => "integer",
            Kind::Number(_) => "number",
            Kind::Boolean => "boolean",
        };
        return Err(error(
            &object.path_of(key),
            Problem::NotApplicable(kind_name),
        ));
    }
    object.finish(Problem::UnsupportedKeyword)?;
    let node = Node {
        kind,
        allowed: None,
    };
    if let Some(values) = &allowed {
        // Every allowed value must itself pass the node's other rules.
        for (i, v) in values.iter().enumerate() {
            node.check(v, "").map_err(|e| {
                error(
                    &format!("{enum_path}[{i}]"),
                    Problem::Invalid(format!("value {}", e.problem)),
                )
            })?;
        }
    }
    Ok(Node { allowed, ..node })
}

fn object_rules(object: &mut Object) -> Result<ObjectRules, DefinitionError> {
    let additional_path = object.path_of("additionalProperties");
    match object.required("additionalProperties")? {
        Value::Bool(false) => {}
        _ => {
            return Err(error(
                &additional_path,
                Problem::Invalid(
                    "must be false: a licence has only the fields its type names".into(),
                ),
            ));
        }
    }
    let properties_path = object.path_of("properties");
    let mut props = Object::new(&object.required("properties")?, &properties_path)?;
    let mut properties = BTreeMap::new();
    for name in props.rest.keys().cloned().collect::<Vec<_>>() {
        let path = props.path_of(&name);
        if !is_snake_case(&name) {
            return Err(error(
                &path,
                Problem::Invalid("field names are ASCII snake_case".into()),
            ));
        }
        let value = props.optional(&name).unwrap_or(Value::Null);
        let field = Object::new(&value, &path)?;
        // The title is the Chinese label the licence face and every view show.
        if !field.rest.contains_key("title") {
            return Err(error(&field.path_of("title"), Problem::Missing));
        }
        properties.insert(name, node(field)?);
    }
    let required_path = object.path_of("required");
    let required = match object.optional("required") {
        None => Vec::new(),
        Some(Value::Array(names)) => {
            let mut required = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let path = format!("{required_path}[{i}]");
                let name = name
                    .as_str()
                    .ok_or_else(|| error(&path, Problem::Expected("a string")))?;
                if !properties.contains_key(name) {
                    return Err(error(
                        &path,
                        Problem::Invalid(format!("{name:?} is not a property")),
                    ));
                }
                if required.iter().any(|r| r == name) {
                    return Err(error(&path, Problem::Invalid(format!("{name:?} twice"))));
                }
                required.push(name.to_owned());
            }
            required
        }
        Some(_) => return Err(error(&required_path, Problem::Expected("an array"))),
    };
    Ok(ObjectRules {
        properties,
        required,
    })
}

fn string_rules(object: &mut Object) -> Result<StringRules, DefinitionError> {
    let mut rules = StringRules::default();
    for (key, slot) in [
        ("minLength", &mut rules.min_length),
        ("maxLength", &mut rules.max_length),
    ] {
        if let Some(v) = object.optional(key) {
            *slot = Some(as_length(&v, &object.path_of(key))?);
        }
    }
    if let (Some(min), Some(max)) = (rules.min_length, rules.max_length)
        && min > max
    {
        return Err(error(
            &object.path_of("minLength"),
            Problem::Invalid("greater than maxLength".into()),
        ));
    }
    if let Some(pattern) = object.optional_string("pattern")? {
        let compiled = regex::Regex::new(&pattern).map_err(|e| {
            error(
                &object.path_of("pattern"),
                Problem::Invalid(format!("not a regular expression: {e}")),
            )
        })?;
        rules.pattern = Some(compiled);
    }
    if let Some(format) = object.optional_string("format")? {
        if format != "date" {
            return Err(error(
                &object.path_of("format"),
                Problem::UnsupportedFormat(format),
            ));
        }
        rules.date = true;
    }
    Ok(rules)
}

fn bounds(object: &mut Object) -> Result<Bounds, DefinitionError> {
    let bounds = Bounds {
        minimum: object.optional_number("minimum")?,
        maximum: object.optional_number("maximum")?,
    };
    if let (Some(min), Some(max)) = (bounds.minimum, bounds.maximum)
        && min > max
    {
        return Err(error(
            &object.path_of("minimum"),
            Problem::Invalid("greater than maximum".into()),
        ));
    }
    Ok(bounds)
}

/// `^[a-z][a-z0-9_]*$`: field names are stable API keys, not labels.
fn is_snake_case(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Node {
    fn check(&self, value: &Value, path: &str) -> Result<(), FieldError> {
        let fail = |problem| {
            Err(FieldError {
                path: path.to_owned(),
                problem,
            })
        };
        match &self.kind {
            Kind::Object(rules) => return check_object(rules, value, path),
            Kind::String(rules) => {
                let Some(s) = value.as_str() else {
                    return fail(FieldProblem::Type("a string"));
                };
                let length = s.chars().count() as u64;
                if let Some(max) = rules.max_length.filter(|&max| length > max) {
                    return fail(FieldProblem::TooLong(max));
                }
                if let Some(min) = rules.min_length.filter(|&min| length < min) {
                    return fail(FieldProblem::TooShort(min));
                }
                if let Some(re) = rules.pattern.as_ref().filter(|re| !re.is_match(s)) {
                    return fail(FieldProblem::Pattern(re.as_str().to_owned()));
                }
                if rules.date && !is_date(s) {
                    return fail(FieldProblem::NotADate);
                }
            }
            Kind::Integer(bounds) => {
                if !is_integer(value) {
                    return fail(FieldProblem::Type("an integer"));
                }
                bounds.check(value, path)?;
            }
            Kind::Number(bounds) => {
                if !value.is_number() {
                    return fail(FieldProblem::Type("a number"));
                }
                bounds.check(value, path)?;
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return fail(FieldProblem::Type("true or false"));
                }
            }
        }
        match &self.allowed {
            Some(allowed) if !allowed.iter().any(|a| same_value(a, value)) => {
                fail(FieldProblem::NotAllowed)
            }
            _ => Ok(()),
        }
    }
}

impl Bounds {
    fn check(&self, value: &Value, path: &str) -> Result<(), FieldError> {
        let n = value.as_f64().unwrap_or(f64::NAN);
        let problem = if let Some(min) = self.minimum.filter(|&min| n < min) {
            FieldProblem::BelowMinimum(min)
        } else if let Some(max) = self.maximum.filter(|&max| n > max) {
            FieldProblem::AboveMaximum(max)
        } else {
            return Ok(());
        };
        Err(FieldError {
            path: path.to_owned(),
            problem,
        })
    }
}

fn check_object(rules: &ObjectRules, value: &Value, path: &str) -> Result<(), FieldError> {
    let Some(map) = value.as_object() else {
        return Err(FieldError {
            path: path.to_owned(),
            problem: FieldProblem::Type("an object"),
        });
    };
    if let Some(missing) = rules.required.iter().find(|r| !map.contains_key(*r)) {
        return Err(FieldError {
            path: join(path, missing),
            problem: FieldProblem::Missing,
        });
    }
    for (key, v) in map {
        let path = join(path, key);
        match rules.properties.get(key) {
            Some(node) => node.check(v, &path)?,
            None => {
                return Err(FieldError {
                    path,
                    problem: FieldProblem::Unknown,
                });
            }
        }
    }
    Ok(())
}

/// JSON Schema's integer: a number with no fractional part (`1.0` is one).
fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// JSON Schema's equality for `enum`: numbers compare by value (`1` equals `1.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// `YYYY-MM-DD` (RFC 3339 full-date), and a day that exists.
pub(super) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return false;
    }
    let number = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
    let Ok(month) = time::Month::try_from(u8::try_from(number(5..7)).unwrap_or(0)) else {
        return false;
    };
    let day = u8::try_from(number(8..10)).unwrap_or(0);
    time::Date::from_calendar_date(i32::from(number(0..4)), month, day).is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A schema with one field `f` defined by `rules`.
    fn one_field(rules: Value) -> Result<Schema, DefinitionError> {
        Schema::compile(
            &json!({
                "type": "object",
                "properties": { "f": rules },
                "additionalProperties": false
            }),
            "schema",
        )
    }

    fn refused(schema: &Schema, fields: Value) -> FieldError {
        schema.validate(&fields).expect_err("refused")
    }

    fn problem(schema: &Schema, value: Value) -> Option<FieldProblem> {
        schema
            .validate(&json!({ "f": value }))
            .err()
            .map(|e| e.problem)
    }

    fn definition_error(rules: Value) -> String {
        one_field(rules).expect_err("refused").to_string()
    }

    #[test]
    fn type_accepts_its_own_kind_only() {
        for (name, good, bad, expected) in [
            ("string", json!("x"), json!(1), "a string"),
            ("integer", json!(3), json!(3.5), "an integer"),
            ("number", json!(3.5), json!("3.5"), "a number"),
            ("boolean", json!(true), json!("true"), "true or false"),
        ] {
            let schema = one_field(json!({ "type": name, "title": "字段" })).expect(name);
            assert_eq!(problem(&schema, good), None, "{name}");
            assert_eq!(problem(&schema, bad), Some(FieldProblem::Type(expected)));
        }
        // JSON Schema's integer includes numbers without a fraction.
        let schema = one_field(json!({ "type": "integer", "title": "数量" })).expect("integer");
        assert_eq!(problem(&schema, json!(2.0)), None);
    }

    #[test]
    fn unsupported_types_and_keywords_are_refused_at_load() {
        assert_eq!(
            definition_error(json!({ "type": "date", "title": "日期" })),
            "schema.properties.f.type: unsupported type \"date\""
        );
        assert_eq!(
            definition_error(json!({ "type": "array", "title": "列表" })),
            "schema.properties.f.type: unsupported type \"array\""
        );
        assert_eq!(
            definition_error(json!({ "type": "string", "title": "x", "const": "a" })),
            "schema.properties.f.const: unsupported keyword"
        );
        assert_eq!(
            definition_error(json!({ "type": "string", "title": "x", "$ref": "#/a" })),
            "schema.properties.f.$ref: unsupported keyword"
        );
        // What a standard validator would ignore on another type is refused too.
        assert_eq!(
            definition_error(json!({ "type": "integer", "title": "x", "maxLength": 3 })),
            "schema.properties.f.maxLength: does not apply to type \"integer\""
        );
        assert_eq!(
            definition_error(json!({ "type": "string", "title": "x", "minimum": 3 })),
            "schema.properties.f.minimum: does not apply to type \"string\""
        );
        assert_eq!(
            definition_error(json!({ "type": "string", "title": "x", "format": "email" })),
            "schema.properties.f.format: unsupported format \"email\""
        );
    }

    #[test]
    fn objects_need_properties_titles_and_no_additional_properties() {
        let without = |key: &str| {
            let mut root = json!({
                "type": "object",
                "properties": { "f": { "type": "string", "title": "字段" } },
                "additionalProperties": false
            });
            root.as_object_mut().expect("object").remove(key);
            Schema::compile(&root, "schema")
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            without("additionalProperties"),
            "schema.additionalProperties: is required"
        );
        assert_eq!(without("properties"), "schema.properties: is required");
        assert_eq!(without("type"), "schema.type: is required");
        let open = json!({ "type": "object", "properties": {}, "additionalProperties": true });
        assert!(
            Schema::compile(&open, "schema")
                .expect_err("refused")
                .to_string()
                .starts_with("schema.additionalProperties: must be false")
        );
        assert_eq!(
            definition_error(json!({ "type": "string" })),
            "schema.properties.f.title: is required"
        );
        let bad_name = json!({
            "type": "object",
            "properties": { "Business-Scope": { "type": "string", "title": "经营范围" } },
            "additionalProperties": false
        });
        assert_eq!(
            Schema::compile(&bad_name, "schema")
                .expect_err("refused")
                .to_string(),
            "schema.properties.Business-Scope: field names are ASCII snake_case"
        );
        let not_object = json!({ "type": "string", "title": "x" });
        assert!(Schema::compile(&not_object, "schema").is_err());
        let other_dialect = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object", "properties": {}, "additionalProperties": false
        });
        assert!(
            Schema::compile(&other_dialect, "schema")
                .expect_err("refused")
                .to_string()
                .starts_with("schema.$schema: only")
        );
    }

    #[test]
    fn properties_and_additional_properties_false() {
        let schema = one_field(json!({ "type": "string", "title": "字段" })).expect("schema");
        assert!(schema.validate(&json!({ "f": "x" })).is_ok());
        assert!(schema.validate(&json!({})).is_ok());
        let e = refused(&schema, json!({ "f": "x", "g": 1 }));
        assert_eq!(
            e.to_string(),
            "fields.g: is not a field of this licence type"
        );
        assert_eq!(
            refused(&schema, json!(["f"])).to_string(),
            "fields: must be an object"
        );
    }

    #[test]
    fn required() {
        let schema = Schema::compile(
            &json!({
                "type": "object",
                "properties": {
                    "a": { "type": "string", "title": "甲" },
                    "b": { "type": "string", "title": "乙" }
                },
                "required": ["b"],
                "additionalProperties": false
            }),
            "schema",
        )
        .expect("schema");
        assert!(schema.validate(&json!({ "b": "x" })).is_ok());
        assert_eq!(
            refused(&schema, json!({ "a": "x" })).to_string(),
            "fields.b: is required"
        );
        let bad = json!({
            "type": "object",
            "properties": {},
            "required": ["c"],
            "additionalProperties": false
        });
        assert_eq!(
            Schema::compile(&bad, "schema")
                .expect_err("refused")
                .to_string(),
            "schema.required[0]: \"c\" is not a property"
        );
    }

    #[test]
    fn nested_objects_name_the_whole_path() {
        let schema = one_field(json!({
            "type": "object",
            "title": "地址",
            "properties": { "city": { "type": "string", "title": "市", "maxLength": 2 } },
            "required": ["city"],
            "additionalProperties": false
        }))
        .expect("schema");
        assert!(schema.validate(&json!({ "f": { "city": "杭州" } })).is_ok());
        assert_eq!(
            refused(&schema, json!({ "f": { "city": "杭州市" } })).to_string(),
            "fields.f.city: longer than 2 characters"
        );
        assert_eq!(
            refused(&schema, json!({ "f": {} })).to_string(),
            "fields.f.city: is required"
        );
    }

    #[test]
    fn lengths_count_characters() {
        let schema = one_field(json!({
            "type": "string", "title": "经营范围", "minLength": 2, "maxLength": 4
        }))
        .expect("schema");
        // Four hanzi are twelve UTF-8 bytes but four characters.
        assert_eq!(problem(&schema, json!("技术服务")), None);
        assert_eq!(
            problem(&schema, json!("技术服务等")),
            Some(FieldProblem::TooLong(4))
        );
        assert_eq!(
            problem(&schema, json!("技")),
            Some(FieldProblem::TooShort(2))
        );
        assert_eq!(
            refused(&schema, json!({ "f": "技术服务等" })).to_string(),
            "fields.f: longer than 4 characters"
        );
        assert!(
            definition_error(json!({ "type": "string", "title": "x", "maxLength": -1 }))
                .ends_with("maxLength: expected a non-negative integer")
        );
        assert!(
            definition_error(json!({
                "type": "string", "title": "x", "minLength": 3, "maxLength": 2
            }))
            .ends_with("minLength: greater than maxLength")
        );
    }

    #[test]
    fn pattern_is_unanchored_and_checked_at_load() {
        let schema = one_field(json!({
            "type": "string", "title": "电话", "pattern": "^[0-9][0-9-]{2,19}$"
        }))
        .expect("schema");
        assert_eq!(problem(&schema, json!("0571-12345678")), None);
        assert_eq!(
            problem(&schema, json!("电话")),
            Some(FieldProblem::Pattern("^[0-9][0-9-]{2,19}$".into()))
        );
        let unanchored = one_field(json!({ "type": "string", "title": "x", "pattern": "长期" }))
            .expect("schema");
        assert_eq!(problem(&unanchored, json!("至长期为止")), None);
        assert!(
            definition_error(json!({ "type": "string", "title": "x", "pattern": "(" }))
                .starts_with("schema.properties.f.pattern: not a regular expression")
        );
    }

    #[test]
    fn enum_values() {
        let schema = one_field(json!({
            "type": "string", "title": "残疾等级", "enum": ["一级", "二级", "三级", "四级"]
        }))
        .expect("schema");
        assert_eq!(problem(&schema, json!("二级")), None);
        assert_eq!(
            problem(&schema, json!("五级")),
            Some(FieldProblem::NotAllowed)
        );
        assert!(schema.is_enumerated("f"));
        let numbers =
            one_field(json!({ "type": "integer", "title": "x", "enum": [1, 2] })).expect("schema");
        assert_eq!(problem(&numbers, json!(2.0)), None);
        assert_eq!(problem(&numbers, json!(3)), Some(FieldProblem::NotAllowed));
        // Every allowed value must pass the field's other rules.
        assert_eq!(
            definition_error(
                json!({ "type": "string", "title": "x", "maxLength": 1, "enum": ["ab"] })
            ),
            "schema.properties.f.enum[0]: value longer than 1 characters"
        );
        assert!(
            definition_error(json!({ "type": "string", "title": "x", "enum": [] }))
                .ends_with("enum: expected a non-empty array")
        );
    }

    #[test]
    fn minimum_and_maximum() {
        let schema = one_field(json!({
            "type": "number", "title": "面积", "minimum": 0, "maximum": 1000.5
        }))
        .expect("schema");
        assert_eq!(problem(&schema, json!(0)), None);
        assert_eq!(problem(&schema, json!(1000.5)), None);
        assert_eq!(
            problem(&schema, json!(-1)),
            Some(FieldProblem::BelowMinimum(0.0))
        );
        assert_eq!(
            refused(&schema, json!({ "f": 1001 })).to_string(),
            "fields.f: greater than 1000.5"
        );
        assert!(
            definition_error(
                json!({ "type": "integer", "title": "x", "minimum": 2, "maximum": 1 })
            )
            .ends_with("minimum: greater than maximum")
        );
    }

    #[test]
    fn format_date_is_a_real_date() {
        let schema = one_field(json!({ "type": "string", "title": "成立日期", "format": "date" }))
            .expect("schema");
        for good in ["2019-11-04", "2024-02-29", "2000-02-29"] {
            assert_eq!(problem(&schema, json!(good)), None, "{good}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2019-13-01",
            "2019-04-31",
            "2019-4-1",
            "20191104",
            "2019-11-04T00:00:00Z",
            "+019-11-04",
            "２０１９-11-04",
        ] {
            assert_eq!(
                problem(&schema, json!(bad)),
                Some(FieldProblem::NotADate),
                "{bad}"
            );
        }
    }

    #[test]
    fn title_and_description_must_be_strings() {
        assert_eq!(
            definition_error(json!({ "type": "string", "title": 1 })),
            "schema.properties.f.title: expected a string"
        );
        assert_eq!(
            definition_error(json!({ "type": "string", "title": "x", "description": [] })),
            "schema.properties.f.description: expected a string"
        );
        assert!(
            one_field(json!({ "type": "string", "title": "x", "description": "说明" })).is_ok()
        );
    }

    #[test]
    fn errors_never_carry_the_value() {
        let schema = one_field(json!({ "type": "string", "title": "身份证号", "maxLength": 4 }))
            .expect("schema");
        let e = refused(&schema, json!({ "f": "11010519491231002X" }));
        assert!(!format!("{e} {e:?}").contains("1101051949"));
    }
}
