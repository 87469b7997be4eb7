//! Electronic licences (电子证照) as GB/T 36901–36906 describe them: the catalogue of licence
//! types (GB/T 36902), whose face fields (照面信息) a licence's data is checked against, the
//! licence identifier (GB/T 36904), the status lists licences are checked against, and the files
//! existing licences are imported from.

pub mod catalogue;
pub mod face;
pub mod id;
pub mod import;
mod schema;
pub mod status_list;

pub use catalogue::{Catalogue, CatalogueError, HolderKind, LicenceType};
pub use face::{FaceError, LicenceFace};
pub use id::{LicenceId, LicenceIdError};
pub use schema::{DefinitionError, FieldError, FieldProblem, Problem};
pub use status_list::{SlotStatus, StatusList, StatusListError};

/// 长期: a licence without an end of validity, as its face and its canonical form write it.
pub const LONG_TERM: &str = "长期";

/// China Standard Time (UTC+8): licence dates are days there.
pub const CST: time::UtcOffset = match time::UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => time::UtcOffset::UTC,
};

/// The day (China Standard Time) a millisecond since the Unix epoch falls in.
pub fn day_of(ms: i64) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(CST)
        .date()
}

/// A licence date as written everywhere: `YYYY-MM-DD`.
pub fn date_text(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}
