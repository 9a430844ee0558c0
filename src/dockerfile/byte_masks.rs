//! Bit masks of the bytes of a short block that belong to a small set,
//! for the scanners that would otherwise test one byte at a time (and
//! mispredict where a run of such bytes ends).
//!
//! On x86-64 these are SSE2 compares: SSE2 is part of the x86-64 baseline,
//! so the instructions exist on every machine this code is built for (the
//! `cfg` checks it). The portable versions give the same masks (tested
//! against each other) but compile to loops of byte tests.

/// Bytes per newline block.
pub(crate) const BLOCK: usize = 64;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// Bit `i` set when byte `i` of `chunk` is one of `set`.
    #[inline(always)]
    pub(super) fn mask16<const N: usize>(chunk: &[u8; 16], set: [u8; N]) -> u16 {
        // SAFETY: SSE2 is enabled (the `cfg` on this module), and the load
        // reads the 16 bytes of `chunk`, with no alignment required.
        unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let mut hits = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(set[0] as i8));
            for &b in &set[1..] {
                hits = _mm_or_si128(hits, _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b as i8)));
            }
            // `movemask` sets only the low 16 bits.
            _mm_movemask_epi8(hits) as u16
        }
    }

    /// Bit `i` set when byte `i` of `chunk` is ASCII white space
    /// ([`super::SPACES`]).
    #[inline(always)]
    pub(super) fn space_bits(chunk: &[u8; 16]) -> u16 {
        use std::arch::x86_64::{_mm_min_epu8, _mm_sub_epi8};
        // SAFETY: as in `mask16`.
        unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            // `\t`, `\n`, `\v`, `\f` and `\r` are 9 to 13: the bytes whose
            // distance from 9, unsigned, is at most 4.
            let from_tab = _mm_sub_epi8(bytes, _mm_set1_epi8(9));
            let control = _mm_cmpeq_epi8(_mm_min_epu8(from_tab, _mm_set1_epi8(4)), from_tab);
            let space = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b' ' as i8));
            _mm_movemask_epi8(_mm_or_si128(control, space)) as u16
        }
    }

    /// Bit `i` set when byte `i` of `chunk` is 0x80 or above.
    #[inline(always)]
    pub(super) fn high_bits(chunk: &[u8; 16]) -> u16 {
        // SAFETY: as in `mask16`.
        unsafe { _mm_movemask_epi8(_mm_loadu_si128(chunk.as_ptr().cast::<__m128i>())) as u16 }
    }

    /// [`super::MountValueBytes`] of `chunk`.
    #[inline(always)]
    pub(super) fn mount_value_bytes(chunk: &[u8; 16]) -> super::MountValueBytes<u16> {
        use std::arch::x86_64::{_mm_and_si128, _mm_cmpgt_epi8, _mm_cmplt_epi8};
        // SAFETY: as in `mask16`.
        unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let is = |b: u8| _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b as i8));
            let mask = |hits: __m128i| _mm_movemask_epi8(hits) as u16;
            let quote = is(b'"');
            let expand = _mm_or_si128(
                _mm_or_si128(is(b'$'), quote),
                _mm_or_si128(_mm_or_si128(is(b'\''), is(b'\\')), is(b'`')),
            );
            // Signed compares: bytes from 0x80 up are negative, so never
            // between `A` and `Z`.
            let upper = _mm_and_si128(
                _mm_cmpgt_epi8(bytes, _mm_set1_epi8((b'A' - 1) as i8)),
                _mm_cmplt_epi8(bytes, _mm_set1_epi8((b'Z' + 1) as i8)),
            );
            super::MountValueBytes {
                comma: mask(is(b',')),
                eq: mask(is(b'=')),
                quote: mask(quote),
                expand: mask(expand),
                upper: mask(upper),
            }
        }
    }
}

/// Whether every byte of `bytes` is ASCII. Sixteen bytes at a time, the
/// last window overlapping the one before, so that a line of 16 to 32
/// bytes takes two mask tests and no loop (`<[u8]>::is_ascii`, with its
/// loops for the unaligned head and the tail, is mispredicted about once
/// a line).
#[inline]
pub(crate) fn is_ascii(bytes: &[u8]) -> bool {
    let Some(last) = bytes.last_chunk::<16>() else {
        // Shorter than a window: one OR of its bytes.
        return bytes.iter().fold(0u8, |all, &b| all | b) < 0x80;
    };
    let mut high = high_bit_mask(last);
    // The windows before the last one.
    let mut at = 0;
    while at + 16 < bytes.len() {
        if let Some(window) = bytes.get(at..).and_then(|w| w.first_chunk::<16>()) {
            high |= high_bit_mask(window);
        }
        at += 16;
    }
    high == 0
}

