//! The files `sidian import` reads: CSV with a header row, or JSON Lines; UTF-8 (with or
//! without a BOM) or GB18030. The format is documented in docs/import.md.
//!
//! The whole file is decoded first: whether it is UTF-8 is only known at its end, and a file
//! that does not decode is refused before anything is imported, naming the line.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{HolderKind, LicenceType};
use crate::vault::{ImportRow, LicenceHolder};

/// The core columns (the licence's metadata); every other column is a face field.
const CORE: [&str; 7] = [
    "number",
    "holder_name",
    "holder_id_type",
    "holder_id_number",
    "valid_from",
    "valid_to",
    "issued_on",
];

/// How the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row naming the columns.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file's name (`.csv`, `.jsonl`, `.ndjson`) or else its first byte (`{`)
    /// tells.
    pub fn guess(path: &std::path::Path, text: &str) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Format::JsonLines
            }
            _ if text.trim_start().starts_with('{') => Format::JsonLines,
            _ => Format::Csv,
        }
    }
}

/// A file refused as a whole (nothing of it is imported).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Neither UTF-8 nor GB18030.
    #[error("line {line}: the file is neither UTF-8 nor GB18030")]
    Encoding {
        /// The line of the first byte that does not decode.
        line: u64,
    },
    /// A CSV header that names a column twice, an unknown column, or lacks a required one.
    #[error("header: {0}")]
    Header(String),
}

/// Why one row was refused before it reached the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The column or JSON key (empty when the row as a whole is malformed).
    pub field: String,
    /// Why.
    pub reason: String,
}

/// One data row of the file.
#[derive(Debug)]
pub struct SourceRow {
    /// Its number among the data rows, from 1 (a CSV header is not a data row).
    pub row: u64,
    /// The line of the file it starts on, from 1.
    pub line: u64,
    /// Its 证照编号 as written, when there is one (for the report).
    pub number: Option<String>,
    /// The row, or why it cannot be one.
    pub parsed: Result<ImportRow, RowError>,
}

/// Decodes a file: UTF-8 (a BOM is dropped) when it is valid UTF-8, else GB18030.
pub fn decode(bytes: Vec<u8>) -> Result<String, FileError> {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e.into_bytes(),
    };
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(&bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok(out),
        encoding_rs::DecoderResult::Malformed(..) => Err(FileError::Encoding {
            line: line_at(&bytes, read),
        }),
        encoding_rs::DecoderResult::OutputFull => {
            // The capacity covers every GB18030 sequence (at most 4 bytes to 4 UTF-8 bytes).
            Err(FileError::Encoding {
                line: line_at(&bytes, read),
            })
        }
    }
}

fn line_at(bytes: &[u8], offset: usize) -> u64 {
    let upto = offset.min(bytes.len());
    let newlines = bytes[..upto].iter().filter(|&&b| b == b'\n').count();
    u64::try_from(newlines).unwrap_or(u64::MAX) + 1
}

/// The rows of a decoded file, in order.
pub fn rows<'a>(
    text: &'a str,
    format: Format,
    licence_type: &'a LicenceType,
) -> Result<Box<dyn Iterator<Item = SourceRow> + 'a>, FileError> {
    Ok(match format {
        Format::Csv => Box::new(csv_rows(text, licence_type)?),
        Format::JsonLines => Box::new(jsonl_rows(text, licence_type)),
    })
}

/// What a CSV column holds.
#[derive(Debug, Clone, Copy)]
enum Column {
    Core(usize),
    Field,
}

fn csv_rows<'a>(
    text: &'a str,
    licence_type: &'a LicenceType,
) -> Result<impl Iterator<Item = SourceRow> + 'a, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| FileError::Header(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut seen = HashMap::new();
    let mut columns = Vec::with_capacity(header.len());
    for name in &header {
        if seen.insert(name.clone(), ()).is_some() {
            return Err(FileError::Header(format!("column {name} appears twice")));
        }
        columns.push(match CORE.iter().position(|c| c == name) {
            Some(i) => Column::Core(i),
            None if licence_type.field_names().any(|f| f == name) => Column::Field,
            // A misspelt column would lose its values silently.
            None => {
                return Err(FileError::Header(format!(
                    "column {name} is neither a licence column nor a face field of type {}",
                    licence_type.code
                )));
            }
        });
    }
    for required in ["number", "holder_name", "holder_id_number"] {
        if !header.iter().any(|h| h == required) {
            return Err(FileError::Header(format!("column {required} is required")));
        }
    }
    let mut row = 0u64;
    Ok(reader.into_records().map(move |record| {
        row += 1;
        match record {
            Err(e) => SourceRow {
                row,
                line: e.position().map_or(0, |p| p.line()),
                number: None,
                parsed: Err(RowError {
                    field: String::new(),
                    reason: format!("not a CSV row: {e}"),
                }),
            },
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != header.len() {
                    return SourceRow {
                        row,
                        line,
                        number: None,
                        parsed: Err(RowError {
                            field: String::new(),
                            reason: format!(
                                "{} cells where the header names {} columns",
                                record.len(),
                                header.len()
                            ),
                        }),
                    };
                }
                let mut core: [Option<String>; 7] = Default::default();
                let mut fields = Map::new();
                for ((cell, name), column) in record.iter().zip(&header).zip(&columns) {
                    // An empty cell is an absent value.
                    if cell.is_empty() {
                        continue;
                    }
                    match column {
                        Column::Core(i) => core[*i] = Some(cell.to_owned()),
                        Column::Field => {
                            let value = licence_type
                                .field_from_text(name, cell)
                                .unwrap_or_else(|| Value::String(cell.to_owned()));
                            fields.insert(name.clone(), value);
                        }
                    }
                }
                let number = core[0].clone();
                SourceRow {
                    row,
                    line,
                    number,
                    parsed: import_row(core, Value::Object(fields), licence_type),
                }
            }
        }
    }))
}

