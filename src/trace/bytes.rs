//! Where the trace writers put their bytes: a file of the C library the
//! program links (every build with `clib`, the wrap archive included), a
//! `Vec<u8>` (tests), or a std writer (the `kos-ipc-trace` tool).
//!
//! The writers (`.kst`, JSON, CTF) format into their own buffers and hand
//! whole pieces to a [`ByteSink`], so they need neither `std::io` nor any
//! buffering of their own (stdio buffers files).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::sys::{File, FileError};

/// Why bytes could not be written: a short description for the one line
/// the shim prints (or the tool's error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError(pub String);

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<FileError> for WriteError {
    fn from(e: FileError) -> Self {
        WriteError(e.to_string())
    }
}

#[cfg(feature = "std")]
impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError(e.to_string())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for WriteError {}

/// A destination for bytes.
pub trait ByteSink {
    /// Write all of `bytes`.
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError>;
    /// Hand buffered bytes on (to the system, for files).
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
}

impl ByteSink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

impl ByteSink for File {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        Ok(self.write_all(bytes)?)
    }
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(File::flush(self)?)
    }
}

impl<S: ByteSink + ?Sized> ByteSink for &mut S {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        (**self).put(bytes)
    }
    fn flush(&mut self) -> Result<(), WriteError> {
        (**self).flush()
    }
}

/// A std writer as a [`ByteSink`] (the `kos-ipc-trace` tool's outputs).
#[cfg(feature = "std")]
pub struct Io<W: std::io::Write>(pub W);

#[cfg(feature = "std")]
impl<W: std::io::Write> ByteSink for Io<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        Ok(self.0.write_all(bytes)?)
    }
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.0.flush()?)
    }
}
