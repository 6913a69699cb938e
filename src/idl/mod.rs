//! Interface descriptions: the component's IDL, CDL and EDL files (or
//! nk-driver's JSON) read into a [`model::Schema`](crate::idl::model::Schema), so that traces,
//! statistics and policies can use the names the developer wrote and show
//! message payloads as the values they hold.
//!
//! - [`model`](crate::idl::model): resolved types with their NK layout, methods, interfaces,
//!   entities and their endpoints in RIID order.
//! - [`decode`](crate::idl::decode): a captured message payload shown as values by its method's signature.
//! - [`lex`](crate::idl::lex): the tokenizer with line:column positions, and [`Error`](crate::idl::Error).
//! - [`parse`](crate::idl::parse): the IDL, EDL and CDL grammars, and the canonical one-line form.
//! - [`load`](crate::idl::load): finds files by name under include dirs and resolves them.
//! - `json`: nk-driver's JSON output read like an IDL file (feature `std`).

pub mod decode;
#[cfg(feature = "std")]
pub mod json;
pub mod lex;
pub mod load;
pub mod model;
pub mod parse;

pub use lex::Error;
pub use load::Loader;
