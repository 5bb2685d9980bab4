//! Seeded pseudo-random values of the interop protocol's types, so every
//! field takes varied values (and the extremes) across many calls.

use xdr_codec::{Opaque, VarArray, XdrString};

use super::proto::{
    Circle, Color, Item, Itemlist, Node, Nodelist, Point, Record, Rect, Shape, ShapeKind, Value,
    MAX_ALIASES, MAX_NAME, MAX_POINTS,
};

/// splitmix64: small, seedable, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (0 if `n` is 0).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            (self.next_u64() % u64::from(n)) as u32
        }
    }

    /// True with probability 1/2.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Mostly small values, sometimes any value or an extreme.
    pub fn int(&mut self) -> i32 {
        match self.below(4) {
            0 => self.next_u32() as i32,
            1 => {
                if self.coin() {
                    i32::MAX
                } else {
                    i32::MIN
                }
            }
            _ => self.below(2001) as i32 - 1000,
        }
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// A string of up to `max` printable ASCII bytes (no NUL: C strings
    /// cannot carry one).
    pub fn string<const MAX: u32>(&mut self, max: u32) -> XdrString<MAX> {
        const CHARS: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./:";
        let len = self.below(max + 1);
        let s: Vec<u8> = (0..len)
            .map(|_| {
                CHARS
                    .get(self.below(CHARS.len() as u32) as usize)
                    .copied()
                    .unwrap_or(b'x')
            })
            .collect();
        XdrString::from_bytes(s)
    }

    /// A finite double with a fractional part.
    pub fn double(&mut self) -> f64 {
        self.next_u64() as i64 as f64 / 1_048_576.0
    }

    /// One of the declared colours.
    pub fn color(&mut self) -> Color {
        match self.below(4) {
            0 => Color::Red,
            1 => Color::Green,
            2 => Color::Blue,
            _ => Color::Alpha,
        }
    }

    /// A point.
    pub fn point(&mut self) -> Point {
        Point {
            x: self.int(),
            y: self.int(),
        }
    }

    /// A rectangle.
    pub fn rect(&mut self) -> Rect {
        Rect {
            min: self.point(),
            max: self.point(),
        }
    }

    /// A shape of any kind, each arm of the union in turn.
    pub fn shape(&mut self) -> Shape {
        match self.below(6) {
            0 => Shape::ShapeNone,
            1 => Shape::ShapeCircle(Circle {
                center: self.point(),
                radius: self.next_u32() >> self.below(32),
            }),
            2 => Shape::ShapeSquare(self.rect()),
            3 => Shape::ShapeRect(self.rect()),
            k => {
                let len = self.below(17) as usize;
                Shape::Default {
                    discriminant: if k == 4 {
                        ShapeKind::ShapeTriangle
                    } else {
                        ShapeKind::ShapeOther
                    },
                    value: Opaque::from(self.bytes(len)),
                }
            }
        }
    }

    /// A value of any type.
    pub fn value(&mut self) -> Value {
        match self.below(8) {
            0 => Value::Case0,
            1 => Value::I(self.int()),
            2 => Value::H(self.next_u64() as i64),
            3 => Value::D(self.double()),
            4 => Value::S(self.string(MAX_NAME)),
            5 => Value::B(self.coin()),
            6 => Value::Uh(self.next_u64()),
            _ => Value::F(self.int() as f32 / 64.0),
        }
    }

    /// A record with every field random (optional bounds present half the
    /// time, empty arrays and payloads now and then).
    pub fn record(&mut self) -> Record {
        let aliases = (0..self.below(MAX_ALIASES + 1))
            .map(|_| self.string(MAX_NAME))
            .collect();
        let payload_len = if self.below(4) == 0 {
            0
        } else {
            self.below(300) as usize
        };
        let path_len = self.below(MAX_POINTS + 1);
        Record {
            id: self.next_u32(),
            name: self.string(MAX_NAME),
            aliases,
            tag: [0u8; 6].map(|_| self.next_u64() as u8),
            payload: Opaque::from(self.bytes(payload_len)),
            counts: [0; 4].map(|_| self.int()),
            palette: [0; 3].map(|_| self.color()),
            path: (0..path_len)
                .map(|_| self.point())
                .collect::<VarArray<_, MAX_POINTS>>(),
            big: self.next_u64() as i64,
            ubig: self.next_u64(),
            ratio: self.double(),
            scale: self.int() as f32 / 8.0,
            flag: self.coin(),
            hue: self.color(),
            bounds: if self.coin() { Some(self.rect()) } else { None },
            outline: self.shape(),
            extra: self.value(),
        }
    }

    /// A list of up to `max - 1` items.
    pub fn items(&mut self, max: u32) -> Itemlist {
        (0..self.below(max))
            .map(|_| Item {
                key: self.next_u32(),
                weight: self.next_u64() as i64,
            })
            .collect()
    }

    /// A list of up to `max - 1` nodes with random values and labels.
    pub fn nodes(&mut self, max: u32) -> Nodelist {
        (0..self.below(max))
            .map(|_| Node {
                value: self.int(),
                label: self.string(MAX_NAME),
            })
            .collect()
    }
}
