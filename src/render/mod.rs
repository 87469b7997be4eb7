//! Rendering of images the vault draws itself (the standard round official seal).
