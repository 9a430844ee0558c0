//! Mapping offsets in a joined instruction line back to the original text.
//!
//! BuildKit joins a continued instruction into one line: each physical line
//! contributes one contiguous piece of the original text (leading whitespace,
//! the line ending, the continuation token and its trailing blanks are cut
//! away, comment lines and empty lines are skipped). A [`LineMap`] records
//! where each piece came from, so that any offset inside the joined text (a
//! word of a `RUN` command, a flag value) can be turned into a [`Span`] of
//! the Dockerfile as the user wrote it.

use serde::Serialize;

use crate::source::Span;

/// One piece of a joined line: `len` bytes that start at `joined` in the
/// joined text and at `original` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Piece {
    pub joined: usize,
    pub original: usize,
    pub len: usize,
}

/// Where the bytes of a joined line came from.
///
/// Always holds at least one piece (possibly empty), so that even an empty
/// text maps to a position in the source. The first piece is stored inline:
/// most instructions are one line and need no allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineMap {
    first: Piece,
    rest: Vec<Piece>,
}

impl Serialize for LineMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(1 + self.rest.len()))?;
        for p in self.pieces() {
            seq.serialize_element(p)?;
        }
        seq.end()
    }
}

impl Default for LineMap {
    fn default() -> Self {
        LineMap::starting_at(0)
    }
}

impl LineMap {
    /// An empty map whose empty text sits at `original` in the source.
    pub fn starting_at(original: usize) -> Self {
        LineMap::contiguous(original, 0)
    }

    /// A map for a text that is one contiguous slice of the source.
    pub fn contiguous(original: usize, len: usize) -> Self {
        LineMap {
            first: Piece {
                joined: 0,
                original,
                len,
            },
            rest: Vec::new(),
        }
    }

    /// The map of the source pieces `(original, len)` joined in order,
    /// the empty text sitting at `start`; allocates at most once.
    pub fn from_pieces(start: usize, pieces: &[(usize, usize)]) -> Self {
        let mut map = LineMap::starting_at(start);
        map.rest.reserve_exact(pieces.len().saturating_sub(1));
        for &(original, len) in pieces {
            map.push(original, len);
        }
        map
    }

    fn last(&self) -> &Piece {
        self.rest.last().unwrap_or(&self.first)
    }

    /// Length of the joined text.
    pub fn len(&self) -> usize {
        let p = self.last();
        p.joined + p.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> impl Iterator<Item = &Piece> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    /// Append `len` bytes taken from `original` in the source.
    pub fn push(&mut self, original: usize, len: usize) {
        if len == 0 {
            return;
        }
        let joined = self.len();
        if self.rest.is_empty() && self.first.len == 0 {
            // Replace the placeholder of an empty map.
            self.first = Piece {
                joined,
                original,
                len,
            };
            return;
        }
        let last = self.rest.last_mut().unwrap_or(&mut self.first);
        if last.original + last.len == original {
            // The new bytes follow the last piece directly.
            last.len += len;
        } else {
            self.rest.push(Piece {
                joined,
                original,
                len,
            });
        }
    }

    /// The last piece whose start satisfies `starts_before`.
    fn piece_where(&self, starts_before: impl Fn(&Piece) -> bool) -> &Piece {
        match self.rest.partition_point(starts_before) {
            0 => &self.first,
            i => &self.rest[i - 1],
        }
    }

    /// The source offset of the byte at `offset` in the joined text.
    /// At a boundary between pieces, the start of the later piece.
    pub fn original_start(&self, offset: usize) -> usize {
        let p = self.piece_where(|p| p.joined <= offset);
        p.original + offset.saturating_sub(p.joined).min(p.len)
    }

    /// The source offset just after the byte before `end` in the joined
    /// text. At a boundary between pieces, the end of the earlier piece.
    pub fn original_end(&self, end: usize) -> usize {
        if end == 0 {
            return self.first.original;
        }
        let p = self.piece_where(|p| p.joined < end);
        p.original + end.saturating_sub(p.joined).min(p.len)
    }

    /// The source span of `start..end` in the joined text. An empty range
    /// maps to an empty span at the start position.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let s = self.original_start(start);
        if end <= start {
            return Span::new(s, s);
        }
        Span::new(s, self.original_end(end).max(s))
    }

