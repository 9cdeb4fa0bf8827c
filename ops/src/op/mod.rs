//! The actions' pixel work, one file per action (same names as `spec/`), plus resampling.
//! Every function takes a [`crate::frame::Frame`] and returns one; nothing here does I/O.

pub mod auto_orient;
pub mod average_hue;
pub mod blur;
pub mod bright;
pub mod circle;
pub mod contrast;
pub mod crop;
pub mod indexcrop;
pub mod info;
pub mod resample;
pub mod resize;
pub mod rotate;
pub mod rounded_corners;
pub mod sharpen;
pub mod watermark;