fn jsonl_rows<'a>(
    text: &'a str,
    licence_type: &'a LicenceType,
) -> impl Iterator<Item = SourceRow> + 'a {
    let mut row = 0u64;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, l)| {
            row += 1;
            let line = u64::try_from(i).unwrap_or(u64::MAX - 1) + 1;
            let (number, parsed) = jsonl_row(l, licence_type);
            SourceRow {
                row,
                line,
                number,
                parsed,
            }
        })
}

fn jsonl_row(
    line: &str,
    licence_type: &LicenceType,
) -> (Option<String>, Result<ImportRow, RowError>) {
    let object = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return (None, Err(row_error("", "not a JSON object"))),
        Err(e) => return (None, Err(row_error("", &format!("not JSON: {e}")))),
    };
    let mut core: [Option<String>; 7] = Default::default();
    let mut fields = Value::Object(Map::new());
    for (key, value) in object {
        if key == "fields" {
            fields = value;
            continue;
        }
        let Some(i) = CORE.iter().position(|c| *c == key) else {
            return (
                core[0].clone(),
                Err(row_error(
                    &key,
                    "unknown key (face fields go in the \"fields\" object)",
                )),
            );
        };
        match value {
            Value::String(s) => core[i] = Some(s),
            Value::Null => {}
            _ => return (core[0].clone(), Err(row_error(&key, "must be a string"))),
        }
    }
    let number = core[0].clone();
    (number, import_row(core, fields, licence_type))
}

fn row_error(field: &str, reason: &str) -> RowError {
    RowError {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A row from its core values (in the order of [`CORE`]) and face fields. The holder's
/// identifier type defaults to `001` (统一社会信用代码) for an organisation's licence and `111`
/// (居民身份证) for a person's.
fn import_row(
    core: [Option<String>; 7],
    fields: Value,
    licence_type: &LicenceType,
) -> Result<ImportRow, RowError> {
    let [
        number,
        holder_name,
        holder_id_type,
        holder_id_number,
        valid_from,
        valid_to,
        issued_on,
    ] = core;
    let required = |v: Option<String>, name: &str| v.ok_or_else(|| row_error(name, "is required"));
    let number = required(number, "number")?;
    let name = required(holder_name, "holder_name")?;
    let id_number = required(holder_id_number, "holder_id_number")?;
    let id_type = holder_id_type.unwrap_or_else(|| {
        match licence_type.holder_kind {
            HolderKind::Organisation => "001",
            HolderKind::Person => "111",
        }
        .to_owned()
    });
    Ok(ImportRow {
        holder: LicenceHolder {
            name,
            id_type,
            id_number,
        },
        number,
        valid_from,
        valid_to,
        issued_on,
        fields,
    })
}

/// The column (or JSON key) an error message of the vault names: the path before its first
/// `: ` (`holder.id_number: …` → `holder_id_number`, `fields.domicile: …` → `domicile`).
pub fn field_of(message: &str) -> String {
    let Some((path, _)) = message.split_once(": ") else {
        return String::new();
    };
    if path.contains(' ') {
        return String::new();
    }
    match path {
        "holder.name" => "holder_name".into(),
        "holder.id_type" => "holder_id_type".into(),
        "holder.id_number" => "holder_id_number".into(),
        p => p.strip_prefix("fields.").unwrap_or(p).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_is_decoded_and_utf8_kept() {
        let (gb, _, _) = encoding_rs::GB18030.encode("名称,张三\n");
        assert_eq!(decode(gb.into_owned()).expect("gb18030"), "名称,张三\n");
        let utf8 = "\u{FEFF}名称\n".as_bytes().to_vec();
        assert_eq!(decode(utf8).expect("utf-8"), "名称\n");
        // 0xFF is not GB18030 either: refused, naming the line.
        let bad = b"a\nb\n\xFF\x20\n".to_vec();
        assert!(matches!(decode(bad), Err(FileError::Encoding { line: 3 })));
    }

    #[test]
    fn error_paths_name_columns() {
        assert_eq!(field_of("holder.id_number: bad check"), "holder_id_number");
        assert_eq!(field_of("fields.domicile: is required"), "domicile");
        assert_eq!(
            field_of("valid_from: must be a date (YYYY-MM-DD)"),
            "valid_from"
        );
        assert_eq!(field_of("number: taken, with other content"), "number");
        assert_eq!(field_of("no free status list slots"), "");
    }
}
