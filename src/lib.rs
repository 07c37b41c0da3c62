//! careplan: a FHIR R4 validator and a PRSB care and support plan facade.
//!
//! Data flows one way: bytes → [`parse`] → [`tree`] → [`validator`] (driven by
//! [`context`], which holds definitions loaded by [`package`]) → [`issue`]s →
//! [`outcome`]. See ARCHITECTURE.md for the map and the rules between modules.

pub mod cli;
pub mod conformance;
pub mod context;
pub mod convert;
pub mod definition;
pub mod fhirpath;
pub mod fuzz;
pub mod import;
pub mod issue;
pub mod loader;
pub mod outcome;
pub mod package;
pub mod parse;
pub mod primitive;
pub mod profiles;
pub mod prsb;
pub mod render;
pub mod server;
pub mod snapshot;
pub mod structure;
pub mod terminology;
pub mod terminology_bindings;
pub mod tree;
pub mod ucum;
pub mod validator;
pub mod xml_c14n;
