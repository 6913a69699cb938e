//! Bounded sequences for the policy's tables.
//!
//! With a heap (feature `clib`: std's, or the C library's `malloc` in the
//! `no_std` wrap archive) a [`Store`] is a `Vec` that refuses to grow past
//! `N`; the bare core has no heap, and there it is an inline `[T; N]` with a
//! length, so a compiled policy is one fixed-size object that can live in a
//! `static`.

use core::ops::Deref;

/// Element types a heap-less [`Store`] can be pre-filled with.
pub trait Zero: Copy {
    /// The filler value of unused slots.
    const ZERO: Self;
}

impl Zero for u32 {
    const ZERO: Self = 0;
}

impl Zero for u16 {
    const ZERO: Self = 0;
}

/// The store is at its capacity `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A sequence of at most `N` elements.
#[derive(Debug)]
pub struct Store<T: Zero, const N: usize> {
    #[cfg(feature = "clib")]
    items: alloc::vec::Vec<T>,
    #[cfg(not(feature = "clib"))]
    items: [T; N],
    #[cfg(not(feature = "clib"))]
    len: usize,
}

impl<T: Zero, const N: usize> Store<T, N> {
    /// An empty store.
    pub const fn new() -> Self {
        Store {
            #[cfg(feature = "clib")]
            items: alloc::vec::Vec::new(),
            #[cfg(not(feature = "clib"))]
            items: [T::ZERO; N],
            #[cfg(not(feature = "clib"))]
            len: 0,
        }
    }

    /// Append `v`, or `Err(Full)` at capacity.
    pub fn push(&mut self, v: T) -> Result<(), Full> {
        if self.len() >= N {
            return Err(Full);
        }
        #[cfg(feature = "clib")]
        self.items.push(v);
        #[cfg(not(feature = "clib"))]
        {
            self.items[self.len] = v;
            self.len += 1;
        }
        Ok(())
    }

    /// Append `n` copies of `v`, or `Err(Full)` (and nothing appended) if
    /// they do not fit.
    pub fn push_n(&mut self, v: T, n: usize) -> Result<(), Full> {
        let end = self.len().checked_add(n).ok_or(Full)?;
        if end > N {
            return Err(Full);
        }
        #[cfg(feature = "clib")]
        self.items.resize(end, v);
        #[cfg(not(feature = "clib"))]
        {
            self.items[self.len..end].fill(v);
            self.len = end;
        }
        Ok(())
    }

    /// Make room for `n` more elements at once (with a heap: one allocation
    /// of exactly that much; without one the room is always there).
    pub fn reserve(&mut self, n: usize) {
        #[cfg(feature = "clib")]
        self.items.reserve_exact(n.min(N - self.len().min(N)));
        #[cfg(not(feature = "clib"))]
        let _ = n;
    }

    /// Keep the first `len` elements.
    pub fn truncate(&mut self, len: usize) {
        #[cfg(feature = "clib")]
        self.items.truncate(len);
        #[cfg(not(feature = "clib"))]
        {
            self.len = self.len.min(len);
        }
    }

    /// Remove every element.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// The elements as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        #[cfg(feature = "clib")]
        {
            &mut self.items
        }
        #[cfg(not(feature = "clib"))]
        {
            &mut self.items[..self.len]
        }
    }
}

impl<T: Zero, const N: usize> Default for Store<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Zero, const N: usize> Deref for Store<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        #[cfg(feature = "clib")]
        {
            &self.items
        }
        #[cfg(not(feature = "clib"))]
        {
            &self.items[..self.len]
        }
    }
}

impl<T: Zero, const N: usize> Clone for Store<T, N> {
    fn clone(&self) -> Self {
        let mut s = Self::new();
        for v in self.iter() {
            // Same capacity: cannot fail.
            let _ = s.push(*v);
        }
        s
    }
}
