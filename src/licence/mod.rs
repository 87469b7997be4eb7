//! Electronic licences (电子证照) as GB/T 36901–36906 describe them: identifiers, status lists.

pub mod id;
pub mod status_list;

pub use id::{LicenceId, LicenceIdError};
pub use status_list::{SlotStatus, StatusList, StatusListError};
