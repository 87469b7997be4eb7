//! The face of a licence file (GB/T 36905): a licence type's
//! [`Layout`](super::catalogue::Layout) filled with one licence's values, as an
//! [`ofd::write::Document`](crate::ofd::write::Document) ready to be written and sealed.
//!
//! The page has the type's size and shows the title, each placed field's label and value (a
//! value with a `width` wraps within it, and shrinks until it fits above whatever lies below it
//! on the page), and a QR code of the licence's verification URL at the layout's `qr` place.
//! `DocInfo` carries the type's name as `Title` and the three values other tools look a licence
//! file up by (`CustomData` 证照标识, 证照类型代码, 颁发机构代码); a custom tag carries the
//! GB/T 36903 core metadata, each element pointing at the text objects that show it, or holding
//! the value where the face does not show it. The same licence always gives the same document:
//! `DocID` is derived from the 证照标识 and `CreationDate` is the 颁发日期.
//!
//! Personal face fields are printed as they are (the file is the holder's licence), so nothing
//! here logs a value or puts one in an error: errors name the field.

mod lines;
mod qr;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use super::LONG_TERM;
use super::catalogue::{Align, LicenceType};
use crate::ofd::write::{
    Color, CustomTag, DocInfo, Document, Object, ObjectRef, Page, Point, Size, TagContent,
    TagField, Text, WriteError,
};

/// Millimetres per point.
const PT: f64 = 25.4 / 72.0;

/// The namespace of the metadata custom tag.
pub const METADATA_NAMESPACE: &str = "urn:sidian:licence:gbt36903";
/// The `TypeID` of the metadata custom tag.
pub const METADATA_TYPE: &str = "GB/T 36903-2018";

/// The `CustomData` names of `DocInfo`, in writing order.
pub const CUSTOM_DATA: [&str; 3] = ["证照标识", "证照类型代码", "颁发机构代码"];

/// What one licence's file shows and carries. It has no `Debug`: the holder's identifier and
/// personal face fields are printed in the file and must never reach a log.
pub struct LicenceFace<'a> {
    /// 证照标识 (GB/T 36904).
    pub id: &'a str,
    /// 证照编号.
    pub number: &'a str,
    /// 持证主体.
    pub holder_name: &'a str,
    /// 持证主体代码类型代码 (`111`, `001`, `414`).
    pub holder_id_type: &'a str,
    /// 持证主体代码.
    pub holder_id: &'a str,
    /// 颁发机构.
    pub issuer_name: &'a str,
    /// 颁发机构代码 (its 统一社会信用代码).
    pub issuer_code: &'a str,
    /// 颁发日期.
    pub issued_on: time::Date,
    /// 有效期起始日期.
    pub valid_from: time::Date,
    /// 有效期截止日期; `None` is 长期.
    pub valid_to: Option<time::Date>,
    /// 照面信息, valid for the type.
    pub fields: &'a Map<String, Value>,
    /// Where the licence is verified: what the QR code holds.
    pub verify_url: &'a str,
}

/// Why a licence's face could not be laid out. Errors name a field, never its value.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// A value holds a character the bundled font cannot draw.
    #[error(
        "{field}: holds a character the licence font cannot draw (it has the GB 2312 hanzi, ASCII and common punctuation)"
    )]
    Unprintable {
        /// The field (a face field or a reserved name such as `$holder_name`).
        field: String,
    },
    /// A value is too long for its place even in the smallest type.
    #[error("{field}: too long to fit its place on the page")]
    DoesNotFit {
        /// The field.
        field: String,
    },
    /// The verification URL is too long for a QR code.
    #[error("the verification URL is too long for a QR code")]
    QrTooLong,
    /// The document model was refused (a defect of the type's layout or of this module).
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl LicenceFace<'_> {
    /// The text a placed field shows; `None` for an optional face field the licence leaves out.
    fn value(&self, field: &str) -> Option<String> {
        Some(match field {
            "$holder_name" => self.holder_name.to_owned(),
            "$holder_id" => self.holder_id.to_owned(),
            "$number" => self.number.to_owned(),
            "$issuer" => self.issuer_name.to_owned(),
            "$issued_on" => self.issued_on.to_string(),
            "$valid_from" => self.valid_from.to_string(),
            "$valid_to" => self.valid_to_text(),
            face => match self.fields.get(face)? {
                Value::String(s) => s.clone(),
                Value::Null => return None,
                other => other.to_string(),
            },
        })
    }

    fn valid_to_text(&self) -> String {
        self.valid_to
            .map_or_else(|| LONG_TERM.to_owned(), |d| d.to_string())
    }
}

