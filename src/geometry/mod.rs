//! Geometry rules shared by every stage: validation and repair, areas.

pub mod area;
pub mod validate;