/// One bit per byte of `window` that is 0x80 or above (not ASCII).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn high_bit_mask(window: &[u8; 16]) -> u16 {
    sse2::high_bits(window)
}

/// One bit per byte of `window` that is 0x80 or above (not ASCII).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
fn high_bit_mask(window: &[u8; 16]) -> u16 {
    portable_high_bits(window)
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_high_bits(window: &[u8; 16]) -> u16 {
    window
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | (u16::from(b >= 0x80) << i))
}

/// The ASCII bytes [`flag_stop_mask`] stops at: the six ASCII white-space
/// bytes, the quotes and the escape byte.
#[inline(always)]
fn flag_stop_bytes(escape: u8) -> [u8; 9] {
    [b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r', b'\'', b'"', escape]
}

/// One bit per byte of `window` that ends a flag written as is (white
/// space) or makes it one that BuildKit's scan must read (a quote, the
/// `escape` byte, a byte of a non-ASCII character).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn flag_stop_mask(window: &[u8; 16], escape: u8) -> u16 {
    sse2::mask16(window, flag_stop_bytes(escape)) | sse2::high_bits(window)
}

/// One bit per byte of `window` that ends a flag written as is (white
/// space) or makes it one that BuildKit's scan must read (a quote, the
/// `escape` byte, a byte of a non-ASCII character).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn flag_stop_mask(window: &[u8; 16], escape: u8) -> u16 {
    portable_flag_stop_mask(window, escape)
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_flag_stop_mask(window: &[u8; 16], escape: u8) -> u16 {
    portable_mask(window, &flag_stop_bytes(escape)) as u16 | portable_high_bits(window)
}

/// The bytes of a `--mount` value that its parse looks for, one bit per
/// byte (the first byte lowest), for a window of 16 bytes (`u16`) or a
/// whole value of up to 128 (`u128`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MountValueBytes<T> {
    /// `,`: CSV field separators (in a value without quotes).
    pub comma: T,
    /// `=`: the end of a field's key.
    pub eq: T,
    /// `"`: a CSV quote.
    pub quote: T,
    /// The characters `${}` expansion reads: `$`, quotes and escapes.
    pub expand: T,
    /// `A` to `Z`: a key that needs lower-casing.
    pub upper: T,
}

impl MountValueBytes<u128> {
    /// The bytes of `value`, when it is at most 128 bytes long.
    #[inline]
    pub(crate) fn of(value: &[u8]) -> Option<Self> {
        let len = value.len();
        if len > 128 {
            return None;
        }
        // Each window's masks go to their lane of an array, read as one
        // `u128` at the end (cheaper than shifting each into a `u128`).
        let mut lanes = [[0u16; 8]; 5];
        let mut put = |i: usize, w: MountValueBytes<u16>| {
            for (lane, bits) in lanes
                .iter_mut()
                .zip([w.comma, w.eq, w.quote, w.expand, w.upper])
            {
                lane[i] = bits;
            }
        };
        let full = len / 16;
        for i in 0..full {
            if let Some(window) = value.get(16 * i..).and_then(|w| w.first_chunk::<16>()) {
                put(i, mount_value_bytes(window));
            }
        }
        let rest = len % 16;
        if rest > 0 {
            let w = match value.last_chunk::<16>() {
                // The last 16 bytes, overlapping the window before: its
                // bits for bytes already seen are shifted out.
                Some(window) => mount_value_bytes(window).map(|m| m >> (16 - rest)),
                None => {
                    // Shorter than a window: padded with zeros (a byte of
                    // no class).
                    let mut window = [0u8; 16];
                    window[..len].copy_from_slice(value);
                    mount_value_bytes(&window)
                }
            };
            put(full, w);
        }
        let [comma, eq, quote, expand, upper] = lanes.map(|lane| {
            let mut bytes = [0u8; 16];
            for (two, bits) in bytes.chunks_exact_mut(2).zip(lane) {
                two.copy_from_slice(&bits.to_le_bytes());
            }
            u128::from_le_bytes(bytes)
        });
        Some(MountValueBytes {
            comma,
            eq,
            quote,
            expand,
            upper,
        })
    }
}