    /// The source range holding exactly the joined bytes `start..end`, when
    /// they all come from one piece (so the source has them contiguously).
    /// Lets values borrow from the source instead of copying.
    pub fn contiguous_range(&self, start: usize, end: usize) -> Option<std::ops::Range<usize>> {
        if end < start {
            return None;
        }
        let p = self.piece_where(|p| p.joined <= start);
        let offset = start.checked_sub(p.joined)?;
        (end - p.joined <= p.len).then(|| p.original + offset..p.original + (end - p.joined))
    }

    /// The map of the sub-text `start..end` of the joined text (offsets in
    /// the result count from `start`).
    pub fn slice(&self, start: usize, end: usize) -> LineMap {
        let end = end.min(self.len());
        if start >= end {
            return LineMap::starting_at(self.original_start(start));
        }
        // Piece `i` is `first` for 0, `rest[i - 1]` after. The slice covers
        // the pieces from the one holding `start` to the one holding the
        // byte before `end`, cut to the range; pieces of a map never touch
        // in the source, so the cut pieces need no merging.
        let piece = |i: usize| match i.checked_sub(1) {
            Some(r) => self.rest.get(r).unwrap_or(&self.first),
            None => &self.first,
        };
        let from = self.rest.partition_point(|p| p.joined + p.len <= start) + 1;
        let from = if self.first.joined + self.first.len > start {
            0
        } else {
            from
        };
        let to = self.rest.partition_point(|p| p.joined < end);
        let cut = |p: &Piece| {
            let lo = p.joined.max(start);
            let hi = (p.joined + p.len).min(end);
            Piece {
                joined: lo - start,
                original: p.original + (lo - p.joined),
                len: hi - lo,
            }
        };
        LineMap {
            first: cut(piece(from)),
            rest: (from + 1..=to).map(|i| cut(piece(i))).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_across_pieces() {
        // "RUN a \\\n  b" joined is "RUN a   b": "RUN a " from 0, "  b" from 9.
        let mut m = LineMap::starting_at(0);
        m.push(0, 6);
        m.push(9, 3);
        assert_eq!(m.len(), 9);
        assert_eq!(m.original_start(0), 0);
        assert_eq!(m.original_start(6), 9);
        assert_eq!(m.original_end(6), 6);
        assert_eq!(m.span(4, 9), Span::new(4, 12));
        let s = m.slice(4, 9);
        assert_eq!(s.len(), 5);
        assert_eq!(s.pieces().count(), 2);
        // Slices within one piece, at its end and across the boundary.
        assert_eq!(m.slice(0, 6).pieces().count(), 1);
        assert_eq!(m.slice(6, 9).span(0, 3), Span::new(9, 12));
        assert_eq!(m.slice(5, 7).span(0, 2), Span::new(5, 10));
        assert_eq!(m.slice(2, 2).span(0, 0), Span::new(2, 2));
        assert_eq!(s.span(0, 5), Span::new(4, 12));
        assert_eq!(s.original_start(2), 9);
    }

    #[test]
    fn finds_contiguous_source_ranges() {
        let mut m = LineMap::starting_at(0);
        m.push(0, 6);
        m.push(9, 3);
        assert_eq!(m.contiguous_range(0, 3), Some(0..3));
        assert_eq!(m.contiguous_range(6, 9), Some(9..12));
        assert_eq!(m.contiguous_range(4, 6), Some(4..6));
        // Crosses from the first piece into the second.
        assert_eq!(m.contiguous_range(4, 8), None);
        assert_eq!(m.contiguous_range(7, 10), None);
        assert_eq!(m.contiguous_range(3, 2), None);
    }

    #[test]
    fn empty_map_points_at_its_start() {
        let m = LineMap::starting_at(42);
        assert_eq!(m.span(0, 0), Span::new(42, 42));
        assert!(m.is_empty());
    }
}
