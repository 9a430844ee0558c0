//! The newlines of a text, found 128 bytes at a time.
//!
//! Dockerfile lines are short (under 50 bytes on average in the benchmark
//! corpus), so searching for each newline separately (`memchr` per line)
//! spends more on setting up each search than on searching. Here each
//! 128-byte block is turned into one bit mask of its newlines, and the
//! lines of a block are then read off the mask with no further scanning and
//! without a branch per byte. (Whether a block has another newline is a
//! branch the predictor cannot know; with blocks of 128 bytes rather than
//! 64 it is taken half as often.)

use super::byte_masks::{BLOCK, newline_mask};

/// Bytes per newline block: two mask blocks.
const NEWLINE_BLOCK: usize = 2 * BLOCK;

/// Iterator over the offsets of the `\n` bytes of a text, in order.
pub(crate) struct Newlines<'a> {
    bytes: &'a [u8],
    /// Offset of the block `mask` describes.
    base: usize,
    /// The newlines of the block at `base` not yet returned, one bit each.
    mask: u128,
}

impl<'a> Newlines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        let mut newlines = Newlines {
            bytes,
            base: 0,
            mask: 0,
        };
        newlines.mask = newlines.block_mask(0);
        newlines
    }

    /// The newline mask of the block at `base` (bytes past the end are not
    /// newlines).
    #[inline]
    fn block_mask(&self, base: usize) -> u128 {
        let rest = self.bytes.get(base..).unwrap_or_default();
        match rest.first_chunk::<NEWLINE_BLOCK>() {
            Some(block) => block_newlines(block),
            None => {
                // Shorter than a block: padded with zeros.
                let mut tail = [0u8; NEWLINE_BLOCK];
                tail[..rest.len()].copy_from_slice(rest);
                block_newlines(&tail)
            }
        }
    }
}

/// The newline mask of a whole block, from the masks of its halves.
#[inline]
fn block_newlines(block: &[u8; NEWLINE_BLOCK]) -> u128 {
    let (halves, _) = block.as_chunks::<BLOCK>();
    halves.iter().enumerate().fold(0, |mask, (i, half)| {
        mask | u128::from(newline_mask(half)) << (BLOCK * i)
    })
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += NEWLINE_BLOCK;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.block_mask(self.base);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every newline, in order, and nothing else, for texts around and
        /// across block boundaries.
        #[test]
        fn finds_what_memchr_finds(text in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'a'), Just(b'\r'), any::<u8>()], 0..600)) {
            let expected: Vec<usize> = memchr::memchr_iter(b'\n', &text).collect();
            prop_assert_eq!(Newlines::new(&text).collect::<Vec<_>>(), expected);
        }
    }

    #[test]
    fn block_edges() {
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 191, 255, 256, 257] {
            for at in 0..len {
                let mut text = vec![b'x'; len];
                text[at] = b'\n';
                assert_eq!(
                    Newlines::new(&text).collect::<Vec<_>>(),
                    vec![at],
                    "{len} {at}"
                );
            }
            let text = vec![b'\n'; len];
            assert_eq!(Newlines::new(&text).count(), len);
        }
    }
}
