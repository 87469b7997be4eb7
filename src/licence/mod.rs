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
