//! The CRC-32 of pieces sent one after the other, without reading them
//! again: zlib's `crc32_combine`, with each piece's factor x^(8·len) mod P
//! kept beside its CRC, so that joining thousands of pieces per scrape costs
//! one multiplication each (`crc32fast`'s `combine` works the factor out on
//! every call, a few dozen multiplications).

/// The CRC-32 polynomial, reflected.
const POLY: u32 = 0xedb8_8320;
/// x^0: the factor of no bytes.
const ONE: u32 = 0x8000_0000;

/// The CRC of some bytes, their length, and their factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc {
    pub value: u32,
    pub len: u64,
    factor: u32,
}

impl Default for Crc {
    fn default() -> Crc {
        Crc {
            value: 0,
            len: 0,
            factor: ONE,
        }
    }
}

impl Crc {
    /// The CRC `value` of `len` bytes.
    pub fn new(value: u32, len: u64) -> Crc {
        Crc {
            value,
            len,
            factor: x8n(len),
        }
    }

    pub fn of(data: &[u8]) -> Crc {
        Crc::new(crc32fast::hash(data), data.len() as u64)
    }

    /// The CRC of these bytes followed by `next`'s.
    pub fn then(self, next: &Crc) -> Crc {
        Crc {
            value: multiply(next.factor, self.value) ^ next.value,
            len: self.len + next.len,
            factor: multiply(self.factor, next.factor),
        }
    }
}

/// a(x)·b(x) mod P, reflected.
fn multiply(a: u32, mut b: u32) -> u32 {
    let mut p = 0u32;
    for i in 0..32 {
        p ^= b & ((a >> (31 - i)) & 1).wrapping_neg();
        b = (b >> 1) ^ ((b & 1).wrapping_neg() & POLY);
    }
    p
}

/// x^(8·len) mod P, reflected: appends `len` zero bytes to a CRC.
fn x8n(len: u64) -> u32 {
    let (mut p, mut square, mut n) = (ONE, ONE >> 8, len);
    while n != 0 {
        if n & 1 != 0 {
            p = multiply(square, p);
        }
        square = multiply(square, square);
        n >>= 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_crcs_are_the_crc_of_the_joined_bytes() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..200 {
            let pieces: Vec<Vec<u8>> = (0..rng.usize(0..6))
                .map(|_| {
                    let len = [0, 1, 7, rng.usize(..70_000)][rng.usize(..4)];
                    (0..len).map(|_| rng.u8(..)).collect()
                })
                .collect();
            let joined = pieces.iter().fold(Crc::default(), |crc, p| crc.then(&Crc::of(p)));
            assert_eq!(joined, Crc::of(&pieces.concat()));
            // Grouped otherwise, the same.
            let (a, b) = pieces.split_at(pieces.len() / 2);
            let half = |ps: &[Vec<u8>]| ps.iter().fold(Crc::default(), |crc, p| crc.then(&Crc::of(p)));
            assert_eq!(half(a).then(&half(b)), joined);
        }
    }
}
