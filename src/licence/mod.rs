//! Electronic licences (电子证照) as GB/T 36901–36906 describe them: the catalogue of licence
//! types (GB/T 36902), whose face fields (照面信息) a licence's data is checked against.

pub mod catalogue;
mod schema;

pub use catalogue::{Catalogue, CatalogueError, HolderKind, LicenceType};
pub use schema::{DefinitionError, FieldError, FieldProblem, Problem};