/// The document of one licence's file: its type's layout filled with its values.
pub fn document(
    licence_type: &LicenceType,
    licence: &LicenceFace<'_>,
) -> Result<Document, FaceError> {
    let layout = &licence_type.layout;
    let mut objects = Vec::new();
    // Which objects show each placed field's value, for the metadata tag.
    let mut shown: Vec<(&str, Vec<usize>)> = Vec::new();

    let title = &layout.title;
    let title_size = title.size_pt * PT;
    let title_x = match title.align {
        Align::Left => title.x,
        Align::Center => title.x - lines::width(&title.text, title_size)? / 2.0,
    };
    let title_at = objects.len();
    objects.push(text(title_x, title.y, title_size, &title.text));

    let values: Vec<Option<String>> = layout
        .fields
        .iter()
        .map(|p| licence.value(&p.field))
        .collect();
    let spans = lines::spans(&layout.fields, &values)?;
    for (i, p) in layout.fields.iter().enumerate() {
        let size = p.size_pt * PT;
        if let Some(label) = p.label.as_deref().filter(|l| !l.is_empty()) {
            objects.push(text(p.x, p.y, size, label));
        }
        let Some(value) = &values[i] else { continue };
        let room = lines::bottom_of(i, layout, &spans) - p.y;
        let block = lines::fit(value, size, p.width, room, &p.field)?;
        let x = p.value_x.unwrap_or(p.x);
        let mut at = Vec::new();
        for (n, line) in block.lines.iter().enumerate() {
            let y = p.y + n as f64 * block.pitch;
            at.push(objects.len());
            objects.push(text(x, y, block.size, line));
        }
        if !at.is_empty() {
            shown.push((p.field.as_str(), at));
        }
    }
    objects.extend(qr::objects(licence.verify_url, layout.qr)?);

    let refs = |field: &str| -> Option<TagContent> {
        let (_, at) = shown.iter().find(|(f, _)| *f == field)?;
        Some(TagContent::Objects(
            at.iter()
                .map(|&object| ObjectRef { page: 0, object })
                .collect(),
        ))
    };
    let value = |v: &str| TagContent::Value(v.to_owned());
    let name = if title.text == licence_type.name {
        TagContent::Objects(vec![ObjectRef {
            page: 0,
            object: title_at,
        }])
    } else {
        value(&licence_type.name)
    };
    let metadata = [
        ("LicenceID", value(licence.id)),
        ("LicenceName", name),
        ("LicenceTypeCode", value(&licence_type.code)),
        (
            "LicenceNumber",
            refs("$number").unwrap_or_else(|| value(licence.number)),
        ),
        (
            "Issuer",
            refs("$issuer").unwrap_or_else(|| value(licence.issuer_name)),
        ),
        ("IssuerCode", value(licence.issuer_code)),
        (
            "IssueDate",
            refs("$issued_on").unwrap_or_else(|| value(&licence.issued_on.to_string())),
        ),
        (
            "Holder",
            refs("$holder_name").unwrap_or_else(|| value(licence.holder_name)),
        ),
        (
            "HolderCode",
            refs("$holder_id").unwrap_or_else(|| value(licence.holder_id)),
        ),
        ("HolderCodeType", value(licence.holder_id_type)),
        (
            "ValidFrom",
            refs("$valid_from").unwrap_or_else(|| value(&licence.valid_from.to_string())),
        ),
        (
            "ValidTo",
            refs("$valid_to").unwrap_or_else(|| value(&licence.valid_to_text())),
        ),
    ];

    let mut info = DocInfo::new(doc_id(licence.id), licence.issued_on);
    info.title = Some(licence_type.name.clone());
    info.custom_data = CUSTOM_DATA
        .iter()
        .zip([licence.id, licence_type.code.as_str(), licence.issuer_code])
        .map(|(name, v)| ((*name).to_owned(), v.to_owned()))
        .collect();
    Ok(Document {
        info,
        pages: vec![Page {
            size: Size {
                width: layout.page.width,
                height: layout.page.height,
            },
            objects,
        }],
        template: None,
        custom_tags: vec![CustomTag {
            type_id: METADATA_TYPE.to_owned(),
            namespace: METADATA_NAMESPACE.to_owned(),
            root: "LicenceMetadata".to_owned(),
            fields: metadata
                .into_iter()
                .map(|(name, content)| TagField {
                    name: name.to_owned(),
                    content,
                })
                .collect(),
        }],
    })
}

/// `DocID`: the first 16 bytes of SHA-256 of the 证照标识, so a licence's file is the same
/// document however often it is rendered.
fn doc_id(id: &str) -> [u8; 16] {
    let digest = crate::crypto::sha256(id.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

fn text(x: f64, y: f64, size: f64, s: &str) -> Object {
    Object::Text(Text {
        origin: Point { x, y },
        size,
        color: Color::BLACK,
        text: s.to_owned(),
    })
}
