//! An interner: each distinct value is stored once and named by a [`Sym`],
//! a `u32` index. Metric names, label names and label values repeat across
//! thousands of series (every device has `interface` labels, many devices
//! share interface names), and so do whole label sets (every metric of one
//! interface has the same), so the series table keeps `Sym`s instead of
//! owned strings.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// An interned value: an index into its [`Interner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

/// Stores each distinct value (a string by default, or a slice) once;
/// values are never removed.
#[derive(Debug)]
pub struct Interner<T: ?Sized = str> {
    /// The value of `Sym(i)` at index `i`.
    items: Vec<Arc<T>>,
    /// The same values (shared with `items`), to find a value's `Sym`.
    syms: HashMap<Arc<T>, Sym>,
}

impl<T: ?Sized> Default for Interner<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            syms: HashMap::new(),
        }
    }
}

impl<T: ?Sized + Eq + Hash> Interner<T>
where
    for<'a> Arc<T>: From<&'a T>,
{
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `Sym` of `x`, storing `x` on first sight.
    pub fn intern(&mut self, x: &T) -> Sym {
        if let Some(&sym) = self.syms.get(x) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.items.len()).unwrap_or(u32::MAX));
        let shared: Arc<T> = Arc::from(x);
        self.items.push(shared.clone());
        self.syms.insert(shared, sym);
        sym
    }

    /// The `Sym` of `x` if it was interned.
    pub fn get(&self, x: &T) -> Option<Sym> {
        self.syms.get(x).copied()
    }

    /// The value of `sym`; `None` for a `Sym` this interner did not give.
    pub fn resolve(&self, sym: Sym) -> Option<&T> {
        self.items.get(sym.0 as usize).map(|x| &**x)
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_sym_and_resolve_back() {
        let mut i: Interner = Interner::new();
        let a = i.intern("interface");
        let b = i.intern("Gi0/1");
        assert_ne!(a, b);
        assert_eq!(i.intern("interface"), a);
        assert_eq!(i.intern(&String::from("Gi0/1")), b);
        assert_eq!(
            (i.resolve(a), i.resolve(b)),
            (Some("interface"), Some("Gi0/1"))
        );
        assert_eq!(i.get("Gi0/1"), Some(b));
        assert_eq!(i.get("Gi0/2"), None);
        let empty = i.intern("");
        assert_eq!(i.resolve(empty), Some(""));
        assert_eq!(i.len(), 3);
        assert!(!i.is_empty() && Interner::<str>::new().is_empty());
        let mut other: Interner = Interner::new();
        assert_eq!(other.resolve(b), None, "not one of its syms");
        assert_eq!(other.intern("x"), a, "syms count from 0 in each interner");
    }

    #[test]
    fn slices_are_interned_whole() {
        let mut sets: Interner<[(Sym, Sym)]> = Interner::new();
        let mut strings: Interner = Interner::new();
        let (n, v1, v2) = (
            strings.intern("interface"),
            strings.intern("Gi0/1"),
            strings.intern("Gi0/2"),
        );
        let a = sets.intern(&[(n, v1)]);
        let b = sets.intern(&[(n, v2)]);
        let empty = sets.intern(&[]);
        assert_eq!(sets.intern(&[(n, v1)]), a);
        assert!(a != b && b != empty && a != empty);
        assert_eq!(sets.resolve(b), Some(&[(n, v2)][..]));
        assert_eq!(sets.resolve(empty), Some(&[][..]));
        assert_eq!(sets.get(&[(n, v2), (n, v1)]), None);
        assert_eq!(sets.len(), 3);
    }
}
