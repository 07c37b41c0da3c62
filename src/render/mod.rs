//! Resources out of the program in formats other than JSON.

pub mod xml;
