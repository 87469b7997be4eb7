//! Rendering of images the vault draws itself (the standard round official seal and the
//! personal name seal), and the bundled font it draws text with.

pub(crate) mod font;
pub mod name_seal;
pub mod seal;

pub use name_seal::{NameSealShape, NameSealSpec, render_name_seal};
pub use seal::{RenderError, SealImageSpec, indexed_png, png_dimensions, render_official_seal};

#[cfg(test)]
mod tests;