impl MountValueBytes<u16> {
    /// Each mask through `f`.
    #[inline(always)]
    fn map(self, f: impl Fn(u16) -> u16) -> Self {
        MountValueBytes {
            comma: f(self.comma),
            eq: f(self.eq),
            quote: f(self.quote),
            expand: f(self.expand),
            upper: f(self.upper),
        }
    }
}

/// The bits `start..end` of a `u128` mask (none when `end <= start`).
#[inline]
pub(crate) fn bits_between(start: usize, end: usize) -> u128 {
    let below = |n: usize| match n {
        0 => 0,
        n if n >= 128 => u128::MAX,
        n => u128::MAX >> (128 - n),
    };
    below(end) & !below(start)
}

/// [`MountValueBytes`] of a 16-byte window.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn mount_value_bytes(window: &[u8; 16]) -> MountValueBytes<u16> {
    sse2::mount_value_bytes(window)
}

/// [`MountValueBytes`] of a 16-byte window.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
fn mount_value_bytes(window: &[u8; 16]) -> MountValueBytes<u16> {
    portable_mount_value_bytes(window)
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_mount_value_bytes(window: &[u8; 16]) -> MountValueBytes<u16> {
    let m = |set: &[u8]| portable_mask(window, set) as u16;
    MountValueBytes {
        comma: m(b","),
        eq: m(b"="),
        quote: m(b"\""),
        expand: m(b"$'\"\\`"),
        upper: m(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    }
}

/// The blanks that end an instruction's keyword: the characters of
/// [`is_ascii_blank`](super::go_text::is_ascii_blank) (Go's
/// `unicode.IsSpace` on ASCII, less the newline, which a joined line cannot
/// hold).
const BLANKS: [u8; 5] = [b' ', b'\t', b'\x0b', b'\x0c', b'\r'];

/// The six ASCII white-space bytes (Go's `unicode.IsSpace` on ASCII).
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2", not(test)),
    allow(dead_code)
)]
const SPACES: [u8; 6] = [b' ', b'\t', b'\n', b'\x0b', b'\x0c', b'\r'];

/// One bit per byte of `window` that is ASCII white space (see [`SPACES`]).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn space_mask(window: &[u8; 16]) -> u16 {
    sse2::space_bits(window)
}

/// One bit per byte of `window` that is ASCII white space (see [`SPACES`]).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn space_mask(window: &[u8; 16]) -> u16 {
    portable_mask(window, &SPACES) as u16
}

/// One bit per byte of `block` that is a newline, the first byte lowest.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    let mut mask = 0u64;
    for (i, chunk) in block.as_chunks::<16>().0.iter().enumerate() {
        mask |= u64::from(sse2::mask16(chunk, [b'\n'])) << (16 * i);
    }
    mask
}

/// One bit per byte of `block` that is a newline, the first byte lowest.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    portable_mask(block, b"\n")
}

/// One bit per byte of `window` that is a blank (see [`BLANKS`]).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn blank_mask(window: &[u8; 16]) -> u16 {
    sse2::mask16(window, BLANKS)
}

