//! Rendering of images the vault draws itself (the standard round official seal).

pub mod seal;

pub use seal::{RenderError, SealImageSpec, png_dimensions, render_official_seal};

#[cfg(test)]
mod tests;
