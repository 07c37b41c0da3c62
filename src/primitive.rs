//! Lexical rules of the FHIR R4 primitive types.