/// One bit per byte of `window` that is a blank (see [`BLANKS`]).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn blank_mask(window: &[u8; 16]) -> u16 {
    portable_mask(window, &BLANKS) as u16
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_mask(bytes: &[u8], set: &[u8]) -> u64 {
    bytes
        .iter()
        .take(64)
        .enumerate()
        .fold(0, |mask, (i, b)| mask | (u64::from(set.contains(b)) << i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b'\n'),
            Just(b' '),
            Just(b'\t'),
            Just(b'\x0b'),
            Just(b'\x0c'),
            Just(b'\r'),
            any::<u8>()
        ]
    }

    proptest! {
        /// The vector and the portable masks agree.
        #[test]
        fn masks_agree(bytes in proptest::collection::vec(byte(), BLOCK)) {
            let block: [u8; BLOCK] = bytes.as_slice().try_into().unwrap();
            prop_assert_eq!(newline_mask(&block), portable_mask(&block, b"\n"));
            let window: [u8; 16] = bytes[..16].try_into().unwrap();
            prop_assert_eq!(u64::from(space_mask(&window)), portable_mask(&window, &SPACES));
            prop_assert_eq!(u64::from(blank_mask(&window)), portable_mask(&window, &BLANKS));
        }
    }

    proptest! {
        /// The vector and the portable mount value classes agree, and the
        /// 128-byte masks put each window's bits in place.
        #[test]
        fn mount_value_bytes_agree(bytes in proptest::collection::vec(
            prop_oneof![
                Just(b','), Just(b'='), Just(b'"'), Just(b'$'), Just(b'\''),
                Just(b'\\'), Just(b'`'), Just(b'A'), Just(b'Z'), Just(b'@'),
                Just(b'['), any::<u8>()
            ],
            0..140,
        )) {
            for window in bytes.chunks_exact(16) {
                let window: &[u8; 16] = window.try_into().unwrap();
                prop_assert_eq!(mount_value_bytes(window), portable_mount_value_bytes(window));
            }
            let all = MountValueBytes::of(&bytes);
            prop_assert_eq!(all.is_some(), bytes.len() <= 128);
            if let Some(all) = all {
                let bit = |mask: u128, i: usize| mask >> i & 1 == 1;
                for (i, &b) in bytes.iter().enumerate() {
                    prop_assert_eq!(bit(all.comma, i), b == b',');
                    prop_assert_eq!(bit(all.eq, i), b == b'=');
                    prop_assert_eq!(bit(all.quote, i), b == b'"');
                    prop_assert_eq!(bit(all.expand, i), b"$'\"\\`".contains(&b));
                    prop_assert_eq!(bit(all.upper, i), b.is_ascii_uppercase());
                }
                let none_past = bits_between(bytes.len(), 128);
                for mask in [all.comma, all.eq, all.quote, all.expand, all.upper] {
                    prop_assert_eq!(mask & none_past, 0);
                }
            }
        }

        /// The vector and the portable flag stops agree, for both escapes.
        #[test]
        fn flag_stop_masks_agree(bytes in proptest::collection::vec(
            prop_oneof![
                Just(b' '), Just(b'\t'), Just(b'\''), Just(b'"'), Just(b'\\'),
                Just(b'`'), Just(b'-'), Just(b'='), Just(0x80u8), any::<u8>()
            ],
            16,
        ), backtick: bool) {
            let window: &[u8; 16] = bytes.as_slice().try_into().unwrap();
            let escape = if backtick { b'`' } else { b'\\' };
            prop_assert_eq!(flag_stop_mask(window, escape), portable_flag_stop_mask(window, escape));
        }

        /// `is_ascii` is the standard library's, around window sizes.
        #[test]
        fn is_ascii_agrees(bytes in proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b' '), Just(0x7fu8), Just(0x80u8), Just(0xc3u8)],
            0..70,
        )) {
            prop_assert_eq!(is_ascii(&bytes), bytes.is_ascii());
            for cut in 0..bytes.len() {
                prop_assert_eq!(is_ascii(&bytes[cut..]), bytes[cut..].is_ascii());
            }
            let window: [u8; 16] = std::array::from_fn(|i| bytes.get(i).copied().unwrap_or(0));
            prop_assert_eq!(high_bit_mask(&window), portable_high_bits(&window));
        }

        /// `bits_between` is the bits `start..end`.
        #[test]
        fn bits_between_is_a_range(start in 0usize..140, end in 0usize..140) {
            let mask = bits_between(start, end);
            for i in 0..128 {
                prop_assert_eq!(mask >> i & 1 == 1, start <= i && i < end);
            }
        }
    }

    #[test]
    fn is_ascii_sees_every_byte() {
        for len in 0..80 {
            let mut bytes = vec![b'a'; len];
            assert!(is_ascii(&bytes), "{len}");
            for at in 0..len {
                bytes[at] = 0x80;
                assert!(!is_ascii(&bytes), "{len} {at}");
                bytes[at] = b'a';
            }
        }
    }

    #[test]
    fn blanks_are_the_separator_characters() {
        for b in 0..=u8::MAX {
            let blank = b.is_ascii() && crate::dockerfile::go_text::is_ascii_blank(char::from(b));
            assert_eq!(BLANKS.contains(&b), blank, "{b:#x}");
        }
    }

    #[test]
    fn masks_of_known_blocks() {
        let mut block = [b'x'; BLOCK];
        block[0] = b'\n';
        block[63] = b'\n';
        assert_eq!(newline_mask(&block), 1 | 1 << 63);
        let spaces: [u8; 16] = *b"\n \t\x0b\x0c\r\x08\x0e\x1f!\x89\xa0xyz ";
        assert_eq!(space_mask(&spaces), 0b1000_0000_0011_1111);
        let window: [u8; 16] = *b"RUN\tx \x0b\x0c\ry\n     ";
        assert_eq!(blank_mask(&window), 0b1111_1001_1110_1000);
    }
}
