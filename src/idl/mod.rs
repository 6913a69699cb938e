//! Interface descriptions: the component's IDL, CDL and EDL files (or
//! nk-driver's JSON) read into a [`model::Schema`], so that traces,
//! statistics and policies can use the names the developer wrote and show
//! message payloads as the values they hold.
//!
//! - [`model`]: resolved types with their NK layout, methods, interfaces,
//!   entities and their endpoints in RIID order.
//! - [`decode`]: a captured message payload shown as values by its method's signature.

pub mod decode;
pub mod model;
