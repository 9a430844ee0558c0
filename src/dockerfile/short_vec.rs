//! [`ShortVec`]: a list that holds its one element in place.
//!
//! Most lists in a typed instruction hold one element (the pair of
//! `ENV KEY=value`, the name of `ARG VERSION`), and a heap allocation for
//! it costs more than typing the instruction: a parse allocates and frees
//! thousands of them, and freed in bulk they miss the allocator's fast
//! paths. `smallvec::SmallVec` would do it, but is invariant in its
//! element type (it names it through `Array::Item`), and a typed
//! Dockerfile must stay covariant in the lifetime of the text it borrows.
//! This is the small part of it the typed layer needs.

use serde::Serialize;

/// A list of `T`: one element is held in place, more go to a `Vec`. Reads
/// as a slice (`Deref<Target = [T]>`); equality, `Debug` and the
/// serialised form are the slice's, however it is held.
#[derive(Clone)]
pub struct ShortVec<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    One(T),
    /// None, or more than one (or one after a `Vec` was needed).
    Many(Vec<T>),
}

impl<T> ShortVec<T> {
    /// An empty list (no allocation).
    pub const fn new() -> Self {
        ShortVec(Repr::Many(Vec::new()))
    }

    /// An empty list with room for `n` elements: in place for one, else a
    /// `Vec` of that capacity.
    pub fn with_capacity(n: usize) -> Self {
        if n <= 1 {
            Self::new()
        } else {
            ShortVec(Repr::Many(Vec::with_capacity(n)))
        }
    }

    /// A list of one element.
    pub const fn one(value: T) -> Self {
        ShortVec(Repr::One(value))
    }

    /// Appends `value`.
    pub fn push(&mut self, value: T) {
        match &mut self.0 {
            Repr::Many(v) if v.capacity() == 0 => self.0 = Repr::One(value),
            Repr::Many(v) => v.push(value),
            Repr::One(_) => {
                let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Many(Vec::new()))
                else {
                    return;
                };
                let mut v = Vec::with_capacity(4);
                v.push(first);
                v.push(value);
                self.0 = Repr::Many(v);
            }
        }
    }

    /// Removes and returns the last element.
    pub fn pop(&mut self) -> Option<T> {
        match &mut self.0 {
            Repr::Many(v) => v.pop(),
            Repr::One(_) => match std::mem::replace(&mut self.0, Repr::Many(Vec::new())) {
                Repr::One(last) => Some(last),
                Repr::Many(_) => None,
            },
        }
    }

    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::One(one) => std::slice::from_ref(one),
            Repr::Many(v) => v,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::One(one) => std::slice::from_mut(one),
            Repr::Many(v) => v,
        }
    }
}

impl<T> Default for ShortVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::ops::Deref for ShortVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> std::ops::DerefMut for ShortVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T: PartialEq> PartialEq for ShortVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for ShortVec<T> {}

impl<T: std::fmt::Debug> std::fmt::Debug for ShortVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: Serialize> Serialize for ShortVec<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

impl<T> From<Vec<T>> for ShortVec<T> {
    fn from(v: Vec<T>) -> Self {
        ShortVec(Repr::Many(v))
    }
}

impl<T> FromIterator<T> for ShortVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let Some(first) = iter.next() else {
            return Self::new();
        };
        let Some(second) = iter.next() else {
            return Self::one(first);
        };
        let mut v = Vec::with_capacity(iter.size_hint().0.saturating_add(2).max(4));
        v.push(first);
        v.push(second);
        v.extend(iter);
        ShortVec(Repr::Many(v))
    }
}

impl<'s, T> IntoIterator for &'s ShortVec<T> {
    type Item = &'s T;
    type IntoIter = std::slice::Iter<'s, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T> IntoIterator for ShortVec<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter(match self.0 {
            Repr::One(one) => IterRepr::One(Some(one)),
            Repr::Many(v) => IterRepr::Many(v.into_iter()),
        })
    }
}

/// The elements of a [`ShortVec`], by value.
pub struct IntoIter<T>(IterRepr<T>);

enum IterRepr<T> {
    One(Option<T>),
    Many(std::vec::IntoIter<T>),
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match &mut self.0 {
            IterRepr::One(one) => one.take(),
            IterRepr::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::One(one) => {
                let n = usize::from(one.is_some());
                (n, Some(n))
            }
            IterRepr::Many(it) => it.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_one_in_place_and_more_in_a_vec() {
        let mut v = ShortVec::new();
        assert!(v.is_empty());
        v.push("a");
        assert!(matches!(v.0, Repr::One(_)));
        assert_eq!(v.as_slice(), ["a"]);
        v.push("b");
        v.push("c");
        assert!(matches!(v.0, Repr::Many(_)));
        assert_eq!(v.as_slice(), ["a", "b", "c"]);
        assert_eq!(v.pop(), Some("c"));
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(v.clone().into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn compares_prints_and_serialises_as_its_slice() {
        let one = ShortVec::one(1);
        let same: ShortVec<i32> = vec![1].into();
        assert_eq!(one, same);
        assert_ne!(one, ShortVec::new());
        assert_eq!(format!("{one:?}"), "[1]");
        assert_eq!(serde_json::to_string(&same).unwrap(), "[1]");
        let collected: ShortVec<i32> = (1..=3).collect();
        assert_eq!(collected.as_slice(), [1, 2, 3]);
        let mut single: ShortVec<i32> = std::iter::once(7).collect();
        assert!(matches!(single.0, Repr::One(7)));
        assert_eq!(single.pop(), Some(7));
        assert_eq!(single.pop(), None);
        assert!(single.is_empty());
    }

    #[test]
    fn an_empty_list_takes_its_first_element_in_place() {
        let mut v = ShortVec::with_capacity(1);
        v.push(1);
        assert!(matches!(v.0, Repr::One(1)));
        // With room reserved for more, the `Vec` is used from the start.
        let mut v = ShortVec::with_capacity(3);
        v.push(1);
        assert!(matches!(v.0, Repr::Many(_)));
        assert_eq!(v.as_slice(), [1]);
    }
}
